"""Auth on the Store: clientv3's ``Auth`` calls, who is calling, and the checks.

**Who is calling.** Code that holds a :class:`~etcdlite.Store` owns it: its calls are never
checked. Code that runs as a user gets a view (:meth:`AuthMethods.as_user`, or
:meth:`AuthMethods.with_token` for a token from :meth:`AuthMethods.authenticate`), whose every
call runs with that identity in the context variable :data:`caller`; the server sets it the
same way from a request's token (gRPC metadata ``token``, the gateway's ``Authorization``)
or client certificate. While auth is enabled the Store checks each call's identity under its
lock, in the same step as the call (so a permission change is never half-seen):

====================================  ==========================================================
call                                  needs (etcd 3.4's rules, with its known holes closed)
====================================  ==========================================================
get, history, watch                   READ over the whole range (a from-key watch: to the end)
put                                   WRITE on the key; READ too with ``prev_kv``; with a lease,
                                      WRITE on every key already on that lease
delete                                WRITE over the range; READ too with ``prev_kv``
txn                                   READ on every compare, and every op of both branches,
                                      nested txns included
grant, leases, time_to_live           an authenticated user; ``keys=True``: READ on every key
                                      of the lease (CVE-2023-32082)
revoke, keep_alive(_once)             WRITE on every key of the lease
status                                an authenticated user
compact, hash_kv, snapshot,           the ``root`` role (etcd 3.4 let anyone compact,
defragment, alarm_*, auth and user/   GHSA-q8m4-xhhv-38mg)
role management
====================================  ==========================================================

An identity without a token gets "etcdserver: user name is empty"; an unknown or expired
token "etcdserver: invalid auth token" (even while auth is off, as etcd 3.4); a denial
"etcdserver: permission denied".
"""

from __future__ import annotations

import contextvars
import functools
import inspect
from typing import TYPE_CHECKING, Any

import attrs

from ._model import prefix_end, to_bytes
from ._model_auth import (
    AuthDisableResponse,
    AuthEnableResponse,
    AuthenticateResponse,
    AuthStatusResponse,
    Permission,
    PermissionType,
    RoleAddResponse,
    RoleDeleteResponse,
    RoleGetResponse,
    RoleGrantPermissionResponse,
    RoleListResponse,
    RoleRevokePermissionResponse,
    UserAddResponse,
    UserChangePasswordResponse,
    UserDeleteResponse,
    UserGetResponse,
    UserGrantRoleResponse,
    UserListResponse,
    UserRevokeRoleResponse,
)
from ._watch_stream import WatchStream
from .errors import AuthOldRevisionError, PermissionDeniedError, UserEmptyError

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable

    from ._auth import AuthStore
    from ._clock import Clock
    from ._lease import Lessor
    from ._model import RequestOp, ResponseHeader

__all__ = ("OWNER", "AuthMethods", "AuthView", "Caller", "caller")


@attrs.frozen
class Caller:
    """Who a call runs as: a token (from :meth:`AuthMethods.authenticate`), or a user name
    already established another way (a client certificate's CN), or neither (anonymous)."""

    token: str | None = None
    user: str | None = None


#: The store's owner: in-process code calling the Store itself. Never checked.
OWNER = Caller(user="\0owner")
#: Who the current call runs as (set by views and by the server around each call).
caller: contextvars.ContextVar[Caller] = contextvars.ContextVar("etcdlite_caller", default=OWNER)

_PERM_TYPES = {
    "READ": PermissionType.READ,
    "WRITE": PermissionType.WRITE,
    "READWRITE": PermissionType.READWRITE,
}


def to_perm_type(value: PermissionType | str | int) -> PermissionType:
    """``"read"``, ``"write"``, ``"readwrite"`` (any case), or the enum or its number."""
    if isinstance(value, str):
        try:
            return _PERM_TYPES[value.upper()]
        except KeyError:
            raise ValueError(f"perm_type must be READ, WRITE or READWRITE, not {value!r}") from None
    try:
        return PermissionType(value)
    except ValueError:
        raise ValueError(f"perm_type must be READ, WRITE or READWRITE, not {value!r}") from None


