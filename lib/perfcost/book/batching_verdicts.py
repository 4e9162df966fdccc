"""Chapter 3's conclusions as sentences computed from its tables, so they hold at any numbers.

Each function reads an evaluation table (:func:`perfcost.batching.evaluate`,
:func:`~perfcost.batching.meets_target`, :func:`~perfcost.batching.capacity_table`)
and says what it shows: where the controller meets the target and where it does not, whether
one static configuration would have done as well, and what each policy's fleet can carry.
The ``*_figures`` functions give the numbers the prose cites, named as the chapter glues them.

Used by chapter 3 (batching).
"""

from __future__ import annotations

import math

import pandas as pd

from perfcost.batching import (
    LOAD_BRACKET,
    LOAD_STEPS,
    SUSTAINED_SHARE,
    TARGET_GAP,
    TARGET_GPU_EXCESS,
    WAIT_FRACTIONS,
    ClipperAIMDBatching,
    EnvelopeBatchingController,
    hindsight_comparison,
)

__all__ = ["POLICY_KEYS", "capacity_figures", "capacity_note", "capacity_verdict",
           "design_figures", "gain_figures", "gain_verdict", "margin_verdict", "policy_figures",
           "spike_verdict", "static_verdict", "target_verdict", "trap_outcome", "trap_verdict",
           "win_figures"]

# How the chapter's glued names call the policies: slo_attainment_aimd, sustainable_load_...
POLICY_KEYS = {"controller": "controller", "AIMD (Clipper)": "aimd",
               "hindsight optimum": "best_static", "single static": "single_static"}


def design_figures(slo_p95_ms: float) -> dict[str, float]:
    """The settings the prose describes, as the library has them: the controller's target,
    window step and limit (shares of the SLO), its fallback, its peak headroom, Clipper's
    AIMD step and backoff, the grid's longest window and issue 10's target."""
    envelope = EnvelopeBatchingController(slo_p95_ms)
    clipper = ClipperAIMDBatching(slo_p95_ms)
    return {
        "target_share": envelope.target_fraction,
        "wait_step_share": envelope.max_wait_step,
        "wait_limit_share": envelope.max_wait_limit_ms / slo_p95_ms,
        "fallback_wait_ms": envelope.fallback[0],
        "fallback_size": envelope.fallback[1],
        "peak_headroom": envelope.capacity_headroom,
        "aimd_step": clipper.additive_step,
        "aimd_backoff": 1 - clipper.decrease_factor,
        "grid_wait_share": max(WAIT_FRACTIONS),
        "target_gap_points": 100 * TARGET_GAP,
        "target_gpu_excess": TARGET_GPU_EXCESS,
        "sustained_share": SUSTAINED_SHARE,
    }


def policy_figures(case: pd.DataFrame) -> dict[str, float]:
    """Per policy of :data:`POLICY_KEYS`, the mean SLO attainment over the traces of an
    :func:`~perfcost.batching.evaluate` table (``slo_attainment_KEY``) and the total GPU
    busy time (``gpu_busy_s_KEY``)."""
    mean = case.groupby("policy")["slo_attainment"].mean()
    gpu_s = case.groupby("policy")["gpu_busy_s"].sum()
    figures = {}
    for policy, key in POLICY_KEYS.items():
        figures[f"slo_attainment_{key}"] = mean[policy]
        figures[f"gpu_busy_s_{key}"] = gpu_s[policy]
    return figures


def capacity_figures(capacity: pd.DataFrame) -> dict[str, float]:
    """Per policy of a :func:`~perfcost.batching.capacity_table`, the least sustainable load
    over the traces (``sustainable_load_KEY``, keys of :data:`POLICY_KEYS`)."""
    least = capacity.groupby("policy")["sustainable_load"].min()
    return {f"sustainable_load_{POLICY_KEYS[policy]}": load for policy, load in least.items()}


def gain_figures(sweep: pd.DataFrame, default_gain: float) -> dict[str, int]:
    """Reversals in a :func:`~perfcost.batching.gain_sweep`: the naive controller's at gain
    1, ours at ``default_gain`` and at gain 3."""
    reversals = sweep.pivot(index="gain", columns="controller", values="reversals")
    return {"naive_reversals_at_1": int(reversals.loc[1.0, "naive proportional"]),
            "ours_reversals_at_default": int(reversals.loc[default_gain,
                                                           "ours (feedback gain)"]),
            "ours_reversals_at_3": int(reversals.loc[3.0, "ours (feedback gain)"])}


