"""Chapter 4's question, validated in one object: which compression to try first, and what its
speed-up is worth.

:class:`CompressionQuestion` holds the chapter's parameters (the fields are the notebook's
parameter names) and refuses a bad one by that name on construction, before any training. It
builds what the chapter's cells need from them: the settings the variants are trained and
timed with (:class:`~perfcost.compression.settings.CompressionSettings`), the request around
the model (:class:`perfcost.amdahl.RequestPath`), the latency target and first choice once the
variants are measured, and the cost figures the reader set (0 leaves the cost chapter's).

Used by chapter 4 (compression).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path

import pandas as pd

from perfcost.amdahl import RequestPath, end_to_end_table
from perfcost.compression.measurement import BASELINE, first_to_try
from perfcost.compression.reader_model import ModelInput, check_input_shape, model_input
from perfcost.compression.settings import MNIST_PIXELS, CompressionSettings, check_variants
from perfcost.cost import check_field
from perfcost.validation import ParameterError, fraction, zero_or

__all__ = ["MNIST_INPUT", "CompressionQuestion"]

MNIST_INPUT = ModelInput("x", (None, MNIST_PIXELS), "float32")  # the chapter's MLP, as exported
# The cost chapter's figures a reader may override; 0 keeps the cost chapter's. A value is
# checked by the cost model's own rule for that field (perfcost.cost.FIELD_CHECKS).
COST_FIGURES = ("request_rate_rps", "instance_throughput_rps", "instance_hourly_usd")


def _cost_figure(name: str, value: object) -> float:
    """0 (the cost chapter's value) or a value the cost model accepts for ``name``."""
    return zero_or(name, value, check_field, "the cost chapter's")


def _text(name: str, value: object) -> str:
    """A path as one line of text; ``""`` for none."""
    if not isinstance(value, str) or "\n" in value:
        raise ParameterError(name, 'a path on one line, or ""', value)
    return value


def _example_shape(model_path: str, input_shape: object) -> tuple[int, ...]:
    """``input_shape`` checked against the model's input: the chapter's MLP's (``model_path``
    empty) or the reader's ONNX model's, which must be one chapter 4 can measure."""
    if not model_path:
        return check_input_shape(MNIST_INPUT, input_shape)
    try:
        model = model_input(Path(model_path))
    except ValueError as error:
        raise ParameterError("model_path", f"an ONNX model chapter 4 can measure ({error})",
                             model_path) from None
    return check_input_shape(model, input_shape)


_CHECKS = {
    "variants": lambda name, value: tuple(check_variants(value)),
    "model_path": _text,
    "book_root": _text,
    "latency_target_fraction": lambda name, value: fraction(name, value, low_open=True),
    "max_accuracy_drop": fraction,
    **{name: _cost_figure for name in COST_FIGURES},
}


@dataclass(frozen=True)
class CompressionQuestion:
    """Chapter 4's inputs, validated on construction; each field is a notebook parameter.

    A bad value raises ParameterError naming the notebook parameter and its valid range. The
    training and timing settings are checked by :class:`CompressionSettings`, the request's
    stages by :class:`perfcost.amdahl.RequestPath`, under the same names.
    """

    variants: tuple[str, ...]  # which variants to build (perfcost.compression.VARIANTS)
    model_path: str  # the reader's ONNX model; "": the chapter's MNIST MLP
    input_shape: tuple[int, ...]  # one example's shape, without the batch dimension
    hidden_units: int  # teacher: inputs -> hidden -> hidden -> 10
    student_units: int  # the distilled student's hidden width
    epochs: int  # teacher and student training epochs
    fine_tune_epochs: int  # after pruning
    sparsity: float  # unstructured magnitude pruning, [0, 1)
    keep_fraction: float  # structured pruning: share of hidden units kept, (0, 1]
    temperature: float  # distillation temperature, [0.01, 100]
    alpha: float  # weight of the soft (teacher) term, [0, 1]
    threads: int  # ONNX Runtime intra-op threads, [1, 64]
    latency_target_fraction: float  # target: this share of fp32's p50, (0, 1]
    max_accuracy_drop: float  # accuracy a variant may lose against fp32, [0, 1]
    decode_ms: float  # the request's stages besides the model, each [0, 60,000] ms
    network_ms: float
    preprocess_ms: float
    postprocess_ms: float
    request_rate_rps: float  # 0: the cost chapter's; else (0, 10^6]
    instance_throughput_rps: float  # per instance at fp32; 0: the cost chapter's
    instance_hourly_usd: float  # 0: the cost chapter's; else (0, 1,000]
    book_root: str  # the book the cost chapter is read from; "": this one
    seed: int  # data split, initialisation, batches, [0, 2^32 - 1]

    def __post_init__(self):
        for name, check in _CHECKS.items():
            object.__setattr__(self, name, check(name, getattr(self, name)))
        object.__setattr__(self, "input_shape",
                           _example_shape(self.model_path, self.input_shape))
        for model in (self.settings, self.request):  # each checks its fields, by name
            for name, value in asdict(model).items():
                object.__setattr__(self, name, value)

    @property
    def settings(self) -> CompressionSettings:
        """How the variants are trained and timed."""
        return CompressionSettings(**{f.name: getattr(self, f.name)
                                      for f in fields(CompressionSettings)})

    @property
    def request(self) -> RequestPath:
        """The work a request does besides the model."""
        return RequestPath(self.decode_ms, self.network_ms, self.preprocess_ms,
                           self.postprocess_ms)

    def latency_target_ms(self, table: pd.DataFrame) -> float:
        """The latency target: ``latency_target_fraction`` of fp32's median batch-1 latency in
        ``table`` (:func:`perfcost.compression.measurement.measurements_table`)."""
        return self.latency_target_fraction * table.loc[BASELINE, "latency_p50_ms"]

    def first_choice(self, table: pd.DataFrame) -> str | None:
        """The variant to try first under the latency target and the accuracy budget
        (:func:`perfcost.compression.measurement.first_to_try`); None if none qualifies."""
        return first_to_try(table, latency_target_ms=self.latency_target_ms(table),
                            max_accuracy_drop=self.max_accuracy_drop)

    def end_to_end(self, table: pd.DataFrame) -> pd.DataFrame:
        """Each variant's median batch-1 latency inside the whole request, against fp32's
        (:func:`perfcost.amdahl.end_to_end_table`)."""
        return end_to_end_table(table["latency_p50_ms"].to_dict(), BASELINE, self.request)

    def cost_overrides(self) -> dict[str, float]:
        """The cost figures the reader set: the non-zero ones among ``request_rate_rps``,
        ``instance_throughput_rps`` and ``instance_hourly_usd``."""
        return {name: getattr(self, name) for name in COST_FIGURES if getattr(self, name)}
