"""The envelope controller: it plans for the envelope of recent load, so a burst finds it ready
(:class:`EnvelopeBatchingController`, chapter 3's controller).

It follows :class:`perfcost.batching.BatchingPolicy` and sets ``last_decision``, a dict the
simulator copies into its timeline (mode, bias, envelope, scale-out, shed).

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
from perfcost.batching.policy import MAX_BATCH_SIZE, Measurement, check_slo
from perfcost.batching.service import LinearServiceTime
from perfcost.validation import at_least, fraction, positive

__all__ = ["EnvelopeBatchingController"]


def _wait_quantile_ms(fill_ms, sizes):
    """The p95 of the time requests wait for their batch to fill. The head of a batch of b
    waits the whole fill, the others uniformly less: P(wait > x) = 1/b + (1 - 1/b)(1 - x/fill),
    so the p95 is the whole fill when b <= 20."""
    head = 1.0 / np.maximum(sizes, 1.0)
    beyond = np.clip((0.05 - head) / np.maximum(1.0 - head, 1e-12), 0.0, 1.0)
    return fill_ms * (1.0 - beyond)


def _step_below(rate_rps: float, top_rate: float) -> int:
    """The k in [−24, 0] of the lowest candidate rate top_rate × 2^(k/4) at or above
    ``rate_rps`` (0 when it is above top_rate)."""
    return min(0, max(-24, math.ceil(4 * math.log2(max(rate_rps, 1e-9) / top_rate))))


def _cheapest_then_safest(cost, safe, safe_rate, tolerance: float) -> tuple[int, int]:
    """(i, j) of the candidate to take: of the safe ones within ``tolerance`` of the cheapest
    ``cost``, the one with the highest ``safe_rate``."""
    pick = safe & (cost <= cost[safe].min() * (1 + tolerance))
    i, j = np.unravel_index(np.argmax(np.where(pick, safe_rate, -1.0)), pick.shape)
    return i, j


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
    _TOP_STEP = 24  # candidate rates top × 2^(k/4), k = -24 to 8: the top itself at index 24

    def __post_init__(self):
        self.slo_p95_ms = check_slo(self.slo_p95_ms)
        self.target_fraction = fraction("target_fraction", self.target_fraction,
                                        low_open=True)
        self.headroom = at_least("headroom", self.headroom, 1.0, maximum=MAX_RATIO)
        self.capacity_headroom = at_least("capacity_headroom", self.capacity_headroom, 1.0,
                                          maximum=MAX_RATIO)
        for name in ("envelope_s", "latency_window_s", "bias_decay_s", "peak_s"):
            setattr(self, name, positive(name, getattr(self, name), maximum=MAX_WINDOW_S))
        self.min_samples = check_min_samples(self.min_samples)
        self.integral_gain = positive("integral_gain", self.integral_gain, maximum=MAX_GAIN)
        self.cost_tolerance = fraction("cost_tolerance", self.cost_tolerance)
        self.max_wait_step = fraction("max_wait_step", self.max_wait_step, low_open=True)
        self.max_utilisation = fraction("max_utilisation", self.max_utilisation, low_open=True)
        self.max_batch_limit = check_batch_limit(self.max_batch_limit)
        self.max_wait_limit_ms = check_wait_limit(self.max_wait_limit_ms, self.slo_p95_ms, 0.8)
        check_fallback(self)  # None: 2 ms and batch 8, as for the first controller
        if self.shed_queue_over is not None:
            self.shed_queue_over = positive("shed_queue_over", self.shed_queue_over,
                                            maximum=MAX_RATIO)

    def start(self) -> tuple[float, int]:
        """Reset the state; begin with the fallback configuration."""
        self._latencies: deque = deque()
        self._rates: deque = deque()  # (t_s, interval_s, arrivals, backlog)
        self._peaks: deque = deque()  # (t_s, rate): the highest rates over peak_s
        self._fit = ServiceFit()
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
        sizes = self._carrying(model, self._trusted(sizes), instances)
        top_rate = max(self.headroom * envelope, typical, 1.0)
        ok, safe_rate = self._safety(model, waits, sizes, top_rate, instances)
        now_rate = max(typical, current)
        safe = ok[:, :, self._TOP_STEP]
        if not safe.any():  # the envelope cannot be met: plan for the load of now
            safe = ok[:, :, self._TOP_STEP + _step_below(now_rate, top_rate)]
        if not safe.any():
            return 0.0, self._overload_batch(model, sizes, now_rate, instances), False
        cost = self._cost_ms(model, waits, sizes, typical, instances)
        i, j = _cheapest_then_safest(cost, safe, safe_rate, self.cost_tolerance)
        # The window grows by at most max_wait_step x SLO per interval (a shorter window with
        # the same batch limit fills less, so each step on the way is as safe).
        wait = min(float(waits[i]), self._wait_ms + self.max_wait_step * self.slo_p95_ms)
        return wait, int(sizes[j]), True

    def _trusted(self, sizes: np.ndarray) -> np.ndarray:
        """Trust region: batch limits stay within twice the largest batch measured (the fit is
        not extrapolated); the window is chosen among all, then approached step by step."""
        return sizes[sizes <= max(self.fallback[1], 2 * self._fit.largest)]

    def _carrying(self, model: LinearServiceTime, sizes: np.ndarray,
                  instances: int) -> np.ndarray:
        """Capacity for the peak: the batch limits large enough to carry a burst as high as
        any over ``peak_s`` (× ``capacity_headroom``), or the largest there are."""
        capacity = 1000.0 * instances * sizes / model.batch_ms(sizes)
        peak = self._peaks[0][1] if self._peaks else 0.0
        return sizes[capacity >= min(self.capacity_headroom * peak, capacity.max())]

    def _safety(self, model, waits, sizes, top_rate,
                instances) -> tuple[np.ndarray, np.ndarray]:
        """(ok, safe rate) of each window × batch limit. ``ok[i, j, k]``: the prediction plus
        the bias is under the target at every rate up to top_rate × 2^((k − 24)/4) (1/64 to
        4 × top_rate; top_rate itself at k = 24); the safe rate is the highest such (0: none)."""
        target = self.target_fraction * self.slo_p95_ms - self._bias_ms
        rates = top_rate * 2.0 ** (np.arange(-self._TOP_STEP, 9) / 4)
        pred, _ = self._predict_ms(model, waits[:, None, None], sizes[None, :, None],
                                   rates[None, None, :], instances)
        ok = np.cumprod(pred <= target, axis=2).astype(bool)  # safe at every lower rate
        safe_rate = np.where(ok.any(axis=2), rates[np.maximum(ok.sum(axis=2) - 1, 0)], 0.0)
        return ok, safe_rate

    def _cost_ms(self, model, waits, sizes, typical, instances) -> np.ndarray:
        """GPU time per request (ms) of each window × batch limit at the typical rate."""
        _, filled = self._predict_ms(model, waits[:, None], sizes[None, :], typical, instances)
        return model.batch_ms(filled) / filled

    def _overload_batch(self, model, sizes, rate_rps, instances) -> int:
        """The batch limit to hold at window 0 when nothing is safe: the largest of those with
        the lowest predicted p95 at ``rate_rps`` (within 1%), the most throughput."""
        now, _ = self._predict_ms(model, 0.0, sizes, rate_rps, instances)
        near = np.flatnonzero(now <= now.min() * 1.01 + 1e-9)  # the largest of the best
        return int(sizes[near[-1]])

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
        p95_ms = windowed_p95(self._latencies, m.t_s, self.latency_window_s,
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
