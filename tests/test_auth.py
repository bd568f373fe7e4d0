"""The auth core, :class:`etcdlite._auth.AuthStore` (SEMANTICS 2.9, 6.1, 6.3).

Management calls and their errors follow what etcd 3.4.23 answered to the same calls (probed
through its JSON gateway; ``tests/conformance/test_auth_mgmt.py`` replays them against a real
etcd). Time is a :class:`~etcdlite.testing.FakeClock`; passwords are hashed at the smallest
cost so the tests stay fast. Every test ends with the store's invariants (``_check``).
"""

from __future__ import annotations

import itertools
import json
import re
from typing import TYPE_CHECKING

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from etcdlite import Compare, Op
from etcdlite._auth import (
    DEFAULT_TOKEN_TTL,
    AuthStore,
    Credentials,
    _interval,
    hash_password,
)
from etcdlite._model import ResponseHeader
from etcdlite._model_auth import (
    AuthenticateResponse,
    Permission,
    PermissionType,
    RoleGetResponse,
)
from etcdlite.errors import (
    AuthError,
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
from etcdlite.testing import FakeClock

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from etcdlite import RequestOp

R, W, RW = PermissionType.READ, PermissionType.WRITE, PermissionType.READWRITE


@pytest.fixture
def auth() -> Iterator[AuthStore]:
    """A store with users root (root role) and alice (role ``app``: readwrite on ``app/``)."""
    store = AuthStore(hash_cost=1)
    store.user_add("root", store.hash_password("rootpw"))
    store.user_grant_role("root", "root")
    store.role_add("app")
    store.role_grant_permission("app", Permission(RW, b"app/", b"app0"))
    store.user_add("alice", store.hash_password("alicepw"))
    store.user_grant_role("alice", "app")
    store._check()
    yield store
    store._check()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1000.0)


# -- management errors, as etcd 3.4.23 answered them -------------------------------------------

NOPW = None

#: (id, auth enabled?, call, expected error or None for success)
MGMT: list[tuple[str, bool, Callable[[AuthStore], object], type[AuthError] | None]] = [
    ("user-add-empty", False, lambda a: a.user_add("", NOPW), UserEmptyError),
    ("user-add-exists", False, lambda a: a.user_add("alice", NOPW), UserAlreadyExistError),
    ("user-add-no-password", False, lambda a: a.user_add("bob", NOPW), None),
    ("user-get-empty", False, lambda a: a.user_get(""), UserNotFoundError),
    ("user-get-missing", False, lambda a: a.user_get("bob"), UserNotFoundError),
    ("user-delete-empty", False, lambda a: a.user_delete(""), UserNotFoundError),
    ("user-delete-missing", False, lambda a: a.user_delete("bob"), UserNotFoundError),
    ("user-delete-root-off", False, lambda a: a.user_delete("root"), None),
    ("user-delete-root-on", True, lambda a: a.user_delete("root"), InvalidAuthManagementError),
    ("user-delete-missing-on", True, lambda a: a.user_delete("bob"), UserNotFoundError),
    (
        "user-changepw-missing",
        False,
        lambda a: a.user_change_password("", hash_password("x", 1)),
        UserNotFoundError,
    ),
    ("grant-role-user-first", False, lambda a: a.user_grant_role("bob", "nope"), UserNotFoundError),
    ("grant-role-missing", False, lambda a: a.user_grant_role("alice", "nope"), RoleNotFoundError),
    ("grant-role-empty", False, lambda a: a.user_grant_role("alice", ""), RoleNotFoundError),
    ("grant-role-root-implicit", False, lambda a: a.user_grant_role("alice", "root"), None),
    ("grant-role-again", False, lambda a: a.user_grant_role("alice", "app"), None),
    ("revoke-role-missing-user", False, lambda a: a.user_revoke_role("", "x"), UserNotFoundError),
    (
        "revoke-role-not-granted",
        False,
        lambda a: a.user_revoke_role("alice", "nope"),
        RoleNotGrantedError,
    ),
    (
        "revoke-root-root-on",
        True,
        lambda a: a.user_revoke_role("root", "root"),
        InvalidAuthManagementError,
    ),
    ("revoke-root-root-off", False, lambda a: a.user_revoke_role("root", "root"), None),
    ("role-add-empty", False, lambda a: a.role_add(""), RoleEmptyError),
    ("role-add-exists", False, lambda a: a.role_add("app"), RoleAlreadyExistError),
    ("role-add-root", False, lambda a: a.role_add("root"), None),
    ("role-get-empty", False, lambda a: a.role_get(""), RoleNotFoundError),
    ("role-get-implicit-root", False, lambda a: a.role_get("root"), RoleNotFoundError),
    ("role-delete-empty", False, lambda a: a.role_delete(""), RoleNotFoundError),
    ("role-delete-root-on", True, lambda a: a.role_delete("root"), InvalidAuthManagementError),
    ("role-delete-implicit-root-off", False, lambda a: a.role_delete("root"), RoleNotFoundError),
    (
        "grant-perm-missing-role",
        False,
        lambda a: a.role_grant_permission("nope", Permission(R, b"k")),
        RoleNotFoundError,
    ),
    (
        "grant-perm-implicit-root",
        False,
        lambda a: a.role_grant_permission("root", Permission(R, b"k")),
        RoleNotFoundError,
    ),
    (
        "grant-perm-none",
        False,
        lambda a: a.role_grant_permission("nope", None),
        PermissionNotGivenError,
    ),
    (
        "revoke-perm-missing-role",
        False,
        lambda a: a.role_revoke_permission("", b"k"),
        RoleNotFoundError,
    ),
    (
        "revoke-perm-not-granted",
        False,
        lambda a: a.role_revoke_permission("app", b"app/"),
        PermissionNotGrantedError,
    ),
    (
        "authenticate-off",
        False,
        lambda a: a.authenticate("root", "rootpw", 0.0),
        AuthNotEnabledError,
    ),
    ("authenticate-bad-pw", True, lambda a: a.authenticate("root", "x", 0.0), AuthFailedError),
    ("authenticate-no-user", True, lambda a: a.authenticate("bob", "x", 0.0), AuthFailedError),
    ("authenticate-empty", True, lambda a: a.authenticate("", "", 0.0), AuthFailedError),
]


