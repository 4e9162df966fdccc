"""How the response format moves egress: bytes of a classifier's answer, measured by encoding it.

The chapter 5 classifier answers ``{"id": <request id>, "label": 0|1, "probability": <float>}``.
Its size on the wire depends on the format, measured here by encoding responses, not estimated:

``json``, ``json_compact``
    ``json.dumps`` with its default separators (``", "``, ``": "``) or compact ones (``","``,
    ``":"``); the probability written as Python writes a float64 (up to 17 significant digits).
    A body of one response is the object, a body of several is a JSON array of objects.
``binary``
    A fixed record per response, ``struct`` format ``<QBf``: uint64 id, uint8 label, float32
    probability, 13 bytes, records concatenated (the body's Content-Length gives the count).
``*_gzip``
    Each of the above through ``gzip.compress`` at level :data:`GZIP_LEVEL` (zlib's default),
    with a fixed mtime so the bytes are reproducible. gzip adds an 18-byte header and trailer,
    more than it saves on a 50-byte body; it pays only on batches.

:func:`http_header_bytes` measures the HTTP/1.1 status line and headers a body travels with
(formatted by :class:`wsgiref.headers.Headers`), a fixed count that dominates a tiny body (HTTP/2
compresses headers with HPACK, so it is the HTTP/1.1 figure). :func:`egress_by_format` prices a
month of responses through the tiered internet egress prices
(:func:`perfcost.volume_tiers.tiered_cost_usd`), in decimal units (1 GB = 10^9 bytes).

Used by chapter 5 (designing a 10,000-QPS classification service).

References
----------
Bray, T. (ed.) (2017). The JavaScript Object Notation (JSON) Data Interchange Format. RFC 8259.
Deutsch, P. (1996). GZIP file format specification version 4.3. RFC 1952.
Fielding, R., Nottingham, M. & Reschke, J. (eds.) (2022). HTTP/1.1. RFC 9112.
"""

from __future__ import annotations

import gzip
import json
import numbers
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from wsgiref.headers import Headers

import numpy as np
import pandas as pd

from perfcost.pricing import Tier
from perfcost.traffic import MAX_RATE_RPS
from perfcost.units import BYTES_PER_KB, HOURS_PER_MONTH, MAX_HOURS_PER_MONTH, MIN_HOURS_PER_MONTH
from perfcost.validation import ParameterError, in_range, integer_in_range, seed_value
from perfcost.volume_tiers import MAX_KB, monthly_gb, tiered_cost_usd

__all__ = [
    "BINARY_RECORD",
    "FORMATS",
    "GZIP_LEVEL",
    "MAX_MEASURED_RESPONSES",
    "MAX_RESPONSES_PER_BODY",
    "Responses",
    "decode_responses",
    "egress_by_format",
    "encode_responses",
    "format_sizes",
    "http_header_bytes",
    "random_responses",
    "wire_bytes",
]

FORMATS = ("json", "json_compact", "binary", "json_gzip", "json_compact_gzip", "binary_gzip")
BINARY_RECORD = struct.Struct("<QBf")  # uint64 id, uint8 label, float32 probability: 13 bytes
GZIP_LEVEL = 6  # zlib's default (Z_DEFAULT_COMPRESSION), that of the gzip command
MAX_RESPONSES_PER_BODY = 100_000  # a 7 MB JSON body: beyond, a batch is a file, not a response
MAX_MEASURED_RESPONSES = 10**6  # responses encoded by one format_sizes call, per body size
MAX_ID = 2**64 - 1
CONTENT_TYPES = {"json": "application/json", "binary": "application/octet-stream"}
_SEPARATORS = {"json": (", ", ": "), "json_compact": (",", ":")}


@dataclass(frozen=True)
class Responses:
    """A body's responses: request ids (uint64), labels (0 or 1), probabilities (in [0, 1])."""

    ids: tuple[int, ...]
    labels: tuple[int, ...]
    probabilities: tuple[float, ...]


def _format(value: object) -> str:
    if not isinstance(value, str) or value not in FORMATS:
        raise ParameterError("format", f"one of {', '.join(FORMATS)}", value)
    return value


