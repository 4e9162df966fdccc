"""The batching simulator: hand-worked dispatches, queueing theory, and the evaluation helpers."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perfcost.batching import (
    RESNET50_T4,
    LinearServiceTime,
    ShiftedServiceTime,
    StaticBatching,
    grid_search_static,
    most_efficient_static,
    recovery_time_s,
    simulate,
    slo_attainment,
    summarize,
    verdict,
    window_p95_ms,
)
from perfcost.batching.simulator import _p95
from perfcost.queueing import MD1
from perfcost.traffic import poisson_arrival_times, poisson_arrivals
from perfcost.validation import ParameterError

ONE_MS_EACH = LinearServiceTime(base_ms=0.0, per_item_ms=1.0)
FIVE_MS_EACH = LinearServiceTime(base_ms=0.0, per_item_ms=5.0)


def run(arrivals_ms, service, wait_ms, size, instances=1):
    arrivals_s = np.asarray(arrivals_ms, dtype=float) / 1000
    return simulate(arrivals_s, service=service, controller=StaticBatching(wait_ms, size),
                    instances=instances)


# --- The dispatch rule, worked by hand --------------------------------------------------------

def test_a_batch_that_fills_before_its_deadline_goes_at_once():
    # Three arrive by 2 ms with B = 3: dispatch at 2 ms, 3 ms of work, done at 5 ms.
    result = run([0, 1, 2], ONE_MS_EACH, wait_ms=10, size=3)
    assert result.batch_sizes.tolist() == [3]
    np.testing.assert_allclose(result.latency_ms, [5, 4, 3])


def test_a_deadline_dispatches_a_partial_batch():
    # Two of B = 3 arrive; the head's 10 ms deadline sends them at 10 ms, done at 12 ms.
    result = run([0, 1], ONE_MS_EACH, wait_ms=10, size=3)
    assert result.batch_sizes.tolist() == [2]
    np.testing.assert_allclose(result.latency_ms, [12, 11])


def test_a_busy_instance_dispatches_at_once_when_it_frees():
    # 5 ms per request, B = 2, no wait. Request 0 runs 0-5 ms. Requests 1 and 2 passed their
    # deadlines while the instance was busy: they go together at 5 ms and finish at 15 ms.
    # Request 3 goes alone at 15 ms and finishes at 20 ms.
    result = run([0, 1, 2, 3], FIVE_MS_EACH, wait_ms=0, size=2)
    assert result.batch_sizes.tolist() == [1, 2, 1]
    np.testing.assert_allclose(result.batch_start_s * 1000, [0, 5, 15])
    np.testing.assert_allclose(result.latency_ms, [5, 14, 13, 17])


def test_two_instances_take_turns():
    # Instance A takes request 0 at 0 ms (until 5 ms); instance B takes request 1 at its 1 ms
    # deadline (until 6 ms); requests 2 and 3 wait for A and go together at 5 ms.
    result = run([0, 1, 2, 3], FIVE_MS_EACH, wait_ms=0, size=2, instances=2)
    assert result.batch_sizes.tolist() == [1, 1, 2]
    np.testing.assert_allclose(result.latency_ms, [5, 5, 13, 12])
    assert result.gpu_busy_s == pytest.approx(0.020)


def test_latencies_come_back_in_input_order_and_never_negative():
    arrivals = poisson_arrivals(2000, 5, seed=3)
    result = simulate(arrivals, service=RESNET50_T4, controller=StaticBatching(3, 16),
                      instances=2)
    assert result.latency_ms.shape == arrivals.shape
    assert np.all(result.latency_ms >= RESNET50_T4.base_ms + RESNET50_T4.per_item_ms - 1e-9)
    assert result.batch_sizes.sum() == arrivals.size
    assert result.batch_sizes.max() <= 16


def test_jitter_is_seeded_and_has_mean_one():
    arrivals = poisson_arrivals(500, 20, seed=1)
    jittery = LinearServiceTime(2.9, 0.77, jitter_cv=0.3)
    first = simulate(arrivals, service=jittery, controller=StaticBatching(2, 8), seed=5)
    again = simulate(arrivals, service=jittery, controller=StaticBatching(2, 8), seed=5)
    other = simulate(arrivals, service=jittery, controller=StaticBatching(2, 8), seed=6)
    assert np.array_equal(first.latency_ms, again.latency_ms)
    assert not np.array_equal(first.latency_ms, other.latency_ms)
    mean_ratio = (first.batch_service_ms / jittery.batch_ms(first.batch_sizes)).mean()
    assert mean_ratio == pytest.approx(1.0, abs=0.03)


# --- Against theory ---------------------------------------------------------------------------

def test_batch_of_one_with_no_wait_is_md1_pollaczek_khinchine():
    # A million requests at ρ = 0.7: mean latency within 2% of the M/D/1 formula.
    arrivals = poisson_arrival_times(700.0, 1_000_000, seed=11)
    result = simulate(arrivals, service=ONE_MS_EACH, controller=StaticBatching(0, 1))
    assert result.latency_ms.mean() == pytest.approx(1000 * MD1(700.0, 1000.0).mean_response,
                                                     rel=0.02)
    assert set(result.batch_sizes.tolist()) == {1}


def test_the_default_line_follows_the_published_measurements():
    # NVIDIA: 3.0 ms at batch 1, 9.0 at 8, 28.4 at 32, 100.2 at 128. The line is within 5% from
    # batch 8 up; at batch 1 it over-states the time by 0.67 ms, the cautious side.
    for size, measured_ms in ((8, 9.0), (32, 28.4), (128, 100.2)):
        assert float(RESNET50_T4.batch_ms(size)) == pytest.approx(measured_ms, rel=0.05)
    assert float(RESNET50_T4.batch_ms(1)) == pytest.approx(3.0 + 0.67)


# --- The timeline and the scorecard -----------------------------------------------------------

def test_timeline_has_one_row_per_interval_with_the_measurements():
    arrivals = poisson_arrivals(300, 20, seed=2)
    result = simulate(arrivals, service=RESNET50_T4, controller=StaticBatching(5, 16),
                      control_interval_s=2.0)
    timeline = result.timeline
    for column in ("t_s", "max_wait_ms", "max_batch_size", "p95_ms", "arrival_rps", "queue_len"):
        assert column in timeline
    np.testing.assert_allclose(np.diff(timeline["t_s"]), 2.0)
    assert timeline["arrival_rps"].mean() == pytest.approx(300, rel=0.1)
    assert result.parameter_changes == 0
    assert (timeline["completed"].sum() <= arrivals.size)


def test_slo_attainment_recovery_and_summary():
    arrivals = np.concatenate([np.linspace(0, 9.99, 100), np.linspace(10, 19.99, 100)])
    latency = np.r_[np.full(100, 10.0), np.full(100, 90.0)]
    result = simulate(arrivals, service=ONE_MS_EACH, controller=StaticBatching(0, 1))
    result = type(result)(latency, result.batch_sizes, result.batch_start_s,
                          result.batch_service_ms, result.timeline, arrivals)
    assert window_p95_ms(result).tolist() == [10.0, 90.0]
    assert slo_attainment(result, 50) == 0.5
    assert recovery_time_s(result, 50, after_s=15) == pytest.approx(5.0)
    assert recovery_time_s(result, 100, after_s=15) == 0.0
    card = summarize(result, 50)
    assert card["p95_ms"] == pytest.approx(90.0) and card["slo_attainment"] == 0.5


def test_grid_search_ranks_attainment_then_cost():
    arrivals = poisson_arrivals(800, 30, seed=4)
    table = grid_search_static(arrivals, service=RESNET50_T4, slo_p95_ms=40,
                               waits_ms=[0, 10], batch_sizes=[1, 16], instances=1)
    assert len(table) == 4
    assert table["slo_attainment"].is_monotonic_decreasing
    best = table.iloc[0]
    assert best["slo_attainment"] == table["slo_attainment"].max()
    # Batch 1 cannot carry 800 rps on one instance (272 rps at most): it ranks last.
    assert table.iloc[-1]["max_batch_size"] == 1


# --- Bad input --------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("arrivals", "message"),
    [
        ([0.2, 0.1], "sorted ascending"),
        ([-1.0, 0.0], "finite and >= 0"),
        ([0.0, math.nan], "finite and >= 0"),
        ([], "non-empty"),
        ([[0.0, 1.0]], "one-dimensional"),
    ],
)
def test_bad_traces_are_refused(arrivals, message):
    with pytest.raises(ValueError, match=message):
        simulate(arrivals, service=RESNET50_T4, controller=StaticBatching(1, 4))


def test_bad_service_and_parameters_are_refused():
    with pytest.raises(ParameterError, match=r"per_item_ms must be a number in \(0, 60000\]"):
        LinearServiceTime(1.0, 0.0)
    with pytest.raises(ParameterError, match="base_ms must be"):
        LinearServiceTime(-1.0, 1.0)
    with pytest.raises(ParameterError,
                       match=r"max_batch_size must be a whole number in \[1, 4096\]"):
        StaticBatching(1.0, 0)
    with pytest.raises(ParameterError, match="max_wait_ms must be"):
        StaticBatching(-1.0, 4)
    with pytest.raises(ParameterError, match="instances must be"):
        simulate([0.0], service=RESNET50_T4, controller=StaticBatching(1, 4), instances=0)
    with pytest.raises(ParameterError, match="control_interval_s must be"):
        simulate([0.0], service=RESNET50_T4, controller=StaticBatching(1, 4),
                 control_interval_s=0)


def test_the_verdict_compares_against_the_cheapest_static_that_meets_the_slo():
    grid = pd.DataFrame({"max_wait_ms": [10.0, 20.0, 5.0], "max_batch_size": [32, 64, 8],
                         "slo_attainment": [1.0, 1.0, 0.9], "gpu_busy_s": [110.0, 100.0, 90.0]})
    assert most_efficient_static(grid)["max_batch_size"] == 64  # 90 s misses the SLO more
    scorecard = pd.DataFrame({"trace": ["t", "t"], "policy": ["ours", "AIMD"],
                              "slo_attainment": [1.0, 0.5], "gpu_busy_s": [105.0, 210.0]})
    row = verdict(scorecard, {"t": grid}, policy="ours", baseline="AIMD").iloc[0]
    assert row["vs best static"] == "meets as often" and row["vs AIMD"] == "meets as often"
    assert row["GPU time vs efficient static"] == pytest.approx(0.05)
    assert row["GPU time vs AIMD"] == pytest.approx(-0.5)
    assert row["efficient static (W ms, B)"] == "20, 64"


class _ShortenWaitAtFirstUpdate:
    """W = 1 s until the first control time, then 0: the head's new deadline is in the past."""

    def start(self):
        return 1000.0, 8

    def update(self, measurement):
        return 0.0, 8


