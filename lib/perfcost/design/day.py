"""The chosen fleet over a day: three autoscaling policies, and the minutes that meet the SLO.

Each policy runs :func:`perfcost.autoscaling.simulate_day` on the servers' demand (the diurnal
curve after the cache). A minute *meets the SLO* when its serving instances, at that minute's
rate, keep the server's p95 within its budget in chapter 1's latency model. For n serving
instances the highest such rate is a ceiling found once per n
(:func:`perfcost.fleet_quantiles.max_utilization_for_quantile`), so a day costs one search per
distinct count, not per minute:

    meets(k) = demand(k) <= ceiling(serving(k)),   attainment = mean over k of meets(k).

The fixed fleet is the peak sizing's count all day (needed + 1, at least two). Target tracking
and scheduled tracking follow the day at a utilisation target with the same redundancy: one
spare above the desired count, at least two instances. Their target is the reader's, or by
default (0) the utilisation the peak sizing runs its needed instances at,
server_rps / (needed × throughput), so that at the peak every policy orders the same fleet and
any saving is the off-peak hours'.

Used by chapter 5 (design).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from perfcost.autoscaling import (
    DayPlan,
    DayResult,
    ScheduledTracking,
    TargetTracking,
    simulate_day,
)
from perfcost.design.options import ServingOption
from perfcost.design.sizing import PeakFleet, server_p95_ms
from perfcost.fleet_latency import FLEET, FleetLatency
from perfcost.fleet_quantiles import max_utilization_for_quantile
from perfcost.instance_types import MIN_UTILIZATION_TARGET, slots_per_instance

__all__ = ["POLICY_NAMES", "FixedFleet", "minutes_meeting_slo", "policy_days",
           "tracking_target"]

POLICY_NAMES = ("fixed at peak (N+1)", "target tracking", "scheduled + tracking")
MIN_INSTANCES = 2  # two availability zones


@dataclass(frozen=True)
class FixedFleet:
    """The peak sizing's fleet all day: needed at the peak's p95, plus one, at least two."""

    instances: int  # the count ordered at every step

    def ordered_instances(self, plan: DayPlan) -> np.ndarray:
        """Order ``instances`` at every step."""
        return np.full(plan.needed_instances.size, self.instances, dtype=np.int64)


SPARE_INSTANCES = 1  # every policy survives losing one instance


def tracking_target(fleet: PeakFleet, utilization_target: float) -> float:
    """The tracking target: ``utilization_target``, or for 0 the peak sizing's utilisation,
    server_rps / (needed × throughput), within [0.01, 1]."""
    if utilization_target > 0:
        return utilization_target
    peak = fleet.server_rps / (max(fleet.needed, 1) * fleet.option.throughput_rps)
    return float(np.clip(peak, MIN_UTILIZATION_TARGET, 1.0))


def _policies(fleet: PeakFleet) -> dict[str, object]:
    tracking = TargetTracking(min_instances=MIN_INSTANCES, spare_instances=SPARE_INSTANCES)
    return dict(zip(POLICY_NAMES, (FixedFleet(fleet.instances), tracking,
                                   ScheduledTracking(tracking)), strict=True))


def policy_days(fleet: PeakFleet, *, peak_to_average: float, target_utilization: float,
                startup_delay_s: float) -> dict[str, DayResult]:
    """Simulate the day of each policy in :data:`POLICY_NAMES` for a feasible ``fleet``."""
    return {name: simulate_day(policy, peak_rps=fleet.server_rps,
                               peak_to_average=peak_to_average,
                               instance_capacity_rps=fleet.option.throughput_rps,
                               target_utilization=tracking_target(fleet,
                                                                 target_utilization),
                               startup_delay_s=startup_delay_s)
            for name, policy in _policies(fleet).items()}


def minutes_meeting_slo(day: DayResult, option: ServingOption, server_budget_ms: float, *,
                        model: FleetLatency = FLEET) -> np.ndarray:
    """Per step of ``day``: whether its serving instances keep the server's p95 in budget.

    Each request is first charged the whole ``max_wait_ms``. The highest utilisation that meets
    the budget rises with the fleet (a bigger fleet pools more), so the smallest serving count's
    ceiling clears most steps at once; the steps above it are checked against their own count's
    ceiling (one search per count), then, for a batching option, exactly (the batch wait the fill
    time at the step's rate).
    """
    ceiling = _ceiling_rps(option.instance_type(), server_budget_ms - option.max_wait_ms, model)
    serving = day.serving_instances
    smallest = int(serving.min())
    lowest_rho = ceiling(smallest) / max(smallest * option.throughput_rps, 1e-300)
    meets = day.demand_rps <= lowest_rho * serving * option.throughput_rps
    for n in np.unique(serving[~meets]):
        steps = ~meets & (serving == n)
        meets[steps] = day.demand_rps[steps] <= ceiling(int(n))
    if option.batch > 1:
        for k in np.flatnonzero(~meets):
            meets[k] = _meets_exactly(option, int(serving[k]), float(day.demand_rps[k]),
                                      server_budget_ms, model)
    return meets


def _meets_exactly(option: ServingOption, count: int, rate_rps: float, budget_ms: float,
                   model: FleetLatency) -> bool:
    """Whether ``count`` instances at ``rate_rps`` keep the server's p95 within budget."""
    if count == 0 or rate_rps >= count * option.throughput_rps:
        return False
    return server_p95_ms(option, count, rate_rps, model) <= budget_ms


def _ceiling_rps(instance, budget_ms: float, model: FleetLatency):
    """n -> the highest rate n instances serve within ``budget_ms`` at p95 (0 for n = 0)."""
    slots = slots_per_instance(instance)
    slot_ms = 1000.0 * slots / instance.throughput_rps

    def ceiling(count: int) -> float:
        if count == 0 or budget_ms <= 0:
            return 0.0
        rho = max_utilization_for_quantile(slot_ms, count, budget_ms, model=model, slots=slots)
        return rho * count * instance.throughput_rps

    return ceiling
