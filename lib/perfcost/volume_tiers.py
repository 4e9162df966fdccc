"""Volume tiers: a monthly volume priced tier by tier, and the free allowance of a ladder.

A ladder of :class:`~perfcost.pricing.Tier` prices the gigabytes above the previous tier's bound
at its own rate (internet egress: AWS charges less per GB as the month's volume grows). Volumes
are split exactly: each tier a volume reaches is a line item of its own (:func:`tiered_items`),
and the cost is Σ price_i × (GB that fall in tier i) (:func:`tiered_cost_usd`). A first tier
priced at $0 is a free allowance (AWS gives 100 GB a month); it is granted once per account, so
when the EU share is relayed through a second region, that region's ladder gets only what the
first region left of it (:func:`after_free_use`). :func:`tier_expression` writes the same cost
as an expression for the book's in-browser charts.

Conventions (chapter 2, :mod:`perfcost.units`): decimal units (1 kB = 1,000 bytes, 1 GB =
10^9 bytes); a month of ``hours_per_month`` hours in [672, 744] (a calendar month, so that
monthly prices such as storage need no proration). :func:`monthly_gb` turns a message rate
and size into GB a month; a month moves at most :data:`MAX_MONTHLY_GB`, the volume of the
largest valid service, twice (EU relay).

Used by chapter 2 (cost breakdown) through :func:`perfcost.cost.monthly_bill`.
"""

from __future__ import annotations

import itertools
import math

from perfcost.line_items import LineItem
from perfcost.pricing import MAX_EGRESS_TIERS, Tier
from perfcost.traffic import MAX_RATE_RPS
from perfcost.units import (
    BYTES_PER_GB,
    BYTES_PER_KB,
    MAX_HOURS_PER_MONTH,
    MIN_HOURS_PER_MONTH,
    SECONDS_PER_HOUR,
)
from perfcost.validation import ParameterError, in_range

__all__ = [
    "MAX_KB",
    "MAX_MONTHLY_GB",
    "after_free_use",
    "first_paid_usd_per_gb",
    "free_allowance_gb",
    "monthly_gb",
    "tier_expression",
    "tiered_cost_usd",
    "tiered_items",
]

MAX_KB = 1e6  # a gigabyte per request or response
# The most a valid service moves in a month: 10^6 rps × 10^6 kB × 744 h, twice (EU relay).
MAX_MONTHLY_GB = (2 * MAX_RATE_RPS * MAX_KB * BYTES_PER_KB * MAX_HOURS_PER_MONTH
                  * SECONDS_PER_HOUR / BYTES_PER_GB)


def _tier_label(lower_gb: float, tier: Tier) -> str:
    if lower_gb == 0 and tier.usd_per_gb == 0 and not math.isinf(tier.up_to_gb):
        return f"free allowance, first {tier.up_to_gb:,.0f} GB"
    if math.isinf(tier.up_to_gb):
        return f"over {lower_gb / 1000:g} TB"
    size_tb = (tier.up_to_gb - lower_gb) / 1000
    return f"{'first' if lower_gb == 0 else 'next'} {size_tb:g} TB"


def _tiers(tiers: object) -> tuple[Tier, ...]:
    """``tiers`` as a tuple: Tiers with rising bounds, the last one unbounded."""
    valid = (f"1 to {MAX_EGRESS_TIERS} volume tiers (Tier) with rising up_to_gb and finite "
             "prices >= 0, the last one math.inf")
    if not isinstance(tiers, tuple | list) or not tiers or len(tiers) > MAX_EGRESS_TIERS:
        raise ParameterError("tiers", valid, tiers)
    bounds = [t.up_to_gb if isinstance(t, Tier) else math.nan for t in tiers]
    prices = [t.usd_per_gb if isinstance(t, Tier) else math.nan for t in tiers]
    if not all(isinstance(p, int | float) and 0 <= p < math.inf for p in prices):
        raise ParameterError("tiers", valid, tiers)
    if bounds[-1] != math.inf or not all(a < b for a, b in itertools.pairwise([0.0, *bounds])):
        raise ParameterError("tiers", valid, tiers)
    return tuple(tiers)


