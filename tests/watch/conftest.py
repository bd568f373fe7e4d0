"""Fixtures for the watch tests."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from etcdlite import Store
from etcdlite.testing import FakeClock

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock at 0."""
    return FakeClock()


@pytest.fixture
def store(clock: FakeClock) -> Iterator[Store]:
    """A fresh store on the fake clock, closed (and checked) after the test."""
    s = Store(clock=clock)
    yield s
    if not s.closed:
        s._check()
    s.close()
