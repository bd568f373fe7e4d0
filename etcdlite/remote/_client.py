"""The :class:`Client`: :class:`etcdlite.Store`'s API over the gRPC API of an etcd cluster's
endpoints (which one is in use, and when a call is sent again to the next, is
:mod:`._endpoints`'s job).

Each method builds the request with the Store's own builders (:class:`etcdlite.Op`), converts it
with :mod:`etcdlite.server._convert`, sends it and converts etcd's answer back: nothing here
decides what etcd decides (validation, revisions, errors all come from etcd), so the Client and
the Store answer alike wherever etcd and the Store agree.

>>> import etcdlite
>>> client = etcdlite.connect("http://127.0.0.1:1", timeout=0.5)   # nothing listens there
>>> try:
...     client.get("k")
... except etcdlite.remote.RemoteError as e:
...     print(e.status)
StatusCode.UNAVAILABLE
>>> client.close()
"""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import grpc

from .._clock import MonotonicClock
from .._lease_stream import KeepAlive, Lease
from .._model import CompactionResponse, Op, ResponseHeader
from .._watch_stream import watch_args
from ..errors import CompactedError, FutureRevisionError, LeaseNotFoundError
from ..server._convert import (
    delete_range_response_from_pb,
    hash_kv_response_from_pb,
    header_from_pb,
    lease_grant_response_from_pb,
    lease_keep_alive_response_from_pb,
    lease_leases_response_from_pb,
    lease_revoke_response_from_pb,
    lease_time_to_live_response_from_pb,
    put_response_from_pb,
    range_response_from_pb,
    request_op_to_pb,
    txn_response_from_pb,
)
from ..server._pb import rpc_pb2
from ._auth import Tokens
from ._auth_calls import AuthCalls
from ._base import DEFAULT_TIMEOUT
from ._cluster import ClusterCalls
from ._election import LockCalls
from ._maintenance import MaintenanceCalls
from ._renew import PatientLeases
from ._rpc import RemoteError
from ._tls import TLS, tls_config
from ._watch import RemoteWatch, WatchHub

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence
    from types import TracebackType

    from .._model import (
        Compare,
        DeleteRangeResponse,
        Event,
        PutResponse,
        RangeResponse,
        RequestOp,
        SortOrder,
        SortTarget,
        TxnResponse,
        WatchFilter,
    )
    from .._model_lease import (
        LeaseGrantResponse,
        LeaseKeepAliveResponse,
        LeaseLeasesResponse,
        LeaseRevokeResponse,
        LeaseTimeToLiveResponse,
    )
    from .._model_maintenance import HashKVResponse
    from ._endpoints import Stubs

__all__ = ("DEFAULT_TIMEOUT", "Client", "connect")


def _target(endpoint: str, tls: bool = False) -> str:
    """``host:port`` of an etcd endpoint given as ``http://host:port``, ``https://host:port``
    (with ``tls``) or ``host:port``.

    >>> _target("http://127.0.0.1:2379"), _target("localhost:2379")
    ('127.0.0.1:2379', 'localhost:2379')
    >>> _target("https://127.0.0.1:2379", tls=True)
    '127.0.0.1:2379'
    """
    if "://" not in endpoint:
        endpoint = ("https://" if tls else "http://") + endpoint
    parts = urlsplit(endpoint)
    if parts.scheme == "https" and not tls:
        raise ValueError(
            f"without tls=, only http:// endpoints are accepted: {endpoint!r} needs "
            "tls=True or tls=etcdlite.remote.TLS(...)"
        )
    if parts.scheme == "http" and tls:
        raise ValueError(f"{endpoint!r} is plain http://: with tls=, give https:// endpoints")
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"an endpoint is http:// or https://, not {endpoint!r}")
    if not parts.hostname or parts.port is None:
        raise ValueError(f"an endpoint needs a host and a port: {endpoint!r}")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{host}:{parts.port}"


def _split(endpoints: str | Sequence[str], tls: bool = False) -> list[str]:
    """The endpoints of ``connect``: a list, or one string with commas between them.

    >>> _split("http://127.0.0.1:2379, http://127.0.0.1:22379")
    ['127.0.0.1:2379', '127.0.0.1:22379']
    """
    if isinstance(endpoints, str):
        endpoints = endpoints.split(",")
    targets = [_target(e.strip(), tls) for e in endpoints if e.strip()]
    if not targets:
        raise ValueError("connect needs at least one endpoint")
    return targets


