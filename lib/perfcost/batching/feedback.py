"""What the feedback policies share: the limits of their settings and the checks that enforce
them, the windowed p95 they measure, and the service line the model-based controllers fit.

The AIMD policies (:mod:`~perfcost.batching.aimd`), the naive proportional one
(:mod:`~perfcost.batching.naive_proportional`), chapter 3's first controller
(:mod:`~perfcost.batching.slo_controller`) and the envelope controller
(:mod:`~perfcost.batching.envelope`) check their settings here, so the same setting has the
same range and the same message in each.

Used by chapter 3 (batching).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from perfcost.batching.policy import MAX_BATCH_SIZE, MAX_WAIT_MS
from perfcost.batching.service import MAX_SERVICE_MS, LinearServiceTime
from perfcost.validation import ParameterError, integer_in_range, non_negative

__all__ = ["MAX_GAIN", "MAX_MIN_SAMPLES", "MAX_RATIO", "MAX_WINDOW_S"]

# Upper limits of the policies' settings, besides the simulator's own (batching.MAX_*).
MAX_MIN_SAMPLES = 1_000_000  # more completions than a 1 s interval at 10^6 rps: never acts
MAX_GAIN = 100.0  # a gain of 100 already moves by 100x the error per interval
MAX_WINDOW_S = 86_400.0  # a day of history: longer is no longer a feedback window
MAX_RATIO = 1000.0  # spike thresholds and growth steps: 1000x per interval


def check_batch_limit(value) -> int:
    return integer_in_range("max_batch_limit", value, 1, MAX_BATCH_SIZE)


def check_min_samples(value) -> int:
    return integer_in_range("min_samples", value, 1, MAX_MIN_SAMPLES)


def check_wait_limit(value, slo_p95_ms: float, default_share: float) -> float:
    """The longest window a controller may set: ``default_share`` × the SLO when ``value`` is
    None (at most ``MAX_WAIT_MS``); always shorter than the SLO, or every request would spend
    its whole budget waiting."""
    if value is None:
        value = min(default_share * slo_p95_ms, MAX_WAIT_MS)
    value = non_negative("max_wait_limit_ms", value, maximum=MAX_WAIT_MS)
    if value >= slo_p95_ms:
        raise ParameterError("max_wait_limit_ms", f"< slo_p95_ms = {slo_p95_ms:g} "
                             "(a window as long as the SLO spends it all waiting)", value)
    return value


def windowed_p95(latencies: deque, t_s: float, window_s: float,
                  min_samples: int) -> float | None:
    """The p95 of the latencies (``(t_s, array)`` pairs) completed within ``window_s`` of
    ``t_s``, dropping older ones from the deque; None on fewer than ``min_samples``."""
    while latencies and latencies[0][0] <= t_s - window_s:
        latencies.popleft()
    samples = [lat for _, lat in latencies]
    if sum(s.size for s in samples) < min_samples:
        return None
    return float(np.quantile(np.concatenate(samples), 0.95))



def check_fallback(policy) -> None:
    """Check a controller's ``fallback`` (wait in ms, batch size) against its own
    ``max_wait_limit_ms`` and ``max_batch_limit``, in place, by name; None becomes 2 ms and
    batch 8, within a tight SLO's wait limit."""
    if policy.fallback is None:
        policy.fallback = (min(2.0, policy.max_wait_limit_ms), min(8, policy.max_batch_limit))
    fallback = policy.fallback
    if isinstance(fallback, str | bytes) or not hasattr(fallback, "__len__") \
            or len(fallback) != 2:
        raise ParameterError("fallback", "a pair (wait in ms, batch size)", fallback)
    wait = non_negative("fallback wait", fallback[0], maximum=MAX_WAIT_MS)
    if wait > policy.max_wait_limit_ms:
        raise ParameterError("fallback wait", f"<= max_wait_limit_ms = "
                             f"{policy.max_wait_limit_ms:g}", wait)
    size = integer_in_range("fallback batch size", fallback[1], 1, policy.max_batch_limit)
    policy.fallback = (wait, size)


@dataclass
class ServiceFit:
    """Least-squares fit of batch service time = base + per_item × b from measured batches."""

    count: float = 0.0
    sum_b: float = 0.0
    sum_bb: float = 0.0
    sum_y: float = 0.0
    sum_by: float = 0.0
    largest: int = 0  # the largest batch seen

    def add(self, sizes: np.ndarray, service_ms: np.ndarray) -> None:
        if sizes.size:
            self.largest = max(self.largest, int(sizes.max()))
        self.count += sizes.size
        self.sum_b += float(sizes.sum())
        self.sum_bb += float((sizes.astype(float) ** 2).sum())
        self.sum_y += float(service_ms.sum())
        self.sum_by += float((sizes * service_ms).sum())

    def model(self) -> LinearServiceTime | None:
        """The fitted line, or None until batches of at least two sizes have been seen."""
        spread = self.count * self.sum_bb - self.sum_b**2
        if self.count < 2 or spread <= 1e-9 * max(1.0, self.count * self.sum_bb):
            return None
        per_item = (self.count * self.sum_by - self.sum_b * self.sum_y) / spread
        base = (self.sum_y - per_item * self.sum_b) / self.count
        if not per_item > 0 or not math.isfinite(base):
            return None
        # Jitter can put a fit beyond the limits of a service line: clip it to them.
        return LinearServiceTime(min(MAX_SERVICE_MS, max(0.0, base)),
                                 min(MAX_SERVICE_MS, per_item))

