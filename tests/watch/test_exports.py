"""The watch names are public where the docs say, and each module's ``__all__`` is honest."""

from __future__ import annotations

import importlib

import pytest

import etcdlite
import etcdlite.testing

WATCH_MODULES = [
    "etcdlite._clock",
    "etcdlite._waiting",
    "etcdlite._watch",
    "etcdlite._watch_events",
    "etcdlite._watch_index",
    "etcdlite._watch_stream",
    "etcdlite.testing",
]


@pytest.mark.parametrize("name", WATCH_MODULES)
def test_all_names_exist_once(name: str) -> None:
    """Every name in a module's __all__ (a tuple, kept sorted by ruff's RUF022) is defined there."""
    module = importlib.import_module(name)
    assert isinstance(module.__all__, tuple)
    assert len(set(module.__all__)) == len(module.__all__)
    for attr in module.__all__:
        assert hasattr(module, attr), f"{name}.{attr}"


@pytest.mark.parametrize(
    "name", ["Watch", "WatchFilter", "WatchResponse", "WatchStatistics", "WatchStream"]
)
def test_watch_names_are_exported(name: str) -> None:
    """The watch API is importable from etcdlite and listed in its __all__."""
    assert name in etcdlite.__all__
    assert getattr(etcdlite, name).__module__.startswith("etcdlite._")


def test_testing_exports_the_clocks() -> None:
    """etcdlite.testing offers the fake clock (and the protocol and the real one)."""
    assert etcdlite.testing.__all__ == ("Clock", "FakeClock", "MonotonicClock")
    assert etcdlite.testing.FakeClock().now() == 0.0


def test_watch_errors_are_in_the_table() -> None:
    """mvcc's watch messages live in the one error table, with a class each."""
    from etcdlite import errors

    for cls, msg in [
        (errors.WatcherDuplicateIDError, "mvcc: duplicate watch ID provided on the WatchStream"),
        (errors.WatcherRangeEmptyError, "mvcc: watcher range is empty"),
        (errors.WatcherNotExistError, "mvcc: watcher does not exist"),
    ]:
        assert errors.MESSAGES[cls.__name__] == msg == str(cls())
        assert isinstance(errors.error_for_message(msg), cls)
        assert issubclass(cls, errors.WatchError)
