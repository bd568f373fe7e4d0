"""A scripted python-etcd3 (``etcd3`` 0.12) session against one endpoint, as a transcript.

Run as ``python -m server.clients.etcd3_session HOST:PORT`` from ``tests/`` with
``PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=python`` (etcd3 0.12's generated modules predate
protobuf 4 and refuse the C implementation). It covers KV (put/get with prefix, sort, limit,
revision; delete with prev_kv; replace and put_if_not_exists), txn (a compare of every target,
both branches, a nested txn), compaction and the errors for a compacted or future revision,
watch (a key and a prefix with events written by a second client, prev_kv, cancel, from an old
revision, from a compacted one), leases (grant, TTL, keys, refresh, revoke deleting the
attached keys, expiry), python-etcd3's own lock recipe with two contenders, members, status, alarms,
defragment and the errors for bad requests; :mod:`._transcript` says what is normalized.

python-etcd3 0.12 quirks met here (worked around, not etcdlite's):

* its compare builders have no LEASE target: ``_LeaseCompare`` below adds one;
* its get helpers accept ``limit``, ``revision`` and ``count_only`` but drop them: those reads
  go through the client's own ``kvstub`` (``rng``);
* ``Lock.acquire`` fails with ``TypeError`` as soon as it has to wait (its tenacity ``wait``
  callback predates tenacity 9): the contender runs the same recipe in ``_acquire``;
* ``lock.acquire`` grants a new 60 s lease on every attempt and never revokes the losing ones,
  and ``release`` leaves the lease of the held lock alive, so lease counts are not compared;
* MemberAdd and MemberUpdate are left out: etcd 3.4 accepts both on a single member (adding
  one loses quorum, so every later write times out), etcdlite refuses them; so are ``hash()``
  and ``snapshot()``, whose RPCs etcdlite serve does not implement yet;
* ``Etcd3Client.close`` leaves the watcher thread re-dialing a closed channel; the threads
  are daemons and the script exits.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

from ._transcript import Transcript, main

#: How long a step waits for a watch event or a lock before giving up (a failed step, not a hang).
WAIT = 10.0
#: How long a contender must stay waiting to count as blocked by the holder.
BLOCKED = 0.5


def session(t: Transcript, host: str, port: int) -> None:
    import etcd3  # type: ignore[import-untyped]
    from etcd3 import etcdrpc, transactions

    class _LeaseCompare(transactions.BaseCompare):  # type: ignore[misc]
        """LEASE compares, which python-etcd3 0.12 does not build."""

        def build_compare(self, compare: Any) -> None:
            compare.target = etcdrpc.Compare.LEASE
            compare.lease = int(self.value)

    c = etcd3.client(host=host, port=port, timeout=WAIT)
    other = etcd3.client(host=host, port=port, timeout=WAIT)
    tx = c.transactions

    def rng(**fields: Any) -> Any:
        """A Range through the client's own stub: python-etcd3 0.12's get helpers accept
        ``limit``, ``revision`` and ``count_only`` but never put them in the request."""
        return c.kvstub.Range(etcdrpc.RangeRequest(**fields), WAIT)

    # KV
    t.attempt("put a", lambda: c.put("a", "1"))
    t.attempt("put b", lambda: c.put("b", "2"))
    t.attempt("put b prev_kv", lambda: c.put("b", "3", prev_kv=True))
    t.attempt("put b2", lambda: c.put("b2", "22"))
    t.attempt("put c", lambda: c.put("c", "3"))
    t.attempt("get a", lambda: c.get("a"))
    t.attempt("get missing", lambda: c.get("zzz"))
    t.attempt("get_response a", lambda: c.get_response("a"))
    t.attempt("get a serializable", lambda: c.get_response("a", serializable=True))
    t.attempt(
        "get_prefix b desc by mod",
        lambda: c.get_prefix_response("b", sort_order="descend", sort_target="mod"),
    )
    t.attempt("get_prefix b keys_only", lambda: c.get_prefix_response("b", keys_only=True))
    t.attempt("get_range a..c", lambda: c.get_range_response("a", "c"))
    t.attempt("get_range a..c limit 2", lambda: rng(key=b"a", range_end=b"c", limit=2))
    t.attempt("get b at revision 3", lambda: rng(key=b"b", revision=3))
    t.attempt("get b count_only", lambda: rng(key=b"b", range_end=b"c", count_only=True))
    t.attempt(
        "get_all by value asc",
        lambda: c.get_all_response(sort_order="ascend", sort_target="value"),
    )
    t.attempt(
        "get_all by version desc",
        lambda: c.get_all_response(sort_order="descend", sort_target="version"),
    )
    t.attempt(
        "get_all by create asc",
        lambda: c.get_all_response(sort_order="ascend", sort_target="create"),
    )
    t.attempt("get future revision", lambda: rng(key=b"a", revision=1000))
    t.attempt("delete b2 prev_kv", lambda: c.delete("b2", prev_kv=True, return_response=True))
    t.attempt("delete missing", lambda: c.delete("nothing", return_response=True))
    t.attempt("put_if_not_exists a", lambda: c.put_if_not_exists("a", "x"))
    t.attempt("put_if_not_exists n", lambda: c.put_if_not_exists("n", "new"))
    t.attempt("replace n wrong", lambda: c.replace("n", "old", "newer"))
    t.attempt("replace n", lambda: c.replace("n", "new", "newer"))
    t.attempt("delete_prefix n", lambda: c.delete_prefix("n"))

    # txn: every compare target, both branches, a nested txn
    t.attempt(
        "txn success",
        lambda: c.transaction(
            compare=[
                tx.value("a") == "1",
                tx.version("a") > 0,
                tx.create("a") < 100,
                tx.mod("a") != 0,
                _LeaseCompare("a") == 0,
            ],
            success=[
                tx.put("t", "1", prev_kv=True),
                tx.get("b"),
                tx.delete("c", prev_kv=True),
                tx.txn(compare=[tx.value("t") == "1"], success=[tx.get("t")], failure=[]),
            ],
            failure=[tx.put("t", "never")],
        ),
    )
    t.attempt(
        "txn failure",
        lambda: c.transaction(
            compare=[tx.value("a") == "nope", tx.version("missing") == 0],
            success=[tx.put("t", "never")],
            failure=[tx.get("a"), tx.put("t", "2")],
        ),
    )
    t.attempt(
        "txn duplicate put",
        lambda: c.transaction(compare=[], success=[tx.put("d", "1"), tx.put("d", "2")], failure=[]),
    )
    t.attempt("put empty key", lambda: c.put("", "x"))

    # watch: a key with prev_kv, events written by the other client, then cancel
    w_rev = _watch_session(t, c, other)

    # compaction
    t.attempt("compact", lambda: c.compact(w_rev))
    t.attempt("get compacted revision", lambda: rng(key=b"w", revision=2))
    t.attempt("compact again", lambda: c.compact(w_rev))
    t.attempt("compact future", lambda: c.compact(10_000))
    t.attempt("get w at compact revision", lambda: rng(key=b"w", revision=w_rev))
    got: queue.Queue[Any] = queue.Queue()
    t.attempt(
        "watch compacted revision",
        lambda: c.add_watch_callback("w", got.put, start_revision=2),
    )
    t.record("watch compacted revision callback", _drain(t, got, 1))

    _lease_session(t, c)
    _lock_session(t, c, other)

    # cluster and maintenance
    members = list(c.members)
    t.record(
        "members",
        [
            {
                "id": t.member_id(m.id),
                "name": m.name,
                "peer_urls": t.plain(list(m.peer_urls)),
                "client_urls": t.plain(list(m.client_urls)),
            }
            for m in members
        ],
    )
    status = c.status()
    t.record(
        "status",
        {
            "leader": t.member_id(status.leader.id),
            "leader_is_member": status.leader.id == members[0].id,
            "raft_term_positive": status.raft_term > 0,
            # the registered ``status-stand-ins`` (test_clients drops them before comparing)
            "version": status.version,
            "db_size": status.db_size,
            "raft_index": status.raft_index,
        },
    )
    t.attempt("list_alarms", lambda: list(c.list_alarms()))
    t.attempt("defragment", c.defragment)
    t.attempt("remove_member unknown", lambda: c.remove_member(12345))
    t.attempt("lease existing id", lambda: c.lease(60, lease_id=_granted_id(c)))
    t.attempt("revoke unknown lease", lambda: c.revoke_lease(12345))
    c.close()
    other.close()


def _event(t: Transcript, item: Any) -> Any:
    """A watch callback's argument (a WatchResponse, or an error) as data."""
    if isinstance(item, Exception):
        return t.error(item)
    return {
        "revision": item.header.revision,
        "events": [
            {
                "type": type(e).__name__,
                "kv": t.plain(e._event.kv),
                "prev_kv": t.plain(e._event.prev_kv),
            }
            for e in item.events
        ],
    }


