"""The front process: accepts on the client URLs and relays gRPC, outside the server's GIL.

etcd answers gRPC and the JSON gateway on one port; grpcio cannot adopt a socket accepted
elsewhere, so gRPC connections are relayed to grpcio's private unix socket (see
:mod:`._listen`). Relaying inside the server process costs every gRPC call a trip through the
server's GIL, in contention with grpcio's own threads: under etcdctl's ``check perf --load=m``
the slowest put took 0.9 s that way, against 0.05 s with the relay in a process of its own
(``docs/gateway.md``). So :class:`~._listen.Listener` starts this program (``python -I -S
_front.py``: the standard library only, nothing of etcdlite is imported):

* it inherits the listening sockets and accepts on them, a thread each;
* a connection that starts with the HTTP/2 preface is relayed to grpcio's unix socket, a
  thread each way;
* any other connection is handed back to the server over the control socket (``SCM_RIGHTS``),
  where the gateway serves it as HTTP/1.1, and closed here;
* it exits as soon as the control socket ends: the server closed it, or died.

Usage: ``_front.py CONTROL_FD GRPC_PATH_HEX LISTEN_FD...``.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading

#: The start of every HTTP/2 connection (RFC 9113 section 3.4); no HTTP/1.x request starts so.
GRPC_PREFACE = b"PRI "

_COPY_BUFFER = 256 * 1024


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def copy(source: socket.socket, target: socket.socket) -> None:
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


def relay(conn: socket.socket, path: str) -> None:
    """Relay ``conn`` to the unix socket ``path`` both ways until both sides end."""
    backend = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        backend.connect(path)
        back = threading.Thread(target=copy, args=(backend, conn), daemon=True)
        back.start()
        copy(conn, backend)
        back.join()
    finally:
        backend.close()


class Front:
    """The accept loops, the relays and the hand-back of HTTP/1.1 connections."""

    def __init__(self, control: socket.socket, grpc_path: str) -> None:
        self._control = control
        self._grpc_path = grpc_path
        self._send = threading.Lock()

    def accept(self, listening: socket.socket) -> None:
        while True:
            try:
                conn, _ = listening.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn: socket.socket) -> None:
        try:
            head = conn.recv(len(GRPC_PREFACE), socket.MSG_PEEK | socket.MSG_WAITALL)
            if head == GRPC_PREFACE:
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                relay(conn, self._grpc_path)
            elif head:
                with self._send:
                    socket.send_fds(self._control, [b"c"], [conn.fileno()])
        except OSError:
            pass
        finally:
            conn.close()


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server decides when this ends
    control = socket.socket(fileno=int(argv[1]))
    front = Front(control, bytes.fromhex(argv[2]).decode())
    control.setblocking(True)
    for fd in argv[3:]:
        listening = socket.socket(fileno=int(fd))
        listening.setblocking(True)  # the server polled it with a timeout: O_NONBLOCK is set
        threading.Thread(target=front.accept, args=(listening,), daemon=True).start()
    try:
        while control.recv(1):
            pass
    except OSError:
        pass
    os._exit(0)  # every relay and accept thread ends with the process


if __name__ == "__main__":
    sys.exit(main(sys.argv))
