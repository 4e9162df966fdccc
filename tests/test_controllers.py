"""Adaptive batching policies: bounds, safety rules, and the behaviour under overload."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perfcost.batching import (
    RESNET50_T4,
    LinearServiceTime,
    Measurement,
    simulate,
    slo_attainment,
)
from perfcost.batching.aimd import AIMDBatching, ClipperAIMDBatching
from perfcost.batching.envelope import EnvelopeBatchingController
from perfcost.batching.naive_proportional import NaiveProportionalBatching
from perfcost.batching.slo_controller import SLOBatchingController
from perfcost.traffic import (
    cold_start_arrivals,
    mmpp_arrivals,
    poisson_arrivals,
    step_spike_arrivals,
    swing_arrivals,
)
from perfcost.validation import ParameterError


def measurement(t_s, *, latencies_ms=(), arrivals=500, queue_len=0, sizes=(8, 16), wait=5.0,
                batch=16, instances=1):
    sizes = np.asarray(sizes, dtype=int)
    return Measurement(
        t_s=t_s, interval_s=1.0, latencies_ms=np.asarray(latencies_ms, dtype=float),
        arrivals=arrivals, queue_len=queue_len, batch_sizes=sizes,
        batch_service_ms=np.asarray(RESNET50_T4.batch_ms(sizes)), max_wait_ms=wait,
        max_batch_size=batch, instances=instances)


# --- AIMD -------------------------------------------------------------------------------------

def test_aimd_adds_while_the_slo_holds_and_multiplies_down_on_a_violation():
    aimd = AIMDBatching(slo_p95_ms=50, initial_batch_size=10, additive_step=4, decrease_factor=0.5)
    assert aimd.start() == (0.0, 10)
    assert aimd.update(measurement(1, latencies_ms=[20] * 30)) == (0.0, 14)
    assert aimd.update(measurement(2, latencies_ms=[80] * 30)) == (0.0, 7)
    assert aimd.update(measurement(3, latencies_ms=[80] * 5)) == (0.0, 7)  # too few samples


def test_aimd_falls_into_the_overload_trap():
    # Batch 1 serves at most 272 rps; at 700 rps the queue grows, the p95 breaks the SLO, and
    # a latency-only rule keeps shrinking: it never recovers.
    arrivals = poisson_arrivals(700, 60, seed=1)
    result = simulate(arrivals, service=RESNET50_T4, controller=AIMDBatching(50), instances=2)
    assert slo_attainment(result, 50) == 0.0
    assert result.timeline["max_batch_size"].max() == 1


# --- Ours: safety -----------------------------------------------------------------------------

def test_fallback_until_the_service_model_is_identified():
    controller = SLOBatchingController(50, fallback=(3.0, 6))
    assert controller.start() == (3.0, 6)
    # Batches of one size only: the line cannot be fitted yet.
    assert controller.update(measurement(1, latencies_ms=[20] * 50, sizes=(6, 6))) == (3.0, 6)
    assert controller.last_decision["mode"] == "fallback"


def test_no_change_on_too_few_samples():
    controller = SLOBatchingController(50, min_samples=20, latency_window_s=5)
    controller.start()
    controller.update(measurement(1, latencies_ms=[20] * 30))
    # From t = 7 the 5 s window holds 5 x 3 = 15 completions, under min_samples: hold.
    for t in range(2, 8):
        held = controller.update(measurement(t, latencies_ms=[20] * 3))
    for t in range(8, 12):
        assert controller.update(measurement(t, latencies_ms=[20] * 3)) == held
        assert controller.last_decision["mode"] == "hold"


def test_never_shrinks_while_overloaded():
    controller = SLOBatchingController(50)
    controller.start()
    controller.update(measurement(1, latencies_ms=[30] * 50, arrivals=400))
    sizes = []
    for t in range(2, 12):  # 5,000 rps on one T4: more than any batch size can carry
        _, batch = controller.update(measurement(t, latencies_ms=[500] * 200, arrivals=5000,
                                                 queue_len=3000))
        sizes.append(batch)
        assert controller.last_decision["scale_out"]
    assert sizes == sorted(sizes) and sizes[-1] == 128


def test_a_spike_enters_panic_mode_and_batches_do_not_shrink():
    controller = SLOBatchingController(50)
    controller.start()
    for t in range(1, 40):
        controller.update(measurement(t, latencies_ms=[30] * 200, arrivals=300))
    before = controller.update(measurement(40, latencies_ms=[30] * 200, arrivals=300))[1]
    after = controller.update(measurement(41, latencies_ms=[45] * 200, arrivals=1500))[1]
    assert controller.last_decision["mode"] in ("panic", "overload")
    assert after >= before


@settings(max_examples=25, deadline=None)
@given(rate=st.floats(50, 3000), limit=st.integers(1, 128), wait_limit=st.floats(0, 40),
       seed=st.integers(0, 100))
def test_bounds_are_always_respected(rate, limit, wait_limit, seed):
    arrivals = step_spike_arrivals(rate, 30, spike_start_s=10, spike_duration_s=5, seed=seed)
    if arrivals.size == 0:
        return
    controller = SLOBatchingController(50, max_batch_limit=limit, max_wait_limit_ms=wait_limit,
                                       fallback=(min(2.0, wait_limit), min(8, limit)))
    timeline = simulate(arrivals, service=RESNET50_T4, controller=controller,
                        instances=2).timeline
    assert timeline["max_batch_size"].between(1, limit).all()
    assert timeline["max_wait_ms"].between(0, wait_limit + 1e-9).all()


def test_contradictory_bounds_are_refused():
    with pytest.raises(ParameterError, match="max_wait_limit_ms must be < slo_p95_ms"):
        SLOBatchingController(50, max_wait_limit_ms=60)
    with pytest.raises(ParameterError, match="fallback batch size must be a whole number in"):
        SLOBatchingController(50, max_batch_limit=16, fallback=(2.0, 32))
    with pytest.raises(ParameterError, match="fallback wait must be <= max_wait_limit_ms"):
        SLOBatchingController(50, max_wait_limit_ms=10, fallback=(20.0, 8))
    with pytest.raises(ParameterError, match="initial_batch_size must be a whole number in"):
        AIMDBatching(50, initial_batch_size=200)
    with pytest.raises(ParameterError, match="slo_p95_ms must be"):
        NaiveProportionalBatching(0)


# --- Ours: behaviour --------------------------------------------------------------------------

def test_holds_the_slo_through_a_3x_spike_on_two_instances():
    arrivals = step_spike_arrivals(700, 240, spike_start_s=100, seed=3)
    result = simulate(arrivals, service=RESNET50_T4, controller=SLOBatchingController(50),
                      instances=2)
    assert slo_attainment(result, 50) == 1.0
    spike = result.timeline[(result.timeline["t_s"] > 105) & (result.timeline["t_s"] <= 160)]
    assert spike["max_batch_size"].min() > 16  # it batched up for the spike


def test_does_not_oscillate_where_the_naive_controller_does():
    arrivals = poisson_arrivals(700, 120, seed=5)

    def reversals(timeline):
        steps = np.sign(np.diff(timeline["max_batch_size"].to_numpy()))
        steps = steps[steps != 0]
        return int(np.sum(steps[1:] != steps[:-1]))

    naive = simulate(arrivals, service=RESNET50_T4, instances=2,
                     controller=NaiveProportionalBatching(50, gain=2.0))  # 88 reversals
    ours = simulate(arrivals, service=RESNET50_T4, instances=2,
                    controller=SLOBatchingController(50))
    assert reversals(naive.timeline) > 3 * max(1, reversals(ours.timeline))


# --- Bad input ----------------------------------------------------------------------------------

BAD_NUMBERS = [("text", "1"), ("none", None), ("bool", True), ("nan", math.nan),
               ("inf", math.inf), ("-inf", -math.inf), ("negative", -1.0), ("huge", 1e300)]

ARGUMENTS = [
    (AIMDBatching, name) for name in ("slo_p95_ms", "max_wait_ms", "initial_batch_size",
                                      "additive_step", "decrease_factor", "max_batch_limit",
                                      "min_samples")
] + [
    (NaiveProportionalBatching, name) for name in ("slo_p95_ms", "gain", "target_fraction",
                                                   "initial_wait_ms", "initial_batch_size",
                                                   "max_batch_limit")
] + [
    (SLOBatchingController, name) for name in (
        "slo_p95_ms", "max_batch_limit", "max_wait_limit_ms", "target_fraction",
        "latency_window_s", "long_window_s", "panic_ratio", "panic_hold_s", "min_samples",
        "integral_gain", "deadband", "max_step_up", "max_step_down", "max_wait_step_ms",
        "grow_below")
] + [
    (ClipperAIMDBatching, name) for name in ("slo_p95_ms", "max_wait_ms", "initial_batch_size",
                                             "additive_step", "decrease_factor",
                                             "max_batch_limit", "batch_objective_ms")
] + [
    (EnvelopeBatchingController, name) for name in (
        "slo_p95_ms", "target_fraction", "headroom", "envelope_s", "latency_window_s",
        "min_samples", "integral_gain", "bias_decay_s", "cost_tolerance", "peak_s",
        "capacity_headroom", "max_wait_step", "max_utilisation", "max_batch_limit",
        "max_wait_limit_ms",
        "shed_queue_over")
]


def build(policy, **arguments):
    return policy(**{"slo_p95_ms": 50.0, **arguments})


@pytest.mark.parametrize(("policy", "argument"), ARGUMENTS)
@pytest.mark.parametrize(("kind", "value"), BAD_NUMBERS)
def test_every_setting_refuses_bad_numbers_naming_itself(policy, argument, kind, value):
    if argument == "max_wait_limit_ms" and value is None:  # None: 60% (80%) of the SLO
        expected = 40.0 if policy is EnvelopeBatchingController else 30.0
        assert build(policy, max_wait_limit_ms=None).max_wait_limit_ms == pytest.approx(expected)
        return
    if value is None and argument in ("batch_objective_ms", "shed_queue_over"):
        return  # None is the default: the SLO, and no shedding report
    with pytest.raises(ParameterError, match=rf"^{argument} must be [^\n]*; got [^\n]*$"):
        build(policy, **{argument: value})


ZERO_IS_BAD = [(policy, name) for policy, name in ARGUMENTS
               if name not in ("max_wait_ms", "max_wait_limit_ms", "deadband", "cost_tolerance")]


@pytest.mark.parametrize(("policy", "argument"), ZERO_IS_BAD)
def test_zero_is_refused_where_it_means_nothing(policy, argument):
    with pytest.raises(ParameterError, match=rf"^{argument} must be"):
        build(policy, **{argument: 0})


@pytest.mark.parametrize(
    ("policy", "arguments", "message"),
    [
        (AIMDBatching, {"max_batch_limit": 10_000}, r"max_batch_limit must be a whole number in "
                                                    r"\[1, 4096\]; got 10000"),
        (AIMDBatching, {"max_wait_ms": 1e12}, r"max_wait_ms must be a number in \[0, 60000\]"),
        (AIMDBatching, {"additive_step": 5000}, r"additive_step must be a whole number in "
                                                r"\[1, 4096\]"),
        (AIMDBatching, {"decrease_factor": 1.0}, r"decrease_factor must be a number in \(0, 1\)"),
        (AIMDBatching, {"min_samples": 10**7}, "min_samples must be a whole number in"),
        (NaiveProportionalBatching, {"gain": 1e3}, r"gain must be a number in \(0, 100\]"),
        (NaiveProportionalBatching, {"initial_wait_ms": 1e5}, "initial_wait_ms must be"),
        (SLOBatchingController, {"slo_p95_ms": 1e7},
         r"slo_p95_ms must be a number in \(0, 3.6e\+06\]"),
        (SLOBatchingController, {"max_wait_limit_ms": 1e5, "slo_p95_ms": 1e6},
         r"max_wait_limit_ms must be a number in \[0, 60000\]"),
        (SLOBatchingController, {"latency_window_s": 1e9},
         r"latency_window_s must be a number in \(0, 86400\]"),
        (SLOBatchingController, {"max_step_up": 0.5}, "max_step_up must be a number in"),
        (SLOBatchingController, {"max_step_down": 1.5},
         r"max_step_down must be a number in \(0, 1\]"),
        (SLOBatchingController, {"panic_ratio": 1e6}, "panic_ratio must be a number in"),
        (SLOBatchingController, {"fallback": 5}, r"fallback must be a pair \(wait in ms, "
                                                 r"batch size\); got 5"),
        (SLOBatchingController, {"fallback": (2.0,)}, "fallback must be a pair"),
        (SLOBatchingController, {"fallback": "ab"}, "fallback must be a pair"),
        (SLOBatchingController, {"fallback": (math.nan, 8)}, "fallback wait must be"),
        (SLOBatchingController, {"fallback": (2.0, 8.5)}, "fallback batch size must be"),
        (SLOBatchingController, {"fallback": (2.0, 10**9)}, "fallback batch size must be"),
    ],
)
def test_settings_have_upper_limits(policy, arguments, message):
    with pytest.raises(ParameterError, match=message):
        build(policy, **arguments)


def test_a_long_slo_keeps_the_default_window_within_the_simulators_limit():
    controller = SLOBatchingController(slo_p95_ms=3_600_000)
    assert controller.max_wait_limit_ms == 60_000


def test_the_naive_window_never_exceeds_the_simulators_limit():
    naive = NaiveProportionalBatching(slo_p95_ms=3_600_000, initial_wait_ms=60_000,
                                      initial_batch_size=1, max_batch_limit=4096)
    naive.start()
    for t in range(1, 20):  # latencies far under target: the scale grows every interval
        wait, batch = naive.update(measurement(t, latencies_ms=[1.0] * 50))
    assert wait == 60_000 and batch > 1


def test_a_service_fit_beyond_the_line_limits_is_clipped_not_an_error():
    controller = SLOBatchingController(50)
    controller.start()
    # Jitter can make measured batches look like 2,000,000 ms per item: beyond a service line.
    huge = measurement(1, latencies_ms=[20] * 50, sizes=(1, 2))
    huge = Measurement(**{**huge.__dict__, "batch_service_ms": np.array([1e6, 3e6])})
    wait, batch = controller.update(huge)
    assert controller.last_decision["mode"] != "fallback"
    assert 0 <= wait <= controller.max_wait_limit_ms and 1 <= batch <= 128


# --- AIMD as Clipper drives it ------------------------------------------------------------------

def test_clipper_aimd_steps_on_its_batches_service_times():
    aimd = ClipperAIMDBatching(slo_p95_ms=25, max_wait_ms=2.0, initial_batch_size=10)
    assert aimd.start() == (2.0, 10)
    fast = measurement(1, sizes=(10, 11))  # 10.6 and 11.4 ms: within the 25 ms objective
    assert aimd.update(fast) == (2.0, 12)
    slow = Measurement(**{**fast.__dict__, "batch_service_ms": np.array([10.0, 30.0])})
    assert aimd.update(slow) == (2.0, 10)  # floor(12 x 0.9)
    quiet = Measurement(**{**fast.__dict__, "batch_sizes": np.array([], dtype=int),
                           "batch_service_ms": np.array([])})
    assert aimd.update(quiet) == (2.0, 10)  # no batch, no step


def test_clipper_aimd_settles_where_a_batch_takes_the_objective():
    # The T4 line reaches 25 ms between batch 28 (24.5 ms) and 29 (25.2 ms).
    arrivals = poisson_arrivals(1500, 30, seed=2)
    run = simulate(arrivals, service=RESNET50_T4, instances=1,
                   controller=ClipperAIMDBatching(25, initial_batch_size=8, max_batch_limit=64))
    late = run.timeline[run.timeline["t_s"] > 10]["max_batch_size"]
    assert late.between(24, 31).all() and late.max() >= 29


# --- The envelope controller --------------------------------------------------------------------

def envelope_run(arrivals, slo=25.0, instances=1, **settings_):
    return simulate(arrivals, service=RESNET50_T4, instances=instances,
                    controller=EnvelopeBatchingController(slo, **settings_))


def test_a_cold_start_is_not_an_overload():
    # Idle 5 s, then a 10 s ramp to 500 requests/s: light load, never a reason to panic.
    run = envelope_run(cold_start_arrivals(500, 60, idle_s=5, seed=1))
    assert not run.timeline["scale_out"].any()
    assert set(run.timeline["mode"]) <= {"fallback", "normal"}
    assert slo_attainment(run, 25) == 1.0


def test_limits_come_from_the_slo_and_the_measured_service_curve():
    run = envelope_run(swing_arrivals(900, 120, period_s=60, seed=4))
    # No batch limit whose fitted service time exceeds target x SLO = 22.5 ms (b <= 26),
    # no window beyond 80% of the SLO.
    assert run.timeline["max_batch_size"].max() <= 26
    assert run.timeline["max_wait_ms"].max() <= 20.0 + 1e-9
    assert run.batch_service_ms.max() < 25 * 1.2  # jitter-free line: 24.9 ms at most


@settings(max_examples=20, deadline=None)
@given(rate=st.floats(20, 2000), wait_limit=st.floats(0, 20), limit=st.integers(1, 64),
       seed=st.integers(0, 100))
def test_envelope_bounds_are_always_respected(rate, wait_limit, limit, seed):
    arrivals = step_spike_arrivals(rate, 20, spike_start_s=8, spike_duration_s=4, seed=seed)
    if arrivals.size == 0:
        return
    controller = EnvelopeBatchingController(25, max_batch_limit=limit,
                                            max_wait_limit_ms=wait_limit,
                                            fallback=(min(2.0, wait_limit), min(8, limit)))
    timeline = simulate(arrivals, service=RESNET50_T4, controller=controller).timeline
    assert timeline["max_batch_size"].between(1, limit).all()
    assert timeline["max_wait_ms"].between(0, wait_limit + 1e-9).all()


def feed(controller, intervals, **fields):
    """Drive the controller with the same measurement for ``intervals`` seconds."""
    start = getattr(feed, "t", 0)
    for t in range(start + 1, start + intervals + 1):
        decision = controller.update(measurement(t, **fields))
    feed.t = start + intervals
    return decision


def test_the_window_shrinks_when_waiting_breaks_the_slo_and_the_bias_unwinds():
    feed.t = 0
    controller = EnvelopeBatchingController(25)
    controller.start()
    # 100 requests/s, small batches of 2 and 3: light load, so waiting is what costs latency.
    light = {"arrivals": 100, "sizes": (2, 3), "wait": 15.0, "batch": 8}
    wait_before, _ = feed(controller, 10, latencies_ms=[15.0] * 100, **light)
    wait_late, _ = feed(controller, 3, latencies_ms=[40.0] * 100, **light)  # p95 40 > SLO
    assert wait_late < wait_before
    peak_bias = controller.last_decision["bias_ms"]
    assert peak_bias > 5
    feed(controller, 60, latencies_ms=[15.0] * 100, **light)  # the model is right again
    assert controller.last_decision["bias_ms"] < peak_bias / 4  # unwound, not pinned
    assert controller.last_decision["bias_ms"] < controller.slo_p95_ms / 2


def test_overload_takes_the_window_to_zero_and_asks_for_instances():
    feed.t = 0
    controller = EnvelopeBatchingController(25)
    controller.start()
    feed(controller, 3, latencies_ms=[20.0] * 100, arrivals=300, sizes=(4, 8, 16))
    # 5,000 requests/s on one T4: no batch within the SLO carries it.
    wait, batch = feed(controller, 3, latencies_ms=[500.0] * 300, arrivals=5000,
                       queue_len=3000, sizes=(16, 16, 24))
    assert controller.last_decision["scale_out"] and controller.last_decision["mode"] == "overload"
    assert wait == 0.0 and batch >= 16


def test_the_shedding_report_is_off_by_default_and_counts_what_a_bounded_queue_drops():
    feed.t = 0
    quiet, bounded = EnvelopeBatchingController(25), EnvelopeBatchingController(
        25, shed_queue_over=2)
    batches = []
    for controller in (quiet, bounded):
        controller.start()
        batches.append(feed(controller, 3, latencies_ms=[20.0] * 100, arrivals=300,
                            sizes=(4, 8), queue_len=100)[1])
    assert quiet.last_decision["shed"] == 0
    assert bounded.last_decision["shed"] == 100 - 2 * batches[1]  # beyond two batches


def test_the_envelope_controller_holds_a_3x_spike_on_two_instances():
    arrivals = step_spike_arrivals(700, 240, spike_start_s=100, seed=3)
    run = envelope_run(arrivals, slo=50, instances=2)
    assert slo_attainment(run, 50) == 1.0


# --- Review of issue 10: the envelope controller's traps ----------------------------------------

HEAVY_BASE = LinearServiceTime(20.0, 0.2, 0.05)  # a large fixed cost per batch


def test_full_fallback_batches_still_identify_the_line_and_overload_is_signalled():
    # 2,700/s on one T4 is more than the fallback's batches of 8 serve: every batch is full.
    arrivals = poisson_arrivals(2700.0, 30.0, seed=7)
    run = simulate(arrivals, service=RESNET50_T4, controller=EnvelopeBatchingController(50.0))
    modes = run.timeline["mode"].tolist()
    assert modes[:3].count("fallback") <= 2 and "overload" in modes[:5]
    while_arriving = run.timeline[run.timeline["t_s"].between(5, 30)]
    assert while_arriving["scale_out"].all()


def test_the_bias_never_leaves_no_room_for_one_request():
    controller = EnvelopeBatchingController(50.0)
    arrivals = mmpp_arrivals(90.0, rates_rps=(180.0, 720.0), mean_sojourn_s=(20.0, 6.0),
                             seed=0)
    run = simulate(arrivals, service=HEAVY_BASE, controller=controller, instances=2)
    ceiling = 0.9 * 50.0 - float(HEAVY_BASE.batch_ms(1))  # of the fitted line: within 1%
    assert (run.timeline["bias_ms"] <= ceiling * 1.01).all()
    assert run.timeline["scale_out"].mean() < 0.5  # not locked in overload


def test_the_window_grows_to_where_batches_pay_even_from_zero():
    arrivals = poisson_arrivals(315.0, 90.0, seed=0)
    run = simulate(arrivals, service=HEAVY_BASE, controller=EnvelopeBatchingController(50.0),
                   instances=2)
    assert run.timeline["max_wait_ms"].iloc[-10:].min() >= 15.0
