"""The names of the model variants chapter 4 builds and measures.

Kept apart from :mod:`perfcost.compression` (which imports PyTorch and ONNX Runtime) so that
checking a re-run's ``variants`` parameter costs no heavy import.
"""

__all__ = ["COMPARISONS", "VARIANTS"]

VARIANTS = ("fp32", "int8_dynamic", "prune_unstructured_90", "prune_structured_50", "distilled",
            "distilled_int8")
COMPARISONS = ("student_scratch",)  # measured beside the variants: what distillation adds
