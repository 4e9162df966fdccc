"""Chapter 5's computed sentences say what their numbers say, in every branch."""

from types import SimpleNamespace

import pandas as pd
import pytest

from perfcost.book import design_verdicts as v
from perfcost.design.fixes import Change, Fix

CONTRACT = {"instance_type", "instances_peak", "instances_average", "instance_hours_month",
            "compute_monthly_usd", "egress_gb_month", "egress_monthly_usd", "total_monthly_usd",
            "within_budget", "budget_headroom_usd", "p95_ms_at_peak", "slo_attainment_day",
            "autoscaling_policy"}


def test_dollars_are_whole_from_100_and_three_digits_below():
    assert (v.usd(1_234.4), v.usd(100.0), v.usd(99.4), v.usd(0.52), v.usd(0.0)) == (
        "$1,234", "$100", "$99.4", "$0.52", "$0")


def test_the_budget_verdict_within_and_over():
    assert v.budget_verdict(628.4725, 5_000.0) == (
        "within the $5,000 budget at $628 a month, $4,372 to spare")
    assert v.budget_verdict(5_000.0, 5_000.0) == (
        "within the $5,000 budget at $5,000 a month, $0 to spare")  # at the budget is within
    assert v.budget_verdict(628.4725, 1.0) == "over the $1 budget at $628 a month, by $627"


def test_the_slo_verdict_met_and_not():
    assert v.slo_verdict(True, 2.572, 100.0, 1.0) == (
        "meets the p95 of 100 ms: 2.57 ms at the peak, and in 100% of the day's minutes")
    assert v.slo_verdict(True, 80.0, 100.0, 0.9995) .endswith("in over 99% of the day's minutes")
    assert v.slo_verdict(False, 2.572, 1.0, 0.0) == (
        "misses the p95 of 1 ms, as does every configuration in the catalog: it reaches "
        "2.57 ms end to end at the peak and keeps the server within its share in 0% of the "
        "day's minutes")
    assert v.slo_verdict(False, 12.5, 10.0, 0.25, server_budget_ms=7.125) == (
        "misses the p95 of 10 ms, as does every configuration in the catalog (the server's "
        "share of it is 7.12 ms once the other stages' p95s are set aside): it reaches 12.5 ms "
        "end to end at the peak and keeps the server within its share in 25% of the day's "
        "minutes")
    # A met SLO needs no budget to explain it: the budget changes nothing.
    assert v.slo_verdict(True, 2.572, 100.0, 1.0, server_budget_ms=97.0) == v.slo_verdict(
        True, 2.572, 100.0, 1.0)


