"""etcd's JSON gateway: HTTP/1.1 and proto3 JSON in front of the gRPC servicers.

etcd serves its API twice on the client URL: gRPC, and a grpc-gateway translation of every
call to JSON over HTTP/1.1 (SEMANTICS section 3). This is that translation, in front of the same
servicer instances the gRPC server calls: a route table maps ``/v3/<path>`` (and ``/v3beta``, as
3.4 does) to a servicer method, its request class and its shape (unary, server stream,
bidirectional stream). The body is parsed into the request (:mod:`._json`), the method is called
in-process with :class:`CallContext` for its ``grpc.ServicerContext``, and the answer written
back as JSON.

* Unary: ``200`` with the response; an error is etcd 3.4's body ``{"error", "message",
  "code"}`` with grpc-gateway v1's HTTP status for the code (:data:`HTTP_STATUS`).
* Streams (``/v3/watch``, ``/v3/lease/keepalive``, ``/v3/election/observe``,
  ``/v3/maintenance/snapshot``): the request body (``Content-Length`` or chunked, read while
  the answers go out) is a sequence of JSON requests; the answers go out chunked, one
  ``{"result": ...}`` line each, headers with the first answer; an error ends the stream with
  an ``{"error": {"grpc_code", "http_code", "message", "http_status"}}`` line. As etcd 3.4's
  gateway: a first request it cannot decode is refused like a failed unary call (code 2, 500,
  for a bidirectional stream), a later one ends the client's side (the watch stays open).
  The client hanging up ends the call (its watches, its blocked Lock or Campaign).
* Framing is held to what Go's server takes: a ``Content-Length`` that is not one decimal
  number is a plain-text 400, a transfer coding other than ``chunked`` a 501 (both close the
  connection), a bad chunk a JSON error (code 3); a request line that is not HTTP/1.x is
  closed unanswered (as etcd's listener does), and any other method than the ones served is
  a 405.
* ``GET /version``, ``/health``, ``/metrics``; ``OPTIONS`` answers the CORS preflight etcd
  answers; another method on a gateway path is ``405``; an unknown path ``404``.
* ``Authorization`` reaches the servicer as the gRPC ``authorization`` metadata, and over
  TLS the CN of the client's verified certificate as grpcio gives it, in
  ``context.auth_context()["x509_common_name"]`` (:func:`._listen.client_common_name`).

One thread serves one connection (the listener's), HTTP/1.1 keep-alive included; a stream
takes one more thread to watch for the client hanging up, and the watch servicer its own
request reader.
"""

from __future__ import annotations

import codecs
import http.server
import itertools
import json
import re
import select
import socket
import threading
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from .._model import RangeRequest, RangeResponse
from . import _json
from ._call import Aborted, CallContext
from ._pb import rpc_pb2, v3election_pb2, v3lock_pb2

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterator

    from google.protobuf.message import Message

    from .._store import Store
    from ._services import Servicers

__all__ = ("HTTP_STATUS", "Gateway")

Kind = Literal["unary", "server", "bidi"]

#: grpc-gateway v1's HTTP status per gRPC code (etcd 3.4 and 3.5).
HTTP_STATUS = {
    0: 200,
    1: 408,
    2: 500,
    3: 400,
    4: 504,
    5: 404,
    6: 409,
    7: 403,
    8: 429,
    9: 412,
    10: 409,
    11: 400,
    12: 501,
    13: 500,
    14: 503,
    15: 500,
    16: 401,
}

#: The prefixes etcd 3.4 serves the gateway under (3.4 dropped ``/v3alpha``).
PREFIXES = ("/v3", "/v3beta")

#: How often a stream looks whether its client hung up.
HANGUP_POLL_SECONDS = 0.2


_CORS = (
    ("Access-Control-Allow-Headers", "accept, content-type, authorization"),
    ("Access-Control-Allow-Methods", "POST, GET, OPTIONS, PUT, DELETE"),
    ("Access-Control-Allow-Origin", "*"),
)

