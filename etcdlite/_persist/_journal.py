"""What the store calls to be durable: one :class:`Journal` per store with a data directory.

The store's facade calls ``log_*`` under its lock, in the same step that changes its state
(write-ahead: the entry is written before the change is applied), and :meth:`Journal.wait`
after letting the lock go. State goes to and from plain data in :func:`capture` and
:func:`install`, so a snapshot and recovery see the store's structures through one door.
"""

from __future__ import annotations

import heapq
import os
from typing import TYPE_CHECKING, Any

from .._lease import LeaseState
from .._model_maintenance import AlarmType
from .._mvcc._kv import KV
from .._quota import record_bytes
from ..errors import DataDirError
from ._codec import (
    encode_alarm,
    encode_auth,
    encode_checkpoint,
    encode_compact,
    encode_grant,
    encode_lease_gone,
    encode_write,
)
from ._datadir import DataDir
from ._files import Files
from ._snapshot import State, dump
from ._wal import WAL

if TYPE_CHECKING:
    from collections.abc import Iterable

    from .._auth import AuthStore
    from .._lease import Lessor
    from .._model import KeyValue
    from .._quota import Alarms
    from ._codec import Entry
    from ._wal import FsyncPolicy

__all__ = ("Journal", "capture", "install", "replay", "restore_data_dir")


class Journal:
    """A data directory opened for a store: recovery, the log, snapshots."""

    def __init__(
        self,
        path: str,
        *,
        policy: FsyncPolicy,
        snapshot_count: int,
        interval: float = 1.0,
    ) -> None:
        self.files = Files()
        self.dir = DataDir(path, self.files)
        self.policy = policy
        self.interval = interval
        self.snapshot_count = snapshot_count
        #: Entries logged since the last snapshot (a snapshot is due at ``snapshot_count``).
        self.since_snapshot = 0
        self.snapshotting = False
        self.wal: WAL | None = None

    def recover(self, *, repair: bool) -> tuple[State | None, list[Entry]]:
        """Load the data directory (see :meth:`DataDir.recover`) and open the log after it."""
        state, entries, seq = self.dir.recover(repair=repair)
        self.wal = WAL(self.files, self.dir.path, seq, policy=self.policy, interval=self.interval)
        self.since_snapshot = len(entries)
        return state, entries

    # -- logging (store lock held) ---------------------------------------------------------

    def _log(self, payload: bytes) -> int:
        assert self.wal is not None
        self.since_snapshot += 1
        return self.wal.append(payload)

    def log_write(self, rev: int, records: list[KeyValue]) -> int:
        return self._log(encode_write(rev, records))

    def log_compact(self, rev: int) -> int:
        return self._log(encode_compact(rev))

    def log_grant(self, lease_id: int, ttl: int) -> int:
        return self._log(encode_grant(lease_id, ttl))

    def log_lease_gone(self, lease_id: int) -> int:
        return self._log(encode_lease_gone(lease_id))

    def log_alarm(self, raised: bool, member: int, alarm: AlarmType) -> int:
        return self._log(encode_alarm(raised, member, int(alarm)))

    def log_auth(self, doc: dict[str, Any]) -> int:
        return self._log(encode_auth(doc))

    def log_checkpoint(self, remaining: list[tuple[int, int]]) -> int:
        return self._log(encode_checkpoint(remaining))

    @property
    def written(self) -> int:
        assert self.wal is not None
        return self.wal.written

    @property
    def synced(self) -> int:
        assert self.wal is not None
        return self.wal.synced

    @property
    def waits(self) -> bool:
        """Whether writes wait for fsync (and so are held from readers until then)."""
        return self.policy == "always"

    # -- durability (store lock not held) ----------------------------------------------------

    def wait(self, seq: int) -> None:
        """Return once entry ``seq`` is as durable as the policy promises."""
        if self.policy == "always" and self.wal is not None:
            self.wal.sync(seq)

    @property
    def snapshot_due(self) -> bool:
        return self.since_snapshot >= self.snapshot_count and not self.snapshotting

    def rotate(self) -> int:
        """Start a new log segment (store lock held); its number names the next snapshot."""
        assert self.wal is not None
        seq = self.wal.seq + 1
        self.wal.rotate(seq)
        self.since_snapshot = 0
        return seq

    def write_snapshot(self, seq: int, state: State, *, keep_previous: bool = True) -> None:
        self.dir.write_snapshot(seq, dump(state), keep_previous=keep_previous)

    def close(self) -> None:
        try:
            if self.wal is not None:
                self.wal.close()
        finally:
            self.dir.close()


