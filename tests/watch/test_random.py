"""Random histories: writes, txns, compactions, watches, cancels, reads, progress and ticks.

A Hypothesis state machine drives one store (with tiny queues, batches and fragment limits, so
every slow-consumer, batching and fragment path is reached) and records every write on the
validator's replay. After each step the store's invariants are checked; at the end every watch
is read to its end (after a progress request, which must come back at the final revision for a
watch still running) and :func:`validator.validate` checks the nine rules on all of them.

The default run plays a few hundred histories; ``pytest -m slow tests/watch`` plays thousands.
"""

from __future__ import annotations

from collections import deque

import anyio
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from etcdlite import Compare, Op, Store, Watch, WatchResponse, WatchStream
from etcdlite.errors import DuplicateKeyError
from etcdlite.testing import FakeClock

from .validator import Recorder, WatchLog, WatchSpec, validate

KEYS = [b"a", b"a/1", b"a/2", b"ab", b"b", b"b/1", b"c"]
# (key, range_end) in the Store's keywords, and the etcd form the validator uses.
RANGES = [
    ({"key": b"a"}, (b"a", b"")),
    ({"key": b"a/1"}, (b"a/1", b"")),
    ({"key": b"a/", "prefix": True}, (b"a/", b"a0")),
    ({"key": b"a", "prefix": True}, (b"a", b"b")),
    ({"key": b"a/2", "range_end": b"b/1"}, (b"a/2", b"b/1")),
    ({"key": b"b", "from_key": True}, (b"b", b"\0")),
    ({"key": b"", "prefix": True}, (b"\0", b"\0")),
]

keys = st.sampled_from(KEYS)
values = st.sampled_from([b"", b"x", b"y" * 40, b"z" * 100])
write_ops = st.one_of(
    st.builds(lambda k, v: Op.put(k, v), keys, values),
    st.builds(lambda k: Op.delete(k), keys),
    st.builds(lambda k: Op.delete(k, prefix=True), st.sampled_from([b"a", b"b"])),
)


class Reader:
    """One Watch or WatchStream and the logs of its watches, fed as its responses are read."""

    def __init__(self, source: Watch | WatchStream) -> None:
        self.source = source
        self.awaiting: deque[WatchLog] = deque()  # created, answer not read yet
        self.open: dict[int, WatchLog] = {}
        self.logs: list[WatchLog] = []
        self.ended = False

    def add(self, spec: WatchSpec) -> None:
        log = WatchLog(spec)
        self.logs.append(log)
        self.awaiting.append(log)

    def route(self, r: WatchResponse) -> None:
        if r.created:
            log = self.awaiting.popleft()
            log.responses.append(r)
            if not r.canceled:
                self.open[r.watch_id] = log
        elif r.watch_id == -1:
            for log in self.open.values():
                log.responses.append(r)
        else:
            log = self.open[r.watch_id]
            log.responses.append(r)
            if r.canceled:
                del self.open[r.watch_id]

    def read(self, n: int) -> list[WatchResponse]:
        got = []
        for _ in range(n):
            try:
                r = self.source.receive_nowait()
            except anyio.WouldBlock:
                break
            except anyio.EndOfStream:
                self.ended = True
                break
            self.route(r)
            got.append(r)
        return got


