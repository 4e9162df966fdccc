"""Traffic generators, the one check of a trace, and per-second rates."""

import math

import numpy as np
import pytest

from perfcost.traffic import (
    check_arrival_times,
    diurnal_arrivals,
    mmpp_arrivals,
    poisson_arrival_times,
    poisson_arrivals,
    rate_curve_arrivals,
    step_spike_arrivals,
)
from perfcost.validation import ParameterError


@pytest.mark.parametrize(
    "make",
    [
        lambda seed: poisson_arrivals(500, 60, seed=seed),
        lambda seed: diurnal_arrivals(500, 60, period_s=60, seed=seed),
        lambda seed: step_spike_arrivals(500, 60, spike_start_s=20, spike_duration_s=10,
                                         seed=seed),
        lambda seed: mmpp_arrivals(60, rates_rps=(100, 900), mean_sojourn_s=(5, 2), seed=seed),
    ],
)
def test_generators_are_seeded_sorted_and_in_range(make):
    first, again, other = make(1), make(1), make(2)
    assert np.array_equal(first, again) and not np.array_equal(first, other)
    assert np.all(np.diff(first) >= 0) and first.min() >= 0 and first.max() < 60


def test_poisson_rate_and_counts():
    arrivals = poisson_arrivals(100, 2000, seed=3)
    assert arrivals.size == pytest.approx(200_000, rel=0.01)
    per_second = np.bincount(arrivals.astype(int))  # 2,000 one-second counts
    assert per_second.var() / per_second.mean() == pytest.approx(1.0, abs=0.15)  # Poisson


def test_the_spike_triples_the_rate_for_its_minute():
    arrivals = step_spike_arrivals(400, 300, spike_start_s=100, seed=4)
    before = np.sum(arrivals < 100) / 100
    during = np.sum((arrivals >= 100) & (arrivals < 160)) / 60
    after = np.sum(arrivals >= 160) / 140
    assert during / before == pytest.approx(3.0, rel=0.05)
    assert after / before == pytest.approx(1.0, rel=0.05)


def test_the_diurnal_curve_averages_to_its_mean_and_peaks_mid_period():
    arrivals = diurnal_arrivals(1000, 200, peak_to_average=1.5, period_s=200, seed=5)
    assert arrivals.size / 200 == pytest.approx(1000, rel=0.02)
    counts = np.histogram(arrivals, bins=10, range=(0, 200))[0]
    assert counts.argmax() in (4, 5) and counts.argmin() in (0, 9)
    with pytest.raises(ParameterError, match=r"peak_to_average must be in \[1, 2\]"):
        diurnal_arrivals(100, 10, peak_to_average=3)


def test_mmpp_rate_sits_between_its_states():
    arrivals = mmpp_arrivals(2000, rates_rps=(100, 1000), mean_sojourn_s=(10, 10), seed=6)
    assert 400 < arrivals.size / 2000 < 700  # half the time in each: 550 on average


def test_thinning_refuses_a_curve_above_its_peak():
    with pytest.raises(ParameterError, match="rate_rps must be a curve with values in"):
        rate_curve_arrivals(lambda t: 2 * np.ones_like(t), 10, peak_rps=1)


# --- The one check of a trace ------------------------------------------------------------------

def test_check_arrival_times_returns_a_float_array_as_is():
    times = np.array([0.0, 1.0, 1.0])
    assert check_arrival_times("t", times) is times
    assert check_arrival_times("t", [0, 2]).tolist() == [0.0, 2.0]
    assert check_arrival_times("t", [1.7e9, 1.7e9 + 1]).dtype == float


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ("0.5", r"non-empty one-dimensional sequence of times in seconds; got 'shape \(\)'"),
        (None, "non-empty one-dimensional"),
        ({"a": 1}, "non-empty one-dimensional"),
        (["0.5", "1"], r"got 'values of type <U3'"),
        ([True, False], "values of type bool"),
        ([[0.0, 1.0], [2.0]], "got 'list'"),
        ([], r"got 'shape \(0,\)'"),
        ([[0.0, 1.0]], r"got 'shape \(1, 2\)'"),
        ([0.0, math.nan], r"finite and >= 0 everywhere; got 'nan at index 1'"),
        ([0.0, math.inf], r"finite and >= 0 everywhere; got 'inf at index 1'"),
        ([-math.inf, 0.0], r"finite and >= 0 everywhere; got '-inf at index 0'"),
        ([-1.0, 0.0], r"finite and >= 0 everywhere; got '-1.0 at index 0'"),
        ([0.0, 1.7e12], r"at most 1e\+10 s \(about 317 years; are these milliseconds or "),
        ([0.0, 1e308], r"milliseconds or nanoseconds"),
        ([0.2, 0.1], r"sorted ascending; got '0.1 after 0.2 at index 1'"),
    ],
)
def test_check_arrival_times_names_the_argument_and_the_problem(values, message):
    with pytest.raises(ParameterError, match=r"^arrival_times_s must be .*" + message):
        check_arrival_times("arrival_times_s", values)


