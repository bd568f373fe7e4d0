"""Leases on the Store (SEMANTICS 2.2 put with lease, 2.7 Lease, 5 "Lease guarantees").

The tests run on a :class:`~etcdlite.testing.FakeClock` that starts at 1000 s and never sleeps:
expiry, keep-alive renewals and timers happen when a test advances the clock. The times used are
binary fractions (``2**-10``), so deadlines are exact and "just before" and "exactly at" the TTL
can both be tested. Two tests use other clocks: :class:`LateClock`, whose timers run only when
told (a timer thread running late, so a deadline passes before its timer runs), and the real
monotonic clock, in the one test that waits on wall time (bounded to a few seconds) to show that
expiry needs no call from the user. After each test the store's invariants hold (its lessor's
attachments are the keys' ``lease`` fields) and closing it leaves no timer behind.
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING

import anyio
import anyio.lowlevel
import pytest

from etcdlite import (
    Compare,
    Event,
    EventType,
    KeyValue,
    LeaseKeepAliveResponse,
    Op,
    Store,
)
from etcdlite.errors import (
    KeyNotFoundError,
    LeaseExistsError,
    LeaseNotFoundError,
    LeaseTTLTooLargeError,
    StoppedError,
)
from etcdlite.testing import FakeClock

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from etcdlite import KeepAlive, Watch

#: Where the fake clock starts (not 0, so that nothing relies on time starting at 0).
START = 1000.0
#: A step smaller than any TTL, exact in binary floating point.
EPS = 2.0**-10
#: etcd's maximum TTL (``MaxLeaseTTL``).
MAX_TTL = 9_000_000_000
NOT_FOUND = "etcdserver: requested lease not found"


@pytest.fixture
def clock() -> FakeClock:
    """The store's clock."""
    return FakeClock(START)


@pytest.fixture
def store(clock: FakeClock) -> Iterator[Store]:
    """A store on the fake clock; its invariants are checked after the test, then it is closed
    and no clock timer may be left pending."""
    s = Store(clock=clock)
    yield s
    s._check()
    s.close()
    assert clock.pending() == 0


def lease_of(store: Store, key: str) -> int | None:
    """The ``lease`` field of ``key``'s record, ``None`` if the key does not exist."""
    kvs = store.get(key).kvs
    return kvs[0].lease if kvs else None


def keys_of(store: Store, lease_id: int) -> tuple[bytes, ...]:
    """The keys attached to a lease, as ``time_to_live(keys=True)`` reports them."""
    return store.time_to_live(lease_id, keys=True).keys


def live(store: Store) -> list[int]:
    """The ids of the live leases, in ``leases()`` order."""
    return [s.id for s in store.leases().leases]


def events_of(watch: Watch) -> list[tuple[int, list[Event]]]:
    """The (revision, events) of every response the watch has ready now, without waiting."""
    out: list[tuple[int, list[Event]]] = []
    while True:
        try:
            resp = watch.receive_nowait()
        except anyio.WouldBlock:
            return out
        if resp.events:
            out.append((resp.header.revision, list(resp.events)))


def deleted(rev: int, *keys: str) -> list[Event]:
    """The DELETE events of ``keys`` at ``rev``, as a watch without prev_kv sees them."""
    return [Event(EventType.DELETE, KeyValue(k.encode(), 0, rev, 0, b"", 0)) for k in keys]


def drain(ka: KeepAlive) -> Iterator[LeaseKeepAliveResponse]:
    """The responses queued on a stream now, without waiting."""
    while True:
        try:
            yield ka.receive_nowait()
        except anyio.WouldBlock:
            return


def watch_all(store: Store) -> Watch:
    """A watch of every key from the next revision (its created response already read)."""
    w = store.watch("", from_key=True)
    assert w.receive(timeout=1).created
    return w


# --------------------------------------------------------------------------- grant


def test_grant_server_chosen_ids_are_positive_and_unique(store: Store) -> None:
    """Id 0 asks for a server-chosen id: positive int64s, all different."""
    ids = [store.grant(60).id for _ in range(200)]
    assert all(0 < i < 2**63 for i in ids)
    assert len(set(ids)) == len(ids)


def test_grant_server_chosen_id_skips_ids_in_use(store: Store) -> None:
    """A server-chosen id is never one an explicit grant already took."""
    first = store.grant(60).id
    taken = {first, *(store.grant(60, id=first + n).id for n in range(1, 5))}
    chosen = [store.grant(60).id for _ in range(5)]
    assert not taken & set(chosen)
    assert len(set(chosen)) == 5


@pytest.mark.parametrize("id_", [1, 0x694D, -5, 2**63 - 1])
def test_grant_explicit_id(store: Store, id_: int) -> None:
    """An explicit id (even a negative one, as etcd allows) is the lease's id."""
    store.put("k", "v")
    resp = store.grant(60, id=id_)
    assert (resp.id, resp.ttl, resp.header.revision) == (id_, 60, 2)
    assert live(store) == [id_]


