"""A scripted etcd3gw (JSON gateway client, ``etcd3gw`` 2.7) session against one endpoint.

Run as ``python -m server.clients.etcd3gw_session HOST:PORT`` from ``tests/``. etcd3gw talks
HTTP/1.1 JSON to the gateway on the client URL (it finds ``/v3/`` through ``/version``), so
this drives the gateway the way OpenStack's tooz and Calico do: KV (put, get with metadata,
prefix and sort, create, replace, delete, delete_prefix), raw txns with every compare target
and a nested txn, compaction and a read of a compacted revision through the client's own
``post``, watches (a key with events written by a second client, a prefix with prev_kv, a
NOPUT filter, from an old revision, watch_once and its timeout), leases (grant, ttl, keys,
refresh over the keep-alive stream, revoke), etcd3gw's own lock recipe with two contenders,
members and status, and the errors for bad requests (etcd's error bodies and HTTP statuses).

The gateway's JSON is normalized as :mod:`._transcript` does for protobuf: headers keep only
``revision``; lease and member ids (int64 as strings) become placeholders; TTLs counting down
become ``"counting"``.
"""

from __future__ import annotations

import base64
import json
import queue
import threading
from typing import Any

from ._transcript import Transcript, main

#: How long a step waits for a watch event before giving up (a failed step, not a hang).
WAIT = 10.0

_IDS = {"ID": "lease", "lease": "lease", "member_id": "member", "leader": "member"}
_DROPPED = frozenset({"cluster_id", "member_id", "raft_term"})


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


class JSONTranscript:
    """Normalizes the gateway's JSON (and etcd3gw's decoded events) for a transcript."""

    def __init__(self, t: Transcript) -> None:
        self.t = t

    def plain(self, obj: Any, field: str = "") -> Any:
        if isinstance(obj, dict):
            out = {k: self.plain(v, k) for k, v in obj.items()}
            if field == "header":
                out = {k: v for k, v in out.items() if k not in _DROPPED}
            return out
        if isinstance(obj, list):
            return [self.plain(v, field) for v in obj]
        if field in _IDS and isinstance(obj, (str, int)) and str(obj).isdigit():
            kind = _IDS[field]
            return self.t.lease_id(int(obj)) if kind == "lease" else self.t.member_id(int(obj))
        return self.t.plain(obj, field)

    def attempt(self, step: str, call: Any) -> None:
        try:
            result = self.plain(call())
        except Exception as exc:  # noqa: BLE001 - any client error is a step result
            result = self.error(exc)
        self.t.record(step, result)

    def error(self, exc: BaseException) -> dict[str, Any]:
        """etcd3gw's exception: its class and the gateway's error body, parsed."""
        out: dict[str, Any] = {"error": type(exc).__name__}
        detail = getattr(exc, "detail_text", None) or (exc.args[0] if exc.args else "")
        try:
            out["body"] = json.loads(detail)
        except (TypeError, ValueError):
            out["text"] = str(detail)
        return out


