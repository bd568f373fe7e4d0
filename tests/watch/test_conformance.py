"""Watch conformance: the same scenario on a Store and on a real etcd 3.4, response for response.

Each test starts a fresh etcd (127.0.0.1, ephemeral ports, temporary data dir; stopped at the
end) and plays one scenario through etcd's JSON gateway ``/v3/watch`` stream and through a
:class:`~etcdlite.WatchStream`; the normalized responses (header revision only: cluster and
member ids differ) must be equal, and each test also asserts the concrete values it expects.
Where etcd 3.4 differs from current etcd, the test cites the one registry
(``tests/conformance/divergences.py``) and asserts both.

Without an etcd binary these tests are skipped with the reason shown, or fail under
``ETCDLITE_REQUIRE_ETCD=1``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import attrs
import pytest
from conformance._etcd import running_etcd
from conformance.divergences import divergence

from etcdlite import Op, ResponseHeader, Store, WatchResponse, WatchStream
from etcdlite.testing import FakeClock

from ._gateway import EtcdGateway, GatewayWatchStream

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.etcd

#: How long to wait for a response etcd owes us (its history sync runs every 100 ms).
WAIT = 5.0
#: How long etcd must stay silent where nothing is due.
QUIET = 0.4


class Stream(Protocol):
    def create(self, key: bytes | str, **fields: Any) -> None: ...
    def cancel(self, watch_id: int) -> None: ...
    def request_progress(self) -> None: ...
    def receive(self, timeout: float | None = None) -> WatchResponse: ...


class Backend(Protocol):
    def put(self, key: bytes | str, value: bytes | str = b"") -> int: ...
    def delete(self, key: bytes | str, range_end: bytes | str = b"") -> int: ...
    def txn_puts(self, *pairs: tuple[bytes | str, bytes | str]) -> int: ...
    def compact(self, revision: int) -> None: ...
    def stream(self) -> Stream: ...


class StoreStream:
    """A WatchStream spoken to with the gateway's field names."""

    def __init__(self, ws: WatchStream) -> None:
        self.ws = ws

    def create(self, key: bytes | str, **fields: Any) -> None:
        filters = [
            {"NOPUT": "noput", "NODELETE": "nodelete"}.get(f, f) for f in fields.pop("filters", ())
        ]
        self.ws.create(key, filters=filters, **fields)

    def cancel(self, watch_id: int) -> None:
        self.ws.cancel(watch_id)

    def request_progress(self) -> None:
        self.ws.request_progress()

    def receive(self, timeout: float | None = None) -> WatchResponse:
        return self.ws.receive(timeout=0)  # a Store owes nothing it has not queued already


class StoreBackend:
    """A Store behind the scenario interface."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def put(self, key: bytes | str, value: bytes | str = b"") -> int:
        return self.store.put(key, value).header.revision

    def delete(self, key: bytes | str, range_end: bytes | str = b"") -> int:
        return self.store.delete(key, range_end=range_end or None).header.revision

    def txn_puts(self, *pairs: tuple[bytes | str, bytes | str]) -> int:
        return self.store.txn(success=[Op.put(k, v) for k, v in pairs]).header.revision

    def compact(self, revision: int) -> None:
        self.store.compact(revision)

    def stream(self) -> Stream:
        return StoreStream(self.store.watch_stream())


class EtcdBackend(EtcdGateway):
    """The gateway client behind the scenario interface."""

    def __init__(self, url: str, stack: contextlib.ExitStack) -> None:
        super().__init__(url)
        self._stack = stack

    def stream(self) -> Stream:
        return self._stack.enter_context(GatewayWatchStream(self.url))


def norm(r: WatchResponse) -> WatchResponse:
    """The response with only the header's revision (ids and term differ between servers)."""
    return attrs.evolve(r, header=ResponseHeader(revision=r.header.revision))