def _whole_numbers(name: str, values: object, low: int, high: int) -> tuple[int, ...]:
    valid = f"a list of whole numbers in [{low}, {high}]"
    if isinstance(values, str | bytes) or not isinstance(values, Sequence | np.ndarray):
        raise ParameterError(name, valid, values)
    if not all(isinstance(v, numbers.Integral) and not isinstance(v, bool | np.bool_)
               and low <= v <= high for v in values):
        raise ParameterError(name, valid, values)
    return tuple(int(v) for v in values)


def _probabilities(values: object) -> tuple[float, ...]:
    valid = "a list of numbers in [0, 1]"
    if isinstance(values, str | bytes) or not isinstance(values, Sequence | np.ndarray):
        raise ParameterError("probabilities", valid, values)
    if not all(isinstance(v, numbers.Real) and not isinstance(v, bool | np.bool_)
               and 0.0 <= v <= 1.0 for v in values):  # NaN fails both comparisons
        raise ParameterError("probabilities", valid, values)
    return tuple(float(v) for v in values)


def _responses(ids: object, labels: object, probabilities: object) -> Responses:
    """The three lists checked: equal lengths of 1 to MAX_RESPONSES_PER_BODY."""
    ids = _whole_numbers("ids", ids, 0, MAX_ID)
    if not 1 <= len(ids) <= MAX_RESPONSES_PER_BODY:
        raise ParameterError("ids", f"1 to {MAX_RESPONSES_PER_BODY:,} request ids", ids)
    labels = _whole_numbers("labels", labels, 0, 1)
    probabilities = _probabilities(probabilities)
    for name, values in (("labels", labels), ("probabilities", probabilities)):
        if len(values) != len(ids):
            raise ParameterError(name, f"as long as ids ({len(ids)} values)", values)
    return Responses(ids, labels, probabilities)


def _json_bytes(responses: Responses, separators: tuple[str, str]) -> bytes:
    objects = [{"id": i, "label": la, "probability": p} for i, la, p in
               zip(responses.ids, responses.labels, responses.probabilities, strict=True)]
    body = objects[0] if len(objects) == 1 else objects
    return json.dumps(body, separators=separators).encode("utf-8")


def _binary_bytes(responses: Responses) -> bytes:
    return b"".join(BINARY_RECORD.pack(*r) for r in
                    zip(responses.ids, responses.labels, responses.probabilities, strict=True))


def _plain_bytes(format: str, responses: Responses) -> bytes:
    if format == "binary":
        return _binary_bytes(responses)
    return _json_bytes(responses, _SEPARATORS[format])


def encode_responses(format: str, ids: Sequence[int], labels: Sequence[int],
                     probabilities: Sequence[float]) -> bytes:
    """Encode responses into one body in ``format`` (one of :data:`FORMATS`).

    ``ids`` are whole numbers in [0, 2^64 − 1], ``labels`` 0 or 1, ``probabilities`` in [0, 1];
    the three of equal length, 1 to 100,000. The binary format stores the probability as a
    float32 (7 significant digits); JSON writes the float64 in full.
    """
    format = _format(format)
    responses = _responses(ids, labels, probabilities)
    plain = format.removesuffix("_gzip")
    body = _plain_bytes(plain, responses)
    return gzip.compress(body, GZIP_LEVEL, mtime=0) if format.endswith("_gzip") else body


def _decode_binary(body: bytes) -> Responses:
    if not body or len(body) % BINARY_RECORD.size:
        raise ParameterError("body", f"a non-empty multiple of {BINARY_RECORD.size} bytes",
                             body)
    ids, labels, probabilities = zip(*BINARY_RECORD.iter_unpack(body), strict=True)
    return Responses(ids, labels, probabilities)


def _decode_json(body: bytes) -> Responses:
    try:
        parsed = json.loads(body)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError
        raise ParameterError("body", "a JSON response or array of responses", body) from None
    objects = parsed if isinstance(parsed, list) else [parsed]
    try:
        return Responses(*(tuple(o[k] for o in objects) for k in ("id", "label", "probability")))
    except (KeyError, TypeError):
        raise ParameterError("body", "objects with id, label and probability", body) from None


