"""Right-sizing, the fuller bill (load balancer, disks), and figures cited from other chapters."""

import math
from dataclasses import replace
from pathlib import Path

import nbformat
import pytest
from cost_fixtures import QUESTION
from hypothesis import given, settings
from hypothesis import strategies as st

from perfcost.book.measured import compression_throughput_gain
from perfcost.book.results import glued_results
from perfcost.cost import fleet_for, monthly_bill
from perfcost.full_bill import full_monthly_bill, load_balancer_use
from perfcost.pricing import load_catalog
from perfcost.rightsizing import options_table, rightsize_lever, rightsizing_options
from perfcost.validation import ParameterError

CATALOG = load_catalog()
BOOK = Path(__file__).resolve().parents[1]


# --- Right-sizing -----------------------------------------------------------------------------

def test_the_t4_mlperf_figure_carries_the_question_on_one_instance_and_a_spare():
    options = rightsizing_options(QUESTION, CATALOG, 0.7)
    best = options[0]
    # ceil(500 / (5563.1 x 0.7)) = 1 at the peak, plus the spare (N+1: never fewer than 2).
    assert (best.instance, best.peak_instances, best.instances) == ("g4dn.xlarge", 1, 2)
    assert best.usable_rps == pytest.approx(5563.1 * 0.7)
    assert best.compute_monthly_usd == pytest.approx(2 * 0.526 * 730)
    assert (best.precision, best.scenario, best.latency_statistic) == (
        "INT8", "MLPerf Server", "p99")
    assert [o.compute_monthly_usd for o in options] == sorted(o.compute_monthly_usd
                                                              for o in options)


@pytest.mark.parametrize(("rate", "expected"), [(2000, {"g4dn.xlarge": 1, "inf2.xlarge": 1}),
                                                (6000, {"g4dn.xlarge": 2, "inf2.xlarge": 3}),
                                                (200_000, {"g4dn.xlarge": 52})])
def test_each_fleet_follows_the_utilization_rule(rate, expected):
    options = {o.instance: o for o in rightsizing_options(
        replace(QUESTION, request_rate_rps=rate), CATALOG, 0.7)}
    for name, count in expected.items():  # ceil(rate / (throughput x 0.7)), plus a spare
        assert options[name].peak_instances == count
        assert options[name].instances == count + 1
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
    assert options[0].instances == options[0].peak_instances + 1 >= 2


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
        question.total_usd + full.component_usd("ingress")
        + full.component_usd("load_balancer") + full.component_usd("block_storage"))
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


def _fork(folder, chapters=("cost", "compression")):
    """A copy of the book's table of contents and the named chapters, in ``folder``."""
    import shutil

    (folder / "analyses").mkdir(parents=True)
    shutil.copy(BOOK / "_toc.yml", folder / "_toc.yml")
    for name in chapters:
        shutil.copy(BOOK / "analyses" / f"{name}.ipynb", folder / "analyses")
    return folder


def test_a_rerun_reads_the_gain_from_the_book_it_ran_from(tmp_path, monkeypatch):
    from perfcost.book.chapters import checked_parameters, find_chapters

    fork = _fork(tmp_path / "fork")
    monkeypatch.chdir(tmp_path)  # not inside either book
    assert checked_parameters(find_chapters(fork)["cost"], {}) == {"book_root": str(fork)}
    # A fork without chapter 4 fails before anything runs, naming the fork, not this checkout.
    (fork / "analyses" / "compression.ipynb").unlink()
    with pytest.raises(ParameterError, match=rf"no chapter notebook at {str(tmp_path)[:20]}"):
        checked_parameters(find_chapters(fork)["cost"], {})
    # An output folder inside a book with an empty analyses/ no longer matters.
    empty = tmp_path / "empty"
    (empty / "analyses").mkdir(parents=True)
    (empty / "_toc.yml").write_text("root: x\n")
    monkeypatch.chdir(empty)
    assert compression_throughput_gain(BOOK).value == compression_throughput_gain(
        str(BOOK)).value


def test_book_root_must_be_a_book(tmp_path):
    from perfcost.book.parameter_types import BookFolder

    assert BookFolder().check("book_root", "") == ""
    assert BookFolder().check("book_root", str(BOOK)) == str(BOOK)
    with pytest.raises(ParameterError, match=r"^book_root must be"):
        BookFolder().check("book_root", str(tmp_path))


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
    from perfcost.book.chapters import checked_parameters, find_chapters

    chapter = find_chapters(BOOK)["cost"]
    with pytest.raises(ParameterError, match=r"^throughput_gain must be 0 \(the gain measured "
                                             r"in chapter 4\) or a number in \[1, 100\]"):
        checked_parameters(chapter, {"throughput_gain": 0.5})
    # The re-run names the book it found the chapter in: the gain is read from that book.
    assert checked_parameters(chapter, {"throughput_gain": 0.0}) == {
        "throughput_gain": 0.0, "book_root": str(BOOK)}


# --- The cheapest option as the chapter reports it (issue 12) -----------------------------------

def test_the_cheapest_option_and_its_figures_by_hand():
    from perfcost.rightsizing import cheapest, cheapest_figures

    options = rightsizing_options(QUESTION, CATALOG, 0.7)
    assert cheapest(options) is options[0]
    assert rightsize_lever(options).changes[0] == ("instance_hourly_usd",
                                                   cheapest(options).hourly_usd)
    figures = cheapest_figures(options, QUESTION)
    assert {k: figures[k] for k in ("instance", "instances", "peak_instances")} == {
        "instance": "g4dn.xlarge", "instances": 2, "peak_instances": 1}
    assert figures["compute_monthly_usd"] == pytest.approx(2 * 0.526 * 730)
    # $2.5/h for 100 requests/s against $0.526/h for 5,563.1 x 0.7.
    assert figures["price_ratio"] == pytest.approx((2.5 / 100) / (0.526 / (5563.1 * 0.7)))


def test_without_an_option_the_figures_are_none_and_zeros():
    from perfcost.rightsizing import cheapest, cheapest_figures

    assert cheapest(()) is None
    assert cheapest_figures((), QUESTION) == {"instance": "none", "instances": 0,
                                              "peak_instances": 0, "compute_monthly_usd": 0.0,
                                              "price_ratio": 1.0}
    with pytest.raises(ParameterError, match=r"^options must be RightSized options"):
        cheapest([None])
    with pytest.raises(ParameterError, match=r"^service must be an InferenceService"):
        cheapest_figures((), None)


def test_an_instance_name_with_braces_names_the_lever_as_it_is():
    option = replace(rightsizing_options(QUESTION, CATALOG, 0.7)[0], instance="g{5}.x}")
    assert rightsize_lever((option,)).name == "move to 2 x g{5}.x} (1 + 1 spare)"
