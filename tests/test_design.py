"""Chapter 5's design: options, sizing, the day, the bill, the latency budget and the answer.

The measured serving profiles are hand-made (no classifier is trained, no server is timed):
a core spends 0.2 ms per request outside the model, and the model call takes the times below.
"""

import dataclasses
import math
from types import SimpleNamespace

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from perfcost.autoscaling import DayPlan, simulate_day
from perfcost.capacity import instances_for_utilization, size_fleet_for_quantile
from perfcost.design import MODELS, DesignQuestion, design_service, tables
from perfcost.design.bill import (
    CACHE_NODES,
    cache_items,
    egress_items,
    hourly_means_rps,
    load_balancer_items,
)
from perfcost.design.day import (
    POLICY_NAMES,
    FixedFleet,
    minutes_meeting_slo,
    policy_days,
    tracking_target,
)
from perfcost.design.fixes import Change, candidate_changes, cheapest_fix
from perfcost.design.latency import (
    EXTREME_SAMPLES,
    end_to_end_p95_ms,
    request_stages,
    server_budget_ms,
    server_samples_ms,
    stage_from_figure,
)
from perfcost.design.options import measured_option, measured_options, published_options
from perfcost.design.run import served_profiles
from perfcost.design.service import peak_server_samples_ms, peak_serving_instances
from perfcost.design.sizing import server_p95_ms, size_at_peak, size_options
from perfcost.fleet_latency import FLEET
from perfcost.fleet_quantiles import fleet_response_quantile_ms
from perfcost.latency_budget import end_to_end_quantile_ms
from perfcost.pricing import load_catalog
from perfcost.serving.http_loopback import ServerCost
from perfcost.serving.request_path import ServingProfile
from perfcost.units import HOURS_PER_MONTH
from perfcost.validation import ParameterError

CATALOG_FILE = load_catalog().path
CATALOG = load_catalog()
C6I = CATALOG.instance("c6i.xlarge")  # 4 vCPUs, $0.17 an hour
BATCHES = (1, 8, 32, 128)
FP32 = ServingProfile("fp32", 0.2, 0.19, 0.21, BATCHES, (0.01, 0.008, 0.009, 0.02),
                      (0.009, 0.007, 0.008, 0.019), (0.011, 0.009, 0.01, 0.021))
INT8 = ServingProfile("int8", 0.2, 0.19, 0.21, BATCHES, (0.008, 0.006, 0.007, 0.015),
                      (0.007, 0.005, 0.006, 0.014), (0.009, 0.007, 0.008, 0.016))
PROFILES = {"fp32": FP32, "int8": INT8}
GB_PER_RPS_KB = HOURS_PER_MONTH * 3600 / 1e6  # a month of 1 request/s of 1 kB, in GB

QUESTIONS = {
    "defaults": {},
    "peak doubled": {"peak_qps": 20_000.0},
    "tiny budget": {"budget_usd_month": 1.0},
    "slo below the network": {"p95_slo_ms": 1.0},
    "bert_large": {"model": "bert_large"},
    "bert_large doubled": {"model": "bert_large", "peak_qps": 20_000.0},
    "bert_large with a 60% cache": {"model": "bert_large", "cache_hit_rate": 0.6},
    "at most 30% busy": {"max_utilization": 0.3},
    # 3 ms: above the no-cache stages' p95s (2.45 ms), below the cached path's (3.38 ms)
    "slo between the paths": {"p95_slo_ms": 3.0},
    # tracking at 95% with hour-long starts misses the tight SLO some minutes
    "tight slo, slow starts": {"peak_qps": 200_000.0, "startup_delay_s": 3_600.0,
                               "utilization_target": 0.95, "max_utilization": 1.0,
                               "p95_slo_ms": 2.9},
}


@pytest.fixture(scope="module")
def designs():
    return {name: design_service(DesignQuestion(**changes), PROFILES)
            for name, changes in QUESTIONS.items()}


# --- Options ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("batch", "wait_ms"), [(1, 0.0), (8, 5.0), (128, 5.0)])
def test_a_measured_option_is_vcpus_cores_at_the_profiles_cost(batch, wait_ms):
    option = measured_option(C6I, "mlp_fp32", FP32, batch, 5.0)
    busy_ms = batch * 0.2 + FP32.model_ms(batch)  # 0.21, 1.608, 25.62 ms a batch
    assert option.service_ms == pytest.approx(busy_ms, rel=1e-12)
    assert option.throughput_rps == pytest.approx(4 * 1000.0 * batch / busy_ms, rel=1e-12)
    assert option.throughput_rps == pytest.approx(4 * FP32.per_core_rps(batch), rel=1e-12)
    assert option.max_wait_ms == wait_ms and option.batchers == 4


def test_measured_options_cover_every_instance_type_at_every_batch():
    options = measured_options(CATALOG, "mlp_fp32", FP32, max_wait_ms=5.0)
    assert len(options) == len(CATALOG.instances) * len(BATCHES)
    assert {(o.instance.name, o.batch) for o in options} == {
        (name, b) for name in CATALOG.instances for b in BATCHES}
    with pytest.raises(ParameterError, match="batch"):
        measured_option(C6I, "mlp_fp32", FP32, 3, 5.0)  # not a measured size


def test_hand_computed_measured_option_at_batch_8():
    option = measured_option(C6I, "mlp_fp32", FP32, 8, 5.0)
    assert option.service_ms == pytest.approx(1.608)
    assert option.throughput_rps == pytest.approx(32_000 / 1.608)  # 19,900 requests/s
    assert option.label == "c6i.xlarge, mlp_fp32, batch 8"
    assert measured_option(C6I, "mlp_fp32", FP32, 1, 5.0).label == \
        "c6i.xlarge, mlp_fp32, no batching"


@pytest.mark.parametrize("overhead_ms", [0.2, 10.0])
def test_published_options_are_capped_by_what_the_host_parses(overhead_ms):
    options = published_options(CATALOG, "text_classification", "bert_large", overhead_ms,
                                max_wait_ms=5.0)
    figures = CATALOG.workload("text_classification")
    assert {o.instance.name for o in options} == set(figures) & set(CATALOG.instances)
    for option in options:
        figure = figures[option.instance.name]
        host_rps = option.instance.vcpus * 1000.0 / overhead_ms
        assert option.throughput_rps == pytest.approx(min(figure.throughput_rps, host_rps))
        assert option.service_ms == figure.latency_ms
        assert option.max_wait_ms == (0.0 if figure.batch in (None, 1) else 5.0)
    if overhead_ms == 10.0:  # 4 vCPUs parse 400 requests/s: g5 (900/s) is capped, g4dn not
        by_name = {o.instance.name: o.throughput_rps for o in options}
        assert by_name["g5.xlarge"] == pytest.approx(400.0)
        assert by_name["g4dn.xlarge"] == pytest.approx(387.15)


def test_published_options_refuse_an_unknown_workload():
    with pytest.raises(ParameterError, match="workload"):
        published_options(CATALOG, "speech", "bert_large", 0.2, max_wait_ms=5.0)


def test_fill_time_is_batch_minus_one_per_batcher_at_the_instance_rate():
    option = measured_option(C6I, "mlp_fp32", FP32, 8, 5.0)
    assert option.fill_ms(1000.0) == pytest.approx(1000.0 * 7 * 4 / 1000.0)  # 28 ms
    assert option.fill_ms(2000.0) == pytest.approx(14.0)
    assert measured_option(C6I, "mlp_fp32", FP32, 1, 5.0).fill_ms(1.0) == 0.0


def test_the_wait_is_the_fill_time_at_most_the_longest_wait():
    option = measured_option(C6I, "mlp_fp32", FP32, 8, 5.0)
    assert option.wait_ms(14_000.0) == pytest.approx(2.0)  # 7 × 4 / 14,000 s: fills first
    assert option.wait_ms(5_600.0) == pytest.approx(5.0)  # fills just as the batcher gives up
    assert option.wait_ms(1_000.0) == 5.0  # 28 ms to fill: the batcher waits 5 and sends
    assert measured_option(C6I, "mlp_fp32", FP32, 1, 5.0).wait_ms(1.0) == 0.0  # no batching


@settings(max_examples=30, deadline=None, derandomize=True)
@given(rate=st.floats(1.0, 1e6), batch=st.sampled_from(BATCHES), wait=st.floats(0.0, 1_000.0))
def test_the_wait_never_exceeds_the_fill_time_or_the_longest_wait(rate, batch, wait):
    option = measured_option(C6I, "mlp_fp32", FP32, batch, wait)
    assert option.wait_ms(rate) == min(option.fill_ms(rate), option.max_wait_ms)
    assert 0.0 <= option.wait_ms(rate) <= option.max_wait_ms
    assert option.wait_ms(2 * rate) <= option.wait_ms(rate)  # more traffic fills sooner


