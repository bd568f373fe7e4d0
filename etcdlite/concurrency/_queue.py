"""Queues (etcd recipes ``Queue`` and ``PriorityQueue``): many producers, many consumers.

Each item is one key, deleted by the consumer that takes it, in a txn guarded by the key's mod
revision: when consumers race for the same item, one txn succeeds and the others read again,
so no item is delivered twice and none is lost. A consumer that finds the queue empty watches
its range and reads again when it changes.

Dequeuing has a thread face (``dequeue(timeout=...)``, ``TimeoutError``) and a task face for
asyncio or trio (``adequeue``; time it out with anyio's ``fail_after``); an item is only ever
taken by a call that returns it, so a timed-out or cancelled dequeue loses nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._model import prefix_end, to_bytes, to_int
from ._recipes import claim_step, put_sequential, put_unique
from ._wait import run, run_async

if TYPE_CHECKING:
    from .._protocols import Client

__all__ = ("MAX_PRIORITY", "PriorityQueue", "Queue")

#: The largest priority a :class:`PriorityQueue` takes: etcd formats priorities as ``%05d``,
#: which sorts numerically only up to five digits.
MAX_PRIORITY = 99999


class Queue:
    """A FIFO queue under ``prefix`` (etcd ``recipe.Queue``).

    :meth:`enqueue` writes the item at ``<prefix>/<unix nanoseconds>`` (a new number if that key
    is taken); :meth:`dequeue` takes the item with the lowest mod revision, which is the order
    the enqueues reached the store, and waits while the queue is empty. Items are ``bytes``;
    ``enqueue`` also takes ``str`` (UTF-8).

    >>> from etcdlite import Store
    >>> store = Store()
    >>> q = Queue(store, "jobs")
    >>> for job in ("build", "test"): _ = q.enqueue(job)
    >>> q.dequeue(timeout=10), q.dequeue(timeout=10)
    (b'build', b'test')
    """

    __slots__ = ("_client", "_step", "prefix")

    def __init__(self, client: Client, prefix: str | bytes) -> None:
        self._client = client
        #: The queue's prefix: items live at ``<prefix>/<number>``.
        self.prefix = to_bytes(prefix, "prefix")
        start = self.prefix + b"/"
        self._step = claim_step(client, start, prefix_end(start), "mod")

    def enqueue(self, value: str | bytes) -> bytes:
        """Add ``value`` at the tail of the queue (etcd ``Enqueue``): the key it was written at."""
        return put_unique(self._client, self.prefix, to_bytes(value, "value"))[0]

    def dequeue(self, timeout: float | None = None) -> bytes:
        """Take the item at the head of the queue, waiting while it is empty (etcd ``Dequeue``).

        Raises ``TimeoutError`` after ``timeout`` seconds (``None``: no limit).
        """
        return run(self._client, self._step, timeout)

    async def adequeue(self) -> bytes:
        """:meth:`dequeue` in the current task (asyncio or trio)."""
        return await run_async(self._client, self._step)

    def __repr__(self) -> str:
        return f"<etcdlite.concurrency.Queue prefix={self.prefix!r}>"


class PriorityQueue:
    """A queue whose items come out lowest priority number first, FIFO within a priority (etcd
    ``recipe.PriorityQueue``).

    :meth:`enqueue` writes the item at ``<key>/<priority %05d>/<n %016d>``, ``n`` one past the
    last number of that priority; :meth:`dequeue` takes the first key in key order, waiting
    while the queue is empty. Each priority also has a bookkeeping key ``__<key>/<priority>``
    (etcd's), outside the queue's range.

    >>> from etcdlite import Store
    >>> store = Store()
    >>> q = PriorityQueue(store, "alerts")
    >>> for value, priority in (("disk", 5), ("fire", 0), ("cpu", 5)):
    ...     _ = q.enqueue(value, priority)
    >>> [q.dequeue(timeout=10) for _ in range(3)]
    [b'fire', b'disk', b'cpu']
    """

    __slots__ = ("_client", "_prefix", "_step", "key")

    def __init__(self, client: Client, key: str | bytes) -> None:
        self._client = client
        #: The queue's key: items live at ``<key>/<priority>/<number>``.
        self.key = to_bytes(key, "key")
        self._prefix = self.key + b"/"
        self._step = claim_step(client, self._prefix, prefix_end(self._prefix), "key")

    def enqueue(self, value: str | bytes, priority: int) -> bytes:
        """Add ``value`` with ``priority`` (0 comes out first) (etcd ``Enqueue``): the key it
        was written at.

        Raises ``ValueError`` unless ``0 <= priority <=`` :data:`MAX_PRIORITY` (etcd takes a
        uint16, and its ``EnqueueUint64`` stops sorting numerically past five digits).
        """
        value = to_bytes(value, "value")
        priority = to_int(priority, "priority")
        if not 0 <= priority <= MAX_PRIORITY:
            raise ValueError(f"priority must be in 0..{MAX_PRIORITY}, not {priority}")
        return put_sequential(self._client, b"%s%05d" % (self._prefix, priority), value)[0]

    def dequeue(self, timeout: float | None = None) -> bytes:
        """Take the item with the lowest priority number (the oldest of that priority), waiting
        while the queue is empty (etcd ``Dequeue``).

        Raises ``TimeoutError`` after ``timeout`` seconds (``None``: no limit).
        """
        return run(self._client, self._step, timeout)

    async def adequeue(self) -> bytes:
        """:meth:`dequeue` in the current task (asyncio or trio)."""
        return await run_async(self._client, self._step)

    def __repr__(self) -> str:
        return f"<etcdlite.concurrency.PriorityQueue key={self.key!r}>"
