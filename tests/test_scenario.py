"""`perfcost scenario`: a team's numbers written once, checked in full before anything runs, every
chapter re-run with its share, and the team's own book and summary written.

The refusals are checked on small files in a temporary folder (each one line naming the key as
the file writes it, and nothing written). A toy book of two tiny chapters, one told to fail,
runs on a two-worker LocalCluster and builds, so that a failing chapter is seen reported while
the other finishes, in seconds. One test runs ``scenarios/example.yaml`` end to end on the real
book.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import time
from pathlib import Path

import nbformat
import pytest

from perfcost.book.chapters import chapter_parameters, find_chapters
from perfcost.book.results import glued_results
from perfcost.book.scenario import ScenarioError, load_scenario
from perfcost.book.scenario_book import book_files, scenario_note
from perfcost.book.scenario_cli import add_scenario_parser, run_scenario_command
from perfcost.book.scenario_keys import SCENARIO_KEYS, keys_table
from perfcost.book.scenario_run import MARK, ScenarioChapter, run_scenario
from perfcost.book.scenario_summary import readable

EXAMPLE = Path(__file__).resolve().parents[1] / "scenarios" / "example.yaml"


def scenario_args(*argv: str) -> argparse.Namespace:
    """The command line ``perfcost scenario ARGV...`` as the command reads it."""
    parser = argparse.ArgumentParser(prog="perfcost")
    add_scenario_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["scenario", *argv])


def write(folder: Path, text: str, name: str = "team.yaml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


# --- The mapping ------------------------------------------------------------------------------


def test_every_feed_names_a_parameter_of_a_chapter(root):
    chapters = find_chapters(root)
    parameters = {name: chapter_parameters(chapter) for name, chapter in chapters.items()}
    for key, spec in SCENARIO_KEYS.items():
        assert spec.feeds, key
        for feed in spec.feeds:
            assert feed.parameter in parameters[feed.chapter], f"{key} -> {feed}"


def test_a_key_feeds_parameters_of_one_type(root):
    chapters = find_chapters(root)
    for key, spec in SCENARIO_KEYS.items():
        kinds = {type(chapter_parameters(chapters[f.chapter])[f.parameter].default)
                 for f in spec.feeds if f.derive is None}
        assert len(kinds) == 1, f"{key}: {kinds}"


def test_a_derived_feed_reads_keys_that_feed_its_chapter_directly():
    for spec in SCENARIO_KEYS.values():
        for feed in (f for f in spec.feeds if f.derive is not None):
            assert feed.formula
            for used in feed.uses:
                assert any(f.chapter == feed.chapter and f.derive is None
                           for f in SCENARIO_KEYS[used].feeds), (feed, used)


def test_every_key_is_documented_with_its_unit_in_the_table():
    table = keys_table()
    for key, spec in SCENARIO_KEYS.items():
        assert re.search(r"\(.+\)$", spec.help), f"{key}: no unit in {spec.help!r}"
        rows = [line for line in table.splitlines() if line.startswith(f"| `{key}` |")]
        assert len(rows) == 1, key
        assert all(f"{f.chapter}.{f.parameter}" in rows[0] for f in spec.feeds)
    assert "`design.peak_qps = request_rate_rps * peak_to_average`" in table


def test_the_readme_lists_the_keys_as_the_library_maps_them(root):
    assert keys_table() in (root / "README.md").read_text()


# --- A scenario read and checked --------------------------------------------------------------


def test_the_example_feeds_every_chapter(root):
    scenario = load_scenario(EXAMPLE, root=root)
    assert scenario.name == "example"
    assert scenario.chapters == tuple(find_chapters(root))
    assert scenario.values["capacity"]["latency_slo_ms"] == scenario.values["design"][
        "p95_slo_ms"] == scenario.values["batching"]["slo_p95_ms"]
    design = scenario.values["design"]
    assert design["peak_qps"] == pytest.approx(scenario.values["cost"]["request_rate_rps"]
                                               * design["peak_to_average"])
    assert scenario.sources["design"]["peak_qps"] == "request_rate_rps * peak_to_average"
    assert scenario.sources["compression"]["epochs"] == "overrides"


def test_a_chapters_list_runs_only_those_chapters(root, tmp_path):
    scenario = load_scenario(write(tmp_path, "chapters: [cost, capacity]\n"
                                              "request_rate_rps: 900\n"), root=root)
    assert scenario.chapters == ("capacity", "cost")
    assert set(scenario.values) == {"capacity", "cost"}
    assert scenario.values["capacity"]["request_rate_rps"] == 900.0


def test_overrides_win_and_the_derived_peak_follows_the_ratio_design_runs_with(root, tmp_path):
    scenario = load_scenario(write(tmp_path, (
        "slo_p95_ms: 80\nrequest_rate_rps: 1000\npeak_to_average: 1.8\n"
        "overrides:\n  capacity: {latency_slo_ms: 90}\n  design: {peak_to_average: 1.25}\n")),
        root=root)
    assert scenario.values["capacity"]["latency_slo_ms"] == 90.0
    assert scenario.sources["capacity"]["latency_slo_ms"] == "overrides"
    assert scenario.values["batching"]["slo_p95_ms"] == 80.0
    assert scenario.values["design"]["peak_qps"] == 1250.0
    alone = load_scenario(write(tmp_path, "chapters: [design]\nrequest_rate_rps: 1000\n",
                                "alone.yaml"), root=root)
    assert alone.values["design"]["peak_qps"] == 1600.0  # design's own ratio, 1.6


def test_relative_paths_are_relative_to_the_scenario_file(root, tmp_path):
    folder = tmp_path / "team"
    folder.mkdir()
    (folder / "arrivals.csv").write_text("arrival_s\n" + "".join(f"{i / 10}\n"
                                                                 for i in range(100)))
    scenario = load_scenario(write(folder, "chapters: [batching]\ntrace_path: arrivals.csv\n"
                                           "trace_peak_rps: 50\n"), root=root)
    assert scenario.values["batching"]["trace_path"] == str(folder / "arrivals.csv")


REFUSALS = [
    ("request_rate: 800\n", "unknown key 'request_rate' (did you mean 'request_rate_rps'?)"),
    ("latency_slo_ms: 50\n",
     "unknown key 'latency_slo_ms' (did you mean 'slo_p95_ms'? it feeds "
     "capacity.latency_slo_ms)"),
    ("routing: random\n", "unknown key 'routing' (routing is a parameter of capacity: set it "
     "under overrides: {capacity: {routing: ...}})"),
    ("request_rate_rps: fast\n",
     "request_rate_rps (feeds capacity.request_rate_rps) takes a number (default 2000.0); "
     "got 'fast'"),
    ("seed: 1.5\n", "seed (feeds batching.seed) takes a whole number (default 0); got 1.5"),
    ("peak_to_average: 3\n",
     "peak_to_average (feeds cost.peak_to_average) must be a number in [1, 2]; got 3.0"),
    ("slo_p95_ms: -1\n",
     "slo_p95_ms (feeds batching.slo_p95_ms) must be a number in [0.001, 60000]; got -1.0"),
    ("chapters: [design]\nrequest_rate_rps: 900000\npeak_to_average: 2\n",
     "request_rate_rps * peak_to_average (feeds design.peak_qps) must be a number in "
     "[0.001, 1e+06]; got 1800000.0"),
    ("chapters: [design]\nrequest_rate_rps: [1]\n",
     "request_rate_rps must be a number for request_rate_rps * peak_to_average (feeds "
     "design.peak_qps); got [1]"),
    ("chapters: [capacity]\nslo_p95_ms: 5\n",
     "chapter capacity: cpu_latency_ms must be <= latency_slo_ms = 5"),
    ("chapters: [capacity]\nbudget_usd_month: 100\n",
     "budget_usd_month is used by no chapter in this scenario: it feeds design, and chapters "
     "runs only capacity"),
    ("chapters: [capcity]\n", "chapters: unknown chapter 'capcity' (did you mean 'capacity'?)"),
    ("chapters: []\n", "chapters must be a non-empty list of distinct chapters"),
    ("overrides:\n  capacty: {routing: random}\n",
     "overrides: unknown chapter 'capacty' (did you mean 'capacity'?)"),
    ("overrides:\n  capacity: {routng: random}\n",
     "overrides.capacity: unknown parameter 'routng' (did you mean 'routing'?)"),
    ("overrides:\n  capacity: {slo_p95_ms: 50}\n",
     "overrides.capacity: unknown parameter 'slo_p95_ms' (did you mean 'latency_slo_ms', "
     "what the key slo_p95_ms feeds there?)"),
    ("overrides:\n  capacity: {service_cv: 9}\n",
     "overrides.capacity.service_cv must be a number in [0, 3]; got 9.0"),
    ("chapters: [cost]\noverrides:\n  capacity: {routing: random}\n",
     "overrides.capacity is used by no chapter in this scenario: chapters runs only cost"),
    ("overrides: [capacity]\n", "overrides must be a mapping of chapter names"),
    ("chapters: [cost]\nprice_catalog_path: nowhere.yaml\n",
     "price_catalog_path (feeds cost.price_catalog_path) "),
    ("", "scenario file team.yaml holds no keys"),
    ("- request_rate_rps\n", "scenario file team.yaml must hold a mapping of keys to values"),
    ("seed: 1\nseed: 2\n", "the key 'seed' is written twice"),
    ("seed: [1\n", "not valid YAML"),
]


@pytest.mark.parametrize(("text", "message"), REFUSALS)
def test_a_bad_scenario_is_refused_in_one_line_naming_the_key(root, tmp_path, text, message):
    with pytest.raises(ScenarioError) as caught:
        load_scenario(write(tmp_path, text), root=root)
    assert message in str(caught.value) and "\n" not in str(caught.value), str(caught.value)


def test_a_path_is_refused_where_the_scenario_file_put_it(root, tmp_path):
    with pytest.raises(ScenarioError, match=re.escape(str(tmp_path / "nowhere.yaml"))):
        load_scenario(write(tmp_path, "chapters: [cost]\nprice_catalog_path: nowhere.yaml\n"),
                      root=root)


@pytest.mark.parametrize(("name", "message"), [
    ("my team.yaml", "NAME in NAME.yaml names the output folder"),
    (".hidden.yaml", "NAME in NAME.yaml names the output folder"),
    ("team.json", "must be NAME.yaml (or .yml)"),
])
def test_the_file_name_must_make_a_folder_name(root, tmp_path, name, message):
    with pytest.raises(ScenarioError, match=re.escape(message)):
        load_scenario(write(tmp_path, "seed: 1\n", name), root=root)


@pytest.mark.parametrize(("text", "extra", "message"), [
    ("request_rate: 800\n", [], "perfcost: unknown key 'request_rate'"),
    ("peak_to_average: 3\n", [], "perfcost: peak_to_average (feeds cost.peak_to_average)"),
    ("seed: 1\n", ["--workers", "0"], "perfcost: --workers must be a whole number in [1, 64]"),
    ("seed: 1\n", ["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"],
     "perfcost: --workers must be absent with --scheduler"),
    ("seed: 1\n", ["--scheduler", "a b"], "perfcost: --scheduler must be a scheduler address"),
])
def test_the_command_refuses_bad_input_with_exit_2_and_writes_nothing(
        root, tmp_path, capsys, text, extra, message):
    outdir = tmp_path / "out"
    status = run_scenario_command(root, scenario_args(str(write(tmp_path, text)), "-o",
                                                      str(outdir), *extra))
    error = capsys.readouterr().err.strip()
    assert status == 2 and error.startswith(message) and "\n" not in error, error
    assert not outdir.exists()


def test_perfcost_scenario_is_the_command(root, tmp_path, capsys):
    from perfcost.book.cli import main

    path = write(tmp_path, "request_rate: 800\n")
    assert main(["--root", str(root), "scenario", str(path), "-o", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.strip() == (
        "perfcost: unknown key 'request_rate' (did you mean 'request_rate_rps'?)")
    assert not (tmp_path / "out").exists()


def test_the_command_never_writes_into_a_chapter_folder_or_a_folder_of_other_files(
        root, tmp_path, capsys):
    scenario = str(write(tmp_path, "seed: 1\n"))
    assert run_scenario_command(root, scenario_args(scenario, "-o",
                                                    str(root / "analyses" / "x"))) == 2
    assert "inside a book's analyses/" in capsys.readouterr().err
    assert not (root / "analyses" / "x").exists()
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    assert run_scenario_command(root, scenario_args(scenario, "-o", str(foreign))) == 2
    assert "not a scenario's" in capsys.readouterr().err
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]


# --- The book's sources, the notes, the numbers -----------------------------------------------


def test_the_book_copy_holds_every_page_and_every_file_a_page_shows(root):
    files = {str(path) for path in book_files(root)}
    assert {"_config.yml", "_toc.yml", "book/intro.md", "book/references.bib",
            "analyses/capacity.ipynb", "book/figures/design_components.svg",
            "lib/perfcost/capacity.py"} <= files
    assert not any(f.startswith(("_build", "tests", ".venv", "scenarios")) for f in files)


def test_a_chapter_note_lists_what_the_scenario_set(root):
    scenario = load_scenario(EXAMPLE, root=root)
    ran = ScenarioChapter("capacity", Path("capacity.ipynb"), {}, seconds=3.0)
    note = scenario_note(scenario, "capacity", ran)
    assert note.startswith(":::{admonition} Scenario example") and note.endswith(":::")
    assert "| `latency_slo_ms` | `80.0` | `slo_p95_ms` |" in note
    failed = scenario_note(scenario, "capacity", ScenarioChapter(
        "capacity", Path("capacity.ipynb"), None, error="cell 3: ValueError: a | b"))
    assert "this chapter failed" in failed and "`cell 3: ValueError: a | b`" in failed
    assert "did not re-run this chapter" in scenario_note(scenario, "capacity", None)


@pytest.mark.parametrize(("value", "shown"), [
    (True, "yes"), (False, "no"), (12345, "12,345"), (1234.56, "1,235"), (0.99912, "0.9991"),
    (12.3456, "12.35"), (0.0, "0"), (1.5e-05, "1.5e-05"), ("int8_dynamic", "int8_dynamic"),
    (None, "\u2014"),
])
def test_numbers_are_shown_readably(value, shown):
    assert readable(value) == shown


# --- Running: a toy book, one chapter told to fail --------------------------------------------

TOY_CHAPTERS = {
    "fine": [
        ("markdown", "(chapter-fine)=\n# Fine\n\nTwice x is {glue:text}`twice`.", []),
        ("code", "x = 1.0  # a number", ["parameters"]),
        ("code", "from perfcost.book.results import glue\nglue('twice', 2 * x)", []),
    ],
    "broken": [
        ("markdown", "(chapter-broken)=\n# Broken\n\nIts answer is {glue:text}`answer`.", []),
        ("code", "fail = False  # fail on purpose", ["parameters"]),
        ("code", "from perfcost.book.results import glue\nglue('before', 1)", []),
        ("markdown", "Plain prose before the failure.", []),
        ("code", "if fail:\n    raise ValueError('told to fail')", []),
        ("markdown", "The answer, {glue:text}`answer`, computed below.", []),
        ("code", "glue('answer', 3)", []),
    ],
}


@pytest.fixture(scope="module")
def toy_book(tmp_path_factory) -> Path:
    """A book of two chapters that take a second each; ``broken`` fails when told to."""
    book = tmp_path_factory.mktemp("toybook")
    (book / "_config.yml").write_text("title: Toy\nonly_build_toc_files: true\n"
                                      "execute:\n  execute_notebooks: 'off'\n")
    (book / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n"
                                   "  - file: analyses/fine\n  - file: analyses/broken\n")
    (book / "intro.md").write_text("# Toy\n\nSee {ref}`chapter-broken`.\n")
    (book / "analyses").mkdir()
    for name, cells in TOY_CHAPTERS.items():
        notebook = nbformat.v4.new_notebook()
        notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                           "language": "python"}
        for kind, source, tags in cells:
            make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
            notebook.cells.append(make(source, metadata={"tags": tags}))
        nbformat.write(notebook, book / "analyses" / f"{name}.ipynb")
    return book


@pytest.mark.slow
def test_a_failing_chapter_is_reported_and_the_others_finish(toy_book, tmp_path, capsys):
    scenario = load_scenario(write(tmp_path, "overrides:\n  fine: {x: 21}\n"
                                              "  broken: {fail: true}\n"), root=toy_book)
    outdir = tmp_path / "out"
    run = run_scenario(toy_book, scenario, outdir, workers=2)
    progress = capsys.readouterr().err
    assert re.search(r"fine +done in \d+ s", progress)
    assert "broken  failed: cell 5: ValueError: told to fail" in progress
    assert not run.ok and run.failed == ["broken"] and not run.book_error
    summary = json.loads((outdir / "summary.json").read_text())
    assert summary == {"broken": None, "fine": {"twice": 42.0}}
    page = (outdir / "html" / "analyses" / "broken.html").read_text()
    assert "this chapter failed" in page and "told to fail" in page
    assert "Plain prose before the failure." in page and "The answer," not in page
    assert "42" in (outdir / "html" / "analyses" / "fine.html").read_text()
    assert "Failed: <code>cell 5: ValueError: told to fail</code>" in (
        outdir / "summary.html").read_text()
    assert (outdir / MARK).is_file()
    # Run again into the same folder: what the last run wrote is replaced, not added to.
    (outdir / "runs" / "stale.txt").write_text("from before")
    again = load_scenario(write(tmp_path, "overrides:\n  fine: {x: 5}\n"), root=toy_book)
    assert run_scenario(toy_book, again, outdir, workers=2, progress=False, build=False).ok
    assert json.loads((outdir / "summary.json").read_text()) == {
        "broken": {"answer": 3, "before": 1}, "fine": {"twice": 10.0}}
    assert not (outdir / "runs" / "stale.txt").exists() and not (outdir / "html").exists()
    source = outdir / "source" / "analyses" / "broken.ipynb"
    assert "this chapter failed" not in source.read_text()


def page_text(path: Path) -> str:
    """A built page's text, its tags and highlighting removed."""
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text()))


