"""Chapter 5's sentences whose truth depends on the numbers, computed from them.

The chapter glues these instead of typing them, so a re-run with another peak, SLO, budget or
model never states what its own results contradict (``tests/test_reruns.py`` checks them on
the results, ``tests/test_design_verdicts.py`` every branch).

Used by chapter 5 (design).
"""

from __future__ import annotations

from perfcost.book.cost_verdicts import count, number, share
from perfcost.design.day import tracking_target

MINUTES_PER_DAY = 1_440

__all__ = [
    "batching_verdict",
    "bill_verdict",
    "bottleneck_text",
    "budget_verdict",
    "cache_verdict",
    "cost_split_verdict",
    "design_results",
    "design_text",
    "design_verdict",
    "fix_text",
    "fix_verdict",
    "hardware_verdict",
    "model_check_verdict",
    "noise_usd",
    "noise_verdict",
    "optimization_text",
    "overhead_verdict",
    "percentiles_verdict",
    "policy_verdict",
    "slo_verdict",
    "tracking_target_text",
    "winner_verdict",
]


def usd(value: float) -> str:
    """Dollars: "$1,234", "$0.52"."""
    return f"${value:,.0f}" if abs(value) >= 100 else f"${value:,.3g}"


def budget_verdict(total_usd: float, budget_usd: float) -> str:
    """Within or over the budget, by how much."""
    if total_usd <= budget_usd:
        return (f"within the {usd(budget_usd)} budget at {usd(total_usd)} a month, "
                f"{usd(budget_usd - total_usd)} to spare")
    return (f"over the {usd(budget_usd)} budget at {usd(total_usd)} a month, "
            f"by {usd(total_usd - budget_usd)}")


def slo_verdict(meets_slo: bool, p95_ms: float, slo_ms: float, attainment: float,
                server_budget_ms: float | None = None) -> str:
    """Whether the design meets the p95 at the peak and over the day; when it does not, the
    server's budget (the SLO less the other stages' p95s) says why."""
    minutes = f"{share(attainment)} of the day's minutes"
    if meets_slo:
        return (f"meets the p95 of {number(slo_ms)} ms: {number(p95_ms)} ms at the peak, "
                f"and in {minutes}")
    # Read after "It": the closest design misses, and so does every other.
    if server_budget_ms is not None and server_budget_ms <= 0:
        return (f"misses the p95 of {number(slo_ms)} ms, as any configuration must: the other "
                f"stages' p95s alone add up to {number(slo_ms - server_budget_ms)} ms; it "
                f"reaches {number(p95_ms)} ms end to end at the peak")
    budget = ("" if server_budget_ms is None else
              f" (the server's share of it is {number(server_budget_ms)} ms once the other "
              f"stages' p95s are set aside)")
    return (f"misses the p95 of {number(slo_ms)} ms, as does every configuration in the "
            f"catalog{budget}: it reaches {number(p95_ms)} ms end to end at the peak and keeps "
            f"the server within its share in {minutes}")


def policy_verdict(policies, chosen_policy: str, attainment_target: float = 0.0) -> str:
    """Target tracking's instance-hours against the fixed N+1 fleet's, the choice, and the
    policies that miss the ``attainment_target``."""
    rows = {row["policy"]: row for row in policies.to_dict("records")}
    fixed, tracking = rows["fixed at peak (N+1)"], rows["target tracking"]
    saved = 1.0 - tracking["instance_hours_month"] / fixed["instance_hours_month"]
    fleet = count(int(fixed["instances_peak"]), "instance")
    if abs(saved) <= 1e-9:
        said = (f"autoscaling saves nothing here: target tracking runs as many "
                f"instance-hours as the fixed fleet of {fleet}")
    elif saved > 0:
        said = (f"target tracking runs {share(saved)} fewer instance-hours than the fixed "
                f"fleet of {fleet}, {usd(fixed['servers_usd'] - tracking['servers_usd'])} "
                f"a month less")
    else:
        said = (f"target tracking runs {share(-saved)} more instance-hours than the fixed "
                f"fleet of {fleet}: its utilisation target holds more spare than the peak "
                f"sizing needs")
    missed = [f"{name} misses the SLO in "
              f"{count(round((1 - row['slo_attainment']) * MINUTES_PER_DAY), 'minute')} "
              f"({share(1 - row['slo_attainment'])} of the day)"
              for name, row in rows.items()
              if row["slo_attainment"] < attainment_target and name != chosen_policy]
    why = f" ({'; '.join(missed)})" if missed else ""
    return f"{said}; the design runs {chosen_policy}{why}"


