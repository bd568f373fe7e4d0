"""Smoke tests of the benchmarks in ``benchmarks/``: a tiny run of each prints the whole table.

Timings are never asserted here: only that the command runs and reports every row.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from conformance._etcd import etcd_binary

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_core.py"

ROWS = (
    "put (new key)",
    "put (existing key)",
    "put existing + compact",
    "get (one key)",
    "get prefix, limit 100",
    "delete (one key)",
    "txn cmp+put+get+del",
    "memory (bytes/key)",
)


@pytest.fixture(scope="module")
def output() -> str:
    """The stdout of one tiny benchmark run (2,000 keys, one round)."""
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--sizes", "2000", "--repeat", "1", "--ops", "500"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.parametrize("row", ROWS, ids=ROWS)
def test_row_printed(output: str, row: str) -> None:
    """Each operation has a row at the requested size with two numbers and a ratio."""
    number = r"[\d,]+"
    pattern = rf"^{re.escape(row)}\s+2,000\s+{number}\s+{number}\s+\d+\.\d\dx\s"
    assert re.search(pattern, output, re.MULTILINE), output


@pytest.mark.parametrize(
    "header", ["date:", "python:", "machine:", "command:", "run time:"], ids=str
)
def test_run_described(output: str, header: str) -> None:
    """The report says when, on what and with which command it was measured."""
    assert re.search(rf"^{re.escape(header)}", output, re.MULTILINE), output


def test_lease_benchmark_runs() -> None:
    """benchmarks/bench_lease.py runs at a tiny size and reports every lease operation."""
    script = BENCH.with_name("bench_lease.py")
    proc = subprocess.run(
        [sys.executable, str(script), "--sizes", "500"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    for row in ("grant", "put with lease", "put detaching", "keep_alive_once", "expiry"):
        assert re.search(rf"^  {re.escape(row)}\s.*/s\s", proc.stdout, re.MULTILINE), proc.stdout


SERVER_ROWS = (
    "python put, sequential",
    "python put, 2 threads",
    "python range 1 key, sequential",
    "python range 1 key, 2 threads",
    "python range 100 keys, sequential",
    "python range 100 keys, 2 threads",
    "watch put->event, python",
)


@pytest.fixture(scope="module")
def server_output() -> str:
    """The stdout of one tiny ``bench_server.py`` run against etcdlite, etcd and the echo
    server (no h2load, no ``check perf``: those rows have their own flags)."""
    script = BENCH.with_name("bench_server.py")
    argv = [sys.executable, str(script), "--rounds", "1", "--calls", "40", "--threads", "2"]
    argv += ["--h2load-requests", "0", "--watch-events", "10", "--etcd", etcd_binary()]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=240, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


@pytest.mark.etcd
@pytest.mark.parametrize("row", SERVER_ROWS, ids=SERVER_ROWS)
def test_server_row_printed(server_output: str, row: str) -> None:
    """Each load has a row with a cell per server, a ratio and a verdict on its target."""
    rate = r"[\d,]+/s \(\d+\.\d\d/\d+\.\d\d\)"
    cell = rf"(?:{rate}|\(\d+\.\d\d/\d+\.\d\d\))"
    pattern = rf"^{re.escape(row)}\s+{cell}\s+{cell}\s+{cell}\s+\d+\.\d\dx \w+.*\s(PASS|MISS)$"
    assert re.search(pattern, server_output, re.MULTILINE), server_output


@pytest.mark.etcd
def test_server_run_described(server_output: str) -> None:
    """The server report names the versions it measured, sums up the targets and gives each
    server's CPU time per call."""
    for header in ("date:", "machine:", "versions:", "command:", "targets:", "run time:"):
        assert re.search(rf"^{header}", server_output, re.MULTILINE), header
    assert "etcd 3." in server_output
    assert re.search(
        r"^python put, sequential\s+[\d,]+\s+[\d,]+\s+[\d,]+\s+[+-][\d,]+$",
        server_output,
        re.MULTILINE,
    ), server_output
