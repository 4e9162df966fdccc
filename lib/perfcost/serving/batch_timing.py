"""Model time per call at several batch sizes, on one core, with the noise in every number.

Chapter 4's protocol (:mod:`perfcost.compression.timing`), cut to a time budget:

1. **One intra-op thread.** Every ONNX Runtime session runs on one thread, so a figure is per
   core; a server runs one such worker per core.
2. **Sessions as replicates.** Each variant gets ``sessions`` sessions, created variant after
   variant in turn; intervals are t-intervals over the sessions' medians
   (:func:`perfcost.significance.session_median_interval`).
3. **Interleaved trials.** Every trial runs each session once, in a shuffled order
   (:func:`perfcost.significance.interleaved_trials`); within it, ``runs`` calls at each batch
   size. Trials are as many as fit ``budget_s``.

:func:`linear_service` fits the line base_ms + per_item_ms × b to the medians by least squares
with both coefficients ≥ 0: chapter 3's batching simulator takes it
(:class:`perfcost.batching.service.LinearServiceTime`).

Used by chapter 5 (system design).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from perfcost.batching.service import LinearServiceTime
from perfcost.significance import interleaved_trials, session_median_interval
from perfcost.validation import (
    ParameterError,
    in_range,
    integer_in_range,
    positive,
    seed_value,
)

__all__ = [
    "DEFAULT_BATCH_SIZES",
    "MAX_BATCH_SIZE",
    "MAX_BATCH_SIZES",
    "MAX_BUDGET_S",
    "BatchTiming",
    "check_batch_sizes",
    "linear_service",
    "time_batches",
]

DEFAULT_BATCH_SIZES = (1, 8, 32, 128)
MAX_BATCH_SIZE = 4_096  # requests one server batch can hold
MAX_BATCH_SIZES = 16  # batch sizes timed in one call
MAX_BUDGET_S = 600.0  # ten minutes of timing
MAX_TRIALS = 2_000  # a tiny model fits many trials in a second; more adds nothing
MIN_TRIALS = 5
CONFIDENCE = 0.95


@dataclass(frozen=True)
class BatchTiming:
    """One variant's model time per call at each batch size, on one core."""

    variant: str
    batch_sizes: tuple[int, ...]  # increasing
    median_ms: tuple[float, ...]  # typical median per call, per batch size
    low_ms: tuple[float, ...]  # 95% t-interval over sessions
    high_ms: tuple[float, ...]
    sessions: int  # sessions timed (the replicates)
    trials: int  # interleaved trials per session

    @property
    def examples_per_s(self) -> tuple[float, ...]:
        """Examples one core completes per second at each batch size: 1000 b / median_ms."""
        return tuple(1000.0 * b / ms for b, ms in zip(self.batch_sizes, self.median_ms,
                                                      strict=True))

    def service_time(self) -> LinearServiceTime:
        """The least-squares line through the medians (:func:`linear_service`)."""
        return linear_service(self.batch_sizes, self.median_ms)


def check_batch_sizes(batch_sizes: object) -> tuple[int, ...]:
    """Distinct whole numbers in [1, 4,096], 1 to 16 of them, returned sorted."""
    valid = (f"a non-empty list of at most {MAX_BATCH_SIZES} distinct whole numbers in "
             f"[1, {MAX_BATCH_SIZE}]")
    if (not isinstance(batch_sizes, Sequence) or isinstance(batch_sizes, str)
            or not 1 <= len(batch_sizes) <= MAX_BATCH_SIZES):
        raise ParameterError("batch_sizes", valid, batch_sizes)
    try:
        sizes = [integer_in_range("batch_sizes", b, 1, MAX_BATCH_SIZE) for b in batch_sizes]
    except ParameterError:
        raise ParameterError("batch_sizes", valid, batch_sizes) from None
    if len(set(sizes)) != len(sizes):
        raise ParameterError("batch_sizes", valid, batch_sizes)
    return tuple(sorted(sizes))


def check_budget(budget_s: object) -> float:
    """Seconds of timing, in (0, 600]."""
    return positive("budget_s", budget_s, maximum=MAX_BUDGET_S)


def linear_service(batch_sizes: Sequence[int], batch_ms: Sequence[float]) -> LinearServiceTime:
    """Fit batch_ms ≈ base_ms + per_item_ms × b by least squares, both coefficients ≥ 0.

    Parameters
    ----------
    batch_sizes : sequence of int
        At least two distinct batch sizes (see :func:`check_batch_sizes`).
    batch_ms : sequence of float
        Time per call at each batch size, in (0, 60,000] ms.

    Returns
    -------
    LinearServiceTime
        The fitted line. A fit whose slope is zero (times that do not grow with the batch) is
        refused: a service line needs a positive cost per item.
    """
    from scipy.optimize import nnls

    sizes = np.asarray(check_batch_sizes(batch_sizes), dtype=float)
    times = _times(batch_ms, len(sizes))[np.argsort(np.asarray(batch_sizes, dtype=float))]
    if sizes.size < 2:
        raise ParameterError("batch_sizes", "at least two batch sizes for a line",
                             batch_sizes)
    (base, slope), _ = nnls(np.column_stack([np.ones_like(sizes), sizes]), times)
    if slope <= 0:
        raise ParameterError("batch_ms", "times that grow with the batch size", batch_ms)
    return LinearServiceTime(base_ms=float(base), per_item_ms=float(slope))


