"""Protobuf <-> etcdlite model, both ways: the only place that knows both vocabularies.

The server reads requests with the ``*_from_pb`` functions and writes responses with the
``*_to_pb`` ones; the remote client (``etcdlite.remote``) will use the opposite pairs. Nothing
here decides anything etcd decides: enum values etcd does not know are passed through as plain
ints, so the Store's own validation answers them (an unknown sort option is
``InvalidSortOptionError``), and every request is checked by the Store as an in-process call is.

Two corners have no model and are decided by the wire alone, as in etcd's v3rpc layer:

* a ``RequestOp`` with no request set raises :class:`~etcdlite.errors.KeyNotFoundError`
  (etcd's ``checkRequestOp`` default branch);
* a ``Compare`` whose ``target_union`` is unset or names another target compares against the
  target's zero value (etcd's ``compareKV``), expressed as an operand of the other kind, which
  the Store reads as zero.

>>> from etcdlite.server._pb import rpc_pb2
>>> request_op_from_pb(rpc_pb2.RequestOp(request_put=rpc_pb2.PutRequest(key=b"k", value=b"v")))
PutRequest(key=b'k', value=b'v', lease=0, prev_kv=False, ignore_value=False, ignore_lease=False)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._model import (
    Compare,
    CompareResult,
    CompareTarget,
    DeleteRangeRequest,
    DeleteRangeResponse,
    Event,
    EventType,
    KeyValue,
    PutRequest,
    PutResponse,
    RangeRequest,
    RangeResponse,
    ResponseHeader,
    SortOrder,
    SortTarget,
    TxnRequest,
    TxnResponse,
    WatchFilter,
    WatchResponse,
)
from .._model_lease import LeaderKey
from ..errors import KeyNotFoundError
from ._pb import kv_pb2, rpc_pb2, v3election_pb2, v3lock_pb2

if TYPE_CHECKING:
    from collections.abc import Iterable

    from google.protobuf.internal.containers import RepeatedCompositeFieldContainer

    from .._model import RequestOp, ResponseOp
    from .._model_lease import (
        CampaignResponse,
        LeaderResponse,
        LeaseGrantResponse,
        LeaseKeepAliveResponse,
        LeaseLeasesResponse,
        LeaseRevokeResponse,
        LeaseTimeToLiveResponse,
        LockResponse,
    )
    from .._model_maintenance import (
        AlarmResponse,
        DefragmentResponse,
        HashKVResponse,
        StatusResponse,
    )
    from .._watch_stream import WatchStream

__all__ = (
    "alarm_response_to_pb",
    "apply_watch_request",
    "campaign_response_to_pb",
    "compare_from_pb",
    "compare_to_pb",
    "defragment_response_to_pb",
    "delete_range_request_from_pb",
    "delete_range_response_from_pb",
    "delete_range_response_to_pb",
    "event_from_pb",
    "event_to_pb",
    "hash_kv_response_from_pb",
    "hash_kv_response_to_pb",
    "header_from_pb",
    "header_to_pb",
    "key_value_from_pb",
    "key_value_to_pb",
    "leader_key_from_pb",
    "leader_key_to_pb",
    "leader_response_to_pb",
    "lease_grant_response_from_pb",
    "lease_grant_response_to_pb",
    "lease_keep_alive_response_from_pb",
    "lease_keep_alive_response_to_pb",
    "lease_leases_response_from_pb",
    "lease_leases_response_to_pb",
    "lease_revoke_response_from_pb",
    "lease_revoke_response_to_pb",
    "lease_time_to_live_response_from_pb",
    "lease_time_to_live_response_to_pb",
    "lock_response_to_pb",
    "put_request_from_pb",
    "put_response_from_pb",
    "put_response_to_pb",
    "range_request_from_pb",
    "range_response_from_pb",
    "range_response_to_pb",
    "request_op_from_pb",
    "request_op_to_pb",
    "response_op_from_pb",
    "response_op_to_pb",
    "status_response_to_pb",
    "txn_request_from_pb",
    "txn_response_from_pb",
    "txn_response_to_pb",
    "watch_response_from_pb",
    "watch_response_to_pb",
)


def _enum(cls: type[SortOrder | SortTarget], value: int) -> int:
    """``cls(value)`` for a known value; an unknown one stays an int for the Store to judge."""
    try:
        return cls(value)
    except ValueError:
        return value


# --------------------------------------------------------------------------- headers and kvs


def header_to_pb(h: ResponseHeader) -> rpc_pb2.ResponseHeader:
    return rpc_pb2.ResponseHeader(
        cluster_id=h.cluster_id, member_id=h.member_id, revision=h.revision, raft_term=h.raft_term
    )


def header_from_pb(pb: rpc_pb2.ResponseHeader) -> ResponseHeader:
    return ResponseHeader(pb.cluster_id, pb.member_id, pb.revision, pb.raft_term)


def key_value_to_pb(kv: KeyValue) -> kv_pb2.KeyValue:
    return kv_pb2.KeyValue(
        key=kv.key,
        create_revision=kv.create_revision,
        mod_revision=kv.mod_revision,
        version=kv.version,
        value=kv.value,
        lease=kv.lease,
    )


def key_value_from_pb(pb: kv_pb2.KeyValue) -> KeyValue:
    return KeyValue(pb.key, pb.create_revision, pb.mod_revision, pb.version, pb.value, pb.lease)


def event_to_pb(e: Event) -> kv_pb2.Event:
    pb = kv_pb2.Event(type=int(e.type), kv=key_value_to_pb(e.kv))  # type: ignore[arg-type]
    if e.prev_kv is not None:
        pb.prev_kv.CopyFrom(key_value_to_pb(e.prev_kv))
    return pb


def event_from_pb(pb: kv_pb2.Event) -> Event:
    prev = key_value_from_pb(pb.prev_kv) if pb.HasField("prev_kv") else None
    return Event(EventType(pb.type), key_value_from_pb(pb.kv), prev)


# --------------------------------------------------------------------------- KV requests


def range_request_from_pb(pb: rpc_pb2.RangeRequest) -> RangeRequest:
    return RangeRequest(
        pb.key,
        pb.range_end,
        pb.limit,
        pb.revision,
        _enum(SortOrder, pb.sort_order),  # type: ignore[arg-type]
        _enum(SortTarget, pb.sort_target),  # type: ignore[arg-type]
        pb.serializable,
        pb.keys_only,
        pb.count_only,
        pb.min_mod_revision,
        pb.max_mod_revision,
        pb.min_create_revision,
        pb.max_create_revision,
    )


def put_request_from_pb(pb: rpc_pb2.PutRequest) -> PutRequest:
    return PutRequest(pb.key, pb.value, pb.lease, pb.prev_kv, pb.ignore_value, pb.ignore_lease)


def delete_range_request_from_pb(pb: rpc_pb2.DeleteRangeRequest) -> DeleteRangeRequest:
    return DeleteRangeRequest(pb.key, pb.range_end, pb.prev_kv)


#: target_union field -> the target it carries an operand for.
_UNION_TARGETS = {
    "version": CompareTarget.VERSION,
    "create_revision": CompareTarget.CREATE,
    "mod_revision": CompareTarget.MOD,
    "value": CompareTarget.VALUE,
    "lease": CompareTarget.LEASE,
}
_TARGET_FIELDS = {target: name for name, target in _UNION_TARGETS.items()}


def compare_from_pb(pb: rpc_pb2.Compare) -> Compare:
    target: int = pb.target
    try:
        target = CompareTarget(target)
    except ValueError:
        pass
    result: int = pb.result
    try:
        result = CompareResult(result)
    except ValueError:
        pass
    which = pb.WhichOneof("target_union")
    operand: int | bytes
    if which is not None and _UNION_TARGETS[which] == target:
        operand = getattr(pb, which)
    else:
        # Unset or another target's operand: etcd compares against the target's zero value;
        # an operand of the other kind means exactly that to the Store.
        operand = 0 if target == CompareTarget.VALUE else b""
    return Compare(pb.key, target, result, operand, pb.range_end)  # type: ignore[arg-type]


def compare_to_pb(c: Compare) -> rpc_pb2.Compare:
    pb = rpc_pb2.Compare(
        key=c.key,
        range_end=c.range_end,
        target=int(c.target),  # type: ignore[arg-type]
        result=int(c.result),  # type: ignore[arg-type]
    )
    field = _TARGET_FIELDS.get(c.target)
    if field is not None and isinstance(c.operand, bytes) is (field == "value"):
        setattr(pb, field, c.operand)
    return pb


def txn_request_from_pb(pb: rpc_pb2.TxnRequest) -> TxnRequest:
    return TxnRequest(
        tuple(compare_from_pb(c) for c in pb.compare),
        tuple(request_op_from_pb(op) for op in pb.success),
        tuple(request_op_from_pb(op) for op in pb.failure),
    )


def request_op_from_pb(pb: rpc_pb2.RequestOp) -> RequestOp:
    which = pb.WhichOneof("request")
    if which == "request_range":
        return range_request_from_pb(pb.request_range)
    if which == "request_put":
        return put_request_from_pb(pb.request_put)
    if which == "request_delete_range":
        return delete_range_request_from_pb(pb.request_delete_range)
    if which == "request_txn":
        return txn_request_from_pb(pb.request_txn)
    raise KeyNotFoundError()  # etcd's checkRequestOp on an op without a request


def request_op_to_pb(op: RequestOp) -> rpc_pb2.RequestOp:
    if isinstance(op, RangeRequest):
        return rpc_pb2.RequestOp(
            request_range=rpc_pb2.RangeRequest(
                key=op.key,
                range_end=op.range_end,
                limit=op.limit,
                revision=op.revision,
                sort_order=int(op.sort_order),  # type: ignore[arg-type]
                sort_target=int(op.sort_target),  # type: ignore[arg-type]
                serializable=op.serializable,
                keys_only=op.keys_only,
                count_only=op.count_only,
                min_mod_revision=op.min_mod_revision,
                max_mod_revision=op.max_mod_revision,
                min_create_revision=op.min_create_revision,
                max_create_revision=op.max_create_revision,
            )
        )
    if isinstance(op, PutRequest):
        return rpc_pb2.RequestOp(
            request_put=rpc_pb2.PutRequest(
                key=op.key,
                value=op.value,
                lease=op.lease,
                prev_kv=op.prev_kv,
                ignore_value=op.ignore_value,
                ignore_lease=op.ignore_lease,
            )
        )
    if isinstance(op, DeleteRangeRequest):
        return rpc_pb2.RequestOp(
            request_delete_range=rpc_pb2.DeleteRangeRequest(
                key=op.key, range_end=op.range_end, prev_kv=op.prev_kv
            )
        )
    return rpc_pb2.RequestOp(
        request_txn=rpc_pb2.TxnRequest(
            compare=[compare_to_pb(c) for c in op.compare],
            success=[request_op_to_pb(o) for o in op.success],
            failure=[request_op_to_pb(o) for o in op.failure],
        )
    )


# --------------------------------------------------------------------------- KV responses


def _add_kvs(
    field: RepeatedCompositeFieldContainer[kv_pb2.KeyValue], kvs: Iterable[KeyValue]
) -> None:
    """Append ``kvs`` to the repeated field: ``add`` builds each message in place, where a list
    of messages built apart is copied in one by one (100 kvs: about 60 us against 100)."""
    add = field.add
    for kv in kvs:
        add(
            key=kv.key,
            create_revision=kv.create_revision,
            mod_revision=kv.mod_revision,
            version=kv.version,
            value=kv.value,
            lease=kv.lease,
        )


def range_response_to_pb(r: RangeResponse) -> rpc_pb2.RangeResponse:
    pb = rpc_pb2.RangeResponse(header=header_to_pb(r.header), more=r.more, count=r.count)
    _add_kvs(pb.kvs, r.kvs)
    return pb


def range_response_from_pb(pb: rpc_pb2.RangeResponse) -> RangeResponse:
    return RangeResponse(
        header_from_pb(pb.header),
        tuple(key_value_from_pb(kv) for kv in pb.kvs),
        pb.more,
        pb.count,
    )


def put_response_to_pb(r: PutResponse) -> rpc_pb2.PutResponse:
    pb = rpc_pb2.PutResponse(header=header_to_pb(r.header))
    if r.prev_kv is not None:
        pb.prev_kv.CopyFrom(key_value_to_pb(r.prev_kv))
    return pb


def put_response_from_pb(pb: rpc_pb2.PutResponse) -> PutResponse:
    prev = key_value_from_pb(pb.prev_kv) if pb.HasField("prev_kv") else None
    return PutResponse(header_from_pb(pb.header), prev)


def delete_range_response_to_pb(r: DeleteRangeResponse) -> rpc_pb2.DeleteRangeResponse:
    pb = rpc_pb2.DeleteRangeResponse(header=header_to_pb(r.header), deleted=r.deleted)
    _add_kvs(pb.prev_kvs, r.prev_kvs)
    return pb


def delete_range_response_from_pb(pb: rpc_pb2.DeleteRangeResponse) -> DeleteRangeResponse:
    return DeleteRangeResponse(
        header_from_pb(pb.header), pb.deleted, tuple(key_value_from_pb(kv) for kv in pb.prev_kvs)
    )


def txn_response_to_pb(r: TxnResponse) -> rpc_pb2.TxnResponse:
    return rpc_pb2.TxnResponse(
        header=header_to_pb(r.header),
        succeeded=r.succeeded,
        responses=[response_op_to_pb(op) for op in r.responses],
    )


def txn_response_from_pb(pb: rpc_pb2.TxnResponse) -> TxnResponse:
    return TxnResponse(
        header_from_pb(pb.header),
        pb.succeeded,
        tuple(response_op_from_pb(op) for op in pb.responses),
    )


def response_op_to_pb(r: ResponseOp) -> rpc_pb2.ResponseOp:
    if isinstance(r, RangeResponse):
        return rpc_pb2.ResponseOp(response_range=range_response_to_pb(r))
    if isinstance(r, PutResponse):
        return rpc_pb2.ResponseOp(response_put=put_response_to_pb(r))
    if isinstance(r, DeleteRangeResponse):
        return rpc_pb2.ResponseOp(response_delete_range=delete_range_response_to_pb(r))
    return rpc_pb2.ResponseOp(response_txn=txn_response_to_pb(r))


def response_op_from_pb(pb: rpc_pb2.ResponseOp) -> ResponseOp:
    which = pb.WhichOneof("response")
    if which == "response_range":
        return range_response_from_pb(pb.response_range)
    if which == "response_put":
        return put_response_from_pb(pb.response_put)
    if which == "response_delete_range":
        return delete_range_response_from_pb(pb.response_delete_range)
    if which == "response_txn":
        return txn_response_from_pb(pb.response_txn)
    raise ValueError("a ResponseOp without a response")


# --------------------------------------------------------------------------- watch


def _filters(values: Iterable[int]) -> list[WatchFilter]:
    # etcd's FiltersOf ignores a filter value it does not know.
    known = {int(f) for f in WatchFilter}
    return [WatchFilter(v) for v in values if v in known]


def apply_watch_request(stream: WatchStream, pb: rpc_pb2.WatchRequest) -> None:
    """Carry one ``WatchRequest`` to ``stream``: create, cancel or progress.

    A cancel of an id the stream does not have is answered with nothing, as etcd does; a
    request with none of the three set is ignored, as etcd's recvLoop does.
    """
    from ..errors import WatcherNotExistError

    which = pb.WhichOneof("request_union")
    if which == "create_request":
        c = pb.create_request
        stream.create(
            c.key,
            range_end=c.range_end,
            start_revision=c.start_revision,
            prev_kv=c.prev_kv,
            filters=_filters(c.filters),
            progress_notify=c.progress_notify,
            fragment=c.fragment,
            watch_id=c.watch_id,
        )
    elif which == "cancel_request":
        try:
            stream.cancel(pb.cancel_request.watch_id)
        except WatcherNotExistError:
            pass
    elif which == "progress_request":
        stream.request_progress()


def watch_response_to_pb(r: WatchResponse) -> rpc_pb2.WatchResponse:
    return rpc_pb2.WatchResponse(
        header=header_to_pb(r.header),
        watch_id=r.watch_id,
        created=r.created,
        canceled=r.canceled,
        compact_revision=r.compact_revision,
        cancel_reason=r.cancel_reason,
        fragment=r.fragment,
        events=[event_to_pb(e) for e in r.events],
    )


def watch_response_from_pb(pb: rpc_pb2.WatchResponse) -> WatchResponse:
    return WatchResponse(
        header_from_pb(pb.header),
        pb.watch_id,
        pb.created,
        pb.canceled,
        pb.compact_revision,
        pb.cancel_reason,
        tuple(event_from_pb(e) for e in pb.events),
        pb.fragment,
    )


# --------------------------------------------------------------------------- lease


def lease_grant_response_to_pb(r: LeaseGrantResponse) -> rpc_pb2.LeaseGrantResponse:
    return rpc_pb2.LeaseGrantResponse(header=header_to_pb(r.header), ID=r.id, TTL=r.ttl)


def lease_revoke_response_to_pb(r: LeaseRevokeResponse) -> rpc_pb2.LeaseRevokeResponse:
    return rpc_pb2.LeaseRevokeResponse(header=header_to_pb(r.header))


def lease_keep_alive_response_to_pb(
    r: LeaseKeepAliveResponse,
) -> rpc_pb2.LeaseKeepAliveResponse:
    return rpc_pb2.LeaseKeepAliveResponse(header=header_to_pb(r.header), ID=r.id, TTL=r.ttl)


def lease_time_to_live_response_to_pb(
    r: LeaseTimeToLiveResponse,
) -> rpc_pb2.LeaseTimeToLiveResponse:
    return rpc_pb2.LeaseTimeToLiveResponse(
        header=header_to_pb(r.header),
        ID=r.id,
        TTL=r.ttl,
        grantedTTL=r.granted_ttl,
        keys=list(r.keys),
    )


def lease_leases_response_to_pb(r: LeaseLeasesResponse) -> rpc_pb2.LeaseLeasesResponse:
    return rpc_pb2.LeaseLeasesResponse(
        header=header_to_pb(r.header), leases=[rpc_pb2.LeaseStatus(ID=s.id) for s in r.leases]
    )


# --------------------------------------------------------------------------- lock and election


def lock_response_to_pb(r: LockResponse) -> v3lock_pb2.LockResponse:
    return v3lock_pb2.LockResponse(header=header_to_pb(r.header), key=r.key)


def leader_key_to_pb(k: LeaderKey) -> v3election_pb2.LeaderKey:
    return v3election_pb2.LeaderKey(name=k.name, key=k.key, rev=k.rev, lease=k.lease)


def leader_key_from_pb(pb: v3election_pb2.LeaderKey) -> LeaderKey:
    return LeaderKey(pb.name, pb.key, pb.rev, pb.lease)


def campaign_response_to_pb(r: CampaignResponse) -> v3election_pb2.CampaignResponse:
    return v3election_pb2.CampaignResponse(
        header=header_to_pb(r.header), leader=leader_key_to_pb(r.leader)
    )


def leader_response_to_pb(r: LeaderResponse) -> v3election_pb2.LeaderResponse:
    return v3election_pb2.LeaderResponse(header=header_to_pb(r.header), kv=key_value_to_pb(r.kv))


# --------------------------------------------------------------------------- maintenance


def hash_kv_response_to_pb(r: HashKVResponse) -> rpc_pb2.HashKVResponse:
    return rpc_pb2.HashKVResponse(
        header=header_to_pb(r.header), hash=r.hash, compact_revision=r.compact_revision
    )


def status_response_to_pb(r: StatusResponse) -> rpc_pb2.StatusResponse:
    return rpc_pb2.StatusResponse(
        header=header_to_pb(r.header),
        version=r.version,
        dbSize=r.db_size,
        leader=r.leader,
        raftIndex=r.raft_index,
        raftTerm=r.raft_term,
        raftAppliedIndex=r.raft_applied_index,
        errors=r.errors,
        dbSizeInUse=r.db_size_in_use,
        isLearner=r.is_learner,
    )


def alarm_response_to_pb(r: AlarmResponse) -> rpc_pb2.AlarmResponse:
    return rpc_pb2.AlarmResponse(
        header=header_to_pb(r.header),
        alarms=[rpc_pb2.AlarmMember(memberID=a.member_id, alarm=a.alarm.name) for a in r.alarms],
    )


def defragment_response_to_pb(r: DefragmentResponse) -> rpc_pb2.DefragmentResponse:
    return rpc_pb2.DefragmentResponse(header=header_to_pb(r.header))


# --------------------------------------------------------------------------- responses read back
# (the remote client's side: etcd's answers to lease and maintenance calls as model objects)

from .. import _model_lease, _model_maintenance  # here, not at the top: an appended section


def lease_grant_response_from_pb(pb: rpc_pb2.LeaseGrantResponse) -> LeaseGrantResponse:
    return _model_lease.LeaseGrantResponse(header_from_pb(pb.header), pb.ID, pb.TTL)


def lease_revoke_response_from_pb(pb: rpc_pb2.LeaseRevokeResponse) -> LeaseRevokeResponse:
    return _model_lease.LeaseRevokeResponse(header_from_pb(pb.header))


def lease_keep_alive_response_from_pb(
    pb: rpc_pb2.LeaseKeepAliveResponse,
) -> LeaseKeepAliveResponse:
    return _model_lease.LeaseKeepAliveResponse(header_from_pb(pb.header), pb.ID, pb.TTL)


def lease_time_to_live_response_from_pb(
    pb: rpc_pb2.LeaseTimeToLiveResponse,
) -> LeaseTimeToLiveResponse:
    return _model_lease.LeaseTimeToLiveResponse(
        header_from_pb(pb.header), pb.ID, pb.TTL, pb.grantedTTL, tuple(pb.keys)
    )


def lease_leases_response_from_pb(pb: rpc_pb2.LeaseLeasesResponse) -> LeaseLeasesResponse:
    return _model_lease.LeaseLeasesResponse(
        header_from_pb(pb.header), tuple(_model_lease.LeaseStatus(s.ID) for s in pb.leases)
    )


def hash_kv_response_from_pb(pb: rpc_pb2.HashKVResponse) -> HashKVResponse:
    return _model_maintenance.HashKVResponse(
        header_from_pb(pb.header), pb.hash, pb.compact_revision
    )
