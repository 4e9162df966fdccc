"""Chapters re-run as a reader would, and every conclusion checked on the results JSON.

Each chapter is re-run (papermill, exactly as ``perfcost rerun`` does) at its defaults, at every
re-run that the README, the chapter text or its exercises suggest, and at the ends of each
parameter's valid range. Each run must execute to the end, and its ``CHAPTER.results.json`` must
satisfy the chapter's invariants: what the prose says must hold at *those* numbers.

A run is shared by every test that asks for the same chapter and parameters (one session cache),
so the matrix costs one papermill run per parameter set.
"""

from __future__ import annotations

import itertools
import json
import math
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from perfcost.book.chapters import chapter_parameters, checked_parameters, find_chapters, rerun
from perfcost.capacity import HOURS_PER_MONTH
from perfcost.pricing import load_catalog
from perfcost.rightsizing import WORKLOAD

pytestmark = pytest.mark.slow


def run_chapter(root: Path, chapter: str, parameters: dict, outdir: Path) -> dict:
    """Re-run ``chapter`` of the book at ``root`` as `perfcost rerun` does; its results."""
    found = find_chapters(root)[chapter]
    rerun(found, checked_parameters(found, parameters), outdir, progress_bar=False)
    return json.loads((outdir / f"{chapter}.results.json").read_text())


class Reruns:
    """Runs each (chapter, parameters) once per session, into its own folder."""

    def __init__(self, root, folder):
        self.root = root
        self.chapters = find_chapters(root)
        self.folder = folder
        self.done: dict[tuple, dict] = {}

    def _key(self, chapter: str, parameters: dict) -> tuple:
        return (chapter, json.dumps(parameters, sort_keys=True))  # values may be lists

    def _outdir(self) -> Path:
        self.runs = getattr(self, "runs", 0) + 1
        return self.folder / f"run-{self.runs}"

    def results(self, chapter: str, parameters: dict) -> dict:
        """The results JSON of ``chapter`` re-run with ``parameters`` (run on first use)."""
        key = self._key(chapter, parameters)
        if key not in self.done:
            self.done[key] = run_chapter(self.root, chapter, parameters, self._outdir())
        return self.done[key]

    def prefetch(self, jobs: list[tuple[str, dict]], workers: int = 2) -> None:
        """Run the jobs not yet done, ``workers`` at a time (each re-run is its own kernel)."""
        todo = {self._key(c, p): (c, p) for c, p in jobs if self._key(c, p) not in self.done}
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            futures = {key: pool.submit(run_chapter, self.root, chapter, parameters,
                                        self._outdir())
                       for key, (chapter, parameters) in todo.items()}
            for key, future in futures.items():
                try:
                    self.done[key] = future.result()
                except Exception:  # the test that needs it re-runs it and reports why
                    pass


@pytest.fixture(scope="session")
def reruns(root, tmp_path_factory, request):
    """One Reruns per session; the parameter sets the selected tests need are run two at a
    time up front (two cores: the suite's wall time, not its work, halves)."""
    runs = Reruns(root, tmp_path_factory.mktemp("reruns"))
    jobs = []
    for item in request.session.items:
        parameters = getattr(item, "callspec", None) and item.callspec.params.get("parameters")
        if parameters is None or Path(item.fspath) != Path(__file__):
            continue
        if any(parameters is s for s in CAPACITY_SETS):
            jobs.append(("capacity", parameters))
        if any(parameters is s for s in COST_SETS):
            jobs.append(("cost", cost_parameters(runs, parameters)))
        if any(parameters is s for s in COMPRESSION_SETS) and parameters:
            jobs.append(("compression", compression_parameters(runs, parameters)))
        if any(parameters is s for s in DESIGN_SETS):
            jobs.append(("design", parameters))
        if any(parameters is s for s in BATCHING_SETS) and (
                REAL_TRACE.exists() or not parameters.get("trace_path")):
            jobs.append(("batching", parameters))
    runs.prefetch(jobs)
    return runs


def ids(parameters: dict) -> str:
    """A test id from a parameter set: name=value pairs, or 'defaults'."""
    return "-".join(f"{k}={v}" for k, v in parameters.items()) or "defaults"


SIGNED = {"budget_headroom_usd"}  # budget − total: negative when over budget, by contract


def finite_numbers(results: dict) -> None:
    """Every number glued is finite; no time or price is negative (a signed difference
    excepted)."""
    for name, value in results.items():
        if isinstance(value, float):
            assert math.isfinite(value), name
        if (isinstance(value, int | float) and name.endswith(("_ms", "_s", "_usd", "_rps"))
                and name not in SIGNED):
            assert value >= 0, name


