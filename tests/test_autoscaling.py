"""Autoscaling over a day: three policies on the diurnal curve, their properties and refusals."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perfcost.autoscaling import (
    DayPlan,
    FixedAtPeak,
    ScheduledTracking,
    TargetTracking,
    simulate_day,
)
from perfcost.validation import ParameterError

POLICIES = [FixedAtPeak(), TargetTracking(), ScheduledTracking()]
BASE = dict(peak_rps=10_000.0, peak_to_average=1.6, instance_capacity_rps=500.0,
            target_utilization=0.7, startup_delay_s=180.0)

days = st.fixed_dictionaries(dict(
    peak_rps=st.floats(1.0, 1e5),
    peak_to_average=st.floats(1.0, 2.0),
    instance_capacity_rps=st.floats(10.0, 1e3),
    target_utilization=st.floats(0.05, 0.99),
    startup_delay_s=st.floats(0.0, 1_800.0),
))
FAST = settings(max_examples=40, deadline=None)


def test_hand_computed_fixed_fleet():
    """10,000 rps at 500 rps × 0.7 per instance: N = ceil(28.57) = 29, so 30 all day."""
    day = simulate_day(FixedAtPeak(), **BASE)
    assert day.peak_instances == 30 and day.average_instances == 30
    assert day.instance_hours == pytest.approx(30 * 24)
    assert day.demand_rps.size == 1440 and day.demand_rps.max() == pytest.approx(10_000)
    assert day.demand_rps[0] == pytest.approx(10_000 / 1.6 * (2 - 1.6))  # the trough at t = 0


def test_exact_fit_is_not_rounded_up():
    """700 rps at 100 rps × 0.7 is exactly 10 instances, not 11, in float arithmetic."""
    day = simulate_day(FixedAtPeak(spare_instances=0), peak_rps=700, peak_to_average=1,
                       instance_capacity_rps=100, target_utilization=0.7, startup_delay_s=0)
    assert day.peak_instances == 10


@FAST
@given(days)
def test_steady_demand_gives_a_constant_fleet(day_args):
    day_args["peak_to_average"] = 1.0
    for policy in POLICIES:
        day = simulate_day(policy, **day_args)
        assert np.unique(day.ordered_instances).size == 1
        assert np.array_equal(day.serving_instances, day.ordered_instances)


@FAST
@given(days)
def test_fixed_fleet_is_n_plus_one_all_day(day_args):
    day = simulate_day(FixedAtPeak(), **day_args)
    n = day_args["peak_rps"] / (day_args["instance_capacity_rps"] * day_args["target_utilization"])
    assert day.peak_instances - 1 in (math.ceil(n), round(n))  # round: an exact fit
    assert day.instance_hours == pytest.approx(day.peak_instances * 24)
    assert day.overloaded_minutes == 0


@FAST
@given(days, st.integers(1, 5))
def test_tracking_never_orders_fewer_than_its_minimum(day_args, min_instances):
    day = simulate_day(TargetTracking(min_instances=min_instances), **day_args)
    assert day.ordered_instances.min() >= min_instances


@FAST
@given(days)
def test_tracking_without_startup_delay_is_never_overloaded(day_args):
    day_args["startup_delay_s"] = 0.0
    day = simulate_day(TargetTracking(), **day_args)
    assert day.overloaded_minutes == 0 and day.served_share == 1.0


@FAST
@given(days, st.floats(0.0, 1_800.0))
def test_a_longer_startup_delay_never_reduces_overload(day_args, extra_delay_s):
    for policy in POLICIES:
        shorter = simulate_day(policy, **day_args)
        longer = simulate_day(policy, **{**day_args,
                                         "startup_delay_s": day_args["startup_delay_s"]
                                         + extra_delay_s})
        assert longer.overloaded_minutes >= shorter.overloaded_minutes


@FAST
@given(days)
def test_schedule_never_overloads_more_than_tracking_alone(day_args):
    tracking = simulate_day(TargetTracking(), **day_args)
    scheduled = simulate_day(ScheduledTracking(), **day_args)
    assert scheduled.overloaded_minutes <= tracking.overloaded_minutes
    assert scheduled.overloaded_minutes == 0  # the floor is ordered a start-up delay early


@FAST
@given(days)
def test_tracking_costs_no_more_than_the_fixed_fleet(day_args):
    tracking = simulate_day(TargetTracking(), **day_args)
    fixed = simulate_day(FixedAtPeak(), **day_args)
    assert tracking.instance_hours <= fixed.instance_hours


def test_a_long_startup_delay_overloads_tracking_on_the_rise():
    """Hand-checked: at 0.95 utilisation and 30 minutes to start, the morning outruns the fleet."""
    day = simulate_day(TargetTracking(), **{**BASE, "target_utilization": 0.95,
                                            "startup_delay_s": 1_800})
    assert day.overloaded_minutes > 0 and day.served_share < 1
    assert not day.overloaded[720:].any()  # after noon demand falls: the fleet keeps up


def test_stabilization_window_delays_scale_in():
    """On the falling afternoon, a longer window holds more instances, never fewer."""
    short = simulate_day(TargetTracking(scale_in_stabilization_s=0), **BASE)
    long = simulate_day(TargetTracking(scale_in_stabilization_s=1_800), **BASE)
    assert np.all(long.ordered_instances >= short.ordered_instances)
    assert long.instance_hours > short.instance_hours


def test_results_are_read_only():
    day = simulate_day(TargetTracking(), **BASE)
    with pytest.raises(ValueError):
        day.ordered_instances[0] = 0


@pytest.mark.parametrize("name, value", [
    ("peak_rps", 0), ("peak_rps", 2e6), ("peak_rps", math.nan),
    ("peak_to_average", 0.5), ("peak_to_average", 3),
    ("instance_capacity_rps", 0), ("instance_capacity_rps", 1e7),
    ("target_utilization", 0), ("target_utilization", 1.5),
    ("startup_delay_s", -1), ("startup_delay_s", 1e5),
    ("step_s", 1), ("step_s", 7200), ("step_s", 70), ("step_s", "60"),
])
def test_simulate_day_refusals_name_the_argument(name, value):
    with pytest.raises(ParameterError) as error:
        simulate_day(TargetTracking(), **{**BASE, name: value})
    assert error.value.name == name and name in str(error.value)


def test_a_fleet_beyond_the_limit_is_refused():
    with pytest.raises(ParameterError, match="instances"):
        simulate_day(FixedAtPeak(), **{**BASE, "peak_rps": 1e6, "instance_capacity_rps": 0.01})


@pytest.mark.parametrize("make, name", [
    (lambda: FixedAtPeak(spare_instances=-1), "spare_instances"),
    (lambda: FixedAtPeak(spare_instances=1.5), "spare_instances"),
    (lambda: TargetTracking(min_instances=0), "min_instances"),
    (lambda: TargetTracking(scale_in_stabilization_s=-1), "scale_in_stabilization_s"),
    (lambda: TargetTracking(scale_in_stabilization_s=1e5), "scale_in_stabilization_s"),
    (lambda: TargetTracking(spare_instances=-1), "spare_instances"),
    (lambda: TargetTracking(spare_instances=0.5), "spare_instances"),
    (lambda: ScheduledTracking(tracking=FixedAtPeak()), "tracking"),
])
def test_policy_refusals_name_the_argument(make, name):
    with pytest.raises(ParameterError) as error:
        make()
    assert error.value.name == name


# --- Spare instances above the tracked count ------------------------------------------------

PLAN = DayPlan(np.array([1, 4, 2, 1, 3]), 4, 1, 60.0)  # five one-minute steps, d = 1


def test_hand_computed_tracking_with_a_spare():
    """A 120 s window is two steps: the largest of needed(k − 1), needed(k), wrapping round the
    day: 3, 4, 4, 2, 3; one spare on top, at least two (or five)."""
    tracking = TargetTracking(min_instances=2, scale_in_stabilization_s=120.0, spare_instances=1)
    assert tracking.ordered_instances(PLAN).tolist() == [4, 5, 5, 3, 4]
    floor_five = TargetTracking(min_instances=5, scale_in_stabilization_s=120.0,
                                spare_instances=1)
    assert floor_five.ordered_instances(PLAN).tolist() == [5, 5, 5, 5, 5]


def test_a_spare_of_zero_keeps_tracking_as_it_was():
    tracking = TargetTracking(min_instances=2, scale_in_stabilization_s=120.0)
    assert tracking.spare_instances == 0  # the default
    assert tracking.ordered_instances(PLAN).tolist() == [3, 4, 4, 2, 3]
    assert TargetTracking(min_instances=1, scale_in_stabilization_s=0.0).ordered_instances(
        PLAN).tolist() == [1, 4, 2, 1, 3]  # no window, no floor: the needed count itself


def test_hand_computed_schedule_adds_the_trackings_spare_to_its_floor():
    """The floor orders needed(k + 1) a step early: max(needed(k), needed(k + 1)) = 4, 4, 2, 3,
    3, plus the spare; tracking alone (a one-step window) orders needed + 1: 2, 5, 3, 2, 4."""
    tracking = TargetTracking(min_instances=2, scale_in_stabilization_s=60.0, spare_instances=1)
    assert ScheduledTracking(tracking).ordered_instances(PLAN).tolist() == [5, 5, 3, 4, 4]
    without = TargetTracking(min_instances=2, scale_in_stabilization_s=60.0)
    assert ScheduledTracking(without).ordered_instances(PLAN).tolist() == [4, 4, 2, 3, 3]


@FAST
@given(days, st.integers(0, 3))
def test_a_spare_adds_exactly_that_many_above_the_floor(day_args, spare):
    plain = simulate_day(TargetTracking(min_instances=1), **day_args)
    spared = simulate_day(TargetTracking(min_instances=1, spare_instances=spare), **day_args)
    assert np.array_equal(spared.ordered_instances, plain.ordered_instances + spare)


@FAST
@given(days)
def test_with_one_spare_every_policy_orders_n_plus_one_at_the_peak(day_args):
    """The peak's needed count is the day's largest, so one spare above it is the fixed N + 1."""
    fixed = simulate_day(FixedAtPeak(), **day_args)
    tracking = TargetTracking(spare_instances=1)
    for policy in (tracking, ScheduledTracking(tracking)):
        assert simulate_day(policy, **day_args).peak_instances == fixed.peak_instances
