"""Chapter 4's computed sentences: they say what the table says, for any subset of variants."""

import pandas as pd
import pytest

from perfcost import amdahl, cost
from perfcost.book import compression_verdicts as v
from perfcost.book.chapters import default_values
from perfcost.compression.run import skipped
from perfcost.compression.settings import CompressionSettings
from perfcost.pricing import load_catalog


def row(p50, speedup=(1.0, 1.0, 1.0), gain=(1.0, 1.0, 1.0), change=(0.0, -0.001, 0.001),
        size=4e6, accuracy=0.9):
    return {"accuracy": accuracy, "accuracy_change": change[0], "accuracy_change_low": change[1],
            "accuracy_change_high": change[2], "accuracy_p_value": 1.0, "accuracy_lost": 3,
            "size_bytes": size,
            "gzip_size_bytes": size / 2, "latency_p50_ms": p50, "latency_p50_low_ms": p50 * 0.98,
            "latency_p50_high_ms": p50 * 1.02, "latency_p95_ms": p50 * 2,
            "throughput_rps": 1e4 / p50, "throughput_low_rps": 0.98e4 / p50,
            "throughput_high_rps": 1.02e4 / p50, "speedup_estimate": speedup[0],
            "speedup_low": speedup[1], "speedup_high": speedup[2],
            "speedup": speedup[0] if speedup[1] > 1 or speedup[2] < 1 else 1.0,
            "throughput_gain_estimate": gain[0], "throughput_gain_low": gain[1],
            "throughput_gain_high": gain[2],
            "throughput_gain": gain[0] if gain[1] > 1 or gain[2] < 1 else 1.0,
            "sessions": 6, "peak_memory_bytes": 1e7, "training_flops": 1.0}


TABLE = pd.DataFrame.from_dict({
    "fp32": row(1.0),
    "int8_dynamic": row(0.5, (2.0, 1.9, 2.1), (2.5, 2.4, 2.6), size=1e6),
    "prune_unstructured_90": row(1.0, (1.01, 0.98, 1.03), (0.97, 0.95, 1.01),
                                 change=(-0.003, -0.014, 0.008)),
}, orient="index")


def test_a_ratio_inside_its_noise_is_said_to_be_no_difference():
    assert v.ratio_text(TABLE, "int8_dynamic") == "2.00x (1.90-2.10x)"
    assert v.ratio_text(TABLE, "prune_unstructured_90", "throughput_gain") == \
        "no measurable difference (0.95-1.01x)"
    assert v.ratio_text(TABLE, "fp32") == "baseline"


def test_labels_say_the_settings_used():
    settings = CompressionSettings(sparsity=0.5, keep_fraction=0.25, student_units=64)
    assert v.variant_label("prune_unstructured_90", settings) == \
        "unstructured pruning, 50% zeros"
    assert "25% of units" in v.variant_label("prune_structured_50", settings)
    assert "64 units" in v.variant_label("distilled", settings)
    shown = v.shown_table(TABLE, settings)
    assert "unstructured pruning, 50% zeros" in shown.index


def test_missing_variants_are_said_to_be_missing_not_crashed_on():
    subset = TABLE.loc[["fp32"]]
    settings = CompressionSettings()
    assert "not built" in v.quantization_text(subset)
    assert "not built" in v.pruning_text(subset, settings)
    assert "not built" in v.structured_text(subset, settings)
    assert "not built" in v.distillation_text(subset)
    assert "not built" in v.fp16_text(subset, None)
    assert v.headline_ratios(subset) == {}
    assert v.gate_table(subset, 0.01, settings).empty
    assert v.first_choice_text(None, subset, 1.0, 0.01, settings).startswith("No variant")
    assert "no measurable difference" in v.pruning_text(TABLE, settings)
    assert "4.0x smaller" in v.quantization_text(TABLE)


def test_the_cpu_sentence_reads_the_machine():
    assert "no int8 dot-product" in v.cpu_text({"model": "old", "avx2": True})
    assert "avx512_vnni" in v.cpu_text({"model": "new", "avx512_vnni": True})


def test_the_gate_reads_the_whole_paired_interval():
    settings = CompressionSettings()
    gates = v.gate_table(TABLE, 0.01, settings)
    assert gates["int8 dynamic"] == "within" and "fp32 (baseline)" not in gates
    assert gates["unstructured pruning, 90% zeros"] == "inconclusive"  # -1.4 straddles -1
    assert v.gate_table(TABLE, 0.02, settings)["unstructured pruning, 90% zeros"] == "within"
    lost_none = TABLE.copy()
    lost_none["accuracy_lost"] = 0  # nothing fp32 got right was got wrong: within any budget
    assert v.gate_table(lost_none, 0.0, settings)["int8 dynamic"] == "within"


def test_first_choice_explains_itself():
    settings = CompressionSettings(sparsity=0.5)
    text = v.first_choice_text("int8_dynamic", TABLE, 0.7, 0.01, settings)
    assert text.startswith("int8 dynamic meets")
    assert v.first_choice_text(None, TABLE, 0.1, 0.01, settings).startswith("No variant meets")
    none = v.first_choice_text(None, TABLE, 0.6, 0.0, settings)
    assert none.startswith("int8 dynamic meets the") and "but none is within 0.0 points" in none
    slow = v.first_choice_text("int8_dynamic", TABLE, 1.1, 0.01, settings)
    assert "whether unstructured pruning, 50% zeros stays within" in slow


