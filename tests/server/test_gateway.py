"""The JSON gateway of ``etcdlite.serve`` over raw HTTP/1.1, against etcd 3.4 where comparable.

``test_same_answers_as_etcd`` plays one script of gateway calls (KV with nested txns,
compaction, leases, lock, election, cluster, maintenance, ``/v3beta``, the plain endpoints and
every error class) on a real etcd and on ``etcdlite.serve`` with a ``compat="3.4"`` Store, and
requires the same status and the same JSON after dropping what differs by nature (cluster and
member ids, raft term, remaining TTLs). The streams (watch, keep-alive, observe) are compared
the same way. The other tests cover what is etcdlite's alone: the shared port carrying gRPC
too, several URLs, ``listen_client_http_urls``, connections, and stopping with streams open.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import json
import socket
import threading
from typing import TYPE_CHECKING, Any

import grpc
import pytest
from conformance._etcd import running_etcd
from conformance._gateway import GatewayStream
from conformance.divergences import divergence

import etcdlite
from etcdlite.server._pb import rpc_pb2, rpc_pb2_grpc

_rpc: Any = rpc_pb2_grpc  # the generated module carries no annotations

if TYPE_CHECKING:
    from collections.abc import Iterator

TIMEOUT = 10.0

Json = dict[str, Any]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def request(
    url: str,
    path: str,
    body: object = None,
    *,
    method: str = "POST",
    headers: dict[str, str] | None = None,
) -> tuple[int, str, bytes]:
    """One HTTP request on a fresh connection: status, content type, body."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=TIMEOUT)
    try:
        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
        conn.request(method, path, body=data, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.getheader("Content-Type") or "", resp.read()
    finally:
        conn.close()


_DROP = ("cluster_id", "member_id", "raft_term")


def normalize(obj: Any) -> Any:
    """Drop what differs between two fresh members by nature (ids, term, TTL left)."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if k in _DROP:
                continue
            if k == "TTL" and "grantedTTL" in obj:
                v = "ttl"
            out[k] = normalize(v)
        return out
    if isinstance(obj, list):
        return [normalize(v) for v in obj]
    return obj


def answer(url: str, path: str, body: object = None, **kw: Any) -> tuple[int, Any]:
    """Status and normalized JSON (or text) of one call."""
    status, ctype, data = request(url, path, body, **kw)
    if ctype.startswith("application/json"):
        return status, normalize(json.loads(data))
    return status, data.decode()


@pytest.fixture
def served() -> Iterator[etcdlite.Server]:
    with etcdlite.serve(port=0) as server:
        yield server


def url_of(server: etcdlite.Server) -> str:
    return f"http://{server.address}"


# --------------------------------------------------------------------------- vs etcd 3.4

FOO, BAR = b64(b"foo"), b64(b"bar")

#: (path, body) calls played in order on both servers; a body of bytes is sent as is.
SCRIPT: tuple[tuple[str, object], ...] = (
    ("/v3/kv/put", {"key": FOO, "value": BAR}),
    ("/v3/kv/range", {"key": FOO}),
    ("/v3/kv/range", {"key": b64(b"none")}),
    ("/v3/kv/range", {"key": "Zm9"}),  # bad base64
    ("/v3/kv/range", {"key": "!!!!"}),
    ("/v3/kv/range", {"key": FOO, "revision": "100"}),  # future revision: 400, code 11
    ("/v3/kv/range", {"key": FOO, "sortOrder": 1, "sort_target": "MOD", "keysOnly": True}),
    ("/v3/kv/range", b""),  # an empty body is the empty request: key not provided
    ("/v3/kv/range", {"key": FOO, "unknown_field": 1}),
    ("/v3/kv/put", {"key": FOO, "value": BAR, "ignore_value": True}),
    ("/v3/kv/put", {}),
    (
        "/v3/kv/txn",
        {
            "compare": [{"target": "VERSION", "result": "EQUAL", "version": "0", "key": "YQ=="}],
            "success": [
                {"requestPut": {"key": "YQ==", "value": "MQ=="}},
                {"request_txn": {"success": [{"request_range": {"key": "YQ=="}}]}},
            ],
            "failure": [{"request_delete_range": {"key": "YQ=="}}],
        },
    ),
    (
        "/v3/kv/txn",
        {
            "compare": [{"target": "VALUE", "result": "GREATER", "value": "MA==", "key": "YQ=="}],
            "success": [{"request_delete_range": {"key": "YQ==", "prev_kv": True}}],
        },
    ),
    ("/v3/kv/txn", {"compare": [{"target": "CREATE", "create_revision": "99", "key": FOO}]}),
    ("/v3/kv/deleterange", {"key": b64(b"nothing")}),
    ("/v3/kv/range", {"key": "AA==", "range_end": "AA==", "count_only": True}),
    ("/v3/kv/compaction", {"revision": "2"}),
    ("/v3/kv/compaction", {"revision": "2"}),  # compacted: 400, code 11
    ("/v3/kv/range", {"key": FOO, "revision": "1"}),
    ("/v3/lease/grant", {"TTL": "60", "ID": "7"}),
    ("/v3/lease/grant", {"TTL": 60, "ID": 7}),  # exists: 412
    ("/v3/lease/revoke", {"ID": "99"}),  # not found: 404
    ("/v3/kv/lease/revoke", {"ID": "99"}),
    ("/v3/kv/put", {"key": b64(b"leased"), "value": BAR, "lease": "7"}),
    ("/v3/lease/timetolive", {"ID": "7", "keys": True}),
    ("/v3/kv/lease/timetolive", {"ID": "7"}),
    ("/v3/lease/leases", {}),
    ("/v3/kv/lease/leases", {}),
    ("/v3/lock/unlock", {"key": b64(b"x")}),
    ("/v3/election/proclaim", {}),  # missing leader: 500, code 2
    ("/v3/election/leader", {"name": b64(b"el")}),  # no leader: 500
    ("/v3/election/campaign", {"name": b64(b"el"), "lease": "7", "value": b64(b"v")}),
    ("/v3/election/leader", {"name": b64(b"el")}),
    (
        "/v3/election/proclaim",
        {"leader": {"name": b64(b"el"), "key": b64(b"el/7"), "rev": "7", "lease": "7"}},
    ),
    ("/v3/cluster/member/promote", {"ID": "5"}),  # member not found: 404
    ("/v3beta/kv/range", {"key": FOO}),
    ("/v3alpha/kv/range", {"key": FOO}),  # 3.4 dropped v3alpha: Go's mux 404
    ("/v3/kv/nothing", {}),  # the gateway's 404
    ("/", {}),
    ("/v3/kv/put", {"key": FOO, "value": b64(b"x" * 1_600_000)}),  # too large: 400
    ("/v3/kv/put", {"key": FOO, "value": b64(b"x" * 2_200_000)}),  # over gRPC's limit: 429
    ("/v3/lease/revoke", {"ID": "7"}),
    ("/v3/election/leader", {"name": b64(b"el")}),
)


def _play(url: str) -> list[tuple[int, Any]]:
    out = [answer(url, path, body) for path, body in SCRIPT]
    out.append(answer(url, "/v3/kv/range", method="GET"))
    out.append(answer(url, "/v3/kv/unknown", method="GET"))
    out.append(answer(url, "/version", method="GET"))
    out.append(answer(url, "/health", method="GET"))
    out.append(answer(url, "/health", {}))  # POST on a GET endpoint: 405
    out.append(answer(url, "/v3/kv/range", method="OPTIONS"))
    return out


def _same_parse_errors(ours: list[tuple[int, Any]], etcd: list[tuple[int, Any]]) -> None:
    """JSON syntax messages are Go's on etcd (divergence ``gateway-json-messages``): the
    status and code must agree, the text may not."""
    divergence("gateway-json-messages")
    for i, (a, b) in enumerate(zip(ours, etcd, strict=True)):
        if isinstance(a[1], dict) and a[1].get("code") == 3 and a[1] != b[1]:
            assert a[0] == b[0] == 400, (i, a, b)
            assert b[1]["code"] == 3, (i, a, b)
            assert "Failed to parse" in a[1]["message"] or "json" in b[1]["message"], (i, a, b)
            ours[i] = etcd[i]


@pytest.mark.etcd
def test_same_answers_as_etcd() -> None:
    store = etcdlite.Store(compat="3.4")
    try:
        with etcdlite.serve(store, port=0) as server, running_etcd() as etcd:
            ours = _play(url_of(server))
            theirs = _play(etcd.url)
    finally:
        store.close()
    _same_parse_errors(ours, theirs)
    labels = [p for p, _ in SCRIPT] + ["GET", "GET unknown", "version", "health", "POST", "OPT"]
    for label, a, b in zip(labels, ours, theirs, strict=True):
        assert a == b, label


def test_error_classes(served: etcdlite.Server) -> None:
    url = url_of(served)
    cases = [
        ({"key": "Zm9"}, "/v3/kv/range", 400, 3),
        ({"ID": "5"}, "/v3/lease/revoke", 404, 5),
        ({"ID": "5"}, "/v3/lease/timetolive", 200, None),
        ({"name": b64(b"none")}, "/v3/election/leader", 500, 2),
        ({"key": FOO, "value": b64(b"x" * 2_200_000)}, "/v3/kv/put", 429, 8),
        ({"name": "root", "password": "x"}, "/v3/auth/authenticate", 412, 9),
    ]
    assert answer(url, "/v3/lease/grant", {"ID": "6", "TTL": "5"})[0] == 200
    cases.append(({"ID": "6", "TTL": "5"}, "/v3/lease/grant", 412, 9))
    for body, path, status, code in cases:
        got_status, got = answer(url, path, body)
        assert got_status == status, (path, got)
        if code is not None:
            assert got["code"] == code
            assert got["error"] == got["message"]
    assert answer(url, "/v3/kv/put", b'{"key":')[0] == 400
    go_message = "json: cannot unmarshal list into Go value of type map[string]json.RawMessage"
    assert answer(url, "/v3/kv/put", b"[1]") == (
        400,
        {"error": go_message, "message": go_message, "code": 3},
    )


# --------------------------------------------------------------------------- streams


def _stream_script(url: str) -> list[Any]:
    out: list[Any] = []
    request(url, "/v3/kv/put", {"key": FOO, "value": b64(b"0")})
    with GatewayStream(url, "/v3/watch") as watch:
        watch.send({"create_request": {"key": FOO, "prev_kv": True}})
        out.append(watch.receive())
        request(url, "/v3/kv/put", {"key": FOO, "value": b64(b"1")})
        out.append(watch.receive())
        watch.send({"progress_request": {}})
        out.append(watch.receive())
        watch.send({"cancel_request": {"watch_id": "0"}})
        out.append(watch.receive())
        watch.send({"create_request": {"key": FOO, "start_revision": "1"}})
        out.append(watch.receive())
        out.append(watch.receive())
    request(url, "/v3/lease/grant", {"TTL": "60", "ID": "9"})
    with GatewayStream(url, "/v3/lease/keepalive") as keepalive:
        keepalive.send({"ID": "9"})
        out.append(keepalive.receive())
        keepalive.send({"ID": "12345"})  # unknown: TTL 0, omitted
        out.append(keepalive.receive())
    request(url, "/v3/election/campaign", {"name": b64(b"e"), "lease": "9", "value": BAR})
    with GatewayStream(url, "/v3/election/observe") as observe:
        observe.send({"name": b64(b"e")})
        out.append(observe.receive())
        request(
            url,
            "/v3/election/proclaim",
            {
                "leader": {"name": b64(b"e"), "key": b64(b"e/9"), "rev": "4", "lease": "9"},
                "value": FOO,
            },
        )
        out.append(observe.receive())
    normalized: list[Any] = normalize(out)
    return normalized


@pytest.mark.etcd
def test_streams_same_as_etcd() -> None:
    store = etcdlite.Store(compat="3.4")
    try:
        with etcdlite.serve(store, port=0) as server, running_etcd() as etcd:
            ours = _stream_script(url_of(server))
            theirs = _stream_script(etcd.url)
    finally:
        store.close()
    assert ours == theirs
    assert ours[1]["events"][0]["prev_kv"]["value"] == b64(b"0")
    assert ours[2]["watch_id"] == "-1"


def _raw_stream(url: str, path: str, body: bytes) -> bytes:
    """A stream sent with Content-Length, read until the server closes it."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=TIMEOUT) as sock:
        head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n"
        sock.sendall(head.encode() + body)
        data = b""
        for _ in range(1000):
            chunk = sock.recv(65536)
            if not chunk:
                return data
            data += chunk
    raise AssertionError("the stream did not end")


def test_keepalive_stream_with_content_length_ends_with_the_body(served: etcdlite.Server) -> None:
    divergence("gateway-http-framing")  # every stream closes its connection at its end
    url = url_of(served)
    request(url, "/v3/lease/grant", {"TTL": "60", "ID": "3"})
    data = _raw_stream(url, "/v3/lease/keepalive", b'{"ID":"3"}\n{"ID":3}')
    assert data.startswith(b"HTTP/1.1 200")
    assert b"Transfer-Encoding: chunked" in data
    assert b"Connection: close" in data
    assert data.count(b'{"result":') == 2
    assert data.endswith(b"0\r\n\r\n")


def test_error_inside_a_stream(served: etcdlite.Server) -> None:
    url = url_of(served)
    big = json.dumps({"create_request": {"key": b64(b"k" * 2_200_000)}}).encode()
    data = _raw_stream(url, "/v3/watch", big)
    assert data.startswith(b"HTTP/1.1 429")
    line = data.split(b"\r\n\r\n", 1)[1].split(b"\r\n")[1]
    # etcd 3.4 sends exactly this line (observed with the same request), with no newline
    assert line == (
        b'{"error":{"grpc_code":8,"http_code":429,"message":"grpc: received message larger '
        b'than max (2200010 vs. 2097152)","http_status":"Too Many Requests"}}'
    )
    # A first line the gateway cannot decode is refused as a unary error (500, code 2), as
    # etcd 3.4 refuses the same request; a later one only ends the client's side.
    with GatewayStream(url, "/v3/lease/keepalive") as keepalive:
        keepalive.send({"ID": "not a number"})
        with pytest.raises(RuntimeError, match="500 Internal Server Error"):
            keepalive.receive(timeout=5)


def test_client_disconnecting_mid_stream(served: etcdlite.Server) -> None:
    url = url_of(served)
    for _ in range(3):
        watch = GatewayStream(url, "/v3/watch")
        watch.send({"create_request": {"key": FOO}})
        assert watch.receive()["created"] is True
        watch.close()
    observe = GatewayStream(url, "/v3/election/observe")
    observe.send({"name": b64(b"nobody")})
    observe.close()
    status, got = answer(url, "/v3/kv/put", {"key": FOO, "value": BAR})
    assert status == 200
    assert got["header"]["revision"] == "2"
    # A lock waiting for its turn is withdrawn when its client hangs up.
    assert answer(url, "/v3/lock/lock", {"name": b64(b"l")})[0] == 200
    host, port = served.address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=TIMEOUT) as sock:
        body = json.dumps({"name": b64(b"l")}).encode()
        head = f"POST /v3/lock/lock HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n"
        sock.sendall(head.encode() + body)
    for _ in range(100):  # the waiter's key goes once the server sees the hang-up
        status, got = answer(url, "/v3/kv/range", {"key": b64(b"l/"), "range_end": b64(b"l0")})
        if got.get("count") == "1":
            break
        threading.Event().wait(0.05)
    assert got["count"] == "1"


