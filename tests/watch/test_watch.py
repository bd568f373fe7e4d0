"""Watch behaviour, one etcd rule per test (SEMANTICS section 2.6)."""

from __future__ import annotations

import gc

import anyio
import pytest

from etcdlite import EventType, Op, Store, Watch, WatchFilter, WatchResponse, WatchStream
from etcdlite._watch import Signal
from etcdlite.errors import (
    CompactedError,
    FutureRevisionError,
    StoppedError,
    WatcherDuplicateIDError,
    WatcherNotExistError,
    WatcherRangeEmptyError,
)
from etcdlite.testing import FakeClock


def drain(w: Watch | WatchStream) -> list[WatchResponse]:
    """Every response ready now."""
    out = []
    while True:
        try:
            out.append(w.receive_nowait())
        except (anyio.WouldBlock, anyio.EndOfStream):
            return out


def events(responses: list[WatchResponse]) -> list[tuple[str, bytes, int, bytes]]:
    """(type, key, mod_revision, value) of every event."""
    return [
        (e.type.name, e.kv.key, e.kv.mod_revision, e.kv.value) for r in responses for e in r.events
    ]


# -- creation and start revisions ------------------------------------------------------------


def test_created_response_comes_first(store: Store) -> None:
    """The first response says created, with watch id 0 and the current revision."""
    store.put("x", "1")
    w = store.watch("k")
    r = w.receive_nowait()
    assert (r.created, r.canceled, r.watch_id, r.header.revision) == (True, False, 0, 2)
    assert r.events == ()
    assert w.watch_id == 0


def test_start_zero_watches_from_the_next_revision(store: Store) -> None:
    """start_revision 0 means from the current revision + 1."""
    store.put("k", "old")
    w = store.watch("k")
    store.put("k", "new")
    assert events(drain(w)) == [("PUT", b"k", 3, b"new")]


def test_past_start_replays_puts_and_deletes_in_one_response(store: Store) -> None:
    """A past start replays history, DELETEs from tombstones; the header is the current revision."""
    store.put("k", "1")
    store.delete("k")
    store.put("k", "2")
    store.put("other", "x")
    got = drain(store.watch("k", start_revision=2))
    assert len(got) == 2
    assert got[1].header.revision == 5
    assert events(got) == [("PUT", b"k", 2, b"1"), ("DELETE", b"k", 3, b""), ("PUT", b"k", 4, b"2")]
    delete = got[1].events[1]
    assert delete.kv.create_revision == delete.kv.version == 0


def test_replay_batches_revisions() -> None:
    """A catch-up response holds at most watch_batch_revisions revisions with events."""
    store = Store(watch_batch_revisions=2)
    for v in "abcde":
        store.put("k", v)
    got = drain(store.watch("k", start_revision=2))
    assert [len(r.events) for r in got[1:]] == [2, 2, 1]
    assert [r.header.revision for r in got[1:]] == [6, 6, 6]


def test_future_start_waits_silently(store: Store) -> None:
    """A future start_revision is created and delivers nothing before it."""
    w = store.watch("k", start_revision=4)
    store.put("k", "2")
    store.put("k", "3")
    assert [r.created for r in drain(w)] == [True]
    store.put("k", "4")
    store.put("k", "5")
    assert events(drain(w)) == [("PUT", b"k", 4, b"4"), ("PUT", b"k", 5, b"5")]


def test_start_below_compaction_is_created_then_canceled(store: Store) -> None:
    """A start below the compaction: created, then canceled with compact_revision and no revision."""
    for v in "abc":
        store.put("k", v)
    store.compact(3)
    w = store.watch("k", start_revision=2)
    got = list(w.iter(timeout=0))
    assert [(r.created, r.canceled, r.compact_revision) for r in got] == [
        (True, False, 0),
        (False, True, 3),
    ]
    assert got[1].header.revision == 0
    assert got[1].cancel_reason == ""
    with pytest.raises(anyio.EndOfStream):
        w.receive_nowait()


