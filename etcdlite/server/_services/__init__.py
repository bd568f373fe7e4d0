"""One servicer per etcd service, each a thin translation between protobuf and the Store.

:func:`make_servicers` builds them once per server, :func:`by_service` names them for the gRPC
server (:mod:`.._calls` registers them, with the gRPC health service), and the JSON gateway calls
the same instances.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

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
    from ..._store import Store

__all__ = ("MemberInfo", "Servicers", "by_service", "make_servicers")


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


def by_service(services: Servicers) -> dict[str, object]:
    """Every servicer (and gRPC health's) by the full name of the service it serves."""
    return {
        "etcdserverpb.KV": services.kv,
        "etcdserverpb.Watch": services.watch,
        "etcdserverpb.Lease": services.lease,
        "etcdserverpb.Cluster": services.cluster,
        "etcdserverpb.Maintenance": services.maintenance,
        "etcdserverpb.Auth": services.auth,
        "v3lockpb.Lock": services.lock,
        "v3electionpb.Election": services.election,
        "grpc.health.v1.Health": HealthService(),
    }