# Every glued name chapters 1, 2 and 4 published: public contracts, kept.
PUBLISHED = {
    "capacity": {
        "cheapest_instance", "cpu_latency_ms", "cpu_throughput_rps", "crossover_rps",
        "hourly_usd", "instance_count", "latency_slo_ms", "max_utilization_1",
        "max_utilization_64", "monthly_usd", "n_plus_one_count", "n_plus_one_monthly_usd",
        "peak_count", "peak_rate_rps", "queueing_count", "queueing_instance",
        "queueing_monthly_usd", "queueing_p95_ms", "queueing_utilization", "request_rate_rps",
        "rule_extra_instances", "simulated_constant_p95_ms", "simulated_p95_ms",
        "simulated_requests", "utilization"},
    "cost": {
        "commitment_1yr_high", "commitment_1yr_low", "compute_monthly_usd", "compute_share",
        "egress_first_tier_usd_per_gb", "egress_gb_month", "egress_monthly_usd",
        "hours_per_month", "instance_hourly_usd", "instance_throughput_rps", "instances",
        "inter_region_usd_per_gb", "model_storage_gb", "other_reading_instances",
        "other_reading_total_usd", "plan_levers", "plan_monthly_usd", "plan_savings_fraction",
        "relay_egress_monthly_usd", "request_rate_rps", "spot_high", "spot_low",
        "storage_monthly_usd", "storage_usd_per_gb_month", "total_monthly_usd"},
    "compression": {
        "first_choice", "int8_size_ratio", "unstructured_gzip_ratio", "distilled_size_ratio",
        "distilled_vs_scratch_accuracy", "timing_noise", "latency_target_fraction",
        "max_accuracy_drop", "hidden_units", "threads", "temperature", "alpha",
        "request_rate_rps", "instance_throughput_rps", "instance_hourly_usd",
        *(f"{variant}_{field}" for variant in (
            "fp32", "int8_dynamic", "prune_unstructured_90", "prune_structured_50",
            "distilled", "distilled_int8")
          for field in ("accuracy", "size_bytes", "latency_p50_ms", "latency_p95_ms",
                        "throughput_rps", "peak_memory_bytes", "speedup_b1"))},
}


@pytest.mark.parametrize("chapter", sorted(PUBLISHED))
def test_every_published_result_is_still_published(reruns, chapter):
    results = (published_compression(reruns.root) if chapter == "compression"
               else reruns.results(chapter, {}))
    assert PUBLISHED[chapter] <= set(results)


# --- Chapter 1: capacity ----------------------------------------------------------------------

CAPACITY_SETS: list[dict] = [
    {},
    # The README's example and the re-runs the chapter and its exercises suggest.
    {"request_rate_rps": 5000.0, "latency_slo_ms": 50.0},
    {"utilization_target": 0.5},
    {"latency_slo_ms": 30.0},
    {"latency_slo_ms": 15.0},
    {"routing": "random"},
    {"routing": "shared_queue"},
    {"routing": "round_robin"},
    # The ends of each parameter's valid range (perfcost list capacity).
    {"request_rate_rps": 0.001},
    {"request_rate_rps": 1e6, "gpu_throughput_rps": 1e6},
    {"latency_slo_ms": 60_000.0, "peak_to_average": 100.0},
    {"utilization_target": 0.01},
    {"utilization_target": 1.0},
    {"peak_to_average": 1.0},
    {"service_cv": 0.0},
    {"service_cv": 1.0},
    {"service_cv": 3.0, "latency_slo_ms": 60_000.0},
    {"cpu_throughput_rps": 0.02, "cpu_latency_ms": 50_000.0, "latency_slo_ms": 60_000.0},
    {"cpu_hourly_usd": 0.001, "gpu_hourly_usd": 1000.0},
    {"gpu_throughput_rps": 1e6, "gpu_latency_ms": 0.001, "cpu_throughput_rps": 50.0,
     "cpu_latency_ms": 100.0},
    # What a review found: a target of 1 at an exact fit, a GPU slower than the CPU, an SLO
    # that only one option's p95 meets.
    {"request_rate_rps": 888.0, "utilization_target": 1.0},
    {"gpu_throughput_rps": 40.0, "gpu_latency_ms": 25.0},
    {"latency_slo_ms": 12.0, "service_cv": 0.1},
]


@pytest.mark.parametrize("parameters", CAPACITY_SETS, ids=ids)
def test_capacity_runs_and_its_numbers_are_finite(reruns, parameters):
    finite_numbers(reruns.results("capacity", parameters))


def capacity_run(reruns, parameters: dict) -> tuple[dict, dict]:
    """The results of a capacity re-run and the parameters it ran with (defaults filled)."""
    defaults = {name: p.default for name, p in
                chapter_parameters(reruns.chapters["capacity"]).items()}
    return reruns.results("capacity", parameters), {**defaults, **parameters}


@pytest.mark.parametrize("parameters", CAPACITY_SETS, ids=ids)
def test_every_fleet_the_chapter_recommends_meets_the_slo(reruns, parameters):
    results, values = capacity_run(reruns, parameters)
    slo = values["latency_slo_ms"]
    for name in ("p95_ms", "queueing_p95_ms", "peak_p95_ms"):
        assert results[name] <= slo * (1 + 1e-9), name
    assert results["utilization"] <= values["utilization_target"] * (1 + 1e-9)
    assert results["instance_count"] >= results["rule_only_count"]
    assert results["n_plus_one_count"] == results["peak_count"] + 1
    assert results["n_plus_one_slo_count"] <= results["n_plus_one_count"]
    double = results["n_plus_one_slo_count"] < results["n_plus_one_count"]
    assert ("double headroom" in results["headroom_verdict"]) == double
    assert results["monthly_usd"] == pytest.approx(results["hourly_usd"] * HOURS_PER_MONTH)


@pytest.mark.parametrize("parameters", CAPACITY_SETS, ids=ids)
def test_capacity_verdicts_say_what_the_numbers_say(reruns, parameters):
    results, values = capacity_run(reruns, parameters)
    within = results["rule_only_count"] == results["instance_count"]
    assert ("within the SLO" in results["rule_verdict"]) == within
    extra = results["rule_extra_instances"]
    expected = ("more" if extra > 0 else "exactly" if extra == 0 else "fewer")
    assert expected in results["rule_vs_p95"]
    if extra != 0:
        assert f"buys {abs(extra)} " in results["rule_vs_p95"]
    for name in ("max_utilization_1", "max_utilization_64", "max_utilization_64_random",
                 "max_utilization_64_shared_queue"):
        assert 0.0 <= results[name] < 1.0, name
        share = results[name]
        if max(results["max_utilization_1"], results["max_utilization_64"]) > 0:
            said = ("over 99.9%" if 0.999 < share < 1 else "under 0.1%" if 0 < share < 0.001
                    else f"{share:.1%}")
            assert said in results["ceiling_verdict"], name
    # One shared queue is the lower bound on latency, so it allows the highest utilisation;
    # with random routing 64 instances are 64 single queues, no better than one.
    assert results["max_utilization_64_shared_queue"] >= results["max_utilization_64"] - 1e-9
    assert results["max_utilization_64_random"] == pytest.approx(
        results["max_utilization_1"], abs=1e-6)
    peak = values["request_rate_rps"] * values["peak_to_average"]
    assert results["peak_rate_rps"] == pytest.approx(peak)
    assert ("grows without bound" in results["average_fleet_at_peak"]) == (
        peak >= results["instance_count"] * (values["gpu_throughput_rps"]
        if results["cheapest_instance"] == values["gpu_name"]
        else values["cpu_throughput_rps"]))