@pytest.mark.parametrize(("compat", "seen"), [("3.5", True), ("3.4", False)])
def test_start_at_compaction_keeps_the_tombstone_there(compat: str, seen: bool) -> None:
    """A watch from the compaction revision sees a delete exactly there (3.4 dropped it)."""
    store = Store(compat=compat)  # type: ignore[arg-type]
    store.put("k", "v")
    store.delete("k")
    store.compact(3)
    got = events(drain(store.watch("k", start_revision=3)))
    assert got == ([("DELETE", b"k", 3, b"")] if seen else [])


def test_negative_start_is_refused(store: Store) -> None:
    """A negative start: created and canceled at once, watch id -1, ErrCompacted's text (3.6)."""
    w = store.watch("k", start_revision=-1)
    (r,) = drain(w)
    assert (r.created, r.canceled, r.watch_id) == (True, True, -1)
    assert r.cancel_reason == CompactedError.message
    assert w.watch_id == -1


def test_empty_range_is_refused(store: Store) -> None:
    """range_end at or below the key: mvcc's 'watcher range is empty'."""
    (r,) = drain(store.watch("b", range_end="a"))
    assert (r.created, r.canceled, r.watch_id) == (True, True, -1)
    assert r.cancel_reason == WatcherRangeEmptyError.message == "mvcc: watcher range is empty"


# -- ranges, filters, prev_kv ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "keys"),
    [
        ({"key": "a/1"}, [b"a/1"]),
        ({"key": "a/", "prefix": True}, [b"a/1", b"a/2"]),
        ({"key": "a/1", "range_end": "b"}, [b"a/1", b"a/2", b"a0"]),
        ({"key": "a0", "from_key": True}, [b"a0", b"b"]),
        ({"key": "", "prefix": True}, [b"\0", b"a/1", b"a/2", b"a0", b"b"]),
        ({"key": ""}, [b"\0"]),
        ({"key": "\xff", "prefix": True}, []),
    ],
    ids=["key", "prefix", "range", "from-key", "all", "empty-key", "ff-prefix"],
)
def test_ranges(store: Store, kwargs: dict[str, object], keys: list[bytes]) -> None:
    """Single key, range, prefix, from-key, all keys; an empty key means "\\0"."""
    w = store.watch(**kwargs)  # type: ignore[arg-type]
    for k in (b"\0", b"a/1", b"a/2", b"a0", b"b"):
        store.put(k, "v")
    assert [k for _, k, _, _ in events(drain(w))] == keys


@pytest.mark.parametrize(
    ("filters", "kinds"),
    [
        ((), ["PUT", "PUT", "DELETE"]),
        (("noput",), ["DELETE"]),
        ([WatchFilter.NODELETE], ["PUT", "PUT"]),
        (("NOPUT", "nodelete"), []),
        ([0], ["DELETE"]),
    ],
)
def test_filters(store: Store, filters: list[object], kinds: list[str]) -> None:
    """NOPUT and NODELETE leave out events; a revision with nothing left sends nothing."""
    w = store.watch("k", filters=filters)  # type: ignore[arg-type]
    store.put("k", "1")
    store.put("k", "2")
    store.delete("k")
    got = drain(w)[1:]
    assert [k for k, *_ in events(got)] == kinds
    assert all(r.events for r in got)


def test_filters_replay_too(store: Store) -> None:
    """Filters apply to history replay as to live events."""
    store.put("k", "1")
    store.delete("k")
    assert [
        k for k, *_ in events(drain(store.watch("k", start_revision=2, filters=["noput"])))
    ] == ["DELETE"]


def test_prev_kv_live(store: Store) -> None:
    """prev_kv is the key's record at mod_revision - 1; a create has none; a delete has one."""
    w = store.watch("k", prev_kv=True)
    plain = store.watch("k")
    store.put("k", "1")
    store.put("k", "2")
    store.delete("k")
    got = [e for r in drain(w) for e in r.events]
    assert [e.prev_kv and (e.prev_kv.value, e.prev_kv.mod_revision) for e in got] == [
        None,
        (b"1", 2),
        (b"2", 3),
    ]
    assert all(e.prev_kv is None for r in drain(plain) for e in r.events)


