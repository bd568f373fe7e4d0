"""The write-ahead log's writer: append under the store's lock, fsync with group commit.

:meth:`WAL.append` frames an entry and numbers it. :meth:`WAL.sync` makes every entry up to a
number durable. Writers call it after letting the store's lock go, so while one fsync runs,
others append; the next fsync covers all of them at once (group commit): one leader writes the
buffered entries in one ``write`` and fsyncs them, the rest park until a leader's fsync covers
their entry (see :meth:`WAL.sync`).

Policies (the store's ``fsync`` option):

* ``"always"``: entries are buffered, and a write returns once a leader has written and
  fsynced its entry (it survives power loss);
* ``"interval"``: :meth:`WAL.append` writes the entry to the kernel at once (a crash of the
  process loses nothing appended), and a background thread fsyncs every ``interval`` seconds
  (power loss loses at most the last ``interval`` seconds);
* ``"never"``: written at once as well, fsynced only when a segment is closed (rotation,
  ``close()``).

An error from ``write`` or ``fsync`` is final (fail-stop, as etcd: after a failed fsync the
kernel may have dropped the dirty pages, so retrying could report success for lost data):
the log refuses every later call with :class:`WALFailedError`.
"""

from __future__ import annotations

import os
import threading
import time
from typing import TYPE_CHECKING, Literal

from ._codec import frame

if TYPE_CHECKING:
    from collections.abc import Callable

    from ._files import Files

__all__ = ("FSYNC_POLICIES", "WAL", "FsyncPolicy", "WALFailedError")

FsyncPolicy = Literal["always", "interval", "never"]
FSYNC_POLICIES: tuple[FsyncPolicy, ...] = ("always", "interval", "never")


_allocate_lock = threading.Lock
#: The longest a leader waits for its group to gather (seconds).
_MAX_WINDOW = 0.002


class WALFailedError(OSError):
    """A write or fsync of the log failed; the log accepts nothing more."""


