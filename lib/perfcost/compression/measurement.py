"""Model variants measured against a baseline: accuracy, size, speed and memory, each with its
noise, so that only a measurable difference is reported (and priced) as one.

- **Accuracy** is paired: every variant is scored on the same examples as the baseline, and the
  difference gets McNemar's test and an Agresti-Min interval
  (:func:`perfcost.significance.paired_accuracy`). Without labels (a reader's own model and
  random inputs), "accuracy" is top-1 agreement with the baseline's own predictions.
- **Speed** is timed by :func:`perfcost.compression.timing.time_models` (sessions as replicates,
  interleaved trials) and compared by ratios of the sessions' medians with t-intervals.
- **Size** is the ONNX file, and the same file after gzip; **memory** is the peak resident
  memory a fresh process adds (:func:`perfcost.compression.peak_memory.peak_memory_bytes`).

Used by chapter 4 (compression).
"""

from __future__ import annotations

import gzip
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd

from perfcost.compression.peak_memory import peak_memory_bytes
from perfcost.compression.timing import TimingPlan, compare_to_baseline, predict, time_models
from perfcost.significance import (
    PairedAccuracy,
    Ratio,
    accuracy_with_ci,
    paired_accuracy,
)
from perfcost.validation import ParameterError, fraction, positive, seed_value

__all__ = [
    "BASELINE",
    "Built",
    "VariantMeasurement",
    "Workload",
    "first_to_try",
    "measure_variants",
    "measurements_table",
    "paired_between",
    "random_workload",
]

BASELINE = "fp32"
MAX_WORKLOAD_BYTES = 2**28  # random examples held at once: 256 MB


@dataclass(frozen=True)
class Built:
    """A variant ready to measure: its ONNX file and what training it took."""

    path: Path
    training_flops: float = 0.0  # floating-point operations spent producing it
    training_s: float = 0.0


@dataclass(frozen=True)
class Workload:
    """What the variants are measured on: ``examples`` (float32, batch first) and their
    ``labels``; without labels, accuracy is agreement with the baseline's predictions."""

    examples: np.ndarray
    labels: np.ndarray | None = None

    @property
    def input_shape(self) -> tuple[int, ...]:
        """The shape of one example."""
        return tuple(self.examples.shape[1:])


