"""HPACK header compression (RFC 7541) for etcdlite's HTTP/2 transport.

* :class:`Decoder` reads whole header blocks (HEADERS plus CONTINUATION payloads joined) with
  the dynamic table of RFC 7541 section 4; one decoder per connection, blocks in order.
* :class:`Encoder` is stateless: a field equal to a static table entry is sent indexed, a name
  in the static table as "literal without indexing, indexed name", anything else as a literal
  without indexing with a new name. No Huffman and no dynamic table, so a peer's decoder never
  needs anything from us (and its SETTINGS_HEADER_TABLE_SIZE cannot concern us).
* :func:`huffman_decode` and :func:`huffman_encode` use the code of Appendix B. Only the 257
  code lengths are stored: the code is canonical, so the codes follow from them (in increasing
  order of (length, symbol)). Decoding walks a nibble-wise state table built once at import.

Every malformed block raises :class:`HPACKError` (an HTTP/2 COMPRESSION_ERROR): an index of 0
or past the tables, an integer above 2**32 or with too many continuation bytes, a Huffman
string holding EOS or ending in padding that is longer than 7 bits or not all ones, a dynamic
table size update above the decoder's maximum or after a field, truncated input, and a header
list larger than ``max_header_list_size`` (counted as RFC 7540 6.5.2: name, value and 32 per
field).

>>> block = Encoder().encode([(b":method", b"POST"), (b"te", b"trailers")])
>>> block
b'\\x83\\x00\\x02te\\x08trailers'
>>> Decoder().decode(block)
[(b':method', b'POST'), (b'te', b'trailers')]
>>> huffman_decode(huffman_encode(b"www.example.com")) == b"www.example.com"
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ("Decoder", "Encoder", "HPACKError", "huffman_decode", "huffman_encode")


class HPACKError(Exception):
    """A header block is malformed (HTTP/2 COMPRESSION_ERROR): the connection cannot go on."""


# RFC 7541 Appendix A, indexes 1..61 (index 0 is invalid and holds a placeholder).
_STATIC: tuple[tuple[bytes, bytes], ...] = (
    (b"", b""),
    (b":authority", b""),
    (b":method", b"GET"),
    (b":method", b"POST"),
    (b":path", b"/"),
    (b":path", b"/index.html"),
    (b":scheme", b"http"),
    (b":scheme", b"https"),
    (b":status", b"200"),
    (b":status", b"204"),
    (b":status", b"206"),
    (b":status", b"304"),
    (b":status", b"400"),
    (b":status", b"404"),
    (b":status", b"500"),
    (b"accept-charset", b""),
    (b"accept-encoding", b"gzip, deflate"),
    (b"accept-language", b""),
    (b"accept-ranges", b""),
    (b"accept", b""),
    (b"access-control-allow-origin", b""),
    (b"age", b""),
    (b"allow", b""),
    (b"authorization", b""),
    (b"cache-control", b""),
    (b"content-disposition", b""),
    (b"content-encoding", b""),
    (b"content-language", b""),
    (b"content-length", b""),
    (b"content-location", b""),
    (b"content-range", b""),
    (b"content-type", b""),
    (b"cookie", b""),
    (b"date", b""),
    (b"etag", b""),
    (b"expect", b""),
    (b"expires", b""),
    (b"from", b""),
    (b"host", b""),
    (b"if-match", b""),
    (b"if-modified-since", b""),
    (b"if-none-match", b""),
    (b"if-range", b""),
    (b"if-unmodified-since", b""),
    (b"last-modified", b""),
    (b"link", b""),
    (b"location", b""),
    (b"max-forwards", b""),
    (b"proxy-authenticate", b""),
    (b"proxy-authorization", b""),
    (b"range", b""),
    (b"referer", b""),
    (b"refresh", b""),
    (b"retry-after", b""),
    (b"server", b""),
    (b"set-cookie", b""),
    (b"strict-transport-security", b""),
    (b"transfer-encoding", b""),
    (b"user-agent", b""),
    (b"vary", b""),
    (b"via", b""),
    (b"www-authenticate", b""),
)
_N_STATIC = len(_STATIC)  # 62: dynamic index i is table index _N_STATIC + i

# Encoder lookups: the first index of each (name, value) and of each name.
_STATIC_FIELD: dict[tuple[bytes, bytes], int] = {}
_STATIC_NAME: dict[bytes, int] = {}
for _i, _field in enumerate(_STATIC[1:], 1):
    _STATIC_FIELD.setdefault(_field, _i)
    _STATIC_NAME.setdefault(_field[0], _i)

# RFC 7541 Appendix B: the code length in bits of each symbol 0..255 and EOS (256).
_LENGTHS: tuple[int, ...] = (
    # 0-31: control bytes
    13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
    28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
    # 32-63: ' ' to '?'
    6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
    5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
    # 64-95: '@' to '_'
    13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
    7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
    # 96-127: '`' to DEL
    15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
    6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
    # 128-255
    20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
    24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
    22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
    21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
    26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
    19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
    20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
    26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
    # 256: EOS
    30,
)  # fmt: skip
_EOS = 256


def _canonical_codes(lengths: tuple[int, ...]) -> tuple[int, ...]:
    """Assign canonical codes: in order of (length, symbol), each code is the previous plus one,
    shifted left by the growth in length."""
    codes = [0] * len(lengths)
    code = 0
    prev = 0
    for length, sym in sorted((length, sym) for sym, length in enumerate(lengths)):
        code <<= length - prev
        codes[sym] = code
        code += 1
        prev = length
    return tuple(codes)


_CODES = _canonical_codes(_LENGTHS)

# Encoding: the (code, length) of each byte.
_ENCODE: tuple[tuple[int, int], ...] = tuple(zip(_CODES[:256], _LENGTHS[:256], strict=False))


def _build_decoder() -> tuple[list[tuple[int, bytes]], tuple[bool, ...]]:
    """Build the nibble-wise decoding table.

    States are the internal nodes of the code tree (the root is 0), plus one failure state
    (reached by decoding EOS) that never leaves. Entry ``state * 16 + nibble`` is (next state
    times 16, the byte decoded on the way or b""); no code is shorter than 5 bits, so a nibble
    finishes at most one. A string may end in a state whose path from the root is at most 7
    one-bits (the padding, a prefix of EOS); the second result says which states those are.
    """
    children: list[list[int]] = [[-1, -1]]  # internal nodes; a leaf is stored as -1 - symbol
    for sym, (code, length) in enumerate(zip(_CODES, _LENGTHS, strict=False)):
        node = 0
        for shift in range(length - 1, 0, -1):
            bit = code >> shift & 1
            nxt = children[node][bit]
            if nxt == -1:
                nxt = len(children)
                children.append([-1, -1])
                children[node][bit] = nxt
            node = nxt
        children[node][code & 1] = -1 - sym
    fail = len(children)
    table: list[tuple[int, bytes]] = []
    for state in range(fail):
        for nibble in range(16):
            node = state
            out = b""
            for shift in (3, 2, 1, 0):
                nxt = children[node][nibble >> shift & 1]
                if nxt >= 0:
                    node = nxt
                elif nxt == -1 - _EOS:
                    node = fail
                    break
                else:
                    out = bytes((-1 - nxt,))
                    node = 0
            table.append((node * 16, out))
    table.extend([(fail * 16, b"")] * 16)
    accepting = [False] * (fail + 1)
    node = 0
    for _depth in range(8):  # the root and the first 7 nodes of the all-ones path
        accepting[node] = True
        node = children[node][1]
    return table, tuple(accepting)


_HUFFMAN_TABLE, _HUFFMAN_ACCEPT = _build_decoder()
_HUFFMAN_CACHE: dict[bytes, bytes] = {}
_HUFFMAN_CACHE_MAX = 512  # entries; the cache is emptied when full
_HUFFMAN_CACHE_LEN = 64  # longest encoded string cached


def huffman_decode(data: bytes) -> bytes:
    """Decode a Huffman-coded HPACK string (RFC 7541 5.2).

    Raises :class:`HPACKError` if the data holds EOS or ends in padding that is longer than
    7 bits or not all ones. Short strings are cached, so a value every request repeats (such as
    ``grpc-timeout`` or ``user-agent``) is decoded once.

    >>> huffman_decode(bytes.fromhex("f1e3c2e5f23a6ba0ab90f4ff"))
    b'www.example.com'
    """
    if len(data) <= _HUFFMAN_CACHE_LEN:
        cached = _HUFFMAN_CACHE.get(data)
        if cached is not None:
            return cached
    table = _HUFFMAN_TABLE
    out = bytearray()
    state = 0
    for byte in data:
        state, emit = table[state + (byte >> 4)]
        out += emit
        state, emit = table[state + (byte & 15)]
        out += emit
    if not _HUFFMAN_ACCEPT[state >> 4]:
        raise HPACKError("invalid Huffman string: EOS or bad padding")
    result = bytes(out)
    if len(data) <= _HUFFMAN_CACHE_LEN:
        if len(_HUFFMAN_CACHE) >= _HUFFMAN_CACHE_MAX:
            _HUFFMAN_CACHE.clear()
        _HUFFMAN_CACHE[bytes(data)] = result
    return result


def huffman_encode(data: bytes) -> bytes:
    """Huffman-code ``data`` (RFC 7541 5.2), padding the last byte with the high bits of EOS.

    >>> huffman_encode(b"no-cache").hex()
    'a8eb10649cbf'
    """
    encode = _ENCODE
    out = bytearray()
    acc = 0
    bits = 0
    for byte in data:
        code, length = encode[byte]
        acc = acc << length | code
        bits += length
        if bits >= 32:
            bits -= 32
            out += (acc >> bits).to_bytes(4, "big")
            acc &= (1 << bits) - 1
    if bits:
        pad = -bits % 8
        out += (acc << pad | (1 << pad) - 1).to_bytes((bits + pad) // 8, "big")
    return bytes(out)


_INT_MAX = 2**32


def _decode_int(block: bytes, pos: int, value: int) -> tuple[int, int]:
    """Finish an integer whose prefix was all ones (``value`` is the prefix maximum) from the
    continuation bytes at ``pos``; return (integer, position after it)."""
    shift = 0
    end = len(block)
    while True:
        if pos >= end:
            raise HPACKError("truncated integer")
        byte = block[pos]
        pos += 1
        value += (byte & 0x7F) << shift
        if value > _INT_MAX:
            raise HPACKError("integer overflow")
        if not byte & 0x80:
            return value, pos
        shift += 7
        if shift > 28:  # a sixth continuation byte can only be padding zeros or overflow
            raise HPACKError("integer overflow")


def _encode_int(value: int, prefix_bits: int, flags: int) -> bytes:
    """Encode ``value`` with an N-bit prefix (RFC 7541 5.1), ``flags`` in the bits above it."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes((flags | value,))
    out = bytearray((flags | limit,))
    value -= limit
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _decode_string(block: bytes, pos: int) -> tuple[bytes, int]:
    """Read a string literal (RFC 7541 5.2) at ``pos``; return (bytes, position after it)."""
    if pos >= len(block):
        raise HPACKError("truncated string")
    byte = block[pos]
    length = byte & 0x7F
    pos += 1
    if length == 0x7F:
        length, pos = _decode_int(block, pos, 0x7F)
    end = pos + length
    if end > len(block):
        raise HPACKError("truncated string")
    if byte & 0x80:
        return huffman_decode(block[pos:end]), end
    return block[pos:end], end


