"""Random lease histories on a Store and a FakeClock, checked against a tiny model of deadlines.

Each step is one of: grant (server-chosen or explicit id, TTLs around the 2 s minimum), put with
a lease (live, expired or never granted), put without one (plain, ``prev_kv``, ``ignore_lease``),
delete, ``keep_alive_once``, revoke, opening or closing a keep-alive stream, and advancing the
clock (by steps of all sizes, or to just before or exactly at a lease's deadline). The model
knows only what etcd promises (SEMANTICS 5, "Lease guarantees"): a lease lives until its TTL
has passed since its grant or last renewal, a keep-alive stream renews at once and then every
third of the TTL, and a lease's end (revoke or expiry) deletes all its keys at one revision.

After every step, before any lease call (which could catch up with a late timer itself): the
revision, every key and its ``lease`` field are the model's; then no lease outlived its
deadline and none ended before it (``leases()``), every lease's remaining TTL (rounded down),
granted TTL and keys are the model's, each stream is open exactly while the model's is, and
``store._check()`` passes. At the end the watch history shows each lease's end as one revision
of DELETE events in key order, and closing the store leaves no clock timer.

``pytest tests/test_lease_hypothesis.py`` runs the quick profile (a couple of seconds);
``pytest -m slow tests/test_lease_hypothesis.py`` the long one (``ETCDLITE_LEASE_EXAMPLES`` and
``ETCDLITE_LEASE_STEPS`` change its size).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from etcdlite import EventType, Store
from etcdlite.errors import (
    EtcdError,
    KeyNotFoundError,
    LeaseExistsError,
    LeaseNotFoundError,
    LeaseTTLTooLargeError,
)
from etcdlite.testing import FakeClock

if TYPE_CHECKING:
    from etcdlite import KeepAlive

MIN_TTL = 2
MAX_TTL = 9_000_000_000
KEYS = (b"a", b"b", b"c", b"d")
#: Explicit ids (a negative one too: etcd allows it); 0 asks for a server-chosen id.
IDS = (1, 2, 3, -4)
TTLS = (-1, 0, 1, 2, 3, 4, 5, 9, 10, 30, MAX_TTL + 1)
#: Clock steps: binary fractions, and others that are not (so deadlines are not all exact).
STEPS = (2.0**-10, 0.1, 0.25, 1 / 3, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 7.0, 10.0, 31.0)
#: Where the clock starts (0 included: nothing may assume time is large, or starts at 0).
STARTS = (0.0, 0.1, 1000.0, 123456.789)


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


#: Every run: quick (a couple of seconds).
QUICK = settings(max_examples=100, stateful_step_count=40, deadline=None, print_blob=True)
#: ``-m slow``: many longer histories.
LONG = settings(
    max_examples=_env_int("ETCDLITE_LEASE_EXAMPLES", 2000),
    stateful_step_count=_env_int("ETCDLITE_LEASE_STEPS", 60),
    deadline=None,
    print_blob=True,
)


@dataclass
class ModelLease:
    """What the model knows of a lease: granted TTL, deadline and keys."""

    ttl: int
    deadline: float
    keys: set[bytes] = field(default_factory=set)


@dataclass
class ModelStream:
    """An open keep-alive stream: its lease and when it renews next."""

    ka: KeepAlive
    lease: int
    next_renewal: float


class LeaseMachine(RuleBasedStateMachine):
    """The Store against a model of deadlines, one random step at a time."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock(STARTS[0])
        self.store = Store(clock=self.clock)
        self.now = STARTS[0]
        self.revision = 1
        self.leases: dict[int, ModelLease] = {}
        #: key -> the lease its live record carries (0: none).
        self.keys: dict[bytes, int] = {}
        self.streams: list[ModelStream] = []
        self.closed: list[KeepAlive] = []
        #: Every id a lease ever had (to try puts, renewals and revokes with ended leases).
        self.ever: set[int] = set()
        #: (revision, keys) of every lease end that deleted keys.
        self.ends: list[tuple[int, tuple[bytes, ...]]] = []

    # -- the model --------------------------------------------------------------------------

    def _end(self, lease_id: int, how: str) -> None:
        """A lease ends (revoke or expiry): its keys go at one revision, its streams stop."""
        lease = self.leases.pop(lease_id)
        event(f"{how}: {'with' if lease.keys else 'without'} keys")
        if lease.keys:
            self.revision += 1
            self.ends.append((self.revision, tuple(sorted(lease.keys))))
            for key in lease.keys:
                del self.keys[key]
        for s in [s for s in self.streams if s.lease == lease_id]:
            self.streams.remove(s)
            self.closed.append(s.ka)

    def _attach(self, key: bytes, lease_id: int) -> None:
        old = self.keys.get(key, 0)
        if old:
            self.leases[old].keys.discard(key)
        if lease_id:
            self.leases[lease_id].keys.add(key)
        self.keys[key] = lease_id

    def _advance_model(self, target: float) -> None:
        """Renewals and expiries up to ``target``, in time order (renewals first at a tie:
        a stream renews strictly before its lease's deadline anyway)."""
        while True:
            renewal = min(self.streams, key=lambda s: s.next_renewal, default=None)
            due = min(
                ((lease.deadline, i) for i, lease in self.leases.items()),
                default=None,
            )
            if (
                renewal is not None
                and renewal.next_renewal <= target
                and (due is None or renewal.next_renewal <= due[0])
            ):
                at = renewal.next_renewal
                lease = self.leases[renewal.lease]
                lease.deadline = at + lease.ttl
                renewal.next_renewal = at + lease.ttl / 3
                continue
            if due is not None and due[0] <= target:
                self._end(due[1], "expiry")
                continue
            break
        self.now = target

    # -- rules ------------------------------------------------------------------------------

    def _lease_choice(self) -> st.SearchStrategy[int]:
        """A lease id: mostly a live one, else one that ended or was never granted."""
        others = st.sampled_from(sorted({*self.ever, 99} - set(self.leases)))
        if not self.leases:
            return others
        live = st.sampled_from(sorted(self.leases))
        return st.one_of(live, live, live, others)

    @initialize(start=st.sampled_from(STARTS))
    def start(self, start: float) -> None:
        """Start the clock somewhere (a fresh store on it)."""
        self.store.close()
        self.clock = FakeClock(start)
        self.store = Store(clock=self.clock)
        self.now = start

    @rule(ttl=st.sampled_from(TTLS), id_=st.sampled_from((0, 0, *IDS)))
    def grant(self, ttl: int, id_: int) -> None:
        """Grant a lease (now and then with a too large TTL)."""
        if ttl > MAX_TTL:
            with pytest.raises(LeaseTTLTooLargeError):
                self.store.grant(ttl, id=id_)
            event("grant: too large")
            return
        if id_ in self.leases:
            with pytest.raises(LeaseExistsError):
                self.store.grant(ttl, id=id_)
            event("grant: exists")
            return
        resp = self.store.grant(ttl, id=id_)
        if id_ == 0:
            assert resp.id > 0
            assert resp.id not in self.leases
        else:
            assert resp.id == id_
        granted = max(ttl, MIN_TTL)
        assert resp.ttl == granted
        self.leases[resp.id] = ModelLease(granted, self.now + granted)
        self.ever.add(resp.id)
        event("grant: ok")

    @rule(key=st.sampled_from(KEYS), data=st.data())
    def put_with_lease(self, key: bytes, data: st.DataObject) -> None:
        """Put a key with a lease: live (attach or move), or ended or unknown (refused)."""
        lease_id = data.draw(self._lease_choice())
        if lease_id not in self.leases:
            with pytest.raises(LeaseNotFoundError):
                self.store.put(key, b"v", lease=lease_id)
            event("put with lease: not found")
            return
        self.store.put(key, b"v", lease=lease_id)
        self.revision += 1
        self._attach(key, lease_id)
        event("put with lease: ok")

    @rule(key=st.sampled_from(KEYS), how=st.sampled_from(("plain", "prev_kv", "ignore_lease")))
    def put_without_lease(self, key: bytes, how: str) -> None:
        """Put a key without a lease (detaches it), or with ignore_lease (keeps its lease)."""
        if how == "ignore_lease":
            if key not in self.keys:
                with pytest.raises(KeyNotFoundError):
                    self.store.put(key, b"w", ignore_lease=True)
                return
            self.store.put(key, b"w", ignore_lease=True)
            self.revision += 1
        else:
            self.store.put(key, b"w", prev_kv=how == "prev_kv")
            self.revision += 1
            self._attach(key, 0)
        event(f"put without lease: {how}")

    @rule(key=st.sampled_from((*KEYS, b"")))
    def delete(self, key: bytes) -> None:
        """Delete one key, or (empty key) every key: detaches them."""
        if key:
            self.store.delete(key)
            doomed = [key] if key in self.keys else []
        else:
            self.store.delete(b"\0", from_key=True)
            doomed = list(self.keys)
        for k in doomed:
            self._attach(k, 0)
            del self.keys[k]
        if doomed:
            self.revision += 1

    @rule(data=st.data())
    def keep_alive_once(self, data: st.DataObject) -> None:
        """Renew a lease once: its deadline becomes now + TTL."""
        lease_id = data.draw(self._lease_choice())
        if lease_id not in self.leases:
            with pytest.raises(LeaseNotFoundError):
                self.store.keep_alive_once(lease_id)
            return
        lease = self.leases[lease_id]
        assert self.store.keep_alive_once(lease_id).ttl == lease.ttl
        lease.deadline = self.now + lease.ttl
        event("keep_alive_once: ok")

    @rule(data=st.data())
    def revoke(self, data: st.DataObject) -> None:
        """Revoke a lease: its keys go at one revision (none without keys)."""
        lease_id = data.draw(self._lease_choice())
        if lease_id not in self.leases:
            with pytest.raises(LeaseNotFoundError):
                self.store.revoke(lease_id)
            return
        self._end(lease_id, "revoke")
        assert self.store.revoke(lease_id).header.revision == self.revision

    @precondition(lambda self: len(self.streams) < 4)
    @rule(data=st.data())
    def open_stream(self, data: st.DataObject) -> None:
        """Open a keep-alive stream: it renews now, then every third of the TTL."""
        lease_id = data.draw(self._lease_choice())
        if lease_id not in self.leases:
            with pytest.raises(LeaseNotFoundError):
                self.store.keep_alive(lease_id)
            return
        lease = self.leases[lease_id]
        ka = self.store.keep_alive(lease_id)
        lease.deadline = self.now + lease.ttl
        self.streams.append(ModelStream(ka, lease_id, self.now + lease.ttl / 3))
        event("keep_alive stream: opened")

    @precondition(lambda self: self.streams)
    @rule(data=st.data())
    def close_stream(self, data: st.DataObject) -> None:
        """Close an open stream: its lease is no longer renewed by it."""
        s = data.draw(st.sampled_from(self.streams))
        self.streams.remove(s)
        s.ka.close()
        self.closed.append(s.ka)
        event("keep_alive stream: closed")

    @rule(step=st.sampled_from(STEPS), times=st.integers(1, 3))
    def advance(self, step: float, times: int) -> None:
        """Move the clock forward by a step (a few times)."""
        for _ in range(times):
            self._advance_model(self.now + step)
            self.clock.advance(step)

    @precondition(lambda self: self.leases)
    @rule(data=st.data(), exact=st.booleans())
    def advance_to_deadline(self, data: st.DataObject, exact: bool) -> None:
        """Move the clock to a lease's deadline, or to just before it."""
        lease_id = data.draw(st.sampled_from(sorted(self.leases)))
        step = self.leases[lease_id].deadline - self.now
        if not exact:
            step -= min(2.0**-10, step / 2)
        self._advance_model(self.now + step)
        self.clock.advance(step)
        event(f"advance to deadline: {'exactly' if exact else 'just before'}")

    # -- checks -----------------------------------------------------------------------------

    @invariant()
    def model_matches(self) -> None:
        """First without any lease call (a lease ends by the clock alone, exactly at its
        deadline): the revision and every key's lease are the model's. Then the live leases,
        soonest first, and each one's remaining TTL, granted TTL and keys."""
        assert self.clock.now() == self.now
        assert self.store.revision == self.revision
        kvs = self.store.get(b"\0", from_key=True).kvs
        assert {kv.key: kv.lease for kv in kvs} == self.keys
        listed = [s.id for s in self.store.leases().leases]
        assert sorted(listed) == sorted(self.leases)
        deadlines = [self.leases[i].deadline for i in listed]
        assert deadlines == sorted(deadlines)
        for lease_id, lease in self.leases.items():
            assert lease.deadline > self.now
            r = self.store.time_to_live(lease_id, keys=True)
            assert (r.ttl, r.granted_ttl, r.keys) == (
                int(lease.deadline - self.now),
                lease.ttl,
                tuple(sorted(lease.keys)),
            )
        for lease_id in self.ever - set(self.leases):
            assert self.store.time_to_live(lease_id).ttl == -1
        assert self.store.revision == self.revision

    @invariant()
    def streams_match(self) -> None:
        """A stream is open exactly while the model's is."""
        assert all(not s.ka.closed for s in self.streams)
        assert all(ka.closed for ka in self.closed)

    @invariant()
    def core_invariants_hold(self) -> None:
        """The store's own invariants (the lessor's attachments are the keys' leases)."""
        self.store._check()

    def teardown(self) -> None:
        """Each lease end is one revision of DELETE events, in key order; closing the store
        leaves no timer."""
        try:
            if self.ends:
                history = self.store.history(b"\0", from_key=True, start_revision=2)
                for rev, keys in self.ends:
                    at = [e for e in history if e.kv.mod_revision == rev]
                    assert [e.type for e in at] == [EventType.DELETE] * len(keys)
                    assert tuple(e.kv.key for e in at) == keys
        finally:
            self.store.close()
        assert self.clock.pending() == 0


class TestLeaseDeadlines(LeaseMachine.TestCase):  # type: ignore[misc,valid-type]
    """Random lease histories keep etcd's lease guarantees on the fake clock."""

    settings = QUICK


@pytest.mark.slow
@pytest.mark.timeout(0)
class TestLeaseDeadlinesLong(LeaseMachine.TestCase):  # type: ignore[misc,valid-type]
    """Many longer random lease histories keep etcd's lease guarantees."""

    settings = LONG


def test_model_errors_are_etcd_errors() -> None:
    """The errors the machine expects are etcd's (so a TypeError can never pass for one)."""
    for cls in (KeyNotFoundError, LeaseExistsError, LeaseNotFoundError, LeaseTTLTooLargeError):
        assert issubclass(cls, EtcdError)
