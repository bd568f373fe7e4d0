"""The watch hub: etcd's watchable store (watchable_store.go), synchronous and non-blocking.

The hub keeps every watcher of every watch stream and turns each committed revision into
:class:`~etcdlite.WatchResponse` objects queued on the streams that want them. It never blocks,
never waits and knows no threads: the ``Store`` calls it under its lock, and the waiting side
(:mod:`etcdlite._watch_stream` through :mod:`etcdlite._waiting`) reads the queues.

**Streams and watchers.** A :class:`StreamState` is one watch stream (etcd's ``WatchStream``):
its watchers by id and one bounded queue of responses, in the order the consumer reads them. A
:class:`Watcher` is one watch on it: a key, a range, a prefix or every key from one on.

**Synced and unsynced** (etcd's two watcher groups). A *synced* watcher has had every matching
event up to the current revision queued; it sits in the :class:`~etcdlite._watch_index.WatcherIndex`
and each commit pushes its events at once (:meth:`WatchHub.notify`, cost in proportion to the
watchers that match). An *unsynced* watcher is behind: it starts from a past ``start_revision``,
or it fell behind because its stream's queue was full (a slow consumer) when a matching event
came. It is out of the index, so writers skip it for free, and it remembers the next revision
it needs (``min_rev``). When its consumer has read the queue empty, :meth:`WatchHub.poll` catches
it up from the revision log, one batch at a time (at most ``batch_revisions`` revisions with
events per response, the header at the current revision, as etcd's ``syncWatchers``), and puts
it back in the index once it reaches the current revision. So a slow consumer never blocks a
writer and never loses an event, and the memory it holds is its queue: at most ``queue_size``
responses, plus one batch. etcd's *victims* (responses already built when the channel was
full) are not needed: here an event can always be rebuilt from the log.

**Compaction.** An unsynced watcher whose next revision falls below a new compaction is canceled
(``canceled=True, compact_revision=N``, a header without revision), as etcd does; so is a watch
created below the compaction (after its ``created`` response).

**Worked example** (queue of 2, one watcher on ``k``)::

    put k=1 (rev 2)   queue [created, r2]            synced
    put k=2 (rev 3)   queue full: skipped            unsynced, min_rev 3
    put k=3 (rev 4)   skipped for free               unsynced, min_rev 3
    reader takes 2    queue empty -> catch up 3..4   queue [r3+r4], synced, min_rev 5

    >>> from etcdlite import Store
    >>> store = Store(watch_queue_size=2)
    >>> w = store.watch("k")
    >>> for v in "123": _ = store.put("k", v)
    >>> [[e.kv.value for e in r.events] for r in (w.receive(), w.receive(), w.receive())]
    [[], [b'1'], [b'2', b'3']]
"""

from __future__ import annotations

import enum
from collections import deque
from typing import TYPE_CHECKING

