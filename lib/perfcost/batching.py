"""Dynamic batching: a fast simulator of a batching inference server, and the policies that tune it.

The server is the dynamic batcher of Triton, TorchServe and Ray Serve. Requests queue first in,
first out. An idle instance dispatches as soon as the queue holds ``max_batch_size`` requests;
otherwise it dispatches when the oldest queued request has waited ``max_wait_ms`` (at once if it
already has, because every instance was busy), taking up to ``max_batch_size`` of the oldest
requests. A batch of b requests occupies its instance for ``base_ms + per_item_ms * b``.

Why the simulator is fast and still exact. It never steps through time or through requests: it
jumps from dispatch to dispatch. With the queue head at request i and the earliest-free instance
free at f, the next dispatch happens at

    t = max(f, min(arrival[i + B - 1], arrival[i] + W))

(the moment the batch fills, or the head's deadline, but not before the instance is free), and
takes requests i … k - 1, where k is the first request after t (a binary search), capped at i + B.
That is the rule above, evaluated once per *batch*. The loop that applies it is compiled with
Numba (:func:`_dispatch_until`): it runs until the next dispatch would fall after the next control
time, then hands back to Python, where the policy is shown what a server could measure up to that
moment (:class:`Measurement`) and may change W and B. The pending dispatch is then recomputed
under the new parameters, so no decision ever uses a parameter from the future.

Used by chapter 3 (batching).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numba
import numpy as np
import pandas as pd

from perfcost.validation import ParameterError, integer_at_least, non_negative, positive

__all__ = [
    "RESNET50_T4",
    "BatchingPolicy",
    "BatchingResult",
    "LinearServiceTime",
    "Measurement",
    "StaticBatching",
    "compare_policies",
    "grid_search_static",
    "most_efficient_static",
    "recovery_time_s",
    "simulate",
    "slo_attainment",
    "summarize",
    "verdict",
    "window_p95_ms",
]


@dataclass(frozen=True)
class LinearServiceTime:
    """A batch of b requests takes ``base_ms + per_item_ms * b``, times an optional jitter.

    ``jitter_cv`` > 0 multiplies each batch's time by a lognormal factor with mean 1 and that
    coefficient of variation, drawn from the simulation's seed.
    """

    base_ms: float
    per_item_ms: float
    jitter_cv: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "base_ms", non_negative("base_ms", self.base_ms))
        object.__setattr__(self, "per_item_ms", positive("per_item_ms", self.per_item_ms))
        object.__setattr__(self, "jitter_cv", non_negative("jitter_cv", self.jitter_cv))

    def batch_ms(self, batch_size):
        """Mean service time of a batch (scalar or array)."""
        return self.base_ms + self.per_item_ms * np.asarray(batch_size, dtype=float)

    def throughput_rps(self, batch_size):
        """Requests per second one busy instance completes at that batch size."""
        return 1000.0 * np.asarray(batch_size, dtype=float) / self.batch_ms(batch_size)


# ResNet-50 on an NVIDIA T4 with TensorRT FP16 under Triton (NVIDIA DeepLearningExamples): 3.0 ms
# at batch 1, 9.0 ms at 8, 28.4 ms at 32 and 100.2 ms at 128. This line is within 5% of them from
# batch 8 up and over-states batch 1 (3.67 ms against 3.0), the cautious side.
RESNET50_T4 = LinearServiceTime(base_ms=2.9, per_item_ms=0.77)


@dataclass(frozen=True)
class Measurement:
    """What the server measured over the control interval that just ended (at ``t_s``).

    Only what a real server can observe: latencies of requests that *completed* in the interval,
    how many requests arrived, the queue now, and the batches dispatched with their measured
    service times. Never the future.
    """

    t_s: float
    interval_s: float
    latencies_ms: np.ndarray  # completed in (t_s - interval_s, t_s]
    arrivals: int  # arrived in the interval
    queue_len: int  # waiting at t_s
    batch_sizes: np.ndarray  # dispatched in the interval
    batch_service_ms: np.ndarray  # their service times, as measured
    max_wait_ms: float  # the parameters in force during the interval
    max_batch_size: int
    instances: int

    @property
    def arrival_rps(self) -> float:
        """Arrivals per second over the interval."""
        return self.arrivals / self.interval_s


class BatchingPolicy(Protocol):
    """A batching policy: its first parameters, then new ones after every control interval."""

    def start(self) -> tuple[float, int]:
        """Return the initial (max_wait_ms, max_batch_size)."""

    def update(self, measurement: Measurement) -> tuple[float, int]:
        """Return (max_wait_ms, max_batch_size) for the next interval."""


def _check_parameters(max_wait_ms, max_batch_size) -> tuple[float, int]:
    return (non_negative("max_wait_ms", max_wait_ms),
            integer_at_least("max_batch_size", max_batch_size, 1))


@dataclass(frozen=True)
class StaticBatching:
    """The fixed configuration every serving system ships: the same W and B all the time."""

    max_wait_ms: float
    max_batch_size: int

    def __post_init__(self):
        wait, size = _check_parameters(self.max_wait_ms, self.max_batch_size)
        object.__setattr__(self, "max_wait_ms", wait)
        object.__setattr__(self, "max_batch_size", size)

    def start(self) -> tuple[float, int]:
        """The configuration."""
        return self.max_wait_ms, self.max_batch_size

    def update(self, measurement: Measurement) -> tuple[float, int]:
        """The configuration, unchanged."""
        return self.max_wait_ms, self.max_batch_size


@dataclass(frozen=True)
class BatchingResult:
    """A simulation's outcome.

    ``latency_ms`` has one entry per request in input order; ``batch_sizes``,
    ``batch_start_s`` and ``batch_service_ms`` one per batch in dispatch order; ``timeline`` one
    row per control interval (``p95_ms`` is missing, <NA>, where no request completed), with
    any ``last_decision`` fields the policy reported.
    """

    latency_ms: np.ndarray
    batch_sizes: np.ndarray
    batch_start_s: np.ndarray
    batch_service_ms: np.ndarray
    timeline: pd.DataFrame = field(repr=False)
    arrival_times_s: np.ndarray = field(repr=False)

    @property
    def gpu_busy_s(self) -> float:
        """Total instance busy time: the sum of batch service times (the cost)."""
        return float(self.batch_service_ms.sum()) / 1000.0

    def latency_quantile_ms(self, q: float) -> float:
        """A quantile of all request latencies."""
        return float(np.quantile(self.latency_ms, q))

    @property
    def reversals(self) -> int:
        """How often the batch limit turned from rising to falling or back: oscillation."""
        steps = np.sign(np.diff(self.timeline["max_batch_size"].to_numpy()))
        steps = steps[steps != 0]
        return int(np.sum(steps[1:] != steps[:-1]))

    @property
    def parameter_changes(self) -> int:
        """How many control intervals changed W or B (churn)."""
        params = self.timeline[["max_wait_ms", "max_batch_size"]].to_numpy()
        return int(np.any(params[1:] != params[:-1], axis=1).sum()) if len(params) > 1 else 0


def _arrival_array(arrival_times_s) -> np.ndarray:
    try:
        arrivals = np.asarray(arrival_times_s, dtype=float)
    except (TypeError, ValueError) as error:
        raise ParameterError("arrival_times_s", "a sequence of times in seconds",
                             type(arrival_times_s).__name__) from error
    if arrivals.ndim != 1 or arrivals.size == 0:
        raise ParameterError("arrival_times_s", "a non-empty one-dimensional sequence",
                             f"shape {arrivals.shape}")
    bad = np.flatnonzero(~np.isfinite(arrivals) | (arrivals < 0))
    if bad.size:
        raise ParameterError("arrival_times_s", "finite and >= 0 everywhere",
                             f"{arrivals[bad[0]]} at index {bad[0]}")
    unsorted = np.flatnonzero(np.diff(arrivals) < 0)
    if unsorted.size:
        raise ParameterError("arrival_times_s", "sorted ascending",
                             f"{arrivals[unsorted[0] + 1]} after {arrivals[unsorted[0]]} "
                             f"at index {unsorted[0] + 1}")
    return arrivals


def _jitter_factors(service: LinearServiceTime, count: int, seed: int) -> np.ndarray | None:
    if service.jitter_cv == 0:
        return None
    sigma2 = math.log1p(service.jitter_cv**2)
    rng = np.random.default_rng(seed)
    return rng.lognormal(-sigma2 / 2, math.sqrt(sigma2), size=count)


@numba.njit(cache=True)
def _dispatch_until(arrival, completion, free_at, head, size, wait_s, control_at, base_ms,
                    per_item_ms, jitter, use_jitter, sizes, starts, durations, batches):
    """Dispatch batches by the rule in the module docstring until the next one would start after
    ``control_at`` or every request is dispatched; return (head, batches)."""
    n = arrival.size
    while head < n:
        instance, free = 0, free_at[0]
        for other in range(1, free_at.size):  # the earliest-free instance
            if free_at[other] < free:
                instance, free = other, free_at[other]
        last = head + size - 1
        full_at = arrival[last] if last < n else np.inf
        dispatch = min(full_at, arrival[head] + wait_s)
        if free > dispatch:
            dispatch = free
        if dispatch > control_at:
            break
        low, high = head, min(n, head + size)  # first request after the dispatch time
        while low < high:
            middle = (low + high) // 2
            if arrival[middle] <= dispatch:
                low = middle + 1
            else:
                high = middle
        busy_ms = base_ms + per_item_ms * (low - head)
        if use_jitter:
            busy_ms *= jitter[batches]
        finish = dispatch + busy_ms / 1000.0
        completion[head:low] = finish
        free_at[instance] = finish
        sizes[batches], starts[batches], durations[batches] = low - head, dispatch, busy_ms
        batches += 1
        head = low
    return head, batches


def simulate(
    arrival_times_s: Sequence[float] | np.ndarray,
    *,
    service: LinearServiceTime,
    controller: BatchingPolicy,
    instances: int = 1,
    seed: int = 0,
    control_interval_s: float = 1.0,
) -> BatchingResult:
    """Simulate a dynamic batcher serving ``arrival_times_s`` (seconds, sorted, >= 0).

    ``controller`` is copied first, so its state is not changed; the copy's ``start()`` sets
    the first parameters and ``update(measurement)`` runs at every multiple of
    ``control_interval_s`` until the last request is dispatched.
    """
    arrivals = _arrival_array(arrival_times_s)
    if not isinstance(service, LinearServiceTime):
        raise ParameterError("service", "a LinearServiceTime", type(service).__name__)
    instances = integer_at_least("instances", instances, 1)
    control_interval_s = positive("control_interval_s", control_interval_s)
    policy = copy.deepcopy(controller)
    wait_ms, size = _check_parameters(*policy.start())

    n = arrivals.size
    completion = np.empty(n)
    jitter = _jitter_factors(service, n, seed)
    free_at = np.zeros(instances)
    sizes, starts, durations = np.empty(n, dtype=np.int64), np.empty(n), np.empty(n)
    rows, decisions = [], []
    head = batches = 0  # the oldest request not yet dispatched; batches dispatched so far
    control_at = control_interval_s
    measured_from = 0  # every request before this index completed in an earlier interval
    batches_seen = 0
    previous_control = 0.0
    while True:
        head, batches = _dispatch_until(
            arrivals, completion, free_at, head, size, wait_ms / 1000.0, control_at,
            service.base_ms, service.per_item_ms,
            jitter if jitter is not None else completion[:0], jitter is not None,
            sizes, starts, durations, batches)
        if head >= n:
            break
        # The next dispatch falls after control_at: measure, let the policy decide, go on.
        window = completion[measured_from:head]
        done = (window > previous_control) & (window <= control_at)
        latencies = (window[done] - arrivals[measured_from:head][done]) * 1000.0
        pending = np.flatnonzero(window > control_at)
        measured_from += int(pending[0]) if pending.size else window.size
        arrived_by = int(np.searchsorted(arrivals, control_at, side="right"))
        arrived_before = int(np.searchsorted(arrivals, previous_control, side="right"))
        measurement = Measurement(
            t_s=control_at, interval_s=control_interval_s, latencies_ms=latencies,
            arrivals=arrived_by - arrived_before, queue_len=arrived_by - head,
            batch_sizes=sizes[batches_seen:batches].copy(),
            batch_service_ms=durations[batches_seen:batches].copy(),
            max_wait_ms=wait_ms, max_batch_size=size, instances=instances,
        )
        rows.append((control_at, wait_ms, size,
                     float(np.quantile(latencies, 0.95)) if latencies.size else None,
                     latencies.size, measurement.arrival_rps, measurement.queue_len,
                     batches - batches_seen))
        wait_ms, size = _check_parameters(*policy.update(measurement))
        decisions.append(dict(getattr(policy, "last_decision", None) or {}))
        batches_seen = batches
        previous_control = control_at
        control_at += control_interval_s

    timeline = pd.DataFrame(rows, columns=["t_s", "max_wait_ms", "max_batch_size", "p95_ms",
                                           "completed", "arrival_rps", "queue_len", "batches"])
    timeline["p95_ms"] = timeline["p95_ms"].astype("Float64")
    if any(decisions):  # what the policy reported about each decision (mode, scale-out, ...)
        timeline = timeline.join(pd.DataFrame(decisions, index=timeline.index))
    return BatchingResult(
        latency_ms=(completion - arrivals) * 1000.0,
        batch_sizes=sizes[:batches].copy(),
        batch_start_s=starts[:batches].copy(),
        batch_service_ms=durations[:batches].copy(),
        timeline=timeline,
        arrival_times_s=arrivals,
    )


def slo_attainment(result: BatchingResult, slo_p95_ms: float, window_s: float = 10.0) -> float:
    """The share of ``window_s`` windows (by arrival time) whose p95 latency meets the SLO.

    Windows in which no request arrived are not counted.
    """
    slo_p95_ms = positive("slo_p95_ms", slo_p95_ms)
    return float((window_p95_ms(result, window_s) <= slo_p95_ms).mean())


def window_p95_ms(result: BatchingResult, window_s: float = 10.0) -> pd.Series:
    """The p95 latency of the requests arriving in each ``window_s`` window, by window start."""
    window_s = positive("window_s", window_s)
    windows = (result.arrival_times_s // window_s).astype(np.int64)
    frame = pd.DataFrame({"window_s": windows * window_s, "latency_ms": result.latency_ms})
    return frame.groupby("window_s")["latency_ms"].quantile(0.95)


def recovery_time_s(result: BatchingResult, slo_p95_ms: float, after_s: float,
                    window_s: float = 10.0) -> float:
    """Seconds from ``after_s`` (the end of a spike) until every later window meets the SLO.

    0 when no window ending after ``after_s`` violates it.
    """
    p95 = window_p95_ms(result, window_s)
    late = p95[(p95.index + window_s > after_s) & (p95 > slo_p95_ms)]
    return float(max(0.0, late.index.max() + window_s - after_s)) if len(late) else 0.0


def summarize(result: BatchingResult, slo_p95_ms: float, window_s: float = 10.0) -> dict:
    """The chapter's scorecard: SLO attainment, overall p95 and p99, GPU busy time, churn
    (intervals that changed a parameter) and reversals of the batch limit."""
    return {
        "slo_attainment": slo_attainment(result, slo_p95_ms, window_s),
        "p95_ms": result.latency_quantile_ms(0.95),
        "p99_ms": result.latency_quantile_ms(0.99),
        "gpu_busy_s": result.gpu_busy_s,
        "parameter_changes": result.parameter_changes,
        "reversals": result.reversals,
    }


def grid_search_static(
    arrival_times_s, *, service: LinearServiceTime, slo_p95_ms: float, waits_ms, batch_sizes,
    instances: int = 1, seed: int = 0,
) -> pd.DataFrame:
    """Simulate every static (max_wait_ms, max_batch_size) pair: the hindsight baseline.

    Rows are sorted best first: highest SLO attainment, then least GPU busy time.
    """
    rows = []
    for wait in waits_ms:
        for size in batch_sizes:
            result = simulate(arrival_times_s, service=service,
                              controller=StaticBatching(wait, size), instances=instances,
                              seed=seed)
            rows.append({"max_wait_ms": float(wait), "max_batch_size": int(size),
                         **summarize(result, slo_p95_ms)})
    table = pd.DataFrame(rows)
    return table.sort_values(["slo_attainment", "gpu_busy_s"], ascending=[False, True],
                             ignore_index=True)


def compare_policies(
    arrival_times_s, policies: dict, *, service: LinearServiceTime, slo_p95_ms: float,
    instances: int = 1, seed: int = 0, spike_end_s: float | None = None,
) -> tuple[pd.DataFrame, dict[str, BatchingResult]]:
    """Run each named policy on one trace; return the scorecards (one row each) and the results.

    With ``spike_end_s``, the scorecard adds ``recovery_s`` (see :func:`recovery_time_s`).
    """
    rows, results = [], {}
    for name, policy in policies.items():
        result = simulate(arrival_times_s, service=service, controller=policy,
                          instances=instances, seed=seed)
        row = {"policy": name, **summarize(result, slo_p95_ms)}
        if spike_end_s is not None:
            row["recovery_s"] = recovery_time_s(result, slo_p95_ms, spike_end_s)
        rows.append(row)
        results[name] = result
    return pd.DataFrame(rows), results


def most_efficient_static(grid: pd.DataFrame) -> pd.Series:
    """The cheapest configuration of a :func:`grid_search_static` table among those whose SLO
    attainment equals the best one's: the efficiency bar an adaptive policy is held to."""
    meeting = grid[grid["slo_attainment"] >= grid["slo_attainment"].max()]
    return meeting.nsmallest(1, "gpu_busy_s").iloc[0]