def _count(part: int, whole: int) -> str:
    return "every one of the" if part == whole else f"{part} of {whole}"


def _shortfall(row) -> str:
    """Why one trace misses the target, in the words of the target."""
    reasons = []
    if row.behind:
        reasons.append(f"attainment below {row.behind}")
    if row.gap_to_hindsight > TARGET_GAP + 1e-12:
        reasons.append(f"{100 * row.gap_to_hindsight:.1f} points below the hindsight optimum")
    if row.gpu_excess > TARGET_GPU_EXCESS + 1e-12:
        reasons.append(f"{row.gpu_excess:+.1%} GPU time")
    return f"{row.trace} ({', '.join(reasons)})"


def target_verdict(targets: pd.DataFrame, *, policy: str = "the controller") -> str:
    """One sentence: on how many traces ``policy`` meets the target, and why it misses where
    it does. ``targets`` is a :func:`~perfcost.batching.meets_target` table."""
    missed = targets[~targets["meets"]]
    text = (f"{policy.capitalize()} meets the whole target on "
            f"{_count(len(targets) - len(missed), len(targets))} traces")
    if missed.empty:
        return text + "."
    return text + "; it misses on " + "; ".join(_shortfall(r) for r in missed.itertuples()) + "."


def static_verdict(static_targets: pd.DataFrame, case: pd.DataFrame) -> str:
    """Whether one static configuration, chosen on the other traces, was enough, and on which
    traffic it stops being enough. ``static_targets`` is :func:`meets_target` of the policy
    ``single static`` against the controller and AIMD; ``case`` the evaluation table."""
    good = static_targets[static_targets["meets"]]
    rows = case[case["policy"] == "single static"].set_index("trace")
    chosen = [f"{w:g} ms and {b}" for w, b in sorted(set(rows["configuration"]))]
    which = chosen[0] if len(chosen) == 1 else \
        " or ".join(chosen) + ", by the trace held out"
    text = (f"A single static configuration chosen on the other traces (window and batch "
            f"limit {which}) meets the same target on "
            f"{_count(len(good), len(static_targets))} traces")
    failed = static_targets[~static_targets["meets"]]
    if failed.empty:
        return text + ": on this traffic a well-chosen static configuration is as good as " \
                      "any controller here."
    where = "; ".join(f"{_shortfall(r)}, meeting the SLO in "
                      f"{rows.loc[r.trace, 'slo_attainment']:.0%} of windows"
                      for r in failed.itertuples())
    return text + f". It misses on {where}."


def _load(multiplier: float) -> str:
    if multiplier <= 0:
        return f"below {LOAD_BRACKET[0]:g}×"
    return (f"at least {multiplier:g}×" if multiplier >= LOAD_BRACKET[1]
            else f"{multiplier:.2f}×")


def capacity_verdict(capacity: pd.DataFrame, instances: int) -> str:
    """What each policy's fleet of ``instances`` carries on every trace: the least sustainable
    load multiplier over the traces (a :func:`capacity_table` searched over the default
    bracket, ``LOAD_BRACKET``)."""
    worst = capacity.loc[capacity.groupby("policy", sort=False)["sustainable_load"].idxmin()]
    parts = [f"{row.policy} {_load(row.sustainable_load)} (limited by {row.trace})"
             for row in worst.itertuples()]
    fleet = "one instance carries" if instances == 1 else f"{instances} instances carry"
    return (f"With the SLO met in {SUSTAINED_SHARE:.0%} of windows, {fleet} every trace at up to: "
            + "; ".join(parts) + ".")


def trap_verdict(spike_peak_rps: float, max_capacity_rps: float, batch_limit: int) -> str:
    """Whether one instance is overloaded by the spike: its peak rate against the most one
    instance serves, at the largest batch whose own service time fits the SLO."""
    most = (f"the {max_capacity_rps:,.0f} requests/s one instance serves at its largest batch "
            f"within the SLO ({batch_limit})")
    if spike_peak_rps > max_capacity_rps:
        return f"the spike's {spike_peak_rps:,.0f} requests/s exceed {most}, so no " \
               "configuration can meet the SLO while it lasts."
    return f"here the spike's {spike_peak_rps:,.0f} requests/s stay within {most}, so this " \
           "run shows no overload; raise steady_rps or spike_multiplier to see one."