def test_grant_existing_id_fails(store: Store) -> None:
    """Granting an id in use fails with "lease already exists" and changes nothing."""
    store.grant(60, id=7)
    with pytest.raises(LeaseExistsError, match=r"^etcdserver: lease already exists$"):
        store.grant(30, id=7)
    assert store.time_to_live(7).granted_ttl == 60
    assert live(store) == [7]


@pytest.mark.parametrize(
    ("requested", "granted"), [(-5, 2), (0, 2), (1, 2), (2, 2), (3, 3), (60, 60)]
)
def test_grant_raises_ttl_to_the_minimum(store: Store, requested: int, granted: int) -> None:
    """A TTL below etcd's minimum (2 s) is raised to it; the response says the TTL chosen."""
    assert store.grant(requested).ttl == granted


@pytest.mark.parametrize(
    ("minimum", "requested", "granted"), [(1, 0, 1), (1, 1, 1), (5, 3, 5), (5, 7, 7)]
)
def test_min_lease_ttl_is_configurable(
    clock: FakeClock, minimum: int, requested: int, granted: int
) -> None:
    """Store(min_lease_ttl=n) sets the minimum TTL (etcd: ceil(1.5 x election timeout))."""
    with Store(clock=clock, min_lease_ttl=minimum) as store:
        lease = store.grant(requested)
        assert lease.ttl == granted
        clock.advance(granted - EPS)
        assert live(store) == [lease.id]
        clock.advance(EPS)
        assert live(store) == []
        store._check()
    assert clock.pending() == 0


def test_grant_too_large_ttl(store: Store) -> None:
    """A TTL above 9,000,000,000 s fails with "too large lease TTL"; the maximum itself is
    granted."""
    with pytest.raises(LeaseTTLTooLargeError, match=r"^etcdserver: too large lease TTL$"):
        store.grant(MAX_TTL + 1)
    with pytest.raises(LeaseTTLTooLargeError):
        store.grant(MAX_TTL + 1, id=3)
    assert live(store) == []
    assert store.grant(MAX_TTL, id=3).ttl == MAX_TTL


def test_grant_too_large_beats_exists(store: Store) -> None:
    """A grant that is both too large and of an id in use fails with the TTL error, which
    etcd's lessor checks first."""
    store.grant(60, id=3)
    with pytest.raises(LeaseTTLTooLargeError):
        store.grant(MAX_TTL + 1, id=3)


def test_grant_writes_nothing(store: Store) -> None:
    """A grant makes no revision and no watch event."""
    w = watch_all(store)
    store.put("k", "v")
    assert store.grant(60).header.revision == 2
    assert store.revision == 2
    assert [rev for rev, _ in events_of(w)] == [2]


# --------------------------------------------------------------------------- expiry


@pytest.mark.parametrize("ttl", [2, 3, 10, 3600])
def test_expiry_exactly_at_ttl(store: Store, clock: FakeClock, ttl: int) -> None:
    """Without keep-alive a lease lives exactly its TTL: alive (with its keys) just before,
    gone (with its keys, by the clock alone) at the TTL."""
    lease = store.grant(ttl).id
    store.put("k", "v", lease=lease)
    clock.advance(ttl - EPS)
    assert store.revision == 2  # no call to a lease method: what the timer did
    assert store.get("k").count == 1
    assert live(store) == [lease]
    assert store.time_to_live(lease).ttl == 0  # EPS left, rounded down
    clock.advance(EPS)
    assert store.revision == 3
    assert store.get("k").count == 0
    assert live(store) == []
    assert store.time_to_live(lease).ttl == -1


def test_expiry_counts_from_the_grant(store: Store, clock: FakeClock) -> None:
    """Time before the grant does not count: the TTL runs from the grant on."""
    clock.advance(100)
    lease = store.grant(5).id
    clock.advance(5 - EPS)
    assert live(store) == [lease]
    clock.advance(EPS)
    assert live(store) == []


def test_expiry_deletes_keys_at_one_revision(store: Store, clock: FakeClock) -> None:
    """Expiry deletes every attached key at one new revision, with DELETE events in key order
    that a watcher sees in one response; other keys stay."""
    lease = store.grant(10).id
    for key in ("b", "c", "a"):
        store.put(key, key, lease=lease)
    store.put("d", "d")
    w = watch_all(store)
    clock.advance(10)
    assert events_of(w) == [(6, deleted(6, "a", "b", "c"))]
    assert [kv.key for kv in store.get("", from_key=True).kvs] == [b"d"]
    assert store.revision == 6


def test_expiry_without_keys_makes_no_revision(store: Store, clock: FakeClock) -> None:
    """A lease without keys expires without a new revision or event."""
    store.put("k", "v")
    w = watch_all(store)
    lease = store.grant(10).id
    store.put("x", "1", lease=lease)
    store.delete("x")
    clock.advance(10)
    assert live(store) == []
    assert store.revision == 4
    assert [rev for rev, _ in events_of(w)] == [3, 4]


