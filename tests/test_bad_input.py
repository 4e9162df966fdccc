"""Bad input to `perfcost rerun`: one line naming the parameter, exit 2, nothing written.

For every parameter of every chapter, values of the wrong type, NaN, ±infinity, negative, zero
and huge; for every file a reader hands over (-f parameter files, price catalogs), malformed,
empty, non-UTF-8, a byte-order mark, an alias bomb, a recursive alias, unknown and duplicate
keys. Each must end in one line on standard error and exit status 2 before any kernel starts,
with ``analyses/`` unchanged (by hash) and no results file left in the output folder.

Every case runs under a 2-second alarm: a hang fails the test instead of stalling the suite.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import signal
from pathlib import Path

import pytest

from perfcost.book.chapters import chapter_parameters, find_chapters
from perfcost.book.cli import EXIT_BAD_INPUT, main
from perfcost.book.inputs import CHAPTER_INPUTS
from perfcost.book.parameter_types import (
    Names,
    Number,
    Pair,
    Shape,
    Text,
    WholeNumber,
    ZeroOr,
)

BOOK = Path(__file__).resolve().parents[1]
CHAPTERS = find_chapters(BOOK)
PARAMETERS = {name: chapter_parameters(chapter) for name, chapter in CHAPTERS.items()}
SECONDS_PER_CASE = 2


def _digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(folder)).encode() + path.read_bytes())
    return digest.hexdigest()


ANALYSES_DIGEST = _digest(BOOK / "analyses")


@contextlib.contextmanager
def _deadline(seconds: int):
    def expire(signum, frame):
        raise TimeoutError(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def refuse(args: list[str], outdir: Path, capsys) -> str:
    """Run the CLI; assert exit 2, one line, nothing written; return the line."""
    with _deadline(SECONDS_PER_CASE):
        status = main(["--root", str(BOOK), *args, "-o", str(outdir), "--no-progress"])
    err = capsys.readouterr().err
    assert status == EXIT_BAD_INPUT, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("perfcost"), err
    assert "Traceback" not in err
    assert not outdir.exists() or not any(outdir.iterdir())
    assert _digest(BOOK / "analyses") == ANALYSES_DIGEST
    return lines[0]


# --- Every parameter of every chapter ------------------------------------------------------------

NUMBER_CASES = {"wrong type": "fast", "NaN": "nan", "+inf": "inf", "-inf": "-inf",
                "negative": "-1", "huge": "1e300"}


def _numeric_cases():
    for chapter, inputs in CHAPTER_INPUTS.items():
        for name, check in inputs.checks.items():
            if isinstance(check, Number | WholeNumber | ZeroOr):
                for kind, text in NUMBER_CASES.items():
                    yield pytest.param(chapter, name, text, id=f"{chapter}-{name}-{kind}")


@pytest.mark.parametrize(("chapter", "name", "text"), list(_numeric_cases()))
def test_every_number_refuses_the_wrong_type_nan_inf_negative_and_huge(
        chapter, name, text, tmp_path, capsys):
    line = refuse(["rerun", chapter, "-p", name, text], tmp_path / "out", capsys)
    assert name in line


def _zero_cases():
    for chapter, inputs in CHAPTER_INPUTS.items():
        for name, check in inputs.checks.items():
            if isinstance(check, Number | WholeNumber):
                zero_allowed = check.low == 0 and not getattr(check, "low_open", False)
                if not zero_allowed:
                    yield pytest.param(chapter, name, id=f"{chapter}-{name}")


@pytest.mark.parametrize(("chapter", "name"), list(_zero_cases()))
def test_zero_is_refused_where_the_range_excludes_it(chapter, name, tmp_path, capsys):
    line = refuse(["rerun", chapter, "-p", name, "0"], tmp_path / "out", capsys)
    assert line.startswith(f"perfcost: {name} must be")


def test_the_ranges_cover_every_parameter_of_every_chapter():
    for chapter, parameters in PARAMETERS.items():
        assert set(CHAPTER_INPUTS[chapter].checks) == set(parameters), chapter


def test_the_defaults_are_inside_their_ranges():
    from perfcost.book.inputs import check_values

    for chapter, parameters in PARAMETERS.items():
        check_values(chapter, {n: p.default for n, p in parameters.items()})


def _other_cases():
    for chapter, inputs in CHAPTER_INPUTS.items():
        for name, check in inputs.checks.items():
            if isinstance(check, Text):
                cases = {"empty": "", "blank": "   ", "too long": "x" * 300,
                         "two lines": "a\nb"}
            elif isinstance(check, Pair):
                cases = {"one": "[1.0]", "three": "[1, 2, 3]", "NaN": "[.nan, 1]",
                         "inf": "[1, .inf]", "negative": "[-1, 1]", "text": "fast",
                         "mapping": "{a: 1}", "huge": "[1e300, 1]"}
            elif isinstance(check, Names):
                cases = {"empty": "[]", "unknown": "[fp64]", "repeated": "[fp32, fp32]",
                         "a string": "fp32", "numbers": "[1, 2]"}
            elif isinstance(check, Shape):
                cases = {"empty": "[]", "zero": "[0, 28]", "negative": "[-1, 28]",
                         "fraction": "[1.5]", "NaN": "[.nan]", "inf": "[.inf]", "huge": "[1e300]",
                         "true": "[true]", "text": "[a, b]", "nine": "[1, 1, 1, 1, 1, 1, 1, 1, 1]",
                         "a number": "784", "mapping": "{a: 1}", "nested": "[[1, 28]]"}
            else:
                continue
            for kind, text in cases.items():
                yield pytest.param(chapter, name, text, id=f"{chapter}-{name}-{kind}")


@pytest.mark.parametrize(("chapter", "name", "text"), list(_other_cases()))
def test_text_lists_and_pairs_are_checked(chapter, name, text, tmp_path, capsys):
    line = refuse(["rerun", chapter, "-p", name, text], tmp_path / "out", capsys)
    assert name in line


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["-p", "request_rate_rps", "-1e3"], "request_rate_rps must be a number in [0.001, "),
        (["-p", "request_rate_rps", "7e20"], "got 7e+20"),
        (["-p", "gpu_throughput_rps", "1e-308"], "gpu_throughput_rps must be a number in"),
        (["-p", "request_rate_rps"], "expected 2 arguments"),
        (["-p", "utilization_target", "1.5"], "utilization_target must be a number in [0.01, 1]"),
        (["-p", "request_rate", "5"], "unknown parameter 'request_rate'; valid parameters:"),
        (["-p", "request_rate_rps", "fast"], "takes a number (default 2000.0)"),
        (["-p", "cpu_name", "../analyses", "-p", "peak_to_average", "0.5"],
         "peak_to_average must be a number in [1, 100]"),
    ],
)
def test_capacity_command_lines_from_the_issue(args, expected, tmp_path, capsys):
    assert expected in refuse(["rerun", "capacity", *args], tmp_path / "out", capsys)


@pytest.mark.parametrize(
    ("chapter", "args", "expected"),
    [
        ("batching", ["-p", "bursty_rps", "[1e3, 5e3]", "-p", "duration_s", "1200"],
         "max(bursty_rps) * duration_s must be between 1e+03"),
        ("batching", ["-p", "steady_rps", "1e6"], "steady_rps * duration_s must be between"),
        ("batching", ["-p", "bursty_sojourn_s", "[1e-300, 1e-300]"],
         "bursty_sojourn_s must be two numbers, each a number in [0.1, "),
        ("batching", ["-p", "bursty_rps", "[0, 0]"], "bursty_rps must be two rates, not both"),
        ("batching", ["-p", "spike_start_s", "250"],
         "spike_start_s + spike_duration_s must be <= duration_s = 300"),
        ("batching", ["-p", "steady_rps", "1"], "steady_rps * duration_s must be between 1e+03"),
        ("batching", ["-p", "base_ms", "1000", "-p", "slo_p95_ms", "5000"],
         "requests * (base_ms + per_item_ms) / instances"),
        ("batching", ["-p", "spike_duration_s", "2"], "spike_duration_s must be a number in [10"),
        ("capacity", ["-p", "gpu_latency_ms", "200"], "gpu_latency_ms must be <= latency_slo_ms"),
        ("compression", ["-p", "variants", "[fp64]"],
         "variants must be a non-empty list of distinct names from fp32, fp16, "),
        ("compression", ["-p", "model_path", "no-such-model.onnx"],
         "no-such-model.onnx' cannot be used: no such file"),
        ("compression", ["-p", "input_shape", "[1, 28, 28]"],
         'input_shape must be [784] with model_path "" (the chapter\'s MLP reads 28x28'),
        ("compression", ["-p", "decode_ms", "6e4", "-p", "network_ms", "1e5"],
         "network_ms must be a number in [0, 60000]"),
        ("batching", ["-p", "seed", "-1"], "seed must be a whole number in [0, 4294967295]"),
        ("batching", ["-p", "per_item_ms", "1e308"], "per_item_ms must be a number in [0.001, "),
        ("batching", ["-p", "instances", "1e8"], "instances must be a whole number in [1, 256]"),
        ("batching", ["-p", "spike_multiplier", "0.5"], "spike_multiplier must be"),
        ("batching", ["-p", "diurnal_peak_to_average", "3"], "diurnal_peak_to_average must"),
        ("batching", ["-p", "slo_p95_ms", "3"],
         "slo_p95_ms must be more than base_ms + per_item_ms = 3.67 ms"),
        ("batching", ["-p", "trace_path", "no-such-trace.csv"],
         "no-such-trace.csv' cannot be used"),
        ("batching", ["-p", "drift_slowdown", "0.5"], "drift_slowdown must be a number in [1"),
        ("compression", ["-p", "epochs", "1e6"], "epochs must be a whole number in [1, 50]"),
        ("compression", ["-p", "instance_throughput_rps", "5e-7"],
         "instance_throughput_rps must be 0 (the cost chapter's) or a number in [0.001, "),
        ("compression", ["-p", "hidden_units", "1e9"], "hidden_units must be a whole number"),
        ("compression", ["-p", "epochs", "2.5"], "parameter 'epochs' takes a whole number"),
        ("cost", ["-p", "request_rate_rps", "1e8"], "request_rate_rps must be a number in"),
        ("cost", ["-p", "archive_storage_class", "tape"], "archive_storage_class must be one of"),
        ("cost", ["-p", "eu_egress_fraction", "1.7"], "eu_egress_fraction must be a number in"),
    ],
)
def test_command_lines_from_the_issue(chapter, args, expected, tmp_path, capsys):
    assert expected in refuse(["rerun", chapter, *args], tmp_path / "out", capsys)


def test_root_must_be_a_book(tmp_path, capsys):
    assert main(["--root", str(tmp_path / "nonexistent"), "list"]) == EXIT_BAD_INPUT
    assert "is not a book folder" in capsys.readouterr().err


def test_an_output_folder_that_is_a_file_is_refused(tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("keep me")
    with _deadline(SECONDS_PER_CASE):
        status = main(["--root", str(BOOK), "rerun", "capacity", "-o", str(target)])
    assert status == EXIT_BAD_INPUT and "is not a folder" in capsys.readouterr().err
    assert target.read_text() == "keep me"


@pytest.mark.parametrize("inside", ["analyses", "analyses/x/..", "analyses/{x}", "link"])
def test_output_folders_inside_analyses_are_refused_in_every_spelling(
        inside, tmp_path, capsys, monkeypatch):
    (tmp_path / "link").symlink_to(BOOK / "analyses")
    target = BOOK / inside if inside != "link" else tmp_path / "link"
    if inside == "analyses/{x}":  # the literal folder name, never a template
        target = BOOK / "analyses" / "{x}"
    with _deadline(SECONDS_PER_CASE):
        status = main(["--root", str(BOOK), "rerun", "capacity", "-o", str(target)])
    assert status == EXIT_BAD_INPUT
    assert "re-runs never write there" in capsys.readouterr().err
    assert _digest(BOOK / "analyses") == ANALYSES_DIGEST


# --- Files a reader hands over -------------------------------------------------------------------

BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(  # 9^9 values from 600 bytes
    f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n"
    for a, b in zip("abcdefgh", "bcdefghi", strict=True))

YAML_CASES = {
    "malformed": b"request_rate_rps: [1, 2\n",
    "empty": b"",
    "non-UTF-8": "cpu_name: caf\xe9\n".encode("latin-1"),
    "alias bomb": BOMB.encode(),
    "recursive alias": b"cpu_name: &a [*a]\n",
    "unknown key": b"request_rate: 5\n",
    "duplicate key": b"request_rate_rps: 5\nrequest_rate_rps: 6\n",
    "a list": b"- 1\n- 2\n",
    "deep": b"[" * 5000 + b"]" * 5000,
    "invalid date": b"cpu_name: 2026-02-30\n",
    "out of range": b"request_rate_rps: 1e3\nlatency_slo_ms: -5\n",
    "not a number": b"request_rate_rps: '1e3'\n",
}


@pytest.mark.parametrize("kind", list(YAML_CASES))
def test_parameter_files_are_read_safely(kind, tmp_path, capsys):
    path = tmp_path / "p.yaml"
    path.write_bytes(YAML_CASES[kind])
    line = refuse(["rerun", "capacity", "-f", str(path)], tmp_path / "out", capsys)
    assert str(path) in line or "request_rate" in line or "latency_slo_ms" in line


def test_a_parameter_file_with_a_byte_order_mark_is_read(tmp_path):
    from perfcost.book.chapters import read_parameter_file

    path = tmp_path / "p.yaml"
    path.write_bytes(b"\xef\xbb\xbfbursty_rps: [1e3, 2E3]\nseed: 3\n")
    assert read_parameter_file(path) == {"bursty_rps": [1000.0, 2000.0], "seed": 3}


def _catalog_text() -> str:
    from perfcost.pricing import load_catalog

    return Path(load_catalog().path).read_text()


CATALOG_CASES = {
    "malformed": lambda text: text.replace("region: us-east-1", "region: [us-east-1"),
    "empty": lambda text: "",
    "alias bomb": lambda text: text + "\n" + BOMB.replace("a:", "zz:", 1),
    "unknown key": lambda text: text + "\nregoin: x\n",
    "duplicate key": lambda text: text + "\nregion: us-west-2\n",
    "infinite price": lambda text: text.replace("hourly_usd: 0.526", "hourly_usd: .inf"),
    "fractional vcpus": lambda text: text.replace("vcpus: 4, memory_gib: 16, accelerator: "
                                                  "NVIDIA T4", "vcpus: 2.5, memory_gib: 16, "
                                                  "accelerator: NVIDIA T4", 1),
    "no ingress": lambda text: text.replace("  ingress: {usd: 0.0,", "  ingres: {usd: 0.0,"),
}


@pytest.mark.parametrize("kind", list(CATALOG_CASES))
def test_price_catalogs_are_checked_before_the_chapter_runs(kind, tmp_path, capsys):
    path = tmp_path / "prices.yaml"
    path.write_text(CATALOG_CASES[kind](_catalog_text()))
    line = refuse(["rerun", "cost", "-p", "price_catalog_path", str(path)],
                  tmp_path / "out", capsys)
    assert line.startswith(f"perfcost: price_catalog_path '{path}' cannot be used: {path}")


@pytest.fixture(scope="module")
def cnn(tmp_path_factory):
    """A small CNN exported to ONNX with a dynamic batch dimension: input (?, 1, 28, 28)."""
    from onnx_fixtures import small_cnn_onnx

    return small_cnn_onnx(tmp_path_factory.mktemp("cnn") / "cnn.onnx")


@pytest.mark.parametrize(("kind", "problem"), [
    ("fixed batch", "the batch dimension is fixed at 1; export with a dynamic batch dimension"),
    ("two inputs", "the model has 2 inputs (input_ids, attention_mask); one float32 input"),
    ("not ONNX", "not a valid ONNX model"),
    ("a folder", "not a regular file"),
])
def test_a_readers_model_is_checked_before_the_chapter_runs(kind, problem, tmp_path, capsys,
                                                            monkeypatch):
    from onnx_fixtures import fixed_batch_onnx, two_input_onnx

    path = tmp_path / "model.onnx"
    if kind == "fixed batch":
        fixed_batch_onnx(path)
    elif kind == "two inputs":
        two_input_onnx(path)
    elif kind == "not ONNX":
        path.write_text("request_rate_rps: 5\n")
    else:
        path.mkdir()
    monkeypatch.chdir(tmp_path)  # a relative path is the reader's, from where they ran
    line = refuse(["rerun", "compression", "-p", "model_path", "model.onnx"], tmp_path / "out",
                  capsys)
    assert line.startswith(f"perfcost: model_path '{path}' cannot be used: {problem}"), line


@pytest.mark.parametrize("shape", ["[784]", "[28, 28]", "[1, 28, 28, 1]", "[3, 28, 28]"])
def test_an_input_shape_that_does_not_fit_the_readers_model_is_refused(shape, cnn, tmp_path,
                                                                       capsys):
    line = refuse(["rerun", "compression", "-p", "model_path", str(cnn), "-p", "input_shape",
                   shape], tmp_path / "out", capsys)
    assert line.startswith("perfcost: input_shape must be a list of 3 positive integers "
                           "matching the model's input (?, 1, 28, 28) without its batch "
                           "dimension"), line


def test_a_non_utf8_catalog_is_refused(tmp_path, capsys):
    path = tmp_path / "prices.yaml"
    path.write_bytes(_catalog_text().replace("N. Virginia", "Virgínia").encode("latin-1"))
    line = refuse(["rerun", "cost", "-p", "price_catalog_path", str(path)],
                  tmp_path / "out", capsys)
    assert "not UTF-8" in line


def test_a_relative_catalog_path_is_read_from_where_the_reader_is(tmp_path, monkeypatch):
    from perfcost.book.chapters import anchor_paths, checked_parameters

    shutil.copy(Path(__import__("perfcost.pricing").pricing.load_catalog().path),
                tmp_path / "my-prices.yaml")
    monkeypatch.chdir(tmp_path)
    chapter = CHAPTERS["cost"]
    values = anchor_paths(chapter, {"price_catalog_path": "my-prices.yaml"}, Path.cwd())
    checked = checked_parameters(chapter, values)
    assert checked["price_catalog_path"] == str((tmp_path / "my-prices.yaml").resolve())
    assert checked["book_root"] == str(chapter.path.parent.parent)  # the book it ran from
    # in a -f file, relative to the file's folder
    (tmp_path / "sub").mkdir()
    values = anchor_paths(chapter, {"price_catalog_path": "../my-prices.yaml"}, tmp_path / "sub")
    assert Path(checked_parameters(chapter, values)["price_catalog_path"]) == (
        tmp_path / "my-prices.yaml").resolve()


def test_list_prints_every_range_and_rule_and_survives_a_closed_pipe():
    import subprocess
    import sys

    listing = subprocess.run([sys.executable, "-m", "perfcost", "--root", str(BOOK), "list"],
                             capture_output=True, text=True, timeout=60).stdout
    assert "valid: a number in [0.001, 1e+06]" in listing
    assert "and: spike_start_s + spike_duration_s <= duration_s" in listing
    shell = f"{sys.executable} -m perfcost --root {BOOK} list | head -1"
    done = subprocess.run(["bash", "-c", f"set -o pipefail; {shell}"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr


# --- Cases a hostile review found ----------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("a: 010", 10), ("a: 1e3", 1000.0), ("a: -2.5", -2.5), ("a: 0x10", "0x10"),
    ("a: 0b101", "0b101"), ("a: 1_000", "1_000"), ("a: 1:30", "1:30"), ("a: .5", 0.5)])
def test_yaml_numbers_are_decimal_as_in_yaml_1_2(text, expected):
    from perfcost.files import parse_yaml

    assert parse_yaml(text, source="t")["a"] == expected


@pytest.mark.parametrize("text", ["1_000", "５０００", "١٠", "0x10", "5 5", "True"])
def test_command_line_numbers_are_ascii_decimal(text, tmp_path, capsys):
    line = refuse(["rerun", "capacity", "-p", "request_rate_rps", text], tmp_path / "o", capsys)
    assert "takes a number" in line


def test_a_nul_byte_in_a_yaml_file_is_bad_input(tmp_path, capsys):
    path = tmp_path / "p.yaml"
    path.write_bytes(b"request_rate_rps: \x00\n")
    line = refuse(["rerun", "capacity", "-f", str(path)], tmp_path / "o", capsys)
    assert "not valid YAML" in line


@pytest.mark.parametrize("args", [
    ["-o", ""], ["-o", "~nosuchuser-perfcost/x"], ["-o", "/tmp/" + "a" * 300],
    ["-f", ""], ["--parameter-pair", "request_rate_rps"],
    ["-p", "price_catalog_path", "~nosuchuser-perfcost/p.yaml"],
])
def test_odd_paths_and_options_are_bad_input_not_failed_chapters(args, tmp_path, capsys):
    with _deadline(SECONDS_PER_CASE):
        status = main(["--root", str(BOOK), "rerun", "capacity", *args, "--no-progress"])
    err = capsys.readouterr().err
    assert status == EXIT_BAD_INPUT and len(err.strip().splitlines()) == 1, err


def test_another_books_chapters_are_protected_too(tmp_path, capsys):
    other = tmp_path / "other"
    (other / "analyses").mkdir(parents=True)
    (other / "_toc.yml").write_text("root: intro\n")
    line = refuse(["rerun", "capacity"], other / "analyses" / "x", capsys)
    assert "re-runs never write there" in line


def test_an_empty_notebook_is_named_not_a_traceback(tmp_path, capsys):
    (tmp_path / "analyses").mkdir()
    (tmp_path / "_toc.yml").write_text("root: intro\n")
    (tmp_path / "analyses" / "empty.ipynb").write_text("")
    for args in (["list"], ["rerun", "empty"]):
        assert main(["--root", str(tmp_path), *args]) == EXIT_BAD_INPUT
        assert "chapter 'empty'" in capsys.readouterr().err


def test_a_tight_slo_keeps_the_controllers_fallback_inside_its_wait_limit():
    from perfcost.batching.slo_controller import SLOBatchingController

    controller = SLOBatchingController(3.0)
    assert controller.fallback[0] <= controller.max_wait_limit_ms == pytest.approx(1.8)


def test_results_are_never_written_through_a_planted_link(tmp_path):
    from perfcost.book.chapters import _write_atomically

    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    (tmp_path / "r.json.partial").symlink_to(victim)
    _write_atomically(tmp_path / "r.json", "{}")
    assert victim.read_text() == "keep" and (tmp_path / "r.json").read_text() == "{}"
