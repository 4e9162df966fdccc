"""The design's monthly bill: model servers, result cache, load balancer, and egress.

What the budget covers, as line items (:class:`perfcost.line_items.Bill`):

* ``servers``: the policy's instance-hours a month × the instance's on-demand price;
* ``cache``: a result cache of :data:`CACHE_NODES` nodes (a primary and a replica in another
  availability zone) of the catalog's cheapest cache node type, all month;
* ``load_balancer``: an Application Load Balancer, its hourly charge plus its capacity units
  (LCUs), each hour billed at the largest of its dimensions at that hour's mean rate: processed
  GB (requests and responses) and new connections (rate / ``requests_per_connection``, clients
  reusing connections with HTTP keep-alive);
* ``egress``: every response to the internet at the average rate, through the catalog's tiers:
  rate × response_kb × 730 h × 3,600 s / 10^6 GB, so the volume is proportional to the average
  rate.

Compute is servers + cache + load balancer; the total adds egress.

Used by chapter 5 (design).
"""

from __future__ import annotations

import numpy as np

from perfcost.line_items import Bill, LineItem
from perfcost.pricing import Catalog
from perfcost.units import BYTES_PER_GB, BYTES_PER_KB, HOURS_PER_MONTH, SECONDS_PER_HOUR
from perfcost.validation import ParameterError, in_range, positive
from perfcost.volume_tiers import monthly_gb, tiered_items

__all__ = [
    "CACHE_NODES",
    "COMPUTE",
    "cache_items",
    "cheapest_cache_node",
    "egress_items",
    "hourly_means_rps",
    "load_balancer_items",
    "server_item",
]

CACHE_NODES = 2  # a primary and a replica, in two availability zones
COMPUTE = ("servers", "cache", "load_balancer")  # the components the budget calls compute
DAYS_PER_MONTH = HOURS_PER_MONTH / 24.0


def server_item(instance_name: str, hourly_usd: float, instance_hours_month: float) -> LineItem:
    """The model servers: instance-hours a month at the on-demand price."""
    return LineItem("servers", f"model servers ({instance_name})", "instance-hour",
                    instance_hours_month, hourly_usd)


def cheapest_cache_node(catalog: Catalog):
    """The catalog's cheapest cache node type; ParameterError if the catalog has none."""
    nodes = getattr(catalog, "cache_nodes", {})
    if not nodes:
        raise ParameterError("price catalog", "a catalog with a cache_nodes section",
                             str(catalog.path))
    return min(nodes.values(), key=lambda node: node.hourly_usd)


def cache_items(catalog: Catalog) -> list[LineItem]:
    """A result cache: :data:`CACHE_NODES` nodes of the cheapest type, all month."""
    node = cheapest_cache_node(catalog)
    return [LineItem("cache", f"result cache ({CACHE_NODES} × {node.name})", "node-hour",
                     CACHE_NODES * HOURS_PER_MONTH, node.hourly_usd)]


def hourly_means_rps(demand_rps: np.ndarray) -> np.ndarray:
    """The day's 24 hourly mean rates from its per-step rates (steps dividing the hour)."""
    demand_rps = np.asarray(demand_rps, dtype=float)
    if demand_rps.size % 24:
        raise ParameterError("demand_rps", "a day of steps, a multiple of 24", demand_rps.size)
    return demand_rps.reshape(24, -1).mean(axis=1)


def load_balancer_items(catalog: Catalog, hourly_rps: np.ndarray, *, kb_per_request: float,
                        requests_per_connection: float) -> list[LineItem]:
    """The balancer's hours and LCU-hours a month from the day's hourly mean rates."""
    kb_per_request = in_range("kb_per_request", kb_per_request, 0.0, 1e6)
    requests_per_connection = positive("requests_per_connection", requests_per_connection)
    unit = catalog.load_balancer_capacity_unit
    rates = np.asarray(hourly_rps, dtype=float)
    processed_gb = rates * kb_per_request * BYTES_PER_KB * SECONDS_PER_HOUR / BYTES_PER_GB
    lcus = np.maximum(processed_gb / unit["processed_gb_per_hour"].value,
                      rates / requests_per_connection / unit["new_connections_per_s"].value)
    prices = catalog.load_balancer
    return [LineItem("load_balancer", "application load balancer", "balancer-hour",
                     HOURS_PER_MONTH, prices["hourly"].usd),
            LineItem("load_balancer", "load balancer capacity units", "LCU-hour",
                     float(lcus.sum()) * DAYS_PER_MONTH, prices["lcu_hour"].usd)]


def egress_items(catalog: Catalog, average_rps: float, response_kb: float) -> list[LineItem]:
    """Every response to the internet at the average rate, tier by tier."""
    gb = monthly_gb(average_rps, response_kb, HOURS_PER_MONTH)
    return tiered_items(gb, catalog.internet_egress, component="egress",
                        name=f"internet egress from {catalog.region}")


def design_bill(*items: list[LineItem]) -> Bill:
    """The bill of the given item lists, in order."""
    return Bill(tuple(item for group in items for item in group))
