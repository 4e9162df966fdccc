"""Capacity sizing: how many instances of which type serve a request rate within a latency SLO.

Three sizers, each an object called the same way, ``size(instance, request_rate_rps,
latency_slo_ms) -> Sizing``, carrying its own settings so that no table or curve can drop one:

* :class:`UtilizationRule` (the rule of thumb), ``count = ceil(rate / (throughput × target))``,
  which keeps every instance below a utilisation target (70% by default) and ignores the queue;
* :class:`QuantileRule`, the smallest count whose p95 response time meets the SLO in a latency
  model of the fleet (:class:`perfcost.fleet_latency.FleetLatency`);
* :class:`SLORule`, the rule of thumb raised until the p95 meets the SLO: what
  :func:`cheapest_instance` (the interview's function) uses.

The model of one instance: it sustains ``throughput_rps`` with a per-request ``latency_ms``. By
Little's law it then holds k = throughput × latency requests in flight (its batch or thread
concurrency); we round k to a whole number of *slots*, at least 1, and give each slot the rate
throughput / k, so an instance's capacity is exactly ``throughput_rps`` and its mean service time
is close to ``latency_ms``. A fleet of n instances is n queues of k slots behind a load balancer
(:data:`FLEET`: least outstanding requests, gamma service); :data:`MMC`, one shared M/M/(n·k)
queue with exponential service, is the lower bound earlier editions used, kept for comparison.

Valid ranges, checked before any work (a bad value raises ParameterError naming the argument):

* request rates: (0, 10^8] requests/s for sizing (:data:`MAX_REQUEST_RATE_RPS`: the chapter's
  largest peak, 10^6 average × 100); (0, 10^6] in :class:`CapacityQuestion`;
* an instance's ``throughput_rps`` in [10^-3, 10^6], ``latency_ms`` in (0, 60,000] (a minute),
  ``hourly_usd`` in (0, 1,000];
* ``latency_slo_ms`` in (0, 60,000]; ``utilization_target`` in [0.01, 1]; quantiles in (0, 1).

Every search is bounded: a fleet needing more than :data:`MAX_INSTANCES` instances, or an M/M/c
model of more than ``queueing.MAX_SERVERS`` servers, raises InfeasibleError saying so.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from perfcost.fcfs_simulation import routed_response_times
from perfcost.fleet_latency import FleetLatency
from perfcost.queueing import MAX_CV, MAX_SERVERS, MMc, UnstableQueueError
from perfcost.traffic import poisson_arrival_times
from perfcost.validation import (
    ParameterError,
    fraction,
    in_range,
    integer_in_range,
    positive,
    seed_value,
)

__all__ = [
    "FLEET",
    "HOURS_PER_MONTH",
    "MAX_INSTANCES",
    "MAX_REQUEST_RATE_RPS",
    "MMC",
    "CapacityQuestion",
    "InfeasibleError",
    "InstanceType",
    "QuantileRule",
    "SLORule",
    "Sizer",
    "Sizing",
    "UtilizationRule",
    "cheapest_above_rps",
    "cheapest_instance",
    "cheapest_instance_for_quantile",
    "cost_curves",
    "fleet_queue",
    "fleet_response_quantile_ms",
    "instances_for_utilization",
    "max_utilization_for_quantile",
    "quantile_curves",
    "simulated_response_quantile_ms",
    "size_fleet",
    "size_fleet_for_quantile",
    "sizing_table",
    "slots_per_instance",
    "with_spares",
]

HOURS_PER_MONTH = 730.0  # 8,760 hours a year / 12, the convention of cloud price calculators
MAX_REQUEST_RATE_RPS = 1e8  # sizing: the chapter's largest peak, 10^6 rps average × 100
MAX_QUESTION_RATE_RPS = 1e6  # chapter 1's average rate: far beyond one service
MIN_THROUGHPUT_RPS = 1e-3  # one request in ~17 minutes: keeps every count finite
MAX_THROUGHPUT_RPS = 1e6
MAX_LATENCY_MS = 60_000.0  # a minute: longer is a batch job, not inference serving
MAX_HOURLY_USD = 1_000.0  # the largest cloud instances cost under $100/h
MIN_UTILIZATION_TARGET = 0.01  # below 1% busy the rule buys 100x the capacity: a typo
MAX_PEAK_TO_AVERAGE = 100.0  # beyond 100x, size for the peak directly
MAX_CURVE_SIZINGS = 20_000  # options x rates in one cost curve: a few seconds of sizing
MAX_INSTANCES = 10**6  # the largest fleet sized here; the searches stop there
MAX_OPTIONS = 1_000  # instance types compared at once
MAX_CURVE_POINTS = 10_000  # rates in cost_curves, rows in quantile_curves: seconds of work
MAX_SIMULATED_SERVERS = 10**6  # the simulation keeps one heap entry per server
MAX_SIMULATED_REQUESTS = 5 * 10**6  # ~3 s and ~200 MB of float64 arrays
MAX_SLOTS = 10_000  # requests one instance holds at once (chapter 1's limit on rate × latency)
# The M/M/c model of earlier editions: one queue for every slot, exponential service. No load
# balancer achieves a shared queue, so it is the lower bound on a fleet's latency.
MMC = FleetLatency("shared_queue", 1.0)
# A fleet as a load balancer builds it: per-instance queues, least outstanding requests, and
# service times as variable as perfcost.fleet_latency.DEFAULT_SERVICE_CV says.
FLEET = FleetLatency()


class InfeasibleError(ValueError):
    """No instance count of an instance type (or no type at all) can meet the latency SLO."""


@dataclass(frozen=True)
class InstanceType:
    """One way to serve the model: an instance type and what it does on this workload.

    Parameters
    ----------
    name : str
        A label, e.g. ``"g4dn.xlarge"``: one line, 1 to 64 characters.
    throughput_rps : float
        Requests per second one instance sustains at full load, in [10^-3, 10^6].
    hourly_usd : float
        Price of one instance for one hour, in (0, 1,000].
    latency_ms : float
        Time to serve one request on an otherwise idle instance, in (0, 60,000].
    """

    name: str
    throughput_rps: float
    hourly_usd: float
    latency_ms: float

    def __post_init__(self):
        for field, check in _INSTANCE_CHECKS.items():
            object.__setattr__(self, field, check(field, getattr(self, field)))


@dataclass(frozen=True)
class Sizing:
    """A fleet: ``count`` instances of ``instance`` and what it costs and does at a request rate.

    ``utilization`` is the busy fraction at the request rate (rate / (count × throughput));
    ``p95_ms`` is the fleet's p95 response time in ``model``, the latency model it was sized
    with (:class:`perfcost.fleet_latency.FleetLatency`).
    """

    instance: InstanceType
    count: int
    request_rate_rps: float
    utilization: float
    p95_ms: float
    model: FleetLatency = FLEET

    @property
    def hourly_usd(self) -> float:
        """The fleet's price per hour."""
        return self.count * self.instance.hourly_usd

    @property
    def monthly_usd(self) -> float:
        """The fleet's price per 730-hour month."""
        return self.hourly_usd * HOURS_PER_MONTH


