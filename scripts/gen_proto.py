"""Regenerate ``etcdlite/server/_pb/`` from our .proto files in ``etcdlite/server/proto/``.

Run from anywhere: ``python scripts/gen_proto.py`` rewrites the generated package;
``python scripts/gen_proto.py --check`` changes nothing and exits 1, naming the files, when the
committed package differs from what the .proto files produce (a test runs it, so CI fails on a
stale package).

The output is deterministic: protoc from one pinned ``grpcio-tools`` version (``GRPCIO_TOOLS``,
the same pin as the ``test`` extra in pyproject.toml), the .proto files compiled in sorted order
with paths relative to the proto directory, and protoc's top-level imports of sibling modules
(``import rpc_pb2 as rpc__pb2``) rewritten to package-relative ones
(``from . import rpc_pb2 as rpc__pb2``), so ``etcdlite.server._pb`` imports without any
``sys.path`` change. ``*_pb2_grpc.py`` is kept only for files that define a service; ``.pyi``
stubs come from protoc's ``--pyi_out``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "etcdlite" / "server" / "proto"
OUT_DIR = ROOT / "etcdlite" / "server" / "_pb"

#: The grpcio-tools release whose protoc produced the committed files (pinned in pyproject.toml).
GRPCIO_TOOLS = "1.85.1"

INIT = '''\
"""Generated protobuf and gRPC modules for etcd's v3 API (private: never import from outside
etcdlite). Do not edit: ``python scripts/gen_proto.py`` regenerates this package from
``etcdlite/server/proto/*.proto``.
"""
'''

_GENERATED = re.compile(r".*_pb2(_grpc)?\.pyi?$")


def _rewrite_imports(text: str, siblings: set[str]) -> str:
    """Make protoc's absolute imports of sibling modules package-relative."""

    def absolute(m: re.Match[str]) -> str:
        module = m[2]
        return f"{m[1]}from . import {module}{m[3]}" if module in siblings else m[0]

    def from_import(m: re.Match[str]) -> str:
        module = m[2]
        return f"{m[1]}from .{module} import" if module in siblings else m[0]

    text = re.sub(r"(?m)^(\s*)import (\w+)( as \w+)?$", absolute, text)
    return re.sub(r"(?m)^(\s*)from (\w+) import", from_import, text)


def _check_tools_version() -> None:
    try:
        found = importlib.metadata.version("grpcio-tools")
    except importlib.metadata.PackageNotFoundError:
        sys.exit("gen_proto: grpcio-tools is not installed (pip install -e '.[test]')")
    if found != GRPCIO_TOOLS:
        sys.exit(
            f"gen_proto: grpcio-tools {found} is installed, but the generated files come from "
            f"{GRPCIO_TOOLS} (install grpcio-tools=={GRPCIO_TOOLS}, or change the pin here and "
            "in pyproject.toml together and regenerate)"
        )


def render() -> dict[str, str]:
    """The generated package: file name -> text, exactly as it should be committed."""
    _check_tools_version()
    protos = sorted(p.name for p in PROTO_DIR.glob("*.proto"))
    siblings = {f"{Path(name).stem}_pb2" for name in protos}
    with tempfile.TemporaryDirectory(prefix="etcdlite-gen-proto-") as tmp:
        cmd = [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"--proto_path={PROTO_DIR}",
            f"--python_out={tmp}",
            f"--pyi_out={tmp}",
            f"--grpc_python_out={tmp}",
            *protos,
        ]
        done = subprocess.run(cmd, cwd=PROTO_DIR, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            sys.exit(f"gen_proto: protoc failed:\n{done.stderr}")
        out = {"__init__.py": INIT}
        for path in sorted(Path(tmp).iterdir()):
            text = path.read_text(encoding="utf-8")
            if path.name.endswith("_pb2_grpc.py") and "\nclass " not in text:
                continue  # no service in that file: the gRPC module would be empty
            out[path.name] = _rewrite_imports(text, siblings)
    return out


def _committed() -> dict[str, str]:
    if not OUT_DIR.is_dir():
        return {}
    return {
        p.name: p.read_text(encoding="utf-8")
        for p in sorted(OUT_DIR.iterdir())
        if p.is_file() and (p.name == "__init__.py" or _GENERATED.match(p.name))
    }


def diff(expected: dict[str, str], actual: dict[str, str]) -> list[str]:
    """One line per file that is missing, stale or left over."""
    problems = [f"missing: {name}" for name in sorted(expected.keys() - actual.keys())]
    problems += [f"left over: {name}" for name in sorted(actual.keys() - expected.keys())]
    problems += [
        f"differs: {name}"
        for name in sorted(expected.keys() & actual.keys())
        if expected[name] != actual[name]
    ]
    return problems


def main(argv: list[str] | None = None) -> int:
    """Regenerate, or with ``--check`` report, ``etcdlite/server/_pb/``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="change nothing; exit 1 if the committed files differ from the generated ones",
    )
    args = parser.parse_args(argv)
    expected = render()
    actual = _committed()
    problems = diff(expected, actual)
    rel = OUT_DIR.relative_to(ROOT)
    if args.check:
        if problems:
            print(f"{rel} is out of date; run python scripts/gen_proto.py:", file=sys.stderr)
            for line in problems:
                print(f"  {line}", file=sys.stderr)
            return 1
        print(f"{rel} is up to date ({len(expected)} files)")
        return 0
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for name in actual.keys() - expected.keys():
        (OUT_DIR / name).unlink()
    for name, text in expected.items():
        if actual.get(name) != text:
            (OUT_DIR / name).write_text(text, encoding="utf-8")
    print(f"{rel}: {len(problems)} file(s) changed" if problems else f"{rel}: unchanged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
