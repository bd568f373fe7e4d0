"""etcdlite's HTTP/2 transport (``etcdlite/server/_h2.py``) at the frame level.

A raw socket speaks HTTP/2 to ``etcdlite.serve``: a protocol error ends the connection with
GOAWAY and the error code RFC 9113 gives it, PING is answered, a request that is not gRPC gets
HTTP 415 and an unknown method grpc-go's UNIMPLEMENTED; random frames (seeded, bounded) never
take the server down, and a gRPC client is served correctly afterwards.
"""

from __future__ import annotations

import random
import socket
from typing import TYPE_CHECKING, Any

import grpc
import pytest

import etcdlite
from etcdlite.server._h2 import PREFACE, frame
from etcdlite.server._hpack import Decoder, Encoder
from etcdlite.server._pb import rpc_pb2, rpc_pb2_grpc

if TYPE_CHECKING:
    from collections.abc import Iterator

    from etcdlite.server import Server

pytestmark = pytest.mark.grpc

WAIT = 10.0
_rpc: Any = rpc_pb2_grpc

DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE = 0, 1, 3, 4, 6, 7, 8
END_STREAM, END_HEADERS, ACK = 0x1, 0x4, 0x1


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with etcdlite.serve(port=0) as running:
        yield running


def _connect(server: Server) -> socket.socket:
    host, port = server.address.rsplit(":", 1)
    conn = socket.create_connection((host, int(port)), timeout=WAIT)
    conn.sendall(PREFACE + frame(SETTINGS, 0, 0))
    return conn


def _frames(conn: socket.socket) -> Iterator[tuple[int, int, int, bytes]]:
    """The frames the server sends, until it closes the connection."""
    buf = b""
    while True:
        while len(buf) >= 9:
            length = int.from_bytes(buf[:3], "big")
            if len(buf) < 9 + length:
                break
            kind, flags = buf[3], buf[4]
            stream = int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF
            yield kind, flags, stream, buf[9 : 9 + length]
            buf = buf[9 + length :]
        try:
            chunk = conn.recv(65536)
        except OSError:
            return
        if not chunk:
            return
        buf += chunk


def _goaway_code(conn: socket.socket) -> int | None:
    """The error code of the GOAWAY the server ends the connection with (None: closed without)."""
    for kind, _, _, payload in _frames(conn):
        if kind == GOAWAY:
            return int.from_bytes(payload[4:8], "big")
    return None


def _headers(path: bytes, content_type: bytes = b"application/grpc") -> bytes:
    return Encoder().encode(
        [
            (b":method", b"POST"),
            (b":scheme", b"http"),
            (b":path", path),
            (b":authority", b"localhost"),
            (b"content-type", content_type),
            (b"te", b"trailers"),
        ]
    )


def _answer(conn: socket.socket, stream: int) -> list[tuple[bytes, bytes]]:
    """Every header field the server sends on ``stream`` until it ends the stream."""
    decoder = Decoder()
    fields: list[tuple[bytes, bytes]] = []
    for kind, flags, sid, payload in _frames(conn):
        if kind == HEADERS and sid == stream:
            fields += decoder.decode(payload)
        if sid == stream and flags & END_STREAM and kind in (HEADERS, DATA):
            return fields
    raise AssertionError("the stream never ended")


def _still_serves(server: Server) -> None:
    with grpc.insecure_channel(server.address) as channel:
        kv = _rpc.KVStub(channel)
        put = kv.Put(rpc_pb2.PutRequest(key=b"h2/alive", value=b"yes"), timeout=WAIT)
        got = kv.Range(rpc_pb2.RangeRequest(key=b"h2/alive"), timeout=WAIT)
        assert got.kvs[0].value == b"yes"
        assert got.header.revision == put.header.revision


