"""One unary call to etcd: a deadline on every call, and etcd's errors back as etcdlite's.

etcd sends each error as a gRPC status whose details are its exact message; clientv3 maps the
message back to its error value (``rpctypes.Error``), and so does :func:`error_from_rpc`, with
the one table in :mod:`etcdlite.errors`, so a remote call raises the exception a Store raises.
A message etcdlite has no class for (gRPC's own errors: an unreachable endpoint, a deadline,
a message over gRPC's size limit) becomes :class:`RemoteError`, which keeps the status code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

import grpc

from ..errors import EtcdError, error_for_message

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ("RemoteError", "call", "error_from_rpc")

T = TypeVar("T")


class RemoteError(EtcdError):
    """An error from etcd or gRPC whose message has no etcdlite class.

    ``status`` is the gRPC status code it came with (``UNAVAILABLE`` for an endpoint that does
    not answer, ``DEADLINE_EXCEEDED`` for a call over its timeout, ...).
    """

    def __init__(self, message: str, status: grpc.StatusCode) -> None:
        super().__init__(message)
        self.status = status


def error_from_rpc(exc: grpc.RpcError) -> EtcdError:
    """The etcdlite exception for a failed call: etcd's message decides the class."""
    # What grpc raises is also a ``grpc.Call``, which its type stubs cannot express.
    details, code = getattr(exc, "details", None), getattr(exc, "code", None)
    message = (details() if callable(details) else None) or str(exc)
    status = code() if callable(code) else grpc.StatusCode.UNKNOWN
    err = error_for_message(message)
    return RemoteError(message, status) if err is None else err


def call(method: Callable[..., T], request: object, timeout: float | None) -> T:
    """``method(request)`` within ``timeout`` seconds; a failure raises :func:`error_from_rpc`."""
    try:
        return method(request, timeout=timeout)
    except grpc.RpcError as exc:
        raise error_from_rpc(exc) from None
