"""Pruning chapter 4's MLP: unstructured (weights zeroed by magnitude, the shapes kept) and
structured (whole hidden units dropped by norm: a smaller dense network).

Used by chapter 4 (compression).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils import prune

from perfcost.compression.training import check_model, linears, mlp
from perfcost.validation import ParameterError, fraction

__all__ = [
    "make_pruning_permanent",
    "prune_structured",
    "prune_unstructured",
    "weight_sparsity",
]


def prune_unstructured(model: nn.Module, sparsity: float) -> nn.Module:
    """Zero the smallest-magnitude ``sparsity`` share of every Linear layer's weights.

    Uses ``torch.nn.utils.prune.l1_unstructured``: the mask stays registered (so fine-tuning
    keeps the zeros) until :func:`make_pruning_permanent`.
    """
    model = check_model(model)
    sparsity = fraction("sparsity", sparsity, high_open=True)
    for layer in linears(model):
        prune.l1_unstructured(layer, name="weight", amount=sparsity)
    return model


def make_pruning_permanent(model: nn.Module) -> nn.Module:
    """Fold pruning masks into the weights (the zeros stay; the mask bookkeeping goes)."""
    for layer in linears(model):
        if prune.is_pruned(layer):
            prune.remove(layer, "weight")
    return model


def weight_sparsity(model: nn.Module) -> float:
    """The share of Linear weights that are exactly zero."""
    weights = [layer.weight.detach() for layer in linears(model)]
    return float(sum((w == 0).sum().item() for w in weights) / sum(w.numel() for w in weights))


def _kept_units(layers: list[nn.Linear], keep_fraction: float) -> list[torch.Tensor]:
    """Per layer boundary, the indices kept: all inputs, the top ceil(width × keep_fraction)
    hidden units by the L2 norm of their incoming weights (in their original order), all
    outputs."""
    keep = [torch.arange(layers[0].in_features)]
    for layer in layers[:-1]:
        count = max(1, math.ceil(layer.out_features * keep_fraction))
        norms = layer.weight.detach().norm(dim=1)
        keep.append(torch.sort(torch.topk(norms, count).indices).values)
    return [*keep, torch.arange(layers[-1].out_features)]


def prune_structured(model: nn.Sequential, keep_fraction: float) -> nn.Sequential:
    """A smaller copy of ``model`` keeping the ``keep_fraction`` hidden units of largest norm.

    A hidden unit is a row of one layer's weight and the matching column of the next; units are
    ranked by the L2 norm of their incoming weights, and each hidden layer keeps
    ceil(width × keep_fraction) of them, in their original order.
    """
    keep_fraction = fraction("keep_fraction", keep_fraction, low_open=True)
    layers = linears(check_model(model))
    if not layers:
        raise ParameterError("model", "an MLP built by mlp()", type(model).__name__)
    keep = _kept_units(layers, keep_fraction)
    smaller = mlp([len(index) for index in keep])
    with torch.no_grad():
        for new, old, rows, columns in zip(linears(smaller), layers, keep[1:], keep[:-1],
                                           strict=True):
            new.weight.copy_(old.weight[rows][:, columns])
            new.bias.copy_(old.bias[rows])
    return smaller.eval()