# (paths under a prefix, servicer, method, request class, kind)
_TABLE: tuple[tuple[tuple[str, ...], str, str, type[Message], Kind], ...] = (
    (("/kv/range",), "kv", "Range", rpc_pb2.RangeRequest, "unary"),
    (("/kv/put",), "kv", "Put", rpc_pb2.PutRequest, "unary"),
    (("/kv/deleterange",), "kv", "DeleteRange", rpc_pb2.DeleteRangeRequest, "unary"),
    (("/kv/txn",), "kv", "Txn", rpc_pb2.TxnRequest, "unary"),
    (("/kv/compaction",), "kv", "Compact", rpc_pb2.CompactionRequest, "unary"),
    (("/watch",), "watch", "Watch", rpc_pb2.WatchRequest, "bidi"),
    (("/lease/grant",), "lease", "LeaseGrant", rpc_pb2.LeaseGrantRequest, "unary"),
    (
        ("/lease/revoke", "/kv/lease/revoke"),
        "lease",
        "LeaseRevoke",
        rpc_pb2.LeaseRevokeRequest,
        "unary",
    ),
    (("/lease/keepalive",), "lease", "LeaseKeepAlive", rpc_pb2.LeaseKeepAliveRequest, "bidi"),
    (
        ("/lease/timetolive", "/kv/lease/timetolive"),
        "lease",
        "LeaseTimeToLive",
        rpc_pb2.LeaseTimeToLiveRequest,
        "unary",
    ),
    (
        ("/lease/leases", "/kv/lease/leases"),
        "lease",
        "LeaseLeases",
        rpc_pb2.LeaseLeasesRequest,
        "unary",
    ),
    (("/cluster/member/add",), "cluster", "MemberAdd", rpc_pb2.MemberAddRequest, "unary"),
    (("/cluster/member/remove",), "cluster", "MemberRemove", rpc_pb2.MemberRemoveRequest, "unary"),
    (("/cluster/member/update",), "cluster", "MemberUpdate", rpc_pb2.MemberUpdateRequest, "unary"),
    (("/cluster/member/list",), "cluster", "MemberList", rpc_pb2.MemberListRequest, "unary"),
    (
        ("/cluster/member/promote",),
        "cluster",
        "MemberPromote",
        rpc_pb2.MemberPromoteRequest,
        "unary",
    ),
    (("/maintenance/alarm",), "maintenance", "Alarm", rpc_pb2.AlarmRequest, "unary"),
    (("/maintenance/status",), "maintenance", "Status", rpc_pb2.StatusRequest, "unary"),
    (
        ("/maintenance/defragment",),
        "maintenance",
        "Defragment",
        rpc_pb2.DefragmentRequest,
        "unary",
    ),
    # etcd 3.4's proto gives HashKV the path of Hash, where Hash answers: /hash is Hash. Its
    # /hashkv is a 404; we serve HashKV there, as 3.5 does (divergence gateway-hashkv-path).
    (("/maintenance/hash",), "maintenance", "Hash", rpc_pb2.HashRequest, "unary"),
    (("/maintenance/hashkv",), "maintenance", "HashKV", rpc_pb2.HashKVRequest, "unary"),
    (("/maintenance/snapshot",), "maintenance", "Snapshot", rpc_pb2.SnapshotRequest, "server"),
    (
        ("/maintenance/transfer-leadership",),
        "maintenance",
        "MoveLeader",
        rpc_pb2.MoveLeaderRequest,
        "unary",
    ),
    (("/lock/lock",), "lock", "Lock", v3lock_pb2.LockRequest, "unary"),
    (("/lock/unlock",), "lock", "Unlock", v3lock_pb2.UnlockRequest, "unary"),
    (("/election/campaign",), "election", "Campaign", v3election_pb2.CampaignRequest, "unary"),
    (("/election/proclaim",), "election", "Proclaim", v3election_pb2.ProclaimRequest, "unary"),
    (("/election/leader",), "election", "Leader", v3election_pb2.LeaderRequest, "unary"),
    (("/election/observe",), "election", "Observe", v3election_pb2.LeaderRequest, "server"),
    (("/election/resign",), "election", "Resign", v3election_pb2.ResignRequest, "unary"),
    # /auth/status is etcd 3.5's (AuthStatus); 3.4 has no such call.
    (("/auth/enable",), "auth", "AuthEnable", rpc_pb2.AuthEnableRequest, "unary"),
    (("/auth/disable",), "auth", "AuthDisable", rpc_pb2.AuthDisableRequest, "unary"),
    (("/auth/status",), "auth", "AuthStatus", rpc_pb2.AuthStatusRequest, "unary"),
    (("/auth/authenticate",), "auth", "Authenticate", rpc_pb2.AuthenticateRequest, "unary"),
    (("/auth/user/add",), "auth", "UserAdd", rpc_pb2.AuthUserAddRequest, "unary"),
    (("/auth/user/get",), "auth", "UserGet", rpc_pb2.AuthUserGetRequest, "unary"),
    (("/auth/user/list",), "auth", "UserList", rpc_pb2.AuthUserListRequest, "unary"),
    (("/auth/user/delete",), "auth", "UserDelete", rpc_pb2.AuthUserDeleteRequest, "unary"),
    (
        ("/auth/user/changepw",),
        "auth",
        "UserChangePassword",
        rpc_pb2.AuthUserChangePasswordRequest,
        "unary",
    ),
    (("/auth/user/grant",), "auth", "UserGrantRole", rpc_pb2.AuthUserGrantRoleRequest, "unary"),
    (("/auth/user/revoke",), "auth", "UserRevokeRole", rpc_pb2.AuthUserRevokeRoleRequest, "unary"),
    (("/auth/role/add",), "auth", "RoleAdd", rpc_pb2.AuthRoleAddRequest, "unary"),
    (("/auth/role/get",), "auth", "RoleGet", rpc_pb2.AuthRoleGetRequest, "unary"),
    (("/auth/role/list",), "auth", "RoleList", rpc_pb2.AuthRoleListRequest, "unary"),
    (("/auth/role/delete",), "auth", "RoleDelete", rpc_pb2.AuthRoleDeleteRequest, "unary"),
    (
        ("/auth/role/grant",),
        "auth",
        "RoleGrantPermission",
        rpc_pb2.AuthRoleGrantPermissionRequest,
        "unary",
    ),
    (
        ("/auth/role/revoke",),
        "auth",
        "RoleRevokePermission",
        rpc_pb2.AuthRoleRevokePermissionRequest,
        "unary",
    ),
)

