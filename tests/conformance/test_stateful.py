"""Random KV histories, played on a Store and on a fresh real etcd, compared call by call.

A Hypothesis ``RuleBasedStateMachine`` sends the same random puts, deletes, ranges, txns and
compactions to both and requires equal normalized answers (responses with headers reduced to
the revision, or the same etcd error). On the ``store`` backend it runs the Store alone and
checks its invariants after every step. It stays clear of the registered divergences: no
unknown sort options, and txns never mix a bad range with a bad put (txn-check-order).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule, run_state_machine_as_test

from etcdlite import Compare, CompareResult, CompareTarget, Op, SortOrder, SortTarget, Store
from etcdlite.errors import EtcdError

from ._etcd import etcd_binary, running_etcd
from ._gateway import EtcdKV
from ._harness import normalize

if TYPE_CHECKING:
    from collections.abc import Callable

    from etcdlite import RequestOp

    from ._harness import KVBackend

KEYS = st.sampled_from([b"a", b"a/1", b"a/2", b"b", b"\xff"])
VALUES = st.sampled_from([b"", b"x", b"y", b"zz"])
REVISIONS = st.integers(min_value=-2, max_value=14)


@st.composite
def ranges(draw: st.DrawFn) -> dict[str, Any]:
    """Keyword arguments of a get (or Op.get): a key or interval and the read options."""
    kw: dict[str, Any] = {}
    shape = draw(st.sampled_from(["key", "prefix", "from_key", "range"]))
    if shape == "prefix":
        kw["prefix"] = True
    elif shape == "from_key":
        kw["from_key"] = True
    elif shape == "range":
        kw["range_end"] = draw(KEYS)
    if draw(st.booleans()):
        kw["limit"] = draw(st.integers(min_value=0, max_value=3))
    if draw(st.booleans()):
        kw["sort_target"] = draw(st.sampled_from(list(SortTarget)))
        kw["sort_order"] = draw(st.sampled_from(list(SortOrder)))
    if draw(st.booleans()):
        name = draw(
            st.sampled_from(
                [
                    "min_mod_revision",
                    "max_mod_revision",
                    "min_create_revision",
                    "max_create_revision",
                ]
            )
        )
        kw[name] = draw(st.integers(min_value=0, max_value=12))
    kw["keys_only"] = draw(st.booleans())
    kw["count_only"] = draw(st.booleans())
    return kw


@st.composite
def write_ops(draw: st.DrawFn) -> RequestOp:
    """A put, delete or plain range for a txn (no ignore_*: see the module docstring)."""
    kind = draw(st.sampled_from(["put", "delete", "get"]))
    key = draw(KEYS)
    if kind == "put":
        return Op.put(key, draw(VALUES), prev_kv=draw(st.booleans()))
    if kind == "delete":
        return Op.delete(key, prefix=draw(st.booleans()), prev_kv=draw(st.booleans()))
    return Op.get(key, **draw(ranges()))


@st.composite
def compares(draw: st.DrawFn) -> Compare:
    """A compare on one key or a prefix, any target and result."""
    target = draw(st.sampled_from(list(CompareTarget)))
    result = draw(st.sampled_from(list(CompareResult)))
    operand: object = draw(VALUES) if target is CompareTarget.VALUE else draw(REVISIONS)
    return Compare(
        draw(KEYS),
        target,
        result,
        operand,  # type: ignore[arg-type]
        draw(st.sampled_from([b"", b"b"])),
    )


class KVMachine(RuleBasedStateMachine):
    """The same operations on a Store and (optionally) a fresh etcd."""

    with_etcd = False

    def __init__(self) -> None:
        super().__init__()
        self._stack = contextlib.ExitStack()
        self.store = Store()
        self.etcd: EtcdKV | None = None
        if self.with_etcd:
            proc = self._stack.enter_context(running_etcd())
            self.etcd = EtcdKV(proc.url, version=proc.version)

    def teardown(self) -> None:
        self._stack.close()

    def _both(self, call: Callable[[KVBackend], object]) -> None:
        expected = _outcome(call, self.store)
        self.store._check()
        if self.etcd is not None:
            assert _outcome(call, self.etcd) == expected

    @rule(key=KEYS, value=VALUES, prev_kv=st.booleans(), ignore=st.sampled_from(["", "v", "l"]))
    def put(self, key: bytes, value: bytes, prev_kv: bool, ignore: str) -> None:
        self._both(
            lambda kv: kv.put(
                key,
                b"" if ignore == "v" else value,
                prev_kv=prev_kv,
                ignore_value=ignore == "v",
                ignore_lease=ignore == "l",
            )
        )

    @rule(key=KEYS, prefix=st.booleans(), prev_kv=st.booleans())
    def delete(self, key: bytes, prefix: bool, prev_kv: bool) -> None:
        self._both(lambda kv: kv.delete(key, prefix=prefix, prev_kv=prev_kv))

    @rule(key=KEYS, options=ranges(), revision=REVISIONS)
    def get(self, key: bytes, options: dict[str, Any], revision: int) -> None:
        self._both(lambda kv: kv.get(key, revision=revision, **options))

    @rule(
        cmps=st.lists(compares(), max_size=2),
        success=st.lists(write_ops(), max_size=3),
        failure=st.lists(write_ops(), max_size=2),
        nested=st.booleans(),
    )
    def txn(
        self, cmps: list[Compare], success: list[RequestOp], failure: list[RequestOp], nested: bool
    ) -> None:
        if nested:
            success = [Op.txn(cmps, failure, success)]
        self._both(lambda kv: kv.txn(cmps, success, failure))

    @rule(revision=st.integers(min_value=1, max_value=14))
    def compact(self, revision: int) -> None:
        self._both(lambda kv: kv.compact(revision))


def _outcome(call: Callable[[KVBackend], object], kv: KVBackend) -> object:
    try:
        return normalize(call(kv))
    except EtcdError as err:
        return normalize(err)


SETTINGS = settings(
    max_examples=12,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def test_random_histories(backend: str) -> None:
    """Random put/delete/range/txn/compact histories get the same answers from etcd and the Store."""

    class Machine(KVMachine):
        with_etcd = backend == "etcd"

    if Machine.with_etcd:
        etcd_binary()  # skip (or fail under ETCDLITE_REQUIRE_ETCD=1) before Hypothesis starts
    run_state_machine_as_test(Machine, settings=SETTINGS)
