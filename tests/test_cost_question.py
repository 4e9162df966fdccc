"""Chapter 2's question object: the chapter's defaults, its refusals by parameter name, the
service it prices, the cited figures it fills in, and the pricing table chapter 4 uses."""

import math
from dataclasses import fields, replace
from pathlib import Path

import nbformat
import pytest

from perfcost.capacity import HOURS_PER_MONTH
from perfcost.cost import (
    FIELD_CHECKS,
    CostQuestion,
    InferenceService,
    bills_for_gains,
    fleet_for,
    monthly_bill,
    without_levers,
)
from perfcost.pricing import load_catalog
from perfcost.validation import ParameterError

CATALOG = load_catalog()
NOTEBOOK = Path(__file__).resolve().parents[1] / "analyses" / "cost.ipynb"


def _notebook_defaults() -> dict:
    """The cost chapter's parameters cell, executed."""
    cells = nbformat.read(NOTEBOOK, as_version=4).cells
    cell = next(c for c in cells if "parameters" in c.metadata.get("tags", []))
    namespace = {}
    exec(cell.source, namespace)
    return {f.name: namespace[f.name] for f in fields(CostQuestion)}


def test_the_default_question_is_the_chapters_and_has_its_23_parameters():
    defaults = _notebook_defaults()
    assert len(defaults) == 23
    assert CostQuestion() == CostQuestion(**defaults)
    assert CostQuestion().hours_per_month == HOURS_PER_MONTH == 730.0


def test_values_are_converted_and_kept():
    question = CostQuestion(request_rate_rps=200, throughput_gain=0, book_root="")
    assert question.request_rate_rps == 200.0 and isinstance(question.request_rate_rps, float)
    assert question.throughput_gain == 0.0


@pytest.mark.parametrize(("name", "bad", "valid"), [
    ("request_rate_rps", 0, r"\(0, 1e\+06\]"),
    ("hours_per_month", 671.0, r"\[672, 744\]"),
    ("peak_to_average", 2.5, r"\[1, 2\]"),
    ("utilization_target", 0.005, r"\[0.01, 1\]"),
    ("savings_target", 1.0, r"\[0, 1\)"),
    ("commitment_discount", 1.0, r"\[0, 1\)"),
    ("spot_share", -0.1, r"\[0, 1\)"),
    ("cache_hit_rate", 1.0, r"\[0, 1\)"),
    ("response_compression_ratio", 0.5, r"\[1, 1000\]"),
    ("archived_storage_fraction", 1.5, r"\[0, 1\]"),
    ("throughput_gain", 0.001,
     r"0 \(the gain chapter 4 measured\) or a number in \[0.01, 1000\]"),
    ("throughput_gain", True, r"0 \(the gain chapter 4 measured\)"),
    ("block_storage_gb_per_instance", 16_001, r"\[0, 16000\]"),
    ("archive_storage_class", None, "text"),
    ("price_catalog_path", 3, "text"),
    ("book_root", ["a"], "text"),
])
def test_a_bad_value_is_refused_by_its_parameter_name(name, bad, valid):
    with pytest.raises(ParameterError, match=rf"^{name} must be (a number in )?{valid}") as refused:
        CostQuestion(**{name: bad})
    assert refused.value.name == name


@pytest.mark.parametrize(("name", "bad"), [("request_kb", -1.0), ("eu_egress_fraction", 1.1),
                                           ("instance_throughput_rps", 0.0),
                                           ("spot_discount", 1.0)])
def test_a_service_field_is_refused_by_the_services_own_rule(name, bad):
    with pytest.raises(ParameterError) as by_question:
        CostQuestion(**{name: bad})
    with pytest.raises(ParameterError) as by_service:
        FIELD_CHECKS[name](name, bad)
    assert str(by_question.value) == str(by_service.value)


def test_the_service_is_the_question_with_no_lever_pulled():
    question = CostQuestion(request_rate_rps=700.0, peak_to_average=1.5, cache_hit_rate=0.2)
    service = question.service
    assert service == without_levers(service)
    assert service == InferenceService(700.0, 50.0, 10.0, 0.3, 2.5, 100.0, 200.0, 0.02,
                                       HOURS_PER_MONTH, 1.5)
    assert fleet_for(service).peak_instances == math.ceil(700 * 1.5 / 100)


def test_the_catalog_and_the_archive_class():
    question = CostQuestion()
    assert question.catalog() == CATALOG
    assert question.archive(CATALOG) == CATALOG.storage_class("glacier_instant_retrieval")
    with pytest.raises(ParameterError, match=r"^archive_storage_class must be one of"):
        CostQuestion(archive_storage_class="tape").archive(CATALOG)
    with pytest.raises(ParameterError, match=r"^catalog must be a Catalog"):
        question.archive("aws.yaml")


def test_lever_inputs_fill_each_zero_with_its_cited_figure():
    inputs = CostQuestion().lever_inputs(CATALOG, measured_gain=1.25)
    assert inputs == {
        "commitment_discount": CATALOG.discount("commitment_1yr").low,
        "spot_share": 0.4,
        "spot_discount": CATALOG.discount("spot").low,
        "throughput_gain": 1.25,
        "cache_hit_rate": 0.0,
        "response_compression_ratio": 3.0,
        "archived_storage_fraction": 0.75,
        "archive_usd_per_gb_month": CATALOG.storage_class("glacier_instant_retrieval").usd,
    }


def test_lever_inputs_keep_the_values_given():
    question = CostQuestion(commitment_discount=0.2, spot_discount=0.6, throughput_gain=2.0)
    inputs = question.lever_inputs(CATALOG, measured_gain=9.0)  # a given gain wins
    assert (inputs["commitment_discount"], inputs["spot_discount"],
            inputs["throughput_gain"]) == (0.2, 0.6, 2.0)
    assert question.lever_inputs(CATALOG) == inputs


@pytest.mark.parametrize("measured", [None, 0.0, math.nan, "1.5"])
def test_a_zero_gain_needs_a_measured_one(measured):
    with pytest.raises(ParameterError, match=r"^measured_gain must be a number in \[0.01, 1000\]"):
        CostQuestion().lever_inputs(CATALOG, measured_gain=measured)


def test_the_question_is_frozen():
    with pytest.raises(AttributeError):
        CostQuestion().request_rate_rps = 1.0  # type: ignore[misc]


# --- The pricing table chapter 4 uses ---------------------------------------------------------

def test_bills_for_gains_by_hand():
    service = CostQuestion().service
    bills = bills_for_gains(service, {"fp32": 1.0, "twice": 2.0, "slower": 0.5}, CATALOG)
    assert list(bills.index) == ["fp32", "twice", "slower"]
    # ceil(500 / (100 x gain)) instances: 5, 3 and 10.
    assert list(bills["instances"]) == [5, 3, 10]
    assert list(bills["throughput_gain"]) == [1.0, 2.0, 0.5]
    for name, gain in (("fp32", 1.0), ("twice", 2.0), ("slower", 0.5)):
        expected = monthly_bill(replace(service, throughput_gain=gain), CATALOG).total_usd
        assert bills.loc[name, "monthly_usd"] == expected
    # Only compute changes: two instances fewer at $2.5 an hour for 730 hours.
    assert bills.loc["fp32", "monthly_usd"] - bills.loc["twice", "monthly_usd"] == \
        pytest.approx(2 * 2.5 * 730)


def test_the_question_refuses_an_archive_class_the_catalog_lacks_on_construction():
    with pytest.raises(ParameterError, match=r"^archive_storage_class must be one of"):
        CostQuestion(archive_storage_class="tape")
