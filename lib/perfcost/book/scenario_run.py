"""Running a scenario: every chapter re-run with its share of the team's numbers, on Dask, then
the team's own copy of the book and a one-page summary.

:func:`run_scenario` re-runs each chapter of a checked :class:`~perfcost.book.scenario.Scenario`
in its own kernel and folder (``OUTDIR/runs/CHAPTER/``) on a Dask cluster
(:mod:`perfcost.cluster`: a LocalCluster, or a scheduler's), reports each chapter as it
finishes, and keeps going when one fails. Then it writes the book's sources with the scenario's
notebooks (``OUTDIR/source/``), builds them (``OUTDIR/html/``,
:mod:`perfcost.book.scenario_book`) and writes the summary (``OUTDIR/summary.json`` and
``summary.html``, :mod:`perfcost.book.scenario_summary`).

One chapter waits for another: chapter 2 (cost) prices by default the throughput gain chapter 4
(compression) measured, read from a book's executed compression notebook (its ``book_root``).
When a scenario runs both and sets neither ``throughput_gain`` nor ``book_root``, cost runs after
the others, with ``book_root`` the scenario's own book source, which by then holds the scenario's
compression notebook: the gain priced is the one measured with the team's numbers. If
compression failed, cost prices the book's published gain instead, and its page says so.

A folder is only ever cleared of what a scenario writes, and only when it holds the mark a
scenario leaves (``.perfcost-scenario``): a folder of other files is refused before anything
runs.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from perfcost.book.chapters import RerunError, find_chapters, output_folder
from perfcost.book.scenario import Scenario, ScenarioError
from perfcost.book.scenario_book import (
    LOG_NAME,
    BookError,
    build_book,
    cell_timeout_s,
    copy_book,
    place_notebook,
    write_sources,
)
from perfcost.book.scenario_summary import write_summary
from perfcost.book.sweep import run_point
from perfcost.cluster import Outcome, dask_client, run_jobs

__all__ = ["MARK", "ScenarioChapter", "ScenarioRun", "default_outdir",
           "run_scenario", "scenario_outdir"]

MARK = ".perfcost-scenario"  # left in every scenario folder: only such a folder is cleared
WRITTEN = ("runs", "source", "html", ".build", "summary.json", "summary.html", LOG_NAME)
# Slowest first, so the longest chapter starts at once (and compression ends before cost).
FIRST = ("compression", "batching", "design", "capacity", "cost")


@dataclass(frozen=True)
class ScenarioChapter:
    """One chapter's re-run: its glued results, or the one-line error it failed with."""

    chapter: str
    notebook: Path  # the executed notebook (partly executed when it failed; may be missing)
    results: Mapping[str, object] | None  # None when it failed
    error: str = ""
    seconds: float | None = None  # wall time of the re-run, kernel start included
    remark: str = ""  # said on the chapter's page: where a figure it cites came from

    @property
    def ok(self) -> bool:
        """True when every cell ran."""
        return not self.error


@dataclass(frozen=True)
class ScenarioRun:
    """What :func:`run_scenario` did and wrote."""

    scenario: Scenario
    outdir: Path
    chapters: Mapping[str, ScenarioChapter]
    summary_json: Path
    summary_html: Path
    book_index: Path | None  # OUTDIR/html/index.html; None when not built
    book_error: str = ""  # why the book did not build
    book_s: float | None = None  # the book build's wall time

    @property
    def failed(self) -> list[str]:
        """The chapters that failed."""
        return [name for name, run in self.chapters.items() if not run.ok]

    @property
    def ok(self) -> bool:
        """True when every chapter ran and the book, if asked for, built."""
        return not self.failed and not self.book_error


def default_outdir(root: Path, scenario: Scenario) -> Path:
    """``ROOT/_build/scenarios/NAME``."""
    return Path(root) / "_build" / "scenarios" / scenario.name


def scenario_outdir(root: Path, outdir: Path | str) -> Path:
    """``outdir`` absolute, checked to be a folder a scenario may write and clear: never in a
    book's ``analyses/``, not a file, and new, empty or a scenario's folder already.

    Raises
    ------
    ScenarioError
        Naming the folder and why it cannot be used.
    """
    chapter = next(iter(find_chapters(root).values()))
    try:
        folder = output_folder(chapter, outdir)
    except RerunError as error:
        raise ScenarioError(str(error)) from None
    try:
        foreign = folder.is_dir() and any(folder.iterdir()) and not (folder / MARK).is_file()
    except OSError as error:
        raise ScenarioError(f"output folder {folder}: {error.strerror}") from None
    if foreign:
        raise ScenarioError(f"output folder {folder} holds files that are not a scenario's "
                            "(no .perfcost-scenario mark); choose a new or empty folder")
    return folder


def _waits_for_compression(scenario: Scenario) -> bool:
    """Cost runs after compression: both run, and cost reads the measured gain."""
    cost = scenario.values.get("cost")
    return (cost is not None and "compression" in scenario.chapters
            and "book_root" not in scenario.sources["cost"]
            and not cost.get("throughput_gain", 0))


def _waves(scenario: Scenario) -> list[list[str]]:
    order = [c for c in FIRST if c in scenario.chapters]
    order += [c for c in scenario.chapters if c not in order]
    if _waits_for_compression(scenario):
        return [[c for c in order if c != "cost"], ["cost"]]
    return [order]


