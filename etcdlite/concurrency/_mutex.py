"""``Mutex``: a distributed lock (clientv3 ``concurrency.Mutex``), with its key layout.

Each contender writes one key, ``<prefix>/<lease id in hex>``, attached to its session's
lease; the key with the lowest create revision under ``<prefix>/`` holds the lock. A waiter
watches only its predecessor (the key created just before its own), so a release wakes one
waiter, and a crashed holder releases when its lease runs out. The steps, exactly as clientv3's:

1. One txn: if ``create_revision(myKey) == 0`` then put ``myKey`` (empty value, with the lease)
   and read the first-created key under the prefix, else read ``myKey`` and that owner. My
   revision is the txn's revision, or my existing key's create revision (a session that holds
   the lock already holds it again).
2. If there is no owner, or the owner is me, the lock is mine.
3. Otherwise *wait for deletes*: read the last-created key under the prefix created before me
   (``max_create_revision = myRev - 1``), watch it from the read's revision until it changes,
   read again; until no such key is left.
4. Check that my key still exists (etcd 3.5+): if my lease ran out while I waited, raise
   :class:`~etcdlite.errors.SessionExpiredError` rather than report a lock that is not held.

A wait that fails (timeout, cancellation, an error) deletes my key and re-raises, as clientv3's
``Lock`` calls ``Unlock`` then. Steps 1 to 4 are one ``step`` function for
:class:`~etcdlite.concurrency._wait.Waiter`: :meth:`Mutex.lock` runs it in a thread,
:meth:`Mutex.alock` in a task (asyncio or trio).

A lock is advisory: guard each protected write with :meth:`Mutex.is_owner` in the same txn (a
fencing token), since a holder whose lease expired does not know it.

>>> from etcdlite import Store, Op
>>> from etcdlite.concurrency import Session
>>> store = Store()
>>> session = Session(store, lease=store.grant(60, id=0x694D).id)
>>> mutex = Mutex(session, "locks/job")
>>> mutex.lock()
>>> mutex.key
b'locks/job/694d'
>>> store.txn([mutex.is_owner()], [Op.put("job", "mine")]).succeeded
True
>>> mutex.unlock()
>>> store.txn([mutex.is_owner()], [Op.put("job", "stale")]).succeeded
False
>>> session.close()
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Protocol

from .._model import Compare, Op, to_bytes
from ..errors import EtcdError, LockedError, LockReleasedError, SessionExpiredError
from ._wait import WaitFor, run, run_async

if TYPE_CHECKING:
    from types import TracebackType

    from .._model import RangeResponse, ResponseHeader
    from .._protocols import KV, Client

__all__ = ("Mutex", "SessionLike", "first_created", "lock_key", "wait_deletes")


class SessionLike(Protocol):
    """What a mutex or an election needs of a session: its client and its lease id.

    :class:`~etcdlite.concurrency.Session` is one (and keeps the lease alive); etcd's lock and
    election services use a bare lease that nobody keeps alive.
    """

    @property
    def client(self) -> Client: ...

    @property
    def lease(self) -> int: ...


def lock_key(prefix: bytes, lease: int) -> bytes:
    """``prefix`` (ending in ``/``) + the lease id in hex, as Go's ``%x`` writes it.

    >>> lock_key(b"locks/", 0x694D), lock_key(b"locks/", -1)
    (b'locks/694d', b'locks/-1')
    """
    return prefix + format(lease, "x").encode()


def first_created(client: KV, prefix: bytes) -> RangeResponse:
    """clientv3 ``Get(prefix, WithFirstCreate()...)``: the oldest key under ``prefix``."""
    return client.get(prefix, prefix=True, sort_target="create", sort_order="ascend", limit=1)


def wait_deletes(client: KV, prefix: bytes, max_create_revision: int) -> ResponseHeader | WaitFor:
    """One step of clientv3's ``waitDeletes``: done (the read's header) once no key under
    ``prefix`` was created at or before ``max_create_revision``; else wait on the newest such
    key (the predecessor), from the read's revision."""
    r = client.get(
        prefix,
        prefix=True,
        sort_target="create",
        sort_order="descend",
        limit=1,
        max_create_revision=max_create_revision,
    )
    if r.kvs:
        return WaitFor(r.kvs[0].key, revision=r.header.revision)
    return r.header


class _Phase(enum.Enum):
    START = "start"
    WAITING = "waiting"
    DONE = "done"


class _Acquire:
    """One ``lock()`` call: the step the Waiter runs, and the clean-up if the wait fails."""

    __slots__ = ("_mutex", "phase")

    def __init__(self, mutex: Mutex) -> None:
        self._mutex = mutex
        self.phase = _Phase.START

    def step(self) -> ResponseHeader | WaitFor:
        m = self._mutex
        if self.phase is _Phase.START:
            owned = m._try_acquire()
            if owned is not None:
                self.phase = _Phase.DONE
                m.header = owned
                return owned
            self.phase = _Phase.WAITING
        found = wait_deletes(m._client, m._prefix, m._rev - 1)
        if isinstance(found, WaitFor):
            return found
        mine = m._client.get(m.key)  # is my key (so my session) still there?
        self.phase = _Phase.DONE
        if not mine.kvs:
            raise SessionExpiredError()
        m.header = mine.header
        return mine.header

    def abandon(self) -> None:
        """The wait failed: withdraw from the queue (clientv3 calls ``Unlock``), quietly."""
        if self.phase is _Phase.WAITING:
            self.phase = _Phase.DONE
            try:
                self._mutex._release()
            except EtcdError:
                pass


