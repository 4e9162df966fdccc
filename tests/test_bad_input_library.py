"""Bad input to the queueing, capacity, cost and savings functions: refused by name, on one line.

Every numeric argument of every public function is tried with the values that used to end in a
traceback, a hang or a silent NaN: text, None, a list, a bool, NaN, ±inf, a negative, zero where
zero is invalid, a fraction where a whole number is due, and huge values (1e308, 10**400). Each
must raise ParameterError whose one-line message starts with the argument's name, within 2 s.
(The price catalog's files are tested in test_pricing.py, chapter 4's settings in
test_compression.py.)
"""

import math
import re
import time
from dataclasses import replace

import numpy as np
import pytest

from perfcost import (
    capacity,
    cost,
    fleet_check,
    fleet_quantiles,
    instance_types,
    levers,
    queueing,
    savings,
    sizing_tables,
    volume_tiers,
    what_if,
)
from perfcost.capacity import CapacityQuestion, InfeasibleError, InstanceType
from perfcost.fleet_latency import FleetLatency, service_cv_from_percentile, wait_model
from perfcost.pricing import Tier, load_catalog
from perfcost.validation import ParameterError

CATALOG = load_catalog()
CPU = InstanceType("cpu", throughput_rps=50.0, hourly_usd=0.34, latency_ms=20.0)
GPU = InstanceType("gpu", throughput_rps=800.0, hourly_usd=0.526, latency_ms=10.0)
QUESTION = dict(request_rate_rps=2000.0, latency_slo_ms=100.0, utilization_target=0.7,
                peak_to_average=2.0, cpu_name="c", cpu_throughput_rps=50.0, cpu_hourly_usd=0.3,
                cpu_latency_ms=20.0, gpu_name="g", gpu_throughput_rps=800.0, gpu_hourly_usd=0.5,
                gpu_latency_ms=10.0)
SERVICE = dict(request_rate_rps=500.0, request_kb=50.0, response_kb=10.0, eu_egress_fraction=0.3,
               instance_hourly_usd=2.5, instance_throughput_rps=100.0, model_storage_gb=200.0,
               storage_usd_per_gb_month=0.02, hours_per_month=730.0, peak_to_average=1.0,
               throughput_gain=1.0, cache_hit_rate=0.0, spot_share=0.0, spot_discount=0.0,
               commitment_discount=0.0, response_compression_ratio=1.0,
               archived_storage_fraction=0.0, archive_usd_per_gb_month=0.0)
LEVERS = dict(commitment_discount=0.28, spot_share=0.4, spot_discount=0.5, throughput_gain=1.0,
              cache_hit_rate=0.0, response_compression_ratio=3.0, archived_storage_fraction=0.75,
              archive_usd_per_gb_month=0.004)
BASE_SERVICE = cost.InferenceService(**SERVICE)
FLEET = capacity.size_fleet(GPU, 1000, 100)


def refused(call, error=ParameterError, pattern=""):
    """Run ``call``; it must raise ``error`` with a one-line message matching ``pattern``, fast."""
    start = time.perf_counter()
    with pytest.raises(error) as caught:
        call()
    elapsed = time.perf_counter() - start
    message = str(caught.value)
    assert "\n" not in message and len(message) < 600, message
    assert re.search(pattern, message), message
    assert elapsed < 2.0, f"took {elapsed:.1f} s"
    return message


def bad_numbers(*extra, zero_ok=False, whole=False):
    """The usual bad values, then zero unless valid, 2.5 for whole numbers, and ``extra``."""
    values = ["3", None, [1.0], True, math.nan, math.inf, -math.inf, -1.0, 1e308, 10**400]
    return [*values, *([] if zero_ok else [0]), *([2.5] if whole else []), *extra]