def tiered_items(quantity_gb: float, tiers: tuple[Tier, ...], *, component: str,
                 name: str) -> list[LineItem]:
    r"""Split ``quantity_gb`` (at most ``MAX_MONTHLY_GB``) across volume tiers: one line item
    per tier it reaches.

    With tier bounds :math:`0 = u_0 < u_1 < \dots < u_m = \infty`, tier i holds
    :math:`\min(V, u_i) - u_{i-1}` GB of a volume V, for every tier with :math:`u_{i-1} < V`.

    Parameters
    ----------
    quantity_gb : float
        The month's volume V in GB (decimal), in [0, ``MAX_MONTHLY_GB``].
    tiers : tuple of perfcost.pricing.Tier
        1 to ``MAX_EGRESS_TIERS`` tiers (a list is accepted too) with rising ``up_to_gb``, finite
        prices >= 0 in USD per GB, the last one unbounded (``math.inf``).
    component : str
        The line items' component (e.g. "egress").
    name : str
        The start of each item's name; the tier's label ("first 10 TB", ...) follows it.

    Returns
    -------
    list of perfcost.line_items.LineItem
        One item per tier reached, in GB at the tier's price; empty when V is 0.

    Raises
    ------
    perfcost.validation.ParameterError
        If ``quantity_gb`` is outside its range, ``tiers`` is not a valid ladder, or
        ``component`` or ``name`` is not text.
    """
    quantity_gb = in_range("quantity_gb", quantity_gb, 0.0, MAX_MONTHLY_GB)
    tiers = _tiers(tiers)
    for label, text in (("component", component), ("name", name)):
        if not isinstance(text, str):
            raise ParameterError(label, "text", text)
    items, lower = [], 0.0
    for tier in tiers:
        used = min(quantity_gb, tier.up_to_gb) - lower
        if used <= 0:
            break
        items.append(LineItem(component, f"{name}, {_tier_label(lower, tier)}", "GB", used,
                              tier.usd_per_gb))
        lower = tier.up_to_gb
    return items


def tiered_cost_usd(quantity_gb: float, tiers: tuple[Tier, ...]) -> float:
    r"""The cost of ``quantity_gb`` priced tier by tier: Σ price_i × (GB that fall in tier i).

    .. math::  T(V) = \sum_i p_i \, \max(0, \min(V, u_i) - u_{i-1}), \qquad u_0 = 0,

    summed exactly (``math.fsum``) over the items of :func:`tiered_items`.

    Parameters
    ----------
    quantity_gb : float
        The month's volume V in GB (decimal), in [0, ``MAX_MONTHLY_GB``].
    tiers : tuple of perfcost.pricing.Tier
        1 to ``MAX_EGRESS_TIERS`` tiers (a list is accepted too) with rising ``up_to_gb``, finite
        prices >= 0 in USD per GB, the last one unbounded (``math.inf``).

    Returns
    -------
    float
        The cost in USD.

    Raises
    ------
    perfcost.validation.ParameterError
        If ``quantity_gb`` is outside its range or ``tiers`` is not a valid ladder.

    References
    ----------
    The shipped catalog's internet egress ladder (US East: first 100 GB a month free, then
    $0.09, $0.085, $0.07 and $0.05 per GB): Wring (2026), "AWS Data Transfer Pricing 2026"
    (``wring2026egress``).
    """
    return math.fsum(i.monthly_usd for i in tiered_items(quantity_gb, tiers, component="",
                                                         name=""))


def free_allowance_gb(tiers: tuple[Tier, ...]) -> float:
    """GB a month the ladder gives free: its first tier's size if that tier is priced $0."""
    tiers = _tiers(tiers)
    return tiers[0].up_to_gb if tiers[0].usd_per_gb == 0 else 0.0


