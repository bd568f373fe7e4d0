"""The advisories of SEMANTICS 6.3 that apply to the server, one named test each, run through
the same gRPC stubs against etcdlite and against a real etcd 3.4.23: where 3.4.23 still has the
hole, the test shows it there (a registered divergence) and shows etcdlite closed it. Also: the
JSON gateway's auth paths and ``Authorization`` header against etcd's, and a client
certificate's CN as the user. The authorization matrix itself is ``test_auth_matrix.py``.
"""

from __future__ import annotations

import base64
import json
import queue
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import grpc
import pytest
from conformance._etcd import running_etcd
from conformance.divergences import divergence

from etcdlite import Store
from etcdlite.server import serve
from etcdlite.server._pb import auth_pb2, rpc_pb2, rpc_pb2_grpc
from etcdlite.server._services import MemberInfo, make_servicers
from etcdlite.testing import FakeClock

from .test_auth_matrix import ROOT_PW, TIMEOUT, setup_auth

if TYPE_CHECKING:
    from collections.abc import Iterator

_rpc: Any = rpc_pb2_grpc
_pb: Any = rpc_pb2
_auth: Any = auth_pb2


@dataclass
class Side:
    """A served etcd or etcdlite with auth on, seen through the same gRPC stubs.

    ``app`` may read and write the prefix ``app/``; ``wo`` may only write it; ``one`` may only
    read the key ``k``.
    """

    name: str
    channel: grpc.Channel
    tokens: dict[str, str]

    def md(self, user: str | None) -> tuple[tuple[str, str], ...]:
        return () if user is None else (("token", self.tokens[user]),)

    def call(self, stub: Any, method: str, request: Any, user: str | None) -> Any:
        return getattr(stub(self.channel), method)(request, metadata=self.md(user), timeout=TIMEOUT)

    def error(self, stub: Any, method: str, request: Any, user: str | None) -> str:
        with pytest.raises(grpc.RpcError) as info:
            self.call(stub, method, request, user)
        err: Any = info.value
        return f"{err.code().name} {err.details()}"

    def watch_answer(self, user: str, key: bytes, range_end: bytes) -> Any:
        """The first answer to one watch create."""
        create = _pb.WatchRequest(
            create_request=_pb.WatchCreateRequest(key=key, range_end=range_end)
        )
        requests: queue.Queue[Any] = queue.Queue()
        requests.put(create)

        def send() -> Iterator[Any]:
            for _ in range(2):
                item = requests.get(timeout=TIMEOUT)
                if item is None:
                    return
                yield item

        call = _rpc.WatchStub(self.channel).Watch(send(), metadata=self.md(user), timeout=TIMEOUT)
        try:
            return next(call)
        finally:
            requests.put(None)
            call.cancel()


def _set_up_side(name: str, channel: grpc.Channel) -> Side:
    auth = _rpc.AuthStub(channel)
    auth.UserAdd(_pb.AuthUserAddRequest(name="root", password=ROOT_PW), timeout=TIMEOUT)
    auth.UserGrantRole(_pb.AuthUserGrantRoleRequest(user="root", role="root"), timeout=TIMEOUT)
    grants = {
        "app": (2, b"app/", b"app0"),
        "wo": (1, b"app/", b"app0"),
        "one": (0, b"k", b""),
    }
    for user, (perm_type, key, end) in grants.items():
        auth.RoleAdd(_pb.AuthRoleAddRequest(name=f"r-{user}"), timeout=TIMEOUT)
        perm = _auth.Permission(permType=perm_type, key=key, range_end=end)
        auth.RoleGrantPermission(
            _pb.AuthRoleGrantPermissionRequest(name=f"r-{user}", perm=perm), timeout=TIMEOUT
        )
        auth.UserAdd(_pb.AuthUserAddRequest(name=user, password="pw"), timeout=TIMEOUT)
        auth.UserGrantRole(
            _pb.AuthUserGrantRoleRequest(user=user, role=f"r-{user}"), timeout=TIMEOUT
        )
    auth.AuthEnable(_pb.AuthEnableRequest(), timeout=TIMEOUT)
    tokens = {
        user: auth.Authenticate(
            _pb.AuthenticateRequest(name=user, password=ROOT_PW if user == "root" else "pw"),
            timeout=TIMEOUT,
        ).token
        for user in ("root", *grants)
    }
    return Side(name, channel, tokens)


