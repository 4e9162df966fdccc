"""The cost chapter's question as the cost tests share it: its service and its lever inputs.

``QUESTION`` is chapter 2's service with no lever pulled (500 requests/s, 50 kB up, 10 kB down,
30% to the EU, $2.5/h for 100 requests/s, 200 GB of models at $0.02/GB-month); ``INPUTS`` the
levers' inputs at the catalog's low discounts; :func:`levers` the seven levers built from them.
"""

from __future__ import annotations

from perfcost.cost import InferenceService
from perfcost.levers import Lever, standard_levers

QUESTION = InferenceService(
    request_rate_rps=500, request_kb=50, response_kb=10, eu_egress_fraction=0.3,
    instance_hourly_usd=2.5, instance_throughput_rps=100, model_storage_gb=200,
    storage_usd_per_gb_month=0.02,
)
INPUTS = dict(commitment_discount=0.28, spot_share=0.4, spot_discount=0.5, throughput_gain=1.0,
              cache_hit_rate=0.0, response_compression_ratio=3.0, archived_storage_fraction=0.75,
              archive_usd_per_gb_month=0.004)


def levers(**changes) -> list[Lever]:
    """The seven standard levers at ``INPUTS``, with ``changes`` applied."""
    return standard_levers(**{**INPUTS, **changes})
