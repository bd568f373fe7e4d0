"""etcdserverpb.Lease: grant, revoke, time-to-live, list and the keep-alive stream."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...errors import EtcdError, LeaseNotFoundError
from .. import _convert as cv
from .._pb import rpc_pb2
from .._status import abort, acting, translate

if TYPE_CHECKING:
    from collections.abc import Iterator

    import grpc

    from ..._store import Store

__all__ = ("LeaseService",)


class LeaseService:
    """The Lease service in front of a Store."""

    #: Whether a client certificate's CN names the caller (``--client-cert-auth``).
    client_cert_auth = False

    def __init__(self, store: Store) -> None:
        self._store = store

    @translate()
    def LeaseGrant(
        self, request: rpc_pb2.LeaseGrantRequest, context: grpc.ServicerContext
    ) -> object:
        return cv.lease_grant_response_to_pb(self._store.grant(request.TTL, id=request.ID))

    @translate()
    def LeaseRevoke(
        self, request: rpc_pb2.LeaseRevokeRequest, context: grpc.ServicerContext
    ) -> object:
        return cv.lease_revoke_response_to_pb(self._store.revoke(request.ID))

    @translate()
    def LeaseTimeToLive(
        self, request: rpc_pb2.LeaseTimeToLiveRequest, context: grpc.ServicerContext
    ) -> object:
        r = self._store.time_to_live(request.ID, keys=request.keys)
        return cv.lease_time_to_live_response_to_pb(r)

    @translate()
    def LeaseLeases(
        self, request: rpc_pb2.LeaseLeasesRequest, context: grpc.ServicerContext
    ) -> object:
        return cv.lease_leases_response_to_pb(self._store.leases())

    def LeaseKeepAlive(
        self,
        request_iterator: Iterator[rpc_pb2.LeaseKeepAliveRequest],
        context: grpc.ServicerContext,
    ) -> Iterator[rpc_pb2.LeaseKeepAliveResponse]:
        """Each request renews its lease once; the stream ends when the client's side does.

        A lease that does not exist is answered with TTL 0, not an error, as etcd's stream does
        (the ``keepalive-unknown-lease`` divergence: the Store raises instead). Each renewal
        runs as the call's caller (WRITE on every key of the lease while auth is on); a refusal
        ends the stream with its status.
        """
        store = self._store
        for request in request_iterator:
            try:
                try:
                    with acting(self, context):
                        r = store.keep_alive_once(request.ID)
                except LeaseNotFoundError:
                    yield rpc_pb2.LeaseKeepAliveResponse(
                        header=cv.header_to_pb(store.header), ID=request.ID, TTL=0
                    )
                    continue
            except EtcdError as exc:
                abort(context, exc)
            yield cv.lease_keep_alive_response_to_pb(r)
