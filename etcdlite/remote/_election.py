"""Locks and elections over etcd's ``v3lock`` and ``v3election`` gRPC services, with the
Store's names and signatures (:meth:`etcdlite.Store.lock` and the rest).

etcd runs these services with its own internal client and ``concurrency`` package; here they
are sent as they are, so etcd decides everything (key layout, the 60 s lease for lease 0,
errors, which it sends with gRPC code UNKNOWN). ``Lock``, ``Unlock``, ``Campaign``,
``Proclaim`` and ``Resign`` are writes and never resent after being sent (see
:mod:`._endpoints`); ``Leader`` is a read, resent on the next endpoint like ``Range``.

``timeout`` on :meth:`LockCalls.lock` and :meth:`LockCalls.campaign` is the call's deadline:
when it passes, the call is cancelled, which makes etcd withdraw the waiting key (its Mutex and
Election delete it when their context ends), and ``TimeoutError`` is raised as on a Store.

:meth:`LockCalls.observe` reads etcd's ``Observe`` stream in a thread. When the endpoint stops
answering it opens the stream again on the next endpoint; etcd starts a new stream with the
current leader, which is dropped when it is the one delivered last (same key, same
modification revision), so a break delivers no repeat. With credentials, each opening first
gets the endpoint a token (see :mod:`._auth`); a stream etcd ends because of its token
("invalid auth token", ...) is opened again once with a new one.
"""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING

import grpc

from .._model import to_bytes
from .._model_lease import (
    LeaderKey,
    LeaderResponse,
    ProclaimResponse,
    ResignResponse,
    UnlockResponse,
)
from .._waiting import Mailbox, NotReady, Receiver
from ..server._convert import header_from_pb, leader_key_to_pb
from ..server._pb import v3election_pb2, v3lock_pb2
from ._auth import is_stale
from ._base import DEFAULT_TIMEOUT, Calls
from ._convert import campaign_response_from_pb, leader_response_from_pb, lock_response_from_pb
from ._rpc import RemoteError, error_from_rpc

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import TracebackType

    from .._model_lease import CampaignResponse, LockResponse
    from ._endpoints import Endpoints

__all__ = ("LockCalls", "RemoteObserve")

#: Pauses between attempts to reopen a broken Observe stream: first, growth factor, longest.
RETRY_FIRST, RETRY_FACTOR, RETRY_MAX = 0.02, 2.0, 1.0
#: How long :meth:`RemoteObserve.close` waits for its reader thread.
CLOSE_TIMEOUT = 5.0


def _leader_key(leader: object) -> LeaderKey:
    if not isinstance(leader, LeaderKey):
        raise TypeError(f"leader must be a LeaderKey, not {type(leader).__name__}")
    return leader


#: What etcd's lock and election services answer (code UNKNOWN) when the call's deadline
#: passes on the server side first.
_SERVER_DEADLINE = "context deadline exceeded"


def _timed_out(exc: RemoteError, timeout: float | None) -> bool:
    """Whether a lock or campaign failed because its ``timeout`` passed (the client's gRPC
    deadline, or etcd's service noticing it first)."""
    if timeout is None:
        return False
    return exc.status == grpc.StatusCode.DEADLINE_EXCEEDED or str(exc) == _SERVER_DEADLINE


