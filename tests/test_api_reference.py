"""The API reference is current: a page for every public module, none for a module that is gone,
every page in the table of contents, and the introduction listing every module.

The pages are written by ``tools/api_pages.py`` from the source (no import, no book build), so
these checks take well under a second; the book build in test_book.py checks the warnings.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RERUN = "run `.venv/bin/python tools/api_pages.py` and commit what it writes"


def _api_pages():
    spec = importlib.util.spec_from_file_location("api_pages", ROOT / "tools" / "api_pages.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["api_pages"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


api_pages = _api_pages()
MODULES = api_pages.public_modules()
EXPECTED = api_pages.expected_files()  # computed once: each file's current text


def _source_modules() -> set[str]:
    """Every public module under lib/perfcost, found from the files, independently."""
    found = set()
    for path in (ROOT / "lib" / "perfcost").rglob("*.py"):
        parts = path.relative_to(ROOT / "lib").with_suffix("").parts
        if "__pycache__" in parts or any(p.startswith("_") and p != "__init__" for p in parts):
            continue
        found.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return found


def _page_module(path: Path) -> str:
    """The module a page documents, read from its automodule directive."""
    names = re.findall(r"^\.\. automodule:: (\S+)$", path.read_text(encoding="utf-8"), re.M)
    assert len(names) == 1, f"{path.name}: {len(names)} automodule directives, expected 1"
    return names[0]


def test_every_public_module_has_a_page():
    assert {m.name for m in MODULES} == _source_modules()
    pages = {_page_module(p) for p in (ROOT / "book" / "api").glob("*.md")}
    missing = _source_modules() - pages
    assert not missing, f"modules without an API page: {sorted(missing)}; {RERUN}"


def test_no_page_names_a_module_that_is_gone():
    modules = _source_modules()
    for page in (ROOT / "book" / "api").glob("*.md"):
        name = _page_module(page)
        assert name in modules, f"{page.name} documents {name}, which no longer exists; {RERUN}"
        expected = "index.md" if name == "perfcost" else f"{name}.md"
        assert page.name == expected


def test_toc_lists_every_page_once():
    toc = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    listed = re.findall(r"^\s*- file: (book/api/\S+)$", toc, re.M)
    pages = sorted(f"book/api/{p.stem}" for p in (ROOT / "book" / "api").glob("*.md"))
    assert sorted(listed) == pages, RERUN
    assert len(listed) == len(set(listed))


def test_introduction_lists_every_module():
    intro = (ROOT / "book" / "intro.md").read_text(encoding="utf-8")
    region = intro.partition(api_pages.INTRO_START)[2].partition(api_pages.INTRO_END)[0]
    listed = re.findall(r"^   (perfcost\S*)$", region, re.M)
    assert sorted(listed) == sorted(_source_modules()), RERUN


@pytest.mark.parametrize("path", sorted(EXPECTED, key=str),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_generated_files_are_current(path):
    """Each page names exactly the public names its module defines, in source order."""
    expected = EXPECTED[path]
    assert path.exists(), f"{path.relative_to(ROOT)} is missing; {RERUN}"
    assert path.read_text(encoding="utf-8") == expected, (
        f"{path.relative_to(ROOT)} is out of date; {RERUN}")


def test_pages_document_names_from_their_own_module(tmp_path):
    """A name a module only re-exports is documented where it is defined, not twice."""
    package = tmp_path / "lib" / "perfcost"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text('"""Top."""\n')
    (package / "a.py").write_text('"""A."""\n__all__ = ["f", "LIMIT"]\nLIMIT = 3  # at most\n'
                                  'def f():\n    """F."""\n')
    (package / "b.py").write_text('"""B."""\nfrom perfcost.a import f\n__all__ = ["f", "g"]\n'
                                  'def g():\n    """G."""\ndef _h():\n    pass\n')
    (package / "_private.py").write_text('"""Private."""\n')
    modules = {m.name: m for m in api_pages.public_modules(package)}
    assert sorted(modules) == ["perfcost", "perfcost.a", "perfcost.b"]
    assert [(m.name, m.directive, m.comment, m.value) for m in modules["perfcost.a"].members] == [
        ("LIMIT", "data", "at most", "3"), ("f", "autofunction", "", "")]
    assert [m.name for m in modules["perfcost.b"].members] == ["g"]
