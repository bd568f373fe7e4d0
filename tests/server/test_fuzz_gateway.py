"""Fuzzing the JSON gateway of `etcdlite serve` with malformed and random HTTP/1.1 requests.

The gRPC half is ``test_fuzz.py``; this is the same for the gateway (``_gateway.py``), with
etcd 3.4's gateway (grpc-gateway v1 behind Go's ``net/http``) as the reference. Every route of
the gateway's route table (``_gateway._TABLE``, the Auth paths included),
each against a fresh in-process ``etcdlite.serve(port=0)``, gets requests over raw sockets,
on any of its paths (``/v3`` and ``/v3beta``, and the aliases):

* bodies: random well-formed requests from the request message's descriptor (unknown enum
  names and numbers, empty keys, unknown fields, proto or lowerCamel names); malformed JSON
  (truncated; a field of the wrong type: string for int, object for bytes, array, null, huge,
  negative and float numbers, ``NaN``, non-base64 text; invalid UTF-8; deep nesting; values
  that are not objects);
* framing: ``Content-Length`` or chunked (split anywhere); a bad, negative or contradictory
  ``Content-Length``; an unsupported ``Transfer-Encoding``; a bad chunk size or a chunk
  without its CRLF; a body cut short with the sending side closed; a declared body or chunk
  over the limit; ``Expect: 100-continue``; HTTP/1.0; a garbage request line; a wrong
  method; several requests pipelined on one keep-alive connection; the client hanging up
  mid-request;
* streams (watch, keepalive, observe, snapshot): sequences of good and bad request lines,
  with ``Content-Length`` or chunked, read for a while and then hung up on (mid-stream).

How each request must be answered, decided per case (:func:`problems`):

* A request whose framing HTTP can read gets one complete answer within ``UNARY_DEADLINE``
  (a blocking Lock or Campaign may wait: it is hung up on after ``WAITING_WINDOW``). A 200
  carries JSON that parses as the response message; an error carries etcd's body
  ``{"error", "message", "code"}`` (``error`` equal to ``message``) with grpc-gateway's HTTP
  status for the code, and a code etcd answers that route with: never INTERNAL, and UNKNOWN
  (500) only where etcd sends it (lock, election, cluster, and the first request of a
  bidirectional stream that does not decode, which etcd 3.4 answers 500 code 2). No answer
  contains a Python traceback or gRPC's text for an exception a servicer let escape.
* Framing Go's server refuses before the handler runs (a ``Content-Length`` that is not one
  decimal number; a transfer coding other than ``chunked``) gets Go's plain-text refusal (400,
  501) and the connection closes: the server cannot know where the next request starts. A bad
  chunk is read by the handler in Go, so it is a JSON error (code 3) and the connection
  closes. A request line that is not HTTP/1.x may be closed without an answer (etcd's cmux
  closes it).
* Pipelined requests get one answer each, and nothing more: a body left unread is never
  parsed as a next request.
* Streams: each complete line is ``{"result": <response>}`` or a last ``{"error": {"grpc_code",
  "http_code", "message", "http_status"}}`` matching its status; a keepalive or snapshot
  stream whose body ended ends by itself within the deadline.

After a route's run no thread of the gateway is left (compared with ``threading.enumerate()``
before it, allowing the server's own), no thread died of an exception, and the server still
answers a put and a range over JSON and gRPC. Each case has its socket timeouts, each route a
count and a time budget; the random source is a seeded ``random.Random`` per route, so a
failure reproduces (the seed and the request bytes are in the message); ``-m slow`` runs ten
times as many.

``test_found_by_the_fuzzer`` keeps each wrong answer the fuzzer found (fixed in ``_gateway.py``
and ``_json.py``) as a fixed request, and ``test_found_by_the_fuzzer_same_status_as_etcd``
sends the same bytes to etcd 3.4 where it is the reference.
"""

from __future__ import annotations

import base64
import concurrent.futures
import dataclasses
import http
import json
import random
import socket
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import grpc
import pytest
from conformance._etcd import running_etcd
from conformance.divergences import divergence
from google.protobuf import json_format, message_factory

import etcdlite
from etcdlite.server import _gateway
from etcdlite.server._pb import rpc_pb2, v3election_pb2, v3lock_pb2
from server.test_fuzz import CRASH_TEXTS, _check_still_serving, random_message

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from google.protobuf.descriptor import Descriptor, MethodDescriptor
    from google.protobuf.message import Message

#: Cases per unary route and per stream route (a stream case sends up to STREAM_LINES requests).
UNARY_CASES = 240
STREAM_CASES = 80
STREAM_LINES = 6
#: Far above any answer: reaching it is a hang.
UNARY_DEADLINE = 10.0
#: How long a stream, or a call that waits by design, is read before the client hangs up.
WAITING_WINDOW = 0.3
#: How long the server may take to close a connection it must close after its answer.
CLOSE_DEADLINE = 5.0
#: Bound on the reads of one connection's answers (each also bounded by the deadlines).
MAX_READS = 10_000
#: Connections in flight at once.
CONCURRENCY = 8
#: Bound on the fuzzing of one route.
ROUTE_BUDGET = 120.0
SEED = 20260421

#: Codes etcd refuses requests with (its rpctypes table), whatever the route.
REFUSALS = frozenset({3, 5, 8, 9, 11, 12})
#: More, per servicer or method, as in test_fuzz: the lock, election and cluster services
#: answer UNKNOWN; an Alarm request may raise CORRUPT (then DATA_LOSS); a Lock or Campaign
#: still waiting when its client hangs up ends CANCELLED ("context canceled", as in etcd).
MORE_REFUSALS = {
    "lock": {2},
    "election": {2},
    "cluster": {2},
    "maintenance.Alarm": {15},
    "lock.Lock": {1},
    "election.Campaign": {1},
}
#: Routes that wait by design, and streams that end by themselves once their body has.
WAITING = frozenset({"lock.Lock", "election.Campaign"})
ENDING_STREAMS = frozenset({"lease.LeaseKeepAlive", "maintenance.Snapshot"})
#: Threads of the server itself, which may start during a run and stay (leases' clock).
SERVER_THREADS = ("etcdlite-clock", "etcdlite-grpc", "etcdlite-accept")


