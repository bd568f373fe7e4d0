"""Real etcd clients against `etcdlite serve` and against real etcd 3.4: the same transcript.

python-etcd3 and aetcd each register their own ``rpc.proto`` in protobuf's default descriptor
pool, as etcdlite's generated modules do, so neither can be imported in this process: each
runs a scripted session (``tests/server/clients/*_session.py``) in a subprocess, once against
a real etcd (``running_etcd``) and once against ``python -m etcdlite serve``, and prints one
normalized JSON line per step. etcd3gw, which speaks HTTP/1.1 JSON to the gateway on the same
client URL, runs the same way for uniformity. The transcripts must be equal line for line; a few concrete
steps are also checked so the comparison cannot pass on two empty or broken runs. A client
that is not installed fails the test (they are in the ``test`` extra), it is never skipped.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conformance._etcd import running_etcd
from conformance.divergences import divergence

from server.test_etcdctl import etcdlite_serve

#: Bound on one whole client session.
SESSION_TIMEOUT = 120.0

TESTS = Path(__file__).resolve().parent.parent


def run_session(script: str, endpoint: str) -> list[dict[str, Any]]:
    """Run ``clients/<script>.py`` against ``endpoint``: its transcript, one dict per step."""
    env = {**os.environ, "PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION": "python"}
    done = subprocess.run(
        [sys.executable, "-m", f"server.clients.{script}", endpoint],
        cwd=TESTS,
        env=env,
        capture_output=True,
        text=True,
        timeout=SESSION_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert lines, done.stderr[-4000:]
    assert lines[-1] == {"end": len(lines) - 1}, "the session did not run to its end"
    return lines[:-1]


def both(script: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The transcripts of ``script`` against real etcd, then against etcdlite serve."""
    with running_etcd() as etcd:
        expected = run_session(script, etcd.url.removeprefix("http://"))
    with etcdlite_serve("conformance") as endpoint:
        got = run_session(script, endpoint)
    return expected, got


def by_step(transcript: list[dict[str, Any]]) -> dict[str, Any]:
    return {line["step"]: line["result"] for line in transcript}


#: Status fields that differ by design: the ``status-stand-ins`` divergence (as the gRPC
#: clients name them, and as the JSON gateway does).
STATUS_STAND_INS = (
    *("version", "db_size", "raft_index"),
    *("dbSize", "dbSizeInUse", "raftIndex", "raftAppliedIndex"),
)


def _comparable(line: dict[str, Any]) -> dict[str, Any]:
    if line["step"] != "status":
        return line
    result = {k: v for k, v in line["result"].items() if k not in STATUS_STAND_INS}
    return {**line, "result": result}


def assert_same(expected: list[dict[str, Any]], got: list[dict[str, Any]]) -> None:
    """Equal transcripts, step by step, but for the registered status stand-ins."""
    assert divergence("status-stand-ins").kind == "choice"
    assert [line["step"] for line in got] == [line["step"] for line in expected]
    for want, have in zip(expected, got, strict=True):
        assert _comparable(have) == _comparable(want), want["step"]


@pytest.mark.etcd
def test_python_etcd3_session_matches_real_etcd() -> None:
    """python-etcd3 0.12 sees the same KV, txn, watch, lease, lock, cluster and error results
    from etcdlite serve as from etcd 3.4."""
    expected, got = both("etcd3_session")
    steps = by_step(expected)
    assert steps["get a"][0] == "1"
    assert steps["txn success"][0] is True
    assert steps["txn failure"][0] is False
    assert steps["get compacted revision"]["code"] == "OUT_OF_RANGE"
    assert steps["watch compacted revision callback"][0]["error"] == "RevisionCompactedError"
    assert len(steps["watch w from old revision"][0]["events"]) == 5
    assert steps["lock second waits"] is True
    assert steps["lock second acquired"] == [True]
    assert steps["put empty key"]["details"] == "etcdserver: key is not provided"
    assert_same(expected, got)


@pytest.mark.etcd
def test_aetcd_session_matches_real_etcd() -> None:
    """aetcd 1.0 (asyncio) sees the same KV, txn, watch, lease, lock, cluster and error results
    from etcdlite serve as from etcd 3.4."""
    expected, got = both("aetcd_session")
    steps = by_step(expected)
    assert steps["get a"]["value"] == "1"
    assert steps["txn success"][0] is True
    assert steps["txn duplicate put"]["error"] == "InvalidArgumentError"
    assert steps["watch compacted revision"][0]["error"] == "RevisionCompactedError"
    assert [e["kind"] for e in steps["watch wp/ deletes only"]] == ["DELETE", "DELETE"]
    assert steps["lease existing id"]["error"] == "DuplicateLeaseError"
    assert steps["lock second waits"] is True
    assert steps["lock second acquired"] is True
    assert_same(expected, got)


@pytest.mark.etcd
def test_etcd3gw_session_matches_real_etcd() -> None:
    """etcd3gw 2.7 (HTTP/1.1 JSON to the gateway on the client URL) sees the same KV, txn,
    watch, lease, lock, cluster and error results from etcdlite serve as from etcd 3.4."""
    expected, got = both("etcd3gw_session")
    steps = by_step(expected)
    assert steps["get a"] == ["1"]
    assert steps["txn success"]["succeeded"] is True
    assert steps["txn duplicate put"]["body"]["code"] == 3
    compacted = steps["get compacted revision"]["body"]
    assert compacted["error"] == "etcdserver: mvcc: required revision has been compacted"
    assert [e.get("type", "PUT") for e in steps["watch live"]] == ["PUT", "DELETE"]
    assert steps["lease keys"] == ["leased"]
    assert steps["lease refresh"] == "counting"
    assert (steps["lock second acquire"], steps["lock second acquire again"]) == (False, True)
    assert_same(expected, got)
