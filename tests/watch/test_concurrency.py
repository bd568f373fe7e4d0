"""Many watchers and writers at once, from threads and from asyncio and trio tasks.

Every loop is bounded and every thread joined; each run ends with every watch read to a
progress notification at the final revision, then checked by the validator.
"""

from __future__ import annotations

import random
import threading
import time
from typing import TYPE_CHECKING

import anyio
import anyio.lowlevel
import pytest

from etcdlite import Compare, Op, Store, Watch, WatchResponse

from .validator import Recorder, WatchLog, WatchSpec, validate

if TYPE_CHECKING:
    from etcdlite import RequestOp

WRITERS = 4
WRITES = 150  # per writer
TIMEOUT = 60.0  # the bound on every wait below; never reached when things work

# (Store.watch keywords, the validator's spec)
WATCHES = [
    ({"key": "k/1"}, WatchSpec(b"k/1")),
    ({"key": "k/", "prefix": True}, WatchSpec(b"k/", b"k0")),
    ({"key": "k/", "prefix": True, "prev_kv": True}, WatchSpec(b"k/", b"k0", prev_kv=True)),
    ({"key": "k/2", "range_end": "k/4"}, WatchSpec(b"k/2", b"k/4")),
    ({"key": "k/3", "from_key": True}, WatchSpec(b"k/3", b"\0")),
    ({"key": "k/", "prefix": True, "filters": ["noput"]}, WatchSpec(b"k/", b"k0", no_put=True)),
]


def _ops(seed: int) -> list[RequestOp]:
    rng = random.Random(seed)
    out: list[RequestOp] = []
    for i in range(WRITES):
        key = f"k/{rng.randrange(5)}"
        roll = rng.random()
        if roll < 0.6:
            out.append(Op.put(key, f"{seed}-{i}"))
        elif roll < 0.8:
            out.append(Op.delete(key))
        else:
            other = f"k/{rng.randrange(5, 8)}"
            out.append(
                Op.txn([Compare.version(key) > 0], [Op.put(key, "t"), Op.put(other, "u")], [])
            )
    return out


def _wait_for_final(store: Store, logs: list[WatchLog], watches: list[Watch]) -> None:
    """Ask every watch for progress and wait (bounded) until each reader saw it at the end."""
    final = store.revision
    for w in watches:
        w.request_progress()
    deadline = time.monotonic() + TIMEOUT
    while not all(
        any(r.is_progress_notify and r.header.revision == final for r in list(log.responses))
        for log in logs
    ):
        assert time.monotonic() < deadline, "a reader never caught up"
        time.sleep(0.001)


@pytest.mark.parametrize("queue_size", [2, 128])
def test_threads_many_watchers_and_writers(queue_size: int) -> None:
    """Reader threads (some slow) and writer threads: every watch passes the validator."""
    store = Store(watch_queue_size=queue_size)
    rec = Recorder(store)
    watches: list[Watch] = []
    logs: list[WatchLog] = []
    readers: list[threading.Thread] = []
    for n in range(3):  # three of each shape
        for kwargs, spec in WATCHES:
            w = store.watch(**kwargs)  # type: ignore[arg-type]
            log = WatchLog(spec)
            slow = n == 0

            def read(w: Watch = w, log: WatchLog = log, slow: bool = slow) -> None:
                for r in w.iter(timeout=TIMEOUT):
                    log.responses.append(r)
                    if slow:
                        time.sleep(0.0002)

            watches.append(w)
            logs.append(log)
            readers.append(threading.Thread(target=read))
    writers = [
        threading.Thread(target=lambda seed=seed: [rec.do(op) for op in _ops(seed)])
        for seed in range(WRITERS)
    ]
    for t in readers + writers:
        t.start()
    for t in writers:
        t.join(TIMEOUT)
        assert not t.is_alive()
    _wait_for_final(store, logs, watches)
    for w in watches:
        w.cancel()
    for t in readers:
        t.join(TIMEOUT)
        assert not t.is_alive()
    store._check()
    validate(rec.history, logs)
    assert all(log.responses[-1].canceled for log in logs)


