"""What the recipes need from a store: ``typing.Protocol``\\ s that :class:`~etcdlite.Store`
satisfies (and the remote client will).

:mod:`etcdlite.concurrency` is written against these and nothing else, so its Session, Mutex,
Election, STM and queues run unchanged over an in-process store or a real etcd cluster.

* :class:`KV`: ``get``, ``put``, ``delete`` and ``txn`` with clientv3's keywords;
* :class:`Watcher`: ``watch`` returning a :class:`WatchLike` (a pollable of
  :mod:`etcdlite._waiting`, so recipes wait on it from threads and tasks alike);
* :class:`Leases`: grant, revoke, time to live, keep-alive;
* :class:`Client`: all three.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from ._model import (
        Compare,
        DeleteRangeResponse,
        PutResponse,
        RangeResponse,
        RequestOp,
        SortOrder,
        SortTarget,
        TxnResponse,
        WatchFilter,
        WatchResponse,
    )
    from ._model_lease import (
        LeaseGrantResponse,
        LeaseKeepAliveResponse,
        LeaseRevokeResponse,
        LeaseTimeToLiveResponse,
    )
    from ._waiting import NotReady

__all__ = ("KV", "Client", "KeepAliveLike", "Leases", "WatchLike", "Watcher")


class KV(Protocol):
    """clientv3 ``KV``: the four calls every recipe is made of."""

    def get(
        self,
        key: str | bytes,
        *,
        range_end: str | bytes | None = None,
        prefix: bool = False,
        from_key: bool = False,
        revision: int = 0,
        limit: int = 0,
        sort_target: str | SortTarget = "key",
        sort_order: str | SortOrder = "none",
        serializable: bool = False,
        keys_only: bool = False,
        count_only: bool = False,
        min_mod_revision: int = 0,
        max_mod_revision: int = 0,
        min_create_revision: int = 0,
        max_create_revision: int = 0,
    ) -> RangeResponse: ...

    def put(
        self,
        key: str | bytes,
        value: str | bytes = b"",
        *,
        lease: int = 0,
        prev_kv: bool = False,
        ignore_value: bool = False,
        ignore_lease: bool = False,
    ) -> PutResponse: ...

    def delete(
        self,
        key: str | bytes,
        *,
        range_end: str | bytes | None = None,
        prefix: bool = False,
        from_key: bool = False,
        prev_kv: bool = False,
    ) -> DeleteRangeResponse: ...

    def txn(
        self,
        compare: Iterable[Compare] = (),
        success: Iterable[RequestOp] = (),
        failure: Iterable[RequestOp] = (),
    ) -> TxnResponse: ...


class WatchLike(Protocol):
    """A watch as the recipes use it: poll it (see :mod:`etcdlite._waiting`), cancel it."""

    def poll(self, waker: Callable[[], None] | None) -> WatchResponse | NotReady: ...

    def forget(self, waker: Callable[[], None]) -> None: ...

    def cancel(self) -> None: ...


class Watcher(Protocol):
    """clientv3 ``Watcher``."""

    def watch(
        self,
        key: str | bytes,
        *,
        range_end: str | bytes | None = None,
        prefix: bool = False,
        from_key: bool = False,
        start_revision: int = 0,
        prev_kv: bool = False,
        filters: Iterable[WatchFilter | str] = (),
        progress_notify: bool = False,
        fragment: bool = False,
        watch_id: int = 0,
    ) -> WatchLike: ...


class KeepAliveLike(Protocol):
    """A keep-alive stream as the recipes use it: poll it, close it."""

    def poll(self, waker: Callable[[], None] | None) -> LeaseKeepAliveResponse | NotReady: ...

    def forget(self, waker: Callable[[], None]) -> None: ...

    def close(self) -> None: ...

    @property
    def closed(self) -> bool: ...


class Leases(Protocol):
    """clientv3 ``Lease``."""

    def grant(self, ttl: int, *, id: int = 0) -> LeaseGrantResponse: ...

    def revoke(self, id: int) -> LeaseRevokeResponse: ...

    def time_to_live(self, id: int, *, keys: bool = False) -> LeaseTimeToLiveResponse: ...

    def keep_alive_once(self, id: int) -> LeaseKeepAliveResponse: ...

    def keep_alive(self, id: int) -> KeepAliveLike: ...


class Client(KV, Watcher, Leases, Protocol):
    """Everything :mod:`etcdlite.concurrency` uses."""