@pytest.mark.parametrize("batch", BATCHES)
def test_instance_type_round_trips_throughput_price_and_latency(batch):
    option = measured_option(C6I, "mlp_fp32", FP32, batch, 5.0)
    instance = option.instance_type()
    assert instance.name == option.label
    assert instance.throughput_rps == option.throughput_rps
    assert instance.hourly_usd == option.hourly_usd == 0.17
    assert instance.latency_ms == option.service_ms


# --- Sizing at the peak ----------------------------------------------------------------------

@pytest.mark.parametrize("rate_rps", [1_000.0, 100_000.0])
def test_peak_sizing_is_needed_plus_one_at_least_two(rate_rps):
    option = measured_option(C6I, "mlp_fp32", FP32, 1, 5.0)
    fleet = size_at_peak(option, rate_rps, 50.0)
    needed = size_fleet_for_quantile(option.instance_type(), rate_rps, 50.0).count
    assert fleet.needed == needed
    assert fleet.instances == max(2, needed + 1)
    assert fleet.feasible and fleet.reason == ""
    assert fleet.server_rps == rate_rps and fleet.server_p95_ms <= 50.0
    assert fleet.hourly_usd == pytest.approx(fleet.instances * 0.17)
    if rate_rps == 100_000.0:
        assert needed >= 2  # the spare, not the floor of two, decides here


def test_a_max_utilization_that_binds_raises_the_needed_count():
    """c6i at batch 1 serves 4,000 / 0.21 = 19,048 requests/s. At 100,000 requests/s the p95
    alone needs 6 instances (each 87.5% busy); at most 50% busy needs
    ceil(100,000 / 9,524) = ceil(10.5) = 11, plus the spare."""
    option = measured_option(C6I, "mlp_fp32", FP32, 1, 5.0)
    unbound = size_at_peak(option, 100_000.0, 50.0)
    assert unbound.needed == 6 and unbound.instances == 7
    assert size_at_peak(option, 100_000.0, 50.0, max_utilization=1.0) == unbound  # default
    half = size_at_peak(option, 100_000.0, 50.0, max_utilization=0.5)
    assert (half.needed, half.instances) == (11, 12)
    assert half.needed == instances_for_utilization(100_000.0, option.throughput_rps, 0.5)
    assert 100_000.0 / (half.needed * option.throughput_rps) <= 0.5
    assert half.feasible and half.server_p95_ms == pytest.approx(
        server_p95_ms(option, 12, 100_000.0))
    assert half.hourly_usd == pytest.approx(12 * 0.17)
    loose = size_at_peak(option, 100_000.0, 50.0, max_utilization=0.9)  # 5.83: the p95 binds
    assert (loose.needed, loose.instances) == (6, 7)
    fleets = size_options([option], 100_000.0, 50.0, max_utilization=0.5)
    assert [(f.needed, f.instances) for f in fleets] == [(11, 12)]


@pytest.mark.parametrize("value", [0.005, 0.0, 1.01, -1.0])
def test_size_at_peak_refuses_a_max_utilization_out_of_range(value):
    option = measured_option(C6I, "mlp_fp32", FP32, 1, 5.0)
    with pytest.raises(ParameterError) as refused:
        size_at_peak(option, 100_000.0, 50.0, max_utilization=value)
    assert refused.value.name == "max_utilization"
    with pytest.raises(ParameterError) as refused:
        size_options([option], 100_000.0, 50.0, max_utilization=value)
    assert refused.value.name == "max_utilization"


def test_peak_sizing_without_spares_or_floor_is_the_needed_count():
    option = measured_option(C6I, "mlp_fp32", FP32, 1, 5.0)
    fleet = size_at_peak(option, 100_000.0, 50.0, spare_instances=0, min_instances=1)
    assert fleet.instances == fleet.needed == size_at_peak(option, 100_000.0, 50.0).needed


@pytest.mark.parametrize("budget_ms", [6.0, 10.0, 50.0])
def test_a_batching_fleet_meets_the_budget_wait_included(budget_ms):
    option = measured_option(C6I, "mlp_fp32", FP32, 8, 2.0)
    fleet = size_at_peak(option, 200_000.0, budget_ms)
    assert fleet.feasible
    assert fleet.server_p95_ms <= budget_ms
    wait_ms = option.wait_ms(fleet.server_rps / fleet.instances)
    assert 0 < wait_ms <= option.max_wait_ms
    assert option.fill_ms(fleet.server_rps / fleet.instances) <= option.max_wait_ms
    assert fleet.server_p95_ms == pytest.approx(wait_ms + fleet_response_quantile_ms(
        option.instance_type(), fleet.instances, 200_000.0, 0.95))


def test_the_server_p95_is_the_wait_plus_the_fleets_response():
    rate = 100_000.0
    for batch in (1, 8):
        option = measured_option(C6I, "mlp_fp32", FP32, batch, 5.0)
        response = fleet_response_quantile_ms(option.instance_type(), 9, rate, 0.95)
        assert server_p95_ms(option, 9, rate) == pytest.approx(
            option.wait_ms(rate / 9) + response, rel=1e-12)
        assert server_p95_ms(option, 9, rate, FLEET) == server_p95_ms(option, 9, rate)
    assert server_p95_ms(measured_option(C6I, "mlp_fp32", FP32, 1, 5.0), 9, rate) == \
        pytest.approx(fleet_response_quantile_ms(C6I_BATCH_1, 9, rate, 0.95))  # no wait


C6I_BATCH_1 = measured_option(C6I, "mlp_fp32", FP32, 1, 5.0).instance_type()