def _drain(t: Transcript, got: queue.Queue[Any], events: int) -> list[Any]:
    """The callbacks' arguments until ``events`` events (or errors) have come, bounded by WAIT."""
    out: list[Any] = []
    seen = 0
    deadline = time.monotonic() + WAIT
    while seen < events and time.monotonic() < deadline:
        try:
            item = got.get(timeout=max(deadline - time.monotonic(), 0.01))
        except queue.Empty:
            break
        out.append(_event(t, item))
        seen += 1 if isinstance(item, Exception) else len(item.events)
    return out


def _watch_session(t: Transcript, c: Any, other: Any) -> int:
    """Watch a key and a prefix while ``other`` writes; the revision of the first ``w`` put."""
    got: queue.Queue[Any] = queue.Queue()
    watch_id = c.add_watch_callback("w", got.put, prev_kv=True)
    t.record("watch w id", watch_id)
    first = other.put("w", "1").header.revision
    other.put("w", "2")
    other.delete("w")
    t.record("watch w events", _drain(t, got, 3))
    c.cancel_watch(watch_id)
    other.put("w", "3")
    other.put("w", "4")
    time.sleep(BLOCKED)
    t.record("watch w after cancel", got.qsize())

    prefix: queue.Queue[Any] = queue.Queue()
    watch_id = c.add_watch_prefix_callback("wp/", prefix.put)
    t.record("watch wp/ id", watch_id)
    other.put("wq", "outside")
    other.put("wp/1", "a")
    other.put("wp/2", "b")
    other.delete_prefix("wp/")
    t.record("watch wp/ events", _drain(t, prefix, 4))
    c.cancel_watch(watch_id)

    old: queue.Queue[Any] = queue.Queue()
    watch_id = c.add_watch_callback("w", old.put, start_revision=first, prev_kv=True)
    t.record("watch w from old revision", _drain(t, old, 5))
    c.cancel_watch(watch_id)
    iterator, cancel = c.watch("w", start_revision=first)
    t.record("watch iterator first", _event_of(t, next(iterator)))
    cancel()
    return int(first) + 2


