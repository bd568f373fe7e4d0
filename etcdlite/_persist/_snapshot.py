"""A snapshot: the whole state of a store at one revision, in our own documented format.

The same bytes are a data directory's snapshot file, what :meth:`etcdlite.Store.snapshot`
streams, and what :meth:`etcdlite.Store.restore` (``etcdlite snapshot restore``) reads::

    magic    16 bytes  b"ETCDLITE-SNAP-01"
    frames   (see _codec: length u32, crc32 u32, payload), in this order:
      H      revision q, compact revision q, first logged revision q, cluster id Q,
             member id Q, raft term q, keeps the compacted tombstone B (1: etcd >= 3.5),
             then the counts of what follows: older records Q, log revisions Q,
             leases I, alarms I
      P*     records older than the first logged revision (each key's state at the
             compaction): count I, their place in their revision (sub) I each, the records
      E*     logged revisions, oldest first: count I, records per revision I each,
             the records
             (records by columns, see _codec.encode_columns: the key lengths, create
             revisions, mod revisions, versions, leases and value lengths as arrays, then
             the keys, then the values)
      L      leases: count I, then id q, granted TTL q, remaining milliseconds q each
      A      alarms: count I, then member Q, alarm type I each
      U      the auth state as JSON (users with salted password hashes, roles, enabled)
      X      padding (zeros) that makes the whole a multiple of 512 bytes, which
             ``etcdctl snapshot save`` requires of a snapshot (it expects bbolt pages)
      Z      the end (nothing after it but, from etcd's gRPC Snapshot, a SHA-256 of the rest)

A file that lacks the end frame, has a bad checksum anywhere, or whose counts disagree with
its frames is refused with :class:`SnapshotError`, which names the offset.
"""

from __future__ import annotations

import hashlib
import json
import struct
from typing import TYPE_CHECKING, Any, cast

import attrs

from ._codec import CodecError, decode_columns, encode_columns, frame, scan

if TYPE_CHECKING:
    from .._model import KeyValue

__all__ = ("MAGIC", "SnapshotError", "State", "dump", "load")

MAGIC = b"ETCDLITE-SNAP-01"
_CHUNK = 4096
_PAGE = 512
_H = struct.Struct("<qqqQQqBQQII")
_I = struct.Struct("<I")
_LEASE = struct.Struct("<qqq")
_ALARM = struct.Struct("<QI")


class SnapshotError(ValueError):
    """A snapshot that is not whole and valid."""


@attrs.define
class State:
    """Everything a store persists, as plain data (the mvcc log's own shapes)."""

    revision: int = 1
    compact_revision: int = -1
    log_start: int = 2
    keep_tombstone: bool = True
    cluster_id: int = 0
    member_id: int = 0
    raft_term: int = 0
    #: Records older than ``log_start``, each with its place (sub) in its revision.
    older: list[tuple[KeyValue, int]] = attrs.Factory(list)
    #: The records of each revision from ``log_start`` on, as the mvcc log keeps them: a record,
    #: or a tuple of several (maybe none, after a 3.4 compaction).
    log: list[KeyValue | tuple[KeyValue, ...]] = attrs.Factory(list)
    #: ``(id, granted ttl, remaining milliseconds)`` of every live lease.
    leases: list[tuple[int, int, int]] = attrs.Factory(list)
    #: ``(member id, alarm type)`` of every raised alarm.
    alarms: list[tuple[int, int]] = attrs.Factory(list)
    #: Users (password hashes only), roles and the enabled flag (``AuthStore.dump``).
    auth: dict[str, Any] | None = None
    #: Found by :func:`load` (not stored): the records' estimated stored size, and the keys of
    #: records that carry a lease.
    stored_bytes: int = 0
    leased_keys: list[bytes] = attrs.Factory(list)


