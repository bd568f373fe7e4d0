"""etcdlite's own gRPC transport: HTTP/2 (RFC 9113) and gRPC's framing on an asyncio event loop.

grpcio's servers (synchronous or asyncio) pass every call between threads several times, which
cost a Python client more latency per call than etcd's whole answer takes, and capped native
clients at about 4,000 calls/s here (``docs/performance.md``). This transport reads and writes
the sockets on the event loop itself: a call the servicers answer without waiting
(:data:`~._calls.INLINE_READS`, :data:`~._calls.INLINE_WRITES`) is decoded, answered and
written within the one ``data_received`` that completed it. The calls themselves are
:mod:`._calls`'s handlers, which this module drives as grpcio's asyncio server would (``rpc``
below, :class:`Rpc`, stands for its servicer context): what runs on the loop, what runs in the
thread pool and how streams are bridged is decided there, once. Connections come from its own
listening sockets or are handed over already accepted (:meth:`H2Server.adopt`, by
:mod:`._listen`).

What it speaks:

* HTTP/2 with the connection preface, SETTINGS (with ACK), PING (ACK), WINDOW_UPDATE and flow
  control both ways (large receive windows, replenished as data is consumed; responses wait for
  the peer's window, split to its frame size), RST_STREAM (the call is cancelled), GOAWAY,
  HEADERS with padding, priority and CONTINUATION, HPACK (:mod:`._hpack`); a protocol error
  ends the connection with GOAWAY and its error code, as RFC 9113 asks.
* gRPC over it: ``:path`` names the method (an unknown one: UNIMPLEMENTED, as grpc-go words
  it), ``content-type`` must be ``application/grpc`` (otherwise HTTP 415), ``grpc-timeout`` sets
  a deadline (the call then ends with DEADLINE_EXCEEDED), other headers are the call's metadata
  (``-bin`` ones base64-decoded); length-prefixed messages, at most ``receive_limit`` bytes each
  (RESOURCE_EXHAUSTED beyond, grpc-go's message), uncompressed (a compressed one: UNIMPLEMENTED);
  responses as HEADERS, DATA, trailers (``grpc-status``, percent-encoded ``grpc-message``), or
  trailers alone for a call that fails before answering.
* TLS through :mod:`ssl` (ALPN ``h2``), the client certificate's CN given to the servicers as
  grpcio's ``auth_context`` gives it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from typing import TYPE_CHECKING, Any, NoReturn

import grpc

from ._hpack import Decoder, Encoder, HPACKError
from ._listen import _common_name

if TYPE_CHECKING:
    import socket
    import ssl
    from collections.abc import AsyncIterator, Callable, Coroutine

__all__ = ("H2Server",)

logger = logging.getLogger(__name__)

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

# Frame types (RFC 9113 section 6).
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY = range(8)
WINDOW_UPDATE, CONTINUATION = 8, 9
# Flags.
END_STREAM = ACK = 0x1
END_HEADERS = 0x4
PADDED = 0x8
PRIORITY_FLAG = 0x20
# Error codes (section 7).
NO_ERROR, PROTOCOL_ERROR, INTERNAL_ERROR, FLOW_CONTROL_ERROR = 0, 1, 2, 3
FRAME_SIZE_ERROR, CANCEL, COMPRESSION_ERROR = 6, 8, 9
# Settings (section 6.5.2).
S_HEADER_TABLE_SIZE, S_INITIAL_WINDOW_SIZE, S_MAX_FRAME_SIZE = 0x1, 0x4, 0x5

#: The receive window this side grants, per stream and for the connection.
WINDOW = 1 << 24
#: The largest frame this side accepts (the protocol's default; we never raise it).
MAX_FRAME = 16384
#: The largest header block this side takes (HEADERS and its CONTINUATIONs).
MAX_HEADER_BLOCK = 1 << 20
_DEFAULT_WINDOW = 65535
_MAX_WINDOW = 2**31 - 1

_RESPONSE_HEADERS = Encoder().encode([(b":status", b"200"), (b"content-type", b"application/grpc")])
_OK_TRAILERS = Encoder().encode([(b"grpc-status", b"0")])
#: Headers that are not metadata.
_TRANSPORT = frozenset(
    {b"content-type", b"te", b"grpc-timeout", b"grpc-encoding", b"grpc-accept-encoding"}
)
_TIMEOUT_UNITS = {b"H": 3600.0, b"M": 60.0, b"S": 1.0, b"m": 1e-3, b"u": 1e-6, b"n": 1e-9}


def frame(kind: int, flags: int, stream: int, payload: bytes = b"") -> bytes:
    """One HTTP/2 frame."""
    return (
        len(payload).to_bytes(3, "big") + bytes((kind, flags)) + stream.to_bytes(4, "big") + payload
    )


def percent_encode(message: str) -> bytes:
    """``grpc-message``'s encoding: bytes outside printable ASCII, and ``%``, as ``%XX``."""
    out = bytearray()
    for b in message.encode():
        if 0x20 <= b <= 0x7E and b != 0x25:
            out.append(b)
        else:
            out += b"%%%02X" % b
    return bytes(out)


