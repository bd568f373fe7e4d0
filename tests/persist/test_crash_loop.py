"""The crash loop: a child writes and reports each acknowledgement; the parent kills it with
SIGKILL at a random moment, reopens the data dir and checks that every acknowledged write is
there, no transaction is half-applied, and revisions never go backwards or repeat.

The default run does a few dozen cycles; ``-m slow`` (CI's long step) runs 300 within two
minutes; ``ETCDLITE_CRASH_CYCLES=5000 pytest -m slow tests/persist/test_crash_loop.py`` is
the longer run ``docs/durability.md`` describes (no time bound: each cycle re-checks every
acknowledgement so far, so it takes hours).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

from etcdlite import Store
from etcdlite._persist._datadir import RecoveryWarning

CHILD = Path(__file__).with_name("_crash_child.py")


class Oracle:
    """What the children acknowledged, across every cycle."""

    def __init__(self) -> None:
        self.puts: dict[int, int] = {}  # opid -> revision
        self.deletes: dict[int, int] = {}  # opid of the key -> revision
        self.txns: dict[int, int] = {}
        self.leases: set[int] = set()
        self.last_revision = 1
        self.next_opid = 1

    def record(self, line: str) -> None:
        opid_s, kind, rev_s, *victim = line.split()
        opid, rev = int(opid_s), int(rev_s)
        # the op after the last acknowledged one may have landed unacknowledged: skip its id
        self.next_opid = max(self.next_opid, opid + 2)
        if victim:
            opid = int(victim[0])
        if kind == "lease":
            self.leases.add(opid)
            assert rev >= self.last_revision
        else:
            assert rev > self.last_revision, f"revision {rev} after {self.last_revision}: {line}"
            self.last_revision = rev
            {"put": self.puts, "del": self.deletes, "txn": self.txns}[kind][opid] = rev

    def check(self, store: Store) -> None:
        assert store.revision >= self.last_revision
        for opid, rev in self.puts.items():
            (kv,) = store.get(f"p/{opid}", revision=rev).kvs
            assert (kv.mod_revision, kv.value) == (rev, f"value {opid}".encode())
        for opid, rev in self.deletes.items():
            assert store.get(f"p/{opid}", revision=rev).count == 0
            assert store.get(f"p/{opid}", revision=rev - 1).count == 1
        for opid, rev in self.txns.items():
            kvs = store.get(f"t/{opid}/", prefix=True, revision=rev).kvs
            assert [kv.mod_revision for kv in kvs] == [rev] * 3
        for lease in self.leases:
            assert store.time_to_live(lease).ttl > 0, lease
        # nothing half-applied, acknowledged or not: each txn's three keys, at one revision
        groups: dict[bytes, list[int]] = {}
        for kv in store.get("t/", prefix=True).kvs:
            groups.setdefault(kv.key.rsplit(b"/", 1)[0], []).append(kv.mod_revision)
        for key, revs in groups.items():
            assert len(revs) == 3, (key, revs)
            assert len(set(revs)) == 1, (key, revs)
        store._check()


def crash_cycle(path: Path, oracle: Oracle, rng: random.Random) -> None:
    fsync = rng.choice(["always", "always", "interval", "never"])
    args = [
        sys.executable,
        str(CHILD),
        str(path),
        fsync,
        str(rng.randrange(1 << 30)),
        str(oracle.next_opid),
    ]
    child = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        wanted = rng.choice([0, 1, 5, 20, 60])
        for _ in range(wanted):
            line = child.stdout.readline()
            if not line:
                break
            oracle.record(line)
        time.sleep(rng.random() * 0.01)
        child.send_signal(signal.SIGKILL)
        for line in child.stdout:  # acknowledged before it died
            oracle.record(line)
    finally:
        child.kill()
        child.wait(30)
        if child.stdout is not None:
            child.stdout.close()
    assert child.returncode == -signal.SIGKILL, child.returncode
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RecoveryWarning)  # a torn tail is expected here
        with Store(data_dir=path) as store:
            oracle.check(store)


def crash_loop(path: Path, cycles: int, budget: float, seed: int) -> int:
    rng = random.Random(seed)
    oracle = Oracle()
    deadline = time.monotonic() + budget
    done = 0
    while done < cycles and time.monotonic() < deadline:
        crash_cycle(path, oracle, rng)
        done += 1
    assert oracle.puts, "the children acknowledged no put"
    assert oracle.txns, "the children acknowledged no txn"
    assert oracle.leases, "the children acknowledged no lease grant"
    return done


def test_crash_loop(tmp_path: Path) -> None:
    assert crash_loop(tmp_path, cycles=25, budget=60, seed=1) >= 10


#: ``ETCDLITE_CRASH_CYCLES`` asks for the longer run: no time budget, and no pytest timeout.
LONG_RUN = "ETCDLITE_CRASH_CYCLES" in os.environ


@pytest.mark.slow
@pytest.mark.timeout(0 if LONG_RUN else 300)
def test_crash_loop_long(tmp_path: Path) -> None:
    cycles = int(os.environ.get("ETCDLITE_CRASH_CYCLES", "300"))
    budget = 24 * 3600.0 if LONG_RUN else 120.0
    assert crash_loop(tmp_path, cycles=cycles, budget=budget, seed=2) >= min(cycles, 100)
