"""Capacity sizing: how many instances of which type serve a request rate within a latency SLO.

Three sizers, each an object called the same way, ``size(instance, request_rate_rps,
latency_slo_ms) -> Sizing``, carrying its own settings so that no table or curve can drop one:

* :class:`UtilizationRule` (the rule of thumb), ``count = ceil(rate / (throughput × target))``,
  which keeps every instance below a utilisation target (70% by default) and ignores the queue;
* :class:`QuantileRule`, the smallest count whose p95 response time meets the SLO in a latency
  model of the fleet (:mod:`perfcost.fleet_quantiles`);
* :class:`SLORule`, the rule of thumb raised until the p95 meets the SLO: what
  :func:`cheapest_instance` (the interview's function) uses.

:class:`CapacityQuestion` holds chapter 1's inputs, validated. What is sized (an
:class:`~perfcost.instance_types.InstanceType`, a :class:`~perfcost.instance_types.Sizing`) and
the valid range of every argument are in :mod:`perfcost.instance_types`; the fleet's latency in
:mod:`perfcost.fleet_quantiles`; tables of sizings in :mod:`perfcost.sizing_tables`; the
simulation that checks the latency model in :mod:`perfcost.fleet_check`.

Every search is bounded: a fleet needing more than ``MAX_INSTANCES`` instances, or an M/M/c
model of more than ``queueing.MAX_SERVERS`` servers, raises InfeasibleError saying so.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from perfcost.fleet_latency import FLEET, FleetLatency
from perfcost.fleet_quantiles import fleet_response_quantile_ms
from perfcost.instance_types import (
    INSTANCE_CHECKS,
    MAX_HOURLY_USD,
    MAX_INSTANCES,
    MAX_LATENCY_MS,
    MAX_PEAK_TO_AVERAGE,
    MIN_LATENCY_MS,
    InfeasibleError,
    InstanceType,
    Sizing,
    check_fleet,
    check_instance,
    check_latency,
    check_model,
    check_quantile,
    check_rate,
    check_target,
    slots_per_instance,
)
from perfcost.queueing import MAX_SERVERS
from perfcost.traffic import MAX_RATE_RPS
from perfcost.units import HOURS_PER_MONTH  # re-exported: chapter 1 prices a 730-hour month
from perfcost.validation import ParameterError, in_range, instance_of, integer_in_range, positive

__all__ = [
    "HOURS_PER_MONTH",
    "MAX_HOURLY_USD",
    "MAX_OPTIONS",
    "CapacityQuestion",
    "InfeasibleError",
    "InstanceType",
    "QuantileRule",
    "SLORule",
    "Sizer",
    "Sizing",
    "UtilizationRule",
    "cheapest",
    "cheapest_instance",
    "cheapest_instance_for_quantile",
    "instances_for_utilization",
    "round_up",
    "size_fleet",
    "size_fleet_for_quantile",
    "slots_per_instance",
    "with_spares",
]

MAX_OPTIONS = 1_000  # instance types compared at once


# --- The rule of thumb ---------------------------------------------------------------------------

def round_up(instances: float) -> int:
    """Round a number of instances up to whole instances, at least one; keep an exact fit exact.

    0.7 and 100 are not exact binary fractions, so 70 / (100 × 0.7) may come out as
    1.0000000000000002; a plain ceil would then buy a second instance for an exact fit. A value
    within float error (1e-9 relative) of a whole number is that number.
    """
    nearest = round(instances)
    if nearest >= 1 and math.isclose(instances, nearest, rel_tol=1e-9):
        return int(nearest)
    return max(1, math.ceil(instances))


def instances_for_utilization(
    request_rate_rps: float, throughput_rps: float, utilization_target: float = 0.7
) -> int:
    """Return ceil(rate / (throughput × target)): the fewest instances each below the target.

    An exact fit stays exact (700 rps at 100 rps × 0.7 is 10 instances, not 11), and at least one
    instance is always returned (:func:`round_up`).

    Parameters
    ----------
    request_rate_rps : float
        Requests per second the fleet serves, in (0, 10^8].
    throughput_rps : float
        Requests per second one instance completes when fully busy, in [10^-9, 10^9] (the cost
        chapter's throughput × gain).
    utilization_target : float, default 0.7
        The busy fraction no instance may exceed, in [0.01, 1].

    Returns
    -------
    int
        The instance count, at least 1 and below 10^20.

    Raises
    ------
    ParameterError
        If an argument is out of its range.
    """
    request_rate_rps = check_rate(request_rate_rps)
    throughput_rps = in_range("throughput_rps", throughput_rps, 1e-9, 1e9)
    utilization_target = check_target(utilization_target)
    return round_up(request_rate_rps / (throughput_rps * utilization_target))


def _sizing(instance: InstanceType, count: int, request_rate_rps: float,
            model: FleetLatency) -> Sizing:
    return Sizing(
        instance=instance,
        count=count,
        request_rate_rps=request_rate_rps,
        utilization=request_rate_rps / (count * instance.throughput_rps),
        p95_ms=fleet_response_quantile_ms(instance, count, request_rate_rps, 0.95,
                                          model=model),
        model=model,
    )


def size_fleet(
    instance: InstanceType,
    request_rate_rps: float,
    latency_slo_ms: float,
    *,
    utilization_target: float = 0.7,
    model: FleetLatency = FLEET,
) -> Sizing:
    """Size a fleet by the utilisation rule: ceil(rate / (throughput × target)) instances.

    The rule ignores queueing: the fleet's p95 in ``model`` is reported, not enforced (see
    :class:`SLORule` for the rule raised until the p95 meets the SLO).

    Parameters
    ----------
    instance : InstanceType
        The instance type sized.
    request_rate_rps : float
        Requests per second the fleet serves.
    latency_slo_ms : float
        The p95 response-time target, in milliseconds.
    utilization_target : float, default 0.7
        The busy fraction no instance may exceed, in [0.01, 1].
    model : FleetLatency, default FLEET
        The fleet's latency model, which computes the reported p95.

    Returns
    -------
    Sizing
        The count, its utilisation, monthly cost and p95 in ``model``.

    Raises
    ------
    InfeasibleError
        If the instance's own latency exceeds the SLO (no count can fix that), the fleet
        needs more than ``MAX_INSTANCES`` instances, or it would be 100% busy (target 1).
    """
    instance = check_instance(instance)
    request_rate_rps = check_rate(request_rate_rps)
    latency_slo_ms = check_latency("latency_slo_ms", latency_slo_ms)
    model = check_model(model)
    count = instances_for_utilization(request_rate_rps, instance.throughput_rps, utilization_target)
    if instance.latency_ms > latency_slo_ms:
        raise InfeasibleError(
            f"{instance.name}: latency {instance.latency_ms:g} ms exceeds the SLO "
            f"{latency_slo_ms:g} ms"
        )
    check_fleet(instance, count)
    if request_rate_rps >= count * instance.throughput_rps:  # a target of 1 and an exact fit
        raise InfeasibleError(
            f"{instance.name}: {count:,} instances would be 100% busy, so the queue grows "
            "without bound; lower utilization_target")
    return _sizing(instance, count, request_rate_rps, model)


# --- Sizing for a response-time quantile ---------------------------------------------------------

def _count_meeting(meets: Callable[[int], bool], smallest: int, largest: int) -> int | None:
    """Return the least n in [smallest, largest] with meets(n), for meets monotone; None if
    even ``largest`` does not meet it."""
    if smallest > largest or not meets(largest):
        return None
    low, high, step = smallest - 1, smallest, 1  # meets(low) is False (or low is below range)
    while not meets(high):  # gallop: double the step until the SLO is met
        low, high, step = high, min(high + step, largest), 2 * step
    while high - low > 1:  # then bisect: meets(low) is False, meets(high) is True
        middle = (low + high) // 2
        low, high = (low, middle) if meets(middle) else (middle, high)
    return high


def _fewest_meeting_quantile(instance: InstanceType, request_rate_rps: float,
                             latency_slo_ms: float, quantile: float, model: FleetLatency,
                             at_least: int = 1) -> int:
    """The fewest instances (at least ``at_least``) whose ``quantile`` meets the SLO in
    ``model``; InfeasibleError if no count does."""
    slots = slots_per_instance(instance)
    floor_ms = 1000.0 * model.idle_quantile_s(instance.throughput_rps / slots, quantile)
    if floor_ms >= latency_slo_ms:  # one service time alone: no count removes it
        raise InfeasibleError(
            f"{instance.name}: even an idle fleet has a p{100 * quantile:g} of {floor_ms:.3g} ms "
            f"({model.label}), above the {latency_slo_ms:.3g} ms asked for")
    smallest_stable = math.floor(request_rate_rps / instance.throughput_rps) + 1
    largest = min(MAX_INSTANCES, MAX_SERVERS // slots)

    def meets(count: int) -> bool:
        return fleet_response_quantile_ms(instance, count, request_rate_rps, quantile,
                                          model=model) <= latency_slo_ms

    count = _count_meeting(meets, max(smallest_stable, at_least), largest)
    if count is None:
        raise InfeasibleError(
            f"{instance.name}: more than {largest:,} instances (the most sized here) would be "
            f"needed for a p{100 * quantile:g} within {latency_slo_ms:.3g} ms")
    return count


def size_fleet_for_quantile(
    instance: InstanceType,
    request_rate_rps: float,
    latency_slo_ms: float,
    *,
    quantile: float = 0.95,
    model: FleetLatency = FLEET,
) -> Sizing:
    """Size a fleet as the fewest instances whose ``quantile`` response time meets the SLO.

    The response-time quantile falls as instances are added, towards the quantile of one service
    time (``model.idle_quantile_s``); an SLO below that limit cannot be met at any count.

    Raises
    ------
    InfeasibleError
        If the SLO is at or below that limit, or more than ``MAX_INSTANCES`` instances (or
        ``queueing.MAX_SERVERS`` servers) would be needed.
    """
    instance = check_instance(instance)
    request_rate_rps = check_rate(request_rate_rps)
    latency_slo_ms = check_latency("latency_slo_ms", latency_slo_ms)
    quantile = check_quantile(quantile)
    model = check_model(model)
    count = _fewest_meeting_quantile(instance, request_rate_rps, latency_slo_ms, quantile, model)
    return _sizing(instance, count, request_rate_rps, model)


# --- The sizers ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class UtilizationRule:
    """The rule of thumb as a sizer: ``UtilizationRule(0.7)(instance, rate_rps, slo_ms)``.

    Every sizer is called the same way, (instance, request_rate_rps, latency_slo_ms), and carries
    its own settings, so a table or curve cannot drop one. The p95 is reported in ``model``.
    """

    target: float = 0.7
    model: FleetLatency = FLEET

    def __post_init__(self):
        object.__setattr__(self, "target", check_target(self.target, "target"))
        object.__setattr__(self, "model", check_model(self.model))

    def __call__(self, instance, request_rate_rps, latency_slo_ms) -> Sizing:
        return size_fleet(instance, request_rate_rps, latency_slo_ms,
                          utilization_target=self.target, model=self.model)

    @property
    def label(self) -> str:
        """e.g. "rule of thumb (70%)"."""
        return f"rule of thumb ({self.target:.0%})"


@dataclass(frozen=True)
class QuantileRule:
    """Sizing for a response-time quantile as a sizer: the fewest instances whose
    ``quantile`` meets the SLO in ``model``."""

    quantile: float = 0.95
    model: FleetLatency = FLEET

    def __post_init__(self):
        object.__setattr__(self, "quantile", check_quantile(self.quantile))
        object.__setattr__(self, "model", check_model(self.model))

    def __call__(self, instance, request_rate_rps, latency_slo_ms) -> Sizing:
        return size_fleet_for_quantile(instance, request_rate_rps, latency_slo_ms,
                                       quantile=self.quantile, model=self.model)

    @property
    def label(self) -> str:
        """e.g. "p95 sizing (least outstanding, service cv 0.3)"."""
        return f"p{100 * self.quantile:g} sizing ({self.model.label})"


@dataclass(frozen=True)
class SLORule(UtilizationRule):
    """The utilisation rule, raised until the p95 meets the SLO: what a fleet should run.

    count = max(ceil(rate / (throughput × target)), fewest instances whose p95 in ``model``
    meets the SLO). An exact fit of the rule stays exact; an option whose own latency exceeds
    the SLO, or whose idle p95 does, is infeasible. Same settings as :class:`UtilizationRule`.
    """

    def __call__(self, instance, request_rate_rps, latency_slo_ms) -> Sizing:
        instance = check_instance(instance)
        request_rate_rps = check_rate(request_rate_rps)
        latency_slo_ms = check_latency("latency_slo_ms", latency_slo_ms)
        if instance.latency_ms > latency_slo_ms:  # no count makes one request faster
            raise InfeasibleError(f"{instance.name}: latency {instance.latency_ms:g} ms "
                                  f"exceeds the SLO {latency_slo_ms:g} ms")
        # Keep each instance under the target (an exact fit stays exact), then add instances
        # until the p95 meets the SLO; the search starts at the rule's count, or one above it
        # when the rule's fleet would be 100% busy (a target of 1 and an exact fit).
        rule = instances_for_utilization(request_rate_rps, instance.throughput_rps,
                                         self.target)
        check_fleet(instance, rule)
        count = _fewest_meeting_quantile(instance, request_rate_rps, latency_slo_ms, 0.95,
                                         self.model, rule)
        return _sizing(instance, count, request_rate_rps, self.model)

    @property
    def label(self) -> str:
        """e.g. "70% rule, raised to meet the p95"."""
        return f"{self.target:.0%} rule, raised to meet the p95"


Sizer = Callable[[InstanceType, float, float], Sizing]


def check_options(options: Iterable[InstanceType]) -> list[InstanceType]:
    valid = f"a non-empty sequence of at most {MAX_OPTIONS:,} InstanceType"
    try:
        chosen = list(itertools.islice(options, MAX_OPTIONS + 1))
    except TypeError:  # not iterable
        raise ParameterError("options", valid, options) from None
    if (not chosen or len(chosen) > MAX_OPTIONS
            or not all(isinstance(o, InstanceType) for o in chosen)):
        raise ParameterError("options", valid, chosen)
    return chosen


def check_sizer(size: object) -> Sizer:
    if not callable(size):
        raise ParameterError("size", "a sizer such as UtilizationRule(0.7)", size)
    return size


# --- The cheapest fleet: the interview's function ------------------------------------------------

def cheapest(options: Iterable[InstanceType], request_rate_rps: float, latency_slo_ms: float,
             size: Sizer) -> Sizing:
    """Return the cheapest fleet that the sizer ``size`` finds among the options.

    Options the sizer finds infeasible are excluded; if none is left, InfeasibleError listing
    why. Ties in hourly price go to fewer instances, then lower latency, then the name.
    """
    size = check_sizer(size)
    fleets, reasons = [], []
    for option in check_options(options):
        try:
            fleets.append(size(option, request_rate_rps, latency_slo_ms))
        except InfeasibleError as infeasible:
            reasons.append(str(infeasible))
    if not fleets:
        raise InfeasibleError("no instance type can meet the SLO: " + "; ".join(reasons))
    return min(fleets, key=lambda f: (f.hourly_usd, f.count, f.instance.latency_ms,
                                      f.instance.name))


def cheapest_instance(
    options: Iterable[InstanceType],
    request_rate_rps: float,
    latency_slo_ms: float,
    utilization_target: float = 0.7,
    *,
    model: FleetLatency = FLEET,
) -> Sizing:
    """Return the cheapest fleet that keeps each instance under the target AND meets the SLO.

    Assumptions, line by line (chapter 1):

    * an option whose own latency exceeds the SLO is dropped: more instances do not make one
      request faster;
    * each instance is sized to stay below ``utilization_target`` busy, rounding up, with an
      exact fit kept exact (:func:`instances_for_utilization`);
    * the count is then raised, if needed, until the fleet's p95 meets ``latency_slo_ms`` in
      ``model``: per-instance queues behind a load balancer (least outstanding requests by
      default) and gamma service times with the model's coefficient of variation
      (:mod:`perfcost.fleet_latency`). The result's ``p95_ms`` is that p95;
    * among the options left, the lowest hourly price wins; ties go to fewer instances, then
      lower latency, then the name.

    Parameters
    ----------
    options : iterable of InstanceType
        The instance types compared, at most ``MAX_OPTIONS`` (1,000).
    request_rate_rps : float
        Requests per second the fleet serves.
    latency_slo_ms : float
        The p95 response-time target, in milliseconds.
    utilization_target : float, default 0.7
        The busy fraction no instance may exceed, in [0.01, 1].
    model : FleetLatency, default FLEET
        The fleet's latency model that the p95 must meet the SLO in.

    Returns
    -------
    Sizing
        The cheapest option's fleet.

    Raises
    ------
    InfeasibleError
        If no option can meet the SLO.

    References
    ----------
    The utilisation rule and the queueing check: Harchol-Balter, *Performance Modeling and
    Design of Computer Systems* (2013), chapter 14 (M/M/k).
    """
    rule = SLORule(check_target(utilization_target), check_model(model))
    return cheapest(options, request_rate_rps, latency_slo_ms, rule)


def cheapest_instance_for_quantile(
    options: Iterable[InstanceType],
    request_rate_rps: float,
    latency_slo_ms: float,
    quantile: float = 0.95,
    *,
    model: FleetLatency = FLEET,
) -> Sizing:
    """Return the cheapest fleet whose ``quantile`` response time meets the SLO in ``model``."""
    return cheapest(options, request_rate_rps, latency_slo_ms,
                    QuantileRule(check_quantile(quantile), check_model(model)))


def with_spares(fleet: Sizing, spares: int = 1) -> Sizing:
    """Return ``fleet`` with ``spares`` more instances (N+1 redundancy for ``spares=1``).

    The fleet with its spares may hold at most ``MAX_INSTANCES`` instances; its p95 is in the
    model the fleet was sized with.
    """
    instance_of("fleet", fleet, Sizing, "a Sizing (from size_fleet and the like)")
    spares = integer_in_range("spares", spares, 0, MAX_INSTANCES - fleet.count)
    check_fleet(fleet.instance, fleet.count + spares)
    return _sizing(fleet.instance, fleet.count + spares, fleet.request_rate_rps, fleet.model)


# --- Chapter 1's question ------------------------------------------------------------------------

@dataclass(frozen=True)
class CapacityQuestion:
    """Chapter 1's inputs, validated on construction; each field is a notebook parameter.

    A bad value raises ParameterError naming the notebook parameter (``cpu_throughput_rps``,
    not ``throughput_rps``) and its valid range: the chapter's range
    (``perfcost.book.inputs.CAPACITY`` is built from the same constants).
    """

    request_rate_rps: float  # predicted average request rate, (0, 10^6]
    latency_slo_ms: float  # the latency SLO, read as a p95 bound, [10^-3, 60,000]
    utilization_target: float  # the rule of thumb's per-instance target, in [0.01, 1]
    peak_to_average: float  # peak request rate / average request rate, [1, 100]
    cpu_name: str  # one line, 1 to 64 characters
    cpu_throughput_rps: float  # [10^-3, 10^6]
    cpu_hourly_usd: float  # (0, 1,000]
    cpu_latency_ms: float  # [10^-3, 60,000]
    gpu_name: str
    gpu_throughput_rps: float
    gpu_hourly_usd: float
    gpu_latency_ms: float
    routing: str = FLEET.routing  # the load balancer's policy (fleet_latency.ROUTINGS)
    service_cv: float = FLEET.service_cv  # service time's coefficient of variation, [0, 3]

    def __post_init__(self):
        for name, check in _QUESTION_CHECKS.items():
            object.__setattr__(self, name, check(name, getattr(self, name)))
        FleetLatency(self.routing, self.service_cv)  # checks both, by name

    @property
    def model(self) -> FleetLatency:
        """The fleet's latency model: per-instance queues routed by ``routing``."""
        return FleetLatency(self.routing, self.service_cv)

    @property
    def rule_of_thumb(self) -> UtilizationRule:
        """The rule of thumb at ``utilization_target``; its p95 reported in :attr:`model`."""
        return UtilizationRule(self.utilization_target, self.model)

    @property
    def slo_rule(self) -> SLORule:
        """The rule raised to the SLO: the rule of thumb plus instances until the p95 in
        :attr:`model` meets it (what :func:`cheapest_instance` sizes with)."""
        return SLORule(self.utilization_target, self.model)

    @property
    def cpu(self) -> InstanceType:
        """The CPU option."""
        return InstanceType(self.cpu_name, self.cpu_throughput_rps, self.cpu_hourly_usd,
                            self.cpu_latency_ms)

    @property
    def gpu(self) -> InstanceType:
        """The GPU option."""
        return InstanceType(self.gpu_name, self.gpu_throughput_rps, self.gpu_hourly_usd,
                            self.gpu_latency_ms)

    @property
    def options(self) -> list[InstanceType]:
        """Both options, CPU first."""
        return [self.cpu, self.gpu]

    @property
    def peak_rate_rps(self) -> float:
        """The peak request rate, average × peak_to_average."""
        return self.request_rate_rps * self.peak_to_average


def _chapter_latency(name: str, value: object) -> float:
    """A latency the chapter takes as a parameter: a microsecond to a minute."""
    return in_range(name, value, MIN_LATENCY_MS, MAX_LATENCY_MS)


_QUESTION_CHECKS = {
    "request_rate_rps": lambda name, value: positive(name, value, maximum=MAX_RATE_RPS),
    "latency_slo_ms": _chapter_latency,
    "utilization_target": lambda name, value: check_target(value),
    "peak_to_average": lambda name, value: in_range(name, value, 1.0, MAX_PEAK_TO_AVERAGE),
    **{f"{kind}_{field}": check for kind in ("cpu", "gpu")
       for field, check in {**INSTANCE_CHECKS, "latency_ms": _chapter_latency}.items()},
}
