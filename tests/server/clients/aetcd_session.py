"""A scripted aetcd 1.0 (asyncio) session against one endpoint, as a transcript.

Run as ``python -m server.clients.aetcd_session HOST:PORT`` from ``tests/``. It covers KV
(put/get with prefix, sort, ranges, keys only; delete with prev_kv; delete_range, replace),
txn (a compare of every target, both branches, a nested txn), compaction and the
errors for a compacted or future revision, watch (a key with prev_kv and a prefix with events
written by a second client, a DELETE-only filter, cancel, from an old revision, from a
compacted one), leases (grant, TTL, keys, refresh, revoke deleting the attached keys, expiry),
aetcd's own lock recipe with two contenders, members, status, alarms, defragment and the
errors for bad requests; :mod:`._transcript` says what is normalized.

aetcd 1.0 quirks met here (worked around, not etcdlite's):

* its compare builders have no LEASE target: ``_LeaseCompare`` below adds one;
* its get helpers have no ``limit``, ``revision`` or ``count_only``: those reads go through
  the client's own ``kvstub`` (``rng``);
* MemberAdd and MemberUpdate are left out: etcd 3.4 accepts both on a single member (adding
  one loses quorum, so every later write times out), etcdlite refuses them; so are ``hash()``
  and ``snapshot()``, whose RPCs etcdlite serve does not implement yet;
* ``watch(watch_id=...)`` never puts the id in the request: the server picks it;
* ``lock.acquire`` grants a new lease on every attempt and never revokes the losing ones.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ._transcript import Transcript, main

#: How long a step waits for a watch event or a lock before giving up (a failed step, not a hang).
WAIT = 10.0
#: How long a contender must stay waiting to count as blocked by the holder.
BLOCKED = 0.5


class _Session:
    def __init__(self, t: Transcript, c: Any, other: Any) -> None:
        self.t, self.c, self.other = t, c, other

    async def attempt(self, step: str, call: Any) -> None:
        """Record the plain result of awaiting ``call``, or the error it raises."""
        try:
            result = self.t.plain(await asyncio.wait_for(call, WAIT))
        except Exception as exc:  # noqa: BLE001 - any client error is a step result
            result = self.t.error(exc)
        self.t.record(step, result)

    async def events(self, watch: Any, count: int) -> list[Any]:
        """The next ``count`` events of ``watch`` (or the error ending it), bounded by WAIT."""
        out: list[Any] = []
        iterator = watch.__aiter__()
        try:
            while len(out) < count:
                event = await asyncio.wait_for(iterator.__anext__(), WAIT)
                out.append(self.t.plain(event))
        except Exception as exc:  # noqa: BLE001 - any client error is a step result
            out.append(self.t.error(exc))
        return out


async def session(t: Transcript, host: str, port: int) -> None:
    import aetcd  # type: ignore[import-untyped]
    from aetcd import rpc, rtypes, transactions

    class _LeaseCompare(transactions.BaseCompare):  # type: ignore[misc]
        """LEASE compares, which aetcd 1.0 does not build."""

        def build_compare(self, compare: Any) -> None:
            compare.target = rpc.Compare.LEASE
            compare.lease = int(self.value)

    c = aetcd.Client(host=host, port=port, timeout=int(WAIT))
    other = aetcd.Client(host=host, port=port, timeout=int(WAIT))
    await c.connect()
    await other.connect()
    s = _Session(t, c, other)
    tx = c.transactions

    async def rng(**fields: Any) -> Any:
        return await c.kvstub.Range(rpc.RangeRequest(**fields), timeout=WAIT)

    # KV
    await s.attempt("put a", c.put(b"a", b"1"))
    await s.attempt("put b", c.put(b"b", b"2"))
    await s.attempt("put b prev_kv", c.put(b"b", b"3", prev_kv=True))
    await s.attempt("put b2", c.put(b"b2", b"22"))
    await s.attempt("put c", c.put(b"c", b"3"))
    await s.attempt("get a", c.get(b"a"))
    await s.attempt("get missing", c.get(b"zzz"))
    await s.attempt("get a serializable", c.get(b"a", serializable=True))
    await s.attempt("get_prefix b desc by mod", c.get_prefix(b"b", "descend", "mod"))
    await s.attempt("get_prefix b keys_only", c.get_prefix(b"b", keys_only=True))
    await s.attempt("get_range a..c", c.get_range(b"a", b"c"))
    await s.attempt("get_all by value asc", c.get_all("ascend", "value"))
    await s.attempt("get_all by version desc", c.get_all("descend", "version"))
    await s.attempt("get_all by create asc keys_only", c.get_all("ascend", "create", True))
    await s.attempt("get a..c limit 2", rng(key=b"a", range_end=b"c", limit=2))
    await s.attempt("get b at revision 3", rng(key=b"b", revision=3))
    await s.attempt("get future revision", rng(key=b"a", revision=1000))
    await s.attempt("delete b2 prev_kv", c.delete(b"b2", prev_kv=True))
    await s.attempt("delete missing", c.delete(b"nothing"))
    await s.attempt("put n", c.put(b"n1", b"new"))
    await s.attempt("replace n1 wrong", c.replace(b"n1", b"old", b"newer"))
    await s.attempt("replace n1", c.replace(b"n1", b"new", b"newer"))
    await s.attempt("put n2", c.put(b"n2", b"x"))
    await s.attempt("delete_range n1..n3 prev_kv", c.delete_range(b"n1", b"n3", prev_kv=True))
    await s.attempt("delete_prefix none", c.delete_prefix(b"n"))

    # txn: every compare target, both branches, a nested txn
    await s.attempt(
        "txn success",
        c.transaction(
            compare=[
                tx.value(b"a") == b"1",
                tx.version(b"a") > 0,
                tx.create(b"a") < 100,
                tx.mod(b"a") != 0,
                _LeaseCompare(b"a") == 0,
            ],
            success=[
                tx.put(b"t", b"1", prev_kv=True),
                tx.get(b"b"),
                tx.delete(b"c", prev_kv=True),
                tx.txn(compare=[tx.value(b"t") == b"1"], success=[tx.get(b"t")], failure=[]),
            ],
            failure=[tx.put(b"t", b"never")],
        ),
    )
    await s.attempt(
        "txn failure",
        c.transaction(
            compare=[tx.value(b"a") == b"nope", tx.version(b"missing") == 0],
            success=[tx.put(b"t", b"never")],
            failure=[tx.get(b"a"), tx.put(b"t", b"2")],
        ),
    )
    await s.attempt(
        "txn duplicate put",
        c.transaction(compare=[], success=[tx.put(b"d", b"1"), tx.put(b"d", b"2")], failure=[]),
    )
    await s.attempt("put empty key", c.put(b"", b"x"))
    await s.attempt("get empty key", c.get(b""))

    # watch
    first = await _watch_session(s, rtypes)

    # compaction
    w_rev = first + 2
    await s.attempt("compact", c.compact(w_rev))
    await s.attempt("get compacted revision", rng(key=b"w", revision=2))
    await s.attempt("compact again", c.compact(w_rev))
    await s.attempt("compact future", c.compact(10_000))
    await s.attempt("get w at compact revision", rng(key=b"w", revision=w_rev))
    try:
        watch = await c.watch(b"w", start_revision=2)
        t.record("watch compacted revision", await s.events(watch, 1))
    except Exception as exc:  # noqa: BLE001 - any client error is a step result
        t.record("watch compacted revision", t.error(exc))

    await _lease_session(s)
    await _lock_session(s)

    # cluster and maintenance
    members = [m async for m in c.members()]
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
    status = await c.status()
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
    t.record("list_alarms", [t.plain(a) async for a in c.list_alarms()])
    await s.attempt("defragment", c.defragment())
    await s.attempt("remove_member unknown", c.remove_member(12345))
    granted = await c.lease(30)
    await s.attempt("lease existing id", c.lease(60, lease_id=granted.id))
    await s.attempt("revoke unknown lease", c.revoke_lease(12345))
    await s.attempt("lease info unknown", c.get_lease_info(12345))
    await c.close()
    await other.close()


async def _watch_session(s: _Session, rtypes: Any) -> int:
    """Watch a key and a prefix while the other client writes; the first ``w`` put's revision."""
    t, c, other = s.t, s.c, s.other
    watch = await c.watch(b"w", prev_kv=True)
    t.record("watch w id", watch.watch_id)
    first = int((await other.put(b"w", b"1")).header.revision)
    await other.put(b"w", b"2")
    await other.delete(b"w")
    t.record("watch w events", await s.events(watch, 3))
    await watch.cancel()
    await other.put(b"w", b"3")
    await other.put(b"w", b"4")

    watch = await c.watch_prefix(b"wp/")
    deletes = await c.watch_prefix(b"wp/", kind=rtypes.EventKind.DELETE)
    t.record("watch wp/ ids", [watch.watch_id, deletes.watch_id])
    await other.put(b"wq", b"outside")
    await other.put(b"wp/1", b"a")
    await other.put(b"wp/2", b"b")
    await other.delete_prefix(b"wp/")
    t.record("watch wp/ events", await s.events(watch, 4))
    t.record("watch wp/ deletes only", await s.events(deletes, 2))
    await watch.cancel()
    await deletes.cancel()

    mine = await c.watch(b"x", watch_id=100)  # aetcd 1.0 does not send watch_id
    t.record("watch asking for id 100", mine.watch_id)
    await other.put(b"x", b"1")
    t.record("watch asking for id 100 events", await s.events(mine, 1))
    await mine.cancel()

    old = await c.watch(b"w", start_revision=first, prev_kv=True)
    t.record("watch w from old revision", await s.events(old, 5))
    await old.cancel()
    await s.attempt("watch_once w from old revision", c.watch_once(b"w", start_revision=first))
    await s.attempt("watch_once times out", c.watch_once(b"quiet", timeout=1))
    return first


