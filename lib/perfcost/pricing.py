"""A price catalog kept as data: instance hours, data transfer, storage, and discount ranges.

The catalog is a YAML file (``perfcost/data/aws-us-east-1.yaml`` by default) in which every price
names its source and the date it was read. :func:`load_catalog` reads it safely
(:func:`perfcost.files.load_yaml`: size, alias and depth limits, duplicate keys refused) and checks
it against the schema before anything uses it, so a malformed catalog fails with one line: the
file, the entry and what is wrong. Readers pass their own file to :func:`load_catalog` (and
``price_catalog_path`` in the cost chapter) to price with their negotiated rates or another region.

The schema. Top-level keys (:data:`TOP_LEVEL_KEYS`; any other is refused, naming the nearest):
``region`` (text); ``sources`` (key → ``title``, ``url``); ``instances`` (type → ``kind``,
``vcpus``, ``memory_gib``, ``accelerator``, ``hourly_usd``, ``source``, ``as_of``);
``internet_egress`` (``source``, ``as_of``, ``tiers``: ``up_to_gb`` and ``usd_per_gb``, the last
tier ``up_to_gb: null``; a first tier at $0 is the free allowance); ``transfer``, ``storage``,
``block_storage`` and ``load_balancer`` (name → ``usd``, ``source``, ``as_of``);
``load_balancer_capacity_unit`` (dimension → ``value``, ``source``, ``as_of``); ``discounts``
(name → ``low``, ``high``, ``source``, ``as_of``); optionally ``workloads`` (workload → instance
type → ``throughput_rps``, ``latency_ms``, ``latency_statistic``, ``batch``, ``precision``,
``scenario``, ``setup``, ``source``, ``as_of``); optionally ``cache_nodes`` (node type → ``vcpus``
and ``memory_gib``, each a number or null where the source does not say, ``hourly_usd``,
``source``, ``as_of``, and optionally ``ops_per_s`` with its own ``ops_source``, ``ops_as_of`` and
``ops_setup``); optionally ``latencies`` (component → ``quantiles``: two or more of ``p0`` to
``p100`` in ms, never falling as the quantile rises; ``setup``, ``source``, ``as_of``). Any
entry may carry ``quoted``: what its source says, kept for ``tests/test_catalog.py`` and never
read here. Every entry is checked for unknown keys too.

Required entries (:data:`REQUIRED_ENTRIES`), the ones chapter 2 reads by name:
``transfer.ingress``, ``transfer.inter_region``, ``discounts.commitment_1yr``,
``discounts.spot``, ``block_storage.gp3``, ``load_balancer.hourly``, ``load_balancer.lcu_hour``
and two LCU dimensions; at least :data:`MIN_EGRESS_TIERS` egress tier; at least one source,
instance type and storage class (the archive class is a chapter parameter, so none is required
by name). A workload's instance types must be in ``instances`` (right-sizing prices them).

Limits: every number is finite. ``hourly_usd`` in (0, 1,000]; per-GB prices (egress, transfer,
storage and block storage per GB-month, load balancer per hour) in [0, 10]; tier bounds in
(0, 10^9] GB; ``vcpus`` a whole number in [1, 4,096]; ``memory_gib`` in (0, 100,000]; discounts
in [0, 1); LCU dimensions in (0, 10^9]; throughputs in (0, 10^6] requests/s, latencies in
(0, 60,000] ms, batches whole in [1, 4,096] or null; cache node operations in (0, 10^9] per
second; latency quantiles in (0, 60,000] ms; ``as_of`` a date. Egress tiers never
get dearer with volume (only a free first tier may precede a paid one): a rising ladder is
refused, since the cost model (and chapter 2's relay argument) assumes volume discounts.

Used by chapter 2 (cost breakdown) and the chapters that turn speed-ups into dollars.
"""

from __future__ import annotations

import datetime
import difflib
import importlib.resources
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

from perfcost.files import InputFileError, load_yaml
from perfcost.validation import ParameterError, in_range, integer_in_range

__all__ = [
    "DEFAULT_CATALOG",
    "MAX_EGRESS_TIERS",
    "MIN_EGRESS_TIERS",
    "REQUIRED_ENTRIES",
    "TOP_LEVEL_KEYS",
    "CacheNode",
    "Catalog",
    "CatalogError",
    "DiscountRange",
    "Figure",
    "InstancePrice",
    "LatencyFigure",
    "Price",
    "Source",
    "Tier",
    "Workload",
    "load_catalog",
]

