"""The rules that tie a chapter's parameters together, each checked after every parameter is
in its own range: a spike must end inside its trace, a trace may hold at most a few million
requests, the capacity question must have an answer, chapter 4's training must fit in minutes,
a reader's ONNX model must take the ``input_shape`` given.

Each rule takes the chapter's checked values and raises ParameterError naming the parameters
involved (``spike_start_s + spike_duration_s``) as the reader typed them. The chapters'
declarations in :mod:`perfcost.book.inputs` list which rules apply.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from perfcost.compression.data import CLASSES
from perfcost.compression.settings import MNIST_PIXELS
from perfcost.validation import ParameterError

__all__ = [
    "NoAnswerError",
    "archive_class_in_catalog",
    "capacity_has_an_answer",
    "design_catalog_complete",
    "input_shape_fits_model",
    "one_bursty_rate_positive",
    "options_named_apart",
    "real_trace_fits",
    "slo_above_one_request",
    "slots_match_latency",
    "spike_inside_trace",
    "throughput_gain_measured_or_a_gain",
    "traces_fit",
    "training_fits",
    "work_fits",
]

MIN_TRACE_REQUESTS = 1e3  # per batching trace: ~100 per 10 s window at the shortest duration
MAX_BACKLOG = 10.0  # the busiest trace at batch 1 keeps the instances busy <= 10x its length
MAX_TRACE_REQUESTS = 5e6  # per batching trace: ~150 simulations of each, minutes on 2 cores


def spike_inside_trace(values: Mapping[str, object]) -> None:
    """spike_start_s + spike_duration_s <= duration_s: the whole spike is inside the trace
    (:func:`perfcost.batching.traces.check_spike_inside`)."""
    from perfcost.batching.traces import check_spike_inside

    check_spike_inside(values["duration_s"], values["spike_start_s"], values["spike_duration_s"])


def _trace_sizes(values: Mapping[str, object]) -> dict[str, float]:
    """Each trace's draw: the peak rate it is generated at (thinning) times its duration."""
    duration, steady = values["duration_s"], values["steady_rps"]
    return {
        "steady_rps * duration_s": steady * duration,
        "diurnal_mean_rps * diurnal_peak_to_average * duration_s":
            values["diurnal_mean_rps"] * values["diurnal_peak_to_average"] * duration,
        "steady_rps * spike_multiplier * duration_s":
            steady * values["spike_multiplier"] * duration,
        "max(bursty_rps) * duration_s": max(values["bursty_rps"]) * duration,
        "swing_peak_rps * duration_s": values["swing_peak_rps"] * duration,
        "cold_start_rps * duration_s": values["cold_start_rps"] * duration,
    }


def traces_fit(values: Mapping[str, object]) -> None:
    """Each trace draws between 1e3 and 5e6 requests (its peak rate * duration_s)."""
    for product, requests in _trace_sizes(values).items():
        if not MIN_TRACE_REQUESTS <= requests <= MAX_TRACE_REQUESTS:
            raise ParameterError(product, f"between {MIN_TRACE_REQUESTS:.0e} (a p95 in every "
                                 f"window) and {MAX_TRACE_REQUESTS:.0e} requests drawn per "
                                 "trace (a re-run within minutes)", float(f"{requests:.4g}"))


def work_fits(values: Mapping[str, object]) -> None:
    """The busiest trace served one request per batch takes at most 10 * duration_s."""
    requests = max(_trace_sizes(values).values())
    busy_s = requests * (values["base_ms"] + values["per_item_ms"]) / 1000
    busy_s /= values["instances"]
    if busy_s > MAX_BACKLOG * values["duration_s"]:
        raise ParameterError(
            "requests * (base_ms + per_item_ms) / instances",
            f"at most {MAX_BACKLOG:g} * duration_s = {MAX_BACKLOG * values['duration_s']:g} s "
            "(a backlog that drains within minutes of simulation)", float(f"{busy_s:.4g}"))