def _cost_remark(scenario: Scenario, runs: Mapping[str, ScenarioChapter]) -> str:
    """Where cost's throughput gain came from, when it is chapter 4's measured one."""
    if scenario.values["cost"].get("throughput_gain", 0) or "book_root" in scenario.sources[
            "cost"]:
        return ""
    if "compression" not in runs:
        return ("This scenario does not run chapter 4, so its throughput gain is the one the "
                "book's published chapter 4 measured.")
    if runs["compression"].ok:
        return ("Its throughput gain is the one chapter 4 measured in this scenario (run "
                "before this chapter).")
    return ("Chapter 4 failed in this scenario, so its throughput gain is the one the book's "
            "published chapter 4 measured.")


def _chapter_run(outdir: Path, outcome: Outcome) -> ScenarioChapter:
    found = outcome.result if outcome.ok else {}
    error = outcome.error or found.get("error", "")
    notebook = outdir / "runs" / outcome.key / f"{outcome.key}.ipynb"
    return ScenarioChapter(outcome.key, notebook, None if error else found["results"], error,
                      found.get("wall_s"))


def _say(progress: bool) -> Callable[[str], None]:
    if not progress:
        return lambda line: None
    return lambda line: print(line, file=sys.stderr, flush=True)


def _clear(outdir: Path) -> None:
    """Remove what a previous run of a scenario wrote in ``outdir``, and mark it as ours."""
    outdir.mkdir(parents=True, exist_ok=True)
    (outdir / MARK).write_text("written by perfcost scenario: cleared on each run\n")
    for name in WRITTEN:
        path = outdir / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()


def _run_chapters(client, root: Path, scenario: Scenario, outdir: Path,
                  say: Callable[[str], None]) -> dict[str, ScenarioChapter]:
    chapters = find_chapters(root)
    timeout_s = cell_timeout_s(root)
    width = max(len(name) for name in scenario.chapters)
    runs: dict[str, ScenarioChapter] = {}

    def finished(outcome: Outcome) -> None:
        run = runs[outcome.key] = _chapter_run(outdir, outcome)
        status = f"done in {run.seconds:.0f} s" if run.ok else f"failed: {run.error}"
        say(f"  {run.chapter:<{width}}  {status}")

    for wave in _waves(scenario):
        values = {name: dict(scenario.values[name]) for name in wave}
        if wave == ["cost"] and runs["compression"].ok:
            place_notebook(outdir / "source", "compression", runs["compression"].notebook)
            values["cost"]["book_root"] = str(outdir / "source")
        jobs = {name: (str(chapters[name].path), name, values[name],
                       str(outdir / "runs" / name), timeout_s) for name in wave}
        run_jobs(client, run_point, jobs, on_done=finished)
    if "cost" in runs:
        runs["cost"] = replace(runs["cost"], remark=_cost_remark(scenario, runs))
    return {name: runs[name] for name in scenario.chapters}


def _book(outdir: Path, say: Callable[[str], None]) -> tuple[Path | None, str, float | None]:
    """Build ``outdir/source`` into ``outdir/html``: its index, or why not, and the seconds."""
    try:
        seconds = build_book(outdir / "source", outdir)
    except BookError as error:
        say(f"  book: failed: {error}")
        return None, str(error), None
    say(f"  book: built in {seconds:.0f} s")
    return outdir / "html" / "index.html", "", seconds


def run_scenario(root: Path, scenario: Scenario, outdir: Path | str | None = None, *,
                 scheduler: str | None = None, workers: int | None = None,
                 progress: bool = True, build: bool = True) -> ScenarioRun:
    """Re-run every chapter of ``scenario``, then write its book and summary in ``outdir``.

    Parameters
    ----------
    root : Path
        The book's folder.
    scenario : Scenario
        From :func:`perfcost.book.scenario.load_scenario`.
    outdir : path, optional
        Default ``ROOT/_build/scenarios/NAME``; see :func:`scenario_outdir`.
    scheduler : str, optional
        A running Dask scheduler's address; None starts a LocalCluster here.
    workers : int, optional
        LocalCluster workers, in [1, 64]; default this machine's cores.
    progress : bool
        Print a line on standard error per chapter as it finishes, and for the book.
    build : bool
        Build the book's HTML (``OUTDIR/html/``); without, its sources are still written.

    Raises
    ------
    ScenarioError
        For an output folder that cannot be used, before anything runs or is written.
    perfcost.cluster.ClusterError
        When no cluster could be started or reached, before anything is written.
    """
    root = Path(root).resolve()
    outdir = scenario_outdir(root, default_outdir(root, scenario) if outdir is None else outdir)
    say = _say(progress)
    with dask_client(scheduler, workers=workers) as client:
        _clear(outdir)  # once a cluster answered: nothing written before
        copy_book(root, outdir / "source")
        workers_now = len(client.scheduler_info().get("workers", {}))
        say(f"scenario {scenario.name}: {', '.join(scenario.chapters)} on {workers_now} Dask "
            f"worker{'s' if workers_now != 1 else ''}, into {outdir}")
        runs = _run_chapters(client, root, scenario, outdir, say)
    write_sources(root, outdir / "source", scenario, runs)
    book_index, book_error, book_s = _book(outdir, say) if build else (None, "", None)
    summary_json, summary_html = write_summary(root, scenario, runs, outdir,
                                               book=book_index is not None)
    return ScenarioRun(scenario, outdir, runs, summary_json, summary_html, book_index,
                       book_error, book_s)
