"""Capacity sizing: hand-computed cases, the rounding contract, and the queueing-aware search."""

import itertools
import math
import re
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perfcost import capacity, fleet_check, fleet_quantiles, instance_types, sizing_tables
from perfcost.capacity import (
    CapacityQuestion,
    InfeasibleError,
    InstanceType,
    cheapest_instance,
    cheapest_instance_for_quantile,
    instances_for_utilization,
    round_up,
    size_fleet,
    size_fleet_for_quantile,
)
from perfcost.fleet_latency import FLEET, MMC, FleetLatency
from perfcost.validation import ParameterError

CPU = InstanceType("cpu", throughput_rps=50.0, hourly_usd=0.34, latency_ms=20.0)
GPU = InstanceType("gpu", throughput_rps=800.0, hourly_usd=0.526, latency_ms=10.0)


# --- The rule of thumb ---------------------------------------------------------------------------

def test_exact_fit_is_not_rounded_up_by_float_error():
    assert math.ceil(63 / (90 * 0.7)) == 2  # the trap: 63 / 63.00000000000001 > 1 in floats
    assert instances_for_utilization(63, 90, 0.7) == 1
    assert instances_for_utilization(2.1, 1, 0.7) == 3  # 3.0000000000000004 before rounding
    assert instances_for_utilization(700, 100, 0.7) == 10
    assert instances_for_utilization(701, 100, 0.7) == 11


def test_a_tiny_rate_still_needs_one_instance():
    assert instances_for_utilization(1e-6, 1000, 0.5) == 1


def test_round_up_keeps_an_exact_fit_exact():
    assert math.ceil(63 / (90 * 0.7)) == 2  # 63 / 63.00000000000001: a plain ceil buys two
    assert round_up(63 / (90 * 0.7)) == 1
    assert round_up(2.1 / 0.7) == 3  # 3.0000000000000004
    assert round_up(10.000000000000002) == 10
    assert round_up(10.01) == 11  # a real excess, far beyond float error, rounds up
    assert round_up(3.0) == 3
    assert round_up(0.3) == 1 and round_up(0.0) == 1  # a fraction of an instance is one


@settings(max_examples=300, deadline=None)
@given(instances=st.floats(0.0, 1e9))
def test_round_up_is_the_whole_count_at_or_just_above(instances):
    count = round_up(instances)
    assert isinstance(count, int) and count >= 1
    assert count >= instances * (1 - 1e-9)  # never below, beyond float error
    assert count == 1 or count - 1 < instances  # and never a whole one above


@settings(max_examples=100, deadline=None)
@given(rate=st.floats(0.01, 1e6), throughput=st.floats(0.1, 1e4), target=st.floats(0.05, 1.0))
def test_the_rule_of_thumb_rounds_up_rate_over_capacity(rate, throughput, target):
    assert (instances_for_utilization(rate, throughput, target)
            == round_up(rate / (throughput * target)))


decimal_st = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("5000"), places=2)
target_st = st.decimals(min_value=Decimal("0.05"), max_value=Decimal("1"), places=2)


@settings(max_examples=300, deadline=None)
@given(count=st.integers(1, 10_000), throughput=decimal_st, target=target_st)
def test_exact_fits_take_exactly_that_many(count, throughput, target):
    rate = float(count * throughput * target)  # typed as a decimal, computed in binary
    assert instances_for_utilization(rate, float(throughput), float(target)) == count


@settings(max_examples=300, deadline=None)
@given(rate=st.floats(0.01, 1e6), throughput=st.floats(0.1, 1e4), target=st.floats(0.05, 1.0))
def test_the_count_is_the_fewest_that_keeps_each_instance_under_target(rate, throughput, target):
    count = instances_for_utilization(rate, throughput, target)
    capacity_rps = throughput * target
    assert count * capacity_rps >= rate * (1 - 1e-9)
    assert count == 1 or (count - 1) * capacity_rps < rate * (1 + 1e-9)


