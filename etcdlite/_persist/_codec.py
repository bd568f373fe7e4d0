"""Bytes on disk: frames, and the records and entries inside them.

**Frames.** Both the write-ahead log and a snapshot are a sequence of frames::

    length  u32 little-endian   bytes of payload, 1 .. MAX_FRAME
    crc     u32 little-endian   zlib.crc32 of the payload
    payload length bytes        the first byte says what it holds

:func:`scan` reads frames back and says where and why it stopped, so recovery can tell a torn
final frame (a crash mid-append: the frame runs past the end of the file, or it is the last
frame and its checksum fails) from corruption in the middle (a bad frame followed by more
bytes). No length is trusted beyond :data:`MAX_FRAME`.

**Records.** A :class:`~etcdlite.KeyValue` is ``<IqqqqI`` (key length, create revision, mod
revision, version, lease, value length), then the key, then the value: 36 bytes plus the data.

**Log entries** (one per frame; payload kind, then fields, all little-endian):

=====  ===========================================================================
``W``  a write at one revision: ``revision q``, ``count I``, then the records, in order
``C``  a compaction: ``revision q``
``G``  a lease grant: ``id q``, ``ttl q``
``R``  a lease gone (revoked or expired; its keys' deletes are the ``W`` before): ``id q``
``A``  an alarm raised: ``member Q``, ``alarm I``; ``D`` an alarm disarmed: the same
``K``  lease checkpoint: ``count I``, then ``id q``, ``remaining milliseconds q`` each
``U``  the auth state after a change, as JSON (users with password hashes, roles, enabled)
=====  ===========================================================================

    >>> from etcdlite import KeyValue
    >>> payload = encode_write(5, [KeyValue(b"k", 5, 5, 1, b"v", 0)])
    >>> frames, end, problem = scan(frame(payload) + frame(encode_compact(3)), 0)
    >>> [decode_entry(p) for p in frames], problem
    ([('W', 5, [KeyValue(key='k', value='v', create_revision=5, mod_revision=5, version=1)]), ('C', 3)], None)
"""

from __future__ import annotations

import json
import struct
import zlib
from itertools import accumulate, pairwise
from typing import TYPE_CHECKING, Any

from .._model import new_key_value

if TYPE_CHECKING:
    from collections.abc import Iterable

    from .._model import KeyValue

__all__ = (
    "MAX_FRAME",
    "CodecError",
    "decode_entry",
    "decode_records",
    "encode_compact",
    "encode_records",
    "encode_write",
    "frame",
    "scan",
)

#: The largest payload a frame may declare (a larger length is corruption, never a read).
MAX_FRAME = 256 * 1024 * 1024

_HEAD = struct.Struct("<II")
_REC = struct.Struct("<IqqqqI")
_Q = struct.Struct("<q")
_QQ = struct.Struct("<qq")
_UI = struct.Struct("<QI")
_I = struct.Struct("<I")
_crc32 = zlib.crc32


class CodecError(ValueError):
    """A payload that passed its checksum but does not decode (a bug or a forged file)."""


def frame(payload: bytes) -> bytes:
    """``payload`` framed: length, checksum, payload."""
    return _HEAD.pack(len(payload), _crc32(payload)) + payload


def scan(data: bytes, start: int) -> tuple[list[bytes], int, str | None]:
    """The payloads of the frames of ``data`` from offset ``start``.

    Returns ``(payloads, end, problem)``: ``end`` is the offset after the last good frame;
    ``problem`` is ``None`` when the frames end exactly at the end of ``data``, ``"torn"`` when
    what follows the last good frame cannot be a whole frame (it runs past the end, or it is the
    final frame and its checksum fails, or it is only zeros: a crash mid-append) and no valid
    frame starts anywhere after it, and a description otherwise (a bad frame with more data
    after it: corruption).
    """
    payloads: list[bytes] = []
    size = len(data)
    off = start
    while off < size:
        if size - off < _HEAD.size:
            return payloads, off, "torn"
        length, crc = _HEAD.unpack_from(data, off)
        body = off + _HEAD.size
        if length == 0 or length > MAX_FRAME:
            if data.count(0, off) == size - off:  # zeros to the end: space left unwritten
                return payloads, off, "torn"
            return payloads, off, f"bad frame length {length}"
        if body + length > size:
            return payloads, off, _torn_unless_more(data, off, "frame length runs past the end")
        payload = data[body : body + length]
        if _crc32(payload) != crc:
            if body + length == size:
                return payloads, off, _torn_unless_more(data, off, "checksum mismatch")
            return payloads, off, "checksum mismatch"
        payloads.append(payload)
        off = body + length
    return payloads, off, None


def _torn_unless_more(data: bytes, off: int, problem: str) -> str:
    """``"torn"`` if no valid frame starts after ``off`` (a crash cut the last write short),
    else ``problem``: a damaged frame with good ones after it is corruption, not a tail."""
    size = len(data)
    unpack = _HEAD.unpack_from
    for at in range(off + 1, size - _HEAD.size):
        length, crc = unpack(data, at)
        end = at + _HEAD.size + length
        if 0 < length <= size - at - _HEAD.size and _crc32(data[at + _HEAD.size : end]) == crc:
            return problem
    return "torn"


# -- records --------------------------------------------------------------------------------


def encode_records(records: Iterable[KeyValue]) -> list[bytes]:
    """The bytes of ``records``, as a list of pieces to join."""
    pack = _REC.pack
    out: list[bytes] = []
    for r in records:
        key, value = r.key, r.value
        out += (
            pack(len(key), r.create_revision, r.mod_revision, r.version, r.lease, len(value)),
            key,
            value,
        )
    return out


