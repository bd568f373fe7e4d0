"""The lock, election, maintenance and cluster calls of ``connect()`` against a real etcd 3.4
(one member): the Store's names and answers, over etcd's own services."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

import anyio
import pytest

import etcdlite
from etcdlite import AlarmType, LeaderKey, ResponseHeader
from etcdlite.errors import (
    ElectionNoLeaderError,
    ElectionNotLeaderError,
    LeaseNotFoundError,
    MemberNotFoundError,
    MemberNotLearnerError,
    NoSpaceError,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from etcdlite.remote import Client

pytestmark = pytest.mark.etcd

#: Bound on every wait.
WAIT = 10.0


def _eventually(check: Callable[[], bool]) -> bool:
    """Whether ``check()`` holds within :data:`WAIT` seconds."""
    deadline = time.monotonic() + WAIT
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_lock_waits_for_unlock(client: Client) -> None:
    """Lock gives ``name/<lease hex>``; a second lock waits until the first is unlocked; a
    timed-out lock raises TimeoutError and etcd withdraws its waiting key (just after)."""
    a, b = client.grant(60).id, client.grant(60).id
    held = client.lock("jobs", lease=a)
    assert held.key == f"jobs/{a:x}".encode()
    with pytest.raises(TimeoutError):
        client.lock("jobs", lease=b, timeout=0.5)
    assert _eventually(lambda: client.get("jobs/", prefix=True).count == 1)
    got: list[bytes] = []
    waiter = threading.Thread(target=lambda: got.append(client.lock("jobs", lease=b).key))
    waiter.start()
    client.unlock(held.key)
    waiter.join(WAIT)
    assert got == [f"jobs/{b:x}".encode()]
    client.unlock(got[0])
    assert client.get("jobs/", prefix=True).count == 0


def test_lock_with_unknown_lease(client: Client) -> None:
    """An unknown lease is etcd's "requested lease not found"."""
    with pytest.raises(LeaseNotFoundError):
        client.lock("jobs", lease=0x1234)


def test_election_campaign_proclaim_observe_resign(client: Client) -> None:
    """A campaign wins a LeaderKey; proclaim changes the value observers see; resign ends
    the leadership, after which proclaim is refused."""
    with pytest.raises(ElectionNoLeaderError):
        client.leader("db")
    lease = client.grant(60).id
    won = client.campaign("db", "node-1", lease=lease)
    assert won.leader == LeaderKey(b"db", f"db/{lease:x}".encode(), won.header.revision, lease)
    with client.observe("db") as leaders:
        assert leaders.receive(WAIT).kv.value == b"node-1"
        client.proclaim(won.leader, "node-1b")
        assert leaders.receive(WAIT).kv.value == b"node-1b"
    assert client.leader("db").kv.value == b"node-1b"
    client.resign(won.leader)
    with pytest.raises(ElectionNotLeaderError):
        client.proclaim(won.leader, "late")


def test_campaign_timeout(client: Client) -> None:
    """A second candidate that is not elected within its timeout raises TimeoutError."""
    client.campaign("db", "first", lease=client.grant(60).id)
    with pytest.raises(TimeoutError):
        client.campaign("db", "second", lease=client.grant(60).id, timeout=0.5)
    assert client.leader("db").kv.value == b"first"


def test_status_and_defragment(client: Client) -> None:
    """Status reports etcd's version and this member as leader; defragment answers with an
    empty header (etcd 3.4 sends none) and the member goes on serving."""
    s = client.status()
    assert s.version.startswith("3.")
    assert s.leader == s.header.member_id != 0
    assert s.db_size > 0
    assert client.defragment().header == ResponseHeader()
    assert client.put("k", "v").header.member_id == s.header.member_id


def test_alarms(client: Client) -> None:
    """A NOSPACE alarm raised for this member refuses puts until disarmed; disarming with no
    arguments disarms every raised alarm."""
    member = client.status().header.member_id
    raised = client.alarm_activate("NOSPACE")
    assert [(a.member_id, a.alarm) for a in raised.alarms] == [(member, AlarmType.NOSPACE)]
    assert [a.alarm for a in client.alarm_list().alarms] == [AlarmType.NOSPACE]
    with pytest.raises(NoSpaceError):
        client.put("k", "v")
    assert [a.alarm for a in client.alarm_disarm().alarms] == [AlarmType.NOSPACE]
    assert client.alarm_list().alarms == ()
    assert client.put("k", "v").header.revision == 2


def test_member_list_and_refusals(client: Client, etcd_url: str) -> None:
    """One member with the client URL it was started with; promoting a voting member or
    removing an unknown one is refused with etcd's errors."""
    members = client.member_list().members
    assert len(members) == 1
    (me,) = members
    assert me.client_urls == (etcd_url,)
    assert not me.is_learner
    with pytest.raises(MemberNotLearnerError):
        client.member_promote(me.id)
    with pytest.raises(MemberNotFoundError):
        client.member_remove(me.id + 1)
    updated = client.member_update(me.id, me.peer_urls)
    assert [m.peer_urls for m in updated.members] == [me.peer_urls]


def test_close_ends_observers(etcd_url: str) -> None:
    """Closing the client ends its observers' streams and their reader threads."""
    client = etcdlite.connect(etcd_url)
    observer = client.observe("db")
    client.close()
    with pytest.raises(anyio.EndOfStream):
        observer.receive(WAIT)
    assert "etcdlite-remote-observe" not in [t.name for t in threading.enumerate()]