def random_workload(input_shape: tuple[int, ...], *, seed: int = 0) -> Workload:
    """Standard-normal examples of ``input_shape``: 1,000, or fewer for large inputs (at most
    256 MB, at least 64), for a reader's model without data."""
    elements = int(np.prod(input_shape))
    count = int(np.clip(MAX_WORKLOAD_BYTES // (4 * elements), 64, 1_000))
    rng = np.random.default_rng(seed_value(seed))
    return Workload(rng.standard_normal((count, *input_shape), dtype=np.float32))


@dataclass(frozen=True)
class VariantMeasurement:
    """One variant measured in ONNX Runtime, beside the baseline."""

    variant: str
    accuracy: float  # top-1 on the workload's labels, or agreement with the baseline
    accuracy_low: float  # 95% bootstrap interval of the accuracy itself
    accuracy_high: float
    accuracy_change: PairedAccuracy  # paired against the baseline on the same examples
    size_bytes: int  # the serialised ONNX file
    gzip_size_bytes: int  # the same file after gzip: what sparsity buys on disk and the wire
    latency_p50_ms: float  # batch 1, median over sessions and trials
    latency_p50_low_ms: float
    latency_p50_high_ms: float
    latency_p95_ms: float
    throughput_rps: float  # at the plan's batch, median
    throughput_low_rps: float
    throughput_high_rps: float
    speedup: Ratio  # baseline batch-1 latency / this variant's
    throughput_gain: Ratio  # this variant's throughput / the baseline's
    sessions: int  # inference sessions it was timed in (the replicates of its intervals)
    peak_memory_bytes: int  # peak resident memory a process adds to load and run a batch
    training_flops: float
    training_s: float


def _top1(outputs: np.ndarray) -> np.ndarray:
    return outputs.reshape(len(outputs), -1).argmax(axis=1)


def _correct(built: Mapping[str, Built], workload: Workload, threads: int) -> dict:
    """Per variant, True where its top-1 matches the labels (or the baseline's top-1)."""
    predicted = {name: _top1(predict(b.path, workload.examples, threads=threads))
                 for name, b in built.items()}
    truth = predicted[BASELINE] if workload.labels is None else workload.labels
    return {name: p == truth for name, p in predicted.items()}


def paired_between(baseline: Path, candidate: Path, workload: Workload, *,
                   threads: int = 2) -> PairedAccuracy:
    """Two models compared on the same examples
    (:func:`perfcost.significance.paired_accuracy`): the candidate's accuracy minus the
    baseline's."""
    correct = _correct({BASELINE: Built(baseline), "candidate": Built(candidate)}, workload,
                       threads)
    return paired_accuracy(correct[BASELINE], correct["candidate"])


def _peak_memories(built: Mapping[str, Built], input_shape: tuple[int, ...], batch: int,
                   threads: int) -> dict[str, int]:
    """Each variant's peak memory, two fresh processes at a time (after the timing, so they
    disturb no measurement; each process measures only itself)."""
    with ThreadPoolExecutor(2) as pool:
        futures = {name: pool.submit(peak_memory_bytes, b.path, input_shape=input_shape,
                                     batch=batch, threads=threads)
                   for name, b in built.items()}
        return {name: future.result() for name, future in futures.items()}


def _checked(built: object, workload: object, plan: object) -> None:
    if not isinstance(built, Mapping) or BASELINE not in built or not all(
            isinstance(b, Built) for b in built.values()):
        raise ParameterError("built", f"a dict of name: Built including {BASELINE!r}", built)
    if not isinstance(workload, Workload) or len(workload.examples) < 2:
        raise ParameterError("workload", "a Workload of at least two examples", workload)
    if not isinstance(plan, TimingPlan) or len(workload.examples) < plan.batch:
        raise ParameterError("plan", "a TimingPlan whose batch the workload can fill", plan)


def measure_variants(built: Mapping[str, Built], workload: Workload, *, threads: int = 2,
                     plan: TimingPlan | None = None, seed: int = 0
                     ) -> list[VariantMeasurement]:
    """Measure every variant in ``built`` (which includes the ``fp32`` baseline) on
    ``workload``: paired accuracy, file sizes, timed speed with intervals, peak memory."""
    plan = TimingPlan() if plan is None else plan
    _checked(built, workload, plan)
    seed = seed_value(seed)
    correct = _correct(built, workload, threads)
    timings = time_models({name: b.path for name, b in built.items()},
                          workload.examples[:1], workload.examples[:plan.batch],
                          threads=threads, plan=plan, seed=seed)
    speed = compare_to_baseline(timings, BASELINE)
    memory = _peak_memories(built, workload.input_shape, plan.batch, threads)
    found = []
    for name, b in built.items():
        raw = Path(b.path).read_bytes()
        accuracy = accuracy_with_ci(correct[name], np.ones_like(correct[name]), seed=seed)
        found.append(VariantMeasurement(
            name, *accuracy, paired_accuracy(correct[BASELINE], correct[name]), len(raw),
            len(gzip.compress(raw, mtime=0)), *vars(speed[name]).values(),
            memory[name], b.training_flops, b.training_s))
    return found


def measurements_table(measurements: list[VariantMeasurement]) -> pd.DataFrame:
    """One row per variant, the intervals spelled out as columns (``*_low``, ``*_high``) and
    the ratios' priced values (``speedup``, ``throughput_gain``: 1.0 when not measurable)."""
    rows = []
    for m in measurements:
        row = {f.name: getattr(m, f.name) for f in fields(m)
               if f.name not in ("accuracy_change", "speedup", "throughput_gain")}
        change, speedup, gain = m.accuracy_change, m.speedup, m.throughput_gain
        rows.append(row | {
            "accuracy_change": change.difference, "accuracy_change_low": change.low,
            "accuracy_change_high": change.high, "accuracy_p_value": change.p_value,
            "accuracy_lost": change.only_baseline,
            "speedup_estimate": speedup.estimate, "speedup_low": speedup.low,
            "speedup_high": speedup.high, "speedup": speedup.gain,
            "throughput_gain_estimate": gain.estimate, "throughput_gain_low": gain.low,
            "throughput_gain_high": gain.high, "throughput_gain": gain.gain})
    return pd.DataFrame(rows).set_index("variant")


def first_to_try(table: pd.DataFrame, *, latency_target_ms: float,
                 max_accuracy_drop: float) -> str | None:
    """The variant to try first under a latency target and a small engineering budget.

    Among the variants (not the baseline) that meet ``latency_target_ms`` at batch 1 with the
    whole interval of their median latency (``latency_p50_high_ms``), and whose paired accuracy
    change is above −\\ ``max_accuracy_drop`` over its whole interval (``accuracy_change_low``)
    or that got no example wrong that fp32 got right (``accuracy_lost`` 0),
    the one that took the least training compute (no retraining beats fine-tuning beats
    training a student), then the fastest. None if no variant qualifies.
    ``latency_target_ms`` in (0, 60,000]; ``max_accuracy_drop`` in [0, 1].
    """
    latency_target_ms = positive("latency_target_ms", latency_target_ms, maximum=60_000.0)
    max_accuracy_drop = fraction("max_accuracy_drop", max_accuracy_drop)
    needed = {"latency_p50_high_ms", "accuracy_change_low", "accuracy_lost", "training_flops",
              "latency_p50_ms"}
    if not isinstance(table, pd.DataFrame) or not needed <= set(table.columns):
        raise ParameterError("table", "a table from measurements_table", type(table).__name__)
    if BASELINE not in table.index:
        raise ParameterError("table", "a table with the fp32 baseline", list(table.index))
    candidates = table.drop(index=[BASELINE, "student_scratch"], errors="ignore")
    accurate = ((candidates["accuracy_change_low"] >= -max_accuracy_drop)
                | (candidates["accuracy_lost"] == 0))  # as perfcost.significance.accuracy_gate
    candidates = candidates[(candidates["latency_p50_high_ms"] <= latency_target_ms) & accurate]
    if candidates.empty:
        return None
    return str(candidates.sort_values(["training_flops", "latency_p50_ms"]).index[0])
