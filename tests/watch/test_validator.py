"""The validator catches each rule's violation: a correct log passes, each broken copy fails."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from etcdlite import Event, EventType, KeyValue, Op, ResponseHeader, Store, WatchResponse

from .validator import History, Recorder, WatchLog, WatchSpec, validate

if TYPE_CHECKING:
    from collections.abc import Callable


def _hdr(rev: int) -> ResponseHeader:
    return ResponseHeader(revision=rev)


def _put(key: bytes, create: int, mod: int, version: int, value: bytes) -> Event:
    return Event(EventType.PUT, KeyValue(key, create, mod, version, value))


@pytest.fixture
def history() -> History:
    """k=1 (rev 2), k=2 (rev 3), delete k (rev 4), k=3 (rev 5), other=x (rev 6)."""
    rec = Recorder(Store())
    for op in (Op.put("k", "1"), Op.put("k", "2"), Op.delete("k"), Op.put("k", "3")):
        rec.do(op)
    rec.do(Op.put("other", "x"))
    return rec.history


GOOD = [
    WatchResponse(_hdr(1), 0, created=True),
    WatchResponse(_hdr(2), events=(_put(b"k", 2, 2, 1, b"1"),)),
    WatchResponse(_hdr(3), events=(_put(b"k", 2, 3, 2, b"2"),)),
    WatchResponse(_hdr(4), events=(Event(EventType.DELETE, KeyValue(b"k", 0, 4, 0)),)),
    WatchResponse(_hdr(5), events=(_put(b"k", 5, 5, 1, b"3"),)),
    WatchResponse(_hdr(6), -1),
]


def _edit(i: int, resp: WatchResponse | None) -> Callable[[list[WatchResponse]], None]:
    def edit(rs: list[WatchResponse]) -> None:
        if resp is None:
            del rs[i]
        else:
            rs[i] = resp

    return edit


BROKEN: list[tuple[str, Callable[[list[WatchResponse]], None], str]] = [
    ("gap", _edit(3, None), "Reliable"),
    ("extra", _edit(5, WatchResponse(_hdr(6), events=(_put(b"k", 5, 6, 2, b"4"),))), "Reliable"),
    (
        "wrong value",
        _edit(2, WatchResponse(_hdr(3), events=(_put(b"k", 2, 3, 2, b"?"),))),
        "Reliable",
    ),
    (
        "other key",
        _edit(5, WatchResponse(_hdr(6), events=(_put(b"other", 6, 6, 1, b"x"),))),
        "Filter",
    ),
    ("reordered", lambda rs: rs.insert(1, rs.pop(2)), "Ordered"),
    ("duplicate", lambda rs: rs.insert(2, rs[1]), "Unique"),
    (
        "split revision",
        lambda rs: rs.insert(2, WatchResponse(_hdr(2), events=rs[1].events)),
        "Atomic",
    ),
    ("progress too early", lambda rs: rs.insert(2, WatchResponse(_hdr(4), -1)), "Bookmarkable"),
    (
        "bad create flag",
        _edit(2, WatchResponse(_hdr(3), events=(_put(b"k", 2, 3, 1, b"2"),))),
        "IsCreate",
    ),
    (
        "prev_kv not asked",
        _edit(
            2,
            WatchResponse(
                _hdr(3),
                events=(
                    Event(
                        EventType.PUT, KeyValue(b"k", 2, 3, 2, b"2"), KeyValue(b"k", 2, 2, 1, b"1")
                    ),
                ),
            ),
        ),
        "PrevKV",
    ),
    ("no created", lambda rs: rs.__delitem__(0), "created"),
    ("after cancel", lambda rs: rs.insert(2, WatchResponse(_hdr(2), 0, canceled=True)), "after"),
]


def test_a_correct_log_passes(history: History) -> None:
    """The real sequence of a watch on k passes every rule."""
    validate(history, [WatchLog(WatchSpec(b"k"), list(GOOD))])


@pytest.mark.parametrize(
    ("edit", "rule"), [(e, r) for _, e, r in BROKEN], ids=[n for n, _, _ in BROKEN]
)
def test_each_violation_is_caught(
    history: History, edit: Callable[[list[WatchResponse]], None], rule: str
) -> None:
    """Each broken copy of the log fails, naming the rule it breaks."""
    responses = list(GOOD)
    edit(responses)
    with pytest.raises(AssertionError, match=re.escape(rule)):
        validate(history, [WatchLog(WatchSpec(b"k"), responses)])


def test_resumable_and_prev_kv(history: History) -> None:
    """With a start revision the first event must be the first one due; prev_kv must be right."""
    spec = WatchSpec(b"k", start_revision=3, prev_kv=True)
    good = [
        WatchResponse(_hdr(6), 0, created=True),
        WatchResponse(
            _hdr(6),
            events=(
                Event(EventType.PUT, KeyValue(b"k", 2, 3, 2, b"2"), KeyValue(b"k", 2, 2, 1, b"1")),
                Event(EventType.DELETE, KeyValue(b"k", 0, 4, 0), KeyValue(b"k", 2, 3, 2, b"2")),
            ),
        ),
    ]
    validate(history, [WatchLog(spec, good)])
    late = [good[0], WatchResponse(_hdr(6), events=good[1].events[1:])]
    with pytest.raises(AssertionError, match="Resumable"):
        validate(history, [WatchLog(spec, late)])
    wrong = [
        good[0],
        WatchResponse(
            _hdr(6),
            events=(
                Event(EventType.PUT, KeyValue(b"k", 2, 3, 2, b"2"), KeyValue(b"k", 2, 2, 1, b"0")),
                good[1].events[1],
            ),
        ),
    ]
    with pytest.raises(AssertionError, match="PrevKV"):
        validate(history, [WatchLog(spec, wrong)])
    missing = [
        good[0],
        WatchResponse(
            _hdr(6),
            events=(Event(EventType.PUT, KeyValue(b"k", 2, 3, 2, b"2")), good[1].events[1]),
        ),
    ]
    with pytest.raises(AssertionError, match="PrevKV: missing"):
        validate(history, [WatchLog(spec, missing)])


def test_the_replay_checks_the_store_revisions() -> None:
    """The recorder refuses a store whose revisions do not follow the replay."""
    history = History()
    history.apply([("put", b"k", b"v")], 2)
    with pytest.raises(AssertionError, match="replay made 3"):
        history.apply([("put", b"k", b"v")], 4)
    with pytest.raises(AssertionError, match="no-op"):
        history.apply([("delete", b"missing", b"")], 3)
