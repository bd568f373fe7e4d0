"""Software transactional memory over any KV client (clientv3 ``concurrency.NewSTM``).

:func:`stm` runs a function ``apply(s)`` as one optimistic transaction. Inside ``apply``,
``s.get`` reads keys and ``s.put``/``s.delete`` buffer writes; nothing reaches the store until
``apply`` returns. Then a single txn sends every buffered write, guarded by compares that hold
only if no concurrent write broke the isolation level. If a compare fails, the read and write
sets are dropped and ``apply`` runs again on fresh reads, until the txn commits. ``apply`` must
therefore be safe to re-run: it should touch the store only through ``s``.

The isolation levels are clientv3's. ``first`` is the header revision of the attempt's first
read (clientv3 ``readSet.first``: the lowest header revision among the reads):

========================== ============================== =====================================
level                      reads                          commit compares
========================== ============================== =====================================
``SERIALIZABLE_SNAPSHOT``  the first at the current       every read key: ``mod_revision ==``
(default)                  revision, every later one at   the one read (``== 0`` if it was
                           ``first``                      absent); every written key:
                                                          ``mod_revision < first + 1``
``SERIALIZABLE``           as above                       every read key, as above
``REPEATABLE_READS``       each key at the current        every read key, as above
                           revision when first read
``READ_COMMITTED``         as repeatable reads            none: the writes always apply
========================== ============================== =====================================

(etcd ``client/v3/concurrency/stm.go``: ``mkSTM``, ``isKeyCurrent``, ``readSet.cmps`` and
``writeSet.cmps``.) So SERIALIZABLE_SNAPSHOT also retries when a key written but not read changed
after the first read (an attempt that reads nothing has no snapshot, so nothing to compare);
SERIALIZABLE and REPEATABLE_READS guard only what was read, SERIALIZABLE reading it from one
snapshot; READ_COMMITTED never retries.
Each level reads a key from the store once per attempt and then answers from its read set, and
every level answers a read of a key it has written from its write set.

As in clientv3, a failed commit of the two serializable levels reads every key of the read set
in the txn's failure branch, and the next attempt starts from those reads (pinned at that txn's
revision) instead of fetching them again: a conflict costs no extra round trip.

The classic bank transfer:

>>> from etcdlite import Store
>>> store = Store()
>>> _ = store.put("alice", "100"), store.put("bob", "0")
>>> def transfer(s: STM) -> None:
...     alice, bob = int(s.get("alice")), int(s.get("bob"))
...     s.put("alice", str(alice - 30))
...     s.put("bob", str(bob + 30))
>>> stm(store, transfer).succeeded
True
>>> store.get("alice").kvs[0].value, store.get("bob").kvs[0].value
(b'70', b'30')
"""

from __future__ import annotations

import enum
import inspect
from typing import TYPE_CHECKING

from .._model import Compare, Op, RangeResponse, to_bytes, to_int

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from .._model import RequestOp, TxnResponse
    from .._protocols import KV

__all__ = ("STM", "Isolation", "STMConflictError", "stm")


class Isolation(enum.Enum):
    """clientv3 ``concurrency.Isolation``: how an :func:`stm` txn conflicts with others.

    :func:`stm` also takes the value (the lowercase name) of each level.

    >>> Isolation("repeatable_reads")
    <Isolation.REPEATABLE_READS: 'repeatable_reads'>
    """

    #: Reads from one snapshot; conflicts on changed reads and on changed written keys.
    SERIALIZABLE_SNAPSHOT = "serializable_snapshot"
    #: Reads from one snapshot; conflicts on changed reads.
    SERIALIZABLE = "serializable"
    #: Reads each key at the current revision; conflicts on changed reads.
    REPEATABLE_READS = "repeatable_reads"
    #: Reads each key at the current revision; never conflicts.
    READ_COMMITTED = "read_committed"


def to_isolation(value: object) -> Isolation:
    """``value`` as an :class:`Isolation`: a member, or a member's value in any case.

    >>> to_isolation("Serializable")
    <Isolation.SERIALIZABLE: 'serializable'>
    >>> to_isolation(1)
    Traceback (most recent call last):
    TypeError: isolation must be str or Isolation, not int
    """
    if isinstance(value, Isolation):
        return value
    if isinstance(value, str):
        try:
            return Isolation(value.lower())
        except ValueError:
            names = ", ".join(repr(i.value) for i in Isolation)
            raise ValueError(f"isolation must be one of {names}, not {value!r}") from None
    raise TypeError(f"isolation must be str or Isolation, not {type(value).__name__}")


class STMConflictError(Exception):
    """:func:`stm` gave up: every one of ``attempts`` commits conflicted with another write.

    Raised only when ``max_retries`` is set; clientv3 retries forever. Nothing was written.
    """

    def __init__(self, attempts: int) -> None:
        super().__init__(
            f"stm: gave up after {attempts} attempts: "
            "each commit conflicted with a concurrent write"
        )
        #: How many times ``apply`` ran and failed to commit.
        self.attempts = attempts


