"""etcdserverpb.KV: Range, Put, DeleteRange, Txn, Compact."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..._model import DeleteRangeResponse, PutResponse, RangeResponse, TxnResponse
from .. import _convert as cv
from .._pb import rpc_pb2
from .._status import translate

if TYPE_CHECKING:
    import grpc

    from ..._store import Store

__all__ = ("KVService",)


class KVService:
    """The KV service in front of a Store."""

    #: Whether a client certificate's CN names the caller (``--client-cert-auth``).
    client_cert_auth = False

    def __init__(self, store: Store) -> None:
        self._store = store

    @translate()
    def Range(self, request: rpc_pb2.RangeRequest, context: grpc.ServicerContext) -> object:
        r = self._store.do(cv.range_request_from_pb(request))
        assert isinstance(r, RangeResponse)
        return cv.range_response_to_pb(r)

    @translate()
    def Put(self, request: rpc_pb2.PutRequest, context: grpc.ServicerContext) -> object:
        r = self._store.do(cv.put_request_from_pb(request))
        assert isinstance(r, PutResponse)
        return cv.put_response_to_pb(r)

    @translate()
    def DeleteRange(
        self, request: rpc_pb2.DeleteRangeRequest, context: grpc.ServicerContext
    ) -> object:
        r = self._store.do(cv.delete_range_request_from_pb(request))
        assert isinstance(r, DeleteRangeResponse)
        return cv.delete_range_response_to_pb(r)

    @translate()
    def Txn(self, request: rpc_pb2.TxnRequest, context: grpc.ServicerContext) -> object:
        r = self._store.do(cv.txn_request_from_pb(request))
        assert isinstance(r, TxnResponse)
        return cv.txn_response_to_pb(r)

    @translate()
    def Compact(self, request: rpc_pb2.CompactionRequest, context: grpc.ServicerContext) -> object:
        r = self._store.compact(request.revision, physical=request.physical)
        return rpc_pb2.CompactionResponse(header=cv.header_to_pb(r.header))
