"""A watch-stream validator: the nine rules of SEMANTICS section 5 against a replay of history.

Modelled on etcd's robustness validator (tests/robustness/validate/watch.go): the ground truth
is not the store under test but a replay of the write requests that were sent to it, on a
reference model written here from scratch (a dict of live keys). :class:`Recorder` sends each
request to the store, keeps it with the revision the store answered, and replays it;
:func:`validate` then checks every recorded watch:

=============  ==============================================================================
Filter         each event is in the watch's range and passes its NOPUT/NODELETE filters
Ordered        event revisions never decrease within a watch
Unique         no two events share (revision, key)
Atomic         a response's first event is never at the previous response's last revision
               (fragments of one response are joined first)
Bookmarkable   progress revisions never decrease and are >= the last event revision; no later
               event is at or below a notified revision
Resumable      with an explicit start revision, the first event is the first matching
               persisted event at or after it
Reliable       between the first expected revision (start, or created+1) and the last observed
               one (last event or progress), the events are exactly the replayed matching ones
PrevKV         a prev_kv is the key's record at revision-1 (absent only for a create, or below
               a compaction); none unless asked for
IsCreate       a PUT has version 1 exactly when the key was absent at revision-1
=============  ==============================================================================

Plus the shape of the stream: ``created`` first, nothing after ``canceled``, a compaction
cancel with a header without revision, event headers at or after their events.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from etcdlite import (
    DeleteRangeRequest,
    Event,
    EventType,
    PutRequest,
    RangeRequest,
    TxnRequest,
    TxnResponse,
    WatchResponse,
)

if TYPE_CHECKING:
    from etcdlite import RequestOp, ResponseOp, Store

__all__ = ("History", "Recorder", "WatchLog", "WatchSpec", "validate")

#: An event as the replay knows it: (type, key, create_revision, mod_revision, version, value).
Fact = tuple[EventType, bytes, int, int, int, bytes]
#: A live key's record in the replay: (create_revision, mod_revision, version, value).
Record = tuple[int, int, int, bytes]


@dataclass(frozen=True)
class WatchSpec:
    """What a watch asked for, in etcd's form (``end``: b"" one key, b"\\0" from the key)."""

    key: bytes
    end: bytes = b""
    start_revision: int = 0
    prev_kv: bool = False
    no_put: bool = False
    no_delete: bool = False

    def matches(self, key: bytes) -> bool:
        if not self.end:
            return key == self.key
        return self.key <= key and (self.end == b"\0" or key < self.end)


@dataclass
class WatchLog:
    """One watch's responses, in the order read (its stream's -1 progress answers included)."""

    spec: WatchSpec
    responses: list[WatchResponse] = field(default_factory=list)


class History:
    """The replay: every revision's events and every revision's live keys."""

    def __init__(self) -> None:
        self.revision = 1
        self.live: dict[bytes, Record] = {}
        self.events: dict[int, list[Fact]] = {}
        #: The live keys after each revision (copied on write; histories here are small).
        self.states: dict[int, dict[bytes, Record]] = {1: {}}
        self.compactions: list[int] = []

    def state_at(self, rev: int) -> dict[bytes, Record]:
        """The live keys at ``rev``."""
        while rev not in self.states:
            rev -= 1
        return self.states[rev]

    def apply(self, ops: list[tuple[str, bytes, bytes]], revision: int) -> None:
        """Replay one write request (its ops in order); the store said it made ``revision``."""
        rev = self.revision + 1
        live = dict(self.live)
        facts: list[Fact] = []
        for kind, key, arg in ops:
            if kind == "put":
                old = live.get(key)
                rec = (rev, rev, 1, arg) if old is None else (old[0], rev, old[2] + 1, arg)
                live[key] = rec
                facts.append((EventType.PUT, key, *rec))
            else:
                for k in sorted(live):
                    if k == key if not arg else key <= k and (arg == b"\0" or k < arg):
                        del live[k]
                        facts.append((EventType.DELETE, k, 0, rev, 0, b""))
        if not facts:
            assert revision == self.revision, f"a no-op write moved the revision to {revision}"
            return
        assert revision == rev, f"the store answered revision {revision}, the replay made {rev}"
        self.revision = rev
        self.live = live
        self.events[rev] = facts
        self.states[rev] = live

    def matching(self, spec: WatchSpec, first: int, last: int) -> list[Fact]:
        """The replayed events ``spec`` wants, revisions ``first`` through ``last``."""
        out: list[Fact] = []
        for rev in range(max(first, 2), last + 1):
            for fact in self.events.get(rev, ()):
                if not spec.matches(fact[1]):
                    continue
                if spec.no_put if fact[0] is EventType.PUT else spec.no_delete:
                    continue
                out.append(fact)
        return out


