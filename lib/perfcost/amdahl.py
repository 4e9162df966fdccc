r"""Amdahl's law for a model speed-up: how much of it survives once the whole request is counted.

A compressed model (int8, fp16, pruned, distilled) is timed on the model alone. A request also
pays for work the compression does not touch: decoding the upload (a JPEG image), the network
round trip, pre-processing (resize, crop, normalise) and post-processing (softmax, top-k,
serialise). With the model taking a share p of the end-to-end time and made s times faster,
Amdahl's law (Amdahl 1967) gives the end-to-end speed-up

.. math::  S = \frac{1}{(1 - p) + p / s},

between 1 and s for s >= 1, and never above the ceiling 1 / (1 - p), however fast the model.

*Surviving fraction.* :func:`surviving_fraction` is the part of the model's speed-up in excess
of 1 that reaches the whole request, (S - 1) / (s - 1). It simplifies to

.. math::  f = \frac{S - 1}{s - 1} = \frac{p}{p + s (1 - p)},

which is also the model's share of the *new* end-to-end time. The closed form needs no special
case at s = 1, where it equals p (the limit of (S - 1) / (s - 1) as s -> 1): a vanishingly small
speed-up of the model shows end to end in proportion to the model's share. For s > 1, f lies in
[0, p] and falls towards 0 as s grows; for a slow-down (s < 1) it lies in [p, 1].

Valid ranges, checked before any work (a bad value raises ParameterError naming the argument):

* every stage of a :class:`RequestPath`: finite, in [0, 60,000] ms (:data:`MAX_STAGE_MS`);
* ``model_ms``: in [10^-6, 60,000] ms (:data:`MIN_MODEL_MS`), so a ratio of two model times
  stays finite;
* ``model_speedup`` s: in [10^-12, 10^12] (:data:`MIN_SPEEDUP`, :data:`MAX_SPEEDUP`); s < 1 is a
  slow-down and is allowed;
* ``share`` p: in [0, 1] (in [0, 1) for :func:`speedup_ceiling`).

Within these ranges every result is finite and non-negative.

*Cited defaults* (:func:`cited_request_path`; every figure read 2026-11-29, BibTeX keys in
``book/references.bib``):

================  ==========  ====================================================================
stage             ms          source
================  ==========  ====================================================================
decode_ms         1.73355     ``iglovikov2026imread``: Pillow 12.2.0, one thread, Intel Xeon
                              Platinum 8581C, mean over the 50,000 ImageNet validation JPEGs
                              decoded from memory: 1,733.55 µs per image
network_ms        0.5         ``dean2009ladis``: "round trip within same datacenter, 500,000 ns"
preprocess_ms     1.802       ``hug2023resize``: torchvision classification pipeline, median per
                              image, PILToTensor 258 µs + Resize 1,238 µs + ConvertImageDtype
                              120 µs + Normalize 186 µs (the training-only augmentations left out)
postprocess_ms    0.05722     ``torchserve2024openvino``: TorchServe's image_classifier handler
                              (softmax, top-5, label lookup), ResNet-50, Xeon Platinum 8469
================  ==========  ====================================================================

These are typical figures, not the book's own service: the decode figure is for ImageNet
validation images (about 6.7 GB for the 50,000 files, some 135 kB each), larger than the cost
chapter's 50 kB request, so it likely overstates decoding that request; the network figure is a
bare round trip and leaves out the upload itself (50 kB at 1 Gbps adds about 0.4 ms);
post-processing leaves out serialising the reply.

Used by chapter 4 (compression).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from types import MappingProxyType

import pandas as pd

from perfcost.validation import ParameterError, fraction, in_range, non_negative

__all__ = [
    "CITED_DEFAULTS_MS",
    "CITED_SOURCES",
    "MAX_SPEEDUP",
    "MAX_STAGE_MS",
    "MAX_VARIANTS",
    "MIN_MODEL_MS",
    "MIN_SPEEDUP",
    "TABLE_COLUMNS",
    "RequestPath",
    "amdahl_speedup",
    "cited_request_path",
    "end_to_end_ms",
    "end_to_end_table",
    "model_share",
    "speedup_ceiling",
    "surviving_fraction",
]

MAX_STAGE_MS = 60_000.0  # a minute per stage: beyond any interactive request
MIN_MODEL_MS = 1e-6  # a nanosecond: keeps every ratio of model times below 10^11
MIN_SPEEDUP = 1e-12  # with MAX_SPEEDUP: covers every ratio of two valid model times
MAX_SPEEDUP = 1e12  # far beyond any real variant; keeps (1 - p) + p / s finite and > 0
MAX_VARIANTS = 1_000  # rows of end_to_end_table
TABLE_COLUMNS = ("model_ms", "end_to_end_ms", "model_speedup", "end_to_end_speedup")

# --- Cited figures (each read 2026-11-29) ------------------------------------------------------
# Iglovikov, V., imread_benchmark (github.com/ternaus/imread_benchmark, 2026; its preprint is
# arXiv:2605.08731), commit 15865fb4, file
# output/linux_INTEL(R)-XEON(R)-PLATINUM-8581C-CPU-@-2.30GHz/pillow_1t_results.json: Pillow
# 12.2.0, one thread, 50,000 ImageNet validation JPEGs decoded from memory, us_per_image_mean
# 1733.55 (576.88 images/s).
PILLOW_DECODE_US = 1_733.55
# Dean, J., "Designs, Lessons and Advice from Building Large Distributed Systems", LADIS 2009
# keynote (cs.cornell.edu/projects/ladis2009/talks/dean-keynote-ladis2009.pdf), as transcribed by
# J. Hamilton, Perspectives blog, 2009-10-17: "Round trip within same datacenter 500,000 ns".
DATACENTER_ROUND_TRIP_NS = 500_000
# Hug, N., "Let Resize() handle uint8 images natively for bilinear mode", pytorch/vision issue
# #7497, 2023-04-04: classification pipeline, median µs per image over 1,000 samples (tensor
# input, transforms v1). The steps an inference request runs; the training augmentations
# (RandomResizedCrop, flip, AutoAugment, RandomErasing) are left out.
TORCHVISION_PREPROCESS_US = {"PILToTensor": 258, "Resize": 1_238, "ConvertImageDtype": 120,
                             "Normalize": 186}
# TorchServe contributors, examples/pt2/torch_compile_openvino/README.md (github.com/pytorch/serve,
# commit bc6fd276, measured 2024-05-01 on an Intel Xeon Platinum 8469): ResNet-50 in eager
# mode, stock image_classifier handler (softmax, top-5, label lookup):
# ts_handler_postprocess.Milliseconds:0.057220458984375.
TORCHSERVE_POSTPROCESS_MS = 0.05722

CITED_DEFAULTS_MS = MappingProxyType({  # read-only
    "decode_ms": PILLOW_DECODE_US / 1_000,
    "network_ms": DATACENTER_ROUND_TRIP_NS / 1_000_000,
    "preprocess_ms": sum(TORCHVISION_PREPROCESS_US.values()) / 1_000,
    "postprocess_ms": TORCHSERVE_POSTPROCESS_MS,
})
CITED_SOURCES = MappingProxyType({  # BibTeX keys in book/references.bib
    "decode_ms": "iglovikov2026imread",
    "network_ms": "dean2009ladis",
    "preprocess_ms": "hug2023resize",
    "postprocess_ms": "torchserve2024openvino",
})


# --- Checks ------------------------------------------------------------------------------------

def _stage_ms(name: str, value: object) -> float:
    return non_negative(name, value, maximum=MAX_STAGE_MS)


def _model_ms(value: object, name: str = "model_ms") -> float:
    return in_range(name, value, MIN_MODEL_MS, MAX_STAGE_MS)


def _speedup(value: object) -> float:
    return in_range("model_speedup", value, MIN_SPEEDUP, MAX_SPEEDUP)


def _share(value: object) -> float:
    return fraction("share", value)


def _path(path: object) -> RequestPath:
    if not isinstance(path, RequestPath):
        raise ParameterError("path", "a RequestPath", type(path).__name__)
    return path


# --- The request ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class RequestPath:
    """The work a request pays for besides the model, in milliseconds per request.

    Each stage is checked on construction: finite, in [0, 60,000] ms (:data:`MAX_STAGE_MS`).

    Parameters
    ----------
    decode_ms : float
        Decoding the upload (a JPEG image) into pixels.
    network_ms : float
        The network round trip between client and server.
    preprocess_ms : float
        Turning pixels into the model's input: resize, crop, convert, normalise.
    postprocess_ms : float
        Turning the model's output into a reply: softmax, top-k, serialise.

    Raises
    ------
    perfcost.validation.ParameterError
        If a stage is not a finite number in [0, 60,000] ms.
    """

    decode_ms: float
    network_ms: float
    preprocess_ms: float
    postprocess_ms: float

    def __post_init__(self):
        for field in fields(self):
            object.__setattr__(self, field.name, _stage_ms(field.name, getattr(self, field.name)))

    @property
    def overhead_ms(self) -> float:
        """decode + network + pre-processing + post-processing, in ms."""
        return self.decode_ms + self.network_ms + self.preprocess_ms + self.postprocess_ms


def cited_request_path() -> RequestPath:
    """Return the cited defaults (:data:`CITED_DEFAULTS_MS`) as a :class:`RequestPath`.

    Sources and their caveats: the module docstring; BibTeX keys: :data:`CITED_SOURCES`.

    Returns
    -------
    RequestPath
        decode 1.73355 ms, network 0.5 ms, pre-processing 1.802 ms and post-processing
        0.05722 ms: an overhead of 4.09277 ms per request.

    References
    ----------
    Iglovikov (2026), imread_benchmark (``iglovikov2026imread``): the decode time. Dean (2009),
    LADIS keynote (``dean2009ladis``): the round trip within a datacenter. Hug (2023),
    pytorch/vision issue 7497 (``hug2023resize``): pre-processing. TorchServe contributors
    (2024), torch.compile with OpenVINO example (``torchserve2024openvino``): post-processing.
    Every figure read 2026-11-29.
    """
    return RequestPath(**CITED_DEFAULTS_MS)


def end_to_end_ms(model_ms: float, path: RequestPath) -> float:
    """Return the end-to-end time of one request: the model's time plus the path's overhead.

    Parameters
    ----------
    model_ms : float
        The model's time per request, in [10^-6, 60,000] ms.
    path : RequestPath
        The rest of the request.

    Returns
    -------
    float
        T = model_ms + decode_ms + network_ms + preprocess_ms + postprocess_ms, in ms (> 0).

    Raises
    ------
    perfcost.validation.ParameterError
        If ``model_ms`` is outside [10^-6, 60,000] or ``path`` is not a RequestPath.
    """
    return _model_ms(model_ms) + _path(path).overhead_ms


def model_share(model_ms: float, path: RequestPath) -> float:
    """Return the model's share of the end-to-end time, the p of Amdahl's law.

    Parameters
    ----------
    model_ms : float
        The model's time per request, in [10^-6, 60,000] ms.
    path : RequestPath
        The rest of the request.

    Returns
    -------
    float
        p = model_ms / (model_ms + overhead_ms), in (0, 1].

    Raises
    ------
    perfcost.validation.ParameterError
        If ``model_ms`` is outside [10^-6, 60,000] or ``path`` is not a RequestPath.
    """
    model_ms = _model_ms(model_ms)
    return model_ms / (model_ms + _path(path).overhead_ms)


# --- Amdahl's law --------------------------------------------------------------------------------

def _amdahl(model_speedup: float, share: float) -> float:
    """1 / ((1 - p) + p / s) for validated s and p; the denominator is >= min(1, 1/s) > 0."""
    return 1.0 / ((1.0 - share) + share / model_speedup)


def amdahl_speedup(model_speedup: float, share: float) -> float:
    r"""Return the end-to-end speed-up when a part taking share p is made s times faster.

    .. math::  S = \frac{1}{(1 - p) + p / s}

    Parameters
    ----------
    model_speedup : float
        s, the model's own speed-up, in [10^-12, 10^12]; s < 1 is a slow-down.
    share : float
        p, the model's share of the end-to-end time before the change, in [0, 1].

    Returns
    -------
    float
        S = 1 / ((1 - p) + p / s): between 1 and s (s when p = 1, 1 when p = 0).

    Raises
    ------
    perfcost.validation.ParameterError
        If ``model_speedup`` is outside [10^-12, 10^12] or ``share`` outside [0, 1].

    References
    ----------
    G. M. Amdahl, "Validity of the single processor approach to achieving large scale computing
    capabilities", AFIPS Spring Joint Computer Conference (1967).
    """
    return _amdahl(_speedup(model_speedup), _share(share))


def speedup_ceiling(share: float) -> float:
    r"""Return the most the whole request can gain, however fast the model becomes.

    .. math::  \lim_{s \to \infty} \frac{1}{(1 - p) + p / s} = \frac{1}{1 - p}

    Parameters
    ----------
    share : float
        p, the model's share of the end-to-end time, in [0, 1) (at p = 1 there is no ceiling).

    Returns
    -------
    float
        lim S as s -> infinity = 1 / (1 - p), >= 1.

    Raises
    ------
    perfcost.validation.ParameterError
        If ``share`` is outside [0, 1).

    References
    ----------
    G. M. Amdahl, "Validity of the single processor approach to achieving large scale computing
    capabilities", AFIPS Spring Joint Computer Conference (1967).
    """
    share = fraction("share", share, high_open=True)
    return 1.0 / (1.0 - share)


def surviving_fraction(model_speedup: float, share: float) -> float:
    r"""Return the part of the model's speed-up that survives end to end.

    .. math::  f = \frac{S - 1}{s - 1} = \frac{p}{p + s (1 - p)}

    Parameters
    ----------
    model_speedup : float
        s, the model's own speed-up, in [10^-12, 10^12]; s < 1 is a slow-down.
    share : float
        p, the model's share of the end-to-end time before the change, in [0, 1].

    Returns
    -------
    float
        f = (S - 1) / (s - 1) = p / (p + s (1 - p)), in [0, 1], where S is
        :func:`amdahl_speedup`. At s = 1 the closed form gives p, the limit of (S - 1) / (s - 1):
        a small change to the model shows end to end in proportion to its share. f is also the
        model's share of the end-to-end time after the change. 1 means the whole speed-up
        reaches the request (p = 1); 0 means none of it does (p = 0).

    Raises
    ------
    perfcost.validation.ParameterError
        If ``model_speedup`` is outside [10^-12, 10^12] or ``share`` outside [0, 1].

    References
    ----------
    G. M. Amdahl, "Validity of the single processor approach to achieving large scale computing
    capabilities", AFIPS Spring Joint Computer Conference (1967).
    """
    model_speedup, share = _speedup(model_speedup), _share(share)
    return share / (share + model_speedup * (1.0 - share))


# --- A table of variants ---------------------------------------------------------------------

def _variants(model_ms_by_variant: object, baseline: object) -> dict[str, float]:
    """The variants as {name: validated model_ms}, the baseline first."""
    valid = f"a mapping of 1 to {MAX_VARIANTS} variant names (non-empty text) to model_ms"
    if (not isinstance(model_ms_by_variant, Mapping) or not model_ms_by_variant
            or len(model_ms_by_variant) > MAX_VARIANTS
            or not all(isinstance(name, str) and name for name in model_ms_by_variant)):
        raise ParameterError("model_ms_by_variant", valid, model_ms_by_variant)
    if not isinstance(baseline, str) or baseline not in model_ms_by_variant:
        raise ParameterError("baseline", "one of the names in model_ms_by_variant", baseline)
    names = [baseline, *(name for name in model_ms_by_variant if name != baseline)]
    return {name: _model_ms(model_ms_by_variant[name], f"model_ms_by_variant[{name!r}]")
            for name in names}


def end_to_end_table(model_ms_by_variant: dict[str, float], baseline: str,
                     path: RequestPath) -> pd.DataFrame:
    """Return each variant's model time and speed-up beside its end-to-end time and speed-up.

    Parameters
    ----------
    model_ms_by_variant : dict[str, float]
        Each variant's model time per request, in [10^-6, 60,000] ms; 1 to 1,000 variants.
    baseline : str
        The variant the speed-ups are measured against; one of the names.
    path : RequestPath
        The rest of the request, the same for every variant.

    Returns
    -------
    pandas.DataFrame
        Indexed by variant (the baseline first, the others in the given order), with columns
        :data:`TABLE_COLUMNS`: ``model_ms``; ``end_to_end_ms`` = model_ms + overhead_ms;
        ``model_speedup`` s = baseline model_ms / model_ms; ``end_to_end_speedup`` =
        baseline end_to_end_ms / end_to_end_ms, which equals
        :func:`amdahl_speedup` (s, p) with p the baseline's :func:`model_share`.

    Raises
    ------
    perfcost.validation.ParameterError
        If ``model_ms_by_variant`` is not a mapping of 1 to 1,000 non-empty names to model
        times in [10^-6, 60,000] ms, ``baseline`` is not one of its names, or ``path`` is not a
        RequestPath.

    References
    ----------
    G. M. Amdahl, "Validity of the single processor approach to achieving large scale computing
    capabilities", AFIPS Spring Joint Computer Conference (1967).
    """
    variants = _variants(model_ms_by_variant, baseline)
    overhead_ms = _path(path).overhead_ms
    table = pd.DataFrame({"model_ms": variants.values()},
                         index=pd.Index(variants.keys(), name="variant"))
    table["end_to_end_ms"] = table["model_ms"] + overhead_ms
    table["model_speedup"] = table["model_ms"].iloc[0] / table["model_ms"]
    table["end_to_end_speedup"] = table["end_to_end_ms"].iloc[0] / table["end_to_end_ms"]
    return table[list(TABLE_COLUMNS)]
