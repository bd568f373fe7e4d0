"""What etcd's recipes (client/v3/experimental/recipes) share: their errors, the ways they make
keys, the claim that takes one item off a queue, and the two faces of every wait.

Keys (etcd ``key.go``):

* :func:`put_new` creates a key only if it is absent (a txn guarded by ``version == 0``) and
  returns the revision that created it; :class:`KeyExistsError` otherwise;
* :func:`put_unique` writes ``<prefix>/<unix nanoseconds>`` with :func:`put_new`, trying a later
  number while one is taken (etcd ``newUniqueKV`` and ``newUniqueEphemeralKV``);
* :func:`put_sequential` writes ``<prefix>/<%016d>``, one past the prefix's last key, guarded by
  a bookkeeping key ``__<prefix>`` that every allocation rewrites, so two allocations never
  race to the same number (etcd ``newSequentialKV``).

Queues (etcd ``client.go``): :func:`claim_step` is a step (see :mod:`etcdlite.concurrency._wait`)
that reads the first key of a range and deletes it in a txn guarded by the key's mod revision,
so of several consumers exactly one gets each item.

>>> from etcdlite import Store
>>> store = Store()
>>> put_new(store, b"cfg", b"v1", 0)
2
>>> put_new(store, b"cfg", b"v2", 0)
Traceback (most recent call last):
etcdlite.concurrency._recipes.KeyExistsError: key already exists
>>> [put_sequential(store, b"jobs", v)[0] for v in (b"a", b"b")]
[b'jobs/0000000000000000', b'jobs/0000000000000001']
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING, ClassVar, TypeVar

from .._model import Compare, Op
from ._wait import WaitFor, run, run_async

if TYPE_CHECKING:
    from collections.abc import Callable

    from .._protocols import KV, Client

__all__ = (
    "KeyExistsError",
    "RecipeError",
    "TooManyClientsError",
    "block",
    "block_async",
    "claim_step",
    "put_new",
    "put_sequential",
    "put_unique",
)

T = TypeVar("T")


class RecipeError(Exception):
    """Base class of the recipes' own errors.

    These are decided by the client (etcd's recipes package declares them with
    ``errors.New``); no server sends them, so they have no gRPC code and are not
    :class:`~etcdlite.errors.EtcdError`\\ s. Each carries etcd's message.
    """

    #: etcd's message for this error.
    message: ClassVar[str] = "recipe error"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(self.message if message is None else message)


class KeyExistsError(RecipeError):
    """The key to create already exists (etcd ``recipe.ErrKeyExists``): ``Barrier.hold`` on a
    barrier that is held."""

    message = "key already exists"


class TooManyClientsError(RecipeError):
    """A double barrier already has its count of participants (etcd
    ``recipe.ErrTooManyClients``)."""

    message = "too many clients"


def put_new(client: KV, key: bytes, value: bytes, lease: int) -> int:
    """Create ``key`` if it does not exist: the revision that created it.

    Raises :class:`KeyExistsError` if it exists (etcd ``putNewKV``).
    """
    resp = client.txn([Compare.version(key) == 0], [Op.put(key, value, lease=lease)])
    if not resp.succeeded:
        raise KeyExistsError()
    return resp.header.revision


def put_unique(client: KV, prefix: bytes, value: bytes, lease: int = 0) -> tuple[bytes, int]:
    """Create ``<prefix>/<unix nanoseconds>`` (etcd ``newUniqueKV``): the key and its revision.

    A number already taken is replaced by a later one (the clock's, or one more than the number
    tried when the clock has not moved), so the loop ends whatever the clock does.
    """
    ns = time.time_ns()
    while True:
        key = b"%s/%d" % (prefix, ns)
        try:
            return key, put_new(client, key, value, lease)
        except KeyExistsError:
            ns = max(time.time_ns(), ns + 1)


def put_sequential(client: KV, prefix: bytes, value: bytes) -> tuple[bytes, int]:
    """Create ``<prefix>/<n>`` (``%016d``), ``n`` one past the prefix's last key's number (0 for
    the first): etcd ``newSequentialKV``. Returns the key and its revision.

    The txn that writes the key also rewrites ``__<prefix>`` and holds only if that bookkeeping
    key did not change since the last key was read. So an allocation that raced with another
    reads again instead of overwriting the other's key, or writing a number below keys
    allocated meanwhile: numbers grow in the order the allocations commit. (A number can come
    back when the prefix's last key is deleted, as in etcd.) Raises ``ValueError`` if the last
    key under ``prefix`` does not end in a number.
    """
    base = b"__" + prefix
    while True:
        last = client.get(prefix, prefix=True, sort_target="key", sort_order="descend", limit=1)
        seq = 0
        if last.kvs:
            tail = last.kvs[0].key.rsplit(b"/", 1)[-1]
            if not tail.isdigit():
                raise ValueError(f"{last.kvs[0].key!r} is not a sequential key under {prefix!r}")
            seq = int(tail) + 1
        key = b"%s/%016d" % (prefix, seq)
        resp = client.txn(
            [Compare.mod_revision(base) < last.header.revision + 1],
            [Op.put(base, b""), Op.put(key, value)],
        )
        if resp.succeeded:
            return key, resp.header.revision


def claim_step(
    client: KV, key: bytes, range_end: bytes, sort_target: str
) -> Callable[[], bytes | WaitFor]:
    """A step that takes the first key of ``[key, range_end)`` and returns its value.

    "First" is by ``sort_target`` ascending (``"mod"`` revision for a FIFO queue, ``"key"`` for
    a priority queue). The key is deleted in a txn guarded by the mod revision just read (etcd
    ``claimFirstKey`` and ``deleteRevKey``): when another consumer took it first, the step reads
    again; when the range is empty, it waits for the range to change.
    """

    def step() -> bytes | WaitFor:
        while True:
            first = client.get(
                key, range_end=range_end, sort_target=sort_target, sort_order="ascend", limit=1
            )
            if not first.kvs:
                return WaitFor(key, range_end, first.header.revision)
            kv = first.kvs[0]
            taken = client.txn(
                [Compare.mod_revision(kv.key) == kv.mod_revision], [Op.delete(kv.key)]
            )
            if taken.succeeded:
                return kv.value

    return step


def _quietly(cleanup: Callable[[], object]) -> None:
    """Run ``cleanup`` on the way out of a failed wait; its own error must not hide the first."""
    with contextlib.suppress(Exception):  # best effort: an ephemeral key goes with its lease too
        cleanup()


def block(
    client: Client,
    step: Callable[[], T | WaitFor],
    timeout: float | None,
    abandon: Callable[[], object] | None = None,
) -> T:
    """:func:`~etcdlite.concurrency._wait.run`, calling ``abandon`` if the wait fails (a timeout,
    an error of the store, an interrupt) before raising."""
    try:
        return run(client, step, timeout)
    except BaseException:
        if abandon is not None:
            _quietly(abandon)
        raise


async def block_async(
    client: Client, step: Callable[[], T | WaitFor], abandon: Callable[[], object] | None = None
) -> T:
    """:func:`~etcdlite.concurrency._wait.run_async`, calling ``abandon`` if the wait fails
    (cancellation included) before raising."""
    try:
        return await run_async(client, step)
    except BaseException:
        if abandon is not None:
            _quietly(abandon)
        raise
