"""The readers-writer lock (etcd recipe ``RWMutex``), from threads and from tasks."""

from __future__ import annotations

import contextlib
import threading

import anyio
import anyio.lowlevel
import pytest

from etcdlite import Store
from etcdlite.concurrency import RWMutex, Session
from etcdlite.testing import FakeClock

from ._recipe_util import BLOCKED, TIMEOUT, Threads, keys, still_blocked, wait_until

#: Holders and rounds per holder of the exclusion tests.
READERS = 4
WRITERS = 2
ROUNDS = 10


def _take(m: RWMutex, kind: str, timeout: float | None = TIMEOUT) -> None:
    if kind == "read":
        m.rlock(timeout)
    else:
        m.lock(timeout)


def _drop(m: RWMutex, kind: str) -> None:
    if kind == "read":
        m.runlock()
    else:
        m.unlock()


@pytest.mark.parametrize(
    ("first", "second", "blocks"),
    [
        ("read", "read", False),
        ("read", "write", True),
        ("write", "read", True),
        ("write", "write", True),
    ],
    ids=["readers-share", "reader-excludes-writer", "writer-excludes-reader", "writers-exclude"],
)
def test_who_waits_for_whom(first: str, second: str, blocks: bool) -> None:
    """Readers share the lock; a writer excludes, and is excluded by, anyone holding it."""
    store = Store()
    with Session(store) as s1, Session(store) as s2:
        holder, other = RWMutex(s1, "rw"), RWMutex(s2, "rw")
        _take(holder, first)
        if blocks:
            with pytest.raises(TimeoutError):
                _take(other, second, BLOCKED)
            assert other.key is None
            assert len(keys(store, "rw/")) == 1  # the waiter that gave up deleted its key
            with Threads() as ts:
                waiter = ts.start(_take, other, second)
                assert still_blocked(waiter)
                _drop(holder, first)
        else:
            _take(other, second, BLOCKED)
            _drop(holder, first)
        assert other.key is not None
        assert other.key.startswith(b"rw/%s/" % second.encode())
        _drop(other, second)
        assert keys(store, "rw/") == []


def test_keys_are_ephemeral_on_the_session_lease() -> None:
    """Each holder's key is <prefix>/read/<n> or <prefix>/write/<n>, on its session's lease."""
    store = Store()
    with Session(store) as s:
        reader, writer = RWMutex(s, "rw"), RWMutex(s, "other")
        reader.rlock(timeout=TIMEOUT)
        writer.lock(timeout=TIMEOUT)
        for m, part in ((reader, b"rw/read/"), (writer, b"other/write/")):
            assert m.key is not None
            assert m.key.startswith(part)
            assert m.key[len(part) :].isdigit()
            assert store.get(m.key).kvs[0].lease == s.lease


def test_a_reader_queues_behind_a_waiting_writer() -> None:
    """A reader that arrives while a writer waits blocks too (writers do not starve), and gets
    the lock after the writer is done."""
    store = Store()
    order: list[str] = []
    with Session(store) as s, Threads() as ts:
        first, writer, late = RWMutex(s, "rw"), RWMutex(s, "rw"), RWMutex(s, "rw")
        first.rlock(timeout=TIMEOUT)

        def write() -> None:
            writer.lock(timeout=TIMEOUT)
            order.append("writer")
            writer.unlock()

        def read_late() -> None:
            late.rlock(timeout=TIMEOUT)
            order.append("late reader")
            late.runlock()

        w = ts.start(write)
        wait_until(lambda: writer.key is not None, "the writer's key")
        r = ts.start(read_late)
        wait_until(lambda: late.key is not None, "the late reader's key")
        assert still_blocked(w)
        assert still_blocked(r)
        first.runlock()
    assert order == ["writer", "late reader"]


@pytest.mark.parametrize(
    ("calls", "message"),
    [
        (["runlock"], "holds no read lock"),
        (["unlock"], "holds no write lock"),
        (["rlock", "unlock"], "holds no write lock"),
        (["lock", "runlock"], "holds no read lock"),
        (["rlock", "lock"], "already holds a read lock"),
        (["lock", "rlock"], "already holds a write lock"),
    ],
)
def test_misuse_is_a_runtime_error(calls: list[str], message: str) -> None:
    """Releasing what is not held, or locking twice with one object, raises RuntimeError."""
    store = Store()
    with Session(store) as s:
        m = RWMutex(s, "rw")
        *setup, last = calls
        for name in setup:
            getattr(m, name)()
        revision = store.revision
        with pytest.raises(RuntimeError, match=message):
            getattr(m, last)()
        assert store.revision == revision