DEFAULT_CATALOG = "aws-us-east-1.yaml"
TOP_LEVEL_KEYS = ("region", "sources", "instances", "internet_egress", "transfer", "storage",
                  "block_storage", "load_balancer", "load_balancer_capacity_unit", "discounts",
                  "workloads", "cache_nodes", "latencies")
# Entries chapter 2 reads by name: a catalog without them fails at load, not mid-chapter.
REQUIRED_ENTRIES = {"transfer": ("inter_region", "ingress"),
                    "discounts": ("commitment_1yr", "spot"),
                    "block_storage": ("gp3",),
                    "load_balancer": ("hourly", "lcu_hour"),
                    "load_balancer_capacity_unit": ("processed_gb_per_hour",
                                                    "new_connections_per_s")}
MIN_EGRESS_TIERS = 1  # one flat price is a valid ladder; the chapter walks every tier
MAX_EGRESS_TIERS = 100  # published ladders have four or five
MAX_HOURLY_USD = 1_000.0  # the largest cloud instances cost under $100/h
MAX_USD_PER_GB = 10.0  # ~100x the dearest published egress price; beyond it, a unit mistake
MAX_TIER_GB = 1e9  # an exabyte a month
MAX_VCPUS = 4_096
MAX_MEMORY_GIB = 100_000.0  # the largest instances hold ~32 TiB
MAX_TEXT_CHARS = 1_000
MAX_LCU_DIMENSION = 1e9
MAX_WORKLOAD_RPS = 1e6  # the cost model's largest request rate
MAX_WORKLOAD_MS = 60_000.0  # a minute: beyond is a batch job, not serving
MAX_BATCH = 4_096
MAX_QUOTED_DEPTH = 3
MAX_CACHE_OPS_PER_S = 1e9
MIN_QUANTILES = 2  # a distribution needs a centre and a tail


class CatalogError(InputFileError):
    """A price catalog that cannot be used: names the file, the entry and the fault, on one line."""


@dataclass(frozen=True)
class Source:
    """Where prices came from."""

    key: str
    title: str
    url: str


@dataclass(frozen=True)
class Price:
    """One price with its unit, source and the date it was read."""

    name: str
    usd: float
    unit: str
    source: Source
    as_of: datetime.date


@dataclass(frozen=True)
class InstancePrice:
    """The on-demand hourly price of an instance type, and what the type is."""

    name: str
    kind: str  # "cpu", "gpu" or "accelerator"
    vcpus: int
    memory_gib: float
    accelerator: str
    hourly_usd: float
    source: Source
    as_of: datetime.date


@dataclass(frozen=True)
class Tier:
    """A volume tier: ``usd_per_gb`` for the gigabytes above the previous tier, up to
    ``up_to_gb`` a month (``math.inf`` for the last tier)."""

    up_to_gb: float
    usd_per_gb: float


@dataclass(frozen=True)
class DiscountRange:
    """A published range of discounts off the on-demand price, as fractions in [0, 1)."""

    name: str
    low: float
    high: float
    source: Source
    as_of: datetime.date


@dataclass(frozen=True)
class Figure:
    """A non-price figure with its source and date (what one load balancer capacity unit holds)."""

    name: str
    value: float
    source: Source
    as_of: datetime.date


@dataclass(frozen=True)
class Workload:
    """Published throughput of one workload on one instance type, with its setup and source."""

    instance: str
    throughput_rps: float  # at full load, in the setup described
    latency_ms: float  # the statistic ``latency_statistic`` names
    latency_statistic: str  # "p99", "p50", "mean"
    batch: int | None  # None where the server batched dynamically
    precision: str  # "INT8", "BF16 matmul, FP32 elsewhere"
    scenario: str  # the benchmark scenario: "MLPerf Server", "fixed batch"
    setup: str
    source: Source
    as_of: datetime.date


@dataclass(frozen=True)
class CacheNode:
    """The on-demand hourly price of a cache node type and, where published, how many operations
    one node answers (``ops_per_s``, with its own source, date and setup)."""

    name: str
    vcpus: int | None  # None where the source does not state it
    memory_gib: float | None
    hourly_usd: float
    source: Source
    as_of: datetime.date
    ops_per_s: float | None = None
    ops_source: Source | None = None
    ops_as_of: datetime.date | None = None
    ops_setup: str = ""


