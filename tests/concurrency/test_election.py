"""``Election`` (clientv3 ``concurrency.Election``) and its ``Observe`` stream.

Blocking calls run on a thread pool and every wait is bounded: ``TIMEOUT`` for what must
happen, ``BLOCKED`` for how long a call must be seen *not* to return.
"""

from __future__ import annotations

import concurrent.futures
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import anyio
import pytest

from etcdlite import LeaderResponse, Op, Store
from etcdlite.concurrency import Election, Observe, Session
from etcdlite.errors import (
    ElectionNoLeaderError,
    ElectionNotLeaderError,
    EmptyKeyError,
    LeaseNotFoundError,
)
from etcdlite.testing import FakeClock

if TYPE_CHECKING:
    from collections.abc import Iterator

TIMEOUT = 10.0
BLOCKED = 0.05
TTL = 10


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(4) as executor:
        yield executor


@pytest.fixture
def store() -> Iterator[Store]:
    with Store() as s:
        yield s


def _still_blocked(fut: concurrent.futures.Future[Any]) -> bool:
    try:
        fut.result(timeout=BLOCKED)
    except concurrent.futures.TimeoutError:
        return True
    return False


def _leader_value(store: Store, prefix: str) -> bytes:
    return Election(_Bare(store), prefix).leader().kv.value


class _Bare:
    """A session that is only a client and a lease (as etcd's services use), for reads."""

    def __init__(self, client: Store, lease: int = 0) -> None:
        self.client = client
        self.lease = lease


# --------------------------------------------------------------------------- campaign


def test_campaign_writes_prefix_slash_lease_hex_with_the_value(store: Store) -> None:
    """The candidate's key is ``prefix/<lease hex>`` holding the value, attached to the lease;
    rev and header are the campaign txn's revision."""
    with Session(store, lease=store.grant(60, id=0x694D).id) as session:
        e = Election(session, "leader")
        e.campaign("node-1")
        assert e.key == b"leader/694d"
        (kv,) = store.get(e.key).kvs
        assert (kv.value, kv.lease, kv.create_revision) == (b"node-1", 0x694D, e.rev)
        assert e.header is not None
        assert e.header.revision == e.rev
        assert e.leader().kv == kv


def test_campaign_blocks_until_the_leader_resigns(store: Store, pool: ThreadPoolExecutor) -> None:
    """One leader at a time: a second campaign waits until the leader resigns."""
    with Session(store) as s1, Session(store) as s2:
        e1, e2 = Election(s1, "e"), Election(s2, "e")
        e1.campaign("a")
        fut = pool.submit(e2.campaign, "b", TIMEOUT)
        assert _still_blocked(fut)
        assert e2.leader().kv.value == b"a"
        e1.resign()
        fut.result(timeout=TIMEOUT)
        assert e1.leader().kv.value == b"b"
        assert store.get("e/", prefix=True).count == 1


def test_resign_hands_over_in_campaign_order(store: Store, pool: ThreadPoolExecutor) -> None:
    """Candidates lead in the order their keys were created."""
    sessions = [Session(store) for _ in range(3)]
    e0, e1, e2 = (Election(s, "e") for s in sessions)
    e0.campaign("0")
    f1 = pool.submit(e1.campaign, "1", TIMEOUT)
    assert _still_blocked(f1)
    f2 = pool.submit(e2.campaign, "2", TIMEOUT)
    assert _still_blocked(f2)
    e0.resign()
    f1.result(timeout=TIMEOUT)
    assert _still_blocked(f2)
    assert e0.leader().kv.value == b"1"
    e1.resign()
    f2.result(timeout=TIMEOUT)
    assert e0.leader().kv.value == b"2"
    for s in sessions:
        s.close()


def test_leader_lease_expiry_hands_over(pool: ThreadPoolExecutor) -> None:
    """A leader whose lease runs out loses the election to the next candidate."""
    clock = FakeClock()
    store = Store(clock=clock)
    with Session(store, ttl=TTL) as s1, Session(store, ttl=TTL) as s2:
        e1, e2 = Election(s1, "e"), Election(s2, "e")
        e1.campaign("a")
        s1.orphan()
        fut = pool.submit(e2.campaign, "b", TIMEOUT)
        clock.advance(TTL - 1)
        assert _still_blocked(fut)
        clock.advance(1)
        fut.result(timeout=TIMEOUT)
        assert e2.leader().kv.value == b"b"
        with pytest.raises(ElectionNotLeaderError):
            e1.proclaim("stale")


