"""Revisions: ``(main, sub)`` pairs and their on-disk key encoding (etcd's revision.go).

``main`` is the store revision of a write request; ``sub`` numbers the changes inside it, so the
third put of a txn at revision 7 is ``(7, 2)``. Inside the store only ``main`` is kept per record
(a key changes at most once per revision in all but one corner of etcd's txn rules, and order
within a revision is list order); the pair and its byte form are what etcd's backend, its
``HashKV`` and our snapshot format use.

>>> r = Revision(7, 2)
>>> r.to_bytes().hex()
'00000000000000075f0000000000000002'
>>> Revision.from_bytes(r.to_bytes(tombstone=True))
(Revision(main=7, sub=2), True)
"""

from __future__ import annotations

import struct
from typing import NamedTuple

__all__ = ("Revision",)

_PACK = struct.Struct(">QcQ")  # main, the byte "_", sub: 17 bytes
_MARK_TOMBSTONE = b"t"


class Revision(NamedTuple):
    """A point in the store's history; ordered by ``main``, then ``sub``."""

    main: int
    sub: int = 0

    def to_bytes(self, *, tombstone: bool = False) -> bytes:
        """etcd's backend key: 8-byte big-endian main, ``_``, 8-byte sub, then ``t`` if deleted."""
        raw = _PACK.pack(self.main, b"_", self.sub)
        return raw + _MARK_TOMBSTONE if tombstone else raw

    @classmethod
    def from_bytes(cls, data: bytes) -> tuple[Revision, bool]:
        """Parse :meth:`to_bytes`; returns the revision and whether it marks a tombstone."""
        if len(data) not in (17, 18) or data[8:9] != b"_":
            raise ValueError(f"not a revision key: {data!r}")
        if len(data) == 18 and data[17:] != _MARK_TOMBSTONE:
            raise ValueError(f"bad revision mark: {data!r}")
        main, _, sub = _PACK.unpack(data[:17])
        return cls(main, sub), len(data) == 18