def _within(noise_usd: float) -> str:
    """Why a gap is no difference: inside the measurement's spread, or under a dollar."""
    if noise_usd >= 0.5:
        return f"within the {usd(noise_usd)} the measurement's spread moves the total"
    return "less than a dollar apart"


def cache_verdict(by_cache: dict, hit_rate: float, *, why_not: str = "",
                  noise_usd: float = 0.0) -> str:
    """The cheapest design with the cache against the cheapest without; a gap within
    ``noise_usd`` (the measurement's spread) is no measurable difference."""
    if True not in by_cache or False not in by_cache:
        reason = f": {why_not}" if why_not else ""
        return f"no design with a cache is considered at a hit rate of {share(hit_rate)}{reason}"
    with_cache, without = by_cache[True]["total_usd"], by_cache[False]["total_usd"]
    if abs(with_cache - without) <= max(noise_usd, 0.5):
        return (f"at a hit rate of {share(hit_rate)} the cache makes no measurable difference: "
                f"{usd(with_cache)} a month with it, {usd(without)} without, "
                f"{_within(noise_usd)}")
    if with_cache < without:
        return (f"the cache pays for itself at a hit rate of {share(hit_rate)}: the cheapest "
                f"design with it costs {usd(with_cache)} a month, without it {usd(without)}")
    return (f"the cache does not pay for itself at a hit rate of {share(hit_rate)}: the "
            f"cheapest design without it costs {usd(without)} a month, with it "
            f"{usd(with_cache)}")


def batching_verdict(by_batch: dict, why_not: str = "", *, noise_usd: float = 0.0) -> str:
    """The cheapest unbatched design against the cheapest batched one; ``why_not`` is why
    no batched option is feasible, when none is; a gap within ``noise_usd`` is no measurable
    difference."""
    batched = [row for batch, row in by_batch.items() if batch > 1]
    if 1 not in by_batch:
        return "every feasible design batches" if by_batch else "no option is feasible"
    single = by_batch[1]
    if not batched:
        return f"no batched option is feasible: {why_not}" if why_not else \
            "no batched option is feasible"
    best = min(batched, key=lambda row: (row["total_usd"], row["p95_ms"]))
    gap = single["total_usd"] - best["total_usd"]
    if abs(gap) <= max(noise_usd, 0.5):
        return (f"batching makes no measurable difference: batch {best['batch']} costs "
                f"{usd(best['total_usd'])} a month, no batching {usd(single['total_usd'])}, "
                f"{_within(noise_usd)}")
    if gap > 0:
        return (f"batching pays: batch {best['batch']} costs {usd(best['total_usd'])} against "
                f"{usd(single['total_usd'])} without")
    return (f"batching buys nothing here: without it the design costs "
            f"{usd(single['total_usd'])} at a p95 of {number(single['p95_ms'])} ms; the "
            f"cheapest batched one costs {usd(best['total_usd'])} at "
            f"{number(best['p95_ms'])} ms")


def _latency_budget(server_budget_ms: float | None = None) -> str:
    """The server's latency budget in words, with its milliseconds when there are any."""
    ms = ("" if server_budget_ms is None or server_budget_ms <= 0 else
          f", {number(server_budget_ms)} ms")
    return f"the server's latency budget (its share of the SLO{ms})"


