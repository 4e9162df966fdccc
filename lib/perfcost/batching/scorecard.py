"""Scoring batching runs: SLO attainment by window, recovery after a spike, the scorecard, a
grid search of static configurations, and policies compared on one trace.

SLO attainment is the share of ``window_s`` windows (by arrival time) whose p95 latency meets
the SLO; the scorecard (:func:`summarize`) adds the overall p95 and p99, GPU busy time (the
cost) and two measures of churn.

Used by chapter 3 (batching).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from perfcost.batching.policy import (
    MAX_BATCH_SIZE,
    MAX_WAIT_MS,
    StaticBatching,
    check_slo,
)
from perfcost.batching.service import LinearServiceTime
from perfcost.batching.simulator import BatchingResult, simulate
from perfcost.traffic import MAX_ARRIVAL_S, check_arrival_times
from perfcost.validation import (
    ParameterError,
    in_range,
    integer_in_range,
    non_negative,
)

__all__ = ["compare_policies", "grid_search_static", "most_efficient_static", "recovery_time_s",
           "slo_attainment", "spike_window_figures", "summarize", "timelines", "verdict",
           "window_p95_ms"]

WINDOW_S = (1e-3, MAX_ARRIVAL_S)  # windows of at least 1 ms keep window numbers exact


def _check_result(result) -> BatchingResult:
    if not isinstance(result, BatchingResult):
        raise ParameterError("result", "a BatchingResult from simulate()", type(result).__name__)
    return result


def _window(window_s) -> float:
    return in_range("window_s", window_s, *WINDOW_S)


def slo_attainment(result: BatchingResult, slo_p95_ms: float, window_s: float = 10.0) -> float:
    """The share of ``window_s`` windows (by arrival time) whose p95 latency meets the SLO.

    Windows in which no request arrived are not counted. ``slo_p95_ms`` is in (0, 3.6e6] (an
    hour) and ``window_s`` in [0.001, 1e10].
    """
    slo_p95_ms = check_slo(slo_p95_ms)
    return float((window_p95_ms(result, window_s) <= slo_p95_ms).mean())


def window_p95_ms(result: BatchingResult, window_s: float = 10.0) -> pd.Series:
    """The p95 latency of the requests arriving in each ``window_s`` window, by window start."""
    result, window_s = _check_result(result), _window(window_s)
    windows = (result.arrival_times_s // window_s).astype(np.int64)
    frame = pd.DataFrame({"window_s": windows * window_s, "latency_ms": result.latency_ms})
    return frame.groupby("window_s")["latency_ms"].quantile(0.95)


def recovery_time_s(result: BatchingResult, slo_p95_ms: float, after_s: float,
                    window_s: float = 10.0) -> float:
    """Seconds from ``after_s`` (the end of a spike) until every later window meets the SLO.

    0 when no window ending after ``after_s`` violates it. ``after_s`` is a time on the trace's
    clock, in [0, 1e10].
    """
    slo_p95_ms = check_slo(slo_p95_ms)
    after_s = non_negative("after_s", after_s, maximum=MAX_ARRIVAL_S)
    window_s = _window(window_s)
    p95 = window_p95_ms(result, window_s)
    late = p95[(p95.index + window_s > after_s) & (p95 > slo_p95_ms)]
    return float(max(0.0, late.index.max() + window_s - after_s)) if len(late) else 0.0


def summarize(result: BatchingResult, slo_p95_ms: float, window_s: float = 10.0) -> dict:
    """The chapter's scorecard: SLO attainment, overall p95 and p99, GPU busy time, churn
    (intervals that changed a parameter) and reversals of the batch limit."""
    return {
        "slo_attainment": slo_attainment(result, slo_p95_ms, window_s),
        "p95_ms": result.latency_quantile_ms(0.95),
        "p99_ms": result.latency_quantile_ms(0.99),
        "gpu_busy_s": result.gpu_busy_s,
        "parameter_changes": result.parameter_changes,
        "reversals": result.reversals,
    }


MAX_GRID = 10_000  # configurations in one grid search: each is a whole simulation
MAX_GRID_REQUESTS = 2e9  # simulated requests in one grid search: minutes at ~10 M/s


def _values(name: str, values, check: Callable[[str, object], float]) -> list:
    """A non-empty sequence of at most MAX_GRID values, each passed through ``check``."""
    if isinstance(values, str | bytes) or not hasattr(values, "__len__") or not values:
        raise ParameterError(name, "a non-empty sequence", values)
    if len(values) > MAX_GRID:
        raise ParameterError(name, f"at most {MAX_GRID} values", f"{len(values)} values")
    return [check(f"{name}[{i}]", value) for i, value in enumerate(values)]


def grid_search_static(
    arrival_times_s, *, service: LinearServiceTime, slo_p95_ms: float, waits_ms, batch_sizes,
    instances: int = 1, seed: int = 0,
) -> pd.DataFrame:
    """Simulate every static (max_wait_ms, max_batch_size) pair: the hindsight baseline.

    ``waits_ms`` and ``batch_sizes`` are non-empty sequences in the ranges of
    :class:`StaticBatching`, with at most 10,000 pairs in all. Rows are sorted best first:
    highest SLO attainment, then least GPU busy time.
    """
    slo_p95_ms = check_slo(slo_p95_ms)
    waits = _values("waits_ms", waits_ms,
                    lambda name, w: non_negative(name, w, maximum=MAX_WAIT_MS))
    sizes = _values("batch_sizes", batch_sizes,
                    lambda name, b: integer_in_range(name, b, 1, MAX_BATCH_SIZE))
    if len(waits) * len(sizes) > MAX_GRID:
        raise ParameterError("len(waits_ms) * len(batch_sizes)", f"at most {MAX_GRID}",
                             len(waits) * len(sizes))
    arrivals = check_arrival_times("arrival_times_s", arrival_times_s)
    if len(waits) * len(sizes) * arrivals.size > MAX_GRID_REQUESTS:
        raise ParameterError("len(waits_ms) * len(batch_sizes) * len(arrival_times_s)",
                             f"at most {MAX_GRID_REQUESTS:.0e} simulated requests",
                             len(waits) * len(sizes) * arrivals.size)
    rows = []
    for wait in waits:
        for size in sizes:
            result = simulate(arrivals, service=service,
                              controller=StaticBatching(wait, size), instances=instances,
                              seed=seed)
            rows.append({"max_wait_ms": float(wait), "max_batch_size": int(size),
                         **summarize(result, slo_p95_ms)})
    table = pd.DataFrame(rows)
    return table.sort_values(["slo_attainment", "gpu_busy_s"], ascending=[False, True],
                             ignore_index=True)


def compare_policies(
    arrival_times_s, policies: dict, *, service: LinearServiceTime, slo_p95_ms: float,
    instances: int = 1, seed: int = 0, spike_end_s: float | None = None,
) -> tuple[pd.DataFrame, dict[str, BatchingResult]]:
    """Run each named policy on one trace; return the scorecards (one row each) and the results.

    ``policies`` maps names to policies (at least one). With ``spike_end_s`` (in [0, 1e10]),
    the scorecard adds ``recovery_s`` (see :func:`recovery_time_s`).
    """
    slo_p95_ms = check_slo(slo_p95_ms)
    if not isinstance(policies, Mapping) or not policies:
        raise ParameterError("policies", "a non-empty dict of name: policy", policies)
    if spike_end_s is not None:
        spike_end_s = non_negative("spike_end_s", spike_end_s, maximum=MAX_ARRIVAL_S)
    arrivals = check_arrival_times("arrival_times_s", arrival_times_s)
    rows, results = [], {}
    for name, policy in policies.items():
        result = simulate(arrivals, service=service, controller=policy,
                          instances=instances, seed=seed)
        row = {"policy": name, **summarize(result, slo_p95_ms)}
        if spike_end_s is not None:
            row["recovery_s"] = recovery_time_s(result, slo_p95_ms, spike_end_s)
        rows.append(row)
        results[name] = result
    return pd.DataFrame(rows), results


def check_frame(name: str, frame, columns: tuple[str, ...]) -> pd.DataFrame:
    """``frame`` when it is a non-empty table holding ``columns``; else ParameterError naming
    ``name``."""
    if not isinstance(frame, pd.DataFrame) or frame.empty or not set(columns) <= set(frame):
        raise ParameterError(name, f"a non-empty table with columns {', '.join(columns)}",
                             type(frame).__name__)
    return frame


def most_efficient_static(grid: pd.DataFrame) -> pd.Series:
    """The cheapest configuration of a :func:`grid_search_static` table among those whose SLO
    attainment equals the best one's: the efficiency bar an adaptive policy is held to."""
    grid = check_frame("grid", grid, ("max_wait_ms", "max_batch_size", "slo_attainment",
                                       "gpu_busy_s"))
    meeting = grid[grid["slo_attainment"] >= grid["slo_attainment"].max()]
    return meeting.nsmallest(1, "gpu_busy_s").iloc[0]


