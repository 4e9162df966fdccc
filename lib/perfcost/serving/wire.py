"""The wire format of chapter 5's classifier service: HTTP/1.1 with JSON bodies.

A client POSTs ``{"id": ..., "features": [30 numbers]}`` to ``/predict``; the service answers
``{"id": ..., "label": 0 or 1, "probability": p}``, p the softmax probability of class 1.
Only the standard library and numpy: the loopback server (:mod:`perfcost.serving.http_loopback`)
imports this module and nothing heavier, and :mod:`perfcost.serving.request_path` times each
function as a stage of a request's path.

Used by chapter 5 (system design).
"""

from __future__ import annotations

import http.client
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from perfcost.validation import ParameterError

__all__ = [
    "MAX_BODY_KB",
    "HttpRequest",
    "build_request",
    "decode_features",
    "encode_response",
    "parse_request",
    "predict_one",
]

MAX_BODY_KB = 1_000.0  # a request body larger than 1 MB (decimal) is refused


@dataclass(frozen=True)
class HttpRequest:
    """A parsed HTTP request: method, target, lower-cased headers and body."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes


def build_request(request_id: int, features: Sequence[float]) -> bytes:
    """The raw HTTP/1.1 POST a client sends for one prediction (keep-alive, JSON body)."""
    body = json.dumps({"id": request_id, "features": [float(v) for v in features]}).encode()
    head = (f"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode("ascii") + body


def _bad_request(raw: bytes, why: str) -> ParameterError:
    return ParameterError("request", f"an HTTP/1.1 request with {why}", raw[:60])


def parse_request(raw: bytes) -> HttpRequest:
    """Parse raw request bytes: request line, headers, and a body of Content-Length bytes."""
    if not isinstance(raw, bytes | bytearray):
        raise ParameterError("request", "bytes of an HTTP/1.1 request", type(raw).__name__)
    stream = io.BytesIO(raw)
    parts = stream.readline().decode("latin-1").split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        raise _bad_request(raw, "a request line 'METHOD target HTTP/1.1'")
    try:
        headers = {k.lower(): v for k, v in http.client.parse_headers(stream).items()}
    except http.client.HTTPException:
        raise _bad_request(raw, "at most 100 header lines of at most 64 KiB") from None
    length = _content_length(raw, headers)
    body = stream.read(length)
    if len(body) != length:
        raise _bad_request(raw, f"a body of Content-Length ({length}) bytes")
    return HttpRequest(parts[0], parts[1], headers, body)


def _content_length(raw: bytes, headers: dict[str, str]) -> int:
    """The Content-Length header as a byte count in [0, 1 MB]."""
    length = headers.get("content-length", "0").strip()
    if not length.isdigit() or int(length) > MAX_BODY_KB * 1000:
        raise _bad_request(raw, f"a Content-Length in [0, {MAX_BODY_KB * 1000:.0f}]")
    return int(length)


def decode_features(body: bytes, features: int) -> tuple[object, np.ndarray]:
    """The request's id and its features as a float32 batch of one, shape (1, ``features``)."""
    try:
        message = json.loads(body)
        row = np.asarray(message["features"], dtype=np.float32).reshape(1, features)
        return message["id"], row
    except (ValueError, KeyError, TypeError):
        raise ParameterError("body", f'JSON {{"id": ..., "features": [{features} numbers]}}',
                             body[:60]) from None


def predict_one(model, input_name: str, row: np.ndarray) -> np.ndarray:
    """The model's two logits for one row (an ONNX Runtime session's first output)."""
    return model.run(None, {input_name: row})[0][0]


def encode_response(request_id: object, logits: Sequence[float]) -> bytes:
    """The HTTP/1.1 200 response: label (argmax), probability of class 1 (softmax), JSON."""
    low, high = float(logits[0]), float(logits[1])
    probability = 1.0 / (1.0 + math.exp(min(low - high, 700.0)))
    body = json.dumps({"id": request_id, "label": int(high > low),
                       "probability": round(probability, 6)}).encode()
    head = (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode("ascii") + body
