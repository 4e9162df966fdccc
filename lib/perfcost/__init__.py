"""perfcost: performance engineering and cost optimisation for ML inference, the library behind
the executable book.

The models readers import, by the chapter that introduces them: capacity sizing
(:mod:`~perfcost.queueing`, :mod:`~perfcost.fleet_latency`, :mod:`~perfcost.capacity`), the
monthly bill and how to cut it (:mod:`~perfcost.cost`, :mod:`~perfcost.savings`), a batching
controller (:mod:`perfcost.batching`) and model compression (:mod:`perfcost.compression`). Each
chapter's inputs are one validated question object (``capacity.CapacityQuestion``,
``cost.CostQuestion``, ``batching.BatchingQuestion``, ``compression.CompressionQuestion``).
The machinery that builds and re-runs the book lives apart, in :mod:`perfcost.book`; no model
imports it. README.md lists every module and its one job.
"""
