"""The synced watchers' index agrees with a brute-force scan, whatever is added and removed."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from etcdlite import _watch_index as watch_index
from etcdlite import prefix_end
from etcdlite._watch import Watcher
from etcdlite._watch_index import WatcherIndex

key_bytes = st.lists(st.sampled_from([b"\0", b"a", b"b", b"\xff"]), min_size=1, max_size=3).map(
    b"".join
)


@st.composite
def ranges(draw: st.DrawFn) -> tuple[bytes, bytes]:
    """(key, end) in etcd's form, of every shape the index keeps apart."""
    key = draw(key_bytes)
    shape = draw(st.sampled_from(["key", "prefix", "from", "all", "range"]))
    if shape == "key":
        return key, b""
    if shape == "prefix":
        return key, prefix_end(key)
    if shape == "from":
        return key, b"\0"
    if shape == "all":
        return b"\0", b"\0"
    end = draw(key_bytes)
    return (key, end) if key < end else (end, key + b"\0")


ops = st.lists(
    st.one_of(
        st.tuples(st.just("add"), ranges()),
        st.tuples(st.just("remove"), st.integers(0, 100)),
        st.tuples(st.just("match"), key_bytes),
    ),
    max_size=60,
)


@pytest.mark.parametrize(("max_lengths", "pending"), [(16, 32), (1, 0), (2, 3)])
@settings(max_examples=100, deadline=None)
@given(ops=ops)
def test_index_matches_brute_force(
    max_lengths: int, pending: int, ops: list[tuple[str, object]]
) -> None:
    """match(key) finds exactly the watchers whose range holds the key (tiny tuning knobs too)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(watch_index, "MAX_PREFIX_LENGTHS", max_lengths)
        mp.setattr(watch_index, "PENDING_RANGES", pending)
        _play(ops)


def _play(ops: list[tuple[str, object]]) -> None:
    idx = WatcherIndex()
    live: list[Watcher] = []
    n = 0
    for op, arg in ops:
        if op == "add":
            assert isinstance(arg, tuple)
            w = Watcher(n, arg[0], arg[1])
            n += 1
            idx.add(w)
            live.append(w)
        elif op == "remove" and live:
            idx.remove(live.pop(arg % len(live)))  # type: ignore[operator]
        elif op == "match":
            got = sorted(w.id for w in idx.match(arg))  # type: ignore[arg-type]
            assert got == sorted(w.id for w in live if w.matches(arg))  # type: ignore[arg-type]
        idx._check()
        assert len(idx) == len(live)


def test_groups_are_disjoint_and_cheap_for_keys() -> None:
    """A key's watchers come back as the key map's own set (no copy), once each."""
    idx = WatcherIndex()
    ws = [Watcher(i, b"k", b"") for i in range(3)]
    for w in ws:
        idx.add(w)
    idx.add(Watcher(9, b"j", b"l"))
    groups = idx.groups(b"k")
    assert groups[0] is idx._keys[b"k"]
    assert sorted(w.id for g in groups for w in g) == [0, 1, 2, 9]
    assert idx.groups(b"z") == []
