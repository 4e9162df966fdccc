"""Judging a batching policy fairly: limits from the SLO, strong baselines, one verdict.

Limits come from the SLO and the service curve, never constants. No batch may take longer than
the SLO by itself, so the largest batch size is the largest b with s(b) = base + per_item × b
<= SLO (:func:`slo_batch_limit`); windows are fractions of the SLO (:func:`static_grid`).

Baselines, each what an operator could deploy or a bound no one can:

- **AIMD** as Clipper runs it (:class:`~perfcost.batching.aimd.ClipperAIMDBatching`),
  started from the controller's own fallback configuration (:func:`baseline_policies`), and
  AIMD on the measured p95 from the same start.
- **The best single static configuration**: chosen on the *other* traces of a case (the highest
  mean SLO attainment, then the least GPU time relative to each trace's cheapest), then run on
  the held-out trace (:func:`single_static`). An operator can deploy it.
- **The per-trace hindsight optimum**: the best configuration of the grid for that very trace.
  No one can deploy it; it is an upper bound, labelled so.

:func:`evaluate` runs them all on every trace, :func:`meets_target` says where a policy meets
issue 10's target, and :func:`gain_sweep` where a controller starts to oscillate. What a fleet
carries under each policy is :mod:`perfcost.batching.sustained_load`.

Used by chapter 3 (batching).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from functools import partial

import numpy as np
import pandas as pd

from perfcost.batching.aimd import AIMDBatching, ClipperAIMDBatching
from perfcost.batching.envelope import EnvelopeBatchingController
from perfcost.batching.naive_proportional import NaiveProportionalBatching
from perfcost.batching.policy import MAX_BATCH_SIZE, StaticBatching, check_slo
from perfcost.batching.scorecard import check_frame, grid_search_static, summarize
from perfcost.batching.service import LinearServiceTime, check_service
from perfcost.batching.simulator import simulate
from perfcost.batching.slo_controller import SLOBatchingController
from perfcost.parallel import mapped
from perfcost.traffic import check_arrival_times
from perfcost.validation import ParameterError, fraction, in_range

__all__ = [
    "GAINS",
    "TARGET_GAP",
    "TARGET_GPU_EXCESS",
    "WAIT_FRACTIONS",
    "baseline_policies",
    "evaluate",
    "fresh_policies",
    "gain_sweep",
    "hindsight_comparison",
    "meets_target",
    "single_static",
    "slo_batch_limit",
    "static_grid",
]

WAIT_FRACTIONS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)  # of the SLO
TARGET_GAP = 0.002  # issue 10's target: attainment within 0.2 points of the hindsight optimum
TARGET_GPU_EXCESS = 0.05  # ... at GPU time within 5% of the most efficient static configuration
MAX_TRACES = 32  # traces in one case: each costs a whole grid of simulations

PolicyFactory = Callable[[], object]  # -> a fresh batching policy


def slo_batch_limit(service: LinearServiceTime, slo_p95_ms: float, *,
                    share: float = 1.0) -> int:
    """The largest batch whose own service time is within ``share`` × the SLO.

    ``share`` is in (0, 1]. Raises ParameterError when not even one request fits: an SLO no
    batching policy can meet.
    """
    service = check_service(service)
    slo_p95_ms = check_slo(slo_p95_ms)
    share = fraction("share", share, low_open=True)
    budget_ms = share * slo_p95_ms
    largest = math.floor((budget_ms - service.base_ms) / service.per_item_ms)
    if largest < 1:
        one_ms = float(service.batch_ms(1))
        bound = f"{one_ms:g} ms"
        if share < 1:
            bound += f" / {share:g} = {one_ms / share:g} ms"
        raise ParameterError("slo_p95_ms", f"more than one request's service time ({bound})",
                             slo_p95_ms)
    return min(largest, MAX_BATCH_SIZE)


def static_grid(service: LinearServiceTime, slo_p95_ms: float,
                wait_fractions: Sequence[float] = WAIT_FRACTIONS) -> tuple[list, list]:
    """Windows and batch limits to search, derived from the SLO and the service curve.

    Windows: each of ``wait_fractions`` (in [0, 1)) × the SLO. Batch limits: 1, 2, 3, 4, 6, 8,
    12, 16, 24, ... (powers of two and 1.5 times them) below :func:`slo_batch_limit`, and that
    limit itself.
    """
    top = slo_batch_limit(service, slo_p95_ms)
    if isinstance(wait_fractions, str | bytes) or not hasattr(wait_fractions, "__len__") \
            or not 0 < len(wait_fractions) <= 100:
        raise ParameterError("wait_fractions", "1 to 100 fractions of the SLO", wait_fractions)
    waits = [round(in_range(f"wait_fractions[{i}]", w, 0.0, 1.0, high_open=True)
                   * slo_p95_ms, 9) for i, w in enumerate(wait_fractions)]
    sizes, power = [], 1
    while power < top:
        sizes += [b for b in (power, power * 3 // 2) if b < top and b not in sizes]
        power *= 2
    return waits, [*sorted(set(sizes)), top]


def baseline_policies(slo_p95_ms: float, service: LinearServiceTime, *,
                      fallback: tuple[float, int] | None = None) -> dict[str, PolicyFactory]:
    """The controller (:class:`~perfcost.batching.EnvelopeBatchingController`), chapter 3's
    first controller, and the two AIMD baselines, each AIMD started from the controller's
    fallback configuration, with the batch limit derived from the SLO (:func:`slo_batch_limit`).

    AIMD (Clipper) steps on every batch's service time against the SLO; AIMD (p95) on each
    interval's measured p95. Returns factories, so every run starts fresh.
    """
    limit = slo_batch_limit(service, slo_p95_ms)
    wait, size = fallback or EnvelopeBatchingController(slo_p95_ms).fallback
    size = min(size, limit)
    aimd = dict(max_wait_ms=wait, initial_batch_size=size, max_batch_limit=limit)
    return {
        "controller": partial(EnvelopeBatchingController, slo_p95_ms),
        "first controller": partial(SLOBatchingController, slo_p95_ms),
        "AIMD (Clipper)": partial(ClipperAIMDBatching, slo_p95_ms, **aimd),
        "AIMD (p95)": partial(AIMDBatching, slo_p95_ms, **aimd),
    }


def _relative_gpu(grid: pd.DataFrame) -> pd.Series:
    """Each configuration's GPU time over the cheapest one's in the same grid."""
    keyed = grid.set_index(["max_wait_ms", "max_batch_size"])
    return keyed["gpu_busy_s"] / keyed["gpu_busy_s"].min()


def single_static(grids: Mapping[str, pd.DataFrame], *, exclude: str | None = None
                  ) -> tuple[float, int]:
    """The one static (max_wait_ms, max_batch_size) an operator would deploy, chosen on every
    grid except ``exclude``: highest mean SLO attainment, then least mean relative GPU time.

    ``grids`` maps trace names to :func:`perfcost.batching.grid_search_static` tables over the
    same configurations.
    """
    chosen_on = [name for name in grids if name != exclude]
    if not chosen_on:
        raise ParameterError("grids", "at least one trace besides the held-out one",
                             list(grids))
    keyed = [grids[name].set_index(["max_wait_ms", "max_batch_size"]) for name in chosen_on]
    attainment = sum(g["slo_attainment"] for g in keyed) / len(keyed)
    cost = sum(_relative_gpu(grids[name]) for name in chosen_on) / len(keyed)
    table = pd.DataFrame({"attainment": attainment, "cost": cost}).dropna()
    best = table.sort_values(["attainment", "cost"], ascending=[False, True]).index[0]
    return float(best[0]), int(best[1])


def _scorecard(name: str, result, slo_p95_ms: float, policy: str, **extra) -> dict:
    return {"trace": name, "policy": policy, **summarize(result, slo_p95_ms), **extra}



def _curves(traces, service: LinearServiceTime, services) -> dict[str, LinearServiceTime]:
    """Each trace's service curve: its own in ``services``, else ``service``; at most 32
    traces."""
    if not isinstance(traces, Mapping) or not 0 < len(traces) <= MAX_TRACES:
        raise ParameterError("traces", f"a dict of 1 to {MAX_TRACES} name: arrival times",
                             type(traces).__name__)
    if services is not None and not isinstance(services, Mapping):
        raise ParameterError("services", "a dict of trace name: service curve", services)
    return {name: check_service((services or {}).get(name, service)) for name in traces}


def _static_rows(name: str, times: np.ndarray, grids: Mapping[str, pd.DataFrame], *, service,
                 slo_p95_ms: float, instances: int, seed: int) -> list[dict]:
    """The static rows of one trace: the single static configuration chosen on the other
    traces (when there are others), run on this one, and this trace's hindsight optimum."""
    rows = []
    if len(grids) > 1:
        config = single_static(grids, exclude=name)
        result = simulate(times, service=service, controller=StaticBatching(*config),
                          instances=instances, seed=seed)
        rows.append(_scorecard(name, result, slo_p95_ms, "single static",
                               configuration=config))
    best = grids[name].iloc[0]
    rows.append({"trace": name, "policy": "hindsight optimum",
                 **best.drop(["max_wait_ms", "max_batch_size"]).to_dict(),
                 "configuration": (float(best["max_wait_ms"]), int(best["max_batch_size"]))})
    return rows


