"""A reader's own ONNX model: what it takes as input, and whether chapter 4 can measure it.

Chapter 4 (``analyses/compression.ipynb``) measures its built-in MNIST model by default; with
``model_path`` a reader hands over an ONNX file of their own, and ``input_shape`` says the shape
of one example. Both are checked here before any work starts: :func:`model_input` reads the
model's single input (one float32 tensor with a dynamic batch dimension, the only kind the
chapter can feed batches of random examples to), and :func:`check_input_shape` checks a shape
against it. Every refusal is one line in plain words.

This module imports ``onnx`` and numpy only, never ONNX Runtime or PyTorch, so checking a
re-run's parameters stays cheap.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx

from perfcost.validation import ParameterError

__all__ = [
    "MAX_EXAMPLE_DIMENSIONS",
    "MAX_EXAMPLE_ELEMENTS",
    "ModelInput",
    "check_input_shape",
    "model_input",
]

MAX_EXAMPLE_DIMENSIONS = 8  # an example's rank: images are 3, video 4; beyond is not an input
# 16 MB per float32 example: the chapter's batches of up to 64 examples stay around 1 GB.
MAX_EXAMPLE_ELEMENTS = 2**22
NEEDED = "one float32 input is needed"
MAX_SHOWN_CHARS = 200  # a reason quoted from onnx or from the file is cut to this length


@dataclass(frozen=True)
class ModelInput:
    """The single graph input of an ONNX model.

    Attributes
    ----------
    name : str
        The input's name in the graph (what an inference session is fed under).
    shape : tuple of int or None
        One entry per dimension; ``None`` for a dynamic one (symbolic or unknown). The first
        is the batch dimension.
    dtype : str
        The element type as numpy names it, e.g. ``"float32"``.
    """

    name: str
    shape: tuple[int | None, ...]
    dtype: str

    def __str__(self) -> str:
        """The shape as a reader writes it, ``?`` for a dynamic dimension: ``(?, 1, 28, 28)``."""
        return "(" + ", ".join("?" if d is None else str(d) for d in self.shape) + ")"


def _one_line(text: object) -> str:
    """``text`` on one line of at most 200 characters (names and reasons come from the file)."""
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_SHOWN_CHARS else text[:MAX_SHOWN_CHARS - 3] + "..."


def _load(path: Path) -> onnx.ModelProto:
    """Load and check the model at ``path``; raise ValueError saying why it cannot be used."""
    if not path.is_file():  # a folder, or a pipe that would block the read
        raise ValueError("no such file" if not path.exists() else "not a regular file")
    try:
        model = onnx.load(str(path))  # with its external data, if it has any
        onnx.checker.check_model(str(path))
    except OSError as error:
        raise ValueError(f"cannot be read ({_one_line(error.strerror or error)})") from None
    except Exception as error:  # protobuf's DecodeError, onnx's ValidationError: no ValueErrors
        raise ValueError(f"not a valid ONNX model ({_one_line(error)})") from None
    return model


def _graph_inputs(model: onnx.ModelProto) -> list[onnx.ValueInfoProto]:
    """The inputs a caller feeds: graph inputs that are not initializers (weights)."""
    weights = {initializer.name for initializer in model.graph.initializer}
    return [value for value in model.graph.input if value.name not in weights]


def _dtype_name(element_type: int) -> str:
    """numpy's name for an ONNX element type (``"float32"``), else ONNX's (``"bfloat16"``)."""
    try:
        return np.dtype(onnx.helper.tensor_dtype_to_np_dtype(element_type)).name
    except (KeyError, TypeError, ValueError):
        return onnx.TensorProto.DataType.Name(element_type).lower()


def _dimensions(tensor: onnx.TypeProto.Tensor) -> tuple[int | None, ...]:
    """Each dimension's size, ``None`` where it is symbolic or unknown."""
    return tuple(d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim)


def _the_input(model: onnx.ModelProto) -> onnx.ValueInfoProto:
    """The model's only input; ValueError when it has none or several."""
    inputs = _graph_inputs(model)
    if len(inputs) != 1:
        names = ", ".join(value.name for value in inputs)
        count = f"{len(inputs)} inputs ({_one_line(names)})" if inputs else "no inputs"
        raise ValueError(f"the model has {count}; {NEEDED}")
    return inputs[0]


