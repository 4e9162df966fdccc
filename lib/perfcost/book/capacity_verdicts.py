"""Chapter 1's sentences whose truth depends on the numbers, computed from them.

A chapter glues these instead of typing them, so a re-run with other parameters never states
something its own results contradict (``tests/test_reruns.py`` checks each against the numbers).

Used by chapter 1 (capacity sizing).
"""

from __future__ import annotations

import pandas as pd

from perfcost.fleet_quantiles import fleet_response_quantile_ms
from perfcost.instance_types import InstanceType, Sizing
from perfcost.sizing_tables import cheapest_above_rps

__all__ = ["at_peak_verdict", "balancer_verdict", "capacity_price_verdict", "ceiling_verdict",
           "crossover_verdict", "grid_verdict", "headroom_verdict", "model_check_verdict",
           "peak_cost_verdict", "rule_verdict", "rule_vs_p95_verdict"]


def rule_verdict(rule_count: int, raised: Sizing, utilization_target: float) -> str:
    """Whether the utilisation rule's count alone met the SLO, or how far it had to rise.

    ``rule_count`` is ceil(rate / (throughput × target)) for ``raised``'s instance type.
    """
    said = f"the {utilization_target:.0%} rule alone gives {rule_count:,d}"
    capacity_rps = rule_count * raised.instance.throughput_rps
    if raised.request_rate_rps >= capacity_rps:
        return said + (", which would be 100% busy with a queue that grows without bound, so "
                       f"the count rises to {raised.count:,d}")
    p95_ms = fleet_response_quantile_ms(raised.instance, rule_count, raised.request_rate_rps,
                                        model=raised.model)
    said += f" with a p95 of {p95_ms:,.1f} ms, "
    if rule_count == raised.count:
        return said + "within the SLO"
    return said + f"which breaks the SLO, so the count rises to {raised.count:,d}"


def rule_vs_p95_verdict(rule_count: int, p95_count: int, instance_name: str) -> str:
    """How many more (or fewer) instances the rule buys than p95 sizing, of one type."""
    extra = rule_count - p95_count
    if extra == 0:
        return "the rule buys exactly what the p95 needs"
    if extra > 0:
        return f"the rule buys {extra} more {instance_name} than the p95 needs"
    return (f"the rule buys {-extra} fewer {instance_name} than the p95 needs: "
            "it under-provisions")


def _percent(share: float) -> str:
    """A share as a percentage with one decimal, never rounded up to 100% (or down to 0%)."""
    if 0.999 < share < 1:
        return "over 99.9%"
    if 0 < share < 0.001:
        return "under 0.1%"
    return f"{share:.1%}"


def ceiling_verdict(ceilings: pd.DataFrame, routing: str) -> str:
    """What the utilisation ceilings of 1 and 64 instances say, by routing.

    ``ceilings`` has one row per fleet size (1 and 64 among them) and columns ``random``,
    ``shared_queue`` and ``routing`` (the chapter's): the highest utilisation meeting the SLO.
    """
    one, many = ceilings[routing][1], ceilings[routing][64]
    alone, pooled = ceilings["random"][64], ceilings["shared_queue"][64]
    if max(one, many, pooled) == 0:
        return ("the SLO is below the p95 of one idle CPU instance's service time, so no "
                "fleet of it meets the SLO at any load.")
    said = f"one CPU instance meets the SLO up to {_percent(one)} busy"
    if routing == "shared_queue":
        return (said + f" and 64 behind one shared queue up to {_percent(pooled)}, but no balancer "
                f"builds one queue: with random routing 64 run no hotter than {_percent(alone)}. A "
                "fixed utilisation target ignores both the fleet size and the routing.")
    if routing != "random":
        said += (f", and 64 with {routing.replace('_', ' ')} routing up to {_percent(many)}; with "
                 "random routing")
    else:
        said += ", and 64 with random routing"
    return (said + f" no hotter than {_percent(alone)}, while one shared queue (which no balancer "
            f"builds) would allow {_percent(pooled)}. A fixed utilisation target ignores both the "
            "fleet size and the routing.")


def crossover_verdict(curves: pd.DataFrame, gpu_name: str, top_rps: float) -> tuple[float,
                                                                                      str]:
    """The rate above which ``gpu_name`` is the cheapest at every rate charted, and the
    sentence that says so (also when it always or never is)."""
    mine = curves[curves["instance"] == gpu_name]
    if mine.empty:
        return top_rps, f"{gpu_name} cannot meet the SLO at any rate charted"
    if not mine["cheapest"].any():
        return top_rps, f"{gpu_name} is never the cheaper option up to {top_rps:,.0f} requests/s"
    if not mine.sort_values("request_rate_rps")["cheapest"].iloc[-1]:
        return top_rps, (f"{gpu_name} is the cheapest option at some rates charted, but not at "
                         "the highest")
    crossover = cheapest_above_rps(curves, gpu_name)
    if crossover == 0:
        return crossover, f"{gpu_name} is the cheaper option at every rate charted"
    return crossover, (f"above {crossover:,.0f} requests/s the {gpu_name} fleet is the cheaper "
                       "one at every rate charted")


