"""Capacity sizing: how many instances of which type serve a request rate within a latency SLO.

Two ways to count instances, both used by chapter 1:

* the rule of thumb, ``count = ceil(rate / (throughput × utilization_target))``, which keeps every
  instance below a utilisation target (70% by default) and ignores the queue;
* queueing-aware sizing, the smallest count whose p95 response time meets the SLO in an M/M/c
  model of the fleet (:mod:`perfcost.queueing`).

The model of one instance: it sustains ``throughput_rps`` with a per-request ``latency_ms``. By
Little's law it then holds k = throughput × latency requests in flight (its batch or thread
concurrency); we round k to a whole number of *slots*, at least 1, and give each slot the rate
throughput / k, so an instance's capacity is exactly ``throughput_rps`` and its mean service time
is close to ``latency_ms``. A fleet of n instances is an M/M/(n·k) queue. Exponential service is
pessimistic for inference, whose service times vary less; chapter 1 measures by how much.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from perfcost.queueing import MMc
from perfcost.simulation import fcfs_response_times
from perfcost.traffic import poisson_arrival_times
from perfcost.validation import (
    ParameterError,
    at_least,
    fraction,
    integer_at_least,
    non_negative,
    positive,
)

__all__ = [
    "HOURS_PER_MONTH",
    "CapacityQuestion",
    "InfeasibleError",
    "InstanceType",
    "Sizing",
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


class InfeasibleError(ValueError):
    """No instance count of an instance type (or no type at all) can meet the latency SLO."""


@dataclass(frozen=True)
class InstanceType:
    """One way to serve the model: an instance type and what it does on this workload.

    Parameters
    ----------
    name : str
        A label, e.g. ``"g4dn.xlarge"``.
    throughput_rps : float
        Requests per second one instance sustains at full load, > 0.
    hourly_usd : float
        Price of one instance for one hour, > 0.
    latency_ms : float
        Time to serve one request on an otherwise idle instance, > 0.
    """

    name: str
    throughput_rps: float
    hourly_usd: float
    latency_ms: float

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ParameterError("name", "a non-empty string", self.name)
        for field in ("throughput_rps", "hourly_usd", "latency_ms"):
            object.__setattr__(self, field, positive(field, getattr(self, field)))


@dataclass(frozen=True)
class Sizing:
    """A fleet: ``count`` instances of ``instance`` and what it costs and does at a request rate.

    ``utilization`` is the busy fraction at the request rate (rate / (count × throughput));
    ``p95_ms`` is the fleet's p95 response time in the M/M/c model (see the module docstring).
    """

    instance: InstanceType
    count: int
    request_rate_rps: float
    utilization: float
    p95_ms: float

    @property
    def hourly_usd(self) -> float:
        """The fleet's price per hour."""
        return self.count * self.instance.hourly_usd

    @property
    def monthly_usd(self) -> float:
        """The fleet's price per 730-hour month."""
        return self.hourly_usd * HOURS_PER_MONTH


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
    instance is always returned.
    """
    request_rate_rps = positive("request_rate_rps", request_rate_rps)
    throughput_rps = positive("throughput_rps", throughput_rps)
    utilization_target = fraction("utilization_target", utilization_target, low_open=True)
    return _ceil_exact(request_rate_rps / (throughput_rps * utilization_target))


def slots_per_instance(instance: InstanceType) -> int:
    """Return k = round(throughput × latency), at least 1: requests one instance holds at once."""
    return max(1, round(instance.throughput_rps * instance.latency_ms / 1000.0))


def fleet_queue(instance: InstanceType, count: int, request_rate_rps: float) -> MMc:
    """Return the M/M/(count·k) queue that models ``count`` instances at ``request_rate_rps``."""
    count = integer_at_least("count", count, 1)
    slots = slots_per_instance(instance)
    return MMc(request_rate_rps, instance.throughput_rps / slots, count * slots)


def fleet_response_quantile_ms(
    instance: InstanceType, count: int, request_rate_rps: float, quantile: float = 0.95
) -> float:
    """Return the fleet's response-time quantile in milliseconds, in the M/M/c model."""
    return 1000.0 * fleet_queue(instance, count, request_rate_rps).response_quantile(quantile)


