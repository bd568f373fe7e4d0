"""The call context the synchronous servicers see outside grpcio's synchronous server.

The servicers are written against ``grpc.ServicerContext`` (``invocation_metadata``,
``auth_context``, ``abort``, ``is_active``, ``add_callback``). :class:`CallContext` is that
part of it, for the JSON gateway's calls and for the servicers the asyncio gRPC server runs in
its thread pool: ``abort`` raises :class:`Aborted`, which the caller turns into its answer, and
:meth:`CallContext.end` runs the callbacks once when the call ends, however it ends.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from collections.abc import Callable

    import grpc

__all__ = ("Aborted", "CallContext")


class Aborted(Exception):
    """A call ended with a gRPC status (what ``context.abort`` raises here)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class CallContext:
    """The part of ``grpc.ServicerContext`` the servicers use, for one call of the gateway or of
    a synchronous servicer under the asyncio gRPC server (:mod:`._calls`)."""

    def __init__(
        self, metadata: tuple[tuple[str, str], ...] = (), common_name: str | None = None
    ) -> None:
        self._metadata = metadata
        self._common_name = common_name
        self._lock = threading.Lock()
        self._ended = threading.Event()
        self._callbacks: list[Callable[[], object]] = []

    def is_active(self) -> bool:
        """Whether the call still runs."""
        return not self._ended.is_set()

    def add_callback(self, callback: Callable[[], object]) -> bool:
        """Run ``callback`` when the call ends; ``False`` (not registered) if it has."""
        with self._lock:
            if self._ended.is_set():
                return False
            self._callbacks.append(callback)
            return True

    def end(self) -> None:
        """End the call (client gone, call over or server stopping): run the callbacks once."""
        with self._lock:
            if self._ended.is_set():
                return
            self._ended.set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()

    def wait(self, timeout: float) -> bool:
        """Block until the call ends or ``timeout``; whether it ended."""
        return self._ended.wait(timeout)

    def abort(self, code: grpc.StatusCode, details: str) -> NoReturn:
        """End the call with this status."""
        raise Aborted(int(code.value[0]), details)

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        """The request's metadata: ``authorization`` from the HTTP header, if given."""
        return self._metadata

    def auth_context(self) -> dict[str, list[bytes]]:
        """As grpcio's: ``x509_common_name`` when the client presented a verified certificate
        over TLS (the only property the gateway gives)."""
        if self._common_name is None:
            return {}
        return {"x509_common_name": [self._common_name.encode()]}

    def time_remaining(self) -> float | None:
        """No deadline: the gateway sets none."""
        return None

    def cancel(self) -> None:
        """Cancel the call."""
        self.end()
