"""A reader's ONNX model for chapter 4 (perfcost.compression.reader_model): accepted when the
chapter can measure it, otherwise refused in one line that says why, before any work."""

from __future__ import annotations

import subprocess
import sys

import onnx
import pytest
from onnx import TensorProto, helper
from onnx_fixtures import fixed_batch_onnx, onnx_with_inputs, small_cnn_onnx, two_input_onnx

from perfcost.book import parameter_types
from perfcost.compression.reader_model import (
    MAX_EXAMPLE_DIMENSIONS,
    MAX_EXAMPLE_ELEMENTS,
    ModelInput,
    check_input_shape,
    model_input,
)
from perfcost.validation import ParameterError

CNN_INPUT = ModelInput("x", (None, 1, 28, 28), "float32")


@pytest.fixture(scope="module")
def cnn(tmp_path_factory):
    """A small CNN exported from PyTorch with a dynamic batch dimension."""
    return small_cnn_onnx(tmp_path_factory.mktemp("cnn") / "cnn.onnx")


def refused(path) -> str:
    """model_input's reason for refusing ``path``, checked to be one line."""
    with pytest.raises(ValueError) as refusal:
        model_input(path)
    message = str(refusal.value)
    assert "\n" not in message and len(message) < 300, message
    return message


# --- model_input: models chapter 4 can measure ---------------------------------------------------

def test_a_cnn_exported_with_a_dynamic_batch_is_described(cnn):
    assert model_input(cnn) == CNN_INPUT
    assert model_input(str(cnn)) == CNN_INPUT
    assert str(CNN_INPUT) == "(?, 1, 28, 28)"