def test_a_batch_is_charged_its_fill_time_not_the_whole_wait():
    """Batch 8 at 100,000 requests/s: a 5 ms wait fills the 5 ms budget, but each instance's
    batch fills in 0.28 ms × instances, so a small fleet fits: the fewest stable count that
    meets the budget with its own fill time."""
    option = measured_option(C6I, "mlp_fp32", FP32, 8, 5.0)
    fleet = size_at_peak(option, 100_000.0, 5.0)
    assert fleet.feasible and fleet.server_p95_ms <= 5.0
    stable = int(100_000.0 // option.throughput_rps) + 1
    fits = [n for n in range(stable, fleet.needed + 1)
            if option.fill_ms(100_000.0 / n) <= 5.0
            and server_p95_ms(option, n, 100_000.0) <= 5.0]
    assert fits == [fleet.needed]  # the fewest: no smaller stable count fits
    assert fleet.instances == fleet.needed + 1


@settings(max_examples=25, deadline=None, derandomize=True)
@given(rate=st.floats(1_000.0, 500_000.0), budget=st.floats(3.0, 80.0),
       batch=st.sampled_from(BATCHES[1:]), short=st.floats(0.5, 10.0))
def test_a_longer_wait_never_makes_a_batching_fleet_bigger(rate, budget, batch, short):
    """The wait charged is the fill time, capped by max_wait: a longer cap can only let a
    count through that a shorter one refused."""
    fleets = [size_at_peak(measured_option(C6I, "mlp_fp32", FP32, batch, wait), rate, budget)
              for wait in (short, 1_000.0)]
    if all(f.feasible for f in fleets):
        assert fleets[1].needed <= fleets[0].needed
        assert fleets[1].instances <= fleets[0].instances
    assert fleets[1].feasible or not fleets[0].feasible  # a longer cap never loses a fit


def test_no_batching_is_sized_as_before_with_the_whole_wait_ignored():
    """At batch 1 the wait is 0: the sizing is chapter 1's, whatever max_wait says."""
    for wait in (0.0, 5.0, 1_000.0):
        option = measured_option(C6I, "mlp_fp32", FP32, 1, wait)
        fleet = size_at_peak(option, 100_000.0, 3.0)
        assert fleet.needed == size_fleet_for_quantile(option.instance_type(), 100_000.0,
                                                       3.0).count


@pytest.mark.parametrize("budget_ms", [4.0, 5.0])
def test_a_wait_filling_the_budget_is_infeasible(budget_ms):
    fleet = size_at_peak(measured_option(C6I, "mlp_fp32", FP32, 8, 5.0), 10_000.0, budget_ms)
    assert not fleet.feasible and fleet.instances == fleet.needed == 0
    assert "batch wait" in fleet.reason and math.isinf(fleet.server_p95_ms)
    assert fleet.hourly_usd == 0.0


def test_a_batch_that_cannot_fill_within_its_wait_is_infeasible():
    """Batch 128 on 4 batchers at 1,000 requests/s over 2 instances: 1,016 ms to fill > 5."""
    fleet = size_at_peak(measured_option(C6I, "mlp_fp32", FP32, 128, 5.0), 1_000.0, 50.0)
    assert not fleet.feasible and fleet.instances == 0
    assert "to fill" in fleet.reason and "5 ms" in fleet.reason


def test_a_service_longer_than_the_budget_is_infeasible():
    fleet = size_at_peak(measured_option(C6I, "mlp_fp32", FP32, 128, 5.0), 1e5, 20.0)
    assert not fleet.feasible and fleet.reason and "to fill" not in fleet.reason


def test_size_options_sorts_cheapest_feasible_first():
    options = measured_options(CATALOG, "mlp_fp32", FP32, max_wait_ms=5.0)
    fleets = size_options(options, 50_000.0, 10.0)
    feasible = [f.feasible for f in fleets]
    assert any(feasible) and not all(feasible)
    assert feasible == sorted(feasible, reverse=True)  # feasible ones, then the rest
    costs = [f.hourly_usd for f in fleets if f.feasible]
    assert costs == sorted(costs)


# --- The day ---------------------------------------------------------------------------------

def test_a_fixed_fleet_orders_its_count_all_day():
    plan = DayPlan(np.array([1, 5, 2]), 5, 0, 60.0)
    assert FixedFleet(3).ordered_instances(plan).tolist() == [3, 3, 3]


def test_policy_days_are_the_three_policies_on_the_servers_demand():
    option = measured_option(C6I, "mlp_fp32", FP32, 1, 5.0)
    fleet = size_at_peak(option, 100_000.0, 50.0)
    days = policy_days(fleet, peak_to_average=1.6, target_utilization=0.6,
                       startup_delay_s=180.0)
    assert tuple(days) == POLICY_NAMES
    assert set(days[POLICY_NAMES[0]].ordered_instances.tolist()) == {fleet.instances}
    for day in days.values():
        assert day.demand_rps.max() == pytest.approx(100_000.0)
        assert day.ordered_instances.min() >= 2


def test_the_tracking_target_is_the_peak_sizings_utilisation_by_default():
    option = measured_option(C6I, "mlp_fp32", FP32, 1, 5.0)
    fleet = size_at_peak(option, 100_000.0, 50.0)
    peak = 100_000.0 / (fleet.needed * option.throughput_rps)
    assert tracking_target(fleet, 0.0) == pytest.approx(peak)
    assert 0.01 <= peak <= 1.0
    assert tracking_target(fleet, 0.6) == 0.6  # the reader's target as set
    tiny = size_at_peak(option, 10.0, 50.0)  # 10 requests/s on one instance: 0.05%
    assert tracking_target(tiny, 0.0) == 0.01  # clipped to the lowest target


@pytest.mark.parametrize(("batch", "rate_rps"), [(1, 100_000.0), (1, 7_000.0), (8, 150_000.0),
                                                  (1, 1_000_000.0)])
def test_at_the_peak_every_policy_orders_the_sized_fleet_by_default(batch, rate_rps):
    """Target 0 tracks the peak sizing's utilisation with one spare: N + 1 at the peak."""
    fleet = size_at_peak(measured_option(C6I, "mlp_fp32", FP32, batch, 5.0), rate_rps, 20.0)
    assert fleet.feasible
    days = policy_days(fleet, peak_to_average=1.6, target_utilization=0.0,
                       startup_delay_s=180.0)
    assert {name: day.peak_instances for name, day in days.items()} == dict.fromkeys(
        POLICY_NAMES, fleet.instances)
    tracking = days["target tracking"]
    assert tracking.ordered_instances.min() >= 2  # two zones off-peak too
    assert tracking.instance_hours <= days[POLICY_NAMES[0]].instance_hours


def _fixed_day(instances: int, peak_rps: float):
    return simulate_day(FixedFleet(instances), peak_rps=peak_rps, peak_to_average=1.6,
                        instance_capacity_rps=19_000.0, target_utilization=0.6,
                        startup_delay_s=180.0)


def test_a_generous_fleet_meets_the_slo_every_minute():
    option = measured_option(C6I, "mlp_fp32", FP32, 1, 5.0)  # 19,048 requests/s an instance
    meets = minutes_meeting_slo(_fixed_day(10, 10_000.0), option, 50.0)
    assert meets.size == 1440 and meets.all()


def test_a_fleet_too_small_for_the_peak_misses_some_minutes():
    """Two instances carry 38,095 requests/s; the day runs from 12,500 to 50,000."""
    option = measured_option(C6I, "mlp_fp32", FP32, 1, 5.0)
    day = _fixed_day(2, 50_000.0)
    meets = minutes_meeting_slo(day, option, 50.0)
    assert meets.any() and not meets.all()
    overloaded = day.demand_rps > 2 * option.throughput_rps
    assert not (meets & overloaded).any()  # an overloaded minute never meets the SLO
    assert not minutes_meeting_slo(day, option, option.max_wait_ms).any()  # no budget left


def _tracking_day(option, peak_rps: float, startup_delay_s: float = 900.0):
    fleet = size_at_peak(option, peak_rps, 50.0)
    return policy_days(fleet, peak_to_average=1.6, target_utilization=0.9,
                       startup_delay_s=startup_delay_s)["target tracking"]


@pytest.mark.parametrize("budget_ms", [0.25, 0.3, 0.5])
def test_minutes_meeting_the_slo_are_each_counts_own_ceiling_without_batching(budget_ms):
    """At batch 1 a step meets the SLO when its demand is within its count's highest rate
    keeping the p95 in budget (the first pass only skips counts whose answer is clear)."""
    from perfcost.design.day import _ceiling_rps

    option = measured_option(C6I, "mlp_fp32", FP32, 1, 5.0)
    day = _tracking_day(option, 200_000.0)
    meets = minutes_meeting_slo(day, option, budget_ms)
    ceiling = _ceiling_rps(option.instance_type(), budget_ms, FLEET)
    ceilings = {n: ceiling(n) for n in np.unique(day.serving_instances).tolist()}
    expected = day.demand_rps <= np.array([ceilings[n] for n in day.serving_instances])
    assert np.array_equal(meets, expected)
    if budget_ms == 0.3:
        assert meets.any() and not meets.all()  # both sides are exercised


@pytest.mark.parametrize("budget_ms", [4.0, 6.0, 8.0])
def test_minutes_meeting_the_slo_charge_a_batch_its_fill_time(budget_ms):
    """With batches of 8 and a 5 ms wait, a step meets the budget exactly when its own p95
    does, the wait being the fill time at its rate (within 4 ms, the whole wait would leave
    the queue no time at all)."""
    option = measured_option(C6I, "mlp_fp32", FP32, 8, 5.0)
    day = _tracking_day(option, 300_000.0, startup_delay_s=0.0)
    meets = minutes_meeting_slo(day, option, budget_ms)
    exact = np.array([n * option.throughput_rps > rate
                      and server_p95_ms(option, int(n), float(rate)) <= budget_ms
                      for n, rate in zip(day.serving_instances, day.demand_rps, strict=True)])
    assert np.array_equal(meets, exact)
    assert meets.any()


# --- The bill --------------------------------------------------------------------------------

@pytest.mark.parametrize("requests_per_connection", [100.0, 1.0])
def test_load_balancer_capacity_units_hand_computed(requests_per_connection):
    """1,000 requests/s of 1.15 kB: 4.14 GB an hour; 1,000 / rpc new connections a second."""
    unit = CATALOG.load_balancer_capacity_unit
    hourly, lcus = load_balancer_items(CATALOG, np.full(24, 1_000.0), kb_per_request=1.15,
                                       requests_per_connection=requests_per_connection)
    by_gb = 4.14 / unit["processed_gb_per_hour"].value
    by_connections = 1_000.0 / requests_per_connection / unit["new_connections_per_s"].value
    assert lcus.unit == "LCU-hour"
    assert lcus.quantity == pytest.approx(max(by_gb, by_connections) * HOURS_PER_MONTH)
    assert lcus.unit_price_usd == CATALOG.load_balancer["lcu_hour"].usd
    assert (hourly.quantity, hourly.unit_price_usd) == (
        HOURS_PER_MONTH, CATALOG.load_balancer["hourly"].usd)


def test_each_hour_bills_its_own_largest_dimension():
    """Half the day at 1,000 requests/s, half idle: half the LCU-hours of a busy day."""
    rates = np.r_[np.full(12, 1_000.0), np.zeros(12)]
    half = load_balancer_items(CATALOG, rates, kb_per_request=1.15,
                               requests_per_connection=100.0)[1]
    full = load_balancer_items(CATALOG, np.full(24, 1_000.0), kb_per_request=1.15,
                               requests_per_connection=100.0)[1]
    assert half.quantity == pytest.approx(full.quantity / 2)


def _egress_gb(rate_rps: float, response_kb: float) -> float:
    return math.fsum(i.quantity for i in egress_items(CATALOG, rate_rps, response_kb)
                     if i.unit == "GB")


def test_egress_is_every_response_a_month_proportional_to_the_rate():
    assert _egress_gb(6_250.0, 0.15) == pytest.approx(6_250 * 0.15 * 730 * 3600 / 1e6)
    assert _egress_gb(6_250.0, 0.15) == pytest.approx(2_463.75)
    assert _egress_gb(12_500.0, 0.15) == pytest.approx(2 * _egress_gb(6_250.0, 0.15))
    assert {i.component for i in egress_items(CATALOG, 6_250.0, 0.15)} == {"egress"}


def test_the_cache_is_two_of_the_cheapest_nodes_all_month():
    (item,) = cache_items(CATALOG)
    assert CACHE_NODES == 2 and item.quantity == 2 * 730
    assert item.unit_price_usd == min(n.hourly_usd for n in CATALOG.cache_nodes.values())


def test_hourly_means_need_whole_hours():
    assert hourly_means_rps(np.arange(48.0)).tolist() == [2 * h + 0.5 for h in range(24)]
    with pytest.raises(ParameterError, match="demand_rps"):
        hourly_means_rps(np.ones(25))


# --- The latency budget ----------------------------------------------------------------------

def test_a_p50_p99_figure_is_reproduced_exactly():
    figure = CATALOG.latencies["cache_get"]  # p50 0.423, p99 1.287 ms
    stage = stage_from_figure("cache", figure)
    assert stage.quantile_ms(0.5) == pytest.approx(figure.quantiles["p50"], rel=1e-9)
    assert stage.quantile_ms(0.99) == pytest.approx(figure.quantiles["p99"], rel=1e-9)


def test_p0_and_p100_are_read_at_the_extremes_expected_ranks():
    figure = CATALOG.latencies["rtt_cross_az"]  # p0 0.885, p100 1.25 ms of 30 pings
    stage = stage_from_figure("rtt", figure)
    n = EXTREME_SAMPLES
    assert n == 30
    assert stage.quantile_ms(1 / 31) == pytest.approx(figure.quantiles["p0"], rel=1e-9)
    assert stage.quantile_ms(30 / 31) == pytest.approx(figure.quantiles["p100"], rel=1e-9)
    assert stage.p50_ms == pytest.approx(math.sqrt(0.885 * 1.25), rel=1e-9)  # symmetric ranks


def test_server_samples_give_a_cache_hit_zero_and_the_rest_the_fleets_response():
    option = measured_option(C6I, "mlp_fp32", FP32, 8, 5.0)
    rate = 150_000.0
    served = server_samples_ms(FLEET, option, 12, rate, samples=40_000, seed=3)
    assert served.min() >= option.wait_ms(rate / 12) > 0  # everyone waits for the batch
    hit = server_samples_ms(FLEET, option, 12, rate, samples=40_000, seed=3, hit_rate=0.25)
    zeros = np.mean(hit == 0.0)
    assert abs(zeros - 0.25) < 5 * math.sqrt(0.25 * 0.75 / 40_000)  # binomial, 5 sigma
    assert np.all((hit == 0.0) | (hit == served))  # a miss is the same draw as without
    assert np.quantile(served, 0.95) == pytest.approx(server_p95_ms(option, 12, rate),
                                                      rel=0.05)  # the model's p95


def test_the_end_to_end_p95_adds_the_server_stage_to_the_others():
    stages = request_stages(CATALOG, cache=False)
    zero = np.zeros(1_000)
    assert end_to_end_p95_ms(stages, zero, samples=20_000, seed=0) == pytest.approx(
        end_to_end_quantile_ms(stages, None, quantile=0.95, samples=20_000, seed=0))
    slower = end_to_end_p95_ms(stages, zero + 3.0, samples=20_000, seed=0)
    assert slower == pytest.approx(end_to_end_p95_ms(stages, zero, samples=20_000, seed=0)
                                   + 3.0)


def test_the_servers_budget_is_the_slo_less_the_stages_p95s():
    for cache, count in ((False, 2), (True, 3)):
        stages = request_stages(CATALOG, cache=cache)
        assert len(stages) == count
        expected = 100.0 - math.fsum(s.quantile_ms(0.95) for s in stages)
        assert server_budget_ms(100.0, stages) == pytest.approx(expected, rel=1e-12)
    assert server_budget_ms(1.0, request_stages(CATALOG, cache=False)) < 0  # below the network


# --- The question ----------------------------------------------------------------------------

BAD_VALUES = [
    ("peak_qps", 0.0), ("p95_slo_ms", 0.0), ("budget_usd_month", 0.0),
    ("peak_to_average", 2.5), ("request_kb", -1.0), ("response_kb", 2e5),
    ("cache_hit_rate", 1.0), ("startup_delay_s", 3_601.0), ("model", "gpt-5"),
    ("utilization_target", 0.005), ("max_wait_ms", 1_001.0), ("max_utilization", 0.005),
    ("max_utilization", 1.5), ("requests_per_connection", 0.5),
    ("slo_attainment_target", 1.5), ("price_catalog_path", 3), ("seed", -1),
]


def test_every_field_has_a_bad_value_below():
    assert {name for name, _ in BAD_VALUES} == {f.name for f in
                                                dataclasses.fields(DesignQuestion)}


@pytest.mark.parametrize(("name", "value"), BAD_VALUES)
def test_a_bad_value_is_refused_naming_its_field(name, value):
    with pytest.raises(ParameterError) as refused:
        DesignQuestion(**{name: value})
    assert refused.value.name == name
    with pytest.raises(ParameterError):
        DesignQuestion().changed(**{name: value})


@pytest.mark.parametrize("value", [0.005, -0.1, 1.5])
def test_a_utilization_target_is_zero_or_in_range(value):
    assert DesignQuestion().utilization_target == 0.0  # the default: the peak sizing's
    assert DesignQuestion(utilization_target=0).utilization_target == 0.0
    assert DesignQuestion(utilization_target=0.01).utilization_target == 0.01
    assert DesignQuestion(utilization_target=1.0).utilization_target == 1.0
    with pytest.raises(ParameterError, match=r"^utilization_target must be 0 \(the utilisation "
                       r"the peak sizing runs at\) or a number in \[0.01, 1\]"):
        DesignQuestion(utilization_target=value)


def test_max_utilization_defaults_to_80_percent_within_its_range():
    assert DesignQuestion().max_utilization == 0.8
    assert DesignQuestion(max_utilization=0.01).max_utilization == 0.01
    assert DesignQuestion(max_utilization=1.0).max_utilization == 1.0
    with pytest.raises(ParameterError) as refused:
        DesignQuestion().changed(max_utilization=0.0)
    assert refused.value.name == "max_utilization"


def test_the_questions_max_utilization_sizes_the_design(designs):
    """10,000 requests/s on c6i at batch 1 (19,048 an instance): at most 80% busy needs
    ceil(0.66) = 1 (two with the spare); at most 30% busy, ceil(1.75) = 2, three in all."""
    default, busy_30 = designs["defaults"].chosen, designs["at most 30% busy"].chosen
    assert default.fleet.option.label == busy_30.fleet.option.label == (
        "c6i.xlarge, mlp_fp32, no batching")
    assert not default.cache and not busy_30.cache
    assert (default.fleet.needed, default.fleet.instances) == (1, 2)
    assert (busy_30.fleet.needed, busy_30.fleet.instances) == (2, 3)
    assert designs["at most 30% busy"].total_usd > designs["defaults"].total_usd


def test_the_questions_derived_rates():
    question = DesignQuestion(peak_qps=8_000.0, peak_to_average=1.6, cache_hit_rate=0.25)
    assert question.average_qps == pytest.approx(5_000.0)
    assert question.server_peak_rps == pytest.approx(6_000.0)


def _trimmed_catalog(tmp_path, trim) -> str:
    raw = yaml.safe_load(CATALOG_FILE.read_text(encoding="utf-8"))
    trim(raw)
    path = tmp_path / "trimmed.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return str(path)


def test_a_catalog_without_latencies_is_refused(tmp_path):
    path = _trimmed_catalog(tmp_path, lambda raw: raw.pop("latencies"))
    with pytest.raises(ParameterError, match="latencies") as refused:
        DesignQuestion(price_catalog_path=path)
    assert refused.value.name == "price_catalog_path"


def test_bert_large_needs_the_text_classification_workload(tmp_path):
    path = _trimmed_catalog(tmp_path, lambda raw: raw["workloads"].pop("text_classification"))
    assert DesignQuestion(price_catalog_path=path).model == "mlp_fp32"  # the MLP does not
    with pytest.raises(ParameterError, match="text_classification") as refused:
        DesignQuestion(price_catalog_path=path, model="bert_large")
    assert refused.value.name == "price_catalog_path"


# --- The service: the chapter's invariants ---------------------------------------------------

def check_invariants(design) -> None:
    question, chosen = design.question, design.chosen
    assert design.total_usd == pytest.approx(chosen.compute_usd + chosen.egress_usd, rel=1e-6)
    assert design.within_budget == (design.total_usd <= question.budget_usd_month)
    assert design.budget_headroom_usd == pytest.approx(
        question.budget_usd_month - design.total_usd)
    assert design.instances_peak >= design.instances_average >= 1
    assert chosen.egress_gb == pytest.approx(
        question.average_qps * question.response_kb * GB_PER_RPS_KB, rel=1e-9)
    assert chosen.instance_hours_month == pytest.approx(
        design.instances_average * HOURS_PER_MONTH, rel=1e-9)
    assert 0.0 <= design.slo_attainment_day <= 1.0
    evaluation = design.evaluation
    assert evaluation.infeasible == tuple(
        fleet for fleets in evaluation.infeasible_by_cache.values() for fleet in fleets)
    assert all(not fleet.feasible for fleet in evaluation.infeasible)
    for c in evaluation.configurations:  # no needed instance busier than max_utilization
        assert c.fleet.needed >= instances_for_utilization(
            c.fleet.server_rps, c.fleet.option.throughput_rps, question.max_utilization)
        assert c.model == FLEET and c.slo_attainment() == c.attainment
    if design.meets_slo:
        assert design.p95_ms_at_peak <= question.p95_slo_ms
        assert design.slo_attainment_day >= question.slo_attainment_target
        assert design.evaluation.chosen is chosen
        # Cheapest first: every cheaper configuration checked missed the attainment target.
        cheaper = design.evaluation.configurations[:design.evaluation.configurations.index(
            chosen)]
        assert all(design.evaluation.attainments[c.label] < question.slo_attainment_target
                   for c in cheaper)
        assert chosen.attainment == design.slo_attainment_day


@pytest.mark.parametrize("name", list(QUESTIONS))
def test_the_design_keeps_the_chapters_invariants(designs, name):
    check_invariants(designs[name])


def test_the_questions_cover_both_sides_of_the_budget_and_the_slo(designs):
    assert designs["defaults"].within_budget and designs["defaults"].meets_slo
    assert not designs["tiny budget"].within_budget
    assert designs["tiny budget"].budget_headroom_usd < 0
    assert designs["bert_large"].chosen.fleet.option.model == "bert_large"


def test_an_slo_below_the_network_is_reported_not_raised(designs):
    design = designs["slo below the network"]
    assert not design.meets_slo and design.slo_attainment_day == 0.0
    assert design.p95_ms_at_peak > 1.0 and not design.evaluation.configurations
    assert design.total_usd > 0


@pytest.mark.parametrize("model", ["defaults", "bert_large"])
def test_doubling_the_peak_at_most_doubles_the_total_and_never_lowers_it(designs, model):
    base = designs[model]
    doubled = designs["peak doubled" if model == "defaults" else "bert_large doubled"]
    assert doubled.question.peak_qps == 2 * base.question.peak_qps
    assert base.total_usd <= doubled.total_usd <= 2.2 * base.total_usd
    assert doubled.chosen.egress_gb == pytest.approx(2 * base.chosen.egress_gb)


def test_the_cache_leaves_egress_as_it_is(designs):
    """The cache answers requests, not responses: egress is the same with or without it."""
    with_cache, without = designs["bert_large with a 60% cache"], designs["bert_large"]
    assert with_cache.chosen.egress_usd == pytest.approx(without.chosen.egress_usd)
    assert with_cache.total_usd < without.total_usd  # 60% fewer requests reach the GPUs


@settings(max_examples=10, deadline=None, derandomize=True)
@given(peak_qps=st.floats(500.0, 40_000.0), budget=st.floats(100.0, 20_000.0),
       cache_hit_rate=st.floats(0.0, 0.9), peak_to_average=st.floats(1.0, 2.0),
       model=st.sampled_from(MODELS), max_utilization=st.floats(0.3, 1.0))
def test_any_question_keeps_the_invariants(peak_qps, budget, cache_hit_rate, peak_to_average,
                                           model, max_utilization):
    question = DesignQuestion(peak_qps=peak_qps, budget_usd_month=budget,
                              cache_hit_rate=cache_hit_rate, peak_to_average=peak_to_average,
                              model=model, max_utilization=max_utilization)
    check_invariants(design_service(question, PROFILES))


def test_design_service_refuses_profiles_without_the_variant():
    with pytest.raises(ParameterError, match="profiles"):
        design_service(DesignQuestion(model="mlp_int8"), {"fp32": FP32})
    with pytest.raises(ParameterError, match="question"):
        design_service({"peak_qps": 10_000}, PROFILES)


def test_the_peak_minute_check_simulates_one_batchers_share(designs):
    design = designs["defaults"]
    found = tables.peak_minute_check(design, PROFILES, duration_s=10.0)
    day = design.chosen.day
    serving = int(day.serving_instances[int(day.demand_rps.argmax())])
    option = design.chosen.fleet.option
    assert found["instances"] == serving
    assert found["core_rps"] == pytest.approx(10_000.0 / (serving * option.batchers))
    expected = found["core_rps"] * 10.0
    assert abs(found["requests"] - expected) < 5 * math.sqrt(expected)  # Poisson, 5 sigma
    assert found["simulated_p95_ms"] > 0 and found["model_p95_ms"] > 0
    assert found["server_budget_ms"] == design.chosen.server_budget_ms
    assert found["instances"] == peak_serving_instances(design.chosen)
    assert found["model_p95_ms"] == pytest.approx(
        server_p95_ms(option, serving, design.chosen.fleet.server_rps))
    assert tables.peak_minute_check(designs["bert_large"], PROFILES) is None  # published


def test_an_slo_below_the_network_falls_back_to_the_fewest_stable_instances_plus_one(designs):
    """No option is sized; the fastest, c6i at batch 1 (19,048 requests/s), runs at a target
    of 0 as one stable instance, floor(10,000 / 19,048) + 1, plus one."""
    fleet = designs["slo below the network"].chosen.fleet
    assert fleet.option.batch == 1
    needed = math.floor(10_000.0 / fleet.option.throughput_rps) + 1
    assert (fleet.needed, fleet.instances) == (needed, max(2, needed + 1))
    at_60 = design_service(DesignQuestion(p95_slo_ms=1.0, utilization_target=0.6,
                                          peak_qps=40_000.0), PROFILES).chosen.fleet
    needed_60 = math.floor(40_000.0 / (at_60.option.throughput_rps * 0.6)) + 1
    assert (at_60.needed, at_60.instances) == (needed_60, needed_60 + 1)


@pytest.mark.parametrize("name", ["defaults", "peak doubled", "bert_large",
                                  "bert_large with a 60% cache"])
def test_at_the_default_target_every_policy_peaks_at_the_sized_fleet(designs, name):
    design = designs[name]
    policies = tables.policy_table(design)
    assert set(policies["instances_peak"]) == {design.chosen.fleet.instances}
    assert design.instances_peak == design.chosen.fleet.instances
    hours = policies.set_index("policy")["instance_hours_month"]
    assert hours["target tracking"] <= hours[POLICY_NAMES[0]]  # any saving is off-peak


@pytest.mark.parametrize("name", ["defaults", "bert_large with a 60% cache"])
def test_the_peak_server_samples_are_the_fleet_at_the_peak_with_hits_at_zero(designs, name):
    design = designs[name]
    chosen, rate = design.chosen, design.question.cache_hit_rate
    serving = peak_serving_instances(chosen)
    day = chosen.day
    assert serving == day.serving_instances[int(day.demand_rps.argmax())]
    samples = peak_server_samples_ms(chosen, rate, samples=20_000, seed=1)
    zeros = np.mean(samples == 0.0)
    expected = rate if chosen.cache else 0.0
    assert abs(zeros - expected) < 5 * math.sqrt(max(expected * (1 - expected), 1e-9) / 20_000)
    assert np.array_equal(samples, server_samples_ms(
        FLEET, chosen.fleet.option, serving, chosen.fleet.server_rps, samples=20_000, seed=1,
        hit_rate=expected))


def test_an_overloaded_peak_step_is_served_by_the_sized_fleet(designs):
    """If the policy's fleet at the peak step cannot carry it (a start-up delay), the p95 is
    read on the peak sizing's count instead."""
    chosen = designs["defaults"].chosen
    day = chosen.day
    for few in (0, 1):
        starved = SimpleNamespace(demand_rps=day.demand_rps,
                                  serving_instances=np.full_like(day.serving_instances, few))
        overloaded = SimpleNamespace(day=starved, fleet=chosen.fleet)
        carried = few * chosen.fleet.option.throughput_rps > chosen.fleet.server_rps
        assert peak_serving_instances(overloaded) == (few if carried else
                                                      chosen.fleet.instances)
    assert peak_serving_instances(chosen) == chosen.day.serving_instances[
        int(chosen.day.demand_rps.argmax())]  # the policy's own fleet carries the peak


# --- The real server's interval --------------------------------------------------------------

SERVER = ServerCost(cpu_ms_per_request=0.25, cpu_low_ms=0.22, cpu_high_ms=0.29,
                    throughput_rps=4_000.0, latency_p95_ms=2.0, repeats=5, requests=2_000,
                    clients=4)


@pytest.mark.parametrize(("at", "cpu_ms"), [("estimate", 0.25), ("low", 0.22), ("high", 0.29)])
def test_served_profiles_take_the_overhead_at_the_interval_end_asked(at, cpu_ms):
    """The overhead is the server's CPU per request less the fp32 model at batch 1 (0.01 ms),
    for every variant; the interval's ends stay the server's."""
    profiles = served_profiles(PROFILES, SERVER, at=at)
    assert set(profiles) == set(PROFILES)
    for name, profile in profiles.items():
        assert profile.overhead_ms == pytest.approx(cpu_ms - 0.01)
        assert (profile.overhead_low_ms, profile.overhead_high_ms) == pytest.approx(
            (0.21, 0.28))
        assert profile.batch_ms == PROFILES[name].batch_ms
    assert served_profiles(PROFILES, SERVER) == served_profiles(PROFILES, SERVER,
                                                                at="estimate")


def test_served_profiles_keep_the_overhead_positive_and_refuse_an_unknown_end():
    fast = dataclasses.replace(SERVER, cpu_ms_per_request=0.005, cpu_low_ms=0.004)
    profiles = served_profiles(PROFILES, fast)  # the server below the model's own 0.01 ms
    assert profiles["fp32"].overhead_ms > 0 and profiles["fp32"].overhead_low_ms > 0
    with pytest.raises(ParameterError) as refused:
        served_profiles(PROFILES, SERVER, at="middle")
    assert refused.value.name == "at"


# --- Fixes -----------------------------------------------------------------------------------

def test_candidate_changes_of_the_default_question():
    """The default question sets no tracking target (0: the peak sizing's), so no target
    raise is offered; its peak sizing runs instances to 80% busy, so only 90% is above it."""
    changes = candidate_changes(DesignQuestion(), 0.5)
    fields = [c.fields for c in changes]
    assert fields == [{"model": "mlp_int8"}, {"max_utilization": 0.9},
                      {"max_wait_ms": 10.0}, {"response_kb": pytest.approx(0.075)},
                      {"startup_delay_s": 45.0}]
    assert [c.description for c in changes] == [
        "serve the int8 model", "let instances run to 90% busy at the peak",
        "let the batcher wait up to 10 ms", "send compact binary responses (0.075 kB, not 0.15)",
        "start instances in 45 s (model in the image)"]


def test_candidate_changes_raise_a_target_only_when_one_is_set_and_above_it():
    def targets(question, field):
        return [c.fields[field] for c in candidate_changes(question, 0.5) if field in c.fields]

    assert targets(DesignQuestion(), "utilization_target") == []  # 0: none is set
    assert targets(DesignQuestion(utilization_target=0.6), "utilization_target") == [
        0.7, 0.8, 0.9]
    at_80 = DesignQuestion(utilization_target=0.8)
    assert targets(at_80, "utilization_target") == [0.9]  # not the current 0.8 again
    assert targets(DesignQuestion(utilization_target=0.9), "utilization_target") == []
    raised = [c for c in candidate_changes(at_80, 0.5) if "utilization_target" in c.fields]
    assert [c.description for c in raised] == ["raise the utilisation target to 90%"]
    assert targets(DesignQuestion(max_utilization=0.6), "max_utilization") == [0.7, 0.8, 0.9]
    assert targets(DesignQuestion(max_utilization=0.7), "max_utilization") == [0.8, 0.9]
    assert targets(DesignQuestion(max_utilization=0.9), "max_utilization") == []
    busy = [c.description for c in candidate_changes(DesignQuestion(max_utilization=0.6), 0.5)
            if "max_utilization" in c.fields]
    assert busy == [f"let instances run to {t}% busy at the peak" for t in (70, 80, 90)]


def test_candidate_changes_only_where_they_change_something():
    question = DesignQuestion(model="mlp_int8", utilization_target=0.85, startup_delay_s=0.0,
                              max_wait_ms=0.0, max_utilization=0.95)
    keys = [next(iter(c.fields)) for c in candidate_changes(question, 1.0)]
    assert keys == ["utilization_target", "max_wait_ms"]  # 0.9 only; no int8, no compact
    assert candidate_changes(question, 1.0)[0].fields == {"utilization_target": 0.9}
    assert candidate_changes(question, 1.0)[1].fields == {"max_wait_ms": 5.0}
    assert "model" not in {k for c in candidate_changes(DesignQuestion(model="bert_large"), 0.5)
                           for k in c.fields}
    assert not [c for c in candidate_changes(DesignQuestion(max_wait_ms=600.0), 0.5)
                if "max_wait_ms" in c.fields]  # 1,200 ms is beyond online serving
    with pytest.raises(ParameterError, match="binary_response_ratio"):
        candidate_changes(DesignQuestion(), 0.0)


# A target of 60% tracked and 60% busy at the peak: every kind of change is on offer.
BASE = DesignQuestion(budget_usd_month=5_000.0, utilization_target=0.6, max_utilization=0.6)
CHANGES = candidate_changes(BASE, 0.5)
# Pairs never set one field twice: three targets and three busy limits pair within neither.
PAIRS = math.comb(len(CHANGES), 2) - 2 * math.comb(3, 2)


def test_the_changes_tried_from_base():
    assert [next(iter(c.fields)) for c in CHANGES] == [
        "model", *["utilization_target"] * 3, *["max_utilization"] * 3, "max_wait_ms",
        "response_kb", "startup_delay_s"]
    assert PAIRS == 39


def fake_redesign(costs: dict, calls: list, default=(6_000.0, True)):
    """A redesign whose total and SLO depend on the set of fields changed from BASE."""
    def redesign(question):
        changed = frozenset(f.name for f in dataclasses.fields(question)
                            if getattr(question, f.name) != getattr(BASE, f.name))
        calls.append(changed)
        entry = costs.get(changed, default)
        total, meets = entry(question) if callable(entry) else entry
        return SimpleNamespace(total_usd=total, meets_slo=meets)
    return redesign


def test_the_cheapest_single_change_that_fits_wins_without_trying_pairs():
    calls = []
    costs = {frozenset({"model"}): (4_800.0, True),
             # 0.7: $5,100, 0.8: $4,800, 0.9: $4,500 (a fleet held busier costs less)
             frozenset({"utilization_target"}):
                 lambda q: (7_200.0 - 3_000.0 * q.utilization_target, True),
             frozenset({"max_utilization"}): (4_600.0, True),
             frozenset({"response_kb"}): (4_000.0, False)}  # cheaper, but misses the SLO
    fix = cheapest_fix(BASE, 6_000.0, CHANGES, fake_redesign(costs, calls))
    assert fix.found and fix.total_usd == pytest.approx(4_500.0)
    assert [c.fields for c in fix.changes] == [{"utilization_target": 0.9}]
    assert fix.text == "raise the utilisation target to 90%: $4,500 a month"
    assert fix.changes[0] is CHANGES[3]
    assert len(calls) == len(CHANGES) and all(len(c) == 1 for c in calls)


def test_a_busier_peak_sizing_can_be_the_fix():
    # 70%: $5,500, 80%: $4,900, 90%: $5,500 (a batch that no longer fills, say)
    costs = {frozenset({"max_utilization"}): lambda q: (
        (4_900.0, True) if q.max_utilization == 0.8 else (5_500.0, True))}
    fix = cheapest_fix(BASE, 6_000.0, CHANGES, fake_redesign(costs, []))
    assert fix.found and fix.total_usd == 4_900.0
    assert fix.changes == (CHANGES[5],)
    assert fix.text == "let instances run to 80% busy at the peak: $4,900 a month"


def test_pairs_are_tried_only_when_no_single_change_fits():
    calls = []
    costs = {frozenset({"model", "response_kb"}): (4_900.0, True),
             frozenset({"model", "startup_delay_s"}): (4_950.0, True),
             frozenset({"max_wait_ms", "response_kb"}): (4_700.0, False)}
    fix = cheapest_fix(BASE, 6_000.0, CHANGES, fake_redesign(costs, calls))
    assert fix.found and fix.total_usd == 4_900.0
    assert [c.fields for c in fix.changes] == [{"model": "mlp_int8"},
                                               {"response_kb": pytest.approx(0.075)}]
    assert fix.text == ("serve the int8 model and send compact binary responses (0.075 kB, "
                        "not 0.15): $4,900 a month")
    singles, pairs = calls[:len(CHANGES)], calls[len(CHANGES):]
    assert all(len(c) == 1 for c in singles)
    assert all(len(c) == 2 for c in pairs)  # every pair sets two fields
    assert len(pairs) == PAIRS


def test_no_fit_says_so_with_the_cheapest_changed_design_that_meets_the_slo():
    """The int8 model is cheaper ($5,200) but misses the SLO: it is no answer, so the figure
    is the cheapest changed design that meets it, the pair at $5,400 (below the single
    target raise's $5,600)."""
    calls = []
    costs = {frozenset({"utilization_target"}): (5_600.0, True),
             frozenset({"model"}): (5_200.0, False),
             frozenset({"max_wait_ms", "response_kb"}): (5_400.0, True)}
    fix = cheapest_fix(BASE, 9_000.0, CHANGES, fake_redesign(costs, calls))
    assert not fix.found and fix.changes == () and fix.total_usd == 5_400.0
    assert fix.text == ("no change considered fits: the cheapest, to let the batcher wait up "
                        "to 10 ms and send compact binary responses (0.075 kB, not 0.15), "
                        "costs $5,400 a month, $400 over the budget")
    assert len(calls) == len(CHANGES) + PAIRS


def test_no_fit_names_the_first_of_equally_cheap_single_changes():
    """Three target raises all cost $5,600: the first found, 70%, is named."""
    costs = {frozenset({"utilization_target"}): (5_600.0, True)}
    fix = cheapest_fix(BASE, 9_000.0, CHANGES, fake_redesign(costs, [], default=(1.0, False)))
    assert not fix.found and fix.total_usd == 5_600.0
    assert fix.text == ("no change considered fits: the cheapest, to raise the utilisation "
                        "target to 70%, costs $5,600 a month, $600 over the budget")


def test_no_fit_when_no_changed_design_meets_the_slo():
    """Cheap designs that miss the SLO count for nothing: the total stays the current one."""
    calls = []
    fix = cheapest_fix(BASE, 9_000.0, CHANGES,
                       fake_redesign({}, calls, default=(1_000.0, False)))
    assert not fix.found and fix.changes == () and fix.total_usd == 9_000.0
    assert fix.text == "no change considered fits: no changed design meets the SLO"
    assert len(calls) == len(CHANGES) + PAIRS


def test_an_equal_total_to_the_budget_fits():
    fix = cheapest_fix(BASE, 6_000.0, [Change("x", {"seed": 1})],
                       lambda q: SimpleNamespace(total_usd=5_000.0, meets_slo=True))
    assert fix.found and fix.total_usd == 5_000.0


# --- Tables ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["defaults", "bert_large", "bert_large with a 60% cache",
                                  "tight slo, slow starts"])
