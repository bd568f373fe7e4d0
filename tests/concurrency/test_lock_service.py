"""The Store's lock and election services (etcd's v3lock and v3election), and their
conformance with a real etcd 3.4 through its JSON gateway (``/v3/lock/*``, ``/v3/election/*``).

The conformance tests give both sides the same leases (granted with explicit ids) and the same
requests, then compare keys, revisions, key-values and error messages. Wall time never matters:
leases are granted for 600 s, and every wait is bounded.
"""

from __future__ import annotations

import base64
import concurrent.futures
import functools
import json
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import anyio
import pytest
from conformance._etcd import running_etcd

from etcdlite import (
    CampaignResponse,
    KeyValue,
    LeaderKey,
    LeaderResponse,
    LockResponse,
    Observe,
    Store,
)
from etcdlite._lock_service import SERVICE_SESSION_TTL
from etcdlite.errors import (
    ElectionNoLeaderError,
    ElectionNotLeaderError,
    EmptyKeyError,
    LeaseNotFoundError,
    StatusCode,
)
from etcdlite.testing import FakeClock

if TYPE_CHECKING:
    from collections.abc import Iterator

TIMEOUT = 10.0
BLOCKED = 0.05
LONG_TTL = 600

Json = dict[str, Any]


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(4) as executor:
        yield executor


def _still_blocked(fut: concurrent.futures.Future[Any]) -> bool:
    try:
        fut.result(timeout=BLOCKED)
    except concurrent.futures.TimeoutError:
        return True
    return False


def _keys(store: Store, name: str) -> list[bytes]:
    return [kv.key for kv in store.get(name + "/", prefix=True, sort_target="create").kvs]


# --------------------------------------------------------------------------- lock, unlock


@pytest.mark.parametrize(
    ("name", "lease", "key"),
    [
        ("mylock", 0x2040A1FE407BE86F, b"mylock/2040a1fe407be86f"),
        (b"raw", 0x10, b"raw/10"),
        ("", 0x1, b"/1"),
    ],
    ids=["observed-on-etcd", "bytes-name", "empty-name"],
)
def test_lock_key_is_name_slash_lease_hex(name: str | bytes, lease: int, key: bytes) -> None:
    """Lock answers the key held, ``name + "/" + hex(lease)``, and the acquisition header."""
    store = Store()
    store.grant(60, id=lease)
    r = store.lock(name, lease=lease)
    assert isinstance(r, LockResponse)
    assert r.key == key
    assert r.header.revision == store.revision == store.get(key).kvs[0].create_revision


def test_lock_with_lease_zero_grants_a_60s_lease_nobody_keeps_alive(
    pool: ThreadPoolExecutor,
) -> None:
    """Lease 0: a fresh 60 s lease, not kept alive, so the lock is released after 60 s and the
    next locker gets it."""
    clock = FakeClock()
    store = Store(clock=clock)
    first = store.lock("l")
    lease = int(first.key.rsplit(b"/", 1)[1], 16)
    assert store.time_to_live(lease).granted_ttl == SERVICE_SESSION_TTL == 60
    assert store.get(first.key).kvs[0].lease == lease
    clock.advance(30)
    fut = pool.submit(store.lock, "l", timeout=TIMEOUT)  # its own lease runs to t=90
    assert _still_blocked(fut)
    clock.advance(29.5)
    assert _still_blocked(fut)
    assert store.get(first.key).count == 1
    clock.advance(0.5)
    second = fut.result(timeout=TIMEOUT)
    assert store.get(first.key).count == 0
    assert _keys(store, "l") == [second.key]


def test_lock_with_an_unknown_lease_raises_lease_not_found() -> None:
    """An unknown lease fails on the put: "etcdserver: requested lease not found".

    (etcd's service sends it with gRPC code Unknown, as its internal client wraps the error;
    the gRPC layer of etcdlite must do the same for this service.)"""
    store = Store()
    with pytest.raises(LeaseNotFoundError, match=r"^etcdserver: requested lease not found$"):
        store.lock("l", lease=12345)
    assert store.revision == 1