@pytest.mark.parametrize(
    ("enabled", "call", "error"), [m[1:] for m in MGMT], ids=[m[0] for m in MGMT]
)
def test_management_errors(
    auth: AuthStore,
    enabled: bool,
    call: Callable[[AuthStore], object],
    error: type[AuthError] | None,
) -> None:
    """Each management call answers etcd 3.4's error (or succeeds) in etcd's check order."""
    if enabled:
        auth.enable()
    if error is None:
        call(auth)
    else:
        with pytest.raises(error) as info:
            call(auth)
        assert type(info.value) is error


def test_enable_needs_root_user_with_root_role() -> None:
    """Enabling needs user root (RootUserNotExist) holding role root (RootRoleNotExist)."""
    auth = AuthStore(hash_cost=1)
    with pytest.raises(RootUserNotExistError):
        auth.enable()
    auth.user_add("root", NOPW)
    with pytest.raises(RootRoleNotExistError):
        auth.enable()
    auth.user_grant_role("root", "root")
    auth.enable()
    auth.enable()  # already on: nothing to do
    assert auth.enabled
    assert auth.role_list() == ()  # the root role is implicit
    auth.disable()
    auth.disable()
    assert auth.dump()["enabled"] is False
    auth._check()


def test_role_delete_takes_the_role_from_users(auth: AuthStore) -> None:
    """Deleting a role removes it from every user that had it, as etcd."""
    auth.user_grant_role("root", "app")
    auth.role_delete("app")
    assert auth.user_get("alice") == ()
    assert auth.user_get("root") == ("root",)
    assert auth.role_list() == ()
    assert not auth.is_range_permitted("alice", b"app/x", b"", R)


def test_lists_are_sorted(auth: AuthStore) -> None:
    """User, role and user-role lists come sorted, as etcd's backend keeps them."""
    for name in ("zed", "bob", "Carl"):
        auth.user_add(name, NOPW)
        auth.role_add(name)
        auth.user_grant_role("alice", name)
    assert auth.user_list() == ("Carl", "alice", "bob", "root", "zed")
    assert auth.role_list() == ("Carl", "app", "bob", "zed")
    assert auth.user_get("alice") == ("Carl", "app", "bob", "zed")


# -- the auth revision -------------------------------------------------------------------------


def _refused_role_add(auth: AuthStore) -> None:
    with pytest.raises(RoleAlreadyExistError):
        auth.role_add("app")


