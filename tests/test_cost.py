"""The itemised bill: tier arithmetic, totals, scaling, fleets, and the in-browser formulas."""

import math
import re
from dataclasses import fields, replace

import numpy as np
import pytest
import vl_convert
from hypothesis import given, settings
from hypothesis import strategies as st

from perfcost.book import charts
from perfcost.cost import (
    MIN_SPOT_FLEET,
    InferenceService,
    bill_sensitivity,
    fleet_for,
    ingress_item,
    monthly_bill,
    monthly_gb,
    tier_expression,
    tiered_cost_usd,
    tiered_items,
    what_if_expressions,
)
from perfcost.pricing import Tier, load_catalog
from perfcost.validation import ParameterError

CATALOG = load_catalog()
TIERS = CATALOG.internet_egress
QUESTION = InferenceService(
    request_rate_rps=500, request_kb=50, response_kb=10, eu_egress_fraction=0.3,
    instance_hourly_usd=2.5, instance_throughput_rps=100, model_storage_gb=200,
    storage_usd_per_gb_month=0.02,
)


# --- Tiers ------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("gb", "usd"),
    [
        (0, 0.0),
        (100, 0.0),  # the free allowance
        (5_000, 4_900 * 0.09),
        (10_000, 891.0),  # 9,900 x 0.09
        (13_140, 891.0 + 3_140 * 0.085),
        (50_000, 891.0 + 40_000 * 0.085),  # 4,291
        (200_000, 891 + 3_400 + 100_000 * 0.07 + 50_000 * 0.05),  # 13,791
    ],
)
def test_tiers_on_hand_computed_cases(gb, usd):
    assert tiered_cost_usd(gb, TIERS) == pytest.approx(usd, rel=1e-12)


def test_tier_lines_are_labelled_and_sum_to_the_volume():
    items = tiered_items(200_000, TIERS, component="egress", name="egress")
    assert [i.name for i in items] == ["egress, free allowance, first 100 GB",
                                       "egress, next 9.9 TB", "egress, next 40 TB",
                                       "egress, next 100 TB", "egress, over 150 TB"]
    assert math.fsum(i.quantity for i in items) == pytest.approx(200_000)


@pytest.mark.parametrize("boundary", [100.0, 10_000.0, 50_000.0, 150_000.0])
def test_tiers_are_continuous_at_each_boundary(boundary):
    below, above = tiered_cost_usd(boundary - 1e-6, TIERS), tiered_cost_usd(boundary + 1e-6, TIERS)
    assert above - below == pytest.approx(0.0, abs=1e-6)


@settings(max_examples=300, deadline=None)
@given(low=st.floats(0, 1e6), high=st.floats(0, 1e6))
def test_tiers_are_monotone_and_bounded_by_the_first_and_last_paid_price(low, high):
    low, high = sorted((low, high))
    assert tiered_cost_usd(low, TIERS) <= tiered_cost_usd(high, TIERS) + 1e-9
    cost = tiered_cost_usd(high, TIERS)
    paid = max(high - 100, 0)  # past the free allowance
    assert 0.05 * paid - 1e-6 <= cost <= 0.09 * paid + 1e-6


@settings(max_examples=300, deadline=None)
@given(gb=st.floats(0, 1e6))
def test_the_expression_form_agrees_with_the_tiers(gb):
    expression = tier_expression(TIERS, "gb")
    assert eval(expression, {"min": min, "max": max, "gb": gb}) == pytest.approx(
        tiered_cost_usd(gb, TIERS), rel=1e-12, abs=1e-9)


def test_a_single_flat_tier():
    assert tiered_cost_usd(123.0, (Tier(math.inf, 0.02),)) == pytest.approx(2.46)


# --- The question's bill ----------------------------------------------------------------------