def decode_records(buf: bytes, off: int, count: int) -> tuple[list[KeyValue], int]:
    """``count`` records from ``buf`` at ``off``: the records and the offset after them."""
    unpack = _REC.unpack_from
    step = _REC.size
    make = new_key_value
    out: list[KeyValue] = []
    append = out.append
    try:
        for _ in range(count):
            klen, create, mod, version, lease, vlen = unpack(buf, off)
            off += step
            key = buf[off : off + klen]
            off += klen
            value = buf[off : off + vlen]
            off += vlen
            append(make(key, create, mod, version, value, lease))
    except struct.error as exc:
        raise CodecError(f"truncated record: {exc}") from None
    if off > len(buf):
        raise CodecError("a record runs past the end of its frame")
    return out, off


def encode_columns(records: list[KeyValue]) -> list[bytes]:
    """``records`` by columns (a snapshot's layout, decoded in bulk): the key lengths ``I``,
    create revisions, mod revisions, versions and leases ``q``, value lengths ``I``, one array
    each, then the keys, then the values."""
    n = len(records)
    keys = [r.key for r in records]
    values = [r.value for r in records]
    head = struct.pack(
        f"<{n}I{n}q{n}q{n}q{n}q{n}I",
        *map(len, keys),
        *[r.create_revision for r in records],
        *[r.mod_revision for r in records],
        *[r.version for r in records],
        *[r.lease for r in records],
        *map(len, values),
    )
    return [head, *keys, *values]


def decode_columns(buf: bytes, off: int, n: int) -> tuple[list[KeyValue], int, int, list[bytes]]:
    """``n`` records written by :func:`encode_columns` at ``off``: the records, the offset
    after them, their estimated stored size (key, value and 64 bytes each: the store's size
    estimate) and the keys of those that carry a lease."""
    try:
        cols = struct.unpack_from(f"<{n}I{n}q{n}q{n}q{n}q{n}I", buf, off)
    except struct.error as exc:
        raise CodecError(f"truncated record columns: {exc}") from None
    klens, vlens = cols[:n], cols[5 * n :]
    off += 40 * n
    koffs = list(accumulate(klens, initial=off))
    voffs = list(accumulate(vlens, initial=koffs[-1]))
    end = voffs[-1]
    if end > len(buf):
        raise CodecError("records run past the end of their frame")
    keys = [buf[a:b] for a, b in pairwise(koffs)]
    values = [buf[a:b] for a, b in pairwise(voffs)]
    leases = cols[4 * n : 5 * n]
    records = list(
        map(
            new_key_value,
            keys,
            cols[n : 2 * n],
            cols[2 * n : 3 * n],
            cols[3 * n : 4 * n],
            values,
            leases,
        )
    )
    leased = [k for k, lease in zip(keys, leases, strict=True) if lease] if any(leases) else []
    return records, end, koffs[-1] - off + end - koffs[-1] + 64 * n, leased


# -- log entries ----------------------------------------------------------------------------


def encode_write(rev: int, records: list[KeyValue]) -> bytes:
    return b"".join([b"W", _Q.pack(rev), _I.pack(len(records)), *encode_records(records)])


def encode_compact(rev: int) -> bytes:
    return b"C" + _Q.pack(rev)


def encode_grant(lease_id: int, ttl: int) -> bytes:
    return b"G" + _QQ.pack(lease_id, ttl)


def encode_lease_gone(lease_id: int) -> bytes:
    return b"R" + _Q.pack(lease_id)


def encode_alarm(raise_: bool, member: int, alarm: int) -> bytes:
    return (b"A" if raise_ else b"D") + _UI.pack(member, alarm)


def encode_auth(doc: dict[str, Any]) -> bytes:
    return b"U" + json.dumps(doc, sort_keys=True).encode()


def encode_checkpoint(remaining: list[tuple[int, int]]) -> bytes:
    return b"".join([b"K", _I.pack(len(remaining)), *(_QQ.pack(i, ms) for i, ms in remaining)])


#: A decoded log entry: its kind letter, then its fields.
Entry = tuple[Any, ...]


def decode_entry(payload: bytes) -> Entry:
    """A log entry as a tuple: its kind letter, then its fields (see the module docstring)."""
    kind = payload[:1]
    try:
        if kind == b"W":
            (rev,) = _Q.unpack_from(payload, 1)
            (count,) = _I.unpack_from(payload, 9)
            records, end = decode_records(payload, 13, count)
            if end != len(payload):
                raise CodecError("bytes left over after a write entry")
            return ("W", rev, records)
        if kind == b"C" and len(payload) == 9:
            return ("C", _Q.unpack_from(payload, 1)[0])
        if kind == b"G" and len(payload) == 17:
            return ("G", *_QQ.unpack_from(payload, 1))
        if kind == b"R" and len(payload) == 9:
            return ("R", _Q.unpack_from(payload, 1)[0])
        if kind in (b"A", b"D") and len(payload) == 13:
            return (kind.decode(), *_UI.unpack_from(payload, 1))
        if kind == b"U":
            doc = json.loads(payload[1:])
            if not isinstance(doc, dict):
                raise CodecError("an auth entry that is not a JSON object")
            return ("U", doc)
        if kind == b"K":
            (count,) = _I.unpack_from(payload, 1)
            if len(payload) != 5 + 16 * count:
                raise CodecError("bad checkpoint entry length")
            pairs = [_QQ.unpack_from(payload, 5 + 16 * i) for i in range(count)]
            return ("K", pairs)
    except (struct.error, ValueError) as exc:
        raise CodecError(f"truncated or malformed entry: {exc}") from None
    raise CodecError(f"unknown or malformed log entry (kind {kind!r}, {len(payload)} bytes)")
