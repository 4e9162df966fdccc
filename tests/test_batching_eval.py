"""Judging batching policies: limits from the SLO, the baselines, and the load each sustains."""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from batching_fixtures import two_trace_case
from hypothesis import given, settings
from hypothesis import strategies as st

from perfcost import batching
from perfcost.batching import RESNET50_T4, LinearServiceTime, StaticBatching, simulate
from perfcost.trace_files import load_trace
from perfcost.traffic import poisson_arrivals
from perfcost.validation import MAX_SEED, ParameterError

REAL_TRACE = (Path(__file__).resolve().parents[2] / "shared" / "data" / "traces"
              / "mooncake_conversation.csv")
needs_real_trace = pytest.mark.skipif(
    not REAL_TRACE.exists(),
    reason=f"the shared Mooncake trace is not here ({REAL_TRACE}): real-trace checks skipped")

TEN_MS = LinearServiceTime(base_ms=10.0, per_item_ms=1e-9)  # every batch takes 10 ms


# --- Limits from the SLO and the service curve --------------------------------------------------

def test_the_largest_batch_is_the_last_whose_own_service_fits_the_slo():
    # 2.9 + 0.77 b: b = 28 takes 24.46 ms, b = 29 takes 25.23 ms; 61 takes 49.87 ms, 62 50.64.
    assert batching.slo_batch_limit(RESNET50_T4, 25) == 28
    assert batching.slo_batch_limit(RESNET50_T4, 50) == 61
    assert batching.slo_batch_limit(RESNET50_T4, 50, share=0.5) == 28


def test_an_slo_no_single_request_meets_is_refused():
    with pytest.raises(ParameterError, match="slo_p95_ms must be more than one request's"):
        batching.slo_batch_limit(RESNET50_T4, 3.0)  # one image takes 3.67 ms


@settings(max_examples=50, deadline=None)
@given(base=st.floats(0, 50), per_item=st.floats(0.01, 10), slo=st.floats(1, 1000))
def test_the_batch_limit_is_exactly_the_boundary(base, per_item, slo):
    service = LinearServiceTime(base, per_item)
    if float(service.batch_ms(1)) > slo:
        with pytest.raises(ParameterError):
            batching.slo_batch_limit(service, slo)
        return
    limit = batching.slo_batch_limit(service, slo)
    assert float(service.batch_ms(limit)) <= slo * (1 + 1e-12)
    assert limit == 4096 or float(service.batch_ms(limit + 1)) > slo * (1 - 1e-12)


def test_the_static_grid_scales_with_the_slo():
    waits, sizes = batching.static_grid(RESNET50_T4, 25)
    assert waits == [0.0, 1.25, 2.5, 3.75, 5.0, 7.5, 10.0, 12.5, 15.0, 17.5]
    assert sizes == [1, 2, 3, 4, 6, 8, 12, 16, 24, 28]
    waits, sizes = batching.static_grid(RESNET50_T4, 50)
    assert max(waits) == 35.0 and sizes[-1] == 61 and 48 in sizes


def test_the_static_grid_refuses_a_window_as_long_as_the_slo():
    with pytest.raises(ParameterError, match=r"wait_fractions\[1\] must be"):
        batching.static_grid(RESNET50_T4, 25, wait_fractions=[0.0, 1.0])


# --- Baselines ----------------------------------------------------------------------------------

def grid(rows):
    return pd.DataFrame(rows, columns=["max_wait_ms", "max_batch_size", "slo_attainment",
                                       "gpu_busy_s"])


def test_the_single_static_configuration_is_chosen_on_the_other_traces():
    # Config (5, 8) wins on a and b, (10, 16) on c. Held out a, the mean over b and c is 0.9
    # for both, and (10, 16) is cheaper relative to each trace's cheapest.
    grids = {
        "a": grid([(5.0, 8, 1.0, 100.0), (10.0, 16, 0.5, 90.0)]),
        "b": grid([(5.0, 8, 1.0, 100.0), (10.0, 16, 0.8, 80.0)]),
        "c": grid([(5.0, 8, 0.8, 100.0), (10.0, 16, 1.0, 90.0)]),
    }
    assert batching.single_static(grids, exclude="c") == (5.0, 8)  # 1.0 against 0.65
    assert batching.single_static(grids, exclude="a") == (10.0, 16)  # 0.9 each; 0.9 against 1.0
    with pytest.raises(ParameterError, match="grids must be at least one trace"):
        batching.single_static({"a": grids["a"]}, exclude="a")


