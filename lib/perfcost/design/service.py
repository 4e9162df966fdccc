"""Chapter 5's answer in one call: the cheapest design that meets the SLO, and its bill.

:func:`design_service` builds the serving options of the question's model (measured on this
machine, or published), sizes and prices every configuration (:mod:`perfcost.design.evaluation`)
and returns a :class:`Design`: the chosen configuration, its end-to-end p95 at the peak and
its bill against the budget.

When no configuration meets the SLO, the design falls back to the configuration that comes
closest (the highest share of minutes meeting the SLO, then the cheapest) or, when no fleet of
any option meets the server's budget at the peak, to the option with the shortest service time
sized to the utilisation target (``max_utilization`` for a target of 0) plus one;
``meets_slo`` is then False and the chapter says so.

Used by chapter 5 (design).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from perfcost.design.day import policy_days
from perfcost.design.evaluation import (
    Configuration,
    Evaluation,
    configurations_for,
    evaluate_configurations,
)
from perfcost.design.latency import (
    end_to_end_p95_ms,
    request_stages,
    server_budget_ms,
    server_samples_ms,
)
from perfcost.design.options import ServingOption, measured_options, published_options
from perfcost.design.question import PUBLISHED_WORKLOAD, DesignQuestion
from perfcost.design.sizing import PeakFleet, server_p95_ms
from perfcost.fleet_latency import FLEET, FleetLatency
from perfcost.latency_budget import Stage
from perfcost.pricing import Catalog
from perfcost.validation import ParameterError, instance_of

__all__ = ["Design", "design_service", "peak_server_samples_ms", "peak_serving_instances",
           "serving_options"]

P95_SAMPLES = 100_000  # Monte Carlo draws of the end-to-end p95 at the peak


@dataclass(frozen=True)
class Design:
    """The chosen configuration, how it does at the peak, and its bill against the budget."""

    question: DesignQuestion
    evaluation: Evaluation  # every configuration considered
    chosen: Configuration  # the design (a fallback when meets_slo is False)
    meets_slo: bool  # meets the p95 at the peak and the attainment target over the day
    slo_attainment_day: float  # share of the chosen day's minutes meeting the SLO
    p95_ms_at_peak: float  # end-to-end, simulated, at the peak minute's serving fleet
    stages_by_cache: dict[bool, tuple[Stage, ...]]  # each request path's other stages
    policies: tuple[Configuration, ...] = ()  # the chosen fleet under every policy

    @property
    def stages(self) -> tuple[Stage, ...]:
        """The chosen request path's stages besides the model server."""
        return self.stages_by_cache[self.chosen.cache]

    @property
    def total_usd(self) -> float:
        """Compute plus egress, a month."""
        return self.chosen.total_usd

    @property
    def within_budget(self) -> bool:
        """Whether the total is at most the budget."""
        return self.total_usd <= self.question.budget_usd_month

    @property
    def budget_headroom_usd(self) -> float:
        """Budget − total (negative when over)."""
        return self.question.budget_usd_month - self.total_usd

    @property
    def instances_peak(self) -> int:
        """The most model-server instances ordered at any minute."""
        return self.chosen.day.peak_instances

    @property
    def instances_average(self) -> float:
        """The day's mean count of model-server instances ordered."""
        return self.chosen.day.average_instances


def serving_options(question: DesignQuestion, catalog: Catalog,
                    profiles: Mapping[str, object]) -> list[ServingOption]:
    """The options of the question's model: measured ("mlp_fp32", "mlp_int8") or published.

    ``profiles`` maps "fp32" and "int8" to measured serving profiles
    (:func:`perfcost.serving.measure_serving_profiles`); a published model uses the fp32
    profile's per-request overhead for the host's HTTP and JSON work.
    """
    if question.model in PUBLISHED_WORKLOAD:
        return published_options(catalog, PUBLISHED_WORKLOAD[question.model], question.model,
                                 _profile(profiles, "fp32").overhead_ms,
                                 max_wait_ms=question.max_wait_ms)
    variant = question.model.removeprefix("mlp_")
    return measured_options(catalog, question.model, _profile(profiles, variant),
                            max_wait_ms=question.max_wait_ms)


def _profile(profiles: Mapping[str, object], variant: str):
    if not isinstance(profiles, Mapping) or variant not in profiles:
        raise ParameterError("profiles", f"a dict of serving profiles with '{variant}'",
                             profiles)
    return profiles[variant]


