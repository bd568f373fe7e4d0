"""`etcdlite get/put/del/watch/txn/lease/compaction/endpoint` against etcdctl 3.4 as the oracle.

Two ``etcdlite serve`` processes start on ephemeral ports with the same name and peer URL, so
their cluster and member ids agree. One scripted session runs through real etcdctl against the
first and through our commands (``etcdlite.cli.main`` in this process) against the second, in
the simple, json and table formats; after each step the exit status, stdout and the error lines
of stderr must be equal. Only what legitimately differs is taken out: each side's lease ids
(time-based) and the remaining seconds of a lease, and each server's endpoint address.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest
from server.test_etcdctl import COMMAND_TIMEOUT, STREAM_SECONDS, _etcdctl, _stop

from etcdlite import cli

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.grpc

#: How long a served store may take to print the line saying where it listens.
START_TIMEOUT = 30.0


@contextlib.contextmanager
def served(name: str = "ctl") -> Iterator[str]:
    """``etcdlite serve`` on an ephemeral loopback port: its ``host:port``, until the block ends."""
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "etcdlite", "serve"),
            "--listen-client-urls=http://127.0.0.1:0",
            "--initial-advertise-peer-urls=http://127.0.0.1:2380",
            f"--name={name}",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # printed once it listens; "" if it exited
        m = re.search(r"http://(127\.0\.0\.1:\d+)", line)
        assert m is not None, line
        yield m[1]
    finally:
        _, err = _stop(proc)
        assert proc.returncode == 0, err


@dataclass(frozen=True)
class Step:
    """One command: ``stdin`` for txn; ``events`` for a watch (etcdctl is stopped after a while,
    ours is given ``--max-events``); ``then`` a command run while the watch is open."""

    args: tuple[str, ...]
    stdin: str = ""
    events: int = 0
    then: tuple[str, ...] = ()


def S(*args: str, stdin: str = "", events: int = 0, then: tuple[str, ...] = ()) -> Step:
    return Step(tuple(args), stdin, events, then)


TXN = 'value("b") = "2"\nmod("b") > "1"\n\nput c 3\nget b\ndel nope\nput q "hello world"\n\nput c 4\n\n'
TXN_FAIL = 'value("b") = "nope"\n\nput c 3\n\nput c 4 --prev-kv\nget c --prefix\n\n'

SESSION: tuple[Step, ...] = (
    S("put", "a", "1"),
    S("put", "b", "2"),
    S("put", "b2", "22", "--prev-kv"),
    S("put", "c", "3", "-w", "json"),
    S("put", "a", "4", "--prev-kv", "-w", "json"),
    S("put", "a", "5", "--prev-kv"),
    S("put", "t", "1", "-w", "table"),
    S("put", "k sp", "héllo wörld <&>"),
    S("put", "only-key"),
    S("put", "x", "y", "--lease", "zz"),
    S("put", "x", "y", "--lease", "1234"),
    S("get", "a"),
    S("get", "k sp", "-w", "json"),
    S("get", "b", "--prefix"),
    S("get", "b", "--prefix", "-w", "json"),
    S("get", "a", "--from-key", "--limit", "2"),
    S("get", "a", "--from-key", "--limit", "2", "-w", "json"),
    S("get", "", "--from-key", "--sort-by", "MODIFY", "--order", "DESCEND"),
    S("get", "", "--from-key", "--sort-by", "VALUE", "--order", "ASCEND", "--keys-only"),
    S("get", "", "--prefix", "--keys-only", "-w", "json"),
    S("get", "b", "--prefix", "--print-value-only"),
    S("get", "b", "--print-value-only", "-w", "json"),
    S("get", "b", "--rev", "3", "-w", "json"),
    S("get", "a", "c"),
    S("get", "zz"),
    S("get", "zz", "-w", "json"),
    S("get", "a", "--rev", "100"),
    S("get"),
    S("get", "a", "--prefix", "--from-key"),
    S("get", "a", "b", "--prefix"),
    S("del", "b2", "--prev-kv"),
    S("del", "nothing"),
    S("del", "nothing", "-w", "json"),
    S("del", "c", "--prefix", "-w", "json"),
    S("del", "a", "--prev-kv", "-w", "json"),
    S("del", "t", "-w", "table"),
    S("txn", stdin=TXN),
    S("txn", "-w", "json", stdin=TXN),
    S("txn", stdin=TXN_FAIL),
    S("txn", "-w", "json", stdin=TXN_FAIL),
    S("txn", "-w", "table", stdin=TXN_FAIL),
    S("put", "w", "1"),
    S("put", "w", "2"),
    S("del", "w"),
    S("put", "w", "3"),
    S("watch", "w", "--rev", "2", "--prev-kv", events=4),
    S("watch", "w", "--prefix", "--rev", "1", "-w", "json", events=4),
    S("watch", "live", events=1, then=("put", "live", "now")),
    S("watch", "live", "-w", "json", events=1, then=("del", "live")),
    S("compaction", "4"),
    S("get", "w", "--rev", "3"),
    S("get", "w", "--rev", "4", "-w", "json"),
    S("compaction", "4", "-w", "json"),
    S("watch", "w", "--rev", "2"),
    S("watch", "w", "--rev", "2", "-w", "json"),
    S("lease", "grant", "60"),
    S("put", "leased", "x", "--lease", "{lease}"),
    S("put", "leased2", "y", "--lease", "{lease}"),
    S("lease", "timetolive", "{lease}"),
    S("lease", "timetolive", "{lease}", "--keys"),
    S("lease", "timetolive", "{lease}", "--keys", "-w", "json"),
    S("get", "leased", "-w", "json"),
    S("lease", "list"),
    S("lease", "list", "-w", "json"),
    S("lease", "keep-alive", "--once", "{lease}"),
    S("lease", "keep-alive", "--once", "{lease}", "-w", "json"),
    S("lease", "revoke", "{lease}"),
    S("lease", "revoke", "{lease}"),
    S("lease", "timetolive", "{lease}"),
    S("lease", "timetolive", "{lease}", "-w", "json"),
    S("lease", "keep-alive", "--once", "{lease}"),
    S("get", "leased"),
    S("lease", "grant", "60", "-w", "json"),
    S("lease", "revoke", "{lease}", "-w", "json"),
    S("lease", "grant", "60", "-w", "table"),
    S("lease", "grant", "ten"),
    S("lease", "revoke", "xyz"),
    S("endpoint", "status"),
    S("endpoint", "status", "-w", "json"),
    S("endpoint", "status", "-w", "table"),
)


@dataclass
class Side:
    """One side of the comparison: how it runs a step, and the lease ids it was granted."""

    endpoint: str
    leases: list[int] = field(default_factory=list)

    def argv(self, args: tuple[str, ...]) -> list[str]:
        lease = f"{self.leases[-1]:x}" if self.leases else "0"
        return [a.replace("{lease}", lease) for a in args]

    def note_leases(self, out: str) -> None:
        for m in re.finditer(r"lease ([0-9a-f]{16}) granted with TTL\(\d+s\)$", out, re.MULTILINE):
            self.leases.append(int(m[1], 16))
        for m in re.finditer(r'"ID":(\d+),"TTL":\d+,"Error"', out):
            self.leases.append(int(m[1]))

    def normalize(self, code: int | str, out: str, err: str) -> tuple[int | str, str, str]:
        errors = "\n".join(line for line in err.splitlines() if not line.startswith('{"level"'))
        texts = []
        for s in (out, errors):
            for i, lease in enumerate(self.leases):
                s = s.replace(f"{lease:016x}", f"<lease{i}>").replace(str(lease), f"<lease{i}>")
            s = s.replace(self.endpoint, "<endpoint>")
            s = re.sub(r"remaining\(\d+s\)", "remaining(<n>s)", s)
            s = re.sub(r'"ttl":\d+,"granted-ttl":60', '"ttl":<n>,"granted-ttl":60', s)
            texts.append(s)
        return code, texts[0], texts[1]


class Etcdctl(Side):
    """Real etcdctl 3.4, one process per step."""

    def _env(self) -> dict[str, str]:
        return {**os.environ, "ETCDCTL_API": "3"}

    def run(self, step: Step) -> tuple[int | str, str, str]:
        argv = [_etcdctl(), f"--endpoints={self.endpoint}", *self.argv(step.args)]
        if step.events:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=self._env(),
            )
            try:
                time.sleep(STREAM_SECONDS)
                if step.then:
                    self.run(Step(step.then))
                    time.sleep(STREAM_SECONDS / 2)
            finally:
                out, err = _stop(proc)
            return self.normalize(0, out, err)
        done = subprocess.run(
            argv,
            input=step.stdin,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            env=self._env(),
            check=False,
        )
        self.note_leases(done.stdout)
        return self.normalize(done.returncode, done.stdout, done.stderr)


def run_ours(argv: list[str], stdin: str = "") -> tuple[int, str, str]:
    """``etcdlite ARGV`` in this process: exit status, stdout and stderr."""
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="utf-8", write_through=True)
    err = io.StringIO()
    saved = sys.stdin, sys.stdout, sys.stderr
    sys.stdin, sys.stdout, sys.stderr = io.StringIO(stdin), out, err
    try:
        code = cli.main(argv)
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved
    return code, raw.getvalue().decode(), err.getvalue()


class Ours(Side):
    """Our commands, run in this process through ``etcdlite.cli.main``."""

    def run(self, step: Step) -> tuple[int | str, str, str]:
        argv = [*self.argv(step.args), f"--endpoints={self.endpoint}"]
        if step.then:
            # the watch is created before the write: the write runs once it is waiting
            done: list[tuple[int, str, str]] = []
            t = threading.Thread(target=lambda: done.append(self._watch(argv, step)), daemon=True)
            t.start()
            time.sleep(STREAM_SECONDS)
            Etcdctl(self.endpoint).run(Step(step.then))  # the write is not under test
            t.join(COMMAND_TIMEOUT)
            assert done, "the watch did not end"
            return self.normalize(*done[0])
        if step.events:
            return self.normalize(*self._watch(argv, step))
        code, out, err = run_ours(argv, step.stdin)
        self.note_leases(out)
        return self.normalize(code, out, err)

    def _watch(self, argv: list[str], step: Step) -> tuple[int, str, str]:
        return run_ours([*argv, "--max-events", str(step.events)])


@pytest.mark.etcd
def test_session_prints_what_etcdctl_prints() -> None:
    """Every step of the session prints the same (status, stdout, errors) as etcdctl 3.4."""
    with served() as a, served() as b:
        theirs, ours = Etcdctl(a), Ours(b)
        for step in SESSION:
            want = theirs.run(step)  # a watch etcdctl was stopped in: status 0
            have = ours.run(step)
            assert have == want, step.args
        assert len(ours.leases) == len(theirs.leases) == 2


def test_get_table_lists_key_values() -> None:
    """`get -w table` (an etcdlite addition: etcdctl 3.4 refuses it) draws the key-values."""
    with served() as ep:
        assert run_ours(["put", "k", "v", f"--endpoints={ep}"])[0] == 0
        code, out, _ = run_ours(["get", "k", "-w", "table", f"--endpoints={ep}"])
    assert code == 0
    assert out.splitlines() == [
        "+-----+-------+-----------------+--------------+---------+-------+",
        "| KEY | VALUE | CREATE REVISION | MOD REVISION | VERSION | LEASE |",
        "+-----+-------+-----------------+--------------+---------+-------+",
        "| k   | v     |               2 |            2 |       1 |       |",
        "+-----+-------+-----------------+--------------+---------+-------+",
    ]


def test_count_only_prints_the_count() -> None:
    """`get --count-only` (etcdctl 3.5's flag) prints how many keys the range holds."""
    with served() as ep:
        for k in ("p/1", "p/2", "q"):
            run_ours(["put", k, "v", f"--endpoints={ep}"])
        assert run_ours(["get", "p/", "--prefix", "--count-only", f"--endpoints={ep}"]) == (
            0,
            "2\n",
            "",
        )


def test_errors_print_like_etcdctl_and_exit_nonzero() -> None:
    """A request etcd refuses prints `Error: etcdserver: ...` on stderr and exits 1; an
    endpoint that does not answer is an error too."""
    with served() as ep:
        code, out, err = run_ours(["get", "k", "--rev", "9", f"--endpoints={ep}"])
    assert (code, out) == (1, "")
    assert err == "Error: etcdserver: mvcc: required revision is a future revision\n"
    code, _, err = run_ours(["get", "k", f"--endpoints={ep}", "--command-timeout", "500ms"])
    assert code == 1
    assert err.startswith("Error: ")


def test_keep_alive_runs_until_ctrl_c() -> None:
    """`lease keep-alive ID` prints each renewal until Ctrl-C, then exits 130."""
    with served() as ep:
        _, out, _ = run_ours(["lease", "grant", "60", f"--endpoints={ep}"])
        lease = out.split()[1]
        proc = subprocess.Popen(
            [sys.executable, "-m", "etcdlite", "lease", "keep-alive", lease, f"--endpoints={ep}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdout is not None
            first = proc.stdout.readline()
            proc.send_signal(signal.SIGINT)
            proc.communicate(timeout=COMMAND_TIMEOUT)
        finally:
            _stop(proc)
    assert first == f"lease {lease} keepalived with TTL(60)\n"
    assert proc.returncode == 130


def test_keep_alive_of_a_missing_lease_ends_at_once() -> None:
    """`lease keep-alive` of a lease that does not exist says so and exits 0, as etcdctl does."""
    with served() as ep:
        assert run_ours(["lease", "keep-alive", "1a", f"--endpoints={ep}"]) == (
            0,
            "lease 000000000000001a expired or revoked.\n",
            "",
        )


def test_watch_runs_until_ctrl_c() -> None:
    """`watch KEY` prints the events as they come (here a replay from --rev) until Ctrl-C,
    then exits 130."""
    with served() as ep:
        run_ours(["put", "k", "v", f"--endpoints={ep}"])
        proc = subprocess.Popen(
            [sys.executable, "-m", "etcdlite", "watch", "k", "--rev", "2", f"--endpoints={ep}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdout is not None
            lines = [proc.stdout.readline() for _ in range(3)]
            proc.send_signal(signal.SIGINT)
            proc.communicate(timeout=COMMAND_TIMEOUT)
        finally:
            _stop(proc)
    assert lines == ["PUT\n", "k\n", "v\n"]
    assert proc.returncode == 130


def test_data_dir_and_endpoints_parse() -> None:
    """`--data-dir` selects an in-process store (opened with ``Store(data_dir=...)``)."""
    args: Any = cli.build_parser().parse_args(["get", "k", "--data-dir", "/tmp/x"])
    assert (args.data_dir, args.endpoints) == ("/tmp/x", "http://127.0.0.1:2379")


def test_commands_on_a_data_dir(tmp_path: Path) -> None:
    """With ``--data-dir`` the commands open the store in-process: what one command writes,
    the next reads, across processes; a directory in use is refused clearly."""

    def ctl(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "etcdlite", *args, f"--data-dir={tmp_path}"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    assert ctl("put", "greeting", "hello").stdout == "OK\n"
    assert ctl("put", "app/a", "1").returncode == 0
    assert ctl("get", "greeting").stdout == "greeting\nhello\n"
    assert ctl("get", "app/", "--prefix", "--keys-only").stdout.split() == ["app/a"]
    assert ctl("del", "greeting").stdout == "1\n"
    assert ctl("get", "greeting").stdout == ""
    from etcdlite import Store

    with Store(data_dir=tmp_path) as held:
        assert held.revision == 4
        busy = ctl("get", "app/a")
    assert busy.returncode == 1
    assert "in use by another store or process" in busy.stderr


def test_user_flag_authenticates() -> None:
    """``--user name:password`` (or ``--user name --password pw``) runs the command as that
    user on a store with auth on; a wrong password fails as etcdctl does."""
    import etcdlite

    store = etcdlite.Store(password_hash_cost=1)
    store.user_add("root", "rootpw")
    store.user_grant_role("root", "root")
    store.role_add("app")
    store.role_grant_permission("app", "app/", perm_type="readwrite", prefix=True)
    store.user_add("alice", "pw")
    store.user_grant_role("alice", "app")
    store.auth_enable()
    with store, etcdlite.serve(store, port=0) as server:
        ep = f"--endpoints=http://{server.address}"
        assert run_ours(["put", "app/x", "1", ep, "--user", "alice:pw"])[:2] == (0, "OK\n")
        assert run_ours(["get", "app/x", ep, "--user", "alice", "--password", "pw"])[1] == (
            "app/x\n1\n"
        )
        code, _, err = run_ours(["put", "other", "1", ep, "--user", "alice:pw"])
        assert (code, err) == (1, "Error: etcdserver: permission denied\n")
        code, _, err = run_ours(["get", "app/x", ep, "--user", "alice:wrong"])
        assert code == 1
        assert "authentication failed, invalid user ID or password" in err
        code, _, err = run_ours(["get", "app/x", ep])
        assert (code, err) == (1, "Error: etcdserver: user name is empty\n")