@dataclass(frozen=True)
class LatencyFigure:
    """A published latency distribution of one component (a network round trip, a cache GET):
    ``quantiles`` maps "p50", "p99"... (p0 the smallest sample, p100 the largest) to milliseconds,
    in rising quantile order."""

    name: str
    quantiles: dict[str, float]
    setup: str
    source: Source
    as_of: datetime.date


@dataclass(frozen=True)
class Catalog:
    """A loaded, checked price catalog.

    ``internet_egress`` holds the tiers of data transfer out to the internet; ``transfer`` the
    flat per-GB transfer prices (``inter_region``, ``ingress``); ``storage`` one Price per
    storage class, per GB-month.
    """

    path: Path
    region: str
    instances: dict[str, InstancePrice]
    internet_egress: tuple[Tier, ...]
    internet_egress_source: Source
    internet_egress_as_of: datetime.date
    transfer: dict[str, Price]
    storage: dict[str, Price]
    discounts: dict[str, DiscountRange]
    block_storage: dict[str, Price] = field(default_factory=dict)  # per GB-month
    load_balancer: dict[str, Price] = field(default_factory=dict)  # per hour, per LCU-hour
    load_balancer_capacity_unit: dict[str, Figure] = field(default_factory=dict)
    workloads: dict[str, dict[str, Workload]] = field(default_factory=dict)  # name → type → ...
    cache_nodes: dict[str, CacheNode] = field(default_factory=dict)  # node type → ...
    latencies: dict[str, LatencyFigure] = field(default_factory=dict)  # component → ...

    def instance(self, name: str, parameter: str = "instance type") -> InstancePrice:
        """The instance type ``name``; an unknown name lists the known ones under ``parameter``."""
        return _lookup(self.instances, name, parameter)

    def storage_class(self, name: str, parameter: str = "storage class") -> Price:
        """The storage class ``name`` (price per GB-month); an unknown name lists the known ones."""
        return _lookup(self.storage, name, parameter)

    def discount(self, name: str, parameter: str = "discount") -> DiscountRange:
        """The discount range ``name``; an unknown name lists the known ones."""
        return _lookup(self.discounts, name, parameter)

    def workload(self, name: str) -> dict[str, Workload]:
        """The published throughputs of workload ``name`` by instance type ({} if none)."""
        return dict(self.workloads.get(name, {})) if isinstance(name, str) else {}


def _lookup(table: dict, name: str, parameter: str):
    if not isinstance(name, str) or name not in table:
        raise ParameterError(parameter, f"one of {', '.join(sorted(table))}", name)
    return table[name]


# --- Loading and the schema ----------------------------------------------------------------------

