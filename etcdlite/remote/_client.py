"""The :class:`Client`: :class:`etcdlite.Store`'s API over one etcd endpoint's gRPC API.

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

import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import grpc

from .._clock import MonotonicClock
from .._lease_stream import KeepAlive, Lease
from .._model import CompactionResponse, Op, ResponseHeader
from .._watch_stream import watch_args
from ..errors import CompactedError, FutureRevisionError, LeaseNotFoundError, StoppedError
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
from ..server._pb import rpc_pb2, rpc_pb2_grpc
from ._renew import PatientLeases
from ._rpc import RemoteError, call, error_from_rpc
from ._watch import RemoteWatch, WatchHub

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
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

__all__ = ("DEFAULT_TIMEOUT", "Client", "connect")

_stubs: Any = rpc_pb2_grpc  # generated without annotations

#: Seconds each call may take unless ``connect(timeout=...)`` says otherwise.
DEFAULT_TIMEOUT = 5.0

#: etcd judges request sizes itself (``--max-request-bytes``), so gRPC's own limits are lifted;
#: an endpoint that comes back is reconnected to within a second (gRPC's default backoff grows
#: to two minutes).
_CHANNEL_OPTIONS = (
    ("grpc.max_send_message_length", -1),
    ("grpc.max_receive_message_length", -1),
    ("grpc.initial_reconnect_backoff_ms", 50),
    ("grpc.max_reconnect_backoff_ms", 1000),
)


def _target(endpoint: str) -> str:
    """``host:port`` of an etcd endpoint given as ``http://host:port`` or ``host:port``.

    >>> _target("http://127.0.0.1:2379"), _target("localhost:2379")
    ('127.0.0.1:2379', 'localhost:2379')
    """
    if "://" not in endpoint:
        endpoint = "http://" + endpoint
    parts = urlsplit(endpoint)
    if parts.scheme != "http":
        raise ValueError(f"only http:// endpoints are supported so far, not {endpoint!r}")
    if not parts.hostname or parts.port is None:
        raise ValueError(f"an endpoint needs a host and a port: {endpoint!r}")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{host}:{parts.port}"


def connect(endpoints: str | Sequence[str], *, timeout: float | None = DEFAULT_TIMEOUT) -> Client:
    """A :class:`Client` for the etcd at ``endpoints`` (one ``http://host:port`` so far).

    ``timeout`` bounds every call, in seconds (``None``: no bound). The connection is made on
    the first call; close the client (or use it as a context manager) when done.
    """
    if isinstance(endpoints, str):
        endpoints = [endpoints]
    if len(endpoints) != 1:
        raise ValueError(
            f"one endpoint is supported so far (failover is not built yet), got {len(endpoints)}"
        )
    return Client(_target(endpoints[0]), timeout=timeout)


class Client:
    """The Store's API over etcd's gRPC API at ``target`` (``host:port``); see :func:`connect`.

    So far: KV (``put``, ``get``, ``delete``, ``txn``, ``do``, ``compact``, ``revision``,
    ``header``, ``hash_kv``), ``watch`` and ``history``, and the lease calls (``grant``,
    ``revoke``, ``time_to_live``, ``leases``, ``keep_alive_once``, ``keep_alive``, ``lease``):
    everything :mod:`etcdlite.concurrency` needs (:class:`etcdlite._protocols.Client`).
    """

    def __init__(self, target: str, *, timeout: float | None = DEFAULT_TIMEOUT) -> None:
        self.target = target
        self.timeout = timeout
        self._channel = grpc.insecure_channel(target, options=_CHANNEL_OPTIONS)
        self._kv = _stubs.KVStub(self._channel)
        self._watch = _stubs.WatchStub(self._channel)
        self._watches = WatchHub(self._watch.Watch)
        self._lease = _stubs.LeaseStub(self._channel)
        self._maintenance = _stubs.MaintenanceStub(self._channel)
        self._clock = MonotonicClock()
        self._keep_alives: list[KeepAlive] = []
        self._closing = threading.Event()
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
        self._channel.close()

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

    def _ensure_open(self) -> None:
        if self._closing.is_set():
            raise StoppedError()

    # -- KV ---------------------------------------------------------------------------------

    @property
    def header(self) -> ResponseHeader:
        """The header of a read now (etcd has no cheaper way to ask for its revision)."""
        self._ensure_open()
        pb = call(self._kv.Range, rpc_pb2.RangeRequest(key=b"\0"), self.timeout)
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
        self._ensure_open()
        request = rpc_pb2.CompactionRequest(revision=revision, physical=physical)
        return CompactionResponse(
            header_from_pb(call(self._kv.Compact, request, self.timeout).header)
        )

    def hash_kv(self, revision: int = 0) -> HashKVResponse:
        """etcd ``HashKV``; see :meth:`etcdlite.Store.hash_kv`."""
        self._ensure_open()
        request = rpc_pb2.HashKVRequest(revision=revision)
        return hash_kv_response_from_pb(call(self._maintenance.HashKV, request, self.timeout))

    # -- leases -----------------------------------------------------------------------------

    def grant(self, ttl: int, *, id: int = 0) -> LeaseGrantResponse:
        """etcd ``LeaseGrant``; see :meth:`etcdlite.Store.grant`."""
        self._ensure_open()
        request = rpc_pb2.LeaseGrantRequest(TTL=ttl, ID=id)
        return lease_grant_response_from_pb(call(self._lease.LeaseGrant, request, self.timeout))

    def revoke(self, id: int) -> LeaseRevokeResponse:
        """etcd ``LeaseRevoke``; see :meth:`etcdlite.Store.revoke`."""
        self._ensure_open()
        request = rpc_pb2.LeaseRevokeRequest(ID=id)
        return lease_revoke_response_from_pb(call(self._lease.LeaseRevoke, request, self.timeout))

    def time_to_live(self, id: int, *, keys: bool = False) -> LeaseTimeToLiveResponse:
        """etcd ``LeaseTimeToLive``; see :meth:`etcdlite.Store.time_to_live`."""
        self._ensure_open()
        request = rpc_pb2.LeaseTimeToLiveRequest(ID=id, keys=keys)
        pb = call(self._lease.LeaseTimeToLive, request, self.timeout)
        return lease_time_to_live_response_from_pb(pb)

    def leases(self) -> LeaseLeasesResponse:
        """etcd ``LeaseLeases``; see :meth:`etcdlite.Store.leases`."""
        self._ensure_open()
        request = rpc_pb2.LeaseLeasesRequest()
        return lease_leases_response_from_pb(call(self._lease.LeaseLeases, request, self.timeout))

    def keep_alive_once(self, id: int) -> LeaseKeepAliveResponse:
        """clientv3 ``KeepAliveOnce``: one renewal on a ``LeaseKeepAlive`` stream; see
        :meth:`etcdlite.Store.keep_alive_once`. etcd answers TTL 0 for a lease it does not
        have, which raises ``LeaseNotFoundError`` as clientv3 does."""
        self._ensure_open()
        stream = self._lease.LeaseKeepAlive(
            iter([rpc_pb2.LeaseKeepAliveRequest(ID=id)]), timeout=self.timeout
        )
        try:
            pb = next(stream)
        except grpc.RpcError as exc:
            raise error_from_rpc(exc) from None
        finally:
            stream.cancel()
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

    def _put(self, pb: rpc_pb2.RequestOp) -> PutResponse:
        self._ensure_open()
        return put_response_from_pb(call(self._kv.Put, pb.request_put, self.timeout))

    def _range(self, pb: rpc_pb2.RequestOp) -> RangeResponse:
        self._ensure_open()
        return range_response_from_pb(call(self._kv.Range, pb.request_range, self.timeout))

    def _delete(self, pb: rpc_pb2.RequestOp) -> DeleteRangeResponse:
        self._ensure_open()
        return delete_range_response_from_pb(
            call(self._kv.DeleteRange, pb.request_delete_range, self.timeout)
        )

    def _txn(self, pb: rpc_pb2.RequestOp) -> TxnResponse:
        self._ensure_open()
        return txn_response_from_pb(call(self._kv.Txn, pb.request_txn, self.timeout))
