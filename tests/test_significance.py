"""Issue 11: a difference is priced only when it is measurable; accuracy is compared paired."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perfcost import significance as sig
from perfcost.validation import ParameterError

positive = st.floats(1e-3, 1e3, allow_nan=False)


# --- Ratios of medians --------------------------------------------------------------------------

def test_a_doubling_is_measured_as_two():
    rng = np.random.default_rng(0)
    baseline = 1.0 + 0.01 * rng.standard_normal(200)
    ratio = sig.ratio_of_medians(baseline, 2.0 * baseline[::-1])
    assert ratio.estimate == pytest.approx(2.0)
    assert ratio.measurable and ratio.gain == ratio.estimate
    assert ratio.low <= 2.0 <= ratio.high and ratio.high - ratio.low < 0.02
    assert ratio.describe("x").startswith("2.00x (")


@settings(max_examples=50, deadline=None)
@given(st.lists(positive, min_size=2, max_size=50))
def test_identical_samples_are_no_measurable_difference(samples):
    ratio = sig.ratio_of_medians(samples, list(samples))
    assert ratio.estimate == pytest.approx(1.0)
    assert ratio.low <= 1.0 <= ratio.high and not ratio.measurable
    assert ratio.gain == 1.0
    assert ratio.describe().startswith("no measurable difference (")


@settings(max_examples=50, deadline=None)
@given(st.lists(positive, min_size=2, max_size=50), st.floats(0.01, 100))
def test_the_estimate_scales_with_the_candidate(samples, factor):
    ratio = sig.ratio_of_medians(samples, [factor * s for s in samples])
    assert ratio.estimate == pytest.approx(factor, rel=1e-9)
    assert ratio.low <= ratio.estimate <= ratio.high


def test_two_samples_of_one_distribution_are_rarely_called_different():
    # At 99% confidence, about one pair in a hundred; the bootstrap of a median is a little
    # conservative, so 100 seeded pairs of lognormal timings give at most three.
    rng = np.random.default_rng(11)
    false_alarms = sum(
        sig.ratio_of_medians(rng.lognormal(0, 0.3, 60), rng.lognormal(0, 0.3, 60),
                             resamples=1000, seed=seed).measurable
        for seed in range(100))
    assert false_alarms <= 3


def test_a_five_percent_slowdown_in_noisy_timings_is_found():
    rng = np.random.default_rng(3)
    baseline, candidate = rng.lognormal(0, 0.05, 400), 1.05 * rng.lognormal(0, 0.05, 400)
    ratio = sig.ratio_of_medians(baseline, candidate)
    assert ratio.measurable and 1.02 < ratio.estimate < 1.08


def test_sessions_are_resampled_as_well_as_trials():
    # Two sessions per side, each steady but one percent apart: the trials alone would call
    # the sides different (pooled, every sample differs); the sessions say they are not.
    base = [np.full(50, 1.00), np.full(50, 1.01)]
    same = [np.full(50, 1.01), np.full(50, 1.00)]
    assert not sig.ratio_of_medians(base, same).measurable
    faster = [np.full(50, 0.90), np.full(50, 0.91)]
    assert sig.ratio_of_medians(base, faster).measurable


def test_trials_interleave_in_a_seeded_order():
    order = []
    candidates = {name: (lambda name=name: order.append(name) or 1.0) for name in "abc"}
    found = sig.interleaved_trials(candidates, trials=4, seed=5)
    assert {name: list(v) for name, v in found.items()} == {n: [1.0] * 4 for n in "abc"}
    rounds = [order[i:i + 3] for i in range(0, 12, 3)]
    assert all(sorted(r) == ["a", "b", "c"] for r in rounds)
    assert len({tuple(r) for r in rounds}) > 1  # not always the same order
    again = []
    sig.interleaved_trials({n: (lambda n=n: again.append(n) or 1.0) for n in "abc"},
                           trials=4, seed=5)
    assert again == order


# --- Paired accuracy ----------------------------------------------------------------------------

def flags(text):
    return np.array([c == "1" for c in text])


def test_balanced_disagreements_are_no_difference():
    paired = sig.paired_accuracy(flags("1110"), flags("1011"))
    assert (paired.only_baseline, paired.only_candidate, paired.examples) == (1, 1, 4)
    assert paired.difference == 0.0 and paired.p_value == 1.0
    assert paired.low < 0 < paired.high


def test_ten_losses_and_no_wins_in_a_hundred_by_hand():
    # McNemar exact: 2 x 0.5^10. Agresti-Min: cells 90.5, 10.5, 0.5, 0.5 of 102;
    # centre 0.5/102 - 10.5/102 = -0.09804, sd sqrt((11/102 - 0.09804^2)/102) = 0.031030.
    paired = sig.paired_accuracy(flags("1" * 100), flags("0" * 10 + "1" * 90))
    assert paired.difference == pytest.approx(-0.10)
    assert paired.p_value == pytest.approx(2 * 0.5**10)
    assert paired.low == pytest.approx(-0.09804 - 1.959964 * 0.031030, abs=1e-4)
    assert paired.high == pytest.approx(-0.09804 + 1.959964 * 0.031030, abs=1e-4)


@pytest.mark.parametrize(("max_drop", "verdict"), [(0.2, "within"), (0.1, "inconclusive"),
                                                    (0.01, "exceeds")])
def test_the_gate_reads_the_whole_interval(max_drop, verdict):
    paired = sig.paired_accuracy(flags("1" * 100), flags("0" * 10 + "1" * 90))
    assert sig.accuracy_gate(paired, max_drop) == verdict


def test_a_paired_interval_is_narrower_than_two_unpaired_ones():
    # 1,000 examples, the candidate wrong on 12 the baseline got right and right on 4 it got
    # wrong: two unpaired 95% intervals of ~0.9 accuracy are each about +-1.9 points wide.
    base = np.ones(1000, bool)
    base[:100] = False
    cand = base.copy()
    cand[100:112] = False
    cand[:4] = True
    paired = sig.paired_accuracy(base, cand)
    assert paired.high - paired.low < 0.02
    assert paired.difference == pytest.approx(-0.008)


# --- Bad input ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("call", "message"), [
    (lambda: sig.ratio_of_medians([1.0], [1.0, 2.0]), "baseline must be at least two"),
    (lambda: sig.ratio_of_medians([[1.0, 2.0], [1.0]], [1.0, 2.0]), "equally many"),
    (lambda: sig.ratio_of_medians([[1.0, 2.0]], [1.0, 2.0]), "at least two sessions"),
    (lambda: sig.ratio_of_medians([1.0, 0.0], [1.0, 2.0]), "baseline must be finite"),
    (lambda: sig.ratio_of_medians([1.0, 2.0], [1.0, math.nan]), "candidate must be finite"),
    (lambda: sig.ratio_of_medians([1.0, 2.0], [1.0, 2.0], confidence=1.0), "confidence"),
    (lambda: sig.ratio_of_medians([1.0, 2.0], [1.0, 2.0], resamples=5), "resamples"),
    (lambda: sig.interleaved_trials({}, trials=3), "candidates must be a non-empty dict"),
    (lambda: sig.interleaved_trials({"a": 1}, trials=3), r"candidates\['a'\] must be"),
    (lambda: sig.interleaved_trials({"a": lambda: 1.0}, trials=1), "trials must be"),
    (lambda: sig.paired_accuracy([1, 0], [True, False]), "baseline_correct must be"),
    (lambda: sig.paired_accuracy(flags("10"), flags("1")), "candidate_correct must be one"),
    (lambda: sig.accuracy_gate("x", 0.1), "paired must be a PairedAccuracy"),
    (lambda: sig.accuracy_gate(sig.paired_accuracy(flags("1"), flags("1")), 2), "max_drop"),
])
def test_bad_input_is_refused_naming_the_argument(call, message):
    with pytest.raises(ParameterError, match=message):
        call()


def test_session_medians_give_a_t_interval_by_hand():
    # Two sessions with medians e^0 and e^0.02: mean log 0.01, sd 0.01414, se 0.01.
    sessions = [[1.0, 1.0, 1.0], [math.exp(0.02)] * 3]
    estimate, low, high = sig.session_median_interval(sessions, confidence=0.95)
    t = 12.706204736  # t_{0.975, 1}
    assert estimate == pytest.approx(math.exp(0.01))
    assert (low, high) == pytest.approx((math.exp(0.01 - t * 0.01), math.exp(0.01 + t * 0.01)))


# --- Replicates: one figure each ------------------------------------------------------------

def test_replicates_give_a_geometric_mean_and_t_interval_by_hand():
    """2 and 8: logs ln 2 and 3 ln 2, mean 2 ln 2 (estimate 4), s = sqrt(2) ln 2, se = ln 2."""
    estimate, low, high = sig.replicate_interval([2.0, 8.0])  # 95% by default
    t = 12.706204736  # t_{0.975, 1}
    assert estimate == pytest.approx(4.0)
    assert (low, high) == pytest.approx((4.0 * 2.0 ** -t, 4.0 * 2.0 ** t))
    wider = sig.replicate_interval([2.0, 8.0], confidence=0.99)
    assert wider[0] == pytest.approx(4.0) and wider[1] < low and wider[2] > high


def test_equal_replicates_have_a_zero_width_interval():
    assert sig.replicate_interval([0.3, 0.3, 0.3]) == pytest.approx((0.3, 0.3, 0.3))


@settings(max_examples=50, deadline=None)
@given(st.lists(positive, min_size=2, max_size=20), st.floats(0.5, 0.999))
def test_the_replicate_interval_contains_its_estimate(values, confidence):
    estimate, low, high = sig.replicate_interval(values, confidence=confidence)
    assert low <= estimate * (1 + 1e-12) and estimate <= high * (1 + 1e-12)
    assert min(values) * (1 - 1e-12) <= estimate <= max(values) * (1 + 1e-12)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.lists(positive, min_size=3, max_size=3), min_size=2, max_size=6),
       st.floats(0.5, 0.999))
def test_session_medians_are_replicates_of_their_medians(sessions, confidence):
    """The session interval is the replicate interval of the sessions' medians."""
    medians = [float(np.median(session)) for session in sessions]
    assert sig.session_median_interval(sessions, confidence=confidence) == pytest.approx(
        sig.replicate_interval(medians, confidence=confidence), rel=1e-12)


