"""A bill as a cloud cost tool shows it: line items, and totals that are sums of them.

One :class:`LineItem` per component with its unit, monthly quantity, unit price and monthly
cost; a :class:`Bill` holds the items, and every total it reports (the whole bill, a
component, a quantity) is a sum over them, so the items always add up to the totals.

Used by chapter 2 (cost breakdown): :func:`perfcost.cost.monthly_bill`, the volume tiers of
:mod:`perfcost.volume_tiers` and the fuller bill of :mod:`perfcost.full_bill`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

__all__ = ["Bill", "LineItem"]


@dataclass(frozen=True)
class LineItem:
    """One line of a bill: ``quantity`` ``unit`` a month at ``unit_price_usd`` each."""

    component: str  # compute, egress, storage (ingress, load_balancer, block_storage: full bill)
    name: str
    unit: str
    quantity: float
    unit_price_usd: float

    @property
    def monthly_usd(self) -> float:
        """quantity × unit price."""
        return self.quantity * self.unit_price_usd


@dataclass(frozen=True)
class Bill:
    """A monthly bill: its line items, and totals that are sums of them."""

    items: tuple[LineItem, ...]

    @property
    def total_usd(self) -> float:
        """The sum of every line item."""
        return math.fsum(item.monthly_usd for item in self.items)

    def component_usd(self, component: str) -> float:
        """The sum of the line items of one component (``compute``, ``egress``, ...)."""
        return math.fsum(i.monthly_usd for i in self.items if i.component == component)

    def quantity(self, component: str, unit: str) -> float:
        """The summed quantity of a component's items in ``unit`` (e.g. egress in GB)."""
        return math.fsum(i.quantity for i in self.items
                         if i.component == component and i.unit == unit)

    def to_frame(self) -> pd.DataFrame:
        """The line items as a table, one row each, with ``monthly_usd``."""
        return pd.DataFrame([
            {"component": i.component, "item": i.name, "unit": i.unit, "quantity": i.quantity,
             "unit_price_usd": i.unit_price_usd, "monthly_usd": i.monthly_usd}
            for i in self.items
        ])