def policies(tracking_hours: float, tracking_usd: float, *,
             attainment: tuple[float, float, float] = (1.0, 1.0, 1.0),
             overloaded: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> pd.DataFrame:
    """Fixed, tracking and scheduled; ``attainment`` and ``overloaded`` minutes in that order."""
    return pd.DataFrame([
        {"policy": "fixed at peak (N+1)", "instances_peak": 10,
         "instance_hours_month": 7_300.0, "servers_usd": 1_241.0},
        {"policy": "target tracking", "instances_peak": 12,
         "instance_hours_month": tracking_hours, "servers_usd": tracking_usd},
        {"policy": "scheduled + tracking", "instances_peak": 12,
         "instance_hours_month": 6_000.0, "servers_usd": 1_020.0},
    ]).assign(slo_attainment=list(attainment), overloaded_minutes=list(overloaded))


def test_the_policy_verdict_when_tracking_saves():
    said = v.policy_verdict(policies(5_475.0, 930.75), "target tracking")
    assert said == ("target tracking runs 25% fewer instance-hours than the fixed fleet of "
                    "10 instances, $310 a month less; the design runs target tracking")


def test_the_policy_verdict_when_tracking_saves_nothing():
    said = v.policy_verdict(policies(7_300.0, 1_241.0), "fixed at peak (N+1)")
    assert said == ("autoscaling saves nothing here: target tracking runs as many "
                    "instance-hours as the fixed fleet of 10 instances; the design runs "
                    "fixed at peak (N+1)")


def test_the_policy_verdict_when_tracking_costs_more():
    said = v.policy_verdict(policies(8_030.0, 1_365.1), "fixed at peak (N+1)")
    assert said == ("target tracking runs 10% more instance-hours than the fixed fleet of "
                    "10 instances: its utilisation target holds more spare than the peak "
                    "sizing needs; the design runs fixed at peak (N+1)")
    assert "fewer" not in said and "less" not in said


def test_the_policy_verdict_names_the_policies_that_miss_the_target():
    """Tracking misses the SLO in 2% of the day, scheduled in 10%; the chosen fixed fleet,
    at 50%, is never named."""
    table = policies(5_475.0, 930.75, attainment=(0.5, 0.98, 0.9),
                     overloaded=(720.0, 28.8, 144.0))
    said = v.policy_verdict(table, "fixed at peak (N+1)", 0.999)
    assert said == ("target tracking runs 25% fewer instance-hours than the fixed fleet of "
                    "10 instances, $310 a month less; the design runs fixed at peak (N+1) "
                    "(target tracking misses the SLO in 29 minutes (2% of the day); "
                    "scheduled + tracking misses the SLO in 144 minutes (10% of "
                    "the day))")
    one = v.policy_verdict(policies(5_475.0, 930.75, attainment=(1.0, 0.999, 0.9995),
                                    overloaded=(0.0, 0.0, 0.0)), "fixed at peak (N+1)",
                           0.9995)  # missed minutes need not be overloaded ones
    assert one.endswith("the design runs fixed at peak (N+1) (target tracking misses the SLO "
                        "in 1 minute (under 1% of the day))")  # scheduled, at it: met
    no_target = v.policy_verdict(table, "fixed at peak (N+1)")  # a target of 0: none missed
    assert no_target == v.policy_verdict(table, "fixed at peak (N+1)", 0.0)
    assert no_target.endswith("the design runs fixed at peak (N+1)")
    met = v.policy_verdict(table, "fixed at peak (N+1)", 0.5)  # all at or above 50%
    assert met == no_target


def test_the_cache_verdict_not_considered():
    assert v.cache_verdict({False: {"total_usd": 1_000.0}}, 0.0) == (
        "no design with a cache is considered at a hit rate of 0%")
    assert v.cache_verdict({True: {"total_usd": 800.0}}, 0.6) == (
        "no design with a cache is considered at a hit rate of 60%")  # nothing to compare
    assert v.cache_verdict({}, 0.2) == (
        "no design with a cache is considered at a hit rate of 20%")
    why = "the other stages' p95s leave the server no share of the 3 ms SLO"
    assert v.cache_verdict({False: {"total_usd": 1_000.0}}, 0.2, why_not=why) == (
        "no design with a cache is considered at a hit rate of 20%: the other stages' p95s "
        "leave the server no share of the 3 ms SLO")
    assert v.cache_verdict({False: {"total_usd": 1_000.0}}, 0.2, why_not="") == (
        v.cache_verdict({False: {"total_usd": 1_000.0}}, 0.2))


def test_the_cache_verdict_when_it_pays():
    said = v.cache_verdict({True: {"total_usd": 800.0}, False: {"total_usd": 1_000.0}}, 0.6)
    assert said == ("the cache pays for itself at a hit rate of 60%: the cheapest design with "
                    "it costs $800 a month, without it $1,000")
    assert v.cache_verdict({True: {"total_usd": 999.4}, False: {"total_usd": 1_000.0}},
                           0.6).startswith("the cache pays")  # more than half a dollar


def test_the_cache_verdict_when_it_does_not_pay():
    said = v.cache_verdict({True: {"total_usd": 1_200.0}, False: {"total_usd": 1_000.0}}, 0.2)
    assert said == ("the cache does not pay for itself at a hit rate of 20%: the cheapest "
                    "design without it costs $1,000 a month, with it $1,200")


@pytest.mark.parametrize("with_cache", [1_000.2, 999.8, 1_000.0, 1_000.5, 999.5])
def test_the_cache_verdict_within_half_a_dollar_is_no_measurable_difference(with_cache):
    said = v.cache_verdict({True: {"total_usd": with_cache}, False: {"total_usd": 1_000.0}},
                           0.2)
    assert said == ("at a hit rate of 20% the cache makes no measurable difference: $1,000 a "
                    "month with it, $1,000 without, less than a dollar apart")


@pytest.mark.parametrize(("with_cache", "measurable"), [
    (1_030.0, False), (970.0, False), (1_030.1, True), (969.9, True)])
def test_the_cache_verdict_within_the_measurements_spread(with_cache, measurable):
    by_cache = {True: {"total_usd": with_cache}, False: {"total_usd": 1_000.0}}
    said = v.cache_verdict(by_cache, 0.2, noise_usd=30.0)
    if measurable:
        assert said.startswith("the cache does not pay" if with_cache > 1_000.0 else
                               "the cache pays for itself")
    else:
        assert said == (f"at a hit rate of 20% the cache makes no measurable difference: "
                        f"{v.usd(with_cache)} a month with it, $1,000 without, within the $30 "
                        f"the measurement's spread moves the total")
    assert v.cache_verdict({True: {"total_usd": 1_000.4}, False: {"total_usd": 1_000.0}}, 0.2,
                           noise_usd=0.1).startswith("at a hit rate of 20% the cache makes no "
                                                     "measurable difference")  # 50¢ at least


def row(batch: int, total_usd: float, p95_ms: float) -> dict:
    return {"batch": batch, "total_usd": total_usd, "p95_ms": p95_ms}


def test_the_batching_verdict_when_batching_pays():
    by_batch = {1: row(1, 1_000.0, 2.57), 32: row(32, 900.0, 30.0), 8: row(8, 800.0, 9.9)}
    assert v.batching_verdict(by_batch) == (
        "batching pays: batch 8 costs $800 against $1,000 without")
    assert v.batching_verdict({1: row(1, 1_000.0, 2.57), 8: row(8, 999.4, 9.9)}).startswith(
        "batching pays")  # more than half a dollar cheaper


def test_the_batching_verdict_when_batching_buys_nothing():
    by_batch = {1: row(1, 1_000.0, 2.57), 8: row(8, 1_000.6, 9.9), 32: row(32, 1_200.0, 30.0)}
    assert v.batching_verdict(by_batch) == (
        "batching buys nothing here: without it the design costs $1,000 at a p95 of 2.57 ms; "
        "the cheapest batched one costs $1,001 at 9.9 ms")
    dearer = v.batching_verdict({1: row(1, 1_000.0, 2.57), 8: row(8, 1_500.0, 9.9)})
    assert dearer.startswith("batching buys nothing") and "$1,500 at 9.9 ms" in dearer


@pytest.mark.parametrize("batched", [999.6, 1_000.0, 1_000.4])
def test_the_batching_verdict_within_half_a_dollar_is_no_measurable_difference(batched):
    by_batch = {1: row(1, 1_000.0, 2.57), 8: row(8, batched, 9.9), 32: row(32, 1_100.0, 30.0)}
    assert v.batching_verdict(by_batch) == (
        "batching makes no measurable difference: batch 8 costs $1,000 a month, no batching "
        "$1,000, less than a dollar apart")


def test_the_batching_verdict_within_the_measurements_spread():
    by_batch = {1: row(1, 1_000.0, 2.57), 8: row(8, 960.0, 9.9), 32: row(32, 980.0, 30.0)}
    assert v.batching_verdict(by_batch, noise_usd=40.0) == (
        "batching makes no measurable difference: batch 8 costs $960 a month, no batching "
        "$1,000, within the $40 the measurement's spread moves the total")
    assert v.batching_verdict(by_batch, noise_usd=39.9) == (
        "batching pays: batch 8 costs $960 against $1,000 without")
    dearer = {1: row(1, 1_000.0, 2.57), 8: row(8, 1_040.0, 9.9)}
    assert v.batching_verdict(dearer, noise_usd=40.0).startswith(
        "batching makes no measurable difference: batch 8 costs $1,040")
    assert v.batching_verdict(dearer, noise_usd=39.9).startswith("batching buys nothing")
    assert v.batching_verdict({1: row(1, 1_000.0, 2.57)}, "why", noise_usd=40.0) == (
        "no batched option is feasible: why")  # nothing batched to compare


def test_the_batching_verdict_when_no_batch_is_feasible_or_considered():
    single = {1: row(1, 1_000.0, 2.57)}
    why = "a batch of 8 takes 5.6 ms to fill at the peak; the batcher waits 5 ms"
    assert v.batching_verdict(single, why) == f"no batched option is feasible: {why}"
    assert v.batching_verdict(single) == "no batched option is feasible"
    assert v.batching_verdict(single, "") == "no batched option is feasible"
    assert v.batching_verdict({8: row(8, 800.0, 9.9)}) == "every feasible design batches"
    assert v.batching_verdict({}) == "no option is feasible"  # an empty frontier


NONE_FEASIBLE = ("no instance type has a feasible fleet within the server's latency budget "
                 "(its share of the SLO")


def kind_row(kind: str, name: str, total_usd: float) -> dict:
    return {"kind": kind, "instance_type": name, "total_usd": total_usd}


def test_the_hardware_verdict_with_one_kind_and_several():
    assert v.hardware_verdict({}) == (
        f"{NONE_FEASIBLE})")
    cpu = kind_row("cpu", "c6i.xlarge", 628.47)
    assert v.hardware_verdict({"cpu": cpu}) == "the cheapest is cpu: c6i.xlarge at $628 a month"
    by_kind = {"gpu": kind_row("gpu", "g4dn.xlarge", 1_148.23), "cpu": cpu,
               "accelerator": kind_row("accelerator", "inf2.xlarge", 1_487.24)}
    assert v.hardware_verdict(by_kind) == (
        "the cheapest is cpu: c6i.xlarge at $628 a month, against $1,148 on the best gpu "
        "(g4dn.xlarge), $1,487 on the best accelerator (inf2.xlarge)")
    gpu_first = {"cpu": kind_row("cpu", "c6i.xlarge", 2_000.0),
                 "gpu": kind_row("gpu", "g6.xlarge", 1_500.0)}
    assert v.hardware_verdict(gpu_first) == (
        "the cheapest is gpu: g6.xlarge at $1,500 a month, against $2,000 on the best cpu "
        "(c6i.xlarge)")
    assert v.hardware_verdict(gpu_first, {}) == v.hardware_verdict(gpu_first, None)


def test_the_hardware_verdict_names_the_kinds_left_out():
    why = "inf2.xlarge: a batch of 8 takes 10.5 ms to fill at the peak; the batcher waits 5 ms"
    gpu = {"gpu": kind_row("gpu", "g6.xlarge", 5_908.62)}
    assert v.hardware_verdict(gpu, {"accelerator": why}) == (
        "the cheapest is gpu: g6.xlarge at $5,909 a month; no accelerator option is feasible "
        "(inf2.xlarge: a batch of 8 takes 10.5 ms to fill at the peak; the batcher waits "
        "5 ms)")
    cpu_gpu = {"cpu": kind_row("cpu", "c6i.xlarge", 628.47),
               "gpu": kind_row("gpu", "g4dn.xlarge", 1_148.23)}
    assert v.hardware_verdict(cpu_gpu, {"accelerator": "x: too slow", "cpu": "ignored"}) == (
        "the cheapest is cpu: c6i.xlarge at $628 a month, against $1,148 on the best gpu "
        "(g4dn.xlarge); no accelerator option is feasible (x: too slow)")  # cpu is feasible
    assert v.hardware_verdict({}, {"cpu": "c: a", "gpu": "g: b"}) == (
        f"{NONE_FEASIBLE}); no cpu option is feasible (c: a); no gpu option is feasible "
        f"(g: b)")


def test_the_percentiles_verdict_with_and_without_a_gap():
    assert v.percentiles_verdict(3.0, 2.5) == (
        "the stage p95s add up to 3 ms, but the simulated end-to-end p95 is 2.5 ms: the sum "
        "overstates it by 0.5 ms (17% of the sum)")
    not_pessimistic = ("the stage p95s add up to 2 ms and the simulated end-to-end p95 is "
                       "2.5 ms: here the sum is not pessimistic")
    assert v.percentiles_verdict(2.0, 2.5) == not_pessimistic
    assert v.percentiles_verdict(2.5, 2.5).endswith("here the sum is not pessimistic")


def check(simulated_ms: float, model_ms: float, budget_ms: float) -> dict:
    return {"simulated_p95_ms": simulated_ms, "model_p95_ms": model_ms,
            "server_budget_ms": budget_ms}


def test_the_model_check_verdict_within_and_not():
    assert v.model_check_verdict(check(2.0, 2.5, 3.0)) == (
        "one core's share of the peak minute, simulated request by request, gives a server "
        "p95 of 2 ms, below the pooled model's 2.5 ms, both within the server's budget of "
        "3 ms")
    above = v.model_check_verdict(check(4.0, 2.5, 3.0))
    assert "4 ms, above the pooled model's 2.5 ms, not both within" in above
    assert "not both within" in v.model_check_verdict(check(2.0, 3.5, 3.0))  # model over
    assert v.model_check_verdict(check(2.5, 2.5, 3.0)) == (
        "one core's share of the peak minute, simulated request by request, gives a server "
        "p95 of 2.5 ms, equal to the pooled model's 2.5 ms, both within the server's budget "
        "of 3 ms")
    assert "equal to the pooled model's 3 ms, both within" in v.model_check_verdict(
        check(3.0, 3.0, 3.0))  # at the budget is within


def test_the_model_check_verdict_for_a_published_model():
    assert v.model_check_verdict(None) == (
        "the request-level check needs a measured service curve; a published model's figures "
        "give none, so it is skipped")


def test_the_overhead_verdict():
    assert v.overhead_verdict(0.05, 0.01) == (
        "The real server spends 50 µs of CPU per request, of which the model call at batch 1 "
        "is 10 µs (20%): the rest is HTTP, JSON and the server.")


FOUND = Fix((Change("serve the int8 model", {"model": "mlp_int8"}),), 4_500.0,
            "serve the int8 model: $4,500 a month")
NONE_FITS = Fix((), 5_200.0, "no change considered fits: the cheapest changed design that "
                             "meets the SLO costs $5,200 a month, $200 over the budget")
NONE_MEETS = Fix((), 6_000.0, "no change considered fits: no changed design meets the SLO")


def test_the_fix_verdict_and_text_in_each_case():
    assert v.fix_verdict(None) == "" and v.fix_text(None) == ""
    assert v.fix_verdict(FOUND) == FOUND.text and v.fix_verdict(NONE_FITS) == NONE_FITS.text
    assert v.fix_text(FOUND) == ("The cheapest change that brings it within budget: serve the "
                                 "int8 model: $4,500 a month.")
    assert v.fix_text(NONE_FITS) == ("No change considered fits: the cheapest changed design "
                                     "that meets the SLO costs $5,200 a month, $200 over the "
                                     "budget.")
    assert v.fix_verdict(NONE_MEETS) == NONE_MEETS.text
    assert v.fix_text(NONE_MEETS) == ("No change considered fits: no changed design meets the "
                                      "SLO.")


def fake_design(*, batch: int = 1, cache: bool = True, instances_peak: int = 1,
                instances_average: float = 1.5, meets_slo: bool = True,
                p95_ms_at_peak: float = 2.57, slo_attainment_day: float = 0.9995,
                feasible: bool = True, server_budget_ms: float = 97.5):
    instance = SimpleNamespace(name="c6i.xlarge")
    option = SimpleNamespace(instance=instance, model="mlp_fp32", batch=batch)
    chosen = SimpleNamespace(
        fleet=SimpleNamespace(option=option, instances=3), cache=cache,
        policy="target tracking", instance_hours_month=1_095.0, compute_usd=600.0,
        egress_gb=2_463.75, egress_usd=212.7, server_budget_ms=server_budget_ms)
    return SimpleNamespace(
        chosen=chosen, instances_peak=instances_peak, instances_average=instances_average,
        total_usd=812.7, within_budget=True, budget_headroom_usd=4_187.3,
        p95_ms_at_peak=p95_ms_at_peak, slo_attainment_day=slo_attainment_day,
        meets_slo=meets_slo, question=SimpleNamespace(p95_slo_ms=100.0),
        evaluation=SimpleNamespace(configurations=(chosen,) if feasible else ()))


def test_design_results_are_the_contract_and_a_few_extras():
    results = v.design_results(fake_design())
    assert CONTRACT <= set(results)
    assert set(results) - CONTRACT == {"meets_slo", "batch", "uses_cache",
                                       "instances_at_peak_sizing"}
    assert "cheapest_fix" not in results  # glued by the notebook from the fix
    assert results == {
        "instance_type": "c6i.xlarge", "instances_peak": 1, "instances_average": 1.5,
        "instance_hours_month": 1_095.0, "compute_monthly_usd": 600.0,
        "egress_gb_month": 2_463.75, "egress_monthly_usd": 212.7,
        "total_monthly_usd": 812.7, "within_budget": True, "budget_headroom_usd": 4_187.3,
        "p95_ms_at_peak": 2.57, "slo_attainment_day": 0.9995,
        "autoscaling_policy": "target tracking", "meets_slo": True, "batch": 1,
        "uses_cache": True, "instances_at_peak_sizing": 3}


def test_the_design_text_with_and_without_batching_and_cache():
    assert v.design_text(fake_design()) == (
        "c6i.xlarge serving mlp_fp32 without batching, with a result cache, under target "
        "tracking: 1 instance at the peak, 1.5 on average")
    assert v.design_text(fake_design(batch=8, cache=False, instances_peak=12,
                                     instances_average=7.25)) == (
        "c6i.xlarge serving mlp_fp32 in batches of 8, without a cache, under target "
        "tracking: 12 instances at the peak, 7.25 on average")


THE_DESIGN = ("c6i.xlarge serving mlp_fp32 without batching, with a result cache, under target "
              "tracking: 1 instance at the peak, 1.5 on average")


def test_the_design_verdict_names_a_design_that_meets_the_slo_as_the_cheapest():
    assert v.design_text(fake_design()) == THE_DESIGN
    assert v.design_verdict(fake_design()) == (
        f"the cheapest design that meets the p95 of 100 ms is {THE_DESIGN}")


def test_the_design_verdict_calls_a_fallback_the_closest_miss_or_a_stand_in():
    missed_at_peak = fake_design(meets_slo=False, p95_ms_at_peak=141.234,
                                 slo_attainment_day=0.0)
    assert v.design_verdict(missed_at_peak) == (
        f"no configuration meets the p95 of 100 ms; the closest, which misses it with 141 ms "
        f"end to end at the peak, is {THE_DESIGN}")
    missed_over_day = fake_design(meets_slo=False, p95_ms_at_peak=92.14,
                                  slo_attainment_day=0.8)
    assert v.design_verdict(missed_over_day) == (
        f"no configuration meets the p95 of 100 ms over the day; the closest, 92.1 ms end to "
        f"end at the peak but with the server within its share in 80% of the day's minutes, "
        f"is {THE_DESIGN}")
    # Nothing feasible: the fallback is a stand-in, whatever its modelled p95 and minutes.
    stand_in = (f"no configuration meets the p95 of 100 ms: none is feasible at the peak; the "
                f"stand-in, the fastest option sized to the utilisation target plus one "
                f"instance, is {THE_DESIGN}")
    for p95_ms, attainment in ((35.7, 1.0), (141.0, 0.0)):
        assert v.design_verdict(fake_design(
            meets_slo=False, p95_ms_at_peak=p95_ms, slo_attainment_day=attainment,
            feasible=False)) == stand_in


def test_the_winner_verdict_names_a_winner_only_when_the_design_meets_the_slo():
    assert v.winner_verdict(fake_design()) == (
        "the winner is c6i.xlarge: its design is the cheapest that keeps the server within "
        "its share of the SLO and meets the p95 of 100 ms")
    assert v.winner_verdict(fake_design(meets_slo=False, feasible=False,
                                        server_budget_ms=37.5471)) == (
        "there is no winner: no instance type has a feasible fleet within the server's latency "
        "budget (its share of the SLO, 37.5 ms) at the peak, so the design is only a stand-in")
    assert v.winner_verdict(fake_design(meets_slo=False, feasible=False,
                                        server_budget_ms=-1.45)) == (
        "there is no winner: no instance type has a feasible fleet within the server's latency "
        "budget (its share of the SLO) at the peak, so the design is only a stand-in")
    assert v.winner_verdict(fake_design(meets_slo=False, p95_ms_at_peak=120.0)) == (
        "there is no winner: no configuration meets the p95 of 100 ms, so the design is only "
        "the closest miss")


def bill(**usd: float):
    return SimpleNamespace(component_usd=lambda component: usd.get(component, 0.0),
                           total_usd=sum(usd.values()))


def configuration(**usd: float):
    the_bill = bill(**usd)
    compute = sum(value for name, value in usd.items() if name != "egress")
    return SimpleNamespace(bill=the_bill, compute_usd=compute, egress_usd=usd.get("egress", 0.0),
                           egress_gb=2_463.75)


def test_the_bill_verdict_names_each_line_it_has():
    full = configuration(servers=600.0, cache=98.4, load_balancer=45.2, egress=212.7)
    assert v.bill_verdict(full) == (
        "compute $744 a month (servers $600, cache $98.4, load balancer $45.2) and egress "
        "$213 (2,464 GB)")
    no_cache = configuration(servers=600.0, load_balancer=45.2, egress=0.0)
    assert v.bill_verdict(no_cache) == (
        "compute $645 a month (servers $600, load balancer $45.2) and egress $0 (2,464 GB)")


def test_the_cost_split_verdict_either_way():
    servers_lead = configuration(servers=600.0, cache=100.0, load_balancer=50.0, egress=250.0)
    assert v.cost_split_verdict(servers_lead) == (
        "at these parameters the model servers outweigh the load balancer and egress: "
        "servers 60% of the total, balancer and egress 30%")
    rest_lead = configuration(servers=200.0, load_balancer=100.0, egress=700.0)
    assert v.cost_split_verdict(rest_lead) == (
        "at these parameters the load balancer and egress outweigh the model servers: "
        "servers 20% of the total, balancer and egress 80%")


def noise_design(instances_peak: int, total_usd: float, *, name: str = "c6i.xlarge",
                 batch: int = 1, cache: bool = False, policy: str = "target tracking"):
    option = SimpleNamespace(instance=SimpleNamespace(name=name), batch=batch)
    return SimpleNamespace(chosen=SimpleNamespace(fleet=SimpleNamespace(option=option),
                                                  cache=cache, policy=policy),
                           instances_peak=instances_peak, total_usd=total_usd)


SERVER = SimpleNamespace(cpu_low_ms=0.19, cpu_high_ms=0.21)


def test_the_noise_verdict_when_the_interval_changes_nothing():
    design = noise_design(3, 812.7)
    ends = {"estimate": noise_design(3, 812.7), "low": noise_design(3, 800.0)}
    assert v.noise_verdict(design, ends, SERVER) == (
        "the design is sized at the high end of the server's 95% interval (190–210 µs per "
        "request); at the estimate and at the low end it is the same fleet")
    one = noise_design(1, 99.4, batch=8)
    assert v.noise_verdict(one, {"estimate": one, "low": one}, SERVER) == (
        "the design is sized at the high end of the server's 95% interval (190–210 µs per "
        "request); at the estimate and at the low end it is the same fleet")


def test_the_noise_verdict_when_the_interval_changes_the_design():
    design = noise_design(4, 1_020.0, name="c7i.xlarge", batch=8)
    ends = {"estimate": noise_design(3, 812.7), "low": noise_design(3, 812.7)}
    assert v.noise_verdict(design, ends, SERVER) == (
        "the design is sized at the high end of the server's 95% interval (190–210 µs per "
        "request): 4 instances of c7i.xlarge, batch 8 at the peak ($1,020 a month); at the "
        "estimate it would be 3 instances of c6i.xlarge at the peak ($813 a month), at the "
        "low end 3 instances of c6i.xlarge at the peak ($813 a month)")
    low_only = {"estimate": design, "low": noise_design(1, 99.4)}
    assert v.noise_verdict(design, low_only, SERVER).endswith(
        "at the estimate it would be 4 instances of c7i.xlarge, batch 8 at the peak ($1,020 a "
        "month), at the low end 1 instance of c6i.xlarge at the peak ($99.4 a month)")
    base = noise_design(3, 812.7)
    for other in (noise_design(3, 812.7, cache=True), noise_design(3, 812.7, policy="fixed"),
                  noise_design(2, 812.7), noise_design(3, 812.7, batch=8),
                  noise_design(3, 812.7, name="c7i.xlarge")):
        said = v.noise_verdict(base, {"estimate": base, "low": other}, SERVER)
        assert "it is the same fleet" not in said and "at the estimate it would be" in said


def test_the_noise_in_dollars_is_the_spread_of_the_totals():
    design = noise_design(4, 1_020.0)
    ends = {"estimate": noise_design(3, 812.7), "low": noise_design(3, 800.0)}
    assert v.noise_usd(design, ends) == pytest.approx(220.0)
    assert v.noise_usd(design, {"estimate": design, "low": design}) == 0.0
    dearer_low = {"estimate": noise_design(3, 900.0), "low": noise_design(5, 1_100.0)}
    assert v.noise_usd(design, dearer_low) == pytest.approx(200.0)  # max − min, any order
    assert v.noise_usd(design, {}) == 0.0


def test_the_bottleneck_text_for_a_measured_and_a_published_model():
    assert v.bottleneck_text("mlp_fp32", 0.25, 0.01) == (
        "for this classifier, per-request work (HTTP parsing, JSON), not the model, sets how "
        "many requests a core serves: the model is 4% of a request's server CPU")
    assert v.bottleneck_text("mlp_int8", 0.2, 0.0005).endswith(
        "the model is under 1% of a request's server CPU")
    assert v.bottleneck_text("bert_large", 0.25, 0.01) == (
        "for bert_large, the published accelerator throughput sets each instance's rate; the "
        "host's per-request work only caps it")


def timed(batch_ms: float, low_ms: float, high_ms: float):
    """A profile's model call at batches 1 and 8 (only batch 1 is read)."""
    return SimpleNamespace(batch_sizes=(8, 1), batch_ms=(0.5, batch_ms),
                           batch_low_ms=(0.4, low_ms), batch_high_ms=(0.6, high_ms))


def test_the_optimization_text_faster_slower_and_no_difference():
    fp32 = timed(0.01, 0.009, 0.011)  # 10 µs a call, 4% of a 250 µs request
    tail = ("at batch 1; with the model at 4% of a request's server CPU, optimising the model "
            "moves the fleet little, and the serving stack is where a saving is")
    assert v.optimization_text({"fp32": fp32, "int8": timed(0.006, 0.005, 0.0085)}, 0.25) == (
        f"on this CPU int8 is faster than fp32 (6 µs a call against 10) {tail}")
    assert v.optimization_text({"fp32": fp32, "int8": timed(0.014, 0.0115, 0.016)}, 0.25) == (
        f"on this CPU int8 is slower than fp32 (14 µs a call against 10) {tail}")
    assert v.optimization_text({"fp32": fp32, "int8": timed(0.008, 0.007, 0.009)}, 0.25) == (
        f"on this CPU int8 and fp32 show no measurable difference (8 and 10 µs a call) {tail}")
    touching = timed(0.012, 0.011, 0.013)  # its low end at fp32's high end: overlapping
    assert "no measurable difference" in v.optimization_text(
        {"fp32": fp32, "int8": touching}, 0.25)


def tracked_fleet(server_rps: float, needed: int, throughput_rps: float):
    return SimpleNamespace(server_rps=server_rps, needed=needed,
                           option=SimpleNamespace(throughput_rps=throughput_rps))


def test_the_tracking_target_text_as_set_and_from_the_peak_sizing():
    fleet = tracked_fleet(8_000.0, 2, 5_000.0)  # 8,000 / (2 × 5,000) = 80% at the peak
    assert v.tracking_target_text(0.6, fleet) == "60%, as set"
    assert v.tracking_target_text(0.0, fleet) == (
        "80%, the utilisation the peak sizing runs its needed instances at, so that at the "
        "peak every policy orders the same fleet")
    assert v.tracking_target_text(0.0, tracked_fleet(10.0, 2, 5_000.0)).startswith(
        "1%, the utilisation")  # 0.1% is clipped to the lowest target, 1%


@pytest.mark.parametrize("name", sorted(v.__all__))
def test_every_verdict_is_tested_here(name):
    assert f"v.{name}(" in open(__file__, encoding="utf-8").read()


def test_the_slo_verdict_when_the_other_stages_alone_exceed_the_slo():
    said = v.slo_verdict(False, 2.59, 1.0, 0.0, -1.45)
    assert said == ("misses the p95 of 1 ms, as any configuration must: the other stages' p95s "
                    "alone add up to 2.45 ms; it reaches 2.59 ms end to end at the peak")


def test_the_hardware_verdict_says_a_shared_reason_once():
    why = "the other stages' p95s leave the server no share of the 1 ms SLO"
    left = {"cpu": f"c6i.xlarge: {why}", "gpu": f"g4dn.xlarge: {why}"}
    assert v.hardware_verdict({}, left) == (
        f"{NONE_FEASIBLE}): {why}")
    apart = {"cpu": "c6i.xlarge: one reason", "gpu": "g4dn.xlarge: another"}
    assert v.hardware_verdict({}, apart) == (
        f"{NONE_FEASIBLE}); no cpu option is feasible (c6i.xlarge: one reason); no gpu option "
        f"is feasible (g4dn.xlarge: another)")


def test_the_hardware_verdict_gives_the_latency_budget_in_three_digits():
    why = "inf2.xlarge: a batch of 8 takes 11.7 ms to fill at the peak; the batcher waits 5 ms"
    assert v.hardware_verdict({}, {"accelerator": why}, server_budget_ms=37.5471) == (
        "no instance type has a feasible fleet within the server's latency budget (its share of "
        "the SLO, 37.5 ms): a batch of 8 takes 11.7 ms to fill at the peak; the batcher waits "
        "5 ms")
    # No budget left: no milliseconds to give (the reasons say why).
    assert v.hardware_verdict({}, server_budget_ms=-1.45) == v.hardware_verdict({})
    cpu = {"cpu": kind_row("cpu", "c6i.xlarge", 628.47)}  # a feasible kind: no budget said
    assert v.hardware_verdict(cpu, server_budget_ms=37.5) == v.hardware_verdict(cpu)


def test_the_model_check_verdict_when_no_budget_is_left():
    check = {"simulated_p95_ms": 0.45, "model_p95_ms": 0.31, "server_budget_ms": -1.45}
    assert v.model_check_verdict(check) == (
        "one core's share of the peak minute, simulated request by request, gives a server "
        "p95 of 0.45 ms, above the pooled model's 0.31 ms, and the other stages leave the "
        "server no budget at all")
