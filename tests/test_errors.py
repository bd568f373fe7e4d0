"""The error table: one class per etcd error, etcd's exact message and gRPC code."""

from __future__ import annotations

import pytest

from etcdlite import errors
from etcdlite.errors import CODES, MESSAGES, EtcdError, StatusCode, error_for_message


def all_error_classes() -> list[type[EtcdError]]:
    return [getattr(errors, name) for name in MESSAGES]


@pytest.mark.parametrize("cls", all_error_classes(), ids=lambda c: c.__name__)
def test_every_table_row_is_a_class(cls: type[EtcdError]) -> None:
    """Each row of the table is a class of that name, carrying its message and code."""
    assert issubclass(cls, EtcdError)
    err = cls()
    assert str(err) == MESSAGES[cls.__name__] == cls.message
    assert err.code is CODES[cls.__name__]
    assert type(error_for_message(str(err))) is cls


@pytest.mark.parametrize(
    ("name", "message", "code"),
    [
        ("EmptyKeyError", "etcdserver: key is not provided", StatusCode.INVALID_ARGUMENT),
        (
            "CompactedError",
            "etcdserver: mvcc: required revision has been compacted",
            StatusCode.OUT_OF_RANGE,
        ),
        (
            "FutureRevisionError",
            "etcdserver: mvcc: required revision is a future revision",
            StatusCode.OUT_OF_RANGE,
        ),
        ("LeaseNotFoundError", "etcdserver: requested lease not found", StatusCode.NOT_FOUND),
        ("LeaseExistsError", "etcdserver: lease already exists", StatusCode.FAILED_PRECONDITION),
        (
            "DuplicateKeyError",
            "etcdserver: duplicate key given in txn request",
            StatusCode.INVALID_ARGUMENT,
        ),
        (
            "TooManyOpsError",
            "etcdserver: too many operations in txn request",
            StatusCode.INVALID_ARGUMENT,
        ),
        ("RequestTooLargeError", "etcdserver: request is too large", StatusCode.INVALID_ARGUMENT),
        (
            "NoSpaceError",
            "etcdserver: mvcc: database space exceeded",
            StatusCode.RESOURCE_EXHAUSTED,
        ),
        ("InvalidAuthTokenError", "etcdserver: invalid auth token", StatusCode.UNAUTHENTICATED),
        ("PermissionDeniedError", "etcdserver: permission denied", StatusCode.PERMISSION_DENIED),
        ("ElectionNoLeaderError", "election: no leader", StatusCode.UNKNOWN),
    ],
)
def test_exact_strings(name: str, message: str, code: StatusCode) -> None:
    """Messages are byte-exact, since clientv3 maps errors back to types by their text."""
    cls = getattr(errors, name)
    assert (cls.message, cls.code) == (message, code)


def test_messages_are_unique() -> None:
    """No two classes share a message, so a message maps back to exactly one class."""
    assert len(set(MESSAGES.values())) == len(MESSAGES)
    assert error_for_message("no such message") is None


def test_hierarchy() -> None:
    """Errors group under a few bases, all under EtcdError."""
    assert issubclass(errors.CompactedError, errors.RevisionError)
    assert issubclass(errors.LeaseNotFoundError, errors.LeaseError)
    assert issubclass(errors.PermissionDeniedError, errors.AuthError)
    assert issubclass(errors.EmptyKeyError, errors.InvalidRequestError)
    assert issubclass(errors.InvalidSortOptionError, ValueError)
    assert issubclass(errors.StoppedError, errors.UnavailableError)
    for cls in all_error_classes():
        assert issubclass(cls, EtcdError)


def test_custom_message() -> None:
    """An error can carry a more specific message while keeping its class and code."""
    err = errors.StoppedError("etcdserver: server stopped (closed by the test)")
    assert err.code is StatusCode.UNAVAILABLE
    assert "closed by the test" in str(err)
