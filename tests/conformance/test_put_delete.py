"""Put (SEMANTICS 2.2) and DeleteRange (2.3): prev_kv, ignore_value/ignore_lease, errors."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from etcdlite.errors import (
    EmptyKeyError,
    KeyNotFoundError,
    LeaseNotFoundError,
    LeaseProvidedError,
    ValueProvidedError,
)

from ._harness import exact

if TYPE_CHECKING:
    from etcdlite import DeleteRangeResponse, PutResponse, RangeResponse
    from etcdlite.errors import EtcdError

    from ._harness import KVBackend
    from .conftest import Differential


def test_put_prev_kv(differential: Differential) -> None:
    """prev_kv returns the record the put replaced, and nothing for a new key."""

    def scenario(kv: KVBackend) -> tuple[PutResponse, PutResponse, PutResponse]:
        first = kv.put("k", "v1", prev_kv=True)
        second = kv.put("k", "v2", prev_kv=True)
        kv.delete("k")
        return first, second, kv.put("k", "v3", prev_kv=True)

    first, second, after_delete = differential(scenario)
    assert (first.header.revision, first.prev_kv) == (2, None)
    assert second.prev_kv is not None
    prev = second.prev_kv
    assert (prev.key, prev.value, prev.create_revision, prev.mod_revision, prev.version) == (
        b"k",
        b"v1",
        2,
        2,
        1,
    )
    assert after_delete.prev_kv is None  # a deleted key has no previous record


def test_put_without_prev_kv_returns_none(differential: Differential) -> None:
    """Without prev_kv the response carries no previous record."""

    def scenario(kv: KVBackend) -> PutResponse:
        kv.put("k", "v1")
        return kv.put("k", "v2")

    assert differential(scenario).prev_kv is None


@pytest.mark.parametrize(
    ("options", "value", "mod_revision", "version"),
    [
        pytest.param({"ignore_value": True}, b"old", 3, 2, id="ignore-value"),
        pytest.param({"ignore_lease": True, "value": "new"}, b"new", 3, 2, id="ignore-lease"),
        pytest.param({"ignore_value": True, "ignore_lease": True}, b"old", 3, 2, id="ignore-both"),
        pytest.param(
            {"ignore_value": True, "prev_kv": True}, b"old", 3, 2, id="ignore-value-prev-kv"
        ),
    ],
)
def test_put_ignore_keeps_old(
    differential: Differential,
    options: dict[str, Any],
    value: bytes,
    mod_revision: int,
    version: int,
) -> None:
    """ignore_value/ignore_lease keep the current value/lease but still make a new revision."""
    opts = dict(options)
    new_value = opts.pop("value", b"")

    def scenario(kv: KVBackend) -> tuple[PutResponse, RangeResponse]:
        kv.put("k", "old")
        return kv.put("k", new_value, **opts), kv.get("k")

    put, got = differential(scenario)
    assert put.header.revision == 3
    (rec,) = got.kvs
    assert (rec.value, rec.lease, rec.mod_revision, rec.version) == (
        value,
        0,
        mod_revision,
        version,
    )
    if opts.get("prev_kv"):
        assert put.prev_kv is not None
        assert put.prev_kv.value == b"old"


PUT_ERRORS: list[Any] = [
    pytest.param({"key": b""}, EmptyKeyError, id="empty-key"),
    pytest.param({"value": "x", "ignore_value": True}, ValueProvidedError, id="value-is-provided"),
    pytest.param({"lease": 7, "ignore_lease": True}, LeaseProvidedError, id="lease-is-provided"),
    pytest.param(
        {"key": "missing", "ignore_value": True}, KeyNotFoundError, id="ignore-value-no-key"
    ),
    pytest.param(
        {"key": "missing", "ignore_lease": True}, KeyNotFoundError, id="ignore-lease-no-key"
    ),
    pytest.param({"lease": 7}, LeaseNotFoundError, id="unknown-lease"),
    pytest.param({"lease": -1}, LeaseNotFoundError, id="negative-lease"),
    pytest.param(
        {"key": "missing", "lease": 7, "ignore_value": True},
        LeaseNotFoundError,
        id="unknown-lease-before-missing-key",
    ),
    pytest.param(
        {"key": b"", "value": "x", "ignore_value": True}, EmptyKeyError, id="empty-key-first"
    ),
]


@pytest.mark.parametrize(("options", "error"), PUT_ERRORS)
def test_put_errors(
    differential: Differential, options: dict[str, Any], error: type[EtcdError]
) -> None:
    """Put rejects an empty key, ignore_* with a value/lease or on a missing key, unknown leases."""
    opts = dict(options)
    key = opts.pop("key", "k")
    value = opts.pop("value", b"")

    def scenario(kv: KVBackend) -> PutResponse:
        kv.put("k", "v")
        try:
            return kv.put(key, value, **opts)
        finally:
            assert kv.revision == 2  # a rejected put changes nothing

    with pytest.raises(error, match=exact(error.message)):
        differential(scenario)


def test_delete_prev_kv_and_count(differential: Differential) -> None:
    """DeleteRange answers the number deleted and, with prev_kv, the deleted records in key order."""

    def scenario(kv: KVBackend) -> tuple[DeleteRangeResponse, DeleteRangeResponse]:
        for k in ("a/2", "a/1", "b"):
            kv.put(k, k.upper())
        kv.put("a/1", "again")
        return kv.delete("a/", prefix=True, prev_kv=True), kv.delete("b")

    d, plain = differential(scenario)
    assert (d.header.revision, d.deleted) == (6, 2)
    assert [(p.key, p.value, p.mod_revision, p.version) for p in d.prev_kvs] == [
        (b"a/1", b"again", 5, 2),
        (b"a/2", b"A/2", 2, 1),
    ]
    assert (plain.header.revision, plain.deleted, plain.prev_kvs) == (7, 1, ())


@pytest.mark.parametrize(
    ("key", "options"),
    [
        pytest.param("zz", {}, id="missing-key"),
        pytest.param("x", {"prefix": True}, id="empty-prefix"),
        pytest.param("c", {"range_end": "a"}, id="inverted-range"),
        pytest.param("a", {"prev_kv": True}, id="missing-with-prev-kv"),
        pytest.param("d", {"from_key": True}, id="from-key-after-last"),
    ],
)
def test_delete_nothing(differential: Differential, key: str, options: dict[str, Any]) -> None:
    """Deleting nothing answers deleted=0 and leaves the revision unchanged."""

    def scenario(kv: KVBackend) -> DeleteRangeResponse:
        kv.put("b", "1")
        kv.put("c", "2")
        return kv.delete(key, **options)

    d = differential(scenario)
    assert (d.header.revision, d.deleted, d.prev_kvs) == (3, 0, ())


def test_delete_everything(differential: Differential) -> None:
    """A from-key delete of "\\0" removes every key at one revision."""

    def scenario(kv: KVBackend) -> tuple[DeleteRangeResponse, RangeResponse]:
        for k in ("\0", "a", "\xff"):
            kv.put(k, "v")
        return kv.delete(b"", prefix=True), kv.get(b"\0", from_key=True)

    d, rest = differential(scenario)
    assert (d.header.revision, d.deleted) == (5, 3)
    assert (rest.kvs, rest.count, rest.header.revision) == ((), 0, 5)


def test_delete_empty_key_rejected(kv: KVBackend) -> None:
    """DeleteRange with an empty key fails with "etcdserver: key is not provided"."""
    with pytest.raises(EmptyKeyError, match=exact("etcdserver: key is not provided")):
        kv.delete(b"")
    assert kv.revision == 1