def evaluate(traces: Mapping[str, np.ndarray], *, service: LinearServiceTime,
             slo_p95_ms: float, instances: int = 1, seed: int = 0,
             policies: Mapping[str, PolicyFactory] | None = None,
             services: Mapping[str, LinearServiceTime] | None = None,
             workers: int = 1, client=None) -> pd.DataFrame:
    """Every policy, the single static configuration and the hindsight optimum on every trace.

    ``traces`` maps names to arrival times (at most 32 traces); ``policies`` maps names to
    factories (default :func:`baseline_policies`: the controller, the first controller and
    both AIMDs). Work: a grid of about 100 to 120 static configurations per trace (10 windows
    × the batch limits of :func:`static_grid`), each a whole simulation, spread over
    ``workers`` processes, or over a Dask cluster with ``client``
    (:func:`perfcost.parallel.mapped`; policies must then pickle).
    One row per trace and policy with the :func:`perfcost.batching.summarize` scorecard;
    ``single static`` is chosen on the other traces (:func:`single_static`, needs two traces
    or more), ``hindsight optimum`` is the trace's own best grid configuration (an upper
    bound). Column ``efficient_gpu_s`` is the least GPU time of a grid configuration whose
    attainment is at least the row's. ``services`` gives a trace its own service curve (a
    :class:`~perfcost.batching.ShiftedServiceTime`, say); the grid's limits come from
    ``service`` for every trace.
    """
    service = check_service(service)
    curve = _curves(traces, service, services)
    policies = baseline_policies(slo_p95_ms, service) if policies is None else policies
    waits, sizes = static_grid(service, slo_p95_ms)
    arrivals = {name: check_arrival_times(f"traces[{name!r}]", t) for name, t in traces.items()}
    runs = mapped(_trace_runs, [(name, times, curve[name], dict(policies), slo_p95_ms, waits,
                                 sizes, instances, seed) for name, times in arrivals.items()],
                  workers=workers, client=client)
    grids = {name: grid for name, (grid, _) in zip(arrivals, runs, strict=True)}
    rows = []
    for (name, times), (_, policy_rows) in zip(arrivals.items(), runs, strict=True):
        rows += policy_rows + _static_rows(name, times, grids, service=curve[name],
                                           slo_p95_ms=slo_p95_ms, instances=instances,
                                           seed=seed)
    table = pd.DataFrame(rows)
    table["efficient_gpu_s"] = [_efficient_gpu(grids[row.trace], row.slo_attainment)
                                for row in table.itertuples()]
    return table


