"""Leader election: two candidates, one leader at a time, a failover, and an observer.

``node-1`` and ``node-2`` campaign for ``elections/report-writer``; whoever leads writes the
report. ``node-2`` waits in a thread while ``node-1`` leads. Then ``node-1`` crashes (its
session stops renewing and the lease expires), ``node-2`` takes over, and the late write of the
old leader is refused because every leader write is fenced on its leadership. An observer
follows the leadership throughout. ``node-2`` finally resigns, leaving no leader.

Time comes from a FakeClock, so the lease expiry happens when the script says.
Run it: ``python examples/leader_election.py``.
"""

from __future__ import annotations

import threading

from etcdlite import Compare, Op, Store
from etcdlite.concurrency import Election, Session
from etcdlite.errors import ElectionNoLeaderError
from etcdlite.testing import FakeClock

PREFIX = "elections/report-writer"


def write_report(store: Store, election: Election, text: str) -> bool:
    """Write the report only while ``election`` still leads (its key, same incarnation)."""
    r = store.txn(
        compare=[Compare.create_revision(election.key) == election.rev],
        success=[Op.put("report", text)],
    )
    return r.succeeded


def main() -> None:
    clock = FakeClock()
    with Store(clock=clock) as store:
        s1, s2 = Session(store, ttl=10), Session(store, ttl=10)
        node1, node2 = Election(s1, PREFIX), Election(s2, PREFIX)

        node1.campaign("node-1")  # nobody leads yet: elected at once
        # node-2 campaigns too, and blocks until it leads (at most 10 s here).
        waiting = threading.Thread(target=node2.campaign, args=("node-2",), kwargs={"timeout": 10})
        waiting.start()

        observer = Election(s2, PREFIX).observe()  # anyone can follow the leadership

        def seen() -> str:
            return observer.receive(timeout=10).kv.value.decode()

        print("leader        ->", seen())
        assert write_report(store, node1, "report by node-1")
        node1.proclaim("node-1 (writing)")  # a new value, same leader
        print("proclaimed    ->", seen())

        # node-1 crashes: nothing renews its lease, which expires; its key goes with it.
        old_key, old_rev = node1.key, node1.rev
        s1.orphan()
        clock.advance(10)
        waiting.join(timeout=10)
        assert not waiting.is_alive(), "node-2 should have been elected"
        print("after crash   ->", seen())

        # node-1 comes back from its pause and tries to write: fenced out.
        assert (node1.key, node1.rev) == (old_key, old_rev)  # it still thinks it leads
        print("node-1 write  -> accepted:", write_report(store, node1, "late report by node-1"))
        print("node-2 write  -> accepted:", write_report(store, node2, "report by node-2"))
        print("report        ->", store.get("report").kvs[0].value.decode())
        assert store.get("report").kvs[0].value == b"report by node-2"

        node2.resign()
        try:
            node2.leader()
        except ElectionNoLeaderError as err:
            print("after resign  ->", err)
        observer.close()
        s2.close()
        s1.close()


if __name__ == "__main__":
    main()
