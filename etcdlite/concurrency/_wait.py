"""The one waiting loop of the recipes: read, and if not done, watch until something changes.

Every recipe that blocks (a mutex waiting for its predecessor, a campaign, an observer, a
barrier, a queue's dequeue) is the same loop: look at the store; if the condition holds, done;
otherwise watch the key or range the answer depends on, from just after the revision looked
at, and look again when it changes. :class:`Waiter` is that loop as a pollable of
:mod:`etcdlite._waiting`, so each recipe writes only its ``step`` function and gets the thread
face (:func:`etcdlite._waiting.wait`) and the task face (:func:`etcdlite._waiting.wait_async`,
asyncio and trio) for free.

``step()`` returns the result, or a :class:`WaitFor` naming what to watch and the revision its
reads saw. Watching from that revision + 1 means no change between the read and the watch is
missed. A step may raise; the error reaches the caller.

>>> from etcdlite import Store
>>> from etcdlite._waiting import wait
>>> store = Store()
>>> def step():
...     r = store.get("go")
...     return r.kvs[0].value if r.kvs else WaitFor(b"go", revision=r.header.revision)
>>> waiter = Waiter(store, step)
>>> import threading; t = threading.Timer(0.01, store.put, ("go", "now")); t.start()
>>> wait(waiter, timeout=10)
b'now'
>>> t.join()
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Generic, NamedTuple, TypeVar

import anyio

from .._waiting import NOT_READY, NotReady, wait, wait_async

if TYPE_CHECKING:
    from collections.abc import Callable

    from .._protocols import Watcher, WatchLike

__all__ = ("WaitFor", "Waiter", "run", "run_async")

T = TypeVar("T")


class WaitFor(NamedTuple):
    """Not yet: wake me when ``[key, range_end)`` (or just ``key``) changes after ``revision``."""

    key: bytes
    range_end: bytes | None = None
    revision: int = 0


class Waiter(Generic[T]):
    """``step`` run again after every change of what its last :class:`WaitFor` named."""

    __slots__ = ("_client", "_fresh", "_step", "_target", "_watch")

    def __init__(self, client: Watcher, step: Callable[[], T | WaitFor]) -> None:
        self._client = client
        self._step = step
        self._watch: WatchLike | None = None
        self._target: WaitFor | None = None
        self._fresh = True  # run step before waiting

    def poll(self, waker: Callable[[], None] | None) -> T | NotReady:
        while True:
            if self._fresh:
                self._fresh = False
                result = self._step()
                if not isinstance(result, WaitFor):
                    self.close()
                    return result
                self._follow(result)
            watch = self._watch
            assert watch is not None
            try:
                resp = watch.poll(waker)
            except anyio.EndOfStream:  # the watch ended (compaction): look again, re-watch
                self._drop_watch()
                self._fresh = True
                continue
            if resp is NOT_READY:
                return NOT_READY
            if resp.events or resp.canceled:
                if resp.canceled:
                    self._drop_watch()
                self._fresh = True

    def forget(self, waker: Callable[[], None]) -> None:
        if self._watch is not None:
            self._watch.forget(waker)

    def _follow(self, target: WaitFor) -> None:
        """Watch ``target`` unless the current watch already covers it."""
        if self._watch is not None and self._target is not None and self._target[:2] == target[:2]:
            return  # same range, still watched since before the read: nothing missed
        self._drop_watch()
        self._target = target
        self._watch = self._client.watch(
            target.key,
            range_end=target.range_end,
            start_revision=target.revision + 1,
        )

    def _drop_watch(self) -> None:
        watch, self._watch, self._target = self._watch, None, None
        if watch is not None:
            watch.cancel()

    def close(self) -> None:
        """Stop watching (the waiter may be polled again: it starts over with ``step``)."""
        self._drop_watch()
        self._fresh = True


def run(client: Watcher, step: Callable[[], T | WaitFor], timeout: float | None = None) -> T:
    """Block the thread until ``step`` returns a result (``TimeoutError`` after ``timeout``)."""
    waiter = Waiter(client, step)
    try:
        return wait(waiter, timeout)
    finally:
        waiter.close()


async def run_async(client: Watcher, step: Callable[[], T | WaitFor]) -> T:
    """Wait in the current task (asyncio or trio) until ``step`` returns a result."""
    waiter = Waiter(client, step)
    try:
        return await wait_async(waiter)
    finally:
        waiter.close()
