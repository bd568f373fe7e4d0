"""``etcdlite.namespace`` (clientv3 ``namespace``): keys mapped in, responses mapped out,
ranges kept inside the namespace, two namespaces on one store isolated."""

from __future__ import annotations

import concurrent.futures
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import anyio
import pytest

from etcdlite import (
    Compare,
    DeleteRangeResponse,
    EventType,
    Op,
    PutResponse,
    RangeResponse,
    Store,
    TxnResponse,
)
from etcdlite.concurrency import Election, Mutex, Session
from etcdlite.errors import EmptyKeyError, LockedError
from etcdlite.namespace import Namespace, NamespaceWatch, prefix_interval

if TYPE_CHECKING:
    from collections.abc import Iterator

    from etcdlite import ResponseOp, WatchResponse
    from etcdlite._protocols import Client

TIMEOUT = 10.0

# Raw keys around the namespace "a/": before it, its own empty key, inside, and just after
# ("a0" is prefix_end(b"a/"), the first key past the namespace).
RAW_KEYS = ["a", "a/", "a/k1", "a/k2", "a/k3", "a/x", "a/z", "a0", "b/k1", "\xff"]


@pytest.fixture
def store() -> Iterator[Store]:
    with Store() as s:
        yield s


@pytest.fixture
def filled(store: Store) -> Store:
    for k in RAW_KEYS:
        store.put(k, "raw:" + k)
    return store


def _keys(kvs: Any) -> list[bytes]:
    return [kv.key for kv in kvs]


def _kvs(r: ResponseOp) -> list[tuple[bytes, bytes]]:
    """The (key, value) pairs a response carries: kvs, prev_kv or prev_kvs."""
    if isinstance(r, RangeResponse):
        kvs: Any = r.kvs
    elif isinstance(r, PutResponse):
        kvs = [] if r.prev_kv is None else [r.prev_kv]
    elif isinstance(r, DeleteRangeResponse):
        kvs = r.prev_kvs
    else:
        raise TypeError(r)
    return [(kv.key, kv.value) for kv in kvs]


def _raw(store: Store) -> dict[bytes, bytes]:
    return {kv.key: kv.value for kv in store.get("", from_key=True).kvs}


# --------------------------------------------------------------------------- range mapping


@pytest.mark.parametrize(
    ("prefix", "key", "range_end", "expected"),
    [
        (b"a/", b"k", b"", (b"a/k", b"")),
        (b"a/", b"k1", b"k3", (b"a/k1", b"a/k3")),
        (b"a/", b"k", b"\0", (b"a/k", b"a0")),
        (b"a/", b"\0", b"\0", (b"a/\0", b"a0")),
        (b"a\xff", b"\0", b"\0", (b"a\xff\0", b"b")),
        (b"\xff\xff", b"k", b"\0", (b"\xff\xffk", b"\0")),
        (b"", b"k", b"\0", (b"k", b"\0")),
        (b"", b"k", b"m", (b"k", b"m")),
    ],
    ids=["one-key", "range", "from-key", "all", "ff-tail", "all-ff", "no-prefix", "no-prefix-r"],
)
def test_prefix_interval(
    prefix: bytes, key: bytes, range_end: bytes, expected: tuple[bytes, bytes]
) -> None:
    """clientv3 prefixInterval: key prefixed, "" kept, "\\0" to the namespace end, else prefixed."""
    assert prefix_interval(prefix, key, range_end) == expected


GET_CASES = [
    (("k1",), {}, [b"k1"]),
    (("k",), {"prefix": True}, [b"k1", b"k2", b"k3"]),
    (("",), {"prefix": True}, [b"k1", b"k2", b"k3", b"x", b"z"]),
    (("",), {"from_key": True}, [b"k1", b"k2", b"k3", b"x", b"z"]),
    (("x",), {"from_key": True}, [b"x", b"z"]),
    (("x",), {"range_end": "\0"}, [b"x", b"z"]),
    (("k1",), {"range_end": "k3"}, [b"k1", b"k2"]),
    (("k2",), {"range_end": ""}, [b"k2"]),
    (("nope",), {}, []),
]
GET_IDS = ["key", "prefix", "all-prefix", "all-from-key", "from-key", "nul-end", "range", "empty"]
GET_IDS.append("missing")