def test_leases_expiring_together_each_take_one_revision(store: Store, clock: FakeClock) -> None:
    """Leases due at the same time are revoked one by one: each its keys at its own revision."""
    store.grant(10, id=1)
    store.grant(10, id=2)
    store.put("a1", lease=1)
    store.put("a2", lease=1)
    store.put("b1", lease=2)
    w = watch_all(store)
    clock.advance(10)
    got = events_of(w)
    assert sorted([e.kv.key for e in events] for _, events in got) == [
        [b"a1", b"a2"],
        [b"b1"],
    ]
    assert [rev for rev, _ in got] == [5, 6]
    assert store.revision == 6


def test_expiry_in_several_steps(store: Store, clock: FakeClock) -> None:
    """Leases with different deadlines expire one at a time as the clock passes each."""
    for lease_id, ttl in ((1, 30), (2, 10), (3, 20)):
        store.grant(ttl, id=lease_id)
        store.put(f"k{lease_id}", lease=lease_id)
    clock.advance(10)
    assert live(store) == [3, 1]
    clock.advance(10)
    assert live(store) == [1]
    assert [kv.key for kv in store.get("k", prefix=True).kvs] == [b"k1"]
    clock.advance(10)
    assert live(store) == []
    assert store.revision == 7


class LateClock:
    """A clock whose timers run only when :meth:`fire_due` says: a timer thread running late
    (for instance waiting for the store's lock), so a deadline can pass before its timer runs."""

    def __init__(self, start: float = START) -> None:
        self.time = start
        self._timers: list[tuple[float, Callable[[], object], list[bool]]] = []

    def now(self) -> float:
        return self.time

    def call_later(self, delay: float, callback: Callable[[], object]) -> _LateHandle:
        cancelled = [False]
        self._timers.append((self.time + max(delay, 0.0), callback, cancelled))
        return _LateHandle(cancelled)

    def fire_due(self) -> None:
        """Run the timers due by now, in deadline order."""
        while True:
            due = [t for t in self._timers if t[0] <= self.time]
            if not due:
                return
            first = min(due, key=lambda t: t[0])
            self._timers.remove(first)
            if not first[2][0]:
                first[1]()


class _LateHandle:
    def __init__(self, cancelled: list[bool]) -> None:
        self._cancelled = cancelled

    def cancel(self) -> None:
        self._cancelled[0] = True


@pytest.mark.parametrize(
    "write",
    [
        pytest.param(lambda s: s.put("x", lease=2), id="put"),
        pytest.param(lambda s: s.txn(success=[Op.put("x", lease=2), Op.put("y")]), id="txn"),
        pytest.param(lambda s: s.do(Op.txn(success=[Op.put("x", lease=2)])), id="do-txn"),
        pytest.param(lambda s: s.txn(success=[Op.put("x", "1", lease=1)]), id="txn-same-lease"),
    ],
)
def test_expiry_found_late_by_a_write(write: Callable[[Store], object]) -> None:
    """A lease whose deadline passed before its timer ran is revoked when a write with a lease
    looks leases up: its keys go at a revision of their own, never mixed into the write's, and
    every revision stays consistent (watch events, history, invariants)."""
    clock = LateClock()
    with Store(clock=clock) as store:
        store.grant(10, id=1)
        store.grant(60, id=2)
        store.put("a", lease=1)
        store.put("b", lease=1)
        w = watch_all(store)
        clock.time += 10  # lease 1 is due; its timer has not run
        with contextlib.suppress(LeaseNotFoundError):  # the same-lease txn: lease 1 is gone
            write(store)
        clock.fire_due()
        store._check()
        assert live(store) == [2]
        assert store.get("a").count == store.get("b").count == 0
        got = events_of(w)
        for rev, events in got:
            assert {e.kv.mod_revision for e in events} == {rev}
        deletes = [
            (rev, [e.kv.key for e in events])
            for rev, events in got
            if events[0].type is EventType.DELETE
        ]
        assert deletes == [(deletes[0][0], [b"a", b"b"])]
        assert [rev for rev, _ in got] == list(range(4, store.revision + 1))
        assert store.history("", from_key=True, start_revision=4) == tuple(
            e for _, events in got for e in events
        )


# --------------------------------------------------------------------------- keep-alive


def test_keep_alive_once_extends_from_now(store: Store, clock: FakeClock) -> None:
    """A renewal sets the deadline to now + the granted TTL (not the old deadline + TTL), and
    answers the granted TTL."""
    lease = store.grant(10).id
    store.put("k", "v", lease=lease)
    clock.advance(7)
    resp = store.keep_alive_once(lease)
    assert (resp.id, resp.ttl, resp.header.revision) == (lease, 10, 2)
    assert store.time_to_live(lease).ttl == 10
    clock.advance(10 - EPS)  # 17 s after the grant: past the first deadline
    assert live(store) == [lease]
    assert store.get("k").count == 1
    clock.advance(EPS)
    assert live(store) == []
    assert store.get("k").count == 0


