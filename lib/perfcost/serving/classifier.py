"""Chapter 5's model: a small binary classifier trained on real data, exported to ONNX.

The data are the 569 breast-cancer biopsies that ship with scikit-learn (Wolberg, Street &
Mangasarian 1995, the Wisconsin Diagnostic Breast Cancer data): 30 measurements of cell nuclei,
label 0 = malignant, 1 = benign. One fixed stratified split keeps a quarter of them for testing.

The model is a ReLU multilayer perceptron, 30 → ``hidden_units`` → 2 logits (softmax; class 1 is
"benign"), trained with chapter 4's :func:`~perfcost.compression.training.train`. Standardisation
is the graph's first layer, ``(x − mean) / scale`` with the training split's statistics, so the
ONNX file takes the *raw* features a client sends (float32, shape [batch, 30]). It is kept as its
own operation rather than folded into the first layer's weights: the features span five orders
of magnitude (areas near 10^3, fractal dimensions near 10^-2), and dynamic int8 quantization
quantizes each tensor with one scale, which would flatten the small ones to zero.

Both variants are written with chapter 4's exporters: fp32
(:func:`~perfcost.compression.onnx_export.export_onnx`) and int8 with dynamic quantization
(:func:`~perfcost.compression.onnx_export.quantize_int8_dynamic`).

Used by chapter 5 (system design).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from perfcost.validation import ParameterError, integer_in_range, seed_value

__all__ = [
    "FEATURES",
    "MAX_EPOCHS",
    "MAX_HIDDEN_UNITS",
    "TEST_FRACTION",
    "Classifier",
    "VariantAccuracy",
    "load_breast_cancer_split",
    "onnx_labels",
    "train_classifier",
    "train_model",
]

FEATURES = 30  # measurements per biopsy in the Wisconsin data
TEST_FRACTION = 0.25  # 143 of the 569 biopsies held out
SPLIT_SEED = 0  # the split is fixed: every training seed is scored on the same test rows
MAX_HIDDEN_UNITS = 4_096  # chapter 4's widest layer
MAX_EPOCHS = 100  # chapter 4's limit on training passes


@dataclass(frozen=True)
class VariantAccuracy:
    """One variant's held-out accuracy with a 95% bootstrap interval, and its paired
    difference to fp32 on the same rows (0 for fp32 itself)."""

    accuracy: float
    low: float
    high: float
    difference_to_fp32: float  # this variant's accuracy minus fp32's, same test rows
    difference_low: float
    difference_high: float


@dataclass(frozen=True)
class Classifier:
    """The trained classifier: its ONNX files, held-out accuracy and test rows."""

    onnx_paths: dict[str, Path]  # {"fp32": ..., "int8": ...}: raw float32 features in
    features: int  # inputs per example (30)
    accuracy: dict[str, VariantAccuracy]  # per variant, on the held-out rows
    test_features: np.ndarray = field(repr=False)  # raw held-out rows, float64 (rows, 30)
    test_labels: np.ndarray = field(repr=False)  # 0 malignant, 1 benign
    train_s: float = 0.0  # wall time of training and both exports

    @property
    def variants(self) -> tuple[str, ...]:
        """The variants' names, fp32 first."""
        return tuple(self.onnx_paths)

    def example_rows(self, count: int) -> np.ndarray:
        """``count`` raw feature rows (float32), cycling through the test rows: what clients
        send. ``count`` in [1, 1,000,000]."""
        count = integer_in_range("count", count, 1, 1_000_000)
        return self.test_features[np.arange(count) % len(self.test_features)].astype(np.float32)


