"""etcd's HashKV pieces: CRC-32C, the mvccpb.KeyValue encoding and the stored revisions."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

import pytest

from etcdlite import KeyValue, Op, Store
from etcdlite._hash import crc32c, encode_key_value, hash_kv, stored_revisions
from etcdlite._mvcc._kv import KV

if TYPE_CHECKING:
    from etcdlite._store import Compat


def _crc32c_bitwise(data: bytes) -> int:
    """The textbook bit-at-a-time CRC-32C, the reference for the table-driven one."""
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", 0x00000000),
        (b"a", 0xC1D04330),
        (b"123456789", 0xE3069283),  # the standard check value
        (bytes(32), 0x8A9136AA),  # RFC 3720 B.4
        (b"\xff" * 32, 0x62A8AB43),
        (bytes(range(32)), 0x46DD794E),
        (bytes(range(31, -1, -1)), 0x113FDB5C),
        (b"key", 0x40A4756D),  # a fresh etcd's HashKV (1084519789)
    ],
    ids=["empty", "a", "check", "zeros", "ones", "ascending", "descending", "bucket"],
)
def test_crc32c_known_vectors(data: bytes, expected: int) -> None:
    """CRC-32C (Castagnoli) gives the published check values."""
    assert crc32c(data) == expected


def test_crc32c_matches_bitwise_and_chunks() -> None:
    """Every length (the 8-byte loop and the byte tail) agrees with the bitwise CRC, and feeding
    the data in pieces is the same as feeding it at once (Go's crc32.Update)."""
    rng = random.Random(7)
    for n in range(70):
        data = rng.randbytes(n)
        assert crc32c(data) == _crc32c_bitwise(data), n
        cut = rng.randint(0, n)
        assert crc32c(data[cut:], crc32c(data[:cut])) == crc32c(data)
    assert crc32c(bytearray(b"123456789")) == crc32c(memoryview(b"123456789")) == 0xE3069283


@pytest.mark.parametrize(
    ("kv", "hexed"),
    [
        # key(1) "a", create(2) 2, mod(3) 2, version(4) 1, value(5) "1"
        (KeyValue(b"a", 2, 2, 1, b"1"), "0a0161 1002 1802 2001 2a0131"),
        # zero fields are left out; 300 = ac 02 as a varint
        (KeyValue(b"k", 2, 300, 1, b"", 0), "0a016b 1002 18ac02 2001"),
        # lease(6) 0x1234 = b4 24
        (KeyValue(b"k", 5, 9, 3, b"v", 0x1234), "0a016b 1005 1809 2003 2a0176 30b424"),
        # a 300-byte value: length ac 02
        (KeyValue(b"k", 2, 2, 1, b"x" * 300), "0a016b100218022001 2aac02" + "78" * 300),
        # a negative lease (int64) takes ten bytes
        (KeyValue(b"k", 2, 2, 1, b"", -1), "0a016b100218022001 30" + "ff" * 9 + "01"),
    ],
    ids=["small", "omit-zero", "lease", "long-value", "negative-lease"],
)
def test_encode_key_value(kv: KeyValue, hexed: str) -> None:
    """Records encode as gogoproto marshals mvccpb.KeyValue: field order, zeros omitted."""
    assert encode_key_value(kv) == bytes.fromhex(hexed)


def test_hash_of_hand_built_bucket() -> None:
    """The hash is the CRC of "key", then each revision key and value: a put, then a delete
    (tombstone key ends in 't', its value is a KeyValue with only the key)."""
    kv = KV()
    kv.put(b"a", b"1", 0)
    w = kv.begin()
    w.put(b"b", b"2", 0)
    w.delete(b"a", b"")
    w.commit()
    bucket = b"".join(
        [
            b"key",
            bytes.fromhex("00000000000000025f0000000000000000"),
            bytes.fromhex("0a01611002180220012a0131"),
            bytes.fromhex("00000000000000035f0000000000000000"),
            bytes.fromhex("0a01621003180320012a0132"),
            bytes.fromhex("00000000000000035f000000000000000174"),
            bytes.fromhex("0a0161"),
        ]
    )
    assert hash_kv(kv, 0) == hash_kv(kv, 3) == crc32c(bucket)
    assert hash_kv(kv, 2) == crc32c(bucket[: 3 + 17 + 12])


def test_stored_revisions_after_compaction() -> None:
    """After compaction the stored revisions are each key's record at the compaction revision
    (3.4 drops a tombstone even at exactly it), then every later revision with its sub."""
    cases: tuple[tuple[Compat, bool], ...] = (("3.4", False), ("3.5", True))
    for compat, tomb_kept in cases:
        store = Store(compat=compat)
        store.put("a", "1")  # 2
        store.put("b", "2")  # 3
        store.txn(success=[Op.delete("b"), Op.put("c", "3")])  # 4: (4, 0) tomb b, (4, 1) c
        store.put("a", "4")  # 5
        store.compact(4)
        got = [(m, s, r.key, r.version) for m, s, r in stored_revisions(store._kv)]
        expected = [(2, 0, b"a", 1)]
        if tomb_kept:
            expected.append((4, 0, b"b", 0))
        # With 3.4 the log entry of revision 4 loses its tombstone, but c keeps its sub.
        expected += [(4, 1, b"c", 1), (5, 0, b"a", 2)]
        assert got == expected, compat