async def _lease_session(s: _Session) -> None:
    t, c = s.t, s.c
    lease = await c.lease(60)
    t.record("lease grant", {"id": t.lease_id(lease.id), "ttl": lease.ttl})
    await s.attempt("put with lease 1", c.put(b"leased/1", b"x", lease=lease))
    await s.attempt("put with lease 2", c.put(b"leased/2", b"y", lease=lease.id))
    info = await c.get_lease_info(lease.id)
    t.record(
        "lease info",
        {
            "id": t.lease_id(info.ID),
            "ttl": t.ttl(info.TTL, 60),
            "granted": info.grantedTTL,
            "keys": sorted(t.plain(list(info.keys))),
        },
    )
    t.record("lease remaining", t.ttl(await lease.remaining_ttl(), 60))
    t.record("lease granted", await lease.granted_ttl())
    refreshed = await lease.refresh()
    t.record("lease refresh", {"id": t.lease_id(refreshed.ID), "ttl": refreshed.TTL})
    await s.attempt("lease revoke", lease.revoke())
    await s.attempt("get leased keys", c.get_prefix(b"leased/"))
    info = await c.get_lease_info(lease.id)
    t.record("lease info revoked", {"ttl": info.TTL, "granted": info.grantedTTL})
    refreshed = await c.refresh_lease(lease.id)
    t.record("refresh revoked", {"ttl": refreshed.TTL})
    await s.attempt("revoke revoked", lease.revoke())

    # expiry: a 2 s lease (at least both servers' minimum TTL) nobody refreshes goes, and
    # its key with it (a DELETE event)
    short = await c.lease(2)
    t.record("short lease grant", {"id": t.lease_id(short.id), "ttl": short.ttl})
    await c.put(b"expiring", b"x", lease=short)
    watch = await c.watch(b"expiring")
    events = await s.events(watch, 1)
    t.record(
        "short lease expiry event", [(e.get("kind"), e.get("kv", {}).get("key")) for e in events]
    )
    await watch.cancel()
    await s.attempt("get expired key", c.get(b"expiring"))
    t.record("short lease after expiry", await short.remaining_ttl())


async def _lock_session(s: _Session) -> None:
    """Two contenders for one lock with aetcd's own recipe: the second waits."""
    t, c, other = s.t, s.c, s.other
    first = c.lock(b"res", ttl=60)
    t.record("lock first acquire", await first.acquire(timeout=int(WAIT)))
    t.record("lock first holds", await first.is_acquired())
    second = other.lock(b"res", ttl=60)
    contender = asyncio.ensure_future(second.acquire(timeout=int(WAIT)))
    try:
        done, _ = await asyncio.wait({contender}, timeout=BLOCKED)
        t.record("lock second waits", not done)
        t.record("lock second holds while waiting", await second.is_acquired())
        t.record("lock first release", await first.release())
        t.record("lock second acquired", await asyncio.wait_for(contender, WAIT))
    finally:
        contender.cancel()
    t.record("lock second holds", await second.is_acquired())
    t.record("lock first holds after", await first.is_acquired())
    t.record("lock second release", await second.release())
    await s.attempt("lock key after", c.get(b"res"))


if __name__ == "__main__":
    main(lambda t, host, port: asyncio.run(session(t, host, port)))
