"""The docs say what the code says: generated pages are up to date, links resolve."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_differences_page_is_generated_from_the_registry() -> None:
    """docs/differences.md is exactly what scripts/gen_differences.py renders."""
    spec = importlib.util.spec_from_file_location(
        "gen_differences", ROOT / "scripts" / "gen_differences.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    page = (ROOT / "docs" / "differences.md").read_text(encoding="utf-8")
    assert page == module.render(), "run: python scripts/gen_differences.py"


def test_relative_links_resolve() -> None:
    """Every relative link in the README and docs points at a file that exists."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for page in pages:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"