class Run:
    """What a scenario saw: responses read, and what stayed quiet."""

    def __init__(self) -> None:
        self.responses: list[WatchResponse] = []

    def read(self, stream: Stream, n: int = 1) -> list[WatchResponse]:
        got = [norm(stream.receive(WAIT)) for _ in range(n)]
        self.responses.extend(got)
        return got

    def quiet(self, stream: Stream) -> None:
        with pytest.raises(TimeoutError):
            stream.receive(QUIET)


Scenario = Callable[[Backend, Run], None]


@pytest.fixture
def etcd_factory() -> Iterator[Callable[..., EtcdBackend]]:
    """Starts fresh etcds (with extra flags); all stop at the end of the test."""
    with contextlib.ExitStack() as stack:

        def start(*flags: str) -> EtcdBackend:
            return EtcdBackend(stack.enter_context(running_etcd(extra_args=flags)).url, stack)

        yield start


def by_watch(responses: list[WatchResponse]) -> dict[int, list[WatchResponse]]:
    """Responses per watch id, in order (etcd orders one revision's responses to different
    watchers of a stream at random: it walks a Go map)."""
    out: dict[int, list[WatchResponse]] = {}
    for r in responses:
        out.setdefault(r.watch_id, []).append(r)
    return out


def differential(
    scenario: Scenario, etcd: EtcdBackend, store: Store | None = None
) -> list[WatchResponse]:
    """Play ``scenario`` on both; require the same responses per watch; return the Store's."""
    want, got = Run(), Run()
    scenario(etcd, want)
    scenario(StoreBackend(store or Store()), got)
    assert by_watch(got.responses) == by_watch(want.responses)
    return got.responses


def _events(responses: list[WatchResponse]) -> list[tuple[str, bytes, int, bytes | None]]:
    return [
        (e.type.name, e.kv.key, e.kv.mod_revision, None if e.prev_kv is None else e.prev_kv.value)
        for r in responses
        for e in r.events
    ]


def _history(b: Backend) -> None:
    """k=v0..v2 (revs 2-4), other=x (5), delete k (6), txn a/1 a/2 (7), delete a/ prefix (8)."""
    for i in range(3):
        b.put("k", f"v{i}")
    b.put("other", "x")
    b.delete("k")
    b.txn_puts(("a/1", "1"), ("a/2", "2"))
    b.delete("a/", "a0")


# -- scenarios -------------------------------------------------------------------------------


def test_history_replay_with_prev_kv(etcd_factory: Callable[..., EtcdBackend]) -> None:
    """A past start replays PUTs and DELETEs (prev_kv at mod_revision-1) in one response."""

    def scenario(b: Backend, run: Run) -> None:
        _history(b)
        s = b.stream()
        s.create(b"\0", range_end=b"\0", start_revision=2, prev_kv=True)
        run.read(s, 2)
        b.put("k", "live")
        run.read(s)
        run.quiet(s)

    got = differential(scenario, etcd_factory())
    assert got[1].header.revision == 8
    assert _events(got) == [
        ("PUT", b"k", 2, None),
        ("PUT", b"k", 3, b"v0"),
        ("PUT", b"k", 4, b"v1"),
        ("PUT", b"other", 5, None),
        ("DELETE", b"k", 6, b"v2"),
        ("PUT", b"a/1", 7, None),
        ("PUT", b"a/2", 7, None),
        ("DELETE", b"a/1", 8, b"1"),
        ("DELETE", b"a/2", 8, b"2"),
        ("PUT", b"k", 9, None),
    ]


def test_replay_batches_a_thousand_revisions(etcd_factory: Callable[..., EtcdBackend]) -> None:
    """A long replay comes in responses of at most 1000 revisions with events."""

    def scenario(b: Backend, run: Run) -> None:
        for i in range(1050):
            b.put("z", str(i))
        s = b.stream()
        s.create("z", start_revision=2)
        run.read(s, 3)
        run.quiet(s)

    got = differential(scenario, etcd_factory())
    assert [len(r.events) for r in got] == [0, 1000, 50]


