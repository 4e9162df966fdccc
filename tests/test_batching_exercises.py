"""Chapter 3's exercise computations (perfcost.book.batching_exercises)."""

import numpy as np
import pytest

from perfcost.batching import LinearServiceTime, StaticBatching
from perfcost.book import batching_exercises as ex
from perfcost.validation import ParameterError

SERVICE = LinearServiceTime(2.9, 0.77, 0.0)


def test_overloaded_windows_counts_windows_above_capacity():
    slow = np.arange(0, 10, 0.01)  # 100/s for 10 s
    fast = 10 + np.arange(0, 10, 1 / 300)  # then 300/s
    table = ex.overloaded_windows({"step": np.r_[slow, fast]}, 200.0)
    assert table.loc["step", "overloaded_share"] == pytest.approx(0.5)
    assert table.loc["step", "busiest_window_rps"] == pytest.approx(300.0, rel=1e-3)
    assert ex.overloaded_windows({"step": slow}, 200.0).loc["step", "overloaded_share"] == 0


def test_overloaded_windows_refuses_a_capacity_of_zero():
    with pytest.raises(ParameterError, match="capacity_rps"):
        ex.overloaded_windows({"a": np.arange(10.0)}, 0.0)


def test_stretch_shifts_to_zero_and_refuses_an_empty_stretch():
    times = np.arange(0.0, 10.0, 0.5)
    assert ex.stretch(times, 2.0, 3.0).tolist() == [0.0, 0.5]
    with pytest.raises(ParameterError, match="end_s"):
        ex.stretch(times, 20.0, 30.0)
    with pytest.raises(ParameterError, match="end_s"):
        ex.stretch(times, 3.0, 3.0)


def test_jitter_effect_has_one_row_per_distinct_jitter():
    times = np.sort(np.random.default_rng(0).uniform(0, 20, 4000))
    table = ex.jitter_effect(times, service=SERVICE, slo_p95_ms=50.0, instances=1, seed=0,
                             jitters=[0.0, 0.3, 0.3])
    assert table.index.tolist() == [0.0, 0.3]
    assert (table["gpu_busy_s"] > 0).all()
    assert table["slo_attainment"].between(0, 1).all()
    assert (table["mean_batch"] >= 1).all()


def test_after_rollout_sees_a_slower_model_break_a_static_policy():
    times = np.arange(0.0, 40.0, 1 / 200)  # 200/s
    kept = ex.after_rollout(times, {"static": StaticBatching(0.0, 8)}, service=SERVICE,
                            slowdown=1.0, at_s=20.0, slo_p95_ms=50.0, instances=1, seed=0)
    assert kept.loc["static"].tolist() == [1.0, 1.0]
    # Ten times slower, a batch of 8 takes 90 ms: 89/s, below the 200/s arriving.
    broken = ex.after_rollout(times, {"static": StaticBatching(0.0, 8)}, service=SERVICE,
                              slowdown=10.0, at_s=20.0, slo_p95_ms=50.0, instances=1, seed=0)
    assert broken.loc["static", "before"] == 1.0
    assert broken.loc["static", "after"] == 0.0
