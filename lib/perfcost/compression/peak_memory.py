"""The peak memory that loading an ONNX model and running a batch adds to a process (Linux).

Measured in a fresh Python process, so nothing the caller holds is counted: this module run as
a program (``python -m perfcost.compression.peak_memory MODEL SHAPE THREADS``) resets the
kernel's high-water mark after its imports (``/proc/self/clear_refs``), creates an ONNX Runtime
session, runs it five times on zeros of ``SHAPE`` (a JSON list, batch first), and prints the new
high-water mark (``VmHWM``) minus the resident size before (``VmRSS``), in bytes: weights,
arena, activations and the session's own overhead, as a deployment would see them.
:func:`peak_memory_bytes` runs it and reads the answer.

Used by chapter 4 (compression).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort

from perfcost.compression.settings import MAX_BATCH, check_threads
from perfcost.validation import integer_in_range

__all__ = ["main", "peak_memory_bytes"]

MODULE = "perfcost.compression.peak_memory"  # run as a program: python -m MODULE
RUNS = 5  # batches run before the high-water mark is read
PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the folder holding perfcost/


def _status_kb(key: str) -> int:
    """A field of /proc/self/status, in kB (``VmRSS``, ``VmHWM``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {key} in /proc/self/status")


def _peak_bytes(onnx_path: str, shape: list[int], threads: int) -> int:
    """This process's new peak resident memory from loading and running the model."""
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current size
    before = _status_kb("VmRSS")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(onnx_path, options, providers=["CPUExecutionProvider"])
    inputs = np.zeros(shape, dtype=np.float32)
    for _ in range(RUNS):
        session.run(None, {session.get_inputs()[0].name: inputs})
    return (_status_kb("VmHWM") - before) * 1024


def main(argv: Sequence[str] | None = None) -> None:
    """Print the peak bytes for ``MODEL SHAPE THREADS`` (``sys.argv[1:]`` by default)."""
    onnx_path, shape, threads = sys.argv[1:] if argv is None else argv
    print(_peak_bytes(onnx_path, json.loads(shape), int(threads)))


def peak_memory_bytes(onnx_path: Path, *, input_shape: tuple[int, ...], batch: int = 64,
                      threads: int = 2) -> int:
    """Peak resident memory that loading ``onnx_path`` and running a batch adds to a process.

    Measured in a fresh Python process (Linux) by this module run as a program (the module
    docstring says how), on zeros of shape ``(batch, *input_shape)``. ``batch`` in
    [1, 65,536], each size of ``input_shape`` in [1, 2^22], ``threads`` in [1, 64].
    """
    # Imported here, not at the top, so the measuring process does not load onnx.
    from perfcost.compression.reader_model import MAX_EXAMPLE_ELEMENTS

    shape = [integer_in_range("batch", batch, 1, MAX_BATCH),
             *(integer_in_range("input_shape", n, 1, MAX_EXAMPLE_ELEMENTS)
               for n in input_shape)]
    command = [sys.executable, "-m", MODULE, str(onnx_path), json.dumps(shape),
               str(check_threads(threads))]
    run = subprocess.run(command, capture_output=True, text=True, timeout=600, env=_child_env())
    if run.returncode != 0:
        raise RuntimeError(f"peak memory measurement failed (Linux /proc needed): "
                           f"{run.stderr.strip()[-500:]}")
    return int(run.stdout.strip())


def _child_env() -> dict[str, str]:
    """This environment, with this copy of perfcost first on the child's import path."""
    paths = [str(PACKAGE_ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


if __name__ == "__main__":
    main()