def real_trace_fits(values: Mapping[str, object]) -> None:
    """The real trace replayed at trace_peak_rps draws at most 5e6 requests (the peak times the
    time it spans) and, served one request per batch, keeps the instances busy for at most
    10 times that span."""
    if not values["trace_path"]:
        return
    from perfcost.trace_files import load_trace

    times = load_trace(values["trace_path"])
    span_s = float(times[-1] - times[0])
    requests = values["trace_peak_rps"] * span_s
    if requests > MAX_TRACE_REQUESTS:
        raise ParameterError("trace_peak_rps * (trace span)", f"at most "
                             f"{MAX_TRACE_REQUESTS:.0e} requests (a re-run within minutes)",
                             float(f"{requests:.4g}"))
    load = values["trace_peak_rps"] * (values["base_ms"] + values["per_item_ms"]) / 1000
    load /= values["instances"]
    if load > MAX_BACKLOG:
        raise ParameterError("trace_peak_rps * (base_ms + per_item_ms) / 1000 / instances",
                             f"at most {MAX_BACKLOG:g} (a backlog that drains within minutes "
                             "of simulation)", float(f"{load:.4g}"))


def slo_above_one_request(values: Mapping[str, object]) -> None:
    """slo_p95_ms > base_ms + per_item_ms: an SLO below one request's own service time is one
    no batching policy can meet, and leaves no batch limit to search."""
    one_ms = values["base_ms"] + values["per_item_ms"]
    if values["slo_p95_ms"] <= one_ms:
        raise ParameterError("slo_p95_ms", f"more than base_ms + per_item_ms = {one_ms:g} ms "
                             "(one request's service time: no batching policy meets less)",
                             values["slo_p95_ms"])


def one_bursty_rate_positive(values: Mapping[str, object]) -> None:
    """bursty_rps: not both rates zero."""
    if max(values["bursty_rps"]) <= 0:
        raise ParameterError("bursty_rps", "two rates, not both zero", values["bursty_rps"])


class NoAnswerError(ParameterError):
    """Values each inside their range that together leave the chapter's question unanswerable."""

    def __init__(self, names: str, reason: str):
        super().__init__(names, "values for which the question has an answer", reason)
        self.args = (f"no answer with these values of {names}: {reason}",)


MAX_IN_FLIGHT = 10_000  # requests one instance holds at once (Little's law: rate * latency)


def options_named_apart(values: Mapping[str, object]) -> None:
    """cpu_name and gpu_name differ: the chapter's tables and verdicts tell them apart by name."""
    if values["cpu_name"] == values["gpu_name"]:
        raise ParameterError("gpu_name", f"a name other than cpu_name ({values['cpu_name']!r})",
                             values["gpu_name"])


MAX_SLOT_ERROR = 0.1  # the model's mean service k / throughput within 10% of latency_ms


def slots_match_latency(values: Mapping[str, object]) -> None:
    """throughput * latency (requests in flight, Little's law) is within 10% of a whole number
    >= 1, so the model's k slots of mean service k / throughput keep the stated latency."""
    for kind in ("cpu", "gpu"):
        in_flight = values[f"{kind}_throughput_rps"] * values[f"{kind}_latency_ms"] / 1000
        slots = max(1, round(in_flight))
        if abs(slots - in_flight) > MAX_SLOT_ERROR * in_flight:
            raise ParameterError(
                f"{kind}_throughput_rps * {kind}_latency_ms / 1000",
                "within 10% of a whole number >= 1 (requests one instance holds at once, by "
                "Little's law; the fleet model serves them in that many slots)",
                float(f"{in_flight:.4g}"))


def capacity_has_an_answer(values: Mapping[str, object]) -> None:
    """Both options' latencies are within latency_slo_ms (the chapter compares them); some
    option meets it at the average and peak rates (both sizings), with at most 10,000 requests
    in flight per instance and a p95 fleet small enough to simulate."""
    from perfcost import capacity, fleet_check

    for kind in ("cpu", "gpu"):
        if values[f"{kind}_latency_ms"] > values["latency_slo_ms"]:
            raise ParameterError(f"{kind}_latency_ms", f"<= latency_slo_ms = "
                                 f"{values['latency_slo_ms']:g} (the chapter compares both "
                                 "options; one slower than the SLO is no option)",
                                 values[f"{kind}_latency_ms"])
        in_flight = values[f"{kind}_throughput_rps"] * values[f"{kind}_latency_ms"] / 1000
        if in_flight > MAX_IN_FLIGHT:
            raise ParameterError(f"{kind}_throughput_rps * {kind}_latency_ms / 1000",
                                 f"at most {MAX_IN_FLIGHT:,} requests in flight per instance "
                                 "(Little's law)", float(f"{in_flight:.4g}"))
    question = capacity.CapacityQuestion(**values)
    names = "latency_slo_ms, request_rate_rps, routing, service_cv and the options"
    rate, slo = values["request_rate_rps"], values["latency_slo_ms"]
    try:
        fleets = [capacity.cheapest_instance(question.options, at_rps, slo,
                                             values["utilization_target"],
                                             model=question.model)
                  for at_rps in (rate, question.peak_rate_rps)]
        fleets.append(capacity.cheapest_instance_for_quantile(
            question.options, rate, slo, model=question.model))
    except capacity.InfeasibleError as error:
        raise NoAnswerError(names, str(error)) from None
    for fleet in fleets:  # the chapter simulates each of them
        servers = fleet.count * capacity.slots_per_instance(fleet.instance)
        if servers > fleet_check.MAX_SIMULATED_SERVERS:
            raise NoAnswerError(names, f"a fleet of {servers:,} slots to simulate; at most "
                                f"{fleet_check.MAX_SIMULATED_SERVERS:,}")