# --- The example, end to end ------------------------------------------------------------------


@pytest.mark.slow
def test_the_example_scenario_runs_every_chapter_and_builds_its_book(root, tmp_path, capsys):
    outdir = tmp_path / "example"
    start = time.perf_counter()
    status = run_scenario_command(root, scenario_args(str(EXAMPLE), "-o", str(outdir)))
    wall_s = time.perf_counter() - start
    captured = capsys.readouterr()
    assert status == 0, captured.err[-3000:]
    scenario = load_scenario(EXAMPLE, root=root)
    chapters = find_chapters(root)
    for name in chapters:
        assert re.search(rf"\n  {name} +done in \d+ s", captured.err), captured.err
    summary = json.loads((outdir / "summary.json").read_text())
    assert set(summary) == set(chapters)
    for name in chapters:  # the summary holds each re-run's glued results
        executed = nbformat.read(outdir / "runs" / name / f"{name}.ipynb", as_version=4)
        assert summary[name] == glued_results(executed)
    assert summary["capacity"]["request_rate_rps"] == scenario.values["capacity"][
        "request_rate_rps"]
    assert summary["capacity"]["monthly_usd"] != glued_results(nbformat.read(
        chapters["capacity"].path, as_version=4))["monthly_usd"]
    page = (outdir / "summary.html").read_text()
    assert all(f'<section id="{name}">' in page for name in chapters)
    assert "<script" not in page
    # What the team did not set is named: batching's traffic is still the book's.
    batching = page[page.index('<section id="batching">'):]
    assert "Still the book's defaults" in batching and "<code>steady_rps</code>" in batching
    assert (outdir / "html" / "index.html").is_file()
    pages = {name: page_text(outdir / "html" / "analyses" / f"{name}.html")
             for name in chapters}
    for name, text in pages.items():  # the note, and the values the chapter ran with
        assert "Scenario example" in text, name
        for parameter, value in scenario.values[name].items():
            if parameter != "book_root":
                assert f"{parameter} = {value!r}".replace("'", '"') in text, (name, parameter)
    assert "measured in this scenario" in pages["cost"]
    assert f"${summary['capacity']['monthly_usd']:,.0f} a month" in pages["capacity"]
    assert not list((root / "analyses").glob("*.results.json"))
    print(f"\nexample scenario end to end: {wall_s:.0f} s")
