"""A scenario's own copy of the book: the same pages, each chapter executed with the team's numbers.

:func:`copy_book` copies what the book's build reads (:func:`book_files`: ``_config.yml``,
``_toc.yml``, every page the table of contents lists, the bibliography, and every file a page
includes or shows, such as ``book/figures/*.svg`` and the library source a chapter quotes) into
``OUTDIR/source/``. :func:`write_sources` puts the scenario's executed notebooks in place of the
chapters, each opening with a note of what the scenario set (a chapter that failed keeps the
cells that ran, up to the failing one, and says why; a chapter the scenario did not run keeps
the book's and says so), and writes a ``_config.yml`` that titles the copy with the scenario
and executes nothing (the notebooks are executed already). :func:`build_book` builds it as
``make book`` builds the book (Jupyter Book, the same Sphinx extensions, ``--warningiserror``)
into ``OUTDIR/html/``. The source folder is kept: the book can be rebuilt from it, and chapter
2's prose cites the scenario's chapter 4 notebook there.

Used by ``perfcost scenario`` (:mod:`perfcost.book.scenario_run`).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat
import yaml

from perfcost.book.chapters import CHAPTER_FOLDER, find_chapters
from perfcost.files import load_yaml

if TYPE_CHECKING:
    from perfcost.book.scenario import Scenario
    from perfcost.book.scenario_run import ScenarioChapter

__all__ = ["BookError", "book_files", "build_book", "cell_timeout_s", "copy_book",
           "place_notebook", "scenario_note", "write_sources"]

PAGE_SUFFIXES = (".md", ".ipynb", ".rst")
BUILD_TIMEOUT_S = 1800  # the whole book builds in about a minute on 2 cores
LOG_NAME = "book-build.log"  # written beside html/ when the build fails
# A file a page includes or shows: a directive's argument, or a Markdown image.
_DIRECTIVE = re.compile(r"^\s*(?:`{3,}|:{3,})\{(?:literalinclude|include|figure|image)\}\s+(\S+)",
                        re.M)
_IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)")
_ROLE = re.compile(r"\{[A-Za-z][\w:-]*\}")  # a MyST role or directive: {glue:text}, {numref}
PAPERMILL_ERROR_TAG = "papermill-error-cell-tag"


class BookError(RuntimeError):
    """The scenario's book could not be built; the message says why in one line."""


# --- The sources ------------------------------------------------------------------------------


def _toc_files(entry: object) -> list[str]:
    """Every ``root`` and ``file`` named in the table of contents, in order."""
    if isinstance(entry, dict):
        named = [entry[k] for k in ("root", "file") if isinstance(entry.get(k), str)]
        return named + [f for value in entry.values() for f in _toc_files(value)]
    if isinstance(entry, list):
        return [f for item in entry for f in _toc_files(item)]
    return []


def _page(root: Path, name: str) -> Path:
    for candidate in (name, *(f"{name}{suffix}" for suffix in PAGE_SUFFIXES)):
        if (root / candidate).is_file():
            return Path(candidate)
    raise BookError(f"_toc.yml names {name!r}, which is no page in {root}")


def _page_text(path: Path) -> str:
    if path.suffix == ".ipynb":
        return "\n".join(cell.source for cell in nbformat.read(path, as_version=4).cells)
    return path.read_text(encoding="utf-8")


def _shown_files(root: Path, page: Path) -> set[Path]:
    """The files ``page`` includes or shows, relative to ``root``; outside it, none."""
    text = _page_text(root / page)
    found = set()
    for target in _DIRECTIVE.findall(text) + _IMAGE.findall(text):
        if "://" in target or target.startswith(("#", "/")):
            continue
        path = Path(os.path.normpath(root / page.parent / target))
        if path.is_file() and path.is_relative_to(root):
            found.add(path.relative_to(root))
    return found