@pytest.mark.parametrize("parameters", CAPACITY_SETS, ids=ids)
def test_the_latency_model_stays_close_to_the_simulation(reruns, parameters):
    results, _ = capacity_run(reruns, parameters)
    if "did not settle" not in results["model_check_verdict"]:
        assert -0.10 <= results["model_relative_error"] <= 0.40
        assert f"{results['model_relative_error']:+.1%}" in results["model_check_verdict"]
    assert results["grid_worst_below"] >= -0.10
    assert results["grid_worst_above"] <= 0.50


def test_capacity_cost_never_falls_when_the_rate_rises(reruns):
    runs = [reruns.results("capacity", {"request_rate_rps": rate})
            for rate in (1000.0, 2000.0, 4000.0)]
    costs = [run["monthly_usd"] for run in runs]
    assert costs == sorted(costs)
    for low, high in itertools.pairwise(runs):
        if low["cheapest_instance"] == high["cheapest_instance"]:
            assert low["instance_count"] <= high["instance_count"]
            assert low["peak_count"] <= high["peak_count"]


# --- Chapter 2: cost --------------------------------------------------------------------------

COST_SETS: list[dict] = [
    {},
    # The README's and the chapter's suggested re-runs, and its exercises 2 and 3.
    {"request_rate_rps": 2000.0, "response_kb": 40.0},
    {"eu_egress_fraction": 0.5},
    {"peak_to_average": 1.65},
    {"peak_to_average": 1.65, "savings_target": 0.45},
    {"instance_hourly_usd": 1.006, "instance_throughput_rps": 60.0},
    # The ends of each parameter's valid range (perfcost list cost); open ends just inside.
    {"request_rate_rps": 0.001, "request_kb": 0.0, "response_kb": 0.0, "eu_egress_fraction": 0.0,
     "model_storage_gb": 0.0, "storage_usd_per_gb_month": 0.0, "savings_target": 0.0,
     "spot_share": 0.0, "throughput_gain": 1.0, "cache_hit_rate": 0.0,
     "response_compression_ratio": 1.0, "archived_storage_fraction": 0.0,
     "block_storage_gb_per_instance": 0.0},
    {"instance_hourly_usd": 1e-9, "instance_throughput_rps": 0.001, "utilization_target": 0.01,
     "hours_per_month": 672.0, "archive_storage_class": "glacier_deep_archive"},
    {"request_rate_rps": 1e6, "request_kb": 1e5, "response_kb": 1e5, "eu_egress_fraction": 1.0,
     "instance_throughput_rps": 1e6, "hours_per_month": 744.0, "model_storage_gb": 1e7,
     "storage_usd_per_gb_month": 10.0},
    {"instance_hourly_usd": 1000.0, "utilization_target": 1.0, "savings_target": 0.999,
     "peak_to_average": 2.0, "commitment_discount": 0.999, "spot_share": 0.999,
     "spot_discount": 0.999, "throughput_gain": 100.0, "cache_hit_rate": 0.999,
     "response_compression_ratio": 100.0, "archived_storage_fraction": 1.0,
     "block_storage_gb_per_instance": 16000.0},
    # The senior review's 30 re-runs (its catalogs are built by CATALOG_EDITS; a rising tier
    # ladder is now refused at load, test_a_rising_tier_ladder_is_refused_before_a_run).
    {"request_rate_rps": 0.5},
    {"request_rate_rps": 200000.0},
    {"response_kb": 2000.0},
    {"eu_egress_fraction": 1.0, "response_kb": 500.0, "request_rate_rps": 3000.0},
    {"eu_egress_fraction": 0.0, "request_rate_rps": 3000.0},
    {"peak_to_average": 2.0},
    {"savings_target": 0.01},
    {"savings_target": 0.95},
    {"instance_hourly_usd": 0.3, "instance_throughput_rps": 1000.0},
    {"commitment_discount": 0.5, "spot_share": 0.8, "spot_discount": 0.7, "throughput_gain": 2.0},
    {"cache_hit_rate": 0.5},
    {"hours_per_month": 744.0, "request_rate_rps": 20000.0},
    {"hours_per_month": 672.0},
    {"price_catalog_path": "@ingress"},
    {"price_catalog_path": "@no-workloads"},
    {"throughput_gain": 1.0, "peak_to_average": 1.65, "savings_target": 0.4},
    {"model_storage_gb": 1e6, "storage_usd_per_gb_month": 0.023},
    {"request_rate_rps": 140.0, "utilization_target": 0.5, "instance_hourly_usd": 0.6,
     "instance_throughput_rps": 300.0},
    {"instance_hourly_usd": 0.2, "instance_throughput_rps": 5000.0, "request_rate_rps": 50000.0,
     "response_kb": 100.0, "eu_egress_fraction": 0.7},
    {"cache_hit_rate": 0.3, "peak_to_average": 1.4, "throughput_gain": 1.5,
     "savings_target": 0.6},
    {"request_kb": 5000.0, "response_kb": 5000.0, "request_rate_rps": 1000.0},
    {"instance_hourly_usd": 0.526, "instance_throughput_rps": 621.6, "savings_target": 0.3},
    {"request_rate_rps": 200000.0, "savings_target": 0.97},
    {"peak_to_average": 1.65, "savings_target": 0.45, "request_rate_rps": 50000.0},
    {"instance_hourly_usd": 0.3, "instance_throughput_rps": 1000.0, "request_rate_rps": 20000.0,
     "response_kb": 1.0, "savings_target": 0.4},
    {"instance_hourly_usd": 0.3, "instance_throughput_rps": 1000.0, "request_rate_rps": 20000.0,
     "response_kb": 1.0, "savings_target": 0.4, "throughput_gain": 1.0},
    {"request_rate_rps": 2000.0, "peak_to_average": 1.3, "savings_target": 0.9,
     "cache_hit_rate": 0.2},
    {"request_rate_rps": 5000.0, "instance_hourly_usd": 0.4, "peak_to_average": 2.0,
     "savings_target": 0.95},
    {"request_rate_rps": 50.0, "savings_target": 0.95, "throughput_gain": 1.3},
    {"peak_to_average": 2.0, "request_rate_rps": 1000.0},
]


