"""Readable reprs and notebook tables of key-values, events and responses."""

from __future__ import annotations

import html
import re

import pytest

from etcdlite import (
    CompactionResponse,
    DeleteRangeResponse,
    Event,
    EventType,
    KeyValue,
    PutResponse,
    RangeResponse,
    ResponseHeader,
    Store,
    TxnResponse,
    WatchResponse,
)
from etcdlite._model_repr import REPR_LIMIT, History, show_bytes

H = ResponseHeader(cluster_id=1, member_id=2, revision=7, raft_term=3)
KV = KeyValue(b"app/name", 2, 5, 3, b"web", 0)


@pytest.mark.parametrize(
    ("data", "shown"),
    [
        (b"plain", "'plain'"),
        ("héllo €".encode(), "'héllo €'"),
        (b"two\nlines\tand tab", "'two\\nlines\\tand tab'"),
        (b"\xff\xfe", "b'\\xff\\xfe'"),
        (b"nul\x00inside", "b'nul\\x00inside'"),
        (b"", "''"),
        (b"x" * (REPR_LIMIT + 1), f"'{'x' * REPR_LIMIT}'…({REPR_LIMIT + 1} bytes)"),
        (b"\xff" * 100, repr(b"\xff" * (REPR_LIMIT // 2)) + "…(100 bytes)"),
        ("é".encode() * 30, f"'{'é' * 30}'"),
    ],
    ids=[
        "ascii",
        "utf8",
        "escapes",
        "binary",
        "control",
        "empty",
        "long-text",
        "long-binary",
        "wide",
    ],
)
def test_show_bytes_text_when_it_decodes(data: bytes, shown: str) -> None:
    """Bytes that decode as printable UTF-8 show as text, others as bytes; long ones are cut
    with their size."""
    assert show_bytes(data) == shown


@pytest.mark.parametrize(
    ("obj", "shown"),
    [
        (KV, "KeyValue(key='app/name', value='web', create_revision=2, mod_revision=5, version=3)"),
        (
            KeyValue(b"k", 2, 2, 1, b"", 0x694D),
            (
                "KeyValue(key='k', value='', create_revision=2, mod_revision=2, version=1, "
                "lease=0x694d)"
            ),
        ),
        (KeyValue(b"gone", mod_revision=9), "KeyValue(key='gone', mod_revision=9)"),
        (PutResponse(H), "PutResponse(revision=7)"),
        (PutResponse(H, KV), f"PutResponse(revision=7, prev_kv={KV!r})"),
        (RangeResponse(H), "RangeResponse(revision=7, count=0)"),
        (
            RangeResponse(H, (KV,), True, 4),
            f"RangeResponse(revision=7, kvs=({KV!r},), more=True, count=4)",
        ),
        (DeleteRangeResponse(H, 0), "DeleteRangeResponse(revision=7, deleted=0)"),
        (
            TxnResponse(H, False, (PutResponse(H),)),
            "TxnResponse(revision=7, succeeded=False, responses=(PutResponse(revision=7),))",
        ),
        (CompactionResponse(H), "CompactionResponse(revision=7)"),
        (Event(EventType.PUT, KV), f"Event(type=PUT, kv={KV!r})"),
        (
            Event(EventType.DELETE, KeyValue(b"app/name", mod_revision=6), KV),
            f"Event(type=DELETE, kv=KeyValue(key='app/name', mod_revision=6), prev_kv={KV!r})",
        ),
        (WatchResponse(H, 3, created=True), "WatchResponse(revision=7, watch_id=3, created=True)"),
        (
            WatchResponse(H, canceled=True, compact_revision=4),
            "WatchResponse(revision=7, canceled=True, compact_revision=4)",
        ),
    ],
    ids=[
        "kv",
        "kv-lease",
        "kv-deleted",
        "put",
        "put-prev",
        "range-empty",
        "range",
        "delete",
        "txn",
        "compaction",
        "event-put",
        "event-delete",
        "watch-created",
        "watch-compacted",
    ],
)
def test_repr_is_short_and_readable(obj: object, shown: str) -> None:
    """Zero fields are left out, the header shows as its revision, lease ids in hex."""
    assert repr(obj) == shown


def test_repr_lists_at_most_ten_items() -> None:
    """A long tuple of key-values is cut after ten, with how many more there are."""
    kvs = tuple(KeyValue(f"k{i}".encode(), 2, 2, 1, b"v") for i in range(13))
    text = repr(RangeResponse(H, kvs, False, 13))
    assert text.count("KeyValue(") == 10
    assert text.endswith(", …(+3)), count=13)")


def test_values_are_still_bytes() -> None:
    """Only the display changes: the fields keep their bytes and equality is unchanged."""
    kv = KeyValue(b"k", 2, 2, 1, "é".encode())
    assert kv.value == b"\xc3\xa9"
    assert "é" in repr(kv)
    assert kv == KeyValue(b"k", 2, 2, 1, b"\xc3\xa9")


def _cells(table: str) -> list[str]:
    return [html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", table)]


def test_range_response_html_is_an_escaped_table() -> None:
    """A RangeResponse shows in a notebook as a table of its key-values, escaped."""
    resp = RangeResponse(H, (KeyValue(b"<k>", 2, 3, 2, b"a & b", 0x1F),), False, 1)
    table = resp._repr_html_()
    assert table.startswith("<table><caption>revision 7: 1 keys</caption>")
    assert "<k>" not in table
    assert "&lt;k&gt;" in table
    assert _cells(table) == ["<k>", "a & b", "2", "3", "2", "1f"]
    for column in ("key", "value", "create revision", "mod revision", "version", "lease"):
        assert f">{column}</th>" in table


def test_binary_values_show_as_bytes_in_html() -> None:
    """A value that is not text shows as a bytes literal in its cell."""
    assert _cells(KeyValue(b"k", 2, 2, 1, b"\xff")._repr_html_())[1] == "b'\\xff'"


def test_event_and_watch_response_html_have_a_type_column() -> None:
    """Events show their type; a deletion shows no value, and the previous value when asked."""
    events = (
        Event(EventType.PUT, KeyValue(b"k", 2, 2, 1, b"v1")),
        Event(EventType.DELETE, KeyValue(b"k", mod_revision=3), KeyValue(b"k", 2, 2, 1, b"v1")),
    )
    table = WatchResponse(H, 0, events=events)._repr_html_()
    assert ">type</th>" in table
    assert ">previous value</th>" in table
    assert _cells(table) == [
        "PUT",
        "k",
        "v1",
        "2",
        "2",
        "1",
        "",
        "",
        "DELETE",
        "k",
        "",
        "",
        "3",
        "",
        "",
        "v1",
    ]
    assert "<caption>watch 0, revision 7</caption>" in table
    assert _cells(events[0]._repr_html_()) == ["PUT", "k", "v1", "2", "2", "1", ""]


def test_history_is_a_tuple_with_a_table() -> None:
    """History wraps Store.history's events: the same tuple, shown as a table of revisions."""
    store = Store()
    for v in ("a", "b"):
        store.put("k", v)
    store.delete("k")
    events = store.history("k")
    h = History(events)
    assert h == events
    assert isinstance(h, tuple)
    table = h._repr_html_()
    assert "<caption>3 events, revisions 2-4</caption>" in table
    assert [c for c in _cells(table) if c in ("PUT", "DELETE")] == ["PUT", "PUT", "DELETE"]
    assert "no events" in History(())._repr_html_()
    store.close()
