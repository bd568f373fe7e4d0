"""A data directory: restart keeps everything, torn tails are cut, other damage is refused."""

from __future__ import annotations

import random
import shutil
import stat
import subprocess
import sys
import threading
from typing import TYPE_CHECKING

import pytest

from etcdlite import Op, Store
from etcdlite._persist._datadir import RecoveryWarning
from etcdlite._persist._snapshot import SnapshotError
from etcdlite.errors import (
    DataCorruptError,
    DataDirError,
    InvalidAuthTokenError,
    NoSpaceError,
    PermissionDeniedError,
    StoppedError,
)
from etcdlite.testing import FakeClock

from ._workload import play, reference_hashes

if TYPE_CHECKING:
    from pathlib import Path

N = 120
HASHES = reference_hashes(N)


def segments(path: Path) -> list[Path]:
    return sorted(path.glob("*.wal"))


def check_prefix(store: Store) -> None:
    """The store holds exactly the workload's first writes, up to its revision."""
    assert store.hash_kv().hash in HASHES[store.revision]
    store._check()


# -- restart keeps everything -------------------------------------------------------------


@pytest.mark.parametrize("fsync", ["always", "interval", "never"])
@pytest.mark.parametrize("snapshot_count", [5, 100_000])
def test_restart_keeps_every_write(tmp_path: Path, fsync: str, snapshot_count: int) -> None:
    with Store(data_dir=tmp_path, fsync=fsync, snapshot_count=snapshot_count) as store:
        revisions = play(store, N)
        digest = store.hash_kv().hash
        leases = {x.id: store.time_to_live(x.id, keys=True).keys for x in store.leases().leases}
        compacted = store.compact_revision
    assert (tmp_path / "lock").exists()
    assert bool(list(tmp_path.glob("*.snap"))) == (snapshot_count == 5)
    with Store(data_dir=tmp_path, fsync=fsync) as again:
        assert again.revision == revisions[-1]
        assert again.compact_revision == compacted
        assert again.hash_kv().hash == digest
        assert {
            x.id: again.time_to_live(x.id, keys=True).keys for x in again.leases().leases
        } == leases
        again._check()
        # and it goes on from there: the next write is the next revision
        assert again.put("after", "restart").header.revision == revisions[-1] + 1
    with Store(data_dir=tmp_path) as third:
        assert third.get("after").kvs[0].mod_revision == revisions[-1] + 1


def test_data_dir_and_files_are_private(tmp_path: Path) -> None:
    path = tmp_path / "new"
    with Store(data_dir=path, snapshot_count=2) as store:
        for i in range(5):
            store.put("k", str(i))
    assert stat.S_IMODE(path.stat().st_mode) == 0o700
    for f in path.iterdir():
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f


def test_identity_is_the_stored_one(tmp_path: Path) -> None:
    with Store(data_dir=tmp_path, member_id=7, cluster_id=9) as store:
        store.put("k", "v")
    with Store(data_dir=tmp_path, member_id=8) as again:
        assert (again.header.member_id, again.header.cluster_id) == (7, 9)


def test_alarms_survive_restart(tmp_path: Path) -> None:
    with Store(data_dir=tmp_path, member_id=5) as store:
        store.alarm_activate("NOSPACE")
        store.alarm_activate("CORRUPT", member_id=6)
        store.alarm_disarm("CORRUPT", member_id=6)
    with Store(data_dir=tmp_path) as again:
        assert [(a.member_id, a.alarm.name) for a in again.alarm_list().alarms] == [(5, "NOSPACE")]


def test_nospace_alarm_raised_by_the_quota_survives(tmp_path: Path) -> None:
    with (
        Store(data_dir=tmp_path, quota_backend_bytes=400) as store,
        pytest.raises(NoSpaceError, match="database space exceeded"),
    ):
        store.put("k", "v" * 500)
    with Store(data_dir=tmp_path) as again:
        assert [a.alarm.name for a in again.alarm_list().alarms] == ["NOSPACE"]


