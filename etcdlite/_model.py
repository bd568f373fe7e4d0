"""Value types: what goes into the store (requests, compares) and what comes out (responses).

Names and fields follow etcd's protobuf messages in snake_case. Everything here is an immutable
attrs class. Keys and values are ``bytes`` on the way out; the builders accept ``str`` (UTF-8) or
``bytes`` and raise ``TypeError`` naming the argument for anything else.

>>> Op.put("k", "v")
PutRequest(key=b'k', value=b'v', lease=0, prev_kv=False, ignore_value=False, ignore_lease=False)
>>> Compare.version("k") > 2
Compare(key=b'k', target=<CompareTarget.VERSION: 0>, result=<CompareResult.GREATER: 1>, \
operand=2, range_end=b'')
>>> Op.get("app/", prefix=True).range_end
b'app0'
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from ._model_repr import (
    event_repr,
    events_html,
    key_value_html,
    key_value_repr,
    key_values_html,
    response_repr,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

__all__ = (
    "CompactionResponse",
    "Compare",
    "CompareResult",
    "CompareTarget",
    "DeleteRangeRequest",
    "DeleteRangeResponse",
    "Event",
    "EventType",
    "KeyValue",
    "Op",
    "PutRequest",
    "PutResponse",
    "RangeRequest",
    "RangeResponse",
    "RequestOp",
    "ResponseHeader",
    "ResponseOp",
    "SortOrder",
    "SortTarget",
    "TxnRequest",
    "TxnResponse",
    "WatchFilter",
    "WatchResponse",
    "prefix_end",
)


# --------------------------------------------------------------------------- enums


class EventType(enum.IntEnum):
    """mvccpb.Event.EventType."""

    PUT = 0
    DELETE = 1


class WatchFilter(enum.IntEnum):
    """WatchCreateRequest.FilterType: the events a watch leaves out."""

    NOPUT = 0
    NODELETE = 1


class SortOrder(enum.IntEnum):
    """RangeRequest.SortOrder."""

    NONE = 0
    ASCEND = 1
    DESCEND = 2


class SortTarget(enum.IntEnum):
    """RangeRequest.SortTarget."""

    KEY = 0
    VERSION = 1
    CREATE = 2
    MOD = 3
    VALUE = 4


class CompareTarget(enum.IntEnum):
    """Compare.CompareTarget."""

    VERSION = 0
    CREATE = 1
    MOD = 2
    VALUE = 3
    LEASE = 4


class CompareResult(enum.IntEnum):
    """Compare.CompareResult."""

    EQUAL = 0
    GREATER = 1
    LESS = 2
    NOT_EQUAL = 3


# --------------------------------------------------------------------------- input checks


def to_bytes(value: object, name: str) -> bytes:
    """``value`` as bytes: ``str`` is encoded as UTF-8; anything but str/bytes is a TypeError.

    >>> to_bytes("é", "key")
    b'\\xc3\\xa9'
    >>> to_bytes(1, "key")
    Traceback (most recent call last):
    TypeError: key must be str or bytes, not int
    """
    cls = type(value)
    if cls is bytes:
        return value  # type: ignore[return-value]
    if cls is str:
        return value.encode()  # type: ignore[attr-defined,no-any-return]
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        return str(value).encode()
    raise TypeError(f"{name} must be str or bytes, not {cls.__name__}")


def to_int(value: object, name: str) -> int:
    """``value`` if it is an int (bool is refused, since ``revision=True`` is a mistake)."""
    if type(value) is int:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    raise TypeError(f"{name} must be int, not {type(value).__name__}")


def to_bool(value: object, name: str) -> bool:
    """``value`` if it is a bool."""
    if value is True or value is False:
        return value
    raise TypeError(f"{name} must be bool, not {type(value).__name__}")


def prefix_end(prefix: bytes) -> bytes:
    """The range end that covers every key starting with ``prefix`` (clientv3 ``GetPrefixRangeEnd``).

    Trailing 0xff bytes are dropped and the last byte incremented; a prefix of only 0xff bytes
    (or an empty one) gives ``b"\\0"``, which means "to the end of the keyspace".

    >>> prefix_end(b"a/"), prefix_end(b"a\\xff"), prefix_end(b"\\xff\\xff"), prefix_end(b"")
    (b'a0', b'b', b'\\x00', b'\\x00')
    """
    end = bytearray(prefix)
    while end:
        if end[-1] < 0xFF:
            end[-1] += 1
            return bytes(end)
        del end[-1]
    return b"\0"


def resolve_range(
    key: object, range_end: object, prefix: object, from_key: object, *, what: str = "key"
) -> tuple[bytes, bytes]:
    """``(key, range_end)`` as etcd's request carries them, from the clientv3-style options.

    ``range_end=b""`` means the single key ``key``; ``b"\\0"`` means every key from ``key`` on.
    ``prefix=True`` on an empty key, like ``from_key=True`` on one, means every key.
    """
    k = to_bytes(key, what)
    p = to_bool(prefix, "prefix")
    f = to_bool(from_key, "from_key")
    if range_end is None:
        if p:
            if f:
                raise ValueError("prefix and from_key cannot be used together")
            if not k:
                return b"\0", b"\0"
            return k, prefix_end(k)
        if f:
            return (k or b"\0"), b"\0"
        return k, b""
    if p or f:
        raise ValueError("range_end cannot be used with prefix or from_key")
    return k, to_bytes(range_end, "range_end")


_SORT_TARGETS = {t.name.lower(): t for t in SortTarget} | {
    "create_revision": SortTarget.CREATE,
    "mod_revision": SortTarget.MOD,
}
_SORT_ORDERS = {o.name.lower(): o for o in SortOrder} | {
    "asc": SortOrder.ASCEND,
    "desc": SortOrder.DESCEND,
}


def _enum_option(value: object, table: dict[str, enum.IntEnum], cls: type, name: str) -> int:
    from .errors import InvalidSortOptionError

    if isinstance(value, cls):
        return value  # type: ignore[return-value]
    if isinstance(value, str):
        found = table.get(value.lower())
        if found is None:
            raise InvalidSortOptionError()
        return found
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return cls(value)  # type: ignore[no-any-return]
        except ValueError:
            raise InvalidSortOptionError() from None
    raise TypeError(f"{name} must be str or {cls.__name__}, not {type(value).__name__}")


def to_sort_target(value: object) -> SortTarget:
    """A :class:`SortTarget` from its name ("key", "version", "create", "mod", "value")."""
    return _enum_option(value, _SORT_TARGETS, SortTarget, "sort_target")  # type: ignore[arg-type,return-value]


def to_sort_order(value: object) -> SortOrder:
    """A :class:`SortOrder` from its name ("none", "ascend", "descend")."""
    return _enum_option(value, _SORT_ORDERS, SortOrder, "sort_order")  # type: ignore[arg-type,return-value]


# --------------------------------------------------------------------------- responses


@attrs.frozen(weakref_slot=False)
class ResponseHeader:
    """etcdserverpb.ResponseHeader. ``revision`` is the store's revision after the request."""

    cluster_id: int = 0
    member_id: int = 0
    revision: int = 0
    raft_term: int = 0


