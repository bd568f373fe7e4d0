"""Every script in examples/ runs, as a user would run it, and prints what it promises; the
notebook's code cells run headless, in order, in one namespace."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

#: What each example must print (a line fragment per step it promises).
EXPECTED = {
    "config_watch.py": [
        "loaded     {'log_level': 'info', 'workers': '4'} at revision 3",
        "applied  workers = 8",  # the change made before the watch existed is not lost
        "applied  feature/new_ui removed",
        "final      {'log_level': 'debug', 'workers': '8'} at revision 7",
        "matches a fresh read: True",
    ],
    "fenced_lock.py": [
        "counter       -> 200 (4 threads x 50, none lost)",
        "storage       -> 200, 0 writes refused",
        "A's fenced txn succeeded: False",
        "A's storage write accepted: False",
    ],
    "leader_election.py": [
        "leader        -> node-1",
        "proclaimed    -> node-1 (writing)",
        "after crash   -> node-2",
        "node-1 write  -> accepted: False",
        "report        -> report by node-2",
        "after resign  -> election: no leader",
    ],
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
    "service_discovery.py": [
        "three instances registered   -> ['api-1', 'api-2', 'api-3']",
        "a minute later               -> ['api-1', 'api-2', 'api-3']",
        "api-2 shut down              -> ['api-1', 'api-3']",
        "s later     -> ['api-1', 'api-3']",  # a crashed instance stays until its lease ends
        "s later     -> ['api-1']",
    ],
    "stm_bank.py": [
        "total          -> 500 (opened with 500)",
        "conflict       -> ran 2 times",
        "invariants     -> hold at all",
    ],
    "tour_etcd3.py": [
        "get           -> 10.0.0.5 | mod_revision 2",
        "get_prefix    -> ['config/db/host', 'config/db/port']",
        "txn (CAS)     -> succeeded: True",
        "after compact -> etcdserver: mvcc: required revision has been compacted",
        "watch         -> PutEvent config/db/port",
        "watch         -> DeleteEvent config/db/port",
        "after revoke  -> None",
        "lock          -> held: True",
        "server        -> stopped, exit status 0",
    ],
}

#: Examples that need the grpc extra (and, for the tour, python-etcd3: both in the test extra).
MARKS = {"tour_etcd3.py": [pytest.mark.grpc]}


def test_every_example_is_listed() -> None:
    """A new example gets its expected output here, so it cannot rot unnoticed."""
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(EXPECTED)


@pytest.mark.parametrize(
    "name", [pytest.param(name, marks=MARKS.get(name, ())) for name in sorted(EXPECTED)]
)
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


#: Runs the cells given on stdin as a notebook kernel would: in order, in one namespace, the
#: last expression of a cell displayed (its ``_repr_html_`` when it has one, as Jupyter shows).
_KERNEL = """
import ast, json, sys
namespace = {"__name__": "__main__"}
for index, source in json.load(sys.stdin):
    name = f"tour.ipynb, cell {index}"
    tree = ast.parse(source, name)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    exec(compile(tree, name, "exec"), namespace)
    if last is not None:
        value = eval(compile(ast.Expression(last.value), name, "eval"), namespace)
        shown = value._repr_html_() if hasattr(value, "_repr_html_") else repr(value)
        assert isinstance(shown, str), name
    print(f"[cell {index} ok]", flush=True)
"""


def _notebook() -> dict[str, Any]:
    notebook: dict[str, Any] = json.loads((EXAMPLES / "tour.ipynb").read_text(encoding="utf-8"))
    return notebook


def test_notebook_is_nbformat_4() -> None:
    """tour.ipynb is an nbformat 4 notebook of markdown and code cells, saved without
    outputs (so nothing shown in it can be stale)."""
    notebook = _notebook()
    assert notebook["nbformat"] == 4
    assert notebook["nbformat_minor"] >= 4
    assert notebook["metadata"]["kernelspec"]["language"] == "python"
    kinds = [cell["cell_type"] for cell in notebook["cells"]]
    assert set(kinds) == {"markdown", "code"}
    assert kinds.count("code") >= 5
    for cell in notebook["cells"]:
        assert isinstance(cell["source"], list)
        assert all(isinstance(line, str) for line in cell["source"])
        if cell["cell_type"] == "code":
            assert cell["outputs"] == []
            assert cell["execution_count"] is None


def test_notebook_runs_headless() -> None:
    """Every code cell of tour.ipynb runs, in order, in one namespace, without raising, and
    its last expression displays (in a fresh interpreter, bounded to a minute)."""
    cells = [
        (i, "".join(cell["source"]))
        for i, cell in enumerate(_notebook()["cells"])
        if cell["cell_type"] == "code"
    ]
    out = subprocess.run(
        [sys.executable, "-c", _KERNEL],
        input=json.dumps(cells),
        cwd=EXAMPLES,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    done = [line for line in out.stdout.splitlines() if line.startswith("[cell ")]
    assert done == [f"[cell {i} ok]" for i, _ in cells]
