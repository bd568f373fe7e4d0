"""etcdserverpb.Cluster as a single-member cluster.

``MemberList`` answers with this one member. ``MemberUpdate`` of this member changes the peer
URLs it reports, as etcd 3.4 does (a one-member cluster has its own quorum; nothing listens on
peer URLs here). The other changes answer with etcd's errors, never silently: removing this
member needs other started members ("re-configuration failed due to not enough started
members", code UNKNOWN on etcd 3.4, observed); an unknown member id is "member not found";
promoting this (voting) member is "can only promote a learner member". ``MemberAdd`` is refused
with the not-enough-started-members error: etcd 3.4 accepts it and then has no quorum, so every
later write times out (registered divergence ``member-add-single-member``).

With auth on, ``MemberList`` needs an authenticated user and the changes the ``root`` role
(etcd 3.4 let anyone list, GHSA-q8m4-xhhv-38mg).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import grpc

from ...errors import MemberNotFoundError, MemberNotLearnerError
from .._pb import rpc_pb2
from .._status import translate
from ._common import authorize

if TYPE_CHECKING:
    from ..._store import Store

__all__ = ("NOT_ENOUGH_STARTED_MEMBERS", "ClusterService", "MemberInfo")

#: etcd's ErrNotEnoughStartedMembers (etcdserver/errors.go), code UNKNOWN on 3.4 [O].
NOT_ENOUGH_STARTED_MEMBERS = "etcdserver: re-configuration failed due to not enough started members"


class MemberInfo(NamedTuple):
    """What MemberList says about this member (its id is the store's member id)."""

    name: str
    peer_urls: tuple[str, ...]
    client_urls: tuple[str, ...]


class ClusterService:
    """The Cluster service of a single embedded member."""

    #: Whether a client certificate's CN names the caller (``--client-cert-auth``).
    client_cert_auth = False

    def __init__(self, store: Store, member: MemberInfo) -> None:
        self._store = store
        self._member = member

    def _header(self) -> rpc_pb2.ResponseHeader:
        """The cluster services' header: etcd sends no revision in it."""
        hdr = self._store.header
        return rpc_pb2.ResponseHeader(
            cluster_id=hdr.cluster_id, member_id=hdr.member_id, raft_term=hdr.raft_term
        )

    def _members(self, member_id: int) -> list[rpc_pb2.Member]:
        m = self._member
        return [
            rpc_pb2.Member(
                ID=member_id, name=m.name, peerURLs=m.peer_urls, clientURLs=m.client_urls
            )
        ]

    @translate()
    def MemberList(
        self, request: rpc_pb2.MemberListRequest, context: grpc.ServicerContext
    ) -> object:
        authorize(self._store, admin=False)
        header = self._header()
        return rpc_pb2.MemberListResponse(header=header, members=self._members(header.member_id))

    @translate()
    def MemberAdd(self, request: rpc_pb2.MemberAddRequest, context: grpc.ServicerContext) -> object:
        authorize(self._store, admin=True)
        context.abort(grpc.StatusCode.UNKNOWN, NOT_ENOUGH_STARTED_MEMBERS)

    @translate()
    def MemberRemove(
        self, request: rpc_pb2.MemberRemoveRequest, context: grpc.ServicerContext
    ) -> object:
        self._own(request.ID)
        context.abort(grpc.StatusCode.UNKNOWN, NOT_ENOUGH_STARTED_MEMBERS)

    @translate()
    def MemberUpdate(
        self, request: rpc_pb2.MemberUpdateRequest, context: grpc.ServicerContext
    ) -> object:
        self._own(request.ID)
        self._member = self._member._replace(peer_urls=tuple(request.peerURLs))
        return rpc_pb2.MemberUpdateResponse(
            header=self._header(), members=self._members(request.ID)
        )

    @translate()
    def MemberPromote(
        self, request: rpc_pb2.MemberPromoteRequest, context: grpc.ServicerContext
    ) -> object:
        self._own(request.ID)
        raise MemberNotLearnerError()

    def _own(self, member_id: int) -> None:
        authorize(self._store, admin=True)
        if member_id != self._store.header.member_id:
            raise MemberNotFoundError()