def _name(name: str, value: object) -> str:
    if (not isinstance(value, str) or not value.strip() or len(value) > 64
            or not value.isprintable()):
        raise ParameterError(name, "one line of text, 1 to 64 characters", value)
    return value


def _throughput(name: str, value: object) -> float:
    return in_range(name, value, MIN_THROUGHPUT_RPS, MAX_THROUGHPUT_RPS)


def _hourly(name: str, value: object) -> float:
    return positive(name, value, maximum=MAX_HOURLY_USD)


def _latency(name: str, value: object) -> float:
    return positive(name, value, maximum=MAX_LATENCY_MS)


def _rate(value: object, name: str = "request_rate_rps") -> float:
    return positive(name, value, maximum=MAX_REQUEST_RATE_RPS)


def _target(value: object, name: str = "utilization_target") -> float:
    return in_range(name, value, MIN_UTILIZATION_TARGET, 1.0)


def _quantile(value: object) -> float:
    return fraction("quantile", value, low_open=True, high_open=True)


_INSTANCE_CHECKS = {"name": _name, "throughput_rps": _throughput, "hourly_usd": _hourly,
                    "latency_ms": _latency}


def _instance(instance: object) -> InstanceType:
    if not isinstance(instance, InstanceType):
        raise ParameterError("instance", "an InstanceType", instance)
    return instance


