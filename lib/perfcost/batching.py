"""Dynamic batching: a fast simulator of a batching inference server, and the policies that tune it.

The server is the dynamic batcher of Triton, TorchServe and Ray Serve. Requests queue first in,
first out. An idle instance dispatches as soon as the queue holds ``max_batch_size`` requests;
otherwise it dispatches when the oldest queued request has waited ``max_wait_ms`` (at once if it
already has, because every instance was busy), taking up to ``max_batch_size`` of the oldest
requests. A batch of b requests occupies its instance for ``base_ms + per_item_ms * b`` (with a
:class:`ShiftedServiceTime`, the line in force when the batch is dispatched).

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
under the new parameters, and no earlier than the control time that set them (a shorter W whose
deadline has already passed dispatches at once, not in the past), so no batch ever uses a
parameter from its future.

What a control interval costs. At a low rate every interval holds few batches, so the cost of
the interval itself is the simulation's cost. The measurement (latencies of the requests that
completed, their p95, arrivals, the queue) is gathered by a second compiled kernel
(:func:`_measure`, whose p95 is ``numpy.quantile``'s to the bit), and the :class:`Measurement`
it fills is valid by construction, so its checks are skipped. ``make bench`` times the case
(M/D/1 at 80 requests/s with 10 ms of service: 2,500 intervals for 200,000 requests).

Quiet stretches are one measurement. Control times are k × ``control_interval_s`` for whole k.
An interval is *quiet* when nothing arrived, completed or was dispatched in it. After a quiet
interval whose update left W and B unchanged, nothing can happen until the next event (the
next arrival, the next completion, or the pending dispatch), so the quiet intervals up to the
last control time before that event are shown to the policy as ONE measurement whose
``interval_s`` spans them all (one timeline row). The first quiet interval still gets an update
of its own, so a policy that reacts to quiet keeps being asked every interval. The simulation's
time and memory therefore grow with the number of requests and batches, not with the span of
time the arrivals cover (a trace at Unix-epoch seconds costs what the same trace at 0 costs).

Limits that keep a run bounded, each refused with a message naming the argument: arrival times
at most 1e10 s (:func:`perfcost.traffic.check_arrival_times`), ``control_interval_s`` in
[1 ms, 1 h], ``base_ms`` and ``per_item_ms`` at most a minute, ``jitter_cv`` at most 10,
``max_wait_ms`` at most a minute and ``max_batch_size`` at most 4096 (also what a policy
returns), ``instances`` at most 10,000 and ``seed`` in [0, 2**32 - 1].

Used by chapter 3 (batching).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numba
import numpy as np
import pandas as pd

from perfcost.traffic import MAX_ARRIVAL_S, check_arrival_times
from perfcost.validation import (
    ParameterError,
    in_range,
    integer_in_range,
    non_negative,
    positive,
    seed_value,
)

__all__ = [
    "MAX_BATCH_SIZE",
    "MAX_INSTANCES",
    "MAX_SERVICE_MS",
    "MAX_SLO_MS",
    "MAX_WAIT_MS",
    "RESNET50_T4",
    "BatchingPolicy",
    "BatchingResult",
    "LinearServiceTime",
    "Measurement",
    "ShiftedServiceTime",
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

# Limits that keep a simulation bounded (see the module docstring).
MAX_SERVICE_MS = 60_000.0  # a minute per batch or per item: inference, not a batch job; even
#                            4096 items at a minute each end within 3 days
MAX_JITTER_CV = 10.0  # a lognormal with CV 10 already puts batches at 100x their mean
MAX_WAIT_MS = 60_000.0  # a batching window of a minute outlasts every client timeout
MAX_BATCH_SIZE = 4096  # above any batch an inference server is configured for
MAX_INSTANCES = 10_000  # every dispatch scans the instances for the earliest free one
MAX_SLO_MS = 3_600_000.0  # an hour: far beyond any latency objective of a served model
CONTROL_INTERVAL_S = (1e-3, 3600.0)  # a millisecond to an hour
WINDOW_S = (1e-3, MAX_ARRIVAL_S)  # windows of at least 1 ms keep window numbers exact


@dataclass(frozen=True)
class LinearServiceTime:
    """A batch of b requests takes ``base_ms + per_item_ms * b``, times an optional jitter.

    ``jitter_cv`` > 0 multiplies each batch's time by a lognormal factor with mean 1 and that
    coefficient of variation, drawn from the simulation's seed. ``base_ms`` is in [0, 60000],
    ``per_item_ms`` in (0, 60000] and ``jitter_cv`` in [0, 10].
    """

    base_ms: float
    per_item_ms: float
    jitter_cv: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "base_ms",
                           non_negative("base_ms", self.base_ms, maximum=MAX_SERVICE_MS))
        object.__setattr__(self, "per_item_ms",
                           positive("per_item_ms", self.per_item_ms, maximum=MAX_SERVICE_MS))
        object.__setattr__(self, "jitter_cv",
                           non_negative("jitter_cv", self.jitter_cv, maximum=MAX_JITTER_CV))

    def batch_ms(self, batch_size):
        """Mean service time of a batch (scalar or array)."""
        return self.base_ms + self.per_item_ms * np.asarray(batch_size, dtype=float)

    def throughput_rps(self, batch_size):
        """Requests per second one busy instance completes at that batch size."""
        return 1000.0 * np.asarray(batch_size, dtype=float) / self.batch_ms(batch_size)


@dataclass(frozen=True, init=False)
class ShiftedServiceTime(LinearServiceTime):
    """A service curve that changes mid-trace: ``before`` until ``at_s``, ``after`` from then on.

    A slower (or faster) model version rolled out at ``at_s``: a batch dispatched before
    ``at_s`` takes ``before``'s time, one dispatched at or after it ``after``'s. It is the
    ``before`` line (``batch_ms`` and ``throughput_rps`` describe it); :meth:`at` gives the line
    in force at a time. Jitter factors of both lines come from the same normal draws, so a batch
    is as lucky under either. ``at_s`` is in [0, 1e10].
    """

    after: LinearServiceTime
    at_s: float

    def __init__(self, before: LinearServiceTime, after: LinearServiceTime, at_s: float):
        for name, line in (("before", before), ("after", after)):
            if type(line) is not LinearServiceTime:
                raise ParameterError(name, "a LinearServiceTime", type(line).__name__)
        for name in ("base_ms", "per_item_ms", "jitter_cv"):
            object.__setattr__(self, name, getattr(before, name))
        object.__setattr__(self, "after", after)
        object.__setattr__(self, "at_s", non_negative("at_s", at_s, maximum=MAX_ARRIVAL_S))

    @property
    def before(self) -> LinearServiceTime:
        """The line in force before ``at_s``."""
        return LinearServiceTime(self.base_ms, self.per_item_ms, self.jitter_cv)

    def at(self, t_s: float) -> LinearServiceTime:
        """The line in force for a batch dispatched at ``t_s``."""
        return self.after if t_s >= self.at_s else self.before


# ResNet-50 on an NVIDIA T4 with TensorRT FP16 under Triton (NVIDIA DeepLearningExamples): 3.0 ms
# at batch 1, 9.0 ms at 8, 28.4 ms at 32 and 100.2 ms at 128. This line is within 5% of them from
# batch 8 up and over-states batch 1 (3.67 ms against 3.0), the cautious side.
RESNET50_T4 = LinearServiceTime(base_ms=2.9, per_item_ms=0.77)


@dataclass(frozen=True)
class Measurement:
    """What the server measured over the control interval that just ended (at ``t_s``).

    ``interval_s`` is the control interval, or the length of a merged quiet stretch (see the
    module docstring).

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

    def __post_init__(self):
        in_range("t_s", self.t_s, 0.0)
        positive("interval_s", self.interval_s)
        for name in ("arrivals", "queue_len"):
            integer_in_range(name, getattr(self, name), 0)
        for name in ("latencies_ms", "batch_sizes", "batch_service_ms"):
            if not isinstance(getattr(self, name), np.ndarray):
                raise ParameterError(name, "a NumPy array", type(getattr(self, name)).__name__)
        _check_parameters(self.max_wait_ms, self.max_batch_size)
        integer_in_range("instances", self.instances, 1, MAX_INSTANCES)

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
    return (non_negative("max_wait_ms", max_wait_ms, maximum=MAX_WAIT_MS),
            integer_in_range("max_batch_size", max_batch_size, 1, MAX_BATCH_SIZE))