def test_the_latency_budget_tables_end_to_end_p95_is_the_designs(designs, name):
    """Same fleet at the peak, same cache hits at 0, same draws and seed: exactly the
    design's figure."""
    design = designs[name]
    stages_sum, end_to_end = tables.budget_sums(tables.latency_budget_table(design))
    assert end_to_end == design.p95_ms_at_peak
    assert end_to_end <= stages_sum  # the sum of p95s is pessimistic here


def test_the_latency_budget_table_takes_other_draws_when_asked(designs):
    design = designs["defaults"]
    assert design.question.seed == 0
    other = tables.budget_sums(tables.latency_budget_table(design, samples=20_000, seed=1))[1]
    assert other == pytest.approx(design.p95_ms_at_peak, rel=0.02)  # Monte Carlo noise
    seeded = dataclasses.replace(design, question=design.question.changed(seed=7))
    assert tables.budget_sums(tables.latency_budget_table(seeded)) == tables.budget_sums(
        tables.latency_budget_table(design, seed=7))  # the question's seed by default


def test_a_configurations_attainment_is_computed_once_in_its_own_model(designs):
    from perfcost.fleet_latency import MMC

    design = designs["tight slo, slow starts"]
    for c in design.evaluation.configurations[:6]:
        expected = float(np.mean(minutes_meeting_slo(c.day, c.fleet.option, c.server_budget_ms,
                                                     model=FLEET)))
        assert c.model == FLEET
        assert c.attainment == expected and "attainment" in vars(c)  # cached
        assert c.slo_attainment() == c.slo_attainment(FLEET) == c.attainment
        in_mmc = float(np.mean(minutes_meeting_slo(c.day, c.fleet.option, c.server_budget_ms,
                                                   model=MMC)))
        assert c.slo_attainment(MMC) == in_mmc
    misses = [c for c in design.evaluation.configurations
              if c.attainment < design.question.slo_attainment_target]
    assert misses and {c.policy for c in misses} == {"target tracking"}
    assert design.evaluation.attainments == {
        c.label: c.attainment for c in design.evaluation.configurations
        if c.label in design.evaluation.attainments}