@pytest.mark.parametrize(("args", "kwargs", "expected"), GET_CASES, ids=GET_IDS)
def test_get_ranges_stay_inside_the_namespace(
    filled: Store, args: tuple[str], kwargs: dict[str, Any], expected: list[bytes]
) -> None:
    """A get's range maps into the namespace; keys come back stripped; nothing outside leaks."""
    r = Namespace(filled, "a/").get(*args, **kwargs)
    assert _keys(r.kvs) == expected
    assert r.count == len(expected)


@pytest.mark.parametrize(("args", "kwargs", "expected"), GET_CASES, ids=GET_IDS)
def test_delete_ranges_stay_inside_the_namespace(
    filled: Store, args: tuple[str], kwargs: dict[str, Any], expected: list[bytes]
) -> None:
    """A delete's range maps as a get's; prev_kvs are stripped; keys outside are untouched."""
    before = _raw(filled)
    r = Namespace(filled, "a/").delete(*args, prev_kv=True, **kwargs)
    assert (r.deleted, _keys(r.prev_kvs)) == (len(expected), expected)
    assert [kv.value for kv in r.prev_kvs] == [b"raw:a/" + k for k in expected]
    gone = {b"a/" + k for k in expected}
    assert _raw(filled) == {k: v for k, v in before.items() if k not in gone}


def test_from_key_with_a_ff_prefix_does_not_reach_the_next_key(store: Store) -> None:
    """A prefix ending in 0xff ends at prefix_end ("b"), so the key "b" is not in its range."""
    for k in (b"a\xff", b"a\xffk", b"b", b"b\0"):
        store.put(k, "v")
    ns = Namespace(store, b"a\xff")
    assert _keys(ns.get("", from_key=True).kvs) == [b"k"]
    assert ns.delete("", prefix=True).deleted == 1
    assert _keys(store.get("", from_key=True).kvs) == [b"a\xff", b"b", b"b\0"]


def test_an_empty_prefix_is_the_whole_keyspace(filled: Store) -> None:
    """Namespace(store, "") sends keys and returns responses unchanged."""
    ns = Namespace(filled, "")
    assert ns.get("", from_key=True) == filled.get("", from_key=True)
    before = filled.get("a/k1").kvs[0]
    assert ns.put("a/k1", "v", prev_kv=True).prev_kv == before


def test_nested_namespaces_compose(store: Store) -> None:
    """A namespace of a namespace prefixes both, outer first, and strips both."""
    inner = Namespace(Namespace(store, "a/"), "b/")
    inner.put("k", "v")
    assert _keys(store.get("", from_key=True).kvs) == [b"a/b/k"]
    assert _keys(inner.get("", prefix=True).kvs) == [b"k"]
    with inner.watch("k") as w:
        store.put("a/b/k", "2")
        assert w.receive(timeout=TIMEOUT).created
        assert _keys(e.kv for e in w.receive(timeout=TIMEOUT).events) == [b"k"]


@pytest.mark.parametrize(
    "call",
    [
        lambda ns: ns.put("", "v"),
        lambda ns: ns.get(""),
        lambda ns: ns.get("", range_end="z"),
        lambda ns: ns.delete(""),
        lambda ns: ns.do(Op.get("")),
        lambda ns: ns.txn([], [Op.put("", "v")]),
        lambda ns: ns.txn([], [Op.txn([], [Op.delete("")])]),
        lambda ns: ns.txn([Compare.version("") == 0], [Op.put("k", "v")]),
    ],
    ids=["put", "get", "get-range", "delete", "do", "txn-op", "nested-op", "compare"],
)
def test_an_empty_key_is_refused_not_sent_as_the_prefix(filled: Store, call: Any) -> None:
    """An empty key raises EmptyKeyError, as it would without a namespace; nothing changes."""
    rev = filled.revision
    with pytest.raises(EmptyKeyError):
        call(Namespace(filled, "a/"))
    assert filled.revision == rev
    assert filled.get("a/").kvs[0].value == b"raw:a/"


# --------------------------------------------------------------------------- responses


def test_prev_kv_is_stripped(store: Store) -> None:
    """put and delete prev_kv(s) come back with the key the namespace's caller used."""
    ns = Namespace(store, "a/")
    ns.put("k", "1")
    prev = ns.put("k", "2", prev_kv=True).prev_kv
    assert prev is not None
    assert (prev.key, prev.value, prev.mod_revision) == (b"k", b"1", 2)
    d = ns.delete("k", prev_kv=True)
    assert [(kv.key, kv.value) for kv in d.prev_kvs] == [(b"k", b"2")]


