"""What chapter 2's exercise solutions compute beyond the models: where egress leaves its
first paid tier, and the savings plan for a changed question.

Each solution calls these with the chapter's own objects, so it holds at any parameters.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from perfcost.cost import CostQuestion
from perfcost.levers import standard_levers
from perfcost.pricing import Catalog, Tier
from perfcost.rightsizing import rightsize_lever, rightsizing_options
from perfcost.savings import Plan, plan_savings
from perfcost.validation import ParameterError
from perfcost.volume_tiers import first_paid_usd_per_gb, monthly_gb

__all__ = ["first_paid_tier_end_rps", "plan_for", "slope_change_rps", "tier_end_verdict"]

def _first_paid(tiers: tuple[Tier, ...]) -> Tier | None:
    if first_paid_usd_per_gb(tiers) == 0:  # checks the ladder
        return None
    return next(tier for tier in tiers if tier.usd_per_gb > 0)


def first_paid_tier_end_rps(tiers: tuple[Tier, ...], response_kb: float,
                            hours_per_month: float) -> float:
    """The request rate whose monthly egress fills the ladder's first paid tier.

    rate = the tier's upper bound (GB) / the GB one request/s sends a month. Infinite when no
    rate gets there: no tier is paid, the first paid tier has no upper bound, or responses are
    empty.
    """
    tier = _first_paid(tiers)
    per_rps_gb = monthly_gb(1.0, response_kb, hours_per_month)
    if tier is None or math.isinf(tier.up_to_gb) or per_rps_gb == 0:
        return math.inf
    return tier.up_to_gb / per_rps_gb


def slope_change_rps(sweep: pd.DataFrame, component: str, slope: float) -> tuple[float, float]:
    """The interval of a sweep (:func:`perfcost.what_if.bill_sensitivity`) in which the
    ``component`` line stops rising at ``slope`` (USD per unit of the swept value) and rises
    slower: the two swept values around the kink, or (nan, nan) if there is none.

    Only after a stretch at ``slope``: a free allowance before it is passed over.
    """
    line = sweep[sweep["component"] == component].sort_values("value")
    if line.empty:
        raise ParameterError("component", f"one of {sorted(set(sweep['component']))}",
                             component)
    values, usd = line["value"].to_numpy(), line["monthly_usd"].to_numpy()
    slopes = np.diff(usd) / np.diff(values)
    at_slope = np.isclose(slopes, slope, rtol=1e-6)
    if not at_slope.any():
        return math.nan, math.nan
    start = int(np.argmax(at_slope))
    slower = np.flatnonzero(slopes[start:] < slope * (1 - 1e-6))
    if not len(slower):
        return math.nan, math.nan
    i = start + int(slower[0])
    return float(values[i]), float(values[i + 1])


def tier_end_verdict(end_rps: float, bend: tuple[float, float], top_rps: float) -> str:
    """Whether the bend of a sweep (:func:`slope_change_rps`) holds the rate at which egress
    leaves its first paid tier (:func:`first_paid_tier_end_rps`), in one sentence."""
    if math.isinf(end_rps):
        return "no request rate fills the first paid tier, so the egress line never leaves it"
    said = f"egress leaves its first paid tier at {end_rps:,.6g} requests/s"
    if end_rps > top_rps:
        return f"{said}, beyond the chart's top rate of {top_rps:,.6g} requests/s"
    low, high = bend
    if math.isnan(low):
        return (f"{said}; the chart's rates are too far apart to show the egress line at the "
                "first paid price, so it shows no bend there")
    holds = "which holds it" if low <= end_rps <= high else "which does NOT hold it"
    return (f"{said}; the chart's egress line turns flatter between {low:,.6g} and "
            f"{high:,.6g} requests/s, {holds}")


def plan_for(question: CostQuestion, catalog: Catalog, measured_gain: float | None) -> Plan:
    """The chapter's savings plan for ``question``: right-sizing (if any option beats the
    question's instance) and the standard levers, planned to the question's target.

    ``measured_gain`` is chapter 4's throughput gain, used when the question's is 0.
    """
    if not isinstance(question, CostQuestion):
        raise ParameterError("question", "a CostQuestion", question)
    service = question.service
    options = rightsizing_options(service, catalog, question.utilization_target)
    rightsize = rightsize_lever(options)
    levers = ([rightsize] if rightsize else []) + standard_levers(
        **question.lever_inputs(catalog, measured_gain))
    return plan_savings(service, catalog, levers, question.savings_target)
