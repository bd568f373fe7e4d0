"""Watch events and responses: an event's ``prev_kv``, etcd's protobuf sizes, fragments.

* :func:`make_event` turns a record of the revision log into an :class:`~etcdlite.Event`,
  looking ``prev_kv`` up at ``mod_revision - 1`` as etcd's server does;
* :func:`response_size` is the size of a :class:`~etcdlite.WatchResponse` in etcd's protobuf
  encoding, and :func:`fragments` splits a response on it exactly where etcd's
  ``sendFragments`` does (the conformance tests compare the split with a real etcd's).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._model import Event, EventType, KeyValue, ResponseHeader, WatchResponse
from ._mvcc._index import entry_at
from ._mvcc._txn import _bytes_field, _int_field, _message_field

if TYPE_CHECKING:
    from ._mvcc._kv import KV

__all__ = ("fragments", "make_event", "response_size")


def _event_size(ev: Event) -> int:
    """The protobuf size of ``ev`` as a field of a WatchResponse (tag, length, body)."""
    return _message_field(
        (2 if ev.type else 0)
        + _message_field(_kv_size(ev.kv))
        + (_message_field(_kv_size(ev.prev_kv)) if ev.prev_kv is not None else 0)
    )


def _kv_size(kv: KeyValue) -> int:
    return (
        _bytes_field(kv.key)
        + _int_field(kv.create_revision)
        + _int_field(kv.mod_revision)
        + _int_field(kv.version)
        + _bytes_field(kv.value)
        + _int_field(kv.lease)
    )


def _head_size(hdr: ResponseHeader, watch_id: int, fragment: bool) -> int:
    h = _int_field(hdr.cluster_id) + _int_field(hdr.member_id)
    h += _int_field(hdr.revision) + _int_field(hdr.raft_term)
    return (_message_field(h) if h else 0) + _int_field(watch_id) + 2 * fragment


def response_size(resp: WatchResponse) -> int:
    """The size of ``resp`` in etcd's protobuf encoding (what ``fragment`` splits on).

    >>> from etcdlite import ResponseHeader
    >>> response_size(WatchResponse(ResponseHeader(revision=2), 1, created=True))
    8
    """
    return (
        _head_size(resp.header, resp.watch_id, resp.fragment)
        + 2 * (resp.created + resp.canceled)
        + _int_field(resp.compact_revision)
        + _bytes_field(resp.cancel_reason.encode())
        + sum(_event_size(ev) for ev in resp.events)
    )


def fragments(
    hdr: ResponseHeader, watch_id: int, events: tuple[Event, ...], limit: int
) -> list[WatchResponse]:
    """Split a response of ``events`` as etcd's ``sendFragments`` does.

    Unsplit unless it has two events or more and is at least ``limit`` bytes; otherwise each
    part takes events while it stays under ``limit`` (at least one), and all parts but the last
    say ``fragment=True``.
    """
    sizes = [_event_size(ev) for ev in events]
    base = _head_size(hdr, watch_id, False)
    if len(events) < 2 or base + sum(sizes) < limit:
        return [WatchResponse(hdr, watch_id, events=events)]
    base += 2  # the fragment flag
    out: list[WatchResponse] = []
    i, n = 0, len(events)
    while i < n:
        j, size = i, base
        while j < n:
            size += sizes[j]
            if j > i and size >= limit:
                break
            j += 1
        out.append(WatchResponse(hdr, watch_id, events=events[i:j], fragment=j < n))
        i = j
    return out


def make_event(kv: KV, rec: KeyValue, rev: int, prev_kv: bool) -> Event:
    """The event of record ``rec`` at ``rev``; with ``prev_kv``, the key's record at ``rev - 1``.

    As etcd's ``sendLoop``: a create (version 1) has no previous record, and none is looked
    up below the compaction revision.
    """
    if rec.version:
        if not prev_kv or rec.version == 1 or rev - 1 < kv.compact_revision:
            return Event(EventType.PUT, rec)
        entry = kv.lookup(rec.key)
        return Event(EventType.PUT, rec, None if entry is None else entry_at(entry, rev - 1))
    if not prev_kv or rev - 1 < kv.compact_revision:
        return Event(EventType.DELETE, rec)
    entry = kv.lookup(rec.key)
    return Event(EventType.DELETE, rec, None if entry is None else entry_at(entry, rev - 1))
