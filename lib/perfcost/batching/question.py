"""Chapter 3's question as one validated object: the service, the traces and the SLO.

:class:`BatchingQuestion` holds the chapter's parameters (the notebook's names) and gives the
objects the chapter runs on: the service curve, the traces as functions of the load multiplier,
the drift trace's service curve and the keyword arguments of an evaluation.

Used by chapter 3 (batching).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from perfcost.batching.evaluation import slo_batch_limit
from perfcost.batching.policy import MAX_INSTANCES, check_slo
from perfcost.batching.service import LinearServiceTime
from perfcost.batching.traces import (
    MAX_SLOWDOWN,
    TraceFactory,
    check_spike_inside,
    checked_settings,
    drift_service,
    replayed,
    synthetic_traces,
)
from perfcost.trace_files import load_trace, replayable_trace
from perfcost.traffic import MAX_RATE_RPS
from perfcost.validation import ParameterError, in_range, integer_in_range, positive

__all__ = ["BatchingQuestion"]

# The fields that are arguments of traces.synthetic_traces, under the same names.
_TRACE_FIELDS = ("duration_s", "steady_rps", "diurnal_mean_rps", "diurnal_peak_to_average",
                 "spike_multiplier", "spike_start_s", "spike_duration_s", "bursty_rps",
                 "bursty_sojourn_s", "swing_peak_rps", "cold_start_rps", "seed")


def _path(value) -> str:
    """``""`` or the path of a trace that can be replayed (:func:`replayable_trace`)."""
    if not isinstance(value, str | os.PathLike):
        raise ParameterError("trace_path", "a file path, or '' for none", value)
    path = os.fspath(value)
    if path:
        try:
            replayable_trace(path)
        except ValueError as error:
            raise ParameterError("trace_path", f"a trace that can be replayed ({error})",
                                 value) from None
    return path


@dataclass(frozen=True)
class BatchingQuestion:
    """Chapter 3's inputs, validated on construction; each field is a notebook parameter.

    A bad value raises ParameterError naming the notebook parameter and its valid range: the
    service line checks ``base_ms``, ``per_item_ms`` and ``jitter_cv``, and
    :func:`~perfcost.batching.synthetic_traces` every trace setting, by the same names.
    ``slo_p95_ms`` must exceed one request's service time (:func:`slo_batch_limit`).
    """

    slo_p95_ms: float  # latency SLO: p95 of each 10 s window (ms), (0, 3.6e6]
    instances: int  # GPU instances behind the batcher, [1, 10,000]
    base_ms: float  # batch time: base_ms + per_item_ms × b, [0, 60,000]
    per_item_ms: float  # ... per request in the batch, (0, 60,000]
    jitter_cv: float  # batch-to-batch variation (coefficient of variation), [0, 10]
    duration_s: float  # length of each synthetic trace (s), (0, 10^7]
    steady_rps: float  # the steady trace's rate and the spike's base, (0, 10^6]
    diurnal_mean_rps: float  # diurnal: mean rate, one day in duration_s
    diurnal_peak_to_average: float  # diurnal peak / mean, [1, 2]
    spike_multiplier: float  # step spike: rate multiplier, [1, 1000]
    spike_start_s: float  # step spike: start (s)
    spike_duration_s: float  # step spike: length (s)
    bursty_rps: tuple[float, float]  # bursty on-off trace: rate off, rate on
    bursty_sojourn_s: tuple[float, float]  # ... mean time in each state (s), >= 1 ms
    swing_peak_rps: float  # swing: tenfold, trough to this peak and back
    cold_start_rps: float  # cold start: idle 5 s, then a 10 s ramp to this
    drift_slowdown: float  # drift: the model this much slower halfway, [1, 10]
    trace_path: str  # a real arrival trace (CSV); "" for none
    trace_peak_rps: float  # the real trace's busiest second, replayed at this rate
    seed: int  # one seed for every trace and jitter draw, [0, 2**32 - 1]

    def __post_init__(self):
        service = LinearServiceTime(self.base_ms, self.per_item_ms, self.jitter_cv)
        checked = {
            "slo_p95_ms": check_slo(self.slo_p95_ms),
            "instances": integer_in_range("instances", self.instances, 1, MAX_INSTANCES),
            "base_ms": service.base_ms, "per_item_ms": service.per_item_ms,
            "jitter_cv": service.jitter_cv,
            **checked_settings({name: getattr(self, name) for name in _TRACE_FIELDS}),
            "drift_slowdown": in_range("drift_slowdown", self.drift_slowdown, 1.0,
                                       MAX_SLOWDOWN),
            "trace_path": _path(self.trace_path),
            "trace_peak_rps": positive("trace_peak_rps", self.trace_peak_rps,
                                       maximum=MAX_RATE_RPS),
        }
        for name, value in checked.items():
            object.__setattr__(self, name, value)
        slo_batch_limit(service, self.slo_p95_ms)  # one request must fit within the SLO
        check_spike_inside(self.duration_s, self.spike_start_s, self.spike_duration_s)

    @property
    def service(self) -> LinearServiceTime:
        """The batch service time: base_ms + per_item_ms × b, jittered by jitter_cv."""
        return LinearServiceTime(self.base_ms, self.per_item_ms, self.jitter_cv)

    def trace_factories(self) -> dict[str, TraceFactory]:
        """The traces as functions of the load multiplier: the synthetic ones
        (:func:`~perfcost.batching.synthetic_traces`) and, with a ``trace_path``, ``real``,
        the reader's trace replayed with its busiest second at ``trace_peak_rps``."""
        factories = synthetic_traces(**{name: getattr(self, name) for name in _TRACE_FIELDS})
        if self.trace_path:
            factories["real"] = replayed(load_trace(self.trace_path), self.trace_peak_rps,
                                         seed=self.seed)
        return factories

    @property
    def services(self) -> dict[str, LinearServiceTime]:
        """The traces served by another curve: ``drift``, whose model turns
        ``drift_slowdown`` times slower halfway (:func:`~perfcost.batching.drift_service`)."""
        return {"drift": drift_service(self.service, self.duration_s / 2,
                                       slowdown=self.drift_slowdown)}

    def run_arguments(self, *, workers: int = 1, client=None) -> dict[str, object]:
        """The keyword arguments of :func:`~perfcost.batching.evaluate` and
        :func:`~perfcost.batching.capacity_table` for this question, on ``workers``
        processes, or on the Dask cluster of ``client`` (:func:`perfcost.cluster.dask_client`)."""
        return {"service": self.service, "slo_p95_ms": self.slo_p95_ms,
                "instances": self.instances, "seed": self.seed, "services": self.services,
                "workers": workers, "client": client}

    @property
    def spike_end_s(self) -> float:
        """When the step spike ends: spike_start_s + spike_duration_s."""
        return self.spike_start_s + self.spike_duration_s

    @property
    def spike_peak_rps(self) -> float:
        """The step spike's rate: steady_rps × spike_multiplier."""
        return self.steady_rps * self.spike_multiplier