# One read: (value, mod revision, header revision of the response). An absent key reads as
# (b"", 0, header revision), as clientv3 turns an empty response into "" and revision 0.
_Read = tuple[bytes, int, int]


class STM:
    """The transaction :func:`stm` hands to ``apply`` (clientv3 ``concurrency.STM``).

    Reads go to the store (once per key per attempt) or come from the txn's own writes; writes
    are buffered until :func:`stm` commits them. Keys and values may be ``str`` (UTF-8) or
    ``bytes``. Errors of the store (``CompactedError`` when the snapshot revision is
    compacted, for example) propagate out of :func:`stm`.
    """

    __slots__ = (
        "_carried",
        "_client",
        "_first",
        "_isolation",
        "_pin",
        "_pinning",
        "_reads",
        "_writes",
    )

    def __init__(self, client: KV, isolation: Isolation) -> None:
        self._client = client
        self._isolation = isolation
        #: Whether reads are pinned to the first read's revision (the serializable levels).
        self._pinning = isolation in (Isolation.SERIALIZABLE_SNAPSHOT, Isolation.SERIALIZABLE)
        #: The revision later reads use (0: current; set by the first read when pinning).
        self._pin = 0
        #: The lowest header revision among the reads (0 before the first read).
        self._first = 0
        self._reads: dict[bytes, _Read] = {}
        self._writes: dict[bytes, tuple[bytes, RequestOp]] = {}
        #: Reads of the last failed commit's failure branch, used by the next attempt.
        self._carried: dict[bytes, _Read] = {}

    def __repr__(self) -> str:
        return (
            f"<etcdlite.concurrency.STM {self._isolation.value} "
            f"reads={len(self._reads)} writes={len(self._writes)}>"
        )

    @property
    def isolation(self) -> Isolation:
        """The txn's isolation level."""
        return self._isolation

    def get(self, key: str | bytes) -> bytes:
        """The value of ``key`` as this txn sees it; ``b""`` when absent (clientv3 ``Get``).

        A key this txn wrote reads as written (``b""`` after :meth:`delete`), without a
        read. Otherwise the key joins the read set: it is read from the store the first time
        (at the snapshot revision for the serializable levels) and from the read set after.
        """
        k = key if type(key) is bytes else to_bytes(key, "key")
        written = self._writes.get(k)
        if written is not None:
            return written[0]
        read = self._reads.get(k)
        if read is None:
            self._load((k,))
            read = self._reads[k]
        return read[0]

    def rev(self, key: str | bytes) -> int:
        """The mod revision of ``key`` in the store; 0 when absent (clientv3 ``Rev``).

        Reads the key like :meth:`get` (so it joins the read set), but ignores this txn's own
        writes: the answer is the store's revision of the key, never a pending one.
        """
        k = key if type(key) is bytes else to_bytes(key, "key")
        read = self._reads.get(k)
        if read is None:
            self._load((k,))
            read = self._reads[k]
        return read[1]

    def put(self, key: str | bytes, value: str | bytes, *, lease: int = 0) -> None:
        """Buffer a put of ``key`` (clientv3 ``Put``); ``lease`` attaches the key to a lease.

        The last write of a key wins. The lease is checked when the txn commits
        (``LeaseNotFoundError`` then, as etcd).
        """
        op = Op.put(key, value, lease=lease)
        self._writes[op.key] = (op.value, op)

    def delete(self, key: str | bytes) -> None:
        """Buffer a delete of ``key`` (clientv3 ``Del``); later reads in this txn give ``b""``."""
        op = Op.delete(key)
        self._writes[op.key] = (b"", op)

    # -- the retry loop's side --------------------------------------------------------------

    def _reset(self) -> None:
        """Forget the attempt's reads and writes (not the carried reads)."""
        self._reads = {}
        self._writes = {}
        self._pin = 0
        self._first = 0

    def _note(self, key: bytes, read: _Read) -> None:
        self._reads[key] = read
        rev = read[2]
        if self._pinning and not self._pin:
            self._pin = rev
        if not self._first or rev < self._first:
            self._first = rev

    def _load(self, keys: Sequence[bytes]) -> None:
        """Bring every key of ``keys`` into the read set, fetching those missing in one go."""
        reads = self._reads
        carried = self._carried
        missing: list[bytes] = []
        for k in keys:
            if k in reads:
                continue
            read = carried.pop(k, None)
            if read is None:
                missing.append(k)
            else:
                self._note(k, read)
        if not missing:
            return
        # clientv3: the first read of a serializable txn is linearizable, every other one
        # serializable (a local read; the compares catch a stale answer).
        serializable = bool(self._pin) or not self._pinning
        client = self._client
        if len(missing) == 1:
            resp = client.get(missing[0], revision=self._pin, serializable=serializable)
            self._note(missing[0], _as_read(resp, resp.header.revision))
            return
        txn = client.txn(
            success=[Op.get(k, revision=self._pin, serializable=serializable) for k in missing]
        )
        rev = txn.header.revision
        for k, sub in zip(missing, txn.responses, strict=True):
            assert isinstance(sub, RangeResponse), sub
            self._note(k, _as_read(sub, rev))

    def _compares(self) -> list[Compare]:
        isolation = self._isolation
        if isolation is Isolation.READ_COMMITTED:
            return []
        mod_revision = Compare.mod_revision
        cmps = [mod_revision(k) == read[1] for k, read in self._reads.items()]
        if isolation is Isolation.SERIALIZABLE_SNAPSHOT and self._first:
            # clientv3 compares against readSet.first() + 1 even with no reads, where first()
            # is MaxInt64 - 1: a compare that always holds, left out here.
            bound = self._first + 1
            cmps.extend(mod_revision(k) < bound for k in self._writes)
        return cmps

    def _commit(self) -> TxnResponse | None:
        """Send the writes under the level's compares: the response, or None on a conflict."""
        cmps = self._compares()
        ops = [op for _, op in self._writes.values()]
        if not self._pinning:
            resp = self._client.txn(cmps, ops)
            return resp if resp.succeeded else None
        keys = list(self._reads)
        resp = self._client.txn(cmps, ops, [Op.get(k) for k in keys])
        if resp.succeeded:
            return resp
        rev = resp.header.revision
        carried: dict[bytes, _Read] = {}
        for k, sub in zip(keys, resp.responses, strict=True):
            assert isinstance(sub, RangeResponse), sub
            carried[k] = _as_read(sub, rev)
        self._carried = carried
        return None