#: Unary calls that may block (until the lock or the leadership is had): the client hanging up
#: withdraws them, as the end of the gRPC call does.
_BLOCKING = frozenset({("lock", "Lock"), ("election", "Campaign")})


class Route(NamedTuple):
    """One gateway path: what to call, with which request class, in which shape."""

    call: Callable[[Any, Any], Any]
    request: type[Message]
    kind: Kind
    blocking: bool


def _error_body(error: Aborted) -> bytes:
    body = {"error": error.message, "message": error.message, "code": error.code}
    return json.dumps(body, separators=(",", ":")).encode()


def _stream_error_line(error: Aborted) -> bytes:
    status = HTTP_STATUS.get(error.code, 500)
    body = {
        "error": {
            "grpc_code": error.code,
            "http_code": status,
            "message": error.message,
            "http_status": http.HTTPStatus(status).phrase,
        }
    }
    return json.dumps(body, separators=(",", ":")).encode()  # no newline after it, as etcd


_DECIMAL = re.compile(r"[0-9]*")
_HEX = re.compile(rb"[0-9a-fA-F]*")


def _framing_error(headers: Any) -> tuple[int, str] | None:
    """What Go's HTTP server refuses in a request's framing headers, as its status and text:
    a transfer coding other than ``chunked`` (501), a ``Content-Length`` that is not a decimal
    number or differs between its copies (400); ``None`` if the framing is good. With
    ``chunked``, ``Content-Length`` is ignored, as Go does."""
    codings = headers.get_all("Transfer-Encoding") or []
    if codings:
        if [c.strip().lower() for c in codings] != ["chunked"]:
            return 501, "Unsupported transfer encoding"
        return None
    lengths = {v.strip() for v in headers.get_all("Content-Length") or []}
    if len(lengths) > 1 or not all(_DECIMAL.fullmatch(v) for v in lengths):
        return 400, "400 Bad Request"
    return None


