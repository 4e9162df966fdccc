"""Compression on tiny models: quantization steps, pruning masks and shapes, distillation loss."""

import math
import re
import time

import numpy as np
import onnx
import pandas as pd
import pytest
import torch
from onnx import numpy_helper
from torch.nn import functional as F

from perfcost.compression import (
    CompressionSettings,
    Dataset,
    check_variants,
    compress_and_measure,
    distillation_loss,
    export_onnx,
    load_mnist_subset,
    mlp,
    prune_structured,
    prune_unstructured,
    train,
    weight_sparsity,
)
from perfcost.compression.measurement import Built, Workload, first_to_try, measure_variants
from perfcost.compression.onnx_export import quantize_int8_dynamic
from perfcost.compression.peak_memory import peak_memory_bytes
from perfcost.compression.timing import TimingPlan, cpu_features, predict
from perfcost.significance import accuracy_with_ci
from perfcost.validation import ParameterError


@pytest.fixture
def tiny():
    torch.manual_seed(0)
    return mlp([8, 16, 12, 4])


def tiny_data(seed=0, n=256):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) + 2 * (x[:, 1] > 0).astype(np.int64)
    return Dataset(x[: n // 2], y[: n // 2], x[n // 2:], y[n // 2:])


def test_the_bundled_mnist_subset_splits_reproducibly():
    first, again = load_mnist_subset(seed=1), load_mnist_subset(seed=1)
    assert first.x_train.shape == (4000, 784) and first.x_test.shape == (1000, 784)
    assert np.array_equal(first.y_test, again.y_test)
    assert 0.0 <= first.x_train.min() and first.x_train.max() <= 1.0
    assert set(np.unique(first.y_train)) == set(range(10))


def test_onnx_export_predicts_like_torch(tiny, tmp_path):
    data = tiny_data()
    path = export_onnx(tiny, tmp_path / "tiny.onnx")
    with torch.no_grad():
        expected = tiny(torch.from_numpy(data.x_test)).argmax(dim=1).numpy()
    assert np.array_equal(predict(path, data.x_test, threads=1).argmax(axis=1), expected)


def test_int8_weights_are_within_one_step_of_the_originals(tiny, tmp_path):
    path = quantize_int8_dynamic(export_onnx(tiny, tmp_path / "fp32.onnx"), tmp_path / "q.onnx")
    tensors = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(path)).graph.initializer}
    layers = [m for m in tiny.modules() if isinstance(m, torch.nn.Linear)]
    for index, layer in zip((0, 2, 4), layers, strict=True):
        stem = f"{index}.weight_Transposed"
        scale, zero = tensors[f"{stem}_scale"], tensors[f"{stem}_zero_point"]
        restored = (tensors[f"{stem}_quantized"].astype(np.float32) - zero) * scale
        original = layer.weight.detach().numpy().T
        assert np.abs(restored - original).max() <= scale + 1e-7  # one quantization step
        assert tensors[f"{stem}_quantized"].dtype == np.int8
    assert path.stat().st_size < (tmp_path / "fp32.onnx").stat().st_size


@pytest.mark.parametrize("sparsity", [0.0, 0.5, 0.9])
def test_unstructured_pruning_reaches_the_asked_sparsity_and_fine_tuning_keeps_it(tiny, sparsity):
    prune_unstructured(tiny, sparsity)
    assert weight_sparsity(tiny) == pytest.approx(sparsity, abs=0.01)
    train(tiny, tiny_data(), epochs=2, seed=0, batch_size=32)
    assert weight_sparsity(tiny) == pytest.approx(sparsity, abs=0.01)


def test_structured_pruning_keeps_the_strongest_units_and_shrinks_the_shapes(tiny):
    smaller = prune_structured(tiny, 0.5)
    shapes = [tuple(m.weight.shape) for m in smaller.modules() if isinstance(m, torch.nn.Linear)]
    assert shapes == [(8, 8), (6, 8), (4, 6)]
    first = tiny[0].weight.detach()
    kept = torch.topk(first.norm(dim=1), 8).indices.sort().values
    assert torch.equal(smaller[0].weight.detach(), first[kept])
    full = prune_structured(tiny, 1.0)
    x = torch.randn(5, 8)
    assert torch.allclose(full(x), tiny(x), atol=1e-6)  # keeping everything changes nothing


