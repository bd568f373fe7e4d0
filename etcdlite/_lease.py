"""The lessor: leases, their deadlines and the keys attached to them (etcd's lease/lessor.go).

A lease has an id, the TTL it was granted with and a deadline on the store's clock. Keys attach
to it by being written with ``lease=id``; a later write of the key with another lease (or none)
moves or detaches it, and deleting the key detaches it. The :class:`Lessor` tracks that from
the records every commit writes (:meth:`Lessor.track`), so it needs no hook in the write paths
beyond one call per commit. It never deletes anything itself: when a lease is revoked or its
deadline passes, the store deletes the attached keys (all at one revision) and then
:meth:`Lessor.remove`\\ s it.

Deadlines sit in a heap of ``(deadline, id)`` entries; renewing a lease pushes a new entry and
leaves the old one to be skipped when it surfaces (the lease's own deadline decides), so a
renewal costs O(log n) and the heap holds a few entries per lease at most.

    >>> from etcdlite._model import new_key_value
    >>> lessor = Lessor(min_ttl=2)
    >>> lease = lessor.grant(7, 1, now=100.0)       # TTL 1 is raised to the minimum
    >>> lease.ttl, lease.deadline
    (2, 102.0)
    >>> lessor.track([new_key_value(b"k", 2, 2, 1, b"v", 7)])
    >>> sorted(lessor.leases[7].keys), lessor.expired(101.9), lessor.expired(102.0)
    ([b'k'], [], [7])
"""

from __future__ import annotations

import heapq
import itertools
import time
from typing import TYPE_CHECKING

from .errors import LeaseExistsError, LeaseNotFoundError, LeaseTTLTooLargeError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ._model import KeyValue

__all__ = ("DEFAULT_MIN_TTL", "MAX_TTL", "LeaseState", "Lessor")

#: etcd's minimum TTL: ceil(1.5 x the 1 s default election timeout) = 2 s.
DEFAULT_MIN_TTL = 2
#: etcd's ``MaxLeaseTTL``: a larger TTL gives "etcdserver: too large lease TTL".
MAX_TTL = 9_000_000_000


class LeaseState:
    """One lease: its id, granted TTL, deadline and attached keys."""

    __slots__ = ("deadline", "id", "keys", "ttl")

    def __init__(self, lease_id: int, ttl: int, deadline: float) -> None:
        self.id = lease_id
        self.ttl = ttl
        self.deadline = deadline
        self.keys: set[bytes] = set()

    def remaining(self, now: float) -> int:
        """Whole seconds left, rounded down as etcd's ``TimeToLive`` reports them."""
        return int(self.deadline - now)

    def __repr__(self) -> str:
        return f"<LeaseState {self.id:x} ttl={self.ttl} deadline={self.deadline} keys={len(self.keys)}>"


def _id_counter(member_id: int) -> itertools.count[int]:
    """Server-chosen ids as etcd makes them: the member's low 16 bits, then a millisecond
    timestamp (40 bits) and an 8-bit counter, incremented per id."""
    millis = time.time_ns() // 1_000_000
    start = ((member_id & 0xFFFF) << 48) | ((millis & ((1 << 40) - 1)) << 8)
    return itertools.count(start + 1)


