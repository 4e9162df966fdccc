"""Issue 8 for the batching simulator: bad input is refused in one line naming the argument, and
no valid input hangs: time and memory follow the requests and batches, not the clock."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perfcost.batching import (
    RESNET50_T4,
    LinearServiceTime,
    Measurement,
    StaticBatching,
    compare_policies,
    grid_search_static,
    most_efficient_static,
    recovery_time_s,
    simulate,
    slo_attainment,
    summarize,
    verdict,
    window_p95_ms,
)
from perfcost.batching.aimd import AIMDBatching
from perfcost.batching.naive_proportional import NaiveProportionalBatching
from perfcost.batching.slo_controller import SLOBatchingController
from perfcost.validation import ParameterError

ONE_MS_EACH = LinearServiceTime(base_ms=0.0, per_item_ms=1.0)
ONE_LINE = r"[^\n]*$"  # the rest of a one-line message
BAD_NUMBERS = [("text", "1"), ("none", None), ("bool", True), ("nan", math.nan),
               ("inf", math.inf), ("-inf", -math.inf), ("negative", -1.0), ("huge", 1e300)]


def static(arrivals, wait_ms=5, size=8, **arguments):
    return simulate(arrivals, service=ONE_MS_EACH, controller=StaticBatching(wait_ms, size),
                    **arguments)


# --- The cases -------------------------------------------------------------------------

def test_unix_epoch_arrivals_cost_what_the_same_trace_at_zero_costs():
    # Before: 1.7e9 control intervals, one timeline row each, until killed.
    epoch = static([1.7e9, 1.7e9 + 1])
    at_zero = static([0.0, 1.0])
    assert len(epoch.timeline) <= 5
    np.testing.assert_allclose(epoch.latency_ms, at_zero.latency_ms, atol=1e-3)  # float ulp


def test_a_week_long_batching_window_is_refused():
    with pytest.raises(ParameterError, match=r"^max_wait_ms must be a number in \[0, 60000\]; "
                                             r"got 1000000000000.0$"):
        StaticBatching(1e12, 128)


def test_a_service_time_near_the_float_limit_is_refused():
    with pytest.raises(ParameterError, match=r"^per_item_ms must be a number in \(0, 60000\]; "
                                             r"got 1e\+308$"):
        LinearServiceTime(base_ms=1.0, per_item_ms=1e308)


def test_a_vanishing_control_interval_is_refused():
    with pytest.raises(ParameterError, match=r"^control_interval_s must be a number in "
                                             r"\[0.001, 3600\]; got 1e-300$"):
        static([0.0, 1.0], control_interval_s=1e-300)


def test_recovery_time_refuses_a_nan_slo():
    result = static([0.0, 1.0])
    with pytest.raises(ParameterError, match=r"^slo_p95_ms must be a number in \(0, 3.6e\+06\]; "
                                             r"got nan$"):
        recovery_time_s(result, math.nan, after_s=0.5)


# --- Quiet stretches ---------------------------------------------------------------------------

class Recorder:
    """A static policy that keeps every measurement it is shown."""

    def __init__(self, wait_ms=0.0, size=1, alternate=False):
        self.wait_ms, self.size, self.alternate, self.seen = wait_ms, size, alternate, []

    def start(self):
        return self.wait_ms, self.size

    def update(self, measurement):
        self.seen.append(measurement)
        if self.alternate:  # reacts to every interval, quiet or not
            self.wait_ms = 1.0 - self.wait_ms
        return self.wait_ms, self.size


def recorded(arrivals, policy, **arguments):
    """Run ``policy`` itself (simulate copies it) by handing it back through a wrapper."""
    seen = []

    class Spy:
        def start(self):
            return policy.start()

        def update(self, measurement):
            seen.append(measurement)
            return policy.update(measurement)

    result = simulate(arrivals, service=ONE_MS_EACH, controller=Spy(), **arguments)
    return result, seen


def test_a_quiet_stretch_is_one_measurement_up_to_the_next_event():
    # Arrival at 0.5 s (served by 0.501), then nothing until 100.5 s.
    result, seen = recorded([0.5, 100.5], Recorder())
    assert [(m.t_s, m.interval_s) for m in seen] == [(1.0, 1.0), (2.0, 1.0), (100.0, 98.0)]
    assert seen[1].arrivals == seen[2].arrivals == 0 and seen[2].latencies_ms.size == 0
    assert result.timeline["t_s"].tolist() == [1.0, 2.0, 100.0]
    np.testing.assert_allclose(result.latency_ms, [1.0, 1.0])


def test_a_policy_that_reacts_to_quiet_is_asked_every_interval():
    _, seen = recorded([0.5, 20.5], Recorder(alternate=True))
    assert [m.t_s for m in seen] == [float(t) for t in range(1, 21)]
    assert {m.interval_s for m in seen} == {1.0}


def test_a_queued_request_waits_out_its_window_across_a_merged_stretch():
    # W = 30 s: the request arriving at 0.5 s is dispatched at 30.5 s; quiet in between.
    result, seen = recorded([0.5], Recorder(wait_ms=30_000.0, size=8))
    assert [(m.t_s, m.interval_s, m.queue_len) for m in seen] == [
        (1.0, 1.0, 1), (2.0, 1.0, 1), (30.0, 28.0, 1)]
    np.testing.assert_allclose(result.latency_ms, [30_001.0])


def test_a_long_batch_keeps_its_completion_as_the_next_event():
    # 60 s per item, 4 requests in one batch: 240 s of work, then the next arrival at 1000 s.
    slow = LinearServiceTime(base_ms=0.0, per_item_ms=60_000.0)
    result = simulate([0.0, 0.0, 0.0, 0.0, 1000.0], service=slow,
                      controller=StaticBatching(0, 4), control_interval_s=0.001)
    assert len(result.timeline) <= 8
    done = result.timeline[result.timeline["completed"] > 0]
    assert done["t_s"].iloc[0] == pytest.approx(240.0)
    np.testing.assert_allclose(result.latency_ms, [240_000.0] * 4 + [60_000.0])


def test_static_results_do_not_depend_on_the_length_of_an_idle_gap():
    burst = np.sort(np.random.default_rng(1).uniform(0, 2, 300))
    short = static(np.concatenate([burst, burst + 10]), control_interval_s=0.01)
    long = static(np.concatenate([burst, burst + 1e8]), control_interval_s=0.01)
    np.testing.assert_allclose(short.latency_ms, long.latency_ms, atol=1e-4)
    assert np.array_equal(short.batch_sizes, long.batch_sizes)
    assert len(long.timeline) <= len(short.timeline) + 2


@settings(max_examples=60, deadline=None)
@given(
    offset_s=st.floats(0, 1e10),
    gaps_s=st.lists(st.one_of(st.floats(0, 0.01), st.floats(0, 10), st.floats(0, 1e8)),
                    min_size=1, max_size=40),
    policy=st.sampled_from([
        StaticBatching(0, 1), StaticBatching(5, 8), StaticBatching(60_000, 4096),
        AIMDBatching(50.0), NaiveProportionalBatching(50.0, gain=2.0),
        SLOBatchingController(50.0), SLOBatchingController(50.0, min_samples=1)]),
    interval_s=st.sampled_from([1e-3, 0.01, 1.0, 3600.0]),
    instances=st.integers(1, 3),
)
def test_work_follows_requests_and_batches_not_the_clock(offset_s, gaps_s, policy, interval_s,
                                                         instances):
    arrivals = np.minimum(offset_s + np.cumsum(gaps_s), 1e10)
    result = simulate(arrivals, service=RESNET50_T4, controller=policy, instances=instances,
                      control_interval_s=interval_s)
    requests, batches = arrivals.size, result.batch_sizes.size
    # Events are arrivals, dispatches and completions; each is followed by at most one quiet
    # interval measured alone and one merged stretch.
    assert len(result.timeline) <= 3 * (requests + 2 * batches) + 3
    assert result.batch_sizes.sum() == requests
    assert np.all(result.latency_ms >= RESNET50_T4.base_ms)


# --- Bad input: simulate -----------------------------------------------------------------------

@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"arrival_times_s": [0.0, 1.7e12]},
         r"arrival_times_s must be at most 1e\+10 s \(about 317 years; are these milliseconds or "
         r"nanoseconds\?\)"),
        ({"arrival_times_s": [0.0, math.inf]}, "arrival_times_s must be finite and >= 0"),
        ({"arrival_times_s": [-math.inf]}, "arrival_times_s must be finite and >= 0"),
        ({"arrival_times_s": "0.5"}, "arrival_times_s must be a non-empty one-dimensional"),
        ({"arrival_times_s": None}, "arrival_times_s must be a non-empty one-dimensional"),
        ({"arrival_times_s": ["a"]}, "arrival_times_s must be a non-empty one-dimensional"),
        ({"service": "RESNET50_T4"}, "service must be a LinearServiceTime; got 'str'"),
        ({"controller": None}, r"controller must be a batching policy with start\(\) and "
                               r"update\(\); got 'NoneType'"),
        ({"controller": StaticBatching}, "controller must be a batching policy"),
        ({"instances": 0}, r"instances must be a whole number in \[1, 10000\]; got 0"),
        ({"instances": 10_001}, r"instances must be a whole number in \[1, 10000\]"),
        ({"instances": 1.5}, "instances must be"),
        ({"instances": math.nan}, "instances must be"),
        ({"instances": "2"}, "instances must be"),
        ({"seed": -1}, r"seed must be a whole number in \[0, 4294967295\]; got -1"),
        ({"seed": 2**32}, "seed must be"),
        ({"seed": 0.5}, "seed must be"),
        ({"seed": math.inf}, "seed must be"),
        ({"control_interval_s": 0}, r"control_interval_s must be a number in \[0.001, 3600\]"),
        ({"control_interval_s": -1.0}, "control_interval_s must be"),
        ({"control_interval_s": math.nan}, "control_interval_s must be"),
        ({"control_interval_s": math.inf}, "control_interval_s must be"),
        ({"control_interval_s": 1e5}, "control_interval_s must be"),
        ({"control_interval_s": "1"}, "control_interval_s must be"),
    ],
)
def test_simulate_refuses_bad_arguments_in_one_line(arguments, message):
    call = {"arrival_times_s": [0.0, 1.0], "service": RESNET50_T4,
            "controller": StaticBatching(1, 4), **arguments}
    with pytest.raises(ParameterError, match="^" + message + ONE_LINE):
        simulate(call.pop("arrival_times_s"), **call)


class Returns:
    """A policy that returns fixed values from start() and update()."""

    def __init__(self, first, then):
        self.first, self.then = first, then

    def start(self):
        return self.first

    def update(self, measurement):
        return self.then


@pytest.mark.parametrize(
    ("first", "then", "message"),
    [
        (None, (1.0, 4), r"controller.start\(\) must be a pair \(max_wait_ms, max_batch_size\); "
                         r"got None"),
        ((1.0, 4), 5, r"controller.update\(\) must be a pair"),
        ((1.0, 4), (1.0, 4, 5), r"controller.update\(\) must be a pair"),
        ((1e12, 4), (1.0, 4), r"max_wait_ms must be a number in \[0, 60000\]"),
        ((1.0, 4), (math.nan, 4), "max_wait_ms must be"),
        ((1.0, 4), (1.0, 5000), r"max_batch_size must be a whole number in \[1, 4096\]"),
        ((1.0, 4), (1.0, 0), "max_batch_size must be"),
    ],
)
def test_what_a_policy_returns_is_checked(first, then, message):
    with pytest.raises(ParameterError, match="^" + message + ONE_LINE):
        simulate([0.0, 0.5, 5.0], service=ONE_MS_EACH, controller=Returns(first, then))


# --- Bad input: the service line, static batching and measurements ------------------------------

@pytest.mark.parametrize("argument", ["base_ms", "per_item_ms", "jitter_cv"])
@pytest.mark.parametrize(("kind", "value"), BAD_NUMBERS)
def test_the_service_line_refuses_bad_numbers(argument, kind, value):
    with pytest.raises(ParameterError, match=rf"^{argument} must be {ONE_LINE}"):
        LinearServiceTime(**{"base_ms": 1.0, "per_item_ms": 1.0, argument: value})


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"base_ms": 60_001.0}, r"base_ms must be a number in \[0, 60000\]"),
        ({"per_item_ms": 0.0}, r"per_item_ms must be a number in \(0, 60000\]"),
        ({"jitter_cv": 11.0}, r"jitter_cv must be a number in \[0, 10\]"),
    ],
)
def test_the_service_line_has_limits(arguments, message):
    with pytest.raises(ParameterError, match="^" + message):
        LinearServiceTime(**{"base_ms": 1.0, "per_item_ms": 1.0, **arguments})


@pytest.mark.parametrize("argument", ["max_wait_ms", "max_batch_size"])
@pytest.mark.parametrize(("kind", "value"), [*BAD_NUMBERS, ("fraction", 0.5)])
def test_static_batching_refuses_bad_numbers(argument, kind, value):
    if argument == "max_wait_ms" and kind == "fraction":  # half a millisecond is a fine window
        assert StaticBatching(value, 4).max_wait_ms == 0.5
        return
    with pytest.raises(ParameterError, match=rf"^{argument} must be {ONE_LINE}"):
        StaticBatching(**{"max_wait_ms": 1.0, "max_batch_size": 4, argument: value})


def good_measurement(**changes):
    fields = {"t_s": 1.0, "interval_s": 1.0, "latencies_ms": np.array([5.0]), "arrivals": 1,
              "queue_len": 0, "batch_sizes": np.array([1]), "batch_service_ms": np.array([4.0]),
              "max_wait_ms": 1.0, "max_batch_size": 4, "instances": 1}
    return Measurement(**{**fields, **changes})


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"t_s": math.nan}, "t_s must be"), ({"t_s": -1.0}, "t_s must be"),
        ({"interval_s": 0.0}, "interval_s must be"),
        ({"interval_s": math.inf}, "interval_s must be"),
        ({"arrivals": -1}, "arrivals must be"), ({"arrivals": 1.5}, "arrivals must be"),
        ({"queue_len": "3"}, "queue_len must be"),
        ({"latencies_ms": [5.0]}, "latencies_ms must be a NumPy array; got 'list'"),
        ({"batch_sizes": None}, "batch_sizes must be a NumPy array"),
        ({"max_wait_ms": -1.0}, "max_wait_ms must be"),
        ({"max_batch_size": 0}, "max_batch_size must be"),
        ({"instances": 0}, "instances must be"),
    ],
)
def test_a_measurement_refuses_impossible_values(changes, message):
    assert good_measurement().arrival_rps == 1.0
    with pytest.raises(ParameterError, match="^" + message + ONE_LINE):
        good_measurement(**changes)


# --- Bad input: the evaluation helpers ----------------------------------------------------------

@pytest.fixture(scope="module")
def result():
    return static(np.linspace(0, 30, 301))


SLO_BAD = [math.nan, math.inf, -math.inf, -1.0, 0.0, 1e300, "50", None]
WINDOW_BAD = [math.nan, math.inf, -1.0, 0.0, 1e-300, 1e300, "10"]


@pytest.mark.parametrize("slo", SLO_BAD)
def test_every_helper_refuses_a_bad_slo(result, slo):
    for call in (lambda: slo_attainment(result, slo), lambda: summarize(result, slo),
                 lambda: recovery_time_s(result, slo, after_s=5.0)):
        with pytest.raises(ParameterError, match="^slo_p95_ms must be " + ONE_LINE):
            call()


@pytest.mark.parametrize("window_s", WINDOW_BAD)
def test_every_helper_refuses_a_bad_window(result, window_s):
    for call in (lambda: window_p95_ms(result, window_s),
                 lambda: slo_attainment(result, 50, window_s),
                 lambda: summarize(result, 50, window_s),
                 lambda: recovery_time_s(result, 50, after_s=5.0, window_s=window_s)):
        with pytest.raises(ParameterError, match=r"^window_s must be a number in \[0.001, "):
            call()


@pytest.mark.parametrize("after_s", [math.nan, math.inf, -1.0, 1e300, "5"])
def test_recovery_time_refuses_a_bad_spike_end(result, after_s):
    with pytest.raises(ParameterError, match="^after_s must be " + ONE_LINE):
        recovery_time_s(result, 50, after_s=after_s)


@pytest.mark.parametrize("bad", [None, "result", pd.DataFrame()])
def test_helpers_refuse_something_that_is_not_a_result(bad):
    with pytest.raises(ParameterError, match=r"^result must be a BatchingResult from simulate"):
        summarize(bad, 50)


def test_the_helpers_still_answer_on_good_input(result):
    assert slo_attainment(result, 50) == 1.0
    assert recovery_time_s(result, 50, after_s=0.0) == 0.0
    assert summarize(result, 50)["p95_ms"] == pytest.approx(6.0)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"waits_ms": []}, r"waits_ms must be a non-empty sequence; got \[\]"),
        ({"waits_ms": 5}, "waits_ms must be a non-empty sequence; got 5"),
        ({"waits_ms": "5"}, "waits_ms must be a non-empty sequence"),
        ({"waits_ms": [0, math.nan]}, r"waits_ms\[1\] must be a number in \[0, 60000\]; got nan"),
        ({"waits_ms": [1e12]}, r"waits_ms\[0\] must be"),
        ({"batch_sizes": []}, "batch_sizes must be a non-empty sequence"),
        ({"batch_sizes": [8, 1e6]}, r"batch_sizes\[1\] must be a whole number in \[1, 4096\]"),
        ({"batch_sizes": [8.5]}, r"batch_sizes\[0\] must be"),
        ({"waits_ms": list(range(200)), "batch_sizes": list(range(1, 101))},
         r"len\(waits_ms\) \* len\(batch_sizes\) must be at most 10000; got 20000"),
        ({"waits_ms": [0.0] * 10_001}, "waits_ms must be at most 10000 values"),
        ({"slo_p95_ms": math.nan}, "slo_p95_ms must be"),
        ({"arrival_times_s": [1.0, 0.0]}, "arrival_times_s must be sorted ascending"),
        ({"instances": 0}, "instances must be"),
    ],
)
def test_grid_search_refuses_bad_grids_before_simulating(arguments, message):
    call = {"arrival_times_s": [0.0, 1.0], "service": ONE_MS_EACH, "slo_p95_ms": 50,
            "waits_ms": [0, 5], "batch_sizes": [1, 8], **arguments}
    with pytest.raises(ParameterError, match="^" + message + ONE_LINE):
        grid_search_static(call.pop("arrival_times_s"), **call)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"policies": {}}, "policies must be a non-empty dict of name: policy"),
        ({"policies": [StaticBatching(1, 4)]}, "policies must be a non-empty dict"),
        ({"policies": {"bad": 5}}, "controller must be a batching policy"),
        ({"spike_end_s": math.nan}, "spike_end_s must be"),
        ({"spike_end_s": -1.0}, "spike_end_s must be"),
        ({"slo_p95_ms": 0.0}, "slo_p95_ms must be"),
        ({"seed": -1}, "seed must be"),
    ],
)
def test_compare_policies_refuses_bad_arguments(arguments, message):
    call = {"arrival_times_s": [0.0, 1.0], "policies": {"static": StaticBatching(1, 4)},
            "service": ONE_MS_EACH, "slo_p95_ms": 50, **arguments}
    with pytest.raises(ParameterError, match="^" + message + ONE_LINE):
        compare_policies(call.pop("arrival_times_s"), call.pop("policies"), **call)


GRID = pd.DataFrame({"max_wait_ms": [10.0], "max_batch_size": [32], "slo_attainment": [1.0],
                     "gpu_busy_s": [100.0]})
SCORECARD = pd.DataFrame({"trace": ["t", "t"], "policy": ["ours", "AIMD"],
                          "slo_attainment": [1.0, 0.5], "gpu_busy_s": [105.0, 210.0]})


@pytest.mark.parametrize("grid", [None, GRID.iloc[:0], GRID.drop(columns="gpu_busy_s")])
def test_most_efficient_static_refuses_an_empty_or_wrong_table(grid):
    with pytest.raises(ParameterError, match=r"^grid must be a non-empty table with columns"):
        most_efficient_static(grid)


@pytest.mark.parametrize(
    ("scorecard", "grids", "policy", "message"),
    [
        (SCORECARD, {"t": GRID}, "missing", r"policy must be a policy with a row for trace 't'"),
        (SCORECARD, {"other": GRID}, "ours", "policy must be a policy with a row for trace"),
        (SCORECARD, {}, "ours", "grids must be a non-empty dict"),
        (SCORECARD.iloc[:0], {"t": GRID}, "ours", "scorecard must be a non-empty table"),
        ("scores", {"t": GRID}, "ours", "scorecard must be a non-empty table"),
    ],
)
def test_verdict_refuses_missing_rows(scorecard, grids, policy, message):
    with pytest.raises(ParameterError, match="^" + message):
        verdict(scorecard, grids, policy=policy, baseline="AIMD")