def design_service(question: DesignQuestion, profiles: Mapping[str, object],
                   catalog: Catalog | None = None, *, model: FleetLatency = FLEET) -> Design:
    """Design the service of ``question``: the cheapest configuration meeting the SLO."""
    question = instance_of("question", question, DesignQuestion, "a DesignQuestion")
    catalog = question.catalog() if catalog is None else catalog
    options = serving_options(question, catalog, profiles)
    stages = {cache: request_stages(catalog, cache=cache) for cache in (False, True)}
    evaluation = evaluate_configurations(
        question, catalog, options, model=model,
        server_budget_ms=lambda cache: server_budget_ms(question.p95_slo_ms, stages[cache]))
    chosen, attainment, policies = _chosen(evaluation, question, catalog, options, stages,
                                           model)
    meets = evaluation.chosen is not None
    p95_ms = _p95_at_peak(chosen, stages[chosen.cache], question, model)
    return Design(question, evaluation, chosen, meets and p95_ms <= question.p95_slo_ms,
                  attainment, p95_ms, stages, policies)


def _chosen(evaluation: Evaluation, question, catalog, options, stages, model
            ) -> tuple[Configuration, float, tuple[Configuration, ...]]:
    """The chosen configuration, its attainment, and its fleet under every policy."""
    if evaluation.chosen is not None:
        chosen, attainment = evaluation.chosen, evaluation.chosen_attainment
    elif evaluation.configurations:
        scored = [(c.slo_attainment(model), -c.total_usd, i, c)
                  for i, c in enumerate(evaluation.configurations)]
        attainment, _, _, chosen = max(scored)
    else:
        fleet = _best_effort_fleet(options, question, model)
        budget = server_budget_ms(question.p95_slo_ms, stages[False])
        policies = configurations_for(question, catalog, [fleet], False, budget, model)
        return policies[0], policies[0].slo_attainment(model), tuple(policies)
    policies = tuple(c for c in evaluation.configurations
                     if c.fleet == chosen.fleet and c.cache == chosen.cache)
    return chosen, attainment, policies


def _best_effort_fleet(options, question: DesignQuestion, model: FleetLatency) -> PeakFleet:
    """The fastest option at the utilisation target (``max_utilization`` for a target of 0),
    plus one, at least two instances."""
    option: ServingOption = min(options, key=lambda o: (o.service_ms + o.max_wait_ms,
                                                        o.hourly_usd))
    per_instance = option.throughput_rps * (question.utilization_target
                                            or question.max_utilization)
    needed = math.floor(question.peak_qps / per_instance) + 1
    count = max(2, needed + 1)
    return PeakFleet(option, needed, count, question.peak_qps,
                     server_p95_ms(option, count, question.peak_qps, model))


def peak_serving_instances(configuration: Configuration) -> int:
    """The instances serving at the day's peak step under the configuration's policy (the
    peak sizing's count if that step is overloaded)."""
    day, fleet = configuration.day, configuration.fleet
    serving = int(day.serving_instances[int(day.demand_rps.argmax())])
    return serving if serving * fleet.option.throughput_rps > fleet.server_rps else \
        fleet.instances


def peak_server_samples_ms(configuration: Configuration, hit_rate: float, *, samples: int,
                           seed: int, model: FleetLatency = FLEET):
    """The server stage's latency at the peak, per request: the fleet model's response on the
    instances serving then (batch wait included), 0 for a cache hit."""
    fleet = configuration.fleet
    return server_samples_ms(model, fleet.option, peak_serving_instances(configuration),
                             fleet.server_rps, samples=samples, seed=seed,
                             hit_rate=hit_rate if configuration.cache else 0.0)


def _p95_at_peak(configuration: Configuration, stages, question, model) -> float:
    """The simulated end-to-end p95 at the peak step."""
    server = peak_server_samples_ms(configuration, question.cache_hit_rate,
                                    samples=P95_SAMPLES, seed=question.seed, model=model)
    return end_to_end_p95_ms(stages, server, samples=P95_SAMPLES, seed=question.seed)


def check_policy_days(fleet: PeakFleet, question: DesignQuestion):
    """The three policies' days of ``fleet`` under ``question`` (for the chapter's chart)."""
    return policy_days(fleet, peak_to_average=question.peak_to_average,
                       target_utilization=question.utilization_target,
                       startup_delay_s=question.startup_delay_s)
