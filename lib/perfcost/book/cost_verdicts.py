"""Chapter 2's sentences whose truth depends on the numbers, computed from them.

A chapter glues these instead of typing them, so a re-run with other parameters never states
something its own results contradict (``tests/test_reruns.py`` checks each against the numbers,
``tests/test_cost_verdicts.py`` every branch). Numbers are written so that a small one never
rounds to a wrong one ("0.5", not "0"), shares near 0% and 100% say so ("under 1%"), and counts
agree with their nouns ("1 instance").

Used by chapter 2 (cost breakdown).
"""

from __future__ import annotations

from perfcost.book.measured import NO_VARIANT, MeasuredGain
from perfcost.rightsizing import SPARE_INSTANCES, RightSized
from perfcost.savings import Plan, Strand

__all__ = ["bill_verdict", "compute_formula", "count", "egress_free_text", "joined",
           "next_levers_verdict", "number", "other_reading_verdict", "plan_levers_text",
           "plan_verdict", "reserve_verdict", "rightsize_paragraph", "rightsize_question",
           "set_apart_header", "share", "spare_verdict", "strand_verdict",
           "throughput_gain_source"]

STRAND_NAMES = {"cache": "caching", "rightsize": "right-sizing",
                "throughput": "the throughput gain", "autoscale": "autoscaling"}


def number(value: float) -> str:
    """A number as a reader wants it: whole from 100 up, three significant digits below."""
    if abs(value) >= 100 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:.3g}"


def count(n: int, noun: str) -> str:
    """``n`` and its noun, plural unless ``n`` is 1 ("1 instance", "5 instances")."""
    return f"{n:,d} {noun}{'' if n == 1 else 's'}"


def share(fraction: float) -> str:
    """A share as a whole percentage that never rounds to a wrong 0% or 100%."""
    if 0 < fraction < 0.005:
        return "under 1%"
    if 0.995 <= fraction < 1:
        return "over 99%"
    return f"{fraction:.0%}"


def joined(words: list[str]) -> str:
    """"a", "a and b", "a, b and c"."""
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} and {words[-1]}"


def compute_formula(rate_rps: float, peak_to_average: float, throughput_rps: float,
                    instances: int) -> str:
    """The compute count as a formula: "ceil(500 × 1.00 / 100) = 5 instances"."""
    return (f"ceil({number(rate_rps)} × {peak_to_average:.2f} / {number(throughput_rps)})"
            f" = {count(instances, 'instance')}")


def egress_free_text(free_gb: float, first_paid_usd_per_gb: float) -> str:
    """What the egress ladder gives free and what the first paid gigabyte costs."""
    if first_paid_usd_per_gb == 0:
        return "every tier of the ladder is free"
    price = f"${first_paid_usd_per_gb:.3g}/GB"
    if free_gb > 0:
        return (f"the first {number(free_gb)} GB are free, the rest priced in volume tiers "
                f"({price} in the first paid one)")
    return f"no allowance is free: volume tiers from the first GB ({price} in the first)"


def throughput_gain_source(measured: MeasuredGain | None, given_gain: float) -> str:
    """Where the throughput lever's gain comes from: the parameter (``measured`` None), or
    chapter 4's measurement of its first choice."""
    if measured is None:
        return f"given as a parameter ({given_gain:g}x)"
    if measured.variant == NO_VARIANT:
        return "none: chapter 4 found no variant that meets its target"
    return (f"chapter 4's first choice, {measured.variant}, served "
            f"{measured.variant_rps:,.0f} requests/s against fp32's "
            f"{measured.baseline_rps:,.0f} at batch 64, a gain of {measured.value:.3g}× (read "
            f"from chapter 4's results as {measured.glued_names[1]}; 1.0 where chapter 4 "
            "could not measure it)")


def bill_verdict(usd: dict[str, float]) -> str:
    """The largest component and the next, with their shares of the total."""
    total = sum(usd.values())
    ranked = sorted(usd, key=lambda name: -usd[name])
    first, second = ranked[0], ranked[1]
    return (f"{first} is the largest line ({share(usd[first] / total)}), then {second} "
            f"({share(usd[second] / total)})")


def rightsize_question(best: RightSized | None, question_usd_per_rps: float,
                       hourly_usd: float, throughput_rps: float) -> str:
    """The first question back: is the question's instance far dearer per request?"""
    if best is None:
        return ("the catalog has no published throughput for image classification to compare "
                "the question's instance with.")
    best_usd = best.hourly_usd / best.usable_rps
    if question_usd_per_rps <= best_usd:
        return (f"the question's instance is already as cheap per request as any published "
                f"option (the best is {best.instance}).")
    return (f"one {best.instance} serves {number(best.throughput_rps)} requests/s of ResNet-50 "
            f"({best.precision}, {best.scenario}; {number(best.usable_rps)} at the target) for "
            f"${best.hourly_usd:.3g}/h, {question_usd_per_rps / best_usd:,.1f}x less per "
            f"request than the question's ${number(hourly_usd)}/h for "
            f"{number(throughput_rps)}. Is the model far heavier than ResNet-50, or is the "
            "instance the wrong one?")


