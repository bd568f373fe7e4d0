"""The :mod:`etcdlite.concurrency` recipes on ``connect()`` to a real etcd, as on a Store.

Each scenario runs twice, through the ``client`` fixture: on an in-process Store and on
``etcdlite.connect()`` to a fresh etcd 3.4, with the same code and the same assertions (the
recipes are written against :mod:`etcdlite._protocols`, which both satisfy). None needs a
FakeClock; every wait is bounded.
"""

from __future__ import annotations

import concurrent.futures
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, cast

import anyio
import pytest
from conformance._etcd import running_etcd

import etcdlite
from etcdlite import Op, Store
from etcdlite.concurrency import Election, Mutex, Session, stm

if TYPE_CHECKING:
    from collections.abc import Iterator

    from etcdlite._protocols import Client as ClientProtocol
    from etcdlite.concurrency import STM

TIMEOUT = 10.0
BLOCKED = 0.1


@pytest.fixture(
    params=[pytest.param("store", id="store"), pytest.param("remote", marks=pytest.mark.etcd)]
)
def client(request: pytest.FixtureRequest) -> Iterator[ClientProtocol]:
    """A Store, or ``connect()`` to a fresh real etcd (both closed when the test ends)."""
    if request.param == "store":
        with Store() as store:
            yield store
        return
    with running_etcd() as proc, etcdlite.connect(proc.url) as remote:
        yield remote


def _blocked(fut: concurrent.futures.Future[object]) -> bool:
    try:
        fut.result(timeout=BLOCKED)
    except concurrent.futures.TimeoutError:
        return True
    return False


def test_session_keys_go_with_the_session(client: ClientProtocol) -> None:
    """A key written with the session's lease is deleted when the session closes."""
    with Session(client, ttl=10) as session:
        client.put("workers/1", "up", lease=session.lease)
        assert client.get("workers/1").count == 1
        assert not session.done()
    assert client.get("workers/1").count == 0
    assert session.done()


def test_mutex_second_locker_waits_for_the_first(client: ClientProtocol) -> None:
    """A second locker blocks until the holder unlocks; then the first one's fenced writes
    fail and the second one's succeed."""
    with (
        ThreadPoolExecutor(2) as pool,
        Session(client, ttl=10) as s1,
        Session(client, ttl=10) as s2,
    ):
        m1, m2 = Mutex(s1, "lock"), Mutex(s2, "lock")
        m1.lock(TIMEOUT)
        fut = pool.submit(m2.lock, TIMEOUT)
        assert _blocked(cast("concurrent.futures.Future[object]", fut))
        assert client.txn([m1.is_owner()], [Op.put("guarded", "m1")]).succeeded
        m1.unlock()
        fut.result(timeout=TIMEOUT)
        assert client.txn([m2.is_owner()], [Op.put("guarded", "m2")]).succeeded
        assert not client.txn([m1.is_owner()], [Op.put("guarded", "m1")]).succeeded
        m2.unlock()
    assert client.get("guarded").kvs[0].value == b"m2"


@pytest.mark.anyio
async def test_mutex_from_async_code(client: ClientProtocol) -> None:
    """``alock`` waits in a task (asyncio and trio) until the holder unlocks."""
    with Session(client, ttl=10) as s1, Session(client, ttl=10) as s2:
        m1, m2 = Mutex(s1, "lock"), Mutex(s2, "lock")
        m1.lock(TIMEOUT)
        acquired = anyio.Event()

        async def second() -> None:
            await m2.alock()
            acquired.set()

        with anyio.fail_after(TIMEOUT):
            async with anyio.create_task_group() as tg:
                tg.start_soon(second)
                await anyio.sleep(BLOCKED)
                assert not acquired.is_set()
                await anyio.to_thread.run_sync(m1.unlock)
                await acquired.wait()
        m2.unlock()


def test_election_leadership_passes_on_resign(client: ClientProtocol) -> None:
    """The first candidate leads and proclaims; the second waits, and leads after a resign."""
    with (
        ThreadPoolExecutor(2) as pool,
        Session(client, ttl=10) as s1,
        Session(client, ttl=10) as s2,
    ):
        e1, e2 = Election(s1, "job"), Election(s2, "job")
        e1.campaign("one", TIMEOUT)
        assert e1.leader().kv.value == b"one"
        fut = pool.submit(e2.campaign, "two", TIMEOUT)
        assert _blocked(cast("concurrent.futures.Future[object]", fut))
        e1.proclaim("one again")
        assert e2.leader().kv.value == b"one again"
        e1.resign()
        fut.result(timeout=TIMEOUT)
        assert e1.leader().kv.value == b"two"


def test_election_observe_sees_each_leader_value(client: ClientProtocol) -> None:
    """An observer sees the leader's value, then each proclaimed one."""
    with Session(client, ttl=10) as session:
        election = Election(session, "obs")
        election.campaign("a", TIMEOUT)
        with election.observe() as observer:
            assert observer.receive(TIMEOUT).kv.value == b"a"
            election.proclaim("b")
            assert observer.receive(TIMEOUT).kv.value == b"b"
        election.resign()


def test_stm_counter_has_no_lost_update(client: ClientProtocol) -> None:
    """Concurrent STM increments of one counter all count (serializable snapshot isolation)."""
    client.put("counter", "0")

    def increment(s: STM) -> None:
        s.put("counter", str(int(s.get("counter")) + 1))

    def worker() -> None:
        for _ in range(10):
            stm(client, increment)

    with ThreadPoolExecutor(4) as pool:
        for fut in [pool.submit(worker) for _ in range(4)]:
            fut.result(timeout=TIMEOUT * 3)
    assert client.get("counter").kvs[0].value == b"40"
