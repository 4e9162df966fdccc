"""The shipped price catalog against its own sources: every figure sourced, dated, and inside what
its source says.

Each entry records ``quoted``: the source's own figure, a [low, high] range, or the quoted prices
a discount range is derived from. These tests read the YAML as written (not through the loader)
and fail on an entry without a listed source, without a date, without a quote, or with a value
outside its quote. The checker is tried on broken entries too, so it can fail.
"""

from __future__ import annotations

import copy
import datetime
import math
from pathlib import Path

import nbformat
import pytest
import yaml

from perfcost.book.results import glued_results
from perfcost.pricing import load_catalog

SHIPPED = load_catalog().path
BOOK = Path(__file__).resolve().parents[1]
ROUNDING = 5e-4  # a range may be stated to three decimals
PRICED = ("transfer", "storage", "block_storage", "load_balancer")


@pytest.fixture(scope="module")
def raw() -> dict:
    return yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))


def _bounds(quoted) -> tuple[float, float]:
    """The smallest and largest number in a quote: a number, or a list of numbers."""
    values = quoted if isinstance(quoted, list) else [quoted]
    return min(values), max(values)


def _within(value: float, quoted, tolerance: float = 1e-9) -> bool:
    low, high = _bounds(quoted)
    return low - tolerance <= value <= high + tolerance


def _derived_discounts(quoted: dict) -> list[float]:
    """1 − price / on-demand for every quoted price (RIs), or the quoted savings (spot)."""
    found = []
    for prices in quoted.values():
        if "savings" in prices:
            found.append(prices["savings"])
        else:
            found += [1 - p / prices["on_demand"] for k, p in prices.items() if k != "on_demand"]
    return found


def _entries(raw: dict):
    """(name, entry, what it claims: {field: value}) for every sourced entry of the catalog."""
    for name, entry in raw["instances"].items():
        yield f"instances.{name}", entry, {"hourly_usd": entry.get("hourly_usd")}
    for section in PRICED:
        for name, entry in raw[section].items():
            yield f"{section}.{name}", entry, {"usd": entry.get("usd")}
    for name, entry in raw["load_balancer_capacity_unit"].items():
        yield f"load_balancer_capacity_unit.{name}", entry, {"value": entry.get("value")}
    for name, entry in raw["discounts"].items():
        yield f"discounts.{name}", entry, {"low": entry.get("low"), "high": entry.get("high")}
    for workload, table in raw.get("workloads", {}).items():
        for name, entry in table.items():
            yield (f"workloads.{workload}.{name}", entry,
                   {k: entry.get(k) for k in ("throughput_rps", "latency_ms")})
    for name, entry in raw.get("cache_nodes", {}).items():
        yield f"cache_nodes.{name}", entry, {"hourly_usd": entry.get("hourly_usd")}
        if entry.get("ops_per_s") is not None:  # its own source, date and quote
            ops = {"source": entry.get("ops_source"), "as_of": entry.get("ops_as_of")}
            if "ops_quoted" in entry:
                ops["quoted"] = entry["ops_quoted"]
            yield f"cache_nodes.{name}.ops_per_s", ops, {"ops_per_s": entry["ops_per_s"]}
    for name, entry in raw.get("latencies", {}).items():
        yield f"latencies.{name}", entry, dict(entry.get("quantiles") or {})
    yield "internet_egress", raw["internet_egress"], {}


def _problems_of(name: str, entry: dict, claims: dict, sources: dict) -> list[str]:
    if entry.get("source") not in sources:
        return [f"{name}: no source listed under 'sources'"]
    if not isinstance(entry.get("as_of"), datetime.date):
        return [f"{name}: no date (as_of)"]
    if "quoted" not in entry:
        return [f"{name}: no quote of what its source says"]
    quoted = entry["quoted"]
    if name.startswith("discounts."):
        derived = _derived_discounts(quoted)
        return [f"{name}: {field} {value} outside {min(derived):.4f}..{max(derived):.4f}"
                for field, value in claims.items()
                if not _within(value, [min(derived), max(derived)], ROUNDING)]
    if name == "internet_egress":
        prices = [tier["usd_per_gb"] for tier in entry["tiers"]]
        return [] if prices == quoted else [f"{name}: tier prices {prices} != quoted {quoted}"]
    if isinstance(quoted, dict):
        return [f"{name}: {field} {value} outside its quote {quoted.get(field)}"
                for field, value in claims.items()
                if field not in quoted or not _within(value, quoted[field])]
    return [f"{name}: {field} {value} outside its quote {quoted}"
            for field, value in claims.items() if not _within(value, quoted)]


def problems(raw: dict) -> list[str]:
    """Every entry without a source, a date or a quote, or with a value outside its quote."""
    sources = raw["sources"]
    found = []
    for name, entry, claims in _entries(raw):
        found += _problems_of(name, entry, claims, sources)
    return found


