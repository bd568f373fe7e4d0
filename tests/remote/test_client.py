"""``etcdlite.connect()``: the Store's KV and lease calls over etcd's gRPC API, etcd's errors
as etcdlite's exceptions, deadlines, and a clean close."""

from __future__ import annotations

import inspect
import socket
import threading
import time
from typing import TYPE_CHECKING

import grpc
import pytest

import etcdlite
from etcdlite import Compare, Op
from etcdlite.errors import (
    CompactedError,
    EmptyKeyError,
    FutureRevisionError,
    LeaseNotFoundError,
    StoppedError,
)
from etcdlite.remote import Client, RemoteError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from etcdlite._protocols import Client as ClientProtocol

RECEIVE = 10.0


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A 127.0.0.1 port that accepts connections and never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield s.getsockname()[1]


def test_connect_is_exported_lazily() -> None:
    """``etcdlite.connect`` is the remote package's, loaded on first use."""
    assert etcdlite.connect is etcdlite.remote.connect
    assert isinstance(etcdlite.connect("127.0.0.1:1"), Client)


@pytest.mark.parametrize(
    ("endpoints", "match"),
    [
        ("https://127.0.0.1:2379", "only http://"),
        ("http://127.0.0.1", "host and a port"),
        ([], "at least one endpoint"),
        (" , ", "at least one endpoint"),
    ],
    ids=["tls", "no-port", "none", "blank"],
)
def test_connect_refuses_what_is_not_built(endpoints: str | list[str], match: str) -> None:
    """TLS, a URL without a port and no endpoint at all are refused with a ValueError
    saying so, not ignored."""
    with pytest.raises(ValueError, match=match):
        etcdlite.connect(endpoints)


def test_unreachable_endpoint_is_unavailable() -> None:
    """A call to a port nobody listens on raises RemoteError with status UNAVAILABLE."""
    with etcdlite.connect("127.0.0.1:1", timeout=RECEIVE) as client:
        with pytest.raises(RemoteError) as info:
            client.get("k")
        assert info.value.status is grpc.StatusCode.UNAVAILABLE


def test_every_call_has_a_deadline(silent_port: int) -> None:
    """A call to an endpoint that never answers ends at its timeout with DEADLINE_EXCEEDED."""
    with etcdlite.connect(f"127.0.0.1:{silent_port}", timeout=0.2) as client:
        with pytest.raises(RemoteError) as info:
            client.put("k", "v")
        assert info.value.status is grpc.StatusCode.DEADLINE_EXCEEDED


def test_closed_client_raises_stopped() -> None:
    """After close() (idempotent) every call raises StoppedError, as on a closed Store."""
    client = etcdlite.connect("127.0.0.1:1")
    client.close()
    client.close()
    assert client.closed
    for call in (lambda: client.get("k"), lambda: client.grant(10), lambda: client.watch("k")):
        with pytest.raises(StoppedError):
            call()


