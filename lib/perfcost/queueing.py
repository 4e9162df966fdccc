r"""Queueing formulas for sizing a fleet: Erlang C, M/M/c, M/G/1 and a G/G/c approximation.

Notation (Kleinrock 1975; Harchol-Balter 2013): requests arrive at rate λ (``arrival_rate``, per
second), each of c servers (``servers``) completes work at rate μ (``service_rate``), so the offered
load is a = λ/μ Erlangs and the utilisation is ρ = λ/(cμ). The queue is stable only when ρ < 1.

*Erlang C* is the probability that an arriving request has to wait in an M/M/c queue,

.. math::  C(c, a) = \frac{B(c, a)}{1 - ρ\,(1 - B(c, a))},

where B is the Erlang B blocking probability. B is the ratio of a Poisson(a) probability to its
cumulative distribution, B(c, a) = P(N = c) / P(N ≤ c), which we evaluate in log space with the
regularised incomplete gamma function, P(N ≤ c) = Q(c + 1, a). No factorial is formed, so the
computation costs the same at c = 100,000 as at c = 1 and never overflows.

Valid ranges, checked before any work (a bad value raises ParameterError naming the argument):

* ``servers`` c: a whole number in [1, 10^9] (:data:`MAX_SERVERS`). The log-space Erlang C loses
  about c ln c × 10^-16 to rounding: under 10^-5 relative at 10^9, against 50-digit arithmetic.
* ``service_rate`` μ: in [10^-6, 10^9] per second (:data:`MIN_SERVICE_RATE`,
  :data:`MAX_SERVICE_RATE`); the lower end keeps 1/μ and every wait finite.
* ``arrival_rate`` λ: in (0, 10^18] (c μ at the largest fleet of the fastest servers), and < cμ.
* coefficients of variation: in [0, 100] (:data:`MAX_CV`), so c² + 1 stays exact and finite.
* quantile levels ``q``: in [0, 1); times ``t``: in [0, 10^30] s (:data:`MAX_TIME_S`).

Within these ranges every result is finite and non-negative.

Used by chapter 1 (capacity sizing) and by the cost and batching chapters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

from scipy import optimize, special

from perfcost.validation import ParameterError, fraction, in_range, integer_in_range, positive

__all__ = [
    "MAX_ARRIVAL_RATE",
    "MAX_CV",
    "MAX_SERVERS",
    "MAX_SERVICE_RATE",
    "MAX_TIME_S",
    "MD1",
    "MG1",
    "MIN_SERVICE_RATE",
    "GGc",
    "MMc",
    "UnstableQueueError",
    "erlang_c",
]

MAX_SERVERS = 10**9  # Erlang C stays within 1e-5 relative of exact up to here (module docstring)
MIN_SERVICE_RATE = 1e-6  # per second: one service in ~12 days; keeps 1/μ and every wait finite
MAX_SERVICE_RATE = 1e9  # per second: a nanosecond per request
MAX_ARRIVAL_RATE = MAX_SERVERS * MAX_SERVICE_RATE  # c μ of the largest, fastest fleet
MAX_CV = 100.0  # coefficient of variation; a service-time cv beyond 100 is a data error
MAX_TIME_S = 1e30  # far beyond any quantile these rates give (< 1e24 s); rate × t stays finite


class UnstableQueueError(ParameterError):
    """Arrivals at or above the servers' capacity: the queue grows without bound."""


def _check_stable(arrival_rate: float, capacity: float) -> None:
    if arrival_rate >= capacity:
        raise UnstableQueueError(
            "arrival_rate",
            f"< servers × service_rate = {capacity:g} (at or above capacity the queue is unstable)",
            arrival_rate,
        )


def _servers(servers: object) -> int:
    return integer_in_range("servers", servers, 1, MAX_SERVERS)


def _arrival_rate(arrival_rate: object) -> float:
    return positive("arrival_rate", arrival_rate, maximum=MAX_ARRIVAL_RATE)


def _service_rate(service_rate: object) -> float:
    return in_range("service_rate", service_rate, MIN_SERVICE_RATE, MAX_SERVICE_RATE)


def _cv(name: str, value: object) -> float:
    return in_range(name, value, 0.0, MAX_CV)


def _time_s(t: object) -> float:
    return in_range("t", t, 0.0, MAX_TIME_S)