def test_prev_kv_replay_and_compaction(store: Store) -> None:
    """Replayed prev_kv matches the live one; below the compaction it is absent."""
    for v in "abcd":
        store.put("k", v)
    store.compact(4)
    got = [e for r in drain(store.watch("k", start_revision=4, prev_kv=True)) for e in r.events]
    assert [(e.kv.value, e.prev_kv and e.prev_kv.value) for e in got] == [
        (b"c", None),
        (b"d", b"c"),
    ]


def test_txn_events_arrive_in_one_response_in_op_order(store: Store) -> None:
    """All events of one revision in one response, in the order the txn made them."""
    store.put("a/2", "x")
    w = store.watch("a/", prefix=True)
    store.txn(success=[Op.put("a/3", "1"), Op.delete("a/2"), Op.put("a/1", "2")])
    got = drain(w)[1:]
    assert len(got) == 1
    assert events(got) == [
        ("PUT", b"a/3", 3, b"1"),
        ("DELETE", b"a/2", 3, b""),
        ("PUT", b"a/1", 3, b"2"),
    ]


def test_every_write_path_notifies(store: Store) -> None:
    """put (fast and general), delete, txn and do all produce events; no-op writes none."""
    w = store.watch("k")
    store.put("k", "fast")
    store.put("k", "general", prev_kv=True)
    store.do(Op.put("k", "do"))
    store.delete("missing")
    store.txn(success=[Op.get("k")])
    store.delete("k")
    assert [(t, v) for t, _, _, v in events(drain(w))] == [
        ("PUT", b"fast"),
        ("PUT", b"general"),
        ("PUT", b"do"),
        ("DELETE", b""),
    ]


# -- watch streams: ids, cancel, progress ---------------------------------------------------


def test_stream_ids_duplicates_and_reuse(store: Store) -> None:
    """Auto ids count from 0 and skip taken ones; a taken id is refused; a freed one is reusable."""
    s = store.watch_stream()
    assert s.create("a", watch_id=1) == 1
    assert s.create("a") == 0
    assert s.create("a") == 2
    assert s.create("b", watch_id=1) == -1
    s.cancel(1)
    assert s.create("c", watch_id=1) == 1
    got = drain(s)
    assert [(r.watch_id, r.created, r.canceled, r.cancel_reason) for r in got] == [
        (1, True, False, ""),
        (0, True, False, ""),
        (2, True, False, ""),
        (-1, True, True, WatcherDuplicateIDError.message),
        (1, False, True, ""),
        (1, True, False, ""),
    ]
    assert s.watch_ids == (0, 2, 1)


def test_stream_cancel_of_unknown_id_raises(store: Store) -> None:
    """Cancelling an id that is not active raises mvcc's 'watcher does not exist'."""
    s = store.watch_stream()
    with pytest.raises(WatcherNotExistError, match="mvcc: watcher does not exist"):
        s.cancel(3)
    assert drain(s) == []


def test_stream_routes_events_by_watch_id(store: Store) -> None:
    """One ordered response stream; each response names its watch."""
    s = store.watch_stream()
    s.create("a")
    s.create("b", watch_id=9)
    store.put("b", "1")
    store.put("a", "2")
    got = drain(s)[2:]
    assert [(r.watch_id, r.events[0].kv.key) for r in got] == [(9, b"b"), (0, b"a")]


def test_cancel_ends_the_watch(store: Store) -> None:
    """cancel() queues {watch_id, canceled}, then iteration stops; cancel again does nothing."""
    w = store.watch("k")
    store.put("k", "1")
    w.cancel()
    w.cancel()
    store.put("k", "2")
    got = list(w)
    assert [(r.created, r.canceled) for r in got] == [(True, False), (False, False), (False, True)]
    assert got[-1].header.revision == 2


def test_request_progress_when_synced(store: Store) -> None:
    """A progress request on a synced stream: watch id -1 at the current revision, at once."""
    w = store.watch("k")
    store.put("other", "x")
    w.request_progress()
    r = drain(w)[-1]
    assert (r.watch_id, r.header.revision, r.is_progress_notify) == (-1, 2, True)


