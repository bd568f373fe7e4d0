"""The shared client port (``etcdlite/server/_listen.py``, ``_front.py``), on its own.

A :class:`Listener` in front of two callbacks: an echo that takes over the gRPC connections
(standing in for the gRPC transport) and an answer to one line (standing in for the gateway). A
connection that starts with the HTTP/2 preface is handed to the echo with nothing of it read
(every byte comes back), any other reaches the gateway's callback; with the front process (the
default where sockets can be passed) and without it. Closing the listener ends
the front process, and so does the death of the process that started it.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

import pytest

from etcdlite.server._listen import FRONT_PROCESS, GRPC_PREFACE, Listener

if TYPE_CHECKING:
    from collections.abc import Iterator

TIMEOUT = 10.0


class Echo:
    """The gRPC transport's stand-in: echoes every connection it is given, in a thread each."""

    def __init__(self) -> None:
        self.threads: list[threading.Thread] = []
        self.conns: list[socket.socket] = []

    def __call__(self, conn: socket.socket) -> None:
        conn.setblocking(True)
        self.conns.append(conn)

        def echo() -> None:
            with conn:
                while data := conn.recv(65536):
                    conn.sendall(data)

        thread = threading.Thread(target=echo, daemon=True)
        self.threads.append(thread)
        thread.start()

    def close(self) -> None:
        for conn in self.conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in self.threads:
            thread.join(TIMEOUT)


@pytest.fixture
def echo() -> Iterator[Echo]:
    taker = Echo()
    try:
        yield taker
    finally:
        taker.close()


def _http(conn: socket.socket, address: Any) -> None:
    """The gateway's stand-in: answers the first line it reads."""
    line = conn.makefile("rb").readline()
    conn.sendall(b"http:" + line)


def _exchange(address: tuple[str, int], data: bytes, expect: int) -> bytes:
    with socket.create_connection(address, timeout=TIMEOUT) as conn:
        conn.sendall(data)
        got = b""
        while len(got) < expect:
            chunk = conn.recv(65536)
            if not chunk:
                break
            got += chunk
        return got


modes = [pytest.param(False, id="in-process")]
if FRONT_PROCESS:
    modes.append(pytest.param(True, id="front-process"))


@pytest.mark.parametrize("front", modes)
def test_preface_is_handed_to_grpc_and_the_rest_is_http(echo: Echo, front: bool) -> None:
    listener = Listener(
        [("127.0.0.1", 0), ("127.0.0.1", 0)],
        serve_http=_http,
        serve_grpc=echo,
        front_process=front,
    )
    listener.start()
    try:
        for address in listener.addresses:
            big = GRPC_PREFACE + os.urandom(300_000)
            assert _exchange(address, big, len(big)) == big  # handed over unread, intact
            assert _exchange(address, b"POST /v3/kv/range HTTP/1.1\r\n", 64) == (
                b"http:POST /v3/kv/range HTTP/1.1\r\n"
            )
        # many connections at once, as etcdctl check perf opens them (the backlog holds them)
        results: list[bytes] = []
        threads = [
            threading.Thread(
                target=lambda i=i: results.append(
                    _exchange(listener.addresses[0], b"%s%03d" % (GRPC_PREFACE, i), 7)
                )
            )
            for i in range(200)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(TIMEOUT)
        assert sorted(results) == [b"%s%03d" % (GRPC_PREFACE, i) for i in range(200)]
    finally:
        listener.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(listener.addresses[0], timeout=1.0).close()
    if front:
        assert listener._front is not None
        assert listener._front.poll() is not None  # the front process has ended


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


def _running(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie waiting to be reaped."""
    try:
        return not _read(f"/proc/{pid}/stat").split(") ")[1].startswith("Z")
    except OSError:
        return False


@pytest.mark.skipif(
    not (FRONT_PROCESS and sys.platform == "linux"), reason="reads /proc; needs the front process"
)
def test_front_process_ends_with_the_server_process() -> None:
    """SIGKILL the server: its front process sees the control socket end and exits, so
    nothing keeps the port."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "etcdlite", "serve", "--listen-client-urls=http://127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    front = 0
    try:
        assert proc.stdout is not None
        m = re.search(r"127\.0\.0\.1:(\d+)", proc.stdout.readline())
        assert m, "no address printed"
        (child,) = _read(f"/proc/{proc.pid}/task/{proc.pid}/children").split()
        front = int(child)
        assert "_front.py" in _read(f"/proc/{front}/cmdline")
        proc.send_signal(signal.SIGKILL)
        proc.wait(TIMEOUT)
        deadline = time.monotonic() + TIMEOUT
        while _running(front) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _running(front)
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", int(m[1])), timeout=1.0).close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(TIMEOUT)
        assert proc.stdout is not None
        proc.stdout.close()
        if front and _running(front):
            os.kill(front, signal.SIGKILL)
