"""Request validation, compares, ranges and txns over one view (etcd's v3rpc/key.go, txn.go)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from etcdlite import (
    Compare,
    CompareResult,
    CompareTarget,
    DeleteRangeRequest,
    Op,
    RangeRequest,
    RequestOp,
    SortOrder,
    SortTarget,
    TxnRequest,
)
from etcdlite._mvcc._kv import KV
from etcdlite._mvcc._txn import (
    check_request,
    compare_path,
    execute_range,
    is_read_only,
    request_size,
    run_txn,
    size_bound,
)
from etcdlite.errors import (
    DuplicateKeyError,
    EmptyKeyError,
    EtcdError,
    KeyNotFoundError,
    LeaseNotFoundError,
    LeaseProvidedError,
    TooManyOpsError,
    ValueProvidedError,
)


def no_lease(lease: int) -> bool:
    return False


@pytest.mark.parametrize(
    ("op", "error"),
    [
        (Op.put("", "v"), EmptyKeyError),
        (Op.get(""), EmptyKeyError),
        (Op.delete(""), EmptyKeyError),
        (Op.put("k", "v", ignore_value=True), ValueProvidedError),
        (Op.put("k", lease=5, ignore_lease=True), LeaseProvidedError),
        (Op.txn([Compare.version("") == 0]), EmptyKeyError),
        (Op.txn((), [Op.put("k", "v")], [Op.get("")]), EmptyKeyError),
        (Op.txn((), [Op.txn((), [Op.delete("")])]), EmptyKeyError),
        (Op.txn((), [Op.put("k", "v")] * 129), TooManyOpsError),
        (Op.txn([Compare.version("k") == 0] * 129), TooManyOpsError),
        # Nested txns get the budget that the outer level leaves: 128 - 101 = 27 < 28.
        (
            Op.txn(
                (), [Op.put(f"k{i}", "") for i in range(100)] + [Op.txn((), [Op.get("x")] * 28)]
            ),
            TooManyOpsError,
        ),
    ],
    ids=[
        "put-empty-key",
        "range-empty-key",
        "delete-empty-key",
        "ignore-value-with-value",
        "ignore-lease-with-lease",
        "compare-empty-key",
        "failure-branch-checked-too",
        "nested-empty-key",
        "129-puts",
        "129-compares",
        "nested-budget",
    ],
)
def test_validation_errors(op: RequestOp, error: type[EtcdError]) -> None:
    """etcd validates the whole request, both branches and nested txns, before applying it."""
    with pytest.raises(error):
        check_request(op, 128)


def test_nested_budget_that_fits() -> None:
    """A nested txn within the outer level's remaining budget passes."""
    # The outer level counts 101 ops (the nested txn is one of them), which leaves 27.
    op = Op.txn((), [Op.put(f"k{i}", "") for i in range(100)] + [Op.txn((), [Op.get("x")] * 27)])
    check_request(op, 128)
    check_request(Op.txn((), [Op.put(f"k{i}", "") for i in range(128)]), 128)


@pytest.mark.parametrize(
    ("success", "failure", "duplicate"),
    [
        ([Op.put("a", "1"), Op.put("a", "2")], [], True),
        ([Op.put("a", "1"), Op.put("b", "2")], [], False),
        ([Op.delete("a", prefix=True), Op.put("ab", "1")], [], True),
        ([Op.put("ab", "1"), Op.delete("a", range_end="b")], [], True),
        ([Op.delete("a"), Op.delete("a", prefix=True)], [], False),  # overlapping deletes
        ([Op.put("a", "1")], [Op.put("a", "2")], False),  # then and else of one txn
        ([Op.put("a", "1"), Op.txn((), [Op.put("a", "2")])], [], True),  # nested vs outer
        ([Op.put("a", "1"), Op.txn((), [Op.delete("a")])], [], True),  # nested delete, outer put
        ([Op.txn((), [Op.put("a", "1")], [Op.put("a", "2")])], [], False),  # nested then/else
        (
            [Op.txn((), [Op.put("a", "1")]), Op.txn((), [Op.put("a", "2")])],
            [],
            True,
        ),  # two nested txns
        ([Op.delete("a", from_key=True), Op.put("b", "1")], [], False),  # etcd's inverted interval
        ([Op.get("a"), Op.put("a", "1")], [], False),  # reads never conflict
    ],
    ids=[
        "two-puts",
        "distinct-puts",
        "put-in-delete-prefix",
        "put-before-delete-range",
        "overlapping-deletes",
        "then-else",
        "nested-outer-put",
        "nested-delete-outer-put",
        "nested-then-else",
        "two-nested",
        "from-key-delete",
        "read-and-put",
    ],
)
def test_duplicate_key_rule(
    success: list[RequestOp], failure: list[RequestOp], duplicate: bool
) -> None:
    """etcd's checkIntervals: no key is written twice, on one level or across levels."""
    op = Op.txn((), success, failure)
    if duplicate:
        with pytest.raises(DuplicateKeyError):
            check_request(op, 128)
    else:
        check_request(op, 128)


