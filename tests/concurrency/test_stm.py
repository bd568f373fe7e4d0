"""Software transactional memory (clientv3 ``concurrency.NewSTM``): isolation, retries, threads.

Conflicts are injected deterministically: ``apply`` writes to the store directly on its first
attempt, between its own reads and the commit, and each test counts how often ``apply`` ran.
"""

from __future__ import annotations

import functools
import random
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import anyio
import anyio.lowlevel
import pytest

from etcdlite import (
    Compare,
    DeleteRangeResponse,
    Op,
    PutRequest,
    PutResponse,
    RangeRequest,
    RangeResponse,
    Store,
    TxnRequest,
    TxnResponse,
)
from etcdlite.concurrency._stm import STM, Isolation, STMConflictError, stm, to_isolation
from etcdlite.errors import CompactedError, LeaseNotFoundError

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from etcdlite import RequestOp
    from etcdlite._protocols import KV

SS = Isolation.SERIALIZABLE_SNAPSHOT
SER = Isolation.SERIALIZABLE
RR = Isolation.REPEATABLE_READS
RC = Isolation.READ_COMMITTED
ALL = tuple(Isolation)
RETRYING = (SS, SER, RR)


class RecordingKV:
    """A ``KV`` that forwards to a Store and records each call: our own test double.

    ``kinds`` names each call: ``"get"``, ``"read"`` (a txn of gets with no compares, as a
    prefetch sends) or ``"commit"`` (any other txn); ``commits`` keeps the commit requests.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.kinds: list[str] = []
        self.commits: list[TxnRequest] = []

    def get(self, key: str | bytes, **options: Any) -> RangeResponse:
        self.kinds.append("get")
        return self.store.get(key, **options)

    def put(self, key: str | bytes, value: str | bytes = b"", **options: Any) -> PutResponse:
        self.kinds.append("put")
        return self.store.put(key, value, **options)

    def delete(self, key: str | bytes, **options: Any) -> DeleteRangeResponse:
        self.kinds.append("delete")
        return self.store.delete(key, **options)

    def txn(
        self,
        compare: Iterable[Compare] = (),
        success: Iterable[RequestOp] = (),
        failure: Iterable[RequestOp] = (),
    ) -> TxnResponse:
        req = Op.txn(compare, success, failure)
        reads_only = all(type(op) is RangeRequest for op in req.success)
        if req.success and reads_only and not req.compare and not req.failure:
            self.kinds.append("read")
        else:
            self.kinds.append("commit")
            self.commits.append(req)
        return self.store.txn(req.compare, req.success, req.failure)


def _client(kv: RecordingKV) -> KV:
    """``kv`` as the protocol type (checks that the double satisfies ``KV``)."""
    return kv


def _value(store: Store, key: str) -> bytes | None:
    kvs = store.get(key).kvs
    return kvs[0].value if kvs else None


# --------------------------------------------------------------------------- isolation levels

# (key's state before the txn, the concurrent change, what apply reads first, then after it)
_CONFLICTS = {
    "overwrite": (b"1", "put", b"1", b"2"),
    "delete": (b"1", "delete", b"1", b""),
    "create": (None, "put", b"", b"2"),
}


@pytest.mark.parametrize(
    ("isolation", "conflict", "attempts"),
    [(iso, c, 1 if iso is RC else 2) for iso in ALL for c in _CONFLICTS],
    ids=lambda v: v.value if isinstance(v, Isolation) else str(v),
)
def test_write_to_a_read_key_before_commit_retries(
    isolation: Isolation, conflict: str, attempts: int
) -> None:
    """A concurrent change to a key apply read reruns apply, except under read committed."""
    before, change, first_seen, fresh_seen = _CONFLICTS[conflict]
    store = Store()
    if before is not None:
        store.put("x", before)
    runs = 0

    def apply(s: STM) -> None:
        nonlocal runs
        runs += 1
        x = s.get("x")
        if runs == 1:
            if change == "delete":
                store.delete("x")
            else:
                store.put("x", "2")
        s.put("y", b"seen:" + x)

    resp = stm(store, apply, isolation=isolation)
    assert runs == attempts
    assert resp.succeeded
    assert _value(store, "y") == b"seen:" + (first_seen if attempts == 1 else fresh_seen)


@pytest.mark.parametrize(
    ("isolation", "first_seen", "attempts"),
    [(SS, b"b0", 2), (SER, b"b0", 2), (RR, b"b1", 1), (RC, b"b1", 1)],
    ids=lambda v: v.value if isinstance(v, Isolation) else str(v),
)
def test_later_reads_use_the_first_reads_revision(
    isolation: Isolation, first_seen: bytes, attempts: int
) -> None:
    """Serializable levels read all keys at the first read's revision; the others read current."""
    store = Store()
    store.put("a", "a0")
    store.put("b", "b0")
    seen: list[bytes] = []

    def apply(s: STM) -> None:
        s.get("a")
        if not seen:
            store.put("b", "b1")
        seen.append(s.get("b"))

    stm(store, apply, isolation=isolation)
    assert seen[0] == first_seen
    assert len(seen) == attempts
    assert seen[-1] == b"b1"


