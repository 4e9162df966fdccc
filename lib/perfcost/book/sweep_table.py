"""A sweep's results as files: one table (CSV and Parquet) and its headline chart.

One row per point, in grid order: the swept parameters, ``status`` (``ok``, ``failed: ...``,
``refused: ...``) and every glued result of the chapter (empty where a point has none). A list
value (``bursty_rps``) is written as its JSON text, so every column holds one type. The chart
(:func:`perfcost.book.charts.sweep_chart`) is written as SVG and as a page that draws it
offline (Vega bundled), ``sweep.svg`` and ``sweep.html``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
import vl_convert

from perfcost.book.charts import show, sweep_chart

__all__ = ["SERIES", "sweep_table", "write_chart", "write_table"]

SERIES = "series"  # the chart's column naming each point's other swept values


def _cell(value: object) -> object:
    return json.dumps(value) if isinstance(value, list | dict) else value


def sweep_table(names: Sequence[str], records: Mapping[str, dict]) -> pd.DataFrame:
    """The table of ``records`` (point id to record, in grid order), swept ``names`` first.

    A glued result with the name of a swept parameter (chapters glue their inputs) is left out:
    it is the swept value itself.
    """
    rows = []
    for record in records.values():
        row = {name: _cell(record["values"][name]) for name in names}
        row["status"] = record["status"]
        row |= {k: _cell(v) for k, v in record.get("results", {}).items() if k not in names}
        rows.append(row)
    return _nullable(pd.DataFrame(rows), rows)


_NULLABLE = {frozenset({int}): "Int64", frozenset({bool}): "boolean"}


def _nullable(table: pd.DataFrame, rows: list[dict]) -> pd.DataFrame:
    """Whole-number and yes/no columns kept as such where some points have no value (pandas
    would make a count 4.0, a verdict an object column)."""
    for column in table.columns:
        kinds = frozenset(type(row[column]) for row in rows if row.get(column) is not None)
        if kinds in _NULLABLE:
            table[column] = pd.array([row.get(column) for row in rows], dtype=_NULLABLE[kinds])
    return table


def _one_type_per_column(table: pd.DataFrame) -> pd.DataFrame:
    """Columns mixing text with numbers become text (Parquet holds one type per column)."""
    fixed = table.copy()
    for column in [c for c in fixed.columns if pd.api.types.is_object_dtype(fixed[c])]:
        kinds = {type(v) for v in fixed[column].dropna()}
        if str in kinds and len(kinds) > 1:
            fixed[column] = fixed[column].map(lambda v: v if pd.isna(v) else str(v))
    return fixed


def write_table(table: pd.DataFrame, outdir: Path) -> tuple[Path, Path]:
    """Write ``outdir/sweep.csv`` and ``outdir/sweep.parquet`` (each written whole, then
    renamed into place); return their paths."""
    table = _one_type_per_column(table)
    paths = Path(outdir) / "sweep.csv", Path(outdir) / "sweep.parquet"
    for path in paths:
        partial = path.with_name(f".{path.name}.tmp")
        if path.suffix == ".csv":
            table.to_csv(partial, index=False)
        else:
            table.to_parquet(partial, index=False, engine="pyarrow")
        partial.replace(path)
    return paths


def _series(table: pd.DataFrame, names: Sequence[str]) -> pd.Series:
    """``b=2, c=x`` per row: the swept values other than the first."""
    return table[list(names[1:])].astype(str).apply(
        lambda row: ", ".join(f"{k}={v}" for k, v in row.items()), axis=1)


def write_chart(table: pd.DataFrame, names: Sequence[str], result: str, outdir: Path, *,
                title: str = "") -> tuple[Path, Path] | None:
    """Draw ``result`` against the first swept parameter, a line per combination of the
    others, from the points that ran; write ``sweep.svg`` and ``sweep.html`` in ``outdir``.

    Returns their paths, or None when no point has the result (nothing to draw).
    """
    drawn = table[table["status"] == "ok"] if "status" in table else table
    if result not in drawn or drawn[result].isna().all():
        return None
    drawn = drawn[drawn[result].notna()].copy()
    series = None
    if len(names) > 1:
        drawn[SERIES] = _series(drawn, names)
        series = SERIES
    chart = sweep_chart(drawn, names[0], result, series=series, title=title,
                        series_title=", ".join(names[1:]))
    spec = show(chart).spec
    paths = Path(outdir) / "sweep.svg", Path(outdir) / "sweep.html"
    paths[0].write_text(vl_convert.vegalite_to_svg(spec))
    paths[1].write_text(vl_convert.vegalite_to_html(spec, bundle=True))
    return paths
