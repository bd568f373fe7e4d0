"""A real etcd for one test: 127.0.0.1, ephemeral ports, a temporary data dir, always stopped.

Each test gets a fresh single-member etcd started with the fast election flags (about 0.15 s), so
its revisions start at 1 like a fresh :class:`etcdlite.Store`. Every wait is bounded.

Without an ``etcd`` binary the test is skipped with the reason shown, unless
``ETCDLITE_REQUIRE_ETCD=1`` (CI sets it): then it fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ("etcd_binary", "running_etcd")

START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
START_ATTEMPTS = 3


def etcd_binary() -> str:
    """The etcd binary's path; skip without one (fail under ``ETCDLITE_REQUIRE_ETCD=1``)."""
    path = os.environ.get("ETCDLITE_ETCD") or shutil.which("etcd")
    if path and os.access(path, os.X_OK):
        return path
    reason = "no etcd binary on PATH (Debian: apt-get install etcd-server) for the watch conformance tests"
    if os.environ.get("ETCDLITE_REQUIRE_ETCD") == "1":
        pytest.fail(f"ETCDLITE_REQUIRE_ETCD=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _answers(url: str) -> bool:
    req = urllib.request.Request(
        url + "/v3/kv/range", data=json.dumps({"key": "AA=="}).encode(), method="POST"
    )
    try:
        with urllib.request.urlopen(req, timeout=1.0) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=STOP_TIMEOUT)


@contextlib.contextmanager
def running_etcd(*extra_args: str) -> Iterator[str]:
    """Run a fresh etcd for the ``with`` body; yields its client URL."""
    binary = etcd_binary()
    with tempfile.TemporaryDirectory(prefix="etcdlite-watch-") as tmp:
        log_path = os.path.join(tmp, "etcd.log")
        error = "etcd did not start"
        for attempt in range(START_ATTEMPTS):
            client, peer = f"http://127.0.0.1:{_free_port()}", f"http://127.0.0.1:{_free_port()}"
            args = [
                binary,
                "--name=watch",
                f"--data-dir={os.path.join(tmp, f'data{attempt}')}",
                f"--listen-client-urls={client}",
                f"--advertise-client-urls={client}",
                f"--listen-peer-urls={peer}",
                f"--initial-advertise-peer-urls={peer}",
                f"--initial-cluster=watch={peer}",
                "--heartbeat-interval=10",
                "--election-timeout=100",
                *extra_args,
            ]
            with open(log_path, "ab") as log:
                proc = subprocess.Popen(
                    args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
                )
            try:
                deadline = time.monotonic() + START_TIMEOUT
                while proc.poll() is None and time.monotonic() < deadline:
                    if _answers(client):
                        break
                    time.sleep(0.01)
                else:
                    with open(log_path, encoding="utf-8", errors="replace") as f:
                        tail = "".join(f.readlines()[-20:])
                    if proc.poll() is None:
                        raise RuntimeError(f"etcd did not answer in {START_TIMEOUT} s:\n{tail}")
                    error = f"etcd exited with {proc.returncode}:\n{tail}"
                    continue
                yield client
                return
            finally:
                _stop(proc)
        raise RuntimeError(error)