def test_keep_alive_once_of_unknown_or_expired_lease(store: Store, clock: FakeClock) -> None:
    """Renewing a lease that does not exist (never granted, or expired) raises
    LeaseNotFoundError (clientv3 KeepAliveOnce; etcd's stream answers TTL 0)."""
    with pytest.raises(LeaseNotFoundError, match=f"^{NOT_FOUND}$"):
        store.keep_alive_once(5)
    lease = store.grant(10).id
    clock.advance(10)
    with pytest.raises(LeaseNotFoundError):
        store.keep_alive_once(lease)


@pytest.mark.parametrize("ttl", [2, 9, 10, 60])
def test_keep_alive_stream_keeps_the_lease(store: Store, clock: FakeClock, ttl: int) -> None:
    """An open keep-alive stream renews at once, then every third of the TTL: the lease never
    expires while it is open, however far the clock goes."""
    lease = store.grant(ttl).id
    store.put("k", "v", lease=lease)
    with store.keep_alive(lease) as ka:
        first = ka.receive_nowait()
        assert (first.id, first.ttl) == (lease, ttl)
        for _ in range(60):
            clock.advance(ttl / 4)
            assert live(store) == [lease]
            assert store.time_to_live(lease).ttl >= ttl * 2 // 3 - 1
        clock.advance(100 * ttl)
        assert live(store) == [lease]
        assert store.get("k").count == 1
        assert not ka.closed
    assert store.revision == 2


def test_keep_alive_stream_renews_every_third_of_the_ttl(store: Store, clock: FakeClock) -> None:
    """With a TTL of 9 s the renewals come at 0, 3, 6, ... s: one response each."""
    lease = store.grant(9).id
    ka = store.keep_alive(lease)
    assert ka.receive_nowait().ttl == 9
    for _ in range(4):
        clock.advance(3 - EPS)
        with pytest.raises(anyio.WouldBlock):
            ka.receive_nowait()
        assert store.time_to_live(lease).ttl == 6  # 6 + EPS left since the last renewal
        clock.advance(EPS)
        assert ka.receive_nowait() == LeaseKeepAliveResponse(store.leases().header, lease, 9)
        assert store.time_to_live(lease).ttl == 9  # renewed just now
    ka.close()


def test_keep_alive_stream_keeps_only_the_newest_responses(store: Store, clock: FakeClock) -> None:
    """Nobody has to read the stream: it keeps the 16 newest responses."""
    lease = store.grant(3).id
    ka = store.keep_alive(lease)
    clock.advance(100)  # 100 renewals
    assert len(list(drain(ka))) == 16
    ka.close()


def test_keep_alive_stream_ends_on_revoke(store: Store, clock: FakeClock) -> None:
    """Revoking the lease ends its keep-alive streams: iteration yields what was queued, then
    stops; no renewal timer is left."""
    lease = store.grant(9).id
    ka = store.keep_alive(lease)
    other = store.keep_alive(lease)
    clock.advance(6)
    store.revoke(lease)
    assert ka.closed
    assert other.closed
    assert [r.ttl for r in ka] == [9, 9, 9]
    assert list(ka) == []
    assert clock.pending() <= 1  # at most the store's expiry timer, due at the old deadline


def test_keep_alive_stream_close_lets_the_lease_expire(store: Store, clock: FakeClock) -> None:
    """After close() the lease is no longer renewed: it expires a TTL after the last renewal,
    and the closed stream's iteration stops after what was queued."""
    lease = store.grant(9).id
    store.put("k", "v", lease=lease)
    ka = store.keep_alive(lease)
    clock.advance(7)  # renewed at 0, 3 and 6
    ka.close()
    assert ka.closed
    clock.advance(8 - EPS)  # 15 - EPS: the last renewal (6) + 9
    assert live(store) == [lease]
    clock.advance(EPS)
    assert live(store) == []
    assert store.get("k").count == 0
    assert [r.ttl for r in ka] == [9, 9, 9]


def test_keep_alive_streams_are_independent(store: Store, clock: FakeClock) -> None:
    """Closing one of two streams on a lease leaves the other renewing it."""
    lease = store.grant(9).id
    first = store.keep_alive(lease)
    second = store.keep_alive(lease)
    first.close()
    clock.advance(100)
    assert live(store) == [lease]
    assert not second.closed
    second.close()
    clock.advance(9)
    assert live(store) == []


def test_keep_alive_unknown_lease(store: Store) -> None:
    """A keep-alive stream of a lease that does not exist is refused."""
    with pytest.raises(LeaseNotFoundError):
        store.keep_alive(99)


# --------------------------------------------------------------------------- revoke


def test_revoke_deletes_keys_at_one_revision(store: Store, clock: FakeClock) -> None:
    """Revoke deletes every attached key at one new revision (the response's), in key order,
    with DELETE events a watcher sees in one response; other keys stay."""
    lease = store.grant(60).id
    for key in ("b", "c", "a"):
        store.put(key, key, lease=lease)
    store.put("d", "d")
    w = watch_all(store)
    resp = store.revoke(lease)
    assert resp.header.revision == 6
    assert events_of(w) == [(6, deleted(6, "a", "b", "c"))]
    assert [kv.key for kv in store.get("", from_key=True).kvs] == [b"d"]
    assert store.time_to_live(lease).ttl == -1
    assert live(store) == []


