"""Which watchers want a key: the synced group's index (etcd's watcher_group.go).

A write must find the watchers of each key it changes at a cost that follows the watchers that
match, not all watchers. Watchers come in four shapes, each kept where a lookup is cheapest:

* **one key** (``end == b""``): a dict ``key -> set``: one hash lookup;
* **every key** (``key == end == b"\\0"``): one set, always matched;
* **a prefix** (``end == prefix_end(key)``): a dict per prefix length, ``prefix -> set``; a key
  is looked up once per distinct length (a handful in practice; past :data:`MAX_PREFIX_LENGTHS`
  lengths, new prefixes go to the range tree instead, so the cost stays bounded). Before that,
  one lookup of the key's first ``h`` bytes (``h`` at most the shortest prefix length) among
  the prefixes' first ``h`` bytes rules out at once every key that is nowhere near a watched
  prefix, the common case;
* **any other range** ``[key, end)`` or from-key (``end == b"\\0"``): a segment tree over the
  sorted range boundaries. Each range sits in O(log n) nodes; a key is found by one bisect and
  a walk from its leaf to the root, O(log n + matches). Ranges added since the last build wait
  in a short list that every lookup scans; the tree is rebuilt, lazily, when that list grows.

    >>> from etcdlite._watch import Watcher
    >>> idx = WatcherIndex()
    >>> ws = [Watcher(0, b"a", b""), Watcher(1, b"a", b"b"), Watcher(2, b"0", b"c"),
    ...       Watcher(3, b"b", b"\\0"), Watcher(4, b"\\0", b"\\0")]
    >>> for w in ws: idx.add(w)
    >>> sorted(w.id for w in idx.match(b"a")), sorted(w.id for w in idx.match(b"bz"))
    ([0, 1, 2, 4], [2, 3, 4])
    >>> idx.remove(ws[2]); sorted(w.id for w in idx.match(b"a"))
    [0, 1, 4]
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import TYPE_CHECKING

from ._model import prefix_end

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ._watch import Watcher

__all__ = ("MAX_PREFIX_LENGTHS", "WatcherIndex")

#: Distinct prefix lengths kept in the prefix dicts; later lengths go to the range tree.
MAX_PREFIX_LENGTHS = 16
#: Ranges that may wait outside the tree before a lookup rebuilds it.
PENDING_RANGES = 32


class _RangeTree:
    """General ranges: a segment tree over their boundaries, rebuilt lazily."""

    __slots__ = ("_bounds", "_members", "_nodes", "_paths", "_pending", "_size")

    def __init__(self) -> None:
        self._members: set[Watcher] = set()
        self._pending: set[Watcher] = set()
        self._bounds: list[bytes] = []
        self._size = 0
        self._nodes: list[set[Watcher] | None] = []
        #: Per leaf queried since the last build: the non-empty nodes on its way to the root.
        self._paths: dict[int, tuple[set[Watcher], ...]] = {}

    def __len__(self) -> int:
        return len(self._members)

    def add(self, w: Watcher) -> None:
        self._members.add(w)
        self._pending.add(w)

    def remove(self, w: Watcher) -> None:
        self._members.discard(w)
        if w in self._pending:
            self._pending.discard(w)
            return
        nodes = self._nodes
        for i in w.nodes:
            s = nodes[i]
            if s is not None:
                s.discard(w)
        w.nodes = ()

    def _rebuild(self) -> None:
        members = self._members
        bounds = sorted({w.key for w in members} | {w.end for w in members if w.end != b"\0"})
        size = 1 << max(len(bounds) - 1, 0).bit_length()
        nodes: list[set[Watcher] | None] = [None] * (2 * size)
        last = len(bounds)
        for w in members:
            lo = bisect_left(bounds, w.key) + size
            hi = (last if w.end == b"\0" else bisect_left(bounds, w.end)) + size
            placed: list[int] = []
            while lo < hi:  # canonical cover of leaves [lo, hi)
                if lo & 1:
                    placed.append(lo)
                    lo += 1
                if hi & 1:
                    hi -= 1
                    placed.append(hi)
                lo >>= 1
                hi >>= 1
            for i in placed:
                s = nodes[i]
                if s is None:
                    nodes[i] = {w}
                else:
                    s.add(w)
            w.nodes = tuple(placed)
        self._bounds, self._size, self._nodes = bounds, size, nodes
        self._paths = {}
        self._pending = set()

    def stab(self, key: bytes, out: list[Watcher]) -> None:
        """Append to ``out`` every range that contains ``key``."""
        if len(self._pending) > PENDING_RANGES:
            self._rebuild()
        if self._pending:
            out.extend(w for w in self._pending if w.matches(key))
        i = bisect_right(self._bounds, key)
        if not i:
            return
        path = self._paths.get(i)
        if path is None:  # the sets on the leaf's way up (nodes change only in a rebuild)
            nodes = self._nodes
            j = i - 1 + self._size
            found = []
            while j:
                s = nodes[j]
                if s is not None:
                    found.append(s)
                j >>= 1
            path = self._paths[i] = tuple(found)
        for s in path:
            out.extend(s)

    def _check(self) -> None:
        placed: dict[Watcher, int] = {}
        for s in self._nodes:
            for w in s or ():
                placed[w] = placed.get(w, 0) + 1
        for w in self._members:
            if w in self._pending:
                assert w not in placed, "pending range also in the tree"
            else:
                assert placed.get(w, 0) == len(w.nodes) > 0, "range misplaced in the tree"
        assert set(placed) <= self._members, "removed range left in the tree"


class WatcherIndex:
    """The synced watchers, by the keys they watch (see the module docstring)."""

    __slots__ = (
        "_everything",
        "_head_len",
        "_heads",
        "_keys",
        "_prefix_lens",
        "_prefixes",
        "_ranges",
        "count",
    )

    def __init__(self) -> None:
        self._keys: dict[bytes, set[Watcher]] = {}
        self._everything: set[Watcher] = set()
        self._prefixes: dict[int, dict[bytes, set[Watcher]]] = {}
        self._prefix_lens: list[int] = []  # sorted
        #: The first ``_head_len`` bytes of every indexed prefix, with their counts.
        self._head_len = 0
        self._heads: dict[bytes, int] = {}
        self._ranges = _RangeTree()
        #: How many watchers are indexed (read on every write: keep it a plain attribute).
        self.count = 0

    def __len__(self) -> int:
        return self.count

    def _prefix_table(self, w: Watcher) -> dict[bytes, set[Watcher]] | None:
        """The prefix dict ``w`` belongs in, or None if it is kept as a general range."""
        end = w.end
        if end == b"\0" or end != prefix_end(w.key):
            return None
        n = len(w.key)
        table = self._prefixes.get(n)
        if table is None and len(self._prefix_lens) < MAX_PREFIX_LENGTHS:
            table = self._prefixes[n] = {}
            self._prefix_lens.append(n)
            self._prefix_lens.sort()
        return table

    def add(self, w: Watcher) -> None:
        """Index ``w`` (not already indexed)."""
        self.count += 1
        if not w.end:
            group = self._keys.get(w.key)
            if group is None:
                self._keys[w.key] = {w}
            else:
                group.add(w)
            return
        if w.key == b"\0" and w.end == b"\0":
            self._everything.add(w)
            return
        table = self._prefix_table(w)
        if table is None:
            self._ranges.add(w)
            return
        group = table.get(w.key)
        if group is None:
            table[w.key] = {w}
        else:
            group.add(w)
        n = len(w.key)
        if n < self._head_len or not self._heads:  # re-cut every head at the new shortest length
            self._head_len = n
            self._heads = {}
            for t in self._prefixes.values():
                for prefix, members in t.items():
                    head = prefix[:n]
                    self._heads[head] = self._heads.get(head, 0) + len(members)
        else:
            head = w.key[: self._head_len]
            self._heads[head] = self._heads.get(head, 0) + 1

    def remove(self, w: Watcher) -> None:
        """Stop indexing ``w`` (which must be indexed)."""
        self.count -= 1
        if not w.end:
            group = self._keys[w.key]
            group.remove(w)
            if not group:
                del self._keys[w.key]
            return
        if w.key == b"\0" and w.end == b"\0":
            self._everything.remove(w)
            return
        table = self._prefixes.get(len(w.key))
        if table is not None:
            found = table.get(w.key)
            if found is not None and w in found:
                found.remove(w)
                if not found:
                    del table[w.key]
                head = w.key[: self._head_len]
                left = self._heads[head] - 1
                if left:
                    self._heads[head] = left
                else:
                    del self._heads[head]
                return
        self._ranges.remove(w)

    def groups(self, key: bytes) -> list[set[Watcher] | list[Watcher]]:
        """The collections of watchers of ``key`` (disjoint; each watcher appears once)."""
        out: list[set[Watcher] | list[Watcher]] = []
        group = self._keys.get(key)
        if group is not None:
            out.append(group)
        if self._everything:
            out.append(self._everything)
        if self._heads and key[: self._head_len] in self._heads:
            n = len(key)
            prefixes = self._prefixes
            for length in self._prefix_lens:
                if length > n:
                    break
                group = prefixes[length].get(key[:length])
                if group is not None:
                    out.append(group)
        if self._ranges._members:
            found: list[Watcher] = []
            self._ranges.stab(key, found)
            if found:
                out.append(found)
        return out

    def match(self, key: bytes) -> Iterator[Watcher]:
        """Every indexed watcher of ``key``, once each."""
        for group in self.groups(key):
            yield from group

    def _check(self) -> None:
        """Invariants: counts agree, each watcher is where its shape says, no empty groups."""
        self._ranges._check()
        n = len(self._everything) + len(self._ranges)
        for key, group in self._keys.items():
            assert group, "empty key group kept"
            for w in group:
                assert w.key == key
                assert not w.end
            n += len(group)
        assert sorted(self._prefixes) == self._prefix_lens
        heads: dict[bytes, int] = {}
        for table in self._prefixes.values():
            for prefix, group in table.items():
                assert len(prefix) >= self._head_len
                heads[prefix[: self._head_len]] = heads.get(prefix[: self._head_len], 0) + len(
                    group
                )
        assert heads == self._heads, (heads, self._heads)
        for length, table in self._prefixes.items():
            for prefix, group in table.items():
                assert group
                assert len(prefix) == length
                for w in group:
                    assert w.key == prefix
                    assert w.end == prefix_end(prefix)
                n += len(group)
        assert n == self.count, (n, self.count)
