"""The monthly bill of an inference service: the service, its fleet, and its bill.

Chapter 2's question prices one service. :class:`InferenceService` is what the bill depends
on; :func:`fleet_for` sizes its fleet hour by hour; :func:`monthly_bill` prices it as line items
(:mod:`perfcost.line_items`) of the question's three components: compute, egress (every
response, tier by tier, :mod:`perfcost.volume_tiers`) and storage. Ingress
(:func:`ingress_item`) belongs to the fuller bill of :mod:`perfcost.full_bill`; the bill as
formulas and swept over one input is in :mod:`perfcost.what_if`.

Conventions (chapter 2, :mod:`perfcost.units`): decimal units; a month of
``hours_per_month`` hours (:data:`perfcost.units.HOURS_PER_MONTH` by default, [672, 744]: a
calendar month); uploads are ingress, responses are egress. When the EU share is relayed
through a second region, the free egress allowance is the account's, spent first in the
service's own region (:func:`perfcost.volume_tiers.after_free_use`).

How instances are bought. Every count is whole instances: each hour runs ceil(rate / capacity)
instances plus ``spare_instances``; spot takes floor(``spot_share`` × count) of them, and only in
hours with at least :data:`MIN_SPOT_FLEET` instances (a reclaim must not take a small fleet's
capacity away); a commitment covers the whole instances that run on-demand every hour.

Every :class:`InferenceService` field has a finite range (:data:`FIELD_CHECKS`, one place, also
used by :mod:`perfcost.levers`), chosen so that a bill is a few hundred microseconds of
arithmetic at any valid input and every total is finite.

The chapter's question is one object, :class:`CostQuestion`: its fields are the chapter's
parameters, checked on construction by the rules above, and it builds the service it prices.
:func:`bills_for_gains` prices the question's service at each of several throughput gains.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace

import numpy as np
import pandas as pd

from perfcost.capacity import instances_for_utilization
from perfcost.instance_types import MAX_HOURLY_USD, MIN_UTILIZATION_TARGET
from perfcost.line_items import Bill, LineItem
from perfcost.pricing import Catalog, Price, load_catalog
from perfcost.traffic import MAX_DIURNAL_PEAK_TO_AVERAGE, MAX_RATE_RPS, diurnal_rate_rps
from perfcost.units import (
    HOURS_PER_MONTH,
    MAX_HOURS_PER_MONTH,
    MIN_HOURS_PER_MONTH,
    SECONDS_PER_HOUR,
)
from perfcost.validation import (
    ParameterError,
    in_range,
    instance_of,
    integer_in_range,
    zero_or,
)
from perfcost.volume_tiers import MAX_KB, after_free_use, monthly_gb, tiered_items

__all__ = [
    "EGRESS_ROUTES",
    "FIELD_CHECKS",
    "LEVER_FIELDS",
    "MAX_STORAGE_GB",
    "MAX_STORAGE_USD_PER_GB_MONTH",
    "MAX_VOLUME_GB",
    "MIN_SPOT_FLEET",
    "CostQuestion",
    "Fleet",
    "InferenceService",
    "bills_for_gains",
    "check_field",
    "diurnal_rates_rps",
    "fleet_for",
    "ingress_item",
    "monthly_bill",
    "without_levers",
]

EGRESS_ROUTES = ("direct", "eu_relay")
MIN_SPOT_FLEET = 3  # fewer instances: one spot reclaim takes a third or more of the capacity
MAX_SPARE_INSTANCES = 1_000
MAX_STORAGE_GB = 1e7  # model artefacts in object storage: 10 PB
MAX_VOLUME_GB = 16_000.0  # an EBS gp3 volume on each instance holds at most 16 TiB


# --- The service ---------------------------------------------------------------------------------

Check = Callable[[str, object], object]


def _number(low: float, high: float, *, low_open: bool = False,
            high_open: bool = False) -> Check:
    return lambda name, value: in_range(name, value, low, high, low_open=low_open,
                                        high_open=high_open)


def _flag(name: str, value: object) -> bool:
    if not isinstance(value, bool):  # "no" and 0 are not False: they must be written so
        raise ParameterError(name, "True or False", value)
    return value


def _whole(low: int, high: int) -> Check:
    return lambda name, value: integer_in_range(name, value, low, high)


def _route(name: str, value: object) -> str:
    if not isinstance(value, str) or value not in EGRESS_ROUTES:
        raise ParameterError(name, f"one of {', '.join(EGRESS_ROUTES)}", value)
    return value


_hours = _number(MIN_HOURS_PER_MONTH, MAX_HOURS_PER_MONTH)
_share = _number(0.0, 1.0)
_share_below_one = _number(0.0, 1.0, high_open=True)
MAX_STORAGE_USD_PER_GB_MONTH = 10.0  # 400x S3 Standard ($0.023): a unit mistake beyond
_usd_per_gb_month = _number(0.0, MAX_STORAGE_USD_PER_GB_MONTH)

# The valid range of every InferenceService field, in one place.
FIELD_CHECKS: dict[str, Check] = {
    "request_rate_rps": _number(0.0, MAX_RATE_RPS, low_open=True),
    "request_kb": _number(0.0, MAX_KB),
    "response_kb": _number(0.0, MAX_KB),
    "eu_egress_fraction": _share,
    "instance_hourly_usd": _number(0.0, MAX_HOURLY_USD, low_open=True),
    # Down to 10^-6 so that the chapter's throughput × utilization target (>= 10^-3 × 0.01)
    # fits; a fleet then has at most ~10^14 instances, still exact and finite.
    "instance_throughput_rps": _number(1e-6, 1e6),
    "model_storage_gb": _number(0.0, MAX_STORAGE_GB),
    "storage_usd_per_gb_month": _usd_per_gb_month,
    "hours_per_month": _hours,
    "peak_to_average": _number(1.0, MAX_DIURNAL_PEAK_TO_AVERAGE),  # the diurnal curve's
    "egress_route": _route,
    "spare_instances": _whole(0, MAX_SPARE_INSTANCES),
    "throughput_gain": _number(0.01, 1_000.0),  # a measured gain may be below 1 (slower)
    "cache_hit_rate": _share_below_one,
    "autoscale": _flag,
    "spot_share": _share_below_one,
    "spot_discount": _share_below_one,
    "committed": _flag,
    "commitment_discount": _share_below_one,
    "response_compression_ratio": _number(1.0, 1_000.0),
    "archived_storage_fraction": _share,
    "archive_usd_per_gb_month": _usd_per_gb_month,
}


def check_field(name: str, value: object) -> object:
    """Return ``value`` converted if it is valid for the InferenceService field ``name``."""
    if name not in FIELD_CHECKS:
        raise ParameterError("field", "an InferenceService field", name)
    return FIELD_CHECKS[name](name, value)

@dataclass(frozen=True)
class InferenceService:
    """What the bill depends on. Each field is validated on construction, by its own name,
    against its range in :data:`FIELD_CHECKS`; booleans must be True or False.

    The first eleven fields describe the service as the cost chapter's question does (the
    route of EU egress among them); the rest are the cost levers, whose defaults leave the bill
    as the question states it.
    """

    request_rate_rps: float  # average request rate, (0, 10^6]
    request_kb: float  # upload per request (ingress), [0, 10^6]
    response_kb: float  # response per request (egress), [0, 10^6]
    eu_egress_fraction: float  # share of responses that go to clients in the EU, [0, 1]
    instance_hourly_usd: float  # on-demand price of one instance-hour, (0, 1,000]
    instance_throughput_rps: float  # requests/s one instance serves at its target, [1e-6, 1e6]
    model_storage_gb: float  # model artefacts kept in object storage, [0, 10^7]
    storage_usd_per_gb_month: float  # price of the storage class they are kept in, [0, 10]
    hours_per_month: float = HOURS_PER_MONTH  # [672, 744]: a calendar month
    peak_to_average: float = 1.0  # diurnal peak / average rate, [1, 2]; fleets are sized for it
    egress_route: str = "direct"  # "direct": all from the service's region; "eu_relay"
    # Levers (see perfcost.levers):
    spare_instances: int = 0  # instances kept beyond the count each hour needs (N+1: 1)
    throughput_gain: float = 1.0  # per-instance throughput multiplier, [0.01, 1,000]
    cache_hit_rate: float = 0.0  # share of requests answered from a cache, [0, 1)
    autoscale: bool = False  # follow the diurnal curve hour by hour instead of the peak
    spot_share: float = 0.0  # share of each hour's instances on spot (whole ones), [0, 1)
    spot_discount: float = 0.0  # spot discount off on-demand, [0, 1)
    committed: bool = False  # commit (savings plan) to the always-on floor of the fleet
    commitment_discount: float = 0.0  # the commitment's discount off on-demand, [0, 1)
    response_compression_ratio: float = 1.0  # response bytes before / after, [1, 1,000]
    archived_storage_fraction: float = 0.0  # share of model storage moved to an archive class
    archive_usd_per_gb_month: float = 0.0  # price of the archive class, [0, 10]

    def __post_init__(self):
        for f in fields(self):
            object.__setattr__(self, f.name, check_field(f.name, getattr(self, f.name)))


LEVER_FIELDS = (
    "spare_instances", "throughput_gain", "cache_hit_rate", "autoscale", "spot_share",
    "spot_discount", "committed",
    "commitment_discount", "response_compression_ratio", "archived_storage_fraction",
    "archive_usd_per_gb_month",
)


def check_service(service: object) -> InferenceService:
    return instance_of("service", service, InferenceService, "an InferenceService")


def check_catalog(catalog: object) -> Catalog:
    return instance_of("catalog", catalog, Catalog,
                       "a Catalog (from perfcost.pricing.load_catalog)")


def without_levers(service: InferenceService) -> InferenceService:
    """The service with every cost lever back at its default: the bill as the question states."""
    service = check_service(service)
    return replace(service, **{f.name: f.default for f in fields(InferenceService)
                               if f.name in LEVER_FIELDS})


def diurnal_rates_rps(service: InferenceService) -> np.ndarray:
    r"""The request rate at the start of each hour of a day: the book's one diurnal curve,
    :func:`perfcost.traffic.diurnal_rate_rps`, with the service's average and peak.

    rate(h) = average × (1 − (peak_to_average − 1) cos(2π h / 24)), h = 0…23: the trough at
    hour 0, the peak at hour 12; its mean over the 24 hours is the average, its maximum the
    peak. (Before issue 12 this day started at its peak: the same 24 values in another order.
    A fleet and its bill depend only on those values, never on their order, so every bill is
    unchanged; only ``Fleet.hourly_counts`` is rotated by 12 hours.) In symbols, with
    :math:`\bar r` the average and :math:`p` the peak-to-average ratio,

    .. math::  r(h) = \bar r \left(1 - (p - 1) \cos\frac{2\pi h}{24}\right),
               \qquad h = 0, 1, \dots, 23.

    Parameters
    ----------
    service : InferenceService
        Its ``request_rate_rps`` (the average, in (0, 10^6]) and ``peak_to_average`` (in
        [1, 2]) set the curve.

    Returns
    -------
    numpy.ndarray
        24 rates in requests per second, one per hour, from hour 0 (the trough).

    Raises
    ------
    perfcost.validation.ParameterError
        If ``service`` is not an :class:`InferenceService`.
    """

    service = check_service(service)
    hours = np.arange(24)
    return diurnal_rate_rps(hours * SECONDS_PER_HOUR, service.request_rate_rps,
                            service.peak_to_average)


@dataclass(frozen=True)
class Fleet:
    """Instance-hours a month, split by how they are bought."""

    peak_instances: int  # instances at the daily peak (spares included)
    floor_instances: int  # instances running every hour of the day
    committed_instances: int  # whole instances on-demand every hour: what a commitment covers
    instance_hours: float
    spot_hours: float
    committed_hours: float
    hourly_counts: tuple[int, ...] = field(repr=False)

    @property
    def on_demand_hours(self) -> float:
        """Instance-hours neither on spot nor committed (never below 0: the difference of
        equal sums can round to -1e-13)."""
        return max(0.0, self.instance_hours - self.spot_hours - self.committed_hours)


def fleet_for(service: InferenceService) -> Fleet:
    r"""Size the fleet hour by hour and split its hours into on-demand, spot and committed.

    Each hour needs ceil(rate × (1 − cache hits) / (throughput × gain)) instances, at least one,
    plus ``spare_instances``. Without autoscaling every hour runs the peak's count. In an hour
    with at least :data:`MIN_SPOT_FLEET` instances, floor(``spot_share`` × count) of them run on
    spot; a commitment covers the whole instances left on-demand in every hour. In symbols, with
    :math:`r(h)` the rate of :func:`diurnal_rates_rps`, hit rate :math:`h_c`, throughput
    :math:`X`, gain :math:`g`, spares :math:`s` and spot share :math:`f`,

    .. math::

        n(h) = \max\left(1, \left\lceil \frac{r(h)\,(1 - h_c)}{X g} \right\rceil\right)
               + s, \qquad
        n_\text{spot}(h) = \lfloor f\, n(h) \rfloor \ [n(h) \ge 3], \qquad
        n_\text{committed} = \min_h\, (n(h) - n_\text{spot}(h)),

    and each of the 24 hours stands for ``hours_per_month`` / 24 hours of the month.

    Parameters
    ----------
    service : InferenceService
        The service, its cost levers included (``autoscale``, ``spot_share``, ``committed``,
        ``spare_instances``, ``throughput_gain``, ``cache_hit_rate``).

    Returns
    -------
    Fleet
        The peak and floor counts, the committed instances, and the month's instance-hours in
        all, on spot and committed (on-demand is the rest).

    Raises
    ------
    perfcost.validation.ParameterError
        If ``service`` is not an :class:`InferenceService`.
    """
    service = check_service(service)
    capacity_rps = service.instance_throughput_rps * service.throughput_gain
    served = diurnal_rates_rps(service) * (1.0 - service.cache_hit_rate)
    # At the trough of a 2:1 day the rate reaches zero; one instance stays up regardless.
    counts = [(instances_for_utilization(rate, capacity_rps, 1.0) if rate > 0 else 1)
              + service.spare_instances for rate in served]
    peak = max(counts)
    if not service.autoscale:
        counts = [peak] * 24
    spot = [math.floor(service.spot_share * count + 1e-9) if count >= MIN_SPOT_FLEET else 0
            for count in counts]
    per_hour = service.hours_per_month / 24
    committed = min(c - s for c, s in zip(counts, spot, strict=True)) if service.committed else 0
    return Fleet(peak, min(counts), committed, math.fsum(counts) * per_hour,
                 math.fsum(spot) * per_hour, committed * service.hours_per_month, tuple(counts))


def _compute_items(service: InferenceService, fleet: Fleet) -> list[LineItem]:
    price = service.instance_hourly_usd
    items = [LineItem("compute", "instances, on-demand", "instance-hour",
                      fleet.on_demand_hours, price)]
    if fleet.spot_hours > 0:
        items.append(LineItem("compute", "instances, spot", "instance-hour", fleet.spot_hours,
                              price * (1 - service.spot_discount)))
    if fleet.committed_hours > 0:
        items.append(LineItem("compute", "instances, committed", "instance-hour",
                              fleet.committed_hours, price * (1 - service.commitment_discount)))
    return items


def _egress_items(service: InferenceService, catalog: Catalog) -> list[LineItem]:
    response_gb = monthly_gb(service.request_rate_rps, service.response_kb,
                             service.hours_per_month) / service.response_compression_ratio
    tiers = catalog.internet_egress
    if service.egress_route == "direct":
        return tiered_items(response_gb, tiers, component="egress",
                            name=f"internet egress from {catalog.region}")
    eu_gb = response_gb * service.eu_egress_fraction
    inter_region = catalog.transfer["inter_region"]
    # The free allowance is the account's, spent first in the service's own region.
    eu_tiers = after_free_use(tiers, response_gb - eu_gb)
    return [
        *tiered_items(response_gb - eu_gb, tiers, component="egress",
                      name=f"internet egress from {catalog.region}"),
        LineItem("egress", "inter-region transfer to the EU region", "GB", eu_gb,
                 inter_region.usd),
        *tiered_items(eu_gb, eu_tiers, component="egress",
                      name="internet egress from the EU region"),
    ]


def _storage_items(service: InferenceService) -> list[LineItem]:
    archived_gb = service.model_storage_gb * service.archived_storage_fraction
    items = [LineItem("storage", "model storage", "GB-month",
                      service.model_storage_gb - archived_gb, service.storage_usd_per_gb_month)]
    if archived_gb > 0:
        items.append(LineItem("storage", "model storage, archived versions", "GB-month",
                              archived_gb, service.archive_usd_per_gb_month))
    return items


def ingress_item(service: InferenceService, catalog: Catalog) -> LineItem:
    """Every upload, at the catalog's ingress price (AWS: free): a line of the fuller bill.

    The volume is that of :func:`perfcost.volume_tiers.monthly_gb`: rate × ``request_kb`` ×
    1,000 bytes × ``hours_per_month`` × 3,600 s / 10^9 GB.

    Parameters
    ----------
    service : InferenceService
        Its ``request_rate_rps``, ``request_kb`` and ``hours_per_month``.
    catalog : perfcost.pricing.Catalog
        Its ``transfer["ingress"]`` price, in USD per GB.

    Returns
    -------
    perfcost.line_items.LineItem
        Component "ingress": the month's upload GB at the ingress price.

    Raises
    ------
    perfcost.validation.ParameterError
        If ``service`` is not an :class:`InferenceService` or ``catalog`` not a Catalog.

    References
    ----------
    The shipped catalog's ingress price: AWS Global Network FAQs (``awsnetworkfaq``, read
    2026-11-28): data sent from the internet into AWS carries no charge.
    """
    service, catalog = check_service(service), check_catalog(catalog)
    upload_gb = monthly_gb(service.request_rate_rps, service.request_kb, service.hours_per_month)
    return LineItem("ingress", "uploads (ingress)", "GB", upload_gb,
                    catalog.transfer["ingress"].usd)


def monthly_bill(service: InferenceService, catalog: Catalog) -> Bill:
    r"""The itemised monthly bill of ``service``: the question's three components.

    Compute from :func:`fleet_for`; egress of every response, tier by tier (the EU share through
    an EU region when ``egress_route`` is "eu_relay"); storage of the model artefacts. Ingress
    is priced apart (:func:`ingress_item`, in :func:`perfcost.full_bill.full_monthly_bill`).
    With P the on-demand hourly price, :math:`H_x` the month's instance-hours bought each way
    (:class:`Fleet`), :math:`d_s` and :math:`d_c` the spot and commitment discounts, and
    :math:`T(V)` the catalog's tiered internet egress price of V GB,

    .. math::

        \text{compute} = P\,(H_\text{on-demand} + (1 - d_s) H_\text{spot}
                          + (1 - d_c) H_\text{committed}),

        \text{egress} = T(V), \qquad
        V = \frac{r \times b \times 10^3 \times 3600\, M}{10^9\, k} \ \text{GB},

        \text{storage} = G\,((1 - a)\, p_\text{storage} + a\, p_\text{archive}),

    with r the average request rate, b ``response_kb``, M ``hours_per_month``, k the
    ``response_compression_ratio``, G the model storage in GB and a the archived fraction.
    With ``"eu_relay"`` the EU share e of V is billed as :math:`T((1 - e) V)` from the
    service's region, plus inter-region transfer of :math:`e V` and its internet egress from
    the EU region, priced on the tiers left after the free allowance the first region used
    (:func:`perfcost.volume_tiers.after_free_use`).

    Parameters
    ----------
    service : InferenceService
        The service and its cost levers.
    catalog : perfcost.pricing.Catalog
        The prices of egress (``internet_egress`` tiers) and transfer (``inter_region``).

    Returns
    -------
    perfcost.line_items.Bill
        The line items of the components "compute", "egress" and "storage", in USD a month.

    Raises
    ------
    perfcost.validation.ParameterError
        If ``service`` is not an :class:`InferenceService` or ``catalog`` not a Catalog.

    References
    ----------
    The shipped catalog (``lib/perfcost/data/aws-us-east-1.yaml``) names a source and date for
    every price; its egress tiers and inter-region price are from Wring (2026), "AWS Data
    Transfer Pricing 2026" (``wring2026egress``).
    """
    service, catalog = check_service(service), check_catalog(catalog)
    return Bill(tuple([
        *_compute_items(service, fleet_for(service)),
        *_egress_items(service, catalog),
        *_storage_items(service),
    ]))


def bills_for_gains(service: InferenceService, gains: Mapping[str, float],
                    catalog: Catalog) -> pd.DataFrame:
    """The fleet and monthly bill of ``service`` at each throughput gain in ``gains``
    (name: gain, each in [0.01, 1,000]): one row per name, columns ``throughput_gain``,
    ``instances`` (at the peak) and ``monthly_usd``.

    Each row is :func:`fleet_for` and :func:`monthly_bill` of ``service`` with its
    ``throughput_gain`` replaced by the gain: per-instance throughput X × gain.

    Parameters
    ----------
    service : InferenceService
        The service priced; its own ``throughput_gain`` is replaced.
    gains : mapping of str to float
        Each row's name and its throughput gain, in [0.01, 1,000].
    catalog : perfcost.pricing.Catalog
        The prices.

    Returns
    -------
    pandas.DataFrame
        Indexed by the names of ``gains``, in their order.

    Raises
    ------
    perfcost.validation.ParameterError
        If ``service`` is not an :class:`InferenceService`, ``catalog`` not a Catalog, or a gain
        is outside [0.01, 1,000].
    """
    rows = {}
    for name, gain in dict(gains).items():
        faster = replace(check_service(service), throughput_gain=gain)
        rows[name] = {"throughput_gain": faster.throughput_gain,
                      "instances": fleet_for(faster).peak_instances,
                      "monthly_usd": monthly_bill(faster, catalog).total_usd}
    return pd.DataFrame.from_dict(rows, orient="index")


# --- The chapter's question ----------------------------------------------------------------------

# The question's fields that describe the service (InferenceService's first eleven but
# egress_route, which the chapter varies itself), and those the
# levers take from it as they are; each is checked by the InferenceService field of its name.
SERVICE_INPUTS = ("request_rate_rps", "request_kb", "response_kb", "eu_egress_fraction",
                  "instance_hourly_usd", "instance_throughput_rps", "model_storage_gb",
                  "storage_usd_per_gb_month", "hours_per_month", "peak_to_average")
_LEVER_INPUTS = ("commitment_discount", "spot_share", "spot_discount", "cache_hit_rate",
                 "response_compression_ratio", "archived_storage_fraction")


def _text(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise ParameterError(name, "text", value)
    return value


def _gain_or_measured(name: str, value: object) -> float:
    """0 (the gain chapter 4 measured, filled in by :meth:`CostQuestion.lever_inputs`) or a gain
    in the service's range."""
    return zero_or(name, value, FIELD_CHECKS["throughput_gain"], "the gain chapter 4 measured")