#: (id, call, whether it bumps the auth revision)
BUMPS: list[tuple[str, Callable[[AuthStore], object], bool]] = [
    ("user-add", lambda a: a.user_add("bob", NOPW), True),
    ("user-delete", lambda a: a.user_delete("alice"), True),
    ("user-changepw", lambda a: a.user_change_password("alice", hash_password("n", 1)), True),
    ("grant-role", lambda a: a.user_grant_role("alice", "root"), True),
    ("grant-role-again", lambda a: a.user_grant_role("alice", "app"), False),
    ("revoke-role", lambda a: a.user_revoke_role("alice", "app"), True),
    ("role-add", lambda a: a.role_add("r"), True),
    ("role-delete", lambda a: a.role_delete("app"), True),
    ("grant-perm", lambda a: a.role_grant_permission("app", Permission(R, b"k")), True),
    (
        "grant-perm-update",
        lambda a: a.role_grant_permission("app", Permission(R, b"app/", b"app0")),
        True,
    ),
    ("revoke-perm", lambda a: a.role_revoke_permission("app", b"app/", b"app0"), True),
    ("enable", lambda a: a.enable(), False),
    ("failed-call", lambda a: _refused_role_add(a), False),
    ("reads", lambda a: (a.user_list(), a.role_list(), a.user_get("alice")), False),
]


@pytest.mark.parametrize(("call", "bumps"), [b[1:] for b in BUMPS], ids=[b[0] for b in BUMPS])
def test_revision_bumps(auth: AuthStore, call: Callable[[AuthStore], object], bumps: bool) -> None:
    """Every change bumps the auth revision by one; enable and no-ops do not (etcd)."""
    before = auth.revision
    call(auth)
    assert auth.revision == before + bumps


def test_disable_bumps_the_revision(auth: AuthStore) -> None:
    """Disabling is a change (etcd commits a revision), enabling is not."""
    assert AuthStore().revision == 1
    auth.enable()
    before = auth.revision
    auth.disable()
    assert auth.revision == before + 1


# -- permissions as a role keeps them ---------------------------------------------------------


def test_grant_permission_order_update_and_duplicates() -> None:
    """Permissions stay sorted by key; a grant on the first (key, range_end) of that key only
    changes its type; a grant on another range of the same key goes after them (etcd 3.4.23
    answered exactly this list)."""
    auth = AuthStore(hash_cost=1)
    auth.role_add("a")
    grants = [
        Permission(R, b"a", b"b"),
        Permission(R, b"a"),
        Permission(W, b"a"),  # not the first "a" entry: appended, a duplicate range
        Permission(R, b"k"),
        Permission(RW, b"k"),
        Permission(W, b"k"),  # updates in place
        Permission(R, b"f", b"\0"),
    ]
    for perm in grants:
        auth.role_grant_permission("a", perm)
    assert auth.role_get("a") == (
        Permission(R, b"a", b"b"),
        Permission(R, b"a"),
        Permission(W, b"a"),
        Permission(R, b"f", b"\0"),
        Permission(W, b"k"),
    )
    auth.role_revoke_permission("a", b"a")  # removes both (a, "") entries
    assert auth.role_get("a") == (
        Permission(R, b"a", b"b"),
        Permission(R, b"f", b"\0"),
        Permission(W, b"k"),
    )
    assert RoleGetResponse(ResponseHeader(), auth.role_get("a")).perm[0].key == b"a"
    auth._check()


@pytest.mark.parametrize(
    ("key", "range_end"),
    [(b"", b""), (b"", b"q"), (b"", b"\0"), (b"q", b"q"), (b"z", b"a"), (b"b", b"a\xff")],
    ids=["empty-key", "empty-key-range", "empty-key-from", "empty-range", "inverted", "inverted2"],
)
def test_empty_and_inverted_permission_ranges_are_refused(key: bytes, range_end: bytes) -> None:
    """An empty key or a range that selects nothing is refused (etcd PR #15621), before the
    role is looked up; etcd 3.4.23 still stored them."""
    auth = AuthStore(hash_cost=1)
    with pytest.raises(InvalidAuthManagementError):
        auth.role_grant_permission("missing", Permission(R, key, range_end))
    auth.role_add("r")
    with pytest.raises(InvalidAuthManagementError):
        auth.role_grant_permission("r", Permission(R, key, range_end))
    assert auth.role_get("r") == ()
    auth.role_grant_permission("r", Permission(R, b"\0", b"\0"))  # every key: valid
    auth.role_grant_permission("r", Permission(R, b"a", b"a\0"))  # one key as a range: valid


# -- passwords ---------------------------------------------------------------------------------


def test_passwords_are_stored_only_as_salted_hashes(auth: AuthStore) -> None:
    """No plaintext password anywhere in the state or its dump (TOB-ETCD-012)."""
    dumped = json.dumps(auth.dump())
    assert "alicepw" not in dumped
    assert "rootpw" not in dumped
    stored = auth.users["alice"].password
    assert stored is not None
    assert re.fullmatch(r"scrypt\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+", stored)
    assert stored != hash_password("alicepw", 1)  # salted