def test_skipped_variants_are_named_with_the_reason():
    assert skipped(["fp32", "distilled", "int8_static"], "") == []
    names = skipped(["fp32", "distilled", "int8_static"], "/m.onnx")
    assert names == ["distilled"]
    assert "distilled" in v.skipped_text(names) and "training" in v.skipped_text(names)


def test_amdahl_text_states_the_share_and_the_ceiling():
    request = amdahl.RequestPath(decode_ms=1.0, network_ms=0.5, preprocess_ms=0.5,
                                 postprocess_ms=0.0)
    times = {"fp32": 2.0, "int8_dynamic": 1.0, "prune_unstructured_90": 0.5}
    table = amdahl.end_to_end_table(times, "fp32", request)
    text = v.amdahl_text(table, request, TABLE, CompressionSettings())
    assert "the model is 50.0% of the request" in text
    assert "request only 1.333x faster" in text and "more than 2.000x" in text
    assert "prune_unstructured_90" not in text  # its speed-up is inside the noise
    zero = amdahl.RequestPath(decode_ms=0, network_ms=0, preprocess_ms=0, postprocess_ms=0)
    assert "reaches the request whole" in v.amdahl_text(
        amdahl.end_to_end_table(times, "fp32", zero), zero, TABLE, CompressionSettings())
    flat = TABLE.loc[["fp32", "prune_unstructured_90"]]
    assert "no variant is measurably faster" in v.amdahl_text(
        amdahl.end_to_end_table({"fp32": 2.0, "prune_unstructured_90": 1.9}, "fp32", request),
        request, flat, CompressionSettings())


def test_a_measurable_slow_down_is_called_one():
    slow = TABLE.copy()
    slow.loc["int8_dynamic", ["speedup_estimate", "speedup_low", "speedup_high"]] = (
        0.3, 0.28, 0.32)
    assert v.ratio_text(slow, "int8_dynamic") == "0.30x, a slow-down (0.28-0.32x)"


def test_the_pricing_text_states_its_assumptions():
    request = amdahl.RequestPath(decode_ms=1.0, network_ms=0.0, preprocess_ms=0.0,
                                 postprocess_ms=0.0)
    table = amdahl.end_to_end_table({"fp32": 1.0, "int8_dynamic": 0.5}, "fp32", request)
    text = v.pricing_text("", table, "int8_dynamic", CompressionSettings())
    assert "assumption, not a measurement" in text and "only model work" in text
    assert "the gain of int8 dynamic shrinks toward the request's 1.333x" in text
    assert "measured on your model" in v.pricing_text("/m.onnx", table, None,
                                                      CompressionSettings())


def test_the_conditions_follow_the_machine_and_the_measurements():
    native = {"avx512_vnni": True}
    assert "measurably faster here" in v.conditions_text(native, TABLE, "")
    assert "distilled student" in v.conditions_text(native, TABLE, "")
    assert "distilled student" not in v.conditions_text(native, TABLE, "/m.onnx")
    flat = TABLE.copy()
    flat.loc["int8_dynamic", "speedup"] = 1.0
    assert "measurably faster here" in v.conditions_text(native, flat, "")  # at batch 64
    flat.loc["int8_dynamic", "throughput_gain"] = 1.0
    assert "yet no int8 variant" in v.conditions_text(native, flat, "")
    assert "no native int8" in v.conditions_text({}, TABLE, "")


def test_gains_are_priced_through_the_cost_chapters_service(root):
    service = cost.CostQuestion(**default_values("cost", root)).service
    assert service.request_kb == default_values("cost", root)["request_kb"]
    bills = cost.bills_for_gains(service, {"fp32": 1.0, "faster": 2.0}, load_catalog())
    assert bills.loc["faster", "instances"] <= bills.loc["fp32", "instances"]
    assert bills.loc["faster", "monthly_usd"] < bills.loc["fp32", "monthly_usd"]
    with pytest.raises(ValueError, match="throughput_gain"):
        cost.bills_for_gains(service, {"bad": -1.0}, load_catalog())


def test_every_variant_gets_its_figures_under_its_own_name():
    figures = v.variant_figures(TABLE)
    assert len(figures) == len(TABLE) * (len(v.VARIANT_FIGURES) + 1)
    assert figures["int8_dynamic_size_bytes"] == 1e6
    assert figures["int8_dynamic_speedup_b1"] == 2.0  # the estimate, measurable or not
    assert figures["prune_unstructured_90_throughput_gain"] == 1.0  # priced: not measurable
    assert figures["fp32_latency_p50_ms"] == 1.0 and figures["fp32_accuracy"] == 0.9
    assert list(figures)[:2] == ["fp32_accuracy", "fp32_size_bytes"]  # the table's order
    assert v.variant_figures(TABLE.iloc[:0]) == {}
