"""etcdlite's API over a real etcd cluster (extra ``grpc``): :func:`connect`.

``etcdlite.connect(endpoint)`` returns a :class:`Client` with the method names, signatures,
response types and exceptions of :class:`etcdlite.Store`, speaking etcd's gRPC API. It is what a
program switches to when one process is not enough; code written against the Store (and
:mod:`etcdlite.concurrency`) runs on it unchanged.

Importing this package imports nothing heavy: grpc and the protocol modules are loaded on first
use of :func:`connect` or :class:`Client`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._client import Client as Client
    from ._client import connect as connect
    from ._rpc import RemoteError as RemoteError

__all__ = ("Client", "RemoteError", "connect")


def __getattr__(name: str) -> Any:
    if name in ("Client", "connect"):
        from . import _client

        return getattr(_client, name)
    if name == "RemoteError":
        from ._rpc import RemoteError

        return RemoteError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
