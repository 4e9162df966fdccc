"""Every chapter parameter's valid range, written once and checked before a chapter runs.

A chapter's parameters are what a reader types (``perfcost rerun cost -p request_rate_rps 2e3``),
so a bad value must be refused in the reader's words: the parameter's name, its range and the
value, before a kernel starts. This module holds, per chapter, one :class:`ChapterInputs`: a
check per parameter, of a kind from :mod:`perfcost.book.parameter_types` (a number in a range,
a whole number, a pair, a text, a list of names, a shape, a file that must load), and the rules
from :mod:`perfcost.book.parameter_rules` that tie parameters together (a spike must start
inside the trace; a trace may hold at most a few million requests; a reader's ONNX model must
take the ``input_shape`` given).

Upper limits are there to keep one re-run within minutes on a 2-core laptop and to keep every
number finite; each says why in a comment. A chapter's range is never wider than what the library
functions it calls accept, so a value that passes here never fails later under a library
argument's name (``tests/test_inputs.py`` runs every chapter's first cell at its range ends).

``perfcost rerun`` calls :func:`check_values` on the defaults merged with the reader's values;
each chapter's first code cell calls :func:`check_chapter` on its own namespace, so a chapter
executed directly (papermill, Jupyter) is held to the same ranges.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from perfcost.amdahl import MAX_STAGE_MS
from perfcost.autoscaling import MAX_STARTUP_DELAY_S
from perfcost.book import parameter_rules as rules
from perfcost.book.parameter_types import (
    BookFolder,
    CatalogPath,
    Check,
    Choice,
    FilePath,
    Names,
    Number,
    OnnxPath,
    Pair,
    Rule,
    Shape,
    Text,
    TracePath,
    WholeNumber,
    ZeroOr,
)
from perfcost.compression.settings import MAX_THREADS, TEMPERATURE_RANGE
from perfcost.compression.variants import VARIANTS
from perfcost.cost import MAX_STORAGE_GB, MAX_STORAGE_USD_PER_GB_MONTH, MAX_VOLUME_GB
from perfcost.design.question import (
    MAX_BUDGET_USD,
    MAX_REQUESTS_PER_CONNECTION,
    MAX_WAIT_MS,
    PEAK_UTILIZATION,
)
from perfcost.design.question import MAX_KB as DESIGN_MAX_KB
from perfcost.design.question import MODELS as DESIGN_MODELS
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
from perfcost.traffic import MAX_DIURNAL_PEAK_TO_AVERAGE, MAX_RATE_RPS
from perfcost.units import MAX_HOURS_PER_MONTH, MIN_HOURS_PER_MONTH
from perfcost.validation import MAX_SEED

__all__ = [
    "CHAPTER_INPUTS",
    "ChapterInputs",
    "check_chapter",
    "check_values",
]


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
# A sinusoidal day, rate = mean (1 − a cos(2πt / period)): at 2 its trough is 0.
DIURNAL_PEAK_TO_AVERAGE = Number(1.0, MAX_DIURNAL_PEAK_TO_AVERAGE)
STAGE_MS = Number(0.0, MAX_STAGE_MS)  # a request's other stages: beyond a minute, a batch job
COST_CHAPTERS = "the cost chapter's"  # what 0 means for chapter 4's cost figures
UTILIZATION_TARGET = Number(MIN_UTILIZATION_TARGET, 1.0)  # below 1%: 100x the capacity, a typo


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
}, rules=(rules.options_named_apart, rules.slots_match_latency, rules.capacity_has_an_answer))

COST = ChapterInputs(checks={
    "request_rate_rps": RATE_RPS,
    "request_kb": Number(0.0, 1e5),  # 100 MB per request (the model allows 1 GB)
    "response_kb": Number(0.0, 1e5),
    "eu_egress_fraction": _share(),
    "instance_hourly_usd": HOURLY_USD,
    "instance_throughput_rps": THROUGHPUT_RPS,
    "utilization_target": UTILIZATION_TARGET,
    "model_storage_gb": Number(0.0, MAX_STORAGE_GB),  # 10 PB
    "storage_usd_per_gb_month": Number(0.0, MAX_STORAGE_USD_PER_GB_MONTH),
    "hours_per_month": Number(MIN_HOURS_PER_MONTH, MAX_HOURS_PER_MONTH),  # 28 to 31 days
    "savings_target": _share(high_open=True),
    "peak_to_average": DIURNAL_PEAK_TO_AVERAGE,
    "commitment_discount": _share(high_open=True),  # 0: the catalog's 1-yr low end
    "spot_share": _share(high_open=True),  # all-spot has no on-demand floor
    "spot_discount": _share(high_open=True),  # 0: the catalog's spot low end
    "throughput_gain": Number(0.0, 100.0),  # 0: chapter 4's measured gain; else >= 1 (a rule)
    "cache_hit_rate": _share(high_open=True),
    "response_compression_ratio": Number(1.0, 100.0),
    "archived_storage_fraction": _share(),
    "archive_storage_class": Text(),
    "block_storage_gb_per_instance": Number(0.0, MAX_VOLUME_GB),  # a gp3 volume: 16 TiB
    "price_catalog_path": CatalogPath(),
    "book_root": BookFolder(),  # where chapter 4's measured gain is read
}, rules=(rules.archive_class_in_catalog, rules.throughput_gain_measured_or_a_gain))

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
        "diurnal_peak_to_average": DIURNAL_PEAK_TO_AVERAGE,
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
    rules=(rules.spike_inside_trace, rules.slo_above_one_request, rules.one_bursty_rate_positive,
           rules.traces_fit, rules.work_fits, rules.real_trace_fits),
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
    "temperature": Number(*TEMPERATURE_RANGE),  # below 0.01 the softened loss turns NaN
    "alpha": _share(),
    "threads": WholeNumber(1, MAX_THREADS),
    "latency_target_fraction": _share(low_open=True),
    "max_accuracy_drop": _share(),
    "request_rate_rps": ZeroOr(RATE_RPS, COST_CHAPTERS),
    "instance_throughput_rps": ZeroOr(THROUGHPUT_RPS, COST_CHAPTERS),
    "instance_hourly_usd": ZeroOr(HOURLY_USD, COST_CHAPTERS),
    "decode_ms": STAGE_MS,
    "network_ms": STAGE_MS,
    "preprocess_ms": STAGE_MS,
    "postprocess_ms": STAGE_MS,
    "seed": SEED,
    "book_root": BookFolder(),  # where the cost chapter's values are read
}, rules=(rules.training_fits, rules.input_shape_fits_model))

DESIGN = ChapterInputs(checks={
    "peak_qps": RATE_RPS,
    "p95_slo_ms": LATENCY_MS,
    "budget_usd_month": _positive(MAX_BUDGET_USD),
    "peak_to_average": DIURNAL_PEAK_TO_AVERAGE,
    "request_kb": Number(0.0, DESIGN_MAX_KB),
    "response_kb": Number(0.0, DESIGN_MAX_KB),
    "cache_hit_rate": _share(high_open=True),
    "startup_delay_s": Number(0.0, MAX_STARTUP_DELAY_S),  # beyond an hour: not autoscaling
    "model": Choice(DESIGN_MODELS),
    "utilization_target": ZeroOr(UTILIZATION_TARGET, PEAK_UTILIZATION),
    "max_wait_ms": Number(0.0, MAX_WAIT_MS),  # a second's wait is not online serving
    "max_utilization": UTILIZATION_TARGET,
    "requests_per_connection": Number(1.0, MAX_REQUESTS_PER_CONNECTION),
    "slo_attainment_target": _share(),
    "price_catalog_path": CatalogPath(),
    "seed": SEED,
}, rules=(rules.design_catalog_complete,))

CHAPTER_INPUTS: dict[str, ChapterInputs] = {
    "capacity": CAPACITY, "cost": COST, "batching": BATCHING, "compression": COMPRESSION,
    "design": DESIGN,
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

