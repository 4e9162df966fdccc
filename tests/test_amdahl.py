"""Amdahl's law for a model speed-up: hand-computed cases, limits, properties, cited defaults, bad
input refused by name."""

import dataclasses
import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perfcost import amdahl
from perfcost.amdahl import (
    CITED_DEFAULTS_MS,
    CITED_SOURCES,
    MAX_SPEEDUP,
    MIN_SPEEDUP,
    TABLE_COLUMNS,
    RequestPath,
    amdahl_speedup,
    cited_request_path,
    end_to_end_ms,
    end_to_end_table,
    model_share,
    speedup_ceiling,
    surviving_fraction,
)
from perfcost.validation import ParameterError

PATH = RequestPath(decode_ms=1.0, network_ms=2.0, preprocess_ms=3.0, postprocess_ms=4.0)
STAGES = ("decode_ms", "network_ms", "preprocess_ms", "postprocess_ms")

speedup_st = st.floats(min_value=MIN_SPEEDUP, max_value=MAX_SPEEDUP)
speedup_up_st = st.floats(min_value=1.0, max_value=MAX_SPEEDUP)
speedup_down_st = st.floats(min_value=MIN_SPEEDUP, max_value=1.0)
share_st = st.floats(min_value=0.0, max_value=1.0)
stage_st = st.floats(min_value=0.0, max_value=amdahl.MAX_STAGE_MS)
model_ms_st = st.floats(min_value=amdahl.MIN_MODEL_MS, max_value=amdahl.MAX_STAGE_MS)


def refused(call, name):
    """``call`` must raise ParameterError for the argument ``name``, on one line."""
    with pytest.raises(ParameterError) as caught:
        call()
    assert caught.value.name == name
    message = str(caught.value)
    assert message.startswith(name) and "\n" not in message, message
    return message


# --- Hand-computed cases -------------------------------------------------------------------------

@pytest.mark.parametrize(("s", "p", "expected"), [
    (2, 0.5, 4 / 3),  # 1 / (0.5 + 0.25)
    (4, 0.75, 16 / 7),  # 1 / (0.25 + 0.1875)
    (10, 0.9, 1 / 0.19),  # 1 / (0.1 + 0.09)
    (0.5, 0.5, 2 / 3),  # a slow-down: 1 / (0.5 + 1)
    (3, 0.2, 15 / 13),  # 1 / (0.8 + 1/15)
])
def test_amdahl_hand_computed(s, p, expected):
    assert amdahl_speedup(s, p) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(("s", "p", "expected"), [
    (2, 0.5, 1 / 3),  # S = 4/3: (4/3 - 1) / (2 - 1)
    (4, 0.75, 3 / 7),  # S = 16/7: (16/7 - 1) / 3
    (0.5, 0.5, 2 / 3),  # S = 2/3: (2/3 - 1) / (0.5 - 1)
    (1, 0.3, 0.3),  # s = 1: the limit, the share itself
])
def test_surviving_fraction_hand_computed(s, p, expected):
    assert surviving_fraction(s, p) == pytest.approx(expected, rel=1e-12)


def test_request_path_times_hand_computed():
    assert PATH.overhead_ms == 10.0
    assert end_to_end_ms(10.0, PATH) == 20.0
    assert model_share(10.0, PATH) == 0.5
    assert model_share(30.0, PATH) == 0.75
    no_overhead = RequestPath(0, 0, 0, 0)
    assert model_share(5.0, no_overhead) == 1.0


def test_end_to_end_table_hand_computed():
    table = end_to_end_table({"fp32": 10.0, "int8": 5.0, "slow": 20.0}, "fp32", PATH)
    assert list(table.index) == ["fp32", "int8", "slow"]
    assert table.index.name == "variant"
    assert tuple(table.columns) == TABLE_COLUMNS
    assert table["model_ms"].tolist() == [10.0, 5.0, 20.0]
    assert table["end_to_end_ms"].tolist() == [20.0, 15.0, 30.0]
    assert table["model_speedup"].tolist() == [1.0, 2.0, 0.5]
    assert table["end_to_end_speedup"].tolist() == pytest.approx([1.0, 4 / 3, 2 / 3])


def test_end_to_end_table_puts_the_baseline_first():
    table = end_to_end_table({"int8": 5.0, "fp32": 10.0, "pruned": 8.0}, "fp32", PATH)
    assert list(table.index) == ["fp32", "int8", "pruned"]
    assert table.loc["fp32", "model_speedup"] == 1.0


# --- Limits --------------------------------------------------------------------------------------