def _trace_runs(name, times, service, policies, slo_p95_ms, waits, sizes, instances, seed):
    """One trace's static grid and the scorecard rows of ``policies`` on it."""
    grid = grid_search_static(times, service=service, slo_p95_ms=slo_p95_ms, waits_ms=waits,
                              batch_sizes=sizes, instances=instances, seed=seed)
    rows = [_scorecard(name, simulate(times, service=service, controller=make(),
                                      instances=instances, seed=seed), slo_p95_ms, label)
            for label, make in policies.items()]
    return grid, rows


def _efficient_gpu(grid: pd.DataFrame, attainment: float) -> float:
    reaching = grid[grid["slo_attainment"] >= attainment - 1e-12]
    return float(reaching["gpu_busy_s"].min()) if len(reaching) else math.nan


def meets_target(table: pd.DataFrame, *, policy: str = "controller",
                 baselines: Sequence[str] = ("AIMD (Clipper)", "AIMD (p95)", "single static"),
                 attainment_gap: float = TARGET_GAP,
                 gpu_excess: float = TARGET_GPU_EXCESS) -> pd.DataFrame:
    """Per trace, whether ``policy`` meets issue 10's target on an :func:`evaluate` table.

    The target: SLO attainment at least each baseline's, within ``attainment_gap`` (0.002 is
    0.2 points) of the hindsight optimum, and GPU time at most (1 + ``gpu_excess``) × that of
    the most efficient static configuration reaching the policy's attainment.
    """
    rows = []
    for trace, group in table.groupby("trace", sort=False):
        by = group.set_index("policy")
        ours = by.loc[policy]
        behind = [b for b in baselines if b in by.index
                  and ours["slo_attainment"] < by.loc[b, "slo_attainment"] - 1e-12]
        gap = by.loc["hindsight optimum", "slo_attainment"] - ours["slo_attainment"]
        excess = ours["gpu_busy_s"] / ours["efficient_gpu_s"] - 1
        rows.append({"trace": trace, "behind": ", ".join(behind),
                     "gap_to_hindsight": gap, "gpu_excess": excess,
                     "meets": not behind and gap <= attainment_gap + 1e-12
                     and excess <= gpu_excess})
    return pd.DataFrame(rows)


