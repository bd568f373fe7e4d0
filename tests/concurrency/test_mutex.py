"""``Mutex`` (clientv3 ``concurrency.Mutex``): key layout, queueing, withdrawal, expiry, fencing.

Blocking calls run on a thread pool and every wait is bounded: ``TIMEOUT`` for what must
happen, ``BLOCKED`` for how long a call must be seen *not* to return. Lease expiry runs on a
:class:`~etcdlite.testing.FakeClock`, advanced by the test.
"""

from __future__ import annotations

import concurrent.futures
import functools
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import anyio
import anyio.lowlevel
import pytest

from etcdlite import Op, Store
from etcdlite.concurrency import Mutex, Session
from etcdlite.concurrency._mutex import lock_key
from etcdlite.concurrency._wait import WaitFor, run, run_async
from etcdlite.errors import (
    LeaseNotFoundError,
    LockedError,
    LockReleasedError,
    SessionExpiredError,
)
from etcdlite.testing import FakeClock

if TYPE_CHECKING:
    from collections.abc import Iterator

TIMEOUT = 10.0
BLOCKED = 0.05
TTL = 10


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(4) as executor:
        yield executor


def _keys(store: Store, prefix: str) -> list[bytes]:
    return [kv.key for kv in store.get(prefix + "/", prefix=True, sort_target="create").kvs]


def _still_blocked(fut: concurrent.futures.Future[Any]) -> bool:
    try:
        fut.result(timeout=BLOCKED)
    except concurrent.futures.TimeoutError:
        return True
    return False


def _fenced_put(store: Store, mutex: Mutex, value: str) -> bool:
    return store.txn([mutex.is_owner()], [Op.put("guarded", value)]).succeeded


# --------------------------------------------------------------------------- key layout


@pytest.mark.parametrize(
    ("prefix", "lease", "key"),
    [
        ("locks/job", 0x694D, b"locks/job/694d"),
        (b"raw", 0x1, b"raw/1"),
        ("", 0x7FFFFFFFFFFFFFFF, b"/7fffffffffffffff"),
        ("ü", 0xABC, "ü/abc".encode()),
    ],
    ids=["str", "bytes", "empty-prefix", "utf8"],
)
def test_lock_key_is_prefix_slash_lease_in_hex(prefix: str | bytes, lease: int, key: bytes) -> None:
    """The lock key is ``prefix + "/" + "%x" % lease``, written empty with the lease."""
    store = Store()
    with Session(store, lease=store.grant(60, id=lease).id) as session:
        mutex = Mutex(session, prefix)
        mutex.lock()
        assert mutex.key == key
        (kv,) = store.get(key).kvs
        assert (kv.value, kv.lease) == (b"", lease)
        assert mutex.header is not None
        assert mutex.header.revision == kv.create_revision


def test_uncontended_lock_is_one_txn() -> None:
    """Without contention the lock is taken by a single txn: one new revision, no waiting."""
    store = Store()
    with Session(store) as session:
        before = store.revision
        Mutex(session, "l").lock()
        assert store.revision == before + 1


def test_locking_again_while_holding_keeps_the_same_key() -> None:
    """A session that holds the lock holds it again at once, with the same key and revision."""
    store = Store()
    with Session(store) as session:
        m1, m2 = Mutex(session, "l"), Mutex(session, "l")
        m1.lock()
        m2.lock(timeout=TIMEOUT)
        assert m2.key == m1.key
        assert store.txn([m1.is_owner(), m2.is_owner()]).succeeded


def test_prefix_must_be_str_or_bytes() -> None:
    """A prefix of another type is a TypeError naming the argument."""
    with Session(Store()) as session, pytest.raises(TypeError, match="prefix"):
        Mutex(session, 5)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- queueing


