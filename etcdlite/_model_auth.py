"""The types of auth (etcd's ``authpb.Permission`` and the ``Auth`` service's responses), frozen
like the KV ones in :mod:`etcdlite._model`.

Field names follow etcd's protobuf fields in snake_case (``permType`` is ``perm_type``,
``authRevision`` is ``auth_revision``). A :class:`Permission` grants access to one key
(``range_end`` empty), to ``[key, range_end)``, or to every key from ``key`` on
(``range_end == b"\\0"``); a prefix ``p`` is ``[p, prefix_end(p))``.

>>> Permission(PermissionType.READWRITE, b"app/", b"app0")
Permission(perm_type=<PermissionType.READWRITE: 2>, key=b'app/', range_end=b'app0')
>>> from etcdlite._model import ResponseHeader
>>> AuthenticateResponse(ResponseHeader(revision=3), "xbsZXTKrjoONrDhh.43")
AuthenticateResponse(revision=3, token=<hidden>)
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

import attrs

from ._model_repr import response_repr

if TYPE_CHECKING:
    from ._model import ResponseHeader

__all__ = (
    "AuthDisableResponse",
    "AuthEnableResponse",
    "AuthStatusResponse",
    "AuthenticateResponse",
    "Permission",
    "PermissionType",
    "RoleAddResponse",
    "RoleDeleteResponse",
    "RoleGetResponse",
    "RoleGrantPermissionResponse",
    "RoleListResponse",
    "RoleRevokePermissionResponse",
    "UserAddResponse",
    "UserChangePasswordResponse",
    "UserDeleteResponse",
    "UserGetResponse",
    "UserGrantRoleResponse",
    "UserListResponse",
    "UserRevokeRoleResponse",
)


class PermissionType(enum.IntEnum):
    """authpb.Permission.Type: what a permission allows (READWRITE is both)."""

    READ = 0
    WRITE = 1
    READWRITE = 2


@attrs.frozen(weakref_slot=False)
class Permission:
    """authpb.Permission: ``perm_type`` access to one key, a range or everything from a key."""

    perm_type: PermissionType
    key: bytes
    range_end: bytes = b""


@attrs.frozen(weakref_slot=False)
class AuthEnableResponse:
    """etcdserverpb.AuthEnableResponse."""

    header: ResponseHeader

    __repr__ = response_repr


@attrs.frozen(weakref_slot=False)
class AuthDisableResponse:
    """etcdserverpb.AuthDisableResponse."""

    header: ResponseHeader

    __repr__ = response_repr


@attrs.frozen(weakref_slot=False)
class AuthStatusResponse:
    """etcdserverpb.AuthStatusResponse (etcd 3.5): whether auth is on, and the auth revision
    (bumped by every change to users, roles or the enabled flag)."""

    header: ResponseHeader
    enabled: bool
    auth_revision: int

    __repr__ = response_repr


@attrs.frozen(weakref_slot=False)
class AuthenticateResponse:
    """etcdserverpb.AuthenticateResponse: the ``token`` to send with later calls.

    The token is a credential: ``repr`` does not show it.
    """

    header: ResponseHeader
    token: str

    def __repr__(self) -> str:
        return f"AuthenticateResponse(revision={self.header.revision!r}, token=<hidden>)"


@attrs.frozen(weakref_slot=False)
class UserAddResponse:
    """etcdserverpb.AuthUserAddResponse."""

    header: ResponseHeader

    __repr__ = response_repr


@attrs.frozen(weakref_slot=False)
class UserGetResponse:
    """etcdserverpb.AuthUserGetResponse: the user's roles, sorted."""

    header: ResponseHeader
    roles: tuple[str, ...] = ()

    __repr__ = response_repr


@attrs.frozen(weakref_slot=False)
class UserListResponse:
    """etcdserverpb.AuthUserListResponse: every user name, sorted."""

    header: ResponseHeader
    users: tuple[str, ...] = ()

    __repr__ = response_repr


@attrs.frozen(weakref_slot=False)
class UserDeleteResponse:
    """etcdserverpb.AuthUserDeleteResponse."""

    header: ResponseHeader

    __repr__ = response_repr


@attrs.frozen(weakref_slot=False)
class UserChangePasswordResponse:
    """etcdserverpb.AuthUserChangePasswordResponse."""

    header: ResponseHeader

    __repr__ = response_repr


@attrs.frozen(weakref_slot=False)
class UserGrantRoleResponse:
    """etcdserverpb.AuthUserGrantRoleResponse."""

    header: ResponseHeader

    __repr__ = response_repr


@attrs.frozen(weakref_slot=False)
class UserRevokeRoleResponse:
    """etcdserverpb.AuthUserRevokeRoleResponse."""

    header: ResponseHeader

    __repr__ = response_repr


@attrs.frozen(weakref_slot=False)
class RoleAddResponse:
    """etcdserverpb.AuthRoleAddResponse."""

    header: ResponseHeader

    __repr__ = response_repr


@attrs.frozen(weakref_slot=False)
class RoleGetResponse:
    """etcdserverpb.AuthRoleGetResponse: the role's permissions, in etcd's order (by key)."""

    header: ResponseHeader
    perm: tuple[Permission, ...] = ()

    __repr__ = response_repr


@attrs.frozen(weakref_slot=False)
class RoleListResponse:
    """etcdserverpb.AuthRoleListResponse: every role name, sorted."""

    header: ResponseHeader
    roles: tuple[str, ...] = ()

    __repr__ = response_repr


@attrs.frozen(weakref_slot=False)
class RoleDeleteResponse:
    """etcdserverpb.AuthRoleDeleteResponse."""

    header: ResponseHeader

    __repr__ = response_repr


@attrs.frozen(weakref_slot=False)
class RoleGrantPermissionResponse:
    """etcdserverpb.AuthRoleGrantPermissionResponse."""

    header: ResponseHeader

    __repr__ = response_repr


@attrs.frozen(weakref_slot=False)
class RoleRevokePermissionResponse:
    """etcdserverpb.AuthRoleRevokePermissionResponse."""

    header: ResponseHeader

    __repr__ = response_repr
