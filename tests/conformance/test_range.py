"""Range (SEMANTICS 2.1): intervals, limit/more/count, sorting, filters, revisions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from etcdlite import SortOrder, SortTarget
from etcdlite.errors import CompactedError, EmptyKeyError, FutureRevisionError

from ._harness import exact

if TYPE_CHECKING:
    from etcdlite import RangeResponse

    from ._harness import KVBackend
    from .conftest import Differential

# Keys chosen for the interval edge cases: a prefix and its neighbours, keys ending in 0xff,
# keys made only of 0xff, and the smallest key "\0".
KEYS = (
    b"\0",
    b"a",
    b"a/1",
    b"a/2",
    b"a0",
    b"a\xff",
    b"a\xff\xff",
    b"b",
    b"c",
    b"\xff",
    b"\xff\xff",
)


def load(kv: KVBackend, keys: tuple[bytes, ...] = KEYS) -> None:
    """Put every key once, in order, with its own name as value (revisions 2, 3, ...)."""
    for k in keys:
        kv.put(k, k)


def _keys(r: RangeResponse) -> list[bytes]:
    return [x.key for x in r.kvs]


INTERVALS: list[Any] = [
    pytest.param("a", {}, [b"a"], id="single-key"),
    pytest.param("zz", {}, [], id="single-missing-key"),
    pytest.param("a/", {"range_end": "a0"}, [b"a/1", b"a/2"], id="half-open-range"),
    pytest.param("a/1", {"range_end": "a/2"}, [b"a/1"], id="end-excluded"),
    pytest.param("a", {"range_end": b"a\0"}, [b"a"], id="end-key-plus-nul"),
    pytest.param("a/", {"prefix": True}, [b"a/1", b"a/2"], id="prefix"),
    pytest.param(
        "a",
        {"prefix": True},
        [b"a", b"a/1", b"a/2", b"a0", b"a\xff", b"a\xff\xff"],
        id="prefix-of-neighbours",
    ),
    pytest.param(b"a\xff", {"prefix": True}, [b"a\xff", b"a\xff\xff"], id="prefix-ending-ff"),
    pytest.param(b"\xff", {"prefix": True}, [b"\xff", b"\xff\xff"], id="prefix-all-ff"),
    pytest.param(b"", {"prefix": True}, list(KEYS), id="prefix-empty-is-everything"),
    pytest.param("b", {"from_key": True}, [b"b", b"c", b"\xff", b"\xff\xff"], id="from-key"),
    pytest.param("b", {"range_end": "\0"}, [b"b", b"c", b"\xff", b"\xff\xff"], id="end-nul"),
    pytest.param(b"\0", {"range_end": b"\0"}, list(KEYS), id="nul-to-nul-is-everything"),
    pytest.param(b"\xff\xff", {"from_key": True}, [b"\xff\xff"], id="from-last-key"),
    pytest.param("b", {"range_end": "b"}, [], id="empty-range"),
    pytest.param("c", {"range_end": "a"}, [], id="inverted-range"),
    pytest.param("bb", {"range_end": "bc"}, [], id="range-between-keys"),
]


@pytest.mark.parametrize(("key", "options", "expected"), INTERVALS)
def test_range_intervals(
    differential: Differential, key: str | bytes, options: dict[str, Any], expected: list[bytes]
) -> None:
    """A Range covers one key, [key, range_end), a prefix, or every key from key on ("\\0")."""

    def scenario(kv: KVBackend) -> RangeResponse:
        load(kv)
        return kv.get(key, **options)

    r = differential(scenario)
    assert _keys(r) == expected
    assert (r.count, r.more) == (len(expected), False)
    assert r.header.revision == 1 + len(KEYS)


def test_range_empty_key_rejected(kv: KVBackend) -> None:
    """A Range with an empty key fails with "etcdserver: key is not provided"."""
    with pytest.raises(EmptyKeyError, match=exact("etcdserver: key is not provided")):
        kv.get(b"")
    with pytest.raises(EmptyKeyError):
        kv.get(b"", range_end=b"z")


@pytest.mark.parametrize(
    ("limit", "expected", "more"),
    [
        pytest.param(0, [b"k1", b"k2", b"k3", b"k4"], False, id="no-limit"),
        pytest.param(1, [b"k1"], True, id="limit-1"),
        pytest.param(3, [b"k1", b"k2", b"k3"], True, id="limit-below-count"),
        pytest.param(4, [b"k1", b"k2", b"k3", b"k4"], False, id="limit-equals-count"),
        pytest.param(9, [b"k1", b"k2", b"k3", b"k4"], False, id="limit-above-count"),
        pytest.param(-1, [b"k1", b"k2", b"k3", b"k4"], False, id="negative-limit"),
    ],
)
def test_limit_more_count(
    differential: Differential, limit: int, expected: list[bytes], more: bool
) -> None:
    """limit truncates the result and sets more; count is the whole range, whatever the limit."""

    def scenario(kv: KVBackend) -> RangeResponse:
        load(kv, (b"k1", b"k2", b"k3", b"k4"))
        return kv.get("k", prefix=True, limit=limit)

    r = differential(scenario)
    assert (_keys(r), r.more, r.count) == (expected, more, 4)


# Four keys whose orders differ by every sort target (no ties, so etcd's unstable sort is
# deterministic): after the writes below,
#   key:     a b c d          create:  c(2) a(3) d(4) b(5)
#   version: b(1) d(2) c(3) a(4)      mod:     b(5) a(8) c(10) d(11)
#   value:   d("1") b("2") a("3") c("4")
SORT_WRITES = (
    ("c", "0"),
    ("a", "0"),
    ("d", "0"),
    ("b", "2"),
    ("a", "0"),
    ("a", "0"),
    ("a", "3"),
    ("c", "0"),
    ("c", "4"),
    ("d", "1"),
)
ASCENDING = {
    SortTarget.KEY: [b"a", b"b", b"c", b"d"],
    SortTarget.CREATE: [b"c", b"a", b"d", b"b"],
    SortTarget.VERSION: [b"b", b"d", b"c", b"a"],
    SortTarget.MOD: [b"b", b"a", b"c", b"d"],
    SortTarget.VALUE: [b"d", b"b", b"a", b"c"],
}


def expected_sort(target: SortTarget, order: SortOrder, limit: int) -> tuple[list[bytes], bool]:
    """etcd's documented rule, for the four keys above.

    With a sort order (or a min/max filter) etcd fetches the whole range, sorts, then cuts at
    ``limit``. With order NONE it fetches ``limit + 1`` keys in key order first and, for a target
    other than KEY, sorts only those ascending: the "NONE plus limit" quirk.
    """
    keys = [b"a", b"b", b"c", b"d"]
    if order is SortOrder.NONE:
        fetched = keys[: limit + 1] if limit else keys
        if target is not SortTarget.KEY:
            fetched = [k for k in ASCENDING[target] if k in fetched]
    else:
        fetched = ASCENDING[target][:: -1 if order is SortOrder.DESCEND else 1]
    if limit and len(fetched) > limit:
        return fetched[:limit], True
    return fetched, False


@pytest.mark.parametrize("limit", [0, 2], ids=["all", "limit-2"])
@pytest.mark.parametrize("order", list(SortOrder), ids=lambda o: o.name.lower())
@pytest.mark.parametrize("target", list(SortTarget), ids=lambda t: t.name.lower())
def test_sort(differential: Differential, target: SortTarget, order: SortOrder, limit: int) -> None:
    """Every sort target and order, with and without limit (target != KEY with NONE sorts ASCEND)."""

    def scenario(kv: KVBackend) -> RangeResponse:
        for k, v in SORT_WRITES:
            kv.put(k, v)
        return kv.get("a", range_end="e", sort_target=target, sort_order=order, limit=limit)

    r = differential(scenario)
    assert (_keys(r), r.more) == expected_sort(target, order, limit)
    assert r.count == 4


def test_sort_none_with_limit_is_not_a_global_sort(differential: Differential) -> None:
    """sort_target=VERSION, order NONE, limit=2 sorts only the first 3 keys (by key), then cuts."""

    def scenario(kv: KVBackend) -> RangeResponse:
        for k, v in SORT_WRITES:
            kv.put(k, v)
        return kv.get("a", range_end="e", sort_target="version", limit=2)

    r = differential(scenario)
    # A global ascending sort by version would give b, d; etcd gives b, c (d was never fetched).
    assert (_keys(r), r.more, r.count) == ([b"b", b"c"], True, 4)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        pytest.param({"min_mod_revision": 4}, [b"k3", b"k4"], id="min-mod"),
        pytest.param({"max_mod_revision": 3}, [b"k1", b"k2"], id="max-mod"),
        pytest.param({"min_create_revision": 3}, [b"k2", b"k3", b"k4"], id="min-create"),
        pytest.param({"max_create_revision": 2}, [b"k1"], id="max-create"),
        pytest.param(
            {"min_mod_revision": 3, "max_mod_revision": 4}, [b"k2", b"k3"], id="mod-window"
        ),
        pytest.param(
            {"min_create_revision": 3, "max_mod_revision": 4}, [b"k2", b"k3"], id="mixed-window"
        ),
        pytest.param({"min_mod_revision": 9}, [], id="filters-out-everything"),
    ],
)
def test_min_max_revision_filters(
    differential: Differential, options: dict[str, Any], expected: list[bytes]
) -> None:
    """min/max mod/create revision filters prune kvs but leave count at the whole range."""

    def scenario(kv: KVBackend) -> RangeResponse:
        load(kv, (b"k1", b"k2", b"k3", b"k4"))  # created and modified at 2, 3, 4, 5
        return kv.get("k", prefix=True, **options)

    r = differential(scenario)
    assert (_keys(r), r.more) == (expected, False)
    assert r.count == 4  # the count quirk: the filters do not change count


@pytest.mark.parametrize(
    ("options", "expected", "more"),
    [
        pytest.param({}, [b"k2", b"k3", b"k4"], False, id="filter"),
        pytest.param({"limit": 1}, [b"k2"], True, id="filter-and-limit"),
        pytest.param({"limit": 3}, [b"k2", b"k3", b"k4"], False, id="limit-equals-filtered"),
        pytest.param({"limit": 1, "sort_order": "descend"}, [b"k4"], True, id="filter-sort-limit"),
    ],
)
def test_count_quirk(
    differential: Differential, options: dict[str, Any], expected: list[bytes], more: bool
) -> None:
    """The observed quirk: 3 kvs returned with count 4, and with limit=1 more=true, count 4."""

    def scenario(kv: KVBackend) -> RangeResponse:
        load(kv, (b"k1", b"k2", b"k3", b"k4"))
        return kv.get("k", prefix=True, min_mod_revision=3, **options)

    r = differential(scenario)
    assert (_keys(r), r.more, r.count) == (expected, more, 4)


def test_keys_only(differential: Differential) -> None:
    """keys_only clears the values and keeps every other field."""

    def scenario(kv: KVBackend) -> RangeResponse:
        load(kv, (b"k1", b"k2"))
        kv.put("k1", "again")
        return kv.get("k", prefix=True, keys_only=True)

    r = differential(scenario)
    assert [(x.key, x.value, x.create_revision, x.mod_revision, x.version) for x in r.kvs] == [
        (b"k1", b"", 2, 4, 2),
        (b"k2", b"", 3, 3, 1),
    ]
    assert r.count == 2


@pytest.mark.parametrize(
    ("options", "count"),
    [
        pytest.param({}, 3, id="plain"),
        pytest.param({"limit": 1}, 3, id="with-limit"),
        pytest.param({"min_mod_revision": 3}, 3, id="with-filter"),
        pytest.param({"revision": 3}, 2, id="at-revision"),
        pytest.param({"sort_order": "descend", "sort_target": "mod"}, 3, id="with-sort"),
    ],
)
def test_count_only(differential: Differential, options: dict[str, Any], count: int) -> None:
    """count_only returns no kvs, more false, and the number of keys in the range."""

    def scenario(kv: KVBackend) -> RangeResponse:
        load(kv, (b"k1", b"k2", b"k3"))
        return kv.get("k", prefix=True, count_only=True, **options)

    r = differential(scenario)
    assert (r.kvs, r.more, r.count) == ((), False, count)


@pytest.mark.parametrize(
    ("revision", "expected"),
    [
        pytest.param(0, b"v6", id="zero-is-current"),
        pytest.param(-1, b"v6", id="negative-is-current"),
        pytest.param(6, b"v6", id="current"),
        pytest.param(4, b"v4", id="equal-to-compact-revision"),
        pytest.param(5, b"v5", id="after-compaction"),
        pytest.param(3, CompactedError, id="compacted"),
        pytest.param(1, CompactedError, id="first-revision-compacted"),
        pytest.param(7, FutureRevisionError, id="future"),
        pytest.param(100, FutureRevisionError, id="far-future"),
    ],
)
def test_read_at_revision(
    differential: Differential, revision: int, expected: bytes | type[Exception]
) -> None:
    """revision > current is ErrFutureRev, < the compaction ErrCompacted; == compaction works."""

    def scenario(kv: KVBackend) -> RangeResponse:
        for i in range(2, 7):
            kv.put("k", f"v{i}")  # revisions 2..6
        kv.compact(4)
        return kv.get("k", revision=revision)

    if isinstance(expected, bytes):
        r = differential(scenario)
        assert [x.value for x in r.kvs] == [expected]
        assert r.header.revision == 6
    else:
        with pytest.raises(expected):
            differential(scenario)


def test_serializable_is_the_same_read(differential: Differential) -> None:
    """serializable reads are local; on one member they return what a linearizable read does."""

    def scenario(kv: KVBackend) -> tuple[RangeResponse, RangeResponse]:
        load(kv, (b"k1", b"k2"))
        return kv.get("k", prefix=True, serializable=True), kv.get("k", prefix=True)

    a, b = differential(scenario)
    assert a.kvs == b.kvs
    assert a.header.revision == b.header.revision == 3