def test_every_policy_starts_from_the_controllers_fallback():
    policies = batching.baseline_policies(25, RESNET50_T4)
    starts = {name: make().start() for name, make in policies.items()}
    assert starts["controller"] == starts["AIMD (Clipper)"] == starts["AIMD (p95)"] == (2.0, 8)
    assert policies["AIMD (Clipper)"]().max_batch_limit == 28  # from the SLO, not 128


@pytest.fixture(scope="module")
def small_case():
    traces = {name: poisson_arrivals(rate, 40, seed=3)
              for name, rate in (("slow", 150.0), ("fast", 600.0), ("mid", 350.0))}
    return batching.evaluate(traces, service=RESNET50_T4, slo_p95_ms=25, instances=1)


def test_the_hindsight_optimum_bounds_every_static_configuration(small_case):
    by = small_case.set_index(["trace", "policy"])
    for trace in ("slow", "fast", "mid"):
        optimum = by.loc[(trace, "hindsight optimum")]
        single = by.loc[(trace, "single static")]
        assert single["slo_attainment"] <= optimum["slo_attainment"]
        # The single configuration is in the grid: the efficient one reaching its
        # attainment costs no more than it does.
        assert single["efficient_gpu_s"] <= single["gpu_busy_s"] + 1e-9
        assert optimum["efficient_gpu_s"] == pytest.approx(optimum["gpu_busy_s"])


def test_the_single_static_row_replays_its_configuration(small_case):
    row = small_case[(small_case["trace"] == "fast")
                     & (small_case["policy"] == "single static")].iloc[0]
    run = simulate(poisson_arrivals(600.0, 40, seed=3), service=RESNET50_T4,
                   controller=StaticBatching(*row["configuration"]))
    assert run.gpu_busy_s == pytest.approx(row["gpu_busy_s"])


def test_the_target_is_judged_row_by_row():
    table = pd.DataFrame([
        ("t", "controller", 0.99, 104.0, 100.0), ("t", "single static", 0.99, 110.0, 100.0),
        ("t", "AIMD (Clipper)", 0.95, 150.0, 90.0), ("t", "hindsight optimum", 0.991, 99.0,
                                                     99.0),
        ("u", "controller", 0.97, 100.0, 90.0), ("u", "single static", 0.98, 100.0, 90.0),
        ("u", "hindsight optimum", 0.98, 90.0, 90.0),
    ], columns=["trace", "policy", "slo_attainment", "gpu_busy_s", "efficient_gpu_s"])
    verdict = batching.meets_target(table).set_index("trace")
    assert bool(verdict.loc["t", "meets"])  # 0.1 points behind, 4% more GPU time
    assert verdict.loc["t", "gpu_excess"] == pytest.approx(0.04)
    assert not verdict.loc["u", "meets"] and verdict.loc["u", "behind"] == "single static"
    assert verdict.loc["u", "gap_to_hindsight"] == pytest.approx(0.01)


# --- Load a policy sustains ---------------------------------------------------------------------

def even(rate_rps):
    """Evenly spaced arrivals at rate_rps × the multiplier: 10 ms batches of one keep up
    exactly while the rate is at most 100 per instance."""
    return lambda m: np.arange(2000) / (rate_rps * m)


def one_at_a_time():
    return StaticBatching(0.0, 1)


def test_the_sustainable_load_is_the_capacity_found_by_bisection():
    # 50 requests/s, one instance serving 100/s: the boundary is the multiplier 2.
    found = batching.sustainable_load(even(50.0), one_at_a_time, service=TEN_MS, slo_p95_ms=10.5,
                                low=0.5, high=8.0, steps=10)
    assert 2.0 / 16 ** (2.0**-10) <= found <= 2.0


