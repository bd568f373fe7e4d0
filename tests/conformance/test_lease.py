"""Leases (SEMANTICS 2.2 put with lease, 2.7 Lease, 5 "Lease guarantees") against real etcd 3.4.

Each test plays a scenario on a Store and, on the ``etcd`` backend, on a fresh etcd as well,
requiring the same answers call by call. The harness's recorder notes the KV calls; the lease
calls go through :class:`Leases`, which notes them in the same transcript after three
normalizations: a server-chosen lease id becomes its rank among the scenario's server-chosen
grants (``LeaseRef``), the keys of a ``time_to_live`` answer are sorted (etcd lists them in Go
map order, which is random; the Store sorts them), and a remaining TTL within two seconds of the
granted one is recorded as such (``Remaining``), since wall time passes differently on the two
backends. Every TTL here is at least 60 s, so wall time never decides an outcome.

etcd's minimum TTL is ceil(1.5 x election timeout): 2 s with etcd's defaults, but 1 s under the
suite's fast election flags (``--election-timeout=100``). The tests of the TTL chosen run both
ways: a Store with ``min_lease_ttl=1`` against the suite's etcd, and a default Store against an
etcd started with the default election timeout.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

import attrs
import pytest

import etcdlite
from etcdlite import (
    Compare,
    Event,
    EventType,
    KeyValue,
    LeaseGrantResponse,
    LeaseKeepAliveResponse,
    LeaseLeasesResponse,
    LeaseRevokeResponse,
    LeaseTimeToLiveResponse,
    Op,
    Store,
)
from etcdlite.errors import (
    EtcdError,
    KeyNotFoundError,
    LeaseExistsError,
    LeaseNotFoundError,
    LeaseTTLTooLargeError,
)

from ._etcd import running_etcd
from ._gateway import EtcdKV
from ._harness import Recorder, exact, normalize, run_differential, run_recorded
from .divergences import divergence

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from ._harness import KVBackend
    from .conftest import Differential

T = TypeVar("T")

NOT_FOUND = "etcdserver: requested lease not found"
#: etcd's default election timeout (ms), for an etcd whose minimum lease TTL is etcd's 2 s.
DEFAULT_ELECTION_FLAGS = ("--election-timeout=1000",)
#: Explicit lease ids (the same on both backends, so KV calls carrying them compare as they are).
A, B, C = 0x1A, 0x1B, 0x1C


class LeaseBackend(Protocol):
    """The lease calls (and ``history``) that ``Store`` and ``EtcdKV`` share."""

    def grant(self, ttl: int, *, id: int = ...) -> LeaseGrantResponse: ...

    def revoke(self, id: int) -> LeaseRevokeResponse: ...

    def time_to_live(self, id: int, *, keys: bool = ...) -> LeaseTimeToLiveResponse: ...

    def leases(self) -> LeaseLeasesResponse: ...

    def keep_alive_once(self, id: int) -> LeaseKeepAliveResponse: ...

    def history(
        self,
        key: str | bytes,
        *,
        range_end: str | bytes | None = ...,
        prefix: bool = ...,
        from_key: bool = ...,
        start_revision: int = ...,
        end_revision: int = ...,
        prev_kv: bool = ...,
    ) -> tuple[Event, ...]: ...


# --------------------------------------------------------------------------- recording


@dataclass(frozen=True)
class LeaseRef:
    """A server-chosen lease id in a transcript: the ``n``-th server-chosen grant (from 1)."""

    n: int


@dataclass(frozen=True)
class Remaining:
    """A remaining TTL within [granted - 2, granted], as a transcript records it."""

    granted: int


class Leases:
    """The lease calls of a scenario's backend, noted in the recorder's transcript.

    Calls return the backend's own answers, except that ``time_to_live`` keys come sorted.
    """

    def __init__(self, kv: KVBackend) -> None:
        if isinstance(kv, Recorder):
            self._transcript: list[tuple[str, object]] | None = kv.transcript
            backend: object = kv.backend
        else:
            self._transcript = None
            backend = kv
        self.backend = cast("LeaseBackend", backend)
        #: Server-chosen ids, in the order the grants returned them.
        self.chosen: list[int] = []

    def ref(self, value: object) -> object:
        """``value`` as a transcript shows it: a ``LeaseRef`` for a server-chosen id."""
        if isinstance(value, int) and value in self.chosen:
            return LeaseRef(self.chosen.index(value) + 1)
        return value

    def _normalized(self, value: object) -> object:
        """``normalize`` (headers to revisions), then server-chosen ids to ``LeaseRef``s and
        remaining TTLs near the granted one to ``Remaining``."""
        value = normalize(value)
        if isinstance(value, LeaseTimeToLiveResponse) and remaining(value) != value.ttl:
            value = attrs.evolve(value, ttl=cast("int", Remaining(value.granted_ttl)))
        cls: Any = type(value)
        if attrs.has(cls):
            fields: dict[str, Any] = {}
            for f in attrs.fields(cls):
                v = getattr(value, f.name)
                if f.name == "id":
                    v = self.ref(v)
                elif isinstance(v, tuple):
                    v = tuple(self._normalized(x) for x in v)
                fields[f.name] = v
            return cls(**fields)
        return value

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        shown = [repr(self.ref(a)) for a in args]
        shown += [f"{k}={self.ref(v)!r}" for k, v in kwargs.items()]
        what = f"{name}({', '.join(shown)})"
        try:
            result = getattr(self.backend, name)(*args, **kwargs)
        except EtcdError as err:
            if self._transcript is not None:
                self._transcript.append((what, normalize(err)))
            raise
        if isinstance(result, LeaseGrantResponse) and kwargs.get("id", 0) == 0:
            assert result.id > 0, result  # etcd's generator: positive, never 0
            assert result.id not in self.chosen, result
            self.chosen.append(result.id)
        if isinstance(result, LeaseTimeToLiveResponse):
            result = attrs.evolve(result, keys=tuple(sorted(result.keys)))
        if self._transcript is not None:
            self._transcript.append((what, self._normalized(result)))
        return result

    def grant(self, ttl: int, *, id: int = 0) -> LeaseGrantResponse:
        """Recorded ``grant``."""
        result: LeaseGrantResponse = self._call("grant", ttl, id=id)
        return result

    def revoke(self, id: int) -> LeaseRevokeResponse:
        """Recorded ``revoke``."""
        result: LeaseRevokeResponse = self._call("revoke", id)
        return result

    def time_to_live(self, id: int, *, keys: bool = False) -> LeaseTimeToLiveResponse:
        """Recorded ``time_to_live`` (keys sorted)."""
        result: LeaseTimeToLiveResponse = self._call("time_to_live", id, keys=keys)
        return result

    def leases(self) -> LeaseLeasesResponse:
        """Recorded ``leases``."""
        result: LeaseLeasesResponse = self._call("leases")
        return result

    def keep_alive_once(self, id: int) -> LeaseKeepAliveResponse:
        """Recorded ``keep_alive_once``."""
        result: LeaseKeepAliveResponse = self._call("keep_alive_once", id)
        return result

    def history(self, key: str | bytes, **kwargs: Any) -> tuple[Event, ...]:
        """Recorded ``history`` (a watch's events up to a revision)."""
        result: tuple[Event, ...] = self._call("history", key, **kwargs)
        return result


def remaining(resp: LeaseTimeToLiveResponse) -> object:
    """A scenario's view of a remaining TTL: ``Remaining`` when close to the granted TTL."""
    if resp.granted_ttl > 0 and resp.granted_ttl - 2 <= resp.ttl <= resp.granted_ttl:
        return Remaining(resp.granted_ttl)
    return resp.ttl


# --------------------------------------------------------------------------- fixtures


class LeaseDifferential:
    """``differential`` with a chosen minimum TTL: a Store with ``min_lease_ttl`` against an
    etcd started with ``etcd_args`` (on the ``etcd`` backend)."""

    def __init__(self, backend: str, stack: contextlib.ExitStack) -> None:
        self.backend = backend
        self._stack = stack

    def __call__(
        self,
        scenario: Callable[[KVBackend], T],
        *,
        min_lease_ttl: int,
        etcd_args: tuple[str, ...] = (),
    ) -> T:
        store = Store(min_lease_ttl=min_lease_ttl)
        self._stack.callback(store.close)
        if self.backend == "etcd":
            proc = self._stack.enter_context(running_etcd(extra_args=etcd_args))
            _, run = run_differential(scenario, store, EtcdKV(proc.url, version=proc.version))
        elif self.backend == "remote":  # the same etcd, through etcdlite.connect()
            proc = self._stack.enter_context(running_etcd(extra_args=etcd_args))
            remote = self._stack.enter_context(etcdlite.connect(proc.url))
            _, run = run_differential(scenario, store, remote)
        else:
            run = run_recorded(store, scenario)
        if run.error is not None:
            raise run.error
        return cast("T", run.result)


@pytest.fixture
def lease_differential(backend: str) -> Iterator[LeaseDifferential]:
    """Scenarios on a Store with a given minimum TTL, and on the ``etcd`` backend an etcd too."""
    with contextlib.ExitStack() as stack:
        yield LeaseDifferential(backend, stack)


def _lease_fields(kv: KVBackend, *keys: str) -> list[int]:
    """The ``lease`` field of each key's range response (-1 for a missing key)."""
    out = []
    for key in keys:
        kvs = kv.get(key).kvs
        out.append(kvs[0].lease if kvs else -1)
    return out


# --------------------------------------------------------------------------- grant


@pytest.mark.parametrize(
    ("min_lease_ttl", "etcd_args"),
    [
        pytest.param(1, (), id="suite-election-timeout-min-1"),
        pytest.param(2, DEFAULT_ELECTION_FLAGS, id="default-election-timeout-min-2"),
    ],
)
def test_grant_chooses_ttl(
    lease_differential: LeaseDifferential, min_lease_ttl: int, etcd_args: tuple[str, ...]
) -> None:
    """A requested TTL below the minimum (0, 1, -5) is raised to it; 60 and the maximum are kept;
    server-chosen ids are positive and distinct."""

    def scenario(kv: KVBackend) -> list[tuple[int, object]]:
        leases = Leases(kv)
        granted = [leases.grant(ttl) for ttl in (0, 1, -5, 60, 9_000_000_000)]
        return [(g.ttl, leases.ref(g.id)) for g in granted]

    got = lease_differential(scenario, min_lease_ttl=min_lease_ttl, etcd_args=etcd_args)
    m = min_lease_ttl
    assert got == [
        (m, LeaseRef(1)),
        (m, LeaseRef(2)),
        (m, LeaseRef(3)),
        (60, LeaseRef(4)),
        (9_000_000_000, LeaseRef(5)),
    ]


def test_grant_explicit_id(differential: Differential) -> None:
    """An explicit id is kept; the header carries the current revision (a grant writes no key)."""

    def scenario(kv: KVBackend) -> LeaseGrantResponse:
        kv.put("k", "v")
        return Leases(kv).grant(60, id=A)

    got = differential(scenario)
    assert (got.id, got.ttl, got.header.revision) == (A, 60, 2)


@pytest.mark.parametrize(
    ("ttl", "error", "message"),
    [
        pytest.param(60, LeaseExistsError, "etcdserver: lease already exists", id="exists"),
        pytest.param(
            9_000_000_001,
            LeaseTTLTooLargeError,
            "etcdserver: too large lease TTL",
            id="too-large-beats-exists",
        ),
    ],
)
def test_grant_existing_id(
    differential: Differential, ttl: int, error: type[EtcdError], message: str
) -> None:
    """Granting an id in use fails with "lease already exists", unless the TTL is too large,
    which is checked first (lessor.Grant)."""

    def scenario(kv: KVBackend) -> None:
        leases = Leases(kv)
        leases.grant(60, id=A)
        leases.grant(ttl, id=A)

    with pytest.raises(error, match=exact(message)):
        differential(scenario)


@pytest.mark.parametrize("id_", [0, A], ids=["server-chosen", "explicit"])
def test_grant_too_large_ttl(differential: Differential, id_: int) -> None:
    """A TTL above 9,000,000,000 s fails with "too large lease TTL" and grants nothing."""

    def scenario(kv: KVBackend) -> LeaseLeasesResponse:
        leases = Leases(kv)
        with contextlib.suppress(LeaseTTLTooLargeError):
            leases.grant(9_000_000_001, id=id_)
        return leases.leases()

    assert differential(scenario).leases == ()


def test_negative_explicit_id(differential: Differential) -> None:
    """A negative explicit id is a lease like any other: keys attach, TTL, keep-alive, revoke."""

    def scenario(kv: KVBackend) -> tuple[object, ...]:
        leases = Leases(kv)
        grant = leases.grant(60, id=-5)
        kv.put("k", "v", lease=-5)
        fields = _lease_fields(kv, "k")
        ttl = leases.time_to_live(-5, keys=True)
        once = leases.keep_alive_once(-5)
        revoked = leases.revoke(-5)
        return grant.id, fields, ttl.keys, once.ttl, revoked.header.revision, kv.get("k").count

    assert differential(scenario) == (-5, [-5], (b"k",), 60, 3, 0)


# --------------------------------------------------------------------------- time_to_live, leases


def test_time_to_live(differential: Differential) -> None:
    """TimeToLive: remaining TTL (close to the granted one), granted TTL, the keys when asked
    for (sorted here; etcd's order is Go map order), -1 and no error for unknown ids."""

    def scenario(kv: KVBackend) -> tuple[object, ...]:
        leases = Leases(kv)
        leases.grant(60, id=A)
        for key in ("b", "c", "a"):
            kv.put(key, key, lease=A)
        kv.put("z", "no lease")
        with_keys = leases.time_to_live(A, keys=True)
        without = leases.time_to_live(A)
        unknown = leases.time_to_live(B, keys=True)
        zero = leases.time_to_live(0)
        return (
            remaining(with_keys),
            with_keys.granted_ttl,
            with_keys.keys,
            without.keys,
            (unknown.id, unknown.ttl, unknown.granted_ttl, unknown.keys),
            (zero.ttl, zero.header.revision),
        )

    assert differential(scenario) == (
        Remaining(60),
        60,
        (b"a", b"b", b"c"),
        (),
        (B, -1, 0, ()),
        (-1, 5),
    )


def test_time_to_live_after_revoke(differential: Differential) -> None:
    """A revoked lease is unknown: TTL -1."""

    def scenario(kv: KVBackend) -> int:
        leases = Leases(kv)
        leases.grant(60, id=A)
        leases.revoke(A)
        return leases.time_to_live(A).ttl

    assert differential(scenario) == -1


def test_leases_soonest_deadline_first(differential: Differential) -> None:
    """LeaseLeases lists every live lease, soonest to expire first (lessor.Leases sorts by
    expiry); a revoked lease is gone, a renewal moves a lease back."""

    def scenario(kv: KVBackend) -> list[list[object]]:
        leases = Leases(kv)
        assert leases.leases().leases == ()
        leases.grant(300, id=C)
        leases.grant(100, id=A)
        leases.grant(200, id=B)
        leases.grant(150)
        seen = [[leases.ref(s.id) for s in leases.leases().leases]]
        leases.revoke(B)
        seen.append([leases.ref(s.id) for s in leases.leases().leases])
        return seen

    assert differential(scenario) == [[A, LeaseRef(1), B, C], [A, LeaseRef(1), C]]


# --------------------------------------------------------------------------- keep-alive


def test_keep_alive_once(differential: Differential) -> None:
    """A renewal answers the granted TTL (not the remaining one) at the current revision."""

    def scenario(kv: KVBackend) -> LeaseKeepAliveResponse:
        leases = Leases(kv)
        leases.grant(60, id=A)
        kv.put("k", "v", lease=A)
        return leases.keep_alive_once(A)

    got = differential(scenario)
    assert (got.id, got.ttl, got.header.revision) == (A, 60, 2)


@pytest.mark.parametrize("id_", [B, 0, -5], ids=["unknown", "zero", "negative"])
def test_keep_alive_once_unknown_lease(differential: Differential, id_: int) -> None:
    """Renewing a lease that does not exist raises LeaseNotFoundError (clientv3 KeepAliveOnce;
    etcd's stream answers TTL 0, see test_keep_alive_unknown_lease_on_the_wire)."""

    def scenario(kv: KVBackend) -> None:
        Leases(kv).keep_alive_once(id_)

    with pytest.raises(LeaseNotFoundError, match=exact(NOT_FOUND)):
        differential(scenario)


def test_keep_alive_once_after_revoke(differential: Differential) -> None:
    """A revoked lease cannot be renewed."""

    def scenario(kv: KVBackend) -> None:
        leases = Leases(kv)
        leases.grant(60, id=A)
        leases.revoke(A)
        leases.keep_alive_once(A)

    with pytest.raises(LeaseNotFoundError, match=exact(NOT_FOUND)):
        differential(scenario)


@pytest.mark.etcd
def test_keep_alive_unknown_lease_on_the_wire() -> None:
    """etcd's keep-alive stream answers an unknown lease with TTL 0 (omitted in JSON) and no
    error; the Store's keep_alive_once raises instead, as clientv3 (keepalive-unknown-lease)."""
    divergence("keepalive-unknown-lease")
    with running_etcd() as proc:
        etcd = EtcdKV(proc.url, version=proc.version)
        etcd.put("k", "v")
        wire = etcd.keep_alive_wire(B)
        assert (wire.id, wire.ttl, wire.header.revision) == (B, 0, 2)
        etcd.grant(60, id=A)
        assert etcd.keep_alive_wire(A).ttl == 60
        with pytest.raises(LeaseNotFoundError, match=exact(NOT_FOUND)):
            etcd.keep_alive_once(B)
    with Store() as store, pytest.raises(LeaseNotFoundError, match=exact(NOT_FOUND)):
        store.keep_alive_once(B)


# --------------------------------------------------------------------------- revoke


def test_revoke_deletes_keys_at_one_revision(differential: Differential) -> None:
    """Revoke deletes every attached key at one new revision (its header's), in key order, with
    a DELETE event per key for watchers; other keys stay."""

    def scenario(kv: KVBackend) -> tuple[int, int, tuple[KeyValue, ...], tuple[Event, ...]]:
        leases = Leases(kv)
        leases.grant(60, id=A)
        for key in ("b", "c", "a"):
            kv.put(key, key.upper(), lease=A)
        kv.put("d", "D")
        revoked = leases.revoke(A)
        events = leases.history("", from_key=True, start_revision=5, prev_kv=True)
        return revoked.header.revision, kv.revision, kv.get("", from_key=True).kvs, events

    rev, current, kvs, events = differential(scenario)
    assert (rev, current) == (6, 6)
    assert [kv.key for kv in kvs] == [b"d"]
    assert events == (
        Event(EventType.PUT, KeyValue(b"d", 5, 5, 1, b"D", 0)),
        *(
            Event(
                EventType.DELETE,
                KeyValue(key, 0, 6, 0, b"", 0),
                KeyValue(key, create, create, 1, key.upper(), A),
            )
            for key, create in ((b"a", 4), (b"b", 2), (b"c", 3))
        ),
    )


def test_revoke_without_keys_makes_no_revision(differential: Differential) -> None:
    """A lease without keys is revoked without a new revision (nothing to delete)."""

    def scenario(kv: KVBackend) -> tuple[int, int]:
        leases = Leases(kv)
        kv.put("k", "v")
        leases.grant(60, id=A)
        kv.put("x", "1", lease=A)
        kv.delete("x")
        return leases.revoke(A).header.revision, kv.revision

    assert differential(scenario) == (4, 4)


@pytest.mark.parametrize("id_", [B, 0, -5], ids=["unknown", "zero", "negative"])
def test_revoke_unknown_lease(differential: Differential, id_: int) -> None:
    """Revoking a lease that does not exist fails with "requested lease not found"."""

    def scenario(kv: KVBackend) -> None:
        kv.put("k", "v")
        Leases(kv).revoke(id_)

    with pytest.raises(LeaseNotFoundError, match=exact(NOT_FOUND)):
        differential(scenario)


def test_revoke_twice(differential: Differential) -> None:
    """The second revoke of a lease fails: it is gone."""

    def scenario(kv: KVBackend) -> None:
        leases = Leases(kv)
        leases.grant(60, id=A)
        leases.revoke(A)
        leases.revoke(A)

    with pytest.raises(LeaseNotFoundError, match=exact(NOT_FOUND)):
        differential(scenario)


def test_revoked_id_can_be_granted_again(differential: Differential) -> None:
    """Once revoked, an id is free for a new grant."""

    def scenario(kv: KVBackend) -> tuple[int, int]:
        leases = Leases(kv)
        leases.grant(60, id=A)
        leases.revoke(A)
        again = leases.grant(120, id=A)
        return again.id, again.ttl

    assert differential(scenario) == (A, 120)


# --------------------------------------------------------------------------- put and txn


def test_put_with_unknown_lease(differential: Differential) -> None:
    """A put with a lease that does not exist fails and writes nothing."""

    def scenario(kv: KVBackend) -> tuple[object, ...]:
        kv.put("k", "v")
        outcomes: list[object] = []
        for call in (
            lambda: kv.put("k", "w", lease=B),
            lambda: kv.put("new", lease=B),
            lambda: kv.txn(success=[Op.put("x"), Op.put("k", "w", lease=B)]),
            lambda: kv.txn(success=[Op.txn(success=[Op.put("k", "w", lease=B)])]),
        ):
            try:
                call()
            except LeaseNotFoundError as err:
                outcomes.append(str(err))
        return tuple(outcomes), kv.revision, kv.get("k").kvs[0].value

    assert differential(scenario) == ((NOT_FOUND,) * 4, 2, b"v")


def test_put_attaches_moves_and_detaches(differential: Differential) -> None:
    """A put with a lease attaches the key; with another lease moves it; with ignore_lease keeps
    it; without a lease detaches it; a delete detaches it. The range's ``lease`` field and the
    leases' keys agree at every step."""

    def scenario(kv: KVBackend) -> list[tuple[object, ...]]:
        leases = Leases(kv)
        leases.grant(60, id=A)
        leases.grant(60, id=B)
        seen: list[tuple[object, ...]] = []

        def look() -> None:
            seen.append(
                (
                    *_lease_fields(kv, "k", "j"),
                    leases.time_to_live(A, keys=True).keys,
                    leases.time_to_live(B, keys=True).keys,
                )
            )

        kv.put("k", "1", lease=A)
        kv.put("j", "1", lease=A)
        look()
        kv.put("k", "2", lease=B)
        look()
        kv.put("k", "3", ignore_lease=True)
        kv.put("j", ignore_value=True, ignore_lease=True)
        look()
        kv.put("k", "4")
        look()
        kv.delete("j")
        look()
        return seen

    assert differential(scenario) == [
        (A, A, (b"j", b"k"), ()),
        (B, A, (b"j",), (b"k",)),
        (B, A, (b"j",), (b"k",)),
        (0, A, (b"j",), ()),
        (0, -1, (), ()),
    ]


def test_revoke_after_move_deletes_only_current_keys(differential: Differential) -> None:
    """Revoking a lease deletes only the keys still attached to it: moved and detached keys
    stay."""

    def scenario(kv: KVBackend) -> tuple[object, ...]:
        leases = Leases(kv)
        leases.grant(60, id=A)
        leases.grant(60, id=B)
        for key in ("a", "b", "c"):
            kv.put(key, "1", lease=A)
        kv.put("b", "2", lease=B)
        kv.put("c", "2")
        revoked = leases.revoke(A)
        return revoked.header.revision, _lease_fields(kv, "a", "b", "c")

    assert differential(scenario) == (7, [-1, B, 0])


def test_txn_puts_with_leases(differential: Differential) -> None:
    """Puts in a txn attach, move and (ignore_lease) keep leases, all at the txn's revision."""

    def scenario(kv: KVBackend) -> list[tuple[object, ...]]:
        leases = Leases(kv)
        leases.grant(60, id=A)
        leases.grant(60, id=B)
        seen: list[tuple[object, ...]] = []

        def look() -> None:
            seen.append(
                (
                    kv.revision,
                    *_lease_fields(kv, "x", "y", "z"),
                    leases.time_to_live(A, keys=True).keys,
                    leases.time_to_live(B, keys=True).keys,
                )
            )

        kv.txn(success=[Op.put("x", lease=A), Op.put("y", lease=B), Op.put("z", lease=A)])
        look()
        kv.txn(
            compare=[Compare.lease("x") == A],
            success=[Op.put("x", "2", lease=B), Op.put("y", "2", ignore_lease=True)],
        )
        look()
        kv.txn(
            compare=[Compare.lease("z") == B],
            success=[Op.put("z", lease=B)],
            failure=[Op.put("z", "3"), Op.txn(success=[Op.put("y", "3", lease=A)])],
        )
        look()
        return seen

    assert differential(scenario) == [
        (2, A, B, A, (b"x", b"z"), (b"y",)),
        (3, B, B, A, (b"z",), (b"x", b"y")),
        (4, B, A, 0, (b"y",), (b"x",)),
    ]


def test_txn_delete_then_put_with_lease(differential: Differential) -> None:
    """A txn that deletes keys (from-key range) and puts one of them back with another lease
    leaves it attached to that lease only; revoking the old lease then deletes nothing."""

    def scenario(kv: KVBackend) -> tuple[object, ...]:
        leases = Leases(kv)
        leases.grant(60, id=A)
        leases.grant(60, id=B)
        kv.put("a", "1", lease=A)
        kv.put("b", "1", lease=A)
        kv.txn(success=[Op.delete("a", from_key=True), Op.put("b", "2", lease=B)])
        after = (
            _lease_fields(kv, "a", "b"),
            leases.time_to_live(A, keys=True).keys,
            leases.time_to_live(B, keys=True).keys,
        )
        rev = kv.revision
        return after, leases.revoke(A).header.revision == rev, leases.revoke(B).header.revision

    assert differential(scenario) == (([-1, B], (), (b"b",)), True, 5)


def test_txn_ignore_lease_on_missing_key(differential: Differential) -> None:
    """ignore_lease in a txn needs the key: "key not found" and nothing written."""

    def scenario(kv: KVBackend) -> None:
        Leases(kv).grant(60, id=A)
        kv.txn(success=[Op.put("a", "1", lease=A), Op.put("missing", "1", ignore_lease=True)])

    with pytest.raises(KeyNotFoundError, match=exact("etcdserver: key not found")):
        differential(scenario)


def test_txn_unknown_lease_only_in_branch_not_taken(differential: Differential) -> None:
    """Only the taken branch's leases are checked: an unknown lease in the other is fine."""

    def scenario(kv: KVBackend) -> tuple[bool, int]:
        resp = kv.txn(
            compare=[Compare.version("k") == 0],
            success=[Op.put("k", "1")],
            failure=[Op.put("k", "2", lease=B)],
        )
        return resp.succeeded, kv.revision

    assert differential(scenario) == (True, 2)


def test_many_leases_expire_at_once_without_a_rate_limit() -> None:
    """1,500 leases due together are all revoked when the clock reaches their deadline, each at
    its own revision (etcd spreads them over seconds: lease-revoke-rate)."""
    divergence("lease-revoke-rate")
    from etcdlite.testing import FakeClock

    clock = FakeClock()
    with Store(clock=clock) as store:
        ids = [store.grant(60).id for _ in range(1500)]
        for i, lease_id in enumerate(ids):
            store.put(f"k{i:04}", "v", lease=lease_id)
        before = store.revision
        clock.advance(59.999)
        assert len(store.leases().leases) == 1500
        clock.advance(0.001)
        assert store.leases().leases == ()
        assert store.get("k", prefix=True, count_only=True).count == 0
        assert store.revision == before + 1500
        store._check()
