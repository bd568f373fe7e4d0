"""The reference model against etcd behaviour seen on etcd 3.4.23 (or read in etcd 3.6's source).

These pin down the model the state machine trusts: each row plays a few requests on a fresh
:class:`~reference.Reference` and checks the last answer. Rows marked [O] were observed on a
running etcd 3.4.23 through its JSON gateway; [S] rows follow etcd's source.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from etcdlite import (
    Compare,
    CompareResult,
    CompareTarget,
    KeyValue,
    Op,
    RangeRequest,
    RangeResponse,
    RequestOp,
    ResponseHeader,
    SortOrder,
    SortTarget,
    TxnResponse,
)
from etcdlite.errors import (
    CompactedError,
    DuplicateKeyError,
    FutureRevisionError,
    KeyNotFoundError,
    LeaseNotFoundError,
    TooManyOpsError,
)

from .reference import Reference, ReferencePanic

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

#: A step: a request, or an int meaning "compact at this revision".
Step = RequestOp | int


def _play(ref: Reference, step: Step) -> object:
    if isinstance(step, int):
        return ref.compact(step)
    return ref.do(step)


def _keys(resp: object) -> object:
    assert isinstance(resp, RangeResponse)
    return [kv.key for kv in resp.kvs], resp.more, resp.count


def _txn_range_keys(resp: object) -> object:
    assert isinstance(resp, TxnResponse)
    return _keys(resp.responses[0])


def _revision(resp: Any) -> object:
    return resp.header.revision


def _succeeded(resp: object) -> object:
    assert isinstance(resp, TxnResponse)
    return resp.succeeded


def _same(resp: object) -> object:
    return resp


ABC = [Op.put("a", "x"), Op.put("b", "a"), Op.put("c", "0")]


def everything(**options: Any) -> RangeRequest:
    """A range over every key from ``a`` on, with ``options``."""
    return Op.get("a", from_key=True, **options)


#: (id, setup steps, last step, projection of the last answer, expected) -- or the error class.
CASES: list[tuple[str, Sequence[Step], Step, Callable[[Any], object], object]] = [
    # -- revisions [O]
    ("first-write-is-revision-2", [], Op.put("a", "x"), _revision, 2),
    ("delete-of-nothing-keeps-revision", ABC, Op.delete("zz"), _revision, 4),
    ("txn-writes-share-one-revision", [], Op.txn((), ABC), _revision, 2),
    (
        "historical-read-sees-the-old-incarnation",
        [Op.put("k", "1"), Op.put("k", "2"), Op.delete("k"), Op.put("k", "3")],
        Op.get("k", revision=3),
        _same,
        RangeResponse(ResponseHeader(revision=5), (KeyValue(b"k", 2, 3, 2, b"2"),), False, 1),
    ),
    # -- range [O]
    (
        "count-ignores-limit-and-filters",
        ABC,
        everything(limit=1, min_mod_revision=3),
        _keys,
        ([b"b"], True, 3),
    ),
    (
        "sort-none-by-value-sorts-only-the-first-limit-plus-one",
        ABC,
        everything(limit=1, sort_target=SortTarget.VALUE),
        _keys,
        ([b"b"], True, 3),
    ),
    (
        "sort-ascend-by-value-sorts-everything",
        ABC,
        everything(limit=1, sort_target="value", sort_order="ascend"),
        _keys,
        ([b"c"], True, 3),
    ),
    (
        "negative-limit-is-no-limit",
        ABC,
        everything(limit=-1),
        _keys,
        ([b"a", b"b", b"c"], False, 3),
    ),
    (
        "sort-ties-break-by-key-ascending-also-descending",  # etcdlite's documented rule
        [*ABC, Op.put("b", "b")],
        everything(sort_target=SortTarget.VERSION, sort_order=SortOrder.DESCEND),
        _keys,
        ([b"b", b"a", b"c"], False, 3),
    ),
    (
        "plain-range-negative-revision-is-current",
        ABC,
        Op.get("a", revision=-2),
        _keys,
        ([b"a"], False, 1),
    ),
    ("range-above-current-is-future", ABC, Op.get("a", revision=5), _same, FutureRevisionError),
    (
        "range-at-compaction-is-fine",
        [*ABC, 3],
        everything(revision=3),
        _keys,
        ([b"a", b"b"], False, 2),
    ),
    (
        "range-below-compaction-is-compacted",
        [*ABC, 3],
        Op.get("a", revision=2),
        _same,
        CompactedError,
    ),
    # -- compaction [O]
    ("compact-0-on-a-fresh-store-works", [], 0, _revision, 1),
    ("compact-0-twice-is-compacted", [0], 0, _same, CompactedError),
    ("compact-negative-is-compacted", [], -1, _same, CompactedError),
    ("compact-above-current-is-future", ABC, 5, _same, FutureRevisionError),
    ("compact-at-previous-is-compacted", [*ABC, 3], 3, _same, CompactedError),
    # -- txn range revisions (checkRange against FirstRev, -1 before any compaction) [O]
    (
        "txn-range-minus-1-before-compaction-reads-current",
        ABC,
        Op.txn((), [Op.get("a", revision=-1)]),
        _txn_range_keys,
        ([b"a"], False, 1),
    ),
    (
        "txn-range-minus-2-is-compacted",
        ABC,
        Op.txn((), [Op.get("a", revision=-2)]),
        _same,
        CompactedError,
    ),
    (
        "txn-range-minus-1-after-compact-0-is-compacted",
        [*ABC, 0],
        Op.txn((), [Op.get("a", revision=-1)]),
        _same,
        CompactedError,
    ),
    (
        "txn-range-checks-run-in-op-order",  # [S] etcd 3.6; 3.4 and 3.5 check puts first
        ABC,
        Op.txn((), [Op.get("a", revision=9), Op.put("zz", ignore_value=True)]),
        _same,
        FutureRevisionError,
    ),
    # -- puts [O]
    (
        "plain-put-checks-lease-first",
        [],
        Op.put("zz", lease=7, ignore_value=True),
        _same,
        LeaseNotFoundError,
    ),
    (
        "txn-put-checks-key-first",
        [],
        Op.txn((), [Op.put("zz", lease=7, ignore_value=True)]),
        _same,
        KeyNotFoundError,
    ),
    # -- compares [O]
    (
        "version-compare-with-a-value-operand-uses-0",
        ABC,
        Op.txn([Compare(b"a", CompareTarget.VERSION, CompareResult.GREATER, b"x")]),
        _succeeded,
        True,
    ),
    (
        "value-compare-with-an-int-operand-uses-empty",
        ABC,
        Op.txn([Compare(b"a", CompareTarget.VALUE, CompareResult.GREATER, 5)]),
        _succeeded,
        True,
    ),
    (
        "value-compare-on-a-missing-key-fails",
        [],
        Op.txn([Compare.value("zz") != "x"]),
        _succeeded,
        False,
    ),
    (
        "version-compare-on-a-missing-key-uses-0",
        [],
        Op.txn([Compare.version("zz") == 0]),
        _succeeded,
        True,
    ),
    (
        "range-compare-needs-every-key",
        ABC,
        Op.txn([Compare.version("a", from_key=True) == 1]),
        _succeeded,
        True,
    ),
    # -- txn shapes [O]
    (
        "nested-txn-headers-are-empty-sub-responses-carry-the-revision",
        [],
        Op.txn((), [Op.txn((), [Op.put("q", "v")]), Op.get("q")]),
        lambda r: (
            r.responses[0].header,
            r.responses[0].responses[0].header,
            r.responses[1].header,
        ),
        (ResponseHeader(), ResponseHeader(revision=2), ResponseHeader(revision=2)),
    ),
    (
        "put-then-delete-in-sibling-nested-txns",
        [],
        Op.txn((), [Op.txn((), [Op.put("q", "v")]), Op.txn((), [Op.delete("q")]), Op.get("q")]),
        lambda r: (r.header.revision, _keys(r.responses[2])),
        (2, ([], False, 0)),
    ),
    (
        "from-key-delete-then-put-makes-a-new-incarnation",
        ABC,
        Op.txn((), [Op.delete("a", from_key=True), Op.put("b"), Op.get("b")]),
        lambda r: r.responses[2].kvs,
        (KeyValue(b"b", 5, 5, 1),),
    ),
    (
        "put-inside-a-deleted-range-is-duplicate",
        [],
        Op.txn((), [Op.delete("a", range_end="c"), Op.put("b")]),
        _same,
        DuplicateKeyError,
    ),
    (
        "nested-delete-then-nested-put-is-duplicate",
        [],
        Op.txn((), [Op.txn((), [Op.delete("q")]), Op.txn((), [Op.put("q")])]),
        _same,
        DuplicateKeyError,
    ),
    (
        "outer-put-and-nested-put-is-duplicate",
        [],
        Op.txn((), [Op.put("q"), Op.txn((), [Op.put("q")], [Op.put("q")])]),
        _same,
        DuplicateKeyError,
    ),
    (
        "then-and-else-may-put-one-key",
        [],
        Op.txn((), [Op.txn((), [Op.put("q")], [Op.put("q")])]),
        _revision,
        2,
    ),
    # -- validation [S]
    (
        "nested-txn-gets-the-remaining-budget",
        [],
        Op.txn((), [Op.put("a"), Op.txn((), [Op.put(f"k{i}") for i in range(127)])]),
        _same,
        TooManyOpsError,
    ),
    (
        "nested-txn-within-the-remaining-budget",
        [],
        Op.txn((), [Op.put("a"), Op.txn((), [Op.put(f"k{i}") for i in range(126)])]),
        _revision,
        2,
    ),
    (
        "more-ops-than-max-txn-ops",
        [],
        Op.txn((), [Op.put(f"k{i}") for i in range(129)]),
        _same,
        TooManyOpsError,
    ),
    # -- where etcd panics, the model says so
    (
        "ignore-value-on-a-key-deleted-earlier-in-the-txn",
        ABC,
        Op.txn((), [Op.delete("a", from_key=True), Op.put("b", ignore_value=True)]),
        _same,
        ReferencePanic,
    ),
]


@pytest.mark.parametrize(
    ("setup", "last", "project", "expected"), [pytest.param(*c[1:], id=c[0]) for c in CASES]
)
def test_reference_matches_etcd(
    setup: Sequence[Step], last: Step, project: Callable[[Any], object], expected: object
) -> None:
    """The reference answers as etcd did (one row per observed or documented etcd behaviour)."""
    ref = Reference()
    for step in setup:
        _play(ref, step)
    if isinstance(expected, type) and issubclass(expected, Exception):
        before = (ref.revision, ref.snapshot(ref.revision), ref.compacted)
        with pytest.raises(expected):
            _play(ref, last)
        assert (ref.revision, ref.snapshot(ref.revision), ref.compacted) == before
    else:
        assert project(_play(ref, last)) == expected