def _erlang_c(servers: int, offered_load: float) -> float:
    """Erlang C for validated inputs (1 <= servers, 0 < offered_load < servers)."""
    if offered_load == 0.0:  # λ/μ underflowed below the smallest float: nobody waits
        return 0.0
    log_pmf = servers * math.log(offered_load) - offered_load - special.gammaln(servers + 1)
    log_cdf = math.log(special.gammaincc(servers + 1, offered_load))
    blocking = math.exp(log_pmf - log_cdf)  # Erlang B
    rho = offered_load / servers
    return blocking / ((servers - offered_load) / servers + rho * blocking)


def erlang_c(servers: int, offered_load: float) -> float:
    r"""Return the probability that an arrival waits in an M/M/c queue (Erlang C).

    .. math::  C(c, a) = \frac{B(c, a)}{1 - \rho\,(1 - B(c, a))}, \qquad
               B(c, a) = \frac{P(N = c)}{P(N \le c)},\ N \sim \text{Poisson}(a),

    with ρ = a / c, evaluated in log space (module docstring).

    Parameters
    ----------
    servers : int
        Number of servers c, a whole number in [1, 10^9].
    offered_load : float
        Offered load a = λ/μ in Erlangs, 0 < a < c.

    Returns
    -------
    float
        C(c, a) in [0, 1].

    Raises
    ------
    UnstableQueueError
        If ``offered_load >= servers``.
    perfcost.validation.ParameterError
        If ``servers`` is not a whole number in [1, 10^9] or ``offered_load`` is not in
        (0, 10^9].

    References
    ----------
    A. K. Erlang (1917); L. Kleinrock, *Queueing Systems, Vol. 1* (1975), eq. 3.40.
    """
    servers = _servers(servers)
    offered_load = positive("offered_load", offered_load, maximum=MAX_SERVERS)
    if offered_load >= servers:
        raise UnstableQueueError(
            "offered_load", f"< servers = {servers} (the queue is unstable otherwise)", offered_load
        )
    return _erlang_c(servers, offered_load)


def _quantile_level(q: float) -> float:
    return fraction("q", q, high_open=True)


def _hypoexponential_survival(t: float, rate_a: float, rate_b: float) -> float:
    """P(X + Y > t) for independent exponentials X ~ Exp(rate_a), Y ~ Exp(rate_b).

    Written as e^{-m t} [1 + m t (1 - e^{-d t}) / (d t)] with m = min, d = |rate_a - rate_b|, which
    is exact for equal rates (the Erlang-2 case, (1 + m t) e^{-m t}) and free of cancellation
    when the rates are close.
    """
    low, gap = min(rate_a, rate_b), abs(rate_a - rate_b)
    x = gap * t
    shrink = 1.0 if x < 1e-12 else -math.expm1(-x) / x
    return math.exp(-low * t) * (1.0 + low * t * shrink)


class _MeanValues:
    """Mean response time and queue length from a queue's mean wait, by Little's law."""

    arrival_rate: float
    service_rate: float
    mean_wait: float

    @property
    def mean_response(self) -> float:
        """W = W_q + 1/μ: the mean wait plus the mean service time."""
        return self.mean_wait + 1.0 / self.service_rate

    @property
    def mean_queue_length(self) -> float:
        """L_q = λ W_q (Little's law): requests waiting, not in service."""
        return self.arrival_rate * self.mean_wait


