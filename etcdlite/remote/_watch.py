"""Watches over etcd: one gRPC ``Watch`` stream per client, many watches on it, resumed after a
break.

As clientv3 does, a :class:`WatchHub` multiplexes every watch of a client over one
bidirectional stream. Creates are answered in the order they were sent, so the next
``created`` response belongs to the oldest create still waiting (a refused create, watch id -1,
too); after that, etcd's watch id routes each response to its :class:`RemoteWatch`.

**Resuming.** A reader thread receives the stream. When the stream breaks (the endpoint
restarts, the connection drops), it opens a new one (on the client's next endpoint, when it
has several), with a short growing pause between
attempts, and creates every active watch again from the revision after the last one it
delivered (``start_revision`` or, when it delivered nothing yet, the revision its ``created``
header promised). Events below that revision are dropped, so a watch delivers each event
exactly once across breaks; only its first ``created`` response is delivered. If the history it
needs was compacted meanwhile, etcd answers the new create with ``compact_revision`` set and the
watch ends with that response, as a Store's watch does.

**Auth.** The stream carries the client's token from when it was opened, and etcd checks it
at each create: after the token expired, or on a new endpoint whose token could not be had,
etcd refuses creates ("invalid auth token" from etcd 3.4.23, "permission denied" from some
versions). So when a create is refused so and the client has credentials, the hub gets a new token (``reauth``) and opens the stream again, once per
watch (until it is created): a watch still refused then ends with etcd's answer.

Each :class:`RemoteWatch` presents itself as a Store watch does (its own stream): its responses
carry its own ``watch_id`` (0 unless chosen), whatever id etcd gave it on the shared stream.
"""

from __future__ import annotations

import collections
import queue
import threading
from typing import TYPE_CHECKING

import attrs
import grpc

from .._model import ResponseHeader, WatchResponse
from .._waiting import Mailbox, NotReady, Receiver
from ..errors import PermissionDeniedError, error_for_message
from ..server._convert import header_from_pb, watch_response_from_pb
from ..server._pb import rpc_pb2
from ._auth import is_stale

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from types import TracebackType

__all__ = ("RemoteWatch", "WatchHub")

#: Pauses between attempts to reopen a broken stream: first, growth factor, longest (seconds).
RETRY_FIRST, RETRY_FACTOR, RETRY_MAX = 0.02, 2.0, 1.0
#: How long :meth:`WatchHub.close` waits for the reader thread to finish.
CLOSE_TIMEOUT = 5.0


@attrs.define(eq=False)
class _Watch:
    """One watch as the hub tracks it."""

    create: rpc_pb2.WatchCreateRequest  # start_revision follows the deliveries
    watch_id: int  # the id its responses carry for the user
    box: Mailbox[WatchResponse] = attrs.field(factory=Mailbox)
    etcd_id: int | None = None  # etcd's id on the current stream, once created
    created_sent: bool = False
    auth_retried: bool = False  # refused once; the stream was reopened with a new token
    cancel_wanted: bool = False
    ended: bool = False


class RemoteWatch(Receiver[WatchResponse]):
    """One watch on a real etcd, read like :class:`etcdlite.Watch` (from threads, asyncio or
    trio); ``cancel()`` (or leaving its ``with`` block) ends it with a ``canceled`` response."""

    __slots__ = ("_hub", "_w")

    def __init__(self, hub: WatchHub, w: _Watch) -> None:
        self._hub = hub
        self._w = w

    @property
    def watch_id(self) -> int:
        """The watch's id, as its responses carry it."""
        return self._w.watch_id

    def poll(self, waker: Callable[[], None] | None) -> WatchResponse | NotReady:
        """One step of the pollable (see :mod:`etcdlite._waiting`)."""
        return self._w.box.poll(waker)

    def forget(self, waker: Callable[[], None]) -> None:
        self._w.box.forget(waker)

    def cancel(self) -> None:
        """Cancel the watch; its last response says ``canceled``. Nothing if it has ended."""
        self._hub.cancel(self._w)

    def __enter__(self) -> RemoteWatch:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cancel()

    async def __aenter__(self) -> RemoteWatch:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cancel()

    def __repr__(self) -> str:
        return f"<etcdlite.remote.RemoteWatch id={self._w.watch_id} {'ended' if self._w.ended else 'active'}>"