def book_files(root: Path) -> list[Path]:
    """The files the book's build reads, relative to ``root``."""
    root = Path(root)
    config = load_yaml(root / "_config.yml", what="book configuration") or {}
    toc = load_yaml(root / "_toc.yml", what="table of contents") or {}
    pages = [_page(root, name) for name in _toc_files(toc)]
    files = {Path("_config.yml"), Path("_toc.yml"), *pages}
    files |= {Path(p) for p in config.get("bibtex_bibfiles", []) if (root / p).is_file()}
    for key in ("logo", "favicon"):
        if config.get(key) and (root / config[key]).is_file():
            files.add(Path(config[key]))
    for page in pages:
        files |= _shown_files(root, page)
    return sorted(files)


def copy_book(root: Path, source: Path) -> None:
    """Copy the book's sources (:func:`book_files`) into the new folder ``source``."""
    for relative in book_files(root):
        (source / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(root) / relative, source / relative)


def place_notebook(source: Path, chapter: str, notebook: Path) -> None:
    """Put an executed ``notebook`` in the source's place of ``chapter``."""
    shutil.copyfile(notebook, Path(source) / CHAPTER_FOLDER / f"{chapter}.ipynb")


def cell_timeout_s(root: Path) -> float | None:
    """The book's limit on one cell's run time (``execute.timeout`` in ``_config.yml``), or
    None when it sets none (or the book has no ``_config.yml``)."""
    path = Path(root) / "_config.yml"
    if not path.is_file():
        return None
    config = load_yaml(path, what="book configuration") or {}
    timeout = (config.get("execute") or {}).get("timeout")
    if isinstance(timeout, int | float) and not isinstance(timeout, bool) and timeout > 0:
        return float(timeout)
    return None


# --- The chapters' pages ----------------------------------------------------------------------


def _code(text: str, *, in_table: bool = False) -> str:
    """``text`` as Markdown inline code (its pipes escaped inside a table cell)."""
    ticks = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    code = f"{ticks}{pad}{text}{pad}{ticks}"
    return code.replace("|", "\\|") if in_table else code


def _set_table(scenario: Scenario, chapter: str) -> str:
    sources = scenario.sources.get(chapter, {})
    if not sources:
        return "The scenario sets none of this chapter's parameters: they are its defaults."
    values = scenario.values[chapter]
    rows = [f"| {_code(name, in_table=True)} | {_code(repr(values[name]), in_table=True)} | "
            f"{_code(source, in_table=True)} |" for name, source in sources.items()]
    return "\n".join(["| parameter | value | set by |", "| --- | --- | --- |", *rows])


def scenario_note(scenario: Scenario, chapter: str, run: ScenarioChapter | None) -> str:
    """The Markdown note that opens ``chapter``'s page in the scenario's book."""
    name = scenario.name
    if run is None:
        return (f":::{{admonition}} Scenario {name}\n:class: note\nScenario {name} did not "
                f"re-run this chapter (its `chapters` list leaves it out): the numbers below "
                "are the book's own.\n:::")
    if run.ok:
        head = (f":::{{admonition}} Scenario {name}\n:class: important\nThis chapter was run "
                f"with scenario {name}'s numbers ({scenario.path.name}), which set:")
    else:
        head = (f":::{{admonition}} Scenario {name}: this chapter failed\n:class: error\nRun "
                f"with scenario {name}'s numbers ({scenario.path.name}), this chapter failed: "
                f"{_code(run.error)}. Below are the cells that ran, up to the one that failed; "
                "the rest did not run. It was run with:")
    remark = f"\n\n{run.remark}" if run.remark else ""
    return f"{head}\n\n{_set_table(scenario, chapter)}{remark}\n:::"


def _title_index(cells) -> int:
    """The index of the cell holding the page's title (a ``# `` heading), else 0."""
    for index, cell in enumerate(cells):
        if cell.cell_type == "markdown" and re.search(r"^# ", cell.source, re.M):
            return index
    return 0


def _bare_title(cell):
    """The title cell, cut after its heading if its prose cites results."""
    if _ROLE.search(cell.source):
        lines = cell.source.splitlines()
        heading = next((i for i, line in enumerate(lines) if line.startswith("# ")), -1)
        cell.source = "\n".join(lines[:heading + 1])
    return cell


