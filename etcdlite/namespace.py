"""Prefix-isolated views of a client (clientv3's ``namespace`` package).

``Namespace(client, prefix)`` wraps a :class:`~etcdlite.Store` (or any client of the
:class:`~etcdlite._protocols.Client` protocol, another namespace included) and is itself such a
client: every key it is given gets ``prefix`` in front, every key it returns has ``prefix``
taken off, and no range it sends reaches past the namespace. It is what clientv3's
``namespace.NewKV``, ``NewWatcher`` and ``NewLease`` are together, so code written for a whole
keyspace (the :mod:`etcdlite.concurrency` recipes, a service's own keys) runs unchanged in one
part of a shared store.

What is mapped, in clientv3's terms (``client/v3/namespace/kv.go``, ``watch.go``, ``lease.go``
and the ``prefixInterval`` of ``util.go``):

* **keys** of ``get``/``put``/``delete``/``watch``, of each :class:`~etcdlite.Compare` and of
  each :class:`~etcdlite.Op` of a txn, nested txns included, get ``prefix`` in front;
* **range ends**: an empty one (a single key) stays empty; ``"\\0"`` (every key from ``key``
  on, which ``from_key=True`` and a prefix of ``""`` produce) becomes ``prefix_end(prefix)``,
  the end of the namespace; any other end gets ``prefix`` in front. So ``from_key`` reads stop
  at the namespace's end, and ``get("", prefix=True)`` reads the whole namespace;
* **responses**: the keys of ``RangeResponse.kvs``, ``PutResponse.prev_kv``,
  ``DeleteRangeResponse.prev_kvs``, every sub-response of a ``TxnResponse`` (nested ones too),
  each watch event's ``kv`` and ``prev_kv``, and ``LeaseTimeToLiveResponse.keys`` (keys of the
  lease outside the namespace are left out, as clientv3 does) lose ``prefix``;
* **leases** are not namespaced: ids, grants, revocations and keep-alives pass through.

Two differences from clientv3, both on the safe side: ``"\\0"`` maps to
:func:`~etcdlite.prefix_end` of the prefix (clientv3 carries the increment over and keeps the
overflowed byte, so for a prefix ending in ``0xff`` its end lets one key past the namespace
through), and an empty key inside a txn (an op or a compare) raises
:class:`~etcdlite.errors.EmptyKeyError` as it would without a namespace (clientv3 sends the bare
prefix).

>>> from etcdlite import Store
>>> store = Store()
>>> app, other = Namespace(store, "app/"), Namespace(store, "other/")
>>> _ = app.put("config", "v1"); _ = other.put("config", "v2")
>>> [(kv.key, kv.value) for kv in app.get("", prefix=True).kvs]
[(b'config', b'v1')]
>>> [kv.key for kv in store.get("", prefix=True).kvs]
[b'app/config', b'other/config']
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from . import _model
from ._lease_stream import KeepAlive as _KeepAlive
from ._lease_stream import Lease as _Lease
from ._waiting import NOT_READY as _NOT_READY
from ._waiting import Receiver as _Receiver
from .errors import EmptyKeyError as _EmptyKeyError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from types import TracebackType

    from ._model import (
        CompactionResponse,
        Compare,
        DeleteRangeResponse,
        Event,
        KeyValue,
        PutResponse,
        RangeResponse,
        RequestOp,
        ResponseOp,
        SortOrder,
        SortTarget,
        TxnResponse,
        WatchFilter,
        WatchResponse,
    )
    from ._model_lease import (
        LeaseGrantResponse,
        LeaseKeepAliveResponse,
        LeaseLeasesResponse,
        LeaseRevokeResponse,
        LeaseTimeToLiveResponse,
    )
    from ._protocols import Client, KeepAliveLike, WatchLike
    from ._waiting import NotReady

__all__ = ("Namespace", "NamespaceWatch", "prefix_interval")


def prefix_interval(prefix: bytes, key: bytes, range_end: bytes) -> tuple[bytes, bytes]:
    """``(key, range_end)`` of a request inside the namespace ``prefix``, as the store sees them.

    clientv3's ``prefixInterval``: the key gets the prefix; an empty range end (one key) stays
    empty; ``b"\\0"`` (to the end of the keyspace) becomes the end of the namespace,
    :func:`~etcdlite.prefix_end` of the prefix (``b"\\0"`` again for an empty or all-0xff
    prefix, whose namespace does run to the end of the keyspace); any other end gets the
    prefix.

    >>> prefix_interval(b"app/", b"k", b"")
    (b'app/k', b'')
    >>> prefix_interval(b"app/", b"a", b"m")
    (b'app/a', b'app/m')
    >>> prefix_interval(b"app/", b"a", b"\\0")
    (b'app/a', b'app0')
    >>> prefix_interval(b"a\\xff", b"\\0", b"\\0"), prefix_interval(b"", b"k", b"\\0")
    ((b'a\\xff\\x00', b'b'), (b'k', b'\\x00'))
    """
    if not range_end:
        return prefix + key, b""
    if range_end == b"\0":
        return prefix + key, _model.prefix_end(prefix)
    return prefix + key, prefix + range_end


class Namespace:
    """A view of ``client`` in which every key lives under ``prefix`` (clientv3 ``namespace``).

    It has the KV, watch and lease calls of :class:`~etcdlite.Store` with the same keywords,
    so it satisfies the :class:`~etcdlite._protocols.Client` protocol and the
    :mod:`etcdlite.concurrency` recipes run on it: their keys land under ``prefix`` in the
    store. Keys are mapped in and out as the module docstring says; errors are the wrapped
    client's, plus :class:`~etcdlite.errors.EmptyKeyError` for an empty key (which the prefix
    would otherwise make valid). ``compact`` and ``leases`` pass through to the client.

    Nothing is stored in the namespace object itself: any number of them over one client (and
    the client itself) see one consistent store.

    >>> from etcdlite import Compare, Op, Store
    >>> store = Store()
    >>> ns = Namespace(store, "tenant-1/")
    >>> r = ns.txn(
    ...     [Compare.version("counter") == 0],
    ...     [Op.put("counter", "1"), Op.get("counter")],
    ... )
    >>> r.succeeded, r.responses[1].kvs[0].key, store.get("tenant-1/counter").kvs[0].value
    (True, b'counter', b'1')
    >>> ns.put("counter", "2", prev_kv=True).prev_kv.key
    b'counter'
    """

    __slots__ = ("_client", "_n", "_prefix")

    def __init__(self, client: Client, prefix: str | bytes) -> None:
        self._client = client
        self._prefix = _model.to_bytes(prefix, "prefix")
        self._n = len(self._prefix)

    @property
    def prefix(self) -> bytes:
        """The prefix every key of this namespace has in the wrapped client."""
        return self._prefix

    @property
    def client(self) -> Client:
        """The wrapped client."""
        return self._client

    def __repr__(self) -> str:
        return f"<etcdlite.namespace.Namespace prefix={self._prefix!r} of {self._client!r}>"

    # -- mapping keys in ---------------------------------------------------------------------

    def _range(
        self, key: object, range_end: object, prefix: object, from_key: object
    ) -> tuple[bytes, bytes]:
        k, end = _model.resolve_range(key, range_end, prefix, from_key)
        if not k:
            raise _EmptyKeyError()
        return prefix_interval(self._prefix, k, end)

    def _compare(self, cmp: Compare) -> Compare:
        if not cmp.key:
            raise _EmptyKeyError()
        key, end = prefix_interval(self._prefix, cmp.key, cmp.range_end)
        return _model.new_compare(key, cmp.target, cmp.result, cmp.operand, end)

    def _op(self, op: RequestOp) -> RequestOp:
        if isinstance(op, _model.TxnRequest):
            return _model.new_txn_request(
                tuple(self._compare(c) for c in op.compare),
                tuple(self._op(o) for o in op.success),
                tuple(self._op(o) for o in op.failure),
            )
        if isinstance(op, _model.PutRequest):
            if not op.key:
                raise _EmptyKeyError()
            return attrs.evolve(op, key=self._prefix + op.key)
        if isinstance(op, (_model.RangeRequest, _model.DeleteRangeRequest)):
            if not op.key:
                raise _EmptyKeyError()
            key, end = prefix_interval(self._prefix, op.key, op.range_end)
            return attrs.evolve(op, key=key, range_end=end)
        kind = type(op).__name__  # type: ignore[unreachable]
        raise TypeError(f"op must be an Op.get/put/delete/txn request, not {kind}")

    # -- mapping keys out --------------------------------------------------------------------

    def _kv(self, kv: KeyValue) -> KeyValue:
        return _model.new_key_value(
            kv.key[self._n :], kv.create_revision, kv.mod_revision, kv.version, kv.value, kv.lease
        )

    def _strip(self, resp: ResponseOp) -> ResponseOp:
        if not self._n:
            return resp
        cls = type(resp)
        if cls is _model.RangeResponse:
            r: RangeResponse = resp  # type: ignore[assignment]
            if not r.kvs:
                return r
            kvs = tuple(self._kv(kv) for kv in r.kvs)
            return _model.new_range_response(r.header, kvs, r.more, r.count)
        if cls is _model.PutResponse:
            p: PutResponse = resp  # type: ignore[assignment]
            if p.prev_kv is None:
                return p
            return _model.new_put_response(p.header, self._kv(p.prev_kv))
        if cls is _model.DeleteRangeResponse:
            d: DeleteRangeResponse = resp  # type: ignore[assignment]
            if not d.prev_kvs:
                return d
            prev = tuple(self._kv(kv) for kv in d.prev_kvs)
            return _model.new_delete_range_response(d.header, d.deleted, prev)
        t: TxnResponse = resp  # type: ignore[assignment]
        subs = tuple(self._strip(sub) for sub in t.responses)
        return _model.new_txn_response(t.header, t.succeeded, subs)

    def _send(self, op: RequestOp) -> ResponseOp:
        """Run a request already mapped into the client's keyspace through its KV calls."""
        c = self._client
        cls = type(op)
        if cls is _model.RangeRequest:
            g: _model.RangeRequest = op  # type: ignore[assignment]
            return c.get(
                g.key,
                range_end=g.range_end or None,
                revision=g.revision,
                limit=g.limit,
                sort_target=g.sort_target,
                sort_order=g.sort_order,
                serializable=g.serializable,
                keys_only=g.keys_only,
                count_only=g.count_only,
                min_mod_revision=g.min_mod_revision,
                max_mod_revision=g.max_mod_revision,
                min_create_revision=g.min_create_revision,
                max_create_revision=g.max_create_revision,
            )
        if cls is _model.PutRequest:
            p: _model.PutRequest = op  # type: ignore[assignment]
            return c.put(
                p.key,
                p.value,
                lease=p.lease,
                prev_kv=p.prev_kv,
                ignore_value=p.ignore_value,
                ignore_lease=p.ignore_lease,
            )
        if cls is _model.DeleteRangeRequest:
            d: _model.DeleteRangeRequest = op  # type: ignore[assignment]
            return c.delete(d.key, range_end=d.range_end or None, prev_kv=d.prev_kv)
        t: _model.TxnRequest = op  # type: ignore[assignment]
        return c.txn(t.compare, t.success, t.failure)

    def _passthrough(self, name: str) -> Any:
        try:
            return getattr(self._client, name)
        except AttributeError:
            kind = type(self._client).__name__
            raise AttributeError(f"the wrapped {kind} has no {name}()") from None

    # -- KV ----------------------------------------------------------------------------------

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
    ) -> RangeResponse:
        """:meth:`Store.get <etcdlite.Store.get>` inside the namespace.

        ``from_key=True`` (or ``range_end="\\0"``) reads to the end of the namespace, and
        ``get("", prefix=True)`` (or ``from_key=True``) reads all of it. An empty key without
        ``prefix`` or ``from_key`` raises :class:`~etcdlite.errors.EmptyKeyError`.

        >>> from etcdlite import Store
        >>> store = Store()
        >>> for k in ("a/x", "a/y", "b/x"): _ = store.put(k, "")
        >>> [kv.key for kv in Namespace(store, "a/").get("x", from_key=True).kvs]
        [b'x', b'y']
        """
        k, end = self._range(key, range_end, prefix, from_key)
        r = self._client.get(
            k,
            range_end=end or None,
            revision=revision,
            limit=limit,
            sort_target=sort_target,
            sort_order=sort_order,
            serializable=serializable,
            keys_only=keys_only,
            count_only=count_only,
            min_mod_revision=min_mod_revision,
            max_mod_revision=max_mod_revision,
            min_create_revision=min_create_revision,
            max_create_revision=max_create_revision,
        )
        if not r.kvs or not self._n:
            return r
        kvs = tuple(self._kv(kv) for kv in r.kvs)
        return _model.new_range_response(r.header, kvs, r.more, r.count)

    def put(
        self,
        key: str | bytes,
        value: str | bytes = b"",
        *,
        lease: int = 0,
        prev_kv: bool = False,
        ignore_value: bool = False,
        ignore_lease: bool = False,
    ) -> PutResponse:
        """:meth:`Store.put <etcdlite.Store.put>` of ``prefix + key``; ``prev_kv`` comes back
        without the prefix. An empty key raises :class:`~etcdlite.errors.EmptyKeyError`.

        >>> from etcdlite import Store
        >>> store = Store()
        >>> _ = Namespace(store, "a/").put("k", "v")
        >>> store.get("a/k").kvs[0].value
        b'v'
        """
        k = _model.to_bytes(key, "key")
        if not k:
            raise _EmptyKeyError()
        r = self._client.put(
            self._prefix + k,
            value,
            lease=lease,
            prev_kv=prev_kv,
            ignore_value=ignore_value,
            ignore_lease=ignore_lease,
        )
        if r.prev_kv is None or not self._n:
            return r
        return _model.new_put_response(r.header, self._kv(r.prev_kv))

    def delete(
        self,
        key: str | bytes,
        *,
        range_end: str | bytes | None = None,
        prefix: bool = False,
        from_key: bool = False,
        prev_kv: bool = False,
    ) -> DeleteRangeResponse:
        """:meth:`Store.delete <etcdlite.Store.delete>` inside the namespace (ranges as for
        :meth:`get`); ``prev_kvs`` come back without the prefix.

        >>> from etcdlite import Store
        >>> store = Store()
        >>> _ = store.put("a/k", "1"); _ = store.put("b/k", "2")
        >>> Namespace(store, "a/").delete("", prefix=True).deleted, store.get("b/k").count
        (1, 1)
        """
        k, end = self._range(key, range_end, prefix, from_key)
        r = self._client.delete(k, range_end=end or None, prev_kv=prev_kv)
        if not r.prev_kvs or not self._n:
            return r
        prev = tuple(self._kv(kv) for kv in r.prev_kvs)
        return _model.new_delete_range_response(r.header, r.deleted, prev)

    def txn(
        self,
        compare: Iterable[Compare] = (),
        success: Iterable[RequestOp] = (),
        failure: Iterable[RequestOp] = (),
    ) -> TxnResponse:
        """:meth:`Store.txn <etcdlite.Store.txn>` with every compare and op (nested txns too)
        mapped into the namespace, and every sub-response mapped out.

        >>> from etcdlite import Compare, Op, Store
        >>> store = Store()
        >>> ns = Namespace(store, "a/")
        >>> _ = ns.put("k", "v")
        >>> r = ns.txn([], [Op.delete("k", prev_kv=True), Op.txn([Compare.value("k") == "v"])])
        >>> r.responses[0].prev_kvs[0].key, r.responses[1].succeeded
        (b'k', True)
        """
        req = _model.Op.txn(compare, success, failure)
        mapped: _model.TxnRequest = self._op(req)  # type: ignore[assignment]
        r = self._client.txn(mapped.compare, mapped.success, mapped.failure)
        return self._strip(r)  # type: ignore[return-value]

    def do(self, op: RequestOp) -> PutResponse | RangeResponse | DeleteRangeResponse | TxnResponse:
        """Run one :class:`~etcdlite.Op` in the namespace (clientv3 ``KV.Do``).

        >>> from etcdlite import Op, Store
        >>> ns = Namespace(Store(), "a/")
        >>> _ = ns.do(Op.put("k", "v"))
        >>> ns.do(Op.get("k")).kvs[0].key
        b'k'
        """
        return self._strip(self._send(self._op(op)))

    def compact(self, revision: int, *, physical: bool = False) -> CompactionResponse:
        """Compact the wrapped client's whole history (revisions are not namespaced)."""
        r: CompactionResponse = self._passthrough("compact")(revision, physical=physical)
        return r

    # -- watch -------------------------------------------------------------------------------

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
    ) -> NamespaceWatch:
        """:meth:`Store.watch <etcdlite.Store.watch>` inside the namespace (clientv3
        ``namespace.NewWatcher``): a :class:`NamespaceWatch`, whose events carry keys without
        the prefix.

        The range maps as for :meth:`get`: ``prefix=True`` on ``""`` watches the whole
        namespace, ``from_key=True`` stops at its end. An empty key alone watches the key
        ``prefix`` itself, as clientv3 does.

        >>> from etcdlite import Store
        >>> store = Store()
        >>> ns = Namespace(store, "a/")
        >>> with ns.watch("", from_key=True) as w:
        ...     _ = store.put("b/outside", "x"); _ = ns.put("inside", "y")
        ...     created, resp = w.receive(), w.receive(timeout=10)
        >>> [(e.kv.key, e.kv.value) for e in resp.events]
        [(b'inside', b'y')]
        """
        k, end = _model.resolve_range(key, range_end, prefix, from_key)
        k, end = prefix_interval(self._prefix, k, end)
        inner = self._client.watch(
            k,
            range_end=end or None,
            start_revision=start_revision,
            prev_kv=prev_kv,
            filters=filters,
            progress_notify=progress_notify,
            fragment=fragment,
            watch_id=watch_id,
        )
        return NamespaceWatch(inner, self._n)

    # -- leases ------------------------------------------------------------------------------

    def grant(self, ttl: int, *, id: int = 0) -> LeaseGrantResponse:
        """:meth:`Store.grant <etcdlite.Store.grant>`: leases are not namespaced."""
        return self._client.grant(ttl, id=id)

    def revoke(self, id: int) -> LeaseRevokeResponse:
        """:meth:`Store.revoke <etcdlite.Store.revoke>`: deletes every key of the lease,
        inside the namespace or not."""
        return self._client.revoke(id)

    def time_to_live(self, id: int, *, keys: bool = False) -> LeaseTimeToLiveResponse:
        """:meth:`Store.time_to_live <etcdlite.Store.time_to_live>`; ``keys`` holds only the
        lease's keys inside the namespace, without the prefix (clientv3 ``NewLease``).

        >>> from etcdlite import Store
        >>> store = Store()
        >>> lease = store.grant(60).id
        >>> _ = store.put("a/k", "", lease=lease); _ = store.put("b/k", "", lease=lease)
        >>> Namespace(store, "a/").time_to_live(lease, keys=True).keys
        (b'k',)
        """
        r = self._client.time_to_live(id, keys=keys)
        if not r.keys or not self._n:
            return r
        p, n = self._prefix, self._n
        inside = tuple(k[n:] for k in r.keys if k[:n] == p)
        return attrs.evolve(r, keys=inside)

    def leases(self) -> LeaseLeasesResponse:
        """:meth:`Store.leases <etcdlite.Store.leases>`: every lease of the wrapped client."""
        r: LeaseLeasesResponse = self._passthrough("leases")()
        return r

    def keep_alive_once(self, id: int) -> LeaseKeepAliveResponse:
        """:meth:`Store.keep_alive_once <etcdlite.Store.keep_alive_once>`."""
        return self._client.keep_alive_once(id)

    def keep_alive(self, id: int) -> KeepAliveLike:
        """:meth:`Store.keep_alive <etcdlite.Store.keep_alive>`: the client's own stream."""
        return self._client.keep_alive(id)

    def lease(self, ttl: int, *, id: int = 0) -> _Lease:
        """:meth:`Store.lease <etcdlite.Store.lease>`: a kept-alive lease whose
        ``time_to_live`` sees this namespace's keys.

        >>> from etcdlite import Store
        >>> ns = Namespace(Store(), "a/")
        >>> with ns.lease(10) as lease:
        ...     _ = ns.put("k", "v", lease=lease.id)
        ...     lease.time_to_live(keys=True).keys
        (b'k',)
        """
        granted = self.grant(ttl, id=id)
        ka = self.keep_alive(granted.id)
        if not isinstance(ka, _KeepAlive):
            ka.close()
            kind = type(self._client).__name__
            raise TypeError(f"lease() needs a client whose keep_alive is a KeepAlive ({kind})")
        return _Lease(self, ka, granted.ttl)


