"""Chapter 1's computed sentences say what their numbers say, in every branch."""

import pandas as pd

from perfcost import capacity, sizing_tables
from perfcost.book.capacity_verdicts import (
    at_peak_verdict,
    ceiling_verdict,
    crossover_verdict,
    rule_verdict,
    rule_vs_p95_verdict,
)
from perfcost.capacity import InstanceType, UtilizationRule

CPU = InstanceType("cpu", 50.0, 0.34, 20.0)
GPU = InstanceType("gpu", 800.0, 0.526, 10.0)


def test_rule_verdict_says_whether_the_count_had_to_rise():
    alone = UtilizationRule(0.7)(CPU, 30.0, 100.0)
    assert rule_verdict(alone.count, alone, 0.7).endswith("within the SLO")
    raised = capacity.with_spares(alone, 1)
    assert rule_verdict(alone.count, raised, 0.7).endswith(f"rises to {alone.count + 1}")
    exact = capacity.SLORule(1.0)(CPU, 100.0, 1000.0)  # 2 x 50 rps at 100%: unstable
    assert "100% busy" in rule_verdict(2, exact, 1.0) and exact.count == 3


def test_rule_vs_p95_verdict_in_each_direction():
    assert rule_vs_p95_verdict(5, 3, "gpu") == "the rule buys 2 more gpu than the p95 needs"
    assert rule_vs_p95_verdict(3, 3, "gpu") == "the rule buys exactly what the p95 needs"
    assert "1 fewer gpu" in rule_vs_p95_verdict(2, 3, "gpu")
    assert rule_vs_p95_verdict(2, 3, "gpu").endswith("under-provisions")


def test_ceiling_verdict_quotes_each_ceiling_or_says_none_exists():
    ceilings = pd.DataFrame({"least_outstanding": [0.5, 0.95], "random": [0.5, 0.5],
                             "shared_queue": [0.6, 0.99]}, index=[1, 64])
    said = ceiling_verdict(ceilings, "least_outstanding")
    for value in ("50.0%", "95.0%", "99.0%"):
        assert value in said
    assert "no fleet" in ceiling_verdict(ceilings * 0, "least_outstanding")


def test_crossover_verdict_always_never_and_above():
    curves = sizing_tables.cost_curves([CPU, GPU], [10.0, 100.0, 1000.0], 100.0)
    rate, said = crossover_verdict(curves, "gpu", 1000.0)
    assert rate == sizing_tables.cheapest_above_rps(curves, "gpu") and f"{rate:,.0f}" in said
    rate, said = crossover_verdict(curves[curves["request_rate_rps"] > 10], "gpu", 1000.0)
    assert rate == 0 and "every rate" in said
    rate, said = crossover_verdict(curves[curves["instance"] == "cpu"], "gpu", 1000.0)
    assert rate == 1000.0 and "cannot meet the SLO" in said  # infeasible everywhere
    never = curves.assign(cheapest=curves["instance"] == "cpu")
    rate, said = crossover_verdict(never, "gpu", 1000.0)
    assert rate == 1000.0 and "never the cheaper" in said
    middle = curves.assign(cheapest=(curves["instance"] == "gpu")
                           == (curves["request_rate_rps"] == 100.0))
    rate, said = crossover_verdict(middle, "gpu", 1000.0)  # cheapest only mid-chart
    assert rate == 1000.0 and said.endswith("but not at the highest")
    assert "above" not in said


def test_at_peak_verdict_overloaded_or_its_p95():
    average = UtilizationRule(0.7)(GPU, 1000.0, 100.0)  # 2 GPUs: 1,600 rps of capacity
    assert "grows without bound" in at_peak_verdict(average, 2000.0, 100.0)
    said = at_peak_verdict(average, 1200.0, 100.0)
    assert said.startswith("the fleet sized for the average already holds the peak")
    assert "within the SLO" in said and "p95 of" in said
    said = at_peak_verdict(average, 1590.0, 12.0)  # 99% busy: a p95 beyond 12 ms
    assert said.startswith("size for the peak") and "outside the SLO" in said


def test_ceiling_shares_never_round_up_to_a_full_100_percent():
    ceilings = pd.DataFrame({"least_outstanding": [0.5, 0.9996], "random": [0.5, 0.5],
                             "shared_queue": [0.6, 0.9999]}, index=[1, 64])
    said = ceiling_verdict(ceilings, "least_outstanding")
    assert "100.0%" not in said and said.count("over 99.9%") == 2
