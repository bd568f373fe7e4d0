"""Barriers (etcd recipes ``Barrier`` and ``DoubleBarrier``), from threads and from tasks."""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING

import anyio
import anyio.to_thread
import pytest

from etcdlite import Store
from etcdlite.concurrency import (
    Barrier,
    DoubleBarrier,
    KeyExistsError,
    Session,
    TooManyClientsError,
)
from etcdlite.testing import FakeClock

from ._recipe_util import BLOCKED, TIMEOUT, RacingStore, Threads, keys, still_blocked, wait_until

if TYPE_CHECKING:
    from collections.abc import Callable

# --------------------------------------------------------------------------- Barrier


def test_hold_twice_is_key_exists_and_release_is_idempotent() -> None:
    """Hold creates the key once (ErrKeyExists after); Release deletes it, twice is harmless."""
    store = Store()
    barrier = Barrier(store, "b")
    barrier.hold()
    with pytest.raises(KeyExistsError, match="key already exists"):
        Barrier(store, "b").hold()
    assert store.get("b").kvs[0].lease == 0
    barrier.release()
    barrier.release()
    assert store.get("b").count == 0


def test_wait_on_a_barrier_never_held_returns_at_once() -> None:
    """Wait with no key assumes the barrier was released, as etcd's."""
    Barrier(Store(), "b").wait(timeout=TIMEOUT)


def test_wait_times_out_while_held() -> None:
    """A held barrier blocks Wait until the timeout, and stays held."""
    store = Store()
    barrier = Barrier(store, "b")
    barrier.hold()
    with pytest.raises(TimeoutError):
        barrier.wait(timeout=BLOCKED)
    assert store.get("b").count == 1


def test_threads_wait_until_release() -> None:
    """Every thread blocked in Wait returns once the barrier is released, not before."""
    store = Store()
    barrier = Barrier(store, "b")
    barrier.hold()
    passed: list[int] = []

    def waiter(i: int) -> None:
        barrier.wait(timeout=TIMEOUT)
        passed.append(i)

    with Threads() as ts:
        threads = [ts.start(waiter, i) for i in range(3)]
        assert all(still_blocked(t) for t in threads)
        assert passed == []
        barrier.release()
    assert sorted(passed) == [0, 1, 2]


def test_a_put_to_the_held_key_does_not_release() -> None:
    """Only the key's deletion releases: rewriting it wakes the waiter, which waits again."""
    store = Store()
    barrier = Barrier(store, "b")
    barrier.hold()
    with Threads() as ts:
        waiter = ts.start(lambda: barrier.wait(timeout=TIMEOUT))
        store.put("b", "rewritten")
        assert still_blocked(waiter)
        barrier.release()


@pytest.mark.anyio
async def test_tasks_wait_until_release() -> None:
    """Tasks blocked in wait_async return once a thread releases the barrier, not before."""
    store = Store()
    barrier = Barrier(store, "b")
    barrier.hold()
    passed: list[int] = []

    async def waiter(i: int) -> None:
        await barrier.wait_async()
        passed.append(i)

    with anyio.fail_after(TIMEOUT):
        async with anyio.create_task_group() as tg:
            for i in range(3):
                tg.start_soon(waiter, i)
            await anyio.sleep(BLOCKED)
            assert passed == []
            await anyio.to_thread.run_sync(barrier.release)
    assert sorted(passed) == [0, 1, 2]


# --------------------------------------------------------------------------- DoubleBarrier


def _participants(store: Store, n: int, stack: contextlib.ExitStack) -> list[DoubleBarrier]:
    """``n`` participants of the double barrier ``db`` (count ``n``), each with its session."""
    return [DoubleBarrier(stack.enter_context(Session(store)), "db", n) for _ in range(n)]


