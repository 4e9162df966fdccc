"""ONNX export and the variants any ONNX model can be turned into without training.

:func:`export_onnx` writes chapter 4's PyTorch model as ONNX (the torch.export-based exporter).
The conversions read an fp32 ONNX file and write the variant beside it; none needs the model's
training code or labelled data, so they apply to a reader's own model as well as to chapter 4's
MNIST network (:data:`perfcost.compression.variants.ONNX_VARIANTS`).

- ``int8_dynamic``: ONNX Runtime's dynamic quantization. Weights become int8 (per tensor) when
  the model is converted; activations are quantized on the fly, on every call, from their
  observed range.
- ``int8_static``: post-training static quantization in the QDQ format (QuantizeLinear /
  DequantizeLinear pairs around each quantized operator), weights per channel, activation
  ranges calibrated once on example inputs (min-max). No quantization work is left for run time
  beyond the integer kernels themselves (Krishnamoorthi 2018, "Quantizing deep convolutional
  networks for efficient inference: a whitepaper", arXiv:1806.08342).
- ``fp16``: weights and arithmetic in half precision with fp32 inputs and outputs kept (casts at
  the edges), by ONNX Runtime's converter. On a GPU, fp16 runs on tensor cores; on a CPU,
  ONNX Runtime has fp16 kernels for few operators and computes the rest in fp32 behind inserted
  casts (:func:`fp16_compute_share` says how much of a graph really runs in fp16).

Used by chapter 4 (compression).
"""

from __future__ import annotations

import contextlib
import io
import logging
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

from perfcost.compression.pruning import make_pruning_permanent
from perfcost.compression.training import linears
from perfcost.validation import ParameterError

__all__ = [
    "ONNX_BUILDERS",
    "convert_fp16",
    "export_onnx",
    "fp16_compute_share",
    "quantize_int8_dynamic",
    "quantize_int8_static",
    "quiet_converters",
]

MAX_CALIBRATION_EXAMPLES = 4_096
HEAVY_OPS = ("MatMul", "Gemm", "Conv", "ConvTranspose", "Attention", "MatMulInteger")


@contextlib.contextmanager
def quiet_converters() -> Iterator[None]:
    """Keep exporters' and quantizers' progress notes out of the caller's output."""
    loggers = [logging.getLogger(name) for name in ("torch.onnx", "")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=FutureWarning, module="torch|copyreg")
            warnings.filterwarnings("ignore", category=UserWarning, module="onnxruntime")
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def export_onnx(model: nn.Module, path: Path) -> Path:
    """Export ``model`` to ONNX at ``path`` (batch dimension dynamic, weights inside the file)
    with the torch.export-based exporter; pruning masks are folded into the weights first."""
    path = Path(path)
    make_pruning_permanent(model).eval()
    example = torch.zeros(1, linears(model)[0].in_features)
    with quiet_converters():
        torch.onnx.export(model, (example,), str(path), input_names=["x"],
                          output_names=["logits"],
                          dynamic_shapes=({0: torch.export.Dim("batch")},), dynamo=True,
                          external_data=False)
    return path


def _prepared(onnx_path: Path, folder: Path) -> Path:
    """ONNX Runtime's recommended pre-processing before quantization: shape inference and
    graph optimisation (``quant_pre_process``)."""
    from onnxruntime.quantization import quant_pre_process

    prepared = Path(folder) / "prepared.onnx"
    quant_pre_process(str(onnx_path), str(prepared))
    return prepared


