"""Chapter 4's settings and their limits, checked by name before any training or timing.

Every setting has an upper limit that keeps a re-run within minutes on a laptop: widths up to
4,096, up to 100 epochs, up to 64 threads. This module imports no PyTorch and no ONNX Runtime,
so checking settings is cheap.

Used by chapter 4 (compression).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from perfcost.compression.variants import VARIANTS
from perfcost.validation import ParameterError, fraction, in_range, integer_in_range, seed_value

__all__ = [
    "MAX_BATCH",
    "MAX_EPOCHS",
    "MAX_THREADS",
    "MAX_UNITS",
    "CompressionSettings",
    "check_temperature",
    "check_threads",
    "check_variants",
]

MNIST_PIXELS = 28 * 28  # the chapter's MLP reads a 28x28 MNIST image, flattened
MAX_UNITS = 4_096  # hidden-layer width: a 4,096-wide teacher trains in minutes on a laptop
MAX_EPOCHS = 100
MAX_THREADS = 64
# Below 0.01 the softened logits (logits / T) overflow float32 and the loss turns NaN.
TEMPERATURE_RANGE = (0.01, 100.0)
MAX_BATCH = 65_536  # examples per training step, per timed call, per memory probe


def check_variants(names: Sequence[str]) -> list[str]:
    """Return ``names`` as a list if it is a non-empty list of distinct known variants; otherwise
    raise, listing the valid ones (a single string is refused: it is not a list of names)."""
    valid = f"a non-empty list of distinct names from {', '.join(VARIANTS)}"
    if (not isinstance(names, list | tuple) or not names
            or not all(isinstance(name, str) and name in VARIANTS for name in names)
            or len(set(names)) != len(names)):
        raise ParameterError("variants", valid, names)
    return list(names)


def check_temperature(temperature: object) -> float:
    """A distillation temperature in :data:`TEMPERATURE_RANGE`, [0.01, 100]."""
    return in_range("temperature", temperature, *TEMPERATURE_RANGE)


def check_threads(threads: object) -> int:
    """ONNX Runtime intra-op threads, a whole number in [1, 64]."""
    return integer_in_range("threads", threads, 1, MAX_THREADS)


def _units(name: str, value: object) -> int:
    return integer_in_range(name, value, 1, MAX_UNITS)


def _epochs(name: str, value: object) -> int:
    return integer_in_range(name, value, 1, MAX_EPOCHS)


_CHECKS = {
    "hidden_units": _units,
    "student_units": _units,
    "epochs": _epochs,
    "fine_tune_epochs": _epochs,
    "sparsity": lambda name, v: fraction(name, v, high_open=True),
    "keep_fraction": lambda name, v: fraction(name, v, low_open=True),
    "temperature": lambda name, v: check_temperature(v),
    "alpha": fraction,
    "threads": lambda name, v: check_threads(v),
    "seed": lambda name, v: seed_value(v),
}


@dataclass(frozen=True)
class CompressionSettings:
    """Chapter 4's settings, validated by name on construction, before any training."""

    hidden_units: int = 1024  # width of the teacher's two hidden layers, [1, 4,096]
    student_units: int = 256  # width of the student's two hidden layers, [1, 4,096]
    epochs: int = 8  # teacher and student training epochs, [1, 100]
    fine_tune_epochs: int = 3  # after pruning, [1, 100]
    sparsity: float = 0.9  # unstructured pruning, in [0, 1)
    keep_fraction: float = 0.5  # structured pruning: share of hidden units kept, (0, 1]
    temperature: float = 4.0  # distillation temperature, [0.01, 100]
    alpha: float = 0.7  # weight of the soft (teacher) term, [0, 1]
    threads: int = 2  # ONNX Runtime intra-op threads, [1, 64]
    seed: int = 0  # [0, 2^32 - 1]

    def __post_init__(self):
        for name, check in _CHECKS.items():
            object.__setattr__(self, name, check(name, getattr(self, name)))
