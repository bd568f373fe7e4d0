"""The gRPC server: :func:`serve` and :class:`Server`.

It is grpc's synchronous server over a thread pool. The Store is synchronous and its waits
(watch, keep-alive, lock, observe) block a thread anyway, so a thread per active call is the
direct translation; grpc.aio would only move every Store call into an executor. A stream holds
one worker for its life (a watch stream one more thread for reading its requests), so the pool
is sized for streams: ``max_workers`` (default 256) bounds the concurrent calls, streams
included. Every wait in a servicer is bounded (a poll of :data:`POLL_SECONDS
<etcdlite.server._services._common.POLL_SECONDS>`) or woken by the call's end.

The gRPC receive limit is ``max_request_bytes`` + 512 KiB, as etcd sets it, so an oversize
request is refused by the transport with RESOURCE_EXHAUSTED before it reaches the Store.
"""

from __future__ import annotations

import concurrent.futures
from typing import TYPE_CHECKING

import grpc

from .._store import DEFAULT_MAX_REQUEST_BYTES, DEFAULT_MAX_TXN_OPS, Store
from .._watch import GRPC_OVERHEAD_BYTES
from ._services import MemberInfo, add_services

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import TracebackType

__all__ = ("ETCD_VERSIONS", "Server", "serve")

#: The etcd version Status reports, per Store compat profile.
ETCD_VERSIONS = {"3.4": "3.4.23", "3.5": "3.5.0"}

DEFAULT_PEER_URLS = ("http://localhost:2380",)


class Server:
    """etcd's gRPC API in front of a :class:`~etcdlite.Store`; build it with :func:`serve`.

    ``address`` is ``"host:port"`` (the port actually bound when 0 was asked for). Use it as a
    context manager, or call :meth:`stop`. A store the server created is closed with it; a
    store passed in is left open.
    """

    def __init__(
        self,
        store: Store | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 2379,
        name: str = "default",
        advertise_client_urls: Sequence[str] | None = None,
        peer_urls: Sequence[str] = DEFAULT_PEER_URLS,
        max_txn_ops: int = DEFAULT_MAX_TXN_OPS,
        max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
        max_workers: int = 256,
    ) -> None:
        self._own_store = store is None
        if store is None:
            store = Store(max_txn_ops=max_txn_ops, max_request_bytes=max_request_bytes)
        self.store = store
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=max_workers, thread_name_prefix="etcdlite-grpc"
        )
        receive_limit = max_request_bytes + GRPC_OVERHEAD_BYTES
        self._server = grpc.server(
            self._executor,
            options=[
                ("grpc.max_receive_message_length", receive_limit),
                ("grpc.max_send_message_length", 2**31 - 1),
            ],
        )
        bound = self._server.add_insecure_port(f"{host}:{port}")
        if not bound:
            raise OSError(f"cannot listen on {host}:{port}")
        self.address = f"{host}:{bound}"
        client_urls = tuple(advertise_client_urls or (f"http://{self.address}",))
        member = MemberInfo(name, tuple(peer_urls), client_urls)
        add_services(self._server, store, member, ETCD_VERSIONS[store.compat])
        self._stopped = False

    def start(self) -> Server:
        """Start serving (:func:`serve` does this)."""
        self._server.start()
        return self

    def stop(self, grace: float | None = 1.0) -> None:
        """Stop: refuse new calls, end the running ones after ``grace`` seconds, free the port."""
        if self._stopped:
            return
        self._stopped = True
        self._server.stop(grace).wait(timeout=None if grace is None else grace + 5.0)
        if self._own_store:
            self.store.close()
        self._executor.shutdown(wait=False, cancel_futures=True)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the server stops (or ``timeout``); whether it stopped."""
        return bool(self._server.wait_for_termination(timeout))

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
    name: str = "default",
    advertise_client_urls: Sequence[str] | None = None,
    max_txn_ops: int = DEFAULT_MAX_TXN_OPS,
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
    max_workers: int = 256,
) -> Server:
    """Serve etcd's gRPC API for ``store`` (a new in-memory Store if ``None``): a started
    :class:`Server`. ``port=0`` picks a free port; ``server.address`` says which.

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
        name=name,
        advertise_client_urls=advertise_client_urls,
        max_txn_ops=max_txn_ops,
        max_request_bytes=max_request_bytes,
        max_workers=max_workers,
    ).start()