@pytest.fixture(params=["etcdlite", pytest.param("etcd", marks=pytest.mark.etcd)])
def side(request: pytest.FixtureRequest) -> Iterator[Side]:
    """etcdlite served, or a fresh etcd 3.4, both with :class:`Side`'s users and auth on."""
    if request.param == "etcd":
        with running_etcd() as etcd:
            channel = grpc.insecure_channel(etcd.url.removeprefix("http://"))
            try:
                yield _set_up_side("etcd", channel)
            finally:
                channel.close()
        return
    yield from _ours()


@pytest.fixture
def ours() -> Iterator[Side]:
    """etcdlite alone, served with :class:`Side`'s users and auth on (for the advisories
    whose fix has no counterpart to show on etcd 3.4)."""
    yield from _ours()


def _ours() -> Iterator[Side]:
    store = Store(password_hash_cost=1)
    with serve(store, port=0) as server:
        channel = grpc.insecure_channel(server.address)
        try:
            yield _set_up_side("etcdlite", channel)
        finally:
            channel.close()
    store.close()


def test_cve_2023_32082_ttl_keys_needs_read(side: Side) -> None:
    """LeaseTimeToLive(keys=true) lists the lease's keys only to a caller who may read every
    one of them; etcd 3.4.23 (before 3.4.26) listed them to anyone."""
    lease = side.call(_rpc.LeaseStub, "LeaseGrant", _pb.LeaseGrantRequest(TTL=60), "root").ID
    side.call(_rpc.KVStub, "Put", _pb.PutRequest(key=b"secret", value=b"s", lease=lease), "root")
    request = _pb.LeaseTimeToLiveRequest(ID=lease, keys=True)
    if side.name == "etcd":
        assert divergence("auth-lease-ttl-keys").fixed_in[0] > (3, 4, 23)
        assert list(side.call(_rpc.LeaseStub, "LeaseTimeToLive", request, "app").keys) == [
            b"secret"
        ]
    else:
        assert side.error(_rpc.LeaseStub, "LeaseTimeToLive", request, "app") == (
            "PERMISSION_DENIED etcdserver: permission denied"
        )
    assert list(side.call(_rpc.LeaseStub, "LeaseTimeToLive", request, "root").keys) == [b"secret"]


def test_ghsa_q8m4_xhhv_38mg_calls_need_an_identity(side: Side) -> None:
    """With auth on, leases, Status and MemberList need an authenticated user and Compact the
    root role; etcd 3.4.23 answers them all without a token (CVE-2026-33413)."""
    divergence("auth-calls-without-identity")
    calls = [
        (_rpc.LeaseStub, "LeaseGrant", _pb.LeaseGrantRequest(TTL=60)),
        (_rpc.LeaseStub, "LeaseLeases", _pb.LeaseLeasesRequest()),
        (_rpc.LeaseStub, "LeaseTimeToLive", _pb.LeaseTimeToLiveRequest(ID=5)),
        (_rpc.MaintenanceStub, "Status", _pb.StatusRequest()),
        (_rpc.ClusterStub, "MemberList", _pb.MemberListRequest()),
        (_rpc.KVStub, "Compact", _pb.CompactionRequest(revision=1)),
    ]
    for stub, method, request in calls:
        if side.name == "etcd":
            assert side.call(stub, method, request, None) is not None, method
        else:
            got = side.error(stub, method, request, None)
            assert got == "INVALID_ARGUMENT etcdserver: user name is empty", method
    compact = _pb.CompactionRequest(revision=1)
    if side.name == "etcdlite":
        denied = side.error(_rpc.KVStub, "Compact", compact, "app")
        assert denied == "PERMISSION_DENIED etcdserver: permission denied"
        side.call(_rpc.KVStub, "Put", _pb.PutRequest(key=b"app/x", value=b"v"), "app")
        assert side.call(_rpc.KVStub, "Compact", _pb.CompactionRequest(revision=2), "root")


