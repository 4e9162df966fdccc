"""Dynamic batching: a fast simulator of a batching inference server, the policies that tune
it, and a fair evaluation of them (chapter 3).

One module per job, every public name re-exported here (``batching.simulate``,
``batching.evaluate``, ``batching.BatchingQuestion``, ...):

- :mod:`~perfcost.batching.service`: the batch service time, a line in the batch size.
- :mod:`~perfcost.batching.policy`: what a policy sees (:class:`Measurement`) and sets, and
  :class:`StaticBatching`.
- :mod:`~perfcost.batching.simulator`: :func:`simulate`, exact and fast (dispatch to dispatch).
- :mod:`~perfcost.batching.scorecard`: SLO attainment, recovery, grid search, comparisons.
- :mod:`~perfcost.batching.feedback`: what the adaptive policies share (their settings'
  limits and checks, the windowed p95, the fitted service line).
- :mod:`~perfcost.batching.aimd`: :class:`AIMDBatching` and :class:`ClipperAIMDBatching`.
- :mod:`~perfcost.batching.naive_proportional`: :class:`NaiveProportionalBatching`, for
  contrast.
- :mod:`~perfcost.batching.slo_controller`: :class:`SLOBatchingController`, chapter 3's first
  controller.
- :mod:`~perfcost.batching.envelope`: :class:`EnvelopeBatchingController`, the controller that
  replaced it.
- :mod:`~perfcost.batching.traces`: the traces, as functions of the load multiplier.
- :mod:`~perfcost.batching.evaluation`: limits from the SLO, baselines, :func:`evaluate`.
- :mod:`~perfcost.batching.sustained_load`: the load a policy's fleet carries.
- :mod:`~perfcost.batching.question`: :class:`BatchingQuestion`, chapter 3's inputs.

Used by chapter 3 (batching).
"""

# Each module's public names (its __all__) are this package's.
from perfcost.batching import (
    aimd,
    envelope,
    evaluation,
    feedback,
    naive_proportional,
    policy,
    question,
    scorecard,
    service,
    simulator,
    slo_controller,
    sustained_load,
    traces,
)
from perfcost.batching.aimd import *  # noqa: F403
from perfcost.batching.envelope import *  # noqa: F403
from perfcost.batching.evaluation import *  # noqa: F403
from perfcost.batching.feedback import *  # noqa: F403
from perfcost.batching.naive_proportional import *  # noqa: F403
from perfcost.batching.policy import *  # noqa: F403
from perfcost.batching.question import *  # noqa: F403
from perfcost.batching.scorecard import *  # noqa: F403
from perfcost.batching.service import *  # noqa: F403
from perfcost.batching.simulator import *  # noqa: F403
from perfcost.batching.slo_controller import *  # noqa: F403
from perfcost.batching.sustained_load import *  # noqa: F403
from perfcost.batching.traces import *  # noqa: F403

__all__ = [
    *service.__all__, *policy.__all__, *simulator.__all__, *scorecard.__all__,
    *feedback.__all__, *aimd.__all__, *naive_proportional.__all__, *slo_controller.__all__,
    *envelope.__all__, *traces.__all__, *evaluation.__all__, *sustained_load.__all__,
    *question.__all__,
]