@pytest.mark.etcd
class TestOnEtcd:
    """Calls against a fresh real etcd 3.4."""

    def test_satisfies_the_recipes_protocol(self, client: Client) -> None:
        """The client is what :mod:`etcdlite.concurrency` needs (checked by mypy here)."""
        proto: ClientProtocol = client
        assert proto.put("k", "v").header.revision == 2

    def test_kv_calls(self, client: Client) -> None:
        """put, get, delete, txn, do and compact answer as the Store's."""
        assert client.revision == 1
        client.put("a", "1")
        assert client.put("a", "2", prev_kv=True).prev_kv is not None
        resp = client.txn([Compare.value("a") == "2"], [Op.put("b", "3"), Op.get("a")])
        assert resp.succeeded
        assert [kv.value for kv in client.get("", from_key=True).kvs] == [b"2", b"3"]
        deleted = client.do(Op.delete("a", prev_kv=True))
        assert [kv.value for kv in deleted.prev_kvs] == [b"2"]  # type: ignore[union-attr]
        assert client.compact(3).header.revision == 5
        assert client.header.revision == 5

    @pytest.mark.parametrize(
        ("call", "error"),
        [
            (lambda c: c.put("", "v"), EmptyKeyError),
            (lambda c: c.get("k", revision=9), FutureRevisionError),
            (lambda c: c.compact(1) and c.compact(1), CompactedError),
            (lambda c: c.revoke(0x77), LeaseNotFoundError),
            (lambda c: c.keep_alive_once(0x77), LeaseNotFoundError),
        ],
        ids=["empty-key", "future", "compacted", "revoke-unknown", "keep-alive-unknown"],
    )
    def test_errors_are_etcdlites(self, client: Client, call: object, error: type) -> None:
        """etcd's error messages come back as the exception classes a Store raises."""
        with pytest.raises(error) as info:
            call(client)  # type: ignore[operator]
        assert type(info.value) is error
        assert str(info.value) == error.message  # type: ignore[attr-defined]

    def test_leases(self, client: Client) -> None:
        """grant, time_to_live with keys, leases, keep_alive_once and revoke."""
        lease = client.grant(60).id
        client.put("k", "v", lease=lease)
        ttl = client.time_to_live(lease, keys=True)
        assert (ttl.granted_ttl, ttl.keys) == (60, (b"k",))
        assert [s.id for s in client.leases().leases] == [lease]
        assert client.keep_alive_once(lease).ttl == 60
        client.revoke(lease)
        assert client.get("k").count == 0
        assert client.time_to_live(lease).ttl == -1

    def test_keep_alive_renews_until_the_lease_is_gone(self, client: Client) -> None:
        """keep_alive renews every third of the TTL; its stream ends once the lease is
        revoked."""
        lease = client.grant(1).id
        with client.keep_alive(lease) as ka:
            first, second = ka.receive(RECEIVE), ka.receive(RECEIVE)
            assert (first.id, second.id) == (lease, lease)
            client.revoke(lease)
            rest = list(ka.iter(RECEIVE))  # ends (EndOfStream) at the first failed renewal
            assert len(rest) <= 16  # what the stream buffers, at most
            assert ka.closed

    def test_lease_handle_revokes_on_exit(self, client: Client) -> None:
        """``client.lease(ttl)`` keeps a lease alive and revokes it when the block ends."""
        with client.lease(60) as lease:
            client.put("svc", "up", lease=lease.id)
            assert client.get("svc").count == 1
        assert client.get("svc").count == 0

    def test_close_leaves_no_thread(self, etcd_url: str) -> None:
        """close() stops keep-alives, watches and gRPC's stream threads: no thread the client
        started is left (polled for at most five seconds)."""
        before = set(threading.enumerate())
        client = etcdlite.connect(etcd_url)
        ka = client.keep_alive(client.grant(60).id)
        watch = client.watch("k")
        assert watch.receive(RECEIVE).created
        assert set(threading.enumerate()) - before  # the watch reader, the renewal timer, ...
        client.close()
        assert ka.closed
        deadline = time.monotonic() + 5.0
        while set(threading.enumerate()) - before and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not {t.name for t in set(threading.enumerate()) - before}


#: The calls a Store and a remote client both have.
SHARED_CALLS = [
    "put",
    "get",
    "delete",
    "txn",
    "do",
    "compact",
    "hash_kv",
    "grant",
    "revoke",
    "time_to_live",
    "leases",
    "keep_alive_once",
    "keep_alive",
    "lease",
    "watch",
    "history",
    "status",
    "defragment",
    "alarm_list",
    "alarm_activate",
    "alarm_disarm",
    "lock",
    "unlock",
    "campaign",
    "proclaim",
    "leader",
    "observe",
    "resign",
]


@pytest.mark.parametrize("name", SHARED_CALLS)
def test_signatures_match_the_store(name: str) -> None:
    """Each call takes the Store's parameters: same names, kinds and defaults."""

    def shape(fn: object) -> list[tuple[str, object, object]]:
        params = inspect.signature(fn).parameters.values()  # type: ignore[arg-type]
        return [(p.name, p.kind, p.default) for p in params]

    assert shape(getattr(Client, name)) == shape(getattr(etcdlite.Store, name))
