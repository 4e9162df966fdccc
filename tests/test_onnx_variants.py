"""Variants any ONNX model can have: static QDQ int8 per channel, fp16, dynamic int8."""

import numpy as np
import onnx
import pytest
import torch
from onnx import numpy_helper

from perfcost.compression.onnx_export import (
    ONNX_BUILDERS,
    convert_fp16,
    export_onnx,
    fp16_compute_share,
    quantize_int8_static,
)
from perfcost.compression.timing import predict
from perfcost.compression.training import mlp
from perfcost.validation import ParameterError


@pytest.fixture(scope="module")
def fp32(tmp_path_factory):
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("onnx")
    return export_onnx(mlp([16, 32, 8]).eval(), folder / "fp32.onnx")


def calibration(n=64, width=16, seed=0):
    return np.random.default_rng(seed).random((n, width), dtype=np.float32)


def test_static_int8_is_qdq_with_one_weight_scale_per_output_channel(fp32, tmp_path):
    path = quantize_int8_static(fp32, tmp_path / "s.onnx", calibration(), input_name="x")
    graph = onnx.load(str(path)).graph
    ops = {node.op_type for node in graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    tensors = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    weights = [a for a in tensors.values() if a.dtype == np.int8 and a.ndim == 2]
    assert sorted(w.shape for w in weights) == [(8, 32), (32, 16)] or sorted(
        w.shape[::-1] for w in weights) == [(8, 32), (32, 16)]
    vector_scales = [a for n, a in tensors.items() if "scale" in n and a.ndim == 1]
    assert {len(s) for s in vector_scales} == {8, 32}  # per output channel


def test_every_onnx_variant_predicts_like_fp32(fp32, tmp_path):
    examples = calibration(256, seed=1)
    reference = predict(fp32, examples).argmax(axis=1)
    for name, build in ONNX_BUILDERS.items():
        path = build(fp32, tmp_path / f"{name}.onnx", calibration(), "x")
        agreement = np.mean(predict(path, examples).argmax(axis=1) == reference)
        assert agreement >= 0.9, name


def test_fp16_halves_the_weights_and_keeps_fp32_inputs(fp32, tmp_path):
    path = convert_fp16(fp32, tmp_path / "h.onnx")
    model = onnx.load(str(path))
    weights = [t for t in model.graph.initializer if len(t.dims) == 2]
    assert weights and all(t.data_type == onnx.TensorProto.FLOAT16 for t in weights)
    assert model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert 0.0 <= fp16_compute_share(path) <= 1.0
    assert fp16_compute_share(fp32) == 0.0  # nothing in fp16 to begin with


@pytest.mark.parametrize("bad", [None, np.zeros(4), np.full((2, 16), np.nan),
                                 np.zeros((5000, 16)), [[1.0] * 16]])
def test_bad_calibration_is_refused_by_name(fp32, tmp_path, bad):
    with pytest.raises(ParameterError, match=r"^calibration must be"):
        quantize_int8_static(fp32, tmp_path / "s.onnx", bad, input_name="x")
    assert not (tmp_path / "s.onnx").exists()
