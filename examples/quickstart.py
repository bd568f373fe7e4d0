"""A first session with etcdlite: put, get, a transaction, history and compaction.

Run it with ``python examples/quickstart.py``.
"""

from __future__ import annotations

from etcdlite import Compare, Op, RangeResponse, Store
from etcdlite.errors import CompactedError


def main() -> None:
    with Store() as store:
        # Every write gets the next revision; a fresh store is at revision 1.
        r = store.put("config/db/host", "10.0.0.5")
        print("put config/db/host            -> revision", r.header.revision)
        store.put("config/db/port", "5432")
        store.put("config/db/host", "10.0.0.6")

        # A prefix read returns every key under it, in key order.
        for kv in store.get("config/", prefix=True).kvs:
            print(
                f"get {kv.key.decode():<25} -> {kv.value.decode():<9}"
                f" (version {kv.version}, created at {kv.create_revision}, "
                f"modified at {kv.mod_revision})"
            )

        # A compare-and-swap: move the host only if nobody changed it since we read it.
        seen = store.get("config/db/host").kvs[0]
        t = store.txn(
            compare=[Compare.mod_revision("config/db/host") == seen.mod_revision],
            success=[Op.put("config/db/host", "10.0.0.7"), Op.get("config/db/host")],
            failure=[Op.get("config/db/host")],
        )
        now = t.responses[-1]
        assert isinstance(now, RangeResponse)  # the Op.get's answer
        print(
            "txn compare-and-swap          -> succeeded:",
            t.succeeded,
            "| value now:",
            now.kvs[0].value.decode(),
        )

        # Reads at an old revision see the store as it was.
        old = store.get("config/db/host", revision=2).kvs[0].value.decode()
        print("get config/db/host at rev 2   ->", old)

        # Compaction forgets history below a revision.
        store.compact(store.revision)
        try:
            store.get("config/db/host", revision=2)
        except CompactedError as err:
            print("get at rev 2 after compaction ->", err)


if __name__ == "__main__":
    main()
