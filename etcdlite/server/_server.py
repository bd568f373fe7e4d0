"""The server: :func:`serve` and :class:`Server`, etcd's gRPC API and its JSON gateway.

gRPC is etcdlite's own HTTP/2 transport (:mod:`._h2`) on an event loop thread of its own: the
calls that never wait (reads, writes to an in-memory store, watch streams) are answered on the
loop, the others (lock, campaign, durable writes, the other streams) in a thread pool of
``max_workers`` threads (default 256), where such a stream holds one thread for its life
(:mod:`._calls` decides which is which). Every wait in a servicer is bounded (a poll of
:data:`POLL_SECONDS <etcdlite.server._services._common.POLL_SECONDS>`) or woken by the call's
end.

The JSON gateway (:mod:`._gateway`) calls the same servicers. As etcd does, both are served on
every client URL: :mod:`._listen` tells them apart by the first bytes and hands each
connection, unread, to the transport or to the gateway. With ``listen_client_http_urls``
(etcd 3.5's ``--listen-client-http-urls``) the gateway has URLs of its own and the transport
accepts on the client URLs itself.

The gRPC receive limit is ``max_request_bytes`` + 512 KiB, as etcd sets it, so an oversize
request is refused by the transport with RESOURCE_EXHAUSTED before it reaches the Store; the
gateway refuses the same requests with the same message.

TLS: ``https://`` URLs, with ``cert_file`` and ``key_file`` (etcd's ``--cert-file``,
``--key-file``), served by Python's :mod:`ssl` for gRPC (ALPN ``h2``) and the gateway alike
(:mod:`._listen` says how one port serves both). With ``trusted_ca_file`` every client must
present a certificate that CA signed, as etcd requires; ``client_cert_auth`` (etcd's
``--client-cert-auth``) asks for that and so needs ``trusted_ca_file``. A servicer reads the
CN of the client's certificate with :func:`._listen.client_common_name` (from
``context.auth_context()["x509_common_name"]``, as grpcio gives it, which both contexts
answer).
"""

from __future__ import annotations

import concurrent.futures
from typing import TYPE_CHECKING

from .._store import DEFAULT_MAX_REQUEST_BYTES, DEFAULT_MAX_TXN_OPS, ETCD_VERSIONS, Store
from .._watch import GRPC_OVERHEAD_BYTES
from ._calls import LoopServer
from ._gateway import Gateway
from ._listen import (
    DEFAULT_HANDSHAKE_TIMEOUT,
    DEFAULT_MAX_PENDING_HANDSHAKES,
    TLS,
    Listener,
    is_https,
    parse_listen_url,
    server_context,
)
from ._services import MemberInfo, make_servicers

if TYPE_CHECKING:
    import socket
    import ssl
    from collections.abc import Sequence
    from types import TracebackType

__all__ = ("Server", "serve")


DEFAULT_PEER_URLS = ("http://localhost:2380",)


def check_tls(
    urls: Sequence[str],
    *,
    cert_file: str | None,
    key_file: str | None,
    trusted_ca_file: str | None,
    client_cert_auth: bool,
) -> None:
    """Refuse what cannot be served, with etcd's message where etcd has one: an ``https://``
    URL without ``cert_file`` and ``key_file``, one of them without the other,
    ``client_cert_auth`` without ``trusted_ca_file`` (:class:`ValueError`).

    >>> check_tls(["https://127.0.0.1:2379"], cert_file=None, key_file=None,
    ...           trusted_ca_file=None, client_cert_auth=False)
    Traceback (most recent call last):
    ValueError: TLS key/cert (--cert-file, --key-file) must be provided for client url https://127.0.0.1:2379 with HTTPS scheme
    """
    if (cert_file is None) != (key_file is None):
        raise ValueError("--cert-file and --key-file go together: give both or neither")
    if client_cert_auth and trusted_ca_file is None:
        raise ValueError(
            "--client-cert-auth needs --trusted-ca-file (the CA client certificates are "
            "checked against)"
        )
    for url in urls:
        if is_https(url) and cert_file is None:
            raise ValueError(
                f"TLS key/cert (--cert-file, --key-file) must be provided for client url {url}"
                " with HTTPS scheme"
            )


def _scheme(urls: Sequence[str], what: str) -> bool:
    """Whether ``urls`` are ``https://``; all of them or none must be."""
    secure = {is_https(url) for url in urls}
    if len(secure) > 1:
        raise ValueError(f"{what} must be all http:// or all https://: {', '.join(urls)}")
    return secure == {True}


