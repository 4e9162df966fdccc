"""Check the fleet latency model against the discrete-event simulation of the same fleet.

:mod:`perfcost.fleet_latency` approximates a routed fleet's p95; this module simulates the fleet
(:func:`simulated_response_quantile_ms`, on :func:`perfcost.fcfs_simulation.routed_response_times`)
and tabulates model against simulation (:func:`fleet_models_table` for one fleet,
:func:`model_error_grid` across fleets), so chapter 1 and ``make bench`` can report how far the
approximation is off, and on which side; :func:`constant_service_p95_ms` and
:func:`two_choices_p95_ms` simulate what the model leaves out.

Used by chapter 1 (capacity sizing).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd

from perfcost.fcfs_simulation import routed_response_times
from perfcost.fleet_latency import MMC, ROUTINGS, FleetLatency
from perfcost.fleet_quantiles import fleet_queue, fleet_response_quantile_ms
from perfcost.instance_types import (
    InstanceType,
    Sizing,
    check_count,
    check_instance,
    check_quantile,
    slots_per_instance,
)
from perfcost.queueing import MAX_CV
from perfcost.traffic import MAX_RATE_RPS, poisson_arrival_times
from perfcost.validation import (
    ParameterError,
    fraction,
    in_range,
    instance_of,
    integer_in_range,
    seed_value,
)

__all__ = ["MAX_GRID_SIMULATIONS", "MAX_SIMULATED_REQUESTS", "MAX_SIMULATED_SERVERS",
           "constant_service_p95_ms", "fleet_models", "fleet_models_table", "grid_models",
           "model_error_grid", "model_row", "requests_for", "requests_to_converge",
           "simulated_p95_s", "simulated_response_quantile_ms", "two_choices_p95_ms",
           "worst_errors"]

MAX_GRID_SIMULATIONS = 200  # each a few tenths of a second at 60,000 requests
MAX_SIMULATED_SERVERS = 10**6  # the simulation keeps one heap entry per server
MAX_SIMULATED_REQUESTS = 5 * 10**6  # ~3 s and ~200 MB of float64 arrays
MIN_REQUESTS = 50_000
AGREEMENT = 0.05  # two seeds within 5% of each other: the p95 has converged
SEEDS = (0, 1)


def _simulated_slots(instance: InstanceType, count: int) -> int:
    """The slots of one instance; ParameterError if the fleet has more than the simulation holds."""
    slots = slots_per_instance(instance)
    if count * slots > MAX_SIMULATED_SERVERS:
        raise ParameterError("count", f"at most {MAX_SIMULATED_SERVERS // slots:,} for "
                             f"{instance.name} ({slots:,} slots each; the simulation holds at "
                             f"most {MAX_SIMULATED_SERVERS:,} servers)", count)
    return slots


def _service_times_s(mean_s: float, service_cv: float, requests: int, seed: int) -> np.ndarray:
    """``requests`` gamma service times (mean ``mean_s``, coefficient of variation
    ``service_cv``) from ``numpy.random.default_rng(seed)``; constant below a cv of 10^-6."""
    if service_cv < 1e-6:  # gamma(1 / cv²) would overflow; at this cv it is a constant
        return np.full(requests, mean_s)
    shape = 1.0 / service_cv**2
    return np.random.default_rng(seed).gamma(shape, mean_s / shape, size=requests)


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
    instance = check_instance(instance)
    count = check_count(count)
    request_rate_rps = in_range("request_rate_rps", request_rate_rps, 1e-3, MAX_RATE_RPS)
    service_cv = in_range("service_cv", service_cv, 0.0, MAX_CV)
    quantile = check_quantile(quantile)
    requests = integer_in_range("requests", requests, 1000, MAX_SIMULATED_REQUESTS)
    seed = seed_value(seed)
    slots = _simulated_slots(instance, count)
    queue = fleet_queue(instance, count, request_rate_rps)
    arrivals_s = poisson_arrival_times(queue.arrival_rate, requests, seed=seed)
    services_s = _service_times_s(1.0 / queue.service_rate, service_cv, requests, seed + 1)
    response_s = routed_response_times(arrivals_s, services_s, count, slots, routing, seed=seed)
    return 1000.0 * float(np.quantile(response_s[requests // 10:], quantile))  # after warm-up


def constant_service_p95_ms(instance: InstanceType, count: int, request_rate_rps: float, *,
                            routing: str, requests: int) -> float:
    """The simulated p95 (ms) of the fleet with constant service times (service cv 0).

    :func:`simulated_response_quantile_ms` with ``service_cv=0``, seed 0: how far a steady
    server, as inference servers nearly are, sits below the model's variable one.
    """
    return simulated_response_quantile_ms(instance, count, request_rate_rps, service_cv=0.0,
                                          routing=routing, requests=requests)


def two_choices_p95_ms(instance: InstanceType, count: int, request_rate_rps: float, *,
                       service_cv: float, requests: int) -> float:
    """The simulated p95 (ms) of the fleet behind a two-choices balancer.

    Each request goes to the less loaded of two instances drawn at random (Envoy's default
    least-request; Mitzenmacher 2001): :func:`simulated_response_quantile_ms` with
    ``routing="two_choices"``, seed 0.
    """
    return simulated_response_quantile_ms(instance, count, request_rate_rps,
                                          service_cv=service_cv, routing="two_choices",
                                          requests=requests)


def requests_to_converge(instances: int, slots: int, utilization: float) -> int:
    """Requests a simulation needs for a steady-state p95: 100 n k ρ / (1 − √ρ)².

    A queue of c = n k servers at utilisation ρ forgets its empty start in about
    1 / (μ (1 − √ρ)²) seconds (the relaxation time of M/M/c, Kleinrock 1975 §2.6; Whitt 1989),
    in which c ρ / (1 − √ρ)² requests arrive; a hundred of those leaves the 10% warm-up ten
    relaxation times and the p95 ninety. At least 50,000.
    """
    relaxation = instances * slots * utilization / (1.0 - utilization**0.5) ** 2
    return max(MIN_REQUESTS, math.ceil(100 * relaxation))


def requests_for(fleet: Sizing, max_requests: int = MAX_SIMULATED_REQUESTS) -> int:
    """The requests a simulation of ``fleet`` runs: :func:`requests_to_converge` for its
    instances, slots and utilisation, at most ``max_requests``."""
    instance_of("fleet", fleet, Sizing, "a Sizing (from capacity's sizers)")
    needed = requests_to_converge(fleet.count, slots_per_instance(fleet.instance),
                                  fleet.utilization)
    return min(needed, _max_requests(max_requests))


def _two_seeds(simulate) -> tuple[float, float]:
    """The mean of ``simulate(seed)`` over two seeds and their relative half-difference."""
    first, second = (simulate(seed) for seed in SEEDS)
    mean = (first + second) / 2
    return mean, abs(first - second) / 2 / mean


def _max_requests(value: object) -> int:
    return integer_in_range("max_requests", value, MIN_REQUESTS, MAX_SIMULATED_REQUESTS)


def _model_against_simulation(instance: InstanceType, count: int, request_rate_rps: float,
                              model: FleetLatency, requests: int, enough: bool) -> dict:
    """One row of :func:`fleet_models_table`: ``enough`` says the requests it needed were run."""
    predicted = fleet_response_quantile_ms(instance, count, request_rate_rps, model=model)
    simulated, spread = _two_seeds(lambda seed: simulated_response_quantile_ms(
        instance, count, request_rate_rps, service_cv=model.service_cv,
        routing=model.routing, requests=requests, seed=seed))
    return {"model": model.label, "routing": model.routing,
            "service_cv": model.service_cv, "model_p95_ms": predicted,
            "simulated_p95_ms": simulated, "spread": spread,
            "converged": enough and spread <= AGREEMENT,
            "relative_error": predicted / simulated - 1.0}


def fleet_models_table(instance: InstanceType, count: int, request_rate_rps: float,
                       models: list[FleetLatency], *,
                       max_requests: int = 2_000_000) -> pd.DataFrame:
    """One fleet under several latency models: each model's p95 beside the simulated one.

    Each simulation runs :func:`requests_to_converge` requests (at most ``max_requests``) with
    two seeds. Columns: ``model`` (its label), ``routing``, ``service_cv``, ``model_p95_ms``,
    ``simulated_p95_ms`` (the mean of the seeds), ``spread`` (their relative half-difference),
    ``converged`` (enough requests, and the seeds within 5%), ``relative_error`` (model /
    simulated − 1: positive errs on the safe side).
    """
    if not isinstance(models, list | tuple) or not models or not all(
            isinstance(m, FleetLatency) for m in models):
        raise ParameterError("models", "a non-empty list of FleetLatency", models)
    max_requests = _max_requests(max_requests)
    slots = slots_per_instance(instance)
    needed = requests_to_converge(count, slots, request_rate_rps / (count *
                                                                    instance.throughput_rps))
    return pd.DataFrame([
        _model_against_simulation(instance, count, request_rate_rps, model,
                                  min(needed, max_requests), needed <= max_requests)
        for model in models])


def fleet_models(service_cv: float) -> list[FleetLatency]:
    """The models one fleet is checked under, at the service variability ``service_cv``.

    One shared queue with exponential service (:data:`~perfcost.fleet_latency.MMC`, the M/M/c
    model) and with ``service_cv``, then per-instance queues under each other routing policy
    (:data:`~perfcost.fleet_latency.ROUTINGS`).
    """
    return [MMC, *(FleetLatency(routing, service_cv) for routing in ROUTINGS)]


def model_row(table: pd.DataFrame, model: FleetLatency) -> pd.Series:
    """The row of a :func:`fleet_models_table` for ``model``'s routing and service cv."""
    instance_of("model", model, FleetLatency, "a FleetLatency")
    rows = table[(table["routing"] == model.routing)
                 & (table["service_cv"] == model.service_cv)]
    if rows.empty:
        raise ParameterError("model", "a model in the table", model.label)
    return rows.iloc[0]


