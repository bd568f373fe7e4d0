"""v3lockpb.Lock: Lock (blocking until held; the call's end withdraws) and Unlock.

Every error goes out with code UNKNOWN, as etcd's lock service (a clientv3 inside the server)
sends them (SEMANTICS 2.8).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import _convert as cv
from .._pb import v3lock_pb2
from .._status import translate
from ._common import run_cancellable

if TYPE_CHECKING:
    import grpc

    from ..._store import Store

__all__ = ("LockService",)


class LockService:
    """The Lock service in front of a Store."""

    #: Whether a client certificate's CN names the caller (``--client-cert-auth``).
    client_cert_auth = False

    def __init__(self, store: Store) -> None:
        self._store = store

    @translate(unknown=True)
    def Lock(self, request: v3lock_pb2.LockRequest, context: grpc.ServicerContext) -> object:
        store, name, lease = self._store, request.name, request.lease
        r = run_cancellable(context, lambda: store.alock(name, lease=lease))
        return cv.lock_response_to_pb(r)

    @translate(unknown=True)
    def Unlock(self, request: v3lock_pb2.UnlockRequest, context: grpc.ServicerContext) -> object:
        r = self._store.unlock(request.key)
        return v3lock_pb2.UnlockResponse(header=cv.header_to_pb(r.header))
