"""Autoscaling over a day: how many instances three policies order, and when demand outruns them.

Demand is the book's one diurnal curve, :func:`perfcost.traffic.diurnal_rate_rps` with mean
``peak_rps / peak_to_average`` (trough at t = 0, peak at noon), sampled every ``step_s``
seconds. An instance serves ``instance_capacity_rps``; the count that keeps every instance at
the target utilisation is

    needed(t) = ceil(demand(t) / (instance_capacity_rps × target_utilization)).

A policy decides the instances *ordered* at each step (billed from the order); an instance
ordered at step k serves from step k + d, d = ceil(startup_delay_s / step_s) (boot and model
load). Scale-in removes the newest instances first, so the instances *serving* at step k are

    serving(k) = min(ordered(k − d), ..., ordered(k)).

The day is the steady state of a day that repeats (yesterday was the same), so every window
wraps around midnight. A step is *overloaded* when demand(k) > serving(k) × capacity.

Three policies, each an object passed to :func:`simulate_day`:

* :class:`FixedAtPeak`: N + 1 all day, N = needed at the peak;
* :class:`TargetTracking`: desired(k) = ceil(current × utilisation / target), utilisation =
  demand / (current × capacity), so desired(k) = needed(k); scale-out at once, scale-in only to
  the largest desired count over a stabilisation window; plus ``spare_instances`` (N + 1 for
  1), at least ``min_instances``;
* :class:`ScheduledTracking`: a floor each step at the count yesterday's demand needed (the same
  curve), ordered a start-up delay early, with target tracking above it.

Used by chapter 5 (design) through :mod:`perfcost.design.day`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from perfcost.instance_types import (
    MAX_INSTANCES,
    MAX_THROUGHPUT_RPS,
    MIN_THROUGHPUT_RPS,
    MIN_UTILIZATION_TARGET,
)
from perfcost.traffic import MAX_RATE_RPS, check_peak_to_average, diurnal_rate_rps
from perfcost.validation import ParameterError, in_range, instance_of, integer_in_range

__all__ = [
    "DAY_S",
    "DayPlan",
    "DayResult",
    "FixedAtPeak",
    "Policy",
    "ScheduledTracking",
    "TargetTracking",
    "simulate_day",
]

DAY_S = 86_400.0  # one day, the period of the diurnal curve
STEP_S = (10.0, 3_600.0)  # a step of 10 s to an hour: at most 8,640 steps a day
MAX_STARTUP_DELAY_S = 3_600.0  # boot and model load beyond an hour is not autoscaling
MAX_STABILIZATION_S = 3_600.0  # a scale-in window beyond an hour is a schedule
MAX_SPARE_INSTANCES = 1_000
MAX_MIN_INSTANCES = 1_000


@dataclass(frozen=True)
class DayPlan:
    """What a policy sees: the day's needed counts and the start-up delay, in steps."""

    needed_instances: np.ndarray  # per step: ceil(demand / (capacity × target)), >= 1
    peak_needed_instances: int  # needed at the curve's peak (N of the N + 1 rule)
    startup_delay_steps: int  # d: ordered at step k, serving from step k + d
    step_s: float  # seconds per step


class Policy(Protocol):
    """An autoscaling policy: the instances ordered at each step of a day."""

    def ordered_instances(self, plan: DayPlan) -> np.ndarray: ...


@dataclass(frozen=True)
class FixedAtPeak:
    """A fleet fixed all day at the peak's count plus spares: N + 1 by default.

    ordered(k) = N + ``spare_instances`` at every step, N = needed at the curve's peak.

    Parameters
    ----------
    spare_instances : int, optional
        Instances beyond the peak's count, a whole number in [0, 1,000]; default 1 (survive
        losing one).

    Raises
    ------
    perfcost.validation.ParameterError
        If ``spare_instances`` is outside [0, 1,000].
    """

    spare_instances: int = 1  # instances beyond the peak's count (1: survive losing one)

    def __post_init__(self):
        integer_in_range("spare_instances", self.spare_instances, 0, MAX_SPARE_INSTANCES)

    def ordered_instances(self, plan: DayPlan) -> np.ndarray:
        """Order N + spare_instances at every step."""
        count = plan.peak_needed_instances + self.spare_instances
        return np.full(plan.needed_instances.size, count, dtype=np.int64)