class _Holders:
    """Who holds the lock right now; each entry checks that it may (and the counters can fail)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.readers = self.writers = 0
        self.max_readers = 0
        self.rounds = 0

    def enter(self, kind: str) -> None:
        with self.lock:
            assert self.writers == 0, "someone holds the lock exclusively"
            if kind == "write":
                assert self.readers == 0, "a writer got in while readers hold the lock"
                self.writers += 1
            else:
                self.readers += 1
                self.max_readers = max(self.max_readers, self.readers)

    def leave(self, kind: str) -> None:
        with self.lock:
            if kind == "write":
                self.writers -= 1
            else:
                self.readers -= 1
            self.rounds += 1


def _kinds() -> list[str]:
    return ["read"] * READERS + ["write"] * WRITERS


def test_threads_readers_share_and_writers_exclude() -> None:
    """Reader and writer threads in bounded loops: a writer is always alone."""
    store = Store()
    holders = _Holders()

    def worker(m: RWMutex, kind: str) -> None:
        for _ in range(ROUNDS):
            _take(m, kind)
            holders.enter(kind)
            threading.Event().wait(0.001)  # hold it a moment so that others pile up
            holders.leave(kind)
            _drop(m, kind)

    with Session(store) as s, Threads() as ts:
        for kind in _kinds():
            ts.start(worker, RWMutex(s, "rw"), kind)
    assert holders.rounds == (READERS + WRITERS) * ROUNDS
    assert holders.readers == holders.writers == 0
    assert keys(store, "rw/") == []


@pytest.mark.anyio
async def test_tasks_readers_share_and_writers_exclude() -> None:
    """Reader and writer tasks (and one writer thread) in bounded loops: a writer is alone."""
    store = Store()
    holders = _Holders()

    async def worker(m: RWMutex, kind: str) -> None:
        for _ in range(ROUNDS):
            if kind == "read":
                await m.arlock()
            else:
                await m.alock()
            holders.enter(kind)
            await anyio.sleep(0.001)
            holders.leave(kind)
            _drop(m, kind)

    def thread_writer(m: RWMutex) -> None:
        for _ in range(ROUNDS):
            m.lock(TIMEOUT)
            holders.enter("write")
            holders.leave("write")
            m.unlock()

    with Session(store) as s, anyio.fail_after(TIMEOUT):
        async with anyio.create_task_group() as tg:
            for kind in _kinds():
                tg.start_soon(worker, RWMutex(s, "rw"), kind)
            tg.start_soon(anyio.to_thread.run_sync, thread_writer, RWMutex(s, "rw"))
    assert holders.rounds == (READERS + WRITERS + 1) * ROUNDS
    assert keys(store, "rw/") == []


@pytest.mark.anyio
async def test_tasks_readers_hold_the_lock_together() -> None:
    """Two reader tasks hold the lock at the same time."""
    store = Store()
    holders = _Holders()
    both_in = anyio.Event()

    async def reader(m: RWMutex) -> None:
        await m.arlock()
        holders.enter("read")
        if holders.readers == 2:
            both_in.set()
        await both_in.wait()
        holders.leave("read")
        m.runlock()

    with Session(store) as s, anyio.fail_after(TIMEOUT):
        async with anyio.create_task_group() as tg:
            for _ in range(2):
                tg.start_soon(reader, RWMutex(s, "rw"))
    assert holders.max_readers == 2


@pytest.mark.anyio
async def test_cancelled_alock_deletes_its_key() -> None:
    """A task cancelled while waiting for the lock deletes its key: it does not block others."""
    store = Store()
    with Session(store) as s:
        holder, waiter = RWMutex(s, "rw"), RWMutex(s, "rw")
        await holder.arlock()
        with anyio.move_on_after(BLOCKED) as scope:
            await waiter.alock()
        assert scope.cancelled_caught
        assert waiter.key is None
        assert keys(store, "rw/") == [holder.key]


@pytest.mark.parametrize("kind", ["read", "write"])
def test_expired_writer_session_releases_a_waiting_thread(kind: str) -> None:
    """A writer whose session expires loses its key with the lease; the waiter then gets in."""
    clock = FakeClock()
    store = Store(clock=clock)
    with Session(store, ttl=30) as doomed, Session(store, ttl=30) as alive:
        holder, waiter = RWMutex(doomed, "rw"), RWMutex(alive, "rw")
        holder.lock(timeout=TIMEOUT)
        with Threads() as ts:
            t = ts.start(_take, waiter, kind)
            assert still_blocked(t)
            doomed.orphan()
            clock.advance(doomed.ttl)
        assert waiter.key is not None
        assert keys(store, "rw/") == [waiter.key]
        assert not alive.done()


@pytest.mark.anyio
async def test_expired_reader_session_releases_a_waiting_task() -> None:
    """A reader whose session expires lets a writer task waiting in alock through."""
    clock = FakeClock()
    store = Store(clock=clock)
    with contextlib.ExitStack() as stack:
        doomed = stack.enter_context(Session(store, ttl=30))
        alive = stack.enter_context(Session(store, ttl=30))
        holder, writer = RWMutex(doomed, "rw"), RWMutex(alive, "rw")
        holder.rlock(timeout=TIMEOUT)
        got = anyio.Event()

        async def write() -> None:
            await writer.alock()
            got.set()

        with anyio.fail_after(TIMEOUT):
            async with anyio.create_task_group() as tg:
                tg.start_soon(write)
                await anyio.sleep(BLOCKED)
                assert not got.is_set()
                doomed.orphan()
                clock.advance(doomed.ttl)
                await got.wait()
        assert keys(store, "rw/") == [writer.key]
