"""The authorization matrix (issue 7): every RPC and every Store call, as every kind of caller,
in the request shapes that once slipped past etcd's checks, against one expected table.

One served store with auth on holds these callers: nobody (no token), a garbage token, an
expired token (the store's FakeClock moved past its TTL), the token of a deleted user, a user
with no roles, a reader, a writer and a reader-writer of the prefix ``app/``, a user whose
READWRITE was cut to READ after its token was issued (a stale token sees the new permissions),
and root. Each case runs once per caller through gRPC (``token`` metadata) and once through
the Store (``store.with_token`` views), and its outcome is compared with :data:`TABLE`; any
call allowed where the table says it is refused is a bypass, and there must be none.

The advisories of SEMANTICS 6.3, one named test each (against real etcd 3.4.23 too), are in
``test_auth_advisories.py``.
"""

from __future__ import annotations

import itertools
import queue
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import grpc
import pytest

from etcdlite import Compare, Op, Store
from etcdlite._store_auth import AuthView, Caller
from etcdlite.errors import (
    EtcdError,
    InvalidAuthTokenError,
    MemberNotLearnerError,
    PermissionDeniedError,
    UserEmptyError,
)
from etcdlite.server import _convert as cv
from etcdlite.server import serve
from etcdlite.server._pb import (
    auth_pb2,
    rpc_pb2,
    rpc_pb2_grpc,
    v3election_pb2,
    v3election_pb2_grpc,
    v3lock_pb2,
    v3lock_pb2_grpc,
)
from etcdlite.testing import FakeClock

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

TIMEOUT = 10.0
ROOT_PW = "rootpw"

_rpc: Any = rpc_pb2_grpc
_pb: Any = rpc_pb2
_auth: Any = auth_pb2
_lock: Any = v3lock_pb2_grpc
_election: Any = v3election_pb2_grpc

#: The callers, in the table's column order after the four that are refused alike.
USERS = ("norole", "reader", "writer", "prefix", "stale", "root")
IDENTITIES = ("none", "garbage", "expired", "deleted", *USERS)

# fmt: off
#: What each case gives each user: "." allowed, "D" permission denied. Without a user the
#: answer is always "user name is empty" (E), with a bad token "invalid auth token" (T),
#: except for the cases marked public below.
TABLE: dict[str, str] = {
    #                          norole reader writer prefix stale root
    "get-in":                  "D      .      D      .      .     .",
    "get-out":                 "D      D      D      D      D     .",
    "get-prefix":              "D      .      D      .      .     .",
    "get-from-key":            "D      D      D      D      D     .",
    "put-in":                  "D      D      .      .      D     .",
    "put-out":                 "D      D      D      D      D     .",
    "put-prev-kv":             "D      D      D      .      D     .",
    "put-lease-app":           "D      D      .      .      D     .",
    "put-lease-other":         "D      D      D      D      D     .",
    "delete-in":               "D      D      .      .      D     .",
    "delete-prefix-prev-kv":   "D      D      D      .      D     .",
    "delete-out":              "D      D      D      D      D     .",
    "txn-in":                  "D      D      D      .      D     .",
    "txn-nested-out":          "D      D      D      D      D     .",
    "txn-nested-failure-out":  "D      D      D      D      D     .",
    "txn-nested-compare-out":  "D      D      D      D      D     .",
    "txn-prev-kv":             "D      D      D      .      D     .",
    "txn-lease-other":         "D      D      D      D      D     .",
    "compact":                 "D      D      D      D      D     .",
    "lease-grant":             ".      .      .      .      .     .",
    "lease-leases":            ".      .      .      .      .     .",
    "lease-ttl":               ".      .      .      .      .     .",
    "lease-ttl-keys-app":      "D      .      D      .      .     .",
    "lease-ttl-keys-other":    "D      D      D      D      D     .",
    "lease-revoke-app":        "D      D      .      .      D     .",
    "lease-revoke-other":      "D      D      D      D      D     .",
    "keepalive-app":           "D      D      .      .      D     .",
    "keepalive-other":         "D      D      D      D      D     .",
    "watch-in":                "D      .      D      .      .     .",
    "watch-prefix":            "D      .      D      .      .     .",
    "watch-from-key":          "D      D      D      D      D     .",
    "watch-out":               "D      D      D      D      D     .",
    "status":                  ".      .      .      .      .     .",
    "alarm-list":              "D      D      D      D      D     .",
    "defragment":              "D      D      D      D      D     .",
    "hash-kv":                 "D      D      D      D      D     .",
    "snapshot":                "D      D      D      D      D     .",
    "lock-in":                 "D      D      D      .      D     .",
    "leader-in":               "D      .      D      .      .     .",
    "auth-status":             ".      .      .      .      .     .",
    "user-list":               "D      D      D      D      D     .",
    "user-get":                "D      D      D      D      D     .",
    "user-add":                "D      D      D      D      D     .",
    "user-delete":             "D      D      D      D      D     .",
    "user-change-password":    "D      D      D      D      D     .",
    "user-grant-role":         "D      D      D      D      D     .",
    "role-list":               "D      D      D      D      D     .",
    "role-get":                "D      .      D      D      D     .",  # a role one holds
    "role-add":                "D      D      D      D      D     .",
    "role-grant-permission":   "D      D      D      D      D     .",
    "role-revoke-permission":  "D      D      D      D      D     .",
    "member-list":             ".      .      .      .      .     .",
    "member-promote":          "D      D      D      D      D     .",
    "move-leader":             "D      D      D      D      D     .",
}
# fmt: on

