"""Keeping leases alive: the :class:`KeepAlive` stream and the :class:`Lease` handle.

Both are built on the public lease calls (``grant``, ``keep_alive_once``, ``revoke``) and a
:class:`~etcdlite._clock.Clock`, like clientv3's keep-alive loop: a :class:`KeepAlive` renews
its lease at once, then every third of the granted TTL, on a clock timer (no thread of its own;
with a :class:`~etcdlite.testing.FakeClock` renewals happen as the test advances time). Each
renewal's response is queued for the reader; when the lease is gone (revoked, expired, or the
store closed) the stream ends. Nobody has to read it: it keeps the 16 newest responses.

A :class:`Lease` is a granted lease with a keep-alive running, usable as a (async) context
manager that revokes it on exit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._waiting import Mailbox, Receiver
from .errors import EtcdError, LeaseNotFoundError, StoppedError

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import TracebackType

    from ._clock import Clock, TimerHandle
    from ._model_lease import (
        LeaseKeepAliveResponse,
        LeaseRevokeResponse,
        LeaseTimeToLiveResponse,
    )
    from ._protocols import Leases
    from ._waiting import NotReady

__all__ = ("KEEP_ALIVE_BUFFER", "KeepAlive", "Lease")

#: Responses a keep-alive stream keeps for its reader (clientv3's channel buffer).
KEEP_ALIVE_BUFFER = 16


class KeepAlive(Receiver["LeaseKeepAliveResponse"]):
    """A lease's keep-alive stream (clientv3 ``KeepAlive``): renewals in the background.

    Iterate it (``for resp in ka``, ``async for resp in ka``) to see each renewal's
    :class:`~etcdlite.LeaseKeepAliveResponse`; iteration stops when the lease is gone or the
    stream is closed. ``close()`` stops renewing (the lease then runs out its TTL), as does
    leaving it as a context manager.
    """

    __slots__ = ("_client", "_clock", "_closed", "_mailbox", "_timer", "id")

    def __init__(self, client: Leases, clock: Clock, first: LeaseKeepAliveResponse) -> None:
        self.id = first.id
        self._client = client
        self._clock = clock
        self._mailbox: Mailbox[LeaseKeepAliveResponse] = Mailbox(KEEP_ALIVE_BUFFER)
        self._closed = False
        self._timer: TimerHandle | None = None
        self._mailbox.put(first)
        self._schedule(first.ttl)

    def _schedule(self, ttl: int) -> None:
        self._timer = self._clock.call_later(ttl / 3, self._renew)
        if self._closed:  # closed meanwhile (another thread): drop the new timer
            self.end()

    def _renew(self) -> None:
        """The timer's call: renew, queue the response, schedule the next renewal."""
        if self._closed:
            return
        try:
            resp = self._client.keep_alive_once(self.id)
        except EtcdError:  # the lease is gone, or the store closed
            self.end()
            return
        if not self._closed:
            self._mailbox.put(resp)
            self._schedule(resp.ttl)

    def end(self) -> None:
        """Stop renewing and end the stream (what ``close`` does; also called on revocation)."""
        self._closed = True
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
        self._mailbox.close()

    close = end

    @property
    def closed(self) -> bool:
        """Whether the stream stopped renewing (closed, or its lease is gone)."""
        return self._closed

    # -- reading (the pollable of etcdlite._waiting, and the ways to wait) ------------------

    def poll(self, waker: Callable[[], None] | None) -> LeaseKeepAliveResponse | NotReady:
        return self._mailbox.poll(waker)

    def forget(self, waker: Callable[[], None]) -> None:
        self._mailbox.forget(waker)

    def __enter__(self) -> KeepAlive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> KeepAlive:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "renewing"
        return f"<etcdlite.KeepAlive lease={self.id:x} {state}>"


class Lease:
    """A granted lease kept alive in the background (``Store.lease(ttl)``).

    ``id`` and ``ttl`` are the grant's; attach keys with ``put(..., lease=lease.id)``. Leaving
    it as a (async) context manager, or :meth:`revoke`, stops the keep-alive and revokes the
    lease, which deletes its keys. ``expired`` tells whether the keep-alive stopped because
    the lease is gone.
    """

    __slots__ = ("_client", "_keep_alive", "id", "ttl")

    def __init__(self, client: Leases, keep_alive: KeepAlive, ttl: int) -> None:
        self._client = client
        self._keep_alive = keep_alive
        self.id = keep_alive.id
        self.ttl = ttl

    @property
    def keep_alive(self) -> KeepAlive:
        """The keep-alive stream renewing this lease."""
        return self._keep_alive

    @property
    def expired(self) -> bool:
        """Whether the keep-alive stopped (the lease was revoked, expired or released)."""
        return self._keep_alive.closed

    def time_to_live(self, *, keys: bool = False) -> LeaseTimeToLiveResponse:
        """The lease's remaining TTL (and attached keys): ``Store.time_to_live``."""
        return self._client.time_to_live(self.id, keys=keys)

    def release(self) -> None:
        """Stop keeping the lease alive without revoking it: it expires after its TTL."""
        self._keep_alive.close()

    def revoke(self) -> LeaseRevokeResponse | None:
        """Stop the keep-alive and revoke the lease; ``None`` if it was already gone (expired,
        revoked, or the store closed)."""
        self._keep_alive.close()
        try:
            return self._client.revoke(self.id)
        except (LeaseNotFoundError, StoppedError):
            return None

    def __enter__(self) -> Lease:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.revoke()

    async def __aenter__(self) -> Lease:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.revoke()

    def __repr__(self) -> str:
        state = "expired" if self.expired else "alive"
        return f"<etcdlite.Lease id={self.id:x} ttl={self.ttl} {state}>"