def test_campaign_again_with_a_new_value_proclaims_it(store: Store) -> None:
    """A session that already has a key with another value keeps its place and proclaims the
    new value; the answer keeps the first create revision and the campaign txn's header."""
    with Session(store) as session:
        first, again = Election(session, "e"), Election(session, "e")
        first.campaign("v1")
        rev = store.revision
        again.campaign("v2")
        assert (again.key, again.rev) == (first.key, first.rev)
        assert again.header is not None
        assert again.header.revision == rev  # the txn that found the key, not the proclaim
        assert store.revision == rev + 1
        assert again.leader().kv.value == b"v2"


def test_campaign_again_with_the_same_value_writes_nothing(store: Store) -> None:
    """Campaigning again with the value already there changes nothing."""
    with Session(store) as session:
        Election(session, "e").campaign("v1")
        rev = store.revision
        Election(session, "e").campaign("v1")
        assert store.revision == rev


def test_campaign_timeout_resigns(store: Store) -> None:
    """A campaign that times out deletes its candidate key (it resigns)."""
    with Session(store) as s1, Session(store) as s2:
        e1, e2 = Election(s1, "e"), Election(s2, "e")
        e1.campaign("a")
        with pytest.raises(TimeoutError):
            e2.campaign("b", timeout=0.05)
        assert [kv.key for kv in store.get("e/", prefix=True).kvs] == [e1.key]
        with pytest.raises(ElectionNotLeaderError):
            e2.proclaim("b2")


@pytest.mark.anyio
async def test_cancelled_acampaign_resigns() -> None:
    """Cancelling acampaign() (asyncio and trio) deletes the candidate key."""
    store = Store()
    with Session(store) as s1, Session(store) as s2:
        e1, e2 = Election(s1, "e"), Election(s2, "e")
        await e1.acampaign("a")
        with anyio.move_on_after(0.05) as scope:
            await e2.acampaign("b")
        assert scope.cancelled_caught
        assert [kv.key for kv in store.get("e/", prefix=True).kvs] == [e1.key]


@pytest.mark.anyio
async def test_acampaign_waits_for_the_leader_to_resign() -> None:
    """acampaign() suspends the task until the leader resigns (asyncio and trio)."""
    store = Store()
    with Session(store) as s1, Session(store) as s2:
        e1, e2 = Election(s1, "e"), Election(s2, "e")
        e1.campaign("a")
        order: list[str] = []

        async def resign() -> None:
            await anyio.sleep(0.02)
            order.append("resigned")
            e1.resign()

        with anyio.fail_after(TIMEOUT):
            async with anyio.create_task_group() as tg:
                tg.start_soon(resign)
                await e2.acampaign("b")
                order.append("elected")
        assert order == ["resigned", "elected"]
        assert e2.leader().kv.value == b"b"


def test_campaign_with_an_expired_lease_raises_lease_not_found() -> None:
    """A campaign whose session lease is gone fails on the put."""
    clock = FakeClock()
    store = Store(clock=clock)
    session = Session(store, ttl=TTL)
    session.orphan()
    clock.advance(TTL)
    with pytest.raises(LeaseNotFoundError):
        Election(session, "e").campaign("v")


# --------------------------------------------------------------------------- proclaim, resign


def test_proclaim_publishes_a_new_value(store: Store) -> None:
    """The leader's proclaim rewrites its key's value, keeping the key and lease."""
    with Session(store) as session:
        e = Election(session, "e")
        e.campaign("v1")
        e.proclaim("v2")
        kv = e.leader().kv
        assert (kv.key, kv.value, kv.create_revision, kv.lease) == (
            e.key,
            b"v2",
            e.rev,
            session.lease,
        )
        assert e.header is not None
        assert e.header.revision == kv.mod_revision


@pytest.mark.parametrize(
    "history", ["never-campaigned", "resigned", "key-deleted", "key-recreated"]
)
def test_proclaim_without_the_leadership_raises_not_leader(store: Store, history: str) -> None:
    """Proclaim by an election that does not hold its key raises "election: not leader"."""
    with Session(store) as session:
        e = Election(session, "e")
        if history != "never-campaigned":
            e.campaign("v1")
        if history == "resigned":
            e.resign()
        elif history == "key-deleted":
            store.delete(e.key)
        elif history == "key-recreated":
            store.delete(e.key)
            store.put(e.key, "other", lease=session.lease)
        rev = store.revision
        with pytest.raises(ElectionNotLeaderError, match=r"^election: not leader$"):
            e.proclaim("v2")
        assert store.revision == rev
        assert e.key == b""


