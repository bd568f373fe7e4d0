"""Helpers for testing code that uses etcdlite.

* :class:`FakeClock`: pass it as ``Store(clock=...)`` and move time with
  :meth:`~FakeClock.advance`; lease expiry, keep-alive renewals and watch progress
  notifications then happen exactly when a test says, without sleeping.

>>> from etcdlite import Store
>>> from etcdlite.testing import FakeClock
>>> clock = FakeClock()
>>> store = Store(clock=clock, watch_progress_interval=60)
>>> w = store.watch("k", progress_notify=True)
>>> w.receive().created
True
>>> clock.advance(60)
>>> w.receive().is_progress_notify
True
>>> lease = store.grant(30)
>>> _ = store.put("session", "me", lease=lease.id)
>>> clock.advance(30)
>>> store.get("session").count
0
"""

from __future__ import annotations

from ._clock import Clock, FakeClock, MonotonicClock

__all__ = ("Clock", "FakeClock", "MonotonicClock")