def test_keep_alive_connection_carries_several_requests(served: etcdlite.Server) -> None:
    host, port = served.address.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=TIMEOUT)
    try:
        socks = []
        for i in range(5):
            conn.request(
                "POST", "/v3/kv/put", body=json.dumps({"key": FOO, "value": b64(b"%d" % i)})
            )
            resp = conn.getresponse()
            assert resp.status == 200
            resp.read()
            socks.append(conn.sock)
        # a chunked body, in pieces that split the JSON anywhere
        text = json.dumps({"key": FOO}).encode()
        pieces = iter([text[:3], text[3:9], text[9:]])
        conn.request("POST", "/v3/kv/range", body=pieces, encode_chunked=True)
        got = json.loads(conn.getresponse().read())
        socks.append(conn.sock)
        assert got["kvs"][0]["value"] == b64(b"4")
        assert got["kvs"][0]["version"] == "5"
        assert len({id(s) for s in socks}) == 1
    finally:
        conn.close()


def test_oversize_body_is_refused_unread(served: etcdlite.Server) -> None:
    divergence("gateway-body-limit")
    host, port = served.address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=TIMEOUT) as sock:
        head = "POST /v3/kv/put HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n{"
        sock.sendall(head.encode())
        data = b""
        for _ in range(100):  # the answer comes without the body, then the connection ends
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    assert data.startswith(b"HTTP/1.1 429 ")
    got = json.loads(data.split(b"\r\n\r\n", 1)[1])
    assert got["code"] == 8
    assert got["message"] == "etcdlite: request body larger than max (5000000 vs. 4194304)"


