"""Shared fixtures: the book's root folder and the book built once per session; the browser
checks' wall times, printed at the end of the run."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def root() -> Path:
    """The book's checkout: the folder with _toc.yml and analyses/."""
    return ROOT


@pytest.fixture(scope="session")
def html(root, tmp_path_factory) -> Path:
    """Build the book as `make book` does, from the chapters' stored outputs; once a session.

    The suite executes every chapter already (nbval, in ``analyses/``), and the stored outputs
    are what it checks, so the build here does not execute them a second time: the same
    ``_config.yml`` with ``execute_notebooks: "off"``. `make book` executes them (cached).
    The book tests (test_book.py) and the browser tests (test_browser.py) share this build.

    To iterate on those tests against a book built elsewhere, set ``PERFCOST_BOOK_HTML`` to its
    HTML folder (``.../_build/html``): the build is then skipped.
    """
    prebuilt = os.environ.get("PERFCOST_BOOK_HTML")
    if prebuilt:
        folder = Path(prebuilt)
        assert (folder / "index.html").is_file(), f"PERFCOST_BOOK_HTML={prebuilt}: no index.html"
        return folder
    config = yaml.safe_load((root / "_config.yml").read_text())
    config["execute"]["execute_notebooks"] = "off"
    stored = tmp_path_factory.mktemp("book") / "_config.yml"
    stored.write_text(yaml.safe_dump(config))
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    build = subprocess.run(
        [str(jupyter_book), "build", str(root), "--config", str(stored), "--warningiserror",
         "--keep-going", "--quiet"],
        cwd=root, capture_output=True, text=True, timeout=900,
    )
    assert build.returncode == 0, build.stdout[-4000:] + build.stderr[-4000:]
    return root / "_build" / "html"


def pytest_terminal_summary(terminalreporter):
    """Print the wall time of each browser check (tests/test_browser.py records them)."""
    rows = [(report.nodeid.split("::")[-1], dict(report.user_properties))
            for reports in terminalreporter.stats.values() for report in reports
            if getattr(report, "when", None) == "teardown"
            and "check_s" in dict(getattr(report, "user_properties", ()))]
    if rows:
        terminalreporter.section("browser checks, wall time")
        for name, timing in rows:
            pages = (f" (after visiting {timing['pages']} pages in {timing['page_visits_s']} s)"
                     if "pages" in timing else "")
            terminalreporter.write_line(f"{timing['check_s']:7.2f} s  {name}{pages}")
