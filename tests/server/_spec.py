"""etcd v3.4's wire format, as facts: every message, field, enum and rpc etcdlite's protos define.

Filled in from etcd's own protocol files (``etcdserver/etcdserverpb/rpc.proto``,
``mvcc/mvccpb/kv.proto``, ``auth/authpb/auth.proto``, ``v3lockpb/v3lock.proto``,
``v3electionpb/v3election.proto``; 3.4 fields, plus the 3.5 additions marked ``# 3.5``) and
grpc's ``grpc/health/v1/health.proto``. ``test_proto.py`` compares the generated descriptors
with these tables, both ways, so a field that is missing, extra, renumbered or retyped fails.

Message lines read ``<number> <name> [repeated] <type> [oneof=<name>]``; a type is a protobuf
scalar name or the full name of a message or enum.
"""

from __future__ import annotations

MESSAGES = """
mvccpb.KeyValue
  1 key bytes
  2 create_revision int64
  3 mod_revision int64
  4 version int64
  5 value bytes
  6 lease int64
mvccpb.Event
  1 type mvccpb.Event.EventType
  2 kv mvccpb.KeyValue
  3 prev_kv mvccpb.KeyValue

authpb.UserAddOptions
  1 no_password bool
authpb.User
  1 name bytes
  2 password bytes
  3 roles repeated string
  4 options authpb.UserAddOptions
authpb.Permission
  1 permType authpb.Permission.Type
  2 key bytes
  3 range_end bytes
authpb.Role
  1 name bytes
  2 keyPermission repeated authpb.Permission

etcdserverpb.ResponseHeader
  1 cluster_id uint64
  2 member_id uint64
  3 revision int64
  4 raft_term uint64
etcdserverpb.RangeRequest
  1 key bytes
  2 range_end bytes
  3 limit int64
  4 revision int64
  5 sort_order etcdserverpb.RangeRequest.SortOrder
  6 sort_target etcdserverpb.RangeRequest.SortTarget
  7 serializable bool
  8 keys_only bool
  9 count_only bool
  10 min_mod_revision int64
  11 max_mod_revision int64
  12 min_create_revision int64
  13 max_create_revision int64
etcdserverpb.RangeResponse
  1 header etcdserverpb.ResponseHeader
  2 kvs repeated mvccpb.KeyValue
  3 more bool
  4 count int64
etcdserverpb.PutRequest
  1 key bytes
  2 value bytes
  3 lease int64
  4 prev_kv bool
  5 ignore_value bool
  6 ignore_lease bool
etcdserverpb.PutResponse
  1 header etcdserverpb.ResponseHeader
  2 prev_kv mvccpb.KeyValue
etcdserverpb.DeleteRangeRequest
  1 key bytes
  2 range_end bytes
  3 prev_kv bool
etcdserverpb.DeleteRangeResponse
  1 header etcdserverpb.ResponseHeader
  2 deleted int64
  3 prev_kvs repeated mvccpb.KeyValue
etcdserverpb.RequestOp
  1 request_range etcdserverpb.RangeRequest oneof=request
  2 request_put etcdserverpb.PutRequest oneof=request
  3 request_delete_range etcdserverpb.DeleteRangeRequest oneof=request
  4 request_txn etcdserverpb.TxnRequest oneof=request
etcdserverpb.ResponseOp
  1 response_range etcdserverpb.RangeResponse oneof=response
  2 response_put etcdserverpb.PutResponse oneof=response
  3 response_delete_range etcdserverpb.DeleteRangeResponse oneof=response
  4 response_txn etcdserverpb.TxnResponse oneof=response
etcdserverpb.Compare
  1 result etcdserverpb.Compare.CompareResult
  2 target etcdserverpb.Compare.CompareTarget
  3 key bytes
  4 version int64 oneof=target_union
  5 create_revision int64 oneof=target_union
  6 mod_revision int64 oneof=target_union
  7 value bytes oneof=target_union
  8 lease int64 oneof=target_union
  64 range_end bytes
etcdserverpb.TxnRequest
  1 compare repeated etcdserverpb.Compare
  2 success repeated etcdserverpb.RequestOp
  3 failure repeated etcdserverpb.RequestOp
etcdserverpb.TxnResponse
  1 header etcdserverpb.ResponseHeader
  2 succeeded bool
  3 responses repeated etcdserverpb.ResponseOp
etcdserverpb.CompactionRequest
  1 revision int64
  2 physical bool
etcdserverpb.CompactionResponse
  1 header etcdserverpb.ResponseHeader
etcdserverpb.HashRequest
etcdserverpb.HashKVRequest
  1 revision int64
etcdserverpb.HashKVResponse
  1 header etcdserverpb.ResponseHeader
  2 hash uint32
  3 compact_revision int64
etcdserverpb.HashResponse
  1 header etcdserverpb.ResponseHeader
  2 hash uint32
etcdserverpb.SnapshotRequest
etcdserverpb.SnapshotResponse
  1 header etcdserverpb.ResponseHeader
  2 remaining_bytes uint64
  3 blob bytes
etcdserverpb.WatchRequest
  1 create_request etcdserverpb.WatchCreateRequest oneof=request_union
  2 cancel_request etcdserverpb.WatchCancelRequest oneof=request_union
  3 progress_request etcdserverpb.WatchProgressRequest oneof=request_union
etcdserverpb.WatchCreateRequest
  1 key bytes
  2 range_end bytes
  3 start_revision int64
  4 progress_notify bool
  5 filters repeated etcdserverpb.WatchCreateRequest.FilterType
  6 prev_kv bool
  7 watch_id int64
  8 fragment bool
etcdserverpb.WatchCancelRequest
  1 watch_id int64
etcdserverpb.WatchProgressRequest
etcdserverpb.WatchResponse
  1 header etcdserverpb.ResponseHeader
  2 watch_id int64
  3 created bool
  4 canceled bool
  5 compact_revision int64
  6 cancel_reason string
  7 fragment bool
  11 events repeated mvccpb.Event
etcdserverpb.LeaseGrantRequest
  1 TTL int64
  2 ID int64
etcdserverpb.LeaseGrantResponse
  1 header etcdserverpb.ResponseHeader
  2 ID int64
  3 TTL int64
  4 error string
etcdserverpb.LeaseRevokeRequest
  1 ID int64
etcdserverpb.LeaseRevokeResponse
  1 header etcdserverpb.ResponseHeader
etcdserverpb.LeaseCheckpoint
  1 ID int64
  2 remaining_TTL int64
etcdserverpb.LeaseCheckpointRequest
  1 checkpoints repeated etcdserverpb.LeaseCheckpoint
etcdserverpb.LeaseCheckpointResponse
  1 header etcdserverpb.ResponseHeader
etcdserverpb.LeaseKeepAliveRequest
  1 ID int64
etcdserverpb.LeaseKeepAliveResponse
  1 header etcdserverpb.ResponseHeader
  2 ID int64
  3 TTL int64
etcdserverpb.LeaseTimeToLiveRequest
  1 ID int64
  2 keys bool
etcdserverpb.LeaseTimeToLiveResponse
  1 header etcdserverpb.ResponseHeader
  2 ID int64
  3 TTL int64
  4 grantedTTL int64
  5 keys repeated bytes
etcdserverpb.LeaseLeasesRequest
etcdserverpb.LeaseStatus
  1 ID int64
etcdserverpb.LeaseLeasesResponse
  1 header etcdserverpb.ResponseHeader
  2 leases repeated etcdserverpb.LeaseStatus
etcdserverpb.Member
  1 ID uint64
  2 name string
  3 peerURLs repeated string
  4 clientURLs repeated string
  5 isLearner bool
etcdserverpb.MemberAddRequest
  1 peerURLs repeated string
  2 isLearner bool
etcdserverpb.MemberAddResponse
  1 header etcdserverpb.ResponseHeader
  2 member etcdserverpb.Member
  3 members repeated etcdserverpb.Member
etcdserverpb.MemberRemoveRequest
  1 ID uint64
etcdserverpb.MemberRemoveResponse
  1 header etcdserverpb.ResponseHeader
  2 members repeated etcdserverpb.Member
etcdserverpb.MemberUpdateRequest
  1 ID uint64
  2 peerURLs repeated string
etcdserverpb.MemberUpdateResponse
  1 header etcdserverpb.ResponseHeader
  2 members repeated etcdserverpb.Member
etcdserverpb.MemberListRequest
  1 linearizable bool  # 3.5
etcdserverpb.MemberListResponse
  1 header etcdserverpb.ResponseHeader
  2 members repeated etcdserverpb.Member
etcdserverpb.MemberPromoteRequest
  1 ID uint64
etcdserverpb.MemberPromoteResponse
  1 header etcdserverpb.ResponseHeader
  2 members repeated etcdserverpb.Member
etcdserverpb.DefragmentRequest
etcdserverpb.DefragmentResponse
  1 header etcdserverpb.ResponseHeader
etcdserverpb.MoveLeaderRequest
  1 targetID uint64
etcdserverpb.MoveLeaderResponse
  1 header etcdserverpb.ResponseHeader
etcdserverpb.AlarmRequest
  1 action etcdserverpb.AlarmRequest.AlarmAction
  2 memberID uint64
  3 alarm etcdserverpb.AlarmType
etcdserverpb.AlarmMember
  1 memberID uint64
  2 alarm etcdserverpb.AlarmType
etcdserverpb.AlarmResponse
  1 header etcdserverpb.ResponseHeader
  2 alarms repeated etcdserverpb.AlarmMember
etcdserverpb.StatusRequest
etcdserverpb.StatusResponse
  1 header etcdserverpb.ResponseHeader
  2 version string
  3 dbSize int64
  4 leader uint64
  5 raftIndex uint64
  6 raftTerm uint64
  7 raftAppliedIndex uint64
  8 errors repeated string
  9 dbSizeInUse int64
  10 isLearner bool
etcdserverpb.AuthEnableRequest
etcdserverpb.AuthDisableRequest
etcdserverpb.AuthStatusRequest  # 3.5
etcdserverpb.AuthenticateRequest
  1 name string
  2 password string
etcdserverpb.AuthUserAddRequest
  1 name string
  2 password string
  3 options authpb.UserAddOptions
  4 hashedPassword string  # 3.5
etcdserverpb.AuthUserGetRequest
  1 name string
etcdserverpb.AuthUserDeleteRequest
  1 name string
etcdserverpb.AuthUserChangePasswordRequest
  1 name string
  2 password string
  3 hashedPassword string  # 3.5
etcdserverpb.AuthUserGrantRoleRequest
  1 user string
  2 role string
etcdserverpb.AuthUserRevokeRoleRequest
  1 name string
  2 role string
etcdserverpb.AuthRoleAddRequest
  1 name string
etcdserverpb.AuthRoleGetRequest
  1 role string
etcdserverpb.AuthUserListRequest
etcdserverpb.AuthRoleListRequest
etcdserverpb.AuthRoleDeleteRequest
  1 role string
etcdserverpb.AuthRoleGrantPermissionRequest
  1 name string
  2 perm authpb.Permission
etcdserverpb.AuthRoleRevokePermissionRequest
  1 role string
  2 key bytes
  3 range_end bytes
etcdserverpb.AuthEnableResponse
  1 header etcdserverpb.ResponseHeader
etcdserverpb.AuthDisableResponse
  1 header etcdserverpb.ResponseHeader
etcdserverpb.AuthStatusResponse  # 3.5
  1 header etcdserverpb.ResponseHeader
  2 enabled bool
  3 authRevision uint64
etcdserverpb.AuthenticateResponse
  1 header etcdserverpb.ResponseHeader
  2 token string
etcdserverpb.AuthUserAddResponse
  1 header etcdserverpb.ResponseHeader
etcdserverpb.AuthUserGetResponse
  1 header etcdserverpb.ResponseHeader
  2 roles repeated string
etcdserverpb.AuthUserDeleteResponse
  1 header etcdserverpb.ResponseHeader
etcdserverpb.AuthUserChangePasswordResponse
  1 header etcdserverpb.ResponseHeader
etcdserverpb.AuthUserGrantRoleResponse
  1 header etcdserverpb.ResponseHeader
etcdserverpb.AuthUserRevokeRoleResponse
  1 header etcdserverpb.ResponseHeader
etcdserverpb.AuthRoleAddResponse
  1 header etcdserverpb.ResponseHeader
etcdserverpb.AuthRoleGetResponse
  1 header etcdserverpb.ResponseHeader
  2 perm repeated authpb.Permission
etcdserverpb.AuthRoleListResponse
  1 header etcdserverpb.ResponseHeader
  2 roles repeated string
etcdserverpb.AuthUserListResponse
  1 header etcdserverpb.ResponseHeader
  2 users repeated string
etcdserverpb.AuthRoleDeleteResponse
  1 header etcdserverpb.ResponseHeader
etcdserverpb.AuthRoleGrantPermissionResponse
  1 header etcdserverpb.ResponseHeader
etcdserverpb.AuthRoleRevokePermissionResponse
  1 header etcdserverpb.ResponseHeader

v3lockpb.LockRequest
  1 name bytes
  2 lease int64
v3lockpb.LockResponse
  1 header etcdserverpb.ResponseHeader
  2 key bytes
v3lockpb.UnlockRequest
  1 key bytes
v3lockpb.UnlockResponse
  1 header etcdserverpb.ResponseHeader

v3electionpb.CampaignRequest
  1 name bytes
  2 lease int64
  3 value bytes
v3electionpb.CampaignResponse
  1 header etcdserverpb.ResponseHeader
  2 leader v3electionpb.LeaderKey
v3electionpb.LeaderKey
  1 name bytes
  2 key bytes
  3 rev int64
  4 lease int64
v3electionpb.LeaderRequest
  1 name bytes
v3electionpb.LeaderResponse
  1 header etcdserverpb.ResponseHeader
  2 kv mvccpb.KeyValue
v3electionpb.ResignRequest
  1 leader v3electionpb.LeaderKey
v3electionpb.ResignResponse
  1 header etcdserverpb.ResponseHeader
v3electionpb.ProclaimRequest
  1 leader v3electionpb.LeaderKey
  2 value bytes
v3electionpb.ProclaimResponse
  1 header etcdserverpb.ResponseHeader

grpc.health.v1.HealthCheckRequest
  1 service string
grpc.health.v1.HealthCheckResponse
  1 status grpc.health.v1.HealthCheckResponse.ServingStatus
"""