def _as_often(attainment: float, reference: float) -> str:
    return "meets as often" if attainment >= reference else "misses more"


def _scorecard_row(scorecard: pd.DataFrame, trace: str, policy: str, role: str) -> pd.Series:
    rows = scorecard[(scorecard["trace"] == trace) & (scorecard["policy"] == policy)]
    if rows.empty:
        raise ParameterError(role, f"a policy with a row for trace {trace!r} in the scorecard",
                             policy)
    return rows.iloc[0]


def verdict(scorecard: pd.DataFrame, grids: dict[str, pd.DataFrame], *, policy: str,
            baseline: str) -> pd.DataFrame:
    """Per trace, how ``policy`` compares: SLO attainment against the most efficient static
    configuration and against ``baseline``, and GPU time relative to each (+0.05 is 5% more).

    ``scorecard`` has columns ``trace``, ``policy``, ``slo_attainment`` and ``gpu_busy_s``;
    ``grids`` maps each trace to its :func:`grid_search_static` table.
    """
    scorecard = check_frame("scorecard", scorecard,
                             ("trace", "policy", "slo_attainment", "gpu_busy_s"))
    if not isinstance(grids, Mapping) or not grids:
        raise ParameterError("grids", "a non-empty dict of trace: grid table", grids)
    rows = []
    for trace, grid in grids.items():
        efficient = most_efficient_static(grid)
        ours = _scorecard_row(scorecard, trace, policy, "policy")
        other = _scorecard_row(scorecard, trace, baseline, "baseline")

        rows.append({
            "trace": trace,
            "vs best static": _as_often(ours["slo_attainment"], efficient["slo_attainment"]),
            f"vs {baseline}": _as_often(ours["slo_attainment"], other["slo_attainment"]),
            "GPU time vs efficient static": ours["gpu_busy_s"] / efficient["gpu_busy_s"] - 1,
            f"GPU time vs {baseline}": ours["gpu_busy_s"] / other["gpu_busy_s"] - 1,
            "efficient static (W ms, B)":
                f"{efficient['max_wait_ms']:g}, {int(efficient['max_batch_size'])}",
        })
    return pd.DataFrame(rows)


