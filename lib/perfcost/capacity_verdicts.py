"""Chapter 1's sentences whose truth depends on the numbers, computed from them.

A chapter glues these instead of typing them, so a re-run with other parameters never states
something its own results contradict (``tests/test_reruns.py`` checks each against the numbers).

Used by chapter 1 (capacity sizing).
"""

from __future__ import annotations

import pandas as pd

from perfcost.capacity import Sizing, cheapest_above_rps, fleet_response_quantile_ms

__all__ = ["at_peak_verdict", "ceiling_verdict", "crossover_verdict", "rule_verdict",
           "rule_vs_p95_verdict"]


def rule_verdict(alone: Sizing, raised: Sizing, utilization_target: float) -> str:
    """Whether the utilisation rule alone met the SLO, or how far the count had to rise."""
    said = (f"the {utilization_target:.0%} rule alone gives {alone.count} with a p95 of "
            f"{alone.p95_ms:,.1f} ms, ")
    if alone.count == raised.count:
        return said + "within the SLO"
    return said + f"which breaks the SLO, so the count rises to {raised.count}"


def rule_vs_p95_verdict(rule_count: int, p95_count: int, instance_name: str) -> str:
    """How many more (or fewer) instances the rule buys than p95 sizing, of one type."""
    extra = rule_count - p95_count
    if extra == 0:
        return "the rule buys exactly what the p95 needs"
    if extra > 0:
        return f"the rule buys {extra} more {instance_name} than the p95 needs"
    return (f"the rule buys {-extra} fewer {instance_name} than the p95 needs: "
            "it under-provisions")


def ceiling_verdict(ceilings: pd.DataFrame, routing: str) -> str:
    """What the utilisation ceilings of 1 and 64 instances say, by routing.

    ``ceilings`` has one row per fleet size (1 and 64 among them) and columns ``routing``,
    ``random`` and ``shared_queue``: the highest utilisation meeting the SLO.
    """
    one, many = ceilings[routing][1], ceilings[routing][64]
    alone, pooled = ceilings["random"][64], ceilings["shared_queue"][64]
    if max(one, many, pooled) == 0:
        return ("the SLO is below the p95 of one idle CPU instance's service time, so no "
                "fleet of it meets the SLO at any load.")
    return (f"with {routing.replace('_', ' ')} routing one CPU instance meets the SLO up to "
            f"{one:.1%} busy and 64 up to {many:.1%}; with random routing 64 run no hotter "
            f"than {alone:.1%}, and one shared queue (which no balancer builds) would allow "
            f"{pooled:.1%}.")


def crossover_verdict(curves: pd.DataFrame, gpu_name: str, top_rps: float) -> tuple[float,
                                                                                      str]:
    """The rate above which ``gpu_name`` is the cheapest at every rate charted, and the
    sentence that says so (also when it always or never is)."""
    mine = curves[curves["instance"] == gpu_name]
    if mine.empty or not mine["cheapest"].any():
        return top_rps, f"{gpu_name} is never the cheaper option up to {top_rps:,.0f} requests/s"
    crossover = cheapest_above_rps(curves, gpu_name)
    if crossover == 0:
        return crossover, f"{gpu_name} is the cheaper option at every rate charted"
    return crossover, (f"above {crossover:,.0f} requests/s the {gpu_name} fleet is the cheaper "
                       "one at every rate charted")


def at_peak_verdict(average: Sizing, peak_rps: float, latency_slo_ms: float) -> str:
    """What the fleet sized for the average rate does at the peak rate."""
    name = f"{average.count} × {average.instance.name}"
    capacity_rps = average.count * average.instance.throughput_rps
    if peak_rps >= capacity_rps:
        return (f"the average's {name} serve at most {capacity_rps:,.0f} requests/s, so at "
                "the peak the queue grows without bound")
    p95_ms = fleet_response_quantile_ms(average.instance, average.count, peak_rps,
                                        model=average.model)
    side = "within" if p95_ms <= latency_slo_ms else "outside"
    return f"the average's {name} have a p95 of {p95_ms:,.1f} ms at the peak, {side} the SLO"
