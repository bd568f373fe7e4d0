"""Fixtures: every conformance test runs on a ``Store``, on a fresh real etcd, on a Store
behind ``etcdlite.serve``'s JSON gateway, and on ``etcdlite.connect()`` to a fresh real etcd.

* ``backend`` is ``"store"``, ``"etcd"`` (carries the ``etcd`` marker, and is skipped with its
  reason when there is no etcd binary, or fails under ``ETCDLITE_REQUIRE_ETCD=1``),
  ``"serve"``: the same :class:`~._gateway.EtcdKV` client that drives etcd, pointed at an
  in-process ``etcdlite.serve(port=0)``, so the suite also runs over etcdlite's own wire, or
  ``"remote"`` (``etcd`` marker too): :func:`etcdlite.connect` to a real etcd over gRPC, so the
  suite checks that the remote client answers as the Store does;
* ``kv`` is that backend, fresh (revision 1), with etcd's default limits;
* ``make_kv(...)`` builds it with other limits (``max_request_bytes``, ``max_txn_ops``) or, for
  the Store, another ``compat`` profile;
* ``differential(scenario, ...)`` plays a scenario: on ``store`` against a Store alone, on
  ``etcd`` against a Store *and* a real etcd with the same limits (on ``serve``, a served Store
  with the same limits and compat; on ``remote``, a real etcd through ``connect``), failing the test unless every call's normalized outcome
  agrees; it returns the tested backend's result (etcd's on ``etcd``), or raises the etcd error
  the scenario ended with, so each test still asserts concrete values.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from typing import TYPE_CHECKING, TypeVar, cast

import pytest

import etcdlite
from etcdlite import Store

from ._etcd import DEFAULT_MAX_REQUEST_BYTES, DEFAULT_MAX_TXN_OPS, running_etcd
from ._gateway import EtcdKV
from ._harness import run_differential, run_recorded

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from etcdlite._store import Compat
    from etcdlite.remote import Client

    from ._harness import KVBackend

T = TypeVar("T")

BACKENDS = (
    pytest.param("store", id="store"),
    pytest.param("etcd", id="etcd", marks=pytest.mark.etcd),
    pytest.param("serve", id="serve"),
    pytest.param("remote", id="remote", marks=pytest.mark.etcd),
    pytest.param("durable", id="durable"),
)

#: The etcd version a served Store answers as, for the registry's version checks: the Store
#: follows current etcd (3.6) where etcd changed after 3.4, or 3.4.23 with ``compat="3.4"``.
SERVED_VERSIONS = {"3.4": (3, 4, 23), "3.5": (3, 6, 0)}


class KVFactory:
    """Builds fresh backends of one kind; started etcds stop when the test ends."""

    def __init__(self, backend: str, stack: contextlib.ExitStack) -> None:
        self.backend = backend
        self._stack = stack

    def store(
        self,
        *,
        compat: Compat = "3.5",
        max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
        max_txn_ops: int = DEFAULT_MAX_TXN_OPS,
    ) -> Store:
        """A fresh Store with these limits."""
        store = Store(compat=compat, max_request_bytes=max_request_bytes, max_txn_ops=max_txn_ops)
        self._stack.callback(store.close)
        return store

    def durable(
        self,
        *,
        compat: Compat = "3.5",
        max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
        max_txn_ops: int = DEFAULT_MAX_TXN_OPS,
    ) -> Store:
        """A fresh Store with a data directory (``fsync="always"``). When the test ends it is
        closed and opened again, and the reopened store must hold the same state."""
        path = tempfile.mkdtemp(prefix="etcdlite-durable-")
        self._stack.callback(shutil.rmtree, path, ignore_errors=True)
        options: dict[str, object] = {
            "compat": compat,
            "max_request_bytes": max_request_bytes,
            "max_txn_ops": max_txn_ops,
        }
        store = Store(data_dir=path, snapshot_count=7, **options)  # type: ignore[arg-type]
        self._stack.callback(_check_reopens, store, path, options)
        return store

    def etcd(
        self,
        *,
        max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
        max_txn_ops: int = DEFAULT_MAX_TXN_OPS,
    ) -> EtcdKV:
        """A fresh real etcd with these limits, stopped at the end of the test."""
        proc = self._stack.enter_context(
            running_etcd(max_request_bytes=max_request_bytes, max_txn_ops=max_txn_ops)
        )
        return EtcdKV(proc.url, version=proc.version)

    def serve(
        self,
        *,
        compat: Compat = "3.5",
        max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
        max_txn_ops: int = DEFAULT_MAX_TXN_OPS,
    ) -> EtcdKV:
        """A fresh Store behind ``etcdlite.serve`` with these limits, through its JSON gateway;
        stopped at the end of the test."""
        store = self.store(
            compat=compat, max_request_bytes=max_request_bytes, max_txn_ops=max_txn_ops
        )
        server = self._stack.enter_context(
            etcdlite.serve(
                store, port=0, max_request_bytes=max_request_bytes, max_txn_ops=max_txn_ops
            )
        )
        return EtcdKV(f"http://{server.address}", version=SERVED_VERSIONS[compat])

    def remote(
        self,
        *,
        max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
        max_txn_ops: int = DEFAULT_MAX_TXN_OPS,
    ) -> Client:
        """``etcdlite.connect()`` to a fresh real etcd with these limits; both closed at the
        end of the test."""
        proc = self._stack.enter_context(
            running_etcd(max_request_bytes=max_request_bytes, max_txn_ops=max_txn_ops)
        )
        return self._stack.enter_context(etcdlite.connect(proc.url))

    def __call__(
        self,
        *,
        compat: Compat = "3.5",
        max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
        max_txn_ops: int = DEFAULT_MAX_TXN_OPS,
    ) -> KVBackend:
        """A fresh backend of this test's kind (``compat`` applies to the Store and the served
        Store)."""
        if self.backend == "etcd":
            return self.etcd(max_request_bytes=max_request_bytes, max_txn_ops=max_txn_ops)
        if self.backend == "serve":
            return self.serve(
                compat=compat, max_request_bytes=max_request_bytes, max_txn_ops=max_txn_ops
            )
        if self.backend == "remote":
            return self.remote(max_request_bytes=max_request_bytes, max_txn_ops=max_txn_ops)
        if self.backend == "durable":
            return self.durable(
                compat=compat, max_request_bytes=max_request_bytes, max_txn_ops=max_txn_ops
            )
        return self.store(
            compat=compat, max_request_bytes=max_request_bytes, max_txn_ops=max_txn_ops
        )


class Differential:
    """Plays scenarios on the test's backend, against a Store as well on ``etcd``."""

    def __init__(self, factory: KVFactory) -> None:
        self._factory = factory
        self.backend = factory.backend

    def __call__(
        self,
        scenario: Callable[[KVBackend], T],
        *,
        compat: Compat = "3.5",
        max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
        max_txn_ops: int = DEFAULT_MAX_TXN_OPS,
    ) -> T:
        """Run ``scenario``; on ``etcd`` require the Store (with ``compat``) to agree with etcd."""
        store = self._factory.store(
            compat=compat, max_request_bytes=max_request_bytes, max_txn_ops=max_txn_ops
        )
        if self.backend == "etcd":
            etcd = self._factory.etcd(max_request_bytes=max_request_bytes, max_txn_ops=max_txn_ops)
            _, run = run_differential(scenario, store, etcd)
        elif self.backend == "serve":
            served = self._factory.serve(
                compat=compat, max_request_bytes=max_request_bytes, max_txn_ops=max_txn_ops
            )
            _, run = run_differential(scenario, store, served)
        elif self.backend == "remote":
            remote = self._factory.remote(
                max_request_bytes=max_request_bytes, max_txn_ops=max_txn_ops
            )
            _, run = run_differential(scenario, store, remote)
        elif self.backend == "durable":
            durable = self._factory.durable(
                compat=compat, max_request_bytes=max_request_bytes, max_txn_ops=max_txn_ops
            )
            _, run = run_differential(scenario, store, durable)
        else:
            run = run_recorded(store, scenario)
        if run.error is not None:
            raise run.error
        return cast("T", run.result)