def test_second_locker_blocks_until_the_first_unlocks(pool: ThreadPoolExecutor) -> None:
    """A second locker waits until the holder unlocks, then holds the lock."""
    store = Store()
    with Session(store) as s1, Session(store) as s2:
        m1, m2 = Mutex(s1, "l"), Mutex(s2, "l")
        m1.lock()
        fut = pool.submit(m2.lock, TIMEOUT)
        assert _still_blocked(fut)
        assert _keys(store, "l") == [m1.key, lock_key(b"l/", s2.lease)]
        m1.unlock()
        fut.result(timeout=TIMEOUT)
        assert _fenced_put(store, m2, "m2")
        assert _keys(store, "l") == [m2.key]


def test_waiters_acquire_in_create_revision_order(pool: ThreadPoolExecutor) -> None:
    """Waiters queue by their key's create revision: each release wakes only the next one."""
    store = Store()
    sessions = [Session(store) for _ in range(3)]
    m0, m1, m2 = (Mutex(s, "q") for s in sessions)
    m0.lock()
    f1 = pool.submit(m1.lock, TIMEOUT)
    assert _still_blocked(f1)
    f2 = pool.submit(m2.lock, TIMEOUT)
    assert _still_blocked(f2)
    assert _keys(store, "q") == [m0.key, m1.key, m2.key]
    m0.unlock()
    f1.result(timeout=TIMEOUT)
    assert _still_blocked(f2)
    m1.unlock()
    f2.result(timeout=TIMEOUT)
    m2.unlock()
    for s in sessions:
        s.close()


def test_predecessor_withdrawing_does_not_grant_the_lock(pool: ThreadPoolExecutor) -> None:
    """When the waiter ahead gives up, the next waiter waits on the holder instead."""
    store = Store()
    with Session(store) as s0, Session(store) as s1, Session(store) as s2:
        m0, m1, m2 = Mutex(s0, "q"), Mutex(s1, "q"), Mutex(s2, "q")
        m0.lock()
        f1 = pool.submit(m1.lock, 0.2)
        assert _still_blocked(f1)
        f2 = pool.submit(m2.lock, TIMEOUT)
        with pytest.raises(TimeoutError):
            f1.result(timeout=TIMEOUT)
        assert _still_blocked(f2)
        assert _keys(store, "q") == [m0.key, lock_key(b"q/", s2.lease)]
        m0.unlock()
        f2.result(timeout=TIMEOUT)
        assert _fenced_put(store, m2, "m2")


# --------------------------------------------------------------------------- giving up


def test_timeout_deletes_the_waiting_key() -> None:
    """A lock() that times out withdraws: its key is deleted, the holder's stays."""
    store = Store()
    with Session(store) as s1, Session(store) as s2:
        m1, m2 = Mutex(s1, "l"), Mutex(s2, "l")
        m1.lock()
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            m2.lock(timeout=0.05)
        assert time.monotonic() - started < TIMEOUT
        assert _keys(store, "l") == [m1.key]
        assert m2.key == b""


@pytest.mark.anyio
async def test_cancelled_alock_deletes_the_waiting_key() -> None:
    """Cancelling alock() (asyncio and trio) withdraws from the queue."""
    store = Store()
    with Session(store) as s1, Session(store) as s2:
        m1, m2 = Mutex(s1, "l"), Mutex(s2, "l")
        m1.lock()
        with anyio.move_on_after(0.05) as scope:
            await m2.alock()
        assert scope.cancelled_caught
        assert _keys(store, "l") == [m1.key]


@pytest.mark.anyio
async def test_alock_waits_for_the_release() -> None:
    """alock() suspends the task until the holder unlocks (asyncio and trio)."""
    store = Store()
    with Session(store) as s1, Session(store) as s2:
        m1, m2 = Mutex(s1, "l"), Mutex(s2, "l")
        m1.lock()
        order: list[str] = []

        async def release() -> None:
            await anyio.sleep(0.02)
            order.append("unlock")
            m1.unlock()

        with anyio.fail_after(TIMEOUT):
            async with anyio.create_task_group() as tg:
                tg.start_soon(release)
                await m2.alock()
                order.append("locked")
        assert order == ["unlock", "locked"]
        assert _fenced_put(store, m2, "m2")


