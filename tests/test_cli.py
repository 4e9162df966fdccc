"""The `perfcost` command end to end: list, re-run, and refusing bad requests."""

import hashlib
import json
import math
import subprocess
import sys

import nbformat
import pytest

from perfcost.book.cli import main
from perfcost.capacity import HOURS_PER_MONTH, instances_for_utilization


def run_cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "perfcost", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


def tree_digest(folder):
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(folder)).encode() + path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def analyses_digest(root):
    return tree_digest(root / "analyses")


def test_list_shows_chapters_parameters_defaults_and_comments(root, capsys):
    assert main(["--root", str(root), "list"]) == 0
    out = capsys.readouterr().out
    for chapter in ("batching", "capacity", "compression", "cost", "design"):
        assert f"\n{chapter}  (analyses/{chapter}.ipynb)" in f"\n{out}"
    assert "request_rate_rps" in out and "2000.0" in out and "predicted average request rate" in out


def test_list_one_chapter_shows_only_its_parameters(root, capsys):
    assert main(["--root", str(root), "list", "design"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("design  (analyses/design.ipynb)")
    assert "peak_qps" in out and "request_rate_rps" not in out
    assert main(["--root", str(root), "list", "nope"]) == 2
    assert "chapter must be one of" in capsys.readouterr().err


@pytest.mark.slow
def test_rerun_moves_the_result_as_the_model_says(root, tmp_path, analyses_digest):
    outdir = tmp_path / "run"
    done = run_cli("rerun", "capacity", "-p", "request_rate_rps", "4000",
                   "-p", "peak_to_average", "1.5", "-o", str(outdir), "--no-progress", cwd=root)
    assert done.returncode == 0, done.stderr
    results = json.loads((outdir / "capacity.results.json").read_text())
    expected = instances_for_utilization(4000, 888.0, 0.7)
    assert expected == 7  # ceil(4000 / 621.6)
    assert results["instance_count"] == expected
    assert results["cheapest_instance"] == "g4dn.xlarge"
    assert results["monthly_usd"] == pytest.approx(expected * 0.526 * HOURS_PER_MONTH)
    assert results["peak_rate_rps"] == 6000.0
    assert all(not isinstance(v, float) or math.isfinite(v) for v in results.values())
    assert (outdir / "capacity.ipynb").is_file()
    assert tree_digest(root / "analyses") == analyses_digest


@pytest.mark.slow
def test_parameter_file_and_default_output_folder(root, tmp_path, analyses_digest):
    params = tmp_path / "p.yaml"
    params.write_text("request_rate_rps: 20\nlatency_slo_ms: 150\n")
    done = run_cli("rerun", "capacity", "-f", str(params), "--no-progress", cwd=root / "analyses")
    assert done.returncode == 0, done.stderr
    results = json.loads((root / "_build/reruns/capacity/capacity.results.json").read_text())
    # 20 rps: one CPU at $0.357/h beats one GPU at $0.526/h.
    assert (results["cheapest_instance"], results["instance_count"]) == ("c7i.2xlarge", 1)
    assert tree_digest(root / "analyses") == analyses_digest


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-p", "request_rate", "5"], "unknown parameter 'request_rate'; valid parameters:"),
        (["-p", "request_rate_rps", "fast"], "parameter 'request_rate_rps' takes a number"),
    ],
)
def test_bad_requests_fail_before_anything_runs(root, tmp_path, capsys, args, message):
    outdir = tmp_path / "never"
    status = main(["--root", str(root), "rerun", "capacity", *args, "-o", str(outdir)])
    assert status == 2
    assert message in capsys.readouterr().err
    assert not outdir.exists()


def test_unknown_chapter_lists_the_chapters(root, capsys):
    assert main(["--root", str(root), "rerun", "capcity"]) == 2
    assert "unknown chapter 'capcity'; chapters: batching, capacity, compression, cost" in (
        capsys.readouterr().err)


@pytest.mark.slow
def test_cost_rerun_scales_the_bill_as_the_model_says(root, tmp_path, analyses_digest):
    outdir = tmp_path / "cost"
    done = run_cli("rerun", "cost", "-p", "request_rate_rps", "1000", "-o", str(outdir),
                   "--no-progress", cwd=root)
    assert done.returncode == 0, done.stderr
    results = json.loads((outdir / "cost.results.json").read_text())
    assert results["instances"] == 10
    assert results["compute_monthly_usd"] == pytest.approx(10 * 2.5 * 730)
    assert results["egress_gb_month"] == pytest.approx(26_280)
    # The first 100 GB a month are free, then 9,900 GB at $0.09 and the rest at $0.085.
    assert results["egress_monthly_usd"] == pytest.approx(9_900 * 0.09 + 16_280 * 0.085)
    assert results["storage_monthly_usd"] == pytest.approx(4.0)
    assert results["total_monthly_usd"] == pytest.approx(
        results["compute_monthly_usd"] + results["egress_monthly_usd"] + 4.0)
    assert results["plan_savings_fraction"] >= 0.30
    assert results["plan_monthly_usd"] == pytest.approx(
        results["total_monthly_usd"] * (1 - results["plan_savings_fraction"]))
    assert tree_digest(root / "analyses") == analyses_digest