def parse_timeout(value: bytes) -> float | None:
    """``grpc-timeout`` in seconds (``None`` if malformed)."""
    unit = _TIMEOUT_UNITS.get(value[-1:])
    digits = value[:-1]
    if unit is None or not digits.isdigit() or len(digits) > 8:
        return None
    return int(digits) * unit


class ConnectionError_(Exception):
    """The connection broke the protocol: GOAWAY with ``code``."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code


class _Abort(Exception):
    """A call ended with a status (what ``rpc.abort`` raises)."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(details)
        self.code = code
        self.details = details


class Rpc:
    """The servicer context :mod:`._calls`'s handlers get: the call's metadata and certificate,
    and ``abort``."""

    __slots__ = ("_call",)

    def __init__(self, call: Call) -> None:
        self._call = call

    def invocation_metadata(self) -> tuple[tuple[str, Any], ...]:
        return self._call.metadata

    def auth_context(self) -> dict[str, list[bytes]]:
        return self._call.conn.auth

    async def abort(self, code: grpc.StatusCode, details: str = "") -> NoReturn:
        raise _Abort(code, details)

    def time_remaining(self) -> float | None:
        return self._call.time_remaining()


class Call:
    """One gRPC call: one HTTP/2 stream."""

    def __init__(self, conn: Connection, stream: int) -> None:
        self.conn = conn
        self.stream = stream
        self.metadata: tuple[tuple[str, Any], ...] = ()
        self.handler: Any = None
        self.path = ""
        self.send_window = conn.peer_window
        self.received = 0  # bytes consumed since this stream's last WINDOW_UPDATE
        self.buffer = bytearray()
        self.messages: list[bytes] = []
        self.requests: asyncio.Queue[bytes | None] | None = None
        self.remote_ended = False
        self.headers_sent = False
        self.finished = False  # trailers queued or sent
        self.pending = bytearray()  # DATA waiting for window
        self.trailers: bytes | None = None  # trailers waiting behind pending DATA
        self.drained: asyncio.Event | None = None
        self.task: asyncio.Task[None] | None = None
        self.deadline: asyncio.TimerHandle | None = None
        self.deadline_at: float | None = None
        self.compressed = False

    def time_remaining(self) -> float | None:
        if self.deadline_at is None:
            return None
        return max(0.0, self.deadline_at - self.conn.loop.time())

    # -- requests ---------------------------------------------------------------------------

    def data(self, payload: bytes, end: bool) -> None:
        if payload:
            self.buffer += payload
            self._messages()
        if end:
            self.remote_ended = True
            if not self.finished:
                self.conn.server.requests_ended(self)

    def _messages(self) -> None:
        buf = self.buffer
        limit = self.conn.server.receive_limit
        while len(buf) >= 5 and not self.finished:
            size = int.from_bytes(buf[1:5], "big")
            if size > limit:
                self.finish(
                    grpc.StatusCode.RESOURCE_EXHAUSTED,
                    f"grpc: received message larger than max ({size} vs. {limit})",
                )
                return
            if len(buf) < 5 + size:
                return
            flag = buf[0]
            message = bytes(buf[5 : 5 + size])
            del buf[: 5 + size]
            if flag:
                self.finish(
                    grpc.StatusCode.UNIMPLEMENTED,
                    "grpc: Decompressor is not installed for grpc-encoding",
                )
                return
            if self.requests is not None:
                self.requests.put_nowait(message)
            else:
                self.messages.append(message)

    async def request_stream(self, decode: Callable[[bytes], Any]) -> AsyncIterator[Any]:
        """The call's requests, decoded, until the client ends its side."""
        assert self.requests is not None
        while True:
            message = await self.requests.get()
            if message is None:
                return
            try:
                request = decode(message)
            except Exception as exc:  # noqa: BLE001 - grpc-go ends the call so
                self.finish(grpc.StatusCode.INTERNAL, f"grpc: error unmarshalling request: {exc}")
                raise _Abort(grpc.StatusCode.INTERNAL, str(exc)) from None
            yield request

    # -- responses --------------------------------------------------------------------------

    def send(self, message: bytes) -> None:
        """Send one response message (after the response headers, the first time)."""
        if self.finished:
            return
        conn = self.conn
        if not self.headers_sent:
            self.headers_sent = True
            conn.write(frame(HEADERS, END_HEADERS, self.stream, _RESPONSE_HEADERS))
        self.pending += len(message).to_bytes(5, "big") + message
        conn.flush_data(self)

    def finish(self, code: grpc.StatusCode, details: str = "") -> None:
        """End the call with this status (trailers after any DATA still waiting)."""
        if self.finished:
            return
        self.finished = True
        self.cancel_deadline()
        fields: list[tuple[bytes, bytes]] = []
        if not self.headers_sent:  # trailers only
            self.headers_sent = True
            fields += [(b":status", b"200"), (b"content-type", b"application/grpc")]
        if code is grpc.StatusCode.OK and not fields:
            block = _OK_TRAILERS
        else:
            fields.append((b"grpc-status", str(code.value[0]).encode()))
            if details:
                fields.append((b"grpc-message", percent_encode(details)))
            block = self.conn.encoder.encode(fields)
        self.trailers = frame(HEADERS, END_HEADERS | END_STREAM, self.stream, block)
        self.conn.flush_data(self)

    def cancel_deadline(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None

    def cancel(self) -> None:
        """The client reset the stream, or the connection is gone: stop the call's work."""
        self.finished = True
        self.cancel_deadline()
        if self.requests is not None:
            self.requests.put_nowait(None)
        if self.task is not None:
            self.task.cancel()

    def expire(self) -> None:
        """The deadline passed."""
        self.deadline = None
        if self.task is not None:
            self.task.cancel()
        self.finish(grpc.StatusCode.DEADLINE_EXCEEDED, "context deadline exceeded")


class Connection(asyncio.Protocol):
    """One client connection."""

    def __init__(self, server: H2Server) -> None:
        self.server = server
        self.loop = server.loop
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.preface = False
        self.decoder = Decoder()
        self.encoder = Encoder()
        self.calls: dict[int, Call] = {}
        self.last_stream = 0
        self.send_window = _DEFAULT_WINDOW
        self.peer_window = _DEFAULT_WINDOW
        self.peer_frame = 16384
        self.received = 0
        self.continuing: tuple[int, int, bytearray] | None = None
        self.blocked: dict[int, Call] = {}
        self.auth: dict[str, list[bytes]] = {}
        self.out: list[bytes] | None = None
        self.closed = False

    # -- the socket -------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = transport.get_extra_info("peercert")
        name = _common_name(peer) if peer else None
        if name:
            self.auth = {"x509_common_name": [name.encode()]}
        self.server.connections.add(self)
        settings = S_INITIAL_WINDOW_SIZE.to_bytes(2, "big") + WINDOW.to_bytes(4, "big")
        transport.write(
            frame(SETTINGS, 0, 0, settings)
            + frame(WINDOW_UPDATE, 0, 0, (WINDOW - _DEFAULT_WINDOW).to_bytes(4, "big"))
        )

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.server.connections.discard(self)
        calls, self.calls = self.calls, {}
        for call in calls.values():
            call.cancel()

    def write(self, data: bytes) -> None:
        if self.out is not None:
            self.out.append(data)
        elif self.transport is not None and not self.closed:
            self.transport.write(data)

    def data_received(self, data: bytes) -> None:
        out: list[bytes] = []
        self.out = out
        try:
            self._receive(data)
        except ConnectionError_ as exc:
            self.go_away(exc.code, str(exc))
        finally:
            self.out = None
            if out and self.transport is not None and not self.closed:
                self.transport.write(b"".join(out))

    def go_away(self, code: int, reason: str = "") -> None:
        """End the connection: GOAWAY with ``code``, then close."""
        payload = self.last_stream.to_bytes(4, "big") + code.to_bytes(4, "big") + reason.encode()
        self.write(frame(GOAWAY, 0, 0, payload))
        if self.out is not None and self.transport is not None:
            self.transport.write(b"".join(self.out))
            self.out.clear()
        if self.transport is not None:
            self.transport.close()
        self.connection_lost(None)

    # -- frames in --------------------------------------------------------------------------

    def _receive(self, data: bytes) -> None:
        buf = self.buffer
        buf += data
        pos = 0
        if not self.preface:
            if len(buf) < len(PREFACE):
                if not PREFACE.startswith(bytes(buf)):
                    raise ConnectionError_(PROTOCOL_ERROR, "not an HTTP/2 connection preface")
                return
            if buf[: len(PREFACE)] != PREFACE:
                raise ConnectionError_(PROTOCOL_ERROR, "not an HTTP/2 connection preface")
            self.preface = True
            pos = len(PREFACE)
        end = len(buf)
        while end - pos >= 9 and not self.closed:
            length = int.from_bytes(buf[pos : pos + 3], "big")
            if length > MAX_FRAME:
                raise ConnectionError_(FRAME_SIZE_ERROR, f"frame of {length} bytes")
            if end - pos - 9 < length:
                break
            kind = buf[pos + 3]
            flags = buf[pos + 4]
            stream = int.from_bytes(buf[pos + 5 : pos + 9], "big") & 0x7FFFFFFF
            payload = bytes(buf[pos + 9 : pos + 9 + length])
            pos += 9 + length
            if self.continuing is not None and kind != CONTINUATION:
                raise ConnectionError_(PROTOCOL_ERROR, "expected CONTINUATION")
            self._frame(kind, flags, stream, payload)
        del buf[:pos]

    def _frame(self, kind: int, flags: int, stream: int, payload: bytes) -> None:
        if kind == DATA:
            self._data(flags, stream, payload)
        elif kind == HEADERS:
            self._headers(flags, stream, payload)
        elif kind == CONTINUATION:
            self._continuation(flags, stream, payload)
        elif kind == WINDOW_UPDATE:
            self._window_update(stream, payload)
        elif kind == SETTINGS:
            self._settings(flags, stream, payload)
        elif kind == PING:
            if stream != 0 or len(payload) != 8:
                raise ConnectionError_(PROTOCOL_ERROR, "bad PING")
            if not flags & ACK:
                self.write(frame(PING, ACK, 0, payload))
        elif kind == RST_STREAM:
            if stream == 0 or len(payload) != 4:
                raise ConnectionError_(PROTOCOL_ERROR, "bad RST_STREAM")
            call = self.calls.pop(stream, None)
            self.blocked.pop(stream, None)
            if call is not None:
                call.cancel()
        elif kind == GOAWAY:
            pass  # the client stops opening streams; the running calls finish
        elif kind == PUSH_PROMISE:
            raise ConnectionError_(PROTOCOL_ERROR, "a client cannot push")
        elif kind == PRIORITY and stream == 0:
            raise ConnectionError_(PROTOCOL_ERROR, "PRIORITY on stream 0")
        # PRIORITY and unknown frame types are ignored (section 5.5)

    @staticmethod
    def _unpad(flags: int, payload: bytes) -> bytes:
        if not flags & PADDED:
            return payload
        if not payload or payload[0] >= len(payload):
            raise ConnectionError_(PROTOCOL_ERROR, "bad padding")
        return payload[1 : len(payload) - payload[0]]

    def _data(self, flags: int, stream: int, payload: bytes) -> None:
        if stream == 0:
            raise ConnectionError_(PROTOCOL_ERROR, "DATA on stream 0")
        size = len(payload)
        self.received += size
        if self.received >= WINDOW // 2:
            self.write(frame(WINDOW_UPDATE, 0, 0, self.received.to_bytes(4, "big")))
            self.received = 0
        call = self.calls.get(stream)
        if call is None:
            if stream > self.last_stream:
                raise ConnectionError_(PROTOCOL_ERROR, "DATA on an idle stream")
            return  # a stream we already ended
        if call.remote_ended:
            raise ConnectionError_(PROTOCOL_ERROR, "DATA after END_STREAM")
        end = bool(flags & END_STREAM)
        if not end:
            call.received += size
            if call.received >= WINDOW // 2:
                self.write(frame(WINDOW_UPDATE, 0, stream, call.received.to_bytes(4, "big")))
                call.received = 0
        call.data(self._unpad(flags, payload), end)

    def _headers(self, flags: int, stream: int, payload: bytes) -> None:
        if stream == 0:
            raise ConnectionError_(PROTOCOL_ERROR, "HEADERS on stream 0")
        payload = self._unpad(flags, payload)
        if flags & PRIORITY_FLAG:
            payload = payload[5:]
        if flags & END_HEADERS:
            self._header_block(stream, flags, payload)
        else:
            self.continuing = (stream, flags, bytearray(payload))

    def _continuation(self, flags: int, stream: int, payload: bytes) -> None:
        if self.continuing is None or self.continuing[0] != stream:
            raise ConnectionError_(PROTOCOL_ERROR, "unexpected CONTINUATION")
        block = self.continuing[2]
        block += payload
        if len(block) > MAX_HEADER_BLOCK:
            raise ConnectionError_(PROTOCOL_ERROR, "header block too large")
        if flags & END_HEADERS:
            first_flags = self.continuing[1]
            self.continuing = None
            self._header_block(stream, first_flags, bytes(block))

    def _header_block(self, stream: int, flags: int, block: bytes) -> None:
        try:
            headers = self.decoder.decode(block)
        except HPACKError as exc:
            raise ConnectionError_(COMPRESSION_ERROR, str(exc)) from None
        end = bool(flags & END_STREAM)
        call = self.calls.get(stream)
        if call is not None:  # trailers from the client: only END_STREAM matters to gRPC
            if not end:
                raise ConnectionError_(PROTOCOL_ERROR, "trailers without END_STREAM")
            call.data(b"", True)
            return
        if stream % 2 == 0 or stream <= self.last_stream:
            raise ConnectionError_(PROTOCOL_ERROR, f"stream {stream} cannot be opened")
        self.last_stream = stream
        call = Call(self, stream)
        self.calls[stream] = call
        self.server.start(call, headers)
        if end and not call.finished:
            call.data(b"", True)

    def _window_update(self, stream: int, payload: bytes) -> None:
        if len(payload) != 4:
            raise ConnectionError_(FRAME_SIZE_ERROR, "bad WINDOW_UPDATE")
        increment = int.from_bytes(payload, "big") & 0x7FFFFFFF
        if increment == 0:
            raise ConnectionError_(PROTOCOL_ERROR, "WINDOW_UPDATE of 0")
        if stream == 0:
            self.send_window += increment
            if self.send_window > _MAX_WINDOW:
                raise ConnectionError_(FLOW_CONTROL_ERROR, "window overflow")
            for call in list(self.blocked.values()):
                self.flush_data(call)
            return
        target = self.calls.get(stream)
        if target is not None:
            target.send_window += increment
            self.flush_data(target)

    def _settings(self, flags: int, stream: int, payload: bytes) -> None:
        if stream != 0:
            raise ConnectionError_(PROTOCOL_ERROR, "SETTINGS on a stream")
        if flags & ACK:
            return
        if len(payload) % 6:
            raise ConnectionError_(FRAME_SIZE_ERROR, "bad SETTINGS")
        for i in range(0, len(payload), 6):
            key = int.from_bytes(payload[i : i + 2], "big")
            value = int.from_bytes(payload[i + 2 : i + 6], "big")
            if key == S_INITIAL_WINDOW_SIZE:
                if value > _MAX_WINDOW:
                    raise ConnectionError_(FLOW_CONTROL_ERROR, "initial window too large")
                delta = value - self.peer_window
                self.peer_window = value
                for call in self.calls.values():
                    call.send_window += delta
            elif key == S_MAX_FRAME_SIZE:
                if not 16384 <= value <= 2**24 - 1:
                    raise ConnectionError_(PROTOCOL_ERROR, "bad max frame size")
                self.peer_frame = value
        self.write(frame(SETTINGS, ACK, 0))
        for call in list(self.blocked.values()):
            self.flush_data(call)

    # -- frames out -------------------------------------------------------------------------

    def flush_data(self, call: Call) -> None:
        """Send as much of ``call``'s waiting DATA as the windows allow, then its trailers."""
        pending = call.pending
        while pending:
            room = min(self.send_window, call.send_window, self.peer_frame, len(pending))
            if room <= 0:
                self.blocked[call.stream] = call
                return
            self.write(frame(DATA, 0, call.stream, bytes(pending[:room])))
            del pending[:room]
            self.send_window -= room
            call.send_window -= room
        self.blocked.pop(call.stream, None)
        if call.drained is not None:
            call.drained.set()
        if call.trailers is not None:
            self.write(call.trailers)
            call.trailers = None
            if call.remote_ended:
                self.calls.pop(call.stream, None)
            else:  # the client may still be sending: tell it to stop (as grpc-go does)
                self.calls.pop(call.stream, None)
                self.write(frame(RST_STREAM, 0, call.stream, NO_ERROR.to_bytes(4, "big")))


class H2Server:
    """gRPC over :class:`Connection` for :mod:`._calls`'s handlers, on an event loop thread of its
    own (the loop and the thread pool are :class:`~._calls.LoopServer`'s)."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        handlers: dict[str, Any],
        inline: frozenset[str],
        *,
        receive_limit: int,
    ) -> None:
        self.loop = loop
        self.handlers = handlers
        self.inline = inline
        self.receive_limit = receive_limit
        self.connections: set[Connection] = set()
        self.servers: list[asyncio.AbstractServer] = []
        self.tasks: set[asyncio.Task[None]] = set()
        self.closed = False

    # -- calls ------------------------------------------------------------------------------

    def start(self, call: Call, headers: list[tuple[bytes, bytes]]) -> None:
        """A new stream's request headers."""
        path = b""
        content_type = b""
        metadata: list[tuple[str, Any]] = []
        timeout: float | None = None
        for name, value in headers:
            if name[:1] == b":":
                if name == b":path":
                    path = value
            elif name == b"content-type":
                content_type = value
            elif name == b"grpc-timeout":
                timeout = parse_timeout(value)
            elif name not in _TRANSPORT:
                key = name.decode("latin-1")
                if key.endswith("-bin"):
                    try:
                        metadata.append((key, base64.b64decode(value + b"==")))
                    except ValueError:
                        continue
                else:
                    metadata.append((key, value.decode("latin-1")))
        if not content_type.startswith(b"application/grpc"):
            call.finished = True
            block = call.conn.encoder.encode([(b":status", b"415")])
            call.conn.write(frame(HEADERS, END_HEADERS | END_STREAM, call.stream, block))
            call.conn.calls.pop(call.stream, None)
            return
        call.metadata = tuple(metadata)
        call.path = text = path.decode("latin-1")
        handler = self.handlers.get(text)
        if handler is None:
            service, _, method = text.lstrip("/").rpartition("/")
            known = any(p.startswith(f"/{service}/") for p in self.handlers) if service else False
            message = (
                f"unknown method {method} for service {service}"
                if known
                else f"unknown service {service or text}"
            )
            call.finish(grpc.StatusCode.UNIMPLEMENTED, message)
            return
        call.handler = handler
        if timeout is not None:
            call.deadline_at = self.loop.time() + timeout
            call.deadline = self.loop.call_later(timeout, call.expire)
        if handler.request_streaming:
            call.requests = asyncio.Queue()
            self._spawn(call, self._bidi(call, handler))

    def requests_ended(self, call: Call) -> None:
        """The client ended its side of ``call``."""
        handler = call.handler
        if handler is None:
            return
        if handler.request_streaming:
            assert call.requests is not None
            call.requests.put_nowait(None)
            return
        if len(call.messages) != 1:
            call.finish(
                grpc.StatusCode.INTERNAL,
                f"grpc: expected one request message, got {len(call.messages)}",
            )
            return
        data = call.messages[0]
        if handler.response_streaming:
            self._spawn(call, self._server_stream(call, handler, data))
        elif call.path in self.inline:
            self._unary_now(call, handler, data)
        else:
            self._spawn(call, self._unary(call, handler, data))

    def _spawn(self, call: Call, work: Coroutine[Any, Any, None]) -> None:
        task = self.loop.create_task(work)
        call.task = task
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _unary_now(self, call: Call, handler: Any, data: bytes) -> None:
        """An inline call, answered here: its coroutine completes without suspending."""
        coroutine = handler.unary_unary(data, Rpc(call))
        try:
            coroutine.send(None)
        except StopIteration as done:
            call.send(handler.response_serializer(done.value))
            call.finish(grpc.StatusCode.OK)
            return
        except _Abort as exc:
            call.finish(exc.code, exc.details)
            return
        except Exception:
            logger.exception("%s failed", call.path)
            call.finish(grpc.StatusCode.UNKNOWN, "unexpected error in the server")
            return
        coroutine.close()  # pragma: no cover - an inline handler never suspends
        raise AssertionError(f"{call.path} suspended on the loop")  # pragma: no cover

    async def _unary(self, call: Call, handler: Any, data: bytes) -> None:
        with self._ending(call):
            response = await handler.unary_unary(data, Rpc(call))
            call.send(handler.response_serializer(response))
            call.finish(grpc.StatusCode.OK)

    async def _server_stream(self, call: Call, handler: Any, data: bytes) -> None:
        with self._ending(call):
            await self._responses(call, handler, handler.unary_stream(data, Rpc(call)))

    async def _bidi(self, call: Call, handler: Any) -> None:
        with self._ending(call):
            requests = call.request_stream(handler.request_deserializer)
            await self._responses(call, handler, handler.stream_stream(requests, Rpc(call)))

    async def _responses(self, call: Call, handler: Any, responses: AsyncIterator[Any]) -> None:
        serialize = handler.response_serializer
        try:
            async for response in responses:
                call.send(serialize(response))
                if len(call.pending) > WINDOW:  # the client reads slowly: wait for it
                    call.drained = asyncio.Event()
                    await call.drained.wait()
                    call.drained = None
        finally:
            with contextlib.suppress(Exception):
                await responses.aclose()  # type: ignore[attr-defined]
        call.finish(grpc.StatusCode.OK)

    @contextlib.contextmanager
    def _ending(self, call: Call) -> Any:
        try:
            yield
        except _Abort as exc:
            call.finish(exc.code, exc.details)
        except asyncio.CancelledError:
            call.finish(grpc.StatusCode.CANCELLED, "context canceled")
        except Exception:
            logger.exception("%s failed", call.path)
            call.finish(grpc.StatusCode.UNKNOWN, "unexpected error in the server")

    # -- listening --------------------------------------------------------------------------

    async def listen_tcp(
        self, host: str, port: int, tls: ssl.SSLContext | None, handshake: float
    ) -> int:
        server = await self.loop.create_server(
            lambda: Connection(self),
            host,
            port,
            ssl=tls,
            ssl_handshake_timeout=handshake if tls is not None else None,
            backlog=4096,
            reuse_address=True,
            start_serving=False,
        )
        self.servers.append(server)
        port_bound: int = server.sockets[0].getsockname()[1]
        return port_bound

    async def adopt(
        self, sock: socket.socket, tls: ssl.SSLContext | None, handshake: float
    ) -> None:
        """Serve a connection accepted elsewhere (by :mod:`._listen`)."""
        if self.closed:
            sock.close()
            return
        try:
            await self.loop.connect_accepted_socket(
                lambda: Connection(self),
                sock,
                ssl=tls,
                ssl_handshake_timeout=handshake if tls is not None else None,
            )
        except (OSError, asyncio.TimeoutError):  # ssl.SSLError among them: the client's failure
            sock.close()

    async def start_serving(self) -> None:
        for server in self.servers:
            await server.start_serving()

    async def stop(self, grace: float | None) -> None:
        """Stop accepting; GOAWAY to every connection; after ``grace`` seconds cancel the calls
        still running and close the connections."""
        self.closed = True
        for server in self.servers:
            server.close()
        for conn in list(self.connections):
            conn.write(
                frame(
                    GOAWAY, 0, 0, conn.last_stream.to_bytes(4, "big") + NO_ERROR.to_bytes(4, "big")
                )
            )
        if self.tasks and grace:
            await asyncio.wait(list(self.tasks), timeout=grace)
        for conn in list(self.connections):
            if conn.transport is not None:
                conn.transport.close()
            conn.connection_lost(None)
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=5.0)
