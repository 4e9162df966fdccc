"""Cost levers: the changes to a service that may cut its bill, each with its ratings.

Each :class:`Lever` is a change to the :class:`~perfcost.cost.InferenceService` (cache, move to
another instance type, raise per-instance throughput, autoscale, move a share to spot, commit to
the always-on floor, compress responses, archive old model versions), checked on construction by
each changed field's own rule (:data:`perfcost.cost.FIELD_CHECKS`). A lever's saving is never
asserted here: :mod:`perfcost.savings` prices the service before and after it.

Each lever carries three 1 (low) to 3 (high) ratings: the engineering effort, the risk it poses
to the latency SLO, and how hard it is to undo (a one-year commitment is 3); its risk score is
their sum. Levers apply in a fixed order (:data:`LEVER_ORDER`): volume first, then how the fleet
is shaped and bought, then transfer and storage.

Right-sizing and the throughput gain exclude each other (:data:`EXCLUSIVE`): the right-sizing
figures are already the vendors' optimised engines (TensorRT INT8, Neuron), and a gain measured
against an fp32 baseline (chapter 4) does not multiply onto them. The throughput lever applies
to the question's own instance only.

Used by chapter 2 (cost breakdown): :func:`standard_levers` builds its seven levers, and
:func:`perfcost.rightsizing.rightsize_lever` the eighth.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from perfcost.cost import FIELD_CHECKS, MIN_SPOT_FLEET, InferenceService, check_field, fleet_for
from perfcost.validation import ParameterError, integer_in_range

__all__ = ["EXCLUSIVE", "FLEET_LEVERS", "LEVER_ORDER", "Lever", "compatible",
           "ineffective_reason", "standard_levers"]

# Volume first (fewer requests, then the hardware for what is left, more per instance), then how
# the fleet is shaped and bought, then transfer and storage: a commitment covers the fleet that
# is left, not the one removed.
LEVER_ORDER = ("cache", "rightsize", "throughput", "autoscale", "spot", "commitment",
               "compression", "tiering")
# Reversible levers that change how many instances (or which) the fleet needs.
FLEET_LEVERS = ("cache", "rightsize", "throughput", "autoscale")
# Pairs of levers never pulled together.
EXCLUSIVE = (frozenset({"rightsize", "throughput"}),)


def compatible(levers) -> bool:
    """True unless ``levers`` holds both levers of an :data:`EXCLUSIVE` pair."""
    keys = {lever.key for lever in levers}
    return not any(pair <= keys for pair in EXCLUSIVE)


@dataclass(frozen=True)
class Lever:
    """A change to the service that may cut its bill, with its ratings (1 low to 3 high).

    Each change is checked on construction by the field's own rule (:data:`cost.FIELD_CHECKS`),
    so a bad value fails here, under the field's name, not when a plan is priced. ``name`` may
    show the changed values in braces, as :meth:`str.format` does
    (``"answer {cache_hit_rate:.0%} of requests"``): they are filled in once checked.
    """

    key: str  # one of LEVER_ORDER
    name: str
    changes: tuple[tuple[str, object], ...]  # (InferenceService field, new value) pairs
    effort: int
    slo_risk: int
    irreversibility: int

    def __post_init__(self):
        if not isinstance(self.key, str) or self.key not in LEVER_ORDER:
            raise ParameterError("key", f"one of {', '.join(LEVER_ORDER)}", self.key)
        if not isinstance(self.name, str) or not self.name:
            raise ParameterError("name", "a non-empty description", self.name)
        object.__setattr__(self, "changes", _changes(self.changes))
        object.__setattr__(self, "name", _described(self.name, self.changes))
        for rating in ("effort", "slo_risk", "irreversibility"):
            object.__setattr__(self, rating, integer_in_range(rating, getattr(self, rating), 1, 3))

    @property
    def risk_score(self) -> int:
        """effort + SLO risk + irreversibility."""
        return self.effort + self.slo_risk + self.irreversibility

    def apply(self, service: InferenceService) -> InferenceService:
        """The service with this lever pulled."""
        return replace(service, **dict(self.changes))


def _changes(changes: object) -> tuple[tuple[str, object], ...]:
    """The (field, value) pairs as a tuple, each value checked by its field's rule."""
    pairs = changes if isinstance(changes, tuple | list) else None
    if pairs is None or not all(isinstance(p, tuple | list) and len(p) == 2 for p in pairs):
        raise ParameterError("changes", "(InferenceService field, value) pairs", changes)
    for name, _ in pairs:
        if not isinstance(name, str) or name not in FIELD_CHECKS:
            raise ParameterError("changes", "InferenceService field names", name)
    return tuple((name, check_field(name, value)) for name, value in pairs)