def test_a_load_sustained_everywhere_or_nowhere_is_the_bracket():
    assert batching.sustainable_load(even(10.0), one_at_a_time, service=TEN_MS, slo_p95_ms=10.5,
                               low=0.5, high=4.0) == 4.0
    assert batching.sustainable_load(even(500.0), one_at_a_time, service=TEN_MS, slo_p95_ms=10.5,
                               low=0.5, high=4.0) == 0.0


def test_instances_needed_is_the_fewest_that_keep_up():
    # 250 requests/s every 4 ms, 10 ms each: three instances serve each one at once.
    assert batching.instances_needed(even(250.0), one_at_a_time, service=TEN_MS,
                               slo_p95_ms=10.5) == 3
    assert batching.instances_needed(even(250.0), one_at_a_time, service=TEN_MS, slo_p95_ms=10.5,
                               max_instances=2) is None


@pytest.mark.parametrize(("arguments", "message"), [
    ({"steps": 0}, "steps must be a whole number in"),
    ({"steps": 21}, "steps must be a whole number in"),
    ({"low": 2.0, "high": 1.0}, "high must be > low = 2"),
    ({"high": 1e4}, "high must be a number in"),
    ({"quantile": 0.0}, "quantile must be a number in"),
    ({"instances": 0}, "instances must be a whole number in"),
    ({"policy": "static"}, "policy must be a function returning a fresh policy"),
    ({"trace": [0.1, 0.2]}, "trace must be a function of the load multiplier"),
])
def test_the_search_refuses_bad_bounds(arguments, message):
    run = {"trace": even(50.0), "policy": one_at_a_time, "service": TEN_MS,
           "slo_p95_ms": 10.5, **arguments}
    with pytest.raises(ParameterError, match=message):
        batching.sustainable_load(run.pop("trace"), run.pop("policy"), **run)


def test_instances_needed_refuses_bad_bounds():
    with pytest.raises(ParameterError, match="max_instances must be a whole number in"):
        batching.instances_needed(even(50.0), one_at_a_time, service=TEN_MS, slo_p95_ms=10.5,
                            max_instances=0)
    with pytest.raises(ParameterError, match="multiplier must be a number in"):
        batching.instances_needed(even(50.0), one_at_a_time, service=TEN_MS, slo_p95_ms=10.5,
                            multiplier=-1)


def test_evaluate_refuses_what_it_cannot_judge():
    with pytest.raises(ParameterError, match="traces must be a dict of 1 to 32"):
        batching.evaluate({}, service=RESNET50_T4, slo_p95_ms=25)
    with pytest.raises(ParameterError, match="service must be a LinearServiceTime"):
        batching.evaluate({"a": [0.1]}, service="T4", slo_p95_ms=25)
    with pytest.raises(ParameterError, match=r"traces\['a'\] must be sorted"):
        batching.evaluate({"a": [0.2, 0.1]}, service=RESNET50_T4, slo_p95_ms=25)


# --- The traces of the evaluation ---------------------------------------------------------------

def test_synthetic_traces_scale_with_the_multiplier():
    traces = batching.synthetic_traces(duration_s=60)
    assert set(traces) == {"steady", "diurnal", "spike", "bursty", "swing", "cold start",
                           "drift"}
    assert traces["steady"](1.0).size == pytest.approx(350 * 60, rel=0.05)
    doubled = batching.synthetic_traces(duration_s=60, steady_rps=700)["steady"](1.0)
    assert traces["steady"](2.0).size == pytest.approx(doubled.size, rel=0.05)
    assert np.array_equal(traces["swing"](1.0), traces["swing"](1.0))  # seeded
    bursty = batching.synthetic_traces(duration_s=600, bursty_rps=(0.0, 1000.0))["bursty"](3.0)
    busiest = np.bincount(bursty.astype(int)).max()  # the on state, scaled: 3,000/s
    assert busiest == pytest.approx(3000, abs=5 * math.sqrt(3000))


def test_the_drift_trace_is_the_steady_rate_with_another_seed():
    traces = batching.synthetic_traces(duration_s=60, seed=MAX_SEED)
    steady, drift = traces["steady"](1.0), traces["drift"](1.0)
    assert drift.size == pytest.approx(steady.size, rel=0.05)
    assert not np.array_equal(drift, steady)


