"""Differential state machine: random KV histories on ``Store`` and on the reference model.

Each step sends one random request (put, get, delete, txn or compact) to an
:class:`etcdlite.Store` and to :class:`~reference.Reference`, and asserts identical responses
(top-level headers compared by revision only) or identical errors (type and etcd message).
Besides the general rules, a few aim at corners that random requests seldom reach: sorted
ranges over several keys (ties, ``more``), txns reading at revisions around the compaction
(``checkRange``), and a from-key delete followed by a put in one txn. Each history starts with
a few puts, on a store with ``compat="3.5"`` or ``"3.4"`` (reads must not tell them apart).
After every step the store's core invariants hold (``Store._check``) and its current keyspace
equals the model's; a rejected request must leave the revision and the data unchanged; at the
end of each history every retained revision reads the same on both.

Keys come from a small alphabet (``a``, ``ab``, ``b``, ``b\\xff``, ``c``) so that single keys,
prefixes, from-key and explicit ranges overlap; ``max_txn_ops`` is 5 so that budgets are hit.

Running it:

* ``pytest tests/model`` runs the quick profile (a few hundred histories, well under a
  minute); ``pytest -m slow tests/model`` runs the long one (thousands of histories);
* ``ETCDLITE_MODEL_EXAMPLES=20000 pytest -m slow tests/model`` runs that many histories, and
  ``ETCDLITE_MODEL_STEPS=200`` makes each one longer (defaults: 2000 of up to 60 steps);
* ``--hypothesis-seed=N`` replays one run; ``--hypothesis-show-statistics`` shows the share of
  histories with each kind of step (``txn: ok succeeded, wrote``, ``compact: ok``,
  ``get: ok historical``, ``txn: CompactedError`` ...);
* a failure prints the shrunk history as a runnable sequence of steps, and Hypothesis replays it
  first on the next run.
"""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING, Literal, NamedTuple

import attrs
import pytest
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from etcdlite import (
    Compare,
    CompareResult,
    CompareTarget,
    DeleteRangeRequest,
    EtcdError,
    Op,
    PutRequest,
    RangeRequest,
    RangeResponse,
    RequestOp,
    ResponseHeader,
    SortOrder,
    SortTarget,
    Store,
    TxnRequest,
)
from etcdlite.errors import KeyNotFoundError

from .reference import Reference, ReferencePanic, client_range

if TYPE_CHECKING:
    from collections.abc import Callable

Compat = Literal["3.4", "3.5"]
MAX_TXN_OPS = 5
KEYS = (b"a", b"ab", b"b", b"b\xff", b"c")
VALUES = (b"", b"x", b"y", b"xy")
#: Keys of requests: the alphabet, and now and then the empty key (etcd: key is not provided).
OP_KEYS = (*KEYS * 6, b"")
PREFIXES = (b"", b"a", b"b", b"b\xff", b"\xff")
RANGE_ENDS = (b"\0", b"a", b"ab", b"b", b"b\xff", b"c", b"d")
CMP_TARGETS = {
    CompareTarget.VERSION: Compare.version,
    CompareTarget.CREATE: Compare.create_revision,
    CompareTarget.MOD: Compare.mod_revision,
    CompareTarget.VALUE: Compare.value,
    CompareTarget.LEASE: Compare.lease,
}


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


#: Every CI run: quick.
QUICK = settings(max_examples=300, stateful_step_count=40, deadline=None, print_blob=True)
#: ``-m slow``: thousands of longer histories.
LONG = settings(
    max_examples=_env_int("ETCDLITE_MODEL_EXAMPLES", 2000),
    stateful_step_count=_env_int("ETCDLITE_MODEL_STEPS", 60),
    deadline=None,
    print_blob=True,
)


# --------------------------------------------------------------------------- strategies


class Form(NamedTuple):
    """A key range as the ``Store`` methods take it."""

    key: bytes
    range_end: bytes | None = None
    prefix: bool = False
    from_key: bool = False


@st.composite
def forms(draw: st.DrawFn, *, single_weight: int = 1) -> Form:
    """One key, a prefix, every key from a key on, or ``[key, range_end)``."""
    kind = draw(st.sampled_from(("single",) * single_weight + ("prefix", "from", "range")))
    if kind == "single":
        return Form(draw(st.sampled_from(OP_KEYS)))
    if kind == "prefix":
        return Form(draw(st.sampled_from(PREFIXES)), prefix=True)
    if kind == "from":
        return Form(draw(st.sampled_from((*KEYS, b"\xff", b""))), from_key=True)
    return Form(draw(st.sampled_from(OP_KEYS)), range_end=draw(st.sampled_from(RANGE_ENDS)))


