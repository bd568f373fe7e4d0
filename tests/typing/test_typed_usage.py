"""Intended usage, type-checked by mypy --strict (and run by pytest).

If a change to the public API breaks the types users see, mypy fails on this file.
"""

from __future__ import annotations

import pytest

from etcdlite import (
    Compare,
    DeleteRangeResponse,
    KeyValue,
    Op,
    PutResponse,
    RangeResponse,
    RequestOp,
    Store,
    TxnResponse,
)
from etcdlite.errors import CompactedError, EtcdError


def test_typed_usage() -> None:
    """The calls of the README, with the types a user's checker infers."""
    store: Store = Store(max_txn_ops=64)
    put: PutResponse = store.put("k", b"v", prev_kv=True)
    rev: int = put.header.revision
    got: RangeResponse = store.get("k", revision=rev, sort_target="mod", sort_order="descend")
    kvs: tuple[KeyValue, ...] = got.kvs
    value: bytes = kvs[0].value
    ops: list[RequestOp] = [Op.put("k", "w"), Op.get("k", prefix=True), Op.delete("x")]
    txn: TxnResponse = store.txn([Compare.value("k") == value], ops, [Op.txn()])
    first = txn.responses[0]
    assert isinstance(first, PutResponse)
    deleted: DeleteRangeResponse = store.delete("k", prefix=True, prev_kv=True)
    assert deleted.deleted == 1
    store.compact(store.revision)
    with pytest.raises(CompactedError) as caught:
        store.get("k", revision=1)
    err: EtcdError = caught.value
    assert err.code == 11


def test_typed_lease_usage() -> None:
    """Leases as the docs use them, with the types a user's checker infers."""
    from etcdlite import (
        KeepAlive,
        Lease,
        LeaseGrantResponse,
        LeaseKeepAliveResponse,
        LeaseTimeToLiveResponse,
    )
    from etcdlite.concurrency import Session
    from etcdlite.testing import FakeClock

    clock = FakeClock()
    store = Store(clock=clock, min_lease_ttl=1)
    granted: LeaseGrantResponse = store.grant(10)
    lease_id: int = granted.id
    store.put("k", "v", lease=lease_id)
    ttl: LeaseTimeToLiveResponse = store.time_to_live(lease_id, keys=True)
    keys: tuple[bytes, ...] = ttl.keys
    assert keys == (b"k",)
    ka: KeepAlive = store.keep_alive(lease_id)
    first: LeaseKeepAliveResponse = ka.receive()
    assert first.ttl == 10
    ka.close()
    handle: Lease
    with store.lease(5) as handle:
        assert not handle.expired
    with Session(store, ttl=5) as session:
        session_lease: int = session.lease
        assert store.time_to_live(session_lease).granted_ttl == 5
    clock.advance(10)
    assert store.leases().leases == ()