#: enum full name -> {value name: number}
ENUMS: dict[str, dict[str, int]] = {
    "mvccpb.Event.EventType": {"PUT": 0, "DELETE": 1},
    "authpb.Permission.Type": {"READ": 0, "WRITE": 1, "READWRITE": 2},
    "etcdserverpb.RangeRequest.SortOrder": {"NONE": 0, "ASCEND": 1, "DESCEND": 2},
    "etcdserverpb.RangeRequest.SortTarget": {
        "KEY": 0,
        "VERSION": 1,
        "CREATE": 2,
        "MOD": 3,
        "VALUE": 4,
    },
    "etcdserverpb.Compare.CompareResult": {"EQUAL": 0, "GREATER": 1, "LESS": 2, "NOT_EQUAL": 3},
    "etcdserverpb.Compare.CompareTarget": {
        "VERSION": 0,
        "CREATE": 1,
        "MOD": 2,
        "VALUE": 3,
        "LEASE": 4,
    },
    "etcdserverpb.WatchCreateRequest.FilterType": {"NOPUT": 0, "NODELETE": 1},
    "etcdserverpb.AlarmType": {"NONE": 0, "NOSPACE": 1, "CORRUPT": 2},
    "etcdserverpb.AlarmRequest.AlarmAction": {"GET": 0, "ACTIVATE": 1, "DEACTIVATE": 2},
    "grpc.health.v1.HealthCheckResponse.ServingStatus": {
        "UNKNOWN": 0,
        "SERVING": 1,
        "NOT_SERVING": 2,
        "SERVICE_UNKNOWN": 3,
    },
}