def first_paid_usd_per_gb(tiers: tuple[Tier, ...]) -> float:
    """The price of the first tier that is not free (0 if every tier is)."""
    return next((t.usd_per_gb for t in _tiers(tiers) if t.usd_per_gb > 0), 0.0)


def after_free_use(tiers: tuple[Tier, ...], used_gb: float) -> tuple[Tier, ...]:
    """The ladder another region of the same account prices on once ``used_gb`` of the free
    allowance are spent: the free tier shrinks, or goes when used up; paid bounds stay.

    With a free first tier of F GB, the new first tier is free up to F − min(``used_gb``, F)
    GB (dropped when that is 0); a ladder without a free tier (or free throughout) is returned
    unchanged.

    Parameters
    ----------
    tiers : tuple of perfcost.pricing.Tier
        1 to ``MAX_EGRESS_TIERS`` tiers (a list is accepted too) with rising ``up_to_gb``, finite
        prices >= 0 in USD per GB, the last one unbounded (``math.inf``).
    used_gb : float
        GB of the account's free allowance already used elsewhere, in [0, ``MAX_MONTHLY_GB``].

    Returns
    -------
    tuple of perfcost.pricing.Tier
        The ladder left.

    Raises
    ------
    perfcost.validation.ParameterError
        If ``tiers`` is not a valid ladder or ``used_gb`` is outside its range.

    References
    ----------
    The allowance is granted once per account across all regions: Wring (2026), "AWS Data
    Transfer Pricing 2026" (``wring2026egress``), as the shipped catalog records.
    """
    tiers = _tiers(tiers)
    used_gb = in_range("used_gb", used_gb, 0.0, MAX_MONTHLY_GB)
    free = free_allowance_gb(tiers)
    if free == 0 or math.isinf(free):
        return tiers
    left = free - min(used_gb, free)
    return ((Tier(left, 0.0),) if left > 0 else ()) + tiers[1:]


def tier_expression(tiers: tuple[Tier, ...], variable: str) -> str:
    """The tiered cost of ``variable`` GB as an expression using only + * min max.

    The same text is valid in Vega expressions (the book's in-browser what-if charts) and in
    Python, which is how the tests check it against :func:`tiered_cost_usd`.
    """
    tiers = _tiers(tiers)
    if not isinstance(variable, str) or not variable:
        raise ParameterError("variable", "an expression (non-empty text)", variable)
    terms, lower = [], 0.0
    for tier in tiers:
        amount = f"max({variable} - {lower!r}, 0)"
        if not math.isinf(tier.up_to_gb):
            amount = f"min({amount}, {tier.up_to_gb - lower!r})"
        terms.append(f"{tier.usd_per_gb!r} * {amount}")
        lower = tier.up_to_gb
    return " + ".join(terms)


def monthly_gb(rate_rps: float, size_kb: float, hours_per_month: float) -> float:
    r"""GB a month moved by ``rate_rps`` messages of ``size_kb`` each (decimal units):
    rate × size × 1,000 bytes × hours × 3,600 s / 10^9.

    .. math::  V = \frac{r \, b \times 10^3 \times 3600 \, M}{10^9} \ \text{GB}.

    Parameters
    ----------
    rate_rps : float
        Messages per second r, in [0, 10^6].
    size_kb : float
        Size b of one message in kB (1 kB = 1,000 bytes), in [0, 10^6].
    hours_per_month : float
        Hours M in the month, in [672, 744].

    Returns
    -------
    float
        The month's volume V in GB (10^9 bytes).

    Raises
    ------
    perfcost.validation.ParameterError
        If an argument is outside its range.
    """
    rate_rps = in_range("rate_rps", rate_rps, 0.0, MAX_RATE_RPS)
    size_kb = in_range("size_kb", size_kb, 0.0, MAX_KB)
    hours_per_month = in_range("hours_per_month", hours_per_month, MIN_HOURS_PER_MONTH,
                               MAX_HOURS_PER_MONTH)
    seconds = hours_per_month * SECONDS_PER_HOUR
    return rate_rps * size_kb * BYTES_PER_KB * seconds / BYTES_PER_GB
