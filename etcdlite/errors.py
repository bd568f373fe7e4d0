"""Exceptions raised by etcdlite, one class per etcd error.

Every class carries etcd's exact message (clientv3 maps errors back to types by their text, so the
strings are byte-exact) and the gRPC status code etcd answers with. The messages live in one
table, :data:`MESSAGES`; the codes in a second one beside it, :data:`CODES`.

Hierarchy::

    EtcdError
    ├── InvalidRequestError        bad requests, rejected before anything changes
    │   ├── EmptyKeyError, KeyNotFoundError, ValueProvidedError, LeaseProvidedError
    │   ├── TooManyOpsError, DuplicateKeyError, InvalidSortOptionError
    │   └── RequestTooLargeError
    ├── RevisionError
    │   ├── CompactedError, FutureRevisionError
    ├── NoSpaceError, TooManyRequestsError
    ├── LeaseError
    │   ├── LeaseNotFoundError, LeaseExistsError, LeaseTTLTooLargeError
    ├── WatchCanceledError
    ├── WatchError                 mvcc's watch errors, sent as a watch's ``cancel_reason``
    │   ├── WatcherDuplicateIDError, WatcherRangeEmptyError, WatcherNotExistError
    ├── AuthError
    │   ├── RootUserNotExistError, RootRoleNotExistError, UserAlreadyExistError,
    │   │   UserNotFoundError, RoleAlreadyExistError, RoleNotFoundError, UserEmptyError,
    │   │   RoleEmptyError, AuthFailedError, PermissionDeniedError, PermissionNotGivenError,
    │   │   RoleNotGrantedError, PermissionNotGrantedError, AuthNotEnabledError,
    │   │   InvalidAuthTokenError, InvalidAuthManagementError, AuthOldRevisionError
    ├── ClusterError
    │   ├── MemberExistError, PeerURLExistError, MemberNotFoundError, MemberNotLearnerError,
    │   │   TooManyLearnersError, InvalidPeerURLError, NotLeaderError, BadLeaderTransfereeError
    ├── UnavailableError
    │   ├── NoLeaderError, LeaderChangedError, StoppedError, RequestTimeoutError
    ├── CorruptError
    ├── ElectionError (sent with code UNKNOWN by etcd's election service)
    │   ├── ElectionNoLeaderError, ElectionNotLeaderError
    └── MutexError (clientv3 concurrency's mutex errors; code UNKNOWN from the lock service)
        ├── LockedError, SessionExpiredError, LockReleasedError

    DataDirError                   a data directory that cannot be opened or written (not etcd's)
    └── DataCorruptError           damage recovery will not repair by itself (file and offset)

>>> from etcdlite.errors import CompactedError, StatusCode
>>> err = CompactedError()
>>> str(err), err.code is StatusCode.OUT_OF_RANGE
('etcdserver: mvcc: required revision has been compacted', True)
"""

from __future__ import annotations

import enum
from typing import ClassVar

__all__ = (
    "CODES",
    "MESSAGES",
    "AuthError",
    "AuthFailedError",
    "AuthNotEnabledError",
    "AuthOldRevisionError",
    "BadLeaderTransfereeError",
    "ClusterError",
    "CompactedError",
    "CorruptError",
    "DataCorruptError",
    "DataDirError",
    "DuplicateKeyError",
    "ElectionError",
    "ElectionNoLeaderError",
    "ElectionNotLeaderError",
    "EmptyKeyError",
    "EtcdError",
    "FutureRevisionError",
    "InvalidAuthManagementError",
    "InvalidAuthTokenError",
    "InvalidPeerURLError",
    "InvalidRequestError",
    "InvalidSortOptionError",
    "KeyNotFoundError",
    "LeaderChangedError",
    "LeaseError",
    "LeaseExistsError",
    "LeaseNotFoundError",
    "LeaseProvidedError",
    "LeaseTTLTooLargeError",
    "LockReleasedError",
    "LockedError",
    "MemberExistError",
    "MemberNotFoundError",
    "MemberNotLearnerError",
    "MutexError",
    "NoLeaderError",
    "NoSpaceError",
    "NotLeaderError",
    "PeerURLExistError",
    "PermissionDeniedError",
    "PermissionNotGivenError",
    "PermissionNotGrantedError",
    "RequestTimeoutError",
    "RequestTooLargeError",
    "RevisionError",
    "RoleAlreadyExistError",
    "RoleEmptyError",
    "RoleNotFoundError",
    "RoleNotGrantedError",
    "RootRoleNotExistError",
    "RootUserNotExistError",
    "SessionExpiredError",
    "StatusCode",
    "StoppedError",
    "TooManyLearnersError",
    "TooManyOpsError",
    "TooManyRequestsError",
    "UnavailableError",
    "UserAlreadyExistError",
    "UserEmptyError",
    "UserNotFoundError",
    "ValueProvidedError",
    "WatchCanceledError",
    "WatchError",
    "WatcherDuplicateIDError",
    "WatcherNotExistError",
    "WatcherRangeEmptyError",
    "error_for_message",
)


