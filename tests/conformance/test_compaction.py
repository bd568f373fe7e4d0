"""Compaction (SEMANTICS 2.5): errors, reads around the compaction revision, tombstones."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from etcdlite import Op, Store
from etcdlite.errors import CompactedError, FutureRevisionError

from .divergences import divergence

if TYPE_CHECKING:
    from etcdlite import CompactionResponse, RangeResponse
    from etcdlite.errors import EtcdError

    from ._harness import KVBackend
    from .conftest import Differential


COMPACTIONS: list[Any] = [
    pytest.param([4], [None], id="current"),
    pytest.param([2], [None], id="past"),
    pytest.param([5], [FutureRevisionError], id="future"),
    pytest.param([3, 3], [None, CompactedError], id="same-twice"),
    pytest.param([3, 2], [None, CompactedError], id="lower-than-compacted"),
    pytest.param([2, 4], [None, None], id="higher-than-compacted"),
    pytest.param([1], [None], id="first-revision"),
    # etcd's compactMainRev starts at -1, so compact(0) on a never-compacted etcd succeeds.
    pytest.param([0], [None], id="zero-on-fresh-store"),
    pytest.param([-1], [CompactedError], id="negative"),
    pytest.param([5, 4], [FutureRevisionError, None], id="future-changes-nothing"),
]


@pytest.mark.parametrize(("revisions", "errors"), COMPACTIONS)
def test_compaction_errors(
    differential: Differential, revisions: list[int], errors: list[type[EtcdError] | None]
) -> None:
    """compact(rev) > current is ErrFutureRev; rev <= the compacted revision is ErrCompacted."""

    def scenario(kv: KVBackend) -> list[str]:
        for v in ("a", "b", "c"):
            kv.put("k", v)  # revisions 2, 3, 4
        out = []
        for rev in revisions:
            try:
                r = kv.compact(rev)
                out.append(f"compacted at {r.header.revision}")
            except (CompactedError, FutureRevisionError) as err:
                out.append(type(err).__name__)
        return out

    expected = ["compacted at 4" if e is None else e.__name__ for e in errors]
    assert differential(scenario) == expected


def test_reads_around_compaction(differential: Differential) -> None:
    """After compact(rev), reads below rev are ErrCompacted and reads at rev or later work."""

    def scenario(kv: KVBackend) -> list[object]:
        for v in ("a", "b", "c", "d"):
            kv.put("k", v)  # 2..5
        kv.put("gone", "x")  # 6
        kv.delete("gone")  # 7
        kv.compact(4)
        out: list[object] = []
        for rev in (3, 4, 5, 6, 7):
            try:
                r = kv.get("\0", from_key=True, revision=rev)
                out.append([(x.key, x.value) for x in r.kvs])
            except CompactedError as err:
                out.append(type(err).__name__)
        return out

    assert differential(scenario) == [
        "CompactedError",
        [(b"k", b"c")],
        [(b"k", b"d")],
        [(b"gone", b"x"), (b"k", b"d")],
        [(b"k", b"d")],
    ]


def test_compaction_keeps_current_state(differential: Differential) -> None:
    """Compaction never changes the current keys, their revisions or versions."""

    def scenario(kv: KVBackend) -> tuple[RangeResponse, CompactionResponse, RangeResponse]:
        kv.put("a", "1")
        kv.put("a", "2")
        kv.put("b", "1")
        kv.delete("b")
        kv.put("c", "1")
        before = kv.get("\0", from_key=True)
        return before, kv.compact(kv.revision), kv.get("\0", from_key=True)

    before, compaction, after = differential(scenario)
    assert after == before
    assert compaction.header.revision == 6
    assert [(x.key, x.create_revision, x.mod_revision, x.version) for x in after.kvs] == [
        (b"a", 2, 3, 2),
        (b"c", 6, 6, 1),
    ]


def test_compaction_in_txn_rejected_for_compacted_range(differential: Differential) -> None:
    """A txn whose range asks for a compacted revision fails; one at the compaction revision works."""

    def scenario(kv: KVBackend) -> list[object]:
        for v in ("a", "b", "c"):
            kv.put("k", v)  # 2..4
        kv.compact(3)
        at = kv.txn(success=[Op.get("k", revision=3)])
        try:
            kv.txn(success=[Op.get("k", revision=2)])
        except CompactedError as err:
            return [at.responses[0], type(err).__name__]
        return [at.responses[0]]

    at, err = differential(scenario)
    assert [x.value for x in at.kvs] == [b"b"]  # type: ignore[attr-defined]
    assert err == "CompactedError"


def _tombstone_scenario(kv: KVBackend) -> list[object]:
    """Delete "k" at revision 4, compact at exactly 4, then look at "k" every way the KV API can."""
    kv.put("k", "v1")  # 2
    kv.put("other", "x")  # 3
    kv.delete("k")  # 4: the tombstone
    kv.compact(4)
    out: list[object] = [
        kv.get("k", revision=4),
        kv.get("\0", from_key=True, revision=4),
        kv.get("k", count_only=True, revision=4),
        kv.delete("k"),
    ]
    kv.put("k", "v2")  # 5: a new incarnation
    out.append(kv.get("k"))
    kv.compact(5)
    out.append(kv.get("k", revision=5))
    return out


@pytest.mark.parametrize("compat", ["3.4", "3.5"])
def test_tombstone_at_compaction_revision(
    differential: Differential, backend: str, compat: Any
) -> None:
    """Compacting at a delete's revision: the key stays absent at that revision, and a re-create
    starts over (registry: compaction-drops-tombstone)."""
    d = divergence("compaction-drops-tombstone")
    assert d.store_compat == "3.4"
    # etcd 3.4 drops the tombstone at exactly the compaction revision; current etcd keeps it for
    # watchers. Through the KV API both are invisible: every profile must agree with etcd 3.4.
    at_4, everything, count, delete, recreated, at_5 = differential(
        _tombstone_scenario, compat=compat
    )
    assert (at_4.kvs, at_4.count) == ((), 0)  # type: ignore[attr-defined]
    assert [x.key for x in everything.kvs] == [b"other"]  # type: ignore[attr-defined]
    assert count.count == 0  # type: ignore[attr-defined]
    assert (delete.deleted, delete.header.revision) == (0, 4)  # type: ignore[attr-defined]
    (rec,) = recreated.kvs  # type: ignore[attr-defined]
    assert (rec.create_revision, rec.mod_revision, rec.version) == (5, 5, 1)
    assert [x.value for x in at_5.kvs] == [b"v2"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(("compat", "kept"), [("3.4", False), ("3.5", True)])
def test_tombstone_profile_in_store_history(compat: Any, kept: bool) -> None:
    """The Store's history at the compaction revision keeps the tombstone only with compat="3.5"
    (what a watch from that revision replays; registry: compaction-drops-tombstone)."""
    store = Store(compat=compat)
    store.put("k", "v1")
    store.put("other", "x")
    store.delete("k")
    store.compact(4)
    events = [
        (rev, [(c.key, c.version) for c in recs]) for rev, recs in store._kv.changes(4) if recs
    ]
    assert events == ([(4, [(b"k", 0)])] if kept else [])