def test_authorization_header_is_the_token(served: etcdlite.Server) -> None:
    """The ``Authorization`` header is the token, checked on every call: one the store never
    issued is refused even with auth off (code 16, HTTP 401, as etcd 3.4), and the Auth
    paths serve the Auth service."""
    url = url_of(served)
    assert answer(url, "/v3/kv/range", {"key": FOO})[0] == 200
    status, got = answer(url, "/v3/kv/range", {"key": FOO}, headers={"Authorization": "tok"})
    assert (status, got["code"], got["message"]) == (401, 16, "etcdserver: invalid auth token")
    status, got = answer(url, "/v3/auth/user/list", {})
    assert (status, got.get("users")) == (200, None)


def test_metrics(served: etcdlite.Server) -> None:
    url = url_of(served)
    request(url, "/v3/kv/put", {"key": FOO, "value": BAR})
    request(url, "/v3/kv/compaction", {"revision": "2"})
    status, ctype, data = request(url, "/metrics", method="GET")
    assert status == 200
    assert ctype == "text/plain; version=0.0.4; charset=utf-8"
    lines = data.decode().splitlines()
    assert "etcd_debugging_mvcc_current_revision 2" in lines
    assert "etcd_debugging_mvcc_compact_revision 2" in lines
    assert "etcd_debugging_mvcc_keys_total 1" in lines
    assert "etcd_server_has_leader 1" in lines
    assert "# TYPE etcd_server_is_leader gauge" in lines


