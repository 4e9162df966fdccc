"""Chapter 4's model and how it is trained: a ReLU multilayer perceptron, trained with Adam on
the CPU, optionally distilled from a teacher (Hinton et al. 2015).

The teacher is wide enough (hidden layers of 1,024) that matrix multiplies dominate its
latency. :class:`TrainingCost` counts what training took, the engineering-cost proxy the
chapter ranks variants by.

Used by chapter 4 (compression).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from perfcost.compression.data import Dataset, check_dataset
from perfcost.compression.settings import MAX_BATCH, MAX_EPOCHS, MAX_UNITS, check_temperature
from perfcost.validation import ParameterError, fraction, integer_in_range, positive, seed_value

__all__ = [
    "TrainingCost",
    "check_model",
    "distillation_loss",
    "forward_macs",
    "linears",
    "mlp",
    "train",
]

MAX_LAYERS = 16  # widths passed to mlp


def check_model(model: object) -> nn.Module:
    """Return ``model`` if it is a PyTorch module; raise ParameterError naming ``model``."""
    if not isinstance(model, nn.Module):
        raise ParameterError("model", "a torch.nn.Module", type(model).__name__)
    return model


def mlp(sizes: Sequence[int]) -> nn.Sequential:
    """A ReLU multilayer perceptron with layer widths ``sizes`` (inputs first, classes last):
    2 to 16 widths, each a whole number in [1, 4,096]."""
    valid = f"a list of 2 to {MAX_LAYERS} widths"
    if not isinstance(sizes, list | tuple) or not 2 <= len(sizes) <= MAX_LAYERS:
        raise ParameterError("sizes", valid, sizes)
    sizes = [integer_in_range("sizes", s, 1, MAX_UNITS) for s in sizes]
    layers: list[nn.Module] = []
    for index, (inputs, outputs) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(inputs, outputs))
        if index < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def linears(model: nn.Module) -> list[nn.Linear]:
    """The model's Linear layers, inputs first."""
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


def forward_macs(model: nn.Module) -> int:
    """Multiply-accumulates of one forward pass for one input: Σ inputs × outputs per layer."""
    return sum(layer.in_features * layer.out_features for layer in linears(model))


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor | None,
                      labels: torch.Tensor, temperature: float, alpha: float) -> torch.Tensor:
    """Hinton et al. (2015): α T² KL(softmax(t/T) ‖ softmax(s/T)) + (1 − α) CE(s, y).

    The T² keeps the soft term's gradients on the scale of the hard one. With α = 0 (no soft
    term) it is the cross-entropy with the labels, at any temperature in [0.01, 100].
    """
    temperature = check_temperature(temperature)
    alpha = fraction("alpha", alpha)
    hard = F.cross_entropy(student_logits, labels)
    if alpha == 0 or teacher_logits is None:
        return hard
    soft = F.kl_div(F.log_softmax(student_logits / temperature, dim=1),
                    F.softmax(teacher_logits / temperature, dim=1), reduction="batchmean")
    return alpha * temperature**2 * soft + (1 - alpha) * hard


@dataclass(frozen=True)
class TrainingCost:
    """What training took: epochs, examples seen, floating-point operations and wall time.

    FLOPs count 6 per multiply-accumulate and example for training (forward 2, backward 4) and
    2 per MAC for the teacher's forward passes during distillation: the engineering-cost proxy.
    """

    epochs: int
    examples: int
    flops: float
    seconds: float

    def __add__(self, other: TrainingCost) -> TrainingCost:
        return TrainingCost(self.epochs + other.epochs, self.examples + other.examples,
                            self.flops + other.flops, self.seconds + other.seconds)


def train(model: nn.Module, data: Dataset, *, epochs: int, seed: int, learning_rate: float = 1e-3,
          batch_size: int = 128, teacher: nn.Module | None = None, temperature: float = 4.0,
          alpha: float = 0.0) -> TrainingCost:
    """Train ``model`` in place with Adam on the training split; distil from ``teacher`` if given.

    Pruning masks registered by :func:`perfcost.compression.pruning.prune_unstructured` stay
    applied while it trains, so fine-tuning keeps the pruned weights at zero. ``epochs`` in
    [1, 100], ``batch_size`` in [1, 65,536], ``learning_rate`` in (0, 10].
    """
    model, data = check_model(model), check_dataset(data)
    teacher = None if teacher is None else check_model(teacher)
    epochs = integer_in_range("epochs", epochs, 1, MAX_EPOCHS)
    seed = seed_value(seed)
    batch_size = integer_in_range("batch_size", batch_size, 1, MAX_BATCH)
    learning_rate = positive("learning_rate", learning_rate, maximum=10.0)
    check_temperature(temperature)
    fraction("alpha", alpha)
    start = time.perf_counter()
    _fit(model, data, epochs, seed, learning_rate, batch_size, teacher, temperature, alpha)
    examples = epochs * len(data.y_train)
    flops = 6.0 * forward_macs(model) * examples
    if teacher is not None:
        flops += 2.0 * forward_macs(teacher) * examples
    return TrainingCost(epochs, examples, flops, time.perf_counter() - start)


def _fit(model: nn.Module, data: Dataset, epochs: int, seed: int, learning_rate: float,
         batch_size: int, teacher: nn.Module | None, temperature: float, alpha: float) -> None:
    """The training loop: ``epochs`` shuffled passes of Adam steps on the distillation loss."""
    torch.manual_seed(seed)
    x, y = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    generator = torch.Generator().manual_seed(seed)
    if teacher is not None:
        teacher.eval()
    model.train()
    for _ in range(epochs):
        for batch in torch.randperm(len(y), generator=generator).split(batch_size):
            teacher_logits = None
            if teacher is not None:
                with torch.no_grad():
                    teacher_logits = teacher(x[batch])
            loss = distillation_loss(model(x[batch]), teacher_logits, y[batch], temperature, alpha)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()