# --- Bad arguments of the generators -----------------------------------------------------------

GENERATORS = {
    "poisson_arrival_times": lambda **k: poisson_arrival_times(
        **{"rate_rps": 10.0, "count": 10, **k}),
    "poisson_arrivals": lambda **k: poisson_arrivals(**{"rate_rps": 10.0, "duration_s": 1.0, **k}),
    "rate_curve_arrivals": lambda **k: rate_curve_arrivals(
        **{"rate_rps": lambda t: np.ones_like(t), "duration_s": 1.0, "peak_rps": 2.0, **k}),
    "diurnal_arrivals": lambda **k: diurnal_arrivals(
        **{"mean_rps": 10.0, "duration_s": 1.0, **k}),
    "step_spike_arrivals": lambda **k: step_spike_arrivals(
        **{"base_rps": 10.0, "duration_s": 1.0, "spike_start_s": 0.2, **k}),
    "mmpp_arrivals": lambda **k: mmpp_arrivals(
        **{"duration_s": 1.0, "rates_rps": (1.0, 10.0), "mean_sojourn_s": (0.5, 0.5), **k}),
}

BAD_NUMBERS = [("text", "1"), ("nan", math.nan), ("inf", math.inf), ("-inf", -math.inf),
               ("negative", -1.0), ("huge", 1e300), ("bool", True), ("none", None)]

NUMBER_ARGUMENTS = [
    ("poisson_arrival_times", "rate_rps"), ("poisson_arrival_times", "count"),
    ("poisson_arrival_times", "seed"),
    ("poisson_arrivals", "rate_rps"), ("poisson_arrivals", "duration_s"),
    ("poisson_arrivals", "seed"),
    ("rate_curve_arrivals", "duration_s"), ("rate_curve_arrivals", "peak_rps"),
    ("rate_curve_arrivals", "seed"),
    ("diurnal_arrivals", "mean_rps"), ("diurnal_arrivals", "duration_s"),
    ("diurnal_arrivals", "peak_to_average"), ("diurnal_arrivals", "period_s"),
    ("diurnal_arrivals", "seed"),
    ("step_spike_arrivals", "base_rps"), ("step_spike_arrivals", "duration_s"),
    ("step_spike_arrivals", "spike_start_s"), ("step_spike_arrivals", "spike_duration_s"),
    ("step_spike_arrivals", "multiplier"), ("step_spike_arrivals", "seed"),
    ("mmpp_arrivals", "duration_s"), ("mmpp_arrivals", "seed"),
]


@pytest.mark.parametrize(("generator", "argument"), NUMBER_ARGUMENTS)
@pytest.mark.parametrize(("kind", "value"), BAD_NUMBERS)
def test_generators_refuse_bad_numbers_naming_the_argument(generator, argument, kind, value):
    with pytest.raises(ParameterError, match=rf"^{argument} must be [^\n]*; got [^\n]*$"):
        GENERATORS[generator](**{argument: value})


