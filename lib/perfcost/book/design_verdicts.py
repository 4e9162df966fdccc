"""Chapter 5's sentences whose truth depends on the numbers, computed from them.

The chapter glues these instead of typing them, so a re-run with another peak, SLO, budget or
model never states what its own results contradict (``tests/test_reruns.py`` checks them on
the results, ``tests/test_design_verdicts.py`` every branch).

Used by chapter 5 (design).
"""

from __future__ import annotations

from perfcost.book.cost_verdicts import count, number, share
from perfcost.design.day import tracking_target

__all__ = [
    "batching_verdict",
    "bill_verdict",
    "budget_verdict",
    "cache_verdict",
    "cost_split_verdict",
    "design_results",
    "design_text",
    "fix_text",
    "fix_verdict",
    "hardware_verdict",
    "model_check_verdict",
    "noise_verdict",
    "overhead_verdict",
    "percentiles_verdict",
    "policy_verdict",
    "slo_verdict",
    "tracking_target_text",
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
    budget = ("" if server_budget_ms is None else
              f" within the server's share of it ({number(server_budget_ms)} ms once the other "
              f"stages' p95s are set aside)")
    return (f"no configuration in the catalog meets the p95 of {number(slo_ms)} ms{budget}; "
            f"the closest reaches {number(p95_ms)} ms end to end at the peak and keeps the "
            f"server within its share in {minutes}")


def policy_verdict(policies, chosen_policy: str) -> str:
    """Target tracking's instance-hours against the fixed N+1 fleet's, and the choice."""
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
    return f"{said}; the design runs {chosen_policy}"


def cache_verdict(by_cache: dict, hit_rate: float) -> str:
    """The cheapest design with the cache against the cheapest without."""
    if True not in by_cache or False not in by_cache:
        return f"no cache is considered at a hit rate of {share(hit_rate)}"
    with_cache, without = by_cache[True]["total_usd"], by_cache[False]["total_usd"]
    if abs(with_cache - without) < 0.5:
        return (f"the cache neither pays nor costs at a hit rate of {share(hit_rate)}: both "
                f"designs cost {usd(without)} a month")
    if with_cache < without:
        return (f"the cache pays for itself at a hit rate of {share(hit_rate)}: the cheapest "
                f"design with it costs {usd(with_cache)} a month, without it {usd(without)}")
    return (f"the cache does not pay for itself at a hit rate of {share(hit_rate)}: the "
            f"cheapest design without it costs {usd(without)} a month, with it "
            f"{usd(with_cache)}")


def batching_verdict(by_batch: dict, why_not: str = "") -> str:
    """The cheapest unbatched design against the cheapest batched one; ``why_not`` is why
    no batched option is feasible, when none is."""
    batched = [row for batch, row in by_batch.items() if batch > 1]
    if 1 not in by_batch:
        return "every feasible design batches" if by_batch else "no option is feasible"
    single = by_batch[1]
    if not batched:
        return f"no batched option is feasible: {why_not}" if why_not else \
            "no batched option is feasible"
    best = min(batched, key=lambda row: (row["total_usd"], row["p95_ms"]))
    if best["total_usd"] < single["total_usd"] - 0.5:
        return (f"batching pays: batch {best['batch']} costs {usd(best['total_usd'])} against "
                f"{usd(single['total_usd'])} without")
    return (f"batching buys nothing here: without it the design costs "
            f"{usd(single['total_usd'])} at a p95 of {number(single['p95_ms'])} ms; the "
            f"cheapest batched one costs {usd(best['total_usd'])} at "
            f"{number(best['p95_ms'])} ms")


def hardware_verdict(by_kind: dict) -> str:
    """The cheapest CPU design against the cheapest GPU or accelerator design."""
    if not by_kind:
        return "no instance type meets the server's budget"
    cheapest_kind = min(by_kind, key=lambda kind: by_kind[kind]["total_usd"])
    best = by_kind[cheapest_kind]
    others = [f"{usd(row['total_usd'])} on the best {kind} ({row['instance_type']})"
              for kind, row in by_kind.items() if kind != cheapest_kind]
    tail = f", against {', '.join(others)}" if others else ""
    return (f"the cheapest is {best['kind']}: {best['instance_type']} at "
            f"{usd(best['total_usd'])} a month{tail}")


def fix_verdict(fix) -> str:
    """The cheapest fix, or that none is needed."""
    return "" if fix is None else fix.text


def percentiles_verdict(sum_ms: float, simulated_ms: float) -> str:
    """The sum of the stage p95s against the simulated end-to-end p95."""
    gap = sum_ms - simulated_ms
    if gap > 0:
        return (f"the stage p95s add up to {number(sum_ms)} ms, but the simulated end-to-end "
                f"p95 is {number(simulated_ms)} ms: {number(gap)} ms ({share(gap / sum_ms)}) "
                f"of the budget a sum of percentiles would waste")
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
    return (f"one core's share of the peak minute, simulated request by request, gives a "
            f"server p95 of {number(simulated_ms)} ms, {side} the model's "
            f"{number(model_ms)} ms and {relation} the server's budget of "
            f"{number(budget_ms)} ms")


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
    """Whether the design holds across the server's measured 95% interval."""
    low, high = at_ends["low"], at_ends["high"]
    span = (f"{number(1000 * server.cpu_low_ms)}–{number(1000 * server.cpu_high_ms)} µs "
            f"per request")
    fleets = {_fleet_key(d) for d in (design, low, high)}
    if len(fleets) == 1:
        return (f"across the server's 95% interval ({span}) the design is the same: "
                f"{_fleet_words(design)}")
    return (f"the server's 95% interval ({span}) changes the design: "
            f"{_fleet_words(low)} at its low end, {_fleet_words(high)} at its high end")


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