@pytest.mark.parametrize("isolation", ALL, ids=lambda v: v.value)
def test_a_key_is_read_once_per_attempt(isolation: Isolation) -> None:
    """Every level answers a second read of a key from its read set, whatever changed since."""
    store = Store()
    store.put("x", "1")
    seen: list[bytes] = []

    def apply(s: STM) -> None:
        seen.append(s.get("x"))
        if len(seen) == 1:
            store.put("x", "2")
        seen.append(s.get("x"))

    stm(store, apply, isolation=isolation, max_retries=0 if isolation is RC else 1)
    assert seen[:2] == [b"1", b"1"]


@pytest.mark.parametrize(
    ("isolation", "when", "attempts"),
    [
        (SS, "after_first_read", 2),
        (SER, "after_first_read", 1),
        (RR, "after_first_read", 1),
        (RC, "after_first_read", 1),
        (SS, "before_first_read", 1),
        (SS, "no_reads", 1),
    ],
    ids=lambda v: v.value if isinstance(v, Isolation) else str(v),
)
def test_write_only_key_changed_after_the_snapshot(
    isolation: Isolation, when: str, attempts: int
) -> None:
    """Serializable snapshot retries if a key it writes unread changed after its first read."""
    store = Store()
    store.put("r", "r")
    store.put("w", "w0")
    runs = 0

    def apply(s: STM) -> None:
        nonlocal runs
        runs += 1
        if runs == 1 and when in ("before_first_read", "no_reads"):
            store.put("w", "other")
        if when != "no_reads":
            s.get("r")
        if runs == 1 and when == "after_first_read":
            store.put("w", "other")
        s.put("w", "mine")

    stm(store, apply, isolation=isolation)
    assert runs == attempts
    assert _value(store, "w") == b"mine"


@pytest.mark.parametrize(
    ("isolation", "compare", "failure"),
    [
        (
            SS,
            (
                Compare.mod_revision("r") == 2,
                Compare.mod_revision("absent") == 0,
                Compare.mod_revision("w") < 4,
            ),
            (Op.get("r"), Op.get("absent")),
        ),
        (
            SER,
            (Compare.mod_revision("r") == 2, Compare.mod_revision("absent") == 0),
            (Op.get("r"), Op.get("absent")),
        ),
        (RR, (Compare.mod_revision("r") == 2, Compare.mod_revision("absent") == 0), ()),
        (RC, (), ()),
    ],
    ids=lambda v: v.value if isinstance(v, Isolation) else "",
)
def test_commit_txn_carries_the_levels_compares(
    isolation: Isolation, compare: tuple[Compare, ...], failure: tuple[RequestOp, ...]
) -> None:
    """The commit is one txn: the level's compares, the writes, a failure branch re-reading."""
    store = Store()
    store.put("r", "1")  # revision 2
    store.put("w", "0")  # revision 3: the first read's header revision
    kv = RecordingKV(store)

    def apply(s: STM) -> None:
        s.get("r")
        s.get("absent")
        s.put("w", "1")

    stm(_client(kv), apply, isolation=isolation)
    assert kv.kinds == ["get", "get", "commit"]
    (commit,) = kv.commits
    assert commit.compare == compare
    assert commit.success == (Op.put("w", "1"),)
    assert commit.failure == failure


# --------------------------------------------------------------------------- reads and writes


@pytest.mark.parametrize("isolation", ALL, ids=lambda v: v.value)
def test_reads_see_the_txns_own_writes(isolation: Isolation) -> None:
    """get returns buffered puts (b"" after a delete); rev and the store see no pending write."""
    store = Store()
    store.put("k", "old")  # revision 2
    got: list[bytes | None] = []
    revs: list[int] = []

    def apply(s: STM) -> None:
        got.append(s.get("k"))
        s.put("k", "new")
        got.append(s.get("k"))
        got.append(_value(store, "k"))
        s.delete("k")
        got.append(s.get("k"))
        s.put(b"fresh", b"1")
        got.append(s.get("fresh"))
        revs.extend((s.rev("k"), s.rev("fresh"), s.rev("never")))
        got.append(s.get("never"))

    stm(store, apply, isolation=isolation)
    assert got == [b"old", b"new", b"old", b"", b"1", b""]
    assert revs == [2, 0, 0]
    assert store.get("k").count == 0
    assert _value(store, "fresh") == b"1"


