"""The revisioned key-value store: revisions, writes, the revision log and compaction.

etcd's kvstore.go, kvstore_txn.go and kvstore_compaction.go in one small class. Every write
request is one :class:`WriteTxn` that lands at one new revision (however many keys it touches),
or at none if it changes nothing. The revision log holds, per revision, the records it wrote, in
order: a single :class:`~etcdlite.KeyValue` when there is one (the common case, one pointer), a
tuple otherwise. It feeds compaction (whose cost follows the changes since the previous one, not
the number of keys) and watch replay.

    >>> kv = KV()
    >>> kv.put(b"a", b"1", 0)[0].mod_revision, kv.revision
    (2, 2)
    >>> w = kv.begin(); _ = w.put(b"b", b"2", 0); _ = w.delete(b"a", b""); w.commit()
    3
    >>> [(rev, [(c.key, c.version) for c in recs]) for rev, recs in kv.changes(2)]
    [(2, [(b'a', 1)]), (3, [(b'b', 1), (b'a', 0)])]
    >>> len(kv.compact(3)), kv.compact_revision, len(kv.index)
    (1, 3, 2)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._model import KeyValue, new_key_value
from ..errors import CompactedError, FutureRevisionError
from ._index import Index, latest
from ._key_index import KeyIndex

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ("KV", "WriteTxn")

_LogEntry = KeyValue | tuple[KeyValue, ...]
_dict_set = dict.__setitem__


class KV:
    """Keys with their history, the current and compacted revisions, and the revision log."""

    __slots__ = (
        "_log",
        "_log_start",
        "compact_revision",
        "compacted_subs",
        "index",
        "keep_compacted_tombstone",
        "lookup",
        "revision",
    )

    def __init__(self, *, keep_compacted_tombstone: bool = True) -> None:
        self.index = Index()
        #: key -> Entry | None (a bound C method: the point-read fast path).
        self.lookup = self.index.get
        #: The store's revision: a fresh store is at 1, its first write makes 2.
        self.revision = 1
        #: Reads below this revision raise CompactedError. -1 until the first compaction, as in
        #: etcd, where ``compact(0)`` on a fresh store succeeds and then sets it to 0.
        self.compact_revision = -1
        #: etcd >= 3.5 keeps a tombstone that sits exactly at the compaction revision.
        self.keep_compacted_tombstone = keep_compacted_tombstone
        self._log: list[_LogEntry] = []
        self._log_start = 2  # the revision of self._log[0]
        #: id(record) -> (record, sub) for the records of multi-record revisions that outlive a
        #: compaction whose log entry is gone (or, without the kept tombstone, filtered): their
        #: place in their request, which etcd's backend key (and so its HashKV) still carries.
        #: Records not listed here had sub 0.
        self.compacted_subs: dict[int, tuple[KeyValue, int]] = {}

    # -- reads ------------------------------------------------------------------------------

    def read_revision(self, rev: int) -> int:
        """The revision a read asking for ``rev`` sees (0 or less: current), or etcd's error."""
        if rev <= 0:
            return self.revision
        if rev > self.revision:
            raise FutureRevisionError()
        if rev < self.compact_revision:
            raise CompactedError()
        return rev

    def changes(self, start: int) -> Iterator[tuple[int, tuple[KeyValue, ...]]]:
        """``(revision, records)`` for every revision from ``start`` on that wrote something.

        Raises :class:`CompactedError` if ``start`` is below the compaction revision.
        """
        if start < self.compact_revision:
            raise CompactedError()
        base = self._log_start
        log = self._log
        for i in range(max(start - base, 0), len(log)):
            entry = log[i]
            yield base + i, entry if type(entry) is tuple else (entry,)  # type: ignore[misc]

    # -- writes -----------------------------------------------------------------------------

    def put(self, key: bytes, value: bytes, lease: int) -> tuple[KeyValue, KeyValue | None]:
        """A single put, committed at a new revision: ``(new record, previous live record)``.

        The hot path of the store: one index lookup, one record built, one log append. It is
        ``begin()``, ``WriteTxn.put`` and ``commit()`` written as one step, to save their calls
        and objects; the two must agree (``tests/test_store.py`` compares the paths).
        """
        rev = self.revision + 1
        entry = self.lookup(key)
        prev: KeyValue | None
        if entry is None:
            prev = None
            kv = new_key_value(key, rev, rev, 1, value, lease)
            self.index.sorted[key] = kv
        else:
            prev = entry[-1] if type(entry) is KeyIndex else entry  # type: ignore[assignment]
            assert prev is not None
            if prev.version:
                kv = new_key_value(key, prev.create_revision, rev, prev.version + 1, value, lease)
            else:
                prev = None
                kv = new_key_value(key, rev, rev, 1, value, lease)
            if type(entry) is KeyIndex:
                entry.append(kv)
            else:
                _dict_set(self.index.sorted, key, KeyIndex((entry, kv)))  # type: ignore[arg-type]
        self._log.append(kv)
        self.revision = rev
        return kv, prev

    def begin(self) -> WriteTxn:
        """Start a write txn at the next revision (the caller holds the store's lock)."""
        return WriteTxn(self)

    def compact(self, rev: int) -> list[KeyValue]:
        """Forget the history below ``rev``; reads at ``rev`` and later are unchanged.
        Returns the records dropped from the index (what the store's size estimate frees)."""
        if rev > self.revision:
            raise FutureRevisionError()
        if rev <= self.compact_revision:
            raise CompactedError()
        base = self._log_start
        log = self._log
        lo = max(self.compact_revision - base, 0)
        hi = max(rev - base, -1)  # index of revision `rev` in the log
        touched: set[bytes] = set()
        for entry in log[lo : hi + 1]:
            if type(entry) is tuple:
                touched.update(c.key for c in entry)
            else:
                touched.add(entry.key)  # type: ignore[union-attr]
        keep = self.keep_compacted_tombstone
        dropped = self.index.compact(touched, rev, keep_tombstone=keep)
        self._remember_subs(log[: max(hi, 0)], log[hi] if not keep and 0 <= hi < len(log) else None)
        if hi > 0:
            del log[:hi]
            self._log_start = base + hi
        if not keep and hi >= 0 and log:
            entry = log[0]
            recs: tuple[KeyValue, ...] = entry if isinstance(entry, tuple) else (entry,)
            kept = tuple(c for c in recs if c.version)
            log[0] = kept[0] if len(kept) == 1 else kept
        self.compact_revision = rev
        return dropped

    # -- snapshots --------------------------------------------------------------------------

    def dump(self) -> tuple[list[tuple[KeyValue, int]], list[_LogEntry]]:
        """What a snapshot keeps: each record older than the log with its place (sub) in its
        revision, and the log's records per revision (see :meth:`load`)."""
        start = self._log_start
        subs = self.compacted_subs
        older: list[tuple[KeyValue, int]] = []
        for entry in self.index.sorted.values():
            first = entry[0] if type(entry) is KeyIndex else entry
            if first.mod_revision < start:
                known = subs.get(id(first))
                older.append((first, known[1] if known else 0))
        return older, list(self._log)

    @classmethod
    def load(
        cls,
        *,
        revision: int,
        compact_revision: int,
        log_start: int,
        keep_compacted_tombstone: bool,
        older: list[tuple[KeyValue, int]],
        log: list[_LogEntry],
    ) -> KV:
        """A KV holding what :meth:`dump` gave, built in bulk (one sort of the keys)."""
        if log_start + len(log) != revision + 1:
            raise ValueError("the log does not end at the revision")
        kv = cls(keep_compacted_tombstone=keep_compacted_tombstone)
        entries: dict[bytes, KeyValue | KeyIndex] = {}
        subs = kv.compacted_subs
        for rec, sub in older:
            if rec.key in entries or rec.mod_revision >= log_start:
                raise ValueError(f"older record {rec} repeats a key or is not older than the log")
            entries[rec.key] = rec
            if sub:
                subs[id(rec)] = (rec, sub)
        get = entries.get
        for rev, logged in enumerate(log, log_start):
            for new in logged if isinstance(logged, tuple) else (logged,):
                if new.mod_revision != rev:
                    raise ValueError(f"record {new} logged at revision {rev}")
                entry = get(new.key)
                if entry is None:
                    entries[new.key] = new
                elif type(entry) is KeyIndex:
                    entry.append(new)
                else:
                    entries[new.key] = KeyIndex((entry, new))  # type: ignore[arg-type]
        kv.index.sorted.update(entries)
        kv._log = log
        kv._log_start = log_start
        kv.revision = revision
        kv.compact_revision = compact_revision
        return kv

    def replay(self, rev: int, records: list[KeyValue]) -> None:
        """Land a logged write again (recovery): ``records`` at ``rev``, the next revision."""
        if rev != self.revision + 1 or not records:
            raise ValueError(f"logged write at revision {rev} does not follow {self.revision}")
        append = self.index.append
        for rec in records:
            if rec.mod_revision != rev:
                raise ValueError(f"record {rec} logged at revision {rev}")
            append(rec)
        self._commit(records)

    def _retained_first(self, rec: KeyValue) -> bool:
        """Whether ``rec`` is still its key's oldest retained record."""
        entry = self.lookup(rec.key)
        if entry is None:
            return False
        first = entry[0] if type(entry) is KeyIndex else entry
        return first is rec

    def _remember_subs(self, dropped: list[_LogEntry], filtered: _LogEntry | None) -> None:
        """Keep the subs of surviving records whose log entry this compaction drops (or
        filters), and forget those of records it dropped from the index."""
        subs = self.compacted_subs
        for key in [k for k, (rec, _) in subs.items() if not self._retained_first(rec)]:
            del subs[key]
        for entry in (*dropped, filtered):
            if type(entry) is tuple:
                for sub, rec in enumerate(entry):
                    if sub and self._retained_first(rec):
                        subs.setdefault(id(rec), (rec, sub))

    def _commit(self, changes: list[KeyValue]) -> int:
        rev = self.revision + 1
        self._log.append(changes[0] if len(changes) == 1 else tuple(changes))
        self.revision = rev
        return rev

    # -- invariants -------------------------------------------------------------------------

    def _check(self) -> None:
        """Index invariants, and the log and index agree on every retained record."""
        self.index._check()
        assert self.compact_revision <= self.revision
        assert self._log_start + len(self._log) == self.revision + 1, "log and revision disagree"
        logged: set[int] = set()
        for rev, recs in self.changes(self.compact_revision):
            for c in recs:
                assert c.mod_revision == rev, (c, rev)
                logged.add(id(c))
        for rid, (rec, sub) in self.compacted_subs.items():
            assert id(rec) == rid, rec
            assert sub > 0, rec
            assert self._retained_first(rec), rec
        for key, _ in self.index.items():  # noqa: PERF102 -- records() resolves entries
            for c in self.index.records(key):
                if c.mod_revision >= self.compact_revision:
                    assert id(c) in logged, f"record {c} missing from the log"