def _times(batch_ms: object, count: int) -> np.ndarray:
    """``batch_ms`` as an array of ``count`` times in (0, 60,000] ms."""
    if (not isinstance(batch_ms, Sequence | np.ndarray) or isinstance(batch_ms, str)
            or len(batch_ms) != count):
        raise ParameterError("batch_ms", f"{count} times, one per batch size", batch_ms)
    return np.array([in_range("batch_ms", t, 0.0, 60_000.0, low_open=True) for t in batch_ms])


def _sessions_in_turn(models: Mapping[str, Path], count: int) -> dict:
    """``count`` one-thread sessions per variant, created variant after variant in turn."""
    from perfcost.compression.timing import session

    return {(name, k): session(path, threads=1) for k in range(count)
            for name, path in models.items()}


def _trial(model, feeds: list[dict], runs: int):
    """A function running ``runs`` calls at each feed; returns their ms, feed after feed."""
    calls = [feed for feed in feeds for _ in range(runs)]

    def one_trial() -> np.ndarray:
        found = np.empty(len(calls))
        for index, feed in enumerate(calls):
            start = time.perf_counter()
            model.run(None, feed)
            found[index] = time.perf_counter() - start
        return found * 1e3
    return one_trial


def _trials_that_fit(trials: dict, budget_s: float) -> int:
    """Warm every session up (three trials); return the trials that fit ``budget_s``."""
    start = time.perf_counter()
    for _ in range(3):
        for one_trial in trials.values():
            one_trial()
    per_trial_s = (time.perf_counter() - start) / 3
    return int(np.clip(budget_s // max(per_trial_s, 1e-9), MIN_TRIALS, MAX_TRIALS))


def time_batches(models: Mapping[str, Path], rows: np.ndarray, *,
                 batch_sizes: Sequence[int] = DEFAULT_BATCH_SIZES, budget_s: float = 3.0,
                 sessions: int = 4, runs: int = 3, seed: int = 0) -> dict[str, BatchTiming]:
    """Time every variant in ``models`` (name: ONNX path) at every batch size, on one core.

    Parameters
    ----------
    models : mapping of str to Path
        The variants' ONNX files, each with one input taking ``rows``-shaped float32 batches.
    rows : ndarray
        Example inputs (rows, features); batches are taken from them, cycling.
    batch_sizes : sequence of int
        Batch sizes to time, 1 to 16 distinct whole numbers in [1, 4,096].
    budget_s : float
        Seconds of timing for all variants together, in (0, 600]; at least five trials run
        whatever the budget.
    sessions : int
        Sessions per variant, the replicates of the intervals, in [2, 20].
    runs : int
        Calls per batch size in each trial, in [1, 1,000].
    seed : int
        Seed of the trials' order, in [0, 2**32 - 1].

    Returns
    -------
    dict of str to BatchTiming
        Per variant: median ms per call with 95% intervals, and examples/s per core.
    """
    if not isinstance(models, Mapping) or not models:
        raise ParameterError("models", "a non-empty dict of name: ONNX path", models)
    sizes = check_batch_sizes(batch_sizes)
    budget_s = check_budget(budget_s)
    sessions = integer_in_range("sessions", sessions, 2, 20)
    runs = integer_in_range("runs", runs, 1, 1_000)
    feeds = _feeds(rows, sizes)
    found_sessions = _sessions_in_turn(models, sessions)
    name = next(iter(found_sessions.values())).get_inputs()[0].name
    trials = {key: _trial(model, [{name: x} for x in feeds], runs)
              for key, model in found_sessions.items()}
    count = _trials_that_fit(trials, budget_s)
    found = interleaved_trials(trials, trials=count, seed=seed_value(seed))
    return {variant: _summary(variant, found, sizes, sessions, runs, count)
            for variant in models}


def _feeds(rows: object, sizes: tuple[int, ...]) -> list[np.ndarray]:
    """One float32 batch per size, taken from ``rows`` cycling."""
    rows = np.asarray(rows, dtype=np.float32) if isinstance(rows, np.ndarray) else None
    if rows is None or rows.ndim != 2 or len(rows) == 0 or not np.all(np.isfinite(rows)):
        raise ParameterError("rows", "a non-empty 2-D array of finite example rows", rows)
    return [rows[np.arange(b) % len(rows)] for b in sizes]


def _summary(variant: str, found: dict, sizes: tuple[int, ...], sessions: int, runs: int,
             trials: int) -> BatchTiming:
    """Medians with t-intervals over sessions, per batch size."""
    rows = np.stack([found[(variant, k)] for k in range(sessions)])  # (sessions, trials, n·runs)
    per_size = rows.reshape(sessions, trials, len(sizes), runs)
    figures = [session_median_interval(per_size[:, :, j, :].reshape(sessions, -1),
                                       confidence=CONFIDENCE) for j in range(len(sizes))]
    median, low, high = (tuple(float(f[i]) for f in figures) for i in range(3))
    return BatchTiming(variant, sizes, median, low, high, sessions, trials)
