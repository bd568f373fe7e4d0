"""Errors to gRPC statuses, and who each call runs as.

**Statuses**: etcd's exact message with etcd's code.

* An :class:`~etcdlite.errors.EtcdError` travels with its ``code`` and ``message`` (the one
  table in :mod:`etcdlite.errors`).
* ``TypeError``/``ValueError`` from a request the model refuses become INVALID_ARGUMENT with
  the exception's text.
* The Lock and Election services wrap a clientv3 inside etcd, so every error they send has
  code UNKNOWN (SEMANTICS 2.8): :func:`translate` takes ``unknown=True`` for them.

**Identity**: every call runs as the caller its request names (:func:`caller_of`), in the
context variable :data:`etcdlite._store_auth.caller`, and the Store checks it (see
:mod:`etcdlite._store_auth`). The token is the gRPC metadata ``token``, else ``authorization``
(what the JSON gateway makes of the HTTP ``Authorization`` header), and is checked on every
call, also while auth is off (etcd 3.4 refuses a garbage token then too: "etcdserver: invalid
auth token", UNAUTHENTICATED). Without a token, a server run with ``--client-cert-auth``
takes the CN of the client's verified certificate as the user name, as etcd does (a CN that
names no user is refused as etcd refuses it: "permission denied" for keys, "user name not
found" for admin calls); otherwise the caller is anonymous, which the Store refuses with
"etcdserver: user name is empty" while auth is on. :func:`translate` sets the caller around a
unary call; the streaming servicers use :func:`acting` around each piece of their work that
calls the Store (a context variable does not follow into the threads a stream starts).

>>> from etcdlite.errors import CompactedError
>>> status_of(CompactedError())
(<StatusCode.OUT_OF_RANGE: (11, 'out of range')>, 'etcdserver: mvcc: required revision has been compacted')
>>> status_of(CompactedError(), unknown=True)[0]
<StatusCode.UNKNOWN: (2, 'unknown')>
>>> go_error_text(CompactedError())
'rpc error: code = OutOfRange desc = etcdserver: mvcc: required revision has been compacted'
"""

from __future__ import annotations

import contextlib
import functools
from typing import TYPE_CHECKING, Any, NoReturn, Protocol, TypeVar

import grpc

from .._store_auth import Caller, caller
from ..errors import EtcdError
from ._listen import client_common_name

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from .._store import Store

__all__ = (
    "Servicer",
    "abort",
    "acting",
    "acting_as",
    "caller_of",
    "go_error_text",
    "status_of",
    "translate",
)

_CODES: dict[int, grpc.StatusCode] = {c.value[0]: c for c in grpc.StatusCode}

#: A call with no token and no certificate's name.
ANONYMOUS = Caller()

_F = TypeVar("_F", bound="Callable[..., Any]")


class Servicer(Protocol):
    """What :func:`translate` and :func:`acting` need of a servicer."""

    _store: Store
    #: Whether the server runs with ``--client-cert-auth`` (a certificate's CN is a user).
    client_cert_auth: bool


def status_of(exc: BaseException, *, unknown: bool = False) -> tuple[grpc.StatusCode, str] | None:
    """The status ``exc`` is sent as, or ``None`` if it is not a request's error (a bug)."""
    if isinstance(exc, EtcdError):
        code = grpc.StatusCode.UNKNOWN if unknown else _CODES[int(exc.code)]
        return code, str(exc)
    if isinstance(exc, (TypeError, ValueError)):
        code = grpc.StatusCode.UNKNOWN if unknown else grpc.StatusCode.INVALID_ARGUMENT
        return code, f"etcdlite: invalid request: {exc}"
    return None


def go_error_text(exc: EtcdError) -> str:
    """``exc`` as a Go gRPC status error prints (``rpc error: code = PermissionDenied desc =
    ...``): the text etcd puts in a refused watch's ``cancel_reason``."""
    code = _CODES[int(exc.code)]
    name = "Canceled" if code is grpc.StatusCode.CANCELLED else code.name.title().replace("_", "")
    return f"rpc error: code = {name} desc = {exc}"


def abort(context: grpc.ServicerContext, exc: BaseException, *, unknown: bool = False) -> NoReturn:
    """End the call with ``exc``'s status (re-raise it if it is not a request's error)."""
    status = status_of(exc, unknown=unknown)
    if status is None:
        raise exc
    context.abort(*status)


def caller_of(store: Store, context: grpc.ServicerContext, *, client_cert_auth: bool) -> Caller:
    """Who the call runs as (see the module docs); ``InvalidAuthTokenError`` for a token the
    store does not know (or that expired), whether auth is on or off."""
    token = None
    for key, value in context.invocation_metadata() or ():
        if key == "token":
            token = value
            break
        if key == "authorization" and token is None:
            token = value
    if not token and not client_cert_auth:
        return ANONYMOUS
    if token:
        text = token.decode(errors="replace") if isinstance(token, bytes) else str(token)
        store.check_token(text)
        return Caller(token=text)
    name = client_common_name(context)
    return Caller(user=name) if name else ANONYMOUS


@contextlib.contextmanager
def acting(servicer: Servicer, context: grpc.ServicerContext) -> Iterator[Caller]:
    """Run the block as the call's caller (:func:`caller_of`; raises its errors)."""
    who = caller_of(servicer._store, context, client_cert_auth=servicer.client_cert_auth)
    reset = caller.set(who)
    try:
        yield who
    finally:
        caller.reset(reset)


@contextlib.contextmanager
def acting_as(who: Caller) -> Iterator[None]:
    """Run the block as ``who`` (for a thread or generator step of a stream)."""
    reset = caller.set(who)
    try:
        yield
    finally:
        caller.reset(reset)


def translate(*, unknown: bool = False) -> Callable[[_F], _F]:
    """Decorate a servicer method: it runs as the call's caller (:func:`acting`), and request
    errors become statuses (see the module docs)."""

    def decorate(fn: _F) -> _F:
        @functools.wraps(fn)
        def wrapper(self: Servicer, request: object, context: grpc.ServicerContext) -> Any:
            # acting(), spelled out: this runs on every unary call
            try:
                who = caller_of(self._store, context, client_cert_auth=self.client_cert_auth)
                reset = caller.set(who)
                try:
                    return fn(self, request, context)
                finally:
                    caller.reset(reset)
            except (EtcdError, TypeError, ValueError) as exc:
                abort(context, exc, unknown=unknown)

        return wrapper  # type: ignore[return-value]

    return decorate
