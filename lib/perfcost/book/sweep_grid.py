"""A sweep's grid: ``-g NAME V1,V2,...`` read, checked and multiplied out into points.

Each ``-g`` gives one chapter parameter and its values; the grid is the product of them, every
point the chapter's parameters with one value of each. Every value is typed like the
parameter's default and checked against its own range (:mod:`perfcost.book.inputs`) before
anything runs, so a typo is refused at once in one line. Rules that tie parameters together are
checked per point (:func:`perfcost.book.chapters.checked_parameters`): a grid may well cross a
corner where the chapter has no answer, and that point is recorded as refused, not run.

A point's :func:`point_id` is a digest of the chapter notebook's bytes, the point's values, the
files they name and the library's code, so a resumed sweep recognises the points already done,
and never reuses one computed by another version of the chapter, its inputs or the library.
"""

from __future__ import annotations

import difflib
import functools
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

__all__ = ["MAX_POINTS", "Axis", "grid_points", "library_digest", "parse_axis", "point_id",
           "split_values"]

MAX_POINTS = 1_000  # each point is a chapter re-run of seconds to minutes: beyond is a mistake

_CLOSING = {"[": "]", "{": "}", "(": ")"}


@dataclass(frozen=True)
class Axis:
    """One swept parameter and its values, typed like the parameter's default."""

    name: str
    values: tuple


def split_values(text: str) -> list[str]:
    """``text`` split at the commas outside brackets and quotes: ``1,2`` gives two values,
    ``[400, 1600],[200, 2000]`` two lists, ``'a,b',c`` the texts ``a,b`` and ``c``."""
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
    return [_unquoted(part) for part in parts]


def _unquoted(part: str) -> str:
    """``part`` without one pair of quotes around it: ``'a,b'`` is the text ``a,b``."""
    quoted = len(part) >= 2 and part[0] == part[-1] and part[0] in "'\""
    return part[1:-1] if quoted else part


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


@functools.cache
def library_digest() -> str:
    """A digest of the installed ``perfcost`` package: every file under it but bytecode."""
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(p for p in package.rglob("*") if p.is_file()
                       and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _named_files(chapter: Chapter, values: Mapping[str, object]) -> list[bytes]:
    """The bytes of every file a path parameter in ``values`` names (a price catalog, a
    trace, a model)."""
    inputs = CHAPTER_INPUTS.get(chapter.name)
    checks = inputs.checks if inputs is not None else {}
    paths = [Path(v) for name, v in sorted(values.items())
             if isinstance(checks.get(name), FilePath) and isinstance(v, str) and v]
    return [path.read_bytes() if path.is_file() else b"" for path in paths]


def point_id(chapter: Chapter, values: Mapping[str, object]) -> str:
    """A short digest of what a point's results follow: the chapter notebook's bytes, every
    value set at the point, the files those values name, and the ``perfcost`` library
    (:func:`library_digest`). A resumed sweep reuses a point only when all are unchanged."""
    digest = hashlib.sha256(chapter.path.read_bytes())
    digest.update(json.dumps(dict(values), sort_keys=True).encode())
    for content in _named_files(chapter, values):
        digest.update(hashlib.sha256(content).digest())
    digest.update(library_digest().encode())
    return digest.hexdigest()[:16]
