"""Requests over one view of the store: validation, compares, ranges, puts, deletes and txns.

The rules are etcd's, from v3rpc/key.go (request validation before anything is applied) and
etcdserver/txn/txn.go (``executeRange``, ``applyCompare``, ``compareToPath``, ``checkTxn``):

* validation: op counts (``max(len(compare), len(success), len(failure))`` against the budget,
  nested txns against what is left), empty keys, ``ignore_*`` with a value or lease, and the
  duplicate-key rule of ``checkIntervals`` (two puts of a key, or a put inside a delete range, on
  one level or across nesting levels; then/else branches of a nested txn may overlap);
* every compare of every nesting level is evaluated first, on the state *before* the txn
  (``compareToPath``); then the taken path is checked (leases exist, ``ignore_*`` keys exist,
  range revisions are servable), and only then applied, so a failing txn changes nothing;
* reads inside a txn see its earlier writes and report the new revision once it wrote.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._model import (
    Compare,
    CompareResult,
    CompareTarget,
    DeleteRangeRequest,
    KeyValue,
    PutRequest,
    RangeRequest,
    RequestOp,
    ResponseHeader,
    ResponseOp,
    SortOrder,
    SortTarget,
    TxnRequest,
    new_delete_range_response,
    new_header,
    new_key_value,
    new_put_response,
    new_range_response,
    new_txn_response,
)
from ..errors import (
    CompactedError,
    DuplicateKeyError,
    EmptyKeyError,
    FutureRevisionError,
    InvalidSortOptionError,
    KeyNotFoundError,
    LeaseNotFoundError,
    LeaseProvidedError,
    TooManyOpsError,
    ValueProvidedError,
)
from ._index import latest

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ._index import Index
    from ._kv import KV, WriteTxn

__all__ = (
    "LeaseCheck",
    "check_request",
    "compare_path",
    "execute_range",
    "is_read_only",
    "request_size",
    "run_txn",
    "size_bound",
)

#: ``lease_exists(id) -> bool``, supplied by whoever owns the leases.
LeaseCheck = Callable[[int], bool]


# --------------------------------------------------------------------------- validation


def check_request(op: RequestOp, max_ops: int) -> None:
    """etcd's checks before a request is applied (v3rpc/key.go); raises the first failure."""
    if type(op) is TxnRequest:
        _check_txn(op, max_ops)
        _check_intervals(op.success)
        _check_intervals(op.failure)
    elif type(op) is PutRequest:
        if not op.key:
            raise EmptyKeyError()
        if op.ignore_value and op.value:
            raise ValueProvidedError()
        if op.ignore_lease and op.lease:
            raise LeaseProvidedError()
    elif not op.key:  # type: ignore[union-attr]
        raise EmptyKeyError()
    elif type(op) is RangeRequest and (
        op.sort_order not in _SORT_ORDERS or op.sort_target not in _SORT_TARGETS
    ):
        # etcd 3.6 rejects enum values it does not know (3.4 ignored an unknown order).
        raise InvalidSortOptionError()


_SORT_ORDERS = frozenset(SortOrder)
_SORT_TARGETS = frozenset(SortTarget)


def _check_txn(txn: TxnRequest, max_ops: int) -> None:
    opc = max(len(txn.compare), len(txn.success), len(txn.failure))
    if opc > max_ops:
        raise TooManyOpsError()
    for c in txn.compare:
        if not c.key:
            raise EmptyKeyError()
    for op in (*txn.success, *txn.failure):
        if type(op) is TxnRequest:
            _check_txn(op, max_ops - opc)
        else:
            check_request(op, max_ops - opc)


def _point_in(key: bytes, dels: Sequence[tuple[bytes, bytes]]) -> bool:
    # etcd's adt intervals: a delete of one key is [key, key+"\0"); an empty end is +infinity;
    # a from-key delete (end "\0") is the inverted interval [key, "\0") and matches nothing.
    for start, end in dels:
        if not end:
            if key == start:
                return True
        elif start <= key < end:
            return True
    return False