def test_the_question_bill_by_hand():
    bill = monthly_bill(QUESTION, CATALOG)
    assert fleet_for(QUESTION).peak_instances == 5
    assert bill.component_usd("compute") == pytest.approx(5 * 2.5 * 730)
    assert monthly_gb(500, 10, 730) == pytest.approx(13_140)  # 500 x 10 kB x 2,628,000 s
    assert bill.quantity("egress", "GB") == pytest.approx(13_140)
    assert bill.component_usd("egress") == pytest.approx(9_900 * 0.09 + 3_140 * 0.085)
    assert bill.component_usd("storage") == pytest.approx(4.0)
    # The question's three components only; ingress is a line of the fuller bill.
    assert {item.component for item in bill.items} == {"compute", "egress", "storage"}
    assert bill.total_usd == pytest.approx(10_286.90)
    upload = ingress_item(QUESTION, CATALOG)
    assert (upload.quantity, upload.monthly_usd) == (pytest.approx(65_700), 0.0)


def test_items_sum_to_totals():
    for service in (QUESTION, replace(QUESTION, egress_route="eu_relay", spot_share=0.3,
                                      spot_discount=0.6, committed=True,
                                      commitment_discount=0.3, archived_storage_fraction=0.5,
                                      archive_usd_per_gb_month=0.004)):
        bill = monthly_bill(service, CATALOG)
        frame = bill.to_frame()
        assert frame["monthly_usd"].sum() == pytest.approx(bill.total_usd, rel=1e-12)
        components = ("compute", "egress", "storage")
        assert math.fsum(bill.component_usd(c) for c in components) == pytest.approx(
            bill.total_usd, rel=1e-12)
        assert (frame["quantity"] * frame["unit_price_usd"]).to_numpy() == pytest.approx(
            frame["monthly_usd"].to_numpy())


def test_doubling_traffic_doubles_compute_and_egress_volume_not_storage():
    single, double = (monthly_bill(replace(QUESTION, request_rate_rps=r), CATALOG)
                      for r in (500, 1000))
    assert double.component_usd("compute") == pytest.approx(2 * single.component_usd("compute"))
    assert double.quantity("egress", "GB") == pytest.approx(2 * single.quantity("egress", "GB"))
    assert double.component_usd("storage") == single.component_usd("storage")


@pytest.mark.parametrize(("rate", "instances"), [(700, 7), (701, 8), (0.5, 1), (6999.99, 70)])
def test_exact_fits_and_one_more_request(rate, instances):
    assert fleet_for(replace(QUESTION, request_rate_rps=rate)).peak_instances == instances


def test_relaying_the_eu_share_adds_inter_region_transfer():
    relayed = monthly_bill(replace(QUESTION, egress_route="eu_relay"), CATALOG)
    eu_gb = 13_140 * 0.3
    us_gb = 13_140 - eu_gb
    # The free 100 GB are the account's, spent in us-east-1: the EU region pays from its 1st GB.
    expected = us_gb * 0.09 - 100 * 0.09 + 0.02 * eu_gb + eu_gb * 0.09
    assert relayed.component_usd("egress") == pytest.approx(expected)
    assert relayed.quantity("egress", "GB") == pytest.approx(13_140 + eu_gb)  # relayed GB twice


# --- Fleets -----------------------------------------------------------------------------------

def test_a_diurnal_day_averages_to_the_rate_and_peaks_at_the_ratio():
    service = replace(QUESTION, peak_to_average=1.65)
    fleet = fleet_for(service)
    assert fleet.peak_instances == 9  # ceil(825 / 100)
    assert fleet.instance_hours == pytest.approx(9 * 730)
    scaled = fleet_for(replace(service, autoscale=True))
    # ceil(500 (1 − 0.65 cos(2π h / 24)) / 100) for h = 0..23 (the trough at hour 0), by hand:
    assert scaled.hourly_counts == (2, 2, 3, 3, 4, 5, 5, 6, 7, 8, 8, 9, 9, 9, 8, 8, 7, 6, 5, 5, 4,
                                    3, 3, 2)
    assert scaled.instance_hours == pytest.approx(131 * 730 / 24)
    assert scaled.floor_instances == 2