class NamespaceWatch(_Receiver["_model.WatchResponse"]):
    """A watch inside a :class:`Namespace`: the wrapped client's watch, with the prefix taken
    off every event's ``kv`` and ``prev_kv``.

    It reads like :class:`~etcdlite.Watch`: from a thread (``for resp in w``,
    ``w.receive(timeout=...)``) or from async code under asyncio or trio (``async for resp in
    w``, ``await w.areceive()``); as a (async) context manager it cancels the watch on exit.
    Responses other than events (created, progress, canceled) are the wrapped watch's.
    """

    __slots__ = ("_n", "_watch")

    def __init__(self, watch: WatchLike, prefix_length: int) -> None:
        self._watch = watch
        self._n = prefix_length

    @property
    def watch(self) -> WatchLike:
        """The wrapped client's watch (whose events carry the prefix)."""
        return self._watch

    @property
    def watch_id(self) -> int:
        """The wrapped watch's id (-1 if its create request was refused)."""
        wid: int = getattr(self._watch, "watch_id", 0)
        return wid

    def _event(self, e: Event) -> Event:
        n = self._n
        kv = e.kv
        kv = _model.new_key_value(
            kv.key[n:], kv.create_revision, kv.mod_revision, kv.version, kv.value, kv.lease
        )
        prev = e.prev_kv
        if prev is not None:
            prev = _model.new_key_value(
                kv.key,
                prev.create_revision,
                prev.mod_revision,
                prev.version,
                prev.value,
                prev.lease,
            )
        return _model.Event(e.type, kv, prev)

    # -- the pollable ------------------------------------------------------------------------

    def poll(self, waker: Callable[[], None] | None) -> WatchResponse | NotReady:
        """One step of the state machine (see :mod:`etcdlite._waiting`)."""
        r = self._watch.poll(waker)
        if r is _NOT_READY or not r.events or not self._n:
            return r
        return attrs.evolve(r, events=tuple(self._event(e) for e in r.events))

    def forget(self, waker: Callable[[], None]) -> None:
        """Drop a waker ``poll`` kept."""
        self._watch.forget(waker)

    def cancel(self) -> None:
        """Cancel the watch: a last ``canceled`` response is queued; nothing after it."""
        self._watch.cancel()

    def request_progress(self) -> None:
        """Ask the wrapped watch for a progress notification (etcd ``RequestProgress``)."""
        fn = getattr(self._watch, "request_progress", None)
        if fn is None:
            kind = type(self._watch).__name__
            raise AttributeError(f"the wrapped {kind} has no request_progress()")
        fn()

    # -- receiving ---------------------------------------------------------------------------

    def __enter__(self) -> NamespaceWatch:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cancel()

    async def __aenter__(self) -> NamespaceWatch:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cancel()

    def __repr__(self) -> str:
        return f"<etcdlite.namespace.NamespaceWatch of {self._watch!r}>"