@pytest.mark.parametrize(
    ("generator", "arguments", "message"),
    [
        ("poisson_arrival_times", {"rate_rps": 0.0}, r"rate_rps must be a number in \(0, 1e\+06\]"),
        ("poisson_arrival_times", {"count": 0}, r"count must be a whole number in \[1, "),
        ("poisson_arrival_times", {"count": 10**18}, "count must be"),
        ("poisson_arrival_times", {"rate_rps": 1e-6, "count": 10**7},
         r"count / rate_rps must be at most 1e\+10 s"),
        ("poisson_arrival_times", {"seed": -1},
         r"seed must be a whole number in \[0, 4294967295\]"),
        ("poisson_arrival_times", {"seed": 2**32}, "seed must be"),
        ("poisson_arrivals", {"rate_rps": 1e6, "duration_s": 1e7},
         r"rate_rps × duration_s must be at most 5e\+07 expected requests"),
        ("poisson_arrivals", {"duration_s": 0.0}, r"duration_s must be a number in \(0, 1e\+07\]"),
        ("rate_curve_arrivals", {"rate_rps": 3.0}, "rate_rps must be a function of time"),
        ("rate_curve_arrivals", {"rate_rps": lambda t: "fast"},
         "rate_rps must be a function returning one rate per time"),
        ("rate_curve_arrivals", {"rate_rps": lambda t: np.ones(3), "duration_s": 10.0},
         "rate_rps must be a function returning one rate per time"),
        ("rate_curve_arrivals", {"rate_rps": lambda t: np.full_like(t, np.nan)},
         "rate_rps must be a curve with values in"),
        ("rate_curve_arrivals", {"peak_rps": 1e6, "duration_s": 1e3},
         r"peak_rps × duration_s must be at most 5e\+07"),
        ("diurnal_arrivals", {"period_s": 1e-300},
         r"period_s must be a number in \[0.001, 1e\+09\]"),
        ("diurnal_arrivals", {"peak_to_average": 0.5},
         r"peak_to_average must be a finite number >= 1"),
        ("diurnal_arrivals", {"mean_rps": 1e6, "duration_s": 100.0},
         r"mean_rps × peak_to_average × duration_s must be at most 5e\+07"),
        ("step_spike_arrivals", {"multiplier": 1e4}, r"multiplier must be a number in \[1, 1000\]"),
        ("step_spike_arrivals", {"spike_duration_s": 0.0}, "spike_duration_s must be"),
        ("step_spike_arrivals", {"base_rps": 1e5, "multiplier": 1000.0},
         r"base_rps × multiplier × duration_s must be at most 5e\+07"),
    ],
)
def test_generators_refuse_out_of_range_values(generator, arguments, message):
    with pytest.raises(ParameterError, match=message):
        GENERATORS[generator](**arguments)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"mean_sojourn_s": (1e-300, 1e-300)},  # looped forever before
         r"mean_sojourn_s must be a number in \[0.001, 1e\+07\]; got 1e-300"),
        ({"duration_s": 1e7, "mean_sojourn_s": (1.0, 1.0), "rates_rps": (0.0, 1.0)},
         r"mean_sojourn_s must be long enough for at most 1e\+06 expected state changes"),
        ({"rates_rps": (1.0, 2.0, 3.0)}, r"rates_rps must be two numbers; got \(1.0, 2.0, 3.0\)"),
        ({"rates_rps": 5.0}, "rates_rps must be two numbers; got 5.0"),
        ({"rates_rps": "ab"}, "rates_rps must be two numbers"),
        ({"rates_rps": (0.0, 0.0)}, "rates_rps must be two rates, not both zero"),
        ({"rates_rps": (math.nan, 1.0)}, r"rates_rps must be a number in \[0, 1e\+06\]"),
        ({"rates_rps": (1.0, 1e9)}, r"rates_rps must be a number in \[0, 1e\+06\]"),
        ({"mean_sojourn_s": [1.0]}, "mean_sojourn_s must be two numbers"),
        ({"mean_sojourn_s": (1.0, math.inf)}, "mean_sojourn_s must be a number in"),
        ({"duration_s": 1e3, "rates_rps": (1e6, 1e6)},
         r"max\(rates_rps\) × duration_s must be at most 5e\+07"),
    ],
)
def test_mmpp_refuses_bad_pairs_before_looping(arguments, message):
    with pytest.raises(ParameterError, match=message):
        GENERATORS["mmpp_arrivals"](**arguments)


def test_many_mmpp_state_changes_finish():
    # 100,000 expected state changes take a few tenths of a second; the limit, 10^6, a few seconds.
    arrivals = mmpp_arrivals(10_000.0, rates_rps=(0.0, 1.0), mean_sojourn_s=(0.1, 0.1))
    assert arrivals.size > 0 and np.all(np.diff(arrivals) >= 0)


def test_rate_per_second_counts_per_second_and_widens_bins_for_long_traces():
    from perfcost.traffic import rate_per_second

    t_s, rps = rate_per_second([0.2, 0.7, 1.5, 2.9], 3.0)
    assert t_s.tolist() == [0.0, 1.0, 2.0] and rps.tolist() == [2.0, 1.0, 1.0]
    t_s, rps = rate_per_second(np.arange(0, 6000, 0.5), 6000.0, max_points=300)
    assert len(t_s) == 300 and t_s[1] == 20.0 and np.allclose(rps, 2.0)  # 20 s bins


