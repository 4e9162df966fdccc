"""A price catalog kept as data: instance hours, data transfer, storage, and discount ranges.

The catalog is a YAML file (``perfcost/data/aws-us-east-1.yaml`` by default) in which every price
names its source and the date it was read. :func:`load_catalog` checks it against the schema
before anything uses it, so a malformed catalog fails with the file, the entry and what is wrong.
Readers pass their own file to :func:`load_catalog` (and ``price_catalog_path`` in the cost
chapter) to price with their negotiated rates or another region.

Used by chapter 2 (cost breakdown) and the chapters that turn speed-ups into dollars.
"""

from __future__ import annotations

import datetime
import importlib.resources
import math
import numbers
from dataclasses import dataclass
from pathlib import Path

import yaml

from perfcost.validation import ParameterError

__all__ = [
    "DEFAULT_CATALOG",
    "Catalog",
    "CatalogError",
    "DiscountRange",
    "InstancePrice",
    "Price",
    "Source",
    "Tier",
    "load_catalog",
]

DEFAULT_CATALOG = "aws-us-east-1.yaml"


class CatalogError(ValueError):
    """A price catalog that does not follow the schema: names the file, the entry and the fault."""


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

    def instance(self, name: str, parameter: str = "instance type") -> InstancePrice:
        """The instance type ``name``; an unknown name lists the known ones under ``parameter``."""
        return _lookup(self.instances, name, parameter)

    def storage_class(self, name: str, parameter: str = "storage class") -> Price:
        """The storage class ``name`` (price per GB-month); an unknown name lists the known ones."""
        return _lookup(self.storage, name, parameter)

    def discount(self, name: str, parameter: str = "discount") -> DiscountRange:
        """The discount range ``name``; an unknown name lists the known ones."""
        return _lookup(self.discounts, name, parameter)


def _lookup(table: dict, name: str, parameter: str):
    if name not in table:
        raise ParameterError(parameter, f"one of {', '.join(sorted(table))}", name)
    return table[name]


# --- Loading and the schema ----------------------------------------------------------------------

class _Reader:
    """Reads one catalog file, raising CatalogError with the file and the entry at fault."""

    def __init__(self, path: Path):
        self.path = path

    def fail(self, entry: str, problem: str):
        raise CatalogError(f"{self.path}: {entry}: {problem}")

    def mapping(self, value, entry: str) -> dict:
        if not isinstance(value, dict):
            self.fail(entry, f"expected a mapping, got {type(value).__name__}")
        return value

    def field(self, entry_value: dict, key: str, entry: str):
        if key not in entry_value:
            self.fail(entry, f"missing '{key}'")
        return entry_value[key]

    def number(self, entry_value: dict, key: str, entry: str, *, low=0.0, high=math.inf,
               high_open=False) -> float:
        value = self.field(entry_value, key, entry)
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value):
            self.fail(entry, f"'{key}' must be a number, got {value!r}")
        too_high = value >= high if high_open else value > high
        if value < low or too_high:
            bracket = ")" if high_open else "]"
            self.fail(entry, f"'{key}' must be in [{low:g}, {high:g}{bracket}, got {value!r}")
        return float(value)

    def text(self, entry_value: dict, key: str, entry: str) -> str:
        value = self.field(entry_value, key, entry)
        if not isinstance(value, str) or not value:
            self.fail(entry, f"'{key}' must be a non-empty string, got {value!r}")
        return value

    def date(self, entry_value: dict, entry: str) -> datetime.date:
        value = self.field(entry_value, "as_of", entry)
        if isinstance(value, str):
            try:
                value = datetime.date.fromisoformat(value)
            except ValueError:
                pass
        if not isinstance(value, datetime.date):
            self.fail(entry, f"'as_of' must be a date (YYYY-MM-DD), got {value!r}")
        return value

    def source(self, entry_value: dict, entry: str, sources: dict[str, Source]) -> Source:
        key = self.text(entry_value, "source", entry)
        if key not in sources:
            self.fail(entry, f"source '{key}' is not listed under 'sources'")
        return sources[key]


def _read_sources(reader: _Reader, raw: dict) -> dict[str, Source]:
    sources = {}
    for key, value in reader.mapping(reader.field(raw, "sources", "catalog"), "sources").items():
        entry = f"sources.{key}"
        value = reader.mapping(value, entry)
        sources[key] = Source(key, reader.text(value, "title", entry),
                              reader.text(value, "url", entry))
    return sources