def test_spot_and_commitment_split_the_hours():
    service = replace(QUESTION, peak_to_average=1.65, autoscale=True, spot_share=0.25,
                      committed=True)
    fleet = fleet_for(service)
    # Whole instances: floor(0.25 x count) on spot in hours of 3 or more, none below; the
    # commitment covers the whole instances on-demand every hour: min(count - spot) = 2.
    spot = [math.floor(0.25 * c) if c >= MIN_SPOT_FLEET else 0 for c in fleet.hourly_counts]
    assert fleet.spot_hours == pytest.approx(sum(spot) * 730 / 24)
    assert fleet.committed_instances == 2
    assert fleet.committed_hours == pytest.approx(2 * 730)
    assert fleet.on_demand_hours >= 0
    assert (fleet.spot_hours + fleet.committed_hours + fleet.on_demand_hours
            == pytest.approx(fleet.instance_hours))


@settings(max_examples=200, deadline=None)
@given(peak=st.floats(1.0, 2.0), spot=st.floats(0, 0.99), hit=st.floats(0, 0.99),
       rate=st.floats(1, 1e5), autoscale=st.booleans(), committed=st.booleans())
def test_fleet_hours_are_never_negative(peak, spot, hit, rate, autoscale, committed):
    service = replace(QUESTION, request_rate_rps=rate, peak_to_average=peak, spot_share=spot,
                      cache_hit_rate=hit, autoscale=autoscale, committed=committed)
    fleet = fleet_for(service)
    assert fleet.on_demand_hours >= -1e-9 * fleet.instance_hours
    assert fleet.floor_instances >= 1
    assert math.isfinite(monthly_bill(service, CATALOG).total_usd)


# --- Bad input --------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("eu_egress_fraction", 1.7, r"eu_egress_fraction must be a number in \[0, 1\]; got 1.7"),
        ("request_kb", -1, r"request_kb must be a number in \[0, 1e\+06\]"),
        ("request_rate_rps", 0, r"request_rate_rps must be a number in \(0, 1e\+06\]"),
        ("response_kb", math.nan, "response_kb must be"),
        ("peak_to_average", 2.5, r"peak_to_average must be a number in \[1, 2\]"),
        ("spot_share", 1.0, r"spot_share must be a number in \[0, 1\)"),
        ("response_compression_ratio", 0.5, "response_compression_ratio must be"),
        ("egress_route", "carrier pigeon", "egress_route must be one of direct, eu_relay"),
    ],
)
def test_bad_input_names_the_field(field, value, message):
    with pytest.raises(ParameterError, match=message):
        replace(QUESTION, **{field: value})


# --- Sensitivity and the in-browser what-if ---------------------------------------------

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


def test_a_two_to_one_day_keeps_one_instance_at_its_zero_trough():
    fleet = fleet_for(replace(QUESTION, peak_to_average=2.0, autoscale=True))
    assert fleet.peak_instances == 10 and fleet.floor_instances == 1


def test_every_field_has_one_range_that_the_levers_share():
    from perfcost.cost import FIELD_CHECKS, check_field
    from perfcost.savings import standard_levers

    assert set(FIELD_CHECKS) == {f.name for f in fields(InferenceService)}
    for name, low, high in [("hours_per_month", 672, 744), ("throughput_gain", 0.01, 1000),
                            ("instance_throughput_rps", 1e-6, 1e6), ("request_kb", 0, 1e6)]:
        assert check_field(name, low) == low and check_field(name, high) == high
    levers = dict(commitment_discount=0.28, spot_share=0.4, spot_discount=0.5,
                  throughput_gain=1.0, cache_hit_rate=0.0, response_compression_ratio=3.0,
                  archived_storage_fraction=0.75, archive_usd_per_gb_month=0.004)
    for name, bad in [("throughput_gain", 1001), ("response_compression_ratio", 1001),
                      ("archive_usd_per_gb_month", 11), ("spot_share", 1.0)]:
        with pytest.raises(ParameterError) as by_service:
            replace(QUESTION, **{name: bad})
        with pytest.raises(ParameterError) as by_levers:
            standard_levers(**{**levers, name: bad})
        assert str(by_service.value) == str(by_levers.value)


# --- The free allowance, shared across regions ----------------------------------------------

