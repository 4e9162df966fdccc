"""Size every serving option at the peak: the fewest instances meeting the server's p95, plus one.

The server's share of the latency SLO (its *budget*) is what the request's other stages leave:
``server_budget_ms`` (see :mod:`perfcost.design.latency`). A batching option spends the time its
batch takes to fill (at most ``max_wait_ms``) before its queue and service, and all three must
fit the budget; fewer instances fill batches faster, so the count is searched up from the fewest
that are stable to the one sized with the whole wait.
Each option is sized with chapter 1's latency model
(:func:`perfcost.capacity.size_fleet_for_quantile`: per-instance queues behind a
least-outstanding-requests balancer, gamma service times), then

    instances = max(min_instances, needed + spare_instances)

so the fleet spans two availability zones and still meets the p95 with one instance lost;
``needed`` is also at least ceil(rate / (throughput × max_utilization)), headroom for what a
minute-by-minute model does not see (bursts within the minute, a slow request). A
batching option whose batches would not fill within its wait at the peak (each of the
instance's ``batchers`` queues gets its share of the rate) is left out: a batcher would
dispatch smaller batches than the option's throughput assumes.

Used by chapter 5 (design).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from perfcost.capacity import instances_for_utilization, size_fleet_for_quantile
from perfcost.design.options import ServingOption
from perfcost.fleet_latency import FLEET, FleetLatency
from perfcost.fleet_quantiles import fleet_response_quantile_ms
from perfcost.instance_types import MIN_UTILIZATION_TARGET, InfeasibleError
from perfcost.validation import in_range, integer_in_range, positive

__all__ = ["PeakFleet", "infeasible_fleet", "server_p95_ms", "size_at_peak", "size_options"]

MAX_SCAN = 1_000  # counts tried below the conservative sizing (beyond: keep it)


@dataclass(frozen=True)
class PeakFleet:
    """One option sized at the peak: how many instances, and the server's p95 there."""

    option: ServingOption
    needed: int  # the fewest instances whose p95 meets the budget (0: none does)
    instances: int  # needed + spares, at least min_instances (0 when infeasible)
    server_rps: float  # the peak rate the servers see (after the cache)
    server_p95_ms: float  # the p95 of the sized fleet, batch wait included (inf: infeasible)
    reason: str = ""  # why no count meets the budget, when none does

    @property
    def feasible(self) -> bool:
        """Whether some fleet of this option meets the server's budget at the peak."""
        return self.instances > 0

    @property
    def hourly_usd(self) -> float:
        """The sized fleet's price per hour."""
        return self.instances * self.option.hourly_usd


