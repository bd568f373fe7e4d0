"""``hash_kv`` against etcd 3.4's ``HashKV``: the same history gives the same hash.

Each scenario is played on a ``Store(compat="3.4")`` and, on the ``etcd`` backend, on a fresh
real etcd too; then ``hash_kv`` is asked at every revision from 0 (current) to one past the
current one, and both must agree on every answer (hash, compact revision, or the error class).
On the ``store`` backend the Store's hash of the final state is checked against the value etcd
3.4.23 gave for it (recorded below, and re-checked on every ``etcd`` run). Compactions are
physical so etcd has deleted the compacted revisions from its backend before it hashes.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import pytest

from etcdlite import Compare, Op, Store
from etcdlite.errors import CompactedError, FutureRevisionError, StoppedError

from .divergences import divergence

if TYPE_CHECKING:
    from collections.abc import Callable

    from etcdlite._store import Compat

    from .conftest import KVFactory


def _puts(kv: Any) -> None:
    kv.put("a", "1")
    kv.put("b", "2")
    kv.put(b"\x00\xff", b"\x01" * 300)  # binary key, a value whose length takes 2 varint bytes


def _overwrites(kv: Any) -> None:
    kv.put("a", "1")
    kv.put("a", "")
    kv.put("a", "3")
    kv.put("b", "x" * 200)


def _deletes(kv: Any) -> None:
    kv.put("a", "1")
    kv.put("b", "2")
    kv.put("c", "3")
    kv.delete("a")
    kv.delete("nothing")  # no revision
    kv.delete("b", prefix=True)
    kv.put("a", "again")


def _txn(kv: Any) -> None:
    kv.put("a", "1")
    kv.put("k", "0")
    kv.txn(
        [Compare.value("a") == "1"],
        [Op.put("z", "1"), Op.delete("a"), Op.put("c", ""), Op.put("k", "1"), Op.delete("m")],
    )
    kv.txn([Compare.version("a") > 0], [Op.put("never", "x")], [Op.put("f", "f")])


def _leases(kv: Any) -> None:
    kv.grant(100, id=0x1234)
    kv.grant(100, id=2**62 + 5)
    kv.put("a", "1", lease=0x1234)
    kv.put("b", "2", lease=2**62 + 5)
    kv.put("a", "3", ignore_lease=True)
    kv.put("c", "4", lease=0x1234)
    kv.revoke(0x1234)  # deletes a and c in one revision


def _compact_middle(kv: Any) -> None:
    kv.put("a", "1")
    kv.put("b", "2")
    kv.delete("a")
    kv.put("b", "3")
    kv.compact(3, physical=True)
    kv.put("c", "4")
    kv.put("b", "5")


def _compact_at_tombstone(kv: Any) -> None:
    kv.put("a", "1")
    kv.put("b", "2")
    kv.put("b", "3")
    kv.delete("a")
    kv.compact(5, physical=True)
    kv.put("c", "4")


def _compact_at_put(kv: Any) -> None:
    kv.put("a", "1")
    kv.put("b", "2")
    kv.delete("a")
    kv.put("a", "3")
    kv.compact(5, physical=True)
    kv.put("a", "4")


def _compact_all_deleted(kv: Any) -> None:
    # Nothing is live at the end: etcd's Keep set is empty, so HashKV also hashes what
    # compaction kept below its revision.
    kv.put("a", "1")
    kv.put("b", "2")
    kv.put("b", "3")
    kv.compact(3, physical=True)
    kv.delete("a")
    kv.delete("b")


def _compact_twice(kv: Any) -> None:
    kv.put("a", "1")
    kv.put("b", "2")
    kv.compact(2, physical=True)
    kv.put("a", "3")
    kv.delete("b")
    kv.put("c", "5")
    kv.compact(5, physical=True)
    kv.put("a", "6")


def _compact_after_txn(kv: Any) -> None:
    # A txn whose records outlive a compaction; written in key order, so the sub revisions
    # etcdlite numbers in key order are etcd's too.
    kv.txn([], [Op.put("a", "1"), Op.put("b", "2"), Op.put("c", "3")])
    kv.put("c", "4")
    kv.compact(3, physical=True)


SCENARIOS: dict[str, tuple[Callable[[Any], None], int]] = {
    "puts": (_puts, 990224953),
    "overwrites": (_overwrites, 2015452145),
    "deletes": (_deletes, 2121501205),
    "txn": (_txn, 2680631367),
    "leases": (_leases, 1471358547),
    "compact-middle": (_compact_middle, 3848826885),
    "compact-at-tombstone": (_compact_at_tombstone, 2490278839),
    "compact-at-put": (_compact_at_put, 254891871),
    "compact-all-deleted": (_compact_all_deleted, 2220736014),
    "compact-twice": (_compact_twice, 1165883888),
    "compact-after-txn": (_compact_after_txn, 1061552651),
}


def _answer(kv: Any, rev: int) -> tuple[object, ...]:
    try:
        r = kv.hash_kv(rev)
    except (CompactedError, FutureRevisionError) as e:
        return (type(e).__name__, str(e))
    return (r.hash, r.compact_revision, r.header.revision)


def _answers(kv: Any) -> list[tuple[object, ...]]:
    return [_answer(kv, rev) for rev in range(kv.revision + 2)]


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_hash_kv_matches_etcd(make_kv: KVFactory, name: str) -> None:
    """HashKV at every revision equals etcd 3.4's for the same history (compaction-drops-
    tombstone: the Store runs with compat="3.4")."""
    divergence("compaction-drops-tombstone")
    play, expected = SCENARIOS[name]
    store = make_kv.store(compat="3.4")
    play(store)
    store._check()
    assert store.hash_kv().hash == expected
    if make_kv.backend == "etcd":
        etcd = make_kv.etcd()
        play(etcd)
        time.sleep(0.15)  # 3.4 makes compaction deletes visible at its next backend commit
        assert _answers(store) == _answers(etcd)


def test_hash_kv_errors(kv: Any) -> None:
    """HashKV refuses a revision at or below the compaction (even the one reads still serve)
    and one above the current revision; 0 means the current revision."""
    for v in "abc":
        kv.put("k", v)
    kv.compact(3, physical=True)
    assert kv.get("k", revision=3).kvs[0].value == b"b"
    with pytest.raises(CompactedError):
        kv.hash_kv(3)
    with pytest.raises(FutureRevisionError):
        kv.hash_kv(5)
    current = kv.hash_kv(0)
    assert current.hash == kv.hash_kv(4).hash
    assert (current.compact_revision, current.header.revision) == (3, 4)


def test_hash_kv_fresh(kv: Any) -> None:
    """A fresh store hashes just the bucket name; compact_revision is -1 until a compaction."""
    r = kv.hash_kv()
    assert (r.hash, r.compact_revision, r.header.revision) == (1084519789, -1, 1)
    kv.compact(0)
    assert kv.hash_kv().compact_revision == 0


def _txn_reverse_order(kv: Any) -> None:
    kv.txn([], [Op.put("b", "1"), Op.put("a", "2")])
    kv.put("x", "3")
    kv.compact(3, physical=True)


@pytest.mark.parametrize("compat", ["3.4", "3.5"])
def test_hash_kv_compacted_txn_sub(make_kv: KVFactory, compat: Compat) -> None:
    """A txn that wrote keys out of key order and outlived a compaction keeps its records' sub
    revisions (their place in the txn), which etcd's hash covers: the hashes agree."""
    store = make_kv.store(compat=compat)
    _txn_reverse_order(store)
    assert store.hash_kv().hash == 381827645  # etcd 3.4.23's answer
    if make_kv.backend == "etcd":
        etcd = make_kv.etcd()
        _txn_reverse_order(etcd)
        time.sleep(0.15)
        assert etcd.hash_kv().hash == 381827645


