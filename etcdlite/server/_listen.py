"""The client URLs' listeners: gRPC and the JSON gateway on the same port, as etcd serves them.

etcd answers gRPC and its JSON gateway on one client URL (clients such as etcd3gw assume one
endpoint). grpcio cannot take over a socket accepted elsewhere, so gRPC listens privately (a
unix socket: abstract on Linux, else in a temporary directory) and :class:`Listener` accepts
on every client URL, peeks at the first bytes of each connection and either relays it to gRPC
(the HTTP/2 connection preface, ``PRI * HTTP/2.0``) or serves it as HTTP/1.1 with the gateway.
Where the platform can pass sockets between processes (``socket.send_fds``: every Unix), the
accepting and the relaying happen in a small process of its own (:mod:`._front`), so relayed
bytes never wait for this process's GIL; HTTP/1.1 connections come back over a unix socket and
are served here. Elsewhere the relay runs in this process: two blocking copies per connection,
one thread each way. ``docs/gateway.md`` gives what the relay costs, and
``--listen-client-http-urls`` avoids it (gRPC then binds the client URLs itself).

Every thread and socket is tracked: :meth:`Listener.close` stops accepting, shuts every open
connection down (which wakes the threads blocked on them) and joins the threads.

>>> parse_listen_url("http://127.0.0.1:0")
('127.0.0.1', 0)
>>> parse_listen_url("https://127.0.0.1:2379")
Traceback (most recent call last):
ValueError: only http:// client URLs are supported (TLS is not): 'https://127.0.0.1:2379'
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._front import GRPC_PREFACE, copy

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ("FRONT_PROCESS", "GRPC_PREFACE", "Listener", "parse_listen_url")

#: Whether the accepting and relaying run in a front process (:mod:`._front`).
FRONT_PROCESS: bool = hasattr(socket, "send_fds")
_FRONT = str(Path(__file__).with_name("_front.py"))
#: How long :meth:`Listener.close` waits for the front process before killing it.
FRONT_STOP_SECONDS = 5.0

#: How often an accept loop looks whether the listener is closing.
ACCEPT_POLL_SECONDS = 0.25


def parse_listen_url(url: str) -> tuple[str, int]:
    """``(host, port)`` of an ``http://host:port`` client URL (etcd's flag syntax)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http":
        raise ValueError(f"only http:// client URLs are supported (TLS is not): {url!r}")
    if parts.hostname is None or parts.port is None or parts.path not in ("", "/"):
        raise ValueError(f"a client URL is http://host:port, not {url!r}")
    return parts.hostname, parts.port


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class Listener:
    """Accepts on ``addresses``: HTTP/2 goes to the gRPC server at ``grpc_path`` (a unix
    socket's address, ``"\\0name"`` for an abstract one), everything else to ``serve_http``;
    with ``grpc_path=None`` everything is HTTP."""

    def __init__(
        self,
        addresses: Sequence[tuple[str, int]],
        *,
        serve_http: Callable[[socket.socket, Any], None],
        grpc_path: str | None,
        front_process: bool = FRONT_PROCESS,
    ) -> None:
        self._serve_http = serve_http
        self._grpc_path = grpc_path
        self._front_process = front_process and grpc_path is not None
        self._front: subprocess.Popen[bytes] | None = None
        self._control: socket.socket | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._sockets: set[socket.socket] = set()
        self._threads: set[threading.Thread] = set()
        self._listening: list[socket.socket] = []
        try:
            for host, port in addresses:
                sock = socket.create_server((host, port), backlog=socket.SOMAXCONN)
                sock.settimeout(ACCEPT_POLL_SECONDS)
                self._listening.append(sock)
        except OSError:
            for sock in self._listening:
                sock.close()
            raise
        #: ``(host, port)`` actually bound, per address.
        self.addresses = [
            (host, sock.getsockname()[1])
            for (host, _), sock in zip(addresses, self._listening, strict=True)
        ]

    def start(self) -> None:
        """Start accepting: in the front process, or a thread per listening socket."""
        if self._front_process:
            self._start_front()
            return
        for sock in self._listening:
            self._spawn(self._accept, sock, name="etcdlite-accept")

    def _start_front(self) -> None:
        assert self._grpc_path is not None
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        fds = [theirs.fileno(), *(sock.fileno() for sock in self._listening)]
        try:
            self._front = subprocess.Popen(
                [sys.executable, "-I", "-S", _FRONT, str(fds[0]), self._grpc_path.encode().hex()]
                + [str(fd) for fd in fds[1:]],
                pass_fds=fds,
                stdin=subprocess.DEVNULL,
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self._control = ours
        for sock in self._listening:
            sock.close()  # the front process accepts on them now
        self._spawn(self._receive, ours, name="etcdlite-front")

    def _receive(self, control: socket.socket) -> None:
        """Serve the HTTP/1.1 connections the front process hands back, until it ends."""
        while True:
            try:
                message, fds, _, _ = socket.recv_fds(control, 1, 8)
            except OSError:
                return
            conns = [socket.socket(fileno=fd) for fd in fds]
            for conn in conns:
                conn.setblocking(True)
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as _accept does
            if not message:
                for conn in conns:
                    conn.close()
                return
            for conn in conns:
                if not self._track(conn):
                    conn.close()
                    continue
                try:
                    address = conn.getpeername()
                except OSError:
                    address = None
                if not self._spawn(self._serve_http_conn, conn, address, name="etcdlite-conn"):
                    self._forget(conn)

    def _serve_http_conn(self, conn: socket.socket, address: Any) -> None:
        try:
            self._serve_http(conn, address)
        except OSError:
            pass
        finally:
            self._forget(conn)

    def _spawn(self, target: Callable[..., None], *args: Any, name: str) -> bool:
        def run() -> None:
            try:
                target(*args)
            finally:
                with self._lock:
                    self._threads.discard(thread)

        thread = threading.Thread(target=run, name=name, daemon=True)
        with self._lock:
            if self._closed:
                return False
            self._threads.add(thread)
            thread.start()
        return True

    def _track(self, sock: socket.socket) -> bool:
        with self._lock:
            if self._closed:
                return False
            self._sockets.add(sock)
            return True

    def _forget(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)
        _shutdown(sock)
        sock.close()

    def _accept(self, listening: socket.socket) -> None:
        while not self._closed:
            try:
                conn, address = listening.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # closed
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if not self._track(conn):
                conn.close()
                return
            if not self._spawn(self._serve, conn, address, name="etcdlite-conn"):
                self._forget(conn)

    def _serve(self, conn: socket.socket, address: Any) -> None:
        try:
            if self._grpc_path is not None and self._is_http2(conn):
                self._relay(conn, self._grpc_path)
            else:
                self._serve_http(conn, address)
        except OSError:
            pass
        finally:
            self._forget(conn)

    @staticmethod
    def _is_http2(conn: socket.socket) -> bool:
        head = conn.recv(len(GRPC_PREFACE), socket.MSG_PEEK | socket.MSG_WAITALL)
        return head == GRPC_PREFACE

    def _relay(self, conn: socket.socket, path: str) -> None:
        backend = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if not self._track(backend):
            backend.close()
            return
        try:
            backend.connect(path)
            done = threading.Event()

            def back() -> None:
                try:
                    copy(backend, conn)
                finally:
                    done.set()

            if not self._spawn(back, name="etcdlite-relay"):
                return
            copy(conn, backend)
            done.wait()
        finally:
            self._forget(backend)

    def close(self, timeout: float = 5.0) -> None:
        """Stop accepting, shut every connection down, wait (up to ``timeout``) for threads."""
        with self._lock:
            self._closed = True
            sockets = list(self._sockets)
        for sock in self._listening:
            _shutdown(sock)  # wakes the accept at once (Linux); the poll bounds it elsewhere
            sock.close()
        if self._control is not None:
            _shutdown(self._control)  # the front process exits; so does _receive
        for sock in sockets:
            _shutdown(sock)
        front = self._front
        if front is not None:
            try:
                front.wait(FRONT_STOP_SECONDS)
            except subprocess.TimeoutExpired:
                front.kill()
                front.wait()
            if self._control is not None:
                self._control.close()
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)
