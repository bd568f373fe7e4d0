"""Error messages and codes (SEMANTICS 2.13 and 3): byte-exact strings, gRPC codes, HTTP statuses."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from etcdlite import Op
from etcdlite.errors import (
    CompactedError,
    DuplicateKeyError,
    EmptyKeyError,
    EtcdError,
    FutureRevisionError,
    KeyNotFoundError,
    LeaseNotFoundError,
    LeaseProvidedError,
    RequestTooLargeError,
    StatusCode,
    TooManyOpsError,
    ValueProvidedError,
)

from ._gateway import EtcdKV

if TYPE_CHECKING:
    from collections.abc import Callable

    from ._harness import KVBackend

#: The HTTP status etcd 3.4's gateway answers each gRPC code with [O].
HTTP_STATUS = {
    StatusCode.INVALID_ARGUMENT: 400,
    StatusCode.OUT_OF_RANGE: 400,
    StatusCode.NOT_FOUND: 404,
    StatusCode.FAILED_PRECONDITION: 412,
    StatusCode.RESOURCE_EXHAUSTED: 429,
}


def _compacted(kv: KVBackend) -> object:
    kv.put("k", "1")
    kv.put("k", "2")
    kv.compact(3)
    return kv.get("k", revision=2)


ERRORS: list[Any] = [
    pytest.param(
        lambda kv: kv.put(b"", "v"), EmptyKeyError, StatusCode.INVALID_ARGUMENT, id="empty-key"
    ),
    pytest.param(
        lambda kv: kv.put("k", ignore_value=True),
        KeyNotFoundError,
        StatusCode.INVALID_ARGUMENT,
        id="key-not-found",
    ),
    pytest.param(
        lambda kv: kv.put("k", "v", ignore_value=True),
        ValueProvidedError,
        StatusCode.INVALID_ARGUMENT,
        id="value-provided",
    ),
    pytest.param(
        lambda kv: kv.put("k", lease=1, ignore_lease=True),
        LeaseProvidedError,
        StatusCode.INVALID_ARGUMENT,
        id="lease-provided",
    ),
    pytest.param(
        lambda kv: kv.txn(success=[Op.get("k")] * 129),
        TooManyOpsError,
        StatusCode.INVALID_ARGUMENT,
        id="too-many-ops",
    ),
    pytest.param(
        lambda kv: kv.txn(success=[Op.put("k"), Op.put("k")]),
        DuplicateKeyError,
        StatusCode.INVALID_ARGUMENT,
        id="duplicate-key",
    ),
    pytest.param(
        lambda kv: kv.put("k", b"v" * (1600 * 1024)),
        RequestTooLargeError,
        StatusCode.INVALID_ARGUMENT,
        id="request-too-large",
    ),
    pytest.param(_compacted, CompactedError, StatusCode.OUT_OF_RANGE, id="compacted"),
    pytest.param(
        lambda kv: kv.get("k", revision=5),
        FutureRevisionError,
        StatusCode.OUT_OF_RANGE,
        id="future-rev",
    ),
    pytest.param(
        lambda kv: kv.compact(5), FutureRevisionError, StatusCode.OUT_OF_RANGE, id="compact-future"
    ),
    pytest.param(
        lambda kv: kv.put("k", lease=12345),
        LeaseNotFoundError,
        StatusCode.NOT_FOUND,
        id="lease-not-found",
    ),
]


@pytest.mark.parametrize(("request_", "error", "code"), ERRORS)
def test_error_message_and_code(
    kv: KVBackend, request_: Callable[[KVBackend], object], error: type[EtcdError], code: StatusCode
) -> None:
    """Each KV error carries etcd's exact message and gRPC code (and the gateway's HTTP status)."""
    with pytest.raises(error) as info:
        request_(kv)
    err = info.value
    assert type(err) is error
    assert str(err) == error.message
    assert err.code is code
    if isinstance(kv, EtcdKV):
        answer = kv.last_error
        assert answer is not None
        assert (answer.message, answer.code, answer.http_status) == (
            error.message,
            code,
            HTTP_STATUS[code],
        )