def at_peak_verdict(average: Sizing, peak_rps: float, latency_slo_ms: float) -> str:
    """Whether the fleet sized for the average rate holds the SLO at the peak rate."""
    name = f"{average.count:,d} × {average.instance.name}"
    capacity_rps = average.count * average.instance.throughput_rps
    if peak_rps >= capacity_rps:
        return (f"size for the peak, not the average: the average's {name} serve at most "
                f"{capacity_rps:,.0f} requests/s, so at the peak the queue grows without bound")
    p95_ms = fleet_response_quantile_ms(average.instance, average.count, peak_rps,
                                        model=average.model)
    if p95_ms > latency_slo_ms:
        return (f"size for the peak, not the average: the average's {name} have a p95 of "
                f"{p95_ms:,.1f} ms at the peak, outside the SLO")
    return (f"the fleet sized for the average already holds the peak here: the average's "
            f"{name} have a p95 of {p95_ms:,.1f} ms at the peak, within the SLO")


def capacity_price_verdict(cpu: InstanceType, gpu: InstanceType) -> str:
    """Which option is cheaper per request/s of capacity, and by how much."""
    cpu_usd, gpu_usd = (o.hourly_usd / o.throughput_rps for o in (cpu, gpu))
    cheaper, dearer = (gpu, cpu) if gpu_usd < cpu_usd else (cpu, gpu)
    ratio = max(cpu_usd, gpu_usd) / min(cpu_usd, gpu_usd)
    return (f"per 1,000 requests/s of capacity {cheaper.name} costs "
            f"${min(cpu_usd, gpu_usd) * 1000:,.3g} an hour, {ratio:,.3g}× less than "
            f"{dearer.name}")


def model_check_verdict(row: pd.Series) -> str:
    """Model against simulation for one row of ``fleet_check.fleet_models_table``."""
    if not row["converged"]:
        return (f"the simulation did not settle to a steady p95 within its requests "
                f"(two seeds {row['spread']:.0%} apart), so no error is claimed; the model "
                f"gives {row['model_p95_ms']:,.1f} ms")
    return (f"the model gives {row['model_p95_ms']:,.1f} ms against a simulated "
            f"{row['simulated_p95_ms']:,.1f} ms (± {row['spread']:.1%} between two seeds), "
            f"a relative error of {row['relative_error']:+.1%}")


def grid_verdict(grid: pd.DataFrame) -> str:
    """How far below and above the simulation the model strays on the converged cells."""
    settled = grid[grid["converged"]]
    if settled.empty:
        return "no cell of the grid settled to a steady state, so no error is claimed"
    low, high = settled["relative_error"].min(), settled["relative_error"].max()
    side = ("never below the simulated p95 by more than " f"{-low:.1%}" if low < 0 else
            "never below the simulated p95")
    where = settled.loc[settled["relative_error"].idxmax()]
    return (f"on the {len(settled)} of {len(grid)} cells that settled, the model is {side} "
            f"and at most {high:.1%} above it (most for {where['routing'].replace('_', ' ')} "
            f"routing with {where['instances']:,d} instances at service cv "
            f"{where['service_cv']:g})")


def balancer_verdict(two_choices_ms: float, model_ms: float, latency_slo_ms: float) -> str:
    """What a balancer that compares two random instances does to the p95."""
    side = "within" if two_choices_ms <= latency_slo_ms else "outside"
    return (f"a balancer that compares only two random instances (Envoy's default least-request)"
            f" gives {two_choices_ms:,.1f} ms in simulation against the model's "
            f"{model_ms:,.1f} ms, {side} the SLO")


def headroom_verdict(peak: Sizing, lean_count: int, utilization_target: float) -> str:
    """Whether target-at-the-peak plus a spare is more than the SLO with one instance down
    needs; ``lean_count`` is the fewest instances whose p95 meets the SLO at the peak."""
    with_spare = peak.count + 1
    lean = lean_count + 1
    if lean >= with_spare:
        return (f"{with_spare:,d} is also the fewest whose p95 still meets the SLO at the peak "
                "with one instance down")
    return (f"the {utilization_target:.0%} target at the peak plus a spare is double headroom: "
            f"{lean:,d} would still meet the SLO at the peak with one instance down")


def peak_cost_verdict(peak_monthly_usd: float, average_monthly_usd: float) -> str:
    """What provisioning for the peak with a spare costs over the average's fleet."""
    extra = peak_monthly_usd - average_monthly_usd
    return (f"provisioning for the peak with a spare costs ${peak_monthly_usd:,.0f} a month "
            f"against ${average_monthly_usd:,.0f} for the average: ${extra:,.0f} more, the "
            "price of not autoscaling and of the spare")