def test_second_locker_blocks_and_its_timeout_removes_its_key(pool: ThreadPoolExecutor) -> None:
    """A second locker blocks; when it gives up, its key is deleted (one put, one delete)."""
    store = Store()
    a, b = store.grant(LONG_TTL, id=0xA).id, store.grant(LONG_TTL, id=0xB).id
    held = store.lock("l", lease=a)
    with pytest.raises(TimeoutError):
        store.lock("l", lease=b, timeout=0.05)
    assert _keys(store, "l") == [held.key]
    assert store.revision == held.header.revision + 2
    fut = pool.submit(store.lock, "l", lease=b, timeout=TIMEOUT)
    assert _still_blocked(fut)
    store.unlock(held.key)
    assert fut.result(timeout=TIMEOUT).key == b"l/b"


def test_unlock_is_a_plain_idempotent_delete() -> None:
    """Unlock deletes the key given (any key); a second unlock changes nothing."""
    store = Store()
    key = store.lock("l").key
    first = store.unlock(key)
    assert first.header.revision == store.revision
    assert store.get(key).count == 0
    assert store.unlock(key).header.revision == first.header.revision
    store.put("not-a-lock", "v")
    store.unlock("not-a-lock")
    assert store.get("not-a-lock").count == 0


@pytest.mark.anyio
async def test_alock_waits_for_unlock() -> None:
    """alock() suspends the task until the lock is free (asyncio and trio)."""
    store = Store()
    held = store.lock("l")

    async def release() -> None:
        await anyio.sleep(0.02)
        store.unlock(held.key)

    with anyio.fail_after(TIMEOUT):
        async with anyio.create_task_group() as tg:
            tg.start_soon(release)
            got = await store.alock("l")
    assert _keys(store, "l") == [got.key]


@pytest.mark.anyio
async def test_cancelled_alock_removes_its_key() -> None:
    """Cancelling alock() deletes the waiting key (asyncio and trio)."""
    store = Store()
    held = store.lock("l")
    with anyio.move_on_after(0.05):
        await store.alock("l")
    assert _keys(store, "l") == [held.key]


# --------------------------------------------------------------------------- elections


def test_campaign_answers_the_leader_key() -> None:
    """Campaign answers LeaderKey(name, key, rev, lease) and the campaign txn's header."""
    store = Store()
    lease = store.grant(LONG_TTL, id=0x694D).id
    r = store.campaign("e", "v1", lease=lease)
    assert isinstance(r, CampaignResponse)
    assert r.leader == LeaderKey(b"e", b"e/694d", 2, lease)
    assert r.header.revision == 2
    assert store.leader("e").kv == store.get(b"e/694d").kvs[0]


def test_campaign_with_lease_zero_uses_a_fresh_60s_lease() -> None:
    """Lease 0: the candidate key is attached to a fresh 60 s lease, the one answered."""
    store = Store()
    r = store.campaign("e", "v")
    assert r.leader.lease != 0
    assert r.leader.key == b"e/" + format(r.leader.lease, "x").encode()
    assert store.time_to_live(r.leader.lease).granted_ttl == 60


def test_campaign_blocks_until_the_leader_resigns(pool: ThreadPoolExecutor) -> None:
    """A second candidate waits; resign hands the leadership over; header is its entry txn's."""
    store = Store()
    first = store.campaign("e", "a")
    fut = pool.submit(store.campaign, "e", "b", timeout=TIMEOUT)
    assert _still_blocked(fut)
    store.resign(first.leader)
    second = fut.result(timeout=TIMEOUT)
    assert second.header.revision == second.leader.rev < store.revision
    assert store.leader("e").kv.value == b"b"


def test_campaign_with_the_same_lease_and_another_value_proclaims() -> None:
    """Campaigning again with the leader's lease keeps the key and rev, and proclaims."""
    store = Store()
    lease = store.grant(LONG_TTL).id
    first = store.campaign("e", "v1", lease=lease)
    again = store.campaign("e", "v2", lease=lease)
    assert again.leader == first.leader
    assert again.header.revision == first.header.revision
    assert store.leader("e").kv.value == b"v2"


def test_proclaim_and_resign_with_a_leader_key() -> None:
    """Proclaim rewrites the value; resign deletes the key; then there is no leader."""
    store = Store()
    leader = store.campaign("e", "v1").leader
    p = store.proclaim(leader, "v2")
    kv = store.leader("e").kv
    assert (kv.value, kv.mod_revision, kv.version) == (b"v2", p.header.revision, 2)
    r = store.resign(leader)
    assert r.header.revision == store.revision
    with pytest.raises(ElectionNoLeaderError, match=r"^election: no leader$"):
        store.leader("e")


