"""The reduction planner: plans reach their target, and every saving can be recomputed."""

from dataclasses import replace

import pytest
from cost_fixtures import QUESTION, levers

from perfcost.cost import monthly_bill
from perfcost.levers import Lever, compatible, ineffective_reason
from perfcost.pricing import load_catalog
from perfcost.savings import (
    commitment_strand,
    plan_savings,
    plan_table,
    planned_service,
    reserve,
    waterfall_rows,
)
from perfcost.validation import ParameterError

CATALOG = load_catalog()


def test_the_question_plan_by_hand():
    plan = plan_savings(QUESTION, CATALOG, levers(), 0.30)
    assert [s.lever.key for s in plan.steps] == ["commitment", "compression"]
    commitment, compression = plan.steps
    assert commitment.saving_usd == pytest.approx(0.28 * 5 * 2.5 * 730)  # 2,555.00
    # 13,140 GB compressed 3:1 is 4,380 GB: the free 100 GB, then the rest in the first paid tier.
    assert compression.saving_usd == pytest.approx(1_157.90 - 4_280 * 0.09)
    assert plan.reaches_target and plan.savings_fraction == pytest.approx(
        (2_555 + 772.7) / 10_286.9)
    assert {lever.key for lever in plan.ineffective} == {"cache", "throughput", "autoscale"}


def test_each_line_is_recomputable_from_the_cost_model():
    service = replace(QUESTION, peak_to_average=1.65)
    plan = plan_savings(service, CATALOG, levers(throughput_gain=1.3, cache_hit_rate=0.1), 0.55)
    assert plan.steps, "a plan with levers"
    current = service
    for step in plan.steps:
        assert step.before_usd == pytest.approx(monthly_bill(current, CATALOG).total_usd)
        current = step.lever.apply(current)
        assert step.after_usd == pytest.approx(monthly_bill(current, CATALOG).total_usd)
    assert plan.final.total_usd == pytest.approx(monthly_bill(current, CATALOG).total_usd)
    assert sum(s.saving_usd for s in plan.steps) == pytest.approx(plan.saving_usd)


@pytest.mark.parametrize("target", [0.05, 0.20, 0.30, 0.40, 0.50])
def test_plans_reach_their_target_with_the_least_risk(target):
    plan = plan_savings(replace(QUESTION, peak_to_average=1.65), CATALOG, levers(), target)
    assert plan.reaches_target and plan.savings_fraction >= target - 1e-12
    # No plan with fewer risk points reaches the target: drop any one lever and it falls short
    # or the planner would have found a cheaper-risk plan among the remaining combinations.
    for dropped in plan.steps:
        rest = [s.lever for s in plan.steps if s is not dropped]
        smaller = plan_savings(replace(QUESTION, peak_to_average=1.65), CATALOG, rest, target)
        assert not smaller.reaches_target or smaller.risk_score >= plan.risk_score


def test_more_ambition_never_lowers_risk():
    service = replace(QUESTION, peak_to_average=1.65)
    risks = [plan_savings(service, CATALOG, levers(), t).risk_score for t in (0.1, 0.3, 0.5)]
    assert risks == sorted(risks)


def test_an_unreachable_target_returns_the_biggest_saving_and_says_so():
    plan = plan_savings(QUESTION, CATALOG, levers(), 0.95)
    assert not plan.reaches_target
    assert plan.savings_fraction < 0.95
    assert {s.lever.key for s in plan.steps} >= {"spot", "commitment", "compression"}


def test_autoscaling_matters_only_when_traffic_swings():
    steady = plan_savings(QUESTION, CATALOG, levers(), 0.1)
    swinging = plan_savings(replace(QUESTION, peak_to_average=1.65), CATALOG, levers(), 0.1)
    assert "autoscale" in {lever.key for lever in steady.ineffective}
    assert "autoscale" not in {lever.key for lever in swinging.ineffective}


def test_tables_for_the_chapter():
    plan = plan_savings(QUESTION, CATALOG, levers(), 0.30)
    table = plan_table(plan)
    assert list(table["lever"]) == [s.lever.name for s in plan.steps]
    rows = waterfall_rows(plan)
    assert list(rows["label"]) == ["baseline", "commitment", "compression", "with the plan"]
    assert rows["end_usd"].iloc[-1] == pytest.approx(plan.final.total_usd)
    assert rows["end_usd"].iloc[0] == pytest.approx(plan.baseline.total_usd)


def test_lever_definitions_are_checked():
    with pytest.raises(ParameterError, match="key must be one of cache"):
        Lever("magic", "x", (), 1, 1, 1)
    with pytest.raises(ParameterError, match="changes must be InferenceService field names"):
        Lever("cache", "x", (("colour", 1),), 1, 1, 1)
    with pytest.raises(ParameterError, match=r"effort must be a whole number in \[1, 3\]"):
        Lever("cache", "x", (), 4, 1, 1)
    with pytest.raises(ParameterError, match="savings_target must be"):
        plan_savings(QUESTION, CATALOG, levers(), 1.0)
    duplicate = levers()[:1] * 2
    with pytest.raises(ParameterError, match="at most one lever of each key"):
        plan_savings(QUESTION, CATALOG, duplicate, 0.1)


