"""A sweep's grid: ``-g NAME V1,V2,...`` read, checked and multiplied out into points.

Each ``-g`` gives one chapter parameter and its values; the grid is the product of them, every
point the chapter's parameters with one value of each. Every value is typed like the
parameter's default and checked against its own range (:mod:`perfcost.book.inputs`) before
anything runs, so a typo is refused at once in one line. Rules that tie parameters together are
checked per point (:func:`perfcost.book.chapters.checked_parameters`): a grid may well cross a
corner where the chapter has no answer, and that point is recorded as refused, not run.

A point's :func:`point_id` is a digest of the chapter notebook's bytes and the point's values,
so a resumed sweep recognises the points already done, and never reuses one computed by
another version of the chapter.
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from perfcost.book.chapters import (
    Chapter,
    RerunError,
    chapter_parameters,
    coerce_text,
    resolve_parameters,
)
from perfcost.book.inputs import CHAPTER_INPUTS
from perfcost.book.parameter_types import FilePath

__all__ = ["MAX_POINTS", "Axis", "grid_points", "parse_axis", "point_id", "split_values"]

MAX_POINTS = 1_000  # each point is a chapter re-run of seconds to minutes: beyond is a mistake

_CLOSING = {"[": "]", "{": "}", "(": ")"}


@dataclass(frozen=True)
class Axis:
    """One swept parameter and its values, typed like the parameter's default."""

    name: str
    values: tuple


def split_values(text: str) -> list[str]:
    """``text`` split at the commas outside brackets and quotes: ``1,2`` gives two values,
    ``[400, 1600],[200, 2000]`` two lists."""
    parts, current, stack, quote = [], [], [], ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in _CLOSING:
            stack.append(_CLOSING[char])
        elif stack and char == stack[-1]:
            stack.pop()
        elif char == "," and not stack:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    parts.append("".join(current).strip())
    return parts


def _suggestion(name: str, names: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, names, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _checked_value(chapter: Chapter, name: str, value: object) -> object:
    """``value`` checked against ``name``'s own range (paths made absolute, from cwd)."""
    inputs = CHAPTER_INPUTS.get(chapter.name)
    check = inputs.checks.get(name) if inputs is not None else None
    if check is None:
        return value
    if isinstance(check, FilePath):
        return check.check(name, value, Path.cwd())
    return check.check(name, value)


def parse_axis(chapter: Chapter, name: str, text: str) -> Axis:
    """Read ``-g NAME V1,V2,...`` for ``chapter``: each value typed and range-checked.

    Raises
    ------
    RerunError
        For an unknown parameter (with the nearest name), an empty or repeated value, or a
        value of the wrong type.
    perfcost.validation.ParameterError
        For a value outside the parameter's range, naming it and the range.
    """
    parameters = chapter_parameters(chapter)
    if name not in parameters:
        raise RerunError(f"-g {name}: {chapter.name} has no parameter {name!r}"
                         f"{_suggestion(name, list(parameters))}; `perfcost list "
                         f"{chapter.name}` shows them")
    texts = split_values(text)
    if any(not t for t in texts):
        raise RerunError(f"-g {name}: an empty value in {text!r} (values are separated by "
                         "single commas)")
    values = [coerce_text(parameters[name], t) for t in texts]
    values = [resolve_parameters(parameters, {name: v})[name] for v in values]
    values = [_checked_value(chapter, name, v) for v in values]
    shown = [json.dumps(v, sort_keys=True) for v in values]
    repeated = [s for s in dict.fromkeys(shown) if shown.count(s) > 1]
    if repeated:
        raise RerunError(f"-g {name}: value {repeated[0]} is given twice")
    return Axis(name, tuple(values))


def grid_points(axes: Sequence[Axis]) -> list[dict[str, object]]:
    """Every combination of the axes' values, the first axis varying slowest.

    Raises
    ------
    RerunError
        If a parameter is swept twice, or the grid has more than :data:`MAX_POINTS` points.
    """
    names = [axis.name for axis in axes]
    twice = [n for n in dict.fromkeys(names) if names.count(n) > 1]
    if twice:
        raise RerunError(f"-g {twice[0]} is given twice; give every value in one -g")
    size = math.prod(len(axis.values) for axis in axes)
    if not axes or size > MAX_POINTS:
        raise RerunError(f"the grid must have 1 to {MAX_POINTS:,} points (the product of the "
                         f"-g value counts); got {size:,}" if axes else
                         "a sweep needs at least one -g NAME V1,V2,...")
    return [dict(zip(names, combination, strict=True))
            for combination in itertools.product(*(axis.values for axis in axes))]


def point_id(chapter: Chapter, values: Mapping[str, object]) -> str:
    """A short digest of the chapter notebook's bytes and every value set at the point."""
    digest = hashlib.sha256(chapter.path.read_bytes())
    digest.update(json.dumps(dict(values), sort_keys=True).encode())
    return digest.hexdigest()[:16]