@dataclass(frozen=True)
class MMc(_MeanValues):
    r"""An M/M/c queue: Poisson arrivals, exponential service, c servers, first come first served.

    Parameters
    ----------
    arrival_rate : float
        λ, requests per second, in (0, 10^18].
    service_rate : float
        μ, requests per second that one server completes, in [10^-6, 10^9].
    servers : int
        c, a whole number in [1, 10^9]. Requires λ < cμ.

    Times (``mean_wait``, ``wait_quantile``, ...) are in seconds when rates are per second.
    The waiting time is 0 with probability 1 - C and otherwise exponential with rate cμ - λ;
    the response time adds an independent Exp(μ) service time (Kleinrock 1975, §3.5):

    .. math::  W_q = \frac{C(c, a)}{c\mu - \lambda}, \qquad
               P(W_q > t) = C(c, a)\, e^{-(c\mu - \lambda) t}.

    Raises
    ------
    perfcost.validation.ParameterError
        If a parameter is outside its range.
    UnstableQueueError
        If λ >= cμ.

    References
    ----------
    L. Kleinrock, *Queueing Systems, Vol. 1* (1975), §3.5; M. Harchol-Balter, *Performance
    Modeling and Design of Computer Systems* (2013), ch. 14 (M/M/k).
    """

    arrival_rate: float
    service_rate: float
    servers: int

    def __post_init__(self):
        object.__setattr__(self, "arrival_rate", _arrival_rate(self.arrival_rate))
        object.__setattr__(self, "service_rate", _service_rate(self.service_rate))
        object.__setattr__(self, "servers", _servers(self.servers))
        _check_stable(self.arrival_rate, self.servers * self.service_rate)

    @property
    def offered_load(self) -> float:
        """a = λ/μ, in Erlangs."""
        return self.arrival_rate / self.service_rate

    @property
    def utilization(self) -> float:
        """ρ = λ/(cμ), the fraction of time a server is busy."""
        return self.arrival_rate / (self.servers * self.service_rate)

    @property
    def drain_rate(self) -> float:
        """θ = cμ - λ, the rate of the exponential wait of a request that waits."""
        return self.servers * self.service_rate - self.arrival_rate

    @cached_property
    def p_wait(self) -> float:
        """Probability that an arrival waits: Erlang C(c, λ/μ)."""
        return _erlang_c(self.servers, self.offered_load)

    @property
    def mean_wait(self) -> float:
        """W_q = C / (cμ - λ)."""
        return self.p_wait / self.drain_rate


    def wait_survival(self, t: float) -> float:
        """P(W_q > t) = C e^{-(cμ - λ) t} for t in [0, 10^30] s."""
        t = _time_s(t)
        return self.p_wait * math.exp(-self.drain_rate * t)

    def wait_quantile(self, q: float) -> float:
        """The q-quantile of the wait: 0 when C <= 1 - q, else ln(C / (1 - q)) / (cμ - λ)."""
        q = _quantile_level(q)
        if self.p_wait <= 1.0 - q:
            return 0.0
        return math.log(self.p_wait / (1.0 - q)) / self.drain_rate

    def response_survival(self, t: float) -> float:
        """P(W > t) = (1 - C) e^{-μ t} + C P(Exp(cμ - λ) + Exp(μ) > t), t in [0, 10^30] s."""
        t = _time_s(t)
        mu = self.service_rate
        waited = _hypoexponential_survival(t, self.drain_rate, mu)
        return (1.0 - self.p_wait) * math.exp(-mu * t) + self.p_wait * waited

    def response_quantile(self, q: float) -> float:
        """The q-quantile of the response time (wait + service), solved from response_survival."""
        q = _quantile_level(q)
        if q == 0.0:
            return 0.0
        tail = 1.0 - q
        slowest = min(self.drain_rate, self.service_rate)
        # Both survival terms are at most e^{-m t}(1 + m t), m the slower rate: bracket on it.
        high = 1.0 / slowest
        while math.exp(-slowest * high) * (1.0 + slowest * high) > tail:
            high *= 2.0
        return optimize.brentq(
            lambda t: self.response_survival(t) - tail, 0.0, high, xtol=1e-15, rtol=1e-12
        )


