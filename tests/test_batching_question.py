"""Chapter 3's question object, the package's layout, and the traces' checks by name."""

import importlib
import math
from pathlib import Path

import numpy as np
import pytest

from perfcost import batching
from perfcost.batching import BatchingQuestion
from perfcost.validation import ParameterError

REAL_TRACE = (Path(__file__).resolve().parents[2] / "shared" / "data" / "traces"
              / "mooncake_conversation.csv")

# The chapter's defaults (analyses/batching.ipynb's parameters cell), one instance's share.
CHAPTER = dict(slo_p95_ms=50.0, instances=2, base_ms=2.9, per_item_ms=0.77, jitter_cv=0.05,
               duration_s=300.0, steady_rps=700.0, diurnal_mean_rps=800.0,
               diurnal_peak_to_average=1.6, spike_multiplier=3.0, spike_start_s=120.0,
               spike_duration_s=60.0, bursty_rps=[400.0, 1600.0], bursty_sojourn_s=[20.0, 6.0],
               swing_peak_rps=1600.0, cold_start_rps=1000.0, drift_slowdown=1.3,
               trace_path="", trace_peak_rps=1000.0, seed=0)
TRACE_SETTINGS = ("duration_s", "steady_rps", "diurnal_mean_rps", "diurnal_peak_to_average",
                  "spike_multiplier", "spike_start_s", "spike_duration_s", "bursty_rps",
                  "bursty_sojourn_s", "swing_peak_rps", "cold_start_rps", "seed")


def test_the_question_gives_the_service_the_drift_and_the_spike():
    question = BatchingQuestion(**CHAPTER)
    assert question.service == batching.LinearServiceTime(2.9, 0.77, 0.05)
    assert question.bursty_rps == (400.0, 1600.0)  # a list becomes a tuple: frozen
    assert isinstance(question.instances, int) and isinstance(question.slo_p95_ms, float)
    drift = question.services["drift"]
    assert drift.at_s == 150.0 and drift.after.per_item_ms == pytest.approx(0.77 * 1.3)
    assert question.spike_end_s == 180.0 and question.spike_peak_rps == 2100.0
    run = question.run_arguments(workers=3)
    assert run == {"service": question.service, "slo_p95_ms": 50.0, "instances": 2,
                   "seed": 0, "services": question.services, "workers": 3, "client": None}


def test_the_question_traces_are_the_synthetic_traces_of_its_settings():
    question = BatchingQuestion(**{**CHAPTER, "duration_s": 60.0, "spike_start_s": 20.0,
                                   "spike_duration_s": 30.0})
    factories = question.trace_factories()
    expected = batching.synthetic_traces(**{name: getattr(question, name)
                                            for name in TRACE_SETTINGS})
    assert list(factories) == list(expected)
    for name, make in factories.items():
        assert np.array_equal(make(1.0), expected[name](1.0)), name


@pytest.mark.skipif(not REAL_TRACE.exists(), reason="the shared real trace is not here")
def test_a_trace_path_adds_the_real_trace_replayed_at_its_peak():
    question = BatchingQuestion(**{**CHAPTER, "trace_path": str(REAL_TRACE),
                                   "trace_peak_rps": 500.0, "seed": 4})
    real = question.trace_factories()["real"]
    assert real.rates == {"peak_rps": 500.0} and real.fixed["seed"] == 4


