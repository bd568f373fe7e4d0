"""Our protocol files: reproducible generated modules, and etcd v3.4's wire format byte for byte.

Three layers of evidence: ``scripts/gen_proto.py --check`` (the committed ``_pb`` package is
what the .proto files produce); the descriptors against the fact tables in ``_spec.py`` and a
few messages against hand-computed encodings; and the generated stubs talking to a real etcd
3.4 (``@pytest.mark.etcd``), which decodes what we encode and answers in bytes we decode.
"""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc
import pytest
from conformance._etcd import running_etcd
from google.protobuf import descriptor_pb2

from etcdlite.server._pb import (
    auth_pb2,
    health_pb2,
    health_pb2_grpc,
    kv_pb2,
    rpc_pb2,
    rpc_pb2_grpc,
    v3election_pb2,
    v3election_pb2_grpc,
    v3lock_pb2,
    v3lock_pb2_grpc,
)

from . import _spec

if TYPE_CHECKING:
    from collections.abc import Iterator

    from google.protobuf.descriptor import Descriptor, FieldDescriptor, FileDescriptor

ROOT = Path(__file__).resolve().parents[2]
#: Bound on every call to etcd and every wait for a stream message.
TIMEOUT = 10.0

FILES: list[FileDescriptor] = [
    m.DESCRIPTOR for m in (kv_pb2, auth_pb2, rpc_pb2, v3lock_pb2, v3election_pb2, health_pb2)
]

# The generated gRPC modules have no type annotations: reach them through Any.
_rpc_grpc: Any = rpc_pb2_grpc
_lock_grpc: Any = v3lock_pb2_grpc
_election_grpc: Any = v3election_pb2_grpc
_health_grpc: Any = health_pb2_grpc


# ---------------------------------------------------------------- reproducible modules


def test_generated_modules_are_up_to_date() -> None:
    """`scripts/gen_proto.py --check` finds etcdlite/server/_pb exactly as the .proto files make it."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_proto.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_pinned_tools_match_pyproject() -> None:
    """The grpcio-tools pin in gen_proto.py is the one the `test` extra installs."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import gen_proto
    finally:
        sys.path.pop(0)
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert f'"grpcio-tools=={gen_proto.GRPCIO_TOOLS}"' in pyproject


def test_package_imports_nothing_heavy() -> None:
    """import etcdlite.server pulls in neither grpc nor protobuf."""
    code = "import sys, etcdlite.server; print('grpc' in sys.modules, 'google.protobuf' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.split() == ["False", "False"]


# ---------------------------------------------------------------- descriptors against the facts


_SCALARS: dict[int, str] = {
    descriptor_pb2.FieldDescriptorProto.TYPE_BOOL: "bool",
    descriptor_pb2.FieldDescriptorProto.TYPE_BYTES: "bytes",
    descriptor_pb2.FieldDescriptorProto.TYPE_INT64: "int64",
    descriptor_pb2.FieldDescriptorProto.TYPE_STRING: "string",
    descriptor_pb2.FieldDescriptorProto.TYPE_UINT32: "uint32",
    descriptor_pb2.FieldDescriptorProto.TYPE_UINT64: "uint64",
}


def _type_name(field: FieldDescriptor) -> str:
    if field.message_type is not None:
        return str(field.message_type.full_name)
    if field.enum_type is not None:
        return str(field.enum_type.full_name)
    return _SCALARS[field.type]


def _all_messages() -> dict[str, Descriptor]:
    out: dict[str, Descriptor] = {}

    def walk(d: Descriptor) -> None:
        out[d.full_name] = d
        for nested in d.nested_types:
            walk(nested)

    for f in FILES:
        for d in f.message_types_by_name.values():
            walk(d)
    return out


def test_files_are_proto3_in_etcds_packages() -> None:
    """Each file is proto3 and declares etcd's (or grpc health's) package name."""
    packages = {f.name: f.package for f in FILES}
    assert packages == {
        "kv.proto": "mvccpb",
        "auth.proto": "authpb",
        "rpc.proto": "etcdserverpb",
        "v3lock.proto": "v3lockpb",
        "v3election.proto": "v3electionpb",
        "health.proto": "grpc.health.v1",
    }
    for f in FILES:
        proto = descriptor_pb2.FileDescriptorProto()
        f.CopyToProto(proto)
        assert proto.syntax == "proto3", f.name
        assert not proto.options.ListFields(), f.name  # no options of any kind


