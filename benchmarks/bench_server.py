"""The server benchmark: ``etcdlite serve`` beside real etcd 3.4 and a bare Python gRPC echo server.

Run it from the repository root (the ``grpc`` extra installed, etcd 3.4, ``etcdctl`` and
``h2load`` from Debian's ``nghttp2-client`` on the PATH)::

    python benchmarks/bench_server.py --check-perf   # the documented run: 6 to 7 minutes
    python benchmarks/bench_server.py                # without `etcdctl check perf`: 4 to 5 min
    python benchmarks/bench_server.py --rounds 1 --calls 40 --threads 2 \\
        --h2load-requests 0 --watch-events 10        # a smoke run (what the test runs)

One run starts three servers, each in its own process so that no client shares a GIL with a
server: ``python -m etcdlite serve`` (``--serve-arg=...`` adds arguments; the first
``http://`` URL it prints is the gRPC endpoint), real etcd with its data dir on tmpfs
(``/dev/shm``), and a bare grpcio echo server (this script with ``--echo-server``: grpcio's
asyncio server, the faster of grpcio's two servers and the one etcdlite's ``Server`` runs,
with ``async`` handlers that take and return bytes, answering ``KV/Put`` and ``KV/Range`` with
fixed pre-serialized responses of the same size etcd sends, and a ``Watch`` that streams each
put as an event: the ceiling any Python gRPC server reaches here). Then,
for each of ``--rounds`` rounds, every load runs against every server in turn (the order rotates
from round to round, so drift hits all alike):

* **python**: etcdlite's generated stubs; ``Put`` of one 100-byte value, ``Range`` of one key,
  ``Range`` of 100 keys (with values); sequentially on one channel, and from ``--threads``
  threads with a channel each; calls/s and p50/p99 latency.
* **h2load**: a native HTTP/2 load generator POSTing pre-framed gRPC requests (the 5-byte
  length prefix and the serialized request, ``content-type: application/grpc``, ``te:
  trailers``) over ``-c`` connections with ``-m`` streams each; requests/s. Every put is
  checked afterwards (the revision grew by the number of requests). Without ``h2load`` on the
  PATH these rows are skipped and the report says so.
* **watch**: one channel watches a key, another puts it with ``perf_counter_ns()`` as the value,
  one put at a time; the put->event latency the watcher sees.
* **check perf** (``--check-perf``): ``etcdctl check perf --load=m`` (60 s per server).

Numbers are medians over the rounds and a ratio is the median of the per-round ratios. Targets:
native loads reach >= 0.8x of the echo server in the same run (put and 1-key range; the
100-key range is reported); Python clients see >= 0.9x of etcd's throughput and <= 1.2x of its
put->event p50; ``check perf --load=m`` passes. Every load is bounded by a count and by
``--seconds``; every process started is stopped in a ``finally``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import platform
import queue
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc
import grpc.aio

from etcdlite.server._pb import kv_pb2, rpc_pb2, rpc_pb2_grpc

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterator, Sequence

# The generated stubs carry no annotations.
_rpc: Any = rpc_pb2_grpc

VALUE = b"v" * 100
PUT = rpc_pb2.PutRequest(key=b"bench/put", value=VALUE)
RANGE_1 = rpc_pb2.RangeRequest(key=b"bench/range/000")
RANGE_100 = rpc_pb2.RangeRequest(key=b"bench/range/", range_end=b"bench/range0")
RANGE_KEYS = [b"bench/range/%03d" % i for i in range(100)]
WATCH_KEY = b"bench/watch"
#: (row name, gRPC method, request) for the unary loads.
UNARY = (
    ("put", "Put", PUT),
    ("range 1 key", "Range", RANGE_1),
    ("range 100 keys", "Range", RANGE_100),
)
TARGETS = ("etcdlite", "etcd", "echo")
#: How long a server may take to start answering.
START_TIMEOUT = 20.0
STOP_TIMEOUT = 5.0

# ----------------------------------------------------------------------------- the echo server


ECHO_HEADER = rpc_pb2.ResponseHeader(cluster_id=1, member_id=2, revision=200, raft_term=2)


def echo_responses() -> dict[str, dict[bytes, bytes]]:
    """Per method: serialized request -> the serialized response etcd would send to it."""
    header = ECHO_HEADER
    kvs = [
        {"key": k, "value": VALUE, "create_revision": 2 + i, "mod_revision": 2 + i, "version": 1}
        for i, k in enumerate(RANGE_KEYS)
    ]
    one = rpc_pb2.RangeResponse(header=header, kvs=kvs[:1], count=1)
    hundred = rpc_pb2.RangeResponse(header=header, kvs=kvs, count=100)
    return {
        "Put": {PUT.SerializeToString(): rpc_pb2.PutResponse(header=header).SerializeToString()},
        "Range": {
            RANGE_1.SerializeToString(): one.SerializeToString(),
            RANGE_100.SerializeToString(): hundred.SerializeToString(),
        },
    }


class EchoWatch:
    """The echo's ``Watch``: each put's key and value go to every open stream as one event."""

    def __init__(self) -> None:
        self._queues: list[asyncio.Queue[bytes]] = []

    def publish(self, put_request: bytes) -> None:
        """Send a serialized PutRequest to the open streams."""
        for q in self._queues:
            q.put_nowait(put_request)

    async def watch(
        self, requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext[bytes, bytes]
    ) -> AsyncIterator[bytes]:
        """The stream: a created response, then an event per put until the call ends."""
        await anext(requests, None)  # the create request
        q: asyncio.Queue[bytes] = asyncio.Queue()
        self._queues.append(q)
        try:
            yield rpc_pb2.WatchResponse(header=ECHO_HEADER, created=True).SerializeToString()
            while True:
                put = rpc_pb2.PutRequest.FromString(await q.get())
                kv = kv_pb2.KeyValue(key=put.key, value=put.value, mod_revision=200, version=1)
                event = kv_pb2.Event(type=kv_pb2.Event.PUT, kv=kv)
                yield rpc_pb2.WatchResponse(header=ECHO_HEADER, events=[event]).SerializeToString()
        finally:
            self._queues.remove(q)


def run_echo_server() -> int:
    """Serve the echo on a free loopback port until SIGTERM/SIGINT (``--echo-server``)."""
    return asyncio.run(_echo_server())


async def _echo_server() -> int:
    tables = echo_responses()
    watch = EchoWatch()

    def handler(method: str) -> grpc.RpcMethodHandler[bytes, bytes]:
        table = tables[method]
        default = next(iter(table.values()))
        if method == "Put":

            async def put(request: bytes, context: object) -> bytes:
                watch.publish(request)
                return table.get(request, default)

            return grpc.unary_unary_rpc_method_handler(put)

        async def answer(request: bytes, context: object) -> bytes:
            return table.get(request, default)

        return grpc.unary_unary_rpc_method_handler(answer)

    server = grpc.aio.server()
    kv = {m: handler(m) for m in tables}
    streams: dict[str, grpc.RpcMethodHandler[bytes, bytes]] = {
        "Watch": grpc.stream_stream_rpc_method_handler(watch.watch)
    }
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler("etcdserverpb.KV", kv),
            grpc.method_handlers_generic_handler("etcdserverpb.Watch", streams),
        )
    )
    port = server.add_insecure_port("127.0.0.1:0")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    await server.start()
    try:
        print(f"echo: serving on http://127.0.0.1:{port}", flush=True)
        await stop.wait()
    finally:
        await server.stop(1.0)
    return 0


# ----------------------------------------------------------------------------- the servers


@dataclass
class Running:
    """A started server: its gRPC address and its process."""

    name: str
    address: str
    proc: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=STOP_TIMEOUT)


@contextlib.contextmanager
def _printing_server(name: str, argv: Sequence[str]) -> Iterator[Running]:
    """Start ``argv``, wait (bounded) for the first ``http://host:port`` it prints, stop it after."""
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    running = Running(name, "", proc)
    found = threading.Event()

    def drain() -> None:  # reads until the process exits, so it never blocks on a full pipe
        assert proc.stdout is not None
        for line in proc.stdout:
            running.output.append(line)
            m = re.search(r"http://([\w.\-]+:\d+)", line)
            if m and not found.is_set():
                running.address = m[1]
                found.set()
        found.set()

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        if not found.wait(START_TIMEOUT) or not running.address:
            raise RuntimeError(f"{name} did not start:\n{''.join(running.output[-20:])}")
        yield running
    finally:
        _stop(proc)
        reader.join(STOP_TIMEOUT)