def test_try_lock_on_a_held_lock_raises_locked_and_withdraws() -> None:
    """try_lock() raises LockedError ("mutex: Locked by another session") and leaves no key."""
    store = Store()
    with Session(store) as s1, Session(store) as s2:
        m1, m2 = Mutex(s1, "l"), Mutex(s2, "l")
        m1.try_lock()
        with pytest.raises(LockedError, match=r"^mutex: Locked by another session$"):
            m2.try_lock()
        assert _keys(store, "l") == [m1.key]
        m1.unlock()
        m2.try_lock()
        assert _fenced_put(store, m2, "m2")


@pytest.mark.parametrize("history", ["never-locked", "unlocked-twice", "after-try-lock"])
def test_unlock_without_the_lock_raises_lock_released(history: str) -> None:
    """unlock() of a mutex not locked raises LockReleasedError (clientv3, etcd 3.6)."""
    store = Store()
    with Session(store) as s1, Session(store) as s2:
        mutex = Mutex(s1, "l")
        if history == "unlocked-twice":
            mutex.lock()
            mutex.unlock()
        elif history == "after-try-lock":
            Mutex(s2, "l").lock()
            with pytest.raises(LockedError):
                mutex.try_lock()
        with pytest.raises(LockReleasedError, match=r"^mutex: lock has been released$"):
            mutex.unlock()


# --------------------------------------------------------------------------- expiry


def test_waiter_whose_lease_expires_gets_session_expired(pool: ThreadPoolExecutor) -> None:
    """A waiter whose lease runs out mid-wait raises SessionExpiredError once it is its turn,
    rather than report a lock it does not hold; its key is gone."""
    clock = FakeClock()
    store = Store(clock=clock)
    with Session(store, ttl=TTL) as s1, Session(store, ttl=TTL) as s2:
        m1, m2 = Mutex(s1, "l"), Mutex(s2, "l")
        m1.lock()
        s2.orphan()
        fut = pool.submit(m2.lock, TIMEOUT)
        assert _still_blocked(fut)
        clock.advance(TTL)  # s1 is kept alive, s2's lease expires
        assert store.get(lock_key(b"l/", s2.lease)).count == 0
        assert _still_blocked(fut)  # it waits on its predecessor, as clientv3 does
        m1.unlock()
        with pytest.raises(SessionExpiredError, match=r"^mutex: session is expired$"):
            fut.result(timeout=TIMEOUT)
        assert _keys(store, "l") == []


def test_holder_whose_lease_expires_loses_the_lock_to_the_waiter(
    pool: ThreadPoolExecutor,
) -> None:
    """The holder's lease running out deletes its key: the waiter gets the lock, and the old
    holder's fenced write fails."""
    clock = FakeClock()
    store = Store(clock=clock)
    with Session(store, ttl=TTL) as s1, Session(store, ttl=TTL) as s2:
        m1, m2 = Mutex(s1, "l"), Mutex(s2, "l")
        m1.lock()
        s1.orphan()
        fut = pool.submit(m2.lock, TIMEOUT)
        clock.advance(TTL - 1)
        assert _still_blocked(fut)
        clock.advance(1)
        fut.result(timeout=TIMEOUT)
        assert not _fenced_put(store, m1, "stale")
        assert _fenced_put(store, m2, "m2")


def test_lock_with_an_expired_lease_raises_lease_not_found() -> None:
    """Locking with a session whose lease is gone fails on the put: LeaseNotFoundError."""
    clock = FakeClock()
    store = Store(clock=clock)
    session = Session(store, ttl=TTL)
    session.orphan()
    clock.advance(TTL)
    with pytest.raises(LeaseNotFoundError):
        Mutex(session, "l").lock()
    assert _keys(store, "l") == []


# --------------------------------------------------------------------------- fencing and faces


