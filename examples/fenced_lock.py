"""A distributed lock with fencing: several threads, no lost update, and a stale holder refused.

A lock is advisory: a holder whose lease expired (a long pause, a stalled VM) may still believe
it holds the lock after someone else took it. Two defences, both shown here:

1. writes to the store go in a txn that also checks ``mutex.is_owner()``, so a stale holder's
   write changes nothing;
2. writes to something outside the store carry a *fencing token*, the lock key's create
   revision, which grows from holder to holder; the resource refuses a token older than the
   newest it has seen.

Part 1 runs 4 threads x 50 increments of a shared counter under the lock and checks that none
is lost. Part 2 stalls a holder until its lease expires and shows both defences refusing its
late writes. Time comes from a FakeClock, so the expiry happens when the script says.
Run it: ``python examples/fenced_lock.py`` (about a second).
"""

from __future__ import annotations

import threading

from etcdlite import Compare, Op, Store
from etcdlite.concurrency import Mutex, Session
from etcdlite.testing import FakeClock

WORKERS = 4
INCREMENTS = 50
LOCK = "locks/counter"


class FencedStorage:
    """A resource outside the store (a file server, say) that checks fencing tokens."""

    def __init__(self) -> None:
        self.newest_token = 0
        self.value = 0
        self.refused = 0
        self._mutex = threading.Lock()  # the resource's own consistency, not the etcd lock

    def write(self, token: int, value: int) -> bool:
        with self._mutex:
            if token < self.newest_token:
                self.refused += 1
                return False
            self.newest_token = token
            self.value = value
            return True


def fencing_token(store: Store, mutex: Mutex) -> int:
    """The lock key's create revision: larger for every later holder."""
    return store.get(mutex.key).kvs[0].create_revision


def increment(store: Store, mutex: Mutex, storage: FencedStorage) -> None:
    """One increment of the counter, in the store and in the external storage."""
    with mutex:  # blocks until this thread's turn
        token = fencing_token(store, mutex)
        current = int(store.get("counter").kvs[0].value)
        r = store.txn(
            compare=[mutex.is_owner()],  # only while the lock is still ours
            success=[Op.put("counter", str(current + 1))],
        )
        assert r.succeeded, "the lock was lost while held"
        assert storage.write(token, current + 1)


def part1(store: Store, storage: FencedStorage) -> None:
    store.put("counter", "0")

    def worker() -> None:
        with Session(store, ttl=30) as session:
            mutex = Mutex(session, LOCK)  # one Mutex per holder, as in clientv3
            for _ in range(INCREMENTS):
                increment(store, mutex, storage)

    threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    counter = int(store.get("counter").kvs[0].value)
    print(f"counter       -> {counter} ({WORKERS} threads x {INCREMENTS}, none lost)")
    print(f"storage       -> {storage.value}, {storage.refused} writes refused")
    assert counter == storage.value == WORKERS * INCREMENTS


def part2(store: Store, clock: FakeClock, storage: FencedStorage) -> None:
    slow, fast = Session(store, ttl=10), Session(store, ttl=10)
    stale, fresh = Mutex(slow, LOCK), Mutex(fast, LOCK)

    stale.lock()
    stale_token = fencing_token(store, stale)
    print(f"A holds the lock, token {stale_token}")

    # A stalls: its keep-alive stops and the lease runs out. Its key is deleted...
    slow.orphan()
    clock.advance(10)
    # ... so B gets the lock, with a larger token, and writes.
    fresh.lock(timeout=10)
    fresh_token = fencing_token(store, fresh)
    fenced = [fresh.is_owner()]
    assert store.txn(compare=fenced, success=[Op.put("counter", "1000")]).succeeded
    assert storage.write(fresh_token, 1000)
    print(f"B holds the lock, token {fresh_token}, wrote 1000")

    # A wakes up, still believing it holds the lock, and tries to write.
    late = store.txn(compare=[stale.is_owner()], success=[Op.put("counter", "666")])
    print("A's fenced txn succeeded:", late.succeeded)
    print("A's storage write accepted:", storage.write(stale_token, 666))
    assert not late.succeeded
    assert store.get("counter").kvs[0].value == b"1000"
    assert storage.value == 1000

    # The txn to check ownership on any key: the lock key's create revision is the token.
    assert store.txn(compare=[Compare.create_revision(fresh.key) == fresh_token]).succeeded
    fresh.unlock()
    fast.close()
    slow.close()


def main() -> None:
    clock = FakeClock()
    with Store(clock=clock) as store:
        storage = FencedStorage()
        part1(store, storage)
        part2(store, clock, storage)


if __name__ == "__main__":
    main()
