"""Time for the store: the :class:`Clock` protocol, the monotonic clock and a fake one for tests.

Everything in etcdlite that happens "later" (watch progress notifications now, lease expiry
next) asks a clock for the time and for a timer, and never sleeps. A :class:`Clock` has two
methods: ``now()`` (seconds, monotonic) and ``call_later(delay, callback)``, which returns a
handle with ``cancel()``. Two clocks come with etcdlite:

* :class:`MonotonicClock` (the default) follows :func:`time.monotonic`; its timers fire on one
  daemon thread that runs only while a timer is pending and exits when none is left;
* :class:`FakeClock` stands still until a test calls :meth:`FakeClock.advance`, which fires
  every timer that falls due, in deadline order, synchronously in the caller's thread (as
  trio's ``MockClock`` with ``autojump`` off). Tests of time never sleep.

A callback runs without any of the clock's locks held, so it may take the store's lock; it must
not be called while that lock is held, which is why :meth:`FakeClock.advance` belongs in test
code, not in store callbacks.

>>> clock = FakeClock()
>>> fired = []
>>> handle = clock.call_later(10, lambda: fired.append(clock.now()))
>>> clock.advance(9.5); fired
[]
>>> clock.advance(1); fired, clock.now()
([10.0], 10.5)
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ("Clock", "FakeClock", "MonotonicClock", "TimerHandle")

_log = logging.getLogger("etcdlite")


class TimerHandle(Protocol):
    """What :meth:`Clock.call_later` returns."""

    def cancel(self) -> None:
        """Make sure the callback does not run (no effect once it ran)."""


class Clock(Protocol):
    """A source of monotonic time with one-shot timers."""

    def now(self) -> float:
        """The current time in seconds; only differences between two values mean anything."""

    def call_later(self, delay: float, callback: Callable[[], object]) -> TimerHandle:
        """Run ``callback()`` once, ``delay`` seconds from now (at once if ``delay <= 0``)."""


class _Timer:
    """A pending timer: ordered by deadline, then by creation."""

    __slots__ = ("_cancel", "callback", "deadline", "seq")

    def __init__(
        self,
        deadline: float,
        seq: int,
        callback: Callable[[], object],
        cancel: Callable[[_Timer], None],
    ) -> None:
        self.deadline = deadline
        self.seq = seq
        self.callback: Callable[[], object] | None = callback
        self._cancel = cancel

    def __lt__(self, other: _Timer) -> bool:
        return (self.deadline, self.seq) < (other.deadline, other.seq)

    def cancel(self) -> None:
        if self.callback is not None:
            self.callback = None
            self._cancel(self)

    def __repr__(self) -> str:
        state = "cancelled or fired" if self.callback is None else "pending"
        return f"<timer at {self.deadline:.3f} {state}>"


class _TimerHeap:
    """The timers of one clock, under one lock; shared by both clocks."""

    def __init__(self) -> None:
        self.lock = threading.Condition(threading.Lock())
        self.heap: list[_Timer] = []
        self._seq = itertools.count()

    def push(self, deadline: float, callback: Callable[[], object]) -> _Timer:
        timer = _Timer(deadline, next(self._seq), callback, self.remove)
        with self.lock:
            heapq.heappush(self.heap, timer)
            self.lock.notify()
        return timer

    def remove(self, timer: _Timer) -> None:
        with self.lock:
            try:
                self.heap.remove(timer)
            except ValueError:  # already popped to run
                return
            heapq.heapify(self.heap)
            self.lock.notify()

    def pop_due(self, now: float) -> _Timer | None:
        """The earliest timer due at ``now``, taken off the heap (the caller holds the lock)."""
        heap = self.heap
        if heap and heap[0].deadline <= now:
            return heapq.heappop(heap)
        return None


class MonotonicClock:
    """:func:`time.monotonic`, with timers run by a daemon thread that lives while any is pending.

    >>> clock = MonotonicClock()
    >>> done = threading.Event()
    >>> _ = clock.call_later(0.001, done.set)
    >>> done.wait(10)
    True
    """

    def __init__(self) -> None:
        self._timers = _TimerHeap()
        self._thread: threading.Thread | None = None

    def now(self) -> float:
        return time.monotonic()

    def call_later(self, delay: float, callback: Callable[[], object]) -> TimerHandle:
        timer = self._timers.push(time.monotonic() + max(delay, 0.0), callback)
        with self._timers.lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="etcdlite-clock", daemon=True
                )
                self._thread.start()
        return timer

    def _run(self) -> None:
        timers = self._timers
        while True:
            with timers.lock:
                while True:
                    if not timers.heap:
                        self._thread = None
                        return
                    timer = timers.pop_due(time.monotonic())
                    if timer is not None:
                        break
                    timers.lock.wait(timers.heap[0].deadline - time.monotonic())
            callback, timer.callback = timer.callback, None
            if callback is not None:
                try:
                    callback()
                except Exception:  # noqa: BLE001 - the timer thread must outlive a bad callback
                    _log.exception("etcdlite: a timer callback raised")


class FakeClock:
    """A clock that moves only when told to: :meth:`advance` fires what falls due.

    Pass it to the store (``Store(clock=FakeClock())``) to drive watch progress notifications
    (and, with leases, expiry) from a test without sleeping.

    >>> clock = FakeClock(100.0)
    >>> order = []
    >>> _ = clock.call_later(2, lambda: order.append("b"))
    >>> _ = clock.call_later(1, lambda: order.append("a"))
    >>> late = clock.call_later(3, lambda: order.append("never"))
    >>> late.cancel()
    >>> clock.advance(5); order, clock.now(), clock.pending()
    (['a', 'b'], 105.0, 0)
    """

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)
        self._timers = _TimerHeap()

    def now(self) -> float:
        return self._now

    def call_later(self, delay: float, callback: Callable[[], object]) -> TimerHandle:
        return self._timers.push(self._now + max(delay, 0.0), callback)

    def pending(self) -> int:
        """How many timers wait to fire."""
        return len(self._timers.heap)

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``, firing each timer due on the way, in order.

        Time stands at each timer's deadline while its callback runs; timers that callbacks
        schedule are fired too if they fall due before the end. A callback's exception
        propagates (time then stays at that timer's deadline).
        """
        if seconds < 0:
            raise ValueError("a clock cannot go back")
        target = self._now + seconds
        timers = self._timers
        while True:
            with timers.lock:
                timer = timers.pop_due(target)
            if timer is None:
                break
            self._now = max(self._now, timer.deadline)
            callback, timer.callback = timer.callback, None
            if callback is not None:
                callback()
        self._now = target

    def __repr__(self) -> str:
        return f"<FakeClock now={self._now} pending={self.pending()}>"