def test_hand_computed_cheapest_instance():
    # 1,000 rps at 70%: CPU needs ceil(1000 / 35) = 29 x $0.34 = $9.86/h;
    # GPU needs ceil(1000 / 560) = 2 x $0.526 = $1.052/h.
    fleet = cheapest_instance([CPU, GPU], 1000, latency_slo_ms=100)
    assert (fleet.instance, fleet.count) == (GPU, 2)
    assert fleet.hourly_usd == pytest.approx(1.052)
    assert fleet.monthly_usd == pytest.approx(1.052 * 730)
    assert fleet.utilization == pytest.approx(1000 / 1600)
    # At 30 rps one CPU ($0.34) beats one GPU ($0.526).
    assert cheapest_instance([CPU, GPU], 30, 100).instance == CPU


def test_options_slower_than_the_slo_are_excluded():
    constant = FleetLatency("least_outstanding", service_cv=0.0)
    assert cheapest_instance([CPU, GPU], 30, latency_slo_ms=15, model=constant).instance == GPU
    with pytest.raises(InfeasibleError, match="gpu: even an idle fleet has a p95 of"):
        cheapest_instance([GPU], 30, latency_slo_ms=12)  # a 10 ms mean at cv 0.21: p95 13.7
    with pytest.raises(InfeasibleError, match="cpu: latency 20 ms exceeds the SLO 15 ms"):
        size_fleet(CPU, 30, 15)
    with pytest.raises(InfeasibleError, match="no instance type can meet the SLO"):
        cheapest_instance([CPU, GPU], 30, latency_slo_ms=5)


def test_ties_go_to_fewer_instances_then_the_name():
    big = InstanceType("big", 100, 1.0, 10)
    small = InstanceType("small", 50, 0.5, 10)
    # 60 rps at target 1: big needs 1 ($1.00), small needs 2 ($1.00): fewer instances wins.
    assert cheapest_instance([small, big], 60, 100, utilization_target=1.0).instance == big
    twin = InstanceType("a-twin", 100, 1.0, 10)
    assert cheapest_instance([big, twin], 60, 100, 1.0).instance == twin


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"request_rate_rps": 0}, r"request_rate_rps must be a number in \(0, 1e\+08\]"),
        ({"request_rate_rps": math.nan}, "request_rate_rps must be"),
        ({"latency_slo_ms": -1}, "latency_slo_ms must be"),
        ({"utilization_target": 0}, r"utilization_target must be a number in \[0.01, 1\]"),
        ({"utilization_target": 1.2}, r"utilization_target must be a number in \[0.01, 1\]"),
    ],
)
def test_bad_inputs_name_the_parameter(kwargs, message):
    arguments = {"request_rate_rps": 100, "latency_slo_ms": 100, "utilization_target": 0.7}
    arguments.update(kwargs)
    with pytest.raises(ParameterError, match=message):
        cheapest_instance([CPU, GPU], **arguments)


def test_instance_type_validates_its_fields():
    with pytest.raises(ParameterError, match="hourly_usd must be"):
        InstanceType("x", 10, -1, 5)
    with pytest.raises(ParameterError, match="name must be one line of text, 1 to 64 char"):
        InstanceType("", 10, 1, 5)
    with pytest.raises(ParameterError, match="options must be a non-empty sequence"):
        cheapest_instance([], 10, 10)


# --- Queueing-aware sizing -----------------------------------------------------------------------

def test_slots_follow_littles_law():
    assert capacity.slots_per_instance(GPU) == 8  # 800 rps x 10 ms
    assert capacity.slots_per_instance(CPU) == 1  # 50 rps x 20 ms
    assert capacity.slots_per_instance(InstanceType("x", 10, 1, 5)) == 1  # at least one
    queue = fleet_quantiles.fleet_queue(GPU, 3, 1000)
    assert (queue.servers, queue.service_rate) == (24, 100.0)


@pytest.mark.parametrize("rate", [5.0, 30.0, 400.0, 3000.0, 20000.0])
def test_quantile_sizing_is_the_smallest_count_meeting_the_slo(rate):
    fleet = size_fleet_for_quantile(CPU, rate, latency_slo_ms=150)
    assert fleet.p95_ms <= 150
    smaller = fleet.count - 1
    if smaller * CPU.throughput_rps > rate:  # a stable smaller fleet must miss the SLO
        assert fleet_quantiles.fleet_response_quantile_ms(CPU, smaller, rate) > 150