def _sizing(instance: InstanceType, count: int, request_rate_rps: float) -> Sizing:
    return Sizing(
        instance=instance,
        count=count,
        request_rate_rps=request_rate_rps,
        utilization=request_rate_rps / (count * instance.throughput_rps),
        p95_ms=fleet_response_quantile_ms(instance, count, request_rate_rps, 0.95),
    )


def size_fleet(
    instance: InstanceType,
    request_rate_rps: float,
    latency_slo_ms: float,
    *,
    utilization_target: float = 0.7,
) -> Sizing:
    """Size a fleet by the utilisation rule: ceil(rate / (throughput × target)) instances.

    Raises
    ------
    InfeasibleError
        If the instance's own latency exceeds the SLO: no count can fix that.
    """
    latency_slo_ms = positive("latency_slo_ms", latency_slo_ms)
    count = instances_for_utilization(request_rate_rps, instance.throughput_rps, utilization_target)
    if instance.latency_ms > latency_slo_ms:
        raise InfeasibleError(
            f"{instance.name}: latency {instance.latency_ms:g} ms exceeds the SLO "
            f"{latency_slo_ms:g} ms"
        )
    return _sizing(instance, count, float(request_rate_rps))


def _count_meeting(meets: Callable[[int], bool], smallest: int) -> int:
    """Return the least n >= smallest with meets(n), for meets monotone and true eventually."""
    if meets(smallest):
        return smallest
    low, high = smallest, smallest + 1
    while not meets(high):  # gallop: double the step until the SLO is met
        low, high = high, high + 2 * (high - low)
    while high - low > 1:  # then bisect: meets(low) is False, meets(high) is True
        middle = (low + high) // 2
        low, high = (low, middle) if meets(middle) else (middle, high)
    return high


def size_fleet_for_quantile(
    instance: InstanceType,
    request_rate_rps: float,
    latency_slo_ms: float,
    *,
    quantile: float = 0.95,
) -> Sizing:
    """Size a fleet as the fewest instances whose ``quantile`` response time meets the SLO.

    The response-time quantile falls as instances are added, towards the quantile of one service
    time, -ln(1 - q) / μ_slot; an SLO below that limit cannot be met at any count.

    Raises
    ------
    InfeasibleError
        If the SLO is at or below that limit.
    """
    request_rate_rps = positive("request_rate_rps", request_rate_rps)
    latency_slo_ms = positive("latency_slo_ms", latency_slo_ms)
    quantile = fraction("quantile", quantile, low_open=True, high_open=True)
    slot_rate = instance.throughput_rps / slots_per_instance(instance)
    floor_ms = 1000.0 * -math.log1p(-quantile) / slot_rate
    if floor_ms >= latency_slo_ms:
        raise InfeasibleError(
            f"{instance.name}: even an idle fleet has a p{100 * quantile:g} of {floor_ms:.3g} ms "
            f"in the M/M/c model, above the SLO {latency_slo_ms:g} ms"
        )
    smallest_stable = math.floor(request_rate_rps / instance.throughput_rps) + 1

    def meets(count: int) -> bool:
        return (
            fleet_response_quantile_ms(instance, count, request_rate_rps, quantile)
            <= latency_slo_ms
        )

    return _sizing(instance, _count_meeting(meets, smallest_stable), request_rate_rps)


Sizer = Callable[..., Sizing]


def _options(options: Iterable[InstanceType]) -> list[InstanceType]:
    options = list(options)
    if not options or not all(isinstance(o, InstanceType) for o in options):
        raise ParameterError("options", "a non-empty sequence of InstanceType", options)
    return options


def sizing_table(
    options: Iterable[InstanceType],
    request_rate_rps: float,
    latency_slo_ms: float,
    size: Sizer = size_fleet,
    **size_options,
) -> pd.DataFrame:
    """Size every option with ``size`` and return one row per option, cheapest first.

    Infeasible options stay in the table with ``feasible`` False and the ``reason``.
    """
    rows = []
    for option in _options(options):
        try:
            fleet = size(option, request_rate_rps, latency_slo_ms, **size_options)
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
    if "hourly_usd" not in table:
        table["hourly_usd"] = math.nan
    return table.sort_values(["feasible", "hourly_usd"], ascending=[False, True], kind="stable")