def timelines(results: Mapping[str, BatchingResult], *,
              until_s: float | None = None) -> pd.DataFrame:
    """The timelines of several runs as one long table, each row with its run's name in a
    ``policy`` column (the key in ``results``, a dict such as :func:`compare_policies`
    returns); only rows with ``t_s`` <= ``until_s`` (in [0, 1e10]) when it is given."""
    if not isinstance(results, Mapping) or not results:
        raise ParameterError("results", "a non-empty dict of name: BatchingResult", results)
    table = pd.concat([_check_result(result).timeline.assign(policy=name)
                       for name, result in results.items()], ignore_index=True)
    if until_s is None:
        return table
    until_s = non_negative("until_s", until_s, maximum=MAX_ARRIVAL_S)
    return table[table["t_s"] <= until_s]


def spike_window_figures(results: Mapping[str, BatchingResult], start_s: float,
                         end_s: float) -> pd.DataFrame:
    """What each run's policy did between ``start_s`` and ``end_s`` (both included).

    One row per run of ``results`` (a dict such as :func:`compare_policies` returns), indexed
    by its name: ``mean_batch_limit``, the mean ``max_batch_size`` over the timeline's
    intervals in the window; ``scale_out_intervals``, how many of them raised the scale-out
    signal (0 for a policy that has none); ``intervals``, how many there are. ``start_s`` and
    ``end_s`` are in [0, 1e10], ``start_s`` <= ``end_s``, and the window holds at least
    one control interval of every run.
    """
    if not isinstance(results, Mapping) or not results:
        raise ParameterError("results", "a non-empty dict of name: BatchingResult", results)
    start_s = non_negative("start_s", start_s, maximum=MAX_ARRIVAL_S)
    end_s = in_range("end_s", end_s, start_s, MAX_ARRIVAL_S)
    rows = {}
    for name, result in results.items():
        timeline = _check_result(result).timeline
        window = timeline[timeline["t_s"].between(start_s, end_s)]
        if window.empty:
            raise ParameterError("start_s, end_s", f"a window holding at least one control "
                                 f"interval of every run ({name!r} has none)",
                                 (start_s, end_s))
        signals = window["scale_out"].sum() if "scale_out" in window else 0
        rows[name] = {"mean_batch_limit": window["max_batch_size"].mean(),
                      "scale_out_intervals": int(signals), "intervals": len(window)}
    return pd.DataFrame.from_dict(rows, orient="index")