class _Body:
    """The request body as it arrives: ``Content-Length`` bytes or HTTP/1.1 chunks (its
    framing headers checked by :func:`_framing_error`). ``done``: nothing more is read;
    ``complete``: the body ended where its framing says, so the connection can carry the
    next request."""

    def __init__(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        self._rfile = handler.rfile
        self._chunked = "Transfer-Encoding" in handler.headers
        self._remaining = 0 if self._chunked else int(handler.headers.get("Content-Length") or 0)
        self.declared = None if self._chunked else self._remaining
        self.done = False
        self.complete = False

    def read_some(self, limit: int) -> bytes:
        """The next bytes of the body (``b""`` at its end); more than ``limit`` at once, or
        chunk framing Go refuses, raises :class:`Aborted`."""
        if self.done:
            return b""
        try:
            return self._read(limit)
        except (OSError, ValueError, Aborted):
            self.done = True
            raise

    def _end(self, complete: bool) -> bytes:
        self.done = True
        self.complete = complete
        return b""

    def _read(self, limit: int) -> bytes:
        if not self._chunked:
            if self._remaining <= 0:
                return self._end(True)
            data = self._rfile.read1(min(self._remaining, 65536))
            if not data:
                return self._end(False)
            self._remaining -= len(data)
            return data
        line = self._rfile.readline(1024)
        if not line:
            return self._end(False)
        digits = line.split(b";")[0].strip()  # Go drops the extension and trailing space
        if not _HEX.fullmatch(digits):
            raise Aborted(3, "invalid byte in chunk length")  # Go's texts
        if len(digits) > 16:
            raise Aborted(3, "http chunk length too large")
        size = int(digits or b"0", 16)
        if size == 0:
            for _ in range(100):  # trailers, up to the empty line
                if self._rfile.readline(65537) in (b"\r\n", b"\n", b""):
                    break
            return self._end(True)
        if size > limit:
            raise Aborted(8, f"etcdlite: request body chunk larger than max ({size} vs. {limit})")
        data = self._rfile.read(size)
        if len(data) < size:
            self._end(False)
        elif self._rfile.read(2) != b"\r\n":
            raise Aborted(3, "malformed chunked encoding")
        return data


class Gateway:
    """The JSON gateway for one server; :meth:`handle` serves one accepted connection."""

    def __init__(
        self, store: Store, services: Servicers, *, version: str, receive_limit: int
    ) -> None:
        self.store = store
        self.version = version
        self.receive_limit = receive_limit
        #: Largest request body read: the receive limit's message in base64, with JSON around.
        self.body_limit = 2 * receive_limit
        self.routes: dict[str, Route] = {}
        for paths, service, method, request, kind in _TABLE:
            route = Route(
                getattr(getattr(services, service), method),
                request,
                kind,
                (service, method) in _BLOCKING,
            )
            for prefix in PREFIXES:
                for path in paths:
                    self.routes[prefix + path] = route
        self._lock = threading.Lock()
        self._calls: set[CallContext] = set()
        self._threads: set[threading.Thread] = set()
        self._closed = False
        self._handler = type("Handler", (_Handler,), {"gateway": self})

    def handle(self, sock: socket.socket, address: Any, common_name: str | None = None) -> None:
        """Serve HTTP/1.1 on ``sock`` until the client closes it (the caller closes it);
        ``common_name`` is the CN of the client's verified TLS certificate, if any."""
        self._handler(sock, address, None, common_name)

    def begin(self, context: CallContext) -> bool:
        """Track a call so :meth:`close` ends it; ``False`` once closed."""
        with self._lock:
            if self._closed:
                return False
            self._calls.add(context)
            return True

    def finish(self, context: CallContext) -> None:
        """The call is over."""
        context.end()
        with self._lock:
            self._calls.discard(context)

    def watch_hangup(
        self, sock: socket.socket, context: CallContext, rest: _Body | None = None
    ) -> None:
        """End ``context`` when the client hangs up on ``sock``, after reading what is left of
        the request body ``rest`` (a thread, which ends with the call)."""

        def run() -> None:
            try:
                while rest is not None and context.is_active():
                    if not rest.read_some(self.body_limit):
                        break
                pipelined = False
                while not context.wait(HANGUP_POLL_SECONDS):
                    state = _client_state(sock, pipelined=pipelined)
                    if state == "closed":
                        break
                    if state == "sent":  # a pipelined request: a close behind it is a hang-up
                        if not _POLLRDHUP:
                            return  # which only Linux's POLLRDHUP sees
                        pipelined = True
            except (OSError, ValueError, Aborted):
                pass
            finally:
                with self._lock:
                    self._threads.discard(threading.current_thread())
            context.end()

        thread = threading.Thread(target=run, name="etcdlite-gateway-hangup", daemon=True)
        with self._lock:
            self._threads.add(thread)
            thread.start()

    def close(self, timeout: float = 2.0) -> None:
        """End every running call and wait (up to ``timeout``) for their helper threads."""
        with self._lock:
            self._closed = True
            calls = list(self._calls)
        for context in calls:
            context.end()
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)

    # -- the plain HTTP endpoints -----------------------------------------------------------

    def version_body(self) -> bytes:
        """``/version``: the emulated server version and its cluster version."""
        cluster = ".".join(self.version.split(".")[:2]) + ".0"
        body = {"etcdserver": self.version, "etcdcluster": cluster}
        return json.dumps(body, separators=(",", ":")).encode()

    def metrics_body(self) -> bytes:
        """``/metrics``: the few of etcd's Prometheus metrics the Store has the numbers for."""
        store = self.store
        header = store.header
        everything = store.do(RangeRequest(b"\0", b"\0", count_only=True))
        assert isinstance(everything, RangeResponse)
        cluster = ".".join(self.version.split(".")[:2])
        metrics = (
            ("etcd_server_has_leader", "gauge", "Whether or not a leader exists.", "", 1),
            ("etcd_server_is_leader", "gauge", "Whether or not this member is a leader.", "", 1),
            (
                "etcd_server_id",
                "gauge",
                "Server or member ID in hexadecimal format.",
                f'{{server_id="{header.member_id:x}"}}',
                1,
            ),
            (
                "etcd_server_version",
                "gauge",
                "Which version is running.",
                f'{{server_version="{self.version}"}}',
                1,
            ),
            (
                "etcd_cluster_version",
                "gauge",
                "Which version is running.",
                f'{{cluster_version="{cluster}"}}',
                1,
            ),
            (
                "etcd_debugging_mvcc_current_revision",
                "gauge",
                "The current revision of store.",
                "",
                header.revision,
            ),
            (
                "etcd_debugging_mvcc_compact_revision",
                "gauge",
                "The revision of the last compaction in store.",
                "",
                max(store.compact_revision, 0),
            ),
            (
                "etcd_debugging_mvcc_keys_total",
                "gauge",
                "Total number of keys.",
                "",
                everything.count,
            ),
        )
        lines = []
        for name, kind, help_text, labels, value in metrics:
            lines += [
                f"# HELP {name} {help_text}",
                f"# TYPE {name} {kind}",
                f"{name}{labels} {value}",
            ]
        return ("\n".join(lines) + "\n").encode()


