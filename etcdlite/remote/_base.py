"""What every group of a remote client's calls stands on: its endpoints, its timeout, and one
way to send a unary call (:meth:`Calls._call`).

The Client is put together from small groups of calls (KV, leases and watch in
:mod:`._client`, cluster and maintenance in :mod:`._cluster`, locks and elections in
:mod:`._election`); each group uses only what this class holds.
"""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import StoppedError
from ._endpoints import Endpoints

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ._auth import Tokens
    from ._endpoints import Stubs
    from ._tls import TLS

__all__ = ("DEFAULT_TIMEOUT", "Calls", "Closable")

#: Seconds each call may take unless ``connect(timeout=...)`` says otherwise.
DEFAULT_TIMEOUT = 5.0


class Closable(Protocol):
    """A stream the client ends when it closes (an election observer)."""

    def close(self) -> None: ...


class Calls:
    """The endpoints at ``targets`` (``host:port`` each, over ``tls`` if given, with the
    ``tokens`` of a user if given) and the per-call ``timeout``."""

    def __init__(
        self,
        targets: Sequence[str],
        *,
        timeout: float | None = DEFAULT_TIMEOUT,
        tls: TLS | None = None,
        tokens: Tokens | None = None,
    ) -> None:
        self.timeout = timeout
        self._endpoints = Endpoints(targets, tls=tls, tokens=tokens)
        self._closing = threading.Event()
        #: Streams with a thread of their own, closed with the client.
        self._streams: weakref.WeakSet[Closable] = weakref.WeakSet()

    def _close_streams(self) -> None:
        for stream in list(self._streams):
            stream.close()

    @property
    def endpoints(self) -> tuple[str, ...]:
        """Every endpoint, as ``host:port``."""
        return self._endpoints.targets

    @property
    def target(self) -> str:
        """The endpoint calls go to now (``host:port``); it changes when one stops answering."""
        return self._endpoints.current

    def _ensure_open(self) -> None:
        if self._closing.is_set():
            raise StoppedError()

    def _call(
        self,
        method: Callable[[Stubs], Callable[..., Any]],
        request: object,
        *,
        safe: bool,
        timeout: float | str | None = "client",
    ) -> Any:
        """``method(stubs)(request)`` on the current endpoint, failing over as
        :meth:`Endpoints.call` allows; ``timeout`` defaults to the client's."""
        self._ensure_open()
        seconds = self.timeout if isinstance(timeout, str) else timeout

        def attempt(stubs: Stubs, left: float | None) -> Any:
            return method(stubs)(request, timeout=left)

        return self._endpoints.call(attempt, seconds, safe=safe)
