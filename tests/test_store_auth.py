"""The Store's auth views: who is checked, on which paths (the full matrix is in
tests/server/test_auth_matrix.py)."""

from __future__ import annotations

import pytest

from etcdlite import Store
from etcdlite.errors import (
    AuthFailedError,
    InvalidAuthTokenError,
    PermissionDeniedError,
)
from etcdlite.testing import FakeClock


@pytest.fixture
def store() -> Store:
    clock = FakeClock()
    s = Store(password_hash_cost=1, clock=clock, auth_token_ttl=300)
    s.user_add("root", "rpw")
    s.user_grant_role("root", "root")
    s.role_add("reader")
    s.role_grant_permission("reader", "app/", perm_type="read", prefix=True)
    s.user_add("alice", "pw")
    s.user_grant_role("alice", "reader")
    s.put("app/x", "1")
    s.auth_enable()
    return s


def test_the_owner_is_never_checked_and_views_always_are(store: Store) -> None:
    assert store.put("anything", "v").header.revision == 3  # the fast path, as the owner
    alice = store.as_user("alice", "pw")
    assert alice.get("app/x").kvs[0].value == b"1"
    with pytest.raises(PermissionDeniedError):
        alice.put("app/y", "2")  # a plain put: the fast path is off while auth is on
    with pytest.raises(PermissionDeniedError):
        alice.get("anything")  # a plain get: likewise
    with pytest.raises(AuthFailedError):
        store.as_user("alice", "wrong")


def test_a_watch_stream_from_a_view_checks_each_create(store: Store) -> None:
    alice = store.as_user("alice", "pw")
    with alice.watch_stream() as stream:
        assert stream.create("app/", prefix=True) == 0
        with pytest.raises(PermissionDeniedError):
            stream.create("app", range_end="\0")  # from-key: beyond the prefix


def test_tokens_expire_on_the_store_clock(store: Store) -> None:
    alice = store.as_user("alice", "pw")
    clock = store._clock
    assert isinstance(clock, FakeClock)
    clock.advance(200)
    alice.get("app/x")  # used: refreshed for another 300 s
    clock.advance(299)
    alice.get("app/x")
    clock.advance(301)
    with pytest.raises(InvalidAuthTokenError):
        alice.get("app/x")


def test_someone_elses_lease_cannot_be_kept_alive_or_revoked(store: Store) -> None:
    lease = store.grant(60).id
    store.put("secret", "s", lease=lease)
    alice = store.as_user("alice", "pw")
    with pytest.raises(PermissionDeniedError):
        alice.keep_alive_once(lease)
    with pytest.raises(PermissionDeniedError):
        alice.revoke(lease)
    with pytest.raises(PermissionDeniedError):
        alice.time_to_live(lease, keys=True)
    assert alice.time_to_live(lease).ttl > 0  # without the keys: any user


def test_a_user_reads_their_own_user_and_roles_only(store: Store) -> None:
    alice = store.as_user("alice", "pw")
    assert alice.user_get("alice").roles == ("reader",)
    assert [p.key for p in alice.role_get("reader").perm] == [b"app/"]
    with pytest.raises(PermissionDeniedError):
        alice.user_get("root")
    store.role_add("other")
    with pytest.raises(PermissionDeniedError):
        alice.role_get("other")


def test_a_certificate_name_that_is_no_user_is_refused(store: Store) -> None:
    from etcdlite._store_auth import AuthView, Caller

    ghost = AuthView(store, Caller(user="ghost"))
    with pytest.raises(PermissionDeniedError):
        ghost.grant(60)
    with pytest.raises(PermissionDeniedError):
        ghost.get("app/x")