def revisions(current: int) -> st.SearchStrategy[int]:
    """A revision to read at: often 0 (current), else any from -2 to one past the current one."""
    return st.sampled_from((0, 0, 0, -1, -2, current + 1, *range(1, current + 1)))


@st.composite
def get_requests(draw: st.DrawFn, current: int) -> tuple[Form, dict[str, object]]:
    """A range: its form and the keyword options of ``Store.get`` (often none, then one key)."""
    if draw(st.booleans()):
        return draw(forms(single_weight=3)), {}
    form = draw(forms())
    options: dict[str, object] = {
        "revision": draw(revisions(current)),
        "limit": draw(st.one_of(st.just(0), st.integers(-1, 4))),
        "sort_target": draw(st.sampled_from(SortTarget)),
        "sort_order": draw(st.sampled_from(SortOrder)),
        "serializable": draw(st.booleans()),
        "keys_only": draw(st.booleans()),
        "count_only": draw(st.sampled_from((False, False, False, True))),
    }
    if draw(st.booleans()):
        bound = st.sampled_from((0, 0, *range(-1, current + 2)))
        for name in (
            "min_mod_revision",
            "max_mod_revision",
            "min_create_revision",
            "max_create_revision",
        ):
            options[name] = draw(bound)
    return form, options


def _build_get(form: Form, options: dict[str, object]) -> RangeRequest:
    req = Op.get(
        form.key,
        range_end=form.range_end,
        prefix=form.prefix,
        from_key=form.from_key,
        **options,  # type: ignore[arg-type]
    )
    assert (req.key, req.range_end) == client_range(
        *form[:2], prefix=form.prefix, from_key=form.from_key
    )
    return req


@st.composite
def put_requests(draw: st.DrawFn) -> PutRequest:
    """A put; now and then with ``ignore_value``/``ignore_lease`` (and their errors) or a lease."""
    key = draw(st.sampled_from(OP_KEYS))
    ignore_value = draw(st.sampled_from((False,) * 7 + (True,)))
    ignore_lease = draw(st.sampled_from((False,) * 7 + (True,)))
    if ignore_value:
        value = draw(st.sampled_from((b"", b"", b"", b"x")))
    else:
        value = draw(st.sampled_from(VALUES))
    lease = draw(st.sampled_from((0,) * (3 if ignore_lease else 7) + (1,)))
    return Op.put(
        key,
        value,
        lease=lease,
        prev_kv=draw(st.booleans()),
        ignore_value=ignore_value,
        ignore_lease=ignore_lease,
    )


@st.composite
def delete_requests(draw: st.DrawFn) -> tuple[Form, bool]:
    """A delete: its form and ``prev_kv``."""
    return draw(forms(single_weight=2)), draw(st.booleans())


def _build_delete(form: Form, prev_kv: bool) -> DeleteRangeRequest:
    req = Op.delete(
        form.key,
        range_end=form.range_end,
        prefix=form.prefix,
        from_key=form.from_key,
        prev_kv=prev_kv,
    )
    assert (req.key, req.range_end) == client_range(
        *form[:2], prefix=form.prefix, from_key=form.from_key
    )
    return req


@st.composite
def compares(draw: st.DrawFn, current: int) -> Compare:
    """A compare on any target with any operator, mostly of one key; rarely a mismatched operand."""
    form = draw(forms(single_weight=4))
    target = draw(st.sampled_from(CompareTarget))
    result = draw(st.sampled_from(CompareResult))
    operand: int | bytes
    if target is CompareTarget.VALUE:
        operand = draw(st.sampled_from(VALUES))
    elif target is CompareTarget.VERSION:
        operand = draw(st.integers(0, 3))
    elif target is CompareTarget.LEASE:
        operand = draw(st.sampled_from((0, 0, 1)))
    else:
        operand = draw(st.integers(0, current + 1))
    builder = CMP_TARGETS[target](
        form.key, range_end=form.range_end, prefix=form.prefix, from_key=form.from_key
    )
    if result is CompareResult.EQUAL:
        cmp = builder == operand
    elif result is CompareResult.NOT_EQUAL:
        cmp = builder != operand
    elif result is CompareResult.GREATER:
        cmp = builder > operand
    else:
        cmp = builder < operand
    if draw(st.integers(0, 15)) == 0:
        # etcd compares against zero when the operand does not fit the target (compareKV).
        other: int | bytes = draw(st.sampled_from(VALUES)) if isinstance(operand, int) else 1
        cmp = attrs.evolve(cmp, operand=other)
    return cmp