def test_every_entry_has_a_source_a_date_and_a_value_its_source_gives(raw):
    assert problems(raw) == []


def test_every_source_has_a_title_and_a_web_address(raw):
    for key, source in raw["sources"].items():
        assert source["title"].strip(), key
        assert source["url"].startswith("https://"), key


def test_every_listed_source_is_used(raw):
    used = {entry["source"] for _, entry, _ in _entries(raw)}
    assert used == set(raw["sources"])


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda d: d["instances"]["g5.xlarge"].update(hourly_usd=0.9),
         "instances.g5.xlarge: hourly_usd 0.9 outside its quote 1.006"),
        (lambda d: d["instances"]["g5.xlarge"].pop("source"),
         "instances.g5.xlarge: no source"),
        (lambda d: d["storage"]["standard"].pop("as_of"), "storage.standard: no date"),
        (lambda d: d["block_storage"]["gp3"].pop("quoted"), "block_storage.gp3: no quote"),
        # The review's finding: a 1-yr low end of 0.28 is in none of the quoted prices.
        (lambda d: d["discounts"]["commitment_1yr"].update(low=0.28),
         "discounts.commitment_1yr: low 0.28 outside 0.3700..0.4121"),
        (lambda d: d["discounts"]["spot"].update(high=0.70),
         "discounts.spot: high 0.7 outside 0.5600..0.6000"),
        (lambda d: d["internet_egress"]["tiers"].pop(0),
         "internet_egress: tier prices [0.09, 0.085, 0.07, 0.05] != quoted"),
        # The review's finding: 888/s (Triton FP16, batch 8) is not the MLPerf Server figure.
        (lambda d: d["workloads"]["image_classification"]["g4dn.xlarge"].update(
            throughput_rps=888.0),
         "workloads.image_classification.g4dn.xlarge: throughput_rps 888.0 outside"),
        (lambda d: d["load_balancer_capacity_unit"]["new_connections_per_s"].update(source="x"),
         "load_balancer_capacity_unit.new_connections_per_s: no source"),
        (lambda d: d["cache_nodes"]["cache.m4.large"].update(hourly_usd=0.126),
         "cache_nodes.cache.m4.large: hourly_usd 0.126 outside its quote"),
        (lambda d: d["cache_nodes"]["cache.m4.large"].update(ops_per_s=58411.0),
         "cache_nodes.cache.m4.large.ops_per_s: no source"),
        (lambda d: d["latencies"]["cache_get"]["quantiles"].update(p99=0.9),
         "latencies.cache_get: p99 0.9 outside its quote"),
        (lambda d: d["latencies"]["rtt_cross_az"]["quantiles"].update(p95=1.0),
         "latencies.rtt_cross_az: p95 1.0 outside its quote"),
        (lambda d: d["latencies"]["rtt_same_az"].pop("as_of"), "latencies.rtt_same_az: no date"),
        (lambda d: d["workloads"]["text_classification"]["inf2.xlarge"].update(
            throughput_rps=3371.256),
         "workloads.text_classification.inf2.xlarge: throughput_rps 3371.256 outside"),
    ],
    ids=["price", "no-source", "no-date", "no-quote", "commitment-low", "spot-high",
         "free-tier-dropped", "throughput", "unknown-source", "cache-price", "cache-ops-unsourced",
         "cache-get-p99", "unquoted-quantile", "latency-no-date", "bert-base-for-bert-large"],
)
def test_the_checker_catches_each_fault(raw, edit, expected):
    broken = copy.deepcopy(raw)
    edit(broken)
    assert any(problem.startswith(expected) for problem in problems(broken)), problems(broken)


def test_the_corrected_ranges_are_the_sources_own():
    catalog = load_catalog()
    one_year, three_years = catalog.discount("commitment_1yr"), catalog.discount("commitment_3yr")
    # No upfront is the low end: g5.xlarge 1 − 0.63378 / 1.006 = 0.37, 1 − 0.43459 / 1.006 = 0.568.
    assert one_year.low == pytest.approx(1 - 0.63378 / 1.006, abs=ROUNDING)
    assert three_years.low == pytest.approx(1 - 0.43459 / 1.006, abs=ROUNDING)
    assert (catalog.discount("spot").low, catalog.discount("spot").high) == (0.56, 0.60)
    assert catalog.internet_egress[0].usd_per_gb == 0 and catalog.internet_egress_as_of == \
        datetime.date(2026, 3, 8)


def test_the_chapter_reads_its_discounts_from_the_catalog():
    """Chapter 2's defaults (0) mean the catalog's low ends; its executed notebook says so."""
    catalog = load_catalog()
    results = glued_results(nbformat.read(BOOK / "analyses" / "cost.ipynb", as_version=4))
    assert results["commitment_discount"] == catalog.discount("commitment_1yr").low
    assert results["spot_discount"] == catalog.discount("spot").low
    assert results["commitment_1yr_low"] == catalog.discount("commitment_1yr").low
    assert results["spot_high"] == catalog.discount("spot").high
    assert results["egress_first_tier_usd_per_gb"] == 0.09  # the first paid tier
    assert math.isclose(results["egress_free_gb"], 100)