@pytest.mark.parametrize("filters", [["NOPUT"], ["NODELETE"], ["NOPUT", "NODELETE"]])
def test_filters_live_and_replayed(
    etcd_factory: Callable[..., EtcdBackend], filters: list[str]
) -> None:
    """NOPUT / NODELETE leave their events out of replays and live events alike."""

    def scenario(b: Backend, run: Run) -> None:
        _history(b)
        s = b.stream()
        s.create(b"\0", range_end=b"\0", start_revision=2, filters=filters)
        s.create("k", filters=filters, watch_id=5)
        run.read(s, 2 if len(filters) == 2 else 3)  # the replay has nothing left with both
        b.put("k", "1")
        b.delete("k")
        run.read(s, 0 if len(filters) == 2 else 2)
        run.quiet(s)

    got = differential(scenario, etcd_factory())
    kinds = {t for t, *_ in _events(got)}
    assert kinds == {"PUT", "DELETE"} - {f[2:] for f in filters}


def test_live_prev_kv_on_txn_and_range_delete(etcd_factory: Callable[..., EtcdBackend]) -> None:
    """Live events: a txn's puts and a range delete arrive one response per revision."""

    def scenario(b: Backend, run: Run) -> None:
        b.put("p/1", "old")
        s = b.stream()
        s.create("p/", range_end="p0", prev_kv=True)
        run.read(s)
        b.txn_puts(("p/1", "new"), ("p/2", "x"))
        b.delete("p/", "p0")
        run.read(s, 2)
        run.quiet(s)

    got = differential(scenario, etcd_factory())
    assert [len(r.events) for r in got] == [0, 2, 2]
    assert _events(got)[0] == ("PUT", b"p/1", 3, b"old")


def test_start_below_compaction(etcd_factory: Callable[..., EtcdBackend]) -> None:
    """Below the compaction: created, then canceled with compact_revision (header without
    revision); at the compaction revision the replay works."""

    def scenario(b: Backend, run: Run) -> None:
        _history(b)
        b.compact(5)
        s = b.stream()
        s.create("k", start_revision=3)
        run.read(s, 2)
        s.create("k", start_revision=5, prev_kv=True)
        run.read(s, 2)
        run.quiet(s)

    got = differential(scenario, etcd_factory())
    assert (got[1].canceled, got[1].compact_revision, got[1].header.revision) == (True, 5, 0)
    assert _events(got[3:]) == [("DELETE", b"k", 6, b"v2")]


def test_future_start_and_empty_key(etcd_factory: Callable[..., EtcdBackend]) -> None:
    """A future start waits silently; an empty key watches "\\0"."""

    def scenario(b: Backend, run: Run) -> None:
        s = b.stream()
        s.create("k", start_revision=4)
        s.create("")
        run.read(s, 2)
        b.put("k", "2")
        b.put("k", "3")
        run.quiet(s)
        b.put("k", "4")
        b.put(b"\0", "zero")
        run.read(s, 2)
        run.quiet(s)

    got = differential(scenario, etcd_factory())
    assert [(r.watch_id, _events([r])) for r in got[2:]] == [
        (0, [("PUT", b"k", 4, None)]),
        (1, [("PUT", b"\0", 5, None)]),
    ]


def test_watch_ids_duplicates_empty_range_and_cancel(
    etcd_factory: Callable[..., EtcdBackend],
) -> None:
    """Client ids, the duplicate-id and empty-range refusals, auto ids, cancel responses."""

    def scenario(b: Backend, run: Run) -> None:
        s = b.stream()
        s.create("a", watch_id=7)
        s.create("a", watch_id=7)
        s.create("b", range_end="a")
        s.create("a")
        run.read(s, 4)
        s.cancel(7)
        run.read(s)
        b.put("a", "1")
        run.read(s)
        run.quiet(s)

    got = differential(scenario, etcd_factory())
    assert [(r.watch_id, r.created, r.canceled, r.cancel_reason) for r in got[:5]] == [
        (7, True, False, ""),
        (-1, True, True, "mvcc: duplicate watch ID provided on the WatchStream"),
        (-1, True, True, "mvcc: watcher range is empty"),
        (0, True, False, ""),
        (7, False, True, ""),
    ]


