"""Start and stop a real etcd for one test: loopback only, ephemeral ports, a temporary data dir.

Each test gets a fresh single-member etcd (about 0.15 s to start with the fast election flags),
so its revisions start at 1 like a fresh :class:`etcdlite.Store`. Every wait is bounded and the
process is always stopped: :func:`running_etcd` is a context manager that terminates it (and
kills it if it lingers) whatever happens inside.

Where no ``etcd`` binary is found, :func:`etcd_binary` skips the test with the reason shown,
unless ``ETCDLITE_REQUIRE_ETCD=1`` (CI sets it), in which case the test fails loudly.
``ETCDLITE_ETCD`` may name the binary explicitly.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

__all__ = (
    "DEFAULT_MAX_REQUEST_BYTES",
    "DEFAULT_MAX_TXN_OPS",
    "EtcdProcess",
    "etcd_binary",
    "etcd_version",
    "running_etcd",
)

#: etcd's defaults for ``--max-request-bytes`` and ``--max-txn-ops``.
DEFAULT_MAX_REQUEST_BYTES = 1536 * 1024
DEFAULT_MAX_TXN_OPS = 128

#: How long etcd may take to answer its first request.
START_TIMEOUT = 10.0
#: How long etcd may take to exit after SIGTERM before it is killed.
STOP_TIMEOUT = 5.0
#: Attempts with fresh ports when etcd exits at start (another process took a port meanwhile).
START_ATTEMPTS = 3

_REQUIRE_ENV = "ETCDLITE_REQUIRE_ETCD"
_BINARY_ENV = "ETCDLITE_ETCD"


def etcd_binary() -> str:
    """The path of the etcd binary, or skip (fail if ``ETCDLITE_REQUIRE_ETCD=1``) without one."""
    path = os.environ.get(_BINARY_ENV) or shutil.which("etcd")
    if path and os.access(path, os.X_OK):
        return path
    reason = (
        f"no etcd binary (looked for ${_BINARY_ENV} and `etcd` on PATH); install etcd 3.4 "
        "(Debian: apt-get install etcd-server) to run the conformance tests against real etcd"
    )
    if os.environ.get(_REQUIRE_ENV) == "1":
        pytest.fail(f"{_REQUIRE_ENV}=1 but {reason}", pytrace=False)
    pytest.skip(reason)


_VERSIONS: dict[str, tuple[int, int, int]] = {}


def etcd_version(binary: str) -> tuple[int, int, int]:
    """``(major, minor, patch)`` from ``etcd --version`` (cached per binary)."""
    found = _VERSIONS.get(binary)
    if found is None:
        out = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=10, check=True
        ).stdout
        m = re.search(r"etcd Version:\s*(\d+)\.(\d+)\.(\d+)", out)
        if m is None:
            raise RuntimeError(f"cannot read the etcd version from {out!r}")
        found = _VERSIONS[binary] = (int(m[1]), int(m[2]), int(m[3]))
    return found


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass(frozen=True)
class EtcdProcess:
    """A running etcd: its client URL, version and the limits it was started with."""

    url: str
    version: tuple[int, int, int]
    max_request_bytes: int
    max_txn_ops: int


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


def _log_tail(path: str, lines: int = 20) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return "(no log)"


@contextlib.contextmanager
def running_etcd(
    *,
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
    max_txn_ops: int = DEFAULT_MAX_TXN_OPS,
    extra_args: Sequence[str] = (),
) -> Iterator[EtcdProcess]:
    """Run a fresh single-member etcd on 127.0.0.1 for the ``with`` body, then stop it.

    ``extra_args`` are more etcd flags (the watch tests set the progress-notify interval).
    """
    binary = etcd_binary()
    version = etcd_version(binary)
    with tempfile.TemporaryDirectory(prefix="etcdlite-conformance-") as tmp:
        log_path = os.path.join(tmp, "etcd.log")
        last_error = "etcd did not start"
        for attempt in range(START_ATTEMPTS):
            client, peer = _free_port(), _free_port()
            client_url, peer_url = f"http://127.0.0.1:{client}", f"http://127.0.0.1:{peer}"
            args = [
                binary,
                "--name=conformance",
                f"--data-dir={os.path.join(tmp, f'data{attempt}')}",
                f"--listen-client-urls={client_url}",
                f"--advertise-client-urls={client_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=conformance={peer_url}",
                "--heartbeat-interval=10",
                "--election-timeout=100",
                f"--max-request-bytes={max_request_bytes}",
                f"--max-txn-ops={max_txn_ops}",
                *extra_args,
            ]
            with open(log_path, "ab") as log:
                proc = subprocess.Popen(
                    args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
                )
            try:
                deadline = time.monotonic() + START_TIMEOUT
                while proc.poll() is None and time.monotonic() < deadline:
                    if _answers(client_url):
                        break
                    time.sleep(0.01)
                else:
                    if proc.poll() is None:
                        raise RuntimeError(
                            f"etcd did not answer within {START_TIMEOUT} s:\n{_log_tail(log_path)}"
                        )
                    last_error = f"etcd exited with {proc.returncode}:\n{_log_tail(log_path)}"
                    continue
                yield EtcdProcess(client_url, version, max_request_bytes, max_txn_ops)
                return
            finally:
                _stop(proc)
        raise RuntimeError(last_error)
