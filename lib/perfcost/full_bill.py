"""The bill the question leaves out: ingress, a load balancer, and a volume on each instance.

Chapter 2's question names three components (compute, egress, storage). The same service, run on
AWS, also pays for its uploads at the ingress price (free on AWS, not everywhere), for an
Application Load Balancer and for a block-storage volume on every instance (its operating system,
drivers and its copy of the model). :func:`full_monthly_bill` returns the question's bill with
those lines added; its ``total_usd`` is the fuller total.

Load balancer capacity units (LCUs). Each hour an ALB bills the largest of four dimensions, each
divided by what one LCU includes (catalog ``load_balancer_capacity_unit``): processed bytes, new
connections, active connections and rule evaluations. From the chapter's inputs the processed
bytes are known exactly: every request's upload and every response pass through the balancer.
New connections depend on whether clients reuse them; this module assumes the worst case, one new
connection per request. Active connections and rule evaluations (beyond the ten rules per request
that are free) are assumed not to bind. Both computed dimensions scale with the request rate, so
the hourly maximum averaged over a day is the maximum at the average rate.

Still left out (the chapter says so, :data:`LEFT_OUT`): what needs inputs the question does not
give (logs, monitoring, public IPv4 addresses, cross-zone transfer of a balancer spanning two or
more zones, S3 request charges, a cache's own servers, archive retrieval fees and minimum
storage duration, negotiated egress beyond 500 TB a month, a CDN in front).

Used by chapter 2 (cost breakdown).
"""

from __future__ import annotations

from dataclasses import dataclass

from perfcost.cost import (
    MAX_VOLUME_GB,
    InferenceService,
    check_catalog,
    check_service,
    fleet_for,
    ingress_item,
    monthly_bill,
)
from perfcost.line_items import Bill, LineItem
from perfcost.pricing import Catalog
from perfcost.units import BYTES_PER_GB, BYTES_PER_KB, SECONDS_PER_HOUR
from perfcost.validation import in_range

__all__ = ["LEFT_OUT", "MAX_VOLUME_GB", "LoadBalancerUse", "full_monthly_bill", "load_balancer_use"]

# What the full bill still leaves out: each needs an input the question does not give.
LEFT_OUT = (
    "logs, metrics and monitoring",
    "a public IPv4 address on each instance or balancer node (charged by the hour)",
    "cross-zone transfer: the balancer spans at least two availability zones",
    "NAT gateways and DNS",
    "S3 request charges for loading the model",
    "a result cache's own servers, if the plan adds one",
    "archive retrieval fees and the archive class's minimum storage duration",
    "negotiated egress rates beyond 500 TB a month",
    "a CDN in front of the service, itself a lever for egress and latency",
    "support plans, and the people who run it",
)


@dataclass(frozen=True)
class LoadBalancerUse:
    """What the balancer handles at the average rate, and the LCUs each dimension needs."""

    processed_gb_per_hour: float  # uploads and responses
    new_connections_per_s: float  # assumed: one per request
    lcus_by_dimension: dict[str, float]

    @property
    def lcus(self) -> float:
        """The LCUs billed each hour: the largest dimension."""
        return max(self.lcus_by_dimension.values())

    @property
    def binding(self) -> str:
        """The dimension that sets the LCUs."""
        return max(self.lcus_by_dimension, key=self.lcus_by_dimension.get)


def load_balancer_use(service: InferenceService, catalog: Catalog) -> LoadBalancerUse:
    """The balancer's processed GB and new connections per hour, and the LCUs they need."""
    service, catalog = check_service(service), check_catalog(catalog)
    kb = service.request_kb + service.response_kb / service.response_compression_ratio
    gb_per_hour = service.request_rate_rps * kb * BYTES_PER_KB * SECONDS_PER_HOUR / BYTES_PER_GB
    connections = service.request_rate_rps  # assumed: no connection is reused
    unit = catalog.load_balancer_capacity_unit
    return LoadBalancerUse(gb_per_hour, connections, {
        "processed bytes": gb_per_hour / unit["processed_gb_per_hour"].value,
        "new connections": connections / unit["new_connections_per_s"].value,
    })


def _load_balancer_items(service: InferenceService, catalog: Catalog) -> list[LineItem]:
    hours = service.hours_per_month
    prices = catalog.load_balancer
    lcus = load_balancer_use(service, catalog).lcus
    return [LineItem("load_balancer", "application load balancer", "balancer-hour", hours,
                     prices["hourly"].usd),
            LineItem("load_balancer", "load balancer capacity units", "LCU-hour", lcus * hours,
                     prices["lcu_hour"].usd)]


def _block_storage_item(service: InferenceService, catalog: Catalog,
                        gb_per_instance: float) -> LineItem:
    instance_months = fleet_for(service).instance_hours / service.hours_per_month
    return LineItem("block_storage", "EBS gp3 volume on each instance", "GB-month",
                    instance_months * gb_per_instance, catalog.block_storage["gp3"].usd)


def full_monthly_bill(service: InferenceService, catalog: Catalog, *,
                      block_storage_gb_per_instance: float) -> Bill:
    """The question's bill (:func:`perfcost.cost.monthly_bill`) plus ingress, a load balancer
    and a gp3 volume of ``block_storage_gb_per_instance`` GB ([0, 16,000]) on every running
    instance."""
    service, catalog = check_service(service), check_catalog(catalog)
    gb = in_range("block_storage_gb_per_instance", block_storage_gb_per_instance, 0.0,
                  MAX_VOLUME_GB)
    return Bill((*monthly_bill(service, catalog).items,
                 ingress_item(service, catalog),
                 *_load_balancer_items(service, catalog),
                 _block_storage_item(service, catalog, gb)))
