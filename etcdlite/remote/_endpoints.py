"""A client's endpoints: one gRPC channel each, the one in use, and clientv3's retry rule.

Calls go to the *current* endpoint. When it does not answer (gRPC ``UNAVAILABLE``: the member
stopped, the connection broke, or etcd itself says it cannot serve: no leader, leader changed),
the client moves on to the next endpoint in the list, round and round, and :meth:`Endpoints.call`
decides whether to send the request again there. The rule is clientv3's: ``retry.go``
(``clientv3/`` in etcd 3.4, ``client/v3/`` later) with ``isSafeRetryImmutableRPC`` /
``isSafeRetryMutableRPC`` and the per-RPC policies of its ``retryKVClient``,
``retryLeaseClient``, ``retryClusterClient`` and ``retryMaintenanceClient``, applied by
``retry_interceptor.go``'s ``isSafeRetry``:

* a **safe** call (a read such as ``Range``, or an idempotent one: lease keep-alive,
  ``LeaseTimeToLive``, ``LeaseLeases``, ``MemberList``, ``Status``, ``Alarm``, ``HashKV``) is
  retried after any ``UNAVAILABLE``;
* a **write** (``Put``, ``DeleteRange``, a ``Txn`` with writes, ``Compact``, ``LeaseGrant``,
  ``LeaseRevoke``, the member changes, ``Defragment``, and the lock and election calls, which
  clientv3 leaves at its default policy, non-repeatable) is retried only
  when it was never sent: gRPC found no connection to make (its "failed to connect to all
  addresses", clientv3's "there is no address available"). A write that failed with
  ``UNAVAILABLE`` after it was sent may have been applied: it raises (a
  :class:`~etcdlite.remote.RemoteError` with status ``UNAVAILABLE``, or etcd's own
  ``UnavailableError`` such as ``LeaderChangedError``) and the caller decides, as clientv3's
  "write-at-most-once" rule says. ``DEADLINE_EXCEEDED`` and every other status are never
  retried (clientv3's ``isContextError``).

Two differences from clientv3, on purpose: clientv3 marks ``LeaseGrant`` and ``LeaseRevoke``
repeatable, here they are writes (a grant sent twice leaves an orphan lease until it
expires); and election ``Leader``, a read, is retried like ``Range``.

**Auth.** With credentials (:mod:`._auth`), each attempt first makes sure its endpoint has a
token (an ``Authenticate`` that fails leaves the request unsent, so it may go to the next
endpoint whatever it is), and a call etcd refuses for its token ("invalid auth token",
"revision of auth store is old", "user name is empty") is sent once more with a new token:
etcd refuses those before applying anything.

Retries are bounded twice: by the call's deadline (the client's ``timeout``) and by
:data:`MAX_ATTEMPTS`, with a :data:`PAUSE` after each full round over the endpoints (clientv3
waits 25 ms between its up to 100 attempts).
"""

from __future__ import annotations

import functools
import threading
import time
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
import grpc

from ..errors import EtcdError, UnavailableError
from ..server._pb import rpc_pb2_grpc, v3election_pb2_grpc, v3lock_pb2_grpc
from ._auth import TokenInterceptor, is_stale
from ._rpc import RemoteError, error_from_rpc
from ._tls import channel_credentials, channel_options

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ._auth import Tokens
    from ._tls import TLS

__all__ = ("MAX_ATTEMPTS", "PAUSE", "Endpoints", "Stubs", "not_sent")

T = TypeVar("T")

_rpc: Any = rpc_pb2_grpc  # generated without annotations
_lock: Any = v3lock_pb2_grpc
_election: Any = v3election_pb2_grpc

#: The most attempts one call makes, over all endpoints.
MAX_ATTEMPTS = 100
#: Seconds to wait after each full round over the endpoints without an answer.
PAUSE = 0.025

#: etcd judges request sizes itself (``--max-request-bytes``), so gRPC's own limits are lifted;
#: an endpoint that comes back is reconnected to within a second (gRPC's default backoff grows
#: to two minutes).
CHANNEL_OPTIONS = (
    ("grpc.max_send_message_length", -1),
    ("grpc.max_receive_message_length", -1),
    ("grpc.initial_reconnect_backoff_ms", 50),
    ("grpc.max_reconnect_backoff_ms", 1000),
)

#: The start of gRPC's message when it had no connection to send a call on (nothing was sent).
_NOT_SENT = ("failed to connect to all addresses", "DNS resolution failed")


@attrs.frozen
class Stubs:
    """The etcd services on one endpoint's channel."""

    kv: Any
    watch: Any
    lease: Any
    cluster: Any
    maintenance: Any
    lock: Any
    election: Any
    auth: Any

    @classmethod
    def on(cls, channel: grpc.Channel) -> Stubs:
        return cls(
            _rpc.KVStub(channel),
            _rpc.WatchStub(channel),
            _rpc.LeaseStub(channel),
            _rpc.ClusterStub(channel),
            _rpc.MaintenanceStub(channel),
            _lock.LockStub(channel),
            _election.ElectionStub(channel),
            _rpc.AuthStub(channel),
        )


