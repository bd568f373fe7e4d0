"""The Store facade: argument checks, rejected requests, the closed state, threads."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import pytest

from etcdlite import (
    Compare,
    KeyValue,
    Op,
    PutResponse,
    RangeResponse,
    ResponseHeader,
    Store,
)
from etcdlite.errors import (
    CompactedError,
    DuplicateKeyError,
    EmptyKeyError,
    EtcdError,
    FutureRevisionError,
    KeyNotFoundError,
    LeaseNotFoundError,
    LeaseProvidedError,
    RequestTooLargeError,
    StoppedError,
    TooManyOpsError,
    ValueProvidedError,
)

if TYPE_CHECKING:
    from collections.abc import Callable


@pytest.fixture
def store() -> Store:
    s = Store()
    s.put("a", "1")
    s.put("b", "2")
    s.put("a", "3")
    return s


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: s.put(1, "v"), "key must be str or bytes, not int"),
        (lambda s: s.put("k", None), "value must be str or bytes, not NoneType"),
        (lambda s: s.put("k", "v", lease="1"), "lease must be int, not str"),
        (lambda s: s.put("k", "v", prev_kv=1), "prev_kv must be bool, not int"),
        (lambda s: s.put("k", "v", ignore_value=None), "ignore_value must be bool"),
        (lambda s: s.get(None), "key must be str or bytes, not NoneType"),
        (lambda s: s.get("k", revision="2"), "revision must be int, not str"),
        (lambda s: s.get("k", limit=1.0), "limit must be int, not float"),
        (lambda s: s.get("k", keys_only="yes"), "keys_only must be bool, not str"),
        (lambda s: s.get("k", range_end=3), "range_end must be str or bytes, not int"),
        (lambda s: s.get("k", prefix=1), "prefix must be bool, not int"),
        (lambda s: s.delete(b"k", prev_kv="no"), "prev_kv must be bool, not str"),
        (lambda s: s.compact("2"), "revision must be int, not str"),
        (lambda s: s.compact(2, physical=0), "physical must be bool, not int"),
        (lambda s: s.do("get k"), "op must be an Op"),
        (lambda s: s.txn([Op.get("a")]), "compare must hold Compare"),
        (lambda s: s.txn((), [b"a"]), "success must hold Op"),
    ],
)
def test_wrong_types_raise_type_error_and_change_nothing(
    store: Store, call: Callable[[Store], object], message: str
) -> None:
    """Wrong types raise TypeError naming the argument; the store does not change."""
    before = store.get("a", from_key=True)
    with pytest.raises(TypeError, match=message):
        call(store)
    assert store.get("a", from_key=True) == before
    store._check()


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda s: s.put("", "v"), EmptyKeyError),
        (lambda s: s.put(b"", b"v"), EmptyKeyError),  # the fast path checks too
        (lambda s: s.get(""), EmptyKeyError),
        (lambda s: s.get(b""), EmptyKeyError),
        (lambda s: s.delete(""), EmptyKeyError),
        (lambda s: s.put("a", "v", ignore_value=True), ValueProvidedError),
        (lambda s: s.put("a", lease=3, ignore_lease=True), LeaseProvidedError),
        (lambda s: s.put("zz", ignore_value=True), KeyNotFoundError),
        (lambda s: s.put("a", "v", lease=12345), LeaseNotFoundError),
        (lambda s: s.put("a", b"x" * (2 * 1024 * 1024)), RequestTooLargeError),
        (lambda s: s.txn((), [Op.put("a", "x"), Op.put("a", "y")]), DuplicateKeyError),
        (lambda s: s.txn((), [Op.put(f"k{i}", "") for i in range(129)]), TooManyOpsError),
        (lambda s: s.txn((), [Op.put("q", "1"), Op.put("r", ignore_lease=True)]), KeyNotFoundError),
        (lambda s: s.get("a", revision=99), FutureRevisionError),
        (lambda s: s.compact(99), FutureRevisionError),
        (lambda s: s.compact(-1), CompactedError),
    ],
)
def test_rejected_requests_change_nothing(
    store: Store, call: Callable[[Store], object], error: type[EtcdError]
) -> None:
    """A request etcd rejects raises its error and changes neither the data nor the revision."""
    before = (store.revision, store.get("\0", from_key=True))
    with pytest.raises(error, match=error.message):
        call(store)
    assert (store.revision, store.get("\0", from_key=True)) == before
    store._check()


def test_limits_are_configurable() -> None:
    """max_txn_ops and max_request_bytes are store options, as etcd's flags are."""
    s = Store(max_txn_ops=2, max_request_bytes=200)
    s.txn((), [Op.put("a", ""), Op.put("b", "")])
    with pytest.raises(TooManyOpsError):
        s.txn((), [Op.put("a", ""), Op.put("b", ""), Op.put("c", "")])
    s.put("k", b"x" * 150)
    with pytest.raises(RequestTooLargeError):
        s.put("k", b"x" * 180)
    with pytest.raises(RequestTooLargeError):
        s.txn((), [Op.put("k", b"x" * 180)])
    s.txn((), [Op.get("k" * 300)])  # a read-only txn is not a raft request: no size limit
    with pytest.raises(ValueError, match="positive"):
        Store(max_txn_ops=0)
    with pytest.raises(ValueError, match="compat"):
        Store(compat="3.3")  # type: ignore[arg-type]