def test_lease_keeps_its_remaining_ttl_across_a_clean_restart(tmp_path: Path) -> None:
    clock = FakeClock()
    with Store(data_dir=tmp_path, clock=clock) as store:
        lease = store.grant(100).id
        store.put("svc", "a", lease=lease)
        clock.advance(30)
    clock = FakeClock()
    with Store(data_dir=tmp_path, clock=clock) as again:
        assert again.time_to_live(lease).ttl == 70
        clock.advance(71)
        assert again.get("svc").count == 0  # expired on the new clock, keys deleted
    with Store(data_dir=tmp_path) as third:
        assert third.time_to_live(lease).ttl == -1  # the expiry was logged


def test_lease_granted_since_the_last_checkpoint_restarts_with_its_ttl(tmp_path: Path) -> None:
    clock = FakeClock()
    store = Store(data_dir=tmp_path, clock=clock)
    lease = store.grant(100).id
    clock.advance(30)
    store._journal.close()  # type: ignore[union-attr]  # a crash: no checkpoint at close
    store._journal_open = False
    store.close()
    with Store(data_dir=tmp_path, clock=FakeClock()) as again:
        assert again.time_to_live(lease).ttl == 100  # never less than before the crash


def test_second_store_on_a_data_dir_is_refused(tmp_path: Path) -> None:
    with Store(data_dir=tmp_path):
        with pytest.raises(DataDirError, match="in use by another"):
            Store(data_dir=tmp_path)
        code = f"import etcdlite; etcdlite.Store(data_dir={str(tmp_path)!r})"
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
        )
        assert out.returncode != 0
        assert "in use by another store or process" in out.stderr
    with Store(data_dir=tmp_path) as again:  # released on close
        assert again.revision == 1


def test_bad_options(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="fsync must be one of always, interval, never"):
        Store(data_dir=tmp_path, fsync="sometimes")
    with pytest.raises(ValueError, match="snapshot_count must be positive"):
        Store(data_dir=tmp_path, snapshot_count=0)
    (tmp_path / "file").write_text("x")
    with pytest.raises(DataDirError, match="cannot create the data directory"):
        Store(data_dir=tmp_path / "file" / "sub")


def test_closed_store_refuses_calls(tmp_path: Path) -> None:
    store = Store(data_dir=tmp_path)
    store.close()
    with pytest.raises(StoppedError):
        store.put("k", "v")


# -- durability and visibility under fsync="always" ---------------------------------------


def test_watchers_see_each_write_once_in_order_with_concurrent_writers(tmp_path: Path) -> None:
    with Store(data_dir=tmp_path) as store:
        watch = store.watch("w/", prefix=True)
        late = []

        def writer(n: int) -> None:
            for i in range(40):
                store.put(f"w/{n}", str(i))

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        # a watch created while writes are in flight starts after what it could see
        late.append(store.watch("w/", prefix=True, start_revision=2))
        for t in threads:
            t.join(30)
        seen = []
        for resp in watch:
            seen += [e.kv.mod_revision for e in resp.events]
            if len(seen) >= 160:
                break
        assert seen == list(range(2, 162))
        replay = []
        for resp in late[0]:
            replay += [e.kv.mod_revision for e in resp.events]
            if len(replay) >= 160:
                break
        assert replay == list(range(2, 162))


def test_interval_and_never_policies_still_write_before_acknowledging(tmp_path: Path) -> None:
    for policy in ("interval", "never"):
        path = tmp_path / policy
        store = Store(data_dir=path, fsync=policy)
        store.put("k", policy)
        data = b"".join(p.read_bytes() for p in segments(path))
        assert policy.encode() in data  # in the kernel before put returned
        store.close()


# -- torn tails, damage, repair -------------------------------------------------------------


def write_log(path: Path, count: int) -> bytes:
    with Store(data_dir=path) as store:
        play(store, count)
    (seg,) = segments(path)
    return seg.read_bytes()


def frame_ends(data: bytes) -> list[int]:
    ends, off = [], 0
    while off < len(data):
        off += 8 + int.from_bytes(data[off : off + 4], "little")
        ends.append(off)
    return ends


