"""A tour of etcdlite serve through a real etcd client: python-etcd3, operation by operation.

The script starts ``python -m etcdlite serve`` on a free 127.0.0.1 port, as a subprocess, then
talks to it with python-etcd3 (``pip install etcd3``), exactly as it would talk to etcd: KV,
ranges, transactions, compaction and its errors, a watch, leases, a lock, and the cluster and
maintenance calls. Then it stops the server.

Why a subprocess: python-etcd3 and etcdlite's server each register their own copy of etcd's
``rpc.proto`` with protobuf, so the two cannot be imported in one process. This script never
imports etcdlite; the server runs in its own process, as a real etcd would.

Needs ``pip install -e '.[grpc]' etcd3``. Run it: ``python examples/tour_etcd3.py`` (a few
seconds).
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator

#: Every wait for the server or an event is bounded by this many seconds.
WAIT = 10.0


@contextmanager
def etcdlite_serve() -> Iterator[tuple[str, int]]:
    """``etcdlite serve`` on a port the system picks: (host, port) until the block ends."""
    server = subprocess.Popen(
        [sys.executable, "-m", "etcdlite", "serve", "--listen-client-urls=http://127.0.0.1:0"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()  # printed once it listens; "" if it failed to start
        found = re.search(r"http://(127\.0\.0\.1):(\d+)", line)
        assert found, f"etcdlite serve did not start: {line!r}"
        print("server        ->", line.strip())
        yield found.group(1), int(found.group(2))
    finally:
        server.send_signal(signal.SIGTERM)  # etcdlite serve stops cleanly on SIGTERM
        try:
            server.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    print("server        -> stopped, exit status", server.returncode)


def tour(host: str, port: int) -> None:
    # python-etcd3 0.12's generated modules predate protobuf 4: they need the pure-Python
    # implementation, chosen before protobuf is first imported.
    os.environ["PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION"] = "python"
    import etcd3  # type: ignore[import-untyped]
    import grpc

    client = etcd3.client(host=host, port=port, timeout=WAIT)
    tx = client.transactions

    # KV: put, get, prefix reads, delete.
    client.put("config/db/host", "10.0.0.5")
    client.put("config/db/port", "5432")
    value, meta = client.get("config/db/host")
    print("get           ->", value.decode(), "| mod_revision", meta.mod_revision)
    keys = [m.key.decode() for _, m in client.get_prefix("config/")]
    print("get_prefix    ->", keys)
    client.put("tmp/1", "x")
    print("delete        ->", client.delete("tmp/1"), "| again:", client.delete("tmp/1"))

    # Transactions: compare-and-swap, and put-if-absent.
    ok, _ = client.transaction(
        compare=[tx.value("config/db/host") == "10.0.0.5"],
        success=[tx.put("config/db/host", "10.0.0.6")],
        failure=[],
    )
    print("txn (CAS)     -> succeeded:", ok)
    print("put_if_absent ->", client.put_if_not_exists("config/db/host", "other"))

    # History: a read at an old revision, then compaction. (python-etcd3 0.12's get helpers
    # drop revision=, so this read goes through its own gRPC stub.)
    from etcd3 import etcdrpc

    first = meta.mod_revision  # the revision of the first put of config/db/host
    past = client.kvstub.Range(etcdrpc.RangeRequest(key=b"config/db/host", revision=first), WAIT)
    print("get at rev", first, "->", past.kvs[0].value.decode())
    current = past.header.revision
    client.compact(current)
    try:
        client.kvstub.Range(etcdrpc.RangeRequest(key=b"config/db/host", revision=first), WAIT)
    except grpc.RpcError as exc:  # etcd's error, through gRPC
        print("after compact ->", exc.details())

    # Watch: events written by the client arrive in order on a callback.
    events: queue.Queue[Any] = queue.Queue()
    watch_id = client.add_watch_prefix_callback("config/", events.put)
    client.put("config/db/port", "6432")
    client.delete("config/db/port")
    for _ in range(2):
        got = events.get(timeout=WAIT)
        for event in got.events:
            print("watch         ->", type(event).__name__, event.key.decode())
    client.cancel_watch(watch_id)

    # Leases: grant, attach a key, time to live, refresh, revoke (deleting the key).
    lease = client.lease(30)
    client.put("services/api/1", "10.0.0.1:80", lease=lease)
    print("lease         -> ttl", lease.remaining_ttl, "| keys", [k.decode() for k in lease.keys])
    lease.refresh()
    lease.revoke()
    print("after revoke  ->", client.get("services/api/1")[0])

    # A lock (python-etcd3's own recipe, over KV and leases).
    with client.lock("jobs/nightly", ttl=10) as lock:
        print("lock          -> held:", lock.is_acquired())

    # Cluster and maintenance.
    members = list(client.members)
    print("members       ->", [(m.name, m.client_urls) for m in members])
    status = client.status()
    print("status        -> leader is member", status.leader.id == members[0].id)
    print("alarms        ->", list(client.list_alarms()))
    client.defragment()
    print("defragment    -> ok")

    # python-etcd3 0.12's watch thread never ends: once the client is closed it fails with
    # "Channel closed" (a known quirk of the client, not of the server). Silence that one.
    default_hook = threading.excepthook

    def quiet_watch_thread(args: threading.ExceptHookArgs) -> None:
        thread = args.thread.name if args.thread else ""
        if not (thread.startswith("etcd3_watch") and args.exc_type is ValueError):
            default_hook(args)

    threading.excepthook = quiet_watch_thread
    client.close()


def main() -> None:
    with etcdlite_serve() as (host, port):
        tour(host, port)


if __name__ == "__main__":
    main()