class _Reader:
    """Reads one catalog file, raising CatalogError with the file and the entry at fault."""

    def __init__(self, path: Path):
        self.path = path

    def fail(self, entry: str, problem: str) -> NoReturn:
        raise CatalogError(f"{self.path}: {entry}: {problem}")

    def mapping(self, value, entry: str, keys: tuple[str, ...] | None = None) -> dict:
        """``value`` as a mapping; with ``keys``, any other key is refused naming the nearest."""
        if not isinstance(value, dict):
            got = "nothing" if value is None else f"a {type(value).__name__}"
            self.fail(entry, f"expected a mapping, got {got}")
        for key in value:
            if keys is not None and key not in keys:
                near = difflib.get_close_matches(str(key), keys, n=1)
                hint = f"did you mean '{near[0]}'?" if near else f"known: {', '.join(keys)}"
                self.fail(entry, f"unknown key {key!r}; {hint}")
        return value

    def table(self, raw: dict, section: str, fields: tuple[str, ...]) -> dict[str, dict]:
        """A top-level section of named entries, each a mapping with only ``fields`` (and an
        optional ``quoted``, checked for shape only)."""
        table = self.mapping(self.field(raw, section, "catalog"), section)
        for name, value in table.items():
            if not isinstance(name, str) or not name:
                self.fail(section, f"entry names must be text, got {name!r}")
            self.mapping(value, f"{section}.{name}", (*fields, "quoted"))
            self.quoted(value, f"{section}.{name}")
        for name in REQUIRED_ENTRIES.get(section, ()):
            if name not in table:
                self.fail(section, f"missing the entry '{name}' (chapter 2 reads it)")
        if not table:
            self.fail(section, "needs at least one entry")
        return table

    def quoted(self, entry_value: dict, entry: str) -> None:
        """``quoted``, if present: numbers or text, in lists and mappings at most 3 deep."""
        def fits(value, depth: int) -> bool:
            if isinstance(value, bool) or depth > MAX_QUOTED_DEPTH:
                return False
            if isinstance(value, int | float):
                return math.isfinite(value)
            if isinstance(value, str):
                return len(value) <= MAX_TEXT_CHARS
            items = value.values() if isinstance(value, dict) else value
            return isinstance(value, dict | list) and all(fits(v, depth + 1) for v in items)

        if "quoted" in entry_value and not fits(entry_value["quoted"], 1):
            self.fail(entry, "'quoted' must be numbers or text, in lists or mappings at most "
                             f"{MAX_QUOTED_DEPTH} deep")

    def field(self, entry_value: dict, key: str, entry: str):
        if key not in entry_value:
            self.fail(entry, f"missing '{key}'")
        return entry_value[key]

    def number(self, entry_value: dict, key: str, entry: str, *, low=0.0, high=MAX_USD_PER_GB,
               low_open=False, high_open=False) -> float:
        try:
            return in_range(f"'{key}'", self.field(entry_value, key, entry), low, high,
                            low_open=low_open, high_open=high_open)
        except ParameterError as error:
            self.fail(entry, str(error))

    def whole(self, entry_value: dict, key: str, entry: str, *, low: int, high: int) -> int:
        try:
            return integer_in_range(f"'{key}'", self.field(entry_value, key, entry), low, high)
        except ParameterError as error:
            self.fail(entry, str(error))

    def text(self, entry_value: dict, key: str, entry: str) -> str:
        value = self.field(entry_value, key, entry)
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT_CHARS:
            self.fail(entry, f"'{key}' must be text of 1 to {MAX_TEXT_CHARS:,} characters, "
                             f"got {_shown(value)}")
        return value

    def date(self, entry_value: dict, entry: str) -> datetime.date:
        value = self.field(entry_value, "as_of", entry)
        if isinstance(value, str):
            try:
                value = datetime.date.fromisoformat(value)
            except ValueError:
                pass
        if isinstance(value, datetime.datetime):  # 2026-01-19T13:23:24Z: the day is enough
            value = value.date()
        if not isinstance(value, datetime.date):
            self.fail(entry, f"'as_of' must be a date (YYYY-MM-DD), got {_shown(value)}")
        return value

    def source(self, entry_value: dict, entry: str, sources: dict[str, Source]) -> Source:
        key = self.text(entry_value, "source", entry)
        if key not in sources:
            self.fail(entry, f"source '{key}' is not listed under 'sources'")
        return sources[key]


def _shown(value: object) -> str:
    text = repr(value).replace("\n", " ")
    return text if len(text) <= 80 else text[:77] + "..."


_PRICE_FIELDS = ("usd", "source", "as_of")
_FIGURE_FIELDS = ("value", "source", "as_of")
_INSTANCE_FIELDS = ("kind", "vcpus", "memory_gib", "accelerator", "hourly_usd", "source", "as_of")
_WORKLOAD_FIELDS = ("throughput_rps", "latency_ms", "latency_statistic", "batch", "precision",
                    "scenario", "setup", "source", "as_of")
_CACHE_NODE_FIELDS = ("vcpus", "memory_gib", "hourly_usd", "source", "as_of", "ops_per_s",
                      "ops_source", "ops_as_of", "ops_setup")
_OPS_FIELDS = ("ops_source", "ops_as_of", "ops_setup")
_LATENCY_FIELDS = ("quantiles", "setup", "source", "as_of")


def _read_sources(reader: _Reader, raw: dict) -> dict[str, Source]:
    return {key: Source(key, reader.text(value, "title", f"sources.{key}"),
                        reader.text(value, "url", f"sources.{key}"))
            for key, value in reader.table(raw, "sources", ("title", "url")).items()}


