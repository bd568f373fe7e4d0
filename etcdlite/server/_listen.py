"""The client URLs' listeners: gRPC and the JSON gateway on the same port, as etcd serves them.

etcd answers gRPC and its JSON gateway on one client URL (clients such as etcd3gw assume one
endpoint). :class:`Listener` accepts on every client URL, peeks at the first bytes of each
connection, reading nothing, and hands it over: the HTTP/2 connection preface (``PRI *
HTTP/2.0``) to gRPC (``serve_grpc``: the server's own transport takes the socket over, see
:mod:`._h2`), anything else to the gateway, served here as HTTP/1.1. Where the platform can pass
sockets between processes (``socket.send_fds``: every Unix), the accepting and the sorting
happen in a small process of its own (:mod:`._front`), which hands every connection back;
elsewhere in threads of this process.

Every thread and socket is tracked: :meth:`Listener.close` stops accepting, shuts every open
connection down (which wakes the threads blocked on them) and joins the threads. A connection
handed to gRPC is gRPC's from then on.

TLS (``https://`` URLs, :class:`TLS`) is terminated where each protocol is served: gRPC's
connections by the gRPC transport, which so verifies the client's certificate and gives it to
the servicers; the gateway's connections are handshaken here with :mod:`ssl`. On a port serving
both, the ClientHello tells them apart (:func:`._front.route_tls`): gRPC clients offer the ALPN
protocol ``h2`` alone, HTTP clients (curl, urllib, requests) offer ``http/1.1``, which the
gateway picks. A connection is handed over still unread. The decrypted bytes reach the gateway
through a socket pair, copied by one thread per connection (:func:`pump`) that alone uses the
TLS session: OpenSSL does not allow one session to be read and written from two threads at
once, as the gateway's streams would. A client has ``handshake_timeout`` seconds to send its
ClientHello and finish the handshake, and at most ``max_pending`` connections wait for theirs
(in the front process, then in this one); past that, new connections are closed at once.
``docs/gateway.md`` ("TLS") says more.

>>> parse_listen_url("http://127.0.0.1:0")
('127.0.0.1', 0)
>>> parse_listen_url("unix://x")
Traceback (most recent call last):
ValueError: only http:// and https:// client URLs are supported: 'unix://x'
"""

from __future__ import annotations

import select
import socket
import ssl
import subprocess
import sys
import threading
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from ._front import GRPC_PREFACE, Pending, route_tls

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = (
    "DEFAULT_HANDSHAKE_TIMEOUT",
    "DEFAULT_MAX_PENDING_HANDSHAKES",
    "FRONT_PROCESS",
    "GRPC_PREFACE",
    "TLS",
    "Listener",
    "client_common_name",
    "is_https",
    "parse_listen_url",
    "pump",
    "server_context",
)

#: Whether the accepting and sorting run in a front process (:mod:`._front`).
FRONT_PROCESS: bool = hasattr(socket, "send_fds")
_FRONT = str(Path(__file__).with_name("_front.py"))
#: How long :meth:`Listener.close` waits for the front process before killing it.
FRONT_STOP_SECONDS = 5.0

#: How often an accept loop looks whether the listener is closing.
ACCEPT_POLL_SECONDS = 0.25


#: Seconds a client has to send its ClientHello, then to finish the TLS handshake.
DEFAULT_HANDSHAKE_TIMEOUT = 10.0
#: Connections that may wait for their TLS handshake at once (per stage, see the module).
DEFAULT_MAX_PENDING_HANDSHAKES = 128

#: What :func:`pump` holds of one direction before it stops reading that side.
_PUMP_BUFFER = 256 * 1024
_PUMP_CHUNK = 64 * 1024


def parse_listen_url(url: str) -> tuple[str, int]:
    """``(host, port)`` of an ``http://host:port`` or ``https://host:port`` client URL (etcd's
    flag syntax)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"only http:// and https:// client URLs are supported: {url!r}")
    if parts.hostname is None or parts.port is None or parts.path not in ("", "/"):
        raise ValueError(f"a client URL is {parts.scheme}://host:port, not {url!r}")
    return parts.hostname, parts.port


def is_https(url: str) -> bool:
    """Whether a client URL serves TLS."""
    return urllib.parse.urlsplit(url).scheme == "https"


class TLS(NamedTuple):
    """How a :class:`Listener` serves TLS: the gateway's context (:func:`server_context`), the
    handshake timeout in seconds and the cap on connections waiting for theirs."""

    context: ssl.SSLContext
    handshake_timeout: float = DEFAULT_HANDSHAKE_TIMEOUT
    max_pending: int = DEFAULT_MAX_PENDING_HANDSHAKES


def server_context(
    cert_file: str,
    key_file: str,
    trusted_ca_file: str | None = None,
    *,
    alpn: str = "http/1.1",
) -> ssl.SSLContext:
    """A server's TLS context: TLS 1.2 and later with Python's default (modern) ciphers, the
    ALPN protocol ``alpn`` (the gateway's ``http/1.1``, gRPC's ``h2``), no renegotiation; with
    ``trusted_ca_file``, every client must present a certificate that CA signed (as etcd
    requires one whenever ``--trusted-ca-file`` is given). Unreadable or mismatched files raise
    :class:`OSError` (:class:`ssl.SSLError`)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.options |= ssl.OP_NO_RENEGOTIATION
    context.load_cert_chain(cert_file, key_file)
    if trusted_ca_file is not None:
        context.load_verify_locations(cafile=trusted_ca_file)
        context.verify_mode = ssl.CERT_REQUIRED
    context.set_alpn_protocols([alpn])
    return context


