"""The ``etcdlite`` command: ``etcdlite serve`` serves etcd's gRPC API and JSON gateway; the
etcdctl-like commands (``get``, ``put``, ``del``, ``watch``, ``txn``, ``lease``,
``compaction``, ``endpoint status``: :mod:`etcdlite._ctl`) and ``snapshot save|restore|status``
(:mod:`etcdlite._snapshot_cli`) talk to a served store or open a data directory.

``serve`` keeps the store in memory, or with ``--data-dir`` in that directory (durable:
``--snapshot-count``, ``--unsafe-no-fsync``). The flags are etcd's own names: ``--listen-client-urls``
(comma-separated) serve gRPC and the JSON gateway on each URL, as etcd does;
``--listen-client-http-urls`` (etcd 3.5) give the gateway URLs of its own, and the client URLs
then serve gRPC alone. The server is imported only when the command runs, so the command-line
parser works without the ``grpc`` extra.

>>> parser = build_parser()
>>> args = parser.parse_args(["serve", "--listen-client-urls", "http://127.0.0.1:23790"])
>>> args.listen_client_urls, args.listen_client_http_urls, args.name, args.max_txn_ops
('http://127.0.0.1:23790', '', 'default', 128)
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import TYPE_CHECKING

from . import _ctl, _snapshot_cli
from .errors import DataDirError
from .server._listen import parse_listen_url

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ._store import Store

__all__ = ("build_parser", "main", "parse_listen_url")

DEFAULT_LISTEN = "http://127.0.0.1:2379"


def build_parser() -> argparse.ArgumentParser:
    """The command line, with etcd's flag names."""
    parser = argparse.ArgumentParser(prog="etcdlite", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve etcd's gRPC API and JSON gateway over a store")
    serve.add_argument(
        "--listen-client-urls",
        default=DEFAULT_LISTEN,
        help=(
            f"URLs to serve gRPC and the JSON gateway on, comma-separated (default "
            f"{DEFAULT_LISTEN}; port 0 picks one)"
        ),
    )
    serve.add_argument(
        "--listen-client-http-urls",
        default="",
        help=(
            "URLs to serve the JSON gateway on, comma-separated; the client URLs then serve "
            "gRPC alone, with no relay in front of it"
        ),
    )
    serve.add_argument(
        "--advertise-client-urls",
        default=None,
        help="client URLs MemberList reports, comma-separated (default: the listen URLs)",
    )
    serve.add_argument("--name", default="default", help="this member's name (default default)")
    serve.add_argument(
        "--initial-advertise-peer-urls",
        default="http://localhost:2380",
        help="peer URLs MemberList reports, comma-separated (nothing listens on them)",
    )
    serve.add_argument(
        "--max-txn-ops", type=int, default=128, help="most operations in a txn (default 128)"
    )
    serve.add_argument(
        "--max-request-bytes",
        type=int,
        default=1536 * 1024,
        help="largest request the store accepts; +512 KiB is the gRPC receive limit",
    )
    serve.add_argument(
        "--quota-backend-bytes",
        type=int,
        default=0,
        help="size past which writes raise the NOSPACE alarm (0: etcd's 2 GiB; negative: none)",
    )
    serve.add_argument(
        "--auto-compaction-mode",
        default="periodic",
        help="'periodic' (retention is a duration) or 'revision' (a number of revisions)",
    )
    serve.add_argument(
        "--auto-compaction-retention",
        default="0",
        help="history auto-compaction keeps: '1h', '30m', hours as a number, or revisions "
        "(default 0: off)",
    )
    serve.add_argument(
        "--data-dir",
        default=None,
        help="keep the data in this directory (created if needed); default: in memory",
    )
    serve.add_argument(
        "--snapshot-count",
        type=int,
        default=100_000,
        help="log entries between snapshots of the data directory (default 100000)",
    )
    serve.add_argument(
        "--unsafe-no-fsync",
        action="store_true",
        help="write to the data directory without fsync (survives a crash of the process, "
        "not of the machine)",
    )
    _ctl.add_commands(commands)
    _snapshot_cli.add_commands(commands)
    return parser


def _serve(args: argparse.Namespace) -> int:
    urls = [u for u in args.listen_client_urls.split(",") if u]
    http_urls = [u for u in args.listen_client_http_urls.split(",") if u]
    if not urls:
        print("etcdlite: --listen-client-urls needs at least one URL", file=sys.stderr)
        return 2
    try:
        for url in urls + http_urls:
            parse_listen_url(url)
    except ValueError as exc:
        print(f"etcdlite: {exc}", file=sys.stderr)
        return 2
    from ._store import Store

    try:
        store = Store(
            max_txn_ops=args.max_txn_ops,
            max_request_bytes=args.max_request_bytes,
            quota_backend_bytes=args.quota_backend_bytes,
            auto_compaction_mode=args.auto_compaction_mode,
            auto_compaction_retention=args.auto_compaction_retention,
            data_dir=args.data_dir,
            snapshot_count=args.snapshot_count,
            fsync="never" if args.unsafe_no_fsync else "always",
        )
    except (ValueError, DataDirError) as exc:
        print(f"etcdlite: {exc}", file=sys.stderr)
        return 2
    try:
        return _run(args, store, urls, http_urls)
    finally:
        store.close()


def _run(
    args: argparse.Namespace,
    store: Store,
    urls: list[str],
    http_urls: list[str],
) -> int:
    """Serve ``store`` until SIGINT or SIGTERM; the exit status."""
    from .server._server import Server

    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    advertise = [u for u in (args.advertise_client_urls or "").split(",") if u] or None
    server = Server(
        store,
        listen_client_urls=urls,
        listen_client_http_urls=http_urls,
        name=args.name,
        advertise_client_urls=advertise,
        peer_urls=[u for u in args.initial_advertise_peer_urls.split(",") if u],
        max_request_bytes=args.max_request_bytes,
    ).start()
    try:
        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        for url in server.client_urls:
            what = "gRPC" if server.http_urls else "gRPC and the JSON gateway"
            print(f"etcdlite: serving client requests on {url} ({what})", flush=True)
        for url in server.http_urls:
            print(f"etcdlite: serving client requests on {url} (the JSON gateway)", flush=True)
        while not stop.wait(1.0):
            pass
    finally:
        server.stop(grace=1.0)
    print("etcdlite: stopped", flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; the exit status."""
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    if args.command == "snapshot":
        return _snapshot_cli.run(args)
    return _ctl.run(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