@pytest.mark.parametrize(
    ("frames", "code"),
    [
        pytest.param(frame(DATA, 0, 0, b"x"), 1, id="DATA on stream 0: PROTOCOL_ERROR"),
        pytest.param(frame(HEADERS, END_HEADERS, 2, b"\x88"), 1, id="even stream: PROTOCOL_ERROR"),
        pytest.param(b"\x00\x40\x01\x00\x00\x00\x00\x00\x01", 6, id="frame over 16384: FRAME_SIZE"),
        pytest.param(frame(HEADERS, END_HEADERS, 1, b"\x80"), 9, id="HPACK index 0: COMPRESSION"),
        pytest.param(frame(WINDOW_UPDATE, 0, 0, b"\0\0\0\0"), 1, id="window +0: PROTOCOL_ERROR"),
        pytest.param(frame(PING, 0, 0, b"short"), 1, id="PING of 5 bytes: PROTOCOL_ERROR"),
        pytest.param(
            frame(WINDOW_UPDATE, 0, 0, b"\x7f\xff\xff\xff"), 3, id="window overflow: FLOW_CONTROL"
        ),
        pytest.param(frame(SETTINGS, 0, 0, b"\0\x05\0\0\0\x01"), 1, id="max frame 1: PROTOCOL"),
    ],
)
def test_protocol_errors_end_the_connection_with_their_code(
    server: Server, frames: bytes, code: int
) -> None:
    with _connect(server) as conn:
        conn.sendall(frames)
        assert _goaway_code(conn) == code
    _still_serves(server)


def test_not_http2_is_closed(server: Server) -> None:
    host, port = server.address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=WAIT) as conn:
        conn.sendall(b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n")  # the preface's start, then not
        assert _goaway_code(conn) == 1
    _still_serves(server)


def test_ping_is_answered_with_its_payload(server: Server) -> None:
    with _connect(server) as conn:
        conn.sendall(frame(PING, 0, 0, b"12345678"))
        for kind, flags, _, payload in _frames(conn):
            if kind == PING:
                assert flags & ACK
                assert payload == b"12345678"
                break
        else:
            raise AssertionError("no PING ACK")


def test_a_request_that_is_not_grpc_gets_415(server: Server) -> None:
    with _connect(server) as conn:
        block = _headers(b"/etcdserverpb.KV/Range", b"application/json")
        conn.sendall(frame(HEADERS, END_HEADERS | END_STREAM, 1, block))
        assert (b":status", b"415") in _answer(conn, 1)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (b"/etcdserverpb.KV/Nope", b"unknown method Nope for service etcdserverpb.KV"),
        (b"/nope.Service/Call", b"unknown service nope.Service"),
    ],
)
def test_unknown_methods_are_unimplemented(server: Server, path: bytes, message: bytes) -> None:
    with _connect(server) as conn:
        conn.sendall(frame(HEADERS, END_HEADERS | END_STREAM, 1, _headers(path)))
        fields = dict(_answer(conn, 1))
        assert fields[b"grpc-status"] == b"12"
        assert fields[b"grpc-message"] == message


def test_a_unary_call_over_raw_frames(server: Server) -> None:
    """A Put written frame by frame (the message split over two DATA frames) is answered with
    response headers, one message and trailers with status 0."""
    body = rpc_pb2.PutRequest(key=b"h2/raw", value=b"v").SerializeToString()
    message = b"\0" + len(body).to_bytes(4, "big") + body
    with _connect(server) as conn:
        conn.sendall(
            frame(HEADERS, END_HEADERS, 1, _headers(b"/etcdserverpb.KV/Put"))
            + frame(DATA, 0, 1, message[:3])
            + frame(DATA, END_STREAM, 1, message[3:])
        )
        decoder = Decoder()
        fields: list[tuple[bytes, bytes]] = []
        data = b""
        for kind, flags, sid, payload in _frames(conn):
            if sid != 1:
                continue
            if kind == HEADERS:
                fields += decoder.decode(payload)
            elif kind == DATA:
                data += payload
            if flags & END_STREAM:
                break
    assert (b":status", b"200") in fields
    assert (b"grpc-status", b"0") in fields
    response = rpc_pb2.PutResponse.FromString(data[5:])
    assert response.header.revision > 1
    assert int.from_bytes(data[1:5], "big") == len(data) - 5


def test_random_frames_never_take_the_server_down(server: Server) -> None:
    """Seeded random frames (types, flags, streams, payloads), a bounded number per connection
    over a bounded number of connections: each connection ends or stays up, and afterwards the
    server answers gRPC correctly."""
    rng = random.Random(20261122)
    for _ in range(40):
        with _connect(server) as conn:
            conn.settimeout(2.0)
            frames = b""
            for _ in range(rng.randrange(1, 12)):
                kind = rng.randrange(0, 12)
                flags = rng.randrange(0, 256)
                stream = rng.choice((0, 1, 2, 3, rng.randrange(0, 2**31)))
                payload = rng.randbytes(rng.randrange(0, 64))
                frames += frame(kind, flags, stream, payload)
            try:
                conn.sendall(frames)
                conn.shutdown(socket.SHUT_WR)
                for _ in _frames(conn):
                    pass
            except OSError:
                pass
    _still_serves(server)
