"""Independent simulations spread over this machine's cores.

An evaluation of batching policies is hundreds of independent, seeded simulations; each gives
the same answer in any process, so running them side by side changes the wall time and nothing
else. This module fills the cores of one machine, or hands the jobs to a Dask cluster's client
(:mod:`perfcost.cluster`) when given one.

Used by :mod:`perfcost.batching.evaluation` and :mod:`perfcost.batching.sustained_load`.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor

from perfcost.validation import ParameterError, integer_in_range

__all__ = ["MAX_WORKERS", "default_workers", "mapped"]

MAX_WORKERS = 64


def default_workers() -> int:
    """The cores this process may use (its CPU affinity where the system reports one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def mapped(function: Callable, jobs: Sequence[tuple], *, workers: int = 1,
           client=None) -> list:
    """``[function(*job) for job in jobs]``, computed by up to ``workers`` processes, or on a
    Dask cluster.

    ``workers`` is in [1, 64]; with 1 (or a single job) everything runs here. Otherwise
    ``function`` and every job must pickle (module-level functions, ``functools.partial``,
    arrays; not lambdas), and each worker process is started fresh ("spawn"), which is safe
    inside a Jupyter kernel. With ``client``, a ``distributed.Client`` (for example from
    :func:`perfcost.cluster.dask_client`), the jobs run on its cluster instead, one task each,
    and ``workers`` is not used; a job's exception is raised here as it would be locally.
    Results keep the order of ``jobs``.
    """
    workers = integer_in_range("workers", workers, 1, MAX_WORKERS)
    if not callable(function):
        raise ParameterError("function", "a function", function)
    jobs = list(jobs)
    if client is not None and jobs:
        if not callable(getattr(client, "map", None)):
            raise ParameterError("client", "a distributed.Client", type(client).__name__)
        return client.gather(client.map(function, *zip(*jobs, strict=True), pure=False))
    if workers == 1 or len(jobs) < 2:
        return [function(*job) for job in jobs]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(min(workers, len(jobs)), mp_context=context) as pool:
        return list(pool.map(function, *zip(*jobs, strict=True)))
