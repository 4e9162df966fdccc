"""Every chapter parameter's valid range, written once and checked before a chapter runs.

A chapter's parameters are what a reader types (``perfcost rerun cost -p request_rate_rps 2e3``),
so a bad value must be refused in the reader's words: the parameter's name, its range and the
value, before a kernel starts. This module holds, per chapter, one :class:`ChapterInputs`: a
check per parameter (:class:`Number`, :class:`WholeNumber`, :class:`Pair`, :class:`Text`,
:class:`Names`, :class:`Shape`, :class:`CatalogPath`, :class:`TracePath`, :class:`OnnxPath`)
and the rules that tie parameters together (a spike must start inside the trace; a trace may
hold at most a few million requests; a reader's ONNX model must take the ``input_shape`` given).

Upper limits are there to keep one re-run within minutes on a 2-core laptop and to keep every
number finite; each says why in a comment. A chapter's range is never wider than what the library
functions it calls accept, so a value that passes here never fails later under a library
argument's name (``tests/test_inputs.py`` runs every chapter's first cell at its range ends).

``perfcost rerun`` calls :func:`check_values` on the defaults merged with the reader's values;
each chapter's first code cell calls :func:`check_chapter` on its own namespace, so a chapter
executed directly (papermill, Jupyter) is held to the same ranges.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from perfcost.compression.variants import VARIANTS
from perfcost.fleet_latency import MAX_FLEET_CV, ROUTINGS
from perfcost.instance_types import (
    MAX_HOURLY_USD,
    MAX_LATENCY_MS,
    MAX_NAME_CHARS,
    MAX_PEAK_TO_AVERAGE,
    MAX_THROUGHPUT_RPS,
    MIN_LATENCY_MS,
    MIN_THROUGHPUT_RPS,
    MIN_UTILIZATION_TARGET,
)
from perfcost.traffic import MAX_RATE_RPS
from perfcost.validation import (
    MAX_SEED,
    ParameterError,
    describe_range,
    in_range,
    integer_in_range,
)

__all__ = [
    "CHAPTER_INPUTS",
    "BookFolder",
    "CatalogPath",
    "ChapterInputs",
    "Choice",
    "FilePath",
    "Names",
    "NoAnswerError",
    "Number",
    "OnnxPath",
    "Pair",
    "Shape",
    "Text",
    "TracePath",
    "UnusableFileError",
    "WholeNumber",
    "check_chapter",
    "check_values",
]

MIN_TRACE_REQUESTS = 1e3  # per batching trace: ~100 per 10 s window at the shortest duration
MAX_BACKLOG = 10.0  # the busiest trace at batch 1 keeps the instances busy <= 10x its length
MAX_TRACE_REQUESTS = 5e6  # per batching trace: ~150 simulations of each, minutes on 2 cores
MAX_SHAPE_DIMENSIONS = 8  # an example's rank: images are 3, video 4 (reader_model's limit too)
# One dimension of an example: at most reader_model.MAX_EXAMPLE_ELEMENTS (16 MB of float32), a
# copy kept here so checking a shape imports no onnx.
MAX_SHAPE_SIZE = 2**22


@dataclass(frozen=True)
class Number:
    """A finite real number in an interval."""

    low: float
    high: float
    low_open: bool = False
    high_open: bool = False

    def check(self, name: str, value: object) -> float:
        """Return ``value`` as a float, or raise ParameterError naming ``name``."""
        return in_range(name, value, self.low, self.high, low_open=self.low_open,
                        high_open=self.high_open)

    def __str__(self) -> str:
        return describe_range(self.low, self.high, low_open=self.low_open,
                              high_open=self.high_open)


@dataclass(frozen=True)
class WholeNumber:
    """A whole number in [low, high]."""

    low: int
    high: int

    def check(self, name: str, value: object) -> int:
        """Return ``value`` as an int, or raise ParameterError naming ``name``."""
        return integer_in_range(name, value, self.low, self.high)

    def __str__(self) -> str:
        return describe_range(self.low, self.high, integer=True)


@dataclass(frozen=True)
class Pair:
    """Two numbers, each checked by ``item``."""

    item: Number

    def check(self, name: str, value: object) -> list[float]:
        """Return the two values as floats, or raise ParameterError naming ``name``."""
        valid = f"two numbers, each {self.item}"
        if isinstance(value, str | bytes) or not hasattr(value, "__len__") or len(value) != 2:
            raise ParameterError(name, valid, value)
        try:
            return [self.item.check(name, v) for v in value]
        except ParameterError:
            raise ParameterError(name, valid, list(value)) from None

    def __str__(self) -> str:
        return f"two numbers, each {self.item}"


@dataclass(frozen=True)
class Text:
    """A one-line, non-empty text of printable characters, at most ``max_chars`` long."""

    max_chars: int = 64

    def check(self, name: str, value: object) -> str:
        """Return ``value``, or raise ParameterError naming ``name``."""
        if (not isinstance(value, str) or not value.strip() or len(value) > self.max_chars
                or not value.isprintable()):
            raise ParameterError(name, str(self), value)
        return value

    def __str__(self) -> str:
        return f"one line of text, 1 to {self.max_chars} characters"


@dataclass(frozen=True)
class Choice:
    """One of a few names, e.g. a routing policy."""

    options: tuple[str, ...]

    def check(self, name: str, value: object) -> str:
        """Return ``value``, or raise ParameterError naming ``name``."""
        if not isinstance(value, str) or value not in self.options:
            raise ParameterError(name, str(self), value)
        return value

    def __str__(self) -> str:
        return f"one of {', '.join(self.options)}"


@dataclass(frozen=True)
class Names:
    """A non-empty list of distinct names, each one of ``options``."""

    options: tuple[str, ...]
    required: tuple[str, ...] = ()

    def check(self, name: str, value: object) -> list[str]:
        """Return the names as a list, or raise ParameterError naming ``name``."""
        if (not isinstance(value, list | tuple) or not value
                or not all(isinstance(v, str) and v in self.options for v in value)
                or len(set(value)) != len(value) or not set(self.required) <= set(value)):
            raise ParameterError(name, str(self), value)
        return list(value)

    def __str__(self) -> str:
        text = f"a non-empty list of distinct names from {', '.join(self.options)}"
        return text + (f", including {', '.join(self.required)}" if self.required else "")


@dataclass(frozen=True)
class Shape:
    """The shape of one example: a list of 1 to 8 positive whole numbers, each <= 2**22."""

    def check(self, name: str, value: object) -> list[int]:
        """Return the sizes as ints, or raise ParameterError naming ``name``."""
        if (not isinstance(value, list | tuple)
                or not 1 <= len(value) <= MAX_SHAPE_DIMENSIONS):
            raise ParameterError(name, str(self), value)
        try:
            return [integer_in_range(name, size, 1, MAX_SHAPE_SIZE) for size in value]
        except ParameterError:
            raise ParameterError(name, str(self), list(value)) from None

    def __str__(self) -> str:
        return (f"a list of 1 to {MAX_SHAPE_DIMENSIONS} positive whole numbers, e.g. "
                "[1, 28, 28]")


@dataclass(frozen=True)
class FilePath:
    """``""`` (the chapter's own data) or the path of a file that must load.

    A relative path is resolved against ``base`` (the folder the reader ran the command in),
    never against the folder the chapter executes in. Subclasses say what loads the file.
    """

    def load(self, path: Path) -> None:
        """Raise ValueError (or a subclass) when ``path`` cannot be used."""
        raise NotImplementedError

    def check(self, name: str, value: object, base: Path | None = None) -> str:
        """Return ``""`` or the absolute path of a file that loads; raise otherwise."""
        if not isinstance(value, str) or "\n" in value:
            raise ParameterError(name, str(self), value)
        if value == "":
            return value
        path = Path(value).expanduser()
        path = path if path.is_absolute() else (base or Path.cwd()) / path
        try:
            self.load(path)
        except ValueError as error:
            raise UnusableFileError(name, value, error) from None
        return str(path.resolve())


@dataclass(frozen=True)
class CatalogPath(FilePath):
    """``""`` (the packaged price catalog) or the path of a catalog file, which must load."""

    def load(self, path: Path) -> None:
        """Load the catalog (:func:`perfcost.pricing.load_catalog`)."""
        from perfcost.pricing import load_catalog

        load_catalog(path)

    def __str__(self) -> str:
        return '"" (the packaged catalog) or the path of a price catalog YAML file'


@dataclass(frozen=True)
class TracePath(FilePath):
    """``""`` (no real trace) or the path of an arrival-time CSV that loads
    (:func:`perfcost.traffic.load_trace`) and holds at least two arrivals."""

    def load(self, path: Path) -> None:
        """Load the trace; it must span some time."""
        from perfcost.traffic import load_trace

        times = load_trace(path)
        if times.size < 2 or times[-1] <= times[0]:
            raise ValueError(f"{path}: at least two arrivals at different times needed")

    def __str__(self) -> str:
        return '"" (synthetic traces only) or the path of an arrival-time CSV file'


@dataclass(frozen=True)
class OnnxPath(FilePath):
    """``""`` (chapter 4's own MNIST model) or the path of an ONNX model chapter 4 can measure
    (:func:`perfcost.compression.reader_model.model_input`): one float32 input, its batch
    dimension dynamic."""

    def load(self, path: Path) -> None:
        """Load and check the model; ValueError says why it cannot be measured."""
        from perfcost.compression.reader_model import model_input

        model_input(path)

    def __str__(self) -> str:
        return ('"" (the chapter\'s MNIST model) or the path of an ONNX model with one float32 '
                "input and a dynamic batch dimension")


@dataclass(frozen=True)
class BookFolder:
    """``""`` (the book the chapter runs from) or the folder of a book: ``_toc.yml`` and
    ``analyses/``. ``perfcost rerun`` fills it with the book it found the chapter in."""

    def check(self, name: str, value: object) -> str:
        """Return ``""`` or the absolute path of a book folder; raise otherwise."""
        if not isinstance(value, str) or "\n" in value:
            raise ParameterError(name, str(self), value)
        if value == "":
            return value
        path = Path(value).expanduser()
        if not ((path / "_toc.yml").is_file() and (path / "analyses").is_dir()):
            raise ParameterError(name, str(self), value)
        return str(path.resolve())

    def __str__(self) -> str:
        return '"" (the book the chapter runs from) or a folder with _toc.yml and analyses/'


class UnusableFileError(ParameterError):
    """A path parameter whose file cannot be used; says why in the file's own words."""

    def __init__(self, name: str, value: str, problem: Exception):
        super().__init__(name, "a file that can be used", value)
        self.args = (f"{name} {value!r} cannot be used: {problem}",)


Check = Number | WholeNumber | Pair | Text | Choice | Names | Shape | FilePath | BookFolder
Rule = Callable[[Mapping[str, object]], None]


@dataclass(frozen=True)
class ChapterInputs:
    """A chapter's parameters: one check each, and the rules that tie them together."""

    checks: Mapping[str, Check]
    rules: tuple[Rule, ...] = field(default=())


def _positive(high: float) -> Number:
    return Number(0.0, high, low_open=True)


def _share(*, low_open: bool = False, high_open: bool = False) -> Number:
    return Number(0.0, 1.0, low_open=low_open, high_open=high_open)


SEED = WholeNumber(0, MAX_SEED)
RATE_RPS = Number(1e-3, MAX_RATE_RPS)  # >= one request in ~17 minutes: every model is finite
LATENCY_MS = Number(MIN_LATENCY_MS, MAX_LATENCY_MS)  # 1 us to a minute: beyond is a batch job
HOURLY_USD = _positive(MAX_HOURLY_USD)  # the largest cloud instances cost under $100/h
THROUGHPUT_RPS = Number(MIN_THROUGHPUT_RPS, MAX_THROUGHPUT_RPS)  # >= a request in ~17 minutes
UTILIZATION_TARGET = Number(MIN_UTILIZATION_TARGET, 1.0)  # below 1%: 100x the capacity, a typo


# --- Rules that tie parameters together --------------------------------------------------------

def _spike_inside_trace(values: Mapping[str, object]) -> None:
    """spike_start_s + spike_duration_s <= duration_s: the whole spike is inside the trace."""
    end_s = values["spike_start_s"] + values["spike_duration_s"]
    if end_s > values["duration_s"]:
        raise ParameterError("spike_start_s + spike_duration_s", f"<= duration_s = "
                             f"{values['duration_s']:g} (the spike must end inside the trace)",
                             end_s)


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


def _traces_fit(values: Mapping[str, object]) -> None:
    """Each trace draws between 1e3 and 5e6 requests (its peak rate * duration_s)."""
    for product, requests in _trace_sizes(values).items():
        if not MIN_TRACE_REQUESTS <= requests <= MAX_TRACE_REQUESTS:
            raise ParameterError(product, f"between {MIN_TRACE_REQUESTS:.0e} (a p95 in every "
                                 f"window) and {MAX_TRACE_REQUESTS:.0e} requests drawn per "
                                 "trace (a re-run within minutes)", float(f"{requests:.4g}"))


def _work_fits(values: Mapping[str, object]) -> None:
    """The busiest trace served one request per batch takes at most 10 * duration_s."""
    requests = max(_trace_sizes(values).values())
    busy_s = requests * (values["base_ms"] + values["per_item_ms"]) / 1000
    busy_s /= values["instances"]
    if busy_s > MAX_BACKLOG * values["duration_s"]:
        raise ParameterError(
            "requests * (base_ms + per_item_ms) / instances",
            f"at most {MAX_BACKLOG:g} * duration_s = {MAX_BACKLOG * values['duration_s']:g} s "
            "(a backlog that drains within minutes of simulation)", float(f"{busy_s:.4g}"))


def _real_trace_fits(values: Mapping[str, object]) -> None:
    """The real trace replayed at trace_peak_rps draws at most 5e6 requests (the peak times the
    time it spans) and, served one request per batch, keeps the instances busy for at most
    10 times that span."""
    if not values["trace_path"]:
        return
    from perfcost.traffic import load_trace

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


def _slo_above_one_request(values: Mapping[str, object]) -> None:
    """slo_p95_ms > base_ms + per_item_ms: an SLO below one request's own service time is one
    no batching policy can meet, and leaves no batch limit to search."""
    one_ms = values["base_ms"] + values["per_item_ms"]
    if values["slo_p95_ms"] <= one_ms:
        raise ParameterError("slo_p95_ms", f"more than base_ms + per_item_ms = {one_ms:g} ms "
                             "(one request's service time: no batching policy meets less)",
                             values["slo_p95_ms"])


def _one_bursty_rate_positive(values: Mapping[str, object]) -> None:
    """bursty_rps: not both rates zero."""
    if max(values["bursty_rps"]) <= 0:
        raise ParameterError("bursty_rps", "two rates, not both zero", values["bursty_rps"])


class NoAnswerError(ParameterError):
    """Values each inside their range that together leave the chapter's question unanswerable."""

    def __init__(self, names: str, reason: str):
        super().__init__(names, "values for which the question has an answer", reason)
        self.args = (f"no answer with these values of {names}: {reason}",)


MAX_IN_FLIGHT = 10_000  # requests one instance holds at once (Little's law: rate * latency)


def _options_named_apart(values: Mapping[str, object]) -> None:
    """cpu_name and gpu_name differ: the chapter's tables and verdicts tell them apart by name."""
    if values["cpu_name"] == values["gpu_name"]:
        raise ParameterError("gpu_name", f"a name other than cpu_name ({values['cpu_name']!r})",
                             values["gpu_name"])


MAX_SLOT_ERROR = 0.1  # the model's mean service k / throughput within 10% of latency_ms


def _slots_match_latency(values: Mapping[str, object]) -> None:
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


def _capacity_has_an_answer(values: Mapping[str, object]) -> None:
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
    return 784 * width + width * width + width * 10


def _training_fits(values: Mapping[str, object]) -> None:
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


MNIST_INPUT_SHAPE = [784]  # the chapter's MLP reads a 28x28 MNIST image, flattened


def _input_shape_fits_model(values: Mapping[str, object]) -> None:
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


def _archive_class_in_catalog(values: Mapping[str, object]) -> None:
    """archive_storage_class is a storage class of the price catalog."""
    from perfcost.pricing import load_catalog

    catalog = load_catalog(values["price_catalog_path"])
    catalog.storage_class(values["archive_storage_class"], parameter="archive_storage_class")


def _throughput_gain_measured_or_a_gain(values: Mapping[str, object]) -> None:
    """throughput_gain: 0 (use the gain chapter 4 measured, which must be readable) or [1, 100]."""
    from perfcost.book.measured import compression_throughput_gain

    gain = values["throughput_gain"]
    if gain == 0:
        compression_throughput_gain(values.get("book_root") or None)
    elif gain < 1:
        raise ParameterError("throughput_gain", "0 (the gain measured in chapter 4) or a "
                             "number in [1, 100]", gain)


# --- The chapters ------------------------------------------------------------------------------

CAPACITY = ChapterInputs(checks={
    "request_rate_rps": RATE_RPS,
    "latency_slo_ms": LATENCY_MS,
    "utilization_target": UTILIZATION_TARGET,
    "peak_to_average": Number(1.0, MAX_PEAK_TO_AVERAGE),  # beyond, size for the peak directly
    "routing": Choice(ROUTINGS),
    "service_cv": Number(0.0, MAX_FLEET_CV),  # beyond, a gamma's p95 falls below its mean
    "cpu_name": Text(MAX_NAME_CHARS),
    "cpu_throughput_rps": THROUGHPUT_RPS,
    "cpu_hourly_usd": HOURLY_USD,
    "cpu_latency_ms": LATENCY_MS,
    "gpu_name": Text(MAX_NAME_CHARS),
    "gpu_throughput_rps": THROUGHPUT_RPS,
    "gpu_hourly_usd": HOURLY_USD,
    "gpu_latency_ms": LATENCY_MS,
}, rules=(_options_named_apart, _slots_match_latency, _capacity_has_an_answer))

COST = ChapterInputs(checks={
    "request_rate_rps": RATE_RPS,
    "request_kb": Number(0.0, 1e5),  # 100 MB per request
    "response_kb": Number(0.0, 1e5),
    "eu_egress_fraction": _share(),
    "instance_hourly_usd": HOURLY_USD,
    "instance_throughput_rps": THROUGHPUT_RPS,
    "utilization_target": UTILIZATION_TARGET,
    "model_storage_gb": Number(0.0, 1e7),  # 10 PB
    "storage_usd_per_gb_month": Number(0.0, 10.0),
    "hours_per_month": Number(672.0, 744.0),  # a calendar month: 28 to 31 days
    "savings_target": _share(high_open=True),
    "peak_to_average": Number(1.0, 2.0),  # a sinusoidal day: rate = mean (1 + a cos)
    "commitment_discount": _share(high_open=True),  # 0: the catalog's 1-yr low end
    "spot_share": _share(high_open=True),  # all-spot has no on-demand floor
    "spot_discount": _share(high_open=True),  # 0: the catalog's spot low end
    "throughput_gain": Number(0.0, 100.0),  # 0: chapter 4's measured gain; else >= 1 (a rule)
    "cache_hit_rate": _share(high_open=True),
    "response_compression_ratio": Number(1.0, 100.0),
    "archived_storage_fraction": _share(),
    "archive_storage_class": Text(),
    "block_storage_gb_per_instance": Number(0.0, 16_000.0),  # a gp3 volume holds <= 16 TiB
    "price_catalog_path": CatalogPath(),
    "book_root": BookFolder(),  # where chapter 4's measured gain is read
}, rules=(_archive_class_in_catalog, _throughput_gain_measured_or_a_gain))

BATCHING = ChapterInputs(
    {
        "slo_p95_ms": LATENCY_MS,
        "instances": WholeNumber(1, 256),
        "base_ms": Number(0.0, 1_000.0),  # a second per batch: beyond any served model
        "per_item_ms": Number(1e-3, 1_000.0),
        "jitter_cv": Number(0.0, 2.0),
        "duration_s": Number(10.0, 3_600.0),  # an hour: one control step per second
        "steady_rps": RATE_RPS,
        "diurnal_mean_rps": RATE_RPS,
        "diurnal_peak_to_average": Number(1.0, 2.0),  # a sinusoidal day
        "spike_multiplier": Number(1.0, 100.0),
        "spike_start_s": Number(0.0, 3_600.0),
        "spike_duration_s": Number(10.0, 3_600.0),  # at least one 10 s SLO window
        "bursty_rps": Pair(Number(0.0, MAX_RATE_RPS)),
        "bursty_sojourn_s": Pair(Number(0.1, 3_600.0)),  # >= 0.1 s bounds the state switches
        "swing_peak_rps": RATE_RPS,
        "cold_start_rps": RATE_RPS,
        "drift_slowdown": Number(1.0, 10.0),  # a model version up to 10x slower
        "trace_path": TracePath(),
        "trace_peak_rps": RATE_RPS,
        "seed": SEED,
    },
    rules=(_spike_inside_trace, _slo_above_one_request, _one_bursty_rate_positive,
           _traces_fit, _work_fits, _real_trace_fits),
)

COMPRESSION = ChapterInputs(checks={
    "model_path": OnnxPath(),
    "input_shape": Shape(),
    "variants": Names(VARIANTS),  # any subset: fp32 is always measured, as the baseline
    "hidden_units": WholeNumber(1, 2048),  # training time grows with width: minutes at 2048
    "student_units": WholeNumber(1, 2048),
    "epochs": WholeNumber(1, 50),
    "fine_tune_epochs": WholeNumber(1, 50),
    "sparsity": _share(high_open=True),
    "keep_fraction": _share(low_open=True),
    "temperature": Number(0.01, 100.0),  # below 0.01 the softened loss turns NaN
    "alpha": _share(),
    "threads": WholeNumber(1, 64),
    "latency_target_fraction": _share(low_open=True),
    "max_accuracy_drop": _share(),
    "request_rate_rps": Number(0.0, RATE_RPS.high),  # 0: the cost chapter's
    "instance_throughput_rps": Number(0.0, THROUGHPUT_RPS.high),  # 0: the cost chapter's
    "instance_hourly_usd": Number(0.0, HOURLY_USD.high),  # 0: the cost chapter's
    # A request's other stages; a minute each: beyond is a batch job, not serving.
    "decode_ms": Number(0.0, 60_000.0),
    "network_ms": Number(0.0, 60_000.0),
    "preprocess_ms": Number(0.0, 60_000.0),
    "postprocess_ms": Number(0.0, 60_000.0),
    "seed": SEED,
    "book_root": BookFolder(),  # where the cost chapter's values are read
}, rules=(_training_fits, _input_shape_fits_model))

CHAPTER_INPUTS: dict[str, ChapterInputs] = {
    "capacity": CAPACITY, "cost": COST, "batching": BATCHING, "compression": COMPRESSION,
}


def check_values(chapter: str, values: Mapping[str, object], *,
                 base: Path | None = None) -> dict[str, object]:
    """Check every parameter of ``chapter`` in ``values``; return them normalised.

    ``values`` must hold every parameter the chapter has (defaults merged with the reader's).
    Numbers come back as float or int, paths as absolute paths (relative ones resolved against
    ``base``, default the working directory).

    Raises
    ------
    ParameterError
        Naming the first parameter out of its range, the range, and the value.
    KeyError
        For a chapter without inputs here.
    """
    inputs = CHAPTER_INPUTS[chapter]
    checked = {}
    for name, check in inputs.checks.items():
        if isinstance(check, FilePath):
            checked[name] = check.check(name, values[name], base)
        else:
            checked[name] = check.check(name, values[name])
    for rule in inputs.rules:
        rule(checked)
    return checked


def check_chapter(chapter: str, namespace: Mapping[str, object]) -> dict[str, object]:
    """Check a chapter's parameters where they are defined: its notebook's ``globals()``.

    The first code cell of every chapter calls ``check_chapter(NAME, globals())``.
    """
    return check_values(chapter, {name: namespace[name]
                                  for name in CHAPTER_INPUTS[chapter].checks})