def test_distillation_loss_reduces_to_cross_entropy():
    torch.manual_seed(1)
    student, teacher = torch.randn(6, 4), torch.randn(6, 4)
    labels = torch.tensor([0, 1, 2, 3, 0, 1])
    ce = F.cross_entropy(student, labels)
    assert torch.allclose(distillation_loss(student, teacher, labels, 1.0, 0.0), ce)
    assert torch.allclose(distillation_loss(student, None, labels, 3.0, 0.7), ce)
    # A student that matches its teacher pays only the hard term.
    same = distillation_loss(student, student.clone(), labels, 4.0, 0.7)
    assert torch.allclose(same, 0.3 * ce, atol=1e-6)


def test_distillation_transfers_the_teacher():
    data = tiny_data(n=1024)
    torch.manual_seed(0)
    teacher = mlp([8, 64, 64, 4])
    train(teacher, data, epochs=20, seed=0, batch_size=64, learning_rate=1e-2)
    torch.manual_seed(1)
    student = mlp([8, 16, 16, 4])
    cost = train(student, data, epochs=20, seed=1, batch_size=64, teacher=teacher,
                 temperature=2.0, alpha=0.9, learning_rate=1e-2)
    x = torch.from_numpy(data.x_test)
    with torch.no_grad():
        agreement = (student(x).argmax(1) == teacher(x).argmax(1)).float().mean().item()
    assert agreement > 0.9
    assert cost.flops == pytest.approx(20 * 512 * (6 * (8 * 16 + 16 * 16 + 16 * 4)
                                                   + 2 * (8 * 64 + 64 * 64 + 64 * 4)))


def test_accuracy_interval_brackets_the_accuracy():
    predictions = np.r_[np.zeros(900), np.ones(100)]
    accuracy, low, high = accuracy_with_ci(predictions, np.zeros(1000), seed=3)
    assert accuracy == 0.9 and low < 0.9 < high
    assert high - low == pytest.approx(2 * 1.96 * np.sqrt(0.09 / 1000), rel=0.15)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: check_variants(["fp32", "bf16"]), "variants must be a non-empty list of distinct"),
        (lambda: CompressionSettings(sparsity=1.0), r"sparsity must be a number in \[0, 1\)"),
        (lambda: CompressionSettings(sparsity=-0.1), r"sparsity must be a number in \[0, 1\)"),
        (lambda: CompressionSettings(temperature=0),
         r"temperature must be a number in \[0.01, 100\]"),
        (lambda: CompressionSettings(keep_fraction=0),
         r"keep_fraction must be a number in \(0, 1\]"),
        (lambda: distillation_loss(torch.zeros(1, 2), None, torch.zeros(1, dtype=torch.long),
                                   -1.0, 0.5), "temperature must be"),
        (lambda: prune_unstructured(mlp([2, 2]), 1.0), r"sparsity must be a number in \[0, 1\)"),
    ],
)
def test_bad_settings_fail_at_the_top(call, message):
    with pytest.raises(ParameterError, match=message):
        call()


def test_cpu_features_report_the_vector_extensions():
    features = cpu_features()
    assert {"model", "avx2", "avx512_vnni", "avx_vnni", "amx_int8"} <= set(features)


def test_peak_memory_is_measured_and_grows_with_the_model(tmp_path):
    torch.manual_seed(0)
    small = export_onnx(mlp([784, 16, 10]), tmp_path / "small.onnx")
    large = export_onnx(mlp([784, 1024, 1024, 10]), tmp_path / "large.onnx")
    small_bytes = peak_memory_bytes(small, input_shape=(784,))
    large_bytes = peak_memory_bytes(large, input_shape=(784,))
    assert 0 < small_bytes < large_bytes
    assert large_bytes - small_bytes > 0.8 * 4 * (784 * 1024 + 1024 * 1024)  # the fp32 weights


# --- Bad input: refused by name, on one line, before any training --------------------------------

