"""Chapter 3's first controller: feedback on the windowed p95 with a feed-forward queueing
model, a deadband, rate limits and a panic mode (:class:`SLOBatchingController`).

The envelope controller (:mod:`~perfcost.batching.envelope`) replaced it; the chapter keeps it
in its tables as "first controller". It follows :class:`perfcost.batching.BatchingPolicy` and
sets ``last_decision``, a dict the simulator copies into its timeline (mode, predicted p95, ...).

Used by chapter 3 (batching).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from perfcost.batching.feedback import (
    MAX_GAIN,
    MAX_RATIO,
    MAX_WINDOW_S,
    ServiceFit,
    check_batch_limit,
    check_fallback,
    check_min_samples,
    check_wait_limit,
    windowed_p95,
)
from perfcost.batching.policy import MAX_WAIT_MS, Measurement, check_slo
from perfcost.batching.service import LinearServiceTime
from perfcost.validation import at_least, fraction, positive

__all__ = ["SLOBatchingController"]


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
    moves at most ×\\ ``max_step_up`` up and ×\\ ``max_step_down`` down per interval, the window at
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
        self.slo_p95_ms = check_slo(self.slo_p95_ms)
        self.max_batch_limit = check_batch_limit(self.max_batch_limit)
        self.max_wait_limit_ms = check_wait_limit(self.max_wait_limit_ms, self.slo_p95_ms, 0.6)
        self.target_fraction = fraction("target_fraction", self.target_fraction,
                                        low_open=True, high_open=True)
        for name in ("latency_window_s", "long_window_s", "panic_hold_s"):
            setattr(self, name, positive(name, getattr(self, name), maximum=MAX_WINDOW_S))
        self.integral_gain = positive("integral_gain", self.integral_gain, maximum=MAX_GAIN)
        self.max_wait_step_ms = positive("max_wait_step_ms", self.max_wait_step_ms,
                                         maximum=MAX_WAIT_MS)
        self.panic_ratio = positive("panic_ratio", self.panic_ratio, maximum=MAX_RATIO)
        self.min_samples = check_min_samples(self.min_samples)
        self.deadband = fraction("deadband", self.deadband, high_open=True)
        self.max_step_up = at_least("max_step_up", self.max_step_up, 1.0, maximum=MAX_RATIO)
        self.max_step_down = fraction("max_step_down", self.max_step_down, low_open=True)
        self.grow_below = fraction("grow_below", self.grow_below, low_open=True)
        check_fallback(self)  # None: 2 ms and batch 8, within a tight SLO's wait limit

    # --- state ---------------------------------------------------------------------------------

    def start(self) -> tuple[float, int]:
        """Reset the state; begin with the fallback configuration."""
        self._latencies: deque = deque()  # (t_s, latencies_ms array) within the latency window
        self._long_rps: float | None = None
        self._fit = ServiceFit()
        self._bias_ms = 0.0
        self._panic_until = -math.inf
        self._wait_ms, self._batch = self.fallback
        self.last_decision = {}
        return self._wait_ms, self._batch

    def _estimate(self, m: Measurement) -> tuple[float | None, bool]:
        """Measure and estimate: record the interval; return the windowed p95 (None on too
        few samples) and whether the controller is in panic mode."""
        self._latencies.append((m.t_s, m.latencies_ms))
        self._fit.add(m.batch_sizes, m.batch_service_ms)
        p95_ms = windowed_p95(self._latencies, m.t_s, self.latency_window_s,
                               self.min_samples)
        previous_long = self._update_long_rate(m.arrival_rps, m.interval_s)
        spike = m.arrival_rps > self.panic_ratio * max(previous_long, 1e-9)
        if spike and m.arrivals >= self.min_samples:
            self._panic_until = m.t_s + self.panic_hold_s
        return p95_ms, m.t_s < self._panic_until

    def _update_long_rate(self, short_rps: float, interval_s: float) -> float:
        """Move the long-window rate (an exponential average over ``long_window_s``) towards
        the interval's; return its previous value (the interval's own on a cold start)."""
        alpha = min(1.0, interval_s / self.long_window_s)
        previous = self._long_rps if self._long_rps is not None else short_rps
        self._long_rps = previous + alpha * (short_rps - previous)
        if self._long_rps == 0:  # nothing has arrived yet: a cold start, not a rate of zero
            self._long_rps = None
        return previous

    def _planning_rate(self, m: Measurement, panic: bool) -> float:
        """The rate to plan for: the interval's (in panic) or the higher of it and the long
        one, plus the backlog drained over one interval."""
        backlog_rps = m.queue_len / m.interval_s
        short_rps = m.arrival_rps
        return (short_rps if panic else max(short_rps, self._long_rps or 0.0)) + backlog_rps

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

    def _wanted(self, predicted: np.ndarray, corrected: np.ndarray, rho: np.ndarray,
                sizes: np.ndarray) -> tuple[int, bool]:
        """The batch size to aim for, and whether to ask for more instances: the largest whose
        corrected prediction meets the target; in overload the largest there is (the most
        throughput an instance has); else the stable batch with the lowest prediction, asking
        for more when even it misses the SLO."""
        fits = np.flatnonzero(corrected <= self.target_fraction * self.slo_p95_ms)
        if fits.size:
            return int(sizes[fits[-1]]), False
        if not np.any(rho < 1):
            return self.max_batch_limit, True
        stable = np.flatnonzero(rho < 1)
        want = int(sizes[stable[np.argmin(predicted[stable])]])
        return want, bool(predicted[stable].min() + self._bias_ms > self.slo_p95_ms)

    def _feedback(self, model: LinearServiceTime, rate: float, instances: int,
                  p95_ms: float | None, saturated: bool) -> None:
        """Integrate the p95 error of the batch in force into the bias, with anti-windup: a
        clamp to ±SLO/2, and no change while saturated."""
        current_prediction = float(self._predict_ms(model, rate, instances,
                                                    np.array([float(self._batch)]))[0][0])
        if p95_ms is not None and math.isfinite(current_prediction) and not saturated:
            error = p95_ms - current_prediction - self._bias_ms
            limit = self.slo_p95_ms / 2
            self._bias_ms = min(limit, max(-limit, self._bias_ms + self.integral_gain * error))

    def _limited_batch(self, want: int, p95_ms: float | None, urgent: bool) -> int:
        """The step towards ``want`` that hysteresis, the deadband and the rate limits allow;
        ``urgent`` (overload or panic) lets batches grow at any p95 and never shrink."""
        batch = self._batch
        if want > batch and (p95_ms is None or p95_ms < self.grow_below * self.slo_p95_ms
                             or urgent):
            batch = min(want, math.floor(batch * self.max_step_up))
        elif want < batch and not urgent:  # never shrink under overload
            batch = max(want, math.ceil(batch * self.max_step_down))
        if abs(batch - self._batch) < self.deadband * self._batch:
            batch = self._batch
        return min(self.max_batch_limit, max(1, batch))

    def _limited_wait(self, batch: int, rate: float, urgent: bool) -> float:
        """The time to fill ``batch`` at ``rate``, within the wait limit, the step limit and the
        deadband; ``urgent`` (overload or panic) never waits longer than now."""
        wait = min(self.max_wait_limit_ms, (batch - 1) / max(rate, 1e-9) * 1000.0)
        if urgent:
            wait = min(wait, self._wait_ms)  # a backlog fills batches; never wait longer then
        step = self.max_wait_step_ms
        wait = min(self._wait_ms + step, max(self._wait_ms - step, wait))
        if abs(wait - self._wait_ms) < self.deadband * max(self._wait_ms, 1.0):
            wait = self._wait_ms
        return wait

    def _apply(self, decision: dict, wait: float, batch: int) -> tuple[float, int]:
        self._wait_ms, self._batch = wait, batch
        self.last_decision = decision
        return wait, batch

    # --- the loop -------------------------------------------------------------------------------

    def update(self, m: Measurement) -> tuple[float, int]:
        """Measure, estimate, decide, apply; see the class docstring."""
        p95_ms, panic = self._estimate(m)
        model = self._fit.model()
        decision = {"mode": "normal", "scale_out": False, "predicted_p95_ms": math.nan,
                    "bias_ms": self._bias_ms, "long_rps": self._long_rps or 0.0}
        if model is None:  # safety: not identified yet
            decision["mode"] = "fallback"
            return self._apply(decision, *self.fallback)
        # Feed-forward: the largest batch predicted to meet the target at the planning rate.
        rate = self._planning_rate(m, panic)
        sizes = np.arange(1, self.max_batch_limit + 1, dtype=float)
        predicted, rho = self._predict_ms(model, rate, m.instances, sizes)
        corrected = predicted + self._bias_ms
        want, decision["scale_out"] = self._wanted(predicted, corrected, rho, sizes)
        overloaded = not np.any(rho < 1)
        decision["mode"] = "overload" if overloaded else ("panic" if panic else "normal")
        urgent = overloaded or panic
        self._feedback(model, rate, m.instances, p95_ms,
                       saturated=urgent or self._batch in (1, self.max_batch_limit))
        if p95_ms is None and not urgent:  # safety: too few samples and no spike: hold
            decision["mode"] = "hold"
            return self._apply(decision, self._wait_ms, self._batch)
        # Stability: hysteresis, deadband and rate limits.
        batch = self._limited_batch(want, p95_ms, urgent)
        wait = self._limited_wait(batch, rate, urgent)
        decision.update(predicted_p95_ms=float(corrected[batch - 1]), bias_ms=self._bias_ms)
        return self._apply(decision, wait, batch)