def client_common_name(context: Any) -> str | None:
    """The common name (CN) of the verified certificate the client of a call presented, or
    ``None``: what etcd takes as the user name under ``--client-cert-auth``.

    ``context`` is the servicer's ``grpc.ServicerContext`` (grpcio's ``auth_context()``
    carries ``x509_common_name``) or the gateway's call context, which answers the same.
    """
    names = context.auth_context().get("x509_common_name")
    return names[0].decode() if names else None


def _common_name(peer: Any) -> str | None:
    """The last CN of a verified certificate's subject (``SSLSocket.getpeercert()``), as Go's
    ``pkix.Name.CommonName`` is."""
    common_name = None
    for attributes in (peer or {}).get("subject", ()):
        for name, value in attributes:
            if name == "commonName":
                common_name = value
    return common_name


def _shutdown(sock: socket.socket) -> None:
    try:
        # the plain socket's method: an SSLSocket's own would drop its TLS state first, under
        # the thread that may be using it
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass


def pump(secure: ssl.SSLSocket, plain: socket.socket) -> None:
    """Copy between the handshaken ``secure`` and ``plain`` both ways, in this one thread,
    until ``plain`` ends (its last bytes sent on) or either fails; the client ending ends
    ``plain``'s sending side. Leaves both sockets shut down."""
    secure.setblocking(False)
    plain.setblocking(False)
    to_plain = bytearray()
    to_secure = bytearray()
    writing: bytes = b""  # what a TLS write that could not finish is retried with, unchanged
    reading_secure = reading_plain = True
    ended = False  # the client's end was passed on
    poller = select.poll()
    registered: dict[int, int] = {}

    def want(sock: socket.socket, events: int) -> None:
        fd = sock.fileno()
        if registered.get(fd) != events:
            if fd in registered and events:
                poller.modify(fd, events)
            elif fd in registered:
                poller.unregister(fd)
            elif events:
                poller.register(fd, events)
            if events:
                registered[fd] = events
            else:
                registered.pop(fd, None)

    try:
        while reading_plain or to_secure or writing:
            read_secure = reading_secure and len(to_plain) < _PUMP_BUFFER
            if not (read_secure and secure.pending()):
                want(
                    secure,
                    (select.POLLIN if read_secure else 0)
                    | (select.POLLOUT if to_secure or writing else 0),
                )
                want(
                    plain,
                    (select.POLLIN if reading_plain and len(to_secure) < _PUMP_BUFFER else 0)
                    | (select.POLLOUT if to_plain else 0),
                )
                if not registered:
                    break
                poller.poll()
            if read_secure:
                try:
                    data = secure.recv(_PUMP_CHUNK)
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                    data = None
                except ssl.SSLZeroReturnError:
                    data = b""
                if data is not None:
                    if data:
                        to_plain += data
                    else:
                        reading_secure = False
            if reading_plain and len(to_secure) < _PUMP_BUFFER:
                try:
                    data = plain.recv(_PUMP_CHUNK)
                except BlockingIOError:
                    data = None
                if data is not None:
                    if data:
                        to_secure += data
                    else:
                        reading_plain = False
            if to_plain:
                try:
                    del to_plain[: plain.send(to_plain)]
                except BlockingIOError:
                    pass
            if not reading_secure and not to_plain and not ended:
                plain.shutdown(socket.SHUT_WR)  # the client is done: the gateway sees the end
                ended = True
            if to_secure or writing:
                if not writing:
                    writing = bytes(to_secure[:_PUMP_CHUNK])
                    del to_secure[:_PUMP_CHUNK]
                try:
                    sent = secure.send(writing)
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                    sent = 0
                writing = writing[sent:]
    except OSError:
        pass
    finally:
        _shutdown(secure)
        _shutdown(plain)


