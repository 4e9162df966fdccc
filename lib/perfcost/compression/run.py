"""Chapter 4's measurement in one call: the MNIST model's variants, or a reader's own model's.

With ``model_path`` empty, the chapter's MNIST network is trained and every requested variant
built and measured (:func:`perfcost.compression.pipeline.compress_and_measure`). With a path,
the reader's ONNX model is converted into the requested variants that need no training
(:data:`perfcost.compression.variants.ONNX_VARIANTS`) and measured on random inputs
(:func:`perfcost.compression.pipeline.measure_onnx_model`); the rest are listed as skipped.

Used by chapter 4 (compression).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from perfcost.compression.data import load_mnist_subset
from perfcost.compression.measurement import VariantMeasurement, Workload, paired_between
from perfcost.compression.onnx_export import fp16_compute_share
from perfcost.compression.pipeline import compress_and_measure, measure_onnx_model
from perfcost.compression.settings import CompressionSettings
from perfcost.compression.timing import TimingPlan
from perfcost.compression.variants import TRAINED_VARIANTS
from perfcost.significance import PairedAccuracy

__all__ = ["ChapterRun", "run_variants", "skipped"]


@dataclass(frozen=True)
class ChapterRun:
    """What chapter 4 measured."""

    measurements: list[VariantMeasurement]
    skipped: list[str]  # requested variants the model cannot have (they need training)
    fp16_share: float | None  # share of fp16's matrix operators run in fp16; None: not built
    examples: int  # examples accuracy was scored on
    plan: TimingPlan
    distilled_vs_scratch: PairedAccuracy | None  # the distilled student against labels alone


def run_variants(model_path: str, input_shape: Sequence[int], variants: Sequence[str],
                 settings: CompressionSettings, workdir: Path,
                 plan: TimingPlan | None = None) -> ChapterRun:
    """Build and measure the requested ``variants`` of the chapter's model (``model_path``
    empty) or of the reader's ONNX model, in ``workdir``."""
    plan = TimingPlan() if plan is None else plan
    workdir = Path(workdir)
    versus = None
    if model_path:
        found = measure_onnx_model(Path(model_path), input_shape, workdir, variants,
                                   threads=settings.threads, seed=settings.seed, plan=plan)
    else:
        data = load_mnist_subset(seed=settings.seed)
        found = compress_and_measure(data, settings, workdir, variants, plan=plan)
        student, scratch = workdir / "distilled.onnx", workdir / "student_scratch.onnx"
        if student.exists() and scratch.exists():
            versus = paired_between(scratch, student, Workload(data.x_test, data.y_test),
                                    threads=settings.threads)
    share = fp16_compute_share(workdir / "fp16.onnx") if "fp16" in variants else None
    examples = found[0].accuracy_change.examples
    return ChapterRun(found, skipped(variants, model_path), share, examples, plan, versus)


def skipped(variants: Sequence[str], model_path: str) -> list[str]:
    """The requested variants a reader's own model cannot have: those needing training."""
    return [name for name in variants if model_path and name in TRAINED_VARIANTS]
