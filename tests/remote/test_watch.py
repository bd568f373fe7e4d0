"""``Client.watch`` against a real etcd 3.4: the Store's watch, over one shared gRPC stream
(resuming after a restart is in ``test_restart.py``)."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

import anyio
import pytest

import etcdlite

if TYPE_CHECKING:
    from etcdlite import Event, WatchResponse
    from etcdlite.remote import Client
    from etcdlite.remote._watch import RemoteWatch

pytestmark = pytest.mark.etcd

#: Bound on waiting for one response.
RECEIVE = 10.0


def events_until(w: RemoteWatch, until: int, timeout: float = 20.0) -> list[Event]:
    """Events of ``w`` until one at revision ``until`` came (bounded in time)."""
    deadline = time.monotonic() + timeout
    events: list[Event] = []
    while not events or events[-1].kv.mod_revision < until:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no event at {until} in {timeout} s: {events}"
        resp = w.receive(remaining)
        assert not resp.canceled, resp
        events.extend(resp.events)
    return events


def test_created_events_and_cancel(client: Client) -> None:
    """A watch says created, then delivers puts and deletes with prev_kv; cancel ends it."""
    client.put("k", "v0")
    w = client.watch("k", prev_kv=True)
    created = w.receive(RECEIVE)
    assert (created.created, created.watch_id, created.header.revision) == (True, 0, 2)
    client.put("k", "v1")
    client.delete("k")
    got = [
        (e.type.name, e.kv.mod_revision, e.prev_kv and e.prev_kv.value) for e in events_until(w, 4)
    ]
    assert got == [("PUT", 3, b"v0"), ("DELETE", 4, b"v1")]
    w.cancel()
    last = w.receive(RECEIVE)
    assert (last.canceled, last.watch_id) == (True, 0)
    with pytest.raises(anyio.EndOfStream):
        w.receive(RECEIVE)


def test_same_responses_as_a_store(client: Client) -> None:
    """A replay from a past revision gives the events a Store's watch gives, in the same shape."""
    store = etcdlite.Store()
    for backend in (store, client):
        backend.put("a/1", "x")
        backend.put("b", "y")
        backend.put("a/2", "z")
        backend.delete("a/1")
    expected = store.watch("a/", prefix=True, start_revision=2).iter(RECEIVE)
    got = client.watch("a/", prefix=True, start_revision=2)
    want = [next(expected), next(expected)]
    assert want[0].created
    assert [(r.created, r.watch_id) for r in (got.receive(RECEIVE),)] == [(True, 0)]
    events = events_until(got, 5)
    assert events == list(want[1].events)
    store.close()


def test_watches_share_one_stream(client: Client) -> None:
    """Several watches are multiplexed on one gRPC stream; each gets only its own events."""
    wa = client.watch("a")
    wb = client.watch("b", watch_id=7)
    assert wa.receive(RECEIVE).created
    assert wb.receive(RECEIVE).watch_id == 7
    client.put("a", "1")
    client.put("b", "2")
    client.put("a", "3")
    assert [e.kv.value for e in events_until(wa, 4)] == [b"1", b"3"]
    assert [e.kv.value for e in events_until(wb, 3)] == [b"2"]
    assert client._watches.streams_opened == 1


def test_compacted_start_is_reported(client: Client) -> None:
    """A watch from below the compaction is created, then canceled with compact_revision."""
    for i in range(4):
        client.put("k", str(i))
    client.compact(4)
    w = client.watch("k", start_revision=2)
    assert w.receive(RECEIVE).created
    last = w.receive(RECEIVE)
    assert (last.canceled, last.compact_revision) == (True, 4)
    with pytest.raises(anyio.EndOfStream):
        w.receive(RECEIVE)


@pytest.mark.anyio
async def test_async_receive(client: Client) -> None:
    """A remote watch is read with ``async for`` under asyncio and trio, as a Store's."""
    w = client.watch("k")
    got: list[WatchResponse] = []
    with anyio.fail_after(RECEIVE):
        async for resp in w:
            got.append(resp)
            if resp.created:
                await anyio.to_thread.run_sync(client.put, "k", "v")
            else:
                break
    assert [e.kv.value for e in got[1].events] == [b"v"]
    w.cancel()


def test_close_ends_watches_and_threads(etcd_url: str) -> None:
    """close() ends every watch's stream and leaves no thread of the client behind."""
    client = etcdlite.connect(etcd_url)
    w = client.watch("k")
    assert w.receive(RECEIVE).created
    client.close()
    with pytest.raises(anyio.EndOfStream):
        w.receive(RECEIVE)
    names = [t.name for t in threading.enumerate()]
    assert "etcdlite-remote-watch" not in names
