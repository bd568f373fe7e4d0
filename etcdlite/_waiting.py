"""The one bridge between etcdlite's non-blocking state machines and callers that wait.

Everything that can wait in etcdlite (a watch's next response today; lock acquisition,
campaigns and keep-alive streams next) is written once, as a *pollable*: an object whose
``poll(waker)`` step never blocks. It either returns a result, or (having found nothing ready)
keeps ``waker`` and returns :data:`NOT_READY`; whoever later makes progress possible calls the
waker once, from any thread. ``forget(waker)`` drops a waker that is no longer wanted (a timeout
or a cancelled task). This module turns that one step into the two ways of waiting:

* :func:`wait` blocks a thread (with an optional timeout, raising :class:`TimeoutError`);
* :func:`wait_async` suspends a task under asyncio or trio, through anyio: the waker sets an
  :class:`anyio.Event`, directly when called on the event loop's own thread, otherwise through
  the loop's thread-safe "run soon" entry (never blocking the caller, who may hold the store's
  lock).

A waker is called with the store's lock held, so it must be quick and must never raise: it only
releases a lock or schedules an event.

>>> import threading
>>> class Box:
...     "Holds one value; poll takes it or parks the waker."
...     def __init__(self): self.value, self.waker = None, None
...     def poll(self, waker):
...         if self.value is not None: return self.value
...         self.waker = waker
...         return NOT_READY
...     def forget(self, waker): self.waker = None
...     def put(self, value):
...         self.value = value
...         if self.waker: self.waker()
>>> box = Box()
>>> t = threading.Timer(0.01, box.put, ("hello",)); t.start()
>>> wait(box, timeout=10)
'hello'
>>> t.join()
>>> import anyio
>>> anyio.run(wait_async, box)
'hello'
"""

from __future__ import annotations

import collections
import enum
import threading
import time
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

import anyio
import anyio.lowlevel

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

__all__ = ("NOT_READY", "Mailbox", "NotReady", "Pollable", "Receiver", "wait", "wait_async")

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class NotReady(enum.Enum):
    """The type of :data:`NOT_READY`."""

    NOT_READY = "NOT_READY"


#: What ``poll`` returns when nothing is ready (and the waker was kept).
NOT_READY = NotReady.NOT_READY


class Pollable(Protocol[T_co]):
    """A non-blocking state machine that can be waited on."""

    def poll(self, waker: Callable[[], None] | None) -> T_co | NotReady:
        """Make progress without blocking: a result, or keep ``waker`` and return NOT_READY.

        ``waker=None`` asks for a result without registering anything (the ``_nowait`` form).
        """

    def forget(self, waker: Callable[[], None]) -> None:
        """Drop ``waker`` if it is still kept (it will not be needed)."""


class _ThreadWaker:
    """Wakes one blocked thread: a lock taken by the waiter and released by the waker."""

    __slots__ = ("fired", "lock")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.lock.acquire()
        self.fired = False

    def __call__(self) -> None:
        if not self.fired:
            self.fired = True
            self.lock.release()


class _AsyncWaker:
    """Wakes one task: sets an anyio Event on the task's own event loop."""

    __slots__ = ("event", "fired", "thread", "token")

    def __init__(self) -> None:
        self.event = anyio.Event()
        self.fired = False
        self.thread = threading.get_ident()
        self.token = anyio.lowlevel.current_token()

    def __call__(self) -> None:
        if self.fired:
            return
        self.fired = True
        if threading.get_ident() == self.thread:
            self.event.set()
            return
        token = self.token
        try:
            token.backend_class.run_sync_soon(self.event.set, (), token.native_token)
        except (anyio.RunFinishedError, RuntimeError):
            return  # the loop has finished: nobody is left to wake


