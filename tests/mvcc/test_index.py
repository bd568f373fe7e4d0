"""The ordered index over all keys (etcd's index.go), with bare single records."""

from __future__ import annotations

import pytest

from etcdlite import KeyValue
from etcdlite._mvcc._index import Index, entry_at, latest
from etcdlite._mvcc._key_index import KeyIndex


def rec(key: bytes, rev: int, version: int = 1, created: int | None = None) -> KeyValue:
    return KeyValue(key, rev if created is None else created, rev, version, b"v" + key, 0)


def tomb(key: bytes, rev: int) -> KeyValue:
    return KeyValue(key, 0, rev, 0, b"", 0)


def test_single_record_is_bare_and_history_is_a_key_index() -> None:
    """One record is stored bare; the second turns it into a KeyIndex; undo turns it back."""
    idx = Index()
    idx.append(rec(b"a", 2))
    assert type(idx.get(b"a")) is KeyValue
    idx.append(rec(b"a", 3, 2, 2))
    entry = idx.get(b"a")
    assert type(entry) is KeyIndex
    assert [kv.mod_revision for kv in entry] == [2, 3]
    idx._check()
    idx.pop(b"a")
    assert idx.get(b"a") == rec(b"a", 2)
    idx.pop(b"a")
    assert idx.get(b"a") is None
    assert len(idx) == 0
    idx._check()


def build() -> Index:
    idx = Index()
    for i, key in enumerate([b"a", b"ab", b"b", b"b\xff", b"c"]):
        idx.append(rec(key, 2 + i))
    idx.append(tomb(b"b", 7))
    return idx


@pytest.mark.parametrize(
    ("key", "end", "expected"),
    [
        (b"a", b"", [b"a"]),
        (b"zz", b"", []),
        (b"a", b"b", [b"a", b"ab"]),
        (b"a", b"\0", [b"a", b"ab", b"b", b"b\xff", b"c"]),
        (b"b", b"\0", [b"b", b"b\xff", b"c"]),
        (b"b", b"a", []),  # an inverted range is empty
        (b"b", b"b", []),
        (b"\0", b"\0", [b"a", b"ab", b"b", b"b\xff", b"c"]),
    ],
    ids=["single", "missing", "range", "from-key", "from-key-mid", "inverted", "empty", "all"],
)
def test_keys_in(key: bytes, end: bytes, expected: list[bytes]) -> None:
    """Ranges are [key, end); an empty end is one key; end "\\0" is unbounded."""
    assert list(build().keys_in(key, end)) == expected


def test_range_current_skips_deleted_and_range_at_revision_sees_them() -> None:
    """A current read skips tombstoned keys; a read at an older revision sees them alive."""
    idx = build()
    assert [kv.key for kv in idx.range_current(b"a", b"\0")] == [b"a", b"ab", b"b\xff", b"c"]
    assert [kv.key for kv in idx.range(b"a", b"\0", 6)] == [b"a", b"ab", b"b", b"b\xff", b"c"]
    assert [kv.key for kv in idx.range(b"a", b"\0", 3)] == [b"a", b"ab"]


def test_entry_helpers() -> None:
    """latest() and entry_at() treat a bare record and a KeyIndex alike."""
    bare = rec(b"a", 5)
    assert latest(bare) is bare
    assert entry_at(bare, 4) is None
    assert entry_at(bare, 5) is bare
    assert entry_at(tomb(b"a", 5), 9) is None
    ki = KeyIndex([rec(b"a", 2), tomb(b"a", 3)])
    assert latest(ki) == tomb(b"a", 3)
    assert entry_at(ki, 2) == rec(b"a", 2)


def test_compact_collapses_and_drops() -> None:
    """Compaction leaves one-record histories bare and removes keys deleted before it."""
    idx = build()
    idx.append(rec(b"a", 8, 2, 2))
    idx.compact([b"a", b"b"], 8, keep_tombstone=True)
    assert idx.get(b"a") == rec(b"a", 8, 2, 2)  # collapsed to the bare record
    assert idx.get(b"b") is None  # deleted at 7 < 8
    assert idx.records(b"c") == [rec(b"c", 6)]  # not touched
    idx._check()
