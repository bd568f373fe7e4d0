"""The client URLs' listeners: gRPC and the JSON gateway on the same port, as etcd serves them.

etcd answers gRPC and its JSON gateway on one client URL (clients such as etcd3gw assume one
endpoint). grpcio cannot take over a socket accepted elsewhere, so gRPC listens privately (a
unix socket: abstract on Linux, else in a temporary directory) and :class:`Listener` accepts
on every client URL, peeks at the first bytes of each connection and either relays it to gRPC
(the HTTP/2 connection preface, ``PRI * HTTP/2.0``) or serves it as HTTP/1.1 with the gateway.
The relay is two blocking copies per connection, one thread each way; ``docs/gateway.md``
gives what it costs and ``--listen-client-http-urls`` avoids it (gRPC then binds the client
URLs itself).

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
import threading
import urllib.parse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ("GRPC_PREFACE", "Listener", "parse_listen_url")

#: The start of every HTTP/2 connection (RFC 9113 section 3.4); no HTTP/1.x request starts so.
GRPC_PREFACE = b"PRI "

#: How often an accept loop looks whether the listener is closing.
ACCEPT_POLL_SECONDS = 0.25

_COPY_BUFFER = 256 * 1024


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
    ) -> None:
        self._serve_http = serve_http
        self._grpc_path = grpc_path
        self._lock = threading.Lock()
        self._closed = False
        self._sockets: set[socket.socket] = set()
        self._threads: set[threading.Thread] = set()
        self._listening: list[socket.socket] = []
        try:
            for host, port in addresses:
                sock = socket.create_server((host, port), backlog=128)
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
        """Start accepting (a thread per listening socket)."""
        for sock in self._listening:
            self._spawn(self._accept, sock, name="etcdlite-accept")

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
                    _copy(backend, conn)
                finally:
                    done.set()

            if not self._spawn(back, name="etcdlite-relay"):
                return
            _copy(conn, backend)
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
        for sock in sockets:
            _shutdown(sock)
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)


def _copy(source: socket.socket, target: socket.socket) -> None:
    """Copy ``source`` to ``target`` until ``source`` ends; then end ``target``'s sending side
    (on an error, both sockets entirely)."""
    buffer = bytearray(_COPY_BUFFER)
    view = memoryview(buffer)
    try:
        while n := source.recv_into(buffer):
            target.sendall(view[:n])
    except OSError:
        _shutdown(source)
        _shutdown(target)
        return
    try:
        target.shutdown(socket.SHUT_WR)
    except OSError:
        pass
