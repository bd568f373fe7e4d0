"""The write-ahead log's writer: append under the store's lock, fsync with group commit.

:meth:`WAL.append` writes a framed entry to the current segment file (``os.write``: it is in
the kernel when the call returns, so a crash of the process loses nothing already appended)
and numbers it. :meth:`WAL.sync` makes every entry up to a number durable. Writers call it
after letting the store's lock go, so while one writer's ``fsync`` runs, others append; the
next ``fsync`` covers all of them at once (group commit): one leader syncs, the rest wait for
it and find their entry already covered.

Policies (the store's ``fsync`` option):

* ``"always"``: a write returns once it is fsynced (it survives power loss);
* ``"interval"``: a background thread fsyncs every ``interval`` seconds; a write returns once
  it is written to the kernel (it survives a crash of the process, and power loss loses at
  most the last ``interval`` seconds);
* ``"never"``: fsync only when a segment is closed (rotation, ``close()``).

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
    from ._files import Files

__all__ = ("FSYNC_POLICIES", "WAL", "FsyncPolicy", "WALFailedError")

FsyncPolicy = Literal["always", "interval", "never"]
FSYNC_POLICIES: tuple[FsyncPolicy, ...] = ("always", "interval", "never")


#: The longest a leader waits for a group to gather (seconds).
_MAX_WINDOW = 0.002


class WALFailedError(OSError):
    """A write or fsync of the log failed; the log accepts nothing more."""


class WAL:
    """The open segment of a data directory's log (``seq`` numbers the segment file)."""

    __slots__ = (
        "_buffer",
        "_buffered",
        "_cond",
        "_fd",
        "_files",
        "_gathering",
        "_group",
        "_interval",
        "_syncing",
        "_ticker",
        "_window",
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
        #: Group commit: the size of the last group, the time its fsync took, and whether a
        #: leader is waiting for writers to join (see _gather).
        #: "always": appends go to this buffer, and the fsync leader writes them in one go.
        self._buffered = policy == "always"
        self._buffer: list[bytes] = []
        self._group = 1
        self._window = 0.0
        self._gathering = False
        self._cond = threading.Condition(threading.Lock())
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
        if self._gathering and self.written - self.synced >= self._group:
            with self._cond:
                self._cond.notify_all()
        return self.written

    def rotate(self, seq: int) -> None:
        """Close the current segment (fsynced) and append to a new one, ``seq``, from now on."""
        self.sync(self.written)
        with self._cond:
            old = self._fd
            try:
                self._fd = self._files.open_append(self.path(seq))
                self._files.fsync_dir(self.directory)
            except OSError as exc:
                self._fail_locked(exc)
                raise WALFailedError(f"opening log segment {seq} failed: {exc}") from exc
            self.seq = seq
            self.size = 0
        self._files.close(old)

    # -- durability (without the store's lock) --------------------------------------------------

    def sync(self, upto: int) -> None:
        """Return once entry ``upto`` and every one before it are fsynced (group commit)."""
        if self.synced >= upto:
            return
        cond = self._cond
        with cond:
            while self.synced < upto:
                if self.failed is not None:
                    raise WALFailedError(f"the write-ahead log failed: {self.failed}")
                if self._syncing:
                    cond.wait()
                    continue
                self._syncing = True
                self._gather()
                target = self.written  # every entry counted here is in the buffer or written
                frames, self._buffer = self._buffer, []
                fd = self._fd
                cond.release()
                started = time.monotonic()
                try:
                    if frames:
                        self._files.write(fd, b"".join(frames))
                    self._files.fsync(fd)
                    error = None
                except OSError as exc:
                    error = exc
                finally:
                    cond.acquire()
                    self._syncing = False
                    cond.notify_all()
                if error is not None:
                    self._fail_locked(error)
                    raise WALFailedError(
                        f"write or fsync of {self.path(self.seq)} failed: {error}"
                    ) from error
                self._group = max(target - self.synced, 1)
                self._window = min(time.monotonic() - started, _MAX_WINDOW)
                self.synced = max(self.synced, target)

    def _gather(self) -> None:
        """Before an fsync (the leader, holding the condition): when the last group had
        several writers, wait (at most as long as the last fsync took) for as many entries,
        so that writers just woken by that fsync join this one rather than the next."""
        want = self._group
        if want <= 1:
            return
        deadline = time.monotonic() + self._window
        self._gathering = True
        try:
            while self.written - self.synced < want:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
        finally:
            self._gathering = False

    def _tick(self) -> None:
        while True:
            with self._cond:
                if self._cond.wait_for(
                    lambda: self._fd < 0 or self.failed is not None, self._interval
                ):
                    return
            try:
                self.sync(self.written)
            except OSError:
                return

    def _fail(self, exc: OSError) -> None:
        with self._cond:
            self._fail_locked(exc)

    def _fail_locked(self, exc: OSError) -> None:
        if self.failed is None:
            self.failed = exc
        self._cond.notify_all()

    def close(self) -> None:
        """Fsync what is written (unless the log failed) and close the segment."""
        try:
            if self.failed is None:
                self.sync(self.written)
        finally:
            with self._cond:
                fd, self._fd = self._fd, -1
                self._cond.notify_all()
            if fd >= 0:
                self._files.close(fd)
            if self._ticker is not None:
                self._ticker.join(5.0)


def segment_name(seq: int) -> str:
    """The file name of log segment ``seq``."""
    return f"{seq:016x}.wal"
