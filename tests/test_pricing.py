"""The price catalog: the shipped one loads, and a malformed one fails naming file, entry, fault."""

import datetime
import math
import re
import time
from pathlib import Path

import pytest
import yaml

from perfcost.files import InputFileError
from perfcost.pricing import (
    MIN_EGRESS_TIERS,
    REQUIRED_ENTRIES,
    CatalogError,
    Tier,
    load_catalog,
)
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
    assert [t.usd_per_gb for t in catalog.internet_egress] == [0.0, 0.09, 0.085, 0.07, 0.05]
    assert [t.up_to_gb for t in catalog.internet_egress][:4] == [100, 10_000, 50_000, 150_000]
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
        (lambda d: d["internet_egress"]["tiers"][2].update(up_to_gb=5000),
         r"internet_egress\.tiers\[2\]: 'up_to_gb' must increase"),
        (lambda d: d["internet_egress"]["tiers"][4].update(up_to_gb=999999),
         r"internet_egress\.tiers\[4\]: the last tier must have 'up_to_gb: null'"),
        (lambda d: d["internet_egress"]["tiers"][0].update(usd_per_gb=-0.09),
         r"internet_egress\.tiers\[0\]: 'usd_per_gb' must be a number in \[0, 10\]"),
        (lambda d: d["discounts"]["spot"].update(low=0.9),
         r"discounts\.spot: 'low' \(0\.9\) must not exceed 'high'"),
        (lambda d: d["discounts"]["spot"].update(high=1.2),
         r"discounts\.spot: 'high' must be a number in \[0, 1\)"),
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
    data = broken(raw, lambda d: d["internet_egress"]["tiers"][1].update(usd_per_gb=0.088))
    assert load_catalog(write(tmp_path, data)).internet_egress[1].usd_per_gb == 0.088


@pytest.mark.parametrize(("tiers", "where"), [
    ([{"up_to_gb": 10000, "usd_per_gb": 0.05}, {"up_to_gb": None, "usd_per_gb": 0.09}], 1),
    ([{"up_to_gb": 100, "usd_per_gb": 0.0}, {"up_to_gb": 10000, "usd_per_gb": 0.05},
      {"up_to_gb": None, "usd_per_gb": 0.09}], 2),
])
def test_tier_prices_that_rise_with_volume_are_refused_in_one_line(tmp_path, raw, tiers, where):
    data = broken(raw, lambda d: d["internet_egress"].update(tiers=tiers))
    with pytest.raises(CatalogError, match=rf": internet_egress\.tiers\[{where}\]: 'usd_per_gb' "
                                           r"rises from 0\.05 to 0\.09; tiers must not get "
                                           r"dearer with volume"):
        load_catalog(write(tmp_path, data))

def test_unreadable_and_invalid_files(tmp_path):
    with pytest.raises(CatalogError, match="cannot read the price catalog"):
        load_catalog(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("region: [unclosed\n")
    with pytest.raises(CatalogError, match="not valid YAML"):
        load_catalog(bad)
    listing = tmp_path / "list.yaml"
    listing.write_text("- 1\n")
    with pytest.raises(CatalogError, match="catalog: expected a mapping"):
        load_catalog(listing)


# --- Files that are not catalogs, and catalogs chapter 2 cannot use ---------------------------

SHIPPED = load_catalog().path


def write_text(tmp_path: Path, text: str | bytes, name: str = "prices.yaml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def refused(path: Path, pattern: str) -> str:
    """load_catalog(path) must fail fast with one line: the file, then ``pattern``."""
    start = time.perf_counter()
    with pytest.raises(CatalogError) as caught:
        load_catalog(path)
    message = str(caught.value)
    assert time.perf_counter() - start < 2.0
    assert "\n" not in message, message
    assert message.startswith(f"{path}: "), message
    assert re.search(pattern, message[len(str(path)) + 2:]), message
    return message


def shipped_with(old: str, new: str) -> str:
    text = SHIPPED.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    return text.replace(old, new)


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("region: [unclosed\n", r"^line 2: not valid YAML: expected ',' or ']'"),
        ("", r"^catalog: the file is empty; expected the keys region, sources, instances"),
        ("# only a comment\n", r"^catalog: the file is empty"),
        ("- 1\n", r"^catalog: expected a mapping, got a list$"),
        ("just text\n", r"^catalog: expected a mapping, got a str$"),
        (b"region: caf\xe9\n", r"^line 1: the price catalog is not UTF-8 text \(byte 0xe9\)$"),
        ("a: &a [*a]\n", r"^line 1: an alias refers to itself$"),
        ("".join(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10) if i else 'x'}]\n"
                 for i in range(9)),
         r"^more than 100,000 values once aliases are expanded \(an alias bomb\?\)$"),
    ],
    ids=["malformed", "empty", "comment-only", "list", "scalar", "latin-1", "recursive-alias",
         "alias-bomb"],
)
def test_files_that_are_not_catalogs(tmp_path, text, pattern):
    refused(write_text(tmp_path, text), pattern)


