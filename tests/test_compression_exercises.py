"""Chapter 4's exercise computations (perfcost.book.compression_exercises)."""

import numpy as np
import onnxruntime as ort
import pytest

from perfcost.book import compression_exercises as ex
from perfcost.compression.training import mlp
from perfcost.validation import ParameterError


def test_gzip_ratio_falls_as_more_weights_are_zero():
    ratios = [ex.gzip_ratio(s, weights=2**14) for s in (0.0, 0.5, 0.9)]
    assert ratios[0] > 0.85  # random float32 barely compresses
    assert ratios[0] > ratios[1] > ratios[2]
    with pytest.raises(ParameterError, match="sparsity"):
        ex.gzip_ratio(1.0)


def test_mlp_weights_counts_what_torch_counts():
    sizes = [784, 64, 64, 10]
    assert ex.mlp_weights(sizes) == sum(p.numel() for p in mlp(sizes).parameters())
    assert ex.mlp_weights([2, 3]) == 9


def test_mlp_onnx_computes_the_mlp_for_any_batch(tmp_path):
    path = ex.mlp_onnx([5, 4, 3], tmp_path / "m.onnx", seed=1)
    x = np.random.default_rng(0).random((7, 5), dtype=np.float32)
    (out,) = ort.InferenceSession(str(path)).run(None, {"x": x})
    import onnx
    from onnx import numpy_helper
    w = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(path)).graph.initializer}
    expected = np.maximum(x @ w["w0"] + w["b0"], 0) @ w["w1"] + w["b1"]
    assert out.shape == (7, 3)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


def test_int8_speedups_times_each_thread_count_once(tmp_path):
    table = ex.int8_speedups(16, [1, 1], tmp_path, inputs=8)
    assert table.index.tolist() == [1]
    row = table.loc[1]
    assert row["fp32_p50_ms"] > 0 and row["int8_p50_ms"] > 0
    assert row["speedup_low"] <= row["speedup"] <= row["speedup_high"]
    with pytest.raises(ParameterError, match="thread_counts"):
        ex.int8_speedups(16, [], tmp_path)
