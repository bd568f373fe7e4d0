"""Auth management over etcd's ``Auth`` service, with the Store's names, signatures and response
types (:meth:`etcdlite.Store.auth_enable` and the rest): ``auth_enable``, ``auth_disable``,
``auth_status``, ``authenticate``, ``user_*`` and ``role_*``.

etcd decides everything (who may call them: root once auth is on; every error message, which
comes back as the :mod:`etcdlite.errors` class a Store raises). The reads (``user_get``,
``user_list``, ``role_get``, ``role_list``, ``auth_status``) are resent on the next endpoint like
``Range``; the rest are writes, never resent once sent (clientv3's ``retryAuthClient``; see
:mod:`._endpoints`). ``auth_status`` needs etcd 3.5: etcd 3.4 has no ``AuthStatus`` and answers
with a :class:`~etcdlite.remote.RemoteError` whose status is ``UNIMPLEMENTED``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._model_auth import (
    AuthDisableResponse,
    AuthEnableResponse,
    RoleAddResponse,
    RoleDeleteResponse,
    RoleGrantPermissionResponse,
    RoleRevokePermissionResponse,
    UserAddResponse,
    UserChangePasswordResponse,
    UserDeleteResponse,
    UserGrantRoleResponse,
    UserRevokeRoleResponse,
)
from .._store_auth import permission_range, text_arg, to_perm_type
from ..server._convert import header_from_pb
from ..server._pb import auth_pb2, rpc_pb2
from ._base import Calls
from ._convert import (
    auth_status_response_from_pb,
    authenticate_response_from_pb,
    role_get_response_from_pb,
    role_list_response_from_pb,
    user_get_response_from_pb,
    user_list_response_from_pb,
)

if TYPE_CHECKING:
    from .._model_auth import (
        AuthenticateResponse,
        AuthStatusResponse,
        PermissionType,
        RoleGetResponse,
        RoleListResponse,
        UserGetResponse,
        UserListResponse,
    )

__all__ = ("AuthCalls",)


class AuthCalls(Calls):
    """The ``Auth`` service's calls; see :mod:`etcdlite._store_auth` for what each does."""

    # -- auth on and off ----------------------------------------------------------------------

    def auth_enable(self) -> AuthEnableResponse:
        """etcd ``AuthEnable``; see :meth:`etcdlite.Store.auth_enable`."""
        pb = self._call(lambda s: s.auth.AuthEnable, rpc_pb2.AuthEnableRequest(), safe=False)
        return AuthEnableResponse(header_from_pb(pb.header))

    def auth_disable(self) -> AuthDisableResponse:
        """etcd ``AuthDisable``; see :meth:`etcdlite.Store.auth_disable`."""
        pb = self._call(lambda s: s.auth.AuthDisable, rpc_pb2.AuthDisableRequest(), safe=False)
        return AuthDisableResponse(header_from_pb(pb.header))

    def auth_status(self) -> AuthStatusResponse:
        """etcd ``AuthStatus`` (etcd 3.5 and later); see :meth:`etcdlite.Store.auth_status`."""
        pb = self._call(lambda s: s.auth.AuthStatus, rpc_pb2.AuthStatusRequest(), safe=True)
        return auth_status_response_from_pb(pb)

    def authenticate(self, name: str, password: str) -> AuthenticateResponse:
        """etcd ``Authenticate``: a token for ``name``; see :meth:`etcdlite.Store.authenticate`.
        The client's own token (``connect(user=...)``) is kept apart and does not change."""
        request = rpc_pb2.AuthenticateRequest(
            name=text_arg(name, "name"), password=text_arg(password, "password")
        )
        pb = self._call(lambda s: s.auth.Authenticate, request, safe=False)
        return authenticate_response_from_pb(pb)

    # -- users ----------------------------------------------------------------------------------

    def user_add(
        self, name: str, password: str = "", *, no_password: bool = False
    ) -> UserAddResponse:
        """etcd ``UserAdd`` (etcd hashes the password); see :meth:`etcdlite.Store.user_add`."""
        request = rpc_pb2.AuthUserAddRequest(
            name=text_arg(name, "name"),
            password="" if no_password else text_arg(password, "password"),
            options=auth_pb2.UserAddOptions(no_password=no_password),
        )
        pb = self._call(lambda s: s.auth.UserAdd, request, safe=False)
        return UserAddResponse(header_from_pb(pb.header))

    def user_get(self, name: str) -> UserGetResponse:
        """etcd ``UserGet``; see :meth:`etcdlite.Store.user_get`."""
        request = rpc_pb2.AuthUserGetRequest(name=text_arg(name, "name"))
        return user_get_response_from_pb(self._call(lambda s: s.auth.UserGet, request, safe=True))

    def user_list(self) -> UserListResponse:
        """etcd ``UserList``; see :meth:`etcdlite.Store.user_list`."""
        pb = self._call(lambda s: s.auth.UserList, rpc_pb2.AuthUserListRequest(), safe=True)
        return user_list_response_from_pb(pb)

    def user_delete(self, name: str) -> UserDeleteResponse:
        """etcd ``UserDelete``; see :meth:`etcdlite.Store.user_delete`."""
        request = rpc_pb2.AuthUserDeleteRequest(name=text_arg(name, "name"))
        pb = self._call(lambda s: s.auth.UserDelete, request, safe=False)
        return UserDeleteResponse(header_from_pb(pb.header))

    def user_change_password(self, name: str, password: str) -> UserChangePasswordResponse:
        """etcd ``UserChangePassword``; see :meth:`etcdlite.Store.user_change_password`."""
        request = rpc_pb2.AuthUserChangePasswordRequest(
            name=text_arg(name, "name"), password=text_arg(password, "password")
        )
        pb = self._call(lambda s: s.auth.UserChangePassword, request, safe=False)
        return UserChangePasswordResponse(header_from_pb(pb.header))

    def user_grant_role(self, user: str, role: str) -> UserGrantRoleResponse:
        """etcd ``UserGrantRole``; see :meth:`etcdlite.Store.user_grant_role`."""
        request = rpc_pb2.AuthUserGrantRoleRequest(
            user=text_arg(user, "user"), role=text_arg(role, "role")
        )
        pb = self._call(lambda s: s.auth.UserGrantRole, request, safe=False)
        return UserGrantRoleResponse(header_from_pb(pb.header))

    def user_revoke_role(self, name: str, role: str) -> UserRevokeRoleResponse:
        """etcd ``UserRevokeRole``; see :meth:`etcdlite.Store.user_revoke_role`."""
        request = rpc_pb2.AuthUserRevokeRoleRequest(
            name=text_arg(name, "name"), role=text_arg(role, "role")
        )
        pb = self._call(lambda s: s.auth.UserRevokeRole, request, safe=False)
        return UserRevokeRoleResponse(header_from_pb(pb.header))

    # -- roles ----------------------------------------------------------------------------------

    def role_add(self, name: str) -> RoleAddResponse:
        """etcd ``RoleAdd``; see :meth:`etcdlite.Store.role_add`."""
        request = rpc_pb2.AuthRoleAddRequest(name=text_arg(name, "name"))
        pb = self._call(lambda s: s.auth.RoleAdd, request, safe=False)
        return RoleAddResponse(header_from_pb(pb.header))

    def role_get(self, role: str) -> RoleGetResponse:
        """etcd ``RoleGet``; see :meth:`etcdlite.Store.role_get`."""
        request = rpc_pb2.AuthRoleGetRequest(role=text_arg(role, "role"))
        return role_get_response_from_pb(self._call(lambda s: s.auth.RoleGet, request, safe=True))

    def role_list(self) -> RoleListResponse:
        """etcd ``RoleList``; see :meth:`etcdlite.Store.role_list`."""
        pb = self._call(lambda s: s.auth.RoleList, rpc_pb2.AuthRoleListRequest(), safe=True)
        return role_list_response_from_pb(pb)

    def role_delete(self, role: str) -> RoleDeleteResponse:
        """etcd ``RoleDelete``; see :meth:`etcdlite.Store.role_delete`."""
        request = rpc_pb2.AuthRoleDeleteRequest(role=text_arg(role, "role"))
        pb = self._call(lambda s: s.auth.RoleDelete, request, safe=False)
        return RoleDeleteResponse(header_from_pb(pb.header))

    def role_grant_permission(
        self,
        name: str,
        key: str | bytes,
        range_end: str | bytes | None = None,
        perm_type: PermissionType | str | int = "READWRITE",
        *,
        prefix: bool = False,
    ) -> RoleGrantPermissionResponse:
        """etcd ``RoleGrantPermission``: ``perm_type`` on a key, a range, a prefix
        (``prefix=True``) or every key from ``key`` on (``range_end="\\0"``); see
        :meth:`etcdlite.Store.role_grant_permission`."""
        key_b, end_b = permission_range(key, range_end, prefix)
        perm = auth_pb2.Permission(
            permType=to_perm_type(perm_type).name, key=key_b, range_end=end_b
        )
        request = rpc_pb2.AuthRoleGrantPermissionRequest(name=text_arg(name, "name"), perm=perm)
        pb = self._call(lambda s: s.auth.RoleGrantPermission, request, safe=False)
        return RoleGrantPermissionResponse(header_from_pb(pb.header))

    def role_revoke_permission(
        self,
        role: str,
        key: str | bytes,
        range_end: str | bytes | None = None,
        *,
        prefix: bool = False,
    ) -> RoleRevokePermissionResponse:
        """etcd ``RoleRevokePermission`` of exactly that key or range; see
        :meth:`etcdlite.Store.role_revoke_permission`."""
        key_b, end_b = permission_range(key, range_end, prefix)
        request = rpc_pb2.AuthRoleRevokePermissionRequest(
            role=text_arg(role, "role"), key=key_b, range_end=end_b
        )
        pb = self._call(lambda s: s.auth.RoleRevokePermission, request, safe=False)
        return RoleRevokePermissionResponse(header_from_pb(pb.header))
