"""A deterministic mix of writes for the durability tests, and the oracle they check against.

:func:`play` runs the same operations on any store (a durable one under test, an in-memory
reference) and returns, per revision, the reference's ``hash_kv``: after recovery a store at
revision ``r`` must hash as the reference did at ``r``, which proves that it holds exactly the
first writes (none half-applied, none lost before ``r``).
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from etcdlite import Op, Store

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ("play", "reference_hashes")


def play(
    store: Store,
    count: int,
    *,
    seed: int = 7,
    compact: bool = True,
    after: Callable[[], object] | None = None,
) -> list[int]:
    """``count`` writes (puts, deletes, multi-op txns, lease grants and revokes, and a
    compaction now and then); the revision after each one. ``after`` runs after each."""
    rng = random.Random(seed)
    leases: list[int] = []
    revisions = []
    for i in range(count):
        kind = rng.random()
        if kind < 0.45:
            lease = rng.choice(leases) if leases and rng.random() < 0.3 else 0
            store.put(f"k{rng.randrange(20)}", f"v{i}" * rng.randrange(1, 5), lease=lease)
        elif kind < 0.6:
            store.delete(f"k{rng.randrange(20)}", range_end=f"k{rng.randrange(20)}~")
        elif kind < 0.8:
            base = rng.randrange(20)
            store.txn(
                compare=[],
                success=[
                    Op.put(f"t{base}/a", str(i)),
                    Op.put(f"t{base}/b", str(i)),
                    Op.delete(f"k{rng.randrange(20)}"),
                ],
            )
        elif kind < 0.9 or not leases:
            leases.append(store.grant(3600, id=1000 + i).id)
        elif kind < 0.97:
            store.revoke(leases.pop(rng.randrange(len(leases))))
        elif compact and store.revision > store.compact_revision + 2:
            store.compact(store.revision - 1)
        revisions.append(store.revision)
        if after is not None:
            after()
    return revisions


def reference_hashes(count: int, *, seed: int = 7, compact: bool = True) -> dict[int, set[int]]:
    """revision -> every ``hash_kv`` an in-memory store had at that revision while playing
    :func:`play` (a compaction changes the hash without a new revision)."""
    hashes: dict[int, set[int]] = {1: {Store().hash_kv().hash}}
    with Store() as ref:

        def record() -> None:
            hashes.setdefault(ref.revision, set()).add(ref.hash_kv().hash)

        play(ref, count, seed=seed, compact=compact, after=record)
    return hashes