@pytest.mark.parametrize("isolation", ALL, ids=lambda v: v.value)
def test_returns_the_committing_txns_response(isolation: Isolation) -> None:
    """stm returns the committing txn's response: the writes, in order, at one new revision."""
    store = Store()
    store.put("gone", "1")

    def apply(s: STM) -> None:
        s.put("a", "1")
        s.delete("gone")
        s.put("b", "2")

    resp = stm(store, apply, isolation=isolation)
    assert resp.succeeded
    assert resp.header.revision == store.revision == 3
    assert [type(r) for r in resp.responses] == [PutResponse, DeleteRangeResponse, PutResponse]
    assert isinstance(resp.responses[1], DeleteRangeResponse)
    assert resp.responses[1].deleted == 1


@pytest.mark.parametrize("isolation", ALL, ids=lambda v: v.value)
def test_read_only_txn_writes_nothing(isolation: Isolation) -> None:
    """An apply that only reads commits a txn with no writes, which makes no revision."""
    store = Store()
    store.put("x", "1")
    resp = stm(store, lambda s: s.get("x"), isolation=isolation)
    assert resp.succeeded
    assert resp.responses == ()
    assert store.revision == 2


@pytest.mark.parametrize("isolation", ALL, ids=lambda v: v.value)
def test_prefetch_reads_its_keys_in_one_request(isolation: Isolation) -> None:
    """prefetch= reads its keys in one txn before apply; apply's gets of them send nothing."""
    store = Store()
    for k in ("a", "b"):
        store.put(k, k.upper())
    kv = RecordingKV(store)
    seen: list[bytes] = []
    kinds_in_apply: list[list[str]] = []

    def apply(s: STM) -> None:
        kinds_in_apply.append(list(kv.kinds))
        seen.extend(s.get(k) for k in ("a", "b", "c"))
        kinds_in_apply.append(list(kv.kinds))

    stm(_client(kv), apply, isolation=isolation, prefetch=["a", b"b", "c"])
    assert kinds_in_apply == [["read"], ["read"]]
    assert seen == [b"A", b"B", b""]
    assert kv.kinds == ["read", "commit"]


@pytest.mark.parametrize(
    ("isolation", "kinds"),
    [
        (SS, ["get", "commit", "commit"]),
        (SER, ["get", "commit", "commit"]),
        (RR, ["get", "commit", "get", "commit"]),
    ],
    ids=lambda v: v.value if isinstance(v, Isolation) else "",
)
def test_retry_starts_from_the_failed_commits_reads(isolation: Isolation, kinds: list[str]) -> None:
    """After a conflict, serializable levels reuse the failed commit's failure-branch reads."""
    store = Store()
    store.put("x", "1")
    kv = RecordingKV(store)
    runs = 0

    def apply(s: STM) -> None:
        nonlocal runs
        runs += 1
        x = s.get("x")
        if runs == 1:
            store.put("x", "2")
        s.put("y", x)

    stm(_client(kv), apply, isolation=isolation)
    assert kv.kinds == kinds
    assert _value(store, "y") == b"2"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: s.get(1), "key must be str or bytes, not int"),
        (lambda s: s.rev(None), "key must be str or bytes, not NoneType"),
        (lambda s: s.put("k", 1), "value must be str or bytes, not int"),
        (lambda s: s.put("k", "v", lease="1"), "lease must be int, not str"),
        (lambda s: s.delete(2.0), "key must be str or bytes, not float"),
    ],
)
def test_bad_keys_and_values_raise_type_error(call: Any, message: str) -> None:
    """The STM's methods refuse keys and values that are not str or bytes; nothing is written."""
    store = Store()
    with pytest.raises(TypeError, match=message):
        stm(store, call)
    assert store.revision == 1


# --------------------------------------------------------------------------- leases


def test_put_lease_reaches_the_commit() -> None:
    """put(lease=) reaches the commit; an unknown lease fails it with LeaseNotFoundError."""
    store = Store()
    kv = RecordingKV(store)
    with pytest.raises(LeaseNotFoundError):
        stm(_client(kv), lambda s: s.put("k", "v", lease=0x1234))
    (commit,) = kv.commits
    assert commit.success == (Op.put("k", "v", lease=0x1234),)
    assert isinstance(commit.success[0], PutRequest)
    assert store.revision == 1