def _types(response: Any) -> Any:
    """A drained watch response, its event types and keys only (the revision is timing's)."""
    if "events" not in response:
        return response
    return [(e["type"], e["kv"]["key"]) for e in response["events"]]


def _event_of(t: Transcript, e: Any) -> Any:
    return {"type": type(e).__name__, "kv": t.plain(e._event.kv)}


def _lease_session(t: Transcript, c: Any) -> None:
    lease = c.lease(60)
    t.record("lease grant", {"id": t.lease_id(lease.id), "ttl": lease.ttl})
    t.attempt("put with lease 1", lambda: c.put("leased/1", "x", lease=lease))
    t.attempt("put with lease 2", lambda: c.put("leased/2", "y", lease=lease.id))
    info = c.get_lease_info(lease.id)
    t.record(
        "lease info",
        {
            "id": t.lease_id(info.ID),
            "ttl": t.ttl(info.TTL, 60),
            "granted": info.grantedTTL,
            "keys": sorted(t.plain(list(info.keys))),
        },
    )
    refreshed = lease.refresh()
    t.record("lease refresh", [{"id": t.lease_id(r.ID), "ttl": r.TTL} for r in refreshed])
    t.attempt("lease revoke", lease.revoke)
    t.attempt("get leased keys", lambda: c.get_prefix_response("leased/"))
    info = c.get_lease_info(lease.id)
    t.record("lease info revoked", {"ttl": info.TTL, "granted": info.grantedTTL})
    t.attempt("refresh revoked", lambda: [{"ttl": r.TTL} for r in c.refresh_lease(lease.id)])
    t.attempt("revoke revoked", lease.revoke)

    # expiry: a 2 s lease (at least both servers' minimum TTL) nobody refreshes goes, and
    # its key with it (a DELETE event)
    short = c.lease(2)
    t.record("short lease grant", {"id": t.lease_id(short.id), "ttl": short.ttl})
    c.put("expiring", "x", lease=short)
    got: queue.Queue[Any] = queue.Queue()
    watch_id = c.add_watch_callback("expiring", got.put)
    t.record("short lease expiry event", [_types(r) for r in _drain(t, got, 1)])
    c.cancel_watch(watch_id)
    t.attempt("get expired key", lambda: c.get_response("expiring"))
    t.record("short lease after expiry", c.get_lease_info(short.id).TTL)