def test_every_nvidia_card_is_on_one_benchmark_basis(raw):
    """MLPerf Server for every NVIDIA card, a multi-GPU result divided by its GPU count;
    precision, latency statistic and scenario stated for every figure (a review found a T4
    figure from another benchmark that flipped the recommendation)."""
    catalog = load_catalog()
    for name, entry in raw["workloads"]["image_classification"].items():
        figure = catalog.workload("image_classification")[name]
        assert figure.precision and figure.latency_statistic and figure.scenario, name
        if "NVIDIA" in catalog.instance(name).accelerator:
            assert (figure.scenario, figure.latency_statistic) == ("MLPerf Server", "p99"), name
            quoted = entry["quoted"]
            per_gpu = quoted["system_samples_per_s"] / quoted["gpus"]
            assert figure.throughput_rps == pytest.approx(per_gpu, abs=0.05), name  # 1 decimal
    t4 = raw["workloads"]["image_classification"]["g4dn.xlarge"]["quoted"]
    assert (t4["system_samples_per_s"], t4["gpus"]) == (44504.81, 8)
    assert "upper bound" in catalog.workload("image_classification")["g5.xlarge"].setup


def test_benchmark_figures_carry_their_publication_date():
    catalog = load_catalog()
    dates = {name: figure.as_of
             for name, figure in catalog.workload("image_classification").items()}
    assert dates == {"g4dn.xlarge": datetime.date(2020, 10, 21),
                     "g5.xlarge": datetime.date(2021, 9, 22),
                     "g6.xlarge": datetime.date(2023, 4, 5),
                     "inf2.xlarge": datetime.date(2024, 1, 2)}
    unit = catalog.load_balancer_capacity_unit["new_connections_per_s"]
    assert unit.as_of == datetime.date(2026, 5, 1)  # "Published May 2026"


def test_every_nvidia_card_runs_text_classification_on_one_basis(raw):
    """BERT: MLPerf BERT-99 Server (BERT-large) for every NVIDIA card, per GPU; Inferentia2 on
    the same model size, its setup saying what differs (sequence length, no MLPerf)."""
    catalog = load_catalog()
    table = raw["workloads"]["text_classification"]
    assert set(table) == {"g4dn.xlarge", "g5.xlarge", "g6.xlarge", "inf2.xlarge"}
    for name, entry in table.items():
        figure = catalog.workload("text_classification")[name]
        if "NVIDIA" in catalog.instance(name).accelerator:
            assert (figure.scenario, figure.latency_statistic) == ("MLPerf Server", "p99"), name
            assert "BERT-large" in figure.setup, name
            per_gpu = entry["quoted"]["system_samples_per_s"] / entry["quoted"]["gpus"]
            assert figure.throughput_rps == pytest.approx(per_gpu, abs=0.005), name  # 2 decimals
    inf2 = catalog.workload("text_classification")["inf2.xlarge"]
    assert "bert-large" in inf2.setup and "seq 128" in inf2.setup and inf2.batch == 8
    assert "upper bound" in catalog.workload("text_classification")["g5.xlarge"].setup
    assert {n: f.as_of for n, f in catalog.workload("text_classification").items()} == {
        "g4dn.xlarge": datetime.date(2020, 10, 21), "g5.xlarge": datetime.date(2021, 9, 22),
        "g6.xlarge": datetime.date(2023, 4, 5), "inf2.xlarge": datetime.date(2024, 1, 2)}


def test_cache_node_prices_are_the_quoted_monthly_cost_over_its_hours(raw):
    for name, entry in raw["cache_nodes"].items():
        quoted = entry["quoted"]
        assert entry["hourly_usd"] == pytest.approx(quoted["monthly_usd"] / quoted["hours"],
                                                    abs=ROUNDING), name
        assert entry["vcpus"] is None and entry["memory_gib"] is None, name  # source is silent


def test_latency_extremes_are_the_sources_own_minimum_and_maximum(raw):
    """p0 / p100 of the ping figures are the smallest minimum and largest maximum quoted."""
    for name in ("rtt_same_az", "rtt_cross_az"):
        entry = raw["latencies"][name]
        assert entry["quantiles"]["p0"] == min(entry["quoted"]["min_ms"]), name
        assert entry["quantiles"]["p100"] == max(entry["quoted"]["max_ms"]), name
    catalog = load_catalog()
    same, cross = catalog.latencies["rtt_same_az"], catalog.latencies["rtt_cross_az"]
    assert same.quantiles["p100"] < cross.quantiles["p0"]  # one zone is faster, in this sample
    assert catalog.latencies["cache_get"].quantiles == {"p50": 0.423, "p99": 1.287}
    assert catalog.latencies["cache_get"].as_of == datetime.date(2026, 3, 29)
