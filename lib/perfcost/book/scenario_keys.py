"""The keys of a scenario file, and the chapter parameters each one feeds: the documented mapping.

A team writes its numbers once (``request_rate_rps: 800``); :data:`SCENARIO_KEYS` sends each key
to every chapter parameter that means the same thing, under that chapter's name for it
(``slo_p95_ms`` is capacity's ``latency_slo_ms``, batching's ``slo_p95_ms`` and design's
``p95_slo_ms``). A key keeps a chapter's own name where the chapters agree on one. One feed is
derived: design asks for its *peak* rate, ``peak_qps = request_rate_rps * peak_to_average``, with
the peak-to-average ratio design itself runs with (the scenario's, an override's, or design's
default). Parameters no key feeds keep their defaults unless a scenario's ``overrides`` section
sets them (:mod:`perfcost.book.scenario`).

Used by ``perfcost scenario``; :func:`keys_table` writes the mapping for the README.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = ["CHAPTERS_KEY", "OVERRIDES_KEY", "SCENARIO_KEYS", "Feed", "ScenarioKey", "keys_table"]

CHAPTERS_KEY = "chapters"  # optional list: run only these chapters (default: every one)
OVERRIDES_KEY = "overrides"  # optional mapping: chapter -> {parameter: value}, winning over keys


@dataclass(frozen=True)
class Feed:
    """One chapter parameter a scenario key sets: the key's value, or ``derive`` of the values.

    ``derive`` takes a mapping from the key and each name in ``uses`` to the value the chapter
    runs with, and returns the parameter's value; ``formula`` says the same in words.
    """

    chapter: str
    parameter: str
    derive: Callable[[Mapping[str, object]], object] | None = None
    formula: str = ""  # e.g. "request_rate_rps * peak_to_average"
    uses: tuple[str, ...] = ()  # other scenario keys ``derive`` reads


@dataclass(frozen=True)
class ScenarioKey:
    """A scenario key: what it means, with its unit, and the chapter parameters it feeds."""

    help: str
    feeds: tuple[Feed, ...]


def _peak_qps(values: Mapping[str, object]) -> float:
    """Design's peak rate: the average rate times the peak-to-average ratio."""
    return values["request_rate_rps"] * values["peak_to_average"]


def _key(help_text: str, *targets: str) -> ScenarioKey:
    """A key feeding each ``chapter.parameter`` of ``targets`` its own value."""
    return ScenarioKey(help_text, tuple(Feed(*target.split(".")) for target in targets))


PEAK_QPS = Feed("design", "peak_qps", _peak_qps, "request_rate_rps * peak_to_average",
                ("peak_to_average",))

SCENARIO_KEYS: dict[str, ScenarioKey] = {
    "request_rate_rps": ScenarioKey(
        "average request rate (requests/s)",
        (Feed("capacity", "request_rate_rps"), Feed("cost", "request_rate_rps"),
         Feed("compression", "request_rate_rps"), PEAK_QPS)),
    "peak_to_average": _key("busiest rate over the average rate (ratio)",
                            "capacity.peak_to_average", "cost.peak_to_average",
                            "design.peak_to_average"),
    "slo_p95_ms": _key("latency SLO: the p95 a request must meet (ms)",
                       "capacity.latency_slo_ms", "batching.slo_p95_ms", "design.p95_slo_ms"),
    "request_kb": _key("a request on the wire (kB)", "cost.request_kb", "design.request_kb"),
    "response_kb": _key("a response on the wire (kB)", "cost.response_kb",
                        "design.response_kb"),
    "cache_hit_rate": _key("share of requests a result cache answers (fraction)",
                           "cost.cache_hit_rate", "design.cache_hit_rate"),
    "utilization_target": _key("busiest share of time an instance runs at (fraction)",
                               "capacity.utilization_target", "cost.utilization_target",
                               "design.max_utilization"),
    "instance_hourly_usd": _key("the serving instance's on-demand price (USD/hour)",
                                "cost.instance_hourly_usd", "compression.instance_hourly_usd"),
    "instance_throughput_rps": _key("requests one serving instance handles (requests/s)",
                                    "cost.instance_throughput_rps",
                                    "compression.instance_throughput_rps"),
    "cpu_name": _key("CPU option: instance type (text)", "capacity.cpu_name"),
    "cpu_throughput_rps": _key("CPU option: throughput (requests/s)",
                               "capacity.cpu_throughput_rps"),
    "cpu_hourly_usd": _key("CPU option: price (USD/hour)", "capacity.cpu_hourly_usd"),
    "cpu_latency_ms": _key("CPU option: latency of one request (ms)", "capacity.cpu_latency_ms"),
    "gpu_name": _key("GPU option: instance type (text)", "capacity.gpu_name"),
    "gpu_throughput_rps": _key("GPU option: throughput (requests/s)",
                               "capacity.gpu_throughput_rps"),
    "gpu_hourly_usd": _key("GPU option: price (USD/hour)", "capacity.gpu_hourly_usd"),
    "gpu_latency_ms": _key("GPU option: latency of one request (ms)", "capacity.gpu_latency_ms"),
    "budget_usd_month": _key("monthly budget for compute and egress (USD/month)",
                             "design.budget_usd_month"),
    "price_catalog_path": _key('your price catalog (YAML path; "": the packaged one)',
                               "cost.price_catalog_path", "design.price_catalog_path"),
    "trace_path": _key('your arrival trace (CSV path; "": none)', "batching.trace_path"),
    "trace_peak_rps": _key("the trace's busiest second, replayed at (requests/s)",
                           "batching.trace_peak_rps"),
    "model_path": _key('your ONNX model (path; "": the chapter\'s MNIST model)',
                       "compression.model_path"),
    "input_shape": _key("one example's shape, without the batch dimension (list)",
                        "compression.input_shape"),
    "eu_egress_fraction": _key("share of responses sent to EU clients (fraction)",
                               "cost.eu_egress_fraction"),
    "model_storage_gb": _key("model artefacts in object storage (GB)", "cost.model_storage_gb"),
    "savings_target": _key("cut the bill by this share (fraction)", "cost.savings_target"),
    "hours_per_month": _key("hours in a billing month (hours)", "cost.hours_per_month"),
    "seed": _key("one seed for every random draw (whole number)", "batching.seed",
                 "compression.seed", "design.seed"),
}


def _feed_text(feed: Feed) -> str:
    target = f"{feed.chapter}.{feed.parameter}"
    return f"{target} = {feed.formula}" if feed.formula else target


def keys_table() -> str:
    """The mapping as a Markdown table: key, meaning with its unit, chapter parameters fed."""
    rows = ["| key | meaning (unit) | feeds (chapter.parameter) |", "| --- | --- | --- |"]
    for name, key in SCENARIO_KEYS.items():
        feeds = ", ".join(f"`{_feed_text(feed)}`" for feed in key.feeds)
        rows.append(f"| `{name}` | {key.help} | {feeds} |")
    return "\n".join(rows) + "\n"
