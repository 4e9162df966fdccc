"""Chapter 5's serving measurements: the classifier, the wire format, the request path, the
batched per-core throughput and the loopback server. Behaviour, not speed: timings are only
checked to be positive and finite."""

import json
import math
import subprocess
import sys

import numpy as np
import onnx
import pytest
import torch

from perfcost.batching.service import LinearServiceTime
from perfcost.serving.batch_timing import (
    MAX_BATCH_SIZE,
    check_batch_sizes,
    linear_service,
    time_batches,
)
from perfcost.serving.classifier import (
    Classifier,
    load_breast_cancer_split,
    onnx_labels,
    train_classifier,
    train_model,
)
from perfcost.serving.http_loopback import (
    load_test,
    measure_loopback,
    measure_server_cost,
    serve,
)
from perfcost.serving.request_path import (
    STAGES,
    ServingProfile,
    measure_request_path,
    measure_serving_profiles,
)
from perfcost.serving.wire import build_request, decode_features, encode_response, parse_request
from perfcost.validation import ParameterError


@pytest.fixture(scope="module")
def classifier(tmp_path_factory) -> Classifier:
    return train_classifier(tmp_path_factory.mktemp("serving"))


@pytest.fixture(scope="module")
def data():
    return load_breast_cancer_split()


def profile(overhead_ms=0.05, batch_ms=(0.01, 0.02, 0.05)) -> ServingProfile:
    return ServingProfile("fp32", overhead_ms, overhead_ms, overhead_ms, (1, 8, 32), batch_ms,
                          batch_ms, batch_ms)


# The classifier


def test_held_out_accuracy_is_high_for_both_variants(classifier):
    assert set(classifier.variants) == {"fp32", "int8"}
    for accuracy in classifier.accuracy.values():
        assert accuracy.accuracy > 0.9
        assert accuracy.low <= accuracy.accuracy <= accuracy.high
    int8 = classifier.accuracy["int8"]
    assert int8.difference_low <= int8.difference_to_fp32 <= int8.difference_high


def test_fp32_and_int8_give_the_same_label_on_nearly_every_test_row(classifier):
    rows = classifier.test_features
    agree = onnx_labels(classifier.onnx_paths["fp32"], rows) == onnx_labels(
        classifier.onnx_paths["int8"], rows)
    assert agree.mean() >= 0.97