def test_a_design_in_another_model_keeps_it_in_its_configurations():
    from perfcost.fleet_latency import MMC

    design = design_service(DesignQuestion(), PROFILES, model=MMC)
    assert {c.model for c in design.evaluation.configurations} == {MMC}
    assert design.chosen.attainment == design.slo_attainment_day


def test_the_frontier_is_empty_with_its_columns_when_nothing_is_feasible(designs):
    frontier = tables.frontier_table(designs["slo below the network"])
    assert len(frontier) == 0
    assert list(frontier.columns) == [*tables.FRONTIER_COLUMNS, "on_frontier"]
    assert tables.cheapest_by(frontier, "kind") == {}


@pytest.mark.parametrize("name", ["defaults", "bert_large with a 60% cache",
                                  "tight slo, slow starts"])
def test_the_frontiers_instances_are_the_policys_peak_order(designs, name):
    design = designs[name]
    frontier = tables.frontier_table(design)
    by_label = {c.label: c for c in design.evaluation.configurations}
    for row in frontier.to_dict("records"):
        label = f"{row['configuration']}, {row['policy']}"
        assert row["instances"] == by_label[label].day.peak_instances
        assert row["total_usd"] == by_label[label].total_usd
    chosen = frontier[frontier["chosen"]].iloc[0]
    assert chosen["p95_ms"] == design.p95_ms_at_peak  # the headline's own figure, exactly
    assert chosen["policy"] == design.chosen.policy