def _read_instance(reader: _Reader, name: str, value: dict, sources) -> InstancePrice:
    entry = f"instances.{name}"
    kind = reader.text(value, "kind", entry)
    if kind not in {"cpu", "gpu", "accelerator"}:
        reader.fail(entry, f"'kind' must be cpu, gpu or accelerator, got {kind!r}")
    accelerator = value.get("accelerator")
    if accelerator is not None and not isinstance(accelerator, str):
        reader.fail(entry, f"'accelerator' must be text or null, got {_shown(accelerator)}")
    return InstancePrice(
        name=name, kind=kind,
        vcpus=reader.whole(value, "vcpus", entry, low=1, high=MAX_VCPUS),
        memory_gib=reader.number(value, "memory_gib", entry, high=MAX_MEMORY_GIB, low_open=True),
        accelerator=accelerator or "",
        hourly_usd=reader.number(value, "hourly_usd", entry, high=MAX_HOURLY_USD, low_open=True),
        source=reader.source(value, entry, sources), as_of=reader.date(value, entry),
    )


def _read_instances(reader, raw, sources) -> dict[str, InstancePrice]:
    return {name: _read_instance(reader, name, value, sources)
            for name, value in reader.table(raw, "instances", _INSTANCE_FIELDS).items()}


def _read_tiers(reader, value: dict, entry: str) -> tuple[Tier, ...]:
    rows = reader.field(value, "tiers", entry)
    if not isinstance(rows, list) or not MIN_EGRESS_TIERS <= len(rows) <= MAX_EGRESS_TIERS:
        reader.fail(entry, f"'tiers' must be a list of {MIN_EGRESS_TIERS} to {MAX_EGRESS_TIERS}"
                           " tiers")
    tiers, previous = [], 0.0
    for index, row in enumerate(rows):
        where = f"{entry}.tiers[{index}]"
        row = reader.mapping(row, where, ("up_to_gb", "usd_per_gb"))
        last = index == len(rows) - 1
        if last:
            if reader.field(row, "up_to_gb", where) is not None:
                reader.fail(where, "the last tier must have 'up_to_gb: null' (no upper limit)")
            up_to = math.inf
        else:
            up_to = reader.number(row, "up_to_gb", where, high=MAX_TIER_GB, low_open=True)
            if up_to <= previous:
                reader.fail(where, f"'up_to_gb' must increase, got {up_to:g} after {previous:g}")
        price = reader.number(row, "usd_per_gb", where)
        if index and price > tiers[-1].usd_per_gb and not (index == 1
                                                           and tiers[0].usd_per_gb == 0):
            reader.fail(where, f"'usd_per_gb' rises from {tiers[-1].usd_per_gb:g} to "
                               f"{price:g}; tiers must not get dearer with volume (only a "
                               "free first tier may precede a paid one)")
        tiers.append(Tier(up_to, price))
        previous = up_to
    return tuple(tiers)


def _read_prices(reader, raw, section: str, unit: str, sources) -> dict[str, Price]:
    return {name: Price(name, reader.number(value, "usd", f"{section}.{name}"), unit,
                        reader.source(value, f"{section}.{name}", sources),
                        reader.date(value, f"{section}.{name}"))
            for name, value in reader.table(raw, section, _PRICE_FIELDS).items()}


def _read_figures(reader, raw, section: str, sources) -> dict[str, Figure]:
    return {name: Figure(name, reader.number(value, "value", f"{section}.{name}",
                                             high=MAX_LCU_DIMENSION, low_open=True),
                         reader.source(value, f"{section}.{name}", sources),
                         reader.date(value, f"{section}.{name}"))
            for name, value in reader.table(raw, section, _FIGURE_FIELDS).items()}


def _read_workload(reader, instance: str, value: dict, entry: str, sources) -> Workload:
    batch = reader.field(value, "batch", entry)
    return Workload(
        instance=instance,
        throughput_rps=reader.number(value, "throughput_rps", entry, high=MAX_WORKLOAD_RPS,
                                     low_open=True),
        latency_ms=reader.number(value, "latency_ms", entry, high=MAX_WORKLOAD_MS,
                                 low_open=True),
        latency_statistic=reader.text(value, "latency_statistic", entry),
        precision=reader.text(value, "precision", entry),
        scenario=reader.text(value, "scenario", entry),
        batch=None if batch is None else reader.whole(value, "batch", entry, low=1,
                                                      high=MAX_BATCH),
        setup=reader.text(value, "setup", entry), source=reader.source(value, entry, sources),
        as_of=reader.date(value, entry))