def simulated_p95_s(model: FleetLatency, instances: int, slots: int, slot_rate: float,
                    utilization: float, *, requests: int = 60_000, seed: int = 0) -> float:
    """The simulated p95 response time (s) of n instances of k slots at ``utilization``."""
    rate = utilization * instances * slots * slot_rate
    arrivals = poisson_arrival_times(rate, requests, seed=seed)
    rng = np.random.default_rng(seed + 1)
    cv = model.service_cv
    services = (np.full(requests, 1.0 / slot_rate) if cv < 1e-6 else
                rng.gamma(1.0 / cv**2, cv**2 / slot_rate, requests))
    times = routed_response_times(arrivals, services, instances, slots, model.routing,
                                  seed=seed)
    return float(np.quantile(times[requests // 10:], 0.95))


def _grid_row(model: FleetLatency, instances: int, slots: int, slot_rate: float,
              utilization: float, max_requests: int, seed: int) -> dict:
    """One row of :func:`model_error_grid`."""
    needed = requests_to_converge(instances, slots, utilization)
    rate = utilization * instances * slots * slot_rate
    predicted = model.response_quantile_s(instances, slots, slot_rate, rate)
    simulated = simulated_p95_s(model, instances, slots, slot_rate, utilization,
                                requests=min(needed, max_requests), seed=seed)
    return {"routing": model.routing, "service_cv": model.service_cv,
            "instances": instances, "model_p95_ms": 1000 * predicted,
            "simulated_p95_ms": 1000 * simulated,
            "relative_error": predicted / simulated - 1.0,
            "converged": needed <= max_requests}


def grid_models(service_cv: float) -> list[FleetLatency]:
    """Every routing policy at each service variability: constant (0), ``service_cv`` and
    exponential (1), each once, in increasing order."""
    service_cv = FleetLatency(ROUTINGS[0], service_cv).service_cv  # checked by its name
    cvs = sorted({0.0, service_cv, 1.0})
    return [FleetLatency(routing, cv) for routing in ROUTINGS for cv in cvs]


def worst_errors(grid: pd.DataFrame) -> pd.DataFrame:
    """Each routing's worst relative errors in a :func:`model_error_grid`, converged rows only.

    One row per routing with a converged row (in the grid's order); columns ``worst below``
    (the smallest model / simulated − 1: negative where the model under-estimates) and
    ``worst above`` (the largest).
    """
    columns = {"routing", "converged", "relative_error"}
    if not isinstance(grid, pd.DataFrame) or not columns <= set(grid.columns):
        raise ParameterError("grid", "a table from model_error_grid", type(grid).__name__)
    settled = grid[grid["converged"]]
    if settled.empty:  # no error to report: never a NaN in the chapter
        raise ParameterError("grid", "a grid with at least one converged simulation",
                             f"{len(grid)} rows, none converged")
    errors = settled.groupby("routing", sort=False)["relative_error"]
    return errors.agg(["min", "max"]).rename(
        columns={"min": "worst below", "max": "worst above"})


def model_error_grid(models: list[FleetLatency], fleet_sizes: list[int], *, slots: int = 1,
                     utilization: float = 0.7, service_ms: float = 20.0,
                     max_requests: int = 200_000, seed: int = 0) -> pd.DataFrame:
    """Model against simulation for every model and fleet size, at one utilisation.

    Each simulation runs :func:`requests_to_converge` requests, at most ``max_requests``.
    Columns: ``routing``, ``service_cv``, ``instances``, ``model_p95_ms``,
    ``simulated_p95_ms``, ``relative_error``, ``converged`` (the requests it needed were run).
    At most :data:`MAX_GRID_SIMULATIONS` runs.
    """
    sizes = [integer_in_range("fleet_sizes", n, 1, 1000) for n in fleet_sizes]
    slots = integer_in_range("slots", slots, 1, 64)
    utilization = fraction("utilization", utilization, low_open=True, high_open=True)
    max_requests = _max_requests(max_requests)
    seed = seed_value(seed)
    if len(models) * len(sizes) > MAX_GRID_SIMULATIONS:
        raise ParameterError("len(models) * len(fleet_sizes)",
                             f"at most {MAX_GRID_SIMULATIONS}", len(models) * len(sizes))
    slot_rate = 1000.0 / service_ms
    return pd.DataFrame([
        _grid_row(model, instances, slots, slot_rate, utilization, max_requests, seed)
        for model, instances in itertools.product(models, sizes)])
