"""The revisioned kv (kvstore.go): revisions, the revision log, txns, rollback, compaction."""

from __future__ import annotations

import pytest

from etcdlite._mvcc._kv import KV
from etcdlite.errors import CompactedError, FutureRevisionError


def changes(kv: KV, start: int) -> list[tuple[int, list[tuple[bytes, int]]]]:
    return [(rev, [(c.key, c.version) for c in recs]) for rev, recs in kv.changes(start)]


def test_fresh_store_is_at_revision_one() -> None:
    """A fresh store has revision 1 and no keys; the first write makes revision 2."""
    kv = KV()
    assert (kv.revision, kv.compact_revision, len(kv.index)) == (1, -1, 0)
    new, prev = kv.put(b"a", b"1", 0)
    assert (new.create_revision, new.mod_revision, new.version, prev) == (2, 2, 1, None)
    assert kv.revision == 2
    kv._check()


def test_versions_and_recreate() -> None:
    """Version counts puts since creation; a delete resets it and a re-create starts at 1."""
    kv = KV()
    kv.put(b"k", b"1", 0)
    second, prev = kv.put(b"k", b"2", 0)
    assert (second.create_revision, second.version, prev and prev.value) == (2, 2, b"1")
    w = kv.begin()
    assert [p.value for p in w.delete(b"k", b"")] == [b"2"]
    assert w.commit() == 4
    again, prev = kv.put(b"k", b"3", 0)
    assert (again.create_revision, again.mod_revision, again.version, prev) == (5, 5, 1, None)
    kv._check()


def test_a_txn_is_one_revision_and_no_change_is_none() -> None:
    """Every write request lands at exactly one revision; a request that changes nothing, none."""
    kv = KV()
    w = kv.begin()
    for key in (b"a", b"b", b"c"):
        w.put(key, b"v", 0)
    assert w.read_revision == 2
    assert w.commit() == 2
    assert {c.mod_revision for _, recs in kv.changes(0) for c in recs} == {2}
    w = kv.begin()
    assert w.delete(b"zzz", b"") == []
    assert w.read_revision == 2
    assert w.commit() == 2
    assert kv.revision == 2
    kv._check()


def test_rollback_restores_the_index() -> None:
    """A write txn that fails is taken back out of the index, and the revision stays."""
    kv = KV()
    kv.put(b"a", b"1", 0)
    w = kv.begin()
    w.put(b"a", b"2", 0)
    w.put(b"new", b"x", 0)
    w.delete(b"a", b"\0")
    w.rollback()
    assert kv.revision == 2
    assert kv.index.records(b"a") == [kv.index.get(b"a")]
    assert kv.index.get(b"new") is None
    kv._check()


def test_changes_replays_the_log() -> None:
    """The revision log yields each revision's records in order, from any retained start."""
    kv = KV()
    kv.put(b"a", b"1", 0)
    w = kv.begin()
    w.put(b"b", b"2", 0)
    w.delete(b"a", b"")
    w.commit()
    kv.put(b"c", b"3", 0)
    assert changes(kv, 0) == [(2, [(b"a", 1)]), (3, [(b"b", 1), (b"a", 0)]), (4, [(b"c", 1)])]
    assert changes(kv, 4) == [(4, [(b"c", 1)])]
    assert changes(kv, 5) == []


@pytest.mark.parametrize(
    ("rev", "error"),
    [(6, FutureRevisionError), (3, CompactedError), (2, CompactedError)],
    ids=["future", "same-as-compacted", "below-compacted"],
)
def test_compact_errors_change_nothing(rev: int, error: type[Exception]) -> None:
    """Compacting above the current revision or at/below the last compaction is refused."""
    kv = KV()
    for i in range(4):
        kv.put(b"k", b"%d" % i, 0)
    kv.compact(3)
    with pytest.raises(error):
        kv.compact(rev)
    assert (kv.revision, kv.compact_revision) == (5, 3)
    kv._check()


def test_compaction_trims_history_and_log() -> None:
    """After compact(rev), reads at rev still work, below it raise, and the log starts at rev."""
    kv = KV()
    for i in range(5):  # revisions 2..6
        kv.put(b"k", b"%d" % i, 0)
    kv.put(b"gone", b"x", 0)  # 7
    w = kv.begin()
    w.delete(b"gone", b"")
    w.commit()  # 8
    kv.compact(4)
    assert [c.mod_revision for c in kv.index.records(b"k")] == [4, 5, 6]
    assert kv.read_revision(4) == 4
    with pytest.raises(CompactedError):
        kv.read_revision(3)
    assert [rev for rev, _ in kv.changes(4)] == [4, 5, 6, 7, 8]
    with pytest.raises(CompactedError):
        list(kv.changes(3))
    kv.compact(9 - 1)
    assert kv.index.get(b"gone") is not None  # its tombstone sits exactly at 8: kept
    kv._check()
    kv.put(b"k", b"last", 0)  # 9
    kv.compact(9)
    assert kv.index.get(b"gone") is None
    assert [c.mod_revision for c in kv.index.records(b"k")] == [9]
    kv._check()


def test_compat_34_drops_the_tombstone_at_the_compaction_revision() -> None:
    """etcd 3.4 drops a tombstone at exactly the compaction revision, from history and log."""
    kv = KV(keep_compacted_tombstone=False)
    kv.put(b"a", b"1", 0)
    w = kv.begin()
    w.delete(b"a", b"")
    w.put(b"b", b"2", 0)
    w.commit()  # 3: delete a, put b
    kv.compact(3)
    assert kv.index.get(b"a") is None
    assert changes(kv, 3) == [(3, [(b"b", 1)])]
    kv._check()


def test_compact_zero_on_a_fresh_store() -> None:
    """etcd's compaction revision starts at -1: compact(0) succeeds once, then is compacted."""
    kv = KV()
    kv.compact(0)
    assert kv.compact_revision == 0
    with pytest.raises(CompactedError):
        kv.compact(0)
    with pytest.raises(CompactedError):
        kv.compact(-1)
    kv._check()


def test_read_revision_rules() -> None:
    """0 or less means current; above current is future; below the compaction is compacted."""
    kv = KV()
    kv.put(b"a", b"1", 0)
    kv.put(b"a", b"2", 0)
    assert [kv.read_revision(r) for r in (0, -5, 1, 3)] == [3, 3, 1, 3]
    with pytest.raises(FutureRevisionError):
        kv.read_revision(4)
