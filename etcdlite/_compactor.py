"""Auto-compaction: when to compact, and to which revision (etcd 3.4's ``v3compactor``).

The store owns the timer and does the compaction; a compactor only decides. Each
``interval`` seconds the store calls ``tick(revision, compact)`` with its current revision and
a function that compacts at a revision and says whether that worked (an already compacted
revision counts as done, as in etcd).

* **periodic** (etcd's default mode), retention ``P``: every ``min(P, 1h) / 10`` the compactor
  notes the current revision, keeping the last ``P / (min(P, 1h) / 10) + 1`` notes. Once ``P``
  has passed since the start it compacts at its oldest note (the revision of about ``P``
  ago), then again every ``min(P, 1h)`` after each success; a failure is retried at the next
  note. ``"1h"`` compacts every hour, keeping an hour of history; ``"30m"`` every 30 minutes;
  ``"24h"`` every hour, keeping a day. (etcd's periodic.go; etcd measures elapsed time, the
  compactor counts its ticks, which is the same on a clock whose timers fire on time.)
* **revision**, retention ``N``: every 5 minutes, compact at ``current - N`` unless that is
  not positive or is where the last compaction went (etcd's revision.go). Five minutes is too
  slow for a conformance test against etcd, so this mode is checked against this description
  of etcd's source only.

The retention is etcd's ``--auto-compaction-retention`` string: a bare integer is hours
(periodic) or revisions (revision), anything else a Go duration (``"30m"``, ``"1h30m"``,
``"1.5h"``); ``"0"`` turns auto-compaction off. :func:`parse_retention` gives etcd's errors.

>>> seen = []
>>> c = new_compactor("revision", "10")
>>> c.interval, c.tick(25, lambda rev: seen.append(rev) or True), seen
(300.0, None, [15])
>>> c.tick(25, lambda rev: seen.append(rev) or True), seen  # the same target: nothing to do
(None, [15])
"""

from __future__ import annotations

import math
import re
from collections import deque
from fractions import Fraction
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = (
    "REVISION_INTERVAL",
    "CompactionMode",
    "PeriodicCompactor",
    "RevisionCompactor",
    "new_compactor",
    "parse_go_duration",
    "parse_retention",
)

CompactionMode = Literal["periodic", "revision"]

#: How often the revision compactor looks (etcd's ``revInterval``), in seconds.
REVISION_INTERVAL = 300.0
_HOUR_NS = 3600 * 10**9
_RETRY_DIVISOR = 10
_UNITS_NS = {
    "ns": 1,
    "us": 10**3,
    "µs": 10**3,  # U+00B5 MICRO SIGN
    "μs": 10**3,  # U+03BC GREEK SMALL LETTER MU
    "ms": 10**6,
    "s": 10**9,
    "m": 60 * 10**9,
    "h": _HOUR_NS,
}
_COMPONENT = re.compile(r"(\d*)(?:\.(\d*))?([^\d.]*)")
_INT64_MAX = 2**63 - 1


def parse_go_duration(text: str) -> int:
    """Go's ``time.ParseDuration``, in nanoseconds, with its error texts.

    >>> parse_go_duration("1h30m"), parse_go_duration("-1.5s"), parse_go_duration("0")
    (5400000000000, -1500000000, 0)
    >>> parse_go_duration("-1")
    Traceback (most recent call last):
    ValueError: time: missing unit in duration "-1"
    """
    rest = text
    sign = 1
    if rest[:1] in ("-", "+"):
        sign = -1 if rest[0] == "-" else 1
        rest = rest[1:]
    if rest == "0":
        return 0
    if not rest:
        raise ValueError(f'time: invalid duration "{text}"')
    total = Fraction(0)
    while rest:
        m = _COMPONENT.match(rest)
        assert m is not None  # the pattern matches the empty string
        whole, frac, unit = m.group(1), m.group(2), m.group(3)
        if not whole and not frac:
            raise ValueError(f'time: invalid duration "{text}"')
        if not unit:
            raise ValueError(f'time: missing unit in duration "{text}"')
        scale = _UNITS_NS.get(unit)
        if scale is None:
            raise ValueError(f'time: unknown unit "{unit}" in duration "{text}"')
        number = Fraction(int(whole or "0"))
        if frac:
            number += Fraction(int(frac), 10 ** len(frac))
        total += number * scale
        rest = rest[m.end() :]
    ns = int(total)  # Go truncates fractions of a nanosecond
    if ns > _INT64_MAX:
        raise ValueError(f'time: invalid duration "{text}"')
    return sign * ns


