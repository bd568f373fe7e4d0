"""etcdlite: an embeddable, pure-Python store with etcd v3 semantics.

>>> import etcdlite
>>> store = etcdlite.Store()
>>> store.put("config/color", "blue").header.revision
2
>>> [kv.value for kv in store.get("config/", prefix=True).kvs]
[b'blue']
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import errors as errors
from ._lease_stream import KeepAlive as KeepAlive
from ._lease_stream import Lease as Lease
from ._model import CompactionResponse as CompactionResponse
from ._model import Compare as Compare
from ._model import CompareResult as CompareResult
from ._model import CompareTarget as CompareTarget
from ._model import DeleteRangeRequest as DeleteRangeRequest
from ._model import DeleteRangeResponse as DeleteRangeResponse
from ._model import Event as Event
from ._model import EventType as EventType
from ._model import KeyValue as KeyValue
from ._model import Op as Op
from ._model import PutRequest as PutRequest
from ._model import PutResponse as PutResponse
from ._model import RangeRequest as RangeRequest
from ._model import RangeResponse as RangeResponse
from ._model import RequestOp as RequestOp
from ._model import ResponseHeader as ResponseHeader
from ._model import ResponseOp as ResponseOp
from ._model import SortOrder as SortOrder
from ._model import SortTarget as SortTarget
from ._model import TxnRequest as TxnRequest
from ._model import TxnResponse as TxnResponse
from ._model import WatchFilter as WatchFilter
from ._model import WatchResponse as WatchResponse
from ._model import prefix_end as prefix_end
from ._model_auth import AuthDisableResponse as AuthDisableResponse
from ._model_auth import AuthEnableResponse as AuthEnableResponse
from ._model_auth import AuthenticateResponse as AuthenticateResponse
from ._model_auth import AuthStatusResponse as AuthStatusResponse
from ._model_auth import Permission as Permission
from ._model_auth import PermissionType as PermissionType
from ._model_auth import RoleAddResponse as RoleAddResponse
from ._model_auth import RoleDeleteResponse as RoleDeleteResponse
from ._model_auth import RoleGetResponse as RoleGetResponse
from ._model_auth import RoleGrantPermissionResponse as RoleGrantPermissionResponse
from ._model_auth import RoleListResponse as RoleListResponse
from ._model_auth import RoleRevokePermissionResponse as RoleRevokePermissionResponse
from ._model_auth import UserAddResponse as UserAddResponse
from ._model_auth import UserChangePasswordResponse as UserChangePasswordResponse
from ._model_auth import UserDeleteResponse as UserDeleteResponse
from ._model_auth import UserGetResponse as UserGetResponse
from ._model_auth import UserGrantRoleResponse as UserGrantRoleResponse
from ._model_auth import UserListResponse as UserListResponse
from ._model_auth import UserRevokeRoleResponse as UserRevokeRoleResponse
from ._model_lease import CampaignResponse as CampaignResponse
from ._model_lease import LeaderKey as LeaderKey
from ._model_lease import LeaderResponse as LeaderResponse
from ._model_lease import LeaseGrantResponse as LeaseGrantResponse
from ._model_lease import LeaseKeepAliveResponse as LeaseKeepAliveResponse
from ._model_lease import LeaseLeasesResponse as LeaseLeasesResponse
from ._model_lease import LeaseRevokeResponse as LeaseRevokeResponse
from ._model_lease import LeaseStatus as LeaseStatus
from ._model_lease import LeaseTimeToLiveResponse as LeaseTimeToLiveResponse
from ._model_lease import LockResponse as LockResponse
from ._model_lease import ProclaimResponse as ProclaimResponse
from ._model_lease import ResignResponse as ResignResponse
from ._model_lease import UnlockResponse as UnlockResponse
from ._model_maintenance import AlarmMember as AlarmMember
from ._model_maintenance import AlarmResponse as AlarmResponse
from ._model_maintenance import AlarmType as AlarmType
from ._model_maintenance import DefragmentResponse as DefragmentResponse
from ._model_maintenance import HashKVResponse as HashKVResponse
from ._model_maintenance import StatusResponse as StatusResponse
from ._store import Store as Store
from ._store_auth import AuthView as AuthView
from ._version import __version__ as __version__
from ._watch_stream import Watch as Watch
from ._watch_stream import WatchStatistics as WatchStatistics
from ._watch_stream import WatchStream as WatchStream
from .concurrency._election import Observe as Observe
from .errors import EtcdError as EtcdError

if TYPE_CHECKING:
    from .remote._client import connect as connect
    from .server._server import serve as serve

__all__ = (
    "AlarmMember",
    "AlarmResponse",
    "AlarmType",
    "AuthDisableResponse",
    "AuthEnableResponse",
    "AuthStatusResponse",
    "AuthView",
    "AuthenticateResponse",
    "CampaignResponse",
    "CompactionResponse",
    "Compare",
    "CompareResult",
    "CompareTarget",
    "DefragmentResponse",
    "DeleteRangeRequest",
    "DeleteRangeResponse",
    "EtcdError",
    "Event",
    "EventType",
    "HashKVResponse",
    "KeepAlive",
    "KeyValue",
    "LeaderKey",
    "LeaderResponse",
    "Lease",
    "LeaseGrantResponse",
    "LeaseKeepAliveResponse",
    "LeaseLeasesResponse",
    "LeaseRevokeResponse",
    "LeaseStatus",
    "LeaseTimeToLiveResponse",
    "LockResponse",
    "Observe",
    "Op",
    "Permission",
    "PermissionType",
    "ProclaimResponse",
    "PutRequest",
    "PutResponse",
    "RangeRequest",
    "RangeResponse",
    "RequestOp",
    "ResignResponse",
    "ResponseHeader",
    "ResponseOp",
    "RoleAddResponse",
    "RoleDeleteResponse",
    "RoleGetResponse",
    "RoleGrantPermissionResponse",
    "RoleListResponse",
    "RoleRevokePermissionResponse",
    "SortOrder",
    "SortTarget",
    "StatusResponse",
    "Store",
    "TxnRequest",
    "TxnResponse",
    "UnlockResponse",
    "UserAddResponse",
    "UserChangePasswordResponse",
    "UserDeleteResponse",
    "UserGetResponse",
    "UserGrantRoleResponse",
    "UserListResponse",
    "UserRevokeRoleResponse",
    "Watch",
    "WatchFilter",
    "WatchResponse",
    "WatchStatistics",
    "WatchStream",
    "__version__",
    "connect",
    "errors",
    "prefix_end",
    "serve",
)


def __getattr__(name: str) -> Any:
    """``serve`` and ``connect`` are loaded on first use, so ``import etcdlite`` never imports
    grpc."""
    if name in ("serve", "connect"):
        try:
            import grpc  # noqa: F401
            from google import protobuf  # noqa: F401
        except ImportError as exc:
            raise ImportError(
                f"etcdlite.{name} needs the grpc extra: pip install 'etcdlite[grpc]'"
            ) from exc
        if name == "connect":
            from .remote._client import connect

            return connect
        from .server._server import serve

        return serve
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
