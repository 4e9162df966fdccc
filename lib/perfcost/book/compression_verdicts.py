"""Chapter 4's sentences that depend on what was built and measured: computed, never typed.

Each function reads the measurements table
(:func:`perfcost.compression.measurement.measurements_table`) and returns a sentence for the
chapter to glue. A variant the reader left out, or one the reader's own model cannot have, is
said to be missing instead of crashing the chapter; a ratio whose interval includes 1 is "no
measurable difference".

Used by chapter 4 (compression).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from perfcost.amdahl import RequestPath, model_share, speedup_ceiling
from perfcost.book.measured import NO_VARIANT
from perfcost.compression.settings import CompressionSettings
from perfcost.compression.variants import COMPARISONS
from perfcost.significance import PairedAccuracy, accuracy_gate

__all__ = [
    "NO_VARIANT",
    "amdahl_text",
    "conditions_text",
    "cpu_text",
    "distillation_text",
    "first_choice_text",
    "fp16_text",
    "gate_table",
    "headline_ratios",
    "model_text",
    "noise_text",
    "pricing_text",
    "pruning_text",
    "quantization_text",
    "ratio_text",
    "shown_table",
    "skipped_text",
    "stable_table",
    "structured_text",
    "variant_figures",
    "variant_label",
]

NOT_BUILT = "not built in this run"
# Each variant's figures glued as VARIANT_NAME (int8_dynamic_accuracy), beside VARIANT_speedup_b1.
VARIANT_FIGURES = ("accuracy", "size_bytes", "latency_p50_ms", "latency_p95_ms",
                   "throughput_rps", "throughput_low_rps", "throughput_high_rps",
                   "peak_memory_bytes", "throughput_gain")


def variant_label(name: str, settings: CompressionSettings) -> str:
    """The name a reader sees: what the variant is, with the settings actually used."""
    s = settings
    labels = {
        "fp32": "fp32 (baseline)", "fp16": "fp16", "int8_dynamic": "int8 dynamic",
        "int8_static": "int8 static (QDQ, per channel)",
        "prune_unstructured_90": f"unstructured pruning, {s.sparsity:.0%} zeros",
        "prune_structured_50": f"structured pruning, {s.keep_fraction:.0%} of units kept",
        "distilled": f"distilled student, {s.student_units} units",
        "distilled_int8": f"distilled student, {s.student_units} units, int8",
        "student_scratch": f"student from scratch, {s.student_units} units",
    }
    return labels.get(name, name)


def shown_table(table: pd.DataFrame, settings: CompressionSettings) -> pd.DataFrame:
    """The measurements as a reader reads them: labelled rows, intervals in words."""
    rows = {}
    for name in table.index:
        row = table.loc[name]
        rows[variant_label(name, settings)] = {
            "accuracy": f"{row['accuracy']:.1%}",
            "vs fp32 (points)": _change(table, name).replace(" points", ""),
            "size MB": round(row["size_bytes"] / 1e6, 2),
            "gzip MB": round(row["gzip_size_bytes"] / 1e6, 2),
            "p50 ms": f"{row['latency_p50_ms']:.3f} ({row['latency_p50_low_ms']:.3f}-"
                      f"{row['latency_p50_high_ms']:.3f})",
            "p95 ms": round(row["latency_p95_ms"], 3),
            "speed-up b1": ratio_text(table, name),
            "throughput rps": f"{row['throughput_rps']:,.0f} ({row['throughput_low_rps']:,.0f}"
                              f"-{row['throughput_high_rps']:,.0f})",
            "throughput gain": ratio_text(table, name, "throughput_gain"),
            "peak memory MB": round(row["peak_memory_bytes"] / 1e6, 1),
            "training GFLOP": round(row["training_flops"] / 1e9, 1),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def stable_table(table: pd.DataFrame, settings: CompressionSettings) -> pd.DataFrame:
    """What is the same on every machine and run: accuracy rounded to two places, and each
    file's size relative to fp32, by the variants' labels."""
    return pd.DataFrame({
        "accuracy": table["accuracy"].round(2),
        "size vs fp32": (table["size_bytes"] / table.loc["fp32", "size_bytes"]).round(2),
    }).rename(lambda name: variant_label(name, settings))


def skipped_text(names: Sequence[str]) -> str:
    """Why the variants that need training were left out, or an empty remark."""
    if not names:
        return "Every requested variant was built."
    return (f"Not built for your model: {', '.join(names)}. Pruning with fine-tuning and "
            "distillation need the model's training code and labelled data, which an ONNX "
            "file does not carry.")


def model_text(model_path: str, input_shape: Sequence[int], hidden_units: int,
               examples: int) -> str:
    """What was measured, in a sentence."""
    if model_path:
        return (f"Your model ({model_path}), on {examples:,} random standard-normal inputs of "
                f"shape {list(input_shape)}. With no labels, accuracy here is top-1 agreement "
                "with your fp32 model.")
    return (f"The chapter's MNIST model: a multilayer perceptron with two hidden layers of "
            f"{hidden_units:,} units, scored on {examples:,} held-out digits.")


def ratio_text(table: pd.DataFrame, name: str, column: str = "speedup") -> str:
    """``1.94x (1.87-2.00x)`` or ``no measurable difference (0.98-1.02x)`` for a variant's
    speed-up (``speedup``) or throughput gain (``throughput_gain``)."""
    row = table.loc[name]
    low, high = row[f"{column}_low"], row[f"{column}_high"]
    if name == "fp32":
        return "baseline"
    if low <= 1.0 <= high:
        return f"no measurable difference ({low:.2f}-{high:.2f}x)"
    slower = ", a slow-down" if high < 1.0 else ""
    return f"{row[f'{column}_estimate']:.2f}x{slower} ({low:.2f}-{high:.2f}x)"


def _change(table: pd.DataFrame, name: str) -> str:
    row = table.loc[name]
    low, high = row["accuracy_change_low"] * 100, row["accuracy_change_high"] * 100
    return f"{row['accuracy_change'] * 100:+.1f} points ({low:+.1f} to {high:+.1f})"


def _times_smaller(table: pd.DataFrame, name: str, column: str = "size_bytes") -> float:
    """How many times smaller than fp32's the variant's file is (``column``: raw or gzip)."""
    return table.loc["fp32", column] / table.loc[name, column]


def _smaller(ratio: float) -> str:
    """``3.9x smaller``, or ``the same size`` within 1%."""
    if abs(ratio - 1) < 0.01:
        return "the same size as fp32's"
    return f"{ratio:.1f}x smaller" if ratio > 1 else f"{1 / ratio:.1f}x larger"


def cpu_text(features: Mapping[str, object]) -> str:
    """Which int8 and fp16 instructions this CPU has, read from the machine."""
    int8 = [n for n in ("avx512_vnni", "avx_vnni", "amx_int8") if features.get(n)]
    half = [n for n in ("avx512_fp16", "amx_fp16") if features.get(n)]
    int8_part = (f"int8 dot-product instructions ({', '.join(int8)})" if int8 else
                 "no int8 dot-product instructions (no VNNI or AMX): int8 is emulated with "
                 "wider multiplies")
    half_part = (f"fp16 arithmetic ({', '.join(half)})" if half else "no fp16 arithmetic")
    model = features.get("model", "unknown")
    return f"This machine's CPU ({model}) has {int8_part}, and {half_part}."


def conditions_text(features: Mapping[str, object], table: pd.DataFrame,
                    model_path: str) -> str:
    """How the answer moves with the hardware and the model, from what was measured here."""
    native = any(features.get(n) for n in ("avx512_vnni", "avx_vnni", "amx_int8"))
    int8 = [n for n in ("int8_dynamic", "int8_static") if n in table.index]
    # "speedup" and "throughput_gain" are 1.0 unless measurable: faster at batch 1 or batch 64
    faster = [n for n in int8
              if table.loc[n, "speedup"] > 1.0 or table.loc[n, "throughput_gain"] > 1.0]
    if not int8:
        text = "int8 was not measured here."
    elif native and faster:
        text = ("This CPU runs int8 dot products natively (VNNI or AMX), and int8 is "
                "measurably faster here; on a CPU without them, int8 gains less.")
    elif native:
        text = ("This CPU runs int8 dot products natively (VNNI or AMX), yet no int8 variant "
                "is measurably faster here: quantizing and dequantizing around each operator "
                "costs more than the integer arithmetic saves on this model.")
    else:
        text = ("This CPU has no native int8 dot products (no VNNI or AMX); on one with them, "
                "or on a GPU with int8 tensor cores, quantization gains more.")
    if not model_path:
        text += (" If quantization alone misses the target, quantize the distilled student: "
                 "the two compose (distilled_int8).")
    return text


def quantization_text(table: pd.DataFrame) -> str:
    """int8's size and speed against fp32, for the int8 variants that were built."""
    parts = []
    for name, label in (("int8_dynamic", "dynamic"), ("int8_static", "static")):
        if name in table.index:
            size = _times_smaller(table, name)
            parts.append(f"{label} int8 is {size:.1f}x smaller, batch-1 speed-up "
                         f"{ratio_text(table, name)}, throughput "
                         f"{ratio_text(table, name, 'throughput_gain')}, accuracy "
                         f"{_change(table, name)}")
    if not parts:
        return f"int8 was {NOT_BUILT}."
    return "Measured: " + "; ".join(parts) + "."


