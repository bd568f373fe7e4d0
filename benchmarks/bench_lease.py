"""Lease costs: grant, put with a lease, renew, and expiry of many leases at once.

Runs on a FakeClock, so expiry is measured without waiting: ``advance`` fires the store's
expiry timer and the timed region is the revocation work itself (keys deleted, events made).

    python benchmarks/bench_lease.py            # 10,000 and 100,000 leases
    python benchmarks/bench_lease.py --sizes 1000
"""

from __future__ import annotations

import argparse
import gc
import time

from etcdlite import Store
from etcdlite.testing import FakeClock


def _rate(n: int, seconds: float) -> str:
    return f"{n / seconds:>12,.0f}/s  {seconds / n * 1e6:7.2f} us each"


def run(n: int) -> list[tuple[str, str]]:
    """Time each lease operation over ``n`` leases on a fresh store."""
    clock = FakeClock()
    store = Store(clock=clock)
    rows: list[tuple[str, str]] = []
    gc.collect()

    t = time.perf_counter()
    ids = [store.grant(60).id for _ in range(n)]
    rows.append(("grant", _rate(n, time.perf_counter() - t)))

    keys = [b"/svc/%016d" % i for i in range(n)]
    t = time.perf_counter()
    for key, lease_id in zip(keys, ids, strict=True):
        store.put(key, b"x" * 100, lease=lease_id)
    rows.append(("put with lease", _rate(n, time.perf_counter() - t)))

    t = time.perf_counter()
    for key in keys:
        store.put(key, b"y" * 100, lease=0)
    rows.append(("put detaching", _rate(n, time.perf_counter() - t)))
    for key, lease_id in zip(keys, ids, strict=True):
        store.put(key, b"x" * 100, lease=lease_id)

    clock.advance(30)
    t = time.perf_counter()
    for lease_id in ids:
        store.keep_alive_once(lease_id)
    rows.append(("keep_alive_once", _rate(n, time.perf_counter() - t)))

    watch = store.watch(b"/svc/", prefix=True)
    t = time.perf_counter()
    clock.advance(60)
    elapsed = time.perf_counter() - t
    assert store.get(b"/svc/", prefix=True, count_only=True).count == 0
    rows.append(("expiry (1 key each, watched)", _rate(n, elapsed)))
    watch.cancel()
    store.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    for n in args.sizes:
        print(f"{n:,} leases")
        for name, rate in run(n):
            print(f"  {name:<30}{rate}")


if __name__ == "__main__":
    main()
