"""The backend quota and the alarms: what a write costs, how big the store is, which alarms are up.

etcd refuses a write when its backend would outgrow ``--quota-backend-bytes``
(server/etcdserver/quota.go in 3.4): a Put, a Txn or a LeaseGrant is admitted only while
``size + cost < quota``, where ``size`` is the backend's size and ``cost`` etcd's estimate of
what the request adds: ``256 + len(key) + len(value)`` per put, for a txn the larger of its two
branches, 64 for a lease grant. The first refusal raises the ``NOSPACE`` alarm; while it is up,
every Put, every Txn that contains a put (in either branch, run or not) and every LeaseGrant
fails with ``NoSpaceError``, whatever the size, until someone disarms the alarm. Reads,
deletes, delete-only txns, compaction, revokes and keep-alives keep working.

**The size is an estimate.** etcd reports the size of its bbolt file (``dbSize``, pages ever
used) and what of it is in use (``dbSizeInUse``). An in-memory store has no file, so etcdlite
counts what etcd's backend would hold: every stored revision of a key (a put or a delete's
tombstone) costs ``len(key) + len(value) + RECORD_OVERHEAD`` bytes and every live lease
``LEASE_RECORD`` bytes. Compaction and revokes free their records from the *in-use* figure; the
*size* is the most ever in use, as a file that does not shrink, until :meth:`Store.defragment
<etcdlite.Store.defragment>` brings it down to what is in use. The numbers are of the same order
as etcd's, not equal to them (bbolt pages, fill factors and its free list are not modelled); a
durable store may later report its data file instead.

>>> alarms = Alarms()
>>> alarms.activate(7, AlarmType.NOSPACE), alarms.nospace
(AlarmMember(member_id=7, alarm=<AlarmType.NOSPACE: 1>), True)
>>> alarms.deactivate(7, AlarmType.NOSPACE) is not None, alarms.nospace
(True, False)
>>> txn_cost(TxnRequest(success=(PutRequest(b"k", b"v"),), failure=()))
258
"""

from __future__ import annotations

from operator import attrgetter
from typing import TYPE_CHECKING

from ._model import DeleteRangeRequest, PutRequest, RangeRequest, TxnRequest
from ._model_maintenance import AlarmMember, AlarmType
from ._mvcc._key_index import KeyIndex

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from ._model import KeyValue, RequestOp
    from ._mvcc._index import Entry

__all__ = (
    "DEFAULT_QUOTA_BACKEND_BYTES",
    "KV_OVERHEAD",
    "LEASE_OVERHEAD",
    "LEASE_RECORD",
    "RECORD_OVERHEAD",
    "Alarms",
    "quota_limit",
    "record_bytes",
    "retained_bytes",
    "txn_cost",
)

_value = attrgetter("value")

#: etcd's default ``--quota-backend-bytes``: 2 GiB (what 0 means too).
DEFAULT_QUOTA_BACKEND_BYTES = 2 * 1024 * 1024 * 1024
#: etcd's cost of one put beyond its key and value (quota.go ``kvOverhead``).
KV_OVERHEAD = 256
#: etcd's cost of a lease grant (quota.go ``leaseOverhead``).
LEASE_OVERHEAD = 64
#: The estimated bytes a stored revision takes beyond its key and value: the 17-byte revision
#: key, bbolt's 16-byte leaf element and the KeyValue protobuf's other fields, rounded up.
RECORD_OVERHEAD = 64
#: The estimated bytes of a live lease's record (its id, TTL and bbolt element).
LEASE_RECORD = 64


def quota_limit(quota_backend_bytes: int) -> int | None:
    """The quota in bytes for etcd's ``--quota-backend-bytes`` value: 0 means the default
    (2 GiB), a negative value disables the quota (``None``), as etcd's ``NewBackendQuota``.

    >>> quota_limit(0), quota_limit(-1), quota_limit(1)
    (2147483648, None, 1)
    """
    if quota_backend_bytes < 0:
        return None
    return quota_backend_bytes or DEFAULT_QUOTA_BACKEND_BYTES


