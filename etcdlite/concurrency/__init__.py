"""clientv3's ``concurrency`` package and etcd's recipes, over any etcdlite client.

Everything here uses only the public calls of :mod:`etcdlite._protocols` (get, put, delete,
txn, watch and leases), so it runs the same over an in-process :class:`~etcdlite.Store` and
over a real etcd cluster.
"""

from __future__ import annotations

from ._session import Session as Session

__all__ = ("Session",)
