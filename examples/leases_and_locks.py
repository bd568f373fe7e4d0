"""Service registration with a lease, a fenced lock, and a leader election.

Run it: ``python examples/leases_and_locks.py``. Time comes from a FakeClock, so the lease
expiry below happens the moment the script advances the clock, not after real seconds.
"""

from __future__ import annotations

import threading

from etcdlite import Op, Store
from etcdlite.concurrency import Election, Mutex, Session
from etcdlite.testing import FakeClock


def main() -> None:
    clock = FakeClock()
    store = Store(clock=clock)

    # 1. Service registration: the key lives as long as its lease.
    lease = store.grant(10)
    store.put("services/api/10.0.0.1", "up", lease=lease.id)
    print("registered    ->", [kv.key.decode() for kv in store.get("services/", prefix=True).kvs])
    clock.advance(10)  # nobody renewed it
    print("after 10 s    ->", store.get("services/", prefix=True).count, "instances")

    # 2. A lock, with the protected write fenced by a txn on the lock key.
    workers = [Session(store, ttl=30) for _ in range(3)]
    store.put("counter", "0")

    def work(session: Session) -> None:
        mutex = Mutex(session, "locks/counter")
        for _ in range(100):
            with mutex:
                value = int(store.get("counter").kvs[0].value)
                r = store.txn(
                    compare=[mutex.is_owner()],  # only while we still hold the lock
                    success=[Op.put("counter", str(value + 1))],
                )
                assert r.succeeded

    threads = [threading.Thread(target=work, args=(s,)) for s in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("counter       ->", store.get("counter").kvs[0].value.decode(), "(3 threads x 100)")

    # 3. An election: one leader at a time, the next takes over when it resigns.
    first, second = (Election(s, "leader/db") for s in workers[:2])
    first.campaign("node-1")
    print("leader        ->", first.leader().kv.value.decode())
    first.resign()
    second.campaign("node-2")
    print("after resign  ->", second.leader().kv.value.decode())

    for s in workers:
        s.close()
    store.close()


if __name__ == "__main__":
    main()
