"""Fuzzing every RPC of `etcdlite serve` with malformed and random protobuf requests.

Every method of every service in the generated descriptors (KV, Watch, Lease, Cluster,
Maintenance, Auth, Lock, Election, Health), each against a fresh server, gets raw request
bytes, sent through ``channel.unary_unary(path)`` (and the stream variants) without
serializers:

* malformed encodings: random bytes, truncated varints, overlong length prefixes, field
  number 0, unmatched groups, and valid encodings truncated or with a byte flipped;
* well-formed messages with random field values from the message descriptor: unknown enum
  values, empty and odd keys, huge and negative numbers, nested messages, repeated fields.

What each call must end with, with etcd as the reference: a request that does not decode gets
INTERNAL (Go gRPC answers "grpc: error unmarshalling request" with code Internal, Python gRPC
"Exception deserializing request!"); one that decodes gets a response that decodes, or a
status etcd uses for a refused request (INVALID_ARGUMENT, OUT_OF_RANGE, NOT_FOUND,
FAILED_PRECONDITION, UNIMPLEMENTED, UNKNOWN from the lock/election/cluster services, ...),
never INTERNAL and never Python gRPC's text for an unhandled exception in a servicer. A call
that waits by design (Lock, Campaign, the streams) may end at its deadline; a unary call that
does must not (a hang). Afterwards the server still answers Put and Range correctly and serves
many concurrent calls, and no watch reader thread is left behind.

Each call has a deadline, each method a count and a time budget. The random source
is a seeded ``random.Random`` per method, so a failure reproduces; ``-m slow`` runs ten times
as many messages.
"""

from __future__ import annotations

import concurrent.futures
import random
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import grpc
import pytest
from google.protobuf import message_factory
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import DecodeError

import etcdlite
from etcdlite.server._pb import health_pb2, rpc_pb2, v3election_pb2, v3lock_pb2

if TYPE_CHECKING:
    from collections.abc import Iterator

    from google.protobuf.descriptor import Descriptor, MethodDescriptor
    from google.protobuf.message import Message

#: Messages per unary method, and calls (of STREAM_MESSAGES requests each) per stream method.
UNARY_COUNT = 200
STREAM_CALLS = 25
STREAM_MESSAGES = 8
#: Deadline of a unary call: far above any answer; reaching it is a hang.
UNARY_DEADLINE = 10.0
#: Deadline of a stream or a call that waits by design (it is cut there).
WAITING_DEADLINE = 0.3
#: Calls in flight at once.
CONCURRENCY = 16
#: Bound on the fuzzing of one method.
METHOD_BUDGET = 120.0
SEED = 20260421

#: Unary methods that wait by design (for a lock, for leadership).
WAITING_METHODS = frozenset({"/v3lockpb.Lock/Lock", "/v3electionpb.Election/Campaign"})
#: Statuses etcd answers requests it refuses with (its rpctypes table); OK is a valid answer too.
REFUSALS = frozenset(
    {
        grpc.StatusCode.OK,
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.OUT_OF_RANGE,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.UNIMPLEMENTED,  # etcdlite's Hash, Snapshot, MoveLeader (not yet)
        grpc.StatusCode.RESOURCE_EXHAUSTED,
    }
)
#: More refusals, per service or method: the lock and election services (a clientv3 inside
#: etcd) and the cluster's "not enough started members" send UNKNOWN; an Alarm request may raise
#: CORRUPT, after which etcd refuses requests with DATA_LOSS "etcdserver: corrupt cluster".
MORE_REFUSALS = {
    "v3lockpb.Lock": frozenset({grpc.StatusCode.UNKNOWN}),
    "v3electionpb.Election": frozenset({grpc.StatusCode.UNKNOWN}),
    "etcdserverpb.Cluster": frozenset({grpc.StatusCode.UNKNOWN}),
    "etcdserverpb.Maintenance/Alarm": frozenset({grpc.StatusCode.DATA_LOSS}),
}
#: Services `etcdlite serve` does not register (yet): every call is refused as not served.
UNSERVED: frozenset[str] = frozenset()
#: How gRPC refuses a method no servicer registered, whatever the request bytes.
NOT_SERVED = (grpc.StatusCode.UNIMPLEMENTED, "Method not found!")
#: Python gRPC's details for an exception a servicer let escape.
CRASH_TEXTS = ("Exception calling application", "Exception iterating", "Exception serializing")

_INTERESTING_INTS = (0, 1, 2, 3, -1, -2, 2**31 - 1, -(2**31), 2**63 - 1, -(2**63), 2**32, 100)
_INTERESTING_BYTES = (b"", b"\x00", b"a", b"b", b"foo", b"\xff", b"\xff" * 3, b"a\x00")