def test_txn_responses_are_stripped_at_every_depth(store: Store) -> None:
    """Range, put prev_kv and delete prev_kvs are stripped in txn sub-responses, nested too."""
    ns = Namespace(store, "a/")
    ns.put("x", "0")
    ns.put("y", "0")
    r = ns.txn(
        [Compare.value("x") == "0"],
        [
            Op.put("x", "1", prev_kv=True),
            Op.txn(
                [Compare.version("y") > 0],
                [
                    Op.get("", prefix=True),
                    Op.txn([], [Op.delete("y", prev_kv=True), Op.get("x", from_key=True)]),
                ],
            ),
        ],
    )
    assert r.succeeded
    put, nested = r.responses
    assert _kvs(put) == [(b"x", b"0")]
    assert isinstance(nested, TxnResponse)
    get, inner = nested.responses
    assert _kvs(get) == [(b"x", b"1"), (b"y", b"0")]
    assert isinstance(inner, TxnResponse)
    delete, tail = inner.responses
    assert _kvs(delete) == [(b"y", b"0")]
    assert _kvs(tail) == [(b"x", b"1")]  # later ops see the delete
    assert _keys(store.get("", from_key=True).kvs) == [b"a/x"]


@pytest.mark.parametrize(
    ("op", "expected"),
    [
        (Op.put("k", "v", prev_kv=True), b"k"),
        (Op.get("k"), b"k"),
        (Op.delete("k", prev_kv=True), b"k"),
        (Op.txn([], [Op.get("k")]), b"k"),
    ],
    ids=["put", "get", "delete", "txn"],
)
def test_do_maps_each_kind_of_op(store: Store, op: Any, expected: bytes) -> None:
    """do(op) prefixes the op and strips its response, whatever its kind."""
    store.put("a/k", "old")
    r = Namespace(store, "a/").do(op)
    if isinstance(r, TxnResponse):
        r = r.responses[0]
    assert _kvs(r) == [(expected, b"old")]


def test_do_refuses_what_is_not_an_op(store: Store) -> None:
    """do() raises TypeError for anything but Op.get/put/delete/txn."""
    with pytest.raises(TypeError, match=r"Op\.get/put/delete/txn"):
        Namespace(store, "a/").do("k")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- isolation


def test_two_namespaces_are_isolated_for_kv_and_compares(store: Store) -> None:
    """Same names in two namespaces are different keys for put, get, delete, txn and compares."""
    one, two = Namespace(store, "t1/"), Namespace(store, "t2/")
    one.put("k", "1")
    assert two.get("k").count == 0
    assert two.txn([Compare.version("k") == 0], [Op.put("k", "2")]).succeeded
    assert not one.txn([Compare.version("k") == 0], [Op.put("k", "x")]).succeeded
    assert one.txn([Compare.value("k", prefix=True) == "1"], []).succeeded
    assert two.txn([Compare.value("", from_key=True) == "2"], []).succeeded
    assert two.delete("", prefix=True).deleted == 1
    assert [(kv.key, kv.value) for kv in one.get("", prefix=True).kvs] == [(b"k", b"1")]
    assert _raw(store) == {b"t1/k": b"1"}


def test_compare_ranges_stay_inside_the_namespace(filled: Store) -> None:
    """A from-key compare ("\\0" end) covers only the namespace's keys, not those after it."""
    ns = Namespace(filled, "a/")
    # Every value in a/ is "raw:a/..." < "raw:a0"; the keys after the namespace fail that.
    assert ns.txn([Compare.value("k1", from_key=True) < "raw:a0"], []).succeeded
    assert ns.txn([Compare.value("k1", range_end="\0") < "raw:a0"], []).succeeded
    assert ns.txn([Compare.value("", prefix=True) < "raw:a0"], []).succeeded
    assert not filled.txn([Compare.value("a/k1", from_key=True) < "raw:a0"], []).succeeded


def test_namespaces_are_isolated_under_concurrent_writers(store: Store) -> None:
    """Threads doing compare-and-swap increments of "n" in their own namespaces never mix."""
    names = [f"t{i}/" for i in range(4)]
    rounds = 50

    def incr(prefix: str) -> None:
        ns = Namespace(store, prefix)
        for _ in range(rounds):
            while True:
                r = ns.get("n")
                n = int(r.kvs[0].value) if r.kvs else 0
                rev = r.kvs[0].mod_revision if r.kvs else 0
                if ns.txn([Compare.mod_revision("n") == rev], [Op.put("n", str(n + 1))]).succeeded:
                    break

    with ThreadPoolExecutor(8) as pool:
        for f in [pool.submit(incr, p) for p in names * 2]:
            f.result(timeout=TIMEOUT)
    assert _raw(store) == {p.encode() + b"n": str(2 * rounds).encode() for p in names}


