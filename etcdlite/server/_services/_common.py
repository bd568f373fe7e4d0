"""What the servicers share: response pumps, cancellable waits, and the caller check for
calls the Store does not make itself."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, TypeVar

import anyio
import grpc

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine, Iterator

    from ..._store import Store


__all__ = ("POLL_SECONDS", "authorize", "pump", "run_cancellable")

_T = TypeVar("_T")
_P = TypeVar("_P")

#: How long a stream waits for its next response before it looks whether the call is still
#: alive. Closing a stream on call end wakes it at once; this only bounds every wait.
POLL_SECONDS = 1.0


def pump(
    context: grpc.ServicerContext,
    receive: Callable[[float], _T],
    convert: Callable[[_T], _P],
) -> Iterator[_P]:
    """Yield ``convert(receive(...))`` until the stream ends or the call does."""
    while context.is_active():
        try:
            item = receive(POLL_SECONDS)
        except TimeoutError:
            continue
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            return
        yield convert(item)


def run_cancellable(
    context: grpc.ServicerContext, make: Callable[[], Coroutine[object, object, _T]]
) -> _T:
    """Run the coroutine ``make()`` on a private event loop in this worker thread; the call's
    end (client cancel, deadline, disconnect, server stop) cancels it, as etcd's request
    context cancels a blocked Lock or Campaign."""
    loop = asyncio.new_event_loop()
    try:
        task = loop.create_task(make())

        def cancel() -> None:
            try:
                loop.call_soon_threadsafe(task.cancel)
            except RuntimeError:  # the loop is already closed: the wait is over
                pass

        if not context.add_callback(cancel):
            cancel()
        try:
            return loop.run_until_complete(task)
        except asyncio.CancelledError:
            context.abort(grpc.StatusCode.CANCELLED, "context canceled")
    finally:
        loop.close()


def authorize(store: Store, *, admin: bool) -> None:
    """Check the current caller for a call the Store does not make itself (membership), by
    the Store's own rules and under its lock: ``admin`` needs the ``root`` role, otherwise any
    authenticated user will do (nothing is checked while auth is off)."""
    with store._lock:
        store._ensure_open()
        if store._auth.enabled:
            if admin:
                store._check_admin()
            else:
                store._check_user()