@pytest.mark.parametrize("name", ["defaults", "tight slo, slow starts"])
def test_the_frontier_keeps_the_cheapest_policy_meeting_the_attainment_target(designs, name):
    design = designs[name]
    target = design.question.slo_attainment_target
    by_label = {c.label: c for c in design.evaluation.configurations}
    expected = {}
    for c in design.evaluation.configurations:  # cheapest first
        if c.attainment >= target:
            expected.setdefault(f"{c.fleet.option.label}, "
                                f"{'cache' if c.cache else 'no cache'}", c.policy)
    frontier = tables.frontier_table(design)
    assert dict(zip(frontier["configuration"], frontier["policy"], strict=True)) == expected
    assert frontier["configuration"].is_unique
    for row in frontier.to_dict("records"):
        assert by_label[f"{row['configuration']}, {row['policy']}"].attainment >= target
    if name == "tight slo, slow starts":  # the cheapest policy misses: the next one stands
        cheapest = {}
        for c in design.evaluation.configurations:
            cheapest.setdefault(f"{c.fleet.option.label}, "
                                f"{'cache' if c.cache else 'no cache'}", c.policy)
        passed_over = [k for k, policy in expected.items() if cheapest[k] != policy]
        assert passed_over and {cheapest[k] for k in passed_over} == {"target tracking"}