@dataclass(frozen=True)
class TargetTracking:
    r"""Target tracking on utilisation, as AWS target tracking and the Kubernetes HPA do.

    desired(k) = ceil(current × u(k) / target), u(k) = demand(k) / (current × capacity), which
    is needed(k) whatever the current count: u is the offered load per instance (a
    request-count-per-target metric; a CPU metric saturating at 100% would scale out more slowly
    under overload). Scale-out is immediate; scale-in goes only to the largest desired count
    over the last ``scale_in_stabilization_s`` seconds (the current step included), and never
    below ``min_instances``; ``spare_instances`` are kept above the desired count, so that the
    fleet survives losing one as the fixed N + 1 fleet does:

    .. math::

        \text{ordered}(k) = \max\Bigl(\mathrm{min\_instances},\ \max_{k - w < j \le k}
            \text{desired}(j) + \text{spare}\Bigr), \qquad
        w = \max\bigl(1, \lceil s / \Delta \rceil\bigr),

    with s = ``scale_in_stabilization_s`` and Δ = ``step_s``.

    Parameters
    ----------
    min_instances : int, optional
        The fewest instances ordered, a whole number in [1, 1,000]; default 2 (two
        availability zones).
    scale_in_stabilization_s : float, optional
        The scale-in window in seconds, in [0, 3,600]; default 300 (the HPA's default).
    spare_instances : int, optional
        Instances kept above the desired count, a whole number in [0, 1,000]; default 0.

    Raises
    ------
    perfcost.validation.ParameterError
        If an argument is outside its range.

    References
    ----------
    Kubernetes, "Horizontal Pod Autoscaling": the algorithm
    desiredReplicas = ceil(currentReplicas × currentMetricValue / desiredMetricValue), and the
    scale-down stabilisation window, ``--horizontal-pod-autoscaler-downscale-stabilization``,
    default 5 minutes. AWS, "Target tracking scaling policies for Amazon EC2 Auto Scaling".
    """

    min_instances: int = 2  # two availability zones
    scale_in_stabilization_s: float = 300.0  # the HPA's default downscale stabilisation
    spare_instances: int = 0  # kept above the desired count (1: survive losing one)

    def __post_init__(self):
        integer_in_range("min_instances", self.min_instances, 1, MAX_MIN_INSTANCES)
        in_range("scale_in_stabilization_s", self.scale_in_stabilization_s, 0.0,
                 MAX_STABILIZATION_S)
        integer_in_range("spare_instances", self.spare_instances, 0, MAX_SPARE_INSTANCES)

    def ordered_instances(self, plan: DayPlan) -> np.ndarray:
        """Order the largest desired count over the stabilisation window plus the spares, at
        least the minimum."""
        window = max(1, math.ceil(self.scale_in_stabilization_s / plan.step_s - 1e-9))
        stabilized = _window_max(plan.needed_instances, before=window - 1, after=0)
        return np.maximum(stabilized + self.spare_instances, self.min_instances)


@dataclass(frozen=True)
class ScheduledTracking:
    r"""A schedule from yesterday's demand as the floor, with target tracking above it.

    The schedule plans needed(k) serving at step k (the day repeats, so yesterday's count is
    today's), plus the tracking's spares, and orders it a start-up delay early, keeping it
    until step k:

    .. math::

        \text{floor}(k) = \max_{k \le j \le k + d} \text{needed}(j) + \text{spare}, \qquad
        \text{ordered}(k) = \max\bigl(\text{floor}(k), \text{ordered}_\text{tracking}(k)\bigr),

    with d the start-up delay in steps and the windows wrapping around midnight.

    Parameters
    ----------
    tracking : TargetTracking, optional
        The target tracking above the floor, whose ``spare_instances`` the floor adds too;
        default ``TargetTracking()``.

    Raises
    ------
    perfcost.validation.ParameterError
        If ``tracking`` is not a TargetTracking.
    """

    tracking: TargetTracking = field(default_factory=TargetTracking)  # above the floor

    def __post_init__(self):
        instance_of("tracking", self.tracking, TargetTracking, "a TargetTracking")

    def ordered_instances(self, plan: DayPlan) -> np.ndarray:
        """Order the scheduled floor or what target tracking orders, whichever is more."""
        floor = _window_max(plan.needed_instances, before=0, after=plan.startup_delay_steps)
        return np.maximum(floor + self.tracking.spare_instances,
                          self.tracking.ordered_instances(plan))