def bad_numbers(*extra, zero_ok=False, whole=False):
    """The usual bad values, then zero unless valid, 2.5 for whole numbers, and ``extra``."""
    values = ["3", None, [1.0], True, math.nan, math.inf, -math.inf, -1.0, 1e308, 10**400]
    return [*values, *([] if zero_ok else [0]), *([2.5] if whole else []), *extra]


SETTINGS_BAD = {
    "hidden_units": bad_numbers(10**9, 1e9, 4097, whole=True),
    "student_units": bad_numbers(4097, whole=True),
    "epochs": bad_numbers(10**6, 1e6, 101, whole=True),
    "fine_tune_epochs": bad_numbers(101, whole=True),
    "sparsity": bad_numbers(1.0, zero_ok=True),
    "keep_fraction": bad_numbers(1.01),
    "temperature": bad_numbers(1e-300, 101),
    "alpha": bad_numbers(1.01, zero_ok=True),
    "threads": bad_numbers(65, whole=True),
    "seed": bad_numbers(2**32, zero_ok=True, whole=True),
}
TABLE = pd.DataFrame({"accuracy_change_low": [0.0, -0.01], "accuracy_lost": [0, 3],
                      "latency_p50_ms": [2.0, 1.0], "latency_p50_high_ms": [2.1, 1.1],
                      "training_flops": [1.0, 1.0]}, index=["fp32", "int8_dynamic"])
CALLS = [  # (label, function, good keyword arguments, {argument: bad values})
    ("mlp", mlp, dict(sizes=[2, 3]),
     {"sizes": [None, "23", [2], [2] * 17, [2, 0], [2, 2.5], [2, 4097], [2, math.nan]]}),
    ("distillation_loss", distillation_loss,
     dict(student_logits=torch.zeros(2, 3), teacher_logits=torch.zeros(2, 3),
          labels=torch.zeros(2, dtype=torch.long), temperature=2.0, alpha=0.5),
     {"temperature": bad_numbers(1e-300, 101), "alpha": bad_numbers(1.5, zero_ok=True)}),
    ("train", train, dict(model=mlp([8, 4]), data=tiny_data(n=16), epochs=1, seed=0),
     {"model": [None, "mlp"], "data": [None, (1, 2)], "epochs": bad_numbers(10**6, whole=True),
      "seed": bad_numbers(2**32, zero_ok=True, whole=True)}),
    ("train options", train, dict(model=mlp([8, 4]), data=tiny_data(n=16), epochs=1, seed=0,
                                  batch_size=8, learning_rate=1e-3, temperature=2.0, alpha=0.5),
     {"batch_size": bad_numbers(10**9, whole=True), "learning_rate": bad_numbers(11),
      "temperature": bad_numbers(), "alpha": bad_numbers(2.0, zero_ok=True)}),
    ("prune_unstructured", prune_unstructured, dict(model=mlp([4, 4]), sparsity=0.5),
     {"model": [None], "sparsity": bad_numbers(1.0, zero_ok=True)}),
    ("prune_structured", prune_structured, dict(model=mlp([4, 4, 2]), keep_fraction=0.5),
     {"model": [None, torch.nn.ReLU()], "keep_fraction": bad_numbers(1.5)}),
    ("accuracy_with_ci", accuracy_with_ci,
     dict(predictions=np.zeros(10), labels=np.zeros(10), resamples=100, level=0.9, seed=0),
     {"predictions": [[], np.zeros((2, 5)), 3.0], "labels": [np.zeros(9), np.zeros((10, 1))],
      "resamples": bad_numbers(99, 10**9, whole=True), "level": bad_numbers(1.0),
      "seed": bad_numbers(2**32, zero_ok=True, whole=True)}),
    ("load_mnist_subset", load_mnist_subset, dict(test_fraction=0.2, seed=0),
     {"test_fraction": bad_numbers(1e-9, 0.999), "seed": bad_numbers(-1, 2**32, whole=True,
                                                                     zero_ok=True)}),
    ("first_to_try", first_to_try, dict(table=TABLE, latency_target_ms=1.5, max_accuracy_drop=0.1),
     {"table": [None, {"fp32": 1}], "latency_target_ms": bad_numbers(60_001),
      "max_accuracy_drop": bad_numbers(1.5, zero_ok=True)}),
]