def _flatten(req: RequestOp, resp: ResponseOp, out: list[tuple[str, bytes, bytes]]) -> None:
    if isinstance(req, PutRequest):
        out.append(("put", req.key, req.value))
    elif isinstance(req, DeleteRangeRequest):
        out.append(("delete", req.key, req.range_end))
    elif isinstance(req, TxnRequest):
        assert isinstance(resp, TxnResponse)
        taken = req.success if resp.succeeded else req.failure
        for sub, sub_resp in zip(taken, resp.responses, strict=True):
            _flatten(sub, sub_resp, out)
    else:
        assert isinstance(req, RangeRequest)


class Recorder:
    """Sends write requests to a store and replays each on the :class:`History`.

    Thread-safe: a lock keeps the replay in the order the store applied the requests.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.history = History()
        self._lock = threading.Lock()

    def do(self, req: RequestOp) -> ResponseOp:
        """Run ``req`` on the store and record it (a request the store refuses records nothing)."""
        with self._lock:
            resp = self.store.do(req)
            ops: list[tuple[str, bytes, bytes]] = []
            _flatten(req, resp, ops)
            self.history.apply(ops, resp.header.revision)
        return resp

    def compact(self, revision: int) -> None:
        """Compact the store and note it (prev_kv may be missing below it from now on)."""
        with self._lock:
            self.store.compact(revision)
            self.history.compactions.append(revision)


def _fact(ev: Event) -> Fact:
    kv = ev.kv
    return (ev.type, kv.key, kv.create_revision, kv.mod_revision, kv.version, kv.value)


def _join_fragments(responses: list[WatchResponse], errors: list[str]) -> list[WatchResponse]:
    out: list[WatchResponse] = []
    parts: list[WatchResponse] = []
    for r in responses:
        if r.fragment or parts:
            if parts and (r.watch_id, r.header) != (parts[0].watch_id, parts[0].header):
                errors.append(f"fragment of another response interleaved: {r}")
            parts.append(r)
            if not r.fragment:
                events = tuple(e for p in parts for e in p.events)
                out.append(WatchResponse(parts[0].header, parts[0].watch_id, events=events))
                parts = []
            continue
        out.append(r)
    if parts:
        errors.append("a fragmented response never ended")
    return out


def _check_watch(history: History, log: WatchLog, n: int) -> list[str]:
    """Every rule for one watch; returns the violations."""
    errors: list[str] = []
    spec = log.spec
    responses = _join_fragments(log.responses, errors)
    if not responses:
        return errors
    created = responses[0]
    if not created.created:
        errors.append(f"first response is not 'created': {created}")
        return errors
    if created.canceled:
        if created.watch_id != -1 or not created.cancel_reason or len(responses) > 1:
            errors.append(f"bad refused create: {responses}")
        return errors
    wid = created.watch_id
    compacted = max(history.compactions, default=0)
    first_expected = spec.start_revision or created.header.revision + 1
    events: list[Event] = []
    last_event_rev = 0
    notified = 0
    last_response_rev = 0
    for i, r in enumerate(responses[1:], 1):
        if r.created:
            errors.append(f"second 'created' at {i}: {r}")
        if r.watch_id not in (wid, -1):
            errors.append(f"response of watch {r.watch_id} in the log of {wid}")
        if r.canceled:
            if i != len(responses) - 1:
                errors.append(f"responses after 'canceled' at {i}")
            if r.compact_revision and (r.header.revision != 0 or r.compact_revision > compacted):
                errors.append(f"bad compaction cancel: {r}")
            continue
        if r.is_progress_notify:
            rev = r.header.revision
            if rev < notified:  # Bookmarkable: non-decreasing
                errors.append(f"Bookmarkable: progress {rev} after progress {notified}")
            if rev < last_event_rev:
                errors.append(f"Bookmarkable: progress {rev} before event {last_event_rev}")
            notified = max(notified, rev)
            continue
        if not r.events:
            errors.append(f"empty response that is no progress notification: {r}")
            continue
        revs = [e.kv.mod_revision for e in r.events]
        if r.header.revision < max(revs):
            errors.append(f"header {r.header.revision} below its events {revs}")
        if r.header.revision < last_response_rev:
            errors.append(f"header revision went back: {r.header.revision} < {last_response_rev}")
        last_response_rev = r.header.revision
        if events and revs[0] == events[-1].kv.mod_revision:  # Atomic
            errors.append(f"Atomic: revision {revs[0]} split across responses")
        if revs[0] <= notified:  # Bookmarkable
            errors.append(f"Bookmarkable: event at {revs[0]} after progress at {notified}")
        events.extend(r.events)
        last_event_rev = revs[-1]
    seen: set[tuple[int, bytes]] = set()
    prev_rev = 0
    for ev in events:
        kv = ev.kv
        rev = kv.mod_revision
        if not spec.matches(kv.key):  # Filter
            errors.append(f"Filter: key {kv.key!r} outside the watch")
        if spec.no_put if ev.type is EventType.PUT else spec.no_delete:
            errors.append(f"Filter: {ev.type.name} event passed its filter")
        if rev < prev_rev:  # Ordered
            errors.append(f"Ordered: revision {rev} after {prev_rev}")
        prev_rev = rev
        if (rev, kv.key) in seen:  # Unique
            errors.append(f"Unique: ({rev}, {kv.key!r}) twice")
        seen.add((rev, kv.key))
        before = history.state_at(rev - 1).get(kv.key)
        if ev.type is EventType.PUT and (kv.version == 1) != (before is None):  # IsCreate
            errors.append(f"IsCreate: {kv} with the key {'absent' if before is None else 'live'}")
        if ev.prev_kv is not None:  # PrevKV
            p = ev.prev_kv
            if not spec.prev_kv:
                errors.append(f"PrevKV: not asked for, got {p}")
            elif before is None or (
                p.key,
                p.create_revision,
                p.mod_revision,
                p.version,
                p.value,
            ) != (
                kv.key,
                *before,
            ):
                errors.append(f"PrevKV: {p} but the key at {rev - 1} was {before}")
        elif spec.prev_kv and before is not None and rev - 1 >= compacted:
            errors.append(f"PrevKV: missing for {kv} (key live at {rev - 1})")
    if spec.start_revision and events:  # Resumable
        want = history.matching(spec, spec.start_revision, history.revision)
        if not want or _fact(events[0]) != want[0]:
            errors.append(f"Resumable: first event {_fact(events[0])}, replay {want[:1]}")
    last_observed = max(last_event_rev, notified)
    if last_observed:  # Reliable
        got = [_fact(e) for e in events if e.kv.mod_revision >= first_expected]
        if len(got) != len(events):
            errors.append(f"Reliable: events before the first expected revision {first_expected}")
        want = history.matching(spec, first_expected, last_observed)
        if got != want:
            errors.append(
                f"Reliable: from {first_expected} to {last_observed} got {got}, replay {want}"
            )
    return [f"watch #{n} ({spec}): {e}" for e in errors]


def validate(history: History, logs: list[WatchLog]) -> None:
    """Check every watch in ``logs`` against ``history``; AssertionError lists the violations."""
    errors: list[str] = []
    for n, log in enumerate(logs):
        errors.extend(_check_watch(history, log, n))
    assert not errors, "watch validation failed:\n" + "\n".join(errors[:20])
