"""The cheapest change that brings an over-budget design within its budget, computed.

The design already searches every instance type, batch size, cache choice and autoscaling
policy, so a fix must change something the question fixed. The changes tried
(:func:`candidate_changes`), each re-designed from scratch:

* serve the int8 model (for the measured fp32 classifier);
* raise target tracking's utilisation target (0.7, 0.8, 0.9, above the question's, when the
  question sets one), or the peak sizing's ``max_utilization`` (the same steps);
* allow the batcher a longer wait (twice the question's, at least 5 ms);
* send responses in a compact binary encoding (``response_kb`` × the measured ratio);
* start instances faster (the model baked into the image: a quarter of the start-up delay).

A fix must keep the SLO (the re-designed service meets it) and bring the total within the
budget; the cheapest such total wins. When no single change fits, pairs of changes are tried;
when none fits, the answer says so with the cheapest total found.

Used by chapter 5 (design).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

from perfcost.design.question import DesignQuestion
from perfcost.validation import in_range

__all__ = ["Change", "Fix", "candidate_changes", "cheapest_fix"]

TARGETS = (0.7, 0.8, 0.9)  # utilisation targets a team might move to


@dataclass(frozen=True)
class Change:
    """One change to the question: what it is, in words, and the fields it sets."""

    description: str  # e.g. "serve the int8 model"
    fields: dict  # DesignQuestion field → new value


@dataclass(frozen=True)
class Fix:
    """The outcome of trying changes: the fix found (if any) and what it costs."""

    changes: tuple[Change, ...]  # empty: no change fits
    total_usd: float  # the changed design's total (or the cheapest total found)
    text: str  # the sentence the chapter shows

    @property
    def found(self) -> bool:
        """Whether a change brings the design within budget."""
        return bool(self.changes)


def candidate_changes(question: DesignQuestion, binary_response_ratio: float) -> list[Change]:
    """The single changes worth trying for ``question`` (module docstring).

    ``binary_response_ratio`` is the compact encoding's bytes over JSON's for one response,
    in (0, 1] (:mod:`perfcost.response_formats`).
    """
    ratio = in_range("binary_response_ratio", binary_response_ratio, 1e-6, 1.0)
    changes = []
    if question.model == "mlp_fp32":
        changes.append(Change("serve the int8 model", {"model": "mlp_int8"}))
    if question.utilization_target > 0:
        changes += [Change(f"raise the utilisation target to {t:.0%}",
                           {"utilization_target": t})
                    for t in TARGETS if t > question.utilization_target]
    changes += [Change(f"let instances run to {t:.0%} busy at the peak", {"max_utilization": t})
                for t in TARGETS if t > question.max_utilization]
    wait_ms = max(5.0, 2 * question.max_wait_ms)
    if wait_ms <= 1_000.0:
        changes.append(Change(f"let the batcher wait up to {wait_ms:g} ms",
                              {"max_wait_ms": wait_ms}))
    if ratio < 1.0 and question.response_kb > 0:
        kb = question.response_kb * ratio
        changes.append(Change(f"send compact binary responses ({kb:.3g} kB, not "
                              f"{question.response_kb:.3g})", {"response_kb": kb}))
    if question.startup_delay_s > 0:
        delay = question.startup_delay_s / 4
        changes.append(Change(f"start instances in {delay:.0f} s (model in the image)",
                              {"startup_delay_s": delay}))
    return changes


def _merged(changes: tuple[Change, ...]) -> dict:
    merged = {}
    for change in changes:
        merged.update(change.fields)
    return merged


def cheapest_fix(question: DesignQuestion, current_total_usd: float, changes: list[Change],
                 redesign: Callable[[DesignQuestion], object]) -> Fix:
    """The cheapest single change (then pair) whose re-design meets the SLO within budget.

    ``redesign(question)`` returns a design with ``total_usd`` and ``meets_slo``
    (:func:`perfcost.design.design_service` with the measured profiles bound);
    ``current_total_usd`` is the unchanged design's total.
    """
    in_range("current_total_usd", current_total_usd, 0.0, 1e12)
    best = None  # (total, combination): the cheapest changed design that meets the SLO
    for size in (1, 2):
        fitting = []
        for combination in itertools.combinations(changes, size):
            if size == 2 and len({k for c in combination for k in c.fields}) < 2:
                continue  # two values of one field
            design = redesign(question.changed(**_merged(combination)))
            if not design.meets_slo:
                continue
            if best is None or design.total_usd < best[0]:
                best = (design.total_usd, combination)
            if design.total_usd <= question.budget_usd_month:
                fitting.append((design.total_usd, combination))
        if fitting:
            total, combination = min(fitting, key=lambda pair: pair[0])
            return Fix(combination, total, f"{_words(combination)}: ${total:,.0f} a month")
    if best is None:
        return Fix((), current_total_usd,
                   "no change considered fits: no changed design meets the SLO")
    return Fix((), best[0], _nothing_fits(question, *best))


def _words(combination: tuple[Change, ...]) -> str:
    return " and ".join(c.description for c in combination)


def _nothing_fits(question: DesignQuestion, total_usd: float,
                  combination: tuple[Change, ...]) -> str:
    over = total_usd - question.budget_usd_month
    return (f"no change considered fits: the cheapest, to {_words(combination)}, costs "
            f"${total_usd:,.0f} a month, ${over:,.0f} over the budget")