@attrs.frozen(weakref_slot=False)
class KeyValue:
    """mvccpb.KeyValue: one revision of one key.

    The store keeps these objects as its records and hands the same ones to every read, so a
    read never copies. A DELETE event's ``kv`` has only ``key`` and ``mod_revision`` set.
    """

    key: bytes
    create_revision: int = 0
    mod_revision: int = 0
    version: int = 0
    value: bytes = b""
    lease: int = 0

    __repr__ = key_value_repr
    _repr_html_ = key_value_html


@attrs.frozen(weakref_slot=False)
class Event:
    """mvccpb.Event. ``prev_kv`` is set only when the watch asked for it."""

    type: EventType
    kv: KeyValue
    prev_kv: KeyValue | None = None

    __repr__ = event_repr

    def _repr_html_(self) -> str:
        return events_html((self,))


@attrs.frozen(weakref_slot=False)
class PutResponse:
    """etcdserverpb.PutResponse."""

    header: ResponseHeader
    prev_kv: KeyValue | None = None

    __repr__ = response_repr


@attrs.frozen(weakref_slot=False)
class RangeResponse:
    """etcdserverpb.RangeResponse. ``count`` counts the whole range, ignoring limit and filters."""

    header: ResponseHeader
    kvs: tuple[KeyValue, ...] = ()
    more: bool = False
    count: int = 0

    def __repr__(self) -> str:
        return response_repr(self, always=("count",))

    def _repr_html_(self) -> str:
        shown = f"{len(self.kvs)} of {self.count}" if self.more else str(self.count)
        return key_values_html(self.kvs, f"revision {self.header.revision}: {shown} keys")


