"""Right-sizing, the fuller bill (load balancer, disks), and figures cited from other chapters."""

import math
from dataclasses import replace
from pathlib import Path

import nbformat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perfcost.cost import InferenceService, fleet_for, monthly_bill
from perfcost.full_bill import full_monthly_bill, load_balancer_use
from perfcost.measured import compression_throughput_gain
from perfcost.pricing import load_catalog
from perfcost.results import glued_results
from perfcost.rightsizing import options_table, rightsize_lever, rightsizing_options
from perfcost.validation import ParameterError

CATALOG = load_catalog()
BOOK = Path(__file__).resolve().parents[1]
QUESTION = InferenceService(
    request_rate_rps=500, request_kb=50, response_kb=10, eu_egress_fraction=0.3,
    instance_hourly_usd=2.5, instance_throughput_rps=100, model_storage_gb=200,
    storage_usd_per_gb_month=0.02,
)


# --- Right-sizing -----------------------------------------------------------------------------

def test_the_books_t4_figure_carries_the_question_on_one_instance():
    options = rightsizing_options(QUESTION, CATALOG, 0.7)
    best = options[0]
    assert (best.instance, best.instances) == ("g4dn.xlarge", 1)  # ceil(500 / (888 x 0.7)) = 1
    assert best.usable_rps == pytest.approx(888 * 0.7)
    assert best.compute_monthly_usd == pytest.approx(0.526 * 730)
    assert [o.compute_monthly_usd for o in options] == sorted(o.compute_monthly_usd
                                                              for o in options)


@pytest.mark.parametrize(("rate", "expected"), [(2000, {"g4dn.xlarge": 4, "inf2.xlarge": 1}),
                                                (6000, {"g4dn.xlarge": 10, "inf2.xlarge": 3})])
def test_each_fleet_follows_the_utilization_rule(rate, expected):
    options = {o.instance: o for o in rightsizing_options(
        replace(QUESTION, request_rate_rps=rate), CATALOG, 0.7)}
    for name, count in expected.items():  # ceil(rate / (throughput x 0.7))
        assert options[name].instances == count
        assert count == math.ceil(rate / (options[name].throughput_rps * 0.7))


@settings(max_examples=100, deadline=None)
@given(rate=st.floats(1, 1e5), target=st.floats(0.05, 1.0))
def test_the_lever_prices_the_cheapest_option(rate, target):
    service = replace(QUESTION, request_rate_rps=rate)
    options = rightsizing_options(service, CATALOG, target)
    lever = rightsize_lever(options)
    moved = monthly_bill(lever.apply(service), CATALOG).component_usd("compute")
    assert moved == pytest.approx(min(o.compute_monthly_usd for o in options))
    assert fleet_for(lever.apply(service)).peak_instances == options[0].instances


def test_no_published_figures_means_no_lever():
    assert rightsizing_options(QUESTION, CATALOG, 0.7, workload="speech") == ()
    assert rightsize_lever(()) is None
    assert list(options_table(rightsizing_options(QUESTION, CATALOG, 0.7))["batch"])[-1] \
        == "dynamic"
    with pytest.raises(ParameterError, match=r"utilization_target must be a number in"):
        rightsizing_options(QUESTION, CATALOG, 0)


# --- The fuller bill --------------------------------------------------------------------------

def test_the_load_balancer_by_hand():
    use = load_balancer_use(QUESTION, CATALOG)
    # 500 x 60 kB x 3,600 s = 108 GB an hour: 108 LCUs; 500 new connections/s / 25 = 20.
    assert use.processed_gb_per_hour == pytest.approx(108)
    assert use.lcus_by_dimension == pytest.approx({"processed bytes": 108,
                                                   "new connections": 20})
    assert (use.lcus, use.binding) == (pytest.approx(108), "processed bytes")
    bill = full_monthly_bill(QUESTION, CATALOG, block_storage_gb_per_instance=100)
    assert bill.component_usd("load_balancer") == pytest.approx(730 * (0.0225 + 108 * 0.008))
    assert bill.component_usd("block_storage") == pytest.approx(5 * 100 * 0.08)


def test_small_payloads_bill_the_new_connections():
    use = load_balancer_use(replace(QUESTION, request_kb=0.1, response_kb=0.1), CATALOG)
    assert use.binding == "new connections" and use.lcus == pytest.approx(20)


@settings(max_examples=100, deadline=None)
@given(rate=st.floats(0.01, 1e5), gb=st.floats(0, 16_000), peak=st.floats(1, 2))
def test_the_full_bill_adds_to_the_questions_three_components(rate, gb, peak):
    service = replace(QUESTION, request_rate_rps=rate, peak_to_average=peak)
    question = monthly_bill(service, CATALOG)
    full = full_monthly_bill(service, CATALOG, block_storage_gb_per_instance=gb)
    assert full.items[:len(question.items)] == question.items
    assert full.total_usd == pytest.approx(
        question.total_usd + full.component_usd("load_balancer")
        + full.component_usd("block_storage"))
    assert full.total_usd >= question.total_usd


def test_a_disk_larger_than_gp3_allows_is_refused():
    with pytest.raises(ParameterError, match=r"block_storage_gb_per_instance must be a number "
                                             r"in \[0, 16000\]"):
        full_monthly_bill(QUESTION, CATALOG, block_storage_gb_per_instance=20_000)


# --- Cited from other chapters ------------------------------------------------------------------

def test_the_throughput_gain_is_the_one_chapter_4_glued():
    gain = compression_throughput_gain()
    results = glued_results(nbformat.read(BOOK / "analyses" / "compression.ipynb",
                                          as_version=4))
    assert gain.variant == results["first_choice"]
    assert gain.value == pytest.approx(results[f"{gain.variant}_throughput_rps"]
                                       / results["fp32_throughput_rps"])
    assert gain.notebook == BOOK / "analyses" / "compression.ipynb"


def test_the_gain_is_found_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a re-run executes in its own output folder
    assert compression_throughput_gain().value == compression_throughput_gain(BOOK).value


def test_a_book_without_the_chapter_names_the_parameter(tmp_path):
    (tmp_path / "analyses").mkdir()
    with pytest.raises(ParameterError, match=r"^throughput_gain must be a gain measured in "
                                             r"chapter 4"):
        compression_throughput_gain(tmp_path)


def test_no_qualifying_variant_means_no_gain(tmp_path):
    notebook = nbformat.read(BOOK / "analyses" / "compression.ipynb", as_version=4)
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("metadata", {}).get("scrapbook", {}).get("name") == "first_choice":
                for key in output["data"]:
                    output["data"][key] = "'none of them'"
    (tmp_path / "analyses").mkdir()
    nbformat.write(notebook, tmp_path / "analyses" / "compression.ipynb")
    gain = compression_throughput_gain(tmp_path)
    assert (gain.value, gain.variant) == (1.0, "none of them")


def test_a_gain_between_zero_and_one_is_refused_in_one_line():
    from perfcost.chapters import checked_parameters, find_chapters

    chapter = find_chapters(BOOK)["cost"]
    with pytest.raises(ParameterError, match=r"^throughput_gain must be 0 \(the gain measured "
                                             r"in chapter 4\) or a number in \[1, 100\]"):
        checked_parameters(chapter, {"throughput_gain": 0.5})
    assert checked_parameters(chapter, {"throughput_gain": 0.0}) == {"throughput_gain": 0.0}