@pytest.mark.parametrize("field", ["rev", "key"])
def test_proclaim_with_a_stale_leader_key_raises_not_leader(field: str) -> None:
    """A leader key whose rev or key does not match gives "election: not leader"."""
    store = Store()
    leader = store.campaign("e", "v1").leader
    stale = (
        LeaderKey(leader.name, leader.key, leader.rev + 1, leader.lease)
        if field == "rev"
        else LeaderKey(leader.name, b"e/other", leader.rev, leader.lease)
    )
    with pytest.raises(ElectionNotLeaderError, match=r"^election: not leader$"):
        store.proclaim(stale, "v2")
    assert store.leader("e").kv.value == b"v1"


def test_proclaim_does_not_check_the_lease_up_front() -> None:
    """As etcd: an unknown lease gives "not leader" if the key is gone, "lease not found" if it
    exists; lease 0 moves the key to a fresh 60 s lease."""
    store = Store()
    leader = store.campaign("e", "v1").leader
    unknown = LeaderKey(leader.name, leader.key, leader.rev, 777)
    with pytest.raises(LeaseNotFoundError):
        store.proclaim(unknown, "v2")
    zero = LeaderKey(leader.name, leader.key, leader.rev, 0)
    store.proclaim(zero, "v3")
    kv = store.leader("e").kv
    assert kv.value == b"v3"
    assert kv.lease not in (0, leader.lease)
    assert store.time_to_live(kv.lease).granted_ttl == 60
    store.delete(leader.key)
    with pytest.raises(ElectionNotLeaderError):
        store.proclaim(unknown, "v4")


def test_resign_with_a_stale_leader_key_changes_nothing() -> None:
    """Resign with a mismatched rev is no error and deletes nothing."""
    store = Store()
    leader = store.campaign("e", "v1").leader
    rev = store.revision
    stale = LeaderKey(leader.name, leader.key, leader.rev + 1, leader.lease)
    assert store.resign(stale).header.revision == rev
    assert store.leader("e").kv.key == leader.key


@pytest.mark.parametrize(
    "call",
    [
        lambda s, empty: s.proclaim(empty, "v"),
        lambda s, empty: s.resign(empty),
        lambda s, empty: s.unlock(b""),
    ],
    ids=["proclaim", "resign", "unlock"],
)
def test_an_empty_key_is_refused_as_etcd_does(call: Any) -> None:
    """An empty leader key or lock key gives "etcdserver: key is not provided" (as observed)."""
    store = Store()
    empty = LeaderKey(b"e", b"", 2, store.grant(LONG_TTL).id)
    with pytest.raises(EmptyKeyError, match=r"^etcdserver: key is not provided$"):
        call(store, empty)


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda s: s.lock(5), "name"),
        (lambda s: s.lock("l", lease="1"), "lease"),
        (lambda s: s.unlock(5), "key"),
        (lambda s: s.campaign(5, "v"), "name"),
        (lambda s: s.campaign("e", 5), "value"),
        (lambda s: s.proclaim(None, "v"), "leader"),
        (lambda s: s.proclaim(LeaderKey(b"e", b"e/1", 2, 1), 5), "value"),
        (lambda s: s.resign(("e", "e/1", 2, 1)), "leader"),
        (lambda s: s.leader(5), "name"),
        (lambda s: s.observe(5), "name"),
    ],
    ids=[
        "lock-name",
        "lock-lease",
        "unlock-key",
        "campaign-name",
        "campaign-value",
        "proclaim-leader",
        "proclaim-value",
        "resign-leader",
        "leader-name",
        "observe-name",
    ],
)
def test_bad_argument_types_are_type_errors_naming_the_argument(call: Any, argument: str) -> None:
    """Names, keys and values must be str or bytes, leases ints, leaders LeaderKeys."""
    store = Store()
    with pytest.raises(TypeError, match=argument):
        call(store)
    assert store.leases().leases == ()  # refused before any lease is granted