from ._model import Event, KeyValue, ResponseHeader, WatchResponse
from ._watch_events import fragments, make_event
from ._watch_index import WatcherIndex
from .errors import (
    CompactedError,
    WatcherDuplicateIDError,
    WatcherNotExistError,
    WatcherRangeEmptyError,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ._mvcc._kv import KV

__all__ = (
    "DEFAULT_BATCH_REVISIONS",
    "DEFAULT_QUEUE_SIZE",
    "GRPC_OVERHEAD_BYTES",
    "Signal",
    "StreamState",
    "WatchHub",
    "Watcher",
    "history",
)

#: Responses a stream queues before its watchers fall behind (etcd's ``chanBufLen``).
DEFAULT_QUEUE_SIZE = 128
#: Revisions with events per catch-up response (etcd's ``watchBatchMaxRevs``).
DEFAULT_BATCH_REVISIONS = 1000
#: Log entries a catch-up step scans before it lets the store's lock go.
DEFAULT_SCAN_REVISIONS = 20_000
#: etcd fragments responses from ``--max-request-bytes`` plus this gRPC overhead.
GRPC_OVERHEAD_BYTES = 512 * 1024


class Signal(enum.Enum):
    """What :meth:`WatchHub.poll` answers besides a response."""

    NOT_READY = 0  #: nothing yet; the waker was kept
    AGAIN = 1  #: progress was made: let the lock go and poll again
    END = 2  #: the stream is closed and empty


class Watcher:
    """One watch: what it watches, how, and how far it has been served.

    ``end`` is etcd's form: ``b""`` for the single key ``key``, ``b"\\0"`` for every key from
    ``key`` on, otherwise the exclusive end of ``[key, end)``.
    """

    __slots__ = (
        "ckey",
        "end",
        "fragment",
        "id",
        "key",
        "min_rev",
        "no_delete",
        "no_put",
        "nodes",
        "notified",
        "pending",
        "pending_revs",
        "prev_kv",
        "progress",
        "stream",
        "synced",
    )

    def __init__(
        self,
        id: int,
        key: bytes,
        end: bytes,
        *,
        prev_kv: bool = False,
        no_put: bool = False,
        no_delete: bool = False,
        fragment: bool = False,
        progress: bool = False,
        stream: StreamState | None = None,
    ) -> None:
        self.id = id
        self.key = key
        self.end = end
        self.prev_kv = prev_kv
        self.no_put = no_put
        self.no_delete = no_delete
        self.fragment = fragment
        self.progress = progress
        self.stream = stream
        #: Responses for one record depend only on these (the response cache's key).
        self.ckey = 2 * id + prev_kv
        self.min_rev = 0
        self.synced = False
        #: Events were queued since the last progress tick (etcd elides the next notification).
        self.notified = False
        #: Catch-up events read but not queued yet, and how many revisions they span.
        self.pending: list[Event] = []
        self.pending_revs = 0
        #: The range tree's nodes holding this watcher (see ``_watch_index``).
        self.nodes: tuple[int, ...] = ()

    def matches(self, key: bytes) -> bool:
        """Whether ``key`` is in this watcher's range."""
        end = self.end
        if not end:
            return key == self.key
        return self.key <= key and (end == b"\0" or key < end)

    def __repr__(self) -> str:
        state = "synced" if self.synced else f"unsynced from {self.min_rev}"
        return f"<Watcher {self.id} [{self.key!r}, {self.end!r}) {state}>"


class StreamState:
    """The hub's side of one watch stream: its watchers and its queue of responses.

    The consumer may take from ``queue`` without the store's lock (``popleft`` is atomic);
    everything else is read and written under it.
    """

    __slots__ = (
        "capacity",
        "closed",
        "lagging",
        "next_id",
        "progress_wanted",
        "queue",
        "single",
        "wakers",
        "watchers",
    )

    def __init__(self, capacity: int, *, single: bool = False) -> None:
        self.capacity = capacity
        #: Responses not yet read, oldest first.
        self.queue: deque[WatchResponse] = deque()
        #: Callables to wake the consumer(s) waiting for the queue (see ``_waiting``).
        self.wakers: list[Callable[[], None]] = []
        self.watchers: dict[int, Watcher] = {}
        #: The unsynced watchers of this stream.
        self.lagging: set[Watcher] = set()
        self.next_id = 0
        #: A progress request waits for the lagging watchers to catch up.
        self.progress_wanted = False
        #: A stream behind one ``Store.watch``: it ends when its watcher does.
        self.single = single
        #: No response will be added any more.
        self.closed = False

    def wake(self) -> None:
        """Wake whoever waits for this stream's queue."""
        wakers = self.wakers
        self.wakers = []
        for waker in wakers:
            waker()


def history(
    kv: KV, key: bytes, end: bytes, start: int, stop: int, *, prev_kv: bool = False
) -> list[Event]:
    """The events of ``[key, end)`` (etcd form) from revision ``start`` through ``stop``."""
    w = Watcher(0, key, end)
    matches = w.matches
    out: list[Event] = []
    for rev, recs in kv.changes(start):
        if rev > stop:
            break
        out.extend(make_event(kv, rec, rev, prev_kv) for rec in recs if matches(rec.key))
    return out


class WatchHub:
    """Every watcher of one store; called by the store under its lock (module docstring)."""

    def __init__(
        self,
        kv: KV,
        header: Callable[[int], ResponseHeader],
        *,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        batch_revisions: int = DEFAULT_BATCH_REVISIONS,
        scan_revisions: int = DEFAULT_SCAN_REVISIONS,
        fragment_bytes: int = 1536 * 1024 + GRPC_OVERHEAD_BYTES,
    ) -> None:
        if queue_size < 1 or batch_revisions < 1 or scan_revisions < 1 or fragment_bytes < 1:
            raise ValueError("watch queue, batch, scan and fragment sizes must be positive")
        self._kv = kv
        self._header = header
        self._hdr = header(kv.revision)
        self.queue_size = queue_size
        self.batch_revisions = batch_revisions
        self.scan_revisions = scan_revisions
        self.fragment_bytes = fragment_bytes
        #: The synced watchers. ``active`` mirrors ``index.count > 0`` for the write path.
        self.index = WatcherIndex()
        self.active = False
        self.unsynced: set[Watcher] = set()
        self.progress_watchers: set[Watcher] = set()
        self.streams: set[StreamState] = set()
        #: Streams whose owner was garbage-collected; appended without the lock, reaped later.
        self.abandoned: list[StreamState] = []
        #: The first revision the store holds back from watchers (0: none): a durable store's
        #: writes whose log entry is not yet synced. Watchers see up to :meth:`visible`.
        self.hold = 0

    # -- helpers ----------------------------------------------------------------------------

    def visible(self) -> int:
        """The newest revision watchers may see: the store's, unless some are held back."""
        return self.hold - 1 if self.hold else self._kv.revision

    def _current_header(self) -> ResponseHeader:
        rev = self.visible()
        if self._hdr.revision != rev:
            self._hdr = self._header(rev)
        return self._hdr

    def _sync(self, w: Watcher) -> None:
        w.synced = True
        self.index.add(w)
        self.active = True

    def _unsync(self, w: Watcher, next_rev: int) -> None:
        """``w``'s stream was full at ``next_rev``: serve it from the log from there on."""
        self.index.remove(w)
        self.active = self.index.count > 0
        w.synced = False
        w.min_rev = next_rev
        self.unsynced.add(w)
        w.stream.lagging.add(w)  # type: ignore[union-attr]

    def _drop(self, w: Watcher) -> None:
        """Forget ``w`` everywhere (it is canceled)."""
        s = w.stream
        assert s is not None
        del s.watchers[w.id]
        if w.synced:
            self.index.remove(w)
            self.active = self.index.count > 0
        else:
            self.unsynced.discard(w)
            s.lagging.discard(w)
        self.progress_watchers.discard(w)
        if s.single:
            self._end(s)

    def _push(self, w: Watcher, hdr: ResponseHeader, events: tuple[Event, ...]) -> None:
        q = w.stream.queue  # type: ignore[union-attr]
        if w.fragment and len(events) > 1:
            q.extend(fragments(hdr, w.id, events, self.fragment_bytes))
        else:
            q.append(WatchResponse(hdr, w.id, events=events))
        w.notified = True

    def _push_progress(self, s: StreamState, watch_id: int) -> None:
        """Queue a progress notification, replacing one still unread at the queue's end."""
        resp = WatchResponse(self._current_header(), watch_id)
        q = s.queue
        try:
            last = q[-1]
            if last.watch_id == watch_id and last.is_progress_notify:
                q[-1] = resp  # the consumer may have taken it meanwhile: then IndexError
                return
        except IndexError:
            pass
        q.append(resp)

    def _answer_progress(self, s: StreamState) -> None:
        s.progress_wanted = False
        if not s.closed:
            self._push_progress(s, -1)
            s.wake()

    def _end(self, s: StreamState) -> None:
        """No response will be added to ``s`` any more."""
        s.closed = True
        self.streams.discard(s)

    def _reap(self) -> None:
        while self.abandoned:
            s = self.abandoned.pop()
            self.close_stream(s)

    # -- streams ----------------------------------------------------------------------------

    def open_stream(self, *, single: bool = False) -> StreamState:
        """A new stream (``single``: the stream of one ``Store.watch``)."""
        if self.abandoned:
            self._reap()
        s = StreamState(self.queue_size, single=single)
        self.streams.add(s)
        return s

    def abandon(self, s: StreamState) -> None:
        """Mark ``s`` for closing at the next hub call; safe without the lock (finalizers)."""
        self.abandoned.append(s)

    def close_stream(self, s: StreamState) -> None:
        """Close ``s`` as a client does: its watchers go, unread responses are dropped."""
        for w in list(s.watchers.values()):
            self._drop(w)
        self._end(s)
        s.queue.clear()
        s.wake()

    def close_all(self, reason: str) -> None:
        """End every stream: each watcher gets a canceled response with ``reason``."""
        hdr = self._current_header()
        for s in list(self.streams):
            for w in list(s.watchers.values()):
                self._drop(w)
                s.queue.append(WatchResponse(hdr, w.id, canceled=True, cancel_reason=reason))
            s.closed = True
            s.wake()
        self.streams.clear()

    # -- requests ---------------------------------------------------------------------------

    def create(
        self,
        s: StreamState,
        key: bytes,
        end: bytes,
        start: int,
        *,
        watch_id: int = 0,
        prev_kv: bool = False,
        no_put: bool = False,
        no_delete: bool = False,
        fragment: bool = False,
        progress: bool = False,
    ) -> int:
        """A create request on ``s``: its watch id, or -1 when refused (the reason is queued).

        ``key``/``end`` are etcd's form (an empty key is already ``b"\\0"``); ``watch_id`` 0
        picks the next free id of the stream.
        """
        if self.abandoned:
            self._reap()
        hdr = self._current_header()
        reason = ""
        if start < 0:
            reason = CompactedError.message
        elif end and end != b"\0" and key >= end:
            reason = WatcherRangeEmptyError.message
        elif watch_id == 0:
            while s.next_id in s.watchers:
                s.next_id += 1
            watch_id = s.next_id
            s.next_id += 1
        elif watch_id in s.watchers:
            reason = WatcherDuplicateIDError.message
        if reason:
            s.queue.append(
                WatchResponse(hdr, -1, created=True, canceled=True, cancel_reason=reason)
            )
            if s.single:
                self._end(s)
            s.wake()
            return -1
        w = Watcher(
            watch_id,
            key,
            end,
            prev_kv=prev_kv,
            no_put=no_put,
            no_delete=no_delete,
            fragment=fragment,
            progress=progress,
            stream=s,
        )
        s.watchers[watch_id] = w
        s.queue.append(WatchResponse(hdr, watch_id, created=True))
        kv = self._kv
        current = self.visible()
        if start == 0 or start > current:
            w.min_rev = max(start, current + 1)
            self._sync(w)
        elif start < kv.compact_revision:
            self._drop(w)
            s.queue.append(
                WatchResponse(
                    self._header(0), watch_id, canceled=True, compact_revision=kv.compact_revision
                )
            )
        else:
            w.min_rev = start
            self.unsynced.add(w)
            s.lagging.add(w)
        if progress and w.id in s.watchers:
            self.progress_watchers.add(w)
        s.wake()
        return watch_id

    def cancel(self, s: StreamState, watch_id: int) -> None:
        """A cancel request: the watcher goes and a canceled response is queued.

        Raises :class:`~etcdlite.errors.WatcherNotExistError` for an id not active on ``s``
        (etcd's server then sends nothing).
        """
        w = s.watchers.get(watch_id)
        if w is None:
            raise WatcherNotExistError()
        self._drop(w)
        s.queue.append(WatchResponse(self._current_header(), watch_id, canceled=True))
        if s.progress_wanted and not s.lagging:  # the others are synced: answer after it
            self._answer_progress(s)
        s.wake()

    def request_progress(self, s: StreamState) -> None:
        """A progress request: a response with watch id -1 once every watcher of ``s`` is synced.

        etcd 3.5+ answers only when the stream is synced (3.4 at once, even with events still
        due, which breaks the bookmark guarantee); etcdlite answers as soon as it is synced,
        and at once on a stream that is synced already.
        """
        if s.closed:
            return
        if s.lagging:
            s.progress_wanted = True
        else:
            self._answer_progress(s)

    def progress_tick(self) -> bool:
        """The periodic progress notification; returns whether any watcher still wants one.

        Each ``progress_notify`` watcher that is synced, had no events queued since the last
        tick and has room in its queue gets an empty response at the current revision.
        """
        for w in self.progress_watchers:
            s = w.stream
            assert s is not None
            if w.synced and not w.notified and len(s.queue) < s.capacity:
                self._push_progress(s, w.id)
                s.wake()
            w.notified = False
        return bool(self.progress_watchers)

    # -- writes -----------------------------------------------------------------------------

    def notify(self, hdr: ResponseHeader, records: Sequence[KeyValue]) -> None:
        """Queue the events of one committed revision (``hdr.revision``) for synced watchers."""
        if len(records) == 1:
            self.notify_one(hdr, records[0])
            return
        if self.abandoned:
            self._reap()
        self._notify_many(hdr, records)

    def notify_one(self, hdr: ResponseHeader, rec: KeyValue) -> None:
        """:meth:`notify` for a revision that wrote one record (the put fast path's case)."""
        if self.abandoned:
            self._reap()
        groups = self.index.groups(rec.key)
        if groups:
            self._notify_one(hdr, rec, groups)

    def _notify_one(
        self,
        hdr: ResponseHeader,
        rec: KeyValue,
        groups: list[set[Watcher] | list[Watcher]],
    ) -> None:
        rev = hdr.revision
        is_put = rec.version != 0
        cache: dict[int, WatchResponse] = {}
        full: list[Watcher] = []
        for group in groups:
            for w in group:
                if w.min_rev > rev or (w.no_put if is_put else w.no_delete):
                    continue
                s = w.stream
                q = s.queue  # type: ignore[union-attr]
                if len(q) >= s.capacity:  # type: ignore[union-attr]
                    full.append(w)
                    continue
                resp = cache.get(w.ckey)
                if resp is None:
                    ev = make_event(self._kv, rec, rev, w.prev_kv)
                    resp = cache[w.ckey] = WatchResponse(hdr, w.id, events=(ev,))
                q.append(resp)
                w.notified = True
                if s.wakers:  # type: ignore[union-attr]
                    s.wake()  # type: ignore[union-attr]
        for w in full:
            self._unsync(w, rev)

    def _notify_many(self, hdr: ResponseHeader, records: Sequence[KeyValue]) -> None:
        rev = hdr.revision
        groups = self.index.groups
        per: dict[Watcher, list[KeyValue]] = {}
        for rec in records:
            for group in groups(rec.key):
                for w in group:
                    found = per.get(w)
                    if found is None:
                        per[w] = [rec]
                    else:
                        found.append(rec)
        kv = self._kv
        made: dict[tuple[int, bool], Event] = {}
        for w, recs in per.items():
            if w.min_rev > rev:
                continue
            events = []
            for rec in recs:
                if w.no_put if rec.version else w.no_delete:
                    continue
                k = (id(rec), w.prev_kv)
                ev = made.get(k)
                if ev is None:
                    ev = made[k] = make_event(kv, rec, rev, w.prev_kv)
                events.append(ev)
            if not events:
                continue
            s = w.stream
            assert s is not None
            if len(s.queue) >= s.capacity:
                self._unsync(w, rev)
                continue
            self._push(w, hdr, tuple(events))
            if s.wakers:
                s.wake()

    def compact(self, rev: int) -> None:
        """After a compaction at ``rev``: cancel the unsynced watchers that needed older history.

        Events a watcher had already read from the log are queued first.
        """
        if self.abandoned:
            self._reap()
        doomed = [w for w in self.unsynced if w.min_rev < rev]
        doomed.sort(key=lambda w: w.id)
        for w in doomed:
            s = w.stream
            assert s is not None
            if w.pending:
                self._push(w, self._current_header(), tuple(w.pending))
                w.pending, w.pending_revs = [], 0
            self._drop(w)
            s.queue.append(
                WatchResponse(self._header(0), w.id, canceled=True, compact_revision=rev)
            )
            if s.progress_wanted and not s.lagging:
                self._answer_progress(s)
            s.wake()

    # -- the consumer's side ----------------------------------------------------------------

    def poll(self, s: StreamState, waker: Callable[[], None] | None) -> WatchResponse | Signal:
        """The next response of ``s``; catches lagging watchers up when the queue is empty.

        Answers :attr:`Signal.AGAIN` when it caught up without a response yet (the caller lets
        the lock go and asks again), :attr:`Signal.END` when ``s`` is closed and drained, and
        :attr:`Signal.NOT_READY` otherwise, keeping ``waker`` (if any) for the next response.
        """
        q = s.queue
        if q:
            return q.popleft()
        if s.lagging:
            for w in sorted(s.lagging, key=lambda w: w.id):
                self._catch_up(w)
            if q:
                return q.popleft()
            if s.lagging:
                return Signal.AGAIN
        if s.closed:
            return Signal.END
        if waker is not None:
            s.wakers.append(waker)
        return Signal.NOT_READY

    def forget(self, s: StreamState, waker: Callable[[], None]) -> None:
        """Drop a waker that ``poll`` kept (its waiter gave up)."""
        try:
            s.wakers.remove(waker)
        except ValueError:
            pass

    def _catch_up(self, w: Watcher) -> None:
        """Read ``w``'s events from the log: queue a batch, and resync ``w`` at the end."""
        kv = self._kv
        current = self.visible()
        matches = w.matches
        pending = w.pending
        revs = w.pending_revs
        batch = self.batch_revisions
        budget = self.scan_revisions
        no_put, no_delete, prev_kv = w.no_put, w.no_delete, w.prev_kv
        rev = w.min_rev
        full = False
        for rev, recs in kv.changes(w.min_rev):
            if rev > current:
                rev = current + 1
                break
            found = [r for r in recs if matches(r.key) and not (no_put if r.version else no_delete)]
            if found:
                if revs == batch:
                    full = True
                    break
                revs += 1
                pending.extend(make_event(kv, r, rev, prev_kv) for r in found)
            budget -= 1
            if not budget:
                rev += 1
                break
        else:
            rev = current + 1
        w.min_rev = rev
        done = rev > current
        if pending and (full or done):
            self._push(w, self._current_header(), tuple(pending))
            w.pending, w.pending_revs = [], 0
        else:
            w.pending_revs = revs
        if done:
            s = w.stream
            assert s is not None
            self.unsynced.discard(w)
            s.lagging.discard(w)
            self._sync(w)
            if s.progress_wanted and not s.lagging:
                self._answer_progress(s)

    # -- invariants -------------------------------------------------------------------------

    def _check(self) -> None:
        """Invariants: each live watcher is synced (indexed) or unsynced, never both."""
        self.index._check()
        assert self.active == (self.index.count > 0)
        current = self._kv.revision
        indexed = 0
        lagging: set[Watcher] = set()
        for s in self.streams:
            assert not s.closed, "closed stream still registered"
            for wid, w in s.watchers.items():
                assert w.id == wid
                assert w.stream is s
                if w.synced:
                    indexed += 1
                    assert w not in self.unsynced
                    assert w not in s.lagging
                    assert w.min_rev > 1, w  # only a future start_revision is still to come
                    assert not w.pending
                else:
                    assert w in self.unsynced
                    assert w in s.lagging
                    assert self._kv.compact_revision <= w.min_rev <= current, (w, current)
                assert (w in self.progress_watchers) == w.progress
            lagging |= s.lagging
            assert not s.progress_wanted or s.lagging
        assert lagging == self.unsynced
        assert indexed == self.index.count, (indexed, self.index.count)
