"""``etcdlite.mirror`` (clientv3 ``mirror.Syncer``): a paged copy at a pinned revision, then a
watch from the next revision that brings the copy exactly up to date."""

from __future__ import annotations

import random
import threading
from typing import TYPE_CHECKING, Any

import anyio
import pytest

from etcdlite import EventType, Store
from etcdlite.errors import CompactedError
from etcdlite.mirror import BATCH_LIMIT, Syncer
from etcdlite.namespace import Namespace

if TYPE_CHECKING:
    from collections.abc import Iterator

    from etcdlite import KeyValue, WatchResponse

TIMEOUT = 10.0


@pytest.fixture
def store() -> Iterator[Store]:
    with Store() as s:
        yield s


def _state(store: Store, prefix: str, revision: int = 0) -> dict[bytes, KeyValue]:
    return {kv.key: kv for kv in store.get(prefix, prefix=True, revision=revision).kvs}


def _apply(copy: dict[bytes, KeyValue], resp: WatchResponse) -> None:
    for e in resp.events:
        if e.type is EventType.PUT:
            copy[e.kv.key] = e.kv
        else:
            del copy[e.kv.key]  # a delete of a key the copy lacks would be a bug


def _catch_up(copy: dict[bytes, KeyValue], w: Any, revision: int) -> list[int]:
    """Apply w's events up to a progress notification at or past ``revision``."""
    revs: list[int] = []
    w.request_progress()
    for resp in w.iter(timeout=TIMEOUT):
        if resp.is_progress_notify and resp.header.revision >= revision:
            return revs
        revs.extend(e.kv.mod_revision for e in resp.events)
        _apply(copy, resp)
    raise AssertionError("the watch ended")


def test_base_sync_of_many_keys_while_writes_continue_then_updates_catch_up(
    store: Store,
) -> None:
    """2,500 keys copy in pages of 1,000 at the pinned revision despite concurrent writes; the
    watch from revision + 1 then reproduces the final state exactly."""
    rng = random.Random(7)
    keys = [f"m/{i:05}" for i in range(2500)]
    for k in keys:
        store.put(k, "v0")
    for k in ("l", "m", "m0", "n/1"):
        store.put(k, "outside")
    pinned = _state(store, "m/")
    syncer = Syncer(store, "m/")
    pages = syncer.sync_base()
    rev = syncer.revision
    assert rev == store.revision

    stop = threading.Event()

    def writer() -> None:
        w = random.Random(8)
        while not stop.is_set():
            k = w.choice(keys)
            if w.random() < 0.2:
                store.delete(k)
            else:
                store.put(k, f"t{w.random()}")
            store.put(f"n/{w.randrange(100)}", "outside")

    thread = threading.Thread(target=writer)
    thread.start()
    copy: dict[bytes, KeyValue] = {}
    sizes = []
    try:
        for page in pages:
            sizes.append(len(page.kvs))
            assert page.header.revision >= rev
            copy.update((kv.key, kv) for kv in page.kvs)
            # Between pages: change keys already copied and keys still to come, add and delete.
            for _ in range(50):
                k = rng.choice(keys)
                if rng.random() < 0.3:
                    store.delete(k)
                else:
                    store.put(k, f"p{rng.random()}")
            store.put(f"m/new{rng.randrange(10**6)}", "new")
            store.put("m0", "outside")
    finally:
        stop.set()
        thread.join(TIMEOUT)
    assert sizes == [1000, 1000, 500]
    assert copy == pinned  # exactly the state at the pinned revision
    assert store.revision > rev + 150

    with syncer.sync_updates() as w:
        assert w.receive(timeout=TIMEOUT).created
        revs = _catch_up(copy, w, store.revision)
    assert revs == sorted(revs)
    assert revs[0] == rev + 1  # the first write after the pin is the first event
    assert copy == _state(store, "m/")


@pytest.mark.parametrize(
    ("count", "batch_limit", "sizes"),
    [
        (0, BATCH_LIMIT, [0]),
        (1, BATCH_LIMIT, [1]),
        (1000, BATCH_LIMIT, [1000]),
        (1001, BATCH_LIMIT, [1000, 1]),
        (5, 2, [2, 2, 1]),
        (4, 2, [2, 2]),
    ],
    ids=["empty", "one", "exactly-a-page", "one-over", "small-pages", "exact-small"],
)
def test_pages_are_at_most_batch_limit_in_key_order(
    store: Store, count: int, batch_limit: int, sizes: list[int]
) -> None:
    """Pages hold batch_limit keys (1000 by default), in key order; only the last has more=False."""
    for i in range(count):
        store.put(f"p/{i:05}", "v")
    store.put("q", "outside")
    pages = list(Syncer(store, "p/", batch_limit=batch_limit).sync_base())
    assert [len(p.kvs) for p in pages] == sizes
    assert [p.more for p in pages] == [True] * (len(sizes) - 1) + [False]
    keys = [kv.key for p in pages for kv in p.kvs]
    assert keys == [f"p/{i:05}".encode() for i in range(count)]


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("", [b"\0", b"a", b"m/1", b"m0", b"\xff", b"\xff\xff"]),
        ("m/", [b"m/1"]),
        (b"\xff", [b"\xff", b"\xff\xff"]),
    ],
    ids=["whole-keyspace", "prefix", "all-ff-prefix"],
)
def test_prefix_selects_the_keys_synced_and_watched(
    store: Store, prefix: str | bytes, expected: list[bytes]
) -> None:
    """An empty prefix syncs every key (from "\\0"); others their prefix; updates match."""
    for k in (b"\0", b"a", b"m/1", b"m0", b"\xff", b"\xff\xff"):
        store.put(k, "v")
    syncer = Syncer(store, prefix, batch_limit=2)
    assert [kv.key for p in syncer.sync_base() for kv in p.kvs] == expected
    with syncer.sync_updates() as w:
        assert w.receive(timeout=TIMEOUT).created
        for k in (b"\0", b"a", b"m/1", b"m0", b"\xff", b"\xff\xff"):
            store.put(k, "again")
        copy: dict[bytes, KeyValue] = {}
        _catch_up(copy, w, store.revision)
    assert sorted(copy) == expected