# --------------------------------------------------------------------------- watch


def _events(w: NamespaceWatch, n: int) -> list[tuple[str, bytes, bytes, bytes | None]]:
    out: list[tuple[str, bytes, bytes, bytes | None]] = []
    while len(out) < n:
        for e in w.receive(timeout=TIMEOUT).events:
            prev = None if e.prev_kv is None else e.prev_kv.key + b"=" + e.prev_kv.value
            out.append((e.type.name, e.kv.key, e.kv.value, prev))
    return out


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        (("",), {"prefix": True}, [b"k1", b"k2", b"x", b"k1"]),
        (("",), {"from_key": True}, [b"k1", b"k2", b"x", b"k1"]),
        (("k2",), {"from_key": True}, [b"k2", b"x"]),
        (("k",), {"prefix": True}, [b"k1", b"k2", b"k1"]),
        (("k1",), {"range_end": "k2"}, [b"k1", b"k1"]),
        (("k1",), {}, [b"k1", b"k1"]),
    ],
    ids=["prefix-all", "from-key-all", "from-key", "prefix", "range", "key"],
)
def test_watch_sees_only_its_range_inside_the_namespace(
    store: Store, args: tuple[str], kwargs: dict[str, Any], expected: list[bytes]
) -> None:
    """A watch's range maps like a get's: events inside it only, keys stripped."""
    ns = Namespace(store, "a/")
    with ns.watch(*args, **kwargs) as w:
        assert w.receive(timeout=TIMEOUT).created
        for k in ("a", "a/k1", "b/k1", "a/k2", "a0", "a/x", "\xff", "a/k1"):
            store.put(k, "v")
        w.request_progress()  # answered once every event so far was delivered
        got: list[bytes] = []
        for resp in w.iter(timeout=TIMEOUT):
            if resp.is_progress_notify:
                break
            got.extend(e.kv.key for e in resp.events)
    assert got == expected


def test_watch_events_carry_stripped_kv_and_prev_kv(store: Store) -> None:
    """Both kv and prev_kv of watch events come without the prefix, deletes included."""
    ns = Namespace(store, "a/")
    with ns.watch("", prefix=True, prev_kv=True) as w:
        assert w.receive(timeout=TIMEOUT).created
        ns.put("k", "1")
        ns.put("k", "2")
        ns.delete("k")
        assert _events(w, 3) == [
            ("PUT", b"k", b"1", None),
            ("PUT", b"k", b"2", b"k=1"),
            ("DELETE", b"k", b"", b"k=2"),
        ]


def test_watch_replays_history_from_a_start_revision(store: Store) -> None:
    """start_revision passes through: a past revision replays the namespace's events only."""
    ns = Namespace(store, "a/")
    start = store.put("a/k", "1").header.revision
    store.put("b/k", "1")
    ns.put("k", "2")
    with ns.watch("", prefix=True, start_revision=start) as w:
        assert w.receive(timeout=TIMEOUT).created
        assert [e[1:3] for e in _events(w, 2)] == [(b"k", b"1"), (b"k", b"2")]


def test_watch_receive_nowait_and_cancel(store: Store) -> None:
    """receive_nowait raises WouldBlock when idle; cancel ends the stream after its response."""
    ns = Namespace(store, "a/")
    w = ns.watch("k")
    assert w.receive_nowait().created
    with pytest.raises(anyio.WouldBlock):
        w.receive_nowait()
    w.request_progress()
    assert w.receive(timeout=TIMEOUT).is_progress_notify
    w.cancel()
    assert [r.canceled for r in w.iter(timeout=TIMEOUT)] == [True]
    assert w.watch_id == 0
    assert "NamespaceWatch" in repr(w)