def wait(pollable: Pollable[T], timeout: float | None = None) -> T:
    """Block the calling thread until ``pollable`` has a result.

    Raises :class:`TimeoutError` when ``timeout`` seconds pass first (``None``: no limit);
    nothing is lost then, the next call finds what arrives meanwhile.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        waker = _ThreadWaker()
        result = pollable.poll(waker)
        if result is not NOT_READY:
            return result
        if deadline is None:
            waker.lock.acquire()
            continue
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not waker.lock.acquire(timeout=remaining):
            pollable.forget(waker)
            raise TimeoutError(f"nothing arrived within {timeout} s")


async def wait_async(pollable: Pollable[T]) -> T:
    """Suspend the calling task (asyncio or trio) until ``pollable`` has a result.

    Always a checkpoint: it yields to the scheduler and is a cancellation point even when a
    result is ready at once. Use anyio's ``fail_after``/``move_on_after`` for timeouts.
    """
    await anyio.lowlevel.checkpoint()
    while True:
        waker = _AsyncWaker()
        result = pollable.poll(waker)
        if result is not NOT_READY:
            return result
        try:
            await waker.event.wait()
        finally:
            if not waker.fired:
                pollable.forget(waker)


class Receiver(Generic[T]):
    """The ways to read a stream, over its ``poll``/``forget`` (a :class:`Pollable`).

    Every stream in etcdlite (a watch, a keep-alive, an election's observer, a mailbox)
    subclasses it and writes only ``poll`` and ``forget``:

    * ``receive_nowait()`` returns the next item or raises :class:`anyio.WouldBlock`;
    * ``receive(timeout=None)`` blocks the thread (``TimeoutError`` after ``timeout``);
      ``for x in s`` iterates with it, ``s.iter(timeout=...)`` with a timeout per item;
    * ``await areceive()`` and ``async for x in s`` wait in a task, under asyncio or trio.

    Each raises :class:`anyio.EndOfStream` once the stream ended and was read to its end, and
    iteration stops there.
    """

    __slots__ = ()

    def poll(self, waker: Callable[[], None] | None) -> T | NotReady:
        raise NotImplementedError

    def forget(self, waker: Callable[[], None]) -> None:
        raise NotImplementedError

    def receive_nowait(self) -> T:
        """The next item if one is ready, else :class:`anyio.WouldBlock`."""
        item = self.poll(None)
        if item is NOT_READY:
            raise anyio.WouldBlock
        return item

    def receive(self, timeout: float | None = None) -> T:
        """The next item, blocking the thread (``TimeoutError`` after ``timeout`` seconds:
        nothing is lost, it comes with a later call)."""
        return wait(self, timeout)

    async def areceive(self) -> T:
        """The next item, waiting in the current task (asyncio or trio); use anyio's
        ``fail_after`` or ``move_on_after`` for a timeout."""
        return await wait_async(self)

    def iter(self, timeout: float | None = None) -> Iterator[T]:
        """Iterate (blocking) until the stream ends; ``TimeoutError`` if an item takes longer
        than ``timeout`` seconds."""
        while True:
            try:
                yield self.receive(timeout)
            except anyio.EndOfStream:
                return

    def __iter__(self) -> Iterator[T]:
        return self.iter()

    def __aiter__(self) -> Receiver[T]:
        return self

    async def __anext__(self) -> T:
        # A plain __anext__, not an async generator: leaving ``async for`` early then leaves
        # nothing to finalize (trio warns about unfinished async generators).
        try:
            return await self.areceive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None


class Mailbox(Receiver[T]):
    """A pollable queue with one reader: producers :meth:`put` (never blocking) and
    :meth:`close`; the reader receives in order, from a thread or a task.

    With ``maxlen`` the oldest item is dropped to make room (a keep-alive stream keeps the
    newest responses, as clientv3's buffered channel does). Receiving raises
    :class:`anyio.EndOfStream` once the mailbox is closed and empty, and iteration stops there.

    >>> box = Mailbox[int](maxlen=2)
    >>> for i in range(3): box.put(i)
    >>> box.close()
    >>> list(box)
    [1, 2]
    """

    __slots__ = ("_closed", "_items", "_lock", "_waker")

    def __init__(self, maxlen: int | None = None) -> None:
        self._items: collections.deque[T] = collections.deque(maxlen=maxlen)
        self._lock = threading.Lock()
        self._waker: Callable[[], None] | None = None
        self._closed = False

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called (items may still wait to be read)."""
        return self._closed

    def put(self, item: T) -> None:
        """Queue ``item`` and wake the reader; ignored once closed."""
        with self._lock:
            if self._closed:
                return
            self._items.append(item)
            waker, self._waker = self._waker, None
        if waker is not None:
            waker()

    def close(self) -> None:
        """End the stream: the reader gets what is queued, then ``EndOfStream``."""
        with self._lock:
            self._closed = True
            waker, self._waker = self._waker, None
        if waker is not None:
            waker()

    def poll(self, waker: Callable[[], None] | None) -> T | NotReady:
        """The next item, or keep ``waker`` (see :class:`Pollable`)."""
        with self._lock:
            if self._items:
                return self._items.popleft()
            if self._closed:
                raise anyio.EndOfStream
            if waker is not None:
                self._waker = waker
            return NOT_READY

    def forget(self, waker: Callable[[], None]) -> None:
        with self._lock:
            if self._waker is waker:
                self._waker = None