#: Linux's "the peer closed its side", seen even behind data not read yet (0 elsewhere).
_POLLRDHUP: int = getattr(select, "POLLRDHUP", 0)


def _client_state(sock: socket.socket, *, pipelined: bool) -> Literal["open", "sent", "closed"]:
    """Whether the client has ``"closed"`` ``sock`` (or its sending side), ``"sent"`` more
    (a pipelined request), or neither; once ``pipelined``, only a close is looked for."""
    if hasattr(select, "poll"):  # not limited to descriptors below FD_SETSIZE, as select is
        poller = select.poll()
        poller.register(sock, _POLLRDHUP if pipelined else select.POLLIN | _POLLRDHUP)
        events = 0
        for _, event in poller.poll(0):
            events |= event
        if events & (_POLLRDHUP | select.POLLHUP | select.POLLERR):
            return "closed"
        readable = bool(events & select.POLLIN)
    else:
        readable = bool(select.select([sock], [], [], 0)[0])
    if pipelined or not readable:
        return "open"
    return "sent" if sock.recv(1, socket.MSG_PEEK) else "closed"


class _Handler(http.server.BaseHTTPRequestHandler):
    """One connection's requests (``handle`` serves them all, HTTP/1.1 keep-alive)."""

    protocol_version = "HTTP/1.1"
    server_version = "etcdlite"
    sys_version = ""
    gateway: Gateway

    def __init__(
        self, request: Any, client_address: Any, server: Any, common_name: str | None = None
    ) -> None:
        self.common_name = common_name  # before the base class serves the connection
        super().__init__(request, client_address, server)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: etcd logs no access lines."""

    def parse_request(self) -> bool:
        """Read the request line and headers; refuse the framing Go's server refuses."""
        if not super().parse_request():
            return False
        error = _framing_error(self.headers)
        if error is not None:
            self._refuse(*error)
            return False
        return True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """A request ``http.server`` cannot read (request line, version, header sizes): Go's
        plain-text answer instead of an HTML page."""
        self._refuse(code, f"{code} {http.HTTPStatus(code).phrase}")

    def __getattr__(self, name: str) -> Any:
        """Any other HTTP method (``HEAD``, ``FOO``) as ``PUT``: 405 on a gateway path, as Go's
        mux answers, not ``http.server``'s 501."""
        if name.startswith("do_"):
            return self.do_PUT
        raise AttributeError(name)

    def finish(self) -> None:
        """The connection is over: shut it down first, which wakes a thread still reading the
        request body (it holds the reader's lock that closing the reader takes)."""
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        super().finish()

    # -- answers ----------------------------------------------------------------------------

    def _answer(self, status: int, body: bytes, content_type: str, *, grpc: bool = False) -> None:
        self.send_response(status)
        for name, value in _CORS:
            self.send_header(name, value)
        self.send_header("Content-Type", content_type)
        if grpc:
            self.send_header("Grpc-Metadata-Content-Type", "application/grpc")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _refuse(self, status: int, text: str) -> None:
        """Refuse a request HTTP cannot carry, and close the connection: Go's plain text, or
        no answer at all for what is not an HTTP/1.x request line (etcd closes those)."""
        self.close_connection = True
        if self.request_version == "HTTP/0.9":
            return
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Connection", "close")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _not_found(self, path: str) -> None:
        gateway = any(path.startswith(prefix + "/") for prefix in PREFIXES)
        body = b"Not Found\n" if gateway else b"404 page not found\n"
        self._answer(404, body, "text/plain; charset=utf-8")

    def _error(self, error: Aborted) -> None:
        body = _error_body(error)
        self._answer(HTTP_STATUS.get(error.code, 500), body, "application/json")

    def _path(self) -> str:
        return self.path.split("?", 1)[0]

    # -- methods ----------------------------------------------------------------------------

    def do_GET(self) -> None:
        path = self._path()
        gateway = self.gateway
        if path == "/version":
            self._answer(200, gateway.version_body(), "application/json")
        elif path == "/health":
            self._answer(200, b'{"health":"true"}', "text/plain; charset=utf-8")
        elif path == "/metrics":
            self._answer(200, gateway.metrics_body(), "text/plain; version=0.0.4; charset=utf-8")
        else:
            self._other(path)

    def do_POST(self) -> None:
        path = self._path()
        route = self.gateway.routes.get(path)
        if route is None:
            if path in ("/version", "/health", "/metrics"):
                self._method_not_allowed()
            else:
                self._not_found(path)
            return
        context = CallContext(self._metadata(), self.common_name)
        if not self.gateway.begin(context):
            self._error(Aborted(14, "etcdserver: server stopped"))
            self.close_connection = True
            return
        try:
            if route.kind == "unary":
                self._unary(route, context)
            else:
                self._stream(route, context)
        finally:
            self.gateway.finish(context)

    def do_OPTIONS(self) -> None:
        self._answer(200, b"", "text/plain; charset=utf-8")

    def do_PUT(self) -> None:
        self._other(self._path())

    def do_DELETE(self) -> None:
        self._other(self._path())

    def do_PATCH(self) -> None:
        self._other(self._path())

    def _other(self, path: str) -> None:
        if path in self.gateway.routes:
            self._method_not_allowed()
        else:
            self._not_found(path)

    def _method_not_allowed(self) -> None:
        # the body is left unread
        self.close_connection = (
            "Content-Length" in self.headers or "Transfer-Encoding" in self.headers
        )
        self._answer(405, b"Method Not Allowed\n", "text/plain; charset=utf-8")

    def _metadata(self) -> tuple[tuple[str, str], ...]:
        token = self.headers.get("Authorization")
        return (("authorization", token),) if token else ()

    # -- unary ------------------------------------------------------------------------------

    def _read_all(self, body: _Body) -> bytes:
        limit = self.gateway.body_limit
        if body.declared is not None and body.declared > limit:
            raise Aborted(
                8, f"etcdlite: request body larger than max ({body.declared} vs. {limit})"
            )
        parts: list[bytes] = []
        size = 0
        while data := body.read_some(limit - size):
            parts.append(data)
            size += len(data)
        return b"".join(parts)

    def _check_size(self, request: Message) -> None:
        size, limit = request.ByteSize(), self.gateway.receive_limit
        if size > limit:
            raise Aborted(8, f"grpc: received message larger than max ({size} vs. {limit})")

    def _unary(self, route: Route, context: CallContext) -> None:
        body = _Body(self)
        try:
            try:
                data = self._read_all(body)
            except OSError:
                self.close_connection = True
                return
            if not body.complete and not data.strip():  # the connection ended first
                raise Aborted(3, "unexpected EOF")  # Go's reader's error (not the empty request)
            try:
                request = _decode_one(route.request, data)
            except _json.ParseFailure as exc:
                raise Aborted(3, str(exc)) from None
            self._check_size(request)
            if route.blocking:
                self.gateway.watch_hangup(self.connection, context)
            response = _call(route.call, request, context)
        except Aborted as exc:
            if not body.complete:
                self.close_connection = True
            self._error(exc)
            return
        self._answer(200, _json.dumps(response).encode(), "application/json", grpc=True)

    # -- streams ----------------------------------------------------------------------------

    def _stream(self, route: Route, context: CallContext) -> None:
        self.close_connection = True  # as etcd's gateway: a stream ends its connection
        assert route.call is not None
        body = _Body(self)
        reader = _Requests(self, body, route.request, context, first_only=route.kind == "server")
        if route.kind == "server":
            messages = reader.messages()
            request = next(messages, None)
            messages.close()  # reads what is left of the body, then watches for a hang-up
            failure = reader.refused or reader.error
            if failure is not None:
                self._error(failure)
                return
            if not context.is_active():
                return
            responses = route.call(request or route.request(), context)
        else:
            # As etcd's gateway: the first request is read before the call, and one it cannot
            # decode is answered as a failed unary call.
            messages = reader.messages()
            first = next(messages, None)
            if reader.refused is not None:
                self._error(reader.refused)
                return
            rest = messages if first is None else itertools.chain([first], messages)
            responses = route.call(rest, context)
        self._pump(responses, context, reader)

    def _pump(
        self, responses: Iterator[Message], context: CallContext, reader: _Requests | None
    ) -> None:
        started = False
        error: Aborted | None = None
        try:
            for response in responses:
                line = b'{"result":' + _json.dumps(response).encode() + b"}\n"
                if not started:
                    self._stream_headers(200)
                    started = True
                self._chunk(line)
        except Aborted as exc:
            error = exc
        except OSError:  # the client went away
            context.end()
            return
        except Exception as exc:  # noqa: BLE001 - a servicer's bug: gRPC sends UNKNOWN too
            error = Aborted(2, f"Exception iterating responses: {exc}")
        finally:
            close = getattr(responses, "close", None)
            if close is not None:
                close()
        if error is None and reader is not None:
            error = reader.error
        try:
            if error is not None:
                if not started:
                    self._stream_headers(HTTP_STATUS.get(error.code, 500))
                    started = True
                self._chunk(_stream_error_line(error))
            if not started:
                self._stream_headers(200)
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            context.end()

    def _stream_headers(self, status: int) -> None:
        self.send_response(status)
        for name, value in _CORS:
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Grpc-Metadata-Content-Type", "application/grpc")
        self.send_header("Connection", "close")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))