def test_a_torn_tail_at_every_byte_of_the_last_entries_is_cut(tmp_path: Path) -> None:
    good = tmp_path / "good"
    data = write_log(good, 40)
    ends = frame_ends(data)
    for cut in range(ends[-4], len(data)):
        path = tmp_path / f"cut{cut}"
        shutil.copytree(good, path)
        (seg,) = segments(path)
        seg.write_bytes(data[:cut])
        whole = max(e for e in [0, *ends] if e <= cut)
        if cut == whole:
            store = Store(data_dir=path)
        else:
            with pytest.warns(RecoveryWarning, match="torn final entry"):
                store = Store(data_dir=path)
            assert (path / (seg.name + ".broken")).read_bytes() == data[whole:cut]
        with store:
            check_prefix(store)
            assert seg.stat().st_size == whole
            store.put("next", "write")  # appends after the cut, cleanly
        with Store(data_dir=path) as again:
            assert again.get("next").count == 1
        shutil.rmtree(path)


def test_zeros_at_the_tail_are_a_torn_write(tmp_path: Path) -> None:
    data = write_log(tmp_path, 10)
    (seg,) = segments(tmp_path)
    seg.write_bytes(data + bytes(100))
    with pytest.warns(RecoveryWarning), Store(data_dir=tmp_path) as store:
        check_prefix(store)


