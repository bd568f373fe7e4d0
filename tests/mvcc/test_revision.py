"""Revision pairs and etcd's backend key encoding (revision.go)."""

from __future__ import annotations

import pytest

from etcdlite._mvcc._revision import Revision


@pytest.mark.parametrize(
    ("rev", "tombstone", "hexed"),
    [
        (Revision(1, 0), False, "00000000000000015f0000000000000000"),
        (Revision(7, 2), False, "00000000000000075f0000000000000002"),
        (Revision(2**40, 3), True, "00000100000000005f000000000000000374"),
    ],
    ids=["first", "sub-revision", "tombstone-mark"],
)
def test_bytes_round_trip(rev: Revision, tombstone: bool, hexed: str) -> None:
    """A revision key is 8-byte big-endian main, '_', 8-byte sub, and 't' for a tombstone."""
    raw = rev.to_bytes(tombstone=tombstone)
    assert raw.hex() == hexed
    assert Revision.from_bytes(raw) == (rev, tombstone)


def test_order_is_main_then_sub() -> None:
    """Revisions order by main revision, then by their position inside the request."""
    assert sorted([Revision(3, 0), Revision(2, 5), Revision(2, 1)]) == [
        Revision(2, 1),
        Revision(2, 5),
        Revision(3, 0),
    ]
    # The byte encoding sorts the same way, which is why etcd uses it as the backend key.
    revs = [Revision(m, s) for m in (1, 255, 256, 70000) for s in (0, 1, 300)]
    assert sorted(revs, key=lambda r: r.to_bytes()) == sorted(revs)


@pytest.mark.parametrize(
    "raw",
    [b"", b"\0" * 17, b"\0" * 8 + b"_" + b"\0" * 8 + b"x", b"\0" * 19],
    ids=["empty", "no-separator", "bad-mark", "too-long"],
)
def test_from_bytes_rejects_garbage(raw: bytes) -> None:
    """A malformed revision key is refused, never misread."""
    with pytest.raises(ValueError, match="revision"):
        Revision.from_bytes(raw)
