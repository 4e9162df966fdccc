r"""A latency budget: the stages a request passes through, and why their percentiles do not add.

A request to an inference service passes through stages in turn (load balancer, the network
inside the region, a cache lookup, the model server's queue, batch fill and inference,
serialization), and its latency is the sum of the stages' latencies. Budgets are often written
as the sum of each stage's p95, but a quantile of a sum is not the sum of the quantiles: the
stages are rarely slow together, so for independent stages with tails as light as these the
end-to-end p95 lies below the sum and the sum is a pessimistic budget. It is not a bound in
general: quantiles (value-at-risk) are not subadditive, and for very skewed stages (a lognormal
with σ above about 2 at the 95th percentile) the sum's p95 can exceed the sum of the p95s
(Embrechts, McNeil & Straumann 2002, §5; Artzner et al. 1999).

Each stage's latency is lognormal through two published quantiles, its median m and a tail
quantile t at level q (Johnson, Kotz & Balakrishnan 1994, ch. 14):

.. math::  \ln X \sim N(\ln m, \sigma^2), \qquad \sigma = (\ln t - \ln m) / z_q,

where z_q is the standard normal quantile; t = m is a constant. The model server's response time
comes from chapter 1's fleet model (:mod:`perfcost.fleet_latency`): with probability p a request
waits an exponential time, then an independent gamma service time.
:func:`end_to_end_samples_ms` adds independent draws of every stage and
:func:`sum_of_quantiles_ms` is the pessimistic arithmetic; :func:`budget_table` sets them side
by side.

Used by chapter 5 (designing a 10,000-QPS classification service).

References
----------
Artzner, P., Delbaen, F., Eber, J.-M. & Heath, D. (1999). Coherent measures of risk.
*Mathematical Finance* 9(3), 203–228.
Embrechts, P., McNeil, A. & Straumann, D. (2002). Correlation and dependence in risk
management: properties and pitfalls. In *Risk Management: Value at Risk and Beyond*, 176–223.
Johnson, N. L., Kotz, S. & Balakrishnan, N. (1994). *Continuous Univariate Distributions*,
vol. 1, 2nd ed., Wiley.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from perfcost.fleet_latency import FleetLatency, wait_model
from perfcost.instance_types import MAX_LATENCY_MS
from perfcost.validation import (
    ParameterError,
    fraction,
    in_range,
    instance_of,
    integer_in_range,
    positive,
    seed_value,
)

__all__ = [
    "MAX_SAMPLES",
    "MAX_SPREAD",
    "MAX_STAGES",
    "MIN_TAIL_QUANTILE",
    "Stage",
    "budget_table",
    "end_to_end_quantile_ms",
    "end_to_end_samples_ms",
    "fleet_response_samples_ms",
    "independent_sum_ms",
    "sum_of_quantiles_ms",
]

MAX_SAMPLES = 10**7  # draws per stage: 80 MB of float64, a few seconds
MAX_STAGES = 64  # far more hops than any request path has
MAX_SPREAD = 1000.0  # tail / median: a stage whose p99 is 1,000× its median is two stages
MIN_TAIL_QUANTILE = 0.75  # below, z_q nears 0 and σ = ln(t/m)/z_q grows without bound
MS_PER_S = 1000.0


def _text(name: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ParameterError(name, "non-empty text", value)
    return value


def _tail_ms(value: object, p50_ms: float) -> float:
    """The tail latency: from ``p50_ms`` to 1,000 × ``p50_ms`` and at most 60,000 ms."""
    high = min(MAX_SPREAD * p50_ms, MAX_LATENCY_MS)
    try:
        return in_range("tail_ms", value, p50_ms, high)
    except ParameterError as error:
        raise ParameterError("tail_ms", f"{error.valid} (from p50_ms to min({MAX_SPREAD:g} × "
                             f"p50_ms, {MAX_LATENCY_MS:g}))", value) from None


@dataclass(frozen=True)
class Stage:
    r"""One stage of a request's path: a lognormal latency through two published quantiles.

    With median m = ``p50_ms``, tail t = ``tail_ms`` at level q = ``tail_quantile`` and
    :math:`z_q = \Phi^{-1}(q)` the standard normal quantile,

    .. math::  \ln X \sim N(\ln m, \sigma^2), \qquad \sigma = \frac{\ln t - \ln m}{z_q},
               \qquad x_p = m\, e^{\sigma z_p};

    t = m is a constant (σ = 0).

    Parameters
    ----------
    name : str
        What the stage is ("load balancer").
    p50_ms : float
        The median latency, in (0, 60,000] ms.
    tail_ms : float
        The latency at ``tail_quantile``, in [p50_ms, min(1,000 × p50_ms, 60,000)] ms; equal to
        ``p50_ms`` for a constant.
    tail_quantile : float
        The level of ``tail_ms``, in [0.75, 1) (0.99 for a published p99).
    source : str
        Where the two numbers come from, with its date.

    Raises
    ------
    perfcost.validation.ParameterError
        If ``name`` or ``source`` is not non-empty text, or a number is outside its range.

    References
    ----------
    Johnson, N. L., Kotz, S. & Balakrishnan, N. (1994), *Continuous Univariate
    Distributions*, vol. 1, 2nd ed., ch. 14 (the lognormal distribution).
    """

    name: str
    p50_ms: float
    tail_ms: float
    tail_quantile: float
    source: str

    def __post_init__(self):
        _text("name", self.name)
        p50 = positive("p50_ms", self.p50_ms, maximum=MAX_LATENCY_MS)
        tail = _tail_ms(self.tail_ms, p50)
        level = in_range("tail_quantile", self.tail_quantile, MIN_TAIL_QUANTILE, 1.0,
                         high_open=True)
        _text("source", self.source)
        for field, value in (("p50_ms", p50), ("tail_ms", tail), ("tail_quantile", level)):
            object.__setattr__(self, field, value)

    @property
    def sigma(self) -> float:
        """σ of ln(latency): (ln tail − ln p50) / z_tail; 0 for a constant."""
        return math.log(self.tail_ms / self.p50_ms) / float(special.ndtri(self.tail_quantile))

    def quantile_ms(self, quantile: float) -> float:
        """The ``quantile`` (in (0, 1)) of the stage's latency: p50 × exp(σ z_q)."""
        quantile = fraction("quantile", quantile, low_open=True, high_open=True)
        return self.p50_ms * math.exp(self.sigma * float(special.ndtri(quantile)))

    def samples_ms(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` (in [1, 10^7]) independent latencies: p50 × exp(σ Z), Z standard normal."""
        rng = _generator(rng)
        n = integer_in_range("n", n, 1, MAX_SAMPLES)
        return self.p50_ms * np.exp(self.sigma * rng.standard_normal(n))


def _generator(rng: object) -> np.random.Generator:
    return instance_of("rng", rng, np.random.Generator,
                       "a numpy Generator (numpy.random.default_rng(seed))")


def _stages(stages: object) -> tuple[Stage, ...]:
    valid = f"a list of 1 to {MAX_STAGES} Stage objects"
    if not isinstance(stages, Sequence) or isinstance(stages, str):
        raise ParameterError("stages", valid, stages)
    if not 1 <= len(stages) <= MAX_STAGES or not all(isinstance(s, Stage) for s in stages):
        raise ParameterError("stages", valid, stages)
    return tuple(stages)


def _sample_array(name: str, values: object) -> np.ndarray:
    """``values`` as a 1-D float array of 1 to 10^7 finite latencies >= 0."""
    valid = f"1 to {MAX_SAMPLES:,} finite numbers >= 0 (a 1-D array)"
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError(name, valid, values) from None
    if array.ndim != 1 or not 1 <= array.size <= MAX_SAMPLES:
        raise ParameterError(name, valid, values)
    if not np.all(np.isfinite(array)) or np.any(array < 0):
        raise ParameterError(name, valid, values)
    return array


def fleet_response_samples_ms(model: FleetLatency, instances: int, slots: int, slot_rate: float,
                              arrival_rate: float, n: int,
                              rng: np.random.Generator) -> np.ndarray:
    r"""Draw ``n`` response times (ms) of a fleet under chapter 1's model.

    A request waits with probability p = ``wait.p_wait``, then an exponential time of mean
    ``wait.mean_conditional_s`` (:func:`perfcost.fleet_latency.wait_model`); its service is an
    independent gamma with mean 1/``slot_rate`` and coefficient of variation
    ``model.service_cv`` (0: a constant). The draws' quantiles converge to
    ``model.response_quantile_s(instances, slots, slot_rate, arrival_rate, quantile)``.

    Parameters
    ----------
    model : FleetLatency
        The routing and service variability.
    instances, slots, slot_rate, arrival_rate
        As in :func:`perfcost.fleet_latency.wait_model` (rates per second).
    n : int
        Draws, in [1, 10^7].
    rng : numpy.random.Generator
        The source of randomness (seeded by the caller).

    Returns
    -------
    numpy.ndarray
        ``n`` response times in milliseconds, :math:`1000\,(B\,W + S)` with
        :math:`B \sim \text{Bernoulli}(p)`, :math:`W \sim \text{Exp}` of mean
        ``wait.mean_conditional_s`` and S the gamma service time, all independent.

    Raises
    ------
    perfcost.validation.ParameterError
        If ``model`` is not a FleetLatency, ``rng`` not a numpy Generator, ``n`` outside
        [1, 10^7], or an argument of :func:`~perfcost.fleet_latency.wait_model` out of range.
    perfcost.queueing.UnstableQueueError
        If ``arrival_rate`` is at or above the fleet's capacity.

    References
    ----------
    Allen (1990), §6; Whitt (1993): the wait model of :mod:`perfcost.fleet_latency`.
    """
    model = instance_of("model", model, FleetLatency, "a FleetLatency")
    wait = wait_model(model.routing, instances, slots, slot_rate, arrival_rate,
                      model.service_cv)
    n = integer_in_range("n", n, 1, MAX_SAMPLES)
    rng = _generator(rng)
    waited = rng.random(n) < wait.p_wait
    wait_s = np.where(waited, rng.exponential(wait.mean_conditional_s, n), 0.0)
    return MS_PER_S * (wait_s + _service_s(rng, 1.0 / slot_rate, model.service_cv, n))


def _service_s(rng: np.random.Generator, mean_s: float, cv: float, n: int) -> np.ndarray:
    """``n`` gamma service times (mean, cv); a constant below a cv of 10^-6."""
    if cv < 1e-6:  # gamma(1/cv²) would overflow; at this cv it is a constant
        return np.full(n, mean_s)
    shape = 1.0 / cv**2
    return rng.gamma(shape, mean_s / shape, n)


def independent_sum_ms(sample_sets: Sequence[np.ndarray], *, samples: int = 200_000,
                       seed: int = 0) -> np.ndarray:
    """Add independent latencies given by samples: resample each set with replacement.

    Each set's empirical distribution stands for its stage; ``samples`` (in [1, 10^7]) draws
    of each, with indices from ``numpy.random.default_rng(seed)``, are added. At most 64 sets.

    Parameters
    ----------
    sample_sets : sequence of array_like
        1 to 64 sets, each 1 to 10^7 finite latencies >= 0 (any unit; the sum is in the same).
    samples : int, optional
        Draws of each set, in [1, 10^7]; default 200,000.
    seed : int, optional
        Seed of ``numpy.random.default_rng``, in [0, 2^32 − 1]; default 0.

    Returns
    -------
    numpy.ndarray
        ``samples`` sums, one draw of each set in each.

    Raises
    ------
    perfcost.validation.ParameterError
        If ``sample_sets`` is not a sequence of 1 to 64 valid sample arrays, or ``samples`` or
        ``seed`` is outside its range.
    """
    if not isinstance(sample_sets, Sequence) or not 1 <= len(sample_sets) <= MAX_STAGES:
        raise ParameterError("sample_sets", f"a list of 1 to {MAX_STAGES} sample arrays",
                             sample_sets)
    sets = [_sample_array("sample_sets", values) for values in sample_sets]
    samples = integer_in_range("samples", samples, 1, MAX_SAMPLES)
    rng = np.random.default_rng(seed_value(seed))
    total = np.zeros(samples)
    for values in sets:
        total += values[rng.integers(0, values.size, samples)]
    return total


def end_to_end_samples_ms(stages: Sequence[Stage], server_samples_ms: np.ndarray | None = None,
                          *, samples: int = 200_000, seed: int = 0) -> np.ndarray:
    r"""Draw end-to-end latencies (ms): the independent sum of every stage and the server.

    Parameters
    ----------
    stages : sequence of Stage
        1 to 64 stages, each drawn with :meth:`Stage.samples_ms`.
    server_samples_ms : array, optional
        The model server's response times (:func:`fleet_response_samples_ms`), resampled with
        replacement; None leaves the server out.
    samples : int
        Draws, in [1, 10^7].
    seed : int
        Seed of ``numpy.random.default_rng``: the stages are drawn in order, then the server.

    Returns
    -------
    numpy.ndarray
        ``samples`` end-to-end latencies in ms: :math:`\sum_i X_i (+ S)`, the stages'
        lognormal draws plus a resampled server time, all independent.

    Raises
    ------
    perfcost.validation.ParameterError
        If ``stages`` is not 1 to 64 Stage objects, ``server_samples_ms`` not 1 to 10^7 finite
        numbers >= 0, or ``samples`` or ``seed`` is outside its range.
    """
    stages = _stages(stages)
    server = None if server_samples_ms is None else _sample_array("server_samples_ms",
                                                                  server_samples_ms)
    samples = integer_in_range("samples", samples, 1, MAX_SAMPLES)
    rng = np.random.default_rng(seed_value(seed))
    total = np.zeros(samples)
    for stage in stages:
        total += stage.samples_ms(rng, samples)
    if server is not None:
        total += server[rng.integers(0, server.size, samples)]
    return total


def end_to_end_quantile_ms(stages: Sequence[Stage], server_samples_ms: np.ndarray | None = None,
                           *, quantile: float = 0.95, samples: int = 200_000,
                           seed: int = 0) -> float:
    """The ``quantile`` (in (0, 1)) of :func:`end_to_end_samples_ms`, simulated.

    Parameters
    ----------
    stages, server_samples_ms, samples, seed
        As in :func:`end_to_end_samples_ms`.
    quantile : float, optional
        The level, in (0, 1); default 0.95.

    Returns
    -------
    float
        The empirical quantile (``numpy.quantile``, linear interpolation) of the draws, in ms.

    Raises
    ------
    perfcost.validation.ParameterError
        If ``quantile`` is outside (0, 1), or as :func:`end_to_end_samples_ms`.
    """
    quantile = fraction("quantile", quantile, low_open=True, high_open=True)
    draws = end_to_end_samples_ms(stages, server_samples_ms, samples=samples, seed=seed)
    return float(np.quantile(draws, quantile))


def sum_of_quantiles_ms(stages: Sequence[Stage], quantile: float,
                        server_quantile_ms: float | None = None) -> float:
    r"""The pessimistic budget: Σ each stage's ``quantile`` (+ the server's, if given), in ms.

    .. math::  B_q = \sum_i x_{i,q} \;(+\; s_q), \qquad x_{i,q} = m_i\, e^{\sigma_i z_q}.

    For independent stages with light tails the end-to-end quantile lies below :math:`B_q`, but
    it is not a bound in general: quantiles are not subadditive (see the module docstring).

    Parameters
    ----------
    stages : sequence of Stage
        1 to 64 stages.
    quantile : float
        The level q, in (0, 1).
    server_quantile_ms : float or None, optional
        The model server's q-quantile in ms, in [0, 60,000]; None adds nothing.

    Returns
    -------
    float
        The sum of the quantiles, in ms.

    Raises
    ------
    perfcost.validation.ParameterError
        If ``stages`` is not 1 to 64 Stage objects, or a number is outside its range.

    References
    ----------
    Embrechts, McNeil & Straumann (2002), §5; Artzner et al. (1999): value-at-risk (a quantile)
    is not subadditive.
    """
    stages = _stages(stages)
    quantile = fraction("quantile", quantile, low_open=True, high_open=True)
    server = (0.0 if server_quantile_ms is None else
              in_range("server_quantile_ms", server_quantile_ms, 0.0, MAX_LATENCY_MS))
    return math.fsum([*(s.quantile_ms(quantile) for s in stages), server])


def _percentile_name(quantile: float) -> str:
    return f"p{quantile * 100:g}"


def budget_table(stages: Sequence[Stage], server_samples_ms: np.ndarray | None = None,
                 quantile: float = 0.95, *, samples: int = 200_000,
                 seed: int = 0) -> pd.DataFrame:
    """One row per stage (name, p50_ms, quantile_ms, source), the server's row from its samples,
    then the sum of the stage quantiles and the simulated end-to-end quantile.

    The sum row adds each column (a budget's arithmetic); the end-to-end row holds the
    simulated median and ``quantile`` of the sum (:func:`end_to_end_samples_ms`).

    Parameters
    ----------
    stages : sequence of Stage
        1 to 64 stages.
    server_samples_ms : array_like or None, optional
        The model server's response times in ms (:func:`fleet_response_samples_ms`); None
        leaves the server out.
    quantile : float, optional
        The level of the ``quantile_ms`` column, in (0, 1); default 0.95.
    samples : int, optional
        Draws of the end-to-end simulation, in [1, 10^7]; default 200,000.
    seed : int, optional
        Seed of the simulation, in [0, 2^32 − 1]; default 0.

    Returns
    -------
    pandas.DataFrame
        Columns ``stage``, ``p50_ms``, ``quantile_ms`` and ``source``.

    Raises
    ------
    perfcost.validation.ParameterError
        If an argument is outside its range (as :func:`end_to_end_samples_ms`).

    References
    ----------
    Embrechts, McNeil & Straumann (2002), §5: why the sum row and the end-to-end row differ.
    """
    stages = _stages(stages)
    server = None if server_samples_ms is None else _sample_array("server_samples_ms",
                                                                  server_samples_ms)
    quantile = fraction("quantile", quantile, low_open=True, high_open=True)
    samples = integer_in_range("samples", samples, 1, MAX_SAMPLES)
    seed = seed_value(seed)
    rows = [(s.name, s.p50_ms, s.quantile_ms(quantile), s.source) for s in stages]
    if server is not None:
        p50, tail = np.quantile(server, [0.5, quantile])
        rows.append(("model server", float(p50), float(tail), "fleet model (samples)"))
    label = _percentile_name(quantile)
    rows.append((f"sum of the stage {label}s", math.fsum(r[1] for r in rows),
                 math.fsum(r[2] for r in rows), "budget arithmetic"))
    draws = end_to_end_samples_ms(stages, server, samples=samples, seed=seed)
    p50, tail = np.quantile(draws, [0.5, quantile])
    rows.append((f"end-to-end {label} (simulated)", float(p50), float(tail),
                 f"{samples:,} independent draws, seed {seed}"))
    return pd.DataFrame(rows, columns=["stage", "p50_ms", "quantile_ms", "source"])
