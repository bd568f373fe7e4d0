"""The core benchmark: each etcdlite ``Store`` operation beside the raw ``SortedDict`` one under it.

Run it from the repository root::

    python benchmarks/bench_core.py            # 10k, 100k and 1M keys: about 2 minutes
    python benchmarks/bench_core.py --quick    # 10k and 100k keys: about 20 seconds
    python benchmarks/bench_core.py --sizes 2000 --repeat 1   # a smoke run, a few seconds

What is measured, per size N (N keys ``b"/key/%016d"``, 21 bytes, inserted in random order, each
with its own 100-byte value; each side owns its own key and value objects):

==========================  =============================================  ===================
row                         etcdlite                                       raw SortedDict
==========================  =============================================  ===================
put (new key)               ``store.put(k, v)``                            ``sd[k] = v``
put (existing key)          ``store.put(k, v)``                            ``sd[k] = v``
put existing + compact      the same puts plus ``store.compact`` of them,  the same as above
                            per put (the GC work they cause lands here)    (nothing to compact)
get (one key)               ``store.get(k)``                               ``sd[k]``
get prefix, limit 100       ``store.get(p, prefix=True, limit=100)``       ``[(k, sd[k]) for k
                                                                           in sd.irange(p, e)]``
delete (one key)            ``store.delete(k)``                            ``del sd[k]``
txn cmp+put+get+del         ``store.txn([Compare.version(a) > 0],          ``if a in sd: sd[a] =
                            [Op.put(a, v), Op.get(b), Op.delete(c)])``     v; sd[b]; del sd[c]``
memory (bytes/key)          a Store after N puts (one revision per key)    a SortedDict of the
                                                                           same keys and values
==========================  =============================================  ===================

The 100-key prefixes are ``b"/key/%014d"``: each holds exactly 100 keys. New keys (and the keys
the txn deletes) are random existing keys with a suffix (``/n``, ``/t``), so they land at random
places in the order; the delete row deletes the keys the put-new row just added. The txn builds
its request (``Compare`` and ``Op`` objects) inside the timed call, as a caller does.

Method:

* **Loop shape.** Every timed loop is the same for both sides: ``for k in ks: f(k)``,
  ``for k, v in kvs: f(k, v)`` or ``for a, b, c, v in rows: f(a, b, c, v)``, where ``f`` is a
  bound method (``sd.__setitem__`` vs ``store.put``, ``sd.__getitem__`` vs ``store.get``,
  ``sd.__delitem__`` vs ``store.delete``) or, for the prefix read and the txn, a plain function
  on each side. Loop and call overhead is therefore alike and is included on both sides.
* **Interleaving.** A round runs every operation once on each side; both sides get the same
  sampled keys. By default the sides alternate operation by operation (``--interleave op``; raw
  first in even rounds, etcdlite first in odd ones), so every loop starts with the other side's
  data in the caches, alike for both. ``--interleave round`` runs a whole round on one side and
  then on the other, so each loop finds its own side's data warm: at 10k keys, where a
  structure fits in the caches, raw reads then get several times faster; at 100k and 1M keys
  the two modes agree, up to where garbage collections land. Each row
  reports the median ns/op of each side over the rounds, and the ratio is the median of the
  per-round ratios (each pairs two runs made milliseconds apart, so machine noise hits both alike);
  "spread" is the lowest and highest per-round ratio.
* **State.** Every round leaves both structures as it found them: new keys are deleted again,
  and the store is compacted after each writing operation, so history, tombstones and the
  revision log do not pile up. That compaction is untimed except after the overwrites, where
  the "put existing + compact" row adds it: an overwrite's old record is freed by compaction in
  an MVCC store, while the raw overwrite frees the old value inside its loop.
* **Clock.** The loops read this process's CPU time (``time.process_time_ns``) by default, so
  time spent descheduled while other processes hold the two shared cores is not counted; cache
  and memory-bandwidth contention still is. ``--clock wall`` reads ``time.perf_counter_ns``.
* **Garbage collection** stays enabled, as in an application; it is collected once after the
  structures are built. Store records are GC-tracked objects and raw values are not, so the
  collector's work is all etcdlite's; a full collection lands in whichever loop (or untimed
  set-up) crosses its threshold, in some rounds and not others (the spread shows it; the report
  counts them per side). ``--no-gc`` disables the collector during the rounds to show its share.
* **Memory** is measured in a fresh subprocess per structure and size: resident set size
  (``/proc/self/statm``) after importing everything and allocating the insertion order,
  then again after building the structure and ``gc.collect()``; the difference divided by N is
  bytes/key, keys and values included. ``--memory-method tracemalloc`` counts Python
  allocations instead (exact but slower); where ``/proc`` is missing, tracemalloc is used.
* **Bounds.** Each timed loop runs at most ``--ops`` operations (at most N/10 new keys, so a
  round grows the structure by at most 10%; ``--ops``/100 prefix reads, at most one per
  prefix); the run stops
  adding rounds, and skips the sizes it has not started, once ``--budget`` seconds are spent.

Targets (ratios, at 100k keys and more): put new <= 2.5x, put existing <= 4x, get <= 4x,
prefix read of 100 with values <= 2.5x, memory per key <= 2.5x. Delete and txn are reported
without a target.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import sortedcontainers
from sortedcontainers import SortedDict

import etcdlite
from etcdlite import Compare, Op, Store

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence

KEY = b"/key/%016d"
PREFIX = b"/key/%014d"  # holds exactly the 100 keys KEY % (100 * j) ... KEY % (100 * j + 99)
VALUE_SIZE = 100
SENTINEL = b"/~bench-sentinel"  # outside every prefix; its put lets compaction drop tombstones
HALF_OPEN = (True, False)

DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (10_000, 100_000)
TARGET_MIN_KEYS = 100_000  # targets apply at this size and above

# Row labels, in print order. The smoke test checks that each one is printed.
PUT_NEW = "put (new key)"
PUT_EXISTING = "put (existing key)"
PUT_COMPACT = "put existing + compact"
GET = "get (one key)"
PREFIX_100 = "get prefix, limit 100"
DELETE = "delete (one key)"
TXN = "txn cmp+put+get+del"
MEMORY = "memory (bytes/key)"
TIMED_ROWS = (PUT_NEW, PUT_EXISTING, PUT_COMPACT, GET, PREFIX_100, DELETE, TXN)
ROWS = (*TIMED_ROWS, MEMORY)
TARGETS = {PUT_NEW: 2.5, PUT_EXISTING: 4.0, GET: 4.0, PREFIX_100: 2.5, MEMORY: 2.5}


def value_for(key: bytes) -> bytes:
    """A distinct 100-byte value for ``key`` (a new object each call)."""
    return key.ljust(VALUE_SIZE, b".")


# --------------------------------------------------------------------------- the two sides


class Side:
    """One structure under test. Both sides offer the same calls, so the loops are identical."""

    name = ""
    put: Callable[[bytes, bytes], object]
    get: Callable[[bytes], object]
    delete: Callable[[bytes], object]
    #: ``prefix(p, end)``: the 100 records of the keys in ``[p, end)``, with their values.
    prefix: Callable[[bytes, bytes], object]
    #: ``txn(a, b, c, v)``: if ``a`` exists, put ``a = v``, get ``b`` and delete ``c``.
    txn: Callable[[bytes, bytes, bytes, bytes], object]

    def __init__(self, n: int) -> None:
        #: ``keys[i]`` is this side's own object for ``KEY % i``.
        self.keys: list[bytes] = [b""] * n

    def build(self, order: Iterable[int]) -> None:
        """Insert ``KEY % i`` with its value for each ``i`` of ``order``, allocating as it goes."""
        put = self.put
        keys = self.keys
        for i in order:
            k = keys[i] = KEY % i
            put(k, value_for(k))

    def tidy(self) -> None:
        """Drop the history a writing operation left behind (untimed)."""

    def count(self) -> int:
        """The number of live keys."""
        raise NotImplementedError

    def check_prefix(self, prefix: bytes, end: bytes) -> int:
        """The number of records ``self.prefix`` returns, checking keys and values."""
        raise NotImplementedError


class RawSide(Side):
    """A bare ``SortedDict[bytes, bytes]``."""

    name = "raw"

    def __init__(self, n: int) -> None:
        super().__init__(n)
        sd = self.sd = SortedDict()
        irange = sd.irange
        self.put = sd.__setitem__
        self.get = sd.__getitem__
        self.delete = sd.__delitem__

        def prefix(p: bytes, e: bytes) -> list[tuple[bytes, bytes]]:
            return [(k, sd[k]) for k in irange(p, e, inclusive=HALF_OPEN)]

        def txn(a: bytes, b: bytes, c: bytes, v: bytes) -> bytes | None:
            if a in sd:  # the compare: version(a) > 0
                sd[a] = v
                got: bytes = sd[b]
                del sd[c]
                return got
            return None

        self.prefix = prefix
        self.txn = txn
        self._prefix = prefix

    def count(self) -> int:
        return len(self.sd)

    def check_prefix(self, prefix: bytes, end: bytes) -> int:
        got = self._prefix(prefix, end)
        assert all(v == value_for(k) and k.startswith(prefix) for k, v in got)
        return len(got)


class LiteSide(Side):
    """An etcdlite ``Store``, through its public methods."""

    name = "etcdlite"

    def __init__(self, n: int) -> None:
        super().__init__(n)
        store = self.store = Store()
        get = store.get
        store_txn = store.txn
        version = Compare.version
        op_put, op_get, op_delete = Op.put, Op.get, Op.delete
        self.put = store.put
        self.get = store.get
        self.delete = store.delete

        def prefix(p: bytes, e: bytes) -> etcdlite.RangeResponse:
            return get(p, prefix=True, limit=100)

        def txn(a: bytes, b: bytes, c: bytes, v: bytes) -> etcdlite.TxnResponse:
            return store_txn((version(a) > 0,), (op_put(a, v), op_get(b), op_delete(c)))

        self.prefix = prefix
        self.txn = txn

    def tidy(self) -> None:
        store = self.store
        store.put(SENTINEL, b"")
        store.compact(store.revision)

    def count(self) -> int:
        return self.store.get(b"/key/", prefix=True, count_only=True).count

    def check_prefix(self, prefix: bytes, end: bytes) -> int:
        r = self.store.get(prefix, prefix=True, limit=100)
        assert r.count == len(r.kvs)
        assert not r.more
        assert all(kv.value == value_for(kv.key) and kv.key < end for kv in r.kvs)
        return len(r.kvs)


SIDES: dict[str, type[Side]] = {"raw": RawSide, "etcdlite": LiteSide}


# --------------------------------------------------------------------------- timed loops

CLOCKS: dict[str, Callable[[], int]] = {
    "cpu": time.process_time_ns,  # this process's CPU time: not counting time descheduled
    "wall": time.perf_counter_ns,
}
_clock = CLOCKS["cpu"]


def _loop1(f: Callable[[bytes], object], xs: Sequence[bytes]) -> float:
    t0 = _clock()
    for x in xs:
        f(x)
    return (_clock() - t0) / len(xs)


def _loop2(f: Callable[[bytes, bytes], object], xs: Sequence[tuple[bytes, bytes]]) -> float:
    t0 = _clock()
    for a, b in xs:
        f(a, b)
    return (_clock() - t0) / len(xs)


def _loop4(
    f: Callable[[bytes, bytes, bytes, bytes], object],
    xs: Sequence[tuple[bytes, bytes, bytes, bytes]],
) -> float:
    t0 = _clock()
    for a, b, c, d in xs:
        f(a, b, c, d)
    return (_clock() - t0) / len(xs)


class RoundPlan:
    """The keys one round uses, as indices into ``Side.keys`` (the same for both sides)."""

    def __init__(self, n: int, ops: int, rng: random.Random) -> None:
        n_new = max(1, min(ops, n // 10))
        n_point = max(1, min(ops, n))
        n_prefix = max(1, min(ops // 100, n // 100))
        self.new = rng.sample(range(n), n_new)
        self.existing = rng.sample(range(n), n_point)
        self.get = rng.sample(range(n), n_point)
        self.prefixes = rng.sample(range(n // 100), n_prefix)
        spare = rng.sample(range(n), n_new)
        self.txn = [(rng.randrange(n), rng.randrange(n), c) for c in spare]

    def run(self, side: Side) -> Iterator[tuple[str, float]]:
        """Run every operation once on ``side``, yielding ``(row, ns/op)`` after each one.

        The caller alternates two of these generators, one per side, step by step.
        """
        keys = side.keys
        # Inputs are built first (untimed): fresh key and value objects, as a caller makes them.
        new_keys = [keys[i] + b"/n" for i in self.new]
        new_items = [(k, value_for(k)) for k in new_keys]
        yield PUT_NEW, _loop2(side.put, new_items)
        yield DELETE, _loop1(side.delete, new_keys)
        side.tidy()

        existing = [(keys[i], value_for(keys[i])) for i in self.existing]
        put_ns = _loop2(side.put, existing)
        yield PUT_EXISTING, put_ns
        t0 = _clock()
        side.tidy()  # for etcdlite: compact away the records the overwrites superseded
        yield PUT_COMPACT, put_ns + (_clock() - t0) / len(existing)

        get_keys = [keys[i] for i in self.get]
        yield GET, _loop1(side.get, get_keys)
        ranges = [(PREFIX % j, PREFIX % (j + 1)) for j in self.prefixes]
        yield PREFIX_100, _loop2(side.prefix, ranges)

        spare = [keys[c] + b"/t" for _, _, c in self.txn]
        for k in spare:  # untimed: the keys the txns delete
            side.put(k, value_for(k))
        rows = [
            (keys[a], keys[b], c, value_for(keys[a]))
            for (a, b, _), c in zip(self.txn, spare, strict=True)
        ]
        yield TXN, _loop4(side.txn, rows)
        side.tidy()


# --------------------------------------------------------------------------- memory


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def memory_child(side_name: str, n: int, method: str, seed: int) -> dict[str, object]:
    """Build one structure of ``n`` keys in this (fresh) process; bytes per key."""
    if method == "rss" and not os.path.exists("/proc/self/statm"):
        method = "tracemalloc"
    order = list(range(n))
    random.Random(seed).shuffle(order)
    side = SIDES[side_name](n)  # the keys list is allocated here, before the baseline
    gc.collect()
    if method == "tracemalloc":
        import tracemalloc

        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        side.build(order)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
    else:
        before = _rss_bytes()
        side.build(order)
        gc.collect()
        after = _rss_bytes()
    assert side.count() == n
    return {"side": side_name, "n": n, "method": method, "bytes_per_key": (after - before) / n}


def measure_memory(side_name: str, n: int, method: str, seed: int) -> tuple[float, str]:
    """Run :func:`memory_child` in a fresh interpreter; ``(bytes per key, method used)``."""
    cmd = [
        sys.executable,
        os.path.abspath(__file__),
        "--memory-child",
        f"{side_name},{n},{method},{seed}",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=600).stdout
    result = json.loads(out.strip().splitlines()[-1])
    return float(result["bytes_per_key"]), str(result["method"])


# --------------------------------------------------------------------------- one size


class SizeResult:
    """Every measurement made at one size."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.rounds = 0
        self.build_s: dict[str, float] = {}
        self.ns: dict[str, dict[str, list[float]]] = {
            row: {"raw": [], "etcdlite": []} for row in TIMED_ROWS
        }
        #: Full collections during each side's steps (timed loops and their set-up): [count, ns].
        self.full_gc: dict[str, list[int]] = {"raw": [0, 0], "etcdlite": [0, 0]}
        self.memory: dict[str, float] = {}
        self.memory_method = ""

    def ratios(self, row: str) -> list[float]:
        per = self.ns[row]
        return [e / r for r, e in zip(per["raw"], per["etcdlite"], strict=True)]


