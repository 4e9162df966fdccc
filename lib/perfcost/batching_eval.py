"""Judging a batching policy fairly: limits from the SLO, strong baselines, and load it sustains.

Limits come from the SLO and the service curve, never constants. No batch may take longer than
the SLO by itself, so the largest batch size is the largest b with s(b) = base + per_item × b
<= SLO (:func:`slo_batch_limit`); windows are fractions of the SLO (:func:`static_grid`).

Baselines, each what an operator could deploy or a bound no one can:

- **AIMD** as Clipper runs it (:class:`~perfcost.controllers.ClipperAIMDBatching`), started
  from the controller's own fallback configuration (:func:`baseline_policies`), and AIMD on
  the measured p95 from the same start.
- **The best single static configuration**: chosen on the *other* traces of a case (the highest
  mean SLO attainment, then the least GPU time relative to each trace's cheapest), then run on
  the held-out trace (:func:`single_static`). An operator can deploy it.
- **The per-trace hindsight optimum**: the best configuration of the grid for that very trace.
  No one can deploy it; it is an upper bound, labelled so.

Cost that means money: GPU busy time is the same bill for every policy on a fixed fleet, so
:func:`sustainable_load` finds by bisection the highest multiplier of a trace's rate a policy
serves with the SLO met in at least ``quantile`` of windows, and :func:`instances_needed` the
fewest instances that carry a given multiplier.

A trace is passed as a function of the load multiplier returning arrival times, so a generator
or a replay is redrawn at each load (the same seed), not compressed in time.

Used by chapter 3 (batching).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd

from perfcost import traffic
from perfcost.batching import (
    MAX_INSTANCES,
    MAX_SLO_MS,
    LinearServiceTime,
    ShiftedServiceTime,
    StaticBatching,
    grid_search_static,
    simulate,
    summarize,
)
from perfcost.controllers import (
    AIMDBatching,
    ClipperAIMDBatching,
    EnvelopeBatchingController,
    NaiveProportionalBatching,
    SLOBatchingController,
)
from perfcost.parallel import mapped
from perfcost.traffic import check_arrival_times
from perfcost.validation import (
    MAX_SEED,
    ParameterError,
    fraction,
    in_range,
    integer_in_range,
    positive,
    seed_value,
)

__all__ = [
    "CAPACITY_POLICIES",
    "GAINS",
    "LOAD_BRACKET",
    "LOAD_STEPS",
    "SUSTAINED_SHARE",
    "TARGET_GAP",
    "TARGET_GPU_EXCESS",
    "WAIT_FRACTIONS",
    "Scaled",
    "baseline_policies",
    "capacity_table",
    "drift_service",
    "evaluate_case",
    "fresh_policies",
    "gain_sweep",
    "instances_needed",
    "meets_target",
    "replayed",
    "single_static",
    "slo_batch_limit",
    "static_grid",
    "sustainable_load",
    "synthetic_traces",
]

WAIT_FRACTIONS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)  # of the SLO
TARGET_GAP = 0.002  # issue 10's target: attainment within 0.2 points of the hindsight optimum
TARGET_GPU_EXCESS = 0.05  # ... at GPU time within 5% of the most efficient static configuration
SUSTAINED_SHARE = 0.99  # a load is sustained when the SLO holds in this share of windows
MAX_TRACES = 32  # traces in one case: each costs a whole grid of simulations
MAX_BISECTION_STEPS = 20  # 2^-20 of the bracket: far finer than any load estimate
MAX_MULTIPLIER = 1000.0
MAX_EVAL_REQUESTS = 5e7  # requests in one simulation of a scaled trace (seconds of work)

TraceFactory = Callable[[float], np.ndarray]  # load multiplier -> arrival times (s)
PolicyFactory = Callable[[], object]  # -> a fresh batching policy


def _service(service) -> LinearServiceTime:
    if not isinstance(service, LinearServiceTime):
        raise ParameterError("service", "a LinearServiceTime", type(service).__name__)
    return service


def slo_batch_limit(service: LinearServiceTime, slo_p95_ms: float, *,
                    share: float = 1.0) -> int:
    """The largest batch whose own service time is within ``share`` × the SLO.

    ``share`` is in (0, 1]. Raises ParameterError when not even one request fits: an SLO no
    batching policy can meet.
    """
    service = _service(service)
    slo_p95_ms = positive("slo_p95_ms", slo_p95_ms, maximum=MAX_SLO_MS)
    share = fraction("share", share, low_open=True)
    budget_ms = share * slo_p95_ms
    largest = math.floor((budget_ms - service.base_ms) / service.per_item_ms)
    if largest < 1:
        raise ParameterError("slo_p95_ms", f"more than one request's service time "
                             f"({float(service.batch_ms(1)):g} ms) / share {share:g}", slo_p95_ms)
    return min(largest, 4096)


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
    """The controller (:class:`~perfcost.controllers.EnvelopeBatchingController`), chapter 3's
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