def test_resign_by_a_non_leader_does_nothing(store: Store) -> None:
    """Resigning without having campaigned (or twice) sends nothing."""
    with Session(store) as session:
        e = Election(session, "e")
        e.resign()
        e.campaign("v")
        e.resign()
        rev = store.revision
        e.resign()
        assert store.revision == rev
        assert store.get("e/", prefix=True).count == 0


def test_resign_after_a_failed_proclaim_sends_an_empty_key(store: Store) -> None:
    """As clientv3: a failed proclaim forgets the key but not the session, so the next resign
    sends a txn on an empty key, which etcd refuses ("etcdserver: key is not provided")."""
    with Session(store) as session:
        e = Election(session, "e")
        e.campaign("v")
        store.delete(e.key)
        with pytest.raises(ElectionNotLeaderError):
            e.proclaim("v2")
        with pytest.raises(EmptyKeyError):
            e.resign()
        e.resign()  # now a no-op


def test_resumed_election_proclaims_and_resigns(store: Store) -> None:
    """An election resumed from (key, rev) acts as the leader; with a wrong rev it is not."""
    with Session(store) as session:
        e = Election(session, "e")
        e.campaign("v1")
        wrong = Election.resume(session, "e", e.key, e.rev + 1)
        with pytest.raises(ElectionNotLeaderError):
            wrong.proclaim("nope")
        resumed = Election.resume(session, "e", e.key, e.rev)
        resumed.proclaim("v2")
        assert resumed.leader().kv.value == b"v2"
        resumed.resign()
        with pytest.raises(ElectionNoLeaderError):
            e.leader()


def test_leader_with_nobody_elected_raises_no_leader(store: Store) -> None:
    """leader() on an empty election raises "election: no leader"."""
    with (
        Session(store) as session,
        pytest.raises(ElectionNoLeaderError, match=r"^election: no leader$"),
    ):
        Election(session, "e").leader()


def test_leader_is_the_first_created_key(store: Store) -> None:
    """The leader is the key with the lowest create revision, whatever the key order."""
    store.put("e/ff", "first")
    store.put("e/00", "second")
    assert _leader_value(store, "e") == b"first"


@pytest.mark.parametrize(
    ("call", "arg"),
    [("campaign", "value"), ("proclaim", "value"), ("resume", "leader_key")],
)
def test_arguments_must_be_str_or_bytes(store: Store, call: str, arg: str) -> None:
    """Values and keys of another type are a TypeError naming the argument."""
    with Session(store) as session:
        e = Election(session, "e")
        e.campaign("v")
        if call == "resume":
            with pytest.raises(TypeError, match=arg):
                Election.resume(session, "e", 5, 1)  # type: ignore[arg-type]
        else:
            with pytest.raises(TypeError, match=arg):
                getattr(e, call)(5)


# --------------------------------------------------------------------------- observe


def test_observe_sees_every_leader_and_value_in_order(
    store: Store, pool: ThreadPoolExecutor
) -> None:
    """Observe sends the current leader, its proclaimed values, then each next leader."""
    sessions = [Session(store) for _ in range(3)]
    a, b, c = (Election(s, "e") for s in sessions)
    a.campaign("a1")
    with a.observe() as leaders:
        assert leaders.receive(timeout=TIMEOUT).kv.value == b"a1"
        fb = pool.submit(b.campaign, "b1", TIMEOUT)
        fc = pool.submit(c.campaign, "c1", TIMEOUT)
        assert _still_blocked(fb)
        a.proclaim("a2")
        assert leaders.receive(timeout=TIMEOUT).kv.value == b"a2"
        a.resign()
        fb.result(timeout=TIMEOUT)
        got = leaders.receive(timeout=TIMEOUT)
        assert (got.kv.key, got.kv.value) == (b.key, b"b1")
        b.proclaim("b2")
        assert leaders.receive(timeout=TIMEOUT).kv.value == b"b2"
        b.resign()
        fc.result(timeout=TIMEOUT)
        assert leaders.receive(timeout=TIMEOUT).kv.value == b"c1"
        with pytest.raises(anyio.WouldBlock):
            leaders.receive_nowait()
    for s in sessions:
        s.close()


def test_observe_headers_follow_clientv3(store: Store) -> None:
    """A read leader comes with the read's header; a proclaimed value with its watch response's."""
    with Session(store) as session:
        e = Election(session, "e")
        e.campaign("v1")
        store.put("unrelated", "x")
        with e.observe() as leaders:
            first = leaders.receive(timeout=TIMEOUT)
            assert first.header.revision == store.revision == first.kv.mod_revision + 1
            e.proclaim("v2")
            second = leaders.receive(timeout=TIMEOUT)
            assert second.header.revision == second.kv.mod_revision == store.revision


