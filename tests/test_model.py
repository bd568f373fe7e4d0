"""Value types and builders: input checks, ranges, Op and Compare, fast constructors."""

from __future__ import annotations

import attrs
import pytest

import etcdlite
from etcdlite import (
    Compare,
    CompareResult,
    CompareTarget,
    KeyValue,
    Op,
    SortOrder,
    SortTarget,
    prefix_end,
)
from etcdlite._model import (
    fast_constructor,
    resolve_range,
    to_bool,
    to_bytes,
    to_int,
    to_sort_order,
    to_sort_target,
)
from etcdlite.errors import InvalidSortOptionError


@pytest.mark.parametrize(
    ("prefix", "end"),
    [
        (b"a", b"b"),
        (b"app/", b"app0"),
        (b"a\xff", b"b"),
        (b"a\xff\xff", b"b"),
        (b"\xff", b"\0"),
        (b"\xff\xff", b"\0"),
        (b"", b"\0"),
        (b"\x00", b"\x01"),
    ],
)
def test_prefix_end(prefix: bytes, end: bytes) -> None:
    """clientv3 GetPrefixRangeEnd: drop trailing 0xff, bump the last byte; all-0xff is "\\0"."""
    assert prefix_end(prefix) == end


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("k", None, False, False), (b"k", b"")),
        (("k", "z", False, False), (b"k", b"z")),
        (("k", None, True, False), (b"k", b"l")),
        (("k", None, False, True), (b"k", b"\0")),
        (("", None, True, False), (b"\0", b"\0")),
        (("", None, False, True), (b"\0", b"\0")),
        ((b"\xff", None, True, False), (b"\xff", b"\0")),
    ],
    ids=["single", "explicit", "prefix", "from-key", "empty-prefix", "empty-from-key", "ff"],
)
def test_resolve_range(
    args: tuple[object, object, object, object], expected: tuple[bytes, bytes]
) -> None:
    """The clientv3 options become etcd's (key, range_end) pair."""
    assert resolve_range(*args) == expected


@pytest.mark.parametrize(
    ("range_end", "prefix", "from_key"),
    [("z", True, False), ("z", False, True), (None, True, True)],
)
def test_resolve_range_refuses_two_range_forms(
    range_end: str | None, prefix: bool, from_key: bool
) -> None:
    """range_end, prefix and from_key are exclusive: guessing which one wins would be a bug."""
    with pytest.raises(ValueError, match="cannot be used"):
        resolve_range("k", range_end, prefix, from_key)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: to_bytes(1, "key"), "key must be str or bytes, not int"),
        (lambda: to_bytes(None, "value"), "value must be str or bytes, not NoneType"),
        (lambda: to_int("1", "revision"), "revision must be int, not str"),
        (lambda: to_int(True, "limit"), "limit must be int, not bool"),
        (lambda: to_bool(1, "prev_kv"), "prev_kv must be bool, not int"),
        (lambda: Op.put("k", 1), "value must be str or bytes, not int"),  # type: ignore[arg-type]
        (lambda: Op.get("k", limit=1.5), "limit must be int, not float"),  # type: ignore[arg-type]
        (lambda: Op.get("k", sort_target=3.0), "sort_target must be str or SortTarget"),  # type: ignore[arg-type]
        (lambda: Op.delete(5), "key must be str or bytes, not int"),  # type: ignore[arg-type]
        (lambda: Op.txn([Op.get("k")]), "compare must hold Compare, not RangeRequest"),  # type: ignore[list-item]
        (lambda: Op.txn((), "abc"), "success must be a sequence of Op, not str"),  # type: ignore[arg-type]
        (lambda: Op.txn((), [Compare.version("k") == 1]), "success must hold Op"),  # type: ignore[list-item]
        (lambda: Compare.version("k") == "1", "version must be int, not str"),
        (lambda: Compare.value("k") == 1, "value must be str or bytes, not int"),
    ],
)
def test_wrong_types_name_the_argument(call: object, message: str) -> None:
    """Wrong types raise TypeError naming the argument."""
    with pytest.raises(TypeError, match=message):
        call()  # type: ignore[operator]