class AuthMethods:
    """The Store's auth calls and checks (a mixin of :class:`~etcdlite.Store`)."""

    __slots__ = ()

    # what the Store provides
    _auth: AuthStore
    _lock: threading.Lock
    _clock: Clock
    _lessor: Lessor
    _hdr: ResponseHeader

    def _ensure_open(self) -> None: ...  # pragma: no cover - the Store's
    def _auth_changed(self) -> None: ...  # pragma: no cover - the Store's (log, fast paths)
    def _durable(self, seq: int = 0) -> None: ...  # pragma: no cover - the Store's

    # -- identity -----------------------------------------------------------------------------

    def _who(self) -> str | None:
        """The user the current call runs as (lock held); ``None`` for the owner. Raises
        ``UserEmptyError`` for an anonymous caller and ``InvalidAuthTokenError`` for a bad
        token, while auth is on."""
        who = caller.get()
        if who is OWNER:
            return None
        if who.token is not None:
            return self._auth.user_of(who.token, self._clock.now())
        if who.user is None:
            raise UserEmptyError()
        return who.user

    def _check_request(self, op: RequestOp) -> None:
        """Authorize a KV request (lock held; auth is on)."""
        user = self._who()
        if user is not None:
            leases = self._lessor.leases
            self._auth.check_request(
                user, op, lease_keys=lambda i: leases[i].keys if i in leases else ()
            )

    def _check_admin(self) -> None:
        user = self._who()
        if user is not None:
            self._auth.check_admin(user)

    def _check_user(self) -> None:
        """Authorize a call that needs only a known user (lock held; auth is on): a token's
        user exists (deleting a user drops their tokens), a certificate's CN may not."""
        user = self._who()
        if user is not None and user not in self._auth.users:
            raise PermissionDeniedError()

    def _check_lease(self, lease_id: int, perm_type: PermissionType) -> None:
        """Authorize ``perm_type`` on every key attached to the lease (lock held)."""
        user = self._who()
        lease = self._lessor.leases.get(lease_id)
        if user is not None and lease is not None:
            for key in lease.keys:
                if not self._auth.is_range_permitted(user, key, b"", perm_type):
                    raise PermissionDeniedError()

    def _check_range(self, key: bytes, end: bytes) -> None:
        """Authorize reading ``[key, end)`` in etcd's form (watch, history) (lock held)."""
        user = self._who()
        if user is not None and not self._auth.is_range_permitted(
            user, key, end, PermissionType.READ
        ):
            raise PermissionDeniedError()

    def check_token(self, token: str) -> str:
        """The user ``token`` belongs to (refreshing it); ``InvalidAuthTokenError`` if it is
        unknown or expired (also while auth is off, as etcd)."""
        with self._lock:
            self._ensure_open()
            return self._auth.user_of(token, self._clock.now())

    # -- views --------------------------------------------------------------------------------

    def with_token(self, token: str) -> AuthView:
        """A view of this store whose every call runs with ``token`` and is checked."""
        return AuthView(self, Caller(token=token))

    def as_user(self, name: str, password: str) -> AuthView:
        """Authenticate as ``name`` and return a view whose calls run as that user (it holds
        the token, so it stops working when the token expires, the password changes or the
        user is deleted, as a client's would)."""
        return self.with_token(self.authenticate(name, password).token)

    # -- auth on and off ----------------------------------------------------------------------

    def _manage(self, change: Any, *args: Any) -> ResponseHeader:
        """Run an auth change under the lock, as root, then log it."""
        with self._lock:
            self._ensure_open()
            if self._auth.enabled:  # as every other call: nothing is checked while auth is off
                self._check_admin()
            change(*args)
            self._auth_changed()
            hdr = self._hdr
        self._durable()
        return hdr

    def auth_enable(self) -> AuthEnableResponse:
        """Turn auth on (etcd ``AuthEnable``): needs a ``root`` user with the ``root`` role
        (``RootUserNotExistError``, ``RootRoleNotExistError``)."""
        return AuthEnableResponse(self._manage(self._auth.enable))

    def auth_disable(self) -> AuthDisableResponse:
        """Turn auth off (etcd ``AuthDisable``); every token is dropped."""
        return AuthDisableResponse(self._manage(self._auth.disable))

    def auth_status(self) -> AuthStatusResponse:
        """Whether auth is on, and the auth revision (etcd 3.5's ``AuthStatus``)."""
        with self._lock:
            self._ensure_open()
            return AuthStatusResponse(self._hdr, self._auth.enabled, self._auth.revision)

    def authenticate(self, name: str, password: str) -> AuthenticateResponse:
        """A token for ``name`` (etcd ``Authenticate``): ``AuthNotEnabledError`` while auth is
        off, ``AuthFailedError`` for a wrong name or password. The slow password hash runs
        without the store's lock."""
        for _ in range(8):
            with self._lock:
                self._ensure_open()
                creds = self._auth.credentials(name)
            creds.verify(password)
            with self._lock:
                try:
                    token = self._auth.issue_token(creds, self._clock.now())
                except AuthOldRevisionError:
                    continue  # auth changed while the password was checked: again, as etcd
                return AuthenticateResponse(self._hdr, token)
        raise AuthOldRevisionError()

    # -- users ----------------------------------------------------------------------------------

    def user_add(
        self, name: str, password: str = "", *, no_password: bool = False
    ) -> UserAddResponse:
        """Add a user (etcd ``UserAdd``); ``no_password=True`` for a user who can only be a
        client certificate's CN. The password is kept only as a salted scrypt hash."""
        hashed = None if no_password else self._auth.hash_password(text_arg(password, "password"))
        return UserAddResponse(self._manage(self._auth.user_add, text_arg(name, "name"), hashed))

    def user_get(self, name: str) -> UserGetResponse:
        """The user's roles (etcd ``UserGet``; a user may read their own, as in etcd 3.4)."""
        name = text_arg(name, "name")
        return UserGetResponse(*self._read(self._auth.user_get, name, own=lambda u: u == name))

    def user_list(self) -> UserListResponse:
        """Every user's name, sorted (etcd ``UserList``)."""
        return UserListResponse(*self._read(self._auth.user_list))

    def user_delete(self, name: str) -> UserDeleteResponse:
        """Delete a user (etcd ``UserDelete``); their tokens stop working."""
        return UserDeleteResponse(self._manage(self._auth.user_delete, text_arg(name, "name")))

    def user_change_password(self, name: str, password: str) -> UserChangePasswordResponse:
        """Set a user's password (etcd ``UserChangePassword``); their tokens stop working."""
        hashed = self._auth.hash_password(text_arg(password, "password"))
        header = self._manage(self._auth.user_change_password, text_arg(name, "name"), hashed)
        return UserChangePasswordResponse(header)

    def user_grant_role(self, user: str, role: str) -> UserGrantRoleResponse:
        """Give ``user`` the role ``role`` (etcd ``UserGrantRole``; ``root`` is implicit)."""
        header = self._manage(
            self._auth.user_grant_role, text_arg(user, "user"), text_arg(role, "role")
        )
        return UserGrantRoleResponse(header)

    def user_revoke_role(self, name: str, role: str) -> UserRevokeRoleResponse:
        """Take a role back from a user (etcd ``UserRevokeRole``)."""
        header = self._manage(
            self._auth.user_revoke_role, text_arg(name, "name"), text_arg(role, "role")
        )
        return UserRevokeRoleResponse(header)

    # -- roles ----------------------------------------------------------------------------------

    def role_add(self, name: str) -> RoleAddResponse:
        """Add a role with no permissions (etcd ``RoleAdd``)."""
        return RoleAddResponse(self._manage(self._auth.role_add, text_arg(name, "name")))

    def role_get(self, role: str) -> RoleGetResponse:
        """The role's permissions (etcd ``RoleGet``; a user may read the roles they hold, as
        in etcd 3.4)."""
        role = text_arg(role, "role")
        users = self._auth.users

        def holds(user: str) -> bool:
            return user in users and role in users[user].roles

        return RoleGetResponse(*self._read(self._auth.role_get, role, own=holds))

    def role_list(self) -> RoleListResponse:
        """Every role's name, sorted (etcd ``RoleList``)."""
        return RoleListResponse(*self._read(self._auth.role_list))

    def role_delete(self, role: str) -> RoleDeleteResponse:
        """Delete a role (etcd ``RoleDelete``); users holding it lose it."""
        return RoleDeleteResponse(self._manage(self._auth.role_delete, text_arg(role, "role")))

    def role_grant_permission(
        self,
        name: str,
        key: str | bytes,
        range_end: str | bytes | None = None,
        perm_type: PermissionType | str | int = "READWRITE",
        *,
        prefix: bool = False,
    ) -> RoleGrantPermissionResponse:
        """Let role ``name`` read, write or both (``perm_type``) a key, a range
        ``[key, range_end)``, every key with the prefix ``key`` (``prefix=True``) or every key
        from ``key`` on (``range_end="\\0"``) (etcd ``RoleGrantPermission``)."""
        perm = Permission(to_perm_type(perm_type), *permission_range(key, range_end, prefix))
        header = self._manage(self._auth.role_grant_permission, text_arg(name, "name"), perm)
        return RoleGrantPermissionResponse(header)

    def role_revoke_permission(
        self,
        role: str,
        key: str | bytes,
        range_end: str | bytes | None = None,
        *,
        prefix: bool = False,
    ) -> RoleRevokePermissionResponse:
        """Remove the role's permission on exactly that key or range (etcd
        ``RoleRevokePermission``)."""
        key_b, end_b = permission_range(key, range_end, prefix)
        header = self._manage(
            self._auth.role_revoke_permission, text_arg(role, "role"), key_b, end_b
        )
        return RoleRevokePermissionResponse(header)

    def _read(
        self, query: Any, *args: Any, own: Callable[[str], bool] | None = None
    ) -> tuple[ResponseHeader, Any]:
        """Run an auth read under the lock: root only, or a user for what ``own`` says is
        theirs."""
        with self._lock:
            self._ensure_open()
            if self._auth.enabled:
                user = self._who()
                if user is not None and not (own is not None and own(user)):
                    self._auth.check_admin(user)
            found = query(*args)
            return self._hdr, found