@dataclass(frozen=True)
class DayResult:
    """One simulated day, per step: demand, instances serving, instances ordered (billed)."""

    demand_rps: np.ndarray  # requests per second at the start of each step
    serving_instances: np.ndarray  # instances up and serving at each step
    ordered_instances: np.ndarray  # instances ordered (serving or starting), billed
    instance_capacity_rps: float  # what one serving instance serves
    step_s: float  # seconds per step

    @property
    def instance_hours(self) -> float:
        """Billed instance-hours over the day: sum(ordered) × step_s / 3600."""
        return float(self.ordered_instances.sum()) * self.step_s / 3_600.0

    @property
    def peak_instances(self) -> int:
        """The most instances ordered at any step."""
        return int(self.ordered_instances.max())

    @property
    def average_instances(self) -> float:
        """The mean count of instances ordered: instance_hours / 24."""
        return float(self.ordered_instances.mean())

    @property
    def overloaded(self) -> np.ndarray:
        """Per step, whether demand exceeds serving × capacity."""
        return self.demand_rps > self.serving_instances * self.instance_capacity_rps

    @property
    def overloaded_minutes(self) -> float:
        """Minutes of the day whose demand exceeds serving × capacity."""
        return float(np.count_nonzero(self.overloaded)) * self.step_s / 60.0

    @property
    def served_share(self) -> float:
        """The share of the day's requests within the serving capacity:
        sum(min(demand, serving × capacity)) / sum(demand); 1 for a day without demand."""
        total = float(self.demand_rps.sum())
        capacity = self.serving_instances * self.instance_capacity_rps
        return 1.0 if total == 0 else float(np.minimum(self.demand_rps, capacity).sum()) / total


