"""Ways to serve the model: an instance type, a model variant and a batch size, per instance.

A :class:`ServingOption` is what one instance of a catalog type does for one model: requests per
second at full load and the time one request (or one batch) holds a core. Two sources:

* **measured** (:func:`measured_options`): the book's classifier timed on this machine. One
  core spends ``overhead_ms`` per request on everything but the model (HTTP parsing, JSON decode
  and encode) and ``model_ms(b)`` per batch of b, so with b requests per batch

      throughput = vCPUs × 1000 b / (b × overhead_ms + model_ms(b))   requests/s,
      service_ms = b × overhead_ms + model_ms(b).

  Assumption: an instance's vCPU serves as one thread of this machine does. A vCPU is a
  hyperthread, so read the figure as an upper bound for a busy instance. A GPU instance runs the
  small classifier on its vCPUs too (per-request overhead, not the model, is the bottleneck).
* **published** (:func:`published_options`): a heavier model's published throughput and latency
  per instance type (catalog ``workloads``), capped by what the instance's vCPUs can parse and
  encode at the measured per-request overhead.

Each option becomes chapter 1's :class:`~perfcost.instance_types.InstanceType` for sizing; a
batching option adds the time its batch takes to fill, at most ``max_wait_ms``, to every
request's latency (:meth:`ServingOption.wait_ms`): the wait of a batch's first request, a
pessimistic allowance for the others.

Used by chapter 5 (design).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from perfcost.instance_types import MAX_LATENCY_MS, InstanceType
from perfcost.pricing import Catalog, InstancePrice
from perfcost.validation import ParameterError, in_range, integer_in_range

__all__ = [
    "MAX_BATCH",
    "ServingCost",
    "ServingOption",
    "measured_options",
    "published_options",
]

MAX_BATCH = 4_096  # the batcher's largest batch (chapter 3's limit)


class ServingCost(Protocol):
    """What a measured serving profile gives (perfcost.serving.ServingProfile)."""

    overhead_ms: float
    batch_sizes: tuple[int, ...]

    def model_ms(self, batch: int) -> float: ...


@dataclass(frozen=True)
class ServingOption:
    """One way to serve: ``model`` on ``instance`` at batch ``batch``, and what it does."""

    instance: InstancePrice  # the catalog's instance type and price
    model: str  # the model served, e.g. "mlp_fp32"
    batch: int  # requests per model call (1: no batching)
    throughput_rps: float  # requests/s one instance serves at full load
    service_ms: float  # time one request (its batch) holds a serving slot
    max_wait_ms: float  # the batcher's fill bound, added to each request (0 at batch 1)
    basis: str  # "measured on this machine" or the published figure's source
    batchers: int = 1  # independent batch queues per instance (one per serving core)

    def wait_ms(self, instance_rps: float) -> float:
        """The batch wait a request is charged at ``instance_rps`` per instance: the time a
        batch takes to fill, at most ``max_wait_ms`` (0 at batch 1)."""
        return min(self.max_wait_ms, self.fill_ms(instance_rps))

    def fill_ms(self, instance_rps: float) -> float:
        """Time for a batch to fill at ``instance_rps`` per instance:
        (batch − 1) × batchers / rate, in ms (0 at batch 1)."""
        if self.batch == 1:
            return 0.0
        return 1000.0 * (self.batch - 1) * self.batchers / instance_rps

    @property
    def label(self) -> str:
        """e.g. "c7i.xlarge, mlp_fp32, batch 8"."""
        batching = "no batching" if self.batch == 1 else f"batch {self.batch}"
        return f"{self.instance.name}, {self.model}, {batching}"

    @property
    def hourly_usd(self) -> float:
        """The instance's on-demand price per hour."""
        return self.instance.hourly_usd

    def instance_type(self) -> InstanceType:
        """The option as chapter 1 sizes it: throughput, price and service latency."""
        return InstanceType(self.label[:64], self.throughput_rps, self.hourly_usd,
                            min(self.service_ms, MAX_LATENCY_MS))


def _per_request_ms(profile: ServingCost, batch: int) -> float:
    """Core time per request at batch b: overhead_ms + model_ms(b) / b."""
    return profile.overhead_ms + profile.model_ms(batch) / batch


def measured_option(instance: InstancePrice, model: str, profile: ServingCost, batch: int,
                    max_wait_ms: float) -> ServingOption:
    """One measured option: ``instance.vcpus`` cores each serving at ``profile``'s cost."""
    batch = integer_in_range("batch", batch, 1, MAX_BATCH)
    per_request_ms = _per_request_ms(profile, batch)
    return ServingOption(
        instance=instance, model=model, batch=batch,
        throughput_rps=instance.vcpus * 1000.0 / per_request_ms,
        service_ms=batch * per_request_ms,
        max_wait_ms=0.0 if batch == 1 else max_wait_ms,
        basis="measured on this machine", batchers=instance.vcpus)


def measured_options(catalog: Catalog, model: str, profile: ServingCost, *,
                     max_wait_ms: float, batches: Iterable[int] | None = None
                     ) -> list[ServingOption]:
    """Every catalog instance type at every measured batch size (or ``batches``)."""
    max_wait_ms = in_range("max_wait_ms", max_wait_ms, 0.0, MAX_LATENCY_MS)
    batches = profile.batch_sizes if batches is None else tuple(batches)
    return [measured_option(instance, model, profile, batch, max_wait_ms)
            for instance in catalog.instances.values() for batch in batches]


def published_options(catalog: Catalog, workload: str, model: str, overhead_ms: float, *,
                      max_wait_ms: float) -> list[ServingOption]:
    """The instance types with a published figure for ``workload``, one option each.

    throughput = min(published throughput, vCPUs × 1000 / overhead_ms): the host's cores must
    still parse and encode every request. The published latency (its statistic, often p99) is
    taken as the service time: pessimistic where it is a tail.
    """
    overhead_ms = in_range("overhead_ms", overhead_ms, 1e-6, MAX_LATENCY_MS)
    figures = catalog.workload(workload)
    if not figures:
        raise ParameterError("workload", f"one of {', '.join(sorted(catalog.workloads))}",
                             workload)
    return [_published(catalog.instance(name), model, figure, overhead_ms, max_wait_ms)
            for name, figure in figures.items() if name in catalog.instances]


def _published(instance: InstancePrice, model: str, figure, overhead_ms: float,
               max_wait_ms: float) -> ServingOption:
    host_rps = instance.vcpus * 1000.0 / overhead_ms
    batch = figure.batch or 1
    return ServingOption(
        instance=instance, model=model, batch=batch,
        throughput_rps=min(figure.throughput_rps, host_rps),
        service_ms=figure.latency_ms,
        # A published server scenario batched dynamically within its latency: no extra wait.
        max_wait_ms=0.0 if figure.batch is None or batch == 1 else max_wait_ms,
        basis=f"{figure.source.title} ({figure.as_of}); {figure.setup}")


def options_by_label(options: Iterable[ServingOption]) -> Mapping[str, ServingOption]:
    """The options keyed by label (labels are unique per model)."""
    return {option.label: option for option in options}