# (label, function, good keyword arguments, {argument: its bad values})
CASES = [
    ("erlang_c", queueing.erlang_c, dict(servers=5, offered_load=2.0),
     {"servers": bad_numbers(whole=True), "offered_load": bad_numbers()}),
    ("MMc", queueing.MMc, dict(arrival_rate=1.0, service_rate=2.0, servers=1),
     {"arrival_rate": bad_numbers(), "service_rate": bad_numbers(1e-300),
      "servers": bad_numbers(whole=True)}),
    ("MG1", queueing.MG1, dict(arrival_rate=1.0, service_rate=2.0, service_cv=1.0),
     {"arrival_rate": bad_numbers(), "service_rate": bad_numbers(),
      "service_cv": bad_numbers(1e200, zero_ok=True)}),
    ("MD1", queueing.MD1, dict(arrival_rate=1.0, service_rate=2.0),
     {"arrival_rate": bad_numbers(), "service_rate": bad_numbers()}),
    ("GGc", queueing.GGc, dict(arrival_rate=1.0, service_rate=2.0, servers=1, arrival_cv=1.0,
                               service_cv=1.0),
     {"servers": bad_numbers(whole=True), "arrival_cv": bad_numbers(1e200, zero_ok=True),
      "service_cv": bad_numbers(zero_ok=True)}),
    ("response_quantile", queueing.MMc(1.0, 2.0, 1).response_quantile, dict(q=0.5),
     {"q": bad_numbers(1.0, zero_ok=True)}),
    ("wait_quantile", queueing.MMc(1.0, 2.0, 1).wait_quantile, dict(q=0.5),
     {"q": bad_numbers(1.0, zero_ok=True)}),
    ("response_survival", queueing.MMc(1.0, 2.0, 1).response_survival, dict(t=0.5),
     {"t": bad_numbers(zero_ok=True)}),
    ("wait_survival", queueing.MMc(1.0, 2.0, 1).wait_survival, dict(t=0.5),
     {"t": bad_numbers(zero_ok=True)}),
    ("InstanceType", InstanceType, dict(name="x", throughput_rps=50.0, hourly_usd=1.0,
                                        latency_ms=10.0),
     {"name": [None, "", " ", "a\nb", "x" * 65, 3],
      "throughput_rps": bad_numbers(1e-308, 2e6), "hourly_usd": bad_numbers(1001),
      "latency_ms": bad_numbers(60_001)}),
    ("CapacityQuestion", CapacityQuestion, QUESTION,
     {"request_rate_rps": bad_numbers(7e20, 1.1e6), "latency_slo_ms": bad_numbers(),
      "utilization_target": bad_numbers(0.001, 1.01),
      "peak_to_average": bad_numbers(0.5, 101), "cpu_name": [None, "", 7],
      "gpu_throughput_rps": bad_numbers(1e-308), "gpu_hourly_usd": bad_numbers(),
      "cpu_latency_ms": bad_numbers()}),
    ("instances_for_utilization", capacity.instances_for_utilization,
     dict(request_rate_rps=100.0, throughput_rps=10.0, utilization_target=0.7),
     {"request_rate_rps": bad_numbers(), "throughput_rps": bad_numbers(1e-308),
      "utilization_target": bad_numbers(1e-300)}),
    ("fleet_queue", fleet_quantiles.fleet_queue,
     dict(instance=GPU, count=2, request_rate_rps=1000.0),
     {"instance": [None, "gpu"], "count": bad_numbers(whole=True),
      "request_rate_rps": bad_numbers()}),
    ("fleet_response_quantile_ms", fleet_quantiles.fleet_response_quantile_ms,
     dict(instance=GPU, count=2, request_rate_rps=1000.0, quantile=0.95),
     {"quantile": bad_numbers(1.0), "model": [None, "least_outstanding"]}),
    ("size_fleet", capacity.size_fleet,
     dict(instance=GPU, request_rate_rps=1000.0, latency_slo_ms=100.0, utilization_target=0.7),
     {"instance": [None], "request_rate_rps": bad_numbers(7e20),
      "latency_slo_ms": bad_numbers(60_001), "utilization_target": bad_numbers()}),
    ("size_fleet_for_quantile", capacity.size_fleet_for_quantile,
     dict(instance=GPU, request_rate_rps=1000.0, latency_slo_ms=100.0, quantile=0.95),
     {"request_rate_rps": bad_numbers(7e20), "latency_slo_ms": bad_numbers(),
      "quantile": bad_numbers(1.0)}),
    ("sizing_table", sizing_tables.sizing_table,
     dict(options=[CPU, GPU], request_rate_rps=1000.0, latency_slo_ms=100.0),
     {"options": [None, [], "cpu", [CPU, "gpu"], 3, [CPU] * 1001],
      "request_rate_rps": bad_numbers(), "size": [None, "size_fleet"]}),
    ("cheapest_instance", capacity.cheapest_instance,
     dict(options=[CPU, GPU], request_rate_rps=1000.0, latency_slo_ms=100.0,
          utilization_target=0.7),
     {"request_rate_rps": bad_numbers(), "latency_slo_ms": bad_numbers(),
      "utilization_target": bad_numbers()}),
    ("cheapest_instance_for_quantile", capacity.cheapest_instance_for_quantile,
     dict(options=[CPU, GPU], request_rate_rps=1000.0, latency_slo_ms=100.0, quantile=0.95),
     {"request_rate_rps": bad_numbers(), "quantile": bad_numbers()}),
    ("with_spares", capacity.with_spares, dict(fleet=FLEET, spares=1),
     {"fleet": [None, GPU], "spares": bad_numbers(zero_ok=True, whole=True)}),
    ("quantile_curves", fleet_quantiles.quantile_curves,
     dict(service_ms=20.0, fleet_sizes=[1, 4], utilizations=[0.5], quantile=0.95),
     {"service_ms": bad_numbers(), "fleet_sizes": [None, 3, "14", [], [0], [2.5], [10**400]],
      "utilizations": [None, [], [0.0], [1.0], [math.nan], np.linspace(0.01, 0.99, 10_001)],
      "quantile": bad_numbers()}),
    ("cost_curves", sizing_tables.cost_curves,
     dict(options=[CPU, GPU], request_rates_rps=[10.0, 100.0], latency_slo_ms=100.0),
     {"request_rates_rps": [None, 5, "10", [], [math.nan], [1e308], np.arange(1, 10_002)],
      "latency_slo_ms": bad_numbers()}),
    ("simulated_response_quantile_ms", fleet_check.simulated_response_quantile_ms,
     dict(instance=GPU, count=2, request_rate_rps=1000.0, quantile=0.95, service_cv=1.0,
          requests=1000, seed=0),
     {"count": bad_numbers(whole=True), "request_rate_rps": bad_numbers(2e6),
      "service_cv": bad_numbers(zero_ok=True), "requests": bad_numbers(10**9, whole=True),
      "seed": bad_numbers(2**32, zero_ok=True, whole=True)}),
    ("FleetLatency", FleetLatency, dict(routing="random", service_cv=0.3),
     {"routing": [None, "", "fastest", 3], "service_cv": bad_numbers(11.0, zero_ok=True)}),
    ("UtilizationRule", capacity.UtilizationRule, dict(target=0.7),
     {"target": bad_numbers(), "model": [None, "mmc"]}),
    ("QuantileRule", capacity.QuantileRule, dict(quantile=0.95),
     {"quantile": bad_numbers(1.0), "model": [None, 0.3]}),
    ("SLORule", capacity.SLORule, dict(target=0.7), {"target": bad_numbers(),
                                                      "model": [None]}),
    ("wait_model", wait_model,
     dict(routing="random", instances=4, slots=2, slot_rate=10.0, arrival_rate=50.0,
          service_cv=0.3),
     {"routing": [None, "x"], "instances": bad_numbers(whole=True),
      "slots": bad_numbers(whole=True), "slot_rate": bad_numbers(),
      "arrival_rate": bad_numbers(), "service_cv": bad_numbers(zero_ok=True)}),
    ("service_cv_from_percentile", service_cv_from_percentile,
     dict(mean_ms=10.0, percentile_ms=15.0, quantile=0.99),
     {"mean_ms": bad_numbers(), "percentile_ms": [5.0, 10.0, math.nan, None],
      "quantile": bad_numbers(1.0)}),
    ("max_utilization_for_quantile", fleet_quantiles.max_utilization_for_quantile,
     dict(service_ms=20.0, servers=4, latency_slo_ms=100.0, quantile=0.95),
     {"service_ms": bad_numbers(), "servers": bad_numbers(whole=True),
      "latency_slo_ms": bad_numbers(), "quantile": bad_numbers()}),
    ("InferenceService", cost.InferenceService, SERVICE,
     {name: bad_numbers(zero_ok=name not in {"request_rate_rps", "instance_hourly_usd",
                                             "instance_throughput_rps", "hours_per_month",
                                             "peak_to_average", "throughput_gain",
                                             "response_compression_ratio"})
      for name in SERVICE}),
    ("tiered_items", volume_tiers.tiered_items,
     dict(quantity_gb=100.0, tiers=CATALOG.internet_egress, component="egress", name="egress"),
     {"quantity_gb": bad_numbers(zero_ok=True),
      "tiers": [None, (), "tiers", (Tier(10.0, 0.1),), CATALOG.internet_egress[::-1]],
      "component": [None, 3], "name": [None]}),
    ("tiered_cost_usd", volume_tiers.tiered_cost_usd,
     dict(quantity_gb=100.0, tiers=CATALOG.internet_egress),
     {"quantity_gb": bad_numbers(zero_ok=True)}),
    ("tier_expression", volume_tiers.tier_expression,
     dict(tiers=CATALOG.internet_egress, variable="gb"),
     {"tiers": [None, ()], "variable": [None, ""]}),
    ("monthly_gb", volume_tiers.monthly_gb,
     dict(rate_rps=1.0, size_kb=1.0, hours_per_month=730.0),
     {"rate_rps": bad_numbers(zero_ok=True), "size_kb": bad_numbers(zero_ok=True),
      "hours_per_month": bad_numbers(745)}),
    ("monthly_bill", cost.monthly_bill, dict(service=BASE_SERVICE, catalog=CATALOG),
     {"service": [None, SERVICE], "catalog": [None, "aws-us-east-1.yaml"]}),
    ("fleet_for", cost.fleet_for, dict(service=BASE_SERVICE), {"service": [None]}),
    ("diurnal_rates_rps", cost.diurnal_rates_rps, dict(service=BASE_SERVICE),
     {"service": [None]}),
    ("without_levers", cost.without_levers, dict(service=BASE_SERVICE), {"service": [None]}),
    ("what_if_expressions", what_if.what_if_expressions,
     dict(service=BASE_SERVICE, catalog=CATALOG), {"service": [None], "catalog": [None]}),
    ("bill_sensitivity", what_if.bill_sensitivity,
     dict(service=BASE_SERVICE, catalog=CATALOG, parameter="response_kb", values=[1.0, 2.0]),
     {"service": [None], "catalog": [None],
      "parameter": [None, "colour", "egress_route", "autoscale", ["response_kb"]],
      "values": [None, 5, "12", [], np.arange(10_001)]}),
    ("standard_levers", levers.standard_levers, LEVERS,
     {name: bad_numbers(zero_ok=name not in {"throughput_gain", "response_compression_ratio"})
      for name in LEVERS}),
    ("Lever", levers.Lever,
     dict(key="cache", name="cache", changes=(("cache_hit_rate", 0.1),), effort=1, slo_risk=1,
          irreversibility=1),
     {"key": [None, "magic", ["cache"]], "name": [None, ""],
      "changes": [None, "cache_hit_rate", (("cache_hit_rate",),), ((1, 0.1),)],
      "effort": bad_numbers(4, whole=True), "slo_risk": [0, 4],
      "irreversibility": [2.5]}),
    ("plan_savings", savings.plan_savings,
     dict(service=BASE_SERVICE, catalog=CATALOG, levers=[], savings_target=0.1),
     {"service": [None], "catalog": [None], "levers": [None, "cache", [None]],
      "savings_target": bad_numbers(1.0, zero_ok=True)}),
    ("CostQuestion", cost.CostQuestion, {},
     {**{name: bad_numbers(zero_ok=name not in {
         "request_rate_rps", "instance_hourly_usd", "instance_throughput_rps",
         "utilization_target", "hours_per_month", "peak_to_average",
         "response_compression_ratio"})
         for name in ("request_rate_rps", "request_kb", "response_kb", "eu_egress_fraction",
                      "instance_hourly_usd", "instance_throughput_rps", "utilization_target",
                      "model_storage_gb", "storage_usd_per_gb_month", "hours_per_month",
                      "savings_target", "peak_to_average", "commitment_discount", "spot_share",
                      "spot_discount", "throughput_gain", "cache_hit_rate",
                      "response_compression_ratio", "archived_storage_fraction",
                      "block_storage_gb_per_instance")},
      **{name: [None, 3, ["x"]]
         for name in ("archive_storage_class", "price_catalog_path", "book_root")}}),
]