class Lessor:
    """All leases, the key -> lease attachments and the deadline heap (no lock: the store's)."""

    __slots__ = ("_heap", "_ids", "attached", "leases", "min_ttl")

    def __init__(self, *, min_ttl: int = DEFAULT_MIN_TTL, member_id: int = 0) -> None:
        self.min_ttl = min_ttl
        #: id -> lease, for every live lease.
        self.leases: dict[int, LeaseState] = {}
        #: key -> the id of the lease the key's live record carries.
        self.attached: dict[bytes, int] = {}
        self._heap: list[tuple[float, int]] = []
        self._ids = _id_counter(member_id)

    # -- grant, renew, revoke ---------------------------------------------------------------

    def next_id(self) -> int:
        """A fresh positive id that no live lease has (etcd's request-id generator)."""
        while True:
            lease_id = next(self._ids) & ((1 << 63) - 1)
            if lease_id and lease_id not in self.leases:
                return lease_id

    def grant(self, lease_id: int, ttl: int, now: float) -> LeaseState:
        """A new lease (``lease_id`` 0 is refused: the caller picks with :meth:`next_id`).

        The TTL is raised to ``min_ttl``. Raises ``LeaseTTLTooLargeError`` above
        :data:`MAX_TTL`, then ``LeaseExistsError`` for an id in use, in etcd's order.
        """
        if lease_id == 0:
            raise LeaseNotFoundError()
        if ttl > MAX_TTL:
            raise LeaseTTLTooLargeError()
        if lease_id in self.leases:
            raise LeaseExistsError()
        ttl = max(ttl, self.min_ttl)
        lease = self.leases[lease_id] = LeaseState(lease_id, ttl, now + ttl)
        heapq.heappush(self._heap, (lease.deadline, lease_id))
        return lease

    def get(self, lease_id: int) -> LeaseState:
        """The live lease ``lease_id``, or ``LeaseNotFoundError``."""
        try:
            return self.leases[lease_id]
        except KeyError:
            raise LeaseNotFoundError() from None

    def renew(self, lease_id: int, now: float) -> LeaseState:
        """Push the lease's deadline to ``now + ttl``; ``LeaseNotFoundError`` if it is gone."""
        lease = self.get(lease_id)
        lease.deadline = now + lease.ttl
        heapq.heappush(self._heap, (lease.deadline, lease_id))
        return lease

    def remove(self, lease_id: int) -> LeaseState:
        """Forget a lease whose keys the store has deleted (revoke or expiry)."""
        lease = self.leases.pop(lease_id)
        assert not lease.keys, "revoke the keys before the lease"
        return lease

    # -- deadlines ----------------------------------------------------------------------------

    def expired(self, now: float) -> list[int]:
        """The ids of the live leases whose deadline is ``now`` or earlier, earliest first.

        They stay live until :meth:`remove`; stale heap entries are dropped on the way.
        """
        heap = self._heap
        due: list[int] = []
        seen: set[int] = set()
        while heap and heap[0][0] <= now:
            _, lease_id = heapq.heappop(heap)
            lease = self.leases.get(lease_id)
            if lease is None or lease_id in seen:
                continue
            if lease.deadline <= now:  # else a renewal pushed its own, later entry
                due.append(lease_id)
                seen.add(lease_id)
        for lease_id in due:  # still live until removed: keep them findable
            heapq.heappush(heap, (self.leases[lease_id].deadline, lease_id))
        return due

    def next_deadline(self) -> float | None:
        """The earliest deadline in the heap (maybe a stale one: firing early is harmless)."""
        heap = self._heap
        while heap:
            deadline, lease_id = heap[0]
            lease = self.leases.get(lease_id)
            if lease is not None and lease.deadline == deadline:
                return deadline
            heapq.heappop(heap)
        return None

    # -- attachments --------------------------------------------------------------------------

    def track(self, changes: Iterable[KeyValue]) -> None:
        """Follow one commit's records: each key now belongs to its record's lease (or none).

        Records come in write order, so a key deleted and rewritten in one txn ends attached
        to its last record's lease. Tombstones carry lease 0 and detach.
        """
        attached = self.attached
        leases = self.leases
        for kv in changes:
            key = kv.key
            new = kv.lease
            old = attached.get(key, 0)
            if old == new:
                continue
            if old:
                leases[old].keys.discard(key)
            if new:
                leases[new].keys.add(key)
                attached[key] = new
            else:
                del attached[key]

    def detach(self, key: bytes) -> None:
        """Detach ``key`` from its lease (the store's fast put path, for a key that had one)."""
        lease_id = self.attached.pop(key, 0)
        if lease_id:
            self.leases[lease_id].keys.discard(key)

    # -- invariants ---------------------------------------------------------------------------

    def _check(self, live: dict[bytes, int] | None = None) -> None:
        """Attachments agree both ways; every lease has a heap entry at its deadline.

        ``live`` (key -> lease of its live record, for leased keys) adds the check that the
        attachments are exactly the store's.
        """
        for key, lease_id in self.attached.items():
            assert lease_id in self.leases, (key, lease_id)
            assert key in self.leases[lease_id].keys, (key, lease_id)
        for lease_id, lease in self.leases.items():
            assert lease.id == lease_id
            assert lease.ttl >= self.min_ttl
            for key in lease.keys:
                assert self.attached.get(key) == lease_id, (key, lease_id)
        entries = set(self._heap)
        for lease in self.leases.values():
            assert (lease.deadline, lease.id) in entries, lease
        if live is not None:
            assert live == self.attached, (live, self.attached)