def test_maintenance_and_cluster_paths(served: etcdlite.Server) -> None:
    url = url_of(served)
    member_id = str(served.store.header.member_id)
    status, got = answer(url, "/v3/maintenance/status", {})
    assert status == 200
    assert (got["version"], got["leader"]) == ("3.5.0", member_id)
    assert answer(url, "/v3/maintenance/alarm", {"action": "GET"})[0] == 200
    assert answer(url, "/v3/maintenance/defragment", {})[0] == 200
    status, got = answer(url, "/v3/cluster/member/list", {})
    assert status == 200
    assert [(m["ID"], m["name"]) for m in got["members"]] == [(member_id, "default")]
    status, got = answer(url, "/v3/cluster/member/add", {"peerURLs": ["http://127.0.0.1:1"]})
    assert (status, got["code"]) == (500, 2)
    assert got["message"].endswith("re-configuration failed due to not enough started members")
    status, got = answer(url, "/v3/cluster/member/remove", {"ID": "5"})
    assert (status, got["message"]) == (404, "etcdserver: member not found")
    # The snapshot stream: result lines of base64 chunks, then the SHA-256 of the whole.
    data = _raw_stream(url, "/v3/maintenance/snapshot", b"{}")
    assert data.startswith(b"HTTP/1.1 200 ")
    body, rest = b"", data.split(b"\r\n\r\n", 1)[1]
    while True:
        size, rest = rest.split(b"\r\n", 1)
        if int(size, 16) == 0:
            break
        body, rest = body + rest[: int(size, 16)], rest[int(size, 16) + 2 :]
    results = [json.loads(line)["result"] for line in body.splitlines()]
    blobs = [base64.b64decode(r["blob"]) for r in results]
    assert "remaining_bytes" not in results[-1]  # 0: omitted
    assert blobs[-1] == hashlib.sha256(b"".join(blobs[:-1])).digest()
    assert b"".join(blobs[:-1]) == b"".join(served.store.snapshot())