def _ceil_exact(x: float) -> int:
    """ceil(x), except that an x within float error (1e-9 relative) of an integer is that integer.

    0.7 and 100 are not exact binary fractions, so 70 / (100 × 0.7) may come out as
    1.0000000000000002; a plain ceil would then buy a second instance for an exact fit.
    """
    nearest = round(x)
    if nearest >= 1 and math.isclose(x, nearest, rel_tol=1e-9):
        return int(nearest)
    return max(1, math.ceil(x))


def instances_for_utilization(
    request_rate_rps: float, throughput_rps: float, utilization_target: float = 0.7
) -> int:
    """Return ceil(rate / (throughput × target)): the fewest instances each below the target.

    An exact fit stays exact (700 rps at 100 rps × 0.7 is 10 instances, not 11), and at least one
    instance is always returned. Rate in (0, 10^8], throughput in [10^-9, 10^9] (the cost
    chapter's throughput × gain), target in [0.01, 1]: the count stays below 10^20.
    """
    request_rate_rps = _rate(request_rate_rps)
    throughput_rps = in_range("throughput_rps", throughput_rps, 1e-9, 1e9)
    utilization_target = _target(utilization_target)
    return _ceil_exact(request_rate_rps / (throughput_rps * utilization_target))


def slots_per_instance(instance: InstanceType) -> int:
    """Return k = round(throughput × latency), at least 1: requests one instance holds at once."""
    instance = _instance(instance)
    return max(1, round(instance.throughput_rps * instance.latency_ms / 1000.0))


def _check_fleet(instance: InstanceType, count: int) -> None:
    """Raise InfeasibleError if ``count`` instances are more than this module sizes or models."""
    if count > MAX_INSTANCES:
        raise InfeasibleError(f"{instance.name}: needs {count:,} instances, more than the "
                              f"{MAX_INSTANCES:,} sized here")
    slots = slots_per_instance(instance)
    if count * slots > MAX_SERVERS:
        raise InfeasibleError(
            f"{instance.name}: {count:,} instances of {slots:,} slots are more than the "
            f"{MAX_SERVERS:,} servers the M/M/c model evaluates")


def fleet_queue(instance: InstanceType, count: int, request_rate_rps: float) -> MMc:
    """Return the M/M/(count·k) queue that models ``count`` instances at ``request_rate_rps``.

    ``count`` in [1, 10^6]; the rate must be below the fleet's capacity, count × throughput.
    """
    instance = _instance(instance)
    count = integer_in_range("count", count, 1, MAX_INSTANCES)
    request_rate_rps = _rate(request_rate_rps)
    _check_fleet(instance, count)
    capacity_rps = count * instance.throughput_rps
    if request_rate_rps >= capacity_rps:
        raise UnstableQueueError(
            "request_rate_rps", f"< count × throughput_rps = {capacity_rps:g} (at or above "
            "the fleet's capacity the queue is unstable)", request_rate_rps)
    slots = slots_per_instance(instance)
    return MMc(request_rate_rps, instance.throughput_rps / slots, count * slots)


def _model(model: object) -> FleetLatency:
    if not isinstance(model, FleetLatency):
        raise ParameterError("model", "a FleetLatency (perfcost.fleet_latency)", model)
    return model