def test_the_free_allowance_is_the_first_tier_and_the_first_paid_price_follows():
    from perfcost.cost import first_paid_usd_per_gb, free_allowance_gb

    assert free_allowance_gb(TIERS) == 100
    assert first_paid_usd_per_gb(TIERS) == 0.09
    paid_only = TIERS[1:]
    assert free_allowance_gb(paid_only) == 0 and first_paid_usd_per_gb(paid_only) == 0.09
    assert first_paid_usd_per_gb((Tier(math.inf, 0.0),)) == 0.0


@pytest.mark.parametrize(("used", "left"), [(0, 100), (30, 70), (100, None), (5_000, None)])
def test_another_region_gets_what_the_first_left_of_the_allowance(used, left):
    from perfcost.cost import after_free_use

    ladder = after_free_use(TIERS, used)
    assert ladder[1 if left else 0:] == TIERS[1:]  # paid tiers keep their bounds
    if left:
        assert ladder[0] == Tier(left, 0.0)


@settings(max_examples=200, deadline=None)
@given(us=st.floats(0, 3e5), eu=st.floats(0, 3e5))
def test_the_allowance_is_granted_once_whatever_the_split(us, eu):
    from perfcost.cost import after_free_use

    both = tiered_cost_usd(us, TIERS) + tiered_cost_usd(eu, after_free_use(TIERS, us))
    free_gb = min(us + eu, 100)  # given once
    no_allowance = tiered_cost_usd(us, TIERS[1:]) + tiered_cost_usd(eu, TIERS[1:])
    assert both == pytest.approx(no_allowance - 0.09 * free_gb, rel=1e-9, abs=1e-6)
    # Splitting a volume over two ladders never costs less than one ladder.
    assert both >= tiered_cost_usd(us + eu, TIERS) - 1e-6


def test_a_tiny_eu_share_uses_what_is_left_of_the_allowance():
    service = replace(QUESTION, request_rate_rps=10, response_kb=1, egress_route="eu_relay")
    bill = monthly_bill(service, CATALOG)  # 26.28 GB in all: all of it inside the allowance
    assert bill.component_usd("egress") == pytest.approx(0.02 * 26.28 * 0.3)


# --- Whole instances, spares, a calendar month (review of chapter 2) ---------------------------

@pytest.mark.parametrize(("rate", "spot_instances"), [(100, 0), (200, 0), (300, 1), (500, 2)])
def test_spot_takes_whole_instances_and_none_from_a_small_fleet(rate, spot_instances):
    service = replace(QUESTION, request_rate_rps=rate, spot_share=0.4, spot_discount=0.6)
    fleet = fleet_for(service)
    assert fleet.spot_hours == pytest.approx(spot_instances * 730)
    if spot_instances == 0:  # a fleet of 1 or 2: one reclaim takes half of it or more
        assert monthly_bill(service, CATALOG).total_usd == monthly_bill(
            replace(service, spot_share=0.0), CATALOG).total_usd


def test_a_commitment_covers_whole_instances_only():
    fleet = fleet_for(replace(QUESTION, spot_share=0.5, spot_discount=0.6, committed=True,
                              commitment_discount=0.37))
    # 5 instances, floor(2.5) = 2 on spot, 3 on-demand every hour: all 3 committed.
    assert fleet.committed_instances == 3
    assert fleet.committed_hours == pytest.approx(3 * 730)
    assert fleet.on_demand_hours == pytest.approx(0.0, abs=1e-9)


def test_a_spare_adds_one_instance_every_hour():
    plain, spared = fleet_for(QUESTION), fleet_for(replace(QUESTION, spare_instances=1))
    assert spared.peak_instances == plain.peak_instances + 1
    assert spared.instance_hours == pytest.approx(plain.instance_hours + 730)


@pytest.mark.parametrize("hours", [1.0, 671.9, 744.1])
def test_a_month_is_a_calendar_month(hours):
    with pytest.raises(ParameterError, match=r"^hours_per_month must be a number in "
                                             r"\[672, 744\]"):
        replace(QUESTION, hours_per_month=hours)