def test_a_directory_and_a_huge_file_are_refused(tmp_path):
    refused(tmp_path, r"^the price catalog is not a regular file$")
    huge = write_text(tmp_path, "#" * 1_000_001)
    refused(huge, r"^the price catalog is 1,000,001 bytes; at most 1,000,000 are read$")


def test_a_byte_order_mark_is_read_past(tmp_path):
    path = write_text(tmp_path, b"\xef\xbb\xbf" + SHIPPED.read_bytes())
    assert load_catalog(path).instance("g5.xlarge").hourly_usd == 1.006


@pytest.mark.parametrize(
    ("old", "new", "pattern"),
    [
        ("hourly_usd: 1.006", "hourly_usd: .inf",
         r"^instances\.g5\.xlarge: 'hourly_usd' must be a number in \(0, 1000\]; got inf$"),
        ("hourly_usd: 1.006", "hourly_usd: 1e9",
         r"^instances\.g5\.xlarge: 'hourly_usd' must be a number in \(0, 1000\]"),
        ("hourly_usd: 1.006", "hourly_usd: .nan", r"'hourly_usd' must be .*; got nan$"),
        ("hourly_usd: 1.006", "hourly_usd: 0", r"'hourly_usd' must be .*; got 0\.0$"),
        ("{kind: gpu, vcpus: 4, memory_gib: 16, accelerator: NVIDIA A10G",
         "{kind: gpu, vcpus: 2.5, memory_gib: 16, accelerator: NVIDIA A10G",
         r"^instances\.g5\.xlarge: 'vcpus' must be a whole number in \[1, 4096\]; got 2\.5$"),
        ("{kind: gpu, vcpus: 4, memory_gib: 16, accelerator: NVIDIA A10G",
         "{kind: gpu, vcpus: true, memory_gib: 16, accelerator: NVIDIA A10G",
         r"^instances\.g5\.xlarge: 'vcpus' must be a whole number .*; got True$"),
        ("accelerator: NVIDIA A10G 24 GB", "accelerator: [A10G]",
         r"^instances\.g5\.xlarge: 'accelerator' must be text or null"),
        ("{usd: 0.023, source: infracost", "{usd: .inf, source: infracost",
         r"^storage\.standard: 'usd' must be a number in \[0, 10\]; got inf$"),
        ("{up_to_gb: 10000, usd_per_gb: 0.09}", "{up_to_gb: .inf, usd_per_gb: 0.09}",
         r"^internet_egress\.tiers\[1\]: 'up_to_gb' must be a number in \(0, 1e\+09\]"),
        ("  ingress: {usd: 0.0, source: aws-network-faq, as_of: 2026-11-28, quoted: 0.0}"
         "        # internet into AWS: free\n", "",
         r"^transfer: missing the entry 'ingress' \(chapter 2 reads it\)$"),
        ("  inter_region: {usd: 0.02", "  inter_regions: {usd: 0.02",
         r"^transfer: missing the entry 'inter_region'"),
        ("  commitment_1yr: {low", "  commitment_one_year: {low",
         r"^discounts: missing the entry 'commitment_1yr'"),
        ("  spot: {low", "  spot_instances: {low", r"^discounts: missing the entry 'spot'"),
        ("as_of: 2026-03-08   # \"Wring", "as_of: 2026-02-30   # \"Wring",
         r"^line \d+: not valid YAML: '2026-02-30' is not a valid date"),
        ("as_of: 2026-03-08   # \"Wring", "as_of: '2026-02-30'   # \"Wring",
         r"^internet_egress: 'as_of' must be a date \(YYYY-MM-DD\), got '2026-02-30'$"),
        ("\ndiscounts:\n", "\ndiscount:\n",
         r"^catalog: unknown key 'discount'; did you mean 'discounts'\?$"),
        ("region: us-east-1\n", "region: us-east-1\ncurrency: USD\n",
         r"^catalog: unknown key 'currency'; known: region, sources, instances"),
        ("{usd: 0.023, source: infracost", "{usd: 0.023, sourc: infracost",
         r"^storage\.standard: unknown key 'sourc'; did you mean 'source'\?$"),
        ("region: us-east-1\n", "region: us-east-1\nregion: eu-west-1\n",
         r"^line 12: not valid YAML: the key 'region' is written twice \(first on line 11\)$"),
        ("region: us-east-1\n", "region: ''\n",
         r"^catalog: 'region' must be text of 1 to 1,000 characters, got ''$"),
        ("storage:\n  standard:", "storage:\n  7:", r"^storage: entry names must be text, got 7$"),
    ],
    ids=["inf-price", "huge-price", "nan-price", "free-instance", "fractional-vcpus",
         "bool-vcpus", "list-accelerator", "inf-storage", "inf-tier-bound", "no-ingress",
         "no-inter-region", "no-commitment", "no-spot", "invalid-date", "invalid-date-text",
         "misspelt-section", "unknown-section", "misspelt-field", "duplicate-key", "empty-region",
         "numeric-name"],
)
def test_catalogs_chapter_2_cannot_use_fail_at_load(tmp_path, old, new, pattern):
    refused(write_text(tmp_path, shipped_with(old, new)), pattern)