def refused_by_name(call, argument):
    start = time.perf_counter()
    with pytest.raises(ParameterError) as caught:
        call()
    message = str(caught.value)
    assert time.perf_counter() - start < 2.0
    assert "\n" not in message and re.match(rf"{re.escape(argument)} must be .*; got ", message), \
        message


@pytest.mark.parametrize(
    ("argument", "value"),
    [(argument, value) for argument, values in SETTINGS_BAD.items() for value in values],
    ids=[f"{argument}-{value!r:.12}" for argument, values in SETTINGS_BAD.items()
         for value in values],
)
def test_settings_out_of_range_are_refused_before_training(argument, value):
    refused_by_name(lambda: CompressionSettings(**{argument: value}), argument)


def test_the_settings_ranges_reach_their_limits():
    widest = CompressionSettings(hidden_units=4096, student_units=4096, epochs=100,
                                 fine_tune_epochs=100, temperature=100, threads=64,
                                 seed=2**32 - 1)
    assert (widest.hidden_units, widest.epochs, widest.seed) == (4096, 100, 2**32 - 1)
    assert CompressionSettings(temperature=0.01, hidden_units=1, epochs=1).temperature == 0.01


@pytest.mark.parametrize(("function", "good"), [(c[1], c[2]) for c in CALLS],
                         ids=[c[0] for c in CALLS])
def test_the_good_calls_work(function, good):
    function(**good)


@pytest.mark.parametrize(
    ("function", "good", "argument", "value"),
    [(c[1], c[2], argument, value) for c in CALLS for argument, values in c[3].items()
     for value in values],
    ids=[f"{c[0]}-{argument}-{value!r:.12}" for c in CALLS for argument, values in c[3].items()
         for value in values],
)
def test_bad_arguments_are_refused_by_name(function, good, argument, value):
    refused_by_name(lambda: function(**{**good, argument: value}), argument)


@pytest.mark.parametrize("names", ["fp32", "", [], ["fp32", "fp32"], ["fp32", None], None, 3,
                                   ["student_scratch"], {"fp32": 1}])
def test_variants_must_be_a_list_of_distinct_known_names(names):
    refused_by_name(lambda: check_variants(names), "variants")


def test_variants_come_back_as_a_list():
    assert check_variants(("fp32", "distilled")) == ["fp32", "distilled"]


def test_runtime_arguments_are_checked_before_work(tmp_path):
    refused_by_name(lambda: predict(tmp_path / "missing.onnx", np.zeros((1, 8)), threads=0),
                    "threads")
    refused_by_name(lambda: peak_memory_bytes(tmp_path / "m.onnx", input_shape=(10**9,)),
                    "input_shape")
    refused_by_name(lambda: peak_memory_bytes(tmp_path / "m.onnx", input_shape=(8,), batch=0),
                    "batch")
    workload = Workload(tiny_data().x_test, tiny_data().y_test)
    refused_by_name(lambda: measure_variants({}, workload), "built")
    refused_by_name(lambda: measure_variants({"int8": Built(tmp_path)}, workload), "built")
    built = {"fp32": Built(tmp_path / "fp32.onnx")}
    refused_by_name(lambda: measure_variants(built, None), "workload")
    refused_by_name(lambda: measure_variants(built, workload, plan=TimingPlan(batch=10**4)),
                    "plan")
    for argument, value in (("sessions", 1), ("trials", 1), ("batch", 0), ("budget_s", 0)):
        refused_by_name(lambda a=argument, v=value: TimingPlan(**{a: v}), argument)


def test_compress_and_measure_refuses_before_training(tmp_path):
    settings = CompressionSettings(hidden_units=8, student_units=4, epochs=1)
    refused_by_name(lambda: compress_and_measure(tiny_data(), settings, tmp_path, "fp32"),
                    "variants")
    refused_by_name(lambda: compress_and_measure(tiny_data(), {"epochs": 1}, tmp_path),
                    "settings")
    refused_by_name(lambda: compress_and_measure(None, settings, tmp_path), "data")
    assert not list(tmp_path.iterdir())  # nothing was trained or written