def test_is_read_only() -> None:
    """A txn is read-only when no op of either branch, at any depth, writes."""
    assert is_read_only(Op.txn((), [Op.get("a")], [Op.txn((), [Op.get("b")])]))
    assert not is_read_only(Op.txn((), [Op.get("a")], [Op.txn((), [Op.delete("b")])]))


@pytest.mark.parametrize(
    ("op", "size"),
    [
        (Op.put("k", "v"), 24 + 3 + 3),  # tag, length, byte: for the key and the value
        (Op.put("k", b"x" * 200), 24 + 3 + 203),
        (Op.delete("k", prev_kv=True), 24 + 3 + 2),
        (Op.txn((), [Op.put("k", "v")]), 24 + (2 + (2 + (3 + 3)))),  # success, RequestOp, put
    ],
    ids=["small-put", "varint-length", "delete", "txn"],
)
def test_request_size_is_the_protobuf_size(op: RequestOp, size: int) -> None:
    """The size limit counts the request as etcd's protobuf encoding of it, plus the envelope."""
    assert request_size(op) == size


def store_with(*puts: tuple[str, str]) -> KV:
    kv = KV()
    for key, value in puts:
        kv.put(key.encode(), value.encode(), 0)
    return kv


@pytest.mark.parametrize(
    ("cmp", "holds"),
    [
        (Compare.value("a") == "1", True),
        (Compare.value("a") != "1", False),
        (Compare.value("a") > "0", True),
        (Compare.value("a") < "0", False),
        (Compare.value("missing") != "x", False),  # VALUE on a missing key is always false
        (Compare.value("missing") == "", False),
        (Compare.version("missing") == 0, True),  # other targets compare against zero
        (Compare.create_revision("missing") < 1, True),
        (Compare.version("a") == 1, True),
        (Compare.version("b") > 1, True),
        (Compare.mod_revision("b") == 4, True),
        (Compare.create_revision("b") == 3, True),
        (Compare.lease("a") == 0, True),
        (Compare.version("a", prefix=True) == 1, False),  # a=1 but ab=... every key must match
        (Compare.version("a", range_end="ab") == 1, True),
        (Compare.create_revision("x", prefix=True) == 0, True),  # empty range: against zero
        (Compare.value("x", prefix=True) == "", False),  # empty range, VALUE: false
    ],
)
def test_compare(cmp: Compare, holds: bool) -> None:
    """Compares on all targets and results, including missing keys and ranges."""
    kv = store_with(("a", "1"), ("b", "1"), ("b", "2"), ("ab", "x"), ("ab", "y"))
    assert compare_path(kv.index, Op.txn([cmp]), []) == [holds]


def test_nested_compares_see_the_state_before_the_txn() -> None:
    """compareToPath: every compare is decided on the state before the outer txn's writes."""
    kv = KV()
    txn = Op.txn(
        (),
        [
            Op.put("a", "1"),
            Op.txn(
                [Compare.version("a") == 0], [Op.put("b", "saw-nothing")], [Op.put("b", "saw-a")]
            ),
        ],
    )
    w = kv.begin()
    succeeded, responses = run_txn(kv, w, txn, no_lease)
    w.commit()
    assert succeeded
    assert kv.index.get(b"b").value == b"saw-nothing"  # type: ignore[union-attr]
    assert responses[1].succeeded  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("txn", "error"),
    [
        (Op.txn((), [Op.put("a", "2"), Op.put("b", "x", lease=7)]), LeaseNotFoundError),
        (Op.txn((), [Op.put("a", "2"), Op.put("zz", ignore_value=True)]), KeyNotFoundError),
        (
            Op.txn((), [Op.delete("a"), Op.txn((), [Op.put("q", ignore_lease=True)])]),
            KeyNotFoundError,
        ),
    ],
    ids=["lease", "ignore-value", "nested-ignore-lease"],
)
def test_checks_on_the_taken_path_leave_nothing_behind(
    txn: TxnRequest, error: type[EtcdError]
) -> None:
    """checkTxn runs before any write: a failing txn changes neither data nor revision."""
    kv = store_with(("a", "1"))
    w = kv.begin()
    with pytest.raises(error):
        run_txn(kv, w, txn, no_lease)
    assert w.changes == []
    assert kv.revision == 2
    assert kv.index.get(b"a").value == b"1"  # type: ignore[union-attr]
    # The same op in the branch not taken is never checked.
    untaken = Op.txn([Compare.version("a") == 99], txn.success, ())
    w = kv.begin()
    assert run_txn(kv, w, untaken, no_lease)[0] is False