def test_no_batch_starts_before_the_control_time_that_set_its_parameters():
    from perfcost.batching import simulate

    result = simulate([0.1], service=LinearServiceTime(1.0, 1.0),
                      controller=_ShortenWaitAtFirstUpdate(), control_interval_s=0.5)
    # under W = 1 s it would start at 1.1 s; W = 0 is decided at 0.5 s, so it starts then
    assert result.batch_start_s.tolist() == [0.5]
    assert result.latency_ms[0] == pytest.approx(400.0 + 2.0)


# --- A service curve that changes mid-trace ----------------------------------------------------

def test_a_shift_applies_to_batches_dispatched_from_its_time():
    # 1 ms per request before 5 ms, 5 ms after: request 0 goes at 0 ms (1 ms of work), request
    # 1 at 10 ms under the new line (5 ms).
    shifted = ShiftedServiceTime(ONE_MS_EACH, FIVE_MS_EACH, at_s=0.005)
    result = run([0, 10], shifted, wait_ms=0, size=1)
    np.testing.assert_allclose(result.latency_ms, [1, 5])
    assert shifted.at(0.004) == ONE_MS_EACH and shifted.at(0.005) == FIVE_MS_EACH
    assert shifted.before == ONE_MS_EACH and isinstance(shifted, LinearServiceTime)