def test_revoke_without_keys_makes_no_revision(store: Store) -> None:
    """A lease without keys is revoked without a new revision or event."""
    store.put("k", "v")
    w = watch_all(store)
    lease = store.grant(60).id
    assert store.revoke(lease).header.revision == 2
    assert store.revision == 2
    assert events_of(w) == []


@pytest.mark.parametrize("id_", [99, 0, -1])
def test_revoke_unknown_lease(store: Store, id_: int) -> None:
    """Revoking a lease that does not exist fails with "requested lease not found"."""
    with pytest.raises(LeaseNotFoundError, match=f"^{NOT_FOUND}$"):
        store.revoke(id_)


def test_revoke_twice_and_after_expiry(store: Store, clock: FakeClock) -> None:
    """A revoked or expired lease cannot be revoked again; its id can be granted anew."""
    store.grant(60, id=1)
    store.revoke(1)
    with pytest.raises(LeaseNotFoundError):
        store.revoke(1)
    store.grant(5, id=2)
    clock.advance(5)
    with pytest.raises(LeaseNotFoundError):
        store.revoke(2)
    assert store.grant(60, id=1).ttl == 60
    assert store.grant(60, id=2).ttl == 60


# --------------------------------------------------------------------------- time_to_live, leases


def test_time_to_live(store: Store, clock: FakeClock) -> None:
    """Remaining TTL in whole seconds rounded down, granted TTL, and with keys=True the
    attached keys sorted."""
    lease = store.grant(10).id
    for key in ("b", "a", "c"):
        store.put(key, lease=lease)
    store.put("z")
    r = store.time_to_live(lease, keys=True)
    assert (r.id, r.ttl, r.granted_ttl, r.keys, r.header.revision) == (
        lease,
        10,
        10,
        (b"a", b"b", b"c"),
        5,
    )
    assert store.time_to_live(lease).keys == ()
    clock.advance(0.5)
    assert store.time_to_live(lease).ttl == 9
    clock.advance(8.75)
    assert store.time_to_live(lease).ttl == 0
    assert store.time_to_live(lease).granted_ttl == 10


@pytest.mark.parametrize("id_", [12345, 0, -7])
def test_time_to_live_unknown_lease(store: Store, id_: int) -> None:
    """A lease that does not exist has TTL -1 and granted TTL 0; nothing is raised."""
    r = store.time_to_live(id_, keys=True)
    assert (r.id, r.ttl, r.granted_ttl, r.keys, r.header.revision) == (id_, -1, 0, (), 1)


def test_leases_sorted_by_deadline(store: Store, clock: FakeClock) -> None:
    """leases() lists every live lease, soonest deadline first; renewals reorder them."""
    assert live(store) == []
    store.grant(30, id=3)
    store.grant(15, id=1)
    store.grant(20, id=2)
    assert live(store) == [1, 2, 3]
    clock.advance(10)
    store.keep_alive_once(1)  # now due at 25: after 2 (20), before 3 (30)
    assert live(store) == [2, 1, 3]
    clock.advance(2)
    store.keep_alive_once(2)  # due at 32
    assert live(store) == [1, 3, 2]
    store.revoke(3)
    assert live(store) == [1, 2]


# --------------------------------------------------------------------------- attachments


def test_put_with_lease_attaches_and_moves(store: Store) -> None:
    """A put with a lease attaches the key; a put with another lease moves it."""
    store.grant(60, id=1)
    store.grant(60, id=2)
    store.put("k", "v", lease=1)
    assert (lease_of(store, "k"), keys_of(store, 1), keys_of(store, 2)) == (1, (b"k",), ())
    store.put("k", "w", lease=2)
    assert (lease_of(store, "k"), keys_of(store, 1), keys_of(store, 2)) == (2, (), (b"k",))
    store.revoke(1)
    assert store.get("k").count == 1
    store.revoke(2)
    assert store.get("k").count == 0


@pytest.mark.parametrize(
    "put",
    [
        pytest.param(lambda s: s.put("k", "w"), id="plain"),
        pytest.param(lambda s: s.put("k", "w", prev_kv=True), id="prev-kv"),
        pytest.param(lambda s: s.put("k", "w", lease=0), id="lease-0"),
        pytest.param(lambda s: s.do(Op.put("k", "w")), id="do"),
        pytest.param(lambda s: s.txn(success=[Op.put("k", "w")]), id="txn"),
        pytest.param(lambda s: s.put("k", ignore_value=True), id="ignore-value"),
    ],
)
def test_put_without_lease_detaches(
    store: Store, clock: FakeClock, put: Callable[[Store], object]
) -> None:
    """A put without a lease detaches the key (on every write path): revoke or expiry no
    longer deletes it."""
    store.grant(10, id=1)
    store.put("k", "v", lease=1)
    put(store)
    assert (lease_of(store, "k"), keys_of(store, 1)) == (0, ())
    store._check()
    clock.advance(10)
    assert live(store) == []
    assert store.get("k").count == 1