def text_arg(value: object, what: str) -> str:
    """``value`` if it is a ``str``; ``TypeError`` naming ``what`` otherwise."""
    if not isinstance(value, str):
        raise TypeError(f"{what} must be str, not {type(value).__name__}")
    return value


def permission_range(
    key: str | bytes, range_end: str | bytes | None, prefix: bool
) -> tuple[bytes, bytes]:
    """A permission's ``(key, range_end)`` from the ``role_*_permission`` arguments."""
    key_b = to_bytes(key, "key")
    if prefix:
        if range_end is not None:
            raise ValueError("give range_end or prefix=True, not both")
        return key_b, prefix_end(key_b)
    return key_b, b"" if range_end is None else to_bytes(range_end, "range_end")


class AuthView:
    """A store seen as one user: every call runs with that identity and is checked (see
    :mod:`etcdlite._store_auth`). It has the Store's methods; closing it does not close the
    store. A watch stream it opens is a view too, so each watch created on it is checked."""

    __slots__ = ("_caller", "_store")

    def __init__(self, store: Any, who: Caller) -> None:
        self._store = store
        self._caller = who

    @property
    def token(self) -> str | None:
        """The token the view's calls carry."""
        return self._caller.token

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if name.startswith("_") or not callable(attr):
            if name.startswith("_"):
                raise AttributeError(name)
            return attr
        who = self._caller
        if inspect.iscoroutinefunction(attr):

            @functools.wraps(attr)
            async def call_async(*args: Any, **kwargs: Any) -> Any:
                reset = caller.set(who)
                try:
                    return await attr(*args, **kwargs)
                finally:
                    caller.reset(reset)

            return call_async
        if inspect.isgeneratorfunction(attr):  # snapshot(): its body runs at each next()

            @functools.wraps(attr)
            def call_gen(*args: Any, **kwargs: Any) -> Any:
                inner = attr(*args, **kwargs)
                while True:
                    reset = caller.set(who)
                    try:
                        item = next(inner)
                    except StopIteration:
                        return
                    finally:
                        caller.reset(reset)
                    yield item

            return call_gen

        @functools.wraps(attr)
        def call(*args: Any, **kwargs: Any) -> Any:
            reset = caller.set(who)
            try:
                result = attr(*args, **kwargs)
            finally:
                caller.reset(reset)
            if isinstance(result, WatchStream):  # its creates are checked as this user too
                return AuthView(result, who)
            return result

        return call

    def __repr__(self) -> str:
        return f"<etcdlite.AuthView of {self._store!r}>"

    def __iter__(self) -> Any:
        return iter(self._store)

    def __aiter__(self) -> Any:
        return self._store.__aiter__()

    def __enter__(self) -> AuthView:
        if isinstance(self._store, WatchStream):
            self._store.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if isinstance(self._store, WatchStream):
            self._store.close()
