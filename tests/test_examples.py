"""Every script in examples/ runs, as a user would run it, and prints what it promises."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

#: What each example must print (a line fragment per step the README promises).
EXPECTED = {
    "leases_and_locks.py": [
        "registered    -> ['services/api/10.0.0.1']",
        "after 10 s    -> 0 instances",
        "counter       -> 300 (3 threads x 100)",
        "leader        -> node-1",
        "after resign  -> node-2",
    ],
    "quickstart.py": [
        "-> revision 2",
        "get config/db/host            -> 10.0.0.6",
        "succeeded: True | value now: 10.0.0.7",
        "at rev 2   -> 10.0.0.5",
        "etcdserver: mvcc: required revision has been compacted",
    ],
}


def test_every_example_is_listed() -> None:
    """A new example gets its expected output here, so it cannot rot unnoticed."""
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs(name: str) -> None:
    """The example exits 0 and prints each promised line."""
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    for fragment in EXPECTED[name]:
        assert fragment in out.stdout, (fragment, out.stdout)