@dataclass(frozen=True)
class Method:
    """One RPC: its path, request and response classes, and its streaming shape."""

    path: str
    input: Descriptor
    request: type[Message]
    response: type[Message]
    client_streaming: bool
    server_streaming: bool


def _methods() -> list[Method]:
    return [
        _method(service.full_name, m)
        for module in (rpc_pb2, v3lock_pb2, v3election_pb2, health_pb2)
        for service in module.DESCRIPTOR.services_by_name.values()
        for m in service.methods
    ]


def _method(service: str, m: MethodDescriptor) -> Method:
    return Method(
        f"/{service}/{m.name}",
        m.input_type,
        message_factory.GetMessageClass(m.input_type),
        message_factory.GetMessageClass(m.output_type),
        m.client_streaming,
        m.server_streaming,
    )


METHODS = _methods()


# -- request generation ----------------------------------------------------------------------


def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _int_for(field: FieldDescriptor, rng: random.Random) -> int:
    n = rng.choice(_INTERESTING_INTS) if rng.random() < 0.7 else rng.randrange(-(2**63), 2**63)
    bits = (
        32
        if field.cpp_type in (FieldDescriptor.CPPTYPE_INT32, FieldDescriptor.CPPTYPE_UINT32)
        else 64
    )
    if field.cpp_type in (FieldDescriptor.CPPTYPE_UINT32, FieldDescriptor.CPPTYPE_UINT64):
        return n % (1 << bits)
    return (n + (1 << (bits - 1))) % (1 << bits) - (1 << (bits - 1))


def _value(field: FieldDescriptor, rng: random.Random, depth: int) -> Any:
    kind = field.cpp_type
    if kind == FieldDescriptor.CPPTYPE_MESSAGE:
        assert field.message_type is not None
        return random_message(field.message_type, rng, depth + 1)
    if kind == FieldDescriptor.CPPTYPE_BOOL:
        return rng.random() < 0.5
    if kind == FieldDescriptor.CPPTYPE_ENUM:
        assert field.enum_type is not None
        known = [v.number for v in field.enum_type.values]
        return rng.choice(known) if rng.random() < 0.6 else rng.choice((-1, 7, 99, 2**31 - 1))
    if kind == FieldDescriptor.CPPTYPE_STRING:
        if field.type == FieldDescriptor.TYPE_BYTES:
            if rng.random() < 0.7:
                return rng.choice(_INTERESTING_BYTES)
            return rng.randbytes(rng.randrange(0, 12))
        return rng.choice(("", "a", "lock", "ünïcode", "x" * 40))
    if kind in (FieldDescriptor.CPPTYPE_DOUBLE, FieldDescriptor.CPPTYPE_FLOAT):
        return rng.choice((0.0, -1.0, 1e300))
    return _int_for(field, rng)


def random_message(desc: Descriptor, rng: random.Random, depth: int = 0) -> Message:
    """A well-formed message of type ``desc`` with random fields (nested up to depth 3)."""
    msg = message_factory.GetMessageClass(desc)()
    for field in desc.fields:
        if rng.random() < 0.45 or (
            field.cpp_type == FieldDescriptor.CPPTYPE_MESSAGE and depth >= 3
        ):
            continue
        if field.is_repeated:
            for _ in range(rng.randrange(0, 4)):
                value = _value(field, rng, depth)
                container = getattr(msg, field.name)
                if field.cpp_type == FieldDescriptor.CPPTYPE_MESSAGE:
                    container.add().CopyFrom(value)
                else:
                    container.append(value)
        elif field.cpp_type == FieldDescriptor.CPPTYPE_MESSAGE:
            getattr(msg, field.name).CopyFrom(_value(field, rng, depth))
        else:
            setattr(msg, field.name, _value(field, rng, depth))
    return msg


def malformed(desc: Descriptor, rng: random.Random) -> bytes:
    """Bytes that are (mostly) not a valid encoding of ``desc``."""
    numbers = [f.number for f in desc.fields] or [1]
    n = rng.choice(numbers)
    valid = random_message(desc, rng).SerializeToString()
    shapes = (
        lambda: rng.randbytes(rng.randrange(1, 40)),
        lambda: _varint(n << 3) + b"\xff" * rng.randrange(1, 11),  # truncated varint
        lambda: _varint(n << 3 | 2) + _varint(rng.randrange(10, 2**32)) + b"abc",  # overlong
        lambda: _varint(n << 3 | rng.choice((1, 5))) + b"\x01",  # truncated fixed64/32
        lambda: _varint(n << 3 | rng.choice((0, 1, 2, 5))) + rng.randbytes(8),  # wrong wire type
        lambda: b"\x00" + rng.randbytes(4),  # field number 0
        lambda: _varint(n << 3 | 3) + _varint(n + 1 << 3 | 4),  # unmatched group
        lambda: _varint(n << 3 | rng.choice((6, 7))),  # wire types that do not exist
        lambda: valid[: rng.randrange(len(valid))] if valid else b"\x0a",  # truncated
        lambda: _flip(valid, rng),
    )
    return rng.choice(shapes)()