def _check_intervals(ops: Sequence[RequestOp]) -> tuple[set[bytes], list[tuple[bytes, bytes]]]:
    """etcd's ``checkIntervals``: puts and deletes that overlap raise DuplicateKeyError."""
    dels = [(op.key, op.range_end) for op in ops if type(op) is DeleteRangeRequest]
    puts: set[bytes] = set()
    for op in ops:
        if type(op) is not TxnRequest:
            continue
        puts_then, dels_then = _check_intervals(op.success)
        puts_else, dels_else = _check_intervals(op.failure)
        for k in puts_then:
            if k in puts or _point_in(k, dels):
                raise DuplicateKeyError()
            puts.add(k)
        for k in puts_else:
            if (k in puts and k not in puts_then) or _point_in(k, dels):
                raise DuplicateKeyError()
            puts.add(k)
        dels += dels_then
        dels += dels_else
    for op in ops:
        if type(op) is PutRequest:
            if op.key in puts or _point_in(op.key, dels):
                raise DuplicateKeyError()
            puts.add(op.key)
    return puts, dels


def is_read_only(txn: TxnRequest) -> bool:
    """True if no op of either branch, at any depth, writes (etcd's ``IsTxnReadonly``)."""
    for op in (*txn.success, *txn.failure):
        if type(op) is TxnRequest:
            if not is_read_only(op):
                return False
        elif type(op) is not RangeRequest:
            return False
    return True


def _varint_size(n: int) -> int:
    if n < 0:
        return 10
    size = 1
    while n >= 0x80:
        n >>= 7
        size += 1
    return size


def _bytes_field(data: bytes, tag_size: int = 1) -> int:
    return tag_size + _varint_size(len(data)) + len(data) if data else 0


def _int_field(n: int) -> int:
    return 1 + _varint_size(n) if n else 0


def _message_field(size: int) -> int:
    return 1 + _varint_size(size) + size


def request_size(op: RequestOp) -> int:
    """The size of ``op`` as etcd's protobuf encoding of it, inside its raft request.

    etcd refuses a write whose marshalled raft request exceeds ``--max-request-bytes``; the
    raft envelope (request id and header) adds about 20 bytes, counted here as 24.
    """
    return 24 + _op_size(op)


def size_bound(op: RequestOp) -> int:
    """A cheap upper bound of :func:`request_size`: exact sizes are needed only near a limit.

    Every message and field header is at most 128 bytes per operation or compare (a range
    with all thirteen fields set takes about 100), so the bytes of keys and values plus that
    per element, plus the envelope, is never less than the encoded size.
    """
    if type(op) is PutRequest:
        return 152 + len(op.key) + len(op.value)
    if type(op) is TxnRequest:
        size = 152
        for c in op.compare:
            operand = c.operand
            size += (
                128
                + len(c.key)
                + len(c.range_end)
                + (len(operand) if type(operand) is bytes else 0)
            )
        for sub in (*op.success, *op.failure):
            size += size_bound(sub)
        return size
    return 152 + len(op.key) + len(op.range_end)  # type: ignore[union-attr]


def _op_size(op: RequestOp) -> int:
    if type(op) is PutRequest:
        return (
            _bytes_field(op.key)
            + _bytes_field(op.value)
            + _int_field(op.lease)
            + 2 * (op.prev_kv + op.ignore_value + op.ignore_lease)
        )
    if type(op) is DeleteRangeRequest:
        return _bytes_field(op.key) + _bytes_field(op.range_end) + 2 * op.prev_kv
    if type(op) is RangeRequest:
        return (
            _bytes_field(op.key)
            + _bytes_field(op.range_end)
            + sum(
                _int_field(n)
                for n in (
                    op.limit,
                    op.revision,
                    op.sort_order,
                    op.sort_target,
                    op.min_mod_revision,
                    op.max_mod_revision,
                    op.min_create_revision,
                    op.max_create_revision,
                )
            )
            + 2 * (op.serializable + op.keys_only + op.count_only)
        )
    assert type(op) is TxnRequest
    size = 0
    for c in op.compare:
        operand = _bytes_field(c.operand) if isinstance(c.operand, bytes) else _int_field(c.operand)
        inner = 4 + _bytes_field(c.key) + operand + _bytes_field(c.range_end, tag_size=2)
        size += _message_field(inner)
    for sub in (*op.success, *op.failure):
        size += _message_field(_message_field(_op_size(sub)))
    return size


# --------------------------------------------------------------------------- compares