def margin_verdict(p95_ms: float, best_p95_ms: float) -> str:
    """Why the controller spends more GPU time than a static configuration on a trace: the p95
    it keeps (``p95_ms``) against the hindsight optimum's (``best_p95_ms``)."""
    if p95_ms < best_p95_ms:
        share = EnvelopeBatchingController.target_fraction  # the class default
        return (f"Its p95 there is {p95_ms:.1f} ms against {best_p95_ms:.1f} ms for the "
                f"hindsight optimum: that gap is the margin it keeps, planning for {share:.0%} "
                "of the SLO at the busiest rate of the last minute because it cannot see the "
                "next burst, and smaller batches are what the margin costs.")
    return (f"Its p95 there is {p95_ms:.1f} ms, no lower than the hindsight optimum's "
            f"{best_p95_ms:.1f} ms: the excess is not margin but batches formed at the wrong "
            "moments, a plan that lags the traffic.")


def win_figures(case: pd.DataFrame, targets: pd.DataFrame) -> dict[str, object]:
    """Where ours wins and where it does not, named as the chapter glues them: the figures
    of :func:`~perfcost.batching.hindsight_comparison`, its :func:`margin_verdict` and the
    hindsight winners as text (``best_static_configurations``: "trace (wait ms, size)")."""
    figures = hindsight_comparison(case, targets)
    verdict = margin_verdict(figures.pop("p95_ms"), figures.pop("hindsight_p95_ms"))
    winners = figures.pop("hindsight_configurations").items()
    return {**figures, "margin_verdict": verdict,
            "best_static_configurations": ", ".join(
                f"{name} ({w:g} ms, {b})" for name, (w, b) in winners)}


def capacity_note(duration_s: float) -> str:
    """What "99% of windows" and the bisection's resolution mean on a synthetic trace."""
    windows = int(duration_s // 10)
    misses = math.floor((1 - SUSTAINED_SHARE) * windows + 1e-9)
    allowed = "not one missed window" if misses == 0 else f"at most {misses} missed"
    span = max(LOAD_BRACKET[1], 1 / LOAD_BRACKET[0])  # the half of the bracket searched
    factor = span ** (0.5 ** LOAD_STEPS)
    return (f"On a synthetic trace of {windows} windows, {SUSTAINED_SHARE:.0%} allows "
            f"{allowed}. Each multiplier is found to within a factor of {factor:.3f}.")


def spike_verdict(attainment: float, recovery_s: float) -> str:
    """The controller on the spike trace: its attainment and, if it missed, its recovery."""
    if attainment >= 1.0:
        return "On this trace the controller meets the SLO in every window: there is " \
               "nothing to recover from."
    return (f"On this trace the controller meets the SLO in {attainment:.0%} of windows, and "
            f"its p95 is back under the SLO {recovery_s:.0f} s after the spike ends.")


def gain_verdict(naive_at_1: int, ours_default: int, ours_at_3: int, default_gain: float
                 ) -> str:
    """The gain sweep in words: reversals of the batch limit, naive against ours."""
    naive = (f"At gain 1 the naive controller reverses direction {naive_at_1} "
             f"time{'s' * (naive_at_1 != 1)}")
    ours = (f"ours reverses {ours_default} at its default gain of {default_gain:g} and "
            f"{ours_at_3} at a gain of 3")
    if naive_at_1 > ours_default:
        return f"{naive}: it chases the noise of each interval's p95; {ours}."
    return f"{naive}, no more than ours here ({ours}): this traffic gives it no noise to chase."


def trap_outcome(overloaded: bool, naive_batch: float, ours_batch: float, signals: int,
                 intervals: int) -> str:
    """What the naive controller and ours did through the one-instance spike."""
    said = f"ours raised the scale-out signal in {signals} of {intervals} intervals"
    if not overloaded:
        return (f"Without overload {said}" + (": signals an autoscaler would act on without "
                "need." if signals else "."))
    shrank = ("" if naive_batch < ours_batch else " Here the naive controller did not shrink "
              "its batches below ours.")
    return (f"During the spike the naive controller's batch limit averages {naive_batch:.0f} "
            f"against {ours_batch:.0f} for ours, and {said}.{shrank} The right response is "
            "outside the batcher: add instances (chapter 1 sizes them) or shed load.")