def _check_reopens(store: Store, path: str, options: dict[str, object]) -> None:
    """Close ``store`` and open its data directory again: the same keys, history and leases."""
    if store.closed:
        return
    revision, compacted = store.revision, store.compact_revision
    digest = store.hash_kv().hash if revision > compacted else None
    leases = [(x.id, store.time_to_live(x.id, keys=True).keys) for x in store.leases().leases]
    store.close()
    with Store(data_dir=path, **options) as again:  # type: ignore[arg-type]
        assert (again.revision, again.compact_revision) == (revision, compacted)
        if digest is not None:
            assert again.hash_kv().hash == digest
        assert [
            (x.id, again.time_to_live(x.id, keys=True).keys) for x in again.leases().leases
        ] == leases
        again._check()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """``"store"``, ``"etcd"``, ``"serve"`` or ``"remote"``: the backend this test runs on."""
    return cast("str", request.param)


@pytest.fixture
def make_kv(backend: str) -> Iterator[KVFactory]:
    """A factory of fresh backends of this test's kind."""
    with contextlib.ExitStack() as stack:
        yield KVFactory(backend, stack)


@pytest.fixture
def kv(make_kv: KVFactory) -> KVBackend:
    """A fresh backend (revision 1) with etcd's default limits."""
    return make_kv()


@pytest.fixture
def differential(make_kv: KVFactory) -> Differential:
    """The differential runner for this test's backend (see the module docstring)."""
    return Differential(make_kv)


def pytest_make_parametrize_id(config: pytest.Config, val: object, argname: str) -> str | None:
    """Readable ids for byte strings in parameter tables."""
    if isinstance(val, bytes):
        return repr(val)[2:-1] or "empty"
    return None
