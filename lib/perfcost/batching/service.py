"""How long a batch takes: a straight line in the batch size, optionally jittered or shifted.

A batch of b requests occupies its instance for ``base_ms + per_item_ms * b`` (a
:class:`LinearServiceTime`), times a lognormal jitter factor when ``jitter_cv`` > 0. A
:class:`ShiftedServiceTime` changes the line mid-trace (a model version rolled out).

Used by chapter 3 (batching).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from perfcost.traffic import MAX_ARRIVAL_S
from perfcost.validation import ParameterError, non_negative, positive

__all__ = ["MAX_JITTER_CV", "MAX_SERVICE_MS", "RESNET50_T4", "LinearServiceTime",
           "ShiftedServiceTime"]

MAX_SERVICE_MS = 60_000.0  # a minute per batch or per item: inference, not a batch job; even
#                            4096 items at a minute each end within 3 days
MAX_JITTER_CV = 10.0  # a lognormal with CV 10 already puts batches at 100x their mean


@dataclass(frozen=True)
class LinearServiceTime:
    """A batch of b requests takes ``base_ms + per_item_ms * b``, times an optional jitter.

    ``jitter_cv`` > 0 multiplies each batch's time by a lognormal factor with mean 1 and that
    coefficient of variation, drawn from the simulation's seed. ``base_ms`` is in [0, 60000],
    ``per_item_ms`` in (0, 60000] and ``jitter_cv`` in [0, 10].
    """

    base_ms: float
    per_item_ms: float
    jitter_cv: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "base_ms",
                           non_negative("base_ms", self.base_ms, maximum=MAX_SERVICE_MS))
        object.__setattr__(self, "per_item_ms",
                           positive("per_item_ms", self.per_item_ms, maximum=MAX_SERVICE_MS))
        object.__setattr__(self, "jitter_cv",
                           non_negative("jitter_cv", self.jitter_cv, maximum=MAX_JITTER_CV))

    def batch_ms(self, batch_size):
        """Mean service time of a batch (scalar or array)."""
        return self.base_ms + self.per_item_ms * np.asarray(batch_size, dtype=float)

    def throughput_rps(self, batch_size):
        """Requests per second one busy instance completes at that batch size."""
        return 1000.0 * np.asarray(batch_size, dtype=float) / self.batch_ms(batch_size)


@dataclass(frozen=True, init=False)
class ShiftedServiceTime(LinearServiceTime):
    """A service curve that changes mid-trace: ``before`` until ``at_s``, ``after`` from then on.

    A slower (or faster) model version rolled out at ``at_s``: a batch dispatched before
    ``at_s`` takes ``before``'s time, one dispatched at or after it ``after``'s. It is the
    ``before`` line (``batch_ms`` and ``throughput_rps`` describe it); :meth:`at` gives the line
    in force at a time. Jitter factors of both lines come from the same normal draws, so a batch
    is as lucky under either. ``at_s`` is in [0, 1e10].
    """

    after: LinearServiceTime
    at_s: float

    def __init__(self, before: LinearServiceTime, after: LinearServiceTime, at_s: float):
        for name, line in (("before", before), ("after", after)):
            if type(line) is not LinearServiceTime:
                raise ParameterError(name, "a LinearServiceTime", type(line).__name__)
        for name in ("base_ms", "per_item_ms", "jitter_cv"):
            object.__setattr__(self, name, getattr(before, name))
        object.__setattr__(self, "after", after)
        object.__setattr__(self, "at_s", non_negative("at_s", at_s, maximum=MAX_ARRIVAL_S))

    @property
    def before(self) -> LinearServiceTime:
        """The line in force before ``at_s``."""
        return LinearServiceTime(self.base_ms, self.per_item_ms, self.jitter_cv)

    def at(self, t_s: float) -> LinearServiceTime:
        """The line in force for a batch dispatched at ``t_s``."""
        return self.after if t_s >= self.at_s else self.before


# ResNet-50 on an NVIDIA T4 with TensorRT FP16 under Triton (NVIDIA DeepLearningExamples): 3.0 ms
# at batch 1, 9.0 ms at 8, 28.4 ms at 32 and 100.2 ms at 128. This line is within 5% of them from
# batch 8 up and over-states batch 1 (3.67 ms against 3.0), the cautious side.
RESNET50_T4 = LinearServiceTime(base_ms=2.9, per_item_ms=0.77)


def check_service(service) -> LinearServiceTime:
    """``service`` if it is a service line (a ShiftedServiceTime is one), else ParameterError."""
    if not isinstance(service, LinearServiceTime):
        raise ParameterError("service", "a LinearServiceTime", type(service).__name__)
    return service
