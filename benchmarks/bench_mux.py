"""What serving gRPC and the JSON gateway on one port costs gRPC: calls/s, shared and direct.

``etcdlite serve`` answers gRPC and the gateway on each ``--listen-client-urls`` URL, as etcd
does: a front process sorts the connections by their first bytes and hands gRPC's to the
server's transport; with ``--listen-client-http-urls`` the gateway gets a URL of its own and
gRPC accepts on the client URL itself. This starts the server
both ways (a subprocess each, so client and server do not share a GIL) and times, from a Python
grpc client in this process:

* ``put`` and ``range``: sequential unary calls on one channel (each waits for the last);
* ``8 threads``: 8 threads on one channel, each alternating Put and Range;
* ``gateway put``: sequential ``POST /v3/kv/put`` on one keep-alive HTTP/1.1 connection
  (the same either way; shown for scale).

Rounds alternate the two servers; the table gives, per row, the median calls/s of each, the
shared rate as a fraction of the direct one, and the server process's CPU time per call
(user + system, from ``/proc/<pid>/stat``; Linux only, else blank). Calls/s move with whatever
else the machine runs; the CPU per call is the steadier measure of what sharing adds.

    python benchmarks/bench_mux.py                   # 3 rounds of 3,000 calls
    python benchmarks/bench_mux.py --calls 300 --rounds 1
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import http.client
import json
import os
import statistics
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any

import grpc

from etcdlite.server._pb import rpc_pb2, rpc_pb2_grpc

_rpc: Any = rpc_pb2_grpc  # the generated module carries no annotations

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

#: Calls per second and the server's CPU microseconds per call.
Rate = tuple[float, float]

#: Bound on the server's start and stop.
PROCESS_TIMEOUT = 20.0

MODES = {
    "shared": ["--listen-client-urls=http://127.0.0.1:0"],
    "direct": [
        "--listen-client-urls=http://127.0.0.1:0",
        "--listen-client-http-urls=http://127.0.0.1:0",
    ],
}


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (NaN where /proc is missing)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def server(mode: str) -> Iterator[tuple[str, str, int]]:
    """``etcdlite serve`` in ``mode``: its gRPC address, its gateway address and its pid."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "etcdlite", "serve", *MODES[mode]],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        urls = []
        for _ in MODES[mode]:
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError(
                    f"etcdlite serve exited: {proc.stderr.read() if proc.stderr else ''}"
                )
            urls.append(line.split(" on http://", 1)[1].split()[0])
        yield urls[0], urls[-1], proc.pid
    finally:
        proc.terminate()
        try:
            proc.communicate(timeout=PROCESS_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate(timeout=PROCESS_TIMEOUT)


def measure(grpc_address: str, http_address: str, pid: int, calls: int) -> dict[str, Rate]:
    """Calls/s and server CPU microseconds per call of each row against one server."""
    rates: dict[str, Rate] = {}

    def _timed(n: int, fn: Callable[[], Any]) -> Rate:
        cpu = cpu_seconds(pid)
        start = time.perf_counter()
        fn()
        elapsed = time.perf_counter() - start
        return n / elapsed, (cpu_seconds(pid) - cpu) / n * 1e6

    with grpc.insecure_channel(grpc_address) as channel:
        kv = _rpc.KVStub(channel)
        put = rpc_pb2.PutRequest(key=b"/bench/key", value=b"x" * 100)
        get = rpc_pb2.RangeRequest(key=b"/bench/key")
        for _ in range(50):  # warm the channel up
            kv.Put(put, timeout=10)

        def puts() -> None:
            for _ in range(calls):
                kv.Put(put, timeout=10)

        def ranges() -> None:
            for _ in range(calls):
                kv.Range(get, timeout=10)

        def mixed(k: int) -> None:
            for i in range(k):
                if i % 2:
                    kv.Range(get, timeout=10)
                else:
                    kv.Put(put, timeout=10)

        def threads() -> None:
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                for f in [pool.submit(mixed, calls // 8) for _ in range(8)]:
                    f.result()

        rates["put"] = _timed(calls, puts)
        rates["range"] = _timed(calls, ranges)
        rates["8 threads put+range"] = _timed(calls // 8 * 8, threads)

    host, port = http_address.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    body = json.dumps({"key": "L2JlbmNoL2tleQ==", "value": "eHh4"})

    def gateway_puts() -> None:
        for _ in range(calls):
            conn.request("POST", "/v3/kv/put", body=body)
            response = conn.getresponse()
            response.read()
            assert response.status == 200

    try:
        rates["gateway put (HTTP/1.1)"] = _timed(calls, gateway_puts)
    finally:
        conn.close()
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=3000, help="calls per row (3,000)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per mode (3)")
    args = parser.parse_args()
    results: dict[str, dict[str, list[Rate]]] = {mode: {} for mode in MODES}
    for r in range(args.rounds):
        order = list(MODES) if r % 2 == 0 else list(reversed(MODES))
        for mode in order:
            with server(mode) as (grpc_address, http_address, pid):
                for row, rate in measure(grpc_address, http_address, pid, args.calls).items():
                    results[mode].setdefault(row, []).append(rate)
            print(f"round {r + 1}/{args.rounds}: {mode} done", file=sys.stderr)
    print(
        f"{'row':<24}{'shared/s':>11}{'direct/s':>11}{'ratio':>7}"
        f"{'shared cpu us':>16}{'direct cpu us':>15}{'extra us':>10}"
    )
    for row in results["direct"]:
        shared = statistics.median(r[0] for r in results["shared"][row])
        direct = statistics.median(r[0] for r in results["direct"][row])
        shared_cpu = statistics.median(r[1] for r in results["shared"][row])
        direct_cpu = statistics.median(r[1] for r in results["direct"][row])
        print(
            f"{row:<24}{shared:>11,.0f}{direct:>11,.0f}{shared / direct:>7.2f}"
            f"{shared_cpu:>16,.0f}{direct_cpu:>15,.0f}{shared_cpu - direct_cpu:>10,.0f}"
        )


if __name__ == "__main__":
    main()