def test_observe_with_no_leader_waits_for_the_first_put(store: Store) -> None:
    """With nobody elected, Observe sends the first put under the prefix, its header's
    revision set to the put's; deletes are skipped."""
    store.put("e/x", "gone")
    store.delete("e/x")
    with Session(store) as session:
        e = Election(session, "e")
        with e.observe() as leaders:
            with pytest.raises(TimeoutError):
                leaders.receive(timeout=BLOCKED)
            store.put("e/x", "back")
            store.delete("e/x")
            e.campaign("v1")
            got = leaders.receive(timeout=TIMEOUT)
            assert (got.kv.key, got.kv.value) == (b"e/x", b"back")
            assert got.header.revision == got.kv.mod_revision
            # e/x is deleted: the leader is read again
            assert leaders.receive(timeout=TIMEOUT).kv.value == b"v1"


def test_observe_iteration_ends_on_close(store: Store) -> None:
    """Closing the stream ends iteration; receive then raises EndOfStream."""
    with Session(store) as session:
        e = Election(session, "e")
        e.campaign("v1")
        leaders = e.observe()
        timer = threading.Timer(0.05, leaders.close)
        timer.start()
        seen = [resp.kv.value for resp in leaders]
        timer.join()
        assert seen == [b"v1"]
        assert leaders.closed
        with pytest.raises(anyio.EndOfStream):
            leaders.receive(timeout=TIMEOUT)


def test_observe_ends_when_the_store_closes() -> None:
    """The stream ends (no error) when its watch ends, as clientv3 closes the channel."""
    store = Store()
    store.put("e/1", "v")
    leaders = Observe(store, b"e/")
    assert leaders.receive(timeout=TIMEOUT).kv.value == b"v"
    store.close()
    assert list(leaders) == []
    assert leaders.closed


def test_observe_ends_when_its_history_is_compacted() -> None:
    """A watch that fell behind and whose history was then compacted ends the stream, as
    clientv3's observe returns on a watch error."""
    store = Store(watch_queue_size=1)  # the follow watch falls behind at once
    store.put("e/1", "v1")
    leaders = Observe(store, b"e/")
    for v in ("v2", "v3", "v4"):
        store.put("e/1", v)
    store.compact(store.revision)
    assert [r.kv.value for r in leaders] == [b"v1"]
    assert leaders.closed


@pytest.mark.anyio
async def test_observe_async_for_sees_leaders_in_order() -> None:
    """``async for`` over Observe (asyncio and trio) sees each leader and value in order."""
    store = Store()
    with Session(store) as s1, Session(store) as s2:
        e1, e2 = Election(s1, "e"), Election(s2, "e")
        e1.campaign("a1")
        seen: list[bytes] = []

        async def watch(leaders: Observe) -> None:
            async for resp in leaders:
                seen.append(resp.kv.value)
                if len(seen) == 3:
                    return

        with anyio.fail_after(TIMEOUT):
            async with e1.observe() as leaders, anyio.create_task_group() as tg:
                tg.start_soon(watch, leaders)
                await anyio.sleep(0.01)
                e1.proclaim("a2")
                e1.resign()
                await e2.acampaign("b1")
        assert seen == [b"a1", b"a2", b"b1"]


@pytest.mark.anyio
async def test_observe_areceive_waits() -> None:
    """areceive() suspends until the next leader value (asyncio and trio)."""
    store = Store()
    with Session(store) as session:
        e = Election(session, "e")
        leaders = e.observe()

        async def elect() -> None:
            await anyio.sleep(0.02)
            e.campaign("late")

        with anyio.fail_after(TIMEOUT):
            async with anyio.create_task_group() as tg:
                tg.start_soon(elect)
                got = await leaders.areceive()
        assert isinstance(got, LeaderResponse)
        assert got.kv.value == b"late"
        leaders.close()


def test_observe_follows_proclaims_made_by_a_txn(store: Store) -> None:
    """Any put of the leader key is a new value for observers, however it was written."""
    with Session(store) as session:
        e = Election(session, "e")
        e.campaign("v1")
        with e.observe() as leaders:
            leaders.receive(timeout=TIMEOUT)
            store.txn(success=[Op.put(e.key, "v2", lease=session.lease)])
            assert leaders.receive(timeout=TIMEOUT).kv.value == b"v2"
