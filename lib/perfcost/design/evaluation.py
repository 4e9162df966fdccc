"""Every configuration of the design, priced over a day, and the one the chapter chooses.

A configuration is a serving option (instance type × batch size, :mod:`perfcost.design.options`)
sized at the peak (:mod:`perfcost.design.sizing`), with or without the result cache, under one
autoscaling policy (:mod:`perfcost.design.day`). Its bill (:mod:`perfcost.design.bill`) is what
the budget covers. The chosen design is

    the cheapest configuration whose fleet meets the server's p95 budget at the peak and whose
    day meets the SLO in at least ``slo_attainment_target`` of its minutes.

Attainment is the costly part (a latency-model search per serving count), so configurations are
checked cheapest first and the search stops at the first that passes.

Used by chapter 5 (design).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from perfcost.autoscaling import DayResult
from perfcost.design.bill import (
    COMPUTE,
    cache_items,
    design_bill,
    egress_items,
    hourly_means_rps,
    load_balancer_items,
    server_item,
)
from perfcost.design.day import minutes_meeting_slo, policy_days
from perfcost.design.question import DesignQuestion
from perfcost.design.sizing import PeakFleet, infeasible_fleet, size_options
from perfcost.fleet_latency import FLEET, FleetLatency
from perfcost.line_items import Bill
from perfcost.units import HOURS_PER_MONTH

__all__ = ["Configuration", "Evaluation", "evaluate_configurations"]


@dataclass(frozen=True)
class Configuration:
    """One priced configuration: a sized fleet, the cache or not, a policy, and its day."""

    fleet: PeakFleet
    cache: bool  # whether a result cache answers cache_hit_rate of requests
    policy: str  # one of perfcost.design.day.POLICY_NAMES
    day: DayResult  # the servers' day under the policy
    bill: Bill  # servers, cache, load balancer, egress
    server_budget_ms: float  # the server's share of the SLO on this request path
    model: FleetLatency = FLEET  # the latency model its minutes are checked in

    @property
    def total_usd(self) -> float:
        """What the budget covers: compute plus egress, a month."""
        return self.bill.total_usd

    @property
    def compute_usd(self) -> float:
        """Servers, cache and load balancer, a month."""
        return math.fsum(self.bill.component_usd(c) for c in COMPUTE)

    @property
    def egress_usd(self) -> float:
        """Responses to the internet, a month."""
        return self.bill.component_usd("egress")

    @property
    def egress_gb(self) -> float:
        """GB of responses a month."""
        return self.bill.quantity("egress", "GB")

    @property
    def instance_hours_month(self) -> float:
        """Model-server instance-hours a month: the day's × 730 / 24."""
        return self.day.instance_hours * HOURS_PER_MONTH / 24.0

    @property
    def label(self) -> str:
        """e.g. "c7i.xlarge, mlp_fp32, no batching, cache, target tracking"."""
        cache = "cache" if self.cache else "no cache"
        return f"{self.fleet.option.label}, {cache}, {self.policy}"

    @cached_property
    def attainment(self) -> float:
        """The share of the day's minutes whose server p95 is within budget (computed once)."""
        meets = minutes_meeting_slo(self.day, self.fleet.option, self.server_budget_ms,
                                    model=self.model)
        return float(np.mean(meets))

    def slo_attainment(self, model: FleetLatency | None = None) -> float:
        """:attr:`attainment`, or in another latency ``model``."""
        if model is None or model == self.model:
            return self.attainment
        return float(np.mean(minutes_meeting_slo(self.day, self.fleet.option,
                                                 self.server_budget_ms, model=model)))


@dataclass(frozen=True)
class Evaluation:
    """Every configuration, cheapest first; the chosen one and its SLO attainment."""

    configurations: tuple[Configuration, ...]  # feasible ones, cheapest first
    infeasible: tuple[PeakFleet, ...]  # options no fleet size serves within the budget
    infeasible_by_cache: dict[bool, tuple[PeakFleet, ...]]  # the same, by request path
    chosen: Configuration | None  # None: no configuration meets the SLO
    chosen_attainment: float  # the chosen day's share of minutes meeting the SLO (0: none)
    attainments: dict[str, float] = field(default_factory=dict)  # label → checked attainment


