"""Chapter 3's computed sentences say what their tables show, at any numbers."""

import pandas as pd
import pytest
from batching_fixtures import two_trace_case

from perfcost.book import batching_verdicts as v


def targets(rows):
    return pd.DataFrame(rows, columns=["trace", "behind", "gap_to_hindsight", "gpu_excess",
                                       "meets"])


def test_a_target_met_everywhere_says_so():
    table = targets([("a", "", 0.0, 0.01, True), ("b", "", 0.001, 0.04, True)])
    assert v.target_verdict(table) == ("The controller meets the whole target on every one "
                                       "of the traces.")


def test_each_miss_names_its_trace_and_every_reason():
    table = targets([("a", "", 0.0, 0.01, True),
                     ("spike", "AIMD (Clipper)", 0.004, 0.063, False),
                     ("real", "", 0.0, 0.08, False)])
    assert v.target_verdict(table) == (
        "The controller meets the whole target on 1 of 3 traces; it misses on spike "
        "(attainment below AIMD (Clipper), 0.4 points below the hindsight optimum, +6.3% GPU "
        "time); real (+8.0% GPU time).")


def case(attainments, configurations):
    return pd.DataFrame({"trace": list(attainments), "policy": "single static",
                         "slo_attainment": list(attainments.values()),
                         "configuration": configurations})


def test_a_static_configuration_that_fails_somewhere_is_named_with_its_trace():
    table = targets([("a", "", 0.0, 0.0, True), ("drift", "controller", 0.5, 0.0, False)])
    text = v.static_verdict(table, case({"a": 1.0, "drift": 0.5}, [(25.0, 24), (30.0, 24)]))
    assert text == ("A single static configuration chosen on the other traces (window and "
                    "batch limit 25 ms and 24 or 30 ms and 24, by the trace held out) meets "
                    "the same target on 1 of 2 traces. It misses on drift (attainment below "
                    "controller, 50.0 points below the hindsight optimum), meeting the SLO in "
                    "50% of windows.")


def test_a_static_configuration_good_everywhere_is_a_finding():
    table = targets([("a", "", 0.0, 0.0, True), ("b", "", 0.0, 0.0, True)])
    text = v.static_verdict(table, case({"a": 1.0, "b": 1.0}, [(25.0, 24), (25.0, 24)]))
    assert "(window and batch limit 25 ms and 24) meets the same target on every one" in text
    assert text.endswith("a well-chosen static configuration is as good as any controller "
                         "here.")


def test_the_capacity_verdict_is_each_policys_least_load_and_its_trace():
    capacity = pd.DataFrame({
        "trace": ["a", "b", "a", "b"],
        "policy": ["controller", "controller", "single static", "single static"],
        "sustainable_load": [2.0, 1.25, 4.0, 0.0]})
    assert v.capacity_verdict(capacity, 1) == (
        "With the SLO met in 99% of windows, one instance carries every trace at up to: "
        "controller 1.25× (limited by b); single static below 0.25× (limited by b).")
    capacity["sustainable_load"] = [4.0, 4.0, 4.0, 4.0]
    assert "3 instances carry" in v.capacity_verdict(capacity, 3)
    assert "controller at least 4× (limited by a)" in v.capacity_verdict(capacity, 3)


def test_the_trap_is_shown_only_when_the_spike_overloads_one_instance():
    assert v.trap_verdict(2100, 1223.2, 61).startswith(
        "the spike's 2,100 requests/s exceed the 1,223 requests/s one instance serves at its "
        "largest batch within the SLO (61)")
    assert "shows no overload" in v.trap_verdict(300, 1223.2, 61)


def test_the_margin_is_named_only_when_the_controllers_p95_is_lower():
    assert "that gap is the margin it keeps" in v.margin_verdict(39.2, 46.2)
    assert "no lower than the hindsight optimum's 46.2 ms" in v.margin_verdict(47.0, 46.2)


def test_the_capacity_note_says_what_99_percent_allows():
    assert v.capacity_note(300.0) == ("On a synthetic trace of 30 windows, 99% allows not one "
                                      "missed window. Each multiplier is found to within a "
                                      "factor of 1.044.")
    assert "allows at most 3 missed" in v.capacity_note(3600.0)


def test_the_spike_is_described_by_what_happened():
    assert "nothing to recover from" in v.spike_verdict(1.0, 0.0)
    assert v.spike_verdict(0.8, 12.0).endswith("80% of windows, and its p95 is back under "
                                               "the SLO 12 s after the spike ends.")


