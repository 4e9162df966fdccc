"""A discrete-event simulation of a first-come-first-served queue with c identical servers.

It checks the queueing formulas (chapter 1) where they are exact, and measures what they
approximate: the same arrivals with deterministic service give the M/D/c queue that inference
servers resemble more closely than M/M/c. :func:`routed_response_times` simulates what a load
balancer builds instead: n instances, each its own queue of k slots, fed by a routing policy.
"""

from __future__ import annotations

import heapq

import numpy as np

from perfcost.traffic import MAX_ARRIVAL_S, check_arrival_times
from perfcost.validation import ParameterError, integer_in_range, seed_value

__all__ = ["ROUTINGS", "fcfs_response_times", "routed_response_times"]

ROUTINGS = ("shared_queue", "random", "round_robin", "least_outstanding", "two_choices")


MAX_SERVERS = 1_000_000  # the simulation keeps one free time per server
MAX_SERVICE_S = MAX_ARRIVAL_S  # as long as a trace may be


def _service_times(values) -> np.ndarray:
    valid = "a non-empty one-dimensional sequence of seconds"
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError("service_times_s", valid, type(values).__name__) from None
    if array.ndim != 1 or array.size == 0:
        raise ParameterError("service_times_s", valid, f"shape {array.shape}")
    bad = np.flatnonzero(~np.isfinite(array) | (array < 0) | (array > MAX_SERVICE_S))
    if bad.size:
        raise ParameterError("service_times_s", f"finite, >= 0 and <= {MAX_SERVICE_S:g} "
                             "everywhere", f"{array[bad[0]]!r} at index {bad[0]}")
    return array


def fcfs_response_times(arrival_times_s, service_times_s, servers: int) -> np.ndarray:
    """Return each request's response time (wait + service), in input order, in seconds.

    Requests are served in arrival order; each starts on the server that frees first, at
    ``max(arrival, that server's free time)``, and holds it for its service time.

    Parameters
    ----------
    arrival_times_s : array_like
        Arrival times, sorted ascending, >= 0 and at most ``MAX_ARRIVAL_S`` (1e10 s); see
        :func:`perfcost.traffic.check_arrival_times`.
    service_times_s : array_like
        One service time per request, >= 0 and at most ``MAX_SERVICE_S`` (1e10 s).
    servers : int
        Number of identical servers, in [1, 10^6].
    """
    arrivals = check_arrival_times("arrival_times_s", arrival_times_s)
    services = _service_times(service_times_s)
    servers = integer_in_range("servers", servers, 1, MAX_SERVERS)
    if services.shape != arrivals.shape:
        raise ParameterError(
            "service_times_s", f"the same length as arrival_times_s ({arrivals.size})",
            services.size,
        )
    return np.asarray(_fcfs_kernel(arrivals.tolist(), services.tolist(), servers)) - arrivals


def _fcfs_kernel(arrivals: list[float], services: list[float], servers: int) -> list[float]:
    """Finish times of FCFS service on ``servers`` slots (validated inputs, arrival order)."""
    free_at = [0.0] * servers
    finish = []
    for arrival, service in zip(arrivals, services, strict=True):
        done = max(arrival, free_at[0]) + service
        finish.append(done)
        heapq.heapreplace(free_at, done)
    return finish


def _split_finish(arrivals, services, owner, instances: int, slots: int) -> np.ndarray:
    """Finish times when request i is sent to instance ``owner[i]`` (a static assignment)."""
    finish = np.empty_like(arrivals)
    for instance in range(instances):
        mine = np.flatnonzero(owner == instance)
        finish[mine] = _fcfs_kernel(arrivals[mine].tolist(), services[mine].tolist(), slots)
    return finish