def _servers_day_bill(question: DesignQuestion, catalog, configuration_day: DayResult,
                      fleet: PeakFleet, cache: bool) -> Bill:
    """The bill of one configuration's day (the balancer and egress see every request)."""
    total_hourly = hourly_means_rps(configuration_day.demand_rps) / _served_share(question,
                                                                                   cache)
    instance_hours = configuration_day.instance_hours * HOURS_PER_MONTH / 24.0
    return design_bill(
        [server_item(fleet.option.instance.name, fleet.option.hourly_usd, instance_hours)],
        cache_items(catalog) if cache else [],
        load_balancer_items(catalog, total_hourly,
                            kb_per_request=question.request_kb + question.response_kb,
                            requests_per_connection=question.requests_per_connection),
        egress_items(catalog, question.average_qps, question.response_kb))


def _served_share(question: DesignQuestion, cache: bool) -> float:
    """The share of requests the servers see: the cache's misses, or all."""
    return 1.0 - question.cache_hit_rate if cache else 1.0


def configurations_for(question: DesignQuestion, catalog, fleets: Sequence[PeakFleet],
                       cache: bool, server_budget_ms: float,
                       model: FleetLatency = FLEET) -> list[Configuration]:
    """Every feasible fleet under every policy, priced."""
    found = []
    for fleet in fleets:
        if not fleet.feasible:
            continue
        days = policy_days(fleet, peak_to_average=question.peak_to_average,
                           target_utilization=question.utilization_target,
                           startup_delay_s=question.startup_delay_s)
        for policy, day in days.items():
            bill = _servers_day_bill(question, catalog, day, fleet, cache)
            found.append(Configuration(fleet, cache, policy, day, bill, server_budget_ms,
                                       model))
    return found


def evaluate_configurations(question: DesignQuestion, catalog, options, *,
                            server_budget_ms: Callable[[bool], float],
                            model: FleetLatency = FLEET) -> Evaluation:
    """Size, price and check every configuration; choose the cheapest that meets the SLO.

    ``server_budget_ms(cache)`` is the server's share of the SLO on the request path with or
    without the cache (:func:`perfcost.design.latency.server_budget_ms`).
    """
    configurations, infeasible = [], {}
    for cache in cache_choices(question, catalog):
        budget_ms = server_budget_ms(cache)
        server_rps = question.peak_qps * _served_share(question, cache)
        if budget_ms > 0:
            fleets = size_options(options, server_rps, budget_ms, model=model,
                                  max_utilization=question.max_utilization)
        else:
            reason = (f"the other stages' p95s leave the server no share of the "
                      f"{question.p95_slo_ms:g} ms SLO")
            fleets = [infeasible_fleet(option, server_rps, reason) for option in options]
        configurations += configurations_for(question, catalog, fleets, cache, budget_ms, model)
        infeasible[cache] = tuple(fleet for fleet in fleets if not fleet.feasible)
    configurations.sort(key=lambda c: (c.total_usd, c.fleet.server_p95_ms))
    chosen, attainment, checked = _first_meeting(configurations, question, model)
    every = tuple(fleet for fleets in infeasible.values() for fleet in fleets)
    return Evaluation(tuple(configurations), every, infeasible, chosen, attainment, checked)


def cache_choices(question: DesignQuestion, catalog) -> tuple[bool, ...]:
    """Without the cache always; with it too when requests hit it and the catalog prices it."""
    has_nodes = bool(getattr(catalog, "cache_nodes", {}))
    return (False, True) if question.cache_hit_rate > 0 and has_nodes else (False,)


def _first_meeting(configurations: Sequence[Configuration], question: DesignQuestion,
                   model: FleetLatency) -> tuple[Configuration | None, float, dict]:
    checked = {}
    for configuration in configurations:
        attainment = configuration.slo_attainment(model)
        checked[configuration.label] = attainment
        if attainment >= question.slo_attainment_target:
            return configuration, attainment, checked
    return None, 0.0, checked
