"""The faces of a watch: :class:`Watch` (one watch) and :class:`WatchStream` (etcd's stream).

Both read the responses the hub queues for them, in order, three ways over one state machine:

* ``receive_nowait()`` returns the next response or raises :class:`anyio.WouldBlock`;
* ``receive(timeout=None)`` blocks the calling thread (``TimeoutError`` after ``timeout``);
  ``for resp in w`` iterates with it, ``w.iter(timeout=...)`` with a timeout per response;
* ``await areceive()`` and ``async for resp in w`` wait in a task, under asyncio or trio.

Each raises :class:`anyio.EndOfStream` once the stream has ended and its last response was
read, and iteration simply stops there. The waiting itself is :mod:`etcdlite._waiting`'s, so the
thread and task paths share every line of logic.

**How a watch ends.** Every end is a response with ``canceled=True``, after which iteration
stops: ``cancel()`` (etcd's cancel response), a compaction past the history it still needed
(``compact_revision`` set), a refused create (``created`` and ``canceled`` together, watch id
-1 and etcd's ``cancel_reason``), or :meth:`Store.close <etcdlite.Store.close>`
(``cancel_reason`` "etcdserver: server stopped"). A watch that is garbage-collected without
being canceled is closed at the store's next watch operation.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, NamedTuple

import anyio

from ._model import WatchFilter, WatchResponse, resolve_range, to_bool, to_int
from ._waiting import NOT_READY, NotReady, Receiver, wait
from ._watch import Signal

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from types import TracebackType

    from ._store import Store
    from ._watch import StreamState

__all__ = ("Watch", "WatchArgs", "WatchStatistics", "WatchStream", "watch_args")


class WatchArgs(NamedTuple):
    """A checked create request, in the hub's terms."""

    key: bytes
    end: bytes
    start: int
    watch_id: int
    prev_kv: bool
    no_put: bool
    no_delete: bool
    fragment: bool
    progress: bool


_FILTER_NAMES = {f.name.lower(): f for f in WatchFilter}


def _filter(value: object) -> WatchFilter:
    if isinstance(value, WatchFilter):
        return value
    if isinstance(value, str):
        found = _FILTER_NAMES.get(value.lower().replace("_", "").replace("-", ""))
        if found is not None:
            return found
        raise ValueError(f"unknown watch filter {value!r} (use 'noput' or 'nodelete')")
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return WatchFilter(value)
        except ValueError:
            raise ValueError(f"unknown watch filter {value!r}") from None
    raise TypeError(f"filters must hold WatchFilter or str, not {type(value).__name__}")


def watch_args(
    key: str | bytes,
    range_end: str | bytes | None,
    prefix: bool,
    from_key: bool,
    start_revision: int,
    prev_kv: bool,
    filters: Iterable[WatchFilter | str],
    progress_notify: bool,
    fragment: bool,
    watch_id: int,
) -> WatchArgs:
    """Check a create request's arguments (``TypeError``/``ValueError`` naming the culprit).

    The range is resolved as for reads; then, as etcd's server does, an empty key becomes
    ``b"\\0"`` (the smallest key).

    >>> watch_args("", None, True, False, 0, False, ["noput"], False, False, 0)[:2]
    (b'\\x00', b'\\x00')
    """
    k, end = resolve_range(key, range_end, prefix, from_key)
    if isinstance(filters, (str, bytes)) or not hasattr(filters, "__iter__"):
        raise TypeError(f"filters must be a sequence, not {type(filters).__name__}")
    kinds = {_filter(f) for f in filters}
    return WatchArgs(
        k or b"\0",
        end,
        to_int(start_revision, "start_revision"),
        to_int(watch_id, "watch_id"),
        to_bool(prev_kv, "prev_kv"),
        WatchFilter.NOPUT in kinds,
        WatchFilter.NODELETE in kinds,
        to_bool(fragment, "fragment"),
        to_bool(progress_notify, "progress_notify"),
    )