# --- Commitments last, nothing stranded, every line saves ------------------------------------

def _fleet_lever(service=QUESTION):
    """The right-sizing lever for the question: 1 x g4dn.xlarge and a spare, at its MLPerf
    figure."""
    from perfcost.rightsizing import rightsize_lever, rightsizing_options

    return rightsize_lever(rightsizing_options(service, CATALOG, 0.7))


def test_the_planner_never_commits_to_a_fleet_another_lever_would_shrink():
    # Without right-sizing, 37% off the 5-instance floor reaches 30% alone; but the throughput
    # lever (2x) would halve that floor, so a commitment must come with it, or not at all.
    plan = plan_savings(QUESTION, CATALOG, levers(throughput_gain=2.0, commitment_discount=0.37),
                        0.30)
    keys = [step.lever.key for step in plan.steps]
    assert "commitment" not in keys or "throughput" in keys
    assert keys == sorted(keys, key=["cache", "rightsize", "throughput", "autoscale", "spot",
                                     "commitment", "compression", "tiering"].index)


def test_a_commitment_applies_to_the_fleet_left_after_the_reversible_levers():
    plan = plan_savings(replace(QUESTION, peak_to_average=1.65), CATALOG,
                        levers(throughput_gain=2.0, commitment_discount=0.37), 0.9)
    keys = [step.lever.key for step in plan.steps]
    assert keys.index("commitment") > max(keys.index(k) for k in ("throughput", "autoscale"))


@pytest.mark.parametrize("target", [0.1, 0.3, 0.5, 0.9])
def test_every_line_of_a_plan_saves_something(target):
    all_levers = [_fleet_lever(), *levers(throughput_gain=3.0, commitment_discount=0.37)]
    plan = plan_savings(replace(QUESTION, peak_to_average=1.65), CATALOG, all_levers, target)
    assert all(step.saving_usd > 0 for step in plan.steps)
    assert sum(s.saving_usd for s in plan.steps) == pytest.approx(plan.saving_usd)


def test_right_sizing_to_the_books_t4_figure_is_the_questions_plan():
    plan = plan_savings(QUESTION, CATALOG, [_fleet_lever(), *levers()], 0.30)
    assert [step.lever.name for step in plan.steps] == [
        "move to 2 x g4dn.xlarge (1 + 1 spare)"]
    # 5 x $2.5 x 730 h becomes (1 + 1 spare) x $0.526 x 730 h: ceil(500 / (5563.1 x 0.7)) = 1.
    assert plan.steps[0].saving_usd == pytest.approx((5 * 2.5 - 2 * 0.526) * 730)


def test_committing_first_strands_what_the_fleet_levers_remove():
    strand = commitment_strand(QUESTION, CATALOG, levers(throughput_gain=2.0,
                                                         commitment_discount=0.37))
    # 5 instances committed at $2.5 x 0.63; the 2x gain leaves ceil(500 / 200) = 3.
    assert strand.levers == ("throughput",)
    assert strand.committed_usd_per_hour == pytest.approx(5 * 2.5 * 0.63)
    assert strand.needed_usd_per_hour == pytest.approx(3 * 2.5 * 0.63)
    assert strand.stranded_usd == pytest.approx(2 * 2.5 * 0.63 * 730 * 12)
    assert strand.stranded_fraction == pytest.approx(0.4)


def test_nothing_is_stranded_when_no_lever_shrinks_the_fleet():
    strand = commitment_strand(QUESTION, CATALOG, levers(commitment_discount=0.37))
    assert strand.levers == () and strand.stranded_usd == 0 and strand.stranded_fraction == 0
    no_commitment = [lever for lever in levers() if lever.key != "commitment"]
    assert commitment_strand(QUESTION, CATALOG, no_commitment) is None
    with pytest.raises(ParameterError, match=r"term_months must be a whole number in \[1, 36\]"):
        commitment_strand(QUESTION, CATALOG, levers(), term_months=0)


def test_levers_that_save_nothing_say_why():
    plan = plan_savings(QUESTION, CATALOG, levers(), 0.30)
    reasons = {lever.key: ineffective_reason(lever, QUESTION) for lever in plan.ineffective}
    assert reasons == {"cache": "a 0% hit rate answers nothing",
                       "throughput": "a gain of 1x adds nothing",
                       "autoscale": "steady traffic needs the same fleet every hour"}


# --- Review of chapter 2: exclusive levers, family-bound commitments, whole instances ---------