def _compare_kv(c: Compare, kv: KeyValue) -> bool:
    target = c.target
    if target is CompareTarget.VALUE:
        a: int | bytes = kv.value
    elif target is CompareTarget.VERSION:
        a = kv.version
    elif target is CompareTarget.CREATE:
        a = kv.create_revision
    elif target is CompareTarget.MOD:
        a = kv.mod_revision
    else:
        a = kv.lease
    b = c.operand
    if isinstance(b, bytes) is not (target is CompareTarget.VALUE):
        # An operand of the other kind (etcd: target_union unset or not the target's):
        # compareKV compares against the target's zero value.
        b = b"" if target is CompareTarget.VALUE else 0
    result = c.result
    if result is CompareResult.EQUAL:
        return a == b
    if result is CompareResult.NOT_EQUAL:
        return a != b
    if result is CompareResult.GREATER:
        return a > b  # type: ignore[operator]
    if result is CompareResult.LESS:
        return a < b  # type: ignore[operator]
    return True  # type: ignore[unreachable]  # an unknown result (only from the wire) holds, as in etcd


_ABSENT = KeyValue(b"")


def _compare(index: Index, c: Compare) -> bool:
    kvs = list(index.range_current(c.key, c.range_end))
    if not kvs:
        # A missing key compares as all zeroes, except that VALUE compares always fail.
        return c.target is not CompareTarget.VALUE and _compare_kv(c, _ABSENT)
    return all(_compare_kv(c, kv) for kv in kvs)


def compare_path(index: Index, txn: TxnRequest, path: list[bool]) -> list[bool]:
    """The branch every (nested) txn takes, evaluated on the current state (``compareToPath``)."""
    ok = all(_compare(index, c) for c in txn.compare)
    path.append(ok)
    for op in txn.success if ok else txn.failure:
        if type(op) is TxnRequest:
            compare_path(index, op, path)
    return path


# --------------------------------------------------------------------------- range


def _range_revision(kv: KV, rev: int, current: int) -> int:
    if rev > current:
        raise FutureRevisionError()
    if rev <= 0:
        rev = current
    if rev < kv.compact_revision:
        raise CompactedError()
    return rev


_SORT_KEYS: dict[SortTarget, Callable[[KeyValue], Any]] = {
    SortTarget.KEY: lambda kv: kv.key,
    SortTarget.VERSION: lambda kv: kv.version,
    SortTarget.CREATE: lambda kv: kv.create_revision,
    SortTarget.MOD: lambda kv: kv.mod_revision,
    SortTarget.VALUE: lambda kv: kv.value,
}


def execute_range(
    kv: KV, req: RangeRequest, current: int
) -> tuple[tuple[KeyValue, ...], bool, int, int]:
    """etcd's ``executeRange`` at the view whose revision is ``current``.

    Returns ``(kvs, more, count, header revision)``. ``count`` counts every live key of the
    range, ignoring ``limit`` and the min/max filters (etcd's quirk). Ties of a non-key sort are
    broken by key, ascending, in both orders.
    """
    rev = _range_revision(kv, req.revision, current)
    index = kv.index
    if rev == current:
        found = list(index.range_current(req.key, req.range_end))
    else:
        found = list(index.range(req.key, req.range_end, rev))
    count = len(found)
    if req.count_only:
        return (), False, count, current
    limit = req.limit
    order = req.sort_order
    filtered = order is not SortOrder.NONE or (
        req.min_mod_revision
        or req.max_mod_revision
        or req.min_create_revision
        or req.max_create_revision
    )
    if limit > 0 and not filtered:
        found = found[: limit + 1]  # etcd fetches one extra to know `more`
    if filtered:
        if req.max_mod_revision:
            found = [x for x in found if x.mod_revision <= req.max_mod_revision]
        if req.min_mod_revision:
            found = [x for x in found if x.mod_revision >= req.min_mod_revision]
        if req.max_create_revision:
            found = [x for x in found if x.create_revision <= req.max_create_revision]
        if req.min_create_revision:
            found = [x for x in found if x.create_revision >= req.min_create_revision]
    target = req.sort_target
    if target is not SortTarget.KEY and order is SortOrder.NONE:
        order = SortOrder.ASCEND
    if order is SortOrder.DESCEND:
        found.sort(key=_SORT_KEYS[target], reverse=True)
    elif order is SortOrder.ASCEND and target is not SortTarget.KEY:
        found.sort(key=_SORT_KEYS[target])
    more = False
    if 0 < limit < len(found):
        del found[limit:]
        more = True
    if req.keys_only:
        found = [
            new_key_value(x.key, x.create_revision, x.mod_revision, x.version, b"", x.lease)
            for x in found
        ]
    return tuple(found), more, count, current


# --------------------------------------------------------------------------- txn


