"""The ordered index over all keys: ``SortedDict[bytes, KeyIndex]`` (etcd's index.go).

Every key with retained history is here, deleted ones included until compaction drops their
tombstones. Reads walk it in key order and resolve each key at the wanted revision; a read at
the current revision looks only at each key's last record.

    >>> from etcdlite import KeyValue
    >>> idx = Index()
    >>> idx.append(KeyValue(b"a", 2, 2, 1, b"1"))
    >>> idx.append(KeyValue(b"b", 3, 3, 1, b"2"))
    >>> idx.append(KeyValue(b"a", mod_revision=4))
    >>> [kv.key for kv in idx.range(b"a", b"\\0", 3)], [kv.key for kv in idx.range_current(b"a", b"\\0")]
    ([b'a', b'b'], [b'b'])
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sortedcontainers import SortedDict

from ._key_index import KeyIndex

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from .._model import KeyValue

__all__ = ("Index",)


class Index:
    """All keys, ordered; values are their :class:`KeyIndex`."""

    __slots__ = ("_keys", "get")

    def __init__(self) -> None:
        self._keys: SortedDict = SortedDict()
        #: key -> KeyIndex | None; a bound C method, the point-read fast path.
        self.get = self._keys.get

    def __len__(self) -> int:
        return len(self._keys)

    def append(self, kv: KeyValue) -> None:
        """Record a new revision of ``kv.key`` (a put, or a tombstone when ``kv.version == 0``)."""
        ki = self.get(kv.key)
        if ki is None:
            self._keys[kv.key] = KeyIndex((kv,))
        else:
            ki.append(kv)

    def pop(self, key: bytes) -> None:
        """Undo the last :meth:`append` of ``key`` (rolls back a failed write)."""
        ki = self._keys[key]
        ki.pop()
        if not ki:
            del self._keys[key]

    def keys_in(self, key: bytes, end: bytes) -> Iterable[bytes]:
        """The indexed keys of ``[key, end)``; ``end == b""`` is the single key, ``b"\\0"`` no bound."""
        if not end:
            return (key,) if key in self._keys else ()
        irange: Callable[..., Iterable[bytes]] = self._keys.irange
        if end == b"\0":
            return irange(key)
        if end <= key:
            return ()
        return irange(key, end, inclusive=(True, False))

    def range_current(self, key: bytes, end: bytes) -> Iterator[KeyValue]:
        """The live records of ``[key, end)`` at the current revision, in key order."""
        keys = self._keys
        for k in self.keys_in(key, end):
            kv = keys[k][-1]
            if kv.version:
                yield kv

    def range(self, key: bytes, end: bytes, rev: int) -> Iterator[KeyValue]:
        """The live records of ``[key, end)`` at revision ``rev``, in key order."""
        keys = self._keys
        for k in self.keys_in(key, end):
            kv = keys[k].at(rev)
            if kv is not None:
                yield kv

    def compact(self, keys: Iterable[bytes], rev: int, *, keep_tombstone: bool) -> None:
        """Compact the history of ``keys`` at ``rev``; keys left with nothing are dropped."""
        index = self._keys
        for k in keys:
            ki = index.get(k)
            if ki is None:
                continue
            ki.compact(rev, keep_tombstone=keep_tombstone)
            if not ki:
                del index[k]

    def items(self) -> Iterable[tuple[bytes, KeyIndex]]:
        """Every ``(key, KeyIndex)`` in key order."""
        return self._keys.items()  # type: ignore[no-any-return]

    def values(self) -> Iterable[KeyIndex]:
        """Every KeyIndex, in key order."""
        return self._keys.values()  # type: ignore[no-any-return]

    def _check(self) -> None:
        self._keys._check()
        for key, ki in self._keys.items():
            assert type(ki) is KeyIndex
            ki._check(key)