def case_params():
    for label, function, good, arguments in CASES:
        for argument, values in arguments.items():
            for value in values:
                shown = repr(value)[:12] if not isinstance(value, np.ndarray) else "array"
                yield pytest.param(function, good, argument, value,
                                   id=f"{label}-{argument}-{shown}")


@pytest.mark.parametrize(("label", "function", "good"), [case[:3] for case in CASES],
                         ids=[case[0] for case in CASES])
def test_the_good_arguments_work(label, function, good):
    function(**good)  # so that each refusal below is caused by the one bad argument


@pytest.mark.parametrize(("function", "good", "argument", "value"), list(case_params()))
def test_a_bad_argument_is_refused_by_name_on_one_line(function, good, argument, value):
    refused(lambda: function(**{**good, argument: value}), ParameterError,
            rf"^{re.escape(argument)} must be .*; got ")


# --- The examples in the issue -----------------------------------------------------------------

def test_the_numeric_extremes_of_the_issue_are_refused_by_name():
    refused(lambda: CapacityQuestion(**{**QUESTION, "request_rate_rps": 7e20}),
            pattern=r"^request_rate_rps must be a number in \(0, 1e\+06\]; got 7e\+20$")
    refused(lambda: CapacityQuestion(**{**QUESTION, "gpu_throughput_rps": 1e-308}),
            pattern=r"^gpu_throughput_rps must be a number in \[0\.001, 1e\+06\]; got 1e-308$")
    refused(lambda: queueing.erlang_c(1e308, 5),
            pattern=r"^servers must be a whole number in \[1, 1000000000\]; got 1e\+308$")
    refused(lambda: queueing.MG1(1.0, 2.0, 1e200),
            pattern=r"^service_cv must be a number in \[0, 100\]; got 1e\+200$")
    refused(lambda: capacity.size_fleet(GPU, 7e20, 100),
            pattern=r"^request_rate_rps must be a number in \(0, 1e\+08\]")


