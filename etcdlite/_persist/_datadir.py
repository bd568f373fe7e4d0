"""A data directory: its files, its lock, and recovery (finding what to load and replay).

Layout (every file mode 0600, the directory 0700)::

    member                   this member's identity (JSON), written once at creation
    lock                     held with flock while a store has the directory open
    0000000000000001.wal     log segments, numbered; entries are framed (see _codec)
    0000000000000005.snap    a snapshot of everything before segment 5 (see _snapshot)
    *.broken                 what recovery cut off (a torn tail, or what repair discarded)

Recovery loads the newest valid snapshot (falling back to the previous one, with a warning, if
the newest is corrupt) and the log segments from its number on, which must be contiguous. In the
last segment a torn final frame (a crash mid-append) is cut off, the cut bytes kept in a
``.broken`` file, with a :class:`RecoveryWarning`. Any other damage, a bad frame with more data
after it, a gap between segments, an entry that does not decode, stops the opening with
:class:`~etcdlite.errors.DataCorruptError`, naming the file and offset, unless ``repair=True``:
then the log is cut at the damage, everything after it is moved aside as ``.broken`` files,
and a warning says what was lost.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import stat
import warnings
from typing import TYPE_CHECKING

from ..errors import DataCorruptError, DataDirError
from ._codec import CodecError, decode_entry, scan
from ._snapshot import SnapshotError, State, load
from ._wal import segment_name

if TYPE_CHECKING:
    from ._codec import Entry
    from ._files import Files

__all__ = ("DataDir", "RecoveryWarning", "snapshot_name")

_FORMAT = 1
_SEGMENT = re.compile(r"^([0-9a-f]{16})\.wal$")
_SNAPSHOT = re.compile(r"^([0-9a-f]{16})\.snap$")


class RecoveryWarning(UserWarning):
    """Recovery changed the data directory: it cut a torn tail or skipped a corrupt file."""


def snapshot_name(seq: int) -> str:
    return f"{seq:016x}.snap"


class DataDir:
    """An open (locked) data directory."""

    def __init__(self, path: str, files: Files) -> None:
        self.path = os.path.abspath(path)
        self.files = files
        try:
            os.makedirs(self.path, mode=0o700, exist_ok=True)
        except OSError as exc:
            raise DataDirError(f"cannot create the data directory {self.path}: {exc}") from exc
        mode = stat.S_IMODE(os.stat(self.path).st_mode)
        if mode & 0o077:
            warnings.warn(
                f"data directory {self.path} has mode {mode:o}; etcdlite wants 700",
                RecoveryWarning,
                stacklevel=4,
            )
        self._lock_fd = os.open(
            os.path.join(self.path, "lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600
        )
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self._lock_fd)
            raise DataDirError(
                f"data directory {self.path} is in use by another store or process"
            ) from None

    def close(self) -> None:
        if self._lock_fd >= 0:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = -1

    def file(self, name: str) -> str:
        return os.path.join(self.path, name)

    # -- identity -----------------------------------------------------------------------------

    def identity(self, cluster_id: int, member_id: int) -> tuple[int, int]:
        """The stored ``(cluster_id, member_id)``; stores the given ones on first use."""
        path = self.file("member")
        try:
            raw = self.files.read(path)
        except FileNotFoundError:
            doc = {"format": _FORMAT, "cluster_id": cluster_id, "member_id": member_id}
            self.files.write_atomic(path, [json.dumps(doc).encode()])
            return cluster_id, member_id
        try:
            doc = json.loads(raw)
            if doc["format"] != _FORMAT:
                raise DataDirError(
                    f"{path}: format {doc['format']!r}, this etcdlite reads {_FORMAT}"
                )
            return int(doc["cluster_id"]), int(doc["member_id"])
        except (ValueError, KeyError, TypeError) as exc:
            raise DataCorruptError(path, 0, f"unreadable member file: {exc}") from None

    # -- listing ------------------------------------------------------------------------------

    def _numbered(self, pattern: re.Pattern[str]) -> list[int]:
        found = []
        for name in os.listdir(self.path):
            m = pattern.match(name)
            if m:
                found.append(int(m.group(1), 16))
        return sorted(found)

    def segments(self) -> list[int]:
        return self._numbered(_SEGMENT)

    def snapshots(self) -> list[int]:
        return self._numbered(_SNAPSHOT)

    # -- recovery -----------------------------------------------------------------------------

    def recover(self, *, repair: bool = False) -> tuple[State | None, list[Entry], int]:
        """What to load: ``(snapshot state or None, log entries after it, segment to append
        to)``. Cuts a torn tail; raises ``DataCorruptError`` on other damage unless ``repair``."""
        for name in os.listdir(self.path):
            if name.endswith(".tmp"):  # a snapshot a crash left half-written
                self.files.remove(self.file(name))
        state, start = self._load_snapshot()
        segs = [s for s in self.segments() if s >= start]
        if start > 1 and (not segs or segs[0] != start):
            raise DataCorruptError(
                self.file(segment_name(start)), 0, "the log segment after the snapshot is missing"
            )
        if state is None and segs and segs[0] != 1:
            raise DataCorruptError(
                self.file(segment_name(segs[0])),
                0,
                "no snapshot, and the log does not start at segment 1",
            )
        entries: list[Entry] = []
        for i, seq in enumerate(segs):
            if i and seq != segs[i - 1] + 1:
                raise DataCorruptError(
                    self.file(segment_name(seq)), 0, f"log segment {segs[i - 1] + 1} is missing"
                )
            last = i == len(segs) - 1
            ok = self._read_segment(seq, entries, last=last, repair=repair)
            if not ok:  # repaired: everything after the damage is set aside
                for later in segs[i + 1 :]:
                    self._set_aside(segment_name(later))
                return state, entries, seq
        return state, entries, segs[-1] if segs else start

    def _load_snapshot(self) -> tuple[State | None, int]:
        snaps = self.snapshots()
        for n, seq in enumerate(reversed(snaps)):
            path = self.file(snapshot_name(seq))
            try:
                return load(self.files.read(path)), seq
            except SnapshotError as exc:
                if n + 1 == len(snaps) and not (1 in self.segments()):
                    raise DataCorruptError(
                        path, 0, f"corrupt snapshot and nothing to fall back to: {exc}"
                    ) from None
                warnings.warn(
                    f"snapshot {path} is corrupt ({exc}); falling back to the one before it",
                    RecoveryWarning,
                    stacklevel=5,
                )
                self._set_aside(snapshot_name(seq))
        return None, 1

    def _read_segment(self, seq: int, entries: list[Entry], *, last: bool, repair: bool) -> bool:
        """Decode segment ``seq`` into ``entries``; False when repair cut it short."""
        name = segment_name(seq)
        path = self.file(name)
        data = self.files.read(path)
        payloads, end, problem = scan(data, 0)
        decoded = []
        for i, p in enumerate(payloads):
            try:
                decoded.append(decode_entry(p))
            except CodecError as exc:
                offset = _offset_of(payloads, i)
                problem, end = f"undecodable entry: {exc}", offset
                break
        entries.extend(decoded)
        if problem is None:
            return True
        if problem == "torn" and last:
            self._cut(name, data, end, f"a torn final entry (a crash mid-write) at offset {end}")
            return True
        if not repair:
            raise DataCorruptError(
                path, end, problem + " (open with repair=True to cut the log there)"
            )
        self._cut(
            name,
            data,
            end,
            f"damage ({problem}) at offset {end}: repair dropped the rest of the log",
        )
        return False

    def _cut(self, name: str, data: bytes, end: int, why: str) -> None:
        broken = self._broken_name(name)
        self.files.write_atomic(self.file(broken), [data[end:]])
        self.files.truncate(self.file(name), end)
        warnings.warn(
            f"{self.file(name)}: {why}; cut {len(data) - end} bytes, kept in {broken}",
            RecoveryWarning,
            stacklevel=5,
        )

    def _set_aside(self, name: str) -> None:
        self.files.rename(self.file(name), self.file(self._broken_name(name)))
        self.files.fsync_dir(self.path)

    def _broken_name(self, name: str) -> str:
        candidate = name + ".broken"
        n = 1
        while os.path.exists(self.file(candidate)):
            n += 1
            candidate = f"{name}.{n}.broken"
        return candidate

    # -- snapshots ----------------------------------------------------------------------------

    def write_snapshot(self, seq: int, chunks: list[bytes], *, keep_previous: bool = True) -> None:
        """Store a snapshot of everything before segment ``seq``; then drop what no recovery
        needs any more: snapshots but this one and the one before, and the segments older than
        the one before (kept so a corrupt newest snapshot can fall back). ``keep_previous=False``
        (defragment) keeps only the new snapshot and the segments from ``seq`` on."""
        self.files.write_atomic(self.file(snapshot_name(seq)), chunks)
        snaps = self.snapshots()
        keep = 2 if keep_previous else 1
        keep_from = snaps[-keep] if len(snaps) >= keep else 1
        for old in snaps[:-keep]:
            with contextlib.suppress(FileNotFoundError):
                self.files.remove(self.file(snapshot_name(old)))
        for old in self.segments():
            if old < keep_from:
                with contextlib.suppress(FileNotFoundError):
                    self.files.remove(self.file(segment_name(old)))
        self.files.fsync_dir(self.path)


def _offset_of(payloads: list[bytes], i: int) -> int:
    return sum(8 + len(p) for p in payloads[:i])
