"""etcd's gRPC protocol in front of a :class:`etcdlite.Store` (extra ``grpc``).

Importing this package imports nothing heavy; :func:`serve` and :class:`Server` are loaded on
first use. The protocol modules live in the private ``etcdlite.server._pb`` package, generated
from ``proto/`` by ``scripts/gen_proto.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._server import Server as Server
    from ._server import serve as serve

__all__ = ("Server", "serve")


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import _server

        return getattr(_server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