def _cheapest(
    options: Iterable[InstanceType], request_rate_rps: float, latency_slo_ms: float,
    size: Sizer, **size_options,
) -> Sizing:
    fleets, reasons = [], []
    for option in _options(options):
        try:
            fleets.append(size(option, request_rate_rps, latency_slo_ms, **size_options))
        except InfeasibleError as infeasible:
            reasons.append(str(infeasible))
    if not fleets:
        raise InfeasibleError("no instance type can meet the SLO: " + "; ".join(reasons))
    # Cheapest per hour; ties go to fewer instances, then lower latency, then the name.
    return min(fleets, key=lambda f: (f.hourly_usd, f.count, f.instance.latency_ms,
                                      f.instance.name))


def cheapest_instance(
    options: Iterable[InstanceType],
    request_rate_rps: float,
    latency_slo_ms: float,
    utilization_target: float = 0.7,
) -> Sizing:
    """Return the cheapest fleet by the utilisation rule among the options that meet the SLO.

    Options whose latency exceeds the SLO are excluded; if none is left, InfeasibleError.
    Ties in hourly price go to fewer instances, then lower latency, then the name.
    """
    return _cheapest(options, request_rate_rps, latency_slo_ms, size_fleet,
                     utilization_target=utilization_target)


def cheapest_instance_for_quantile(
    options: Iterable[InstanceType],
    request_rate_rps: float,
    latency_slo_ms: float,
    quantile: float = 0.95,
) -> Sizing:
    """Return the cheapest fleet whose ``quantile`` response time meets the SLO (M/M/c model)."""
    return _cheapest(options, request_rate_rps, latency_slo_ms, size_fleet_for_quantile,
                     quantile=quantile)


def with_spares(fleet: Sizing, spares: int = 1) -> Sizing:
    """Return ``fleet`` with ``spares`` more instances (N+1 redundancy for ``spares=1``)."""
    spares = integer_at_least("spares", spares, 0)
    return _sizing(fleet.instance, fleet.count + spares, fleet.request_rate_rps)


def quantile_curves(
    service_ms: float,
    fleet_sizes: Iterable[int],
    utilizations: Iterable[float],
    quantile: float = 0.95,
) -> pd.DataFrame:
    """Return the M/M/c response-time quantile against utilisation for each fleet size.

    Each instance is one server with mean service time ``service_ms``. Columns: ``fleet``
    (a label), ``servers``, ``utilization``, ``p95_ms`` (the ``quantile`` response time).
    """
    service_rate = 1000.0 / positive("service_ms", service_ms)
    rows = []
    for servers in fleet_sizes:
        for rho in utilizations:
            rho = fraction("utilization", rho, low_open=True, high_open=True)
            queue = MMc(rho * servers * service_rate, service_rate, servers)
            rows.append({
                "fleet": f"{servers} instance{'s' if servers > 1 else ''}",
                "servers": servers,
                "utilization": rho,
                "p95_ms": 1000.0 * queue.response_quantile(quantile),
            })
    return pd.DataFrame(rows)


def cost_curves(
    options: Iterable[InstanceType],
    request_rates_rps: Iterable[float],
    latency_slo_ms: float,
    size: Sizer = size_fleet,
    **size_options,
) -> pd.DataFrame:
    """Return each feasible option's fleet cost at each request rate (long format).

    Columns: ``request_rate_rps``, ``instance``, ``count``, ``monthly_usd``, ``cheapest`` (True on
    the row of the cheapest option at that rate).
    """
    options = _options(options)
    tables = []
    for rate in request_rates_rps:
        table = sizing_table(options, rate, latency_slo_ms, size, **size_options)
        table = table[table["feasible"]].assign(request_rate_rps=float(rate))
        table["cheapest"] = table["hourly_usd"] == table["hourly_usd"].min()
        tables.append(table[["request_rate_rps", "instance", "count", "monthly_usd", "cheapest"]])
    return pd.concat(tables, ignore_index=True)


