"""Chapter 5: design an inference service within a latency SLO and a monthly budget.

* :mod:`~perfcost.design.question`: the chapter's inputs (:class:`DesignQuestion`);
* :mod:`~perfcost.design.options`: ways to serve the model per instance type and batch size;
* :mod:`~perfcost.design.latency`: the request path's stages and the server's latency budget;
* :mod:`~perfcost.design.sizing`: every option sized at the peak (N + 1, two zones);
* :mod:`~perfcost.design.day`: the autoscaling policies over a day, minutes meeting the SLO;
* :mod:`~perfcost.design.bill`: servers, cache, load balancer and egress, a month;
* :mod:`~perfcost.design.evaluation`: every configuration priced, the cheapest that passes;
* :mod:`~perfcost.design.service`: :func:`design_service`, the chapter's answer;
* :mod:`~perfcost.design.fixes`: the cheapest change that brings a design within budget.
"""

from perfcost.design.question import MODELS, DesignQuestion
from perfcost.design.service import Design, design_service

__all__ = ["MODELS", "Design", "DesignQuestion", "design_service"]
