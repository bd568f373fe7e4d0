"""The etcd process restarts under a client (same data dir, same port): watches resume with
every event exactly once, and sessions stay alive through it."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest

import etcdlite
from etcdlite.concurrency import Session
from etcdlite.remote import RemoteError

from ._node import etcd_node
from .test_watch import RECEIVE, events_until

if TYPE_CHECKING:
    from collections.abc import Callable

pytestmark = pytest.mark.etcd

#: Session TTL: renewals every second, so one falls in the downtime below.
TTL = 3
#: How long etcd stays down: longer than a renewal period (TTL / 3), shorter than the TTL.
DOWN = 1.5


def _retry(fn: Callable[[], object], timeout: float = 20.0) -> None:
    """``fn()`` until the endpoint answers again (bounded: at most ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    for _ in range(1000):
        try:
            fn()
            return
        except RemoteError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    raise AssertionError("unreachable: the loop is bounded by the deadline")


def test_restart_mid_watch_delivers_every_event_once() -> None:
    """etcd stops and starts again with writes before and after: the watch resumes from the
    revision after the last it delivered, losing and repeating none."""
    with etcd_node() as node, etcdlite.connect(node.url) as client:
        w = client.watch("k/", prefix=True, prev_kv=True)
        assert w.receive(RECEIVE).created
        for i in range(5):
            client.put(f"k/{i}", str(i))
        client.put("other", "x")  # revision 7, outside the watch
        seen = events_until(w, 3)  # read part of it before the restart
        node.stop()
        node.start()
        _retry(lambda: client.put("k/5", "5"))  # the first answer after the restart
        for i in range(6, 10):
            client.put(f"k/{i}", str(i))
        seen += events_until(w, 12)
        assert [e.kv.mod_revision for e in seen] == [2, 3, 4, 5, 6, 8, 9, 10, 11, 12]
        assert [e.kv.value for e in seen] == [str(i).encode() for i in range(10)]
        assert client._watches.streams_opened >= 2
        w.cancel()


def test_session_survives_a_restart() -> None:
    """A renewal that finds etcd down is retried, so the session is not over when etcd comes
    back; its key is still there and renewals go on."""
    with etcd_node() as node, etcdlite.connect(node.url, timeout=RECEIVE) as client:
        with Session(client, ttl=TTL) as session:
            client.put("member", "up", lease=session.lease)
            node.stop()
            time.sleep(DOWN)  # at least one renewal falls in the downtime
            node.start()
            _retry(lambda: client.get("member"))
            assert not session.done()
            assert client.get("member").count == 1
            time.sleep(TTL / 3 + 0.5)  # a renewal after the restart
            assert not session.done()
            assert client.time_to_live(session.lease).ttl > 0
        assert client.get("member").count == 0


def test_lost_lease_ends_the_session() -> None:
    """When etcd no longer has the lease (revoked elsewhere), the next renewal ends the
    session: a lost lease is reported as on a Store."""
    with etcd_node() as node, etcdlite.connect(node.url) as client:
        session = Session(client, ttl=TTL)
        with etcdlite.connect(node.url) as other:
            other.revoke(session.lease)
        session.wait_done(RECEIVE)
        assert session.done()
        session.close()