def test_weights_listed_as_graph_inputs_are_not_inputs(tmp_path):
    """Older exporters list every initializer among the graph's inputs too."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])
    w = helper.make_tensor_value_info("w", TensorProto.FLOAT, [4, 2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 2])
    weights = helper.make_tensor("w", TensorProto.FLOAT, [4, 2], [0.5] * 8)
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "mlp",
                              [x, w], [y], initializer=[weights])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.save(model, str(tmp_path / "mlp.onnx"))
    assert model_input(tmp_path / "mlp.onnx") == ModelInput("x", (None, 4), "float32")


def test_symbolic_dimensions_after_the_batch_are_dynamic(tmp_path):
    path = onnx_with_inputs(tmp_path / "seq.onnx", [("v", TensorProto.FLOAT,
                                                     ["batch", "sequence", 4])])
    model = model_input(path)
    assert model == ModelInput("v", (None, None, 4), "float32")
    assert check_input_shape(model, [16, 4]) == (16, 4)
    assert check_input_shape(model, (512, 4)) == (512, 4)


# --- model_input: models it refuses --------------------------------------------------------------

@pytest.mark.parametrize(("content", "reason"), [
    (b"hello, world\n", "not a valid ONNX model"),
    (b"", "not a valid ONNX model"),
    (b"date,price\n2026-01-01,3\n", "not a valid ONNX model"),
])
def test_a_file_that_is_not_onnx_is_refused(tmp_path, content, reason):
    (tmp_path / "m.onnx").write_bytes(content)
    assert refused(tmp_path / "m.onnx").startswith(reason)


def test_a_missing_file_or_a_folder_is_refused(tmp_path):
    assert refused(tmp_path / "missing.onnx") == "no such file"
    assert refused(tmp_path) == "not a regular file"


def test_a_fixed_batch_is_refused_with_how_to_export(tmp_path):
    assert refused(fixed_batch_onnx(tmp_path / "m.onnx")) == (
        "the batch dimension is fixed at 1; export with a dynamic batch dimension "
        "(torch.onnx.export(..., dynamic_shapes=...))")


def test_two_inputs_are_refused_by_name(tmp_path):
    assert refused(two_input_onnx(tmp_path / "m.onnx")) == (
        "the model has 2 inputs (input_ids, attention_mask); one float32 input is needed")


def test_a_model_without_inputs_is_refused(tmp_path):
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    constant = helper.make_node("Constant", [], ["y"],
                                value=helper.make_tensor("c", TensorProto.FLOAT, [1], [1.0]))
    model = helper.make_model(helper.make_graph([constant], "none", [], [y]),
                              opset_imports=[helper.make_opsetid("", 18)])
    onnx.save(model, str(tmp_path / "m.onnx"))
    assert refused(tmp_path / "m.onnx") == (
        "the model has no inputs; one float32 input is needed")


@pytest.mark.parametrize(("kind", "shape", "reason"), [
    (TensorProto.INT64, ["batch", 16], "the model's input 'v' is int64; one float32 input"),
    (TensorProto.FLOAT16, ["batch", 16], "the model's input 'v' is float16; one float32 input"),
    (TensorProto.FLOAT, ["batch"], "the model's input 'v' has shape (?); at least 2 dimensions"),
    (TensorProto.FLOAT, [], "the model's input 'v' has shape (); at least 2 dimensions"),
    (TensorProto.FLOAT, ["batch", *[2] * 9], "the model's input 'v' has 10 dimensions; at most 9"),
])
def test_an_input_of_another_type_or_rank_is_refused(tmp_path, kind, shape, reason):
    path = onnx_with_inputs(tmp_path / "m.onnx", [("v", kind, shape)])
    assert refused(path).startswith(reason)


def test_names_from_the_file_stay_on_one_line(tmp_path):
    path = onnx_with_inputs(tmp_path / "m.onnx", [("a\nb", TensorProto.FLOAT, ["n", 2]),
                                                  ("c" * 500, TensorProto.FLOAT, ["n", 2])])
    assert refused(path).startswith("the model has 2 inputs (a b, ccc")


# --- check_input_shape ---------------------------------------------------------------------------

def test_the_shape_of_one_example_is_accepted():
    assert check_input_shape(CNN_INPUT, [1, 28, 28]) == (1, 28, 28)
    assert check_input_shape(CNN_INPUT, (1, 28.0, 28)) == (1, 28, 28)


@pytest.mark.parametrize("shape", [
    [28, 28], [1, 1, 28, 28], [3, 28, 28], [1, 32, 32],  # wrong rank, a fixed size differs
    [], [True, 28, 28], ["1", 28, 28], [-1, 28, 28], [0, 28, 28], [1, 28.5, 28],
    [1, float("nan"), 28], [1, float("inf"), 28], [None, 28, 28], [[1], 28, 28],
    "1, 28, 28", {"shape": [1, 28, 28]}, 784, None, [1] * 9,
])
def test_a_shape_that_does_not_fit_the_model_is_refused(shape):
    with pytest.raises(ParameterError) as refusal:
        check_input_shape(CNN_INPUT, shape)
    assert refusal.value.name == "input_shape"
    assert str(refusal.value).startswith(
        "input_shape must be a list of 3 positive integers matching the model's input "
        "(?, 1, 28, 28) without its batch dimension")


def test_an_example_of_more_than_2_to_the_22_elements_is_refused():
    model = ModelInput("v", (None, None, None), "float32")
    assert check_input_shape(model, [2048, 2048]) == (2048, 2048)  # exactly 2**22
    with pytest.raises(ParameterError, match=r"at most 4,194,304 elements in all; "
                                             r"got \[2049, 2048\]"):
        check_input_shape(model, [2049, 2048])
    with pytest.raises(ParameterError, match="a list of 2 positive integers"):
        check_input_shape(model, [10**400, 1])


def test_one_dimension_is_named_in_the_singular():
    with pytest.raises(ParameterError, match=r"a list of 1 positive integer matching the "
                                             r"model's input \(\?, 784\)"):
        check_input_shape(ModelInput("x", (None, 784), "float32"), [28, 28])


def test_the_chapters_shape_check_uses_the_same_limits():
    assert MAX_EXAMPLE_ELEMENTS == 2**22 == parameter_types.MAX_SHAPE_SIZE
    assert MAX_EXAMPLE_DIMENSIONS == parameter_types.MAX_SHAPE_DIMENSIONS


def test_checking_inputs_imports_neither_onnxruntime_nor_torch():
    code = ("import sys, perfcost.book.inputs; assert 'onnx' not in sys.modules; "
            "import perfcost.compression.reader_model; "
            "assert not {'torch', 'onnxruntime'} & set(sys.modules), 'heavy import'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
