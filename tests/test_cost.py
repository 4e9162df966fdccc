"""The itemised bill: totals, scaling, fleets, routes, and one range per service field."""

import math
from dataclasses import fields, replace

import pytest
from cost_fixtures import QUESTION
from hypothesis import given, settings
from hypothesis import strategies as st

from perfcost.cost import MIN_SPOT_FLEET, InferenceService, fleet_for, ingress_item, monthly_bill
from perfcost.pricing import load_catalog
from perfcost.validation import ParameterError
from perfcost.volume_tiers import monthly_gb

CATALOG = load_catalog()
TIERS = CATALOG.internet_egress


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


# --- Zero troughs, one range per field -------------------------------------------------------

def test_a_two_to_one_day_keeps_one_instance_at_its_zero_trough():
    fleet = fleet_for(replace(QUESTION, peak_to_average=2.0, autoscale=True))
    assert fleet.peak_instances == 10 and fleet.floor_instances == 1


def test_every_field_has_one_range_that_the_levers_share():
    from perfcost.cost import FIELD_CHECKS, check_field
    from perfcost.levers import standard_levers

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
