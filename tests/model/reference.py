"""A small reference model of etcd's KV semantics, for differential tests of ``Store``.

Written from etcd's sources (v3rpc/key.go for validation, etcdserver/txn/txn.go for ranges,
compares and txns, mvcc/kvstore*.go for revisions and compaction) and checked by hand against
etcd 3.4.23, independently of :mod:`etcdlite._mvcc`. It is deliberately naive: it keeps one
full snapshot of the keyspace per revision and answers every read by scanning a snapshot. It
shares only etcdlite's public value types (requests, responses, errors), so its answers compare
with ``==``.

Headers: a top-level response carries ``ResponseHeader(revision=...)`` only (callers normalize
the store's headers to that); sub-responses of a txn carry ``ResponseHeader(revision=...)`` and
nested txn responses an all-zero header, exactly as etcd sends them.

Choices where etcd versions differ or etcd has no answer:

* ``checkTxn`` (the apply-time checks of a txn's taken path) runs in op order, as etcd 3.6's
  ``txn.go`` does. etcd 3.4 and 3.5 check every put of the path first and every range after,
  so when a path holds both a bad range revision and a bad put, they report the put's error.
* A put with ``ignore_value``/``ignore_lease`` on a key that an earlier op of the same txn
  deleted (only a from-key delete can: the duplicate-key check sees its interval as empty)
  passes ``checkTxn`` and then fails while applying: etcd panics (etcd 3.4.23 logs ``panic:
  unexpected error during txn: etcdserver: key not found``). The model raises
  :class:`ReferencePanic`; a store must refuse the txn and change nothing.
* No lease exists (leases are not modelled yet), so every put with a lease fails with
  ``LeaseNotFoundError``.

>>> ref = Reference()
>>> from etcdlite import Op
>>> ref.put(Op.put("k", "v")).header.revision, ref.range(Op.get("k")).kvs[0].version
(2, 1)
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping, Sequence

from etcdlite import (
    CompactionResponse,
    Compare,
    CompareResult,
    CompareTarget,
    DeleteRangeRequest,
    DeleteRangeResponse,
    KeyValue,
    PutRequest,
    PutResponse,
    RangeRequest,
    RangeResponse,
    RequestOp,
    ResponseHeader,
    ResponseOp,
    SortOrder,
    SortTarget,
    TxnRequest,
    TxnResponse,
)
from etcdlite.errors import (
    CompactedError,
    DuplicateKeyError,
    EmptyKeyError,
    FutureRevisionError,
    KeyNotFoundError,
    LeaseNotFoundError,
    LeaseProvidedError,
    TooManyOpsError,
    ValueProvidedError,
)

__all__ = ("Reference", "ReferencePanic", "client_range", "prefix_range_end")

#: A snapshot of the keyspace at one revision: key -> its live record.
Snapshot = Mapping[bytes, KeyValue]


class ReferencePanic(Exception):
    """etcd would panic on this request (an error while applying a txn that writes)."""


# --------------------------------------------------------------------------- key ranges


def prefix_range_end(prefix: bytes) -> bytes:
    """clientv3 ``GetPrefixRangeEnd``: drop trailing 0xff bytes, then add one to the last byte.

    >>> prefix_range_end(b"a"), prefix_range_end(b"b\\xff"), prefix_range_end(b"\\xff")
    (b'b', b'c', b'\\x00')
    """
    for i in range(len(prefix) - 1, -1, -1):
        if prefix[i] != 0xFF:
            return prefix[:i] + bytes([prefix[i] + 1])
    return b"\0"


def client_range(
    key: bytes, range_end: bytes | None = None, *, prefix: bool = False, from_key: bool = False
) -> tuple[bytes, bytes]:
    """The ``(key, range_end)`` a clientv3-style request carries (``WithPrefix``, ``WithFromKey``).

    >>> client_range(b""), client_range(b"", prefix=True), client_range(b"a", from_key=True)
    ((b'', b''), (b'\\x00', b'\\x00'), (b'a', b'\\x00'))
    """
    if range_end is not None:
        return key, range_end
    if prefix:
        if not key:
            return b"\0", b"\0"
        return key, prefix_range_end(key)
    if from_key:
        return key or b"\0", b"\0"
    return key, b""


def in_range(k: bytes, key: bytes, range_end: bytes) -> bool:
    """Whether ``k`` is in etcd's range ``(key, range_end)``: one key, ``[key, end)``, or ``>= key``."""
    if range_end == b"":
        return k == key
    if range_end == b"\0":
        return k >= key
    return key <= k < range_end


