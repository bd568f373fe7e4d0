"""etcdserverpb.Maintenance for one in-memory member: each RPC translates one Store call.

``Status``, ``Alarm`` (GET, ACTIVATE, DEACTIVATE), ``Defragment`` and ``HashKV`` are the Store's
:meth:`~etcdlite.Store.status`, :meth:`~etcdlite.Store.alarm_list` /
:meth:`~etcdlite.Store.alarm_activate` / :meth:`~etcdlite.Store.alarm_disarm`,
:meth:`~etcdlite.Store.defragment` and :meth:`~etcdlite.Store.hash_kv`; the semantics (size
estimate, quota, alarms, version) live there. A DEACTIVATE names one member's alarm exactly, as
etcd's server reads it (clientv3 and etcdctl expand "disarm everything" into one request per
raised alarm themselves). ``MoveLeader`` answers as etcd's one member does: to itself, an
empty success; to any other id, "bad leader transferee". ``Snapshot`` streams
:meth:`~etcdlite.Store.snapshot` (etcdlite's own format, not a bbolt file) as etcd does: 32 KiB
chunks with the bytes remaining after each, then a last message whose blob is the SHA-256 of
the rest, which ``etcdctl snapshot save`` writes to the file as well and
:meth:`~etcdlite.Store.restore` checks and drops. ``Hash`` (a CRC of etcd's bbolt file) is not
implemented and says so.

With auth on, the Store checks each call (``Status`` needs an authenticated user, the others
the ``root`` role); ``MoveLeader``, which the Store does not see, needs the ``root`` role too.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import grpc

from ...errors import BadLeaderTransfereeError, EtcdError
from .. import _convert as cv
from .._pb import rpc_pb2
from .._status import abort, acting, translate
from ._common import authorize

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ..._store import Store

__all__ = ("MaintenanceService",)

#: etcd's Snapshot chunk size.
SNAPSHOT_CHUNK = 32 * 1024


def _unimplemented(context: grpc.ServicerContext, what: str) -> None:
    context.abort(grpc.StatusCode.UNIMPLEMENTED, f"etcdlite: {what} is not implemented yet")


class MaintenanceService:
    """The Maintenance service in front of a Store."""

    #: Whether a client certificate's CN names the caller (``--client-cert-auth``).
    client_cert_auth = False

    def __init__(self, store: Store) -> None:
        self._store = store

    @translate()
    def Status(self, request: rpc_pb2.StatusRequest, context: grpc.ServicerContext) -> object:
        return cv.status_response_to_pb(self._store.status())

    @translate()
    def HashKV(self, request: rpc_pb2.HashKVRequest, context: grpc.ServicerContext) -> object:
        return cv.hash_kv_response_to_pb(self._store.hash_kv(request.revision))

    @translate()
    def Alarm(self, request: rpc_pb2.AlarmRequest, context: grpc.ServicerContext) -> object:
        store = self._store
        if request.action == rpc_pb2.AlarmRequest.ACTIVATE:
            r = store.alarm_activate(int(request.alarm), member_id=request.memberID)
        elif request.action == rpc_pb2.AlarmRequest.DEACTIVATE:
            r = store.alarm_disarm(int(request.alarm), member_id=request.memberID)
        else:
            r = store.alarm_list(int(request.alarm))
        return cv.alarm_response_to_pb(r)

    @translate()
    def Defragment(
        self, request: rpc_pb2.DefragmentRequest, context: grpc.ServicerContext
    ) -> object:
        return cv.defragment_response_to_pb(self._store.defragment())

    def Hash(self, request: rpc_pb2.HashRequest, context: grpc.ServicerContext) -> object:
        _unimplemented(context, "Hash (a CRC of etcd's bbolt file)")
        return None

    def Snapshot(
        self, request: rpc_pb2.SnapshotRequest, context: grpc.ServicerContext
    ) -> Iterator[rpc_pb2.SnapshotResponse]:
        try:
            with acting(self, context):
                data = b"".join(self._store.snapshot())
        except EtcdError as exc:
            abort(context, exc)
        digest = hashlib.sha256()
        total = len(data)
        for start in range(0, total, SNAPSHOT_CHUNK):
            blob = data[start : start + SNAPSHOT_CHUNK]
            digest.update(blob)
            yield rpc_pb2.SnapshotResponse(remaining_bytes=total - start - len(blob), blob=blob)
        yield rpc_pb2.SnapshotResponse(remaining_bytes=0, blob=digest.digest())

    @translate()
    def MoveLeader(
        self, request: rpc_pb2.MoveLeaderRequest, context: grpc.ServicerContext
    ) -> object:
        # One member is always its own leader: moving the leadership to itself succeeds with
        # an empty answer (no header, as etcd 3.4 sends), any other target is no member.
        authorize(self._store, admin=True)
        if request.targetID != self._store.header.member_id:
            raise BadLeaderTransfereeError()
        return rpc_pb2.MoveLeaderResponse()
