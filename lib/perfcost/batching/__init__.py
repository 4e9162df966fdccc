"""Dynamic batching: a fast simulator of a batching inference server, the policies that tune
it, and a fair evaluation of them (chapter 3).

One module per job, every public name re-exported here (``batching.simulate``,
``batching.evaluate``, ``batching.BatchingQuestion``, ...):

- :mod:`~perfcost.batching.service`: the batch service time, a line in the batch size.
- :mod:`~perfcost.batching.policy`: what a policy sees (:class:`Measurement`) and sets, and
  :class:`StaticBatching`.
- :mod:`~perfcost.batching.simulator`: :func:`simulate`, exact and fast (dispatch to dispatch).
- :mod:`~perfcost.batching.scorecard`: SLO attainment, recovery, grid search, comparisons.
- :mod:`~perfcost.batching.controllers`: the adaptive policies (AIMD, naive proportional,
  chapter 3's first controller and the envelope controller).
- :mod:`~perfcost.batching.traces`: the traces, as functions of the load multiplier.
- :mod:`~perfcost.batching.evaluation`: limits from the SLO, baselines, :func:`evaluate`.
- :mod:`~perfcost.batching.sustained_load`: the load a policy's fleet carries.
- :mod:`~perfcost.batching.question`: :class:`BatchingQuestion`, chapter 3's inputs.

Used by chapter 3 (batching).
"""

# Each module's public names (its __all__) are this package's.
from perfcost.batching import (
    controllers,
    evaluation,
    policy,
    question,
    scorecard,
    service,
    simulator,
    sustained_load,
    traces,
)
from perfcost.batching.controllers import *  # noqa: F403
from perfcost.batching.evaluation import *  # noqa: F403
from perfcost.batching.policy import *  # noqa: F403
from perfcost.batching.question import *  # noqa: F403
from perfcost.batching.scorecard import *  # noqa: F403
from perfcost.batching.service import *  # noqa: F403
from perfcost.batching.simulator import *  # noqa: F403
from perfcost.batching.sustained_load import *  # noqa: F403
from perfcost.batching.traces import *  # noqa: F403

__all__ = [
    *service.__all__, *policy.__all__, *simulator.__all__, *scorecard.__all__,
    *controllers.__all__, *traces.__all__, *evaluation.__all__, *sustained_load.__all__,
    *question.__all__,
]
