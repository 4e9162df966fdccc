"""Response formats: bodies measured by encoding them, and the egress each format costs."""

import gzip
import json
import math

import numpy as np
import pytest
from refusals import assert_refused_by_name

from perfcost.pricing import Tier, load_catalog
from perfcost.response_formats import (
    BINARY_RECORD,
    FORMATS,
    decode_responses,
    egress_by_format,
    encode_responses,
    format_sizes,
    http_header_bytes,
    random_responses,
    wire_bytes,
)
from perfcost.validation import ParameterError

TIERS = load_catalog().internet_egress
RESPONSES = random_responses(100, np.random.default_rng(0))
BATCH = (RESPONSES.ids, RESPONSES.labels, RESPONSES.probabilities)


def test_the_binary_record_is_13_bytes():
    assert BINARY_RECORD.size == 8 + 1 + 4


@pytest.mark.parametrize("format", FORMATS)
@pytest.mark.parametrize("n", [1, 100])
def test_every_format_round_trips(format, n):
    body = encode_responses(format, *(values[:n] for values in BATCH))
    decoded = decode_responses(format, body)
    assert decoded.ids == RESPONSES.ids[:n] and decoded.labels == RESPONSES.labels[:n]
    if format.startswith("binary"):  # a float32: 24 bits of mantissa
        expected = np.float32(RESPONSES.probabilities[:n]).astype(float)
        assert decoded.probabilities == tuple(expected)
        assert np.allclose(decoded.probabilities, RESPONSES.probabilities[:n], rtol=2**-24)
    else:
        assert decoded.probabilities == RESPONSES.probabilities[:n]


def test_json_parses_back_as_an_object_or_an_array():
    single = json.loads(encode_responses("json", [7], [1], [0.75]))
    assert single == {"id": 7, "label": 1, "probability": 0.75}
    assert encode_responses("json_compact", [7], [1], [0.75]) == (
        b'{"id":7,"label":1,"probability":0.75}')  # 38 bytes, counted by hand
    batch = json.loads(encode_responses("json", *BATCH))
    assert [r["id"] for r in batch] == list(RESPONSES.ids)


@pytest.mark.parametrize("n", [1, 7, 100])
def test_a_binary_body_is_n_records(n):
    assert len(encode_responses("binary", *(values[:n] for values in BATCH))) == 13 * n


def test_gzip_pays_on_a_batch_not_on_one_response():
    one = [values[:1] for values in BATCH]
    assert len(encode_responses("json_gzip", *one)) > len(encode_responses("json", *one))
    raw, packed = encode_responses("json", *BATCH), encode_responses("json_gzip", *BATCH)
    assert len(packed) < len(raw) / 2
    assert gzip.decompress(packed) == raw


def test_format_sizes_measures_every_format_at_every_body_size():
    table = format_sizes((1, 100), bodies=20)
    assert len(table) == 2 * len(FORMATS)
    binary = table[table["format"] == "binary"]
    assert (binary["body_bytes_per_response"] == 13.0).all()
    first = table[table["format"] == "json"]
    assert (first["body_ratio_to_json"] == 1.0).all()
    wire = table["body_bytes_per_response"] + table["header_bytes_per_response"]
    assert np.allclose(table["wire_bytes_per_response"], wire)
    single = table[table["responses_per_body"] == 1].set_index("format")
    headers, bodies = single["header_bytes_per_response"], single["body_bytes_per_response"]
    assert (headers > 0.9 * bodies).all()  # even a minimal header block rivals a JSON body
    assert (headers[["binary", "binary_gzip"]] > 2 * bodies[["binary", "binary_gzip"]]).all()
    assert format_sizes((1, 100), bodies=20).equals(table)  # fixed by the seed


def test_the_header_block_is_counted_from_its_text():
    expected = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: 38\r\n\r\n")
    assert http_header_bytes("json_compact", 38) == len(expected)
    assert http_header_bytes("binary_gzip", 38) == len(expected) + len(
        "application/octet-stream") - len("application/json") + len(
        "Content-Encoding: gzip\r\n")


# --- Egress -----------------------------------------------------------------------------------

def test_egress_gb_is_proportional_to_the_rate():
    sizes = {"json": 75.0, "binary": 13.0}
    low = egress_by_format(1_000.0, sizes, TIERS)
    high = egress_by_format(10_000.0, sizes, TIERS)
    assert np.allclose(high["gb_per_month"], 10 * low["gb_per_month"], rtol=1e-12)


