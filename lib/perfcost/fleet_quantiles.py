"""The response-time quantile of a fleet of one instance type, and how hot a fleet may run.

A fleet of n instances of k slots each (:func:`perfcost.instance_types.slots_per_instance`) is n
queues of k slots behind a load balancer; its response-time quantile comes from a latency model,
:class:`perfcost.fleet_latency.FleetLatency` (:data:`~perfcost.fleet_latency.FLEET` by default:
least outstanding requests, gamma service). :data:`~perfcost.fleet_latency.MMC`, one shared
M/M/(n·k) queue with exponential service, is evaluated by its exact formula
(:class:`perfcost.queueing.MMc`): the lower bound earlier editions used, kept for comparison.

:func:`quantile_curves` draws the quantile against utilisation for several fleet sizes
(:func:`quantile_curves_by_model` for several models), and
:func:`max_utilization_for_quantile` finds the highest utilisation at which a fleet still meets
an SLO (:func:`utilization_ceilings` for several fleets and models): whether big fleets run
hotter depends on the balancer pooling them.

Used by chapter 1 (capacity sizing) and :mod:`perfcost.capacity`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping

import pandas as pd

from perfcost.fleet_latency import FLEET, MMC, FleetLatency
from perfcost.instance_types import (
    MAX_CURVE_POINTS,
    MAX_INSTANCES,
    MAX_LATENCY_MS,
    MAX_SLOTS,
    InstanceType,
    check_count,
    check_fleet,
    check_instance,
    check_latency,
    check_model,
    check_points,
    check_quantile,
    check_rate,
    slots_per_instance,
)
from perfcost.queueing import MAX_SERVERS, MMc, UnstableQueueError
from perfcost.validation import ParameterError, fraction, in_range, integer_in_range

__all__ = [
    "fleet_queue",
    "fleet_response_quantile_ms",
    "max_utilization_for_quantile",
    "quantile_curves",
    "quantile_curves_by_model",
    "utilization_ceilings",
]

BISECTION_STEPS = 60  # halves (0, 1) to below 10^-18: a float's resolution near any ρ


def fleet_queue(instance: InstanceType, count: int, request_rate_rps: float) -> MMc:
    r"""Return the M/M/(count·k) queue that models ``count`` instances at ``request_rate_rps``.

    ``count`` in [1, 10^6]; the rate must be below the fleet's capacity, count × throughput.
    Each instance of throughput X and latency L holds k = max(1, round(X L)) requests
    (:func:`perfcost.instance_types.slots_per_instance`), so the queue has
    :math:`c = \text{count} \cdot k` servers of rate :math:`\mu = X / k` each and arrivals at
    :math:`\lambda` = ``request_rate_rps``.

    Parameters
    ----------
    instance : perfcost.instance_types.InstanceType
        The instance type: its ``throughput_rps`` and ``latency_ms``.
    count : int
        Number of instances, a whole number in [1, 10^6].
    request_rate_rps : float
        Arrival rate λ in requests per second, > 0 and below count × ``throughput_rps``.

    Returns
    -------
    perfcost.queueing.MMc
        The M/M/c queue with λ = ``request_rate_rps``, μ = X / k and c = count · k.

    Raises
    ------
    perfcost.validation.ParameterError
        If an argument is of the wrong type or outside its range.
    perfcost.instance_types.InfeasibleError
        If count · k is more than the 10^9 servers the M/M/c model evaluates.
    perfcost.queueing.UnstableQueueError
        If ``request_rate_rps`` is at or above the fleet's capacity.

    References
    ----------
    Kleinrock (1975), §3.5: the M/M/c queue.
    """
    instance = check_instance(instance)
    count = check_count(count)
    request_rate_rps = check_rate(request_rate_rps)
    check_fleet(instance, count)
    capacity_rps = count * instance.throughput_rps
    if request_rate_rps >= capacity_rps:
        raise UnstableQueueError(
            "request_rate_rps", f"< count × throughput_rps = {capacity_rps:g} (at or above "
            "the fleet's capacity the queue is unstable)", request_rate_rps)
    slots = slots_per_instance(instance)
    return MMc(request_rate_rps, instance.throughput_rps / slots, count * slots)


def fleet_response_quantile_ms(
    instance: InstanceType, count: int, request_rate_rps: float, quantile: float = 0.95,
    *, model: FleetLatency = FLEET,
) -> float:
    """Return the fleet's response-time quantile in milliseconds in ``model``.

    The default, :data:`~perfcost.fleet_latency.FLEET`, is per-instance queues behind a
    least-outstanding-requests balancer; :data:`~perfcost.fleet_latency.MMC` is the M/M/c model
    (one shared queue, exponential service), evaluated exactly by
    :meth:`perfcost.queueing.MMc.response_quantile`. The queue is that of :func:`fleet_queue`:
    ``count`` instances of k slots, each slot of rate μ = throughput / k.

    Parameters
    ----------
    instance : perfcost.instance_types.InstanceType
        The instance type.
    count : int
        Number of instances, a whole number in [1, 10^6].
    request_rate_rps : float
        Requests per second to the fleet, > 0 and below count × ``throughput_rps``.
    quantile : float, optional
        The level q, in (0, 1); default 0.95 (the p95).
    model : perfcost.fleet_latency.FleetLatency, optional
        The latency model; default :data:`~perfcost.fleet_latency.FLEET`.

    Returns
    -------
    float
        The response time in milliseconds that a fraction ``quantile`` of requests stay within.

    Raises
    ------
    perfcost.validation.ParameterError
        If an argument is of the wrong type or outside its range.
    perfcost.instance_types.InfeasibleError
        If the fleet has more than 10^9 slots in all.
    perfcost.queueing.UnstableQueueError
        If ``request_rate_rps`` is at or above the fleet's capacity.

    References
    ----------
    Kleinrock (1975), §3.5 (M/M/c); Allen (1990), §6 (the approximation of
    :func:`perfcost.fleet_latency.wait_model`).
    """
    quantile = check_quantile(quantile)
    model = check_model(model)
    queue = fleet_queue(instance, count, request_rate_rps)
    return 1000.0 * _quantile_s(model, count, queue.service_rate, queue.arrival_rate, quantile,
                                slots_per_instance(instance))


def _quantile_s(model: FleetLatency, instances: int, slot_rate: float, arrival_rate: float,
                quantile: float, slots: int = 1) -> float:
    """The quantile in seconds; the M/M/c case by its exact formula (queueing.MMc)."""
    if model == MMC:
        return MMc(arrival_rate, slot_rate, instances * slots).response_quantile(quantile)
    return model.response_quantile_s(instances, slots, slot_rate, arrival_rate, quantile)


def _slot_rate(service_ms: object) -> float:
    """A slot's service rate (per second) from its mean service time, in [10^-6, 60,000] ms."""
    return 1000.0 / in_range("service_ms", service_ms, 1e-6, MAX_LATENCY_MS)


