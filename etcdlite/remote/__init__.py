"""etcdlite's API over a real etcd cluster (extra ``grpc``): :func:`connect`.

``etcdlite.connect(endpoints)`` returns a :class:`Client` with the method names, signatures,
response types and exceptions of :class:`etcdlite.Store`, speaking etcd's gRPC API to one or
more endpoints (it moves to the next when one stops answering). It is what a program switches
to when one process is not enough; code written against the Store (and
:mod:`etcdlite.concurrency`) runs on it unchanged. The cluster calls a Store does not have
answer with :class:`Member` and the ``Member*Response`` types. :class:`TLS` says which
certificates a TLS connection trusts and shows (``connect(url, tls=TLS(...))``).

Importing this package imports nothing heavy: grpc and the protocol modules are loaded on first
use of :func:`connect` or :class:`Client`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._client import Client as Client
    from ._client import connect as connect
    from ._convert import Member as Member
    from ._convert import MemberAddResponse as MemberAddResponse
    from ._convert import MemberListResponse as MemberListResponse
    from ._convert import MemberPromoteResponse as MemberPromoteResponse
    from ._convert import MemberRemoveResponse as MemberRemoveResponse
    from ._convert import MemberUpdateResponse as MemberUpdateResponse
    from ._rpc import RemoteError as RemoteError
    from ._tls import TLS as TLS

__all__ = (
    "TLS",
    "Client",
    "Member",
    "MemberAddResponse",
    "MemberListResponse",
    "MemberPromoteResponse",
    "MemberRemoveResponse",
    "MemberUpdateResponse",
    "RemoteError",
    "connect",
)

_HOMES = {"Client": "_client", "connect": "_client", "RemoteError": "_rpc", "TLS": "_tls"}


def __getattr__(name: str) -> Any:
    if name in __all__:
        import importlib

        module = importlib.import_module(f".{_HOMES.get(name, '_convert')}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