def test_request_progress_waits_for_catch_up() -> None:
    """On a lagging stream the answer comes after every due event (etcd 3.5+), not before."""
    store = Store(watch_queue_size=1)
    w = store.watch("k")
    for v in "abc":
        store.put("k", v)
    w.request_progress()
    assert w.statistics().lagging == 1
    got = drain(w)
    assert [len(r.events) for r in got] == [0, 3, 0]
    assert got[-1].watch_id == -1
    assert got[-1].header.revision == 4


def test_repeated_progress_requests_do_not_pile_up(store: Store) -> None:
    """An unread progress answer is replaced by the next one (so the queue stays bounded)."""
    w = store.watch("k")
    for _ in range(5):
        w.request_progress()
        store.put("other", "x")
    w.request_progress()
    got = drain(w)
    assert [r.header.revision for r in got if r.is_progress_notify] == [6]


def test_progress_notify_on_the_clock() -> None:
    """progress_notify: an empty response per interval; elided after events; timer stops."""
    clock = FakeClock()
    store = Store(clock=clock, watch_progress_interval=5)
    w = store.watch("k", progress_notify=True)
    quiet = store.watch("k")
    drain(w)
    drain(quiet)
    clock.advance(5)
    (r,) = drain(w)
    assert (r.watch_id, r.header.revision, r.is_progress_notify) == (0, 1, True)
    store.put("k", "1")
    clock.advance(5)  # events were sent during this interval: no notification
    assert [len(r.events) for r in drain(w)] == [1]
    clock.advance(5)
    assert [r.is_progress_notify for r in drain(w)] == [True]
    assert [len(r.events) for r in drain(quiet)] == [1]  # no progress_notify: only the event
    w.cancel()
    clock.advance(5)
    assert clock.pending() == 0


def test_progress_notify_default_interval_is_ten_minutes() -> None:
    """etcd's --watch-progress-notify-interval default: 10 minutes."""
    clock = FakeClock()
    store = Store(clock=clock)
    w = store.watch("k", progress_notify=True)
    drain(w)
    clock.advance(599)
    assert drain(w) == []
    clock.advance(1)
    assert [r.is_progress_notify for r in drain(w)] == [True]


def test_progress_notify_skips_lagging_watchers() -> None:
    """A watcher that is behind gets no progress notification (it would break the bookmark)."""
    clock = FakeClock()
    store = Store(clock=clock, watch_queue_size=1, watch_progress_interval=1)
    w = store.watch("k", progress_notify=True)
    store.put("k", "1")
    clock.advance(1)
    clock.advance(1)
    assert w.statistics() == (1, 1, 1, False)
    got = drain(w)
    assert [r.is_progress_notify for r in got] == [False, False]


# -- fragments -------------------------------------------------------------------------------


def test_fragment_splits_large_responses() -> None:
    """fragment=True splits a response over the limit; all parts but the last say fragment."""
    store = Store(watch_fragment_bytes=300)
    w = store.watch("f/", prefix=True, fragment=True)
    whole = store.watch("f/", prefix=True)
    store.txn(success=[Op.put(f"f/{i}", "x" * 50) for i in range(10)])
    parts = drain(w)[1:]
    assert len(parts) > 2
    assert [p.fragment for p in parts] == [True] * (len(parts) - 1) + [False]
    (one,) = drain(whole)[1:]
    assert tuple(e for p in parts for e in p.events) == one.events
    assert all(len(p.events) >= 1 for p in parts)


def test_fragment_never_splits_one_event() -> None:
    """A single large event is sent whole, as etcd does."""
    store = Store(watch_fragment_bytes=10)
    w = store.watch("k", fragment=True)
    store.put("k", "x" * 100)
    assert [(len(r.events), r.fragment) for r in drain(w)[1:]] == [(1, False)]


# -- slow consumers, compaction, close -------------------------------------------------------


