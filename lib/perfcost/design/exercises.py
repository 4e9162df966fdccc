"""Chapter 5's exercises, answered with the chapter's own measurements (nothing re-measured).

* :func:`redesigner`: the design of a changed question, with the measured profiles and the
  price catalog bound (the catalog read once);
* :func:`fix_for`: the cheapest fix of an over-budget design, as the chapter finds its own;
* :func:`cheapest_per`: the cheapest feasible configuration per instance kind, cache choice or
  batch size, as a table; :func:`cache_lookup_p95_ms`: what the lookup costs every request;
* :func:`with_model`, :func:`measured_question`: the question for another model;
* :func:`first_peak_needing_more`: the lowest peak rate at which the design orders more than a
  given count of instances, found by bisection;
* :func:`policy_savings`: each autoscaling policy's saving over the fixed fleet and the
  minutes it misses the SLO.

Used by chapter 5 (design), in the exercises' solutions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pandas as pd

from perfcost.design.day import MIN_INSTANCES, POLICY_NAMES
from perfcost.design.fixes import Fix, candidate_changes, cheapest_fix
from perfcost.design.latency import CACHE_FIGURE
from perfcost.design.question import MODELS, PUBLISHED_WORKLOAD, DesignQuestion
from perfcost.design.run import binary_wire_ratio
from perfcost.design.service import Design, design_service
from perfcost.design.tables import policy_table
from perfcost.pricing import Catalog
from perfcost.traffic import MAX_RATE_RPS
from perfcost.validation import ParameterError, in_range, instance_of, integer_in_range

__all__ = ["Crossing", "cache_lookup_p95_ms", "cheapest_per", "first_peak_needing_more",
           "fix_for", "measured_question", "policy_savings", "redesigner", "with_model"]

MEASURED = tuple(m for m in MODELS if m not in PUBLISHED_WORKLOAD)  # mlp_fp32, mlp_int8
CHEAPEST_COLUMNS = ["configuration", "policy", "instances", "total_usd", "p95_ms"]
FIXED = POLICY_NAMES[0]  # the fixed fleet, which the other policies are compared with


def redesigner(profiles: Mapping[str, object], catalog: Catalog
               ) -> Callable[[DesignQuestion], Design]:
    """A function designing a question with ``profiles`` and ``catalog`` (for questions that
    keep the catalog: reading it is most of a design's time)."""
    catalog = instance_of("catalog", catalog, Catalog, "a price Catalog")
    return lambda question: design_service(question, profiles, catalog)


def fix_for(design: Design, formats: pd.DataFrame,
            redesign: Callable[[DesignQuestion], Design]) -> Fix | None:
    """The cheapest fix of an over-budget ``design``, found as the chapter finds its own
    (:func:`perfcost.design.fixes.cheapest_fix`); None when it is within budget. ``formats``
    are the measured response formats (:func:`perfcost.response_formats.format_sizes`)."""
    if design.within_budget:
        return None
    question = design.question
    tried = candidate_changes(question, binary_wire_ratio(formats))
    return cheapest_fix(question, design.total_usd, tried, redesign)


def cheapest_per(frontier: pd.DataFrame, column: str) -> pd.DataFrame:
    """The cheapest row of ``frontier`` (:func:`perfcost.design.tables.frontier_table`) for
    each value of ``column`` ("kind", "cache" or "batch"), cheapest first; no rows when no
    configuration meets the SLO."""
    if column not in {"kind", "cache", "batch"}:
        raise ParameterError("column", "one of kind, cache, batch", column)
    rows = frontier.sort_values(["total_usd", "p95_ms"]).groupby(column, sort=False).head(1)
    return rows.set_index(column)[CHEAPEST_COLUMNS]


def cache_lookup_p95_ms(design: Design) -> float:
    """The p95 of the cache lookup every request pays on the cached path (ms)."""
    stages = {stage.name: stage for stage in design.stages_by_cache[True]}
    return stages[CACHE_FIGURE[0]].quantile_ms(0.95)


def with_model(question: DesignQuestion, model: str) -> DesignQuestion:
    """``question`` designing ``model``; on the shipped catalog when the question's has no
    figures for it (a reader's catalog need not carry the published models)."""
    try:
        return question.changed(model=model)
    except ParameterError as refused:
        if refused.name != "price_catalog_path":
            raise
        return question.changed(model=model, price_catalog_path="")


def measured_question(question: DesignQuestion) -> DesignQuestion:
    """``question`` for a classifier measured here: as it is, or the fp32 classifier in place
    of a published model."""
    return question if question.model in MEASURED else question.changed(model=MEASURED[0])


@dataclass(frozen=True)
class Crossing:
    """Where a design first orders more than ``instances`` instances, as the peak rises."""

    instances: int  # the count exceeded
    below_qps: float | None  # the highest peak found at or under the count (None: none)
    above_qps: float | None  # the lowest peak found over it (None: none up to the limit)
    design: Design | None  # the design at above_qps

    @property
    def text(self) -> str:
        """The crossing in words."""
        over = f"more than {self.instances} instance{'s' * (self.instances > 1)}"
        if self.above_qps is None:
            return f"never {over}, up to {_rate(self.below_qps)} requests/s"
        if self.below_qps is None:
            return f"{over} already at {_rate(self.above_qps)} requests/s"
        return (f"{over} from a peak between {_rate(self.below_qps)} and "
                f"{_rate(self.above_qps)} requests/s")


def _rate(qps: float) -> str:
    return f"{qps:,.0f}" if qps >= 10 else f"{qps:.3g}"


def first_peak_needing_more(question: DesignQuestion,
                            redesign: Callable[[DesignQuestion], Design],
                            instances: int = MIN_INSTANCES, *, rtol: float = 0.05,
                            low_qps: float = 1.0) -> Crossing:
    """The lowest ``peak_qps`` at which ``redesign(question)`` orders more than ``instances``
    instances at any minute (``Design.instances_peak``), to a relative tolerance ``rtol``;
    by default the two-zone floor, so the answer is where the floor stops being enough.

    From the question's own peak, the rate is doubled or halved until the count crosses (or
    ``low_qps`` or the largest valid peak is reached), then the bracket is bisected on a log
    scale until above / below <= 1 + rtol. The count is assumed to grow with the peak; where
    it does not (the cheapest design switching to fewer, larger instances), the crossing found
    is a crossing, not necessarily the first.
    """
    question = instance_of("question", question, DesignQuestion, "a DesignQuestion")
    instances = integer_in_range("instances", instances, 1)
    rtol = in_range("rtol", rtol, 1e-6, 1.0)
    low_qps = in_range("low_qps", low_qps, 1e-6, MAX_RATE_RPS)

    def design_at(qps: float) -> Design:
        return redesign(question.changed(peak_qps=qps))

    rate = min(max(question.peak_qps, low_qps), MAX_RATE_RPS)
    found = design_at(rate)
    over = found.instances_peak > instances
    below, above, above_design = (None, rate, found) if over else (rate, None, None)
    while over and below is None:  # halve until the count is within it
        if rate <= low_qps:
            return Crossing(instances, None, rate, found)
        rate = max(rate / 2, low_qps)
        found = design_at(rate)
        if found.instances_peak > instances:
            above, above_design = rate, found
        else:
            below = rate
    while not over and above is None:  # double until the count exceeds it
        if rate >= MAX_RATE_RPS:
            return Crossing(instances, rate, None, None)
        rate = min(rate * 2, MAX_RATE_RPS)
        found = design_at(rate)
        if found.instances_peak > instances:
            above, above_design = rate, found
        else:
            below = rate
    while above / below > 1 + rtol:
        middle = math.sqrt(above * below)
        found = design_at(middle)
        if found.instances_peak > instances:
            above, above_design = middle, found
        else:
            below = middle
    return Crossing(instances, below, above, above_design)


def policy_savings(designs: Mapping[str, Design]) -> pd.DataFrame:
    """Each design's chosen fleet under every policy (rows keyed by the design's name and the
    policy): its total, its saving over the fixed fleet, and the minutes of the day it misses
    the SLO."""
    frames = []
    for name, design in designs.items():
        table = policy_table(design)
        fixed = table.loc[table["policy"] == FIXED, "total_usd"].iloc[0]
        minutes = design.chosen.day.demand_rps.size
        missed = ((1.0 - table["slo_attainment"]) * minutes).round().astype(int)
        frames.append(table.assign(
            design=name, saving_usd=fixed - table["total_usd"],
            minutes_missing_slo=missed))
    shown = ["design", "policy", "instances_peak", "total_usd", "saving_usd",
             "minutes_missing_slo"]
    return pd.concat(frames, ignore_index=True)[shown].set_index(["design", "policy"])