def test_put_with_a_granted_lease_attaches_the_key() -> None:
    """A key an stm() puts with a lease is attached to it: revoking the lease deletes it."""
    store = Store()
    lease = store.grant(60).id
    stm(store, lambda s: s.put("k", "v", lease=lease))
    assert store.get("k").kvs[0].lease == lease
    assert store.time_to_live(lease, keys=True).keys == (b"k",)
    store.revoke(lease)
    assert store.get("k").count == 0


# --------------------------------------------------------------------------- failures


@pytest.mark.parametrize(
    ("isolation", "fail_on"),
    [(iso, 1) for iso in ALL] + [(iso, 2) for iso in RETRYING],
    ids=lambda v: v.value if isinstance(v, Isolation) else f"attempt{v}",
)
def test_exception_in_apply_propagates_and_writes_nothing(
    isolation: Isolation, fail_on: int
) -> None:
    """An exception from apply propagates as is and nothing is written, on any attempt."""
    store = Store()
    store.put("x", "1")
    boom = RuntimeError("boom")
    runs = 0

    def apply(s: STM) -> None:
        nonlocal runs
        runs += 1
        s.get("x")
        s.put("y", "1")
        s.delete("x")
        if runs == 1 and fail_on == 2:
            store.put("x", "2")
        if runs == fail_on:
            raise boom

    with pytest.raises(RuntimeError) as info:
        stm(store, apply, isolation=isolation)
    assert info.value is boom
    assert runs == fail_on
    assert store.revision == 1 + fail_on
    assert store.get("y").count == 0
    assert _value(store, "x") == (b"1" if fail_on == 1 else b"2")


def test_store_errors_propagate() -> None:
    """A store error in a read (the snapshot revision compacted away) propagates out of stm."""
    store = Store()
    store.put("a", "1")
    store.put("b", "1")

    def apply(s: STM) -> None:
        s.get("a")
        store.put("b", "2")
        store.compact(store.revision)
        s.get("b")

    with pytest.raises(CompactedError):
        stm(store, apply)
    assert _value(store, "b") == b"2"


@pytest.mark.parametrize(
    ("max_retries", "conflicts", "gives_up"),
    [(0, 0, False), (0, 1, True), (1, 1, False), (3, 3, False), (3, 4, True), (None, 20, False)],
)
@pytest.mark.parametrize("isolation", RETRYING, ids=lambda v: v.value)
def test_max_retries_bounds_the_attempts(
    isolation: Isolation, max_retries: int | None, conflicts: int, gives_up: bool
) -> None:
    """max_retries=n retries n conflicts, then raises STMConflictError; None retries forever."""
    store = Store()
    store.put("x", "0")
    runs = 0

    def apply(s: STM) -> None:
        nonlocal runs
        runs += 1
        x = s.get("x")
        if runs <= conflicts:
            store.put("x", str(runs))
        s.put("y", x)

    if gives_up:
        assert max_retries is not None
        with pytest.raises(STMConflictError, match=f"after {max_retries + 1} attempts") as info:
            stm(store, apply, isolation=isolation, max_retries=max_retries)
        assert info.value.attempts == runs == max_retries + 1
        assert store.get("y").count == 0
    else:
        stm(store, apply, isolation=isolation, max_retries=max_retries)
        assert runs == conflicts + 1
        assert _value(store, "y") == str(conflicts).encode()


def test_read_committed_never_conflicts() -> None:
    """Read committed sends no compares: it commits over a concurrent write (a lost update)."""
    store = Store()
    store.put("n", "0")

    def apply(s: STM) -> None:
        n = int(s.get("n"))
        store.put("n", "100")
        s.put("n", str(n + 1))

    stm(store, apply, isolation=RC, max_retries=0)
    assert _value(store, "n") == b"1"


