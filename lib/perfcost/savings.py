"""A cost-reduction planner: which levers to pull, in what order, to cut a bill by a target.

The levers are :class:`perfcost.levers.Lever` objects (changes to the service, each with its
effort, SLO-risk and irreversibility ratings). A lever's saving is never asserted: the planner
prices the service before and after the change with :func:`perfcost.cost.monthly_bill`.

How plans are ranked. A plan's risk score is the sum of its levers' risk scores.
:func:`plan_savings` evaluates every combination of the levers that save money at all, keeps
those that reach the target, and picks the lowest risk score, then the larger saving, then the
fewer levers. Levers are applied in a fixed order (:data:`perfcost.levers.LEVER_ORDER`), so each
plan line's saving is the difference between the bill before and after that lever, given the
levers above it. Every line of a plan saves something: a combination in which a lever saves
nothing after the others is not a plan, and neither is one that pulls both levers of an
:data:`~perfcost.levers.EXCLUSIVE` pair.

Commitments come last. A commitment is the one lever that cannot be undone within its term, so
it applies to the fleet left after every reversible lever, and a combination that commits to a
fleet which another available fleet lever (:data:`perfcost.levers.FLEET_LEVERS`) would still
shrink is never chosen: it would pay for instances that lever makes unnecessary.
:func:`commitment_strand` prices that mistake (commit first, optimise later) over the
commitment's term. The discount modelled is a one-year Standard Reserved Instance's, which is
bound to its instance family: a right-sizing that changes the instance type strands the whole
commitment.

Used by chapter 2 (cost breakdown).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import pandas as pd

from perfcost.cost import InferenceService, check_catalog, check_service, fleet_for, monthly_bill
from perfcost.levers import FLEET_LEVERS, LEVER_ORDER, Lever, compatible
from perfcost.line_items import Bill
from perfcost.pricing import Catalog
from perfcost.units import HOURS_PER_MONTH
from perfcost.validation import ParameterError, fraction, instance_of, integer_in_range

__all__ = ["NOTHING_STRANDED", "Plan", "PlanStep", "Strand", "alone_savings",
           "commitment_strand", "plan_savings", "plan_table", "planned_service", "reserve",
           "waterfall_rows"]

SAVES_NOTHING_USD = 1e-9  # a line that saves less than this saves nothing


@dataclass(frozen=True)
class PlanStep:
    """One line of a plan: the lever and the bill's total before and after it."""

    lever: Lever
    before_usd: float
    after_usd: float

    @property
    def saving_usd(self) -> float:
        """before − after."""
        return self.before_usd - self.after_usd


@dataclass(frozen=True)
class Plan:
    """The chosen levers, line by line, with the bills before and after."""

    baseline: Bill
    final: Bill
    steps: tuple[PlanStep, ...]
    savings_target: float
    ineffective: tuple[Lever, ...]  # levers that save nothing at these inputs

    @property
    def saving_usd(self) -> float:
        """Baseline total − final total."""
        return self.baseline.total_usd - self.final.total_usd

    @property
    def savings_fraction(self) -> float:
        """The saving as a fraction of the baseline total (0 if that rounds to $0)."""
        total = self.baseline.total_usd
        return self.saving_usd / total if total > 0 else 0.0

    @property
    def reaches_target(self) -> bool:
        """Whether the saving reaches the target (to a hundredth of a cent)."""
        return self.saving_usd >= self.savings_target * self.baseline.total_usd - 1e-4

    @property
    def risk_score(self) -> int:
        """The sum of the levers' risk scores."""
        return sum(step.lever.risk_score for step in self.steps)

    @property
    def lever_keys(self) -> tuple[str, ...]:
        """The keys of the plan's levers, in the plan's order."""
        return tuple(step.lever.key for step in self.steps)

    @property
    def steps_saving_usd(self) -> float:
        """The sum of the lines' savings (equal to ``saving_usd``: the lines add up)."""
        return math.fsum(step.saving_usd for step in self.steps)

    @property
    def least_step_saving_usd(self) -> float:
        """The smallest line's saving (0 for a plan of no lever)."""
        return min((step.saving_usd for step in self.steps), default=0.0)


def _ordered(levers) -> list[Lever]:
    return sorted(levers, key=lambda lever: LEVER_ORDER.index(lever.key))


