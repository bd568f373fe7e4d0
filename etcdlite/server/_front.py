"""The front process: accepts on the client URLs and sorts the connections, outside the server's GIL.

etcd answers gRPC and the JSON gateway on one port. :class:`~._listen.Listener` starts this
program (``python -I -S _front.py``: the standard library only, nothing of etcdlite is
imported), so that accepting and sorting never wait for the server's GIL:

* it inherits the listening sockets and accepts on them, a thread each;
* it peeks at each connection's first bytes, reading nothing: one that starts with the HTTP/2
  preface is gRPC's, any other is the gateway's (HTTP/1.1);
* it hands each connection back to the server over the control socket (``SCM_RIGHTS``, with a
  byte that says which: ``g`` for gRPC, ``c`` for the gateway), and closes its own copy;
* it exits as soon as the control socket ends: the server closed it, or died.

With TLS (``https://`` client URLs) this process never decrypts anything: it peeks at the
client's first TLS record, the ClientHello, and reads the protocols it offers (ALPN). A client
offering ``h2`` and not ``http/1.1`` (every gRPC client) goes to gRPC, any other to the
gateway, nothing of it read yet; the server does the handshake. A connection whose first byte
is not a TLS handshake record is closed; one that has not sent its ClientHello within the
handshake timeout too, and past ``MAX_PENDING`` connections waiting for theirs, new ones are
closed at once.

Usage: ``_front.py CONTROL_FD HANDSHAKE_TIMEOUT MAX_PENDING LISTEN_FD...``
(``HANDSHAKE_TIMEOUT`` 0: plain HTTP, no TLS).
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
from typing import Literal

#: The start of every HTTP/2 connection (RFC 9113 section 3.4); no HTTP/1.x request starts so.
GRPC_PREFACE = b"PRI "

#: The first byte of a TLS handshake record (RFC 8446 section 5.1), which a ClientHello is in.
TLS_HANDSHAKE = 0x16
#: A TLS record's header: type, version, length.
_RECORD_HEADER = 5
#: Largest TLS record (2^14 bytes of plaintext, plus what TLS 1.2 allows for expansion).
_MAX_RECORD = 2**14 + 2048
#: How long to wait between two looks at a ClientHello that arrived in part.
_PEEK_PAUSE = 0.01

Route = Literal["grpc", "http", "drop"]
#: The byte a connection handed back comes with, per route.
_TAGS = {"grpc": b"g", "http": b"c"}


def offered_protocols(record: bytes) -> list[bytes] | None:
    """The ALPN protocols a ClientHello offers (``[]`` when it has no ALPN extension), read
    from the TLS record ``record`` that carries it; ``None`` if it is not one that can be read
    (not a ClientHello, or one continued in a second record).
    """
    try:
        if record[0] != TLS_HANDSHAKE or record[_RECORD_HEADER] != 1:  # 1: ClientHello
            return None
        end = _RECORD_HEADER + 4 + int.from_bytes(record[6:9], "big")
        if end > len(record):
            return None  # a ClientHello over several records: let the handshake decide
        position = _RECORD_HEADER + 4 + 2 + 32  # type and length, version, random
        position += 1 + record[position]  # session id
        position += 2 + int.from_bytes(record[position : position + 2], "big")  # cipher suites
        position += 1 + record[position]  # compression methods
        if position == end:
            return []  # no extensions
        extensions_end = position + 2 + int.from_bytes(record[position : position + 2], "big")
        position += 2
        while position + 4 <= min(extensions_end, end):
            kind = int.from_bytes(record[position : position + 2], "big")
            size = int.from_bytes(record[position + 2 : position + 4], "big")
            position += 4
            if kind == 16:  # application_layer_protocol_negotiation (RFC 7301)
                names: list[bytes] = []
                at, stop = position + 2, position + size
                while at < stop:
                    names.append(record[at + 1 : at + 1 + record[at]])
                    at += 1 + record[at]
                return names
            position += size
        return []
    except IndexError:
        return None


def _peek(conn: socket.socket, size: int, deadline: float) -> bytes:
    """The first ``size`` bytes of ``conn``, left unread (fewer if it ends or at ``deadline``)."""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return b""
        conn.settimeout(remaining)
        try:
            data = conn.recv(size, socket.MSG_PEEK)
        except TimeoutError:
            return b""
        if len(data) >= size or not data:
            return data
        time.sleep(_PEEK_PAUSE)  # what is there stays readable: wait for the rest


def route_tls(conn: socket.socket, timeout: float) -> Route:
    """Where a connection to a TLS port goes, from its ClientHello (read within ``timeout``,
    left unread): ``"grpc"`` if it offers ``h2`` and not ``http/1.1``, ``"http"`` otherwise,
    ``"drop"`` if it is no TLS or sent no ClientHello in time."""
    deadline = time.monotonic() + timeout
    header = _peek(conn, _RECORD_HEADER, deadline)
    if len(header) < _RECORD_HEADER or header[0] != TLS_HANDSHAKE:
        return "drop"
    size = _RECORD_HEADER + min(int.from_bytes(header[3:5], "big"), _MAX_RECORD)
    record = _peek(conn, size, deadline)
    if len(record) < size:
        return "drop"
    conn.settimeout(None)
    protocols = offered_protocols(record)
    if protocols is not None and b"h2" in protocols and b"http/1.1" not in protocols:
        return "grpc"
    return "http"


class Pending:
    """Counts the connections whose TLS handshake has not got far enough yet; at most
    ``limit``."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._count = 0
        self._lock = threading.Lock()

    def enter(self) -> bool:
        """Count one more; ``False`` (not counted) when ``limit`` are already."""
        with self._lock:
            if self._count >= self._limit:
                return False
            self._count += 1
            return True

    def leave(self) -> None:
        """Count one less."""
        with self._lock:
            self._count -= 1


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class Front:
    """The accept loops and the hand-back of every connection."""

    def __init__(self, control: socket.socket, handshake_timeout: float, max_pending: int) -> None:
        self._control = control
        self._send = threading.Lock()
        self._handshake_timeout = handshake_timeout
        self._pending = Pending(max_pending)

    def accept(self, listening: socket.socket) -> None:
        while True:
            try:
                conn, _ = listening.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn: socket.socket) -> None:
        try:
            route = self._route(conn)
            if route != "drop":
                with self._send:
                    socket.send_fds(self._control, [_TAGS[route]], [conn.fileno()])
        except OSError:
            pass
        finally:
            conn.close()

    def _route(self, conn: socket.socket) -> Route:
        if not self._handshake_timeout:
            head = conn.recv(len(GRPC_PREFACE), socket.MSG_PEEK | socket.MSG_WAITALL)
            if not head:
                return "drop"
            return "grpc" if head == GRPC_PREFACE else "http"
        if not self._pending.enter():
            return "drop"
        try:
            return route_tls(conn, self._handshake_timeout)
        finally:
            self._pending.leave()


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server decides when this ends
    control = socket.socket(fileno=int(argv[1]))
    front = Front(control, float(argv[2]), int(argv[3]))
    control.setblocking(True)
    for fd in argv[4:]:
        listening = socket.socket(fileno=int(fd))
        listening.setblocking(True)  # the server polled it with a timeout: O_NONBLOCK is set
        threading.Thread(target=front.accept, args=(listening,), daemon=True).start()
    try:
        while control.recv(1):
            pass
    except OSError:
        pass
    os._exit(0)  # every accept thread ends with the process


if __name__ == "__main__":
    sys.exit(main(sys.argv))
