"""A real etcd that a test can stop and start again on the same ports with the same data.

:func:`conformance._etcd.running_etcd` starts a fresh etcd per test and never restarts it; the
remote client's resume tests need the same member back (same data dir, same client URL) after a
stop, so :class:`EtcdNode` keeps both and starts the process as often as asked. Every wait is
bounded, and :func:`etcd_node` always stops the process.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import tempfile
from typing import TYPE_CHECKING

import grpc
from conformance._etcd import START_TIMEOUT, STOP_TIMEOUT, etcd_binary

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ("EtcdNode", "etcd_node")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class EtcdNode:
    """One single-member etcd on 127.0.0.1: ``start()``, ``stop()``, ``url``."""

    def __init__(self, data_dir: str) -> None:
        self.binary = etcd_binary()
        self.data_dir = data_dir
        self.client_port, self.peer_port = _free_port(), _free_port()
        self.url = f"http://127.0.0.1:{self.client_port}"
        self._proc: subprocess.Popen[bytes] | None = None
        self.log_path = os.path.join(data_dir, "etcd.log")

    def start(self) -> None:
        """Start the member and wait (bounded) until its gRPC port accepts connections."""
        peer = f"http://127.0.0.1:{self.peer_port}"
        args = [
            self.binary,
            "--name=remote",
            f"--data-dir={os.path.join(self.data_dir, 'data')}",
            f"--listen-client-urls={self.url}",
            f"--advertise-client-urls={self.url}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=remote={peer}",
            "--heartbeat-interval=10",
            "--election-timeout=100",
        ]
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        with grpc.insecure_channel(f"127.0.0.1:{self.client_port}") as channel:
            try:
                grpc.channel_ready_future(channel).result(timeout=START_TIMEOUT)
            except grpc.FutureTimeoutError:
                self.stop()
                raise RuntimeError(f"etcd did not start in {START_TIMEOUT} s") from None

    def stop(self) -> None:
        """Stop the member (SIGTERM, then SIGKILL if it lingers)."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=STOP_TIMEOUT)


@contextlib.contextmanager
def etcd_node() -> Iterator[EtcdNode]:
    """A started :class:`EtcdNode` for the ``with`` body; stopped however the body ends."""
    with tempfile.TemporaryDirectory(prefix="etcdlite-remote-") as tmp:
        node = EtcdNode(tmp)
        try:
            node.start()
            yield node
        finally:
            node.stop()
