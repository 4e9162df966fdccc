"""Reading a chapter's parameters and checking a reader's values before anything runs."""

import ast

import nbformat
import pytest

from perfcost.book.chapters import (
    Chapter,
    Parameter,
    RerunError,
    chapter_parameters,
    coerce_text,
    find_book_root,
    find_chapters,
    read_parameter_file,
    rerun,
    resolve_parameters,
)


@pytest.fixture(scope="module")
def capacity_parameters(root):
    return chapter_parameters(find_chapters(root)["capacity"])


def test_the_book_root_is_found_from_a_subfolder(root):
    assert find_book_root(root / "analyses") == root
    assert "capacity" in find_chapters(root)


def test_parameters_come_with_defaults_types_and_comments(capacity_parameters):
    rate = capacity_parameters["request_rate_rps"]
    assert rate.default == 2000.0 and rate.type_name == "a number"
    assert "average request rate" in rate.help
    assert capacity_parameters["gpu_name"].default == "g4dn.xlarge"
    assert all(p.help for p in capacity_parameters.values()), "every parameter has a comment"


def test_values_are_typed_like_the_defaults(capacity_parameters):
    resolved = resolve_parameters(capacity_parameters,
                                  {"request_rate_rps": 5000, "latency_slo_ms": 50,
                                   "gpu_name": "g5.xlarge"})
    assert resolved == {"request_rate_rps": 5000.0, "latency_slo_ms": 50.0,
                        "gpu_name": "g5.xlarge"}
    assert type(resolved["latency_slo_ms"]) is float


def test_an_unknown_name_lists_the_valid_ones(capacity_parameters):
    with pytest.raises(RerunError, match=r"unknown parameter 'request_rate'; valid parameters: "
                                         r"request_rate_rps, latency_slo_ms"):
        resolve_parameters(capacity_parameters, {"request_rate": 5})


@pytest.mark.parametrize(
    ("default", "text", "expected"),
    [(3, "4", 4), (0.5, "1e3", 1000.0), (True, "no", False), ("a", "b", "b"),
     ([1], "[2, 3]", [2, 3])],
)
def test_command_line_text_is_coerced(default, text, expected):
    assert coerce_text(Parameter("p", default, ""), text) == expected


@pytest.mark.parametrize(
    ("default", "value"),
    [(3, "2.5"), (0.5, "fast"), (0.5, "1e3"), (True, "maybe"), ([1], "{a: 1}"), (3, 2.5),
     (0.5, True), (3, "x"), ([1.0], 1.0)],
)
def test_a_value_of_the_wrong_type_is_refused(default, value):
    with pytest.raises(RerunError, match=r"parameter 'p' takes (a |true or false)"):
        resolve_parameters({"p": Parameter("p", default, "")}, {"p": value})


def test_parameter_files_are_yaml_mappings(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text("request_rate_rps: 3000\nlatency_slo_ms: 80.5\n")
    assert read_parameter_file(good) == {"request_rate_rps": 3000, "latency_slo_ms": 80.5}
    unsafe = tmp_path / "unsafe.yaml"
    unsafe.write_text("x: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(RerunError, match="cannot read parameter file"):
        read_parameter_file(unsafe)
    listing = tmp_path / "list.yaml"
    listing.write_text("- 1\n- 2\n")
    with pytest.raises(RerunError, match="must hold a mapping"):
        read_parameter_file(listing)


def test_reruns_refuse_to_write_into_analyses(root):
    chapter = find_chapters(root)["capacity"]
    for inside in (root / "analyses", root / "analyses" / "out"):
        with pytest.raises(RerunError, match="re-runs never write there"):
            rerun(chapter, {}, inside)
    assert not (root / "analyses" / "out").exists()


def test_a_chapter_without_a_literal_default_is_reported(tmp_path):
    cell = nbformat.v4.new_code_cell("x = compute()  # not a literal")
    cell.metadata["tags"] = ["parameters"]
    path = tmp_path / "odd.ipynb"
    notebook = nbformat.v4.new_notebook(cells=[cell])
    notebook.metadata["kernelspec"] = {"name": "python3", "language": "python",
                                       "display_name": "Python 3"}
    nbformat.write(notebook, path)
    with pytest.raises(RerunError, match="parameter 'x': default"):
        chapter_parameters(Chapter("odd", path))


def test_every_assignment_in_a_parameters_cell_is_a_parameter(root):
    # papermill skips a line it cannot parse (an "=" inside the comment, say); that parameter
    # would then be refused by `perfcost rerun` as unknown.
    for chapter in find_chapters(root).values():
        notebook = nbformat.read(chapter.path, as_version=4)
        cell = next(c for c in notebook.cells if "parameters" in c.metadata.get("tags", []))
        assigned = [t.id for node in ast.parse(cell.source).body if isinstance(node, ast.Assign)
                    for t in node.targets]
        assert assigned == list(chapter_parameters(chapter)), chapter.name