def _check_path(
    kv: KV, txn: TxnRequest, path: list[bool], at: int, lease_exists: LeaseCheck
) -> int:
    """etcd's ``checkTxn``: the taken path can be applied. Returns the next path position."""
    ok = path[at]
    at += 1
    for op in txn.success if ok else txn.failure:
        if type(op) is TxnRequest:
            at = _check_path(kv, op, path, at, lease_exists)
        elif type(op) is PutRequest:
            check_put(kv, op, lease_exists, in_txn=True)
        elif type(op) is RangeRequest:
            _check_txn_range(kv, op.revision)
    return at


def _check_txn_range(kv: KV, rev: int) -> None:
    """etcd's ``checkRange`` for a range inside a txn.

    Unlike a plain Range (where any ``rev <= 0`` reads the current revision), a nonzero revision
    is compared with the first revision the store keeps: etcd's ``FirstRev()``, which is the
    compaction revision, or -1 before any compaction. So ``-1`` passes on a store never
    compacted, ``-5`` does not, and after a compaction every negative revision is compacted.
    """
    if rev == 0:
        return
    if rev > kv.revision:
        raise FutureRevisionError()
    if rev < kv.compact_revision:
        raise CompactedError()


def check_put(kv: KV, req: PutRequest, lease_exists: LeaseCheck, *, in_txn: bool = False) -> None:
    """A put's apply-time checks: its lease exists, and the key does for ``ignore_*``.

    etcd checks a plain Put's lease first but a put inside a txn (``checkPut``) its key first,
    so a put with both problems fails with a different error in and out of a txn.
    """
    lease_missing = req.lease != 0 and not lease_exists(req.lease)
    if lease_missing and not in_txn:
        raise LeaseNotFoundError()
    if req.ignore_value or req.ignore_lease:
        entry = kv.lookup(req.key)
        if entry is None or not latest(entry).version:
            raise KeyNotFoundError()
    if lease_missing:
        raise LeaseNotFoundError()


def apply_put(w: WriteTxn, req: PutRequest) -> tuple[KeyValue, KeyValue | None]:
    """Write a checked put; ``ignore_value``/``ignore_lease`` keep the previous ones."""
    value = req.value
    lease = req.lease
    if req.ignore_value or req.ignore_lease:
        prev = w.current(req.key)
        if prev is None:
            # check_put saw the key before the txn, but an earlier op of this txn deleted it
            # (a from-key delete may cover a put: etcd's checkIntervals allows that). etcd
            # panics here ("unexpected error during txn: key not found"); we refuse the txn,
            # and the caller rolls back what it already wrote.
            raise KeyNotFoundError()
        if req.ignore_value:
            value = prev.value
        if req.ignore_lease:
            lease = prev.lease
    return w.put(req.key, value, lease)


def run_txn(
    kv: KV, w: WriteTxn, txn: TxnRequest, lease_exists: LeaseCheck
) -> tuple[bool, tuple[ResponseOp, ...]]:
    """Decide, check and apply a validated txn through ``w``: ``(succeeded, responses)``."""
    path = compare_path(kv.index, txn, [])
    _check_path(kv, txn, path, 0, lease_exists)
    responses, _ = _apply(kv, w, txn, path, 0)
    return path[0], responses


_EMPTY_HEADER = ResponseHeader()


def _apply(
    kv: KV, w: WriteTxn, txn: TxnRequest, path: list[bool], at: int
) -> tuple[tuple[ResponseOp, ...], int]:
    ok = path[at]
    at += 1
    out: list[ResponseOp] = []
    for op in txn.success if ok else txn.failure:
        # Sub-responses carry only a revision in their header, nested txns an empty one.
        if type(op) is RangeRequest:
            kvs, more, count, rev = execute_range(kv, op, w.read_revision)
            out.append(new_range_response(new_header(0, 0, rev, 0), kvs, more, count))
        elif type(op) is PutRequest:
            _, prev = apply_put(w, op)
            hdr = new_header(0, 0, w.rev, 0)
            out.append(new_put_response(hdr, prev if op.prev_kv else None))
        elif type(op) is DeleteRangeRequest:
            deleted = w.delete(op.key, op.range_end)
            hdr = new_header(0, 0, w.read_revision, 0)
            out.append(
                new_delete_range_response(hdr, len(deleted), tuple(deleted) if op.prev_kv else ())
            )
        else:
            assert type(op) is TxnRequest
            succeeded = path[at]
            nested, at = _apply(kv, w, op, path, at)
            out.append(new_txn_response(_EMPTY_HEADER, succeeded, nested))
    return tuple(out), at
