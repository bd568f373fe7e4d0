"""Cluster membership over etcd's ``Cluster`` service: ``member_list``, ``member_add``,
``member_remove``, ``member_update``, ``member_promote``.

A Store is one member and has none of these; here they change the real cluster, with
clientv3's arguments (peer URLs as ``http://host:port`` strings, member ids as ints) and
:class:`~etcdlite.remote.Member` in the answers. ``MemberList`` is a read, resent on the next
endpoint like ``Range``; the changes are writes, never resent once sent (see
:mod:`._endpoints`). etcd's refusals come back as :mod:`etcdlite.errors` classes
(``MemberNotFoundError``, ``PeerURLExistError``, ``MemberNotLearnerError``, ...).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..server._pb import rpc_pb2
from ._base import Calls
from ._convert import (
    MemberAddResponse,
    MemberListResponse,
    MemberPromoteResponse,
    MemberRemoveResponse,
    MemberUpdateResponse,
    member_from_pb,
    members_from_pb,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ("ClusterCalls",)


def _urls(peer_urls: Iterable[str]) -> list[str]:
    if isinstance(peer_urls, str):
        raise TypeError("peer_urls must be a list of URLs, not one string")
    return [str(u) for u in peer_urls]


class ClusterCalls(Calls):
    """The cluster calls of a remote client."""

    def member_list(self) -> MemberListResponse:
        """Every member of the cluster (etcd ``MemberList``, clientv3 ``MemberList``)."""
        pb = self._call(lambda s: s.cluster.MemberList, rpc_pb2.MemberListRequest(), safe=True)
        return MemberListResponse(*members_from_pb(pb))

    def member_add(
        self, peer_urls: Iterable[str], *, is_learner: bool = False
    ) -> MemberAddResponse:
        """Add a member that will listen on ``peer_urls`` (etcd ``MemberAdd``); start it
        afterwards with ``--initial-cluster-state existing``. A learner (``is_learner``) does
        not vote until :meth:`member_promote`. The answer's ``member`` has the new id."""
        request = rpc_pb2.MemberAddRequest(peerURLs=_urls(peer_urls), isLearner=is_learner)
        pb = self._call(lambda s: s.cluster.MemberAdd, request, safe=False)
        header, members = members_from_pb(pb)
        return MemberAddResponse(header, member_from_pb(pb.member), members)

    def member_remove(self, id: int) -> MemberRemoveResponse:
        """Remove member ``id`` from the cluster (etcd ``MemberRemove``)."""
        request = rpc_pb2.MemberRemoveRequest(ID=id)
        pb = self._call(lambda s: s.cluster.MemberRemove, request, safe=False)
        return MemberRemoveResponse(*members_from_pb(pb))

    def member_update(self, id: int, peer_urls: Iterable[str]) -> MemberUpdateResponse:
        """Change the peer URLs of member ``id`` (etcd ``MemberUpdate``)."""
        request = rpc_pb2.MemberUpdateRequest(ID=id, peerURLs=_urls(peer_urls))
        pb = self._call(lambda s: s.cluster.MemberUpdate, request, safe=False)
        return MemberUpdateResponse(*members_from_pb(pb))

    def member_promote(self, id: int) -> MemberPromoteResponse:
        """Make the learner ``id`` a voting member (etcd ``MemberPromote``); raises
        ``MemberNotLearnerError`` for a voting member."""
        request = rpc_pb2.MemberPromoteRequest(ID=id)
        pb = self._call(lambda s: s.cluster.MemberPromote, request, safe=False)
        return MemberPromoteResponse(*members_from_pb(pb))