def test_cve_2026_33343_nested_txn_is_checked(side: Side) -> None:
    """Every op of a nested txn, in both branches, and its compares, is checked as a top-level
    one; etcd 3.4.23 let a nested txn write outside the caller's permissions."""
    nested = _pb.TxnRequest(
        success=[_pb.RequestOp(request_put=_pb.PutRequest(key=b"out", value=b"x"))]
    )
    request = _pb.TxnRequest(success=[_pb.RequestOp(request_txn=nested)])
    if side.name == "etcd":
        divergence("auth-nested-txn")
        assert side.call(_rpc.KVStub, "Txn", request, "app").succeeded
        got = side.call(_rpc.KVStub, "Range", _pb.RangeRequest(key=b"out"), "root")
        assert [kv.value for kv in got.kvs] == [b"x"]
        return
    assert side.error(_rpc.KVStub, "Txn", request, "app") == (
        "PERMISSION_DENIED etcdserver: permission denied"
    )
    compare = _pb.Compare(key=b"out", target=_pb.Compare.VERSION, version=0)
    in_failure = _pb.TxnRequest(
        compare=[_pb.Compare(key=b"app/x", target=_pb.Compare.VERSION, version=0)],
        failure=[_pb.RequestOp(request_txn=_pb.TxnRequest(compare=[compare]))],
    )
    assert side.error(_rpc.KVStub, "Txn", in_failure, "app") == (
        "PERMISSION_DENIED etcdserver: permission denied"
    )
    got = side.call(_rpc.KVStub, "Range", _pb.RangeRequest(key=b"out"), "root")
    assert not got.kvs


def test_cve_2026_44283_txn_put_prev_kv_needs_read(side: Side) -> None:
    """A put with ``prev_kv`` in a txn needs READ as it does alone (a write-only user may not
    read the old value back through it); etcd 3.4.23 returned it."""
    side.call(_rpc.KVStub, "Put", _pb.PutRequest(key=b"app/x", value=b"old"), "root")
    put = _pb.PutRequest(key=b"app/x", value=b"new", prev_kv=True)
    assert side.error(_rpc.KVStub, "Put", put, "wo") == (
        "PERMISSION_DENIED etcdserver: permission denied"
    )
    request = _pb.TxnRequest(success=[_pb.RequestOp(request_put=put)])
    if side.name == "etcd":
        divergence("auth-txn-put-checks")
        r = side.call(_rpc.KVStub, "Txn", request, "wo")
        assert r.responses[0].response_put.prev_kv.value == b"old"
    else:
        assert side.error(_rpc.KVStub, "Txn", request, "wo") == (
            "PERMISSION_DENIED etcdserver: permission denied"
        )


def test_cve_2026_44283_txn_put_with_lease_is_checked(side: Side) -> None:
    """A put in a txn that attaches a lease needs WRITE on every key already on that lease,
    as a put alone does, nested txns included; etcd 3.4.23 checked it only alone."""
    lease = side.call(_rpc.LeaseStub, "LeaseGrant", _pb.LeaseGrantRequest(TTL=60), "root").ID
    side.call(_rpc.KVStub, "Put", _pb.PutRequest(key=b"out", value=b"v", lease=lease), "root")
    put = _pb.PutRequest(key=b"app/y", value=b"v", lease=lease)
    denied = "PERMISSION_DENIED etcdserver: permission denied"
    assert side.error(_rpc.KVStub, "Put", put, "app") == denied
    request = _pb.TxnRequest(success=[_pb.RequestOp(request_put=put)])
    if side.name == "etcd":
        divergence("auth-txn-put-checks")
        assert side.call(_rpc.KVStub, "Txn", request, "app").succeeded
        return
    assert side.error(_rpc.KVStub, "Txn", request, "app") == denied
    nested = _pb.TxnRequest(success=[_pb.RequestOp(request_txn=request)])
    assert side.error(_rpc.KVStub, "Txn", nested, "app") == denied


def test_ghsa_xg4h_6gfc_h4m8_watch_from_key_needs_read_to_the_end(side: Side) -> None:
    """A user who may read the key ``k`` alone cannot watch from ``k`` to the end of the
    keyspace; etcd 3.4.23 checked only the first key and streamed every later one."""
    r = side.watch_answer("one", b"k", b"\0")
    if side.name == "etcd":
        divergence("auth-watch-from-key")
        assert (r.created, r.canceled) == (True, False)
    else:
        assert (r.created, r.canceled, r.watch_id) == (True, True, -1)
        assert r.cancel_reason == (
            "rpc error: code = PermissionDenied desc = etcdserver: permission denied"
        )
    single = side.watch_answer("one", b"k", b"")
    assert (single.created, single.canceled) == (True, False)


