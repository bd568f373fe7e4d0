"""A remote client's identity: a user name and password, and the token etcd gave for them on
each endpoint, sent as gRPC metadata ``token`` with every call and stream.

As clientv3 does, a client with credentials asks etcd's ``Auth.Authenticate`` for a token
before its first call (so :func:`~etcdlite.connect` raises ``AuthFailedError`` for a wrong
password), and sends it with every request. Tokens are kept per endpoint: an endpoint the
client moves to after a failover gets its own ``Authenticate`` first, and so does one it comes
back to (a restarted member forgot its simple tokens). When etcd answers a call with "invalid
auth token" (the token expired after ``--auth-token-ttl`` seconds unused, or the user's
password changed, or the user was deleted), "revision of auth store is old" or "user name is
empty" (auth was turned on after the client connected), :class:`Tokens` forgets the token and
the call is sent once more with a new one (see :meth:`.Endpoints.call`). etcd refuses those
before applying anything, so even a write is safe to send again. If the new ``Authenticate``
fails (the password changed), its error (``AuthFailedError``) is the call's.

While auth is off, etcd answers ``Authenticate`` with ``AuthNotEnabledError``; the client then
sends no token (as clientv3) and authenticates once auth is on ("user name is empty").
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import grpc

from ..errors import (
    AuthNotEnabledError,
    AuthOldRevisionError,
    EtcdError,
    InvalidAuthTokenError,
    UserEmptyError,
)
from ..server._pb import rpc_pb2, rpc_pb2_grpc
from ._rpc import error_from_rpc

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ("TokenInterceptor", "Tokens", "is_stale")

_rpc: Any = rpc_pb2_grpc  # generated without annotations

#: What the "no token" state of an endpoint is called where auth is off.
_AUTH_OFF = ""


def is_stale(err: EtcdError) -> bool:
    """Whether ``err`` says the token (or its absence) is the problem, so that a new
    ``Authenticate`` may fix it (clientv3's ``shouldRefreshToken``)."""
    return isinstance(err, (InvalidAuthTokenError, AuthOldRevisionError, UserEmptyError))


class Tokens:
    """``user`` and ``password``, and the token of each of ``n`` endpoints (``None``: none
    asked for yet; ``""``: auth is off there)."""

    def __init__(self, user: str, password: str, n: int) -> None:
        if not isinstance(user, str) or not isinstance(password, str):
            raise TypeError("user and password must be str")
        if not user:
            raise ValueError("user must not be empty")
        self.user = user
        self._password = password
        self._tokens: list[str | None] = [None] * n
        self._locks = [threading.Lock() for _ in range(n)]

    def __repr__(self) -> str:
        return f"<Tokens user={self.user!r}>"

    def token(self, index: int) -> str | None:
        """The token endpoint ``index`` takes now (``None`` or ``""``: none to send)."""
        return self._tokens[index]

    def ensure(self, index: int, channel: grpc.Channel, timeout: float | None) -> None:
        """Authenticate on endpoint ``index`` (through ``channel``) unless it has a token.

        Raises ``grpc.RpcError`` as the ``Authenticate`` call does (``AuthFailedError``'s
        message for a wrong password); ``AuthNotEnabledError`` is not an error here.
        """
        if self._tokens[index] is not None:
            return
        with self._locks[index]:
            if self._tokens[index] is not None:
                return  # another thread authenticated meanwhile
            request = rpc_pb2.AuthenticateRequest(name=self.user, password=self._password)
            try:
                resp = _rpc.AuthStub(channel).Authenticate(request, timeout=timeout)
            except grpc.RpcError as exc:
                if not isinstance(error_from_rpc(exc), AuthNotEnabledError):
                    raise
                self._tokens[index] = _AUTH_OFF
                return
            self._tokens[index] = str(resp.token)

    def forget(self, index: int, token: str | None) -> None:
        """Drop endpoint ``index``'s token if it is still ``token`` (the one a call failed
        with), so the next call authenticates again."""
        with self._locks[index]:
            if self._tokens[index] == token:
                self._tokens[index] = None

    def forget_all(self, index: int) -> None:
        """Drop endpoint ``index``'s token whatever it is (the endpoint stopped answering)."""
        with self._locks[index]:
            self._tokens[index] = None


class _Details(grpc.ClientCallDetails):
    """``ClientCallDetails`` with the metadata replaced (gRPC gives a read-only one)."""

    def __init__(
        self, base: grpc.ClientCallDetails, metadata: tuple[tuple[str, str | bytes], ...]
    ) -> None:
        self.method = base.method
        self.timeout = base.timeout
        self.metadata = metadata
        self.credentials = base.credentials
        self.wait_for_ready = getattr(base, "wait_for_ready", None)
        self.compression = getattr(base, "compression", None)


class TokenInterceptor(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    """Adds ``token`` metadata (from ``token()``) to every call and stream on a channel."""

    def __init__(self, token: Callable[[], str | None]) -> None:
        self._token = token

    def _details(self, details: grpc.ClientCallDetails) -> grpc.ClientCallDetails:
        token = self._token()
        if not token:
            return details
        kept = tuple((k, v) for k, v in (details.metadata or ()) if k != "token")
        return _Details(details, (*kept, ("token", token)))

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)

    def intercept_stream_unary(self, continuation: Any, details: Any, requests: Any) -> Any:
        return continuation(self._details(details), requests)

    def intercept_stream_stream(self, continuation: Any, details: Any, requests: Any) -> Any:
        return continuation(self._details(details), requests)