class StatusCode(enum.IntEnum):
    """gRPC status codes, with the numbers of the gRPC specification."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16


_S = StatusCode

#: The one table of etcd's messages and codes: class name -> (message, gRPC code).
#: Read from etcd's api/v3rpc/rpctypes/error.go; [O] rows were observed on etcd 3.4.23.
_TABLE: dict[str, tuple[str, StatusCode]] = {
    # KV request validation
    "EmptyKeyError": ("etcdserver: key is not provided", _S.INVALID_ARGUMENT),
    "KeyNotFoundError": ("etcdserver: key not found", _S.INVALID_ARGUMENT),
    "ValueProvidedError": ("etcdserver: value is provided", _S.INVALID_ARGUMENT),
    "LeaseProvidedError": ("etcdserver: lease is provided", _S.INVALID_ARGUMENT),
    "TooManyOpsError": ("etcdserver: too many operations in txn request", _S.INVALID_ARGUMENT),
    "DuplicateKeyError": ("etcdserver: duplicate key given in txn request", _S.INVALID_ARGUMENT),
    "InvalidSortOptionError": ("etcdserver: invalid sort option", _S.INVALID_ARGUMENT),
    "RequestTooLargeError": ("etcdserver: request is too large", _S.INVALID_ARGUMENT),
    # MVCC
    "CompactedError": ("etcdserver: mvcc: required revision has been compacted", _S.OUT_OF_RANGE),
    "FutureRevisionError": (
        "etcdserver: mvcc: required revision is a future revision",
        _S.OUT_OF_RANGE,
    ),
    "NoSpaceError": ("etcdserver: mvcc: database space exceeded", _S.RESOURCE_EXHAUSTED),
    "TooManyRequestsError": ("etcdserver: too many requests", _S.RESOURCE_EXHAUSTED),
    # Lease
    "LeaseNotFoundError": ("etcdserver: requested lease not found", _S.NOT_FOUND),
    "LeaseExistsError": ("etcdserver: lease already exists", _S.FAILED_PRECONDITION),
    "LeaseTTLTooLargeError": ("etcdserver: too large lease TTL", _S.OUT_OF_RANGE),
    # Watch
    "WatchCanceledError": ("etcdserver: watch canceled", _S.CANCELLED),
    # mvcc's watch errors (mvcc/watcher.go): etcd sends them as a watch's cancel_reason, not
    # as a status, so the code is only what an adapter would answer with.
    "WatcherDuplicateIDError": (
        "mvcc: duplicate watch ID provided on the WatchStream",
        _S.INVALID_ARGUMENT,
    ),
    "WatcherRangeEmptyError": ("mvcc: watcher range is empty", _S.INVALID_ARGUMENT),
    "WatcherNotExistError": ("mvcc: watcher does not exist", _S.NOT_FOUND),
    # Auth
    "RootUserNotExistError": ("etcdserver: root user does not exist", _S.FAILED_PRECONDITION),
    "RootRoleNotExistError": (
        "etcdserver: root user does not have root role",
        _S.FAILED_PRECONDITION,
    ),
    "UserAlreadyExistError": ("etcdserver: user name already exists", _S.FAILED_PRECONDITION),
    "UserNotFoundError": ("etcdserver: user name not found", _S.FAILED_PRECONDITION),
    "RoleAlreadyExistError": ("etcdserver: role name already exists", _S.FAILED_PRECONDITION),
    "RoleNotFoundError": ("etcdserver: role name not found", _S.FAILED_PRECONDITION),
    "UserEmptyError": ("etcdserver: user name is empty", _S.INVALID_ARGUMENT),
    "RoleEmptyError": ("etcdserver: role name is empty", _S.INVALID_ARGUMENT),
    "AuthFailedError": (
        "etcdserver: authentication failed, invalid user ID or password",
        _S.INVALID_ARGUMENT,
    ),
    "PermissionDeniedError": ("etcdserver: permission denied", _S.PERMISSION_DENIED),
    "PermissionNotGivenError": ("etcdserver: permission not given", _S.INVALID_ARGUMENT),
    "RoleNotGrantedError": (
        "etcdserver: role is not granted to the user",
        _S.FAILED_PRECONDITION,
    ),
    "PermissionNotGrantedError": (
        "etcdserver: permission is not granted to the role",
        _S.FAILED_PRECONDITION,
    ),
    "AuthNotEnabledError": ("etcdserver: authentication is not enabled", _S.FAILED_PRECONDITION),
    "InvalidAuthTokenError": ("etcdserver: invalid auth token", _S.UNAUTHENTICATED),
    "InvalidAuthManagementError": ("etcdserver: invalid auth management", _S.INVALID_ARGUMENT),
    "AuthOldRevisionError": ("etcdserver: revision of auth store is old", _S.INVALID_ARGUMENT),
    # Cluster
    "MemberExistError": ("etcdserver: member ID already exist", _S.FAILED_PRECONDITION),
    "PeerURLExistError": ("etcdserver: Peer URLs already exists", _S.FAILED_PRECONDITION),
    "MemberNotFoundError": ("etcdserver: member not found", _S.NOT_FOUND),
    "MemberNotLearnerError": (
        "etcdserver: can only promote a learner member",
        _S.FAILED_PRECONDITION,
    ),
    "TooManyLearnersError": (
        "etcdserver: too many learner members in cluster",
        _S.FAILED_PRECONDITION,
    ),
    "InvalidPeerURLError": ("etcdserver: given member URLs are invalid", _S.INVALID_ARGUMENT),
    "NotLeaderError": ("etcdserver: not leader", _S.FAILED_PRECONDITION),
    "BadLeaderTransfereeError": ("etcdserver: bad leader transferee", _S.FAILED_PRECONDITION),
    # Availability
    "NoLeaderError": ("etcdserver: no leader", _S.UNAVAILABLE),
    "LeaderChangedError": ("etcdserver: leader changed", _S.UNAVAILABLE),
    "StoppedError": ("etcdserver: server stopped", _S.UNAVAILABLE),
    "RequestTimeoutError": ("etcdserver: request timed out", _S.UNAVAILABLE),
    "CorruptError": ("etcdserver: corrupt cluster", _S.DATA_LOSS),
    # The election service wraps a clientv3, so these travel with code UNKNOWN [O].
    "ElectionNoLeaderError": ("election: no leader", _S.UNKNOWN),
    "ElectionNotLeaderError": ("election: not leader", _S.UNKNOWN),
    # clientv3 concurrency's mutex errors; the lock service also sends them as UNKNOWN.
    "LockedError": ("mutex: Locked by another session", _S.UNKNOWN),
    "SessionExpiredError": ("mutex: session is expired", _S.UNKNOWN),
    "LockReleasedError": ("mutex: lock has been released", _S.UNKNOWN),
}

#: class name -> etcd's exact message.
MESSAGES: dict[str, str] = {name: msg for name, (msg, _) in _TABLE.items()}
#: class name -> the gRPC status code etcd sends with it.
CODES: dict[str, StatusCode] = {name: code for name, (_, code) in _TABLE.items()}


class EtcdError(Exception):
    """Base class of every error etcd can answer with.

    ``str(err)`` is etcd's exact message and ``err.code`` its gRPC status code.
    """

    message: ClassVar[str] = "etcdserver: unknown error"
    code: ClassVar[StatusCode] = StatusCode.UNKNOWN

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        row = _TABLE.get(cls.__name__)
        if row is not None:
            cls.message, cls.code = row

    def __init__(self, message: str | None = None) -> None:
        super().__init__(self.message if message is None else message)


class InvalidRequestError(EtcdError):
    """A request etcd rejects before applying it (code INVALID_ARGUMENT)."""

    code = StatusCode.INVALID_ARGUMENT


class RevisionError(EtcdError):
    """A read or watch at a revision the store cannot serve."""

    code = StatusCode.OUT_OF_RANGE


class LeaseError(EtcdError):
    """A lease operation etcd refuses."""


class AuthError(EtcdError):
    """Authentication, authorization and user/role management errors."""


class ClusterError(EtcdError):
    """Membership and leadership errors."""


class UnavailableError(EtcdError):
    """The server cannot serve the request right now (code UNAVAILABLE)."""

    code = StatusCode.UNAVAILABLE


class ElectionError(EtcdError):
    """Errors of the v3election service."""


class EmptyKeyError(InvalidRequestError):
    """An empty key where etcd requires one."""


class KeyNotFoundError(InvalidRequestError):
    """``ignore_value``/``ignore_lease`` on a missing key, or an empty request op."""


class ValueProvidedError(InvalidRequestError):
    """``ignore_value`` together with a non-empty value."""


class LeaseProvidedError(InvalidRequestError):
    """``ignore_lease`` together with a lease."""


class TooManyOpsError(InvalidRequestError):
    """A txn with more operations than the store's ``max_txn_ops``."""