def test_committed_must_be_a_real_bool():
    for flag in ("committed", "autoscale"):
        for value in ("no", "False", 0, 1, None, np.True_):
            refused(lambda f=flag, v=value: replace(BASE_SERVICE, **{f: v}),
                    pattern=rf"^{flag} must be True or False; got ")
    assert replace(BASE_SERVICE, committed=True).committed is True


def test_a_cost_rerun_at_1e8_requests_per_second_is_refused_at_validation():
    refused(lambda: replace(BASE_SERVICE, request_rate_rps=1e8),
            pattern=r"^request_rate_rps must be a number in \(0, 1e\+06\]; got 100000000\.0$")


def test_the_egress_route_must_be_one_of_the_routes():
    for route in (None, ["direct"], "carrier pigeon"):
        refused(lambda r=route: replace(BASE_SERVICE, egress_route=r),
                pattern=r"^egress_route must be one of direct, eu_relay; got ")


# --- Bounded searches --------------------------------------------------------------------------

SLOW_CPU = InstanceType("slow", throughput_rps=1.0, hourly_usd=0.1, latency_ms=1000.0)
HUGE_SLOTS = InstanceType("wide", throughput_rps=1e6, hourly_usd=1.0, latency_ms=60_000.0)


def test_a_fleet_beyond_a_million_instances_is_infeasible_not_a_hang():
    refused(lambda: capacity.size_fleet(SLOW_CPU, 1e7, 50_000),
            InfeasibleError, r"^slow: needs 14,285,715 instances, more than the 1,000,000 sized")
    refused(lambda: capacity.size_fleet_for_quantile(SLOW_CPU, 1e7, 50_000),
            InfeasibleError, r"^slow: more than 1,000,000 instances \(the most sized here\)")
    refused(lambda: capacity.with_spares(FLEET, instance_types.MAX_INSTANCES),
            ParameterError, r"^spares must be a whole number in \[0, 999998\]")


