"""Users, roles, key-range permissions and tokens (etcd's server/auth/store.go, 3.4 semantics).

:class:`AuthStore` is the auth state of one store: pure, synchronous and lock-free (the store
holds its lock around every call). It keeps

* **users**: a password hash (or none, for a ``--no-password`` user) and sorted role names;
* **roles**: permissions, kept in etcd's order (sorted by key; a grant on an existing
  ``(key, range_end)`` only changes its type);
* ``enabled`` and ``revision``, etcd's auth revision: 1 in a new store, bumped by every change
  (not by enabling, nor by granting a role a user already has, as etcd);
* **tokens**, in memory only: etcd's "simple" tokens with a TTL refreshed on use.

The ``root`` role is implicit: it may be granted without being added, and a user holding it
passes every permission check. Enabling needs a ``root`` user with that role; while auth is on,
the root user cannot be deleted nor lose the role, and the role cannot be deleted.

Passwords are kept only as salted scrypt hashes (:func:`hash_password`), never in plaintext, and
hashing is slow on purpose, so it has two halves the store can run outside its lock:
:meth:`AuthStore.credentials` (under the lock) and :meth:`Credentials.verify` (outside), then
:meth:`AuthStore.issue_token` (under the lock again), which refuses if the auth revision moved
meanwhile (``AuthOldRevisionError``: etcd retries, and so should the store).
:meth:`AuthStore.authenticate` does the three at once.

Tokens behave as etcd 3.4's simple tokens do (checked against etcd 3.4.23): a change to roles
or permissions does *not* invalidate them (later checks see the new permissions at once);
changing a user's password or deleting the user drops that user's tokens, and disabling auth
drops them all.

    >>> auth = AuthStore(hash_cost=1)
    >>> auth.user_add("root", auth.hash_password("secret"))
    >>> auth.user_grant_role("root", "root")
    >>> auth.role_add("reader")
    >>> auth.role_grant_permission("reader", Permission(PermissionType.READ, b"app/", b"app0"))
    >>> auth.user_add("alice", auth.hash_password("pw"))
    >>> auth.user_grant_role("alice", "reader")
    >>> auth.enable()
    >>> token = auth.authenticate("alice", "pw", now=100.0)
    >>> auth.user_of(token, now=101.0)
    'alice'
    >>> auth.is_range_permitted("alice", b"app/db", b"", PermissionType.READ)
    True
    >>> auth.is_range_permitted("alice", b"app/", b"app1", PermissionType.READ)  # not all of it
    False
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import hmac
import itertools
import os
import secrets
import string
from typing import TYPE_CHECKING, Any

from ._model import DeleteRangeRequest, PutRequest, RangeRequest, TxnRequest
from ._model_auth import Permission, PermissionType
from .errors import (
    AuthFailedError,
    AuthNotEnabledError,
    AuthOldRevisionError,
    InvalidAuthManagementError,
    InvalidAuthTokenError,
    PermissionDeniedError,
    PermissionNotGivenError,
    PermissionNotGrantedError,
    RoleAlreadyExistError,
    RoleEmptyError,
    RoleNotFoundError,
    RoleNotGrantedError,
    RootRoleNotExistError,
    RootUserNotExistError,
    UserAlreadyExistError,
    UserEmptyError,
    UserNotFoundError,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from ._model import RequestOp

__all__ = (
    "DEFAULT_HASH_COST",
    "DEFAULT_TOKEN_TTL",
    "ROOT",
    "AuthStore",
    "Credentials",
    "hash_password",
)

#: The name of the special user and of the special role.
ROOT = "root"
#: etcd's ``--auth-token-ttl`` default, in seconds.
DEFAULT_TOKEN_TTL = 300.0
#: log2 of scrypt's ``n``: 14 takes about 60 ms per hash, in the range of etcd's bcrypt cost 10.
DEFAULT_HASH_COST = 14
#: The costs :func:`hash_password` accepts; 1 is for tests only.
MIN_HASH_COST, MAX_HASH_COST = 1, 16

_SCRYPT_R, _SCRYPT_P, _SALT_BYTES, _DIGEST_BYTES = 8, 1, 16, 32
_TOKEN_LETTERS = string.ascii_letters
_TOKEN_LENGTH = 16
_FROM_KEY = b"\0"


# -- passwords -------------------------------------------------------------------------------


def _scrypt(password: bytes, salt: bytes, cost: int) -> bytes:
    n = 1 << cost
    return hashlib.scrypt(
        password,
        salt=salt,
        n=n,
        r=_SCRYPT_R,
        p=_SCRYPT_P,
        dklen=_DIGEST_BYTES,
        maxmem=2 * 128 * _SCRYPT_R * n + (1 << 20),
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str, cost: int = DEFAULT_HASH_COST) -> str:
    """A salted scrypt hash of ``password``: ``"scrypt$<cost>$<salt>$<digest>"`` (base64 parts).

    ``cost`` is log2 of scrypt's work factor (etcd's ``--bcrypt-cost`` analogue), from 1 (for
    tests) to 16; the salt is 16 random bytes, so two hashes of one password differ. Slow on
    purpose: call it without the store's lock.

    >>> h = hash_password("pw", cost=1)
    >>> h.startswith("scrypt$1$"), h != hash_password("pw", cost=1)
    (True, True)
    """
    if not MIN_HASH_COST <= cost <= MAX_HASH_COST:
        raise ValueError(f"hash cost must be in {MIN_HASH_COST}..{MAX_HASH_COST}, not {cost}")
    salt = os.urandom(_SALT_BYTES)
    digest = _scrypt(password.encode(), salt, cost)
    return f"scrypt${cost}${_b64(salt)}${_b64(digest)}"


def _parse_hash(stored: str) -> tuple[int, bytes, bytes]:
    """``(cost, salt, digest)`` of a :func:`hash_password` string, or ``ValueError``."""
    try:
        scheme, cost_text, salt_text, digest_text = stored.split("$")
        cost = int(cost_text)
        salt = base64.b64decode(salt_text, validate=True)
        digest = base64.b64decode(digest_text, validate=True)
    except (ValueError, TypeError) as exc:
        raise ValueError("not a password hash made by hash_password()") from exc
    if scheme != "scrypt" or not MIN_HASH_COST <= cost <= MAX_HASH_COST or not salt or not digest:
        raise ValueError("not a password hash made by hash_password()")
    return cost, salt, digest


class Credentials:
    """What :meth:`AuthStore.credentials` read, to check a password without the store's lock.

    It holds the user's stored hash (never a password). :meth:`verify` is slow and touches no
    shared state; pass the verified credentials to :meth:`AuthStore.issue_token`.
    """

    __slots__ = ("_hash", "known", "name", "revision", "verified")

    def __init__(self, name: str, stored_hash: str, revision: int, *, known: bool) -> None:
        self.name = name
        self._hash = stored_hash
        #: The auth revision when read; the token is refused if it has moved since.
        self.revision = revision
        #: False for an unknown user (the check still costs a full hash: no timing oracle).
        self.known = known
        self.verified = False

    def verify(self, password: str) -> bool:
        """Whether ``password`` matches (constant-time compare); remembers a success."""
        cost, salt, digest = _parse_hash(self._hash)
        ok = hmac.compare_digest(_scrypt(password.encode(), salt, cost), digest)
        self.verified = ok and self.known
        return self.verified

    def __repr__(self) -> str:
        return f"<Credentials {self.name!r} revision={self.revision} verified={self.verified}>"


# -- key intervals ---------------------------------------------------------------------------


def _interval(key: bytes, range_end: bytes) -> tuple[bytes, bytes | None]:
    """``[start, end)`` of a key, range or from-key (``end`` None: no end), as etcd reads them.

    One key is ``[key, key + b"\\0")``, its only member. An empty or inverted range (which
    selects nothing) is checked as its first key, so it is never more permissive than that.
    """
    if range_end == _FROM_KEY:
        return key, None
    if not range_end or range_end <= key:
        return key, key + b"\0"
    return key, range_end


class _Intervals:
    """Disjoint, sorted, non-adjacent ``[start, end)`` intervals (etcd's merged permissions)."""

    __slots__ = ("ends", "starts")

    def __init__(self, intervals: Iterable[tuple[bytes, bytes | None]]) -> None:
        starts: list[bytes] = []
        ends: list[bytes | None] = []
        for start, end in sorted(intervals, key=lambda iv: iv[0]):
            if end is not None and end <= start:
                continue  # an empty range (etcd 3.4 let roles hold them): covers nothing
            if starts:
                last = ends[-1]
                if last is None:
                    break  # the previous one runs to the end: it covers everything after
                if start <= last:  # overlapping or adjacent: merge
                    if end is None or end > last:
                        ends[-1] = end
                    continue
            starts.append(start)
            ends.append(end)
        self.starts = starts
        self.ends = ends

    def covers(self, start: bytes, end: bytes | None) -> bool:
        """Whether ``[start, end)`` lies entirely inside the set (O(log n))."""
        i = bisect.bisect_right(self.starts, start) - 1
        if i < 0:
            return False
        have = self.ends[i]
        return have is None or (end is not None and end <= have)


class _UserPerms:
    """One user's merged READ and WRITE intervals (etcd's ``unifiedRangePermissions``)."""

    __slots__ = ("read", "root", "write")

    def __init__(self, root: bool, read: _Intervals, write: _Intervals) -> None:
        self.root = root
        self.read = read
        self.write = write


class _User:
    __slots__ = ("password", "roles")

    def __init__(self, password: str | None, roles: list[str]) -> None:
        #: The hash, or None for a user added with no password.
        self.password = password
        self.roles = roles


class _Token:
    __slots__ = ("deadline", "user")

    def __init__(self, user: str, deadline: float) -> None:
        self.user = user
        self.deadline = deadline


# -- the store -------------------------------------------------------------------------------


class AuthStore:
    """Users, roles, permissions and tokens of one store (no lock: the store's)."""

    __slots__ = (
        "_cache",
        "_sweep_at",
        "_token_ids",
        "_tokens",
        "enabled",
        "hash_cost",
        "revision",
        "roles",
        "token_ttl",
        "users",
    )

    def __init__(
        self, *, hash_cost: int = DEFAULT_HASH_COST, token_ttl: float = DEFAULT_TOKEN_TTL
    ) -> None:
        if not MIN_HASH_COST <= hash_cost <= MAX_HASH_COST:
            raise ValueError(f"hash_cost must be in {MIN_HASH_COST}..{MAX_HASH_COST}")
        if not token_ttl > 0:
            raise ValueError("token_ttl must be positive")
        self.hash_cost = hash_cost
        self.token_ttl = float(token_ttl)
        self.enabled = False
        self.revision = 1
        self.users: dict[str, _User] = {}
        self.roles: dict[str, list[Permission]] = {}
        self._tokens: dict[str, _Token] = {}
        self._token_ids = itertools.count(1)
        self._sweep_at = 64
        self._cache: dict[str, _UserPerms] = {}

    def _changed(self) -> None:
        self.revision += 1
        self._cache.clear()

    # -- enable, disable ----------------------------------------------------------------------

    def enable(self) -> None:
        """Turn auth on (a no-op if on). Needs a ``root`` user with the ``root`` role:
        ``RootUserNotExistError``, then ``RootRoleNotExistError``. Does not bump the revision.
        """
        if self.enabled:
            return
        root = self.users.get(ROOT)
        if root is None:
            raise RootUserNotExistError()
        if ROOT not in root.roles:
            raise RootRoleNotExistError()
        self.enabled = True
        self._cache.clear()

    def disable(self) -> None:
        """Turn auth off (a no-op if off), dropping every token."""
        if not self.enabled:
            return
        self.enabled = False
        self._tokens.clear()
        self._changed()

    # -- users --------------------------------------------------------------------------------

    def hash_password(self, password: str) -> str:
        """:func:`hash_password` at this store's cost (slow: call it without the lock)."""
        return hash_password(password, self.hash_cost)

    def _user(self, name: str) -> _User:
        user = self.users.get(name)
        if user is None:
            raise UserNotFoundError()
        return user

    def user_add(self, name: str, password_hash: str | None) -> None:
        """Add a user with a :meth:`hash_password` hash, or with None for a no-password user
        (who can only be named by a TLS client certificate). ``UserEmptyError`` for an empty
        name, ``UserAlreadyExistError``; ``ValueError`` for a malformed hash.
        """
        if not name:
            raise UserEmptyError()
        if name in self.users:
            raise UserAlreadyExistError()
        if password_hash is not None:
            _parse_hash(password_hash)
        self.users[name] = _User(password_hash, [])
        self._changed()

    def user_get(self, name: str) -> tuple[str, ...]:
        """The user's roles, sorted; ``UserNotFoundError`` (an empty name too)."""
        return tuple(self._user(name).roles)

    def user_list(self) -> tuple[str, ...]:
        """Every user name, sorted (bytewise, as etcd's backend)."""
        return tuple(sorted(self.users))

    def user_delete(self, name: str) -> None:
        """Delete a user and drop its tokens. ``InvalidAuthManagementError`` for ``root``
        while auth is on, then ``UserNotFoundError``."""
        if self.enabled and name == ROOT:
            raise InvalidAuthManagementError()
        self._user(name)
        del self.users[name]
        self._drop_tokens(name)
        self._changed()

    def user_change_password(self, name: str, password_hash: str) -> None:
        """Set a user's password hash and drop its tokens; ``UserNotFoundError``.

        As etcd does, a no-password user stays one (the hash is ignored) but still loses its
        tokens.
        """
        user = self._user(name)
        _parse_hash(password_hash)
        if user.password is not None:
            user.password = password_hash
        self._drop_tokens(name)
        self._changed()

    def user_grant_role(self, name: str, role: str) -> None:
        """Give a user a role: ``UserNotFoundError``, then ``RoleNotFoundError`` (``root``
        needs no adding). Granting a role the user has changes nothing."""
        user = self._user(name)
        if role != ROOT and role not in self.roles:
            raise RoleNotFoundError()
        i = bisect.bisect_left(user.roles, role)
        if i < len(user.roles) and user.roles[i] == role:
            return
        user.roles.insert(i, role)
        self._changed()

    def user_revoke_role(self, name: str, role: str) -> None:
        """Take a role from a user: ``InvalidAuthManagementError`` for root's ``root`` role
        while auth is on, then ``UserNotFoundError``, ``RoleNotGrantedError``."""
        if self.enabled and name == ROOT and role == ROOT:
            raise InvalidAuthManagementError()
        user = self._user(name)
        if role not in user.roles:
            raise RoleNotGrantedError()
        user.roles.remove(role)
        self._changed()

    # -- roles --------------------------------------------------------------------------------

    def _role(self, name: str) -> list[Permission]:
        perms = self.roles.get(name)
        if perms is None:
            raise RoleNotFoundError()
        return perms

    def role_add(self, name: str) -> None:
        """Add a role (``root`` too): ``RoleEmptyError``, ``RoleAlreadyExistError``."""
        if not name:
            raise RoleEmptyError()
        if name in self.roles:
            raise RoleAlreadyExistError()
        self.roles[name] = []
        self._changed()

    def role_get(self, name: str) -> tuple[Permission, ...]:
        """The role's permissions in etcd's order; ``RoleNotFoundError`` (also for an implicit
        ``root`` that was never added, as etcd 3.4)."""
        return tuple(self._role(name))

    def role_list(self) -> tuple[str, ...]:
        """Every added role name, sorted."""
        return tuple(sorted(self.roles))

    def role_delete(self, name: str) -> None:
        """Delete a role and take it from every user. ``InvalidAuthManagementError`` for
        ``root`` while auth is on, then ``RoleNotFoundError``."""
        if self.enabled and name == ROOT:
            raise InvalidAuthManagementError()
        self._role(name)
        del self.roles[name]
        for user in self.users.values():
            if name in user.roles:
                user.roles.remove(name)
        self._changed()

    def role_grant_permission(self, name: str, perm: Permission | None) -> None:
        """Grant ``perm`` to a role, as etcd's ``RoleGrantPermission``.

        The first permission with the same key is updated in place if it has the same
        ``range_end``; otherwise the permission is added after those with the same key (so a
        role may hold two entries for one range, as in etcd). Errors, in order:
        ``PermissionNotGivenError`` for None, ``InvalidAuthManagementError`` for an empty key
        or an empty or inverted range (etcd PR #15621; 3.4.23 still took them),
        ``RoleNotFoundError``.
        """
        if perm is None:
            raise PermissionNotGivenError()
        key, range_end = perm.key, perm.range_end
        if not key or (range_end and range_end != _FROM_KEY and range_end <= key):
            raise InvalidAuthManagementError()
        perms = self._role(name)
        keys = [p.key for p in perms]
        i = bisect.bisect_left(keys, key)
        if i < len(perms) and perms[i].key == key and perms[i].range_end == range_end:
            perms[i] = Permission(PermissionType(perm.perm_type), key, range_end)
        else:
            j = bisect.bisect_right(keys, key)
            perms.insert(j, Permission(PermissionType(perm.perm_type), key, range_end))
        self._changed()

    def role_revoke_permission(self, name: str, key: bytes, range_end: bytes = b"") -> None:
        """Remove every permission of the role on exactly ``(key, range_end)``:
        ``RoleNotFoundError``, ``PermissionNotGrantedError``."""
        perms = self._role(name)
        kept = [p for p in perms if p.key != key or p.range_end != range_end]
        if len(kept) == len(perms):
            raise PermissionNotGrantedError()
        perms[:] = kept
        self._changed()

    # -- authentication and tokens ------------------------------------------------------------

    def credentials(self, name: str) -> Credentials:
        """Read what checking ``name``'s password needs (call under the store's lock).

        ``AuthNotEnabledError`` while auth is off; ``AuthFailedError`` for a no-password user
        (etcd answers "auth: authentication failed, password was given for no password user").
        An unknown user gets credentials that never verify but cost as much to check.
        """
        if not self.enabled:
            raise AuthNotEnabledError()
        user = self.users.get(name)
        if user is None:
            fake = f"scrypt${self.hash_cost}${_b64(os.urandom(_SALT_BYTES))}$"
            fake += _b64(os.urandom(_DIGEST_BYTES))
            return Credentials(name, fake, self.revision, known=False)
        if user.password is None:
            raise AuthFailedError()
        return Credentials(name, user.password, self.revision, known=True)

    def issue_token(self, credentials: Credentials, now: float) -> str:
        """A new simple token for verified credentials, valid ``token_ttl`` from ``now``.

        ``AuthFailedError`` unless :meth:`Credentials.verify` succeeded;
        ``AuthNotEnabledError`` if auth went off, ``AuthOldRevisionError`` if anything else
        changed since :meth:`credentials` (read them again and retry, as etcd does).
        """
        if not credentials.verified:
            raise AuthFailedError()
        if not self.enabled:
            raise AuthNotEnabledError()
        if credentials.revision != self.revision:
            raise AuthOldRevisionError()
        if len(self._tokens) >= self._sweep_at:
            self.expire_tokens(now)
            self._sweep_at = max(64, 2 * len(self._tokens))
        while True:
            prefix = "".join(secrets.choice(_TOKEN_LETTERS) for _ in range(_TOKEN_LENGTH))
            token = f"{prefix}.{next(self._token_ids)}"
            if token not in self._tokens:
                break
        self._tokens[token] = _Token(credentials.name, now + self.token_ttl)
        return token

    def authenticate(self, name: str, password: str, now: float) -> str:
        """:meth:`credentials`, :meth:`Credentials.verify` and :meth:`issue_token` in one call
        (holding whatever lock the caller holds during the slow hash).

        ``AuthNotEnabledError``; ``AuthFailedError`` for a wrong name or password.
        """
        creds = self.credentials(name)
        if not creds.verify(password):
            raise AuthFailedError()
        return self.issue_token(creds, now)

    def user_of(self, token: str, now: float) -> str:
        """The user a token was issued to, refreshing its TTL from ``now``.

        ``InvalidAuthTokenError`` for a token that is unknown, expired, or was dropped (by
        disabling auth, or by deleting its user or changing their password).
        """
        entry = self._tokens.get(token)
        if entry is None:
            raise InvalidAuthTokenError()
        if entry.deadline <= now:
            del self._tokens[token]
            raise InvalidAuthTokenError()
        entry.deadline = now + self.token_ttl
        return entry.user

    def expire_tokens(self, now: float) -> int:
        """Forget the tokens whose TTL ran out by ``now``; how many (O(tokens))."""
        dead = [t for t, e in self._tokens.items() if e.deadline <= now]
        for token in dead:
            del self._tokens[token]
        return len(dead)

    def _drop_tokens(self, name: str) -> None:
        dead = [t for t, e in self._tokens.items() if e.user == name]
        for token in dead:
            del self._tokens[token]

    # -- permission checks --------------------------------------------------------------------

    def _perms(self, name: str) -> _UserPerms | None:
        cached = self._cache.get(name)
        if cached is not None:
            return cached
        user = self.users.get(name)
        if user is None:
            return None
        read: list[tuple[bytes, bytes | None]] = []
        write: list[tuple[bytes, bytes | None]] = []
        for role in user.roles:
            for p in self.roles.get(role, ()):
                iv = _interval(p.key, p.range_end)
                if p.perm_type != PermissionType.WRITE:
                    read.append(iv)
                if p.perm_type != PermissionType.READ:
                    write.append(iv)
        perms = self._cache[name] = _UserPerms(
            ROOT in user.roles, _Intervals(read), _Intervals(write)
        )
        return perms

    def is_range_permitted(
        self, user: str, key: bytes, range_end: bytes, perm_type: PermissionType
    ) -> bool:
        """Whether ``user`` may ``perm_type`` the *whole* of a key (``range_end`` empty), a
        range or everything from ``key`` (``range_end == b"\\0"``); READWRITE asks both.

        A user with the ``root`` role may do anything; an unknown user nothing. An empty or
        inverted range is checked as its first key. O(log n) once the user's merged
        intervals are cached (any change clears the cache).
        """
        perms = self._perms(user)
        if perms is None:
            return False
        if perms.root:
            return True
        start, end = _interval(key, range_end)
        if perm_type != PermissionType.WRITE and not perms.read.covers(start, end):
            return False
        return perm_type == PermissionType.READ or perms.write.covers(start, end)

    def _require(self, user: str, key: bytes, range_end: bytes, perm_type: PermissionType) -> None:
        if not self.is_range_permitted(user, key, range_end, perm_type):
            raise PermissionDeniedError()

    def check_request(
        self,
        user: str | None,
        op: RequestOp,
        *,
        lease_keys: Callable[[int], Iterable[bytes]] | None = None,
    ) -> None:
        """Raise unless ``user`` may run ``op`` (nothing to check while auth is off).

        ``user`` None (no token) gives ``UserEmptyError``; a denial ``PermissionDeniedError``.
        As etcd's apply_auth.go, with the holes of 3.4 closed: a range needs READ over its
        interval; a put WRITE on its key, READ too with ``prev_kv``, and with a lease
        (given ``lease_keys``, which lists a lease's attached keys) WRITE on every key of the
        lease; a delete WRITE over its interval, READ too with ``prev_kv``; a txn READ on
        every compare and every op of both branches, nested txns included.
        """
        if not self.enabled:
            return
        if user is None:
            raise UserEmptyError()
        stack: list[RequestOp] = [op]
        while stack:
            req = stack.pop()
            if isinstance(req, RangeRequest):
                self._require(user, req.key, req.range_end, PermissionType.READ)
            elif isinstance(req, PutRequest):
                self._require(user, req.key, b"", PermissionType.WRITE)
                if req.prev_kv:
                    self._require(user, req.key, b"", PermissionType.READ)
                if req.lease and lease_keys is not None:
                    for key in lease_keys(req.lease):
                        self._require(user, key, b"", PermissionType.WRITE)
            elif isinstance(req, DeleteRangeRequest):
                self._require(user, req.key, req.range_end, PermissionType.WRITE)
                if req.prev_kv:
                    self._require(user, req.key, req.range_end, PermissionType.READ)
            elif isinstance(req, TxnRequest):
                for cmp in req.compare:
                    self._require(user, cmp.key, cmp.range_end, PermissionType.READ)
                stack.extend(req.success)
                stack.extend(req.failure)
            else:  # pragma: no cover - the model's RequestOp is closed
                raise TypeError(f"not a request: {type(req).__name__}")

    def check_admin(self, user: str | None) -> None:
        """Raise unless ``user`` has the ``root`` role (nothing to check while auth is off):
        ``UserEmptyError`` for None, ``UserNotFoundError`` for an unknown user,
        ``PermissionDeniedError`` otherwise (etcd's ``IsAdminPermitted``)."""
        if not self.enabled:
            return
        if not user:
            raise UserEmptyError()
        if ROOT not in self._user(user).roles:
            raise PermissionDeniedError()

    # -- persistence --------------------------------------------------------------------------

    def dump(self) -> dict[str, Any]:
        """Users, roles, the enabled flag and the revision as JSON-ready data (password hashes,
        never passwords; keys in base64). Tokens are not kept, as etcd's simple tokens."""
        return {
            "enabled": self.enabled,
            "revision": self.revision,
            "users": {
                name: {"password": u.password, "roles": list(u.roles)}
                for name, u in sorted(self.users.items())
            },
            "roles": {
                name: [[int(p.perm_type), _b64(p.key), _b64(p.range_end)] for p in perms]
                for name, perms in sorted(self.roles.items())
            },
        }

    def load(self, doc: dict[str, Any]) -> None:
        """Replace the state with a :meth:`dump` (dropping every token); ``ValueError`` if
        ``doc`` is not one."""
        try:
            users = {
                str(name): _User(u["password"], sorted({str(r) for r in u["roles"]}))
                for name, u in doc["users"].items()
            }
            roles = {
                str(name): [
                    Permission(
                        PermissionType(t),
                        base64.b64decode(k, validate=True),
                        base64.b64decode(e, validate=True),
                    )
                    for t, k, e in perms
                ]
                for name, perms in doc["roles"].items()
            }
            enabled, revision = bool(doc["enabled"]), int(doc["revision"])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"not an auth dump: {exc}") from exc
        for name, user in users.items():
            if user.password is not None:
                _parse_hash(user.password)
            if not name or any(r != ROOT and r not in roles for r in user.roles):
                raise ValueError(f"not an auth dump: user {name!r} or one of its roles")
        if enabled and ROOT not in users.get(ROOT, _User(None, [])).roles:
            raise ValueError("not an auth dump: auth enabled without a root user with root role")
        self.users, self.roles = users, roles
        self.enabled, self.revision = enabled, revision
        self._tokens.clear()
        self._cache.clear()

    # -- invariants ---------------------------------------------------------------------------

    def _check(self) -> None:
        """Roles sorted and known, permissions in key order, root rules, tokens and cache."""
        assert self.revision >= 1
        for name, user in self.users.items():
            assert name
            assert user.roles == sorted(set(user.roles)), (name, user.roles)
            for role in user.roles:
                assert role == ROOT or role in self.roles, (name, role)
        for name, perms in self.roles.items():
            assert name
            keys = [p.key for p in perms]
            assert keys == sorted(keys), (name, perms)
        if self.enabled:
            assert ROOT in self.users
            assert ROOT in self.users[ROOT].roles
        else:
            assert not self._tokens
        for entry in self._tokens.values():
            assert entry.user in self.users, entry.user
        for name, cached in list(self._cache.items()):
            assert name in self.users
            for ivs in (cached.read, cached.write):
                assert len(ivs.starts) == len(ivs.ends)
                for i, (start, end) in enumerate(zip(ivs.starts, ivs.ends, strict=True)):
                    assert end is None or start < end, (start, end)
                    if i + 1 < len(ivs.starts):
                        assert end is not None, ivs.starts
                        assert end < ivs.starts[i + 1], (end, ivs.starts)
            del self._cache[name]
            fresh = self._perms(name)
            self._cache[name] = cached
            assert fresh is not None
            assert fresh.root == cached.root
            assert (fresh.read.starts, fresh.read.ends) == (cached.read.starts, cached.read.ends)
            assert (fresh.write.starts, fresh.write.ends) == (
                cached.write.starts,
                cached.write.ends,
            )