def load_breast_cancer_split():
    """The Wisconsin breast-cancer data split once, stratified by label: a chapter 4
    :class:`~perfcost.compression.data.Dataset` (float32 features, int64 labels) and the raw
    float64 test rows."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    from perfcost.compression.data import Dataset

    x, y = load_breast_cancer(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=TEST_FRACTION, stratify=y, random_state=SPLIT_SEED)
    data = Dataset(x_train.astype(np.float32), y_train.astype(np.int64),
                   x_test.astype(np.float32), y_test.astype(np.int64))
    return data, x_test


def _standardised_mlp(x_train: np.ndarray, hidden_units: int):
    """Standardise (training mean and scale) → Linear → ReLU → Linear(2), as one module."""
    import torch
    from torch import nn

    from perfcost.compression.training import mlp

    class Standardise(nn.Module):
        def __init__(self, mean: np.ndarray, scale: np.ndarray):
            super().__init__()
            self.register_buffer("mean", torch.from_numpy(mean.astype(np.float32)))
            self.register_buffer("scale", torch.from_numpy(scale.astype(np.float32)))

        def forward(self, x):
            return (x - self.mean) / self.scale

    scale = np.where(x_train.std(axis=0) > 0, x_train.std(axis=0), 1.0)
    return nn.Sequential(Standardise(x_train.mean(axis=0), scale),
                         *mlp([FEATURES, hidden_units, 2]))


def train_model(data, *, hidden_units: int = 32, epochs: int = 20, seed: int = 0):
    """The PyTorch model, standardisation first, trained with chapter 4's loop on ``data``
    (from :func:`load_breast_cancer_split`); the caller's torch random state is left as it was.
    Arguments as in :func:`train_classifier`."""
    import torch

    from perfcost.compression.data import check_dataset
    from perfcost.compression.training import train

    data = check_dataset(data)
    hidden_units = integer_in_range("hidden_units", hidden_units, 1, MAX_HIDDEN_UNITS)
    epochs = integer_in_range("epochs", epochs, 1, MAX_EPOCHS)
    seed = seed_value(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = _standardised_mlp(data.x_train, hidden_units)
        train(model, data, epochs=epochs, seed=seed, learning_rate=1e-2, batch_size=64)
    return model.eval()


def onnx_labels(onnx_path: Path, rows: np.ndarray) -> np.ndarray:
    """The labels (0/1) an ONNX classifier gives raw feature rows, one intra-op thread."""
    from perfcost.compression.timing import predict

    return predict(onnx_path, np.asarray(rows, np.float32), threads=1).argmax(axis=1)


def _accuracies(paths: dict[str, Path], data) -> dict[str, VariantAccuracy]:
    """Held-out accuracy of every variant, and its paired difference to fp32's."""
    from perfcost.significance import accuracy_with_ci, paired_accuracy

    predicted = {name: onnx_labels(path, data.x_test) for name, path in paths.items()}
    found = {}
    for name, labels in predicted.items():
        paired = paired_accuracy(predicted["fp32"] == data.y_test, labels == data.y_test)
        same = name == "fp32"
        found[name] = VariantAccuracy(
            *accuracy_with_ci(labels, data.y_test),
            *(0.0, 0.0, 0.0) if same else (float(paired.difference), float(paired.low),
                                            float(paired.high)))
    return found


def train_classifier(workdir: Path, *, seed: int = 0, hidden_units: int = 32,
                     epochs: int = 20) -> Classifier:
    """Train the breast-cancer classifier and write ``fp32.onnx`` and ``int8.onnx`` in
    ``workdir`` (an existing folder).

    Parameters
    ----------
    workdir : Path
        Folder the two ONNX files are written to; it must exist.
    seed : int
        Seed of the weights' initialisation and of the order of training examples,
        in [0, 2**32 - 1]. The split is fixed whatever the seed.
    hidden_units : int
        Width of the hidden layer, in [1, 4,096].
    epochs : int
        Passes over the 426 training rows (Adam, learning rate 0.01, batches of 64),
        in [1, 100].

    Returns
    -------
    Classifier
        The ONNX paths, held-out accuracies with intervals, and the test rows.
    """
    workdir = _folder(workdir)
    start = time.perf_counter()
    data, raw_test = load_breast_cancer_split()
    model = train_model(data, hidden_units=hidden_units, epochs=epochs, seed=seed)
    paths = _exported(model, workdir)
    return Classifier(paths, FEATURES, _accuracies(paths, data), raw_test, data.y_test,
                      time.perf_counter() - start)


def _exported(model, workdir: Path) -> dict[str, Path]:
    """fp32 and dynamic-int8 ONNX files of ``model`` in ``workdir``."""
    from perfcost.compression.onnx_export import export_onnx, quantize_int8_dynamic

    fp32 = export_onnx(model, workdir / "fp32.onnx")
    return {"fp32": fp32, "int8": quantize_int8_dynamic(fp32, workdir / "int8.onnx")}


def _folder(workdir: object) -> Path:
    """``workdir`` as a Path to an existing folder, or ParameterError."""
    if not isinstance(workdir, str | Path) or not Path(workdir).is_dir():
        raise ParameterError("workdir", "an existing folder", workdir)
    return Path(workdir)
