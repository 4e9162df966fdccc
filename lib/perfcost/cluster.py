"""Independent jobs run on Dask distributed: this machine's cores, or a cluster's.

A chapter re-run is minutes of work in its own kernel and shares nothing with the next one, so
a grid of them spreads over a cluster without change. :func:`dask_client` opens a
``distributed.LocalCluster`` on this machine (one single-threaded worker process per core) or
connects to a running scheduler by its address; :func:`run_jobs` submits every job and hands
each outcome, a result or the exception it raised, to a callback as it finishes, so that a
caller records it at once (a sweep interrupted later resumes from what was recorded) and one
failing job never stops the others.

Workers of a remote cluster must have ``perfcost`` installed and see the files a job names (the
book, the output folder) at the same paths: a shared file system, as on most clusters.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass

from perfcost.parallel import MAX_WORKERS, default_workers
from perfcost.validation import ParameterError, integer_in_range

__all__ = ["ClusterError", "Outcome", "cluster_in_words", "dask_client", "one_line", "run_jobs",
           "scheduler_address"]

CONNECT_TIMEOUT_S = 10  # a scheduler (or its first worker) this late is reported, not awaited


class ClusterError(RuntimeError):
    """The cluster could not be started or reached; the message says which and why."""


@dataclass(frozen=True)
class Outcome:
    """One finished job: its key, and its result or the one-line error it failed with."""

    key: Hashable
    result: object = None
    error: str = ""

    @property
    def ok(self) -> bool:
        """True when the job returned (``error`` is empty)."""
        return not self.error


def one_line(error: BaseException) -> str:
    """``error`` as one line: its type and the first line of its message."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


def scheduler_address(address: str) -> str:
    """``address`` checked to be one token; ``HOST:PORT`` means ``tcp://HOST:PORT``."""
    if not isinstance(address, str) or not address.strip() or any(c.isspace() for c in address):
        raise ParameterError("--scheduler", "a scheduler address such as tcp://HOST:8786",
                             address)
    return address if "://" in address else f"tcp://{address}"


def cluster_in_words(scheduler: str | None, workers: int | None) -> str:
    """Where :func:`dask_client` with these arguments runs jobs, in words, the arguments
    checked first (as the command line names them: ``--scheduler``, ``--workers``).

    Raises
    ------
    perfcost.validation.ParameterError
        For a malformed address, a worker count outside [1, 64], or both given (a cluster at
        an address has its own workers).
    """
    if scheduler is not None:
        if workers is not None:
            raise ParameterError("--workers", "absent with --scheduler (a cluster at an "
                                 "address has its own workers; --workers sizes a local one)",
                                 workers)
        return scheduler_address(scheduler)
    if workers is None:
        return "a local cluster"
    count = integer_in_range("--workers", workers, 1, MAX_WORKERS)
    return f"a local cluster of {count} worker{'s' if count > 1 else ''}"


@contextlib.contextmanager
def dask_client(scheduler: str | None = None, *, workers: int | None = None) -> Iterator:
    """A ``distributed.Client``: on a new LocalCluster, or on the scheduler at ``scheduler``.

    Parameters
    ----------
    scheduler : str, optional
        A running scheduler's address (``tcp://HOST:PORT``; ``HOST:PORT`` means tcp). None
        starts a LocalCluster on this machine, closed again on exit.
    workers : int, optional
        LocalCluster worker processes, each one thread, in [1, 64]; default the cores this
        process may use. Ignored with ``scheduler`` (the cluster has its own).

    Raises
    ------
    ClusterError
        If the cluster cannot be started, or the scheduler does not answer or has no worker
        within 10 s.
    """
    from distributed import Client, LocalCluster

    if scheduler is not None:
        address = scheduler_address(scheduler)
        try:
            client = Client(address, timeout=CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError) as error:
            raise ClusterError(f"--scheduler {scheduler}: no scheduler answered "
                               f"({one_line(error)})") from None
        with client:
            try:
                client.wait_for_workers(1, timeout=CONNECT_TIMEOUT_S)
            except (OSError, TimeoutError):
                raise ClusterError(f"--scheduler {scheduler}: the scheduler has no workers "
                                   f"(none joined within {CONNECT_TIMEOUT_S} s); start one "
                                   f"with `dask worker {address}`") from None
            yield client
        return
    count = default_workers() if workers is None else integer_in_range(
        "workers", workers, 1, MAX_WORKERS)
    quiet = logging.getLogger("distributed")
    level, quiet.level = quiet.level, logging.ERROR  # no start-up chatter on the reader's screen
    try:
        with warnings.catch_warnings():  # its status page moves off a port in use: harmless
            warnings.filterwarnings("ignore", message="Port .* is already in use")
            cluster = LocalCluster(n_workers=count, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
    except Exception as error:
        raise ClusterError(f"could not start a local Dask cluster: {one_line(error)}") from None
    try:
        with cluster, Client(cluster) as client:
            yield client
    finally:
        quiet.level = level


def run_jobs(client, function: Callable, jobs: Mapping[Hashable, tuple], *,
             on_done: Callable[[Outcome], None] | None = None) -> dict[Hashable, Outcome]:
    """Run ``function(*args)`` for every ``key: args`` of ``jobs`` on ``client``'s cluster.

    Each job is its own task (``pure=False``: never merged with an equal one), retried by
    nobody: a job that raises is reported once, as its one-line error. ``on_done`` is called in
    this thread with each :class:`Outcome` in the order the jobs finish.

    Returns
    -------
    dict
        Every job's :class:`Outcome`, keyed as ``jobs``, in the order of ``jobs``.
    """
    from distributed import as_completed

    if not callable(function):
        raise ParameterError("function", "a function", function)
    futures = {client.submit(function, *args, pure=False): key for key, args in jobs.items()}
    outcomes = {}
    try:
        for future in as_completed(futures):
            key = futures[future]
            try:
                outcome = Outcome(key, result=future.result())
            except Exception as error:  # the job's own failure, or its worker's death
                outcome = Outcome(key, error=one_line(error))
            outcomes[key] = outcome
            if on_done is not None:
                on_done(outcome)
    finally:
        # Interrupted: jobs not started are dropped. A job already running on a remote
        # worker runs on to its end (Dask cannot stop a running task); a local cluster's
        # workers are stopped with the cluster.
        client.cancel(list(futures))
    return {key: outcomes[key] for key in jobs}
