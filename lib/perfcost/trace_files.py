"""A reader's own trace: arrival times read from a CSV file of at most 256 MB, one request a
row (:func:`load_trace`).

The header, the column of arrival times and every bad row are found and named: a bad row raises
ValueError naming the file, the row number and its text, so a reader can fix the file. Times are
checked by the one check of a trace, :func:`perfcost.traffic.check_arrival_times` (the same
rules, applied row by row). :mod:`perfcost.replay` replays a trace read here at another scale.

Used by chapter 3 (batching: ``trace_path``).
"""

from __future__ import annotations

import csv
import io
import os
import re
from array import array
from collections.abc import Iterator
from numbers import Integral
from pathlib import Path

import numpy as np

from perfcost.files import decimal_number, read_text
from perfcost.traffic import arrival_time_problem
from perfcost.validation import ParameterError, integer_in_range

__all__ = ["MAX_TRACE_BYTES", "load_trace", "replayable_trace"]

MAX_TRACE_BYTES = 256_000_000  # a CSV trace of ~10^7 timestamps

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_ ()\[\]/%.-]*")
_DIGIT_DOT = re.compile(r"\d\.|\.\d")
_TIME_IN_SECONDS = re.compile(r"(arrival|arrival_time|arrived_at|t|time|timestamp|ts)_s",
                              re.IGNORECASE)


def _is_header(cells: list[str]) -> bool:
    """A header is a row of names: each starts with a letter and has no digit next to a dot
    (so ``arrival_s`` is a name, a typo such as ``O.5`` is not)."""
    return all(_NAME.fullmatch(cell.strip()) and not _DIGIT_DOT.search(cell)
               and decimal_number(cell) is None for cell in cells)  # NaN, inf: data, not names


def _rows(path: Path, text: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of each row that is not blank."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                yield reader.line_num, cells
    except csv.Error as error:
        raise ValueError(f"{path}: row {reader.line_num}: not CSV: {error}") from None


def _column_index(path: Path, header: list[str] | None, width: int, column) -> int:
    """The 0-based index of the arrival-time column; see :func:`load_trace`."""
    if isinstance(column, str):
        if header is None:
            raise ValueError(f"{path}: no header row to find column {column!r} in; pass "
                             "column as a 0-based index")
        names = [cell.strip() for cell in header]
        if names.count(column) != 1:
            raise ValueError(f"{path}: {'no' if column not in names else 'more than one'} "
                             f"column named {column!r}; the columns are {', '.join(names)}")
        return names.index(column)
    if column is not None:
        return integer_in_range("column", column, 0, width - 1)
    if width == 1:
        return 0
    if header is None:
        raise ValueError(f"{path}: {width} columns and no header row; pass column= with the "
                         "0-based index of the arrival times in seconds")
    timelike = [i for i, cell in enumerate(header) if _TIME_IN_SECONDS.fullmatch(cell.strip())]
    if len(timelike) != 1:
        raise ValueError(f"{path}: {width} columns ({', '.join(c.strip() for c in header)}) and "
                         f"{'none' if not timelike else 'more than one'} named like a time in "
                         "seconds (arrival_s, t_s, time_s, timestamp_s); pass column= with the "
                         "name or 0-based index of the arrival times")
    return timelike[0]


def _seconds(path: Path, line: int, cell: str) -> float:
    hint = (" (and not a header: a header's cells are names that start with a letter, "
            "such as arrival_s)") if line == 1 else ""
    number = decimal_number(cell)  # ASCII decimal: float() also reads 1_000 and other digits
    if number is None:
        raise ValueError(f"{path}: row {line}: {cell!r} is not a number of seconds{hint}")
    return number


def _data_cell(rows: Iterator[tuple[int, list[str]]], position: int, index: int):
    """(line, cell) of the ``position``-th data row."""
    for count, (line, cells) in enumerate(rows):
        if count == position:
            return line, cells[index]
    raise AssertionError("unreachable: the row was read before")


def load_trace(path: str | Path, *, column: str | int | None = None) -> np.ndarray:
    """Read arrival times (seconds) from a CSV file of at most 256 MB, one request a row.

    Parameters
    ----------
    path : str or Path
        A UTF-8 CSV file (a byte-order mark is dropped). Its first row is a header when every
        cell is a name (starts with a letter, no digit next to a dot), such as
        ``arrival_s,input_tokens,output_tokens``; every row has as many cells as the first.
    column : str or int, optional
        The column of arrival times: a header name or a 0-based index. By default the only
        column, or else the one header cell named like a time in seconds (``arrival_s``,
        ``t_s``, ``time_s``, ``timestamp_s``).

    Returns
    -------
    numpy.ndarray
        The arrival times in seconds: finite, >= 0, at most ``MAX_ARRIVAL_S`` (10^10 s) and
        sorted ascending (see :func:`perfcost.traffic.check_arrival_times`).

    Raises
    ------
    ValueError
        A bad row, naming the file, the row number and its text.
    perfcost.files.InputFileError
        An unreadable file.
    """
    if not isinstance(path, str | os.PathLike):
        raise ParameterError("path", "a file path", path)
    if isinstance(column, bool) or not (column is None or isinstance(column, str | Integral)):
        raise ParameterError("column", "a column name or a 0-based index", column)
    path = Path(path)
    text = read_text(path, what="trace", max_bytes=MAX_TRACE_BYTES)
    rows = _rows(path, text)
    first_line, first = next(rows, (0, None))
    if first is None:
        raise ValueError(f"{path}: no arrival times found")
    header = first if _is_header(first) else None
    index = _column_index(path, header, len(first), column)
    times = array("d", [] if header else [_seconds(path, first_line, first[index])])
    for line, cells in rows:
        if len(cells) != len(first):
            where = "the header" if header else f"row {first_line}"
            raise ValueError(f"{path}: row {line}: {len(cells)} cells where {where} has "
                             f"{len(first)}: {','.join(cells)!r}")
        times.append(_seconds(path, line, cells[index]))
    if not times:
        raise ValueError(f"{path}: no arrival times found")
    return _checked_trace(path, text, np.array(times), skip=header is not None, index=index)


def _checked_trace(path: Path, text: str, times: np.ndarray, *, skip: bool,
                   index: int) -> np.ndarray:
    """``times``, or a ValueError naming the first row that is not an arrival time."""
    problem = arrival_time_problem(times)
    if problem is None:
        return times
    position, valid, found = problem
    rows = _rows(path, text)
    if skip:
        next(rows)
    line, cell = _data_cell(rows, position, index)
    raise ValueError(f"{path}: row {line}: {cell!r}: times must be {valid}; got {found}")


def replayable_trace(path: str | Path) -> np.ndarray:
    """The arrival times of the CSV trace at ``path`` (:func:`load_trace`), which must hold at
    least two arrivals at different times (a replay scales the trace's busiest second, so it
    must span some time). Raises ValueError (InputFileError for a file that cannot be read)
    saying why."""
    times = load_trace(path)
    if times.size < 2 or times[-1] <= times[0]:
        raise ValueError(f"{path}: at least two arrivals at different times needed")
    return times