@contextlib.contextmanager
def etcdlite_server(serve_args: Sequence[str]) -> Iterator[Running]:
    """``python -m etcdlite serve`` on a free loopback port."""
    argv = [sys.executable, "-m", "etcdlite", "serve"]
    argv += ["--listen-client-urls", "http://127.0.0.1:0", *serve_args]
    with _printing_server("etcdlite", argv) as running:
        yield running


@contextlib.contextmanager
def echo_server() -> Iterator[Running]:
    """This script's ``--echo-server`` mode in a subprocess."""
    with _printing_server("echo", [sys.executable, __file__, "--echo-server"]) as running:
        yield running


@contextlib.contextmanager
def etcd_server(binary: str) -> Iterator[Running]:
    """A single-member etcd on free loopback ports, its data dir on tmpfs when there is one."""
    shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
    with tempfile.TemporaryDirectory(prefix="etcdlite-bench-", dir=shm) as tmp:
        client, peer = f"127.0.0.1:{_free_port()}", f"http://127.0.0.1:{_free_port()}"
        argv = [
            binary,
            "--name=bench",
            f"--data-dir={tmp}/data",
            f"--listen-client-urls=http://{client}",
            f"--advertise-client-urls=http://{client}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=bench={peer}",
            "--heartbeat-interval=10",
            "--election-timeout=100",
        ]
        with open(f"{tmp}/etcd.log", "w") as log:
            proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, text=True
            )
        try:
            running = Running("etcd", client, proc)
            deadline = time.monotonic() + START_TIMEOUT
            while proc.poll() is None and time.monotonic() < deadline:
                if _revision(client, timeout=0.5) is not None:
                    break
                time.sleep(0.02)
            else:
                raise RuntimeError(f"etcd did not start:\n{Path(tmp, 'etcd.log').read_text()}")
            yield running
        finally:
            _stop(proc)