def test_a_model_beyond_a_billion_servers_is_infeasible():
    assert capacity.slots_per_instance(HUGE_SLOTS) == 60_000_000
    refused(lambda: capacity.size_fleet(HUGE_SLOTS, 1e8, 60_000, utilization_target=0.5),
            InfeasibleError, r"^wide: 200 instances of 60,000,000 slots are more than the "
            r"1,000,000,000 servers the M/M/c model evaluates$")
    # 19 s per request: an idle p95 of 57 s meets a 60 s SLO, but 10^8 rps needs 101 instances
    # of 1.9 × 10^7 slots, and the model stops at 52.
    deep = InstanceType("deep", throughput_rps=1e6, hourly_usd=1.0, latency_ms=19_000.0)
    refused(lambda: capacity.size_fleet_for_quantile(deep, 1e8, 60_000),
            InfeasibleError, r"^deep: more than 52 instances")


def test_a_saturated_rule_of_thumb_fleet_is_infeasible_and_stays_in_the_table():
    # 100 rps on 50-rps CPUs at a 100% target: 2 instances, 100% busy, an unbounded queue.
    refused(lambda: capacity.size_fleet(CPU, 100, 1000, utilization_target=1.0),
            InfeasibleError, r"^cpu: 2 instances would be 100% busy")
    table = sizing_tables.sizing_table([CPU, GPU], 100, 1000, capacity.UtilizationRule(1.0))
    assert table.set_index("instance").loc["cpu", "feasible"] == False  # noqa: E712
    assert "100% busy" in table.set_index("instance").loc["cpu", "reason"]