class WriteTxn:
    """The writes of one request; reads through it see its own earlier writes.

    Changes go to the index as they are made; :meth:`commit` gives them their revision in the
    log, :meth:`rollback` takes them out again. The store's lock is held throughout.
    """

    __slots__ = ("_kv", "changes", "rev")

    def __init__(self, kv: KV) -> None:
        self._kv = kv
        self.rev = kv.revision + 1
        self.changes: list[KeyValue] = []

    @property
    def read_revision(self) -> int:
        """What a read inside this txn reports: the new revision once something was written."""
        return self.rev if self.changes else self.rev - 1

    def current(self, key: bytes) -> KeyValue | None:
        """The key's live record as this txn sees it."""
        entry = self._kv.lookup(key)
        if entry is None:
            return None
        kv = latest(entry)
        return kv if kv.version else None

    def put(self, key: bytes, value: bytes, lease: int) -> tuple[KeyValue, KeyValue | None]:
        """Write ``key``; returns the new record and the previous live one."""
        rev = self.rev
        prev = self.current(key)
        if prev is None:
            kv = new_key_value(key, rev, rev, 1, value, lease)
        else:
            kv = new_key_value(key, prev.create_revision, rev, prev.version + 1, value, lease)
        self._kv.index.append(kv)
        self.changes.append(kv)
        return kv, prev

    def delete(self, key: bytes, end: bytes) -> list[KeyValue]:
        """Delete the live keys of ``[key, end)``; returns their records before the delete."""
        index = self._kv.index
        deleted = list(index.range_current(key, end))
        rev = self.rev
        for prev in deleted:
            tomb = new_key_value(prev.key, 0, rev, 0, b"", 0)
            index.append(tomb)
            self.changes.append(tomb)
        return deleted

    def commit(self) -> int:
        """Land the changes at the new revision; with none, nothing happens. Returns the revision."""
        if not self.changes:
            return self._kv.revision
        return self._kv._commit(self.changes)

    def rollback(self) -> None:
        """Take every change back out of the index."""
        index = self._kv.index
        for kv in reversed(self.changes):
            index.pop(kv.key)
        self.changes.clear()