def _acquire(lock: Any, timeout: float) -> bool:
    """python-etcd3's ``Lock.acquire`` recipe, step for step, without tenacity: 0.12 passes
    tenacity a ``wait`` callback of the old two-argument form, which tenacity 9 calls with one
    (``TypeError`` on the first retry, so a contender that has to wait always fails). Each
    attempt grants a lease, puts the key if it does not exist (``create == 0``) and otherwise
    waits for the next event on the key."""
    client, tx = lock.etcd_client, lock.etcd_client.transactions
    deadline = time.monotonic() + timeout
    while True:
        lock.lease = client.lease(lock.ttl)
        success, _ = client.transaction(
            compare=[tx.create(lock.key) == 0],
            success=[tx.put(lock.key, lock.uuid, lease=lock.lease)],
            failure=[tx.get(lock.key)],
        )
        if success:
            return True
        lock.lease = None
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        try:
            client.watch_once(lock.key, remaining)
        except Exception as exc:  # etcd3.exceptions.WatchTimedOut
            if type(exc).__name__ != "WatchTimedOut":
                raise


def _lock_session(t: Transcript, c: Any, other: Any) -> None:
    """Two contenders for one lock with python-etcd3's own recipe: the second waits."""
    first = c.lock("res", ttl=60)
    t.record("lock first acquire", first.acquire(timeout=WAIT))
    t.record("lock first holds", first.is_acquired())
    second = other.lock("res", ttl=60)
    result: list[bool] = []
    contender = threading.Thread(target=lambda: result.append(_acquire(second, WAIT)))
    contender.start()
    try:
        contender.join(BLOCKED)
        t.record("lock second waits", contender.is_alive())
        t.record("lock second holds while waiting", second.is_acquired())
        t.record("lock first release", first.release())
    finally:
        contender.join(WAIT)
    t.record("lock second acquired", result)
    t.record("lock second holds", second.is_acquired())
    t.record("lock first holds after", first.is_acquired())
    t.record("lock second release", second.release())
    t.attempt("lock key after", lambda: c.get_response("/locks/res"))


def _granted_id(c: Any) -> int:
    lease = c.lease(30)
    return int(lease.id)


if __name__ == "__main__":
    main(session)