def test_range_count_ignores_limit_and_filters() -> None:
    """count is every live key of the range; more says limit cut the (filtered) result."""
    kv = store_with(("a1", "x"), ("a2", "x"), ("a2", "y"), ("a3", "x"), ("a4", "x"))
    req = Op.get("a", prefix=True, limit=1, min_mod_revision=4)
    kvs, more, count, rev = execute_range(kv, req, kv.revision)
    assert ([x.key for x in kvs], more, count, rev) == ([b"a2"], True, 4, 6)


def test_range_sort_with_order_none_fetches_limit_plus_one_first() -> None:
    """Target != KEY with order NONE sorts ascending, but only the first limit+1 keys (etcd)."""
    kv = store_with(
        ("a", "1"), ("b", "1"), ("b", "2"), ("c", "1"), ("c", "2"), ("c", "3"), ("d", "1")
    )
    req = Op.get("a", from_key=True, sort_target="version", limit=2)
    kvs, more, count, _ = execute_range(kv, req, kv.revision)
    # fetched a,b,c (limit+1) in key order, sorted by version: a(1), b(2), c(3) -> a, b
    assert ([x.key for x in kvs], more, count) == ([b"a", b"b"], True, 4)
    req = Op.get("a", from_key=True, sort_target="version", sort_order="descend", limit=2)
    kvs, _, _, _ = execute_range(kv, req, kv.revision)
    assert [x.key for x in kvs] == [b"c", b"b"]  # DESCEND fetches everything first


def test_range_ties_break_by_key_in_both_orders() -> None:
    """Sorting by a non-key target keeps key order among equal values, ascending or not."""
    kv = store_with(("c", "v"), ("a", "v"), ("b", "v"))
    for order in ("ascend", "descend"):
        req = Op.get("a", from_key=True, sort_target="value", sort_order=order)
        assert [x.key for x in execute_range(kv, req, kv.revision)[0]] == [b"a", b"b", b"c"]


_keys = st.binary(max_size=300)
_ints = st.integers(min_value=-(2**63), max_value=2**63 - 1)
_flags = st.booleans()
_puts = st.builds(
    Op.put, _keys, _keys, lease=_ints, prev_kv=_flags, ignore_value=_flags, ignore_lease=_flags
)
_ranges = st.builds(
    RangeRequest,
    _keys,
    _keys,
    _ints,
    _ints,
    st.sampled_from(SortOrder),
    st.sampled_from(SortTarget),
    _flags,
    _flags,
    _flags,
    _ints,
    _ints,
    _ints,
    _ints,
)
_deletes = st.builds(DeleteRangeRequest, _keys, _keys, _flags)
_compares = st.builds(
    Compare,
    _keys,
    st.sampled_from(CompareTarget),
    st.sampled_from(CompareResult),
    st.one_of(_ints, _keys),
    _keys,
)
_ops: st.SearchStrategy[RequestOp] = st.recursive(
    st.one_of(_puts, _ranges, _deletes),
    lambda inner: st.builds(
        TxnRequest,
        st.lists(_compares, max_size=3).map(tuple),
        st.lists(inner, max_size=3).map(tuple),
        st.lists(inner, max_size=3).map(tuple),
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(_ops)
def test_size_bound_is_an_upper_bound(op: RequestOp) -> None:
    """The cheap size bound never undercounts, so skipping the exact size is always safe."""
    assert size_bound(op) >= request_size(op)
