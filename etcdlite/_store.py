"""The ``Store`` facade: validate, take the one lock, apply to the core, build responses.

Everything that decides etcd behaviour lives in :mod:`etcdlite._mvcc`; this module checks
arguments (``TypeError`` naming the argument, etcd's errors for etcd's cases), serializes calls
with a single lock taken once per call, and wraps results in response objects. The common calls
(``put`` of a plain key and value, ``get`` of one key at the current revision) have fast paths
that do the same thing with fewer steps; the general path is the one every other call takes.
"""

from __future__ import annotations

import contextlib
import os
import threading
from typing import TYPE_CHECKING, Any, Literal, NoReturn

import anyio

from . import _hash, _lock_service, _model_maintenance
from ._auth import DEFAULT_HASH_COST, DEFAULT_TOKEN_TTL, AuthStore
from ._clock import MonotonicClock
from ._compactor import new_compactor
from ._lease import DEFAULT_MIN_TTL, Lessor
from ._lease_stream import KeepAlive, Lease
from ._model import (
    CompactionResponse,
    Compare,
    DeleteRangeRequest,
    DeleteRangeResponse,
    Op,
    PutRequest,
    PutResponse,
    RangeRequest,
    RangeResponse,
    RequestOp,
    ResponseHeader,
    SortOrder,
    SortTarget,
    TxnRequest,
    TxnResponse,
    WatchFilter,
    new_delete_range_response,
    new_header,
    new_put_response,
    new_range_response,
    new_txn_response,
    to_bool,
    to_bytes,
    to_int,
)
from ._model_auth import PermissionType
from ._model_lease import (
    CampaignResponse,
    LeaderKey,
    LeaderResponse,
    LeaseGrantResponse,
    LeaseKeepAliveResponse,
    LeaseLeasesResponse,
    LeaseRevokeResponse,
    LeaseStatus,
    LeaseTimeToLiveResponse,
    LockResponse,
    ProclaimResponse,
    ResignResponse,
    UnlockResponse,
)
from ._model_maintenance import (
    AlarmResponse,
    AlarmType,
    DefragmentResponse,
    StatusResponse,
    to_alarm_type,
)
from ._model_repr import History
from ._mvcc._key_index import KeyIndex
from ._mvcc._kv import KV
from ._mvcc._txn import (
    apply_put,
    check_put,
    check_request,
    execute_range,
    is_read_only,
    request_size,
    run_txn,
    size_bound,
)
from ._persist._journal import Journal, capture, install, replay, restore_data_dir
from ._persist._snapshot import dump
from ._persist._snapshot import load as load_snapshot
from ._persist._wal import FSYNC_POLICIES
from ._quota import (
    DEFAULT_QUOTA_BACKEND_BYTES,
    KV_OVERHEAD,
    LEASE_OVERHEAD,
    LEASE_RECORD,
    RECORD_OVERHEAD,
    Alarms,
    quota_limit,
    record_bytes,
    retained_bytes,
    txn_cost,
)
from ._store_auth import AuthMethods
from ._watch import (
    DEFAULT_BATCH_REVISIONS,
    DEFAULT_QUEUE_SIZE,
    GRPC_OVERHEAD_BYTES,
    StreamState,
    WatchHub,
    history,
)
from ._watch_stream import Watch, WatchArgs, WatchStream, watch_args
from .errors import (
    CompactedError,
    CorruptError,
    DataDirError,
    EmptyKeyError,
    EtcdError,
    FutureRevisionError,
    NoSpaceError,
    RequestTooLargeError,
    StoppedError,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from types import TracebackType

    from ._clock import Clock, TimerHandle
    from ._model import KeyValue
    from ._mvcc._index import Entry
    from ._mvcc._kv import WriteTxn
    from ._persist._snapshot import State
    from .concurrency._election import Observe

__all__ = (
    "DEFAULT_MAX_REQUEST_BYTES",
    "DEFAULT_MAX_TXN_OPS",
    "DEFAULT_QUOTA_BACKEND_BYTES",
    "DEFAULT_WATCH_PROGRESS_INTERVAL",
    "ETCD_VERSIONS",
    "Store",
)

#: etcd's ``--max-txn-ops`` default.
DEFAULT_MAX_TXN_OPS = 128
#: etcd's ``--max-request-bytes`` default, 1.5 MiB.
DEFAULT_MAX_REQUEST_BYTES = 1536 * 1024
#: etcd's ``--watch-progress-notify-interval`` default: 10 minutes.
DEFAULT_WATCH_PROGRESS_INTERVAL = 600.0
#: A put whose key and value fit in this many bytes below the limit skips the size estimate.
_SIZE_SLACK = 64

assert RECORD_OVERHEAD == 64, "Store.put's fast path inlines it"

Compat = Literal["3.4", "3.5"]
#: The etcd version each compat profile follows: what :meth:`Store.status` reports.
ETCD_VERSIONS: dict[Compat, str] = {"3.4": "3.4.23", "3.5": "3.5.0"}


def _stopped(*args: object) -> NoReturn:
    raise StoppedError()


class Store(AuthMethods):
    """An in-process store with etcd v3 semantics: put, get, delete, txn, compact.

    Thread-safe: every call takes the store's one lock once. Keys and values may be ``str``
    (UTF-8) or ``bytes``; everything read back is ``bytes``.

    Options:

    * ``max_txn_ops`` (etcd ``--max-txn-ops``, 128) and ``max_request_bytes`` (etcd
      ``--max-request-bytes``, 1.5 MiB);
    * ``cluster_id``, ``member_id`` and ``raft_term`` for response headers (a default single
      etcd member's ids by default);
    * ``compat="3.4"`` reproduces etcd 3.4 where current etcd fixed a bug (compaction then drops
      a tombstone that sits exactly at the compaction revision);
    * ``clock``: where time comes from (:class:`~etcdlite.testing.FakeClock` in tests), and
      ``watch_progress_interval`` (etcd ``--watch-progress-notify-interval``, 10 minutes);
    * watch tuning: ``watch_queue_size`` (responses a watch buffers before it falls behind and
      is caught up from history), ``watch_batch_revisions`` (revisions per catch-up response)
      and ``watch_fragment_bytes`` (the size ``fragment=True`` splits at: by default
      ``max_request_bytes`` plus 512 KiB, as etcd);
    * ``quota_backend_bytes`` (etcd ``--quota-backend-bytes``: 2 GiB; 0 means the default, a
      negative value no quota): the size past which puts and lease grants fail with
      ``NoSpaceError`` and raise the NOSPACE alarm (see :meth:`status`, :meth:`alarm_list`);
    * ``auto_compaction_mode`` (``"periodic"`` or ``"revision"``) and
      ``auto_compaction_retention`` (etcd's flags: ``"0"``, off, by default; ``"1h"``, ``"30m"``
      or a bare number of hours keep that much history; in revision mode, a number of
      revisions), run on ``clock``. See ``docs/maintenance.md``;
    * ``data_dir``: keep the data in this directory (created, mode 0700) and load it back on
      the next open; every acknowledged write is on disk before the call returns.
      ``fsync`` (``"always"``, the default; ``"interval"``; ``"never"``) says how far on disk;
      ``snapshot_count`` (etcd ``--snapshot-count``, 100,000) is the number of log entries
      between snapshots; ``repair=True`` cuts a damaged log at the damage instead of refusing
      to open. See ``docs/durability.md``;
    * auth (see :meth:`auth_enable`, :meth:`as_user` and ``docs/security.md``):
      ``auth_token_ttl`` (etcd ``--auth-token-ttl``, 300 s, on ``clock``) and
      ``password_hash_cost`` (log2 of scrypt's work factor, 14; etcd's ``--bcrypt-cost``).

    >>> with Store() as store:
    ...     store.put("greeting", "hello").header.revision
    ...     store.get("greeting").kvs[0].value
    2
    b'hello'
    """

    __slots__ = (
        "_acquire",
        "_alarms",
        "_auth",
        "_clock",
        "_closed",
        "_cluster_id",
        "_compact_timer",
        "_compactor",
        "_expiry_at",
        "_expiry_timer",
        "_failure",
        "_hdr",
        "_headroom",
        "_headroom_set",
        "_held",
        "_hub",
        "_in_use",
        "_journal",
        "_journal_open",
        "_keep_alives",
        "_kv",
        "_kv_put",
        "_lessor",
        "_lock",
        "_lookup",
        "_max_request_bytes",
        "_max_txn_ops",
        "_member_id",
        "_peak",
        "_progress_interval",
        "_progress_timer",
        "_put_fast_bytes",
        "_quota",
        "_raft_term",
        "_release",
        "compat",
    )

    def __init__(
        self,
        *,
        max_txn_ops: int = DEFAULT_MAX_TXN_OPS,
        max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
        cluster_id: int = 14841639068965178418,
        member_id: int = 10276657743932975437,
        raft_term: int = 2,
        compat: Compat = "3.5",
        clock: Clock | None = None,
        watch_progress_interval: float = DEFAULT_WATCH_PROGRESS_INTERVAL,
        watch_queue_size: int = DEFAULT_QUEUE_SIZE,
        watch_batch_revisions: int = DEFAULT_BATCH_REVISIONS,
        watch_fragment_bytes: int | None = None,
        min_lease_ttl: int = DEFAULT_MIN_TTL,
        quota_backend_bytes: int = DEFAULT_QUOTA_BACKEND_BYTES,
        auto_compaction_mode: str = "periodic",
        auto_compaction_retention: str | int = "0",
        data_dir: str | os.PathLike[str] | None = None,
        fsync: str = "always",
        snapshot_count: int = 100_000,
        repair: bool = False,
        auth_token_ttl: float = DEFAULT_TOKEN_TTL,
        password_hash_cost: int = DEFAULT_HASH_COST,
    ) -> None:
        if compat not in ("3.4", "3.5"):
            raise ValueError(f"compat must be '3.4' or '3.5', not {compat!r}")
        self._max_txn_ops = to_int(max_txn_ops, "max_txn_ops")
        self._max_request_bytes = to_int(max_request_bytes, "max_request_bytes")
        if self._max_txn_ops < 1 or self._max_request_bytes < 1:
            raise ValueError("max_txn_ops and max_request_bytes must be positive")
        self._put_fast_bytes = self._max_request_bytes - _SIZE_SLACK
        self._cluster_id = to_int(cluster_id, "cluster_id")
        self._member_id = to_int(member_id, "member_id")
        self._raft_term = to_int(raft_term, "raft_term")
        self.compat: Compat = compat
        self._kv = KV(keep_compacted_tombstone=compat != "3.4")
        self._lock = threading.Lock()
        # The fast paths call these bound methods directly; close() swaps them for _stopped,
        # so being closed costs the fast paths nothing.
        self._acquire = self._lock.acquire
        self._release = self._lock.release
        self._lookup: Callable[[bytes], Entry | None] = self._kv.lookup
        self._kv_put: Callable[[bytes, bytes, int], tuple[KeyValue, KeyValue | None]] = self._kv.put
        self._closed = False
        self._hdr = self._header(self._kv.revision)
        self._clock: Clock = MonotonicClock() if clock is None else clock
        if not watch_progress_interval > 0:
            raise ValueError("watch_progress_interval must be positive")
        self._progress_interval = float(watch_progress_interval)
        self._progress_timer: TimerHandle | None = None
        if to_int(min_lease_ttl, "min_lease_ttl") < 1:
            raise ValueError("min_lease_ttl must be at least 1 second")
        self._lessor = Lessor(min_ttl=min_lease_ttl, member_id=self._member_id)
        self._expiry_timer: TimerHandle | None = None
        self._expiry_at = 0.0
        self._keep_alives: dict[int, list[KeepAlive]] = {}
        self._hub = WatchHub(
            self._kv,
            self._header,
            queue_size=to_int(watch_queue_size, "watch_queue_size"),
            batch_revisions=to_int(watch_batch_revisions, "watch_batch_revisions"),
            fragment_bytes=self._max_request_bytes + GRPC_OVERHEAD_BYTES
            if watch_fragment_bytes is None
            else to_int(watch_fragment_bytes, "watch_fragment_bytes"),
        )
        self._quota = quota_limit(to_int(quota_backend_bytes, "quota_backend_bytes"))
        self._alarms = Alarms()
        self._auth = AuthStore(
            hash_cost=to_int(password_hash_cost, "password_hash_cost"),
            token_ttl=float(auth_token_ttl),
        )
        # The size estimate (see _quota). Every write lowers _headroom by what it stores; the
        # put fast path runs while the put fits in it. _space() folds what _headroom lost since
        # _headroom_set into _in_use and recomputes both; _peak is the most ever in use.
        self._in_use = self._peak = 0
        self._headroom = self._headroom_set = 0
        self._journal: Journal | None = None
        self._journal_open = False
        self._failure: OSError | None = None
        #: Durable mode ("always"): committed writes whose fsync is still to come, as
        #: ``(log entry number, header, records)``; readers and watchers see them once synced.
        self._held: list[tuple[int, ResponseHeader, list[KeyValue]]] = []
        if data_dir is not None:
            self._open(data_dir, fsync, snapshot_count, repair)
        self._space()
        self._compact_timer: TimerHandle | None = None
        self._compactor = new_compactor(
            auto_compaction_mode, auto_compaction_retention, self._kv.revision
        )
        if self._compactor is not None:
            self._compact_timer = self._clock.call_later(
                self._compactor.interval, self._compact_tick
            )

    # -- lifecycle --------------------------------------------------------------------------

    def close(self) -> None:
        """Close the store; later calls raise :class:`~etcdlite.errors.StoppedError`.

        Every watch ends: it gets a canceled response whose ``cancel_reason`` is
        "etcdserver: server stopped", then its iteration stops.
        """
        with self._lock:
            journal, self._journal_open = self._journal if self._journal_open else None, False
            if journal is not None and not self._closed and self._failure is None:
                now = self._clock.now()
                leases = self._lessor.leases.values()
                remaining = [(x.id, max(int((x.deadline - now) * 1000), 0)) for x in leases]
                if remaining:
                    try:
                        journal.log_checkpoint(remaining)
                    except OSError:
                        pass  # a lease restarts with what the log had; nothing is lost
            self._stop()
        if journal is not None:
            try:
                journal.close()
            except OSError as exc:
                raise DataDirError(f"closing the data directory failed: {exc}") from exc

    def _stop(self) -> None:
        """Stop serving (lock held): watches end, timers and keep-alives stop."""
        if self._closed:
            return
        self._closed = True
        self._lookup = self._kv_put = _stopped
        self._held.clear()
        self._hub.close_all(StoppedError.message)
        for timer in (self._progress_timer, self._expiry_timer, self._compact_timer):
            if timer is not None:
                timer.cancel()
        self._progress_timer = self._expiry_timer = self._compact_timer = None
        keep_alives = [ka for kas in self._keep_alives.values() for ka in kas]
        self._keep_alives.clear()
        for ka in keep_alives:
            ka.end()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    @property
    def data_dir(self) -> str | None:
        """The data directory of a durable store, ``None`` for one in memory.

        >>> Store().data_dir is None
        True
        """
        return None if self._journal is None else self._journal.dir.path

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"revision={self._kv.revision}"
        return f"<etcdlite.Store {state} keys={len(self._kv.index)}>"

    @property
    def revision(self) -> int:
        """The current revision (1 for a fresh store)."""
        return self._kv.revision

    @property
    def header(self) -> ResponseHeader:
        """The response header at the current revision: what a read now would carry.

        >>> Store().header.revision
        1
        """
        self._ensure_open()
        return self._hdr

    @property
    def compact_revision(self) -> int:
        """The revision of the last compaction (-1 if never compacted, as etcd counts it)."""
        return self._kv.compact_revision

    # -- KV ---------------------------------------------------------------------------------

    def put(
        self,
        key: str | bytes,
        value: str | bytes = b"",
        *,
        lease: int = 0,
        prev_kv: bool = False,
        ignore_value: bool = False,
        ignore_lease: bool = False,
    ) -> PutResponse:
        """Set ``key`` to ``value`` at a new revision (etcd ``Put``).

        A put always makes a new revision, even with the same value. ``prev_kv=True`` returns
        the key's previous record; ``ignore_value``/``ignore_lease`` keep the current value or
        lease (the key must exist). A put without ``lease`` detaches the key from its lease.

        Raises :class:`~etcdlite.errors.EmptyKeyError`, ``ValueProvidedError``,
        ``LeaseProvidedError``, ``KeyNotFoundError`` (``ignore_*`` on a missing key),
        ``LeaseNotFoundError`` and ``RequestTooLargeError`` as etcd does.

        >>> store = Store()
        >>> store.put("k", "v1").header.revision, store.put("k", "v2", prev_kv=True).prev_kv.value
        (2, b'v1')
        """
        if type(key) is not bytes:
            key = to_bytes(key, "key")
        if type(value) is not bytes:
            value = to_bytes(value, "value")
        if (
            type(lease) is not int
            or lease
            or prev_kv is not False
            or ignore_value is not False
            or ignore_lease is not False
            or (size := len(key) + len(value) + 64) > self._headroom  # RECORD_OVERHEAD
        ):
            return self._put(
                Op.put(
                    key,
                    value,
                    lease=lease,
                    prev_kv=prev_kv,
                    ignore_value=ignore_value,
                    ignore_lease=ignore_lease,
                )
            )
        if not key:
            raise EmptyKeyError()
        self._acquire()
        try:
            kv, prev = self._kv_put(key, value, 0)  # raises StoppedError once the store is closed
            self._headroom -= size
            if prev is not None and prev.lease:
                self._lessor.detach(key)
            self._hdr = hdr = new_header(
                self._cluster_id, self._member_id, kv.mod_revision, self._raft_term
            )
            if self._hub.active:
                self._hub.notify_one(hdr, kv)
        finally:
            self._release()
        return new_put_response(hdr, None)

    def get(
        self,
        key: str | bytes,
        *,
        range_end: str | bytes | None = None,
        prefix: bool = False,
        from_key: bool = False,
        revision: int = 0,
        limit: int = 0,
        sort_target: str | SortTarget = "key",
        sort_order: str | SortOrder = "none",
        serializable: bool = False,
        keys_only: bool = False,
        count_only: bool = False,
        min_mod_revision: int = 0,
        max_mod_revision: int = 0,
        min_create_revision: int = 0,
        max_create_revision: int = 0,
    ) -> RangeResponse:
        """Read a key or a range (etcd ``Range``).

        The range is one key, ``[key, range_end)``, every key with the prefix ``key``
        (``prefix=True``) or every key from ``key`` on (``from_key=True``, or ``range_end="\\0"``).
        ``revision`` reads the store as it was then (``CompactedError`` below the compaction,
        ``FutureRevisionError`` above the current revision). ``count`` is the number of keys in
        the range, whatever ``limit`` and the min/max filters keep; ``more`` tells that
        ``limit`` cut the result. Sorting by a target other than the key breaks ties by key.

        >>> store = Store()
        >>> for k in ("a/1", "a/2", "b"): _ = store.put(k, k.upper())
        >>> r = store.get("a/", prefix=True, limit=1)
        >>> [kv.key for kv in r.kvs], r.more, r.count
        ([b'a/1'], True, 2)
        """
        if type(key) is not bytes:
            key = to_bytes(key, "key")
        if (
            range_end is None
            and key
            and not (
                prefix
                or from_key
                or revision
                or limit
                or serializable
                or keys_only
                or count_only
                or min_mod_revision
                or max_mod_revision
                or min_create_revision
                or max_create_revision
            )
            and sort_target == "key"
            and sort_order == "none"
            and not self._auth.enabled
        ):
            self._acquire()
            try:
                kv = self._lookup(key)  # raises StoppedError once the store is closed
                hdr = self._hdr
                if type(kv) is KeyIndex:  # _index.latest(), inlined on the hot path
                    kv = kv[-1]
            finally:
                self._release()
            if self._held:
                self._durable()
            if kv is None or not kv.version:  # type: ignore[union-attr]
                return new_range_response(hdr, (), False, 0)
            return new_range_response(hdr, (kv,), False, 1)
        return self._range(
            Op.get(
                key,
                range_end=range_end,
                prefix=prefix,
                from_key=from_key,
                revision=revision,
                limit=limit,
                sort_target=sort_target,
                sort_order=sort_order,
                serializable=serializable,
                keys_only=keys_only,
                count_only=count_only,
                min_mod_revision=min_mod_revision,
                max_mod_revision=max_mod_revision,
                min_create_revision=min_create_revision,
                max_create_revision=max_create_revision,
            )
        )

    def delete(
        self,
        key: str | bytes,
        *,
        range_end: str | bytes | None = None,
        prefix: bool = False,
        from_key: bool = False,
        prev_kv: bool = False,
    ) -> DeleteRangeResponse:
        """Delete a key or a range (etcd ``DeleteRange``), at one new revision.

        Deleting nothing leaves the revision unchanged. ``prev_kv=True`` returns the deleted
        records.

        >>> store = Store()
        >>> _ = store.put("a", "1"); _ = store.put("ab", "2")
        >>> r = store.delete("a", prefix=True)
        >>> r.deleted, r.header.revision, store.delete("a").header.revision
        (2, 4, 4)
        """
        return self._delete(
            Op.delete(key, range_end=range_end, prefix=prefix, from_key=from_key, prev_kv=prev_kv)
        )

    def txn(
        self,
        compare: Iterable[Compare] = (),
        success: Iterable[RequestOp] = (),
        failure: Iterable[RequestOp] = (),
    ) -> TxnResponse:
        """If every compare holds, run ``success``, else ``failure``, atomically (etcd ``Txn``).

        All writes land at one new revision (none if nothing changed); later ops see earlier
        writes. Compares of nested txns are evaluated on the state before the txn, as etcd does.
        Raises ``TooManyOpsError`` beyond ``max_txn_ops``, ``DuplicateKeyError`` when a key is
        written twice, and any error an op would raise alone; a failed txn changes nothing.

        >>> store = Store()
        >>> r = store.txn(
        ...     compare=[Compare.version("cfg") == 0],
        ...     success=[Op.put("cfg", "v1")],
        ...     failure=[Op.get("cfg")],
        ... )
        >>> r.succeeded, r.header.revision
        (True, 2)
        """
        return self._txn(Op.txn(compare, success, failure))

    def do(self, op: RequestOp) -> PutResponse | RangeResponse | DeleteRangeResponse | TxnResponse:
        """Run one :class:`~etcdlite.Op` (clientv3 ``KV.Do``).

        >>> Store().do(Op.put("k", "v")).header.revision
        2
        """
        cls = type(op)
        if cls is PutRequest:
            return self._put(op)  # type: ignore[arg-type]
        if cls is RangeRequest:
            return self._range(op)  # type: ignore[arg-type]
        if cls is DeleteRangeRequest:
            return self._delete(op)  # type: ignore[arg-type]
        if cls is TxnRequest:
            return self._txn(op)  # type: ignore[arg-type]
        raise TypeError(f"op must be an Op.get/put/delete/txn request, not {cls.__name__}")

    def compact(self, revision: int, *, physical: bool = False) -> CompactionResponse:
        """Discard the history below ``revision`` (etcd ``Compact``).

        Reads at ``revision`` and later are unchanged; reads below it raise ``CompactedError``.
        Raises ``FutureRevisionError`` above the current revision and ``CompactedError`` at or
        below the previous compaction. ``physical`` is accepted for etcd compatibility: in
        memory the space is free when this returns.

        >>> store = Store()
        >>> for v in "abc": _ = store.put("k", v)
        >>> _ = store.compact(3)
        >>> store.get("k", revision=3).kvs[0].value
        b'b'
        """
        rev = to_int(revision, "revision")
        to_bool(physical, "physical")
        with self._lock:
            self._ensure_open()
            if self._auth.enabled:
                self._check_admin()
            if self._alarms.corrupt:
                raise CorruptError()
            self._compact(rev)
            hdr = self._hdr
        self._durable()
        return CompactionResponse(hdr)

    def _compact(self, rev: int) -> None:
        """Compact at ``rev`` and free what it dropped from the size estimate (lock held)."""
        kv = self._kv
        if rev > kv.revision:
            raise FutureRevisionError()
        if rev <= kv.compact_revision:
            raise CompactedError()
        if self._journal is not None:
            self._logged(self._journal.log_compact, rev)
        dropped = kv.compact(rev)
        if self._hub.unsynced:
            self._hub.compact(rev)
        self._free(record_bytes(dropped))

    # -- leases -----------------------------------------------------------------------------

    def grant(self, ttl: int, *, id: int = 0) -> LeaseGrantResponse:
        """Grant a lease of ``ttl`` seconds (etcd ``LeaseGrant``); ``id`` 0 lets the store pick.

        The TTL is raised to ``min_lease_ttl`` (etcd's 2 s); the response says the TTL chosen.
        The lease expires ``ttl`` seconds after its grant or last renewal, by the store's clock:
        then (as on :meth:`revoke`) every key attached to it is deleted, at one revision.
        Raises ``LeaseTTLTooLargeError`` above 9,000,000,000 s and ``LeaseExistsError`` for an
        ``id`` in use.

        >>> store = Store()
        >>> lease = store.grant(60, id=0x1234)
        >>> lease.id, lease.ttl, store.grant(1).ttl
        (4660, 60, 2)
        """
        ttl = to_int(ttl, "ttl")
        lease_id = to_int(id, "id")
        with self._lock:
            self._ensure_open()
            self._expire_due()
            if self._auth.enabled:
                self._check_user()
            self._admit(LEASE_OVERHEAD)
            lessor = self._lessor
            lease = lessor.grant(lease_id or lessor.next_id(), ttl, self._clock.now())
            if self._journal is not None:
                self._logged(self._journal.log_grant, lease.id, lease.ttl)
            self._headroom -= LEASE_RECORD
            self._schedule_expiry()
            hdr = self._hdr
        self._durable()
        return LeaseGrantResponse(hdr, lease.id, lease.ttl)

    def revoke(self, id: int) -> LeaseRevokeResponse:
        """Revoke a lease (etcd ``LeaseRevoke``): its keys are deleted, all at one revision.

        Raises ``LeaseNotFoundError`` if the lease does not exist (or already expired).

        >>> store = Store()
        >>> lease = store.grant(60).id
        >>> _ = store.put("a", "1", lease=lease); _ = store.put("b", "2", lease=lease)
        >>> store.revoke(lease).header.revision, store.get("a").count
        (4, 0)
        """
        lease_id = to_int(id, "id")
        with self._lock:
            self._ensure_open()
            self._expire_due()
            if self._auth.enabled:
                self._check_user()
                self._check_lease(lease_id, PermissionType.WRITE)
            if self._alarms.corrupt:
                raise CorruptError()
            self._lessor.get(lease_id)
            hdr = self._revoke(lease_id)
        self._durable()
        return LeaseRevokeResponse(hdr)

    def time_to_live(self, id: int, *, keys: bool = False) -> LeaseTimeToLiveResponse:
        """A lease's remaining and granted TTL, and with ``keys=True`` its keys (etcd
        ``LeaseTimeToLive``).

        The remaining TTL is in whole seconds, rounded down. For a lease that does not exist the
        TTL is -1 and nothing is raised, as in etcd.

        >>> store = Store()
        >>> r = store.time_to_live(store.grant(60, id=7).id)
        >>> r.granted_ttl, 58 <= r.ttl <= 60, store.time_to_live(8).ttl
        (60, True, -1)
        """
        lease_id = to_int(id, "id")
        to_bool(keys, "keys")
        with self._lock:
            self._ensure_open()
            self._expire_due()
            if self._auth.enabled:
                self._check_user()
                if keys:
                    self._check_lease(lease_id, PermissionType.READ)
            hdr = self._hdr
            lease = self._lessor.leases.get(lease_id)
            remaining = -1 if lease is None else lease.remaining(self._clock.now())
            attached = tuple(sorted(lease.keys)) if keys and lease is not None else ()
        self._durable()
        if lease is None:
            return LeaseTimeToLiveResponse(hdr, lease_id, -1, 0)
        return LeaseTimeToLiveResponse(hdr, lease_id, remaining, lease.ttl, attached)

    def leases(self) -> LeaseLeasesResponse:
        """Every live lease (etcd ``LeaseLeases``), soonest to expire first.

        >>> store = Store()
        >>> _ = store.grant(60, id=2); _ = store.grant(30, id=1)
        >>> [s.id for s in store.leases().leases]
        [1, 2]
        """
        with self._lock:
            self._ensure_open()
            self._expire_due()
            if self._auth.enabled:
                self._check_user()
            live = sorted(self._lessor.leases.values(), key=lambda x: (x.deadline, x.id))
            hdr = self._hdr
        self._durable()
        return LeaseLeasesResponse(hdr, tuple(LeaseStatus(x.id) for x in live))

    def keep_alive_once(self, id: int) -> LeaseKeepAliveResponse:
        """Renew a lease once (clientv3 ``KeepAliveOnce``): it now expires ``ttl`` seconds
        from now. The response's ``ttl`` is the granted TTL.

        Raises ``LeaseNotFoundError`` if the lease does not exist (etcd's stream answers TTL 0,
        which clientv3 turns into this error).

        >>> store = Store()
        >>> store.keep_alive_once(store.grant(60, id=9).id).ttl
        60
        """
        lease_id = to_int(id, "id")
        with self._lock:
            self._ensure_open()
            self._expire_due()
            if self._auth.enabled:
                self._check_user()
                self._check_lease(lease_id, PermissionType.WRITE)
            lease = self._lessor.renew(lease_id, self._clock.now())
            hdr = self._hdr
        self._durable()
        return LeaseKeepAliveResponse(hdr, lease_id, lease.ttl)

    def keep_alive(self, id: int) -> KeepAlive:
        """Keep a lease alive in the background (clientv3 ``KeepAlive``): a :class:`KeepAlive`.

        The lease is renewed at once (``LeaseNotFoundError`` if it does not exist), then every
        third of its TTL on the store's clock, until the stream is closed or the lease is gone;
        iterate the stream to see each renewal.

        >>> store = Store()
        >>> with store.keep_alive(store.grant(60).id) as ka:
        ...     ka.receive().ttl
        60
        """
        ka = KeepAlive(self, self._clock, self.keep_alive_once(id))
        with self._lock:
            if ka.id in self._lessor.leases and not self._closed:
                kas = self._keep_alives.setdefault(ka.id, [])
                kas[:] = [k for k in kas if not k.closed]
                kas.append(ka)
                return ka
        ka.end()
        return ka

    def lease(self, ttl: int, *, id: int = 0) -> Lease:
        """Grant a lease and keep it alive: a :class:`Lease` handle, which revokes the lease
        when closed or left as a (async) context manager.

        >>> store = Store()
        >>> with store.lease(10) as lease:
        ...     _ = store.put("service/a", "10.0.0.1", lease=lease.id)
        ...     store.get("service/a").count
        1
        >>> store.get("service/a").count
        0
        """
        granted = self.grant(ttl, id=id)
        return Lease(self, self.keep_alive(granted.id), granted.ttl)

    def _revoke(self, lease_id: int) -> ResponseHeader:
        """Delete the lease's keys at one revision (sorted, as etcd), then drop the lease."""
        lease = self._lessor.leases[lease_id]
        w = self._kv.begin()
        for key in sorted(lease.keys):
            w.delete(key, b"")
        hdr = self._commit(w)
        if self._journal is not None:
            self._logged(self._journal.log_lease_gone, lease_id)
        self._lessor.remove(lease_id)
        self._free(LEASE_RECORD)
        for ka in self._keep_alives.pop(lease_id, ()):
            ka.end()
        return hdr

    def _expire_due(self) -> None:
        """Revoke every lease whose deadline has passed (lock held): expiry is exact even when
        the clock's timer runs late."""
        lessor = self._lessor
        if lessor.leases and self._expiry_at <= self._clock.now() and not self._alarms.corrupt:
            for lease_id in lessor.expired(self._clock.now()):
                self._revoke(lease_id)

    def _schedule_expiry(self) -> None:
        """Have the clock call :meth:`_expiry_tick` at the earliest deadline (lock held); none
        while a CORRUPT alarm stops every write, expiries included."""
        deadline = self._lessor.next_deadline()
        if deadline is None or self._alarms.corrupt:
            return
        if self._expiry_timer is not None:
            if self._expiry_at <= deadline:
                return
            self._expiry_timer.cancel()
        self._expiry_at = deadline
        self._expiry_timer = self._clock.call_later(deadline - self._clock.now(), self._expiry_tick)

    def _expiry_tick(self) -> None:
        with self._lock:
            self._expiry_timer = None
            if self._closed:
                return
            self._expiry_at = 0.0
            self._expire_due()
            self._schedule_expiry()
        with contextlib.suppress(DataDirError):  # the store stopped; its callers see why
            self._durable()

    # -- maintenance ------------------------------------------------------------------------

    def hash_kv(self, revision: int = 0) -> _model_maintenance.HashKVResponse:
        """The hash of the key history up to ``revision`` (etcd ``Maintenance.HashKV``).

        ``revision`` 0 means the current revision. The hash is the CRC-32C etcd 3.4 computes
        over its backend's key bucket (every stored revision up to ``revision``, see
        :mod:`etcdlite._hash`), so the same operations give the same number on etcdlite and on
        a real etcd 3.4 (``compat="3.4"`` is needed only in one corner: nothing live, and a
        tombstone at exactly the compaction revision, which 3.4 drops and 3.5 keeps).
        ``compact_revision`` is the store's (-1 if never compacted). Raises
        ``CompactedError`` at or below the compaction revision (reads at it still work) and
        ``FutureRevisionError`` above the current revision. Cost: one pass over the retained
        history under the store's lock, about a second per 15 MB of records.

        >>> store = Store()
        >>> _ = store.put("a", "1")
        >>> r = store.hash_kv()
        >>> r.hash, r.compact_revision, r.header.revision
        (2587454935, -1, 2)
        """
        rev = to_int(revision, "revision")
        with self._lock:
            self._ensure_open()
            if self._auth.enabled:
                self._check_admin()
            h = _hash.hash_kv(self._kv, rev)
            hdr = self._hdr
            compact = self._kv.compact_revision
        if self._held:
            self._durable()
        return _model_maintenance.HashKVResponse(hdr, h, compact)

    def status(self) -> StatusResponse:
        """This member's status (etcd ``Maintenance.Status``).

        ``version`` is the etcd version the ``compat`` profile follows (``ETCD_VERSIONS``);
        ``db_size`` and ``db_size_in_use`` estimate what etcd's backend would hold (every
        stored revision's key and value plus a fixed overhead, and live leases; compaction
        frees from ``db_size_in_use``, :meth:`defragment` brings ``db_size`` down to it; see
        ``docs/maintenance.md``); the store is its own ``leader``; ``raft_index`` and
        ``raft_applied_index`` are its revision; ``errors`` lists the raised alarms as etcd
        writes them.

        >>> store = Store(member_id=7)
        >>> _ = store.alarm_activate("NOSPACE")
        >>> s = store.status()
        >>> s.version, s.leader, s.raft_index, s.errors
        ('3.5.0', 7, 1, ('memberID:7 alarm:NOSPACE ',))
        """
        with self._lock:
            self._ensure_open()
            if self._auth.enabled:
                self._check_user()
            size, in_use = self._space()
            hdr = self._hdr
            errors = self._alarms.errors()
        rev = hdr.revision
        version = ETCD_VERSIONS[self.compat]
        return StatusResponse(
            hdr, version, size, self._member_id, rev, self._raft_term, rev, errors, in_use
        )

    def defragment(self) -> DefragmentResponse:
        """Give the space compaction freed back (etcd ``Maintenance.Defragment``): in memory
        it is already free, so only the size estimate changes: ``db_size`` becomes
        ``db_size_in_use``. Alarms stay raised.

        >>> store = Store()
        >>> for v in "abc": _ = store.put("k", v)
        >>> _ = store.compact(4)
        >>> before = store.status()
        >>> _ = store.defragment(); after = store.status()
        >>> before.db_size > before.db_size_in_use, after.db_size == after.db_size_in_use
        (True, True)
        """
        with self._lock:
            self._ensure_open()
            if self._auth.enabled:
                self._check_admin()
            self._peak = 0
            self._space()
            hdr = self._hdr
        if self._journal is not None:
            self._durable()
            self._take_snapshot(keep_previous=False)
        return DefragmentResponse(hdr)

    def alarm_list(self, alarm: AlarmType | str | int = "NONE") -> AlarmResponse:
        """The raised alarms (etcd ``Alarm`` GET, clientv3 ``AlarmList``): every one, or those
        of type ``alarm`` (``"NOSPACE"``, ``"CORRUPT"``), in the order they were raised.

        >>> store = Store(quota_backend_bytes=300, member_id=7)
        >>> store.put("k", "v" * 100)
        Traceback (most recent call last):
        etcdlite.errors.NoSpaceError: etcdserver: mvcc: database space exceeded
        >>> store.alarm_list().alarms
        (AlarmMember(member_id=7, alarm=<AlarmType.NOSPACE: 1>),)
        """
        kind = to_alarm_type(alarm)
        with self._lock:
            self._ensure_open()
            if self._auth.enabled:
                self._check_admin()
            found = self._alarms.get(kind)
            hdr = self._hdr
        return AlarmResponse(hdr, found)

    def alarm_activate(
        self, alarm: AlarmType | str | int, *, member_id: int | None = None
    ) -> AlarmResponse:
        """Raise ``alarm`` for ``member_id`` (this member by default), as etcd's ``Alarm``
        ACTIVATE does for any member id: the response lists it (already raised or not).

        While a NOSPACE alarm is up, puts, txns with a put and lease grants fail with
        ``NoSpaceError``; while a CORRUPT alarm is up, every write (put, delete, txn that
        writes, compact, lease grant and revoke; and lease expiry waits) fails with
        ``CorruptError`` and reads still work. ``"NONE"`` raises nothing (etcd 3.4 crashes
        on it for member 0).

        >>> store = Store()
        >>> _ = store.alarm_activate("CORRUPT")
        >>> store.put("k", "v")
        Traceback (most recent call last):
        etcdlite.errors.CorruptError: etcdserver: corrupt cluster
        """
        kind = to_alarm_type(alarm)
        member = self._member_id if member_id is None else to_int(member_id, "member_id")
        with self._lock:
            self._ensure_open()
            if self._auth.enabled:
                self._check_admin()
            self._log_alarm(True, member, kind)
            raised = self._alarms.activate(member, kind)
            self._space()
            hdr = self._hdr
        self._durable()
        return AlarmResponse(hdr, () if raised is None else (raised,))

    def alarm_disarm(
        self, alarm: AlarmType | str | int | None = None, *, member_id: int | None = None
    ) -> AlarmResponse:
        """Disarm alarms (etcd ``Alarm`` DEACTIVATE): the response lists what was disarmed.

        Without arguments, every raised alarm, as clientv3's ``AlarmDisarm`` with an empty
        member and ``etcdctl alarm disarm`` do; otherwise the one alarm of type ``alarm`` of
        ``member_id`` (this member by default), if it is raised. Writes are allowed again once
        no NOSPACE (or CORRUPT) alarm is left, whatever the size: a write that does not fit
        under the quota raises NOSPACE again.

        >>> store = Store()
        >>> _ = store.alarm_activate("NOSPACE")
        >>> [a.alarm.name for a in store.alarm_disarm().alarms], store.put("k", "v").header.revision
        (['NOSPACE'], 2)
        """
        targets: tuple[tuple[int, AlarmType], ...] | None = None
        if alarm is not None or member_id is not None:
            kind = AlarmType.NONE if alarm is None else to_alarm_type(alarm)
            member = self._member_id if member_id is None else to_int(member_id, "member_id")
            targets = ((member, kind),)
        with self._lock:
            self._ensure_open()
            if self._auth.enabled:
                self._check_admin()
            alarms = self._alarms
            was_corrupt = alarms.corrupt
            if targets is None:
                targets = tuple((m.member_id, m.alarm) for m in alarms.get())
            for mid, kind in targets:
                self._log_alarm(False, mid, kind)
            disarmed = tuple(
                m for m in (alarms.deactivate(mid, kind) for mid, kind in targets) if m is not None
            )
            self._space()
            if was_corrupt and not alarms.corrupt:
                self._expire_due()
                self._schedule_expiry()
            hdr = self._hdr
        self._durable()
        return AlarmResponse(hdr, disarmed)

    def _compact_tick(self) -> None:
        """The clock's call for auto-compaction: let the compactor decide, then the next tick."""
        with self._lock:
            self._compact_timer = None
            compactor = self._compactor
            if self._closed or compactor is None:
                return
            compactor.tick(self._kv.revision, self._auto_compact)
            self._compact_timer = self._clock.call_later(compactor.interval, self._compact_tick)
        with contextlib.suppress(DataDirError):
            self._durable()

    def _auto_compact(self, rev: int) -> bool:
        """Compact at ``rev`` for the compactor: whether it is done (lock held)."""
        try:
            if self._alarms.corrupt:
                raise CorruptError()
            self._compact(rev)
        except CompactedError:
            return True  # as etcd's compactors: someone compacted there already
        except EtcdError:
            return False
        return True

    # -- locks and elections (etcd's v3lock and v3election services) -------------------------

    def lock(
        self, name: str | bytes, *, lease: int = 0, timeout: float | None = None
    ) -> LockResponse:
        """Acquire the lock ``name`` with ``lease``, blocking until it is held (etcd ``Lock``).

        The lock key is ``name/<lease in hex>``; the waiters queue by its create revision, as
        clientv3's ``Mutex``. With ``lease=0`` the store grants a fresh 60 s lease that nobody
        keeps alive, so the lock is released after 60 s unless :meth:`unlock` comes first.
        Raises ``TimeoutError`` after ``timeout`` seconds (the waiting key is deleted),
        ``LeaseNotFoundError`` for an unknown lease (etcd's service sends it with gRPC code
        Unknown) and ``SessionExpiredError`` if the lease ran out while waiting.

        >>> store = Store()
        >>> lease = store.grant(60, id=0x694D).id
        >>> r = store.lock("jobs", lease=lease)
        >>> r.key, r.header.revision
        (b'jobs/694d', 2)
        """
        return _lock_service.lock(self, name, lease=lease, timeout=timeout)

    async def alock(self, name: str | bytes, *, lease: int = 0) -> LockResponse:
        """:meth:`lock`, waiting in the current task (asyncio or trio); cancelling the task
        withdraws from the queue (use anyio's ``fail_after`` for a timeout).

        >>> import anyio
        >>> store = Store()
        >>> anyio.run(store.alock, "jobs").key.startswith(b"jobs/")
        True
        """
        return await _lock_service.alock(self, name, lease=lease)

    def unlock(self, key: str | bytes) -> UnlockResponse:
        """Release a lock: delete its ``key`` (etcd ``Unlock``, a plain delete, idempotent).

        >>> store = Store()
        >>> key = store.lock("jobs").key
        >>> store.unlock(key).header.revision, store.unlock(key).header.revision
        (3, 3)
        """
        return _lock_service.unlock(self, key)

    def campaign(
        self,
        name: str | bytes,
        value: str | bytes,
        *,
        lease: int = 0,
        timeout: float | None = None,
    ) -> CampaignResponse:
        """Run for leader of the election ``name`` with ``value``, blocking until elected
        (etcd ``Campaign``).

        The candidate's key is ``name/<lease in hex>``, the first created one leads. The
        answer's ``leader`` (a :class:`~etcdlite.LeaderKey`: name, key, create revision,
        lease) is what :meth:`proclaim` and :meth:`resign` take; its ``header`` is the one of
        the txn that entered the candidate. ``lease=0`` grants a 60 s lease nobody keeps
        alive, as etcd does. Raises ``TimeoutError`` after ``timeout`` seconds (having
        resigned) and ``LeaseNotFoundError`` for an unknown lease.

        >>> store = Store()
        >>> lease = store.grant(60, id=0x694D).id
        >>> store.campaign("db-leader", "node-1", lease=lease).leader
        LeaderKey(name=b'db-leader', key=b'db-leader/694d', rev=2, lease=26957)
        """
        return _lock_service.campaign(self, name, value, lease=lease, timeout=timeout)

    async def acampaign(
        self, name: str | bytes, value: str | bytes, *, lease: int = 0
    ) -> CampaignResponse:
        """:meth:`campaign`, waiting in the current task (asyncio or trio); cancelling the task
        resigns.

        >>> import anyio, functools
        >>> store = Store()
        >>> anyio.run(functools.partial(store.acampaign, "e", "v")).leader.rev
        2
        """
        return await _lock_service.acampaign(self, name, value, lease=lease)

    def proclaim(self, leader: LeaderKey, value: str | bytes) -> ProclaimResponse:
        """Publish a new ``value`` as the leader ``leader`` (etcd ``Proclaim``).

        Raises ``ElectionNotLeaderError`` ("election: not leader") unless ``leader``'s key
        still exists with its create revision.

        >>> store = Store()
        >>> leader = store.campaign("e", "v1").leader
        >>> _ = store.proclaim(leader, "v2")
        >>> store.leader("e").kv.value
        b'v2'
        """
        return _lock_service.proclaim(self, leader, value)

    def leader(self, name: str | bytes) -> LeaderResponse:
        """The leader of the election ``name``: its key-value (etcd ``Leader``).

        Raises ``ElectionNoLeaderError`` ("election: no leader") when nobody is elected.

        >>> store = Store()
        >>> _ = store.campaign("e", "node-1")
        >>> store.leader("e").kv.value
        b'node-1'
        """
        return _lock_service.leader(self, name)

    def observe(self, name: str | bytes) -> Observe:
        """Follow the leadership of the election ``name`` (etcd ``Observe``): an
        :class:`~etcdlite.Observe` stream of :class:`~etcdlite.LeaderResponse`, the current
        leader first, then each proclaimed value and each next leader, in order.

        >>> store = Store()
        >>> leader = store.campaign("e", "v1").leader
        >>> with store.observe("e") as leaders:
        ...     _ = store.proclaim(leader, "v2")
        ...     [leaders.receive(timeout=10).kv.value for _ in range(2)]
        [b'v1', b'v2']
        """
        return _lock_service.observe(self, name)

    def resign(self, leader: LeaderKey) -> ResignResponse:
        """Give up the leadership ``leader``: delete its key if it is still the same
        (etcd ``Resign``; otherwise nothing changes and no error is raised).

        >>> store = Store()
        >>> leader = store.campaign("e", "v1").leader
        >>> store.resign(leader).header.revision, store.resign(leader).header.revision
        (3, 3)
        """
        return _lock_service.resign(self, leader)

    # -- watch ------------------------------------------------------------------------------

    def watch(
        self,
        key: str | bytes,
        *,
        range_end: str | bytes | None = None,
        prefix: bool = False,
        from_key: bool = False,
        start_revision: int = 0,
        prev_kv: bool = False,
        filters: Iterable[WatchFilter | str] = (),
        progress_notify: bool = False,
        fragment: bool = False,
        watch_id: int = 0,
    ) -> Watch:
        """Watch a key or a range for changes (etcd ``Watch``): returns a :class:`Watch`.

        The range is one key, ``[key, range_end)``, a prefix or every key from ``key`` on, as
        for :meth:`get` (an empty key means the smallest key, ``"\\0"``). ``start_revision``
        is inclusive: 0 watches from the next revision; a past one replays the history from
        there (below the compaction the watch is created, then canceled with
        ``compact_revision``; a negative one is refused); a future one waits silently.

        ``filters`` leaves out puts (``"noput"``) or deletes (``"nodelete"``); ``prev_kv`` adds
        each key's previous record (none for a create, nor below the compaction);
        ``progress_notify`` sends an empty response every ``watch_progress_interval`` without
        events; ``fragment`` splits responses larger than ``watch_fragment_bytes``;
        ``watch_id`` names the watch (0: auto, starting at 0). See ``docs/watch.md``.

        The first response says ``created``; events follow in revision order, all events of a
        revision in one response. Raises ``StoppedError`` on a closed store.

        >>> store = Store()
        >>> _ = store.put("k", "v1"); _ = store.delete("k")
        >>> w = store.watch("k", start_revision=2, prev_kv=True)
        >>> [(e.type.name, e.kv.mod_revision, e.prev_kv and e.prev_kv.value)
        ...  for r in (w.receive(), w.receive()) for e in r.events]
        [('PUT', 2, None), ('DELETE', 3, b'v1')]
        """
        args = watch_args(
            key,
            range_end,
            prefix,
            from_key,
            start_revision,
            prev_kv,
            filters,
            progress_notify,
            fragment,
            watch_id,
        )
        with self._lock:
            self._ensure_open()
            state = self._hub.open_stream(single=True)
        return Watch(self, state, self._create_watch(state, args))

    def watch_stream(self) -> WatchStream:
        """A :class:`WatchStream`: many watches, client-chosen ids, one ordered response stream.

        >>> stream = Store().watch_stream()
        >>> stream.create("a"), stream.create("b", prefix=True), stream.watch_ids
        (0, 1, (0, 1))
        """
        with self._lock:
            self._ensure_open()
            state = self._hub.open_stream()
        return WatchStream(self, state)

    def history(
        self,
        key: str | bytes,
        *,
        range_end: str | bytes | None = None,
        prefix: bool = False,
        from_key: bool = False,
        start_revision: int = 0,
        end_revision: int = 0,
        prev_kv: bool = False,
    ) -> History:
        """The events of a key or range from ``start_revision`` through ``end_revision``.

        What a watch from ``start_revision`` would deliver up to ``end_revision``, as one
        tuple (a :class:`History`, which a notebook shows as a table): for notebooks and tests. ``start_revision`` 0 means the oldest retained
        revision, ``end_revision`` 0 the current one. Raises ``CompactedError`` below the
        compaction and ``FutureRevisionError`` past the current revision.

        >>> store = Store()
        >>> for v in "abc": _ = store.put("k", v)
        >>> [(e.kv.mod_revision, e.kv.value) for e in store.history("k", start_revision=3)]
        [(3, b'b'), (4, b'c')]
        """
        args = watch_args(key, range_end, prefix, from_key, 0, prev_kv, (), False, False, 0)
        start = to_int(start_revision, "start_revision")
        stop = to_int(end_revision, "end_revision")
        if start < 0 or stop < 0:
            raise ValueError("start_revision and end_revision cannot be negative")
        with self._lock:
            self._ensure_open()
            if self._auth.enabled:
                self._check_range(args.key, args.end)
            kv = self._kv
            if stop > kv.revision:
                raise FutureRevisionError()
            events = history(
                kv,
                args.key,
                args.end,
                start or max(kv.compact_revision, 1),
                stop or kv.revision,
                prev_kv=args.prev_kv,
            )
        if self._held:
            self._durable()
        return History(events)

    def _create_watch(self, state: StreamState, args: WatchArgs) -> int:
        """A create request on ``state`` (for ``watch`` and ``WatchStream.create``)."""
        with self._lock:
            self._ensure_open()
            if state.closed:
                raise anyio.ClosedResourceError
            if self._auth.enabled:
                self._check_range(args.key, args.end)
            wid = self._hub.create(
                state,
                args.key,
                args.end,
                args.start,
                watch_id=args.watch_id,
                prev_kv=args.prev_kv,
                no_put=args.no_put,
                no_delete=args.no_delete,
                fragment=args.fragment,
                progress=args.progress,
            )
            if self._hub.progress_watchers and self._progress_timer is None:
                self._progress_timer = self._clock.call_later(
                    self._progress_interval, self._progress_tick
                )
        return wid

    def _progress_tick(self) -> None:
        """The clock's periodic call: progress notifications, then the next tick if needed."""
        with self._lock:
            self._progress_timer = None
            if not self._closed and self._hub.progress_tick():
                self._progress_timer = self._clock.call_later(
                    self._progress_interval, self._progress_tick
                )

    # -- durability (see etcdlite._persist) -------------------------------------------------

    def snapshot(self) -> Iterator[bytes]:
        """The whole state at the current revision, in etcdlite's snapshot format, as chunks
        of bytes (write them to a file, or restore them with :meth:`restore`). The state is
        taken under the lock at once; encoding and yielding happen after.

        >>> store = Store()
        >>> _ = store.put("k", "v")
        >>> data = b"".join(store.snapshot())
        >>> Store.restore([data]).get("k").kvs[0].value
        b'v'
        """
        with self._lock:
            self._ensure_open()
            if self._auth.enabled:
                self._check_admin()
            state = self._capture()
        self._durable()
        yield from dump(state)

    @classmethod
    def restore(
        cls,
        snapshot: str | os.PathLike[str] | Iterable[bytes],
        *,
        data_dir: str | os.PathLike[str] | None = None,
        **options: Any,
    ) -> Store:
        """A store holding a snapshot's state (from :meth:`snapshot`, a file it was saved to,
        or ``etcdctl snapshot save`` against ``etcdlite serve``).

        With ``data_dir``, the state is written there first (the directory must be new or
        empty) and the store opened on it, durable; without it the store is in memory.
        ``options`` are the other :class:`Store` options. The cluster and member ids are the
        snapshot's. Raises ``ValueError`` for a snapshot that is not whole and valid.
        """
        if isinstance(snapshot, (str, os.PathLike)):
            with open(snapshot, "rb") as f:
                data = f.read()
        else:
            data = b"".join(snapshot)
        state = load_snapshot(data)
        options.setdefault("cluster_id", state.cluster_id)
        options.setdefault("member_id", state.member_id)
        options.setdefault("compat", "3.5" if state.keep_tombstone else "3.4")
        if data_dir is not None:
            restore_data_dir(os.fspath(data_dir), state)
            return cls(data_dir=data_dir, **options)
        store = cls(**options)
        with store._lock:
            store._install(state, [])
        return store

    def _open(self, data_dir: str | os.PathLike[str], fsync: str, count: int, repair: bool) -> None:
        if fsync not in FSYNC_POLICIES:
            raise ValueError(f"fsync must be one of {', '.join(FSYNC_POLICIES)}, not {fsync!r}")
        if to_int(count, "snapshot_count") < 1:
            raise ValueError("snapshot_count must be positive")
        journal = Journal(os.fspath(data_dir), policy=fsync, snapshot_count=count)
        try:
            self._cluster_id, self._member_id = journal.dir.identity(
                self._cluster_id, self._member_id
            )
            self._lessor = Lessor(min_ttl=self._lessor.min_ttl, member_id=self._member_id)
            state, entries = journal.recover(repair=to_bool(repair, "repair"))
            self._install(state, entries)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                journal.close()
            if isinstance(exc, OSError):
                raise DataDirError(
                    f"cannot open the data directory {journal.dir.path}: {exc}"
                ) from exc
            raise
        self._journal = journal
        self._journal_open = True
        if journal.waits:
            assert journal.wal is not None
            journal.wal.after_sync = self._publish

    def _install(self, state: State | None, entries: list[Any]) -> None:
        """Load a snapshot's state and replay log entries into this (fresh) store."""
        now = self._clock.now()
        kv = self._kv
        stored, leased = 0, []
        if state is not None:
            kv = install(state, self._lessor, self._alarms, now, self._auth)
            if kv.keep_compacted_tombstone != (self.compat != "3.4"):
                raise ValueError(
                    f"the snapshot was taken with the other compat than {self.compat!r}"
                )
            stored, leased = state.stored_bytes, state.leased_keys
        stored += replay(
            entries, kv, self._lessor, self._alarms, now, self._auth, leased_keys=leased
        )
        self._kv = kv
        self._lookup = kv.lookup
        self._kv_put = kv.put
        self._hub._kv = kv
        self._hdr = self._header(kv.revision)
        self._in_use = stored + LEASE_RECORD * len(self._lessor.leases)
        self._peak = 0
        self._headroom = self._headroom_set = 0
        self._space()
        self._schedule_expiry()

    def _auth_changed(self) -> None:
        """Auth changed (lock held): log its new state; the fast paths follow ``enabled``."""
        if self._journal is not None:
            self._logged(self._journal.log_auth, self._auth.dump())
        self._space()

    def _capture(self) -> State:
        ids = (self._cluster_id, self._member_id, self._raft_term)
        return capture(self._kv, self._lessor, self._alarms, self._clock.now(), ids, self._auth)

    def _logged(self, entry: Callable[..., int], *args: Any) -> int:
        """Write a log entry (lock held) for a change about to be applied: ``entry(*args)``, a
        ``Journal.log_*`` method. A failed write stops the store (fail-stop) and raises
        ``DataDirError``."""
        try:
            return entry(*args)
        except OSError as exc:
            self._fail_stop(exc)

    def _fail_stop(self, exc: OSError) -> NoReturn:
        """The data dir failed (lock held): stop for good and say why."""
        self._failure = exc
        self._stop()
        raise DataDirError(f"the data directory failed, the store stopped: {exc}") from exc

    def _durable(self, seq: int = 0) -> None:
        """After a call let the lock go: wait until what it did (and saw) is as durable as the
        ``fsync`` policy promises, show held writes to watchers, take a snapshot when due.
        ``seq`` is the log's entry count when the call let the lock go (0: now)."""
        journal = self._journal
        if journal is None:
            return
        try:
            journal.wait(seq or journal.written)
        except OSError as exc:
            with self._lock:
                self._fail_stop(exc)
        if journal.snapshot_due:
            self._take_snapshot()

    def _publish(self) -> None:
        """Hand the writes the log has synced to the watchers, in revision order (called by
        each fsync leader for its group, and after a snapshot's rotation)."""
        journal = self._journal
        assert journal is not None
        assert journal.wal is not None
        if not self._held or self._held[0][0] > journal.wal.synced:
            return  # nothing newly synced (another leader published it)
        with self._lock:
            held = self._held
            synced = journal.wal.synced
            hub = self._hub
            n = 0
            while n < len(held) and held[n][0] <= synced:
                n += 1
            ready = held[:n]
            del held[:n]
            hub.hold = held[0][1].revision if held else 0
            if hub.active:
                for _, hdr, records in ready:
                    hub.notify(hdr, records)

    def _hold(self, hdr: ResponseHeader, records: list[KeyValue]) -> None:
        """Keep a committed write from watchers until its log entry is synced (lock held)."""
        assert self._journal is not None
        self._held.append((self._journal.written, hdr, records))
        if not self._hub.hold:
            self._hub.hold = hdr.revision

    def _take_snapshot(self, *, keep_previous: bool = True) -> None:
        """Write a snapshot and drop the log it replaces (see ``_persist._datadir``)."""
        journal = self._journal
        assert journal is not None
        with self._lock:
            if self._closed or journal.snapshotting:
                return
            journal.snapshotting = True
            seq = self._logged(journal.rotate)
            state = self._capture()
        try:
            journal.write_snapshot(seq, state, keep_previous=keep_previous)
        except OSError as exc:
            with self._lock:
                self._fail_stop(exc)
        finally:
            journal.snapshotting = False
        if self._held:
            self._publish()

    # -- the general paths ------------------------------------------------------------------

    def _ensure_open(self) -> None:
        if self._closed:
            raise StoppedError()

    def _header(self, rev: int) -> ResponseHeader:
        return new_header(self._cluster_id, self._member_id, rev, self._raft_term)

    def _commit(self, w: WriteTxn) -> ResponseHeader:
        """Commit ``w``: its log entry (with a data dir), its header, and its events to the
        watchers (held until the entry is synced under ``fsync="always"``)."""
        journal = self._journal
        if journal is not None and w.changes:
            try:
                journal.log_write(w.rev, w.changes)
            except OSError as exc:
                w.rollback()
                self._fail_stop(exc)
        rev = w.commit()
        hdr = self._hdr
        if hdr.revision != rev:
            self._headroom -= record_bytes(w.changes)
            if self._lessor.leases:
                self._lessor.track(w.changes)
            self._hdr = hdr = self._header(rev)
            if journal is not None and journal.waits:
                self._hold(hdr, w.changes)
            elif self._hub.active:
                self._hub.notify(hdr, w.changes)
        return hdr

    def _check_size(self, req: RequestOp) -> None:
        limit = self._max_request_bytes
        if size_bound(req) > limit and request_size(req) > limit:
            raise RequestTooLargeError()

    def _admit(self, cost: int, *, write: bool = True) -> None:
        """Let a request that stores ``cost`` bytes (etcd's estimate) through, or refuse it
        (lock held): etcd's quota check first (``size + cost < quota``, which raises the
        NOSPACE alarm when it fails), then the alarms' caps (CORRUPT refuses every write,
        NOSPACE every request that costs something)."""
        quota = self._quota
        if quota is not None and self._space()[0] + cost >= quota:
            self._log_alarm(True, self._member_id, AlarmType.NOSPACE)
            self._alarms.activate(self._member_id, AlarmType.NOSPACE)
            self._space()
            raise NoSpaceError()
        if write and self._alarms.corrupt:
            raise CorruptError()
        if cost and self._alarms.nospace:
            raise NoSpaceError()

    def _log_alarm(self, raised: bool, member: int, kind: AlarmType) -> None:
        """Log an alarm raised or disarmed, when it changes something (lock held)."""
        if self._journal is None or kind is AlarmType.NONE:
            return
        if raised == any(m.member_id == member for m in self._alarms.get(kind)):
            return
        self._logged(self._journal.log_alarm, raised, member, kind)

    def _space(self) -> tuple[int, int]:
        """The size estimate ``(db_size, in_use)``, with every write since the last call
        folded in; recomputes the put fast path's headroom (lock held)."""
        in_use = self._in_use = self._in_use + self._headroom_set - self._headroom
        size = max(self._peak, in_use)
        alarms = self._alarms
        if alarms.nospace or alarms.corrupt or self._journal is not None or self._auth.enabled:
            room = -1  # every put takes the general path (which refuses it, or logs it)
        elif self._quota is None:
            room = self._put_fast_bytes + RECORD_OVERHEAD
        else:
            room = min(self._put_fast_bytes, self._quota - KV_OVERHEAD - size - 1) + RECORD_OVERHEAD
        self._headroom = self._headroom_set = room
        return size, in_use

    def _free(self, n: int) -> None:
        """``n`` bytes are no longer in use (compaction, revoke); the size stays (lock held)."""
        self._peak, in_use = self._space()
        self._in_use = in_use - n

    def _lease_exists(self, lease: int) -> bool:
        # Callers expire what is due first, before any write txn begins: an expiry is a
        # revision of its own and must never land inside another request's revision.
        return lease in self._lessor.leases

    def _put(self, req: PutRequest) -> PutResponse:
        check_request(req, self._max_txn_ops)
        self._check_size(req)
        kv = self._kv
        with self._lock:
            self._ensure_open()
            self._expire_due()
            if self._auth.enabled:
                self._check_request(req)
            self._admit(KV_OVERHEAD + len(req.key) + len(req.value))
            check_put(kv, req, self._lease_exists)
            w = kv.begin()
            _, prev = apply_put(w, req)
            hdr = self._commit(w)
            seq = self._journal.written if self._journal is not None else 0
        self._durable(seq)
        return new_put_response(hdr, prev if req.prev_kv else None)

    def _range(self, req: RangeRequest) -> RangeResponse:
        check_request(req, self._max_txn_ops)
        with self._lock:
            self._ensure_open()
            if self._auth.enabled:
                self._check_request(req)
            kvs, more, count, _ = execute_range(self._kv, req, self._kv.revision)
            hdr = self._hdr
        if self._held:
            self._durable()
        return new_range_response(hdr, kvs, more, count)

    def _delete(self, req: DeleteRangeRequest) -> DeleteRangeResponse:
        check_request(req, self._max_txn_ops)
        self._check_size(req)
        with self._lock:
            self._ensure_open()
            if self._auth.enabled:
                self._check_request(req)
            if self._alarms.corrupt:
                raise CorruptError()
            w = self._kv.begin()
            deleted = w.delete(req.key, req.range_end)
            hdr = self._commit(w)
            seq = self._journal.written if self._journal is not None else 0
        self._durable(seq)
        return new_delete_range_response(hdr, len(deleted), tuple(deleted) if req.prev_kv else ())

    def _txn(self, req: TxnRequest) -> TxnResponse:
        check_request(req, self._max_txn_ops)
        read_only = is_read_only(req)
        if not read_only:
            self._check_size(req)
        kv = self._kv
        with self._lock:
            self._ensure_open()
            self._expire_due()
            if self._auth.enabled:
                self._check_request(req)
            self._admit(txn_cost(req), write=not read_only)
            w = kv.begin()
            try:
                succeeded, responses = run_txn(kv, w, req, self._lease_exists)
            except BaseException:
                w.rollback()
                raise
            hdr = self._commit(w)
            seq = self._journal.written if self._journal is not None else 0
        self._durable(seq)
        return new_txn_response(hdr, succeeded, responses)

    # -- invariants -------------------------------------------------------------------------

    def _check(self) -> None:
        """Check the core's invariants (for tests; takes the lock)."""
        with self._lock:
            self._kv._check()
            assert self._hdr.revision == self._kv.revision
            self._hub._check()
            live = {}
            for key, entry in self._kv.index.items():
                kv = entry[-1] if type(entry) is KeyIndex else entry
                if kv.version and kv.lease:  # type: ignore[union-attr]
                    live[key] = kv.lease  # type: ignore[union-attr]
            self._lessor._check(live)
            size, in_use = self._space()
            stored = retained_bytes(self._kv.lookup, [key for key, _ in self._kv.index.items()])
            assert in_use == stored + LEASE_RECORD * len(self._lessor.leases), (in_use, stored)
            assert size >= in_use