def _described(value: onnx.ValueInfoProto) -> ModelInput:
    """The input's name, shape and element type; ValueError when it is not a ranked tensor."""
    name = _one_line(value.name)
    if not value.type.HasField("tensor_type"):
        raise ValueError(f"the model's input {name!r} is not a tensor; {NEEDED}")
    tensor = value.type.tensor_type
    if not tensor.HasField("shape"):
        raise ValueError(f"the model's input {name!r} has no fixed number of dimensions; "
                         "export it with a known rank")
    return ModelInput(value.name, _dimensions(tensor), _dtype_name(tensor.elem_type))


def _check_measurable(model: ModelInput) -> None:
    """float32, a batch dimension and at most 8 more, the batch dimension dynamic."""
    name = _one_line(model.name)
    if model.dtype != "float32":
        raise ValueError(f"the model's input {name!r} is {model.dtype}; {NEEDED}")
    rank = len(model.shape)
    if rank < 2:
        raise ValueError(f"the model's input {name!r} has shape {model}; at least 2 "
                         "dimensions are needed: a batch dimension first, then the example's")
    if rank > MAX_EXAMPLE_DIMENSIONS + 1:
        raise ValueError(f"the model's input {name!r} has {rank} dimensions; at most "
                         f"{MAX_EXAMPLE_DIMENSIONS + 1} (the batch and "
                         f"{MAX_EXAMPLE_DIMENSIONS} more) are supported")
    if model.shape[0] is not None:
        raise ValueError(f"the batch dimension is fixed at {model.shape[0]}; export with a "
                         "dynamic batch dimension (torch.onnx.export(..., dynamic_shapes=...))")


def model_input(path: Path | str) -> ModelInput:
    """Describe the input of the ONNX model at ``path``, checking that chapter 4 can measure it.

    Parameters
    ----------
    path : Path or str
        An ONNX file; external data is allowed when it loads.

    Returns
    -------
    ModelInput
        The model's single input (initializers excluded).

    Raises
    ------
    ValueError
        With a short reason in plain words, on one line: the file is missing or not ONNX
        (``onnx.load`` or ``onnx.checker.check_model`` refused it), the model has no input or
        several, its input is not float32, has fewer than 2 or more than 9 dimensions, or its
        first (batch) dimension is fixed.
    """
    model = _described(_the_input(_load(Path(path))))
    _check_measurable(model)
    return model


def _valid_shape_text(model: ModelInput) -> str:
    """What ``input_shape`` must be for ``model``, in words."""
    count = len(model.shape) - 1
    integers = "1 positive integer" if count == 1 else f"{count} positive integers"
    return (f"a list of {integers} matching the model's input {model} without its batch "
            f"dimension, at most {MAX_EXAMPLE_ELEMENTS:,} elements in all")


def _positive_integer(value: object) -> bool:
    """A whole number >= 1 (``28`` or ``28.0``), not a bool."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    if isinstance(value, numbers.Integral):  # exact for ints of any size
        return value >= 1
    return math.isfinite(value) and value >= 1 and value == int(value)


def _fits(model: ModelInput, shape: tuple[int, ...]) -> bool:
    """One size per dimension after the batch, each equal to the model's where that is fixed."""
    example = model.shape[1:]
    return len(shape) == len(example) and all(
        fixed is None or fixed == size for fixed, size in zip(example, shape, strict=True))


def check_input_shape(model: ModelInput, input_shape: object) -> tuple[int, ...]:
    """Check the shape of one example of ``model``'s input, without the batch dimension.

    Parameters
    ----------
    model : ModelInput
        The model's input (:func:`model_input`).
    input_shape : list or tuple of int
        1 to 8 positive integers, one per dimension of the model's input after the batch
        dimension; each equal to the model's size where that is fixed, and at most
        :data:`MAX_EXAMPLE_ELEMENTS` elements in all.

    Returns
    -------
    tuple of int
        The shape.

    Raises
    ------
    ParameterError
        Naming ``input_shape`` and what the model expects.
    """
    valid = _valid_shape_text(model)
    if (not isinstance(input_shape, list | tuple)
            or not 1 <= len(input_shape) <= MAX_EXAMPLE_DIMENSIONS
            or not all(_positive_integer(size) for size in input_shape)):
        raise ParameterError("input_shape", valid, input_shape)
    shape = tuple(int(size) for size in input_shape)
    if not _fits(model, shape) or math.prod(shape) > MAX_EXAMPLE_ELEMENTS:
        raise ParameterError("input_shape", valid, list(shape))
    return shape