@pytest.mark.parametrize("s", [MIN_SPEEDUP, 0.3, 1.0, 2.0, 7.5, 1e6, MAX_SPEEDUP])
def test_whole_request_in_the_model_gives_the_model_speedup(s):
    assert amdahl_speedup(s, 1.0) == pytest.approx(s, rel=1e-12)
    assert surviving_fraction(s, 1.0) == 1.0


@pytest.mark.parametrize("s", [MIN_SPEEDUP, 0.3, 1.0, 2.0, 7.5, 1e6, MAX_SPEEDUP])
def test_no_share_in_the_model_gives_no_speedup(s):
    assert amdahl_speedup(s, 0.0) == 1.0
    assert surviving_fraction(s, 0.0) == 0.0


@pytest.mark.parametrize("p", [0.0, 0.1, 0.5, 0.9, 0.99])
def test_an_infinitely_fast_model_reaches_the_ceiling(p):
    ceiling = 1 / (1 - p)
    assert speedup_ceiling(p) == pytest.approx(ceiling, rel=1e-12)
    assert amdahl_speedup(MAX_SPEEDUP, p) == pytest.approx(ceiling, rel=1e-9)
    assert amdahl_speedup(MAX_SPEEDUP, p) <= speedup_ceiling(p)
    assert surviving_fraction(MAX_SPEEDUP, p) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("p", [0.0, 0.2, 0.7, 1.0])
def test_surviving_fraction_is_continuous_at_no_speedup(p):
    # Near s = 1 the definition (S - 1) / (s - 1) tends to the closed form's value there, p.
    for s in (1 - 1e-6, 1 + 1e-6):
        direct = (amdahl_speedup(s, p) - 1) / (s - 1)
        assert direct == pytest.approx(p, abs=1e-5)
        assert surviving_fraction(s, p) == pytest.approx(p, abs=1e-5)


# --- Properties ----------------------------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(s=speedup_up_st, p=share_st)
def test_a_speedup_lands_between_one_and_the_model_speedup(s, p):
    overall = amdahl_speedup(s, p)
    assert 1.0 <= overall * (1 + 1e-12) and overall <= s * (1 + 1e-12)
    assert overall <= speedup_ceiling(p) * (1 + 1e-12) if p < 1 else True


@settings(max_examples=300, deadline=None)
@given(s=speedup_down_st, p=share_st)
def test_a_slowdown_lands_between_the_model_slowdown_and_one(s, p):
    overall = amdahl_speedup(s, p)
    assert s * (1 - 1e-12) <= overall <= 1.0 * (1 + 1e-12)


@settings(max_examples=300, deadline=None)
@given(s=speedup_st, p=share_st, q=share_st)
def test_speedup_is_monotone_in_the_share(s, p, q):
    low, high = sorted((p, q))
    if s >= 1:
        assert amdahl_speedup(s, low) <= amdahl_speedup(s, high) * (1 + 1e-12)
    else:
        assert amdahl_speedup(s, low) >= amdahl_speedup(s, high) * (1 - 1e-12)


@settings(max_examples=300, deadline=None)
@given(s=speedup_st, t=speedup_st, p=share_st)
def test_speedup_is_monotone_in_the_model_speedup(s, t, p):
    low, high = sorted((s, t))
    assert amdahl_speedup(low, p) <= amdahl_speedup(high, p) * (1 + 1e-12)


@settings(max_examples=300, deadline=None)
@given(s=speedup_st, p=share_st)
def test_surviving_fraction_matches_its_definition(s, p):
    f = surviving_fraction(s, p)
    assert 0.0 <= f <= 1.0
    if abs(s - 1) > 1e-3:
        direct = (amdahl_speedup(s, p) - 1) / (s - 1)
        assert f == pytest.approx(direct, rel=1e-9, abs=1e-12)
    # Also the model's share of the new end-to-end time: (p / s) / ((1 - p) + p / s).
    assert f == pytest.approx((p / s) * amdahl_speedup(s, p), rel=1e-9, abs=1e-300)


@settings(max_examples=200, deadline=None)
@given(stages=st.tuples(stage_st, stage_st, stage_st, stage_st), model_ms=model_ms_st)
def test_share_and_times_are_finite_and_consistent(stages, model_ms):
    path = RequestPath(*stages)
    total = end_to_end_ms(model_ms, path)
    share = model_share(model_ms, path)
    assert math.isfinite(total) and total >= model_ms > 0
    assert 0.0 < share <= 1.0
    assert share * total == pytest.approx(model_ms, rel=1e-12)


@settings(max_examples=200, deadline=None)
@given(stages=st.tuples(stage_st, stage_st, stage_st, stage_st),
       times=st.lists(model_ms_st, min_size=1, max_size=6))