def test_cancel_of_an_unknown_id(etcd_factory: Callable[..., EtcdBackend]) -> None:
    """etcd answers nothing to a cancel of an unknown id; the Store says why in an exception."""
    etcd = etcd_factory()
    s = etcd.stream()
    s.cancel(99)
    with pytest.raises(TimeoutError):
        s.receive(QUIET)
    from etcdlite.errors import WatcherNotExistError

    with pytest.raises(WatcherNotExistError):
        Store().watch_stream().cancel(99)


def test_progress_request_on_an_empty_stream(etcd_factory: Callable[..., EtcdBackend]) -> None:
    """A stream with no watchers answers a progress request, as etcd 3.4 does
    (progress-request-empty-stream: 3.5+ would stay silent)."""
    divergence("progress-request-empty-stream")

    def scenario(b: Backend, run: Run) -> None:
        b.put("k", "1")
        s = b.stream()
        s.request_progress()
        run.read(s)
        run.quiet(s)

    got = differential(scenario, etcd_factory())
    assert (got[0].watch_id, got[0].header.revision, got[0].is_progress_notify) == (-1, 2, True)


def test_compaction_cancel_frees_the_watch_id() -> None:
    """A watch canceled by compaction gives its id back (cancel-after-compaction)."""
    from etcdlite.errors import WatcherNotExistError

    divergence("cancel-after-compaction")
    store = Store(watch_queue_size=1)
    for i in range(5):
        store.put("k", str(i))  # revisions 2..6
    stream = store.watch_stream()
    wid = stream.create("k", start_revision=2, watch_id=7)
    store.compact(6)  # before the reader catches up: revisions 2..5 are gone
    created, canceled = (stream.receive(timeout=5) for _ in range(2))
    assert (created.watch_id, created.created) == (7, True)
    assert (canceled.watch_id, canceled.canceled, canceled.compact_revision) == (7, True, 6)
    with pytest.raises(WatcherNotExistError):
        stream.cancel(wid)
    assert stream.create("k", watch_id=7) == 7
    store.close()


def test_progress_request_when_synced(etcd_factory: Callable[..., EtcdBackend]) -> None:
    """A progress request on a synced stream: watch id -1 at the current revision."""

    def scenario(b: Backend, run: Run) -> None:
        s = b.stream()
        s.create("k")
        run.read(s)
        b.put("other", "1")
        s.request_progress()
        run.read(s)
        run.quiet(s)

    got = differential(scenario, etcd_factory())
    assert (got[1].watch_id, got[1].header.revision, got[1].is_progress_notify) == (-1, 2, True)


def test_progress_request_while_replaying(etcd_factory: Callable[..., EtcdBackend]) -> None:
    """Divergence progress-request-unsynced: 3.4 answers before the replay, etcdlite after."""
    divergence("progress-request-unsynced")

    def scenario(b: Backend, run: Run) -> Stream:
        for i in range(3):
            b.put("k", str(i))
        s = b.stream()
        s.create("k", start_revision=2)
        s.request_progress()
        run.read(s, 3)
        return s

    etcd_run, store_run = Run(), Run()
    scenario(etcd_factory(), etcd_run)
    scenario(StoreBackend(Store(watch_queue_size=1)), store_run)
    kinds = [("progress" if r.is_progress_notify else len(r.events)) for r in etcd_run.responses]
    assert kinds == [0, "progress", 3]  # etcd 3.4: the bookmark comes before the events
    kinds = [("progress" if r.is_progress_notify else len(r.events)) for r in store_run.responses]
    assert kinds == [0, 3, "progress"]
    assert store_run.responses[2].header.revision == etcd_run.responses[1].header.revision == 4


