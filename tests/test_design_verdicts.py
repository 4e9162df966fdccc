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
        "no configuration in the catalog meets the p95 of 1 ms; the closest reaches 2.57 ms "
        "end to end at the peak and keeps the server within its share in 0% of the day's "
        "minutes")
    assert v.slo_verdict(False, 12.5, 10.0, 0.25, server_budget_ms=7.125) == (
        "no configuration in the catalog meets the p95 of 10 ms within the server's share of "
        "it (7.12 ms once the other stages' p95s are set aside); the closest reaches 12.5 ms "
        "end to end at the peak and keeps the server within its share in 25% of the day's "
        "minutes")
    # A met SLO needs no budget to explain it: the budget changes nothing.
    assert v.slo_verdict(True, 2.572, 100.0, 1.0, server_budget_ms=97.0) == v.slo_verdict(
        True, 2.572, 100.0, 1.0)


def policies(tracking_hours: float, tracking_usd: float) -> pd.DataFrame:
    return pd.DataFrame([
        {"policy": "fixed at peak (N+1)", "instances_peak": 10,
         "instance_hours_month": 7_300.0, "servers_usd": 1_241.0},
        {"policy": "target tracking", "instances_peak": 12,
         "instance_hours_month": tracking_hours, "servers_usd": tracking_usd},
        {"policy": "scheduled + tracking", "instances_peak": 12,
         "instance_hours_month": 6_000.0, "servers_usd": 1_020.0},
    ])


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


def test_the_cache_verdict_not_considered():
    assert v.cache_verdict({False: {"total_usd": 1_000.0}}, 0.0) == (
        "no cache is considered at a hit rate of 0%")
    assert v.cache_verdict({True: {"total_usd": 800.0}}, 0.6) == (
        "no cache is considered at a hit rate of 60%")  # nothing to compare it with
    assert v.cache_verdict({}, 0.2) == "no cache is considered at a hit rate of 20%"


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


@pytest.mark.parametrize("with_cache", [1_000.2, 999.8, 1_000.0])
def test_the_cache_verdict_within_half_a_dollar_is_neither(with_cache):
    said = v.cache_verdict({True: {"total_usd": with_cache}, False: {"total_usd": 1_000.0}},
                           0.2)
    assert said == ("the cache neither pays nor costs at a hit rate of 20%: both designs cost "
                    "$1,000 a month")


def row(batch: int, total_usd: float, p95_ms: float) -> dict:
    return {"batch": batch, "total_usd": total_usd, "p95_ms": p95_ms}


def test_the_batching_verdict_when_batching_pays():
    by_batch = {1: row(1, 1_000.0, 2.57), 32: row(32, 900.0, 30.0), 8: row(8, 800.0, 9.9)}
    assert v.batching_verdict(by_batch) == (
        "batching pays: batch 8 costs $800 against $1,000 without")
    assert v.batching_verdict({1: row(1, 1_000.0, 2.57), 8: row(8, 999.4, 9.9)}).startswith(
        "batching pays")  # more than half a dollar cheaper


def test_the_batching_verdict_when_batching_buys_nothing():
    by_batch = {1: row(1, 1_000.0, 2.57), 8: row(8, 999.6, 9.9), 32: row(32, 999.6, 30.0)}
    assert v.batching_verdict(by_batch) == (
        "batching buys nothing here: without it the design costs $1,000 at a p95 of 2.57 ms; "
        "the cheapest batched one costs $1,000 at 9.9 ms")
    dearer = v.batching_verdict({1: row(1, 1_000.0, 2.57), 8: row(8, 1_500.0, 9.9)})
    assert dearer.startswith("batching buys nothing") and "$1,500 at 9.9 ms" in dearer