def rightsize_paragraph(best: RightSized | None, question_compute_usd: float,
                        in_plan: bool) -> str:
    """What the cheapest published option would cost, and what the plan does with it."""
    if best is None:
        return ("The catalog lists no published throughput for the workload, so the plan has "
                "no right-sizing lever.")
    said = (f"The cheapest option, {best.instances} × {best.instance} ({best.peak_instances} "
            f"at the peak and {SPARE_INSTANCES} spare), would cost "
            f"${best.compute_monthly_usd:,.0f} a month in compute against the question's "
            f"${question_compute_usd:,.0f}")
    if best.compute_monthly_usd >= question_compute_usd:
        return said + ": it saves nothing, so right-sizing is set apart."
    said += (". It replaces the question's own figure for its own model with a ResNet-50 "
             "figure: a hypothesis to benchmark with the real model before anything moves")
    if in_plan:
        return said + ". It is the plan's right-sizing lever."
    return said + ". The plan does without it."


def plan_levers_text(plan: Plan) -> str:
    """The plan's levers by name, joined by "and" ("no lever" for an empty plan)."""
    return " and ".join(step.lever.name for step in plan.steps) or "no lever"


def plan_verdict(plan: Plan) -> str:
    """Whether the plan reaches its target, and by how much it falls short if not."""
    saved = f"saving {plan.savings_fraction:.1%}"
    target = f"{plan.savings_target:.0%}"
    if plan.reaches_target:
        return f"{saved}, which meets the {target} target"
    if not plan.steps:
        return f"no lever saves anything, so the bill stays as it is, short of the {target} target"
    return (f"{saved}, short of the {target} target: no combination of the levers, at these "
            "inputs, saves more")


def reserve_verdict(plan: Plan, reserve_names: list[str]) -> str:
    """Which levers stay out of the plan, and whether the riskiest (spot) is in it."""
    in_plan = {step.lever.key for step in plan.steps}
    spot = (" Spot, the lever riskiest to the latency SLO, is in the plan."
            if "spot" in in_plan else "")
    if not reserve_names:
        return "Every lever that saves on its own is in the plan." + spot
    names = joined(reserve_names)
    if plan.reaches_target:
        return f"Kept in reserve: {names}; the target is met without their risk." + spot
    return (f"Left out: {names}; each saves nothing after the plan's levers or cannot be "
            "combined with them." + spot)


def next_levers_verdict(plan: Plan, reserve_names: list[str]) -> str:
    """What the planner would add next, if anything could be added."""
    if not reserve_names:
        return "Every one of them is already in the plan."
    names = joined(reserve_names)
    if plan.reaches_target:
        return (f"Not in the plan: {names}; the planner would add them, from the least risky "
                "up, if the target were higher.")
    return (f"Not in the plan: {names}; they cannot raise the saving, since the plan already "
            "saves the most the levers allow.")


def set_apart_header(ineffective_count: int) -> str:
    """The header of the list of levers that save nothing."""
    if ineffective_count == 0:
        return "Every lever saves something at these inputs; none is set apart."
    return f"Set apart, saving nothing at these inputs ({count(ineffective_count, 'lever')}):"


def strand_verdict(strand: Strand | None, rightsize_instance: str = "") -> str:
    """What a commitment bought first would strand, and why."""
    if strand is None:
        return "the levers include no commitment, so nothing can strand."
    if strand.type_change:
        return (f"committing first, to today's instance type, then moving to "
                f"{rightsize_instance or 'another type'} would strand all of it, "
                f"${strand.stranded_usd:,.0f} over its term: a one-year Standard Reserved "
                "Instance is bound to its instance family.")
    if not strand.levers:
        return ("no lever here shrinks the committed fleet, so a commitment bought first would "
                "strand nothing.")
    pulled = joined([STRAND_NAMES[key] for key in strand.levers])
    return (f"committing first, to today's fleet, then pulling {pulled} would leave "
            f"{share(strand.stranded_fraction)} of the commitment paying for nothing, "
            f"${strand.stranded_usd:,.0f} over its term.")


def spare_verdict(plan_spare_instances: int, plan_instances: int) -> str:
    """Whether the plan's fleet keeps a spare instance for failures."""
    if plan_spare_instances > 0:
        return (f"The plan's fleet of {count(plan_instances, 'instance')} keeps "
                f"{plan_spare_instances} spare (N+1, spread over two availability zones); the "
                "question's own fleet is priced as the question states it, without one.")
    return ("The plan's fleet carries no spare instance for failures: before deploying, add one "
            "(chapter 1's N+1), and price it with the same bill.")


def other_reading_verdict(instances: int, other_instances: int, total_usd: float,
                          other_total_usd: float) -> str:
    """What the other reading of "100 RPS at 70% utilization" changes."""
    if other_instances == instances:
        return (f"Reading the throughput as full load buys the same "
                f"{count(instances, 'instance')} here: the peak fits either way, so the bill "
                "does not change. Ask the interviewer anyway.")
    return (f"Reading the throughput as full load buys {count(other_instances, 'instance')} "
            f"instead of {instances:,d}, ${other_total_usd:,.0f} a month instead of "
            f"${total_usd:,.0f}. Ask the interviewer which one they mean.")