@pytest.mark.parametrize(
    "put",
    [
        pytest.param(lambda s: s.put("k", "w", ignore_lease=True), id="put"),
        pytest.param(lambda s: s.put("k", ignore_value=True, ignore_lease=True), id="both"),
        pytest.param(lambda s: s.txn(success=[Op.put("k", "w", ignore_lease=True)]), id="txn"),
    ],
)
def test_ignore_lease_keeps_the_lease(
    store: Store, clock: FakeClock, put: Callable[[Store], object]
) -> None:
    """ignore_lease keeps the key's lease: it is still deleted when the lease expires."""
    store.grant(10, id=1)
    store.put("k", "v", lease=1)
    put(store)
    assert (lease_of(store, "k"), keys_of(store, 1)) == (1, (b"k",))
    assert store.get("k").kvs[0].version == 2
    clock.advance(10)
    assert store.get("k").count == 0


def test_ignore_lease_keeps_no_lease(store: Store) -> None:
    """ignore_lease on a key without a lease keeps it without one."""
    store.put("k", "v")
    store.put("k", "w", ignore_lease=True)
    assert lease_of(store, "k") == 0


@pytest.mark.parametrize(
    "delete",
    [
        pytest.param(lambda s: s.delete("k"), id="key"),
        pytest.param(lambda s: s.delete("a", from_key=True), id="from-key"),
        pytest.param(lambda s: s.delete("k", prefix=True), id="prefix"),
        pytest.param(lambda s: s.txn(success=[Op.delete("k")]), id="txn"),
    ],
)
def test_delete_detaches(store: Store, clock: FakeClock, delete: Callable[[Store], object]) -> None:
    """Deleting a key detaches it; re-creating it without a lease keeps it detached, and the
    lease's expiry then deletes nothing."""
    store.grant(10, id=1)
    store.put("k", "v", lease=1)
    delete(store)
    assert keys_of(store, 1) == ()
    store.put("k", "again")
    rev = store.revision
    clock.advance(10)
    assert live(store) == []
    assert store.revision == rev
    assert store.get("k").kvs[0].value == b"again"


def test_txn_puts_with_leases(store: Store, clock: FakeClock) -> None:
    """Puts in a txn attach (and move) keys at the txn's one revision; a lease compare sees
    them."""
    store.grant(10, id=1)
    store.grant(20, id=2)
    r = store.txn(success=[Op.put("x", lease=1), Op.put("y", lease=2), Op.put("z", lease=1)])
    assert r.header.revision == 2
    assert (keys_of(store, 1), keys_of(store, 2)) == ((b"x", b"z"), (b"y",))
    r = store.txn(
        compare=[Compare.lease("x") == 1],
        success=[Op.put("x", "2", lease=2), Op.txn(success=[Op.put("z", "2")])],
    )
    assert r.succeeded
    assert (keys_of(store, 1), keys_of(store, 2)) == ((), (b"x", b"y"))
    clock.advance(10)
    assert [kv.key for kv in store.get("", from_key=True).kvs] == [b"x", b"y", b"z"]
    clock.advance(10)
    assert [kv.key for kv in store.get("", from_key=True).kvs] == [b"z"]


def test_txn_delete_then_put_with_lease(store: Store, clock: FakeClock) -> None:
    """A txn that deletes keys and puts one back with another lease leaves it attached to that
    lease only (the commit's records are followed in order)."""
    store.grant(10, id=1)
    store.grant(20, id=2)
    store.put("a", lease=1)
    store.put("b", lease=1)
    store.txn(success=[Op.delete("a", from_key=True), Op.put("b", "2", lease=2)])
    assert (lease_of(store, "a"), lease_of(store, "b")) == (None, 2)
    assert (keys_of(store, 1), keys_of(store, 2)) == ((), (b"b",))
    store._check()
    clock.advance(10)
    assert store.revision == 4  # lease 1 expired with no keys
    clock.advance(10)
    assert store.revision == 5
    assert store.get("b").count == 0


def test_txn_delete_and_put_without_lease_detaches(store: Store) -> None:
    """A txn that deletes a leased key and puts it back without a lease detaches it."""
    store.grant(10, id=1)
    store.put("b", lease=1)
    store.txn(success=[Op.delete("a", from_key=True), Op.put("b", "2")])
    assert (lease_of(store, "b"), keys_of(store, 1)) == (0, ())


@pytest.mark.parametrize(
    "write",
    [
        pytest.param(lambda s: s.put("k", "w", lease=99), id="put"),
        pytest.param(lambda s: s.put("new", lease=99), id="put-new-key"),
        pytest.param(lambda s: s.do(Op.put("k", lease=99)), id="do"),
        pytest.param(
            lambda s: s.txn(success=[Op.put("x", lease=1), Op.put("k", lease=99)]), id="txn"
        ),
        pytest.param(
            lambda s: s.txn(success=[Op.delete("k"), Op.txn(success=[Op.put("y", lease=99)])]),
            id="nested-txn",
        ),
        pytest.param(
            lambda s: s.txn(
                compare=[Compare.version("k") == 0],
                success=[Op.put("k")],
                failure=[Op.put("k", lease=99)],
            ),
            id="txn-failure-branch",
        ),
    ],
)
def test_unknown_lease_changes_nothing(store: Store, write: Callable[[Store], object]) -> None:
    """A write with a lease that does not exist fails with LeaseNotFoundError; the revision,
    the keys and the attachments stay as they were."""
    store.grant(60, id=1)
    store.put("k", "v", lease=1)
    before = store.get("", from_key=True)
    with pytest.raises(LeaseNotFoundError, match=f"^{NOT_FOUND}$"):
        write(store)
    assert store.get("", from_key=True) == before
    assert keys_of(store, 1) == (b"k",)