def _affine_lt(a: bytes, b: bytes) -> bool:
    """``a < b`` where the empty string is +infinity (etcd adt ``StringAffineComparable``)."""
    if not a:
        return False
    if not b:
        return True
    return a < b


def _intersects(a: tuple[bytes, bytes], b: tuple[bytes, bytes]) -> bool:
    """etcd adt ``Interval.Compare`` == 0: the half-open intervals overlap."""
    return _affine_lt(a[0], b[1]) and _affine_lt(b[0], a[1])


def _delete_interval(op: DeleteRangeRequest) -> tuple[bytes, bytes]:
    """The interval ``checkIntervals`` inserts for a delete (a point when range_end is empty).

    The range end is used as it is, so a from-key delete (end ``"\\0"``) is the inverted
    interval ``[key, "\\0")``, which intersects nothing.
    """
    if op.range_end:
        return op.key, op.range_end
    return op.key, op.key + b"\0"


def _point(key: bytes) -> tuple[bytes, bytes]:
    return key, key + b"\0"


# --------------------------------------------------------------------------- the model


class Reference:
    """etcd's KV state machine: a list of snapshots, one per revision, and a compaction mark."""

    def __init__(self, *, max_txn_ops: int = 128) -> None:
        self.max_txn_ops = max_txn_ops
        #: ``_snapshots[i]`` is the keyspace at revision ``i + 1``; a fresh store is at 1.
        self._snapshots: list[dict[bytes, KeyValue]] = [{}]
        #: etcd's ``compactMainRev``: -1 until the first compaction.
        self.compacted = -1

    @property
    def revision(self) -> int:
        """The current revision."""
        return len(self._snapshots)

    def snapshot(self, rev: int) -> Snapshot:
        """The keyspace at ``rev`` (1 <= rev <= revision), compacted or not."""
        assert 1 <= rev <= self.revision, rev
        return self._snapshots[rev - 1]

    def _header(self) -> ResponseHeader:
        return ResponseHeader(revision=self.revision)

    # -- validation (v3rpc/key.go) -------------------------------------------------------

    def _check_op(self, op: RequestOp, budget: int) -> None:
        if isinstance(op, TxnRequest):
            self._check_txn_request(op, budget)
        elif isinstance(op, PutRequest):
            if not op.key:
                raise EmptyKeyError()
            if op.ignore_value and op.value:
                raise ValueProvidedError()
            if op.ignore_lease and op.lease:
                raise LeaseProvidedError()
        elif not op.key:
            raise EmptyKeyError()

    def _check_txn_request(self, txn: TxnRequest, budget: int) -> None:
        opc = max(len(txn.compare), len(txn.success), len(txn.failure))
        if opc > budget:
            raise TooManyOpsError()
        for c in txn.compare:
            if not c.key:
                raise EmptyKeyError()
        for op in (*txn.success, *txn.failure):
            self._check_op(op, budget - opc)

    def _check_intervals(
        self, ops: Sequence[RequestOp]
    ) -> tuple[set[bytes], list[tuple[bytes, bytes]]]:
        """etcd's ``checkIntervals``: the puts and delete intervals of one level, or an error."""
        dels = [_delete_interval(op) for op in ops if isinstance(op, DeleteRangeRequest)]

        def deleted(k: bytes) -> bool:
            return any(_intersects(iv, _point(k)) for iv in dels)

        puts: set[bytes] = set()
        for op in ops:
            if not isinstance(op, TxnRequest):
                continue
            puts_then, dels_then = self._check_intervals(op.success)
            puts_else, dels_else = self._check_intervals(op.failure)
            for k in puts_then:
                if k in puts or deleted(k):
                    raise DuplicateKeyError()
                puts.add(k)
            for k in puts_else:
                # The same key in both branches is fine: only one branch runs.
                if (k in puts and k not in puts_then) or deleted(k):
                    raise DuplicateKeyError()
                puts.add(k)
            # dels.Union(child, ["\x00", +inf)): only intervals meeting that one are kept.
            everything = (b"\0", b"")
            dels += [iv for iv in (*dels_then, *dels_else) if _intersects(iv, everything)]
        for op in ops:
            if isinstance(op, PutRequest):
                if op.key in puts or deleted(op.key):
                    raise DuplicateKeyError()
                puts.add(op.key)
        return puts, dels

    # -- reads -----------------------------------------------------------------------------

    def _read(
        self, req: RangeRequest, view_rev: int, view: Snapshot
    ) -> tuple[tuple[KeyValue, ...], bool, int]:
        """mvcc ``rangeKeys`` + etcd ``executeRange`` on a view whose revision is ``view_rev``."""
        rev = req.revision
        if rev > view_rev:
            raise FutureRevisionError()
        if rev <= 0:
            rev = view_rev
        if rev < self.compacted:
            raise CompactedError()
        state = view if rev == view_rev else self.snapshot(rev)
        found = [state[k] for k in sorted(state) if in_range(k, req.key, req.range_end)]
        count = len(found)

        fetch = req.limit
        filtered = (
            req.min_mod_revision
            or req.max_mod_revision
            or req.min_create_revision
            or req.max_create_revision
        )
        if req.sort_order is not SortOrder.NONE or filtered:
            fetch = 0  # fetch everything; sort and truncate afterwards
        if fetch > 0:
            fetch += 1  # one extra, for `more`
        kvs = [] if req.count_only else found[:fetch] if fetch > 0 else found

        if req.max_mod_revision:
            kvs = [kv for kv in kvs if not kv.mod_revision > req.max_mod_revision]
        if req.min_mod_revision:
            kvs = [kv for kv in kvs if not kv.mod_revision < req.min_mod_revision]
        if req.max_create_revision:
            kvs = [kv for kv in kvs if not kv.create_revision > req.max_create_revision]
        if req.min_create_revision:
            kvs = [kv for kv in kvs if not kv.create_revision < req.min_create_revision]

        order = req.sort_order
        if req.sort_target is not SortTarget.KEY and order is SortOrder.NONE:
            order = SortOrder.ASCEND
        elif req.sort_target is SortTarget.KEY and order is SortOrder.ASCEND:
            order = SortOrder.NONE
        if order is not SortOrder.NONE:
            kvs.sort(key=functools.cmp_to_key(_sort_cmp(req.sort_target, order)))

        more = False
        if req.limit > 0 and len(kvs) > req.limit:
            kvs = kvs[: req.limit]
            more = True
        if req.keys_only:
            kvs = [_with_value(kv, b"") for kv in kvs]
        return tuple(kvs), more, count

    def range(self, req: RangeRequest) -> RangeResponse:
        """etcd ``Range``."""
        self._check_op(req, self.max_txn_ops)
        kvs, more, count = self._read(req, self.revision, self.snapshot(self.revision))
        return RangeResponse(self._header(), kvs, more, count)

    # -- writes ----------------------------------------------------------------------------

    def put(self, req: PutRequest) -> PutResponse:
        """etcd ``Put``: the lease is checked first, then ``ignore_*`` needs the key."""
        self._check_op(req, self.max_txn_ops)
        if req.lease:
            raise LeaseNotFoundError()
        w = _Write(self)
        prev = w.current.get(req.key)
        if (req.ignore_value or req.ignore_lease) and prev is None:
            raise KeyNotFoundError()
        w.put(req)
        w.commit()
        return PutResponse(self._header(), prev if req.prev_kv else None)

    def delete_range(self, req: DeleteRangeRequest) -> DeleteRangeResponse:
        """etcd ``DeleteRange``: deleting nothing makes no revision."""
        self._check_op(req, self.max_txn_ops)
        w = _Write(self)
        deleted = w.delete(req)
        w.commit()
        return DeleteRangeResponse(self._header(), len(deleted), deleted if req.prev_kv else ())

    def compact(self, rev: int) -> CompactionResponse:
        """etcd ``Compact`` (mvcc ``updateCompactRev``)."""
        if rev <= self.compacted:
            raise CompactedError()
        if rev > self.revision:
            raise FutureRevisionError()
        self.compacted = rev
        return CompactionResponse(self._header())

    # -- txn -------------------------------------------------------------------------------

    def _holds(self, c: Compare, state: Snapshot) -> bool:
        """etcd ``applyCompare``: every key of the range satisfies ``c``; a missing key is zero."""
        kvs = [state[k] for k in sorted(state) if in_range(k, c.key, c.range_end)]
        if not kvs:
            if c.target is CompareTarget.VALUE:
                return False  # no way to tell a missing value from an empty one
            return _compare_kv(c, KeyValue(c.key))
        return all(_compare_kv(c, kv) for kv in kvs)

    def _path(self, txn: TxnRequest, state: Snapshot) -> list[bool]:
        """etcd ``compareToPath``: the branch of this txn and of each nested txn that runs."""
        ok = all(self._holds(c, state) for c in txn.compare)
        path = [ok]
        for op in txn.success if ok else txn.failure:
            if isinstance(op, TxnRequest):
                path += self._path(op, state)
        return path

    def _check_path(self, txn: TxnRequest, path: Iterator[bool], state: Snapshot) -> None:
        """etcd 3.6 ``checkTxn``, in op order: range revisions, then puts' key and lease."""
        for op in txn.success if next(path) else txn.failure:
            if isinstance(op, RangeRequest):
                # checkRange: not read through, so a negative revision meets FirstRev.
                if op.revision == 0:
                    continue
                if op.revision > self.revision:
                    raise FutureRevisionError()
                if op.revision < self.compacted:
                    raise CompactedError()
            elif isinstance(op, PutRequest):
                if (op.ignore_value or op.ignore_lease) and op.key not in state:
                    raise KeyNotFoundError()
                if op.lease:
                    raise LeaseNotFoundError()
            elif isinstance(op, TxnRequest):
                self._check_path(op, path, state)

    def _execute(
        self, w: _Write, txn: TxnRequest, path: Iterator[bool]
    ) -> tuple[bool, tuple[ResponseOp, ...]]:
        ok = next(path)
        out: list[ResponseOp] = []
        for op in txn.success if ok else txn.failure:
            if isinstance(op, RangeRequest):
                kvs, more, count = self._read(op, w.view_revision, w.current)
                out.append(
                    RangeResponse(ResponseHeader(revision=w.view_revision), kvs, more, count)
                )
            elif isinstance(op, PutRequest):
                prev = w.current.get(op.key)
                if (op.ignore_value or op.ignore_lease) and prev is None:
                    raise ReferencePanic("put with ignore_* on a key deleted earlier in the txn")
                w.put(op)
                out.append(
                    PutResponse(ResponseHeader(revision=w.rev), prev if op.prev_kv else None)
                )
            elif isinstance(op, DeleteRangeRequest):
                deleted = w.delete(op)
                out.append(
                    DeleteRangeResponse(
                        ResponseHeader(revision=w.view_revision),
                        len(deleted),
                        deleted if op.prev_kv else (),
                    )
                )
            else:
                succeeded, responses = self._execute(w, op, path)
                out.append(TxnResponse(ResponseHeader(), succeeded, responses))
        return ok, tuple(out)

    def txn(self, req: TxnRequest) -> TxnResponse:
        """etcd ``Txn``: validate, take every branch on the state before, check, apply."""
        self._check_txn_request(req, self.max_txn_ops)
        self._check_intervals(req.success)
        self._check_intervals(req.failure)
        before = self.snapshot(self.revision)
        path = self._path(req, before)
        self._check_path(req, iter(path), before)
        w = _Write(self)
        succeeded, responses = self._execute(w, req, iter(path))
        w.commit()
        return TxnResponse(self._header(), succeeded, responses)

    def do(self, op: RequestOp) -> PutResponse | RangeResponse | DeleteRangeResponse | TxnResponse:
        """Any request."""
        if isinstance(op, RangeRequest):
            return self.range(op)
        if isinstance(op, PutRequest):
            return self.put(op)
        if isinstance(op, DeleteRangeRequest):
            return self.delete_range(op)
        return self.txn(op)


