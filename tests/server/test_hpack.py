"""HPACK (RFC 7541): the Huffman code, the Appendix C examples, round trips and every error.

The Huffman table is stored as code lengths only; these tests hold the derived canonical code
to the RFC (Kraft sum exactly 1, codes of listed symbols) and the decoder to the RFC's worked
examples, dynamic table contents and sizes included.
"""

from __future__ import annotations

import itertools
import random
from fractions import Fraction

import pytest

from etcdlite.server._hpack import (
    _CODES,
    _LENGTHS,
    _STATIC,
    Decoder,
    Encoder,
    HPACKError,
    _decode_int,
    _encode_int,
    huffman_decode,
    huffman_encode,
)

Fields = list[tuple[bytes, bytes]]


@pytest.mark.parametrize(
    ("index", "field"),
    [
        (1, (b":authority", b"")),
        (2, (b":method", b"GET")),
        (8, (b":status", b"200")),
        (16, (b"accept-encoding", b"gzip, deflate")),
        (31, (b"content-type", b"")),
        (58, (b"user-agent", b"")),
        (61, (b"www-authenticate", b"")),
    ],
)
def test_static_table(index: int, field: tuple[bytes, bytes]) -> None:
    """The static table has RFC 7541 Appendix A's 61 entries; indexed fields decode from it."""
    assert len(_STATIC) == 62
    assert _STATIC[index] == field
    assert Decoder().decode(bytes((0x80 | index,))) == [field]


def test_huffman_kraft_sum_is_one() -> None:
    """257 code lengths whose Kraft sum is exactly 1: a complete prefix code, EOS included."""
    assert len(_LENGTHS) == 257
    assert sum(Fraction(1, 2**length) for length in _LENGTHS) == 1


@pytest.mark.parametrize(
    ("symbol", "code", "length"),
    [
        (ord("0"), 0x0, 5),
        (ord("a"), 0x3, 5),
        (ord("t"), 0x9, 5),
        (ord(" "), 0x14, 6),
        (ord("%"), 0x15, 6),
        (ord(":"), 0x5C, 7),
        (ord("X"), 0xFC, 8),
        (ord("Y"), 0x73, 7),
        (ord("Z"), 0xFD, 8),
        (ord("!"), 0x3F8, 10),
        (ord("<"), 0x7FFC, 15),
        (ord("\\"), 0x7FFF0, 19),
        (0, 0x1FF8, 13),
        (1, 0x7FFFD8, 23),
        (9, 0xFFFFEA, 24),
        (10, 0x3FFFFFFC, 30),
        (128, 0xFFFE6, 20),
        (255, 0x3FFFFEE, 26),
        (256, 0x3FFFFFFF, 30),
    ],
    ids=lambda v: repr(v),
)
def test_huffman_derived_codes_match_rfc(symbol: int, code: int, length: int) -> None:
    """The canonical codes derived from the lengths are the codes RFC 7541 Appendix B lists."""
    assert (_CODES[symbol], _LENGTHS[symbol]) == (code, length)


def test_huffman_codes_are_canonical() -> None:
    """Codes ordered by (length, symbol) are consecutive, shifted where the length grows."""
    order = sorted(range(257), key=lambda s: (_LENGTHS[s], s))
    for prev, sym in itertools.pairwise(order):
        shift = _LENGTHS[sym] - _LENGTHS[prev]
        assert _CODES[sym] == (_CODES[prev] + 1) << shift
    assert _CODES[order[0]] == 0


@pytest.mark.parametrize(
    ("text", "coded"),
    [
        (b"www.example.com", "f1e3c2e5f23a6ba0ab90f4ff"),
        (b"no-cache", "a8eb10649cbf"),
        (b"custom-key", "25a849e95ba97d7f"),
        (b"custom-value", "25a849e95bb8e8b4bf"),
        (b"302", "6402"),
        (b"private", "aec3771a4b"),
        (b"Mon, 21 Oct 2013 20:13:21 GMT", "d07abe941054d444a8200595040b8166e082a62d1bff"),
        (b"https://www.example.com", "9d29ad171863c78f0b97c8e9ae82ae43d3"),
        (b"", ""),
    ],
)
def test_huffman_rfc_strings(text: bytes, coded: str) -> None:
    """Strings from RFC 7541 C.4 and C.6 encode and decode to the RFC's bytes."""
    assert huffman_encode(text).hex() == coded
    assert huffman_decode(bytes.fromhex(coded)) == text


