"""Batching policies that adapt: AIMD (on the p95, and as Clipper drives it), a naive
proportional one, chapter 3's first controller and the envelope controller that replaces it.

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

from perfcost.batching.policy import (
    MAX_BATCH_SIZE,
    MAX_SLO_MS,
    MAX_WAIT_MS,
    Measurement,
    _slo,
)
from perfcost.batching.service import MAX_SERVICE_MS, LinearServiceTime
from perfcost.validation import (
    ParameterError,
    at_least,
    fraction,
    integer_in_range,
    non_negative,
    positive,
)

__all__ = ["AIMDBatching", "ClipperAIMDBatching", "EnvelopeBatchingController",
           "NaiveProportionalBatching",
           "SLOBatchingController"]

# Upper limits of the policies' settings, besides the simulator's own (batching.MAX_*).
MAX_MIN_SAMPLES = 1_000_000  # more completions than a 1 s interval at 10^6 rps: never acts
MAX_GAIN = 100.0  # a gain of 100 already moves by 100x the error per interval
MAX_WINDOW_S = 86_400.0  # a day of history: longer is no longer a feedback window
MAX_RATIO = 1000.0  # spike thresholds and growth steps: 1000x per interval


def _batch_limit(value) -> int:
    return integer_in_range("max_batch_limit", value, 1, MAX_BATCH_SIZE)


def _min_samples(value) -> int:
    return integer_in_range("min_samples", value, 1, MAX_MIN_SAMPLES)


def _wait_limit(value, slo_p95_ms: float, default_share: float) -> float:
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


def _windowed_p95(latencies: deque, t_s: float, window_s: float,
                  min_samples: int) -> float | None:
    """The p95 of the latencies (``(t_s, array)`` pairs) completed within ``window_s`` of
    ``t_s``, dropping older ones from the deque; None on fewer than ``min_samples``."""
    while latencies and latencies[0][0] <= t_s - window_s:
        latencies.popleft()
    samples = [lat for _, lat in latencies]
    if sum(s.size for s in samples) < min_samples:
        return None
    return float(np.quantile(np.concatenate(samples), 0.95))


def _check_aimd_settings(policy) -> None:
    """Check and normalise the settings both AIMD policies share, in place, by name."""
    policy.slo_p95_ms = _slo(policy.slo_p95_ms)
    policy.max_wait_ms = non_negative("max_wait_ms", policy.max_wait_ms, maximum=MAX_WAIT_MS)
    policy.max_batch_limit = _batch_limit(policy.max_batch_limit)
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
        self.max_wait_limit_ms = _wait_limit(self.max_wait_limit_ms, self.slo_p95_ms, 0.6)

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

    def _estimate(self, m: Measurement) -> tuple[float | None, bool]:
        """Measure and estimate: record the interval; return the windowed p95 (None on too
        few samples) and whether the controller is in panic mode."""
        self._latencies.append((m.t_s, m.latencies_ms))
        self._fit.add(m.batch_sizes, m.batch_service_ms)
        p95_ms = _windowed_p95(self._latencies, m.t_s, self.latency_window_s,
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


def _wait_quantile_ms(fill_ms, sizes):
    """The p95 of the time requests wait for their batch to fill. The head of a batch of b
    waits the whole fill, the others uniformly less: P(wait > x) = 1/b + (1 - 1/b)(1 - x/fill),
    so the p95 is the whole fill when b <= 20."""
    head = 1.0 / np.maximum(sizes, 1.0)
    beyond = np.clip((0.05 - head) / np.maximum(1.0 - head, 1e-12), 0.0, 1.0)
    return fill_ms * (1.0 - beyond)


@dataclass
class EnvelopeBatchingController:
    """A controller that plans for the envelope of recent load, so a burst finds it ready.

    Every control interval it **measures** (completed latencies, arrivals, the queue, batch
    sizes and their service times), **estimates** (the service line base + per_item × b fitted
    from the batches; the typical rate over ``latency_window_s``; the *envelope*, the highest
    one-interval rate, backlog included, over ``envelope_s``; the *peak*, the highest arrival
    rate over ``peak_s``), **decides** and **applies**.

    Decide. For every candidate window W (up to the wait limit) and batch limit B (up to the
    largest batch whose fitted service time is within ``target_fraction`` × SLO: limits derived
    from the SLO and the measured curve), predict the p95 at a rate λ. A batch holds
    b = min(B, 1 + λW) requests; the head of each waits the whole fill, min(W, (B − 1)/λ), so
    that is the p95 wait while b <= 20; then s(b); then the queueing delay of batches on
    ``instances`` servers (Sakasegawa's approximation, c_a² = 1/b, deterministic service),
    infinite above ``max_utilisation``. When the instances are busy enough that batches form
    while they wait (λ s(b) / n > b: "self-clocked"), the wait is for a free instance instead.
    A candidate's *safe rate* is the highest rate up to which the prediction plus the feedback
    bias stays under ``target_fraction`` × SLO at every lower rate. Kept: candidates safe up to
    ``headroom`` × the envelope whose batch limit carries ``capacity_headroom`` × the peak
    (or the most any batch carries). Chosen: the cheapest per request at the typical rate
    (largest b), and within ``cost_tolerance`` of it, the one with the highest safe rate. A
    window is long only while the envelope is low: fill time, not load, is what shrinks it.

    Stability. The window is chosen among all candidates and approached by at most
    ``max_wait_step`` × SLO per interval (it shrinks at once); batch limits stay within twice
    the largest batch measured, so the fitted line is never extrapolated far.

    Feedback. The bias follows the model's error, the windowed p95 (``latency_window_s``, at
    least ``min_samples`` completions) minus the prediction for the configuration in force at
    the busiest interval's rate in that window (the requests its p95 is made of):
    with gain ``integral_gain`` when the model was optimistic, with time constant
    ``bias_decay_s`` when it was pessimistic, clamped to [−SLO/4, SLO/2] and never so high
    that one request's fitted service time no longer fits under the target. It tracks an error
    rather than summing one, so it unwinds as soon as the model is right again; in overload
    (load, not a model error) it relaxes towards zero with time constant ``bias_decay_s``.

    Cold start. The fallback configuration until batches of two sizes identify the line (when
    every batch is full at the fallback size, half that size is tried, so the line is
    identified even when the first load is more than the fallback serves). No
    panic mode: the envelope holds the highest recent rate, and an interval with a backlog
    counts its backlog as rate, so a spike raises the plan within one interval.

    Overload. When no candidate is safe at the envelope, it plans for the load of now (the
    typical rate, or the last interval's arrivals and backlog if higher). When none is safe
    even at that, it is overloaded: it takes the window 0 and the largest batch limit with the
    lowest predicted p95 (the most throughput within the SLO-derived limit), and sets
    ``scale_out`` and mode ``overload`` in ``last_decision``: more instances or shed load.
    ``shed_queue_over`` (default None, off) only reports: ``shed`` in ``last_decision`` is the
    number of queued requests beyond that many batches of the new limit, which a server with
    a bounded queue would reject; the simulator serves them all.
    """

    slo_p95_ms: float
    target_fraction: float = 0.9
    headroom: float = 1.0
    envelope_s: float = 60.0
    latency_window_s: float = 5.0
    min_samples: int = 20
    integral_gain: float = 0.5
    bias_decay_s: float = 20.0
    cost_tolerance: float = 0.01
    peak_s: float = 600.0
    max_utilisation: float = 0.85
    capacity_headroom: float = 1.5
    max_wait_step: float = 0.1
    max_batch_limit: int = MAX_BATCH_SIZE
    max_wait_limit_ms: float | None = None  # None: 80% of the SLO, at most 60,000
    fallback: tuple[float, int] | None = None  # default (min(2 ms, max_wait_limit_ms), 8)
    shed_queue_over: float | None = None
    last_decision: dict = field(init=False, default_factory=dict)

    _WAIT_STEPS = 32  # candidate windows: 0 and 31 evenly up to the wait limit

    def __post_init__(self):
        self.slo_p95_ms = _slo(self.slo_p95_ms)
        self.target_fraction = fraction("target_fraction", self.target_fraction,
                                        low_open=True)
        self.headroom = at_least("headroom", self.headroom, 1.0, maximum=MAX_RATIO)
        self.capacity_headroom = at_least("capacity_headroom", self.capacity_headroom, 1.0,
                                          maximum=MAX_RATIO)
        for name in ("envelope_s", "latency_window_s", "bias_decay_s", "peak_s"):
            setattr(self, name, positive(name, getattr(self, name), maximum=MAX_WINDOW_S))
        self.min_samples = _min_samples(self.min_samples)
        self.integral_gain = positive("integral_gain", self.integral_gain, maximum=MAX_GAIN)
        self.cost_tolerance = fraction("cost_tolerance", self.cost_tolerance)
        self.max_wait_step = fraction("max_wait_step", self.max_wait_step, low_open=True)
        self.max_utilisation = fraction("max_utilisation", self.max_utilisation, low_open=True)
        self.max_batch_limit = _batch_limit(self.max_batch_limit)
        self.max_wait_limit_ms = _wait_limit(self.max_wait_limit_ms, self.slo_p95_ms, 0.8)
        if self.fallback is None:
            self.fallback = (min(2.0, self.max_wait_limit_ms), min(8, self.max_batch_limit))
        SLOBatchingController._check_fallback(self)  # the same rules, the same messages
        if self.shed_queue_over is not None:
            self.shed_queue_over = positive("shed_queue_over", self.shed_queue_over,
                                            maximum=MAX_RATIO)

    def start(self) -> tuple[float, int]:
        """Reset the state; begin with the fallback configuration."""
        self._latencies: deque = deque()
        self._rates: deque = deque()  # (t_s, interval_s, arrivals, backlog)
        self._peaks: deque = deque()  # (t_s, rate): the highest rates over peak_s
        self._fit = _ServiceFit()
        self._bias_ms = 0.0
        self._wait_ms, self._batch = self.fallback
        self.last_decision = {}
        return self.fallback

    def _rates_now(self, m: Measurement) -> tuple[float, float]:
        """(typical rate, envelope) in requests/s; updates the peak."""
        self._rates.append((m.t_s, m.interval_s, m.arrivals, m.queue_len))
        rate = m.arrivals / m.interval_s
        while self._peaks and self._peaks[-1][1] <= rate:
            self._peaks.pop()  # a deque of decreasing rates: its head is the peak
        self._peaks.append((m.t_s, rate))
        while self._peaks[0][0] <= m.t_s - self.peak_s:
            self._peaks.popleft()
        while self._rates and self._rates[0][0] <= m.t_s - self.envelope_s:
            self._rates.popleft()
        recent = [(i, a) for t, i, a, _ in self._rates if t > m.t_s - self.latency_window_s]
        typical = sum(a for _, a in recent) / max(sum(i for i, _ in recent), 1e-9)
        envelope = max((a + q) / i for _, i, a, q in self._rates)
        self._busiest = max(a / i for i, a in recent)  # what the windowed p95 is made of
        return typical, envelope

    def _predict_ms(self, model: LinearServiceTime, waits, sizes, rate_rps,
                    instances: int) -> tuple[np.ndarray, np.ndarray]:
        """Predicted p95 and batch size for windows × sizes × rates (broadcast).

        A batch holds what arrives while it waits, 1 + λW, or, when the instances are busy,
        what arrives while they serve: the fixed point b = λ s(b) / n, λ base / (n − λ per_item)
        ("self-clocked"); at most B. Self-clocked, a request waits for the next free instance
        (up to s(b) / n) and then its own batch; otherwise for the fill and the queue.
        """
        per_ms = np.maximum(rate_rps, 1e-9) / 1000.0
        spare = instances - per_ms * model.per_item_ms
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            clocked = np.where(spare > 0, per_ms * model.base_ms / np.maximum(spare, 1e-12),
                               np.inf)
            by_wait = np.minimum(sizes, 1.0 + per_ms * waits)
            fill_ms = np.minimum(waits, (sizes - 1.0) / per_ms)
            busy = np.minimum(sizes, np.maximum(by_wait, clocked))
            behind_full = self._queueing_ms(model, sizes, per_ms, instances)
            # Waiting for a busy instance is bounded: batches grow (to B) while they wait.
            queueing = np.minimum(self._queueing_ms(model, by_wait, per_ms, instances),
                                  (0.95 / instances) * model.batch_ms(by_wait) + behind_full)
            by_fill = (_wait_quantile_ms(fill_ms, by_wait) + model.batch_ms(by_wait)
                       + queueing)
            by_queue = ((1.0 + 0.95 / instances) * model.batch_ms(busy) + behind_full)
        self_clocked = clocked >= by_wait
        predicted = np.where(self_clocked, by_queue, by_fill)
        return predicted, np.where(self_clocked, busy, by_wait)

    def _queueing_ms(self, model, sizes, per_ms, instances):
        """Sakasegawa's G/G/n queueing delay of batches of ``sizes`` (c_a² = 1/b, c_s² = 0);
        infinite above ``max_utilisation``, where the prediction is not to be trusted."""
        service_ms = model.batch_ms(sizes)
        rho = per_ms * service_ms / (instances * sizes)
        waiting = np.where(rho < self.max_utilisation, rho ** (math.sqrt(2 * (instances + 1)) - 1)
                           / (instances * np.maximum(1 - rho, 1e-12)), np.inf)
        return waiting * (1.0 / sizes) / 2 * service_ms

    def _limits(self, model: LinearServiceTime) -> tuple[np.ndarray, np.ndarray]:
        """Candidate windows and batch limits within the SLO-derived limits."""
        top = int((self.target_fraction * self.slo_p95_ms - model.base_ms) // model.per_item_ms)
        top = max(1, min(self.max_batch_limit, top))
        sizes = np.unique(np.concatenate([np.arange(1, min(top, 32) + 1),
                                          np.geomspace(1, top, 48).round()])).astype(float)
        wait_top = max(0.0, min(self.max_wait_limit_ms,
                                self.target_fraction * self.slo_p95_ms - model.base_ms))
        return np.linspace(0.0, wait_top, self._WAIT_STEPS), sizes

    def _plan(self, model, typical, envelope, current, instances) -> tuple[float, int, bool]:
        """(W, B, safe): the cheapest candidate safe up to headroom × envelope, or else up to
        the load of now (``current``, the last interval's arrivals and backlog per second)."""
        waits, sizes = self._limits(model)
        # Trust region: batch limits stay within twice the largest batch measured (the fit is
        # not extrapolated); the window is chosen among all, then approached step by step.
        sizes = sizes[sizes <= max(self.fallback[1], 2 * self._fit.largest)]
        # Capacity for the peak: a burst as high as any over peak_s finds batches large
        # enough to carry it (or the largest there are).
        capacity = 1000.0 * instances * sizes / model.batch_ms(sizes)
        peak = self._peaks[0][1] if self._peaks else 0.0
        sizes = sizes[capacity >= min(self.capacity_headroom * peak, capacity.max())]
        target = self.target_fraction * self.slo_p95_ms - self._bias_ms
        top_rate = max(self.headroom * envelope, typical, 1.0)
        steps = np.arange(-24, 9)  # rates top × 2^(k/4): 1/64 to 4 × top, top itself at k = 0
        rates = top_rate * 2.0 ** (steps / 4)
        pred, _ = self._predict_ms(model, waits[:, None, None], sizes[None, :, None],
                                   rates[None, None, :], instances)
        ok = np.cumprod(pred <= target, axis=2).astype(bool)  # safe at every lower rate
        safe_rate = np.where(ok.any(axis=2), rates[np.maximum(ok.sum(axis=2) - 1, 0)], 0.0)
        _, filled = self._predict_ms(model, waits[:, None], sizes[None, :], typical, instances)
        cost = model.batch_ms(filled) / filled
        safe = ok[:, :, 24]
        if not safe.any():  # the envelope cannot be met: plan for the load of now
            now_rate = max(typical, current)
            k = min(0, max(-24, math.ceil(4 * math.log2(max(now_rate, 1e-9) / top_rate))))
            safe = ok[:, :, 24 + k]
        if not safe.any():
            now, _ = self._predict_ms(model, 0.0, sizes, max(typical, current), instances)
            near = np.flatnonzero(now <= now.min() * 1.01 + 1e-9)  # the largest of the best
            return 0.0, int(sizes[near[-1]]), False
        cheapest = cost[safe].min()
        pick = safe & (cost <= cheapest * (1 + self.cost_tolerance))
        i, j = np.unravel_index(np.argmax(np.where(pick, safe_rate, -1.0)), pick.shape)
        # The window grows by at most max_wait_step x SLO per interval (a shorter window with
        # the same batch limit fills less, so each step on the way is as safe).
        wait = min(float(waits[i]), self._wait_ms + self.max_wait_step * self.slo_p95_ms)
        return wait, int(sizes[j]), True

    def _fallback(self, decision: dict) -> tuple[float, int]:
        """The fallback configuration; full batches of one size cannot identify the line, so
        then half that size (or 2 after batches of 1)."""
        wait, size = self.fallback
        if self._fit.count and self._fit.largest == size:
            size = max(1, size // 2) if size > 1 else min(2, self.max_batch_limit)
        self.last_decision = decision
        self._wait_ms, self._batch = wait, size
        return wait, size

    def _feedback(self, model: LinearServiceTime, m: Measurement, p95_ms: float | None,
                  safe: bool) -> None:
        """Move the bias after the model's error (measured minus predicted p95 of the
        configuration in force), fast when the model was optimistic, slowly when it was
        pessimistic; not in overload (load, not a model error), where it relaxes towards zero.
        It tracks an error, so it cannot wind up, and it sits at a clamp only while the error
        does."""
        decay = 1.0 - math.exp(-m.interval_s / self.bias_decay_s)
        if p95_ms is not None and safe:
            predicted = float(self._predict_ms(model, m.max_wait_ms, float(m.max_batch_size),
                                               self._busiest, m.instances)[0])
            error = p95_ms - predicted if math.isfinite(predicted) else self._bias_ms
            gain = self.integral_gain if error > self._bias_ms else decay
            self._bias_ms += gain * (error - self._bias_ms)
        elif not safe:  # overload: the error is load, so the bias relaxes towards zero
            self._bias_ms -= decay * self._bias_ms
        # Never so high that not even one request fits under the target.
        ceiling = self.target_fraction * self.slo_p95_ms - float(model.batch_ms(1))
        self._bias_ms = min(max(self._bias_ms, -self.slo_p95_ms / 4),
                            max(-self.slo_p95_ms / 4, min(self.slo_p95_ms / 2, ceiling)))

    def update(self, m: Measurement) -> tuple[float, int]:
        """Measure, estimate, decide, apply; see the class docstring."""
        self._latencies.append((m.t_s, m.latencies_ms))
        p95_ms = _windowed_p95(self._latencies, m.t_s, self.latency_window_s,
                               self.min_samples)
        self._fit.add(m.batch_sizes, m.batch_service_ms)
        typical, envelope = self._rates_now(m)
        model = self._fit.model()
        decision = {"mode": "fallback", "scale_out": False, "bias_ms": self._bias_ms,
                    "envelope_rps": envelope, "shed": 0}
        if model is None:
            return self._fallback(decision)
        current = (m.arrivals + m.queue_len) / m.interval_s
        wait, batch, safe = self._plan(model, typical, envelope, current, m.instances)
        self._feedback(model, m, p95_ms, safe)
        decision.update(mode="normal" if safe else "overload", scale_out=not safe,
                        bias_ms=self._bias_ms)
        if self.shed_queue_over is not None:
            decision["shed"] = max(0, m.queue_len - math.floor(self.shed_queue_over * batch))
        self._wait_ms, self._batch = wait, batch
        self.last_decision = decision
        return wait, batch
