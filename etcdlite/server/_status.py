"""Errors to gRPC statuses: etcd's exact message with etcd's code.

* An :class:`~etcdlite.errors.EtcdError` travels with its ``code`` and ``message`` (the one
  table in :mod:`etcdlite.errors`).
* ``TypeError``/``ValueError`` from a request the model refuses become INVALID_ARGUMENT with
  the exception's text.
* The Lock and Election services wrap a clientv3 inside etcd, so every error they send has
  code UNKNOWN (SEMANTICS 2.8): :func:`translate` takes ``unknown=True`` for them.

>>> from etcdlite.errors import CompactedError
>>> status_of(CompactedError())
(<StatusCode.OUT_OF_RANGE: (11, 'out of range')>, 'etcdserver: mvcc: required revision has been compacted')
>>> status_of(CompactedError(), unknown=True)[0]
<StatusCode.UNKNOWN: (2, 'unknown')>
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import grpc

from ..errors import EtcdError

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ("abort", "status_of", "translate")

_CODES: dict[int, grpc.StatusCode] = {c.value[0]: c for c in grpc.StatusCode}

_F = TypeVar("_F", bound="Callable[..., Any]")


def status_of(exc: BaseException, *, unknown: bool = False) -> tuple[grpc.StatusCode, str] | None:
    """The status ``exc`` is sent as, or ``None`` if it is not a request's error (a bug)."""
    if isinstance(exc, EtcdError):
        code = grpc.StatusCode.UNKNOWN if unknown else _CODES[int(exc.code)]
        return code, str(exc)
    if isinstance(exc, (TypeError, ValueError)):
        code = grpc.StatusCode.UNKNOWN if unknown else grpc.StatusCode.INVALID_ARGUMENT
        return code, f"etcdlite: invalid request: {exc}"
    return None


def abort(context: grpc.ServicerContext, exc: BaseException, *, unknown: bool = False) -> NoReturn:
    """End the call with ``exc``'s status (re-raise it if it is not a request's error)."""
    status = status_of(exc, unknown=unknown)
    if status is None:
        raise exc
    context.abort(*status)


def translate(*, unknown: bool = False) -> Callable[[_F], _F]:
    """Decorate a servicer method: request errors become statuses (see the module docs)."""

    def decorate(fn: _F) -> _F:
        @functools.wraps(fn)
        def wrapper(self: object, request: object, context: grpc.ServicerContext) -> Any:
            try:
                return fn(self, request, context)
            except (EtcdError, TypeError, ValueError) as exc:
                abort(context, exc, unknown=unknown)

        return wrapper  # type: ignore[return-value]

    return decorate