def test_huffman_round_trip_random() -> None:
    """Random byte strings (every byte value, lengths 0-300) survive encode then decode."""
    rng = random.Random(7541)
    for _ in range(300):
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(300)))
        coded = huffman_encode(data)
        assert huffman_decode(coded) == data
        assert len(coded) == (sum(_LENGTHS[b] for b in data) + 7) // 8


def test_huffman_cache_returns_same_value() -> None:
    """A repeated short string decodes to the same value the second time (from the cache)."""
    coded = huffman_encode(b"1000m")
    assert huffman_decode(coded) == b"1000m"
    assert huffman_decode(coded) == b"1000m"


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(bytes.fromhex("fffffffc"), id="eos-30-bits-then-padding"),
        pytest.param(bytes.fromhex("ffffffff"), id="eos-then-ones"),
        pytest.param(huffman_encode(b"a") + b"\xff", id="padding-8-bits"),
        pytest.param(bytes.fromhex("00"), id="padding-zeros"),  # '0' then 3 bits of 0
        pytest.param(bytes.fromhex("1e"), id="padding-not-ones"),  # '0', then 110
        pytest.param(bytes.fromhex("ff"), id="only-padding-8-bits"),
        pytest.param(bytes.fromhex("fe"), id="incomplete-code"),
    ],
)
def test_huffman_invalid(data: bytes) -> None:
    """EOS inside a string, padding longer than 7 bits or not all ones: HPACKError."""
    with pytest.raises(HPACKError):
        huffman_decode(data)


@pytest.mark.parametrize(
    ("value", "prefix", "coded"),
    [
        (10, 5, "0a"),  # RFC 7541 C.1.1
        (1337, 5, "1f9a0a"),  # C.1.2
        (42, 8, "2a"),  # C.1.3
        (31, 5, "1f00"),
        (2**32, 7, "7f81ffffff0f"),
    ],
)
def test_integer_representation(value: int, prefix: int, coded: str) -> None:
    """Integers with an N-bit prefix encode and decode as RFC 7541 5.1 and C.1 show."""
    raw = bytes.fromhex(coded)
    assert _encode_int(value, prefix, 0) == raw
    limit = (1 << prefix) - 1
    if raw[0] & limit == limit:
        assert _decode_int(raw, 1, limit) == (value, len(raw))