def _read_instances(reader, raw, sources) -> dict[str, InstancePrice]:
    instances = {}
    table = reader.mapping(reader.field(raw, "instances", "catalog"), "instances")
    for name, value in table.items():
        entry = f"instances.{name}"
        value = reader.mapping(value, entry)
        kind = reader.text(value, "kind", entry)
        if kind not in {"cpu", "gpu", "accelerator"}:
            reader.fail(entry, f"'kind' must be cpu, gpu or accelerator, got {kind!r}")
        instances[name] = InstancePrice(
            name=name, kind=kind,
            vcpus=int(reader.number(value, "vcpus", entry, low=1)),
            memory_gib=reader.number(value, "memory_gib", entry, low=0),
            accelerator=str(value.get("accelerator") or ""),
            hourly_usd=reader.number(value, "hourly_usd", entry, low=0),
            source=reader.source(value, entry, sources), as_of=reader.date(value, entry),
        )
    return instances


def _read_tiers(reader, value: dict, entry: str) -> tuple[Tier, ...]:
    rows = reader.field(value, "tiers", entry)
    if not isinstance(rows, list) or not rows:
        reader.fail(entry, "'tiers' must be a non-empty list")
    tiers, previous = [], 0.0
    for index, row in enumerate(rows):
        where = f"{entry}.tiers[{index}]"
        row = reader.mapping(row, where)
        last = index == len(rows) - 1
        if last:
            if row.get("up_to_gb") is not None:
                reader.fail(where, "the last tier must have 'up_to_gb: null' (no upper limit)")
            up_to = math.inf
        else:
            up_to = reader.number(row, "up_to_gb", where, low=0)
            if up_to <= previous:
                reader.fail(where, f"'up_to_gb' must increase, got {up_to:g} after {previous:g}")
        tiers.append(Tier(up_to, reader.number(row, "usd_per_gb", where, low=0)))
        previous = up_to
    return tuple(tiers)


def _read_prices(reader, raw, section: str, unit: str, sources) -> dict[str, Price]:
    prices = {}
    for name, value in reader.mapping(reader.field(raw, section, "catalog"), section).items():
        entry = f"{section}.{name}"
        value = reader.mapping(value, entry)
        prices[name] = Price(name, reader.number(value, "usd", entry, low=0), unit,
                             reader.source(value, entry, sources), reader.date(value, entry))
    return prices


def _read_discounts(reader, raw, sources) -> dict[str, DiscountRange]:
    discounts = {}
    table = reader.mapping(reader.field(raw, "discounts", "catalog"), "discounts")
    for name, value in table.items():
        entry = f"discounts.{name}"
        value = reader.mapping(value, entry)
        low = reader.number(value, "low", entry, low=0, high=1, high_open=True)
        high = reader.number(value, "high", entry, low=0, high=1, high_open=True)
        if low > high:
            reader.fail(entry, f"'low' ({low:g}) must not exceed 'high' ({high:g})")
        discounts[name] = DiscountRange(name, low, high, reader.source(value, entry, sources),
                                        reader.date(value, entry))
    return discounts


def load_catalog(path: str | Path | None = None) -> Catalog:
    """Load and check a price catalog; ``None`` (or "") loads the one shipped with perfcost.

    Raises
    ------
    CatalogError
        Naming the file, the entry (``instances.g5.xlarge``, ``egress.internet.tiers[2]``) and
        what is wrong with it.
    """
    if path is None or str(path) == "":
        path = Path(str(importlib.resources.files("perfcost") / "data" / DEFAULT_CATALOG))
    path = Path(path)
    reader = _Reader(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as error:
        raise CatalogError(f"{path}: cannot be read: {error}") from error
    except yaml.YAMLError as error:
        raise CatalogError(f"{path}: not valid YAML: {error}") from error
    raw = reader.mapping(raw, "catalog")
    sources = _read_sources(reader, raw)
    egress = reader.mapping(reader.field(raw, "internet_egress", "catalog"), "internet_egress")
    return Catalog(
        path=path,
        region=reader.text(raw, "region", "catalog"),
        instances=_read_instances(reader, raw, sources),
        internet_egress=_read_tiers(reader, egress, "internet_egress"),
        internet_egress_source=reader.source(egress, "internet_egress", sources),
        internet_egress_as_of=reader.date(egress, "internet_egress"),
        transfer=_read_prices(reader, raw, "transfer", "GB", sources),
        storage=_read_prices(reader, raw, "storage", "GB-month", sources),
        discounts=_read_discounts(reader, raw, sources),
    )
