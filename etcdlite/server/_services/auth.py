"""etcdserverpb.Auth: users, roles, permissions, enabling auth and tokens, over the Store's
``auth_*``, ``user_*``, ``role_*`` and ``authenticate`` calls.

Each RPC translates one Store call; the Store decides who may make it (the ``root`` role for
everything but ``Authenticate`` and ``AuthStatus``, see :mod:`etcdlite._store_auth`) with the
identity :func:`.._status.translate` sets from the request's token. ``AuthStatus`` is etcd
3.5's (3.4 answers UNIMPLEMENTED). ``hashedPassword`` (etcd 3.5's way to send a bcrypt hash
instead of a password) is refused: etcdlite keeps scrypt hashes of its own and needs the
password; etcdctl and clientv3 send the password.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...errors import PermissionNotGivenError
from .. import _convert as cv
from .._pb import auth_pb2, rpc_pb2
from .._status import translate

if TYPE_CHECKING:
    import grpc

    from ..._store import Store

__all__ = ("AuthService",)

_HASHED = "hashedPassword (a bcrypt hash) is not supported: send the password"

# The generated modules carry no annotations for the message classes' constructors.
_rpc: Any = rpc_pb2
_auth: Any = auth_pb2


def _header(r: Any) -> dict[str, Any]:
    return {"header": cv.header_to_pb(r.header)}


class AuthService:
    """The Auth service in front of a Store."""

    #: Whether a client certificate's CN names the caller (``--client-cert-auth``).
    client_cert_auth = False

    def __init__(self, store: Store) -> None:
        self._store = store

    @translate()
    def AuthEnable(
        self, request: rpc_pb2.AuthEnableRequest, context: grpc.ServicerContext
    ) -> object:
        return _rpc.AuthEnableResponse(**_header(self._store.auth_enable()))

    @translate()
    def AuthDisable(
        self, request: rpc_pb2.AuthDisableRequest, context: grpc.ServicerContext
    ) -> object:
        return _rpc.AuthDisableResponse(**_header(self._store.auth_disable()))

    @translate()
    def AuthStatus(
        self, request: rpc_pb2.AuthStatusRequest, context: grpc.ServicerContext
    ) -> object:
        r = self._store.auth_status()
        return _rpc.AuthStatusResponse(
            **_header(r), enabled=r.enabled, authRevision=r.auth_revision
        )

    @translate()
    def Authenticate(
        self, request: rpc_pb2.AuthenticateRequest, context: grpc.ServicerContext
    ) -> object:
        r = self._store.authenticate(request.name, request.password)
        return _rpc.AuthenticateResponse(**_header(r), token=r.token)

    @translate()
    def UserAdd(self, request: rpc_pb2.AuthUserAddRequest, context: grpc.ServicerContext) -> object:
        if request.hashedPassword:
            raise ValueError(_HASHED)
        no_password = request.HasField("options") and request.options.no_password
        r = self._store.user_add(request.name, request.password, no_password=no_password)
        return _rpc.AuthUserAddResponse(**_header(r))

    @translate()
    def UserGet(self, request: rpc_pb2.AuthUserGetRequest, context: grpc.ServicerContext) -> object:
        r = self._store.user_get(request.name)
        return _rpc.AuthUserGetResponse(**_header(r), roles=list(r.roles))

    @translate()
    def UserList(
        self, request: rpc_pb2.AuthUserListRequest, context: grpc.ServicerContext
    ) -> object:
        r = self._store.user_list()
        return _rpc.AuthUserListResponse(**_header(r), users=list(r.users))

    @translate()
    def UserDelete(
        self, request: rpc_pb2.AuthUserDeleteRequest, context: grpc.ServicerContext
    ) -> object:
        return _rpc.AuthUserDeleteResponse(**_header(self._store.user_delete(request.name)))

    @translate()
    def UserChangePassword(
        self, request: rpc_pb2.AuthUserChangePasswordRequest, context: grpc.ServicerContext
    ) -> object:
        if request.hashedPassword:
            raise ValueError(_HASHED)
        r = self._store.user_change_password(request.name, request.password)
        return _rpc.AuthUserChangePasswordResponse(**_header(r))

    @translate()
    def UserGrantRole(
        self, request: rpc_pb2.AuthUserGrantRoleRequest, context: grpc.ServicerContext
    ) -> object:
        r = self._store.user_grant_role(request.user, request.role)
        return _rpc.AuthUserGrantRoleResponse(**_header(r))

    @translate()
    def UserRevokeRole(
        self, request: rpc_pb2.AuthUserRevokeRoleRequest, context: grpc.ServicerContext
    ) -> object:
        r = self._store.user_revoke_role(request.name, request.role)
        return _rpc.AuthUserRevokeRoleResponse(**_header(r))

    @translate()
    def RoleAdd(self, request: rpc_pb2.AuthRoleAddRequest, context: grpc.ServicerContext) -> object:
        return _rpc.AuthRoleAddResponse(**_header(self._store.role_add(request.name)))

    @translate()
    def RoleGet(self, request: rpc_pb2.AuthRoleGetRequest, context: grpc.ServicerContext) -> object:
        r = self._store.role_get(request.role)
        perms = [
            _auth.Permission(permType=int(p.perm_type), key=p.key, range_end=p.range_end)
            for p in r.perm
        ]
        return _rpc.AuthRoleGetResponse(**_header(r), perm=perms)

    @translate()
    def RoleList(
        self, request: rpc_pb2.AuthRoleListRequest, context: grpc.ServicerContext
    ) -> object:
        r = self._store.role_list()
        return _rpc.AuthRoleListResponse(**_header(r), roles=list(r.roles))

    @translate()
    def RoleDelete(
        self, request: rpc_pb2.AuthRoleDeleteRequest, context: grpc.ServicerContext
    ) -> object:
        return _rpc.AuthRoleDeleteResponse(**_header(self._store.role_delete(request.role)))

    @translate()
    def RoleGrantPermission(
        self, request: rpc_pb2.AuthRoleGrantPermissionRequest, context: grpc.ServicerContext
    ) -> object:
        if not request.HasField("perm"):
            raise PermissionNotGivenError()
        perm = request.perm
        r = self._store.role_grant_permission(
            request.name, perm.key, perm.range_end, int(perm.permType)
        )
        return _rpc.AuthRoleGrantPermissionResponse(**_header(r))

    @translate()
    def RoleRevokePermission(
        self, request: rpc_pb2.AuthRoleRevokePermissionRequest, context: grpc.ServicerContext
    ) -> object:
        r = self._store.role_revoke_permission(request.role, request.key, request.range_end)
        return _rpc.AuthRoleRevokePermissionResponse(**_header(r))