class DuplicateKeyError(InvalidRequestError):
    """A txn that writes one key twice (etcd's ``checkIntervals``)."""


class InvalidSortOptionError(InvalidRequestError, ValueError):
    """A sort target or order etcd does not know."""


class RequestTooLargeError(InvalidRequestError):
    """A request larger than the store's ``max_request_bytes``."""


class CompactedError(RevisionError):
    """A revision below the compaction point."""


class FutureRevisionError(RevisionError):
    """A revision above the store's current revision."""


class NoSpaceError(EtcdError):
    """The NOSPACE alarm is raised: writes are refused until it is disarmed."""


class TooManyRequestsError(EtcdError):
    """The server is overloaded."""


class LeaseNotFoundError(LeaseError):
    """An unknown or expired lease."""


class LeaseExistsError(LeaseError):
    """A grant with an explicit id already in use."""


class LeaseTTLTooLargeError(LeaseError):
    """A grant with a TTL above etcd's maximum."""


class WatchCanceledError(EtcdError):
    """A watch the server canceled."""


class WatchError(EtcdError):
    """A watch request etcd's mvcc layer refuses (the text travels as ``cancel_reason``)."""


class WatcherDuplicateIDError(WatchError):
    """A create request naming a ``watch_id`` already used on its stream."""