def simulate_day(
    policy: Policy, *, peak_rps: float, peak_to_average: float, instance_capacity_rps: float,
    target_utilization: float, startup_delay_s: float, step_s: float = 60.0,
) -> DayResult:
    r"""Simulate one day of ``policy`` on the diurnal curve, step by step.

    demand(k) = diurnal_rate_rps(k × step_s, peak_rps / peak_to_average, peak_to_average);
    needed(k) = ceil(demand(k) / (instance_capacity_rps × target_utilization)), at least 1;
    ordered = policy.ordered_instances(plan); serving(k) = min(ordered(k − d), ..., ordered(k)),
    d = ceil(startup_delay_s / step_s), the windows wrapping around midnight. With peak P,
    peak-to-average a, step Δ, capacity X and target utilisation u:

    .. math::

        \text{demand}(k) = \frac{P}{a}\Bigl(1 - (a - 1)\cos\frac{2\pi k \Delta}{86400}\Bigr),
        \qquad
        \text{needed}(k) = \max\Bigl(1, \Bigl\lceil \frac{\text{demand}(k)}{X u}
            \Bigr\rceil\Bigr),

        \text{serving}(k) = \min_{k - d \le j \le k} \text{ordered}(j), \qquad
        d = \lceil \mathrm{startup\_delay\_s} / \Delta \rceil.

    Parameters
    ----------
    policy : FixedAtPeak, TargetTracking, ScheduledTracking, or any object with
        ``ordered_instances(plan: DayPlan) -> array``.
    peak_rps : float
        The day's peak request rate, in (0, 10^6].
    peak_to_average : float
        Peak over mean rate, in [1, 2] (the sinusoidal day; at 2 the trough is zero).
    instance_capacity_rps : float
        Requests per second one instance serves, in [0.001, 10^6].
    target_utilization : float
        The utilisation each instance is sized for, in [0.01, 1].
    startup_delay_s : float
        Boot plus model load, in [0, 3600]; rounded up to whole steps.
    step_s : float
        Seconds per step, in [10, 3600], dividing the day (86,400 s).

    Returns
    -------
    DayResult
        Per-step demand, serving and ordered instances, and the day's totals.

    Raises
    ------
    perfcost.validation.ParameterError
        If an argument is outside its range, ``step_s`` does not divide the day, the peak
        needs more than 10^6 instances, or the policy does not order one count >= 0 per step.

    References
    ----------
    The diurnal curve: :func:`perfcost.traffic.diurnal_rate_rps`. The target-tracking rule:
    Kubernetes, "Horizontal Pod Autoscaling" (``kubernetes2026hpa``).
    """
    peak_rps = in_range("peak_rps", peak_rps, 0.0, MAX_RATE_RPS, low_open=True)
    peak_to_average = check_peak_to_average("peak_to_average", peak_to_average)
    capacity_rps = in_range("instance_capacity_rps", instance_capacity_rps,
                            MIN_THROUGHPUT_RPS, MAX_THROUGHPUT_RPS)
    target = in_range("target_utilization", target_utilization, MIN_UTILIZATION_TARGET, 1.0)
    startup_delay_s = in_range("startup_delay_s", startup_delay_s, 0.0, MAX_STARTUP_DELAY_S)
    steps = _steps_per_day(step_s)
    step_s = DAY_S / steps
    per_instance_rps = capacity_rps * target
    if peak_rps / per_instance_rps > MAX_INSTANCES:
        raise ParameterError("peak_rps / (instance_capacity_rps × target_utilization)",
                             f"at most {MAX_INSTANCES:g} instances",
                             peak_rps / per_instance_rps)
    demand_rps = diurnal_rate_rps(np.arange(steps) * step_s, peak_rps / peak_to_average,
                                  peak_to_average, DAY_S)
    demand_rps = np.maximum(demand_rps, 0.0)  # the trough at 2 may round below zero
    plan = DayPlan(_round_up(demand_rps / per_instance_rps),
                   int(_round_up(np.array([peak_rps / per_instance_rps]))[0]),
                   math.ceil(startup_delay_s / step_s - 1e-9), step_s)
    ordered = np.asarray(policy.ordered_instances(plan), dtype=np.int64)
    if ordered.shape != (steps,) or ordered.min() < 0:
        raise ParameterError("policy", f"a policy ordering {steps} counts >= 0", policy)
    serving = _window_min(ordered, before=plan.startup_delay_steps)
    return DayResult(_frozen(demand_rps), _frozen(serving), _frozen(ordered), capacity_rps,
                     step_s)


def _steps_per_day(step_s) -> int:
    """Return 86,400 / step_s, a whole number, or raise ParameterError naming step_s."""
    step_s = in_range("step_s", step_s, *STEP_S)
    steps = round(DAY_S / step_s)
    if not math.isclose(steps * step_s, DAY_S, rel_tol=1e-9):
        raise ParameterError("step_s", "a number in [10, 3600] dividing 86400", step_s)
    return steps


def _round_up(instances: np.ndarray) -> np.ndarray:
    """ceil, at least 1, keeping a count within float error (1e-9 relative) of a whole one
    exact (as :func:`perfcost.capacity.round_up`)."""
    nearest = np.round(instances)
    exact = np.isclose(instances, nearest, rtol=1e-9, atol=0.0)
    return np.maximum(1, np.where(exact, nearest, np.ceil(instances))).astype(np.int64)


def _window_max(values: np.ndarray, *, before: int, after: int) -> np.ndarray:
    """max(values[k − before], ..., values[k + after]) for every k, wrapping around."""
    return _periodic_windows(values, before, after).max(axis=1)


def _window_min(values: np.ndarray, *, before: int) -> np.ndarray:
    """min(values[k − before], ..., values[k]) for every k, wrapping around."""
    return _periodic_windows(values, before, 0).min(axis=1)


def _periodic_windows(values: np.ndarray, before: int, after: int) -> np.ndarray:
    """Rows k = values[k − before .. k + after] of a periodic sequence (a view, no copy)."""
    n = values.size
    index = np.arange(-before, n + after) % n
    return sliding_window_view(values[index], before + after + 1)


def _frozen(values: np.ndarray) -> np.ndarray:
    """The array, read-only, so a frozen DayResult cannot be changed through it."""
    values = np.array(values)
    values.flags.writeable = False
    return values