def not_sent(exc: grpc.RpcError) -> bool:
    """Whether a failed call never left the client: gRPC had no connection to send it on."""
    details = getattr(exc, "details", None)
    text = (details() if callable(details) else None) or ""
    return text.startswith(_NOT_SENT)


def _status(exc: grpc.RpcError) -> grpc.StatusCode:
    code = getattr(exc, "code", None)
    return code() if callable(code) else grpc.StatusCode.UNKNOWN


class Endpoints:
    """The channels to ``targets`` (``host:port`` each) and which one is in use; over TLS if
    ``tls`` is given, with the tokens of ``tokens`` if given.

    >>> e = Endpoints(["127.0.0.1:1", "127.0.0.1:2"])
    >>> e.current
    '127.0.0.1:1'
    >>> e.failed(0); e.current
    '127.0.0.1:2'
    >>> e.close()
    """

    def __init__(
        self, targets: Sequence[str], *, tls: TLS | None = None, tokens: Tokens | None = None
    ) -> None:
        if not targets:
            raise ValueError("at least one endpoint is needed")
        self.targets = tuple(targets)
        self.tokens = tokens
        options = (*CHANNEL_OPTIONS, *channel_options(tls))
        if tls is None:
            self._channels = [grpc.insecure_channel(t, options=options) for t in targets]
        else:
            creds = channel_credentials(tls)
            self._channels = [grpc.secure_channel(t, creds, options=options) for t in targets]
        channels = self._channels
        if tokens is not None:
            channels = [
                grpc.intercept_channel(ch, TokenInterceptor(functools.partial(tokens.token, i)))
                for i, ch in enumerate(self._channels)
            ]
        self._stubs = [Stubs.on(ch) for ch in channels]
        self._index = 0
        self._lock = threading.Lock()
        #: How many times the client moved to another endpoint; for tests and statistics.
        self.switches = 0

    @property
    def current(self) -> str:
        """The endpoint calls go to now."""
        return self.targets[self._index]

    def pick(self) -> tuple[int, Stubs]:
        """The current endpoint's index and stubs (give the index back to :meth:`failed`)."""
        with self._lock:
            return self._index, self._stubs[self._index]

    def ready(self, index: int, timeout: float | None) -> None:
        """Make sure endpoint ``index`` has a token, if the client has credentials (raises
        ``grpc.RpcError`` as ``Authenticate`` does)."""
        if self.tokens is not None:
            self.tokens.ensure(index, self._channels[index], timeout)

    def failed(self, index: int) -> None:
        """Endpoint ``index`` did not answer: move on to the next one, unless another call
        already moved on from it. Its token is dropped: it authenticates again when used."""
        if self.tokens is not None:
            self.tokens.forget_all(index)
        with self._lock:
            if index == self._index and len(self.targets) > 1:
                self._index = (index + 1) % len(self.targets)
                self.switches += 1

    def call(
        self, attempt: Callable[[Stubs, float | None], T], timeout: float | None, *, safe: bool
    ) -> T:
        """``attempt(stubs, seconds_left)`` on the current endpoint, again on the next ones
        while clientv3's rule allows (see the module docstring), within ``timeout`` seconds.

        Raises etcdlite's exception for the last failure (:func:`~._rpc.error_from_rpc`).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        n = len(self.targets)
        err: EtcdError | None = None
        tokens = self.tokens
        refreshed = False
        for tries in range(1, MAX_ATTEMPTS + 1):
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                break
            index, stubs = self.pick()
            sent = False
            token = None
            try:
                if tokens is not None:
                    tokens.ensure(index, self._channels[index], left)
                    token = tokens.token(index)
                sent = True
                return attempt(stubs, left)
            except grpc.RpcError as exc:
                err = error_from_rpc(exc)
                if sent and tokens is not None and not refreshed and is_stale(err):
                    refreshed = True  # refused for its token, so not applied: send it again
                    tokens.forget(index, token)
                    continue
                if _status(exc) != grpc.StatusCode.UNAVAILABLE:
                    raise err from None
                self.failed(index)  # later calls go to the next endpoint, in any case
                if sent and not (safe or not_sent(exc)):
                    raise err from None
            if tries % n == 0:
                pause = PAUSE if deadline is None else min(PAUSE, deadline - time.monotonic())
                if pause > 0:
                    time.sleep(pause)
        if err is None:
            err = RemoteError("Deadline Exceeded", grpc.StatusCode.DEADLINE_EXCEEDED)
        raise err

    def close(self) -> None:
        """Close every channel (calls in flight end with ``CANCELLED``)."""
        for channel in self._channels:
            channel.close()


def is_unavailable(exc: EtcdError) -> bool:
    """Whether ``exc`` says "no answer now" (gRPC's or etcd's ``UNAVAILABLE``)."""
    if isinstance(exc, RemoteError):
        return exc.status == grpc.StatusCode.UNAVAILABLE
    return isinstance(exc, UnavailableError)