def _policy_parameters(returned, method: str) -> tuple[float, int]:
    """Check what a policy's ``start()`` or ``update()`` returned."""
    if not isinstance(returned, tuple | list) or len(returned) != 2:
        raise ParameterError(f"controller.{method}()", "a pair (max_wait_ms, max_batch_size)",
                             returned)
    return _check_parameters(*returned)


@dataclass(frozen=True)
class StaticBatching:
    """The fixed configuration every serving system ships: the same W and B all the time.

    ``max_wait_ms`` is in [0, 60000] and ``max_batch_size`` in [1, 4096].
    """

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
    row per measurement shown to the policy, at its ``t_s`` (one per control interval, except
    that a merged quiet stretch is one row; ``p95_ms`` is missing, <NA>, where no request
    completed), with any ``last_decision`` fields the policy reported.
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


def _jitter_factors(service: LinearServiceTime, count: int, seed: int) -> np.ndarray | None:
    if service.jitter_cv == 0:
        return None
    sigma2 = math.log1p(service.jitter_cv**2)
    rng = np.random.default_rng(seed)
    return rng.lognormal(-sigma2 / 2, math.sqrt(sigma2), size=count)


def _lines(service: LinearServiceTime) -> np.ndarray:
    """The kernel's service curve: [base_ms, per_item_ms, shift_s, base_after_ms,
    per_item_after_ms]; a plain line never shifts."""
    after = service.after if isinstance(service, ShiftedServiceTime) else service
    shift_s = service.at_s if isinstance(service, ShiftedServiceTime) else math.inf
    return np.array([service.base_ms, service.per_item_ms, shift_s, after.base_ms,
                     after.per_item_ms])


