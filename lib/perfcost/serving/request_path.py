"""What one request costs a core besides the model: HTTP parsing, JSON, the response.

For a small model the model is not the bottleneck. A request's path through one worker, timed
stage by stage, in-process (no socket: the kernel's share is measured apart, by
:mod:`perfcost.serving.http_loopback`):

==============  ============================================================================
``parse_http``  the raw HTTP/1.1 POST: request line, headers (``http.client.parse_headers``),
                the body by its Content-Length
``decode``      the JSON body ``{"id": ..., "features": [30 floats]}`` to a float32 row
``model``       the ONNX Runtime call at batch 1, one intra-op thread
``encode``      the probability (softmax), ``{"id", "label", "probability"}`` as JSON and the
                HTTP/1.1 response around it
==============  ============================================================================

Requests are built from the held-out rows. They are processed in blocks; each block's median
per stage is one replicate, and a stage's figure is the typical block median with a 95%
t-interval over blocks (:func:`perfcost.significance.session_median_interval`). Blocks of the
two variants are interleaved (:func:`perfcost.significance.interleaved_trials`).

A :class:`ServingProfile` joins the non-model overhead per request with the model's time per
call at each batch size (:mod:`perfcost.serving.batch_timing`). When a batcher groups b
requests into one model call, one core serves

    per_core_rps(b) = 1000 / (overhead_ms + model_ms(b) / b)

requests per second: the overhead is paid per request, the model call per batch.

Used by chapter 5 (system design).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from perfcost.batching.service import LinearServiceTime
from perfcost.serving.batch_timing import (
    DEFAULT_BATCH_SIZES,
    BatchTiming,
    check_batch_sizes,
    check_budget,
    linear_service,
    time_batches,
)
from perfcost.serving.wire import (
    build_request,
    decode_features,
    encode_response,
    parse_request,
    predict_one,
)
from perfcost.significance import interleaved_trials, session_median_interval
from perfcost.validation import ParameterError, instance_of, integer_in_range, seed_value

__all__ = [
    "STAGES",
    "RequestPath",
    "ServingProfile",
    "measure_request_path",
    "measure_serving_profiles",
    "serving_profile",
]

STAGES = ("parse_http", "decode", "model", "encode")
OVERHEAD_STAGES = ("parse_http", "decode", "encode")  # paid per request, batched or not
CONFIDENCE = 0.95
MODEL_SHARE_OF_BUDGET = 0.5  # measure_serving_profiles: half the budget to batch timing


def _block(model, input_name: str, requests: list[bytes], features: int):
    """A function serving every request once; returns (requests, stages) seconds, flattened."""
    clock = time.perf_counter

    def one_block() -> np.ndarray:
        found = np.empty((len(requests), len(STAGES)))
        for index, raw in enumerate(requests):
            t0 = clock()
            request = parse_request(raw)
            t1 = clock()
            request_id, row = decode_features(request.body, features)
            t2 = clock()
            logits = predict_one(model, input_name, row)
            t3 = clock()
            encode_response(request_id, logits)
            found[index] = (t1 - t0, t2 - t1, t3 - t2, clock() - t3)
        return found.ravel()
    return one_block


@dataclass(frozen=True)
class RequestPath:
    """One variant's per-request stage times on one core (ms, typical block medians)."""

    variant: str
    stage_ms: dict[str, float]  # per stage in STAGES
    stage_low_ms: dict[str, float]  # 95% t-interval over blocks
    stage_high_ms: dict[str, float]
    overhead_ms: float  # parse_http + decode + encode, per request (median of the sums)
    overhead_low_ms: float
    overhead_high_ms: float
    total_ms: float  # all four stages, per request (median of the sums)
    total_low_ms: float
    total_high_ms: float
    request_kb: float  # mean size of a request on the wire, decimal kB
    blocks: int  # the replicates
    requests: int  # requests per block

    @property
    def requests_per_core_s(self) -> float:
        """Requests one core serves per second, one at a time: 1000 / total_ms."""
        return 1000.0 / self.total_ms


def measure_request_path(model_paths: dict[str, Path], rows: np.ndarray, *,
                         budget_s: float = 1.5, requests: int = 200,
                         seed: int = 0) -> dict[str, RequestPath]:
    """Time the request path of every variant (name: ONNX path) on one core.

    Parameters
    ----------
    model_paths : dict of str to Path
        The variants' ONNX files.
    rows : ndarray
        Raw feature rows (rows, features) the requests carry, one request per row, cycling.
    budget_s : float
        Seconds of timing for all variants together, in (0, 600]; at least five blocks each.
    requests : int
        Requests per block, in [10, 100,000].
    seed : int
        Seed of the blocks' order, in [0, 2**32 - 1].

    Returns
    -------
    dict of str to RequestPath
        Per variant: stage times, overhead and total per request, with 95% intervals.
    """
    from perfcost.compression.timing import session

    budget_s = check_budget(budget_s)
    requests = integer_in_range("requests", requests, 10, 100_000)
    raws, features = _requests(rows, requests)
    blocks = {}
    for name, path in _model_paths(model_paths).items():
        model = session(path, threads=1)
        blocks[name] = _block(model, model.get_inputs()[0].name, raws, features)
    count = _blocks_that_fit(blocks, budget_s)
    found = interleaved_trials(blocks, trials=count, seed=seed_value(seed))
    kb = float(np.mean([len(raw) for raw in raws])) / 1000
    return {name: _path_summary(name, found[name], requests, kb) for name in blocks}


def _model_paths(model_paths: object) -> dict:
    if not isinstance(model_paths, dict) or not model_paths:
        raise ParameterError("model_paths", "a non-empty dict of name: ONNX path", model_paths)
    return model_paths