MAX_TRAINING_MACS = 3e8  # per training example: ~10x chapter 4's defaults, minutes on 2 cores


def _mlp_macs(width: int) -> int:
    """Multiply-accumulates of one forward pass of chapter 4's MLP, 784 -> w -> w -> 10."""
    return MNIST_PIXELS * width + width * width + width * CLASSES


def training_fits(values: Mapping[str, object]) -> None:
    """With the chapter's own model (model_path ""), training costs at most 3e8
    multiply-accumulates per example (~10x the defaults); a reader's model trains nothing."""
    if values["model_path"]:
        return
    teacher, student = _mlp_macs(values["hidden_units"]), _mlp_macs(values["student_units"])
    # the teacher, the distilled and the scratch student; two pruned teachers fine-tuned
    macs = values["epochs"] * (teacher + 2 * student) + 2 * values["fine_tune_epochs"] * teacher
    if macs > MAX_TRAINING_MACS:
        raise ParameterError(
            "epochs, fine_tune_epochs, hidden_units and student_units",
            f"small enough that training costs at most {MAX_TRAINING_MACS:.0e} "
            "multiply-accumulates per example (~10x the defaults: minutes on 2 cores)",
            float(f"{macs:.3g}"))


MNIST_INPUT_SHAPE = [MNIST_PIXELS]  # the chapter's MLP reads a 28x28 image, flattened


def input_shape_fits_model(values: Mapping[str, object]) -> None:
    """input_shape is one example's shape for the model: [784] for the chapter's MLP; for a
    reader's model (model_path) its input's shape without the batch dimension."""
    if not values["model_path"]:
        if list(values["input_shape"]) != MNIST_INPUT_SHAPE:
            raise ParameterError("input_shape", f"{MNIST_INPUT_SHAPE} with model_path \"\" "
                                 "(the chapter's MLP reads 28x28 MNIST pixels, flattened)",
                                 values["input_shape"])
        return
    from perfcost.compression.reader_model import check_input_shape, model_input

    check_input_shape(model_input(Path(values["model_path"])), values["input_shape"])


def archive_class_in_catalog(values: Mapping[str, object]) -> None:
    """archive_storage_class is a storage class of the price catalog."""
    from perfcost.pricing import load_catalog

    catalog = load_catalog(values["price_catalog_path"])
    catalog.storage_class(values["archive_storage_class"], parameter="archive_storage_class")


def throughput_gain_measured_or_a_gain(values: Mapping[str, object]) -> None:
    """throughput_gain: 0 (use the gain chapter 4 measured, which must be readable) or [1, 100]."""
    from perfcost.book.measured import compression_throughput_gain

    gain = values["throughput_gain"]
    if gain == 0:
        compression_throughput_gain(values.get("book_root") or None)
    elif gain < 1:
        raise ParameterError("throughput_gain", "0 (the gain measured in chapter 4) or a "
                             "number in [1, 100]", gain)


def design_catalog_complete(values: Mapping[str, object]) -> None:
    """price_catalog_path holds what chapter 5 reads: the request path's latencies and, for a
    published model, its workload (:func:`perfcost.design.question.check_design_catalog`)."""
    from perfcost.design.question import check_design_catalog
    from perfcost.pricing import load_catalog

    check_design_catalog(load_catalog(values["price_catalog_path"]), values["model"])