class _Write:
    """The writes of one request: a working copy of the current snapshot."""

    def __init__(self, ref: Reference) -> None:
        self._ref = ref
        self.rev = ref.revision + 1
        self.current: dict[bytes, KeyValue] = dict(ref.snapshot(ref.revision))
        self.changed = False

    @property
    def view_revision(self) -> int:
        """The revision reads in this txn report: the new one once something was written."""
        return self.rev if self.changed else self.rev - 1

    def put(self, req: PutRequest) -> None:
        prev = self.current.get(req.key)
        value, lease = req.value, req.lease
        if req.ignore_value:
            assert prev is not None
            value = prev.value
        if req.ignore_lease:
            assert prev is not None
            lease = prev.lease
        if prev is None:
            kv = KeyValue(req.key, self.rev, self.rev, 1, value, lease)
        else:
            kv = KeyValue(req.key, prev.create_revision, self.rev, prev.version + 1, value, lease)
        self.current[req.key] = kv
        self.changed = True

    def delete(self, req: DeleteRangeRequest) -> tuple[KeyValue, ...]:
        keys = sorted(k for k in self.current if in_range(k, req.key, req.range_end))
        deleted = tuple(self.current.pop(k) for k in keys)
        if deleted:
            self.changed = True
        return deleted

    def commit(self) -> None:
        if self.changed:
            self._ref._snapshots.append(self.current)


