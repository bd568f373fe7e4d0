"""``etcdctl check perf`` runs to the end against ``etcdlite serve``, as against etcd 3.4.

``check perf`` writes from 50 clients at 150 writes/s (``--load=s``) for 60 seconds through
leases, puts, ranges, a compaction and a prefix delete, then judges throughput, the slowest
request and the latency spread. Here it runs in the ``slow`` run CI makes and the test asserts
what does not depend on the machine's speed: every step of the tool succeeds, each verdict is
printed in etcd's words, and the keys it wrote are gone afterwards. Whether the verdicts are
PASS is a measurement, so it is made by ``benchmarks/bench_server.py`` (``--load=m``, next to
real etcd), never asserted here.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from server.test_etcdctl import _etcdctl, _stop

pytestmark = [pytest.mark.slow, pytest.mark.etcd]

#: ``check perf`` runs 60 s, then deletes what it wrote; this bounds the whole command.
CHECK_TIMEOUT = 150.0


def _check_perf(etcdctl: str, endpoint: str) -> tuple[int, list[str], str]:
    done = subprocess.run(
        [etcdctl, f"--endpoints={endpoint}", "check", "perf", "--load=s"],
        capture_output=True,
        text=True,
        timeout=CHECK_TIMEOUT,
        env={"ETCDCTL_API": "3", "PATH": "/usr/bin:/bin"},
        check=False,
    )
    # the progress bar redraws with \r; a verdict is a line of its own after it
    verdicts = re.findall(r"(?:PASS|FAIL|Slowest|Stddev)[^\r\n]*", done.stdout.rpartition("\r")[2])
    return done.returncode, verdicts, done.stderr


#: etcdctl 3.4's verdict lines, pass or fail (two failures carry no "FAIL:" of their own).
VERDICTS = (
    r"PASS: Throughput is \d+ writes/s|FAIL: Throughput too low: \d+ writes/s",
    r"PASS: Slowest request took [\d.]+s|Slowest request took too long: [\d.]+s",
    r"PASS: Stddev is [\d.]+s|Stddev too high: [\d.]+s",
    r"PASS|FAIL",
)


def test_check_perf_runs_to_the_end() -> None:
    etcdctl = _etcdctl()
    proc = subprocess.Popen(
        [sys.executable, "-m", "etcdlite", "serve", "--listen-client-urls=http://127.0.0.1:0"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        m = re.search(r"http://(127\.0\.0\.1:\d+)", proc.stdout.readline())
        assert m, proc.stderr.read() if proc.stderr else "no address printed"
        code, verdicts, err = _check_perf(etcdctl, m[1])
        left = subprocess.run(
            [
                etcdctl,
                f"--endpoints={m[1]}",
                "get",
                "--prefix",
                "/etcdctl-check-perf/",
                "--keys-only",
            ],
            capture_output=True,
            text=True,
            timeout=30,
            env={"ETCDCTL_API": "3", "PATH": "/usr/bin:/bin"},
            check=True,
        ).stdout
    finally:
        _stop(proc)
    assert proc.returncode == 0
    assert code in (0, 1), err  # 1 is a FAIL verdict; anything else is an error
    assert "Error" not in err, err
    assert len(verdicts) == len(VERDICTS), verdicts
    for pattern, verdict in zip(VERDICTS, verdicts, strict=True):
        assert re.fullmatch(pattern, verdict), verdict
    assert (code == 0) == (verdicts[-1] == "PASS")
    assert left == ""  # every key it wrote was deleted