def _jitter_table(service: LinearServiceTime, count: int, seed: int) -> np.ndarray:
    """Jitter factors before and after a shift, one per batch: shape (2, count) for a
    :class:`ShiftedServiceTime` (both rows from the same seed, so the same normal draws),
    (1, count) for a plain line, which never shifts, and (1, 0) without jitter."""
    lines = [service, service.after] if isinstance(service, ShiftedServiceTime) else [service]
    factors = [_jitter_factors(line, count, seed) for line in lines]
    if all(f is None for f in factors):
        return np.empty((1, 0))
    return np.stack([np.ones(count) if f is None else f for f in factors])


@numba.njit(cache=True)
def _dispatch_until(arrival, completion, free_at, head, size, wait_s, not_before, control_at,
                    lines, jitter, sizes, starts, durations, batches):
    """Dispatch batches by the rule in the module docstring, none before ``not_before`` (when
    W and B were set), until the next one would start after ``control_at`` or every request is
    dispatched; return (head, batches). ``lines`` and ``jitter`` are :func:`_lines` and
    :func:`_jitter_table`."""
    n = arrival.size
    use_jitter = jitter.shape[1] > 0
    while head < n:
        instance, free = 0, free_at[0]
        for other in range(1, free_at.size):  # the earliest-free instance
            if free_at[other] < free:
                instance, free = other, free_at[other]
        last = head + size - 1
        full_at = arrival[last] if last < n else np.inf
        dispatch = max(free, not_before, min(full_at, arrival[head] + wait_s))
        if dispatch > control_at:
            break
        low, high = head, min(n, head + size)  # first request after the dispatch time
        while low < high:
            middle = (low + high) // 2
            if arrival[middle] <= dispatch:
                low = middle + 1
            else:
                high = middle
        shifted = 1 if dispatch >= lines[2] else 0
        busy_ms = lines[3 * shifted] + lines[3 * shifted + 1] * (low - head)
        if use_jitter:
            busy_ms *= jitter[shifted, batches]
        finish = dispatch + busy_ms / 1000.0
        completion[head:low] = finish
        free_at[instance] = finish
        sizes[batches], starts[batches], durations[batches] = low - head, dispatch, busy_ms
        batches += 1
        head = low
    return head, batches