def test_one_flat_egress_price_is_a_ladder_and_none_is_refused(tmp_path):
    ladder = """    - {up_to_gb: 100, usd_per_gb: 0.0}       # first 100 GB: free
    - {up_to_gb: 10000, usd_per_gb: 0.09}    # up to 10 TB
    - {up_to_gb: 50000, usd_per_gb: 0.085}   # next 40 TB
    - {up_to_gb: 150000, usd_per_gb: 0.07}   # next 100 TB
"""
    one = shipped_with(ladder, "")
    assert load_catalog(write_text(tmp_path, one)).internet_egress == (Tier(math.inf, 0.05),)
    none = shipped_with(ladder + "    - {up_to_gb: null, usd_per_gb: 0.05}     # over 150 TB\n",
                        "    []\n")
    refused(write_text(tmp_path, none), r"^internet_egress: 'tiers' must be a list of 1 to 100")


def test_the_required_entries_are_the_ones_chapter_2_reads():
    assert REQUIRED_ENTRIES == {
        "transfer": ("inter_region", "ingress"), "discounts": ("commitment_1yr", "spot"),
        "block_storage": ("gp3",), "load_balancer": ("hourly", "lcu_hour"),
        "load_balancer_capacity_unit": ("processed_gb_per_hour", "new_connections_per_s")}
    assert MIN_EGRESS_TIERS == 1
    for section, names in REQUIRED_ENTRIES.items():
        assert set(names) <= set(getattr(load_catalog(), section))


def test_a_catalog_error_is_an_input_file_error_and_paths_must_be_paths():
    assert issubclass(CatalogError, InputFileError)
    with pytest.raises(ParameterError, match=r"^path must be the path of a price catalog"):
        load_catalog(3)


def test_lookups_refuse_names_that_are_not_text(catalog):
    with pytest.raises(ParameterError, match=r"^instance type must be one of c6i"):
        catalog.instance(["g5.xlarge"])