def _channel(address: str) -> grpc.Channel:
    """A channel with its own connection (channels otherwise share one per target)."""
    return grpc.insecure_channel(address, options=[("grpc.use_local_subchannel_pool", 1)])


def _revision(address: str, timeout: float = 5.0) -> int | None:
    """The server's current revision, or ``None`` if it does not answer."""
    with _channel(address) as ch:
        try:
            r = _rpc.KVStub(ch).Range(
                rpc_pb2.RangeRequest(key=b"\0", count_only=True), timeout=timeout
            )
        except grpc.RpcError:
            return None
    return int(r.header.revision)


def populate(address: str) -> None:
    """Write the keys the range loads read."""
    with _channel(address) as ch:
        put = _rpc.KVStub(ch).Put
        for key in RANGE_KEYS:
            put(rpc_pb2.PutRequest(key=key, value=VALUE), timeout=10)


# ----------------------------------------------------------------------------- the loads


@dataclass(frozen=True)
class Sample:
    """One load against one server: throughput, latency where the load measures it, and the
    number of calls the server answered (warm-up included) to share its CPU time among."""

    rate: float
    p50_ms: float | None = None
    p99_ms: float | None = None
    note: str = ""
    calls: int = 0
    #: The server's CPU time per call in microseconds (set by :func:`measure`).
    cpu_us: float | None = None


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time of process ``pid`` so far (``None`` without ``/proc``)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _percentile(ns: list[int], q: float) -> float:
    ns = sorted(ns)
    return ns[min(len(ns) - 1, int(q * len(ns)))] / 1e6