class LockCalls(Calls):
    """``lock``, ``unlock``, ``campaign``, ``proclaim``, ``leader``, ``observe``, ``resign``."""

    def lock(
        self, name: str | bytes, *, lease: int = 0, timeout: float | None = None
    ) -> LockResponse:
        """etcd ``Lock``: block until the lock ``name`` is held with ``lease``; see
        :meth:`etcdlite.Store.lock`. ``TimeoutError`` after ``timeout`` seconds (the waiting
        key is withdrawn); ``None`` waits as long as it takes."""
        request = v3lock_pb2.LockRequest(name=to_bytes(name, "name"), lease=lease)
        try:
            pb = self._call(lambda s: s.lock.Lock, request, safe=False, timeout=timeout)
        except RemoteError as exc:
            if _timed_out(exc, timeout):
                raise TimeoutError(f"lock {name!r} not acquired in {timeout} s") from None
            raise
        return lock_response_from_pb(pb)

    def unlock(self, key: str | bytes) -> UnlockResponse:
        """etcd ``Unlock`` (a delete of ``key``); see :meth:`etcdlite.Store.unlock`."""
        request = v3lock_pb2.UnlockRequest(key=to_bytes(key, "key"))
        pb = self._call(lambda s: s.lock.Unlock, request, safe=False)
        return UnlockResponse(header_from_pb(pb.header))

    def campaign(
        self,
        name: str | bytes,
        value: str | bytes,
        *,
        lease: int = 0,
        timeout: float | None = None,
    ) -> CampaignResponse:
        """etcd ``Campaign``: block until elected leader of ``name``; see
        :meth:`etcdlite.Store.campaign`. ``TimeoutError`` after ``timeout`` seconds."""
        request = v3election_pb2.CampaignRequest(
            name=to_bytes(name, "name"), value=to_bytes(value, "value"), lease=lease
        )
        try:
            pb = self._call(lambda s: s.election.Campaign, request, safe=False, timeout=timeout)
        except RemoteError as exc:
            if _timed_out(exc, timeout):
                raise TimeoutError(f"campaign {name!r} not won in {timeout} s") from None
            raise
        return campaign_response_from_pb(pb)

    def proclaim(self, leader: LeaderKey, value: str | bytes) -> ProclaimResponse:
        """etcd ``Proclaim``; see :meth:`etcdlite.Store.proclaim`."""
        request = v3election_pb2.ProclaimRequest(
            leader=leader_key_to_pb(_leader_key(leader)), value=to_bytes(value, "value")
        )
        pb = self._call(lambda s: s.election.Proclaim, request, safe=False)
        return ProclaimResponse(header_from_pb(pb.header))

    def leader(self, name: str | bytes) -> LeaderResponse:
        """etcd ``Leader``; see :meth:`etcdlite.Store.leader`."""
        request = v3election_pb2.LeaderRequest(name=to_bytes(name, "name"))
        return leader_response_from_pb(self._call(lambda s: s.election.Leader, request, safe=True))

    def resign(self, leader: LeaderKey) -> ResignResponse:
        """etcd ``Resign``; see :meth:`etcdlite.Store.resign`."""
        request = v3election_pb2.ResignRequest(leader=leader_key_to_pb(_leader_key(leader)))
        pb = self._call(lambda s: s.election.Resign, request, safe=False)
        return ResignResponse(header_from_pb(pb.header))

    def observe(self, name: str | bytes) -> RemoteObserve:
        """etcd ``Observe``: a stream of the leadership of ``name``, the current leader first;
        see :meth:`etcdlite.Store.observe`. It moves to the next endpoint when one stops
        answering (see the module docstring)."""
        self._ensure_open()
        request = v3election_pb2.LeaderRequest(name=to_bytes(name, "name"))
        observer = RemoteObserve(self._endpoints, request)
        self._streams.add(observer)
        return observer


class RemoteObserve(Receiver[LeaderResponse]):
    """An election's leadership as a stream of :class:`~etcdlite.LeaderResponse`, read like
    the Store's :class:`~etcdlite.Observe`; ``close()`` it (or leave its ``with`` block)."""

    __slots__ = (
        "__weakref__",
        "_box",
        "_call",
        "_closing",
        "_endpoints",
        "_lock",
        "_request",
        "_thread",
    )

    def __init__(self, endpoints: Endpoints, request: v3election_pb2.LeaderRequest) -> None:
        self._endpoints = endpoints
        self._request = request
        self._box: Mailbox[LeaderResponse] = Mailbox()
        self._lock = threading.Lock()
        self._call: grpc.Call | None = None
        self._closing = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="etcdlite-remote-observe", daemon=True
        )
        self._thread.start()

    def poll(self, waker: Callable[[], None] | None) -> LeaderResponse | NotReady:
        """One step of the pollable (see :mod:`etcdlite._waiting`)."""
        return self._box.poll(waker)

    def forget(self, waker: Callable[[], None]) -> None:
        self._box.forget(waker)

    def close(self) -> None:
        """End the stream and its reader thread."""
        with self._lock:
            self._closing.set()
            call = self._call
        if call is not None:
            call.cancel()
        if self._thread is not threading.current_thread():
            self._thread.join(CLOSE_TIMEOUT)
        self._box.close()

    def __enter__(self) -> RemoteObserve:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> RemoteObserve:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _run(self) -> None:
        last: tuple[bytes, int] | None = None
        pause = RETRY_FIRST
        tokens = self._endpoints.tokens
        reauthed = False
        try:
            while not self._closing.is_set():
                index, stubs = self._endpoints.pick()
                with contextlib.suppress(grpc.RpcError):  # if not, etcd says why: below
                    self._endpoints.ready(index, DEFAULT_TIMEOUT)
                with self._lock:
                    if self._closing.is_set():
                        return
                    call = self._call = stubs.election.Observe(self._request)
                try:
                    for pb in call:
                        pause = RETRY_FIRST
                        reauthed = False
                        resp = leader_response_from_pb(pb)
                        seen = (resp.kv.key, resp.kv.mod_revision)
                        if seen != last:
                            last = seen
                            self._box.put(resp)
                    return  # etcd ended the stream
                except grpc.RpcError as exc:
                    if tokens is not None and not reauthed and is_stale(error_from_rpc(exc)):
                        reauthed = True
                        tokens.forget(index, tokens.token(index))
                        continue
                    code = getattr(exc, "code", None)
                    if not callable(code) or code() != grpc.StatusCode.UNAVAILABLE:
                        return  # cancelled (closed), or an error: the stream ends
                self._endpoints.failed(index)
                if self._closing.wait(pause):
                    return
                pause = min(pause * RETRY_FACTOR, RETRY_MAX)
        finally:
            self._box.close()