def _ingress_catalog(data: dict) -> None:
    """The review's cat_custom: ingress charged, dearer instances, no free tier (not rising)."""
    data["transfer"]["ingress"].update(usd=0.01, quoted=0.01)
    data["transfer"]["inter_region"]["usd"] = 0.05
    data["instances"]["g4dn.xlarge"].update(hourly_usd=0.9, quoted=0.9)
    data["internet_egress"]["tiers"] = [{"up_to_gb": 10000, "usd_per_gb": 0.09},
                                        {"up_to_gb": None, "usd_per_gb": 0.05}]


CATALOG_EDITS = {"@ingress": _ingress_catalog,
                 "@no-workloads": lambda data: data.pop("workloads")}


def _catalog(folder, name: str) -> str:
    """The shipped catalog edited by CATALOG_EDITS[name], written once into ``folder``."""
    import yaml

    from perfcost.pricing import load_catalog

    path = folder / f"{name[1:]}.yaml"
    if not path.exists():
        data = yaml.safe_load(load_catalog().path.read_text(encoding="utf-8"))
        CATALOG_EDITS[name](data)
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return str(path)
COST_ORDER = ("cache", "rightsize", "throughput", "autoscale", "spot", "commitment",
              "compression", "tiering")
FLEET_LEVERS = ("cache", "rightsize", "throughput", "autoscale")


def cost_run(reruns, parameters: dict) -> tuple[dict, dict]:
    """The results of a cost re-run and the parameters it ran with (defaults filled)."""
    defaults = {name: p.default for name, p in
                chapter_parameters(reruns.chapters["cost"]).items()}
    parameters = cost_parameters(reruns, parameters)
    return reruns.results("cost", parameters), {**defaults, **parameters}


def cost_parameters(reruns, parameters: dict) -> dict:
    """``parameters`` with each catalog edit (``@name``) replaced by the catalog's path."""
    return {name: _catalog(reruns.folder, value) if value in CATALOG_EDITS else value
            for name, value in parameters.items()}


@pytest.mark.parametrize("parameters", COST_SETS, ids=ids)
def test_cost_runs_and_its_numbers_are_finite(reruns, parameters):
    finite_numbers(cost_run(reruns, parameters)[0])


@pytest.mark.parametrize("parameters", COST_SETS, ids=ids)
def test_cost_bill_adds_up_and_the_hand_computation_agrees(reruns, parameters):
    results, _ = cost_run(reruns, parameters)
    # The question's three components; ingress is priced apart, in the full bill.
    parts = [results[f"{c}_monthly_usd"] for c in ("compute", "egress", "storage")]
    assert results["total_monthly_usd"] == pytest.approx(math.fsum(parts), rel=1e-12)
    assert results["by_hand_agrees"] is True
    assert results["by_hand_total_usd"] == pytest.approx(results["total_monthly_usd"], rel=1e-9)
    assert results["full_bill_monthly_usd"] == pytest.approx(
        results["total_monthly_usd"] + results["ingress_monthly_usd"]
        + results["load_balancer_monthly_usd"] + results["block_storage_monthly_usd"],
        rel=1e-12)
    assert results["full_bill_monthly_usd"] >= results["total_monthly_usd"]
    assert 0 <= results["compute_share"] <= 1
    assert results["relay_extra_monthly_usd"] >= -1e-9  # the prose: a relay never saves
    usd = {c: results[f"{c}_monthly_usd"] for c in ("compute", "egress", "storage")}
    assert results["bill_verdict"].startswith(max(usd, key=usd.get))
    for wrong in ("(0%)", "(100%)"):  # a share that rounds to a wrong one
        if all(0 < u < results["total_monthly_usd"] for u in usd.values()):
            assert wrong not in results["bill_verdict"]


@pytest.mark.parametrize("parameters", COST_SETS, ids=ids)
def test_cost_plan_is_ordered_effective_and_adds_up(reruns, parameters):
    results, values = cost_run(reruns, parameters)
    total, final = results["total_monthly_usd"], results["plan_monthly_usd"]
    assert final <= total * (1 + 1e-12)
    assert results["plan_saving_usd"] == pytest.approx(results["plan_steps_saving_usd"],
                                                       rel=1e-9, abs=1e-9)
    assert results["plan_saving_usd"] == pytest.approx(total - final, rel=1e-9, abs=1e-9)
    keys = [k for k in results["plan_keys"].split(", ") if k]
    assert keys == sorted(keys, key=COST_ORDER.index)
    assert results["plan_least_step_saving_usd"] > 0 or not keys
    assert not set(keys) & set(results["set_apart"].split(", "))
    reaches = results["plan_saving_usd"] >= values["savings_target"] * total - 1e-4
    assert results["plan_reaches_target"] == reaches
    assert (results["plan_levers"] == "no lever") == (not keys)