@pytest.mark.parametrize(
    ("chapter", "name", "value", "message"),
    [
        ("capacity", "utilization_target", "1.5",
         "utilization_target must be a number in [0.01, 1]; got 1.5"),
        ("cost", "eu_egress_fraction", "1.7", "eu_egress_fraction must be a number in [0, 1]"),
        ("cost", "archive_storage_class", "tape", "archive_storage_class must be one of"),
        ("compression", "variants", '["fp32", "fp64"]', "variants must be a non-empty list"),
    ],
)
def test_an_out_of_range_value_is_refused_before_a_kernel_starts(
        root, tmp_path, chapter, name, value, message):
    done = run_cli("rerun", chapter, "-p", name, value, "-o", str(tmp_path / "bad"),
                   "--no-progress", cwd=root)
    assert done.returncode == 2
    assert done.stderr.strip() == f"perfcost: {done.stderr.strip().removeprefix('perfcost: ')}"
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "bad").exists()


@pytest.mark.slow
def test_braces_in_the_output_folder_are_literal_never_a_template(root, tmp_path,
                                                                 analyses_digest):
    # papermill formats output paths with the parameters; this once overwrote the chapter.
    done = run_cli("rerun", "capacity", "-p", "cpu_name", "../analyses",
                   "-o", str(tmp_path / "OUT" / "{cpu_name}"), "--no-progress", cwd=root)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "OUT" / "{cpu_name}" / "capacity.results.json").is_file()
    assert tree_digest(root / "analyses") == analyses_digest


def _book_with_a_chapter_that_can_fail(folder):
    (folder / "analyses").mkdir(parents=True)
    (folder / "_toc.yml").write_text("format: jb-book\nroot: intro\n")
    parameters = nbformat.v4.new_code_cell("fail = False  # fail in the second cell")
    parameters.metadata["tags"] = ["parameters"]
    cells = [parameters, nbformat.v4.new_code_cell(
        "from perfcost.book.results import glue\nglue('answer', 42)\n"
        "if fail:\n    raise RuntimeError('asked to fail')")]
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "language": "python",
                                       "display_name": "Python 3"}
    nbformat.write(notebook, folder / "analyses" / "flaky.ipynb")


@pytest.mark.slow
def test_a_failed_rerun_leaves_no_results_from_an_earlier_run(tmp_path):
    book, outdir = tmp_path / "book", tmp_path / "out"
    _book_with_a_chapter_that_can_fail(book)
    assert main(["--root", str(book), "rerun", "flaky", "-o", str(outdir),
                 "--no-progress"]) == 0
    assert json.loads((outdir / "flaky.results.json").read_text()) == {"answer": 42}
    status = main(["--root", str(book), "rerun", "flaky", "-p", "fail", "true",
                   "-o", str(outdir), "--no-progress"])
    assert status == 1
    assert not (outdir / "flaky.results.json").exists()
    assert (outdir / "flaky.ipynb").is_file()  # the failed notebook, to read


@pytest.mark.slow
def test_the_readme_catalog_example_reads_the_catalog_from_where_the_reader_is(
        root, tmp_path, analyses_digest):
    from perfcost.pricing import load_catalog

    text = load_catalog().path.read_text()
    (tmp_path / "my-prices.yaml").write_text(text.replace(
        "- {up_to_gb: 10000, usd_per_gb: 0.09}", "- {up_to_gb: 10000, usd_per_gb: 0.12}"))
    done = run_cli("rerun", "cost", "-p", "eu_egress_fraction", "0.5",
                   "-p", "price_catalog_path", "my-prices.yaml", "-o", "run",
                   "--no-progress", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    results = json.loads((tmp_path / "run" / "cost.results.json").read_text())
    assert results["egress_first_tier_usd_per_gb"] == 0.12
    assert tree_digest(root / "analyses") == analyses_digest


@pytest.mark.slow
@pytest.mark.parametrize(("chapter", "args"), [
    ("capacity", ["-p", "request_rate_rps", "0.001"]),
    ("capacity", ["-p", "request_rate_rps", "1e6", "-p", "gpu_throughput_rps", "1e6"]),
    ("capacity", ["-p", "latency_slo_ms", "60000", "-p", "peak_to_average", "100"]),
    ("cost", ["-p", "request_rate_rps", "1e6", "-p", "response_kb", "1e5"]),
    ("cost", ["-p", "request_rate_rps", "0.001", "-p", "response_kb", "0"]),
    # The tightest SLO the chapter takes: one request's service time is 3.67 ms.
    ("batching", ["-p", "slo_p95_ms", "3.7", "-p", "duration_s", "60", "-p", "spike_start_s",
                  "20", "-p", "spike_duration_s", "10"]),
], ids=lambda v: v if isinstance(v, str) else "_".join(v[1::2]))
def test_a_chapter_runs_to_the_end_at_its_range_ends(root, tmp_path, chapter, args,
                                                       analyses_digest):
    done = run_cli("rerun", chapter, *args, "-o", str(tmp_path), "--no-progress", cwd=root)
    assert done.returncode == 0, done.stderr
    results = json.loads((tmp_path / f"{chapter}.results.json").read_text())
    numbers = [v for v in results.values() if isinstance(v, float)]
    assert numbers and all(math.isfinite(v) for v in numbers)
    assert tree_digest(root / "analyses") == analyses_digest
