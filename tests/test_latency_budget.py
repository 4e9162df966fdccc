"""The latency budget: stage quantiles, the fleet sampler, and why percentiles do not add."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from refusals import assert_refused_by_name
from scipy import stats

from perfcost.fleet_latency import FleetLatency
from perfcost.latency_budget import (
    MAX_SAMPLES,
    Stage,
    budget_table,
    end_to_end_quantile_ms,
    end_to_end_samples_ms,
    fleet_response_samples_ms,
    independent_sum_ms,
    sum_of_quantiles_ms,
)

Z_BOUND = 4.0  # standard errors of a sample quantile's rank: a false alarm once in ~16,000 runs
STAGES = [Stage("load balancer", 1.0, 3.0, 0.99, "test"),
          Stage("network", 0.5, 2.0, 0.99, "test"),
          Stage("cache", 2.0, 8.0, 0.99, "test"),
          Stage("serialization", 0.3, 0.3, 0.99, "test")]


def quantile_bounds(samples: np.ndarray, quantile: float) -> tuple[float, float]:
    """A distribution-free interval around the ``quantile`` of the distribution the samples
    come from: the order statistics Z_BOUND binomial standard errors either side of rank n q."""
    ordered = np.sort(samples)
    n = ordered.size
    half = Z_BOUND * math.sqrt(n * quantile * (1 - quantile))
    low = max(math.floor(n * quantile - half), 0)
    high = min(math.ceil(n * quantile + half), n - 1)
    return float(ordered[low]), float(ordered[high])


def stage_strategy(min_p50_ms: float = 1.0, min_ratio: float = 1.0):
    """Stages with a median in [min_p50_ms, 20] ms and a p99 from min_ratio to 6 times it."""
    return st.builds(lambda p50, ratio: Stage("s", p50, p50 * ratio, 0.99, "hypothesis"),
                     st.floats(min_p50_ms, 20.0), st.floats(min_ratio, 6.0))


# --- Stages -----------------------------------------------------------------------------------

@given(p50=st.floats(0.01, 1000.0), ratio=st.floats(1.0, 1000.0),
       level=st.floats(0.75, 0.9999))
@settings(max_examples=50, deadline=None, derandomize=True)
def test_the_lognormal_reproduces_its_two_quantiles(p50, ratio, level):
    stage = Stage("s", p50, min(p50 * ratio, 60_000.0), level, "test")
    assert stage.quantile_ms(0.5) == pytest.approx(stage.p50_ms, rel=1e-12)
    assert stage.quantile_ms(level) == pytest.approx(stage.tail_ms, rel=1e-9)


def test_the_samples_follow_the_stage_quantiles():
    stage = Stage("s", 2.0, 9.0, 0.99, "test")
    samples = stage.samples_ms(np.random.default_rng(0), 200_000)
    for quantile in (0.5, 0.95, 0.99):
        low, high = quantile_bounds(samples, quantile)
        assert low <= stage.quantile_ms(quantile) <= high


def test_constants_add_exactly():
    constants = [Stage("a", 2.0, 2.0, 0.99, "t"), Stage("b", 5.0, 5.0, 0.9, "t"),
                 Stage("c", 40.5, 40.5, 0.999, "t")]
    draws = end_to_end_samples_ms(constants, samples=1000)
    assert np.all(draws == 47.5)
    assert end_to_end_quantile_ms(constants, quantile=0.95) == 47.5
    assert sum_of_quantiles_ms(constants, 0.95) == 47.5
    assert sum_of_quantiles_ms(constants, 0.95, server_quantile_ms=2.5) == 50.0


# --- Percentiles do not add -------------------------------------------------------------------

@given(stages=st.lists(stage_strategy(), min_size=1, max_size=5))
@settings(max_examples=10, deadline=None, derandomize=True)
def test_the_end_to_end_p95_is_at_most_the_sum_of_the_p95s(stages):
    draws = end_to_end_samples_ms(stages, samples=50_000, seed=1)
    low, _ = quantile_bounds(draws, 0.95)
    assert low <= sum_of_quantiles_ms(stages, 0.95)


# A stage 20 times smaller than another hides its share in the sampling error: medians >= 5 ms
# keep the gap many standard errors wide (1,000 random sets checked with no miss).
@given(stages=st.lists(stage_strategy(min_p50_ms=5.0, min_ratio=2.0), min_size=2, max_size=5))
@settings(max_examples=10, deadline=None, derandomize=True)
def test_two_or_more_spread_stages_come_in_strictly_under_the_sum(stages):
    draws = end_to_end_samples_ms(stages, samples=50_000, seed=2)
    _, high = quantile_bounds(draws, 0.95)
    assert high < sum_of_quantiles_ms(stages, 0.95)


def test_very_skewed_stages_break_the_sum_as_a_bound():
    """Quantiles are not subadditive: two iid lognormals with σ ≈ 3 exceed the sum of p95s."""
    skewed = Stage("skewed", 1.0, 1000.0, 0.99, "test")  # σ = ln 1000 / z_0.99 ≈ 2.97
    draws = end_to_end_samples_ms([skewed, skewed], samples=200_000)
    low, _ = quantile_bounds(draws, 0.95)
    assert low > sum_of_quantiles_ms([skewed, skewed], 0.95)


def test_two_iid_exponentials_sum_to_a_gamma_2():
    rng = np.random.default_rng(3)
    mean_ms = 10.0
    first, second = rng.exponential(mean_ms, 200_000), rng.exponential(mean_ms, 200_000)
    draws = independent_sum_ms([first, second], samples=200_000, seed=4)
    low, high = quantile_bounds(draws, 0.95)
    assert low <= stats.gamma.ppf(0.95, 2, scale=mean_ms) <= high  # 47.44 ms


# --- The fleet sampler ------------------------------------------------------------------------

def test_one_exponential_server_responds_in_an_exponential_time():
    """M/M/1: the response time is exponential with rate μ − λ (Kleinrock 1975, §3.2)."""
    draws = fleet_response_samples_ms(FleetLatency("random", 1.0), 1, 1, 100.0, 60.0, 200_000,
                                      np.random.default_rng(5))
    for quantile in (0.5, 0.95, 0.99):
        low, high = quantile_bounds(draws, quantile)
        assert low <= -math.log(1 - quantile) / 40.0 * 1000.0 <= high


@pytest.mark.parametrize("model", [FleetLatency("random", 1.0),  # exact: n M/M/k queues
                                   FleetLatency("least_outstanding", 0.3),
                                   FleetLatency("shared_queue", 0.0)],
                         ids=lambda m: m.label)
@pytest.mark.parametrize("utilization", [0.5, 0.9])
def test_the_fleet_sampler_matches_the_closed_form(model, utilization):
    instances, slots, slot_rate = 4, 2, 10.0
    rate = utilization * instances * slots * slot_rate
    draws = fleet_response_samples_ms(model, instances, slots, slot_rate, rate, 200_000,
                                      np.random.default_rng(6))
    low, high = quantile_bounds(draws, 0.95)
    assert low <= model.response_quantile_s(instances, slots, slot_rate, rate) * 1000 <= high


# --- The budget -------------------------------------------------------------------------------

def test_the_budget_table_sets_the_sum_beside_the_simulation():
    server = fleet_response_samples_ms(FleetLatency(), 10, 8, 50.0, 3000.0, 100_000,
                                       np.random.default_rng(7))
    table = budget_table(STAGES, server, 0.95, samples=100_000, seed=8)
    assert list(table["stage"]) == [*(s.name for s in STAGES), "model server",
                                    "sum of the stage p95s", "end-to-end p95 (simulated)"]
    total = sum_of_quantiles_ms(STAGES, 0.95, float(np.quantile(server, 0.95)))
    assert table["quantile_ms"].iloc[-2] == pytest.approx(total, rel=1e-12)
    simulated = end_to_end_quantile_ms(STAGES, server, samples=100_000, seed=8)
    assert table["quantile_ms"].iloc[-1] == simulated < total


def test_draws_are_fixed_by_the_seed():
    first = end_to_end_samples_ms(STAGES, np.arange(10.0), samples=1000, seed=9)
    assert np.array_equal(first, end_to_end_samples_ms(STAGES, np.arange(10.0), samples=1000,
                                                       seed=9))
    assert not np.array_equal(first, end_to_end_samples_ms(STAGES, np.arange(10.0),
                                                           samples=1000, seed=10))


# --- Bad input --------------------------------------------------------------------------------

RNG = np.random.default_rng(0)
BAD_CALLS = [
    ("tail_ms", lambda: Stage("s", 5.0, 4.0, 0.99, "t")),
    ("tail_ms", lambda: Stage("s", 1.0, 2000.0, 0.99, "t")),
    ("p50_ms", lambda: Stage("s", 0.0, 1.0, 0.99, "t")),
    ("p50_ms", lambda: Stage("s", math.nan, 1.0, 0.99, "t")),
    ("tail_quantile", lambda: Stage("s", 1.0, 2.0, 1.0, "t")),
    ("tail_quantile", lambda: Stage("s", 1.0, 2.0, 0.5, "t")),
    ("name", lambda: Stage("", 1.0, 2.0, 0.99, "t")),
    ("source", lambda: Stage("s", 1.0, 2.0, 0.99, None)),
    ("quantile", lambda: STAGES[0].quantile_ms(1.0)),
    ("n", lambda: STAGES[0].samples_ms(RNG, 0)),
    ("rng", lambda: STAGES[0].samples_ms(0, 10)),
    ("quantile", lambda: end_to_end_quantile_ms(STAGES, quantile=0.0)),
    ("quantile", lambda: end_to_end_quantile_ms(STAGES, quantile=1.0)),
    ("quantile", lambda: sum_of_quantiles_ms(STAGES, 1.5)),
    ("quantile", lambda: budget_table(STAGES, None, math.inf)),
    ("samples", lambda: end_to_end_samples_ms(STAGES, samples=MAX_SAMPLES + 1)),
    ("samples", lambda: budget_table(STAGES, samples=0)),
    ("seed", lambda: end_to_end_samples_ms(STAGES, seed=-1)),
    ("stages", lambda: end_to_end_samples_ms([])),
    ("stages", lambda: end_to_end_samples_ms(["load balancer"])),
    ("server_samples_ms", lambda: end_to_end_samples_ms(STAGES, [1.0, math.nan])),
    ("server_samples_ms", lambda: end_to_end_samples_ms(STAGES, [-1.0])),
    ("server_samples_ms", lambda: end_to_end_samples_ms(STAGES, "fast")),
    ("server_samples_ms", lambda: budget_table(STAGES, [[1.0]])),
    ("server_quantile_ms", lambda: sum_of_quantiles_ms(STAGES, 0.95, -1.0)),
    ("sample_sets", lambda: independent_sum_ms([])),
    ("samples", lambda: independent_sum_ms([[1.0]], samples=1.5)),
    ("model", lambda: fleet_response_samples_ms("random", 1, 1, 10.0, 5.0, 10, RNG)),
    ("n", lambda: fleet_response_samples_ms(FleetLatency(), 1, 1, 10.0, 5.0, 10**8, RNG)),
    ("rng", lambda: fleet_response_samples_ms(FleetLatency(), 1, 1, 10.0, 5.0, 10, 42)),
    ("arrival_rate", lambda: fleet_response_samples_ms(FleetLatency(), 1, 1, 10.0, 10.0, 10,
                                                       RNG)),
    ("instances", lambda: fleet_response_samples_ms(FleetLatency(), 0, 1, 10.0, 5.0, 10, RNG)),
]


@pytest.mark.parametrize(("name", "call"), BAD_CALLS, ids=[f"{n}-{i}" for i, (n, _) in
                                                         enumerate(BAD_CALLS)])
def test_bad_input_is_refused_by_name(name, call):
    assert_refused_by_name(name, call)