# RFC 7541 Appendix C: per block of one connection, (header list, dynamic table newest first
# as (entry size, name, value), table size).
_AUTH = (b":authority", b"www.example.com")
_REQUESTS: list[tuple[Fields, list[tuple[int, bytes, bytes]], int]] = [
    (
        [(b":method", b"GET"), (b":scheme", b"http"), (b":path", b"/"), _AUTH],
        [(57, *_AUTH)],
        57,
    ),
    (
        [
            (b":method", b"GET"),
            (b":scheme", b"http"),
            (b":path", b"/"),
            _AUTH,
            (b"cache-control", b"no-cache"),
        ],
        [(53, b"cache-control", b"no-cache"), (57, *_AUTH)],
        110,
    ),
    (
        [
            (b":method", b"GET"),
            (b":scheme", b"https"),
            (b":path", b"/index.html"),
            _AUTH,
            (b"custom-key", b"custom-value"),
        ],
        [
            (54, b"custom-key", b"custom-value"),
            (53, b"cache-control", b"no-cache"),
            (57, *_AUTH),
        ],
        164,
    ),
]
_C3 = [
    "828684410f7777772e6578616d706c652e636f6d",
    "828684be58086e6f2d6361636865",
    "828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565",
]
_C4 = [
    "828684418cf1e3c2e5f23a6ba0ab90f4ff",
    "828684be5886a8eb10649cbf",
    "828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf",
]
_DATE1 = b"Mon, 21 Oct 2013 20:13:21 GMT"
_DATE2 = b"Mon, 21 Oct 2013 20:13:22 GMT"
_LOC = (b"location", b"https://www.example.com")
_COOKIE = b"foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"
_RESPONSES: list[tuple[Fields, list[tuple[int, bytes, bytes]], int]] = [
    (
        [(b":status", b"302"), (b"cache-control", b"private"), (b"date", _DATE1), _LOC],
        [
            (63, *_LOC),
            (65, b"date", _DATE1),
            (52, b"cache-control", b"private"),
            (42, b":status", b"302"),
        ],
        222,
    ),
    (
        [(b":status", b"307"), (b"cache-control", b"private"), (b"date", _DATE1), _LOC],
        [
            (42, b":status", b"307"),
            (63, *_LOC),
            (65, b"date", _DATE1),
            (52, b"cache-control", b"private"),
        ],
        222,
    ),
    (
        [
            (b":status", b"200"),
            (b"cache-control", b"private"),
            (b"date", _DATE2),
            _LOC,
            (b"content-encoding", b"gzip"),
            (b"set-cookie", _COOKIE),
        ],
        [
            (98, b"set-cookie", _COOKIE),
            (52, b"content-encoding", b"gzip"),
            (65, b"date", _DATE2),
        ],
        215,
    ),
]
_C5 = [
    (
        "4803333032580770726976617465611d4d6f6e2c203231204f637420323031332032303a31333a323120474d"
        "546e1768747470733a2f2f7777772e6578616d706c652e636f6d"
    ),
    "4803333037c1c0bf",
    (
        "88c1611d4d6f6e2c203231204f637420323031332032303a31333a323220474d54c05a04677a69707738666f"
        "6f3d4153444a4b48514b425a584f5157454f50495541585157454f49553b206d61782d6167653d333630303b"
        "2076657273696f6e3d31"
    ),
]
_C6 = [
    (
        "488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad171863c7"
        "8f0b97c8e9ae82ae43d3"
    ),
    "4883640effc1c0bf",
    (
        "88c16196d07abe941054d444a8200595040b8166e084a62d1bffc05a839bd9ab77ad94e7821dd7f2e6c7b335"
        "dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007"
    ),
]


@pytest.mark.parametrize(
    ("blocks", "expected", "table_size"),
    [
        pytest.param(_C3, _REQUESTS, 4096, id="C.3-requests"),
        pytest.param(_C4, _REQUESTS, 4096, id="C.4-requests-huffman"),
        pytest.param(_C5, _RESPONSES, 256, id="C.5-responses-evictions"),
        pytest.param(_C6, _RESPONSES, 256, id="C.6-responses-huffman-evictions"),
    ],
)
def test_rfc_appendix_c_sequences(
    blocks: list[str],
    expected: list[tuple[Fields, list[tuple[int, bytes, bytes]], int]],
    table_size: int,
) -> None:
    """RFC 7541 C.3-C.6: each block of a connection decodes to the RFC's header list and
    leaves the RFC's dynamic table (entries, entry sizes, table size)."""
    decoder = Decoder(max_table_size=table_size)
    for block, (headers, table, size) in zip(blocks, expected, strict=True):
        assert decoder.decode(bytes.fromhex(block)) == headers
        assert [(len(n) + len(v) + 32, n, v) for n, v in decoder._entries] == table
        assert decoder._size == size
        decoder._check()


@pytest.mark.parametrize(
    ("block", "headers", "table"),
    [
        pytest.param(
            "400a637573746f6d2d6b65790d637573746f6d2d686561646572",
            [(b"custom-key", b"custom-header")],
            [(b"custom-key", b"custom-header")],
            id="C.2.1-literal-indexing",
        ),
        pytest.param(
            "040c2f73616d706c652f70617468",
            [(b":path", b"/sample/path")],
            [],
            id="C.2.2-literal-without-indexing",
        ),
        pytest.param(
            "100870617373776f726406736563726574",
            [(b"password", b"secret")],
            [],
            id="C.2.3-literal-never-indexed",
        ),
        pytest.param("82", [(b":method", b"GET")], [], id="C.2.4-indexed"),
    ],
)
def test_rfc_appendix_c2(block: str, headers: Fields, table: Fields) -> None:
    """RFC 7541 C.2: each field representation without Huffman, and what it adds to the table."""
    decoder = Decoder()
    assert decoder.decode(bytes.fromhex(block)) == headers
    assert decoder._entries == table
    assert decoder._size == sum(len(n) + len(v) + 32 for n, v in table)