@attrs.frozen(weakref_slot=False)
class DeleteRangeResponse:
    """etcdserverpb.DeleteRangeResponse."""

    header: ResponseHeader
    deleted: int = 0
    prev_kvs: tuple[KeyValue, ...] = ()

    def __repr__(self) -> str:
        return response_repr(self, always=("deleted",))


@attrs.frozen(weakref_slot=False)
class TxnResponse:
    """etcdserverpb.TxnResponse: the responses of the branch that ran, in order."""

    header: ResponseHeader
    succeeded: bool = False
    responses: tuple[ResponseOp, ...] = ()

    def __repr__(self) -> str:
        return response_repr(self, always=("succeeded",))


@attrs.frozen(weakref_slot=False)
class CompactionResponse:
    """etcdserverpb.CompactionResponse."""

    header: ResponseHeader

    __repr__ = response_repr


@attrs.frozen
class WatchResponse:
    """etcdserverpb.WatchResponse: one message of a watch stream.

    * ``created``: the first response of a watch, carrying its ``watch_id``;
    * ``events``: every event of one or more revisions (never part of a revision, except that
      a response split with ``fragment=True`` continues in the next ones);
    * ``canceled``: the watch ended; ``compact_revision`` is set when the history it needed was
      compacted, ``cancel_reason`` when etcd gives a reason;
    * no events and none of the flags: a progress notification; every event up to
      ``header.revision`` was delivered (``watch_id`` -1 answers a progress request).

    The header revision is the store's revision when the response was made.
    """

    header: ResponseHeader
    watch_id: int = 0
    created: bool = False
    canceled: bool = False
    compact_revision: int = 0
    cancel_reason: str = ""
    events: tuple[Event, ...] = ()
    fragment: bool = False

    __repr__ = response_repr

    def _repr_html_(self) -> str:
        flags = [n for n in ("created", "canceled", "fragment") if getattr(self, n)]
        if self.compact_revision:
            flags.append(f"compact_revision {self.compact_revision}")
        if self.is_progress_notify:
            flags.append("progress")
        caption = f"watch {self.watch_id}, revision {self.header.revision}"
        return events_html(self.events, ", ".join([caption, *flags]))

    @property
    def is_progress_notify(self) -> bool:
        """Whether this is a progress notification (clientv3 ``IsProgressNotify``).

        >>> WatchResponse(ResponseHeader(revision=5)).is_progress_notify
        True
        """
        return (
            not self.events
            and not self.canceled
            and not self.created
            and self.compact_revision == 0
            and self.header.revision != 0
        )


ResponseOp = RangeResponse | PutResponse | DeleteRangeResponse | TxnResponse


_T = TypeVar("_T")


