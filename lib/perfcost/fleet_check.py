"""Check the fleet latency model against the discrete-event simulation of the same fleet.

:mod:`perfcost.fleet_latency` approximates a routed fleet's p95; this module simulates the fleet
(:func:`perfcost.simulation.routed_response_times`) and tabulates model against simulation, so
chapter 1 and ``make bench`` can report how far the approximation is off, and on which side.

Used by chapter 1 (capacity sizing).
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from perfcost.capacity import (
    InstanceType,
    fleet_response_quantile_ms,
    simulated_response_quantile_ms,
)
from perfcost.fleet_latency import FleetLatency
from perfcost.simulation import routed_response_times
from perfcost.traffic import poisson_arrival_times
from perfcost.validation import ParameterError, fraction, integer_in_range, seed_value

__all__ = ["MAX_GRID_SIMULATIONS", "fleet_models_table", "model_error_grid", "simulated_p95_s"]

MAX_GRID_SIMULATIONS = 200  # each a few tenths of a second at 60,000 requests


def fleet_models_table(instance: InstanceType, count: int, request_rate_rps: float,
                       models: list[FleetLatency], *, requests: int = 100_000,
                       seed: int = 0) -> pd.DataFrame:
    """One fleet under several latency models: each model's p95 beside the simulated one.

    Columns: ``model`` (its label), ``routing``, ``service_cv``, ``model_p95_ms``,
    ``simulated_p95_ms`` and ``relative_error`` (model / simulated − 1: positive errs on the
    safe side).
    """
    if not isinstance(models, list | tuple) or not models or not all(
            isinstance(m, FleetLatency) for m in models):
        raise ParameterError("models", "a non-empty list of FleetLatency", models)
    rows = []
    for model in models:
        predicted = fleet_response_quantile_ms(instance, count, request_rate_rps, model=model)
        simulated = simulated_response_quantile_ms(
            instance, count, request_rate_rps, service_cv=model.service_cv,
            routing=model.routing, requests=requests, seed=seed)
        rows.append({"model": model.label, "routing": model.routing,
                     "service_cv": model.service_cv, "model_p95_ms": predicted,
                     "simulated_p95_ms": simulated,
                     "relative_error": predicted / simulated - 1.0})
    return pd.DataFrame(rows)


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


def model_error_grid(models: list[FleetLatency], fleet_sizes: list[int], *, slots: int = 1,
                     utilization: float = 0.7, service_ms: float = 20.0,
                     requests: int = 60_000, seed: int = 0) -> pd.DataFrame:
    """Model against simulation for every model and fleet size, at one utilisation.

    Columns: ``routing``, ``service_cv``, ``instances``, ``model_p95_ms``,
    ``simulated_p95_ms``, ``relative_error``. At most :data:`MAX_GRID_SIMULATIONS` runs.
    """
    sizes = [integer_in_range("fleet_sizes", n, 1, 1000) for n in fleet_sizes]
    slots = integer_in_range("slots", slots, 1, 64)
    utilization = fraction("utilization", utilization, low_open=True, high_open=True)
    seed = seed_value(seed)
    if len(models) * len(sizes) > MAX_GRID_SIMULATIONS:
        raise ParameterError("len(models) * len(fleet_sizes)",
                             f"at most {MAX_GRID_SIMULATIONS}", len(models) * len(sizes))
    slot_rate = 1000.0 / service_ms
    rows = []
    for model, instances in itertools.product(models, sizes):
        rate = utilization * instances * slots * slot_rate
        predicted = model.response_quantile_s(instances, slots, slot_rate, rate)
        simulated = simulated_p95_s(model, instances, slots, slot_rate, utilization,
                                    requests=requests, seed=seed)
        rows.append({"routing": model.routing, "service_cv": model.service_cv,
                     "instances": instances, "model_p95_ms": 1000 * predicted,
                     "simulated_p95_ms": 1000 * simulated,
                     "relative_error": predicted / simulated - 1.0})
    return pd.DataFrame(rows)