def fleet_response_quantile_ms(
    instance: InstanceType, count: int, request_rate_rps: float, quantile: float = 0.95,
    *, model: FleetLatency = FLEET,
) -> float:
    """Return the fleet's response-time quantile in milliseconds in ``model``.

    The default, :data:`FLEET`, is per-instance queues behind a least-outstanding-requests
    balancer; :data:`MMC` is the M/M/c model (one shared queue, exponential service).
    """
    quantile = _quantile(quantile)
    model = _model(model)
    queue = fleet_queue(instance, count, request_rate_rps)
    return 1000.0 * _quantile_s(model, count, queue.service_rate, queue.arrival_rate, quantile,
                                slots_per_instance(instance))


def _quantile_s(model: FleetLatency, instances: int, slot_rate: float, arrival_rate: float,
                quantile: float, slots: int = 1) -> float:
    """The quantile in seconds; the M/M/c case by its exact formula (queueing.MMc)."""
    if model == MMC:
        return MMc(arrival_rate, slot_rate, instances * slots).response_quantile(quantile)
    return model.response_quantile_s(instances, slots, slot_rate, arrival_rate, quantile)


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

    Raises
    ------
    InfeasibleError
        If the instance's own latency exceeds the SLO (no count can fix that), the fleet
        needs more than ``MAX_INSTANCES`` instances, or it would be 100% busy (target 1).
    """
    instance = _instance(instance)
    request_rate_rps = _rate(request_rate_rps)
    latency_slo_ms = _latency("latency_slo_ms", latency_slo_ms)
    model = _model(model)
    count = instances_for_utilization(request_rate_rps, instance.throughput_rps, utilization_target)
    if instance.latency_ms > latency_slo_ms:
        raise InfeasibleError(
            f"{instance.name}: latency {instance.latency_ms:g} ms exceeds the SLO "
            f"{latency_slo_ms:g} ms"
        )
    _check_fleet(instance, count)
    if request_rate_rps >= count * instance.throughput_rps:  # a target of 1 and an exact fit
        raise InfeasibleError(
            f"{instance.name}: {count:,} instances would be 100% busy, so the queue grows "
            "without bound; lower utilization_target")
    return _sizing(instance, count, request_rate_rps, model)


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
    slot_rate = instance.throughput_rps / slots
    floor_ms = 1000.0 * model.idle_quantile_s(slot_rate, quantile)
    if floor_ms >= latency_slo_ms:  # one service time alone: no count removes it
        raise InfeasibleError(
            f"{instance.name}: even an idle fleet has a p{100 * quantile:g} of {floor_ms:.3g} ms "
            f"({model.label}), above the SLO {latency_slo_ms:g} ms")
    smallest_stable = math.floor(request_rate_rps / instance.throughput_rps) + 1
    largest = min(MAX_INSTANCES, MAX_SERVERS // slots)

    def meets(count: int) -> bool:
        return fleet_response_quantile_ms(instance, count, request_rate_rps, quantile,
                                          model=model) <= latency_slo_ms

    count = _count_meeting(meets, max(smallest_stable, at_least), largest)
    if count is None:
        raise InfeasibleError(
            f"{instance.name}: more than {largest:,} instances (the most sized here) would be "
            f"needed for a p{100 * quantile:g} within {latency_slo_ms:g} ms")
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
    instance = _instance(instance)
    request_rate_rps = _rate(request_rate_rps)
    latency_slo_ms = _latency("latency_slo_ms", latency_slo_ms)
    quantile = _quantile(quantile)
    model = _model(model)
    count = _fewest_meeting_quantile(instance, request_rate_rps, latency_slo_ms, quantile, model)
    return _sizing(instance, count, request_rate_rps, model)


@dataclass(frozen=True)
class UtilizationRule:
    """The rule of thumb as a sizer: ``UtilizationRule(0.7)(instance, rate_rps, slo_ms)``.

    Every sizer is called the same way, (instance, request_rate_rps, latency_slo_ms), and carries
    its own settings, so a table or curve cannot drop one. The p95 is reported in ``model``.
    """

    target: float = 0.7
    model: FleetLatency = FLEET

    def __post_init__(self):
        object.__setattr__(self, "target", _target(self.target, "target"))
        object.__setattr__(self, "model", _model(self.model))

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
        object.__setattr__(self, "quantile", _quantile(self.quantile))
        object.__setattr__(self, "model", _model(self.model))

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
        instance = _instance(instance)
        request_rate_rps = _rate(request_rate_rps)
        latency_slo_ms = _latency("latency_slo_ms", latency_slo_ms)
        if instance.latency_ms > latency_slo_ms:  # no count makes one request faster
            raise InfeasibleError(f"{instance.name}: latency {instance.latency_ms:g} ms "
                                  f"exceeds the SLO {latency_slo_ms:g} ms")
        # Keep each instance under the target (an exact fit stays exact), then add instances
        # until the p95 meets the SLO; the search starts at the rule's count, or one above it
        # when the rule's fleet would be 100% busy (a target of 1 and an exact fit).
        rule = instances_for_utilization(request_rate_rps, instance.throughput_rps,
                                         self.target)
        _check_fleet(instance, rule)
        count = _fewest_meeting_quantile(instance, request_rate_rps, latency_slo_ms, 0.95,
                                         self.model, rule)
        return _sizing(instance, count, request_rate_rps, self.model)

    @property
    def label(self) -> str:
        """e.g. "70% rule, raised to meet the p95"."""
        return f"{self.target:.0%} rule, raised to meet the p95"


Sizer = Callable[[InstanceType, float, float], Sizing]


def _options(options: Iterable[InstanceType]) -> list[InstanceType]:
    valid = f"a non-empty sequence of at most {MAX_OPTIONS:,} InstanceType"
    try:
        chosen = list(itertools.islice(options, MAX_OPTIONS + 1))
    except TypeError:  # not iterable
        raise ParameterError("options", valid, options) from None
    if (not chosen or len(chosen) > MAX_OPTIONS
            or not all(isinstance(o, InstanceType) for o in chosen)):
        raise ParameterError("options", valid, chosen)
    return chosen


def _sizer(size: object) -> Sizer:
    if not callable(size):
        raise ParameterError("size", "a sizer such as UtilizationRule(0.7)", size)
    return size


def _points(name: str, values: object, limit: int = MAX_CURVE_POINTS) -> list:
    """``values`` as a list of at most ``limit`` items (a str or a non-iterable is refused)."""
    valid = f"a non-empty sequence of at most {limit:,} numbers"
    if isinstance(values, str | bytes):
        raise ParameterError(name, valid, values)
    try:
        chosen = list(itertools.islice(values, limit + 1))
    except TypeError:
        raise ParameterError(name, valid, values) from None
    if not chosen or len(chosen) > limit:
        raise ParameterError(name, valid, f"{len(chosen):,}+ values" if chosen else chosen)
    return chosen


def sizing_table(
    options: Iterable[InstanceType],
    request_rate_rps: float,
    latency_slo_ms: float,
    size: Sizer = UtilizationRule(),
) -> pd.DataFrame:
    """Size every option with the sizer ``size`` and return one row per option, cheapest first.

    ``size`` is called as ``size(option, request_rate_rps, latency_slo_ms)`` and carries its own
    settings (``UtilizationRule(0.5)``, ``QuantileRule(0.99, model)``). Infeasible options stay
    in the table with ``feasible`` False and the ``reason``.
    """
    size = _sizer(size)
    rows = []
    for option in _options(options):
        try:
            fleet = size(option, request_rate_rps, latency_slo_ms)
        except InfeasibleError as infeasible:
            rows.append({"instance": option.name, "feasible": False, "reason": str(infeasible)})
            continue
        rows.append({
            "instance": option.name,
            "feasible": True,
            "count": fleet.count,
            "hourly_usd": fleet.hourly_usd,
            "monthly_usd": fleet.monthly_usd,
            "utilization": fleet.utilization,
            "p95_ms": fleet.p95_ms,
            "reason": "",
        })
    table = pd.DataFrame(rows)
    for column in ("count", "hourly_usd", "monthly_usd", "utilization", "p95_ms"):
        if column not in table:  # no option is feasible
            table[column] = math.nan
    return table.sort_values(["feasible", "hourly_usd"], ascending=[False, True], kind="stable")


def cheapest(options: Iterable[InstanceType], request_rate_rps: float, latency_slo_ms: float,
             size: Sizer) -> Sizing:
    """Return the cheapest fleet that the sizer ``size`` finds among the options.

    Options the sizer finds infeasible are excluded; if none is left, InfeasibleError listing
    why. Ties in hourly price go to fewer instances, then lower latency, then the name.
    """
    size = _sizer(size)
    fleets, reasons = [], []
    for option in _options(options):
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
    """
    rule = SLORule(_target(utilization_target), _model(model))
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
                    QuantileRule(_quantile(quantile), _model(model)))


