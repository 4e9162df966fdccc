"""Request arrival traces: seeded generators of arrival times in seconds, sorted ascending.

Used by chapter 1 (checking the M/M/c formulas against simulation) and by the batching chapter.
"""

from __future__ import annotations

import numpy as np

from perfcost.validation import integer_at_least, positive

__all__ = ["poisson_arrival_times"]


def poisson_arrival_times(rate_rps: float, count: int, *, seed: int = 0) -> np.ndarray:
    """Return ``count`` arrival times of a Poisson process at ``rate_rps``, starting after 0.

    Inter-arrival gaps are independent Exp(rate_rps) draws from ``numpy.random.default_rng(seed)``.
    """
    rate_rps = positive("rate_rps", rate_rps)
    count = integer_at_least("count", count, 1)
    gaps_s = np.random.default_rng(seed).exponential(1.0 / rate_rps, size=count)
    return np.cumsum(gaps_s)
