"""``perfcost scenario``: the whole book re-run with a team's numbers, from one YAML file.

    perfcost scenario FILE [-o OUTDIR] [--scheduler ADDRESS] [--workers N] [--no-progress]
                           [--no-book]

The file is read and checked in full first (:func:`perfcost.book.scenario.load_scenario`), then
every chapter runs on Dask and the book and the summary are written
(:func:`perfcost.book.scenario_run.run_scenario`): ``OUTDIR/html/index.html``,
``OUTDIR/summary.html`` and ``OUTDIR/summary.json``, OUTDIR by default
``_build/scenarios/NAME`` for ``NAME.yaml``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from perfcost.book.chapters import RerunError
from perfcost.book.scenario import load_scenario
from perfcost.book.scenario_run import default_outdir, run_scenario, scenario_outdir
from perfcost.book.sweep_cli import add_cluster_arguments
from perfcost.cluster import ClusterError, cluster_in_words
from perfcost.validation import ParameterError

__all__ = ["add_scenario_parser", "run_scenario_command"]

EXIT_OK, EXIT_CHAPTER_FAILED, EXIT_BAD_INPUT = 0, 1, 2

_EXIT_CODES = """exit status:
  0  every chapter ran and the book built
  1  a chapter failed (reported; the others ran; the book and summary are written), or the
     book did not build
  2  bad input, or no scheduler at --scheduler: nothing ran and nothing was written"""


def add_scenario_parser(commands) -> argparse.ArgumentParser:
    """Add ``scenario`` to the ``perfcost`` subcommands; return its parser."""
    scenario = commands.add_parser(
        "scenario", help="re-run every chapter with a team's numbers: a book and a summary",
        epilog=_EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    scenario.add_argument("file", help="the scenario, NAME.yaml (see scenarios/example.yaml)")
    scenario.add_argument("-o", "--outdir",
                          help="where to write (default _build/scenarios/NAME); a folder a "
                               "scenario wrote before is cleared first")
    add_cluster_arguments(scenario)
    scenario.add_argument("--no-progress", action="store_true",
                          help="print no line per chapter as it finishes")
    scenario.add_argument("--no-book", action="store_true",
                          help="write the book's sources but do not build its HTML")
    return scenario


def _report(run) -> None:
    if run.book_index is not None:
        print(f"book:    {run.book_index}")
    elif run.book_error:
        print(f"book:    not built: {run.book_error}")
    else:
        print(f"book:    sources in {run.outdir / 'source'} (not built: --no-book)")
    print(f"summary: {run.summary_html}\n         {run.summary_json}")
    for name in run.failed:
        print(f"perfcost: chapter {name!r} failed: {run.chapters[name].error} (the partly "
              f"executed notebook: {run.chapters[name].notebook})", file=sys.stderr)


def run_scenario_command(root: Path, args: argparse.Namespace) -> int:
    """Check the scenario ``args.file``, run it, and report; return the exit status."""
    try:
        if not str(args.file).strip():
            raise RerunError("scenario needs the path of a scenario file; got ''")
        scenario = load_scenario(args.file, root=root)
        outdir = scenario_outdir(root, args.outdir if args.outdir is not None
                                 else default_outdir(root, scenario))
        cluster_in_words(args.scheduler, args.workers)
        run = run_scenario(root, scenario, outdir, scheduler=args.scheduler,
                           workers=args.workers, progress=not args.no_progress,
                           build=not args.no_book)
    except (RerunError, ParameterError, ClusterError) as error:
        print(f"perfcost: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    _report(run)
    return EXIT_OK if run.ok else EXIT_CHAPTER_FAILED