@pytest.mark.parametrize(
    ("user", "key", "reason"),
    [
        ("one", b"z", "code = PermissionDenied desc = etcdserver: permission denied"),
        (None, b"k", "code = InvalidArgument desc = etcdserver: user name is empty"),
    ],
)
def test_refused_watch_create_answers_as_etcd(
    side: Side, user: str | None, key: bytes, reason: str
) -> None:
    """A create the caller may not make is answered created and canceled, watch id -1, with
    the refusal as Go prints a gRPC error, and the stream stays open (etcd 3.4's answer)."""
    create = _pb.WatchRequest(create_request=_pb.WatchCreateRequest(key=key))
    allowed = _pb.WatchRequest(create_request=_pb.WatchCreateRequest(key=b"k", watch_id=3))
    requests: queue.Queue[Any] = queue.Queue()
    requests.put(create)

    def send() -> Iterator[Any]:
        for _ in range(3):
            item = requests.get(timeout=TIMEOUT)
            if item is None:
                return
            yield item

    call = _rpc.WatchStub(side.channel).Watch(send(), metadata=side.md(user), timeout=TIMEOUT)
    try:
        first = next(call)
        assert (first.created, first.canceled, first.watch_id) == (True, True, -1)
        assert first.cancel_reason == f"rpc error: {reason}"
        if user is not None:
            requests.put(allowed)
            second = next(call)
            assert (second.created, second.canceled, second.watch_id) == (True, False, 3)
    finally:
        requests.put(None)
        call.cancel()


def test_bad_token_is_refused_everywhere_even_with_auth_off() -> None:
    """A token the store never issued is refused on every call, auth on or off: etcd 3.4
    refuses it on KV and Auth calls but answers Status, MemberList and the lease reads."""
    divergence("auth-bad-token-everywhere")
    store = Store(password_hash_cost=1)
    with serve(store, port=0) as server, grpc.insecure_channel(server.address) as channel:
        md = (("token", "forged.1"),)
        for stub, method, request in [
            (_rpc.MaintenanceStub, "Status", _pb.StatusRequest()),
            (_rpc.ClusterStub, "MemberList", _pb.MemberListRequest()),
            (_rpc.LeaseStub, "LeaseLeases", _pb.LeaseLeasesRequest()),
            (_rpc.KVStub, "Range", _pb.RangeRequest(key=b"a")),
            (_rpc.AuthStub, "UserList", _pb.AuthUserListRequest()),
        ]:
            with pytest.raises(grpc.RpcError) as info:
                getattr(stub(channel), method)(request, metadata=md, timeout=TIMEOUT)
            err: Any = info.value
            assert (err.code(), err.details()) == (
                grpc.StatusCode.UNAUTHENTICATED,
                "etcdserver: invalid auth token",
            ), method
            assert getattr(stub(channel), method)(request, timeout=TIMEOUT) is not None
    store.close()


def test_auth_status_is_served(side: Side) -> None:
    """AuthStatus (etcd 3.5) answers whether auth is on; etcd 3.4 has no such call."""
    if side.name == "etcd":
        divergence("auth-status-rpc")
        got = side.error(_rpc.AuthStub, "AuthStatus", _pb.AuthStatusRequest(), "app")
        assert got.startswith("UNIMPLEMENTED ")
        return
    r = side.call(_rpc.AuthStub, "AuthStatus", _pb.AuthStatusRequest(), None)
    assert r.enabled
    assert r.authRevision > 1


def test_pr_15621_empty_permission_range_is_refused(ours: Side) -> None:
    """A permission on an empty or inverted range is refused (etcd PR #15621; 3.4.23 stored
    it, as tests/conformance/test_auth_mgmt.py shows)."""
    side = ours
    for key, end in ((b"b", b"b"), (b"b", b"a"), (b"", b"")):
        perm = _auth.Permission(permType=0, key=key, range_end=end)
        request = _pb.AuthRoleGrantPermissionRequest(name="r-app", perm=perm)
        assert side.error(_rpc.AuthStub, "RoleGrantPermission", request, "root") == (
            "INVALID_ARGUMENT etcdserver: invalid auth management"
        )