#: Cases that need no identity (AuthStatus): anonymous callers pass; a bad token is still
#: refused over gRPC (the server checks every token), while the Store has nothing to check.
PUBLIC = frozenset({"auth-status"})


def expected(case: str, identity: str, transport: str) -> str:
    """The table's answer for one cell."""
    if identity == "none":
        return "." if case in PUBLIC else "E"
    if identity in ("garbage", "expired", "deleted"):
        return "." if case in PUBLIC and transport == "store" else "T"
    return TABLE[case].split()[USERS.index(identity)]


# -- the served store and its callers ---------------------------------------------------------


@dataclass
class World:
    """The served store, its callers' tokens, and the leases the cases use."""

    store: Store
    clock: FakeClock
    address: str
    channel: grpc.Channel
    tokens: dict[str, str]
    lease_app: int = 0
    lease_other: int = 0
    member_id: int = 0
    counter: itertools.count[int] = field(default_factory=itertools.count)

    def stub(self, factory: Any) -> Any:
        return factory(self.channel)

    def metadata(self, identity: str) -> tuple[tuple[str, str], ...]:
        if identity == "none":
            return ()
        if identity == "garbage":
            return (("token", "garbageGarbageXy.7"),)
        return (("token", self.tokens[identity]),)

    def view(self, identity: str) -> AuthView:
        if identity == "none":
            return AuthView(self.store, Caller())
        if identity == "garbage":
            return self.store.with_token("garbageGarbageXy.7")
        return self.store.with_token(self.tokens[identity])

    def fresh(self, prefix: str) -> str:
        return f"{prefix}{next(self.counter)}"


def setup_auth(store: Store, clock: FakeClock) -> dict[str, str]:
    """Users and roles (as the owner), then every caller's token."""
    store.user_add("root", ROOT_PW)
    store.user_grant_role("root", "root")
    for role, perm in (("r_read", "READ"), ("r_write", "WRITE"), ("r_rw", "READWRITE")):
        store.role_add(role)
        store.role_grant_permission(role, "app/", perm_type=perm, prefix=True)
    store.role_add("r_stale")
    store.role_grant_permission("r_stale", "app/", perm_type="READWRITE", prefix=True)
    users: dict[str, str | None] = {
        "norole": None,
        "reader": "r_read",
        "writer": "r_write",
        "prefix": "r_rw",
    }
    for name, granted in {
        **users,
        "stale": "r_stale",
        "expired": "r_rw",
        "deleted": "r_rw",
    }.items():
        store.user_add(name, "pw")
        if granted is not None:
            store.user_grant_role(name, granted)
    store.auth_enable()
    tokens = {"expired": store.authenticate("expired", "pw").token}
    clock.advance(301)  # past etcd's 300 s token TTL
    for name in (*users, "stale", "deleted"):
        tokens[name] = store.authenticate(name, "pw").token
    tokens["root"] = store.authenticate("root", ROOT_PW).token
    store.user_delete("deleted")
    # the stale user's READWRITE becomes READ after its token was issued
    store.role_grant_permission("r_stale", "app/", perm_type="READ", prefix=True)
    return tokens


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    clock = FakeClock()
    store = Store(clock=clock, password_hash_cost=1)
    tokens = setup_auth(store, clock)
    lease_app = store.grant(600).id
    store.put("app/lease", "v", lease=lease_app)
    lease_other = store.grant(600).id
    store.put("other", "v", lease=lease_other)
    store.campaign("app/el", "leader-1")
    with serve(store, port=0) as server:
        channel = grpc.insecure_channel(server.address)
        try:
            yield World(
                store,
                clock,
                server.address,
                channel,
                tokens,
                lease_app,
                lease_other,
                store.header.member_id,
            )
        finally:
            channel.close()
    store.close()