@numba.njit(cache=True)
def _arrived_by(arrival, t):
    """How many requests arrived at or before ``t`` (numpy.searchsorted, side right)."""
    low, high = 0, arrival.size
    while low < high:
        middle = (low + high) // 2
        if arrival[middle] <= t:
            low = middle + 1
        else:
            high = middle
    return low


@numba.njit(cache=True)
def _p95(values):
    """numpy.quantile(values, 0.95) of a non-empty array, to the bit: Hyndman & Fan's method 7,
    interpolated as numpy's ``_lerp`` does."""
    ordered = np.sort(values)
    n = ordered.size
    virtual = (n - 1) * 0.95
    if virtual >= n - 1:
        return ordered[n - 1]
    below = math.floor(virtual)
    gamma = virtual - below
    a, b = ordered[int(below)], ordered[int(below) + 1]
    if gamma >= 0.5:
        return b - (b - a) * (1 - gamma)
    return a + (b - a) * gamma


@numba.njit(cache=True)
def _measure(arrival, completion, measured_from, head, since, control_at):
    """What the server measured in (since, control_at]: (latencies in ms of the requests that
    completed in it, in input order; their p95 or NaN; the new ``measured_from``, the first
    dispatched request still running at ``control_at``; arrivals in the interval; the queue)."""
    done, pending = 0, head
    for i in range(measured_from, head):
        if completion[i] > control_at:
            if pending == head:
                pending = i
        elif completion[i] > since:
            done += 1
    latencies = np.empty(done)
    done = 0
    for i in range(measured_from, head):
        if since < completion[i] <= control_at:
            latencies[done] = (completion[i] - arrival[i]) * 1000.0
            done += 1
    p95 = _p95(latencies) if done else np.nan
    arrived_by = _arrived_by(arrival, control_at)
    return (latencies, p95, pending, arrived_by - _arrived_by(arrival, since),
            arrived_by - head)


def _measurement(**fields) -> Measurement:
    """A Measurement the simulator built from its own state, which is valid by construction:
    its checks (microseconds each control interval) are skipped."""
    measurement = object.__new__(Measurement)
    measurement.__dict__.update(fields)
    return measurement


