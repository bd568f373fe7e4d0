"""Auto-compaction: etcd 3.4's flags, its periodic and revision compactors, on a FakeClock.

The schedules are etcd's (etcdserver/api/v3compactor, periodic.go and revision.go): the
periodic compactor notes the revision every tenth of min(retention, 1h) and compacts at the
revision of one retention ago, first after one retention, then every min(retention, 1h); the
revision compactor compacts at ``current - retention`` every 5 minutes.
"""

from __future__ import annotations

import pytest

from etcdlite import Store
from etcdlite._compactor import (
    PeriodicCompactor,
    RevisionCompactor,
    new_compactor,
    parse_go_duration,
    parse_retention,
)
from etcdlite.errors import CompactedError
from etcdlite.testing import FakeClock

H = 3600 * 10**9
M = 60 * 10**9


@pytest.mark.parametrize(
    ("mode", "retention", "expected"),
    [
        ("periodic", "0", 0),
        ("periodic", 0, 0),
        ("periodic", "", 0),
        ("periodic", "1", H),
        ("periodic", 24, 24 * H),
        ("periodic", "30m", 30 * M),
        ("periodic", "1h30m", 90 * M),
        ("periodic", "1.5h", 90 * M),
        ("periodic", "500ms", 5 * 10**8),
        ("periodic", "0s", 0),
        ("revision", "1000", 1000),
        ("revision", "2m", 120 * 10**9),  # etcd reads a duration as that many revisions
    ],
)
def test_parse_retention(mode: str, retention: str | int, expected: int) -> None:
    """A bare integer is hours (periodic) or revisions (revision); otherwise a Go duration."""
    assert parse_retention(mode, retention) == expected


@pytest.mark.parametrize(
    ("mode", "retention", "message"),
    [
        ("foo", "1", 'unknown auto-compaction-mode "foo"'),
        ("Periodic", "0", 'unknown auto-compaction-mode "Periodic"'),
        (
            "periodic",
            "-1",
            'error parsing CompactionRetention: time: missing unit in duration "-1"',
        ),
        (
            "revision",
            "-5",
            'error parsing CompactionRetention: time: missing unit in duration "-5"',
        ),
        ("periodic", "abc", 'error parsing CompactionRetention: time: invalid duration "abc"'),
        (
            "periodic",
            "1.5",
            'error parsing CompactionRetention: time: missing unit in duration "1.5"',
        ),
        ("periodic", "1x", 'time: unknown unit "x" in duration "1x"'),
        ("periodic", "-1h", "cannot be negative"),
        ("periodic", "5ns", "at least 10ns"),
    ],
)
def test_bad_retentions(mode: str, retention: str, message: str) -> None:
    """etcd's texts (observed on etcd 3.4.23) for what it refuses; a ValueError too for a
    negative retention and a periodic one under 10ns, which etcd 3.4 mishandles."""
    with pytest.raises(ValueError, match=message):
        parse_retention(mode, retention)


@pytest.mark.parametrize(
    ("text", "ns"),
    [("1h", H), ("+2m", 2 * M), ("-1.5s", -15 * 10**8), (".5us", 500), ("1µs", 1000), ("3", None)],
)
def test_go_durations(text: str, ns: int | None) -> None:
    """Go's ParseDuration: units, signs, fractions; a number needs a unit (except 0)."""
    if ns is None:
        with pytest.raises(ValueError, match="missing unit"):
            parse_go_duration(text)
    else:
        assert parse_go_duration(text) == ns


def run(compactor: PeriodicCompactor | RevisionCompactor, revs: list[int]) -> list[int | None]:
    """Tick once per revision in ``revs`` (the store's revision at that tick); what each tick
    compacted at (None: nothing)."""
    out: list[int | None] = []
    for rev in revs:
        seen: list[int] = []

        def compact(r: int, seen: list[int] = seen) -> bool:
            seen.append(r)
            return True

        compactor.tick(rev, compact)
        out.append(seen[0] if seen else None)
    return out


def test_periodic_one_hour() -> None:
    """1h: ticks every 6 minutes; the first compaction after an hour at the start's revision,
    then every hour at the revision noted 11 ticks before."""
    c = PeriodicCompactor(H, revision=1)
    assert c.interval == 360.0
    revs = list(range(10, 310, 10))  # the revision at ticks 1..30
    got = run(c, revs)
    assert [(i + 1, r) for i, r in enumerate(got) if r is not None] == [
        (10, 1),
        (20, 90),
        (30, 190),
    ]