# -- the cases: one way through the Store, one through gRPC -----------------------------------


@dataclass(frozen=True)
class Case:
    store: Callable[[World, AuthView], object] | None
    grpc: Callable[[World, tuple[tuple[str, str], ...]], object] | None
    #: Errors that mean the call was authorized (it failed for another reason).
    passes: tuple[str, ...] = ()
    #: The service sends every error with code UNKNOWN (Lock, Election).
    unknown: bool = False


def _kv(op: Any) -> Case:
    """A KV request, as ``do`` on the Store and as its RPC over gRPC."""

    def by_store(w: World, v: AuthView) -> object:
        return v.do(op(w))

    def by_grpc(w: World, md: tuple[tuple[str, str], ...]) -> object:
        pb = cv.request_op_to_pb(op(w))
        kv = w.stub(_rpc.KVStub)
        which = pb.WhichOneof("request")
        call = {
            "request_range": kv.Range,
            "request_put": kv.Put,
            "request_delete_range": kv.DeleteRange,
            "request_txn": kv.Txn,
        }[which]
        return call(getattr(pb, which), metadata=md, timeout=TIMEOUT)

    return Case(by_store, by_grpc)


def _unary(store_call: Any, stub: Any, method: str, request: Any, **kw: Any) -> Case:
    """A call with a Store method and an RPC of its own (``request(w)`` builds the message)."""

    def by_grpc(w: World, md: tuple[tuple[str, str], ...]) -> object:
        return getattr(w.stub(stub), method)(request(w), metadata=md, timeout=TIMEOUT)

    return Case(store_call, by_grpc, **kw)


def _fresh_lease(w: World, key: str) -> int:
    lease = w.store.grant(600).id
    w.store.put(key, "v", lease=lease)
    return lease


def _keepalive_grpc(lease: Callable[[World], int]) -> Any:
    def call(w: World, md: tuple[tuple[str, str], ...]) -> object:
        stub = w.stub(_rpc.LeaseStub)
        answers = stub.LeaseKeepAlive(
            iter([_pb.LeaseKeepAliveRequest(ID=lease(w))]), metadata=md, timeout=TIMEOUT
        )
        return next(answers)

    return call


def _watch(**kw: Any) -> Case:
    def by_store(w: World, v: AuthView) -> object:
        with v.watch(**kw) as watch:
            r = watch.receive(timeout=TIMEOUT)
        assert r.created
        return r

    def by_grpc(w: World, md: tuple[tuple[str, str], ...]) -> object:
        shape = Op.get(**kw)
        key, end = shape.key, shape.range_end
        requests: queue.Queue[Any] = queue.Queue()
        requests.put(
            _pb.WatchRequest(create_request=_pb.WatchCreateRequest(key=key, range_end=end))
        )

        def send() -> Iterator[Any]:
            for _ in range(2):  # the create, then the end of the call
                item = requests.get(timeout=TIMEOUT)
                if item is None:
                    return
                yield item

        call = w.stub(_rpc.WatchStub).Watch(send(), metadata=md, timeout=TIMEOUT)
        try:
            r = next(call)
        finally:
            requests.put(None)
            call.cancel()
        assert r.created
        if r.canceled:
            assert r.watch_id == -1
            raise _Refused(r.cancel_reason)
        return r

    return Case(by_store, by_grpc)


def _lock_store(w: World, v: AuthView) -> object:
    r = v.lock("app/lk", timeout=TIMEOUT)
    w.store.unlock(r.key)
    return r


def _lock_grpc(w: World, md: tuple[tuple[str, str], ...]) -> object:
    r = w.stub(_lock.LockStub).Lock(v3lock_pb2.LockRequest(name=b"app/lk"), metadata=md)
    w.store.unlock(r.key)
    return r


def _snapshot_grpc(w: World, md: tuple[tuple[str, str], ...]) -> object:
    stub = w.stub(_rpc.MaintenanceStub)
    return list(stub.Snapshot(_pb.SnapshotRequest(), metadata=md, timeout=TIMEOUT))


