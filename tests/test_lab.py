"""`make lab`: the chapters open in JupyterLab with the project's own kernel."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_make_lab_registers_the_perfcost_kernel_and_opens_the_chapters():
    plan = subprocess.run(["make", "-n", "lab"], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout
    assert "ipykernel install --sys-prefix --name perfcost" in plan
    assert "jupyter lab --MappingKernelManager.default_kernel_name=perfcost analyses/" in plan


def test_the_kernel_runs_this_environments_python(tmp_path):
    subprocess.run([sys.executable, "-m", "ipykernel", "install", "--prefix", str(tmp_path),
                    "--name", "perfcost", "--display-name", "Python (perfcost)"],
                   check=True, capture_output=True)
    spec = json.loads((tmp_path / "share/jupyter/kernels/perfcost/kernel.json").read_text())
    assert Path(spec["argv"][0]).resolve() == Path(sys.executable).resolve()
    assert spec["display_name"] == "Python (perfcost)"


def test_jupyterlab_is_installed():
    import jupyterlab

    assert int(jupyterlab.__version__.split(".")[0]) >= 4
