"""etcdserverpb.Watch: one :class:`~etcdlite.WatchStream` per gRPC stream.

The requests are read by a thread of their own while this worker streams the responses as the
hub queues them, so a create, cancel or progress request is served however long the response
side waits. The call's end closes the WatchStream (every watch of the stream goes), which also
wakes the response side; the reader ends with the call. As in etcd, the client closing its
sending side does not end the stream.

Each create runs as the call's caller (the token is checked again at each one, as etcd does),
in the reader thread. A create the caller may not make (no identity, a bad or expired token,
no READ over the whole range) is answered as etcd 3.4 answers it, and the stream stays open:
``created`` and ``canceled`` with watch id -1 and the refusal as a Go gRPC error prints it in
``cancel_reason`` (``rpc error: code = PermissionDenied desc = etcdserver: permission
denied``).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import grpc

from ..._model import WatchResponse
from ..._waiting import NOT_READY, Mailbox, NotReady, wait
from ...errors import (
    AuthOldRevisionError,
    EtcdError,
    InvalidAuthTokenError,
    PermissionDeniedError,
    UserEmptyError,
)
from .. import _convert as cv
from .._status import abort, acting, go_error_text
from ._common import pump

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from ..._store import Store
    from ..._watch_stream import WatchStream
    from .._pb import rpc_pb2

__all__ = ("Answers", "WatchService")

#: The errors that refuse one create (etcd's isWatchPermitted), not the stream.
_REFUSALS = (UserEmptyError, InvalidAuthTokenError, PermissionDeniedError, AuthOldRevisionError)


class Answers:
    """The stream's responses, with the refused creates' answers mixed in (a pollable of
    :mod:`etcdlite._waiting`)."""

    def __init__(self, stream: WatchStream) -> None:
        self.stream = stream
        self.refused: Mailbox[WatchResponse] = Mailbox()

    def poll(self, waker: Callable[[], None] | None) -> WatchResponse | NotReady:
        r = self.refused.poll(waker)
        if r is not NOT_READY:
            return r
        return self.stream.poll(waker)

    def forget(self, waker: Callable[[], None]) -> None:
        self.refused.forget(waker)
        self.stream.forget(waker)

    def receive(self, timeout: float) -> WatchResponse:
        return wait(self, timeout)


class WatchService:
    """The Watch service in front of a Store."""

    #: Whether a client certificate's CN names the caller (``--client-cert-auth``).
    client_cert_auth = False

    def __init__(self, store: Store) -> None:
        self._store = store

    def serve_request(
        self,
        stream: WatchStream,
        answers: Answers,
        request: rpc_pb2.WatchRequest,
        context: grpc.ServicerContext,
    ) -> None:
        """Apply one request of the stream: a create runs as the call's caller, and one it may
        not make is answered (see the module docs); other errors are the stream's."""
        if request.WhichOneof("request_union") != "create_request":
            cv.apply_watch_request(stream, request)
            return
        try:
            with acting(self, context):
                cv.apply_watch_request(stream, request)
        except _REFUSALS as exc:
            reason = go_error_text(exc)
            answers.refused.put(
                WatchResponse(
                    self._store.header, -1, created=True, canceled=True, cancel_reason=reason
                )
            )

    def Watch(
        self, request_iterator: Iterator[rpc_pb2.WatchRequest], context: grpc.ServicerContext
    ) -> Iterator[rpc_pb2.WatchResponse]:
        store = self._store
        try:
            stream = store.watch_stream()
        except EtcdError as exc:
            abort(context, exc)
        context.add_callback(stream.close)
        answers = Answers(stream)
        failure: list[BaseException] = []

        def read() -> None:
            try:
                for request in request_iterator:
                    self.serve_request(stream, answers, request, context)
            except (EtcdError, TypeError, ValueError) as exc:
                failure.append(exc)
                stream.close()
            except grpc.RpcError:  # the call ended under the reader: nothing left to serve
                stream.close()

        reader = threading.Thread(target=read, name="etcdlite-watch-reader", daemon=True)
        reader.start()
        try:
            yield from pump(context, answers.receive, cv.watch_response_to_pb)
        finally:
            stream.close()
        if failure:
            abort(context, failure[0])