def _slots(value: object) -> int:
    return integer_in_range("slots", value, 1, MAX_SLOTS)


def _instances(name: str, value: object, slots: int) -> int:
    """Instances of ``slots`` slots each: at most ``queueing.MAX_SERVERS`` slots in all."""
    return integer_in_range(name, value, 1, MAX_SERVERS // slots)


def _curve_axes(fleet_sizes: Iterable[int], utilizations: Iterable[float],
                slots: int) -> tuple[list[int], list[float]]:
    """The checked fleet sizes and utilisations of :func:`quantile_curves`."""
    fleet_sizes = [_instances("fleet_sizes", n, slots)
                   for n in check_points("fleet_sizes", fleet_sizes)]
    utilizations = [fraction("utilizations", rho, low_open=True, high_open=True)
                    for rho in check_points("utilizations", utilizations)]
    if len(fleet_sizes) * len(utilizations) > MAX_CURVE_POINTS:
        raise ParameterError("fleet_sizes × utilizations", f"at most {MAX_CURVE_POINTS:,} "
                             "points", len(fleet_sizes) * len(utilizations))
    return fleet_sizes, utilizations


def quantile_curves(
    service_ms: float,
    fleet_sizes: Iterable[int],
    utilizations: Iterable[float],
    quantile: float = 0.95,
    *,
    model: FleetLatency = FLEET,
    slots: int = 1,
) -> pd.DataFrame:
    r"""Return the response-time quantile in ``model`` against utilisation for each fleet size.

    Each instance has ``slots`` slots (1 to 10^4), each with mean service time ``service_ms``
    in [10^-6, 60,000];
    fleet sizes are whole numbers in [1, 10^9], utilisations in (0, 1), and the table holds at
    most ``MAX_CURVE_POINTS`` rows. Columns: ``fleet`` (a label), ``servers``, ``utilization``,
    ``p95_ms`` (the ``quantile`` response time).

    A fleet of n instances at utilisation ρ receives :math:`\lambda = \rho\, n k \mu`
    requests per second, with :math:`\mu = 1000 /` ``service_ms`` per slot.

    Parameters
    ----------
    service_ms : float
        Mean service time of one slot, in milliseconds, in [10^-6, 60,000].
    fleet_sizes : iterable of int
        Instance counts n, whole numbers >= 1 with n × ``slots`` at most 10^9.
    utilizations : iterable of float
        Utilisations ρ, each in (0, 1).
    quantile : float, optional
        The level q, in (0, 1); default 0.95. The column is named ``p95_ms`` whatever q is.
    model : perfcost.fleet_latency.FleetLatency, optional
        The latency model; default :data:`~perfcost.fleet_latency.FLEET`.
    slots : int, optional
        Slots k per instance, in [1, 10^4]; default 1.

    Returns
    -------
    pandas.DataFrame
        One row per (fleet size, utilisation), fleet sizes outermost.

    Raises
    ------
    perfcost.validation.ParameterError
        If an argument is outside its range, or fleet sizes × utilisations exceed
        ``MAX_CURVE_POINTS``.
    """
    service_rate = _slot_rate(service_ms)
    quantile = check_quantile(quantile)
    model = check_model(model)
    slots = _slots(slots)
    fleet_sizes, utilizations = _curve_axes(fleet_sizes, utilizations, slots)
    rows = []
    for servers, rho in itertools.product(fleet_sizes, utilizations):
        capacity = servers * slots * service_rate
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


def _named_models(models: object) -> dict[str, FleetLatency]:
    """A non-empty mapping of names to latency models, checked."""
    if not isinstance(models, Mapping) or not models:
        raise ParameterError("models", "a non-empty mapping of names to FleetLatency", models)
    return {name: check_model(model) for name, model in models.items()}


def quantile_curves_by_model(
    service_ms: float,
    fleet_sizes: Iterable[int],
    utilizations: Iterable[float],
    models: Mapping[str, FleetLatency],
    *,
    slots: int = 1,
) -> pd.DataFrame:
    """Return the p95 curves of :func:`quantile_curves` for each named model, one after another.

    Parameters
    ----------
    service_ms, fleet_sizes, utilizations, slots
        As in :func:`quantile_curves`.
    models : mapping of str to FleetLatency
        Each model's name in the chart (e.g. the routing) and the model.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`quantile_curves`, each table keeping its own index, with
        ``fleet`` labelled by the model too ("4 instances, random").

    Raises
    ------
    perfcost.validation.ParameterError
        If ``models`` is not a non-empty mapping of FleetLatency, or as :func:`quantile_curves`.
    """
    fleet_sizes = check_points("fleet_sizes", fleet_sizes)
    utilizations = check_points("utilizations", utilizations)
    return pd.concat([
        quantile_curves(service_ms, fleet_sizes, utilizations, model=model, slots=slots)
        .assign(fleet=lambda table, name=name: table["fleet"] + ", " + name)
        for name, model in _named_models(models).items()])


def utilization_ceilings(
    service_ms: float,
    fleet_sizes: Iterable[int],
    latency_slo_ms: float,
    models: Mapping[str, FleetLatency],
    *,
    slots: int = 1,
) -> pd.DataFrame:
    """Return the highest utilisation at which each fleet still meets the SLO, in each model.

    Parameters
    ----------
    service_ms, latency_slo_ms, slots
        As in :func:`max_utilization_for_quantile` (the p95 is the quantile).
    fleet_sizes : iterable of int
        The fleets' instance counts.
    models : mapping of str to FleetLatency
        Each model's name (a column of the table) and the model.

    Returns
    -------
    pandas.DataFrame
        One row per fleet size (index ``instances``), one column per model.

    Raises
    ------
    perfcost.validation.ParameterError
        If a fleet size is not a whole number in [1, 10^6], ``models`` is not a non-empty
        mapping of FleetLatency, or as :func:`max_utilization_for_quantile`.
    """
    fleet_sizes = [integer_in_range("fleet_sizes", size, 1, MAX_INSTANCES)
                   for size in check_points("fleet_sizes", fleet_sizes)]
    return pd.DataFrame(
        {name: [max_utilization_for_quantile(service_ms, servers, latency_slo_ms,
                                             model=model, slots=slots)
                for servers in fleet_sizes]
         for name, model in _named_models(models).items()},
        index=pd.Index(fleet_sizes, name="instances"))


def max_utilization_for_quantile(
    service_ms: float, servers: int, latency_slo_ms: float, quantile: float = 0.95,
    *, model: FleetLatency = FLEET, slots: int = 1,
) -> float:
    r"""Return the highest utilisation at which ``servers`` instances still meet the SLO.

    Each instance has ``slots`` slots (1 to 10^4), each with mean service time ``service_ms`` in
    [10^-6, 60,000], and latency is modelled by ``model`` (:data:`FLEET` by default);
    ``servers`` (instances) × slots at most 10^9. Found by bisection on ρ in (0, 1) (60 steps),
    since the response-time quantile rises with ρ. Returns 0.0 if even an idle fleet misses the
    SLO. In symbols, with :math:`t_q(\rho)` the quantile at utilisation ρ,

    .. math::  \rho^* = \max\{\rho \in [10^{-9}, 1 - 10^{-9}] : t_q(\rho) \le
               \text{SLO}\}.

    Parameters
    ----------
    service_ms : float
        Mean service time of one slot, in milliseconds, in [10^-6, 60,000].
    servers : int
        Number of instances n, a whole number >= 1 with n × ``slots`` at most 10^9.
    latency_slo_ms : float
        The latency objective in milliseconds, in (0, 60,000].
    quantile : float, optional
        The level q the SLO applies to, in (0, 1); default 0.95.
    model : perfcost.fleet_latency.FleetLatency, optional
        The latency model; default :data:`~perfcost.fleet_latency.FLEET`.
    slots : int, optional
        Slots k per instance, in [1, 10^4]; default 1.

    Returns
    -------
    float
        The utilisation ρ* in [0, 1): 0.0 if the SLO is missed at ρ = 10^-9, 1 − 10^-9 if it is
        met there, else the bisection's lower end.

    Raises
    ------
    perfcost.validation.ParameterError
        If an argument is of the wrong type or outside its range.
    """
    service_rate = _slot_rate(service_ms)
    slots = _slots(slots)
    servers = _instances("servers", servers, slots)
    latency_slo_ms = check_latency("latency_slo_ms", latency_slo_ms)
    quantile = check_quantile(quantile)
    model = check_model(model)
    capacity = servers * slots * service_rate

    def meets(rho: float) -> bool:
        quantile_ms = 1000.0 * _quantile_s(model, servers, service_rate, rho * capacity,
                                           quantile, slots)
        return quantile_ms <= latency_slo_ms

    return _highest_meeting(meets, 1e-9, 1.0 - 1e-9)


def _highest_meeting(meets, low: float, high: float) -> float:
    """The highest ρ in [low, high] with meets(ρ), for meets true below some ρ and false above
    it; 0.0 if not even ``low`` meets it. Bisection, :data:`BISECTION_STEPS` steps."""
    if not meets(low):
        return 0.0
    if meets(high):
        return high
    for _ in range(BISECTION_STEPS):
        middle = (low + high) / 2
        low, high = (middle, high) if meets(middle) else (low, middle)
    return low