def test_observe_streams_leaders_in_order(pool: ThreadPoolExecutor) -> None:
    """Observe sends the leader, its proclaimed values and the next leader, in order."""
    store = Store()
    a = store.campaign("e", "a1").leader
    with store.observe("e") as leaders:
        assert isinstance(leaders, Observe)
        fut = pool.submit(store.campaign, "e", "b1", timeout=TIMEOUT)
        assert _still_blocked(fut)
        store.proclaim(a, "a2")
        store.resign(a)
        b = fut.result(timeout=TIMEOUT).leader
        got = [leaders.receive(timeout=TIMEOUT) for _ in range(3)]
    assert [(r.kv.key, r.kv.value) for r in got] == [
        (a.key, b"a1"),
        (a.key, b"a2"),
        (b.key, b"b1"),
    ]
    assert all(isinstance(r, LeaderResponse) for r in got)


@pytest.mark.anyio
async def test_acampaign_and_async_observe() -> None:
    """acampaign() and ``async for`` over observe() work under asyncio and trio."""
    store = Store()
    first = await store.acampaign("e", "a")
    seen: list[bytes] = []

    async def watch() -> None:
        async with store.observe("e") as leaders:
            async for r in leaders:
                seen.append(r.kv.value)
                if len(seen) == 2:
                    return

    with anyio.fail_after(TIMEOUT):
        async with anyio.create_task_group() as tg:
            tg.start_soon(watch)
            await anyio.sleep(0.01)
            store.resign(first.leader)
            await store.acampaign("e", "b")
    assert seen == [b"a", b"b"]


# --------------------------------------------------------------------------- conformance