def hardware_verdict(by_kind: dict, left_out: dict | None = None, *,
                     server_budget_ms: float | None = None) -> str:
    """The cheapest CPU design against the cheapest GPU or accelerator design; ``left_out``
    maps a kind with no feasible option to why."""
    left = {kind: why for kind, why in (left_out or {}).items() if kind not in by_kind}
    reasons = {why.split(": ", 1)[-1] for why in left.values()}
    none_meets = f"no instance type has a feasible fleet within {_latency_budget(server_budget_ms)}"
    if not by_kind and len(reasons) == 1:
        return f"{none_meets}: {reasons.pop()}"
    gone = "; ".join(f"no {kind} option is feasible ({why})" for kind, why in left.items())
    gone = f"; {gone}" if gone else ""
    if not by_kind:
        return f"{none_meets}{gone}"
    cheapest_kind = min(by_kind, key=lambda kind: by_kind[kind]["total_usd"])
    best = by_kind[cheapest_kind]
    others = [f"{usd(row['total_usd'])} on the best {kind} ({row['instance_type']})"
              for kind, row in by_kind.items() if kind != cheapest_kind]
    tail = f", against {', '.join(others)}" if others else ""
    return (f"the cheapest is {best['kind']}: {best['instance_type']} at "
            f"{usd(best['total_usd'])} a month{tail}{gone}")


def fix_verdict(fix) -> str:
    """The cheapest fix, or that none is needed."""
    return "" if fix is None else fix.text


def percentiles_verdict(sum_ms: float, simulated_ms: float) -> str:
    """The sum of the stage p95s against the simulated end-to-end p95."""
    gap = sum_ms - simulated_ms
    if gap > 0:
        return (f"the stage p95s add up to {number(sum_ms)} ms, but the simulated end-to-end "
                f"p95 is {number(simulated_ms)} ms: the sum overstates it by {number(gap)} ms "
                f"({share(gap / sum_ms)} of the sum)")
    return (f"the stage p95s add up to {number(sum_ms)} ms and the simulated end-to-end p95 "
            f"is {number(simulated_ms)} ms: here the sum is not pessimistic")


def model_check_verdict(check: dict | None) -> str:
    """The peak minute simulated request by request against the fleet model
    (:func:`perfcost.design.tables.peak_minute_check`; None for a published model)."""
    if check is None:
        return ("the request-level check needs a measured service curve; a published "
                "model's figures give none, so it is skipped")
    simulated_ms, model_ms = check["simulated_p95_ms"], check["model_p95_ms"]
    budget_ms = check["server_budget_ms"]
    both = max(simulated_ms, model_ms) <= budget_ms
    relation = "both within" if both else "not both within"
    side = ("above" if simulated_ms > model_ms else
            "below" if simulated_ms < model_ms else "equal to")
    budget = (f"{relation} the server's budget of {number(budget_ms)} ms" if budget_ms > 0 else
              "and the other stages leave the server no budget at all")
    return (f"one core's share of the peak minute, simulated request by request, gives a "
            f"server p95 of {number(simulated_ms)} ms, {side} the pooled model's "
            f"{number(model_ms)} ms, {budget}")


def overhead_verdict(server_cpu_ms: float, model_ms: float) -> str:
    """How much of a request's server CPU the model takes."""
    return (f"The real server spends {number(1000 * server_cpu_ms)} µs of CPU per request, of "
            f"which the model call at batch 1 is {number(1000 * model_ms)} µs "
            f"({share(model_ms / server_cpu_ms)}): the rest is HTTP, JSON and the server.")


def design_results(design) -> dict:
    """The chapter's contract results, by their glued names."""
    chosen = design.chosen
    return {
        "instance_type": chosen.fleet.option.instance.name,
        "instances_peak": design.instances_peak,
        "instances_average": design.instances_average,
        "instance_hours_month": chosen.instance_hours_month,
        "compute_monthly_usd": chosen.compute_usd,
        "egress_gb_month": chosen.egress_gb,
        "egress_monthly_usd": chosen.egress_usd,
        "total_monthly_usd": design.total_usd,
        "within_budget": design.within_budget,
        "budget_headroom_usd": design.budget_headroom_usd,
        "p95_ms_at_peak": design.p95_ms_at_peak,
        "slo_attainment_day": design.slo_attainment_day,
        "autoscaling_policy": chosen.policy,
        "meets_slo": design.meets_slo,
        "batch": chosen.fleet.option.batch,
        "uses_cache": chosen.cache,
        "instances_at_peak_sizing": chosen.fleet.instances,
    }


