"""The cheap computations behind chapter 3's exercise solutions.

Each answers one exercise with a small part of the chapter's work (a stretch of one trace, a
count of arrivals), so a solution runs in about a second at any chapter parameters.

Used by chapter 3 (batching).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from perfcost.batching.envelope import EnvelopeBatchingController
from perfcost.batching.scorecard import compare_policies, window_p95_ms
from perfcost.batching.service import LinearServiceTime, check_service
from perfcost.batching.simulator import simulate
from perfcost.batching.traces import drift_service
from perfcost.traffic import check_arrival_times
from perfcost.validation import ParameterError, non_negative, positive

__all__ = ["after_rollout", "jitter_effect", "overloaded_windows", "stretch"]

WINDOW_S = 10.0  # the chapter's SLO window


def overloaded_windows(traces: Mapping[str, np.ndarray], capacity_rps: float, *,
                       window_s: float = WINDOW_S) -> pd.DataFrame:
    """Per trace, its busiest ``window_s`` window's rate and the share of windows (those with
    arrivals) whose mean arrival rate exceeds ``capacity_rps``: load no policy can carry."""
    capacity_rps = positive("capacity_rps", capacity_rps)
    window_s = positive("window_s", window_s)
    rows = []
    for name, times in traces.items():
        times = check_arrival_times(f"traces[{name!r}]", times)
        counts = np.bincount((times // window_s).astype(np.int64))
        rates = counts[counts > 0] / window_s
        rows.append({"trace": name, "busiest_window_rps": float(rates.max()),
                     "overloaded_share": float((rates > capacity_rps).mean())})
    return pd.DataFrame(rows).set_index("trace")


def stretch(arrival_times_s, start_s: float, end_s: float) -> np.ndarray:
    """The arrivals in [``start_s``, ``end_s``), shifted to start at 0."""
    times = check_arrival_times("arrival_times_s", arrival_times_s)
    start_s = non_negative("start_s", start_s)
    if not end_s > start_s:
        raise ParameterError("end_s", f"a time after start_s ({start_s:g} s)", end_s)
    inside = times[(times >= start_s) & (times < end_s)] - start_s
    if not len(inside):
        raise ParameterError("end_s", "a stretch that holds at least one arrival", end_s)
    return inside


def jitter_effect(arrival_times_s, *, service: LinearServiceTime, slo_p95_ms: float,
                  instances: int, seed: int, jitters: Sequence[float]) -> pd.DataFrame:
    """The controller on one trace at each batch-to-batch variation in ``jitters``: its GPU
    time, mean batch size, mean window and SLO attainment, one row per jitter (the index)."""
    service = check_service(service)
    rows = {}
    for cv in jitters:
        run = simulate(arrival_times_s, service=replace(service, jitter_cv=cv),
                       controller=EnvelopeBatchingController(slo_p95_ms),
                       instances=instances, seed=seed)
        p95 = window_p95_ms(run, WINDOW_S)
        rows[float(cv)] = {"gpu_busy_s": run.gpu_busy_s,
                           "mean_batch": float(np.mean(run.batch_sizes)),
                           "mean_window_ms": float(run.timeline["max_wait_ms"].mean()),
                           "slo_attainment": float((p95 <= slo_p95_ms).mean())}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("jitter_cv")


def after_rollout(arrival_times_s, policies: Mapping[str, object], *,
                  service: LinearServiceTime, slowdown: float, at_s: float,
                  slo_p95_ms: float, instances: int, seed: int) -> pd.DataFrame:
    """Each policy on a trace whose model turns ``slowdown`` times slower at ``at_s``: the
    share of SLO windows meeting the SLO before and from the rollout, one row per policy."""
    at_s = non_negative("at_s", at_s)
    curve = drift_service(service, at_s, slowdown=slowdown)
    _, runs = compare_policies(arrival_times_s, policies, service=curve,
                               slo_p95_ms=slo_p95_ms, instances=instances, seed=seed)
    rows = {}
    for name, run in runs.items():
        met = window_p95_ms(run, WINDOW_S) <= slo_p95_ms
        after = met.index + WINDOW_S > at_s  # windows the slower model served
        rows[name] = {"before": float(met[~after].mean()) if (~after).any() else np.nan,
                      "after": float(met[after].mean()) if after.any() else np.nan}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("policy")