def capture(
    kv: KV,
    lessor: Lessor,
    alarms: Alarms,
    now: float,
    ids: tuple[int, int, int],
    auth: AuthStore,
) -> State:
    """The store's state as plain data (store lock held)."""
    older, log = kv.dump()
    cluster_id, member_id, raft_term = ids
    return State(
        kv.revision,
        kv.compact_revision,
        kv.revision + 1 - len(log),
        kv.keep_compacted_tombstone,
        cluster_id,
        member_id,
        raft_term,
        older,
        log,
        [(x.id, x.ttl, max(int((x.deadline - now) * 1000), 0)) for x in lessor.leases.values()],
        [(m.member_id, int(m.alarm)) for m in alarms.get()],
        auth.dump(),
    )


def install(state: State, lessor: Lessor, alarms: Alarms, now: float, auth: AuthStore) -> KV:
    """Load ``state`` into an empty lessor, alarms and auth; the KV it holds."""
    kv = KV.load(
        revision=state.revision,
        compact_revision=state.compact_revision,
        log_start=state.log_start,
        keep_compacted_tombstone=state.keep_tombstone,
        older=state.older,
        log=state.log,
    )
    for lease_id, ttl, ms in state.leases:
        _restore_lease(lessor, lease_id, ttl, now + ms / 1000)
    for member, alarm in state.alarms:
        alarms.activate(member, AlarmType(alarm))
    if state.auth is not None:
        auth.load(state.auth)
    return kv


def attach(kv: KV, lessor: Lessor, keys: Iterable[bytes]) -> None:
    """Attach the live ones of ``keys`` (every key a record with a lease was written to) to
    their leases: after loading, the lessor starts with none."""
    live = []
    for key in set(keys):
        entry = kv.lookup(key)
        if entry is not None and (rec := _latest(entry)).version and rec.lease:
            live.append(rec)
    lessor.track(live)


def _latest(entry: KeyValue | list[KeyValue]) -> KeyValue:
    return entry[-1] if isinstance(entry, list) else entry


def _restore_lease(lessor: Lessor, lease_id: int, ttl: int, deadline: float) -> None:
    lease = lessor.leases[lease_id] = LeaseState(lease_id, ttl, deadline)
    heapq.heappush(lessor._heap, (lease.deadline, lease_id))


def replay(
    entries: list[Entry],
    kv: KV,
    lessor: Lessor,
    alarms: Alarms,
    now: float,
    auth: AuthStore,
    *,
    leased_keys: Iterable[bytes] = (),
) -> int:
    """Apply logged entries after a snapshot (or to an empty store), in order; the change of
    the records' estimated stored size.

    Lease attachments are rebuilt at the end (:func:`attach`) from ``leased_keys`` (the
    snapshot's) and the keys written here with a lease, not per write.
    """
    delta = 0
    leased = list(leased_keys)
    for entry in entries:
        kind = entry[0]
        if kind == "W":
            kv.replay(entry[1], entry[2])
            delta += record_bytes(entry[2])
            leased += [r.key for r in entry[2] if r.lease]
        elif kind == "C":
            delta -= record_bytes(kv.compact(entry[1]))
        elif kind == "G":
            lease_id, ttl = entry[1], entry[2]
            _restore_lease(lessor, lease_id, ttl, now + ttl)
        elif kind == "R":
            lessor.leases.pop(entry[1], None)
        elif kind in ("A", "D"):
            member, alarm = entry[1], AlarmType(entry[2])
            if kind == "A":
                alarms.activate(member, alarm)
            else:
                alarms.deactivate(member, alarm)
        elif kind == "U":
            auth.load(entry[1])
        elif kind == "K":
            for lease_id, ms in entry[1]:
                lease = lessor.leases.get(lease_id)
                if lease is not None:
                    _restore_lease(lessor, lease_id, lease.ttl, now + ms / 1000)
    if lessor.leases:
        attach(kv, lessor, leased)
    return delta


def restore_data_dir(path: str, state: State) -> None:
    """Make ``path`` (new or empty) a data directory holding ``state`` as its snapshot."""
    data_dir = DataDir(path, Files())
    try:
        if data_dir.segments() or data_dir.snapshots() or os.path.exists(data_dir.file("member")):
            raise DataDirError(
                f"{data_dir.path} already holds a store; restore needs a new or empty directory"
            )
        data_dir.identity(state.cluster_id, state.member_id)
        data_dir.write_snapshot(1, dump(state))
    finally:
        data_dir.close()
