"""A discrete-event simulation of a first-come-first-served queue with c identical servers.

It checks the queueing formulas (chapter 1) where they are exact, and measures what they
approximate: the same arrivals with deterministic service give the M/D/c queue that inference
servers resemble more closely than M/M/c.
"""

from __future__ import annotations

import heapq

import numpy as np

from perfcost.validation import ParameterError, integer_at_least

__all__ = ["fcfs_response_times"]


def _times(name: str, values) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1 or array.size == 0:
        raise ParameterError(name, "a non-empty one-dimensional sequence of seconds", values)
    if not np.all(np.isfinite(array)) or np.any(array < 0):
        raise ParameterError(name, "finite and >= 0 everywhere", "a value outside that range")
    return array


def fcfs_response_times(arrival_times_s, service_times_s, servers: int) -> np.ndarray:
    """Return each request's response time (wait + service), in input order, in seconds.

    Requests are served in arrival order; each starts on the server that frees first, at
    ``max(arrival, that server's free time)``, and holds it for its service time.

    Parameters
    ----------
    arrival_times_s : array_like
        Arrival times, sorted ascending, >= 0.
    service_times_s : array_like
        One service time per request, >= 0.
    servers : int
        Number of identical servers, >= 1.
    """
    arrivals = _times("arrival_times_s", arrival_times_s)
    services = _times("service_times_s", service_times_s)
    servers = integer_at_least("servers", servers, 1)
    if services.shape != arrivals.shape:
        raise ParameterError(
            "service_times_s", f"the same length as arrival_times_s ({arrivals.size})",
            services.size,
        )
    if np.any(np.diff(arrivals) < 0):
        raise ParameterError("arrival_times_s", "sorted ascending", "an unsorted sequence")
    free_at = [0.0] * servers  # a heap of the times each server becomes free
    finish = np.empty_like(arrivals)
    for i, (arrival, service) in enumerate(zip(arrivals.tolist(), services.tolist(), strict=True)):
        start = max(arrival, free_at[0])
        finish[i] = start + service
        heapq.heapreplace(free_at, finish[i])
    return finish - arrivals
