"""Helpers for the recipe tests: bounded threads, bounded polling, a store that races."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from etcdlite import Store

if TYPE_CHECKING:
    from collections.abc import Callable

    from etcdlite import RangeResponse, TxnResponse

#: How long any thread join, poll or wait of a test may take before the test fails.
TIMEOUT = 20.0
#: How long a call must stay blocked for a test to say it blocks.
BLOCKED = 0.05


class Threads:
    """Threads started at once, each joined within :data:`TIMEOUT`; their errors re-raised.

    >>> with Threads() as ts:
    ...     _ = ts.start(lambda: None)
    """

    def __init__(self) -> None:
        self.threads: list[threading.Thread] = []
        self.errors: list[BaseException] = []

    def start(self, target: Callable[..., object], *args: object) -> threading.Thread:
        """Run ``target(*args)`` in a new thread, keeping any exception it raises."""

        def body() -> None:
            try:
                target(*args)
            except BaseException as exc:  # noqa: BLE001 - join() re-raises it in the test
                self.errors.append(exc)

        thread = threading.Thread(target=body, daemon=True)
        self.threads.append(thread)
        thread.start()
        return thread

    def join(self, *, check: bool = True) -> None:
        """Join every thread; with ``check``, fail if one outlived :data:`TIMEOUT`, then raise
        the first error a thread raised."""
        deadline = time.monotonic() + TIMEOUT
        for thread in self.threads:
            thread.join(max(deadline - time.monotonic(), 0.0))
        if not check:
            return
        alive = [t for t in self.threads if t.is_alive()]
        assert not alive, f"{len(alive)} thread(s) still running after {TIMEOUT} s"
        if self.errors:
            raise self.errors[0]

    def __enter__(self) -> Threads:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        self.join(check=exc_type is None)  # a failing test body keeps its own error


def wait_until(predicate: Callable[[], bool], what: str) -> None:
    """Poll ``predicate`` until it holds, failing after :data:`TIMEOUT`."""
    deadline = time.monotonic() + TIMEOUT
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.001)


def still_blocked(thread: threading.Thread) -> bool:
    """Whether ``thread`` is still running after :data:`BLOCKED` seconds."""
    thread.join(BLOCKED)
    return thread.is_alive()


class RacingStore(Store):
    """A Store that runs a hook once, just before its n-th ``get`` or ``txn`` call.

    Our own deterministic double: it lets a test slip another client's write between two
    requests of a recipe, exactly where a race would put it.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.hooks: dict[tuple[str, int], Callable[[], object]] = {}
        self.calls = {"get": 0, "txn": 0}

    def _before(self, name: str) -> None:
        self.calls[name] += 1
        hook = self.hooks.pop((name, self.calls[name]), None)
        if hook is not None:
            hook()

    def get(self, key: str | bytes, **kwargs: Any) -> RangeResponse:
        self._before("get")
        return super().get(key, **kwargs)

    def txn(self, *args: Any, **kwargs: Any) -> TxnResponse:
        self._before("txn")
        return super().txn(*args, **kwargs)


def keys(store: Store, prefix: str | bytes) -> list[bytes]:
    """The keys under ``prefix``, in key order."""
    return [kv.key for kv in store.get(prefix, prefix=True, keys_only=True).kvs]
