"""How key-values, events and responses show themselves in a terminal and in a notebook.

``repr`` is short and readable: a key or value that decodes as UTF-8 text shows as a ``str``
literal (``'config/db'``), anything else as a ``bytes`` literal; one longer than
:data:`REPR_LIMIT` characters (or bytes) is cut, with its full size after it
(``'aaaa'…(1000 bytes)``). Fields at their zero value are left out, a response's header shows as
its ``revision``, and lease ids are in hex, as etcdctl prints them. The field names are the
attributes', so what is shown is what to type to read it.

``_repr_html_`` (what Jupyter shows) is a table of key, value, create and mod revision, version
and lease, HTML-escaped, for a :class:`~etcdlite.KeyValue`, an :class:`~etcdlite.Event`, a
:class:`~etcdlite.RangeResponse`, a :class:`~etcdlite.WatchResponse` and a :class:`History`.

>>> from etcdlite import KeyValue
>>> KeyValue(b"app/name", 2, 3, 2, "héllo".encode())
KeyValue(key='app/name', value='héllo', create_revision=2, mod_revision=3, version=2)
>>> KeyValue(b"blob", 2, 2, 1, bytes(range(250, 256)), lease=0x694D)
KeyValue(key='blob', value=b'\\xfa\\xfb\\xfc\\xfd\\xfe\\xff', create_revision=2, mod_revision=2, \
version=1, lease=0x694d)
"""

from __future__ import annotations

import enum
import html
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ._model import Event, KeyValue

__all__ = (
    "HTML_LIMIT",
    "REPR_LIMIT",
    "REPR_MAX_ITEMS",
    "History",
    "event_repr",
    "events_html",
    "key_value_html",
    "key_value_repr",
    "key_values_html",
    "response_repr",
    "show_bytes",
)

#: Longest key or value a ``repr`` shows in full (characters of text, or bytes).
REPR_LIMIT = 48
#: Longest key or value a ``_repr_html_`` table cell shows in full.
HTML_LIMIT = 200
#: Most key-values or events a ``repr`` lists; the rest are counted.
REPR_MAX_ITEMS = 10

#: Fields whose numbers are ids that etcdctl prints in hex.
_HEX_FIELDS = frozenset({"lease", "id"})


def _text(data: bytes) -> str | None:
    """``data`` as text when it is UTF-8 without control characters (tabs and newlines pass)."""
    try:
        text = data.decode()
    except UnicodeDecodeError:
        return None
    if text.isprintable() or all(c.isprintable() or c in "\t\n\r" for c in text):
        return text
    return None


def show_bytes(data: object, limit: int = REPR_LIMIT) -> str:
    """``data`` as a ``str`` literal if it is text, else as a ``bytes`` literal, cut at ``limit``.

    >>> show_bytes(b"hello"), show_bytes(b"\\xff\\x00"), show_bytes(b"a" * 60, limit=4)
    ("'hello'", "b'\\\\xff\\\\x00'", "'aaaa'…(60 bytes)")
    """
    if not isinstance(data, bytes):
        return repr(data)
    text = _text(data)
    if text is None:
        if len(data) <= limit:
            return repr(data)
        return f"{data[: limit // 2]!r}…({len(data)} bytes)"
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}…({len(data)} bytes)"


def _show_field(name: str, value: object) -> str:
    if isinstance(value, bytes):
        return show_bytes(value)
    if name in _HEX_FIELDS and isinstance(value, int) and not isinstance(value, bool):
        return hex(value)
    if isinstance(value, tuple):
        return _show_items(value)
    if isinstance(value, enum.Enum):
        return value.name  # PUT, DELETE
    return repr(value)


def _show_items(items: tuple[object, ...]) -> str:
    shown = [show_bytes(i) if isinstance(i, bytes) else repr(i) for i in items[:REPR_MAX_ITEMS]]
    if len(items) > REPR_MAX_ITEMS:
        shown.append(f"…(+{len(items) - REPR_MAX_ITEMS})")
    if len(items) == 1:
        return f"({shown[0]},)"
    return f"({', '.join(shown)})"


def _is_zero(value: object) -> bool:
    return value is None or value is False or value == 0 or value in (b"", "", ())