def _through(service: InferenceService, levers) -> InferenceService:
    """The service with every lever in ``levers`` pulled (each sets its own fields)."""
    for lever in _ordered(levers):
        service = lever.apply(service)
    return service


def _committed_usd_per_hour(service: InferenceService) -> float:
    """What the service's commitment pays an hour (0 without one)."""
    fleet = fleet_for(service)
    hours = fleet.committed_hours / service.hours_per_month
    return hours * service.instance_hourly_usd * (1 - service.commitment_discount)


def _commits_too_early(service: InferenceService, combination, useful) -> bool:
    """True if ``combination`` commits to a fleet that a fleet lever left out would shrink."""
    if "commitment" not in {lever.key for lever in combination}:
        return False
    committed = _committed_usd_per_hour(_through(service, combination))
    return any(_committed_usd_per_hour(_through(service, [*combination, lever]))
               < committed - SAVES_NOTHING_USD
               for lever in useful if lever.key in FLEET_LEVERS and lever not in combination
               and compatible([*combination, lever]))


def _saving_alone(service: InferenceService, catalog: Catalog, levers, baseline: Bill):
    """The levers that cut ``baseline`` when pulled alone, with the bill's total after each."""
    alone = [(lever, monthly_bill(lever.apply(service), catalog).total_usd) for lever in levers]
    return [(lever, total) for lever, total in alone if total < baseline.total_usd]


def _apply(service: InferenceService, catalog: Catalog, levers, baseline: Bill):
    steps, bill = [], baseline
    for lever in _ordered(levers):
        service = lever.apply(service)
        after = monthly_bill(service, catalog)
        steps.append(PlanStep(lever, bill.total_usd, after.total_usd))
        bill = after
    return tuple(steps), bill


def plan_savings(
    service: InferenceService, catalog: Catalog, levers: list[Lever], savings_target: float
) -> Plan:
    r"""Pick the least risky combination of levers that cuts the bill by ``savings_target``.

    Levers that save nothing alone are set aside (reported in ``ineffective``). Combinations
    that commit before a fleet lever they leave out, that pull both levers of an
    :data:`~perfcost.levers.EXCLUSIVE` pair, or in which a lever saves nothing after the
    others, are not plans. Among the rest that reach the target, the lowest risk score wins,
    then the larger saving, then fewer levers. If none reaches it, the plan is the combination
    with the largest saving, and ``reaches_target`` is False. At most one lever of each key (so
    at most 2^8 combinations are priced).

    A combination S of the useful levers reaches the target t when

    .. math::  B_0 - B(S) \ge t\, B_0 - 10^{-4},

    with :math:`B_0` the baseline bill's total and :math:`B(S)` the total with every lever of S
    pulled (:func:`perfcost.cost.monthly_bill`), in USD a month; its risk score is
    :math:`\sum_{l \in S} \text{risk}(l)`.

    Parameters
    ----------
    service : perfcost.cost.InferenceService
        The service as the question states it (the baseline).
    catalog : perfcost.pricing.Catalog
        The prices.
    levers : list of perfcost.levers.Lever
        The levers available, at most one of each key.
    savings_target : float
        The fraction t of the baseline bill to cut, in [0, 1).

    Returns
    -------
    Plan
        The chosen levers line by line, in :data:`perfcost.levers.LEVER_ORDER`, with the
        bills before and after and the levers set aside as ineffective.

    Raises
    ------
    perfcost.validation.ParameterError
        If ``service`` or ``catalog`` is of the wrong type, ``savings_target`` is outside
        [0, 1), or ``levers`` is not a list of Lever with distinct keys.
    """
    service, catalog = check_service(service), check_catalog(catalog)
    savings_target = fraction("savings_target", savings_target, high_open=True)
    levers = _levers(levers)
    baseline = monthly_bill(service, catalog)
    useful = [lever for lever, _ in _saving_alone(service, catalog, levers, baseline)]
    ineffective = tuple(lever for lever in levers if lever not in useful)
    plans = []
    for size in range(len(useful) + 1):
        for combination in itertools.combinations(useful, size):
            if not compatible(combination) or _commits_too_early(service, combination, useful):
                continue
            steps, final = _apply(service, catalog, combination, baseline)
            if all(step.saving_usd > SAVES_NOTHING_USD for step in steps):
                plans.append(Plan(baseline, final, steps, savings_target, ineffective))
    reaching = [plan for plan in plans if plan.reaches_target]
    if reaching:
        return min(reaching, key=lambda p: (p.risk_score, -p.saving_usd, len(p.steps)))
    return max(plans, key=lambda p: (p.saving_usd, -p.risk_score))