def test_a_scaled_trace_pickles_and_multiplies_every_rate():
    import pickle

    trace = batching.Scaled(poisson_arrivals, {"rate_rps": 100.0}, {"duration_s": 50.0, "seed": 3})
    again = pickle.loads(pickle.dumps(trace))
    assert np.array_equal(again(2.0), poisson_arrivals(200.0, 50.0, seed=3))


def test_the_drift_service_slows_down_at_its_time():
    drift = batching.drift_service(RESNET50_T4, 150.0, slowdown=2.0)
    assert float(drift.at(149.9).batch_ms(8)) == pytest.approx(2.9 + 0.77 * 8)
    assert float(drift.at(150.0).batch_ms(8)) == pytest.approx(2 * (2.9 + 0.77 * 8))


@needs_real_trace
def test_the_real_trace_replays_at_its_peak_times_the_multiplier():
    replay = batching.replayed(load_trace(REAL_TRACE), 1000.0, seed=1)
    counts = np.bincount(replay(1.0).astype(int))
    assert counts.max() == pytest.approx(1000, abs=5 * math.sqrt(1000))
    assert replay(0.5).size == pytest.approx(replay(1.0).size / 2, rel=0.02)


@needs_real_trace
def test_on_the_real_trace_the_envelope_controller_holds_where_panic_mode_did_not():
    from perfcost.batching import slo_attainment
    from perfcost.batching.envelope import EnvelopeBatchingController
    from perfcost.batching.slo_controller import SLOBatchingController

    arrivals = batching.replayed(load_trace(REAL_TRACE), 1000.0, seed=1)(1.0)
    service = LinearServiceTime(2.9, 0.77, 0.05)
    ours = simulate(arrivals, service=service, controller=EnvelopeBatchingController(50))
    first = simulate(arrivals, service=service, controller=SLOBatchingController(50))
    # Bursts every few seconds keep the first controller in panic mode almost throughout.
    assert (first.timeline["mode"] == "panic").mean() > 0.9
    assert slo_attainment(ours, 50) >= 0.99
    assert (ours.timeline["mode"] == "overload").mean() < 0.05


# --- What a fleet carries, in parallel ----------------------------------------------------------

def _steady_case(slo_p95_ms=25.0):
    traces = {"a": batching.Scaled(poisson_arrivals, {"rate_rps": 60.0},
                             {"duration_s": 60.0, "seed": 1}),
              "b": batching.Scaled(poisson_arrivals, {"rate_rps": 40.0},
                             {"duration_s": 60.0, "seed": 2})}
    case = batching.evaluate({n: t(1.0) for n, t in traces.items()}, service=TEN_MS,
                            slo_p95_ms=slo_p95_ms, policies={})
    return traces, case


def test_the_capacity_table_is_the_bisection_and_the_count_of_each_policy():
    traces, case = _steady_case()
    table = batching.capacity_table(traces, case, service=TEN_MS, slo_p95_ms=25.0,
                              policies=["single static"], steps=3)
    assert list(table["trace"]) == ["a", "b"]
    for row in table.itertuples():
        config = case.set_index(["trace", "policy"]).loc[(row.trace, "single static"),
                                                         "configuration"]
        make = partial_static(config)
        assert row.sustainable_load == batching.sustainable_load(
            traces[row.trace], make, service=TEN_MS, slo_p95_ms=25.0, low=0.25, high=4.0,
            steps=3)
        assert row.instances_needed == batching.instances_needed(
            traces[row.trace], make, service=TEN_MS, slo_p95_ms=25.0, max_instances=8)


def partial_static(config):
    return lambda: StaticBatching(*config)


def test_a_window_longer_than_the_slo_needs_more_instances_than_any():
    traces, case = _steady_case()
    case = case.copy()
    case.loc[case["policy"] == "hindsight optimum", "configuration"] = pd.Series(
        [(30.0, 64)] * 2, index=case.index[case["policy"] == "hindsight optimum"])
    table = batching.capacity_table({"b": traces["b"]}, case, service=TEN_MS, slo_p95_ms=25.0,
                              policies=["hindsight optimum"], steps=1)
    assert table["instances_needed"].isna().all()  # the 30 ms window alone breaks 25 ms
    assert table["sustainable_load"].iloc[0] == 0.0


