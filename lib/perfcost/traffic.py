"""Request arrival traces: seeded generators of arrival times in seconds, sorted ascending.

Constant-rate Poisson, a diurnal curve, a step spike, bursty on-off traffic (a two-state
Markov-modulated Poisson process), load that swings tenfold and a cold start ramping from zero.
A reader's own CSV of timestamps is read by :func:`perfcost.trace_files.load_trace`, and
:func:`perfcost.replay.replay_trace` replays a real trace's per-second shape at a chosen peak.
Every generator takes a ``seed`` and returns the same trace for the same seed.
:func:`check_arrival_times` is the one check of a trace that every simulator applies;
:func:`diurnal_rate_rps` the one diurnal curve (the cost model's hourly rates use it too);
:func:`rate_per_second` and :func:`rate_table` count a trace's arrivals for a chart.

Every argument has an upper limit, so a generator never tries to allocate terabytes or loop for
hours: rates up to ``MAX_RATE_RPS``, durations up to ``MAX_DURATION_S``, and at most
``MAX_REQUESTS`` expected requests (rate × duration) per trace.

Used by chapter 1 (checking the M/M/c formulas against simulation) and chapter 3 (batching).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from perfcost.validation import (
    MAX_SEED,
    ParameterError,
    at_least,
    in_range,
    integer_in_range,
    non_negative,
    positive,
    seed_value,
)

__all__ = [
    "MAX_ARRIVAL_S",
    "MAX_DIURNAL_PEAK_TO_AVERAGE",
    "MAX_DURATION_S",
    "MAX_RATE_RPS",
    "MAX_REQUESTS",
    "MAX_SEED",
    "check_arrival_times",
    "check_mmpp_rates",
    "check_mmpp_sojourns",
    "check_peak_to_average",
    "cold_start_arrivals",
    "diurnal_arrivals",
    "diurnal_rate_rps",
    "mmpp_arrivals",
    "poisson_arrival_times",
    "poisson_arrivals",
    "rate_curve_arrivals",
    "rate_per_second",
    "rate_table",
    "step_spike_arrivals",
    "swing_arrivals",
]

MAX_ARRIVAL_S = 1e10  # ~317 years: Unix-epoch seconds fit; epoch milliseconds or ns do not
MAX_RATE_RPS = 1e6  # a million requests/s: far beyond one service
MAX_DURATION_S = 1e7  # ~116 days of traffic
MAX_REQUESTS = 5e7  # expected requests per generated trace: 400 MB of float64 times
MIN_SOJOURN_S = 1e-3  # an MMPP state shorter than a millisecond is no burst
MAX_STATE_CHANGES = 1e6  # expected MMPP state changes: each is a Python step (~5 s per million)
MAX_MULTIPLIER = 1000.0  # a spike of 1000x the base rate
MAX_DIURNAL_PEAK_TO_AVERAGE = 2.0  # a sinusoidal day's peak / mean: at 2 the trough is 0
PERIOD_S = (1e-3, 1e9)  # a diurnal or swing period: a millisecond to ~32 years
MAX_RATE_TABLE_TRACES = 100  # traces in one rate table: a chart of more is unreadable
_MISREAD_UNITS = "are these milliseconds or nanoseconds?"


# --- The one check of a trace -----------------------------------------------------------------

def _as_times(name: str, values) -> np.ndarray:
    """``values`` as a one-dimensional float array (not copied when it already is one)."""
    valid = "a non-empty one-dimensional sequence of times in seconds"
    try:
        raw = np.asarray(values)
    except (TypeError, ValueError):  # a ragged list
        raise ParameterError(name, valid, type(values).__name__) from None
    if raw.ndim != 1 or raw.size == 0:
        raise ParameterError(name, valid, f"shape {raw.shape}")
    if raw.dtype.kind not in "iuf":
        raise ParameterError(name, valid, f"values of type {raw.dtype}")
    return raw.astype(float, copy=False)


def arrival_time_problem(times: np.ndarray) -> tuple[int, str, str] | None:
    """The first index where ``times`` are not arrival times, what they must be, what is there."""
    bad = np.flatnonzero(~np.isfinite(times) | (times < 0))
    if bad.size:
        return int(bad[0]), "finite and >= 0 everywhere", repr(float(times[bad[0]]))
    far = np.flatnonzero(times > MAX_ARRIVAL_S)
    if far.size:
        return (int(far[0]), f"at most {MAX_ARRIVAL_S:g} s (about 317 years; {_MISREAD_UNITS})",
                repr(float(times[far[0]])))
    unsorted = np.flatnonzero(np.diff(times) < 0)
    if unsorted.size:
        index = int(unsorted[0]) + 1
        return index, "sorted ascending", f"{times[index]:g} after {times[index - 1]:g}"
    return None


def check_arrival_times(name: str, values) -> np.ndarray:
    """Return ``values`` as a float array of arrival times, or raise ParameterError naming ``name``.

    Arrival times are seconds: a non-empty one-dimensional sequence, finite, >= 0, at most
    ``MAX_ARRIVAL_S`` and sorted ascending. An array of floats is returned as is, not copied.
    """
    times = _as_times(name, values)
    problem = arrival_time_problem(times)
    if problem is not None:
        index, valid, found = problem
        raise ParameterError(name, valid, f"{found} at index {index}")
    return times


# --- Generators -------------------------------------------------------------------------------


def _rate(name: str, value) -> float:
    return positive(name, value, maximum=MAX_RATE_RPS)


def _duration(name: str, value) -> float:
    return positive(name, value, maximum=MAX_DURATION_S)


def check_expected_count(product: str, requests: float) -> None:
    """Refuse a trace expected to hold more than ``MAX_REQUESTS`` requests."""
    if requests > MAX_REQUESTS:
        raise ParameterError(product, f"at most {MAX_REQUESTS:.0e} expected requests "
                             "(a trace that fits in memory)", float(f"{requests:.4g}"))


def _pair(name: str, values, check: Callable[[str, object], float]) -> list[float]:
    """Exactly two values, each passed through ``check``."""
    if isinstance(values, str | bytes) or not hasattr(values, "__len__") or len(values) != 2:
        raise ParameterError(name, "two numbers", values)
    return [check(name, value) for value in values]


def poisson_arrival_times(rate_rps: float, count: int, *, seed: int = 0) -> np.ndarray:
    """Return ``count`` arrival times of a Poisson process at ``rate_rps``, starting after 0.

    Inter-arrival gaps are independent Exp(rate_rps) draws from ``numpy.random.default_rng(seed)``.
    ``rate_rps`` is at most ``MAX_RATE_RPS``, ``count`` at most ``MAX_REQUESTS``, and the
    expected span count / rate_rps at most ``MAX_ARRIVAL_S``.
    """
    rate_rps = _rate("rate_rps", rate_rps)
    count = integer_in_range("count", count, 1, MAX_REQUESTS)
    if count / rate_rps > MAX_ARRIVAL_S:
        raise ParameterError("count / rate_rps", f"at most {MAX_ARRIVAL_S:g} s (the trace's "
                             "expected span)", count / rate_rps)
    gaps_s = np.random.default_rng(seed_value(seed)).exponential(1.0 / rate_rps, size=count)
    return np.cumsum(gaps_s)


def poisson_arrivals(rate_rps: float, duration_s: float, *, seed: int = 0) -> np.ndarray:
    """Arrivals of a Poisson process at ``rate_rps`` over [0, duration_s).

    A Poisson(rate × duration) count of points placed uniformly: the order statistics of a
    Poisson process, drawn in one vectorised step. rate × duration is at most ``MAX_REQUESTS``.
    """
    rate_rps = _rate("rate_rps", rate_rps)
    duration_s = _duration("duration_s", duration_s)
    check_expected_count("rate_rps × duration_s", rate_rps * duration_s)
    return _poisson(rate_rps, duration_s, seed_value(seed))


def _poisson(rate_rps: float, duration_s: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.sort(rng.uniform(0.0, duration_s, size=rng.poisson(rate_rps * duration_s)))


def _thinned(rate_rps: Callable, duration_s: float, peak_rps: float, seed: int) -> np.ndarray:
    """Thin Poisson candidates at ``peak_rps`` to ``rate_rps(t)``; arguments already checked."""
    candidates = _poisson(peak_rps, duration_s, seed)
    try:
        rates = np.broadcast_to(np.asarray(rate_rps(candidates), dtype=float), candidates.shape)
    except (TypeError, ValueError):
        raise ParameterError("rate_rps", "a function returning one rate per time",
                             "something else") from None
    outside = np.any(rates < 0) or np.any(rates > peak_rps * (1 + 1e-12))
    if outside or not np.all(np.isfinite(rates)):
        raise ParameterError("rate_rps", f"a curve with values in [0, peak_rps = {peak_rps:g}]",
                             "a curve outside that range")
    keep = np.random.default_rng(seed + 1).uniform(size=candidates.size) * peak_rps < rates
    return candidates[keep]


def rate_curve_arrivals(
    rate_rps: Callable[[np.ndarray], np.ndarray], duration_s: float, peak_rps: float,
    *, seed: int = 0,
) -> np.ndarray:
    """Arrivals of a Poisson process whose rate varies with time, by thinning (Lewis & Shedler).

    Candidates arrive at ``peak_rps``; one at time t is kept with probability
    rate_rps(t) / peak_rps. ``rate_rps`` maps an array of times to rates in [0, peak_rps].
    peak_rps × duration_s is at most ``MAX_REQUESTS``.
    """
    if not callable(rate_rps):
        raise ParameterError("rate_rps", "a function of time", rate_rps)
    peak_rps = _rate("peak_rps", peak_rps)
    duration_s = _duration("duration_s", duration_s)
    check_expected_count("peak_rps × duration_s", peak_rps * duration_s)
    return _thinned(rate_rps, duration_s, peak_rps, seed_value(seed))


def check_peak_to_average(name: str, value) -> float:
    """Return ``value`` as a sinusoidal day's peak / mean rate, in [1, 2], or raise
    ParameterError naming ``name``: the one range check of the diurnal curve."""
    value = at_least(name, value, 1.0)
    if value > MAX_DIURNAL_PEAK_TO_AVERAGE:
        raise ParameterError(name, f"in [1, {MAX_DIURNAL_PEAK_TO_AVERAGE:g}] (a sinusoidal "
                             "day)", value)
    return value


def diurnal_rate_rps(t_s, mean_rps: float, peak_to_average: float,
                     period_s: float = 86_400.0) -> np.ndarray:
    """The request rate of a sinusoidal day at times ``t_s`` (seconds): the one diurnal curve.

    rate(t) = mean_rps × (1 − a cos(2π t / period_s)),  a = peak_to_average − 1.

    Phase: the trough, mean_rps × (2 − peak_to_average), is at t = 0 (and every whole period);
    the peak, mean_rps × peak_to_average, at half the period. Over a whole period the mean is
    mean_rps. ``mean_rps`` is in (0, 10^6], ``peak_to_average`` in [1, 2] (at 2 the trough
    reaches zero) and ``period_s`` in [0.001, 10^9]; ``t_s`` is a time or an array of finite
    times. Used by :func:`diurnal_arrivals` and by the cost model's hourly rates
    (:func:`perfcost.cost.diurnal_rates_rps`).
    """
    mean_rps = _rate("mean_rps", mean_rps)
    swing = check_peak_to_average("peak_to_average", peak_to_average) - 1.0
    period_s = in_range("period_s", period_s, *PERIOD_S)
    t = np.asarray(t_s, dtype=float)
    if not np.all(np.isfinite(t)):
        raise ParameterError("t_s", "finite times in seconds", "a time that is not finite")
    return mean_rps * (1.0 - swing * np.cos(2 * np.pi * t / period_s))


def diurnal_arrivals(
    mean_rps: float, duration_s: float, *, peak_to_average: float = 1.6,
    period_s: float = 86_400.0, seed: int = 0,
) -> np.ndarray:
    """A day-shaped trace: Poisson arrivals at :func:`diurnal_rate_rps`,
    rate(t) = mean × (1 − a cos(2π t / period)), a = peak/average − 1.

    It starts at the trough and peaks at half the period. ``period_s`` (1 ms to 10^9 s) can be
    shortened to fit a whole day into a short simulation.
    """
    mean_rps = _rate("mean_rps", mean_rps)
    duration_s = _duration("duration_s", duration_s)
    peak_to_average = check_peak_to_average("peak_to_average", peak_to_average)
    period_s = in_range("period_s", period_s, *PERIOD_S)
    check_expected_count("mean_rps × peak_to_average × duration_s",
                    mean_rps * peak_to_average * duration_s)

    def rate(t):
        return diurnal_rate_rps(t, mean_rps, peak_to_average, period_s)

    return _thinned(rate, duration_s, mean_rps * peak_to_average, seed_value(seed))


def step_spike_arrivals(
    base_rps: float, duration_s: float, *, spike_start_s: float, spike_duration_s: float = 60.0,
    multiplier: float = 3.0, seed: int = 0,
) -> np.ndarray:
    """Steady Poisson traffic with a step to ``multiplier`` × the rate for ``spike_duration_s``.

    Drawn by thinning candidates at the spike's rate, so base_rps × multiplier × duration_s is
    at most ``MAX_REQUESTS``; ``multiplier`` is in [1, 1000].
    """
    base_rps = _rate("base_rps", base_rps)
    duration_s = _duration("duration_s", duration_s)
    multiplier = at_least("multiplier", multiplier, 1.0, maximum=MAX_MULTIPLIER)
    spike_start_s = non_negative("spike_start_s", spike_start_s, maximum=MAX_DURATION_S)
    spike_duration_s = _duration("spike_duration_s", spike_duration_s)
    check_expected_count("base_rps × multiplier × duration_s", base_rps * multiplier * duration_s)
    end_s = spike_start_s + spike_duration_s

    def rate(t):
        return np.where((t >= spike_start_s) & (t < end_s), base_rps * multiplier, base_rps)

    return _thinned(rate, duration_s, base_rps * multiplier, seed_value(seed))


def check_mmpp_rates(name: str, values) -> list[float]:
    """The two state rates of an on-off trace, each in [0, 10^6] requests/s and not both
    zero, or ParameterError naming ``name``."""
    rates = _pair(name, values, lambda name, r: non_negative(name, r, maximum=MAX_RATE_RPS))
    if max(rates) <= 0:
        raise ParameterError(name, "two rates, not both zero", values)
    return rates


def check_mmpp_sojourns(name: str, values) -> list[float]:
    """The two mean sojourns of an on-off trace, each in [0.001, 10^7] s, or ParameterError
    naming ``name``."""
    return _pair(name, values, lambda name, s: in_range(name, s, MIN_SOJOURN_S, MAX_DURATION_S))


def mmpp_arrivals(
    duration_s: float, *, rates_rps: tuple[float, float], mean_sojourn_s: tuple[float, float],
    seed: int = 0,
) -> np.ndarray:
    """Bursty on-off traffic: a two-state Markov-modulated Poisson process.

    The process alternates between state 0 (rate ``rates_rps[0]``) and state 1
    (``rates_rps[1]``), staying in each for an exponential time with mean ``mean_sojourn_s``;
    it starts in state 0. Within a state, arrivals are Poisson at that state's rate.
    Each mean sojourn is at least 1 ms, the expected number of state changes at most 10^6, and
    max(rates_rps) × duration_s at most ``MAX_REQUESTS``.
    """
    duration_s = _duration("duration_s", duration_s)
    rates = check_mmpp_rates("rates_rps", rates_rps)
    sojourns = check_mmpp_sojourns("mean_sojourn_s", mean_sojourn_s)
    check_expected_count("max(rates_rps) × duration_s", max(rates) * duration_s)
    if 2 * duration_s / sum(sojourns) > MAX_STATE_CHANGES:
        raise ParameterError("mean_sojourn_s", f"long enough for at most {MAX_STATE_CHANGES:.0e}"
                             " expected state changes in duration_s", mean_sojourn_s)
    rng = np.random.default_rng(seed_value(seed))
    pieces, start, state = [], 0.0, 0
    while start < duration_s:
        end = min(duration_s, start + rng.exponential(sojourns[state]))
        count = rng.poisson(rates[state] * (end - start))
        pieces.append(np.sort(rng.uniform(start, end, size=count)))
        start, state = end, 1 - state
    return np.concatenate(pieces)


def swing_arrivals(
    peak_rps: float, duration_s: float, *, swing: float = 10.0, period_s: float = 600.0,
    seed: int = 0,
) -> np.ndarray:
    """Load that swings between peak_rps / swing and peak_rps: one static setting cannot fit both.

    rate(t) = peak × swing^(−(1 + cos(2π t / period)) / 2): a sinusoid on a log scale, so each
    decade of load lasts as long as the next. It starts at the trough and peaks at half the
    period. ``swing`` is in [1, 1000], ``period_s`` in [1 ms, 10^9 s], and peak_rps × duration_s
    at most ``MAX_REQUESTS``.
    """
    peak_rps = _rate("peak_rps", peak_rps)
    duration_s = _duration("duration_s", duration_s)
    swing = at_least("swing", swing, 1.0, maximum=MAX_MULTIPLIER)
    period_s = in_range("period_s", period_s, *PERIOD_S)
    check_expected_count("peak_rps × duration_s", peak_rps * duration_s)

    def rate(t):
        return peak_rps * swing ** (-(1.0 + np.cos(2 * np.pi * t / period_s)) / 2)

    return _thinned(rate, duration_s, peak_rps, seed_value(seed))


def cold_start_arrivals(
    peak_rps: float, duration_s: float, *, ramp_s: float = 10.0, idle_s: float = 0.0,
    seed: int = 0,
) -> np.ndarray:
    """A cold start: no traffic for ``idle_s``, then a straight ramp to ``peak_rps`` over
    ``ramp_s`` (0: a step), then steady at the peak.

    Nothing was measured before the first request, so a policy starts from its defaults and the
    load rises faster than a long averaging window follows. ``idle_s`` and ``ramp_s`` are in
    [0, 10^7]; peak_rps × duration_s is at most ``MAX_REQUESTS``.
    """
    peak_rps = _rate("peak_rps", peak_rps)
    duration_s = _duration("duration_s", duration_s)
    ramp_s = non_negative("ramp_s", ramp_s, maximum=MAX_DURATION_S)
    idle_s = non_negative("idle_s", idle_s, maximum=MAX_DURATION_S)
    check_expected_count("peak_rps × duration_s", peak_rps * duration_s)

    def rate(t):
        if ramp_s == 0:
            return np.where(t >= idle_s, peak_rps, 0.0)
        return peak_rps * np.clip((t - idle_s) / ramp_s, 0.0, 1.0)

    return _thinned(rate, duration_s, peak_rps, seed_value(seed))


# --- Rates for a chart ------------------------------------------------------------------------

def rate_per_second(arrival_times_s, duration_s: float, *,
                    max_points: int = 300) -> tuple[np.ndarray, np.ndarray]:
    """Arrivals per second in equal bins over [0, duration_s): (bin starts in s, rates in rps).

    Bins are 1 s wide, or ``duration_s / max_points`` when that is wider, so a chart of a long
    trace has at most ``max_points`` points (used by chapter 3's traffic chart).
    """
    times = check_arrival_times("arrival_times_s", arrival_times_s)
    duration_s = _duration("duration_s", duration_s)
    max_points = integer_in_range("max_points", max_points, 1, 100_000)
    bin_s = max(1.0, duration_s / max_points)
    bins = math.ceil(duration_s / bin_s)
    index = np.minimum((times // bin_s).astype(np.int64), bins)  # beyond the end: dropped
    counts = np.bincount(index, minlength=bins + 1)[:bins]
    return np.arange(bins) * bin_s, counts / bin_s


def rate_table(traces, duration_s: float, *, max_points: int = 300) -> pd.DataFrame:
    """The :func:`rate_per_second` of several traces as one long table (columns ``trace``,
    ``t_s``, ``arrival_rps``), each over [0, max(``duration_s``, its last arrival)).

    ``traces`` maps names to arrival times (at most 100 traces); used by chapter 3's traffic
    chart.
    """
    if not isinstance(traces, Mapping) or not 0 < len(traces) <= MAX_RATE_TABLE_TRACES:
        raise ParameterError("traces", f"a dict of 1 to {MAX_RATE_TABLE_TRACES} name: arrival "
                             "times", type(traces).__name__)
    duration_s = _duration("duration_s", duration_s)
    frames = []
    for name, times in traces.items():
        times = check_arrival_times(f"traces[{name!r}]", times)
        t_s, rps = rate_per_second(times, max(float(times[-1]), duration_s),
                                   max_points=max_points)
        frames.append(pd.DataFrame({"trace": name, "t_s": t_s, "arrival_rps": rps}))
    return pd.concat(frames, ignore_index=True)
