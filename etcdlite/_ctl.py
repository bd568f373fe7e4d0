"""etcdctl's commands on the ``etcdlite`` command line: get, put, del, watch, txn, lease,
compaction and endpoint status.

Each command takes etcdctl 3.4's arguments and flags and prints what etcdctl prints, byte for
byte, in its ``-w simple`` (the default), ``-w json`` (etcdctl's JSON: int64 as numbers, bytes as
base64, zero fields left out) and ``-w table`` formats, with etcdctl's error lines
(``Error: etcdserver: ...`` on stderr) and exit codes. The target is ``--endpoints`` (etcd's
gRPC endpoints, comma-separated, through :func:`etcdlite.connect`: a real etcd or
``etcdlite serve``) or ``--data-dir DIR`` (a store opened in this process).

Additions to etcdctl 3.4: ``get --count-only`` (prints the count), ``get -w table`` (a table of
the key-values) and ``watch --max-events N`` (exit after N events, for scripts); ``watch`` and
``lease keep-alive`` run until Ctrl-C (exit 130).

>>> import argparse
>>> parser = argparse.ArgumentParser(prog="etcdlite")
>>> add_commands(parser.add_subparsers(dest="command"))
>>> args = parser.parse_args(["get", "app/", "--prefix", "-w", "json"])
>>> args.command, args.key, args.prefix, args.write_out
('get', ['app/'], True, 'json')
"""

from __future__ import annotations

import argparse
import ast
import base64
import json
import math
import re
import sys
from typing import TYPE_CHECKING, Any, BinaryIO, NoReturn, TextIO

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from ._model import (
        Compare,
        DeleteRangeResponse,
        Event,
        KeyValue,
        PutResponse,
        RangeResponse,
        RequestOp,
        ResponseHeader,
        ResponseOp,
        TxnResponse,
        WatchResponse,
    )

__all__ = ("CtlError", "add_commands", "run")

DEFAULT_ENDPOINT = "http://127.0.0.1:2379"

# etcdctl's exit codes (ctlv3/command/error.go).
EXIT_ERROR, EXIT_BAD_CONNECTION, EXIT_INVALID_INPUT, EXIT_BAD_FEATURE = 1, 2, 3, 4
EXIT_INTERRUPTED, EXIT_BAD_ARGS = 5, 128
#: The exit status after Ctrl-C (what a shell reports for SIGINT).
EXIT_CTRL_C = 130


