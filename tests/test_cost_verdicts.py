"""Chapter 2's computed sentences say what their numbers say, in every branch."""

import datetime
from dataclasses import replace

import pytest

from perfcost.book import cost_verdicts as v
from perfcost.cost import InferenceService
from perfcost.levers import standard_levers
from perfcost.pricing import load_catalog
from perfcost.rightsizing import RightSized
from perfcost.savings import Strand, plan_savings

CATALOG = load_catalog()
QUESTION = InferenceService(500, 50, 10, 0.3, 2.5, 100, 200, 0.02)
BEST = RightSized("g4dn.xlarge", 0.526, 5563.1, 3894.17, 9.31, "p99", None, "INT8",
                  "MLPerf Server", "T4", "mlperf-v07-t4", datetime.date(2020, 10, 21), 1, 2,
                  767.96)
LEVERS = dict(commitment_discount=0.37, spot_share=0.4, spot_discount=0.56,
              throughput_gain=1.0, cache_hit_rate=0.0, response_compression_ratio=3.0,
              archived_storage_fraction=0.75, archive_usd_per_gb_month=0.004)


def plan(target, service=QUESTION):
    return plan_savings(service, CATALOG, standard_levers(**LEVERS), target)


def test_numbers_counts_and_shares_never_round_to_a_wrong_value():
    assert (v.number(0.5), v.number(500.0), v.number(12_345.6)) == ("0.5", "500", "12,346")
    assert (v.count(1, "instance"), v.count(5, "instance")) == ("1 instance", "5 instances")
    assert (v.share(0.996), v.share(0.004), v.share(0.0), v.share(1.0), v.share(0.3)) == (
        "over 99%", "under 1%", "0%", "100%", "30%")
    assert (v.joined([]), v.joined(["a"]), v.joined(["a", "b", "c"])) == ("", "a", "a, b and c")
    assert v.compute_formula(0.5, 1.0, 100, 1) == "ceil(0.5 × 1.00 / 100) = 1 instance"


def test_egress_free_text_in_each_case():
    assert v.egress_free_text(100, 0.09).startswith("the first 100 GB are free")
    assert v.egress_free_text(0, 0.05).startswith("no allowance is free")
    assert v.egress_free_text(1e9, 0.0) == "every tier of the ladder is free"


def test_bill_verdict_ranks_with_honest_shares():
    said = v.bill_verdict({"compute": 1.0, "egress": 996.0, "storage": 3.0})
    assert said == "egress is the largest line (over 99%), then storage (under 1%)"


def test_the_right_sizing_question_in_each_case():
    assert "no published throughput" in v.rightsize_question(None, 0.025, 2.5, 100)
    assert "185.1x less per request" in v.rightsize_question(BEST, 0.025, 2.5, 100)
    assert "INT8, MLPerf Server" in v.rightsize_question(BEST, 0.025, 2.5, 100)
    assert "already as cheap" in v.rightsize_question(BEST, 0.0001, 0.1, 1000)


def test_the_right_sizing_paragraph_in_each_case():
    assert "no right-sizing lever" in v.rightsize_paragraph(None, 9125, False)
    dearer = v.rightsize_paragraph(BEST, 219, False)
    assert dearer.endswith("it saves nothing, so right-sizing is set apart.")
    assert "becomes" not in dearer
    assert v.rightsize_paragraph(BEST, 9125, True).endswith("the plan's right-sizing lever.")
    assert "ResNet-50 figure" in v.rightsize_paragraph(BEST, 9125, True)
    assert v.rightsize_paragraph(BEST, 9125, False).endswith("The plan does without it.")


def test_the_plan_verdict_says_when_the_target_is_missed():
    assert v.plan_verdict(plan(0.30)).endswith("which meets the 30% target")
    missed = plan(0.95)
    assert not missed.reaches_target and "short of the 95% target" in v.plan_verdict(missed)
    none = plan_savings(QUESTION, CATALOG, [], 0.3)
    assert v.plan_verdict(none).startswith("no lever saves anything")


