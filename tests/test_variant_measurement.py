"""Variants measured beside a baseline: no noise reported as an effect, paired accuracy."""

import numpy as np
import pandas as pd
import pytest
import torch

from perfcost.compression.measurement import (
    Built,
    Workload,
    first_to_try,
    measure_variants,
    measurements_table,
    random_workload,
)
from perfcost.compression.onnx_export import export_onnx
from perfcost.compression.timing import TimingPlan
from perfcost.compression.training import mlp

QUICK = TimingPlan(sessions=3, trials=20, budget_s=20)


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    """fp32, a byte-identical second export of it, and a much smaller model."""
    folder = tmp_path_factory.mktemp("variants")
    torch.manual_seed(0)
    wide = mlp([784, 512, 512, 10]).eval()
    built = {"fp32": Built(export_onnx(wide, folder / "a.onnx")),
             "same_graph": Built(export_onnx(wide, folder / "b.onnx")),
             "small": Built(export_onnx(mlp([784, 16, 10]).eval(), folder / "c.onnx"), 5.0)}
    workload = random_workload((784,), seed=0)
    return measurements_table(measure_variants(built, workload, threads=1, plan=QUICK))


def test_two_exports_of_one_graph_are_reported_as_not_different(measured):
    same = measured.loc["same_graph"]
    assert same["speedup_low"] <= 1.0 <= same["speedup_high"]
    assert same["throughput_gain_low"] <= 1.0 <= same["throughput_gain_high"]
    assert same["speedup"] == 1.0 and same["throughput_gain"] == 1.0  # priced as no gain
    assert same["accuracy_change"] == 0.0 and same["accuracy"] == 1.0


def test_a_much_smaller_model_is_measurably_faster(measured):
    small = measured.loc["small"]
    assert small["speedup_low"] > 1.0 and small["speedup"] == small["speedup_estimate"]
    assert small["throughput_gain_low"] > 1.0
    assert small["latency_p50_high_ms"] < measured.loc["fp32", "latency_p50_low_ms"]


def test_intervals_bracket_their_estimates(measured):
    for low, mid, high in (("latency_p50_low_ms", "latency_p50_ms", "latency_p50_high_ms"),
                           ("throughput_low_rps", "throughput_rps", "throughput_high_rps"),
                           ("accuracy_change_low", "accuracy_change", "accuracy_change_high")):
        assert (measured[low] <= measured[mid]).all() and (measured[mid] <= measured[high]).all()
    assert (measured.loc["fp32", ["speedup", "throughput_gain"]] == 1.0).all()


def test_without_labels_accuracy_is_agreement_with_the_baseline(measured):
    assert measured.loc["fp32", "accuracy"] == 1.0
    assert 0.0 <= measured.loc["small", "accuracy"] <= 1.0


def test_labels_are_used_when_given(tmp_path):
    torch.manual_seed(0)
    path = export_onnx(mlp([4, 3]).eval(), tmp_path / "m.onnx")
    x = np.random.default_rng(0).random((80, 4), dtype=np.float32)
    from perfcost.compression.timing import predict

    labels = predict(path, x).argmax(axis=1)
    labels[:20] = (labels[:20] + 1) % 3  # a quarter wrong
    plan = TimingPlan(sessions=2, trials=2, single_runs=1, batch_runs=1, batch=8, budget_s=1)
    table = measurements_table(measure_variants({"fp32": Built(path)}, Workload(x, labels),
                                                threads=1, plan=plan))
    assert table.loc["fp32", "accuracy"] == pytest.approx(0.75)


def row(p50, high, change_low, flops, lost=5):
    return {"latency_p50_ms": p50, "latency_p50_high_ms": high,
            "accuracy_change_low": change_low, "accuracy_lost": lost, "training_flops": flops}


def test_first_to_try_reads_the_whole_intervals():
    table = pd.DataFrame.from_dict({
        "fp32": row(1.0, 1.05, 0.0, 1.0),
        "int8_dynamic": row(0.6, 0.75, -0.002, 1.0),  # median under 0.7, interval not
        "int8_static": row(0.5, 0.55, -0.02, 1.0),  # accuracy interval beyond the budget
        "prune_structured_50": row(0.5, 0.6, -0.005, 2.0),
        "distilled": row(0.2, 0.25, -0.001, 3.0),
    }, orient="index")
    assert first_to_try(table, latency_target_ms=0.7, max_accuracy_drop=0.01) == \
        "prune_structured_50"
    assert first_to_try(table, latency_target_ms=0.8, max_accuracy_drop=0.01) == "int8_dynamic"
    assert first_to_try(table, latency_target_ms=0.1, max_accuracy_drop=0.01) is None
    # A variant that got no digit wrong that fp32 got right passes any budget, even 0.
    table.loc["int8_static", ["accuracy_change_low", "accuracy_lost"]] = (-0.002, 0)
    assert first_to_try(table, latency_target_ms=0.7, max_accuracy_drop=0.0) == "int8_static"


def test_random_workloads_stay_within_memory():
    assert random_workload((784,)).examples.shape == (1000, 784)
    big = random_workload((3, 512, 512))  # 3 MB each: 85 fit in 256 MB
    assert len(big.examples) == 2**28 // (4 * 3 * 512 * 512) == 85
    assert big.examples.dtype == np.float32
    assert len(random_workload((4, 1024, 1024)).examples) == 64  # the floor: one batch


def test_a_readers_model_with_its_weights_in_a_separate_file_is_measured(tmp_path):
    from perfcost.compression.pipeline import measure_onnx_model

    torch.manual_seed(0)
    model = mlp([32, 64, 10]).eval()
    path = tmp_path / "mine.onnx"
    torch.onnx.export(model, (torch.zeros(1, 32),), str(path), input_names=["features"],
                      dynamic_shapes=({0: torch.export.Dim("batch")},), dynamo=True)
    assert (tmp_path / "mine.onnx.data").exists()  # the exporter's default: weights apart
    plan = TimingPlan(sessions=3, trials=2, single_runs=1, batch_runs=1, batch=8, budget_s=1)
    found = measure_onnx_model(path, [32], tmp_path / "work", ["int8_dynamic", "distilled"],
                               threads=1, plan=plan)
    assert [m.variant for m in found] == ["fp32", "int8_dynamic"]
    assert found[0].accuracy == 1.0