def _levers(levers: object) -> list[Lever]:
    """``levers`` as a list: Levers, at most one of each key."""
    if (not isinstance(levers, list | tuple)
            or not all(isinstance(lever, Lever) for lever in levers)):
        raise ParameterError("levers", "a list of Lever", levers)
    keys = [lever.key for lever in levers]
    if len(set(keys)) != len(keys):
        raise ParameterError("levers", "at most one lever of each key", keys)
    return list(levers)


def alone_savings(service: InferenceService, catalog: Catalog, levers: list[Lever]
                  ) -> pd.DataFrame:
    """Each lever that saves something pulled alone, from the same baseline, least risky first
    (ties in the order given).

    Columns: ``key``, ``lever`` (its name), ``risk_score``, ``saving_usd`` and ``saving_share``
    (1 − bill after / baseline bill).
    """
    service, catalog = check_service(service), check_catalog(catalog)
    baseline = monthly_bill(service, catalog)
    rows = [{"key": lever.key, "lever": lever.name, "risk_score": lever.risk_score,
             "saving_usd": baseline.total_usd - total,
             "saving_share": 1 - total / baseline.total_usd}
            for lever, total in _saving_alone(service, catalog, _levers(levers), baseline)]
    rows.sort(key=lambda row: row["risk_score"])
    return pd.DataFrame(rows, columns=["key", "lever", "risk_score", "saving_usd",
                                       "saving_share"])


def reserve(plan: Plan, levers) -> list[Lever]:
    """The levers that save on their own, are not in ``plan`` and could join it (not
    :data:`~perfcost.levers.EXCLUSIVE` with its levers), least risky first."""
    steps = [step.lever for step in _plan(plan).steps]
    chosen = {lever.key for lever in steps}
    left = [lever for lever in levers
            if lever not in plan.ineffective and lever.key not in chosen
            and compatible([*steps, lever])]
    return sorted(left, key=lambda lever: (lever.risk_score, LEVER_ORDER.index(lever.key)))


def _plan(plan: object) -> Plan:
    return instance_of("plan", plan, Plan, "a Plan (from plan_savings)")


def plan_table(plan: Plan) -> pd.DataFrame:
    """The plan line by line: lever, ratings, bill before and after, saving in USD and share."""
    plan = _plan(plan)
    rows = [{"lever": s.lever.name, "effort": s.lever.effort, "slo_risk": s.lever.slo_risk,
             "irreversibility": s.lever.irreversibility, "before_usd": s.before_usd,
             "after_usd": s.after_usd, "saving_usd": s.saving_usd,
             "saving_share": s.saving_usd / plan.baseline.total_usd} for s in plan.steps]
    return pd.DataFrame(rows, columns=["lever", "effort", "slo_risk", "irreversibility",
                                       "before_usd", "after_usd", "saving_usd", "saving_share"])


def waterfall_rows(plan: Plan) -> pd.DataFrame:
    """Bars of a before/after waterfall: the baseline, one bar per lever, the plan's total.

    Columns: ``order``, ``label`` (the lever's key), ``detail``, ``start_usd``, ``end_usd``,
    ``kind`` ("total" or "saving").
    """
    plan = _plan(plan)
    rows = [{"label": "baseline", "detail": "the bill as the question states it",
             "start_usd": 0.0, "end_usd": plan.baseline.total_usd, "kind": "total"}]
    rows += [{"label": step.lever.key, "detail": step.lever.name, "start_usd": step.before_usd,
              "end_usd": step.after_usd, "kind": "saving"} for step in plan.steps]
    rows.append({"label": "with the plan", "detail": "every lever of the plan pulled",
                 "start_usd": 0.0, "end_usd": plan.final.total_usd, "kind": "total"})
    return pd.DataFrame(rows).rename_axis("order").reset_index()


