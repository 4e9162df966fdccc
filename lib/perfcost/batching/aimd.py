"""Additive increase, multiplicative decrease of the batch limit (Crankshaw et al. 2017):
on the measured p95 (:class:`AIMDBatching`), and as Clipper drives it, on each batch's service
time (:class:`ClipperAIMDBatching`).

Each follows :class:`perfcost.batching.BatchingPolicy`: ``start()`` gives the first
(max_wait_ms, max_batch_size) and ``update(measurement)`` the next, once per control interval.

Used by chapter 3 (batching).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from perfcost.batching.feedback import check_batch_limit, check_min_samples
from perfcost.batching.policy import MAX_BATCH_SIZE, MAX_SLO_MS, MAX_WAIT_MS, Measurement, check_slo
from perfcost.validation import fraction, integer_in_range, non_negative, positive

__all__ = ["AIMDBatching", "ClipperAIMDBatching"]


def _check_aimd_settings(policy) -> None:
    """Check and normalise the settings both AIMD policies share, in place, by name."""
    policy.slo_p95_ms = check_slo(policy.slo_p95_ms)
    policy.max_wait_ms = non_negative("max_wait_ms", policy.max_wait_ms, maximum=MAX_WAIT_MS)
    policy.max_batch_limit = check_batch_limit(policy.max_batch_limit)
    policy.initial_batch_size = integer_in_range(
        "initial_batch_size", policy.initial_batch_size, 1, policy.max_batch_limit)
    policy.additive_step = integer_in_range("additive_step", policy.additive_step, 1,
                                            MAX_BATCH_SIZE)
    policy.decrease_factor = fraction("decrease_factor", policy.decrease_factor,
                                      low_open=True, high_open=True)


@dataclass
class AIMDBatching:
    """Clipper's adaptive batching (Crankshaw et al. 2017): additive increase, multiplicative
    decrease of the batch size on the measured p95.

    Every interval with at least ``min_samples`` completed requests: if their p95 exceeds the
    SLO, the batch limit is multiplied by ``decrease_factor``; otherwise it grows by
    ``additive_step``. The batching window stays at ``max_wait_ms`` (Clipper does not wait).
    Batch limits and steps are at most 4096, ``max_wait_ms`` at most 60,000.
    """

    slo_p95_ms: float
    max_wait_ms: float = 0.0
    initial_batch_size: int = 1
    additive_step: int = 2
    decrease_factor: float = 0.9  # Clipper backs off by 10%
    max_batch_limit: int = 128
    min_samples: int = 20
    batch_size: int = field(init=False, default=0)

    def __post_init__(self):
        _check_aimd_settings(self)
        self.min_samples = check_min_samples(self.min_samples)

    def start(self) -> tuple[float, int]:
        """The initial batch size, and the fixed window."""
        self.batch_size = self.initial_batch_size
        return self.max_wait_ms, self.batch_size

    def update(self, measurement: Measurement) -> tuple[float, int]:
        """Additive increase while the interval's p95 meets the SLO, multiplicative decrease
        when it does not; no change on too few samples."""
        if measurement.latencies_ms.size >= self.min_samples:
            if np.quantile(measurement.latencies_ms, 0.95) > self.slo_p95_ms:
                self.batch_size = max(1, math.floor(self.batch_size * self.decrease_factor))
            else:
                self.batch_size = min(self.max_batch_limit, self.batch_size + self.additive_step)
        return self.max_wait_ms, self.batch_size


@dataclass
class ClipperAIMDBatching:
    """Clipper's AIMD as Clipper drives it (Crankshaw et al. 2017, §4.3.1): additive increase
    of the batch limit while batches are processed within the latency objective, and a 10%
    multiplicative backoff when one is not.

    Clipper defines the best batch size as "the batch size that maximizes throughput subject to
    the constraint that the batch evaluation latency is under the target SLO", so the signal is
    each batch's measured service time, not the end-to-end p95. Clipper steps after every
    batch; here the limit only changes at control times, so the step is taken once per control
    interval (as TCP steps once per round trip): a backoff if any batch of the interval took
    longer than ``batch_objective_ms`` (default: the SLO, Clipper's choice), else an increase
    if any batch was dispatched; none in an interval without batches. The window stays at
    ``max_wait_ms`` (Clipper's delayed batching).
    """

    slo_p95_ms: float
    max_wait_ms: float = 0.0
    initial_batch_size: int = 1
    additive_step: int = 2
    decrease_factor: float = 0.9
    max_batch_limit: int = 128
    batch_objective_ms: float | None = None
    batch_size: int = field(init=False, default=0)

    def __post_init__(self):
        _check_aimd_settings(self)
        if self.batch_objective_ms is None:
            self.batch_objective_ms = self.slo_p95_ms
        self.batch_objective_ms = positive("batch_objective_ms", self.batch_objective_ms,
                                           maximum=MAX_SLO_MS)

    def start(self) -> tuple[float, int]:
        """The initial batch limit, and the fixed window."""
        self.batch_size = self.initial_batch_size
        return self.max_wait_ms, self.batch_size

    def update(self, measurement: Measurement) -> tuple[float, int]:
        """One AIMD step on the interval's batches: back off if one missed the objective."""
        service_ms = measurement.batch_service_ms
        if service_ms.size and service_ms.max() > self.batch_objective_ms:
            self.batch_size = max(1, math.floor(self.batch_size * self.decrease_factor))
        elif service_ms.size:
            self.batch_size = min(self.max_batch_limit, self.batch_size + self.additive_step)
        return self.max_wait_ms, self.batch_size