@pytest.mark.anyio
async def test_two_namespaces_watch_in_isolation_from_tasks(store: Store) -> None:
    """Async watches in two namespaces each get only their own events, stripped."""
    seen: dict[str, list[tuple[EventType, bytes, bytes]]] = {"t1/": [], "t2/": []}

    async def follow(prefix: str, ready: anyio.Event) -> None:
        async with Namespace(store, prefix).watch("", prefix=True) as w:
            assert (await w.areceive()).created
            ready.set()
            async for resp in w:
                seen[prefix].extend((e.type, e.kv.key, e.kv.value) for e in resp.events)
                if seen[prefix] and seen[prefix][-1][1] == b"stop":
                    return

    with anyio.fail_after(TIMEOUT):
        async with anyio.create_task_group() as tg:
            readies = {p: anyio.Event() for p in seen}
            for p, ev in readies.items():
                tg.start_soon(follow, p, ev)
            for ev in readies.values():
                await ev.wait()
            one, two = Namespace(store, "t1/"), Namespace(store, "t2/")
            one.put("k", "1")
            two.put("k", "2")
            store.put("t3/k", "3")
            one.delete("k")
            for ns in (one, two):
                ns.put("stop", "")
    assert seen["t1/"] == [
        (EventType.PUT, b"k", b"1"),
        (EventType.DELETE, b"k", b""),
        (EventType.PUT, b"stop", b""),
    ]
    assert seen["t2/"] == [(EventType.PUT, b"k", b"2"), (EventType.PUT, b"stop", b"")]


def test_watches_from_threads_stay_isolated(store: Store) -> None:
    """Blocking watches in threads, with writers in other threads, see only their namespace."""
    prefixes = ["t1/", "t2/", "t3/"]
    count = 30
    started = threading.Barrier(len(prefixes) + 1)

    def follow(prefix: str) -> list[bytes]:
        with Namespace(store, prefix).watch("", prefix=True) as w:
            assert w.receive(timeout=TIMEOUT).created
            started.wait(TIMEOUT)
            keys: list[bytes] = []
            while len(keys) < count:
                keys.extend(e.kv.key for e in w.receive(timeout=TIMEOUT).events)
            return keys

    def write(prefix: str) -> None:
        ns = Namespace(store, prefix)
        for i in range(count):
            ns.put(f"{i:03}", prefix)

    with ThreadPoolExecutor(2 * len(prefixes)) as pool:
        watchers = [pool.submit(follow, p) for p in prefixes]
        started.wait(TIMEOUT)
        for f in [pool.submit(write, p) for p in prefixes]:
            f.result(timeout=TIMEOUT)
        results = [f.result(timeout=TIMEOUT) for f in watchers]
    expected = [f"{i:03}".encode() for i in range(count)]
    assert results == [expected] * len(prefixes)


# --------------------------------------------------------------------------- leases


def test_time_to_live_keys_are_filtered_and_stripped(store: Store) -> None:
    """time_to_live(keys=True) lists the lease's keys inside the namespace, without prefix."""
    lease = store.grant(60).id
    ns = Namespace(store, "a/")
    for k in ("a", "a/k1", "a/k2", "b/k"):
        store.put(k, "", lease=lease)
    r = ns.time_to_live(lease, keys=True)
    assert (r.id, r.granted_ttl, r.keys) == (lease, 60, (b"k1", b"k2"))
    assert ns.time_to_live(lease).keys == ()
    assert ns.time_to_live(lease + 1).ttl == -1


def test_leases_pass_through(store: Store) -> None:
    """grant, keep_alive_once, leases and revoke act on the store's leases, not namespaced."""
    ns = Namespace(store, "a/")
    lease = ns.grant(60, id=0x42).id
    assert lease == 0x42
    assert [s.id for s in store.leases().leases] == [0x42]
    assert [s.id for s in ns.leases().leases] == [0x42]
    assert ns.keep_alive_once(lease).ttl == 60
    ns.put("k", "v", lease=lease)
    store.put("b/k", "v", lease=lease)
    ns.revoke(lease)
    assert _raw(store) == {}


def test_lease_handle_revokes_and_sees_namespace_keys(store: Store) -> None:
    """ns.lease() keeps a lease alive; its time_to_live is the namespace's; exit revokes it."""
    ns = Namespace(store, "a/")
    with ns.lease(30) as lease:
        ns.put("k", "v", lease=lease.id)
        assert lease.time_to_live(keys=True).keys == (b"k",)
        assert store.get("a/k").kvs[0].lease == lease.id
    assert store.get("a/k").count == 0


def test_compact_passes_through(store: Store) -> None:
    """compact() compacts the store's history (revisions are shared by every namespace)."""
    ns = Namespace(store, "a/")
    ns.put("k", "1")
    ns.put("k", "2")
    ns.compact(3)
    assert store.compact_revision == 3


# --------------------------------------------------------------------------- recipes