def test_slow_consumer_never_blocks_writers_and_loses_nothing() -> None:
    """A full queue moves the watcher out of the way; it catches up from history when read."""
    store = Store(watch_queue_size=2)
    w = store.watch("k")
    for i in range(100):
        store.put("k", str(i))
    stats = w.statistics()
    assert stats.buffered == 2
    assert stats.lagging == 1
    assert [v for *_, v in events(drain(w))] == [str(i).encode() for i in range(100)]
    assert w.statistics().lagging == 0
    store._check()


def test_compaction_cancels_a_lagging_watcher_only() -> None:
    """A watcher behind the compaction is canceled with compact_revision; synced ones go on."""
    store = Store(watch_queue_size=1)
    lagging = store.watch("k")
    synced = store.watch("other")
    for v in "abc":
        store.put("k", v)
    drain(synced)
    store.compact(4)
    got = drain(lagging)
    assert [(r.canceled, r.compact_revision) for r in got] == [(False, 0), (True, 4)]
    store.put("other", "1")
    assert events(drain(synced)) == [("PUT", b"other", 5, b"1")]


def test_compaction_delivers_what_was_already_read_from_the_log() -> None:
    """Events a catch-up had read before the compaction are still delivered before the cancel."""
    store = Store()
    store.put("k", "1")
    store.put("x", "2")
    store.put("k", "3")
    w = store.watch("k", start_revision=2)
    hub, state = store._hub, w._state
    hub.scan_revisions = 1  # one log entry per step: the catch-up stops half way
    assert w.receive_nowait().created
    with store._lock:
        assert hub.poll(state, None) is Signal.AGAIN
    store.compact(4)
    got = drain(w)
    assert events(got) == [("PUT", b"k", 2, b"1")]
    assert [r.compact_revision for r in got] == [0, 4]


def test_store_close_ends_every_watch() -> None:
    """close(): each watch gets a canceled response with 'server stopped'; iteration stops."""
    store = Store()
    w = store.watch("k")
    s = store.watch_stream()
    s.create("a")
    s.create("b")
    store.close()
    assert [(r.canceled, r.cancel_reason) for r in list(w)[1:]] == [
        (True, "etcdserver: server stopped")
    ]
    assert [r.canceled for r in list(s)] == [False, False, True, True]
    with pytest.raises(StoppedError):
        store.watch("k")
    with pytest.raises(StoppedError):
        store.watch_stream()
    with pytest.raises(StoppedError):
        s.create("c")


def test_closed_stream_refuses_creates_and_drops_unread(store: Store) -> None:
    """A closed stream ends at once (unread responses dropped) and refuses new watches."""
    s = store.watch_stream()
    s.create("a")
    s.close()
    s.close()
    assert list(s) == []
    with pytest.raises(anyio.ClosedResourceError):
        s.create("b")
    store.put("a", "1")
    assert s.statistics().closed


def test_abandoned_watches_are_reaped(store: Store) -> None:
    """A watch dropped without cancel is closed at the store's next watch operation."""
    w = store.watch("k")
    assert len(store._hub.streams) == 1
    del w
    gc.collect()
    store.put("k", "1")
    store.put("k", "2")
    assert len(store._hub.streams) == 0
    assert not store._hub.active


# -- waiting and the API surface -------------------------------------------------------------


def test_receive_timeouts_and_end_of_stream(store: Store) -> None:
    """receive(timeout) raises TimeoutError, receive_nowait WouldBlock, EndOfStream at the end."""
    w = store.watch("k")
    assert w.receive(timeout=0).created
    with pytest.raises(TimeoutError):
        w.receive(timeout=0.001)
    with pytest.raises(anyio.WouldBlock):
        w.receive_nowait()
    with pytest.raises(TimeoutError):
        list(w.iter(timeout=0))
    w.cancel()
    assert w.receive(timeout=0).canceled
    with pytest.raises(anyio.EndOfStream):
        w.receive(timeout=0)
    assert list(w) == []
    assert store._hub.index.count == 0


def test_context_managers_cancel(store: Store) -> None:
    """Leaving the with block cancels the watch; the stream's with block closes it."""
    with store.watch("k") as w:
        pass
    assert [r.canceled for r in w] == [False, True]
    with store.watch_stream() as s:
        s.create("a")
    assert s.statistics().closed


