"""Test-suite wide settings: ``slow`` tests run only when asked for (``pytest -m slow``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave ``slow`` tests (the long randomized runs) out of a run that selects no markers.

    They are deselected, not skipped: ``pytest -m slow`` runs them, and ``.ci/run`` does.
    """
    if config.getoption("markexpr"):
        return
    slow = [i for i in items if i.get_closest_marker("slow")]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [i for i in items if not i.get_closest_marker("slow")]