def test_a_policy_the_case_does_not_know_is_refused():
    traces, case = _steady_case()
    with pytest.raises(ParameterError, match="policies must be names from controller"):
        batching.capacity_table(traces, case, service=TEN_MS, slo_p95_ms=25.0, policies=["best"])


def test_work_spread_over_two_processes_gives_the_same_answers():
    from perfcost.parallel import mapped

    traces, _ = _steady_case()
    arrivals = {n: t(1.0) for n, t in traces.items()}
    alone = batching.evaluate(arrivals, service=TEN_MS, slo_p95_ms=25.0)
    spread = batching.evaluate(arrivals, service=TEN_MS, slo_p95_ms=25.0, workers=2)
    pd.testing.assert_frame_equal(alone, spread)
    assert mapped(pow, [(2, 3), (3, 2)], workers=2) == [8, 9]


@pytest.mark.slow
def test_the_static_grids_on_a_dask_cluster_give_the_same_answers():
    from perfcost.cluster import dask_client
    from perfcost.parallel import mapped

    traces, case = _steady_case()
    arrivals = {n: t(1.0) for n, t in traces.items()}
    alone = batching.evaluate(arrivals, service=TEN_MS, slo_p95_ms=25.0)
    alone_capacity = batching.capacity_table(traces, case, service=TEN_MS, slo_p95_ms=25.0,
                                             steps=2)
    with dask_client(workers=2) as client:
        on_dask = batching.evaluate(arrivals, service=TEN_MS, slo_p95_ms=25.0, client=client)
        capacity = batching.capacity_table(traces, case, service=TEN_MS, slo_p95_ms=25.0,
                                           steps=2, client=client)
        assert mapped(pow, [(2, 3), (3, 2)], client=client) == [8, 9]
        with pytest.raises(ZeroDivisionError):  # a job's own error, raised here
            mapped(divmod, [(1, 0)], client=client)
    pd.testing.assert_frame_equal(alone, on_dask)
    pd.testing.assert_frame_equal(alone_capacity, capacity)


@pytest.mark.parametrize("workers", [0, 65, 1.5, "2"])
def test_a_bad_worker_count_is_refused(workers):
    from perfcost.parallel import mapped

    with pytest.raises(ParameterError, match="workers must be"):
        mapped(pow, [(2, 3)], workers=workers)


def test_fresh_policies_are_the_ones_the_case_ran():
    _, case = _steady_case()
    made = batching.fresh_policies(case, "a", ["single static", "hindsight optimum"],
                             service=TEN_MS, slo_p95_ms=25.0)
    rows = case[case["trace"] == "a"].set_index("policy")["configuration"]
    for name, policy in made.items():
        assert (policy.max_wait_ms, policy.max_batch_size) == rows[name]


def test_the_gain_sweep_includes_the_controllers_default_gain():
    arrivals = poisson_arrivals(300.0, 30.0, seed=0)
    sweep = batching.gain_sweep(arrivals, service=RESNET50_T4, slo_p95_ms=25.0, gains=[1.0])
    assert sorted(set(sweep["gain"])) == [0.5, 1.0]
    assert set(sweep["controller"]) == {"naive proportional", "ours (feedback gain)"}
    assert (sweep["reversals"] >= 0).all() and sweep["slo_attainment"].between(0, 1).all()


def test_a_window_that_fails_light_load_is_not_read_as_no_capacity():
    # Batches of 64 after a 30 ms window, 10 ms each: light load waits out the window (p95 over
    # 25 ms), 6,000/s fills a batch in about 10.5 ms, and one instance serves at most 6,400/s.
    trace = batching.Scaled(poisson_arrivals, {"rate_rps": 6000.0}, {"duration_s": 20.0, "seed": 0})
    load = batching.sustainable_load(trace, lambda: StaticBatching(30.0, 64), service=TEN_MS,
                               slo_p95_ms=25.0)
    assert 1.0 <= load < 6400 / 6000