def test_the_batching_verdict_when_no_batch_is_feasible_or_considered():
    single = {1: row(1, 1_000.0, 2.57)}
    why = "a batch of 8 takes 5.6 ms to fill at the peak; the batcher waits 5 ms"
    assert v.batching_verdict(single, why) == f"no batched option is feasible: {why}"
    assert v.batching_verdict(single) == "no batched option is feasible"
    assert v.batching_verdict(single, "") == "no batched option is feasible"
    assert v.batching_verdict({8: row(8, 800.0, 9.9)}) == "every feasible design batches"
    assert v.batching_verdict({}) == "no option is feasible"  # an empty frontier


def kind_row(kind: str, name: str, total_usd: float) -> dict:
    return {"kind": kind, "instance_type": name, "total_usd": total_usd}


def test_the_hardware_verdict_with_one_kind_and_several():
    assert v.hardware_verdict({}) == "no instance type meets the server's budget"
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


def test_the_percentiles_verdict_with_and_without_a_gap():
    assert v.percentiles_verdict(3.0, 2.5) == (
        "the stage p95s add up to 3 ms, but the simulated end-to-end p95 is 2.5 ms: 0.5 ms "
        "(17%) of the budget a sum of percentiles would waste")
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
        "p95 of 2 ms, below the model's 2.5 ms and both within the server's budget of 3 ms")
    above = v.model_check_verdict(check(4.0, 2.5, 3.0))
    assert "4 ms, above the model's 2.5 ms and not both within" in above
    assert "not both within" in v.model_check_verdict(check(2.0, 3.5, 3.0))  # model over
    assert v.model_check_verdict(check(2.5, 2.5, 3.0)) == (
        "one core's share of the peak minute, simulated request by request, gives a server "
        "p95 of 2.5 ms, equal to the model's 2.5 ms and both within the server's budget of "
        "3 ms")
    assert "equal to the model's 3 ms and both within" in v.model_check_verdict(
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
                instances_average: float = 1.5):
    instance = SimpleNamespace(name="c6i.xlarge")
    option = SimpleNamespace(instance=instance, model="mlp_fp32", batch=batch)
    chosen = SimpleNamespace(
        fleet=SimpleNamespace(option=option, instances=3), cache=cache,
        policy="target tracking", instance_hours_month=1_095.0, compute_usd=600.0,
        egress_gb=2_463.75, egress_usd=212.7)
    return SimpleNamespace(
        chosen=chosen, instances_peak=instances_peak, instances_average=instances_average,
        total_usd=812.7, within_budget=True, budget_headroom_usd=4_187.3,
        p95_ms_at_peak=2.57, slo_attainment_day=0.9995, meets_slo=True)


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
    assert v.noise_verdict(design, {"low": noise_design(3, 812.7),
                                    "high": noise_design(3, 812.7)}, SERVER) == (
        "across the server's 95% interval (190–210 µs per request) the design is the same: "
        "3 instances of c6i.xlarge at the peak ($813 a month)")
    one = noise_design(1, 99.4, batch=8)
    assert v.noise_verdict(one, {"low": one, "high": one}, SERVER).endswith(
        "the design is the same: 1 instance of c6i.xlarge, batch 8 at the peak ($99.4 a month)")


def test_the_noise_verdict_when_the_interval_changes_the_design():
    design = noise_design(3, 812.7)
    ends = {"low": design, "high": noise_design(4, 1_020.0, name="c7i.xlarge", batch=8)}
    assert v.noise_verdict(design, ends, SERVER) == (
        "the server's 95% interval (190–210 µs per request) changes the design: 3 instances "
        "of c6i.xlarge at the peak ($813 a month) at its low end, 4 instances of c7i.xlarge, "
        "batch 8 at the peak ($1,020 a month) at its high end")
    dearer = {"low": design, "high": noise_design(3, 830.0)}  # same fleet, another bill
    assert "the design is the same" in v.noise_verdict(design, dearer, SERVER)
    cached = {"low": design, "high": noise_design(3, 812.7, cache=True)}
    assert "changes the design" in v.noise_verdict(design, cached, SERVER)


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