# --------------------------------------------------------------------------- arguments


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"isolation": 1}, TypeError, "isolation must be str or Isolation, not int"),
        ({"isolation": None}, TypeError, "isolation must be str or Isolation, not NoneType"),
        ({"isolation": b"serializable"}, TypeError, "not bytes"),
        ({"isolation": "snapshot"}, ValueError, "isolation must be one of .*not 'snapshot'"),
        ({"max_retries": -1}, ValueError, "max_retries must be None or >= 0, not -1"),
        ({"max_retries": 1.5}, TypeError, "max_retries must be int, not float"),
        ({"max_retries": True}, TypeError, "max_retries must be int, not bool"),
        ({"prefetch": "abc"}, TypeError, "not a single key"),
        ({"prefetch": [1]}, TypeError, "prefetch key must be str or bytes, not int"),
    ],
)
def test_bad_options_raise_before_apply_runs(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    """Bad options raise TypeError or ValueError naming the option, and apply never runs."""
    runs: list[STM] = []
    with pytest.raises(error, match=message):
        stm(Store(), runs.append, **options)
    assert runs == []


def test_apply_must_be_a_plain_callable() -> None:
    """A non-callable apply is a TypeError; an async def apply is refused, not left unawaited."""
    store = Store()
    with pytest.raises(TypeError, match="apply must be callable, not str"):
        stm(store, "apply")  # type: ignore[arg-type]

    async def apply(s: STM) -> None:
        s.put("k", "v")

    with pytest.raises(TypeError, match="plain function"):
        stm(store, apply)
    assert store.revision == 1


@pytest.mark.parametrize(
    ("value", "level"),
    [
        ("serializable_snapshot", SS),
        ("Serializable", SER),
        ("REPEATABLE_READS", RR),
        ("read_committed", RC),
        (RR, RR),
    ],
)
def test_isolation_accepts_members_and_names(value: str | Isolation, level: Isolation) -> None:
    """isolation= takes an Isolation or its name in any case; the STM reports the level it runs."""
    levels: list[Isolation] = []
    stm(Store(), lambda s: levels.append(s.isolation), isolation=value)
    assert levels == [level]
    assert to_isolation(value) is level


def test_default_isolation_is_serializable_snapshot() -> None:
    """Without isolation=, stm runs at serializable snapshot, as clientv3 NewSTM does."""
    levels: list[Isolation] = []
    stm(Store(), lambda s: levels.append(s.isolation))
    assert levels == [SS]


# --------------------------------------------------------------------------- concurrency

ACCOUNTS = tuple(f"acct/{i}" for i in range(5))


def _transfer(s: STM, src: str, dst: str, amount: int, tally: list[int] | None = None) -> None:
    if tally is not None:
        tally.append(1)
    a, b = int(s.get(src)), int(s.get(dst))
    if a >= amount:
        s.put(src, str(a - amount))
        s.put(dst, str(b + amount))


def _balances(store: Store) -> list[int]:
    return [int(store.get(a).kvs[0].value) for a in ACCOUNTS]


@pytest.fixture
def fast_switching() -> Iterator[None]:
    """Let threads switch every microsecond, so that transfers interleave and conflict."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


@pytest.mark.usefixtures("fast_switching")
@pytest.mark.parametrize("isolation", RETRYING, ids=lambda v: v.value)
def test_concurrent_transfers_conserve_the_total(isolation: Isolation) -> None:
    """8 threads x 200 random transfers over 5 accounts: every txn commits, the total is kept."""
    threads, transfers = 8, 200
    store = Store()
    for a in ACCOUNTS:
        store.put(a, "1000")
    start = threading.Barrier(threads)

    def worker(n: int) -> tuple[int, int]:
        rng = random.Random(n)
        tally: list[int] = []
        start.wait(timeout=30)
        commits = 0
        for _ in range(transfers):
            src, dst = rng.sample(ACCOUNTS, 2)
            amount = rng.randint(1, 300)
            apply = functools.partial(_transfer, src=src, dst=dst, amount=amount, tally=tally)
            if stm(store, apply, isolation=isolation).succeeded:
                commits += 1
        return commits, len(tally)

    with ThreadPoolExecutor(threads) as pool:
        futures = [pool.submit(worker, n) for n in range(threads)]
        results = [f.result(timeout=60) for f in futures]
    assert [commits for commits, _ in results] == [transfers] * threads
    # The threads did contend: some attempts conflicted and were retried.
    assert sum(attempts for _, attempts in results) > threads * transfers
    balances = _balances(store)
    assert sum(balances) == 1000 * len(ACCOUNTS)
    assert min(balances) >= 0
    store._check()


@pytest.mark.anyio
async def test_stm_from_async_tasks() -> None:
    """Async tasks call stm inline or via worker threads; all commit and the total is kept."""
    store = Store()
    for a in ACCOUNTS:
        store.put(a, "1000")
    commits: list[int] = []

    async def worker(n: int) -> None:
        rng = random.Random(n)
        for i in range(50):
            src, dst = rng.sample(ACCOUNTS, 2)
            apply = functools.partial(_transfer, src=src, dst=dst, amount=rng.randint(1, 300))
            if i % 2:
                resp = stm(store, apply)
            else:
                resp = await anyio.to_thread.run_sync(stm, store, apply)
            commits.append(resp.header.revision)
            await anyio.lowlevel.checkpoint()

    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            for n in range(4):
                tg.start_soon(worker, n)
    assert len(commits) == 200
    assert sum(_balances(store)) == 1000 * len(ACCOUNTS)