def test_str_bytes_and_friends() -> None:
    """Keys and values accept str (UTF-8) and bytes-like objects; everything comes back bytes."""
    assert to_bytes("é", "key") == b"\xc3\xa9"
    assert to_bytes(bytearray(b"ab"), "key") == b"ab"
    assert to_bytes(memoryview(b"cd"), "key") == b"cd"


@pytest.mark.parametrize(
    ("name", "target"),
    [
        ("key", SortTarget.KEY),
        ("VERSION", SortTarget.VERSION),
        ("create", SortTarget.CREATE),
        ("create_revision", SortTarget.CREATE),
        ("mod", SortTarget.MOD),
        ("value", SortTarget.VALUE),
        (SortTarget.MOD, SortTarget.MOD),
        (4, SortTarget.VALUE),
    ],
)
def test_sort_targets(name: object, target: SortTarget) -> None:
    """Sort targets by name (any case), enum or etcd number."""
    assert to_sort_target(name) is target


@pytest.mark.parametrize("bad", ["size", 5, -1])
def test_invalid_sort_option(bad: object) -> None:
    """An unknown sort target or order is etcd's "invalid sort option" (3.6)."""
    with pytest.raises(InvalidSortOptionError, match="etcdserver: invalid sort option"):
        to_sort_target(bad)
    with pytest.raises(InvalidSortOptionError):
        to_sort_order(bad if bad != 5 else 3)


def test_sort_orders() -> None:
    """Sort orders by name, alias or enum."""
    assert [to_sort_order(x) for x in ("none", "ascend", "DESCEND", "asc", "desc")] == [
        SortOrder.NONE,
        SortOrder.ASCEND,
        SortOrder.DESCEND,
        SortOrder.ASCEND,
        SortOrder.DESCEND,
    ]


@pytest.mark.parametrize(
    ("built", "target", "result", "operand"),
    [
        (Compare.value("k") == "v", CompareTarget.VALUE, CompareResult.EQUAL, b"v"),
        (Compare.version("k") != 2, CompareTarget.VERSION, CompareResult.NOT_EQUAL, 2),
        (Compare.create_revision("k") > 3, CompareTarget.CREATE, CompareResult.GREATER, 3),
        (Compare.mod_revision("k") < 4, CompareTarget.MOD, CompareResult.LESS, 4),
        (Compare.lease("k") == 0, CompareTarget.LEASE, CompareResult.EQUAL, 0),
    ],
)
def test_compare_builders(
    built: Compare, target: CompareTarget, result: CompareResult, operand: object
) -> None:
    """Compare.<target>(key) <op> value builds etcd's Compare message."""
    assert (built.key, built.target, built.result, built.operand, built.range_end) == (
        b"k",
        target,
        result,
        operand,
        b"",
    )


def test_compare_over_ranges() -> None:
    """Compares take range_end, prefix or from_key like the KV calls."""
    assert (Compare.version("a", prefix=True) == 1).range_end == b"b"
    assert (Compare.version("a", from_key=True) == 1).range_end == b"\0"
    assert (Compare.version("a", range_end="c") == 1).range_end == b"c"


def test_responses_are_frozen_attrs() -> None:
    """Every response and value type is an immutable attrs class."""
    kv = KeyValue(b"k", 1, 1, 1, b"v")
    assert attrs.has(KeyValue)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        kv.value = b"x"  # type: ignore[misc]
    assert attrs.evolve(kv, value=b"x").value == b"x"


@pytest.mark.parametrize(
    "cls",
    [
        etcdlite.KeyValue,
        etcdlite.ResponseHeader,
        etcdlite.PutResponse,
        etcdlite.RangeResponse,
        etcdlite.DeleteRangeResponse,
        etcdlite.TxnResponse,
    ],
)
def test_fast_constructor_builds_genuine_frozen_instances(cls: type) -> None:
    """The fast constructors make real, frozen, equal instances of the public class."""
    fields = attrs.fields(cls)
    values = [f"{f.name}".encode() if f.type in ("bytes",) else i for i, f in enumerate(fields)]
    fast: object = fast_constructor(cls)(*values)
    slow = cls(*values)
    assert type(fast) is cls
    assert fast == slow
    assert hash(fast) == hash(slow)
    assert repr(fast) == repr(slow)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        setattr(fast, fields[0].name, None)
