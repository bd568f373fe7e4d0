"""Queues (etcd recipes ``Queue`` and ``PriorityQueue``), from threads and from tasks."""

from __future__ import annotations

import collections

import anyio
import anyio.to_thread
import pytest

from etcdlite import Store
from etcdlite.concurrency import PriorityQueue, Queue
from etcdlite.concurrency._queue import MAX_PRIORITY

from ._recipe_util import BLOCKED, TIMEOUT, Threads, keys, still_blocked

#: Producers, and items per producer, of the concurrent tests (as many consumers as producers).
PRODUCERS = 4
ITEMS = 50


def _item(producer: int, n: int) -> bytes:
    return b"%d:%03d" % (producer, n)


def _produce(q: Queue, producer: int) -> None:
    for n in range(ITEMS):
        q.enqueue(_item(producer, n))


def _check_every_item_once_and_in_order(got: list[list[bytes]]) -> None:
    """Each item was taken exactly once; each consumer saw each producer's items in order."""
    flat = sorted(v for per_consumer in got for v in per_consumer)
    assert flat == sorted(_item(p, n) for p in range(PRODUCERS) for n in range(ITEMS))
    for per_consumer in got:
        by_producer: dict[bytes, list[bytes]] = collections.defaultdict(list)
        for v in per_consumer:
            by_producer[v.split(b":")[0]].append(v)
        assert all(items == sorted(items) for items in by_producer.values())


# --------------------------------------------------------------------------- Queue


def test_enqueue_writes_prefix_slash_number() -> None:
    """Enqueue writes <prefix>/<unix nanoseconds> (newUniqueKV) with the value."""
    store = Store()
    key = Queue(store, "jobs").enqueue("build")
    assert key.startswith(b"jobs/")
    assert key[5:].isdigit()
    assert store.get(key).kvs[0].value == b"build"


@pytest.mark.parametrize(
    ("keys_in_put_order", "expected"),
    [
        (["q/1", "q/2", "q/3"], [b"q/1", b"q/2", b"q/3"]),
        (["q/3", "q/1", "q/2"], [b"q/3", b"q/1", b"q/2"]),
    ],
    ids=["keys-in-order", "keys-out-of-order"],
)
def test_dequeue_is_fifo_by_revision_not_by_key(
    keys_in_put_order: list[str], expected: list[bytes]
) -> None:
    """Dequeue takes the lowest mod revision first (WithFirstRev), whatever the key order."""
    store = Store()
    for k in keys_in_put_order:
        store.put(k, k)
    q = Queue(store, "q")
    assert [q.dequeue(timeout=TIMEOUT) for _ in expected] == expected
    assert keys(store, "q/") == []


def test_dequeue_on_an_empty_queue_times_out_and_loses_nothing() -> None:
    """An empty queue blocks Dequeue; the timed-out call takes nothing, the next gets the item."""
    store = Store()
    q = Queue(store, "q")
    with pytest.raises(TimeoutError):
        q.dequeue(timeout=BLOCKED)
    q.enqueue("late")
    assert q.dequeue(timeout=TIMEOUT) == b"late"


def test_dequeue_waits_for_an_enqueue_from_another_thread() -> None:
    """A thread blocked in Dequeue gets the item enqueued after it started waiting."""
    store = Store()
    q = Queue(store, "q")
    got: list[bytes] = []
    with Threads() as ts:
        consumer = ts.start(lambda: got.append(q.dequeue(timeout=TIMEOUT)))
        assert still_blocked(consumer)
        store.put("other", "not in the queue")
        assert still_blocked(consumer)
        q.enqueue("v")
    assert got == [b"v"]


def test_queue_does_not_take_keys_of_a_longer_prefix() -> None:
    """Queue "jobs" reads only "jobs/": an item of queue "jobs2" is not its own."""
    store = Store()
    Queue(store, "jobs2").enqueue("theirs")
    with pytest.raises(TimeoutError):
        Queue(store, "jobs").dequeue(timeout=BLOCKED)
    assert Queue(store, "jobs2").dequeue(timeout=TIMEOUT) == b"theirs"


def test_fifo_across_producer_threads() -> None:
    """Items from several producer threads come out in the order they were written."""
    store = Store()
    q = Queue(store, "q")
    with Threads() as ts:
        for p in range(PRODUCERS):
            ts.start(_produce, q, p)
    written = [kv.value for kv in store.get("q/", prefix=True, sort_target="mod").kvs]
    assert len(written) == PRODUCERS * ITEMS
    assert [q.dequeue(timeout=TIMEOUT) for _ in written] == written


def test_concurrent_consumer_threads_never_share_an_item() -> None:
    """4 producers and 4 consumers at once: every item is dequeued exactly once."""
    store = Store()
    got: list[list[bytes]] = [[] for _ in range(PRODUCERS)]

    def consume(out: list[bytes]) -> None:
        q = Queue(store, "q")
        out.extend(q.dequeue(timeout=TIMEOUT) for _ in range(ITEMS))

    with Threads() as ts:
        for out in got:
            ts.start(consume, out)
        for p in range(PRODUCERS):
            ts.start(_produce, Queue(store, "q"), p)
    _check_every_item_once_and_in_order(got)
    assert keys(store, "q/") == []


@pytest.mark.anyio
async def test_concurrent_consumer_tasks_never_share_an_item() -> None:
    """Consumer tasks with producer threads: every item is dequeued exactly once."""
    store = Store()
    q = Queue(store, "q")
    got: list[list[bytes]] = [[] for _ in range(PRODUCERS)]

    async def consume(out: list[bytes]) -> None:
        out.extend([await q.adequeue() for _ in range(ITEMS)])

    with anyio.fail_after(TIMEOUT):
        async with anyio.create_task_group() as tg:
            for out in got:
                tg.start_soon(consume, out)
            for p in range(PRODUCERS):
                tg.start_soon(anyio.to_thread.run_sync, _produce, q, p)
    _check_every_item_once_and_in_order(got)