def test_hashkv_path_serves_hashkv(served: etcdlite.Server) -> None:
    divergence("gateway-hashkv-path")
    url = url_of(served)
    request(url, "/v3/kv/put", {"key": FOO, "value": BAR})
    status, got = answer(url, "/v3/maintenance/hashkv", {})
    assert status == 200
    assert int(got["hash"]) == served.store.hash_kv().hash
    assert answer(url, "/v3/maintenance/hash", {})[0] == 501


# --------------------------------------------------------------------------- the port


def _grpc_put(address: str, key: bytes) -> int:
    with grpc.insecure_channel(address) as channel:
        kv: Any = _rpc.KVStub(channel)
        return int(kv.Put(rpc_pb2.PutRequest(key=key, value=b"v"), timeout=TIMEOUT).header.revision)


def test_grpc_and_gateway_share_every_client_url() -> None:
    urls = ["http://127.0.0.1:0", "http://127.0.0.1:0"]
    with etcdlite.serve(listen_client_urls=urls) as server:
        assert len(server.client_urls) == 2
        assert server.http_urls == ()
        assert server.address == server.client_urls[0].removeprefix("http://")
        revisions = []
        for url in server.client_urls:
            revisions.append(_grpc_put(url.removeprefix("http://"), b"k"))
            status, got = answer(url, "/v3/kv/range", {"key": b64(b"k")})
            assert status == 200
            revisions.append(int(got["header"]["revision"]))
        assert revisions == [2, 2, 3, 3]
        status, got = answer(server.client_urls[0], "/v3/cluster/member/list", {})
        assert got["members"][0]["clientURLs"] == list(server.client_urls)