def decode_responses(format: str, body: bytes) -> Responses:
    """Decode a body that :func:`encode_responses` wrote in ``format``."""
    format = _format(format)
    if not isinstance(body, bytes):
        raise ParameterError("body", "bytes", body)
    if format.endswith("_gzip"):
        try:
            body = gzip.decompress(body)
        except (OSError, EOFError):
            raise ParameterError("body", "gzip-compressed bytes", body) from None
    plain = format.removesuffix("_gzip")
    return _decode_binary(body) if plain == "binary" else _decode_json(body)


def random_responses(n: int, rng: np.random.Generator) -> Responses:
    """``n`` (in [1, 10^6]) responses: uniform 64-bit ids, uniform probabilities, label p ≥ 0.5."""
    n = integer_in_range("n", n, 1, MAX_MEASURED_RESPONSES)
    if not isinstance(rng, np.random.Generator):
        raise ParameterError("rng", "a numpy Generator (numpy.random.default_rng(seed))", rng)
    ids = rng.integers(0, MAX_ID, n, dtype=np.uint64, endpoint=True)
    probabilities = rng.random(n)
    return Responses(tuple(int(i) for i in ids), tuple(int(p >= 0.5) for p in probabilities),
                     tuple(float(p) for p in probabilities))


def http_header_bytes(format: str, content_length: int) -> int:
    """Bytes of an HTTP/1.1 response's status line and headers for a body in ``format``.

    ``HTTP/1.1 200 OK``, ``Content-Type``, ``Content-Length`` (``content_length`` in
    [0, 10^9]), ``Content-Encoding: gzip`` for the gzip formats, and the blank line, formatted by
    :class:`wsgiref.headers.Headers` (RFC 9112). Servers add more (Date, Server, Connection).
    """
    format = _format(format)
    content_length = integer_in_range("content_length", content_length, 0, 10**9)
    fields = [("Content-Type", CONTENT_TYPES[format.removesuffix("_gzip").split("_")[0]]),
              ("Content-Length", str(content_length))]
    if format.endswith("_gzip"):
        fields.append(("Content-Encoding", "gzip"))
    return len(b"HTTP/1.1 200 OK\r\n" + bytes(Headers(fields)))


def _size_rows(responses: Responses, per_body: int, bodies: int) -> list[dict]:
    rows = []
    for format in FORMATS:
        body_sizes = [len(encode_responses(format, *_slice(responses, b * per_body, per_body)))
                      for b in range(bodies)]
        header = sum(http_header_bytes(format, size) for size in body_sizes)
        count = bodies * per_body
        rows.append(dict(format=format, responses_per_body=per_body,
                         body_bytes_per_response=sum(body_sizes) / count,
                         header_bytes_per_response=header / count))
    return rows


def _slice(responses: Responses, start: int, n: int) -> tuple[tuple, tuple, tuple]:
    return (responses.ids[start:start + n], responses.labels[start:start + n],
            responses.probabilities[start:start + n])


