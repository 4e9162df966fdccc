"""Chapter ranges (perfcost.book.inputs): never wider than what the chapter's own code accepts.

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

from perfcost.book.inputs import CHAPTER_INPUTS, check_values
from perfcost.book.parameter_types import Number, Pair, WholeNumber, ZeroOr
from perfcost.validation import ParameterError

BOOK = Path(__file__).resolve().parents[1]


# Code cells after the parameters cell that build the chapter's library objects.
BUILDING_CELLS = {"batching": 2}  # the checks, then the traces


def _first_cells(chapter: str) -> tuple[str, str]:
    """The source of the chapter's parameters cell and the code cells that build on it."""
    notebook = nbformat.read(BOOK / "analyses" / f"{chapter}.ipynb", as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    index = next(i for i, c in enumerate(code) if "parameters" in c.metadata.get("tags", []))
    after = code[index + 1: index + 1 + BUILDING_CELLS.get(chapter, 1)]
    return code[index].source, "\n".join(c.source for c in after)


def _ends(check) -> list[float]:
    if isinstance(check, ZeroOr):
        return [0.0, *_ends(check.number)]
    if isinstance(check, WholeNumber):
        return [check.low, check.high]
    low = math.nextafter(check.low, math.inf) if check.low_open else check.low
    high = math.nextafter(check.high, -math.inf) if check.high_open else check.high
    return [low, high]


def _range_ends():
    for chapter, inputs in CHAPTER_INPUTS.items():
        for name, check in inputs.checks.items():
            if isinstance(check, Number | WholeNumber | ZeroOr):
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
        assert error.name != name or any(sign in str(error) for sign in "×<+"), error
        pytest.skip(f"refused by a rule: {error}")
    monkeypatch.chdir(tmp_path)
    exec(first, dict(values))


def test_check_chapter_reads_a_namespace_and_names_the_parameter():
    from perfcost.book.inputs import check_chapter

    defaults = {}
    exec(_first_cells("capacity")[0], defaults)
    assert check_chapter("capacity", defaults)["request_rate_rps"] == 2000.0
    with pytest.raises(ParameterError, match="gpu_latency_ms must be a number in"):
        check_chapter("capacity", {**defaults, "gpu_latency_ms": math.inf})


# --- A real trace for chapter 3 -----------------------------------------------------------------

@pytest.fixture
def batching_defaults(namespaces):
    return dict(namespaces["batching"][0])


def test_a_trace_path_is_resolved_against_where_the_reader_ran(batching_defaults, tmp_path):
    (tmp_path / "mine.csv").write_text("arrival_s\n" + "\n".join(
        f"{t / 10:.1f}" for t in range(600)) + "\n")
    checked = check_values("batching", {**batching_defaults, "trace_path": "mine.csv"},
                           base=tmp_path)
    assert checked["trace_path"] == str((tmp_path / "mine.csv").resolve())
    assert check_values("batching", batching_defaults)["trace_path"] == ""


@pytest.mark.parametrize(("text", "problem"), [
    ("arrival_s\n3.0\n1.0\n", "sorted"),
    ("arrival_s\n5.0\n", "at least two arrivals at different times"),
    ("arrival_s\nsoon\n", "soon"),
])
def test_an_unusable_trace_is_refused_in_one_line(batching_defaults, tmp_path, text, problem):
    (tmp_path / "bad.csv").write_text(text)
    with pytest.raises(ParameterError) as refused:
        check_values("batching", {**batching_defaults, "trace_path": "bad.csv"},
                     base=tmp_path)
    message = str(refused.value)
    assert message.startswith("trace_path 'bad.csv' cannot be used:") and "\n" not in message
    assert problem in message


def test_a_real_trace_replayed_too_fast_is_refused_before_any_work(batching_defaults,
                                                                    tmp_path):
    (tmp_path / "hour.csv").write_text("arrival_s\n0\n3600\n")
    values = {**batching_defaults, "trace_path": str(tmp_path / "hour.csv")}
    with pytest.raises(ParameterError, match=r"trace_peak_rps \* \(trace span\) must be at "
                                             r"most 5e\+06 requests"):
        check_values("batching", {**values, "trace_peak_rps": 2000.0})
    assert check_values("batching", {**values, "trace_peak_rps": 1000.0})


# --- A reader's own model for chapter 4 ---------------------------------------------------------

@pytest.fixture(scope="module")
def cnn(tmp_path_factory):
    """A small CNN exported to ONNX with a dynamic batch dimension: input (?, 1, 28, 28)."""
    from onnx_fixtures import small_cnn_onnx

    return small_cnn_onnx(tmp_path_factory.mktemp("cnn") / "cnn.onnx")


@pytest.fixture
def compression_defaults(namespaces):
    return dict(namespaces["compression"][0])


def test_a_readers_model_is_resolved_against_where_the_reader_ran(compression_defaults, cnn):
    values = {**compression_defaults, "model_path": cnn.name, "input_shape": [1, 28, 28.0]}
    checked = check_values("compression", values, base=cnn.parent)
    assert checked["model_path"] == str(cnn.resolve())
    assert checked["input_shape"] == [1, 28, 28]
    assert check_values("compression", compression_defaults)["model_path"] == ""


def test_the_shape_must_be_the_models(compression_defaults, cnn):
    with pytest.raises(ParameterError, match=r'^input_shape must be \[784\] with model_path ""'):
        check_values("compression", {**compression_defaults, "input_shape": [1, 28, 28]})
    with pytest.raises(ParameterError, match=r"^input_shape must be a list of 3 positive "
                                             r"integers matching the model's input "
                                             r"\(\?, 1, 28, 28\) without its batch dimension"):
        check_values("compression", {**compression_defaults, "model_path": str(cnn),
                                     "input_shape": [784]})


@pytest.mark.parametrize("shape", [[], [0], [-784], [True], ["784"], [784.5], [1] * 9,
                                   [2**22 + 1], "784", 784, {"a": 784}])
def test_a_shape_that_is_no_shape_is_refused_by_its_own_check(compression_defaults, shape):
    with pytest.raises(ParameterError, match=r"^input_shape must be a list of 1 to 8 positive "
                                             r"whole numbers, e\.g\. \[1, 28, 28\]; got"):
        check_values("compression", {**compression_defaults, "input_shape": shape})


def test_a_readers_model_trains_nothing_so_is_not_held_to_the_training_limit(
        compression_defaults, cnn):
    big = {**compression_defaults, "hidden_units": 2048, "student_units": 2048, "epochs": 50}
    with pytest.raises(ParameterError, match="multiply-accumulates per example"):
        check_values("compression", big)
    assert check_values("compression", {**big, "model_path": str(cnn),
                                        "input_shape": [1, 28, 28]})


@pytest.mark.parametrize(("build", "problem"), [
    ("fixed_batch_onnx", "the batch dimension is fixed at 1; export with a dynamic batch"),
    ("two_input_onnx", "the model has 2 inputs (input_ids, attention_mask)"),
    ("text", "not a valid ONNX model"),
    ("missing", "no such file"),
])
def test_an_unusable_model_is_refused_in_one_line(compression_defaults, tmp_path, build,
                                                  problem):
    import onnx_fixtures

    if build == "text":
        (tmp_path / "bad.onnx").write_text("not a model\n")
    elif build != "missing":
        getattr(onnx_fixtures, build)(tmp_path / "bad.onnx")
    with pytest.raises(ParameterError) as refused:
        check_values("compression", {**compression_defaults, "model_path": "bad.onnx"},
                     base=tmp_path)
    message = str(refused.value)
    assert message.startswith("model_path 'bad.onnx' cannot be used: ") and "\n" not in message
    assert problem in message


def test_any_subset_of_variants_and_the_cost_chapters_values_are_accepted(
        compression_defaults):
    for variants in (["fp32"], ["int8_dynamic"], ["fp16", "int8_static", "distilled"]):
        checked = check_values("compression", {**compression_defaults, "variants": variants})
        assert checked["variants"] == variants
    zeros = dict.fromkeys(("request_rate_rps", "instance_throughput_rps",
                           "instance_hourly_usd"), 0)  # 0: the cost chapter's value
    assert check_values("compression", {**compression_defaults, **zeros})["request_rate_rps"] == 0
