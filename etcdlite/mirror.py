"""Copying a prefix of a store somewhere else (clientv3's ``mirror`` package).

A :class:`Syncer` reads a consistent copy of every key under a prefix, then follows every later
change, with nothing missed or applied twice in between:

1. :meth:`Syncer.sync_base` reads the prefix at one pinned revision, in pages of
   :data:`BATCH_LIMIT` keys sorted by key (each page starts just after the last key of the
   previous one), so a large prefix is copied without one huge response, and writes made
   meanwhile do not show up in the copy;
2. :meth:`Syncer.sync_updates` watches the prefix from that revision + 1: replaying its events
   onto the copy brings it up to date, and keeps it there.

This is clientv3's ``mirror.NewSyncer(c, prefix, rev)`` with ``SyncBase`` and ``SyncUpdates``
(``client/v3/mirror/syncer.go``): a revision of 0 means "the store's revision when
``sync_base`` starts"; an empty prefix copies the whole keyspace. A pinned revision that is
compacted away meanwhile makes the next page raise :class:`~etcdlite.errors.CompactedError`,
and the watch from it end canceled with ``compact_revision`` set.

>>> from etcdlite import Store
>>> store = Store()
>>> for i in range(5): _ = store.put(f"app/{i}", str(i))
>>> syncer = Syncer(store, "app/", batch_limit=2)
>>> copy = {kv.key: kv.value for page in syncer.sync_base() for kv in page.kvs}
>>> len(copy), syncer.revision
(5, 6)
>>> _ = store.put("app/0", "changed"); _ = store.delete("app/4")
>>> with syncer.sync_updates() as w:
...     created, resp = w.receive(), w.receive(timeout=10)
>>> [(e.type.name, e.kv.key, e.kv.mod_revision) for e in resp.events]
[('PUT', b'app/0', 7), ('DELETE', b'app/4', 8)]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

from . import _model

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ._model import RangeResponse, SortOrder, SortTarget

__all__ = ("BATCH_LIMIT", "SyncClient", "Syncer")

#: Keys per page of :meth:`Syncer.sync_base` (clientv3's ``batchLimit``).
BATCH_LIMIT = 1000

_W_co = TypeVar("_W_co", covariant=True)
_W = TypeVar("_W")


class SyncClient(Protocol[_W_co]):
    """What a :class:`Syncer` needs of a client: ``get`` and ``watch`` with these keywords.

    :class:`~etcdlite.Store` and :class:`~etcdlite.namespace.Namespace` are such clients;
    the type parameter is the type of their watches, which :meth:`Syncer.sync_updates` returns.
    """

    def get(
        self,
        key: str | bytes,
        *,
        range_end: str | bytes | None = None,
        revision: int = 0,
        limit: int = 0,
        sort_target: str | SortTarget = "key",
        sort_order: str | SortOrder = "none",
    ) -> RangeResponse: ...

    def watch(
        self, key: str | bytes, *, prefix: bool = False, start_revision: int = 0
    ) -> _W_co: ...


class Syncer(Generic[_W]):
    """Copy the keys under ``prefix`` at one revision, then follow their changes (clientv3
    ``mirror.NewSyncer``).

    ``revision`` pins the copy (0: the store's revision when :meth:`sync_base` starts);
    ``batch_limit`` is the page size (clientv3's is fixed at 1000; smaller pages are for tests).
    Raises ``TypeError``/``ValueError`` for arguments of the wrong type or sign.
    """

    __slots__ = ("_batch_limit", "_client", "_prefix", "_revision")

    def __init__(
        self,
        client: SyncClient[_W],
        prefix: str | bytes = b"",
        revision: int = 0,
        *,
        batch_limit: int = BATCH_LIMIT,
    ) -> None:
        self._client = client
        self._prefix = _model.to_bytes(prefix, "prefix")
        self._revision = _model.to_int(revision, "revision")
        self._batch_limit = _model.to_int(batch_limit, "batch_limit")
        if self._revision < 0:
            raise ValueError("revision cannot be negative")
        if self._batch_limit <= 0:
            raise ValueError("batch_limit must be positive")

    @property
    def prefix(self) -> bytes:
        """The prefix copied (``b""``: the whole keyspace)."""
        return self._prefix

    @property
    def revision(self) -> int:
        """The revision the copy is pinned at (0 until :meth:`sync_base` has chosen one)."""
        return self._revision

    def sync_base(self) -> Iterator[RangeResponse]:
        """The keys under the prefix at the pinned revision: an iterator of ``RangeResponse``
        pages of at most ``batch_limit`` keys, in key order (clientv3 ``SyncBase``).

        The revision is pinned when this is called (0 becomes the store's current revision);
        the pages are read as they are iterated, each at that revision, so writes made while
        iterating are not in the copy. The last page has ``more`` false (an empty prefix gives
        one empty page). Raises :class:`~etcdlite.errors.CompactedError` from the page whose
        read finds the revision compacted away.

        >>> from etcdlite import Store
        >>> store = Store()
        >>> for k in "abc": _ = store.put(k, k)
        >>> pages = Syncer(store, batch_limit=2).sync_base()
        >>> _ = store.put("d", "d")  # after the revision was pinned: not in the copy
        >>> [([kv.key for kv in p.kvs], p.more) for p in pages]
        [([b'a', b'b'], True), ([b'c'], False)]
        """
        if self._revision == 0:
            # clientv3 reads an arbitrary key ("foo") for the current revision.
            self._revision = self._client.get(b"foo").header.revision
        return self._pages(self._revision)

    def _pages(self, revision: int) -> Iterator[RangeResponse]:
        if self._prefix:
            key, end = self._prefix, _model.prefix_end(self._prefix)
        else:
            key, end = b"\0", b"\0"  # the whole keyspace: from the smallest key on
        get, limit = self._client.get, self._batch_limit
        while True:
            page = get(
                key,
                range_end=end,
                revision=revision,
                limit=limit,
                sort_target="key",
                sort_order="ascend",
            )
            yield page
            if not page.more:
                return
            key = page.kvs[-1].key + b"\0"  # the next key after the page's last

    def sync_updates(self) -> _W:
        """A watch of the prefix from the pinned revision + 1 (clientv3 ``SyncUpdates``):
        every change after the copy, in order. Raises ``RuntimeError`` before
        :meth:`sync_base` has pinned a revision.

        >>> from etcdlite import Store
        >>> Syncer(Store()).sync_updates()
        Traceback (most recent call last):
        RuntimeError: no revision to sync updates from: call sync_base() first
        """
        if self._revision == 0:
            raise RuntimeError("no revision to sync updates from: call sync_base() first")
        return self._client.watch(self._prefix, prefix=True, start_revision=self._revision + 1)

    def __repr__(self) -> str:
        return f"<etcdlite.mirror.Syncer prefix={self._prefix!r} revision={self._revision}>"
