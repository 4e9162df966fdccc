"""The pieces the exercise solutions of chapters 1 and 2 compute with."""

import math

import numpy as np
import pandas as pd
import pytest

from perfcost.book import capacity_exercises, cost_exercises
from perfcost.capacity import QuantileRule, UtilizationRule
from perfcost.cost import CostQuestion
from perfcost.fleet_latency import FleetLatency
from perfcost.instance_types import InstanceType
from perfcost.levers import standard_levers
from perfcost.pricing import Tier, load_catalog
from perfcost.rightsizing import rightsize_lever, rightsizing_options
from perfcost.savings import plan_savings
from perfcost.validation import ParameterError
from perfcost.what_if import bill_sensitivity

# One slot (100 requests/s x 10 ms), random routing, exponential service: each instance is an
# M/M/1 queue, whose p95 response is ln(20) / (mu - lambda). With a 50 ms SLO one instance
# meets it up to lambda = 100 - ln(20) / 0.05 = 40.09 requests/s, while the 70% rule keeps one
# instance up to 70 requests/s.
MM1 = InstanceType("mm1", 100.0, 1.0, 10.0)
EXPONENTIAL_RANDOM = FleetLatency("random", 1.0)
RULE = UtilizationRule(0.7, EXPONENTIAL_RANDOM)
P95 = QuantileRule(0.95, EXPONENTIAL_RANDOM)
CATALOG = load_catalog()
LADDER = (Tier(100.0, 0.0), Tier(10_000.0, 0.09), Tier(math.inf, 0.05))


def test_the_rule_under_provisions_where_its_mm1_fleet_misses_the_slo():
    table = capacity_exercises.rule_shortfall(MM1, [10, 30, 50, 69, 120, 200], 50.0, RULE, P95)
    assert table["under"].tolist() == [False, False, True, True, True, True]
    assert table["rule_count"].tolist() == [1, 1, 1, 1, 2, 3]
    assert table.loc[2, "rule_p95_ms"] == pytest.approx(1000 * math.log(20) / 50)
    assert table.loc[2, "needed_count"] == 2  # 25 requests/s each: 40 ms
    said = capacity_exercises.shortfall_verdict(table, "mm1")
    assert "at 4 of the 6 rates checked" in said
    assert "first at 50 requests/s, where it buys 1 and the p95 needs 2" in said


def test_a_rule_that_meets_the_slo_never_under_provisions():
    table = capacity_exercises.rule_shortfall(MM1, np.linspace(1, 300, 30), 1000.0, RULE, P95)
    assert not table["under"].any()
    assert "never under-provisions mm1" in capacity_exercises.shortfall_verdict(table, "mm1")


def test_an_option_slower_than_the_slo_is_dropped_not_under_provisioned():
    table = capacity_exercises.rule_shortfall(MM1, [10.0], 5.0, RULE, P95)
    assert math.isnan(table.loc[0, "rule_count"]) and math.isnan(table.loc[0, "needed_count"])
    assert not table.loc[0, "under"]


def test_the_shortfall_verdict_refuses_anything_but_a_shortfall_table():
    with pytest.raises(ParameterError, match="table"):
        capacity_exercises.shortfall_verdict(pd.DataFrame({"x": [1]}), "mm1")


def test_the_first_paid_tier_fills_at_its_bound_over_the_gb_per_request_per_second():
    per_rps_gb = 10 * 1e3 * 730 * 3600 / 1e9  # 10 kB responses, a 730-hour month: 26.28 GB
    assert cost_exercises.first_paid_tier_end_rps(LADDER, 10.0, 730.0) == pytest.approx(
        10_000 / per_rps_gb)
    no_free_tier = (Tier(500.0, 0.1), Tier(math.inf, 0.05))
    assert cost_exercises.first_paid_tier_end_rps(no_free_tier, 10.0, 730.0) == pytest.approx(
        500 / per_rps_gb)


@pytest.mark.parametrize("tiers, response_kb", [
    (LADDER, 0.0),                                      # nothing is sent
    ((Tier(math.inf, 0.09),), 10.0),                    # one flat price
    ((Tier(100.0, 0.0), Tier(math.inf, 0.0)), 10.0),    # every tier free
])
def test_no_rate_fills_a_first_paid_tier_that_does_not_end(tiers, response_kb):
    assert cost_exercises.first_paid_tier_end_rps(tiers, response_kb, 730.0) == math.inf
    assert "no request rate fills" in cost_exercises.tier_end_verdict(math.inf, (1.0, 2.0), 10.0)