def test_the_reserve_and_next_levers_verdicts_in_each_case():
    reached, missed = plan(0.30), plan(0.95)
    assert v.reserve_verdict(reached, []) == "Every lever that saves on its own is in the plan."
    assert v.reserve_verdict(reached, ["x", "y"]).startswith("Kept in reserve: x and y")
    assert v.reserve_verdict(missed, ["x"]).startswith("Left out: x")
    spot_plan = plan(0.95)
    if "spot" in {s.lever.key for s in spot_plan.steps}:
        assert "Spot, the lever riskiest" in v.reserve_verdict(spot_plan, [])
    assert v.next_levers_verdict(reached, []) == "Every one of them is already in the plan."
    assert "if the target were higher" in v.next_levers_verdict(reached, ["x"])
    assert "cannot raise the saving" in v.next_levers_verdict(missed, ["x"])


def test_set_apart_header_is_never_empty():
    assert "none is set apart" in v.set_apart_header(0)
    assert v.set_apart_header(1).endswith("(1 lever):")


def test_the_strand_verdict_in_each_case():
    assert "no commitment" in v.strand_verdict(None)
    moved = Strand(7.875, 0.0, 12, 730, ("rightsize",), type_change=True)
    assert "would strand all of it" in v.strand_verdict(moved, "inf2.xlarge")
    assert "inf2.xlarge" in v.strand_verdict(moved, "inf2.xlarge")
    assert "strand nothing" in v.strand_verdict(Strand(7.875, 7.875, 12, 730, ()))
    three = Strand(10.0, 0.04, 12, 730, ("cache", "throughput", "autoscale"))
    said = v.strand_verdict(three)
    assert "caching, the throughput gain and autoscaling" in said
    assert "over 99% of the commitment" in said and "and the" not in said.split("gain")[0]


def test_the_spare_and_other_reading_verdicts_in_each_case():
    assert "keeps 1 spare" in v.spare_verdict(1, 2)
    assert "carries no spare" in v.spare_verdict(0, 5)
    same = v.other_reading_verdict(1, 1, 100.0, 100.0)
    assert "the same 1 instance here" in same and "difference" not in same
    assert "buys 8 instances instead of 5" in v.other_reading_verdict(5, 8, 10_287, 15_762)


@pytest.mark.parametrize("rate", [150.0, 500.0])
def test_spot_on_a_small_fleet_is_never_in_a_plan(rate):
    chosen = plan(0.95, replace(QUESTION, request_rate_rps=rate))
    if rate < 300:
        assert "spot" not in {s.lever.key for s in chosen.steps}


def test_the_throughput_gains_source_in_each_case():
    from pathlib import Path

    from perfcost.book.measured import NO_VARIANT, MeasuredGain

    assert v.throughput_gain_source(None, 2.5) == "given as a parameter (2.5x)"
    none = MeasuredGain(1.0, "compression", NO_VARIANT, ("first_choice",), 900.0, 900.0,
                        Path("c.ipynb"))
    assert v.throughput_gain_source(none, 1.0) == ("none: chapter 4 found no variant that "
                                                  "meets its target")
    names = ("first_choice", "int8_dynamic_throughput_gain", "int8_dynamic_throughput_rps",
             "fp32_throughput_rps")
    measured = MeasuredGain(1.6, "compression", "int8_dynamic", names, 1_440.4, 900.2,
                            Path("c.ipynb"))
    assert v.throughput_gain_source(measured, 1.6) == (
        "chapter 4's first choice, int8_dynamic, served 1,440 requests/s against fp32's 900 "
        "at batch 64, a gain of 1.6× (read from chapter 4's results as "
        "int8_dynamic_throughput_gain; 1.0 where chapter 4 could not measure it)")


def test_the_plans_levers_by_name():
    assert v.plan_levers_text(plan(0.30)) == "commit to the always-on floor (37% off)"
    assert v.plan_levers_text(plan(0.35)) == ("commit to the always-on floor (37% off) and "
                                              "compress responses 3:1")
    assert v.plan_levers_text(plan_savings(QUESTION, CATALOG, [], 0.3)) == "no lever"
