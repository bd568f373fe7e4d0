"""etcdserverpb.Maintenance for one in-memory member.

``Status`` reports the etcd version emulated, this member as leader, and the store's revision
as raft index (each write is one raft entry in etcd; etcd also counts lease and member
entries, so the numbers differ). The Store has no size accounting yet, so ``dbSize`` is 0.
``HashKV`` is the Store's (etcd 3.4's hash of the same history). ``Alarm`` has no alarm to
report; ``Defragment`` has nothing to do. ``Hash``, ``Snapshot`` and ``MoveLeader`` are not
implemented yet and say so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc

from .. import _convert as cv
from .._pb import rpc_pb2
from .._status import translate

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ..._store import Store

__all__ = ("MaintenanceService",)


def _unimplemented(context: grpc.ServicerContext, what: str) -> None:
    context.abort(grpc.StatusCode.UNIMPLEMENTED, f"etcdlite: {what} is not implemented yet")


class MaintenanceService:
    """The Maintenance service in front of a Store."""

    def __init__(self, store: Store, version: str) -> None:
        self._store = store
        self._version = version

    @translate()
    def Status(self, request: rpc_pb2.StatusRequest, context: grpc.ServicerContext) -> object:
        hdr = self._store.header
        return rpc_pb2.StatusResponse(
            header=cv.header_to_pb(hdr),
            version=self._version,
            dbSize=0,
            leader=hdr.member_id,
            raftIndex=hdr.revision,
            raftTerm=hdr.raft_term,
            raftAppliedIndex=hdr.revision,
        )

    @translate()
    def HashKV(self, request: rpc_pb2.HashKVRequest, context: grpc.ServicerContext) -> object:
        return cv.hash_kv_response_to_pb(self._store.hash_kv(request.revision))

    @translate()
    def Alarm(self, request: rpc_pb2.AlarmRequest, context: grpc.ServicerContext) -> object:
        if request.action == rpc_pb2.AlarmRequest.ACTIVATE:
            _unimplemented(context, "activating an alarm")
        return rpc_pb2.AlarmResponse(header=cv.header_to_pb(self._store.header))

    @translate()
    def Defragment(
        self, request: rpc_pb2.DefragmentRequest, context: grpc.ServicerContext
    ) -> object:
        return rpc_pb2.DefragmentResponse(header=cv.header_to_pb(self._store.header))

    def Hash(self, request: rpc_pb2.HashRequest, context: grpc.ServicerContext) -> object:
        _unimplemented(context, "Hash (a CRC of etcd's bbolt file)")
        return None

    def Snapshot(
        self, request: rpc_pb2.SnapshotRequest, context: grpc.ServicerContext
    ) -> Iterator[rpc_pb2.SnapshotResponse]:
        _unimplemented(context, "Snapshot")
        yield from ()

    def MoveLeader(
        self, request: rpc_pb2.MoveLeaderRequest, context: grpc.ServicerContext
    ) -> object:
        _unimplemented(context, "MoveLeader")
        return None