@pytest.mark.parametrize("cost", [0, 17, -1])
def test_hash_cost_bounds(cost: int) -> None:
    """A cost outside 1..16 is refused, by the function and by the store."""
    with pytest.raises(ValueError, match="cost"):
        hash_password("x", cost)
    with pytest.raises(ValueError, match="hash_cost"):
        AuthStore(hash_cost=cost)


@pytest.mark.parametrize(
    "bad", ["", "plain", "scrypt$1$$", "bcrypt$1$AA==$AA==", "scrypt$x$AA==$AA=="]
)
def test_malformed_hashes_are_refused(auth: AuthStore, bad: str) -> None:
    """user_add and change_password take only hashes made by hash_password."""
    with pytest.raises(ValueError, match="password hash"):
        auth.user_add("bob", bad)
    with pytest.raises(ValueError, match="password hash"):
        auth.user_change_password("alice", bad)
    assert "bob" not in auth.users


def test_authenticate_checks_the_password(auth: AuthStore, clock: FakeClock) -> None:
    """The right password gives a token; a wrong one, any case change included, does not."""
    auth.enable()
    assert auth.user_of(auth.authenticate("alice", "alicepw", clock.now()), clock.now()) == "alice"
    for wrong in ("Alicepw", "alicepw ", "", "rootpw"):
        with pytest.raises(AuthFailedError):
            auth.authenticate("alice", wrong, clock.now())


def test_change_password(auth: AuthStore, clock: FakeClock) -> None:
    """After a change only the new password works."""
    auth.enable()
    auth.user_change_password("alice", auth.hash_password("new"))
    with pytest.raises(AuthFailedError):
        auth.authenticate("alice", "alicepw", clock.now())
    auth.authenticate("alice", "new", clock.now())


def test_no_password_user_cannot_authenticate(auth: AuthStore, clock: FakeClock) -> None:
    """A no-password user never logs in with a password, even after a password change (etcd
    keeps it a no-password user)."""
    auth.user_add("cn-user", NOPW)
    auth.enable()
    with pytest.raises(AuthFailedError):
        auth.authenticate("cn-user", "", clock.now())
    auth.user_change_password("cn-user", auth.hash_password("x"))
    assert auth.users["cn-user"].password is None
    with pytest.raises(AuthFailedError):
        auth.authenticate("cn-user", "x", clock.now())


def test_unknown_user_credentials_never_verify(auth: AuthStore, clock: FakeClock) -> None:
    """An unknown user gets credentials that cost a full hash and never verify."""
    auth.enable()
    creds = auth.credentials("nobody")
    assert isinstance(creds, Credentials)
    assert not creds.known
    assert not creds.verify("")
    with pytest.raises(AuthFailedError):
        auth.issue_token(creds, clock.now())


def test_unverified_credentials_get_no_token(auth: AuthStore, clock: FakeClock) -> None:
    """issue_token refuses credentials whose verify() was not called or failed."""
    auth.enable()
    creds = auth.credentials("alice")
    with pytest.raises(AuthFailedError):
        auth.issue_token(creds, clock.now())
    assert not creds.verify("wrong")
    with pytest.raises(AuthFailedError):
        auth.issue_token(creds, clock.now())
    assert creds.verify("alicepw")
    auth.issue_token(creds, clock.now())


def test_auth_change_between_check_and_token_is_old_revision(
    auth: AuthStore, clock: FakeClock
) -> None:
    """A change between reading credentials and issuing the token gives AuthOldRevision (etcd
    retries); auth turned off meanwhile gives AuthNotEnabled."""
    auth.enable()
    creds = auth.credentials("alice")
    assert creds.verify("alicepw")
    auth.role_add("other")
    with pytest.raises(AuthOldRevisionError):
        auth.issue_token(creds, clock.now())
    creds = auth.credentials("alice")
    assert creds.verify("alicepw")
    auth.disable()
    with pytest.raises(AuthNotEnabledError):
        auth.issue_token(creds, clock.now())


# -- tokens --------------------------------------------------------------------------------------


def test_token_format(auth: AuthStore, clock: FakeClock) -> None:
    """Simple tokens: 16 random letters, a dot and a counter (``xbsZXTKrjoONrDhh.43``)."""
    auth.enable()
    tokens = [auth.authenticate("alice", "alicepw", clock.now()) for _ in range(3)]
    for token in tokens:
        assert re.fullmatch(r"[A-Za-z]{16}\.\d+", token)
    counters = [int(t.split(".")[1]) for t in tokens]
    assert counters == sorted(set(counters))
    assert "token=<hidden>" in repr(AuthenticateResponse(ResponseHeader(), tokens[0]))


