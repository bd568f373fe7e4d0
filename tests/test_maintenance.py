"""The Store's maintenance calls: status, the size estimate, the backend quota, alarms, defragment.

etcd's behaviour (checked against etcd 3.4.23 in ``tests/conformance/test_quota.py``): a put,
a txn with a put in either branch, and a lease grant are admitted while ``size + cost < quota``
(cost: 256 + key + value per put, the larger branch of a txn, 64 per lease grant); the first
refusal raises the NOSPACE alarm, which then refuses them whatever the size until disarmed.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

import pytest

from etcdlite import AlarmMember, AlarmType, Compare, Op, Store
from etcdlite._quota import KV_OVERHEAD, LEASE_RECORD, RECORD_OVERHEAD, quota_limit
from etcdlite.errors import CorruptError, NoSpaceError, StoppedError
from etcdlite.testing import FakeClock

if TYPE_CHECKING:
    from collections.abc import Callable

ME = 10276657743932975437  # the Store's default member id


def rec(key: str, value: str = "") -> int:
    """The estimated bytes of one stored revision."""
    return len(key) + len(value) + RECORD_OVERHEAD


# -- status and the size estimate ----------------------------------------------------------


@pytest.mark.parametrize(("compat", "version"), [("3.4", "3.4.23"), ("3.5", "3.5.0")])
def test_status_of_a_fresh_store(compat: str, version: str) -> None:
    """Status names the compat profile's etcd version, this member as leader, the revision as
    raft index, an empty size and no errors."""
    store = Store(compat=compat)  # type: ignore[arg-type]
    s = store.status()
    assert (s.version, s.leader, s.raft_index, s.raft_applied_index) == (version, ME, 1, 1)
    assert (s.db_size, s.db_size_in_use, s.errors, s.is_learner) == (0, 0, (), False)
    assert s.header == store.header
    assert s.raft_term == s.header.raft_term == 2


def test_size_counts_every_stored_revision_and_lease() -> None:
    """Each put and each delete's tombstone adds key + value + the record overhead; a lease
    adds its record; reads and no-op deletes add nothing."""
    store = Store()
    store.put("k", "abc")  # fast path
    store.put("k", "de", prev_kv=True)  # general path
    store.get("k")
    store.delete("missing")
    store.delete("k")
    store.txn(success=[Op.put("t1", "x"), Op.put("t2", "")])
    expected = rec("k", "abc") + rec("k", "de") + rec("k") + rec("t1", "x") + rec("t2")
    assert store.status().db_size == store.status().db_size_in_use == expected
    lease = store.grant(60).id
    assert store.status().db_size == expected + LEASE_RECORD
    store.put("l", "v", lease=lease)
    expected += LEASE_RECORD + rec("l", "v")
    assert store.status().db_size == expected
    store.revoke(lease)  # a tombstone for "l"; the lease record is freed
    s = store.status()
    assert (s.db_size, s.db_size_in_use) == (
        expected + rec("l"),
        expected + rec("l") - LEASE_RECORD,
    )


def test_compaction_frees_in_use_and_defragment_shrinks_the_size() -> None:
    """Compaction frees the dropped records from db_size_in_use only; defragment brings
    db_size down to it; new writes reuse the freed space before the size grows again."""
    store = Store()
    for v in ("a", "b", "c"):
        store.put("k", v)
    store.delete("gone")
    store.put("gone", "x")
    store.delete("gone")  # a tombstone, dropped by compaction with its generation
    store.put("z", "1")
    full = 3 * rec("k", "a") + rec("gone", "x") + rec("gone") + rec("z", "1")
    store.compact(store.revision)
    s = store.status()
    assert (s.db_size, s.db_size_in_use) == (full, rec("k", "c") + rec("z", "1"))
    store.put("n", "1")
    assert store.status().db_size == full
    store.defragment()
    s = store.status()
    assert s.db_size == s.db_size_in_use == rec("k", "c") + rec("z", "1") + rec("n", "1")


def test_compat_34_compaction_frees_the_tombstone_at_the_revision() -> None:
    """etcd 3.4 drops a tombstone at exactly the compaction revision; 3.5 keeps it."""
    sizes = {}
    for compat in ("3.4", "3.5"):
        store = Store(compat=compat)
        store.put("k", "v")
        store.delete("k")
        store.compact(store.revision)
        sizes[compat] = store.status().db_size_in_use
    assert sizes == {"3.4": 0, "3.5": rec("k")}


# -- the quota -------------------------------------------------------------------------------


@pytest.mark.parametrize(("given", "limit"), [(0, 2 * 1024**3), (-1, None), (1, 1), (300, 300)])
def test_quota_values_mean_what_etcd_means(given: int, limit: int | None) -> None:
    """0 is the default 2 GiB, a negative quota is no quota."""
    assert quota_limit(given) == limit


def test_a_put_is_admitted_while_size_plus_cost_stays_below_the_quota() -> None:
    """size + 256 + key + value < quota admits; equal refuses, raises NOSPACE and changes
    nothing."""
    cost = KV_OVERHEAD + 2
    store = Store(quota_backend_bytes=cost + 1)
    assert store.put("k", "v").header.revision == 2
    with pytest.raises(NoSpaceError, match=r"^etcdserver: mvcc: database space exceeded$"):
        store.put("k", "v")
    assert store.revision == 2
    assert store.alarm_list().alarms == (AlarmMember(ME, AlarmType.NOSPACE),)
    with pytest.raises(NoSpaceError):
        Store(quota_backend_bytes=cost).put("k", "v")


def test_no_quota_admits_what_a_tiny_quota_refuses() -> None:
    """quota_backend_bytes=-1 turns the check off."""
    with pytest.raises(NoSpaceError):
        Store(quota_backend_bytes=1).put("k", "v")
    assert Store(quota_backend_bytes=-1).put("k", "v" * 5000).header.revision == 2


@pytest.mark.parametrize("path", ["fast", "general", "mixed"])
def test_fast_and_general_puts_hit_the_quota_at_the_same_put(path: str) -> None:
    """The fast path's headroom admits exactly the puts the exact check admits."""
    quota = 10_000
    store = Store(quota_backend_bytes=quota)
    step = rec("k" * 10, "v" * 10)
    expected = sum(1 for i in range(200) if i * step + KV_OVERHEAD + 20 < quota)
    done = 0
    for i in range(200):
        general = path == "general" or (path == "mixed" and i % 2 == 1)
        try:
            store.put("k" * 10, "v" * 10, prev_kv=general)
        except NoSpaceError:
            break
        done += 1
    assert done == expected == 116
    assert store.status().db_size == expected * step