class Server:
    """etcd's gRPC API and JSON gateway in front of a :class:`~etcdlite.Store`; build it with
    :func:`serve`.

    ``listen_client_urls`` (``http://host:port`` or ``https://host:port``, port 0 picks one)
    serve gRPC and the gateway; without it, ``host`` and ``port`` make the one URL (plain
    HTTP). ``listen_client_http_urls`` serve the gateway alone, and then the client URLs serve
    gRPC alone. ``address`` is the first client URL's ``"host:port"`` (the port actually
    bound), ``client_urls`` and ``http_urls`` every URL served. Use it as a context manager, or
    call :meth:`stop`. A store the server created is closed with it; a store passed in is left
    open.

    TLS (``https://`` URLs): ``cert_file`` and ``key_file`` (PEM) are the server's
    certificate and key, ``trusted_ca_file`` the CA whose certificate every client must
    present (``client_cert_auth`` requires it). TLS 1.2 and later only. A client has
    ``tls_handshake_timeout`` seconds to complete its handshake; at most
    ``tls_max_handshakes`` connections wait for theirs at once. The client URLs are all
    ``http://`` or all ``https://``, and so are the HTTP URLs (each group may differ).
    Certificates given with only ``http://`` URLs are not used, as etcd ignores them.
    """

    def __init__(
        self,
        store: Store | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 2379,
        listen_client_urls: Sequence[str] | None = None,
        listen_client_http_urls: Sequence[str] = (),
        name: str = "default",
        advertise_client_urls: Sequence[str] | None = None,
        peer_urls: Sequence[str] = DEFAULT_PEER_URLS,
        max_txn_ops: int = DEFAULT_MAX_TXN_OPS,
        max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
        max_workers: int = 256,
        cert_file: str | None = None,
        key_file: str | None = None,
        trusted_ca_file: str | None = None,
        client_cert_auth: bool = False,
        tls_handshake_timeout: float = DEFAULT_HANDSHAKE_TIMEOUT,
        tls_max_handshakes: int = DEFAULT_MAX_PENDING_HANDSHAKES,
    ) -> None:
        client_urls = tuple(listen_client_urls or (f"http://{host}:{port}",))
        check_tls(
            (*client_urls, *listen_client_http_urls),
            cert_file=cert_file,
            key_file=key_file,
            trusted_ca_file=trusted_ca_file,
            client_cert_auth=client_cert_auth,
        )
        if not tls_handshake_timeout > 0 or tls_max_handshakes < 1:
            raise ValueError(
                "tls_handshake_timeout must be positive and tls_max_handshakes at least 1"
            )
        client_tls = _scheme(client_urls, "the client URLs")
        http_tls = _scheme(listen_client_http_urls, "the client HTTP URLs")
        client = [parse_listen_url(u) for u in client_urls]
        http = [parse_listen_url(u) for u in listen_client_http_urls]
        tls: TLS | None = None
        credentials: ssl.SSLContext | None = None
        if cert_file is not None and key_file is not None and (client_tls or http_tls):
            tls = TLS(
                server_context(cert_file, key_file, trusted_ca_file),
                tls_handshake_timeout,
                tls_max_handshakes,
            )
            credentials = server_context(cert_file, key_file, trusted_ca_file, alpn="h2")
        self._own_store = store is None
        if store is None:
            store = Store(max_txn_ops=max_txn_ops, max_request_bytes=max_request_bytes)
        self.store = store
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=max_workers, thread_name_prefix="etcdlite-grpc"
        )
        receive_limit = max_request_bytes + GRPC_OVERHEAD_BYTES
        self._server = LoopServer(
            pool=self._executor,
            durable=store.data_dir is not None,
            receive_limit=receive_limit,
            handshake_timeout=tls_handshake_timeout,
        )
        self._listener: Listener | None = None
        self._grpc_tls: ssl.SSLContext | None = None
        self._stopped = True
        grpc_credentials = credentials if client_tls else None
        try:
            if http:
                client = [(h, self._server.add_port(h, p, grpc_credentials)) for h, p in client]
                self._listener = Listener(
                    http,
                    serve_http=self._serve_http,
                    serve_grpc=None,
                    tls=tls if http_tls else None,
                    serve_https=self._serve_https,
                )
                http = self._listener.addresses
            else:
                self._grpc_tls = grpc_credentials
                self._listener = Listener(
                    client,
                    serve_http=self._serve_http,
                    serve_grpc=self._serve_grpc,
                    tls=tls if client_tls else None,
                    serve_https=self._serve_https,
                )
                client = self._listener.addresses
        except BaseException:
            self._cleanup()
            raise
        client_scheme = "https" if client_tls else "http"
        self.client_urls = tuple(f"{client_scheme}://{h}:{p}" for h, p in client)
        http_scheme = "https" if http_tls else "http"
        self.http_urls = tuple(f"{http_scheme}://{h}:{p}" for h, p in http)
        self.address = self.client_urls[0].split("://", 1)[1]
        advertise = tuple(advertise_client_urls or self.client_urls)
        version = ETCD_VERSIONS[store.compat]
        services = make_servicers(
            store,
            MemberInfo(name, tuple(peer_urls), advertise),
            client_cert_auth=client_cert_auth and tls is not None,
        )
        self._server.add_services(services)
        self._gateway = Gateway(store, services, version=version, receive_limit=receive_limit)
        self._stopped = False

    def _serve_grpc(self, sock: socket.socket) -> None:
        self._server.adopt(sock, self._grpc_tls)

    def _serve_http(self, sock: socket.socket, address: object) -> None:
        self._gateway.handle(sock, address)

    def _serve_https(self, sock: socket.socket, address: object, common_name: str | None) -> None:
        self._gateway.handle(sock, address, common_name)

    def _cleanup(self) -> None:
        if self._listener is not None:
            self._listener.close()
        self._server.stop(0)  # ends the loop thread if the server never started
        self._executor.shutdown(wait=False, cancel_futures=True)

    def start(self) -> Server:
        """Start serving (:func:`serve` does this)."""
        self._server.start()
        assert self._listener is not None
        self._listener.start()
        return self

    def stop(self, grace: float | None = 1.0) -> None:
        """Stop: stop accepting, end the gateway's calls and connections, end the running gRPC
        calls after ``grace`` seconds, free the ports."""
        if self._stopped:
            return
        self._stopped = True
        assert self._listener is not None
        self._listener.close(timeout=0)  # stop accepting, shut the connections down
        self._gateway.close()
        self._server.stop(grace)
        self._listener.close()  # join the connection threads
        if self._own_store:
            self.store.close()
        self._cleanup()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the server stops (or ``timeout``); whether it stopped."""
        return self._server.wait(timeout)

    def __enter__(self) -> Server:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<etcdlite.server.Server {self.address}{' stopped' if self._stopped else ''}>"


def serve(
    store: Store | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 2379,
    listen_client_urls: Sequence[str] | None = None,
    listen_client_http_urls: Sequence[str] = (),
    name: str = "default",
    advertise_client_urls: Sequence[str] | None = None,
    max_txn_ops: int = DEFAULT_MAX_TXN_OPS,
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
    max_workers: int = 256,
    cert_file: str | None = None,
    key_file: str | None = None,
    trusted_ca_file: str | None = None,
    client_cert_auth: bool = False,
    tls_handshake_timeout: float = DEFAULT_HANDSHAKE_TIMEOUT,
    tls_max_handshakes: int = DEFAULT_MAX_PENDING_HANDSHAKES,
) -> Server:
    """Serve etcd's gRPC API and JSON gateway for ``store`` (a new in-memory Store if
    ``None``): a started :class:`Server`. ``port=0`` picks a free port; ``server.address`` says
    which. ``listen_client_urls`` and ``listen_client_http_urls`` are etcd's flags (see
    :class:`Server`), and so are the TLS options (``https://`` URLs with ``cert_file``,
    ``key_file``, ``trusted_ca_file``, ``client_cert_auth``).

    ``max_txn_ops`` and ``max_request_bytes`` configure the store this creates (a store passed
    in keeps its own); ``max_request_bytes`` + 512 KiB is also the gRPC receive limit, so with
    a store of your own pass the same ``max_request_bytes`` it was made with.

    >>> import etcdlite
    >>> with etcdlite.serve(port=0) as server:
    ...     server.address.startswith("127.0.0.1:")
    True
    """
    return Server(
        store,
        host=host,
        port=port,
        listen_client_urls=listen_client_urls,
        listen_client_http_urls=listen_client_http_urls,
        name=name,
        advertise_client_urls=advertise_client_urls,
        max_txn_ops=max_txn_ops,
        max_request_bytes=max_request_bytes,
        max_workers=max_workers,
        cert_file=cert_file,
        key_file=key_file,
        trusted_ca_file=trusted_ca_file,
        client_cert_auth=client_cert_auth,
        tls_handshake_timeout=tls_handshake_timeout,
        tls_max_handshakes=tls_max_handshakes,
    ).start()