def test_right_sizing_and_the_throughput_gain_are_never_combined():
    service = replace(QUESTION, request_rate_rps=5000, instance_hourly_usd=0.4,
                      peak_to_average=2.0)
    all_levers = [_fleet_lever(service), *levers(throughput_gain=3.16,
                                                 commitment_discount=0.37)]
    plan = plan_savings(service, CATALOG, all_levers, 0.95)
    keys = {step.lever.key for step in plan.steps}
    assert not {"rightsize", "throughput"} <= keys
    gain = next(lever for lever in all_levers if lever.key == "throughput")
    assert compatible([all_levers[0]]) and not compatible([all_levers[0], gain])
    assert all(lever.key not in {"rightsize", "throughput"} - keys or compatible(
        [*(s.lever for s in plan.steps), lever]) for lever in reserve(plan, all_levers))


def test_moving_to_another_type_strands_the_whole_commitment():
    strand = commitment_strand(QUESTION, CATALOG, [_fleet_lever(), *levers(
        throughput_gain=2.0, commitment_discount=0.37)])
    assert strand.type_change and strand.levers == ("rightsize",)
    assert strand.stranded_fraction == 1.0
    assert strand.stranded_usd == pytest.approx(5 * 2.5 * 0.63 * 730 * 12)


def test_the_strand_names_only_levers_that_add_to_it():
    service = replace(QUESTION, peak_to_average=1.65)
    strand = commitment_strand(service, CATALOG, levers(
        throughput_gain=1.01, cache_hit_rate=0.5, commitment_discount=0.37))
    for key in strand.levers:
        others = [lever for lever in levers(throughput_gain=1.01, cache_hit_rate=0.5,
                                            commitment_discount=0.37)
                  if lever.key != key]
        assert commitment_strand(service, CATALOG, others).stranded_usd < strand.stranded_usd


def test_spot_on_a_fleet_under_three_says_why_it_saves_nothing():
    service = replace(QUESTION, request_rate_rps=150)  # 2 instances
    spot = next(lever for lever in levers() if lever.key == "spot")
    plan = plan_savings(service, CATALOG, levers(), 0.30)
    assert spot in plan.ineffective
    assert ineffective_reason(spot, service).startswith("a fleet of 2 is too small for spot")


def test_the_planned_service_has_every_lever_of_the_plan():
    plan = plan_savings(QUESTION, CATALOG, [_fleet_lever(), *levers()], 0.30)
    after = planned_service(QUESTION, plan)
    assert after.spare_instances == 1
    assert monthly_bill(after, CATALOG).total_usd == pytest.approx(plan.final.total_usd)


# --- Plan sums, each lever alone (issue 12) ------------------------------------------------------

def test_the_plans_keys_and_sums_by_hand():
    plan = plan_savings(QUESTION, CATALOG, levers(), 0.30)
    assert plan.lever_keys == ("commitment", "compression")
    assert plan.steps_saving_usd == pytest.approx(2_555 + 772.7)
    assert plan.steps_saving_usd == pytest.approx(plan.saving_usd)
    assert plan.least_step_saving_usd == pytest.approx(772.7)  # compression
    empty = plan_savings(QUESTION, CATALOG, levers()[:3], 0.30)  # none of them saves
    assert (empty.lever_keys, empty.steps_saving_usd, empty.least_step_saving_usd) == (
        (), 0.0, 0.0)


def test_each_lever_alone_by_hand():
    from perfcost.savings import alone_savings

    table = alone_savings(QUESTION, CATALOG, levers())
    assert list(table.columns) == ["key", "lever", "risk_score", "saving_usd", "saving_share"]
    # Least risky first, ties in the order given; cache, throughput and autoscale save nothing.
    assert list(table["key"]) == ["compression", "tiering", "commitment", "spot"]
    assert list(table["risk_score"]) == [3, 3, 5, 6]
    baseline = monthly_bill(QUESTION, CATALOG).total_usd
    expected = {"compression": 772.7, "tiering": 150 * (0.02 - 0.004),
                "commitment": 0.28 * 5 * 2.5 * 730,
                "spot": 2 * 0.5 * 2.5 * 730}  # floor(0.4 x 5) = 2 instances at half price
    for row in table.itertuples():
        assert row.saving_usd == pytest.approx(expected[row.key])
        assert row.saving_share == pytest.approx(expected[row.key] / baseline)
    plan = plan_savings(QUESTION, CATALOG, levers(), 0.30)
    assert set(table["key"]) == {lever.key for lever in levers()} - {
        lever.key for lever in plan.ineffective}


def test_each_lever_alone_refuses_what_is_not_a_service_or_levers():
    from perfcost.savings import alone_savings

    assert alone_savings(QUESTION, CATALOG, []).empty
    with pytest.raises(ParameterError, match=r"^service must be an InferenceService"):
        alone_savings(None, CATALOG, levers())
    with pytest.raises(ParameterError, match=r"^levers must be a list of Lever"):
        alone_savings(QUESTION, CATALOG, "cache")


def test_nothing_stranded_stands_in_for_no_commitment():
    from perfcost.savings import NOTHING_STRANDED

    assert (NOTHING_STRANDED.stranded_usd, NOTHING_STRANDED.stranded_fraction,
            NOTHING_STRANDED.type_change, NOTHING_STRANDED.levers) == (0.0, 0.0, False, ())