def test_every_message_is_in_the_spec_and_vice_versa() -> None:
    """No message is missing or extra against the fact table."""
    assert sorted(_all_messages()) == sorted(_spec.messages())


@pytest.mark.parametrize(
    ("message", "fields"), sorted(_spec.messages().items()), ids=sorted(_spec.messages())
)
def test_message_fields_match_etcd(
    message: str, fields: list[tuple[int, str, bool, str, str | None]]
) -> None:
    """Field numbers, names, types, repetition and oneof membership are etcd's."""
    d = _all_messages()[message]
    ours = sorted(
        (
            f.number,
            f.name,
            f.is_repeated,
            _type_name(f),
            f.containing_oneof.name if f.containing_oneof is not None else None,
        )
        for f in d.fields
    )
    assert ours == sorted(fields)


@pytest.mark.parametrize(("enum", "values"), sorted(_spec.ENUMS.items()), ids=sorted(_spec.ENUMS))
def test_enum_values_match_etcd(enum: str, values: dict[str, int]) -> None:
    """Enum value names and numbers are etcd's."""
    found = {}
    for f in FILES:
        found.update({e.full_name: e for e in f.enum_types_by_name.values()})
    for d in _all_messages().values():
        found.update({e.full_name: e for e in d.enum_types})
    assert {v.name: v.number for v in found[enum].values} == values
    assert set(found) == set(_spec.ENUMS)


@pytest.mark.parametrize(
    ("service", "methods"), sorted(_spec.SERVICES.items()), ids=sorted(_spec.SERVICES)
)
def test_service_rpcs_match_etcd(
    service: str, methods: dict[str, tuple[str, str, bool, bool]]
) -> None:
    """Rpc names, request and response types and streaming shapes are etcd's."""
    found = {s.full_name: s for f in FILES for s in f.services_by_name.values()}
    assert set(found) == set(_spec.SERVICES)
    ours = {
        m.name: (
            m.input_type.full_name,
            m.output_type.full_name,
            m.client_streaming,
            m.server_streaming,
        )
        for m in found[service].methods
    }
    assert ours == methods


# ---------------------------------------------------------------- hand-computed encodings