class _Requests:
    """A streamed request body as the servicer's request iterator.

    The JSON values follow each other (one a line, as clients write them); a value the gateway
    cannot decode, or the body's end, ends the client's side. Once the body has ended, the
    connection is watched for the client hanging up, which ends the call.
    """

    def __init__(
        self,
        handler: _Handler,
        body: _Body,
        cls: type[Message],
        context: CallContext,
        *,
        first_only: bool = False,
    ) -> None:
        self._first_only = first_only
        self._handler = handler
        self._body = body
        self._cls = cls
        self._context = context
        #: What ended the stream from the client's side: a request over the size limit.
        self.error: Aborted | None = None
        #: A request the gateway could not decode, where etcd's refuses the call for it.
        self.refused: Aborted | None = None
        self._sent = 0

    def messages(self) -> Generator[Any, None, None]:
        """The requests, as they arrive."""
        context = self._context
        gateway = self._handler.gateway
        decoder = json.JSONDecoder()
        text = codecs.getincrementaldecoder("utf-8")("replace")
        buffer = ""
        try:
            while context.is_active():
                position = _skip_space(buffer, 0)
                while position < len(buffer):
                    try:
                        obj, end = decoder.raw_decode(buffer, position)
                    except json.JSONDecodeError:
                        break  # incomplete (or bad: then the body's end or the limit stops it)
                    except RecursionError:
                        raise _json.ParseFailure(_TOO_DEEP) from None
                    request = _json.parse(self._cls, obj)
                    self._handler._check_size(request)
                    self._sent += 1
                    yield request
                    position = _skip_space(buffer, end)
                buffer = buffer[position:]
                if len(buffer) > gateway.body_limit:
                    return  # a value this large never becomes a request
                data = self._body.read_some(gateway.body_limit)
                if not data:
                    if buffer.strip():
                        _decode_one(self._cls, buffer.encode())  # raises what is wrong
                    return
                buffer += text.decode(data)
        except _json.ParseFailure as exc:
            self._undecodable(str(exc))
        except Aborted as exc:
            if exc.code == 3:  # bad chunk framing: Go's decoder fails on it as on bad JSON
                self._undecodable(exc.message)
            else:
                self.error = exc
                context.end()
        except (OSError, ValueError):
            context.end()  # the connection broke
        finally:
            if context.is_active():
                gateway.watch_hangup(self._handler.connection, context, self._body)

    def _undecodable(self, message: str) -> None:
        # As etcd's gateway: a request it cannot decode refuses a server stream (code 3) and
        # the first request of a bidirectional one (code 2: its decoder's error is no gRPC
        # status); a later one ends the client's side of a bidirectional stream.
        if self._first_only:
            self.refused = Aborted(3, message)
        elif not self._sent:
            self.refused = Aborted(2, message)


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


#: Go's ``encoding/json`` text for nesting deeper than it decodes.
_TOO_DEEP = "exceeded max depth"


def _decode_one(cls: type[Message], data: bytes) -> Message:
    """The request in a unary body: its first JSON value (an empty body is the empty request);
    :class:`_json.ParseFailure` says why not."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _json.ParseFailure(str(exc)) from None
    position = _skip_space(text, 0)
    if position == len(text):
        return cls()
    try:
        obj, _ = json.JSONDecoder().raw_decode(text, position)
    except json.JSONDecodeError as exc:
        message = exc.msg if exc.pos < len(text) else "unexpected EOF"
        raise _json.ParseFailure(message) from None
    except RecursionError:
        raise _json.ParseFailure(_TOO_DEEP) from None
    return _json.parse(cls, obj)


def _call(call: Callable[[Any, Any], Any], request: Message, context: CallContext) -> Message:
    try:
        response: Message = call(request, context)
    except Aborted:
        raise
    except Exception as exc:  # a servicer's bug: gRPC sends UNKNOWN
        raise Aborted(2, f"Exception calling application: {exc}") from exc
    return response
