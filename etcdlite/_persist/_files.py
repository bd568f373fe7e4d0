"""The file operations a data directory uses, in one class: the seam for injected faults.

Every write, fsync, rename and truncation the write-ahead log and the snapshots make goes
through a :class:`Files` object, so tests swap in a subclass that fails the n-th call with
``EIO`` or ``ENOSPC`` (or writes half a buffer first) and check that the store either recovers
cleanly or stops with a clear error. Nothing here decides policy; it only does I/O.
"""

from __future__ import annotations

import os

__all__ = ("Files",)


class Files:
    """Plain POSIX file I/O (the default)."""

    def open_append(self, path: str) -> int:
        """Open ``path`` for appending, creating it (mode 0600); a file descriptor."""
        return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)

    def write(self, fd: int, data: bytes) -> None:
        """Write all of ``data`` (``os.write`` may write less than asked)."""
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]

    def fsync(self, fd: int) -> None:
        os.fsync(fd)

    def close(self, fd: int) -> None:
        os.close(fd)

    def read(self, path: str) -> bytes:
        with open(path, "rb") as f:
            return f.read()

    def truncate(self, path: str, size: int) -> None:
        """Cut ``path`` to ``size`` bytes, durably."""
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
        try:
            os.ftruncate(fd, size)
            self.fsync(fd)
        finally:
            os.close(fd)

    def rename(self, src: str, dst: str) -> None:
        os.replace(src, dst)

    def remove(self, path: str) -> None:
        os.unlink(path)

    def fsync_dir(self, path: str) -> None:
        """Make a directory's entries (created, renamed, removed files) durable."""
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            self.fsync(fd)
        finally:
            os.close(fd)

    def write_atomic(self, path: str, chunks: list[bytes]) -> None:
        """Write a whole file so that ``path`` is either absent, old, or complete: a temporary
        file, written and fsynced, renamed over ``path``, then the directory fsynced."""
        tmp = path + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            for chunk in chunks:
                self.write(fd, chunk)
            self.fsync(fd)
        except BaseException:
            os.close(fd)
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        os.close(fd)
        self.rename(tmp, path)
        self.fsync_dir(os.path.dirname(path) or ".")
