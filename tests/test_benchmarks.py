"""Smoke test of ``benchmarks/bench_core.py``: a tiny run prints the whole table.

Timings are never asserted here: only that the command runs and reports every row.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

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