def parse_retention(mode: str, retention: str | int) -> int:
    """etcd's ``--auto-compaction-mode``/``--auto-compaction-retention``: the retention in
    nanoseconds (periodic) or revisions (revision); 0 means off.

    Raises ``ValueError`` with etcd's text for an unknown mode or an unparsable retention, and
    for what etcd 3.4 accepts but mishandles: a negative retention (its periodic compactor then
    compacts in a tight loop) and a periodic one under 10 ns (it panics dividing by zero).

    >>> parse_retention("periodic", "1"), parse_retention("periodic", "30m")
    (3600000000000, 1800000000000)
    >>> parse_retention("revision", 1000), parse_retention("periodic", "0")
    (1000, 0)
    >>> parse_retention("Periodic", "1")
    Traceback (most recent call last):
    ValueError: unknown auto-compaction-mode "Periodic"
    """
    if mode not in ("periodic", "revision"):
        raise ValueError(f'unknown auto-compaction-mode "{mode}"')
    if isinstance(retention, bool) or not isinstance(retention, (str, int)):
        raise TypeError(f"auto_compaction_retention must be str or int, not {type(retention)}")
    text = str(retention)
    if text in ("", "0"):
        return 0
    if re.fullmatch(r"[+-]?\d+", text) and int(text) >= 0:
        hours = int(text)
        return hours * _HOUR_NS if mode == "periodic" else hours
    try:
        value = parse_go_duration(text)
    except ValueError as e:
        raise ValueError(f"error parsing CompactionRetention: {e}") from None
    if value < 0:
        raise ValueError(f"auto_compaction_retention cannot be negative, not {text!r}")
    if mode == "periodic" and 0 < value < _RETRY_DIVISOR:
        raise ValueError(f"a periodic auto_compaction_retention must be at least 10ns: {text!r}")
    return value


class PeriodicCompactor:
    """Compact at the revision of one retention period ago, every ``min(period, 1h)``."""

    __slots__ = ("_compact_ticks", "_revs", "_ticks", "_wait_ticks", "interval")

    def __init__(self, period_ns: int, revision: int) -> None:
        capped = min(period_ns, _HOUR_NS)
        retry = capped // _RETRY_DIVISOR
        #: Seconds between two ticks: a tenth of the period, at most 6 minutes.
        self.interval = retry / 1e9
        self._revs: deque[int] = deque((revision,), maxlen=period_ns // retry + 1)
        self._ticks = 0  # ticks since the start or the last success
        self._wait_ticks = math.ceil(period_ns / retry)  # the first compaction waits a period
        self._compact_ticks = math.ceil(capped / retry)

    def tick(self, revision: int, compact: Callable[[int], bool]) -> None:
        """One tick: compact at the oldest noted revision when due, then note ``revision``."""
        self._ticks += 1
        if self._ticks >= self._wait_ticks:
            self._wait_ticks = self._compact_ticks
            if compact(self._revs[0]):
                self._ticks = 0
        self._revs.append(revision)


class RevisionCompactor:
    """Every 5 minutes, compact at ``revision - retention`` if that moved and is positive."""

    __slots__ = ("_prev", "_retention", "interval")

    def __init__(self, retention: int) -> None:
        self.interval = REVISION_INTERVAL
        self._retention = retention
        self._prev = 0

    def tick(self, revision: int, compact: Callable[[int], bool]) -> None:
        """One tick: compact ``retention`` revisions behind ``revision`` if there is news."""
        target = revision - self._retention
        if target > 0 and target != self._prev and compact(target):
            self._prev = target


def new_compactor(
    mode: str, retention: str | int, revision: int = 1
) -> PeriodicCompactor | RevisionCompactor | None:
    """The compactor for etcd's mode and retention flags (``None`` when the retention is 0);
    ``revision`` is the store's revision now, the periodic compactor's first note."""
    value = parse_retention(mode, retention)
    if not value:
        return None
    if mode == "periodic":
        return PeriodicCompactor(value, revision)
    return RevisionCompactor(value)