def test_token_ttl_is_refreshed_on_use(auth: AuthStore, clock: FakeClock) -> None:
    """A token lives 300 s from its last use, then is invalid."""
    auth.enable()
    token = auth.authenticate("alice", "alicepw", clock.now())
    clock.advance(DEFAULT_TOKEN_TTL - 1)
    assert auth.user_of(token, clock.now()) == "alice"  # refreshed here
    clock.advance(DEFAULT_TOKEN_TTL - 1)
    assert auth.user_of(token, clock.now()) == "alice"
    clock.advance(DEFAULT_TOKEN_TTL)
    with pytest.raises(InvalidAuthTokenError):
        auth.user_of(token, clock.now())
    with pytest.raises(InvalidAuthTokenError):  # and stays so
        auth.user_of(token, clock.now() - 100)


def test_token_ttl_parameter(clock: FakeClock) -> None:
    """``token_ttl`` sets the lifetime (etcd's --auth-token-ttl); it must be positive."""
    auth = AuthStore(hash_cost=1, token_ttl=2)
    auth.user_add("root", auth.hash_password("p"))
    auth.user_grant_role("root", "root")
    auth.enable()
    token = auth.authenticate("root", "p", clock.now())
    clock.advance(2)
    with pytest.raises(InvalidAuthTokenError):
        auth.user_of(token, clock.now())
    with pytest.raises(ValueError, match="token_ttl"):
        AuthStore(token_ttl=0)


def test_unknown_tokens_are_invalid(auth: AuthStore, clock: FakeClock) -> None:
    """Garbage, empty and look-alike tokens are InvalidAuthToken."""
    auth.enable()
    token = auth.authenticate("alice", "alicepw", clock.now())
    for bad in ("", "garbage", token + "0", token.upper(), token.split(".")[0]):
        with pytest.raises(InvalidAuthTokenError):
            auth.user_of(bad, clock.now())


def _disable_enable(auth: AuthStore) -> None:
    auth.disable()
    auth.enable()


#: (id, change, whether alice's token survives it), as etcd 3.4.23 behaved.
TOKEN_SURVIVAL: list[tuple[str, Callable[[AuthStore], object], bool]] = [
    ("grant-perm", lambda a: a.role_grant_permission("app", Permission(R, b"k")), True),
    ("revoke-perm", lambda a: a.role_revoke_permission("app", b"app/", b"app0"), True),
    ("revoke-role", lambda a: a.user_revoke_role("alice", "app"), True),
    ("other-user-changepw", lambda a: a.user_change_password("root", hash_password("n", 1)), True),
    ("changepw", lambda a: a.user_change_password("alice", hash_password("n", 1)), False),
    ("delete-user", lambda a: a.user_delete("alice"), False),
    ("disable", lambda a: a.disable(), False),
    ("disable-enable", lambda a: _disable_enable(a), False),
]


@pytest.mark.parametrize(
    ("change", "survives"), [t[1:] for t in TOKEN_SURVIVAL], ids=[t[0] for t in TOKEN_SURVIVAL]
)
def test_which_changes_invalidate_tokens(
    auth: AuthStore, clock: FakeClock, change: Callable[[AuthStore], object], survives: bool
) -> None:
    """Role and permission changes keep tokens (checks see the new permissions at once);
    a password change or deletion drops the user's tokens; disabling drops all."""
    auth.enable()
    token = auth.authenticate("alice", "alicepw", clock.now())
    change(auth)
    if survives:
        assert auth.user_of(token, clock.now()) == "alice"
    else:
        with pytest.raises(InvalidAuthTokenError):
            auth.user_of(token, clock.now())


def test_a_recreated_user_does_not_get_old_tokens(auth: AuthStore, clock: FakeClock) -> None:
    """Deleting and re-adding a user leaves the old token invalid (etcd 3.4.23)."""
    auth.enable()
    token = auth.authenticate("alice", "alicepw", clock.now())
    auth.user_delete("alice")
    auth.user_add("alice", auth.hash_password("alicepw"))
    with pytest.raises(InvalidAuthTokenError):
        auth.user_of(token, clock.now())


def test_expired_tokens_are_swept(auth: AuthStore, clock: FakeClock) -> None:
    """Tokens never used again are forgotten once expired, so memory stays bounded."""
    auth.enable()
    for _ in range(8):
        for _ in range(50):
            auth.authenticate("alice", "alicepw", clock.now())
        clock.advance(DEFAULT_TOKEN_TTL)
    assert len(auth._tokens) <= 128
    live = len(auth._tokens)
    assert live > 0
    assert auth.expire_tokens(clock.now()) == live  # all issued at least a TTL ago
    assert not auth._tokens