def fast_constructor(cls: type[_T]) -> Callable[..., _T]:
    """A constructor for the frozen attrs class ``cls`` that takes every field positionally.

    A frozen class's ``__init__`` must go around its own ``__setattr__``, which costs about
    500 ns per object here; the store builds a few objects per call, so that would dominate.
    This returns a plain slotted class with the same layout, whose ``__init__`` sets the slots
    directly and then makes the object a ``cls`` (``__class__`` assignment between classes of
    identical slot layout): a genuine, frozen ``cls`` instance in about 200 ns. ``cls`` must be
    slotted without a ``__weakref__`` slot.

    >>> kv = fast_constructor(KeyValue)(b"k", 2, 3, 2, b"v", 0)
    >>> type(kv) is KeyValue, kv == KeyValue(b"k", 2, 3, 2, b"v", 0)
    (True, True)
    """
    names = [a.name for a in attrs.fields(cls)]  # type: ignore[arg-type]
    assert "__weakref__" not in cls.__slots__, cls  # type: ignore[attr-defined]
    params = ", ".join(names)
    body = "".join(f"    self.{n} = {n}\n" for n in names)
    namespace: dict[str, Any] = {}
    code = f"def __init__(self, {params}):\n{body}    self.__class__ = cls\n"
    exec(code, {"cls": cls}, namespace)  # noqa: S102 -- source built from attrs field names
    return type(
        f"_Build{cls.__name__}",
        (),
        {"__slots__": cls.__slots__, "__init__": namespace["__init__"]},  # type: ignore[attr-defined]
    )


# --------------------------------------------------------------------------- requests


@attrs.frozen(weakref_slot=False)
class RangeRequest:
    """etcdserverpb.RangeRequest. Build it with :meth:`Op.get`."""

    key: bytes
    range_end: bytes = b""
    limit: int = 0
    revision: int = 0
    sort_order: SortOrder = SortOrder.NONE
    sort_target: SortTarget = SortTarget.KEY
    serializable: bool = False
    keys_only: bool = False
    count_only: bool = False
    min_mod_revision: int = 0
    max_mod_revision: int = 0
    min_create_revision: int = 0
    max_create_revision: int = 0


@attrs.frozen(weakref_slot=False)
class PutRequest:
    """etcdserverpb.PutRequest. Build it with :meth:`Op.put`."""

    key: bytes
    value: bytes = b""
    lease: int = 0
    prev_kv: bool = False
    ignore_value: bool = False
    ignore_lease: bool = False


@attrs.frozen(weakref_slot=False)
class DeleteRangeRequest:
    """etcdserverpb.DeleteRangeRequest. Build it with :meth:`Op.delete`."""

    key: bytes
    range_end: bytes = b""
    prev_kv: bool = False


@attrs.frozen(weakref_slot=False)
class Compare:
    """etcdserverpb.Compare: one condition of a txn.

    Build it with the comparison operators: ``Compare.value(key) == b"v"``,
    ``Compare.version(key) > 1``, ``Compare.create_revision(key) == 0``,
    ``Compare.mod_revision(key) < 5``, ``Compare.lease(key) != 0``; each also takes
    ``range_end=``, ``prefix=`` or ``from_key=``, and then holds only if every key of the range
    satisfies it. ``operand`` is the compared value: bytes for VALUE, int otherwise.
    """

    key: bytes
    target: CompareTarget
    result: CompareResult
    operand: int | bytes
    range_end: bytes = b""

    @staticmethod
    def version(
        key: str | bytes,
        *,
        range_end: str | bytes | None = None,
        prefix: bool = False,
        from_key: bool = False,
    ) -> CompareBuilder:
        """The number of puts since the key was created (0 when absent)."""
        return _builder(CompareTarget.VERSION, key, range_end, prefix, from_key)

    @staticmethod
    def create_revision(
        key: str | bytes,
        *,
        range_end: str | bytes | None = None,
        prefix: bool = False,
        from_key: bool = False,
    ) -> CompareBuilder:
        """The revision that created the key (0 when absent)."""
        return _builder(CompareTarget.CREATE, key, range_end, prefix, from_key)

    @staticmethod
    def mod_revision(
        key: str | bytes,
        *,
        range_end: str | bytes | None = None,
        prefix: bool = False,
        from_key: bool = False,
    ) -> CompareBuilder:
        """The revision of the key's last change (0 when absent)."""
        return _builder(CompareTarget.MOD, key, range_end, prefix, from_key)

    @staticmethod
    def value(
        key: str | bytes,
        *,
        range_end: str | bytes | None = None,
        prefix: bool = False,
        from_key: bool = False,
    ) -> CompareBuilder:
        """The key's value, compared bytewise; false for a missing key, whatever the operator."""
        return _builder(CompareTarget.VALUE, key, range_end, prefix, from_key)

    @staticmethod
    def lease(
        key: str | bytes,
        *,
        range_end: str | bytes | None = None,
        prefix: bool = False,
        from_key: bool = False,
    ) -> CompareBuilder:
        """The id of the lease the key is attached to (0 when none or absent)."""
        return _builder(CompareTarget.LEASE, key, range_end, prefix, from_key)