def session(t: Transcript, host: str, port: int) -> None:
    import etcd3gw  # type: ignore[import-not-found, unused-ignore]

    j = JSONTranscript(t)
    c = etcd3gw.client(host=host, port=port, timeout=WAIT)
    other = etcd3gw.client(host=host, port=port, timeout=WAIT)

    def post(path: str, body: dict[str, Any]) -> Any:
        return c.post(c.get_url(path), json=body)

    # KV
    j.attempt("put a", lambda: c.put("a", "1"))
    j.attempt("put b", lambda: c.put("b", "2"))
    j.attempt("put b2", lambda: c.put("b2", "22"))
    j.attempt("put c", lambda: c.put("c", "3"))
    j.attempt("get a", lambda: c.get("a"))
    j.attempt("get missing", lambda: c.get("zzz"))
    j.attempt("get a metadata", lambda: c.get("a", metadata=True))
    j.attempt("get_prefix b", lambda: c.get_prefix("b", sort_order="descend"))
    j.attempt("get_all", lambda: c.get_all(sort_order="ascend", sort_target="value"))
    j.attempt("create n (new)", lambda: c.create("n", "v"))
    j.attempt("create n (exists)", lambda: c.create("n", "w"))
    j.attempt("replace n wrong", lambda: c.replace("n", "nope", "x"))
    j.attempt("replace n", lambda: c.replace("n", "v", "x"))
    j.attempt("delete b2", lambda: c.delete("b2"))
    j.attempt("delete missing", lambda: c.delete("nothing"))
    j.attempt("delete_prefix n", lambda: c.delete_prefix("n"))
    j.attempt(
        "range a..c limit 2 raw",
        lambda: post("/kv/range", {"key": _b64("a"), "range_end": _b64("c"), "limit": 2}),
    )
    j.attempt(
        "range count_only raw",
        lambda: post("/kv/range", {"key": "AA==", "range_end": "AA==", "count_only": True}),
    )

    # txn: every compare target, both branches, a nested txn
    a = _b64("a")
    j.attempt(
        "txn success",
        lambda: c.transaction(
            {
                "compare": [
                    {"key": a, "target": "VALUE", "result": "EQUAL", "value": _b64("1")},
                    {"key": a, "target": "VERSION", "result": "GREATER", "version": "0"},
                    {"key": a, "target": "CREATE", "result": "LESS", "create_revision": 100},
                    {"key": a, "target": "MOD", "result": "NOT_EQUAL", "mod_revision": 0},
                    {"key": a, "target": "LEASE", "result": "EQUAL", "lease": 0},
                ],
                "success": [
                    {"request_put": {"key": _b64("t"), "value": _b64("1"), "prev_kv": True}},
                    {"request_range": {"key": _b64("b")}},
                    {"request_delete_range": {"key": _b64("c"), "prev_kv": True}},
                    {
                        "request_txn": {
                            "compare": [{"key": _b64("t"), "target": "VALUE", "value": _b64("1")}],
                            "success": [{"request_range": {"key": _b64("t")}}],
                        }
                    },
                ],
                "failure": [{"request_put": {"key": _b64("t"), "value": _b64("never")}}],
            }
        ),
    )
    j.attempt(
        "txn failure",
        lambda: c.transaction(
            {
                "compare": [{"key": a, "target": "VALUE", "value": _b64("nope")}],
                "success": [{"request_put": {"key": _b64("t"), "value": _b64("never")}}],
                "failure": [{"request_range": {"key": a}}],
            }
        ),
    )
    j.attempt(
        "txn duplicate put",
        lambda: c.transaction(
            {
                "success": [
                    {"request_put": {"key": _b64("d"), "value": _b64("1")}},
                    {"request_put": {"key": _b64("d"), "value": _b64("2")}},
                ]
            }
        ),
    )
    j.attempt("put empty key", lambda: c.put("", "v"))
    j.attempt("range bad base64", lambda: post("/kv/range", {"key": "!!"}))

    # compaction through the gateway, then a compacted and a future read
    for i in range(3):
        j.attempt(f"put w {i}", lambda i=i: c.put("w", str(i)))
    j.attempt("compaction", lambda: post("/kv/compaction", {"revision": "8"}))
    j.attempt(
        "get compacted revision", lambda: post("/kv/range", {"key": _b64("w"), "revision": "7"})
    )
    j.attempt("get future revision", lambda: post("/kv/range", {"key": a, "revision": "1000"}))
    j.attempt("compaction again", lambda: post("/kv/compaction", {"revision": "8"}))

    # watch: a key, events written by a second client; a prefix with prev_kv; NOPUT; history
    def take(events: Any, n: int) -> list[Any]:
        got: queue.Queue[Any] = queue.Queue()

        def read() -> None:
            for ev in events:
                got.put(ev)
                if got.qsize() >= n:
                    return

        threading.Thread(target=read, daemon=True).start()
        out = []
        for _ in range(n):
            try:
                out.append(got.get(timeout=WAIT))
            except queue.Empty:
                out.append("timeout")
                break
        return out

    events, cancel = c.watch("live")
    other.put("live", "1")
    other.delete("live")
    j.attempt("watch live", lambda: take(events, 2))
    cancel()
    events, cancel = c.watch_prefix("wp/", prev_kv=True)
    other.put("wp/1", "a")
    other.put("wp/1", "b")
    j.attempt("watch_prefix wp/ prev_kv", lambda: take(events, 2))
    cancel()
    events, cancel = c.watch_prefix("wp/", filters=["NOPUT"])
    other.put("wp/2", "c")
    other.delete_prefix("wp/")
    j.attempt("watch_prefix wp/ NOPUT", lambda: take(events, 2))
    cancel()
    events, cancel = c.watch("w", start_revision=8)
    j.attempt("watch w from revision 8", lambda: take(events, 1))
    cancel()
    j.attempt("watch_once timeout", lambda: c.watch_once("quiet", timeout=0.5))

    # leases
    lease = c.lease(ttl=30)
    j.attempt("lease id", lambda: t.lease_id(lease.id))
    j.attempt("put with lease", lambda: c.put("leased", "x", lease=lease))
    j.attempt("lease ttl", lambda: Transcript.ttl(lease.ttl(), 30))
    j.attempt("lease keys", lambda: lease.keys())
    j.attempt("lease refresh", lambda: Transcript.ttl(lease.refresh(), 30))
    j.attempt("lease revoke", lambda: lease.revoke())
    j.attempt("get leased after revoke", lambda: c.get("leased"))
    j.attempt("lease ttl after revoke", lambda: lease.ttl())
    j.attempt("lease refresh after revoke", lambda: lease.refresh())
    j.attempt("lease revoke again", lambda: lease.revoke())

    # etcd3gw's lock recipe: a txn on create_revision == 0, no waiting
    first, second = c.lock("job", ttl=30), other.lock("job", ttl=30)
    j.attempt("lock first acquire", lambda: first.acquire())
    j.attempt("lock second acquire", lambda: second.acquire())
    j.attempt("lock first is_acquired", lambda: first.is_acquired())
    j.attempt("lock second is_acquired", lambda: second.is_acquired())
    j.attempt("lock first release", lambda: first.release())
    j.attempt("lock second acquire again", lambda: second.acquire())
    j.attempt("lock second release", lambda: second.release())

    # cluster and maintenance
    j.attempt("members", lambda: [{**m, "ID": t.member_id(int(m["ID"]))} for m in c.members()])
    j.attempt("status", lambda: c.status())


if __name__ == "__main__":
    main(session)