class WatchHub:
    """A client's watch stream: started with the first watch, reopened when it breaks, ended
    by :meth:`close`."""

    def __init__(
        self,
        open_stream: Callable[[Iterator[rpc_pb2.WatchRequest]], grpc.Call],
        *,
        broken: Callable[[], None] = lambda: None,
        reauth: Callable[[], None] | None = None,
    ) -> None:
        self._open_stream = open_stream
        self._broken = broken
        self._reauth = reauth
        self._restart = False  # a create was refused for its token: reopen with a new one
        self._lock = threading.Lock()
        self._active: list[_Watch] = []  # in creation order
        self._pending: collections.deque[_Watch] = collections.deque()  # sent, not yet created
        self._by_id: dict[int, _Watch] = {}
        self._requests: queue.SimpleQueue[rpc_pb2.WatchRequest | None] | None = None
        self._call: grpc.Call | None = None
        self._header = ResponseHeader()
        self._thread: threading.Thread | None = None
        self._closing = threading.Event()
        #: How many times the stream was opened (1 + the resumes); for tests and statistics.
        self.streams_opened = 0

    # -- the user's side --------------------------------------------------------------------

    def watch(self, create: rpc_pb2.WatchCreateRequest, watch_id: int) -> RemoteWatch:
        """Add a watch; its ``created`` response comes first."""
        w = _Watch(create, watch_id)
        with self._lock:
            if self._closing.is_set():
                w.box.close()
                return RemoteWatch(self, w)
            self._active.append(w)
            if self._requests is not None:
                self._pending.append(w)
                self._requests.put(rpc_pb2.WatchRequest(create_request=w.create))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="etcdlite-remote-watch", daemon=True
                )
                self._thread.start()
        return RemoteWatch(self, w)

    def cancel(self, w: _Watch) -> None:
        """Ask etcd to cancel ``w`` (at once if it has no etcd id on a live stream)."""
        with self._lock:
            if w.ended or w.cancel_wanted:
                return
            w.cancel_wanted = True
            if w.etcd_id is not None and self._requests is not None:
                cancel = rpc_pb2.WatchCancelRequest(watch_id=w.etcd_id)
                self._requests.put(rpc_pb2.WatchRequest(cancel_request=cancel))
                return
            if w in self._pending:
                return  # canceled when its created response comes
            self._end(w, WatchResponse(self._header, w.watch_id, canceled=True))

    def close(self) -> None:
        """End every watch (their streams end) and stop the reader thread."""
        with self._lock:
            self._closing.set()
            call, thread = self._call, self._thread
            for w in self._active:
                w.ended = True
                w.box.close()
            self._active.clear()
        if call is not None:
            call.cancel()
        if thread is not None and thread is not threading.current_thread():
            thread.join(CLOSE_TIMEOUT)

    # -- the reader thread ------------------------------------------------------------------

    def _run(self) -> None:
        pause = RETRY_FIRST
        while not self._closing.is_set():
            requests: queue.SimpleQueue[rpc_pb2.WatchRequest | None] = queue.SimpleQueue()
            with self._lock:
                if self._closing.is_set():
                    return
                self._start_stream(requests)
                call = self._call
            assert call is not None
            try:
                for pb in call:  # type: ignore[attr-defined]
                    pause = RETRY_FIRST
                    self._dispatch(pb)
                    if self._restart:
                        call.cancel()
                        break
            except grpc.RpcError:
                # the stream broke: open another one, on the next endpoint (or stop, if closing)
                if not self._closing.is_set() and not self._restart:
                    self._broken()
            finally:
                requests.put(None)  # ends the request iterator gRPC reads in its own thread
                with self._lock:
                    self._requests = None
                    self._call = None
            if self._restart and self._reauth is not None:
                self._restart = False
                self._reauth()
                continue
            if self._closing.wait(pause):
                return
            pause = min(pause * RETRY_FACTOR, RETRY_MAX)

    def _start_stream(self, requests: queue.SimpleQueue[rpc_pb2.WatchRequest | None]) -> None:
        """Open a stream and create every active watch on it from where it stands (lock held)."""
        self._pending.clear()
        self._by_id.clear()
        for w in list(self._active):
            w.etcd_id = None
            if w.cancel_wanted:
                self._end(w, WatchResponse(self._header, w.watch_id, canceled=True))
                continue
            self._pending.append(w)
            requests.put(rpc_pb2.WatchRequest(create_request=w.create))
        self._requests = requests
        self._call = self._open_stream(iter(requests.get, None))
        self.streams_opened += 1

    def _dispatch(self, pb: rpc_pb2.WatchResponse) -> None:
        with self._lock:
            if pb.HasField("header"):
                self._header = header_from_pb(pb.header)
            if pb.created:
                if not self._pending:
                    return
                w = self._pending.popleft()
                if pb.canceled or pb.watch_id == -1:
                    if self._retry_auth(w, pb.cancel_reason):
                        return
                    self._end(w, watch_response_from_pb(pb))
                    return
                w.auth_retried = False
                w.etcd_id = pb.watch_id
                self._by_id[pb.watch_id] = w
                if w.create.start_revision == 0:
                    w.create.start_revision = pb.header.revision + 1
                if w.cancel_wanted:
                    cancel = rpc_pb2.WatchCancelRequest(watch_id=pb.watch_id)
                    assert self._requests is not None
                    self._requests.put(rpc_pb2.WatchRequest(cancel_request=cancel))
                if not w.created_sent:
                    w.created_sent = True
                    w.box.put(attrs.evolve(watch_response_from_pb(pb), watch_id=w.watch_id))
                return
            found = self._by_id.get(pb.watch_id)
            if found is None:
                return
            w = found
            resp = attrs.evolve(watch_response_from_pb(pb), watch_id=w.watch_id)
            if resp.canceled:
                del self._by_id[pb.watch_id]
                self._end(w, resp)
                return
            start = w.create.start_revision
            if resp.events:
                events = tuple(e for e in resp.events if e.kv.mod_revision >= start)
                if not events:
                    return  # all delivered before the stream broke
                resp = attrs.evolve(resp, events=events)
                if not resp.fragment:
                    w.create.start_revision = events[-1].kv.mod_revision + 1
            elif not resp.fragment:  # a progress notification: all up to its revision came
                w.create.start_revision = max(start, resp.header.revision + 1)
            w.box.put(resp)

    def _retry_auth(self, w: _Watch, reason: str) -> bool:
        """Whether ``w``'s refused create is tried again on a stream with a new token (lock
        held); see the module docstring."""
        if self._reauth is None or w.auth_retried or w.cancel_wanted:
            return False
        # etcd 3.4 sends Go's form of the error: "rpc error: code = ... desc = <message>"
        err = error_for_message(reason.rpartition(" desc = ")[2])
        if err is None or not (is_stale(err) or isinstance(err, PermissionDeniedError)):
            return False
        w.auth_retried = True
        self._restart = True
        return True

    def _end(self, w: _Watch, last: WatchResponse) -> None:
        """Deliver ``w``'s last response and forget it (lock held)."""
        w.ended = True
        w.box.put(last)
        w.box.close()
        if w in self._active:
            self._active.remove(w)
