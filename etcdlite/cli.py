"""The ``etcdlite`` command: ``etcdlite serve`` serves etcd's gRPC API and JSON gateway; the
etcdctl-like commands (``get``, ``put``, ``del``, ``watch``, ``txn``, ``lease``,
``compaction``, ``endpoint status``: :mod:`etcdlite._ctl`) and ``snapshot save|restore|status``
(:mod:`etcdlite._snapshot_cli`) talk to a served store or open a data directory.

``serve`` keeps the store in memory, or with ``--data-dir`` in that directory (durable:
``--snapshot-count``, ``--unsafe-no-fsync``). The flags are etcd's own names: ``--listen-client-urls``
(comma-separated) serve gRPC and the JSON gateway on each URL, as etcd does;
``--listen-client-http-urls`` (etcd 3.5) give the gateway URLs of its own, and the client URLs
then serve gRPC alone. ``https://`` URLs serve TLS with ``--cert-file`` and ``--key-file``;
``--trusted-ca-file`` (and ``--client-cert-auth``) require client certificates that CA signed
(``docs/gateway.md``, "TLS"). The default URL is on the loopback interface; serving plain HTTP
on any other address prints a warning. The server is imported only when the command runs, so
the command-line parser works without the ``grpc`` extra.

>>> parser = build_parser()
>>> args = parser.parse_args(["serve", "--listen-client-urls", "http://127.0.0.1:23790"])
>>> args.listen_client_urls, args.listen_client_http_urls, args.name, args.max_txn_ops
('http://127.0.0.1:23790', '', 'default', 128)
"""

from __future__ import annotations

import argparse
import ipaddress
import signal
import sys
import threading
import urllib.parse
from typing import TYPE_CHECKING

from . import _ctl, _snapshot_cli
from .errors import DataDirError
from .server._listen import (
    DEFAULT_HANDSHAKE_TIMEOUT,
    DEFAULT_MAX_PENDING_HANDSHAKES,
    is_https,
    parse_listen_url,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ._store import Store

__all__ = ("build_parser", "main", "parse_listen_url", "tls_warnings")

DEFAULT_LISTEN = "http://127.0.0.1:2379"


def _bcrypt_cost(text: str) -> int:
    """etcd's ``--bcrypt-cost`` (4 to 31) as the store's scrypt cost: one step doubles the work
    in both, etcd's default 10 is the store's default 14, and costs above 12 stay at 16, the
    store's most.

    >>> _bcrypt_cost("10"), _bcrypt_cost("4"), _bcrypt_cost("31")
    (14, 8, 16)
    """
    try:
        cost = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid bcrypt-cost {text!r}") from None
    if not 4 <= cost <= 31:
        raise argparse.ArgumentTypeError(f"bcrypt-cost must be between 4 and 31, not {cost}")
    return min(cost + 4, 16)


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
    serve.add_argument("--cert-file", default=None, help="the server's TLS certificate (PEM)")
    serve.add_argument("--key-file", default=None, help="the server's TLS key (PEM)")
    serve.add_argument(
        "--trusted-ca-file",
        default=None,
        help="CA (PEM) that must have signed every client's certificate",
    )
    serve.add_argument(
        "--client-cert-auth",
        action="store_true",
        help="require and verify client certificates (needs --trusted-ca-file)",
    )
    serve.add_argument(
        "--tls-handshake-timeout",
        type=float,
        default=DEFAULT_HANDSHAKE_TIMEOUT,
        help=f"seconds a client has to finish its TLS handshake (default "
        f"{DEFAULT_HANDSHAKE_TIMEOUT:g})",
    )
    serve.add_argument(
        "--tls-max-handshakes",
        type=int,
        default=DEFAULT_MAX_PENDING_HANDSHAKES,
        help=f"connections that may wait for their TLS handshake at once; more are closed "
        f"(default {DEFAULT_MAX_PENDING_HANDSHAKES})",
    )
    serve.add_argument(
        "--bcrypt-cost",
        type=_bcrypt_cost,
        default="10",
        help="work factor of password hashes, as etcd's (4 to 31, default 10; see "
        "docs/security.md)",
    )
    _ctl.add_commands(commands)
    _snapshot_cli.add_commands(commands)
    return parser


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve anywhere


def tls_warnings(
    urls: Sequence[str], *, cert_file: str | None, client_cert_auth: bool
) -> list[str]:
    """What ``serve`` warns about on stderr: plain HTTP on an address other than loopback
    (etcd's insecure default, Trail of Bits TOB-ETCD-016), and, as etcd 3.4 warns, certificates
    or ``--client-cert-auth`` that an ``http://`` URL ignores.

    >>> tls_warnings(["http://127.0.0.1:2379"], cert_file=None, client_cert_auth=False)
    []
    >>> print(*tls_warnings(["http://10.0.0.5:2379"], cert_file=None, client_cert_auth=False))
    etcdlite: warning: serving plain HTTP on http://10.0.0.5:2379, which is not a loopback address: anyone who can reach it can read and write every key (serve https:// with --cert-file and --key-file)
    """
    warnings = []
    for url in urls:
        if is_https(url):
            continue
        if cert_file is not None:
            warnings.append(
                f"etcdlite: warning: the scheme of client url {url} is HTTP while key and "
                "certificate files are present; ignoring key and certificate files"
            )
        if client_cert_auth:
            warnings.append(
                f"etcdlite: warning: the scheme of client url {url} is HTTP while "
                "--client-cert-auth is enabled; ignoring client cert auth for this url"
            )
        host = urllib.parse.urlsplit(url).hostname or ""
        if not _is_loopback(host):
            warnings.append(
                f"etcdlite: warning: serving plain HTTP on {url}, which is not a loopback "
                "address: anyone who can reach it can read and write every key (serve "
                "https:// with --cert-file and --key-file)"
            )
    return warnings


def _serve(args: argparse.Namespace) -> int:
    urls = [u for u in args.listen_client_urls.split(",") if u]
    http_urls = [u for u in args.listen_client_http_urls.split(",") if u]
    if not urls:
        print("etcdlite: --listen-client-urls needs at least one URL", file=sys.stderr)
        return 2
    try:
        for url in urls + http_urls:
            parse_listen_url(url)
        from .server._server import check_tls

        check_tls(
            urls + http_urls,
            cert_file=args.cert_file,
            key_file=args.key_file,
            trusted_ca_file=args.trusted_ca_file,
            client_cert_auth=args.client_cert_auth,
        )
    except ValueError as exc:
        print(f"etcdlite: {exc}", file=sys.stderr)
        return 2
    for warning in tls_warnings(
        urls + http_urls, cert_file=args.cert_file, client_cert_auth=args.client_cert_auth
    ):
        print(warning, file=sys.stderr)
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
            password_hash_cost=args.bcrypt_cost,
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
    try:
        server = Server(
            store,
            listen_client_urls=urls,
            listen_client_http_urls=http_urls,
            name=args.name,
            advertise_client_urls=advertise,
            peer_urls=[u for u in args.initial_advertise_peer_urls.split(",") if u],
            max_request_bytes=args.max_request_bytes,
            cert_file=args.cert_file,
            key_file=args.key_file,
            trusted_ca_file=args.trusted_ca_file,
            client_cert_auth=args.client_cert_auth,
            tls_handshake_timeout=args.tls_handshake_timeout,
            tls_max_handshakes=args.tls_max_handshakes,
        ).start()
    except (ValueError, OSError) as exc:  # ssl.SSLError: unreadable or mismatched TLS files
        print(f"etcdlite: {exc}", file=sys.stderr)
        return 2
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
