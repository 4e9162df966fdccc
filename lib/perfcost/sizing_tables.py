"""Tables of sizings: every option sized at one rate, and every option's cost across rates.

Each table is built by a sizer from :mod:`perfcost.capacity` (``UtilizationRule(0.7)``,
``QuantileRule(0.99, model)``, ``SLORule(0.7, model)``), called as ``size(option,
request_rate_rps, latency_slo_ms)``, so a table cannot drop one of the sizer's settings.
:func:`compare_sizers` puts several sizers' tables side by side; :func:`rates_past_peak_rps`
chooses the rates a cost curve is drawn at, and :func:`cheapest_above_rps` reads from the cost
curves the rate above which an option is always the cheapest.

Used by chapter 1 (capacity sizing).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from perfcost.capacity import (
    InfeasibleError,
    InstanceType,
    Sizer,
    UtilizationRule,
    check_options,
    check_sizer,
)
from perfcost.instance_types import (
    MAX_CURVE_POINTS,
    MAX_REQUEST_RATE_RPS,
    check_points,
    check_rate,
)
from perfcost.validation import ParameterError, instance_of, integer_in_range

__all__ = ["MAX_CURVE_SIZINGS", "cheapest_above_rps", "compare_sizers", "cost_curves",
           "rates_past_peak_rps", "sizing_table"]

MAX_CURVE_SIZINGS = 20_000  # options x rates in one cost curve: a few seconds of sizing
SIZING_COLUMNS = ("count", "hourly_usd", "monthly_usd", "utilization", "p95_ms")
RULE_OF_THUMB = UtilizationRule()  # the tables' default sizer: the 70% rule


def _row(option: InstanceType, request_rate_rps: float, latency_slo_ms: float,
         size: Sizer) -> dict:
    """One option sized: its fleet's figures, or ``feasible`` False and the ``reason``."""
    try:
        fleet = size(option, request_rate_rps, latency_slo_ms)
    except InfeasibleError as infeasible:
        return {"instance": option.name, "feasible": False, "reason": str(infeasible)}
    return {"instance": option.name, "feasible": True,
            **{column: getattr(fleet, column) for column in SIZING_COLUMNS}, "reason": ""}


def sizing_table(
    options: Iterable[InstanceType],
    request_rate_rps: float,
    latency_slo_ms: float,
    size: Sizer = RULE_OF_THUMB,
) -> pd.DataFrame:
    """Size every option with the sizer ``size`` and return one row per option, cheapest first.

    ``size`` is called as ``size(option, request_rate_rps, latency_slo_ms)`` and carries its own
    settings (``UtilizationRule(0.5)``, ``QuantileRule(0.99, model)``). Infeasible options stay
    in the table with ``feasible`` False and the ``reason``.
    """
    size = check_sizer(size)
    table = pd.DataFrame([_row(option, request_rate_rps, latency_slo_ms, size)
                          for option in check_options(options)])
    for column in SIZING_COLUMNS:
        if column not in table:  # no option is feasible
            table[column] = math.nan
    return table.sort_values(["feasible", "hourly_usd"], ascending=[False, True], kind="stable")


def compare_sizers(
    options: Iterable[InstanceType],
    request_rate_rps: float,
    latency_slo_ms: float,
    sizers: Mapping[str, Sizer],
) -> pd.DataFrame:
    """Size every option with each sizer: the :func:`sizing_table` of each, side by side.

    Parameters
    ----------
    options : iterable of InstanceType
        The instance types to size.
    request_rate_rps, latency_slo_ms : float
        The rate and the SLO, the same for every sizer.
    sizers : mapping of str to sizer
        Each method's name (e.g. "p95 sizing") and its sizer (``QuantileRule(0.95)``).

    Returns
    -------
    pandas.DataFrame
        The tables one after another, in the order of ``sizers``, each cheapest first, with a
        first column ``method`` naming the sizer that made the row.
    """
    if not isinstance(sizers, Mapping) or not sizers:
        raise ParameterError("sizers", "a non-empty mapping of names to sizers", sizers)
    options = check_options(options)
    tables = {method: sizing_table(options, request_rate_rps, latency_slo_ms, size)
              for method, size in sizers.items()}
    return pd.concat(tables, names=["method"]).reset_index(level=0)


def cost_curves(
    options: Iterable[InstanceType],
    request_rates_rps: Iterable[float],
    latency_slo_ms: float,
    size: Sizer = RULE_OF_THUMB,
) -> pd.DataFrame:
    """Return each feasible option's fleet cost at each request rate (long format), sized by
    the sizer ``size`` (see :func:`sizing_table`).

    Columns: ``request_rate_rps``, ``instance``, ``count``, ``monthly_usd``, ``cheapest`` (True on
    the row of the cheapest option at that rate). At most ``MAX_CURVE_POINTS`` rates.
    """
    options = check_options(options)
    rates = [check_rate(rate, "request_rates_rps") for rate in
             check_points("request_rates_rps", request_rates_rps, MAX_CURVE_POINTS)]
    tables = []
    if len(options) * len(rates) > MAX_CURVE_SIZINGS:
        raise ParameterError("len(options) * len(request_rates_rps)",
                             f"at most {MAX_CURVE_SIZINGS:,} sizings", len(options) * len(rates))
    for rate in rates:
        table = sizing_table(options, rate, latency_slo_ms, size)
        table = table[table["feasible"]].assign(request_rate_rps=float(rate))
        table["cheapest"] = table["hourly_usd"] == table["hourly_usd"].min()
        tables.append(table[["request_rate_rps", "instance", "count", "monthly_usd", "cheapest"]])
    return pd.concat(tables, ignore_index=True)


def rates_past_peak_rps(options: Iterable[InstanceType], peak_rate_rps: float,
                        points: int = 200) -> np.ndarray:
    """Return ``points`` evenly spaced request rates from top / points up to top.

    top = min(max(2 × the fastest option's throughput, 1.1 × ``peak_rate_rps``),
    :data:`~perfcost.instance_types.MAX_REQUEST_RATE_RPS`): past the peak, and far enough that
    each option needs a few instances, where the cheaper option can change; never beyond the
    largest rate :func:`cost_curves` sizes.
    """
    options = check_options(options)
    peak_rate_rps = check_rate(peak_rate_rps, "peak_rate_rps")
    points = integer_in_range("points", points, 2, MAX_CURVE_POINTS)
    top_rps = min(max(2 * max(option.throughput_rps for option in options),
                      1.1 * peak_rate_rps), MAX_REQUEST_RATE_RPS)
    return np.linspace(top_rps / points, top_rps, points)


def cheapest_above_rps(curves: pd.DataFrame, instance_name: str) -> float:
    """Return the highest request rate in ``curves`` at which ``instance_name`` is *not* the
    cheapest: above it, it is the cheapest at every rate the curves hold (0 if it always is)."""
    columns = {"instance", "cheapest", "request_rate_rps"}
    if not isinstance(curves, pd.DataFrame) or not columns <= set(curves.columns):
        raise ParameterError("curves", "a table from cost_curves", type(curves).__name__)
    instance_of("instance_name", instance_name, str, "an instance name (text)")
    mine = curves[curves["instance"] == instance_name]
    if mine.empty:
        raise ParameterError("instance_name", f"one of {sorted(set(curves['instance']))}",
                             instance_name)
    losing = mine.loc[~mine["cheapest"], "request_rate_rps"]
    return float(losing.max()) if len(losing) else 0.0
