"""Chapter 5's exercise answers: the crossing search, the cheapest per kind, the fix, the
policies' savings.

The measured serving profiles are hand-made, as in test_design.py (no classifier is trained);
the search is checked against stand-in designs whose instance count is a known step function.
"""

import math
from types import SimpleNamespace

import pandas as pd
import pytest
import yaml

from perfcost.design import DesignQuestion, design_service, tables
from perfcost.design.exercises import (
    Crossing,
    cache_lookup_p95_ms,
    cheapest_per,
    first_peak_needing_more,
    fix_for,
    measured_question,
    policy_savings,
    redesigner,
    with_model,
)
from perfcost.design.fixes import Fix
from perfcost.pricing import load_catalog
from perfcost.serving.request_path import ServingProfile
from perfcost.traffic import MAX_RATE_RPS
from perfcost.validation import ParameterError

BATCHES = (1, 8, 32, 128)
FP32 = ServingProfile("fp32", 0.2, 0.19, 0.21, BATCHES, (0.01, 0.008, 0.009, 0.02),
                      (0.009, 0.007, 0.008, 0.019), (0.011, 0.009, 0.01, 0.021))
INT8 = ServingProfile("int8", 0.2, 0.19, 0.21, BATCHES, (0.008, 0.006, 0.007, 0.015),
                      (0.007, 0.005, 0.006, 0.014), (0.009, 0.007, 0.008, 0.016))
PROFILES = {"fp32": FP32, "int8": INT8}
CATALOG = load_catalog()
# Binary responses half JSON's bytes: the fix may try them.
FORMATS = pd.DataFrame({"format": ["json", "binary"], "responses_per_body": [1, 1],
                        "wire_bytes_per_response": [200.0, 100.0]})


def stepped(per_instance_rps: float, calls: list):
    """A stand-in design: one instance per ``per_instance_rps`` (rounded up), plus one spare,
    at least two; every peak asked for is recorded in ``calls``."""
    def redesign(question):
        calls.append(question.peak_qps)
        needed = math.ceil(question.peak_qps / per_instance_rps)
        return SimpleNamespace(instances_peak=max(2, needed + 1))
    return redesign


@pytest.mark.parametrize("start_qps", [100.0, 1_000.0, 10_000.0])
@pytest.mark.parametrize("rtol", [0.05, 0.01])
def test_the_search_brackets_the_known_crossing_from_either_side(start_qps, rtol):
    # Over two instances exactly when ceil(qps / 1000) + 1 > 2, i.e. qps > 1000.
    calls = []
    found = first_peak_needing_more(DesignQuestion(peak_qps=start_qps), stepped(1_000.0, calls),
                                    rtol=rtol)
    assert found.below_qps <= 1_000.0 < found.above_qps
    assert found.above_qps / found.below_qps <= 1 + rtol
    assert found.design.instances_peak == 3
    assert found.instances == 2
    assert len(calls) < 20  # bisection, not a scan


def test_the_count_asked_for_moves_the_crossing():
    found = first_peak_needing_more(DesignQuestion(), stepped(1_000.0, []), instances=5,
                                    rtol=0.01)
    assert found.below_qps <= 4_000.0 < found.above_qps  # 5 instances up to 4,000/s
    assert found.design.instances_peak == 6


def test_a_count_never_exceeded_says_so_at_the_largest_peak():
    found = first_peak_needing_more(DesignQuestion(), stepped(MAX_RATE_RPS, []))
    assert found.above_qps is None and found.design is None
    assert found.below_qps == MAX_RATE_RPS


def test_a_count_exceeded_at_the_lowest_rate_says_so():
    found = first_peak_needing_more(DesignQuestion(), stepped(0.5, []), low_qps=1.0)
    assert found.below_qps is None
    assert found.above_qps == 1.0 and found.design.instances_peak > 2


def test_the_real_design_crosses_where_the_search_says():
    redesign = redesigner(PROFILES, CATALOG)
    question = DesignQuestion()
    found = first_peak_needing_more(question, redesign)
    assert found.design.instances_peak > 2
    assert found.design.question.peak_qps == found.above_qps
    assert redesign(question.changed(peak_qps=found.below_qps)).instances_peak <= 2


@pytest.mark.parametrize(("changes", "name"), [
    ({"instances": 0}, "instances"), ({"rtol": 0.0}, "rtol"), ({"low_qps": 0.0}, "low_qps")])
def test_the_search_refuses_bad_settings(changes, name):
    with pytest.raises(ParameterError, match=name):
        first_peak_needing_more(DesignQuestion(), stepped(1_000.0, []), **changes)


def test_a_redesigner_refuses_what_is_not_a_catalog():
    with pytest.raises(ParameterError, match="catalog"):
        redesigner(PROFILES, "prices.yaml")


@pytest.fixture(scope="module")
def design():
    return design_service(DesignQuestion(), PROFILES, CATALOG)


