"""ONNX models a reader might hand chapter 4 (``model_path``), built for the tests.

:func:`small_cnn_onnx` is one the chapter can measure: a little CNN exported from PyTorch the
way :func:`perfcost.compression.onnx_export.export_onnx` exports the chapter's MLP. The others
are ones it must refuse, written directly with ``onnx.helper`` (no exporter: quick, and shaped
exactly).
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

import onnx
from onnx import TensorProto, helper

__all__ = ["fixed_batch_onnx", "onnx_with_inputs", "small_cnn_onnx", "two_input_onnx"]

MNIST_SHAPE = (1, 28, 28)  # one example: a grey 28x28 image


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Keep the exporter's progress notes and warnings out of the test output."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def small_cnn_onnx(path: Path, *, channels: int = 4, seed: int = 0) -> Path:
    """Export a small MNIST CNN to ONNX at ``path``: input ``(batch, 1, 28, 28)`` float32 with
    the batch dimension dynamic, output ``(batch, 10)`` logits, weights inside the file.

    Conv2d(1, channels, 3) -> ReLU -> MaxPool2d(2) -> Flatten -> Linear(channels * 13 * 13, 10),
    initialised from ``seed``.
    """
    import torch
    from torch import nn

    torch.manual_seed(seed)
    model = nn.Sequential(nn.Conv2d(1, channels, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(channels * 13 * 13, 10)).eval()
    example = torch.zeros(1, *MNIST_SHAPE)
    with _quiet():
        torch.onnx.export(model, (example,), str(path), input_names=["x"],
                          output_names=["logits"],
                          dynamic_shapes=({0: torch.export.Dim("batch")},), dynamo=True,
                          external_data=False)
    return Path(path)


def onnx_with_inputs(path: Path, inputs: Sequence[tuple[str, int, Sequence[int | str]]]) -> Path:
    """Write a valid ONNX model at ``path`` with the given inputs, ``(name, element type,
    shape)`` each (a string in a shape is a symbolic dimension); it returns its first input."""
    values = [helper.make_tensor_value_info(name, kind, list(shape))
              for name, kind, shape in inputs]
    name, kind, shape = inputs[0]
    output = helper.make_tensor_value_info("y", kind, list(shape))
    node = helper.make_node("Identity", [name], ["y"])
    graph = helper.make_graph([node], "refused", values, [output])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return Path(path)


def fixed_batch_onnx(path: Path) -> Path:
    """A model whose input ``x`` is float32 ``(1, 1, 28, 28)``: its batch is fixed at 1."""
    return onnx_with_inputs(path, [("x", TensorProto.FLOAT, [1, *MNIST_SHAPE])])


def two_input_onnx(path: Path) -> Path:
    """A model with two inputs, ``input_ids`` and ``attention_mask`` (a language model's)."""
    return onnx_with_inputs(path, [("input_ids", TensorProto.FLOAT, ["batch", 16]),
                                   ("attention_mask", TensorProto.FLOAT, ["batch", 16])])
