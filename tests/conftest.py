"""Shared fixtures: the book's root folder."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def root() -> Path:
    """The book's checkout: the folder with _toc.yml and analyses/."""
    return ROOT