@pytest.mark.anyio
async def test_async_context_manager_and_iteration(store: Store) -> None:
    """async with / async for work alike, under asyncio and trio."""
    async with store.watch("k") as w:
        store.put("k", "1")
        got = [await w.areceive(), await w.areceive()]
    assert [len(r.events) for r in got] == [0, 1]
    assert [r.canceled async for r in w] == [True]
    async with store.watch_stream() as s:
        s.create("a")
    assert s.statistics().closed


def test_argument_errors(store: Store) -> None:
    """Wrong types raise TypeError naming the argument; unknown filters ValueError."""
    with pytest.raises(TypeError, match="key"):
        store.watch(1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="start_revision"):
        store.watch("k", start_revision="1")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="filters"):
        store.watch("k", filters="noput")
    with pytest.raises(ValueError, match="unknown watch filter"):
        store.watch("k", filters=["nothing"])
    with pytest.raises(ValueError, match="unknown watch filter"):
        store.watch("k", filters=[7])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="prefix and from_key"):
        store.watch("k", prefix=True, from_key=True)
    with pytest.raises(ValueError, match="positive"):
        Store(watch_queue_size=0)
    with pytest.raises(ValueError, match="positive"):
        Store(watch_progress_interval=0)


def test_repr_and_statistics(store: Store) -> None:
    """repr says what a watch is; statistics count what it holds."""
    w = store.watch("k")
    assert repr(w) == "<etcdlite.Watch id=0 active>"
    assert w.statistics() == (1, 1, 0, False)
    s = store.watch_stream()
    s.create("a")
    assert repr(s) == "<etcdlite.WatchStream watches=1>"
    w.cancel()
    assert repr(w) == "<etcdlite.Watch id=0 ended>"


# -- history --------------------------------------------------------------------------------


def test_history_between_revisions(store: Store) -> None:
    """history(): the events a watch would deliver between two revisions, inclusive."""
    store.put("a/1", "x")
    store.put("a/2", "y")
    store.delete("a/1")
    store.put("b", "z")
    assert [(e.type, e.kv.key) for e in store.history("a/", prefix=True)] == [
        (EventType.PUT, b"a/1"),
        (EventType.PUT, b"a/2"),
        (EventType.DELETE, b"a/1"),
    ]
    assert [
        e.kv.mod_revision for e in store.history("", prefix=True, start_revision=3, end_revision=4)
    ] == [3, 4]
    (ev,) = store.history("a/1", start_revision=4, prev_kv=True)
    assert ev.prev_kv is not None
    assert ev.prev_kv.value == b"x"


def test_history_errors(store: Store) -> None:
    """Below the compaction: CompactedError; past the current revision: FutureRevisionError."""
    for v in "abc":
        store.put("k", v)
    store.compact(3)
    assert [e.kv.value for e in store.history("k")] == [b"b", b"c"]
    with pytest.raises(CompactedError):
        store.history("k", start_revision=2)
    with pytest.raises(FutureRevisionError):
        store.history("k", end_revision=5)
    with pytest.raises(ValueError, match="negative"):
        store.history("k", start_revision=-1)


def test_progress_notify_on_the_real_clock() -> None:
    """With the default (monotonic) clock the notification comes by itself; close() stops it."""
    store = Store(watch_progress_interval=0.01)
    w = store.watch("k", progress_notify=True)
    assert w.receive(timeout=10).created
    r = w.receive(timeout=10)  # bounds the wait only: it comes after about 10 ms
    assert (r.is_progress_notify, r.watch_id, r.header.revision) == (True, 0, 1)
    clock = store._clock
    store.close()
    thread = clock._thread  # type: ignore[attr-defined]
    if thread is not None:
        thread.join(10)
        assert not thread.is_alive()


def test_dropped_stream_is_reaped(store: Store) -> None:
    """A WatchStream dropped without close() releases its watchers at the next watch call."""
    s = store.watch_stream()
    s.create("a")
    s.create("b", prefix=True)
    assert store._hub.index.count == 2
    del s
    gc.collect()
    store.watch_stream().close()
    assert store._hub.index.count == 0
    assert not store._hub.streams