class _Server:
    """The batching server's state between control times: what is dispatched and measured."""

    def __init__(self, arrivals: np.ndarray, service: LinearServiceTime, instances: int,
                 seed: int):
        n = arrivals.size
        self.arrivals, self.service, self.instances = arrivals, service, instances
        self.lines, self.jitter = _lines(service), _jitter_table(service, n, seed)
        self.completion = np.empty(n)
        self.free_at = np.zeros(instances)
        self.sizes, self.starts = np.empty(n, dtype=np.int64), np.empty(n)
        self.durations = np.empty(n)
        self.head = self.batches = 0  # the oldest request not dispatched; batches dispatched
        self.measured_from = 0  # every request before it completed in an earlier interval
        self.batches_seen = 0  # batches already shown to the policy

    def dispatch_until(self, control_at: float, wait_ms: float, size: int,
                       set_at: float) -> bool:
        """Dispatch every batch due by ``control_at`` under W and B set at ``set_at`` (none
        starts earlier); True while requests remain."""
        self.head, self.batches = _dispatch_until(
            self.arrivals, self.completion, self.free_at, self.head, size, wait_ms / 1000.0,
            set_at, control_at, self.lines, self.jitter, self.sizes, self.starts,
            self.durations, self.batches)
        return self.head < self.arrivals.size

    def measure(self, since: float, control_at: float, interval_s: float, wait_ms: float,
                size: int) -> tuple[Measurement, float | None]:
        """What the server measured in (since, control_at], and its p95 (None if nothing
        completed)."""
        latencies, p95, self.measured_from, arrivals, queue_len = _measure(
            self.arrivals, self.completion, self.measured_from, self.head, since, control_at)
        seen, self.batches_seen = self.batches_seen, self.batches
        measurement = _measurement(
            t_s=control_at, interval_s=interval_s, latencies_ms=latencies,
            arrivals=arrivals, queue_len=queue_len,
            batch_sizes=self.sizes[seen:self.batches].copy(),
            batch_service_ms=self.durations[seen:self.batches].copy(),
            max_wait_ms=wait_ms, max_batch_size=size, instances=self.instances,
        )
        return measurement, (None if latencies.size == 0 else float(p95))

    def next_event_s(self, now: float, wait_ms: float, size: int) -> float:
        """The first arrival, completion or dispatch after ``now``, when nothing is due by then.

        Every completion still ahead is the end of some instance's last batch, and the pending
        dispatch is the rule of the module docstring, evaluated as :func:`_dispatch_until` does.
        """
        arrivals, head, n = self.arrivals, self.head, self.arrivals.size
        arrived_by = int(np.searchsorted(arrivals, now, side="right"))
        events = [arrivals[arrived_by]] if arrived_by < n else []
        busy = self.free_at[self.free_at > now]
        if busy.size:
            events.append(busy.min())
        last = head + size - 1
        due = min(arrivals[last] if last < n else math.inf, arrivals[head] + wait_ms / 1000.0)
        events.append(max(self.free_at.min(), due, now))
        return float(min(events))

    def result(self, timeline: pd.DataFrame) -> BatchingResult:
        """The run's outcome."""
        return BatchingResult(
            latency_ms=(self.completion - self.arrivals) * 1000.0,
            batch_sizes=self.sizes[:self.batches].copy(),
            batch_start_s=self.starts[:self.batches].copy(),
            batch_service_ms=self.durations[:self.batches].copy(),
            timeline=timeline,
            arrival_times_s=self.arrivals,
        )


def _is_quiet(measurement: Measurement) -> bool:
    """Nothing arrived, completed or was dispatched in the interval."""
    return (measurement.arrivals == 0 and measurement.latencies_ms.size == 0
            and measurement.batch_sizes.size == 0)


def _last_control_before(event_s: float, interval_s: float) -> int:
    """The largest k with k × interval_s < event_s (event_s > 0)."""
    k = math.ceil(event_s / interval_s) - 1
    while k > 0 and k * interval_s >= event_s:  # float rounding of the division, either way
        k -= 1
    while (k + 1) * interval_s < event_s:
        k += 1
    return k


_TIMELINE_COLUMNS = ["t_s", "max_wait_ms", "max_batch_size", "p95_ms", "completed",
                     "arrival_rps", "queue_len", "batches"]


def _timeline_row(m: Measurement, p95_ms: float | None) -> tuple:
    return (m.t_s, m.max_wait_ms, m.max_batch_size, p95_ms, m.latencies_ms.size,
            m.arrivals / m.interval_s, m.queue_len, m.batch_sizes.size)