@dataclass(frozen=True)
class Route:
    """One gateway call: its name (servicer.Method), every path it answers on, its request
    and response classes, its shape."""

    name: str
    paths: tuple[str, ...]
    request: Descriptor
    response: type[Message]
    kind: str

    @property
    def streaming(self) -> bool:
        return self.kind != "unary"

    @property
    def codes(self) -> frozenset[int]:
        """The error codes this route may answer."""
        service = self.name.split(".")[0]
        extra = MORE_REFUSALS.get(service, set()) | MORE_REFUSALS.get(self.name, set())
        if self.kind == "bidi":
            extra = extra | {2}  # etcd 3.4: the first request does not decode
        return REFUSALS | extra


def _method(request: type[Message], name: str) -> MethodDescriptor:
    """The RPC ``name`` that takes ``request``."""
    methods: list[MethodDescriptor] = [
        method
        for module in (rpc_pb2, v3lock_pb2, v3election_pb2)
        for service in module.DESCRIPTOR.services_by_name.values()
        for method in service.methods
    ]
    for method in methods:
        if method.name == name and method.input_type.full_name == request.DESCRIPTOR.full_name:
            return method
    raise LookupError(name)


def _route(name: str, paths: tuple[str, ...], method: MethodDescriptor, kind: str) -> Route:
    return Route(
        name,
        tuple(prefix + path for prefix in _gateway.PREFIXES for path in paths),
        method.input_type,
        message_factory.GetMessageClass(method.output_type),
        kind,
    )


def _routes() -> list[Route]:
    """One route per entry of the gateway's table (the Auth paths included)."""
    return [
        _route(f"{servicer}.{method}", paths, _method(request, method), kind)
        for paths, servicer, method, request, kind in _gateway._TABLE
    ]


ROUTES = _routes()


# -- bodies ----------------------------------------------------------------------------------


def _good(desc: Descriptor, rng: random.Random) -> dict[str, Any]:
    """A random request as the JSON a client sends, with a mutation half of the time: an
    empty key, an unknown enum name, an unknown field."""
    msg = random_message(desc, rng)
    obj = json_format.MessageToDict(msg, preserving_proto_field_name=rng.random() < 0.5)
    roll = rng.random()
    if roll < 0.15:
        obj["key"] = ""
    elif roll < 0.3:
        enums = [f for f in desc.fields if f.enum_type is not None and not f.is_repeated]
        if enums:
            obj[rng.choice(enums).name] = rng.choice(("NOPE", "", "put", 7, -1))
    elif roll < 0.45:
        obj[rng.choice(("unknown", "xKey", "KEY", "header"))] = rng.choice((1, "x", [], {}))
    return obj


#: Wrong-typed JSON values for a field, whatever its type.
_WRONG: tuple[object, ...] = (
    "a string",
    "12",
    "-1",
    "1.5",
    "0x10",
    "",
    {"a": 1},
    {},
    [1, 2],
    [],
    None,
    True,
    10**30,
    -(10**30),
    2**64,
    -1,
    1.5,
    -0.0,
    1e308,
    "Zm9",
    "!!!!",
    "Zm9v====",
    "Zm9v\n",
    "ünï",
    "\u0000",
)


def _bad(desc: Descriptor, rng: random.Random) -> bytes:
    """A body that is (mostly) not a request: malformed JSON or wrong types."""
    good = json.dumps(_good(desc, rng)).encode()
    names = [f.name for f in desc.fields] or ["key"]
    field_name = rng.choice(names)
    depth = rng.choice((40, 200, 1100, 5000))

    def wrong() -> bytes:
        obj = _good(desc, rng)
        obj[field_name] = rng.choice(_WRONG)
        return json.dumps(obj).encode()

    def nested_in_field() -> bytes:
        obj: Any = {}
        for _ in range(depth):
            obj = {field_name: obj} if rng.random() < 0.5 else {field_name: [obj]}
        return json.dumps(obj).encode() if depth < 900 else _deep_text(field_name, depth)

    shapes: tuple[Callable[[], bytes], ...] = (
        wrong,
        wrong,
        wrong,
        lambda: good[: rng.randrange(1, max(len(good), 2))],  # truncated
        lambda: b'{"%s":"\xff\xfe"}' % field_name.encode(),  # invalid UTF-8
        lambda: good.replace(b'"', b"\xc3", 1),
        nested_in_field,
        lambda: b"[" * depth + b"]" * depth,
        lambda: b'{"a":' * depth + b"1" + b"}" * depth,
        lambda: rng.choice((b"[]", b"1", b'"x"', b"null", b"true", b"NaN", b"-Infinity")),
        lambda: b'{"%s": NaN}' % field_name.encode(),
        lambda: rng.randbytes(rng.randrange(1, 30)),
        lambda: good + b"}" if rng.random() < 0.5 else good + b" trailing",
        lambda: good.replace(b":", b"", 1),
        lambda: b"{" + b'"k":1,' * rng.randrange(1, 2000) + b'"k":2}',
    )
    return rng.choice(shapes)()


def _deep_text(name: str, depth: int) -> bytes:
    return (b'{"%s":' % name.encode()) * depth + b"{}" + b"}" * depth


