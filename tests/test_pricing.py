"""The price catalog: the shipped one loads, and a malformed one fails naming file, entry, fault."""

import datetime
import math
from pathlib import Path

import pytest
import yaml

from perfcost.pricing import CatalogError, load_catalog
from perfcost.validation import ParameterError


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


@pytest.fixture(scope="module")
def raw():
    return yaml.safe_load(load_catalog().path.read_text())


def test_the_shipped_catalog_has_what_the_book_uses(catalog):
    assert catalog.region == "us-east-1"
    for name in ("c6i.2xlarge", "c7i.2xlarge", "g4dn.xlarge", "g5.xlarge", "inf2.xlarge"):
        assert catalog.instance(name).hourly_usd > 0
    assert {catalog.instance(n).kind for n in catalog.instances} == {"cpu", "gpu", "accelerator"}
    assert [t.usd_per_gb for t in catalog.internet_egress] == [0.09, 0.085, 0.07, 0.05]
    assert [t.up_to_gb for t in catalog.internet_egress][:3] == [10_000, 50_000, 150_000]
    assert math.isinf(catalog.internet_egress[-1].up_to_gb)
    assert catalog.transfer["inter_region"].usd == 0.02
    assert catalog.transfer["ingress"].usd == 0.0
    classes = {"standard", "standard_infrequent_access", "glacier_deep_archive"}
    assert classes <= set(catalog.storage)
    spot = catalog.discount("spot")
    assert 0 <= spot.low <= spot.high < 1


def test_every_price_has_a_source_and_a_date(catalog):
    priced = [*catalog.instances.values(), *catalog.transfer.values(), *catalog.storage.values(),
              *catalog.discounts.values()]
    for price in priced:
        assert price.source.url.startswith("https://") and price.source.title
        assert isinstance(price.as_of, datetime.date)


def test_unknown_names_list_the_known_ones(catalog):
    with pytest.raises(ParameterError, match=r"archive_storage_class must be one of glacier_deep"):
        catalog.storage_class("tape", parameter="archive_storage_class")
    with pytest.raises(ParameterError, match=r"instance type must be one of .*g5\.xlarge"):
        catalog.instance("p5.48xlarge")


def write(tmp_path: Path, data) -> Path:
    path = tmp_path / "prices.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def broken(raw, edit):
    data = yaml.safe_load(yaml.safe_dump(raw))
    edit(data)
    return data


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["instances"]["g5.xlarge"].pop("hourly_usd"),
         r"instances\.g5\.xlarge: missing 'hourly_usd'"),
        (lambda d: d["instances"]["g5.xlarge"].update(hourly_usd="cheap"),
         r"instances\.g5\.xlarge: 'hourly_usd' must be a number"),
        (lambda d: d["instances"]["g5.xlarge"].update(kind="tpu"),
         r"instances\.g5\.xlarge: 'kind' must be cpu, gpu or accelerator"),
        (lambda d: d["instances"]["g5.xlarge"].update(source="nowhere"),
         r"instances\.g5\.xlarge: source 'nowhere' is not listed"),
        (lambda d: d["instances"]["g5.xlarge"].update(as_of="last week"),
         r"instances\.g5\.xlarge: 'as_of' must be a date"),
        (lambda d: d["internet_egress"]["tiers"][1].update(up_to_gb=5000),
         r"internet_egress\.tiers\[1\]: 'up_to_gb' must increase"),
        (lambda d: d["internet_egress"]["tiers"][3].update(up_to_gb=999999),
         r"internet_egress\.tiers\[3\]: the last tier must have 'up_to_gb: null'"),
        (lambda d: d["internet_egress"]["tiers"][0].update(usd_per_gb=-0.09),
         r"internet_egress\.tiers\[0\]: 'usd_per_gb' must be in \[0, inf\]"),
        (lambda d: d["discounts"]["spot"].update(low=0.9),
         r"discounts\.spot: 'low' \(0\.9\) must not exceed 'high'"),
        (lambda d: d["discounts"]["spot"].update(high=1.2),
         r"discounts\.spot: 'high' must be in \[0, 1\)"),
        (lambda d: d.pop("storage"), r"catalog: missing 'storage'"),
        (lambda d: d["storage"].update(standard=0.023), r"storage\.standard: expected a mapping"),
    ],
)
def test_malformed_catalogs_name_file_entry_and_fault(tmp_path, raw, edit, message):
    path = write(tmp_path, broken(raw, edit))
    with pytest.raises(CatalogError, match=message) as caught:
        load_catalog(path)
    assert str(caught.value).startswith(str(path))


def test_a_reader_can_pass_their_own_catalog(tmp_path, raw):
    data = broken(raw, lambda d: d["internet_egress"]["tiers"][0].update(usd_per_gb=0.05))
    assert load_catalog(write(tmp_path, data)).internet_egress[0].usd_per_gb == 0.05


def test_unreadable_and_invalid_files(tmp_path):
    with pytest.raises(CatalogError, match="cannot be read"):
        load_catalog(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("region: [unclosed\n")
    with pytest.raises(CatalogError, match="not valid YAML"):
        load_catalog(bad)
    listing = tmp_path / "list.yaml"
    listing.write_text("- 1\n")
    with pytest.raises(CatalogError, match="catalog: expected a mapping"):
        load_catalog(listing)