def test_the_rule_under_provisions_one_instance_and_over_provisions_many():
    # In M/M/c: 30 rps on one 50-rps CPU is 60% busy, inside the 70% rule, but its p95 is
    # ln 20 / (50 - 30) s...
    rule = size_fleet(CPU, 30, 100, model=MMC)
    assert rule.count == 1 and rule.p95_ms == pytest.approx(-math.log(0.05) / 20 * 1000)
    assert size_fleet_for_quantile(CPU, 30, 100, model=MMC).count == 2
    # ...while a big pooled fleet meets the same SLO far hotter than 70%.
    assert (size_fleet_for_quantile(CPU, 5000, 100, model=MMC).count
            < size_fleet(CPU, 5000, 100, model=MMC).count)


def test_an_slo_below_the_models_floor_is_infeasible():
    # The p95 of one Exp(50/s) service time alone is ln(20)/50 s = 59.9 ms.
    with pytest.raises(InfeasibleError, match=r"even an idle fleet has a p95 of 59\.9 ms"):
        size_fleet_for_quantile(CPU, 10, 59, model=MMC)
    assert cheapest_instance_for_quantile([CPU, GPU], 10, 59, model=MMC).instance == GPU


def test_max_utilization_is_the_edge_of_the_slo():
    for servers, model in itertools.product((1, 4, 64), (MMC, FLEET)):
        rho = fleet_quantiles.max_utilization_for_quantile(20, servers, 100, model=model)
        at_edge = fleet_quantiles.quantile_curves(20, [servers], [rho, min(rho + 1e-3, 0.9999)],
                                           model=model)
        assert at_edge["p95_ms"].iloc[0] <= 100 + 1e-6 < at_edge["p95_ms"].iloc[1]
    assert fleet_quantiles.max_utilization_for_quantile(20, 1, 50, model=MMC) == 0.0  # 3 x 20 ms


def test_with_spares_adds_instances_and_cost():
    fleet = size_fleet(GPU, 1000, 100)
    spare = capacity.with_spares(fleet, 1)
    assert spare.count == fleet.count + 1
    assert spare.monthly_usd == pytest.approx(fleet.monthly_usd * spare.count / fleet.count)
    assert spare.utilization < fleet.utilization


def test_cost_curves_and_the_crossover():
    # One CPU serves 35 rps at 70% for $0.34 < $0.526 (one GPU); two CPUs cost more than a GPU.
    curves = sizing_tables.cost_curves([CPU, GPU], np.arange(1, 200), 100)
    assert sizing_tables.cheapest_above_rps(curves, "gpu") == 35.0
    assert curves.groupby("request_rate_rps")["cheapest"].sum().eq(1).all()
    with pytest.raises(ParameterError, match="instance_name"):
        sizing_tables.cheapest_above_rps(curves, "tpu")


def test_simulation_agrees_with_the_fleet_model():
    model = fleet_quantiles.fleet_response_quantile_ms(GPU, 2, 1200, model=MMC)
    simulated = fleet_check.simulated_response_quantile_ms(GPU, 2, 1200, requests=300_000)
    assert simulated == pytest.approx(model, rel=0.03)
    constant = fleet_check.simulated_response_quantile_ms(GPU, 2, 1200, service_cv=0.0)
    assert constant < simulated


def test_chapter_question_names_notebook_parameters():
    good = dict(request_rate_rps=2000, latency_slo_ms=100, utilization_target=0.7,
                peak_to_average=2, cpu_name="c", cpu_throughput_rps=50, cpu_hourly_usd=0.3,
                cpu_latency_ms=20, gpu_name="g", gpu_throughput_rps=800, gpu_hourly_usd=0.5,
                gpu_latency_ms=10)
    question = CapacityQuestion(**good)
    assert question.peak_rate_rps == 4000 and [o.name for o in question.options] == ["c", "g"]
    for name, bad, message in [
        ("cpu_throughput_rps", -1, r"cpu_throughput_rps must be a number in \[0.001, 1e\+06\]"),
        ("utilization_target", 1.5, r"utilization_target must be a number in \[0.01, 1\]"),
        ("peak_to_average", 0.5, r"peak_to_average must be a number in \[1, 100\]"),
        ("gpu_name", "", "gpu_name must be one line of text"),
    ]:
        with pytest.raises(ParameterError, match=message):
            CapacityQuestion(**{**good, name: bad})


