"""Fixtures for the watch tests; ``slow`` tests run only when asked for (``-m slow``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from etcdlite import Store
from etcdlite.testing import FakeClock

if TYPE_CHECKING:
    from collections.abc import Iterator


HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave this directory's ``slow`` tests out of a run that selects no markers (deselected,
    not skipped: ``pytest -m slow tests/watch`` runs them)."""
    if config.getoption("markexpr"):
        return
    slow = [i for i in items if i.get_closest_marker("slow") and HERE in i.path.parents]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [i for i in items if i not in slow]


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Async tests run once on asyncio and once on trio."""
    return str(request.param)


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
