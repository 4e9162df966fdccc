r"""The design's request path: the stages besides the model server, and the server's budget.

A request measured at the service's edge passes the load balancer, crosses the region's network
to a model server, looks up the result cache (when there is one) and is served. The stages come
from the catalog's published latencies (``latencies``), each a lognormal through two of its
quantiles (:class:`perfcost.latency_budget.Stage`):

* **load balancer**: no measurement of an ALB's added latency is published (the catalog records
  the search); it is taken as one more network round trip across zones, an assumption;
* **balancer to server**: a round trip across availability zones (a balancer spreads requests
  over zones);
* **cache lookup**: a GET round trip to the cache, paid by every request (misses too).

The model server's own stage (queue, batch fill, HTTP parsing, JSON, inference) comes from the
fleet model. Its *budget* is what the other stages leave of the SLO, taking their p95s as if they
added (pessimistic: :mod:`perfcost.latency_budget` shows they do not):

.. math::  \text{budget} = \text{SLO} - \sum_i p95_i .

A figure giving the smallest and largest of its samples (``p0``, ``p100``) is read at the
expected ranks of the extremes of :data:`EXTREME_SAMPLES` samples, 1/(n + 1) and n/(n + 1).

Used by chapter 5 (design).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from perfcost.instance_types import slots_per_instance
from perfcost.latency_budget import (
    Stage,
    end_to_end_quantile_ms,
    fleet_response_samples_ms,
    sum_of_quantiles_ms,
)
from perfcost.pricing import Catalog, LatencyFigure
from perfcost.validation import ParameterError

__all__ = [
    "EXTREME_SAMPLES",
    "end_to_end_p95_ms",
    "request_stages",
    "server_budget_ms",
    "server_samples_ms",
    "stage_from_figure",
]

EXTREME_SAMPLES = 30  # the catalog's pings: 3 zone pairs × 10
STAGE_FIGURES = (("load balancer (one more cross-zone round trip)", "rtt_cross_az"),
                 ("balancer to server, across zones", "rtt_cross_az"))
CACHE_FIGURE = ("cache lookup (GET round trip)", "cache_get")


def _level(key: str) -> float:
    """"p50" -> 0.5; "p0" and "p100" -> the expected ranks of the extremes of n samples."""
    percent = float(key[1:])
    if percent == 0.0:
        return 1.0 / (EXTREME_SAMPLES + 1)
    if percent == 100.0:
        return EXTREME_SAMPLES / (EXTREME_SAMPLES + 1)
    return percent / 100.0


def stage_from_figure(name: str, figure: LatencyFigure, tail_quantile: float = 0.99) -> Stage:
    """The lognormal through ``figure``'s lowest and highest quantiles, as a Stage.

    ln X ~ N(μ, σ²) with μ + σ z_a = ln x_a and μ + σ z_b = ln x_b; the Stage holds its median
    e^μ and its ``tail_quantile``.
    """
    quantiles = list(figure.quantiles.items())
    (key_a, low_ms), (key_b, high_ms) = quantiles[0], quantiles[-1]
    z_a, z_b = special.ndtri(_level(key_a)), special.ndtri(_level(key_b))
    sigma = (math.log(high_ms) - math.log(low_ms)) / (z_b - z_a)
    mu = math.log(low_ms) - sigma * z_a
    tail_ms = math.exp(mu + sigma * special.ndtri(tail_quantile))
    source = f"{figure.source.title} ({figure.as_of}); {figure.setup}"
    return Stage(name, math.exp(mu), tail_ms, tail_quantile, source)


def _figure(catalog: Catalog, key: str) -> LatencyFigure:
    latencies = getattr(catalog, "latencies", {})
    if key not in latencies:
        raise ParameterError("price catalog", f"a catalog with latencies.{key}",
                             str(catalog.path))
    return latencies[key]


def request_stages(catalog: Catalog, *, cache: bool) -> tuple[Stage, ...]:
    """The stages besides the model server, with the cache lookup when ``cache``."""
    named = STAGE_FIGURES + ((CACHE_FIGURE,) if cache else ())
    return tuple(stage_from_figure(name, _figure(catalog, key)) for name, key in named)


def server_budget_ms(p95_slo_ms: float, stages: tuple[Stage, ...]) -> float:
    """SLO − the sum of the stages' p95s: the server's share (may be <= 0: no design fits)."""
    return p95_slo_ms - sum_of_quantiles_ms(stages, 0.95)


def server_samples_ms(fleet_model, option, instances: int, server_rps: float, *,
                      samples: int, seed: int, hit_rate: float = 0.0) -> np.ndarray:
    """The server stage's latency per request at ``server_rps`` on ``instances``: the fleet
    model's response plus the batch wait, and 0 for the ``hit_rate`` share a cache answers."""
    instance = option.instance_type()
    slots = slots_per_instance(instance)
    slot_rate = instance.throughput_rps / slots
    rng = np.random.default_rng(seed)
    served = option.wait_ms(server_rps / instances) + fleet_response_samples_ms(
        fleet_model, instances, slots, slot_rate, server_rps, samples, rng)
    return np.where(rng.random(samples) < hit_rate, 0.0, served)


def end_to_end_p95_ms(stages: tuple[Stage, ...], server_ms: np.ndarray, *, samples: int,
                      seed: int) -> float:
    """The simulated p95 of the stages plus the server stage (independent draws)."""
    return end_to_end_quantile_ms(stages, server_ms, quantile=0.95, samples=samples, seed=seed)
