"""Injected I/O errors: EIO and ENOSPC on the n-th write, fsync, rename or open.

Each run ends in a clean stop (the failing call raises ``DataDirError``, every later call
``StoppedError``) and a clean reopen holding every acknowledged write, never a wrong read.
"""

from __future__ import annotations

import errno
import os
import warnings
from typing import TYPE_CHECKING

import pytest

from etcdlite import Store
from etcdlite._persist import _journal
from etcdlite._persist._datadir import RecoveryWarning
from etcdlite._persist._files import Files
from etcdlite.errors import DataDirError, StoppedError

from ._workload import play, reference_hashes

if TYPE_CHECKING:
    from pathlib import Path

COUNT = 40
HASHES = reference_hashes(COUNT)
OPS = ("write", "fsync", "rename", "open_append")


class FaultyFiles(Files):
    """Files whose ``op`` fails on its ``nth`` call (a write may first write half)."""

    def __init__(
        self, op: str = "", nth: int = 0, code: int = errno.EIO, *, partial: bool = False
    ) -> None:
        self.op, self.nth, self.code, self.partial = op, nth, code, partial
        self.calls = dict.fromkeys(OPS, 0)

    def _hit(self, op: str) -> bool:
        self.calls[op] += 1
        return op == self.op and self.calls[op] == self.nth

    def write(self, fd: int, data: bytes) -> None:
        if self._hit("write"):
            if self.partial:
                os.write(fd, data[: len(data) // 2])
            raise OSError(self.code, os.strerror(self.code))
        super().write(fd, data)

    def fsync(self, fd: int) -> None:
        if self._hit("fsync"):
            raise OSError(self.code, os.strerror(self.code))
        super().fsync(fd)

    def rename(self, src: str, dst: str) -> None:
        if self._hit("rename"):
            raise OSError(self.code, os.strerror(self.code))
        super().rename(src, dst)

    def open_append(self, path: str) -> int:
        if self._hit("open_append"):
            raise OSError(self.code, os.strerror(self.code))
        return super().open_append(path)


def run(path: Path, files: FaultyFiles, monkeypatch: pytest.MonkeyPatch, fsync: str) -> int:
    """The workload on ``files``; the last revision acknowledged (1 if none)."""
    monkeypatch.setattr(_journal, "Files", lambda: files)
    acked = [1]
    try:
        store = Store(data_dir=path, fsync=fsync, snapshot_count=6)
    except DataDirError:
        return 1
    finally:
        monkeypatch.undo()
    failure: DataDirError | None = None
    try:
        play(store, COUNT, after=lambda: acked.append(store.revision))
    except DataDirError as exc:
        failure = exc
    if failure is not None:
        assert isinstance(failure.__cause__, OSError)
        assert os.strerror(files.code) in str(failure)
        with pytest.raises(StoppedError):
            store.put("after", "failure")
        with pytest.raises(StoppedError):
            store.get("k1")
    closing: DataDirError | None = None
    try:
        store.close()
    except DataDirError as exc:  # the fault hit the final fsync
        closing = exc
    assert closing is None or isinstance(closing.__cause__, OSError)
    return acked[-1]


def calls_of_a_clean_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fsync: str
) -> dict[str, int]:
    files = FaultyFiles()
    assert run(tmp_path / "clean", files, monkeypatch, fsync) > 1
    return files.calls


@pytest.mark.parametrize("fsync", ["always", "never"])
def test_every_injected_error_stops_cleanly_and_loses_nothing_acknowledged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fsync: str
) -> None:
    calls = calls_of_a_clean_run(tmp_path, monkeypatch, fsync)
    assert calls["write"] > 5
    assert calls["fsync"] > 5
    assert calls["rename"] > 3
    assert calls["open_append"] > 2
    cases = [
        (op, nth, code, partial)
        for op in OPS
        for nth in range(1, calls[op] + 1)
        for code, partial in [(errno.EIO, False), (errno.ENOSPC, op == "write")]
    ]
    failed = 0
    for i, (op, nth, code, partial) in enumerate(cases):
        path = tmp_path / f"case{i}"
        files = FaultyFiles(op, nth, code, partial=partial)
        acked = run(path, files, monkeypatch, fsync)
        failed += files.calls[op] >= nth
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RecoveryWarning)  # a half write is a torn tail
            with Store(data_dir=path) as again:
                assert again.revision >= acked, (op, nth)
                assert again.hash_kv().hash in HASHES[again.revision], (op, nth)
                again._check()
                again.put("goes", "on")
    assert failed == len(cases)  # every planned fault did fire


def test_a_failed_open_says_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = FaultyFiles("open_append", 1, errno.EACCES)
    monkeypatch.setattr(_journal, "Files", lambda: files)
    with pytest.raises(DataDirError, match=r"cannot open the data directory .*Permission denied"):
        Store(data_dir=tmp_path)
    monkeypatch.undo()
    with Store(data_dir=tmp_path) as store:  # nothing held on to: the lock was released
        assert store.revision == 1
