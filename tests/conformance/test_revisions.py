"""The revision model (SEMANTICS 2.0): one revision per write request, per-key revisions, history."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from etcdlite import Compare, Op

if TYPE_CHECKING:
    from collections.abc import Callable

    from etcdlite import DeleteRangeResponse, RangeResponse, TxnResponse

    from ._harness import KVBackend
    from .conftest import Differential


def test_fresh_store_is_at_revision_1(kv: KVBackend) -> None:
    """A fresh etcd has header revision 1 and no keys; the first write makes revision 2."""
    assert kv.revision == 1
    r = kv.get("\0", from_key=True)
    assert (r.header.revision, r.kvs, r.count, r.more) == (1, (), 0, False)
    assert kv.put("k", "v").header.revision == 2
    assert kv.revision == 2


# Each request, applied after puts of "a" (rev 2) and "b" (rev 3), and by how much it moves the
# store's revision: every write request that changes something bumps it by exactly one.
BUMPS: list[tuple[str, Callable[[KVBackend], object], int]] = [
    ("put-new", lambda kv: kv.put("c", "1"), 1),
    ("put-same-value", lambda kv: kv.put("a", "a"), 1),
    ("delete-one", lambda kv: kv.delete("a"), 1),
    ("delete-two-keys", lambda kv: kv.delete("a", range_end="c"), 1),
    ("delete-missing", lambda kv: kv.delete("zz"), 0),
    ("delete-empty-range", lambda kv: kv.delete("x", prefix=True), 0),
    ("range", lambda kv: kv.get("a", from_key=True), 0),
    ("txn-three-puts", lambda kv: kv.txn(success=[Op.put(k, "t") for k in "xyz"]), 1),
    ("txn-put-and-delete", lambda kv: kv.txn(success=[Op.put("x", "1"), Op.delete("a")]), 1),
    ("txn-read-only", lambda kv: kv.txn(success=[Op.get("a"), Op.get("b", from_key=True)]), 0),
    ("txn-no-op-deletes", lambda kv: kv.txn(success=[Op.delete("zz"), Op.delete("q")]), 0),
    ("txn-empty", lambda kv: kv.txn(), 0),
    (
        "txn-failed-compare-empty-else",
        lambda kv: kv.txn([Compare.version("a") == 9], [Op.put("x", "1")]),
        0,
    ),
    (
        "txn-failed-compare-put-in-else",
        lambda kv: kv.txn([Compare.version("a") == 9], [], [Op.put("x", "1")]),
        1,
    ),
    (
        "nested-txn-put",
        lambda kv: kv.txn(success=[Op.txn(success=[Op.put("x", "1"), Op.put("y", "1")])]),
        1,
    ),
    ("nested-txn-read-only", lambda kv: kv.txn(success=[Op.txn(success=[Op.get("a")])]), 0),
    ("compact", lambda kv: kv.compact(2), 0),
]


@pytest.mark.parametrize(("request_", "bump"), [pytest.param(f, b, id=i) for i, f, b in BUMPS])
def test_write_request_bumps_revision_once(
    differential: Differential, request_: Callable[[KVBackend], object], bump: int
) -> None:
    """Every write request bumps the revision by exactly 1; requests that change nothing by 0."""

    def scenario(kv: KVBackend) -> tuple[int, int]:
        kv.put("a", "a")
        kv.put("b", "b")
        before = kv.revision
        request_(kv)
        return before, kv.revision

    before, after = differential(scenario)
    assert before == 3
    assert after == before + bump


def test_txn_puts_share_one_revision(differential: Differential) -> None:
    """A txn with three puts gives all keys mod_revision N and every sub-response revision N."""

    def scenario(kv: KVBackend) -> tuple[TxnResponse, RangeResponse]:
        t = kv.txn(success=[Op.put("a", "1"), Op.put("b", "2"), Op.put("c", "3")])
        return t, kv.get("a", range_end="d")

    t, r = differential(scenario)
    assert t.header.revision == 2
    assert [sub.header.revision for sub in t.responses] == [2, 2, 2]
    assert [(kv.key, kv.create_revision, kv.mod_revision, kv.version) for kv in r.kvs] == [
        (b"a", 2, 2, 1),
        (b"b", 2, 2, 1),
        (b"c", 2, 2, 1),
    ]


def test_create_mod_version_rules(differential: Differential) -> None:
    """create_revision is the creating put, mod_revision the last change, version the put count."""

    def scenario(kv: KVBackend) -> list[tuple[int, int, int]]:
        seen = []
        for value in ("v1", "v2", "v2"):
            kv.put("k", value)
            kv.put("other", value)
            (rec,) = kv.get("k").kvs
            seen.append((rec.create_revision, rec.mod_revision, rec.version))
        return seen

    assert differential(scenario) == [(2, 2, 1), (2, 4, 2), (2, 6, 3)]


def test_delete_and_recreate(differential: Differential) -> None:
    """A delete resets version and create_revision; a re-create starts a new incarnation at 1."""

    def scenario(kv: KVBackend) -> tuple[DeleteRangeResponse, RangeResponse, RangeResponse]:
        kv.put("k", "a")  # 2
        kv.put("k", "b")  # 3
        d = kv.delete("k", prev_kv=True)  # 4
        gone = kv.get("k")
        kv.put("k", "c")  # 5
        return d, gone, kv.get("k")

    d, gone, back = differential(scenario)
    assert (d.header.revision, d.deleted) == (4, 1)
    assert [(p.create_revision, p.mod_revision, p.version) for p in d.prev_kvs] == [(2, 3, 2)]
    assert (gone.kvs, gone.count) == ((), 0)
    (rec,) = back.kvs
    assert (rec.value, rec.create_revision, rec.mod_revision, rec.version) == (b"c", 5, 5, 1)


@pytest.mark.parametrize(
    ("revision", "expected"),
    [
        pytest.param(1, None, id="before-create"),
        pytest.param(2, (b"v1", 2, 2, 1), id="created"),
        pytest.param(3, (b"v2", 2, 3, 2), id="updated"),
        pytest.param(4, None, id="deleted"),
        pytest.param(5, (b"v3", 5, 5, 1), id="recreated"),
        pytest.param(6, (b"v4", 5, 6, 2), id="updated-again"),
        pytest.param(7, (b"v4", 5, 6, 2), id="other-key-written"),
        pytest.param(0, (b"v4", 5, 6, 2), id="current"),
    ],
)
def test_historical_reads(
    differential: Differential, revision: int, expected: tuple[bytes, int, int, int] | None
) -> None:
    """A Range at an old revision returns the incarnation of the key as it was at that revision."""

    def scenario(kv: KVBackend) -> RangeResponse:
        for op in (
            Op.put("k", "v1"),
            Op.put("k", "v2"),
            Op.delete("k"),
            Op.put("k", "v3"),
            Op.put("k", "v4"),
            Op.put("x", "other"),
        ):
            kv.do(op)
        return kv.get("k", revision=revision)

    r = differential(scenario)
    assert r.header.revision == 7  # the header tells the current revision, not the one read
    got = [(x.value, x.create_revision, x.mod_revision, x.version) for x in r.kvs]
    assert got == ([] if expected is None else [expected])
    assert r.count == len(got)
