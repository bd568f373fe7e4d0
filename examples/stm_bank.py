"""An STM bank: concurrent transfers between accounts, with the invariants checked.

Each transfer reads two balances and writes both, inside :func:`etcdlite.concurrency.stm`
(clientv3's software transactional memory): the function runs against a snapshot, its writes
commit in one txn that checks nothing it read has changed, and on a conflict it simply runs
again on fresh data. Four threads make 100 random transfers each. Afterwards the script checks
that no money was created or lost and no balance went negative, not only at the end but at
every revision of the history, since each transfer committed atomically. Last, a transfer is
interrupted by another client's deposit on purpose, to show stm re-running it.

Run it: ``python examples/stm_bank.py`` (a second or two).
"""

from __future__ import annotations

import random
import threading
from typing import TYPE_CHECKING

from etcdlite import Store
from etcdlite.concurrency import STM, stm

if TYPE_CHECKING:
    from collections.abc import Callable

ACCOUNTS = [f"accounts/{name}" for name in ("alice", "bob", "carol", "dave", "erin")]
OPENING = 100
THREADS = 4
TRANSFERS = 100


def balances(store: Store, revision: int = 0) -> dict[str, int]:
    r = store.get("accounts/", prefix=True, revision=revision)
    return {kv.key.decode(): int(kv.value) for kv in r.kvs}


def main() -> None:
    with Store() as store:
        for account in ACCOUNTS:
            store.put(account, str(OPENING))
        opened_at = store.revision
        attempts = [0]  # how many times transfer functions ran, retries included
        refused = [0]
        count_lock = threading.Lock()

        def transfer(src: str, dst: str, amount: int) -> Callable[[STM], None]:
            """The function stm runs (again from the start after a conflict)."""

            def apply(s: STM) -> None:
                with count_lock:
                    attempts[0] += 1
                have = int(s.get(src))
                if have < amount:
                    with count_lock:
                        refused[0] += 1
                    return  # no writes: nothing to commit
                s.put(src, str(have - amount))
                s.put(dst, str(int(s.get(dst)) + amount))

            return apply

        def teller(seed: int) -> None:
            rng = random.Random(seed)  # reproducible choices per thread
            for _ in range(TRANSFERS):
                src, dst = rng.sample(ACCOUNTS, 2)
                # serializable snapshot isolation, the default
                stm(store, transfer(src, dst, rng.randint(1, 40)))

        threads = [threading.Thread(target=teller, args=(seed,)) for seed in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)

        final = balances(store)
        print("final balances ->", final)
        print(f"total          -> {sum(final.values())} (opened with {OPENING * len(ACCOUNTS)})")
        calls = THREADS * TRANSFERS
        print(f"transfers      -> {calls} asked, {refused[0]} refused attempts (short funds)")
        print(f"retries        -> {attempts[0] - calls} conflicts re-run by stm")

        # A conflict made on purpose: while the transfer runs, another client deposits into
        # the source account. The commit's compares fail, and stm runs the function again
        # on fresh balances; the deposit is not lost.
        runs = []

        def interrupted(s: STM) -> None:
            have = int(s.get(ACCOUNTS[0]))
            runs.append(have)
            if len(runs) == 1:
                store.put(ACCOUNTS[0], str(int(store.get(ACCOUNTS[0]).kvs[0].value) + 50))
            s.put(ACCOUNTS[0], str(have - 10))
            s.put(ACCOUNTS[1], str(int(s.get(ACCOUNTS[1])) + 10))

        stm(store, interrupted)
        print(f"conflict       -> ran {len(runs)} times, saw {runs[0]} then {runs[1]}")
        assert runs[1] == runs[0] + 50
        deposit = 50

        # The invariants, at every revision since the accounts opened (the deposit added
        # money at one revision, on purpose).
        deposited_at = store.revision - 1
        for revision in range(opened_at, store.revision + 1):
            snapshot = balances(store, revision)
            expected = OPENING * len(ACCOUNTS) + (deposit if revision >= deposited_at else 0)
            assert sum(snapshot.values()) == expected, (revision, snapshot)
            assert min(snapshot.values()) >= 0, (revision, snapshot)
        print(f"invariants     -> hold at all {store.revision - opened_at + 1} revisions")


if __name__ == "__main__":
    main()
