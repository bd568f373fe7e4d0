"""Txn (SEMANTICS 2.4): compares, nesting, reads after writes, validation and the duplicate rule."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from etcdlite import Compare, CompareResult, CompareTarget, Op, RangeRequest
from etcdlite.errors import (
    CompactedError,
    DuplicateKeyError,
    EmptyKeyError,
    FutureRevisionError,
    KeyNotFoundError,
    LeaseNotFoundError,
    TooManyOpsError,
)

from ._harness import exact

if TYPE_CHECKING:
    from etcdlite import RangeResponse, RequestOp, TxnResponse
    from etcdlite.errors import EtcdError

    from ._harness import KVBackend
    from .conftest import Differential

# The key "k" as every compare sees it after the setup below: created at 2, modified at 4,
# version 3, value "m", no lease.
K_FIELDS: dict[CompareTarget, int | bytes] = {
    CompareTarget.VERSION: 3,
    CompareTarget.CREATE: 2,
    CompareTarget.MOD: 4,
    CompareTarget.VALUE: b"m",
    CompareTarget.LEASE: 0,
}
BUILDERS = {
    CompareTarget.VERSION: Compare.version,
    CompareTarget.CREATE: Compare.create_revision,
    CompareTarget.MOD: Compare.mod_revision,
    CompareTarget.VALUE: Compare.value,
    CompareTarget.LEASE: Compare.lease,
}


def make_compare(
    target: CompareTarget, result: CompareResult, operand: object, key: str | bytes = "k", **kw: Any
) -> Compare:
    """``Compare.<target>(key) <op> operand`` for a table row."""
    left = BUILDERS[target](key, **kw)
    if result is CompareResult.EQUAL:
        return left == operand
    if result is CompareResult.NOT_EQUAL:
        return left != operand
    if result is CompareResult.GREATER:
        return left > operand
    return left < operand


def _operands(target: CompareTarget) -> list[tuple[str, object]]:
    actual = K_FIELDS[target]
    if isinstance(actual, bytes):
        return [("below", b"l"), ("equal", actual), ("above", b"n"), ("longer", actual + b"\0")]
    return [("below", actual - 1), ("equal", actual), ("above", actual + 1)]


def _holds(actual: Any, result: CompareResult, operand: Any) -> bool:
    if result is CompareResult.EQUAL:
        return bool(actual == operand)
    if result is CompareResult.NOT_EQUAL:
        return bool(actual != operand)
    if result is CompareResult.GREATER:
        return bool(actual > operand)
    return bool(actual < operand)


COMPARE_TABLE = [
    pytest.param(target, result, id=f"{target.name.lower()}-{result.name.lower()}")
    for target in CompareTarget
    for result in CompareResult
]


@pytest.mark.parametrize(("target", "result"), COMPARE_TABLE)
def test_compare_existing_key(
    differential: Differential, target: CompareTarget, result: CompareResult
) -> None:
    """Each compare target and result against an existing key (VALUE compares bytewise)."""
    operands = _operands(target)

    def scenario(kv: KVBackend) -> list[TxnResponse]:
        kv.put("k", "a")  # 2: create
        kv.put("k", "z")  # 3
        kv.put("k", "m")  # 4: mod, version 3
        kv.put("other", "x")  # 5
        return [
            kv.txn([make_compare(target, result, operand)], [Op.get("k")], [Op.get("other")])
            for _, operand in operands
        ]

    answers = differential(scenario)
    expected = [_holds(K_FIELDS[target], result, operand) for _, operand in operands]
    assert [t.succeeded for t in answers] == expected
    for t, holds in zip(answers, expected, strict=True):
        sub = t.responses[0]
        assert [x.key for x in sub.kvs] == ([b"k"] if holds else [b"other"])  # type: ignore[union-attr]
        assert t.header.revision == 5


MISSING_TABLE = [
    pytest.param(CompareTarget.VALUE, CompareResult.EQUAL, b"", False, id="value-equal-empty"),
    pytest.param(CompareTarget.VALUE, CompareResult.NOT_EQUAL, b"x", False, id="value-not-equal"),
    pytest.param(CompareTarget.VALUE, CompareResult.GREATER, b"", False, id="value-greater"),
    pytest.param(CompareTarget.VALUE, CompareResult.LESS, b"z", False, id="value-less"),
    pytest.param(CompareTarget.VERSION, CompareResult.EQUAL, 0, True, id="version-equal-0"),
    pytest.param(
        CompareTarget.VERSION, CompareResult.NOT_EQUAL, 0, False, id="version-not-equal-0"
    ),
    pytest.param(CompareTarget.VERSION, CompareResult.LESS, 1, True, id="version-less-1"),
    pytest.param(CompareTarget.VERSION, CompareResult.GREATER, 0, False, id="version-greater-0"),
    pytest.param(CompareTarget.CREATE, CompareResult.EQUAL, 0, True, id="create-equal-0"),
    pytest.param(CompareTarget.MOD, CompareResult.EQUAL, 0, True, id="mod-equal-0"),
    pytest.param(CompareTarget.MOD, CompareResult.GREATER, -1, True, id="mod-greater-minus-1"),
    pytest.param(CompareTarget.LEASE, CompareResult.EQUAL, 0, True, id="lease-equal-0"),
    pytest.param(CompareTarget.LEASE, CompareResult.NOT_EQUAL, 5, True, id="lease-not-equal-5"),
]


@pytest.mark.parametrize(("target", "result", "operand", "holds"), MISSING_TABLE)
def test_compare_missing_key(
    differential: Differential,
    target: CompareTarget,
    result: CompareResult,
    operand: object,
    holds: bool,
) -> None:
    """On a missing key VALUE compares are always false (even NOT_EQUAL); others compare to 0."""

    def scenario(kv: KVBackend) -> list[TxnResponse]:
        kv.put("deleted", "v")
        kv.delete("deleted")
        return [
            kv.txn([make_compare(target, result, operand, key)])
            for key in ("never-written", "deleted")
        ]

    answers = differential(scenario)
    assert [(t.succeeded, t.header.revision) for t in answers] == [(holds, 3), (holds, 3)]


RANGE_COMPARES = [
    pytest.param(Compare.version("r/", prefix=True) == 1, True, id="all-version-1"),
    pytest.param(Compare.version("r/", prefix=True) > 1, False, id="none-above-1"),
    pytest.param(Compare.mod_revision("r/", prefix=True) < 4, False, id="one-fails"),
    pytest.param(Compare.mod_revision("r/", prefix=True) < 5, True, id="all-below-5"),
    pytest.param(Compare.value("r/", prefix=True) != "x", True, id="value-not-equal-all"),
    pytest.param(Compare.value("r/", prefix=True) == "r/1", False, id="value-equal-one"),
    pytest.param(Compare.create_revision("r/1", range_end="r/2") == 2, True, id="one-key-range"),
    pytest.param(Compare.version("s/", prefix=True) == 0, True, id="empty-range-version-0"),
    pytest.param(Compare.value("s/", prefix=True) != "x", False, id="empty-range-value"),
    pytest.param(Compare.version("r/", from_key=True) > 0, True, id="from-key-all-exist"),
    pytest.param(Compare.lease("r/", prefix=True) == 0, True, id="lease-all-zero"),
]


@pytest.mark.parametrize(("cmp", "holds"), RANGE_COMPARES)
def test_range_compare(differential: Differential, cmp: Compare, holds: bool) -> None:
    """A compare with range_end holds only if every key in the range satisfies it."""

    def scenario(kv: KVBackend) -> TxnResponse:
        kv.put("r/1", "r/1")  # 2
        kv.put("r/2", "r/2")  # 3
        kv.put("r/3", "r/3")  # 4
        return kv.txn([cmp])

    assert differential(scenario).succeeded is holds


def test_all_compares_must_hold(differential: Differential) -> None:
    """A txn succeeds only if every compare holds; otherwise the failure branch runs."""

    def scenario(kv: KVBackend) -> tuple[TxnResponse, TxnResponse]:
        kv.put("a", "1")
        both = kv.txn([Compare.value("a") == "1", Compare.version("b") == 0], [Op.put("b", "x")])
        one = kv.txn(
            [Compare.value("a") == "1", Compare.version("b") == 0],
            [Op.put("b", "y")],
            [Op.put("c", "else")],
        )
        return both, one

    both, one = differential(scenario)
    assert (both.succeeded, both.header.revision) == (True, 3)
    assert (one.succeeded, one.header.revision) == (False, 4)


def test_reads_after_writes_in_txn(differential: Differential) -> None:
    """Ranges in a txn see earlier writes; a range before the first write reports the old revision."""

    def scenario(kv: KVBackend) -> TxnResponse:
        kv.put("a", "1")  # 2
        kv.put("c", "1")  # 3
        return kv.txn(
            success=[
                Op.get("a", range_end="z"),
                Op.put("a", "2"),
                Op.get("a"),
                Op.delete("c"),
                Op.get("a", range_end="z"),
                Op.delete("nothing"),
                Op.put("b", "x", prev_kv=True),
                Op.get("a", range_end="z", count_only=True),
            ]
        )

    t = differential(scenario)
    r0, _, r2, d3, r4, d5, p6, r7 = t.responses
    assert t.header.revision == 4
    assert [sub.header.revision for sub in t.responses] == [3, 4, 4, 4, 4, 4, 4, 4]
    assert [(x.key, x.mod_revision) for x in r0.kvs] == [(b"a", 2), (b"c", 3)]  # type: ignore[union-attr]
    assert [(x.value, x.mod_revision, x.version) for x in r2.kvs] == [(b"2", 4, 2)]  # type: ignore[union-attr]
    assert [x.key for x in r4.kvs] == [b"a"]  # type: ignore[union-attr]
    assert (d3.deleted, d5.deleted) == (1, 0)  # type: ignore[union-attr]
    assert p6.prev_kv is None  # type: ignore[union-attr]
    assert r7.count == 2  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("ops", "revisions"),
    [
        pytest.param([Op.delete("zz"), Op.get("a")], [2, 2], id="no-op-delete-first"),
        pytest.param([Op.delete("a"), Op.get("a")], [3, 3], id="delete-first"),
        pytest.param([Op.get("a"), Op.delete("a")], [2, 3], id="range-then-delete"),
        pytest.param(
            [Op.get("a"), Op.txn(success=[Op.put("b", "1")]), Op.get("a")], [2, 0, 3], id="nested"
        ),
    ],
)
def test_sub_response_revisions(
    differential: Differential, ops: list[RequestOp], revisions: list[int]
) -> None:
    """Sub-responses carry the revision so far; nested txn responses carry an empty header."""

    def scenario(kv: KVBackend) -> TxnResponse:
        kv.put("a", "1")
        return kv.txn(success=ops)

    t = differential(scenario)
    assert [sub.header.revision for sub in t.responses] == revisions


def test_nested_compares_see_state_before_txn(differential: Differential) -> None:
    """Nested compares are evaluated before any write of the outer txn (compareToPath)."""

    def scenario(kv: KVBackend) -> tuple[TxnResponse, RangeResponse]:
        kv.put("flag", "old")  # 2
        t = kv.txn(
            success=[
                Op.put("flag", "new"),
                Op.txn(
                    [Compare.value("flag") == "old"],
                    [Op.put("seen", "old")],
                    [Op.put("seen", "new")],
                ),
                Op.delete("gone"),
                Op.txn([Compare.version("created") == 0], [Op.put("created", "1")]),
            ]
        )
        return t, kv.get("seen")

    t, seen = differential(scenario)
    assert t.succeeded
    nested = t.responses[1]
    assert nested.succeeded  # type: ignore[union-attr]
    assert [x.value for x in seen.kvs] == [b"old"]
    assert t.header.revision == 3


def test_nested_txn_takes_failure_branch(differential: Differential) -> None:
    """A nested txn whose compares fail runs its own failure ops; succeeded=false in its response."""

    def scenario(kv: KVBackend) -> TxnResponse:
        kv.put("a", "1")
        return kv.txn(
            [Compare.value("a") == "1"],
            [
                Op.txn(
                    [Compare.value("a") == "2"],
                    [Op.put("then", "x")],
                    [Op.put("else", "y"), Op.get("a")],
                ),
                Op.get("else"),
            ],
        )

    t = differential(scenario)
    nested, after = t.responses
    assert t.succeeded
    assert not nested.succeeded  # type: ignore[union-attr]
    assert [type(r).__name__ for r in nested.responses] == ["PutResponse", "RangeResponse"]  # type: ignore[union-attr]
    assert [x.value for x in after.kvs] == [b"y"]  # type: ignore[union-attr]


# (then-branch ops, error or None): etcd's checkIntervals on one txn's success list.
DUPLICATES: list[Any] = [
    pytest.param([Op.put("a", "1"), Op.put("a", "2")], DuplicateKeyError, id="two-puts"),
    pytest.param([Op.put("a", "1"), Op.put("b", "2")], None, id="two-keys"),
    pytest.param([Op.delete("a"), Op.put("a", "1")], DuplicateKeyError, id="put-deleted-key"),
    pytest.param([Op.put("a", "1"), Op.delete("a")], DuplicateKeyError, id="delete-put-key"),
    pytest.param(
        [Op.delete("a/", prefix=True), Op.put("a/1", "1")],
        DuplicateKeyError,
        id="put-in-delete-range",
    ),
    pytest.param([Op.delete("a/", prefix=True), Op.put("a0", "1")], None, id="put-at-range-end"),
    pytest.param(
        [Op.delete("a", range_end="c"), Op.put("b", "1")], DuplicateKeyError, id="put-in-range"
    ),
    pytest.param([Op.delete("a"), Op.delete("a", range_end="c")], None, id="overlapping-deletes"),
    pytest.param([Op.put("a", "1"), Op.get("a"), Op.get("a")], None, id="ranges-never-conflict"),
    pytest.param(
        [Op.delete("b", from_key=True), Op.put("c", "1")], None, id="from-key-delete-and-put"
    ),
    pytest.param(
        [Op.delete("b", from_key=True), Op.put("b", "1")], None, id="from-key-delete-put-start"
    ),
    pytest.param([Op.delete(b"", prefix=True), Op.put("c", "1")], None, id="delete-all-and-put"),
    pytest.param(
        [Op.delete("c", range_end="a"), Op.put("b", "1")], None, id="inverted-delete-and-put"
    ),
    pytest.param(
        [Op.put("a", "1"), Op.txn(success=[Op.put("a", "2")])],
        DuplicateKeyError,
        id="outer-and-nested-put",
    ),
    pytest.param(
        [Op.delete("a/", prefix=True), Op.txn(success=[Op.put("a/1", "2")])],
        DuplicateKeyError,
        id="outer-delete-nested-put",
    ),
    pytest.param(
        [Op.put("a/1", "1"), Op.txn(success=[Op.delete("a/", prefix=True)])],
        DuplicateKeyError,
        id="nested-delete-outer-put",
    ),
    pytest.param(
        [Op.txn(success=[Op.put("a", "1")], failure=[Op.put("a", "2")])],
        None,
        id="nested-then-else",
    ),
    pytest.param(
        [Op.txn(success=[Op.put("a", "1")]), Op.txn(success=[Op.put("a", "2")])],
        DuplicateKeyError,
        id="two-nested-puts",
    ),
    pytest.param(
        [Op.txn(success=[Op.put("a", "1")]), Op.txn(failure=[Op.put("a", "2")])],
        DuplicateKeyError,
        id="nested-then-sibling-else",
    ),
    pytest.param(
        [Op.txn(success=[Op.delete("a")]), Op.txn(success=[Op.delete("a")])],
        None,
        id="nested-deletes",
    ),
    pytest.param(
        [Op.txn(success=[Op.delete("a", range_end="c")]), Op.txn(success=[Op.put("b", "1")])],
        DuplicateKeyError,
        id="sibling-nested-delete-then-put",
    ),
    pytest.param(
        [Op.txn(success=[Op.put("b", "1")]), Op.txn(success=[Op.delete("a", range_end="c")])],
        None,
        id="sibling-nested-put-then-delete",
    ),
    pytest.param(
        [Op.txn(success=[Op.txn(success=[Op.put("a", "1")])]), Op.put("a", "2")],
        DuplicateKeyError,
        id="two-levels-deep",
    ),
    pytest.param(
        [Op.txn(success=[Op.delete("a")], failure=[Op.put("a", "1")])],
        None,
        id="nested-then-delete-else-put",
    ),
    pytest.param(
        [Op.txn(success=[Op.put("a", "1")], failure=[Op.delete("a")])],
        None,
        id="nested-then-put-else-delete",
    ),
    pytest.param(
        [Op.txn(success=[Op.delete("a")]), Op.txn(failure=[Op.put("a", "1")])],
        DuplicateKeyError,
        id="nested-delete-sibling-else-put",
    ),
]


@pytest.mark.parametrize(("ops", "error"), DUPLICATES)
def test_duplicate_key_rule(
    differential: Differential, ops: list[RequestOp], error: type[EtcdError] | None
) -> None:
    """checkIntervals: no key written twice at one level or across levels; deletes may overlap."""

    def scenario(kv: KVBackend) -> TxnResponse:
        kv.put("a", "0")
        kv.put("b", "0")
        return kv.txn(success=ops)

    if error is None:
        assert differential(scenario).succeeded
    else:
        with pytest.raises(error, match=exact(error.message)):
            differential(scenario)


def test_duplicate_rule_checks_both_branches(differential: Differential) -> None:
    """The outer success and failure lists are checked separately (one put each is fine)."""

    def scenario(kv: KVBackend) -> tuple[TxnResponse, TxnResponse]:
        ok = kv.txn([], [Op.put("a", "1")], [Op.put("a", "2")])
        with pytest.raises(DuplicateKeyError):
            kv.txn(
                [Compare.version("a") == 0],
                [Op.put("b", "1")],
                [Op.put("a", "2"), Op.put("a", "3")],
            )
        return ok, kv.txn([Compare.version("a") == 0], [], [Op.put("a", "3")])

    ok, other = differential(scenario)
    assert (ok.header.revision, other.header.revision, other.succeeded) == (2, 3, False)


@pytest.mark.parametrize(
    ("txn", "error"),
    [
        pytest.param(
            Op.txn(success=[Op.put(f"k{i}", "v") for i in range(128)]), None, id="128-puts"
        ),
        pytest.param(
            Op.txn(success=[Op.put(f"k{i}", "v") for i in range(129)]),
            TooManyOpsError,
            id="129-puts",
        ),
        pytest.param(
            Op.txn(failure=[Op.get(f"k{i}") for i in range(129)]),
            TooManyOpsError,
            id="129-else-ranges",
        ),
        pytest.param(
            Op.txn([Compare.version(f"k{i}") == 0 for i in range(129)]),
            TooManyOpsError,
            id="129-compares",
        ),
        pytest.param(
            Op.txn(
                [Compare.version(f"c{i}") == 0 for i in range(100)],
                [Op.txn(success=[Op.put(f"k{i}", "v") for i in range(28)])],
            ),
            None,
            id="nested-within-budget",
        ),
        pytest.param(
            Op.txn(
                [Compare.version(f"c{i}") == 0 for i in range(100)],
                [Op.txn(success=[Op.put(f"k{i}", "v") for i in range(29)])],
            ),
            TooManyOpsError,
            id="nested-over-budget",
        ),
        pytest.param(
            Op.txn(
                success=[Op.put(f"k{i}", "v") for i in range(64)],
                failure=[Op.txn([Compare.version(f"c{i}") == 0 for i in range(65)])],
            ),
            TooManyOpsError,
            id="nested-in-else-over-budget",
        ),
        # 126 puts + the nested txn = 127 ops, so the nested txn may hold 128 - 127 = 1.
        pytest.param(
            Op.txn(
                success=[
                    *(Op.put(f"k{i}", "v") for i in range(126)),
                    Op.txn(success=[Op.put("x", "1")]),
                ]
            ),
            None,
            id="nested-gets-the-last-op",
        ),
        pytest.param(
            Op.txn(
                success=[
                    *(Op.put(f"k{i}", "v") for i in range(126)),
                    Op.txn(success=[Op.put("x", "1"), Op.put("y", "1")]),
                ]
            ),
            TooManyOpsError,
            id="nested-over-the-last-op",
        ),
        pytest.param(
            Op.txn(success=[Op.txn(success=[Op.txn(success=[Op.put("x", "1")])])]),
            None,
            id="three-levels",
        ),
    ],
)
def test_too_many_ops(differential: Differential, txn: Any, error: type[EtcdError] | None) -> None:
    """max(len(compare), len(success), len(failure)) may not exceed 128; nested txns get the rest."""

    def scenario(kv: KVBackend) -> TxnResponse:
        return kv.do(txn)  # type: ignore[return-value]

    if error is None:
        t = differential(scenario)
        writes = any(not isinstance(op, RangeRequest) for op in txn.success)
        assert t.header.revision == (2 if writes else 1)
    else:
        with pytest.raises(error, match=exact(error.message)):
            differential(scenario)


@pytest.mark.parametrize(
    "txn",
    [
        pytest.param(Op.txn([Compare.version(b"") == 0]), id="compare"),
        pytest.param(Op.txn(success=[Op.put(b"", "v")]), id="put"),
        pytest.param(Op.txn(success=[Op.get(b"")]), id="range"),
        pytest.param(Op.txn(failure=[Op.delete(b"")]), id="delete-in-else"),
        pytest.param(Op.txn(success=[Op.txn([Compare.value(b"") == "x"])]), id="nested-compare"),
        pytest.param(Op.txn(success=[Op.txn(failure=[Op.put(b"", "v")])]), id="nested-put"),
    ],
)
def test_empty_keys_in_txn(differential: Differential, txn: Any) -> None:
    """An empty key in any compare or op, at any depth, fails with "key is not provided"."""

    def scenario(kv: KVBackend) -> TxnResponse:
        return kv.do(txn)  # type: ignore[return-value]

    with pytest.raises(EmptyKeyError, match=exact("etcdserver: key is not provided")):
        differential(scenario)


APPLY_ERRORS: list[Any] = [
    pytest.param(
        [Op.put("a", "1"), Op.put("b", ignore_value=True)], KeyNotFoundError, id="ignore-value"
    ),
    pytest.param(
        [Op.put("a", "1"), Op.put("b", "v", ignore_lease=True)], KeyNotFoundError, id="ignore-lease"
    ),
    pytest.param([Op.put("a", "1"), Op.put("b", "v", lease=5)], LeaseNotFoundError, id="lease"),
    pytest.param(
        [Op.put("a", "1"), Op.get("a", revision=4)], FutureRevisionError, id="range-future"
    ),
    pytest.param([Op.put("a", "1"), Op.get("a", revision=1)], CompactedError, id="range-compacted"),
    pytest.param(
        [Op.put("a", "1"), Op.txn(success=[Op.put("b", ignore_value=True)])],
        KeyNotFoundError,
        id="nested-ignore-value",
    ),
    pytest.param([Op.get("a", revision=9)], FutureRevisionError, id="read-only-future"),
    pytest.param(
        [Op.put("b", lease=5, ignore_value=True)], KeyNotFoundError, id="missing-key-before-lease"
    ),
]


@pytest.mark.parametrize(("ops", "error"), APPLY_ERRORS)
def test_apply_time_errors_abort_whole_txn(
    differential: Differential, ops: list[RequestOp], error: type[EtcdError]
) -> None:
    """checkTxn: a failing put/range check on the taken path aborts the txn; nothing is written."""

    def scenario(kv: KVBackend) -> TxnResponse:
        kv.put("x", "1")  # 2
        kv.put("x", "2")  # 3
        kv.compact(3)
        try:
            return kv.txn(success=ops)
        finally:
            assert kv.revision == 3
            assert kv.get("a").kvs == ()

    with pytest.raises(error, match=exact(error.message)):
        differential(scenario)


def test_checks_only_the_taken_path(differential: Differential) -> None:
    """Apply-time checks cover only the branch that runs; the other may hold a bad put."""

    def scenario(kv: KVBackend) -> TxnResponse:
        return kv.txn(
            [Compare.version("a") == 0],
            [
                Op.put("a", "1"),
                Op.txn([Compare.version("a") == 1], [Op.put("z", lease=9)], [Op.put("b", "2")]),
            ],
            [Op.put("a", lease=9)],
        )

    t = differential(scenario)
    assert t.succeeded
    assert not t.responses[1].succeeded  # type: ignore[union-attr]
    assert t.header.revision == 2


@pytest.mark.parametrize(
    ("revision", "fresh", "compacted"),
    [
        pytest.param(-1, None, CompactedError, id="minus-1"),
        pytest.param(-5, CompactedError, CompactedError, id="minus-5"),
    ],
)
def test_negative_range_revision_in_txn(
    differential: Differential,
    revision: int,
    fresh: type[EtcdError] | None,
    compacted: type[EtcdError] | None,
) -> None:
    """A negative revision in a txn's range is checked against FirstRev (-1 before compaction)."""

    def scenario(kv: KVBackend) -> list[str]:
        kv.put("a", "1")
        out = []
        for compact in (False, True):
            if compact:
                kv.compact(2)
            try:
                t = kv.txn(success=[Op.get("a", revision=revision)])
                out.append(f"ok at {t.responses[0].header.revision}")
            except (CompactedError, FutureRevisionError) as err:
                out.append(type(err).__name__)
        # A plain Range with a negative revision always reads the current revision.
        out.append(f"plain {kv.get('a', revision=revision).kvs[0].mod_revision}")
        return out

    def name(error: type[EtcdError] | None) -> str:
        return "ok at 2" if error is None else error.__name__

    assert differential(scenario) == [name(fresh), name(compacted), "plain 2"]
