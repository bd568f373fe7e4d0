"""A readers-writer lock over any client (etcd recipe ``RWMutex``).

Every holder or waiter is an ephemeral key on its session's lease, and revisions give the
queue order:

* a reader writes ``<prefix>/read/<unix nanoseconds>`` and waits until no *writer* key older
  than its own is left;
* a writer writes ``<prefix>/write/<unix nanoseconds>`` and waits until no key at all older
  than its own is left.

Each waits on one key at a time: the newest of those older than its own (etcd's
``waitOnLastRev``: the last by mod revision, below its own revision), then looks again when that
one is deleted. So readers share the lock, a writer excludes everyone, and a reader that comes
after a waiting writer queues behind it (writers do not starve). A holder that dies has its key
deleted with its lease, which unblocks the next.

Locking has a thread face (``rlock``/``lock`` with ``timeout=``, ``TimeoutError``) and a task
face for asyncio or trio (``arlock``/``alock``; time them out with anyio's ``fail_after``). A
waiter that gives up (timeout, cancellation, error) deletes its key, as clientv3's mutex does
when its context ends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._model import prefix_end, to_bytes
from ._recipes import block, block_async, put_unique
from ._wait import WaitFor

if TYPE_CHECKING:
    from collections.abc import Callable

    from ._session import Session

__all__ = ("RWMutex",)

_READ = b"read"
_WRITE = b"write"


class RWMutex:
    """A readers-writer lock under ``prefix`` (etcd ``recipe.RWMutex``).

    Make one per holder (each is one lock request at a time, used by one thread or task at a
    time): :meth:`rlock`/:meth:`runlock` for shared access, :meth:`lock`/:meth:`unlock` for
    exclusive access. The lock is tied to the session: if its lease runs out, the key goes and
    the lock with it.

    >>> from etcdlite import Store
    >>> from etcdlite.concurrency import Session
    >>> store = Store()
    >>> with Session(store) as s1, Session(store) as s2:
    ...     reader, writer = RWMutex(s1, "cfg"), RWMutex(s2, "cfg")
    ...     reader.rlock()
    ...     try:
    ...         writer.lock(timeout=0.05)
    ...     except TimeoutError:
    ...         print("the writer waits for the reader")
    ...     reader.runlock()
    ...     writer.lock(timeout=10)
    ...     writer.unlock()
    the writer waits for the reader
    """

    __slots__ = ("_client", "_kind", "_my_key", "_my_rev", "_session", "prefix")

    def __init__(self, session: Session, prefix: str | bytes) -> None:
        self._session = session
        self._client = session.client
        #: The lock's prefix: its keys live under ``<prefix>/``.
        self.prefix = to_bytes(prefix, "prefix")
        self._my_key: bytes | None = None
        self._my_rev = 0
        self._kind = b""

    @property
    def key(self) -> bytes | None:
        """This holder's key while it holds or waits for the lock, else ``None``."""
        return self._my_key

    def _begin(self, kind: bytes) -> Callable[[], WaitFor | None]:
        """Queue up: write this holder's key, and return the step that waits for the lock."""
        if self._my_key is not None:
            raise RuntimeError(f"this RWMutex already holds a {self._kind.decode()} lock")
        base = self.prefix + b"/"
        self._my_key, self._my_rev = put_unique(self._client, base + kind, b"", self._session.lease)
        self._kind = kind
        # readers wait for older writers; writers for every older key
        start = base + _WRITE + b"/" if kind == _READ else base
        end = prefix_end(start)
        below = self._my_rev - 1
        client = self._client

        def step() -> WaitFor | None:
            last = client.get(
                start,
                range_end=end,
                sort_target="mod",
                sort_order="descend",
                limit=1,
                max_mod_revision=below,
            )
            if not last.kvs:
                return None
            return WaitFor(last.kvs[0].key, None, last.header.revision)

        return step

    def _abandon(self) -> None:
        key, self._my_key = self._my_key, None
        if key is not None:
            self._client.delete(key)

    def _release(self, kind: bytes, what: str) -> None:
        if self._my_key is None or self._kind != kind:
            raise RuntimeError(f"{what}: this RWMutex holds no {kind.decode()} lock")
        self._abandon()

    def rlock(self, timeout: float | None = None) -> None:
        """Take the lock shared: block while a writer holds it or waits ahead (etcd ``RLock``).

        Raises ``TimeoutError`` after ``timeout`` seconds (``None``: no limit), and
        ``RuntimeError`` if this object already holds or waits for the lock.
        """
        block(self._client, self._begin(_READ), timeout, self._abandon)

    async def arlock(self) -> None:
        """:meth:`rlock` in the current task (asyncio or trio)."""
        await block_async(self._client, self._begin(_READ), self._abandon)

    def runlock(self) -> None:
        """Release a shared lock (etcd ``RUnlock``): delete this holder's key.

        Raises ``RuntimeError`` unless this object holds the lock shared.
        """
        self._release(_READ, "runlock")

    def lock(self, timeout: float | None = None) -> None:
        """Take the lock exclusively: block while anyone holds it or waits ahead (etcd
        ``Lock``).

        Raises ``TimeoutError`` after ``timeout`` seconds (``None``: no limit), and
        ``RuntimeError`` if this object already holds or waits for the lock.
        """
        block(self._client, self._begin(_WRITE), timeout, self._abandon)

    async def alock(self) -> None:
        """:meth:`lock` in the current task (asyncio or trio)."""
        await block_async(self._client, self._begin(_WRITE), self._abandon)

    def unlock(self) -> None:
        """Release an exclusive lock (etcd ``Unlock``): delete this holder's key.

        Raises ``RuntimeError`` unless this object holds the lock exclusively.
        """
        self._release(_WRITE, "unlock")

    def __repr__(self) -> str:
        state = "unlocked" if self._my_key is None else f"{self._kind.decode()} {self._my_key!r}"
        return f"<etcdlite.concurrency.RWMutex prefix={self.prefix!r} {state}>"
