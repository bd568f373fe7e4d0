"""A real etcd cluster on 127.0.0.1 for the remote client's cluster tests.

:func:`etcd_cluster` starts three Debian etcd members (ephemeral ports, one temporary data dir
each, in memory under ``/dev/shm`` where there is one: etcd syncs its log on every write, and
a disk busy with other work would stall the cluster for seconds) and always stops every
process it started, however the test ends. A member can be
stopped and started again on the same ports with the same data (:meth:`Member.stop`,
:meth:`Member.start`), and :meth:`Cluster.start_joining` starts one more process as a member
added with ``member_add`` (``--initial-cluster-state existing``). Every wait is bounded.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import tempfile
import time
from typing import TYPE_CHECKING

import grpc
from conformance._etcd import START_TIMEOUT, STOP_TIMEOUT, etcd_binary

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ("Cluster", "Member", "etcd_cluster")

#: Raft timing: quick elections, with room for two busy shared cores (etcd's defaults are
#: 100 ms and 1 s).
HEARTBEAT_MS, ELECTION_MS = 25, 250
#: How long the cluster may take to elect its first leader.
LEADER_TIMEOUT = 15.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Member:
    """One etcd process of the cluster: ``name``, ``url`` (client), ``peer_url``."""

    def __init__(self, binary: str, root: str, name: str) -> None:
        self.binary = binary
        self.name = name
        self.data_dir = os.path.join(root, name)
        self.url = f"http://127.0.0.1:{_free_port()}"
        self.peer_url = f"http://127.0.0.1:{_free_port()}"
        self.log_path = os.path.join(root, f"{name}.log")
        self.initial_cluster = ""
        self.state = "new"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def target(self) -> str:
        """``host:port`` of the client URL, as a client's ``target`` shows it."""
        return self.url.removeprefix("http://")

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def spawn(self) -> None:
        """Start the process (not waiting for it; see :meth:`wait_ready`)."""
        args = [
            self.binary,
            f"--name={self.name}",
            f"--data-dir={self.data_dir}",
            f"--listen-client-urls={self.url}",
            f"--advertise-client-urls={self.url}",
            f"--listen-peer-urls={self.peer_url}",
            f"--initial-advertise-peer-urls={self.peer_url}",
            f"--initial-cluster={self.initial_cluster}",
            f"--initial-cluster-state={self.state}",
            "--initial-cluster-token=etcdlite-remote-cluster",
            f"--heartbeat-interval={HEARTBEAT_MS}",
            f"--election-timeout={ELECTION_MS}",
        ]
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Wait (bounded) until the member's gRPC port accepts connections."""
        with grpc.insecure_channel(self.target) as channel:
            try:
                grpc.channel_ready_future(channel).result(timeout=timeout)
            except grpc.FutureTimeoutError:
                raise RuntimeError(f"etcd {self.name} did not start in {timeout} s") from None

    def start(self) -> None:
        """Start the member again (same ports, same data) and wait until it listens."""
        self.spawn()
        self.wait_ready()

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL if it lingers); nothing if not running."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=STOP_TIMEOUT)

    def wait_exit(self, timeout: float) -> bool:
        """Whether the process ended within ``timeout`` seconds (a removed member exits)."""
        proc = self._proc
        if proc is None:
            return True
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        return True


class Cluster:
    """The members of a running cluster, in start order."""

    def __init__(self, root: str, size: int) -> None:
        self.binary = etcd_binary()
        self.root = root
        self.members = [Member(self.binary, root, f"m{i}") for i in range(size)]

    @property
    def urls(self) -> list[str]:
        """Every member's client URL."""
        return [m.url for m in self.members]

    def _initial_cluster(self, members: list[Member]) -> str:
        return ",".join(f"{m.name}={m.peer_url}" for m in members)

    def start(self) -> None:
        """Start every member at once (they elect a leader together) and wait until one
        answers a linearizable read, which needs a leader."""
        initial = self._initial_cluster(self.members)
        for m in self.members:
            m.initial_cluster = initial
            m.spawn()
        for m in self.members:
            m.wait_ready()
        self.wait_leader()

    def wait_leader(self, timeout: float = LEADER_TIMEOUT) -> None:
        """Wait (bounded) until a read through every running member succeeds."""
        import etcdlite

        deadline = time.monotonic() + timeout
        for m in self.members:
            if not m.running:
                continue
            with etcdlite.connect(m.url, timeout=1.0) as c:
                while True:
                    try:
                        c.get("probe")
                        break
                    except etcdlite.EtcdError:
                        if time.monotonic() > deadline:
                            raise
                        time.sleep(0.05)

    def start_joining(self, name: str, peer_url: str) -> Member:
        """Start a process for a member ``member_add`` added with ``peer_url``."""
        m = Member(self.binary, self.root, name)
        m.peer_url = peer_url
        m.state = "existing"
        m.initial_cluster = self._initial_cluster([*self.members, m])
        self.members.append(m)
        m.start()
        return m

    def new_peer_url(self) -> str:
        """A free peer URL for a member to add."""
        return f"http://127.0.0.1:{_free_port()}"

    def stop(self) -> None:
        """Stop every member."""
        for m in self.members:
            m.stop()


@contextlib.contextmanager
def etcd_cluster(size: int = 3) -> Iterator[Cluster]:
    """A started cluster of ``size`` members for the ``with`` body; every process it started
    is stopped however the body ends."""
    shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
    with tempfile.TemporaryDirectory(prefix="etcdlite-cluster-", dir=shm) as tmp:
        cluster = Cluster(tmp, size)
        try:
            cluster.start()
            yield cluster
        finally:
            cluster.stop()