def test_cve_2021_28235_password_is_never_kept(ours: Side) -> None:
    """Only salted hashes of passwords are kept: a snapshot (what etcdlite persists) holds
    neither the password nor a token."""
    side = ours
    secret = "correct-horse-battery"
    side.call(_rpc.AuthStub, "UserAdd", _pb.AuthUserAddRequest(name="eve", password=secret), "root")
    chunks = list(
        _rpc.MaintenanceStub(side.channel).Snapshot(
            _pb.SnapshotRequest(), metadata=side.md("root"), timeout=TIMEOUT
        )
    )
    data = b"".join(c.blob for c in chunks)
    assert b"eve" in data
    assert secret.encode() not in data
    assert side.tokens["app"].encode() not in data


def test_grpcproxy_35d240518_revoked_permission_is_not_served(side: Side) -> None:
    """A permission taken away stops working at the next call, for tokens issued before it
    (nothing caches answers or permissions by token)."""
    side.call(_rpc.KVStub, "Put", _pb.PutRequest(key=b"app/x", value=b"v"), "root")
    read = _pb.RangeRequest(key=b"app/x")
    assert side.call(_rpc.KVStub, "Range", read, "app").kvs
    revoke = _pb.AuthRoleRevokePermissionRequest(role="r-app", key=b"app/", range_end=b"app0")
    side.call(_rpc.AuthStub, "RoleRevokePermission", revoke, "root")
    assert side.error(_rpc.KVStub, "Range", read, "app") == (
        "PERMISSION_DENIED etcdserver: permission denied"
    )


# -- the JSON gateway: the curl recipe, against etcd 3.4 -----------------------------------------


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _post(url: str, path: str, body: dict[str, Any], token: str | None) -> tuple[int, Any]:
    req = urllib.request.Request(url + path, data=json.dumps(body).encode(), method="POST")
    if token is not None:
        req.add_header("Authorization", token)
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:
            status, data = resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        status, data = exc.code, exc.read()
    got = json.loads(data)
    got.pop("header", None)
    if "token" in got:
        got["token"] = "<token>"
    return status, got


def _play_gateway(url: str) -> list[tuple[int, Any]]:
    """Set up auth over /v3/auth/*, then read and write with and without the header."""
    out = []
    setup: list[tuple[str, dict[str, Any]]] = [
        ("/v3/auth/user/add", {"name": "root", "password": ROOT_PW}),
        ("/v3/auth/user/grant", {"user": "root", "role": "root"}),
        ("/v3/auth/role/add", {"name": "app"}),
        (
            "/v3/auth/role/grant",
            {
                "name": "app",
                "perm": {"permType": "READWRITE", "key": _b64("app/"), "range_end": _b64("app0")},
            },
        ),
        ("/v3/auth/role/get", {"role": "app"}),
        ("/v3/auth/user/add", {"name": "alice", "password": "pw"}),
        ("/v3/auth/user/grant", {"user": "alice", "role": "app"}),
        ("/v3/auth/user/get", {"name": "alice"}),
        ("/v3/auth/authenticate", {"name": "alice", "password": "pw"}),
        ("/v3/auth/enable", {}),
    ]
    for path, body in setup:
        out.append(_post(url, path, body, None))
    token = json.loads(
        urllib.request.urlopen(
            urllib.request.Request(
                url + "/v3/auth/authenticate",
                data=json.dumps({"name": "alice", "password": "pw"}).encode(),
                method="POST",
            ),
            timeout=TIMEOUT,
        ).read()
    )["token"]
    calls = [
        ("/v3/kv/put", {"key": _b64("app/x"), "value": _b64("1")}, token),
        ("/v3/kv/range", {"key": _b64("app/x")}, token),
        ("/v3/kv/range", {"key": _b64("app/x")}, None),
        ("/v3/kv/range", {"key": _b64("app/x")}, "forged"),
        ("/v3/kv/put", {"key": _b64("other"), "value": _b64("1")}, token),
        ("/v3/auth/user/list", {}, token),
        ("/v3/auth/authenticate", {"name": "alice", "password": "wrong"}, None),
        ("/v3/auth/disable", {}, token),
    ]
    for path, body, tok in calls:
        status, got = _post(url, path, body, tok)
        for kv in got.get("kvs", ()):
            for field_ in ("create_revision", "mod_revision"):
                kv.pop(field_, None)
        out.append((status, got))
    return out


@pytest.mark.etcd
def test_gateway_auth_matches_etcd() -> None:
    """The gateway's /v3/auth/* paths and the ``Authorization`` header answer as etcd 3.4's:
    the same statuses and bodies (headers aside)."""
    store = Store(password_hash_cost=1)
    try:
        with serve(store, port=0) as server:
            ours = _play_gateway(f"http://{server.address}")
    finally:
        store.close()
    with running_etcd(extra_args=["--bcrypt-cost=4"]) as etcd:
        theirs = _play_gateway(etcd.url)
    assert ours == theirs
    statuses = [s for s, _ in ours]
    assert {400, 401, 403} <= set(statuses)


# -- client certificates: the CN as the user ------------------------------------------------------


class _Context:
    """The part of a servicer context identity reads, with a client certificate's CN."""

    def __init__(self, metadata: tuple[tuple[str, str], ...] = (), cn: str | None = None) -> None:
        self._metadata = metadata
        self._cn = cn

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self._metadata

    def auth_context(self) -> dict[str, list[bytes]]:
        return {} if self._cn is None else {"x509_common_name": [self._cn.encode()]}

    def abort(self, code: grpc.StatusCode, details: str) -> None:
        raise _Aborted(code, details)


class _Aborted(Exception):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(code, details)
        self.code = code
        self.details = details


def test_client_certificate_cn_is_the_user_with_client_cert_auth() -> None:
    """Under ``--client-cert-auth`` a call without a token runs as its certificate's CN, as
    etcd's; a token wins over the CN; without the flag the CN is ignored. A CN that names no
    user may do nothing: "permission denied" on keys, "user name not found" for admin calls
    (etcd 3.4's answers)."""
    store = Store(password_hash_cost=1)
    setup_auth(store, FakeClock())
    store.put("app/x", "v")
    services = make_servicers(store, MemberInfo("m", (), ()), client_cert_auth=True)
    kv: Any = services.kv
    auth: Any = services.auth
    read = _pb.RangeRequest(key=b"app/x")
    assert kv.Range(read, _Context(cn="reader")).count == 1
    with pytest.raises(_Aborted) as info:
        kv.Put(_pb.PutRequest(key=b"app/x", value=b"w"), _Context(cn="reader"))
    assert (info.value.code, info.value.details) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "etcdserver: permission denied",
    )
    assert list(auth.UserList(_pb.AuthUserListRequest(), _Context(cn="root")).users)
    with pytest.raises(_Aborted) as info:
        kv.Range(read, _Context(cn="stranger"))
    assert info.value.details == "etcdserver: permission denied"
    with pytest.raises(_Aborted) as info:
        auth.UserList(_pb.AuthUserListRequest(), _Context(cn="stranger"))
    assert info.value.details == "etcdserver: user name not found"
    with pytest.raises(_Aborted) as info:  # the token wins: a bad one is refused
        kv.Range(read, _Context((("token", "forged.1"),), cn="root"))
    assert info.value.code == grpc.StatusCode.UNAUTHENTICATED
    plain: Any = make_servicers(store, MemberInfo("m", (), ()))
    with pytest.raises(_Aborted) as info:
        plain.kv.Range(read, _Context(cn="root"))
    assert info.value.details == "etcdserver: user name is empty"
    store.close()


@pytest.mark.etcd
def test_bad_token_on_etcd_34_with_auth_off() -> None:
    """What ``auth-bad-token-everywhere`` differs from: etcd 3.4.23 with auth off refuses a
    forged token on KV and Auth calls but answers Status, MemberList and LeaseLeases."""
    divergence("auth-bad-token-everywhere")
    md = (("token", "forged.1"),)
    with running_etcd() as etcd, grpc.insecure_channel(etcd.url.removeprefix("http://")) as ch:
        for stub, method, request in [
            (_rpc.MaintenanceStub, "Status", _pb.StatusRequest()),
            (_rpc.ClusterStub, "MemberList", _pb.MemberListRequest()),
            (_rpc.LeaseStub, "LeaseLeases", _pb.LeaseLeasesRequest()),
        ]:
            assert getattr(stub(ch), method)(request, metadata=md, timeout=TIMEOUT) is not None
        for stub, method, request in [
            (_rpc.KVStub, "Range", _pb.RangeRequest(key=b"a")),
            (_rpc.AuthStub, "UserList", _pb.AuthUserListRequest()),
        ]:
            with pytest.raises(grpc.RpcError) as info:
                getattr(stub(ch), method)(request, metadata=md, timeout=TIMEOUT)
            err: Any = info.value
            assert err.code() == grpc.StatusCode.UNAUTHENTICATED, method
