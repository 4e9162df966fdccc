"""`make bench`: the performance figures the issues name, printed with the hardware they ran on.

Figures are medians of repeated runs where a run is short; nothing here asserts a threshold.
"""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from perfcost.batching import RESNET50_T4, LinearServiceTime, StaticBatching, simulate
from perfcost.book.chapters import find_chapters, rerun
from perfcost.fleet_check import model_error_grid
from perfcost.fleet_latency import DEFAULT_SERVICE_CV, ROUTINGS, FleetLatency
from perfcost.queueing import MD1, MMc, erlang_c
from perfcost.traffic import poisson_arrival_times, poisson_arrivals

ROOT = Path(__file__).resolve().parents[1]


def hardware() -> str:
    """The CPU model, the cores this process may use, and the Python version."""
    from perfcost.compression.timing import cpu_features

    model = cpu_features()["model"]
    if model == "unknown":
        model = platform.processor() or "unknown CPU"
    return f"{model}, {len(os.sched_getaffinity(0))} cores, Python {platform.python_version()}"


def median_seconds(work, repeats: int) -> float:
    """Median wall time of ``work()`` over ``repeats`` runs."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_erlang_c() -> None:
    loads = [50_000.0, 90_000.0, 99_000.0, 99_999.0]
    seconds = median_seconds(lambda: [erlang_c(100_000, a) for a in loads], 200) / len(loads)
    print(f"erlang_c(100_000 servers)               {seconds * 1e3:8.4f} ms per call"
          "  (goal < 10 ms)")
    queue = MMc(99_000.0, 1.0, 100_000)
    seconds = median_seconds(lambda: MMc(99_000.0, 1.0, 100_000).response_quantile(0.95), 50)
    print(f"MMc(100_000 servers).response_quantile  {seconds * 1e3:8.4f} ms per call"
          f"  (p95 = {queue.response_quantile(0.95):.3f} s)")


def bench_simulator() -> None:
    """Simulated requests per second, batched and unbatched, and the same M/D/1 queue in Ciw."""
    simulate([0.0, 0.001], service=RESNET50_T4, controller=StaticBatching(1, 2))  # compile
    arrivals = poisson_arrivals(2000.0, 1000.0, seed=1)
    seconds = median_seconds(lambda: simulate(arrivals, service=RESNET50_T4, instances=2,
                                              controller=StaticBatching(5.0, 32)), 3)
    print(f"batching simulator, batched (W=5 ms, B=32)  {arrivals.size / seconds / 1e6:6.2f} M "
          f"requests/s on one core  (goal >= 1 M)")
    md1 = LinearServiceTime(0.0, 1.0)  # 1 ms per request, batch of one, no wait: M/D/1
    requests = 1_000_000
    arrivals = poisson_arrival_times(700.0, requests, seed=2)
    seconds = median_seconds(lambda: simulate(arrivals, service=md1,
                                              controller=StaticBatching(0.0, 1)), 3)
    ours_ms = simulate(arrivals, service=md1, controller=StaticBatching(0.0, 1)).latency_ms.mean()
    ours_rps = requests / seconds
    theory_ms = 1000 * MD1(700.0, 1000.0).mean_response
    ciw_rps, ciw_ms = _ciw_md1(700.0, 1.0, 100_000)
    print(f"M/D/1 (rho 0.7), perfcost                  {ours_rps / 1e6:6.2f} M requests/s, "
          f"mean latency {ours_ms:.4f} ms")
    print(f"M/D/1 (rho 0.7), Ciw {ciw_version():<22}{ciw_rps / 1e6:6.3f} M requests/s, "
          f"mean latency {ciw_ms:.4f} ms  (Pollaczek-Khinchine {theory_ms:.4f} ms)")
    print(f"speed-up over Ciw                            {ours_rps / ciw_rps:6.0f} x"
          "  (goal >= 30 x)")
    # Low rate, long service: 80 requests/s at 10 ms (rho 0.8) spans 2,500 control intervals
    # for 200,000 requests, so the cost of each interval shows (issue 10).
    slow, requests = LinearServiceTime(0.0, 10.0), 200_000
    arrivals = poisson_arrival_times(80.0, requests, seed=2)
    seconds = median_seconds(lambda: simulate(arrivals, service=slow,
                                              controller=StaticBatching(0.0, 1)), 5)
    result = simulate(arrivals, service=slow, controller=StaticBatching(0.0, 1))
    ours_ms, ours_rps = result.latency_ms.mean(), requests / seconds
    theory_ms = 1000 * MD1(80.0, 100.0).mean_response
    ciw_rps, ciw_ms = _ciw_md1(80.0, 10.0, requests)
    print(f"M/D/1 (rho 0.8, 10 ms), perfcost           {ours_rps / 1e6:6.2f} M requests/s, "
          f"mean latency {ours_ms:.3f} ms ({ours_ms / theory_ms - 1:+.2%} vs P-K), "
          f"{len(result.timeline)} control intervals")
    print(f"M/D/1 (rho 0.8, 10 ms), Ciw {ciw_version():<15}{ciw_rps / 1e6:6.3f} M requests/s, "
          f"mean latency {ciw_ms:.3f} ms ({ciw_ms / theory_ms - 1:+.2%} vs P-K; "
          f"Pollaczek-Khinchine {theory_ms:.3f} ms)")
    print(f"speed-up over Ciw at 80 requests/s           {ours_rps / ciw_rps:6.0f} x"
          "  (goal >= 30 x)")


def ciw_version() -> str:
    import ciw

    return ciw.__version__


def _ciw_md1(rate_rps: float, service_ms: float, customers: int) -> tuple[float, float]:
    """Requests per second and mean latency (ms) of Ciw on the same M/D/1 queue."""
    import ciw

    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=rate_rps)],
        service_distributions=[ciw.dists.Deterministic(value=service_ms / 1000)],
        number_of_servers=[1])
    ciw.seed(2)
    simulation = ciw.Simulation(network)
    start = time.perf_counter()
    simulation.simulate_until_max_customers(customers, method="Finish")
    seconds = time.perf_counter() - start
    records = simulation.get_all_records()
    mean_ms = 1000 * statistics.fmean(r.waiting_time + r.service_time for r in records)
    return len(records) / seconds, mean_ms


def bench_fleet_latency() -> None:
    """The fleet latency model against simulation: worst p95 error by routing, on a grid."""
    cvs, sizes, loads = (0.0, DEFAULT_SERVICE_CV, 1.0), [1, 4, 16, 64], (0.5, 0.7, 0.9)
    models = [FleetLatency(r, cv) for r in ROUTINGS for cv in cvs]
    start = time.perf_counter()
    grid = pd.concat([
        model_error_grid(models, sizes, slots=slots, utilization=load,
                         max_requests=400_000)
        .assign(slots=slots, utilization=load)
        for slots in (1, 8) for load in loads], ignore_index=True)
    seconds = time.perf_counter() - start
    print(f"fleet model vs simulation: {len(grid)} fleets (routing x cv {cvs} x instances "
          f"{sizes} x slots 1, 8 x busy {loads}), {grid['converged'].mean():.0%} simulated to "
          f"steady state (<= 400,000 requests), {seconds:.0f} s")
    grid = grid[grid["converged"]]
    exact = (grid["service_cv"] == 1.0) & grid["routing"].isin(["shared_queue", "random"])
    print(f"  where the model is exact (M/M/c, random M/M/k): simulation noise "
          f"{grid.loc[exact, 'relative_error'].abs().max():.1%} at worst")
    worst = grid.groupby("routing", sort=False)["relative_error"].agg(["min", "max"])
    for routing, row in worst.iterrows():
        print(f"  {routing:<18} model/simulated - 1: {row['min']:+.1%} (worst below) "
              f"to {row['max']:+.1%} (worst above)")
    print(f"  at 50-70% busy: {grid.loc[grid['utilization'] < 0.8, 'relative_error'].min():+.1%}"
          f" to {grid.loc[grid['utilization'] < 0.8, 'relative_error'].max():+.1%}")
    model = FleetLatency()
    seconds = median_seconds(lambda: model.response_quantile_s(64, 8, 100.0, 0.9 * 51_200), 50)
    print(f"FleetLatency().response_quantile_s       {seconds * 1e3:8.3f} ms per call")


REAL_TRACE = ROOT.parent / "shared" / "data" / "traces" / "mooncake_conversation.csv"


def _batching_case(slo_p95_ms: float, instances: int, real) -> tuple:
    """Issue 10's target on one (SLO, instances) case: the synthetic traces at one instance's
    share of chapter 3's traffic times ``instances``, and the real trace at a 1,000/s peak per
    instance. Returns the evaluation table and the per-trace verdicts."""
    from perfcost import batching
    from perfcost.parallel import default_workers
    from perfcost.replay import replay_trace

    n = instances
    factories = batching.synthetic_traces(
        duration_s=300.0, steady_rps=350.0 * n, diurnal_mean_rps=400.0 * n,
        bursty_rps=(200.0 * n, 800.0 * n), swing_peak_rps=800.0 * n,
        cold_start_rps=500.0 * n, seed=0)
    traces = {name: make(1.0) for name, make in factories.items()}
    if real is not None:
        traces["real"] = replay_trace(real, 1000.0 * n, seed=1)
    service = LinearServiceTime(2.9, 0.77, 0.05)
    case = batching.evaluate(traces, service=service, slo_p95_ms=slo_p95_ms, instances=n,
                             services={"drift": batching.drift_service(service, 150.0)},
                             workers=default_workers())
    return case, batching.meets_target(case)


def bench_batching_target() -> None:
    """Issue 10's target for the controller: every trace (the real one when the shared trace
    is here), SLO 25 and 50 ms, 1 to 4 instances; every policy on the real trace."""
    from perfcost.trace_files import load_trace

    real = load_trace(REAL_TRACE) if REAL_TRACE.exists() else None
    if real is None:
        print(f"batching target: the real trace is not here ({REAL_TRACE}); synthetic only")
    met = total = 0
    for slo in (25.0, 50.0):
        for n in (1, 2, 3, 4):
            start = time.perf_counter()
            case, targets = _batching_case(slo, n, real)
            met, total = met + int(targets["meets"].sum()), total + len(targets)
            missed = ", ".join(f"{r.trace} ({r.gpu_excess:+.1%} GPU"
                               f"{', behind ' + r.behind if r.behind else ''})"
                               for r in targets[~targets["meets"]].itertuples())
            print(f"batching target SLO {slo:g} ms, {n} instance(s): "
                  f"{targets['meets'].sum()}/{len(targets)} traces "
                  f"({time.perf_counter() - start:.0f} s); missed: {missed or 'none'}")
            if real is not None:
                rows = case[case["trace"] == "real"]
                for row in rows.itertuples():
                    print(f"    real trace  {row.policy:<18} attainment "
                          f"{row.slo_attainment:.4f}  GPU {row.gpu_busy_s:8.1f} s")
    print(f"batching target: met on {met} of {total} (case, trace) pairs")


def bench_compression() -> None:
    """Issue 11's figures: fp32's and unstructured pruning's throughput intervals, the gains
    priced, and how often two exports of one graph are called different (false alarms)."""
    from perfcost import compression, cost
    from perfcost.book.chapters import default_values
    from perfcost.compression.measurement import (
        Built,
        measure_variants,
        measurements_table,
        random_workload,
    )
    from perfcost.compression.run import run_variants
    from perfcost.compression.timing import TimingPlan
    from perfcost.pricing import load_catalog

    settings = compression.CompressionSettings()
    with tempfile.TemporaryDirectory() as scratch:
        start = time.perf_counter()
        run = run_variants("", [784], list(compression.VARIANTS), settings, Path(scratch))
        print(f"compression: built and measured {len(run.measurements)} variants in "
              f"{time.perf_counter() - start:.0f} s")
    table = measurements_table(run.measurements)
    for name in ("fp32", "prune_unstructured_90"):
        row = table.loc[name]
        print(f"    {name:<22} throughput {row.throughput_rps:9,.0f} rps, 99% interval "
              f"{row.throughput_low_rps:,.0f}-{row.throughput_high_rps:,.0f}")
    service = cost.CostQuestion(**default_values("cost", ROOT)).service
    bills = cost.bills_for_gains(service, table["throughput_gain"], load_catalog())
    for name, row in bills.iterrows():
        interval = table.loc[name, ["throughput_gain_low", "throughput_gain_high"]]
        print(f"    priced {name:<22} gain {row.throughput_gain:5.2f} (measured "
              f"{interval.iloc[0]:.2f}-{interval.iloc[1]:.2f})  {int(row.instances):3d} instances"
              f"  ${row.monthly_usd:,.0f}/month")
    alarms, repeats = 0, 30
    with tempfile.TemporaryDirectory() as scratch:
        torch_model = compression.mlp([784, 1024, 1024, 10]).eval()
        paths = [compression.export_onnx(torch_model, Path(scratch) / f"{k}.onnx")
                 for k in range(2)]
        for seed in range(repeats):
            found = measurements_table(measure_variants(
                {"fp32": Built(paths[0]), "copy": Built(paths[1])},
                random_workload((784,), seed=seed), plan=TimingPlan(budget_s=20), seed=seed))
            alarms += int(found.loc["copy", "speedup"] != 1.0
                          or found.loc["copy", "throughput_gain"] != 1.0)
    print(f"compression: identical exports called different in {alarms} of {repeats} runs "
          "(speed-up or throughput, 99% intervals)")


def bench_chapters() -> None:
    goals = {"capacity": 20, "batching": 60, "compression": 120,
             "design": 60}  # seconds, from the issues
    with tempfile.TemporaryDirectory() as scratch:
        for chapter in find_chapters(ROOT).values():
            start = time.perf_counter()
            rerun(chapter, {}, Path(scratch) / chapter.name, progress_bar=False)
            seconds = time.perf_counter() - start
            goal = f"  (goal < {goals[chapter.name]} s)" if chapter.name in goals else ""
            print(f"chapter {chapter.name:<31} {seconds:8.1f} s to execute (papermill){goal}")


def bench_design() -> None:
    """Issue 13's figures: one simulated day of all three policies, a whole design on
    measured profiles, and the serving cost measured on this machine."""
    from perfcost.autoscaling import FixedAtPeak, ScheduledTracking, TargetTracking, simulate_day
    from perfcost.design import DesignQuestion, design_service
    from perfcost.design.run import run_design

    day = dict(peak_rps=10_000.0, peak_to_average=1.6, instance_capacity_rps=4_000.0,
               target_utilization=0.6, startup_delay_s=180.0)
    policies = (FixedAtPeak(), TargetTracking(), ScheduledTracking())
    seconds = median_seconds(lambda: [simulate_day(p, **day) for p in policies], 50)
    print(f"autoscaling: one day at 1-min steps, 3 policies {seconds * 1e3:8.2f} ms"
          "  (goal < 2 s)")
    with tempfile.TemporaryDirectory() as scratch:
        start = time.perf_counter()
        run = run_design(DesignQuestion(), scratch)
        measured_s = time.perf_counter() - start
    seconds = median_seconds(lambda: design_service(DesignQuestion(), run.profiles), 5)
    print(f"design: train, measure and design (defaults) {measured_s:8.1f} s")
    print(f"design: design_service on measured profiles  {seconds:8.2f} s per design, "
          f"{len(run.design.evaluation.configurations)} configurations")
    from perfcost.design.day import minutes_meeting_slo, policy_days

    for model in ("mlp_fp32", "bert_large"):
        bigger = design_service(DesignQuestion(peak_qps=200_000.0, model=model), run.profiles)
        fleet, question = bigger.chosen.fleet, bigger.question

        def day_and_minutes(fleet=fleet, question=question,
                            budget_ms=bigger.chosen.server_budget_ms):
            days = policy_days(fleet, peak_to_average=question.peak_to_average,
                               target_utilization=question.utilization_target,
                               startup_delay_s=question.startup_delay_s)
            return [minutes_meeting_slo(day, fleet.option, budget_ms) for day in days.values()]

        seconds = median_seconds(day_and_minutes, 5)
        print(f"design: a day of 3 policies + per-minute p95 {seconds:8.3f} s, {model} at "
              f"200,000 requests/s ({bigger.instances_peak} instances at the peak)  "
              "(goal < 2 s)")
    server = run.server
    print(f"design: HTTP server on loopback              {server.cpu_ms_per_request * 1e3:8.0f}"
          f" us CPU per request (repeats {server.cpu_low_ms * 1e3:.0f}-"
          f"{server.cpu_high_ms * 1e3:.0f}), {server.throughput_rps:,.0f} requests/s with "
          f"{server.clients} clients sharing the machine, p95 {server.latency_p95_ms:.2f} ms")
    path = run.paths["fp32"]
    print(f"design: in-process request path (fp32)       {path.total_ms * 1e3:8.0f} us per "
          f"request ({path.total_low_ms * 1e3:.0f}-{path.total_high_ms * 1e3:.0f}), model "
          f"{path.stage_ms['model'] * 1e3:.0f} us")
    for name, profile in run.measured.items():
        rates = ", ".join(f"b{b} {profile.model_ms(b) * 1e3:.1f} us"
                          for b in profile.batch_sizes)
        print(f"design: {name} model time per call          {rates}")


def _bad_command_lines() -> list[list[str]]:
    """One command line per (chapter, numeric parameter, bad value): NaN, inf, huge, text."""
    from perfcost.book.inputs import CHAPTER_INPUTS
    from perfcost.book.parameter_types import Number, WholeNumber

    return [["rerun", chapter, "-p", name, value]
            for chapter, inputs in CHAPTER_INPUTS.items()
            for name, check in inputs.checks.items() if isinstance(check, Number | WholeNumber)
            for value in ("nan", "-inf", "1e300", "-1", "fast")]


def bench_sweep() -> None:
    """Issue 15's figure: an 8-point sweep of the capacity chapter on a LocalCluster (one
    worker per core) against the same 8 re-runs one after another, and where the time goes."""
    from perfcost.book.chapters import find_chapters
    from perfcost.book.sweep import plan_sweep, run_point, run_sweep
    from perfcost.book.sweep_grid import parse_axis
    from perfcost.parallel import default_workers

    chapter = find_chapters(ROOT)["capacity"]
    rates = ",".join(str(500 * k) for k in range(1, 9))
    points = plan_sweep(chapter, {}, [parse_axis(chapter, "request_rate_rps", rates)])
    with tempfile.TemporaryDirectory() as scratch:
        start = time.perf_counter()
        serial = [run_point(str(chapter.path), chapter.name, p.parameters,
                            f"{scratch}/serial/{k}") for k, p in enumerate(points)]
        serial_s = time.perf_counter() - start
        start = time.perf_counter()
        records = run_sweep(chapter, points, Path(scratch) / "sweep")
        sweep_s = time.perf_counter() - start
    assert all(r["status"] == "ok" for r in records.values()), records
    print(f"sweep: 8 capacity re-runs one after another {serial_s:6.1f} s, as a sweep on "
          f"{default_workers()} workers {sweep_s:6.1f} s: {sweep_s / serial_s:.2f}x (goal <= 0.6x)")
    for label, runs in (("serial", serial), ("sweep", list(records.values()))):
        wall = sum(r["wall_s"] for r in runs)
        cells = sum(r["cells_s"] for r in runs)
        print(f"    {label:<6} per point: {wall / 8:5.1f} s wall = {cells / 8:5.1f} s executing "
              f"cells + {(wall - cells) / 8:4.1f} s kernel start-up and papermill")
    busy = sum(r["wall_s"] for r in records.values()) / default_workers()
    print(f"    sweep: {sweep_s - busy:4.1f} s beyond its workers' busy time (cluster start, "
          "scheduling, the last point alone)")


def bench_bad_input() -> None:
    """How fast a bad value is refused: in-process for every case, and as a reader meets it
    (a fresh `python -m perfcost` process, imports included) for a sample."""
    import contextlib
    import io

    from perfcost.book.cli import main

    cases, times, statuses = _bad_command_lines(), [], []
    with tempfile.TemporaryDirectory() as scratch:
        for args in cases:
            start = time.perf_counter()
            with contextlib.redirect_stderr(io.StringIO()):
                statuses.append(main(["--root", str(ROOT), *args, "-o", scratch]))
            times.append(time.perf_counter() - start)
        cold = []
        for args in cases[:: max(1, len(cases) // 8)]:
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "perfcost", *args, "-o", scratch],
                           cwd=ROOT, capture_output=True, check=False)
            cold.append(time.perf_counter() - start)
    refused = sum(status == 2 for status in statuses)
    print(f"bad input: {refused} of {len(cases)} refused with exit 2; in-process median "
          f"{statistics.median(times) * 1e3:.0f} ms, max {max(times) * 1e3:.0f} ms")
    print(f"bad input, fresh process ({len(cold)} cases): median {statistics.median(cold):.2f} s,"
          f" max {max(cold):.2f} s  (goal < 2 s)")


def bench_book_from_empty_cache() -> None:
    # The working tree as a clean clone would have it: tracked files and new, unignored ones.
    tracked = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                             cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "book"
        for name in tracked:
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            if (ROOT / name).is_file():
                shutil.copy2(ROOT / name, copy / name)
        start = time.perf_counter()
        # Run from the copy: Jupyter Book resolves the cache folder against the working directory.
        build = subprocess.run([str(Path(sys.executable).with_name("jupyter-book")), "build",
                                ".", "--warningiserror", "--quiet"],
                               cwd=copy, capture_output=True, text=True)
        seconds = time.perf_counter() - start
    if build.returncode != 0:
        sys.exit(f"book build failed:\n{build.stdout[-3000:]}\n{build.stderr[-3000:]}")
    print(f"book build, empty cache and _build       {seconds:8.1f} s  (goal < 180 s)")


if __name__ == "__main__":
    only = sys.argv[1:]  # e.g. `python benchmarks/run.py simulator` runs one group
    print(f"hardware: {hardware()}")
    if only:
        for name in only:
            globals()[f"bench_{name}"]()
        sys.exit(0)
    bench_erlang_c()
    bench_simulator()
    bench_fleet_latency()
    bench_bad_input()
    bench_batching_target()
    bench_sweep()
    bench_compression()
    bench_design()
    bench_chapters()
    bench_book_from_empty_cache()
