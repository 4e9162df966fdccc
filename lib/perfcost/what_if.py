"""What if the inputs were different: the bill as formulas, and the bill swept over one input.

Two views of how chapter 2's bill moves with its inputs. :func:`what_if_expressions` writes the
baseline bill's components as expressions of the request rate, the EU share and the response
size, for the book's in-browser charts (Vega evaluates them as the reader drags a slider; the
tests evaluate the same text in Python against :func:`perfcost.cost.monthly_bill`).
:func:`bill_sensitivity` prices the bill at each of up to :data:`MAX_SWEEP_VALUES` values of one
numeric :class:`~perfcost.cost.InferenceService` field, every value checked by that field's rule.

Used by chapter 2 (cost breakdown).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import fields, replace

import pandas as pd

from perfcost.cost import (
    InferenceService,
    check_catalog,
    check_field,
    check_service,
    monthly_bill,
    without_levers,
)
from perfcost.pricing import Catalog, Tier
from perfcost.units import BYTES_PER_GB, BYTES_PER_KB, SECONDS_PER_HOUR
from perfcost.validation import ParameterError
from perfcost.volume_tiers import free_allowance_gb, tier_expression

__all__ = ["MAX_SWEEP_VALUES", "bill_sensitivity", "what_if_expressions"]

MAX_SWEEP_VALUES = 10_000  # ~1 s of bills; a chart shows a few hundred points
# Fields a sweep cannot take: a route, two switches and a whole count.
_NOT_SWEPT = ("egress_route", "autoscale", "committed", "spare_instances")


def what_if_expressions(service: InferenceService, catalog: Catalog) -> dict[str, str]:
    """The baseline bill's components as expressions of three variables, for in-browser charts.

    The variables are ``rate`` (requests/s), ``eu`` (EU share of responses) and ``response_kb``;
    everything else is fixed at the service's values. Keys: ``compute``, ``storage``,
    ``egress_direct`` and ``egress_eu_relay``. The expressions use only + - * / min max ceil, so
    the same text runs as a Vega expression and as Python (with ``ceil = math.ceil``); they
    reproduce :func:`perfcost.cost.monthly_bill` for a service with no levers pulled.
    """
    service, catalog = check_service(service), check_catalog(catalog)
    if without_levers(service) != service:
        raise ParameterError("service", "a service with no cost levers pulled", service)
    capacity_rps = service.instance_throughput_rps
    hourly = service.instance_hourly_usd * service.hours_per_month
    gb_per_kb_rps = service.hours_per_month * SECONDS_PER_HOUR * BYTES_PER_KB / BYTES_PER_GB
    gb = f"(rate * response_kb * {gb_per_kb_rps!r})"
    tiers = catalog.internet_egress
    inter_region = catalog.transfer["inter_region"].usd
    storage = service.model_storage_gb * service.storage_usd_per_gb_month
    us_gb, eu_gb = f"({gb} * (1 - eu))", f"({gb} * eu)"
    return {
        "compute": f"max(ceil(rate * {service.peak_to_average!r} / {capacity_rps!r}), 1)"
                   f" * {hourly!r}",
        "egress_direct": tier_expression(tiers, gb),
        "egress_eu_relay": f"{tier_expression(tiers, us_gb)}"
                           f" + {inter_region!r} * {gb} * eu"
                           f" + {_eu_ladder_expression(tiers, us_gb, eu_gb)}",
        "storage": repr(storage),
    }


def _eu_ladder_expression(tiers: tuple[Tier, ...], us_gb: str, eu_gb: str) -> str:
    """The EU region's egress when the free allowance F is shared with us-east-1.

    With the free tier removed (``tiers[1:]``, bounds unchanged) a volume x costs P(x); what
    us-east-1 left of the allowance, r = max(F − us, 0), is free at the first paid price p1, so
    the EU region pays P(x) − p1 · min(x, r) (r ≤ F lies inside the first paid tier).
    """
    free = free_allowance_gb(tiers)
    if free == 0 or math.isinf(free):
        return tier_expression(tiers, eu_gb)
    paid = tiers[1:]
    return (f"{tier_expression(paid, eu_gb)} - {paid[0].usd_per_gb!r}"
            f" * min({eu_gb}, max({free!r} - {us_gb}, 0))")


def _sweep(values: object) -> list:
    """``values`` as a list of 1 to MAX_SWEEP_VALUES items; a str or non-iterable is refused."""
    valid = f"a sequence of 1 to {MAX_SWEEP_VALUES:,} numbers"
    if isinstance(values, str | bytes):
        raise ParameterError("values", valid, values)
    try:
        chosen = list(itertools.islice(values, MAX_SWEEP_VALUES + 1))
    except TypeError:
        raise ParameterError("values", valid, values) from None
    if not chosen or len(chosen) > MAX_SWEEP_VALUES:
        raise ParameterError("values", valid, f"{len(chosen):,}+ values" if chosen else chosen)
    return chosen


def bill_sensitivity(service: InferenceService, catalog: Catalog, parameter: str,
                     values) -> pd.DataFrame:
    """The bill by component as one numeric service field sweeps ``values`` (long format).

    ``values``: 1 to ``MAX_SWEEP_VALUES`` numbers, each valid for the field (checked first).
    Columns: ``parameter`` (the field's name), ``value``, ``component`` (compute, egress,
    storage and ``total``) and ``monthly_usd``.
    """
    service, catalog = check_service(service), check_catalog(catalog)
    numeric = [f.name for f in fields(InferenceService) if f.name not in _NOT_SWEPT]
    if not isinstance(parameter, str) or parameter not in numeric:
        raise ParameterError("parameter", "a numeric InferenceService field", parameter)
    values = [check_field(parameter, value) for value in _sweep(values)]
    rows = []
    for value in values:
        bill = monthly_bill(replace(service, **{parameter: value}), catalog)
        for component in ("compute", "egress", "storage"):
            rows.append({"parameter": parameter, "value": float(value), "component": component,
                         "monthly_usd": bill.component_usd(component)})
        rows.append({"parameter": parameter, "value": float(value), "component": "total",
                     "monthly_usd": bill.total_usd})
    return pd.DataFrame(rows)