def _two_choices(instances: int, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two distinct random instances per request (the same one twice if there is only one)."""
    rng = np.random.default_rng(seed)
    first = rng.integers(instances, size=count)
    if instances == 1:
        return first, first
    return first, (first + 1 + rng.integers(instances - 1, size=count)) % instances


def _least_outstanding_finish(arrivals, services, instances: int, slots: int,
                              choices=None) -> np.ndarray:
    """Finish times when each request goes to the instance with the fewest in flight, then
    waits FCFS for one of that instance's slots.

    With ``choices`` None the balancer sees every instance (ties to the lowest index); with
    ``choices`` a pair of index arrays it compares only those two (ties to the first).
    """
    outstanding = np.zeros(instances, dtype=np.int64)
    free_at = [[0.0] * slots for _ in range(instances)]
    completions: list[tuple[float, int]] = []  # (finish, instance), a heap
    finish = np.empty_like(arrivals)
    for i, (arrival, service) in enumerate(zip(arrivals.tolist(), services.tolist(),
                                               strict=True)):
        while completions and completions[0][0] <= arrival:
            outstanding[heapq.heappop(completions)[1]] -= 1
        if choices is None:
            chosen = int(np.argmin(outstanding))
        else:
            a, b = int(choices[0][i]), int(choices[1][i])
            chosen = b if outstanding[b] < outstanding[a] else a
        slots_free = free_at[chosen]
        finish[i] = max(arrival, slots_free[0]) + service
        heapq.heapreplace(slots_free, finish[i])
        outstanding[chosen] += 1
        heapq.heappush(completions, (finish[i], chosen))
    return finish


def routed_response_times(arrival_times_s, service_times_s, instances: int, slots: int,
                          routing: str, *, seed: int = 0) -> np.ndarray:
    """Return each request's response time when a balancer routes it to one of ``instances``.

    Each instance serves its own requests first come first served on ``slots`` slots. Routing:
    ``shared_queue`` (one queue for every slot: the lower bound), ``random`` (uniform, from
    ``numpy.random.default_rng(seed)``), ``round_robin`` (request i to instance i mod n) or
    ``least_outstanding`` (fewest requests in flight at the arrival instant, ties to the
    lowest index: a balancer that sees every instance) or ``two_choices`` (the fewer in flight
    of two instances drawn at random: Envoy's default LEAST_REQUEST, power of two choices).

    Parameters
    ----------
    arrival_times_s, service_times_s : array_like
        As for :func:`fcfs_response_times`.
    instances, slots : int
        n instances of k slots; n·k at most 10^6.
    routing : str
        One of :data:`ROUTINGS`.
    seed : int
        Seeds the random routings only.
    """
    arrivals = check_arrival_times("arrival_times_s", arrival_times_s)
    services = _service_times(service_times_s)
    instances = integer_in_range("instances", instances, 1, MAX_SERVERS)
    slots = integer_in_range("slots", slots, 1, MAX_SERVERS // instances)
    if not isinstance(routing, str) or routing not in ROUTINGS:
        raise ParameterError("routing", f"one of {', '.join(ROUTINGS)}", routing)
    if services.shape != arrivals.shape:
        raise ParameterError("service_times_s", f"the same length as arrival_times_s "
                             f"({arrivals.size})", services.size)
    return _routed_finish(arrivals, services, instances, slots, routing, seed) - arrivals


def _routed_finish(arrivals, services, instances: int, slots: int, routing: str,
                   seed) -> np.ndarray:
    """Finish times under ``routing`` (arguments checked, except the seed)."""
    if routing == "shared_queue":
        return np.asarray(_fcfs_kernel(arrivals.tolist(), services.tolist(),
                                       instances * slots))
    if routing == "least_outstanding":
        return _least_outstanding_finish(arrivals, services, instances, slots)
    if routing == "two_choices":
        choices = _two_choices(instances, arrivals.size, seed_value(seed))
        return _least_outstanding_finish(arrivals, services, instances, slots, choices)
    owner = (np.arange(arrivals.size) % instances if routing == "round_robin" else
             np.random.default_rng(seed_value(seed)).integers(instances, size=arrivals.size))
    return _split_finish(arrivals, services, owner, instances, slots)