def connect(
    endpoints: str | Sequence[str],
    *,
    user: str | None = None,
    password: str | None = None,
    tls: TLS | bool | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
) -> Client:
    """A :class:`Client` for the etcd cluster at ``endpoints``: a list of
    ``http://host:port`` URLs (``https://`` with ``tls``; ``host:port`` also works) or one
    string of them separated by commas, as etcdctl's ``--endpoints`` takes them.

    Calls go to the first endpoint until it stops answering, then to the next one (see
    :mod:`etcdlite.remote._endpoints` for which calls are resent and which raise). ``timeout``
    bounds every call, retries included, in seconds (``None``: no bound). Without ``user``
    the connections are made on the first call; close the client (or use it as a context
    manager) when done.

    ``user`` and ``password`` (both or neither): the client authenticates at once (etcd's
    ``Authenticate``, so a wrong password raises ``AuthFailedError`` here; an endpoint that
    does not answer raises as a call would) and sends the token with every call; it
    authenticates again when etcd drops the token (see :mod:`etcdlite.remote._auth`).

    ``tls``: ``None`` or ``False`` for plain ``http://``, ``True`` for TLS trusting the
    system's certificate authorities, or an :class:`etcdlite.remote.TLS` with a CA file and a
    client certificate. ``https://`` endpoints need it; ``http://`` ones refuse it
    (``ValueError``).
    """
    config = tls_config(tls)
    client = Client(
        _split(endpoints, config is not None),
        timeout=timeout,
        user=user,
        password=password,
        tls=config,
    )
    if user is not None:
        try:
            client._endpoints.call(lambda stubs, left: None, timeout, safe=True)
        except BaseException:
            client.close()
            raise
    return client


