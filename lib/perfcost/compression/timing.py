"""ONNX models timed side by side in ONNX Runtime, with the noise in every number.

Protocol (:func:`time_models`):

1. **Sessions as replicates.** Each model gets ``sessions`` inference sessions, created one
   model after another in turn (A1 B1 C1 A2 B2 C2 ...). Two sessions of byte-identical files
   differ by about a percent, systematically, however long each is timed (memory placement);
   created in a block, a model's sessions would all share one placement and its luck would read
   as a speed-up. The sessions are the replicates the intervals resample.
   Intervals are t-intervals over the sessions' medians (six per model unless the models are
   large: :func:`sessions_that_fit`).
2. **Interleaved trials.** Every trial runs each session once, in an order shuffled per trial
   (:func:`perfcost.significance.interleaved_trials`): ``single_runs`` calls at batch 1 (each
   one a latency sample) and ``batch_runs`` calls at batch ``batch`` (each a throughput sample,
   batch / seconds). Drift in the machine falls on every model alike.
3. **Spin-free threads.** Sessions do not spin-wait between calls, so idle sessions' threads do
   not compete with the one being timed.

:func:`compare_to_baseline` turns the samples into ratios of the sessions' medians with
t-intervals over sessions (:func:`perfcost.significance.ratio_of_session_medians`).

The peak memory a model adds to a process is measured apart, in a fresh process
(:mod:`perfcost.compression.peak_memory`).

Used by chapter 4 (compression).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from perfcost.compression.settings import MAX_BATCH, check_threads
from perfcost.significance import (
    Ratio,
    interleaved_trials,
    ratio_of_session_medians,
    session_median_interval,
)
from perfcost.validation import ParameterError, integer_in_range, seed_value

__all__ = [
    "TimingPlan",
    "Timings",
    "compare_to_baseline",
    "cpu_features",
    "predict",
    "session",
    "sessions_that_fit",
    "time_models",
]

SESSION_MEMORY_BYTES = 4e9  # model files held open at once: sessions x the models' sizes
MIN_SESSIONS = 3


@dataclass(frozen=True)
class TimingPlan:
    """How much timing each model gets; validated on construction."""

    sessions: int = 6  # sessions per model, created in turn, [2, 20]
    trials: int = 40  # interleaved trials, [2, 10,000]
    single_runs: int = 10  # batch-1 calls per session and trial, [1, 1,000]
    batch_runs: int = 2  # calls at `batch` per session and trial, [1, 1,000]
    batch: int = 64  # the throughput batch, [1, 65,536]
    budget_s: float = 120.0  # trials are cut to fit this many seconds of timing, [1, 3,600]

    def __post_init__(self):
        limits = {"sessions": (2, 20), "trials": (2, 10_000), "single_runs": (1, 1_000),
                  "batch_runs": (1, 1_000), "batch": (1, MAX_BATCH), "budget_s": (1, 3_600)}
        for name, (low, high) in limits.items():
            object.__setattr__(self, name, integer_in_range(name, getattr(self, name), low, high))


@dataclass(frozen=True)
class Timings:
    """One model's samples: (sessions, samples) arrays."""

    single_ms: np.ndarray  # batch-1 latencies
    batch_rps: np.ndarray  # throughputs at the plan's batch


def session(onnx_path: Path, threads: int) -> ort.InferenceSession:
    """An ONNX Runtime CPU session with ``threads`` intra-op threads (in [1, 64]) that does not
    spin-wait between calls."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = check_threads(threads)
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])


def predict(onnx_path: Path, examples: np.ndarray, *, threads: int = 2,
            chunk: int = 256) -> np.ndarray:
    """The model's first output for ``examples``, computed ``chunk`` examples at a time."""
    model = session(onnx_path, threads)
    name = model.get_inputs()[0].name
    examples = np.asarray(examples, dtype=np.float32)
    parts = [model.run(None, {name: examples[i:i + chunk]})[0]
             for i in range(0, len(examples), chunk)]
    return np.concatenate(parts)


def _calls(model: ort.InferenceSession, feed: dict, runs: int) -> np.ndarray:
    """Seconds taken by each of ``runs`` calls."""
    seconds = np.empty(runs)
    for index in range(runs):
        start = time.perf_counter()
        model.run(None, feed)
        seconds[index] = time.perf_counter() - start
    return seconds


def _sessions_in_turn(models: Mapping[str, Path], count: int, threads: int) -> dict:
    """``count`` sessions per model, created model after model in turn: {(name, k): session}."""
    return {(name, k): session(path, threads) for k in range(count) for name, path in
            models.items()}