def cheapest_above_rps(curves: pd.DataFrame, instance_name: str) -> float:
    """Return the highest request rate in ``curves`` at which ``instance_name`` is *not* the
    cheapest: above it, it is the cheapest at every rate the curves hold (0 if it always is)."""
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
) -> float:
    """Simulate the fleet model and return its response-time quantile in milliseconds.

    Poisson arrivals at ``request_rate_rps`` are served first come first served by the
    count × k slots of the M/M/c model, each with mean service time k / throughput; service times
    are gamma distributed with coefficient of variation ``service_cv`` (1: exponential, the
    M/M/c model itself; 0: deterministic, closer to a real inference server). The first 10% of
    requests are dropped as warm-up.
    """
    count = integer_at_least("count", count, 1)
    service_cv = non_negative("service_cv", service_cv)
    quantile = fraction("quantile", quantile, low_open=True, high_open=True)
    requests = integer_at_least("requests", requests, 1000)
    queue = fleet_queue(instance, count, request_rate_rps)
    arrivals_s = poisson_arrival_times(queue.arrival_rate, requests, seed=seed)
    mean_s = 1.0 / queue.service_rate
    if service_cv == 0:
        services_s = np.full(requests, mean_s)
    else:
        shape = 1.0 / service_cv**2
        rng = np.random.default_rng(seed + 1)
        services_s = rng.gamma(shape, mean_s / shape, size=requests)
    response_s = fcfs_response_times(arrivals_s, services_s, queue.servers)
    return 1000.0 * float(np.quantile(response_s[requests // 10:], quantile))


@dataclass(frozen=True)
class CapacityQuestion:
    """Chapter 1's inputs, validated on construction; each field is a notebook parameter.

    A bad value raises ParameterError naming the notebook parameter (``cpu_throughput_rps``,
    not ``throughput_rps``) and its valid range.
    """

    request_rate_rps: float  # predicted average request rate
    latency_slo_ms: float  # the latency SLO, read as a p95 bound
    utilization_target: float  # the rule of thumb's per-instance target, in (0, 1]
    peak_to_average: float  # peak request rate / average request rate, >= 1
    cpu_name: str
    cpu_throughput_rps: float
    cpu_hourly_usd: float
    cpu_latency_ms: float
    gpu_name: str
    gpu_throughput_rps: float
    gpu_hourly_usd: float
    gpu_latency_ms: float

    def __post_init__(self):
        for name in ("request_rate_rps", "latency_slo_ms", "cpu_throughput_rps", "cpu_hourly_usd",
                     "cpu_latency_ms", "gpu_throughput_rps", "gpu_hourly_usd", "gpu_latency_ms"):
            object.__setattr__(self, name, positive(name, getattr(self, name)))
        object.__setattr__(self, "utilization_target", fraction(
            "utilization_target", self.utilization_target, low_open=True))
        object.__setattr__(self, "peak_to_average", at_least(
            "peak_to_average", self.peak_to_average, 1.0))
        for name in ("cpu_name", "gpu_name"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ParameterError(name, "a non-empty string", getattr(self, name))

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


def max_utilization_for_quantile(
    service_ms: float, servers: int, latency_slo_ms: float, quantile: float = 0.95
) -> float:
    """Return the highest utilisation at which ``servers`` M/M/c servers still meet the SLO.

    Each server has mean service time ``service_ms``; found by bisection on ρ in (0, 1), since
    the response-time quantile rises with ρ. Returns 0.0 if even an idle fleet misses the SLO.
    """
    service_rate = 1000.0 / positive("service_ms", service_ms)
    servers = integer_at_least("servers", servers, 1)
    latency_slo_ms = positive("latency_slo_ms", latency_slo_ms)
    quantile = fraction("quantile", quantile, low_open=True, high_open=True)

    def quantile_ms(rho: float) -> float:
        queue = MMc(rho * servers * service_rate, service_rate, servers)
        return 1000.0 * queue.response_quantile(quantile)

    low, high = 1e-9, 1.0 - 1e-9
    if quantile_ms(low) > latency_slo_ms:
        return 0.0
    if quantile_ms(high) <= latency_slo_ms:
        return high
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if quantile_ms(middle) <= latency_slo_ms else (low, middle)
    return low