def size_at_peak(option: ServingOption, server_rps: float, server_budget_ms: float, *,
                 model: FleetLatency = FLEET, spare_instances: int = 1,
                 min_instances: int = 2, max_utilization: float = 1.0) -> PeakFleet:
    r"""Size ``option`` for ``server_rps`` within ``server_budget_ms`` (module docstring), with
    no needed instance above ``max_utilization`` (in [0.01, 1]) at the peak.

    With n instances at rate λ, b the batch, k the instance's ``batchers`` and X the option's
    throughput, a batch fills in :math:`f(n) = 1000\,(b - 1)\,k\,n / \lambda` ms and a request
    waits :math:`\min(f(n), w_\text{max})` for it; ``needed`` is the fewest n with
    :math:`f(n) \le w_\text{max}` and

    .. math::  \min(f(n), w_\text{max}) + t_{0.95}(n) \le \text{budget},

    :math:`t_{0.95}(n)` the fleet's p95 in ``model``
    (:func:`perfcost.fleet_quantiles.fleet_response_quantile_ms`). Without batching it is the
    count sized with the whole wait (:func:`perfcost.capacity.size_fleet_for_quantile`); with
    batching it is searched up from :math:`\lfloor \lambda / X \rfloor + 1` to that count.
    Either way it is raised to at least :math:`\lceil \lambda / (X u_\text{max}) \rceil`. Then

    .. math::  \text{instances} = \max(\text{min instances},\ \text{needed} + \text{spares}),

    which must still fill its batches within :math:`w_\text{max}` and meet the budget.

    Parameters
    ----------
    option : perfcost.design.options.ServingOption
        The instance type, model and batching (``batch``, ``batchers``, ``max_wait_ms``).
    server_rps : float
        The peak request rate the servers see (after any cache), > 0.
    server_budget_ms : float
        The server's share of the latency SLO, in ms, > 0.
    model : perfcost.fleet_latency.FleetLatency, optional
        The fleet's latency model; default :data:`~perfcost.fleet_latency.FLEET`.
    spare_instances : int, optional
        Instances beyond ``needed``, a whole number in [0, 1,000]; default 1 (N + 1).
    min_instances : int, optional
        The fewest instances, a whole number in [1, 1,000]; default 2 (two availability
        zones).
    max_utilization : float, optional
        The busiest a needed instance may be at the peak, in [0.01, 1]; default 1.

    Returns
    -------
    PeakFleet
        The sized fleet and its p95; when no count meets the budget, a fleet of 0 instances
        with a p95 of infinity and the ``reason`` (:func:`infeasible_fleet`), not an error.

    Raises
    ------
    perfcost.validation.ParameterError
        If a number is outside its range.

    References
    ----------
    The fleet's latency model: Allen (1990), §6; Whitt (1993) (:mod:`perfcost.fleet_latency`);
    the queueing check as in :mod:`perfcost.capacity`: Harchol-Balter (2013), ch. 14 (M/M/k).
    """
    server_rps = positive("server_rps", server_rps)
    server_budget_ms = positive("server_budget_ms", server_budget_ms)
    max_utilization = in_range("max_utilization", max_utilization, MIN_UTILIZATION_TARGET, 1.0)
    spare_instances = integer_in_range("spare_instances", spare_instances, 0, 1_000)
    min_instances = integer_in_range("min_instances", min_instances, 1, 1_000)
    conservative, reason = _sized_with_whole_wait(option, server_rps, server_budget_ms, model)
    needed = _fewest_with_fill_wait(option, server_rps, server_budget_ms, conservative, model)
    if needed is None:
        return _infeasible(option, server_rps, reason)
    needed = max(needed, instances_for_utilization(server_rps, option.throughput_rps,
                                                   max_utilization))
    count = max(min_instances, needed + spare_instances)
    fill_ms = option.fill_ms(server_rps / count)
    if fill_ms > option.max_wait_ms:
        return _infeasible(option, server_rps, f"a batch of {option.batch} takes "
                           f"{fill_ms:.3g} ms to fill at the peak; the batcher waits "
                           f"{option.max_wait_ms:g} ms")
    p95_ms = server_p95_ms(option, count, server_rps, model)
    if p95_ms > server_budget_ms:  # the spare spreads the rate: batches fill more slowly
        return _infeasible(option, server_rps, f"with its spare instance its batches of "
                           f"{option.batch} fill too slowly: p95 {p95_ms:.3g} ms over the "
                           f"{server_budget_ms:.3g} ms budget")
    return PeakFleet(option, needed, count, server_rps, p95_ms)