def flip(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def test_bit_flips_in_the_log_never_read_back_wrong(tmp_path: Path) -> None:
    good = tmp_path / "good"
    data = write_log(good, 60)
    ends = frame_ends(data)
    rng = random.Random(3)
    outcomes = {"refused": 0, "cut": 0}
    for n in range(150):
        bit = rng.randrange(len(data) * 8)
        path = tmp_path / f"flip{n}"
        shutil.copytree(good, path)
        (seg,) = segments(path)
        seg.write_bytes(flip(data, bit))
        in_last = bit // 8 >= ends[-2]
        refused: DataCorruptError | None = None
        try:
            with pytest.warns(RecoveryWarning) if in_last else _no_warning():
                store = Store(data_dir=path)
        except DataCorruptError as exc:
            refused = exc
        if refused is None:
            with store:
                check_prefix(store)  # the last entry's damage reads as a torn write: cut
            outcomes["cut"] += 1
        else:
            assert not in_last
            assert refused.path == str(seg)
            assert 0 <= refused.offset < len(data)
            assert f"offset {refused.offset}" in str(refused)
            assert "repair=True" in str(refused)
            outcomes["refused"] += 1
            with pytest.warns(RecoveryWarning, match="repair dropped"):
                repaired = Store(data_dir=path, repair=True)
            with repaired:
                check_prefix(repaired)
                assert repaired.revision < max(HASHES)
        shutil.rmtree(path)
    assert outcomes["refused"] > 100
    assert outcomes["cut"] > 0


class _no_warning:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def test_repair_sets_later_segments_aside(tmp_path: Path) -> None:
    with Store(data_dir=tmp_path, snapshot_count=10_000) as store:
        play(store, 30)
    (first,) = segments(tmp_path)
    data = first.read_bytes()
    first.write_bytes(flip(data, 8 * 20))  # inside the first entry
    with pytest.raises(DataCorruptError, match=r"checksum mismatch|bad frame length"):
        Store(data_dir=tmp_path)
    with pytest.warns(RecoveryWarning):
        store = Store(data_dir=tmp_path, repair=True)
    with store:
        assert store.revision == 1
        store.put("fresh", "start")
    assert (tmp_path / (first.name + ".broken")).exists()


def test_missing_segment_is_refused(tmp_path: Path) -> None:
    with Store(data_dir=tmp_path, snapshot_count=4) as store:
        play(store, 40)
    segs = segments(tmp_path)
    assert len(segs) >= 2
    moved = tmp_path / "moved"
    segs[-1].rename(moved)  # the segment after the newest snapshot
    with pytest.raises(DataCorruptError, match="the log segment after the snapshot is missing"):
        Store(data_dir=tmp_path)
    max(tmp_path.glob("*.snap")).unlink()  # back to the previous snapshot, with a gap:
    later = int(segs[-1].stem, 16) + 5
    moved.rename(tmp_path / f"{later:016x}.wal")
    with pytest.raises(DataCorruptError, match=f"log segment {int(segs[-1].stem, 16)} is missing"):
        Store(data_dir=tmp_path)


# -- snapshots ------------------------------------------------------------------------------


def test_a_corrupt_newest_snapshot_falls_back_to_the_previous_one(tmp_path: Path) -> None:
    with Store(data_dir=tmp_path, snapshot_count=8) as store:
        play(store, N)
        digest = store.hash_kv().hash
    snaps = sorted(tmp_path.glob("*.snap"))
    assert len(snaps) == 2
    snaps[-1].write_bytes(flip(snaps[-1].read_bytes(), 8 * 40 + 3))
    with pytest.warns(RecoveryWarning, match="falling back"), Store(data_dir=tmp_path) as again:
        assert again.hash_kv().hash == digest
    assert list(tmp_path.glob("*.snap.broken"))


def test_a_corrupt_only_snapshot_without_the_log_is_refused(tmp_path: Path) -> None:
    with Store(data_dir=tmp_path, snapshot_count=8) as store:
        play(store, N)
    snaps = sorted(tmp_path.glob("*.snap"))
    for s in snaps[:-1]:
        s.unlink()
    snaps[-1].write_bytes(snaps[-1].read_bytes()[:-5])
    with pytest.raises(DataCorruptError, match="corrupt snapshot and nothing to fall back to"):
        Store(data_dir=tmp_path)


def test_defragment_drops_what_the_snapshot_replaces(tmp_path: Path) -> None:
    with Store(data_dir=tmp_path, snapshot_count=20) as store:
        for i in range(200):
            store.put("k", "x" * 200 + str(i))
        store.compact(store.revision)
        before = sum(f.stat().st_size for f in tmp_path.iterdir())
        store.defragment()
        after = sum(f.stat().st_size for f in tmp_path.iterdir())
        assert after < before / 4
        assert len(list(tmp_path.glob("*.snap"))) == 1
    with Store(data_dir=tmp_path) as again:
        assert again.get("k").kvs[0].value.endswith(b"199")


def test_snapshot_and_restore(tmp_path: Path) -> None:
    with Store() as store:
        play(store, N)
        data = b"".join(store.snapshot())
        digest, rev = store.hash_kv().hash, store.revision
    with Store.restore([data]) as memory:
        assert (memory.revision, memory.hash_kv().hash) == (rev, digest)
    path = tmp_path / "restored"
    (tmp_path / "snap.db").write_bytes(data)
    with Store.restore(tmp_path / "snap.db", data_dir=path) as durable:
        assert durable.hash_kv().hash == digest
        durable.put("more", "1")
    with Store(data_dir=path) as again:
        assert again.revision == rev + 1
    with pytest.raises(DataDirError, match="already holds a store"):
        Store.restore([data], data_dir=path)


def test_restore_accepts_etcds_sha256_trailer_and_refuses_damage() -> None:
    import hashlib

    with Store() as store:
        store.put("k", "v")
        data = b"".join(store.snapshot())
    with Store.restore([data + hashlib.sha256(data).digest()]) as restored:
        assert restored.get("k").kvs[0].value == b"v"
    for bad, message in [
        (data[:-3], "torn"),
        (b"not a snapshot at all", "bad magic"),
        (flip(data, 8 * 30), "checksum|bad frame"),
    ]:
        with pytest.raises(SnapshotError, match=message):
            Store.restore([bad])


def test_snapshot_is_consistent_while_writers_run(tmp_path: Path) -> None:
    with Store(data_dir=tmp_path) as store:
        stop = threading.Event()

        def writer() -> None:
            i = 0
            while not stop.is_set() and i < 2000:
                store.txn(compare=[], success=[Op.put("a", str(i)), Op.put("b", str(i))])
                i += 1

        t = threading.Thread(target=writer)
        t.start()
        try:
            for _ in range(5):
                with Store.restore(store.snapshot()) as copy:
                    a, b = copy.get("a").kvs, copy.get("b").kvs
                    assert [kv.value for kv in a] == [kv.value for kv in b]
        finally:
            stop.set()
            t.join(30)


def test_snapshot_count_bounds_the_log(tmp_path: Path) -> None:
    with Store(data_dir=tmp_path, snapshot_count=50) as store:
        for i in range(500):
            store.put(f"k{i % 10}", str(i))
    assert len(segments(tmp_path)) <= 3
    assert len(list(tmp_path.glob("*.snap"))) == 2
    with Store(data_dir=tmp_path) as again:
        assert again.revision == 501


def test_member_file_damage_is_named(tmp_path: Path) -> None:
    with Store(data_dir=tmp_path):
        pass
    (tmp_path / "member").write_text("{not json")
    with pytest.raises(DataCorruptError, match="member: offset 0: unreadable member file"):
        Store(data_dir=tmp_path)


def test_concurrent_writers_share_fsyncs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from etcdlite._persist import _files

    fsyncs: list[int] = []
    real = _files.Files.fsync

    def counting(self: _files.Files, fd: int) -> None:
        fsyncs.append(fd)
        real(self, fd)

    monkeypatch.setattr(_files.Files, "fsync", counting)
    with Store(data_dir=tmp_path) as store:
        before = len(fsyncs)

        def writer(n: int) -> None:
            for i in range(50):
                store.put(f"w/{n}/{i}", "x")

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert store.revision == 401
        assert len(fsyncs) - before <= 0.8 * 400  # group commit: writers shared fsyncs


def test_auth_survives_restart_and_no_password_is_ever_written(tmp_path: Path) -> None:
    secret = "correct-horse-battery-staple-7f3a"
    with Store(data_dir=tmp_path, password_hash_cost=1, snapshot_count=3) as store:
        store.user_add("root", secret)
        store.user_grant_role("root", "root")
        store.role_add("reader")
        store.role_grant_permission("reader", "app/", perm_type="read", prefix=True)
        store.user_add("alice", secret + "-alice")
        store.user_grant_role("alice", "reader")
        store.auth_enable()
        token = store.authenticate("alice", secret + "-alice").token
        store.user_change_password("alice", secret + "-new")
        store.put("app/x", "1")
    files = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert secret.encode() not in files
    assert b"correct-horse" not in files
    with Store(data_dir=tmp_path, password_hash_cost=1) as again:
        status = again.auth_status()
        assert status.enabled
        assert again.user_get("alice").roles == ("reader",)
        alice = again.as_user("alice", secret + "-new")
        assert alice.get("app/x").kvs[0].value == b"1"
        with pytest.raises(PermissionDeniedError):
            alice.put("app/x", "2")
        with pytest.raises(InvalidAuthTokenError):  # tokens live in memory only, as etcd's
            again.with_token(token).get("app/x")
        assert again.as_user("root", secret).user_list().users == ("alice", "root")


def test_restored_snapshot_keeps_auth(tmp_path: Path) -> None:
    with Store(password_hash_cost=1) as store:
        store.user_add("root", "pw")
        store.user_grant_role("root", "root")
        store.auth_enable()
        data = b"".join(store.snapshot())
    with Store.restore([data], data_dir=tmp_path, password_hash_cost=1) as copy:
        assert copy.auth_status().enabled
        assert copy.as_user("root", "pw").auth_status().enabled


def test_bit_flips_in_snapshots_are_always_caught(tmp_path: Path) -> None:
    """A flipped bit anywhere in a snapshot: restoring it is refused, and a data dir whose
    newest snapshot it is falls back to the previous one, losing nothing."""
    good = tmp_path / "good"
    with Store(data_dir=good, snapshot_count=8) as store:
        play(store, N)
        digest = store.hash_kv().hash
        data = b"".join(store.snapshot())
    newest = max(good.glob("*.snap"))
    on_disk = newest.read_bytes()
    rng = random.Random(5)
    for n in range(60):
        with pytest.raises(SnapshotError):
            Store.restore([flip(data, rng.randrange(len(data) * 8))])
        path = tmp_path / f"flip{n}"
        shutil.copytree(good, path)
        (path / newest.name).write_bytes(flip(on_disk, rng.randrange(len(on_disk) * 8)))
        with pytest.warns(RecoveryWarning, match="falling back"):
            again = Store(data_dir=path)
        with again:
            assert again.hash_kv().hash == digest
        shutil.rmtree(path)