def python_load(
    address: str, method: str, request: Any, calls: int, threads: int, seconds: float
) -> Sample:
    """``calls`` unary calls from ``threads`` threads (a channel each), stopped after ``seconds``."""
    per_thread = max(1, calls // threads)
    latencies: list[list[int]] = [[] for _ in range(threads)]
    channels = [_channel(address) for _ in range(threads)]
    try:
        stubs = [getattr(_rpc.KVStub(ch), method) for ch in channels]
        for stub in stubs:  # connect and warm up outside the timed region
            for _ in range(20):
                stub(request, timeout=10)
        start = threading.Barrier(threads + 1)
        deadline = time.monotonic() + seconds + 5.0

        def work(i: int) -> None:
            call, out, clock = stubs[i], latencies[i], time.perf_counter_ns
            start.wait(timeout=30)
            stop_at = time.monotonic() + seconds
            for n in range(per_thread):
                t0 = clock()
                call(request, timeout=10)
                out.append(clock() - t0)
                if n % 64 == 63 and time.monotonic() > stop_at:
                    return

        workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
        for w in workers:
            w.start()
        start.wait(timeout=30)
        t0 = time.perf_counter()
        for w in workers:
            w.join(max(0.0, deadline - time.monotonic()))
        elapsed = time.perf_counter() - t0
        if any(w.is_alive() for w in workers):
            raise RuntimeError("a load thread did not finish in time")
    finally:
        for ch in channels:
            ch.close()
    done = [x for lat in latencies for x in lat]
    p50, p99 = _percentile(done, 0.5), _percentile(done, 0.99)
    return Sample(len(done) / elapsed, p50, p99, calls=len(done) + 20 * threads)


def h2load_path() -> str | None:
    """The h2load binary, if installed."""
    return shutil.which("h2load")


def h2load_load(
    h2load: str,
    address: str,
    method: str,
    request: Any,
    n: int,
    shape: tuple[int, int],
    seconds: float,
    count_puts: bool,
) -> Sample:
    """``h2load -n n -c conns -m streams`` POSTing ``request`` as one framed gRPC message.

    With ``count_puts``, the server's revision must grow by ``n`` (every put was applied).
    """
    conns, streams = shape
    body = request.SerializeToString()
    before = _revision(address) if count_puts else None
    with tempfile.NamedTemporaryFile(prefix="etcdlite-bench-", suffix=".grpc") as f:
        f.write(b"\0" + len(body).to_bytes(4, "big") + body)
        f.flush()
        argv = [
            h2load, "-n", str(n), "-c", str(conns), "-m", str(streams), "-d", f.name,
            "-H", "content-type: application/grpc", "-H", "te: trailers",
            f"http://{address}/etcdserverpb.KV/{method}",
        ]  # fmt: skip
        done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds, check=False)
    m = re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", done.stdout)
    ok = re.search(r"requests: .* (\d+) succeeded", done.stdout)
    if done.returncode != 0 or m is None or ok is None or int(ok[1]) != n:
        raise RuntimeError(f"h2load failed against {address}:\n{done.stdout}{done.stderr}")
    if before is not None:
        applied = (_revision(address) or 0) - before
        if applied != n:
            raise RuntimeError(f"{address}: {applied} of {n} puts applied")
    return Sample(float(m[1]), calls=n)


def watch_load(address: str, events: int, seconds: float) -> Sample:
    """put->event latency: one put at a time, its value the time it was sent."""
    watch_ch, put_ch = _channel(address), _channel(address)
    got: queue.Queue[tuple[int, int]] = queue.Queue()
    done = threading.Event()

    def requests() -> Iterator[Any]:
        yield rpc_pb2.WatchRequest(create_request=rpc_pb2.WatchCreateRequest(key=WATCH_KEY))
        done.wait(seconds + 30)

    responses = _rpc.WatchStub(watch_ch).Watch(requests())

    def read() -> None:
        clock = time.perf_counter_ns
        try:
            for r in responses:
                t = clock()
                for ev in r.events:
                    got.put((t, int(ev.kv.value)))
        except grpc.RpcError:
            pass  # cancelled at the end

    reader = threading.Thread(target=read, daemon=True)
    latencies: list[int] = []
    try:
        first = next(responses)
        if not first.created:
            raise RuntimeError(f"watch not created: {first}")
        reader.start()
        put = _rpc.KVStub(put_ch).Put
        stop_at = time.monotonic() + seconds
        for i in range(events + 20):
            if time.monotonic() > stop_at:
                break
            sent = time.perf_counter_ns()
            put(rpc_pb2.PutRequest(key=WATCH_KEY, value=str(sent).encode()), timeout=10)
            t, value = got.get(timeout=10)
            if value != sent:
                raise RuntimeError("events arrived out of order")
            if i >= 20:  # the first 20 warm up
                latencies.append(t - sent)
    finally:
        done.set()
        responses.cancel()
        reader.join(STOP_TIMEOUT)
        watch_ch.close()
        put_ch.close()
    p50, p99 = _percentile(latencies, 0.5), _percentile(latencies, 0.99)
    return Sample(len(latencies) / (sum(latencies) / 1e9), p50, p99, calls=len(latencies) + 20)