def test_is_owner_holds_only_while_the_lock_is_held() -> None:
    """is_owner() compares the key's create revision: true while held, false before and after,
    and false for a new key of the same session created after an unlock."""
    store = Store()
    with Session(store) as session:
        mutex = Mutex(session, "l")
        assert not _fenced_put(store, mutex, "before")
        mutex.lock()
        first = mutex.is_owner()
        assert (first.key, first.operand) == (
            mutex.key,
            store.get(mutex.key).kvs[0].create_revision,
        )
        assert _fenced_put(store, mutex, "held")
        mutex.unlock()
        assert not _fenced_put(store, mutex, "after")
        Mutex(session, "l").lock()  # the same key again, at a new create revision
        assert not store.txn([first]).succeeded


def test_with_mutex_locks_and_unlocks() -> None:
    """``with mutex:`` holds the lock for the block and deletes the key after."""
    store = Store()
    with Session(store) as session:
        mutex = Mutex(session, "l")
        with mutex:
            assert _fenced_put(store, mutex, "inside")
        assert _keys(store, "l") == []


@pytest.mark.anyio
async def test_async_with_mutex_locks_and_unlocks() -> None:
    """``async with mutex:`` holds the lock for the block and deletes the key after."""
    store = Store()
    with Session(store) as session:
        mutex = Mutex(session, "l")
        async with mutex:
            assert _fenced_put(store, mutex, "inside")
        assert _keys(store, "l") == []


# --------------------------------------------------------------------------- Jepsen-style safety

THREADS = 8
TASKS = 8
ROUNDS = 30
#: How a round's session behaves: kept alive; orphaned once the lock is held (and the worker
#: stalls until its lease is gone, then tries its write); orphaned before locking.
KINDS = ("steady", "steady", "steady", "stale", "doomed")


