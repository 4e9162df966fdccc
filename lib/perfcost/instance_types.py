"""What is sized: an instance type, a fleet of it, and the valid range of every sizing argument.

One instance of an :class:`InstanceType` sustains ``throughput_rps`` with a per-request
``latency_ms``. By Little's law it then holds k = throughput × latency requests in flight (its
batch or thread concurrency); :func:`slots_per_instance` rounds k to a whole number of *slots*,
at least 1, each of rate throughput / k, so an instance's capacity is exactly ``throughput_rps``
and its mean service time is close to ``latency_ms``. A :class:`Sizing` is ``count`` instances of
one type at a request rate, with what they cost and their p95 in a latency model
(:class:`perfcost.fleet_latency.FleetLatency`).

Valid ranges, checked before any work (a bad value raises ParameterError naming the argument):

* request rates: (0, 10^8] requests/s for sizing (:data:`MAX_REQUEST_RATE_RPS`: the chapter's
  largest peak, 10^6 average × 100);
* an instance's ``throughput_rps`` in [10^-3, 10^6], ``latency_ms`` in (0, 60,000] (a minute),
  ``hourly_usd`` in (0, 1,000];
* ``latency_slo_ms`` in (0, 60,000]; ``utilization_target`` in [0.01, 1]; quantiles in (0, 1);
* fleets of at most :data:`MAX_INSTANCES` instances, and instances of at most :data:`MAX_SLOTS`
  slots.

Used by chapter 1 (capacity sizing) through :mod:`perfcost.capacity`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from perfcost.fleet_latency import FLEET, FleetLatency
from perfcost.queueing import MAX_SERVERS
from perfcost.traffic import MAX_RATE_RPS
from perfcost.units import HOURS_PER_MONTH
from perfcost.validation import (
    ParameterError,
    fraction,
    in_range,
    instance_of,
    integer_in_range,
    positive,
)

__all__ = [
    "MAX_CURVE_POINTS",
    "MAX_HOURLY_USD",
    "MAX_INSTANCES",
    "MAX_LATENCY_MS",
    "MAX_NAME_CHARS",
    "MAX_PEAK_TO_AVERAGE",
    "MAX_REQUEST_RATE_RPS",
    "MAX_SLOTS",
    "MAX_THROUGHPUT_RPS",
    "MIN_LATENCY_MS",
    "MIN_THROUGHPUT_RPS",
    "MIN_UTILIZATION_TARGET",
    "InfeasibleError",
    "InstanceType",
    "Sizing",
    "slot_service_ms",
    "slots_per_instance",
]

MAX_PEAK_TO_AVERAGE = 100.0  # peak / average rate: beyond 100x, size for the peak directly
# Sizing takes up to the chapter's largest peak: the largest average rate at the largest peak.
MAX_REQUEST_RATE_RPS = MAX_RATE_RPS * MAX_PEAK_TO_AVERAGE  # 10^6 rps × 100
MIN_THROUGHPUT_RPS = 1e-3  # one request in ~17 minutes: keeps every count finite
MAX_THROUGHPUT_RPS = 1e6
MIN_LATENCY_MS = 1e-3  # a microsecond: the shortest latency a chapter takes as a parameter
MAX_LATENCY_MS = 60_000.0  # a minute: longer is a batch job, not inference serving
MAX_HOURLY_USD = 1_000.0  # the largest cloud instances cost under $100/h
MIN_UTILIZATION_TARGET = 0.01  # below 1% busy the rule buys 100x the capacity: a typo
MAX_NAME_CHARS = 64  # an instance type's name: one line of at most 64 characters
MAX_INSTANCES = 10**6  # the largest fleet sized here; the searches stop there
MAX_SLOTS = 10_000  # requests one instance holds at once (chapter 1's limit on rate × latency)
MAX_CURVE_POINTS = 10_000  # rates in cost_curves, rows in quantile_curves: seconds of work


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
        for field, check in INSTANCE_CHECKS.items():
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


def slots_per_instance(instance: InstanceType) -> int:
    """Return k = round(throughput × latency), at least 1: requests one instance holds at once."""
    instance = check_instance(instance)
    return max(1, round(instance.throughput_rps * instance.latency_ms / 1000.0))


def slot_service_ms(instance: InstanceType) -> float:
    """Return one slot's mean service time in ms, 1000 k / throughput (Little's law: each of
    the instance's k slots serves throughput / k requests/s)."""
    return 1000 * slots_per_instance(instance) / instance.throughput_rps


def check_fleet(instance: InstanceType, count: int) -> None:
    """Raise InfeasibleError if ``count`` instances are more than this module sizes or models."""
    if count > MAX_INSTANCES:
        raise InfeasibleError(f"{instance.name}: needs {count:,} instances, more than the "
                              f"{MAX_INSTANCES:,} sized here")
    slots = slots_per_instance(instance)
    if count * slots > MAX_SERVERS:
        raise InfeasibleError(
            f"{instance.name}: {count:,} instances of {slots:,} slots are more than the "
            f"{MAX_SERVERS:,} servers the M/M/c model evaluates")


# --- The checks of sizing arguments, shared by the sizing modules -------------------------------

def _name(name: str, value: object) -> str:
    if (not isinstance(value, str) or not value.strip() or len(value) > MAX_NAME_CHARS
            or not value.isprintable()):
        raise ParameterError(name, f"one line of text, 1 to {MAX_NAME_CHARS} characters", value)
    return value


def _throughput(name: str, value: object) -> float:
    return in_range(name, value, MIN_THROUGHPUT_RPS, MAX_THROUGHPUT_RPS)


def _hourly(name: str, value: object) -> float:
    return positive(name, value, maximum=MAX_HOURLY_USD)


def check_latency(name: str, value: object) -> float:
    return positive(name, value, maximum=MAX_LATENCY_MS)


INSTANCE_CHECKS = {"name": _name, "throughput_rps": _throughput, "hourly_usd": _hourly,
                   "latency_ms": check_latency}


def check_rate(value: object, name: str = "request_rate_rps") -> float:
    return positive(name, value, maximum=MAX_REQUEST_RATE_RPS)


def check_target(value: object, name: str = "utilization_target") -> float:
    return in_range(name, value, MIN_UTILIZATION_TARGET, 1.0)


def check_quantile(value: object) -> float:
    return fraction("quantile", value, low_open=True, high_open=True)


def check_count(value: object) -> int:
    return integer_in_range("count", value, 1, MAX_INSTANCES)


def check_instance(instance: object) -> InstanceType:
    return instance_of("instance", instance, InstanceType, "an InstanceType")


def check_model(model: object) -> FleetLatency:
    return instance_of("model", model, FleetLatency, "a FleetLatency (perfcost.fleet_latency)")


def check_points(name: str, values: object, limit: int = MAX_CURVE_POINTS) -> list:
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