def _flip(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return b"\xff"
    i = rng.randrange(len(data))
    return data[:i] + bytes([data[i] ^ (1 << rng.randrange(8))]) + data[i + 1 :]


def payload(method: Method, rng: random.Random) -> bytes:
    """One request's bytes: half of them malformed, half random well-formed messages."""
    if rng.random() < 0.5:
        return malformed(method.input, rng)
    return random_message(method.input, rng).SerializeToString()


def stream_payload(method: Method, rng: random.Random) -> list[bytes]:
    """One stream's requests: a single one for a server stream; for a client stream
    STREAM_MESSAGES well-formed ones, in half of the streams with a malformed one among them
    (which ends the stream, so the well-formed ones before it are served first)."""
    if not method.client_streaming:
        return [payload(method, rng)]
    desc = method.input
    out = [random_message(desc, rng).SerializeToString() for _ in range(STREAM_MESSAGES)]
    if rng.random() < 0.5:
        out[rng.randrange(len(out))] = malformed(desc, rng)
    return out


def decodes(cls: type[Message], data: bytes) -> bool:
    try:
        cls.FromString(data)
    except DecodeError:
        return False
    return True


# -- calling ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """How one call ended: its status, details and the undecodable responses it got."""

    code: grpc.StatusCode
    details: str
    bad_responses: int = 0


def _ended(exc: grpc.RpcError) -> Outcome:
    call: Any = exc
    return Outcome(call.code(), call.details() or "")


def call_unary(channel: grpc.Channel, method: Method, data: bytes) -> Outcome:
    deadline = WAITING_DEADLINE if method.path in WAITING_METHODS else UNARY_DEADLINE
    rpc: grpc.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(method.path)
    try:
        response = rpc(data, timeout=deadline)
    except grpc.RpcError as exc:
        return _ended(exc)
    return Outcome(grpc.StatusCode.OK, "", 0 if decodes(method.response, response) else 1)


def call_stream(channel: grpc.Channel, method: Method, requests: list[bytes]) -> Outcome:
    bad = 0
    responses: Iterator[bytes]
    if method.client_streaming:
        bidi: grpc.StreamStreamMultiCallable[bytes, bytes] = channel.stream_stream(method.path)
        responses = bidi(iter(requests), timeout=WAITING_DEADLINE)
    else:
        server: grpc.UnaryStreamMultiCallable[bytes, bytes] = channel.unary_stream(method.path)
        responses = server(requests[0], timeout=WAITING_DEADLINE)
    try:
        for response in responses:
            bad += 0 if decodes(method.response, response) else 1
    except grpc.RpcError as exc:
        ended = _ended(exc)
        return Outcome(ended.code, ended.details, bad)
    return Outcome(grpc.StatusCode.OK, "", bad)


def call(channel: grpc.Channel, method: Method, requests: list[bytes]) -> Outcome:
    """Send ``requests`` (one for a unary call) to ``method``: how the call ended."""
    if method.client_streaming or method.server_streaming:
        return call_stream(channel, method, requests)
    return call_unary(channel, method, requests[0])


def _more_refusals(method: Method) -> frozenset[grpc.StatusCode]:
    path = method.path.lstrip("/")
    service = path.split("/")[0]
    return MORE_REFUSALS.get(service, frozenset()) | MORE_REFUSALS.get(path, frozenset())


def problems(method: Method, sent: list[bytes], outcome: Outcome) -> list[str]:
    """What is wrong with how a call ended (nothing, for a valid ending)."""
    out = []
    if any(text in outcome.details for text in CRASH_TEXTS):
        out.append(f"a servicer raised: {outcome.details}")
    if outcome.bad_responses:
        out.append(f"{outcome.bad_responses} responses do not decode")
    undecodable = not all(decodes(method.request, data) for data in sent)
    streaming = method.client_streaming or method.server_streaming
    if (outcome.code, outcome.details) == NOT_SERVED:
        if method.path.split("/")[1] not in UNSERVED:
            out.append("the method is not served")
    elif outcome.code == grpc.StatusCode.INTERNAL:
        if not undecodable:
            out.append(f"INTERNAL for a request that decodes: {outcome.details}")
    elif outcome.code == grpc.StatusCode.DEADLINE_EXCEEDED:
        if not streaming and method.path not in WAITING_METHODS:
            out.append("a unary call hung until its deadline")
    elif undecodable and not streaming:
        out.append(f"{outcome.code.name} for a request that does not decode")
    elif outcome.code not in REFUSALS | _more_refusals(method):
        out.append(f"unexpected status {outcome.code.name}: {outcome.details}")
    return out


def fuzz_method(channel: grpc.Channel, method: Method, scale: int) -> tuple[int, list[str]]:
    """Fuzz one method: (the number of requests sent, the problems found with their bytes)."""
    rng = random.Random(f"{SEED}:{method.path}")
    streaming = method.client_streaming or method.server_streaming
    if streaming:
        batches = [stream_payload(method, rng) for _ in range(STREAM_CALLS * scale)]
    else:
        batches = [[payload(method, rng)] for _ in range(UNARY_COUNT * scale)]
    found: list[str] = []
    deadline = time.monotonic() + METHOD_BUDGET * scale
    with concurrent.futures.ThreadPoolExecutor(CONCURRENCY) as pool:
        futures = {pool.submit(call, channel, method, batch): batch for batch in batches}
        for future in concurrent.futures.as_completed(
            futures, timeout=max(deadline - time.monotonic(), 1.0)
        ):
            batch = futures[future]
            found.extend(f"{p} <- {batch!r}" for p in problems(method, batch, future.result()))
    return sum(len(b) for b in batches), found


# -- the tests -------------------------------------------------------------------------------


@pytest.fixture
def served() -> Iterator[tuple[etcdlite.Server, grpc.Channel]]:
    """A fresh server per method, so what one method's requests leave behind (an alarm, a
    compaction) does not change what another's get."""
    with etcdlite.serve(port=0) as server, grpc.insecure_channel(server.address) as channel:
        yield server, channel


def _watch_readers() -> int:
    return sum(1 for t in threading.enumerate() if t.name == "etcdlite-watch-reader")


def _disarm_alarms(channel: grpc.Channel) -> None:
    """Deactivate every raised alarm, as an operator would (the Alarm requests may raise
    CORRUPT or NOSPACE, which refuse later writes, as in etcd)."""
    alarm = channel.unary_unary(
        "/etcdserverpb.Maintenance/Alarm",
        request_serializer=rpc_pb2.AlarmRequest.SerializeToString,
        response_deserializer=rpc_pb2.AlarmResponse.FromString,
    )
    raised = alarm(rpc_pb2.AlarmRequest(action=rpc_pb2.AlarmRequest.GET), timeout=UNARY_DEADLINE)
    for member in raised.alarms:
        alarm(
            rpc_pb2.AlarmRequest(
                action=rpc_pb2.AlarmRequest.DEACTIVATE,
                memberID=member.memberID,
                alarm=member.alarm,
            ),
            timeout=UNARY_DEADLINE,
        )


def _check_still_serving(server: etcdlite.Server, channel: grpc.Channel) -> None:
    _disarm_alarms(channel)
    kv = channel.unary_unary(
        "/etcdserverpb.KV/Put",
        request_serializer=rpc_pb2.PutRequest.SerializeToString,
        response_deserializer=rpc_pb2.PutResponse.FromString,
    )
    rng_call = channel.unary_unary(
        "/etcdserverpb.KV/Range",
        request_serializer=rpc_pb2.RangeRequest.SerializeToString,
        response_deserializer=rpc_pb2.RangeResponse.FromString,
    )
    put = kv(rpc_pb2.PutRequest(key=b"after-fuzz", value=b"ok"), timeout=UNARY_DEADLINE)
    got = rng_call(rpc_pb2.RangeRequest(key=b"after-fuzz"), timeout=UNARY_DEADLINE)
    assert [(k.key, k.value, k.mod_revision) for k in got.kvs] == [
        (b"after-fuzz", b"ok", put.header.revision)
    ]
    # many calls at once, all answered (a worker stuck in a fuzzed call would hold some back)
    with concurrent.futures.ThreadPoolExecutor(64) as pool:
        results = list(
            pool.map(
                lambda _: rng_call(rpc_pb2.RangeRequest(key=b"after-fuzz"), timeout=UNARY_DEADLINE),
                range(128),
            )
        )
    assert all(r.kvs[0].value == b"ok" for r in results)
    assert server.store.get(b"after-fuzz").kvs[0].value == b"ok"


def _run(served: tuple[etcdlite.Server, grpc.Channel], method: Method, scale: int) -> None:
    server, channel = served
    sent, found = fuzz_method(channel, method, scale)
    assert sent >= (
        STREAM_CALLS if method.client_streaming or method.server_streaming else UNARY_COUNT
    )
    assert not found, "\n".join(found[:10])
    _check_still_serving(server, channel)


@pytest.mark.parametrize("method", METHODS, ids=[m.path for m in METHODS])
def test_fuzz_method(served: tuple[etcdlite.Server, grpc.Channel], method: Method) -> None:
    """Every RPC ends each malformed or random request with a valid status and keeps serving."""
    _run(served, method, 1)


@pytest.mark.slow
@pytest.mark.parametrize("method", METHODS, ids=[m.path for m in METHODS])
def test_fuzz_method_long(served: tuple[etcdlite.Server, grpc.Channel], method: Method) -> None:
    """The same with ten times as many requests per method."""
    _run(served, method, 10)


def test_no_watch_reader_left(served: tuple[etcdlite.Server, grpc.Channel]) -> None:
    """After fuzzed Watch streams end, their reader threads end too (bounded wait)."""
    watch = next(m for m in METHODS if m.path == "/etcdserverpb.Watch/Watch")
    fuzz_method(served[1], watch, 1)
    deadline = time.monotonic() + 10.0
    while _watch_readers() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _watch_readers() == 0


def test_generators_cover_both_kinds() -> None:
    """The payload generator makes undecodable and decodable requests, unknown enums included."""
    rng = random.Random(SEED)
    range_method = next(m for m in METHODS if m.path == "/etcdserverpb.KV/Range")
    sent = [payload(range_method, rng) for _ in range(200)]
    ok = [d for d in sent if decodes(range_method.request, d)]
    assert 20 < len(ok) < 190
    orders = {rpc_pb2.RangeRequest.FromString(d).sort_order for d in ok}
    assert orders - {0, 1, 2}, "no unknown enum value generated"


@pytest.mark.parametrize(
    ("path", "sent", "outcome", "flagged"),
    [
        ("/etcdserverpb.KV/Range", b"\x0a\x01a", Outcome(grpc.StatusCode.OK, ""), False),
        ("/etcdserverpb.KV/Range", b"\x0a\xff", Outcome(grpc.StatusCode.INTERNAL, "x"), False),
        ("/etcdserverpb.KV/Range", b"\x0a\x01a", Outcome(grpc.StatusCode.INTERNAL, "x"), True),
        (
            "/etcdserverpb.KV/Range",
            b"\x0a\x01a",
            Outcome(grpc.StatusCode.UNKNOWN, "Exception calling application: boom"),
            True,
        ),
        ("/etcdserverpb.KV/Range", b"", Outcome(grpc.StatusCode.UNKNOWN, "etcdserver: x"), True),
        ("/v3lockpb.Lock/Unlock", b"", Outcome(grpc.StatusCode.UNKNOWN, "etcdserver: x"), False),
        ("/etcdserverpb.KV/Put", b"", Outcome(grpc.StatusCode.DEADLINE_EXCEEDED, ""), True),
        ("/v3lockpb.Lock/Lock", b"", Outcome(grpc.StatusCode.DEADLINE_EXCEEDED, ""), False),
        ("/etcdserverpb.KV/Put", b"\x0a\xff", Outcome(grpc.StatusCode.OK, ""), True),
        ("/etcdserverpb.KV/Put", b"", Outcome(grpc.StatusCode.OK, "", bad_responses=1), True),
        ("/etcdserverpb.KV/Put", b"", Outcome(*NOT_SERVED), True),
        ("/etcdserverpb.Auth/UserAdd", b"\x0a\xff", Outcome(*NOT_SERVED), True),
        ("/etcdserverpb.KV/Put", b"", Outcome(grpc.StatusCode.DATA_LOSS, "x"), True),
        ("/etcdserverpb.Maintenance/Alarm", b"", Outcome(grpc.StatusCode.DATA_LOSS, "x"), False),
    ],
)
def test_problems_judges_endings(path: str, sent: bytes, outcome: Outcome, flagged: bool) -> None:
    """The oracle: a crash text, INTERNAL for a request that decodes, a unary hang, a status
    etcd does not send for that service, or an undecodable response is a problem."""
    method = next(m for m in METHODS if m.path == path)
    assert bool(problems(method, [sent], outcome)) is flagged
