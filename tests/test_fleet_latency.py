"""The fleet latency model: exact where theory is exact, and checked against simulation."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from perfcost import capacity, fleet_check, fleet_latency, fleet_quantiles
from perfcost.capacity import InstanceType, cheapest_instance, instances_for_utilization
from perfcost.fleet_check import (
    fleet_models_table,
    model_error_grid,
    requests_to_converge,
    simulated_p95_s,
)
from perfcost.fleet_latency import (
    DEFAULT_SERVICE_CV,
    ROUTINGS,
    FleetLatency,
    Wait,
    _waited_tail,
    response_quantile_s,
    service_cv_from_percentile,
    wait_model,
)
from perfcost.queueing import MMc
from perfcost.validation import ParameterError

C7I = InstanceType("c7i.2xlarge", 50.7, 0.357, 19.7)
T4 = InstanceType("g4dn.xlarge", 888.0, 0.526, 9.0)


@given(servers=st.integers(1, 500), rho=st.floats(0.01, 0.99),
       q=st.sampled_from([0.5, 0.9, 0.95, 0.99]))
def test_shared_queue_with_exponential_service_is_the_exact_mmc(servers, rho, q):
    mmc = MMc(rho * servers * 2.0, 2.0, servers)
    wait = wait_model("shared_queue", servers, 1, 2.0, mmc.arrival_rate, 1.0)
    assert wait.p_wait == pytest.approx(mmc.p_wait, rel=1e-12)
    assert response_quantile_s(q, wait, 0.5, 1.0) == pytest.approx(
        mmc.response_quantile(q), rel=1e-8)


@given(instances=st.integers(1, 64), slots=st.integers(1, 16), rho=st.floats(0.01, 0.99))
def test_random_routing_with_exponential_service_is_n_independent_mmk_queues(
        instances, slots, rho):
    rate = rho * instances * slots * 10.0
    per_instance = MMc(rate / instances, 10.0, slots)
    model = FleetLatency("random", 1.0)
    assert model.response_quantile_s(instances, slots, 10.0, rate) == pytest.approx(
        per_instance.response_quantile(0.95), rel=1e-8)


@pytest.mark.parametrize("cv", [0.1, 0.3, 1.0, 2.0])
@pytest.mark.parametrize("theta_per_beta", [0.2, 0.99, 1.0, 1.01, 30.0])
@pytest.mark.parametrize("t_per_mean", [0.3, 1.0, 4.0])
def test_the_closed_form_tail_matches_numerical_integration(cv, theta_per_beta, t_per_mean):
    mean, shape = 0.02, 1 / cv**2
    theta, t = theta_per_beta * shape / mean, t_per_mean * mean
    service = stats.gamma(shape, scale=mean / shape)
    reference = integrate.quad(lambda u: service.pdf(u) * math.exp(-theta * (t - u)), 0, t,
                               limit=200, epsabs=1e-14, epsrel=1e-11)[0]
    assert _waited_tail(t, theta, mean, cv) == pytest.approx(reference, rel=1e-7, abs=1e-13)


def test_constant_service_hand_computed_quantiles():
    # No wait: the quantile is the service time. Waits with p = 0.2, mean 10 ms: the p95 is
    # 5 ms + 10 ms × ln(0.2 / 0.05).
    assert response_quantile_s(0.95, Wait(0.0, 1.0), 0.005, 0.0) == 0.005
    assert response_quantile_s(0.95, Wait(0.2, 0.010), 0.005, 0.0) == pytest.approx(
        0.005 + 0.010 * math.log(4))


def test_per_instance_queues_are_slower_than_the_shared_queue_lower_bound():
    rate = 0.8 * 16 * 50.0
    shared = FleetLatency("shared_queue", 0.3).response_quantile_s(16, 1, 50.0, rate)
    for routing in ("random", "round_robin", "least_outstanding"):
        assert FleetLatency(routing, 0.3).response_quantile_s(16, 1, 50.0, rate) > shared
    # Random routing is the slowest: an instance can queue while its neighbour idles.
    random = FleetLatency("random", 0.3).response_quantile_s(16, 1, 50.0, rate)
    assert random > FleetLatency("least_outstanding", 0.3).response_quantile_s(16, 1, 50.0, rate)


def test_bad_routing_and_cv_are_refused_by_name():
    with pytest.raises(ParameterError, match=r"^routing must be one of shared_queue"):
        FleetLatency("fastest")
    with pytest.raises(ParameterError, match=r"^service_cv must be"):
        FleetLatency("random", -0.1)


@pytest.mark.parametrize("routing", ROUTINGS)
@pytest.mark.parametrize(("instances", "slots"), [(4, 1), (16, 1), (4, 8)])
@pytest.mark.parametrize("cv", [0.0, 0.3, 1.0])
def test_the_model_against_simulation(routing, instances, slots, cv):
    """Within 10% below and 40% above the simulated p95 at 70% busy: an approximation that
    errs on the safe side (the chapter and `make bench` report the whole grid)."""
    model = FleetLatency(routing, cv)
    predicted = model.response_quantile_s(instances, slots, 50.0, 0.7 * instances * slots * 50)
    simulated = simulated_p95_s(model, instances, slots, 50.0, 0.7, seed=1)
    assert -0.10 <= predicted / simulated - 1 <= 0.40


def test_round_robin_with_one_instance_is_random_routing_is_poisson():
    times = [simulated_p95_s(FleetLatency(r, 0.5), 1, 2, 50.0, 0.7)
             for r in ("random", "round_robin", "least_outstanding")]
    assert times[0] == times[1] == times[2]


@pytest.mark.parametrize("cv", [0.05, 0.21, 1.0, 3.0])
def test_the_service_cv_fitted_to_a_percentile_reproduces_it(cv):
    p99_ms = stats.gamma(1 / cv**2, scale=10.0 * cv**2).ppf(0.99)
    assert service_cv_from_percentile(10.0, p99_ms, 0.99) == pytest.approx(cv, rel=1e-6)


def test_the_default_service_cv_is_fitted_to_the_cited_measurement():
    # NVIDIA's ResNet-50 on T4, PyTorch, batch 1: mean 12.96 ms, p99 20.0 ms.
    assert DEFAULT_SERVICE_CV == round(service_cv_from_percentile(12.96, 20.0), 2) == 0.21


def test_the_models_table_puts_each_model_beside_its_simulation():
    models = [fleet_latency.MMC, FleetLatency("random", 0.0)]
    table = fleet_models_table(T4, 3, 2000.0, models, max_requests=50_000)
    assert list(table["routing"]) == ["shared_queue", "random"]
    assert table["relative_error"].tolist() == pytest.approx(
        (table["model_p95_ms"] / table["simulated_p95_ms"] - 1).tolist())
    assert table.loc[0, "model_p95_ms"] == pytest.approx(
        fleet_quantiles.fleet_response_quantile_ms(T4, 3, 2000.0, model=fleet_latency.MMC))
    assert list(table["converged"]) == [False, False]  # 100,284 requests needed, 50,000 run


def test_a_hot_big_fleet_needs_more_requests_to_converge():
    assert requests_to_converge(1, 1, 0.7) == 50_000  # the floor
    assert requests_to_converge(41, 1, 0.96) > 9_000_000  # 100 n k ρ / (1 - √ρ)²


def test_two_choices_sits_between_seeing_every_instance_and_random():
    p95 = {routing: fleet_check.simulated_response_quantile_ms(
        InstanceType("x", 50.0, 1.0, 20.0), 16, 0.9 * 16 * 50, service_cv=0.3,
        routing=routing, requests=100_000) for routing in
        ("least_outstanding", "two_choices", "random")}
    assert p95["least_outstanding"] < p95["two_choices"] < p95["random"]


def test_the_error_grid_refuses_more_work_than_it_promises():
    models = [FleetLatency(r, cv) for r in ROUTINGS for cv in np.linspace(0, 1, 20)]
    with pytest.raises(ParameterError, match="len"):
        model_error_grid(models, [1, 2, 4])


# --- The interview function never returns a fleet that breaks its SLO -----------------------

def test_the_issue_example_now_meets_its_slo():
    # Before: 1 x c7i at 59% busy with a modelled p95 of 144.7 ms against a 100 ms SLO.
    fleet = cheapest_instance([C7I, T4], 30, 100)
    assert fleet.p95_ms <= 100
    assert fleet.count >= instances_for_utilization(30, fleet.instance.throughput_rps, 0.7)


def test_an_exact_fit_stays_exact_when_it_meets_the_slo():
    big = InstanceType("big", 100.0, 1.0, 10.0)  # one slot: 100 rps x 10 ms
    fleet = cheapest_instance([big], 700, 1000)
    assert fleet.count == 10


instances = st.builds(
    InstanceType, name=st.sampled_from(["a", "b"]), throughput_rps=st.floats(1.0, 2000.0),
    hourly_usd=st.floats(0.05, 5.0), latency_ms=st.floats(1.0, 50.0))


@settings(max_examples=60, deadline=None)
@given(options=st.lists(instances, min_size=1, max_size=3), rate=st.floats(1.0, 5000.0),
       slo=st.floats(5.0, 500.0), target=st.floats(0.3, 1.0),
       routing=st.sampled_from(ROUTINGS), cv=st.sampled_from([0.0, 0.3, 1.0]))
def test_cheapest_instance_meets_the_slo_it_was_given(options, rate, slo, target, routing,
                                                      cv):
    model = FleetLatency(routing, cv)
    try:
        fleet = cheapest_instance(options, rate, slo, target, model=model)
    except capacity.InfeasibleError:
        return
    assert fleet.p95_ms <= slo
    assert fleet.instance.latency_ms <= slo
    assert fleet.count >= instances_for_utilization(rate, fleet.instance.throughput_rps, target)
    assert fleet.p95_ms == fleet_quantiles.fleet_response_quantile_ms(
        fleet.instance, fleet.count, rate, model=model)


@settings(max_examples=40, deadline=None)
@given(option=instances, low=st.floats(1.0, 3000.0), factor=st.floats(1.0, 3.0),
       routing=st.sampled_from(ROUTINGS))
def test_a_count_never_falls_when_the_rate_rises(option, low, factor, routing):
    rule = capacity.SLORule(0.7, FleetLatency(routing, 0.3))
    try:
        counts = [rule(option, rate, 200.0).count for rate in (low, low * factor)]
    except capacity.InfeasibleError:
        return
    assert counts[0] <= counts[1]