def test_mutex_through_a_namespace_keys_land_under_the_prefix(store: Store) -> None:
    """A Mutex over a namespace writes prefix/lock/<lease>; same-named locks elsewhere differ."""
    one: Client = Namespace(store, "t1/")
    two: Client = Namespace(store, "t2/")
    with Session(one) as s1, Session(two) as s2, Session(one) as s3:
        m1, m2 = Mutex(s1, "lock"), Mutex(s2, "lock")
        m1.lock(timeout=TIMEOUT)
        m2.lock(timeout=TIMEOUT)  # another namespace: not contended
        assert m1.key == b"lock/" + format(s1.lease, "x").encode()
        raw = _keys(store.get("", from_key=True).kvs)
        assert raw == sorted([b"t1/" + m1.key, b"t2/" + m2.key])
        with pytest.raises(LockedError):
            Mutex(s3, "lock").try_lock()  # same namespace: contended
        assert one.txn([m1.is_owner()], [Op.put("job", "mine")]).succeeded
        assert not two.txn([m1.is_owner()], [Op.put("job", "x")]).succeeded
        m1.unlock()
        m3 = Mutex(s3, "lock")
        m3.lock(timeout=TIMEOUT)
        assert b"t1/" + m3.key in _keys(store.get("t1/lock/", prefix=True).kvs)
        m3.unlock()
        m2.unlock()


def test_mutex_waiter_wakes_through_a_namespace_watch(store: Store) -> None:
    """A blocked Mutex.lock in a namespace wakes when the holder unlocks (watch mapped in)."""
    ns = Namespace(store, "t1/")
    with Session(ns) as s1, Session(ns) as s2, ThreadPoolExecutor(1) as pool:
        m1, m2 = Mutex(s1, "lock"), Mutex(s2, "lock")
        m1.lock(timeout=TIMEOUT)
        waiter = pool.submit(m2.lock, TIMEOUT)
        store.put("t1/lock", "unrelated")  # not a lock key: must not hand over the lock
        store.put("t2/lock/0", "other namespace")
        with pytest.raises(concurrent.futures.TimeoutError):
            waiter.result(timeout=0.05)
        m1.unlock()
        waiter.result(timeout=TIMEOUT)
        assert m2.key.startswith(b"lock/")
        m2.unlock()


@pytest.mark.anyio
async def test_election_through_a_namespace(store: Store) -> None:
    """An Election over a namespace campaigns under the prefix; leader keys come back stripped."""
    ns = Namespace(store, "t1/")
    with Session(ns) as s1, Session(ns) as s2:
        e1, e2 = Election(s1, "leader"), Election(s2, "leader")
        with anyio.fail_after(TIMEOUT):
            await e1.acampaign("node-1")
            leader = e1.leader().kv
            assert leader.key == b"leader/" + format(s1.lease, "x").encode()
            assert leader.value == b"node-1"
            assert store.get("t1/leader/", prefix=True).kvs[0].value == b"node-1"
            async with anyio.create_task_group() as tg:
                tg.start_soon(e2.acampaign, "node-2")
                await anyio.sleep(0.02)
                e1.resign()
            assert e2.leader().kv.value == b"node-2"
            assert Election(s1, "leader").leader().kv.key.startswith(b"leader/")
        e2.resign()
    assert Namespace(store, "t2/").get("", prefix=True).count == 0


# --------------------------------------------------------------------------- typing and repr


def test_namespace_is_a_client_and_shows_its_prefix(store: Store) -> None:
    """A Namespace satisfies the Client protocol (mypy checks the annotation) and reprs well."""
    ns: Client = Namespace(store, "a/")
    assert "prefix=b'a/'" in repr(ns)
    assert Namespace(store, "a/").prefix == b"a/"
    assert Namespace(store, "a/").client is store
    with pytest.raises(TypeError, match="prefix must be str or bytes"):
        Namespace(store, 1)  # type: ignore[arg-type]


def test_watch_response_fields_other_than_events_pass_through(store: Store) -> None:
    """Created, canceled and header fields are the wrapped watch's, unchanged."""
    ns = Namespace(store, "a/")
    w = ns.watch("k", watch_id=0)
    created: WatchResponse = w.receive(timeout=TIMEOUT)
    assert (created.created, created.watch_id, created.header.revision) == (True, 0, 1)
    w.cancel()
    canceled = w.receive(timeout=TIMEOUT)
    assert canceled.canceled
    with pytest.raises(anyio.EndOfStream):
        w.receive(timeout=TIMEOUT)
    assert list(w) == []