#: Full (generation 2) collections seen so far: ``[count, ns]`` (see :func:`_gc_callback`).
_FULL_GC = [0, 0]
_gc_started = [0]


def _gc_callback(phase: str, info: dict[str, int]) -> None:
    if info["generation"] != 2:
        return
    if phase == "start":
        _gc_started[0] = time.perf_counter_ns()
    else:
        _FULL_GC[0] += 1
        _FULL_GC[1] += time.perf_counter_ns() - _gc_started[0]


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def measure_size(
    n: int,
    *,
    repeat: int,
    ops: int,
    seed: int,
    deadline: float,
    memory_method: str,
    no_gc: bool,
    by_op: bool,
) -> SizeResult:
    """Build both structures of ``n`` keys and run interleaved rounds, then measure memory."""
    res = SizeResult(n)
    rng = random.Random(seed + n)
    order = list(range(n))
    rng.shuffle(order)
    sides: list[Side] = [RawSide(n), LiteSide(n)]
    for side in sides:
        _log(f"[{n:,} keys] building {side.name} ...")
        t0 = time.perf_counter()
        side.build(order)
        res.build_s[side.name] = time.perf_counter() - t0
    del order
    sides[1].tidy()
    gc.collect()

    # One untimed check that both sides hold the same thing and the ops do what the rows say.
    p, e = PREFIX % 0, PREFIX % 1
    for side in sides:
        assert side.count() == n, (side.name, side.count())
        assert side.check_prefix(p, e) == 100, side.name

    for r in range(repeat):
        if r and time.perf_counter() > deadline:
            _log(f"[{n:,} keys] time budget spent: stopping after {r} rounds")
            break
        plan = RoundPlan(n, ops, rng)
        ordered = sides if r % 2 == 0 else sides[::-1]
        steps = [plan.run(side) for side in ordered]
        if no_gc:
            gc.disable()
        if by_op:  # one operation on one side, then the same on the other
            schedule = [
                (side, gen) for _ in TIMED_ROWS for side, gen in zip(ordered, steps, strict=True)
            ]
        else:  # every operation on one side, then every operation on the other
            schedule = [
                (side, gen) for side, gen in zip(ordered, steps, strict=True) for _ in TIMED_ROWS
            ]
        try:
            for side, gen in schedule:
                count, ns_before = _FULL_GC
                row, ns = next(gen)
                res.ns[row][side.name].append(ns)
                full = res.full_gc[side.name]
                full[0] += _FULL_GC[0] - count
                full[1] += _FULL_GC[1] - ns_before
            for gen in steps:  # run each side's final tidy (not an assert: -O would skip it)
                for extra in gen:
                    raise RuntimeError(f"unexpected step {extra}")
        finally:
            gc.enable()
        res.rounds = r + 1
        _log(f"[{n:,} keys] round {r + 1}/{repeat} done")

    for side in sides:
        assert side.count() == n, (side.name, side.count())
    store = sides[1]
    assert isinstance(store, LiteSide)
    assert store.store.txn((Compare.version(store.keys[0]) > 0,)).succeeded
    del sides, store
    gc.collect()

    for name in ("raw", "etcdlite"):
        _log(f"[{n:,} keys] memory of {name} (fresh subprocess) ...")
        res.memory[name], res.memory_method = measure_memory(name, n, memory_method, seed)
    return res


