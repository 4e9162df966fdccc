"""What a batching policy sees and what it may set: the measurement, the protocol, the limits.

A policy is any object with ``start()``, returning the first (max_wait_ms, max_batch_size), and
``update(measurement)``, returning the next after every control interval from a
:class:`Measurement`: only what a real server can observe, never the future.
:class:`StaticBatching` is the fixed configuration every serving system ships.

Used by chapter 3 (batching).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from perfcost.validation import (
    ParameterError,
    in_range,
    integer_in_range,
    non_negative,
    positive,
)

__all__ = ["MAX_BATCH_SIZE", "MAX_INSTANCES", "MAX_SLO_MS", "MAX_WAIT_MS", "BatchingPolicy",
           "Measurement", "StaticBatching"]

MAX_WAIT_MS = 60_000.0  # a batching window of a minute outlasts every client timeout
MAX_BATCH_SIZE = 4096  # above any batch an inference server is configured for
MAX_INSTANCES = 10_000  # every dispatch scans the instances for the earliest free one
MAX_SLO_MS = 3_600_000.0  # an hour: far beyond any latency objective of a served model


def check_slo(slo_p95_ms) -> float:
    """A p95 latency objective in (0, 3.6e6] ms, named ``slo_p95_ms``."""
    return positive("slo_p95_ms", slo_p95_ms, maximum=MAX_SLO_MS)


def _check_parameters(max_wait_ms, max_batch_size) -> tuple[float, int]:
    return (non_negative("max_wait_ms", max_wait_ms, maximum=MAX_WAIT_MS),
            integer_in_range("max_batch_size", max_batch_size, 1, MAX_BATCH_SIZE))


def policy_parameters(returned, method: str) -> tuple[float, int]:
    """Check what a policy's ``start()`` or ``update()`` returned."""
    if not isinstance(returned, tuple | list) or len(returned) != 2:
        raise ParameterError(f"controller.{method}()", "a pair (max_wait_ms, max_batch_size)",
                             returned)
    return _check_parameters(*returned)


@dataclass(frozen=True)
class Measurement:
    """What the server measured over the control interval that just ended (at ``t_s``).

    ``interval_s`` is the control interval, or the length of a merged quiet stretch (see
    :mod:`perfcost.batching.simulator`).

    Only what a real server can observe: latencies of requests that *completed* in the interval,
    how many requests arrived, the queue now, and the batches dispatched with their measured
    service times. Never the future.
    """

    t_s: float
    interval_s: float
    latencies_ms: np.ndarray  # completed in (t_s - interval_s, t_s]
    arrivals: int  # arrived in the interval
    queue_len: int  # waiting at t_s
    batch_sizes: np.ndarray  # dispatched in the interval
    batch_service_ms: np.ndarray  # their service times, as measured
    max_wait_ms: float  # the parameters in force during the interval
    max_batch_size: int
    instances: int

    def __post_init__(self):
        in_range("t_s", self.t_s, 0.0)
        positive("interval_s", self.interval_s)
        for name in ("arrivals", "queue_len"):
            integer_in_range(name, getattr(self, name), 0)
        for name in ("latencies_ms", "batch_sizes", "batch_service_ms"):
            if not isinstance(getattr(self, name), np.ndarray):
                raise ParameterError(name, "a NumPy array", type(getattr(self, name)).__name__)
        _check_parameters(self.max_wait_ms, self.max_batch_size)
        integer_in_range("instances", self.instances, 1, MAX_INSTANCES)

    @property
    def arrival_rps(self) -> float:
        """Arrivals per second over the interval."""
        return self.arrivals / self.interval_s


class BatchingPolicy(Protocol):
    """A batching policy: its first parameters, then new ones after every control interval."""

    def start(self) -> tuple[float, int]:
        """Return the initial (max_wait_ms, max_batch_size)."""

    def update(self, measurement: Measurement) -> tuple[float, int]:
        """Return (max_wait_ms, max_batch_size) for the next interval."""


@dataclass(frozen=True)
class StaticBatching:
    """The fixed configuration every serving system ships: the same W and B all the time.

    ``max_wait_ms`` is in [0, 60000] and ``max_batch_size`` in [1, 4096].
    """

    max_wait_ms: float
    max_batch_size: int

    def __post_init__(self):
        wait, size = _check_parameters(self.max_wait_ms, self.max_batch_size)
        object.__setattr__(self, "max_wait_ms", wait)
        object.__setattr__(self, "max_batch_size", size)

    def start(self) -> tuple[float, int]:
        """The configuration."""
        return self.max_wait_ms, self.max_batch_size

    def update(self, measurement: Measurement) -> tuple[float, int]:
        """The configuration, unchanged."""
        return self.max_wait_ms, self.max_batch_size
