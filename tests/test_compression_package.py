"""The compression package's shape: every public name reachable from ``perfcost.compression``,
light modules that stay light, the shared checks, and the peak-memory probe run as a program."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from perfcost import compression
from perfcost.compression import (
    Dataset,
    check_dataset,
    check_model,
    check_temperature,
    check_threads,
    export_onnx,
    mlp,
    peak_memory_bytes,
)
from perfcost.compression.training import linears
from perfcost.validation import ParameterError


def test_every_public_name_is_reachable_from_the_package():
    for name in compression.__all__:
        value = getattr(compression, name)
        module = next(m for m, names in compression._MODULES.items() if name in names)
        home = importlib.import_module(f"perfcost.compression.{module}")
        assert value is getattr(home, name) and name in home.__all__
    assert set(compression.__all__) <= set(dir(compression))
    with pytest.raises(AttributeError, match="no attribute 'onnx_timing'"):
        compression.onnx_timing  # noqa: B018 (the old modules are gone, not aliased)


def test_the_names_the_light_modules_hold_import_neither_torch_nor_onnxruntime():
    code = ("import sys; from perfcost.compression import VARIANTS, CompressionSettings, "
            "check_variants, model_input; import perfcost.compression.data; "
            "assert not {'torch', 'onnxruntime'} & set(sys.modules), 'heavy import'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr


def test_the_shared_checks_return_the_value_or_name_the_parameter():
    data = Dataset(*(np.zeros(2) for _ in range(4)))
    model = mlp([3, 2])
    assert check_dataset(data) is data and check_model(model) is model
    assert check_threads(4.0) == 4 and check_temperature(1) == 1.0
    for call, name in ((lambda: check_dataset((1, 2)), "data"),
                       (lambda: check_model("mlp"), "model"),
                       (lambda: check_threads(65), "threads"),
                       (lambda: check_temperature(0.001), "temperature")):
        with pytest.raises(ParameterError, match=f"^{name} must be "):
            call()


def test_linears_are_the_layers_in_order():
    model = mlp([5, 4, 3, 2])
    assert [(layer.in_features, layer.out_features) for layer in linears(model)] == [
        (5, 4), (4, 3), (3, 2)]


@pytest.fixture(scope="module")
def wide(tmp_path_factory):
    torch.manual_seed(0)
    return export_onnx(mlp([784, 1024, 1024, 10]), tmp_path_factory.mktemp("m") / "wide.onnx")


def test_the_probe_runs_as_a_program_and_prints_the_peak_in_bytes(wide):
    done = subprocess.run(
        [sys.executable, "-m", "perfcost.compression.peak_memory", str(wide),
         json.dumps([64, 784]), "1"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    weights = 4 * (784 * 1024 + 1024 * 1024)
    assert weights < int(done.stdout) < 20 * weights  # the weights and a bounded overhead
    assert weights < peak_memory_bytes(wide, input_shape=(784,), threads=1) < 20 * weights


def test_a_probe_that_fails_says_so(tmp_path):
    with pytest.raises(RuntimeError, match="peak memory measurement failed"):
        peak_memory_bytes(tmp_path / "missing.onnx", input_shape=(4,))