def _builder(
    target: CompareTarget, key: object, range_end: object, prefix: object, from_key: object
) -> CompareBuilder:
    if type(key) is bytes and range_end is None and prefix is False and from_key is False:
        return _new_compare_builder(target, key, b"")
    return _new_compare_builder(target, *resolve_range(key, range_end, prefix, from_key))


@attrs.frozen(eq=False, weakref_slot=False)
class CompareBuilder:
    """The left side of a comparison; an operator with the right side makes a :class:`Compare`."""

    target: CompareTarget
    key: bytes
    range_end: bytes

    def _make(self, result: CompareResult, other: object) -> Compare:
        operand: int | bytes
        if self.target is CompareTarget.VALUE:
            operand = other if type(other) is bytes else to_bytes(other, "value")
        else:
            operand = other if type(other) is int else to_int(other, self.target.name.lower())
        return new_compare(self.key, self.target, result, operand, self.range_end)

    def __eq__(self, other: object) -> Compare:  # type: ignore[override]
        return self._make(CompareResult.EQUAL, other)

    def __ne__(self, other: object) -> Compare:  # type: ignore[override]
        return self._make(CompareResult.NOT_EQUAL, other)

    def __gt__(self, other: object) -> Compare:
        return self._make(CompareResult.GREATER, other)

    def __lt__(self, other: object) -> Compare:
        return self._make(CompareResult.LESS, other)

    __hash__ = None  # type: ignore[assignment]


@attrs.frozen(weakref_slot=False)
class TxnRequest:
    """etcdserverpb.TxnRequest. Build it with :meth:`Op.txn` or call :meth:`Store.txn`."""

    compare: tuple[Compare, ...] = ()
    success: tuple[RequestOp, ...] = ()
    failure: tuple[RequestOp, ...] = ()


RequestOp = RangeRequest | PutRequest | DeleteRangeRequest | TxnRequest
_REQUEST_TYPES = (RangeRequest, PutRequest, DeleteRangeRequest, TxnRequest)


def _ops(ops: object, name: str) -> tuple[RequestOp, ...]:
    if isinstance(ops, (str, bytes)) or not hasattr(ops, "__iter__"):
        raise TypeError(f"{name} must be a sequence of Op, not {type(ops).__name__}")
    out = tuple(ops)
    for op in out:
        if not isinstance(op, _REQUEST_TYPES):
            raise TypeError(f"{name} must hold Op.get/put/delete/txn, not {type(op).__name__}")
    return out


def _compares(cmps: object) -> tuple[Compare, ...]:
    if isinstance(cmps, (str, bytes)) or not hasattr(cmps, "__iter__"):
        raise TypeError(f"compare must be a sequence of Compare, not {type(cmps).__name__}")
    out = tuple(cmps)
    for c in out:
        if not isinstance(c, Compare):
            raise TypeError(f"compare must hold Compare, not {type(c).__name__}")
    return out


