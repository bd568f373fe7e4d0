"""Watch benchmarks: what watchers cost a writer, fan-out to many watchers, catch-up speed.

Run: ``python benchmarks/bench_watch.py`` (``--quick`` for a short smoke run). Prints one table;
each number is the median of several rounds, and the pairs that are compared are measured
interleaved in the same run, as ``shared/PERFORMANCE.md`` asks.

* **put with 10,000 watchers elsewhere**: a store with 5,000 single-key watchers and 5,000
  prefix watchers, none matching the key written, against a store with none (target: at most
  1.3 times the cost of a put with no watcher);
* **fan-out**: one put of a key 10,000 watchers watch, and each watcher reading its response
  (target: at most 3 us per watcher);
* **catch-up**: a watcher created 100,000 revisions behind reads them all (target: at least
  200,000 events per second).
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
from typing import TYPE_CHECKING

import anyio

from etcdlite import Store, Watch

if TYPE_CHECKING:
    from collections.abc import Callable

QUICK = "--quick" in sys.argv
WATCHERS = 2_000 if QUICK else 10_000
PUTS = 5_000 if QUICK else 20_000
ROUNDS = 3 if QUICK else 9
CATCH_UP = 20_000 if QUICK else 100_000


def drain(w: Watch) -> int:
    """Read every response ready now; the number of events read."""
    n = 0
    receive = w.receive_nowait
    while True:
        try:
            n += len(receive().events)
        except anyio.WouldBlock:
            return n


def timed(fn: Callable[[], object]) -> float:
    """Seconds ``fn()`` takes, with the garbage collector held off."""
    gc.collect()
    gc.disable()
    try:
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0
    finally:
        gc.enable()


def bench_put_overhead() -> tuple[float, float, float, float]:
    """ns per put: no watchers, 10,000 on other keys and prefixes, 10,000 on other ranges."""
    bare = Store()
    crowded = Store()
    ranged = Store()
    keep: list[Watch] = []
    for i in range(WATCHERS // 2):
        keep.append(crowded.watch(f"other/{i}"))
        keep.append(crowded.watch(f"pfx/{i}/", prefix=True))
    keep.extend(ranged.watch(f"r/{i:05d}", range_end=f"r/{i:05d}~") for i in range(WATCHERS))
    for w in keep:
        drain(w)
    stores = {"bare": bare, "crowded": crowded, "ranged": ranged}
    times: dict[str, list[float]] = {name: [] for name in stores}
    for _ in range(ROUNDS):
        for name, store in stores.items():
            put = store.put

            def run(put: Callable[..., object] = put) -> None:
                for _ in range(PUTS):
                    put(b"bench/key", b"value")

            times[name].append(timed(run) / PUTS * 1e9)
    assert all(w.statistics().buffered == 0 for w in keep), "a watcher matched the benchmark key"
    bare_ns = statistics.median(times["bare"])
    crowded_ns = statistics.median(times["crowded"])
    ranged_ns = statistics.median(times["ranged"])
    ratios = [c / b for c, b in zip(times["crowded"], times["bare"], strict=True)]
    return bare_ns, crowded_ns, statistics.median(ratios), ranged_ns


def bench_fan_out() -> tuple[float, float, float]:
    """us per watcher: the put's share, the reads' share, and both."""
    store = Store()
    watches = [store.watch("hot") for _ in range(WATCHERS)]
    for w in watches:
        drain(w)
    put_t: list[float] = []
    read_t: list[float] = []
    for i in range(ROUNDS):

        def put(i: int = i) -> None:
            store.put("hot", str(i))

        put_t.append(timed(put))

        def read_all() -> None:
            for w in watches:
                w.receive_nowait()

        read_t.append(timed(read_all))
    assert all(w.statistics().buffered == 0 for w in watches)
    put_us = statistics.median(put_t) / WATCHERS * 1e6
    read_us = statistics.median(read_t) / WATCHERS * 1e6
    total = statistics.median(p + r for p, r in zip(put_t, read_t, strict=True)) / WATCHERS * 1e6
    return put_us, read_us, total


def bench_catch_up(prev_kv: bool) -> float:
    """Events per second for a watcher created CATCH_UP revisions behind."""
    store = Store()
    for i in range(CATCH_UP):
        store.put(f"k/{i % 100}", "v")
    rates: list[float] = []
    for _ in range(3):
        w = store.watch("k/", prefix=True, start_revision=2, prev_kv=prev_kv)
        got: list[int] = []

        def read(w: Watch = w, got: list[int] = got) -> None:
            got.append(drain(w))

        rates.append(CATCH_UP / timed(read))
        assert got == [CATCH_UP], got
        w.cancel()
    return statistics.median(rates)


def main() -> None:
    """Run everything and print the table."""
    bare, crowded, ratio, ranged = bench_put_overhead()
    put_us, read_us, fan_us = bench_fan_out()
    catch = bench_catch_up(prev_kv=False)
    catch_prev = bench_catch_up(prev_kv=True)
    n = f"{WATCHERS:,}"
    rows = [
        ("put, no watchers", f"{bare:,.0f} ns", "", ""),
        (f"put, {n} watchers on other keys and prefixes", f"{crowded:,.0f} ns", "", ""),
        ("  ratio to no watchers", f"{ratio:.2f}x", "<= 1.3x", ratio <= 1.3),
        (f"put, {n} watchers on other ranges (info)", f"{ranged:,.0f} ns", "", ""),
        (f"fan-out to {n} watchers of the key: put", f"{put_us:.2f} us/watcher", "", ""),
        ("  each watcher reads its response", f"{read_us:.2f} us/watcher", "", ""),
        ("  put and reads together", f"{fan_us:.2f} us/watcher", "<= 3 us", fan_us <= 3),
        (
            f"catch-up {CATCH_UP:,} revisions behind",
            f"{catch:,.0f} events/s",
            ">= 200,000",
            catch >= 200_000,
        ),
        ("  the same with prev_kv (info)", f"{catch_prev:,.0f} events/s", "", ""),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'measurement':<{width}} | {'median':>20} | {'target':>10} | met")
    print("-" * (width + 44))
    for name, value, target, met in rows:
        mark = "" if target == "" else ("yes" if met else "NO")
        print(f"{name:<{width}} | {value:>20} | {target:>10} | {mark}")
    print(f"\nPython {sys.version.split()[0]}, {ROUNDS} rounds{' (quick)' if QUICK else ''}")


if __name__ == "__main__":
    main()
