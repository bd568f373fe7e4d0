"""The clocks: FakeClock fires what falls due, in order; MonotonicClock's thread comes and goes."""

from __future__ import annotations

import threading

import pytest

from etcdlite.testing import FakeClock, MonotonicClock


def test_fake_clock_fires_in_deadline_order_at_their_deadlines() -> None:
    """advance() runs due callbacks in order, with now() at each deadline."""
    clock = FakeClock(10.0)
    seen: list[tuple[str, float]] = []
    clock.call_later(3, lambda: seen.append(("c", clock.now())))
    clock.call_later(1, lambda: seen.append(("a", clock.now())))
    clock.call_later(1, lambda: seen.append(("b", clock.now())))
    clock.advance(2)
    assert seen == [("a", 11.0), ("b", 11.0)]
    assert clock.now() == 12.0
    clock.advance(1)
    assert seen[-1] == ("c", 13.0)
    assert clock.pending() == 0


def test_fake_clock_runs_timers_scheduled_by_callbacks() -> None:
    """A callback may schedule another timer; it fires in the same advance if it is due."""
    clock = FakeClock()
    ticks: list[float] = []

    def tick() -> None:
        ticks.append(clock.now())
        if len(ticks) < 5:
            clock.call_later(2, tick)

    clock.call_later(2, tick)
    clock.advance(7)
    assert ticks == [2.0, 4.0, 6.0]
    assert clock.pending() == 1


def test_fake_clock_cancel_and_errors() -> None:
    """Cancelled timers never fire; time cannot go back; a callback's error propagates."""
    clock = FakeClock()
    fired: list[int] = []
    handle = clock.call_later(1, lambda: fired.append(1))
    handle.cancel()
    handle.cancel()
    clock.advance(5)
    assert fired == []
    with pytest.raises(ValueError, match="back"):
        clock.advance(-1)

    def boom() -> None:
        raise RuntimeError("boom")

    clock.call_later(0, boom)
    with pytest.raises(RuntimeError, match="boom"):
        clock.advance(1)
    assert clock.now() == 5.0
    assert "FakeClock" in repr(clock)


def test_monotonic_clock_fires_and_its_thread_exits() -> None:
    """Timers fire on one daemon thread, which ends when none is pending."""
    clock = MonotonicClock()
    done = threading.Event()
    clock.call_later(0.001, done.set)
    assert done.wait(10)
    thread = clock._thread
    if thread is not None:
        thread.join(10)
        assert not thread.is_alive()
    assert clock.now() > 0


def test_monotonic_clock_cancel_wakes_the_thread_to_exit() -> None:
    """Cancelling the only (far) timer lets the thread end at once instead of sleeping."""
    clock = MonotonicClock()
    handle = clock.call_later(3600, lambda: None)
    thread = clock._thread
    assert thread is not None
    handle.cancel()
    thread.join(10)
    assert not thread.is_alive()
    assert clock._thread is None


def test_monotonic_clock_survives_a_failing_callback(caplog: pytest.LogCaptureFixture) -> None:
    """A callback's exception is logged; later timers still fire."""
    clock = MonotonicClock()
    done = threading.Event()

    def boom() -> None:
        raise RuntimeError("boom")

    clock.call_later(0, boom)
    clock.call_later(0.001, done.set)
    assert done.wait(10)
    assert "timer callback raised" in caplog.text
