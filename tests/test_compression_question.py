"""Chapter 4's question (perfcost.compression.CompressionQuestion): every parameter checked by
its own name on construction, and the objects the chapter builds from them."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from perfcost import amdahl
from perfcost.book.chapters import default_values
from perfcost.compression import (
    CompressionQuestion,
    CompressionSettings,
    first_to_try,
)
from perfcost.validation import ParameterError

DEFAULTS = default_values("compression")
COST_FIELDS = ("request_rate_rps", "instance_throughput_rps", "instance_hourly_usd")


def question(**changes) -> CompressionQuestion:
    return CompressionQuestion(**{**DEFAULTS, **changes})


def test_the_defaults_make_the_chapters_settings_and_request():
    asked = question()
    assert asked.settings == CompressionSettings(
        hidden_units=DEFAULTS["hidden_units"], student_units=DEFAULTS["student_units"],
        epochs=DEFAULTS["epochs"], fine_tune_epochs=DEFAULTS["fine_tune_epochs"],
        sparsity=DEFAULTS["sparsity"], keep_fraction=DEFAULTS["keep_fraction"],
        temperature=DEFAULTS["temperature"], alpha=DEFAULTS["alpha"],
        threads=DEFAULTS["threads"], seed=DEFAULTS["seed"])
    assert asked.request == amdahl.RequestPath(DEFAULTS["decode_ms"], DEFAULTS["network_ms"],
                                               DEFAULTS["preprocess_ms"],
                                               DEFAULTS["postprocess_ms"])
    assert asked.variants == tuple(DEFAULTS["variants"]) and asked.input_shape == (784,)


def test_values_come_back_as_the_types_they_stand_for():
    asked = question(epochs=4.0, threads=1.0, sparsity=1 / 2, decode_ms=2, input_shape=[784.0],
                     variants=["fp32", "int8_dynamic"])
    assert (asked.epochs, asked.threads) == (4, 1)
    assert isinstance(asked.epochs, int) and isinstance(asked.decode_ms, float)
    assert asked.settings.epochs == 4 and asked.request.decode_ms == 2.0
    assert asked.input_shape == (784,) and asked.variants == ("fp32", "int8_dynamic")


BAD = {
    "variants": [["fp64"], [], "fp32", ["fp32", "fp32"]],
    "model_path": [None, 3, "a\nb", "no-such-model.onnx"],
    "input_shape": [[1, 28, 28], [], None, [0], [785]],
    "hidden_units": [0, 4097, 2.5, math.nan],
    "student_units": [0, "256"],
    "epochs": [0, 101],
    "fine_tune_epochs": [0, True],
    "sparsity": [1.0, -0.1],
    "keep_fraction": [0.0, 1.5],
    "temperature": [0.0, 101],
    "alpha": [-0.1, 1.1],
    "threads": [0, 65],
    "latency_target_fraction": [0.0, 1.01, math.inf],
    "max_accuracy_drop": [-0.01, 1.5],
    "decode_ms": [-1.0, 60_001.0],
    "network_ms": [math.nan],
    "preprocess_ms": [-0.1],
    "postprocess_ms": ["1"],
    "request_rate_rps": [-1.0, 1e7],
    "instance_throughput_rps": [-1.0, 1e7],
    "instance_hourly_usd": [-1.0, 1_001.0],
    "book_root": [None, 0],
    "seed": [-1, 2**32],
}


@pytest.mark.parametrize(("name", "value"),
                         [(name, value) for name, values in BAD.items() for value in values],
                         ids=[f"{name}-{value!r:.12}" for name, values in BAD.items()
                              for value in values])
def test_a_bad_parameter_is_refused_by_its_own_name(name, value):
    with pytest.raises(ParameterError) as refused:
        question(**{name: value})
    assert refused.value.name == name
    assert str(refused.value).startswith(f"{name} must be ") and "\n" not in str(refused.value)


def test_every_field_is_a_chapter_parameter():
    assert set(CompressionQuestion.__dataclass_fields__) == set(DEFAULTS)


def test_a_readers_model_takes_its_own_shape(tmp_path):
    from onnx_fixtures import small_cnn_onnx

    path = str(small_cnn_onnx(tmp_path / "cnn.onnx"))
    assert question(model_path=path, input_shape=[1, 28, 28]).input_shape == (1, 28, 28)
    with pytest.raises(ParameterError, match=r"input_shape must be .*\(\?, 1, 28, 28\)"):
        question(model_path=path, input_shape=[784])
    (tmp_path / "bad.onnx").write_text("not onnx")
    with pytest.raises(ParameterError, match="model_path must be an ONNX model chapter 4 can "
                                             r"measure \(not a valid ONNX model"):
        question(model_path=str(tmp_path / "bad.onnx"))


def test_the_cost_overrides_are_the_figures_set():
    assert question(**dict.fromkeys(COST_FIELDS, 0.0)).cost_overrides() == {}
    assert question(request_rate_rps=0.0, instance_throughput_rps=250,
                    instance_hourly_usd=1.5).cost_overrides() == {
        "instance_throughput_rps": 250.0, "instance_hourly_usd": 1.5}
    every = dict(zip(COST_FIELDS, (10.0, 20.0, 3.0), strict=True))
    assert question(**every).cost_overrides() == every


TABLE = pd.DataFrame({
    "latency_p50_ms": [2.0, 1.0, 1.5], "latency_p50_high_ms": [2.1, 1.1, 1.6],
    "accuracy_change_low": [0.0, -0.004, -0.05], "accuracy_lost": [0, 3, 40],
    "training_flops": [1.0, 1.0, 1.0]}, index=["fp32", "int8_dynamic", "distilled"])


def test_the_target_is_the_fraction_of_fp32s_median():
    assert question(latency_target_fraction=0.6).latency_target_ms(TABLE) == pytest.approx(1.2)
    assert question(latency_target_fraction=1.0).latency_target_ms(TABLE) == 2.0


def test_the_first_choice_follows_the_target_and_the_budget():
    assert question(latency_target_fraction=0.6, max_accuracy_drop=0.01).first_choice(
        TABLE) == "int8_dynamic"
    assert question(latency_target_fraction=0.5, max_accuracy_drop=0.01).first_choice(
        TABLE) is None  # 1.1 ms > 1.0 ms over the whole interval
    assert question(latency_target_fraction=0.6, max_accuracy_drop=0.001).first_choice(
        TABLE) is None  # -0.4 points is beyond a 0.1-point budget
    asked = question(latency_target_fraction=0.9, max_accuracy_drop=0.1)
    assert asked.first_choice(TABLE) == first_to_try(TABLE, latency_target_ms=1.8,
                                                     max_accuracy_drop=0.1)


def test_the_end_to_end_table_puts_the_model_inside_the_request():
    asked = question(decode_ms=1.0, network_ms=0.5, preprocess_ms=0.5, postprocess_ms=0.0)
    found = asked.end_to_end(TABLE)
    assert found.loc["fp32", "end_to_end_ms"] == pytest.approx(4.0)  # 2 ms of other work
    assert found.loc["int8_dynamic", "end_to_end_speedup"] == pytest.approx(4.0 / 3.0)
    pd.testing.assert_frame_equal(found, amdahl.end_to_end_table(
        {"fp32": 2.0, "int8_dynamic": 1.0, "distilled": 1.5}, "fp32", asked.request))


@pytest.mark.parametrize(("name", "value", "valid"), [
    ("instance_throughput_rps", 5e-7, r"\[1e-06, 1e\+06\]"),  # the cost model's own range
    ("request_rate_rps", -1.0, r"\(0, 1e\+06\]"),
    ("instance_hourly_usd", 2e3, r"\(0, 1,?000\]"),
])
def test_a_cost_figure_is_zero_or_what_the_cost_model_accepts(name, value, valid):
    with pytest.raises(ParameterError, match=rf"^{name} must be 0 \(the cost chapter's\) or "
                                             rf"a number in {valid}"):
        question(**{name: value})
    assert question(**{name: 0}).cost_overrides() == {}
    assert question(**{name: 1.0}).cost_overrides() == {name: 1.0}
