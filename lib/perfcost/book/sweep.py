"""A chapter re-run over a grid of parameter values, on Dask, resumable.

:func:`plan_sweep` checks everything before anything runs and lists the grid's points;
:func:`run_sweep` runs the points not yet done on a Dask cluster (:mod:`perfcost.cluster`),
each point in its own kernel and folder (``DIR/points/ID/``), each cell within the book's
``execute.timeout``, and records each one as it finishes (``DIR/points/ID.json``). An
interrupted sweep run again with the same grid skips the points recorded as ``ok``; failed
points are run again. The table of every point, the swept values, ``status`` (``ok``, or why
the point failed or was refused) and every glued result, is written as ``DIR/sweep.csv`` and
``DIR/sweep.parquet`` (:mod:`perfcost.book.sweep_table`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat
from papermill.exceptions import PapermillExecutionError

from perfcost.book.chapters import (
    Chapter,
    RerunError,
    checked_parameters,
    output_folder,
    rerun,
)
from perfcost.book.scenario_book import cell_timeout_s
from perfcost.book.sweep_grid import Axis, grid_points, point_id
from perfcost.cluster import Outcome, dask_client, one_line, run_jobs
from perfcost.validation import ParameterError

__all__ = ["OK", "SweepPoint", "plan_sweep", "point_record", "run_point", "run_sweep"]

OK = "ok"


@dataclass(frozen=True)
class SweepPoint:
    """One point of the grid: the swept ``values``, every value the re-run gets
    (``parameters``, checked), its id, and why it was refused (empty when it runs)."""

    values: Mapping[str, object]
    parameters: Mapping[str, object]
    point_id: str
    refused: str = ""


def _planned(chapter: Chapter, base: Mapping[str, object], values: dict) -> SweepPoint:
    try:
        parameters = checked_parameters(chapter, dict(base) | values)
    except (ParameterError, RerunError) as error:  # a rule tying parameters together
        return SweepPoint(values, {}, point_id(chapter, dict(base) | values),
                          f"refused: {error}")
    return SweepPoint(values, parameters, point_id(chapter, parameters))


def plan_sweep(chapter: Chapter, base: Mapping[str, object],
               axes: Sequence[Axis]) -> list[SweepPoint]:
    """The grid's points, each checked with the fixed ``base`` values (``-p``, ``-f``).

    A point a rule refuses (an SLO below one request's service time, say) stays in the plan,
    refused; a grid every point of which is refused is bad input.

    Raises
    ------
    RerunError
        For a swept parameter also fixed in ``base``, or a grid of the wrong size
        (:func:`perfcost.book.sweep_grid.grid_points`).
    perfcost.validation.ParameterError
        The first point's refusal, when every point is refused.
    """
    fixed = [axis.name for axis in axes if axis.name in base]
    if fixed:
        raise RerunError(f"{fixed[0]} is both swept (-g) and fixed (-p or -f); give it once")
    checked_parameters(chapter, base)  # the fixed values alone, before the grid multiplies them
    points = [_planned(chapter, base, values) for values in grid_points(axes)]
    if all(point.refused for point in points):
        checked_parameters(chapter, dict(base) | dict(points[0].values))  # raises its error
    return points


def run_point(notebook: str, name: str, parameters: Mapping[str, object], outdir: str,
              cell_timeout_s: float | None = None) -> dict:
    """Re-run chapter ``name`` (its notebook at ``notebook``) into ``outdir``; on a worker.

    Each cell may run ``cell_timeout_s`` seconds (None: no limit). Returns the glued results,
    the wall time of the re-run and the time its cells took (papermill's per-cell durations):
    the difference is kernel start-up and papermill's own. A chapter that fails returns its
    error in one line and the wall time instead (``error``, ``wall_s``): a failed point is an
    answer, not a task for Dask to log as failed.
    """
    start = time.perf_counter()
    try:
        done = rerun(Chapter(name, Path(notebook)), parameters, Path(outdir),
                     progress_bar=False, cell_timeout_s=cell_timeout_s)
    except PapermillExecutionError as failure:
        evalue = str(failure.evalue).splitlines()[0] if failure.evalue else ""
        return {"error": f"cell {failure.cell_index}: {failure.ename}: {evalue}",
                "wall_s": time.perf_counter() - start}
    except Exception as failure:  # a cell timed out, or the kernel died (out of memory)
        return {"error": one_line(failure), "wall_s": time.perf_counter() - start}
    wall_s = time.perf_counter() - start
    cells = nbformat.read(done.notebook_path, as_version=4).cells
    cells_s = sum(cell.metadata.get("papermill", {}).get("duration") or 0.0 for cell in cells)
    return {"results": done.results, "wall_s": wall_s, "cells_s": cells_s}


def point_record(outdir: Path, point: SweepPoint) -> dict | None:
    """The record of ``point`` in ``outdir/points/``, or None when there is none (or it
    cannot be read: the point is run again)."""
    path = Path(outdir) / "points" / f"{point.point_id}.json"
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and "status" in record else None


def _write_record(outdir: Path, point: SweepPoint, record: dict) -> None:
    path = outdir / "points" / f"{point.point_id}.json"
    partial = path.with_suffix(".json.tmp")
    partial.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    partial.replace(path)


def _record(point: SweepPoint, outcome: Outcome) -> dict:
    found = outcome.result if outcome.ok else {}
    error = outcome.error or found.get("error", "")
    return {"values": dict(point.values), "parameters": dict(point.parameters),
            "status": f"failed: {error}" if error else OK,
            "results": found.get("results", {}), "wall_s": found.get("wall_s"),
            "cells_s": found.get("cells_s")}


def run_sweep(chapter: Chapter, points: Sequence[SweepPoint], outdir: Path | str, *,
              scheduler: str | None = None, workers: int | None = None,
              on_done: Callable[[SweepPoint, dict], None] | None = None) -> dict[str, dict]:
    """Run every point of ``points`` not yet recorded ``ok`` in ``outdir``, on Dask.

    Parameters
    ----------
    chapter : Chapter
        The chapter swept.
    points : sequence of SweepPoint
        From :func:`plan_sweep`; refused points are recorded, never run.
    outdir : path
        The sweep's folder: never inside a book's ``analyses/``.
    scheduler : str, optional
        A running Dask scheduler's address; None starts a LocalCluster here.
    workers : int, optional
        LocalCluster workers, in [1, 64]; default this machine's cores.
    on_done : callable, optional
        Called with each point run and its record, as it finishes.

    Returns
    -------
    dict
        Every point's record by point id, in the order of ``points``.
    """
    outdir = output_folder(chapter, outdir)
    records = {p.point_id: {"values": dict(p.values), "parameters": {}, "status": p.refused,
                            "results": {}} for p in points if p.refused}
    for point in points:
        found = point_record(outdir, point)
        if not point.refused and found is not None and found["status"] == OK:
            records[point.point_id] = found
    todo = {p.point_id: p for p in points if p.point_id not in records}
    if todo:
        timeout_s = cell_timeout_s(chapter.path.parent.parent)
        jobs = {key: (str(chapter.path), chapter.name, dict(p.parameters),
                      str(outdir / "points" / key), timeout_s) for key, p in todo.items()}

        def recorded(outcome: Outcome) -> None:
            point = todo[outcome.key]
            records[outcome.key] = _record(point, outcome)
            _write_record(outdir, point, records[outcome.key])
            if on_done is not None:
                on_done(point, records[outcome.key])

        with dask_client(scheduler, workers=workers) as client:
            (outdir / "points").mkdir(parents=True, exist_ok=True)  # once a cluster answered
            run_jobs(client, run_point, jobs, on_done=recorded)
    return {p.point_id: records[p.point_id] for p in points}
