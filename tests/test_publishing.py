"""Publishing: the Pages workflow, the repository named once, and the chapters' downloads."""

import subprocess
from pathlib import Path

import jupytext
import nbformat
import pytest
import yaml

from perfcost.book.sphinx_publish import myst_markdown, repository_overrides

WORKFLOW = Path(".github/workflows/book.yml")


@pytest.fixture(scope="module")
def config(root):
    return yaml.safe_load((root / "_config.yml").read_text())


@pytest.fixture(scope="module")
def workflow(root):
    return yaml.safe_load((root / WORKFLOW).read_text())


def _runs(job) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def _uses(job) -> list[str]:
    return [step["uses"].split("@")[0] for step in job["steps"] if "uses" in step]


def test_pull_requests_run_the_whole_suite(workflow):
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert "pull_request" in triggers and triggers["push"]["branches"] == ["main"]
    test = workflow["jobs"]["test"]
    assert "pull_request" in test["if"]
    assert ".ci/run" in _runs(test)
    assert "make test" in (Path(".ci/run").read_text())


def test_main_builds_the_book_and_deploys_it_to_pages(workflow):
    pages = workflow["jobs"]["pages"]
    assert "refs/heads/main" in pages["if"]
    assert "make book" in _runs(pages)
    assert _uses(pages)[-2:] == ["actions/upload-pages-artifact", "actions/deploy-pages"]
    upload = next(s for s in pages["steps"] if "upload-pages-artifact" in s.get("uses", ""))
    assert upload["with"]["path"] == "_build/html"
    assert pages["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}


def test_the_published_buttons_point_at_the_repository_the_workflow_runs_in(workflow):
    build = next(s for s in workflow["jobs"]["pages"]["steps"] if s.get("run") == "make book")
    assert build["env"]["PERFCOST_REPOSITORY_URL"] == (
        "${{ github.server_url }}/${{ github.repository }}")
    assert build["env"]["PERFCOST_REPOSITORY_BRANCH"] == "${{ github.ref_name }}"


def test_the_repository_url_is_written_in_one_place(root, config):
    url = config["repository"]["url"]
    tracked = subprocess.run(["git", "ls-files"], cwd=root, capture_output=True, text=True,
                             check=True).stdout.split()
    holders = [name for name in tracked if (root / name).is_file()
               and url in (root / name).read_text(errors="ignore")]
    assert holders == ["_config.yml"]


def test_launch_buttons_are_configured(config):
    buttons = config["launch_buttons"]
    assert buttons["binderhub_url"] and buttons["colab_url"]
    assert buttons["thebe"] is False


@pytest.mark.parametrize(("environ", "expected"), [
    ({}, {}),
    ({"PERFCOST_REPOSITORY_URL": "  "}, {}),
    ({"PERFCOST_REPOSITORY_URL": "https://github.com/me/fork/"},
     {"repository_url": "https://github.com/me/fork"}),
    ({"PERFCOST_REPOSITORY_URL": "https://github.com/me/fork",
      "PERFCOST_REPOSITORY_BRANCH": "pages"},
     {"repository_url": "https://github.com/me/fork", "repository_branch": "pages"}),
])
def test_the_environment_overrides_the_repository_only_when_set(environ, expected):
    assert repository_overrides(environ) == expected


@pytest.mark.parametrize("chapter", ["capacity", "cost", "batching", "compression", "design"])
def test_a_chapter_as_myst_markdown_keeps_every_cell(root, chapter):
    path = root / "analyses" / f"{chapter}.ipynb"
    text = myst_markdown(path)
    assert text.startswith("---\n") and "```{code-cell} ipython3" in text
    original = nbformat.read(path, as_version=4)
    again = jupytext.reads(text, fmt="md:myst")
    assert [c.cell_type for c in again.cells] == [c.cell_type for c in original.cells]
    # jupytext drops a cell's trailing blank lines, which no reader sees
    assert [c.source.rstrip() for c in again.cells] == [
        c.source.rstrip() for c in original.cells]


@pytest.mark.slow
def test_chapter_pages_offer_launch_and_download_buttons(root, config, html):
    page = (html / "analyses" / "cost.html").read_text()
    repo = config["repository"]["url"].removeprefix("https://github.com/")
    assert f"mybinder.org/v2/gh/{repo}/main" in page
    assert f"colab.research.google.com/github/{repo}/blob/main/analyses/cost.ipynb" in page
    assert "_sources/analyses/cost.ipynb" in page
    assert "_sources/analyses/cost.md" in page
    assert (html / "_sources" / "analyses" / "cost.md").read_text().startswith("---\n")
