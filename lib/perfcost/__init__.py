"""perfcost: performance engineering and cost optimisation for ML inference, the library behind
the executable book.

The models readers import, by the chapter that introduces them: capacity sizing
(:mod:`~perfcost.queueing`, :mod:`~perfcost.fleet_latency`, :mod:`~perfcost.capacity`), the
monthly bill and how to cut it (:mod:`~perfcost.cost`, :mod:`~perfcost.savings`), a batching
controller (:mod:`perfcost.batching`), model compression (:mod:`perfcost.compression`) and a
service designed end to end (:mod:`perfcost.design`, serving a model measured with
:mod:`perfcost.serving`). Each chapter's inputs are one validated question object
(:class:`~perfcost.capacity.CapacityQuestion`, :class:`~perfcost.cost.CostQuestion`,
:class:`~perfcost.batching.question.BatchingQuestion`,
:class:`~perfcost.compression.question.CompressionQuestion`,
:class:`~perfcost.design.question.DesignQuestion`). The machinery that builds and re-runs the
book lives apart, in :mod:`perfcost.book`; no model imports it. This reference has a page for
every module, listed below with its one job.
"""
