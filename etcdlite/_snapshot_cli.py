"""``etcdlite snapshot save | restore | status``: etcdctl's snapshot commands.

* ``snapshot save FILE [--endpoints URL]`` streams Maintenance.Snapshot from ``etcdlite serve``
  (or any server whose snapshot etcdlite reads) into ``FILE``: written to ``FILE.part``,
  fsynced, then renamed, as etcdctl does; it prints a progress line to stderr every second
  for a long transfer, then ``Snapshot saved at FILE``;
* ``snapshot restore FILE --data-dir DIR`` makes ``DIR`` (new or empty) a data directory
  holding the snapshot (:meth:`etcdlite.Store.restore`);
* ``snapshot status FILE [-w simple|json]`` prints the snapshot's hash (CRC-32 of the
  file, as etcdctl), revision, number of keys and size.

>>> import argparse
>>> parser = argparse.ArgumentParser(prog="etcdlite")
>>> add_commands(parser.add_subparsers(dest="command"))
>>> args = parser.parse_args(["snapshot", "restore", "s.db", "--data-dir", "d"])
>>> args.command, args.snapshot_command, args.file, args.data_dir
('snapshot', 'restore', 's.db', 'd')
"""

from __future__ import annotations

import json
import os
import sys
import time
import zlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import argparse

__all__ = ("add_commands", "run")

#: How often ``snapshot save`` reports progress (seconds).
PROGRESS_EVERY = 1.0


def add_commands(commands: Any) -> None:
    """Add ``snapshot`` and its subcommands to ``commands`` (``add_subparsers()``)."""
    snapshot = commands.add_parser("snapshot", help="save, restore and inspect snapshots")
    subs = snapshot.add_subparsers(dest="snapshot_command", required=True)
    save = subs.add_parser("save", help="stream a server's snapshot into a file")
    save.add_argument("file")
    save.add_argument("--endpoints", default="http://127.0.0.1:2379", help="the server's URL")
    save.add_argument("--command-timeout", type=float, default=300.0, help="seconds")
    restore = subs.add_parser("restore", help="make a data directory from a snapshot file")
    restore.add_argument("file")
    restore.add_argument("--data-dir", required=True, help="a new or empty directory")
    status = subs.add_parser("status", help="a snapshot file's hash, revision, keys and size")
    status.add_argument("file")
    status.add_argument("-w", "--write-out", choices=["simple", "json"], default="simple")


def run(args: argparse.Namespace) -> int:
    """Run ``snapshot <subcommand>``; the exit status."""
    try:
        if args.snapshot_command == "save":
            _save(args.file, args.endpoints.split(",")[0], args.command_timeout)
        elif args.snapshot_command == "restore":
            _restore(args.file, args.data_dir)
        else:
            _status(args.file, args.write_out)
    except (OSError, ValueError, ImportError) as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 -- grpc.RpcError and the store's errors
        details = getattr(exc, "details", None)
        print(f"Error: {details() if callable(details) else exc}", file=sys.stderr)
        return 1
    return 0


def _save(path: str, endpoint: str, timeout: float) -> None:
    import grpc

    from .server._pb import rpc_pb2, rpc_pb2_grpc

    target = endpoint.split("://", 1)[-1].rstrip("/")
    part = path + ".part"
    with grpc.insecure_channel(target) as channel:
        stub = rpc_pb2_grpc.MaintenanceStub(channel)  # type: ignore[no-untyped-call]
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            received, last = 0, time.monotonic()
            for resp in stub.Snapshot(rpc_pb2.SnapshotRequest(), timeout=timeout):
                os.write(fd, resp.blob)
                received += len(resp.blob)
                if time.monotonic() - last >= PROGRESS_EVERY:
                    last = time.monotonic()
                    total = received + resp.remaining_bytes
                    print(f"snapshot: {received:,} of {total:,} bytes", file=sys.stderr)
            os.fsync(fd)
        finally:
            os.close(fd)
    os.replace(part, path)
    print(f"Snapshot saved at {path}")


def _restore(path: str, data_dir: str) -> None:
    from ._store import Store

    with Store.restore(path, data_dir=data_dir) as store:
        rev = store.revision
    print(f"restored {path} (revision {rev}) into {data_dir}")


def _status(path: str, write_out: str) -> None:
    from ._persist._snapshot import load, strip_sha256

    with open(path, "rb") as f:
        data = f.read()
    state = load(data)
    logged = (r for e in state.log for r in (e if isinstance(e, tuple) else (e,)))
    keys = len({rec.key for rec, _ in state.older} | {r.key for r in logged})
    crc = zlib.crc32(strip_sha256(data))
    if write_out == "json":
        doc = {"hash": crc, "revision": state.revision, "totalKey": keys, "totalSize": len(data)}
        print(json.dumps(doc))
    else:
        print(f"{crc:x}, {state.revision}, {keys}, {_human(len(data))}")


def _human(size: int) -> str:
    """Bytes as etcdctl shows them (go-humanize, SI units)."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")
