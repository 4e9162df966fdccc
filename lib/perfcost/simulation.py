"""A discrete-event simulation of a first-come-first-served queue with c identical servers.

It checks the queueing formulas (chapter 1) where they are exact, and measures what they
approximate: the same arrivals with deterministic service give the M/D/c queue that inference
servers resemble more closely than M/M/c.
"""

from __future__ import annotations

import heapq

import numpy as np

from perfcost.traffic import MAX_ARRIVAL_S, check_arrival_times
from perfcost.validation import ParameterError, integer_in_range

__all__ = ["fcfs_response_times"]


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
    free_at = [0.0] * servers  # a heap of the times each server becomes free
    finish = np.empty_like(arrivals)
    for i, (arrival, service) in enumerate(zip(arrivals.tolist(), services.tolist(), strict=True)):
        start = max(arrival, free_at[0])
        finish[i] = start + service
        heapq.heapreplace(free_at, finish[i])
    return finish - arrivals
