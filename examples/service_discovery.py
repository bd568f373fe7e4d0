"""Service discovery: instances register under a lease, a client follows them with a watch.

Each instance of an ``api`` service writes ``services/api/<name>`` with its address, attached
to the lease of its :class:`~etcdlite.concurrency.Session`, which renews the lease in the
background. A load balancer reads the prefix once and then watches it, so it always knows the
live instances. An instance that stops cleanly disappears at once (its lease is revoked); one
that crashes disappears when its lease runs out, with nobody having to clean up.

Time comes from a FakeClock, so the 10-second TTL below passes the moment the script says.
Run it: ``python examples/service_discovery.py``.
"""

from __future__ import annotations

from etcdlite import EventType, Store, Watch
from etcdlite.concurrency import Session
from etcdlite.testing import FakeClock

PREFIX = "services/api/"


class Balancer:
    """The set of live instances: one read, then a watch from the revision after it."""

    def __init__(self, store: Store) -> None:
        r = store.get(PREFIX, prefix=True)
        self.instances = {kv.key.decode()[len(PREFIX) :]: kv.value.decode() for kv in r.kvs}
        self.revision = r.header.revision
        self.watch: Watch = store.watch(PREFIX, prefix=True, start_revision=self.revision + 1)
        self.watch.receive(timeout=5)  # the "created" response

    def catch_up(self, revision: int) -> None:
        """Apply the watch's events up to ``revision`` (each receive waits 5 s at most)."""
        while self.revision < revision:
            for event in self.watch.receive(timeout=5).events:
                name = event.kv.key.decode()[len(PREFIX) :]
                if event.type is EventType.PUT:
                    self.instances[name] = event.kv.value.decode()
                else:
                    del self.instances[name]
                self.revision = event.kv.mod_revision

    def show(self, when: str, store: Store) -> None:
        self.catch_up(store.revision)
        print(f"{when:<28} -> {sorted(self.instances)}")


def register(store: Store, name: str, address: str) -> Session:
    """Announce an instance for as long as its session lives."""
    session = Session(store, ttl=10)
    store.put(PREFIX + name, address, lease=session.lease)
    return session


def main() -> None:
    clock = FakeClock()
    with Store(clock=clock) as store:
        balancer = Balancer(store)
        sessions = {
            name: register(store, name, f"10.0.0.{i}:8080")
            for i, name in enumerate(["api-1", "api-2", "api-3"], start=1)
        }
        balancer.show("three instances registered", store)

        clock.advance(60)  # the sessions renew their leases every third of the TTL
        balancer.show("a minute later", store)

        sessions["api-2"].close()  # a clean shutdown revokes the lease: the key goes now
        balancer.show("api-2 shut down", store)

        sessions["api-3"].orphan()  # a crash: nothing renews the lease any more
        # The lease lives on for what is left of its TTL since the last renewal (whole
        # seconds, rounded down), then its key is deleted.
        left = store.time_to_live(sessions["api-3"].lease).ttl
        clock.advance(left)
        balancer.show(f"api-3 crashed, {left} s later", store)
        clock.advance(1)
        balancer.show(f"api-3 crashed, {left + 1} s later", store)

        assert sorted(balancer.instances) == ["api-1"]
        assert balancer.instances == {"api-1": "10.0.0.1:8080"}
        balancer.watch.cancel()
        sessions["api-1"].close()


if __name__ == "__main__":
    main()
