"""Small hand-made evaluation results shared by the batching tests."""

import pandas as pd


def two_trace_case():
    """The controller and the hindsight optimum on traces a and b; ours trails on b."""
    case = pd.DataFrame([
        ("a", "controller", 1.0, 20.0, None, 3), ("a", "hindsight optimum", 1.0, 24.0,
                                                  (2.0, 8), 0),
        ("b", "controller", 0.9, 30.0, None, 5), ("b", "hindsight optimum", 0.95, 40.0,
                                                  (0.5, 16), 0),
    ], columns=["trace", "policy", "slo_attainment", "p95_ms", "configuration",
                "parameter_changes"])
    targets = pd.DataFrame({"trace": ["a", "b"], "gpu_excess": [0.02, 0.07]})
    return case, targets
