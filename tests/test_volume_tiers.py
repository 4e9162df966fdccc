"""Volume tiers: a month's gigabytes priced tier by tier, and the free allowance shared once."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perfcost.pricing import Tier, load_catalog
from perfcost.units import MAX_HOURS_PER_MONTH
from perfcost.validation import ParameterError
from perfcost.volume_tiers import (
    MAX_KB,
    MAX_MONTHLY_GB,
    after_free_use,
    first_paid_usd_per_gb,
    free_allowance_gb,
    monthly_gb,
    tier_expression,
    tiered_cost_usd,
    tiered_items,
)

TIERS = load_catalog().internet_egress


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


# --- The free allowance, shared across regions ----------------------------------------------

def test_the_free_allowance_is_the_first_tier_and_the_first_paid_price_follows():
    assert free_allowance_gb(TIERS) == 100
    assert first_paid_usd_per_gb(TIERS) == 0.09
    paid_only = TIERS[1:]
    assert free_allowance_gb(paid_only) == 0 and first_paid_usd_per_gb(paid_only) == 0.09
    assert first_paid_usd_per_gb((Tier(math.inf, 0.0),)) == 0.0


@pytest.mark.parametrize(("used", "left"), [(0, 100), (30, 70), (100, None), (5_000, None)])
def test_another_region_gets_what_the_first_left_of_the_allowance(used, left):
    ladder = after_free_use(TIERS, used)
    assert ladder[1 if left else 0:] == TIERS[1:]  # paid tiers keep their bounds
    if left:
        assert ladder[0] == Tier(left, 0.0)


@settings(max_examples=200, deadline=None)
@given(us=st.floats(0, 3e5), eu=st.floats(0, 3e5))
def test_the_allowance_is_granted_once_whatever_the_split(us, eu):
    both = tiered_cost_usd(us, TIERS) + tiered_cost_usd(eu, after_free_use(TIERS, us))
    free_gb = min(us + eu, 100)  # given once
    no_allowance = tiered_cost_usd(us, TIERS[1:]) + tiered_cost_usd(eu, TIERS[1:])
    assert both == pytest.approx(no_allowance - 0.09 * free_gb, rel=1e-9, abs=1e-6)
    # Splitting a volume over two ladders never costs less than one ladder.
    assert both >= tiered_cost_usd(us + eu, TIERS) - 1e-6


# --- A month's volume -------------------------------------------------------------------------

def test_a_month_of_messages_by_hand():
    # 2 messages/s of 1,500 bytes for 744 h: 2 x 1,500 x 2,678,400 s = 8.0352 GB.
    assert monthly_gb(2, 1.5, 744) == pytest.approx(8.0352, rel=1e-12)
    assert monthly_gb(4, 1.5, 744) == pytest.approx(2 * monthly_gb(2, 1.5, 744), rel=1e-12)
    assert monthly_gb(0, 1.5, 744) == 0 and monthly_gb(2, 0, 744) == 0


def test_the_largest_month_is_what_the_tiers_take():
    # The largest valid service, relayed: its month twice, and not a gigabyte more.
    assert MAX_MONTHLY_GB == pytest.approx(2 * monthly_gb(1e6, MAX_KB, MAX_HOURS_PER_MONTH))
    items = tiered_items(MAX_MONTHLY_GB, TIERS, component="egress", name="egress")
    assert math.fsum(i.quantity for i in items) == pytest.approx(MAX_MONTHLY_GB)
    with pytest.raises(ParameterError, match=r"^quantity_gb must be a number in \[0, "):
        tiered_items(MAX_MONTHLY_GB * 1.01, TIERS, component="egress", name="egress")
    with pytest.raises(ParameterError, match=r"^used_gb must be a number in \[0, "):
        after_free_use(TIERS, -1.0)


def test_a_flat_ladder_has_no_free_allowance_and_one_line():
    flat = (Tier(math.inf, 0.02),)
    assert free_allowance_gb(flat) == 0 and after_free_use(flat, 50.0) == flat
    assert [i.name for i in tiered_items(10.0, flat, component="egress", name="out")] == [
        "out, over 0 TB"]
    assert eval(tier_expression(flat, "gb"), {"min": min, "max": max, "gb": 10.0}) == \
        pytest.approx(0.2)