def _updated_parameters(returned, wait_ms: float, size: int) -> tuple[float, int]:
    """Check what ``update()`` returned; the parameters in force, returned again as plain
    numbers, need no second check."""
    if (type(returned) is tuple and len(returned) == 2 and type(returned[0]) in (float, int)
            and type(returned[1]) is int and returned == (wait_ms, size)):
        return wait_ms, size
    return _policy_parameters(returned, "update")


def _timeline(rows: list[tuple], decisions: list[dict]) -> pd.DataFrame:
    timeline = pd.DataFrame(rows, columns=_TIMELINE_COLUMNS)
    timeline["p95_ms"] = timeline["p95_ms"].astype("Float64")
    if any(decisions):  # what the policy reported about each decision (mode, scale-out, ...)
        timeline = timeline.join(pd.DataFrame(decisions, index=timeline.index))
    return timeline


def _check_run(service, controller, instances, seed, control_interval_s):
    """Validate simulate's arguments other than the trace; return instances, seed, interval."""
    if not isinstance(service, LinearServiceTime):  # a ShiftedServiceTime is one
        raise ParameterError("service", "a LinearServiceTime", type(service).__name__)
    if isinstance(controller, type) or not (callable(getattr(controller, "start", None))
                                            and callable(getattr(controller, "update", None))):
        raise ParameterError("controller", "a batching policy with start() and update()",
                             type(controller).__name__)
    return (integer_in_range("instances", instances, 1, MAX_INSTANCES),
            seed_value(seed),
            in_range("control_interval_s", control_interval_s, *CONTROL_INTERVAL_S))


def simulate(
    arrival_times_s: Sequence[float] | np.ndarray,
    *,
    service: LinearServiceTime,
    controller: BatchingPolicy,
    instances: int = 1,
    seed: int = 0,
    control_interval_s: float = 1.0,
) -> BatchingResult:
    """Simulate a dynamic batcher serving ``arrival_times_s``.

    Parameters
    ----------
    arrival_times_s : array_like
        Arrival times in seconds: sorted, >= 0, at most 1e10 (about 317 years).
    service : LinearServiceTime
        The batch service time; a :class:`ShiftedServiceTime` changes it mid-trace.
    controller : BatchingPolicy
        Copied first, so its state is not changed; the copy's ``start()`` sets the first
        parameters and ``update(measurement)`` runs at control times k × ``control_interval_s``
        until the last request is dispatched. Quiet intervals after an update that changed
        nothing are merged into one measurement up to the next event (module docstring).
        Parameters it returns must be in the ranges of :class:`StaticBatching`.
    instances : int
        Identical server instances, in [1, 10000].
    seed : int
        Seed of the service-time jitter, in [0, 2**32 - 1].
    control_interval_s : float
        Seconds between control times, in [0.001, 3600].
    """
    arrivals = check_arrival_times("arrival_times_s", arrival_times_s)
    instances, seed, interval_s = _check_run(service, controller, instances, seed,
                                             control_interval_s)
    policy = copy.deepcopy(controller)
    wait_ms, size = _policy_parameters(policy.start(), "start")
    server = _Server(arrivals, service, instances, seed)
    rows, decisions = [], []
    k, k_next = 0, 1  # control times are k × interval_s; the next one to measure at
    while server.dispatch_until(k_next * interval_s, wait_ms, size, k * interval_s):
        measurement, p95_ms = server.measure(k * interval_s, k_next * interval_s,
                                             (k_next - k) * interval_s, wait_ms, size)
        rows.append(_timeline_row(measurement, p95_ms))
        parameters = _updated_parameters(policy.update(measurement), wait_ms, size)
        decisions.append(dict(getattr(policy, "last_decision", None) or {}))
        quiet = _is_quiet(measurement) and parameters == (wait_ms, size)
        wait_ms, size = parameters
        k, k_next = k_next, k_next + 1
        if quiet:  # nothing happens before the next event: one measurement up to it
            event_s = server.next_event_s(k * interval_s, wait_ms, size)
            k_next = max(k_next, _last_control_before(event_s, interval_s))
    return server.result(_timeline(rows, decisions))


