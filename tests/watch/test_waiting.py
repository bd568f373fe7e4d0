"""The waiting bridge: one pollable, waited on from threads and from asyncio and trio tasks."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import anyio
import anyio.lowlevel
import pytest

from etcdlite._waiting import NOT_READY, NotReady, wait, wait_async

if TYPE_CHECKING:
    from collections.abc import Callable


class Slot:
    """A pollable holding at most one value, with its own lock (as the store has one)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.value: object = None
        self.wakers: list[Callable[[], None]] = []
        self.forgotten = 0

    def poll(self, waker: Callable[[], None] | None) -> object | NotReady:
        with self.lock:
            if self.value is not None:
                value, self.value = self.value, None
                return value
            if waker is not None:
                self.wakers.append(waker)
            return NOT_READY

    def forget(self, waker: Callable[[], None]) -> None:
        with self.lock:
            self.forgotten += 1
            if waker in self.wakers:
                self.wakers.remove(waker)

    def put(self, value: object) -> None:
        with self.lock:
            self.value = value
            wakers, self.wakers = self.wakers, []
            for w in wakers:
                w()


def test_wait_returns_at_once_when_ready() -> None:
    """A ready pollable never blocks."""
    slot = Slot()
    slot.put(1)
    assert wait(slot) == 1


def test_wait_blocks_until_another_thread_puts() -> None:
    """The waker, called from a producer thread, releases the blocked thread."""
    slot = Slot()
    producer = threading.Thread(target=lambda: slot.put("x"))
    waiting = threading.Event()
    result: list[object] = []

    def consumer() -> None:
        waiting.set()
        result.append(wait(slot, timeout=30))

    t = threading.Thread(target=consumer)
    t.start()
    waiting.wait(10)
    producer.start()
    producer.join(10)
    t.join(10)
    assert result == ["x"]


def test_wait_timeout_forgets_its_waker() -> None:
    """A timeout raises TimeoutError and removes the waker, so wakers do not pile up."""
    slot = Slot()
    for _ in range(3):
        with pytest.raises(TimeoutError):
            wait(slot, timeout=0.001)
    assert slot.wakers == []
    assert slot.forgotten == 3
    with pytest.raises(TimeoutError):
        wait(slot, timeout=0)


@pytest.mark.anyio
async def test_wait_async_same_thread_and_other_thread() -> None:
    """A task is woken by a producer on its own loop and by one on another thread."""
    slot = Slot()
    async with anyio.create_task_group() as tg:
        tg.start_soon(anyio.to_thread.run_sync, slot.put, "from a thread")
        assert await wait_async(slot) == "from a thread"

        async def produce() -> None:
            await anyio.lowlevel.checkpoint()
            slot.put("from a task")

        tg.start_soon(produce)
        assert await wait_async(slot) == "from a task"


@pytest.mark.anyio
async def test_wait_async_cancellation_forgets_the_waker() -> None:
    """A cancelled wait leaves no waker behind."""
    slot = Slot()
    with anyio.move_on_after(0.01):
        await wait_async(slot)
    assert slot.wakers == []
    assert slot.forgotten == 1


def test_waking_a_finished_loop_is_harmless() -> None:
    """A waker whose event loop has ended does nothing (the writer never sees an error)."""
    slot = Slot()

    async def park() -> None:
        with anyio.move_on_after(0.001):
            await wait_async(slot)

    anyio.run(park)
    stale: list[Callable[[], None]] = []

    async def leave_a_waker() -> None:
        from etcdlite._waiting import _AsyncWaker

        stale.append(_AsyncWaker())

    anyio.run(leave_a_waker)
    t = threading.Thread(target=stale[0])
    t.start()
    t.join(10)
    assert stale[0].fired  # type: ignore[attr-defined]


@pytest.mark.anyio
async def test_leaving_async_for_early_leaves_nothing_to_finalize() -> None:
    """Breaking out of ``async for`` over a watch, a mailbox or a keep-alive warns of nothing.

    (An async-generator ``__aiter__`` would leave an unfinished generator, which trio reports
    as a ResourceWarning: an error under this suite's warning filter.)
    """
    import gc

    from etcdlite import Store
    from etcdlite._waiting import Mailbox

    store = Store()
    _ = store.put("k", "v")
    watch = store.watch("k", start_revision=1)
    box = Mailbox[int]()
    box.put(1)
    keep_alive = store.keep_alive(store.grant(60).id)
    async for resp in watch:
        assert resp.created
        break
    async for number in box:
        assert number == 1
        break
    async for renewal in keep_alive:
        assert renewal.ttl == 60
        break
    keep_alive.close()
    watch.cancel()
    store.close()
    gc.collect()
