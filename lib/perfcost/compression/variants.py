"""The names of the model variants chapter 4 builds and measures.

Kept apart from the modules that import PyTorch and ONNX Runtime, so that checking a re-run's
``variants`` parameter costs no heavy import.

:data:`ONNX_VARIANTS` can be made from any ONNX model (a reader's own, ``model_path``): they
convert or quantize the graph. :data:`TRAINED_VARIANTS` need the model's training code and
labelled data (pruning with fine-tuning, distillation), so they are built for the chapter's own
MNIST model only.
"""

__all__ = ["COMPARISONS", "ONNX_VARIANTS", "TRAINED_VARIANTS", "VARIANTS"]

ONNX_VARIANTS = ("fp32", "fp16", "int8_dynamic", "int8_static")
TRAINED_VARIANTS = ("prune_unstructured_90", "prune_structured_50", "distilled",
                    "distilled_int8")
VARIANTS = ONNX_VARIANTS + TRAINED_VARIANTS
COMPARISONS = ("student_scratch",)  # measured beside the variants: what distillation adds
