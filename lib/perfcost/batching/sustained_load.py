"""Cost that means money: the load a policy's fleet sustains, and the fleet a load needs.

GPU busy time is the same bill for every policy on a fixed fleet, so :func:`sustainable_load`
finds by bisection the highest multiplier of a trace's rate a policy serves with the SLO met in
at least ``quantile`` of windows, :func:`instances_needed` the fewest instances that carry a
given multiplier, and :func:`capacity_table` both for every trace and policy of an evaluation.

A trace is passed as a function of the load multiplier returning arrival times
(:class:`~perfcost.batching.traces.Scaled`), so it is redrawn at each load, not compressed in
time.

Used by chapter 3 (batching).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from perfcost.batching.evaluation import PolicyFactory, baseline_policies, policy_for
from perfcost.batching.policy import MAX_INSTANCES, check_slo
from perfcost.batching.scorecard import summarize
from perfcost.batching.service import LinearServiceTime, check_service
from perfcost.batching.simulator import simulate
from perfcost.batching.traces import TraceFactory
from perfcost.parallel import mapped
from perfcost.traffic import check_arrival_times
from perfcost.validation import (
    ParameterError,
    fraction,
    integer_in_range,
    positive,
    seed_value,
)

__all__ = ["CAPACITY_POLICIES", "LOAD_BRACKET", "LOAD_STEPS", "SUSTAINED_SHARE",
           "capacity_table", "instances_needed", "sustainable_load"]

SUSTAINED_SHARE = 0.99  # a load is sustained when the SLO holds in this share of windows
MAX_BISECTION_STEPS = 20  # 2^-20 of the bracket: far finer than any load estimate
MAX_MULTIPLIER = 1000.0
MAX_EVAL_REQUESTS = 5e7  # requests in one simulation of a scaled trace (seconds of work)


def _scaled(trace: TraceFactory, multiplier: float) -> np.ndarray:
    if not callable(trace):
        raise ParameterError("trace", "a function of the load multiplier", trace)
    times = check_arrival_times("trace(multiplier)", trace(multiplier))
    if times.size > MAX_EVAL_REQUESTS:
        raise ParameterError("trace(multiplier)", f"at most {MAX_EVAL_REQUESTS:.0e} requests",
                             times.size)
    return times


def _attains(trace: TraceFactory, multiplier: float, policy: PolicyFactory, *, service,
             slo_p95_ms: float, instances: int, seed: int, quantile: float,
             window_s: float) -> bool:
    result = simulate(_scaled(trace, multiplier), service=service, controller=policy(),
                      instances=instances, seed=seed)
    return summarize(result, slo_p95_ms, window_s)["slo_attainment"] >= quantile


def sustainable_load(trace: TraceFactory, policy: PolicyFactory, *,
                     service: LinearServiceTime, slo_p95_ms: float, instances: int = 1,
                     seed: int = 0, quantile: float = SUSTAINED_SHARE, window_s: float = 10.0,
                     low: float = 0.125, high: float = 8.0, steps: int = 8) -> float:
    """The highest load multiplier of ``trace`` that ``policy`` serves with the SLO met in at
    least ``quantile`` of windows: bisection on a log scale between ``low`` and ``high``.

    Returns ``low`` (or 0.0 when even ``low`` fails) up to ``high`` (when it passes); in
    between, a multiplier that passes, within a factor (high/low)^(2^-steps) of the boundary.
    ``steps`` is in [1, 20], ``low`` < ``high`` in (0, 1000]. When 1 is inside the bracket the
    trace as it is decides which half is searched: a policy that serves it is searched above
    1, one that does not below. Within that half, attainment is assumed to fall as load rises.
    (Below the trace's own load that can fail: a static window makes every request wait it
    out when load is light; such a failure is not a capacity limit, and starting at 1 keeps
    it from being read as one.)
    """
    service = check_service(service)
    low = positive("low", low, maximum=MAX_MULTIPLIER)
    high = positive("high", high, maximum=MAX_MULTIPLIER)
    if not low < high:
        raise ParameterError("high", f"> low = {low:g}", high)
    steps = integer_in_range("steps", steps, 1, MAX_BISECTION_STEPS)
    quantile = fraction("quantile", quantile, low_open=True)
    run = dict(service=service, slo_p95_ms=check_slo(slo_p95_ms),
               instances=integer_in_range("instances", instances, 1, MAX_INSTANCES),
               seed=seed_value(seed), quantile=quantile, window_s=window_s)
    if not callable(policy):
        raise ParameterError("policy", "a function returning a fresh policy", policy)
    # The trace as it is splits the bracket: above it, more load can only hurt; below it, a
    # window configuration can fail because requests wait out the window (not capacity).
    if low < 1.0 < high:
        low, high = (1.0, high) if _attains(trace, 1.0, policy, **run) else (low, 1.0)
    if _attains(trace, high, policy, **run):
        return high
    if not _attains(trace, low, policy, **run):
        return 0.0
    for _ in range(steps):
        middle = math.sqrt(low * high)
        low, high = (middle, high) if _attains(trace, middle, policy, **run) else (low, middle)
    return low


def instances_needed(trace: TraceFactory, policy: PolicyFactory, *, service: LinearServiceTime,
                     slo_p95_ms: float, multiplier: float = 1.0, seed: int = 0,
                     quantile: float = SUSTAINED_SHARE, window_s: float = 10.0,
                     max_instances: int = 64) -> int | None:
    """The fewest instances with which ``policy`` serves ``trace`` at ``multiplier`` with the SLO
    met in at least ``quantile`` of windows; None when ``max_instances`` (<= 10,000) do not.

    Doubles the count until it passes, then bisects between the last failing and the first
    passing count (assumes more instances never do worse).
    """
    service = check_service(service)
    max_instances = integer_in_range("max_instances", max_instances, 1, MAX_INSTANCES)
    multiplier = positive("multiplier", multiplier, maximum=MAX_MULTIPLIER)
    run = dict(service=service, slo_p95_ms=check_slo(slo_p95_ms),
               seed=seed_value(seed), quantile=fraction("quantile", quantile, low_open=True),
               window_s=window_s)
    if not callable(policy):
        raise ParameterError("policy", "a function returning a fresh policy", policy)
    failing, count = 0, 1
    while not _attains(trace, multiplier, policy, instances=count, **run):
        if count >= max_instances:
            return None
        failing, count = count, min(max_instances, 2 * count)
    while count - failing > 1:
        middle = (failing + count) // 2
        if _attains(trace, multiplier, policy, instances=middle, **run):
            count = middle
        else:
            failing = middle
    return count


CAPACITY_POLICIES = ("controller", "AIMD (Clipper)", "single static")
LOAD_BRACKET = (0.25, 4.0)  # load multipliers searched: a quarter to four times the trace
LOAD_STEPS = 5  # bisection steps within the half of the bracket searched: 4^(1/32), 4.4%


def capacity_table(traces: Mapping[str, TraceFactory], case: pd.DataFrame, *,
                   service: LinearServiceTime, slo_p95_ms: float, instances: int = 1,
                   seed: int = 0, services: Mapping[str, LinearServiceTime] | None = None,
                   policies: Sequence[str] = CAPACITY_POLICIES,
                   low: float = LOAD_BRACKET[0], high: float = LOAD_BRACKET[1],
                   steps: int = LOAD_STEPS,
                   workers: int = 1, client=None) -> pd.DataFrame:
    """What each policy's fleet can carry: cost that means money on a fixed fleet.

    For every trace (a function of the load multiplier) and policy: ``sustainable_load``, the
    highest multiplier served with the SLO met in 99% of 10 s windows on ``instances``
    instances (:func:`sustainable_load`, bisection between ``low`` and ``high`` in ``steps``;
    0.0 when even ``low`` fails), and ``instances_needed``, the fewest instances that serve
    the trace as it is (:func:`instances_needed`; <NA> when 8 × ``instances`` do not).
    Policies are names of :func:`~perfcost.batching.baseline_policies` or static rows of
    ``case`` (an :func:`~perfcost.batching.evaluate` table: ``single static``, ``hindsight
    optimum``), each with the configuration it had on that trace. Traces must pickle
    (:class:`~perfcost.batching.Scaled` does) when ``workers`` > 1 or with ``client``, a
    Dask client whose cluster runs the jobs instead (:func:`perfcost.parallel.mapped`).
    """
    service = check_service(service)
    factories = baseline_policies(slo_p95_ms, service)
    most = min(8 * integer_in_range("instances", instances, 1, MAX_INSTANCES), MAX_INSTANCES)
    jobs = [(trace, policy_for(policy, name, case, factories),
             dict(service=(services or {}).get(name, service), slo_p95_ms=slo_p95_ms,
                  seed=seed), instances, (low, high, steps), most)
            for name, trace in traces.items() for policy in policies]
    found = mapped(_capacity_of, jobs, workers=workers, client=client)
    rows = [{"trace": name, "policy": policy} for name in traces for policy in policies]
    table = pd.DataFrame(rows)
    table["sustainable_load"] = [load for load, _ in found]
    table["instances_needed"] = pd.array([n for _, n in found], dtype="Int64")
    return table


def _capacity_of(trace, make, run, instances, bracket, most) -> tuple[float, int | None]:
    """(sustainable load on ``instances``, instances needed at the trace's own load)."""
    low, high, steps = bracket
    load = sustainable_load(trace, make, instances=instances, low=low, high=high,
                            steps=steps, **run)
    return load, instances_needed(trace, make, max_instances=most, **run)