@pytest.mark.parametrize("n", [1, 2, 4])
def test_threads_pass_enter_only_when_all_arrived_and_leave_only_when_all_left(n: int) -> None:
    """Enter blocks until the n-th participant enters; Leave until all n have left."""
    store = Store()
    entered: list[int] = []
    left: list[int] = []
    lock = threading.Lock()
    with contextlib.ExitStack() as stack, Threads() as ts:
        parts = _participants(store, n, stack)
        leave_now = threading.Event()

        def run(i: int) -> None:
            parts[i].enter(timeout=TIMEOUT)
            with lock:
                entered.append(i)
            assert leave_now.wait(TIMEOUT)
            if i != n - 1:  # the last one leaves only once the others are blocked in leave
                parts[i].leave(timeout=TIMEOUT)
                with lock:
                    left.append(i)

        threads = [ts.start(run, i) for i in range(n - 1)]
        wait_until(lambda: len(keys(store, "db/waiters/")) == n - 1, "n - 1 waiters")
        assert all(still_blocked(t) for t in threads)
        assert entered == []
        assert keys(store, "db/ready") == []
        last = ts.start(run, n - 1)
        wait_until(lambda: len(entered) == n, "every participant to enter")
        assert keys(store, "db/ready") == [b"db/ready"]
        leave_now.set()
        last.join(TIMEOUT)
        # every participant but the lowest deletes its key on leaving; the last has not left
        remaining = min(n, 2)
        wait_until(lambda: len(keys(store, "db/waiters/")) == remaining, "the others to leave")
        assert left == []
        assert all(still_blocked(t) for t in threads)
        parts[n - 1].leave(timeout=TIMEOUT)
    assert sorted(left) == list(range(n - 1))
    assert keys(store, "db/") == []


@pytest.mark.anyio
async def test_tasks_pass_enter_only_when_all_arrived_and_leave_only_when_all_left() -> None:
    """The same from tasks: aenter blocks until 3 entered, aleave until all 3 left."""
    store = Store()
    n = 3
    entered: list[int] = []
    left: list[int] = []

    async def until(predicate: Callable[[], bool]) -> None:
        while not predicate():
            await anyio.sleep(0.001)

    with contextlib.ExitStack() as stack:
        parts = _participants(store, n, stack)
        leave_now = anyio.Event()

        async def run(i: int) -> None:
            await parts[i].aenter()
            entered.append(i)
            await leave_now.wait()
            if i != n - 1:
                await parts[i].aleave()
                left.append(i)

        with anyio.fail_after(TIMEOUT):
            async with anyio.create_task_group() as tg:
                for i in range(n - 1):
                    tg.start_soon(run, i)
                await until(lambda: len(keys(store, "db/waiters/")) == n - 1)
                await anyio.sleep(BLOCKED)
                assert entered == []
                tg.start_soon(run, n - 1)
                await until(lambda: len(entered) == n)
                leave_now.set()
                # the lowest stays, waiting for the highest (the last, which has not left)
                await until(lambda: len(keys(store, "db/waiters/")) == 2)
                await anyio.sleep(BLOCKED)
                assert left == []
                await parts[n - 1].aleave()
    assert sorted(left) == list(range(n - 1))
    assert keys(store, "db/") == []


def test_participant_beyond_count_is_refused_before_writing() -> None:
    """With count participants in, Enter fails with ErrTooManyClients and writes nothing."""
    store = Store()
    with contextlib.ExitStack() as stack:
        a, b = _participants(store, 2, stack)
        with Threads() as ts:
            ts.start(lambda: a.enter(timeout=TIMEOUT))
            b.enter(timeout=TIMEOUT)
        extra = DoubleBarrier(stack.enter_context(Session(store)), "db", 2)
        revision = store.revision
        with pytest.raises(TooManyClientsError, match="too many clients"):
            extra.enter(timeout=TIMEOUT)
        assert store.revision == revision
        assert extra.my_key is None


def test_participant_overtaken_after_its_check_deletes_its_key() -> None:
    """Two others complete the count between a participant's check and its write: it deletes its
    own key and fails with ErrTooManyClients, leaving the barrier as the others made it."""
    store = RacingStore()
    with contextlib.ExitStack() as stack:
        others = [stack.enter_context(Session(store)) for _ in range(2)]
        late = DoubleBarrier(stack.enter_context(Session(store)), "db", 2)

        def overtake() -> None:
            for i, session in enumerate(others):
                store.put(f"db/waiters/{i}", "", lease=session.lease)

        store.hooks["get", 1] = overtake  # after the check counted nobody
        with pytest.raises(TooManyClientsError):
            late.enter(timeout=TIMEOUT)
        assert keys(store, "db/waiters/") == [b"db/waiters/0", b"db/waiters/1"]
        assert late.my_key is None