class WatchStatistics(NamedTuple):
    """A stream's state: responses waiting to be read, its watchers, how many lag behind."""

    buffered: int
    watchers: int
    lagging: int
    closed: bool


class _Receiver(Receiver[WatchResponse]):
    """Reading a stream's responses: the pollable of ``_waiting`` and the three ways to wait."""

    def __init__(self, store: Store, state: StreamState) -> None:
        self._store = store
        self._lock = store._lock
        self._hub = store._hub
        self._state = state
        self._queue = state.queue
        finalizer = weakref.finalize(self, store._hub.abandon, state)
        finalizer.atexit = False

    # -- the pollable -----------------------------------------------------------------------

    def poll(self, waker: Callable[[], None] | None) -> WatchResponse | NotReady:
        """One step of the state machine (see :mod:`etcdlite._waiting`)."""
        while True:
            with self._lock:
                r = self._hub.poll(self._state, waker)
            if r is Signal.AGAIN:
                continue
            if r is Signal.NOT_READY:
                return NOT_READY
            if r is Signal.END:
                raise anyio.EndOfStream
            return r

    def forget(self, waker: Callable[[], None]) -> None:
        """Drop a waker ``poll`` kept."""
        with self._lock:
            self._hub.forget(self._state, waker)

    # -- receiving --------------------------------------------------------------------------

    def receive_nowait(self) -> WatchResponse:
        """The next response if one is ready; :class:`anyio.WouldBlock` if none is yet.

        Raises :class:`anyio.EndOfStream` when the stream ended and was read to its end.
        """
        try:
            return self._queue.popleft()
        except IndexError:
            pass
        r = self.poll(None)
        if r is NOT_READY:
            raise anyio.WouldBlock
        return r

    def receive(self, timeout: float | None = None) -> WatchResponse:
        """The next response, blocking the calling thread until there is one.

        Raises :class:`TimeoutError` after ``timeout`` seconds (nothing is lost: the response
        comes with a later call) and :class:`anyio.EndOfStream` at the end of the stream.
        """
        try:
            return self._queue.popleft()
        except IndexError:
            return wait(self, timeout)

    def statistics(self) -> WatchStatistics:
        """How many responses wait to be read, and the stream's watchers."""
        with self._lock:
            s = self._state
            return WatchStatistics(len(s.queue), len(s.watchers), len(s.lagging), s.closed)


class Watch(_Receiver):
    """One watch (clientv3 ``Watch``), as :meth:`Store.watch <etcdlite.Store.watch>` returns it.

    Its responses are those etcd's server sends for one watch: first ``created`` (with the
    ``watch_id``), then events (every event of a revision in one response; a replay from a past
    ``start_revision`` batches several revisions), progress notifications, and finally one
    ``canceled`` response, after which iteration stops.

    Use it from a thread (``for resp in w``, ``w.receive(timeout=...)``) or from async code
    (``async for resp in w``, ``await w.areceive()``), under asyncio or trio. As a (async)
    context manager it cancels the watch on exit.

    >>> from etcdlite import Store
    >>> store = Store()
    >>> with store.watch("config/", prefix=True) as w:
    ...     _ = store.put("config/a", "1")
    ...     created, resp = w.receive(), w.receive()
    >>> created.created, [(e.type.name, e.kv.key, e.kv.value) for e in resp.events]
    (True, [('PUT', b'config/a', b'1')])
    """

    def __init__(self, store: Store, state: StreamState, watch_id: int) -> None:
        super().__init__(store, state)
        self._watch_id = watch_id

    @property
    def watch_id(self) -> int:
        """The watch's id (-1 if its create request was refused)."""
        return self._watch_id

    def cancel(self) -> None:
        """Cancel the watch: a last ``canceled`` response is queued; nothing after it.

        Does nothing if the watch has already ended.
        """
        with self._lock:
            if self._watch_id in self._state.watchers:
                self._hub.cancel(self._state, self._watch_id)

    def request_progress(self) -> None:
        """Ask for a progress notification (etcd ``RequestProgress``).

        It comes (watch id -1, header at the then current revision) once every event up to
        that revision was queued; at once when the watch is not behind.
        """
        with self._lock:
            self._hub.request_progress(self._state)

    def __enter__(self) -> Watch:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cancel()

    async def __aenter__(self) -> Watch:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cancel()

    def __repr__(self) -> str:
        state = "ended" if self._state.closed else "active"
        return f"<etcdlite.Watch id={self._watch_id} {state}>"


