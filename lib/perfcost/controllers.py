"""Batching policies that adapt: the AIMD baseline, a naive proportional one, and ours.

Each policy follows :class:`perfcost.batching.BatchingPolicy`: ``start()`` gives the first
(max_wait_ms, max_batch_size) and ``update(measurement)`` the next, once per control interval,
from what the server measured (:class:`perfcost.batching.Measurement`). A policy may also set
``last_decision``, a dict the simulator copies into its timeline (mode, predicted p95, ...).

Used by chapter 3 (batching).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from perfcost.batching import (
    MAX_BATCH_SIZE,
    MAX_SERVICE_MS,
    MAX_SLO_MS,
    MAX_WAIT_MS,
    LinearServiceTime,
    Measurement,
)
from perfcost.validation import (
    ParameterError,
    at_least,
    fraction,
    integer_in_range,
    non_negative,
    positive,
)

__all__ = ["AIMDBatching", "NaiveProportionalBatching", "SLOBatchingController"]

# Upper limits of the policies' settings, besides the simulator's own (batching.MAX_*).
MAX_MIN_SAMPLES = 1_000_000  # more completions than a 1 s interval at 10^6 rps: never acts
MAX_GAIN = 100.0  # a gain of 100 already moves by 100x the error per interval
MAX_WINDOW_S = 86_400.0  # a day of history: longer is no longer a feedback window
MAX_RATIO = 1000.0  # spike thresholds and growth steps: 1000x per interval


def _slo(value) -> float:
    return positive("slo_p95_ms", value, maximum=MAX_SLO_MS)


def _batch_limit(value) -> int:
    return integer_in_range("max_batch_limit", value, 1, MAX_BATCH_SIZE)


def _min_samples(value) -> int:
    return integer_in_range("min_samples", value, 1, MAX_MIN_SAMPLES)


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
        self.slo_p95_ms = _slo(self.slo_p95_ms)
        self.max_wait_ms = non_negative("max_wait_ms", self.max_wait_ms, maximum=MAX_WAIT_MS)
        self.max_batch_limit = _batch_limit(self.max_batch_limit)
        self.initial_batch_size = integer_in_range("initial_batch_size", self.initial_batch_size,
                                                   1, self.max_batch_limit)
        self.additive_step = integer_in_range("additive_step", self.additive_step, 1,
                                              MAX_BATCH_SIZE)
        self.decrease_factor = fraction("decrease_factor", self.decrease_factor,
                                        low_open=True, high_open=True)
        self.min_samples = _min_samples(self.min_samples)

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
        self.slo_p95_ms = _slo(self.slo_p95_ms)
        self.gain = positive("gain", self.gain, maximum=MAX_GAIN)
        self.target_fraction = fraction("target_fraction", self.target_fraction, low_open=True)
        self.initial_wait_ms = positive("initial_wait_ms", self.initial_wait_ms,
                                        maximum=MAX_WAIT_MS)
        self.max_batch_limit = _batch_limit(self.max_batch_limit)
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


@dataclass
class _ServiceFit:
    """Least-squares fit of batch service time = base + per_item × b from measured batches."""

    count: float = 0.0
    sum_b: float = 0.0
    sum_bb: float = 0.0
    sum_y: float = 0.0
    sum_by: float = 0.0

    def add(self, sizes: np.ndarray, service_ms: np.ndarray) -> None:
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


@dataclass
class SLOBatchingController:
    """A feedback controller with a feed-forward model that holds a p95 latency SLO.

    The loop, every control interval: **measure** (completed latencies, arrivals, queue length,
    batch sizes and their measured service times); **estimate** (a windowed p95 over
    ``latency_window_s``, the arrival rate over a short window and a long one, the service line
    base + per_item × b fitted by least squares from the batches themselves); **decide**; **apply**
    within the safety limits below.

    Decide. *Feed-forward*: for every batch size b up to the limit, predict the p95 at the
    current rate λ from the service model: the time to fill the batch, (b − 1)/λ, capped at the
    window limit, plus the batch's service time s(b), plus Kingman's queueing delay for batches
    that form from Poisson arrivals (c_a² = 1/b) and take a near-constant time,
    ρ/(1 − ρ) · (1/b)/2 · s(b), with ρ(b) = λ s(b) / (instances · b). Choose the largest b
    whose prediction, corrected by the feedback term, stays under ``target_fraction`` of the SLO:
    the largest batch is the cheapest per request. The window W is the time to fill that batch.
    *Feedback*: the error between the measured and the predicted p95 is integrated into a bias
    (gain ``integral_gain``) that corrects the model; anti-windup clamps it to ±SLO/2 and freezes
    it while the controller is saturated (at a bound, in overload or in a spike).

    Stability. A deadband ignores changes of less than ``deadband`` (relative); the batch size
    moves at most ×``max_step_up`` up and ×``max_step_down`` down per interval, the window at
    most ``max_wait_step_ms``; hysteresis: batches grow only while the measured p95 is below
    ``grow_below`` × SLO, and shrink only when the prediction or the measurement says the SLO is
    at risk.

    Safety. Hard bounds (``max_batch_limit``, ``max_wait_limit_ms``); no change on fewer than
    ``min_samples`` completions; the ``fallback`` configuration until the service model is
    identified (batches of two sizes seen). ``max_batch_limit`` is at most 4096 and every wait
    at most 60,000 ms (the simulator's limits); windows and hold times at most a day.

    Spikes. A short-window rate above ``panic_ratio`` × the long-window rate enters panic mode
    for ``panic_hold_s`` (as Knative's autoscaler does): the feed-forward uses the short-window
    rate plus the backlog, and the batch size may grow but never shrink. Under overload, when
    no batch size keeps ρ below 1, the controller holds the largest batch (the most throughput
    per instance) and raises ``scale_out`` in its decision: no configuration can meet the SLO,
    so the answer is more instances or shedding load, not smaller batches.
    """

    slo_p95_ms: float
    max_batch_limit: int = 128
    max_wait_limit_ms: float | None = None  # None: 60% of the SLO, at most 60,000
    target_fraction: float = 0.75
    latency_window_s: float = 5.0
    long_window_s: float = 30.0
    panic_ratio: float = 2.0
    panic_hold_s: float = 10.0
    min_samples: int = 20
    integral_gain: float = 0.3
    deadband: float = 0.1
    max_step_up: float = 2.0
    max_step_down: float = 0.75
    max_wait_step_ms: float = 5.0
    grow_below: float = 0.85
    fallback: tuple[float, int] | None = None  # default (min(2 ms, max_wait_limit_ms), 8)
    last_decision: dict = field(init=False, default_factory=dict)

    def __post_init__(self):
        self.slo_p95_ms = _slo(self.slo_p95_ms)
        self.max_batch_limit = _batch_limit(self.max_batch_limit)
        self._check_wait_limit()
        self.target_fraction = fraction("target_fraction", self.target_fraction,
                                        low_open=True, high_open=True)
        for name in ("latency_window_s", "long_window_s", "panic_hold_s"):
            setattr(self, name, positive(name, getattr(self, name), maximum=MAX_WINDOW_S))
        self.integral_gain = positive("integral_gain", self.integral_gain, maximum=MAX_GAIN)
        self.max_wait_step_ms = positive("max_wait_step_ms", self.max_wait_step_ms,
                                         maximum=MAX_WAIT_MS)
        self.panic_ratio = positive("panic_ratio", self.panic_ratio, maximum=MAX_RATIO)
        self.min_samples = _min_samples(self.min_samples)
        self.deadband = fraction("deadband", self.deadband, high_open=True)
        self.max_step_up = at_least("max_step_up", self.max_step_up, 1.0, maximum=MAX_RATIO)
        self.max_step_down = fraction("max_step_down", self.max_step_down, low_open=True)
        self.grow_below = fraction("grow_below", self.grow_below, low_open=True)
        self._check_fallback()

    def _check_wait_limit(self) -> None:
        if self.max_wait_limit_ms is None:
            self.max_wait_limit_ms = min(0.6 * self.slo_p95_ms, MAX_WAIT_MS)
        self.max_wait_limit_ms = non_negative("max_wait_limit_ms", self.max_wait_limit_ms,
                                              maximum=MAX_WAIT_MS)
        if self.max_wait_limit_ms >= self.slo_p95_ms:
            raise ParameterError("max_wait_limit_ms", f"< slo_p95_ms = {self.slo_p95_ms:g} "
                                 "(a window as long as the SLO spends it all waiting)",
                                 self.max_wait_limit_ms)

    def _check_fallback(self) -> None:
        if self.fallback is None:  # 2 ms and batch 8, within a tight SLO's wait limit
            self.fallback = (min(2.0, self.max_wait_limit_ms), min(8, self.max_batch_limit))
        fallback = self.fallback
        if isinstance(fallback, str | bytes) or not hasattr(fallback, "__len__") \
                or len(fallback) != 2:
            raise ParameterError("fallback", "a pair (wait in ms, batch size)", fallback)
        wait = non_negative("fallback wait", fallback[0], maximum=MAX_WAIT_MS)
        if wait > self.max_wait_limit_ms:
            raise ParameterError("fallback wait", f"<= max_wait_limit_ms = "
                                 f"{self.max_wait_limit_ms:g}", wait)
        size = integer_in_range("fallback batch size", fallback[1], 1, self.max_batch_limit)
        self.fallback = (wait, size)

    # --- state ---------------------------------------------------------------------------------

    def start(self) -> tuple[float, int]:
        """Reset the state; begin with the fallback configuration."""
        self._latencies: deque = deque()  # (t_s, latencies_ms array) within the latency window
        self._long_rps: float | None = None
        self._fit = _ServiceFit()
        self._bias_ms = 0.0
        self._panic_until = -math.inf
        self._wait_ms, self._batch = self.fallback
        self.last_decision = {}
        return self._wait_ms, self._batch

    def _windowed_p95(self, t_s: float) -> float | None:
        while self._latencies and self._latencies[0][0] <= t_s - self.latency_window_s:
            self._latencies.popleft()
        samples = [lat for _, lat in self._latencies]
        count = sum(s.size for s in samples)
        if count < self.min_samples:
            return None
        return float(np.quantile(np.concatenate(samples), 0.95))

    # --- the model ------------------------------------------------------------------------------

    def _predict_ms(self, model: LinearServiceTime, rate_rps: float, instances: int,
                    sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Predicted p95 (ms) and utilisation for each batch size at ``rate_rps``."""
        service_ms = model.batch_ms(sizes)
        rho = rate_rps * service_ms / (1000.0 * instances * sizes)
        fill_ms = np.minimum((sizes - 1) / max(rate_rps, 1e-9) * 1000.0, self.max_wait_limit_ms)
        # Kingman: batches of b Poisson arrivals come with c_a^2 = 1/b; service is near constant.
        with np.errstate(divide="ignore", invalid="ignore"):
            queueing_ms = np.where(rho < 1, rho / (1 - rho) * (1 / sizes) / 2 * service_ms, np.inf)
        return fill_ms + service_ms + queueing_ms, rho

    # --- the loop -------------------------------------------------------------------------------

    def update(self, m: Measurement) -> tuple[float, int]:
        """Measure, estimate, decide, apply; see the class docstring."""
        # Measure and estimate.
        self._latencies.append((m.t_s, m.latencies_ms))
        self._fit.add(m.batch_sizes, m.batch_service_ms)
        p95_ms = self._windowed_p95(m.t_s)
        short_rps = m.arrival_rps
        alpha = min(1.0, m.interval_s / self.long_window_s)
        previous_long = self._long_rps if self._long_rps is not None else short_rps
        self._long_rps = previous_long + alpha * (short_rps - previous_long)
        spike = short_rps > self.panic_ratio * max(previous_long, 1e-9)
        if spike and m.arrivals >= self.min_samples:
            self._panic_until = m.t_s + self.panic_hold_s
        panic = m.t_s < self._panic_until
        model = self._fit.model()
        decision = {"mode": "normal", "scale_out": False, "predicted_p95_ms": math.nan,
                    "bias_ms": self._bias_ms, "long_rps": self._long_rps}
        if model is None:  # safety: not identified yet
            decision["mode"] = "fallback"
            self.last_decision = decision
            self._wait_ms, self._batch = self.fallback
            return self.fallback

        # Feed-forward: the rate to plan for, with the backlog drained over one interval.
        backlog_rps = m.queue_len / m.interval_s
        rate = (short_rps if panic else max(short_rps, self._long_rps)) + backlog_rps
        sizes = np.arange(1, self.max_batch_limit + 1, dtype=float)
        predicted, rho = self._predict_ms(model, rate, m.instances, sizes)
        corrected = predicted + self._bias_ms
        target = self.target_fraction * self.slo_p95_ms
        fits = np.flatnonzero(corrected <= target)
        overloaded = not np.any(rho < 1)
        if fits.size:
            want = int(sizes[fits[-1]])
        elif overloaded:
            want = self.max_batch_limit  # the most throughput an instance has
            decision["scale_out"] = True
        else:  # feasible only above target: the stable batch with the lowest prediction
            stable = np.flatnonzero(rho < 1)
            want = int(sizes[stable[np.argmin(predicted[stable])]])
            decision["scale_out"] = bool(predicted[stable].min() + self._bias_ms
                                         > self.slo_p95_ms)
        decision["mode"] = "overload" if overloaded else ("panic" if panic else "normal")

        # Feedback on the p95 error, with anti-windup.
        current_prediction = float(self._predict_ms(model, rate, m.instances,
                                                    np.array([float(self._batch)]))[0][0])
        saturated = overloaded or panic or self._batch in (1, self.max_batch_limit)
        if p95_ms is not None and math.isfinite(current_prediction) and not saturated:
            error = p95_ms - current_prediction - self._bias_ms
            limit = self.slo_p95_ms / 2
            self._bias_ms = min(limit, max(-limit, self._bias_ms + self.integral_gain * error))

        # Safety: too few samples and no spike: hold.
        if p95_ms is None and not (panic or overloaded):
            decision["mode"] = "hold"
            self.last_decision = decision
            return self._wait_ms, self._batch

        # Stability: hysteresis, deadband and rate limits.
        batch = self._batch
        if want > batch and (p95_ms is None or p95_ms < self.grow_below * self.slo_p95_ms
                             or overloaded or panic):
            batch = min(want, math.floor(batch * self.max_step_up))
        elif want < batch and not (panic or overloaded):  # never shrink under overload
            batch = max(want, math.ceil(batch * self.max_step_down))
        if abs(batch - self._batch) < self.deadband * self._batch:
            batch = self._batch
        batch = min(self.max_batch_limit, max(1, batch))
        fill_ms = (batch - 1) / max(rate, 1e-9) * 1000.0
        wait = min(self.max_wait_limit_ms, fill_ms)
        if overloaded or panic:
            wait = min(wait, self._wait_ms)  # a backlog fills batches; never wait longer then
        step = self.max_wait_step_ms
        wait = min(self._wait_ms + step, max(self._wait_ms - step, wait))
        if abs(wait - self._wait_ms) < self.deadband * max(self._wait_ms, 1.0):
            wait = self._wait_ms
        self._wait_ms, self._batch = wait, batch
        decision.update(predicted_p95_ms=float(corrected[batch - 1]), bias_ms=self._bias_ms)
        self.last_decision = decision
        return wait, batch
