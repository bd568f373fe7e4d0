"""etcd's answers read back as etcdlite's response types: the ones
:mod:`etcdlite.server._convert` does not read (it only writes them, for the server): cluster,
maintenance, lock, election and auth responses; and the member types a Store has no use for.

>>> from etcdlite.server._pb import rpc_pb2
>>> member_from_pb(rpc_pb2.Member(ID=7, name="a", peerURLs=["http://127.0.0.1:2380"]))
Member(id=7, name='a', peer_urls=('http://127.0.0.1:2380',), client_urls=(), is_learner=False)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from .._model_auth import (
    AuthenticateResponse,
    AuthStatusResponse,
    Permission,
    PermissionType,
    RoleGetResponse,
    RoleListResponse,
    UserGetResponse,
    UserListResponse,
)
from .._model_lease import CampaignResponse, LeaderResponse, LockResponse
from .._model_maintenance import AlarmMember, AlarmResponse, AlarmType, StatusResponse
from ..server._convert import header_from_pb, key_value_from_pb, leader_key_from_pb

if TYPE_CHECKING:
    from .._model import ResponseHeader
    from ..server._pb import auth_pb2, rpc_pb2, v3election_pb2, v3lock_pb2

__all__ = (
    "Member",
    "MemberAddResponse",
    "MemberListResponse",
    "MemberPromoteResponse",
    "MemberRemoveResponse",
    "MemberUpdateResponse",
    "alarm_response_from_pb",
    "auth_status_response_from_pb",
    "authenticate_response_from_pb",
    "campaign_response_from_pb",
    "leader_response_from_pb",
    "lock_response_from_pb",
    "member_from_pb",
    "members_from_pb",
    "permission_from_pb",
    "role_get_response_from_pb",
    "role_list_response_from_pb",
    "status_response_from_pb",
    "user_get_response_from_pb",
    "user_list_response_from_pb",
)


@attrs.frozen(weakref_slot=False)
class Member:
    """etcdserverpb.Member: a cluster member. ``name`` and ``client_urls`` are empty until a
    member added with ``member_add`` has started."""

    id: int
    name: str
    peer_urls: tuple[str, ...]
    client_urls: tuple[str, ...] = ()
    is_learner: bool = False


@attrs.frozen(weakref_slot=False)
class MemberListResponse:
    """etcdserverpb.MemberListResponse: every member (etcd sends no revision in the header)."""

    header: ResponseHeader
    members: tuple[Member, ...]


@attrs.frozen(weakref_slot=False)
class MemberAddResponse:
    """etcdserverpb.MemberAddResponse: the added ``member`` (with its new id) and the members
    after the change."""

    header: ResponseHeader
    member: Member
    members: tuple[Member, ...]


@attrs.frozen(weakref_slot=False)
class MemberRemoveResponse:
    """etcdserverpb.MemberRemoveResponse: the members after the change."""

    header: ResponseHeader
    members: tuple[Member, ...]


@attrs.frozen(weakref_slot=False)
class MemberUpdateResponse:
    """etcdserverpb.MemberUpdateResponse: the members after the change."""

    header: ResponseHeader
    members: tuple[Member, ...]


@attrs.frozen(weakref_slot=False)
class MemberPromoteResponse:
    """etcdserverpb.MemberPromoteResponse: the members after the change."""

    header: ResponseHeader
    members: tuple[Member, ...]


def member_from_pb(pb: rpc_pb2.Member) -> Member:
    return Member(pb.ID, pb.name, tuple(pb.peerURLs), tuple(pb.clientURLs), pb.isLearner)


def members_from_pb(
    pb: rpc_pb2.MemberListResponse
    | rpc_pb2.MemberRemoveResponse
    | rpc_pb2.MemberUpdateResponse
    | rpc_pb2.MemberPromoteResponse
    | rpc_pb2.MemberAddResponse,
) -> tuple[ResponseHeader, tuple[Member, ...]]:
    """The header and members every cluster response carries."""
    return header_from_pb(pb.header), tuple(member_from_pb(m) for m in pb.members)


def status_response_from_pb(pb: rpc_pb2.StatusResponse) -> StatusResponse:
    return StatusResponse(
        header_from_pb(pb.header),
        pb.version,
        pb.dbSize,
        pb.leader,
        pb.raftIndex,
        pb.raftTerm,
        pb.raftAppliedIndex,
        tuple(pb.errors),
        pb.dbSizeInUse,
        pb.isLearner,
    )


def alarm_response_from_pb(pb: rpc_pb2.AlarmResponse) -> AlarmResponse:
    alarms = tuple(AlarmMember(a.memberID, AlarmType(a.alarm)) for a in pb.alarms)
    return AlarmResponse(header_from_pb(pb.header), alarms)


def lock_response_from_pb(pb: v3lock_pb2.LockResponse) -> LockResponse:
    return LockResponse(header_from_pb(pb.header), pb.key)


def campaign_response_from_pb(pb: v3election_pb2.CampaignResponse) -> CampaignResponse:
    return CampaignResponse(header_from_pb(pb.header), leader_key_from_pb(pb.leader))


def leader_response_from_pb(pb: v3election_pb2.LeaderResponse) -> LeaderResponse:
    return LeaderResponse(header_from_pb(pb.header), key_value_from_pb(pb.kv))


def permission_from_pb(pb: auth_pb2.Permission) -> Permission:
    """authpb.Permission as a :class:`~etcdlite.Permission`.

    >>> from etcdlite.server._pb import auth_pb2
    >>> permission_from_pb(auth_pb2.Permission(permType=0, key=b"app/", range_end=b"app0"))
    Permission(perm_type=<PermissionType.READ: 0>, key=b'app/', range_end=b'app0')
    """
    return Permission(PermissionType(pb.permType), pb.key, pb.range_end)


def authenticate_response_from_pb(pb: rpc_pb2.AuthenticateResponse) -> AuthenticateResponse:
    return AuthenticateResponse(header_from_pb(pb.header), pb.token)


def auth_status_response_from_pb(pb: rpc_pb2.AuthStatusResponse) -> AuthStatusResponse:
    return AuthStatusResponse(header_from_pb(pb.header), pb.enabled, pb.authRevision)


def user_get_response_from_pb(pb: rpc_pb2.AuthUserGetResponse) -> UserGetResponse:
    return UserGetResponse(header_from_pb(pb.header), tuple(pb.roles))


def user_list_response_from_pb(pb: rpc_pb2.AuthUserListResponse) -> UserListResponse:
    return UserListResponse(header_from_pb(pb.header), tuple(pb.users))


def role_get_response_from_pb(pb: rpc_pb2.AuthRoleGetResponse) -> RoleGetResponse:
    return RoleGetResponse(header_from_pb(pb.header), tuple(permission_from_pb(p) for p in pb.perm))


def role_list_response_from_pb(pb: rpc_pb2.AuthRoleListResponse) -> RoleListResponse:
    return RoleListResponse(header_from_pb(pb.header), tuple(pb.roles))