def design_text(design) -> str:
    """The chosen configuration in words."""
    chosen = design.chosen
    option = chosen.fleet.option
    batching = "without batching" if option.batch == 1 else f"in batches of {option.batch}"
    cache = "with a result cache" if chosen.cache else "without a cache"
    return (f"{option.instance.name} serving {option.model} {batching}, {cache}, under "
            f"{chosen.policy}: {count(design.instances_peak, 'instance')} at the peak, "
            f"{number(design.instances_average)} on average")


def design_verdict(design) -> str:
    """The design in words, and whether it meets the SLO: a fallback is named as the closest
    miss, or as a stand-in when no configuration is feasible at the peak."""
    slo = f"the p95 of {number(design.question.p95_slo_ms)} ms"
    text, p95_ms = design_text(design), design.p95_ms_at_peak
    if design.meets_slo:
        return f"the cheapest design that meets {slo} is {text}"
    if not design.evaluation.configurations:
        return (f"no configuration meets {slo}: none is feasible at the peak; the stand-in, "
                f"the fastest option sized to the utilisation target plus one instance, is "
                f"{text}")
    if p95_ms > design.question.p95_slo_ms:
        return (f"no configuration meets {slo}; the closest, which misses it with "
                f"{number(p95_ms)} ms end to end at the peak, is {text}")
    return (f"no configuration meets {slo} over the day; the closest, {number(p95_ms)} ms end "
            f"to end at the peak but with the server within its share in "
            f"{share(design.slo_attainment_day)} of the day's minutes, is {text}")


def winner_verdict(design) -> str:
    """Which instance type wins: the design's when it meets the SLO, none when it does not."""
    slo = f"the p95 of {number(design.question.p95_slo_ms)} ms"
    if design.meets_slo:
        return (f"the winner is {design.chosen.fleet.option.instance.name}: its design is the "
                f"cheapest that keeps the server within its share of the SLO and meets {slo}")
    if not design.evaluation.configurations:
        return (f"there is no winner: no instance type has a feasible fleet within "
                f"{_latency_budget(design.chosen.server_budget_ms)} at the peak, so the design "
                f"is only a stand-in")
    return (f"there is no winner: no configuration meets {slo}, so the design is only the "
            f"closest miss")


def fix_text(fix) -> str:
    """The two-minute answer's sentence on the fix (empty within budget)."""
    if fix is None:
        return ""
    if fix.found:
        return f"The cheapest change that brings it within budget: {fix.text}."
    return f"{fix.text[0].upper()}{fix.text[1:]}."


def _fleet_words(design) -> str:
    option = design.chosen.fleet.option
    batching = "" if option.batch == 1 else f", batch {option.batch}"
    return (f"{count(design.instances_peak, 'instance')} of {option.instance.name}{batching} "
            f"at the peak ({usd(design.total_usd)} a month)")


def _fleet_key(design) -> tuple:
    """What a fleet is: instance type, batch, instances at the peak, cache, policy."""
    chosen = design.chosen
    return (chosen.fleet.option.instance.name, chosen.fleet.option.batch,
            design.instances_peak, chosen.cache, chosen.policy)


def noise_verdict(design, at_ends: dict, server) -> str:
    """How the design moves across the server's measured 95% interval: it is sized at the
    high end; ``at_ends`` holds the designs at the estimate and the low end."""
    span = (f"{number(1000 * server.cpu_low_ms)}–{number(1000 * server.cpu_high_ms)} µs "
            f"per request")
    intro = f"the design is sized at the high end of the server's 95% interval ({span})"
    estimate, low = at_ends["estimate"], at_ends["low"]
    if len({_fleet_key(d) for d in (design, estimate, low)}) == 1:
        return f"{intro}; at the estimate and at the low end it is the same fleet"
    return (f"{intro}: {_fleet_words(design)}; at the estimate it would be "
            f"{_fleet_words(estimate)}, at the low end {_fleet_words(low)}")


