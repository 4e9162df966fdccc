r"""Response-time quantiles of a fleet behind a load balancer: per-instance queues, routed.

A real fleet is not one queue. A load balancer hands each request to one of n instances, and the
request waits in *that* instance's queue for one of its k slots (its batch or thread
concurrency). How much it waits depends on the routing policy and on how variable service is:

``shared_queue``
    One first-come-first-served queue for all n·k slots (M/G/(nk)). No balancer achieves it; it
    is the lower bound on every policy, and what the M/M/c chapter model assumed.
``random``
    Each request to an instance drawn at random. A random split of Poisson traffic is Poisson, so
    each instance is an M/G/k queue at rate λ/n.
``round_robin``
    Instances in turn. Each instance sees every n-th arrival, whose gaps are Erlang-n: less
    variable than Poisson (squared coefficient of variation c_a² = 1/n), a G/G/k queue.
``least_outstanding``
    The instance with the fewest requests in flight (AWS ALB's "least outstanding requests",
    Envoy's least-request). A request waits only if every slot of the fleet is busy, as in the
    shared queue, but then it waits behind its own instance's queue.

The approximation (M/G/c-style, Allen–Cunneen): a request waits with the Erlang C probability p
of the M/M/c queue with the same servers and load; if it waits, its wait is exponential with the
mean the Allen–Cunneen formula gives, (c_a² + c_s²)/2 × 1/(cμ − λ) (Allen 1990, §6; Whitt
1993). For ``least_outstanding`` the conditional mean adds the (n − 1)/(nkμ) a request waits for
its own instance's next completion rather than the fleet's: when every queue is balanced at Q/n,
it waits for Q/n + 1 completions at rate kμ instead of Q + 1 at rate nkμ. Service times are gamma
distributed with mean 1/μ and coefficient of variation c_s (0: deterministic, 1: exponential).
The response time is the wait plus an independent service time, whose survival function has a
closed form,

.. math::  P(W + S > t) = \bar F_S(t) + p\, e^{-\theta t}\, E[e^{\theta S}; S \le t],
           \qquad \theta = 1 / E[W \mid W > 0],

evaluated with the regularised incomplete gamma function when θ < β (the gamma rate) and with
Kummer's function ₁F₁(1; α + 1; ·) otherwise. The model is exact for M/M/c (``shared_queue``
with c_s = 1) and for ``random`` routing with exponential service (n independent M/M/k queues);
elsewhere it is an approximation, checked against the discrete-event simulation of
:func:`perfcost.fcfs_simulation.routed_response_times` in ``tests/test_fleet_latency.py`` and in
chapter 1.

Used by :mod:`perfcost.capacity`, :mod:`perfcost.fleet_quantiles` and chapter 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import optimize, special

from perfcost.queueing import (
    MAX_ARRIVAL_RATE,
    MAX_CV,
    MAX_SERVERS,
    MAX_SERVICE_RATE,
    MIN_SERVICE_RATE,
    UnstableQueueError,
    erlang_c,
)
from perfcost.validation import ParameterError, fraction, in_range, integer_in_range

__all__ = [
    "DEFAULT_SERVICE_CV",
    "FLEET",
    "MMC",
    "ROUTINGS",
    "FleetLatency",
    "Wait",
    "response_quantile_s",
    "response_survival",
    "service_cv_from_percentile",
    "wait_model",
]

ROUTINGS = ("shared_queue", "random", "round_robin", "least_outstanding")
# Published inference latencies give 0.003 (TensorRT) to 0.2 (PyTorch); beyond 3 a gamma's p95
# falls below its mean (most requests near zero, a few very long): no inference server is so.
MAX_FLEET_CV = 3.0
# ResNet-50 on one T4 at batch 1, PyTorch with mixed precision: 12.96 ms mean, 20.0 ms p99
# (NVIDIA DeepLearningExamples, PyTorch/Classification/ConvNets/resnet50v1.5/README.md at
# commit 291f0d02, "Inference performance results", pytorch-21.03 container; read 2026-11-29).
# TensorRT is far steadier on the same GPU (8.998 ms mean, 9.065 ms p99 at batch 8: cv 0.003),
# so the framework's spread is the conservative default.
MEASURED_MEAN_MS, MEASURED_P99_MS = 12.96, 20.0


def service_cv_from_percentile(mean_ms: float, percentile_ms: float,
                               quantile: float = 0.99) -> float:
    r"""The coefficient of variation of the gamma service time with this mean and percentile.

    A published latency table gives a mean and a tail percentile; the gamma distribution with
    both is unique when percentile > mean at a quantile above the median. A gamma of mean m and
    coefficient of variation c has shape :math:`\alpha = 1/c^2` and scale :math:`c^2 m`, so the
    function solves, for c in [10^-6, 3] (Brent's method),

    .. math::  c^2\, m\, P^{-1}(1/c^2, q) = x_q,

    where :math:`P^{-1}(\alpha, q)` is the inverse of the regularised lower incomplete gamma
    function (``scipy.special.gammaincinv``) and :math:`x_q` is ``percentile_ms``.

    Parameters
    ----------
    mean_ms : float
        Mean service time m in milliseconds, in (10^-9, 10^9].
    percentile_ms : float
        The ``quantile`` of the service time in milliseconds, in (``mean_ms``, 10^9].
    quantile : float, optional
        The level q of ``percentile_ms``, in (0, 1); default 0.99 (a p99).

    Returns
    -------
    float
        The coefficient of variation c = std / mean of the matching gamma distribution.

    Raises
    ------
    perfcost.validation.ParameterError
        If an argument is outside its range (``percentile_ms`` not above ``mean_ms``, say).
    ValueError
        If no gamma with c in [10^-6, 3] has this mean and percentile (a percentile too far
        above the mean, or a quantile at or below the median), from ``scipy.optimize.brentq``.
    """
    mean_ms = in_range("mean_ms", mean_ms, 1e-9, 1e9, low_open=True)
    quantile = fraction("quantile", quantile, low_open=True, high_open=True)
    percentile_ms = in_range("percentile_ms", percentile_ms, mean_ms, 1e9, low_open=True)

    def excess(cv: float) -> float:
        return float(special.gammaincinv(1 / cv**2, quantile)) * cv**2 * mean_ms - percentile_ms

    return optimize.brentq(excess, 1e-6, MAX_FLEET_CV)


DEFAULT_SERVICE_CV = round(service_cv_from_percentile(MEASURED_MEAN_MS, MEASURED_P99_MS), 2)


@dataclass(frozen=True)
class Wait:
    """A request's wait: 0 with probability 1 − ``p_wait``, else exponential with mean
    ``mean_conditional_s``."""

    p_wait: float
    mean_conditional_s: float


def _routing(value: object) -> str:
    if not isinstance(value, str) or value not in ROUTINGS:
        raise ParameterError("routing", f"one of {', '.join(ROUTINGS)}", value)
    return value


def _service_cv(value: object) -> float:
    return in_range("service_cv", value, 0.0, min(MAX_CV, MAX_FLEET_CV))


def _erlang_c_or_zero(servers: int, offered_load: float) -> float:
    return erlang_c(servers, offered_load) if offered_load > 0 else 0.0


def wait_model(routing: str, instances: int, slots: int, slot_rate: float,
               arrival_rate: float, service_cv: float) -> Wait:
    r"""Return the wait of a request to ``instances`` × ``slots`` servers under ``routing``.

    The wait is 0 with probability p and otherwise exponential with mean
    :math:`E[W \mid W > 0]` (Allen–Cunneen, with Erlang C for p). With n instances of k slots,
    each of rate μ, and Poisson arrivals at rate λ:

    * ``random``: each instance is an M/G/k queue at λ/n,
      :math:`p = C(k, \lambda/(n\mu))` and
      :math:`E[W \mid W > 0] = \frac{1 + c_s^2}{2}\,\frac{1}{k\mu - \lambda/n}`;
    * ``round_robin``: the same with arrivals of :math:`c_a^2 = 1/n` (Erlang-n gaps), so the
      factor is :math:`(1/n + c_s^2)/2`;
    * ``shared_queue``: one M/G/(nk) queue, :math:`p = C(nk, \lambda/\mu)` and
      :math:`E[W \mid W > 0] = \frac{1 + c_s^2}{2}\,\frac{1}{nk\mu - \lambda}`;
    * ``least_outstanding``: as ``shared_queue``, plus :math:`(n - 1)/(nk\mu)` inside the
      bracket: the wait for the request's own instance's next completion, not the fleet's.

    Parameters
    ----------
    routing : str
        One of :data:`ROUTINGS`.
    instances, slots : int
        n instances of k slots each, whole numbers >= 1; n·k at most 10^9.
    slot_rate : float
        μ, requests per second one slot completes, in [10^-6, 10^9].
    arrival_rate : float
        λ, requests per second to the whole fleet, in (0, 10^18]; λ < n k μ.
    service_cv : float
        c_s, the service time's coefficient of variation, in [0, 3].

    Returns
    -------
    Wait
        The probability of waiting and the mean wait, in seconds, of a request that waits.

    Raises
    ------
    perfcost.validation.ParameterError
        If an argument is outside its range or ``routing`` is not one of :data:`ROUTINGS`.
    perfcost.queueing.UnstableQueueError
        If λ >= n k μ, the fleet's capacity.

    References
    ----------
    Allen (1990), §6 (the Allen–Cunneen approximation); Whitt (1993); Erlang C as in
    :func:`perfcost.queueing.erlang_c` (Kleinrock 1975).
    """
    routing = _routing(routing)
    instances = integer_in_range("instances", instances, 1, MAX_SERVERS)
    slots = integer_in_range("slots", slots, 1, MAX_SERVERS // instances)
    service_cv = _service_cv(service_cv)
    slot_rate = in_range("slot_rate", slot_rate, MIN_SERVICE_RATE, MAX_SERVICE_RATE)
    arrival_rate = in_range("arrival_rate", arrival_rate, 0.0, MAX_ARRIVAL_RATE, low_open=True)
    capacity = instances * slots * slot_rate
    if not arrival_rate < capacity:
        raise UnstableQueueError("arrival_rate", f"< instances × slots × slot_rate = "
                                 f"{capacity:g} (the fleet's capacity)", arrival_rate)
    if routing in ("random", "round_robin"):
        return _own_queue_wait(routing, instances, slots, slot_rate, arrival_rate, service_cv)
    return _pooled_wait(routing, instances, slots, slot_rate, arrival_rate, service_cv)


def _own_queue_wait(routing: str, instances: int, slots: int, slot_rate: float,
                    arrival_rate: float, service_cv: float) -> Wait:
    """``random`` and ``round_robin``: each instance is its own M/G/k (G/G/k) queue at λ/n."""
    per_instance = arrival_rate / instances
    if routing == "round_robin":  # every n-th arrival of a Poisson stream: c_a² = 1/n
        scale_s = (1.0 / instances + service_cv**2) / 2.0
    else:  # Allen–Cunneen with Poisson arrivals (c_a = 1)
        scale_s = (1.0 + service_cv**2) / 2.0
    p_wait = _erlang_c_or_zero(slots, per_instance / slot_rate)
    return Wait(p_wait, scale_s / (slots * slot_rate - per_instance))


def _pooled_wait(routing: str, instances: int, slots: int, slot_rate: float,
                 arrival_rate: float, service_cv: float) -> Wait:
    """``shared_queue`` and ``least_outstanding``: a request waits only if every slot is busy."""
    scale_s = (1.0 + service_cv**2) / 2.0  # Allen–Cunneen with Poisson arrivals (c_a = 1)
    p_wait = _erlang_c_or_zero(instances * slots, arrival_rate / slot_rate)
    mean_s = 1.0 / (instances * slots * slot_rate - arrival_rate)
    if routing == "least_outstanding":  # its own instance's next completion, not the fleet's
        mean_s += (instances - 1) / (instances * slots * slot_rate)
    return Wait(p_wait, scale_s * mean_s)


def _service_survival(t: float, mean_s: float, cv: float) -> float:
    if cv == 0.0:
        return 1.0 if t < mean_s else 0.0
    shape = 1.0 / cv**2
    return float(special.gammaincc(shape, t * shape / mean_s))


def _waited_tail(t: float, theta: float, mean_s: float, cv: float) -> float:
    """e^{-θt} E[e^{θS}; S ≤ t] for S ~ gamma(mean, cv): the waited requests' extra tail."""
    if cv == 0.0:
        return math.exp(-theta * (t - mean_s)) if t >= mean_s else 0.0
    shape = 1.0 / cv**2
    beta = shape / mean_s  # the gamma's rate
    if t == 0.0:
        return 0.0
    if theta < beta:  # (β/(β−θ))^α P(α, (β−θ)t) e^{-θt}, in logs
        lower = special.gammainc(shape, (beta - theta) * t)
        if lower == 0.0:
            return 0.0
        return math.exp(shape * math.log(beta / (beta - theta)) - theta * t + math.log(lower))
    # θ ≥ β: e^{-βt} (βt)^α / Γ(α+1) · ₁F₁(1; α+1; −(θ−β)t) (Kummer's transformation)
    log_front = -beta * t + shape * math.log(beta * t) - special.gammaln(shape + 1.0)
    return math.exp(log_front) * float(special.hyp1f1(1.0, shape + 1.0, -(theta - beta) * t))


def response_survival(t: float, wait: Wait, mean_service_s: float, service_cv: float) -> float:
    r"""P(W + S > t): the wait ``wait`` plus a gamma service time (mean, cv), at t seconds.

    With p = ``wait.p_wait`` and :math:`\theta = 1 / E[W \mid W > 0]`,

    .. math::  P(W + S > t) = \bar F_S(t) + p\, e^{-\theta t}\, E[e^{\theta S}; S \le t],

    evaluated with the regularised incomplete gamma function when θ is below the gamma's rate
    and with Kummer's function ₁F₁ otherwise (see the module docstring).

    Parameters
    ----------
    t : float
        Time in seconds, >= 0.
    wait : Wait
        The wait, from :func:`wait_model`; ``mean_conditional_s`` > 0.
    mean_service_s : float
        Mean service time in seconds, > 0.
    service_cv : float
        Coefficient of variation of the gamma service time, >= 0 (0: deterministic).

    Returns
    -------
    float
        The probability, in [0, 1], that wait plus service exceeds ``t``.

    Notes
    -----
    The arguments are not validated: this is the kernel :func:`response_quantile_s` solves.
    """
    theta = 1.0 / wait.mean_conditional_s
    tail = _waited_tail(t, theta, mean_service_s, service_cv)
    return _service_survival(t, mean_service_s, service_cv) + wait.p_wait * tail


def response_quantile_s(quantile: float, wait: Wait, mean_service_s: float,
                        service_cv: float) -> float:
    r"""The ``quantile`` of W + S in seconds, solved from :func:`response_survival`.

    The quantile is the t with :math:`P(W + S > t) = 1 - q`, found by Brent's method. For
    deterministic service (c_s = 0) it is in closed form,
    :math:`t_q = 1/\mu + E[W \mid W > 0]\,\ln(p / (1 - q))` when p > 1 − q, else 1/μ.

    Parameters
    ----------
    quantile : float
        The level q, in (0, 1).
    wait : Wait
        The wait, from :func:`wait_model`.
    mean_service_s : float
        Mean service time 1/μ in seconds, > 0.
    service_cv : float
        Coefficient of variation of the gamma service time, in [0, 3].

    Returns
    -------
    float
        The response time, in seconds, that a fraction ``quantile`` of requests stay within.

    Raises
    ------
    perfcost.validation.ParameterError
        If ``quantile`` or ``service_cv`` is outside its range.
    """
    quantile = fraction("quantile", quantile, low_open=True, high_open=True)
    service_cv = _service_cv(service_cv)
    tail = 1.0 - quantile
    if service_cv == 0.0:  # S is a constant: the quantile is S plus the wait's quantile
        extra = (math.log(wait.p_wait / tail) * wait.mean_conditional_s
                 if wait.p_wait > tail else 0.0)
        return mean_service_s + extra
    high = mean_service_s + wait.mean_conditional_s
    while response_survival(high, wait, mean_service_s, service_cv) > tail:
        high *= 2.0
    return optimize.brentq(
        lambda t: response_survival(t, wait, mean_service_s, service_cv) - tail,
        0.0, high, xtol=1e-15, rtol=1e-10)


@dataclass(frozen=True)
class FleetLatency:
    """How a fleet's latency is modelled: the balancer's routing and service variability.

    Parameters
    ----------
    routing : str
        One of :data:`ROUTINGS`; ``shared_queue`` is the lower bound no balancer reaches.
    service_cv : float
        Coefficient of variation of one request's service time, in [0, 3]: 0 deterministic,
        1 exponential (the M/M/c assumption). Default :data:`DEFAULT_SERVICE_CV`.

    Raises
    ------
    perfcost.validation.ParameterError
        If ``routing`` is not one of :data:`ROUTINGS` or ``service_cv`` is outside [0, 3].

    References
    ----------
    Allen (1990), §6; Whitt (1993): the approximation of :func:`wait_model`.
    """

    routing: str = "least_outstanding"
    service_cv: float = DEFAULT_SERVICE_CV

    def __post_init__(self):
        object.__setattr__(self, "routing", _routing(self.routing))
        object.__setattr__(self, "service_cv", _service_cv(self.service_cv))

    def response_quantile_s(self, instances: int, slots: int, slot_rate: float,
                            arrival_rate: float, quantile: float = 0.95) -> float:
        """The ``quantile`` response time, in seconds, of n instances of k slots at rate λ."""
        wait = wait_model(self.routing, instances, slots, slot_rate, arrival_rate,
                          self.service_cv)
        return response_quantile_s(quantile, wait, 1.0 / slot_rate, self.service_cv)

    def idle_quantile_s(self, slot_rate: float, quantile: float = 0.95) -> float:
        """The ``quantile`` of one service time: the latency floor no fleet size removes."""
        return response_quantile_s(quantile, Wait(0.0, 1.0), 1.0 / slot_rate, self.service_cv)

    @property
    def label(self) -> str:
        """e.g. "least outstanding, service cv 0.3"."""
        return f"{self.routing.replace('_', ' ')}, service cv {self.service_cv:g}"


# The M/M/c model of earlier editions: one queue for every slot, exponential service. No load
# balancer achieves a shared queue, so it is the lower bound on a fleet's latency.
MMC = FleetLatency("shared_queue", 1.0)
# A fleet as a load balancer builds it: per-instance queues, least outstanding requests, and
# service times as variable as DEFAULT_SERVICE_CV says.
FLEET = FleetLatency()