def format_sizes(responses_per_body: Sequence[int] = (1, 100), *, bodies: int = 100,
                 seed: int = 0) -> pd.DataFrame:
    """Measure the bytes per response of every format, by encoding random responses.

    For each body size in ``responses_per_body`` (1 to 16 sizes, each in [1, 100,000]),
    ``bodies`` bodies (bodies × size at most 10^6) of :func:`random_responses` from
    ``numpy.random.default_rng(seed)`` are encoded. Columns: format, responses_per_body,
    body_bytes_per_response (mean), header_bytes_per_response (HTTP/1.1, shared by a body's
    responses), wire_bytes_per_response (their sum) and body_ratio_to_json (body bytes over the
    ``json`` format's at the same body size).
    """
    sizes = _body_sizes(responses_per_body)
    bodies = integer_in_range("bodies", bodies, 1, MAX_MEASURED_RESPONSES // max(sizes))
    seed = seed_value(seed)
    rows = []
    for per_body in sizes:
        responses = random_responses(bodies * per_body, np.random.default_rng(seed))
        rows += _size_rows(responses, per_body, bodies)
    table = pd.DataFrame(rows)
    table["wire_bytes_per_response"] = (table["body_bytes_per_response"]
                                        + table["header_bytes_per_response"])
    json_bytes = table.groupby("responses_per_body")["body_bytes_per_response"].transform("first")
    table["body_ratio_to_json"] = table["body_bytes_per_response"] / json_bytes
    return table


def wire_bytes(sizes: pd.DataFrame, responses_per_body: int = 1) -> dict[str, float]:
    """Bytes on the wire per response, by format, at ``responses_per_body`` (a row set of
    :func:`format_sizes`): what :func:`egress_by_format` prices."""
    rows = sizes[sizes["responses_per_body"] == responses_per_body]
    if rows.empty:
        raise ParameterError("responses_per_body", "a body size the table holds",
                             responses_per_body)
    return {row["format"]: float(row["wire_bytes_per_response"])
            for row in rows.to_dict("records")}


def _body_sizes(values: object) -> tuple[int, ...]:
    valid = f"a list of 1 to 16 whole numbers in [1, {MAX_RESPONSES_PER_BODY:,}]"
    if isinstance(values, str | bytes) or not isinstance(values, Sequence) or not (
            1 <= len(values) <= 16):
        raise ParameterError("responses_per_body", valid, values)
    try:
        return tuple(integer_in_range("responses_per_body", v, 1, MAX_RESPONSES_PER_BODY)
                     for v in values)
    except ParameterError:
        raise ParameterError("responses_per_body", valid, values) from None


def _bytes_per_response(values: object) -> dict[str, float]:
    valid = (f"a mapping of 1 to {len(FORMATS) * 16} format names to bytes in "
             f"[0, {MAX_KB * BYTES_PER_KB:g}]")
    if not isinstance(values, Mapping) or not 1 <= len(values) <= len(FORMATS) * 16:
        raise ParameterError("bytes_per_response", valid, values)
    if not all(isinstance(k, str) and k for k in values):
        raise ParameterError("bytes_per_response", valid, values)
    try:
        return {k: in_range("bytes_per_response", v, 0.0, MAX_KB * BYTES_PER_KB)
                for k, v in values.items()}
    except ParameterError:
        raise ParameterError("bytes_per_response", valid, values) from None


def egress_by_format(average_rps: float, bytes_per_response: Mapping[str, float],
                     tiers: tuple[Tier, ...],
                     hours_per_month: float = HOURS_PER_MONTH) -> pd.DataFrame:
    """GB and USD a month of responses leaving to the internet, per format.

    GB = rate × bytes × hours × 3,600 s / 10^9 (:func:`perfcost.volume_tiers.monthly_gb`),
    priced tier by tier (:func:`perfcost.volume_tiers.tiered_cost_usd`) on its own, as if each
    format were the service's only egress.

    Parameters
    ----------
    average_rps : float
        Responses a second averaged over the month, in [0, 10^6].
    bytes_per_response : Mapping[str, float]
        Bytes each response carries per format (a column of :func:`format_sizes`).
    tiers : tuple of Tier
        The egress price ladder, e.g. ``load_catalog().internet_egress``.
    hours_per_month : float
        In [672, 744]; 730 by default.
    """
    average_rps = in_range("average_rps", average_rps, 0.0, MAX_RATE_RPS)
    sizes = _bytes_per_response(bytes_per_response)
    tiered_cost_usd(0.0, tiers)  # refuses a bad ladder by name before any work
    hours_per_month = in_range("hours_per_month", hours_per_month, MIN_HOURS_PER_MONTH,
                               MAX_HOURS_PER_MONTH)
    rows = []
    for format, size in sizes.items():
        gb = monthly_gb(average_rps, size / BYTES_PER_KB, hours_per_month)
        rows.append(dict(format=format, bytes_per_response=size, gb_per_month=gb,
                         usd_per_month=tiered_cost_usd(gb, tiers)))
    return pd.DataFrame(rows)