#: service full name -> {rpc: (request, response, client streams, server streams)}
_U, _SS, _BIDI = (False, False), (False, True), (True, True)
_E = "etcdserverpb."


def _unary(*names: str) -> dict[str, tuple[str, str, bool, bool]]:
    """Unary etcdserverpb rpcs named ``X`` taking ``XRequest`` and answering ``XResponse``."""
    return {n: (f"{_E}{n}Request", f"{_E}{n}Response", *_U) for n in names}


def _auth(*names: str) -> dict[str, tuple[str, str, bool, bool]]:
    """Auth rpcs named ``UserAdd`` taking ``AuthUserAddRequest`` and so on."""
    return {n: (f"{_E}Auth{n}Request", f"{_E}Auth{n}Response", *_U) for n in names}


SERVICES: dict[str, dict[str, tuple[str, str, bool, bool]]] = {
    "etcdserverpb.KV": {
        **_unary("Range", "Put", "DeleteRange", "Txn"),
        "Compact": (f"{_E}CompactionRequest", f"{_E}CompactionResponse", *_U),
    },
    "etcdserverpb.Watch": {"Watch": (f"{_E}WatchRequest", f"{_E}WatchResponse", *_BIDI)},
    "etcdserverpb.Lease": {
        **_unary("LeaseGrant", "LeaseRevoke", "LeaseTimeToLive", "LeaseLeases"),
        "LeaseKeepAlive": (f"{_E}LeaseKeepAliveRequest", f"{_E}LeaseKeepAliveResponse", *_BIDI),
    },
    "etcdserverpb.Cluster": _unary(
        "MemberAdd", "MemberRemove", "MemberUpdate", "MemberList", "MemberPromote"
    ),
    "etcdserverpb.Maintenance": {
        **_unary("Alarm", "Status", "Defragment", "Hash", "HashKV", "MoveLeader"),
        "Snapshot": (f"{_E}SnapshotRequest", f"{_E}SnapshotResponse", *_SS),
    },
    "etcdserverpb.Auth": {
        **_unary("AuthEnable", "AuthDisable", "AuthStatus", "Authenticate"),  # AuthStatus: 3.5
        **_auth("UserAdd", "UserGet", "UserList", "UserDelete", "UserChangePassword"),
        **_auth("UserGrantRole", "UserRevokeRole"),
        **_auth("RoleAdd", "RoleGet", "RoleList", "RoleDelete"),
        **_auth("RoleGrantPermission", "RoleRevokePermission"),
    },
    "v3lockpb.Lock": {
        "Lock": ("v3lockpb.LockRequest", "v3lockpb.LockResponse", *_U),
        "Unlock": ("v3lockpb.UnlockRequest", "v3lockpb.UnlockResponse", *_U),
    },
    "v3electionpb.Election": {
        name: (f"v3electionpb.{req}", f"v3electionpb.{resp}", *shape)
        for name, req, resp, shape in [
            ("Campaign", "CampaignRequest", "CampaignResponse", _U),
            ("Proclaim", "ProclaimRequest", "ProclaimResponse", _U),
            ("Leader", "LeaderRequest", "LeaderResponse", _U),
            ("Observe", "LeaderRequest", "LeaderResponse", _SS),
            ("Resign", "ResignRequest", "ResignResponse", _U),
        ]
    },
    "grpc.health.v1.Health": {
        "Check": ("grpc.health.v1.HealthCheckRequest", "grpc.health.v1.HealthCheckResponse", *_U),
        "Watch": (
            "grpc.health.v1.HealthCheckRequest",
            "grpc.health.v1.HealthCheckResponse",
            *_SS,
        ),
    },
}


def messages() -> dict[str, list[tuple[int, str, bool, str, str | None]]]:
    """MESSAGES parsed: message -> [(number, name, repeated, type, oneof or None)]."""
    out: dict[str, list[tuple[int, str, bool, str, str | None]]] = {}
    current: list[tuple[int, str, bool, str, str | None]] = []
    for raw in MESSAGES.splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if not line:
            continue
        if not line.startswith(" "):
            current = out.setdefault(line.strip(), [])
            continue
        words = line.split()
        number, name, rest = int(words[0]), words[1], words[2:]
        repeated = rest[0] == "repeated"
        if repeated:
            rest = rest[1:]
        oneof = rest[1].removeprefix("oneof=") if len(rest) > 1 else None
        current.append((number, name, repeated, rest[0], oneof))
    return out