def test_no_feasible_option_leaves_an_empty_curve_not_a_key_error():
    curves = sizing_tables.cost_curves([CPU, GPU], [10.0, 100.0], latency_slo_ms=1.0)
    assert curves.empty and list(curves.columns) == [
        "request_rate_rps", "instance", "count", "monthly_usd", "cheapest"]


def test_the_simulation_refuses_more_servers_than_it_can_hold():
    refused(lambda: fleet_check.simulated_response_quantile_ms(HUGE_SLOTS, 1, 1e5),
            ParameterError, r"^count must be at most 0 for wide \(60,000,000 slots each")


def test_the_largest_valid_question_is_answered_within_seconds():
    largest = {**QUESTION, "request_rate_rps": 1e6, "peak_to_average": 100.0,
               "latency_slo_ms": 60_000.0, "gpu_throughput_rps": 1e6,
               "gpu_latency_ms": 60_000.0, "cpu_throughput_rps": 1e-3, "cpu_latency_ms": 60_000.0}
    question = CapacityQuestion(**largest)
    start = time.perf_counter()
    for rate in (question.request_rate_rps, question.peak_rate_rps):
        for size in (capacity.size_fleet, capacity.size_fleet_for_quantile):
            table = sizing_tables.sizing_table(question.options, rate,
                                               question.latency_slo_ms, size)
            assert set(table["instance"]) == {"c", "g"}
            assert (table["feasible"] | (table["reason"] != "")).all()
    assert time.perf_counter() - start < 10