@pytest.mark.parametrize("name", ["defaults", "bert_large"])
def test_the_excluded_table_lists_each_infeasible_option_once_with_why(designs, name):
    design = designs[name]
    excluded = tables.excluded_table(design)
    assert list(excluded.columns) == ["option", "why"]
    feasible = {c.fleet.option.label for c in design.evaluation.configurations}
    infeasible = [f.option.label for f in design.evaluation.infeasible
                  if f.option.label not in feasible]  # on every cache path
    assert list(excluded["option"]) == list(dict.fromkeys(infeasible))
    assert not set(excluded["option"]) & feasible
    assert excluded["option"].is_unique and excluded["why"].str.len().gt(0).all()
    first_reason = {}
    for fleet in design.evaluation.infeasible:
        first_reason.setdefault(fleet.option.label, fleet.reason)
    assert dict(zip(excluded["option"], excluded["why"], strict=True)) == {
        label: first_reason[label] for label in excluded["option"]}
    nothing = tables.excluded_table(designs["slo below the network"])  # no budget at all
    assert len(nothing) and nothing["why"].str.contains("no share").all()

def test_why_no_batching_prefers_the_chosen_instance_type(designs):
    """Defaults: c6i at batch 8 on the two instances the sizing gives 10,000 requests/s:
    7 × 4 batchers / 5,000 requests/s = 5.6 ms to fill, over the 5 ms wait. Other types'
    batched options, which would sort first by name, are passed over."""
    design = designs["defaults"]
    assert design.chosen.fleet.option.instance.name == "c6i.xlarge"
    assert tables.why_no_batching(design) == (
        "c6i.xlarge: a batch of 8 takes 5.6 ms to fill at the peak; the batcher waits 5 ms")
    others = sorted((f.option.batch, f.option.instance.name) for f in design.evaluation.infeasible
                    if f.option.batch > 1 and f.option.instance.name != "c6i.xlarge")
    assert others and others[0] < (8, "c6i.xlarge")