@dataclass(frozen=True)
class Strand:
    r"""A commitment bought before the fleet levers: what it pays for that they make unnecessary.

    Hourly amounts are what the commitment pays an hour (committed instance-hours × on-demand
    price × (1 − discount)), before and after the levers. Over a term of T months of M hours,

    .. math::  \text{stranded} = \max(0,\ c_\text{committed} - c_\text{needed})\, M\, T,

    and the stranded fraction is :math:`\max(0, c_\text{committed} - c_\text{needed}) /
    c_\text{committed}` (0 without a commitment), with c in USD an hour.
    """

    committed_usd_per_hour: float  # committing to today's fleet
    needed_usd_per_hour: float  # committing after every fleet lever
    term_months: int
    hours_per_month: float
    levers: tuple[str, ...]  # the fleet levers that shrink it, each adding to what strands
    type_change: bool = False  # a lever moves to another instance type: everything strands

    @property
    def stranded_usd(self) -> float:
        """(committed − needed) an hour, over the whole term."""
        excess = max(0.0, self.committed_usd_per_hour - self.needed_usd_per_hour)
        return excess * self.hours_per_month * self.term_months

    @property
    def stranded_fraction(self) -> float:
        """The share of the commitment left paying for nothing (0 without a commitment)."""
        paid = self.committed_usd_per_hour
        return max(0.0, paid - self.needed_usd_per_hour) / paid if paid > 0 else 0.0


# What a plan without a commitment strands: nothing (glued in its place).
NOTHING_STRANDED = Strand(0.0, 0.0, 12, HOURS_PER_MONTH, ())


def commitment_strand(service: InferenceService, catalog: Catalog, levers: list[Lever],
                      term_months: int = 12) -> Strand | None:
    r"""Commit to today's fleet, then pull the fleet levers that save: what is stranded.

    None if ``levers`` has no commitment. ``term_months`` in [1, 36] (one or three years). When
    right-sizing saves, it is the lever pulled, and it strands the whole commitment (a Standard
    Reserved Instance is bound to its instance family). Otherwise every fleet lever that saves
    is pulled, and ``levers`` names only those that add to what strands.

    The commitment pays :math:`c = (H_\text{committed} / M)\, P\, (1 - d_c)` an hour, from
    the committed instance-hours of :func:`perfcost.cost.fleet_for`, the on-demand price P and
    the commitment discount :math:`d_c`: :math:`c_\text{committed}` for today's fleet,
    :math:`c_\text{needed}` after the fleet levers (0 when right-sizing changes the type).
    :attr:`Strand.stranded_usd` is their difference over the term.

    Parameters
    ----------
    service : perfcost.cost.InferenceService
        The service before any lever.
    catalog : perfcost.pricing.Catalog
        The prices.
    levers : list of perfcost.levers.Lever
        The levers available; the one of key "commitment" is the commitment.
    term_months : int, optional
        The commitment's term in months, a whole number in [1, 36]; default 12.

    Returns
    -------
    Strand or None
        What the early commitment strands; None if ``levers`` has no commitment.

    Raises
    ------
    perfcost.validation.ParameterError
        If ``term_months`` is outside [1, 36], or ``service`` or ``catalog`` is of the wrong
        type.
    """
    term_months = integer_in_range("term_months", term_months, 1, 36)
    commitment = next((lever for lever in levers if lever.key == "commitment"), None)
    if commitment is None:
        return None
    baseline = monthly_bill(service, catalog)
    fleet_levers = [lever for lever in levers if lever.key in FLEET_LEVERS]
    shrinking = [lever for lever, _ in _saving_alone(service, catalog, fleet_levers, baseline)]
    committed = _committed_usd_per_hour(commitment.apply(service))
    hours = service.hours_per_month
    if any(lever.key == "rightsize" for lever in shrinking):
        return Strand(committed, 0.0, term_months, hours, ("rightsize",), type_change=True)
    needed = _committed_usd_per_hour(_through(service, [*shrinking, commitment]))
    adding = [lever for lever in shrinking if _committed_usd_per_hour(_through(
        service, [*(other for other in shrinking if other is not lever), commitment]))
        > needed + SAVES_NOTHING_USD]
    return Strand(committed, needed, term_months, hours,
                  tuple(lever.key for lever in _ordered(adding)))


def planned_service(service: InferenceService, plan: Plan) -> InferenceService:
    """The service with every lever of ``plan`` pulled, in the plan's order."""
    return _through(check_service(service), [step.lever for step in _plan(plan).steps])