def test_periodic_two_hours_compacts_hourly() -> None:
    """2h: notes every 6 minutes (21 kept), first compaction after 2 hours, then hourly."""
    c = PeriodicCompactor(2 * H, revision=0)
    got = run(c, list(range(1, 41)))
    assert [(i + 1, r) for i, r in enumerate(got) if r is not None] == [(20, 0), (30, 9), (40, 19)]


def test_periodic_failure_retries_at_the_next_tick() -> None:
    """A failed compaction is retried at the next tick (the window of 11 notes still starts
    at the same revision then)."""
    c = PeriodicCompactor(10 * M, revision=5)
    answers = iter([False, True])
    tried: list[int] = []

    def compact(r: int) -> bool:
        tried.append(r)
        return next(answers, True)

    for rev in range(6, 30):
        c.tick(rev, compact)
        if len(tried) == 2:
            break
    assert tried == [5, 5]


def test_periodic_interval_under_an_hour() -> None:
    """30m: a tick every 3 minutes."""
    assert PeriodicCompactor(30 * M, revision=1).interval == 180.0


def test_revision_compactor() -> None:
    """Every 5 minutes: compact at current - N unless not positive or unchanged."""
    c = RevisionCompactor(100)
    assert c.interval == 300.0
    assert run(c, [50, 100, 150, 150, 151]) == [None, None, 50, None, 51]


def test_new_compactor() -> None:
    """Retention 0 is off; otherwise the mode's compactor."""
    assert new_compactor("periodic", "0") is None
    assert isinstance(new_compactor("periodic", "1h"), PeriodicCompactor)
    assert isinstance(new_compactor("revision", 5), RevisionCompactor)


# -- on a Store ------------------------------------------------------------------------------


def test_store_periodic_auto_compaction_on_a_fake_clock() -> None:
    """Store(auto_compaction_retention="10m") compacts at the revision of 10 minutes ago."""
    clock = FakeClock()
    store = Store(clock=clock, auto_compaction_retention="10m")
    try:
        for minute in range(1, 10):  # writes at minutes 0..8, one revision each
            store.put("k", str(minute))
            clock.advance(60)
        assert store.compact_revision == -1
        store.put("k", "last")  # revision 11, at minute 9
        clock.advance(60)  # minute 10: the first compaction, at the revision of minute 0
        assert store.compact_revision == 1
        for _ in range(10):
            store.put("k", "x")
            clock.advance(60)
        # minute 20: the revision noted at minute 9 (11 notes are kept), 10
        assert store.compact_revision == 10
        with pytest.raises(CompactedError):
            store.get("k", revision=9)
    finally:
        store.close()
    assert clock.pending() == 0


def test_store_revision_auto_compaction_on_a_fake_clock() -> None:
    """Store(auto_compaction_mode="revision", retention=N) keeps the last N revisions, checked
    every 5 minutes."""
    clock = FakeClock()
    store = Store(clock=clock, auto_compaction_mode="revision", auto_compaction_retention=5)
    try:
        for i in range(20):
            store.put("k", str(i))
        clock.advance(299)
        assert store.compact_revision == -1
        clock.advance(1)
        assert store.compact_revision == 21 - 5
        clock.advance(300)  # nothing new: no compaction, no error
        assert store.compact_revision == 16
        store.put("k", "x")
        clock.advance(300)
        assert store.compact_revision == 17
    finally:
        store.close()


def test_auto_compaction_off_by_default_and_bad_flags() -> None:
    """No timer without a retention; bad flags fail at construction."""
    clock = FakeClock()
    Store(clock=clock)
    assert clock.pending() == 0
    with pytest.raises(ValueError, match="unknown auto-compaction-mode"):
        Store(auto_compaction_mode="daily", auto_compaction_retention="1")
    with pytest.raises(ValueError, match="missing unit"):
        Store(auto_compaction_retention="-1")


def test_auto_compaction_waits_out_a_corrupt_alarm() -> None:
    """A compaction refused (CORRUPT alarm) is retried on the next tick."""
    clock = FakeClock()
    store = Store(clock=clock, auto_compaction_mode="revision", auto_compaction_retention=1)
    try:
        store.put("k", "1")
        store.put("k", "2")
        store.alarm_activate("CORRUPT")
        clock.advance(300)
        assert store.compact_revision == -1
        store.alarm_disarm()
        clock.advance(300)
        assert store.compact_revision == 2
    finally:
        store.close()