def _b64(data: bytes | str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.b64encode(raw).decode()


def _unb64(obj: Json, name: str) -> bytes:
    return base64.b64decode(obj.get(name, ""))


def _kv(obj: Json) -> KeyValue:
    return KeyValue(
        _unb64(obj, "key"),
        int(obj.get("create_revision", 0)),
        int(obj.get("mod_revision", 0)),
        int(obj.get("version", 0)),
        _unb64(obj, "value"),
        int(obj.get("lease", 0)),
    )


def _rev(obj: Json) -> int:
    return int(obj.get("header", {}).get("revision", 0))


class GatewayError(Exception):
    """An error answer of the gateway: HTTP status, gRPC code and message."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(f"{status} code {code}: {message}")
        self.status, self.code, self.message = status, code, message


class Gateway:
    """etcd's lock and election services through its JSON gateway, as plain data."""

    def __init__(self, url: str) -> None:
        self.url = url

    def call(self, path: str, body: Json, timeout: float = TIMEOUT) -> Json:
        req = urllib.request.Request(self.url + path, data=json.dumps(body).encode(), method="POST")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                out: Json = json.loads(resp.read())
                return out
        except urllib.error.HTTPError as err:
            with err:
                answer = json.loads(err.read())
            raise GatewayError(err.code, int(answer["code"]), str(answer["message"])) from None

    def grant(self, lease: int) -> None:
        self.call("/v3/lease/grant", {"TTL": LONG_TTL, "ID": lease})

    def lock(self, name: str, lease: int, timeout: float = TIMEOUT) -> tuple[bytes, int]:
        r = self.call("/v3/lock/lock", {"name": _b64(name), "lease": lease}, timeout)
        return _unb64(r, "key"), _rev(r)

    def unlock(self, key: bytes) -> int:
        return _rev(self.call("/v3/lock/unlock", {"key": _b64(key)}))

    def keys(self, prefix: str) -> list[bytes]:
        end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        r = self.call("/v3/kv/range", {"key": _b64(prefix), "range_end": _b64(end)})
        return [_kv(kv).key for kv in r.get("kvs", ())]

    def campaign(self, name: str, value: str, lease: int) -> tuple[LeaderKey, int]:
        body = {"name": _b64(name), "value": _b64(value), "lease": lease}
        r = self.call("/v3/election/campaign", body)
        ld = r["leader"]
        leader = LeaderKey(
            _unb64(ld, "name"), _unb64(ld, "key"), int(ld["rev"]), int(ld.get("lease", 0))
        )
        return leader, _rev(r)

    @staticmethod
    def _leader(leader: LeaderKey) -> Json:
        return {
            "name": _b64(leader.name),
            "key": _b64(leader.key),
            "rev": leader.rev,
            "lease": leader.lease,
        }

    def proclaim(self, leader: LeaderKey, value: str) -> int:
        body = {"leader": self._leader(leader), "value": _b64(value)}
        return _rev(self.call("/v3/election/proclaim", body))

    def resign(self, leader: LeaderKey) -> int:
        return _rev(self.call("/v3/election/resign", {"leader": self._leader(leader)}))

    def leader(self, name: str) -> tuple[int, KeyValue]:
        r = self.call("/v3/election/leader", {"name": _b64(name)})
        return _rev(r), _kv(r["kv"])

    def observe(self, name: str, count: int) -> list[tuple[int, KeyValue]]:
        """The first ``count`` answers of an Observe stream (the gateway sends one per line)."""
        body = json.dumps({"name": _b64(name)}).encode()
        req = urllib.request.Request(self.url + "/v3/election/observe", data=body, method="POST")
        out = []
        with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:
            for _ in range(count):
                result = json.loads(resp.readline())["result"]
                out.append((_rev(result), _kv(result["kv"])))
        return out


@pytest.fixture
def etcd() -> Iterator[Gateway]:
    with running_etcd() as proc:
        yield Gateway(proc.url)


def _store_error(call: Any) -> tuple[int, str]:
    try:
        call()
    except (ElectionNoLeaderError, ElectionNotLeaderError, LeaseNotFoundError) as err:
        return int(err.code), str(err)
    raise AssertionError("no error")


@pytest.mark.etcd
def test_lock_and_unlock_match_etcd(etcd: Gateway) -> None:
    """Lock keys and the revisions of lock, a given-up waiter and unlock match etcd's."""
    store = Store()
    for lease in (0x2040A1FE407BE86F, 0x20):
        etcd.grant(lease)
        store.grant(LONG_TTL, id=lease)
    ours = store.lock("mylock", lease=0x2040A1FE407BE86F)
    theirs = etcd.lock("mylock", 0x2040A1FE407BE86F)
    assert (ours.key, ours.header.revision) == theirs == (b"mylock/2040a1fe407be86f", 2)
    # A second locker that gives up: its key is put, then deleted when it leaves.
    with pytest.raises(TimeoutError):
        store.lock("mylock", lease=0x20, timeout=0.2)
    with pytest.raises(TimeoutError):
        etcd.lock("mylock", 0x20, timeout=0.2)
    deadline = time.monotonic() + TIMEOUT
    while etcd.keys("mylock/") != [theirs[0]] and time.monotonic() < deadline:
        time.sleep(0.01)  # the server deletes the key once it sees the client gone
    assert etcd.keys("mylock/") == _keys(store, "mylock") == [theirs[0]]
    assert etcd.unlock(theirs[0]) == store.unlock(ours.key).header.revision == 5
    assert etcd.unlock(theirs[0]) == store.unlock(ours.key).header.revision == 5


@pytest.mark.etcd
def test_lock_with_lease_zero_matches_etcd(etcd: Gateway) -> None:
    """Lease 0 locks under a fresh lease whose granted TTL is 60 s, on both."""
    store = Store()
    ours = store.lock("zero")
    theirs, _ = etcd.lock("zero", 0)
    (our_name, _, our_lease), (their_name, _, their_lease) = (
        ours.key.partition(b"/"),
        theirs.partition(b"/"),
    )
    assert our_name == their_name == b"zero"
    their_ttl = etcd.call("/v3/lease/timetolive", {"ID": int(their_lease, 16)})["grantedTTL"]
    assert store.time_to_live(int(our_lease, 16)).granted_ttl == int(their_ttl) == 60


@pytest.mark.etcd
def test_lock_with_an_unknown_lease_matches_etcd(etcd: Gateway) -> None:
    """etcd answers "etcdserver: requested lease not found" with code 2 (Unknown): the error
    comes back through its internal client. Our LeaseNotFoundError carries the same message
    and the KV code NOT_FOUND; the gRPC lock service must send it as Unknown."""
    with pytest.raises(GatewayError) as info:
        etcd.lock("l", 12345)
    assert (info.value.status, info.value.code) == (500, StatusCode.UNKNOWN)
    code, message = _store_error(lambda: Store().lock("l", lease=12345))
    assert message == info.value.message == "etcdserver: requested lease not found"
    assert code == StatusCode.NOT_FOUND


@pytest.mark.etcd
def test_election_calls_match_etcd(etcd: Gateway) -> None:
    """Campaign, campaign again, leader, proclaim (good and stale), resign (stale and good)
    give the same leader keys, key-values, revisions and error messages as etcd."""
    store = Store()
    etcd.grant(0x10)
    store.grant(LONG_TTL, id=0x10)
    ours: list[object] = []
    theirs: list[object] = []

    def both(record: Any, on_store: Any, on_etcd: Any) -> None:
        ours.append(record(on_store))
        theirs.append(record(on_etcd))

    def outcome(call: Any) -> object:
        try:
            return call()
        except GatewayError as err:
            return ("error", err.code, err.message)
        except (ElectionNoLeaderError, ElectionNotLeaderError) as err:
            return ("error", int(err.code), str(err))

    def s_campaign(value: str) -> tuple[LeaderKey, int]:
        r = store.campaign("el", value, lease=0x10)
        return r.leader, r.header.revision

    def s_leader() -> tuple[int, KeyValue]:
        r = store.leader("el")
        return r.header.revision, r.kv

    leader = LeaderKey(b"el", b"el/10", 2, 0x10)
    stale = LeaderKey(b"el", b"el/10", 99, 0x10)
    steps = [
        (s_leader, lambda: etcd.leader("el")),
        (lambda: s_campaign("v1"), lambda: etcd.campaign("el", "v1", 0x10)),
        (lambda: s_campaign("v2"), lambda: etcd.campaign("el", "v2", 0x10)),
        (lambda: s_campaign("v2"), lambda: etcd.campaign("el", "v2", 0x10)),
        (s_leader, lambda: etcd.leader("el")),
        (
            lambda: store.proclaim(leader, "v3").header.revision,
            lambda: etcd.proclaim(leader, "v3"),
        ),
        (
            lambda: store.proclaim(stale, "v4").header.revision,
            lambda: etcd.proclaim(stale, "v4"),
        ),
        (lambda: store.resign(stale).header.revision, lambda: etcd.resign(stale)),
        (s_leader, lambda: etcd.leader("el")),
        (lambda: store.resign(leader).header.revision, lambda: etcd.resign(leader)),
        (s_leader, lambda: etcd.leader("el")),
    ]
    for on_store, on_etcd in steps:
        both(outcome, on_store, on_etcd)
    assert ours == theirs
    assert theirs[0] == ("error", StatusCode.UNKNOWN, "election: no leader")
    assert theirs[1] == (leader, 2)
    assert theirs[6] == ("error", StatusCode.UNKNOWN, "election: not leader")


@pytest.mark.etcd
def test_observe_matches_etcd(etcd: Gateway, pool: ThreadPoolExecutor) -> None:
    """Observe answers (header revision and key-value) match etcd's through a proclaim and a
    hand-over to the next candidate."""

    def scenario(
        campaign: Any, proclaim: Any, resign: Any, observe: Any
    ) -> list[tuple[int, KeyValue]]:
        a = campaign("a", 0x10)
        watching = pool.submit(observe)
        time.sleep(0.2)  # let the observer read the first leader
        waiting = pool.submit(campaign, "b", 0x20)
        assert _still_blocked(waiting)
        proclaim(a, "a2")
        resign(a)
        waiting.result(timeout=TIMEOUT)
        result: list[tuple[int, KeyValue]] = watching.result(timeout=TIMEOUT)
        return result

    for lease in (0x10, 0x20):
        etcd.grant(lease)
    theirs = scenario(
        lambda v, lease: etcd.campaign("E", v, lease)[0],
        etcd.proclaim,
        etcd.resign,
        functools.partial(etcd.observe, "E", 3),
    )

    store = Store()
    for lease in (0x10, 0x20):
        store.grant(LONG_TTL, id=lease)

    def store_observe() -> list[tuple[int, KeyValue]]:
        with store.observe("E") as leaders:
            return [
                (r.header.revision, r.kv)
                for r in (leaders.receive(timeout=TIMEOUT) for _ in range(3))
            ]

    ours = scenario(
        lambda v, lease: store.campaign("E", v, lease=lease).leader,
        store.proclaim,
        store.resign,
        store_observe,
    )
    assert ours == theirs
    assert [kv.value for _, kv in theirs] == [b"a", b"a2", b"b"]
