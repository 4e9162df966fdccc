"""Chapter 5 end to end: train and measure the classifier, design the service, find a fix.

:func:`run_design` is what the chapter's first computing cell calls: it trains the book's
classifier (:mod:`perfcost.serving.classifier`), measures its serving cost per core on this
machine (:mod:`perfcost.serving.batch_timing`, :mod:`perfcost.serving.request_path`) and the
real HTTP server's CPU per request on loopback
(:func:`perfcost.serving.http_loopback.measure_server_cost`), which the design sizes with,
measures the response
formats (:mod:`perfcost.response_formats`), designs the service (:func:`design_service`) and,
when the design is over budget, the cheapest fix (:mod:`perfcost.design.fixes`).

Used by chapter 5 (design).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from perfcost.design.fixes import Fix, candidate_changes, cheapest_fix
from perfcost.design.question import DesignQuestion
from perfcost.design.service import Design, design_service
from perfcost.response_formats import format_sizes, wire_bytes
from perfcost.serving.batch_timing import time_batches
from perfcost.serving.classifier import Classifier, train_classifier
from perfcost.serving.http_loopback import ServerCost, measure_server_cost
from perfcost.serving.request_path import (
    RequestPath,
    ServingProfile,
    measure_request_path,
    serving_profile,
)
from perfcost.validation import ParameterError, instance_of

__all__ = ["DesignRun", "binary_wire_ratio", "run_design", "served_profiles"]

MIN_OVERHEAD_MS = 1e-6  # the server's CPU per request less the model's, kept above 0
MEASURE_BUDGET_S = 4.0  # seconds of timing per measurement (the chapter runs in under 60 s)


@dataclass(frozen=True)
class DesignRun:
    """Everything the chapter shows: the model, its measured cost, the design and the fix."""

    question: DesignQuestion
    classifier: Classifier  # the trained classifier and its ONNX files
    paths: dict[str, RequestPath]  # "fp32", "int8": the in-process path, stage by stage
    measured: dict[str, ServingProfile]  # "fp32", "int8": in-process path, per core
    server: ServerCost  # the loopback HTTP server's CPU per request (fp32)
    profiles: dict[str, ServingProfile]  # what the design sizes with: the server's overhead at
    # the high end of its 95% interval (the pessimistic end: the measurement is noisy)
    formats: pd.DataFrame  # bytes per response in each format (perfcost.response_formats)
    design: Design  # the chosen design and every configuration considered
    fix: Fix | None  # the cheapest fix when over budget, else None
    designs_at_ends: dict[str, Design]  # "estimate", "low": the design at a lower server cost

    def redesign(self, question: DesignQuestion) -> Design:
        """Design ``question`` with this run's measurements."""
        return design_service(question, self.profiles)


def binary_wire_ratio(formats: pd.DataFrame) -> float:
    """Bytes on the wire of one binary response over one JSON response (headers included)."""
    wire = wire_bytes(formats)
    return wire["binary"] / wire["json"]


def served_profiles(measured: dict[str, ServingProfile], server: ServerCost, *,
                    at: str = "estimate") -> dict[str, ServingProfile]:
    """The profiles with the real server's per-request overhead: its CPU per request less the
    fp32 model's time at batch 1, the same for every variant (the HTTP and JSON work does not
    depend on the model). ``at`` is "estimate", or "low" or "high" for the ends of the
    server's 95% interval."""
    cpu_ms = {"estimate": server.cpu_ms_per_request, "low": server.cpu_low_ms,
              "high": server.cpu_high_ms}
    if at not in cpu_ms:
        raise ParameterError("at", "one of estimate, low, high", at)
    model_ms = measured["fp32"].model_ms(1)
    overhead = max(cpu_ms[at] - model_ms, MIN_OVERHEAD_MS)
    return {name: replace(profile, overhead_ms=overhead,
                          overhead_low_ms=max(server.cpu_low_ms - model_ms, MIN_OVERHEAD_MS),
                          overhead_high_ms=max(server.cpu_high_ms - model_ms, MIN_OVERHEAD_MS))
            for name, profile in measured.items()}


def run_design(question: DesignQuestion, workdir: Path | str) -> DesignRun:
    """Run chapter 5 for ``question``, writing the ONNX files under ``workdir``."""
    question = instance_of("question", question, DesignQuestion, "a DesignQuestion")
    classifier = train_classifier(Path(workdir), seed=question.seed)
    rows = classifier.test_features
    timings = time_batches(classifier.onnx_paths, rows.astype("float32"),
                           budget_s=MEASURE_BUDGET_S / 2, seed=question.seed)
    paths = measure_request_path(classifier.onnx_paths, rows, budget_s=MEASURE_BUDGET_S / 2,
                                 seed=question.seed)
    measured = {name: serving_profile(paths[name], timings[name]) for name in timings}
    server = measure_server_cost(classifier.onnx_paths["fp32"], rows)
    profiles = served_profiles(measured, server, at="high")
    formats = format_sizes(seed=question.seed)
    design = design_service(question, profiles)
    fix = None
    if not design.within_budget:
        changes = candidate_changes(question, binary_wire_ratio(formats))
        fix = cheapest_fix(question, design.total_usd, changes,
                           lambda changed: design_service(changed, profiles))
    ends = {at: design_service(question, served_profiles(measured, server, at=at))
            for at in ("estimate", "low")}
    return DesignRun(question, classifier, paths, measured, server, profiles, formats, design,
                     fix, ends)