def test_unknown_lease_in_the_branch_not_taken(store: Store) -> None:
    """Only the taken branch's leases must exist."""
    r = store.txn(
        compare=[Compare.version("k") == 0], success=[Op.put("k")], failure=[Op.put("k", lease=9)]
    )
    assert r.succeeded
    assert lease_of(store, "k") == 0


def test_ignore_lease_in_txn_needs_the_key(store: Store) -> None:
    """ignore_lease in a txn on a missing key fails with "key not found"; nothing is written."""
    store.grant(60, id=1)
    with pytest.raises(KeyNotFoundError):
        store.txn(success=[Op.put("a", lease=1), Op.put("missing", ignore_lease=True)])
    assert store.revision == 1
    assert keys_of(store, 1) == ()


def test_expired_lease_is_unknown_to_puts(store: Store, clock: FakeClock) -> None:
    """Once a lease expired, a put with it fails like one with a lease never granted."""
    store.grant(5, id=1)
    clock.advance(5)
    with pytest.raises(LeaseNotFoundError):
        store.put("k", lease=1)
    assert store.revision == 1


# --------------------------------------------------------------------------- Lease handle


def test_lease_handle_context_manager(store: Store, clock: FakeClock) -> None:
    """Store.lease(ttl) grants and keeps the lease alive; leaving the block revokes it and
    deletes its keys."""
    with store.lease(10) as lease:
        assert lease.ttl == 10
        store.put("service/a", "addr", lease=lease.id)
        clock.advance(1000)
        assert store.get("service/a").count == 1
        assert not lease.expired
        assert lease.time_to_live(keys=True).keys == (b"service/a",)
    assert lease.keep_alive.closed  # the handle's ``expired``
    assert store.get("service/a").count == 0
    assert store.time_to_live(lease.id).ttl == -1
    assert store.revision == 3


def test_lease_handle_explicit_id_and_minimum(store: Store) -> None:
    """Store.lease takes an explicit id, and its TTL is raised to the minimum like grant's."""
    with store.lease(1, id=42) as lease:
        assert (lease.id, lease.ttl) == (42, 2)
    assert live(store) == []


def test_lease_handle_release_lets_it_expire(store: Store, clock: FakeClock) -> None:
    """release() stops the keep-alive without revoking: the lease expires a TTL later; leaving
    the block afterwards is harmless."""
    with store.lease(9) as lease:
        store.put("k", lease=lease.id)
        lease.release()
        assert lease.expired
        clock.advance(9 - EPS)
        assert store.get("k").count == 1
        clock.advance(EPS)
        assert store.get("k").count == 0
    assert lease.revoke() is None


def test_lease_handle_ends_when_revoked_elsewhere(store: Store) -> None:
    """A lease revoked by another caller ends the handle's keep-alive; its exit is harmless."""
    with store.lease(10) as lease:
        store.revoke(lease.id)
        assert lease.expired
        assert lease.revoke() is None


def test_lease_handle_revokes_on_error(store: Store) -> None:
    """Leaving the block by an exception revokes the lease too."""

    def fail_inside() -> None:
        with store.lease(10) as lease:
            store.put("k", lease=lease.id)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        fail_inside()
    assert store.get("k").count == 0
    assert live(store) == []


@pytest.mark.anyio
async def test_lease_handle_async(store: Store, clock: FakeClock) -> None:
    """``async with store.lease(ttl)`` keeps the lease alive and revokes it on exit (asyncio
    and trio)."""
    async with store.lease(9) as lease:
        store.put("k", lease=lease.id)
        clock.advance(100)
        assert store.get("k").count == 1
        first = await lease.keep_alive.areceive()
        assert (first.id, first.ttl) == (lease.id, 9)
    assert lease.expired
    assert store.get("k").count == 0


@pytest.mark.anyio
async def test_keep_alive_async_iteration_ends_on_revoke(store: Store, clock: FakeClock) -> None:
    """``async for`` over a keep-alive stream gets each renewal, and stops once the lease is
    revoked (asyncio and trio)."""
    lease = store.grant(9).id
    seen: list[int] = []
    async with store.keep_alive(lease) as ka, anyio.create_task_group() as tg:

        async def read() -> None:
            seen.extend([resp.ttl async for resp in ka])

        tg.start_soon(read)
        for _ in range(3):
            clock.advance(3)
            await anyio.lowlevel.checkpoint()
        store.revoke(lease)
    assert seen == [9, 9, 9, 9]


