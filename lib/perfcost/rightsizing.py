"""Right-sizing: the same traffic priced on every instance type with a published throughput.

The question gives one instance ("$2.5/h, 100 requests/s at 70% utilisation") and names neither
the instance nor the model. The catalog's ``workloads`` section holds, per instance type, a
published throughput of the question's workload (image classification: ResNet-50), on one basis
where one exists (MLPerf Server for every NVIDIA card), each with its precision, latency
statistic, scenario, source and date. Each option's fleet follows the utilisation rule at the
peak, ceil(rate × peak-to-average / (throughput × target)) instances and at least one, plus one
spare (N+1, so at least two, one per availability zone), and is priced at the catalog's
on-demand rate; the cheapest becomes the ``rightsize`` lever of :mod:`perfcost.levers`.

The figures are for the model alone (preprocessed tensors, the vendor's own software and
precision), not the question's service: decoding the uploads takes CPU, and a different model
serves at a different rate. A right-sizing is a hypothesis to measure, not a result: it
replaces the question's own figure for its own model with a ResNet-50 figure.

Used by chapter 2 (cost breakdown).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, replace

import pandas as pd

from perfcost.cost import InferenceService, check_catalog, check_service, fleet_for, monthly_bill
from perfcost.instance_types import MIN_UTILIZATION_TARGET
from perfcost.levers import Lever
from perfcost.pricing import Catalog
from perfcost.validation import ParameterError, in_range

__all__ = ["SPARE_INSTANCES", "WORKLOAD", "RightSized", "cheapest", "cheapest_figures",
           "options_table", "rightsize_lever", "rightsizing_options"]

WORKLOAD = "image_classification"  # the question's workload, as the catalog names it
SPARE_INSTANCES = 1  # N+1: a right-sized fleet keeps one spare, so never fewer than two


@dataclass(frozen=True)
class RightSized:
    """The traffic served on one instance type, at its published throughput."""

    instance: str
    hourly_usd: float
    throughput_rps: float  # published, at full load
    usable_rps: float  # throughput × utilisation target: what the fleet rule divides by
    latency_ms: float
    latency_statistic: str
    batch: int | None
    precision: str
    scenario: str
    setup: str
    source: str  # the catalog's source key
    as_of: datetime.date
    peak_instances: int  # what the daily peak needs
    instances: int  # priced: the peak's count plus SPARE_INSTANCES
    compute_monthly_usd: float  # of ``instances``


def _resized(service: InferenceService, hourly_usd: float, usable_rps: float):
    return replace(service, instance_hourly_usd=hourly_usd, instance_throughput_rps=usable_rps,
                   spare_instances=SPARE_INSTANCES)


def rightsizing_options(service: InferenceService, catalog: Catalog, utilization_target: float,
                        workload: str = WORKLOAD) -> tuple[RightSized, ...]:
    """Every instance type with a published throughput for ``workload``, cheapest compute first.

    ``utilization_target`` in [0.01, 1]: the share of the published (full-load) throughput each
    instance is allowed to carry. The service's levers are kept as they are.
    """
    service, catalog = check_service(service), check_catalog(catalog)
    target = in_range("utilization_target", utilization_target, MIN_UTILIZATION_TARGET, 1.0)
    options = []
    for name, figure in catalog.workload(workload).items():
        hourly = catalog.instance(name).hourly_usd
        resized = _resized(service, hourly, figure.throughput_rps * target)
        priced = fleet_for(resized).peak_instances
        options.append(RightSized(
            name, hourly, figure.throughput_rps, figure.throughput_rps * target,
            figure.latency_ms, figure.latency_statistic, figure.batch, figure.precision,
            figure.scenario, figure.setup, figure.source.key, figure.as_of,
            priced - SPARE_INSTANCES, priced,
            monthly_bill(resized, catalog).component_usd("compute")))
    return tuple(sorted(options, key=lambda o: (o.compute_monthly_usd, o.instance)))


def _options(options: object) -> tuple[RightSized, ...]:
    if not isinstance(options, tuple | list) or not all(isinstance(o, RightSized)
                                                         for o in options):
        raise ParameterError("options", "RightSized options (from rightsizing_options)", options)
    return tuple(options)


def cheapest(options: tuple[RightSized, ...]) -> RightSized | None:
    """The option with the cheapest compute (then the first name); None if there is none."""
    options = _options(options)
    return min(options, key=lambda o: (o.compute_monthly_usd, o.instance)) if options else None


def cheapest_figures(options: tuple[RightSized, ...],
                     service: InferenceService) -> dict[str, object]:
    """The cheapest option as chapter 2 reports it: ``instance``, ``instances``,
    ``peak_instances`` and ``compute_monthly_usd`` ("none" and zeros without one), and
    ``price_ratio``, the service's price per usable request/s over the option's
    (hourly / throughput at the target; 1 without an option)."""
    best, service = cheapest(options), check_service(service)
    question_usd = service.instance_hourly_usd / service.instance_throughput_rps
    best_usd = best.hourly_usd / best.usable_rps if best else question_usd
    return {"instance": best.instance if best else "none",
            "instances": best.instances if best else 0,
            "peak_instances": best.peak_instances if best else 0,
            "compute_monthly_usd": best.compute_monthly_usd if best else 0.0,
            "price_ratio": question_usd / best_usd}


def options_table(options: tuple[RightSized, ...]) -> pd.DataFrame:
    """The options as a table, one row each, cheapest first."""
    options = _options(options)
    columns = ["instance", "hourly_usd", "throughput_rps", "usable_rps", "precision",
               "scenario", "latency_ms", "latency_statistic", "batch", "peak_instances",
               "instances", "compute_monthly_usd", "setup", "source", "as_of"]
    rows = [{c: getattr(o, c) for c in columns} for o in options]
    for row in rows:  # a server that batched dynamically has no one batch size
        row["batch"] = "dynamic" if row["batch"] is None else row["batch"]
    return pd.DataFrame(rows, columns=columns)


def rightsize_lever(options: tuple[RightSized, ...]) -> Lever | None:
    """The cheapest option as a lever (None when the catalog has no figures for the workload),
    with its spare instance.

    Ratings (effort, SLO risk, irreversibility) = (2, 2, 1): a new instance type to deploy and
    benchmark, a latency to re-measure against the SLO, and on-demand capacity to switch back to.
    """
    best = cheapest(options)
    if best is None:
        return None
    instance = best.instance.replace("{", "{{").replace("}", "}}")  # a name, not a template
    return Lever("rightsize", f"move to {best.instances} x {instance}"
                              f" ({best.peak_instances} + {SPARE_INSTANCES} spare)",
                 (("instance_hourly_usd", best.hourly_usd),
                  ("instance_throughput_rps", best.usable_rps),
                  ("spare_instances", SPARE_INSTANCES)), 2, 2, 1)