class CtlError(Exception):
    """A command's failure: printed as ``Error: <message>``, exiting with ``code``."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def _table_unsupported() -> NoReturn:
    raise CtlError(EXIT_BAD_FEATURE, "table not supported as output format")


# --------------------------------------------------------------------------- the parser


class _Parser(argparse.ArgumentParser):
    """A parser that raises instead of exiting (for the operations of a txn)."""

    def error(self, message: str) -> NoReturn:
        raise CtlError(EXIT_INVALID_INPUT, message)


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--endpoints",
        default=DEFAULT_ENDPOINT,
        help=f"etcd gRPC endpoints, comma-separated (default {DEFAULT_ENDPOINT})",
    )
    common.add_argument(
        "--data-dir", default=None, help="open the store in this data directory instead"
    )
    common.add_argument(
        "-w",
        "--write-out",
        default="simple",
        choices=("simple", "json", "table"),
        help="output format (default simple)",
    )
    common.add_argument(
        "--command-timeout",
        default="5s",
        help="timeout of each request, as etcdctl takes it: 5s, 500ms, 1m (default 5s)",
    )
    common.add_argument("--user", default=None, help="username[:password] for authentication")
    common.add_argument("--password", default=None, help="password (when --user has none)")
    common.add_argument(
        "--cacert", default=None, help="the CA that signed the server's certificate"
    )
    common.add_argument("--cert", dest="cert_file", default=None, help="a client certificate (TLS)")
    common.add_argument(
        "--key", dest="key_file", default=None, help="the client certificate's key (TLS)"
    )
    return common


def _range_flags(p: argparse.ArgumentParser, *, watch: bool = False) -> None:
    p.add_argument("--prefix", action="store_true", help="the keys with this prefix")
    if not watch:
        p.add_argument("--from-key", action="store_true", help="every key from this one on")


def _get_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("key", nargs="*", help="KEY [RANGE_END]")
    _range_flags(p)
    p.add_argument("--rev", type=int, default=0, help="read at this revision")
    p.add_argument("--limit", type=int, default=0, help="most keys returned")
    p.add_argument("--keys-only", action="store_true", help="only the keys")
    p.add_argument("--count-only", action="store_true", help="only the count (etcdlite)")
    p.add_argument("--print-value-only", action="store_true", help="only the values (simple)")
    p.add_argument("--sort-by", default="", help="CREATE, KEY, MODIFY, VALUE or VERSION")
    p.add_argument("--order", default="", help="ASCEND or DESCEND")
    p.add_argument("--consistency", default="l", help="l (linearizable) or s (serializable)")


def _put_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("key", nargs="*", help="KEY VALUE (the value from stdin when left out)")
    p.add_argument("--lease", default="0", help="the lease to attach the key to (hex id)")
    p.add_argument("--prev-kv", action="store_true", help="print the previous key-value")
    p.add_argument("--ignore-value", action="store_true", help="keep the current value")
    p.add_argument("--ignore-lease", action="store_true", help="keep the current lease")


def _del_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("key", nargs="*", help="KEY [RANGE_END]")
    _range_flags(p)
    p.add_argument("--prev-kv", action="store_true", help="print the deleted key-values")


def add_commands(commands: Any) -> None:
    """Add etcdctl's commands to ``commands`` (what ``add_subparsers()`` returns)."""
    common = _common()

    def add(subs: Any, name: str, help: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = subs.add_parser(name, help=help, parents=[common])
        return p

    _get_flags(add(commands, "get", "read a key or a range of keys"))
    _put_flags(add(commands, "put", "write a key"))
    _del_flags(add(commands, "del", "delete a key or a range of keys"))
    watch = add(commands, "watch", "print the changes of a key or a range until Ctrl-C")
    watch.add_argument("key", nargs="*", help="KEY [RANGE_END]")
    _range_flags(watch, watch=True)
    watch.add_argument("--rev", type=int, default=0, help="watch from this revision on")
    watch.add_argument("--prev-kv", action="store_true", help="print the previous key-values")
    watch.add_argument("--max-events", type=int, default=0, help="exit after N events")
    txn = add(commands, "txn", "run a txn read from stdin (compares, success, failure)")
    txn.add_argument("-i", "--interactive", action="store_true", help="prompt for each part")
    compaction = add(commands, "compaction", "compact the history below a revision")
    compaction.add_argument("revision", help="the revision")
    compaction.add_argument("--physical", action="store_true", help="wait until it is done")

    lease = commands.add_parser("lease", help="lease commands")
    leases = lease.add_subparsers(dest="lease_command", required=True)
    add(leases, "grant", "grant a lease").add_argument("ttl", help="TTL in seconds")
    add(leases, "revoke", "revoke a lease and delete its keys").add_argument("id", help="hex id")
    ttl = add(leases, "timetolive", "a lease's remaining TTL")
    ttl.add_argument("id", help="hex id")
    ttl.add_argument("--keys", action="store_true", help="list the attached keys")
    add(leases, "list", "every live lease")
    keep = add(leases, "keep-alive", "renew a lease until Ctrl-C")
    keep.add_argument("id", help="hex id")
    keep.add_argument("--once", action="store_true", help="renew once and exit")

    endpoint = commands.add_parser("endpoint", help="endpoint commands")
    endpoints = endpoint.add_subparsers(dest="endpoint_command", required=True)
    add(endpoints, "status", "each endpoint's status")


# --------------------------------------------------------------------------- Go's formats


def go_json(value: object) -> str:
    """``value`` as Go's ``json.Marshal`` writes it (compact; ``<``, ``>``, ``&`` escaped).

    >>> go_json({"key": "YQ==", "note": "<&>"})
    '{"key":"YQ==","note":"\\\\u003c\\\\u0026\\\\u003e"}'
    """
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    for c, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(c, esc)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _omit_zero(pairs: Iterable[tuple[str, object]]) -> dict[str, object]:
    return {k: v for k, v in pairs if v not in (0, "", b"", None, False, [], ())}


def header_json(h: ResponseHeader) -> dict[str, object]:
    return _omit_zero(
        (
            ("cluster_id", h.cluster_id),
            ("member_id", h.member_id),
            ("revision", h.revision),
            ("raft_term", h.raft_term),
        )
    )


def kv_json(kv: KeyValue) -> dict[str, object]:
    return _omit_zero(
        (
            ("key", _b64(kv.key) if kv.key else ""),
            ("create_revision", kv.create_revision),
            ("mod_revision", kv.mod_revision),
            ("version", kv.version),
            ("value", _b64(kv.value) if kv.value else ""),
            ("lease", kv.lease),
        )
    )


def event_json(e: Event) -> dict[str, object]:
    out: dict[str, object] = {}
    if e.type:
        out["type"] = int(e.type)
    out["kv"] = kv_json(e.kv)
    if e.prev_kv is not None:
        out["prev_kv"] = kv_json(e.prev_kv)
    return out


def response_json(r: ResponseOp) -> dict[str, object]:
    """A KV response as etcdctl's JSON (the protobuf message's Go struct)."""
    from ._model import DeleteRangeResponse, PutResponse, RangeResponse

    out: dict[str, object] = {"header": header_json(r.header)}
    if isinstance(r, PutResponse):
        if r.prev_kv is not None:
            out["prev_kv"] = kv_json(r.prev_kv)
    elif isinstance(r, RangeResponse):
        out.update(
            _omit_zero(
                (("kvs", [kv_json(kv) for kv in r.kvs]), ("more", r.more), ("count", r.count))
            )
        )
    elif isinstance(r, DeleteRangeResponse):
        out.update(
            _omit_zero((("deleted", r.deleted), ("prev_kvs", [kv_json(kv) for kv in r.prev_kvs])))
        )
    else:
        names = {
            "PutResponse": "ResponsePut",
            "RangeResponse": "ResponseRange",
            "DeleteRangeResponse": "ResponseDeleteRange",
            "TxnResponse": "ResponseTxn",
        }
        ops = [{"Response": {names[type(o).__name__]: response_json(o)}} for o in r.responses]
        out.update(_omit_zero((("succeeded", r.succeeded), ("responses", ops))))
    return out


def humanize_bytes(n: int) -> str:
    """A size as go-humanize's ``Bytes`` writes it (SI units), as etcdctl prints db sizes.

    >>> humanize_bytes(9), humanize_bytes(20480), humanize_bytes(1536 * 1024)
    ('9 B', '20 kB', '1.6 MB')
    """
    if n < 10:
        return f"{n} B"
    e = math.floor(math.log(n) / math.log(1000))
    val = math.floor(n / 1000**e * 10 + 0.5) / 10
    unit = ("B", "kB", "MB", "GB", "TB", "PB", "EB")[e]
    return f"{val:.0f} {unit}" if val >= 10 else f"{val:.1f} {unit}"


def render_table(head: Sequence[str], rows: Sequence[Sequence[str]], left: str = "") -> str:
    """A table as etcdctl's tablewriter draws it: centered upper-case headings, cells aligned
    right except in the columns whose index is in ``left``.

    >>> print(render_table(["a", "bb"], [["1", "x"]]), end="")
    +---+----+
    | A | BB |
    +---+----+
    | 1 |  x |
    +---+----+
    """
    head = [h.upper() for h in head]
    widths = [max(len(c) for c in col) for col in zip(head, *rows, strict=True)]
    line = "+" + "+".join("-" * (w + 2) for w in widths) + "+\n"

    def centered(s: str, w: int) -> str:
        gap = w - len(s)
        return " " * (gap // 2) + s + " " * (gap - gap // 2)

    def row_line(row: Sequence[str]) -> str:
        cells = [
            c.ljust(w) if str(i) in left else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        return "| " + " | ".join(cells) + " |\n"

    out = [line, "| " + " | ".join(map(centered, head, widths)) + " |\n", line]
    out.extend(map(row_line, rows))
    out.append(line)
    return "".join(out)


# --------------------------------------------------------------------------- output


class _Out:
    """Where a command writes: stdout's bytes, so values are printed as they are stored (a
    stdout without bytes, as in a notebook or a doctest, gets text, undecodable bytes escaped)."""

    def __init__(self, fmt: str, stdout: BinaryIO | None) -> None:
        self.fmt = fmt
        self.stdout = stdout

    def line(self, text: str | bytes = b"") -> None:
        data = text.encode() if isinstance(text, str) else text
        if self.stdout is None:
            sys.stdout.write(data.decode(errors="backslashreplace") + "\n")
        else:
            self.stdout.write(data + b"\n")

    def json(self, value: object) -> None:
        self.line(go_json(value))

    def kv(self, kv: KeyValue, *, value_only: bool = False) -> None:
        """etcdctl's ``printKV``: the key, then the value, one line each."""
        if not value_only:
            self.line(kv.key)
        self.line(kv.value)

    def flush(self) -> None:
        (sys.stdout if self.stdout is None else self.stdout).flush()


def _simple_put(out: _Out, r: PutResponse) -> None:
    out.line("OK")
    if r.prev_kv is not None:
        out.kv(r.prev_kv)


def _simple_get(out: _Out, r: RangeResponse, value_only: bool = False) -> None:
    for kv in r.kvs:
        out.kv(kv, value_only=value_only)


def _simple_del(out: _Out, r: DeleteRangeResponse) -> None:
    out.line(str(r.deleted))
    for kv in r.prev_kvs:
        out.kv(kv)


def _simple_txn(out: _Out, r: TxnResponse) -> None:
    from ._model import DeleteRangeResponse, PutResponse, RangeResponse, TxnResponse

    out.line("SUCCESS" if r.succeeded else "FAILURE")
    for op in r.responses:
        out.line()
        if isinstance(op, PutResponse):
            _simple_put(out, op)
        elif isinstance(op, RangeResponse):
            _simple_get(out, op)
        elif isinstance(op, DeleteRangeResponse):
            _simple_del(out, op)
        elif isinstance(op, TxnResponse):  # pragma: no cover - etcdctl's txn cannot nest
            _simple_txn(out, op)


# --------------------------------------------------------------------------- argument parsing


def _parse_int(text: str, base: int, what: str) -> int:
    """``int(text, base)`` or etcdctl's message with Go's ``strconv`` error."""
    try:
        if not re.fullmatch(r"[-+]?[0-9a-fA-F]+", text):
            raise ValueError
        return int(text, base)
    except ValueError:
        raise CtlError(
            EXIT_BAD_ARGS, what.format(f'strconv.ParseInt: parsing "{text}": invalid syntax')
        ) from None


def _range(args: argparse.Namespace, command: str) -> tuple[bytes, dict[str, Any]]:
    """The key and the range keywords of get, del and watch, checked as etcdctl checks them."""
    if not 1 <= len(args.key) <= 2:
        raise CtlError(
            EXIT_BAD_ARGS,
            f"{command} command needs one argument as key and an optional argument as range_end",
        )
    from_key = getattr(args, "from_key", False)
    if args.prefix and from_key:
        raise CtlError(
            EXIT_BAD_ARGS,
            "`--prefix` and `--from-key` cannot be set at the same time, choose one",
        )
    kw: dict[str, Any] = {"prefix": args.prefix}
    if from_key:
        kw["from_key"] = True
    if len(args.key) == 2:
        if args.prefix or from_key:
            raise CtlError(
                EXIT_BAD_ARGS,
                "too many arguments, only accept one argument when `--prefix` or `--from-key` "
                "is set",
            )
        kw["range_end"] = args.key[1].encode()
    return args.key[0].encode(), kw


_SORT_TARGETS = {"": "key", "KEY": "key", "CREATE": "create", "MODIFY": "mod"} | {
    "VALUE": "value",
    "VERSION": "version",
}


def _get_op(args: argparse.Namespace) -> RequestOp:
    from ._model import Op

    key, kw = _range(args, "get")
    order = args.order.upper()
    if order not in ("", "ASCEND", "DESCEND"):
        raise CtlError(EXIT_BAD_FEATURE, f"bad sort order {args.order}")
    target = _SORT_TARGETS.get(args.sort_by.upper())
    if target is None:
        raise CtlError(EXIT_BAD_FEATURE, f"bad sort target {args.sort_by}")
    if target == "key" and order == "ASCEND":
        order = ""  # clientv3 WithSort: ascending by key is the server's own order
    return Op.get(
        key,
        **kw,
        revision=args.rev,
        limit=args.limit,
        sort_target=target,
        sort_order=order.lower() or "none",
        serializable=args.consistency == "s",
        keys_only=args.keys_only,
        count_only=args.count_only,
    )


def _put_op(args: argparse.Namespace, stdin: TextIO | None) -> RequestOp:
    from ._model import Op

    needs = "put command needs 1 argument and input from stdin or 2 arguments"
    if not args.key:
        raise CtlError(EXIT_BAD_ARGS, needs)
    if args.ignore_value and len(args.key) > 1:
        raise CtlError(
            EXIT_BAD_ARGS, "put command needs only 1 argument when 'ignore-value' is set"
        )
    value = ""
    if not args.ignore_value:
        if len(args.key) > 1:
            value = args.key[1]
        else:
            value = stdin.read() if stdin is not None and not stdin.isatty() else ""
            if not value:
                raise CtlError(EXIT_BAD_ARGS, needs)
    lease = _parse_int(args.lease, 16, "bad lease ID ({}), expecting ID in Hex")
    return Op.put(
        args.key[0].encode(),
        value.encode(),
        lease=lease,
        prev_kv=args.prev_kv,
        ignore_value=args.ignore_value,
        ignore_lease=args.ignore_lease,
    )


def _del_op(args: argparse.Namespace) -> RequestOp:
    from ._model import Op

    key, kw = _range(args, "del")
    return Op.delete(key, **kw, prev_kv=args.prev_kv)


# --------------------------------------------------------------------------- txn input

_ARG = re.compile(r'"(?:[^"\\]|\\.)*"|\S+')
_COMPARE = re.compile(r'(\w+)\(("(?:[^"\\]|\\.)*"|`[^`]*`)\)\s+(\S+)\s+("(?:[^"\\]|\\.)*"|`[^`]*`)')


def _unquote(text: str) -> str:
    """A Go string literal's value (double-quoted with escapes, or back-quoted)."""
    if text.startswith("`"):
        return text[1:-1]
    try:
        return str(ast.literal_eval(text))
    except (ValueError, SyntaxError):
        raise CtlError(EXIT_INVALID_INPUT, f"malformed string {text}") from None


def parse_compare(line: str) -> Compare:
    """One compare line of etcdctl's txn syntax: ``target("key") op "operand"``.

    >>> parse_compare('mod("a") > "3"')
    Compare(key=b'a', target=<CompareTarget.MOD: 2>, result=<CompareResult.GREATER: 1>, \
operand=3, range_end=b'')
    """
    from ._model import Compare

    m = _COMPARE.fullmatch(line)
    if m is None:
        raise CtlError(EXIT_INVALID_INPUT, f"malformed comparison: {line}")
    target, key, op, val = m[1], _unquote(m[2]).encode(), m[3], _unquote(m[4])
    builders: dict[str, tuple[Callable[[bytes], Any], int]] = {
        "ver": (Compare.version, 10),
        "version": (Compare.version, 10),
        "c": (Compare.create_revision, 10),
        "create": (Compare.create_revision, 10),
        "m": (Compare.mod_revision, 10),
        "mod": (Compare.mod_revision, 10),
        "val": (Compare.value, 0),
        "value": (Compare.value, 0),
        "lease": (Compare.lease, 16),
    }
    if target not in builders:
        raise CtlError(
            EXIT_INVALID_INPUT, f"malformed comparison: {line} (unknown target {target})"
        )
    build, base = builders[target]
    operand: object = val.encode()
    if base:
        try:
            operand = int(val, base)
        except ValueError:
            raise CtlError(
                EXIT_INVALID_INPUT,
                f'malformed comparison: {line} (strconv.ParseInt: parsing "{val}": invalid syntax)',
            ) from None
    left = build(key)
    ops: dict[str, Callable[[Any, object], Compare]] = {
        "=": lambda b, v: b == v,
        "!=": lambda b, v: b != v,
        ">": lambda b, v: b > v,
        "<": lambda b, v: b < v,
    }
    if op not in ops:
        raise CtlError(EXIT_INVALID_INPUT, f"malformed comparison: {line} (unknown op {op})")
    return ops[op](left, operand)


def parse_request(line: str) -> RequestOp:
    """One operation line of etcdctl's txn syntax: a put, get or del command.

    >>> parse_request('put k "hello world" --prev-kv')
    PutRequest(key=b'k', value=b'hello world', lease=0, prev_kv=True, ignore_value=False, \
ignore_lease=False)
    """
    args = [_unquote(a) if a.startswith('"') else a for a in _ARG.findall(line)]
    if len(args) < 2:
        raise CtlError(EXIT_INVALID_INPUT, f"invalid txn compare request: {line}")
    parser = _Parser(prog="txn", add_help=False)
    subs = parser.add_subparsers(dest="op", required=True, parser_class=_Parser)
    _get_flags(subs.add_parser("get", add_help=False))
    _put_flags(subs.add_parser("put", add_help=False))
    _del_flags(subs.add_parser("del", add_help=False))
    try:
        ns = parser.parse_args(args)
        if ns.op == "get":
            return _get_op(ns)
        if ns.op == "put":
            return _put_op(ns, None)
        return _del_op(ns)
    except CtlError:
        raise CtlError(EXIT_INVALID_INPUT, f"invalid txn request: {line}") from None


def _read_section(stdin: TextIO, prompt: str, interactive: bool, out: _Out) -> list[str]:
    """Lines up to a blank one (etcdctl reads until one; the input ending first is an error)."""
    if interactive:
        out.line(prompt)
        out.flush()
    lines: list[str] = []
    while True:
        raw = stdin.readline()
        if not raw.endswith("\n"):
            raise CtlError(EXIT_INVALID_INPUT, "EOF")
        line = raw.strip()
        if not line:
            return lines
        lines.append(line)


# --------------------------------------------------------------------------- commands


def _get(args: argparse.Namespace, target: Any, out: _Out) -> None:
    resp = target.do(_get_op(args))
    if args.print_value_only and out.fmt != "simple":
        raise CtlError(EXIT_BAD_ARGS, "print-value-only is only for `--write-out=simple`")
    if out.fmt == "json":
        out.json(response_json(resp))
    elif out.fmt == "table":
        rows = [
            [
                kv.key.decode(errors="replace"),
                kv.value.decode(errors="replace"),
                str(kv.create_revision),
                str(kv.mod_revision),
                str(kv.version),
                f"{kv.lease:x}" if kv.lease else "",
            ]
            for kv in resp.kvs
        ]
        head = ["key", "value", "create revision", "mod revision", "version", "lease"]
        out.line(render_table(head, rows, left="01").rstrip("\n"))
    elif args.count_only:
        out.line(str(resp.count))
    else:
        _simple_get(out, resp, args.print_value_only)


def _put(args: argparse.Namespace, target: Any, out: _Out) -> None:
    resp = target.do(_put_op(args, sys.stdin))
    if out.fmt == "json":
        out.json(response_json(resp))
    elif out.fmt == "table":
        _table_unsupported()
    else:
        _simple_put(out, resp)


def _del(args: argparse.Namespace, target: Any, out: _Out) -> None:
    resp = target.do(_del_op(args))
    if out.fmt == "json":
        out.json(response_json(resp))
    elif out.fmt == "table":
        _table_unsupported()
    else:
        _simple_del(out, resp)


def _txn(args: argparse.Namespace, target: Any, out: _Out) -> None:
    stdin = sys.stdin
    i = args.interactive
    compares = [parse_compare(c) for c in _read_section(stdin, "compares:", i, out)]
    success = [
        parse_request(r) for r in _read_section(stdin, "success requests (get, put, del):", i, out)
    ]
    failure = [
        parse_request(r) for r in _read_section(stdin, "failure requests (get, put, del):", i, out)
    ]
    resp = target.txn(compares, success, failure)
    if out.fmt == "json":
        out.json(response_json(resp))
    elif out.fmt == "table":
        _table_unsupported()
    else:
        _simple_txn(out, resp)


def _compaction(args: argparse.Namespace, target: Any, out: _Out) -> None:
    try:
        rev = int(args.revision)
    except ValueError:
        raise CtlError(
            EXIT_ERROR, f'strconv.ParseInt: parsing "{args.revision}": invalid syntax'
        ) from None
    target.compact(rev, physical=args.physical)
    out.line(f"compacted revision {rev}")


def _watch_error(resp: WatchResponse) -> str:
    """clientv3 ``WatchResponse.Err()``: why the watch was canceled."""
    from .errors import CompactedError, FutureRevisionError

    if resp.compact_revision:
        return str(CompactedError())
    return resp.cancel_reason or str(FutureRevisionError())


def _watch(args: argparse.Namespace, target: Any, out: _Out) -> None:
    if out.fmt == "table":
        _table_unsupported()
    key, kw = _range(args, "watch")
    seen = 0
    with target.watch(key, **kw, start_revision=args.rev, prev_kv=args.prev_kv) as w:
        while True:
            try:
                resp: WatchResponse = w.receive(1.0)
            except TimeoutError:
                continue
            if resp.created and not resp.events and not resp.canceled:
                continue  # clientv3 does not hand the created response to etcdctl
            if resp.canceled:
                sys.stderr.write(f"watch was canceled ({_watch_error(resp)})\n")
            if out.fmt == "json":
                out.json(
                    {
                        "Header": header_json(resp.header),
                        "Events": [event_json(e) for e in resp.events],
                        "CompactRevision": resp.compact_revision,
                        "Canceled": resp.canceled,
                        "Created": resp.created,
                    }
                )
            else:
                for e in resp.events:
                    out.line(e.type.name)
                    if e.prev_kv is not None:
                        out.kv(e.prev_kv)
                    out.kv(e.kv)
            out.flush()
            if resp.canceled:
                raise CtlError(EXIT_INTERRUPTED, "watch is canceled by the server")
            seen += len(resp.events)
            if args.max_events and seen >= args.max_events:
                return


def _lease_id(text: str) -> int:
    return _parse_int(text, 16, "bad lease ID arg ({}), expecting ID in Hex")


def _lease(args: argparse.Namespace, target: Any, out: _Out) -> None:
    from .errors import EtcdError, LeaseNotFoundError

    cmd = args.lease_command
    if cmd == "grant":
        ttl = _parse_int(args.ttl, 10, "bad TTL ({})")
        try:
            r = target.grant(ttl)
        except EtcdError as exc:
            raise CtlError(EXIT_ERROR, f"failed to grant lease ({exc})") from None
        if out.fmt == "json":
            out.json({**header_json(r.header), "ID": r.id, "TTL": r.ttl, "Error": ""})
        elif out.fmt == "table":
            _table_unsupported()
        else:
            out.line(f"lease {r.id:016x} granted with TTL({r.ttl}s)")
    elif cmd == "revoke":
        lease_id = _lease_id(args.id)
        try:
            r = target.revoke(lease_id)
        except EtcdError as exc:
            raise CtlError(EXIT_ERROR, f"failed to revoke lease ({exc})") from None
        if out.fmt == "json":
            out.json({"header": header_json(r.header)})
        elif out.fmt == "table":
            _table_unsupported()
        else:
            out.line(f"lease {lease_id:016x} revoked")
    elif cmd == "timetolive":
        lease_id = _lease_id(args.id)
        t = _bad_connection(lambda: target.time_to_live(lease_id, keys=args.keys))
        if out.fmt == "json":
            keys = [_b64(k) for k in t.keys] or None
            out.json(
                {
                    **header_json(t.header),
                    "id": t.id,
                    "ttl": t.ttl,
                    "granted-ttl": t.granted_ttl,
                    "keys": keys,
                }
            )
        elif out.fmt == "table":
            _table_unsupported()
        elif t.granted_ttl == 0 and t.ttl == -1:
            out.line(f"lease {t.id:016x} already expired")
        else:
            text = f"lease {t.id:016x} granted with TTL({t.granted_ttl}s), remaining({t.ttl}s)"
            if args.keys:
                text += f", attached keys([{' '.join(k.decode(errors='replace') for k in t.keys)}])"
            out.line(text)
    elif cmd == "list":
        r = _bad_connection(target.leases)
        if out.fmt == "json":
            out.json({**header_json(r.header), "leases": [{"id": s.id} for s in r.leases]})
        elif out.fmt == "table":
            _table_unsupported()
        else:
            out.line(f"found {len(r.leases)} leases")
            for s in r.leases:
                out.line(f"{s.id:016x}")
    else:  # keep-alive
        lease_id = _lease_id(args.id)

        def show(k: Any) -> None:
            if out.fmt == "json":
                out.json({**header_json(k.header), "ID": k.id, "TTL": k.ttl})
            elif out.fmt == "table":
                _table_unsupported()
            else:
                out.line(f"lease {k.id:016x} keepalived with TTL({k.ttl})")
            out.flush()

        if args.once:
            show(_bad_connection(lambda: target.keep_alive_once(lease_id)))
            return
        try:
            with target.keep_alive(lease_id) as stream:
                for k in stream:
                    show(k)
        except LeaseNotFoundError:
            pass
        if out.fmt == "simple":
            out.line(f"lease {lease_id:016x} expired or revoked.")


def _bad_connection(call: Callable[[], Any]) -> Any:
    """``call()``, its failure exiting as etcdctl's ``ExitBadConnection`` (2)."""
    from .errors import EtcdError

    try:
        return call()
    except EtcdError as exc:
        raise CtlError(EXIT_BAD_CONNECTION, str(exc)) from None


def _endpoint(args: argparse.Namespace, target: Any, out: _Out) -> None:
    """``endpoint status``: each endpoint's Status, one connection each."""
    from .errors import EtcdError

    statuses = []
    if args.data_dir is not None:
        statuses.append((args.data_dir, target.status()))
    else:
        from .remote import connect

        for ep in _endpoint_list(args):
            client = connect(ep, timeout=_seconds(args.command_timeout))
            try:
                statuses.append((ep, client.status()))
            except EtcdError as exc:
                sys.stderr.write(f"Failed to get the status of endpoint {ep} ({exc})\n")
            finally:
                client.close()
    if out.fmt == "json":
        out.json([{"Endpoint": ep, "Status": status_json(s)} for ep, s in statuses])
    else:
        head = ["endpoint", "ID", "version", "db size", "is leader", "is learner"]
        head += ["raft term", "raft index", "raft applied index", "errors"]
        rows = [
            [
                ep,
                f"{s.header.member_id:x}",
                s.version,
                humanize_bytes(s.db_size),
                str(s.leader == s.header.member_id).lower(),
                str(s.is_learner).lower(),
                str(s.raft_term),
                str(s.raft_index),
                str(s.raft_applied_index),
                ", ".join(s.errors),
            ]
            for ep, s in statuses
        ]
        if out.fmt == "table":
            out.line(render_table(head, rows).rstrip("\n"))
        else:
            for row in rows:
                out.line(", ".join(row))
    if len(statuses) < len(_endpoint_list(args)) and args.data_dir is None:
        raise CtlError(EXIT_ERROR, "")  # etcdctl says nothing more


def status_json(s: Any) -> dict[str, object]:
    return {"header": header_json(s.header)} | _omit_zero(
        (
            ("version", s.version),
            ("dbSize", s.db_size),
            ("leader", s.leader),
            ("raftIndex", s.raft_index),
            ("raftTerm", s.raft_term),
            ("raftAppliedIndex", s.raft_applied_index),
            ("errors", list(s.errors)),
            ("dbSizeInUse", s.db_size_in_use),
            ("isLearner", s.is_learner),
        )
    )


# --------------------------------------------------------------------------- running


def _seconds(text: str) -> float:
    """A duration as etcdctl's flags take it (``5s``, ``500ms``, ``1m``) or plain seconds."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m)?", text.strip())
    if m is None:
        raise CtlError(EXIT_BAD_ARGS, f"invalid duration {text!r}")
    scale = {"ms": 0.001, "s": 1.0, "m": 60.0, None: 1.0}[m[2]]
    return float(m[1]) * scale


def _endpoint_list(args: argparse.Namespace) -> list[str]:
    return [e for e in args.endpoints.split(",") if e]


def _open(args: argparse.Namespace) -> Any:
    """The store or client the command talks to."""
    if args.data_dir is not None:
        from ._store import Store
        from .errors import DataDirError

        try:
            return Store(data_dir=args.data_dir)
        except (DataDirError, OSError) as exc:  # in use by another process, unreadable...
            raise CtlError(EXIT_ERROR, str(exc)) from None
    from .remote import TLS, connect

    user, password = args.user, args.password
    if user is not None and password is None:
        if ":" not in user:
            raise CtlError(EXIT_BAD_ARGS, "password is missing (give --user name:password)")
        user, password = user.split(":", 1)
    endpoints = _endpoint_list(args)
    tls: TLS | None = None
    if args.cacert or args.cert_file or any(e.startswith("https://") for e in endpoints):
        tls = TLS(ca_file=args.cacert, cert_file=args.cert_file, key_file=args.key_file)
        endpoints = [e if "://" in e else "https://" + e for e in endpoints]
    return connect(
        endpoints,
        user=user,
        password=password,
        tls=tls,
        timeout=_seconds(args.command_timeout),
    )


_RUN: dict[str, Callable[[argparse.Namespace, Any, _Out], None]] = {
    "get": _get,
    "put": _put,
    "del": _del,
    "watch": _watch,
    "txn": _txn,
    "lease": _lease,
    "compaction": _compaction,
    "endpoint": _endpoint,
}


def run(args: argparse.Namespace, stdout: BinaryIO | None = None) -> int:
    """Run the parsed command ``args.command``; the exit status (etcdctl's codes)."""
    from .errors import EtcdError

    out = _Out(
        args.write_out, stdout if stdout is not None else getattr(sys.stdout, "buffer", None)
    )
    target: Any = None
    try:
        target = _open(args)
        _RUN[args.command](args, target, out)
        return 0
    except CtlError as exc:
        return _fail(out, exc.code, str(exc))
    except EtcdError as exc:
        return _fail(out, EXIT_ERROR, str(exc))
    except (ValueError, OSError, ImportError) as exc:
        return _fail(out, EXIT_ERROR, str(exc))
    except KeyboardInterrupt:
        out.flush()
        return EXIT_CTRL_C
    finally:
        out.flush()
        if target is not None:
            target.close()


def _fail(out: _Out, code: int, message: str) -> int:
    out.flush()
    if message:
        sys.stderr.write(f"Error: {message}\n")
    return code