@pytest.mark.parametrize("parameters", COST_SETS, ids=ids)
def test_cost_cited_defaults_and_the_right_sizing_verdict(reruns, parameters):
    results, values = cost_run(reruns, parameters)
    for name, low in (("commitment_discount", "commitment_1yr_low"), ("spot_discount", "spot_low")):
        assert results[name] == (values[name] or results[low])
    if values["throughput_gain"] == 0:
        assert results["throughput_gain_source"].startswith(("chapter 4", "none"))
    else:
        assert results["throughput_gain"] == values["throughput_gain"]
    cheaper = results["rightsize_price_ratio"] > 1
    assert ("less per request" in results["rightsize_verdict"]) == cheaper
    assert 0 <= results["commitment_stranded_fraction"] <= 1
    assert results["commitment_stranded_usd"] >= 0
    stranded = results["commitment_stranded_fraction"] > 0
    said = results["commitment_strand_text"]
    assert ("paying for nothing" in said or "strand all of it" in said) == stranded


def test_cost_never_falls_when_the_rate_rises(reruns):
    runs = [reruns.results("cost", {"request_rate_rps": rate} if rate != 500.0 else {})
            for rate in (500.0, 1000.0, 2000.0)]
    for name in ("instances", "total_monthly_usd", "full_bill_monthly_usd", "egress_gb_month"):
        values = [run[name] for run in runs]
        assert values == sorted(values), name
    for low, high in itertools.pairwise(runs):
        if low["rightsize_instance"] == high["rightsize_instance"]:
            assert low["rightsize_instances"] <= high["rightsize_instances"]


@pytest.mark.parametrize("parameters", COST_SETS, ids=ids)
def test_cost_review_invariants(reruns, parameters):
    """What the senior review found, each as an invariant on the results."""
    results, _ = cost_run(reruns, parameters)
    keys = [k for k in results["plan_keys"].split(", ") if k]
    # 1, 6: one benchmark basis; the right-sized fleet carries a spare (N+1, at least 2).
    if results["rightsize_instance"] != "none":
        assert results["rightsize_instances"] == results["rightsize_peak_instances"] + 1 >= 2
    else:
        assert "0 ×" not in results["rightsize_paragraph"]
    if "rightsize" in keys:
        assert results["plan_spare_instances"] >= 1 and "keeps" in results["spare_verdict"]
    else:
        assert results["plan_spare_instances"] == 0
    # 2: the throughput gain is never multiplied onto a right-sizing.
    assert not {"rightsize", "throughput"} <= set(keys)
    # 3: the right-sizing paragraph says it is the plan's lever only when it is.
    assert ("the plan's right-sizing lever" in results["rightsize_paragraph"]) == (
        "rightsize" in keys)
    # 4: a plan that misses its target says so; spot in the plan is named; "next" is honest.
    assert ("short of" in results["plan_verdict"]) == (not results["plan_reaches_target"])
    assert ("Spot, the lever riskiest" in results["reserve_verdict"]) == ("spot" in keys)
    if "if the target were higher" in results["next_levers_verdict"]:
        assert results["plan_reaches_target"]
    # 5: spot only on a fleet of 3 or more; a type change strands the whole commitment.
    if "spot" in keys:
        assert results["plan_instances"] >= 3
    if results["commitment_type_change"]:
        assert results["commitment_stranded_fraction"] == 1.0
        assert "strand all of it" in results["commitment_strand_text"]
    # 10: wording.
    n = results["instances"]
    assert results["compute_formula"].endswith(f"= {n:,d} instance{'' if n == 1 else 's'}")
    assert "first 0 GB" not in results["egress_free_text"]
    assert "Here, no lever here" not in results["commitment_strand_text"]
    assert results["commitment_strand_text"].count(" and ") <= 2
    if 0.995 <= results["commitment_stranded_fraction"] < 1:
        assert "100%" not in results["commitment_strand_text"]
    same = results["other_reading_instances"] == results["instances"]
    assert ("the same" in results["other_reading_verdict"]) == same
    assert results["set_apart_header"]
    # 11: a calendar month.
    assert 672 <= results["hours_per_month"] <= 744


def cheapest_by_hand(rate_rps: float, peak_to_average: float, target: float) -> tuple:
    """The catalog's cheapest instance type for the traffic, by hand: the peak's
    ceil(rate x peak / (throughput x target)) instances plus one spare, x the hourly price."""
    catalog = load_catalog()
    costs = {}
    for name, figure in catalog.workload(WORKLOAD).items():
        peak = math.ceil(rate_rps * peak_to_average / (figure.throughput_rps * target) - 1e-9)
        costs[name] = ((peak + 1) * catalog.instance(name).hourly_usd, peak)
    name = min(costs, key=lambda n: (costs[n][0], n))
    return name, costs[name][1]


@pytest.mark.parametrize("parameters", [{"peak_to_average": 2.0, "request_rate_rps": 1000.0},
                                        {"request_rate_rps": 200000.0}], ids=ids)
