"""A scenario's summary: each chapter's headline numbers with the team's inputs, beside the book's.

:func:`write_summary` writes two files in the scenario's folder:

* ``summary.json``: every chapter the scenario ran, mapped to all its glued results (the same
  names as ``perfcost rerun``'s ``CHAPTER.results.json``), or to null when it failed;
* ``summary.html``: one standalone page (no script, nothing fetched) with, per chapter, its
  headline numbers (:data:`perfcost.book.headlines.HEADLINES`) for the scenario beside the
  book's defaults (the glued results of the published ``analyses/CHAPTER.ipynb``), the
  parameters the scenario set and what set them, a link to the chapter in the scenario's book,
  and the error of a chapter that failed.

Used by ``perfcost scenario`` (:mod:`perfcost.book.scenario_run`).
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat

from perfcost.book.chapters import BOOK_ROOT, CHAPTER_FOLDER, chapter_parameters, find_chapters
from perfcost.book.headlines import HEADLINES, headline_results
from perfcost.book.results import glued_results

if TYPE_CHECKING:
    from perfcost.book.scenario import Scenario
    from perfcost.book.scenario_run import ScenarioChapter

__all__ = ["readable", "summary_html", "write_summary"]

STYLE = """
body { font: 16px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto;
       padding: 0 1rem; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25rem 0.75rem; text-align: left; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
.failed { color: #b00020; }
.ok { color: #1b6e20; }
code { font-size: 0.9em; }
"""


def readable(value: object) -> str:
    """A result as a reader reads it: ``yes``/``no``, ``12,345``, ``0.9991``, ``1.234e-05``;
    a missing one as an em dash."""
    if value is None:
        return "\u2014"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float) and math.isfinite(value):
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.4g}"
    return str(value)


def _title(path: Path) -> str:
    """A chapter's title: the first ``# `` heading of its notebook."""
    for cell in nbformat.read(path, as_version=4).cells:
        found = re.search(r"^# (.+)$", cell.source, re.M) if cell.cell_type == "markdown" else None
        if found:
            return found.group(1).strip()
    return path.stem


def _cell(value: object) -> str:
    kind = "number" if isinstance(value, int | float) and not isinstance(value, bool) else "text"
    return f'<td class="{kind}">{html.escape(readable(value))}</td>'


def _headlines(chapter: str, results: Mapping | None, defaults: Mapping) -> str:
    ours = headline_results(chapter, results or {})
    book = headline_results(chapter, defaults)
    names = [n for n in HEADLINES.get(chapter, ()) if n in ours or n in book] or list(
        dict.fromkeys([*ours, *book]))
    rows = "".join(f"<tr><td><code>{html.escape(n)}</code></td>{_cell(ours.get(n))}"
                   f"{_cell(book.get(n))}</tr>" for n in names)
    return ("<table><thead><tr><th>headline</th><th>scenario</th><th>book default</th></tr>"
            f"</thead><tbody>{rows}</tbody></table>")


def _parameters(scenario: Scenario, chapter: str) -> str:
    sources = scenario.sources.get(chapter, {})
    if not sources:
        return "<p>The scenario sets none of this chapter's parameters.</p>"
    values = scenario.values[chapter]
    rows = "".join(f"<tr><td><code>{html.escape(name)}</code></td>{_cell(values[name])}"
                   f"<td><code>{html.escape(source)}</code></td></tr>"
                   for name, source in sources.items())
    return ("<table><thead><tr><th>parameter</th><th>value</th><th>set by</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>")


def _kept(scenario: Scenario, chapter) -> str:
    """The chapter's parameters the scenario leaves at the book's defaults: its assumptions
    that are still the book's, not the team's."""
    kept = [name for name in chapter_parameters(chapter)
            if name not in scenario.sources.get(chapter.name, {}) and name != BOOK_ROOT]
    if not kept:
        return ""
    names = ", ".join(f"<code>{html.escape(name)}</code>" for name in kept)
    return (f"<p>Still the book's defaults (set them under <code>overrides</code> if they are "
            f"not the team's): {names}.</p>")


def _status(run: ScenarioChapter) -> str:
    if run.ok:
        took = f" in {run.seconds:.0f} s" if run.seconds is not None else ""
        return f'<p class="ok">Ran{took}.</p>'
    return f'<p class="failed">Failed: <code>{html.escape(run.error)}</code></p>'


def _section(scenario: Scenario, run: ScenarioChapter, chapter, defaults: Mapping,
             book: bool) -> str:
    title = _title(chapter.path)
    name = html.escape(run.chapter)
    link = (f' <a href="html/{CHAPTER_FOLDER}/{name}.html">the chapter in the scenario\'s '
            "book</a>" if book else "")
    remark = f"<p>{html.escape(run.remark)}</p>" if run.remark else ""
    return (f'<section id="{name}"><h2>{name}: {html.escape(title)}</h2>'
            f"{_status(run)}<p>Headline numbers:{link}</p>"
            f"{_headlines(run.chapter, run.results, defaults)}{remark}"
            f"<h3>Parameters the scenario set</h3>{_parameters(scenario, run.chapter)}"
            f"{_kept(scenario, chapter)}</section>")


def summary_html(root: Path, scenario: Scenario, runs: Mapping[str, ScenarioChapter], *,
                 book: bool) -> str:
    """The summary page; ``book`` says whether ``html/`` (the scenario's book) is beside it."""
    chapters = find_chapters(root)
    name = html.escape(scenario.name)
    failed = [run.chapter for run in runs.values() if not run.ok]
    ran = (f"{len(runs)} chapters ran" + (f"; {len(failed)} failed: {', '.join(failed)}"
                                          if failed else ", all to the end"))
    link = ' <a href="html/index.html">The scenario\'s book</a>.' if book else ""
    sections = "".join(
        _section(scenario, run, chapters[run.chapter],
                 glued_results(nbformat.read(chapters[run.chapter].path, as_version=4)), book)
        for run in runs.values())
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>Scenario {name}: summary</title><style>{STYLE}</style></head><body>"
            f"<h1>Scenario {name}</h1><p>The book's chapters re-run with the numbers of "
            f"<code>{html.escape(scenario.path.name)}</code>: each chapter's headline numbers "
            f"beside the book's defaults. {html.escape(ran)}.{link}</p>{sections}"
            "</body></html>\n")


def write_summary(root: Path, scenario: Scenario, runs: Mapping[str, ScenarioChapter],
                  outdir: Path, *, book: bool) -> tuple[Path, Path]:
    """Write ``outdir/summary.json`` and ``outdir/summary.html``; return their paths."""
    json_path, html_path = Path(outdir) / "summary.json", Path(outdir) / "summary.html"
    results = {name: None if run.results is None else dict(run.results)
               for name, run in runs.items()}
    json_path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    html_path.write_text(summary_html(root, scenario, runs, book=book), encoding="utf-8")
    return json_path, html_path
