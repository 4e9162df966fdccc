"""Traffic generators and the CSV trace reader."""

import numpy as np
import pytest

from perfcost.traffic import (
    diurnal_arrivals,
    load_trace,
    mmpp_arrivals,
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


def test_load_trace_reads_a_csv_with_or_without_header(tmp_path):
    path = tmp_path / "trace.csv"
    path.write_text("arrival_time_s\n0.0\n0.5\n0.5\n2.25\n")
    assert load_trace(path).tolist() == [0.0, 0.5, 0.5, 2.25]
    bare = tmp_path / "bare.csv"
    bare.write_text("1,extra\n2,columns\n")
    assert load_trace(bare).tolist() == [1.0, 2.0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("t\n0.1\nsoon\n", r"row 3: 'soon' is not a number of seconds"),
        ("0.1\n-2\n", r"row 2: '-2' must be a finite time >= 0"),
        ("0.1\nnan\n", r"row 2: 'nan' must be a finite time >= 0"),
        ("0.5\n0.2\n", r"row 2: 0.2 comes before the previous time 0.5"),
        ("t\n", "no arrival times found"),
    ],
)
def test_load_trace_names_the_bad_row(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        load_trace(path)