@pytest.mark.anyio
async def test_keep_alive_async_receive_ends_with_end_of_stream(
    store: Store, clock: FakeClock
) -> None:
    """Once the stream ended and its responses were read, areceive raises EndOfStream."""
    lease = store.grant(5).id
    ka = store.keep_alive(lease)
    assert (await ka.areceive()).ttl == 5
    store.revoke(lease)
    with pytest.raises(anyio.EndOfStream):
        await ka.areceive()


# --------------------------------------------------------------------------- close


def test_close_ends_streams_and_timers(clock: FakeClock) -> None:
    """Store.close() ends every keep-alive stream (and lease handle) and cancels every clock
    timer; lease calls then raise StoppedError."""
    store = Store(clock=clock)
    lease = store.grant(9).id
    ka = store.keep_alive(lease)
    handle = store.lease(30)
    store.grant(60)
    assert clock.pending() > 0
    store.close()
    assert clock.pending() == 0
    assert ka.closed
    assert handle.expired
    assert [r.ttl for r in ka] == [9]
    for call in (
        lambda: store.grant(10),
        lambda: store.revoke(lease),
        lambda: store.time_to_live(lease),
        lambda: store.leases(),
        lambda: store.keep_alive_once(lease),
        lambda: store.keep_alive(lease),
        lambda: store.lease(10),
    ):
        with pytest.raises(StoppedError):
            call()
    clock.advance(1000)  # nothing fires


def test_close_as_context_manager_leaves_no_timer(clock: FakeClock) -> None:
    """Leaving ``with Store(...)`` with live leases and streams leaves no timer pending."""
    with Store(clock=clock) as store:
        store.keep_alive(store.grant(3).id)
        store.grant(100)
        clock.advance(50)
    assert clock.pending() == 0


# --------------------------------------------------------------------------- argument types


@pytest.mark.parametrize(
    ("call", "name"),
    [
        pytest.param(lambda s: s.grant("60"), "ttl", id="grant-ttl-str"),
        pytest.param(lambda s: s.grant(60.0), "ttl", id="grant-ttl-float"),
        pytest.param(lambda s: s.grant(True), "ttl", id="grant-ttl-bool"),
        pytest.param(lambda s: s.grant(60, id="1"), "id", id="grant-id"),
        pytest.param(lambda s: s.grant(60, id=None), "id", id="grant-id-none"),
        pytest.param(lambda s: s.revoke("1"), "id", id="revoke"),
        pytest.param(lambda s: s.time_to_live(1.5), "id", id="time-to-live"),
        pytest.param(lambda s: s.keep_alive_once("1"), "id", id="keep-alive-once"),
        pytest.param(lambda s: s.keep_alive(b"1"), "id", id="keep-alive"),
        pytest.param(lambda s: s.lease("10"), "ttl", id="lease-ttl"),
        pytest.param(lambda s: s.lease(10, id=1.0), "id", id="lease-id"),
        pytest.param(lambda s: s.put("k", lease="1"), "lease", id="put-lease"),
        pytest.param(lambda s: s.put("k", lease=False), "lease", id="put-lease-bool"),
        pytest.param(
            lambda s: s.txn(success=[Op.put("k", lease="1")]),  # type: ignore[arg-type]
            "lease",
            id="op-lease",
        ),
    ],
)
def test_bad_argument_types(store: Store, call: Callable[[Store], object], name: str) -> None:
    """A wrong argument type raises TypeError naming the argument; nothing is granted."""
    with pytest.raises(TypeError, match=f"^{name} must be int, not "):
        call(store)
    assert live(store) == []


def test_bad_keys_flag_type(store: Store) -> None:
    """time_to_live's keys flag must be a bool."""
    with pytest.raises(TypeError, match=r"^keys must be bool, not int$"):
        store.time_to_live(1, keys=1)  # type: ignore[arg-type]


def test_bad_min_lease_ttl_type() -> None:
    """Store(min_lease_ttl=...) must be an int."""
    with pytest.raises(TypeError, match=r"^min_lease_ttl must be int, not str$"):
        Store(min_lease_ttl="2")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- the real clock


def test_expiry_on_the_real_clock_needs_no_call() -> None:
    """On the monotonic clock a lease expires by itself: a watcher sees its key deleted, no
    sooner than the TTL after the grant, with no call to the store in between (bounded wait)."""
    with Store(min_lease_ttl=1) as store:
        w = store.watch("k")
        assert w.receive(timeout=5).created
        before = time.monotonic()
        lease = store.grant(1)
        assert lease.ttl == 1
        store.put("k", "v", lease=lease.id)
        assert w.receive(timeout=5).events[0].type is EventType.PUT
        resp = w.receive(timeout=5)  # the expiry runs on the clock's thread
        after = time.monotonic()
        assert [(e.type, e.kv.key, e.kv.mod_revision) for e in resp.events] == [
            (EventType.DELETE, b"k", 3)
        ]
        assert after - before >= 1.0
        assert live(store) == []
        store._check()