def test_the_right_sized_pick_is_the_cheapest_on_one_benchmark_basis(reruns, parameters):
    """The review: on one benchmark basis (MLPerf Server for every NVIDIA card) the pick is the
    cheapest fleet with its spare, whichever card that is."""
    results, values = cost_run(reruns, parameters)
    expected = cheapest_by_hand(values["request_rate_rps"], values["peak_to_average"],
                                values["utilization_target"])
    assert (results["rightsize_instance"], results["rightsize_peak_instances"]) == expected


def test_ingress_is_reported_apart_and_in_the_full_bill(reruns):
    results, _ = cost_run(reruns, {"price_catalog_path": "@ingress"})
    assert results["ingress_monthly_usd"] > 0
    assert results["total_monthly_usd"] == pytest.approx(
        results["compute_monthly_usd"] + results["egress_monthly_usd"]
        + results["storage_monthly_usd"], rel=1e-12)


def test_a_rising_tier_ladder_and_a_short_month_are_refused_before_a_run(reruns, tmp_path):
    from perfcost.validation import ParameterError

    rising = tmp_path / "rising.yaml"
    text = Path(_catalog(reruns.folder, "@ingress")).read_text(encoding="utf-8")
    rising.write_text(text.replace("usd_per_gb: 0.05", "usd_per_gb: 0.1"), encoding="utf-8")
    chapter = reruns.chapters["cost"]
    with pytest.raises(ParameterError, match=r"rises from 0\.09 to 0\.1"):
        checked_parameters(chapter, {"price_catalog_path": str(rising)})
    with pytest.raises(ParameterError, match=r"hours_per_month must be a number in \[672, 744\]"):
        checked_parameters(chapter, {"hours_per_month": 1.0})


# --- Chapter 3: batching ----------------------------------------------------------------------

REAL_TRACE = (Path(__file__).resolve().parents[2] / "shared" / "data" / "traces"
              / "mooncake_conversation.csv")
SHORT = {"duration_s": 60.0, "spike_start_s": 20.0, "spike_duration_s": 20.0}
ONE_T4 = {"instances": 1, "steady_rps": 350.0, "diurnal_mean_rps": 400.0,
          "bursty_rps": [200.0, 800.0], "swing_peak_rps": 800.0, "cold_start_rps": 500.0}
BATCHING_SETS: list[dict] = [
    SHORT,  # the defaults, on shorter traces (the defaults themselves run under nbval)
    # The exercises: one instance at 900 requests/s; heavy jitter; a model twice as slow.
    {**SHORT, "instances": 1, "steady_rps": 900.0},
    {**SHORT, "jitter_cv": 0.3, "drift_slowdown": 2.0},
    # The ends of the ranges: the shortest trace, the tightest SLO a batch of two meets,
    # the widest jitter, the slowest drift.
    {"duration_s": 10.0, "spike_start_s": 0.0, "spike_duration_s": 10.0},
    {**SHORT, **ONE_T4, "slo_p95_ms": 5.0, "steady_rps": 100.0, "diurnal_mean_rps": 100.0,
     "bursty_rps": [50.0, 200.0], "swing_peak_rps": 200.0, "cold_start_rps": 150.0,
     "jitter_cv": 2.0, "drift_slowdown": 10.0},
    # The real-trace case: one T4, a 25 ms SLO, the Mooncake hour at a 1,000/s peak.
    {**SHORT, **ONE_T4, "slo_p95_ms": 25.0, "trace_path": str(REAL_TRACE),
     "trace_peak_rps": 1000.0},
]


def batching_run(reruns, parameters: dict) -> tuple[dict, dict]:
    """The results of a batching re-run and its parameters (defaults filled); skips a
    real-trace set when the shared trace is not here."""
    if parameters.get("trace_path") and not REAL_TRACE.exists():
        pytest.skip(f"the shared Mooncake trace is not here ({REAL_TRACE})")
    defaults = {name: p.default for name, p in
                chapter_parameters(reruns.chapters["batching"]).items()}
    return reruns.results("batching", parameters), {**defaults, **parameters}


BATCHING_PUBLISHED = {
    "slo_p95_ms", "instances", "duration_s", "slo_attainment_controller",
    "slo_attainment_aimd", "slo_attainment_best_static", "gpu_busy_s_controller",
    "gpu_busy_s_aimd", "gpu_busy_s_best_static", "worst_busy_excess", "worst_busy_excess_trace",
    "best_static_configurations", "traces_matching_best_static", "traces_total",
    "controller_parameter_changes", "recovery_s_controller", "spike_attainment_controller",
    "naive_reversals_at_1", "ours_reversals_at_default", "ours_reversals_at_3",
    "max_capacity_rps", "trap_batch_naive", "trap_batch_controller", "scale_out_intervals",
    # Issue 10.
    "slo_attainment_single_static", "sustainable_load_controller", "sustainable_load_aimd",
    "sustainable_load_single_static"}


def test_batching_publishes_every_name_it_published(reruns):
    results, _ = batching_run(reruns, SHORT)
    assert BATCHING_PUBLISHED <= set(results)


@pytest.mark.parametrize("parameters", BATCHING_SETS, ids=ids)
def test_batching_runs_and_its_numbers_are_finite(reruns, parameters):
    results, values = batching_run(reruns, parameters)
    finite_numbers(results)
    assert results["traces_total"] == 7 + bool(values["trace_path"])


@pytest.mark.parametrize("parameters", BATCHING_SETS, ids=ids)
def test_batching_bounds_hold(reruns, parameters):
    results, _ = batching_run(reruns, parameters)
    attainments = {k: v for k, v in results.items() if k.startswith("slo_attainment_")}
    assert all(0 <= v <= 1 for v in attainments.values())
    # The hindsight optimum is the best of a grid that holds the single static configuration.
    assert attainments["slo_attainment_best_static"] >= (
        attainments["slo_attainment_single_static"] - 1e-12)
    for policy in ("controller", "aimd", "single_static"):
        assert 0 <= results[f"sustainable_load_{policy}"] <= 4.0
        assert results[f"gpu_busy_s_{policy}"] > 0
    assert 0 <= results["traces_meeting_target"] <= results["traces_total"]
    assert 0 <= results["traces_matching_best_static"] <= results["traces_total"]