class WatchMachine(RuleBasedStateMachine):
    """Random operations on one store, with every watch recorded for the validator."""

    @initialize(
        queue=st.sampled_from([1, 2, 3, 128]),
        batch=st.sampled_from([1, 2, 1000]),
        fragment=st.sampled_from([60, 250, 1 << 20]),
    )
    def setup(self, queue: int, batch: int, fragment: int) -> None:
        self.clock = FakeClock()
        self.store = Store(
            clock=self.clock,
            watch_progress_interval=10,
            watch_queue_size=queue,
            watch_batch_revisions=batch,
            watch_fragment_bytes=fragment,
        )
        self.rec = Recorder(self.store)
        self.readers: list[Reader] = []
        self.stream = Reader(self.store.watch_stream())
        self.readers.append(self.stream)

    # -- writes -----------------------------------------------------------------------------

    @rule(ops=st.lists(write_ops, min_size=1, max_size=4))
    def write(self, ops: list[Op]) -> None:
        for op in ops:
            self.rec.do(op)  # type: ignore[arg-type]

    @rule(
        key=keys,
        version=st.integers(0, 3),
        success=st.lists(write_ops, max_size=4),
        failure=st.lists(write_ops, max_size=2),
    )
    def txn(self, key: bytes, version: int, success: list[Op], failure: list[Op]) -> None:
        req = Op.txn([Compare.version(key) == version], success, failure)  # type: ignore[arg-type]
        try:
            self.rec.do(req)
        except DuplicateKeyError:  # etcd's duplicate-key rule: refused, nothing recorded
            pass

    @precondition(lambda self: self.store.revision > max(self.store.compact_revision, 1))
    @rule(data=st.data())
    def compact(self, data: st.DataObject) -> None:
        rev = data.draw(st.integers(self.store.compact_revision + 1, self.store.revision))
        self.rec.compact(rev)

    # -- watches ----------------------------------------------------------------------------

    @rule(
        where=st.sampled_from(RANGES),
        start=st.integers(-1, 4),
        prev_kv=st.booleans(),
        filt=st.sampled_from([(), ("noput",), ("nodelete",)]),
        progress=st.booleans(),
        fragment=st.booleans(),
        on_stream=st.booleans(),
    )
    def watch(
        self,
        where: tuple[dict[str, object], tuple[bytes, bytes]],
        start: int,
        prev_kv: bool,
        filt: tuple[str, ...],
        progress: bool,
        fragment: bool,
        on_stream: bool,
    ) -> None:
        # start: -1 before the compaction, 0 "now", else an offset from the current revision
        # (1 = the next revision, 2+ = the future) or back into the past.
        current = self.store.revision
        if start == -1:
            start_rev = max(self.store.compact_revision - 1, 0) or 1
        elif start == 0:
            start_rev = 0
        elif start == 4:
            start_rev = max(current - 3, 1)
        else:
            start_rev = current + start - 1 if start > 1 else max(self.store.compact_revision, 1)
        kwargs, (key, end) = where
        spec = WatchSpec(key, end, start_rev, prev_kv, "noput" in filt, "nodelete" in filt)
        opts = {
            "start_revision": start_rev,
            "prev_kv": prev_kv,
            "filters": filt,
            "progress_notify": progress,
            "fragment": fragment,
        }
        if on_stream:
            self.stream.add(spec)
            self.stream.source.create(**kwargs, **opts)  # type: ignore[union-attr,arg-type]
        else:
            reader = Reader(self.store.watch(**kwargs, **opts))  # type: ignore[arg-type]
            reader.add(spec)
            self.readers.append(reader)

    @rule(i=st.integers(0, 50))
    def cancel(self, i: int) -> None:
        reader = self.readers[i % len(self.readers)]
        src = reader.source
        if isinstance(src, Watch):
            src.cancel()
        elif src.watch_ids:
            src.cancel(src.watch_ids[i % len(src.watch_ids)])

    @rule(i=st.integers(0, 50), n=st.integers(1, 6))
    def read(self, i: int, n: int) -> None:
        self.readers[i % len(self.readers)].read(n)

    @rule(i=st.integers(0, 50))
    def request_progress(self, i: int) -> None:
        self.readers[i % len(self.readers)].source.request_progress()

    @rule()
    def tick(self) -> None:
        self.clock.advance(10)

    @invariant()
    def consistent(self) -> None:
        if hasattr(self, "store"):
            self.store._check()

    def teardown(self) -> None:
        if not hasattr(self, "store"):
            return
        final = self.store.revision
        for reader in self.readers:
            if not reader.ended:
                reader.source.request_progress()
            for _ in range(10_000):
                if not reader.read(100):
                    break
            else:
                raise AssertionError("a watch never drained")
            for log in reader.open.values():  # running watches must have caught up
                progress = [r for r in log.responses if r.is_progress_notify]
                assert progress, f"no progress answer for {log.spec}"
                assert progress[-1].header.revision == final, (progress[-1], final)
        self.store._check()
        validate(self.rec.history, [log for r in self.readers for log in r.logs])
        self.store.close()


SUPPRESS = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]


def test_random_histories_pass_the_validator() -> None:
    """A few hundred random histories: every watch passes the nine rules."""
    run_state_machine_as_test(
        WatchMachine,
        settings=settings(
            max_examples=250,
            stateful_step_count=40,
            deadline=None,
            suppress_health_check=SUPPRESS,
        ),
    )


@pytest.mark.slow
def test_thousands_of_random_histories_pass_the_validator() -> None:
    """Thousands of longer random histories (``pytest -m slow``)."""
    run_state_machine_as_test(
        WatchMachine,
        settings=settings(
            max_examples=4000,
            stateful_step_count=60,
            deadline=None,
            suppress_health_check=SUPPRESS,
        ),
    )