def test_an_explicit_revision_copies_the_past_and_replays_from_it(store: Store) -> None:
    """Syncer(c, prefix, rev) reads at rev, and its updates replay every change since."""
    old = store.put("m/a", "1").header.revision
    store.put("m/a", "2")
    store.put("m/b", "1")
    store.delete("m/a")
    syncer = Syncer(store, "m/", old)
    copy = {kv.key: kv for p in syncer.sync_base() for kv in p.kvs}
    assert {k: kv.value for k, kv in copy.items()} == {b"m/a": b"1"}
    with syncer.sync_updates() as w:
        assert w.receive(timeout=TIMEOUT).created
        revs = _catch_up(copy, w, store.revision)
    assert revs == [old + 1, old + 2, old + 3]
    assert copy == _state(store, "m/")


def test_revision_is_pinned_when_sync_base_is_called(store: Store) -> None:
    """With revision 0, the store's revision at the call is pinned, before any page is read."""
    store.put("m/a", "1")
    syncer = Syncer(store, "m/")
    assert syncer.revision == 0
    pages = syncer.sync_base()
    assert syncer.revision == 2
    store.put("m/b", "1")
    assert [kv.key for p in pages for kv in p.kvs] == [b"m/a"]


def test_a_compacted_revision_fails_the_next_page_and_ends_the_watch(store: Store) -> None:
    """Compaction past the pinned revision raises CompactedError; the watch ends canceled."""
    for i in range(5):
        store.put(f"m/{i}", "v")
    syncer = Syncer(store, "m/", batch_limit=2)
    pages = syncer.sync_base()
    assert len(next(pages).kvs) == 2
    store.put("m/0", "new")
    store.put("m/1", "new")
    store.compact(store.revision)  # past revision + 1, where the updates would start
    with pytest.raises(CompactedError):
        next(pages)
    with syncer.sync_updates() as w:
        resp = w.receive(timeout=TIMEOUT)
        while not resp.canceled:
            resp = w.receive(timeout=TIMEOUT)
    assert resp.compact_revision == store.revision


def test_sync_updates_needs_a_revision(store: Store) -> None:
    """sync_updates before sync_base raises RuntimeError (clientv3 panics)."""
    with pytest.raises(RuntimeError, match="sync_base"):
        Syncer(store, "m/").sync_updates()


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"prefix": 1}, TypeError),
        ({"revision": "1"}, TypeError),
        ({"revision": -1}, ValueError),
        ({"batch_limit": 0}, ValueError),
        ({"batch_limit": True}, TypeError),
    ],
    ids=["prefix-type", "revision-type", "revision-negative", "limit-zero", "limit-bool"],
)
def test_bad_arguments_are_refused(store: Store, kwargs: dict[str, Any], error: type) -> None:
    """Arguments of the wrong type or sign raise at construction."""
    with pytest.raises(error):
        Syncer(store, **kwargs)


def test_syncing_through_a_namespace_strips_its_prefix(store: Store) -> None:
    """A Syncer over a Namespace copies and follows only that namespace, keys stripped."""
    store.put("t/m/a", "1")
    store.put("m/a", "outside")
    store.put("t/m0", "outside")
    syncer = Syncer(Namespace(store, "t/"), "m/")
    copy = {kv.key: kv for p in syncer.sync_base() for kv in p.kvs}
    assert list(copy) == [b"m/a"]
    with syncer.sync_updates() as w:
        assert w.receive(timeout=TIMEOUT).created
        store.put("m/b", "outside")
        store.put("t/m/b", "2")
        _catch_up(copy, w, store.revision)
    assert {k: kv.value for k, kv in copy.items()} == {b"m/a": b"1", b"m/b": b"2"}
    assert "prefix=b'm/'" in repr(syncer)


@pytest.mark.anyio
async def test_updates_can_be_followed_from_a_task(store: Store) -> None:
    """sync_updates' watch is read with ``async for`` under asyncio and trio."""
    store.put("m/a", "1")
    syncer = Syncer(store, "m/")
    copy = {kv.key: kv for p in syncer.sync_base() for kv in p.kvs}
    store.put("m/b", "2")
    store.delete("m/a")
    store.put("m/stop", "")
    with anyio.fail_after(TIMEOUT):
        async with syncer.sync_updates() as w:
            async for resp in w:
                _apply(copy, resp)
                if b"m/stop" in copy:
                    break
    assert {k: kv.value for k, kv in copy.items()} == {b"m/b": b"2", b"m/stop": b""}
