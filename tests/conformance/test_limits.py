"""Request size and op-count limits (SEMANTICS 2.12): --max-request-bytes and --max-txn-ops."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import grpc
import pytest

from etcdlite import Compare, Op, Store
from etcdlite.errors import RequestTooLargeError, StatusCode, TooManyOpsError
from etcdlite.remote import Client, RemoteError

from ._etcd import DEFAULT_MAX_REQUEST_BYTES
from ._gateway import GatewayError
from ._harness import exact
from .divergences import divergence

if TYPE_CHECKING:
    from collections.abc import Callable

    from ._harness import KVBackend
    from .conftest import Differential, KVFactory

KIB = 1024
MIB = 1024 * KIB
LIMIT = DEFAULT_MAX_REQUEST_BYTES  # 1.5 MiB


def _value(size: int) -> bytes:
    return b"v" * size


# (request, too large?): writes are measured as raft requests against --max-request-bytes; reads
# never go through raft, so only the gRPC receive limit (max + 512 KiB) applies to them.
SIZES: list[Any] = [
    pytest.param(lambda kv: kv.put("k", _value(1 * MIB)), False, id="put-1MiB-under"),
    pytest.param(
        lambda kv: kv.put("k", _value(LIMIT - 64 * KIB)), False, id="put-limit-minus-64KiB"
    ),
    pytest.param(lambda kv: kv.put("k", _value(LIMIT + 64 * KIB)), True, id="put-limit-plus-64KiB"),
    pytest.param(lambda kv: kv.put("k", _value(1900 * KIB)), True, id="put-1900KiB-over"),
    pytest.param(lambda kv: kv.put(_value(LIMIT + 64 * KIB), "v"), True, id="put-huge-key"),
    pytest.param(
        lambda kv: kv.txn(success=[Op.put(f"k{i}", _value(400 * KIB)) for i in range(4)]),
        True,
        id="txn-of-puts-over",
    ),
    pytest.param(
        lambda kv: kv.txn(success=[Op.put(f"k{i}", _value(300 * KIB)) for i in range(4)]),
        False,
        id="txn-of-puts-under",
    ),
    pytest.param(lambda kv: kv.delete(_value(LIMIT + 64 * KIB)), True, id="delete-huge-key"),
    pytest.param(lambda kv: kv.get(_value(LIMIT + 64 * KIB)), False, id="range-huge-key"),
    pytest.param(
        lambda kv: kv.txn([Compare.value("k") == _value(LIMIT + 64 * KIB)], [Op.get("k")]),
        False,
        id="read-only-txn-huge-compare",
    ),
    pytest.param(
        lambda kv: kv.txn([Compare.value("k") == _value(LIMIT + 64 * KIB)], [Op.delete("k")]),
        True,
        id="write-txn-huge-compare",
    ),
]


@pytest.mark.parametrize(("request_", "too_large"), SIZES)
def test_request_too_large(
    differential: Differential, request_: Callable[[KVBackend], object], too_large: bool
) -> None:
    """A write whose raft request exceeds --max-request-bytes fails "request is too large"."""

    def scenario(kv: KVBackend) -> int:
        request_(kv)
        return kv.revision

    if too_large:
        with pytest.raises(RequestTooLargeError, match=exact("etcdserver: request is too large")):
            differential(scenario)
    else:
        assert differential(scenario) in (1, 2)


@pytest.mark.parametrize(
    ("limit", "size", "too_large"),
    [
        pytest.param(64 * KIB, 48 * KIB, False, id="64KiB-limit-48KiB-value"),
        pytest.param(64 * KIB, 80 * KIB, True, id="64KiB-limit-80KiB-value"),
        pytest.param(4 * MIB, 3 * MIB, False, id="4MiB-limit-3MiB-value"),
    ],
)
def test_max_request_bytes_option(
    differential: Differential, limit: int, size: int, too_large: bool
) -> None:
    """The Store's max_request_bytes behaves like etcd's --max-request-bytes of the same size."""

    def scenario(kv: KVBackend) -> int:
        return kv.put("k", _value(size)).header.revision

    if too_large:
        with pytest.raises(RequestTooLargeError):
            differential(scenario, max_request_bytes=limit)
    else:
        assert differential(scenario, max_request_bytes=limit) == 2


@pytest.mark.parametrize(
    ("ops", "error"),
    [
        pytest.param(4, None, id="at-limit"),
        pytest.param(5, TooManyOpsError, id="over-limit"),
    ],
)
def test_max_txn_ops_option(
    differential: Differential, ops: int, error: type[TooManyOpsError] | None
) -> None:
    """The Store's max_txn_ops behaves like etcd's --max-txn-ops (here 4)."""

    def scenario(kv: KVBackend) -> int:
        return kv.txn(success=[Op.put(f"k{i}", "v") for i in range(ops)]).header.revision

    if error is None:
        assert differential(scenario, max_txn_ops=4) == 2
    else:
        with pytest.raises(error):
            differential(scenario, max_txn_ops=4)


def test_grpc_receive_limit(make_kv: KVFactory) -> None:
    """Above --max-request-bytes + 512 KiB etcd's gRPC transport refuses the message itself
    (registry: grpc-receive-limit); the Store, with no transport, says "request is too large"."""
    d = divergence("grpc-receive-limit")
    assert d.kind == "transport"
    kv = make_kv()
    value = _value(LIMIT + 512 * KIB + 64 * KIB)
    if isinstance(kv, Store):
        with pytest.raises(RequestTooLargeError):
            kv.put("k", value)
    elif isinstance(kv, Client):  # etcdlite.connect(): the gRPC status itself
        with pytest.raises(RemoteError, match=r"^grpc: received message larger than max") as err:
            kv.put("k", value)
        assert err.value.status is grpc.StatusCode.RESOURCE_EXHAUSTED
    else:
        with pytest.raises(GatewayError, match=r"^grpc: received message larger than max") as info:
            kv.put("k", value)
        assert (info.value.grpc_code, info.value.http_status) == (
            StatusCode.RESOURCE_EXHAUSTED,
            429,
        )
    assert kv.revision == 1
