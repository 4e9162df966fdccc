"""Replaying a real trace at another scale, and the synthetic traces that defeat one fixed
batching setting (a tenfold swing, a cold start)."""

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perfcost.replay import replay_rates, replay_trace
from perfcost.trace_files import load_trace
from perfcost.traffic import cold_start_arrivals, swing_arrivals
from perfcost.validation import ParameterError

# The project's shared folder sits beside the checkout: ../shared/data/traces (not committed).
REAL_TRACE = (Path(__file__).resolve().parents[2] / "shared" / "data" / "traces"
              / "mooncake_conversation.csv")
needs_real_trace = pytest.mark.skipif(
    not REAL_TRACE.exists(),
    reason=f"the shared Mooncake trace is not here ({REAL_TRACE}): replay checks on it skipped")


def dispersion(counts: np.ndarray) -> float:
    """Index of dispersion: variance over mean (1 for Poisson counts)."""
    return float(counts.var() / counts.mean())


# --- Rates, worked by hand --------------------------------------------------------------------

def test_the_busiest_second_becomes_the_peak():
    # Seconds 0..3 hold 3, 1, 0 and 1 arrivals: scaled so 3 becomes 30 requests/s.
    rates = replay_rates([0.1, 0.2, 0.5, 1.5, 3.2], peak_rps=30)
    np.testing.assert_allclose(rates, [30, 10, 0, 10])


def test_bins_start_at_the_first_arrival_and_can_be_wider():
    # From 0.1 s in 2 s bins: [0.1, 2.1) holds four, [2.1, 4.1) one.
    np.testing.assert_allclose(replay_rates([0.1, 0.2, 0.5, 1.5, 3.2], 8, bin_s=2), [8, 2])
    epoch = 1.7e9 + np.array([0.0, 0.5, 2.25])  # Unix-epoch seconds: bins from the first
    np.testing.assert_allclose(replay_rates(epoch, 100), [100, 0, 50])


def test_a_replay_keeps_the_shape_and_starts_at_zero():
    # Rates 1000, 0 and 500 requests/s: nothing lands in the empty second.
    arrivals = replay_trace(1.7e9 + np.array([0.0, 0.5, 2.5]), 1000, seed=1)
    counts = np.bincount(arrivals.astype(int), minlength=3)
    assert counts.size == 3 and counts[1] == 0
    assert counts[0] == pytest.approx(1000, abs=5 * math.sqrt(1000))
    assert counts[2] == pytest.approx(500, abs=5 * math.sqrt(500))
    assert arrivals.min() >= 0 and np.all(np.diff(arrivals) >= 0)


def test_a_replay_is_seeded():
    trace = np.sort(np.random.default_rng(0).uniform(0, 100, 500))
    first, again = replay_trace(trace, 200, seed=3), replay_trace(trace, 200, seed=3)
    assert np.array_equal(first, again)
    assert not np.array_equal(first, replay_trace(trace, 200, seed=4))


# --- Properties -------------------------------------------------------------------------------

traces = st.lists(st.floats(0, 100, allow_nan=False), min_size=1, max_size=300).map(
    lambda times: np.sort(np.array(times)))


@settings(max_examples=60, deadline=None)
@given(trace=traces, peak_rps=st.floats(1e-3, 1e6), bin_s=st.floats(1e-3, 10))
def test_rates_are_the_counts_scaled_to_the_peak(trace, peak_rps, bin_s):
    rates = replay_rates(trace, peak_rps, bin_s=bin_s)
    bin_of = np.floor((trace - trace[0]) / bin_s).astype(int)  # bin i: [i, i + 1) x bin_s
    counts = np.bincount(np.minimum(bin_of, rates.size - 1))
    assert rates.size == math.floor((trace[-1] - trace[0]) / bin_s) + 1
    assert rates.max() == pytest.approx(peak_rps, rel=1e-12)
    np.testing.assert_allclose(rates, counts * peak_rps / counts.max(), rtol=1e-12)


def test_a_bin_width_that_is_not_exact_in_binary_counts_every_arrival_once():
    # 1.0 // 0.001 is 999 in floating point while 1.0 / 0.001 floors to 1000.
    rates = replay_rates(np.array([0.0, 1.0]), 10.0, bin_s=0.001)
    assert rates.size == 1001 and rates[0] == rates[-1] == 10.0 and rates[1:-1].sum() == 0


@settings(max_examples=30, deadline=None)
@given(trace=traces, peak_rps=st.floats(100, 5000), bin_s=st.sampled_from([0.5, 1.0, 2.0]),
       seed=st.integers(0, 2**32 - 1))