def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1  # negative int64 values go out as ten-byte two's complement
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | (0x80 if n else 0))
        if not n:
            return bytes(out)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        pytest.param(
            rpc_pb2.RangeRequest(
                key=b"a",
                range_end=b"b",
                limit=3,
                revision=4,
                sort_order=rpc_pb2.RangeRequest.DESCEND,
                sort_target=rpc_pb2.RangeRequest.VALUE,
                serializable=True,
                keys_only=True,
                count_only=True,
                min_mod_revision=10,
                max_mod_revision=11,
                min_create_revision=12,
                max_create_revision=13,
            ),
            # field 1..13: (number << 3) | wire type (2 for bytes, 0 for varints)
            b"\x0a\x01a\x12\x01b\x18\x03\x20\x04\x28\x02\x30\x04\x38\x01\x40\x01\x48\x01"
            b"\x50\x0a\x58\x0b\x60\x0c\x68\x0d",
            id="RangeRequest-all-fields",
        ),
        pytest.param(
            rpc_pb2.PutRequest(key=b"k", value=b"v", lease=0x1234, prev_kv=True, ignore_value=True),
            b"\x0a\x01k\x12\x01v\x18\xb4\x24\x20\x01\x28\x01",
            id="PutRequest",
        ),
        pytest.param(
            rpc_pb2.Compare(
                result=rpc_pb2.Compare.NOT_EQUAL,
                target=rpc_pb2.Compare.LEASE,
                key=b"k",
                lease=7,
                range_end=b"z",
            ),
            # range_end is field 64: tag (64 << 3) | 2 = 514, the varint 0x82 0x04
            b"\x08\x03\x10\x04\x1a\x01k\x40\x07\x82\x04\x01z",
            id="Compare-lease-range_end",
        ),
        pytest.param(
            rpc_pb2.WatchRequest(
                create_request=rpc_pb2.WatchCreateRequest(
                    key=b"w",
                    start_revision=5,
                    filters=[rpc_pb2.WatchCreateRequest.NODELETE],
                    prev_kv=True,
                    watch_id=9,
                    fragment=True,
                )
            ),
            # repeated enum packed (proto3): field 5, wire type 2, one byte
            b"\x0a\x0e" + b"\x0a\x01w\x18\x05\x2a\x01\x01\x30\x01\x38\x09\x40\x01",
            id="WatchRequest-create",
        ),
        pytest.param(
            rpc_pb2.WatchResponse(
                watch_id=1,
                cancel_reason="x",
                events=[kv_pb2.Event(type=kv_pb2.Event.DELETE, kv=kv_pb2.KeyValue(key=b"k"))],
            ),
            # events is field 11: tag (11 << 3) | 2 = 0x5a
            b"\x10\x01\x32\x01x\x5a\x07\x08\x01\x12\x03\x0a\x01k",
            id="WatchResponse-events",
        ),
        pytest.param(
            rpc_pb2.LeaseTimeToLiveResponse(ID=2, TTL=-1, grantedTTL=60, keys=[b"a"]),
            b"\x10\x02\x18" + _varint(-1) + b"\x20\x3c\x2a\x01a",
            id="LeaseTimeToLiveResponse-negative-TTL",
        ),
        pytest.param(
            kv_pb2.KeyValue(
                key=b"k", create_revision=2, mod_revision=3, version=4, value=b"v", lease=6
            ),
            b"\x0a\x01k\x10\x02\x18\x03\x20\x04\x2a\x01v\x30\x06",
            id="KeyValue",
        ),
        pytest.param(
            rpc_pb2.StatusResponse(
                version="3.4.23", leader=1, raftAppliedIndex=7, dbSizeInUse=9, isLearner=True
            ),
            b"\x12\x063.4.23\x20\x01\x38\x07\x48\x09\x50\x01",
            id="StatusResponse",
        ),
        pytest.param(
            rpc_pb2.Member(ID=1, name="n", peerURLs=["p"], clientURLs=["c"], isLearner=True),
            b"\x08\x01\x12\x01n\x1a\x01p\x22\x01c\x28\x01",
            id="Member",
        ),
        pytest.param(
            v3election_pb2.LeaderKey(name=b"e", key=b"k", rev=3, lease=4),
            b"\x0a\x01e\x12\x01k\x18\x03\x20\x04",
            id="LeaderKey",
        ),
        pytest.param(
            v3lock_pb2.LockResponse(header=rpc_pb2.ResponseHeader(revision=5), key=b"k"),
            b"\x0a\x02\x18\x05\x12\x01k",
            id="LockResponse",
        ),
        pytest.param(
            auth_pb2.Permission(permType=auth_pb2.Permission.READWRITE, key=b"a", range_end=b"b"),
            b"\x08\x02\x12\x01a\x1a\x01b",
            id="Permission",
        ),
    ],
)
def test_encoding_matches_hand_computed_bytes(message: Any, expected: bytes) -> None:
    """Our classes put each field under etcd's number and wire type, and read the bytes back."""
    assert message.SerializeToString(deterministic=True) == expected
    assert type(message).FromString(expected) == message


# ---------------------------------------------------------------- against a real etcd 3.4


class _Requests:
    """A request iterator for a bidi stream, fed from the test thread; ends on ``close()``."""

    _END = object()

    def __init__(self) -> None:
        self._q: queue.Queue[object] = queue.Queue()

    def send(self, request: object) -> None:
        self._q.put(request)

    def close(self) -> None:
        self._q.put(self._END)

    def __iter__(self) -> Iterator[object]:
        while True:
            item = self._q.get(timeout=TIMEOUT * 3)  # bounded even if the test forgets to close
            if item is self._END:
                return
            yield item


def _next_within(responses: Any, timeout: float = TIMEOUT) -> Any:
    """The next message of a response stream, or fail after ``timeout`` seconds."""
    box: list[Any] = []
    t = threading.Thread(target=lambda: box.append(next(responses)), daemon=True)
    t.start()
    t.join(timeout)
    if not box:
        responses.cancel()
        pytest.fail(f"no stream message within {timeout} s")
    return box[0]