def plain_ops(current: int) -> st.SearchStrategy[RequestOp]:
    """A put, range or delete, as an op of a txn."""
    return st.one_of(
        put_requests(),
        get_requests(current).map(lambda fo: _build_get(*fo)),
        delete_requests().map(lambda fp: _build_delete(*fp)),
    )


@st.composite
def txn_requests(draw: st.DrawFn, current: int) -> TxnRequest:
    """A txn of up to 4 compares and ops a branch, and nested txns (one level) of up to 2.

    Now and then a branch gets 6 ops, one more than ``MAX_TXN_OPS``; a nested txn is also too
    big when its parent leaves it less than its own size.
    """
    nested = st.builds(
        TxnRequest,
        st.lists(compares(current), max_size=2).map(tuple),
        st.lists(plain_ops(current), max_size=2).map(tuple),
        st.lists(plain_ops(current), max_size=2).map(tuple),
    )
    ops = st.one_of(plain_ops(current), nested)
    sizes = st.sampled_from((0, 1, 1, 2, 2, 3, 3, 4) * 4 + (MAX_TXN_OPS + 1,))
    return Op.txn(
        draw(st.lists(compares(current), max_size=3)),
        draw(sizes.flatmap(lambda n: st.lists(ops, min_size=n, max_size=n))),
        draw(sizes.flatmap(lambda n: st.lists(ops, min_size=n, max_size=n))),
    )


# --------------------------------------------------------------------------- helpers


def _normalized(resp: object) -> object:
    """A top-level response with its header reduced to the revision."""
    header = getattr(resp, "header", None)
    assert isinstance(header, ResponseHeader), resp
    return attrs.evolve(resp, header=ResponseHeader(revision=header.revision))  # type: ignore[misc]


def _has_nested(txn: TxnRequest) -> bool:
    return any(isinstance(op, TxnRequest) for op in (*txn.success, *txn.failure))


def _writes(txn: TxnRequest) -> bool:
    return any(
        _writes(op) if isinstance(op, TxnRequest) else not isinstance(op, RangeRequest)
        for op in (*txn.success, *txn.failure)
    )


Outcome = tuple[str, object]


# --------------------------------------------------------------------------- the machine


