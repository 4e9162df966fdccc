"""Figures one chapter measures and another uses, read from the executed chapter: cited, not typed.

Chapter 2's throughput lever defaults to the gain chapter 4 measured for the variant it says to
try first (its glued ``first_choice``): ``VARIANT_throughput_gain``, the ratio of its batch-64
throughput to fp32's when that ratio's interval excludes 1, else exactly 1.0 (no measurable
difference is no gain). The figures are read from the book's
committed, executed notebook (``analyses/compression.ipynb``) with
:func:`perfcost.book.results.glued_results`, so the number and its provenance travel together and
change when that chapter is re-executed (``make outputs`` runs the chapters in name order, so
compression before cost). The book is passed explicitly: chapter 2's ``book_root`` parameter,
which ``perfcost rerun`` fills with the book it found the chapter in
(:func:`perfcost.book.chapters.checked_parameters`), so a re-run reads the book it ran from,
wherever it executes (``_build/reruns/``, any ``-o`` folder) and whichever book ``--root`` named.
Only without one (the chapter executed in place) is the book found from the working directory
upwards (:func:`perfcost.book.chapters.find_book_root`).

Used by chapter 2 (cost breakdown).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nbformat

from perfcost.book.results import glued_results
from perfcost.validation import ParameterError

__all__ = ["MeasuredGain", "chapter_results", "compression_throughput_gain"]

NO_VARIANT = "none of them"  # chapter 4's first_choice when no variant meets its target


@dataclass(frozen=True)
class MeasuredGain:
    """A throughput gain measured in another chapter, with where it was read."""

    value: float  # the priced gain: 1.0 if no variant qualified or none was measurable
    chapter: str
    variant: str  # the variant measured, or NO_VARIANT
    glued_names: tuple[str, ...]  # the glued results it is computed from
    variant_rps: float
    baseline_rps: float
    notebook: Path


def _notebook(chapter: str, root: Path | None) -> Path:
    from perfcost.book.chapters import CHAPTER_FOLDER, RerunError, find_book_root

    try:
        root = find_book_root() if root is None else Path(root)
    except RerunError as error:
        raise FileNotFoundError(str(error)) from None
    path = root / CHAPTER_FOLDER / f"{chapter}.ipynb"
    if not path.is_file():
        raise FileNotFoundError(f"no chapter notebook at {path}")
    return path


def chapter_results(chapter: str, root: Path | None = None) -> tuple[dict, Path]:
    """Every glued result of the book's executed ``chapter`` notebook, and its path."""
    path = _notebook(chapter, root)
    return glued_results(nbformat.read(path, as_version=4)), path


def compression_throughput_gain(root: Path | None = None) -> MeasuredGain:
    """Chapter 4's first choice: its throughput over fp32's, as that chapter measured them.

    Raises ParameterError naming ``throughput_gain`` when the chapter or its glued results
    cannot be read (then a reader passes the gain they measured instead).
    """
    valid = ("a gain measured in chapter 4 (analyses/compression.ipynb, executed) or a number"
             " in [1, 100]")
    try:
        results, path = chapter_results("compression", root)
        variant = results["first_choice"]
        baseline = float(results["fp32_throughput_rps"])
        if variant == NO_VARIANT:
            return MeasuredGain(1.0, "compression", variant, ("first_choice",), baseline,
                                baseline, path)
        names = ("first_choice", f"{variant}_throughput_gain", f"{variant}_throughput_rps",
                 "fp32_throughput_rps")
        gain, measured = float(results[names[1]]), float(results[names[2]])
    except (OSError, KeyError, TypeError, ValueError) as error:
        raise ParameterError("throughput_gain", valid, f"0 ({error})") from None
    return MeasuredGain(gain, "compression", variant, names, measured, baseline, path)
