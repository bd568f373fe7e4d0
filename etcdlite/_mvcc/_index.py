"""The ordered index over all keys: ``SortedDict[bytes, Entry]`` (etcd's index.go).

Every key with retained history is here, deleted ones included until compaction drops their
tombstones. A key's *entry* is its only record, stored bare, or a :class:`KeyIndex` once it has
more than one: most keys are written once, or compacted down to one record, and a bare record
saves a list object and two dependent memory loads on every read (the cost that dominates a
point read of a large store). Reads walk the index in key order and resolve each key at the
wanted revision; a read at the current revision looks only at each key's last record.

    >>> from etcdlite import KeyValue
    >>> idx = Index()
    >>> idx.append(KeyValue(b"a", 2, 2, 1, b"1"))
    >>> idx.append(KeyValue(b"b", 3, 3, 1, b"2"))
    >>> idx.append(KeyValue(b"a", mod_revision=4))
    >>> type(idx.get(b"a")).__name__, type(idx.get(b"b")).__name__
    ('KeyIndex', 'KeyValue')
    >>> [kv.key for kv in idx.range(b"a", b"\\0", 3)], [kv.key for kv in idx.range_current(b"a", b"\\0")]
    ([b'a', b'b'], [b'b'])
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sortedcontainers import SortedDict

from .._model import KeyValue
from ._key_index import KeyIndex

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

__all__ = ("Entry", "Index", "entry_at", "latest")

#: One key's retained history: its only record, or a KeyIndex of two or more.
Entry = KeyValue | KeyIndex

_dict_set = dict.__setitem__


def latest(entry: Entry) -> KeyValue:
    """The key's last record (a tombstone if it is deleted)."""
    return entry[-1] if type(entry) is KeyIndex else entry  # type: ignore[return-value]


def entry_at(entry: Entry, rev: int) -> KeyValue | None:
    """The key's live record at ``rev``, or ``None`` if it did not exist then."""
    if type(entry) is KeyIndex:
        return entry.at(rev)
    kv: KeyValue = entry  # type: ignore[assignment]
    return kv if kv.version and kv.mod_revision <= rev else None


class Index:
    """All keys, ordered; values are their entries (a bare record or a :class:`KeyIndex`)."""

    __slots__ = ("get", "sorted")

    def __init__(self) -> None:
        #: The SortedDict itself; ``KV`` writes to it directly on its put fast path.
        self.sorted: SortedDict = SortedDict()
        #: key -> Entry | None; a bound C method, the point-read fast path.
        self.get: Callable[[bytes], Entry | None] = self.sorted.get

    def __len__(self) -> int:
        return len(self.sorted)

    def append(self, kv: KeyValue) -> None:
        """Record a new revision of ``kv.key`` (a put, or a tombstone when ``kv.version == 0``)."""
        entry = self.get(kv.key)
        if entry is None:
            self.sorted[kv.key] = kv
        elif type(entry) is KeyIndex:
            entry.append(kv)
        else:
            _dict_set(self.sorted, kv.key, KeyIndex((entry, kv)))  # type: ignore[arg-type]

    def pop(self, key: bytes) -> None:
        """Undo the last :meth:`append` of ``key`` (rolls back a failed write)."""
        entry = self.sorted[key]
        if type(entry) is not KeyIndex:
            del self.sorted[key]
            return
        entry.pop()
        if len(entry) == 1:
            _dict_set(self.sorted, key, entry[0])

    def keys_in(self, key: bytes, end: bytes) -> Iterable[bytes]:
        """The indexed keys of ``[key, end)``; ``end == b""`` is the single key, ``b"\\0"`` no bound."""
        if not end:
            return (key,) if key in self.sorted else ()
        irange: Callable[..., Iterable[bytes]] = self.sorted.irange
        if end == b"\0":
            return irange(key)
        if end <= key:
            return ()
        return irange(key, end, inclusive=(True, False))

    def range_current(self, key: bytes, end: bytes) -> Iterator[KeyValue]:
        """The live records of ``[key, end)`` at the current revision, in key order."""
        entries = self.sorted
        for k in self.keys_in(key, end):
            kv = entries[k]
            if type(kv) is KeyIndex:
                kv = kv[-1]
            if kv.version:
                yield kv

    def range(self, key: bytes, end: bytes, rev: int) -> Iterator[KeyValue]:
        """The live records of ``[key, end)`` at revision ``rev``, in key order."""
        entries = self.sorted
        for k in self.keys_in(key, end):
            kv = entry_at(entries[k], rev)
            if kv is not None:
                yield kv

    def compact(self, keys: Iterable[bytes], rev: int, *, keep_tombstone: bool) -> list[KeyValue]:
        """Compact the history of ``keys`` at ``rev``; keys left with nothing are dropped.
        Returns the records dropped."""
        entries = self.sorted
        dropped: list[KeyValue] = []
        for k in keys:
            entry = entries.get(k)
            if entry is None:
                continue
            if type(entry) is not KeyIndex:
                entry = KeyIndex((entry,))
            dropped += entry.compact(rev, keep_tombstone=keep_tombstone)
            if not entry:
                del entries[k]
            else:
                _dict_set(entries, k, entry[0] if len(entry) == 1 else entry)
        return dropped

    def items(self) -> Iterable[tuple[bytes, Entry]]:
        """Every ``(key, entry)`` in key order."""
        return self.sorted.items()  # type: ignore[no-any-return]

    def records(self, key: bytes) -> list[KeyValue]:
        """The retained records of ``key``, oldest first (empty if none)."""
        entry = self.get(key)
        if entry is None:
            return []
        return list(entry) if type(entry) is KeyIndex else [entry]  # type: ignore[list-item]

    def _check(self) -> None:
        self.sorted._check()
        for key, entry in self.sorted.items():
            if type(entry) is KeyIndex:
                assert len(entry) >= 2, "a KeyIndex of one record should be stored bare"
                entry._check(key)
            else:
                assert type(entry) is KeyValue, type(entry)
                KeyIndex((entry,))._check(key)
