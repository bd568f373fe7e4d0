"""etcdserverpb.Watch: one :class:`~etcdlite.WatchStream` per gRPC stream.

The requests are read by a thread of their own while this worker streams the responses as the
hub queues them, so a create, cancel or progress request is served however long the response
side waits. The call's end closes the WatchStream (every watch of the stream goes), which also
wakes the response side; the reader ends with the call. As in etcd, the client closing its
sending side does not end the stream.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import grpc

from ...errors import EtcdError
from .. import _convert as cv
from .._status import abort
from ._common import pump

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ..._store import Store
    from .._pb import rpc_pb2

__all__ = ("WatchService",)


class WatchService:
    """The Watch service in front of a Store."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def Watch(
        self, request_iterator: Iterator[rpc_pb2.WatchRequest], context: grpc.ServicerContext
    ) -> Iterator[rpc_pb2.WatchResponse]:
        try:
            stream = self._store.watch_stream()
        except EtcdError as exc:
            abort(context, exc)
        context.add_callback(stream.close)
        failure: list[BaseException] = []

        def read() -> None:
            try:
                for request in request_iterator:
                    cv.apply_watch_request(stream, request)
            except (EtcdError, TypeError, ValueError) as exc:
                failure.append(exc)
                stream.close()
            except grpc.RpcError:  # the call ended under the reader: nothing left to serve
                stream.close()

        reader = threading.Thread(target=read, name="etcdlite-watch-reader", daemon=True)
        reader.start()
        try:
            yield from pump(context, stream.receive, cv.watch_response_to_pb)
        finally:
            stream.close()
        if failure:
            abort(context, failure[0])