# --- Results stay finite -----------------------------------------------------------------------

@pytest.mark.parametrize("hours", [672.0, 744.0])
@pytest.mark.parametrize("discount", [0.0, 1 - 1e-16])
def test_bills_at_the_range_ends_are_finite_and_never_negative(hours, discount):
    extreme = replace(BASE_SERVICE, request_rate_rps=1e6, request_kb=1e6, response_kb=1e6,
                      instance_throughput_rps=1e-6, throughput_gain=0.01, hours_per_month=hours,
                      instance_hourly_usd=1000.0, model_storage_gb=1e7,
                      storage_usd_per_gb_month=10.0, peak_to_average=2.0, autoscale=True,
                      committed=True, commitment_discount=discount, egress_route="eu_relay")
    bill = cost.monthly_bill(extreme, CATALOG)
    assert math.isfinite(bill.total_usd) and bill.total_usd >= 0
    assert all(item.quantity >= 0 and math.isfinite(item.monthly_usd) for item in bill.items)
    plan = savings.plan_savings(extreme, CATALOG, levers.standard_levers(**LEVERS), 0.5)
    assert math.isfinite(plan.savings_fraction)


def test_a_sweep_of_the_largest_size_is_quick():
    start = time.perf_counter()
    sweep = what_if.bill_sensitivity(BASE_SERVICE, CATALOG, "request_rate_rps",
                                     np.linspace(1.0, 1e6, what_if.MAX_SWEEP_VALUES))
    assert len(sweep) == 4 * what_if.MAX_SWEEP_VALUES  # compute, egress, storage, total
    assert np.isfinite(sweep["monthly_usd"]).all()
    assert time.perf_counter() - start < 10
    refused(lambda: what_if.bill_sensitivity(BASE_SERVICE, CATALOG, "response_kb", [1.0, -1.0]),
            pattern=r"^response_kb must be a number in \[0, 1e\+06\]; got -1")


def test_levers_check_their_changes_by_the_field_rule():
    refused(lambda: levers.Lever("cache", "x", (("cache_hit_rate", 1.0),), 1, 1, 1),
            pattern=r"^cache_hit_rate must be a number in \[0, 1\); got 1\.0$")
    refused(lambda: levers.Lever("commitment", "x", (("committed", "yes"),), 1, 1, 3),
            pattern=r"^committed must be True or False; got 'yes'$")
    refused(lambda: cost.check_field("colour", 1), pattern=r"^field must be an InferenceService")


def test_plans_and_their_tables_refuse_other_objects():
    for call in (lambda: savings.plan_table(None), lambda: savings.waterfall_rows("plan")):
        refused(call, pattern=r"^plan must be a Plan")
    refused(lambda: sizing_tables.cheapest_above_rps(None, "gpu"),
            pattern=r"^curves must be a table")
    curves = sizing_tables.cost_curves([CPU, GPU], [10.0, 100.0], 100.0)
    refused(lambda: sizing_tables.cheapest_above_rps(curves, ["gpu"]),
            pattern=r"^instance_name must be an instance name")


def test_curves_a_hair_below_saturation_stay_finite():
    rho = 1 - 2**-53  # 25 × 50.76 × ρ rounds up to 25 × 50.76: the queue would be unstable
    curves = fleet_quantiles.quantile_curves(19.7, [25, 10**9], [rho, 0.5])
    assert np.isfinite(curves["p95_ms"]).all() and (curves["p95_ms"] > 0).all()
