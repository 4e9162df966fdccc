"""Chapter 4's variants built, then measured: the MNIST model's, or a reader's own model's.

:func:`build_variants` trains the teacher and builds every requested variant of it as ONNX:
``fp32`` (the baseline); the conversions any ONNX model can have
(:mod:`perfcost.compression.onnx_export`: ``fp16``, ``int8_dynamic``, ``int8_static``,
calibrated here on training images); and those that need this model's training code and data:
``prune_unstructured_90`` (the ``sparsity`` share of weights zeroed by magnitude, fine-tuned,
exported dense; the name is the published key, the share is the setting's),
``prune_structured_50`` (the ``keep_fraction`` of hidden units kept by norm, fine-tuned: a
smaller network); ``distilled`` (a narrower student trained on the teacher's softened outputs,
Hinton et al. 2015); ``distilled_int8`` (that student, quantized). ``student_scratch`` is the
same student trained on labels alone, for comparison. :func:`compress_and_measure` builds, then
measures (:mod:`perfcost.compression.measurement`); :func:`measure_onnx_model` does the
conversions for a reader's own ONNX model.

Used by chapter 4 (compression).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

from perfcost.compression.data import CLASSES, Dataset, check_dataset
from perfcost.compression.measurement import (
    Built,
    VariantMeasurement,
    Workload,
    measure_variants,
    random_workload,
)
from perfcost.compression.onnx_export import ONNX_BUILDERS, export_onnx, quantize_int8_dynamic
from perfcost.compression.pruning import prune_structured, prune_unstructured
from perfcost.compression.settings import CompressionSettings, check_threads, check_variants
from perfcost.compression.timing import TimingPlan, session
from perfcost.compression.training import TrainingCost, mlp, train
from perfcost.compression.variants import COMPARISONS, ONNX_VARIANTS, VARIANTS
from perfcost.validation import MAX_SEED, ParameterError

__all__ = ["build_variants", "compress_and_measure", "measure_onnx_model"]

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


def _mlp_shape(data: Dataset, units: int) -> list[int]:
    """Inputs, two hidden layers of ``units``, the ten classes."""
    return [data.x_train.shape[1], units, units, CLASSES]


def build_variants(data: Dataset, settings: CompressionSettings, workdir: Path,
                   variants: Sequence[str] = VARIANTS) -> dict[str, Built]:
    """Train the teacher and build each requested variant of it as ONNX in ``workdir``: the
    ``fp32`` baseline always, and ``student_scratch`` beside the distilled variants."""
    s, workdir, variants = settings, Path(workdir), set(variants)
    torch.manual_seed(s.seed)
    teacher = mlp(_mlp_shape(data, s.hidden_units))
    teacher_cost = train(teacher, data, epochs=s.epochs, seed=s.seed)
    built = {"fp32": _built(export_onnx(teacher, workdir / "fp32.onnx"), teacher_cost)}
    converted = _onnx_variants(built["fp32"].path, sorted(variants), workdir,
                               data.x_train[:CALIBRATION_EXAMPLES], "x")
    built |= {name: _built(path, teacher_cost) for name, path in converted.items()}
    built |= _pruned(data, s, teacher, teacher_cost, workdir, variants)
    if {"distilled", "distilled_int8"} & variants:
        built |= _students(data, s, teacher, teacher_cost, workdir, variants)
    return built


def _pruned(data: Dataset, s: CompressionSettings, teacher: nn.Module,
            teacher_cost: TrainingCost, workdir: Path, variants: set[str]) -> dict[str, Built]:
    """The requested pruned copies of the teacher, each fine-tuned with its own seed."""
    found = {}

    def fine_tuned(name: str, model: nn.Module, seed: int) -> None:
        cost = teacher_cost + train(model, data, epochs=s.fine_tune_epochs, seed=seed)
        found[name] = _built(export_onnx(model, workdir / f"{name}.onnx"), cost)

    if "prune_unstructured_90" in variants:
        pruned = mlp(_mlp_shape(data, s.hidden_units))
        pruned.load_state_dict(teacher.state_dict())
        fine_tuned("prune_unstructured_90", prune_unstructured(pruned, s.sparsity),
                   _offset(s.seed, 1))
    if "prune_structured_50" in variants:
        fine_tuned("prune_structured_50", prune_structured(teacher, s.keep_fraction),
                   _offset(s.seed, 2))
    return found


def _students(data: Dataset, s: CompressionSettings, teacher: nn.Module,
              teacher_cost: TrainingCost, workdir: Path, variants: set[str]) -> dict[str, Built]:
    """The distilled student (and its int8 version if asked), and the same student trained
    from scratch on labels alone: what distillation adds."""
    torch.manual_seed(_offset(s.seed, 3))
    student = mlp(_mlp_shape(data, s.student_units))
    cost = teacher_cost + train(student, data, epochs=s.epochs, seed=_offset(s.seed, 3),
                                teacher=teacher, temperature=s.temperature, alpha=s.alpha)
    path = export_onnx(student, workdir / "distilled.onnx")
    students = {"distilled": _built(path, cost)}
    if "distilled_int8" in variants:
        students["distilled_int8"] = _built(
            quantize_int8_dynamic(path, workdir / "distilled_int8.onnx"), cost)
    torch.manual_seed(_offset(s.seed, 3))
    scratch = mlp(_mlp_shape(data, s.student_units))
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
    measure them all together on the test split
    (:func:`perfcost.compression.measurement.measure_variants`). Building comes first, so no
    training runs while anything is being timed."""
    data = check_dataset(data)
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
    them against it on random inputs
    (:func:`perfcost.compression.measurement.random_workload`): int8_static is calibrated on
    those inputs, and accuracy is top-1 agreement with the fp32 model. Variants that need
    training are not built here (:data:`perfcost.compression.variants.TRAINED_VARIANTS`)."""
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
    return measure_variants(_in_order(built, variants), workload, threads=check_threads(threads),
                            plan=plan, seed=seed)
