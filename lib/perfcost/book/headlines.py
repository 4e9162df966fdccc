"""Each chapter's headline results: the few glued numbers that answer its question.

A chapter glues dozens of results (every figure its prose cites); a scenario's summary page and a
sweep's chart show only the answer. :data:`HEADLINES` names it per chapter, most important first:
the first number is what a sweep draws against the swept parameter unless told otherwise.
``tests/test_headlines.py`` checks that every name is glued by the published chapter.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["HEADLINES", "headline_results", "plotted_result"]

HEADLINES: dict[str, tuple[str, ...]] = {
    "capacity": ("monthly_usd", "instance_count", "cheapest_instance", "p95_ms",
                 "queueing_monthly_usd"),
    "cost": ("total_monthly_usd", "instances", "plan_monthly_usd", "plan_savings_fraction",
             "plan_reaches_target"),
    "batching": ("slo_attainment_controller", "gpu_busy_s_controller", "slo_attainment_aimd",
                 "gpu_busy_s_aimd", "traces_meeting_target", "traces_total"),
    "compression": ("fp32_throughput_rps", "first_choice", "fp32_monthly_usd",
                    "fp32_accuracy"),
    "design": ("total_monthly_usd", "instances_peak", "p95_ms_at_peak", "within_budget",
               "meets_slo"),
}


def headline_results(chapter: str, results: Mapping[str, object]) -> dict[str, object]:
    """The headline results of ``chapter`` found in ``results`` (a results JSON), in
    :data:`HEADLINES` order; a chapter not listed there keeps every result."""
    names = HEADLINES.get(chapter)
    if names is None:
        return dict(results)
    return {name: results[name] for name in names if name in results}


def plotted_result(chapter: str) -> str | None:
    """The result a sweep of ``chapter`` draws by default: its first numeric headline."""
    names = HEADLINES.get(chapter, ())
    return names[0] if names else None
