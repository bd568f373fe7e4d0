"""One key's history (etcd's key_index.go): reads at a revision and compaction."""

from __future__ import annotations

import pytest

from etcdlite import KeyValue
from etcdlite._mvcc._key_index import KeyIndex


def put(rev: int, version: int, created: int, value: bytes = b"v") -> KeyValue:
    return KeyValue(b"k", created, rev, version, value, 0)


def tomb(rev: int) -> KeyValue:
    return KeyValue(b"k", 0, rev, 0, b"", 0)


def history() -> KeyIndex:
    """put@2 put@4 del@6 | put@8 put@9: two generations, the second still open."""
    return KeyIndex([put(2, 1, 2), put(4, 2, 2), tomb(6), put(8, 1, 8), put(9, 2, 8)])


@pytest.mark.parametrize(
    ("rev", "expected_mod"),
    [(1, None), (2, 2), (3, 2), (4, 4), (5, 4), (6, None), (7, None), (8, 8), (9, 9), (100, 9)],
)
def test_at(rev: int, expected_mod: int | None) -> None:
    """A read at a revision sees the last change at or before it; a tombstone means absent."""
    kv = history().at(rev)
    assert (kv.mod_revision if kv else None) == expected_mod


def test_generations_split_at_tombstones() -> None:
    """Generations are the runs of revisions ended by a delete, as etcd draws them."""
    assert history().generations() == [[2, 4, 6], [8, 9]]


@pytest.mark.parametrize(
    ("rev", "keep_tombstone", "left"),
    [
        (1, True, [2, 4, 6, 8, 9]),  # nothing at or below 1
        (3, True, [2, 4, 6, 8, 9]),  # the record of rev 2 is the state at 3
        (4, True, [4, 6, 8, 9]),
        (5, True, [4, 6, 8, 9]),
        (6, True, [6, 8, 9]),  # the tombstone at exactly rev is kept (etcd >= 3.5)
        (6, False, [8, 9]),  # ... and dropped by etcd 3.4
        (7, True, [8, 9]),  # a tombstone below rev goes with its generation
        (8, True, [8, 9]),
        (9, True, [9]),
        (50, True, [9]),  # the live record always stays
    ],
)
def test_compact(rev: int, keep_tombstone: bool, left: list[int]) -> None:
    """Compaction keeps only what reads at rev and later can need."""
    ki = history()
    ki.compact(rev, keep_tombstone=keep_tombstone)
    assert [kv.mod_revision for kv in ki] == left
    if ki:
        ki._check(b"k")
    # Every read at or after the compaction revision answers as before.
    for r in range(rev, 12):
        before = history().at(r)
        assert ki.at(r) == before if ki else before is None


def test_compact_drops_a_deleted_key_entirely() -> None:
    """A key deleted before the compaction revision leaves no history at all."""
    ki = KeyIndex([put(2, 1, 2), tomb(3)])
    ki.compact(5, keep_tombstone=True)
    assert list(ki) == []


def test_same_revision_put_and_delete() -> None:
    """A txn may put a key and then delete it with a from-key range: the later change wins."""
    ki = KeyIndex([put(2, 1, 2), put(5, 2, 2), tomb(5)])
    assert ki.at(5) is None
    assert ki.at(4) == put(2, 1, 2)
    ki._check(b"k")


@pytest.mark.parametrize(
    "records",
    [
        [put(3, 1, 3), put(2, 2, 3)],  # revisions out of order
        [put(2, 1, 2), put(3, 3, 2)],  # version skipped
        [put(2, 1, 2), put(3, 2, 9)],  # create revision changed inside a generation
        [KeyValue(b"other", 2, 2, 1, b"v")],  # another key's record
        [KeyValue(b"k", 0, 3, 0, b"junk", 0)],  # a tombstone with a value
    ],
    ids=["order", "version", "create", "key", "tombstone-value"],
)
def test_check_catches_corruption(records: list[KeyValue]) -> None:
    """_check() rejects histories that cannot happen."""
    with pytest.raises(AssertionError):
        KeyIndex(records)._check(b"k")