@pytest.mark.parametrize("parameters", BATCHING_SETS, ids=ids)
def test_batching_verdicts_say_what_the_numbers_say(reruns, parameters):
    results, values = batching_run(reruns, parameters)
    everywhere = results["traces_meeting_target"] == results["traces_total"]
    assert ("on every one of the traces" in results["target_verdict"]) == everywhere
    if not everywhere:
        assert f"on {results['traces_meeting_target']} of {results['traces_total']} traces" \
            in results["target_verdict"]
    enough = results["traces_static_enough"] == results["traces_total"]
    assert ("It misses on" in results["static_verdict"]) == (not enough)
    overloaded = values["steady_rps"] * values["spike_multiplier"] > results["max_capacity_rps"]
    assert ("exceed" in results["trap_verdict"]) == overloaded
    for policy, name in (("controller", "controller"), ("aimd", "AIMD (Clipper)"),
                         ("single_static", "single static")):
        load = results[f"sustainable_load_{policy}"]
        shown = ("below 0.25×" if load == 0 else "at least 4×" if load >= 4
                 else f"{load:.2f}×")
        assert f"{name} {shown}" in results["capacity_verdict"]


# --- Chapter 4: compression -------------------------------------------------------------------

CNN = "@cnn"  # replaced by a small CNN exported to ONNX for the session (tests/onnx_fixtures)
COMPRESSION_SETS: list[dict] = [
    {},
    # The exercises, each on the variants it asks about.
    {"sparsity": 0.5, "variants": ["prune_unstructured_90"]},
    {"student_units": 64, "threads": 1,
     "variants": ["distilled", "distilled_int8", "int8_dynamic", "int8_static", "fp16"]},
    # A reader's own model: the variants that need training are skipped, with the reason.
    {"model_path": CNN, "input_shape": [1, 28, 28]},
    # Any subset, the baseline alone included; and the ends of the ranges.
    {"variants": ["fp32"], "max_accuracy_drop": 1.0, "latency_target_fraction": 1.0,
     "epochs": 1},
    {"hidden_units": 1, "student_units": 1, "epochs": 1, "fine_tune_epochs": 1,
     "sparsity": 0.0, "keep_fraction": 1.0, "temperature": 0.01, "alpha": 0.0,
     "max_accuracy_drop": 0.0, "decode_ms": 0.0, "network_ms": 0.0, "preprocess_ms": 0.0,
     "postprocess_ms": 0.0, "request_rate_rps": 1e6, "instance_hourly_usd": 1000.0,
     "seed": 2**32 - 1, "variants": ["prune_structured_50", "distilled_int8", "int8_static"]},
]
TRAINED = ("prune_unstructured_90", "prune_structured_50", "distilled", "distilled_int8")


def published_compression(root: Path) -> dict:
    """The glued results of the book's executed chapter 4, as a re-run's JSON holds them."""
    import nbformat

    from perfcost.book.results import glued_results

    notebook = nbformat.read(root / "analyses" / "compression.ipynb", as_version=4)
    return json.loads(json.dumps(glued_results(notebook)))


def compression_parameters(reruns, parameters: dict) -> dict:
    """``parameters`` with the CNN placeholder replaced by the path of one built once."""
    if parameters.get("model_path") != CNN:
        return parameters
    from onnx_fixtures import small_cnn_onnx

    path = reruns.folder / "cnn.onnx"
    if not path.exists():
        small_cnn_onnx(path)
    return {**parameters, "model_path": str(path)}


def compression_run(reruns, parameters: dict) -> tuple[dict, dict, list[str]]:
    """Results, the parameters run with (defaults filled) and the variants measured."""
    defaults = {name: p.default for name, p in
                chapter_parameters(reruns.chapters["compression"]).items()}
    values = {**defaults, **compression_parameters(reruns, parameters)}
    if parameters:
        results = reruns.results("compression", compression_parameters(reruns, parameters))
    else:  # the defaults: the book's executed chapter (nbval re-executes it on every run)
        results = published_compression(reruns.root)
    built = [name for name in ("fp32", *values["variants"], "student_scratch")
             if f"{name}_throughput_rps" in results]
    return results, values, list(dict.fromkeys(built))


@pytest.mark.parametrize("parameters", COMPRESSION_SETS, ids=ids)
def test_compression_runs_builds_what_was_asked_and_prices_it(reruns, parameters):
    results, values, built = compression_run(reruns, parameters)
    finite_numbers(results)
    trained = [v for v in values["variants"] if v in TRAINED]
    expected = {"fp32", *values["variants"]} - (set(trained) if values["model_path"] else set())
    assert expected <= set(built)
    for name in built:  # the published names, and every priced bill
        for field in ("accuracy", "size_bytes", "latency_p50_ms", "latency_p95_ms",
                      "throughput_rps", "monthly_usd"):
            assert f"{name}_{field}" in results, (name, field)
        assert (results[f"{name}_throughput_low_rps"] <= results[f"{name}_throughput_rps"]
                <= results[f"{name}_throughput_high_rps"])
        assert 0 <= results[f"{name}_accuracy"] <= 1
    assert results["fp32_throughput_gain"] == 1.0
    by_gain = sorted(built, key=lambda n: results[f"{n}_throughput_gain"])
    bills = [results[f"{n}_monthly_usd"] for n in by_gain]
    assert all(a >= b - 1e-9 for a, b in itertools.pairwise(bills))  # a gain never costs more