# -- permission checks ---------------------------------------------------------------------------


def _store_with(*perms: Permission) -> AuthStore:
    auth = AuthStore(hash_cost=1)
    auth.user_add("u", NOPW)
    for i, perm in enumerate(perms):
        auth.role_add(f"r{i}")
        auth.role_grant_permission(f"r{i}", perm)
        auth.user_grant_role("u", f"r{i}")
    return auth


#: (id, permissions, request key, range_end, type, permitted?)
CHECKS = [
    ("key-exact", [Permission(R, b"k")], b"k", b"", R, True),
    ("key-other", [Permission(R, b"k")], b"k0", b"", R, False),
    ("key-as-range", [Permission(R, b"k")], b"k", b"k\0", R, True),
    ("key-not-range", [Permission(R, b"k")], b"k", b"k\1", R, False),
    ("prefix-inside", [Permission(R, b"app/", b"app0")], b"app/", b"app0", R, True),
    ("prefix-key", [Permission(R, b"app/", b"app0")], b"app/x/y", b"", R, True),
    ("prefix-wider", [Permission(R, b"app/", b"app0")], b"a", b"z", R, False),
    ("prefix-end-excluded", [Permission(R, b"app/", b"app0")], b"app0", b"", R, False),
    ("write-not-read", [Permission(W, b"k")], b"k", b"", R, False),
    ("read-not-write", [Permission(R, b"k")], b"k", b"", W, False),
    ("readwrite", [Permission(RW, b"k")], b"k", b"", RW, True),
    ("readwrite-needs-both", [Permission(R, b"k")], b"k", b"", RW, False),
    ("from-key-needs-open-end", [Permission(R, b"a", b"z")], b"b", b"\0", R, False),
    ("from-key-covered", [Permission(R, b"a", b"\0")], b"b", b"\0", R, True),
    ("from-key-all", [Permission(R, b"\0", b"\0")], b"\0", b"\0", R, True),
    ("from-key-one-key-grant", [Permission(R, b"k")], b"k", b"\0", R, False),  # GHSA-xg4h
    (
        "adjacent-roles-merge",
        [Permission(R, b"a", b"c"), Permission(R, b"c", b"e")],
        b"b",
        b"d",
        R,
        True,
    ),
    ("gap-between", [Permission(R, b"a", b"c"), Permission(R, b"d", b"e")], b"b", b"d", R, False),
    (
        "point-bridges",
        [Permission(R, b"a", b"c"), Permission(R, b"c"), Permission(R, b"c\0", b"e")],
        b"a",
        b"e",
        R,
        True,
    ),
    ("inverted-request-is-first-key", [Permission(R, b"z")], b"z", b"a", R, True),
    ("inverted-request-denied", [Permission(R, b"y")], b"z", b"a", R, False),
    ("nothing", [], b"k", b"", R, False),
]


@pytest.mark.parametrize(
    ("perms", "key", "range_end", "perm_type", "expected"),
    [c[1:] for c in CHECKS],
    ids=[c[0] for c in CHECKS],
)
def test_is_range_permitted(
    perms: list[Permission],
    key: bytes,
    range_end: bytes,
    perm_type: PermissionType,
    expected: bool,
) -> None:
    """A request is permitted only if its whole interval is covered (range_perm_cache.go)."""
    auth = _store_with(*perms)
    assert auth.is_range_permitted("u", key, range_end, perm_type) is expected
    auth._check()


def test_root_and_unknown_users(auth: AuthStore) -> None:
    """A root-role user may do anything, an unknown user nothing."""
    assert auth.is_range_permitted("root", b"\0", b"\0", RW)
    assert not auth.is_range_permitted("ghost", b"app/x", b"", R)


def test_permission_changes_take_effect_at_once(auth: AuthStore) -> None:
    """The per-user cache is dropped on every change."""
    assert not auth.is_range_permitted("alice", b"k", b"", R)
    auth.role_grant_permission("app", Permission(R, b"k"))
    assert auth.is_range_permitted("alice", b"k", b"", R)
    auth.role_grant_permission("app", Permission(W, b"k"))  # updates in place: no more READ
    assert not auth.is_range_permitted("alice", b"k", b"", R)
    auth.user_revoke_role("alice", "app")
    assert not auth.is_range_permitted("alice", b"app/x", b"", R)
    auth.user_grant_role("alice", "root")
    assert auth.is_range_permitted("alice", b"anything", b"", W)