def test_negative_start_revision(etcd_factory: Callable[..., EtcdBackend]) -> None:
    """Divergence negative-start-revision: 3.4's accident versus 3.6's refusal."""
    divergence("negative-start-revision")
    etcd, run = etcd_factory(), Run()
    s = etcd.stream()
    s.create("k", start_revision=-3)
    created, canceled = run.read(s, 2)
    assert (created.created, created.watch_id) == (True, 0)
    assert (canceled.canceled, canceled.compact_revision, canceled.header.revision) == (True, -1, 0)
    (r,) = [Store().watch("k", start_revision=-3).receive(timeout=0)]
    assert (r.created, r.canceled, r.watch_id) == (True, True, -1)
    assert r.cancel_reason == "etcdserver: mvcc: required revision has been compacted"


@pytest.mark.parametrize("compat", ["3.4", "3.5"])
def test_compaction_at_a_delete(etcd_factory: Callable[..., EtcdBackend], compat: str) -> None:
    """Divergence compaction-drops-tombstone: Store(compat='3.4') matches etcd 3.4 exactly."""
    divergence("compaction-drops-tombstone")

    def scenario(b: Backend, run: Run) -> None:
        b.put("k", "v")
        b.delete("k")
        b.put("x", "y")
        b.compact(3)
        s = b.stream()
        s.create("k", start_revision=3)
        run.read(s)
        run.quiet(s)

    etcd = etcd_factory()
    if compat == "3.4":
        differential(scenario, etcd, Store(compat="3.4"))
    else:
        run = Run()
        scenario(etcd, run)
        s = Store()
        StoreBackend(s).put("k", "v")
        s.delete("k")
        s.put("x", "y")
        s.compact(3)
        w = s.watch("k", start_revision=3)
        assert _events([w.receive(timeout=0), w.receive(timeout=0)]) == [("DELETE", b"k", 3, None)]
        assert _events(run.responses) == []  # etcd 3.4 dropped that tombstone


def test_progress_notify(etcd_factory: Callable[..., EtcdBackend]) -> None:
    """progress_notify: an empty response with the watch's id at the current revision; none
    right after events (etcd elides it)."""
    etcd = etcd_factory("--experimental-watch-progress-notify-interval=300ms")
    clock = FakeClock()
    store = Store(clock=clock, watch_progress_interval=0.3)

    def scenario(b: Backend, run: Run) -> None:
        b.put("k", "1")
        s = b.stream()
        s.create("other")
        s.create("k", progress_notify=True)
        run.read(s, 2)
        if isinstance(b, StoreBackend):
            clock.advance(0.3)
        run.read(s)

    got = differential(scenario, etcd, store)
    assert (got[2].watch_id, got[2].header.revision, got[2].is_progress_notify) == (1, 2, True)


def test_fragments_split_like_etcd(etcd_factory: Callable[..., EtcdBackend]) -> None:
    """fragment=True splits a large response exactly where etcd does (max-request-bytes +
    512 KiB); a watch without it gets one response."""
    etcd = etcd_factory("--max-request-bytes=2048")
    hdr = etcd.call("/v3/kv/range", {"key": "AA=="})["header"]
    store = Store(
        max_request_bytes=2048,
        cluster_id=int(hdr["cluster_id"]),
        member_id=int(hdr["member_id"]),
    )
    big = "x" * 1000

    def scenario(b: Backend, run: Run) -> None:
        for i in range(560):
            b.put(f"f/{i:04d}", big)
        s = b.stream()
        s.create("f/", range_end="f0", prev_kv=True, fragment=True)
        s.create("f/", range_end="f0", prev_kv=True)
        run.read(s, 2)
        b.delete("f/", "f0")
        run.read(s, 3)
        run.quiet(s)

    got = differential(scenario, etcd, store)
    assert sorted((r.watch_id, len(r.events), r.fragment) for r in got[2:]) == [
        (0, 54, False),
        (0, 506, True),
        (1, 560, False),
    ]