def hindsight_comparison(case: pd.DataFrame, targets: pd.DataFrame) -> dict[str, object]:
    """The controller against the hindsight optimum, trace by trace.

    ``case`` is an :func:`evaluate` table and ``targets`` its :func:`meets_target` table.
    Returns the controller's largest GPU-time excess over the most efficient static
    configuration (``worst_busy_excess``) and its trace (``worst_busy_excess_trace``); the
    p95 of the controller (``p95_ms``) and of the hindsight optimum (``hindsight_p95_ms``) on
    that trace; on how many traces the controller's SLO attainment is at least the optimum's
    (``traces_matching_best_static``, to within 1e-12); each trace's optimum
    (``hindsight_configurations``: trace -> (max_wait_ms, max_batch_size)); and the
    controller's parameter changes over every trace (``controller_parameter_changes``).
    """
    case = check_frame("case", case, ("trace", "policy", "slo_attainment", "p95_ms",
                                      "configuration", "parameter_changes"))
    targets = check_frame("targets", targets, ("trace", "gpu_excess"))
    ours = case[case["policy"] == "controller"].set_index("trace")
    best = case[case["policy"] == "hindsight optimum"].set_index("trace")
    traces = set(targets["trace"])
    if not traces <= set(ours.index) & set(best.index) or set(ours.index) != set(best.index):
        raise ParameterError("case", "the controller and the hindsight optimum on every trace "
                             "of targets", sorted(map(str, traces)))
    excess = targets.set_index("trace")["gpu_excess"]
    if not np.isfinite(excess.to_numpy(dtype=float)).all():
        raise ParameterError("targets", "finite gpu_excess on every trace", excess.tolist())
    worst = excess.idxmax()
    matching = ours["slo_attainment"] >= best["slo_attainment"] - 1e-12
    return {"worst_busy_excess": excess.max(), "worst_busy_excess_trace": worst,
            "p95_ms": ours.loc[worst, "p95_ms"],
            "hindsight_p95_ms": best.loc[worst, "p95_ms"],
            "traces_matching_best_static": int(matching.sum()),
            "hindsight_configurations": dict(best["configuration"].items()),
            "controller_parameter_changes": int(ours["parameter_changes"].sum())}


def policy_for(policy: str, trace: str, case: pd.DataFrame,
                factories: Mapping[str, PolicyFactory]) -> PolicyFactory:
    """A factory for ``policy``: one of ``factories``, or the static configuration ``case``
    ran on ``trace`` under that name (the single static or the hindsight optimum)."""
    if policy in factories:
        return factories[policy]
    rows = case[(case["trace"] == trace) & (case["policy"] == policy)]
    if len(rows) != 1 or not isinstance(rows["configuration"].iloc[0], tuple):
        raise ParameterError("policies", f"names from {', '.join(factories)} or a static "
                             "row of the case", policy)
    wait_ms, size = rows["configuration"].iloc[0]
    return partial(StaticBatching, wait_ms, size)


def fresh_policies(case: pd.DataFrame, trace: str, names: Sequence[str], *,
                   service: LinearServiceTime, slo_p95_ms: float) -> dict[str, object]:
    """New policies named ``names`` as :func:`evaluate` ran them on ``trace``: those of
    :func:`baseline_policies`, or a static row of ``case`` (``single static``, ``hindsight
    optimum``) with the configuration it had there. Each starts from scratch."""
    factories = baseline_policies(slo_p95_ms, check_service(service))
    return {name: policy_for(name, trace, case, factories)() for name in names}


GAINS = (0.1, 0.3, 1.0, 3.0)


def gain_sweep(arrival_times_s, *, service: LinearServiceTime, slo_p95_ms: float,
               instances: int = 1, seed: int = 0, gains: Sequence[float] = GAINS
               ) -> pd.DataFrame:
    """Reversals of the batch limit and SLO attainment against gain: where a controller starts
    to oscillate. The naive proportional controller at each gain against the controller
    (:class:`~perfcost.batching.EnvelopeBatchingController`) at each feedback gain and at its
    default, one row per controller and gain."""
    default = EnvelopeBatchingController(slo_p95_ms).integral_gain
    rows = []
    for gain in sorted({*gains, default}):
        for label, policy in (("naive proportional", NaiveProportionalBatching(
                slo_p95_ms, gain=gain)), ("ours (feedback gain)", EnvelopeBatchingController(
                slo_p95_ms, integral_gain=gain))):
            run = simulate(arrival_times_s, service=service, controller=policy,
                           instances=instances, seed=seed)
            rows.append({"controller": label, "gain": gain, "reversals": run.reversals,
                         "slo_attainment": summarize(run, slo_p95_ms)["slo_attainment"]})
    return pd.DataFrame(rows)