def fp16_text(table: pd.DataFrame, fp16_share: float | None) -> str:
    """fp16's size and speed, and how much of it ran in fp16 on this CPU."""
    if "fp16" not in table.index or fp16_share is None:
        return f"fp16 was {NOT_BUILT}."
    size = _times_smaller(table, "fp16")
    where = ("none of its matrix operators ran in fp16: ONNX Runtime's CPU provider computed "
             "them in fp32 behind casts, so only the file shrank" if fp16_share == 0 else
             f"{fp16_share:.0%} of its matrix operators ran in fp16")
    return (f"fp16 is {size:.1f}x smaller; on this CPU {where}. Batch-1 speed-up "
            f"{ratio_text(table, 'fp16')}, accuracy {_change(table, 'fp16')}.")


def pruning_text(table: pd.DataFrame, settings: CompressionSettings) -> str:
    """What unstructured pruning bought: speed (usually none, exported dense) and gzip size."""
    name = "prune_unstructured_90"
    if name not in table.index:
        return f"Unstructured pruning was {NOT_BUILT}."
    gzip_ratio = _times_smaller(table, name, "gzip_size_bytes")
    size_ratio = _times_smaller(table, name)
    return (f"With {settings.sparsity:.0%} of weights zeroed and exported dense, the file is "
            f"{_smaller(size_ratio)}, and {_smaller(gzip_ratio)} after gzip; batch-1 speed-up "
            f"{ratio_text(table, name)}, throughput {ratio_text(table, name, 'throughput_gain')}, "
            f"accuracy {_change(table, name)}.")