@pytest.mark.parametrize(("name", "value", "message"), [
    ("slo_p95_ms", 0.0, r"slo_p95_ms must be a number in \(0, 3.6e\+06\]"),
    ("slo_p95_ms", 3.0, "slo_p95_ms must be more than one request's service time"),
    ("instances", 0, r"instances must be a whole number in \[1, 10000\]"),
    ("base_ms", -1.0, "base_ms must be"),
    ("per_item_ms", 0.0, "per_item_ms must be"),
    ("jitter_cv", 11.0, "jitter_cv must be"),
    ("duration_s", math.inf, "duration_s must be"),
    ("steady_rps", 0.0, r"steady_rps must be a number in \(0, 1e\+06\]"),
    ("diurnal_mean_rps", "fast", "diurnal_mean_rps must be"),
    ("diurnal_peak_to_average", 2.5, r"diurnal_peak_to_average must be in \[1, 2\]"),
    ("spike_multiplier", 0.5, "spike_multiplier must be"),
    ("spike_start_s", -1.0, "spike_start_s must be"),
    ("spike_duration_s", 0.0, "spike_duration_s must be"),
    ("bursty_rps", [0.0, 0.0], "bursty_rps must be two rates, not both zero"),
    ("bursty_rps", [1.0], "bursty_rps must be two numbers"),
    ("bursty_sojourn_s", [1e-6, 1.0], "bursty_sojourn_s must be a number in"),
    ("swing_peak_rps", -5.0, "swing_peak_rps must be"),
    ("cold_start_rps", None, "cold_start_rps must be"),
    ("drift_slowdown", 11.0, r"drift_slowdown must be a number in \[1, 10\]"),
    ("trace_path", 7, "trace_path must be a file path"),
    ("trace_peak_rps", 2e6, "trace_peak_rps must be"),
    ("seed", -1, "seed must be a whole number"),
])
def test_the_question_refuses_a_bad_value_naming_the_notebook_parameter(name, value, message):
    with pytest.raises(ParameterError, match=f"^{message}"):
        BatchingQuestion(**{**CHAPTER, name: value})


@pytest.mark.parametrize(("name", "value"), [
    ("steady_rps", 0.0), ("diurnal_peak_to_average", 3.0), ("bursty_rps", (0.0, 0.0)),
    ("bursty_sojourn_s", (1.0,)), ("spike_start_s", -1.0), ("seed", 2**32)])
def test_synthetic_traces_refuse_a_bad_setting_by_its_own_name_before_any_trace(name, value):
    with pytest.raises(ParameterError, match=f"^{name} must be"):
        batching.synthetic_traces(**{name: value})


def test_the_package_re_exports_each_modules_names_and_the_old_paths_are_gone():
    for module in ("service", "policy", "simulator", "scorecard", "feedback", "aimd",
                   "naive_proportional", "slo_controller", "envelope", "traces",
                   "evaluation", "sustained_load", "question"):
        names = importlib.import_module(f"perfcost.batching.{module}").__all__
        assert all(getattr(batching, name) is not None for name in names), module
    assert batching.evaluate is batching.evaluation.evaluate
    assert not hasattr(batching, "evaluate_case")
    assert batching.EnvelopeBatchingController is batching.envelope.EnvelopeBatchingController
    for gone in ("perfcost.controllers", "perfcost.batching_eval",
                 "perfcost.batching.controllers"):
        with pytest.raises(ModuleNotFoundError):
            importlib.import_module(gone)


def test_timelines_stack_runs_with_their_names_up_to_a_time():
    arrivals = np.arange(1, 300) / 100.0  # 100/s for about 3 s
    service = batching.LinearServiceTime(0.0, 1.0)
    runs = {name: batching.simulate(arrivals, service=service,
                                    controller=batching.StaticBatching(wait, 4))
            for name, wait in (("short", 0.0), ("long", 20.0))}
    table = batching.timelines(runs)
    assert table["policy"].tolist() == ["short"] * len(runs["short"].timeline) \
        + ["long"] * len(runs["long"].timeline)
    assert set(runs["short"].timeline.columns) < set(table.columns)
    early = batching.timelines(runs, until_s=2.0)
    assert early["t_s"].max() == 2.0 and len(early) == 4  # control times 1 s and 2 s, twice
    with pytest.raises(ParameterError, match="results must be a non-empty dict"):
        batching.timelines({})
    with pytest.raises(ParameterError, match="until_s must be"):
        batching.timelines(runs, until_s=-1.0)


def test_the_question_refuses_a_spike_past_its_trace_and_an_unusable_trace(tmp_path):
    with pytest.raises(ParameterError, match=r"spike_start_s \+ spike_duration_s must be <= "
                                             r"duration_s = 300"):
        BatchingQuestion(**{**CHAPTER, "spike_start_s": 290.0})
    with pytest.raises(ParameterError, match="trace_path must be a trace that can be replayed"):
        BatchingQuestion(**{**CHAPTER, "trace_path": str(tmp_path / "missing.csv")})
    one = tmp_path / "one.csv"
    one.write_text("t_s\n1.0\n")
    with pytest.raises(ParameterError, match="at least two arrivals"):
        BatchingQuestion(**{**CHAPTER, "trace_path": str(one)})