# --- The controller against the hindsight optimum, and the spike window ------------------------

def test_the_hindsight_comparison_names_the_worst_trace_and_counts_the_matches():
    figures = batching.hindsight_comparison(*two_trace_case())
    assert figures == {"worst_busy_excess": 0.07, "worst_busy_excess_trace": "b",
                       "p95_ms": 30.0, "hindsight_p95_ms": 40.0,
                       "traces_matching_best_static": 1,
                       "hindsight_configurations": {"a": (2.0, 8), "b": (0.5, 16)},
                       "controller_parameter_changes": 8}


def test_an_attainment_within_rounding_of_the_optimum_matches_it():
    case, targets = two_trace_case()
    case.loc[2, "slo_attainment"] = 0.95 - 1e-13
    assert batching.hindsight_comparison(case, targets)["traces_matching_best_static"] == 2


def handmade_run(batch_sizes, scale_out=None):
    """A BatchingResult whose timeline is one interval a second with these batch limits."""
    timeline = pd.DataFrame({"t_s": np.arange(len(batch_sizes), dtype=float),
                             "max_batch_size": batch_sizes})
    if scale_out is not None:
        timeline["scale_out"] = scale_out
    empty = np.array([])
    return batching.BatchingResult(empty, empty, empty, empty, timeline, empty)


def test_the_spike_window_averages_the_batch_limit_and_counts_scale_outs():
    runs = {"ours": handmade_run([1, 2, 4, 8, 16], [False, True, True, False, True]),
            "naive": handmade_run([9, 6, 3, 3, 9])}
    window = batching.spike_window_figures(runs, 1.0, 3.0)  # seconds 1, 2 and 3
    assert list(window.index) == ["ours", "naive"]
    assert window.loc["ours", "mean_batch_limit"] == pytest.approx(14 / 3)
    assert window.loc["naive", "mean_batch_limit"] == pytest.approx(4.0)
    assert window.loc["ours", "scale_out_intervals"] == 2
    assert window.loc["naive", "scale_out_intervals"] == 0  # it has no such signal
    assert list(window["intervals"]) == [3, 3]


def test_a_window_over_the_whole_run_is_the_whole_timeline():
    run = simulate(poisson_arrivals(300.0, 20.0, seed=1), service=RESNET50_T4,
                   controller=batching.EnvelopeBatchingController(25.0))
    window = batching.spike_window_figures({"ours": run}, 0.0, 1e10).loc["ours"]
    assert window["intervals"] == len(run.timeline)
    assert window["mean_batch_limit"] == run.timeline["max_batch_size"].mean()
    assert window["scale_out_intervals"] == run.timeline["scale_out"].sum()


@pytest.mark.parametrize(("runs", "start_s", "end_s", "name"), [
    ({}, 0.0, 1.0, "results"), ({"a": "not a run"}, 0.0, 1.0, "result"),
    ({"a": handmade_run([1])}, -1.0, 1.0, "start_s"),
    ({"a": handmade_run([1])}, 5.0, 1.0, "end_s"),
    ({"a": handmade_run([1, 2])}, 3.0, 4.0, "start_s, end_s"),  # no interval: never a NaN
])
def test_the_spike_window_refuses_what_it_cannot_read(runs, start_s, end_s, name):
    with pytest.raises(ParameterError, match=f"^{name} must"):
        batching.spike_window_figures(runs, start_s, end_s)


def test_the_hindsight_comparison_refuses_tables_it_cannot_read():
    case, targets = two_trace_case()
    with pytest.raises(ParameterError, match=r"^case must be a non-empty table"):
        batching.hindsight_comparison(pd.DataFrame(), targets)
    with pytest.raises(ParameterError, match=r"^targets must be a non-empty table"):
        batching.hindsight_comparison(case, None)
    with pytest.raises(ParameterError, match=r"^case must be the controller and the hindsight"):
        batching.hindsight_comparison(case[case["trace"] == "a"], targets)
    with pytest.raises(ParameterError, match=r"^targets must be finite gpu_excess"):
        batching.hindsight_comparison(case, targets.assign(gpu_excess=[0.1, float("nan")]))