def structured_text(table: pd.DataFrame, settings: CompressionSettings) -> str:
    """What structured pruning bought."""
    name = "prune_structured_50"
    if name not in table.index:
        return f"Structured pruning was {NOT_BUILT}."
    size = _times_smaller(table, name)
    return (f"Keeping {settings.keep_fraction:.0%} of the hidden units gives a dense network "
            f"{_smaller(size)}: batch-1 speed-up {ratio_text(table, name)}, accuracy "
            f"{_change(table, name)}, after fine-tuning.")


def distillation_text(table: pd.DataFrame,
                      versus_scratch: PairedAccuracy | None = None) -> str:
    """The student's speed and accuracy, and what the teacher added over labels alone."""
    names = [n for n in ("distilled", "distilled_int8") if n in table.index]
    if not names:
        return f"Distillation was {NOT_BUILT}."
    name = names[0]
    size = _times_smaller(table, name)
    text = (f"The student ({name}) is {_smaller(size)}, batch-1 speed-up "
            f"{ratio_text(table, name)}, accuracy {_change(table, name)}.")
    if versus_scratch is not None:
        verdict = ("made no measurable difference to accuracy"
                   if versus_scratch.low <= 0 <= versus_scratch.high else
                   f"changed accuracy by {versus_scratch.difference * 100:+.1f} points")
        text += (f" Against the same student trained on labels alone, on the same digits, "
                 f"distillation {verdict} (paired 95% interval "
                 f"{versus_scratch.low * 100:+.1f} to {versus_scratch.high * 100:+.1f}).")
    return text


