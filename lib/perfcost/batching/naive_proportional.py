"""A latency-only proportional batching policy, for contrast with the controllers: it shows
oscillation at a high gain and the positive-feedback trap under overload.

It follows :class:`perfcost.batching.BatchingPolicy`: ``start()`` gives the first
(max_wait_ms, max_batch_size) and ``update(measurement)`` the next, once per control interval.

Used by chapter 3 (batching).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from perfcost.batching.feedback import MAX_GAIN, check_batch_limit
from perfcost.batching.policy import MAX_WAIT_MS, Measurement, check_slo
from perfcost.validation import fraction, integer_in_range, positive

__all__ = ["NaiveProportionalBatching"]


@dataclass
class NaiveProportionalBatching:
    """A latency-only proportional controller, for contrast: scale ← scale × (1 − gain × error).

    error = (p95 − target) / target on the last interval's completions, and the window and the
    batch limit move together: W = scale × ``initial_wait_ms``, B = scale × ``initial_batch_size``.
    With no deadband, no rate limit, no model and no notion of overload, a high gain makes it
    oscillate, and under overload it shrinks batches, which cuts throughput and lengthens the
    queue: the positive-feedback trap. The window never exceeds the SLO nor 60,000 ms.
    """

    slo_p95_ms: float
    gain: float = 0.5
    target_fraction: float = 0.75
    initial_wait_ms: float = 4.0
    initial_batch_size: int = 8
    max_batch_limit: int = 128
    scale: float = field(init=False, default=1.0)

    def __post_init__(self):
        self.slo_p95_ms = check_slo(self.slo_p95_ms)
        self.gain = positive("gain", self.gain, maximum=MAX_GAIN)
        self.target_fraction = fraction("target_fraction", self.target_fraction, low_open=True)
        self.initial_wait_ms = positive("initial_wait_ms", self.initial_wait_ms,
                                        maximum=MAX_WAIT_MS)
        self.max_batch_limit = check_batch_limit(self.max_batch_limit)
        self.initial_batch_size = integer_in_range("initial_batch_size", self.initial_batch_size,
                                                   1, self.max_batch_limit)

    def _parameters(self) -> tuple[float, int]:
        batch = min(self.max_batch_limit, max(1, round(self.scale * self.initial_batch_size)))
        return min(self.scale * self.initial_wait_ms, self.slo_p95_ms, MAX_WAIT_MS), batch

    def start(self) -> tuple[float, int]:
        """The initial window and batch size."""
        self.scale = 1.0
        return self._parameters()

    def update(self, measurement: Measurement) -> tuple[float, int]:
        """Scale window and batch against the relative p95 error of the last interval."""
        if measurement.latencies_ms.size:
            target = self.target_fraction * self.slo_p95_ms
            error = (np.quantile(measurement.latencies_ms, 0.95) - target) / target
            self.scale *= max(0.05, 1.0 - self.gain * error)
            self.scale = min(self.max_batch_limit / self.initial_batch_size,
                             max(1 / self.initial_batch_size, self.scale))
        return self._parameters()
