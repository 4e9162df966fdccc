"""What if: the bill as in-browser formulas, and the bill swept over one input."""

import math
import re
from dataclasses import replace

import numpy as np
import pytest
import vl_convert
from cost_fixtures import QUESTION
from hypothesis import given, settings
from hypothesis import strategies as st

from perfcost.book import charts
from perfcost.cost import monthly_bill
from perfcost.pricing import load_catalog
from perfcost.validation import ParameterError
from perfcost.volume_tiers import free_allowance_gb
from perfcost.what_if import MAX_SWEEP_VALUES, bill_sensitivity, what_if_expressions

CATALOG = load_catalog()


def test_sensitivity_has_a_total_per_value():
    sweep = bill_sensitivity(QUESTION, CATALOG, "response_kb", [5, 10, 40])
    totals = sweep[sweep["component"] == "total"].set_index("value")["monthly_usd"]
    assert totals[10.0] == pytest.approx(10_286.90)
    assert list(totals.index) == [5.0, 10.0, 40.0]
    with pytest.raises(ParameterError, match="parameter must be a numeric InferenceService field"):
        bill_sensitivity(QUESTION, CATALOG, "colour", [1])


@settings(max_examples=200, deadline=None)
@given(rate=st.floats(1, 20_000), eu=st.floats(0, 1), response_kb=st.floats(0, 500))
def test_what_if_formulas_reproduce_the_bill(rate, eu, response_kb):
    expressions = what_if_expressions(QUESTION, CATALOG)
    scope = {"min": min, "max": max, "ceil": math.ceil, "rate": rate, "eu": eu,
             "response_kb": response_kb}
    value = {key: eval(text, dict(scope)) for key, text in expressions.items()}
    service = replace(QUESTION, request_rate_rps=rate, eu_egress_fraction=eu,
                      response_kb=response_kb)
    for route, key in (("direct", "egress_direct"), ("eu_relay", "egress_eu_relay")):
        bill = monthly_bill(replace(service, egress_route=route), CATALOG)
        assert value[key] == pytest.approx(bill.component_usd("egress"), rel=1e-9, abs=1e-9)
        assert value["storage"] == pytest.approx(bill.component_usd("storage"))
    # The expressions use a plain ceil; the library forgives float error on exact fits.
    compute = monthly_bill(service, CATALOG).component_usd("compute")
    assert value["compute"] in (pytest.approx(compute), pytest.approx(compute + 2.5 * 730))


def test_what_if_chart_computes_the_bill_in_vega():
    figure = charts.show(charts.what_if_bill_chart(
        what_if_expressions(QUESTION, CATALOG), rate_rps=500, eu_share=0.3, response_kb=10,
        max_rate_rps=5000, max_response_kb=200))
    svg = vl_convert.vegalite_to_svg(figure.spec)
    labels = set(re.findall(r">\$([\d,]+)<", svg))
    assert {"10,287", "10,381"} <= labels  # direct and relayed totals, computed by Vega itself


def test_what_if_refuses_a_service_with_levers():
    with pytest.raises(ParameterError, match="no cost levers pulled"):
        what_if_expressions(replace(QUESTION, committed=True), CATALOG)


def test_sensitivity_shows_the_tier_kink_in_egress():
    rates = np.array([370.0, 380.0, 390.0, 400.0])  # 10 TB is reached at 380.5 rps
    sweep = bill_sensitivity(QUESTION, CATALOG, "request_rate_rps", rates)
    egress = sweep[sweep["component"] == "egress"]["monthly_usd"].to_numpy()
    slopes = np.diff(egress)
    assert slopes[0] > slopes[2]  # cheaper per GB after the boundary


def test_a_sweep_holds_every_value_once_per_component():
    sweep = bill_sensitivity(QUESTION, CATALOG, "eu_egress_fraction", (0.0, 0.5, 1.0))
    assert list(sweep.columns) == ["parameter", "value", "component", "monthly_usd"]
    assert len(sweep) == 3 * 4 and set(sweep["parameter"]) == {"eu_egress_fraction"}
    # A direct route: the EU share moves nothing, so every total is the question's.
    totals = sweep[sweep["component"] == "total"]["monthly_usd"]
    assert totals.to_numpy() == pytest.approx([10_286.90] * 3)
    for bad in ([], "1,2", range(MAX_SWEEP_VALUES + 1)):
        with pytest.raises(ParameterError, match=r"^values must be a sequence of 1 to 10,000"):
            bill_sensitivity(QUESTION, CATALOG, "response_kb", bad)


def test_without_a_free_allowance_the_relay_formula_is_two_plain_ladders():
    catalog = replace(CATALOG, internet_egress=CATALOG.internet_egress[1:])
    assert free_allowance_gb(catalog.internet_egress) == 0
    expressions = what_if_expressions(QUESTION, catalog)
    scope = {"min": min, "max": max, "ceil": math.ceil, "rate": 500, "eu": 0.3,
             "response_kb": 10}
    relayed = monthly_bill(replace(QUESTION, egress_route="eu_relay"), catalog)
    assert eval(expressions["egress_eu_relay"], scope) == pytest.approx(
        relayed.component_usd("egress"), rel=1e-12)