def test_writers_never_wait_for_readers_that_do_not_read() -> None:
    """Watches nobody reads cost writers nothing: the writes finish, memory stays bounded."""
    store = Store(watch_queue_size=4)
    watches = [store.watch("k/", prefix=True) for _ in range(50)]
    rec = Recorder(store)
    writers = [
        threading.Thread(target=lambda seed=seed: [rec.do(op) for op in _ops(seed)])
        for seed in range(WRITERS)
    ]
    for t in writers:
        t.start()
    for t in writers:
        t.join(TIMEOUT)
        assert not t.is_alive()
    assert all(w.statistics().buffered <= 4 for w in watches)
    assert store._hub.index.count == 0  # every one of them fell behind, out of the writers' way
    log = WatchLog(WatchSpec(b"k/", b"k0"))
    watches[0].request_progress()
    while True:
        try:
            r = watches[0].receive_nowait()
        except anyio.WouldBlock:
            break
        log.responses.append(r)
    assert log.responses[-1].header.revision == store.revision
    validate(rec.history, [log])


def test_threads_share_one_stream() -> None:
    """Several threads taking from one stream get every response exactly once between them."""
    store = Store(watch_queue_size=3)
    stream = store.watch_stream()
    stream.create("k/", prefix=True)
    got: list[list[WatchResponse]] = [[], [], []]

    def take(out: list[WatchResponse]) -> None:
        out.extend(stream.iter(timeout=TIMEOUT))

    takers = [threading.Thread(target=take, args=(out,)) for out in got]
    for t in takers:
        t.start()
    rec = Recorder(store)
    for op in _ops(7):
        rec.do(op)
    total = len(rec.history.matching(WatchSpec(b"k/", b"k0"), 2, store.revision))
    deadline = time.monotonic() + TIMEOUT
    while sum(len(r.events) for out in got for r in list(out)) < total:
        assert time.monotonic() < deadline, "responses went missing"
        time.sleep(0.001)
    stream.close()
    for t in takers:
        t.join(TIMEOUT)
        assert not t.is_alive()
    seen = [(e.kv.mod_revision, e.kv.key) for out in got for r in out for e in r.events]
    assert len(seen) == len(set(seen)) == total


@pytest.mark.anyio
async def test_tasks_many_watchers_and_writers() -> None:
    """Reader tasks, writer tasks and writer threads: every watch passes the validator."""
    store = Store(watch_queue_size=3)
    rec = Recorder(store)
    watches: list[Watch] = []
    logs: list[WatchLog] = []

    async def read(w: Watch, log: WatchLog) -> None:
        async for r in w:
            log.responses.append(r)

    async def write(seed: int) -> None:
        for op in _ops(seed):
            rec.do(op)
            await anyio.lowlevel.checkpoint()

    with anyio.fail_after(TIMEOUT):
        async with anyio.create_task_group() as tg:
            for _ in range(4):
                for kwargs, spec in WATCHES:
                    w = store.watch(**kwargs)  # type: ignore[arg-type]
                    log = WatchLog(spec)
                    watches.append(w)
                    logs.append(log)
                    tg.start_soon(read, w, log)
            async with anyio.create_task_group() as writers:
                writers.start_soon(write, 0)
                writers.start_soon(write, 1)
                writers.start_soon(anyio.to_thread.run_sync, lambda: [rec.do(o) for o in _ops(2)])
                writers.start_soon(anyio.to_thread.run_sync, lambda: [rec.do(o) for o in _ops(3)])
            final = store.revision
            for w in watches:
                w.request_progress()
            while not all(
                any(r.is_progress_notify and r.header.revision == final for r in log.responses)
                for log in logs
            ):
                await anyio.sleep(0.001)
            for w in watches:
                w.cancel()
    store._check()
    validate(rec.history, logs)
    assert all(log.responses[-1].canceled for log in logs)


@pytest.mark.anyio
async def test_task_woken_by_a_thread_and_by_store_close() -> None:
    """A task waiting in areceive() is woken by a write from a thread, and by close()."""
    store = Store()
    w = store.watch("k")
    assert (await w.areceive()).created
    with anyio.fail_after(TIMEOUT):
        async with anyio.create_task_group() as tg:
            tg.start_soon(anyio.to_thread.run_sync, lambda: store.put("k", "v"))
            r = await w.areceive()
        assert r.events[0].kv.value == b"v"
        async with anyio.create_task_group() as tg:
            tg.start_soon(anyio.to_thread.run_sync, store.close)
            r = await w.areceive()
        assert r.cancel_reason == "etcdserver: server stopped"
        with pytest.raises(anyio.EndOfStream):
            await w.areceive()