@dataclass(frozen=True)
class MG1(_MeanValues):
    """An M/G/1 queue: Poisson arrivals, one server, service times of any distribution.

    The mean wait is the Pollaczek–Khinchine formula

    .. math::  W_q = \\frac{λ E[S^2]}{2(1 - ρ)} = \\frac{ρ}{1 - ρ} \\frac{1 + c_s^2}{2 μ},

    with c_s the coefficient of variation of the service time (Kleinrock 1975, eq. 5.85).

    Parameters
    ----------
    arrival_rate : float
        λ, per second, > 0 and < μ.
    service_rate : float
        μ = 1 / E[S], per second, in [10^-6, 10^9].
    service_cv : float
        c_s = std(S) / E[S] in [0, 100]: 0 for deterministic service (M/D/1), 1 for exponential
        (M/M/1).

    Raises
    ------
    perfcost.validation.ParameterError
        If a parameter is outside its range.
    UnstableQueueError
        If λ >= μ.

    References
    ----------
    L. Kleinrock, *Queueing Systems, Vol. 1* (1975), eq. 5.85 (Pollaczek–Khinchine).
    """

    arrival_rate: float
    service_rate: float
    service_cv: float

    def __post_init__(self):
        object.__setattr__(self, "arrival_rate", _arrival_rate(self.arrival_rate))
        object.__setattr__(self, "service_rate", _service_rate(self.service_rate))
        object.__setattr__(self, "service_cv", _cv("service_cv", self.service_cv))
        _check_stable(self.arrival_rate, self.service_rate)

    @property
    def utilization(self) -> float:
        """ρ = λ/μ."""
        return self.arrival_rate / self.service_rate

    @property
    def mean_wait(self) -> float:
        """W_q by Pollaczek–Khinchine."""
        rho = self.utilization
        return rho / (1.0 - rho) * (1.0 + self.service_cv**2) / 2.0 / self.service_rate



def MD1(arrival_rate: float, service_rate: float) -> MG1:
    r"""Return the M/D/1 queue: M/G/1 with deterministic service (c_s = 0).

    Its mean wait is Pollaczek–Khinchine's with :math:`c_s = 0`,
    :math:`W_q = \rho / (2\mu(1 - \rho))`: half the M/M/1 wait.

    Parameters
    ----------
    arrival_rate : float
        λ, per second, > 0 and < μ.
    service_rate : float
        μ = 1 / service time, per second, in [10^-6, 10^9].

    Returns
    -------
    MG1
        ``MG1(arrival_rate, service_rate, service_cv=0.0)``.

    Raises
    ------
    perfcost.validation.ParameterError
        If a rate is outside its range.
    UnstableQueueError
        If λ >= μ.

    References
    ----------
    L. Kleinrock, *Queueing Systems, Vol. 1* (1975), eq. 5.85.
    """
    return MG1(arrival_rate, service_rate, service_cv=0.0)


@dataclass(frozen=True)
class GGc(_MeanValues):
    """A G/G/c queue, approximated by Allen–Cunneen (Kingman's formula when c = 1).

    .. math::  W_q \\approx \\frac{C(c, a)}{cμ - λ}\\,\\frac{c_a^2 + c_s^2}{2}

    It is exact for M/M/c (c_a = c_s = 1) and for M/G/1 (c_a = 1, c = 1), and an approximation
    otherwise, best at high utilisation (Allen 1990, §6; Kingman 1961; Hopp & Spearman 2008).

    Parameters
    ----------
    arrival_rate, service_rate : float
        λ and μ per second, as for :class:`MMc`, with λ < cμ.
    servers : int
        c, a whole number in [1, 10^9].
    arrival_cv, service_cv : float
        Coefficients of variation of inter-arrival and service times, in [0, 100].

    Raises
    ------
    perfcost.validation.ParameterError
        If a parameter is outside its range.
    UnstableQueueError
        If λ >= cμ.

    References
    ----------
    A. O. Allen, *Probability, Statistics, and Queueing Theory* (1990), §6; J. F. C. Kingman,
    "The single server queue in heavy traffic" (1961); Hopp & Spearman (2008).
    """

    arrival_rate: float
    service_rate: float
    servers: int
    arrival_cv: float
    service_cv: float

    def __post_init__(self):
        object.__setattr__(self, "arrival_rate", _arrival_rate(self.arrival_rate))
        object.__setattr__(self, "service_rate", _service_rate(self.service_rate))
        object.__setattr__(self, "servers", _servers(self.servers))
        object.__setattr__(self, "arrival_cv", _cv("arrival_cv", self.arrival_cv))
        object.__setattr__(self, "service_cv", _cv("service_cv", self.service_cv))
        _check_stable(self.arrival_rate, self.servers * self.service_rate)

    @property
    def utilization(self) -> float:
        """ρ = λ/(cμ)."""
        return self.arrival_rate / (self.servers * self.service_rate)

    @property
    def mean_wait(self) -> float:
        """W_q by Allen–Cunneen."""
        markov = MMc(self.arrival_rate, self.service_rate, self.servers)
        return markov.mean_wait * (self.arrival_cv**2 + self.service_cv**2) / 2.0

