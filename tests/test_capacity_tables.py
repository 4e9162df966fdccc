"""Chapter 1's tables, curves and checks, computed by the library instead of the notebook."""

import numpy as np
import pandas as pd
import pytest

from perfcost import capacity, fleet_check, fleet_quantiles, instance_types, sizing_tables
from perfcost.capacity import CapacityQuestion, InstanceType, QuantileRule, SLORule
from perfcost.fleet_latency import MMC, ROUTINGS, FleetLatency
from perfcost.validation import ParameterError

CPU = InstanceType("cpu", throughput_rps=50.0, hourly_usd=0.34, latency_ms=20.0)
GPU = InstanceType("gpu", throughput_rps=800.0, hourly_usd=0.526, latency_ms=10.0)
QUESTION = CapacityQuestion(
    request_rate_rps=2000, latency_slo_ms=100, utilization_target=0.7, peak_to_average=2,
    cpu_name="cpu", cpu_throughput_rps=50, cpu_hourly_usd=0.34, cpu_latency_ms=20,
    gpu_name="gpu", gpu_throughput_rps=800, gpu_hourly_usd=0.526, gpu_latency_ms=10,
    routing="random", service_cv=0.5)


# --- The question's sizers -----------------------------------------------------------------------

def test_the_questions_sizers_carry_its_target_and_model():
    model = FleetLatency("random", 0.5)
    assert QUESTION.rule_of_thumb == capacity.UtilizationRule(0.7, model)
    assert QUESTION.slo_rule == SLORule(0.7, model)
    assert capacity.cheapest(QUESTION.options, 2000, 100, QUESTION.slo_rule) == (
        capacity.cheapest_instance(QUESTION.options, 2000, 100, 0.7, model=model))


# --- Sizers side by side -------------------------------------------------------------------------

def test_compare_sizers_stacks_each_sizers_table_under_its_method():
    sizers = {"rule of thumb": capacity.UtilizationRule(0.7),
              "p95 sizing": QuantileRule(0.95, MMC)}
    table = sizing_tables.compare_sizers([CPU, GPU], 1000, 100, sizers)
    assert list(table.columns[:2]) == ["method", "instance"]
    assert list(table["method"]) == ["rule of thumb"] * 2 + ["p95 sizing"] * 2
    for method, size in sizers.items():
        alone = sizing_tables.sizing_table([CPU, GPU], 1000, 100, size)
        mine = table[table["method"] == method].drop(columns="method")
        pd.testing.assert_frame_equal(mine, alone)
    # 1000 rps at 70%: ceil(1000 / 35) = 29 CPUs ($9.86/h), ceil(1000 / 560) = 2 GPUs.
    by_rule = table[table["method"] == "rule of thumb"].set_index("instance")["count"]
    assert (by_rule["cpu"], by_rule["gpu"]) == (29, 2)


@pytest.mark.parametrize("sizers", [{}, [capacity.UtilizationRule()], None])
def test_compare_sizers_refuses_anything_but_named_sizers(sizers):
    with pytest.raises(ParameterError, match="sizers"):
        sizing_tables.compare_sizers([CPU], 10, 100, sizers)


def test_rates_past_peak_reach_twice_the_fastest_option_or_past_the_peak():
    rates = sizing_tables.rates_past_peak_rps([CPU, GPU], 1000)
    assert len(rates) == 200 and rates[-1] == 1600  # 2 x 800 > 1.1 x 1000
    assert rates[0] == pytest.approx(8) and np.all(np.diff(rates) > 0)
    assert sizing_tables.rates_past_peak_rps([CPU], 1000, points=4)[-1] == pytest.approx(1100)
    with pytest.raises(ParameterError, match="peak_rate_rps"):
        sizing_tables.rates_past_peak_rps([CPU], -1)
    with pytest.raises(ParameterError, match="points"):
        sizing_tables.rates_past_peak_rps([CPU], 10, points=1)


# --- How hot a fleet may run ---------------------------------------------------------------------

def test_a_slot_serves_in_its_share_of_the_instances_time():
    assert instance_types.slot_service_ms(GPU) == 10.0  # 8 slots at 100 rps each
    assert instance_types.slot_service_ms(CPU) == 20.0  # one slot at 50 rps
    assert instance_types.slot_service_ms(InstanceType("x", 10, 1, 5)) == 100.0


def test_quantile_curves_by_model_label_each_fleet_with_its_model():
    models = {"least outstanding": FleetLatency(), "random": FleetLatency("random", 0.3)}
    curves = fleet_quantiles.quantile_curves_by_model(20, [1, 4], [0.5, 0.9], models)
    assert len(curves) == 8
    assert list(curves["fleet"].unique()) == [
        "1 instance, least outstanding", "4 instances, least outstanding",
        "1 instance, random", "4 instances, random"]
    alone = fleet_quantiles.quantile_curves(20, [1, 4], [0.5, 0.9], model=models["random"])
    assert list(curves["p95_ms"].iloc[4:]) == list(alone["p95_ms"])
    with pytest.raises(ParameterError, match="models"):
        fleet_quantiles.quantile_curves_by_model(20, [1], [0.5], {})