def test_enter_twice_without_leaving_is_an_error() -> None:
    """One DoubleBarrier object is one participant: a second enter is refused."""
    store = Store()
    with Session(store) as session:
        barrier = DoubleBarrier(session, "db", 1)
        barrier.enter(timeout=TIMEOUT)
        with pytest.raises(RuntimeError, match="already entered"):
            barrier.enter(timeout=TIMEOUT)


@pytest.mark.parametrize("count", [0, -1])
def test_count_must_be_positive(count: int) -> None:
    """A barrier gathers at least one participant."""
    with Session(Store()) as session, pytest.raises(ValueError, match="at least 1"):
        DoubleBarrier(session, "db", count)


def test_a_ready_key_older_than_the_participant_does_not_let_it_in() -> None:
    """Enter waits for a put of <key>/ready after its own key: a leftover one does not count."""
    store = Store()
    store.put("db/ready", "")
    with contextlib.ExitStack() as stack:
        first, second = _participants(store, 2, stack)
        with pytest.raises(TimeoutError):
            first.enter(timeout=BLOCKED)
        with Threads() as ts:
            ts.start(lambda: first.enter(timeout=TIMEOUT))
            wait_until(lambda: first.my_key is not None, "the first participant")
            second.enter(timeout=TIMEOUT)


def test_enter_that_times_out_deletes_its_key() -> None:
    """A participant that gives up is not counted: its waiter key is gone."""
    store = Store()
    with Session(store) as session:
        barrier = DoubleBarrier(session, "db", 2)
        with pytest.raises(TimeoutError):
            barrier.enter(timeout=BLOCKED)
        assert keys(store, "db/waiters/") == []
        assert barrier.my_key is None


@pytest.mark.anyio
async def test_cancelled_aenter_deletes_its_key() -> None:
    """A cancelled task's participant key is deleted, as a timed-out thread's."""
    store = Store()
    with Session(store) as session:
        barrier = DoubleBarrier(session, "db", 2)
        with anyio.move_on_after(BLOCKED) as scope:
            await barrier.aenter()
        assert scope.cancelled_caught
        assert keys(store, "db/waiters/") == []


def test_expired_participant_no_longer_holds_up_leave() -> None:
    """The lowest participant waits in Leave for the others; one whose session expires has its
    key deleted with the lease, and the lowest then leaves alone and closes the barrier."""
    clock = FakeClock()
    store = Store(clock=clock)
    with Session(store, ttl=30) as alive, Session(store, ttl=30) as doomed:
        lowest = DoubleBarrier(alive, "db", 2)
        highest = DoubleBarrier(doomed, "db", 2)
        with Threads() as ts:
            ts.start(lambda: lowest.enter(timeout=TIMEOUT))
            wait_until(lambda: lowest.my_key is not None, "the first participant")
            highest.enter(timeout=TIMEOUT)
        with Threads() as ts:
            leaving = ts.start(lambda: lowest.leave(timeout=TIMEOUT))
            assert still_blocked(leaving)
            doomed.orphan()
            clock.advance(doomed.ttl)
        assert keys(store, "db/") == []
        assert not alive.done()


def test_leave_without_entering_waits_for_the_barrier_to_empty() -> None:
    """A process that never entered returns from Leave once the participants have left."""
    store = Store()
    with contextlib.ExitStack() as stack:
        (only,) = _participants(store, 1, stack)
        only.enter(timeout=TIMEOUT)
        outsider = DoubleBarrier(stack.enter_context(Session(store)), "db", 1)
        with pytest.raises(TimeoutError):
            outsider.leave(timeout=BLOCKED)
        only.leave(timeout=TIMEOUT)
        outsider.leave(timeout=TIMEOUT)
        assert keys(store, "db/") == []


def _enter_and_leave(participant: DoubleBarrier) -> None:
    participant.enter(timeout=TIMEOUT)
    participant.leave(timeout=TIMEOUT)


def test_the_same_barrier_gathers_a_second_round() -> None:
    """After a full round (ready deleted by the last out), the same key works again."""
    store = Store()
    with contextlib.ExitStack() as stack:
        parts = _participants(store, 2, stack)
        for _ in range(2):
            with Threads() as ts:
                for p in parts:
                    ts.start(_enter_and_leave, p)
            assert keys(store, "db/") == []
