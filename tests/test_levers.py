"""Cost levers: each change checked by its field's rule, named with its values, and why one
saves nothing."""

from dataclasses import replace

import pytest
from cost_fixtures import QUESTION, levers

from perfcost.levers import (
    EXCLUSIVE,
    FLEET_LEVERS,
    LEVER_ORDER,
    Lever,
    compatible,
    ineffective_reason,
)
from perfcost.validation import ParameterError


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"spot_share": 1.5}, r"spot_share must be a number in \[0, 1\)"),
        ({"commitment_discount": -0.1}, "commitment_discount must be"),
        ({"response_compression_ratio": 0.5}, "response_compression_ratio must be"),
        ({"throughput_gain": 0}, "throughput_gain must be"),
    ],
)
def test_bad_lever_inputs_are_named(changes, message):
    with pytest.raises(ParameterError, match=message):
        levers(**changes)


def test_lever_names_show_their_checked_values():
    names = {lever.key: lever.name for lever in levers()}
    assert names == {
        "cache": "answer 0% of requests from a cache",
        "throughput": "raise per-instance throughput 1x",
        "autoscale": "autoscale to the diurnal curve",
        "spot": "run 40% of instances on spot (50% off)",
        "commitment": "commit to the always-on floor (28% off)",
        "compression": "compress responses 3:1",
        "tiering": "archive 75% of model storage",
    }
    # Whole numbers name a lever as their floats do.
    assert [lever.name for lever in levers(throughput_gain=2, response_compression_ratio=3)] \
        == [lever.name for lever in levers(throughput_gain=2.0)]
    # A name is filled in once: replacing a field keeps it.
    assert replace(levers()[0], effort=3).name == names["cache"]


@pytest.mark.parametrize("name", ["answer {colour} of requests", "answer {cache_hit_rate:d}",
                                  "answer {0}"])
def test_a_name_naming_no_change_is_refused(name):
    with pytest.raises(ParameterError, match=r"^name must be a description whose braces"):
        Lever("cache", name, (("cache_hit_rate", 0.1),), 1, 1, 1)


@pytest.mark.parametrize("bad", ["40%", None, 1.0])
def test_a_lever_input_is_checked_once_by_its_own_name(bad):
    with pytest.raises(ParameterError, match=r"^spot_share must be"):
        levers(spot_share=bad)


def test_the_seven_levers_in_the_planners_order_with_their_ratings():
    built = levers()
    assert [lever.key for lever in built] == [key for key in LEVER_ORDER if key != "rightsize"]
    ratings = {lever.key: (lever.effort, lever.slo_risk, lever.irreversibility)
               for lever in built}
    assert ratings == {"cache": (2, 1, 1), "throughput": (3, 2, 2), "autoscale": (2, 2, 1),
                       "spot": (2, 3, 1), "commitment": (1, 1, 3), "compression": (1, 1, 1),
                       "tiering": (1, 1, 1)}
    assert {lever.key: lever.risk_score for lever in built}["commitment"] == 5
    assert set(FLEET_LEVERS) <= set(LEVER_ORDER)


def test_a_lever_changes_only_its_own_fields():
    spot = next(lever for lever in levers() if lever.key == "spot")
    pulled = spot.apply(QUESTION)
    assert (pulled.spot_share, pulled.spot_discount) == (0.4, 0.5)
    assert replace(pulled, spot_share=0.0, spot_discount=0.0) == QUESTION


def test_only_an_exclusive_pair_is_incompatible():
    rightsize = Lever("rightsize", "move to another type", (("instance_hourly_usd", 1.0),),
                      2, 2, 1)
    gain = next(lever for lever in levers() if lever.key == "throughput")
    assert EXCLUSIVE == (frozenset({"rightsize", "throughput"}),)
    assert compatible([]) and compatible(levers()) and compatible([rightsize])
    assert not compatible([rightsize, gain])


@pytest.mark.parametrize(("key", "changes", "reason"), [
    ("commitment", dict(commitment_discount=0.0), "a 0% discount"),
    ("compression", dict(response_compression_ratio=1.0), "1:1 compresses nothing"),
    ("spot", dict(spot_discount=0.0), "no share or no discount"),
    ("spot", dict(spot_share=0.1), "the share is less than one whole instance"),
    ("tiering", {}, "it removes nothing the bill charges for at these inputs"),
])
def test_each_reason_a_lever_saves_nothing(key, changes, reason):
    lever = next(lever for lever in levers(**changes) if lever.key == key)
    assert ineffective_reason(lever, QUESTION) == reason