def test_fast_paths_match_the_general_paths() -> None:
    """put/get of plain bytes take fast paths that answer exactly like the general ones."""
    fast, slow = Store(), Store()
    for key, value in [(b"k", b"1"), (b"k", b"2"), (b"j", b"3")]:
        assert fast.put(key, value) == slow.do(Op.put(key, value))
    fast.delete("k")
    slow.do(Op.delete("k"))
    fast.put(b"k", b"4")
    slow.do(Op.put("k", "4"))
    for key in (b"k", b"j", b"missing"):
        assert fast.get(key) == slow.do(Op.get(key))
    assert fast.get(b"k").kvs[0] == KeyValue(b"k", 6, 6, 1, b"4", 0)
    fast._check()


def test_headers_and_str_keys() -> None:
    """Headers carry the configured ids; str keys and values come back as bytes."""
    s = Store(cluster_id=7, member_id=8, raft_term=9)
    r = s.put("ключ", "значение")
    assert r == PutResponse(ResponseHeader(7, 8, 2, 9))
    got = s.get("ключ")
    assert got == RangeResponse(
        ResponseHeader(7, 8, 2, 9),
        (KeyValue("ключ".encode(), 2, 2, 1, "значение".encode(), 0),),
        False,
        1,
    )


def test_closed_store_refuses_everything(store: Store) -> None:
    """After close() every call raises StoppedError ("etcdserver: server stopped")."""
    with store as s:
        assert "revision=4" in repr(s)
    assert store.closed
    assert "closed" in repr(store)
    calls: list[Callable[[], object]] = [
        lambda: store.put(b"a", b"1"),
        lambda: store.put("a", "1", prev_kv=True),
        lambda: store.get(b"a"),
        lambda: store.get("a", prefix=True),
        lambda: store.delete("a"),
        lambda: store.txn(),
        lambda: store.compact(2),
        lambda: store.do(Op.get("a")),
    ]
    for call in calls:
        with pytest.raises(StoppedError, match="etcdserver: server stopped"):
            call()
    store.close()  # closing twice is fine


def test_concurrent_compare_and_swap_loses_no_update() -> None:
    """Threads incrementing a counter with a mod_revision CAS never lose an update."""
    s = Store()
    s.put("counter", "0")
    threads_n, increments = 4, 200
    retries = [0]

    def worker() -> None:
        done = 0
        attempts = 0
        while done < increments and attempts < increments * 100:  # bounded
            attempts += 1
            kv = s.get("counter").kvs[0]
            r = s.txn(
                [Compare.mod_revision("counter") == kv.mod_revision],
                [Op.put("counter", str(int(kv.value) + 1))],
            )
            if r.succeeded:
                done += 1
            else:
                retries[0] += 1

    threads = [threading.Thread(target=worker) for _ in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
        assert not t.is_alive()
    assert s.get("counter").kvs[0].value == str(threads_n * increments).encode()
    assert s.revision == 2 + threads_n * increments  # failed txns made no revision
    s._check()


def test_concurrent_writers_and_readers_see_consistent_state() -> None:
    """Readers never see a key newer than the header revision they got with it."""
    s = Store()
    stop = threading.Event()
    problems: list[str] = []

    def writer(name: str) -> None:
        for i in range(500):
            s.put(f"{name}/{i % 10}", str(i))
            if i % 50 == 0:
                s.txn((), [Op.put(f"{name}/t1", "x"), Op.delete(f"{name}/0")])

    def reader() -> None:
        n = 0
        while not stop.is_set() and n < 5000:  # bounded
            n += 1
            r = s.get("w", prefix=True)
            problems.extend(f"{kv} newer" for kv in r.kvs if kv.mod_revision > r.header.revision)
            one = s.get(b"w0/1")
            if one.kvs and one.kvs[0].mod_revision > one.header.revision:
                problems.append("point read newer than its header")

    writers = [threading.Thread(target=writer, args=(f"w{i}",)) for i in range(3)]
    readers = [threading.Thread(target=reader) for _ in range(2)]
    for t in writers + readers:
        t.start()
    for t in writers:
        t.join(timeout=60)
    stop.set()
    for t in readers:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in writers + readers)
    assert problems == []
    s._check()


def test_header_follows_the_revision_and_refuses_after_close() -> None:
    """Store.header is the current header (what a read now carries); closed, it raises."""
    store = Store()
    store.put("k", "v")
    assert store.header == store.get("k").header
    assert store.header.revision == 2
    store.close()
    with pytest.raises(StoppedError):
        _ = store.header