# Each CostQuestion field's check: the service's own (FIELD_CHECKS) where it is a service field.
_QUESTION_CHECKS: dict[str, Check] = {
    **{name: FIELD_CHECKS[name] for name in (*SERVICE_INPUTS, *_LEVER_INPUTS)},
    "throughput_gain": _gain_or_measured,
    "utilization_target": _number(MIN_UTILIZATION_TARGET, 1.0),
    "savings_target": _share_below_one,
    "block_storage_gb_per_instance": _number(0.0, MAX_VOLUME_GB),
    "archive_storage_class": _text,
    "price_catalog_path": _text,
    "book_root": _text,
}


@dataclass(frozen=True)
class CostQuestion:
    """Chapter 2's inputs, validated on construction; each field is a notebook parameter.

    ``CostQuestion()`` is the chapter's own question. A bad value raises ParameterError naming
    the parameter and its valid range; a field that is also an :class:`InferenceService` field
    is checked by the service's rule (:data:`FIELD_CHECKS`). Three zeros stand for a cited
    figure, filled in by :meth:`lever_inputs`: the two discounts (the low end of the catalog's
    range) and the throughput gain (the one chapter 4 measured).
    """

    request_rate_rps: float = 500.0  # average request rate, (0, 10^6]
    request_kb: float = 50.0  # upload per request (ingress)
    response_kb: float = 10.0  # response per request (egress)
    eu_egress_fraction: float = 0.30  # share of responses to EU clients
    instance_hourly_usd: float = 2.5  # on-demand price of an instance-hour
    instance_throughput_rps: float = 100.0  # requests/s per instance at the target
    utilization_target: float = 0.70  # the target that throughput is measured at, [0.01, 1]
    model_storage_gb: float = 200.0  # model artefacts in object storage
    storage_usd_per_gb_month: float = 0.02  # their price
    hours_per_month: float = HOURS_PER_MONTH  # a billing month, [672, 744]
    savings_target: float = 0.30  # cut the total by this fraction, [0, 1)
    peak_to_average: float = 1.0  # diurnal peak / average, [1, 2]; steady: 1
    commitment_discount: float = 0.0  # 1-yr Standard RI, [0, 1); 0: the catalog's low end
    spot_share: float = 0.4  # share of instances on spot, [0, 1)
    spot_discount: float = 0.0  # [0, 1); 0: the catalog's low end
    throughput_gain: float = 0.0  # 0: the gain chapter 4 measured; else [0.01, 1,000]
    cache_hit_rate: float = 0.0  # share of requests a result cache answers, [0, 1)
    response_compression_ratio: float = 3.0  # response bytes before / after, [1, 1,000]
    archived_storage_fraction: float = 0.75  # share of model storage archived, [0, 1]
    archive_storage_class: str = "glacier_instant_retrieval"  # a storage class of the catalog
    block_storage_gb_per_instance: float = 100.0  # each instance's disk, [0, 16,000]
    price_catalog_path: str = ""  # a catalog YAML; "": the one shipped with perfcost
    book_root: str = ""  # the book chapter 4's gain is read from; "": this one

    def __post_init__(self):
        for f in fields(self):
            value = _QUESTION_CHECKS[f.name](f.name, getattr(self, f.name))
            object.__setattr__(self, f.name, value)
        self.archive(self.catalog())  # the class must be one of the catalog's

    @property
    def service(self) -> InferenceService:
        """The service the question prices, with no cost lever pulled."""
        return InferenceService(**{name: getattr(self, name) for name in SERVICE_INPUTS})

    def catalog(self) -> Catalog:
        """The price catalog at ``price_catalog_path`` ("" loads the one shipped)."""
        return load_catalog(self.price_catalog_path)

    def archive(self, catalog: Catalog) -> Price:
        """The price of ``archive_storage_class`` in ``catalog``."""
        return check_catalog(catalog).storage_class(self.archive_storage_class,
                                               parameter="archive_storage_class")

    def lever_inputs(self, catalog: Catalog, measured_gain: float | None = None
                     ) -> dict[str, float]:
        """The keyword arguments of :func:`perfcost.levers.standard_levers`, each 0 that stands
        for a cited figure filled in: a discount of 0 by the low end of the catalog's range
        (``commitment_1yr``, ``spot``), a throughput gain of 0 by ``measured_gain`` (chapter 4's,
        in [0.01, 1,000]; unused otherwise). The archive is priced at its storage class."""
        catalog = check_catalog(catalog)
        gain = self.throughput_gain or FIELD_CHECKS["throughput_gain"]("measured_gain",
                                                                      measured_gain)
        return {
            "commitment_discount": (self.commitment_discount
                                    or catalog.discount("commitment_1yr").low),
            "spot_share": self.spot_share,
            "spot_discount": self.spot_discount or catalog.discount("spot").low,
            "throughput_gain": gain,
            "cache_hit_rate": self.cache_hit_rate,
            "response_compression_ratio": self.response_compression_ratio,
            "archived_storage_fraction": self.archived_storage_fraction,
            "archive_usd_per_gb_month": self.archive(catalog).usd,
        }
