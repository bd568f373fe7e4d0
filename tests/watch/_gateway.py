"""A tiny client for etcd's JSON gateway: KV calls and the ``/v3/watch`` stream.

The watch stream is one HTTP/1.1 POST whose body is sent in chunks, one ``WatchRequest`` per
line (create, then cancel or progress requests on the same connection), while the response comes
back as chunked ``{"result": {...WatchResponse...}}`` lines (SEMANTICS section 3): the
conformance driver's :class:`GatewayStream` speaks it. Responses are turned into
etcdlite's own :class:`~etcdlite.WatchResponse`, so a test compares like with like.
"""

from __future__ import annotations

import base64
import json
import urllib.request
from typing import Any

from conformance._gateway import GatewayStream

from etcdlite import Event, EventType, KeyValue, ResponseHeader, WatchResponse

__all__ = ("EtcdGateway", "GatewayWatchStream", "b64")

JSON = dict[str, Any]


def b64(data: bytes | str) -> str:
    """Base64 of ``data`` (UTF-8 for ``str``), as the gateway's ``bytes`` fields carry it."""
    raw = data.encode() if isinstance(data, str) else data
    return base64.b64encode(raw).decode()


def _kv(d: JSON | None) -> KeyValue | None:
    if d is None:
        return None
    return KeyValue(
        base64.b64decode(d.get("key", "")),
        int(d.get("create_revision", 0)),
        int(d.get("mod_revision", 0)),
        int(d.get("version", 0)),
        base64.b64decode(d.get("value", "")),
        int(d.get("lease", 0)),
    )


def _header(d: JSON | None) -> ResponseHeader:
    d = d or {}
    return ResponseHeader(
        int(d.get("cluster_id", 0)),
        int(d.get("member_id", 0)),
        int(d.get("revision", 0)),
        int(d.get("raft_term", 0)),
    )


def watch_response(d: JSON) -> WatchResponse:
    """An etcdlite :class:`WatchResponse` from the gateway's JSON."""
    events = []
    for e in d.get("events", ()):
        kv = _kv(e["kv"])
        assert kv is not None
        etype = EventType[e["type"]] if isinstance(e.get("type"), str) else EventType.PUT
        events.append(Event(etype, kv, _kv(e.get("prev_kv"))))
    return WatchResponse(
        _header(d.get("header")),
        int(d.get("watch_id", 0)),
        bool(d.get("created", False)),
        bool(d.get("canceled", False)),
        int(d.get("compact_revision", 0)),
        str(d.get("cancel_reason", "")),
        tuple(events),
        bool(d.get("fragment", False)),
    )


class EtcdGateway:
    """KV calls through the gateway of the etcd at ``url``."""

    def __init__(self, url: str) -> None:
        self.url = url

    def call(self, path: str, body: JSON) -> JSON:
        """POST ``body`` to ``path``; the decoded JSON answer (an error raises RuntimeError)."""
        req = urllib.request.Request(self.url + path, data=json.dumps(body).encode(), method="POST")
        try:
            with urllib.request.urlopen(req, timeout=10.0) as resp:
                out: JSON = json.loads(resp.read())
        except urllib.error.HTTPError as err:
            raise RuntimeError(f"{path}: {err.code} {err.read()!r}") from None
        return out

    def put(self, key: bytes | str, value: bytes | str = b"") -> int:
        """Put; returns the new revision."""
        r = self.call("/v3/kv/put", {"key": b64(key), "value": b64(value)})
        return int(r["header"]["revision"])

    def delete(self, key: bytes | str, range_end: bytes | str = b"") -> int:
        """DeleteRange; returns the revision after it."""
        body = {"key": b64(key)}
        if range_end:
            body["range_end"] = b64(range_end)
        return int(self.call("/v3/kv/deleterange", body)["header"]["revision"])

    def txn_puts(self, *pairs: tuple[bytes | str, bytes | str]) -> int:
        """An unconditional txn of puts; returns the revision after it."""
        ops = [{"request_put": {"key": b64(k), "value": b64(v)}} for k, v in pairs]
        return int(self.call("/v3/kv/txn", {"success": ops})["header"]["revision"])

    def compact(self, revision: int) -> None:
        """Compact at ``revision`` (physical, so the call returns once it is done)."""
        self.call("/v3/kv/compaction", {"revision": revision, "physical": True})

    def revision(self) -> int:
        """The current revision."""
        return int(self.call("/v3/kv/range", {"key": b64(b"\0")})["header"]["revision"])

    def watch_stream(self) -> GatewayWatchStream:
        """Open a ``/v3/watch`` stream."""
        return GatewayWatchStream(self.url)


class GatewayWatchStream:
    """One ``/v3/watch`` bidi stream: send requests, read responses (every wait bounded)."""

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        self._stream = GatewayStream(url, "/v3/watch", timeout=timeout)

    def close(self) -> None:
        """Close the connection."""
        self._stream.close()

    def __enter__(self) -> GatewayWatchStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, request: JSON) -> None:
        """Send one WatchRequest as a line of the chunked request body."""
        self._stream.send(request)

    def create(self, key: bytes | str, **fields: Any) -> None:
        """Send a create_request (``range_end`` is base64-encoded like the key)."""
        req: JSON = {"key": b64(key)}
        for name, value in fields.items():
            req[name] = b64(value) if name == "range_end" else value
        self.send({"create_request": req})

    def cancel(self, watch_id: int) -> None:
        """Send a cancel_request."""
        self.send({"cancel_request": {"watch_id": watch_id}})

    def request_progress(self) -> None:
        """Send a progress_request."""
        self.send({"progress_request": {}})

    def receive_json(self, timeout: float | None = None) -> JSON:
        """The next response's JSON ``result``; TimeoutError when none comes in time."""
        result: JSON = self._stream.receive(timeout)
        return result

    def receive(self, timeout: float | None = None) -> WatchResponse:
        """The next response as an etcdlite :class:`WatchResponse`."""
        return watch_response(self.receive_json(timeout))
