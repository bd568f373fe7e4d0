"""Several endpoints: clientv3's retry rule, endpoint by endpoint.

The first endpoint is either a port nobody listens on (a call there is never sent) or a small
gRPC server of ours that receives every KV call and then fails it with ``UNAVAILABLE``, as a
member that dies after reading the request would (the call was sent); the second is a real
etcd. Reads go on to etcd in both cases; a write goes on only when it was never sent.
"""

from __future__ import annotations

import concurrent.futures
import socket
from typing import TYPE_CHECKING, Any

import grpc
import pytest

import etcdlite
from etcdlite import Compare, Op
from etcdlite.remote import RemoteError
from etcdlite.server._pb import rpc_pb2_grpc

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

pytestmark = pytest.mark.etcd

_kv: Any = rpc_pb2_grpc  # generated without annotations

#: What the dying endpoint says (any text but gRPC's "failed to connect to all addresses").
LOST = "connection lost after the request was read"


class DyingKV(_kv.KVServicer):  # type: ignore[misc]
    """A KV service that reads each request, counts it and fails it with UNAVAILABLE."""

    def __init__(self) -> None:
        self.received: list[str] = []

    def _die(self, name: str, context: grpc.ServicerContext) -> None:
        self.received.append(name)
        context.abort(grpc.StatusCode.UNAVAILABLE, LOST)

    def Range(self, request: object, context: grpc.ServicerContext) -> None:
        self._die("Range", context)

    def Put(self, request: object, context: grpc.ServicerContext) -> None:
        self._die("Put", context)

    def DeleteRange(self, request: object, context: grpc.ServicerContext) -> None:
        self._die("DeleteRange", context)

    def Txn(self, request: object, context: grpc.ServicerContext) -> None:
        self._die("Txn", context)

    def Compact(self, request: object, context: grpc.ServicerContext) -> None:
        self._die("Compact", context)


@pytest.fixture
def dying() -> Iterator[tuple[str, DyingKV]]:
    """The dying endpoint's URL and its service (to count what it received)."""
    service = DyingKV()
    server = grpc.server(concurrent.futures.ThreadPoolExecutor(max_workers=2))
    _kv.add_KVServicer_to_server(service, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"http://127.0.0.1:{port}", service
    finally:
        server.stop(None).wait(5.0)


@pytest.fixture
def closed_url() -> str:
    """A 127.0.0.1 URL nobody listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_never_sent_calls_move_on_reads_and_writes(closed_url: str, etcd_url: str) -> None:
    """With the first endpoint down, a write was never sent, so it goes to the next endpoint
    (clientv3: "there is no address available") and lands once; so do reads."""
    with etcdlite.connect([closed_url, etcd_url]) as client:
        assert client.put("k", "v").header.revision == 2
        assert client.target == etcd_url.removeprefix("http://")
        assert client.get("k").kvs[0].version == 1
        assert client.delete("k").deleted == 1
        assert client.revision == 3


def test_sent_write_is_not_resent(dying: tuple[str, DyingKV], etcd_url: str) -> None:
    """A put, a delete, a compaction and a txn that writes fail with UNAVAILABLE after being
    sent: each raises a RemoteError with that status and is not resent to etcd."""
    url, service = dying
    with etcdlite.connect([url, etcd_url]) as client:
        calls: list[tuple[str, Callable[[], object]]] = [
            ("Put", lambda: client.put("k", "v")),
            ("DeleteRange", lambda: client.delete("k")),
            ("Compact", lambda: client.compact(1)),
            ("Txn", lambda: client.txn((), [Op.put("k", "v")])),
        ]
        for name, call in calls:
            with pytest.raises(RemoteError) as info:
                call()
            assert info.value.status == grpc.StatusCode.UNAVAILABLE
            assert str(info.value) == LOST
            assert service.received[-1] == name
            client._endpoints.failed(1)  # back to the dying endpoint for the next one
        assert service.received == ["Put", "DeleteRange", "Compact", "Txn"]
    with etcdlite.connect(etcd_url) as direct:
        assert direct.revision == 1  # nothing reached etcd


def test_reads_move_on_after_unavailable(dying: tuple[str, DyingKV], etcd_url: str) -> None:
    """A range and a read-only txn are safe to resend: the dying endpoint's UNAVAILABLE sends
    them on to etcd, which answers."""
    url, service = dying
    with etcdlite.connect(etcd_url) as direct:
        direct.put("k", "v")
    with etcdlite.connect(f"{url},{etcd_url}") as client:
        assert client.get("k").kvs[0].value == b"v"
        assert client.target == etcd_url.removeprefix("http://")
        client._endpoints.failed(1)
        resp = client.txn([Compare.version("k") == 1], [Op.get("k")])
        assert resp.succeeded
        assert service.received == ["Range", "Txn"]
        assert client._endpoints.switches == 3


def test_every_endpoint_down_raises_unavailable(closed_url: str) -> None:
    """With no endpoint answering, a read is retried within its timeout, then raises
    UNAVAILABLE."""
    with etcdlite.connect([closed_url, closed_url], timeout=0.5) as client:
        with pytest.raises(RemoteError) as info:
            client.get("k")
        assert info.value.status == grpc.StatusCode.UNAVAILABLE
        assert client._endpoints.switches >= 2