class WAL:
    """The open segment of a data directory's log (``seq`` numbers the segment file)."""

    __slots__ = (
        "_buffer",
        "_buffered",
        "_expect",
        "_fd",
        "_files",
        "_gather_at",
        "_gathered",
        "_interval",
        "_mutex",
        "_parked",
        "_stopping",
        "_syncing",
        "_ticker",
        "_window",
        "after_sync",
        "directory",
        "failed",
        "policy",
        "seq",
        "size",
        "synced",
        "written",
    )

    def __init__(
        self,
        files: Files,
        directory: str,
        seq: int,
        *,
        policy: FsyncPolicy = "always",
        interval: float = 1.0,
    ) -> None:
        self._files = files
        self.directory = directory
        self.policy = policy
        self.seq = seq
        self._fd = files.open_append(self.path(seq))
        self.size = os.fstat(self._fd).st_size
        #: Entries appended and entries known durable (numbers only grow, across segments).
        self.written = self.synced = 0
        self.failed: OSError | None = None
        self._syncing = False
        #: "always": appends go to this buffer, and the fsync leader writes them in one go.
        self._buffered = policy == "always"
        self._buffer: list[bytes] = []
        self._mutex = threading.Lock()
        #: Callers waiting for an fsync: ``(entry number, the lock they wait on)``.
        self._parked: list[tuple[int, threading.Lock]] = []
        self._stopping = threading.Event()
        #: Called by each fsync leader once its group is synced (outside every lock).
        self.after_sync: Callable[[], None] | None = None
        #: Group commit: how many entries the next fsync expects, the entry number a leader
        #: waits for (0: none), its event, and how long it may wait (the last fsync's time).
        self._expect = 1
        self._gather_at = 0
        self._gathered = threading.Event()
        self._window = 0.0
        self._interval = interval
        self._ticker: threading.Thread | None = None
        if policy == "interval":
            self._ticker = threading.Thread(
                target=self._tick, name="etcdlite-wal-fsync", daemon=True
            )
            self._ticker.start()

    def path(self, seq: int) -> str:
        return os.path.join(self.directory, segment_name(seq))

    # -- appending (the store's lock is held) -------------------------------------------------

    def append(self, payload: bytes) -> int:
        """Write one entry; its number (pass it to :meth:`sync`)."""
        if self.failed is not None:
            raise WALFailedError(f"the write-ahead log failed earlier: {self.failed}")
        data = frame(payload)
        if self._buffered:
            self._buffer.append(data)  # the fsync leader writes it, outside the store's lock
        else:
            try:
                self._files.write(self._fd, data)
            except OSError as exc:
                self._fail(exc)
                raise WALFailedError(f"write to {self.path(self.seq)} failed: {exc}") from exc
        self.size += len(data)
        self.written += 1
        if self._gather_at and self.written >= self._gather_at:
            self._gathered.set()
        return self.written

    def rotate(self, seq: int) -> None:
        """Close the current segment (fsynced) and append to a new one, ``seq``, from now on.

        The store's lock is held, so nothing is appended meanwhile; the sync first waits for
        any fsync in flight on the old segment."""
        self.sync(self.written, notify=False)  # the store's lock is held: no callback
        old = self._fd
        try:
            self._fd = self._files.open_append(self.path(seq))
            self._files.fsync_dir(self.directory)
        except OSError as exc:
            self._fail(exc)
            raise WALFailedError(f"opening log segment {seq} failed: {exc}") from exc
        self.seq = seq
        self.size = 0
        self._files.close(old)

    # -- durability (without the store's lock) --------------------------------------------------

    def sync(self, upto: int, *, notify: bool = True) -> None:
        """Return once entry ``upto`` and every one before it are fsynced (group commit).

        One caller at a time leads: it writes the buffered entries and fsyncs them, outside any
        lock. The others park on a lock of their own; the leader, once done, wakes those its
        fsync covered, and hands the lead to the first one it did not, whose entry was appended
        during the fsync: the next fsync then covers everything appended meanwhile. Then (with
        ``notify``) it calls :attr:`after_sync`, once per group: the store shows the group's
        writes to its watchers there."""
        while self.synced < upto:
            mutex = self._mutex
            mutex.acquire()
            if self.synced >= upto:
                mutex.release()
                return
            if self.failed is not None:
                mutex.release()
                raise WALFailedError(f"the write-ahead log failed: {self.failed}")
            if self._syncing:
                parked = _allocate_lock()
                parked.acquire()
                self._parked.append((upto, parked))
                mutex.release()
                parked.acquire()  # released by a leader: covered, failed, or our turn to lead
                continue
            self._syncing = True
            want = self.synced + self._expect
            if self.written < want and self._window:
                # writers the last fsync released are on their way back: let them join
                self._gathered.clear()
                self._gather_at = want
                mutex.release()
                self._gathered.wait(self._window)
                mutex.acquire()
                self._gather_at = 0
            target = self.written  # every entry counted here is in the buffer or written
            frames, self._buffer = self._buffer, []
            fd = self._fd
            mutex.release()
            error = None
            started = time.monotonic()
            try:
                if frames:
                    self._files.write(fd, b"".join(frames))
                self._files.fsync(fd)
            except OSError as exc:
                error = exc
            mutex.acquire()
            self._window = min(time.monotonic() - started, _MAX_WINDOW)
            if error is None:
                self.synced = max(self.synced, target)
                done = [lock for n, lock in self._parked if n <= self.synced]
                self._parked = [(n, lock) for n, lock in self._parked if n > self.synced]
            else:
                if self.failed is None:
                    self.failed = error
                done = [lock for _, lock in self._parked]
                self._parked = []
            nxt = self._parked.pop(0)[1] if self._parked else None
            # the next group: everyone released now (they will be back) and everyone parked
            self._expect = len(done) + 1 + len(self._parked) if done or nxt else 1
            self._syncing = False
            mutex.release()
            for lock in done:
                lock.release()
            if nxt is not None:
                nxt.release()
            if error is not None:
                raise WALFailedError(
                    f"write or fsync of {self.path(self.seq)} failed: {error}"
                ) from error
            if notify and self.after_sync is not None:
                self.after_sync()

    def _tick(self) -> None:
        while not self._stopping.wait(self._interval):
            if self.failed is not None:
                return
            try:
                self.sync(self.written)
            except OSError:
                return

    def _fail(self, exc: OSError) -> None:
        with self._mutex:
            if self.failed is None:
                self.failed = exc
            parked, self._parked = self._parked, []
        for _, lock in parked:
            lock.release()

    def close(self) -> None:
        """Fsync what is written (unless the log failed) and close the segment."""
        try:
            if self.failed is None:
                self.sync(self.written)
        finally:
            self._stopping.set()
            if self._ticker is not None:
                self._ticker.join(5.0)
            fd, self._fd = self._fd, -1
            if fd >= 0:
                self._files.close(fd)


def segment_name(seq: int) -> str:
    """The file name of log segment ``seq``."""
    return f"{seq:016x}.wal"