def _random_headers(rng: random.Random) -> Fields:
    """A random header list mixing static fields, static names and new names/values."""
    headers: Fields = []
    for _ in range(rng.randrange(12)):
        kind = rng.randrange(3)
        name, value = _STATIC[rng.randrange(1, len(_STATIC))]
        if kind >= 1:
            value = bytes(rng.randrange(256) for _ in range(rng.choice((0, 3, 200))))
        if kind == 2:
            name = bytes(rng.randrange(256) for _ in range(rng.choice((1, 5, 130))))
        headers.append((name, value))
    return headers


def test_encoder_round_trip_random() -> None:
    """Random header lists encode then decode to themselves, and leave the table empty."""
    rng = random.Random(20)
    encoder = Encoder()
    decoder = Decoder()
    for _ in range(300):
        headers = _random_headers(rng)
        assert decoder.decode(encoder.encode(headers)) == headers
    assert decoder._entries == []


@pytest.mark.parametrize(
    ("headers", "coded"),
    [
        pytest.param([(b":method", b"GET")], "82", id="static-field"),
        pytest.param([(b":path", b"/x")], "04022f78", id="static-name"),
        pytest.param([(b"user-agent", b"u")], "0f2b0175", id="static-name-long-index"),
        pytest.param([(b"te", b"trailers")], "0002746508747261696c657273", id="new-name"),
        pytest.param([(b"a", b"b" * 127)], "0001617f00" + "62" * 127, id="long-value"),
    ],
)
def test_encoder_representations(headers: Fields, coded: str) -> None:
    """Indexed for a static field, indexed name for a static name, else a new name literal."""
    assert Encoder().encode(headers).hex() == coded


def _literal(name: bytes, value: bytes, first: int = 0x40) -> bytes:
    """A literal field with a new name (incremental indexing by default), no Huffman."""
    return bytes((first, len(name))) + name + bytes((len(value),)) + value


def test_eviction_and_oversized_entry() -> None:
    """Entries are evicted oldest first; an entry larger than the table empties it (RFC 4.4)."""
    decoder = Decoder(max_table_size=100)
    decoder.decode(_literal(b"a", b"1" * 20))  # 53
    decoder.decode(_literal(b"b", b"2" * 10))  # 43: 96 in all
    assert [n for n, _ in decoder._entries] == [b"b", b"a"]
    decoder.decode(_literal(b"c", b""))  # 33: "a" goes
    assert [n for n, _ in decoder._entries] == [b"c", b"b"]
    assert decoder._size == 76
    assert decoder.decode(bytes((0x80 | 62, 0x80 | 63))) == [(b"c", b""), (b"b", b"2" * 10)]
    decoder.decode(_literal(b"d", b"x" * 68))  # 101 > 100
    assert decoder._entries == []
    assert decoder._size == 0
    decoder._check()


def test_size_update_shrinks_and_grows() -> None:
    """A size update evicts down to the new size; later entries fit the new maximum."""
    decoder = Decoder(max_table_size=200)
    decoder.decode(_literal(b"a", b"1" * 20) + _literal(b"b", b"2" * 20))  # 53 + 53
    assert decoder.decode(bytes((0x20 | 31, 60 - 31))) == []  # update to 60
    assert decoder._entries == [(b"b", b"2" * 20)]
    decoder.decode(_literal(b"c", b""))  # 33: "b" goes under the 60-byte maximum
    assert decoder._entries == [(b"c", b"")]
    decoder.decode(b"\x20")  # update to 0 empties the table
    assert decoder._entries == []
    block = b"\x20" + _encode_int(200, 5, 0x20) + _literal(b"a", b"1" * 20) + _literal(b"b", b"")
    decoder.decode(block)  # two updates at the start of a block, back to 200
    assert [n for n, _ in decoder._entries] == [b"b", b"a"]
    decoder._check()