def gate_table(table: pd.DataFrame, max_accuracy_drop: float,
               settings: CompressionSettings) -> pd.Series:
    """Each variant's accuracy verdict against the allowed drop
    (:func:`perfcost.significance.accuracy_gate`): within, exceeds, or inconclusive (the paired
    interval straddles the limit), by the variants' labels."""
    gates = _gates(table.drop(["fp32"], errors="ignore"), max_accuracy_drop)
    return gates.rename(lambda name: variant_label(name, settings)).rename("accuracy verdict")


def _gates(table: pd.DataFrame, max_accuracy_drop: float) -> pd.Series:
    def verdict(row):
        paired = PairedAccuracy(row["accuracy_change"], row["accuracy_change_low"],
                                row["accuracy_change_high"], row["accuracy_p_value"],
                                int(row["accuracy_lost"]), 0, 1)
        return accuracy_gate(paired, max_accuracy_drop)

    if table.empty:  # the baseline alone was built
        return pd.Series(dtype=object)
    return table.apply(verdict, axis=1)


def _names(names: Sequence[str], settings: CompressionSettings) -> str:
    return "; ".join(variant_label(name, settings) for name in names)


def first_choice_text(choice: str | None, table: pd.DataFrame, target_ms: float,
                      max_accuracy_drop: float, settings: CompressionSettings) -> str:
    """Why the first choice was chosen, or why none was, naming variants by their labels."""
    candidates = table.drop(["fp32", *COMPARISONS], errors="ignore")
    gates = _gates(candidates, max_accuracy_drop)
    fast = list(candidates.index[candidates["latency_p50_high_ms"] <= target_ms])
    budget = f"{max_accuracy_drop * 100:.1f} points of accuracy"
    target = f"the {target_ms:.3f} ms target over {{}} whole interval"
    if choice is None and not fast:
        return f"No variant meets {target.format('its')}."
    if choice is None:
        return (f"{_names(fast, settings)} meet{'s' if len(fast) == 1 else ''} "
                f"{target.format('the')}, but none is within {budget} over its whole paired "
                "interval.")
    unsure = [name for name in fast if gates[name] == "inconclusive"]
    text = (f"{variant_label(choice, settings)} meets {target.format('its')} and loses at "
            f"most {budget} over its whole paired interval, with the least training.")
    if unsure:
        verb, their = ("stays", "its paired interval straddles") if len(unsure) == 1 else (
            "stay", "their paired intervals straddle")
        text += (f" The test set cannot tell whether {_names(unsure, settings)} {verb} within "
                 f"the budget: {their} it.")
    return text


def noise_text(table: pd.DataFrame, settings: CompressionSettings,
               confidence: float = 0.99) -> str:
    """How the timings were taken and how to read their intervals."""
    flat = [name for name in table.index if name != "fp32"
            and table.loc[name, "throughput_gain"] == 1.0]
    sessions = int(table["sessions"].min())
    text = (f"Every timing is the typical median of {sessions} inference sessions per "
            "variant, created in turn and timed in interleaved trials; its interval is a "
            f"{confidence:.0%} t-interval over those sessions, so it covers the noise between "
            "sessions of one run on one machine, not another run or a busier machine.")
    if {"distilled", "student_scratch"} <= set(table.index):
        noise = abs(1 - table.loc["distilled", "latency_p50_ms"]
                    / table.loc["student_scratch", "latency_p50_ms"])
        text += (f" The distilled and from-scratch students share one architecture; their "
                 f"batch-1 medians differ by {noise:.1%}.")
    if flat:
        text += (f" Throughput of {_names(flat, settings)}: no measurable difference from "
                 "fp32, so priced at a gain of 1.0.")
    return text


