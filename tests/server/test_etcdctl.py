"""etcdctl 3.4 against `etcdlite serve` and against real etcd 3.4: the same session, the same output.

One scripted session (put/get with their flags, del, txn from stdin, compaction, watch, lease,
lock, elect, member list, endpoint status/health/hashkv, alarm list, defrag) runs against a
real etcd (``running_etcd``) and against ``python -m etcdlite serve`` started as a subprocess;
the outputs are compared step by step after normalizing what legitimately differs: ids, ports,
terms, timings, the emulated version, and the Status fields registered as the
``status-stand-ins`` divergence. Every process is bounded by a timeout and always stopped.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
from conformance._etcd import STOP_TIMEOUT, running_etcd
from conformance.divergences import divergence

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

#: Bound on one etcdctl command.
COMMAND_TIMEOUT = 15.0
#: How long a watch or an observer is left running before it is stopped.
STREAM_SECONDS = 1.5


def _etcdctl() -> str:
    path = shutil.which("etcdctl")
    if path:
        return path
    reason = "no etcdctl binary (Debian: apt-get install etcd-client)"
    if os.environ.get("ETCDLITE_REQUIRE_ETCD") == "1":
        pytest.fail(f"ETCDLITE_REQUIRE_ETCD=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _stop(proc: subprocess.Popen[str]) -> tuple[str, str]:
    if proc.poll() is None:
        proc.terminate()
    try:
        return proc.communicate(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate(timeout=STOP_TIMEOUT)


@dataclass(frozen=True)
class Step:
    """One etcdctl command: ``kind`` "run" (to completion), "stream" (stopped after a while,
    with ``then`` run meanwhile) or "elect" (a campaigner in the background, then a listener)."""

    args: tuple[str, ...]
    stdin: str | None = None
    kind: str = "run"
    then: tuple[str, ...] = ()
    #: JSON keys to drop from the output before comparing (registered divergences).
    drop: tuple[str, ...] = ()


def S(*args: str, **kw: Any) -> Step:
    return Step(tuple(args), **kw)


TXN = 'value("b") = "2"\n\nput c 3\nget b\n\nput c 4\n\n'

STATUS_STAND_INS = ("version", "dbSize", "dbSizeInUse", "raftIndex", "raftAppliedIndex")

SESSION: tuple[Step, ...] = (
    S("put", "a", "1"),
    S("put", "b", "2"),
    S("put", "b2", "22", "--prev-kv"),
    S("put", "c", "3", "-w", "json"),
    S("get", "a"),
    S("get", "b", "--prefix"),
    S("get", "b", "--prefix", "-w", "json"),
    S("get", "a", "--from-key", "--limit", "2"),
    S("get", "", "--from-key", "--sort-by", "MODIFY", "--order", "DESCEND"),
    S("get", "", "--from-key", "--sort-by", "VALUE", "--order", "ASCEND", "--keys-only"),
    S("get", "b", "--prefix", "--print-value-only"),
    S("get", "b", "--rev", "3", "-w", "json"),
    S("get", "zzz"),
    S("get", "a", "--rev", "100"),
    S("del", "b2", "--prev-kv"),
    S("del", "nothing"),
    S("del", "c", "--prefix", "-w", "json"),
    S("txn", "-w", "json", stdin=TXN),
    S("txn", stdin='value("b") = "nope"\n\nput c 3\n\nput c 4\nget c\n\n'),
    S("put", "w", "1"),
    S("put", "w", "2"),
    S("del", "w"),
    S("put", "w", "3"),
    S("watch", "w", "--rev", "2", "--prev-kv", kind="stream"),
    S("watch", "w", "--prefix", "--rev", "1", "-w", "json", kind="stream"),
    S("watch", "live", kind="stream", then=("put", "live", "now")),
    S("endpoint", "hashkv", "-w", "json"),
    S("compaction", "4"),
    S("get", "w", "--rev", "3"),
    S("get", "w", "--rev", "4"),
    S("compaction", "4"),
    S("watch", "w", "--rev", "2", kind="stream"),
    S("endpoint", "hashkv", "-w", "json"),
    S("lease", "grant", "60"),
    S("put", "leased", "x", "--lease", "{lease}"),
    S("lease", "timetolive", "{lease}", "--keys"),
    S("lease", "list"),
    S("lease", "keep-alive", "--once", "{lease}"),
    S("lease", "revoke", "{lease}"),
    S("lease", "revoke", "{lease}"),
    S("lease", "timetolive", "{lease}"),
    S("lease", "keep-alive", "--once", "{lease}"),
    S("get", "leased"),
    S("lock", "mylock", "--", "echo", "held"),
    S("get", "mylock", "--prefix"),
    S("elect", "myelection", "p1", kind="elect"),
    S("member", "list", "-w", "json"),
    S("endpoint", "status", "-w", "json", drop=STATUS_STAND_INS),
    S("endpoint", "health"),
    S("alarm", "list"),
    S("defrag"),
)


@dataclass
class Session:
    """Runs etcdctl against one endpoint and records normalized outputs."""

    etcdctl: str
    endpoint: str
    lease: str = ""

    def _argv(self, args: tuple[str, ...]) -> list[str]:
        return [
            self.etcdctl,
            f"--endpoints={self.endpoint}",
            *(a.replace("{lease}", self.lease) for a in args),
        ]

    def _env(self) -> dict[str, str]:
        return {**os.environ, "ETCDCTL_API": "3"}

    def _spawn(self, args: tuple[str, ...]) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self._argv(args),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self._env(),
        )

    def run(self, step: Step) -> tuple[int | str, str, str]:
        if step.kind == "stream":
            proc = self._spawn(step.args)
            try:
                time.sleep(STREAM_SECONDS)
                if step.then:
                    self.run(Step(step.then))
                    time.sleep(STREAM_SECONDS / 2)
            finally:
                out, err = _stop(proc)
            return "stopped", out, err
        if step.kind == "elect":
            campaigner = self._spawn(step.args)
            try:
                time.sleep(STREAM_SECONDS)
                listener = self._spawn(("elect", "--listen", step.args[0]))
                try:
                    time.sleep(STREAM_SECONDS)
                finally:
                    out, err = _stop(listener)
            finally:
                c_out, c_err = _stop(campaigner)
            return "stopped", c_out + "--\n" + out, c_err + err
        done = subprocess.run(
            self._argv(step.args),
            input=step.stdin,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            env=self._env(),
            check=False,
        )
        m = re.search(r"lease ([0-9a-f]+) granted", done.stdout)
        if m:
            self.lease = m[1]
        return done.returncode, done.stdout, done.stderr


def _drop(value: Any, keys: tuple[str, ...]) -> Any:
    if isinstance(value, dict):
        return {k: _drop(v, keys) for k, v in value.items() if k not in keys}
    if isinstance(value, list):
        return [_drop(v, keys) for v in value]
    return value


def normalize(step: Step, result: tuple[int | str, str, str]) -> tuple[int | str, str, str]:
    """What must be equal: exit status, stdout, and the error lines of stderr, with ids,
    ports, timings and the registered stand-ins taken out."""
    code, out, err = result
    if step.drop:
        out = json.dumps(_drop(json.loads(out), step.drop), sort_keys=True)
    errors = "\n".join(line for line in err.splitlines() if not line.startswith('{"level"'))
    text = []
    for s in (out, errors):
        s = re.sub(r"127\.0\.0\.1:\d+", "<endpoint>", s)
        # Lease and member ids in hex: %x drops leading zeros, so 12 to 16 digits, with a letter
        # (an all-digit one is caught as a decimal id below).
        s = re.sub(r"\b(?=[0-9a-f]{12,16}\b)[0-9]*[a-f][0-9a-f]*\b", "<hex-id>", s)
        s = re.sub(r"\b\d{10,}\b", "<id>", s)
        s = re.sub(r"took = \S+", "took = <t>", s)
        s = re.sub(r"remaining\(\d+s\)", "remaining(<n>s)", s)
        s = re.sub(r'"raft_term":\d+', '"raft_term":<t>', s)
        text.append(s)
    return code, text[0], text[1]


@contextlib.contextmanager
def etcdlite_serve(name: str, *extra: str) -> Iterator[str]:
    """``python -m etcdlite serve`` on a free loopback port: its endpoint, until the block ends."""
    port, peer = _free_port(), _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "etcdlite",
            "serve",
            f"--listen-client-urls=http://127.0.0.1:{port}",
            f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
            f"--name={name}",
            *extra,
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # printed once it listens; "" if it exited
        assert f"127.0.0.1:{port}" in line, line + proc.stderr.read() if proc.stderr else line
        yield f"127.0.0.1:{port}"
    finally:
        out, err = _stop(proc)
        assert proc.returncode == 0, err
        assert "stopped" in out


def _run_session(etcdctl: str, endpoint: str) -> list[tuple[int | str, str, str]]:
    session = Session(etcdctl, endpoint)
    return [normalize(step, session.run(step)) for step in SESSION]


@pytest.mark.etcd
def test_session_matches_real_etcd() -> None:
    """The scripted etcdctl session prints the same against etcdlite serve and etcd 3.4."""
    etcdctl = _etcdctl()
    with running_etcd() as etcd:
        expected = _run_session(etcdctl, etcd.url.removeprefix("http://"))
    with etcdlite_serve("conformance") as endpoint:
        got = _run_session(etcdctl, endpoint)
    assert divergence("status-stand-ins").kind == "choice"
    for step, want, have in zip(SESSION, expected, got, strict=True):
        assert have == want, step.args


def _ctl(etcdctl: str, endpoint: str, *args: str) -> str:
    done = subprocess.run(
        [etcdctl, f"--endpoints={endpoint}", *args],
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        env={**os.environ, "ETCDCTL_API": "3"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _etcdlite(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "etcdlite", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_serve_with_a_data_dir_and_etcdctl_snapshot_save(tmp_path: Path) -> None:
    """A served data dir keeps what etcdctl wrote across a restart; ``etcdctl snapshot save``
    saves it, and ``etcdlite snapshot restore`` makes a new data dir from that file."""
    etcdctl = _etcdctl()
    data = tmp_path / "data"
    with etcdlite_serve("durable", f"--data-dir={data}", "--snapshot-count=3") as endpoint:
        for i in range(10):
            _ctl(etcdctl, endpoint, "put", f"k{i}", f"v{i}")
    with etcdlite_serve("durable", f"--data-dir={data}") as endpoint:
        assert _ctl(etcdctl, endpoint, "get", "k9") == "k9\nv9\n"
        saved = tmp_path / "snap.db"
        assert (
            _ctl(etcdctl, endpoint, "snapshot", "save", str(saved))
            .strip()
            .endswith(f"Snapshot saved at {saved}")
        )
        ours = tmp_path / "ours.db"
        done = _etcdlite("snapshot", "save", str(ours), f"--endpoints=http://{endpoint}")
        assert (done.returncode, done.stdout) == (0, f"Snapshot saved at {ours}\n"), done.stderr
    assert saved.read_bytes() == ours.read_bytes()  # etcdctl keeps the trailing SHA-256 too
    done = _etcdlite("snapshot", "status", str(saved))
    assert done.returncode == 0, done.stderr
    assert done.stdout.split(", ")[1:3] == ["11", "10"]  # revision, keys
    restored = tmp_path / "restored"
    done = _etcdlite("snapshot", "restore", str(saved), f"--data-dir={restored}")
    assert done.returncode == 0, done.stderr
    with etcdlite_serve("durable", f"--data-dir={restored}") as endpoint:
        assert _ctl(etcdctl, endpoint, "get", "k", "--prefix", "--keys-only").split() == [
            f"k{i}" for i in range(10)
        ]
    done = _etcdlite("snapshot", "restore", str(saved), f"--data-dir={restored}")
    assert done.returncode == 1
    assert "already holds a store" in done.stderr


def test_serve_refuses_a_data_dir_in_use(tmp_path: Path) -> None:
    with etcdlite_serve("durable", f"--data-dir={tmp_path}"):
        done = _etcdlite(
            "serve", f"--data-dir={tmp_path}", "--listen-client-urls=http://127.0.0.1:0"
        )
    assert done.returncode == 2
    assert "in use by another store or process" in done.stderr


def test_serve_refuses_a_bad_auto_compaction_flag() -> None:
    """An auto-compaction flag etcd refuses is refused before anything listens, in etcd's words."""
    done = subprocess.run(
        [
            *(sys.executable, "-m", "etcdlite", "serve"),
            "--listen-client-urls=http://127.0.0.1:0",
            "--auto-compaction-mode=hourly",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert 'unknown auto-compaction-mode "hourly"' in done.stderr
    assert "serving" not in done.stdout


@pytest.mark.etcd
def test_serve_quota_flag_raises_nospace_for_etcdctl() -> None:
    """--quota-backend-bytes reaches the store: past it etcdctl's put fails with etcd's error,
    `alarm list` shows NOSPACE, reads go on, and `alarm disarm` lets writes in again."""
    etcdctl = _etcdctl()
    port = _free_port()
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "etcdlite", "serve"),
            f"--listen-client-urls=http://127.0.0.1:{port}",
            "--quota-backend-bytes=4096",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert "serving client requests" in proc.stdout.readline()
        session = Session(etcdctl, f"127.0.0.1:{port}")
        assert session.run(S("put", "small", "x"))[0] == 0
        code, _, err = session.run(S("put", "big", "v" * 5000))
        assert code != 0
        assert "etcdserver: mvcc: database space exceeded" in err
        assert "alarm:NOSPACE" in session.run(S("alarm", "list"))[1]
        assert session.run(S("get", "small", "--print-value-only"))[1] == "x\n"
        assert "alarm:NOSPACE" in session.run(S("alarm", "disarm"))[1]
        assert session.run(S("put", "small", "y"))[0] == 0
    finally:
        _stop(proc)


def test_serve_stops_on_sigint() -> None:
    """SIGINT stops the server cleanly (exit 0), like SIGTERM."""
    import signal

    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "etcdlite",
            "serve",
            f"--listen-client-urls=http://127.0.0.1:{port}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert "serving client requests" in proc.stdout.readline()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=STOP_TIMEOUT * 2)
        assert proc.returncode == 0, err
        assert "stopped" in out
    finally:
        _stop(proc)


@pytest.mark.etcd
def test_etcdctl_lock_and_a_store_lock_exclude_each_other() -> None:
    """`etcdctl lock` through `etcdlite serve` waits while the Store's own lock holds the same
    name, and gets it once the Store unlocks: one lock, whichever side takes it."""
    from etcdlite import Store, serve

    etcdctl = _etcdctl()
    store = Store()
    with serve(store, port=0) as server:
        held = store.lock("shared")
        env = {**os.environ, "ETCDCTL_API": "3"}
        cmd = [etcdctl, f"--endpoints={server.address}", "lock", "shared", "--", "echo", "got it"]
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        try:
            with pytest.raises(subprocess.TimeoutExpired):
                proc.wait(timeout=1.5)  # still waiting behind the Store's lock
            waiters = store.get("shared/", prefix=True, sort_target="create").kvs
            assert waiters[0].key == held.key
            assert len(waiters) == 2  # etcdctl's key queued behind ours
            store.unlock(held.key)
            out, _ = proc.communicate(timeout=10)
        finally:
            _stop(proc)
        assert "got it" in out
        assert proc.returncode == 0
        # and the other way round: while etcdctl holds it, the Store waits
        cmd = [etcdctl, f"--endpoints={server.address}", "lock", "shared", "--", "sleep", "1"]
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        try:
            deadline = time.monotonic() + 10
            while not store.get("shared/", prefix=True).kvs and time.monotonic() < deadline:
                time.sleep(0.02)
            assert store.get("shared/", prefix=True).count == 1
            mine = store.lock("shared", timeout=10)
            # granted only once etcdctl's key is gone: ours is the only one left
            assert [kv.key for kv in store.get("shared/", prefix=True).kvs] == [mine.key]
            store.unlock(mine.key)
            proc.communicate(timeout=10)
        finally:
            _stop(proc)
    store.close()
