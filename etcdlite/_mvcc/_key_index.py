"""One key's retained history: etcd's ``keyIndex`` (key_index.go), kept as a flat list.

A :class:`KeyIndex` is a list of the key's :class:`~etcdlite.KeyValue` records, oldest first. A
put appends the record a read will hand out; a delete appends a *tombstone*, a record with
``version == 0`` (and ``create_revision == 0``), which is also the ``kv`` of a DELETE event.
etcd's *generations* are the runs between tombstones::

    put(2) put(4) del(6)   put(8) put(9)
    \\_ generation 1 ___/  \\_ generation 2 (current, open) _/

    at(5) -> the record of rev 4      at(7) -> None (deleted)      at(1) -> None

Compaction at ``rev`` keeps, of everything at or below ``rev``, only the record that is the key's
state at ``rev``, and drops even that one when it is a tombstone (a key that did not exist at
``rev`` needs no history below it). etcd 3.5+ keeps a tombstone at exactly ``rev`` so that a
watch from ``rev`` still sees the delete; etcd 3.4 dropped it: ``keep_tombstone`` chooses.

    >>> from etcdlite import KeyValue
    >>> ki = KeyIndex([KeyValue(b"k", 2, 2, 1, b"a")])
    >>> ki.append(KeyValue(b"k", 2, 4, 2, b"b"))
    >>> ki.append(KeyValue(b"k", mod_revision=6))
    >>> ki.at(5).value, ki.at(6), ki.generations()
    (b'b', None, [[2, 4, 6]])
    >>> dropped = ki.compact(5, keep_tombstone=True)
    >>> [kv.mod_revision for kv in dropped], [kv.mod_revision for kv in ki]
    ([2], [4, 6])
    >>> _ = ki.compact(6, keep_tombstone=True); [kv.mod_revision for kv in ki]
    [6]
    >>> _ = ki.compact(7, keep_tombstone=True); list(ki)
    []
"""

from __future__ import annotations

from bisect import bisect_right
from operator import attrgetter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .._model import KeyValue

__all__ = ("KeyIndex",)

_mod_revision = attrgetter("mod_revision")


class KeyIndex(list["KeyValue"]):
    """The retained records of one key, in revision order (a list, for speed and memory)."""

    __slots__ = ()

    def at(self, rev: int) -> KeyValue | None:
        """The key's record at revision ``rev``, or ``None`` if it did not exist then."""
        kv = self[-1]
        if kv.mod_revision > rev:
            i = bisect_right(self, rev, key=_mod_revision)
            if i == 0:
                return None
            kv = self[i - 1]
        return kv if kv.version else None

    def compact(self, rev: int, *, keep_tombstone: bool) -> list[KeyValue]:
        """Drop the records no read at ``rev`` or later can need; the records dropped."""
        i = bisect_right(self, rev, key=_mod_revision)
        if i == 0:
            return []
        kv = self[i - 1]
        if not (kv.version == 0 and (kv.mod_revision < rev or not keep_tombstone)):
            i -= 1
        dropped = self[:i]
        del self[:i]
        return dropped

    def generations(self) -> list[list[int]]:
        """The mod revisions of each generation (etcd's view), for tests and debugging."""
        gens: list[list[int]] = [[]]
        for kv in self:
            gens[-1].append(kv.mod_revision)
            if kv.version == 0:
                gens.append([])
        if not gens[-1]:
            gens.pop()
        return gens

    def _check(self, key: bytes) -> None:
        """Invariants: non-empty, one key, revisions ascending, versions count up per generation."""
        assert self, "empty KeyIndex kept"
        prev_rev = 0
        version = 0
        created = 0
        for kv in self:
            assert kv.key == key, (kv.key, key)
            assert kv.mod_revision >= prev_rev, "revisions out of order"
            if kv.version == 0:
                assert kv.create_revision == 0, kv
                assert kv.value == b"", kv
                assert kv.lease == 0, kv
                version = 0
            else:
                if version:  # inside a generation we have seen from its start (or compacted)
                    assert kv.version == version + 1, (kv, version)
                    assert kv.create_revision == created, (kv, created)
                elif kv.version == 1:
                    assert kv.create_revision == kv.mod_revision, kv
                version = kv.version
                created = kv.create_revision
                assert kv.create_revision <= kv.mod_revision, kv
            prev_rev = kv.mod_revision
