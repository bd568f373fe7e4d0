"""The response types of etcd's ``Maintenance`` service, frozen like the KV ones in
:mod:`etcdlite._model`.

>>> from etcdlite import ResponseHeader
>>> HashKVResponse(ResponseHeader(revision=4), hash=1562576432, compact_revision=-1).hash
1562576432
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from ._model import ResponseHeader

__all__ = ("HashKVResponse",)


@attrs.frozen(weakref_slot=False)
class HashKVResponse:
    """etcdserverpb.HashKVResponse: the CRC-32C of the key history up to the asked revision
    (``hash``, the same number etcd 3.4 computes for the same history) and the store's
    ``compact_revision`` (-1 if it was never compacted). The header is at the current revision.
    """

    header: ResponseHeader
    hash: int
    compact_revision: int
