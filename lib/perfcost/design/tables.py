"""Tables and spot checks of a design: the frontier, the policies' days, the peak minute.

* :func:`frontier_table`: every feasible fleet with and without the cache, at its cheapest
  policy, with its end-to-end p95 at the peak; ``on_frontier`` marks the configurations no
  other beats on both cost and p95 (the Pareto frontier);
* :func:`policy_table`: the chosen fleet's three policies side by side;
* :func:`day_frame`: the chosen fleet's day, per minute and policy (for the chart);
* :func:`peak_minute_check`: the peak minute replayed request by request through chapter 3's
  batching simulator, one core of one instance (a random share of the traffic), against the
  fleet model's server p95.

Used by chapter 5 (design).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from perfcost.batching.policy import StaticBatching
from perfcost.batching.simulator import simulate
from perfcost.design.day import POLICY_NAMES, minutes_meeting_slo
from perfcost.design.latency import end_to_end_p95_ms
from perfcost.design.service import (
    P95_SAMPLES,
    Design,
    peak_server_samples_ms,
    peak_serving_instances,
)
from perfcost.design.sizing import server_p95_ms
from perfcost.fleet_latency import FLEET, FleetLatency
from perfcost.latency_budget import budget_table
from perfcost.traffic import poisson_arrivals

__all__ = [
    "batch_timing_table",
    "budget_sums",
    "cheapest_by",
    "day_frame",
    "excluded_table",
    "frontier_table",
    "kinds_left_out",
    "latency_budget_table",
    "peak_minute_check",
    "policy_table",
    "published_table",
    "request_path_table",
    "why_no_batching",
    "why_no_cache",
]

FRONTIER_SAMPLES = 20_000  # Monte Carlo draws per configuration's p95
FRONTIER_COLUMNS = ["configuration", "instance_type", "kind", "batch", "cache", "policy",
                    "instances", "total_usd", "p95_ms", "chosen"]


def _cheapest_per_fleet(design: Design, model: FleetLatency) -> list:
    """Per (fleet, cache): the cheapest policy whose day meets the attainment target."""
    target = design.question.slo_attainment_target
    seen, kept = set(), []
    for configuration in design.evaluation.configurations:  # cheapest first
        if configuration.slo_attainment(model) < target:
            continue
        key = (configuration.fleet.option.label, configuration.cache)
        if key not in seen:
            seen.add(key)
            kept.append(configuration)
    return kept


def frontier_table(design: Design, *, model: FleetLatency = FLEET) -> pd.DataFrame:
    """One row per feasible (fleet, cache) at its cheapest policy: cost a month, instances at
    the peak and end-to-end p95 at the peak (as the design's own are computed)."""
    question, rows = design.question, []
    for c in _cheapest_per_fleet(design, model):
        chosen = c.fleet == design.chosen.fleet and c.cache == design.chosen.cache
        if chosen and model == c.model:
            p95_ms = design.p95_ms_at_peak  # the headline's own figure
        else:
            server = peak_server_samples_ms(c, question.cache_hit_rate,
                                            samples=FRONTIER_SAMPLES, seed=question.seed,
                                            model=model)
            p95_ms = end_to_end_p95_ms(design.stages_by_cache[c.cache], server,
                                       samples=FRONTIER_SAMPLES, seed=question.seed)
        rows.append({"configuration": f"{c.fleet.option.label}, "
                                      f"{'cache' if c.cache else 'no cache'}",
                     "instance_type": c.fleet.option.instance.name,
                     "kind": c.fleet.option.instance.kind, "batch": c.fleet.option.batch,
                     "cache": c.cache, "policy": c.policy, "instances": c.day.peak_instances,
                     "total_usd": c.total_usd, "p95_ms": p95_ms,
                     "chosen": chosen})
    table = pd.DataFrame(rows, columns=FRONTIER_COLUMNS)
    return table.assign(on_frontier=_pareto(table).astype(bool))


def _pareto(table: pd.DataFrame) -> np.ndarray:
    """Rows that no other row beats on both total_usd and p95_ms (ties kept)."""
    cost, p95 = table["total_usd"].to_numpy(), table["p95_ms"].to_numpy()
    beaten = [np.any((cost <= c) & (p95 <= p) & ((cost < c) | (p95 < p)))
              for c, p in zip(cost, p95, strict=True)]
    return ~np.array(beaten, dtype=bool)


def policy_table(design: Design, *, model: FleetLatency = FLEET) -> pd.DataFrame:
    """The chosen fleet under each policy: instances, instance-hours, cost, SLO attainment."""
    rows = [{"policy": c.policy, "instances_peak": c.day.peak_instances,
             "instances_average": c.day.average_instances,
             "instance_hours_month": c.instance_hours_month,
             "servers_usd": c.bill.component_usd("servers"), "total_usd": c.total_usd,
             "slo_attainment": c.slo_attainment(model),
             "overloaded_minutes": c.day.overloaded_minutes} for c in design.policies]
    order = {name: i for i, name in enumerate(POLICY_NAMES)}
    return pd.DataFrame(rows).sort_values("policy", key=lambda s: s.map(order),
                                          ignore_index=True)


def day_frame(design: Design, *, model: FleetLatency = FLEET) -> pd.DataFrame:
    """Per minute and policy: the servers' demand, instances serving and ordered, SLO met."""
    frames = []
    for c in design.policies:
        day = c.day
        meets = minutes_meeting_slo(day, c.fleet.option, c.server_budget_ms, model=model)
        frames.append(pd.DataFrame({
            "policy": c.policy, "hour": np.arange(day.demand_rps.size) * day.step_s / 3600,
            "demand_rps": day.demand_rps, "serving": day.serving_instances,
            "ordered": day.ordered_instances, "meets_slo": meets}))
    return pd.concat(frames, ignore_index=True)


def peak_minute_check(design: Design, profiles: dict, *, duration_s: float = 60.0,
                      model: FleetLatency = FLEET) -> dict | None:
    """The peak minute on one core of the chosen fleet: simulated p95 against the model's.

    Arrivals are Poisson at one batcher's share, server_rps / (instances × batchers); the core
    batches with the chosen batch size and wait (chapter 3's simulator, static batching) at the
    measured busy time per batch (the variant's ``service_time()`` in ``profiles``). The
    model's p95 is the fleet's (least outstanding requests across instances), so the core's
    random share is the pessimistic case. None for a published model: there is no measured
    service curve to simulate.
    """
    fleet = design.chosen.fleet
    option = fleet.option
    variant = option.model.removeprefix("mlp_")
    if variant not in profiles:
        return None
    instances = peak_serving_instances(design.chosen)
    core_rps = fleet.server_rps / (instances * option.batchers)
    arrivals = poisson_arrivals(core_rps, duration_s, seed=design.question.seed)
    result = simulate(arrivals, service=profiles[variant].service_time(),
                      controller=StaticBatching(option.max_wait_ms, option.batch))
    model_ms = server_p95_ms(option, instances, fleet.server_rps, model)
    return {"instances": instances, "core_rps": core_rps, "requests": arrivals.size,
            "simulated_p95_ms": result.latency_quantile_ms(0.95), "model_p95_ms": model_ms,
            "server_budget_ms": design.chosen.server_budget_ms}


def cheapest_by(frontier: pd.DataFrame, column: str) -> dict:
    """The cheapest row of ``frontier`` for each value of ``column`` (e.g. cache, kind)."""
    if not len(frontier):
        return {}
    rows = frontier.sort_values(["total_usd", "p95_ms"]).groupby(column, sort=False).head(1)
    return {value: row for value, row in zip(rows[column], rows.to_dict("records"),
                                              strict=True)}


def batch_timing_table(profiles: dict) -> pd.DataFrame:
    """Model time per call and per-core rate at each measured batch size, per variant."""
    rows = [{"variant": name, "batch": b, "model_ms": ms, "low_ms": low, "high_ms": high,
             "model_only_per_core_rps": 1000.0 * b / ms}
            for name, p in profiles.items()
            for b, ms, low, high in zip(p.batch_sizes, p.batch_ms, p.batch_low_ms,
                                        p.batch_high_ms, strict=True)]
    return pd.DataFrame(rows)


def request_path_table(path, server) -> pd.DataFrame:
    """The in-process path stage by stage, then the loopback server's CPU per request."""
    rows = [{"stage": stage, "ms": ms, "low_ms": path.stage_low_ms[stage],
             "high_ms": path.stage_high_ms[stage]} for stage, ms in path.stage_ms.items()]
    rows.append({"stage": "in-process total", "ms": path.total_ms,
                 "low_ms": path.total_low_ms, "high_ms": path.total_high_ms})
    rows.append({"stage": "HTTP server on loopback, CPU per request",
                 "ms": server.cpu_ms_per_request, "low_ms": server.cpu_low_ms,
                 "high_ms": server.cpu_high_ms})
    return pd.DataFrame(rows)


def published_table(catalog, workload: str) -> pd.DataFrame:
    """A workload's published figures per instance type, with what was measured and when."""
    return pd.DataFrame([{
        "instance": name, "throughput_rps": w.throughput_rps, "latency_ms": w.latency_ms,
        "statistic": w.latency_statistic, "batch": w.batch or "dynamic",
        "as_of": str(w.as_of), "source": w.source.key}
        for name, w in catalog.workload(workload).items()])


def latency_budget_table(design: Design, *, samples: int = P95_SAMPLES, seed: int | None = None,
                         model: FleetLatency = FLEET) -> pd.DataFrame:
    """The chosen request path's stages and server at the peak: p50 and p95 of each, their
    sum and the simulated end-to-end figures (:func:`perfcost.latency_budget.budget_table`),
    the server as the design's p95 at the peak computes it (cache hits take 0 there)."""
    seed = design.question.seed if seed is None else seed
    server = peak_server_samples_ms(design.chosen, design.question.cache_hit_rate,
                                    samples=samples, seed=seed, model=model)
    return budget_table(design.stages, server, 0.95, samples=samples, seed=seed)


def budget_sums(table: pd.DataFrame) -> tuple[float, float]:
    """(sum of the stage p95s, simulated end-to-end p95) from a latency budget table."""
    return float(table["quantile_ms"].iloc[-2]), float(table["quantile_ms"].iloc[-1])


def why_no_batching(design: Design) -> str:
    """Why the smallest batched option is infeasible, on the chosen instance type if it has
    one, else on any; the first reason found, as :func:`kinds_left_out` quotes it ("" if no
    batched option is infeasible)."""
    chosen = design.chosen.fleet.option.instance.name
    batched = [(fleet.option.instance.name != chosen, fleet.option.batch, i, fleet)
               for i, fleet in enumerate(design.evaluation.infeasible) if fleet.option.batch > 1]
    if not batched:
        return ""
    fleet = min(batched, key=lambda row: row[:3])[3]
    return f"{fleet.option.instance.name}: {fleet.reason}"


def why_no_cache(design: Design) -> str:
    """Why no configuration with the cache is feasible ("" if one is or none was tried)."""
    if any(c.cache for c in design.evaluation.configurations):
        return ""
    fleets = design.evaluation.infeasible_by_cache.get(True, ())
    return fleets[0].reason if fleets else ""


def kinds_left_out(design: Design) -> dict[str, str]:
    """Each instance kind (cpu, gpu, accelerator) with no feasible option, and the first
    reason found."""
    feasible = {c.fleet.option.instance.kind for c in design.evaluation.configurations}
    left = {}
    for fleet in design.evaluation.infeasible:
        kind = fleet.option.instance.kind
        if kind not in feasible:
            name = fleet.option.instance.name  # named once, where the reason already does
            reason = fleet.reason if fleet.reason.startswith(name) else f"{name}: {fleet.reason}"
            left.setdefault(kind, reason)
    return left


def excluded_table(design: Design) -> pd.DataFrame:
    """The options no fleet of which serves the peak within the server's budget, with or
    without the cache, and why (the first reason found)."""
    feasible = {c.fleet.option.label for c in design.evaluation.configurations}
    rows, seen = [], set(feasible)
    for fleet in design.evaluation.infeasible:
        if fleet.option.label not in seen:
            seen.add(fleet.option.label)
            rows.append({"option": fleet.option.label, "why": fleet.reason})
    return pd.DataFrame(rows, columns=["option", "why"])
