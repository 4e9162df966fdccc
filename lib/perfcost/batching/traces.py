"""The traces a batching policy is judged on, as functions of the load multiplier.

A trace is passed as a function of the load multiplier returning arrival times (a
:class:`Scaled` generator of :mod:`perfcost.traffic` or replay of :mod:`perfcost.replay`), so a
generator or a replay is redrawn at each load (the same seed), not compressed in time.
:func:`synthetic_traces` gives chapter 3's seven synthetic traces, :func:`replayed` a reader's
real trace, and :func:`drift_service` the service curve of the ``drift`` trace: a model version
that turns slower mid-trace.

Used by chapter 3 (batching).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from perfcost import replay, traffic
from perfcost.batching.service import LinearServiceTime, ShiftedServiceTime, check_service
from perfcost.traffic import MAX_DURATION_S, MAX_RATE_RPS, check_arrival_times
from perfcost.validation import (
    MAX_SEED,
    ParameterError,
    at_least,
    in_range,
    non_negative,
    positive,
    seed_value,
)

__all__ = ["MAX_SLOWDOWN", "Scaled", "TraceFactory", "check_spike_inside", "drift_service",
           "replayed", "synthetic_traces"]

TraceFactory = Callable[[float], np.ndarray]  # load multiplier -> arrival times (s)
MAX_SLOWDOWN = 10.0  # a model version up to 10x slower than the one it replaces


@dataclass(frozen=True)
class Scaled:
    """A trace at a load multiplier: ``generate(**rates × multiplier, **fixed)``.

    ``generate`` is a generator of :mod:`perfcost.traffic` or
    :func:`perfcost.replay.replay_trace`; ``rates`` maps its rate arguments to their values at
    multiplier 1 (a number or a tuple of numbers). Unlike a lambda it pickles, so the
    simulations of an evaluation can run in other processes.
    """

    generate: Callable[..., np.ndarray]
    rates: Mapping[str, float | tuple]
    fixed: Mapping[str, object]

    def __call__(self, multiplier: float) -> np.ndarray:
        """Arrival times (s) with every rate multiplied by ``multiplier``."""
        scaled = {name: tuple(r * multiplier for r in value) if isinstance(value, tuple)
                  else value * multiplier for name, value in self.rates.items()}
        return self.generate(**scaled, **self.fixed)


def _rate(name: str, value) -> float:
    return positive(name, value, maximum=MAX_RATE_RPS)


def _duration(name: str, value) -> float:
    return positive(name, value, maximum=MAX_DURATION_S)


# What each argument of synthetic_traces must be: the ranges of the traffic generators it feeds.
_SETTING_CHECKS = {
    "duration_s": _duration,
    "steady_rps": _rate,
    "diurnal_mean_rps": _rate,
    "diurnal_peak_to_average": traffic.check_peak_to_average,
    "spike_multiplier": lambda name, value: at_least(name, value, 1.0,
                                                     maximum=traffic.MAX_MULTIPLIER),
    "spike_start_s": lambda name, value: non_negative(name, value, maximum=MAX_DURATION_S),
    "spike_duration_s": _duration,
    "bursty_rps": lambda name, value: tuple(traffic.check_mmpp_rates(name, value)),
    "bursty_sojourn_s": lambda name, value: tuple(traffic.check_mmpp_sojourns(name, value)),
    "swing_peak_rps": _rate,
    "cold_start_rps": _rate,
    "seed": lambda name, value: seed_value(value, name),
}


def checked_settings(settings: Mapping[str, object]) -> dict[str, object]:
    """``settings`` (arguments of :func:`synthetic_traces`) checked and converted, each by its
    own name."""
    return {name: _SETTING_CHECKS[name](name, value) for name, value in settings.items()}


def check_spike_inside(duration_s: float, spike_start_s: float,
                       spike_duration_s: float) -> None:
    """Raise ParameterError unless spike_start_s + spike_duration_s <= duration_s: a spike that
    ends after its trace would be cut short, and its recovery never measured."""
    end_s = spike_start_s + spike_duration_s
    if end_s > duration_s:
        raise ParameterError("spike_start_s + spike_duration_s", f"<= duration_s = "
                             f"{duration_s:g} (the spike must end inside the trace)", end_s)


def synthetic_traces(*, duration_s: float = 300.0, steady_rps: float = 350.0,
                     diurnal_mean_rps: float = 400.0, diurnal_peak_to_average: float = 1.6,
                     spike_multiplier: float = 3.0, spike_start_s: float | None = None,
                     spike_duration_s: float = 60.0, bursty_rps=(200.0, 800.0),
                     bursty_sojourn_s=(20.0, 6.0), swing_peak_rps: float = 800.0,
                     cold_start_rps: float = 500.0, seed: int = 0) -> dict[str, TraceFactory]:
    """The synthetic traces, as functions of the load multiplier (rates in requests/s).

    At multiplier 1: ``steady``, Poisson at ``steady_rps``; ``diurnal``, one sinusoidal day in
    ``duration_s``; ``spike``, a step of ``spike_multiplier`` × ``steady_rps`` from
    ``spike_start_s`` (default 40% of the trace) for ``spike_duration_s``; ``bursty``, on-off
    (MMPP) between the two ``bursty_rps`` with mean sojourns ``bursty_sojourn_s``; ``swing``,
    a tenfold swing up to ``swing_peak_rps`` and back (one period per trace); ``cold start``,
    idle 5 s then a 10 s ramp to ``cold_start_rps``; and ``drift``, steady at ``steady_rps``
    (another seed) served by a model that turns slower halfway (:func:`drift_service`).
    The defaults are one instance's share of chapter 3's traffic. Every argument is checked
    here, by its name, against the range of the generator it feeds; the generators check the
    expected number of requests at each multiplier.
    """
    settings = dict(locals())  # every argument, by its name
    if spike_start_s is None:
        settings["spike_start_s"] = 0.4 * _duration("duration_s", duration_s)
    s = checked_settings(settings)
    timed = {"duration_s": s["duration_s"], "seed": s["seed"]}
    return {
        "steady": Scaled(traffic.poisson_arrivals, {"rate_rps": s["steady_rps"]}, timed),
        "diurnal": Scaled(traffic.diurnal_arrivals, {"mean_rps": s["diurnal_mean_rps"]},
                          {**timed, "period_s": s["duration_s"],
                           "peak_to_average": s["diurnal_peak_to_average"]}),
        "spike": Scaled(traffic.step_spike_arrivals, {"base_rps": s["steady_rps"]},
                        {**timed, "spike_start_s": s["spike_start_s"],
                         "spike_duration_s": s["spike_duration_s"],
                         "multiplier": s["spike_multiplier"]}),
        "bursty": Scaled(traffic.mmpp_arrivals, {"rates_rps": s["bursty_rps"]},
                         {**timed, "mean_sojourn_s": s["bursty_sojourn_s"]}),
        "swing": Scaled(traffic.swing_arrivals, {"peak_rps": s["swing_peak_rps"]},
                        {**timed, "period_s": s["duration_s"]}),
        "cold start": Scaled(traffic.cold_start_arrivals, {"peak_rps": s["cold_start_rps"]},
                             {**timed, "idle_s": 5.0}),
        "drift": Scaled(traffic.poisson_arrivals, {"rate_rps": s["steady_rps"]},
                        {**timed, "seed": (s["seed"] + 1) % (MAX_SEED + 1)}),
    }


def drift_service(service: LinearServiceTime, at_s: float, *,
                  slowdown: float = 1.3) -> ShiftedServiceTime:
    """``service`` until ``at_s``, then a model version ``slowdown`` times slower (base and per
    item alike): the service curve of the ``drift`` trace. ``slowdown`` is in [1, 10]."""
    service = check_service(service)
    slowdown = in_range("slowdown", slowdown, 1.0, MAX_SLOWDOWN)
    slower = LinearServiceTime(service.base_ms * slowdown, service.per_item_ms * slowdown,
                               service.jitter_cv)
    return ShiftedServiceTime(LinearServiceTime(service.base_ms, service.per_item_ms,
                                                service.jitter_cv), slower, at_s)


def replayed(arrival_times_s, peak_rps: float = 1000.0, *, seed: int = 1) -> TraceFactory:
    """A real trace replayed at ``peak_rps`` × the multiplier: per-second counts scaled to that
    peak, Poisson within each second, seeded (:func:`perfcost.replay.replay_trace`)."""
    times = check_arrival_times("arrival_times_s", arrival_times_s)
    peak_rps = _rate("peak_rps", peak_rps)
    seed = seed_value(seed)
    return Scaled(replay.replay_trace, {"peak_rps": peak_rps},
                  {"arrival_times_s": times, "seed": seed})