def _trials_that_fit(sessions: dict, feeds: tuple[dict, dict], plan: TimingPlan) -> int:
    """Warm every session up; return the trials that fit the plan's time budget (at least 5)."""
    seconds = 0.0
    for model in sessions.values():
        _calls(model, feeds[0], 5)
        _calls(model, feeds[1], 1)
        seconds += (plan.single_runs * np.median(_calls(model, feeds[0], 5))
                    + plan.batch_runs * np.median(_calls(model, feeds[1], 2)))
    return int(np.clip(plan.budget_s // max(seconds, 1e-9), min(5, plan.trials), plan.trials))


def time_models(models: Mapping[str, Path], single: np.ndarray, batch: np.ndarray, *,
                threads: int = 2, plan: TimingPlan | None = None, seed: int = 0
                ) -> dict[str, Timings]:
    """Time every model in ``models`` (name: ONNX path) by the module's protocol.

    ``single`` is one example with its batch dimension, ``batch`` the throughput batch; both
    are fed to the models' single input. Returns each model's batch-1 latencies (ms) and
    batch throughputs (examples/s), one row per session.
    """
    if not isinstance(models, Mapping) or not models:
        raise ParameterError("models", "a non-empty dict of name: ONNX path", models)
    plan = TimingPlan() if plan is None else plan
    if not isinstance(plan, TimingPlan):
        raise ParameterError("plan", "a TimingPlan", type(plan).__name__)
    count = sessions_that_fit(models, plan.sessions)
    sessions = _sessions_in_turn(models, count, threads)
    name = next(iter(sessions.values())).get_inputs()[0].name
    feeds = ({name: np.asarray(single, np.float32)}, {name: np.asarray(batch, np.float32)})
    trials = _trials_that_fit(sessions, feeds, plan)

    def one_trial(model):
        return lambda: np.r_[_calls(model, feeds[0], plan.single_runs) * 1e3,
                             len(batch) / _calls(model, feeds[1], plan.batch_runs)]

    found = interleaved_trials({key: one_trial(m) for key, m in sessions.items()},
                               trials=trials, seed=seed_value(seed))
    return {model: _split(found, model, plan, count) for model in models}


def sessions_that_fit(models: Mapping[str, Path], wanted: int) -> int:
    """Sessions per model: ``wanted``, fewer (at least 3) when that many sessions of every
    model would hold more than 4 GB of model files open at once."""
    total = sum(Path(path).stat().st_size for path in models.values())
    return int(min(wanted, max(MIN_SESSIONS, SESSION_MEMORY_BYTES // max(total, 1))))


def _split(found: dict, model: str, plan: TimingPlan, count: int) -> Timings:
    rows = [found[(model, k)] for k in range(count)]
    single = np.stack([r[:, :plan.single_runs].ravel() for r in rows])
    batch = np.stack([r[:, plan.single_runs:].ravel() for r in rows])
    return Timings(single, batch)


@dataclass(frozen=True)
class Comparison:
    """One model's timings summarised and set against the baseline's."""

    latency_p50_ms: float
    latency_p50_low_ms: float
    latency_p50_high_ms: float
    latency_p95_ms: float
    throughput_rps: float
    throughput_low_rps: float
    throughput_high_rps: float
    speedup: Ratio  # baseline batch-1 latency / this model's
    throughput_gain: Ratio  # this model's throughput / the baseline's
    sessions: int  # sessions the model was timed in


def _inverse(ratio: Ratio) -> Ratio:
    return Ratio(1 / ratio.estimate, 1 / ratio.high, 1 / ratio.low, ratio.confidence)


def compare_to_baseline(timings: Mapping[str, Timings], baseline: str, *,
                        confidence: float = 0.99) -> dict[str, Comparison]:
    """Typical medians with t-intervals over sessions for every model
    (:func:`perfcost.significance.session_median_interval`), and its ratios to ``baseline``'s
    (:func:`perfcost.significance.ratio_of_session_medians`): the batch-1 speed-up (baseline
    latency / model latency) and the throughput gain (model / baseline).

    The baseline's own ratios are exactly 1. A ratio whose interval includes 1 is "no
    measurable difference" (:attr:`perfcost.significance.Ratio.gain` is then 1.0).
    """
    if baseline not in timings:
        raise ParameterError("baseline", f"one of {', '.join(timings)}", baseline)
    base = timings[baseline]
    one = Ratio(1.0, 1.0, 1.0, confidence)
    found = {}
    for name, t in timings.items():
        same = name == baseline
        found[name] = Comparison(
            *session_median_interval(t.single_ms, confidence=confidence),
            float(np.percentile(t.single_ms, 95)),
            *session_median_interval(t.batch_rps, confidence=confidence),
            one if same else _inverse(ratio_of_session_medians(
                base.single_ms, t.single_ms, confidence=confidence)),
            one if same else ratio_of_session_medians(base.batch_rps, t.batch_rps,
                                                      confidence=confidence),
            len(t.single_ms))
    return found


def cpu_features() -> dict[str, bool | str]:
    """The CPU model and the vector features int8 and fp16 speed depend on (/proc/cpuinfo)."""
    flags, model = set(), "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
            if line.startswith("model name") and model == "unknown":
                model = line.split(":", 1)[1].strip()
    names = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8", "avx512_fp16",
             "amx_fp16", "amx_bf16")
    return {"model": model} | {name: name in flags for name in names}