def test_why_no_batching_falls_back_to_any_instance_type(designs):
    """bert_large runs on g6, which has no batched option; inf2's batch of 8 cannot fill.
    At most 80% busy, inf2 (957 requests/s) needs ceil(10,000 / 766) = 14, 15 with the spare;
    one batcher each fills 8 in 7 × 15 / 10,000 s = 10.5 ms."""
    design = designs["bert_large"]
    assert design.chosen.fleet.option.instance.name == "g6.xlarge"
    assert tables.why_no_batching(design) == (
        "inf2.xlarge: a batch of 8 takes 10.5 ms to fill at the peak; the batcher waits 5 ms")
    assert tables.kinds_left_out(design) == {
        "accelerator": "inf2.xlarge: a batch of 8 takes 10.5 ms to fill at the peak; the "
                       "batcher waits 5 ms"}


def test_nothing_left_out_when_every_batch_and_kind_fits():
    design = design_service(DesignQuestion(model="bert_large", max_wait_ms=1_000.0), PROFILES)
    assert design.chosen.fleet.option.instance.name == "inf2.xlarge"
    assert tables.why_no_batching(design) == ""
    assert tables.kinds_left_out(design) == {}


def test_kinds_left_out_name_each_kind_with_no_feasible_option(designs):
    assert tables.kinds_left_out(designs["defaults"]) == {}
    left = tables.kinds_left_out(designs["slo below the network"])
    assert set(left) == {"cpu", "gpu", "accelerator"}
    kinds = {f.option.instance.name: f.option.instance.kind
             for f in designs["slo below the network"].evaluation.infeasible}
    for kind, why in left.items():
        name, reason = why.split(": ", 1)
        assert kinds[name] == kind
        assert reason == "the other stages' p95s leave the server no share of the 1 ms SLO"


def test_why_no_cache_when_the_cached_path_has_no_budget(designs):
    """A 3 ms SLO leaves the server 0.55 ms without the cache, none with it."""
    design = designs["slo between the paths"]
    assert design.meets_slo and not design.chosen.cache
    assert not any(c.cache for c in design.evaluation.configurations)
    assert tables.why_no_cache(design) == (
        "the other stages' p95s leave the server no share of the 3 ms SLO")
    by_cache = design.evaluation.infeasible_by_cache
    assert set(by_cache) == {False, True}
    assert {f.option.label for f in by_cache[True]} == {
        c.fleet.option.label for c in design.evaluation.configurations} | {
        f.option.label for f in by_cache[False]}  # every option, with the cache
    assert tables.why_no_cache(designs["defaults"]) == ""  # a cached design is feasible
    assert any(c.cache for c in designs["defaults"].evaluation.configurations)


def test_why_no_cache_is_empty_when_no_cache_is_tried():
    design = design_service(DesignQuestion(cache_hit_rate=0.0), PROFILES)
    assert set(design.evaluation.infeasible_by_cache) == {False}
    assert tables.why_no_cache(design) == ""


@pytest.mark.parametrize("name", ["defaults", "bert_large with a 60% cache"])
def test_the_frontier_is_pareto_optimal(designs, name):
    frontier = tables.frontier_table(designs[name])
    assert len(frontier) and frontier["on_frontier"].any()
    assert frontier["chosen"].sum() == 1
    cost, p95 = frontier["total_usd"].to_numpy(), frontier["p95_ms"].to_numpy()
    for i, on in enumerate(frontier["on_frontier"]):
        beaten = (cost <= cost[i]) & (p95 <= p95[i]) & ((cost < cost[i]) | (p95 < p95[i]))
        assert on == (not beaten.any())
    assert cost.min() in cost[frontier["on_frontier"].to_numpy()]  # the cheapest is on it


def test_cheapest_by_keeps_the_cheapest_row_of_each_group():
    frame = tables.pd.DataFrame({"kind": ["gpu", "cpu", "cpu", "gpu"],
                                 "total_usd": [900.0, 700.0, 600.0, 900.0],
                                 "p95_ms": [5.0, 3.0, 4.0, 2.0]})
    rows = tables.cheapest_by(frame, "kind")
    assert set(rows) == {"cpu", "gpu"}
    assert (rows["cpu"]["total_usd"], rows["cpu"]["p95_ms"]) == (600.0, 4.0)
    assert (rows["gpu"]["total_usd"], rows["gpu"]["p95_ms"]) == (900.0, 2.0)  # tie: lower p95
    assert tables.cheapest_by(frame.iloc[:0], "kind") == {}


def test_the_policy_table_has_the_three_policies_in_order(designs):
    design = designs["bert_large"]
    policies = tables.policy_table(design)
    assert tuple(policies["policy"]) == POLICY_NAMES
    chosen = policies.set_index("policy").loc[design.chosen.policy]
    assert chosen["total_usd"] == pytest.approx(design.total_usd)
    assert chosen["instances_peak"] == design.instances_peak


@settings(max_examples=25, deadline=None, derandomize=True)
@given(batch=st.sampled_from(BATCHES), wait_ms=st.sampled_from([0.5, 5.0, 50.0, 1000.0]),
       rate_rps=st.floats(100.0, 200_000.0), budget_ms=st.floats(1.0, 200.0))
def test_a_feasible_fleet_meets_its_budget_with_its_spare(batch, wait_ms, rate_rps, budget_ms):
    option = measured_option(C6I, "mlp_fp32", FP32, batch, wait_ms)
    fleet = size_at_peak(option, rate_rps, budget_ms)
    if fleet.feasible:  # the spare spreads the rate: batches fill more slowly, never over
        assert fleet.server_p95_ms <= budget_ms
        assert fleet.server_p95_ms == pytest.approx(
            server_p95_ms(option, fleet.instances, rate_rps))
    else:
        assert fleet.reason


def test_the_spare_that_slows_batch_filling_past_the_budget_is_refused():
    fleet = size_at_peak(measured_option(C6I, "mlp_fp32", FP32, 8, 5.0), 20_000.0, 6.0)
    assert not fleet.feasible and "spare" in fleet.reason


def test_an_slo_no_design_meets_still_has_a_fleet_under_every_policy(designs):
    design = designs["slo below the network"]
    assert not design.meets_slo and not design.evaluation.configurations
    table = tables.policy_table(design)
    assert list(table["policy"]) == list(POLICY_NAMES)
    assert (table["slo_attainment"] == 0).all()
    assert set(tables.day_frame(design)["policy"]) == set(POLICY_NAMES)
    assert design.chosen in design.policies
