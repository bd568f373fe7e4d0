"""Write docs/differences.md from the divergence registry (tests/conformance/divergences.py).

Run from the repository root: ``python scripts/gen_differences.py``. A test fails when the
committed page differs from what this renders, so the page always says what the registry says.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "differences.md"

_KINDS = {
    "version": ("Fixed in etcd after 3.4", "etcdlite follows current etcd."),
    "crash": ("Requests that crash etcd", "etcdlite answers them with an error instead."),
    "transport": ("The gRPC transport", "What the transport in front of etcd does."),
    "choice": ("Deliberate choices", "Corners no client depends on, answered differently."),
}

_INTRO = """\
# Differences from etcd

etcdlite follows etcd's semantics, and its conformance tests run the same operations against a
real etcd 3.4 (Debian's 3.4.23) and compare the answers. Where etcdlite knowingly answers
differently, the difference is registered once, in `tests/conformance/divergences.py`, with its
reason; the tests that meet it assert etcd 3.4's behaviour on etcd and etcdlite's on the store,
so every entry below is checked against a running etcd, not believed.

Most entries are places where etcd fixed a bug after 3.4 and etcdlite follows the fix. For the
fixes that change what a client can observe, `Store(compat="3.4")` reproduces 3.4.

This page is generated from the registry by `python scripts/gen_differences.py`.
"""


def render() -> str:
    """The page, from the registry."""
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        from conformance.divergences import DIVERGENCES
    finally:
        sys.path.pop(0)
    out = [_INTRO]
    for kind, (heading, meaning) in _KINDS.items():
        entries = [d for d in DIVERGENCES.values() if d.kind == kind]
        if not entries:
            continue
        out.append(f"\n## {heading}\n\n{meaning}\n")
        for d in entries:
            out.append(f"\n### `{d.id}`\n\n")
            out.append(f"- **etcd 3.4.23:** {d.etcd_34}.\n")
            out.append(f"- **etcdlite:** {d.etcdlite}.\n")
            out.append(f"- **Why:** {d.reason}.\n")
            if d.fixed_in:
                versions = ", ".join(".".join(map(str, v)) for v in d.fixed_in)
                out.append(f"- **Fixed in etcd:** {versions}.\n")
            if d.store_compat:
                out.append(f'- **3.4 behaviour:** `Store(compat="{d.store_compat}")`.\n')
            out.append(f"- **References:** {'; '.join(d.refs)}.\n")
    return "".join(out)


def main() -> None:
    PAGE.write_text(render(), encoding="utf-8")
    print(f"wrote {PAGE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
