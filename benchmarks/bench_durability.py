"""Durability: puts/s with fsync="always" for 1 and 8 writers, beside the disk's raw rate of
``os.write`` + ``os.fsync`` in the same run, and the time to open a store of 1M keys.

    python benchmarks/bench_durability.py                    # about 2 minutes
    python benchmarks/bench_durability.py --quick            # about 30 s (100k keys)
    python benchmarks/bench_durability.py --dir /mnt/disk    # on that disk (default: /var/tmp)

Method. Each round measures, back to back and for ``--seconds`` each: the raw rate (one thread
appending a 150-byte record to a file and fsyncing it, the physical limit of one synchronous
writer), then a store with ``fsync="always"`` written by one thread, then by 8 threads (each
``put`` of a 20-byte key and a 100-byte value; every put returns once its log entry is
fsynced). Rounds alternate so that disk noise hits all three alike; the table gives medians and
the median of the per-round ratios. Targets (issue 6): one writer >= 50% of raw; 8 writers
>= 4x one writer.

Open time: a store of N keys (1M by default) is built in memory, restored into a data
directory (one snapshot), then ``--tail`` more puts (50,000: half of the default
``snapshot_count``, the average a crash leaves to replay) are written to its log; the time of
``Store(data_dir=...)`` is taken in a fresh process (median of 3). Target: <= 5 s for 1M keys.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from etcdlite import Store


def raw_rate(path: str, seconds: float) -> float:
    fd = os.open(os.path.join(path, "raw"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    record = b"r" * 150
    n = 0
    start = time.perf_counter()
    deadline = start + seconds
    try:
        while time.perf_counter() < deadline:
            os.write(fd, record)
            os.fsync(fd)
            n += 1
    finally:
        os.close(fd)
        os.unlink(os.path.join(path, "raw"))
    return n / (time.perf_counter() - start)


def store_rate(store: Store, writers: int, seconds: float, tag: str) -> float:
    value = b"v" * 100
    counts = [0] * writers
    deadline = time.perf_counter() + seconds
    barrier = threading.Barrier(writers + 1)

    def work(i: int) -> None:
        put = store.put
        n = 0
        barrier.wait()
        while time.perf_counter() < deadline:
            put(b"%s/%02d/%012d" % (tag.encode(), i, n), value)
            n += 1
        counts[i] = n

    threads = [threading.Thread(target=work, args=(i,)) for i in range(writers)]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    return sum(counts) / (time.perf_counter() - start)


def throughput(base: str, rounds: int, seconds: float) -> None:
    rows: dict[str, list[float]] = {"raw": [], "1": [], "8": []}
    for r in range(rounds):
        path = tempfile.mkdtemp(prefix="etcdlite-bench-", dir=base)
        try:
            rows["raw"].append(raw_rate(path, seconds))
            with Store(data_dir=os.path.join(path, "store")) as store:
                rows["1"].append(store_rate(store, 1, seconds, f"a{r}"))
                rows["8"].append(store_rate(store, 8, seconds, f"b{r}"))
        finally:
            shutil.rmtree(path, ignore_errors=True)
        print(
            f"round {r + 1}/{rounds}: raw {rows['raw'][-1]:,.0f}/s, 1 writer "
            f"{rows['1'][-1]:,.0f}/s, 8 writers {rows['8'][-1]:,.0f}/s",
            file=sys.stderr,
        )
    one = [a / b for a, b in zip(rows["1"], rows["raw"], strict=True)]
    eight = [a / b for a, b in zip(rows["8"], rows["1"], strict=True)]
    print("| measure | median | ratio (median, min-max) | target |")
    print("|---|---|---|---|")
    print(f"| raw os.write + os.fsync | {statistics.median(rows['raw']):,.0f}/s | | |")
    print(
        f"| put, 1 writer, fsync=always | {statistics.median(rows['1']):,.0f}/s | "
        f"{statistics.median(one):.2f}x raw ({min(one):.2f}-{max(one):.2f}) | >= 0.5x raw |"
    )
    print(
        f"| put, 8 writers, fsync=always | {statistics.median(rows['8']):,.0f}/s | "
        f"{statistics.median(eight):.2f}x 1 writer ({min(eight):.2f}-{max(eight):.2f}) "
        "| >= 4x 1 writer |"
    )


_OPEN = """
import sys, time
from etcdlite import Store
start = time.perf_counter()
store = Store(data_dir=sys.argv[1])
took = time.perf_counter() - start
print(took, store.revision)
store.close()
"""


def open_time(base: str, keys: int, tail: int) -> None:
    path = tempfile.mkdtemp(prefix="etcdlite-bench-open-", dir=base)
    data = os.path.join(path, "store")
    try:
        t0 = time.perf_counter()
        with Store() as memory:
            value = b"v" * 100
            for i in range(keys):
                memory.put(b"/key/%016d" % i, value)
            snapshot = list(memory.snapshot())
        Store.restore(snapshot, data_dir=data).close()
        with Store(data_dir=data, fsync="never") as store:
            for i in range(tail):
                store.put(b"/key/%016d" % (i * 7 % keys), b"w" * 100)
        print(
            f"built {keys:,} keys + {tail:,} log entries in {time.perf_counter() - t0:.1f} s",
            file=sys.stderr,
        )
        size = sum(os.path.getsize(os.path.join(data, f)) for f in os.listdir(data))
        times = []
        for _ in range(3):
            out = subprocess.run(
                [sys.executable, "-c", _OPEN, data],
                capture_output=True,
                text=True,
                check=True,
                timeout=600,
            ).stdout.split()
            times.append(float(out[0]))
            assert int(out[1]) == keys + tail + 1
        print()
        print("| open | keys | log entries replayed | data dir | time (median of 3) | target |")
        print("|---|---|---|---|---|---|")
        print(
            f"| Store(data_dir=...) | {keys:,} | {tail:,} | {size / 1e6:,.0f} MB | "
            f"{statistics.median(times):.2f} s | <= 5 s at 1M keys |"
        )
    finally:
        shutil.rmtree(path, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", default="/var/tmp", help="a directory on the disk to measure")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=3.0, help="per measurement")
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--tail", type=int, default=50_000)
    parser.add_argument("--quick", action="store_true", help="3 rounds of 2 s, 100k keys")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.seconds, args.keys, args.tail = 3, 2.0, 100_000, 5_000
    throughput(args.dir, args.rounds, args.seconds)
    open_time(args.dir, args.keys, args.tail)


if __name__ == "__main__":
    main()