def test_more_egress_tiers_than_a_price_list_has_are_refused_at_load(tmp_path):
    rows = "".join(f"    - {{up_to_gb: {1000 * (i + 1)}, usd_per_gb: 0.09}}\n"
                   for i in range(101))
    text = shipped_with("""    - {up_to_gb: 100, usd_per_gb: 0.0}       # first 100 GB: free
    - {up_to_gb: 10000, usd_per_gb: 0.09}    # up to 10 TB
    - {up_to_gb: 50000, usd_per_gb: 0.085}   # next 40 TB
    - {up_to_gb: 150000, usd_per_gb: 0.07}   # next 100 TB
""", rows)
    refused(write_text(tmp_path, text), r"^internet_egress: 'tiers' must be a list of 1 to 100")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["workloads"]["image_classification"].update(
            {"p5.48xlarge": {**d["workloads"]["image_classification"]["g4dn.xlarge"]}}),
         r"workloads\.image_classification\.p5\.48xlarge: not an instance type of the catalog"),
        (lambda d: d["workloads"]["image_classification"]["g4dn.xlarge"].update(batch=2.5),
         r"g4dn\.xlarge: 'batch' must be a whole number in \[1, 4096\]"),
        (lambda d: d["workloads"]["image_classification"]["g4dn.xlarge"].update(
            throughput_rps=0), r"g4dn\.xlarge: 'throughput_rps' must be a number in \(0, 1e\+06\]"),
        (lambda d: d["load_balancer"].pop("lcu_hour"),
         r"load_balancer: missing the entry 'lcu_hour' \(chapter 2 reads it\)"),
        (lambda d: d["load_balancer_capacity_unit"]["processed_gb_per_hour"].update(value=0),
         r"load_balancer_capacity_unit\.processed_gb_per_hour: 'value' must be a number in \(0"),
        (lambda d: d["block_storage"]["gp3"].update(quoted={"a": {"b": {"c": [1]}}}),
         r"block_storage\.gp3: 'quoted' must be numbers or text"),
        (lambda d: d["instances"]["g5.xlarge"].update(quoted=True),
         r"instances\.g5\.xlarge: 'quoted' must be numbers or text"),
    ],
    ids=["unknown-workload-instance", "fractional-batch", "zero-throughput", "no-lcu-price",
         "zero-lcu-dimension", "deep-quote", "bool-quote"],
)
def test_the_new_sections_are_checked_at_load(tmp_path, raw, edit, message):
    with pytest.raises(CatalogError, match=message):
        load_catalog(write(tmp_path, broken(raw, edit)))


def test_workloads_are_optional_and_read_with_their_setup(tmp_path, raw, catalog):
    without = broken(raw, lambda d: d.pop("workloads"))
    assert load_catalog(write(tmp_path, without)).workload("image_classification") == {}
    t4 = catalog.workload("image_classification")["g4dn.xlarge"]
    assert (t4.throughput_rps, t4.batch, t4.source.key) == (5563.1, None, "mlperf-v07-t4")
    assert (t4.precision, t4.scenario, t4.latency_statistic) == ("INT8", "MLPerf Server", "p99")
    assert catalog.workload("image_classification")["g6.xlarge"].batch is None


# --- Cache nodes and latency components (optional sections) ----------------------------------

