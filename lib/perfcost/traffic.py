"""Request arrival traces: seeded generators of arrival times in seconds, sorted ascending.

Constant-rate Poisson, a diurnal curve, a step spike, bursty on-off traffic (a two-state
Markov-modulated Poisson process), and :func:`load_trace` for a reader's own CSV of timestamps.
Every generator takes a ``seed`` and returns the same trace for the same seed.

Used by chapter 1 (checking the M/M/c formulas against simulation) and chapter 3 (batching).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np

from perfcost.validation import ParameterError, at_least, integer_at_least, non_negative, positive

__all__ = [
    "diurnal_arrivals",
    "load_trace",
    "mmpp_arrivals",
    "poisson_arrival_times",
    "poisson_arrivals",
    "rate_curve_arrivals",
    "step_spike_arrivals",
]


def poisson_arrival_times(rate_rps: float, count: int, *, seed: int = 0) -> np.ndarray:
    """Return ``count`` arrival times of a Poisson process at ``rate_rps``, starting after 0.

    Inter-arrival gaps are independent Exp(rate_rps) draws from ``numpy.random.default_rng(seed)``.
    """
    rate_rps = positive("rate_rps", rate_rps)
    count = integer_at_least("count", count, 1)
    gaps_s = np.random.default_rng(seed).exponential(1.0 / rate_rps, size=count)
    return np.cumsum(gaps_s)


def poisson_arrivals(rate_rps: float, duration_s: float, *, seed: int = 0) -> np.ndarray:
    """Arrivals of a Poisson process at ``rate_rps`` over [0, duration_s).

    A Poisson(rate × duration) count of points placed uniformly: the order statistics of a
    Poisson process, drawn in one vectorised step.
    """
    rate_rps = positive("rate_rps", rate_rps)
    duration_s = positive("duration_s", duration_s)
    rng = np.random.default_rng(seed)
    return np.sort(rng.uniform(0.0, duration_s, size=rng.poisson(rate_rps * duration_s)))


def rate_curve_arrivals(
    rate_rps: Callable[[np.ndarray], np.ndarray], duration_s: float, peak_rps: float,
    *, seed: int = 0,
) -> np.ndarray:
    """Arrivals of a Poisson process whose rate varies with time, by thinning (Lewis & Shedler).

    Candidates arrive at ``peak_rps``; one at time t is kept with probability
    rate_rps(t) / peak_rps. ``rate_rps`` maps an array of times to rates in [0, peak_rps].
    """
    peak_rps = positive("peak_rps", peak_rps)
    candidates = poisson_arrivals(peak_rps, duration_s, seed=seed)
    rates = np.asarray(rate_rps(candidates), dtype=float)
    outside = np.any(rates < 0) or np.any(rates > peak_rps * (1 + 1e-12))
    if outside or not np.all(np.isfinite(rates)):
        raise ParameterError("rate_rps", f"a curve with values in [0, peak_rps = {peak_rps:g}]",
                             "a curve outside that range")
    keep = np.random.default_rng(seed + 1).uniform(size=candidates.size) * peak_rps < rates
    return candidates[keep]


def diurnal_arrivals(
    mean_rps: float, duration_s: float, *, peak_to_average: float = 1.6,
    period_s: float = 86_400.0, seed: int = 0,
) -> np.ndarray:
    """A day-shaped trace: rate(t) = mean × (1 − a cos(2π t / period)), a = peak/average − 1.

    It starts at the trough and peaks at half the period. ``period_s`` can be shortened to fit a
    whole day into a short simulation.
    """
    mean_rps = positive("mean_rps", mean_rps)
    peak_to_average = at_least("peak_to_average", peak_to_average, 1.0)
    if peak_to_average > 2.0:
        raise ParameterError("peak_to_average", "in [1, 2] (a sinusoidal day)", peak_to_average)
    period_s = positive("period_s", period_s)
    swing = peak_to_average - 1.0

    def rate(t):
        return mean_rps * (1.0 - swing * np.cos(2 * np.pi * t / period_s))

    return rate_curve_arrivals(rate, duration_s, mean_rps * peak_to_average, seed=seed)


def step_spike_arrivals(
    base_rps: float, duration_s: float, *, spike_start_s: float, spike_duration_s: float = 60.0,
    multiplier: float = 3.0, seed: int = 0,
) -> np.ndarray:
    """Steady Poisson traffic with a step to ``multiplier`` × the rate for ``spike_duration_s``."""
    base_rps = positive("base_rps", base_rps)
    multiplier = at_least("multiplier", multiplier, 1.0)
    spike_start_s = non_negative("spike_start_s", spike_start_s)
    spike_duration_s = positive("spike_duration_s", spike_duration_s)
    end_s = spike_start_s + spike_duration_s

    def rate(t):
        return np.where((t >= spike_start_s) & (t < end_s), base_rps * multiplier, base_rps)

    return rate_curve_arrivals(rate, duration_s, base_rps * multiplier, seed=seed)


def mmpp_arrivals(
    duration_s: float, *, rates_rps: tuple[float, float], mean_sojourn_s: tuple[float, float],
    seed: int = 0,
) -> np.ndarray:
    """Bursty on-off traffic: a two-state Markov-modulated Poisson process.

    The process alternates between state 0 (rate ``rates_rps[0]``) and state 1
    (``rates_rps[1]``), staying in each for an exponential time with mean ``mean_sojourn_s``;
    it starts in state 0. Within a state, arrivals are Poisson at that state's rate.
    """
    duration_s = positive("duration_s", duration_s)
    rates = [non_negative("rates_rps", r) for r in rates_rps]
    sojourns = [positive("mean_sojourn_s", s) for s in mean_sojourn_s]
    if len(rates) != 2 or len(sojourns) != 2 or max(rates) <= 0:
        raise ParameterError("rates_rps", "two rates, not both zero", rates_rps)
    rng = np.random.default_rng(seed)
    pieces, start, state = [], 0.0, 0
    while start < duration_s:
        end = min(duration_s, start + rng.exponential(sojourns[state]))
        count = rng.poisson(rates[state] * (end - start))
        pieces.append(np.sort(rng.uniform(start, end, size=count)))
        start, state = end, 1 - state
    return np.concatenate(pieces)


def load_trace(path: str | Path) -> np.ndarray:
    """Read arrival times (seconds) from a CSV file: one timestamp a row, in the first column.

    A header row is allowed (a first row that is not a number). Times must be finite, >= 0 and
    sorted ascending. A bad row raises ValueError naming the file, the row number and its text.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as error:
        raise ParameterError("path", "a readable CSV file", str(path)) from error
    times, previous = [], -math.inf
    for number, row in enumerate(csv.reader(text.splitlines()), start=1):
        if not row or not row[0].strip():
            continue
        try:
            value = float(row[0])
        except ValueError:
            if number == 1 and not times:
                continue  # a header
            raise ValueError(
                f"{path}: row {number}: {row[0]!r} is not a number of seconds") from None
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{path}: row {number}: {row[0]!r} must be a finite time >= 0")
        if value < previous:
            raise ValueError(f"{path}: row {number}: {value:g} comes before the previous "
                             f"time {previous:g}; times must be sorted ascending")
        times.append(value)
        previous = value
    if not times:
        raise ValueError(f"{path}: no arrival times found")
    return np.asarray(times)