def test_a_txn_costs_its_larger_branch_and_a_lease_grant_64() -> None:
    """A txn is admitted by its larger branch's cost; a lease grant costs 64."""
    store = Store(quota_backend_bytes=KV_OVERHEAD + 2 + 1)
    small, big = [Op.put("a", "")], [Op.put("k", "v")]
    with pytest.raises(NoSpaceError):
        Store(quota_backend_bytes=KV_OVERHEAD + 2).txn(success=small, failure=big)
    assert store.txn(success=small, failure=big).header.revision == 2
    assert Store(quota_backend_bytes=65).grant(60).ttl == 60
    with pytest.raises(NoSpaceError):
        Store(quota_backend_bytes=64).grant(60)


def test_what_works_under_the_nospace_alarm() -> None:
    """Puts, txns with a put anywhere (even a branch not taken, even nested) and lease grants
    fail; reads, deletes, delete-only and read-only txns, compaction, revoke, keep-alive and
    defragment work; the alarm stays until disarmed."""
    store = Store()
    store.put("a", "1")
    lease = store.grant(60).id
    store.alarm_activate("NOSPACE")
    refused: list[Callable[[], object]] = [
        lambda: store.put("a", "2"),
        lambda: store.put("b", "1", prev_kv=True),
        lambda: store.txn(success=[Op.get("a")], failure=[Op.put("b", "1")]),
        lambda: store.txn(success=[Op.txn(success=[Op.put("b", "1")])]),
        lambda: store.grant(60),
    ]
    for call in refused:
        with pytest.raises(NoSpaceError):
            call()
    assert store.revision == 2
    assert store.get("a").kvs[0].value == b"1"
    assert store.txn([Compare.version("a") > 0], [Op.get("a")]).succeeded
    assert store.txn(success=[Op.delete("a")]).header.revision == 3
    assert store.delete("zz").header.revision == 3
    store.keep_alive_once(lease)
    store.revoke(lease)
    store.compact(3)
    store.defragment()
    assert store.status().errors == (f"memberID:{ME} alarm:NOSPACE ",)
    assert [m.alarm for m in store.alarm_disarm().alarms] == [AlarmType.NOSPACE]
    assert store.put("a", "2").header.revision == 4


def test_a_write_over_the_quota_raises_the_alarm_again_after_disarm() -> None:
    """Disarming lets writes try again; the first that does not fit raises NOSPACE anew."""
    store = Store(quota_backend_bytes=KV_OVERHEAD + 2 + 1)
    store.put("k", "v")
    with pytest.raises(NoSpaceError):
        store.put("k", "v")
    store.alarm_disarm()
    assert store.alarm_list().alarms == ()
    with pytest.raises(NoSpaceError):
        store.put("k", "v")
    assert len(store.alarm_list().alarms) == 1


# -- alarms ----------------------------------------------------------------------------------