class Mutex:
    """A distributed lock on ``prefix`` for one session (clientv3 ``concurrency.NewMutex``).

    ``key`` is the lock key while held (``b""`` otherwise) and ``header`` the response header
    of the acquisition. ``with mutex:`` and ``async with mutex:`` lock and unlock. A mutex
    object is for one holder at a time, like clientv3's; share the session, not the mutex.

    >>> from etcdlite import Store
    >>> from etcdlite.concurrency import Session
    >>> store = Store()
    >>> with Session(store) as s1, Session(store) as s2:
    ...     with Mutex(s1, "jobs"):
    ...         try:
    ...             Mutex(s2, "jobs").try_lock()
    ...         except Exception as e:
    ...             print(e)
    mutex: Locked by another session
    """

    __slots__ = ("_client", "_prefix", "_rev", "_session", "header", "key")

    def __init__(self, session: SessionLike, prefix: str | bytes) -> None:
        self._session = session
        self._client = session.client
        self._prefix = to_bytes(prefix, "prefix") + b"/"
        self._rev = -1
        #: The lock key while held (``prefix/<lease hex>``); ``b""`` when not.
        self.key = b""
        #: The response header of the last acquisition (``None`` before one).
        self.header: ResponseHeader | None = None

    @property
    def session(self) -> SessionLike:
        """The session whose lease the lock key is attached to."""
        return self._session

    # -- the etcd steps ----------------------------------------------------------------------

    def _try_acquire(self) -> ResponseHeader | None:
        """Step 1 and 2: queue up (or find my key); the header if I own the lock now."""
        lease = self._session.lease
        key = self.key = lock_key(self._prefix, lease)
        owner = Op.get(
            self._prefix, prefix=True, sort_target="create", sort_order="ascend", limit=1
        )
        resp = self._client.txn(
            [Compare.create_revision(key) == 0],
            [Op.put(key, b"", lease=lease), owner],
            [Op.get(key), owner],
        )
        if resp.succeeded:
            self._rev = resp.header.revision
        else:
            self._rev = resp.responses[0].kvs[0].create_revision  # type: ignore[union-attr]
        owners = resp.responses[1].kvs  # type: ignore[union-attr]
        if not owners or owners[0].create_revision == self._rev:
            return resp.header
        return None

    def _release(self) -> None:
        """Delete my key (clientv3 ``Unlock``): the next waiter gets the lock."""
        self._client.delete(self.key)
        self.key = b""
        self._rev = -1

    # -- the public calls --------------------------------------------------------------------

    def lock(self, timeout: float | None = None) -> None:
        """Acquire the lock, blocking the thread while others hold it (clientv3 ``Lock``).

        Raises :class:`TimeoutError` after ``timeout`` seconds, having withdrawn (deleted the
        waiting key); :class:`~etcdlite.errors.SessionExpiredError` if the session's lease
        ran out while waiting; ``LeaseNotFoundError`` if it was already gone. Locking again
        while holding the lock returns at once.
        """
        attempt = _Acquire(self)
        try:
            run(self._client, attempt.step, timeout)
        except BaseException:
            attempt.abandon()
            raise

    async def alock(self) -> None:
        """:meth:`lock`, waiting in the current task (asyncio or trio).

        Cancelling the task (use anyio's ``fail_after`` for a timeout) withdraws from the queue.
        """
        attempt = _Acquire(self)
        try:
            await run_async(self._client, attempt.step)
        except BaseException:
            attempt.abandon()
            raise

    def try_lock(self) -> None:
        """Acquire the lock if nobody holds it, else withdraw and raise
        :class:`~etcdlite.errors.LockedError` (clientv3 ``TryLock``, etcd 3.5+)."""
        owned = self._try_acquire()
        if owned is not None:
            self.header = owned
            return
        self._release()
        raise LockedError()

    def unlock(self) -> None:
        """Release the lock: delete the lock key (clientv3 ``Unlock``).

        Raises :class:`~etcdlite.errors.LockReleasedError` if the mutex is not locked (never
        locked, or already unlocked), as clientv3 does since etcd 3.6.
        """
        if not self.key or self._rev <= 0:
            raise LockReleasedError()
        self._release()

    def is_owner(self) -> Compare:
        """A txn condition that holds only while this mutex still holds the lock: the lock
        key's create revision is the one it was acquired with (clientv3 ``IsOwner``).

        Put it in the ``compare`` of every write the lock protects (fencing).
        """
        key = self.key or lock_key(self._prefix, self._session.lease)
        return Compare.create_revision(key) == self._rev

    # -- context managers --------------------------------------------------------------------

    def __enter__(self) -> Mutex:
        self.lock()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.unlock()

    async def __aenter__(self) -> Mutex:
        await self.alock()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.unlock()

    def __repr__(self) -> str:
        state = f"held key={self.key!r}" if self.key and self._rev > 0 else "unlocked"
        return f"<etcdlite.concurrency.Mutex prefix={self._prefix!r} {state}>"
