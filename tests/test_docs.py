"""The docs say what the code says: generated pages are up to date, links resolve, code runs.

The ``>>>`` blocks of the Markdown pages run as doctests (``--doctest-glob=*.md``); the plain
```python blocks run here, each page's in a fresh interpreter, unless the line before a block is
``<!-- no-run: reason -->`` (only for code that needs a real etcd cluster or the network).
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load_script(name: str) -> Any:
    """Import ``scripts/<name>.py`` (registered in ``sys.modules``, as dataclasses need)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_differences_page_is_generated_from_the_registry() -> None:
    """docs/differences.md is exactly what scripts/gen_differences.py renders."""
    page = (ROOT / "docs" / "differences.md").read_text(encoding="utf-8")
    assert page == _load_script("gen_differences").render(), (
        "run: python scripts/gen_differences.py"
    )


def test_relative_links_resolve() -> None:
    """Every relative link in the README and docs points at a file that exists."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for page in pages:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"


def test_api_reference_is_generated_from_the_docstrings() -> None:
    """docs/api.md is what scripts/gen_api.py renders now, and the docstrings it reads are
    complete: every public name documented, every cross-reference resolving."""
    page, problems = _load_script("gen_api").build()
    assert not problems, "fix these docstrings, then run: python scripts/gen_api.py\n" + "\n".join(
        problems
    )
    committed = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    assert committed == page, (
        "docs/api.md is stale (a public name or docstring changed): run python scripts/gen_api.py"
    )


@dataclass(frozen=True)
class Block:
    """A fenced ```python block of a page: where it starts and, if marked no-run, why not."""

    page: Path
    line: int  # of the block's first code line, 1-based
    source: str
    no_run: str | None

    @property
    def name(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


_FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
_NO_RUN = re.compile(r"<!--\s*no-run\b:?(.*?)-->")


def _python_blocks(page: Path) -> list[Block]:
    """The plain (not ``>>>``) python blocks of a page; ``>>>`` blocks are doctests already."""
    text = page.read_text(encoding="utf-8")
    blocks = []
    for match in _FENCE.finditer(text):
        source = match.group(1)
        if any(line.lstrip().startswith(">>>") for line in source.splitlines()):
            continue
        last_line = text[: match.start()].rstrip().rpartition("\n")[2]
        marker = _NO_RUN.fullmatch(last_line.strip())
        reason = marker.group(1).strip() if marker else None
        line = text.count("\n", 0, match.start(1)) + 1
        blocks.append(Block(page, line, source, reason))
    return blocks


PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCKS = [block for page in PAGES for block in _python_blocks(page)]
RUNNABLE = [b for b in BLOCKS if b.no_run is None]

#: Runs a page's blocks in order in one namespace; each compiles under the page's name, padded
#: so that a traceback points at the line of the Markdown file. A block whose first line is a
#: file name comment (``# myapp.py``) is also saved under that name, for later blocks to import.
_RUNNER = """
import json, re, sys
namespace = {"__name__": "__main__"}
for path, line, source in json.load(sys.stdin):
    named = re.match(r"# ([\\w.]+\\.py)\\n", source)
    if named:
        with open(named.group(1), "w", encoding="utf-8") as f:
            f.write(source)
    exec(compile("\\n" * (line - 1) + source, path, "exec"), namespace)
"""


def _run_blocks(blocks: list[Block], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _RUNNER],
        input=json.dumps([[str(b.page), b.line, b.source] for b in blocks]),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    "page", sorted({b.page for b in RUNNABLE}), ids=lambda p: str(p.relative_to(ROOT))
)
def test_python_blocks_run(page: Path, tmp_path: Path) -> None:
    """Every plain python block of a page runs, in order, in a fresh interpreter in an empty
    directory, and exits cleanly within a minute (threads and servers it starts included)."""
    out = _run_blocks([b for b in RUNNABLE if b.page == page], tmp_path)
    assert out.returncode == 0, out.stderr


@pytest.mark.parametrize(
    "block", [b for b in BLOCKS if b.no_run is not None], ids=lambda b: f"{b.name} {b.no_run}"
)
def test_blocks_not_run_say_why(block: Block) -> None:
    """A block marked ``<!-- no-run: reason -->`` is listed here by name and reason (so a run
    shows what is not executed), and the reason is given."""
    assert block.no_run, f"{block.name}: say why the block cannot run: <!-- no-run: reason -->"


def test_markdown_python_blocks_are_found() -> None:
    """The block finder sees the README's doctest and the pages' plain blocks (a regex that
    matched nothing would make the tests above pass vacuously)."""
    assert any(b.page.name == "gateway.md" for b in RUNNABLE)
    assert _python_blocks(ROOT / "README.md") == []  # its one block is a doctest
    assert "```python" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_tutorial_tests_pass_with_the_plugin(tmp_path: Path) -> None:
    """The tutorial's promise: its myapp.py and test_myapp.py, saved as a user would, pass
    under pytest with the installed plugin's fixtures (no conftest.py)."""
    blocks = [b for b in RUNNABLE if b.page.name == "tutorial.md"]
    assert _run_blocks(blocks, tmp_path).returncode == 0
    assert sorted(p.name for p in tmp_path.glob("*.py")) == ["myapp.py", "test_myapp.py"]
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_myapp.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "2 passed" in out.stdout, out.stdout


def test_no_run_marker_applies_to_the_next_block_only(tmp_path: Path) -> None:
    """``<!-- no-run: reason -->`` marks the python block right after it, and no other; a
    marker without a reason is found with an empty one (which the test above refuses)."""
    page = tmp_path / "page.md"
    page.write_text(
        "<!-- no-run: needs a cluster -->\n```python\na = 1\n```\n\n"
        "text\n\n```python\nb = 2\n```\n\n"
        "<!-- no-run -->\n```python\nc = 3\n```\n\n"
        "```python\n>>> d = 4\n\n```\n",
        encoding="utf-8",
    )
    found = [(b.line, b.source, b.no_run) for b in _python_blocks(page)]
    assert found == [(3, "a = 1\n", "needs a cluster"), (9, "b = 2\n", None), (14, "c = 3\n", "")]


def test_api_generator_treats_warnings_as_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    """gen_api reports a public name without a docstring and a cross-reference to nothing,
    and its command exits 1 on them without writing the page."""
    import etcdlite

    gen_api = _load_script("gen_api")
    monkeypatch.setattr(etcdlite.prefix_end, "__doc__", "See :meth:`Store.no_such_method`.")
    monkeypatch.setattr(etcdlite.Store.compact, "__doc__", None)
    monkeypatch.setattr(gen_api, "PAGE", Path("/nonexistent/api.md"))  # never written
    _, problems = gen_api.build()
    assert problems == [
        "etcdlite.Store.compact: no docstring",
        "etcdlite.prefix_end: :meth:`Store.no_such_method` names nothing that exists",
    ]
    assert gen_api.main([]) == 1
