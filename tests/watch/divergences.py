"""Where etcdlite's watch knowingly differs from etcd 3.4.23 (what the conformance tests run).

etcdlite follows current etcd (3.5/3.6) where etcd fixed a watch bug after 3.4. Each difference
is registered once, with its reason; the conformance test that meets it cites its id and asserts
*both* behaviours (3.4's on etcd, the current one on the Store), so the registry is checked
against a real etcd on every run rather than believed.

>>> sorted(DIVERGENCES)  # doctest: +NORMALIZE_WHITESPACE
['cancel-after-compaction', 'compaction-drops-tombstone', 'negative-start-revision',
 'progress-request-empty-stream', 'progress-request-unsynced']
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ("DIVERGENCES", "Divergence")


@dataclass(frozen=True)
class Divergence:
    """One known difference: what etcd 3.4.23 does, what etcdlite does, and why."""

    id: str
    etcd_34: str
    etcdlite: str
    reason: str
    refs: tuple[str, ...] = ()


_ALL = (
    Divergence(
        "progress-request-unsynced",
        etcd_34="a progress request is answered at once, even while the stream's watchers are "
        "still replaying history: the answer (watch id -1, current revision) can come *before* "
        "events at lower revisions [O]",
        etcdlite="answers once every watcher of the stream has caught up (after those events)",
        reason="3.4's answer breaks the Bookmarkable guarantee; etcd 3.5 answers only when all "
        "the stream's watchers are synced (it drops the request otherwise; etcdlite keeps it "
        "pending instead, so a caller waiting for the answer is never left hanging)",
        refs=("etcd server/storage/mvcc/watchable_store.go progressIfSync (3.5+)",),
    ),
    Divergence(
        "progress-request-empty-stream",
        etcd_34="a progress request on a stream without watchers is answered [S]",
        etcdlite="answered too (every watcher of an empty stream is synced)",
        reason="etcd 3.5+ sends nothing there (no watcher to send it through); answering is "
        "what 3.4 does and harmless; recorded so nobody 'fixes' it by accident",
    ),
    Divergence(
        "negative-start-revision",
        etcd_34="created, then canceled with compact_revision -1 and a header without revision "
        "(the watcher's minRev falls below the store's initial compactMainRev of -1) [O]",
        etcdlite="created and canceled at once, watch id -1, cancel_reason "
        "'etcdserver: mvcc: required revision has been compacted' (etcd 3.6's check in "
        "v3rpc/watch.go)",
        reason="3.4's answer is an accident of an internal sentinel; 3.6 rejects the request",
    ),
    Divergence(
        "compaction-drops-tombstone",
        etcd_34="compacting at R drops a tombstone exactly at R: a watch from R misses that "
        "DELETE [O]",
        etcdlite="keeps it (Store(compat='3.4') drops it, as 3.4)",
        reason="the compaction removes revisions below R only",
        refs=("etcd-io/etcd#18089", "etcd-io/etcd#18274"),
    ),
    Divergence(
        "cancel-after-compaction",
        etcd_34="a watcher canceled by compaction keeps its id on the stream until the client "
        "cancels it (a later cancel is answered; a create with that id is a duplicate) [S]",
        etcdlite="the id is freed with the compaction cancel (a later cancel raises "
        "WatcherNotExistError; the id can be reused)",
        reason="clientv3 never reuses an id; keeping a dead id reserved buys nothing in-process",
    ),
)

#: id -> divergence.
DIVERGENCES: dict[str, Divergence] = {d.id: d for d in _ALL}
