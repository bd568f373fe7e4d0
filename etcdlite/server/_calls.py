"""The gRPC calls: each method of each servicer as an asyncio handler, and where it runs.

The servicers are synchronous (the JSON gateway calls them from its threads). The gRPC
transport (:mod:`._h2`) runs on an event loop, and this module decides, once per method, how a
call reaches its servicer; the handlers have the shape of ``grpc.aio``'s (a coroutine for a
unary call, an async generator for a stream, with an ``rpc`` context giving the metadata, the
client's certificate and ``abort``), which is what :mod:`._h2` drives:

* **On the loop**: the calls in :data:`INLINE_READS`, and those in :data:`INLINE_WRITES` while
  the store has no data dir (a durable write waits for its fsync). The servicer method runs
  as it is, with a small context (:class:`_LoopContext`) whose ``abort`` raises
  :class:`~._call.Aborted`; the wrapper sends that status. Such a call never suspends, so the
  transport answers it within the ``data_received`` that completed its request.
* **Watch** streams run on the loop too (:func:`_watch`): a task reads the requests and the
  responses are awaited, so an event leaves from the loop that made it.
* **In the thread pool**: everything else (Lock and Campaign, which wait; durable writes;
  password hashing; Snapshot, Defragment and the hashes, which take long; the other streams).
  The same servicer method runs in a pool thread with a :class:`~._call.CallContext`; the
  call's end (client cancel, deadline, disconnect, server stop) runs that context's callbacks,
  which wake whatever the servicer waits on. A stream's responses are taken from the
  servicer's generator one at a time in the pool; its requests are read on the loop and handed
  over to the thread that iterates them (:class:`_Requests`).
* A request that does not decode ends its call with INTERNAL and grpc-go's message: the
  handlers take the bytes and decode them.

:class:`LoopServer` runs the transport on an event loop in a thread of its own, so the
:class:`~.Server` in front of it stays synchronous.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from typing import TYPE_CHECKING, Any, NoReturn

import anyio
import grpc
from google.protobuf.message import DecodeError
from google.protobuf.message_factory import GetMessageClass

from .._waiting import wait_async
from ..errors import EtcdError
from . import _convert as cv
from ._call import Aborted, CallContext
from ._h2 import H2Server, Rpc
from ._pb import health_pb2, rpc_pb2, v3election_pb2, v3lock_pb2
from ._services import by_service
from ._services._common import POLL_SECONDS
from ._services.watch import Answers, WatchService
from ._status import status_of

if TYPE_CHECKING:
    import socket
    import ssl
    from collections.abc import AsyncIterator, Callable, Coroutine, Iterator

    from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor
    from google.protobuf.message import Message

    from ._services import Servicers

__all__ = ("INLINE_READS", "INLINE_WRITES", "LoopServer")

#: Calls answered on the event loop: they read, never wait, and take little time.
INLINE_READS = frozenset(
    {
        "/etcdserverpb.KV/Range",
        "/etcdserverpb.Lease/LeaseTimeToLive",
        "/etcdserverpb.Lease/LeaseLeases",
        "/etcdserverpb.Maintenance/Status",
        "/etcdserverpb.Cluster/MemberList",
        "/etcdserverpb.Auth/AuthStatus",
        "/v3electionpb.Election/Leader",
        "/grpc.health.v1.Health/Check",
    }
)

#: Calls answered on the event loop while the store is in memory (with a data dir each waits
#: for its write to be synced, so they run in the pool then).
INLINE_WRITES = frozenset(
    {
        "/etcdserverpb.KV/Put",
        "/etcdserverpb.KV/DeleteRange",
        "/etcdserverpb.KV/Txn",
        "/etcdserverpb.Lease/LeaseGrant",
        "/etcdserverpb.Lease/LeaseRevoke",
        "/v3lockpb.Lock/Unlock",
        "/v3electionpb.Election/Proclaim",
        "/v3electionpb.Election/Resign",
    }
)

_CODES: dict[int, grpc.StatusCode] = {c.value[0]: c for c in grpc.StatusCode}

#: Every service served, by full name.
_SERVICES: dict[str, ServiceDescriptor] = {
    s.full_name: s
    for module in (rpc_pb2, v3lock_pb2, v3election_pb2, health_pb2)
    for s in module.DESCRIPTOR.services_by_name.values()
}

_END = object()


class _LoopContext:
    """What a servicer answered on the loop uses of its context."""

    __slots__ = ("_rpc",)

    def __init__(self, rpc: Rpc) -> None:
        self._rpc = rpc

    def invocation_metadata(self) -> Any:
        return self._rpc.invocation_metadata()

    def auth_context(self) -> Any:
        return self._rpc.auth_context()

    def abort(self, code: grpc.StatusCode, details: str) -> NoReturn:
        raise Aborted(int(code.value[0]), details)


class _PoolContext(CallContext):
    """A pool thread's context: the call's metadata and certificate, taken on the loop."""

    def __init__(self, rpc: Rpc) -> None:
        super().__init__(tuple(rpc.invocation_metadata() or ()))
        self._auth = rpc.auth_context()

    def auth_context(self) -> Any:
        return self._auth


async def _abort(rpc: Rpc, exc: Aborted) -> NoReturn:
    await rpc.abort(_CODES[exc.code], exc.message)
    raise AssertionError("abort returned")  # pragma: no cover - grpc's abort raises


async def _decode(request_class: type[Message], data: bytes, rpc: Rpc) -> Any:
    """The request in ``data``, or the call ends as grpc-go ends it (INTERNAL)."""
    try:
        return request_class.FromString(data)
    except DecodeError as exc:
        await rpc.abort(grpc.StatusCode.INTERNAL, f"grpc: error unmarshalling request: {exc}")


def _on_loop(
    method: Callable[[Any, Any], Any], request_class: type[Message]
) -> Callable[..., Coroutine[Any, Any, Any]]:
    async def call(data: bytes, rpc: Rpc) -> Any:
        try:
            request = request_class.FromString(data)
        except DecodeError:
            await _decode(request_class, data, rpc)
        try:
            return method(request, _LoopContext(rpc))
        except Aborted as exc:
            await _abort(rpc, exc)

    return call


def _in_pool(
    method: Callable[[Any, Any], Any],
    request_class: type[Message],
    pool: concurrent.futures.Executor,
) -> Callable[..., Coroutine[Any, Any, Any]]:
    async def call(data: bytes, rpc: Rpc) -> Any:
        request = await _decode(request_class, data, rpc)
        context = _PoolContext(rpc)
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, method, request, context)
        except Aborted as exc:
            await _abort(rpc, exc)
        finally:
            context.end()

    return call


def _next(responses: Iterator[Any]) -> Any:
    return next(responses, _END)


def _streaming(
    method: Callable[[Any, Any], Iterator[Any]],
    request_class: type[Message],
    pool: concurrent.futures.Executor,
    *,
    request_stream: bool,
) -> Callable[..., AsyncIterator[Any]]:
    async def call(request: Any, rpc: Rpc) -> AsyncIterator[Any]:
        if request_stream:  # grpc decodes each request (an undecodable one ends the call)
            context = _PoolContext(rpc)
            request = _Requests(request, asyncio.get_running_loop(), context)
        else:
            request = await _decode(request_class, request, rpc)
            context = _PoolContext(rpc)
        responses = iter(method(request, context))
        pending: concurrent.futures.Future[Any] | None = None
        try:
            while True:
                pending = pool.submit(_next, responses)
                response = await asyncio.wrap_future(pending)
                pending = None
                if response is _END:
                    return
                yield response
        except Aborted as exc:
            await _abort(rpc, exc)
        finally:
            context.end()  # wakes a servicer waiting in the pool
            if pending is None:
                responses.close()  # type: ignore[attr-defined]
            else:  # a step may still run in the pool: close the generator once it returns
                pending.add_done_callback(lambda _: responses.close())  # type: ignore[attr-defined]

    return call


class _Requests:
    """A stream's requests, read on the loop, as the iterator a pool thread's servicer reads.

    It ends when the client ends its side, or when the call ends (the servicer learns that
    from its context).
    """

    def __init__(
        self,
        requests: AsyncIterator[Any],
        loop: asyncio.AbstractEventLoop,
        context: CallContext,
    ) -> None:
        self._requests = requests
        self._loop = loop
        self._context = context

    def __iter__(self) -> Iterator[Any]:
        return self

    async def _read(self) -> Any:
        return await self._requests.__anext__()

    def __next__(self) -> Any:
        if not self._context.is_active():
            raise StopIteration
        read = self._read()
        try:
            future = asyncio.run_coroutine_threadsafe(read, self._loop)
        except RuntimeError:  # the loop is closed: the server has stopped
            read.close()
            raise StopIteration from None
        while True:
            try:
                return future.result(POLL_SECONDS)
            except concurrent.futures.TimeoutError:
                if self._context.is_active():
                    continue
                future.cancel()
                raise StopIteration from None
            except StopAsyncIteration:
                raise StopIteration from None
            except Exception:  # noqa: BLE001 - the call broke under the read: no more requests
                raise StopIteration from None


def _watch(service: WatchService) -> Callable[..., AsyncIterator[Any]]:
    """etcdserverpb.Watch on the loop: the servicer's stream (:class:`~._services.watch.
    WatchService`) with its requests read by a task and its responses awaited, so an event
    goes out from the loop that made it, with no thread in between."""

    async def call(requests: AsyncIterator[Any], rpc: Rpc) -> Any:
        context: Any = _LoopContext(rpc)  # the part of a ServicerContext the servicer uses
        try:
            stream = service._store.watch_stream()
        except EtcdError as exc:
            await _abort(rpc, _aborted(exc))
        answers = Answers(stream)
        failure: list[BaseException] = []

        async def read() -> None:
            try:
                async for request in requests:
                    service.serve_request(stream, answers, request, context)
            except (EtcdError, TypeError, ValueError) as exc:
                failure.append(exc)
                stream.close()
            except Exception:  # noqa: BLE001 - the call broke under the reader
                stream.close()

        reader = asyncio.ensure_future(read())
        try:
            while True:
                try:
                    response = await wait_async(answers)
                except (anyio.EndOfStream, anyio.ClosedResourceError):
                    break
                yield cv.watch_response_to_pb(response)
        finally:
            reader.cancel()
            stream.close()
        if failure:
            await _abort(rpc, _aborted(failure[0]))

    return call


def _aborted(exc: BaseException) -> Aborted:
    """The status ``exc`` ends a call with (re-raised if it is not a request's error)."""
    status = status_of(exc)
    if status is None:
        raise exc
    return Aborted(int(status[0].value[0]), status[1])


def _handler(
    servicer: object,
    service: str,
    m: MethodDescriptor,
    *,
    inline: frozenset[str],
    pool: concurrent.futures.Executor,
) -> grpc.RpcMethodHandler[Any, Any]:
    """The ``grpc.aio`` handler of one method of ``servicer`` (see the module docs). A request
    that is not streamed arrives as bytes and is decoded here, so that one that does not decode
    is answered as etcd answers it."""
    if isinstance(servicer, WatchService):
        return grpc.stream_stream_rpc_method_handler(
            _watch(servicer),
            request_deserializer=rpc_pb2.WatchRequest.FromString,
            response_serializer=rpc_pb2.WatchResponse.SerializeToString,
        )
    method = getattr(servicer, m.name)
    request_class = GetMessageClass(m.input_type)
    serialize = GetMessageClass(m.output_type).SerializeToString
    if m.client_streaming:
        behaviour = _streaming(method, request_class, pool, request_stream=True)
        return grpc.stream_stream_rpc_method_handler(
            behaviour, request_deserializer=request_class.FromString, response_serializer=serialize
        )
    if m.server_streaming:
        behaviour = _streaming(method, request_class, pool, request_stream=False)
        return grpc.unary_stream_rpc_method_handler(behaviour, response_serializer=serialize)
    if f"/{service}/{m.name}" in inline:
        unary = _on_loop(method, request_class)
    else:
        unary = _in_pool(method, request_class, pool)
    return grpc.unary_unary_rpc_method_handler(unary, response_serializer=serialize)


class LoopServer:
    """The gRPC server (:class:`~._h2.H2Server`) on an event loop in a thread of its own,
    driven synchronously.

    ``pool`` runs the calls that do not run on the loop; ``durable`` (the store has a data dir)
    keeps writes off the loop; ``receive_limit`` is the largest request message taken;
    ``handshake_timeout`` bounds a TLS handshake.
    """

    def __init__(
        self,
        *,
        pool: concurrent.futures.Executor,
        durable: bool,
        receive_limit: int,
        handshake_timeout: float,
    ) -> None:
        self._pool = pool
        self._inline = INLINE_READS if durable else INLINE_READS | INLINE_WRITES
        self._handshake_timeout = handshake_timeout
        self._ready: concurrent.futures.Future[asyncio.AbstractEventLoop] = (
            concurrent.futures.Future()
        )
        self._finished: asyncio.Future[None] | None = None
        self._terminated = threading.Event()
        self._thread = threading.Thread(target=self._run, name="etcdlite-grpc", daemon=True)
        self._thread.start()
        self._loop = self._ready.result()
        self._handlers: dict[str, Any] = {}
        self._server = H2Server(
            self._loop, self._handlers, self._inline, receive_limit=receive_limit
        )

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        finally:
            self._terminated.set()

    async def _main(self) -> None:
        loop = asyncio.get_running_loop()
        self._finished = loop.create_future()
        self._ready.set_result(loop)
        await self._finished

    def _call(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def add_services(self, services: Servicers) -> None:
        """Serve every service (and gRPC health) in front of ``services``."""
        for name, servicer in by_service(services).items():
            for m in _SERVICES[name].methods:
                self._handlers[f"/{name}/{m.name}"] = _handler(
                    servicer, name, m, inline=self._inline, pool=self._pool
                )

    def add_port(self, host: str, port: int, tls: ssl.SSLContext | None) -> int:
        """Listen on ``host:port`` (port 0: any free one); the port bound."""
        timeout = self._handshake_timeout
        return int(self._call(self._server.listen_tcp(host, port, tls, timeout)))

    def adopt(self, sock: socket.socket, tls: ssl.SSLContext | None) -> None:
        """Serve gRPC on ``sock``, a connection accepted elsewhere (nothing of it read)."""
        timeout = self._handshake_timeout
        try:
            asyncio.run_coroutine_threadsafe(self._server.adopt(sock, tls, timeout), self._loop)
        except RuntimeError:  # the loop has ended: the server stopped
            sock.close()

    def start(self) -> None:
        self._call(self._server.start_serving())

    def stop(self, grace: float | None) -> None:
        """Stop serving (the running calls end after ``grace`` seconds), end the loop."""
        if self._terminated.is_set():
            return
        try:
            self._call(self._server.stop(grace))
        finally:
            self._loop.call_soon_threadsafe(self._finish)
            self._thread.join()

    def _finish(self) -> None:
        if self._finished is not None and not self._finished.done():
            self._finished.set_result(None)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the server stops (or ``timeout``); whether it stopped."""
        return self._terminated.wait(timeout)
