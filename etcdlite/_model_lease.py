"""The response types of leases, locks and elections (etcd's ``Lease``, ``v3lockpb`` and
``v3electionpb`` messages), frozen like the KV ones in :mod:`etcdlite._model`.

Field names follow etcd's protobuf fields in snake_case (``ID`` is ``id``, ``TTL`` is ``ttl``,
``grantedTTL`` is ``granted_ttl``).

>>> LeaderKey(name=b"e", key=b"e/694d", rev=5, lease=0x694d)
LeaderKey(name=b'e', key=b'e/694d', rev=5, lease=26957)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from ._model_repr import response_repr

if TYPE_CHECKING:
    from ._model import KeyValue, ResponseHeader

__all__ = (
    "CampaignResponse",
    "LeaderKey",
    "LeaderResponse",
    "LeaseGrantResponse",
    "LeaseKeepAliveResponse",
    "LeaseLeasesResponse",
    "LeaseRevokeResponse",
    "LeaseStatus",
    "LeaseTimeToLiveResponse",
    "LockResponse",
    "ProclaimResponse",
    "ResignResponse",
    "UnlockResponse",
)


@attrs.frozen(weakref_slot=False)
class LeaseGrantResponse:
    """etcdserverpb.LeaseGrantResponse: the lease's ``id`` and the ``ttl`` the store chose."""

    header: ResponseHeader
    id: int
    ttl: int

    __repr__ = response_repr


@attrs.frozen(weakref_slot=False)
class LeaseRevokeResponse:
    """etcdserverpb.LeaseRevokeResponse: the header at the revision that deleted its keys."""

    header: ResponseHeader

    __repr__ = response_repr


@attrs.frozen(weakref_slot=False)
class LeaseKeepAliveResponse:
    """etcdserverpb.LeaseKeepAliveResponse: the lease renewed for ``ttl`` (its granted TTL)."""

    header: ResponseHeader
    id: int
    ttl: int

    __repr__ = response_repr


@attrs.frozen(weakref_slot=False)
class LeaseTimeToLiveResponse:
    """etcdserverpb.LeaseTimeToLiveResponse.

    ``ttl`` is the remaining time in whole seconds (rounded down), -1 for a lease that does not
    exist (not an error, as in etcd); ``granted_ttl`` the TTL it was granted with; ``keys`` the
    attached keys, sorted, when asked for.
    """

    header: ResponseHeader
    id: int
    ttl: int
    granted_ttl: int
    keys: tuple[bytes, ...] = ()

    __repr__ = response_repr


@attrs.frozen(weakref_slot=False)
class LeaseStatus:
    """etcdserverpb.LeaseStatus: one lease of :class:`LeaseLeasesResponse`."""

    id: int

    __repr__ = response_repr


@attrs.frozen(weakref_slot=False)
class LeaseLeasesResponse:
    """etcdserverpb.LeaseLeasesResponse: every live lease."""

    header: ResponseHeader
    leases: tuple[LeaseStatus, ...]

    __repr__ = response_repr


@attrs.frozen(weakref_slot=False)
class LockResponse:
    """v3lockpb.LockResponse: ``key`` is the lock key held (``name/<lease in hex>``)."""

    header: ResponseHeader
    key: bytes

    __repr__ = response_repr


@attrs.frozen(weakref_slot=False)
class UnlockResponse:
    """v3lockpb.UnlockResponse."""

    header: ResponseHeader

    __repr__ = response_repr


@attrs.frozen(weakref_slot=False)
class LeaderKey:
    """v3electionpb.LeaderKey: what identifies a leadership, to proclaim or resign with."""

    name: bytes
    key: bytes
    rev: int
    lease: int


@attrs.frozen(weakref_slot=False)
class CampaignResponse:
    """v3electionpb.CampaignResponse: the leadership won."""

    header: ResponseHeader
    leader: LeaderKey

    __repr__ = response_repr


@attrs.frozen(weakref_slot=False)
class ProclaimResponse:
    """v3electionpb.ProclaimResponse."""

    header: ResponseHeader

    __repr__ = response_repr


@attrs.frozen(weakref_slot=False)
class LeaderResponse:
    """v3electionpb.LeaderResponse: the leader's key-value (its value is what it proclaimed)."""

    header: ResponseHeader
    kv: KeyValue

    __repr__ = response_repr


@attrs.frozen(weakref_slot=False)
class ResignResponse:
    """v3electionpb.ResignResponse."""

    header: ResponseHeader

    __repr__ = response_repr