# A brute-force oracle over a small alphabet. Every endpoint below has at most 2 bytes from
# ALPHABET (plus b"\0" for one-key grants), so every gap between permissions begins at a string of
# at most 3 bytes: checking every such key decides coverage exactly.
ALPHABET = b"\0ab"
UNIVERSE = sorted(bytes(t) for n in range(4) for t in itertools.product(ALPHABET, repeat=n))
_keys = st.binary(max_size=2).map(lambda b: bytes(ALPHABET[x % 3] for x in b))


def _member(key: bytes, start: bytes, end: bytes | None) -> bool:
    return start <= key and (end is None or key < end)


@st.composite
def _permissions(draw: st.DrawFn) -> Permission:
    key = draw(_keys.filter(bool))
    kind = draw(st.sampled_from(["key", "range", "from"]))
    if kind == "key":
        end = b""
    elif kind == "from":
        end = b"\0"
    else:
        end = draw(_keys.filter(lambda e: e > key))
    return Permission(draw(st.sampled_from([R, W, RW])), key, end)


@settings(max_examples=300, deadline=None)
@given(
    perms=st.lists(_permissions(), max_size=5),
    key=_keys,
    range_end=st.one_of(st.just(b""), st.just(b"\0"), _keys),
    perm_type=st.sampled_from([R, W]),
)
def test_coverage_matches_brute_force(
    perms: list[Permission], key: bytes, range_end: bytes, perm_type: PermissionType
) -> None:
    """is_range_permitted agrees with checking every key of a small universe one by one."""
    auth = AuthStore(hash_cost=1)
    auth.user_add("u", NOPW)
    auth.role_add("r")
    for perm in perms:
        auth.role_grant_permission("r", perm)
    auth.user_grant_role("u", "r")
    granted = [
        _interval(p.key, p.range_end) for p in auth.role_get("r") if p.perm_type in (perm_type, RW)
    ]
    start, end = _interval(key, range_end)
    wanted = [k for k in UNIVERSE if _member(k, start, end)]
    expected = all(any(_member(k, s, e) for s, e in granted) for k in wanted)
    assert auth.is_range_permitted("u", key, range_end, perm_type) is expected
    auth._check()


# -- request and admin checks ------------------------------------------------------------------

#: (id, request, permitted for alice?) — alice has READWRITE on app/ and READ on ro/.
REQUESTS: list[tuple[str, RequestOp, bool]] = [
    ("get-key", Op.get("app/x"), True),
    ("get-prefix", Op.get("app/", prefix=True), True),
    ("get-outside", Op.get("other"), False),
    ("get-from-key", Op.get("app/", from_key=True), False),
    ("put", Op.put("app/x", "v"), True),
    ("put-read-only", Op.put("ro/x", "v"), False),
    ("put-write-only-prev-kv", Op.put("wo/x", "v", prev_kv=True), False),
    ("put-write-only", Op.put("wo/x", "v"), True),
    ("delete", Op.delete("app/", prefix=True), True),
    ("delete-read-only", Op.delete("ro/x"), False),
    ("delete-write-only-prev-kv", Op.delete("wo/x", prev_kv=True), False),
    ("txn-ok", Op.txn([Compare.value("ro/x") == b"1"], [Op.put("app/x")], [Op.get("ro/y")]), True),
    ("txn-compare-denied", Op.txn([Compare.version("secret") > 0], [], []), False),
    ("txn-compare-range", Op.txn([Compare.version("ro/", prefix=True) > 0], [], []), True),
    ("txn-failure-branch", Op.txn([], [Op.get("app/x")], [Op.put("secret", "v")]), False),
    (
        "txn-nested",  # CVE-2026-33343
        Op.txn([], [Op.txn([], [], [Op.txn([], [Op.delete("secret")], [])])], []),
        False,
    ),
    (
        "txn-nested-compare",
        Op.txn([], [Op.txn([Compare.value("secret") == b""], [], [])], []),
        False,
    ),
    ("txn-put-prev-kv", Op.txn([], [Op.put("wo/x", prev_kv=True)], []), False),  # CVE-2026-44283
    ("txn-nested-ok", Op.txn([], [Op.txn([], [Op.get("ro/a")], [Op.put("wo/b")])], []), True),
]


@pytest.fixture
def checker(auth: AuthStore) -> AuthStore:
    auth.role_add("ro")
    auth.role_grant_permission("ro", Permission(R, b"ro/", b"ro0"))
    auth.role_grant_permission("ro", Permission(W, b"wo/", b"wo0"))
    auth.user_grant_role("alice", "ro")
    auth.enable()
    return auth