def test_hash_kv_delete_then_put_in_a_txn_at_the_compaction(make_kv: KVFactory) -> None:
    """A txn that deleted a key and then put another, compacted at exactly its revision: the put
    keeps its sub (1) although etcd 3.4 drops the tombstone before it."""
    store = make_kv.store(compat="3.4")

    def play(kv: Any) -> None:
        kv.put("a", "0")
        kv.txn([], [Op.delete("a"), Op.put("b", "1")])
        kv.put("c", "2")
        kv.compact(3, physical=True)

    play(store)
    if make_kv.backend == "etcd":
        etcd = make_kv.etcd()
        play(etcd)
        time.sleep(0.15)
        assert store.hash_kv().hash == etcd.hash_kv().hash
    else:
        assert len(store._kv.compacted_subs) == 1  # b's record, sub 1
        store.put("b", "3")
        store.compact(5)
        assert store._kv.compacted_subs == {}  # b's old record left the index: forgotten
        store._check()


def test_hash_kv_compat_35_tombstone() -> None:
    """With compat="3.5" a tombstone at the compaction revision stays in the history (as in
    etcd 3.5.15+), and is hashed when nothing is live (compaction-drops-tombstone)."""
    divergence("compaction-drops-tombstone")
    hashes = {}
    for compat in ("3.4", "3.5"):
        store = Store(compat=compat)
        store.put("a", "1")
        store.delete("a")
        store.compact(3)
        hashes[compat] = store.hash_kv().hash
    assert hashes["3.4"] != hashes["3.5"]


def test_hash_kv_closed() -> None:
    """hash_kv on a closed store raises StoppedError like every other call."""
    store = Store()
    store.close()
    with pytest.raises(StoppedError):
        store.hash_kv()