def _ran_part(cells) -> list:
    """A failed chapter's cells that can stand alone: its title, then every cell up to the last
    one that ran, less the prose that cites results never computed (roles and directives) and
    figure captions (which cite them too)."""
    cells = [c for c in cells if PAPERMILL_ERROR_TAG not in c.metadata.get("tags", [])]
    title = _title_index(cells)
    ran = [i for i, c in enumerate(cells) if c.cell_type == "code"
           and (c.get("execution_count") is not None or c.get("outputs"))]
    kept = [_bare_title(cells[title])]
    for cell in cells[title + 1:(max(ran, default=title) + 1)]:
        if cell.cell_type == "code":
            cell.metadata.pop("mystnb", None)
            kept.append(cell)
        elif not _ROLE.search(cell.source):
            kept.append(cell)
    return kept


def _chapter_page(name: str, published: Path, scenario: Scenario, run: ScenarioChapter | None):
    """The notebook for a chapter's page: executed, failed or the book's, with its note."""
    executed = run is not None and run.notebook.is_file()
    notebook = nbformat.read(run.notebook if executed else published, as_version=4)
    cells = notebook.cells
    if run is not None and not run.ok:
        cells = _ran_part(cells) if executed else [_bare_title(cells[_title_index(cells)])]
    note = nbformat.v4.new_markdown_cell(scenario_note(scenario, name, run))
    index = _title_index(cells)
    notebook.cells = [*cells[:index + 1], note, *cells[index + 1:]]
    return notebook


def _write_config(root: Path, source: Path, name: str) -> None:
    config = load_yaml(Path(root) / "_config.yml", what="book configuration") or {}
    config["title"] = f"{config.get('title', 'The book')} (scenario {name})"
    config.setdefault("execute", {})["execute_notebooks"] = "off"  # executed already
    text = yaml.safe_dump(config, sort_keys=False, allow_unicode=True, width=100)
    (Path(source) / "_config.yml").write_text(
        f"# The book's _config.yml for scenario {name}: its notebooks are executed already.\n"
        + text, encoding="utf-8")


def write_sources(root: Path, source: Path, scenario: Scenario,
                  runs: Mapping[str, ScenarioChapter]) -> None:
    """Write every chapter's page (:func:`scenario_note` first) and the configuration into
    ``source``, a copy of the book's sources (:func:`copy_book`)."""
    for name, chapter in find_chapters(root).items():
        page = _chapter_page(name, chapter.path, scenario, runs.get(name))
        nbformat.write(page, Path(source) / CHAPTER_FOLDER / f"{name}.ipynb")
    _write_config(root, source, scenario.name)


# --- The build --------------------------------------------------------------------------------


def _first_problem(log: str) -> str:
    plain = re.sub(r"\x1b\[[0-9;]*m", "", log)  # Sphinx colours its warnings
    lines = [line.strip() for line in plain.splitlines() if line.strip()]
    flagged = [line for line in lines if "WARNING" in line or "ERROR" in line]
    return (flagged or lines or ["no output"])[0][:300]


def build_book(source: Path, outdir: Path, *, timeout_s: float = BUILD_TIMEOUT_S) -> float:
    """Build the book at ``source`` as ``make book`` does, into ``outdir/html/``; its seconds.

    Raises
    ------
    BookError
        When Jupyter Book is missing, a warning stops the build (the log is written to
        ``outdir/book-build.log``), or it runs past ``timeout_s``.
    """
    program = Path(sys.executable).with_name("jupyter-book")
    if not program.is_file():
        raise BookError(f"no jupyter-book beside {sys.executable}: pip install 'perfcost[book]'")
    scratch = Path(outdir) / ".build"
    command = [str(program), "build", str(source), "--path-output", str(scratch),
               "--warningiserror", "--keep-going", "--quiet"]
    start = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=source, capture_output=True, text=True,
                              timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise BookError(f"the build ran past {timeout_s:.0f} s and was stopped") from None
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        log = done.stdout + done.stderr
        (Path(outdir) / LOG_NAME).write_text(log, encoding="utf-8")
        raise BookError(f"{_first_problem(done.stderr or log)} (log: {Path(outdir) / LOG_NAME})")
    shutil.move(scratch / "_build" / "html", Path(outdir) / "html")
    shutil.rmtree(scratch)
    return seconds
