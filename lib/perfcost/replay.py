"""Replaying a real trace's shape at another scale: its per-bin counts scaled so the busiest
bin runs at a chosen peak (:func:`replay_rates`), and Poisson arrivals within each bin at those
rates (:func:`replay_trace`).

The burstiness between bins is the trace's; within a bin it is Poisson. A trace comes from
:func:`perfcost.trace_files.load_trace` or any array of arrival times in seconds, checked by
:func:`perfcost.traffic.check_arrival_times`.

Used by chapter 3 (batching: ``trace_path`` and ``trace_peak_rps``) and ``make bench``.
"""

from __future__ import annotations

import math

import numpy as np

from perfcost.traffic import MAX_RATE_RPS, check_arrival_times, check_expected_count
from perfcost.validation import ParameterError, in_range, positive, seed_value

__all__ = ["MAX_REPLAY_BINS", "REPLAY_BIN_S", "replay_rates", "replay_trace"]

MAX_REPLAY_BINS = 10_000_000  # bins of a replayed trace: 80 MB of counts (116 days of seconds)
REPLAY_BIN_S = (1e-3, 3600.0)  # a millisecond to an hour


def replay_rates(arrival_times_s, peak_rps: float, *, bin_s: float = 1.0) -> np.ndarray:
    """The rate (requests/s) of each ``bin_s`` bin of a trace, scaled so the busiest is
    ``peak_rps``: counts × peak_rps / max(counts).

    Bins start at the trace's first arrival; bin i covers [first + i × bin_s, first + (i + 1) ×
    bin_s), and the last holds the last arrival. ``peak_rps`` is in (0, 10^6], ``bin_s`` in
    [0.001, 3600], and the trace spans at most 10^7 bins.
    """
    times = check_arrival_times("arrival_times_s", arrival_times_s)
    peak_rps = positive("peak_rps", peak_rps, maximum=MAX_RATE_RPS)
    bin_s = in_range("bin_s", bin_s, *REPLAY_BIN_S)
    bins = math.floor((times[-1] - times[0]) / bin_s) + 1
    if bins > MAX_REPLAY_BINS:
        raise ParameterError("(last - first arrival) / bin_s", f"at most {MAX_REPLAY_BINS:.0e} "
                             "bins (a wider bin_s or a shorter trace)", bins)
    # The same division as ``bins`` above: ``//`` by a bin_s like 0.001 (a shade above 1/1000
    # in binary) would put an arrival one bin earlier than ``bins`` counts it.
    index = np.minimum(np.floor((times - times[0]) / bin_s).astype(np.int64), bins - 1)
    counts = np.bincount(index, minlength=bins)
    return counts * (peak_rps / counts.max())


def replay_trace(arrival_times_s, peak_rps: float, *, seed: int, bin_s: float = 1.0) -> np.ndarray:
    """Replay a real trace's shape at another scale: Poisson arrivals within each ``bin_s`` bin
    at :func:`replay_rates`, so the busiest bin runs at ``peak_rps``.

    Bin i draws a Poisson(rate_i × bin_s) count placed uniformly in it, from
    ``numpy.random.default_rng(seed)``. Times start at 0 at the trace's first arrival (a trace
    at Unix-epoch seconds replays from 0) and come back sorted; a tiny peak may draw none. The
    burstiness between bins is the trace's; within a bin it is Poisson. At most
    ``perfcost.traffic.MAX_REQUESTS`` expected requests (peak_rps × bin_s × len(trace) / the
    busiest bin's count) and a ``seed`` in [0, 2**32 - 1], which must be given.
    """
    rates = replay_rates(arrival_times_s, peak_rps, bin_s=bin_s)
    seed = seed_value(seed)
    bin_s = float(bin_s)
    check_expected_count("peak_rps × bin_s × len(arrival_times_s) / max(bin counts)",
                    float(rates.sum()) * bin_s)
    rng = np.random.default_rng(seed)
    counts = rng.poisson(rates * bin_s)
    starts = np.repeat(np.arange(rates.size) * bin_s, counts)
    return np.sort(starts + rng.uniform(0.0, bin_s, size=starts.size))