def noise_usd(design, at_ends: dict) -> float:
    """How far the server's measured interval moves the total: the spread of the designs'
    totals across it, a difference below which two designs cost the same as far as we know."""
    totals = [design.total_usd, *(d.total_usd for d in at_ends.values())]
    return max(totals) - min(totals)


def bill_verdict(configuration) -> str:
    """The bill in words: each compute line and egress."""
    bill = configuration.bill
    parts = [f"{name} {usd(bill.component_usd(component))}" for component, name in
             (("servers", "servers"), ("cache", "cache"), ("load_balancer", "load balancer"))
             if bill.component_usd(component) > 0]
    return (f"compute {usd(configuration.compute_usd)} a month ({', '.join(parts)}) and egress "
            f"{usd(configuration.egress_usd)} ({number(configuration.egress_gb)} GB)")


def cost_split_verdict(configuration) -> str:
    """The servers' share of the total against the balancer's and egress's."""
    bill = configuration.bill
    total = bill.total_usd
    servers = bill.component_usd("servers") / total
    rest = (bill.component_usd("load_balancer") + bill.component_usd("egress")) / total
    lead = ("the model servers outweigh the load balancer and egress" if servers > rest else
            "the load balancer and egress outweigh the model servers" if rest > servers else
            "the model servers cost as much as the load balancer and egress")
    return (f"at these parameters {lead}: servers {share(servers)} of the total, balancer and "
            f"egress {share(rest)}")


def tracking_target_text(utilization_target: float, fleet) -> str:
    """What target tracking aims at: the reader's target or the peak sizing's utilisation."""
    target = tracking_target(fleet, utilization_target)
    if utilization_target > 0:
        return f"{share(target)}, as set"
    return (f"{share(target)}, the utilisation the peak sizing runs its needed instances at, "
            f"so that at the peak every policy orders the same fleet")


def bottleneck_text(model: str, server_cpu_ms: float, model_ms: float) -> str:
    """What sets an instance's rate: per-request work for the measured classifier, the
    published throughput for a published model."""
    if model.startswith("mlp_"):
        return (f"for this classifier, per-request work (HTTP parsing, JSON), not the model, "
                f"sets how many requests a core serves: the model is "
                f"{share(model_ms / server_cpu_ms)} of a request's server CPU")
    return (f"for {model}, the published accelerator throughput sets each instance's rate; "
            f"the host's per-request work only caps it")


def optimization_text(measured: dict, server_cpu_ms: float) -> str:
    """int8 against fp32 at batch 1 (95% intervals), and what the model's share of a request
    leaves model optimisation to win."""
    fp32, int8 = measured["fp32"], measured["int8"]
    i, j = fp32.batch_sizes.index(1), int8.batch_sizes.index(1)
    a, a_low, a_high = fp32.batch_ms[i], fp32.batch_low_ms[i], fp32.batch_high_ms[i]
    b, b_low, b_high = int8.batch_ms[j], int8.batch_low_ms[j], int8.batch_high_ms[j]
    if b_high < a_low:
        said = f"int8 is faster than fp32 ({number(1000 * b)} µs a call against {number(1000 * a)})"
    elif b_low > a_high:
        said = f"int8 is slower than fp32 ({number(1000 * b)} µs a call against {number(1000 * a)})"
    else:
        said = (f"int8 and fp32 show no measurable difference ({number(1000 * b)} and "
                f"{number(1000 * a)} µs a call)")
    return (f"on this CPU {said} at batch 1; with the model at {share(a / server_cpu_ms)} of a "
            f"request's server CPU, optimising the model moves the fleet little, and the serving "
            f"stack is where a saving is")