def quantize_int8_dynamic(onnx_path: Path, out_path: Path) -> Path:
    """ONNX Runtime dynamic quantization: int8 weights (per tensor), activations quantized on the
    fly at run time, after ONNX Runtime's recommended pre-processing."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out_path = Path(out_path)
    with quiet_converters(), tempfile.TemporaryDirectory() as folder:
        quantize_dynamic(str(_prepared(onnx_path, Path(folder))), str(out_path),
                         weight_type=QuantType.QInt8, per_channel=False)
    return out_path


def _calibration(calibration: object, input_name: str) -> np.ndarray:
    examples = np.asarray(calibration, dtype=np.float32) if isinstance(
        calibration, np.ndarray) else None
    if (examples is None or examples.ndim < 2 or not 1 <= len(examples)
            <= MAX_CALIBRATION_EXAMPLES or not np.all(np.isfinite(examples))):
        raise ParameterError("calibration", f"an array of 1 to {MAX_CALIBRATION_EXAMPLES:,} "
                             f"finite examples for input {input_name!r}",
                             getattr(calibration, "shape", type(calibration).__name__))
    return examples


def _reader(examples: np.ndarray, input_name: str, batch: int = 32):
    """A calibration reader feeding ``examples`` in batches of ``batch``."""
    from onnxruntime.quantization import CalibrationDataReader

    class Batches(CalibrationDataReader):
        def __init__(self):
            chunks = np.array_split(examples, max(1, len(examples) // batch))
            self.feeds = iter([{input_name: chunk} for chunk in chunks])

        def get_next(self):
            return next(self.feeds, None)

    return Batches()


def quantize_int8_static(onnx_path: Path, out_path: Path, calibration: np.ndarray, *,
                         input_name: str) -> Path:
    """Static int8 quantization in the QDQ format: int8 weights per output channel, uint8
    activations whose ranges are calibrated (min-max) on ``calibration`` (1 to 4,096 examples,
    fed in batches of 32), the U8S8 pairing ONNX Runtime recommends on x86 CPUs.

    Calibration examples should look like the traffic: training images for chapter 4's model;
    for a reader's model without data, random inputs, which calibrate ranges only roughly.
    """
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

    examples = _calibration(calibration, input_name)
    out_path = Path(out_path)
    with quiet_converters(), tempfile.TemporaryDirectory() as folder:
        quantize_static(str(_prepared(onnx_path, Path(folder))), str(out_path),
                        _reader(examples, input_name), quant_format=QuantFormat.QDQ,
                        per_channel=True, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8)
    return out_path


def convert_fp16(onnx_path: Path, out_path: Path) -> Path:
    """Half-precision weights and arithmetic, fp32 inputs and outputs kept (ONNX Runtime's
    ``convert_float_to_float16`` with ``keep_io_types``)."""
    from onnxruntime.transformers.float16 import convert_float_to_float16

    out_path = Path(out_path)
    with quiet_converters():
        converted = convert_float_to_float16(onnx.load(str(onnx_path)), keep_io_types=True)
    onnx.save(converted, str(out_path))
    return out_path


def _heavy_nodes_fp16(graph: onnx.GraphProto) -> tuple[int, int]:
    """(heavy nodes, heavy nodes whose first input is fp16) of an optimised graph."""
    types = {v.name: v.type.tensor_type.elem_type
             for v in [*graph.value_info, *graph.input, *graph.output]}
    types |= {t.name: t.data_type for t in graph.initializer}
    heavy = [n for n in graph.node if n.op_type in HEAVY_OPS or n.op_type.startswith("Fused")]
    half = [n for n in heavy if types.get(n.input[0]) == onnx.TensorProto.FLOAT16]
    return len(heavy), len(half)


def fp16_compute_share(onnx_path: Path) -> float:
    """The share of the graph's matrix operators (MatMul, Gemm, Conv, ...) that ONNX Runtime's
    CPU provider runs in fp16 once it has optimised the graph for this machine; the rest run in
    fp32 behind casts it inserts. 0.0 when the graph has no such operator in fp16."""
    import onnxruntime as ort

    with tempfile.TemporaryDirectory() as folder:
        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.optimized_model_filepath = str(Path(folder) / "optimised.onnx")
        ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        optimised = onnx.shape_inference.infer_shapes(onnx.load(options.optimized_model_filepath))
    heavy, half = _heavy_nodes_fp16(optimised.graph)
    return half / heavy if heavy else 0.0


Builder = Callable[..., Path]
ONNX_BUILDERS: dict[str, Builder] = {
    "fp16": lambda fp32, out, calibration, input_name: convert_fp16(fp32, out),
    "int8_dynamic": lambda fp32, out, calibration, input_name: quantize_int8_dynamic(fp32, out),
    "int8_static": lambda fp32, out, calibration, input_name: quantize_int8_static(
        fp32, out, calibration, input_name=input_name),
}