@pytest.mark.parametrize("jitter_cv", [0.0, 0.3])
def test_a_shift_never_reached_or_from_the_start_is_the_plain_line(jitter_cv):
    arrivals = poisson_arrivals(500, 20, seed=2)
    before = LinearServiceTime(2.9, 0.77, jitter_cv)
    after = LinearServiceTime(4.0, 1.2, jitter_cv)

    def outcome(service):
        result = simulate(arrivals, service=service, controller=StaticBatching(3, 16), seed=4)
        return result.latency_ms, result.batch_service_ms

    for plain, shifted in ((before, ShiftedServiceTime(before, after, at_s=1e6)),
                           (after, ShiftedServiceTime(before, after, at_s=0.0))):
        for ours, theirs in zip(outcome(plain), outcome(shifted), strict=True):
            assert np.array_equal(ours, theirs)


def test_a_slower_model_rolled_out_mid_trace_raises_latency_from_then_on():
    arrivals = poisson_arrivals(300, 40, seed=3)
    shifted = ShiftedServiceTime(RESNET50_T4, LinearServiceTime(5.8, 1.54), at_s=20.0)
    result = simulate(arrivals, service=shifted, controller=StaticBatching(2, 16))
    early, late = result.latency_ms[arrivals < 19], result.latency_ms[arrivals > 21]
    assert late.mean() > 1.5 * early.mean()
    starts = result.batch_start_s
    np.testing.assert_allclose(
        result.batch_service_ms,
        np.where(starts >= 20.0, 5.8 + 1.54 * result.batch_sizes,
                 2.9 + 0.77 * result.batch_sizes))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"before": "fast"}, "before must be a LinearServiceTime; got 'str'"),
        ({"after": None}, "after must be a LinearServiceTime; got 'NoneType'"),
        ({"at_s": -1.0}, r"at_s must be a number in \[0, 1e\+10\]; got -1.0"),
        ({"at_s": math.nan}, "at_s must be a number"),
        ({"at_s": "10"}, "at_s must be a number"),
    ],
)
def test_a_bad_shift_is_refused_in_one_line(arguments, message):
    with pytest.raises(ParameterError, match="^" + message + r"[^\n]*$"):
        ShiftedServiceTime(**{"before": ONE_MS_EACH, "after": FIVE_MS_EACH, "at_s": 1.0,
                              **arguments})


# --- Low rates: many control intervals ---------------------------------------------------------

def test_md1_at_a_low_rate_matches_pollaczek_khinchine_over_2500_intervals():
    # 80 requests/s at 10 ms (ρ = 0.8): 200,000 requests span 2,500 one-second intervals.
    arrivals = poisson_arrival_times(80.0, 200_000, seed=2)
    result = simulate(arrivals, service=LinearServiceTime(0.0, 10.0),
                      controller=StaticBatching(0, 1))
    assert result.latency_ms.mean() == pytest.approx(1000 * MD1(80.0, 100.0).mean_response,
                                                     rel=0.02)
    assert len(result.timeline) == math.floor(arrivals[-1])  # one row per interval


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0, 1e4, allow_nan=False), min_size=1, max_size=200))
def test_the_timeline_p95_is_numpy_quantile_to_the_bit(latencies):
    values = np.array(latencies)
    assert _p95(values) == np.quantile(values, 0.95)
