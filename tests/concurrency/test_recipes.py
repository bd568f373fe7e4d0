"""What etcd's recipes share (recipes ``key.go`` and ``client.go``): errors, unique and
sequential keys, the claim of a queue item, and the cleanup of an abandoned wait.

The recipes themselves are tested in ``test_barrier.py``, ``test_queue.py`` and
``test_rwmutex.py``.
"""

from __future__ import annotations

import time

import anyio
import pytest

import etcdlite.concurrency
from etcdlite import Store
from etcdlite.concurrency import _barrier, _queue, _recipes, _rwmutex
from etcdlite.concurrency._recipes import (
    KeyExistsError,
    RecipeError,
    TooManyClientsError,
    block,
    block_async,
    claim_step,
    put_new,
    put_sequential,
    put_unique,
)
from etcdlite.concurrency._wait import WaitFor
from etcdlite.errors import EtcdError, StoppedError

from ._recipe_util import BLOCKED, TIMEOUT, RacingStore, keys


@pytest.mark.parametrize(
    ("cls", "message"),
    [
        (KeyExistsError, "key already exists"),
        (TooManyClientsError, "too many clients"),
    ],
    ids=["key-exists", "too-many-clients"],
)
def test_errors_carry_etcds_messages(cls: type[RecipeError], message: str) -> None:
    """Each recipe error has the text of etcd's recipes package, and is client-side only."""
    err = cls()
    assert str(err) == cls.message == message
    assert isinstance(err, RecipeError)
    assert not isinstance(err, EtcdError)


@pytest.mark.parametrize(
    ("name", "module"),
    [
        ("Barrier", _barrier),
        ("DoubleBarrier", _barrier),
        ("Queue", _queue),
        ("PriorityQueue", _queue),
        ("RWMutex", _rwmutex),
        ("RecipeError", _recipes),
        ("KeyExistsError", _recipes),
        ("TooManyClientsError", _recipes),
    ],
)
def test_recipes_are_exported_from_concurrency(name: str, module: object) -> None:
    """etcdlite.concurrency re-exports each recipe name from its private module."""
    assert name in etcdlite.concurrency.__all__
    assert getattr(etcdlite.concurrency, name) is getattr(module, name)


def test_put_new_creates_only_an_absent_key() -> None:
    """putNewKV: the create revision on success; ErrKeyExists, and no write, if the key exists."""
    store = Store()
    lease = store.grant(60).id
    rev = put_new(store, b"k", b"v1", lease)
    kv = store.get("k").kvs[0]
    assert (rev, kv.create_revision, kv.value, kv.lease) == (2, 2, b"v1", lease)
    with pytest.raises(KeyExistsError):
        put_new(store, b"k", b"v2", 0)
    assert store.get("k").kvs[0] == kv
    assert store.revision == 2


def test_put_unique_writes_prefix_slash_nanoseconds() -> None:
    """newUniqueKV: the key is <prefix>/<decimal number>, created at the returned revision."""
    store = Store()
    key, rev = put_unique(store, b"jobs", b"x")
    prefix, number = key.split(b"/")
    assert prefix == b"jobs"
    assert number.isdigit()
    assert store.get(key).kvs[0].create_revision == rev


def test_put_unique_takes_the_next_number_while_the_clock_stands_still(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A taken key is never overwritten: with the clock stopped, the next free number is used."""
    store = Store()
    for n in (1000, 1001):
        store.put(f"p/{n}", "old")
    monkeypatch.setattr(time, "time_ns", lambda: 1000)
    key, _ = put_unique(store, b"p", b"new")
    assert key == b"p/1002"
    assert [kv.value for kv in store.get("p/", prefix=True).kvs] == [b"old", b"old", b"new"]


def test_put_sequential_numbers_from_zero_with_a_bookkeeping_key() -> None:
    """newSequentialKV: <prefix>/%016d one past the last key, and __<prefix> rewritten each time."""
    store = Store()
    got = [put_sequential(store, b"q/00001", v)[0] for v in (b"a", b"b", b"c")]
    assert got == [b"q/00001/%016d" % n for n in range(3)]
    assert store.get("__q/00001").kvs[0].version == 3


def test_put_sequential_retries_when_another_allocation_slips_in() -> None:
    """A concurrent allocation between the read and the txn makes the first one read again."""
    store = RacingStore()
    # the hook runs just before our allocation's txn, after its read saw no keys
    store.hooks["txn", 1] = lambda: put_sequential(store, b"s", b"other")
    key, _ = put_sequential(store, b"s", b"ours")
    assert key == b"s/0000000000000001"
    assert [kv.value for kv in store.get("s/", prefix=True).kvs] == [b"other", b"ours"]


def test_put_sequential_refuses_a_non_numeric_last_key() -> None:
    """A last key that does not end in a number is an error, not a silent restart at 0."""
    store = Store()
    store.put("s/zzz", "")
    with pytest.raises(ValueError, match="not a sequential key"):
        put_sequential(store, b"s", b"v")


def test_claim_step_takes_the_first_item_and_deletes_it() -> None:
    """claimFirstKey: the first by the sort target is returned and gone from the store."""
    store = Store()
    store.put("q/b", "put first")
    store.put("q/a", "put second")
    assert claim_step(store, b"q/", b"q0", "mod")() == b"put first"
    assert claim_step(store, b"q/", b"q0", "key")() == b"put second"
    assert keys(store, "q/") == []


def test_claim_step_on_an_empty_range_waits_from_the_read_revision() -> None:
    """An empty range gives a WaitFor of that range at the revision read."""
    store = Store()
    store.put("other", "")
    assert claim_step(store, b"q/", b"q0", "mod")() == WaitFor(b"q/", b"q0", 2)


def test_claim_step_that_loses_the_race_takes_the_next_item() -> None:
    """deleteRevKey: when another consumer takes the item first, the guard fails and the step
    claims the next one; each item goes to one consumer."""
    store = RacingStore()
    store.put("q/1", "one")
    store.put("q/2", "two")
    taken: list[bytes | WaitFor] = []
    store.hooks["txn", 1] = lambda: taken.append(claim_step(store, b"q/", b"q0", "mod")())
    assert claim_step(store, b"q/", b"q0", "mod")() == b"two"
    assert taken == [b"one"]


def test_block_abandons_on_timeout_and_keeps_the_timeout() -> None:
    """A failed wait runs its cleanup, and a cleanup error does not replace the wait's error."""
    store = Store()
    store.put("gate", "")
    calls: list[str] = []

    def abandon() -> None:
        calls.append("abandon")
        raise StoppedError()

    def step() -> WaitFor | None:
        return WaitFor(b"gate", None, store.revision)

    with pytest.raises(TimeoutError):
        block(store, step, BLOCKED, abandon)
    assert calls == ["abandon"]


def test_block_does_not_abandon_a_wait_that_succeeds() -> None:
    """The cleanup runs only when the wait fails."""
    store = Store()
    calls: list[str] = []
    assert block(store, lambda: "done", TIMEOUT, lambda: calls.append("abandon")) == "done"
    assert calls == []


@pytest.mark.anyio
async def test_block_async_abandons_on_cancellation() -> None:
    """A cancelled task runs the cleanup before the cancellation propagates."""
    store = Store()
    store.put("gate", "")
    calls: list[str] = []

    def step() -> WaitFor | None:
        return WaitFor(b"gate", None, store.revision)

    with anyio.move_on_after(BLOCKED) as scope:
        await block_async(store, step, lambda: calls.append("abandon"))
    assert scope.cancelled_caught
    assert calls == ["abandon"]