@settings(max_examples=300, deadline=None)
@given(smallest=st.integers(1, 10**6), threshold=st.integers(1, 2 * 10**6),
       largest=st.integers(1, 10**6))
def test_the_bounded_search_finds_the_least_count_or_none(smallest, threshold, largest):
    calls = []

    def meets(count):
        calls.append(count)
        assert smallest <= count <= largest  # never looks outside the range
        return count >= threshold

    found = capacity._count_meeting(meets, smallest, largest)
    expected = max(smallest, threshold) if max(smallest, threshold) <= largest else None
    assert found == expected
    assert len(calls) <= 2 * math.log2(largest + 1) + 3  # gallop and bisect, never a scan


def test_the_question_takes_the_chapters_ranges():
    """Every numeric parameter's range in the question is the chapter's (perfcost.book.inputs),
    built from the same constants; request_rate_rps alone differs: (0, 10^6] here, [10^-3, 10^6]
    in the chapter."""
    from perfcost.book.inputs import CHAPTER_INPUTS
    from perfcost.book.parameter_types import Number

    good = dict(request_rate_rps=2000, latency_slo_ms=100, utilization_target=0.7,
                peak_to_average=2, cpu_name="c", cpu_throughput_rps=50, cpu_hourly_usd=0.3,
                cpu_latency_ms=20, gpu_name="g", gpu_throughput_rps=800, gpu_hourly_usd=0.5,
                gpu_latency_ms=10)
    for name, check in CHAPTER_INPUTS["capacity"].checks.items():
        if not isinstance(check, Number) or name == "request_rate_rps":
            continue
        inside = [math.nextafter(check.low, math.inf) if check.low_open else check.low,
                  math.nextafter(check.high, -math.inf) if check.high_open else check.high]
        outside = [check.low if check.low_open else math.nextafter(check.low, -math.inf),
                   check.high if check.high_open else math.nextafter(check.high, math.inf)]
        for value in inside:
            assert getattr(CapacityQuestion(**{**good, name: value}), name) == value
        for value in outside:
            with pytest.raises(ParameterError, match=re.escape(f"{name} must be {check}")):
                CapacityQuestion(**{**good, name: value})


def test_sizing_limits_are_the_chapter_limits():
    # the largest average at the largest peak
    assert instance_types.MAX_REQUEST_RATE_RPS == 1e6 * 100
    largest = CapacityQuestion(
        request_rate_rps=1e6, latency_slo_ms=60_000, utilization_target=0.01,
        peak_to_average=100, cpu_name="c", cpu_throughput_rps=1e-3, cpu_hourly_usd=1000,
        cpu_latency_ms=60_000, gpu_name="g", gpu_throughput_rps=1e6, gpu_hourly_usd=1000,
        gpu_latency_ms=60_000)
    assert largest.peak_rate_rps == instance_types.MAX_REQUEST_RATE_RPS
    with pytest.raises(InfeasibleError, match="no instance type can meet the SLO"):
        cheapest_instance(largest.options, largest.peak_rate_rps, 60_000, 0.01)


def test_cost_curves_refuse_more_sizings_than_seconds_allow():
    from perfcost.capacity import InstanceType
    from perfcost.sizing_tables import cost_curves
    from perfcost.validation import ParameterError

    options = [InstanceType(f"i{k}", 100.0, 1.0, 10.0) for k in range(3)]
    with pytest.raises(ParameterError, match=r"len\(options\) \* len\(request_rates_rps\)"):
        cost_curves(options, range(1, 10_000), 100.0)