# --------------------------------------------------------------------------- helpers


def _with_value(kv: KeyValue, value: bytes) -> KeyValue:
    return KeyValue(kv.key, kv.create_revision, kv.mod_revision, kv.version, value, kv.lease)


_Operand = int | bytes


def _target_value(target: SortTarget, kv: KeyValue) -> _Operand:
    if target is SortTarget.KEY:
        return kv.key
    if target is SortTarget.VERSION:
        return kv.version
    if target is SortTarget.CREATE:
        return kv.create_revision
    if target is SortTarget.MOD:
        return kv.mod_revision
    return kv.value


def _cmp(a: _Operand, b: _Operand) -> int:
    return (a > b) - (a < b)  # type: ignore[operator]


def _sort_cmp(target: SortTarget, order: SortOrder) -> Callable[[KeyValue, KeyValue], int]:
    """A comparator by ``target`` in ``order``, ties broken by key ascending (etcdlite's rule)."""

    def cmp(a: KeyValue, b: KeyValue) -> int:
        c = _cmp(_target_value(target, a), _target_value(target, b))
        if order is SortOrder.DESCEND:
            c = -c
        return c or _cmp(a.key, b.key)

    return cmp


def _compare_kv(c: Compare, kv: KeyValue) -> bool:
    """etcd ``compareKV``; an operand of the wrong kind for the target compares as zero."""
    actual: _Operand
    operand: _Operand
    if c.target is CompareTarget.VALUE:
        actual = kv.value
        operand = c.operand if isinstance(c.operand, bytes) else b""
    else:
        actual = {
            CompareTarget.VERSION: kv.version,
            CompareTarget.CREATE: kv.create_revision,
            CompareTarget.MOD: kv.mod_revision,
            CompareTarget.LEASE: kv.lease,
        }[c.target]
        operand = c.operand if isinstance(c.operand, int) else 0
    result = _cmp(actual, operand)
    return {
        CompareResult.EQUAL: result == 0,
        CompareResult.NOT_EQUAL: result != 0,
        CompareResult.GREATER: result > 0,
        CompareResult.LESS: result < 0,
    }[c.result]