def evaluate_case(traces: Mapping[str, np.ndarray], *, service: LinearServiceTime,
                  slo_p95_ms: float, instances: int = 1, seed: int = 0,
                  policies: Mapping[str, PolicyFactory] | None = None,
                  services: Mapping[str, LinearServiceTime] | None = None,
                  workers: int = 1) -> pd.DataFrame:
    """Every policy, the single static configuration and the hindsight optimum on every trace.

    ``traces`` maps names to arrival times (at most 32 traces); ``policies`` maps names to
    factories (default :func:`baseline_policies`: the controller, the first controller and
    both AIMDs). Work: a grid of about 100 to 120 static configurations per trace (10 windows
    × the batch limits of :func:`static_grid`), each a whole simulation, spread over
    ``workers`` processes (:func:`perfcost.parallel.mapped`; policies must then pickle).
    One row per trace and policy with the :func:`perfcost.batching.summarize` scorecard;
    ``single static`` is chosen on the other traces (:func:`single_static`, needs two traces
    or more), ``hindsight optimum`` is the trace's own best grid configuration (an upper
    bound). Column ``efficient_gpu_s`` is the least GPU time of a grid configuration whose
    attainment is at least the row's. ``services`` gives a trace its own service curve (a
    :class:`ShiftedServiceTime`, say); the grid's limits come from ``service`` for every trace.
    """
    service = _service(service)
    if not isinstance(traces, Mapping) or not 0 < len(traces) <= MAX_TRACES:
        raise ParameterError("traces", f"a dict of 1 to {MAX_TRACES} name: arrival times",
                             type(traces).__name__)
    if services is not None and not isinstance(services, Mapping):
        raise ParameterError("services", "a dict of trace name: service curve", services)
    curve = {name: _service((services or {}).get(name, service)) for name in traces}
    policies = baseline_policies(slo_p95_ms, service) if policies is None else policies
    waits, sizes = static_grid(service, slo_p95_ms)
    arrivals = {name: check_arrival_times(f"traces[{name!r}]", t) for name, t in traces.items()}
    runs = mapped(_trace_runs, [(name, times, curve[name], dict(policies), slo_p95_ms, waits,
                                 sizes, instances, seed) for name, times in arrivals.items()],
                  workers=workers)
    grids = {name: grid for name, (grid, _) in zip(arrivals, runs, strict=True)}
    rows = []
    for (name, times), (grid, policy_rows) in zip(arrivals.items(), runs, strict=True):
        rows += policy_rows
        if len(arrivals) > 1:
            config = single_static(grids, exclude=name)
            result = simulate(times, service=curve[name], controller=StaticBatching(*config),
                              instances=instances, seed=seed)
            rows.append(_scorecard(name, result, slo_p95_ms, "single static",
                                   configuration=config))
        best = grid.iloc[0]
        rows.append({"trace": name, "policy": "hindsight optimum",
                     **best.drop(["max_wait_ms", "max_batch_size"]).to_dict(),
                     "configuration": (float(best["max_wait_ms"]),
                                       int(best["max_batch_size"]))})
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
    """Per trace, whether ``policy`` meets issue 10's target on an :func:`evaluate_case` table.

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


# --- Load a policy sustains -------------------------------------------------------------------

def _scaled(trace: TraceFactory, multiplier: float) -> np.ndarray:
    if not callable(trace):
        raise ParameterError("trace", "a function of the load multiplier", trace)
    times = check_arrival_times("trace(multiplier)", trace(multiplier))
    if times.size > MAX_EVAL_REQUESTS:
        raise ParameterError("trace(multiplier)", f"at most {MAX_EVAL_REQUESTS:.0e} requests",
                             times.size)
    return times


def _attains(trace: TraceFactory, multiplier: float, policy: PolicyFactory, *, service,
             slo_p95_ms: float, instances: int, seed: int, quantile: float,
             window_s: float) -> bool:
    result = simulate(_scaled(trace, multiplier), service=service, controller=policy(),
                      instances=instances, seed=seed)
    return summarize(result, slo_p95_ms, window_s)["slo_attainment"] >= quantile


def sustainable_load(trace: TraceFactory, policy: PolicyFactory, *,
                     service: LinearServiceTime, slo_p95_ms: float, instances: int = 1,
                     seed: int = 0, quantile: float = SUSTAINED_SHARE, window_s: float = 10.0,
                     low: float = 0.125, high: float = 8.0, steps: int = 8) -> float:
    """The highest load multiplier of ``trace`` that ``policy`` serves with the SLO met in at
    least ``quantile`` of windows: bisection on a log scale between ``low`` and ``high``.

    Returns ``low`` (or 0.0 when even ``low`` fails) up to ``high`` (when it passes); in
    between, a multiplier that passes, within a factor (high/low)^(2^-steps) of the boundary.
    ``steps`` is in [1, 20], ``low`` < ``high`` in (0, 1000]. When 1 is inside the bracket the
    trace as it is decides which half is searched: a policy that serves it is searched above
    1, one that does not below. Within that half, attainment is assumed to fall as load rises.
    (Below the trace's own load that can fail: a static window makes every request wait it
    out when load is light; such a failure is not a capacity limit, and starting at 1 keeps
    it from being read as one.)
    """
    service = _service(service)
    low = positive("low", low, maximum=MAX_MULTIPLIER)
    high = positive("high", high, maximum=MAX_MULTIPLIER)
    if not low < high:
        raise ParameterError("high", f"> low = {low:g}", high)
    steps = integer_in_range("steps", steps, 1, MAX_BISECTION_STEPS)
    quantile = fraction("quantile", quantile, low_open=True)
    run = dict(service=service, slo_p95_ms=positive("slo_p95_ms", slo_p95_ms, maximum=MAX_SLO_MS),
               instances=integer_in_range("instances", instances, 1, MAX_INSTANCES),
               seed=seed_value(seed), quantile=quantile, window_s=window_s)
    if not callable(policy):
        raise ParameterError("policy", "a function returning a fresh policy", policy)
    # The trace as it is splits the bracket: above it, more load can only hurt; below it, a
    # window configuration can fail because requests wait out the window (not capacity).
    if low < 1.0 < high:
        low, high = (1.0, high) if _attains(trace, 1.0, policy, **run) else (low, 1.0)
    if _attains(trace, high, policy, **run):
        return high
    if not _attains(trace, low, policy, **run):
        return 0.0
    for _ in range(steps):
        middle = math.sqrt(low * high)
        low, high = (middle, high) if _attains(trace, middle, policy, **run) else (low, middle)
    return low


def instances_needed(trace: TraceFactory, policy: PolicyFactory, *, service: LinearServiceTime,
                     slo_p95_ms: float, multiplier: float = 1.0, seed: int = 0,
                     quantile: float = SUSTAINED_SHARE, window_s: float = 10.0,
                     max_instances: int = 64) -> int | None:
    """The fewest instances with which ``policy`` serves ``trace`` at ``multiplier`` with the SLO
    met in at least ``quantile`` of windows; None when ``max_instances`` (<= 10,000) do not.

    Doubles the count until it passes, then bisects between the last failing and the first
    passing count (assumes more instances never do worse).
    """
    service = _service(service)
    max_instances = integer_in_range("max_instances", max_instances, 1, MAX_INSTANCES)
    multiplier = positive("multiplier", multiplier, maximum=MAX_MULTIPLIER)
    run = dict(service=service, slo_p95_ms=positive("slo_p95_ms", slo_p95_ms, maximum=MAX_SLO_MS),
               seed=seed_value(seed), quantile=fraction("quantile", quantile, low_open=True),
               window_s=window_s)
    if not callable(policy):
        raise ParameterError("policy", "a function returning a fresh policy", policy)
    failing, count = 0, 1
    while not _attains(trace, multiplier, policy, instances=count, **run):
        if count >= max_instances:
            return None
        failing, count = count, min(max_instances, 2 * count)
    while count - failing > 1:
        middle = (failing + count) // 2
        if _attains(trace, multiplier, policy, instances=middle, **run):
            count = middle
        else:
            failing = middle
    return count


CAPACITY_POLICIES = ("controller", "AIMD (Clipper)", "single static")
LOAD_BRACKET = (0.25, 4.0)  # load multipliers searched: a quarter to four times the trace
LOAD_STEPS = 5  # bisection steps within the half of the bracket searched: 4^(1/32), 4.4%


def _policy_for(policy: str, trace: str, case: pd.DataFrame,
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


def capacity_table(traces: Mapping[str, TraceFactory], case: pd.DataFrame, *,
                   service: LinearServiceTime, slo_p95_ms: float, instances: int = 1,
                   seed: int = 0, services: Mapping[str, LinearServiceTime] | None = None,
                   policies: Sequence[str] = CAPACITY_POLICIES,
                   low: float = LOAD_BRACKET[0], high: float = LOAD_BRACKET[1],
                   steps: int = LOAD_STEPS,
                   workers: int = 1) -> pd.DataFrame:
    """What each policy's fleet can carry: cost that means money on a fixed fleet.

    For every trace (a function of the load multiplier) and policy: ``sustainable_load``, the
    highest multiplier served with the SLO met in 99% of 10 s windows on ``instances``
    instances (:func:`sustainable_load`, bisection between ``low`` and ``high`` in ``steps``;
    0.0 when even ``low`` fails), and ``instances_needed``, the fewest instances that serve
    the trace as it is (:func:`instances_needed`; <NA> when 8 × ``instances`` do not).
    Policies are names of :func:`baseline_policies` or static rows of ``case`` (an
    :func:`evaluate_case` table: ``single static``, ``hindsight optimum``), each with the
    configuration it had on that trace. Traces must pickle (:class:`Scaled` does) when
    ``workers`` > 1.
    """
    service = _service(service)
    factories = baseline_policies(slo_p95_ms, service)
    most = min(8 * integer_in_range("instances", instances, 1, MAX_INSTANCES), MAX_INSTANCES)
    jobs = [(trace, _policy_for(policy, name, case, factories),
             dict(service=(services or {}).get(name, service), slo_p95_ms=slo_p95_ms,
                  seed=seed), instances, (low, high, steps), most)
            for name, trace in traces.items() for policy in policies]
    found = mapped(_capacity_of, jobs, workers=workers)
    rows = [{"trace": name, "policy": policy} for name in traces for policy in policies]
    table = pd.DataFrame(rows)
    table["sustainable_load"] = [load for load, _ in found]
    table["instances_needed"] = pd.array([n for _, n in found], dtype="Int64")
    return table


def _capacity_of(trace, make, run, instances, bracket, most) -> tuple[float, int | None]:
    """(sustainable load on ``instances``, instances needed at the trace's own load)."""
    low, high, steps = bracket
    load = sustainable_load(trace, make, instances=instances, low=low, high=high,
                            steps=steps, **run)
    return load, instances_needed(trace, make, max_instances=most, **run)


def fresh_policies(case: pd.DataFrame, trace: str, names: Sequence[str], *,
                   service: LinearServiceTime, slo_p95_ms: float) -> dict[str, object]:
    """New policies named ``names`` as :func:`evaluate_case` ran them on ``trace``: those of
    :func:`baseline_policies`, or a static row of ``case`` (``single static``, ``hindsight
    optimum``) with the configuration it had there. Each starts from scratch."""
    factories = baseline_policies(slo_p95_ms, _service(service))
    return {name: _policy_for(name, trace, case, factories)() for name in names}


GAINS = (0.1, 0.3, 1.0, 3.0)


def gain_sweep(arrival_times_s, *, service: LinearServiceTime, slo_p95_ms: float,
               instances: int = 1, seed: int = 0, gains: Sequence[float] = GAINS
               ) -> pd.DataFrame:
    """Reversals of the batch limit and SLO attainment against gain: where a controller starts
    to oscillate. The naive proportional controller at each gain against the controller
    (:class:`~perfcost.controllers.EnvelopeBatchingController`) at each feedback gain and at
    its default, one row per controller and gain."""
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


# --- The traces of the evaluation -------------------------------------------------------------

@dataclass(frozen=True)
class Scaled:
    """A trace at a load multiplier: ``generate(**rates × multiplier, **fixed)``.

    ``generate`` is a generator of :mod:`perfcost.traffic`; ``rates`` maps its rate arguments
    to their values at multiplier 1 (a number or a tuple of numbers). Unlike a lambda it
    pickles, so the simulations of an evaluation can run in other processes.
    """

    generate: Callable[..., np.ndarray]
    rates: Mapping[str, float | tuple]
    fixed: Mapping[str, object]

    def __call__(self, multiplier: float) -> np.ndarray:
        """Arrival times (s) with every rate multiplied by ``multiplier``."""
        scaled = {name: tuple(r * multiplier for r in value) if isinstance(value, tuple)
                  else value * multiplier for name, value in self.rates.items()}
        return self.generate(**scaled, **self.fixed)


def synthetic_traces(*, duration_s: float = 300.0, steady_rps: float = 350.0,
                     diurnal_mean_rps: float = 400.0, diurnal_peak_to_average: float = 1.6,
                     spike_multiplier: float = 3.0, spike_start_s: float | None = None,
                     spike_duration_s: float = 60.0, bursty_rps=(200.0, 800.0),
                     bursty_sojourn_s=(20.0, 6.0), swing_peak_rps: float = 800.0,
                     cold_start_rps: float = 500.0, seed: int = 0) -> dict[str, TraceFactory]:
    """The synthetic traces, as functions of the load multiplier (rates in requests/s).

    At multiplier 1: ``steady``, Poisson at ``steady_rps``; ``diurnal``, one sinusoidal day in
    ``duration_s``; ``spike``, a step of ``spike_multiplier`` × ``steady_rps`` from
    ``spike_start_s`` (default 40% of the trace) for ``spike_duration_s``; ``bursty``, on-off
    (MMPP) between the two ``bursty_rps`` with mean sojourns ``bursty_sojourn_s``; ``swing``,
    a tenfold swing up to ``swing_peak_rps`` and back (one period per trace); ``cold start``,
    idle 5 s then a 10 s ramp to ``cold_start_rps``; and ``drift``, steady at ``steady_rps``
    (another seed) served by a model that turns slower halfway (:func:`drift_service`).
    The defaults are one instance's share of chapter 3's traffic. The traffic generators
    check every rate and duration.
    """
    seed = seed_value(seed)
    spike_start_s = 0.4 * duration_s if spike_start_s is None else spike_start_s
    timed = {"duration_s": duration_s, "seed": seed}
    return {
        "steady": Scaled(traffic.poisson_arrivals, {"rate_rps": steady_rps}, timed),
        "diurnal": Scaled(traffic.diurnal_arrivals, {"mean_rps": diurnal_mean_rps},
                          {**timed, "period_s": duration_s,
                           "peak_to_average": diurnal_peak_to_average}),
        "spike": Scaled(traffic.step_spike_arrivals, {"base_rps": steady_rps},
                        {**timed, "spike_start_s": spike_start_s,
                         "spike_duration_s": spike_duration_s,
                         "multiplier": spike_multiplier}),
        "bursty": Scaled(traffic.mmpp_arrivals, {"rates_rps": tuple(bursty_rps)},
                         {**timed, "mean_sojourn_s": tuple(bursty_sojourn_s)}),
        "swing": Scaled(traffic.swing_arrivals, {"peak_rps": swing_peak_rps},
                        {**timed, "period_s": duration_s}),
        "cold start": Scaled(traffic.cold_start_arrivals, {"peak_rps": cold_start_rps},
                             {**timed, "idle_s": 5.0}),
        "drift": Scaled(traffic.poisson_arrivals, {"rate_rps": steady_rps},
                        {**timed, "seed": (seed + 1) % (MAX_SEED + 1)}),
    }


def drift_service(service: LinearServiceTime, at_s: float, *, slowdown: float = 1.3):
    """``service`` until ``at_s``, then a model version ``slowdown`` times slower (base and per
    item alike): the service curve of the ``drift`` trace. ``slowdown`` is in [1, 10]."""
    service = _service(service)
    slowdown = in_range("slowdown", slowdown, 1.0, 10.0)
    slower = LinearServiceTime(service.base_ms * slowdown, service.per_item_ms * slowdown,
                               service.jitter_cv)
    return ShiftedServiceTime(LinearServiceTime(service.base_ms, service.per_item_ms,
                                                service.jitter_cv), slower, at_s)


def replayed(arrival_times_s, peak_rps: float = 1000.0, *, seed: int = 1) -> TraceFactory:
    """A real trace replayed at ``peak_rps`` × the multiplier: per-second counts scaled to that
    peak, Poisson within each second, seeded (:func:`perfcost.traffic.replay_trace`)."""
    times = check_arrival_times("arrival_times_s", arrival_times_s)
    peak_rps = positive("peak_rps", peak_rps, maximum=1e6)
    seed = seed_value(seed)
    return Scaled(traffic.replay_trace, {"peak_rps": peak_rps},
                  {"arrival_times_s": times, "seed": seed})