@pytest.mark.parametrize("parameters", COMPRESSION_SETS, ids=ids)
def test_compression_prose_says_what_was_built(reruns, parameters):
    results, values, built = compression_run(reruns, parameters)
    skipped = [v for v in values["variants"] if v in TRAINED] if values["model_path"] else []
    assert ("Every requested variant was built" in results["skipped_text"]) == (not skipped)
    assert all(name in results["skipped_text"] for name in skipped)
    for names, key in ((("int8_dynamic", "int8_static"), "quantization_text"),
                       (("fp16",), "fp16_text"), (("prune_unstructured_90",), "pruning_text"),
                       (("prune_structured_50",), "structured_text"),
                       (("distilled", "distilled_int8"), "distillation_text")):
        assert ("not built" in results[key]) == (not set(names) & set(built)), key
    if "prune_unstructured_90" in built:  # the label says the sparsity actually used
        assert f"With {values['sparsity']:.0%} of weights zeroed" in results["pruning_text"]
    assert results["first_choice"] in {*built, "none of them"} - {"fp32", "student_scratch"}
    assert ("measured on your model" in results["pricing_text"]) == bool(values["model_path"])
    assert ("top-1 agreement" in results["model_text"]) == bool(values["model_path"])


# --- Chapter 5: design ------------------------------------------------------------------------

DESIGN_CONTRACT = {
    "instance_type", "instances_peak", "instances_average", "instance_hours_month",
    "compute_monthly_usd", "egress_gb_month", "egress_monthly_usd", "total_monthly_usd",
    "within_budget", "budget_headroom_usd", "p95_ms_at_peak", "slo_attainment_day",
    "autoscaling_policy", "cheapest_fix"}
DESIGN_DOUBLED = {"peak_qps": 20_000.0}
DESIGN_SETS: list[dict] = [
    {},
    DESIGN_DOUBLED,  # doubling the peak: the total at most a little over 2x
    # The README's example (the heavier model), and a cache that may pay (exercise 3).
    {"peak_qps": 50_000.0, "model": "bert_large", "budget_usd_month": 8_000.0},
    # A budget too small for any design; an SLO no design meets; range ends.
    {"budget_usd_month": 50.0, "peak_to_average": 2.0, "startup_delay_s": 3_600.0,
     "max_utilization": 0.01},
    {"p95_slo_ms": 1.0, "cache_hit_rate": 0.0, "max_wait_ms": 0.0, "peak_to_average": 1.0},
    {"peak_qps": 1e6, "model": "mlp_int8", "utilization_target": 1.0, "max_utilization": 1.0,
     "cache_hit_rate": 0.6, "seed": 2**32 - 1},
]


def design_run(reruns, parameters: dict) -> tuple[dict, dict]:
    """The results of a design re-run and the parameters it ran with (defaults filled)."""
    defaults = {name: p.default for name, p in
                chapter_parameters(reruns.chapters["design"]).items()}
    return reruns.results("design", parameters), {**defaults, **parameters}


@pytest.mark.parametrize("parameters", DESIGN_SETS, ids=ids)
def test_design_publishes_its_contract_and_the_bill_adds_up(reruns, parameters):
    results, values = design_run(reruns, parameters)
    finite_numbers(results)
    assert DESIGN_CONTRACT <= set(results)
    total = results["total_monthly_usd"]
    parts = results["compute_monthly_usd"] + results["egress_monthly_usd"]
    assert total >= parts - 1e-6 * total
    assert results["within_budget"] is (total <= values["budget_usd_month"])
    assert results["budget_headroom_usd"] == pytest.approx(values["budget_usd_month"] - total)
    assert results["instances_peak"] >= results["instances_average"] >= 1


@pytest.mark.parametrize("parameters", DESIGN_SETS, ids=ids)
def test_design_egress_follows_the_average_rate(reruns, parameters):
    results, values = design_run(reruns, parameters)
    average_qps = values["peak_qps"] / values["peak_to_average"]
    gb = average_qps * values["response_kb"] * HOURS_PER_MONTH * 3600 / 1e6
    assert results["egress_gb_month"] == pytest.approx(gb, rel=1e-9)


@pytest.mark.parametrize("parameters", DESIGN_SETS, ids=ids)
def test_design_verdicts_say_what_the_numbers_say(reruns, parameters):
    results, values = design_run(reruns, parameters)
    assert (results["cheapest_fix"] == "") is results["within_budget"]
    assert ("within the" in results["budget_verdict"]) is results["within_budget"]
    if results["meets_slo"]:
        assert results["p95_ms_at_peak"] <= values["p95_slo_ms"]
        assert results["slo_attainment_day"] >= values["slo_attainment_target"]
        assert results["slo_verdict"].startswith("meets")
    else:
        assert results["slo_verdict"].startswith("misses")
    assert results["instance_type"] in results["design_text"]
    assert results["autoscaling_policy"] in results["policy_verdict"]


def test_design_doubling_the_peak_at_most_doubles_the_total(reruns):
    base, _ = design_run(reruns, {})
    doubled, _ = design_run(reruns, DESIGN_DOUBLED)
    assert base["total_monthly_usd"] <= doubled["total_monthly_usd"]
    assert doubled["total_monthly_usd"] <= 2.2 * base["total_monthly_usd"]


def test_design_over_budget_names_a_fix_or_says_none_fits(reruns):
    results, _ = design_run(reruns, DESIGN_SETS[3])
    assert not results["within_budget"]
    assert results["cheapest_fix"]


def test_design_an_slo_below_the_network_is_reported_not_raised(reruns):
    results, _ = design_run(reruns, DESIGN_SETS[4])
    assert results["meets_slo"] is False
