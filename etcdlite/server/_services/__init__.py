"""One servicer per etcd service, each a thin translation between protobuf and the Store.

:func:`add_services` registers them all (and the gRPC health service) on a ``grpc.Server``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._pb import health_pb2_grpc, rpc_pb2_grpc, v3election_pb2_grpc, v3lock_pb2_grpc
from .cluster import ClusterService, MemberInfo
from .election import ElectionService
from .health import HealthService
from .kv import KVService
from .lease import LeaseService
from .lock import LockService
from .maintenance import MaintenanceService
from .watch import WatchService

if TYPE_CHECKING:
    import grpc

    from ..._store import Store

__all__ = ("MemberInfo", "add_services")

# The generated modules carry no annotations: reach them through Any.
_rpc: Any = rpc_pb2_grpc
_lock: Any = v3lock_pb2_grpc
_election: Any = v3election_pb2_grpc
_health: Any = health_pb2_grpc


def add_services(server: grpc.Server, store: Store, member: MemberInfo, version: str) -> None:
    """Register every service on ``server``, all in front of ``store``."""
    _rpc.add_KVServicer_to_server(KVService(store), server)
    _rpc.add_WatchServicer_to_server(WatchService(store), server)
    _rpc.add_LeaseServicer_to_server(LeaseService(store), server)
    _rpc.add_ClusterServicer_to_server(ClusterService(store, member), server)
    _rpc.add_MaintenanceServicer_to_server(MaintenanceService(store, version), server)
    _lock.add_LockServicer_to_server(LockService(store), server)
    _election.add_ElectionServicer_to_server(ElectionService(store), server)
    _health.add_HealthServicer_to_server(HealthService(), server)