class Listener:
    """Accepts on ``addresses``: HTTP/2 connections go to ``serve_grpc`` (the socket, unread,
    which it owns from then on), everything else to ``serve_http`` (with the connection and the
    client's address); with ``serve_grpc=None`` everything is HTTP. With ``tls``, every address
    serves TLS: gRPC's connections are handed over before the handshake (the gRPC transport
    serves TLS), HTTP ones are handshaken here and go to ``serve_https`` (with the client
    certificate's CN too, or ``None``)."""

    def __init__(
        self,
        addresses: Sequence[tuple[str, int]],
        *,
        serve_http: Callable[[socket.socket, Any], None],
        serve_grpc: Callable[[socket.socket], None] | None,
        tls: TLS | None = None,
        serve_https: Callable[[socket.socket, Any, str | None], None] | None = None,
        front_process: bool = FRONT_PROCESS,
    ) -> None:
        if tls is not None and serve_https is None:
            raise ValueError("a TLS listener needs serve_https")
        self._serve_http = serve_http
        self._serve_https_conn = serve_https
        self._serve_grpc = serve_grpc
        self._tls = tls
        self._pending = Pending(tls.max_pending if tls is not None else 0)
        self._front_process = front_process and serve_grpc is not None
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
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        fds = [theirs.fileno(), *(sock.fileno() for sock in self._listening)]
        tls = self._tls
        try:
            self._front = subprocess.Popen(
                [
                    sys.executable,
                    "-I",
                    "-S",
                    _FRONT,
                    str(fds[0]),
                    repr(tls.handshake_timeout) if tls is not None else "0",
                    str(tls.max_pending) if tls is not None else "0",
                ]
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
        """Serve the connections the front process hands back, until it ends."""
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
            if message == b"g" and self._serve_grpc is not None:
                for conn in conns:
                    self._serve_grpc(conn)
                continue
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
            if self._tls is not None:
                self._serve_https(conn, address, self._tls)
            else:
                self._serve_http(conn, address)
        except OSError:
            pass
        finally:
            self._forget(conn)

    def _serve_https(self, conn: socket.socket, address: Any, tls: TLS) -> None:
        """Handshake (within the timeout, if fewer than ``max_pending`` are), then serve the
        gateway on a socket pair that :func:`pump` copies to and from the TLS session."""
        if not self._pending.enter():
            return
        secure: ssl.SSLSocket | None = None
        try:
            conn.settimeout(tls.handshake_timeout)
            secure = tls.context.wrap_socket(
                conn, server_side=True, do_handshake_on_connect=False
            )  # ``conn`` is detached: ``secure`` has its descriptor now
            if not self._track(secure):
                secure.close()
                return
            secure.do_handshake()
        except OSError:  # ssl.SSLError and TimeoutError among them
            if secure is not None:
                self._forget(secure)
            return
        finally:
            self._pending.leave()
        common_name = _common_name(secure.getpeercert())
        ours, theirs = socket.socketpair()
        if not (self._track(ours) and self._track(theirs)):  # closing
            for sock in (ours, theirs, secure):
                self._forget(sock)
            return

        def run_pump() -> None:
            try:
                pump(secure, ours)
            finally:
                self._forget(ours)
                self._forget(secure)

        if not self._spawn(run_pump, name="etcdlite-tls"):
            self._forget(ours)
            self._forget(secure)
            self._forget(theirs)
            return
        assert self._serve_https_conn is not None
        try:
            self._serve_https_conn(theirs, address, common_name)
        finally:
            self._forget(theirs)

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
            if self._tls is not None:
                route = "http" if self._serve_grpc is None else self._route_tls(conn, self._tls)
                if route == "grpc":
                    self._hand_to_grpc(conn)
                elif route == "http":
                    self._serve_https(conn, address, self._tls)
            elif self._serve_grpc is not None and self._is_http2(conn):
                self._hand_to_grpc(conn)
            else:
                self._serve_http(conn, address)
        except OSError:
            pass
        finally:
            self._forget(conn)

    def _hand_to_grpc(self, conn: socket.socket) -> None:
        assert self._serve_grpc is not None
        with self._lock:
            self._sockets.discard(conn)
        self._serve_grpc(socket.socket(fileno=conn.detach()))

    def _route_tls(self, conn: socket.socket, tls: TLS) -> str:
        if not self._pending.enter():
            return "drop"
        try:
            return route_tls(conn, tls.handshake_timeout)
        finally:
            self._pending.leave()

    @staticmethod
    def _is_http2(conn: socket.socket) -> bool:
        head = conn.recv(len(GRPC_PREFACE), socket.MSG_PEEK | socket.MSG_WAITALL)
        return head == GRPC_PREFACE

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
