"""Barriers (etcd recipes ``Barrier`` and ``DoubleBarrier``).

A :class:`Barrier` is one key: while it exists, :meth:`Barrier.wait` blocks; deleting it
releases every waiter. A :class:`DoubleBarrier` gathers a fixed number of participants twice:
:meth:`DoubleBarrier.enter` returns once ``count`` participants have entered, and
:meth:`DoubleBarrier.leave` once all of them have left. Participants are ephemeral keys on
their :class:`~etcdlite.concurrency.Session`'s lease, so one that dies (its session expires)
stops holding the others up in :meth:`~DoubleBarrier.leave`.

Each blocking call has a thread face (``timeout=`` in seconds, ``TimeoutError``) and a task
face for asyncio or trio (``wait_async``, ``aenter``, ``aleave``; time them out with anyio's
``fail_after``); both run the same step through :mod:`etcdlite.concurrency._wait`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._model import prefix_end, to_bytes, to_int
from ._recipes import TooManyClientsError, block, block_async, put_new, put_unique
from ._wait import WaitFor, run, run_async

if TYPE_CHECKING:
    from collections.abc import Callable

    from .._model import KeyValue
    from .._protocols import Client
    from ._session import Session

__all__ = ("Barrier", "DoubleBarrier")


class Barrier:
    """A key that blocks processes while it exists (etcd ``recipe.Barrier``).

    :meth:`hold` creates the key, :meth:`release` deletes it, and :meth:`wait` returns once it
    does not exist (at once if it never did). The key has no lease: a barrier stays held until
    someone releases it.

    >>> import threading
    >>> from etcdlite import Store
    >>> store = Store()
    >>> barrier = Barrier(store, "deploy/freeze")
    >>> barrier.hold()
    >>> t = threading.Timer(0.01, barrier.release); t.start()
    >>> barrier.wait(timeout=10)
    >>> t.join()
    """

    __slots__ = ("_client", "key")

    def __init__(self, client: Client, key: str | bytes) -> None:
        self._client = client
        #: The barrier's key.
        self.key = to_bytes(key, "key")

    def hold(self) -> None:
        """Create the barrier key, so that :meth:`wait` blocks (etcd ``Hold``).

        Raises :class:`~etcdlite.concurrency.KeyExistsError` ("key already exists") if the
        barrier is already held, by anyone.
        """
        put_new(self._client, self.key, b"", 0)

    def release(self) -> None:
        """Delete the barrier key, unblocking every waiter (etcd ``Release``); idempotent."""
        self._client.delete(self.key)

    def _step(self) -> WaitFor | None:
        resp = self._client.get(self.key)
        return WaitFor(self.key, None, resp.header.revision) if resp.kvs else None

    def wait(self, timeout: float | None = None) -> None:
        """Block until the barrier key does not exist (etcd ``Wait``).

        Raises ``TimeoutError`` after ``timeout`` seconds (``None``: no limit).
        """
        run(self._client, self._step, timeout)

    async def wait_async(self) -> None:
        """:meth:`wait` in the current task (asyncio or trio)."""
        await run_async(self._client, self._step)

    def __repr__(self) -> str:
        return f"<etcdlite.concurrency.Barrier key={self.key!r}>"


class DoubleBarrier:
    """Gathers ``count`` participants on entry and again on exit (etcd
    ``recipe.DoubleBarrier``).

    Each participant makes its own ``DoubleBarrier(session, key, count)`` (one object per
    participant, used by one thread or task at a time). The keys, as etcd's:

    * ``<key>/waiters/<unix nanoseconds>``: one per participant, with its session's lease;
    * ``<key>/ready``: written by the participant that completes the count.

    :meth:`enter` refuses a participant beyond ``count`` (``TooManyClientsError``), and
    otherwise returns when ``<key>/ready`` is written after the participant's own key: at once
    for the ``count``-th. :meth:`leave` returns once every participant's key is gone (see its
    docstring for etcd's algorithm), and the last one out deletes ``<key>/ready``, so the same
    barrier can gather a new round.

    >>> import threading
    >>> from etcdlite import Store
    >>> from etcdlite.concurrency import Session
    >>> store = Store()
    >>> def participant():
    ...     with Session(store) as session:
    ...         b = DoubleBarrier(session, "phase", 2)
    ...         b.enter(timeout=10)
    ...         b.leave(timeout=10)
    >>> t = threading.Thread(target=participant); t.start()
    >>> participant()
    >>> t.join()
    >>> store.get("phase", prefix=True).count
    0
    """

    __slots__ = ("_client", "_my_key", "_my_rev", "_ready", "_session", "_waiters", "count", "key")

    def __init__(self, session: Session, key: str | bytes, count: int) -> None:
        self._session = session
        self._client = session.client
        #: The barrier's key; its participants live under ``<key>/waiters/``.
        self.key = to_bytes(key, "key")
        #: How many participants the barrier gathers.
        self.count = to_int(count, "count")
        if self.count < 1:
            raise ValueError(f"count must be at least 1, not {self.count}")
        self._waiters = self.key + b"/waiters"
        self._ready = self.key + b"/ready"
        self._my_key: bytes | None = None
        self._my_rev = 0

    @property
    def my_key(self) -> bytes | None:
        """This participant's key under ``<key>/waiters/`` while it is in the barrier."""
        return self._my_key

    def _entered(self) -> tuple[KeyValue, ...]:
        """The participants' keys, oldest first (etcd ``enteredClients``)."""
        start = self._waiters + b"/"
        return self._client.get(
            start, range_end=prefix_end(start), sort_target="create", sort_order="ascend"
        ).kvs

    def _how_many_entered(self) -> int:
        start = self._waiters + b"/"
        return self._client.get(start, range_end=prefix_end(start), count_only=True).count

    def _delete_mine(self) -> None:
        key, self._my_key = self._my_key, None
        if key is not None:
            self._client.delete(key)

    # -- enter ------------------------------------------------------------------------------

    def _begin_enter(self) -> Callable[[], WaitFor | None] | None:
        """Join (etcd ``Enter`` up to its wait): ``None`` when entered, else the wait's step."""
        if self._my_key is not None:
            raise RuntimeError("this participant has already entered the barrier")
        if self._how_many_entered() >= self.count:
            raise TooManyClientsError()
        self._my_key, self._my_rev = put_unique(
            self._client, self._waiters, b"", self._session.lease
        )
        entered = self._entered()
        if len(entered) >= self.count:
            last = entered[self.count - 1].create_revision
            if self._my_rev > last:  # others completed the count first
                self._delete_mine()
                raise TooManyClientsError()
            if self._my_rev == last:  # the count-th: open the barrier
                self._client.put(self._ready, b"")
                return None
        return self._ready_step

    def _ready_step(self) -> WaitFor | None:
        """Done once ``<key>/ready`` was written after this participant's key."""
        resp = self._client.get(self._ready)
        if resp.kvs and resp.kvs[0].mod_revision > self._my_rev:
            return None
        return WaitFor(self._ready, None, resp.header.revision)

    def enter(self, timeout: float | None = None) -> None:
        """Enter, and block until ``count`` participants have entered (etcd ``Enter``).

        Raises :class:`~etcdlite.concurrency.TooManyClientsError` ("too many clients") when
        ``count`` participants are already in, ``RuntimeError`` if this object already
        entered, and ``TimeoutError`` after ``timeout`` seconds (``None``: no limit). A
        participant whose wait fails (timeout, cancellation, error) deletes its key: it is not
        counted any more.
        """
        step = self._begin_enter()
        if step is not None:
            block(self._client, step, timeout, self._delete_mine)

    async def aenter(self) -> None:
        """:meth:`enter` in the current task (asyncio or trio)."""
        step = self._begin_enter()
        if step is not None:
            await block_async(self._client, step, self._delete_mine)

    # -- leave ------------------------------------------------------------------------------

    def _leave_step(self) -> WaitFor | None:
        """One round of etcd's ``Leave`` (a wake-up runs it again, as etcd's recursion)."""
        start = self._waiters + b"/"
        resp = self._client.get(start, range_end=prefix_end(start))
        waiters = resp.kvs
        if not waiters:
            self._my_key = None
            return None
        lowest = min(waiters, key=_mod_revision)
        highest = max(waiters, key=_mod_revision)
        if lowest.key != self._my_key:  # leave now, then wait for the lowest to go
            self._delete_mine()
            return WaitFor(lowest.key, None, resp.header.revision)
        if len(waiters) == 1:  # the last one out closes the barrier
            self._client.delete(self._ready)
            self._delete_mine()
            return None
        return WaitFor(highest.key, None, resp.header.revision)  # the lowest leaves last

    def leave(self, timeout: float | None = None) -> None:
        """Leave, and block until every participant has left (etcd ``Leave``).

        etcd's algorithm: of the participants' keys, the one with the lowest revision leaves
        last. Every other participant deletes its key and waits for the lowest to be gone; the
        lowest waits for the highest to be gone, again and again, until its own key is the
        only one left; then it deletes ``<key>/ready`` and its key. A participant that dies
        has its key deleted with its lease, so the others are not held up. Called without
        having entered, it waits for the barrier to empty.

        Raises ``TimeoutError`` after ``timeout`` seconds (``None``: no limit); this
        participant's key is then gone unless it is the lowest.
        """
        run(self._client, self._leave_step, timeout)

    async def aleave(self) -> None:
        """:meth:`leave` in the current task (asyncio or trio)."""
        await run_async(self._client, self._leave_step)

    def __repr__(self) -> str:
        state = "out" if self._my_key is None else f"in as {self._my_key!r}"
        return f"<etcdlite.concurrency.DoubleBarrier key={self.key!r} count={self.count} {state}>"


def _mod_revision(kv: KeyValue) -> int:
    return kv.mod_revision