def _new_user(w: World) -> str:
    name = w.fresh("tmp-user-")
    w.store.user_add(name, "x")
    return name


def _new_role(w: World, granted: bool = False) -> str:
    name = w.fresh("tmp-role-")
    w.store.role_add(name)
    if granted:
        w.store.role_grant_permission(name, "t", perm_type="READ")
    return name


_MEMBER_NOT_LEARNER = MemberNotLearnerError.message

CASES: dict[str, Case] = {
    "get-in": _kv(lambda w: Op.get("app/x")),
    "get-out": _kv(lambda w: Op.get("other")),
    "get-prefix": _kv(lambda w: Op.get("app/", prefix=True)),
    "get-from-key": _kv(lambda w: Op.get("app/", from_key=True)),
    "put-in": _kv(lambda w: Op.put("app/x", "v")),
    "put-out": _kv(lambda w: Op.put("other2", "v")),
    "put-prev-kv": _kv(lambda w: Op.put("app/x", "v", prev_kv=True)),
    "put-lease-app": _kv(lambda w: Op.put("app/y", "v", lease=w.lease_app)),
    "put-lease-other": _kv(lambda w: Op.put("app/y", "v", lease=w.lease_other)),
    "delete-in": _kv(lambda w: Op.delete("app/gone")),
    "delete-prefix-prev-kv": _kv(lambda w: Op.delete("app/gone", prefix=True, prev_kv=True)),
    "delete-out": _kv(lambda w: Op.delete("other-gone")),
    "txn-in": _kv(
        lambda w: Op.txn(
            [Compare.value("app/x") == "v"], [Op.put("app/x", "v")], [Op.put("app/z", "v")]
        )
    ),
    "txn-nested-out": _kv(lambda w: Op.txn([], [Op.txn([], [Op.put("other2", "v")], [])], [])),
    "txn-nested-failure-out": _kv(
        lambda w: Op.txn(
            [Compare.version("app/never") == 0],
            [Op.get("app/x")],
            [Op.txn([], [], [Op.delete("other-gone")])],
        )
    ),
    "txn-nested-compare-out": _kv(
        lambda w: Op.txn([], [Op.txn([Compare.version("other") > 0], [], [])], [])
    ),
    "txn-prev-kv": _kv(lambda w: Op.txn([], [Op.put("app/x", "v", prev_kv=True)], [])),
    "txn-lease-other": _kv(lambda w: Op.txn([], [Op.put("app/y", "v", lease=w.lease_other)], [])),
    "compact": _unary(
        lambda w, v: v.compact(w.store.put("app/c", "v").header.revision),
        _rpc.KVStub,
        "Compact",
        lambda w: _pb.CompactionRequest(revision=w.store.put("app/c", "v").header.revision),
    ),
    "lease-grant": _unary(
        lambda w, v: v.grant(60),
        _rpc.LeaseStub,
        "LeaseGrant",
        lambda w: _pb.LeaseGrantRequest(TTL=60),
    ),
    "lease-leases": _unary(
        lambda w, v: v.leases(), _rpc.LeaseStub, "LeaseLeases", lambda w: _pb.LeaseLeasesRequest()
    ),
    "lease-ttl": _unary(
        lambda w, v: v.time_to_live(w.lease_other),
        _rpc.LeaseStub,
        "LeaseTimeToLive",
        lambda w: _pb.LeaseTimeToLiveRequest(ID=w.lease_other),
    ),
    "lease-ttl-keys-app": _unary(
        lambda w, v: v.time_to_live(w.lease_app, keys=True),
        _rpc.LeaseStub,
        "LeaseTimeToLive",
        lambda w: _pb.LeaseTimeToLiveRequest(ID=w.lease_app, keys=True),
    ),
    "lease-ttl-keys-other": _unary(
        lambda w, v: v.time_to_live(w.lease_other, keys=True),
        _rpc.LeaseStub,
        "LeaseTimeToLive",
        lambda w: _pb.LeaseTimeToLiveRequest(ID=w.lease_other, keys=True),
    ),
    "lease-revoke-app": _unary(
        lambda w, v: v.revoke(_fresh_lease(w, "app/r")),
        _rpc.LeaseStub,
        "LeaseRevoke",
        lambda w: _pb.LeaseRevokeRequest(ID=_fresh_lease(w, "app/r")),
    ),
    "lease-revoke-other": _unary(
        lambda w, v: v.revoke(_fresh_lease(w, "other-r")),
        _rpc.LeaseStub,
        "LeaseRevoke",
        lambda w: _pb.LeaseRevokeRequest(ID=_fresh_lease(w, "other-r")),
    ),
    "keepalive-app": Case(
        lambda w, v: v.keep_alive_once(w.lease_app), _keepalive_grpc(lambda w: w.lease_app)
    ),
    "keepalive-other": Case(
        lambda w, v: v.keep_alive_once(w.lease_other), _keepalive_grpc(lambda w: w.lease_other)
    ),
    "watch-in": _watch(key="app/x"),
    "watch-prefix": _watch(key="app/", prefix=True),
    "watch-from-key": _watch(key="app/", from_key=True),
    "watch-out": _watch(key="other"),
    "status": _unary(
        lambda w, v: v.status(), _rpc.MaintenanceStub, "Status", lambda w: _pb.StatusRequest()
    ),
    "alarm-list": _unary(
        lambda w, v: v.alarm_list(), _rpc.MaintenanceStub, "Alarm", lambda w: _pb.AlarmRequest()
    ),
    "defragment": _unary(
        lambda w, v: v.defragment(),
        _rpc.MaintenanceStub,
        "Defragment",
        lambda w: _pb.DefragmentRequest(),
    ),
    "hash-kv": _unary(
        lambda w, v: v.hash_kv(), _rpc.MaintenanceStub, "HashKV", lambda w: _pb.HashKVRequest()
    ),
    "snapshot": Case(lambda w, v: b"".join(v.snapshot()), _snapshot_grpc),
    "lock-in": Case(_lock_store, _lock_grpc, unknown=True),
    "leader-in": _unary(
        lambda w, v: v.leader("app/el"),
        _election.ElectionStub,
        "Leader",
        lambda w: v3election_pb2.LeaderRequest(name=b"app/el"),
        unknown=True,
    ),
    "auth-status": _unary(
        lambda w, v: v.auth_status(), _rpc.AuthStub, "AuthStatus", lambda w: _pb.AuthStatusRequest()
    ),
    "user-list": _unary(
        lambda w, v: v.user_list(), _rpc.AuthStub, "UserList", lambda w: _pb.AuthUserListRequest()
    ),
    "user-get": _unary(
        lambda w, v: v.user_get("root"),
        _rpc.AuthStub,
        "UserGet",
        lambda w: _pb.AuthUserGetRequest(name="root"),
    ),
    "user-add": _unary(
        lambda w, v: v.user_add(w.fresh("new-user-"), "pw"),
        _rpc.AuthStub,
        "UserAdd",
        lambda w: _pb.AuthUserAddRequest(name=w.fresh("new-user-"), password="pw"),
    ),
    "user-delete": _unary(
        lambda w, v: v.user_delete(_new_user(w)),
        _rpc.AuthStub,
        "UserDelete",
        lambda w: _pb.AuthUserDeleteRequest(name=_new_user(w)),
    ),
    "user-change-password": _unary(
        lambda w, v: v.user_change_password(_new_user(w), "y"),
        _rpc.AuthStub,
        "UserChangePassword",
        lambda w: _pb.AuthUserChangePasswordRequest(name=_new_user(w), password="y"),
    ),
    "user-grant-role": _unary(
        lambda w, v: v.user_grant_role(_new_user(w), "r_read"),
        _rpc.AuthStub,
        "UserGrantRole",
        lambda w: _pb.AuthUserGrantRoleRequest(user=_new_user(w), role="r_read"),
    ),
    "role-list": _unary(
        lambda w, v: v.role_list(), _rpc.AuthStub, "RoleList", lambda w: _pb.AuthRoleListRequest()
    ),
    "role-get": _unary(
        lambda w, v: v.role_get("r_read"),
        _rpc.AuthStub,
        "RoleGet",
        lambda w: _pb.AuthRoleGetRequest(role="r_read"),
    ),
    "role-add": _unary(
        lambda w, v: v.role_add(w.fresh("new-role-")),
        _rpc.AuthStub,
        "RoleAdd",
        lambda w: _pb.AuthRoleAddRequest(name=w.fresh("new-role-")),
    ),
    "role-grant-permission": _unary(
        lambda w, v: v.role_grant_permission(_new_role(w), "t", perm_type="READ"),
        _rpc.AuthStub,
        "RoleGrantPermission",
        lambda w: _pb.AuthRoleGrantPermissionRequest(
            name=_new_role(w), perm=_auth.Permission(permType=0, key=b"t")
        ),
    ),
    "role-revoke-permission": _unary(
        lambda w, v: v.role_revoke_permission(_new_role(w, granted=True), "t"),
        _rpc.AuthStub,
        "RoleRevokePermission",
        lambda w: _pb.AuthRoleRevokePermissionRequest(role=_new_role(w, granted=True), key=b"t"),
    ),
    "member-list": Case(
        None,
        lambda w, md: w.stub(_rpc.ClusterStub).MemberList(
            _pb.MemberListRequest(), metadata=md, timeout=TIMEOUT
        ),
    ),
    "member-promote": Case(
        None,
        lambda w, md: w.stub(_rpc.ClusterStub).MemberPromote(
            _pb.MemberPromoteRequest(ID=w.member_id), metadata=md, timeout=TIMEOUT
        ),
        passes=(_MEMBER_NOT_LEARNER,),
    ),
    "move-leader": Case(
        None,
        lambda w, md: w.stub(_rpc.MaintenanceStub).MoveLeader(
            _pb.MoveLeaderRequest(targetID=w.member_id), metadata=md, timeout=TIMEOUT
        ),
    ),
}