class Decoder:
    """Decode the header blocks of one HTTP/2 connection, in order (RFC 7541 section 3).

    ``max_table_size`` is the SETTINGS_HEADER_TABLE_SIZE we announced: the dynamic table
    starts at that size and a size update may not exceed it. ``max_header_list_size`` bounds
    the decoded list (RFC 7540 6.5.2 size). Decoding is O(block length); an indexed field is a
    tuple lookup, and the fields returned are shared with the table (tuples of bytes).

    The dynamic table, newest first, evicting the oldest on overflow (RFC 7541 C.3):

    >>> d = Decoder()
    >>> d.decode(bytes.fromhex("828684410f7777772e6578616d706c652e636f6d"))[3]
    (b':authority', b'www.example.com')
    >>> d._entries, d._size
    ([(b':authority', b'www.example.com')], 57)
    >>> d.decode(bytes.fromhex("828684be"))[3]
    (b':authority', b'www.example.com')
    """

    __slots__ = ("_entries", "_max_list", "_max_size", "_size", "_table_max")

    def __init__(self, max_table_size: int = 4096, max_header_list_size: int = 16384 * 4) -> None:
        self._max_size = max_table_size  # the most a size update may ask for
        self._table_max = max_table_size  # the table's current maximum size
        self._max_list = max_header_list_size
        self._entries: list[tuple[bytes, bytes]] = []  # newest first
        self._size = 0

    def decode(self, block: bytes) -> list[tuple[bytes, bytes]]:
        """Decode one whole header block into (name, value) pairs, updating the dynamic table.

        Raises :class:`HPACKError` if the block is malformed; the connection must then be
        closed with COMPRESSION_ERROR, as the table may be half updated.
        """
        headers: list[tuple[bytes, bytes]] = []
        append = headers.append
        static = _STATIC
        entries = self._entries  # changed in place by _add and _evict
        limit = self._max_list
        list_size = 0
        pos = 0
        end = len(block)
        while pos < end:
            byte = block[pos]
            pos += 1
            if byte & 0x80:  # indexed field (6.1)
                index = byte & 0x7F
                if index == 0x7F:
                    index, pos = _decode_int(block, pos, 0x7F)
                if index < 62:  # 1-61 static, 62 on dynamic (_N_STATIC, a literal here)
                    if not index:
                        raise HPACKError("invalid table index 0")
                    field = static[index]
                else:
                    try:
                        field = entries[index - 62]
                    except IndexError:
                        raise HPACKError(f"invalid table index {index}") from None
            elif byte & 0x40:  # literal with incremental indexing (6.2.1)
                field, pos = self._literal(block, pos, byte & 0x3F, 0x3F)
                self._add(field)
            elif byte & 0x20:  # dynamic table size update (6.3)
                if headers:
                    raise HPACKError("dynamic table size update after a header field")
                size = byte & 0x1F
                if size == 0x1F:
                    size, pos = _decode_int(block, pos, 0x1F)
                if size > self._max_size:
                    raise HPACKError(f"dynamic table size update to {size} > {self._max_size}")
                self._table_max = size
                self._evict(size)
                continue
            else:  # literal without indexing (6.2.2) or never indexed (6.2.3)
                field, pos = self._literal(block, pos, byte & 0x0F, 0x0F)
            list_size += len(field[0]) + len(field[1]) + 32
            if list_size > limit:
                raise HPACKError(f"header list larger than {limit} bytes")
            append(field)
        return headers

    def _literal(
        self, block: bytes, pos: int, index: int, mask: int
    ) -> tuple[tuple[bytes, bytes], int]:
        """A literal field (6.2) whose first byte held ``index`` under the prefix ``mask``: its
        name from the tables (``index`` > 0) or literal, its value literal; and where the next
        field starts."""
        if index == mask:
            index, pos = _decode_int(block, pos, mask)
        if index:
            name = self._lookup(index)[0]
        else:
            name, pos = _decode_string(block, pos)
        value, pos = _decode_string(block, pos)
        return (name, value), pos

    def _lookup(self, index: int) -> tuple[bytes, bytes]:
        """The field at table ``index`` (static, then dynamic), or HPACKError."""
        if 0 < index < _N_STATIC:
            return _STATIC[index]
        if index >= _N_STATIC and index - _N_STATIC < len(self._entries):
            return self._entries[index - _N_STATIC]
        raise HPACKError(f"invalid table index {index}")

    def _add(self, field: tuple[bytes, bytes]) -> None:
        """Insert ``field`` as the newest entry, evicting the oldest ones (4.4)."""
        size = len(field[0]) + len(field[1]) + 32
        if size > self._table_max:
            self._entries.clear()
            self._size = 0
            return
        self._evict(self._table_max - size)
        self._entries.insert(0, field)
        self._size += size

    def _evict(self, size: int) -> None:
        """Drop the oldest entries until the table holds at most ``size`` bytes (4.3)."""
        entries = self._entries
        while self._size > size:
            name, value = entries.pop()
            self._size -= len(name) + len(value) + 32

    def _check(self) -> None:
        """Assert the table's invariants: its size is the sum of its entries and fits."""
        assert self._size == sum(len(n) + len(v) + 32 for n, v in self._entries)
        assert self._size <= self._table_max <= self._max_size


class Encoder:
    """Encode header lists without state: static table indexes, else literals never indexed
    in the dynamic table, and no Huffman (see the module docstring).

    >>> Encoder().encode([(b":status", b"200"), (b"content-type", b"application/grpc")])
    b'\\x88\\x0f\\x10\\x10application/grpc'
    """

    __slots__ = ()

    def encode(self, headers: Iterable[tuple[bytes, bytes]]) -> bytes:
        """Encode ``headers`` as one header block (RFC 7541 6.1 and 6.2.2)."""
        out = bytearray()
        static_field = _STATIC_FIELD
        static_name = _STATIC_NAME
        for field in headers:
            index = static_field.get(field)
            if index is not None:
                out.append(0x80 | index)
                continue
            name, value = field
            index = static_name.get(name)
            if index is None:
                out.append(0)
                out += _encode_int(len(name), 7, 0)
                out += name
            elif index < 15:
                out.append(index)
            else:
                out += _encode_int(index, 4, 0)
            out += _encode_int(len(value), 7, 0)
            out += value
        return bytes(out)
