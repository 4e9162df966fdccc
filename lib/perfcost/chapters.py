"""The book's chapters as parameterised notebooks, and re-running one with new parameters.

A chapter is ``analyses/NAME.ipynb``. Its one cell tagged ``parameters`` declares every input
with a default and a comment; :func:`chapter_parameters` reads them (through papermill), and
:func:`resolve_parameters` checks a reader's values against them *before* anything runs: an
unknown name or a value whose type does not fit the default is refused with the valid choices.
:func:`rerun` executes the chapter into a new folder (never into ``analyses/``) and writes the
glued results as JSON.
"""

from __future__ import annotations

import ast
import json
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import nbformat
import papermill
import yaml

from perfcost.results import glued_results

__all__ = [
    "Chapter",
    "Parameter",
    "Rerun",
    "RerunError",
    "chapter_parameters",
    "coerce_text",
    "find_book_root",
    "find_chapters",
    "read_parameter_file",
    "rerun",
    "resolve_parameters",
]

CHAPTER_FOLDER = "analyses"


class RerunError(ValueError):
    """A re-run request that cannot be carried out: unknown chapter or parameter, bad value."""


@dataclass(frozen=True)
class Parameter:
    """One input of a chapter: its name, default value and the comment beside it."""

    name: str
    default: object
    help: str

    @property
    def type_name(self) -> str:
        """The type a value must have: the default's (an int is also a valid float)."""
        return type(self.default).__name__


@dataclass(frozen=True)
class Chapter:
    """A chapter notebook: ``name`` is the file's stem, ``path`` the notebook."""

    name: str
    path: Path


@dataclass(frozen=True)
class Rerun:
    """What a re-run wrote: the executed notebook, the results JSON and the results."""

    notebook_path: Path
    results_path: Path
    results: dict


def find_book_root(start: Path | None = None) -> Path:
    """Return the nearest folder at or above ``start`` (default: cwd) holding ``_toc.yml`` and
    ``analyses/``; failing that, the source checkout this package was installed from."""
    here = Path.cwd() if start is None else Path(start)
    candidates = [here.resolve(), *here.resolve().parents, Path(__file__).resolve().parents[2]]
    for folder in candidates:
        if (folder / "_toc.yml").is_file() and (folder / CHAPTER_FOLDER).is_dir():
            return folder
    raise RerunError(
        f"no book found at or above {here} (a folder with _toc.yml and {CHAPTER_FOLDER}/); "
        "run from the book's checkout or pass --root"
    )


def find_chapters(root: Path) -> dict[str, Chapter]:
    """Return the chapters of the book at ``root``, by name, in name order."""
    paths = sorted((Path(root) / CHAPTER_FOLDER).glob("*.ipynb"))
    return {p.stem: Chapter(p.stem, p) for p in paths}


def _default(name: str, source: str) -> object:
    try:
        return ast.literal_eval(source)
    except (ValueError, SyntaxError) as error:
        raise RerunError(f"parameter {name!r}: default {source!r} is not a literal") from error


def chapter_parameters(chapter: Chapter) -> dict[str, Parameter]:
    """Return the chapter's parameters, in the order of its ``parameters`` cell."""
    found = papermill.inspect_notebook(str(chapter.path))
    return {
        name: Parameter(name, _default(name, info["default"]), (info.get("help") or "").strip())
        for name, info in found.items()
    }


def _fits(value: object, default: object) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, float):
        return isinstance(value, numbers.Real)
    if isinstance(default, int):
        return isinstance(value, numbers.Integral)
    return isinstance(value, type(default))


def coerce_text(parameter: Parameter, text: str) -> object:
    """Convert a command-line string to the parameter's type, or raise RerunError."""
    default = parameter.default
    try:
        if isinstance(default, bool):
            lowered = text.strip().lower()
            if lowered not in {"true", "false", "yes", "no", "1", "0"}:
                raise ValueError(text)
            return lowered in {"true", "yes", "1"}
        if isinstance(default, int):
            return int(text)
        if isinstance(default, float):
            return float(text)
        if isinstance(default, str):
            return text
        value = yaml.safe_load(text)
    except (ValueError, yaml.YAMLError):
        value = text
    if not _fits(value, default):
        raise RerunError(
            f"parameter {parameter.name!r} takes a {parameter.type_name} "
            f"(default {default!r}); got {text!r}"
        )
    return value


def resolve_parameters(
    parameters: Mapping[str, Parameter], values: Mapping[str, object]
) -> dict[str, object]:
    """Check ``values`` against the chapter's parameters and return them typed like the defaults.

    Raises
    ------
    RerunError
        For a name the chapter does not have (listing the valid names) or a value whose type does
        not fit the default's.
    """
    resolved = {}
    for name, value in values.items():
        if name not in parameters:
            raise RerunError(
                f"unknown parameter {name!r}; valid parameters: {', '.join(parameters)}"
            )
        parameter = parameters[name]
        if isinstance(value, str) and not isinstance(parameter.default, str):
            value = coerce_text(parameter, value)
        if not _fits(value, parameter.default):
            raise RerunError(
                f"parameter {name!r} takes a {parameter.type_name} "
                f"(default {parameter.default!r}); got {value!r}"
            )
        resolved[name] = float(value) if isinstance(parameter.default, float) else value
    return resolved


def read_parameter_file(path: Path) -> dict[str, object]:
    """Read a YAML mapping of parameter names to values (with ``yaml.safe_load``)."""
    try:
        loaded = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as error:
        raise RerunError(f"cannot read parameter file {path}: {error}") from error
    if loaded is None:
        return {}
    if not isinstance(loaded, dict) or not all(isinstance(k, str) for k in loaded):
        raise RerunError(f"parameter file {path} must hold a mapping of names to values")
    return loaded


def _check_outside(folder: Path, protected: Path) -> None:
    folder, protected = folder.resolve(), protected.resolve()
    if folder == protected or protected in folder.parents:
        raise RerunError(f"output folder {folder} is inside {protected}; re-runs never write there")


def rerun(
    chapter: Chapter,
    values: Mapping[str, object],
    outdir: Path,
    *,
    progress_bar: bool = True,
) -> Rerun:
    """Execute ``chapter`` with ``values`` into ``outdir`` and write ``CHAPTER.results.json``.

    The parameters are resolved first (see :func:`resolve_parameters`), so a bad name or type
    fails before a kernel starts. A failing cell raises papermill's PapermillExecutionError after
    the partly executed notebook is saved in ``outdir``.
    """
    parameters = resolve_parameters(chapter_parameters(chapter), values)
    outdir = Path(outdir)
    _check_outside(outdir, chapter.path.parent)
    outdir.mkdir(parents=True, exist_ok=True)
    notebook_path = outdir / f"{chapter.name}.ipynb"
    papermill.execute_notebook(
        str(chapter.path), str(notebook_path), parameters=parameters,
        progress_bar=progress_bar, cwd=str(outdir),
    )
    results = glued_results(nbformat.read(notebook_path, as_version=4))
    results_path = outdir / f"{chapter.name}.results.json"
    results_path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    return Rerun(notebook_path, results_path, results)
