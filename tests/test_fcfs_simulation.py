"""The first-come-first-served simulation, on cases worked by hand and against theory."""

import math

import numpy as np
import pytest

from perfcost.fcfs_simulation import fcfs_response_times
from perfcost.queueing import MD1, MMc
from perfcost.traffic import poisson_arrival_times
from perfcost.validation import ParameterError


def test_one_server_queue_builds_up_by_hand():
    # Arrivals every second, 2 s of work each: the k-th request waits k seconds.
    response = fcfs_response_times([0, 1, 2], [2, 2, 2], servers=1)
    np.testing.assert_allclose(response, [2, 3, 4])


def test_two_servers_take_the_first_free():
    # Three arrive together: two start at once, the third starts when the first finishes.
    response = fcfs_response_times([0, 0, 0], [1, 3, 1], servers=2)
    np.testing.assert_allclose(response, [1, 3, 2])


def test_idle_gap_resets_the_queue():
    response = fcfs_response_times([0, 10], [5, 1], servers=1)
    np.testing.assert_allclose(response, [5, 1])


@pytest.mark.parametrize(("servers", "utilization"), [(1, 0.8), (4, 0.85), (16, 0.9)])
def test_mmc_p95_matches_the_formula_within_3_percent(servers, utilization):
    service_rate = 10.0
    queue = MMc(utilization * servers * service_rate, service_rate, servers)
    requests = 400_000
    arrivals = poisson_arrival_times(queue.arrival_rate, requests, seed=servers)
    services = np.random.default_rng(99 + servers).exponential(1 / service_rate, requests)
    simulated = np.quantile(fcfs_response_times(arrivals, services, servers)[requests // 10:], 0.95)
    assert simulated == pytest.approx(queue.response_quantile(0.95), rel=0.03)
    mean = fcfs_response_times(arrivals, services, servers)[requests // 10:].mean()
    assert mean == pytest.approx(queue.mean_response, rel=0.03)


def test_md1_mean_wait_matches_pollaczek_khinchine():
    queue = MD1(arrival_rate=8.0, service_rate=10.0)
    requests = 400_000
    arrivals = poisson_arrival_times(8.0, requests, seed=3)
    response = fcfs_response_times(arrivals, np.full(requests, 0.1), servers=1)
    assert response[requests // 10:].mean() == pytest.approx(queue.mean_response, rel=0.03)


@pytest.mark.parametrize(
    ("arrivals", "services", "servers", "message"),
    [
        ([1, 0], [1, 1], 1, "sorted ascending"),
        ([0, 1], [1], 1, "same length"),
        ([], [], 1, "non-empty"),
        ([0, np.nan], [1, 1], 1, "finite"),
        ([-1, 0], [1, 1], 1, ">= 0"),
        ([0, 1], [1, 1], 0, r"servers must be a whole number in \[1, 1000000\]"),
        ([0, 1], [1, 1], 10**12, "servers must be"),  # a list of 10^12 free times before
        ([0, 1], [1, 1], 1.5, "servers must be"),
        ([0, 1], [1, 1], "2", "servers must be"),
        ([0, 1], [1, 1], math.nan, "servers must be"),
        ([0, 1], [1, 1], math.inf, "servers must be"),
        ([0, 1.7e12], [1, 1], 1, "arrival_times_s must be at most 1e\\+10 s.*milliseconds"),
        ([0, math.inf], [1, 1], 1, "arrival_times_s must be finite"),
        ("01", [1, 1], 1, "arrival_times_s must be a non-empty one-dimensional"),
        (None, [1, 1], 1, "arrival_times_s must be a non-empty one-dimensional"),
        ([0, 1], [1, math.inf], 1, "service_times_s must be finite, >= 0 and <= 1e\\+10"),
        ([0, 1], [1, -1], 1, "service_times_s must be finite, >= 0"),
        ([0, 1], [1, 1e300], 1, "service_times_s must be finite, >= 0 and <= 1e\\+10"),
        ([0, 1], [1, math.nan], 1, "service_times_s must be finite"),
        ([0, 1], ["a", "b"], 1, "service_times_s must be a non-empty one-dimensional"),
        ([0, 1], None, 1, "service_times_s must be a non-empty one-dimensional"),
        ([0, 1], [], 1, "service_times_s must be a non-empty one-dimensional"),
    ],
)
def test_bad_input_is_refused(arrivals, services, servers, message):
    with pytest.raises(ParameterError, match=message):
        fcfs_response_times(arrivals, services, servers)


def test_times_at_unix_epoch_seconds_are_fine():
    response = fcfs_response_times([1.7e9, 1.7e9 + 1], [2, 2], servers=1)
    np.testing.assert_allclose(response, [2, 3])


def test_poisson_arrivals_are_seeded_sorted_and_at_the_rate():
    first = poisson_arrival_times(50.0, 100_000, seed=7)
    assert np.array_equal(first, poisson_arrival_times(50.0, 100_000, seed=7))
    assert np.all(np.diff(first) > 0)
    assert 100_000 / first[-1] == pytest.approx(50.0, rel=0.01)