def test_the_rate_table_stacks_each_trace_over_the_longer_of_its_span_and_the_duration():
    from perfcost.traffic import rate_table

    table = rate_table({"short": [0.2, 0.7, 1.5], "long": [0.5, 4.5]}, 3.0)
    assert list(table.columns) == ["trace", "t_s", "arrival_rps"]
    assert table["trace"].tolist() == ["short"] * 3 + ["long"] * 5  # 4.5 s: five seconds
    assert table["arrival_rps"].tolist() == [2.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    assert table["t_s"].tolist() == [0.0, 1.0, 2.0, 0.0, 1.0, 2.0, 3.0, 4.0]


@pytest.mark.parametrize(("traces", "message"), [
    ({}, "traces must be a dict of 1 to 100 name: arrival times"),
    ([0.1, 0.2], "traces must be a dict of 1 to 100"),
    ({"a": [0.2, 0.1]}, r"traces\['a'\] must be sorted ascending"),
    ({"a": []}, r"traces\['a'\] must be a non-empty"),
])
def test_the_rate_table_refuses_what_is_not_a_set_of_traces(traces, message):
    from perfcost.traffic import rate_table

    with pytest.raises(ParameterError, match=message):
        rate_table(traces, 10.0)


def test_the_diurnal_curve_starts_at_its_trough_and_peaks_at_half_the_period():
    from perfcost.traffic import diurnal_rate_rps

    # mean 100, peak/average 1.5: 100 (1 - 0.5 cos(2π t / 24)): 50 at 0, 100 at 6, 150 at 12.
    rates = diurnal_rate_rps([0.0, 6.0, 12.0, 18.0, 24.0], 100.0, 1.5, period_s=24.0)
    assert rates == pytest.approx([50.0, 100.0, 150.0, 100.0, 50.0])
    day = diurnal_rate_rps(np.arange(24) * 3600.0, 100.0, 1.5)  # hourly over a default day
    assert day.mean() == pytest.approx(100.0) and day.max() == pytest.approx(150.0)
    assert day.argmin() == 0 and day.argmax() == 12
    assert np.array_equal(diurnal_rate_rps(np.arange(5.0), 7.0, 1.0), np.full(5, 7.0))


@pytest.mark.parametrize(("arguments", "message"), [
    ({"peak_to_average": 2.5}, r"peak_to_average must be in \[1, 2\] \(a sinusoidal day\)"),
    ({"peak_to_average": 0.5}, "peak_to_average must be a finite number >= 1"),
    ({"mean_rps": 0.0}, r"mean_rps must be a number in \(0, 1e\+06\]"),
    ({"period_s": 0.0}, r"period_s must be a number in \[0.001, 1e\+09\]"),
    ({"t_s": [0.0, math.nan]}, "t_s must be finite times in seconds"),
])
def test_the_diurnal_curve_refuses_bad_arguments_by_name(arguments, message):
    from perfcost.traffic import diurnal_rate_rps

    values = {"t_s": [0.0, 1.0], "mean_rps": 10.0, "peak_to_average": 1.5, **arguments}
    with pytest.raises(ParameterError, match=message):
        diurnal_rate_rps(**values)


def test_the_diurnal_trace_follows_the_one_curve_bit_for_bit():
    from perfcost.traffic import diurnal_rate_rps, rate_curve_arrivals

    curve = lambda t: diurnal_rate_rps(t, 300.0, 1.6, 50.0)  # noqa: E731
    assert np.array_equal(diurnal_arrivals(300.0, 100.0, peak_to_average=1.6, period_s=50.0,
                                           seed=4),
                          rate_curve_arrivals(curve, 100.0, 480.0, seed=4))


def test_the_checks_of_a_day_and_an_on_off_trace_name_the_argument():
    from perfcost.traffic import check_mmpp_rates, check_mmpp_sojourns, check_peak_to_average

    assert check_peak_to_average("diurnal_peak_to_average", 2) == 2.0
    with pytest.raises(ParameterError, match=r"^diurnal_peak_to_average must be in \[1, 2\]"):
        check_peak_to_average("diurnal_peak_to_average", 2.01)
    assert check_mmpp_rates("bursty_rps", (0, 5)) == [0.0, 5.0]
    with pytest.raises(ParameterError, match="bursty_rps must be two rates, not both zero"):
        check_mmpp_rates("bursty_rps", [0.0, 0.0])
    with pytest.raises(ParameterError, match="bursty_rps must be two numbers"):
        check_mmpp_rates("bursty_rps", [1.0])
    assert check_mmpp_sojourns("bursty_sojourn_s", [0.001, 1e7]) == [0.001, 1e7]
    with pytest.raises(ParameterError, match=r"bursty_sojourn_s must be a number in \[0.001,"):
        check_mmpp_sojourns("bursty_sojourn_s", [0.0, 1.0])