def dump(state: State) -> list[bytes]:
    """The snapshot of ``state``: a list of byte strings to write (or stream) in order."""
    out = [MAGIC]
    head = _H.pack(
        state.revision,
        state.compact_revision,
        state.log_start,
        state.cluster_id,
        state.member_id,
        state.raft_term,
        state.keep_tombstone,
        len(state.older),
        len(state.log),
        len(state.leases),
        len(state.alarms),
    )
    out.append(frame(b"H" + head))
    older = state.older
    for i in range(0, len(older), _CHUNK):
        part = older[i : i + _CHUNK]
        subs = struct.pack(f"<{len(part)}I", *(sub for _, sub in part))
        recs = encode_columns([r for r, _ in part])
        out.append(frame(b"".join([b"P", _I.pack(len(part)), subs, *recs])))
    log = state.log
    for i in range(0, len(log), _CHUNK):
        revs = log[i : i + _CHUNK]
        sizes = struct.pack(f"<{len(revs)}I", *[len(e) if type(e) is tuple else 1 for e in revs])
        flat = [r for e in revs for r in (e if isinstance(e, tuple) else (e,))]
        out.append(frame(b"".join([b"E", _I.pack(len(revs)), sizes, *encode_columns(flat)])))
    out.append(
        frame(
            b"".join([b"L", _I.pack(len(state.leases)), *(_LEASE.pack(*x) for x in state.leases)])
        )
    )
    out.append(
        frame(
            b"".join([b"A", _I.pack(len(state.alarms)), *(_ALARM.pack(*x) for x in state.alarms)])
        )
    )
    if state.auth is not None:
        out.append(frame(b"U" + json.dumps(state.auth, sort_keys=True).encode()))
    size = sum(map(len, out)) + 2 * 8 + 2  # with the X and Z frames, X holding no zeros
    out.append(frame(b"X" + bytes(-size % _PAGE)))
    out.append(frame(b"Z"))
    return out


def strip_sha256(data: bytes) -> bytes:
    """``data`` without the SHA-256 trailer etcd's gRPC Snapshot appends, if it has one."""
    if len(data) > 32 + len(MAGIC) and hashlib.sha256(data[:-32]).digest() == data[-32:]:
        return data[:-32]
    return data


def load(data: bytes) -> State:
    """The state a snapshot holds; :class:`SnapshotError` unless it is whole and valid."""
    data = strip_sha256(data)
    if data[: len(MAGIC)] != MAGIC:
        raise SnapshotError("not an etcdlite snapshot (bad magic at offset 0)")
    payloads, end, problem = scan(data, len(MAGIC))
    if problem is not None:
        raise SnapshotError(f"{problem} at offset {end}")
    try:
        return _decode(payloads)
    except (CodecError, struct.error, ValueError) as exc:
        raise SnapshotError(f"malformed snapshot: {exc}") from None


def _decode(payloads: list[bytes]) -> State:
    if not payloads or payloads[0][:1] != b"H" or len(payloads[0]) != 1 + _H.size:
        raise CodecError("the first frame is not a snapshot header")
    if payloads[-1] != b"Z":
        raise CodecError("the snapshot has no end frame (it was cut short)")
    rev, compact, log_start, cluster, member, term, keep, n_old, n_log, n_lease, n_alarm = (
        _H.unpack_from(payloads[0], 1)
    )
    state = State(rev, compact, log_start, bool(keep), cluster, member, term)
    for p in payloads[1:-1]:
        kind = p[:1]
        if kind == b"X":
            continue
        if kind == b"U":
            doc = json.loads(p[1:])
            if not isinstance(doc, dict):
                raise CodecError("the auth frame is not a JSON object")
            state.auth = doc
            continue
        (count,) = _I.unpack_from(p, 1)
        size, leased = 0, cast("list[bytes]", [])
        if kind == b"P":
            subs = struct.unpack_from(f"<{count}I", p, 5)
            recs, end, size, leased = decode_columns(p, 5 + 4 * count, count)
            state.older.extend(zip(recs, subs, strict=True))
        elif kind == b"E":
            sizes = struct.unpack_from(f"<{count}I", p, 5)
            recs, end, size, leased = decode_columns(p, 5 + 4 * count, sum(sizes))
            if sizes.count(1) == count:
                state.log.extend(recs)
            else:
                i = 0
                for n in sizes:
                    state.log.append(recs[i] if n == 1 else tuple(recs[i : i + n]))
                    i += n
        elif kind == b"L":
            end = 5 + _LEASE.size * count
            state.leases.extend(_LEASE.unpack_from(p, 5 + _LEASE.size * i) for i in range(count))
        elif kind == b"A":
            end = 5 + _ALARM.size * count
            state.alarms.extend(_ALARM.unpack_from(p, 5 + _ALARM.size * i) for i in range(count))
        else:
            raise CodecError(f"unknown snapshot frame {kind!r}")
        if end != len(p):
            raise CodecError(f"frame {kind!r} has {len(p) - end} bytes too many or too few")
        state.stored_bytes += size
        state.leased_keys += leased
    counts = (len(state.older), len(state.log), len(state.leases), len(state.alarms))
    if counts != (n_old, n_log, n_lease, n_alarm):
        raise CodecError(
            f"counts {counts} disagree with the header's {(n_old, n_log, n_lease, n_alarm)}"
        )
    if log_start + len(state.log) != rev + 1:
        raise CodecError("the logged revisions do not end at the snapshot's revision")
    return state
