"""`perfcost sweep`: the grid read and checked before anything runs, the points run on Dask
(a two-worker LocalCluster, and a scheduler and worker this test starts on the loopback
interface), failures recorded, an interrupted sweep resumed, the table and chart written.

Most cluster tests sweep a toy book (one tiny chapter that fails when told to), so that a point
costs a kernel start and not a chapter; one sweeps the real capacity chapter.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from perfcost.book.chapters import Chapter, RerunError, find_chapters
from perfcost.book.cli import main
from perfcost.book.headlines import HEADLINES
from perfcost.book.results import glued_results
from perfcost.book.sweep import OK, plan_sweep, run_sweep
from perfcost.book.sweep_grid import (
    MAX_POINTS,
    Axis,
    grid_points,
    parse_axis,
    point_id,
    split_values,
)
from perfcost.book.sweep_table import sweep_table, write_table
from perfcost.validation import ParameterError

# --- The grid -----------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "parts"), [
    ("1,2,3", ["1", "2", "3"]),
    (" 1 , 2 ", ["1", "2"]),
    ("[400, 1600],[200, 2000]", ["[400, 1600]", "[200, 2000]"]),
    ("'a,b',c", ["a,b", "c"]),
    ("\"x\",'y'", ["x", "y"]),
    ("['a,b', 'c']", ["['a,b', 'c']"]),
    ("{x: [1, 2]},3", ["{x: [1, 2]}", "3"]),
    ("5", ["5"]),
    ("1,,2", ["1", "", "2"]),
])
def test_values_split_at_the_commas_outside_brackets_and_quotes(text, parts):
    assert split_values(text) == parts


@given(st.lists(st.integers(-10**6, 10**6), min_size=1, max_size=8))
def test_numbers_joined_by_commas_split_back(numbers):
    assert split_values(",".join(map(str, numbers))) == [str(n) for n in numbers]


@pytest.fixture(scope="module")
def capacity(root) -> Chapter:
    return find_chapters(root)["capacity"]


def test_an_axis_is_typed_like_the_parameter(capacity):
    axis = parse_axis(capacity, "request_rate_rps", "1e3,2500")
    assert axis == Axis("request_rate_rps", (1000.0, 2500.0))
    assert all(isinstance(v, float) for v in axis.values)


@pytest.mark.parametrize(("name", "text", "error", "pattern"), [
    ("request_rate", "1,2", RerunError,
     r"^-g request_rate: capacity has no parameter 'request_rate' \(did you mean "
     r"'request_rate_rps'\?\)"),
    ("request_rate_rps", "1000,,2000", RerunError, r"an empty value in '1000,,2000'"),
    ("request_rate_rps", "1000,1e3", RerunError, r"value 1000.0 is given twice"),
    ("request_rate_rps", "1000,lots", RerunError,
     r"parameter 'request_rate_rps' takes a number .*; got 'lots'"),
    ("request_rate_rps", "1000,-5", ParameterError,
     r"^request_rate_rps must be a number in \[0.001, .*\]; got -5"),
    ("utilization_target", "0.5,1.5", ParameterError, r"^utilization_target must be"),
])
def test_a_bad_axis_is_refused_in_one_line_naming_the_parameter(capacity, name, text, error,
                                                                pattern):
    with pytest.raises(error, match=pattern) as caught:
        parse_axis(capacity, name, text)
    assert "\n" not in str(caught.value)


def test_the_grid_is_the_product_with_the_first_axis_slowest():
    points = grid_points([Axis("a", (1, 2)), Axis("b", ("x", "y", "z"))])
    assert points == [{"a": a, "b": b} for a in (1, 2) for b in "xyz"]


def test_a_grid_too_large_or_with_a_parameter_twice_is_refused():
    with pytest.raises(RerunError, match=r"1 to 1,000 points.*got 1,024"):
        grid_points([Axis(f"p{k}", (1, 2)) for k in range(10)])
    assert MAX_POINTS == 1_000
    with pytest.raises(RerunError, match=r"-g a is given twice"):
        grid_points([Axis("a", (1,)), Axis("a", (2,))])
    with pytest.raises(RerunError, match="at least one -g"):
        grid_points([])


def test_a_point_id_follows_the_values_and_the_chapter_notebook(capacity, tmp_path):
    assert point_id(capacity, {"a": 1.0}) == point_id(capacity, {"a": 1.0})
    assert point_id(capacity, {"a": 1.0}) != point_id(capacity, {"a": 2.0})
    edited = tmp_path / "capacity.ipynb"
    edited.write_bytes(capacity.path.read_bytes() + b"\n")
    assert point_id(Chapter("capacity", edited), {"a": 1.0}) != point_id(capacity, {"a": 1.0})


def test_a_point_id_follows_the_files_its_values_name(root, tmp_path):
    cost = find_chapters(root)["cost"]
    catalog = tmp_path / "prices.yaml"
    packaged = next((root / "lib" / "perfcost" / "data").glob("*.yaml"))
    catalog.write_bytes(packaged.read_bytes())
    before = point_id(cost, {"price_catalog_path": str(catalog)})
    catalog.write_bytes(packaged.read_bytes() + b"# edited\n")
    assert point_id(cost, {"price_catalog_path": str(catalog)}) != before


def test_a_point_a_rule_refuses_stays_in_the_plan_refused(capacity):
    # The capacity chapter refuses an SLO below an option's own latency (8.95 ms on the CPU).
    points = plan_sweep(capacity, {}, [parse_axis(capacity, "latency_slo_ms", "5,100")])
    assert points[0].refused.startswith("refused: cpu_latency_ms must be <= latency_slo_ms")
    assert points[1].refused == "" and points[1].parameters["latency_slo_ms"] == 100.0


def test_a_grid_every_point_of_which_is_refused_is_bad_input(capacity):
    with pytest.raises(ParameterError, match="cpu_latency_ms must be <= latency_slo_ms"):
        plan_sweep(capacity, {}, [parse_axis(capacity, "latency_slo_ms", "2,5")])


def test_a_parameter_swept_and_fixed_is_refused(capacity):
    with pytest.raises(RerunError, match="request_rate_rps is both swept"):
        plan_sweep(capacity, {"request_rate_rps": 10.0},
                   [parse_axis(capacity, "request_rate_rps", "1,2")])


def test_every_headline_is_glued_by_its_published_chapter(root):
    for name, chapter in find_chapters(root).items():
        published = glued_results(nbformat.read(chapter.path, as_version=4))
        assert set(HEADLINES[name]) <= set(published), name


# --- The table ----------------------------------------------------------------------------

def test_the_table_has_a_row_per_point_in_order_and_one_type_per_column(tmp_path):
    records = {
        "p1": {"values": {"rate": 1.0, "pair": [1, 2]}, "status": OK,
               "results": {"rate": 1.0, "cost": 10.0, "name": "a", "mixed": 3.0, "count": 4,
                           "meets": True}},
        "p2": {"values": {"rate": 2.0, "pair": [3, 4]}, "status": "failed: ValueError: x",
               "results": {}},
        "p3": {"values": {"rate": 3.0, "pair": [5, 6]}, "status": OK,
               "results": {"rate": 3.0, "cost": 30.0, "name": "b", "mixed": "text", "count": 5,
                           "meets": False}},
    }
    table = sweep_table(["rate", "pair"], records)
    assert list(table.columns[:3]) == ["rate", "pair", "status"]
    assert list(table["rate"]) == [1.0, 2.0, 3.0] and table["pair"][0] == "[1, 2]"
    assert list(table.columns).count("rate") == 1  # the glued copy of a swept input is left out
    csv_path, parquet_path = write_table(table, tmp_path)
    back = pd.read_parquet(parquet_path)
    assert list(back["status"]) == ["ok", "failed: ValueError: x", "ok"]
    assert back["cost"].isna().tolist() == [False, True, False]
    assert list(back["mixed"].dropna()) == ["3.0", "text"]
    assert str(back["count"].dtype) == "Int64" and back["count"].tolist()[::2] == [4, 5]
    assert str(back["meets"].dtype) == "boolean"
    assert "4.0" not in csv_path.read_text()
    assert pd.read_csv(csv_path).shape == back.shape


# --- A toy book: a chapter that takes a second, and fails when told to --------------------

TOY_CELLS = [
    ("x = 1.0  # the swept value\nfail_at = -1.0  # fail when x equals this", ["parameters"]),
    ("from perfcost.book.results import glue\n"
     "if x == fail_at:\n    raise ValueError(f'told to fail at {x}')\n"
     "glue('y', 2 * x)\nglue('label', f'x is {x:g}')", []),
]


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> Chapter:
    book = tmp_path_factory.mktemp("toybook")
    (book / "_toc.yml").write_text("format: jb-book\nroot: intro\n")
    (book / "analyses").mkdir()
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    for source, tags in TOY_CELLS:
        notebook.cells.append(nbformat.v4.new_code_cell(source, metadata={"tags": tags}))
    path = book / "analyses" / "toy.ipynb"
    nbformat.write(notebook, path)
    return Chapter("toy", path)


def toy_points(toy, values, fail_at=-1.0):
    return plan_sweep(toy, {"fail_at": fail_at}, [parse_axis(toy, "x", values)])


@pytest.mark.slow
def test_a_two_worker_local_cluster_runs_records_and_resumes_a_sweep(toy, tmp_path):
    points = toy_points(toy, "1,2,3,4", fail_at=3.0)
    seen = []
    records = run_sweep(toy, points, tmp_path, workers=2,
                        on_done=lambda point, record: seen.append(point.values["x"]))
    assert sorted(seen) == [1.0, 2.0, 3.0, 4.0]
    statuses = [records[p.point_id]["status"] for p in points]
    assert statuses[:2] == [OK, OK] and statuses[3] == OK
    assert statuses[2] == "failed: cell 2: ValueError: told to fail at 3.0"
    assert [records[p.point_id]["results"].get("y") for p in points] == [2.0, 4.0, None, 8.0]
    for point in points:  # every point in its own folder, its record beside it
        assert (tmp_path / "points" / point.point_id / "toy.ipynb").is_file()
        assert json.loads((tmp_path / "points" / f"{point.point_id}.json").read_text())[
            "status"] == records[point.point_id]["status"]
    # Interrupted after the first point: its record is all that survives of the others.
    for point in points[1:2]:
        (tmp_path / "points" / f"{point.point_id}.json").unlink()
    kept = (tmp_path / "points" / points[0].point_id / "toy.ipynb").stat().st_mtime_ns
    seen.clear()
    again = run_sweep(toy, points, tmp_path, workers=2,
                      on_done=lambda point, record: seen.append(point.values["x"]))
    assert sorted(seen) == [2.0, 3.0]  # the lost record, and the failed point once more
    assert (tmp_path / "points" / points[0].point_id / "toy.ipynb").stat().st_mtime_ns == kept
    assert [again[p.point_id]["status"] for p in points] == statuses


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stopped(*processes: subprocess.Popen) -> None:
    for process in processes:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def loopback_scheduler():
    """A Dask scheduler, started as a user would, on 127.0.0.1; no worker yet."""
    dask = Path(sys.executable).with_name("dask")
    port = free_port()
    scheduler = subprocess.Popen(
        [str(dask), "scheduler", "--host", "127.0.0.1", "--port", str(port),
         "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        from distributed import Client
        with Client(f"tcp://127.0.0.1:{port}", timeout=30):
            pass
        yield f"tcp://127.0.0.1:{port}"
    finally:
        stopped(scheduler)


@pytest.fixture
def loopback_cluster(loopback_scheduler, tmp_path):
    """That scheduler with one worker, started as a user would, on 127.0.0.1."""
    dask = Path(sys.executable).with_name("dask")
    worker = subprocess.Popen(
        [str(dask), "worker", loopback_scheduler, "--nthreads", "1", "--nworkers", "1",
         "--no-dashboard", "--host", "127.0.0.1"], stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, cwd=tmp_path)
    try:
        from distributed import Client
        with Client(loopback_scheduler, timeout=30) as client:
            client.wait_for_workers(1, timeout=60)
        yield loopback_scheduler
    finally:
        stopped(worker)


@pytest.mark.slow
def test_a_sweep_runs_on_a_scheduler_given_by_its_address(toy, tmp_path, loopback_cluster):
    points = toy_points(toy, "5,6")
    records = run_sweep(toy, points, tmp_path / "sweep", scheduler=loopback_cluster)
    assert [records[p.point_id]["results"]["y"] for p in points] == [10.0, 12.0]
    assert all(records[p.point_id]["status"] == OK for p in points)


def test_a_scheduler_that_does_not_answer_is_bad_input_and_nothing_is_written(
        root, tmp_path, capsys):
    start = time.perf_counter()
    status = main(["--root", str(root), "sweep", "capacity", "-g", "request_rate_rps",
                   "100,200", "--scheduler", f"127.0.0.1:{free_port()}", "--no-progress",
                   "-o", str(tmp_path / "out")])
    assert status == 2 and time.perf_counter() - start < 60
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("perfcost: --scheduler 127.0.0.1:"), error
    assert not (tmp_path / "out" / "points").exists()


@pytest.mark.slow
def test_a_scheduler_without_workers_is_bad_input_not_a_wait(root, tmp_path, capsys,
                                                            loopback_scheduler):
    status = main(["--root", str(root), "sweep", "cost", "-g", "cache_hit_rate", "0,0.5",
                   "--scheduler", loopback_scheduler, "--no-progress",
                   "-o", str(tmp_path / "out")])
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert status == 2 and "the scheduler has no workers" in error, error
    assert not (tmp_path / "out" / "points").exists()


# --- The command line ---------------------------------------------------------------------

@pytest.mark.parametrize(("argv", "pattern"), [
    (["sweep", "capacty", "-g", "request_rate_rps", "1,2"], r"unknown chapter 'capacty'"),
    (["sweep", "capacity", "-g", "rate", "1,2"], r"-g rate: capacity has no parameter"),
    (["sweep", "capacity", "-g", "request_rate_rps", "-1,2"],
     r"request_rate_rps must be a number in \[0.001,"),
    (["sweep", "capacity", "-g", "request_rate_rps", "1,2", "--workers", "0"],
     r"--workers must be .*\[1, 64\]"),
    (["sweep", "capacity", "-g", "request_rate_rps", "1,2", "--scheduler", "a b"],
     r"--scheduler must be a scheduler address"),
    (["sweep", "capacity", "-g", "request_rate_rps", "1,2", "--plot", "monthly_us"],
     r"--plot monthly_us: capacity glues no result of that name \(did you mean "
     r"'monthly_usd'\?\)"),
    (["sweep", "capacity", "-g", "request_rate_rps", "1,2", "-p", "request_rate_rps", "5"],
     r"request_rate_rps is both swept"),
    (["sweep", "capacity"], r"at least one -g"),
    (["sweep", "capacity", "-g", "request_rate_rps", "1,2", "--workers", "2", "--scheduler",
      "tcp://127.0.0.1:8786"], r"--workers must be absent with --scheduler .*; got 2"),
    (["sweep", "capacity", "-g", "request_rate_rps", "1,2", "--workers", "two"],
     r"--workers: invalid int value"),
])
def test_bad_input_is_one_line_exit_2_and_nothing_written(root, tmp_path, capsys, argv,
                                                          pattern):
    outdir = tmp_path / "out"
    status = main(["--root", str(root), *argv, "-o", str(outdir), "--no-progress"])
    error = capsys.readouterr().err.strip()
    assert status == 2 and "\n" not in error, error
    assert error.startswith("perfcost") and re.search(pattern, error)
    assert not outdir.exists()


def test_an_output_folder_under_a_file_is_bad_input(root, tmp_path, capsys):
    (tmp_path / "afile").write_text("")
    status = main(["--root", str(root), "sweep", "cost", "-g", "cache_hit_rate", "0,0.5",
                   "-o", str(tmp_path / "afile" / "sub"), "--no-progress"])
    error = capsys.readouterr().err.strip()
    assert status == 2 and error.endswith("afile is a file, not a folder"), error


def test_a_sweep_never_writes_into_the_chapters_folder(root, capsys):
    status = main(["--root", str(root), "sweep", "capacity", "-g", "request_rate_rps",
                   "1,2", "-o", str(root / "analyses" / "sweep"), "--no-progress"])
    assert status == 2 and "never write there" in capsys.readouterr().err
    assert not (root / "analyses" / "sweep").exists()


@pytest.mark.slow
def test_the_capacity_chapter_swept_from_the_command_line(root, tmp_path, capsys):
    status = main(["--root", str(root), "sweep", "capacity", "-g", "request_rate_rps",
                   "500,2000,8000", "-g", "latency_slo_ms", "5,100",
                   "-o", str(tmp_path), "--workers", "2", "--no-progress"])
    assert status == 0, capsys.readouterr().err
    table = pd.read_parquet(tmp_path / "sweep.parquet")
    assert list(table["request_rate_rps"]) == [500.0, 500.0, 2000.0, 2000.0, 8000.0, 8000.0]
    assert list(table["status"].str.split(":").str[0]) == ["refused", "ok"] * 3
    ran = table[table["status"] == OK]
    assert ran["monthly_usd"].is_monotonic_increasing and ran["monthly_usd"].iloc[0] > 0
    assert (ran["p95_ms"] <= ran["latency_slo_ms"]).all()
    svg = (tmp_path / "sweep.svg").read_text()
    assert "<svg" in svg and "monthly_usd" in svg
    assert "vega" in (tmp_path / "sweep.html").read_text()
    assert "2000" in (tmp_path / "sweep.csv").read_text()


def test_a_result_the_sweep_never_moves_is_said_beside_its_chart():
    from perfcost.book.sweep_cli import _chart_line

    table = pd.DataFrame({"x": [1, 2, 3], "status": [OK, OK, "refused: no"],
                          "total": [5.0, 5.0, None], "moved": [1.0, 2.0, None]})
    files = (Path("sweep.svg"), Path("sweep.html"))
    assert "total is 5.0 at every point: --plot another" in _chart_line(table, "total", files)
    assert "every point" not in _chart_line(table, "moved", files)
    assert _chart_line(table, "total", None) == "chart:  none (no point has total)"
