"""``perfcost sweep``: a chapter re-run over a grid of parameter values, on Dask.

    perfcost sweep CHAPTER -g NAME V1,V2,... [-g ...] [-p NAME VALUE]... [-f FILE] [-o DIR]
                   [--scheduler ADDRESS] [--workers N] [--plot RESULT] [--no-progress]

Everything is checked before a cluster starts (:mod:`perfcost.book.sweep_grid`,
:func:`perfcost.book.sweep.plan_sweep`); then the points run (:func:`perfcost.book.sweep.run_sweep`)
and their table and chart are written (:mod:`perfcost.book.sweep_table`).
"""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Mapping
from pathlib import Path

import nbformat
from tqdm import tqdm

from perfcost.book.chapters import Chapter, RerunError, output_folder
from perfcost.book.headlines import plotted_result
from perfcost.book.results import glued_results
from perfcost.book.sweep import OK, plan_sweep, point_record, run_sweep
from perfcost.book.sweep_grid import parse_axis
from perfcost.book.sweep_table import sweep_table, write_chart, write_table
from perfcost.cluster import ClusterError, cluster_in_words

__all__ = ["GRID_PAIR", "add_cluster_arguments", "add_sweep_parser", "run_sweep_command"]

GRID_PAIR = "--grid-pair"  # internal: -g NAME VALUES joined, so VALUES may start with '-'

_EXIT_CODES = """exit status:
  0  every point ran or was refused by a rule (the table says which)
  1  a point failed (recorded with its error; the others ran; the table is written)
  2  bad input, or no scheduler at --scheduler: nothing ran"""


def add_sweep_parser(commands) -> argparse.ArgumentParser:
    """Add ``sweep`` to the ``perfcost`` subcommands; return its parser."""
    sweep = commands.add_parser(
        "sweep", help="re-run a chapter over a grid of parameter values, on Dask",
        epilog=_EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    sweep.add_argument("chapter", help="a chapter name, as `perfcost list` shows it")
    sweep.add_argument("-g", "--grid", nargs=2, action="append", default=[],
                       metavar=("NAME", "V1,V2,..."),
                       help="sweep one parameter over comma-separated values (repeatable: "
                            "the grid is the product)")
    sweep.add_argument(GRID_PAIR, action="append", default=[], help=argparse.SUPPRESS)
    sweep.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                       metavar=("NAME", "VALUE"), help="fix one parameter at every point")
    sweep.add_argument("--parameter-pair", action="append", default=[],
                       help=argparse.SUPPRESS)
    sweep.add_argument("-f", "--parameter-file", help="a YAML mapping of fixed parameters")
    sweep.add_argument("-o", "--outdir",
                       help="the sweep's folder (default _build/sweeps/CHAPTER); run again "
                            "with the same grid to resume")
    add_cluster_arguments(sweep)
    sweep.add_argument("--plot", metavar="RESULT",
                       help="the glued result to draw (default: the chapter's headline)")
    sweep.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return sweep


def add_cluster_arguments(parser: argparse.ArgumentParser) -> None:
    """``--scheduler`` and ``--workers``: where a command's re-runs go
    (:func:`perfcost.cluster.cluster_in_words` checks them)."""
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="a running Dask scheduler, tcp://HOST:PORT (default: a local "
                             "cluster on this machine)")
    parser.add_argument("--workers", type=int, metavar="N",
                        help="local cluster workers (default: this machine's cores)")


def _plotted(chapter: Chapter, requested: str | None) -> str:
    """The result the chart draws, checked against what the published chapter glues."""
    published = glued_results(nbformat.read(chapter.path, as_version=4))
    name = requested if requested is not None else plotted_result(chapter.name)
    if name is None or name not in published:
        close = difflib.get_close_matches(str(name), list(published), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise RerunError(f"--plot {name}: {chapter.name} glues no result of that name{hint}")
    return name


def _grid(args: argparse.Namespace) -> list[tuple[str, str]]:
    if any("=" not in pair for pair in args.grid_pair):
        raise RerunError("-g takes NAME V1,V2,...")
    return [tuple(pair.split("=", 1)) for pair in args.grid_pair] + [tuple(g) for g in args.grid]


SHOWN_REFUSALS = 3  # refused points named on the terminal; the table holds every one


def _announce(points, records_done: int, where: str) -> None:
    refused = [p for p in points if p.refused]
    print(f"{len(points)} points: {records_done} already done, {len(refused)} refused by a "
          f"rule, {len(points) - records_done - len(refused)} to run on {where}",
          file=sys.stderr)
    for point in refused[:SHOWN_REFUSALS]:
        print(f"  {dict(point.values)}: {point.refused}", file=sys.stderr)
    if len(refused) > SHOWN_REFUSALS:
        print(f"  and {len(refused) - SHOWN_REFUSALS} more (status in the table)",
              file=sys.stderr)


def _chart_line(table, plot: str, chart) -> str:
    """What the chart line says: its files, and when the result never moves, that too."""
    if not chart:
        return f"chart:  none (no point has {plot})"
    drawn = table[plot][table["status"] == OK].dropna()
    same = (f"\n        {plot} is {drawn.iloc[0]} at every point: --plot another result "
            "to see what the sweep moves") if drawn.nunique() == 1 and len(drawn) > 1 else ""
    return f"chart:  {chart[0]}\n        {chart[1]}{same}"


def run_sweep_command(root: Path, chapter: Chapter, base: Mapping[str, object],
                      args: argparse.Namespace) -> int:
    """Check, run and tabulate the sweep ``args`` asks for; return the exit status."""
    axes = [parse_axis(chapter, name, text) for name, text in _grid(args)]
    points = plan_sweep(chapter, base, axes)
    plot = _plotted(chapter, args.plot)
    outdir = output_folder(chapter, args.outdir if args.outdir is not None
                           else root / "_build" / "sweeps" / chapter.name)
    where = cluster_in_words(args.scheduler, args.workers)
    done = sum(not p.refused and (point_record(outdir, p) or {}).get("status") == OK
               for p in points)
    _announce(points, done, where)
    bar = tqdm(total=len(points), initial=len(points) - sum(
        not p.refused for p in points) + done, unit="point", desc=f"sweep {chapter.name}",
        disable=args.no_progress)

    def finished(point, record) -> None:
        bar.update(1)
        if record["status"] != OK:
            bar.write(f"point {dict(point.values)}: {record['status']}", file=sys.stderr)

    try:
        records = run_sweep(chapter, points, outdir, scheduler=args.scheduler,
                            workers=args.workers, on_done=finished)
    except ClusterError as error:
        raise RerunError(str(error)) from None
    finally:
        bar.close()
    names = [axis.name for axis in axes]
    table = sweep_table(names, records)
    csv_path, parquet_path = write_table(table, outdir)
    chart = write_chart(table, names, plot, outdir, title=f"{chapter.name}: {plot}")
    print(f"table:  {csv_path}\n        {parquet_path}")
    print(_chart_line(table, plot, chart))
    return 1 if any(r["status"].startswith("failed") for r in records.values()) else 0