def test_table_agrees_with_amdahl(stages, times):
    path = RequestPath(*stages)
    variants = {f"v{i}": t for i, t in enumerate(times)}
    table = end_to_end_table(variants, "v0", path)
    assert table.notna().all().all() and (table > 0).all().all()
    share = model_share(times[0], path)
    # 1 - p loses about 1e-16 / (1 - p) of its digits when the model is nearly all the request.
    tolerance = 1e-12 + (1e-15 / (1 - share) if share < 1 else 0.0)
    for name, row in table.iterrows():
        assert row["model_speedup"] == pytest.approx(times[0] / variants[name], rel=1e-12)
        expected = amdahl_speedup(row["model_speedup"], share)
        assert row["end_to_end_speedup"] == pytest.approx(expected, rel=tolerance)


# --- Cited defaults ------------------------------------------------------------------------------

def test_cited_defaults_are_computed_from_the_quoted_figures():
    path = cited_request_path()
    assert path.decode_ms == pytest.approx(1_733.55e-3)  # µs per image, Pillow, one thread
    assert path.network_ms == 0.5  # 500,000 ns
    assert path.preprocess_ms == pytest.approx((258 + 1_238 + 120 + 186) * 1e-3)
    assert path.postprocess_ms == pytest.approx(0.05722)
    assert path == RequestPath(**CITED_DEFAULTS_MS)
    assert path.overhead_ms == pytest.approx(sum(CITED_DEFAULTS_MS.values()))


def test_every_cited_default_names_an_entry_of_the_bibliography(root):
    bib = (root / "book" / "references.bib").read_text(encoding="utf-8")
    keys = set(re.findall(r"^@\w+\{([^,]+),", bib, flags=re.MULTILINE))
    assert set(CITED_SOURCES) == set(STAGES) == set(CITED_DEFAULTS_MS)
    assert set(CITED_SOURCES.values()) <= keys


def test_request_path_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        PATH.decode_ms = 0.0


# --- Bad input, refused by name ------------------------------------------------------------------

BAD_REALS = ["3", None, [1.0], True, math.nan, math.inf, -math.inf, 10**400]


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("value", [*BAD_REALS, -1.0, -1e-9, 60_000.001, 1e308])
def test_request_path_refuses_bad_stages(stage, value):
    values = dict.fromkeys(STAGES, 1.0) | {stage: value}
    refused(lambda: RequestPath(**values), stage)


@pytest.mark.parametrize("value", [*BAD_REALS, 0.0, -1.0, 1e-7, 60_000.5])
def test_model_ms_refused(value):
    refused(lambda: end_to_end_ms(value, PATH), "model_ms")
    refused(lambda: model_share(value, PATH), "model_ms")


@pytest.mark.parametrize("value", [*BAD_REALS, 0.0, -2.0, 1e-13, 1e13])
def test_model_speedup_refused(value):
    refused(lambda: amdahl_speedup(value, 0.5), "model_speedup")
    refused(lambda: surviving_fraction(value, 0.5), "model_speedup")


@pytest.mark.parametrize("value", [*BAD_REALS, -0.1, 1.1])
def test_share_refused(value):
    refused(lambda: amdahl_speedup(2.0, value), "share")
    refused(lambda: surviving_fraction(2.0, value), "share")
    refused(lambda: speedup_ceiling(value), "share")


def test_ceiling_refuses_a_whole_request_in_the_model():
    assert "[0, 1)" in refused(lambda: speedup_ceiling(1.0), "share")


@pytest.mark.parametrize("path", [None, 4.0, (1, 2, 3, 4), {"decode_ms": 1.0}])
def test_path_refused(path):
    refused(lambda: end_to_end_ms(1.0, path), "path")
    refused(lambda: model_share(1.0, path), "path")
    refused(lambda: end_to_end_table({"a": 1.0}, "a", path), "path")


@pytest.mark.parametrize("variants", [None, {}, [("a", 1.0)], {"": 1.0}, {3: 1.0},
                                      {f"v{i}": 1.0 for i in range(1_001)}])
def test_table_refuses_bad_variant_lists(variants):
    refused(lambda: end_to_end_table(variants, "v0", PATH), "model_ms_by_variant")


@pytest.mark.parametrize("baseline", ["missing", None, 3])
def test_table_refuses_an_unknown_baseline(baseline):
    refused(lambda: end_to_end_table({"a": 1.0, "b": 2.0}, baseline, PATH), "baseline")


@pytest.mark.parametrize("value", [*BAD_REALS, 0.0, -1.0])
def test_table_refuses_a_bad_model_time_by_variant(value):
    refused(lambda: end_to_end_table({"a": 1.0, "b": value}, "a", PATH),
            "model_ms_by_variant['b']")