class KVMachine(RuleBasedStateMachine):
    """A Store and the reference model, driven with the same random requests."""

    def __init__(self) -> None:
        super().__init__()
        self.store = Store(max_txn_ops=MAX_TXN_OPS)
        self.model = Reference(max_txn_ops=MAX_TXN_OPS)
        #: Set once a check failed, so that teardown does not pile a second report on it.
        self.diverged = False

    # -- driving both ----------------------------------------------------------------------

    def _everything(self, revision: int = 0) -> RangeResponse:
        return self.store.get(b"\0", from_key=True, revision=revision)

    def _play(
        self, kind: str, model_call: Callable[[], object], store_call: Callable[[], object]
    ) -> Outcome:
        """Run one request on both; assert the same outcome; return it."""
        self.diverged = True
        rev_before = self.store.revision
        data_before = self._everything()
        expected: Outcome
        try:
            expected = ("ok", model_call())
        except EtcdError as exc:
            expected = ("error", (type(exc), str(exc)))
        except ReferencePanic:
            expected = ("panic", None)
        actual: Outcome
        label = ""
        try:
            actual = ("ok", _normalized(store_call()))
        except EtcdError as exc:
            actual = ("error", (type(exc), str(exc)))
            label = type(exc).__name__
            if expected[0] == "panic" and isinstance(exc, KeyNotFoundError):
                # Where etcd panics the store refuses with the error etcd logs before it
                # panics (divergence txn-ignore-after-delete), and changes nothing.
                actual = ("panic", None)
                label = "etcd panics, store raises KeyNotFoundError"
        assert actual == expected
        if label:
            assert self.store.revision == rev_before, "a rejected request changed the revision"
            assert self._everything() == data_before, "a rejected request changed the data"
            event(f"{kind}: {label}")
        self.diverged = False
        return actual

    # -- rules -----------------------------------------------------------------------------

    @initialize(
        compat=st.sampled_from(("3.5", "3.4")),
        puts=st.lists(st.tuples(st.sampled_from(KEYS), st.sampled_from(VALUES)), max_size=8),
    )
    def start(self, compat: Compat, puts: list[tuple[bytes, bytes]]) -> None:
        """A store on either compat profile, with a few revisions of history to begin with.

        ``compat="3.4"`` makes compaction drop a tombstone at the compaction revision, which
        reads must not see.
        """
        self.store = Store(max_txn_ops=MAX_TXN_OPS, compat=compat)
        event(f"compat {compat}")
        for key, value in puts:
            req = Op.put(key, value)
            self._play(
                "put", functools.partial(self.model.put, req), functools.partial(self.store.do, req)
            )

    @rule(key=st.sampled_from(KEYS), value=st.sampled_from(VALUES))
    def put_plain(self, key: bytes, value: bytes) -> None:
        """A plain put (the store's fast path)."""
        req = Op.put(key, value)
        self._play("put", lambda: self.model.put(req), lambda: self.store.put(key, value))

    @rule(req=put_requests(), use_do=st.booleans())
    def put(self, req: PutRequest, use_do: bool) -> None:
        """Put, through ``Store.put`` or ``Store.do``."""

        def call() -> object:
            if use_do:
                return self.store.do(req)
            return self.store.put(
                req.key,
                req.value,
                lease=req.lease,
                prev_kv=req.prev_kv,
                ignore_value=req.ignore_value,
                ignore_lease=req.ignore_lease,
            )

        if self._play("put", lambda: self.model.put(req), call)[0] == "ok":
            event("put: ok")

    @rule(data=st.data(), use_do=st.booleans())
    def get(self, data: st.DataObject, use_do: bool) -> None:
        """Range, through ``Store.get`` or ``Store.do``, with any options."""
        form, options = data.draw(get_requests(self.model.revision))
        req = _build_get(form, options)

        def call() -> object:
            if use_do:
                return self.store.do(req)
            return self.store.get(
                form.key,
                range_end=form.range_end,
                prefix=form.prefix,
                from_key=form.from_key,
                **options,  # type: ignore[arg-type]
            )

        outcome = self._play("get", lambda: self.model.range(req), call)
        if outcome[0] == "ok":
            historical = 0 < req.revision < self.model.revision
            event("get: ok historical" if historical else "get: ok current")

    @rule(data=st.data())
    def get_history(self, data: st.DataObject) -> None:
        """Range at an old revision: from just below the compaction to the current one."""
        current = self.model.revision
        rev = data.draw(st.sampled_from(range(max(self.model.compacted - 1, 1), current + 1)))
        form, options = data.draw(get_requests(current))
        options["revision"] = rev
        req = _build_get(form, options)
        if self._play("get", lambda: self.model.range(req), lambda: self.store.do(req))[0] == "ok":
            event("get: ok historical" if rev < current else "get: ok current")

    @rule(
        form=st.sampled_from(
            (
                Form(b"", prefix=True),
                Form(b"a", from_key=True),
                Form(b"ab", range_end=b"c"),
                Form(b"b", prefix=True),
            )
        ),
        sort_target=st.sampled_from(SortTarget),
        sort_order=st.sampled_from(SortOrder),
        limit=st.integers(-1, 4),
        data=st.data(),
    )
    def get_sorted(
        self,
        form: Form,
        sort_target: SortTarget,
        sort_order: SortOrder,
        limit: int,
        data: st.DataObject,
    ) -> None:
        """Range over several keys, sorted any way, with a limit (ties, `more`, limit + 1)."""
        options: dict[str, object] = {
            "sort_target": sort_target,
            "sort_order": sort_order,
            "limit": limit,
            "revision": data.draw(revisions(self.model.revision)),
        }
        req = _build_get(form, options)
        if self._play("get", lambda: self.model.range(req), lambda: self.store.do(req))[0] == "ok":
            event("get: ok sorted")

    @rule(data=st.data())
    def txn_reads(self, data: st.DataObject) -> None:
        """A txn whose ranges read at -2, -1, 0, around the compaction and the current revision.

        etcd checks a txn's range revisions against the compaction (``checkRange``) before it
        runs anything, negative ones included; a put makes some of these txns write.
        """
        current, compacted = self.model.revision, self.model.compacted
        revs = st.sampled_from((-2, -1, 0, compacted - 1, compacted, compacted + 1, current))
        reads = st.lists(
            st.builds(
                lambda fo, rev: _build_get(fo[0], {**fo[1], "revision": rev}),
                get_requests(current),
                st.one_of(revs, st.just(current + 1)),
            ),
            min_size=1,
            max_size=2,
        )
        writes = st.lists(put_requests(), max_size=1)
        compare = data.draw(st.lists(compares(current), max_size=1))
        success: list[RequestOp] = [*data.draw(reads), *data.draw(writes)]
        req = Op.txn(compare, success, data.draw(reads))
        if self._play("txn", lambda: self.model.txn(req), lambda: self.store.do(req))[0] == "ok":
            event("txn: ok reads at revisions")

    @rule(
        start=st.sampled_from(KEYS),
        put=st.builds(
            Op.put,
            st.sampled_from(KEYS),
            st.sampled_from(VALUES),
            prev_kv=st.booleans(),
            ignore_value=st.booleans(),
        ),
        nested=st.booleans(),
        read=st.booleans(),
    )
    def txn_put_after_delete(self, start: bytes, put: PutRequest, nested: bool, read: bool) -> None:
        """A from-key delete, then a put, in one txn (etcd's duplicate-key check lets it pass).

        The put makes a new incarnation at the txn's revision, right after its tombstone; with
        ``ignore_value`` on a key the delete removed, etcd panics and the store must refuse.
        """
        if put.ignore_value:
            put = attrs.evolve(put, value=b"")
        ops: list[RequestOp] = [Op.delete(start, from_key=True, prev_kv=True)]
        ops.append(Op.txn((), [put]) if nested else put)
        if read:
            ops.append(Op.get(b"\0", from_key=True))
        req = Op.txn((), ops)
        if self._play("txn", lambda: self.model.txn(req), lambda: self.store.do(req))[0] == "ok":
            event("txn: ok put after delete")

    @rule(data=st.data(), use_do=st.booleans())
    def delete(self, data: st.DataObject, use_do: bool) -> None:
        """DeleteRange, through ``Store.delete`` or ``Store.do``."""
        form, prev_kv = data.draw(delete_requests())
        req = _build_delete(form, prev_kv)

        def call() -> object:
            if use_do:
                return self.store.do(req)
            return self.store.delete(
                form.key,
                range_end=form.range_end,
                prefix=form.prefix,
                from_key=form.from_key,
                prev_kv=prev_kv,
            )

        rev = self.model.revision
        if self._play("delete", lambda: self.model.delete_range(req), call)[0] == "ok":
            event("delete: ok" if self.model.revision > rev else "delete: ok nothing")

    @rule(data=st.data(), use_do=st.booleans())
    def txn(self, data: st.DataObject, use_do: bool) -> None:
        """Txn, through ``Store.txn`` or ``Store.do``."""
        req = data.draw(txn_requests(self.model.revision))

        def call() -> object:
            if use_do:
                return self.store.do(req)
            return self.store.txn(req.compare, req.success, req.failure)

        rev = self.model.revision
        outcome = self._play("txn", lambda: self.model.txn(req), call)
        if outcome[0] == "ok":
            resp = outcome[1]
            branch = "succeeded" if getattr(resp, "succeeded", False) else "failed"
            wrote = "wrote" if self.model.revision > rev else "no write"
            event(f"txn: ok {branch}, {wrote}")
            if _has_nested(req):
                event("txn: ok with nested txn")
            if _writes(req) and self.model.revision == rev:
                event("txn: ok, writes that changed nothing")

    @precondition(lambda self: self.model.revision >= max(self.model.compacted, 1) + 3)
    @rule(data=st.data())
    def compact(self, data: st.DataObject) -> None:
        """Compact, once a few revisions piled up, at a revision from -1 to one past the current."""
        current = self.model.revision
        valid = range(max(self.model.compacted + 1, 0), current + 1)
        rev = data.draw(st.sampled_from((*valid, *valid, *range(-1, current + 2))))
        outcome = self._play(
            "compact", lambda: self.model.compact(rev), lambda: self.store.compact(rev)
        )
        if outcome[0] == "ok":
            event("compact: ok")

    # -- checks ----------------------------------------------------------------------------

    @invariant()
    def core_invariants_hold(self) -> None:
        """The store's core passes its own invariant checks."""
        self.diverged = True
        self.store._check()
        self.diverged = False

    @invariant()
    def same_current_state(self) -> None:
        """The store's revision and keyspace are the model's."""
        self.diverged = True
        assert self.store.revision == self.model.revision
        expected = self.model.range(Op.get(b"\0", from_key=True))
        assert _normalized(self._everything()) == expected
        self.diverged = False

    def teardown(self) -> None:
        """Every revision that is not compacted reads the same on both."""
        if self.diverged:
            return
        for rev in range(max(self.model.compacted, 1), self.model.revision + 1):
            expected = self.model.range(Op.get(b"\0", from_key=True, revision=rev))
            assert _normalized(self._everything(rev)) == expected, rev


class TestKVMatchesReference(KVMachine.TestCase):  # type: ignore[misc,valid-type]
    """Random put/get/delete/txn/compact histories get etcd's answers, as the reference gives."""

    settings = QUICK


@pytest.mark.slow
@pytest.mark.timeout(0)
class TestKVMatchesReferenceLong(KVMachine.TestCase):  # type: ignore[misc,valid-type]
    """Thousands of longer random KV histories get etcd's answers, as the reference gives."""

    settings = LONG