def _check_result(result) -> BatchingResult:
    if not isinstance(result, BatchingResult):
        raise ParameterError("result", "a BatchingResult from simulate()", type(result).__name__)
    return result


def _slo(slo_p95_ms) -> float:
    return positive("slo_p95_ms", slo_p95_ms, maximum=MAX_SLO_MS)


def _window(window_s) -> float:
    return in_range("window_s", window_s, *WINDOW_S)


def slo_attainment(result: BatchingResult, slo_p95_ms: float, window_s: float = 10.0) -> float:
    """The share of ``window_s`` windows (by arrival time) whose p95 latency meets the SLO.

    Windows in which no request arrived are not counted. ``slo_p95_ms`` is in (0, 3.6e6] (an
    hour) and ``window_s`` in [0.001, 1e10].
    """
    slo_p95_ms = _slo(slo_p95_ms)
    return float((window_p95_ms(result, window_s) <= slo_p95_ms).mean())


def window_p95_ms(result: BatchingResult, window_s: float = 10.0) -> pd.Series:
    """The p95 latency of the requests arriving in each ``window_s`` window, by window start."""
    result, window_s = _check_result(result), _window(window_s)
    windows = (result.arrival_times_s // window_s).astype(np.int64)
    frame = pd.DataFrame({"window_s": windows * window_s, "latency_ms": result.latency_ms})
    return frame.groupby("window_s")["latency_ms"].quantile(0.95)


def recovery_time_s(result: BatchingResult, slo_p95_ms: float, after_s: float,
                    window_s: float = 10.0) -> float:
    """Seconds from ``after_s`` (the end of a spike) until every later window meets the SLO.

    0 when no window ending after ``after_s`` violates it. ``after_s`` is a time on the trace's
    clock, in [0, 1e10].
    """
    slo_p95_ms = _slo(slo_p95_ms)
    after_s = non_negative("after_s", after_s, maximum=MAX_ARRIVAL_S)
    window_s = _window(window_s)
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


MAX_GRID = 10_000  # configurations in one grid search: each is a whole simulation
MAX_GRID_REQUESTS = 2e9  # simulated requests in one grid search: minutes at ~10 M/s


def _values(name: str, values, check: Callable[[str, object], float]) -> list:
    """A non-empty sequence of at most MAX_GRID values, each passed through ``check``."""
    if isinstance(values, str | bytes) or not hasattr(values, "__len__") or not values:
        raise ParameterError(name, "a non-empty sequence", values)
    if len(values) > MAX_GRID:
        raise ParameterError(name, f"at most {MAX_GRID} values", f"{len(values)} values")
    return [check(f"{name}[{i}]", value) for i, value in enumerate(values)]


def grid_search_static(
    arrival_times_s, *, service: LinearServiceTime, slo_p95_ms: float, waits_ms, batch_sizes,
    instances: int = 1, seed: int = 0,
) -> pd.DataFrame:
    """Simulate every static (max_wait_ms, max_batch_size) pair: the hindsight baseline.

    ``waits_ms`` and ``batch_sizes`` are non-empty sequences in the ranges of
    :class:`StaticBatching`, with at most 10,000 pairs in all. Rows are sorted best first:
    highest SLO attainment, then least GPU busy time.
    """
    slo_p95_ms = _slo(slo_p95_ms)
    waits = _values("waits_ms", waits_ms,
                    lambda name, w: non_negative(name, w, maximum=MAX_WAIT_MS))
    sizes = _values("batch_sizes", batch_sizes,
                    lambda name, b: integer_in_range(name, b, 1, MAX_BATCH_SIZE))
    if len(waits) * len(sizes) > MAX_GRID:
        raise ParameterError("len(waits_ms) * len(batch_sizes)", f"at most {MAX_GRID}",
                             len(waits) * len(sizes))
    arrivals = check_arrival_times("arrival_times_s", arrival_times_s)
    if len(waits) * len(sizes) * arrivals.size > MAX_GRID_REQUESTS:
        raise ParameterError("len(waits_ms) * len(batch_sizes) * len(arrival_times_s)",
                             f"at most {MAX_GRID_REQUESTS:.0e} simulated requests",
                             len(waits) * len(sizes) * arrivals.size)
    rows = []
    for wait in waits:
        for size in sizes:
            result = simulate(arrivals, service=service,
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

    ``policies`` maps names to policies (at least one). With ``spike_end_s`` (in [0, 1e10]),
    the scorecard adds ``recovery_s`` (see :func:`recovery_time_s`).
    """
    slo_p95_ms = _slo(slo_p95_ms)
    if not isinstance(policies, Mapping) or not policies:
        raise ParameterError("policies", "a non-empty dict of name: policy", policies)
    if spike_end_s is not None:
        spike_end_s = non_negative("spike_end_s", spike_end_s, maximum=MAX_ARRIVAL_S)
    arrivals = check_arrival_times("arrival_times_s", arrival_times_s)
    rows, results = [], {}
    for name, policy in policies.items():
        result = simulate(arrivals, service=service, controller=policy,
                          instances=instances, seed=seed)
        row = {"policy": name, **summarize(result, slo_p95_ms)}
        if spike_end_s is not None:
            row["recovery_s"] = recovery_time_s(result, slo_p95_ms, spike_end_s)
        rows.append(row)
        results[name] = result
    return pd.DataFrame(rows), results


def _check_frame(name: str, frame, columns: tuple[str, ...]) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame) or frame.empty or not set(columns) <= set(frame):
        raise ParameterError(name, f"a non-empty table with columns {', '.join(columns)}",
                             type(frame).__name__)
    return frame


def most_efficient_static(grid: pd.DataFrame) -> pd.Series:
    """The cheapest configuration of a :func:`grid_search_static` table among those whose SLO
    attainment equals the best one's: the efficiency bar an adaptive policy is held to."""
    grid = _check_frame("grid", grid, ("max_wait_ms", "max_batch_size", "slo_attainment",
                                       "gpu_busy_s"))
    meeting = grid[grid["slo_attainment"] >= grid["slo_attainment"].max()]
    return meeting.nsmallest(1, "gpu_busy_s").iloc[0]


def _as_often(attainment: float, reference: float) -> str:
    return "meets as often" if attainment >= reference else "misses more"


def _scorecard_row(scorecard: pd.DataFrame, trace: str, policy: str, role: str) -> pd.Series:
    rows = scorecard[(scorecard["trace"] == trace) & (scorecard["policy"] == policy)]
    if rows.empty:
        raise ParameterError(role, f"a policy with a row for trace {trace!r} in the scorecard",
                             policy)
    return rows.iloc[0]


def verdict(scorecard: pd.DataFrame, grids: dict[str, pd.DataFrame], *, policy: str,
            baseline: str) -> pd.DataFrame:
    """Per trace, how ``policy`` compares: SLO attainment against the most efficient static
    configuration and against ``baseline``, and GPU time relative to each (+0.05 is 5% more).

    ``scorecard`` has columns ``trace``, ``policy``, ``slo_attainment`` and ``gpu_busy_s``;
    ``grids`` maps each trace to its :func:`grid_search_static` table.
    """
    scorecard = _check_frame("scorecard", scorecard,
                             ("trace", "policy", "slo_attainment", "gpu_busy_s"))
    if not isinstance(grids, Mapping) or not grids:
        raise ParameterError("grids", "a non-empty dict of trace: grid table", grids)
    rows = []
    for trace, grid in grids.items():
        efficient = most_efficient_static(grid)
        ours = _scorecard_row(scorecard, trace, policy, "policy")
        other = _scorecard_row(scorecard, trace, baseline, "baseline")

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