def test_the_bend_is_found_after_the_free_stretch():
    values = np.arange(1.0, 11.0)
    usd = np.where(values <= 2, 0.0, np.minimum(3 * (values - 2), 12 + (values - 6)))
    sweep = pd.DataFrame({"value": values, "component": "egress", "monthly_usd": usd})
    assert cost_exercises.slope_change_rps(sweep, "egress", 3.0) == (6.0, 7.0)
    assert all(math.isnan(v) for v in cost_exercises.slope_change_rps(sweep, "egress", 5.0))
    with pytest.raises(ParameterError, match="component"):
        cost_exercises.slope_change_rps(sweep, "compute", 3.0)


def test_the_chapters_sweep_bends_where_the_first_paid_tier_ends():
    service = CostQuestion().service
    sweep = bill_sensitivity(service, CATALOG, "request_rate_rps", np.linspace(5, 800, 160))
    end_rps = cost_exercises.first_paid_tier_end_rps(CATALOG.internet_egress, service.response_kb,
                                              service.hours_per_month)
    per_rps_usd = 0.09 * service.response_kb * 1e3 * service.hours_per_month * 3600 / 1e9
    low, high = cost_exercises.slope_change_rps(sweep, "egress", per_rps_usd)
    assert low <= end_rps <= high and high - low == pytest.approx(5.0)
    said = cost_exercises.tier_end_verdict(end_rps, (low, high), 800.0)
    assert said.endswith("which holds it")
    assert "NOT" in cost_exercises.tier_end_verdict(end_rps, (high, high + 5), 800.0)
    beyond = cost_exercises.tier_end_verdict(end_rps, (low, high), 100.0)
    assert "beyond the chart's top rate" in beyond
    assert "too far apart" in cost_exercises.tier_end_verdict(end_rps, (math.nan, math.nan), 800.0)


@pytest.mark.parametrize("changes", [{}, {"peak_to_average": 1.65, "savings_target": 0.45},
                                     {"instance_hourly_usd": 0.3, "savings_target": 0.1}])
def test_plan_for_plans_as_the_chapter_does(changes):
    question = CostQuestion(throughput_gain=1.5, **changes)
    service = question.service
    rightsize = rightsize_lever(rightsizing_options(service, CATALOG,
                                                    question.utilization_target))
    levers = ([rightsize] if rightsize else []) + standard_levers(
        **question.lever_inputs(CATALOG))
    expected = plan_savings(service, CATALOG, levers, question.savings_target)
    plan = cost_exercises.plan_for(question, CATALOG, None)
    assert plan.lever_keys == expected.lever_keys
    assert plan.final.total_usd == pytest.approx(expected.final.total_usd)
    assert plan.savings_target == question.savings_target


def test_plan_for_refuses_anything_but_a_cost_question():
    with pytest.raises(ParameterError, match="question"):
        cost_exercises.plan_for(CostQuestion().service, CATALOG, 1.0)


def curves(rows: list[tuple[float, str, bool]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["request_rate_rps", "instance", "cheapest"])


def test_cheapest_runs_follow_the_cheapest_option_in_rate_order():
    table = curves([(2.0, "cpu", True), (2.0, "gpu", False), (1.0, "cpu", True),
                    (3.0, "gpu", True), (3.0, "cpu", True), (4.0, "inf2", True),
                    (5.0, "cpu", True), (5.0, "inf2", False)])
    runs = capacity_exercises.cheapest_runs(table)
    assert runs.values.tolist() == [["cpu", 1.0, 2.0], ["gpu", 3.0, 3.0], ["inf2", 4.0, 4.0],
                                    ["cpu", 5.0, 5.0]]
    assert capacity_exercises.crossover_text(runs) == (
        "the cheapest option changes between 2 and 3 requests/s (cpu to gpu), between 3 and 4 "
        "requests/s (gpu to inf2), between 4 and 5 requests/s (inf2 to cpu)")


def test_crossover_text_with_one_option_or_none():
    one = capacity_exercises.cheapest_runs(curves([(1.0, "gpu", True), (2.0, "gpu", True)]))
    assert capacity_exercises.crossover_text(one) == "gpu is the cheapest at every rate checked"
    none = capacity_exercises.cheapest_runs(curves([(1.0, "gpu", False)]))
    assert capacity_exercises.crossover_text(none) == "no option meets the SLO at any rate checked"
    with pytest.raises(ParameterError, match="curves"):
        capacity_exercises.cheapest_runs(pd.DataFrame({"x": [1]}))
