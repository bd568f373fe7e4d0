"""``connect()`` over a real 3-member etcd cluster on 127.0.0.1 while a member stops and comes
back: writes and a watch go on (every event exactly once, in order), a lock stays safe
(fenced writes, no lost update), and membership changes (a member added, promoted, removed).

Writes here are made safe to retry by the test itself, as clientv3 leaves it to the caller: a
write that raised UNAVAILABLE after being sent may have landed, so each is a txn that only
applies once (a put if the key does not exist yet, or a put of a marker key checked before
trying again).
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, TypeVar

import pytest

import etcdlite
from etcdlite import Compare, Op
from etcdlite.concurrency import Session
from etcdlite.errors import EtcdError, UnavailableError
from etcdlite.remote import RemoteError

from ._cluster import etcd_cluster
from .test_watch import events_until

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from etcdlite.remote import Client, MemberAddResponse

    from ._cluster import Cluster

pytestmark = pytest.mark.etcd

T = TypeVar("T")

#: Bound on every wait and on each retried call, in seconds.
WAIT = 30.0
#: Per-call timeout of the clients here.
CALL_TIMEOUT = 3.0
#: etcd's refusal of a membership change until every member has been connected for 5 s.
UNHEALTHY = "etcdserver: unhealthy cluster"


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    """Three started etcd members, all stopped when the test ends."""
    with etcd_cluster(3) as c:
        yield c


def _retry(fn: Callable[[], T]) -> T:
    """``fn()`` again while it fails for want of an answer (bounded by :data:`WAIT`); ``fn``
    must be safe to repeat."""
    deadline = time.monotonic() + WAIT
    while True:
        try:
            return fn()
        except (RemoteError, UnavailableError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _put_once(client: Client, key: str, value: str) -> None:
    """Put ``key`` if it does not exist: repeating it after an uncertain failure is safe."""
    _retry(lambda: client.txn([Compare.version(key) == 0], [Op.put(key, value)]))


def test_writes_and_watch_go_on_through_a_member_restart(cluster: Cluster) -> None:
    """The member the client uses stops and later starts again while keys are written: writes
    move on to the other members, and the watch, opened again there from the revision after
    its last event, delivers every write once and in order."""
    first = cluster.members[0]
    with etcdlite.connect(cluster.urls, timeout=CALL_TIMEOUT) as client:
        w = client.watch("w/", prefix=True)
        assert w.receive(WAIT).created
        n = 30
        for i in range(n):
            if i == 10:
                assert client.target == first.target
                first.stop()
            if i == 20:
                first.start()
            _put_once(client, f"w/{i:02}", str(i))
        assert client.target != first.target
        assert client._endpoints.switches >= 1
        final = client.get("w/", prefix=True)
        assert final.count == n
        events = events_until(w, max(kv.mod_revision for kv in final.kvs), WAIT)
        assert [e.kv.key for e in events] == [f"w/{i:02}".encode() for i in range(n)]
        assert [e.kv.mod_revision for e in events] == [kv.create_revision for kv in final.kvs]
        assert client._watches.streams_opened >= 2
        w.cancel()
        # the restarted member caught up and serves the same data
        with etcdlite.connect(first.url, timeout=CALL_TIMEOUT) as direct:
            assert _retry(lambda: direct.get("w/", prefix=True).count) == n


def _worker(
    url_order: list[str], name: str, rounds: int, lease_ttl: int, errors: list[Exception]
) -> None:
    """``rounds`` increments of ``counter`` under the lock ``lk``, each fenced by the lock
    key's create revision and marked by ``done/<name>/<round>`` so an uncertain one is checked
    before it is tried again."""
    try:
        with etcdlite.connect(url_order, timeout=CALL_TIMEOUT) as client:
            lease = _retry(lambda: client.grant(lease_ttl)).id
            keep = client.keep_alive(lease)
            try:
                for r in range(rounds):
                    _increment_under_lock(client, lease, f"done/{name}/{r}")
            finally:
                keep.close()
    except (AssertionError, EtcdError, TimeoutError) as exc:
        errors.append(exc)


def _increment_under_lock(client: Client, lease: int, marker: str) -> None:
    # Lock again with the same lease after an uncertain failure: etcd finds the key it may
    # already have made for this lease and goes on waiting with it.
    key = _retry(lambda: client.lock("lk", lease=lease, timeout=CALL_TIMEOUT)).key
    fence = _retry(lambda: client.get(key)).kvs[0].create_revision
    deadline = time.monotonic() + WAIT
    while True:
        assert time.monotonic() < deadline, f"{marker} not applied in {WAIT} s"
        if _retry(lambda: client.get(marker).count):
            break  # an earlier, uncertain attempt landed
        counter = _retry(lambda: client.get("counter"))
        value = int(counter.kvs[0].value) if counter.kvs else 0
        try:
            resp = client.txn(
                [Compare.create_revision(key) == fence],
                [Op.put("counter", str(value + 1)), Op.put(marker, "1")],
            )
        except (RemoteError, UnavailableError):
            continue  # sent, maybe applied: the marker says
        assert resp.succeeded, "the lock was lost while held"
        break
    _retry(lambda: client.unlock(key))


def test_lock_stays_safe_through_a_member_restart(cluster: Cluster) -> None:
    """Two clients increment a counter under one lock while a member stops and starts again:
    every increment lands once, none is lost."""
    first = cluster.members[0]
    urls = cluster.urls
    rounds, errors = 12, list[Exception]()
    workers = [
        threading.Thread(target=_worker, args=(urls, "a", rounds, 5, errors)),
        threading.Thread(target=_worker, args=([*urls[1:], urls[0]], "b", rounds, 5, errors)),
    ]
    for t in workers:
        t.start()
    with etcdlite.connect(urls[1:], timeout=CALL_TIMEOUT) as watcher:

        def count() -> int:
            return int(_retry(lambda: watcher.get("done/", prefix=True, count_only=True)).count)

        deadline = time.monotonic() + WAIT
        while count() < 6 and time.monotonic() < deadline and not errors:
            time.sleep(0.02)
        first.stop()
        while count() < 14 and time.monotonic() < deadline and not errors:
            time.sleep(0.02)
        first.start()
        for t in workers:
            t.join(WAIT)
        assert not any(t.is_alive() for t in workers)
        assert errors == []
        assert watcher.get("counter").kvs[0].value == str(2 * rounds).encode()
        assert watcher.get("done/", prefix=True, count_only=True).count == 2 * rounds


def test_member_added_promoted_and_removed(cluster: Cluster) -> None:
    """A learner is added, started with ``--initial-cluster-state existing``, promoted once in
    sync, then removed; member_list follows every step."""
    with etcdlite.connect(cluster.urls, timeout=CALL_TIMEOUT) as client:
        before = client.member_list().members
        assert sorted(m.name for m in before) == ["m0", "m1", "m2"]
        peer = cluster.new_peer_url()
        deadline = time.monotonic() + WAIT
        added: MemberAddResponse | None = None
        while added is None:  # etcd adds members only once all have been connected for 5 s
            refused = ""
            try:
                added = client.member_add([peer], is_learner=True)
            except RemoteError as exc:
                refused = str(exc)
            if added is None:
                assert refused == UNHEALTHY
                assert time.monotonic() < deadline, "the cluster never became healthy"
                time.sleep(0.2)
        assert added.member.peer_urls == (peer,)
        assert added.member.is_learner
        assert len(added.members) == 4
        new = cluster.start_joining("m3", peer)

        def listed() -> dict[int, etcdlite.remote.Member]:
            return {m.id: m for m in client.member_list().members}

        while listed()[added.member.id].name != "m3":
            assert time.monotonic() < deadline, "the new member never showed its name"
            time.sleep(0.05)
        assert listed()[added.member.id].client_urls == (new.url,)
        while True:  # etcd promotes a learner only once it caught up with the leader
            try:
                promoted = client.member_promote(added.member.id)
                break
            except EtcdError:
                assert time.monotonic() < deadline, "the learner never caught up"
                time.sleep(0.1)
        assert [m.is_learner for m in promoted.members] == [False] * 4
        while listed()[added.member.id].is_learner:  # each member applies it in its time
            assert time.monotonic() < deadline, "member_list never showed the promotion"
            time.sleep(0.05)
        removed = client.member_remove(added.member.id)
        assert sorted(m.name for m in removed.members) == ["m0", "m1", "m2"]
        assert added.member.id not in listed()
        assert new.wait_exit(WAIT)  # a removed member shuts itself down
        assert client.put("after", "removal").header.revision > 1


def test_session_and_observer_move_on_when_a_member_stops(cluster: Cluster) -> None:
    """The member in use stops for longer than a session's TTL: renewals go to the other
    members, so the session lives on; an election observer opened there follows a proclaim
    made meanwhile, without repeating the value it had delivered."""
    first = cluster.members[0]
    ttl = 2
    with etcdlite.connect(cluster.urls, timeout=CALL_TIMEOUT) as client:
        with Session(client, ttl=ttl) as session:
            won = client.campaign("e", "v1", lease=session.lease)
            with client.observe("e") as leaders:
                assert leaders.receive(WAIT).kv.value == b"v1"
                first.stop()
                time.sleep(ttl + 0.5)  # the lease would be gone without renewals
                assert not session.done()
                assert _retry(lambda: client.time_to_live(session.lease)).ttl > 0
                client.proclaim(won.leader, "v2")
                assert leaders.receive(WAIT).kv.value == b"v2"
                with pytest.raises(TimeoutError):
                    leaders.receive(0.3)  # nothing else: v1 was not delivered again
            first.start()
        assert client.target != first.target
