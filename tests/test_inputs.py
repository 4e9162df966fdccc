"""Chapter ranges (perfcost.inputs): never wider than what the chapter's own code accepts.

A value inside a chapter's range must pass the chapter's first cells, where the library objects
are built; otherwise a reader would meet a library argument's name (``rates_rps``) instead of
the parameter they typed. Each numeric parameter is tried at both ends of its range (the
nearest float inside an open end), one at a time, in the chapter's own code.
"""

from __future__ import annotations

import math
from pathlib import Path

import nbformat
import pytest

from perfcost.inputs import CHAPTER_INPUTS, Number, Pair, WholeNumber, check_values
from perfcost.validation import ParameterError

BOOK = Path(__file__).resolve().parents[1]


def _first_cells(chapter: str) -> str:
    """The source of the chapter's parameters cell and the code cell after it."""
    notebook = nbformat.read(BOOK / "analyses" / f"{chapter}.ipynb", as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    index = next(i for i, c in enumerate(code) if "parameters" in c.metadata.get("tags", []))
    return code[index].source, code[index + 1].source


def _ends(check) -> list[float]:
    if isinstance(check, WholeNumber):
        return [check.low, check.high]
    low = math.nextafter(check.low, math.inf) if check.low_open else check.low
    high = math.nextafter(check.high, -math.inf) if check.high_open else check.high
    return [low, high]


def _range_ends():
    for chapter, inputs in CHAPTER_INPUTS.items():
        for name, check in inputs.checks.items():
            if isinstance(check, Number | WholeNumber):
                for value in _ends(check):
                    yield pytest.param(chapter, name, value, id=f"{chapter}-{name}-{value:g}")
            elif isinstance(check, Pair):
                for value in _ends(check.item):
                    pair = [value, max(value, 1.0)]
                    yield pytest.param(chapter, name, pair, id=f"{chapter}-{name}-{value:g}")


@pytest.fixture(scope="module")
def namespaces():
    """Each chapter's defaults, and its first code cell's source."""
    found = {}
    for chapter in CHAPTER_INPUTS:
        parameters, first = _first_cells(chapter)
        defaults = {}
        exec(parameters, defaults)
        found[chapter] = ({k: v for k, v in defaults.items() if k in
                           CHAPTER_INPUTS[chapter].checks}, first)
    return found


@pytest.mark.parametrize(("chapter", "name", "value"), list(_range_ends()))
def test_every_range_end_passes_the_chapters_first_cell(namespaces, chapter, name, value,
                                                        tmp_path, monkeypatch):
    defaults, first = namespaces[chapter]
    values = {**defaults, name: value}
    try:
        check_values(chapter, values)
    except ParameterError as error:  # a rule that ties parameters together refused it
        assert error.name != name or "×" in str(error) or "<" in str(error), error
        pytest.skip(f"refused by a rule: {error}")
    monkeypatch.chdir(tmp_path)
    exec(first, dict(values))


def test_check_chapter_reads_a_namespace_and_names_the_parameter():
    from perfcost.inputs import check_chapter

    defaults = {}
    exec(_first_cells("capacity")[0], defaults)
    assert check_chapter("capacity", defaults)["request_rate_rps"] == 2000.0
    with pytest.raises(ParameterError, match="gpu_latency_ms must be a number in"):
        check_chapter("capacity", {**defaults, "gpu_latency_ms": math.inf})