def with_spares(fleet: Sizing, spares: int = 1) -> Sizing:
    """Return ``fleet`` with ``spares`` more instances (N+1 redundancy for ``spares=1``).

    The fleet with its spares may hold at most ``MAX_INSTANCES`` instances; its p95 is in the
    model the fleet was sized with.
    """
    if not isinstance(fleet, Sizing):
        raise ParameterError("fleet", "a Sizing (from size_fleet and the like)", fleet)
    spares = integer_in_range("spares", spares, 0, MAX_INSTANCES - fleet.count)
    _check_fleet(fleet.instance, fleet.count + spares)
    return _sizing(fleet.instance, fleet.count + spares, fleet.request_rate_rps, fleet.model)


def quantile_curves(
    service_ms: float,
    fleet_sizes: Iterable[int],
    utilizations: Iterable[float],
    quantile: float = 0.95,
    *,
    model: FleetLatency = FLEET,
    slots: int = 1,
) -> pd.DataFrame:
    """Return the response-time quantile in ``model`` against utilisation for each fleet size.

    Each instance has ``slots`` slots (1 to 10^4), each with mean service time ``service_ms``
    in [10^-6, 60,000];
    fleet sizes are whole numbers in [1, 10^9], utilisations in (0, 1), and the table holds at
    most ``MAX_CURVE_POINTS`` rows. Columns: ``fleet`` (a label), ``servers``, ``utilization``,
    ``p95_ms`` (the ``quantile`` response time).
    """
    service_rate = 1000.0 / in_range("service_ms", service_ms, 1e-6, MAX_LATENCY_MS)
    quantile = _quantile(quantile)
    model = _model(model)
    slots = integer_in_range("slots", slots, 1, MAX_SLOTS)
    fleet_sizes = [integer_in_range("fleet_sizes", n, 1, MAX_SERVERS // slots)
                   for n in _points("fleet_sizes", fleet_sizes)]
    utilizations = [fraction("utilizations", rho, low_open=True, high_open=True)
                    for rho in _points("utilizations", utilizations)]
    if len(fleet_sizes) * len(utilizations) > MAX_CURVE_POINTS:
        raise ParameterError("fleet_sizes × utilizations", f"at most {MAX_CURVE_POINTS:,} "
                             "points", len(fleet_sizes) * len(utilizations))
    rows = []
    for servers in fleet_sizes:
        capacity = servers * slots * service_rate
        for rho in utilizations:
            # ρ within an ulp of 1 can round cμρ up to cμ: keep the arrival rate just below it.
            arrival_rate = min(rho * capacity, math.nextafter(capacity, 0.0))
            rows.append({
                "fleet": f"{servers} instance{'s' if servers > 1 else ''}",
                "servers": servers,
                "utilization": rho,
                "p95_ms": 1000.0 * _quantile_s(model, servers, service_rate, arrival_rate,
                                               quantile, slots),
            })
    return pd.DataFrame(rows)


def cost_curves(
    options: Iterable[InstanceType],
    request_rates_rps: Iterable[float],
    latency_slo_ms: float,
    size: Sizer = UtilizationRule(),
) -> pd.DataFrame:
    """Return each feasible option's fleet cost at each request rate (long format), sized by
    the sizer ``size`` (see :func:`sizing_table`).

    Columns: ``request_rate_rps``, ``instance``, ``count``, ``monthly_usd``, ``cheapest`` (True on
    the row of the cheapest option at that rate). At most ``MAX_CURVE_POINTS`` rates.
    """
    options = _options(options)
    rates = [_rate(rate, "request_rates_rps") for rate in
             _points("request_rates_rps", request_rates_rps)]
    tables = []
    if len(options) * len(rates) > MAX_CURVE_SIZINGS:
        raise ParameterError("len(options) * len(request_rates_rps)",
                             f"at most {MAX_CURVE_SIZINGS:,} sizings", len(options) * len(rates))
    for rate in rates:
        table = sizing_table(options, rate, latency_slo_ms, size)
        table = table[table["feasible"]].assign(request_rate_rps=float(rate))
        table["cheapest"] = table["hourly_usd"] == table["hourly_usd"].min()
        tables.append(table[["request_rate_rps", "instance", "count", "monthly_usd", "cheapest"]])
    return pd.concat(tables, ignore_index=True)


def cheapest_above_rps(curves: pd.DataFrame, instance_name: str) -> float:
    """Return the highest request rate in ``curves`` at which ``instance_name`` is *not* the
    cheapest: above it, it is the cheapest at every rate the curves hold (0 if it always is)."""
    columns = {"instance", "cheapest", "request_rate_rps"}
    if not isinstance(curves, pd.DataFrame) or not columns <= set(curves.columns):
        raise ParameterError("curves", "a table from cost_curves", type(curves).__name__)
    if not isinstance(instance_name, str):
        raise ParameterError("instance_name", "an instance name (text)", instance_name)
    mine = curves[curves["instance"] == instance_name]
    if mine.empty:
        raise ParameterError("instance_name", f"one of {sorted(set(curves['instance']))}",
                             instance_name)
    losing = mine.loc[~mine["cheapest"], "request_rate_rps"]
    return float(losing.max()) if len(losing) else 0.0


def simulated_response_quantile_ms(
    instance: InstanceType,
    count: int,
    request_rate_rps: float,
    *,
    quantile: float = 0.95,
    service_cv: float = 1.0,
    requests: int = 200_000,
    seed: int = 0,
    routing: str = "shared_queue",
) -> float:
    """Simulate the fleet and return its response-time quantile in milliseconds.

    Poisson arrivals at ``request_rate_rps`` are routed to ``count`` instances by ``routing``
    (:func:`perfcost.fcfs_simulation.routed_response_times`; ``shared_queue``, the default, is the
    M/M/c model's one queue for every slot); each instance serves its requests first come first
    served on its k slots, each with mean service time k / throughput; service times
    are gamma distributed with coefficient of variation ``service_cv`` (1: exponential, the
    M/M/c model itself; 0, or below 10^-6: deterministic, closer to a real inference server).
    The first 10% of requests are dropped as warm-up.

    Ranges: rate in [10^-3, 10^6] (the traffic generator's), ``service_cv`` in [0, 100],
    ``requests`` in [1,000, 5 × 10^6], ``seed`` in [0, 2^32 - 1], and at most 10^6 servers
    (count × k) simulated.
    """
    instance = _instance(instance)
    count = integer_in_range("count", count, 1, MAX_INSTANCES)
    request_rate_rps = in_range("request_rate_rps", request_rate_rps, 1e-3, 1e6)
    service_cv = in_range("service_cv", service_cv, 0.0, MAX_CV)
    quantile = _quantile(quantile)
    requests = integer_in_range("requests", requests, 1000, MAX_SIMULATED_REQUESTS)
    seed = seed_value(seed)
    slots = slots_per_instance(instance)
    if count * slots > MAX_SIMULATED_SERVERS:
        raise ParameterError("count", f"at most {MAX_SIMULATED_SERVERS // slots:,} for "
                             f"{instance.name} ({slots:,} slots each; the simulation holds at "
                             f"most {MAX_SIMULATED_SERVERS:,} servers)", count)
    queue = fleet_queue(instance, count, request_rate_rps)
    arrivals_s = poisson_arrival_times(queue.arrival_rate, requests, seed=seed)
    mean_s = 1.0 / queue.service_rate
    if service_cv < 1e-6:  # gamma(1 / cv²) would overflow; at this cv it is a constant
        services_s = np.full(requests, mean_s)
    else:
        shape = 1.0 / service_cv**2
        rng = np.random.default_rng(seed + 1)
        services_s = rng.gamma(shape, mean_s / shape, size=requests)
    response_s = routed_response_times(arrivals_s, services_s, count, slots, routing, seed=seed)
    return 1000.0 * float(np.quantile(response_s[requests // 10:], quantile))


@dataclass(frozen=True)
class CapacityQuestion:
    """Chapter 1's inputs, validated on construction; each field is a notebook parameter.

    A bad value raises ParameterError naming the notebook parameter (``cpu_throughput_rps``,
    not ``throughput_rps``) and its valid range.
    """

    request_rate_rps: float  # predicted average request rate, (0, 10^6]
    latency_slo_ms: float  # the latency SLO, read as a p95 bound, (0, 60,000]
    utilization_target: float  # the rule of thumb's per-instance target, in [0.01, 1]
    peak_to_average: float  # peak request rate / average request rate, [1, 100]
    cpu_name: str  # one line, 1 to 64 characters
    cpu_throughput_rps: float  # [10^-3, 10^6]
    cpu_hourly_usd: float  # (0, 1,000]
    cpu_latency_ms: float  # (0, 60,000]
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


_QUESTION_CHECKS = {
    "request_rate_rps": lambda name, value: positive(name, value, maximum=MAX_QUESTION_RATE_RPS),
    "latency_slo_ms": _latency,
    "utilization_target": lambda name, value: _target(value),
    "peak_to_average": lambda name, value: in_range(name, value, 1.0, MAX_PEAK_TO_AVERAGE),
    **{f"{kind}_{field}": check for kind in ("cpu", "gpu")
       for field, check in _INSTANCE_CHECKS.items()},
}


def max_utilization_for_quantile(
    service_ms: float, servers: int, latency_slo_ms: float, quantile: float = 0.95,
    *, model: FleetLatency = FLEET, slots: int = 1,
) -> float:
    """Return the highest utilisation at which ``servers`` instances still meet the SLO.

    Each instance has ``slots`` slots (1 to 10^4), each with mean service time ``service_ms`` in
    [10^-6, 60,000], and latency is modelled by ``model`` (:data:`FLEET` by default);
    ``servers`` (instances) × slots at most 10^9. Found by bisection on ρ in (0, 1) (60 steps),
    since the response-time quantile rises with ρ. Returns 0.0 if even an idle fleet misses the
    SLO.
    """
    service_rate = 1000.0 / in_range("service_ms", service_ms, 1e-6, MAX_LATENCY_MS)
    slots = integer_in_range("slots", slots, 1, MAX_SLOTS)
    servers = integer_in_range("servers", servers, 1, MAX_SERVERS // slots)
    latency_slo_ms = _latency("latency_slo_ms", latency_slo_ms)
    quantile = _quantile(quantile)
    model = _model(model)
    capacity = servers * slots * service_rate

    def quantile_ms(rho: float) -> float:
        return 1000.0 * _quantile_s(model, servers, service_rate, rho * capacity, quantile,
                                    slots)

    low, high = 1e-9, 1.0 - 1e-9
    if quantile_ms(low) > latency_slo_ms:
        return 0.0
    if quantile_ms(high) <= latency_slo_ms:
        return high
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if quantile_ms(middle) <= latency_slo_ms else (low, middle)
    return low