def _requests(rows: object, count: int) -> tuple[list[bytes], int]:
    """``count`` raw requests carrying ``rows`` in turn, and the features per row."""
    rows = np.asarray(rows, dtype=float) if isinstance(rows, np.ndarray) else None
    if rows is None or rows.ndim != 2 or len(rows) == 0 or not np.all(np.isfinite(rows)):
        raise ParameterError("rows", "a non-empty 2-D array of finite feature rows", rows)
    return [build_request(i, rows[i % len(rows)]) for i in range(count)], rows.shape[1]


def _blocks_that_fit(blocks: dict, budget_s: float) -> int:
    """Warm up (one block each); return the blocks that fit ``budget_s`` (at least 5)."""
    start = time.perf_counter()
    for one_block in blocks.values():
        one_block()
    return int(np.clip(budget_s // max(time.perf_counter() - start, 1e-9), 5, 10_000))


def _interval(samples: np.ndarray) -> tuple[float, float, float]:
    """Typical block median in ms, with its t-interval over blocks; samples in seconds."""
    return tuple(1e3 * v for v in session_median_interval(samples, confidence=CONFIDENCE))


def _path_summary(variant: str, found: np.ndarray, requests: int, kb: float) -> RequestPath:
    """Stage, overhead and total figures from (blocks, requests × stages) seconds."""
    times = found.reshape(len(found), requests, len(STAGES))
    stages = {s: _interval(times[:, :, i]) for i, s in enumerate(STAGES)}
    overhead_columns = [STAGES.index(s) for s in OVERHEAD_STAGES]
    overhead = _interval(times[:, :, overhead_columns].sum(axis=2))
    total = _interval(times.sum(axis=2))
    return RequestPath(variant, *({s: f[i] for s, f in stages.items()} for i in range(3)),
                       *overhead, *total, kb, len(found), requests)


@dataclass(frozen=True)
class ServingProfile:
    """One variant served on one core: overhead per request and model time per batch."""

    variant: str
    overhead_ms: float  # non-model work per request (HTTP, JSON), typical median
    overhead_low_ms: float  # 95% interval
    overhead_high_ms: float
    batch_sizes: tuple[int, ...]  # increasing
    batch_ms: tuple[float, ...]  # model time per call at each batch size
    batch_low_ms: tuple[float, ...]
    batch_high_ms: tuple[float, ...]
    path_total_ms: float | None = None  # the whole path at batch 1 as measured in-process:
    #  a check on per_core_rps(1), whose model time comes from a hot loop of model calls

    def model_ms(self, batch: int) -> float:
        """Model time per call at ``batch``, one of the measured batch sizes."""
        if batch not in self.batch_sizes:
            raise ParameterError("batch", f"one of the measured sizes {self.batch_sizes}",
                                 batch)
        return self.batch_ms[self.batch_sizes.index(batch)]

    def per_core_rps(self, batch: int) -> float:
        """Requests/s one core serves when a batcher groups ``batch`` requests per model call:
        1000 / (overhead_ms + model_ms(batch) / batch)."""
        return 1000.0 / (self.overhead_ms + self.model_ms(batch) / batch)

    def service_time(self) -> LinearServiceTime:
        """The time one core is busy with a batch of b requests, as a line fitted to the
        measured sizes: model_ms(b) + b × overhead_ms (:func:`linear_service`). Its
        ``throughput_rps(b)`` is about ``per_core_rps(b)``."""
        busy = [ms + b * self.overhead_ms for b, ms in zip(self.batch_sizes, self.batch_ms,
                                                            strict=True)]
        return linear_service(self.batch_sizes, busy)


def serving_profile(path: RequestPath, timing: BatchTiming) -> ServingProfile:
    """Join a variant's request-path overhead with its batch timing."""
    path = instance_of("path", path, RequestPath, "a RequestPath")
    timing = instance_of("timing", timing, BatchTiming, "a BatchTiming")
    return ServingProfile(path.variant, path.overhead_ms, path.overhead_low_ms,
                          path.overhead_high_ms, timing.batch_sizes, timing.median_ms,
                          timing.low_ms, timing.high_ms, path.total_ms)


def measure_serving_profiles(classifier, *, batch_sizes: Sequence[int] = DEFAULT_BATCH_SIZES,
                             budget_s: float = 4.0, seed: int = 0) -> dict[str, ServingProfile]:
    """Measure every variant of ``classifier``: request path and batch timing, on one core.

    Parameters
    ----------
    classifier : Classifier
        From :func:`perfcost.serving.classifier.train_classifier`.
    batch_sizes : sequence of int
        Batch sizes to time, 1 to 16 distinct whole numbers in [1, 4,096].
    budget_s : float
        Seconds of timing in all, in (0, 600]: half to the model at each batch size, half to
        the request path. Warm-up and session creation add about half a second.
    seed : int
        Seed of the trials' order, in [0, 2**32 - 1].

    Returns
    -------
    dict of str to ServingProfile
        Keyed by variant, ``"fp32"`` and ``"int8"``.
    """
    from perfcost.serving.classifier import Classifier

    classifier = instance_of("classifier", classifier, Classifier, "a Classifier")
    sizes = check_batch_sizes(batch_sizes)
    budget_s = check_budget(budget_s)
    seed = seed_value(seed)
    rows = classifier.test_features
    timings = time_batches(classifier.onnx_paths, rows.astype(np.float32), batch_sizes=sizes,
                           budget_s=budget_s * MODEL_SHARE_OF_BUDGET, seed=seed)
    paths = measure_request_path(classifier.onnx_paths, rows,
                                 budget_s=budget_s * (1 - MODEL_SHARE_OF_BUDGET), seed=seed)
    return {name: serving_profile(paths[name], timings[name]) for name in classifier.variants}