def server_p95_ms(option: ServingOption, count: int, server_rps: float,
                  model: FleetLatency = FLEET) -> float:
    r"""The server's p95 on ``count`` instances: the batch wait plus the fleet's response.

    .. math::  \min\bigl(w_\text{max},\ f\bigr) + t_{0.95}, \qquad
               f = 1000\,(b - 1)\,k\,n / \lambda \ \text{ms},

    with b the batch, k the ``batchers``, n = ``count``, λ = ``server_rps`` and
    :math:`t_{0.95}` from :func:`perfcost.fleet_quantiles.fleet_response_quantile_ms`
    (f = 0 at batch 1).

    Parameters
    ----------
    option : perfcost.design.options.ServingOption
        The serving option.
    count : int
        Instances, a whole number in [1, 10^6].
    server_rps : float
        The rate the servers see, > 0 and below ``count`` × the option's throughput.
    model : perfcost.fleet_latency.FleetLatency, optional
        The fleet's latency model; default :data:`~perfcost.fleet_latency.FLEET`.

    Returns
    -------
    float
        The p95 in ms, the batch wait included.

    Raises
    ------
    perfcost.validation.ParameterError
        If an argument is of the wrong type or outside its range.
    perfcost.instance_types.InfeasibleError
        If the fleet has more than 10^9 slots in all.
    perfcost.queueing.UnstableQueueError
        If ``server_rps`` is at or above the fleet's capacity.

    References
    ----------
    The fleet's latency model: Allen (1990), §6; Whitt (1993) (:mod:`perfcost.fleet_latency`);
    the queueing check as in :mod:`perfcost.capacity`: Harchol-Balter (2013), ch. 14 (M/M/k).
    """
    return option.wait_ms(server_rps / count) + fleet_response_quantile_ms(
        option.instance_type(), count, server_rps, 0.95, model=model)


def _sized_with_whole_wait(option: ServingOption, server_rps: float, budget_ms: float,
                           model: FleetLatency) -> tuple[int | None, str]:
    """The fewest instances within the budget when every request waits the whole
    ``max_wait_ms`` (None, and why, when none is)."""
    queue_budget_ms = budget_ms - option.max_wait_ms
    if queue_budget_ms <= 0:
        return None, (f"its batch wait {option.max_wait_ms:g} ms fills the {budget_ms:.3g} ms "
                      f"budget, and no fleet fills its batches sooner within it")
    try:
        return size_fleet_for_quantile(option.instance_type(), server_rps, queue_budget_ms,
                                       model=model).count, ""
    except InfeasibleError as error:
        return None, str(error)


def _fewest_with_fill_wait(option: ServingOption, server_rps: float, budget_ms: float,
                           conservative: int | None, model: FleetLatency) -> int | None:
    """The fewest instances within the budget when a batch's wait is its fill time at the
    rate, not the whole ``max_wait_ms``: at most ``conservative`` (sized with the whole wait;
    None: scan :data:`MAX_SCAN` counts). Fewer instances fill batches faster, so the scan runs
    up from the fewest that are stable; None if none within the scan fits."""
    if option.batch == 1:
        return conservative
    stable = int(server_rps // option.throughput_rps) + 1
    upper = stable + MAX_SCAN if conservative is None else min(conservative, stable + MAX_SCAN)
    for count in range(max(1, stable), upper):
        if (option.fill_ms(server_rps / count) <= option.max_wait_ms
                and server_p95_ms(option, count, server_rps, model) <= budget_ms):
            return count
    return conservative


def infeasible_fleet(option: ServingOption, server_rps: float, reason: str) -> PeakFleet:
    """A fleet of ``option`` that cannot serve the peak within the budget, and why."""
    return PeakFleet(option, 0, 0, server_rps, float("inf"), reason)


_infeasible = infeasible_fleet


def size_options(options: Iterable[ServingOption], server_rps: float, server_budget_ms: float,
                 *, model: FleetLatency = FLEET, max_utilization: float = 1.0
                 ) -> list[PeakFleet]:
    """Every option sized at the peak, cheapest feasible fleet first, infeasible ones last.

    Each option is sized by :func:`size_at_peak` with its default spares (1) and minimum (2);
    ties in price are broken by the lower p95.

    Parameters
    ----------
    options : iterable of perfcost.design.options.ServingOption
        The options to size.
    server_rps, server_budget_ms, model, max_utilization
        As in :func:`size_at_peak`.

    Returns
    -------
    list of PeakFleet
        Sorted by (infeasible, hourly price, p95).

    Raises
    ------
    perfcost.validation.ParameterError
        As :func:`size_at_peak`.
    """
    fleets = [size_at_peak(option, server_rps, server_budget_ms, model=model,
                           max_utilization=max_utilization) for option in options]
    return sorted(fleets, key=lambda f: (not f.feasible, f.hourly_usd, f.server_p95_ms))