def _as_often(attainment: float, reference: float) -> str:
    return "meets as often" if attainment >= reference else "misses more"


def verdict(scorecard: pd.DataFrame, grids: dict[str, pd.DataFrame], *, policy: str,
            baseline: str) -> pd.DataFrame:
    """Per trace, how ``policy`` compares: SLO attainment against the most efficient static
    configuration and against ``baseline``, and GPU time relative to each (+0.05 is 5% more).

    ``scorecard`` has columns ``trace``, ``policy``, ``slo_attainment`` and ``gpu_busy_s``;
    ``grids`` maps each trace to its :func:`grid_search_static` table.
    """
    rows = []
    for trace, grid in grids.items():
        efficient = most_efficient_static(grid)
        ours = scorecard.query("trace == @trace and policy == @policy").iloc[0]
        other = scorecard.query("trace == @trace and policy == @baseline").iloc[0]

        rows.append({
            "trace": trace,
            "vs best static": _as_often(ours["slo_attainment"], efficient["slo_attainment"]),
            f"vs {baseline}": _as_often(ours["slo_attainment"], other["slo_attainment"]),
            "GPU time vs efficient static": ours["gpu_busy_s"] / efficient["gpu_busy_s"] - 1,
            f"GPU time vs {baseline}": ours["gpu_busy_s"] / other["gpu_busy_s"] - 1,
            "efficient static (W ms, B)":
                f"{efficient['max_wait_ms']:g}, {int(efficient['max_batch_size'])}",
        })
    return pd.DataFrame(rows)