def test_listen_client_http_urls_serve_the_gateway_alone() -> None:
    with etcdlite.serve(
        listen_client_urls=["http://127.0.0.1:0"],
        listen_client_http_urls=["http://127.0.0.1:0"],
    ) as server:
        (http_url,) = server.http_urls
        assert server.client_urls[0] != http_url
        assert _grpc_put(server.address, b"k") == 2
        assert answer(http_url, "/v3/kv/range", {"key": b64(b"k")})[1]["count"] == "1"


def _our_threads() -> set[threading.Thread]:
    return {
        t
        for t in threading.enumerate()
        if t.name.startswith(
            (
                "etcdlite-accept",
                "etcdlite-conn",
                "etcdlite-relay",
                "etcdlite-gateway",
                "etcdlite-watch",
            )
        )
    }


def test_stop_ends_open_streams_and_threads() -> None:
    before = _our_threads()
    server = etcdlite.serve(port=0)
    url = url_of(server)
    streams = []
    try:
        for path, first in (
            ("/v3/watch", {"create_request": {"key": FOO}}),
            ("/v3/election/observe", {"name": b64(b"nobody")}),
        ):
            stream = GatewayStream(url, path)
            stream.send(first)
            streams.append(stream)
        assert streams[0].receive()["created"] is True
        with contextlib.closing(grpc.insecure_channel(server.address)) as channel:
            watch: Any = _rpc.WatchStub(channel).Watch(
                iter([rpc_pb2.WatchRequest(create_request=rpc_pb2.WatchCreateRequest(key=b"k"))]),
                timeout=TIMEOUT,
            )
            assert next(watch).created
            server.stop()
            with pytest.raises(grpc.RpcError):
                next(watch)
        for stream in streams:
            with pytest.raises((EOFError, ConnectionError)):
                _drain(stream)
    finally:
        server.stop()
        for stream in streams:
            stream.close()
    assert _our_threads() <= before
    host, port = server.address.rsplit(":", 1)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((host, int(port)), timeout=1).close()


def _drain(stream: GatewayStream) -> None:
    for _ in range(10):  # a stream that the server ended has nothing left but its end
        stream.receive(timeout=TIMEOUT)