class _Refused(Exception):
    """A watch create answered with a refusal (its cancel_reason)."""


_LABELS = {
    UserEmptyError.message: "E",
    InvalidAuthTokenError.message: "T",
    PermissionDeniedError.message: "D",
}
_CODES = {
    "E": grpc.StatusCode.INVALID_ARGUMENT,
    "T": grpc.StatusCode.UNAUTHENTICATED,
    "D": grpc.StatusCode.PERMISSION_DENIED,
}
_GO_CODES = {"E": "InvalidArgument", "T": "Unauthenticated", "D": "PermissionDenied"}


def _label(message: str, passes: tuple[str, ...]) -> str:
    if message in passes:
        return "."
    return _LABELS.get(message, f"other: {message}")


def outcome(w: World, name: str, identity: str, transport: str) -> str:
    """Run one cell: ".", "E", "T", "D", or "other: <what happened>"."""
    case = CASES[name]
    try:
        if transport == "store":
            assert case.store is not None
            case.store(w, w.view(identity))
        else:
            assert case.grpc is not None
            case.grpc(w, w.metadata(identity))
    except EtcdError as exc:
        return _label(str(exc), case.passes)
    except _Refused as exc:
        reason = str(exc)
        for message, label in _LABELS.items():
            if reason == f"rpc error: code = {_GO_CODES[label]} desc = {message}":
                return label
        return f"other: {reason}"
    except grpc.RpcError as exc:
        err: Any = exc
        label = _label(err.details(), case.passes)
        if label in _CODES:
            want = grpc.StatusCode.UNKNOWN if case.unknown else _CODES[label]
            if err.code() != want:
                return f"other: {err.code()} {err.details()}"
        return label
    return "."


