"""Chapter 5's question as one validated object: the traffic, the SLO, the budget, the model.

:class:`DesignQuestion` holds the chapter's parameters under the notebook's names; each is
checked on construction, and a bad value raises ParameterError naming the parameter and its
valid range (``perfcost.book.inputs.DESIGN`` is built from the same constants).

Used by chapter 5 (design).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from perfcost.autoscaling import MAX_STARTUP_DELAY_S
from perfcost.design.latency import CACHE_FIGURE, STAGE_FIGURES
from perfcost.instance_types import MAX_LATENCY_MS, MIN_LATENCY_MS, MIN_UTILIZATION_TARGET
from perfcost.pricing import Catalog, load_catalog
from perfcost.traffic import MAX_RATE_RPS, check_peak_to_average
from perfcost.validation import (
    ParameterError,
    fraction,
    in_range,
    positive,
    seed_value,
    zero_or,
)

__all__ = [
    "MAX_BUDGET_USD",
    "MAX_KB",
    "MAX_REQUESTS_PER_CONNECTION",
    "MAX_WAIT_MS",
    "MODELS",
    "PEAK_UTILIZATION",
    "PUBLISHED_WORKLOAD",
    "DesignQuestion",
    "check_design_catalog",
]

# The models the chapter designs for: the book's classifier, measured here in fp32 and int8,
# and a heavier text classifier with published figures (catalog workload text_classification).
MODELS = ("mlp_fp32", "mlp_int8", "bert_large")
PUBLISHED_WORKLOAD = {"bert_large": "text_classification"}  # model → catalog workload
PEAK_UTILIZATION = "the utilisation the peak sizing runs at"  # what a target of 0 means
MAX_BUDGET_USD = 1e9  # a billion dollars a month: beyond any inference budget
MAX_KB = 1e5  # 100 MB per request or response
MAX_WAIT_MS = 1_000.0  # a batcher waiting a second for company is not online serving
MAX_REQUESTS_PER_CONNECTION = 1e6


def _choice(name: str, value: object) -> str:
    if value not in MODELS:
        raise ParameterError(name, f"one of {', '.join(MODELS)}", value)
    return value


def _text(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise ParameterError(name, "text", value)
    return value


_CHECKS = {
    "peak_qps": lambda n, v: positive(n, v, maximum=MAX_RATE_RPS),
    "p95_slo_ms": lambda n, v: in_range(n, v, MIN_LATENCY_MS, MAX_LATENCY_MS),
    "budget_usd_month": lambda n, v: positive(n, v, maximum=MAX_BUDGET_USD),
    "peak_to_average": check_peak_to_average,
    "request_kb": lambda n, v: in_range(n, v, 0.0, MAX_KB),
    "response_kb": lambda n, v: in_range(n, v, 0.0, MAX_KB),
    "cache_hit_rate": lambda n, v: fraction(n, v, high_open=True),
    "startup_delay_s": lambda n, v: in_range(n, v, 0.0, MAX_STARTUP_DELAY_S),
    "model": _choice,
    "utilization_target": lambda n, v: zero_or(
        n, v, lambda n, v: in_range(n, v, MIN_UTILIZATION_TARGET, 1.0), PEAK_UTILIZATION),
    "max_wait_ms": lambda n, v: in_range(n, v, 0.0, MAX_WAIT_MS),
    "max_utilization": lambda n, v: in_range(n, v, MIN_UTILIZATION_TARGET, 1.0),
    "requests_per_connection": lambda n, v: in_range(n, v, 1.0, MAX_REQUESTS_PER_CONNECTION),
    "slo_attainment_target": lambda n, v: fraction(n, v),
    "price_catalog_path": _text,
    "seed": lambda n, v: seed_value(v, n),
}


@dataclass(frozen=True)
class DesignQuestion:
    """Chapter 5's inputs, validated on construction; each field is a notebook parameter."""

    peak_qps: float = 10_000.0  # the day's peak request rate, (0, 10^6]
    p95_slo_ms: float = 100.0  # end-to-end p95 latency bound, [10^-3, 60,000]
    budget_usd_month: float = 5_000.0  # compute and egress, (0, 10^9]
    peak_to_average: float = 1.6  # the diurnal curve's peak / mean, [1, 2]
    request_kb: float = 1.0  # one request on the wire, headers included, [0, 10^5]
    response_kb: float = 0.15  # one response on the wire, headers included, [0, 10^5]
    cache_hit_rate: float = 0.2  # share of requests a result cache answers, [0, 1)
    startup_delay_s: float = 180.0  # boot plus model load of a new instance, [0, 3,600]
    model: str = "mlp_fp32"  # one of MODELS
    utilization_target: float = 0.0  # tracking's target, [0.01, 1]; 0: the peak sizing's
    max_wait_ms: float = 5.0  # a batcher's longest wait to fill a batch, [0, 1,000]
    max_utilization: float = 0.8  # at the peak, needed instances no busier, [0.01, 1]
    requests_per_connection: float = 100.0  # keep-alive reuse at the balancer, [1, 10^6]
    slo_attainment_target: float = 0.999  # share of minutes that must meet the SLO, [0, 1]
    price_catalog_path: str = ""  # a catalog YAML; "": the one shipped with perfcost
    seed: int = 0  # the Monte Carlo latency budget's and the simulations' seed

    def __post_init__(self):
        for f in fields(self):
            object.__setattr__(self, f.name, _CHECKS[f.name](f.name, getattr(self, f.name)))
        check_design_catalog(self.catalog(), self.model)

    @property
    def average_qps(self) -> float:
        """The day's mean request rate, peak / peak_to_average."""
        return self.peak_qps / self.peak_to_average

    @property
    def server_peak_rps(self) -> float:
        """The peak rate the model servers see: the cache's misses."""
        return self.peak_qps * (1.0 - self.cache_hit_rate)

    def catalog(self) -> Catalog:
        """The price catalog at ``price_catalog_path`` ("" loads the one shipped)."""
        return load_catalog(self.price_catalog_path)

    def changed(self, **changes) -> DesignQuestion:
        """The question with ``changes`` (validated again)."""
        return replace(self, **changes)


def check_design_catalog(catalog: Catalog, model: str) -> None:
    """Raise ParameterError naming ``price_catalog_path`` unless ``catalog`` holds what the
    design reads: the request path's latencies (the cache GET's when it prices cache nodes)
    and, for a published model, its workload on at least one of its instance types."""
    needed = {key for _, key in STAGE_FIGURES}
    if catalog.cache_nodes:
        needed.add(CACHE_FIGURE[1])
    missing = sorted(needed - set(catalog.latencies))
    if missing:
        raise ParameterError("price_catalog_path", "a catalog with latencies "
                             + ", ".join(missing), str(catalog.path))
    workload = PUBLISHED_WORKLOAD.get(model)
    if workload and not set(catalog.workload(workload)) & set(catalog.instances):
        raise ParameterError("price_catalog_path", f"a catalog with workloads.{workload} "
                             f"on one of its instance types (model {model})",
                             str(catalog.path))
