"""The cheap computations behind chapter 4's exercise solutions.

Training the chapter's teacher takes minutes, so the solutions compute only what the answer
needs: what gzip makes of weights with a share of zeros, and how int8's batch-1 speed-up
moves with threads on an untrained network of the chapter's shape (dense kernels take the same
time whatever the weights).

Used by chapter 4 (compression).
"""

from __future__ import annotations

import gzip
import itertools
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
import pandas as pd
from onnx import TensorProto, helper, numpy_helper

from perfcost.compression.onnx_export import quantize_int8_dynamic
from perfcost.compression.timing import TimingPlan, compare_to_baseline, time_models
from perfcost.validation import ParameterError, fraction, integer_in_range

__all__ = ["QUICK_PLAN", "gzip_ratio", "int8_speedups", "mlp_onnx", "mlp_weights"]

MAX_SAMPLE = 2**16  # weights gzipped: the ratio, not the size, is what is wanted
QUICK_PLAN = TimingPlan(sessions=2, trials=6, single_runs=20, batch_runs=1, batch=64,
                        budget_s=1)


def gzip_ratio(sparsity: float, *, weights: int = MAX_SAMPLE, seed: int = 0) -> float:
    """gzip size over raw size of ``weights`` float32 weights (normal, at most 2**16) with the
    smallest-magnitude ``sparsity`` share zeroed, as unstructured pruning leaves them."""
    sparsity = fraction("sparsity", sparsity, high_open=True)
    weights = integer_in_range("weights", weights, 1, MAX_SAMPLE)
    values = np.random.default_rng(seed).standard_normal(weights).astype(np.float32)
    zeroed = round(sparsity * weights)
    values[np.argsort(np.abs(values))[:zeroed]] = 0.0
    raw = values.tobytes()
    return len(gzip.compress(raw, mtime=0)) / len(raw)


def mlp_weights(sizes: Sequence[int]) -> int:
    """Weights and biases of an MLP with layer widths ``sizes`` (inputs first)."""
    sizes = [integer_in_range("sizes", s, 1, 4096) for s in sizes]
    return sum(a * b + b for a, b in itertools.pairwise(sizes))


def mlp_onnx(sizes: Sequence[int], path: Path, *, seed: int = 0) -> Path:
    """Write an untrained ReLU MLP with layer widths ``sizes`` (inputs first) as ONNX at
    ``path``: input ``x`` of shape (batch, sizes[0]), the batch dimension dynamic."""
    sizes = [integer_in_range("sizes", s, 1, 4096) for s in sizes]
    if len(sizes) < 2:
        raise ParameterError("sizes", "at least two widths", sizes)
    rng = np.random.default_rng(seed)
    nodes, weights, last = [], [], "x"
    for i, (inputs, outputs) in enumerate(itertools.pairwise(sizes)):
        w = rng.normal(0, inputs ** -0.5, (inputs, outputs)).astype(np.float32)
        weights += [numpy_helper.from_array(w, f"w{i}"),
                    numpy_helper.from_array(np.zeros(outputs, np.float32), f"b{i}")]
        nodes += [helper.make_node("MatMul", [last, f"w{i}"], [f"m{i}"]),
                  helper.make_node("Add", [f"m{i}", f"b{i}"], [f"a{i}"])]
        last = f"a{i}"
        if i < len(sizes) - 2:
            nodes.append(helper.make_node("Relu", [last], [f"r{i}"]))
            last = f"r{i}"
    nodes[-1].output[0] = "logits"
    graph = helper.make_graph(
        nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                     ["batch", sizes[0]])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT,
                                       ["batch", sizes[-1]])], weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return Path(path)


def int8_speedups(hidden_units: int, thread_counts: Sequence[int], workdir: Path, *,
                  inputs: int = 784, plan: TimingPlan = QUICK_PLAN,
                  seed: int = 0) -> pd.DataFrame:
    """int8 dynamic's batch-1 speed-up over fp32 at each of ``thread_counts``, on an untrained
    MLP inputs -> hidden -> hidden -> 10 exported to ONNX in ``workdir``: one row per thread
    count with the fp32 and int8 medians (ms) and the speed-up with its interval."""
    if not thread_counts:
        raise ParameterError("thread_counts", "at least one thread count", thread_counts)
    workdir = Path(workdir)
    fp32 = mlp_onnx([inputs, hidden_units, hidden_units, 10], workdir / "fp32.onnx",
                    seed=seed)
    models = {"fp32": fp32,
              "int8": quantize_int8_dynamic(fp32, workdir / "int8.onnx")}
    batch = np.random.default_rng(seed).random((plan.batch, inputs), dtype=np.float32)
    rows = {}
    for threads in dict.fromkeys(thread_counts):
        timed = compare_to_baseline(time_models(
            models, batch[:1], batch, threads=threads, plan=plan, seed=seed), "fp32")
        ratio = timed["int8"].speedup
        rows[threads] = {"fp32_p50_ms": timed["fp32"].latency_p50_ms,
                         "int8_p50_ms": timed["int8"].latency_p50_ms,
                         "speedup": ratio.estimate, "speedup_low": ratio.low,
                         "speedup_high": ratio.high}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("threads")