@pytest.mark.parametrize(
    ("op", "permitted"), [r[1:] for r in REQUESTS], ids=[r[0] for r in REQUESTS]
)
def test_check_request(checker: AuthStore, op: RequestOp, permitted: bool) -> None:
    """Each request needs etcd's permissions, recursively through txns (SEMANTICS 2.9, 6.3)."""
    if permitted:
        checker.check_request("alice", op)
    else:
        with pytest.raises(PermissionDeniedError):
            checker.check_request("alice", op)
    checker.check_request("root", op)


def test_check_request_identities(checker: AuthStore) -> None:
    """No user is UserEmpty, an unknown user is denied, and nothing is checked while off."""
    with pytest.raises(UserEmptyError):
        checker.check_request(None, Op.get("app/x"))
    with pytest.raises(PermissionDeniedError):
        checker.check_request("ghost", Op.get("app/x"))
    checker.disable()
    checker.check_request(None, Op.put("secret", "v"))


def test_put_with_lease_needs_write_on_the_lease_keys(checker: AuthStore) -> None:
    """With ``lease_keys``, a put with a lease needs WRITE on every key already on that lease
    (etcd's checkLeasePuts), inside txns too."""
    leases = {7: [b"app/a", b"wo/b"], 8: [b"app/a", b"secret"]}
    checker.check_request("alice", Op.put("app/x", lease=7), lease_keys=leases.__getitem__)
    with pytest.raises(PermissionDeniedError):
        checker.check_request("alice", Op.put("app/x", lease=8), lease_keys=leases.__getitem__)
    with pytest.raises(PermissionDeniedError):
        checker.check_request(
            "alice", Op.txn([], [], [Op.put("app/x", lease=8)]), lease_keys=leases.__getitem__
        )


def test_check_admin(checker: AuthStore) -> None:
    """Admin calls need the root role: UserEmpty, UserNotFound, PermissionDenied (etcd's
    IsAdminPermitted); anyone passes while auth is off."""
    checker.check_admin("root")
    with pytest.raises(UserEmptyError):
        checker.check_admin(None)
    with pytest.raises(UserNotFoundError):
        checker.check_admin("ghost")
    with pytest.raises(PermissionDeniedError):
        checker.check_admin("alice")
    checker.disable()
    checker.check_admin(None)


# -- persistence -------------------------------------------------------------------------------


def test_dump_and_load(checker: AuthStore, clock: FakeClock) -> None:
    """load(dump()) gives the same users, roles, flag, revision and checks; tokens are gone
    (simple tokens live in memory only); the dump is JSON."""
    token = checker.authenticate("alice", "alicepw", clock.now())
    doc = json.loads(json.dumps(checker.dump()))
    copy = AuthStore(hash_cost=1)
    copy.load(doc)
    copy._check()
    assert copy.dump() == checker.dump()
    assert copy.enabled
    assert copy.revision == checker.revision
    assert copy.role_get("ro") == checker.role_get("ro")
    for op, permitted in [(r[1], r[2]) for r in REQUESTS]:
        try:
            copy.check_request("alice", op)
        except PermissionDeniedError:
            assert not permitted
        else:
            assert permitted
    copy.authenticate("alice", "alicepw", clock.now())
    with pytest.raises(InvalidAuthTokenError):
        copy.user_of(token, clock.now())
    checker.load(doc)
    with pytest.raises(InvalidAuthTokenError):
        checker.user_of(token, clock.now())


@pytest.mark.parametrize(
    "doc",
    [
        {},
        {"enabled": False, "revision": 1, "users": [], "roles": {}},
        {
            "enabled": False,
            "revision": 1,
            "users": {"u": {"password": "x", "roles": []}},
            "roles": {},
        },
        {"enabled": False, "revision": 1, "users": {}, "roles": {"r": [[9, "", ""]]}},
        {"enabled": False, "revision": 1, "users": {}, "roles": {"r": [[0, "!!", ""]]}},
        {
            "enabled": False,
            "revision": 1,
            "users": {"u": {"password": None, "roles": ["r"]}},
            "roles": {},
        },
        {
            "enabled": True,
            "revision": 1,
            "users": {"root": {"password": None, "roles": []}},
            "roles": {},
        },
    ],
    ids=["empty", "users-list", "bad-hash", "bad-type", "bad-base64", "unknown-role", "no-root"],
)
def test_load_refuses_what_dump_never_makes(auth: AuthStore, doc: dict[str, object]) -> None:
    """A malformed dump is a ValueError and leaves the state as it was."""
    before = auth.dump()
    with pytest.raises(ValueError):  # noqa: PT011 -- the message names the cause
        auth.load(doc)
    assert auth.dump() == before