def test_training_is_deterministic_and_leaves_torch_random_state_alone(data):
    state = torch.random.get_rng_state()
    first, second = (train_model(data[0], epochs=3, seed=7) for _ in range(2))
    assert torch.equal(torch.random.get_rng_state(), state)
    for a, b in zip(first.state_dict().values(), second.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    other = train_model(data[0], epochs=3, seed=8)
    assert not torch.equal(first[1].weight, other[1].weight)


def test_the_onnx_graph_takes_raw_features_like_the_torch_model(classifier, data):
    from perfcost.compression.timing import predict

    model = train_model(data[0])  # train_classifier's defaults: the same weights
    raw = classifier.test_features.astype(np.float32)
    with torch.no_grad():
        expected = model(torch.from_numpy(raw)).numpy()
    np.testing.assert_allclose(predict(classifier.onnx_paths["fp32"], raw), expected,
                               rtol=1e-4, atol=1e-4)
    graph = onnx.load(str(classifier.onnx_paths["fp32"])).graph
    assert graph.node[0].op_type == "Sub"  # standardisation is inside the graph
    assert np.abs(raw).max() > 1_000  # and the rows are raw: areas in the thousands


def test_example_rows_cycle_through_the_test_rows(classifier):
    rows = classifier.example_rows(len(classifier.test_features) + 2)
    assert rows.dtype == np.float32 and rows.shape[1] == classifier.features == 30
    np.testing.assert_array_equal(rows[-1], rows[1])


# The line chapter 3 takes


def test_the_linear_fit_recovers_base_and_slope_exactly():
    service = linear_service([128, 1, 8, 32], [2.5 + 0.25 * b for b in (128, 1, 8, 32)])
    assert isinstance(service, LinearServiceTime)
    assert service.base_ms == pytest.approx(2.5, abs=1e-9)
    assert service.per_item_ms == pytest.approx(0.25, abs=1e-12)


def test_the_linear_fit_keeps_the_base_non_negative():
    service = linear_service([1, 2, 4], [0.5, 1.5, 3.5])  # the free fit has base -0.5
    assert service.base_ms == 0.0 and service.per_item_ms > 0


def test_a_batch_time_that_does_not_grow_is_refused():
    with pytest.raises(ParameterError, match=r"^batch_ms "):
        linear_service([1, 8, 32], [5.0, 4.0, 3.0])


# The batched view


def test_per_core_rps_is_1000_over_overhead_plus_model_time_per_request():
    served = profile()
    assert served.per_core_rps(1) == pytest.approx(1000 / (0.05 + 0.01))
    assert served.per_core_rps(32) == pytest.approx(1000 / (0.05 + 0.05 / 32))
    assert served.model_ms(8) == 0.02
    with pytest.raises(ParameterError, match=r"^batch "):
        served.model_ms(4)


def test_the_service_line_counts_the_overhead_per_request():
    served = profile(overhead_ms=0.1, batch_ms=(1.01, 1.08, 1.32))  # model 1 + 0.01 b
    line = served.service_time()
    assert line.base_ms == pytest.approx(1.0) and line.per_item_ms == pytest.approx(0.11)
    assert float(line.throughput_rps(32)) == pytest.approx(served.per_core_rps(32))


# The wire format


def test_the_request_parser_round_trips_a_hand_made_request():
    body = b'{"id": 7, "features": [1.5, 2.0]}'
    raw = (b"POST /predict HTTP/1.1\r\nHost: example\r\nContent-Type: application/json\r\n"
           b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    request = parse_request(raw)
    assert (request.method, request.target, request.body) == ("POST", "/predict", body)
    assert request.headers["content-type"] == "application/json"
    request_id, row = decode_features(request.body, 2)
    assert request_id == 7 and row.dtype == np.float32 and row.tolist() == [[1.5, 2.0]]
    assert parse_request(build_request(7, [1.5, 2.0])).body == body


def test_the_response_is_http_with_the_label_and_softmax_probability():
    raw = encode_response(3, [0.0, math.log(3.0)])  # softmax: 1/4, 3/4
    head, body = raw.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 200 OK") and f"{len(body)}".encode() in head
    assert json.loads(body) == {"id": 3, "label": 1, "probability": 0.75}


@pytest.mark.parametrize("raw", [b"POST /predict\r\n\r\n", b"GET / HTTP/1.1\r\n"
                                 b"Content-Length: -3\r\n\r\n", "POST / HTTP/1.1\r\n\r\n",
                                 b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n{}"])
def test_a_malformed_request_is_refused_by_name(raw):
    with pytest.raises(ParameterError, match=r"^request "):
        parse_request(raw)


@pytest.mark.parametrize("body", [b"not json", b'{"id": 1}', b'{"id": 1, "features": [1]}'])
def test_a_body_without_the_features_is_refused_by_name(body):
    with pytest.raises(ParameterError, match=r"^body "):
        decode_features(body, 2)


# Measurements: positive, finite, complete


def test_the_request_path_stages_are_positive_and_add_up(classifier):
    found = measure_request_path(classifier.onnx_paths, classifier.test_features,
                                 budget_s=0.2, requests=50)
    for path in found.values():
        assert set(path.stage_ms) == set(STAGES) and path.blocks >= 5
        for stage in STAGES:
            low, mid, high = (path.stage_low_ms[stage], path.stage_ms[stage],
                              path.stage_high_ms[stage])
            assert 0 < low <= mid <= high < math.inf
        assert path.overhead_ms < path.total_ms
        assert path.requests_per_core_s == pytest.approx(1000 / path.total_ms)
        assert 0.1 < path.request_kb < 10


def test_the_served_response_parses_back_with_the_right_id(classifier):
    from perfcost.compression.timing import session

    model = session(classifier.onnx_paths["fp32"], threads=1)
    row = classifier.test_features[5]
    request = parse_request(build_request(12345, row))
    request_id, features = decode_features(request.body, classifier.features)
    logits = model.run(None, {model.get_inputs()[0].name: features})[0][0]
    answer = json.loads(encode_response(request_id, logits).split(b"\r\n\r\n", 1)[1])
    assert answer["id"] == 12345
    assert answer["label"] == onnx_labels(classifier.onnx_paths["fp32"], row[None])[0]
    assert 0 <= answer["probability"] <= 1


def test_batch_timing_covers_every_variant_and_size(classifier):
    found = time_batches(classifier.onnx_paths, classifier.example_rows(8),
                         batch_sizes=[8, 1], budget_s=0.1, sessions=2)
    for timing in found.values():
        assert timing.batch_sizes == (1, 8)
        for low, mid, high in zip(timing.low_ms, timing.median_ms, timing.high_ms, strict=True):
            assert 0 < low <= mid <= high < math.inf
        assert all(rate > 0 for rate in timing.examples_per_s)


def test_serving_profiles_join_both_measurements(classifier):
    found = measure_serving_profiles(classifier, batch_sizes=(1, 4), budget_s=0.3)
    assert set(found) == {"fp32", "int8"}
    for served in found.values():
        assert served.batch_sizes == (1, 4)
        assert 0 < served.overhead_low_ms <= served.overhead_ms <= served.overhead_high_ms
        assert served.per_core_rps(4) > served.per_core_rps(1) > 0
        assert served.path_total_ms > served.overhead_ms


# Bad input


@pytest.mark.parametrize("sizes", [(), [1, 2.5], [0], [MAX_BATCH_SIZE + 1], [4, 4], "8",
                                   list(range(1, 18)), [True]])
def test_bad_batch_sizes_are_refused_by_name(sizes):
    with pytest.raises(ParameterError, match=r"^batch_sizes must be") as caught:
        check_batch_sizes(sizes)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("budget", [0, -1.0, math.nan, 601, "3"])
def test_a_bad_budget_is_refused_by_name(classifier, budget):
    with pytest.raises(ParameterError, match=r"^budget_s must be"):
        measure_serving_profiles(classifier, budget_s=budget)


@pytest.mark.parametrize(("argument", "value"), [("seed", -1), ("hidden_units", 0),
                                                 ("epochs", 101), ("epochs", 2.5)])
def test_bad_training_settings_are_refused_by_name(tmp_path, argument, value):
    with pytest.raises(ParameterError, match=rf"^{argument} must be"):
        train_classifier(tmp_path, **{argument: value})


def test_other_bad_arguments_are_refused_by_name(classifier, tmp_path):
    for call, name in [
        (lambda: train_classifier(tmp_path / "missing"), "workdir"),
        (lambda: measure_serving_profiles("model.onnx"), "classifier"),
        (lambda: measure_request_path(classifier.onnx_paths, np.zeros(3)), "rows"),
        (lambda: measure_request_path(classifier.onnx_paths, np.zeros((2, 30)),
                                      requests=5), "requests"),
        (lambda: time_batches({}, np.zeros((2, 30))), "models"),
        (lambda: linear_service([1], [1.0]), "batch_sizes"),
        (lambda: linear_service([1, 2], [1.0]), "batch_ms"),
        (lambda: load_test(0, np.zeros((2, 30))), "port"),
        (lambda: load_test(8080, np.zeros((2, 30)), clients=65), "clients"),
    ]:
        with pytest.raises(ParameterError, match=rf"^{name} must be"):
            call()


# The loopback server


def test_the_loopback_server_answers_correctly_and_stops(classifier):
    rows = classifier.test_features
    with serve(classifier.onnx_paths["fp32"], start_timeout_s=60) as port:
        result = load_test(port, rows, requests=40, clients=2, timeout_s=10)
    expected = onnx_labels(classifier.onnx_paths["fp32"], rows[np.arange(40) % len(rows)])
    assert result.errors == 0 and result.requests == 40
    np.testing.assert_array_equal(result.labels, expected)
    assert 0 < result.latency_p50_ms <= result.latency_p95_ms <= result.latency_p99_ms
    assert result.throughput_rps > 0


def test_the_load_generator_counts_a_dead_server_as_errors_and_returns(classifier):
    with serve(classifier.onnx_paths["fp32"], start_timeout_s=60) as port:
        pass  # the server is killed on leaving
    result = load_test(port, classifier.test_features, requests=5, clients=1, timeout_s=2)
    assert result.errors == 5 and result.requests == 0


@pytest.mark.parametrize("parent_reads_ready_line", [True, False])
def test_the_server_exits_when_its_parent_goes(classifier, parent_reads_ready_line):
    # A kernel killed mid-chapter closes the server's pipes, perhaps before reading the ready
    # line: the server must exit, never outlive its parent until max_seconds (or forever).
    server = subprocess.Popen(
        [sys.executable, "-m", "perfcost.serving.http_loopback", "--serve",
         str(classifier.onnx_paths["fp32"]), "--max-seconds", "600"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        if parent_reads_ready_line:
            assert server.stdout.readline().startswith(b"READY")
        server.stdout.close()
        server.stdin.close()
        assert server.wait(timeout=60) is not None
    finally:
        server.kill()


def test_measure_loopback_returns_figures(classifier):
    result = measure_loopback(classifier.onnx_paths["int8"], classifier.test_features,
                              requests=50, clients=2)
    assert result.requests == 50 and result.errors == 0


def test_measure_server_cost_gives_an_interval_over_its_repeats(classifier):
    cost = measure_server_cost(classifier.onnx_paths["fp32"], classifier.test_features,
                               repeats=2, requests=400, clients=2)
    assert (cost.repeats, cost.requests, cost.clients) == (2, 400, 2)
    assert 0 < cost.cpu_low_ms <= cost.cpu_ms_per_request <= cost.cpu_high_ms
    assert cost.throughput_rps > 0 and cost.latency_p95_ms > 0


@pytest.mark.parametrize("repeats", [0, 1, 101, 2.5])
def test_measure_server_cost_refuses_repeats_outside_two_to_a_hundred(classifier, repeats):
    with pytest.raises(ParameterError, match=r"^repeats must be"):
        measure_server_cost(classifier.onnx_paths["fp32"], classifier.test_features,
                            repeats=repeats, requests=10)


def test_every_public_name_is_reachable_from_the_package():
    import importlib

    from perfcost import serving

    for module, names in serving._MODULES.items():
        home = importlib.import_module(f"perfcost.serving.{module}")
        for name in names:
            assert getattr(serving, name) is getattr(home, name) and name in home.__all__
    assert set(serving.__all__) <= set(dir(serving))
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        serving.nothing  # noqa: B018