class WatchStream(_Receiver):
    """A watch stream with many watches, as etcd's gRPC ``Watch`` stream (``Store.watch_stream``).

    It carries etcd's three requests (:meth:`create`, :meth:`cancel`, :meth:`request_progress`)
    and one ordered sequence of responses for all its watches, told apart by ``watch_id``: the
    shape a gRPC or JSON-gateway adapter needs, and what clients that pick their own watch ids
    use. Watch ids are the stream's own: auto ids count from 0; a chosen id must be free, or the
    create is answered with etcd's duplicate-id error. A progress request is answered (watch id
    -1) once every watch of the stream has caught up.

    The stream ends with :meth:`close` (its watches go, unread responses are dropped) or when
    the store closes (each watch gets a canceled response first).

    >>> from etcdlite import Store
    >>> stream = Store().watch_stream()
    >>> stream.create("a", watch_id=7), stream.create("b", watch_id=7)
    (7, -1)
    >>> [(r.watch_id, r.canceled, r.cancel_reason) for r in (stream.receive(), stream.receive())]
    [(7, False, ''), (-1, True, 'mvcc: duplicate watch ID provided on the WatchStream')]
    """

    def create(
        self,
        key: str | bytes,
        *,
        range_end: str | bytes | None = None,
        prefix: bool = False,
        from_key: bool = False,
        start_revision: int = 0,
        prev_kv: bool = False,
        filters: Iterable[WatchFilter | str] = (),
        progress_notify: bool = False,
        fragment: bool = False,
        watch_id: int = 0,
    ) -> int:
        """Add a watch (etcd ``WatchCreateRequest``; options as :meth:`Store.watch`).

        Returns its watch id, or -1 if it was refused; either way the answer (``created``, and
        for a refusal ``canceled`` with etcd's ``cancel_reason``) is queued on the stream.
        ``watch_id=0`` picks the stream's next free id. Raises ``StoppedError`` once the store
        is closed and :class:`anyio.ClosedResourceError` once the stream is.
        """
        args = watch_args(
            key,
            range_end,
            prefix,
            from_key,
            start_revision,
            prev_kv,
            filters,
            progress_notify,
            fragment,
            watch_id,
        )
        return self._store._create_watch(self._state, args)

    def cancel(self, watch_id: int) -> None:
        """Cancel one watch of the stream (etcd ``WatchCancelRequest``).

        Queues ``{watch_id, canceled: true}``. Raises
        :class:`~etcdlite.errors.WatcherNotExistError` for an id that is not active on the
        stream (etcd's server then answers nothing).
        """
        with self._lock:
            self._hub.cancel(self._state, to_int(watch_id, "watch_id"))

    def request_progress(self) -> None:
        """Ask for a progress notification for the whole stream (etcd ``WatchProgressRequest``).

        Answered with watch id -1 and the then current revision, once every watch of the stream
        has caught up (etcd 3.5+; 3.4 answered at once).
        """
        with self._lock:
            self._hub.request_progress(self._state)

    @property
    def watch_ids(self) -> tuple[int, ...]:
        """The ids of the stream's active watches."""
        with self._lock:
            return tuple(self._state.watchers)

    def close(self) -> None:
        """Close the stream: its watches end and unread responses are dropped."""
        with self._lock:
            if not self._state.closed:
                self._hub.close_stream(self._state)

    def __enter__(self) -> WatchStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> WatchStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._state.closed else f"watches={len(self._state.watchers)}"
        return f"<etcdlite.WatchStream {state}>"