def test_the_table_names_every_case() -> None:
    """The table and the cases are the same set, and every row has a column per user."""
    assert set(TABLE) == set(CASES)
    assert all(len(row.split()) == len(USERS) for row in TABLE.values())


@pytest.mark.parametrize("transport", ["grpc", "store"])
def test_authorization_matrix(world: World, transport: str) -> None:
    """Every case as every caller gives the table's answer: no bypass, no over-refusal."""
    mismatches = []
    bypasses = 0
    cells = 0
    for name, case in CASES.items():
        if (case.store if transport == "store" else case.grpc) is None:
            continue
        for identity in IDENTITIES:
            want = expected(name, identity, transport)
            got = outcome(world, name, identity, transport)
            cells += 1
            if got != want:
                mismatches.append((name, identity, want, got))
                bypasses += got == "."
    assert bypasses == 0, mismatches
    assert mismatches == []
    assert cells > 400


def test_authorization_metadata_is_a_token_too(world: World) -> None:
    """The ``authorization`` metadata (what the gateway sends for the HTTP header) is read as
    the token when there is no ``token`` metadata, and ``token`` wins when both are sent."""
    kv = world.stub(_rpc.KVStub)
    reader = world.tokens["reader"]
    req = _pb.RangeRequest(key=b"app/x")
    assert kv.Range(req, metadata=(("authorization", reader),), timeout=TIMEOUT)
    with pytest.raises(grpc.RpcError) as info:
        kv.Range(req, metadata=(("authorization", reader), ("token", "nope.1")), timeout=TIMEOUT)
    err: Any = info.value
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED
