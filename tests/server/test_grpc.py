"""etcdlite.serve over the wire: every service through our generated stubs, in-process.

Each test serves a fresh Store on an ephemeral 127.0.0.1 port and talks to it with the stubs
generated from our .proto files, as any etcd client would. Every call and every wait for a
stream message is bounded by :data:`TIMEOUT`.
"""

from __future__ import annotations

import hashlib
import queue
import subprocess
import sys
import threading
from typing import TYPE_CHECKING, Any

import grpc
import pytest
from conformance._etcd import running_etcd
from conformance.divergences import divergence

import etcdlite
from etcdlite import Store
from etcdlite.server import Server, serve
from etcdlite.server._pb import (
    health_pb2,
    health_pb2_grpc,
    rpc_pb2,
    rpc_pb2_grpc,
    v3election_pb2,
    v3election_pb2_grpc,
    v3lock_pb2,
    v3lock_pb2_grpc,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

TIMEOUT = 10.0

_rpc: Any = rpc_pb2_grpc
_lock: Any = v3lock_pb2_grpc
_election: Any = v3election_pb2_grpc
_health: Any = health_pb2_grpc


class Stubs:
    """One channel to a served store, with a stub per service."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.store = server.store
        self.channel = grpc.insecure_channel(server.address)
        self.kv = _rpc.KVStub(self.channel)
        self.watch = _rpc.WatchStub(self.channel)
        self.lease = _rpc.LeaseStub(self.channel)
        self.cluster = _rpc.ClusterStub(self.channel)
        self.maintenance = _rpc.MaintenanceStub(self.channel)
        self.lock = _lock.LockStub(self.channel)
        self.election = _election.ElectionStub(self.channel)
        self.health = _health.HealthStub(self.channel)


@pytest.fixture
def api() -> Iterator[Stubs]:
    store = Store(max_txn_ops=8, max_request_bytes=64 * 1024)
    with serve(store, port=0, max_request_bytes=64 * 1024) as server:
        stubs = Stubs(server)
        try:
            yield stubs
        finally:
            stubs.channel.close()
    store.close()


def _error(call: Any, request: object) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as info:
        call(request, timeout=TIMEOUT)
    err: Any = info.value
    return err.code(), err.details()


def _put(api: Stubs, key: bytes, value: bytes = b"v", lease: int = 0) -> Any:
    return api.kv.Put(rpc_pb2.PutRequest(key=key, value=value, lease=lease), timeout=TIMEOUT)


class Requests:
    """A request iterator for a bidi stream, fed from the test, ended by :meth:`close`."""

    _END = object()

    def __init__(self) -> None:
        self._q: queue.Queue[object] = queue.Queue()

    def send(self, request: object) -> None:
        self._q.put(request)

    def close(self) -> None:
        self._q.put(self._END)

    def __iter__(self) -> Iterator[Any]:
        while True:
            item = self._q.get(timeout=TIMEOUT * 3)
            if item is self._END:
                return
            yield item


class Replies:
    """The responses of a stream, read by a thread so the test can wait with a timeout."""

    def __init__(self, call: Any) -> None:
        self.call = call
        self._q: queue.Queue[Any] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            for item in self.call:
                self._q.put(item)
        except grpc.RpcError as exc:
            self._q.put(exc)
        self._q.put(None)

    def next(self) -> Any:
        item = self._q.get(timeout=TIMEOUT)
        if isinstance(item, grpc.RpcError):
            raise item
        assert item is not None, "the stream ended"
        return item


# ---------------------------------------------------------------- serve


def test_serve_is_lazy_and_exported() -> None:
    """etcdlite.serve is etcdlite.server.serve, loaded on first use."""
    assert "serve" in etcdlite.__all__
    assert etcdlite.serve is serve


def test_serve_without_the_extra_names_it() -> None:
    """Without grpc installed, etcdlite.serve raises an ImportError naming the extra."""
    code = (
        "import sys; sys.modules['grpc'] = None\n"
        "import etcdlite\n"
        "try:\n    etcdlite.serve\nexcept ImportError as e:\n    print(e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert "pip install 'etcdlite[grpc]'" in out.stdout


def test_server_owns_the_store_it_creates() -> None:
    """serve() without a store makes one, and closes it on stop; the address has the port."""
    server = serve(port=0, max_txn_ops=2)
    try:
        host, port = server.address.rsplit(":", 1)
        assert host == "127.0.0.1"
        assert int(port) > 0
        api = Stubs(server)
        api.kv.Put(rpc_pb2.PutRequest(key=b"k", value=b"v"), timeout=TIMEOUT)
        api.channel.close()
    finally:
        server.stop()
    assert server.store.closed


# ---------------------------------------------------------------- KV


def test_kv_round_trip(api: Stubs) -> None:
    """Put, Range with options, DeleteRange with prev_kv, as etcd answers them."""
    for k in (b"a", b"b", b"c"):
        _put(api, k, k * 2)
    r = api.kv.Range(
        rpc_pb2.RangeRequest(
            key=b"a",
            range_end=b"\0",
            limit=2,
            sort_order=rpc_pb2.RangeRequest.DESCEND,
            sort_target=rpc_pb2.RangeRequest.KEY,
        ),
        timeout=TIMEOUT,
    )
    assert [kv.key for kv in r.kvs] == [b"c", b"b"]
    assert (r.more, r.count, r.header.revision) == (True, 3, 4)
    r = api.kv.Range(rpc_pb2.RangeRequest(key=b"a", revision=2, keys_only=True), timeout=TIMEOUT)
    assert (r.kvs[0].key, r.kvs[0].value) == (b"a", b"")
    p = api.kv.Put(rpc_pb2.PutRequest(key=b"a", value=b"x", prev_kv=True), timeout=TIMEOUT)
    assert p.prev_kv.value == b"aa"
    assert p.header.revision == 5
    d = api.kv.DeleteRange(
        rpc_pb2.DeleteRangeRequest(key=b"a", range_end=b"c", prev_kv=True), timeout=TIMEOUT
    )
    assert d.deleted == 2
    assert [kv.value for kv in d.prev_kvs] == [b"x", b"bb"]
    assert d.header.member_id == api.store.get("c").header.member_id


def test_txn_nested_with_compares(api: Stubs) -> None:
    """Txn: compares of every target, then a nested txn; responses nest the same way."""
    _put(api, b"k", b"v")
    compares = [
        rpc_pb2.Compare(key=b"k", target=rpc_pb2.Compare.VALUE, value=b"v"),
        rpc_pb2.Compare(
            key=b"k", target=rpc_pb2.Compare.VERSION, result=rpc_pb2.Compare.GREATER, version=0
        ),
        rpc_pb2.Compare(key=b"k", target=rpc_pb2.Compare.CREATE, create_revision=2),
        rpc_pb2.Compare(
            key=b"k", target=rpc_pb2.Compare.MOD, result=rpc_pb2.Compare.LESS, mod_revision=9
        ),
    ]
    inner = rpc_pb2.TxnRequest(
        compare=[rpc_pb2.Compare(key=b"k", target=rpc_pb2.Compare.LEASE, lease=0)],
        success=[rpc_pb2.RequestOp(request_put=rpc_pb2.PutRequest(key=b"n", value=b"1"))],
    )
    r = api.kv.Txn(
        rpc_pb2.TxnRequest(
            compare=compares,
            success=[
                rpc_pb2.RequestOp(request_range=rpc_pb2.RangeRequest(key=b"k")),
                rpc_pb2.RequestOp(request_txn=inner),
            ],
        ),
        timeout=TIMEOUT,
    )
    assert r.succeeded
    assert r.responses[0].response_range.kvs[0].value == b"v"
    assert r.responses[1].response_txn.succeeded
    assert r.header.revision == 3
    assert api.store.get("n").kvs[0].value == b"1"
    # A compare whose target_union names another target compares against zero (etcd).
    r = api.kv.Txn(
        rpc_pb2.TxnRequest(
            compare=[rpc_pb2.Compare(key=b"k", target=rpc_pb2.Compare.VERSION, mod_revision=2)]
        ),
        timeout=TIMEOUT,
    )
    assert not r.succeeded


@pytest.mark.parametrize(
    ("name", "method", "req", "code", "message"),
    [
        (
            "empty-key",
            "Range",
            rpc_pb2.RangeRequest(key=b""),
            grpc.StatusCode.INVALID_ARGUMENT,
            "etcdserver: key is not provided",
        ),
        (
            "future-rev",
            "Range",
            rpc_pb2.RangeRequest(key=b"a", revision=99),
            grpc.StatusCode.OUT_OF_RANGE,
            "etcdserver: mvcc: required revision is a future revision",
        ),
        (
            "unknown-sort-target",
            "Range",
            rpc_pb2.RangeRequest(key=b"a", sort_order=1, sort_target=42),  # type: ignore[arg-type]
            grpc.StatusCode.INVALID_ARGUMENT,
            "etcdserver: invalid sort option",
        ),
        (
            "lease-not-found",
            "Put",
            rpc_pb2.PutRequest(key=b"a", lease=77),
            grpc.StatusCode.NOT_FOUND,
            "etcdserver: requested lease not found",
        ),
        (
            "too-many-ops",
            "Txn",
            rpc_pb2.TxnRequest(
                success=[
                    rpc_pb2.RequestOp(request_put=rpc_pb2.PutRequest(key=bytes([65 + i])))
                    for i in range(9)
                ]
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            "etcdserver: too many operations in txn request",
        ),
        (
            "duplicate-key",
            "Txn",
            rpc_pb2.TxnRequest(
                success=[rpc_pb2.RequestOp(request_put=rpc_pb2.PutRequest(key=b"d"))] * 2
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            "etcdserver: duplicate key given in txn request",
        ),
        (
            "empty-request-op",
            "Txn",
            rpc_pb2.TxnRequest(success=[rpc_pb2.RequestOp()]),
            grpc.StatusCode.INVALID_ARGUMENT,
            "etcdserver: key not found",
        ),
        (
            "request-too-large",
            "Put",
            rpc_pb2.PutRequest(key=b"a", value=b"x" * 70_000),
            grpc.StatusCode.INVALID_ARGUMENT,
            "etcdserver: request is too large",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) and " " not in v and ":" not in v else "",
)
def test_kv_errors(
    api: Stubs, name: str, method: str, req: object, code: grpc.StatusCode, message: str
) -> None:
    """Each refused KV request gets etcd's code and exact message."""
    assert _error(getattr(api.kv, method), req) == (code, message)


def test_unknown_compare_enums_are_answered(api: Stubs) -> None:
    """Compare target/result values etcd does not know reach the Store and get an answer.

    The wire only carries the values through; what they mean is the Store's to decide. etcd
    3.4 holds a compare with an unknown result as true (observed), whatever the values: so
    does the Store.
    """
    _put(api, b"k", b"v")
    for target, result in [(9, 0), (0, 9)]:
        r = api.kv.Txn(
            rpc_pb2.TxnRequest(
                compare=[rpc_pb2.Compare(key=b"k", target=target, result=result, version=1)]  # type: ignore[arg-type]
            ),
            timeout=TIMEOUT,
        )
        assert r.header.revision == 2
    for version in (1, 7):  # true against the key's version 1 and against 7 alike
        r = api.kv.Txn(
            rpc_pb2.TxnRequest(
                compare=[rpc_pb2.Compare(key=b"k", target=0, result=9, version=version)]  # type: ignore[arg-type]
            ),
            timeout=TIMEOUT,
        )
        assert r.succeeded


def test_compaction_over_the_wire(api: Stubs) -> None:
    """Compact, then reads below it are compacted, and compacting again is an error."""
    for v in (b"1", b"2", b"3"):
        _put(api, b"k", v)
    api.kv.Compact(rpc_pb2.CompactionRequest(revision=3, physical=True), timeout=TIMEOUT)
    assert _error(api.kv.Range, rpc_pb2.RangeRequest(key=b"k", revision=2)) == (
        grpc.StatusCode.OUT_OF_RANGE,
        "etcdserver: mvcc: required revision has been compacted",
    )
    assert _error(api.kv.Compact, rpc_pb2.CompactionRequest(revision=3))[1] == (
        "etcdserver: mvcc: required revision has been compacted"
    )


def test_oversize_request_is_refused_by_the_transport(api: Stubs) -> None:
    """Beyond max_request_bytes + 512 KiB gRPC itself refuses the message (RESOURCE_EXHAUSTED).

    The text is Python gRPC's, not Go's: divergence("grpc-receive-limit-text").
    """
    assert divergence("grpc-receive-limit-text").kind == "transport"
    code, message = _error(api.kv.Put, rpc_pb2.PutRequest(key=b"a", value=b"x" * 600_000))
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "larger than max" in message
    assert _put(api, b"still", b"serving").header.revision == 2


def test_malformed_bytes_get_an_error_and_the_server_keeps_serving(api: Stubs) -> None:
    """Garbage bytes to every unary RPC are answered with an error status, never a crash."""
    methods = [
        "/etcdserverpb.KV/Range",
        "/etcdserverpb.KV/Put",
        "/etcdserverpb.KV/Txn",
        "/etcdserverpb.Lease/LeaseGrant",
        "/etcdserverpb.Maintenance/Status",
        "/v3lockpb.Lock/Lock",
        "/v3electionpb.Election/Proclaim",
    ]
    garbage = [b"\xff\xff\xff", b"\x0a\x05ab", b"\x12" * 9, bytes(range(256))]
    for method in methods:
        call: Any = api.channel.unary_unary(method)  # identity serializers: raw bytes
        for blob in garbage:
            with pytest.raises(grpc.RpcError) as info:
                call(blob, timeout=TIMEOUT)
            err: Any = info.value
            assert err.code() != grpc.StatusCode.OK
    assert _put(api, b"alive").header.revision == 2


# ---------------------------------------------------------------- watch


def test_watch_stream_create_events_cancel_progress(api: Stubs) -> None:
    """A watch stream serves create, events, progress and cancel while puts run alongside."""
    requests = Requests()
    replies = Replies(api.watch.Watch(iter(requests), timeout=TIMEOUT * 3))
    try:
        requests.send(
            rpc_pb2.WatchRequest(
                create_request=rpc_pb2.WatchCreateRequest(key=b"w", range_end=b"x", prev_kv=True)
            )
        )
        created = replies.next()
        assert created.created
        assert created.watch_id == 0
        _put(api, b"w1", b"a")
        _put(api, b"w1", b"b")
        events = [replies.next().events[0] for _ in range(2)]
        assert [e.kv.value for e in events] == [b"a", b"b"]
        assert events[1].prev_kv.value == b"a"
        requests.send(rpc_pb2.WatchRequest(progress_request=rpc_pb2.WatchProgressRequest()))
        progress = replies.next()
        assert (progress.watch_id, progress.header.revision) == (-1, 3)
        requests.send(
            rpc_pb2.WatchRequest(
                create_request=rpc_pb2.WatchCreateRequest(key=b"w1", start_revision=2, watch_id=7)
            )
        )
        assert replies.next().watch_id == 7
        assert [e.kv.mod_revision for e in replies.next().events] == [2, 3]
        requests.send(rpc_pb2.WatchRequest(cancel_request=rpc_pb2.WatchCancelRequest(watch_id=0)))
        canceled = replies.next()
        assert (canceled.watch_id, canceled.canceled) == (0, True)
        requests.send(rpc_pb2.WatchRequest(cancel_request=rpc_pb2.WatchCancelRequest(watch_id=99)))
        d = api.kv.DeleteRange(rpc_pb2.DeleteRangeRequest(key=b"w1"), timeout=TIMEOUT)
        reply = replies.next()  # the cancel of an unknown id answered nothing
        assert reply.watch_id == 7
        assert reply.events[0].type == 1
        assert reply.header.revision == d.header.revision
    finally:
        requests.close()
        replies.call.cancel()


def test_watch_stream_end_cancels_its_watches(api: Stubs) -> None:
    """Cancelling the gRPC stream closes the WatchStream and its watches on the store."""
    requests = Requests()
    call = api.watch.Watch(iter(requests), timeout=TIMEOUT * 3)
    replies = Replies(call)
    requests.send(
        rpc_pb2.WatchRequest(create_request=rpc_pb2.WatchCreateRequest(key=b"a", range_end=b"\0"))
    )
    assert replies.next().created
    call.cancel()
    requests.close()
    _put(api, b"a")  # nothing left to deliver it to; the server carries on
    assert api.kv.Range(rpc_pb2.RangeRequest(key=b"a"), timeout=TIMEOUT).count == 1


def test_watch_compacted_start(api: Stubs) -> None:
    """A watch from below the compaction: created, then canceled with compact_revision."""
    for v in (b"1", b"2", b"3"):
        _put(api, b"k", v)
    api.store.compact(3)
    requests = Requests()
    replies = Replies(api.watch.Watch(iter(requests), timeout=TIMEOUT * 3))
    try:
        requests.send(
            rpc_pb2.WatchRequest(
                create_request=rpc_pb2.WatchCreateRequest(key=b"k", start_revision=1)
            )
        )
        assert replies.next().created
        r = replies.next()
        assert (r.canceled, r.compact_revision) == (True, 3)
    finally:
        requests.close()
        replies.call.cancel()


# ---------------------------------------------------------------- lease


def test_lease_rpcs(api: Stubs) -> None:
    """Grant, TimeToLive with keys, Leases, Revoke and their errors."""
    g = api.lease.LeaseGrant(rpc_pb2.LeaseGrantRequest(TTL=60, ID=0x1234), timeout=TIMEOUT)
    assert (g.ID, g.TTL) == (0x1234, 60)
    _put(api, b"leased", lease=g.ID)
    t = api.lease.LeaseTimeToLive(
        rpc_pb2.LeaseTimeToLiveRequest(ID=g.ID, keys=True), timeout=TIMEOUT
    )
    assert (t.grantedTTL, list(t.keys)) == (60, [b"leased"])
    assert 58 <= t.TTL <= 60
    missing = api.lease.LeaseTimeToLive(rpc_pb2.LeaseTimeToLiveRequest(ID=5), timeout=TIMEOUT)
    assert missing.TTL == -1
    leases = api.lease.LeaseLeases(rpc_pb2.LeaseLeasesRequest(), timeout=TIMEOUT)
    assert [s.ID for s in leases.leases] == [0x1234]
    assert _error(api.lease.LeaseGrant, rpc_pb2.LeaseGrantRequest(TTL=60, ID=0x1234)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "etcdserver: lease already exists",
    )
    assert _error(api.lease.LeaseGrant, rpc_pb2.LeaseGrantRequest(TTL=10**10)) == (
        grpc.StatusCode.OUT_OF_RANGE,
        "etcdserver: too large lease TTL",
    )
    r = api.lease.LeaseRevoke(rpc_pb2.LeaseRevokeRequest(ID=g.ID), timeout=TIMEOUT)
    assert r.header.revision == 3
    assert _error(api.lease.LeaseRevoke, rpc_pb2.LeaseRevokeRequest(ID=g.ID)) == (
        grpc.StatusCode.NOT_FOUND,
        "etcdserver: requested lease not found",
    )


def test_keep_alive_stream(api: Stubs) -> None:
    """Each keep-alive request renews once; an unknown lease gets TTL 0, not an error
    (on the wire, unlike Store.keep_alive_once: divergence("keepalive-unknown-lease"))."""
    assert divergence("keepalive-unknown-lease").kind == "transport"
    lease = api.store.grant(30).id
    requests = Requests()
    replies = Replies(api.lease.LeaseKeepAlive(iter(requests), timeout=TIMEOUT * 3))
    try:
        requests.send(rpc_pb2.LeaseKeepAliveRequest(ID=lease))
        r = replies.next()
        got_id = r.ID
        assert got_id == lease
        assert r.TTL == 30
        requests.send(rpc_pb2.LeaseKeepAliveRequest(ID=424242))
        r = replies.next()
        assert (r.ID, r.TTL, r.header.revision) == (424242, 0, 1)
        requests.send(rpc_pb2.LeaseKeepAliveRequest(ID=lease))
        assert replies.next().TTL == 30
    finally:
        requests.close()
        replies.call.cancel()


# ---------------------------------------------------------------- lock and election


def test_lock_and_unlock(api: Stubs) -> None:
    """Lock returns name/<lease hex>; a second locker waits until Unlock; errors are UNKNOWN."""
    lease = api.store.grant(60, id=0x694D).id
    held = api.lock.Lock(v3lock_pb2.LockRequest(name=b"jobs", lease=lease), timeout=TIMEOUT)
    assert held.key == b"jobs/694d"
    other = api.store.grant(60).id
    future = api.lock.Lock.future(
        v3lock_pb2.LockRequest(name=b"jobs", lease=other), timeout=TIMEOUT
    )
    with pytest.raises(grpc.FutureTimeoutError):
        future.result(timeout=0.3)
    api.lock.Unlock(v3lock_pb2.UnlockRequest(key=held.key), timeout=TIMEOUT)
    assert future.result(timeout=TIMEOUT).key == b"jobs/" + format(other, "x").encode()
    assert _error(api.lock.Lock, v3lock_pb2.LockRequest(name=b"x", lease=31337)) == (
        grpc.StatusCode.UNKNOWN,
        "etcdserver: requested lease not found",
    )


def test_abandoned_lock_call_withdraws(api: Stubs) -> None:
    """A Lock call whose client gives up (deadline) leaves no waiting key behind."""
    api.lock.Lock(v3lock_pb2.LockRequest(name=b"m"), timeout=TIMEOUT)
    with pytest.raises(grpc.RpcError) as info:
        api.lock.Lock(v3lock_pb2.LockRequest(name=b"m"), timeout=0.5)
    err: Any = info.value
    assert err.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    for _ in range(100):  # the server notices the deadline within its own wait
        if api.store.get("m/", prefix=True).count == 1:
            break
        threading.Event().wait(0.05)
    assert api.store.get("m/", prefix=True).count == 1


def test_election_rpcs_and_observe(api: Stubs) -> None:
    """Campaign, Leader, Observe, Proclaim, Resign, and their UNKNOWN-coded errors."""
    assert _error(api.election.Leader, v3election_pb2.LeaderRequest(name=b"e")) == (
        grpc.StatusCode.UNKNOWN,
        "election: no leader",
    )
    lease = api.store.grant(60).id
    c = api.election.Campaign(
        v3election_pb2.CampaignRequest(name=b"e", lease=lease, value=b"v1"), timeout=TIMEOUT
    )
    assert (c.leader.name, c.leader.rev, c.leader.lease) == (b"e", 2, lease)
    observed = Replies(
        api.election.Observe(v3election_pb2.LeaderRequest(name=b"e"), timeout=TIMEOUT * 3)
    )
    try:
        assert observed.next().kv.value == b"v1"
        api.election.Proclaim(
            v3election_pb2.ProclaimRequest(leader=c.leader, value=b"v2"), timeout=TIMEOUT
        )
        assert observed.next().kv.value == b"v2"
    finally:
        observed.call.cancel()
    leader = api.election.Leader(v3election_pb2.LeaderRequest(name=b"e"), timeout=TIMEOUT)
    assert leader.kv.value == b"v2"
    stale = v3election_pb2.LeaderKey(name=b"e", key=c.leader.key, rev=99, lease=lease)
    assert _error(
        api.election.Proclaim, v3election_pb2.ProclaimRequest(leader=stale, value=b"x")
    ) == (grpc.StatusCode.UNKNOWN, "election: not leader")
    assert _error(api.election.Proclaim, v3election_pb2.ProclaimRequest(value=b"x")) == (
        grpc.StatusCode.UNKNOWN,
        '"leader" field must be provided',
    )
    api.election.Resign(v3election_pb2.ResignRequest(leader=c.leader), timeout=TIMEOUT)
    assert api.store.get("e/", prefix=True).count == 0


# ---------------------------------------------------------------- cluster, maintenance, health


def test_member_list_and_changes(api: Stubs) -> None:
    """MemberList shows this one member; MemberUpdate changes its peer URLs; the other changes
    get etcd's errors, never a silent success."""
    members = api.cluster.MemberList(rpc_pb2.MemberListRequest(), timeout=TIMEOUT)
    (me,) = members.members
    assert me.ID == members.header.member_id != 0
    assert me.name == "default"
    assert list(me.clientURLs) == [f"http://{api.server.address}"]
    assert list(me.peerURLs) == ["http://localhost:2380"]
    unstarted = "etcdserver: re-configuration failed due to not enough started members"
    assert _error(
        api.cluster.MemberAdd, rpc_pb2.MemberAddRequest(peerURLs=["http://127.0.0.1:1"])
    ) == (grpc.StatusCode.UNKNOWN, unstarted)
    assert _error(api.cluster.MemberRemove, rpc_pb2.MemberRemoveRequest(ID=me.ID)) == (
        grpc.StatusCode.UNKNOWN,
        unstarted,
    )
    assert _error(api.cluster.MemberRemove, rpc_pb2.MemberRemoveRequest(ID=1)) == (
        grpc.StatusCode.NOT_FOUND,
        "etcdserver: member not found",
    )
    assert _error(api.cluster.MemberUpdate, rpc_pb2.MemberUpdateRequest(ID=1)) == (
        grpc.StatusCode.NOT_FOUND,
        "etcdserver: member not found",
    )
    # updating this member's peer URLs works, as on etcd 3.4 (a single member is its quorum)
    new_peers = ["http://127.0.0.1:1", "http://127.0.0.1:2"]
    updated = api.cluster.MemberUpdate(
        rpc_pb2.MemberUpdateRequest(ID=me.ID, peerURLs=new_peers), timeout=TIMEOUT
    )
    assert [list(m.peerURLs) for m in updated.members] == [new_peers]
    assert updated.header.revision == 0  # cluster headers carry no revision
    (again,) = api.cluster.MemberList(rpc_pb2.MemberListRequest(), timeout=TIMEOUT).members
    assert (list(again.peerURLs), list(again.clientURLs)) == (new_peers, list(me.clientURLs))
    assert _error(api.cluster.MemberPromote, rpc_pb2.MemberPromoteRequest(ID=me.ID)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "etcdserver: can only promote a learner member",
    )


@pytest.mark.etcd
def test_member_add_on_real_etcd_loses_quorum() -> None:
    """The ``member-add-single-member`` divergence, observed: etcd 3.4 accepts MemberAdd on a
    single member (the new one unstarted, so no quorum); etcdlite refuses it (above)."""
    assert divergence("member-add-single-member").kind == "choice"
    with running_etcd() as etcd, grpc.insecure_channel(etcd.url.removeprefix("http://")) as ch:
        added = _rpc.ClusterStub(ch).MemberAdd(
            rpc_pb2.MemberAddRequest(peerURLs=["http://127.0.0.1:1"]), timeout=TIMEOUT
        )
        assert (added.member.name, list(added.member.peerURLs)) == ("", ["http://127.0.0.1:1"])
        assert len(added.members) == 2
        with pytest.raises(grpc.RpcError) as put:  # no quorum: the write cannot commit
            _rpc.KVStub(ch).Put(rpc_pb2.PutRequest(key=b"k", value=b"v"), timeout=1.0)
        # our deadline, or etcd's own "request timed out" once its leader steps down (no quorum)
        timeouts = (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNAVAILABLE)
        assert put.value.code() in timeouts


def test_maintenance(api: Stubs) -> None:
    """Status, HashKV (the Store's), Alarm list, Defragment, MoveLeader, Snapshot; Hash says
    unimplemented."""
    _put(api, b"a", b"1")
    s = api.maintenance.Status(rpc_pb2.StatusRequest(), timeout=TIMEOUT)
    assert s.version == "3.5.0"
    assert s.leader == s.header.member_id
    assert (s.header.revision, s.raftTerm) == (2, 2)
    h = api.maintenance.HashKV(rpc_pb2.HashKVRequest(), timeout=TIMEOUT)
    assert (h.hash, h.compact_revision) == (api.store.hash_kv().hash, -1)
    alarms = api.maintenance.Alarm(rpc_pb2.AlarmRequest(), timeout=TIMEOUT)
    assert list(alarms.alarms) == []
    api.maintenance.Defragment(rpc_pb2.DefragmentRequest(), timeout=TIMEOUT)
    code, message = _error(api.maintenance.Hash, rpc_pb2.HashRequest())
    assert code == grpc.StatusCode.UNIMPLEMENTED
    assert "not implemented" in message
    # MoveLeader: to itself, an empty success (etcd 3.4 sends no header); elsewhere, no member
    moved = api.maintenance.MoveLeader(
        rpc_pb2.MoveLeaderRequest(targetID=s.header.member_id), timeout=TIMEOUT
    )
    assert not moved.HasField("header")
    assert _error(api.maintenance.MoveLeader, rpc_pb2.MoveLeaderRequest(targetID=1)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "etcdserver: bad leader transferee",
    )
    for i in range(3000):  # several 32 KiB chunks
        _put(api, b"k%d" % i, b"v" * 40)
    chunks = list(api.maintenance.Snapshot(rpc_pb2.SnapshotRequest(), timeout=TIMEOUT))
    data = b"".join(c.blob for c in chunks[:-1])
    assert [len(c.blob) for c in chunks[:-2]] == [32 * 1024] * (len(chunks) - 2)
    assert [c.remaining_bytes for c in chunks] == [
        len(data) - sum(len(c.blob) for c in chunks[: i + 1]) for i in range(len(chunks) - 1)
    ] + [0]
    assert chunks[-1].blob == hashlib.sha256(data).digest()
    assert data == b"".join(api.store.snapshot())
    with etcdlite.Store.restore([data]) as copy:
        assert copy.hash_kv().hash == api.store.hash_kv().hash


def test_health(api: Stubs) -> None:
    """The gRPC health service says SERVING."""
    r = api.health.Check(health_pb2.HealthCheckRequest(), timeout=TIMEOUT)
    assert r.status == health_pb2.HealthCheckResponse.SERVING
    watched = Replies(api.health.Watch(health_pb2.HealthCheckRequest(), timeout=TIMEOUT))
    try:
        assert watched.next().status == health_pb2.HealthCheckResponse.SERVING
    finally:
        watched.call.cancel()
