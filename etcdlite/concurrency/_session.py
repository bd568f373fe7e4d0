"""``Session``: a lease kept alive for as long as a client means to hold locks, leaderships or
ephemeral keys (clientv3 ``concurrency.NewSession``).

A session grants a lease (60 s by default) or adopts an existing one, and keeps it alive in
the background at a third of its TTL. Closing it revokes the lease, which deletes every key
written with it: the locks it held, its campaign keys, its ephemeral entries. If the lease
runs out anyway (the keep-alive could not reach the store in time, or someone revoked it), the
session is *done*: :meth:`Session.done` turns true and :meth:`Session.wait_done` returns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio

from .._waiting import NOT_READY, NotReady, wait, wait_async
from ..errors import LeaseNotFoundError, StoppedError

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import TracebackType

    from .._protocols import Client, KeepAliveLike

__all__ = ("DEFAULT_SESSION_TTL", "Session")

#: clientv3's default session TTL, in seconds.
DEFAULT_SESSION_TTL = 60


class _Done:
    """Pollable: ready once the keep-alive stream has ended (responses are discarded)."""

    __slots__ = ("_ka",)

    def __init__(self, ka: KeepAliveLike) -> None:
        self._ka = ka

    def poll(self, waker: Callable[[], None] | None) -> NotReady | None:
        while True:
            try:
                if self._ka.poll(waker) is NOT_READY:
                    return NOT_READY
            except anyio.EndOfStream:
                return None

    def forget(self, waker: Callable[[], None]) -> None:
        self._ka.forget(waker)


class Session:
    """A kept-alive lease for locks, elections and ephemeral keys.

    ``Session(client, ttl=60)`` grants a new lease; ``Session(client, lease=id)`` keeps an
    existing one alive instead (``LeaseNotFoundError`` if it does not exist). The keep-alive is
    the client's own (``client.keep_alive``), so on a store with a
    :class:`~etcdlite.testing.FakeClock` it renews as the test advances the clock.

    >>> from etcdlite import Store
    >>> store = Store()
    >>> with Session(store, ttl=10) as session:
    ...     _ = store.put("workers/1", "up", lease=session.lease)
    ...     store.get("workers/1").count, session.done()
    (1, False)
    >>> store.get("workers/1").count
    0
    """

    __slots__ = ("_client", "_done", "_keep_alive", "lease", "ttl")

    def __init__(self, client: Client, *, ttl: int = DEFAULT_SESSION_TTL, lease: int = 0) -> None:
        self._client = client
        if not lease:
            lease = client.grant(ttl).id
        self._keep_alive = client.keep_alive(lease)
        first = self._keep_alive.poll(None)  # keep_alive renewed once before returning
        if first is NOT_READY:
            raise RuntimeError("keep_alive() returned a stream without its first response")
        #: The session's lease id: write keys with ``lease=session.lease`` to tie them to it.
        self.lease = lease
        #: The lease's TTL, in seconds, as granted.
        self.ttl = first.ttl
        self._done = _Done(self._keep_alive)

    @property
    def client(self) -> Client:
        """The client the session's lease lives on."""
        return self._client

    def done(self) -> bool:
        """Whether the session is over: closed, orphaned, or its lease is gone."""
        return self._keep_alive.closed

    def wait_done(self, timeout: float | None = None) -> None:
        """Block until the session is over (``TimeoutError`` after ``timeout`` seconds)."""
        wait(self._done, timeout)

    async def wait_done_async(self) -> None:
        """Wait in the current task (asyncio or trio) until the session is over."""
        await wait_async(self._done)

    def orphan(self) -> None:
        """Stop the keep-alive without revoking: the lease expires after its TTL."""
        self._keep_alive.close()

    def close(self) -> None:
        """Stop the keep-alive and revoke the lease (deleting its keys); idempotent."""
        self._keep_alive.close()
        try:
            self._client.revoke(self.lease)
        except (LeaseNotFoundError, StoppedError):
            pass

    def __enter__(self) -> Session:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> Session:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "done" if self.done() else "alive"
        return f"<etcdlite.concurrency.Session lease={self.lease:x} ttl={self.ttl} {state}>"