def response_repr(obj: object, *, always: Iterable[str] = ()) -> str:
    """``Name(field=value, ...)`` for an attrs value type: the header as its ``revision``,
    fields with a default left out at their zero value unless named in ``always``."""
    fields: Any = getattr(type(obj), "__attrs_attrs__", ())
    keep = set(always)
    parts = []
    for f in fields:
        value = getattr(obj, f.name)
        if f.name == "header":
            parts.append(f"revision={getattr(value, 'revision', value)!r}")
        elif f.name in keep or f.default is attrs.NOTHING or not _is_zero(value):
            parts.append(f"{f.name}={_show_field(f.name, value)}")
    return f"{type(obj).__name__}({', '.join(parts)})"


def key_value_repr(kv: KeyValue) -> str:
    """A KeyValue: key first, then the value (shown while the key exists), then the numbers."""
    parts = [f"key={_show_field('key', kv.key)}"]
    if kv.version or kv.value:
        parts.append(f"value={_show_field('value', kv.value)}")
    for name in ("create_revision", "mod_revision", "version", "lease"):
        value = getattr(kv, name)
        if not _is_zero(value):
            parts.append(f"{name}={_show_field(name, value)}")
    return f"KeyValue({', '.join(parts)})"


def event_repr(event: Event) -> str:
    """An Event: its type by name, its key-value and, when set, the previous one."""
    prev = "" if event.prev_kv is None else f", prev_kv={event.prev_kv!r}"
    return f"Event(type={_show_field('type', event.type)}, kv={event.kv!r}{prev})"


# --------------------------------------------------------------------------- HTML tables

_COLUMNS = ("key", "value", "create revision", "mod revision", "version", "lease")
_STYLE = "font-family: monospace; text-align: left"


def _cell(data: bytes) -> str:
    text = _text(data)
    if text is None:
        shown = show_bytes(data, HTML_LIMIT)
    elif len(text) > HTML_LIMIT:
        shown = f"{text[:HTML_LIMIT]}…({len(data)} bytes)"
    else:
        shown = text
    return html.escape(shown)


def _kv_cells(kv: KeyValue | None) -> list[str]:
    if kv is None:
        return ["", "", "", "", "", ""]
    live = bool(kv.version)
    return [
        _cell(kv.key),
        _cell(kv.value) if live or kv.value else "",
        str(kv.create_revision) if live else "",
        str(kv.mod_revision),
        str(kv.version) if live else "",
        f"{kv.lease:x}" if kv.lease else "",
    ]


def _table(caption: str, head: Iterable[str], rows: Iterable[list[str]]) -> str:
    th = "".join(f"<th style='{_STYLE}'>{html.escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td style='{_STYLE}'>{c}</td>" for c in row) + "</tr>" for row in rows
    )
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def key_values_html(kvs: Iterable[KeyValue], caption: str = "") -> str:
    """An HTML table of key-values, one row each, under ``caption``.

    >>> from etcdlite import KeyValue
    >>> "<td style='font-family: monospace; text-align: left'>&lt;b&gt;</td>" in key_values_html(
    ...     [KeyValue(b"k", 2, 2, 1, b"<b>")])
    True
    """
    return _table(caption, _COLUMNS, (_kv_cells(kv) for kv in kvs))


def key_value_html(kv: KeyValue) -> str:
    """A one-row HTML table of ``kv``."""
    return key_values_html((kv,))


def events_html(events: Iterable[Event], caption: str = "") -> str:
    """An HTML table of events: the type, the key-value's columns and, when the events carry
    it, the previous value."""
    events = tuple(events)
    with_prev = any(e.prev_kv is not None for e in events)
    head = ("type", *_COLUMNS) + (("previous value",) if with_prev else ())
    rows = []
    for e in events:
        row = [html.escape(e.type.name), *_kv_cells(e.kv)]
        if with_prev:
            row.append(_cell(e.prev_kv.value) if e.prev_kv is not None else "")
        rows.append(row)
    return _table(caption, head, rows)


class History(tuple["Event", ...]):
    """The events of a key or a range between two revisions, as ``Store.history`` finds them: a
    tuple of :class:`~etcdlite.Event` that a notebook shows as a table.

    >>> from etcdlite import Store
    >>> store = Store()
    >>> for v in "ab": _ = store.put("k", v)
    >>> h = History(store.history("k"))
    >>> h == store.history("k"), "<td style='font-family: monospace; text-align: left'>b</td>" in (
    ...     h._repr_html_())
    (True, True)
    """

    __slots__ = ()

    def _repr_html_(self) -> str:
        if not self:
            return events_html((), "no events")
        first, last = self[0].kv.mod_revision, self[-1].kv.mod_revision
        n = len(self)
        return events_html(self, f"{n} event{'s' if n != 1 else ''}, revisions {first}-{last}")
