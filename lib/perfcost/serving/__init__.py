"""Serving a small model: what a request costs a core, measured on a real classifier.

Chapter 5 (system design) sizes a 10,000-QPS binary classifier under a p95 of 100 ms and
$5,000 a month. For a model this small the HTTP and JSON work around each call, not the model,
sets how many requests a core serves; these modules measure both on the machine at hand.
One module per job, every public name importable from here (``serving.train_classifier``):

=================  ==========================================================================
``classifier``     :func:`train_classifier`: a 30 → 32 → 2 MLP on the Wisconsin breast-cancer
                   data, exported as fp32 and dynamic-int8 ONNX taking raw features
``wire``           the HTTP/1.1 + JSON wire format: :func:`build_request`,
                   :func:`parse_request`, :func:`decode_features`, :func:`encode_response`
``batch_timing``   :func:`time_batches`: model ms per call at several batch sizes on one core;
                   :func:`linear_service`, the line chapter 3's batching simulator takes
``request_path``   :func:`measure_request_path`: each stage of a request on one core;
                   :class:`ServingProfile` and :func:`measure_serving_profiles`
``http_loopback``  :func:`serve` and :func:`load_test`: a real HTTP server in a subprocess on
                   127.0.0.1, its throughput and latency under load, and its CPU time per
                   request (:func:`measure_server_cost`)
=================  ==========================================================================

Each name is loaded from its module on first use, so the loopback server's process imports
neither PyTorch nor the batching simulator.

Used by chapter 5 (system design).
"""

from __future__ import annotations

from perfcost.lazy import lazy_exports

_MODULES = {
    "classifier": ["FEATURES", "Classifier", "VariantAccuracy", "load_breast_cancer_split",
                   "onnx_labels", "train_classifier", "train_model"],
    "wire": ["HttpRequest", "build_request", "decode_features", "encode_response",
             "parse_request", "predict_one"],
    "batch_timing": ["DEFAULT_BATCH_SIZES", "MAX_BATCH_SIZE", "BatchTiming",
                     "check_batch_sizes", "linear_service", "time_batches"],
    "request_path": ["STAGES", "RequestPath", "ServingProfile", "measure_request_path",
                     "measure_serving_profiles", "serving_profile"],
    "http_loopback": ["LoopbackResult", "ServerCost", "load_test", "measure_loopback",
                      "measure_server_cost", "serve", "serve_process"],
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, globals(), _MODULES)