def test_a_replay_is_poisson_at_those_rates_and_seeded(trace, peak_rps, bin_s, seed):
    arrivals = replay_trace(trace, peak_rps, seed=seed, bin_s=bin_s)
    assert np.array_equal(arrivals, replay_trace(trace, peak_rps, seed=seed, bin_s=bin_s))
    rates = replay_rates(trace, peak_rps, bin_s=bin_s)
    assert np.all(np.diff(arrivals) >= 0) and arrivals.min() >= 0
    assert arrivals.max() <= rates.size * bin_s
    expected = rates.sum() * bin_s  # Poisson: the total is within 6 standard deviations
    assert abs(arrivals.size - expected) <= 6 * math.sqrt(expected)
    counts = np.bincount(np.minimum((arrivals // bin_s).astype(int), rates.size - 1),
                         minlength=rates.size)
    assert np.all(counts[rates == 0] == 0)  # an empty bin stays empty


# --- The real trace ---------------------------------------------------------------------------

@needs_real_trace
def test_the_real_trace_is_bursty():
    counts = np.bincount(load_trace(REAL_TRACE).astype(int))
    assert dispersion(counts) == pytest.approx(7.9, abs=0.05)  # the figure in issue 10


@needs_real_trace
def test_the_real_trace_replayed_at_1000_rps_keeps_its_bursts():
    # Replay counts are Poisson(c k) for the trace's counts k, c = peak / max(k), so the
    # variance is c² var(k) + c mean(k) and the index of dispersion c D + 1: about 283.
    trace = load_trace(REAL_TRACE)
    original = np.bincount(trace.astype(int))
    scale = 1000 / original.max()
    replayed = np.bincount(replay_trace(trace, 1000, seed=1).astype(int),
                           minlength=original.size)
    assert replayed.size == original.size
    assert dispersion(replayed) > 1
    assert dispersion(replayed) == pytest.approx(scale * dispersion(original) + 1, rel=0.05)
    assert replayed.max() == pytest.approx(1000, rel=0.1)  # the busiest second
    assert replayed.sum() == pytest.approx(trace.size * scale, rel=0.01)


@needs_real_trace
def test_the_real_trace_replayed_at_its_own_peak_adds_poisson_noise_only():
    trace = load_trace(REAL_TRACE)
    original = np.bincount(trace.astype(int))
    replayed = np.bincount(replay_trace(trace, original.max(), seed=2).astype(int),
                           minlength=original.size)
    assert dispersion(replayed) == pytest.approx(dispersion(original) + 1, rel=0.1)


# --- Traces where one fixed setting must fail -------------------------------------------------

def test_the_swing_runs_tenfold_from_trough_to_peak():
    arrivals = swing_arrivals(1000, 600, period_s=600, seed=5)
    trough = np.sum(arrivals < 15) + np.sum(arrivals >= 585)  # 30 s around t = 0 and 600
    peak = np.sum((arrivals >= 285) & (arrivals < 315))  # 30 s around half the period
    # Over ±15 s the curve stays within 1% of its ends (log scale): trough ≈ 100 rps.
    assert trough / 30 == pytest.approx(100, rel=0.1)
    assert peak / 30 == pytest.approx(1000, rel=0.05)
    assert peak / trough == pytest.approx(10, rel=0.12)


def test_a_swing_of_one_is_steady_poisson():
    arrivals = swing_arrivals(300, 200, swing=1.0, seed=6)
    counts = np.bincount(arrivals.astype(int))
    assert arrivals.size / 200 == pytest.approx(300, rel=0.03)
    assert dispersion(counts) == pytest.approx(1.0, abs=0.3)


def test_a_cold_start_is_silent_then_ramps_then_holds():
    arrivals = cold_start_arrivals(1000, 60, ramp_s=10, idle_s=5, seed=7)
    assert arrivals.min() >= 5  # nothing before the start
    ramp = np.sum((arrivals >= 5) & (arrivals < 15))
    assert ramp == pytest.approx(1000 * 10 / 2, rel=0.05)  # a straight ramp: half the peak
    first = np.sum((arrivals >= 5) & (arrivals < 7))  # 0-20% of the peak
    last = np.sum((arrivals >= 13) & (arrivals < 15))  # 80-100% of the peak
    assert last == pytest.approx(9 * first, rel=0.25)  # mean 900 rps against 100
    assert np.sum(arrivals >= 15) / 45 == pytest.approx(1000, rel=0.03)


def test_a_cold_start_without_a_ramp_is_a_step():
    arrivals = cold_start_arrivals(500, 20, ramp_s=0, idle_s=10, seed=8)
    assert arrivals.min() >= 10 and arrivals.size / 10 == pytest.approx(500, rel=0.05)
    again = cold_start_arrivals(500, 20, ramp_s=0, idle_s=10, seed=8)
    assert np.array_equal(arrivals, again)


# --- Bad arguments ----------------------------------------------------------------------------

CALLS = {
    "replay_trace": lambda **k: replay_trace(**{"arrival_times_s": [0.0, 1.5], "peak_rps": 10.0,
                                                "seed": 1, **k}),
    "replay_rates": lambda **k: replay_rates(**{"arrival_times_s": [0.0, 1.5],
                                                "peak_rps": 10.0, **k}),
    "swing_arrivals": lambda **k: swing_arrivals(**{"peak_rps": 10.0, "duration_s": 1.0, **k}),
    "cold_start_arrivals": lambda **k: cold_start_arrivals(
        **{"peak_rps": 10.0, "duration_s": 1.0, **k}),
}
BAD_NUMBERS = [("text", "1"), ("nan", math.nan), ("inf", math.inf), ("-inf", -math.inf),
               ("negative", -1.0), ("huge", 1e300), ("bool", True), ("none", None)]
NUMBER_ARGUMENTS = [
    ("replay_trace", "peak_rps"), ("replay_trace", "bin_s"), ("replay_trace", "seed"),
    ("replay_rates", "peak_rps"), ("replay_rates", "bin_s"),
    ("swing_arrivals", "peak_rps"), ("swing_arrivals", "duration_s"),
    ("swing_arrivals", "swing"), ("swing_arrivals", "period_s"), ("swing_arrivals", "seed"),
    ("cold_start_arrivals", "peak_rps"), ("cold_start_arrivals", "duration_s"),
    ("cold_start_arrivals", "ramp_s"), ("cold_start_arrivals", "idle_s"),
    ("cold_start_arrivals", "seed"),
]


@pytest.mark.parametrize(("call", "argument"), NUMBER_ARGUMENTS)
@pytest.mark.parametrize(("kind", "value"), BAD_NUMBERS)
def test_bad_numbers_are_refused_in_one_line_naming_the_argument(call, argument, kind, value):
    with pytest.raises(ParameterError, match=rf"^{argument} must be [^\n]*; got [^\n]*$"):
        CALLS[call](**{argument: value})


@pytest.mark.parametrize(
    ("call", "arguments", "message"),
    [
        ("replay_trace", {"arrival_times_s": [1.0, 0.5]}, "arrival_times_s must be sorted"),
        ("replay_trace", {"arrival_times_s": []}, "arrival_times_s must be a non-empty"),
        ("replay_trace", {"arrival_times_s": [0.0, math.nan]},
         "arrival_times_s must be finite and >= 0"),
        ("replay_trace", {"peak_rps": 0.0}, r"peak_rps must be a number in \(0, 1e\+06\]"),
        ("replay_trace", {"bin_s": 1e-4}, r"bin_s must be a number in \[0.001, 3600\]"),
        ("replay_trace", {"bin_s": 7200}, r"bin_s must be a number in \[0.001, 3600\]"),
        ("replay_trace", {"arrival_times_s": [0.0, 1e9], "bin_s": 1.0},
         r"\(last - first arrival\) / bin_s must be at most 1e\+07 bins"),
        ("replay_trace", {"arrival_times_s": np.zeros(1000), "peak_rps": 1e6, "bin_s": 100.0},
         r"peak_rps × bin_s × len\(arrival_times_s\) / max\(bin counts\) must be at most "
         r"5e\+07 expected requests"),
        ("replay_trace", {"seed": 2**32}, r"seed must be a whole number in \[0, 4294967295\]"),
        ("swing_arrivals", {"swing": 0.5}, r"swing must be a number in \[1, 1000\]"),
        ("swing_arrivals", {"period_s": 0.0}, r"period_s must be a number in \[0.001, 1e\+09\]"),
        ("swing_arrivals", {"peak_rps": 1e6, "duration_s": 1e3},
         r"peak_rps × duration_s must be at most 5e\+07"),
        ("cold_start_arrivals", {"ramp_s": 1e8}, r"ramp_s must be a number in \[0, 1e\+07\]"),
        ("cold_start_arrivals", {"peak_rps": 1e6, "duration_s": 1e3},
         r"peak_rps × duration_s must be at most 5e\+07"),
    ],
)
def test_out_of_range_arguments_are_refused(call, arguments, message):
    with pytest.raises(ParameterError, match="^" + message + r"[^\n]*$"):
        CALLS[call](**arguments)


def test_the_seed_of_a_replay_must_be_given():
    with pytest.raises(TypeError, match="seed"):
        replay_trace([0.0, 1.0], 10.0)