def test_dynamic_index_after_static() -> None:
    """Index 62 is the newest dynamic entry, and indexed names can come from the table."""
    decoder = Decoder()
    decoder.decode(_literal(b"x-key", b"v1"))
    assert decoder.decode(bytes((0x7E,)) + b"\x02v2") == [(b"x-key", b"v2")]  # 0x40 | 62
    assert decoder.decode(b"\x0f\x2f\x01w") == [(b"x-key", b"w")]  # without indexing, 63
    assert decoder.decode(b"\xbe\xbf") == [(b"x-key", b"v2"), (b"x-key", b"v1")]


@pytest.mark.parametrize(
    ("block", "max_table_size", "max_list"),
    [
        pytest.param(b"\x80", 4096, 65536, id="index-zero"),
        pytest.param(b"\xbe", 4096, 65536, id="index-past-empty-dynamic-table"),
        pytest.param(b"\xff\x80\x80\x80\x80\x7f", 4096, 65536, id="index-huge"),
        pytest.param(b"\x7f\x00\x00", 4096, 65536, id="literal-name-index-past-table"),
        pytest.param(b"\x0f\x80\x01\x00", 4096, 65536, id="literal-name-index-past-static"),
        pytest.param(b"\xff\xff\xff\xff\xff\x0f", 4096, 65536, id="integer-above-2**32"),
        pytest.param(b"\xff\x80\x80\x80\x80\x80\x80\x00", 4096, 65536, id="integer-too-long"),
        pytest.param(b"\xff", 4096, 65536, id="truncated-integer"),
        pytest.param(b"\xff\x80", 4096, 65536, id="truncated-integer-continuation"),
        pytest.param(b"\x40", 4096, 65536, id="truncated-name"),
        pytest.param(b"\x40\x03ab", 4096, 65536, id="truncated-name-bytes"),
        pytest.param(b"\x44", 4096, 65536, id="truncated-value"),
        pytest.param(b"\x44\x05abc", 4096, 65536, id="truncated-value-bytes"),
        pytest.param(b"\x04\x7f", 4096, 65536, id="truncated-value-length"),
        pytest.param(b"\x04\x81\xff", 4096, 65536, id="huffman-value-8-bit-padding"),
        pytest.param(b"\x04\x82\x1f\xff", 4096, 65536, id="huffman-value-11-bit-padding"),
        pytest.param(b"\x00\x81\x00\x00", 4096, 65536, id="huffman-name-zero-padding"),
        pytest.param(b"\x3f\xe2\x1f", 4096, 65536, id="size-update-above-max"),
        pytest.param(b"\x3f\x02", 32, 65536, id="size-update-above-small-max"),
        pytest.param(b"\x82\x20", 4096, 65536, id="size-update-after-field"),
        pytest.param(b"\x82\x82", 4096, 79, id="header-list-too-large"),
        pytest.param(_literal(b"k", b"v" * 100), 4096, 132, id="literal-list-too-large"),
    ],
)
def test_decoder_errors(block: bytes, max_table_size: int, max_list: int) -> None:
    """Every malformed block raises HPACKError (RFC 7541 sections 4-6, RFC 7540 6.5.2)."""
    decoder = Decoder(max_table_size=max_table_size, max_header_list_size=max_list)
    with pytest.raises(HPACKError):
        decoder.decode(block)


def test_header_list_size_limit_is_inclusive() -> None:
    """A list exactly at max_header_list_size decodes: 2 x (7 + 3 + 32) = 84 bytes."""
    assert Decoder(max_header_list_size=84).decode(b"\x82\x82") == [(b":method", b"GET")] * 2


def test_size_update_to_exact_max_and_integer_at_cap() -> None:
    """A size update equal to the maximum is allowed; an integer of exactly 2**32 decodes."""
    assert Decoder(max_table_size=4096).decode(b"\x3f\xe1\x1f") == []
    assert _decode_int(b"\x81\xff\xff\xff\x0f", 0, 0x7F) == (2**32, 5)
