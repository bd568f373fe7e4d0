"""One servicer per etcd service, each a thin translation between protobuf and the Store.

:func:`make_servicers` builds them once per server; :func:`add_services` registers them (and the
gRPC health service) on a ``grpc.Server``, and the JSON gateway calls the same instances.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from .._pb import health_pb2_grpc, rpc_pb2_grpc, v3election_pb2_grpc, v3lock_pb2_grpc
from .auth import AuthService
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

__all__ = ("MemberInfo", "Servicers", "add_services", "make_servicers")

# The generated modules carry no annotations: reach them through Any.
_rpc: Any = rpc_pb2_grpc
_lock: Any = v3lock_pb2_grpc
_election: Any = v3election_pb2_grpc
_health: Any = health_pb2_grpc


class Servicers(NamedTuple):
    """One servicer per etcd service, all in front of the same Store."""

    kv: KVService
    watch: WatchService
    lease: LeaseService
    cluster: ClusterService
    maintenance: MaintenanceService
    lock: LockService
    election: ElectionService
    auth: AuthService


def make_servicers(
    store: Store, member: MemberInfo, *, client_cert_auth: bool = False
) -> Servicers:
    """Every etcd service in front of ``store``. With ``client_cert_auth`` (etcd's
    ``--client-cert-auth``) a call without a token runs as the CN of the client's verified
    certificate."""
    services = Servicers(
        KVService(store),
        WatchService(store),
        LeaseService(store),
        ClusterService(store, member),
        MaintenanceService(store),
        LockService(store),
        ElectionService(store),
        AuthService(store),
    )
    for service in services:
        service.client_cert_auth = client_cert_auth
    return services


def add_services(server: grpc.Server, services: Servicers) -> None:
    """Register every service (and gRPC health) on ``server``."""
    _rpc.add_KVServicer_to_server(services.kv, server)
    _rpc.add_WatchServicer_to_server(services.watch, server)
    _rpc.add_LeaseServicer_to_server(services.lease, server)
    _rpc.add_ClusterServicer_to_server(services.cluster, server)
    _rpc.add_MaintenanceServicer_to_server(services.maintenance, server)
    _rpc.add_AuthServicer_to_server(services.auth, server)
    _lock.add_LockServicer_to_server(services.lock, server)
    _election.add_ElectionServicer_to_server(services.election, server)
    _health.add_HealthServicer_to_server(HealthService(), server)