def test_the_gain_sweep_says_noise_only_when_the_naive_controller_reverses_more():
    assert "it chases the noise" in v.gain_verdict(54, 2, 14, 0.5)
    assert v.gain_verdict(0, 6, 9, 0.5).startswith(
        "At gain 1 the naive controller reverses direction 0 times, no more than ours here")
    assert "direction 1 time," in v.gain_verdict(1, 6, 9, 0.5)


def test_the_trap_outcome_follows_the_overload():
    text = v.trap_outcome(True, 1.0, 54.0, 56, 56)
    assert text.startswith("During the spike the naive controller's batch limit averages 1 "
                           "against 54 for ours, and ours raised the scale-out signal in 56 "
                           "of 56 intervals. The right response")
    assert "did not shrink its batches below ours" in v.trap_outcome(True, 44.0, 40.0, 3, 56)
    assert v.trap_outcome(False, 44.0, 40.0, 0, 56) == (
        "Without overload ours raised the scale-out signal in 0 of 56 intervals.")
    assert "without need" in v.trap_outcome(False, 44.0, 40.0, 26, 26)


def test_policy_figures_are_mean_attainment_and_total_gpu_time_by_glued_key():
    rows = [(trace, policy, attainment, gpu)
            for trace, scale in (("a", 1.0), ("b", 2.0))
            for policy, attainment, gpu in (("controller", 1.0, 10.0),
                                            ("AIMD (Clipper)", 0.8, 8.0),
                                            ("hindsight optimum", 1.0, 9.0),
                                            ("single static", 0.9 * scale / 2, 7.0),
                                            ("AIMD (p95)", 0.5, 1.0))]
    case = pd.DataFrame(rows, columns=["trace", "policy", "slo_attainment", "gpu_busy_s"])
    figures = v.policy_figures(case)
    assert figures == {"slo_attainment_controller": 1.0, "gpu_busy_s_controller": 20.0,
                       "slo_attainment_aimd": 0.8, "gpu_busy_s_aimd": 16.0,
                       "slo_attainment_best_static": 1.0, "gpu_busy_s_best_static": 18.0,
                       "slo_attainment_single_static": 0.675,
                       "gpu_busy_s_single_static": 14.0}


def test_capacity_figures_are_the_least_load_of_each_policy():
    capacity = pd.DataFrame({"trace": ["a", "a", "a", "b", "b", "b"],
                             "policy": ["controller", "AIMD (Clipper)", "single static"] * 2,
                             "sustainable_load": [2.0, 1.5, 0.0, 1.2, 3.0, 4.0]})
    assert v.capacity_figures(capacity) == {"sustainable_load_controller": 1.2,
                                            "sustainable_load_aimd": 1.5,
                                            "sustainable_load_single_static": 0.0}


def test_gain_figures_read_reversals_at_the_gains_the_prose_cites():
    sweep = pd.DataFrame({"controller": ["naive proportional", "ours (feedback gain)"] * 3,
                          "gain": [0.5, 0.5, 1.0, 1.0, 3.0, 3.0],
                          "reversals": [1, 0, 7, 2, 9, 4]})
    assert v.gain_figures(sweep, 0.5) == {"naive_reversals_at_1": 7,
                                          "ours_reversals_at_default": 0,
                                          "ours_reversals_at_3": 4}


def test_design_figures_are_the_library_settings_as_shares_of_the_slo():
    from perfcost.batching import SUSTAINED_SHARE, TARGET_GAP, EnvelopeBatchingController

    design = v.design_figures(50.0)
    controller = EnvelopeBatchingController(50.0)
    assert design["wait_limit_share"] == pytest.approx(controller.max_wait_limit_ms / 50.0)
    assert design["wait_limit_share"] == pytest.approx(0.8)  # the default: 80% of the SLO
    assert (design["fallback_wait_ms"], design["fallback_size"]) == controller.fallback
    assert design["target_gap_points"] == pytest.approx(100 * TARGET_GAP)
    assert design["sustained_share"] == SUSTAINED_SHARE
    assert design["aimd_backoff"] == pytest.approx(0.1) and design["grid_wait_share"] == 0.7


def test_win_figures_are_the_hindsight_comparison_in_the_chapters_words():
    figures = v.win_figures(*two_trace_case())
    assert figures == {"worst_busy_excess": 0.07, "worst_busy_excess_trace": "b",
                       "traces_matching_best_static": 1, "controller_parameter_changes": 8,
                       "margin_verdict": v.margin_verdict(30.0, 40.0),
                       "best_static_configurations": "a (2 ms, 8), b (0.5 ms, 16)"}