def _as_read(resp: RangeResponse, rev: int) -> _Read:
    kvs = resp.kvs
    if kvs:
        kv = kvs[0]
        return (kv.value, kv.mod_revision, rev)
    return (b"", 0, rev)


def stm(
    client: KV,
    apply: Callable[[STM], object],
    *,
    isolation: Isolation | str = Isolation.SERIALIZABLE_SNAPSHOT,
    prefetch: Iterable[str | bytes] = (),
    max_retries: int | None = None,
) -> TxnResponse:
    """Run ``apply(s)`` as one txn, retrying it until it commits (clientv3 ``NewSTM``).

    Each attempt gives ``apply`` a fresh :class:`STM`, then commits its writes in one
    ``client.txn`` whose compares depend on ``isolation`` (see the module docstring). If they
    fail, the attempt is thrown away and ``apply`` runs again at once, on fresh reads. Returns
    the response of the txn that committed (``succeeded`` is always true).

    * ``isolation``: an :class:`Isolation` or its value, ``"serializable_snapshot"`` by default
      (clientv3 ``WithIsolation``);
    * ``prefetch``: keys every attempt reads up front in one round trip (clientv3
      ``WithPrefetch``); with the serializable levels they also fix the snapshot revision;
    * ``max_retries``: how many conflicts to retry before raising :class:`STMConflictError`;
      ``None`` retries forever, as clientv3 does.

    An exception raised by ``apply``, or by the store, propagates at once and nothing of the
    attempt is written. ``apply``'s return value is ignored; it must be a plain function (an
    ``async def`` gives ``TypeError``), since :func:`stm` never waits: over an in-process store
    it never blocks and may be called from a thread or an async task alike.

    Raises ``TypeError``/``ValueError`` for bad arguments, :class:`STMConflictError`, and
    whatever ``apply`` or the client raise.

    >>> from etcdlite import Store
    >>> store = Store()
    >>> def incr(s: STM) -> None:
    ...     s.put("n", str(int(s.get("n") or "0") + 1))
    >>> [stm(store, incr, isolation="repeatable_reads").header.revision for _ in range(3)]
    [2, 3, 4]
    >>> store.get("n").kvs[0].value
    b'3'
    """
    if not callable(apply):
        raise TypeError(f"apply must be callable, not {type(apply).__name__}")
    level = to_isolation(isolation)
    if isinstance(prefetch, (str, bytes)):
        raise TypeError("prefetch must be an iterable of keys, not a single key")
    keys = tuple(k if type(k) is bytes else to_bytes(k, "prefetch key") for k in prefetch)
    limit = None if max_retries is None else to_int(max_retries, "max_retries")
    if limit is not None and limit < 0:
        raise ValueError(f"max_retries must be None or >= 0, not {limit}")
    s = STM(client, level)
    attempts = 0
    while True:
        s._reset()
        if keys:
            s._load(keys)
        result = apply(s)
        if inspect.isawaitable(result):
            if inspect.iscoroutine(result):
                result.close()
            raise TypeError("apply must be a plain function: stm() does not await its result")
        resp = s._commit()
        if resp is not None:
            return resp
        attempts += 1
        if limit is not None and attempts > limit:
            raise STMConflictError(attempts)
