"""When a measured difference is a difference: timing ratios with intervals, paired accuracy.

A speed-up is priced in money only when it is measurable. Timings are taken as repeated,
interleaved trials (:func:`interleaved_trials`: every trial runs each candidate once, in a
shuffled order, so drift in the machine falls on all of them alike); two candidates are compared
by the ratio of their medians: with a t-interval over sessions when each was timed in several
(:func:`ratio_of_session_medians`, what chapter 4 uses: sessions are the replicates), or with a
percentile bootstrap over the trials (:func:`ratio_of_medians`).
An interval that includes 1 is "no measurable difference", and its gain is 1.0
(:attr:`Ratio.gain`).

Accuracy is compared on the *same* test examples, so the comparison is paired: McNemar's exact
test on the discordant pairs, and a Wald interval for the paired difference
(:func:`paired_accuracy`; Agresti & Min 2005, "Simple improved confidence intervals for
comparing matched proportions", Statistics in Medicine 24:729-740, add 0.5 to each cell).
:func:`accuracy_gate` compares that interval with the drop a reader allows.

Used by chapter 4 (compression) for issue 11.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
from scipy import stats

from perfcost.validation import ParameterError, fraction, integer_in_range, seed_value

__all__ = [
    "PairedAccuracy",
    "Ratio",
    "accuracy_gate",
    "accuracy_with_ci",
    "interleaved_trials",
    "paired_accuracy",
    "ratio_of_medians",
    "ratio_of_session_medians",
    "replicate_interval",
    "session_median_interval",
]

MAX_TRIALS = 100_000
MAX_BOOTSTRAP_DRAWS = 5e7  # resamples x samples held at once


@dataclass(frozen=True)
class Ratio:
    """median(candidate) / median(baseline), with a ``confidence`` interval [low, high]."""

    estimate: float
    low: float
    high: float
    confidence: float

    @property
    def measurable(self) -> bool:
        """Whether the interval excludes 1 (no change)."""
        return not self.low <= 1.0 <= self.high

    @property
    def gain(self) -> float:
        """The ratio to price: the estimate when measurable, else exactly 1.0."""
        return self.estimate if self.measurable else 1.0

    def describe(self, unit: str = "") -> str:
        """``1.42x (1.38-1.47)``, or ``no measurable difference (0.97-1.04)``."""
        interval = f"{self.low:.2f}-{self.high:.2f}{unit}"
        if not self.measurable:
            return f"no measurable difference ({interval})"
        return f"{self.estimate:.2f}{unit} ({interval})"


def _positive(name: str, samples: np.ndarray) -> np.ndarray:
    if not np.all(np.isfinite(samples)) or np.any(samples <= 0):
        raise ParameterError(name, "finite measurements > 0", samples[~(samples > 0)][:3])
    return samples


def _sessions(name: str, values) -> np.ndarray:
    """Measurements as a (sessions, trials) array: a flat list is one session; a list of
    equally long lists is one per session (at least two sessions, two trials each)."""
    try:
        samples = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        samples = np.empty((0,))
    if samples.ndim == 1 and samples.size >= 2:
        return _positive(name, samples[None, :])
    if samples.ndim == 2 and samples.shape[0] >= 2 and samples.shape[1] >= 2:
        return _positive(name, samples)
    raise ParameterError(name, "at least two measurements, or at least two sessions of equally "
                         "many (two or more) measurements", f"shape {samples.shape}")


def _bootstrap_medians(samples: np.ndarray, resamples: int, rng) -> np.ndarray:
    """Medians of ``resamples`` two-stage resamples: sessions with replacement, then trials
    within each session drawn (a cluster bootstrap; one session: a plain bootstrap)."""
    sessions, trials = samples.shape
    chosen = rng.integers(0, sessions, (resamples, sessions))
    picked = rng.integers(0, trials, (resamples, sessions, trials))
    return np.median(samples[chosen[..., None], picked].reshape(resamples, -1), axis=1)


def ratio_of_medians(baseline, candidate, *, confidence: float = 0.99,
                     resamples: int = 2000, seed: int = 0) -> Ratio:
    r"""The ratio of the candidate's median to the baseline's, with a percentile bootstrap
    interval: both sides are resampled independently ``resamples`` times (in [100, 100,000]).

    ``baseline`` and ``candidate`` are positive measurements (times, or throughputs): a flat
    list of at least two, or one list per session (inference session, process, machine) of
    equally many. With sessions, the bootstrap resamples sessions and then trials within them,
    so the spread between sessions (memory placement, a different process) is part of the
    interval: two sessions of one graph can differ by a percent or two, which no number of
    trials in one session reveals as noise. ``confidence`` is in (0, 1); the default 0.99
    keeps the false alarms of a table of comparisons rare.

    With :math:`r^*_j = \operatorname{median}(b^*_j) / \operatorname{median}(a^*_j)` the ratio
    of the j-th resamples and c the confidence, the interval is the
    :math:`(1 - c)/2` and :math:`(1 + c)/2` quantiles of the :math:`r^*_j`, widened if need be
    to hold the estimate :math:`\operatorname{median}(b) / \operatorname{median}(a)`.

    Parameters
    ----------
    baseline, candidate : array_like
        Measurements > 0: a flat list of at least two, or at least two sessions of equally many
        (two or more) each.
    confidence : float, optional
        The interval's level, in (0, 1); default 0.99.
    resamples : int, optional
        Bootstrap resamples, in [100, m], m = max(100, min(100,000, 5 × 10^7 // the larger
        side's number of measurements)); default 2,000.
    seed : int, optional
        Seed of ``numpy.random.default_rng``, in [0, 2^32 − 1]; default 0.

    Returns
    -------
    Ratio
        median(candidate) / median(baseline) with its interval.

    Raises
    ------
    perfcost.validation.ParameterError
        If the measurements are not of a shape above or not all finite and > 0, or
        ``confidence``, ``resamples`` or ``seed`` is outside its range.
    """
    a = _sessions("baseline", baseline)
    b = _sessions("candidate", candidate)
    confidence = fraction("confidence", confidence, low_open=True, high_open=True)
    most = max(100, min(100_000, int(MAX_BOOTSTRAP_DRAWS // max(a.size, b.size))))
    resamples = integer_in_range("resamples", resamples, 100, most)
    rng = np.random.default_rng(seed_value(seed))
    ratios = _bootstrap_medians(b, resamples, rng) / _bootstrap_medians(a, resamples, rng)
    tail = (1 - confidence) / 2
    low, high = np.quantile(ratios, [tail, 1 - tail])
    estimate = float(np.median(b) / np.median(a))
    return Ratio(estimate, float(min(low, estimate)), float(max(high, estimate)), confidence)


def _log_session_medians(name: str, samples) -> np.ndarray:
    values = _sessions(name, samples)
    if values.shape[0] < 2:
        raise ParameterError(name, "one list of measurements per session, at least two "
                             "sessions", f"shape {values.shape}")
    return np.log(np.median(values, axis=1))


def _t(confidence: float, df: float) -> float:
    confidence = fraction("confidence", confidence, low_open=True, high_open=True)
    return float(stats.t.ppf(0.5 + confidence / 2, df))


def session_median_interval(samples, *, confidence: float = 0.99
                            ) -> tuple[float, float, float]:
    r"""The typical median of a quantity timed in several sessions, with a t-interval.

    Each session's median is one replicate; the estimate is their geometric mean,
    exp(mean log m_i), and the interval exp(mean ± t_{n-1} s / sqrt(n)) over the n >= 2
    sessions: the spread between sessions, not the number of trials, sets its width.

    .. math::  \exp\Bigl(\bar\ell \pm t_{n-1,\,(1+c)/2}\, \frac{s_\ell}{\sqrt n}\Bigr),
               \qquad \ell_i = \ln m_i,

    with :math:`\bar\ell` and :math:`s_\ell` the mean and sample standard deviation of the
    log medians and c the confidence.

    Parameters
    ----------
    samples : array_like
        One list of measurements (> 0) per session, at least two sessions of equally many
        (two or more) measurements.
    confidence : float, optional
        The interval's level, in (0, 1); default 0.99.

    Returns
    -------
    tuple of float
        (estimate, low, high), in the measurements' unit.

    Raises
    ------
    perfcost.validation.ParameterError
        If ``samples`` is not at least two sessions of two or more finite measurements > 0, or
        ``confidence`` is outside (0, 1).
    """
    logs = _log_session_medians("samples", samples)
    return _geometric_interval(logs, confidence)


def replicate_interval(values, *, confidence: float = 0.95) -> tuple[float, float, float]:
    """The typical value of n >= 2 positive replicates (one figure each), with a t-interval:
    exp(mean log v_i) and exp(mean ± t_{n-1} s / sqrt(n)) of the logs.

    The interval of :func:`session_median_interval`, with each value in place of a session's
    median.

    Parameters
    ----------
    values : array_like
        At least two finite values > 0 (flattened).
    confidence : float, optional
        The interval's level, in (0, 1); default 0.95.

    Returns
    -------
    tuple of float
        (geometric mean, low, high).

    Raises
    ------
    perfcost.validation.ParameterError
        If there are fewer than two values, a value is not finite and > 0, or ``confidence``
        is outside (0, 1).
    """
    values = np.asarray(values, dtype=float).ravel()
    if values.size < 2:
        raise ParameterError("values", "at least two replicates", f"{values.size}")
    return _geometric_interval(np.log(_positive("values", values)), confidence)


def _geometric_interval(logs: np.ndarray, confidence: float) -> tuple[float, float, float]:
    centre, spread = logs.mean(), logs.std(ddof=1) / math.sqrt(logs.size)
    t = _t(confidence, logs.size - 1)
    return (float(math.exp(centre)), float(math.exp(centre - t * spread)),
            float(math.exp(centre + t * spread)))


def ratio_of_session_medians(baseline, candidate, *, confidence: float = 0.99) -> Ratio:
    r"""The candidate's typical median over the baseline's, each timed in >= 2 sessions.

    On the log scale, the difference of the mean log session medians, with a Welch t-interval
    (Welch-Satterthwaite degrees of freedom): sessions are the replicates, so two sessions of
    one graph that differ by a percent or two widen the interval instead of reading as an
    effect, which a bootstrap over as few as three sessions cannot do. With :math:`\bar a`,
    :math:`\bar b` the means of the log session medians, :math:`v_a = s_a^2 / n_a` and
    :math:`v_b = s_b^2 / n_b`,

    .. math::

        \exp\Bigl(\bar b - \bar a \pm t_{\nu,\,(1+c)/2} \sqrt{v_a + v_b}\Bigr), \qquad
        \nu = \frac{(v_a + v_b)^2}{v_a^2 / (n_a - 1) + v_b^2 / (n_b - 1)},

    and :math:`\nu = n_a + n_b - 2` when both spreads are 0.

    Parameters
    ----------
    baseline, candidate : array_like
        One list of measurements (> 0) per session, at least two sessions each of equally many
        (two or more) measurements.
    confidence : float, optional
        The interval's level c, in (0, 1); default 0.99.

    Returns
    -------
    Ratio
        The ratio of the geometric means of the session medians, with its interval.

    Raises
    ------
    perfcost.validation.ParameterError
        If either side is not at least two sessions of finite measurements > 0, or
        ``confidence`` is outside (0, 1).
    """
    a = _log_session_medians("baseline", baseline)
    b = _log_session_medians("candidate", candidate)
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    spread = math.sqrt(va + vb)
    df = ((va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
          if spread > 0 else a.size + b.size - 2)
    centre, t = b.mean() - a.mean(), _t(confidence, df)
    return Ratio(float(math.exp(centre)), float(math.exp(centre - t * spread)),
                 float(math.exp(centre + t * spread)), confidence)


def interleaved_trials(candidates: Mapping[str, Callable[[], float]], *, trials: int,
                       seed: int = 0) -> dict[str, np.ndarray]:
    """Run every candidate once per trial, in an order shuffled each trial; return each
    candidate's ``trials`` measurements (whatever its function returns: seconds, requests/s),
    an array of shape (trials,), or (trials, k) when each call returns k numbers.

    ``trials`` is in [2, 100,000]. Interleaving puts slow drift of the machine (frequency,
    other load, caches) on every candidate alike instead of on whichever ran last.
    """
    if not isinstance(candidates, Mapping) or not candidates:
        raise ParameterError("candidates", "a non-empty dict of name: function", candidates)
    for name, run in candidates.items():
        if not callable(run):
            raise ParameterError(f"candidates[{name!r}]", "a function", run)
    trials = integer_in_range("trials", trials, 2, MAX_TRIALS)
    rng = np.random.default_rng(seed_value(seed))
    names = list(candidates)
    found: dict = {name: [] for name in names}
    for _ in range(trials):
        for index in rng.permutation(len(names)):
            found[names[index]].append(candidates[names[index]]())
    return {name: np.asarray(values, dtype=float) for name, values in found.items()}


@dataclass(frozen=True)
class PairedAccuracy:
    """Candidate accuracy minus baseline accuracy on the same examples.

    ``only_baseline`` and ``only_candidate`` count the discordant examples (right for one
    only); ``p_value`` is McNemar's exact two-sided test of no difference.
    """

    difference: float
    low: float
    high: float
    p_value: float
    only_baseline: int
    only_candidate: int
    examples: int


def _correct(name: str, values) -> np.ndarray:
    flags = np.asarray(values)
    if flags.ndim != 1 or flags.size == 0 or flags.dtype != bool:
        raise ParameterError(name, "a non-empty one-dimensional array of True/False",
                             f"{flags.dtype} of shape {flags.shape}")
    return flags


def paired_accuracy(baseline_correct, candidate_correct, *,
                    confidence: float = 0.95) -> PairedAccuracy:
    r"""Compare two classifiers on the same examples (``*_correct``: True where right).

    With b examples right only for the baseline and c only for the candidate, out of n:
    difference (c − b)/n; interval by Agresti–Min (0.5 added to each of the four cells, then
    Wald); p-value by McNemar's exact test, the binomial test of min(b, c) in b + c at 1/2.
    With :math:`\tilde p_{12} = (b + 0.5)/(n + 2)`, :math:`\tilde p_{21} = (c + 0.5)/(n + 2)`
    and z the standard normal quantile at (1 + confidence)/2,

    .. math::  (\tilde p_{21} - \tilde p_{12}) \pm z \sqrt{\frac{(\tilde p_{12}
               + \tilde p_{21}) - (\tilde p_{21} - \tilde p_{12})^2}{n + 2}};

    the p-value is 1 when b + c = 0.

    Parameters
    ----------
    baseline_correct, candidate_correct : numpy.ndarray of bool
        One flag per test example, True where the classifier is right; non-empty,
        one-dimensional, the same length.
    confidence : float, optional
        The interval's level, in (0, 1); default 0.95.

    Returns
    -------
    PairedAccuracy
        The difference, its interval, the p-value and the discordant counts b and c.

    Raises
    ------
    perfcost.validation.ParameterError
        If a flag array is not a non-empty one-dimensional boolean array, the two differ in
        length, or ``confidence`` is outside (0, 1).

    References
    ----------
    Agresti, A. & Min, Y. (2005). Simple improved confidence intervals for comparing matched
    proportions. *Statistics in Medicine* 24, 729–740 (add 0.5 to each cell).
    """
    a = _correct("baseline_correct", baseline_correct)
    b_flags = _correct("candidate_correct", candidate_correct)
    if b_flags.shape != a.shape:
        raise ParameterError("candidate_correct", f"one flag per example ({a.size})",
                             f"shape {b_flags.shape}")
    confidence = fraction("confidence", confidence, low_open=True, high_open=True)
    n = a.size
    only_a, only_b = int(np.sum(a & ~b_flags)), int(np.sum(~a & b_flags))
    both, neither = int(np.sum(a & b_flags)), int(np.sum(~a & ~b_flags))
    cells = np.array([both, only_a, only_b, neither], dtype=float) + 0.5
    total = cells.sum()
    p12, p21 = cells[1] / total, cells[2] / total
    spread = math.sqrt(((p12 + p21) - (p21 - p12) ** 2) / total)
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    centre = p21 - p12
    discordant = only_a + only_b
    p_value = 1.0 if discordant == 0 else float(
        stats.binomtest(min(only_a, only_b), discordant, 0.5).pvalue)
    return PairedAccuracy((only_b - only_a) / n, centre - z * spread, centre + z * spread,
                          p_value, only_a, only_b, n)


def accuracy_gate(paired: PairedAccuracy, max_drop: float) -> str:
    """``"within"`` when the whole interval is above −\\ ``max_drop`` (the drop is at most that,
    at the interval's confidence) or when the candidate got no example wrong that the baseline
    got right (it lost nothing on this test set; the Agresti-Min interval's 0.5 per cell would
    otherwise keep any budget under about 1/n from ever passing), ``"exceeds"`` when the whole
    interval is below it, else ``"inconclusive"``: the test set cannot tell.
    ``max_drop`` is in [0, 1].

    Parameters
    ----------
    paired : PairedAccuracy
        The comparison, from :func:`paired_accuracy`.
    max_drop : float
        The accuracy drop allowed, as a fraction in [0, 1] (0.01: one percentage point).

    Returns
    -------
    str
        ``"within"``, ``"exceeds"`` or ``"inconclusive"``.

    Raises
    ------
    perfcost.validation.ParameterError
        If ``paired`` is not a PairedAccuracy or ``max_drop`` is outside [0, 1].

    References
    ----------
    Agresti, A. & Min, Y. (2005). Simple improved confidence intervals for comparing matched
    proportions. *Statistics in Medicine* 24, 729–740 (add 0.5 to each cell).
    """
    if not isinstance(paired, PairedAccuracy):
        raise ParameterError("paired", "a PairedAccuracy", type(paired).__name__)
    max_drop = fraction("max_drop", max_drop)
    if paired.low >= -max_drop or paired.only_baseline == 0:
        return "within"
    if paired.high < -max_drop:
        return "exceeds"
    return "inconclusive"


def accuracy_with_ci(predictions: np.ndarray, labels: np.ndarray, *, resamples: int = 2000,
                     level: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """Accuracy and its percentile bootstrap confidence interval over the test examples.

    ``predictions`` and ``labels``: one-dimensional, the same length, at least one; ``resamples``
    in [100, 100,000] with resamples × predictions at most 5 × 10^7 (the draws held at once).

    The interval is the (1 − ``level``)/2 and (1 + ``level``)/2 quantiles of the accuracies of
    ``resamples`` resamples of the examples, drawn with replacement.

    Parameters
    ----------
    predictions, labels : numpy.ndarray
        The predicted and true class of each test example.
    resamples : int, optional
        Bootstrap resamples; default 2,000.
    level : float, optional
        The interval's confidence, in (0, 1); default 0.95.
    seed : int, optional
        Seed of ``numpy.random.default_rng``, in [0, 2^32 − 1]; default 0.

    Returns
    -------
    tuple of float
        (accuracy, low, high), fractions in [0, 1].

    Raises
    ------
    perfcost.validation.ParameterError
        If the arrays are empty, not one-dimensional or of different lengths, or
        ``resamples``, ``level`` or ``seed`` is outside its range.
    """
    predictions, labels = np.asarray(predictions), np.asarray(labels)
    if predictions.ndim != 1 or predictions.size == 0:
        raise ParameterError("predictions", "a non-empty one-dimensional array",
                             f"shape {predictions.shape}")
    if labels.shape != predictions.shape:
        raise ParameterError("labels", f"one label per prediction ({predictions.size})",
                             f"shape {labels.shape}")
    correct = (predictions == labels).astype(float)
    most = max(100, min(100_000, int(MAX_BOOTSTRAP_DRAWS // correct.size)))
    resamples = integer_in_range("resamples", resamples, 100, most)
    level = fraction("level", level, low_open=True, high_open=True)
    rng = np.random.default_rng(seed_value(seed))
    means = correct[rng.integers(0, correct.size, size=(resamples, correct.size))].mean(axis=1)
    tail = (1 - level) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return float(correct.mean()), float(low), float(high)
