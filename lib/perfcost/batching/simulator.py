"""A fast, exact simulator of a dynamic batching inference server under a batching policy.

The server is the dynamic batcher of Triton, TorchServe and Ray Serve. Requests queue first in,
first out. An idle instance dispatches as soon as the queue holds ``max_batch_size`` requests;
otherwise it dispatches when the oldest queued request has waited ``max_wait_ms`` (at once if it
already has, because every instance was busy), taking up to ``max_batch_size`` of the oldest
requests. A batch of b requests occupies its instance for ``base_ms + per_item_ms * b`` (with a
:class:`~perfcost.batching.service.ShiftedServiceTime`, the line in force when the batch is
dispatched).

Why the simulator is fast and still exact. It never steps through time or through requests: it
jumps from dispatch to dispatch. With the queue head at request i and the earliest-free instance
free at f, the next dispatch happens at

    t = max(f, min(arrival[i + B - 1], arrival[i] + W))

(the moment the batch fills, or the head's deadline, but not before the instance is free), and
takes requests i … k - 1, where k is the first request after t (a binary search), capped at i + B.
That is the rule above, evaluated once per *batch*. The loop that applies it is compiled with
Numba (:func:`_dispatch_until`): it runs until the next dispatch would fall after the next control
time, then hands back to Python, where the policy is shown what a server could measure up to that
moment (:class:`~perfcost.batching.policy.Measurement`) and may change W and B. The pending
dispatch is then recomputed under the new parameters, and no earlier than the control time that
set them (a shorter W whose deadline has already passed dispatches at once, not in the past), so
no batch ever uses a parameter from its future.

What a control interval costs. At a low rate every interval holds few batches, so the cost of
the interval itself is the simulation's cost. The measurement (latencies of the requests that
completed, their p95, arrivals, the queue) is gathered by a second compiled kernel
(:func:`_measure`, whose p95 is ``numpy.quantile``'s to the bit), and the measurement it fills is
valid by construction, so its checks are skipped. ``make bench`` times the case (M/D/1 at 80
requests/s with 10 ms of service: 2,500 intervals for 200,000 requests).

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
from collections.abc import Sequence
from dataclasses import dataclass, field

import numba
import numpy as np
import pandas as pd

from perfcost.batching.policy import (
    MAX_INSTANCES,
    BatchingPolicy,
    Measurement,
    policy_parameters,
)
from perfcost.batching.service import LinearServiceTime, ShiftedServiceTime, check_service
from perfcost.traffic import check_arrival_times
from perfcost.validation import ParameterError, in_range, integer_in_range, seed_value

__all__ = ["CONTROL_INTERVAL_S", "BatchingResult", "simulate"]

CONTROL_INTERVAL_S = (1e-3, 3600.0)  # a millisecond to an hour


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
def _first_after(arrival, t, low, high):
    """The first index in [low, high) whose arrival is after ``t``, or ``high``: a binary search
    (numpy.searchsorted, side right, within the range)."""
    while low < high:
        middle = (low + high) // 2
        if arrival[middle] <= t:
            low = middle + 1
        else:
            high = middle
    return low


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
        low = _first_after(arrival, dispatch, head, min(n, head + size))
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
    return _first_after(arrival, t, 0, arrival.size)


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
    return policy_parameters(returned, "update")


def _timeline(rows: list[tuple], decisions: list[dict]) -> pd.DataFrame:
    timeline = pd.DataFrame(rows, columns=_TIMELINE_COLUMNS)
    timeline["p95_ms"] = timeline["p95_ms"].astype("Float64")
    if any(decisions):  # what the policy reported about each decision (mode, scale-out, ...)
        timeline = timeline.join(pd.DataFrame(decisions, index=timeline.index))
    return timeline


def _check_run(service, controller, instances, seed, control_interval_s):
    """Validate simulate's arguments other than the trace; return instances, seed, interval."""
    check_service(service)  # a ShiftedServiceTime is one
    if isinstance(controller, type) or not (callable(getattr(controller, "start", None))
                                            and callable(getattr(controller, "update", None))):
        raise ParameterError("controller", "a batching policy with start() and update()",
                             type(controller).__name__)
    return (integer_in_range("instances", instances, 1, MAX_INSTANCES),
            seed_value(seed),
            in_range("control_interval_s", control_interval_s, *CONTROL_INTERVAL_S))


def _started(controller: BatchingPolicy) -> tuple[BatchingPolicy, float, int]:
    """A copy of ``controller`` (whose own state is left unchanged) and the first parameters
    its ``start()`` set."""
    policy = copy.deepcopy(controller)
    wait_ms, size = policy_parameters(policy.start(), "start")
    return policy, wait_ms, size


def _next_control(server: _Server, k: int, quiet: bool, interval_s: float, wait_ms: float,
                  size: int) -> int:
    """The control time after k × interval_s to measure at next: k + 1, or after a quiet
    interval that changed nothing, the last control time before the next event (nothing
    happens until then, so it is one measurement)."""
    if not quiet:
        return k + 1
    event_s = server.next_event_s(k * interval_s, wait_ms, size)
    return max(k + 1, _last_control_before(event_s, interval_s))


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
        Parameters it returns must be in the ranges of
        :class:`~perfcost.batching.policy.StaticBatching`.
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
    policy, wait_ms, size = _started(controller)
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
        k, k_next = k_next, _next_control(server, k_next, quiet, interval_s, wait_ms, size)
    return server.result(_timeline(rows, decisions))