class Client(LockCalls, ClusterCalls, MaintenanceCalls, AuthCalls):
    """The Store's API over etcd's gRPC API at ``targets`` (``host:port`` each); see
    :func:`connect`.

    KV (``put``, ``get``, ``delete``, ``txn``, ``do``, ``compact``, ``revision``, ``header``,
    ``hash_kv``), ``watch`` and ``history``, the lease calls (``grant``, ``revoke``,
    ``time_to_live``, ``leases``, ``keep_alive_once``, ``keep_alive``, ``lease``): everything
    :mod:`etcdlite.concurrency` needs (:class:`etcdlite._protocols.Client`); the lock and
    election services (``lock``, ``unlock``, ``campaign``, ``proclaim``, ``leader``,
    ``observe``, ``resign``); maintenance (``status``, ``defragment``, ``alarm_list``,
    ``alarm_activate``, ``alarm_disarm``), membership (``member_list``, ``member_add``,
    ``member_remove``, ``member_update``, ``member_promote``) and auth (``auth_enable``,
    ``auth_disable``, ``auth_status``, ``authenticate``, ``user_*``, ``role_*``).

    ``user`` and ``password`` give it an identity (it authenticates on first use of each
    endpoint); ``tls`` (``True`` or a :class:`~etcdlite.remote.TLS`) makes its channels TLS.
    """

    def __init__(
        self,
        targets: str | Sequence[str],
        *,
        timeout: float | None = DEFAULT_TIMEOUT,
        user: str | None = None,
        password: str | None = None,
        tls: TLS | bool | None = None,
    ) -> None:
        targets = [targets] if isinstance(targets, str) else list(targets)
        if (user is None) != (password is None):
            raise ValueError("give user and password together")
        tokens = None if user is None else Tokens(user, password or "", len(targets))
        super().__init__(targets, timeout=timeout, tls=tls_config(tls), tokens=tokens)
        self._watch_index = 0
        self._watches = WatchHub(
            self._open_watch,
            broken=self._watch_broke,
            reauth=None if tokens is None else self._watch_reauth,
        )
        self._clock = MonotonicClock()
        self._keep_alives: list[KeepAlive] = []
        self._renewer = PatientLeases(self, self._closing)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<etcdlite.remote.Client {self.target}{' closed' if self.closed else ''}>"

    # -- lifetime ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection; later calls raise ``StoppedError``, as on a closed Store."""
        with self._lock:
            if self._closing.is_set():
                return
            self._closing.set()
            keep_alives, self._keep_alives = self._keep_alives, []
        for ka in keep_alives:
            ka.end()
        self._watches.close()
        self._close_streams()
        self._endpoints.close()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closing.is_set()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- KV ---------------------------------------------------------------------------------

    @property
    def header(self) -> ResponseHeader:
        """The header of a read now (etcd has no cheaper way to ask for its revision)."""
        pb = self._call(lambda s: s.kv.Range, rpc_pb2.RangeRequest(key=b"\0"), safe=True)
        return header_from_pb(pb.header)

    @property
    def revision(self) -> int:
        """etcd's current revision."""
        return self.header.revision

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
        """etcd ``Put``; see :meth:`etcdlite.Store.put`."""
        op = Op.put(
            key,
            value,
            lease=lease,
            prev_kv=prev_kv,
            ignore_value=ignore_value,
            ignore_lease=ignore_lease,
        )
        return self._put(request_op_to_pb(op))

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
        """etcd ``Range``; see :meth:`etcdlite.Store.get`."""
        op = Op.get(
            key,
            range_end=range_end,
            prefix=prefix,
            from_key=from_key,
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
        return self._range(request_op_to_pb(op))

    def delete(
        self,
        key: str | bytes,
        *,
        range_end: str | bytes | None = None,
        prefix: bool = False,
        from_key: bool = False,
        prev_kv: bool = False,
    ) -> DeleteRangeResponse:
        """etcd ``DeleteRange``; see :meth:`etcdlite.Store.delete`."""
        op = Op.delete(key, range_end=range_end, prefix=prefix, from_key=from_key, prev_kv=prev_kv)
        return self._delete(request_op_to_pb(op))

    def txn(
        self,
        compare: Iterable[Compare] = (),
        success: Iterable[RequestOp] = (),
        failure: Iterable[RequestOp] = (),
    ) -> TxnResponse:
        """etcd ``Txn``; see :meth:`etcdlite.Store.txn`."""
        return self._txn(request_op_to_pb(Op.txn(compare, success, failure)))

    def do(self, op: RequestOp) -> PutResponse | RangeResponse | DeleteRangeResponse | TxnResponse:
        """Run one :class:`~etcdlite.Op` (clientv3 ``KV.Do``); see :meth:`etcdlite.Store.do`."""
        pb = request_op_to_pb(op)
        which = pb.WhichOneof("request")
        if which == "request_range":
            return self._range(pb)
        if which == "request_put":
            return self._put(pb)
        if which == "request_delete_range":
            return self._delete(pb)
        return self._txn(pb)

    def compact(self, revision: int, *, physical: bool = False) -> CompactionResponse:
        """etcd ``Compact``; see :meth:`etcdlite.Store.compact`."""
        request = rpc_pb2.CompactionRequest(revision=revision, physical=physical)
        pb = self._call(lambda s: s.kv.Compact, request, safe=False)
        return CompactionResponse(header_from_pb(pb.header))

    def hash_kv(self, revision: int = 0) -> HashKVResponse:
        """etcd ``HashKV``; see :meth:`etcdlite.Store.hash_kv`."""
        request = rpc_pb2.HashKVRequest(revision=revision)
        pb = self._call(lambda s: s.maintenance.HashKV, request, safe=True)
        return hash_kv_response_from_pb(pb)

    # -- leases -----------------------------------------------------------------------------

    def grant(self, ttl: int, *, id: int = 0) -> LeaseGrantResponse:
        """etcd ``LeaseGrant``; see :meth:`etcdlite.Store.grant`."""
        request = rpc_pb2.LeaseGrantRequest(TTL=ttl, ID=id)
        pb = self._call(lambda s: s.lease.LeaseGrant, request, safe=False)
        return lease_grant_response_from_pb(pb)

    def revoke(self, id: int) -> LeaseRevokeResponse:
        """etcd ``LeaseRevoke``; see :meth:`etcdlite.Store.revoke`."""
        request = rpc_pb2.LeaseRevokeRequest(ID=id)
        pb = self._call(lambda s: s.lease.LeaseRevoke, request, safe=False)
        return lease_revoke_response_from_pb(pb)

    def time_to_live(self, id: int, *, keys: bool = False) -> LeaseTimeToLiveResponse:
        """etcd ``LeaseTimeToLive``; see :meth:`etcdlite.Store.time_to_live`."""
        request = rpc_pb2.LeaseTimeToLiveRequest(ID=id, keys=keys)
        pb = self._call(lambda s: s.lease.LeaseTimeToLive, request, safe=True)
        return lease_time_to_live_response_from_pb(pb)

    def leases(self) -> LeaseLeasesResponse:
        """etcd ``LeaseLeases``; see :meth:`etcdlite.Store.leases`."""
        request = rpc_pb2.LeaseLeasesRequest()
        pb = self._call(lambda s: s.lease.LeaseLeases, request, safe=True)
        return lease_leases_response_from_pb(pb)

    def keep_alive_once(self, id: int) -> LeaseKeepAliveResponse:
        """clientv3 ``KeepAliveOnce``: one renewal on a ``LeaseKeepAlive`` stream; see
        :meth:`etcdlite.Store.keep_alive_once`. etcd answers TTL 0 for a lease it does not
        have, which raises ``LeaseNotFoundError`` as clientv3 does."""
        request = rpc_pb2.LeaseKeepAliveRequest(ID=id)
        pb = self._call(_keep_alive_once, request, safe=True)
        resp = lease_keep_alive_response_from_pb(pb)
        if resp.ttl <= 0:
            raise LeaseNotFoundError()
        return resp

    def keep_alive(self, id: int) -> KeepAlive:
        """Keep a lease alive in the background (clientv3 ``KeepAlive``), renewing every third
        of its TTL; see :meth:`etcdlite.Store.keep_alive`. A renewal is retried while the
        endpoint does not answer (see :mod:`etcdlite.remote._renew`); the stream ends when
        etcd says the lease is gone, and with :meth:`close`."""
        ka = KeepAlive(self._renewer, self._clock, self.keep_alive_once(id))
        with self._lock:
            if not self._closing.is_set():
                self._keep_alives[:] = [k for k in self._keep_alives if not k.closed]
                self._keep_alives.append(ka)
                return ka
        ka.end()
        return ka

    def lease(self, ttl: int, *, id: int = 0) -> Lease:
        """Grant a lease and keep it alive; see :meth:`etcdlite.Store.lease`."""
        granted = self.grant(ttl, id=id)
        return Lease(self, self.keep_alive(granted.id), granted.ttl)

    # -- watch ------------------------------------------------------------------------------

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
    ) -> RemoteWatch:
        """etcd ``Watch``; see :meth:`etcdlite.Store.watch`. The watch survives a broken
        connection: it resumes after the last revision it delivered (see
        :mod:`etcdlite.remote._watch`). ``watch_id`` is the id its responses carry."""
        args = watch_args(
            key,
            range_end,
            prefix,
            from_key,
            start_revision,
            prev_kv,
            filters,
            progress_notify,
            fragment,
            watch_id,
        )
        self._ensure_open()
        create = rpc_pb2.WatchCreateRequest(
            key=args.key,
            range_end=args.end,
            start_revision=args.start,
            prev_kv=args.prev_kv,
            filters=[
                f
                for f, on in (
                    (rpc_pb2.WatchCreateRequest.NOPUT, args.no_put),
                    (rpc_pb2.WatchCreateRequest.NODELETE, args.no_delete),
                )
                if on
            ],
            progress_notify=args.progress,
            fragment=args.fragment,
        )
        return self._watches.watch(create, args.watch_id)

    def history(
        self,
        key: str | bytes,
        *,
        range_end: str | bytes | None = None,
        prefix: bool = False,
        from_key: bool = False,
        start_revision: int = 0,
        end_revision: int = 0,
        prev_kv: bool = False,
    ) -> tuple[Event, ...]:
        """The events a watch from ``start_revision`` delivers up to ``end_revision`` (0: the
        current revision); see :meth:`etcdlite.Store.history`.

        It watches every key, since only an event at ``end_revision`` itself (every revision
        changes some key) tells that all events before it came, and keeps those in the range.
        """
        rng = Op.get(key or b"\0", range_end=range_end, prefix=prefix, from_key=from_key)
        lo, hi = rng.key, rng.range_end
        current = self.revision
        if end_revision > current:
            raise FutureRevisionError()
        stop = end_revision or current
        start = start_revision or 1
        events: list[Event] = []
        if start > stop or stop < 2:
            return ()
        with self.watch(b"\0", from_key=True, start_revision=start, prev_kv=prev_kv) as w:
            last = 0
            while last < stop:
                resp = w.receive(self.timeout)
                if resp.canceled:
                    if resp.compact_revision:
                        raise CompactedError()
                    raise RemoteError(resp.cancel_reason, grpc.StatusCode.CANCELLED)
                for event in resp.events:
                    last = event.kv.mod_revision
                    if last > stop:
                        break
                    k = event.kv.key
                    if k == lo if not hi else lo <= k and (hi == b"\0" or k < hi):
                        events.append(event)
        return tuple(events)

    # -- sending ----------------------------------------------------------------------------

    def _open_watch(self, requests: Iterator[rpc_pb2.WatchRequest]) -> grpc.Call:
        """The watch hub's stream, on the endpoint in use (with its token, if it can get one:
        if not, the stream fails or etcd refuses its creates, and the hub handles that)."""
        index, stubs = self._endpoints.pick()
        self._watch_index = index
        with contextlib.suppress(grpc.RpcError):
            self._endpoints.ready(index, self.timeout)
        call: grpc.Call = stubs.watch.Watch(requests)
        return call

    def _watch_broke(self) -> None:
        """The watch stream broke: its endpoint is no longer the one to use."""
        self._endpoints.failed(self._watch_index)

    def _watch_reauth(self) -> None:
        """etcd refused a watch: the stream's next opening authenticates again."""
        tokens = self._endpoints.tokens
        if tokens is not None:
            tokens.forget_all(self._watch_index)

    def _put(self, pb: rpc_pb2.RequestOp) -> PutResponse:
        resp = self._call(lambda s: s.kv.Put, pb.request_put, safe=False)
        return put_response_from_pb(resp)

    def _range(self, pb: rpc_pb2.RequestOp) -> RangeResponse:
        resp = self._call(lambda s: s.kv.Range, pb.request_range, safe=True)
        return range_response_from_pb(resp)

    def _delete(self, pb: rpc_pb2.RequestOp) -> DeleteRangeResponse:
        resp = self._call(lambda s: s.kv.DeleteRange, pb.request_delete_range, safe=False)
        return delete_range_response_from_pb(resp)

    def _txn(self, pb: rpc_pb2.RequestOp) -> TxnResponse:
        request = pb.request_txn
        resp = self._call(lambda s: s.kv.Txn, request, safe=_read_only(request))
        return txn_response_from_pb(resp)


def _read_only(txn: rpc_pb2.TxnRequest) -> bool:
    """Whether a txn only reads, in both branches and every nested txn (then it is as safe to
    resend as a ``Range``).

    >>> _read_only(rpc_pb2.TxnRequest(success=[rpc_pb2.RequestOp(request_range={"key": b"k"})]))
    True
    >>> _read_only(rpc_pb2.TxnRequest(failure=[rpc_pb2.RequestOp(request_put={"key": b"k"})]))
    False
    """
    for op in (*txn.success, *txn.failure):
        which = op.WhichOneof("request")
        if which == "request_txn":
            if not _read_only(op.request_txn):
                return False
        elif which != "request_range":
            return False
    return True


def _keep_alive_once(stubs: Stubs) -> Any:
    """One renewal on a short ``LeaseKeepAlive`` stream (the shape of a unary call)."""

    def renew(request: rpc_pb2.LeaseKeepAliveRequest, *, timeout: float | None) -> Any:
        stream = stubs.lease.LeaseKeepAlive(iter([request]), timeout=timeout)
        try:
            return next(stream)
        finally:
            stream.cancel()

    return renew
