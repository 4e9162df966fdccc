"""The chosen fleet over a day: three autoscaling policies, and the minutes that meet the SLO.

Each policy runs :func:`perfcost.autoscaling.simulate_day` on the servers' demand (the diurnal
curve after the cache). A minute *meets the SLO* when its serving instances, at that minute's
rate, keep the server's p95 within its budget in chapter 1's latency model. For n serving
instances the highest such rate is a ceiling found once per n
(:func:`perfcost.fleet_quantiles.max_utilization_for_quantile`), so a day costs one search per
distinct count, not per minute:

    meets(k) = demand(k) <= ceiling(serving(k)),   attainment = mean over k of meets(k).

The fixed fleet is the peak sizing's count all day (needed + 1, at least two); target tracking
and scheduled tracking follow the day at ``target_utilization``, at least two instances.

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
from perfcost.design.sizing import PeakFleet
from perfcost.fleet_latency import FLEET, FleetLatency
from perfcost.fleet_quantiles import max_utilization_for_quantile
from perfcost.instance_types import slots_per_instance

__all__ = ["POLICY_NAMES", "FixedFleet", "minutes_meeting_slo", "policy_days"]

POLICY_NAMES = ("fixed at peak (N+1)", "target tracking", "scheduled + tracking")
MIN_INSTANCES = 2  # two availability zones


@dataclass(frozen=True)
class FixedFleet:
    """The peak sizing's fleet all day: needed at the peak's p95, plus one, at least two."""

    instances: int  # the count ordered at every step

    def ordered_instances(self, plan: DayPlan) -> np.ndarray:
        """Order ``instances`` at every step."""
        return np.full(plan.needed_instances.size, self.instances, dtype=np.int64)


def _policies(fleet: PeakFleet) -> dict[str, object]:
    tracking = TargetTracking(min_instances=MIN_INSTANCES)
    return dict(zip(POLICY_NAMES, (FixedFleet(fleet.instances), tracking,
                                   ScheduledTracking(tracking)), strict=True))


def policy_days(fleet: PeakFleet, *, peak_to_average: float, target_utilization: float,
                startup_delay_s: float) -> dict[str, DayResult]:
    """Simulate the day of each policy in :data:`POLICY_NAMES` for a feasible ``fleet``."""
    return {name: simulate_day(policy, peak_rps=fleet.server_rps,
                               peak_to_average=peak_to_average,
                               instance_capacity_rps=fleet.option.throughput_rps,
                               target_utilization=target_utilization,
                               startup_delay_s=startup_delay_s)
            for name, policy in _policies(fleet).items()}


def minutes_meeting_slo(day: DayResult, option: ServingOption, server_budget_ms: float, *,
                        model: FleetLatency = FLEET) -> np.ndarray:
    """Per step of ``day``: whether its serving instances keep the server's p95 in budget."""
    ceiling = _ceiling_rps(option.instance_type(), server_budget_ms - option.max_wait_ms, model)
    counts = np.unique(day.serving_instances)
    ceilings = dict(zip(counts.tolist(), (ceiling(int(n)) for n in counts), strict=True))
    limit = np.array([ceilings[int(n)] for n in day.serving_instances])
    return day.demand_rps <= limit


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