@pytest.mark.etcd
@pytest.mark.grpc
def test_generated_stubs_talk_to_real_etcd() -> None:
    """Put, Range, Txn, leases, Watch, Lock, Campaign, MemberList and Status decode as etcd 3.4 means."""
    with running_etcd() as etcd, grpc.insecure_channel(etcd.url.removeprefix("http://")) as ch:
        kv = _rpc_grpc.KVStub(ch)
        lease = _rpc_grpc.LeaseStub(ch)
        watch = _rpc_grpc.WatchStub(ch)
        cluster = _rpc_grpc.ClusterStub(ch)
        maintenance = _rpc_grpc.MaintenanceStub(ch)
        auth = _rpc_grpc.AuthStub(ch)
        lock = _lock_grpc.LockStub(ch)
        election = _election_grpc.ElectionStub(ch)

        # KV: revisions start at 1; each write adds one.
        put = kv.Put(rpc_pb2.PutRequest(key=b"k1", value=b"v1"), timeout=TIMEOUT)
        assert put.header.revision == 2
        assert put.header.cluster_id != 0
        assert put.header.member_id != 0
        put2 = kv.Put(rpc_pb2.PutRequest(key=b"k1", value=b"v2", prev_kv=True), timeout=TIMEOUT)
        assert put2.header.revision == 3
        assert (put2.prev_kv.key, put2.prev_kv.value, put2.prev_kv.version) == (b"k1", b"v1", 1)
        got = kv.Range(rpc_pb2.RangeRequest(key=b"k1"), timeout=TIMEOUT)
        assert got.count == 1
        assert not got.more
        (item,) = got.kvs
        assert (item.key, item.value, item.create_revision, item.mod_revision, item.version) == (
            b"k1",
            b"v2",
            2,
            3,
            2,
        )
        old = kv.Range(rpc_pb2.RangeRequest(key=b"k1", revision=2), timeout=TIMEOUT)
        assert [i.value for i in old.kvs] == [b"v1"]
        counted = kv.Range(
            rpc_pb2.RangeRequest(key=b"k", range_end=b"l", count_only=True), timeout=TIMEOUT
        )
        assert (counted.count, list(counted.kvs)) == (1, [])

        # Txn: a guard on the mod revision (field 6 of the oneof), a nested read in success.
        txn = kv.Txn(
            rpc_pb2.TxnRequest(
                compare=[
                    rpc_pb2.Compare(
                        key=b"k1",
                        target=rpc_pb2.Compare.MOD,
                        result=rpc_pb2.Compare.EQUAL,
                        mod_revision=3,
                    )
                ],
                success=[
                    rpc_pb2.RequestOp(request_put=rpc_pb2.PutRequest(key=b"k2", value=b"t")),
                    rpc_pb2.RequestOp(request_range=rpc_pb2.RangeRequest(key=b"k2")),
                ],
                failure=[
                    rpc_pb2.RequestOp(request_delete_range=rpc_pb2.DeleteRangeRequest(key=b"k2"))
                ],
            ),
            timeout=TIMEOUT,
        )
        assert txn.succeeded
        assert txn.header.revision == 4
        assert [r.WhichOneof("response") for r in txn.responses] == [
            "response_put",
            "response_range",
        ]
        assert [i.value for i in txn.responses[1].response_range.kvs] == [b"t"]

        # Lease: grant, attach, time-to-live with keys, one keep-alive round trip.
        grant = lease.LeaseGrant(rpc_pb2.LeaseGrantRequest(TTL=60), timeout=TIMEOUT)
        assert grant.ID > 0
        assert grant.TTL == 60
        assert not grant.error
        kv.Put(rpc_pb2.PutRequest(key=b"leased", lease=grant.ID), timeout=TIMEOUT)
        ttl = lease.LeaseTimeToLive(
            rpc_pb2.LeaseTimeToLiveRequest(ID=grant.ID, keys=True), timeout=TIMEOUT
        )
        assert (ttl.ID, ttl.grantedTTL, list(ttl.keys)) == (grant.ID, 60, [b"leased"])
        assert 0 < ttl.TTL <= 60
        leases = lease.LeaseLeases(rpc_pb2.LeaseLeasesRequest(), timeout=TIMEOUT)
        assert [s.ID for s in leases.leases] == [grant.ID]
        keepalive = _Requests()
        answers = lease.LeaseKeepAlive(iter(keepalive), timeout=TIMEOUT * 2)
        try:
            keepalive.send(rpc_pb2.LeaseKeepAliveRequest(ID=grant.ID))
            renewed = _next_within(answers)
            assert (renewed.ID, renewed.TTL) == (grant.ID, 60)
        finally:
            keepalive.close()
            answers.cancel()

        # Watch: create (answered with created=True), then one put arrives as one event.
        requests = _Requests()
        events = watch.Watch(iter(requests), timeout=TIMEOUT * 2)
        try:
            requests.send(
                rpc_pb2.WatchRequest(
                    create_request=rpc_pb2.WatchCreateRequest(
                        key=b"w", range_end=b"x", prev_kv=True, watch_id=7
                    )
                )
            )
            created = _next_within(events)
            assert created.created
            assert created.watch_id == 7
            assert not created.events
            before = kv.Put(rpc_pb2.PutRequest(key=b"w1", value=b"a"), timeout=TIMEOUT)
            kv.Put(rpc_pb2.PutRequest(key=b"w1", value=b"b"), timeout=TIMEOUT)
            first = _next_within(events)
            while len(first.events) < 2:  # etcd may batch both puts or send them apart
                more = _next_within(events)
                first.events.extend(more.events)
            put_a, put_b = first.events
            assert first.watch_id == 7
            assert (put_a.type, put_a.kv.key, put_a.kv.value) == (kv_pb2.Event.PUT, b"w1", b"a")
            assert put_a.kv.mod_revision == before.header.revision
            assert (put_b.kv.value, put_b.prev_kv.value) == (b"b", b"a")
            requests.send(
                rpc_pb2.WatchRequest(cancel_request=rpc_pb2.WatchCancelRequest(watch_id=7))
            )
            canceled = _next_within(events)
            assert canceled.canceled
            assert canceled.watch_id == 7
        finally:
            requests.close()
            events.cancel()

        # Lock: the ownership key lives under the lock name and carries the lease.
        locked = lock.Lock(v3lock_pb2.LockRequest(name=b"L", lease=grant.ID), timeout=TIMEOUT)
        assert locked.key.startswith(b"L/")
        owner = kv.Range(rpc_pb2.RangeRequest(key=locked.key), timeout=TIMEOUT)
        assert [i.lease for i in owner.kvs] == [grant.ID]
        unlocked = lock.Unlock(v3lock_pb2.UnlockRequest(key=locked.key), timeout=TIMEOUT)
        assert unlocked.header.revision > locked.header.revision
        gone = kv.Range(rpc_pb2.RangeRequest(key=locked.key), timeout=TIMEOUT)
        assert gone.count == 0

        # Election: campaign, then Leader reports the campaigner's key and value.
        won = election.Campaign(
            v3election_pb2.CampaignRequest(name=b"E", lease=grant.ID, value=b"me"),
            timeout=TIMEOUT,
        )
        assert won.leader.name == b"E"
        assert won.leader.key.startswith(b"E/")
        assert won.leader.lease == grant.ID
        assert won.leader.rev > 0
        leader = election.Leader(v3election_pb2.LeaderRequest(name=b"E"), timeout=TIMEOUT)
        assert (leader.kv.key, leader.kv.value) == (won.leader.key, b"me")
        assert leader.kv.create_revision == won.leader.rev
        election.Resign(v3election_pb2.ResignRequest(leader=won.leader), timeout=TIMEOUT)

        # Cluster: one member, ours; the 3.5 field `linearizable` is ignored by 3.4.
        members = cluster.MemberList(rpc_pb2.MemberListRequest(linearizable=True), timeout=TIMEOUT)
        (member,) = members.members
        assert member.name == "conformance"
        assert not member.isLearner
        assert members.header.member_id == member.ID
        assert list(member.clientURLs) == [etcd.url]

        # Maintenance: Status names the version and this member as leader.
        status = maintenance.Status(rpc_pb2.StatusRequest(), timeout=TIMEOUT)
        assert status.version == ".".join(map(str, etcd.version))
        assert status.leader == member.ID
        assert status.raftTerm >= 1
        assert status.dbSize > 0
        assert 0 < status.dbSizeInUse <= status.dbSize
        assert status.raftIndex >= status.header.revision - 1
        hashed = maintenance.HashKV(rpc_pb2.HashKVRequest(), timeout=TIMEOUT)
        assert hashed.hash != 0
        alarms = maintenance.Alarm(rpc_pb2.AlarmRequest(), timeout=TIMEOUT)
        assert list(alarms.alarms) == []

        # Auth: with auth off, listing users works and is empty; AuthStatus is a 3.5 rpc.
        users = auth.UserList(rpc_pb2.AuthUserListRequest(), timeout=TIMEOUT)
        assert list(users.users) == []
        with pytest.raises(grpc.RpcError) as info:
            auth.AuthStatus(rpc_pb2.AuthStatusRequest(), timeout=TIMEOUT)
        assert info.value.code() == grpc.StatusCode.UNIMPLEMENTED

        # Health: etcd 3.4 serves grpc.health.v1 on its client port.
        health = _health_grpc.HealthStub(ch)
        checked = health.Check(health_pb2.HealthCheckRequest(), timeout=TIMEOUT)
        assert checked.status == health_pb2.HealthCheckResponse.SERVING