def _read_workloads(reader, raw, sources, instances) -> dict[str, dict[str, Workload]]:
    """The optional ``workloads`` section: each instance type must be one the catalog prices."""
    if "workloads" not in raw:
        return {}
    workloads = {}
    for name, table in reader.mapping(raw["workloads"], "workloads").items():
        entries = reader.table({name: table}, name, _WORKLOAD_FIELDS)
        for instance in entries:
            if instance not in instances:
                reader.fail(f"workloads.{name}.{instance}", "not an instance type of the "
                            "catalog's 'instances' (right-sizing prices it from there)")
        workloads[name] = {instance: _read_workload(reader, instance, value,
                                                    f"workloads.{name}.{instance}", sources)
                           for instance, value in entries.items()}
    return workloads


def _read_cache_node(reader, name: str, value: dict, sources) -> CacheNode:
    entry = f"cache_nodes.{name}"
    vcpus = reader.field(value, "vcpus", entry)
    memory = reader.field(value, "memory_gib", entry)
    node = dict(
        name=name,
        vcpus=None if vcpus is None else reader.whole(value, "vcpus", entry, low=1,
                                                      high=MAX_VCPUS),
        memory_gib=None if memory is None else reader.number(value, "memory_gib", entry,
                                                             high=MAX_MEMORY_GIB, low_open=True),
        hourly_usd=reader.number(value, "hourly_usd", entry, high=MAX_HOURLY_USD, low_open=True),
        source=reader.source(value, entry, sources), as_of=reader.date(value, entry))
    if value.get("ops_per_s") is None:
        stray = [key for key in _OPS_FIELDS if key in value]
        if stray:
            reader.fail(entry, f"'{stray[0]}' describes 'ops_per_s', which is missing")
        return CacheNode(**node)
    ops = {key[len("ops_"):]: value[key] for key in _OPS_FIELDS if key in value}
    ops_entry = f"{entry} (ops_per_s)"
    return CacheNode(
        **node,
        ops_per_s=reader.number(value, "ops_per_s", entry, high=MAX_CACHE_OPS_PER_S,
                                low_open=True),
        ops_source=reader.source(ops, ops_entry, sources),
        ops_as_of=reader.date(ops, ops_entry),
        ops_setup=reader.text(ops, "setup", ops_entry))


def _read_cache_nodes(reader, raw, sources) -> dict[str, CacheNode]:
    """The optional ``cache_nodes`` section."""
    if "cache_nodes" not in raw:
        return {}
    return {name: _read_cache_node(reader, name, value, sources)
            for name, value in reader.table(raw, "cache_nodes", _CACHE_NODE_FIELDS).items()}


def _quantile_level(name) -> float | None:
    """50.0 for "p50", 99.9 for "p99.9"; None for anything that is not p0 to p100."""
    if not isinstance(name, str) or not name.startswith("p"):
        return None
    try:
        level = float(name[1:])
    except ValueError:
        return None
    return level if 0 <= level <= 100 and name[1:].replace(".", "", 1).isdigit() else None


def _read_latency(reader, name: str, value: dict, sources) -> LatencyFigure:
    entry = f"latencies.{name}"
    table = reader.mapping(reader.field(value, "quantiles", entry), f"{entry}.quantiles")
    if len(table) < MIN_QUANTILES:
        reader.fail(entry, f"'quantiles' needs at least {MIN_QUANTILES} (a centre and a tail, "
                           f"e.g. p50 and p99), got {len(table)}")
    levels = {}
    for key in table:
        level = _quantile_level(key)
        if level is None:
            reader.fail(entry, f"quantile {key!r} must be p0 to p100 (p50, p99, p99.9)")
        levels[key] = level
    quantiles, previous = {}, None
    for key in sorted(table, key=levels.get):
        ms = reader.number(table, key, f"{entry}.quantiles", high=MAX_WORKLOAD_MS, low_open=True)
        if previous is not None and ms < previous[1]:
            reader.fail(entry, f"quantile {key} ({ms:g} ms) is below {previous[0]} "
                               f"({previous[1]:g} ms); latency cannot fall as the quantile rises")
        quantiles[key] = ms
        previous = (key, ms)
    return LatencyFigure(name, quantiles, reader.text(value, "setup", entry),
                         reader.source(value, entry, sources), reader.date(value, entry))


def _read_latencies(reader, raw, sources) -> dict[str, LatencyFigure]:
    """The optional ``latencies`` section."""
    if "latencies" not in raw:
        return {}
    return {name: _read_latency(reader, name, value, sources)
            for name, value in reader.table(raw, "latencies", _LATENCY_FIELDS).items()}


