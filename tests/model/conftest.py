"""The model tests' ``slow`` tests run only when asked for (``pytest -m slow tests/model``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pytest

HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave this directory's ``slow`` tests out of a run that selects no markers (deselected,
    not skipped: ``pytest -m slow tests/model`` runs them)."""
    if config.getoption("markexpr"):
        return
    slow = [i for i in items if i.get_closest_marker("slow") and HERE in i.path.parents]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [i for i in items if i not in slow]