class Op:
    """Builders for the operations of a txn, with the keywords of the ``Store`` methods.

    >>> Op.delete("a", prefix=True)
    DeleteRangeRequest(key=b'a', range_end=b'b', prev_kv=False)
    """

    @staticmethod
    def put(
        key: str | bytes,
        value: str | bytes = b"",
        *,
        lease: int = 0,
        prev_kv: bool = False,
        ignore_value: bool = False,
        ignore_lease: bool = False,
    ) -> PutRequest:
        """A put, as :meth:`Store.put` takes it."""
        if type(key) is not bytes:
            key = to_bytes(key, "key")
        if type(value) is not bytes:
            value = to_bytes(value, "value")
        if type(lease) is not int:
            lease = to_int(lease, "lease")
        if not (
            type(prev_kv) is bool and type(ignore_value) is bool and type(ignore_lease) is bool
        ):
            to_bool(prev_kv, "prev_kv")  # type: ignore[unreachable]
            to_bool(ignore_value, "ignore_value")
            to_bool(ignore_lease, "ignore_lease")
        return new_put_request(key, value, lease, prev_kv, ignore_value, ignore_lease)

    @staticmethod
    def get(
        key: str | bytes,
        *,
        range_end: str | bytes | None = None,
        prefix: bool = False,
        from_key: bool = False,
        revision: int = 0,
        limit: int = 0,
        sort_target: str | SortTarget = "key",
        sort_order: str | SortOrder = "none",
        serializable: bool = False,
        keys_only: bool = False,
        count_only: bool = False,
        min_mod_revision: int = 0,
        max_mod_revision: int = 0,
        min_create_revision: int = 0,
        max_create_revision: int = 0,
    ) -> RangeRequest:
        """A range read, as :meth:`Store.get` takes it."""
        if type(key) is bytes and range_end is None and prefix is False and from_key is False:
            end = b""
        else:
            key, end = resolve_range(key, range_end, prefix, from_key)
        if not (
            type(limit) is int
            and type(revision) is int
            and type(min_mod_revision) is int
            and type(max_mod_revision) is int
            and type(min_create_revision) is int
            and type(max_create_revision) is int
        ):
            limit = to_int(limit, "limit")
            revision = to_int(revision, "revision")
            min_mod_revision = to_int(min_mod_revision, "min_mod_revision")
            max_mod_revision = to_int(max_mod_revision, "max_mod_revision")
            min_create_revision = to_int(min_create_revision, "min_create_revision")
            max_create_revision = to_int(max_create_revision, "max_create_revision")
        if not (
            type(serializable) is bool and type(keys_only) is bool and type(count_only) is bool
        ):
            to_bool(serializable, "serializable")  # type: ignore[unreachable]
            to_bool(keys_only, "keys_only")
            to_bool(count_only, "count_only")
        return new_range_request(
            key,
            end,
            limit,
            revision,
            SortOrder.NONE if sort_order == "none" else to_sort_order(sort_order),
            SortTarget.KEY if sort_target == "key" else to_sort_target(sort_target),
            serializable,
            keys_only,
            count_only,
            min_mod_revision,
            max_mod_revision,
            min_create_revision,
            max_create_revision,
        )

    @staticmethod
    def delete(
        key: str | bytes,
        *,
        range_end: str | bytes | None = None,
        prefix: bool = False,
        from_key: bool = False,
        prev_kv: bool = False,
    ) -> DeleteRangeRequest:
        """A delete, as :meth:`Store.delete` takes it."""
        if type(key) is bytes and range_end is None and prefix is False and from_key is False:
            end = b""
        else:
            key, end = resolve_range(key, range_end, prefix, from_key)
        if type(prev_kv) is not bool:
            to_bool(prev_kv, "prev_kv")  # type: ignore[unreachable]
        return new_delete_range_request(key, end, prev_kv)

    @staticmethod
    def txn(
        compare: Iterable[Compare] = (),
        success: Iterable[RequestOp] = (),
        failure: Iterable[RequestOp] = (),
    ) -> TxnRequest:
        """A (nested) txn, as :meth:`Store.txn` takes it."""
        return new_txn_request(
            _compares(compare), _ops(success, "success"), _ops(failure, "failure")
        )


# Fast positional constructors for the objects built on every call (see fast_constructor).
new_key_value = fast_constructor(KeyValue)
new_header = fast_constructor(ResponseHeader)
new_put_response = fast_constructor(PutResponse)
new_range_response = fast_constructor(RangeResponse)
new_delete_range_response = fast_constructor(DeleteRangeResponse)
new_txn_response = fast_constructor(TxnResponse)
new_put_request = fast_constructor(PutRequest)
new_range_request = fast_constructor(RangeRequest)
new_delete_range_request = fast_constructor(DeleteRangeRequest)
new_txn_request = fast_constructor(TxnRequest)
new_compare = fast_constructor(Compare)
_new_compare_builder = fast_constructor(CompareBuilder)