@pytest.mark.anyio
async def test_adequeue_waits_and_a_cancelled_one_takes_nothing() -> None:
    """adequeue blocks on an empty queue; cancelled, it takes nothing; then it gets the item."""
    store = Store()
    q = Queue(store, "q")
    with anyio.move_on_after(BLOCKED) as scope:
        await q.adequeue()
    assert scope.cancelled_caught
    got: list[bytes] = []
    with anyio.fail_after(TIMEOUT):
        async with anyio.create_task_group() as tg:

            async def consume() -> None:
                got.append(await q.adequeue())

            tg.start_soon(consume)
            await anyio.sleep(BLOCKED)
            assert got == []
            q.enqueue("v")
    assert got == [b"v"]


# --------------------------------------------------------------------------- PriorityQueue


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        ([("a", 3), ("b", 1), ("c", 2)], [b"b", b"c", b"a"]),
        ([("a", 7), ("b", 7), ("c", 7)], [b"a", b"b", b"c"]),
        ([("low", 10), ("hi", 0), ("mid", 9), ("hi2", 0)], [b"hi", b"hi2", b"mid", b"low"]),
        ([("max", MAX_PRIORITY), ("min", 0)], [b"min", b"max"]),
    ],
    ids=["by-priority", "fifo-within-a-priority", "mixed", "extremes"],
)
def test_priority_order(items: list[tuple[str, int]], expected: list[bytes]) -> None:
    """Lower priority numbers come out first; equal priorities in enqueue order."""
    store = Store()
    q = PriorityQueue(store, "pq")
    for value, priority in items:
        q.enqueue(value, priority)
    assert [q.dequeue(timeout=TIMEOUT) for _ in expected] == expected
    assert keys(store, "pq/") == []


def test_priority_keys_and_bookkeeping_keys_are_etcds() -> None:
    """Items live at <key>/%05d/%016d; each priority has a __<key>/%05d bookkeeping key."""
    store = Store()
    q = PriorityQueue(store, "pq")
    assert [q.enqueue("v", 5), q.enqueue("w", 5), q.enqueue("x", 12)] == [
        b"pq/00005/0000000000000000",
        b"pq/00005/0000000000000001",
        b"pq/00012/0000000000000000",
    ]
    assert keys(store, "__pq/") == [b"__pq/00005", b"__pq/00012"]


@pytest.mark.parametrize(
    ("priority", "error"),
    [(-1, ValueError), (MAX_PRIORITY + 1, ValueError), ("1", TypeError), (True, TypeError)],
    ids=["negative", "six-digits", "str", "bool"],
)
def test_priority_must_be_a_five_digit_int(priority: object, error: type[Exception]) -> None:
    """Priorities outside 0..99999 (which %05d would not sort) are refused, and nothing written."""
    store = Store()
    with pytest.raises(error):
        PriorityQueue(store, "pq").enqueue("v", priority)  # type: ignore[arg-type]
    assert store.revision == 1


def test_priority_dequeue_waits_for_an_item() -> None:
    """An empty priority queue blocks Dequeue until an item is enqueued."""
    store = Store()
    q = PriorityQueue(store, "pq")
    with pytest.raises(TimeoutError):
        q.dequeue(timeout=BLOCKED)
    got: list[bytes] = []
    with Threads() as ts:
        consumer = ts.start(lambda: got.append(q.dequeue(timeout=TIMEOUT)))
        assert still_blocked(consumer)
        q.enqueue("v", 1)
    assert got == [b"v"]


def _fill_priority_queue(q: PriorityQueue) -> None:
    """PRODUCERS * ITEMS items; item n of each producer has priority n % 3."""
    for p in range(PRODUCERS):
        for n in range(ITEMS):
            q.enqueue(_item(p, n), n % 3)


def _check_priority_consumers(got: list[list[bytes]]) -> None:
    """Each item taken exactly once; each consumer saw priorities in non-decreasing order."""
    flat = sorted(v for out in got for v in out)
    assert flat == sorted(_item(p, n) for p in range(PRODUCERS) for n in range(ITEMS))
    for out in got:
        priorities = [int(v.split(b":")[1]) % 3 for v in out]
        assert priorities == sorted(priorities)


def test_priority_queue_consumer_threads_never_share_an_item() -> None:
    """Concurrent consumer threads each take distinct items, lowest priorities first."""
    store = Store()
    q = PriorityQueue(store, "pq")
    _fill_priority_queue(q)
    got: list[list[bytes]] = [[] for _ in range(PRODUCERS)]

    def consume(out: list[bytes]) -> None:
        out.extend(q.dequeue(timeout=TIMEOUT) for _ in range(ITEMS))

    with Threads() as ts:
        for out in got:
            ts.start(consume, out)
    _check_priority_consumers(got)


@pytest.mark.anyio
async def test_priority_queue_consumer_tasks_never_share_an_item() -> None:
    """Concurrent consumer tasks each take distinct items, lowest priorities first."""
    store = Store()
    q = PriorityQueue(store, "pq")
    _fill_priority_queue(q)
    got: list[list[bytes]] = [[] for _ in range(PRODUCERS)]

    async def consume(out: list[bytes]) -> None:
        out.extend([await q.adequeue() for _ in range(ITEMS)])

    with anyio.fail_after(TIMEOUT):
        async with anyio.create_task_group() as tg:
            for out in got:
                tg.start_soon(consume, out)
    _check_priority_consumers(got)