def body(route: Route, rng: random.Random) -> bytes:
    """One request's body: half well-formed (random values), half malformed."""
    if rng.random() < 0.5:
        return json.dumps(_good(route.request, rng)).encode()
    return _bad(route.request, rng)


# -- cases -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """What one connection sends and what it must get.

    ``answers``: complete answers required (fewer only for a route or stream that waits).
    ``status``: the one status the (first) answer must have. ``closes``: the server must
    close the connection after it. ``silent_close``: a close without any answer is valid.
    ``half_close``: shut our sending side once sent. ``hang_up``: close without reading.
    """

    shape: str
    data: bytes
    answers: int = 1
    status: int | None = None
    closes: bool = False
    silent_close: bool = False
    half_close: bool = False
    hang_up: bool = False
    window: float | None = None  # read this long, then hang up (a stream, a waiting call)


def _request(
    method: str, path: str, headers: dict[str, str] | list[tuple[str, str]], data: bytes = b""
) -> bytes:
    items = headers.items() if isinstance(headers, dict) else headers
    head = f"{method} {path} HTTP/1.1\r\nHost: fuzz\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in items)
    return head.encode() + b"\r\n" + data


def _chunked(data: bytes, rng: random.Random, *, end: bool = True) -> bytes:
    out = b""
    while data:
        n = rng.randrange(1, len(data) + 1)
        out += b"%x\r\n%s\r\n" % (n, data[:n])
        data = data[n:]
    return out + (b"0\r\n\r\n" if end else b"")


def _post(path: str, data: bytes) -> bytes:
    return _request("POST", path, {"Content-Length": str(len(data))}, data)


def unary_case(route: Route, rng: random.Random, limit: int) -> Case:
    """A case for a unary route: a body (see :func:`body`) in some framing; a route that
    waits by design is read for a while, then hung up on."""
    path = rng.choice(route.paths)
    data = body(route, rng)
    waits = route.name in WAITING
    case = _unary_case(path, data, route, rng, limit, waits=waits)
    if waits and case.window is None and not case.hang_up and case.shape not in ANSWERED_EARLY:
        return dataclasses.replace(case, window=WAITING_WINDOW)
    return case


def _unary_case(
    path: str, data: bytes, route: Route, rng: random.Random, limit: int, *, waits: bool
) -> Case:
    roll = rng.random()
    if roll < 0.35:
        return Case("content-length", _post(path, data))
    if roll < 0.45:
        chunked = _chunked(data, rng)
        return Case("chunked", _request("POST", path, {"Transfer-Encoding": "chunked"}, chunked))
    if roll < 0.5 and not waits:
        n = rng.randrange(2, 7)
        pipelined = b"".join(_post(rng.choice(route.paths), body(route, rng)) for _ in range(n))
        return Case("pipelined", pipelined, answers=n)
    if roll < 0.55:
        headers = {"Content-Length": str(len(data)), "Transfer-Encoding": "chunked"}
        return Case("length and chunked", _request("POST", path, headers, _chunked(data, rng)))
    if roll < 0.6:
        headers = {"Expect": "100-continue", "Content-Length": str(len(data))}
        return Case("expect 100-continue", _request("POST", path, headers, data))
    if roll < 0.63:
        head = f"POST {path} HTTP/1.0\r\nContent-Length: {len(data)}\r\n\r\n".encode()
        return Case("HTTP/1.0", head + data, closes=True)
    if roll < 0.66:  # no length: an empty body; what follows is closed with the connection
        headers = {"Connection": "close"}
        return Case("no length", _request("POST", path, headers, data), closes=True)
    return framing_case(path, data, rng, limit)


#: Framing refused before the request reaches its route: answered at once on every route.
ANSWERED_EARLY = frozenset({"bad length", "bad coding", "method", "garbage"})


def framing_case(path: str, data: bytes, rng: random.Random, limit: int) -> Case:
    """A case whose framing, method or connection is wrong (the same for every route)."""
    shapes = (
        "bad length",
        "bad coding",
        "bad chunk",
        "cut short",
        "hang up",
        "oversize",
        "method",
        "garbage",
    )
    shape = rng.choice(shapes)
    if shape == "bad length":
        value = rng.choice(("abc", "-1", "+5", "1e3", "0x10", "5 5", "\uff11"))
        lengths: list[tuple[str, str]] = [("Content-Length", value)]
        if rng.random() < 0.4:
            lengths = [("Content-Length", str(len(data))), ("Content-Length", str(len(data) + 1))]
        return Case(shape, _request("POST", path, lengths, data), status=400, closes=True)
    if shape == "bad coding":
        coding = rng.choice(("gzip", "gzip, chunked", "chunked, gzip", "identity", "x"))
        codings = [("Transfer-Encoding", coding)]
        if rng.random() < 0.3:
            codings = [("Transfer-Encoding", "chunked"), ("Transfer-Encoding", "chunked")]
        return Case(shape, _request("POST", path, codings, data), status=501, closes=True)
    if shape == "bad chunk":
        size = rng.choice((b"zz", b"-5", b"0x5", b"1_0", b"1" * 17, b"+1"))
        chunks = rng.choice(
            (size + b"\r\n" + data + b"\r\n0\r\n\r\n", b"%x\r\n%sXX" % (1, data[:1]))
        )
        request = _request("POST", path, {"Transfer-Encoding": "chunked"}, chunks)
        return Case(shape, request, closes=True)
    if shape == "cut short":
        if rng.random() < 0.5:
            cut = _request("POST", path, {"Content-Length": str(len(data) + 10)}, data)
        else:
            framed = _chunked(data, rng, end=False)
            cut = _request("POST", path, {"Transfer-Encoding": "chunked"}, framed)
            cut = cut[: rng.randrange(len(cut) - len(framed), len(cut) + 1)]
        return Case(shape, cut, half_close=True, closes=True)
    if shape == "hang up":
        request = _post(path, data)
        return Case(shape, request[: rng.randrange(1, len(request) + 1)], hang_up=True)
    if shape == "oversize":
        if rng.random() < 0.5:
            request = _request("POST", path, {"Content-Length": str(limit + 1)}, b"{")
        else:
            chunk = b"%x\r\n{" % (limit + 1)
            request = _request("POST", path, {"Transfer-Encoding": "chunked"}, chunk)
        return Case(shape, request, status=429, closes=True)
    if shape == "method":
        method = rng.choice(("GET", "PUT", "DELETE", "PATCH", "HEAD", "FOO"))
        headers = {"Content-Length": str(len(data))} if rng.random() < 0.5 else {}
        request = _request(method, path, headers, data if headers else b"")
        return Case(shape, request, status=405, closes=bool(headers))
    garbage = rng.choice(
        (b"\x00\xff garbage\r\n\r\n", b"POST " + path.encode() + b" HTTP/9.9\r\n\r\n")
    )
    return Case(shape, garbage, closes=True, silent_close=True)


def stream_case(route: Route, rng: random.Random, limit: int) -> Case:
    """A case for a stream: a sequence of good and bad request lines, or a framing case."""
    path = rng.choice(route.paths)
    if rng.random() < 0.25:
        case = framing_case(path, body(route, rng), rng, limit)
        if case.shape in ANSWERED_EARLY or case.hang_up:
            return case
        return dataclasses.replace(case, window=WAITING_WINDOW)  # a stream may wait for more
    lines = []
    for _ in range(rng.randrange(1, STREAM_LINES + 1)):
        good = rng.random() < 0.7
        lines.append(
            json.dumps(_good(route.request, rng)).encode() if good else _bad_line(route, rng)
        )
    data = b"\n".join(lines) + rng.choice((b"", b"\n"))
    roll = rng.random()
    ends = route.name in ENDING_STREAMS
    if roll < 0.4:
        return Case(
            "stream, content-length",
            _post(path, data),
            answers=int(ends),
            window=None if ends else WAITING_WINDOW,
        )
    end = roll < 0.7
    request = _request("POST", path, {"Transfer-Encoding": "chunked"}, _chunked(data, rng, end=end))
    if roll < 0.9:
        return Case(
            "stream, chunked",
            request,
            answers=int(ends and end),
            window=None if ends and end else WAITING_WINDOW,
        )
    return Case("stream, hang up", request[: rng.randrange(1, len(request) + 1)], hang_up=True)


def _bad_line(route: Route, rng: random.Random) -> bytes:
    # one line: no raw newline inside (a truncated value then runs into the next line)
    return _bad(route.request, rng).replace(b"\n", b" ")


# -- the client ------------------------------------------------------------------------------


@dataclass
class Answer:
    """One HTTP answer as read: status, headers (lower-case names), body, and whether its
    framing said it was over."""

    status: int
    headers: dict[str, str]
    body: bytes
    complete: bool


@dataclass
class Exchange:
    """What one connection got: its answers, whether the server closed it, whether the read
    ran to its deadline."""

    answers: list[Answer] = field(default_factory=list)
    closed: bool = False
    timed_out: bool = False
    raw: bytes = b""


def parse_answers(raw: bytes, *, closed: bool, heads: int = 0) -> list[Answer]:
    """The answers in ``raw`` (the last one may be incomplete); the first ``heads`` answered
    HEAD requests (no body). Bytes that are not an HTTP answer are one of status 0."""
    try:
        return _parse_answers(raw, closed=closed, heads=heads)
    except (ValueError, IndexError):
        return [Answer(0, {}, raw, True)]


def _parse_answers(raw: bytes, *, closed: bool, heads: int) -> list[Answer]:
    answers: list[Answer] = []
    while raw:
        end = raw.find(b"\r\n\r\n")
        if end < 0:
            break
        lines = raw[:end].decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        rest = raw[end + 4 :]
        if status == 100:
            raw = rest
            continue
        if len(answers) < heads or status in (204, 304):
            answers.append(Answer(status, headers, b"", True))
            raw = rest
        elif headers.get("transfer-encoding") == "chunked":
            data, raw, complete = _dechunk(rest)
            answers.append(Answer(status, headers, data, complete))
            if not complete:
                break
        elif "content-length" in headers:
            size = int(headers["content-length"])
            answers.append(Answer(status, headers, rest[:size], len(rest) >= size))
            raw = rest[size:]
        else:
            answers.append(Answer(status, headers, rest, closed))
            break
    return answers


def _dechunk(raw: bytes) -> tuple[bytes, bytes, bool]:
    data = b""
    while True:
        eol = raw.find(b"\r\n")
        if eol < 0:
            return data, b"", False
        size = int(raw[:eol].split(b";")[0], 16)
        if size == 0:
            trailer_end = raw.find(b"\r\n\r\n", eol)
            if trailer_end < 0:
                return data, b"", False
            return data, raw[trailer_end + 4 :], True
        if len(raw) < eol + 2 + size + 2:
            return data + raw[eol + 2 : eol + 2 + size], b"", False
        data += raw[eol + 2 : eol + 2 + size]
        raw = raw[eol + 2 + size + 2 :]


def exchange(address: tuple[str, int], case: Case) -> Exchange:
    """Send ``case`` on a new connection and read what comes back, within its deadlines."""
    heads = case.data.count(b"HEAD /")
    got = Exchange()
    with socket.create_connection(address, timeout=UNARY_DEADLINE) as sock:
        try:
            sock.sendall(case.data)
            if case.hang_up:
                return got
            if case.half_close:
                sock.shutdown(socket.SHUT_WR)
        except OSError:  # the server closed first (it refused the request unread)
            pass
        start = time.monotonic()
        deadline = start + (case.window if case.window is not None else UNARY_DEADLINE)
        close_by: float | None = None
        for _ in range(MAX_READS):
            now = time.monotonic()
            limit = deadline if close_by is None else min(close_by, deadline + CLOSE_DEADLINE)
            if now >= limit:
                got.timed_out = close_by is None
                break
            sock.settimeout(limit - now)
            try:
                data = sock.recv(65536)
            except TimeoutError:
                continue
            except ConnectionResetError:
                got.closed = True
                break
            if not data:
                got.closed = True
                break
            got.raw += data
            done = [a for a in parse_answers(got.raw, closed=False, heads=heads) if a.complete]
            if close_by is None and len(done) >= case.answers and done:
                if not case.closes:
                    break
                close_by = time.monotonic() + CLOSE_DEADLINE
    got.answers = parse_answers(got.raw, closed=got.closed, heads=heads)
    return got


# -- the judge -------------------------------------------------------------------------------


def _error_body_problems(route: Route, answer: Answer, obj: dict[str, Any]) -> list[str]:
    out = []
    if set(obj) != {"error", "message", "code"} or obj["error"] != obj["message"]:
        out.append(f"not etcd's error body: {obj}")
    code = obj.get("code")
    if not isinstance(code, int) or code not in route.codes:
        out.append(f"code {code} etcd does not answer here: {obj}")
    elif answer.status != _gateway.HTTP_STATUS[code]:
        out.append(f"status {answer.status} for code {code}")
    return out


def _parses(cls: type[Message], obj: object) -> bool:
    if not isinstance(obj, dict):
        return False
    try:
        json_format.ParseDict(obj, cls())
    except (json_format.ParseError, TypeError, ValueError):
        return False
    return True


def _stream_problems(route: Route, answer: Answer) -> list[str]:
    out = []
    lines = answer.body.split(b"\n")
    if not answer.complete:
        lines = lines[:-1]  # cut where the client hung up
    lines = [line for line in lines if line]
    for i, line in enumerate(lines):
        try:
            obj = json.loads(line)
        except ValueError:
            out.append(f"a stream line that is not JSON: {line[:200]!r}")
            continue
        if not isinstance(obj, dict) or len(obj) != 1:
            out.append(f"a stream line that is not one result or error: {line[:200]!r}")
        elif "result" in obj:
            if not _parses(route.response, obj["result"]):
                out.append(f"a result that is not a {route.response.__name__}: {line[:200]!r}")
            if i == 0 and answer.status != 200:
                out.append(f"status {answer.status} with a result first")
        elif "error" in obj:
            error = obj["error"]
            keys = {"grpc_code", "http_code", "message", "http_status"}
            if not isinstance(error, dict) or set(error) != keys:
                out.append(f"not grpc-gateway's stream error: {line[:200]!r}")
                continue
            code, status = error["grpc_code"], error["http_code"]
            if code not in route.codes or status != _gateway.HTTP_STATUS[code]:
                out.append(f"a stream error etcd does not send here: {error}")
            elif error["http_status"] != http.HTTPStatus(status).phrase:
                out.append(f"http_status {error['http_status']!r} for {status}")
            if i != len(lines) - 1:
                out.append("a stream line after its error")
            if i == 0 and answer.status not in (200, status):
                out.append(f"status {answer.status} with the error {status} first")
        else:
            out.append(f"a stream line that is not one result or error: {line[:200]!r}")
    return out


def answer_problems(route: Route, case: Case, answer: Answer) -> list[str]:
    """What is wrong with one (complete or cut) answer."""
    text = answer.body.decode("utf-8", "replace")
    if "Traceback" in text or any(crash in text for crash in CRASH_TEXTS):
        return [f"a Python exception in the answer: {text[:300]}"]
    kind = answer.headers.get("content-type", "")
    if answer.status == 0:
        return [f"not an HTTP answer: {answer.body[:200]!r}"]
    if answer.status == 405:
        return [] if case.shape == "method" else ["405 for a POST"]
    if case.shape == "method":
        return [f"{answer.status} for a wrong method"]
    if kind.startswith("text/plain"):  # Go's refusals of the framing
        expected = {400: "400 Bad Request", 501: "Unsupported transfer encoding"}
        expected |= {c: f"{c} {http.HTTPStatus(c).phrase}" for c in (414, 431)}
        if expected.get(answer.status) != text:
            return [f"a text answer {answer.status} {text[:200]!r}"]
        return []
    if not kind.startswith("application/json"):
        return [f"content type {kind!r}, status {answer.status}"]
    if route.streaming and answer.headers.get("transfer-encoding") == "chunked":
        return _stream_problems(route, answer)
    if not answer.complete:
        return ["a unary answer cut short"]
    try:
        obj = json.loads(answer.body)
    except ValueError:
        return [f"a body that is not JSON: {text[:200]!r}"]
    if not isinstance(obj, dict):
        return [f"a body that is not an object: {text[:200]!r}"]
    if "error" in obj or answer.status != 200:
        return _error_body_problems(route, answer, obj)
    if not _parses(route.response, obj):
        return [f"a 200 that is not a {route.response.__name__}: {text[:200]!r}"]
    return []


def problems(route: Route, case: Case, got: Exchange) -> list[str]:
    """What is wrong with how the server answered ``case`` (nothing, for a valid answer)."""
    if case.hang_up:
        return []
    out = []
    complete = [a for a in got.answers if a.complete]
    for answer in got.answers:
        out.extend(answer_problems(route, case, answer))
    if len(complete) > max(case.answers, 1):
        out.append(f"{len(complete)} answers for {case.answers} requests")
    silent = case.silent_close and got.closed and not got.answers
    if case.window is None and len(complete) < case.answers and not silent:
        out.append("no complete answer in time" if got.timed_out else "closed unanswered")
    if case.status is not None and got.answers and got.answers[0].status != case.status:
        out.append(f"status {got.answers[0].status}, not {case.status}")
    if case.closes and complete and not got.closed and case.window is None:
        out.append("the connection stayed open after a framing error")
    return out


# -- running ---------------------------------------------------------------------------------


def _address(server: etcdlite.Server) -> tuple[str, int]:
    host, port = server.address.rsplit(":", 1)
    return host, int(port)


def fuzz_route(server: etcdlite.Server, route: Route, scale: int) -> tuple[int, list[str]]:
    """Fuzz one route: (the number of cases sent, the problems found with their bytes)."""
    seed = f"{SEED}:{route.name}"
    rng = random.Random(seed)
    limit = server._gateway.body_limit  # the largest body the gateway reads
    make = stream_case if route.streaming else unary_case
    count = (STREAM_CASES if route.streaming else UNARY_CASES) * scale
    cases = [make(route, rng, limit) for _ in range(count)]
    address = _address(server)
    found: list[str] = []
    deadline = time.monotonic() + ROUTE_BUDGET * scale
    with concurrent.futures.ThreadPoolExecutor(CONCURRENCY, "fuzz-client") as pool:
        futures = {pool.submit(exchange, address, case): case for case in cases}
        for future in concurrent.futures.as_completed(
            futures, timeout=max(deadline - time.monotonic(), 1.0)
        ):
            case = futures[future]
            found.extend(
                f"{problem} [seed {seed!r}, {case.shape}] <- {case.data[:400]!r}"
                for problem in problems(route, case, future.result())
            )
    return len(cases), found


def _new_threads(before: set[threading.Thread]) -> list[str]:
    return [
        t.name
        for t in threading.enumerate()
        if t not in before and not t.name.startswith(SERVER_THREADS)
    ]


def _stacks(before: set[threading.Thread]) -> str:
    frames = sys._current_frames()
    return "\n".join(
        f"{t.name}:\n{''.join(traceback.format_stack(frames[t.ident]))}"
        for t in threading.enumerate()
        if t not in before and t.ident in frames and not t.name.startswith(SERVER_THREADS)
    )


def _json_call(address: tuple[str, int], path: str, obj: object) -> dict[str, Any]:
    case = Case("check", _post(path, json.dumps(obj).encode()))
    got = exchange(address, case)
    assert [a.status for a in got.answers] == [200], got.raw
    answer: dict[str, Any] = json.loads(got.answers[0].body)
    return answer


def _check_json_serving(server: etcdlite.Server) -> None:
    address = _address(server)
    key, value = base64.b64encode(b"after-json-fuzz").decode(), base64.b64encode(b"ok").decode()
    put = _json_call(address, "/v3/kv/put", {"key": key, "value": value})
    got = _json_call(address, "/v3/kv/range", {"key": key})
    assert got["kvs"][0]["value"] == value
    assert got["kvs"][0]["mod_revision"] == put["header"]["revision"]


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[etcdlite.Server, list[str]]]:
    """A fresh server per route, and the exceptions any thread died of meanwhile."""
    died: list[str] = []

    def hook(args: threading.ExceptHookArgs) -> None:
        died.append(f"{args.thread.name if args.thread else '?'}: {args.exc_type.__name__}")

    monkeypatch.setattr(threading, "excepthook", hook)
    with etcdlite.serve(port=0) as server:
        yield server, died


def _run(served: tuple[etcdlite.Server, list[str]], route: Route, scale: int) -> None:
    server, died = served
    before = set(threading.enumerate())
    sent, found = fuzz_route(server, route, scale)
    assert sent >= (STREAM_CASES if route.streaming else UNARY_CASES)
    assert not found, f"{len(found)} problems, the first:\n" + "\n".join(found[:10])
    for _ in range(200):  # up to 10 s for the threads of calls just hung up on to end
        if not _new_threads(before):
            break
        time.sleep(0.05)
    assert not _new_threads(before), f"gateway threads left behind:\n{_stacks(before)}"
    assert not died, f"threads died of exceptions: {died}"
    with grpc.insecure_channel(server.address) as channel:
        _check_still_serving(server, channel)  # disarms the alarms a fuzzed Alarm raised
    _check_json_serving(server)


@pytest.mark.parametrize("route", ROUTES, ids=[r.name for r in ROUTES])
def test_fuzz_route(served: tuple[etcdlite.Server, list[str]], route: Route) -> None:
    """Every gateway route answers each malformed or random request validly and keeps serving."""
    _run(served, route, 1)


@pytest.mark.slow
@pytest.mark.parametrize("route", ROUTES, ids=[r.name for r in ROUTES])
def test_fuzz_route_long(served: tuple[etcdlite.Server, list[str]], route: Route) -> None:
    """The same with ten times as many requests per route."""
    _run(served, route, 10)


# -- the oracle and the fixes it found -------------------------------------------------------


def _route_named(name: str) -> Route:
    return next(r for r in ROUTES if r.name == name)


def _answer(
    status: int, body: bytes, kind: str = "application/json", *, cut: bool = False
) -> Answer:
    """An answer as read: with ``cut``, a chunked stream the client hung up on."""
    headers = {"content-type": kind}
    if cut:
        headers["transfer-encoding"] = "chunked"
    return Answer(status, headers, body, not cut)


_ERROR_3 = b'{"error":"x","message":"x","code":3}'
_ERROR_2 = b'{"error":"x","message":"x","code":2}'
_TEXT = "text/plain; charset=utf-8"
_STREAM = b'{"result":{"created":true}}\n{"result":{"x'

#: (route, case, what came back, whether that is a problem)
_JUDGED = [
    ("kv.Range", Case("c", b""), Exchange([_answer(400, _ERROR_3)]), False),
    ("kv.Range", Case("c", b""), Exchange([_answer(200, b'{"count":"1"}')]), False),
    ("kv.Range", Case("c", b""), Exchange([_answer(200, b'{"count":"x"}')]), True),
    ("kv.Range", Case("c", b""), Exchange([_answer(500, _ERROR_3)]), True),
    ("kv.Range", Case("c", b""), Exchange([_answer(500, _ERROR_2)]), True),
    ("lock.Unlock", Case("c", b""), Exchange([_answer(500, _ERROR_2)]), False),
    ("watch.Watch", Case("c", b""), Exchange([_answer(500, _ERROR_2)]), False),
    ("kv.Range", Case("c", b""), Exchange([_answer(500, _ERROR_3.replace(b"3", b"13"))]), True),
    (
        "kv.Range",
        Case("c", b""),
        Exchange([_answer(400, _ERROR_3.replace(b':"x","c', b':"y","c'))]),
        True,
    ),
    ("kv.Range", Case("c", b""), Exchange([_answer(400, b"Traceback (most recent", _TEXT)]), True),
    ("kv.Range", Case("c", b""), Exchange([_answer(501, b"<html>", "text/html")]), True),
    ("kv.Range", Case("c", b""), Exchange([], timed_out=True), True),
    ("kv.Range", Case("c", b"", answers=2), Exchange([_answer(400, _ERROR_3)] * 3), True),
    ("kv.Range", Case("c", b"", closes=True), Exchange([_answer(400, _ERROR_3)]), True),
    ("kv.Range", Case("c", b"", closes=True), Exchange([_answer(400, _ERROR_3)], True), False),
    (
        "kv.Range",
        Case("bad length", b"", status=400),
        Exchange([_answer(400, b"400 Bad Request", _TEXT)], True),
        False,
    ),
    (
        "kv.Range",
        Case("bad coding", b"", status=501),
        Exchange([_answer(400, b"400 Bad Request", _TEXT)], True),
        True,
    ),
    (
        "kv.Range",
        Case("method", b"", status=405),
        Exchange([_answer(405, b"Method Not Allowed\n", _TEXT)]),
        False,
    ),
    ("kv.Range", Case("c", b""), Exchange([_answer(405, b"Method Not Allowed\n", _TEXT)]), True),
    ("kv.Range", Case("garbage", b"", silent_close=True), Exchange([], True), False),
    ("kv.Range", Case("c", b""), Exchange([], True), True),
    ("lock.Lock", Case("c", b"", window=0.1), Exchange([], timed_out=True), False),
    ("kv.Range", Case("c", b"", hang_up=True), Exchange(), False),
    ("watch.Watch", Case("s", b"", window=0.1), Exchange([_answer(200, _STREAM, cut=True)]), False),
    (
        "watch.Watch",
        Case("s", b"", window=0.1),
        Exchange([_answer(200, b'{"result":{"created":"x"}}\n', cut=True)]),
        True,
    ),
]


@pytest.mark.parametrize(("route", "case", "got", "flagged"), _JUDGED)
def test_problems_judges_answers(route: str, case: Case, got: Exchange, flagged: bool) -> None:
    """The oracle: a wrong body, status, code, count of answers, a hang, a traceback, an HTML
    page or a connection left open after a framing error is a problem."""
    assert bool(problems(_route_named(route), case, got)) is flagged


def _deep(depth: int) -> bytes:
    return b'{"success":[' + b'{"request_txn":' * depth + b"{}" + b"}" * depth + b"]}"


@dataclass(frozen=True)
class Fixed:
    """A request the fuzzer found answered wrong, and its answer now: ``status`` (``None``: the
    connection closes with no answer), a ``text`` in the body, whether the connection then
    ``closes``, and whether etcd 3.4 answers the ``same`` status (observed)."""

    name: str
    request: bytes
    status: int | None
    text: bytes = b""
    closes: bool = True
    half_close: bool = False
    same: bool = True


def _range(headers: dict[str, str] | list[tuple[str, str]], data: bytes = b"{}") -> bytes:
    return _request("POST", "/v3/kv/range", headers, data)


def _chunks(text: str, path: str = "/v3/kv/range") -> bytes:
    return _request("POST", path, {"Transfer-Encoding": "chunked"}, text.encode())


REGRESSIONS = [
    # a Content-Length that is not a number: a thread died of ValueError, no answer
    Fixed("length abc", _range({"Content-Length": "abc"}), 400, b"400 Bad Request"),
    Fixed("length -1", _range({"Content-Length": "-1"}), 400, b"400 Bad Request"),
    Fixed(
        "two lengths",
        _range([("Content-Length", "2"), ("Content-Length", "3")]),
        400,
        b"400 Bad Request",
    ),
    # a transfer coding other than chunked: the body was read as the next request
    Fixed("gzip", _range({"Transfer-Encoding": "gzip"}), 501, b"Unsupported transfer encoding"),
    # a bad chunk size: a thread died of ValueError; "-5" read to the end of the connection
    Fixed("chunk zz", _chunks("zz\r\n{}\r\n0\r\n\r\n"), 400, b"invalid byte in chunk length"),
    Fixed("chunk -5", _chunks("-5\r\n{}\r\n0\r\n\r\n"), 400, b"invalid byte in chunk length"),
    Fixed("chunk 17 digits", _chunks("1" * 17 + "\r\n{}"), 400, b"http chunk length too large"),
    # a chunk over the limit: what followed it was read as a next request (an HTML 400)
    Fixed("chunk over limit", _chunks("400001\r\n{}\r\n0\r\n\r\n"), 429, same=False),
    # nesting deeper than Python's stack: a thread died of RecursionError, no answer (Go
    # decodes up to 10,000 levels: etcd answers the txn)
    Fixed("deep txn", _post("/v3/kv/txn", _deep(3000)), 400, b'"code":3', False, same=False),
    Fixed("deep array", _post("/v3/kv/range", b"[" * 100_000), 400, b'"code":3', False),
    # a method http.server has no handler for: its 501 HTML page
    Fixed("HEAD", _request("HEAD", "/v3/kv/range", {}), 405, b"", False),
    Fixed("FOO", _request("FOO", "/v3/kv/range", {}), 405, b"Method Not Allowed\n", False),
    # not an HTTP/1.x request line: an HTML page without a status line
    Fixed("garbage", b"\x00\xff garbage\r\n\r\n", None),
    Fixed("HTTP/9.9", b"POST /v3/kv/range HTTP/9.9\r\n\r\n", None),
    # a body cut short inside its JSON: Go's decoder's error (etcdlite's already)
    Fixed(
        "cut", _range({"Content-Length": "50"}, b'{"key":'), 400, b"unexpected EOF", half_close=True
    ),
    Fixed("cut chunk", _chunks('64\r\n{"key":'), 400, b"unexpected EOF", half_close=True),
    # a body cut before its first byte: it was taken for the empty request (a Lock then waited)
    Fixed(
        "cut empty", _range({"Content-Length": "50"}, b""), 400, b"unexpected EOF", half_close=True
    ),
    Fixed("cut empty chunk", _chunks("64\r\n"), 400, b"unexpected EOF", half_close=True),
    # the first request of a bidirectional stream that does not decode: etcd answers it 500
    Fixed(
        "first watch line", _post("/v3/watch", b'{"create_request":{"key":5}}'), 500, b'"code":2'
    ),
    Fixed("first keepalive line", _post("/v3/lease/keepalive", b'{"ID":['), 500, b"unexpected EOF"),
    Fixed("first watch chunk", _chunks("zz\r\n{}\r\n", "/v3/watch"), 500, b"invalid byte in chunk"),
]


def _regression_exchange(address: tuple[str, int], fixed: Fixed) -> Exchange:
    case = Case(
        "fixed", fixed.request, half_close=fixed.half_close, closes=fixed.closes, window=2.0
    )
    return exchange(address, case)


@pytest.mark.parametrize("fixed", REGRESSIONS, ids=[f.name for f in REGRESSIONS])
def test_found_by_the_fuzzer(served: tuple[etcdlite.Server, list[str]], fixed: Fixed) -> None:
    """Each answer the fuzzer found wrong, now as etcd's (the framing as Go's server)."""
    server, died = served
    got = _regression_exchange(_address(server), fixed)
    if fixed.status is None:
        assert got.raw == b""
        assert got.closed
    else:
        assert [a.status for a in got.answers] == [fixed.status], got.raw
        assert fixed.text in got.answers[0].body, got.raw
        assert b"<html" not in got.raw.lower()
        assert got.closed or not fixed.closes
    assert not died
    _check_json_serving(server)


@pytest.mark.etcd
def test_found_by_the_fuzzer_same_status_as_etcd() -> None:
    """etcd 3.4 answers the same requests with the same status (or closes the same way),
    where it is the reference (not for the body limit, divergence gateway-body-limit, nor
    nesting deeper than Python's stack, which Go decodes)."""
    assert divergence("gateway-body-limit").kind == divergence("gateway-json-depth").kind
    with running_etcd() as etcd:
        host, port = etcd.url.removeprefix("http://").rsplit(":", 1)
        for fixed in (f for f in REGRESSIONS if f.same):
            got = _regression_exchange((host, int(port)), fixed)
            statuses = [a.status for a in got.answers]
            assert statuses == ([] if fixed.status is None else [fixed.status]), fixed.name


def _waiters(address: tuple[str, int], name: bytes) -> int:
    start, end = base64.b64encode(name + b"/").decode(), base64.b64encode(name + b"0").decode()
    got = _json_call(address, "/v3/kv/range", {"key": start, "range_end": end, "count_only": True})
    return int(got.get("count", 0))


def test_hang_up_behind_a_pipelined_request_withdraws_a_waiting_lock(
    served: tuple[etcdlite.Server, list[str]],
) -> None:
    """A client that sends a Lock and a second request behind it, then hangs up: the waiting
    Lock is withdrawn (the fuzzer found its thread and its key left until the server stopped:
    the data behind the Lock hid the close)."""
    server, _ = served
    address = _address(server)
    name = base64.b64encode(b"held").decode()
    _json_call(address, "/v3/lock/lock", {"name": name})
    lock = _post("/v3/lock/lock", json.dumps({"name": name}).encode())
    with socket.create_connection(address, timeout=UNARY_DEADLINE) as sock:
        sock.sendall(lock)
        for _ in range(100):  # the second waiter's key is put once its Lock runs
            if _waiters(address, b"held") == 2:
                break
            time.sleep(0.05)
        assert _waiters(address, b"held") == 2
        sock.sendall(_post("/v3/kv/range", b'{"key":"YQ=="}'))  # pipelined behind the Lock
        time.sleep(2 * _gateway.HANGUP_POLL_SECONDS)  # seen before the close
    for _ in range(100):  # and goes once the server sees the hang-up
        if _waiters(address, b"held") == 1:
            break
        time.sleep(0.05)
    assert _waiters(address, b"held") == 1