@pytest.mark.parametrize("bad", [[], [1.0], [1.0, 0.0], [1.0, -2.0], [1.0, math.nan],
                                 [1.0, math.inf]])
def test_replicates_need_two_positive_finite_values(bad):
    with pytest.raises(ParameterError) as refused:
        sig.replicate_interval(bad)
    assert refused.value.name == "values"


@pytest.mark.parametrize("confidence", [0.0, 1.0, 1.5])
def test_a_replicate_confidence_outside_zero_one_is_refused(confidence):
    with pytest.raises(ParameterError, match="confidence"):
        sig.replicate_interval([1.0, 2.0], confidence=confidence)


def test_sessions_one_percent_apart_are_not_an_effect_by_session_medians():
    # Six sessions a side, each side's sessions spread by a percent: equal on average.
    spread = [0.99, 1.0, 1.01, 0.995, 1.005, 1.0]
    baseline = [[s] * 50 for s in spread]
    candidate = [[s * 1.002] * 50 for s in reversed(spread)]
    ratio = sig.ratio_of_session_medians(baseline, candidate)
    assert not ratio.measurable and ratio.gain == 1.0
    faster = sig.ratio_of_session_medians(baseline, [[s * 1.2] * 50 for s in spread])
    assert faster.measurable and faster.estimate == pytest.approx(1.2)


@pytest.mark.parametrize("bad", [[1.0, 2.0, 3.0], [[1.0, 2.0]], [[1.0, -1.0], [1.0, 1.0]]])
def test_session_medians_need_two_sessions_of_positive_times(bad):
    with pytest.raises(ParameterError):
        sig.ratio_of_session_medians(bad, [[1.0, 1.0], [1.0, 1.0]])


def test_a_candidate_that_loses_no_example_passes_any_budget():
    baseline = np.r_[np.ones(900, bool), np.zeros(100, bool)]
    same = sig.paired_accuracy(baseline, baseline)
    assert same.low < 0 and sig.accuracy_gate(same, 0.0) == "within"  # interval alone: no
    better = baseline.copy()
    better[950:] = True  # right on 50 more, wrong on none fp32 got
    assert sig.accuracy_gate(sig.paired_accuracy(baseline, better), 0.0) == "within"
    worse = baseline.copy()
    worse[:3] = False
    assert sig.accuracy_gate(sig.paired_accuracy(baseline, worse), 0.0) != "within"