@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["cache_nodes"]["cache.m4.large"].pop("hourly_usd"),
         r"cache_nodes\.cache\.m4\.large: missing 'hourly_usd'"),
        (lambda d: d["cache_nodes"]["cache.m4.large"].update(hourly_usd=0),
         r"cache_nodes\.cache\.m4\.large: 'hourly_usd' must be a number in \(0, 1000\]"),
        (lambda d: d["cache_nodes"]["cache.m4.large"].update(vcpus=1.5),
         r"cache_nodes\.cache\.m4\.large: 'vcpus' must be a whole number"),
        (lambda d: d["cache_nodes"]["cache.m4.large"].pop("memory_gib"),
         r"cache_nodes\.cache\.m4\.large: missing 'memory_gib'"),
        (lambda d: d["cache_nodes"]["cache.m4.large"].update(ram="6 GiB"),
         r"cache_nodes\.cache\.m4\.large: unknown key 'ram'"),
        (lambda d: d["cache_nodes"]["cache.m4.large"].update(ops_source="cachee-elasticache"),
         r"cache_nodes\.cache\.m4\.large: 'ops_source' describes 'ops_per_s', which is missing"),
        (lambda d: d["cache_nodes"]["cache.m4.large"].update(ops_per_s=58411),
         r"cache_nodes\.cache\.m4\.large \(ops_per_s\): missing 'source'"),
        (lambda d: d["cache_nodes"]["cache.m4.large"].update(
            ops_per_s=-1, ops_source="cachee-elasticache", ops_as_of="2026-03-29",
            ops_setup="x"),
         r"cache_nodes\.cache\.m4\.large: 'ops_per_s' must be a number in \(0"),
        (lambda d: d.update(cache_nodes={}), r"cache_nodes: needs at least one entry"),
        (lambda d: d["latencies"]["cache_get"].pop("quantiles"),
         r"latencies\.cache_get: missing 'quantiles'"),
        (lambda d: d["latencies"]["cache_get"].update(quantiles={"p50": 0.4}),
         r"latencies\.cache_get: 'quantiles' needs at least 2"),
        (lambda d: d["latencies"]["cache_get"].update(quantiles={"p50": 0.4, "median": 0.5}),
         r"latencies\.cache_get: quantile 'median' must be p0 to p100"),
        (lambda d: d["latencies"]["cache_get"].update(quantiles={"p50": 0.4, "p101": 0.5}),
         r"latencies\.cache_get: quantile 'p101' must be p0 to p100"),
        (lambda d: d["latencies"]["cache_get"].update(quantiles={"p99": 0.3, "p50": 0.4}),
         r"latencies\.cache_get: quantile p99 \(0\.3 ms\) is below p50 \(0\.4 ms\)"),
        (lambda d: d["latencies"]["cache_get"]["quantiles"].update(p99="fast"),
         r"latencies\.cache_get\.quantiles: 'p99' must be a number"),
        (lambda d: d["latencies"]["cache_get"]["quantiles"].update(p99=0),
         r"latencies\.cache_get\.quantiles: 'p99' must be a number in \(0, 60000\]"),
        (lambda d: d["latencies"]["cache_get"].update(quantiles=[0.4, 1.3]),
         r"latencies\.cache_get\.quantiles: expected a mapping, got a list"),
        (lambda d: d["latencies"]["cache_get"].update(setup=""),
         r"latencies\.cache_get: 'setup' must be text"),
        (lambda d: d["latencies"]["cache_get"].update(source="a-blog"),
         r"latencies\.cache_get: source 'a-blog' is not listed"),
        (lambda d: d["latencies"].update(rtt=0.5), r"latencies\.rtt: expected a mapping"),
    ],
    ids=["no-price", "free-node", "fractional-vcpus", "no-memory", "unknown-key",
         "ops-source-without-ops", "ops-without-source", "negative-ops", "empty-section",
         "no-quantiles", "one-quantile", "named-quantile", "quantile-over-100",
         "falling-quantiles", "text-quantile", "zero-quantile", "list-quantiles", "empty-setup",
         "unknown-source", "bare-number"],
)
def test_cache_nodes_and_latencies_are_checked_at_load(tmp_path, raw, edit, message):
    path = write(tmp_path, broken(raw, edit))
    with pytest.raises(CatalogError, match=message) as caught:
        load_catalog(path)
    assert str(caught.value).startswith(f"{path}: ") and "\n" not in str(caught.value)


def test_cache_nodes_and_latencies_are_optional(tmp_path, raw):
    without = broken(raw, lambda d: (d.pop("cache_nodes"), d.pop("latencies")))
    catalog = load_catalog(write(tmp_path, without))
    assert catalog.cache_nodes == {} and catalog.latencies == {}


def test_cache_nodes_and_latencies_are_read_with_their_sources(tmp_path, raw, catalog):
    node = catalog.cache_nodes["cache.m4.large"]
    assert (node.hourly_usd, node.vcpus, node.memory_gib) == (0.156, None, None)
    assert (node.ops_per_s, node.ops_source, node.ops_as_of) == (None, None, None)
    assert node.source.key == "infracost-elasticache"
    get = catalog.latencies["cache_get"]
    assert list(get.quantiles) == ["p50", "p99"] and get.source.key == "cachee-elasticache"
    # Quantiles come back in rising order whatever order the file gives them, and ops_per_s
    # is read with its own source, date and setup.
    data = broken(raw, lambda d: (
        d["latencies"]["cache_get"].update(quantiles={"p99": 1.287, "p50": 0.423}),
        d["cache_nodes"]["cache.m4.large"].update(
            vcpus=2, memory_gib=6.42, ops_per_s=58411, ops_source="cachee-elasticache",
            ops_as_of="2026-03-29", ops_setup="redis-benchmark GET, 50 clients")))
    loaded = load_catalog(write(tmp_path, data))
    assert list(loaded.latencies["cache_get"].quantiles) == ["p50", "p99"]
    node = loaded.cache_nodes["cache.m4.large"]
    assert (node.vcpus, node.memory_gib, node.ops_per_s) == (2, 6.42, 58411.0)
    assert (node.ops_source.key, node.ops_as_of) == ("cachee-elasticache",
                                                     datetime.date(2026, 3, 29))
