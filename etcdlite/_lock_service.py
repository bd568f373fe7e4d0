"""etcd's lock and election services (``v3lock``, ``v3election``) over any client.

etcd serves ``Lock``/``Unlock`` and ``Campaign``/``Proclaim``/``Leader``/``Observe``/``Resign``
with an internal clientv3 and its ``concurrency`` package; these functions do the same with
:mod:`etcdlite.concurrency` over the :class:`~etcdlite._protocols.Client` protocol, and the
``Store`` methods of the same names delegate here. What the services add to the recipes:

* **the session**: each call makes one from the request's lease and orphans it at once
  (``NewSession(WithLease(lease))`` then ``Orphan()``): nobody keeps the lease alive. Lease 0
  grants a fresh 60 s lease, so a lock or candidacy taken with lease 0 ends after 60 s. The
  lease is not checked up front: an unknown one fails where it is used, with
  :class:`~etcdlite.errors.LeaseNotFoundError` from the put ("etcdserver: requested lease not
  found", which etcd's service sends with gRPC code Unknown since the error comes back through
  its internal client);
* **the answers**: ``Lock`` gives the key held, ``Campaign`` a :class:`~etcdlite.LeaderKey`
  (name, key, create revision, lease) to ``Proclaim`` and ``Resign`` with, which resume the
  election from it; ``Unlock`` is a plain delete of the key given, so it is idempotent.

>>> from etcdlite import Store
>>> store = Store()
>>> lease = store.grant(60, id=0x694D).id
>>> lock(store, "jobs", lease=lease).key
b'jobs/694d'
>>> unlock(store, b"jobs/694d").header.revision
3
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._model import to_bytes, to_int
from ._model_lease import (
    CampaignResponse,
    LeaderKey,
    LeaderResponse,
    LockResponse,
    ProclaimResponse,
    ResignResponse,
    UnlockResponse,
)
from .concurrency._election import Election, Observe, leader_of
from .concurrency._mutex import Mutex
from .concurrency._session import DEFAULT_SESSION_TTL

if TYPE_CHECKING:
    from ._protocols import Client

__all__ = (
    "SERVICE_SESSION_TTL",
    "acampaign",
    "alock",
    "campaign",
    "leader",
    "lock",
    "observe",
    "proclaim",
    "resign",
    "unlock",
)

#: The TTL of the lease etcd's services grant for a request with lease 0 (clientv3's default).
SERVICE_SESSION_TTL = DEFAULT_SESSION_TTL


class _OrphanSession:
    """A session as etcd's services make one: the request's lease, kept alive by nobody."""

    __slots__ = ("client", "lease")

    def __init__(self, client: Client, lease: int) -> None:
        self.client = client
        self.lease = lease or client.grant(SERVICE_SESSION_TTL).id


def _leader_key(leader: object) -> LeaderKey:
    if not isinstance(leader, LeaderKey):
        raise TypeError(f"leader must be a LeaderKey, not {type(leader).__name__}")
    return leader


# -- v3lock -----------------------------------------------------------------------------------


def _mutex(client: Client, name: str | bytes, lease: int) -> Mutex:
    name = to_bytes(name, "name")
    lease = to_int(lease, "lease")
    return Mutex(_OrphanSession(client, lease), name)


def _locked(mutex: Mutex) -> LockResponse:
    assert mutex.header is not None
    return LockResponse(mutex.header, mutex.key)


def lock(
    client: Client, name: str | bytes, *, lease: int = 0, timeout: float | None = None
) -> LockResponse:
    """etcd ``Lock``: block until the lock ``name`` is held with ``lease``; the key held."""
    mutex = _mutex(client, name, lease)
    mutex.lock(timeout)
    return _locked(mutex)


async def alock(client: Client, name: str | bytes, *, lease: int = 0) -> LockResponse:
    """:func:`lock`, waiting in the current task (asyncio or trio)."""
    mutex = _mutex(client, name, lease)
    await mutex.alock()
    return _locked(mutex)


def unlock(client: Client, key: str | bytes) -> UnlockResponse:
    """etcd ``Unlock``: delete ``key`` (idempotent)."""
    return UnlockResponse(client.delete(to_bytes(key, "key")).header)


# -- v3election -------------------------------------------------------------------------------


def _candidate(
    client: Client, name: str | bytes, value: str | bytes, lease: int
) -> tuple[Election, bytes, bytes]:
    name = to_bytes(name, "name")
    value = to_bytes(value, "value")
    lease = to_int(lease, "lease")
    return Election(_OrphanSession(client, lease), name), name, value


def _elected(election: Election, name: bytes) -> CampaignResponse:
    assert election.header is not None
    leader = LeaderKey(name, election.key, election.rev, election.session.lease)
    return CampaignResponse(election.header, leader)


def campaign(
    client: Client,
    name: str | bytes,
    value: str | bytes,
    *,
    lease: int = 0,
    timeout: float | None = None,
) -> CampaignResponse:
    """etcd ``Campaign``: block until elected in ``name`` with ``value``; the leadership."""
    election, name, value = _candidate(client, name, value, lease)
    election.campaign(value, timeout)
    return _elected(election, name)


async def acampaign(
    client: Client, name: str | bytes, value: str | bytes, *, lease: int = 0
) -> CampaignResponse:
    """:func:`campaign`, waiting in the current task (asyncio or trio)."""
    election, name, value = _candidate(client, name, value, lease)
    await election.acampaign(value)
    return _elected(election, name)


def _resumed(client: Client, leader: LeaderKey) -> Election:
    session = _OrphanSession(client, leader.lease)
    return Election.resume(session, leader.name, leader.key, leader.rev)


def proclaim(client: Client, leader: LeaderKey, value: str | bytes) -> ProclaimResponse:
    """etcd ``Proclaim``: the leader ``leader`` publishes ``value`` (attached to its lease).

    Raises ``ElectionNotLeaderError`` when ``leader`` no longer holds the election.
    """
    leader = _leader_key(leader)
    value = to_bytes(value, "value")
    election = _resumed(client, leader)
    election.proclaim(value)
    assert election.header is not None
    return ProclaimResponse(election.header)


def leader(client: Client, name: str | bytes) -> LeaderResponse:
    """etcd ``Leader``: the leader's key-value, or ``ElectionNoLeaderError``."""
    return leader_of(client, to_bytes(name, "name") + b"/")


def observe(client: Client, name: str | bytes) -> Observe:
    """etcd ``Observe``: a stream of the leadership of ``name``."""
    return Observe(client, to_bytes(name, "name") + b"/")


def resign(client: Client, leader: LeaderKey) -> ResignResponse:
    """etcd ``Resign``: delete the leader key if it is still ``leader``'s (else nothing)."""
    leader = _leader_key(leader)
    election = _resumed(client, leader)
    election.resign()
    assert election.header is not None
    return ResignResponse(election.header)