def _read_discounts(reader, raw, sources) -> dict[str, DiscountRange]:
    discounts = {}
    table = reader.table(raw, "discounts", ("low", "high", "source", "as_of"))
    for name, value in table.items():
        entry = f"discounts.{name}"
        low = reader.number(value, "low", entry, high=1, high_open=True)
        high = reader.number(value, "high", entry, high=1, high_open=True)
        if low > high:
            reader.fail(entry, f"'low' ({low:g}) must not exceed 'high' ({high:g})")
        discounts[name] = DiscountRange(name, low, high, reader.source(value, entry, sources),
                                        reader.date(value, entry))
    return discounts


def _read_file(path: Path) -> dict:
    """The catalog file's top-level mapping, read safely; CatalogError if it cannot be."""
    try:
        raw = load_yaml(path, what="price catalog")
    except InputFileError as error:
        raise CatalogError(str(error)) from None
    reader = _Reader(path)
    if raw is None:
        reader.fail("catalog", f"the file is empty; expected the keys {', '.join(TOP_LEVEL_KEYS)}")
    return reader.mapping(raw, "catalog", TOP_LEVEL_KEYS)


def load_catalog(path: str | Path | None = None) -> Catalog:
    """Load and check a price catalog; ``None`` (or "") loads the one shipped with perfcost.

    The file is read safely (:func:`perfcost.files.load_yaml`) and checked against the schema
    and limits of the module docstring before anything is returned: every price has a source
    and a date, every number is finite and in range, and egress tiers never get dearer with
    volume.

    Parameters
    ----------
    path : str or os.PathLike or None, optional
        The catalog's YAML file; ``None`` or "" for :data:`DEFAULT_CATALOG`, shipped in
        ``perfcost/data``.

    Returns
    -------
    Catalog
        The checked catalog: prices in USD (per hour, per GB or per GB-month), each with its
        :class:`Source` and ``as_of`` date.

    Raises
    ------
    CatalogError
        Naming the file, the entry (``instances.g5.xlarge``, ``internet_egress.tiers[2]``) and
        what is wrong with it, on one line (see the module docstring for the schema).
    perfcost.validation.ParameterError
        If ``path`` is neither text nor a path.

    References
    ----------
    The shipped catalog (us-east-1) cites, among others (``book/references.bib`` keys):
    instance prices, ``karpenter2026pricing`` (AWS Price List API, 2026-01-19); internet egress
    and inter-region transfer, ``wring2026egress``; free ingress, ``awsnetworkfaq``;
    commitment discounts, ``vantage2025reserved``; spot discounts, ``spotadvisor2026snapshot``;
    the load balancer, ``cloudhorizons2026alb`` and ``awsnegotiations2026elb``; gp3 block
    storage, ``saisci2021gp3``. Each entry's ``source`` names its own.
    """
    if path is None or (isinstance(path, str) and path == ""):
        path = Path(str(importlib.resources.files("perfcost") / "data" / DEFAULT_CATALOG))
    if not isinstance(path, str | os.PathLike):
        raise ParameterError("path", "the path of a price catalog file (text)", path)
    path = Path(path)
    raw = _read_file(path)
    reader = _Reader(path)
    sources = _read_sources(reader, raw)
    egress = reader.mapping(reader.field(raw, "internet_egress", "catalog"), "internet_egress",
                            ("source", "as_of", "tiers", "quoted"))
    reader.quoted(egress, "internet_egress")
    instances = _read_instances(reader, raw, sources)
    return Catalog(
        path=path,
        region=reader.text(raw, "region", "catalog"),
        instances=instances,
        internet_egress=_read_tiers(reader, egress, "internet_egress"),
        internet_egress_source=reader.source(egress, "internet_egress", sources),
        internet_egress_as_of=reader.date(egress, "internet_egress"),
        transfer=_read_prices(reader, raw, "transfer", "GB", sources),
        storage=_read_prices(reader, raw, "storage", "GB-month", sources),
        discounts=_read_discounts(reader, raw, sources),
        block_storage=_read_prices(reader, raw, "block_storage", "GB-month", sources),
        load_balancer=_read_prices(reader, raw, "load_balancer", "hour", sources),
        load_balancer_capacity_unit=_read_figures(reader, raw, "load_balancer_capacity_unit",
                                                  sources),
        workloads=_read_workloads(reader, raw, sources, instances),
        cache_nodes=_read_cache_nodes(reader, raw, sources),
        latencies=_read_latencies(reader, raw, sources),
    )