def txn_cost(req: TxnRequest) -> int:
    """etcd's quota cost of a txn: the larger of its branches' put costs.

    etcd 3.4 counts only the puts directly in a branch; etcdlite counts nested txns' puts too
    (the larger nested branch), so a nested put cannot slip past the NOSPACE alarm.
    """
    return max(_ops_cost(req.success), _ops_cost(req.failure))


def _ops_cost(ops: Iterable[RequestOp]) -> int:
    cost = 0
    for op in ops:
        cls = type(op)
        if cls is PutRequest:
            cost += KV_OVERHEAD + len(op.key) + len(op.value)  # type: ignore[union-attr]
        elif cls is TxnRequest:
            cost += txn_cost(op)  # type: ignore[arg-type]
        else:
            assert cls is RangeRequest or cls is DeleteRangeRequest
    return cost


def record_bytes(records: Iterable[KeyValue]) -> int:
    """The estimated stored size of ``records`` (puts and tombstones)."""
    return sum(len(r.key) + len(r.value) + RECORD_OVERHEAD for r in records)


def retained_bytes(lookup: Callable[[bytes], Entry | None], keys: Iterable[bytes]) -> int:
    """The estimated stored size of every retained record of ``keys`` (``lookup`` is the
    index's ``key -> entry``): what the store's invariant check recounts."""
    total = 0
    for key in keys:
        entry = lookup(key)
        if type(entry) is KeyIndex:
            n = len(entry)
            total += (len(key) + RECORD_OVERHEAD) * n + sum(map(len, map(_value, entry)))
        elif entry is not None:
            total += len(key) + RECORD_OVERHEAD + len(entry.value)  # type: ignore[union-attr]
    return total


class Alarms:
    """The raised alarms: ``(member, type)`` pairs in the order they were raised (etcd's
    ``AlarmStore``), and whether a NOSPACE or CORRUPT alarm is up."""

    __slots__ = ("_raised", "corrupt", "nospace")

    def __init__(self) -> None:
        self._raised: dict[tuple[int, AlarmType], AlarmMember] = {}
        #: A NOSPACE alarm is raised (for any member): puts and lease grants are refused.
        self.nospace = False
        #: A CORRUPT alarm is raised (for any member): every write is refused.
        self.corrupt = False

    def get(self, alarm: AlarmType = AlarmType.NONE) -> tuple[AlarmMember, ...]:
        """The raised alarms of type ``alarm`` (``NONE``: all of them)."""
        found = self._raised.values()
        if alarm is AlarmType.NONE:
            return tuple(found)
        return tuple(m for m in found if m.alarm is alarm)

    def activate(self, member_id: int, alarm: AlarmType) -> AlarmMember | None:
        """Raise ``alarm`` for ``member_id`` (a no-op if it is up); ``NONE`` raises nothing.

        etcd 3.4 stores a ``NONE`` alarm as any other, and crashes storing member 0's
        (an empty bbolt key); etcdlite ignores the request.
        """
        if alarm is AlarmType.NONE:
            return None
        member = self._raised.setdefault((member_id, alarm), AlarmMember(member_id, alarm))
        self._refresh()
        return member

    def deactivate(self, member_id: int, alarm: AlarmType) -> AlarmMember | None:
        """Disarm ``alarm`` of ``member_id``: the alarm, or ``None`` if it was not raised."""
        member = self._raised.pop((member_id, alarm), None)
        self._refresh()
        return member

    def _refresh(self) -> None:
        kinds = {alarm for _, alarm in self._raised}
        self.nospace = AlarmType.NOSPACE in kinds
        self.corrupt = AlarmType.CORRUPT in kinds

    def errors(self) -> tuple[str, ...]:
        """Status's ``errors``: each alarm in protobuf text form, as etcd writes them
        (``"memberID:<id> alarm:NOSPACE "``, with the trailing space)."""
        return tuple(f"memberID:{m.member_id} alarm:{m.alarm.name} " for m in self._raised.values())