def test_alarms_of_several_members() -> None:
    """Any member id can be alarmed; the cap holds while any NOSPACE alarm is up; list filters
    by type, keeps the raise order; disarming one leaves the others."""
    store = Store()
    assert store.alarm_activate("NOSPACE", member_id=7).alarms == (
        AlarmMember(7, AlarmType.NOSPACE),
    )
    assert store.alarm_activate(AlarmType.NOSPACE, member_id=7).alarms == (
        AlarmMember(7, AlarmType.NOSPACE),
    )
    store.alarm_activate("nospace")
    store.alarm_activate("CORRUPT", member_id=7)
    assert [(m.member_id, m.alarm.name) for m in store.alarm_list().alarms] == [
        (7, "NOSPACE"),
        (ME, "NOSPACE"),
        (7, "CORRUPT"),
    ]
    assert store.alarm_list("CORRUPT").alarms == (AlarmMember(7, AlarmType.CORRUPT),)
    assert store.status().errors == (
        "memberID:7 alarm:NOSPACE ",
        f"memberID:{ME} alarm:NOSPACE ",
        "memberID:7 alarm:CORRUPT ",
    )
    assert store.alarm_disarm("CORRUPT", member_id=7).alarms == (AlarmMember(7, AlarmType.CORRUPT),)
    assert store.alarm_disarm("CORRUPT", member_id=7).alarms == ()
    assert store.alarm_disarm("NOSPACE", member_id=7).alarms == (AlarmMember(7, AlarmType.NOSPACE),)
    with pytest.raises(NoSpaceError):
        store.put("k", "v")
    assert store.alarm_disarm("NOSPACE").alarms == (AlarmMember(ME, AlarmType.NOSPACE),)
    assert store.put("k", "v").header.revision == 2


def test_alarm_none_and_bad_types() -> None:
    """Activating NONE raises nothing; disarming (member, NONE) disarms nothing; unknown
    types are refused."""
    store = Store()
    store.alarm_activate("NOSPACE")
    assert store.alarm_activate("NONE", member_id=0).alarms == ()
    assert store.alarm_disarm(AlarmType.NONE, member_id=0).alarms == ()
    assert len(store.alarm_list().alarms) == 1
    with pytest.raises(ValueError, match="unknown alarm type"):
        store.alarm_activate("FULL")
    with pytest.raises(ValueError, match="unknown alarm type"):
        store.alarm_list(5)
    with pytest.raises(TypeError):
        store.alarm_activate(1.5)  # type: ignore[arg-type]


def test_what_works_under_the_corrupt_alarm() -> None:
    """Every write fails with CorruptError; reads, read-only txns, status and keep-alive work;
    lease expiry waits for the disarm."""
    clock = FakeClock()
    store = Store(clock=clock)
    lease = store.grant(10).id
    store.put("a", "1", lease=lease)
    store.alarm_activate("CORRUPT")
    refused: list[Callable[[], object]] = [
        lambda: store.put("a", "2"),
        lambda: store.delete("a"),
        lambda: store.txn(success=[Op.delete("a")]),
        lambda: store.compact(2),
        lambda: store.grant(60),
        lambda: store.revoke(lease),
    ]
    for call in refused:
        with pytest.raises(CorruptError, match=r"^etcdserver: corrupt cluster$"):
            call()
    assert store.get("a").count == 1
    assert store.txn(success=[Op.get("a")]).responses[0].count == 1  # type: ignore[union-attr]
    store.keep_alive_once(lease)
    clock.advance(30)
    assert store.get("a").count == 1  # the expiry waits
    store.alarm_disarm()
    assert store.get("a").count == 0
    assert store.revision == 3


def test_maintenance_on_a_closed_store() -> None:
    """The maintenance calls raise StoppedError once the store is closed."""
    store = Store()
    store.close()
    for call in (store.status, store.defragment, store.alarm_list, store.alarm_disarm):
        with pytest.raises(StoppedError):
            call()


@pytest.mark.parametrize("compat", ["3.4", "3.5"])
@pytest.mark.parametrize("seed", range(4))
def test_size_estimate_matches_a_recount_through_random_histories(compat: str, seed: int) -> None:
    """After every step of a random history (puts on both paths, deletes, txns, leases,
    compactions at any revision) the in-use estimate equals a recount of the retained records
    and live leases (Store._check), and the size never falls below it."""
    rng = random.Random(seed)
    store = Store(compat=compat)  # type: ignore[arg-type]
    keys = [f"k{i}" for i in range(6)]
    leases: list[int] = []
    for _ in range(400):
        step = rng.randrange(9)
        key, value = rng.choice(keys), "v" * rng.randrange(4)
        if step <= 1:
            store.put(key, value)
        elif step == 2:
            store.put(key, value, prev_kv=True, lease=rng.choice([0, *leases]))
        elif step == 3:
            store.delete(key, prefix=rng.random() < 0.3)
        elif step == 4:
            store.txn(success=[Op.put(key, value), Op.delete(rng.choice(keys) + "x")])
        elif step == 5 and store.revision > store.compact_revision + 1:
            store.compact(rng.randrange(max(store.compact_revision + 1, 1), store.revision + 1))
        elif step == 6:
            leases.append(store.grant(60).id)
        elif step == 7 and leases:
            store.revoke(leases.pop(rng.randrange(len(leases))))
        elif step == 8 and rng.random() < 0.2:
            store.defragment()
        store._check()