def test_egress_matches_a_hand_priced_ladder():
    # 10,000 rps × 100 bytes × 730 h × 3,600 s = 2.628e12 bytes = 2,628 GB
    tiers = (Tier(100.0, 0.0), Tier(10_000.0, 0.09), Tier(math.inf, 0.085))
    row = egress_by_format(10_000.0, {"json": 100.0}, tiers).iloc[0]
    assert row["gb_per_month"] == pytest.approx(2_628.0, rel=1e-12)
    assert row["usd_per_month"] == pytest.approx((2_628.0 - 100.0) * 0.09, rel=1e-12)  # 227.52
    big = egress_by_format(10_000.0, {"json": 1_000.0}, tiers).iloc[0]  # 26,280 GB
    assert big["usd_per_month"] == pytest.approx(9_900 * 0.09 + 16_280 * 0.085, rel=1e-12)


# --- Bad input --------------------------------------------------------------------------------

BAD_CALLS = [
    ("format", lambda: encode_responses("xml", [1], [0], [0.5])),
    ("ids", lambda: encode_responses("json", [-1], [0], [0.5])),
    ("ids", lambda: encode_responses("json", [2**64], [0], [0.5])),
    ("ids", lambda: encode_responses("json", [1.5], [0], [0.5])),
    ("ids", lambda: encode_responses("json", [], [], [])),
    ("ids", lambda: encode_responses("json", "123", [0], [0.5])),
    ("labels", lambda: encode_responses("binary", [1], [2], [0.5])),
    ("labels", lambda: encode_responses("binary", [1], [True], [0.5])),
    ("labels", lambda: encode_responses("binary", [1, 2], [0], [0.5, 0.5])),
    ("probabilities", lambda: encode_responses("binary", [1], [0], [math.nan])),
    ("probabilities", lambda: encode_responses("binary", [1], [0], [1.5])),
    ("probabilities", lambda: encode_responses("binary", [1], [0], [0.5, 0.5])),
    ("body", lambda: decode_responses("binary", b"\x00" * 12)),
    ("body", lambda: decode_responses("json", b"not json")),
    ("body", lambda: decode_responses("json_gzip", b"not gzip")),
    ("body", lambda: decode_responses("json", "text")),
    ("n", lambda: random_responses(0, np.random.default_rng(0))),
    ("rng", lambda: random_responses(1, 0)),
    ("content_length", lambda: http_header_bytes("json", -1)),
    ("responses_per_body", lambda: format_sizes((0, 100))),
    ("responses_per_body", lambda: format_sizes(100)),
    ("bodies", lambda: format_sizes((1, 100_000), bodies=11)),
    ("seed", lambda: format_sizes(seed=2**32)),
    ("average_rps", lambda: egress_by_format(-1.0, {"json": 75.0}, TIERS)),
    ("average_rps", lambda: egress_by_format(math.inf, {"json": 75.0}, TIERS)),
    ("bytes_per_response", lambda: egress_by_format(1.0, {"json": -75.0}, TIERS)),
    ("bytes_per_response", lambda: egress_by_format(1.0, {}, TIERS)),
    ("bytes_per_response", lambda: egress_by_format(1.0, [75.0], TIERS)),
    ("tiers", lambda: egress_by_format(1.0, {"json": 75.0}, ())),
    ("hours_per_month", lambda: egress_by_format(1.0, {"json": 75.0}, TIERS, 800.0)),
]


@pytest.mark.parametrize(("name", "call"), BAD_CALLS, ids=[f"{n}-{i}" for i, (n, _) in
                                                         enumerate(BAD_CALLS)])
def test_bad_input_is_refused_by_name(name, call):
    assert_refused_by_name(name, call)


def test_wire_bytes_reads_one_body_size_from_the_table():
    sizes = format_sizes((1, 100), bodies=5, seed=0)
    single = wire_bytes(sizes)
    assert set(single) == set(FORMATS)
    row = sizes[(sizes["format"] == "binary") & (sizes["responses_per_body"] == 1)]
    assert single["binary"] == float(row["wire_bytes_per_response"].iloc[0])
    assert wire_bytes(sizes, 100)["json_gzip"] < single["json_gzip"]
    with pytest.raises(ParameterError, match="responses_per_body"):
        wire_bytes(sizes, 7)