@pytest.mark.parametrize("column", ["kind", "cache", "batch"])
def test_cheapest_per_is_each_groups_cheapest_row(design, column):
    frontier = tables.frontier_table(design)
    found = cheapest_per(frontier, column)
    assert set(found.index) == set(frontier[column])
    for value, row in found.iterrows():
        assert row["total_usd"] == frontier.loc[frontier[column] == value, "total_usd"].min()
    assert list(found["total_usd"]) == sorted(found["total_usd"])


def test_cheapest_per_is_empty_when_nothing_meets_the_slo():
    impossible = design_service(DesignQuestion(p95_slo_ms=1.0), PROFILES, CATALOG)
    assert cheapest_per(tables.frontier_table(impossible), "kind").empty


def test_cheapest_per_refuses_an_unknown_column(design):
    with pytest.raises(ParameterError, match="column"):
        cheapest_per(tables.frontier_table(design), "colour")


def test_a_design_within_budget_needs_no_fix(design):
    assert design.within_budget
    assert fix_for(design, FORMATS, stepped(1.0, [])) is None


def test_an_over_budget_design_gets_the_cheapest_change_that_fits():
    over = design_service(DesignQuestion(budget_usd_month=1.0), PROFILES, CATALOG)

    def redesign(question):  # only the binary responses fit the dollar
        cheap = question.response_kb < over.question.response_kb
        return SimpleNamespace(meets_slo=True, total_usd=0.5 if cheap else 1e4)

    fix = fix_for(over, FORMATS, redesign)
    assert isinstance(fix, Fix) and fix.found
    assert fix.total_usd == 0.5
    assert [c.fields for c in fix.changes] == [{"response_kb": 0.075}]


def test_policy_savings_are_each_policys_gap_to_the_fixed_fleet():
    slow = DesignQuestion(peak_qps=200_000.0, startup_delay_s=3_600.0,
                          utilization_target=0.95, max_utilization=1.0, p95_slo_ms=2.9)
    designs = {"base": design_service(DesignQuestion(), PROFILES, CATALOG),
               "slow starts": design_service(slow, PROFILES, CATALOG)}
    found = policy_savings(designs)
    for name, one in designs.items():
        policies = tables.policy_table(one).set_index("policy")
        rows = found.loc[name]
        assert list(rows.index) == list(policies.index)
        fixed = policies.loc["fixed at peak (N+1)", "total_usd"]
        assert rows.loc["fixed at peak (N+1)", "saving_usd"] == 0.0
        assert (rows["saving_usd"] == fixed - policies["total_usd"]).all()
        missed = (1 - policies["slo_attainment"]) * 1_440
        assert (rows["minutes_missing_slo"] == missed.round()).all()
    assert found.loc["slow starts", "minutes_missing_slo"].max() > 0  # slow starts miss


def test_the_search_says_its_answer_in_words():
    assert Crossing(2, 19_000.0, 20_000.0, None).text == (
        "more than 2 instances from a peak between 19,000 and 20,000 requests/s")
    assert Crossing(2, MAX_RATE_RPS, None, None).text == (
        "never more than 2 instances, up to 1,000,000 requests/s")
    assert Crossing(1, None, 1.0, None).text == "more than 1 instance already at 1 requests/s"


def test_the_cache_lookup_p95_is_the_catalogs_get_figure(design):
    lookup = [s for s in design.stages_by_cache[True] if s.name.startswith("cache")]
    assert len(lookup) == 1 and not any(
        s.name.startswith("cache") for s in design.stages_by_cache[False])
    assert cache_lookup_p95_ms(design) == pytest.approx(lookup[0].quantile_ms(0.95))
    assert lookup[0].p50_ms < cache_lookup_p95_ms(design)


def test_another_model_keeps_the_question_and_falls_back_to_the_shipped_catalog(tmp_path):
    question = DesignQuestion(peak_qps=123.0)
    assert with_model(question, "bert_large") == question.changed(model="bert_large")
    no_bert = yaml.safe_load(CATALOG.path.read_text())
    no_bert["workloads"].pop("text_classification")
    path = tmp_path / "no-bert.yaml"
    path.write_text(yaml.safe_dump(no_bert))
    mine = DesignQuestion(price_catalog_path=str(path))
    with pytest.raises(ParameterError, match="price_catalog_path"):
        mine.changed(model="bert_large")
    assert with_model(mine, "bert_large") == mine.changed(
        model="bert_large", price_catalog_path="")
    with pytest.raises(ParameterError, match="model"):
        with_model(question, "gpt")


def test_a_published_model_is_answered_with_the_measured_classifier():
    assert measured_question(DesignQuestion(model="mlp_int8")).model == "mlp_int8"
    bert = DesignQuestion(model="bert_large", peak_qps=5.0)
    assert measured_question(bert) == bert.changed(model="mlp_fp32")
