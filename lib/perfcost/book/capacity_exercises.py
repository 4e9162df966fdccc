"""What chapter 1's exercise solutions compute beyond the models: where the rule of thumb buys
fewer instances than the SLO needs, and where the cheapest option changes.

Each solution calls these with the chapter's own objects, so it holds at any parameters.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import pandas as pd

from perfcost.capacity import check_sizer
from perfcost.instance_types import InfeasibleError, InstanceType, check_instance
from perfcost.validation import ParameterError

__all__ = ["cheapest_runs", "crossover_text", "rule_shortfall", "shortfall_verdict"]

def _count(size, instance, rate_rps, slo_ms) -> tuple[float, float]:
    """The sizer's count and p95 at one rate; NaN for both when it finds no fleet."""
    try:
        fleet = size(instance, rate_rps, slo_ms)
    except InfeasibleError:
        return math.nan, math.nan
    return float(fleet.count), fleet.p95_ms


def rule_shortfall(instance: InstanceType, rates_rps: Iterable[float], latency_slo_ms: float,
                   rule, needed) -> pd.DataFrame:
    """Size ``instance`` at each rate with ``rule`` and with ``needed`` (both sizers).

    Columns: ``request_rate_rps``, ``rule_count``, ``rule_p95_ms``, ``needed_count`` (NaN where
    a sizer finds no fleet) and ``under``: the rule's fleet misses the SLO (its p95 is above
    it), so it buys fewer instances than ``needed`` does, or any at all where none suffices.
    """
    instance, rule, needed = check_instance(instance), check_sizer(rule), check_sizer(needed)
    rows = []
    for rate in rates_rps:
        rule_count, rule_p95 = _count(rule, instance, rate, latency_slo_ms)
        needed_count, _ = _count(needed, instance, rate, latency_slo_ms)
        rows.append({"request_rate_rps": float(rate), "rule_count": rule_count,
                     "rule_p95_ms": rule_p95, "needed_count": needed_count,
                     "under": bool(rule_p95 > latency_slo_ms * (1 + 1e-9))})
    return pd.DataFrame(rows)


def shortfall_verdict(table: pd.DataFrame, instance_name: str) -> str:
    """Where the rule of :func:`rule_shortfall` under-provisions, in one sentence."""
    if not isinstance(table, pd.DataFrame) or "under" not in table or table.empty:
        raise ParameterError("table", "a table from rule_shortfall", table)
    top = table["request_rate_rps"].max()
    under = table[table["under"]]
    if under.empty:
        return (f"the rule never under-provisions {instance_name} at the rates checked, up to "
                f"{top:,.6g} requests/s: each fleet it buys meets the SLO")
    first = under.iloc[0]
    needed = ("no count meets the SLO" if math.isnan(first["needed_count"])
              else f"the p95 needs {first['needed_count']:,.0f}")
    return (f"the rule under-provisions {instance_name} at {len(under)} of the "
            f"{len(table)} rates checked (up to {top:,.6g} requests/s), first at "
            f"{first['request_rate_rps']:,.6g} requests/s, where it buys "
            f"{first['rule_count']:,.0f} and {needed}")


def cheapest_runs(curves: pd.DataFrame) -> pd.DataFrame:
    """The stretches of rates over which one option stays the cheapest, in rate order.

    ``curves`` come from :func:`perfcost.sizing_tables.cost_curves`; at a rate where options tie,
    the first of them in ``curves`` counts. Columns: ``instance``, ``from_rps``, ``to_rps``
    (the first and last rate of the stretch that ``curves`` holds).
    """
    columns = {"instance", "cheapest", "request_rate_rps"}
    if not isinstance(curves, pd.DataFrame) or not columns <= set(curves.columns):
        raise ParameterError("curves", "a table from cost_curves", curves)
    best = (curves[curves["cheapest"]].drop_duplicates("request_rate_rps")
            .sort_values("request_rate_rps", kind="stable"))
    run = (best["instance"] != best["instance"].shift()).cumsum()
    return (best.groupby(run, sort=False)
            .agg(instance=("instance", "first"), from_rps=("request_rate_rps", "min"),
                 to_rps=("request_rate_rps", "max"))
            .reset_index(drop=True))


def crossover_text(runs: pd.DataFrame) -> str:
    """Where the cheapest option changes, from :func:`cheapest_runs`, in one sentence: between
    the last rate checked of one stretch and the first of the next (the grid's resolution)."""
    if not isinstance(runs, pd.DataFrame) or not {"instance", "from_rps", "to_rps"} <= set(runs):
        raise ParameterError("runs", "a table from cheapest_runs", runs)
    if runs.empty:
        return "no option meets the SLO at any rate checked"
    if len(runs) == 1:
        return f"{runs['instance'].iloc[0]} is the cheapest at every rate checked"
    changes = [f"between {before.to_rps:,.6g} and {row.from_rps:,.6g} requests/s "
               f"({before.instance} to {row.instance})"
               for before, row in zip(runs.itertuples(), runs.iloc[1:].itertuples(),
                                      strict=False)]
    return "the cheapest option changes " + ", ".join(changes)
