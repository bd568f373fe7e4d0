"""v3electionpb.Election: Campaign, Proclaim, Leader, Observe (a server stream) and Resign.

Every error goes out with code UNKNOWN, as etcd's election service sends them (SEMANTICS 2.8).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc

from ...errors import EtcdError
from .. import _convert as cv
from .._pb import v3election_pb2
from .._status import abort, acting, acting_as, translate
from ._common import pump, run_cancellable

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ..._model_lease import LeaderKey, LeaderResponse
    from ..._store import Store

__all__ = ("MISSING_LEADER", "ElectionService")

#: etcd's v3election ErrMissingLeaderKey, for Proclaim and Resign without a leader.
MISSING_LEADER = '"leader" field must be provided'


def _leader(
    request: v3election_pb2.ProclaimRequest | v3election_pb2.ResignRequest,
    context: grpc.ServicerContext,
) -> LeaderKey:
    if not request.HasField("leader"):
        context.abort(grpc.StatusCode.UNKNOWN, MISSING_LEADER)
    return cv.leader_key_from_pb(request.leader)


class ElectionService:
    """The Election service in front of a Store."""

    #: Whether a client certificate's CN names the caller (``--client-cert-auth``).
    client_cert_auth = False

    def __init__(self, store: Store) -> None:
        self._store = store

    @translate(unknown=True)
    def Campaign(
        self, request: v3election_pb2.CampaignRequest, context: grpc.ServicerContext
    ) -> object:
        store, name, value, lease = self._store, request.name, request.value, request.lease
        r = run_cancellable(context, lambda: store.acampaign(name, value, lease=lease))
        return cv.campaign_response_to_pb(r)

    @translate(unknown=True)
    def Proclaim(
        self, request: v3election_pb2.ProclaimRequest, context: grpc.ServicerContext
    ) -> object:
        r = self._store.proclaim(_leader(request, context), request.value)
        return v3election_pb2.ProclaimResponse(header=cv.header_to_pb(r.header))

    @translate(unknown=True)
    def Leader(
        self, request: v3election_pb2.LeaderRequest, context: grpc.ServicerContext
    ) -> object:
        return cv.leader_response_to_pb(self._store.leader(request.name))

    @translate(unknown=True)
    def Resign(
        self, request: v3election_pb2.ResignRequest, context: grpc.ServicerContext
    ) -> object:
        r = self._store.resign(_leader(request, context))
        return v3election_pb2.ResignResponse(header=cv.header_to_pb(r.header))

    def Observe(
        self, request: v3election_pb2.LeaderRequest, context: grpc.ServicerContext
    ) -> Iterator[v3election_pb2.LeaderResponse]:
        # The observer reads and watches as the caller whenever it is read: each read runs
        # with the call's identity (taken once, at the start of the call).
        try:
            with acting(self, context) as who:
                observe = self._store.observe(request.name)
        except (EtcdError, TypeError, ValueError) as exc:
            abort(context, exc, unknown=True)
        context.add_callback(observe.close)

        def receive(timeout: float) -> LeaderResponse:
            with acting_as(who):
                return observe.receive(timeout)

        try:
            yield from pump(context, receive, cv.leader_response_to_pb)
        finally:
            observe.close()