def pricing_text(model_path: str, end_to_end: pd.DataFrame, choice: str | None,
                 settings: CompressionSettings) -> str:
    """What the priced gains stand for: the assumptions stated beside the bill."""
    source = ("your model on this CPU" if model_path else
              "the chapter's small MNIST model on this CPU")
    text = (f"Each gain was measured on {source}, and the bill applies it to the cost "
            "chapter's fleet as if it held for that service's model and hardware: an "
            "assumption, not a measurement. It also assumes the instances do only model work "
            "(decoding and pre-processing run elsewhere)")
    if choice in end_to_end.index:
        text += (f"; if they also decode and pre-process, the gain of "
                 f"{variant_label(choice, settings)} shrinks toward the request's "
                 f"{end_to_end.loc[choice, 'end_to_end_speedup']:.3f}x of the section above")
    return text + (". Measure your model on your instance type, then re-run the cost chapter "
                   "with -p throughput_gain.")


def amdahl_text(end_to_end: pd.DataFrame, request: RequestPath, table: pd.DataFrame,
                settings: CompressionSettings) -> str:
    """How much of the fastest measurably faster variant's speed-up reaches the request."""
    baseline_ms = end_to_end["model_ms"].iloc[0]
    share = model_share(baseline_ms, request)
    text = (f"Here the request's other work takes {request.overhead_ms:.2f} ms against the "
            f"baseline model's {baseline_ms:.3f} ms, so the model is {share:.1%} of the "
            "request")
    faster = [n for n in end_to_end.index[1:] if table.loc[n, "speedup"] > 1.0]
    if not faster:
        return text + ", and no variant is measurably faster than fp32 at batch 1."
    best = max(faster, key=lambda n: end_to_end.loc[n, "model_speedup"])
    row, label = end_to_end.loc[best], variant_label(best, settings)
    if share >= 1.0:
        return text + (f": the {row['model_speedup']:.2f}x model speed-up of {label} reaches "
                       "the request whole.")
    return text + (f". The fastest, {label}, makes the model {row['model_speedup']:.2f}x "
                   f"faster but the request only {row['end_to_end_speedup']:.3f}x faster; no "
                   f"model speed-up can make it more than {speedup_ceiling(share):.3f}x faster.")


def variant_figures(table: pd.DataFrame) -> dict[str, float]:
    """Every variant's :data:`VARIANT_FIGURES` under ``VARIANT_FIGURE`` names
    (``int8_dynamic_accuracy``) and its batch-1 speed-up estimate as ``VARIANT_speedup_b1``:
    the figures chapter 4 glues for each variant, in the table's order."""
    found = {}
    for variant, row in table.iterrows():  # a row holds floats: sizes read 7461333.0
        found |= {f"{variant}_{name}": row[name] for name in VARIANT_FIGURES}
        found[f"{variant}_speedup_b1"] = row["speedup_estimate"]
    return found


def headline_ratios(table: pd.DataFrame) -> dict[str, float]:
    """The ratios chapter 4 has always glued, for the variants that were built: int8's and the
    student's size ratios, unstructured pruning's gzip ratio, what distillation added to the
    student's accuracy, and how far the two same-shaped students' batch-1 medians differ."""
    found = {}
    if "int8_dynamic" in table.index:
        found["int8_size_ratio"] = _times_smaller(table, "int8_dynamic")
    if "prune_unstructured_90" in table.index:
        found["unstructured_gzip_ratio"] = _times_smaller(table, "prune_unstructured_90",
                                                          "gzip_size_bytes")
    if "distilled" in table.index:
        found["distilled_size_ratio"] = _times_smaller(table, "distilled")
        student, scratch = table.loc["distilled"], table.loc["student_scratch"]
        found["distilled_vs_scratch_accuracy"] = student["accuracy"] - scratch["accuracy"]
        found["timing_noise"] = abs(1 - student["latency_p50_ms"] / scratch["latency_p50_ms"])
    return found