def check_perf(etcdctl: str, address: str) -> Sample:
    """``etcdctl check perf --load=m``: writes/s, and PASS or FAIL in ``note``."""
    done = subprocess.run(
        [etcdctl, f"--endpoints={address}", "check", "perf", "--load=m"],
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "ETCDCTL_API": "3"},
        check=False,
    )
    text = done.stdout + done.stderr
    m = re.search(r"Throughput (?:is|too low:) (\d+) writes/s", text)
    if m is None:
        raise RuntimeError(f"etcdctl check perf failed against {address}:\n{text}")
    passed = done.returncode == 0 and re.search(r"^PASS\s*$", text, re.MULTILINE)
    slowest = re.search(r"Slowest request took (?:too long: )?([\d.]+)s", text)
    verdict = ("PASS" if passed else "FAIL") + (
        f", slowest {float(slowest[1]):.2f} s" if slowest else ""
    )
    return Sample(float(m[1]), note=verdict)


# ----------------------------------------------------------------------------- the run


@dataclass(frozen=True)
class Row:
    """One row of the table: a load, the servers it runs against, and its target."""

    name: str
    run: Callable[[Running], Sample]
    servers: tuple[str, ...]
    #: (numerator, denominator) servers of the ratio.
    compare: tuple[str, str]
    #: ">= 0.9x", "<= 1.2x", or "" for a row that is only reported.
    target: str
    #: The ratio is of p50 latency, not of throughput.
    by_latency: bool = False


def build_rows(args: argparse.Namespace, notes: list[str]) -> list[Row]:
    """The loads of this run, in table order; why a load is left out goes to ``notes``."""
    rows: list[Row] = []
    for label, method, request in UNARY:
        for threads in (1, args.threads):
            clients = "sequential" if threads == 1 else f"{threads} threads"
            calls = args.calls if threads == 1 else 2 * args.calls

            def run(
                server: Running, m: str = method, r: Any = request, t: int = threads, c: int = calls
            ) -> Sample:
                return python_load(server.address, m, r, c, t, args.seconds)

            name = f"python {label}, {clients}"
            rows.append(Row(name, run, TARGETS, ("etcdlite", "etcd"), ">= 0.9x"))
    h2load = h2load_path()
    if args.h2load_requests > 0 and h2load is None:
        notes.append("h2load is not installed (apt-get install nghttp2-client): no h2load rows")
        print(notes[-1], file=sys.stderr)
    elif args.h2load_requests > 0:
        assert h2load is not None
        shape = (args.h2load_clients, args.h2load_streams)
        for label, method, request in UNARY:

            def run_h2(
                server: Running, m: str = method, r: Any = request, h: str = h2load
            ) -> Sample:
                count_puts = m == "Put" and server.name != "echo"
                n, limit = args.h2load_requests, args.seconds * 10
                return h2load_load(h, server.address, m, r, n, shape, limit, count_puts)

            name = f"h2load {label}, -c {shape[0]} -m {shape[1]}"
            target = "" if request is RANGE_100 else ">= 0.8x"
            rows.append(Row(name, run_h2, TARGETS, ("etcdlite", "echo"), target))
    if args.watch_events > 0:

        def run_watch(server: Running) -> Sample:
            return watch_load(server.address, args.watch_events, args.seconds)

        both = ("etcdlite", "etcd")
        rows.append(Row("watch put->event, python", run_watch, TARGETS, both, "<= 1.2x", True))
    return rows


Results = dict[str, dict[str, list[Sample]]]


def measure(rows: list[Row], servers: dict[str, Running], rounds: int, budget: float) -> Results:
    """Every row against each of its servers, ``rounds`` times; the order rotates per round."""
    results: Results = {row.name: {s: [] for s in row.servers} for row in rows}
    stop_at = time.monotonic() + budget
    for i in range(rounds):
        if i and time.monotonic() > stop_at:
            print(f"budget spent after {i} rounds", file=sys.stderr)
            break
        for row in rows:
            k = len(row.servers)
            for name in (row.servers[(i + j) % k] for j in range(k)):
                pid = servers[name].proc.pid
                before = cpu_seconds(pid)
                sample = row.run(servers[name])
                after = cpu_seconds(pid)
                if before is not None and after is not None and sample.calls:
                    cpu_us = (after - before) / sample.calls * 1e6
                    sample = dataclasses.replace(sample, cpu_us=cpu_us)
                results[row.name][name].append(sample)
                print(f"round {i + 1}: {row.name}: {name} {sample.rate:,.0f}/s", file=sys.stderr)
    return results