# --------------------------------------------------------------------------- report


def _machine() -> list[str]:
    cpu = platform.processor() or platform.machine()
    mem = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            kib = int(f.readline().split()[1])
            mem = f", {kib / 2**20:.1f} GiB RAM"
    except OSError:
        pass
    load = ""
    if hasattr(os, "getloadavg"):
        load = ", load avg {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    try:
        commit = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            check=False,
            capture_output=True,
            text=True,
            cwd=os.path.dirname(os.path.abspath(etcdlite.__file__)),
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return [
        f"date:     {now}",
        f"python:   {platform.python_implementation()} {platform.python_version()}",
        (
            f"machine:  {platform.system()} {platform.release()} {platform.machine()}, {cpu}, "
            f"{os.cpu_count()} CPUs{mem}{load}"
        ),
        (
            f"versions: etcdlite {etcdlite.__version__} (git {commit or '?'}, "
            f"{os.path.dirname(os.path.dirname(os.path.abspath(etcdlite.__file__)))}), "
            f"sortedcontainers {sortedcontainers.__version__}"
        ),
    ]


def _verdict(row: str, n: int, ratio: float) -> tuple[str, str]:
    target = TARGETS.get(row)
    if target is None:
        return "-", "report"
    if n < TARGET_MIN_KEYS:
        return f"<={target:g}x", "info"
    return f"<={target:g}x", "PASS" if ratio <= target else f"MISS +{ratio / target - 1:.1%}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    fmt = [str.ljust] * 2 + [str.rjust] * (len(header) - 2)

    def line(cells: Sequence[str]) -> str:
        return "  ".join(f(c, w) for f, c, w in zip(fmt, cells, widths, strict=True)).rstrip()

    return [line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def report(results: Sequence[SizeResult], args: argparse.Namespace, elapsed: float) -> str:
    """The whole printed report: machine, the timing table, the memory table, the verdicts."""
    out = ["etcdlite core benchmark: etcdlite Store vs the raw SortedDict it stands on", ""]
    out += _machine()
    out.append(f"command:  python benchmarks/bench_core.py {' '.join(args.argv)}".rstrip())
    out.append(
        "method:   medians of interleaved rounds (rounds per size: "
        + ", ".join(f"{r.n:,}: {r.rounds}" for r in results)
        + f"), <= {args.ops:,} ops per loop, {args.clock} clock,"
        f" gc {'off' if args.no_gc else 'on'}, sides alternate by {args.interleave};"
        " ratio = median of per-round etcdlite/raw ratios"
    )
    out.append("")
    verdicts: list[tuple[str, int, float, str]] = []
    rows: list[list[str]] = []
    for row in TIMED_ROWS:
        for res in results:
            if not res.rounds:
                continue
            per = res.ns[row]
            raw, lite = statistics.median(per["raw"]), statistics.median(per["etcdlite"])
            ratios = res.ratios(row)
            ratio = statistics.median(ratios)
            target, verdict = _verdict(row, res.n, ratio)
            verdicts.append((row, res.n, ratio, verdict))
            rows.append(
                [
                    row,
                    f"{res.n:,}",
                    f"{raw:,.0f}",
                    f"{lite:,.0f}",
                    f"{ratio:.2f}x",
                    f"{min(ratios):.2f}-{max(ratios):.2f}",
                    target,
                    verdict,
                ]
            )
    header = ["operation", "keys", "raw ns/op", "etcdlite ns/op", "ratio", "spread", "target"]
    out += _table([*header, "result"], rows)
    out.append("")
    rows = []
    for res in results:
        if not res.memory:
            continue
        raw, lite = res.memory["raw"], res.memory["etcdlite"]
        ratio = lite / raw
        target, verdict = _verdict(MEMORY, res.n, ratio)
        verdicts.append((MEMORY, res.n, ratio, verdict))
        rows.append(
            [MEMORY, f"{res.n:,}", f"{raw:,.0f}", f"{lite:,.0f}", f"{ratio:.2f}x", target, verdict]
        )
    if rows:
        method = results[-1].memory_method
        how = "RSS delta" if method == "rss" else "tracemalloc"
        header = ["operation", "keys", "raw B/key", "etcdlite B/key", "ratio", "target", "result"]
        out += _table(header, rows)
        out.append(f"(memory: {how} in a fresh subprocess per structure and size)")
        out.append("")
    for res in results:
        builds = ", ".join(f"{k} {v:.1f} s" for k, v in res.build_s.items())
        gcs = ", ".join(f"{k} {c} ({ns / 1e9:.2f} s)" for k, (c, ns) in res.full_gc.items())
        out.append(f"{res.n:,} keys: build {builds}; full GCs during the rounds: {gcs}")
    passed = [v for v in verdicts if v[3] == "PASS"]
    missed = [v for v in verdicts if v[3].startswith("MISS")]
    out.append(f"targets (at >= {TARGET_MIN_KEYS:,} keys): {len(passed)} PASS, {len(missed)} MISS")
    out += [f"  MISS {row} at {n:,} keys: {ratio:.2f}x ({v[5:]})" for row, n, ratio, v in missed]
    skipped = [n for n in args.sizes if n not in {r.n for r in results}]
    if skipped:
        out.append(f"skipped (time budget): {', '.join(f'{n:,}' for n in skipped)} keys")
    out.append(f"run time: {elapsed:.1f} s")
    return "\n".join(out)


# --------------------------------------------------------------------------- main


def _sizes(text: str) -> tuple[int, ...]:
    sizes = tuple(int(s.replace("_", "")) for s in text.split(",") if s.strip())
    for n in sizes:
        if n < 200 or n % 100:
            raise argparse.ArgumentTypeError(f"sizes must be multiples of 100, >= 200: {n}")
    return sizes


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="etcdlite Store vs raw SortedDict, interleaved, as a table of ratios."
    )
    parser.add_argument(
        "--sizes",
        type=_sizes,
        default=None,
        help="comma-separated key counts (10000,100000,1000000)",
    )
    parser.add_argument("--quick", action="store_true", help="10k and 100k keys only")
    parser.add_argument("--repeat", type=int, default=7, help="interleaved rounds per size (7)")
    parser.add_argument("--ops", type=int, default=20_000, help="max operations per timed loop")
    parser.add_argument("--seed", type=int, default=1, help="random seed (1)")
    parser.add_argument(
        "--budget", type=float, default=None, help="seconds before no new round starts (300)"
    )
    parser.add_argument(
        "--memory-method",
        choices=("rss", "tracemalloc"),
        default="rss",
        help="how the memory subprocess measures (rss)",
    )
    parser.add_argument(
        "--clock",
        choices=tuple(CLOCKS),
        default="cpu",
        help="what the timed loops read: process CPU time or wall time (cpu)",
    )
    parser.add_argument(
        "--no-gc",
        action="store_true",
        help="disable the cyclic garbage collector during the rounds (to see its share)",
    )
    parser.add_argument(
        "--interleave",
        choices=("op", "round"),
        default="op",
        help="alternate the sides after each operation, or after a whole round (op)",
    )
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.sizes is None:
        args.sizes = QUICK_SIZES if args.quick else DEFAULT_SIZES
    if args.budget is None:
        args.budget = 60.0 if args.quick else 300.0
    if args.repeat < 1 or args.ops < 100:
        parser.error("--repeat must be >= 1 and --ops >= 100")
    args.argv = list(argv)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.memory_child:
        side, n, method, seed = args.memory_child.split(",")
        print(json.dumps(memory_child(side, int(n), method, int(seed))))
        return 0
    global _clock
    _clock = CLOCKS[args.clock]
    gc.callbacks.append(_gc_callback)
    start = time.perf_counter()
    deadline = start + args.budget
    results: list[SizeResult] = []
    for n in args.sizes:
        if results and time.perf_counter() > deadline:
            _log(f"time budget spent: skipping {n:,} keys")
            continue
        results.append(
            measure_size(
                n,
                repeat=args.repeat,
                ops=args.ops,
                seed=args.seed,
                deadline=deadline,
                memory_method=args.memory_method,
                no_gc=args.no_gc,
                by_op=args.interleave == "op",
            )
        )
    print(report(results, args, time.perf_counter() - start))
    return 0


if __name__ == "__main__":
    sys.exit(main())
