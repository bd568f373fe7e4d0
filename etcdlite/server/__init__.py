"""etcd's gRPC protocol and JSON gateway in front of a :class:`etcdlite.Store` (extra ``grpc``).

Importing this package imports nothing heavy; the protocol modules live in the private
``etcdlite.server._pb`` package, generated from ``proto/`` by ``scripts/gen_proto.py``.
"""

from __future__ import annotations