def _cell(samples: list[Sample], by_latency: bool) -> str:
    if not samples:
        return "-"
    p50 = [s.p50_ms for s in samples if s.p50_ms is not None]
    p99 = [s.p99_ms for s in samples if s.p99_ms is not None]
    rate = "" if by_latency else f"{statistics.median(s.rate for s in samples):,.0f}/s"
    if p50 and p99:
        rate += f" ({statistics.median(p50):.2f}/{statistics.median(p99):.2f})"
    return rate.strip()


def _ratio(row: Row, got: dict[str, list[Sample]]) -> float:
    top, bottom = (got[s] for s in row.compare)
    if row.by_latency:
        pairs = [(a.p50_ms or 0.0, b.p50_ms or 1.0) for a, b in zip(top, bottom, strict=False)]
    else:
        pairs = [(a.rate, b.rate) for a, b in zip(top, bottom, strict=False)]
    return statistics.median(a / b for a, b in pairs)


def _meets(target: str, ratio: float) -> bool:
    op, value = target.split()
    bound = float(value.rstrip("x"))
    return ratio >= bound if op == ">=" else ratio <= bound


def report(rows: list[Row], results: Results, perf: dict[str, Sample]) -> list[str]:
    """The table: one line per row, then the check perf line."""
    lines = []
    head = ("load", *TARGETS, "ratio", "target", "result")
    table: list[tuple[str, ...]] = []
    passed = missed = 0
    for row in rows:
        got = results[row.name]
        ratio = _ratio(row, got)
        of = f"{ratio:.2f}x {row.compare[1]}" + (" p50" if row.by_latency else "")
        if row.target:
            ok = _meets(row.target, ratio)
            passed, missed = passed + ok, missed + (not ok)
            result = "PASS" if ok else "MISS"
        else:
            result = "report"
        cells = (_cell(got.get(t, []), row.by_latency) for t in TARGETS)
        table.append((row.name, *cells, of, row.target or "-", result))
    if perf:
        ok = perf["etcdlite"].note.startswith("PASS")
        passed, missed = passed + ok, missed + (not ok)
        ratio = perf["etcdlite"].rate / perf["etcd"].rate
        cells = (f"{perf[t].rate:,.0f}/s {perf[t].note}" if t in perf else "-" for t in TARGETS)
        verdict = "PASS" if ok else "MISS"
        table.append(("etcdctl check perf --load=m", *cells, f"{ratio:.2f}x etcd", "PASS", verdict))
    widths = [max(len(r[i]) for r in (head, *table)) for i in range(len(head))]
    fmt = "  ".join(f"{{:<{w}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths))
    lines.append(fmt.format(*head))
    lines.append("  ".join("-" * w for w in widths))
    lines += [fmt.format(*r) for r in table]
    lines.append("")
    lines.append(
        "cells: median calls/s over the rounds (median p50/p99 latency in ms); watch: p50/p99"
    )
    lines.append("ratio: median of the per-round ratios, etcdlite to the server named")
    lines.append(f"targets: {passed} PASS, {missed} MISS")
    lines.append("")
    return lines + cpu_table(rows, results)


def cpu_table(rows: list[Row], results: Results) -> list[str]:
    """Server CPU time per call (us, median over the rounds): steadier than throughput on a
    shared machine, and etcdlite minus echo is what etcdlite adds to a bare grpcio server."""
    head = ("server CPU per call (us)", *TARGETS, "etcdlite - echo")
    table: list[tuple[str, ...]] = []
    for row in rows:
        med: dict[str, float] = {}
        for t in TARGETS:
            cpu = [s.cpu_us for s in results[row.name].get(t, []) if s.cpu_us is not None]
            if cpu:
                med[t] = statistics.median(cpu)
        if not med:
            continue
        cells = (f"{med[t]:,.0f}" if t in med else "-" for t in TARGETS)
        extra = (
            f"{med['etcdlite'] - med['echo']:+,.0f}" if {"etcdlite", "echo"} <= set(med) else "-"
        )
        table.append((row.name, *cells, extra))
    if not table:
        return []
    widths = [max(len(r[i]) for r in (head, *table)) for i in range(len(head))]
    fmt = "  ".join(f"{{:<{w}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths))
    return [fmt.format(*head), "  ".join("-" * w for w in widths), *(fmt.format(*r) for r in table)]


def _version(argv: Sequence[str], pattern: str) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False).stdout
    except OSError:
        return "?"
    m = re.search(pattern, out)
    return m[1] if m else "?"


def describe(args: argparse.Namespace, etcd: str, load_before: str) -> list[str]:
    """When, on what, with which versions and command the run was made."""
    import etcdlite

    root = Path(etcdlite.__file__).resolve().parents[1]
    commit = _version(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], r"(\S+)")
    changed = _version(["git", "-C", str(root), "status", "--porcelain", "etcdlite"], r"(\S+)")
    if changed != "?":
        commit += " with uncommitted changes to etcdlite/"
    cpu = _version(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo"], r": (.*)")
    h2load = _version(["h2load", "--version"], r"nghttp2/(\S+)") if h2load_path() else "absent"
    etcd_version = _version([etcd, "--version"], r"etcd Version: (\S+)")
    machine = f"{platform.system()} {platform.release()} {platform.machine()}, {cpu}"
    return [
        f"date:     {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"python:   {platform.python_implementation()} {platform.python_version()}",
        f"machine:  {machine}, {os.cpu_count()} CPUs, load avg {load_before}",
        (
            f"versions: etcdlite {etcdlite.__version__} (git {commit}, {root}), "
            f"grpcio {grpc.__version__}, etcd {etcd_version}, h2load {h2load}"
        ),
        f"command:  python {' '.join(sys.argv)}",
        (
            f"method:   {args.rounds} rounds, server order rotating; python: {args.calls:,} "
            f"calls sequential, {2 * args.calls:,} from {args.threads} threads (a channel "
            f"each); h2load: {args.h2load_requests:,} requests; watch: {args.watch_events:,} "
            f"puts; <= {args.seconds:g} s per load"
        ),
        "",
    ]


def _loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--echo-server", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--rounds", type=int, default=3, help="rounds of every load (3)")
    p.add_argument(
        "--calls", type=int, default=2000, help="python calls per load (2,000; x2 threaded)"
    )
    p.add_argument("--threads", type=int, default=8, help="threads of the threaded loads (8)")
    p.add_argument("--seconds", type=float, default=10.0, help="time bound per load (10)")
    p.add_argument("--h2load-requests", type=int, default=20000, help="per h2load run; 0: none")
    p.add_argument("--h2load-clients", type=int, default=8, help="h2load connections (8)")
    p.add_argument("--h2load-streams", type=int, default=16, help="streams per connection (16)")
    p.add_argument("--watch-events", type=int, default=1000, help="puts watched; 0: no watch row")
    p.add_argument("--check-perf", action="store_true", help="add etcdctl check perf --load=m")
    p.add_argument("--budget", type=float, default=900, help="no round starts after (900 s)")
    p.add_argument("--etcd", default=None, help="the etcd binary (default: etcd on PATH)")
    p.add_argument("--etcdctl", default=None, help="the etcdctl binary (default: on PATH)")
    p.add_argument(
        "--serve-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="one more argument to `etcdlite serve` (repeatable), e.g. --serve-arg=--name=x",
    )
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the table; 0 if it ran (targets met or not)."""
    args = parse_args(argv)
    if args.echo_server:
        return run_echo_server()
    etcd = args.etcd or shutil.which("etcd")
    etcdctl = args.etcdctl or shutil.which("etcdctl")
    if etcd is None or (args.check_perf and etcdctl is None):
        print("needs etcd 3.4 and etcdctl (Debian: etcd-server, etcd-client)", file=sys.stderr)
        return 2
    started = time.monotonic()
    header = describe(args, etcd, _loadavg())
    notes: list[str] = []
    rows = build_rows(args, notes)
    perf: dict[str, Sample] = {}
    with contextlib.ExitStack() as stack:
        servers = {
            "etcdlite": stack.enter_context(etcdlite_server(args.serve_arg)),
            "etcd": stack.enter_context(etcd_server(etcd)),
            "echo": stack.enter_context(echo_server()),
        }
        for name in ("etcdlite", "etcd"):
            populate(servers[name].address)
        results = measure(rows, servers, args.rounds, args.budget)
        if args.check_perf:
            assert etcdctl is not None
            for name in ("etcdlite", "etcd"):
                perf[name] = check_perf(etcdctl, servers[name].address)
                print(
                    f"check perf: {name} {perf[name].rate:,.0f}/s {perf[name].note}",
                    file=sys.stderr,
                )
    print("\n".join([*header, *report(rows, results, perf), *notes]))
    print(f"load avg after: {_loadavg()}")
    print(f"run time: {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