def _described(name: str, changes: tuple[tuple[str, object], ...]) -> str:
    """``name`` with the values of ``changes`` it names in braces filled in."""
    try:
        return name.format(**dict(changes))
    except (KeyError, IndexError, ValueError) as error:
        raise ParameterError("name", "a description whose braces name its changes", name) \
            from error


def standard_levers(
    *,
    commitment_discount: float,
    spot_share: float,
    spot_discount: float,
    throughput_gain: float,
    cache_hit_rate: float,
    response_compression_ratio: float,
    archived_storage_fraction: float,
    archive_usd_per_gb_month: float,
) -> list[Lever]:
    """The seven levers of chapter 2, with the book's ratings, built from the reader's inputs.

    Ratings (effort, SLO risk, irreversibility): caching (2, 1, 1): a cache in front of the model;
    throughput (3, 2, 2): batching or a compressed model, work that can move latency;
    autoscaling (2, 2, 1): scale-up lag risks the SLO at the morning ramp; spot (2, 3, 1):
    interruptions remove capacity at short notice; commitment (1, 1, 3): a contract, locked for
    its term; compression (1, 1, 1): a server setting; tiering (1, 1, 1): a storage lifecycle rule.
    Every input is an InferenceService field, checked by that field's rule, under its own name,
    as its lever is built (:class:`Lever`).
    """
    return [
        Lever("cache", "answer {cache_hit_rate:.0%} of requests from a cache",
              (("cache_hit_rate", cache_hit_rate),), 2, 1, 1),
        Lever("throughput", "raise per-instance throughput {throughput_gain:.3g}x",
              (("throughput_gain", throughput_gain),), 3, 2, 2),
        Lever("autoscale", "autoscale to the diurnal curve", (("autoscale", True),), 2, 2, 1),
        Lever("spot", "run {spot_share:.0%} of instances on spot ({spot_discount:.0%} off)",
              (("spot_share", spot_share), ("spot_discount", spot_discount)), 2, 3, 1),
        Lever("commitment", "commit to the always-on floor ({commitment_discount:.0%} off)",
              (("committed", True), ("commitment_discount", commitment_discount)), 1, 1, 3),
        Lever("compression", "compress responses {response_compression_ratio:g}:1",
              (("response_compression_ratio", response_compression_ratio),), 1, 1, 1),
        Lever("tiering", "archive {archived_storage_fraction:.0%} of model storage",
              (("archived_storage_fraction", archived_storage_fraction),
               ("archive_usd_per_gb_month", archive_usd_per_gb_month)), 1, 1, 1),
    ]


def ineffective_reason(lever: Lever, service: InferenceService) -> str:
    """Why ``lever`` saves nothing for ``service``, in a few words (for the chapter's list)."""
    changes = dict(lever.changes)
    peak = fleet_for(service).peak_instances
    reasons = {
        "cache": changes.get("cache_hit_rate") == 0 and "a 0% hit rate answers nothing",
        "throughput": (changes.get("throughput_gain", 1) <= 1
                       and f"a gain of {changes.get('throughput_gain', 1):g}x adds nothing"),
        "autoscale": (service.peak_to_average == 1
                      and "steady traffic needs the same fleet every hour"),
        "spot": ((changes.get("spot_share") == 0 or changes.get("spot_discount") == 0)
                 and "no share or no discount")
                or (peak < MIN_SPOT_FLEET
                    and f"a fleet of {peak} is too small for spot: one reclaim would take "
                        f"{1 / peak:.0%} of its capacity (spot needs {MIN_SPOT_FLEET} or more)")
                or "the share is less than one whole instance",
        "commitment": changes.get("commitment_discount") == 0 and "a 0% discount",
        "compression": (changes.get("response_compression_ratio") == 1
                        and "1:1 compresses nothing"),
        "rightsize": ("no published option, priced with its spare instance, costs less than "
                      "the question's fleet"),
    }
    return reasons.get(lever.key) or "it removes nothing the bill charges for at these inputs"