def test_utilization_ceilings_are_each_fleets_highest_utilization():
    models = {"random": FleetLatency("random", 0.3), "mmc": MMC}
    ceilings = fleet_quantiles.utilization_ceilings(20, [1, 64], 100, models, slots=2)
    assert ceilings.index.name == "instances" and list(ceilings.index) == [1, 64]
    assert list(ceilings.columns) == ["random", "mmc"]
    for (servers, name), ceiling in ceilings.stack().items():
        assert ceiling == fleet_quantiles.max_utilization_for_quantile(
            20, servers, 100, model=models[name], slots=2)
    assert ceilings["mmc"][64] > ceilings["random"][64]  # pooling runs hotter
    with pytest.raises(ParameterError, match="model"):
        fleet_quantiles.utilization_ceilings(20, [1], 100, {"x": "random"})
    with pytest.raises(ParameterError, match="models"):
        fleet_quantiles.utilization_ceilings(20, [1], 100, [MMC])


# --- The model against simulation ----------------------------------------------------------------

def test_one_fleet_is_checked_under_mmc_then_every_routing():
    models = fleet_check.fleet_models(0.3)
    assert models[0] == MMC
    assert [(m.routing, m.service_cv) for m in models[1:]] == [(r, 0.3) for r in ROUTINGS]


def test_the_grid_takes_each_variability_once():
    assert len(fleet_check.grid_models(0.3)) == 3 * len(ROUTINGS)
    models = fleet_check.grid_models(1.0)  # the chapter's cv is the exponential one
    assert [m.service_cv for m in models[:2]] == [0.0, 1.0]
    assert [m.routing for m in models[::2]] == list(ROUTINGS)


def test_worst_errors_read_converged_rows_by_routing():
    grid = pd.DataFrame({"routing": ["random", "random", "random", "shared_queue"],
                         "relative_error": [-0.02, 0.10, -0.50, 0.01],
                         "converged": [True, True, False, True]})
    worst = fleet_check.worst_errors(grid)
    assert list(worst.index) == ["random", "shared_queue"]
    assert worst.loc["random"].tolist() == [-0.02, 0.10]  # the unconverged -0.5 is left out
    assert worst.loc["shared_queue"].tolist() == [0.01, 0.01]


def test_model_row_finds_the_models_routing_and_variability():
    table = pd.DataFrame({"routing": ["shared_queue", "random", "random"],
                          "service_cv": [1.0, 1.0, 0.3], "simulated_p95_ms": [1, 2, 3]})
    assert fleet_check.model_row(table, FleetLatency("random", 0.3))["simulated_p95_ms"] == 3
    assert fleet_check.model_row(table, MMC)["simulated_p95_ms"] == 1
    with pytest.raises(ParameterError, match="model"):
        fleet_check.model_row(table, FleetLatency("round_robin", 0.3))


def test_requests_for_a_fleet_are_those_it_needs_to_converge_at_most_the_cap():
    fleet = capacity.size_fleet(GPU, 1000, 100)  # 2 GPUs of 8 slots, 62.5% busy
    needed = fleet_check.requests_to_converge(2, 8, 1000 / 1600)
    assert fleet_check.requests_for(fleet) == needed
    assert fleet_check.requests_for(fleet, max_requests=60_000) == min(needed, 60_000)
    with pytest.raises(ParameterError, match="fleet"):
        fleet_check.requests_for(GPU)
    with pytest.raises(ParameterError, match="max_requests"):
        fleet_check.requests_for(fleet, max_requests=10)


def test_constant_service_and_two_choices_are_the_simulation_so_set():
    fleet = (GPU, 2, 1200.0)
    constant = fleet_check.constant_service_p95_ms(*fleet, routing="random",
                                                   requests=20_000)
    assert constant == fleet_check.simulated_response_quantile_ms(
        *fleet, service_cv=0.0, routing="random", requests=20_000)
    two = fleet_check.two_choices_p95_ms(*fleet, service_cv=0.3, requests=20_000)
    assert two == fleet_check.simulated_response_quantile_ms(
        *fleet, service_cv=0.3, routing="two_choices", requests=20_000)
    with pytest.raises(ParameterError, match="service_cv"):
        fleet_check.two_choices_p95_ms(*fleet, service_cv=-1, requests=20_000)


def test_the_rates_past_the_peak_stop_where_the_cost_curves_do():
    rates = sizing_tables.rates_past_peak_rps([CPU, GPU], instance_types.MAX_REQUEST_RATE_RPS)
    assert rates[-1] == instance_types.MAX_REQUEST_RATE_RPS
    curves = sizing_tables.cost_curves([GPU], rates[-2:], 100.0, capacity.UtilizationRule(0.7))
    assert len(curves) == 2


def test_the_grid_helpers_name_what_they_were_given():
    with pytest.raises(ParameterError, match=r"^fleet_sizes must be a whole number"):
        fleet_quantiles.utilization_ceilings(20.0, [0], 100.0, {"m": MMC})
    with pytest.raises(ParameterError, match=r"^service_cv must be"):
        fleet_check.grid_models("0.3")
    unsettled = pd.DataFrame({"routing": ["random"], "converged": [False],
                              "relative_error": [0.1]})
    with pytest.raises(ParameterError, match=r"^grid must be a grid with at least one converged"):
        fleet_check.worst_errors(unsettled)
    with pytest.raises(ParameterError, match=r"^grid must be a table from model_error_grid"):
        fleet_check.worst_errors({"routing": []})