class WatcherRangeEmptyError(WatchError):
    """A create request whose ``range_end`` is not above its key."""


class WatcherNotExistError(WatchError):
    """A cancel of a ``watch_id`` that is not (or no longer) active on its stream."""


class RootUserNotExistError(AuthError):
    """Auth enable without a ``root`` user."""


class RootRoleNotExistError(AuthError):
    """Auth enable with a ``root`` user that lacks the ``root`` role."""


class UserAlreadyExistError(AuthError):
    """Adding a user that exists."""


class UserNotFoundError(AuthError):
    """Naming a user that does not exist."""


class RoleAlreadyExistError(AuthError):
    """Adding a role that exists."""


class RoleNotFoundError(AuthError):
    """Naming a role that does not exist."""


class UserEmptyError(AuthError):
    """No user name given (also: no token while auth is on)."""


class RoleEmptyError(AuthError):
    """No role name given."""


class AuthFailedError(AuthError):
    """Wrong user name or password."""


class PermissionDeniedError(AuthError):
    """The user's roles do not cover the request."""


class PermissionNotGivenError(AuthError):
    """A role grant without a permission."""


class RoleNotGrantedError(AuthError):
    """Revoking a role the user does not have."""


class PermissionNotGrantedError(AuthError):
    """Revoking a permission the role does not have."""


