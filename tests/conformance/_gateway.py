"""A real etcd (or ``etcdlite serve``) behind the :class:`etcdlite.Store` API, through etcd's
JSON gateway.

The same client drives both: the conformance suite's ``etcd`` backend points it at a real
etcd 3.4, its ``serve`` backend at an in-process ``etcdlite.serve(port=0)``, so the suite also
runs over etcdlite's own wire (gateway, servicers and, for ``hash_kv``, gRPC on the shared port).

:class:`EtcdKV` has the methods and signatures of ``Store`` (``put``, ``get``, ``delete``,
``txn``, ``do``, ``compact`` and ``revision``), takes the same ``Op``/``Compare`` objects and
returns the same etcdlite response types, so one test body runs against either. It only
translates, with the standard library: requests become proto3 JSON (bytes as base64, int64 as
strings, enums by name) POSTed to ``/v3/kv/*``; responses are read back with proto3's defaults
for the omitted fields; an error body ``{"error", "message", "code"}`` becomes the etcdlite
exception for that message (:func:`etcdlite.errors.error_for_message`), or
:class:`GatewayError` for a message etcdlite has no class for (gRPC transport errors).

``hash_kv`` goes through ``etcdctl endpoint hashkv`` instead: etcd 3.4's gateway maps HashKV to
``/v3/maintenance/hash``, where Hash answers (SEMANTICS section 2.10).

It also has the lease calls (``grant``, ``revoke``, ``time_to_live``, ``leases``,
``keep_alive_once``, on ``/v3/lease/*``) and ``history`` (a ``/v3/watch`` stream read up to a
revision), for the lease tests. The two streamed calls go through :class:`GatewayStream`: one
HTTP/1.1 POST whose chunked body carries one request per line while chunked ``{"result": ...}``
lines come back (SEMANTICS section 3).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from etcdlite import (
    CompactionResponse,
    Compare,
    CompareTarget,
    DeleteRangeRequest,
    DeleteRangeResponse,
    Event,
    EventType,
    KeyValue,
    LeaseGrantResponse,
    LeaseKeepAliveResponse,
    LeaseLeasesResponse,
    LeaseRevokeResponse,
    LeaseStatus,
    LeaseTimeToLiveResponse,
    Op,
    PutRequest,
    PutResponse,
    RangeRequest,
    RangeResponse,
    ResponseHeader,
    SortOrder,
    SortTarget,
    TxnRequest,
    TxnResponse,
)
from etcdlite._model_maintenance import HashKVResponse
from etcdlite.errors import EtcdError, LeaseNotFoundError, StatusCode, error_for_message

if TYPE_CHECKING:
    from collections.abc import Iterable

    from etcdlite import RequestOp, ResponseOp

__all__ = (
    "ErrorAnswer",
    "EtcdKV",
    "GatewayError",
    "GatewayStream",
    "decode_response",
    "encode_request",
    "error_from_answer",
    "parse_error",
)

#: Bound on one HTTP round trip to the local etcd.
REQUEST_TIMEOUT = 10.0

Json = dict[str, Any]


class GatewayError(EtcdError):
    """An etcd error whose message has no etcdlite class (for example gRPC's size limit)."""

    def __init__(self, message: str, code: int, http_status: int) -> None:
        super().__init__(message)
        try:
            self.grpc_code: StatusCode | int = StatusCode(code)
        except ValueError:
            self.grpc_code = code
        self.http_status = http_status


# --------------------------------------------------------------------------- encoding


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _enum(value: int, cls: type[SortOrder | SortTarget]) -> str | int:
    # etcd's gateway takes enums by name; a number it does not know is sent as a number.
    try:
        return cls(value).name
    except ValueError:
        return int(value)


def _encode_range(r: RangeRequest) -> Json:
    out: Json = {"key": _b64(r.key)}
    if r.range_end:
        out["range_end"] = _b64(r.range_end)
    for name in (
        "limit",
        "revision",
        "min_mod_revision",
        "max_mod_revision",
        "min_create_revision",
        "max_create_revision",
    ):
        value = getattr(r, name)
        if value:
            out[name] = str(value)
    if r.sort_order:
        out["sort_order"] = _enum(r.sort_order, SortOrder)
    if r.sort_target:
        out["sort_target"] = _enum(r.sort_target, SortTarget)
    for flag in ("serializable", "keys_only", "count_only"):
        if getattr(r, flag):
            out[flag] = True
    return out


def _encode_put(r: PutRequest) -> Json:
    out: Json = {"key": _b64(r.key)}
    if r.value:
        out["value"] = _b64(r.value)
    if r.lease:
        out["lease"] = str(r.lease)
    for flag in ("prev_kv", "ignore_value", "ignore_lease"):
        if getattr(r, flag):
            out[flag] = True
    return out


def _encode_delete(r: DeleteRangeRequest) -> Json:
    out: Json = {"key": _b64(r.key)}
    if r.range_end:
        out["range_end"] = _b64(r.range_end)
    if r.prev_kv:
        out["prev_kv"] = True
    return out


_OPERAND_FIELD = {
    CompareTarget.VERSION: "version",
    CompareTarget.CREATE: "create_revision",
    CompareTarget.MOD: "mod_revision",
    CompareTarget.VALUE: "value",
    CompareTarget.LEASE: "lease",
}


def _encode_compare(c: Compare) -> Json:
    out: Json = {"key": _b64(c.key), "target": c.target.name, "result": c.result.name}
    if c.range_end:
        out["range_end"] = _b64(c.range_end)
    # The operand always travels (also when zero), so the oneof ``target_union`` is set.
    operand = c.operand
    field = _OPERAND_FIELD[c.target]
    out[field] = _b64(operand) if isinstance(operand, bytes) else str(operand)
    return out


def _encode_txn(r: TxnRequest) -> Json:
    out: Json = {}
    if r.compare:
        out["compare"] = [_encode_compare(c) for c in r.compare]
    if r.success:
        out["success"] = [_encode_op(op) for op in r.success]
    if r.failure:
        out["failure"] = [_encode_op(op) for op in r.failure]
    return out


def _encode_op(op: RequestOp) -> Json:
    if type(op) is RangeRequest:
        return {"request_range": _encode_range(op)}
    if type(op) is PutRequest:
        return {"request_put": _encode_put(op)}
    if type(op) is DeleteRangeRequest:
        return {"request_delete_range": _encode_delete(op)}
    if type(op) is TxnRequest:
        return {"request_txn": _encode_txn(op)}
    raise TypeError(f"not an Op: {op!r}")


_PATHS: dict[type, str] = {
    RangeRequest: "/v3/kv/range",
    PutRequest: "/v3/kv/put",
    DeleteRangeRequest: "/v3/kv/deleterange",
    TxnRequest: "/v3/kv/txn",
}


def encode_request(op: RequestOp) -> tuple[str, Json]:
    """The gateway path and JSON body of a request.

    >>> encode_request(Op.get("a", prefix=True, limit=2, sort_target="mod"))
    ('/v3/kv/range', {'key': 'YQ==', 'range_end': 'Yg==', 'limit': '2', 'sort_target': 'MOD'})
    """
    path = _PATHS.get(type(op))
    if path is None:
        raise TypeError(f"op must be an Op.get/put/delete/txn request, not {type(op).__name__}")
    ((_, body),) = _encode_op(op).items()
    return path, body


# --------------------------------------------------------------------------- decoding


def _int(obj: Json, name: str) -> int:
    return int(obj.get(name, 0))


def _bytes(obj: Json, name: str) -> bytes:
    return base64.b64decode(obj.get(name, ""), validate=True)


def _header(obj: Json) -> ResponseHeader:
    h: Json = obj.get("header") or {}
    return ResponseHeader(
        _int(h, "cluster_id"), _int(h, "member_id"), _int(h, "revision"), _int(h, "raft_term")
    )


def _kv(obj: Json) -> KeyValue:
    return KeyValue(
        _bytes(obj, "key"),
        _int(obj, "create_revision"),
        _int(obj, "mod_revision"),
        _int(obj, "version"),
        _bytes(obj, "value"),
        _int(obj, "lease"),
    )


def _range_response(obj: Json) -> RangeResponse:
    return RangeResponse(
        _header(obj),
        tuple(_kv(x) for x in obj.get("kvs", ())),
        bool(obj.get("more", False)),
        _int(obj, "count"),
    )


def _put_response(obj: Json) -> PutResponse:
    prev = obj.get("prev_kv")
    return PutResponse(_header(obj), None if prev is None else _kv(prev))


def _delete_response(obj: Json) -> DeleteRangeResponse:
    return DeleteRangeResponse(
        _header(obj), _int(obj, "deleted"), tuple(_kv(x) for x in obj.get("prev_kvs", ()))
    )


def _response_op(obj: Json) -> ResponseOp:
    (kind, body), *rest = obj.items()
    if rest:
        raise ValueError(f"a ResponseOp with several responses: {obj!r}")
    if kind == "response_range":
        return _range_response(body)
    if kind == "response_put":
        return _put_response(body)
    if kind == "response_delete_range":
        return _delete_response(body)
    if kind == "response_txn":
        return _txn_response(body)
    raise ValueError(f"unknown ResponseOp {kind!r}")


def _txn_response(obj: Json) -> TxnResponse:
    return TxnResponse(
        _header(obj),
        bool(obj.get("succeeded", False)),
        tuple(_response_op(x) for x in obj.get("responses", ())),
    )


_DECODERS: dict[type, Any] = {
    RangeRequest: _range_response,
    PutRequest: _put_response,
    DeleteRangeRequest: _delete_response,
    TxnRequest: _txn_response,
}


def decode_response(
    op: RequestOp, body: Json
) -> PutResponse | RangeResponse | DeleteRangeResponse | TxnResponse:
    """The etcdlite response for the gateway's JSON answer to ``op``.

    >>> decode_response(Op.get("a"), {"header": {"revision": "3"}, "kvs": [
    ...     {"key": "YQ==", "create_revision": "2", "mod_revision": "3", "version": "2"}
    ... ], "count": "1"})  # doctest: +NORMALIZE_WHITESPACE
    RangeResponse(revision=3,
        kvs=(KeyValue(key='a', value='', create_revision=2, mod_revision=3, version=2),), count=1)
    """
    result: PutResponse | RangeResponse | DeleteRangeResponse | TxnResponse = _DECODERS[type(op)](
        body
    )
    return result


@dataclass(frozen=True)
class ErrorAnswer:
    """An error answer of the gateway as it came: HTTP status, gRPC code and message."""

    http_status: int
    code: int
    message: str


def parse_error(status: int, text: str) -> ErrorAnswer:
    """Read the gateway's error body ``{"error": .., "message": .., "code": ..}``."""
    try:
        body = json.loads(text)
        message = str(body.get("message") or body["error"])
        code = int(body.get("code", StatusCode.UNKNOWN))
    except (ValueError, KeyError, TypeError, AttributeError):
        return ErrorAnswer(status, StatusCode.UNKNOWN, f"HTTP {status}: {text.strip()}")
    return ErrorAnswer(status, code, message)


def error_from_answer(answer: ErrorAnswer) -> EtcdError:
    """The etcdlite exception for an error answer of the gateway.

    >>> error_from_answer(parse_error(400, '{"error": "etcdserver: key is not provided", '
    ...     '"message": "etcdserver: key is not provided", "code": 3}'))
    EmptyKeyError('etcdserver: key is not provided')
    """
    err = error_for_message(answer.message)
    if err is None:
        return GatewayError(answer.message, answer.code, answer.http_status)
    return err


# --------------------------------------------------------------------------- lease and watch


def _lease_keep_alive(obj: Json) -> LeaseKeepAliveResponse:
    return LeaseKeepAliveResponse(_header(obj), _int(obj, "ID"), _int(obj, "TTL"))


def _lease_time_to_live(obj: Json) -> LeaseTimeToLiveResponse:
    return LeaseTimeToLiveResponse(
        _header(obj),
        _int(obj, "ID"),
        _int(obj, "TTL"),
        _int(obj, "grantedTTL"),
        tuple(base64.b64decode(k, validate=True) for k in obj.get("keys", ())),
    )


def _event(obj: Json) -> Event:
    prev = obj.get("prev_kv")
    # The PUT type is the enum's zero value, so the gateway omits it.
    return Event(
        EventType[obj.get("type", "PUT")], _kv(obj["kv"]), None if prev is None else _kv(prev)
    )


class GatewayStream:
    """One streamed gateway call (``/v3/watch``, ``/v3/lease/keepalive``), every wait bounded.

    ``http.client`` cannot send a request body while reading the response, so this speaks
    HTTP/1.1 over a plain socket: a chunked request body of one JSON request per line, and a
    chunked response of one ``{"result": ...}`` (or ``{"error": ...}``) per line.

    >>> GatewayStream.chunk({"ID": "7"})
    b'c\\r\\n{"ID": "7"}\\n\\r\\n'
    """

    def __init__(self, url: str, path: str, *, timeout: float = REQUEST_TIMEOUT) -> None:
        parts = urlsplit(url)
        assert parts.hostname is not None
        assert parts.port is not None
        self._timeout = timeout
        self._sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
        head = (
            f"POST {path} HTTP/1.1\r\n"
            f"Host: {parts.hostname}:{parts.port}\r\n"
            "Content-Type: application/json\r\n"
            # Without it Go's server never hands the first chunk to the gateway [O].
            "Expect: 100-continue\r\n"
            "Transfer-Encoding: chunked\r\n\r\n"
        )
        self._sock.sendall(head.encode())
        self._raw = b""  # read from the socket, not yet de-chunked
        self._body = b""  # de-chunked, not yet split into lines
        self._headers_done = False

    @staticmethod
    def chunk(request: Json) -> bytes:
        """One request as a chunk of the request body (a line of JSON)."""
        line = json.dumps(request).encode() + b"\n"
        return b"%x\r\n%s\r\n" % (len(line), line)

    def send(self, request: Json) -> None:
        """Send one request (a line of the chunked request body)."""
        self._sock.sendall(self.chunk(request))

    def close(self) -> None:
        """Close the connection (which ends the stream on etcd's side)."""
        self._sock.close()

    def __enter__(self) -> GatewayStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _fill(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no stream response in time")
        self._sock.settimeout(remaining)
        try:
            data = self._sock.recv(65536)
        except TimeoutError:
            raise TimeoutError("no stream response in time") from None
        if not data:
            raise EOFError("the gateway closed the stream")
        self._raw += data

    def _dechunk(self) -> None:
        while not self._headers_done:
            end = self._raw.find(b"\r\n\r\n")
            if end < 0:
                return
            status = self._raw.split(b"\r\n", 1)[0]
            if b" 100 " in status:  # the answer to Expect: 100-continue
                self._raw = self._raw[end + 4 :]
                continue
            if b" 200 " not in status:
                raise RuntimeError(f"stream refused: {self._raw!r}")
            self._raw = self._raw[end + 4 :]
            self._headers_done = True
        while True:
            eol = self._raw.find(b"\r\n")
            if eol < 0:
                return
            size = int(self._raw[:eol].split(b";")[0], 16)
            if len(self._raw) < eol + 2 + size + 2:
                return
            self._body += self._raw[eol + 2 : eol + 2 + size]
            self._raw = self._raw[eol + 2 + size + 2 :]

    def receive(self, timeout: float | None = None) -> Json:
        """The next response's ``result``; an ``error`` line raises its etcdlite exception."""
        deadline = time.monotonic() + (self._timeout if timeout is None else timeout)
        while True:
            self._dechunk()
            nl = self._body.find(b"\n")
            if nl >= 0:
                line, self._body = self._body[:nl], self._body[nl + 1 :]
                if not line.strip():
                    continue
                msg: Json = json.loads(line)
                if "result" in msg:
                    result: Json = msg["result"]
                    return result
                err: Json = msg.get("error") or {}
                raise error_from_answer(
                    ErrorAnswer(
                        int(err.get("http_code", 500)),
                        int(err.get("grpc_code", StatusCode.UNKNOWN)),
                        str(err.get("message", line.decode("utf-8", "replace"))),
                    )
                )
            self._fill(deadline)


# --------------------------------------------------------------------------- the backend


class EtcdKV:
    """The KV part of the ``Store`` API, served by a real etcd at ``url`` (its JSON gateway)."""

    name: ClassVar[str] = "etcd"

    def __init__(self, url: str, *, version: tuple[int, int, int] = (3, 4, 0)) -> None:
        self.url = url.rstrip("/")
        #: The etcd version behind the gateway, for the divergence registry.
        self.version = version
        #: The error answer of the last request, as etcd sent it (None if it succeeded).
        self.last_error: ErrorAnswer | None = None

    def __repr__(self) -> str:
        return f"<EtcdKV {self.url} etcd {'.'.join(map(str, self.version))}>"

    def _post(self, path: str, body: Json) -> Json:
        data = json.dumps(body).encode()
        req = urllib.request.Request(
            self.url + path, data=data, method="POST", headers={"Content-Type": "application/json"}
        )
        self.last_error = None
        try:
            with urllib.request.urlopen(req, timeout=REQUEST_TIMEOUT) as resp:
                answer: Json = json.loads(resp.read())
                return answer
        except urllib.error.HTTPError as e:
            with e:
                text = e.read().decode("utf-8", "replace")
            self.last_error = parse_error(e.code, text)
            raise error_from_answer(self.last_error) from None

    # -- the Store API ----------------------------------------------------------------------

    @property
    def revision(self) -> int:
        """etcd's current revision (the header of a one-key read)."""
        return _header(self._post("/v3/kv/range", {"key": _b64(b"\0")})).revision

    def put(
        self,
        key: str | bytes,
        value: str | bytes = b"",
        *,
        lease: int = 0,
        prev_kv: bool = False,
        ignore_value: bool = False,
        ignore_lease: bool = False,
    ) -> PutResponse:
        """etcd ``Put``; see :meth:`etcdlite.Store.put`."""
        op = Op.put(
            key,
            value,
            lease=lease,
            prev_kv=prev_kv,
            ignore_value=ignore_value,
            ignore_lease=ignore_lease,
        )
        return _put_response(self._post("/v3/kv/put", _encode_put(op)))

    def get(
        self,
        key: str | bytes,
        *,
        range_end: str | bytes | None = None,
        prefix: bool = False,
        from_key: bool = False,
        revision: int = 0,
        limit: int = 0,
        sort_target: str | SortTarget = "key",
        sort_order: str | SortOrder = "none",
        serializable: bool = False,
        keys_only: bool = False,
        count_only: bool = False,
        min_mod_revision: int = 0,
        max_mod_revision: int = 0,
        min_create_revision: int = 0,
        max_create_revision: int = 0,
    ) -> RangeResponse:
        """etcd ``Range``; see :meth:`etcdlite.Store.get`."""
        op = Op.get(
            key,
            range_end=range_end,
            prefix=prefix,
            from_key=from_key,
            revision=revision,
            limit=limit,
            sort_target=sort_target,
            sort_order=sort_order,
            serializable=serializable,
            keys_only=keys_only,
            count_only=count_only,
            min_mod_revision=min_mod_revision,
            max_mod_revision=max_mod_revision,
            min_create_revision=min_create_revision,
            max_create_revision=max_create_revision,
        )
        return _range_response(self._post("/v3/kv/range", _encode_range(op)))

    def delete(
        self,
        key: str | bytes,
        *,
        range_end: str | bytes | None = None,
        prefix: bool = False,
        from_key: bool = False,
        prev_kv: bool = False,
    ) -> DeleteRangeResponse:
        """etcd ``DeleteRange``; see :meth:`etcdlite.Store.delete`."""
        op = Op.delete(key, range_end=range_end, prefix=prefix, from_key=from_key, prev_kv=prev_kv)
        return _delete_response(self._post("/v3/kv/deleterange", _encode_delete(op)))

    def txn(
        self,
        compare: Iterable[Compare] = (),
        success: Iterable[RequestOp] = (),
        failure: Iterable[RequestOp] = (),
    ) -> TxnResponse:
        """etcd ``Txn``; see :meth:`etcdlite.Store.txn`."""
        op = Op.txn(compare, success, failure)
        return _txn_response(self._post("/v3/kv/txn", _encode_txn(op)))

    def do(self, op: RequestOp) -> PutResponse | RangeResponse | DeleteRangeResponse | TxnResponse:
        """Run one ``Op`` (clientv3 ``KV.Do``); see :meth:`etcdlite.Store.do`."""
        path, body = encode_request(op)
        return decode_response(op, self._post(path, body))

    def compact(self, revision: int, *, physical: bool = False) -> CompactionResponse:
        """etcd ``Compact``; see :meth:`etcdlite.Store.compact`."""
        body: Json = {"revision": str(revision)}
        if physical:
            body["physical"] = True
        return CompactionResponse(_header(self._post("/v3/kv/compaction", body)))

    def hash_kv(self, revision: int = 0) -> HashKVResponse:
        """etcd ``HashKV``; see :meth:`etcdlite.Store.hash_kv` (through etcdctl, not the gateway)."""
        return _etcd_hash_kv(self, revision)

    # -- leases -----------------------------------------------------------------------------

    def grant(self, ttl: int, *, id: int = 0) -> LeaseGrantResponse:
        """etcd ``LeaseGrant``; see :meth:`etcdlite.Store.grant`."""
        answer = self._post("/v3/lease/grant", {"TTL": str(ttl), "ID": str(id)})
        return LeaseGrantResponse(_header(answer), _int(answer, "ID"), _int(answer, "TTL"))

    def revoke(self, id: int) -> LeaseRevokeResponse:
        """etcd ``LeaseRevoke``; see :meth:`etcdlite.Store.revoke`."""
        return LeaseRevokeResponse(_header(self._post("/v3/lease/revoke", {"ID": str(id)})))

    def time_to_live(self, id: int, *, keys: bool = False) -> LeaseTimeToLiveResponse:
        """etcd ``LeaseTimeToLive``; see :meth:`etcdlite.Store.time_to_live`."""
        body: Json = {"ID": str(id)}
        if keys:
            body["keys"] = True
        return _lease_time_to_live(self._post("/v3/lease/timetolive", body))

    def leases(self) -> LeaseLeasesResponse:
        """etcd ``LeaseLeases``; see :meth:`etcdlite.Store.leases`."""
        answer = self._post("/v3/lease/leases", {})
        return LeaseLeasesResponse(
            _header(answer), tuple(LeaseStatus(_int(x, "ID")) for x in answer.get("leases", ()))
        )

    def keep_alive_wire(self, id: int) -> LeaseKeepAliveResponse:
        """One request on a fresh ``/v3/lease/keepalive`` stream: etcd's answer as it comes
        (TTL 0 for a lease that does not exist)."""
        self.last_error = None
        with GatewayStream(self.url, "/v3/lease/keepalive") as stream:
            stream.send({"ID": str(id)})
            return _lease_keep_alive(stream.receive())

    def keep_alive_once(self, id: int) -> LeaseKeepAliveResponse:
        """clientv3 ``KeepAliveOnce``; see :meth:`etcdlite.Store.keep_alive_once`.

        etcd's stream answers TTL 0 for an unknown lease; like clientv3, this raises
        ``LeaseNotFoundError`` then (divergence ``keepalive-unknown-lease``).
        """
        resp = self.keep_alive_wire(id)
        if resp.ttl <= 0:
            raise LeaseNotFoundError()
        return resp

    # -- watch history ----------------------------------------------------------------------

    def history(
        self,
        key: str | bytes,
        *,
        range_end: str | bytes | None = None,
        prefix: bool = False,
        from_key: bool = False,
        start_revision: int = 0,
        end_revision: int = 0,
        prev_kv: bool = False,
    ) -> tuple[Event, ...]:
        """What a watch from ``start_revision`` delivers up to ``end_revision`` (0: current);
        see :meth:`etcdlite.Store.history`.

        Watches every key (each revision after 1 changes some key, so the event at
        ``end_revision`` tells that all before it came), then keeps the events in the range.
        """
        rng = Op.get(key or b"\0", range_end=range_end, prefix=prefix, from_key=from_key)
        lo, hi = rng.key, rng.range_end
        stop = end_revision or self.revision
        start = start_revision or 1
        events: list[Event] = []
        if start > stop or stop < 2:
            return ()
        request: Json = {"key": _b64(b"\0"), "range_end": _b64(b"\0")}
        request["start_revision"] = str(start)
        if prev_kv:
            request["prev_kv"] = True
        with GatewayStream(self.url, "/v3/watch") as stream:
            stream.send({"create_request": request})
            last = 0
            while last < stop:
                resp = stream.receive()
                if resp.get("canceled"):
                    raise RuntimeError(f"history watch canceled: {resp!r}")
                for e in resp.get("events", ()):
                    event = _event(e)
                    last = event.kv.mod_revision
                    if last > stop:
                        break
                    k = event.kv.key
                    if k == lo if not hi else lo <= k and (hi == b"\0" or k < hi):
                        events.append(event)
        return tuple(events)


# --------------------------------------------------------------------------- maintenance

#: Where ``etcdctl`` is looked for: ``$ETCDLITE_ETCDCTL``, then ``PATH``.
_ETCDCTL_ENV = "ETCDLITE_ETCDCTL"


def _etcdctl() -> str:
    path = os.environ.get(_ETCDCTL_ENV) or shutil.which("etcdctl")
    if not path:
        raise RuntimeError(f"no etcdctl (looked for ${_ETCDCTL_ENV} and `etcdctl` on PATH)")
    return path


def _etcd_hash_kv(kv: EtcdKV, revision: int) -> HashKVResponse:
    """etcd ``Maintenance.HashKV`` through ``etcdctl endpoint hashkv --rev N -w json``.

    etcd 3.4's gateway answers ``/v3/maintenance/hashkv`` with 404 (its proto gives HashKV the
    path of Hash), so this one call takes etcdctl's gRPC client instead. An error comes back as
    the etcdlite exception for etcdctl's ``Error: <message>`` line.
    """
    proc = subprocess.run(
        [
            _etcdctl(),
            f"--endpoints={kv.url}",
            "--command-timeout=5s",
            "endpoint",
            "hashkv",
            f"--rev={int(revision)}",
            "--write-out=json",
        ],
        capture_output=True,
        text=True,
        timeout=REQUEST_TIMEOUT,
        check=False,
        env={**os.environ, "ETCDCTL_API": "3"},
    )
    if proc.returncode:
        lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("Error: ")]
        message = lines[-1][len("Error: ") :] if lines else proc.stderr.strip()
        err = error_for_message(message)
        raise err if err is not None else GatewayError(message, StatusCode.UNKNOWN, 0)
    (answer,) = json.loads(proc.stdout)
    body: Json = answer["HashKV"]
    h: Json = body.get("header") or {}
    header = ResponseHeader(
        _int(h, "cluster_id"), _int(h, "member_id"), _int(h, "revision"), _int(h, "raft_term")
    )
    return HashKVResponse(header, _int(body, "hash"), _int(body, "compact_revision"))
