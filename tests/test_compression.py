"""Compression on tiny models: quantization steps, pruning masks and shapes, distillation loss."""

import numpy as np
import onnx
import pytest
import torch
from onnx import numpy_helper
from torch.nn import functional as F

from perfcost.compression import (
    CompressionSettings,
    Dataset,
    accuracy_with_ci,
    check_variants,
    cpu_features,
    distillation_loss,
    export_onnx,
    load_mnist_subset,
    mlp,
    peak_memory_bytes,
    predict_onnx,
    prune_structured,
    prune_unstructured,
    quantize_int8_dynamic,
    train,
    weight_sparsity,
)
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
    assert np.array_equal(predict_onnx(path, data.x_test, threads=1), expected)


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
        (lambda: check_variants(["fp32", "fp16"]), "variants must be names from fp32"),
        (lambda: CompressionSettings(sparsity=1.0), r"sparsity must be in \[0, 1\)"),
        (lambda: CompressionSettings(sparsity=-0.1), r"sparsity must be in \[0, 1\)"),
        (lambda: CompressionSettings(temperature=0), "temperature must be a finite number > 0"),
        (lambda: CompressionSettings(keep_fraction=0), r"keep_fraction must be in \(0, 1\]"),
        (lambda: distillation_loss(torch.zeros(1, 2), None, torch.zeros(1, dtype=torch.long),
                                   -1.0, 0.5), "temperature must be"),
        (lambda: prune_unstructured(mlp([2, 2]), 1.0), r"sparsity must be in \[0, 1\)"),
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
    small_bytes = peak_memory_bytes(small, input_width=784)
    large_bytes = peak_memory_bytes(large, input_width=784)
    assert 0 < small_bytes < large_bytes
    assert large_bytes - small_bytes > 0.8 * 4 * (784 * 1024 + 1024 * 1024)  # the fp32 weights