class Ledger:
    """What the workers did, recorded under a lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        #: (read revision, value read, write revision) of every fenced write that succeeded.
        self.writes: list[tuple[int, int, int]] = []
        self.outcomes: dict[str, int] = {}
        self.errors: list[str] = []

    def count(self, outcome: str) -> None:
        with self.lock:
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    def wrote(self, read_rev: int, value: int, write_rev: int) -> None:
        with self.lock:
            self.writes.append((read_rev, value, write_rev))

    def fail(self, message: str) -> None:
        with self.lock:
            self.errors.append(message)


def _read_counter(store: Store) -> tuple[int, int]:
    r = store.get("counter")
    return int(r.kvs[0].value), r.header.revision


def _fenced_increment(store: Store, mutex: Mutex, value: int) -> tuple[bool, int]:
    r = store.txn([mutex.is_owner()], [Op.put("counter", str(value + 1))])
    return r.succeeded, r.header.revision


def _key_gone_step(store: Store, key: bytes) -> WaitFor | None:
    r = store.get(key)
    return WaitFor(key, revision=r.header.revision) if r.kvs else None


def _settle(ledger: Ledger, kind: str, store: Store, mutex: Mutex, read: tuple[int, int]) -> None:
    value, read_rev = read
    ok, write_rev = _fenced_increment(store, mutex, value)
    if ok:
        ledger.wrote(read_rev, value, write_rev)
    ledger.count(f"{kind}:{'wrote' if ok else 'fenced'}")
    if kind == "steady" and not ok:
        ledger.fail("a holder whose session is kept alive was fenced off")
    if kind == "stale" and ok:
        ledger.fail("a holder whose lease expired still wrote")


def _thread_worker(store: Store, ledger: Ledger, seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(ROUNDS):
        kind = rng.choice(KINDS)
        session = Session(store, ttl=TTL)
        mutex = Mutex(session, "jepsen")
        try:
            if kind == "doomed":
                session.orphan()
            try:
                mutex.lock(timeout=TIMEOUT)
            except (SessionExpiredError, LeaseNotFoundError) as exc:
                ledger.count(f"{kind}:{type(exc).__name__}")
                if store.get(lock_key(b"jepsen/", session.lease)).count:
                    ledger.fail("an expired waiter left its key")
                continue
            read = _read_counter(store)
            if kind == "stale":
                session.orphan()
                run(store, functools.partial(_key_gone_step, store, mutex.key), TIMEOUT)
            else:
                time.sleep(0)  # let the clock move
            _settle(ledger, kind, store, mutex, read)
            mutex.unlock()
        except Exception as exc:  # noqa: BLE001 - recorded, and the test fails on it
            ledger.fail(f"thread {seed}: {exc!r}")
        finally:
            session.close()


async def _task_worker(store: Store, ledger: Ledger, seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(ROUNDS):
        kind = rng.choice(KINDS)
        session = Session(store, ttl=TTL)
        mutex = Mutex(session, "jepsen")
        try:
            if kind == "doomed":
                session.orphan()
            try:
                with anyio.fail_after(TIMEOUT):
                    await mutex.alock()
            except (SessionExpiredError, LeaseNotFoundError) as exc:
                ledger.count(f"{kind}:{type(exc).__name__}")
                if store.get(lock_key(b"jepsen/", session.lease)).count:
                    ledger.fail("an expired waiter left its key")
                continue
            read = _read_counter(store)
            if kind == "stale":
                session.orphan()
                with anyio.fail_after(TIMEOUT):
                    await run_async(store, functools.partial(_key_gone_step, store, mutex.key))
            else:
                await anyio.lowlevel.checkpoint()
            _settle(ledger, kind, store, mutex, read)
            mutex.unlock()
        except Exception as exc:  # noqa: BLE001 - recorded, and the test fails on it
            ledger.fail(f"task {seed}: {exc!r}")
        finally:
            session.close()


def _drive(clock: FakeClock, stop: threading.Event, ledger: Ledger) -> None:
    """Move time on, 1 s at a time: kept-alive sessions renew, orphaned ones expire."""
    deadline = time.monotonic() + 60
    while not stop.is_set():
        if time.monotonic() > deadline:
            ledger.fail("the workers did not finish in 60 s")
            return
        clock.advance(1)
        time.sleep(0.001)


@pytest.mark.anyio
async def test_fenced_counter_has_no_lost_update_while_leases_expire() -> None:
    """Jepsen's lock test, with fencing: threads and tasks increment a counter under the lock
    with a txn guarded by ``is_owner()`` while the clock expires some holders and waiters.
    Every fenced write that succeeds saw every earlier one, and the counter counts them all."""
    clock = FakeClock()
    store = Store(clock=clock)
    store.put("counter", "0")
    ledger = Ledger()
    stop = threading.Event()
    driver = threading.Thread(target=_drive, args=(clock, stop, ledger))
    threads = [
        threading.Thread(target=_thread_worker, args=(store, ledger, seed))
        for seed in range(THREADS)
    ]
    driver.start()
    for t in threads:
        t.start()
    try:
        with anyio.fail_after(90):
            async with anyio.create_task_group() as tg:
                for seed in range(TASKS):
                    tg.start_soon(_task_worker, store, ledger, 1000 + seed)
            for t in threads:
                await anyio.to_thread.run_sync(t.join, 90)
    finally:
        stop.set()
        driver.join(TIMEOUT)
    assert not any(t.is_alive() for t in threads)
    assert ledger.errors == []
    writes = sorted(ledger.writes, key=lambda w: w[2])
    # No lost update: the counter is the number of successful fenced writes ...
    assert _read_counter(store)[0] == len(writes)
    # ... and each one read exactly the writes before it: no two holds overlapped.
    for i, (read_rev, value, write_rev) in enumerate(writes):
        assert value == i, (i, read_rev, value, write_rev)
        assert i == 0 or writes[i - 1][2] <= read_rev < write_rev
    out = ledger.outcomes
    assert out.get("steady:wrote", 0) > 0
    assert out.get("stale:fenced", 0) > 0
    assert out.get("stale:wrote", 0) == 0
    assert out.get("steady:fenced", 0) == 0
    assert sum(out.values()) == (THREADS + TASKS) * ROUNDS
    store._check()