class AuthNotEnabledError(AuthError):
    """Authenticate while auth is disabled."""


class InvalidAuthTokenError(AuthError):
    """A token that is malformed, unknown or expired."""


class InvalidAuthManagementError(AuthError):
    """An auth management request etcd refuses."""


class AuthOldRevisionError(AuthError):
    """A token issued before the latest change to users or roles."""


class MemberExistError(ClusterError):
    """Adding a member whose id exists."""


class PeerURLExistError(ClusterError):
    """Adding a member whose peer URLs are in use."""


class MemberNotFoundError(ClusterError):
    """Naming a member that does not exist."""


class MemberNotLearnerError(ClusterError):
    """Promoting a member that is not a learner."""


class TooManyLearnersError(ClusterError):
    """Adding a learner beyond etcd's limit."""


class InvalidPeerURLError(ClusterError):
    """Member URLs that do not parse."""


class NotLeaderError(ClusterError):
    """A leader-only request sent to a follower."""


class BadLeaderTransfereeError(ClusterError):
    """Moving leadership to a member that cannot take it."""


class NoLeaderError(UnavailableError):
    """The cluster has no leader."""


class LeaderChangedError(UnavailableError):
    """Leadership changed while the request was in flight."""


class StoppedError(UnavailableError):
    """The store or server is closed."""


class RequestTimeoutError(UnavailableError):
    """The request did not finish in time."""


class CorruptError(EtcdError):
    """The data is corrupt."""


class ElectionNoLeaderError(ElectionError):
    """``leader()`` on an election nobody holds."""


class ElectionNotLeaderError(ElectionError):
    """``proclaim``/``resign`` by a candidate that is not the leader."""


class MutexError(EtcdError):
    """Errors of clientv3's concurrency mutex (and so of the v3lock service)."""


class LockedError(MutexError):
    """``try_lock`` on a mutex another session holds."""


class SessionExpiredError(MutexError):
    """The session's lease is gone: its lock key was deleted before the lock was acquired."""


class LockReleasedError(MutexError):
    """``unlock()`` of a mutex that is not locked (etcd 3.6's clientv3)."""


def _by_message() -> dict[str, type[EtcdError]]:
    table: dict[str, type[EtcdError]] = {}
    pending: list[type[EtcdError]] = [EtcdError]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__name__ in _TABLE:
            table[cls.message] = cls
    return table


_BY_MESSAGE = _by_message()


def error_for_message(message: str) -> EtcdError | None:
    """The exception for one of etcd's messages, as clientv3's ``ErrorDesc`` mapping does.

    >>> type(error_for_message("etcdserver: key is not provided")).__name__
    'EmptyKeyError'
    >>> error_for_message("something else") is None
    True
    """
    cls = _BY_MESSAGE.get(message)
    return None if cls is None else cls()


class DataDirError(Exception):
    """A data directory cannot be opened or written: in use by another process, unreadable,
    or its log failed (the store then stops: fail-stop, as etcd). Not an etcd error."""


class DataCorruptError(DataDirError):
    """Damage in a data directory that recovery does not repair by itself: ``path`` and
    ``offset`` say where. ``Store(data_dir=..., repair=True)`` cuts the log there instead."""

    def __init__(self, path: str, offset: int, reason: str) -> None:
        super().__init__(f"{path}: offset {offset}: {reason}")
        self.path = path
        self.offset = offset
        self.reason = reason
