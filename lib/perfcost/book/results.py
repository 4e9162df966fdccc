"""Glued results: how a chapter publishes its headline numbers, and how a re-run reads them back.

A chapter calls :func:`glue` for every number its prose cites (``{glue:text}`name:.1f```). The
value is stored in the notebook by myst-nb; :func:`glued_results` reads every glued scalar of an
executed notebook back as a plain ``name -> value`` dict, which ``perfcost rerun`` writes as JSON.
"""

from __future__ import annotations

import ast
import math
import numbers
from collections.abc import Iterable

import myst_nb
import numpy as np

from perfcost.validation import ParameterError

__all__ = ["GLUE_MIME_PREFIX", "glue", "glue_fields", "glued_results"]

GLUE_MIME_PREFIX = "application/papermill.record/"


def _plain(name: str, value: object) -> object:
    """Return ``value`` as a plain Python bool, int, float or str (numpy scalars converted)."""
    if isinstance(value, bool | str):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        if not math.isfinite(value):
            raise ParameterError(f"glued result {name!r}", "a finite number", value)
        return value
    raise ParameterError(f"glued result {name!r}", "a bool, int, float or str", value)


def glue(name: str, value: object) -> None:
    """Glue a scalar result under ``name`` for the prose and the re-run JSON.

    Numpy scalars are stored as plain Python numbers so the stored text is ``3.5``, never
    ``np.float64(3.5)``; NaN and infinity are refused.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ParameterError("name", "a glue name: letters, digits and _ (like a variable)",
                             name)
    myst_nb.glue(name, _plain(name, value), display=False)


def glue_fields(source: object, names: Iterable[str], *, prefix: str = "",
                suffix: str = "") -> None:
    """Glue each of ``names`` read from ``source`` under ``prefix + name + suffix``: a key of a
    mapping or a pandas row or series (anything with ``keys``), else an attribute (a
    dataclass)."""
    for name in names:
        value = source[name] if hasattr(source, "keys") else getattr(source, name)
        glue(f"{prefix}{name}{suffix}", value)


def _literal(text: str) -> object:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def glued_results(notebook) -> dict[str, object]:
    """Return every glued scalar of an executed notebook (an nbformat node), name to value.

    Glued objects that are not Python literals (charts, tables) are left out.
    """
    results: dict[str, object] = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            if name is None:
                continue
            prefix = output["metadata"]["scrapbook"].get("mime_prefix", "")
            text = output.get("data", {}).get(prefix + "text/plain")
            value = _literal(text) if text is not None else None
            if isinstance(value, bool | int | float | str):
                results[name] = value
    return results
