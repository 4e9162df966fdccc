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
import math
import numbers
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import nbformat
import papermill

from perfcost.book.inputs import CHAPTER_INPUTS, check_values
from perfcost.book.parameter_types import FilePath
from perfcost.book.results import glued_results
from perfcost.files import decimal_number, load_yaml, parse_yaml

__all__ = [
    "Chapter",
    "Parameter",
    "Rerun",
    "RerunError",
    "anchor_paths",
    "chapter_parameters",
    "checked_parameters",
    "coerce_command_line",
    "coerce_text",
    "find_book_root",
    "find_chapters",
    "is_book",
    "output_folder",
    "read_parameter_file",
    "rerun",
    "resolve_parameters",
]

CHAPTER_FOLDER = "analyses"
BOOK_ROOT = "book_root"  # a chapter parameter filled with the book a re-run found it in


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
        """The kind of value it takes, in words: the default's (an int is also a number)."""
        return _KINDS.get(type(self.default), type(self.default).__name__)


_KINDS = {bool: "true or false", int: "a whole number", float: "a number", str: "text",
          list: "a list", dict: "a mapping"}


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


def is_book(folder: Path) -> bool:
    """True when ``folder`` holds a book: ``_toc.yml`` and the chapter folder."""
    return (folder / "_toc.yml").is_file() and (folder / CHAPTER_FOLDER).is_dir()


def find_book_root(start: Path | None = None) -> Path:
    """Return the nearest folder at or above ``start`` (default: cwd) holding ``_toc.yml`` and
    ``analyses/``; failing that, the source checkout this package was installed from."""
    here = Path.cwd() if start is None else Path(start)
    candidates = [here.resolve(), *here.resolve().parents, Path(__file__).resolve().parents[3]]
    for folder in candidates:
        if is_book(folder):
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
    try:
        found = papermill.inspect_notebook(str(chapter.path))
    except Exception as error:  # an empty or corrupt notebook file
        problem = " ".join(str(error).split())[:200] or type(error).__name__
        raise RerunError(f"chapter {chapter.name!r} ({chapter.path}) cannot be read: "
                         f"{problem}") from None
    return {
        name: Parameter(name, _default(name, info["default"]), (info.get("help") or "").strip())
        for name, info in found.items()
    }


def default_values(name: str, root: Path | None = None) -> dict[str, object]:
    """The defaults of chapter ``name``'s parameters, read from its notebook in the book at
    ``root`` (default: found from the working directory): the one place a chapter's inputs are
    typed, for another chapter to start from (chapter 4 prices through chapter 2's service)."""
    folder = find_book_root() if root is None else Path(root)
    path = folder / CHAPTER_FOLDER / f"{name}.ipynb"
    if not path.is_file():
        raise RerunError(f"no chapter {name!r} at {path}")
    return {p.name: p.default for p in chapter_parameters(Chapter(name, path)).values()}


def _whole(value: float) -> float | int:
    """``value`` as an int when it is a finite whole number (``1e3`` for a count), else itself."""
    return int(value) if math.isfinite(value) and value == int(value) else value


def _fits(value: object, default: object) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, float):
        return isinstance(value, numbers.Real)
    if isinstance(default, int):
        return isinstance(value, numbers.Integral) or (
            isinstance(value, float) and math.isfinite(value) and value == int(value))
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
        if isinstance(default, int | float):
            number = decimal_number(text)  # ASCII decimal only: 1_000 and 0x10 are not numbers
            if number is None:
                raise ValueError(text)
            return _whole(number) if isinstance(default, int) else number
        if isinstance(default, str):
            return text
        value = parse_yaml(text, source=f"parameter {parameter.name!r}")
    except ValueError:
        value = text
    if not _fits(value, default):
        raise RerunError(
            f"parameter {parameter.name!r} takes {parameter.type_name} "
            f"(default {default!r}); got {text!r}"
        )
    return value


def resolve_parameters(
    parameters: Mapping[str, Parameter], values: Mapping[str, object]
) -> dict[str, object]:
    """Check ``values`` against the chapter's parameters and return them typed like the defaults.

    Values are Python objects (from YAML or code): the text ``"1e3"`` is not a number here;
    command-line text goes through :func:`coerce_text` first.

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
        if not _fits(value, parameter.default):
            raise RerunError(
                f"parameter {name!r} takes {parameter.type_name} "
                f"(default {parameter.default!r}); got {value!r}"
            )
        if isinstance(parameter.default, float):
            value = float(value)
        elif isinstance(parameter.default, int) and not isinstance(parameter.default, bool):
            value = int(value)
        resolved[name] = value
    return resolved


def read_parameter_file(path: Path) -> dict[str, object]:
    """Read a YAML mapping of parameter names to values, safely (:func:`perfcost.files.load_yaml`:
    size, alias and depth limits, duplicate keys refused, ``1e3`` read as a number)."""
    try:
        loaded = load_yaml(path, what="parameter file")
    except ValueError as error:
        raise RerunError(f"cannot read parameter file {error}") from None
    if loaded is None:
        raise RerunError(f"parameter file {path} holds no parameters")
    if not isinstance(loaded, dict) or not all(isinstance(k, str) for k in loaded):
        raise RerunError(f"parameter file {path} must hold a mapping of names to values")
    return loaded


def coerce_command_line(chapter: Chapter, pairs: Mapping[str, str]) -> dict[str, object]:
    """Convert ``-p NAME VALUE`` text to each parameter's type (:func:`coerce_text`); an
    unknown name is left for :func:`resolve_parameters` to report."""
    parameters = chapter_parameters(chapter)
    return {name: coerce_text(parameters[name], text) if name in parameters else text
            for name, text in pairs.items()}


def _expanded(name: str, value: str | Path) -> Path:
    """``value`` with ``~`` expanded, or RerunError naming ``name``."""
    try:
        return Path(value).expanduser()
    except RuntimeError as error:  # ~nosuchuser
        raise RerunError(f"{name} {str(value)!r}: {error}") from None


def anchor_paths(chapter: Chapter, values: Mapping[str, object], base: Path) -> dict:
    """Return ``values`` with every relative file path made absolute against ``base``.

    A path parameter (``price_catalog_path``, ``trace_path``) typed on the command line is
    relative to where the reader ran the command, one in a ``-f`` file to that file's folder;
    never to the folder the chapter executes in.
    """
    checks = CHAPTER_INPUTS[chapter.name].checks if chapter.name in CHAPTER_INPUTS else {}
    anchored = dict(values)
    for name, value in values.items():
        if isinstance(checks.get(name), FilePath) and isinstance(value, str) and value:
            path = _expanded(name, value)
            anchored[name] = str(path if path.is_absolute() else Path(base) / path)
    return anchored


def _check_outside(folder: Path, protected: Path) -> None:
    """Refuse an output folder inside ``protected`` or inside any book's chapter folder."""
    try:
        folder, protected = folder.resolve(), protected.resolve()
        inside_a_book = [f for f in (folder, *folder.parents)
                         if f.name == CHAPTER_FOLDER and is_book(f.parent)]
        if folder == protected or protected in folder.parents or inside_a_book:
            raise RerunError(f"output folder {folder} is inside a book's {CHAPTER_FOLDER}/ "
                             f"({inside_a_book[0] if inside_a_book else protected}); re-runs "
                             "never write there")
        if folder.exists() and not folder.is_dir():
            raise RerunError(f"output folder {folder} exists and is not a folder")
        existing = next(f for f in folder.parents if f.exists())
        if not existing.is_dir():
            raise RerunError(f"output folder {folder}: {existing} is a file, not a folder")
    except OSError as error:
        raise RerunError(f"output folder {folder}: {error.strerror}") from None


def output_folder(chapter: Chapter, outdir: Path | str) -> Path:
    """``outdir`` as an absolute path (``~`` expanded), checked to be a folder a re-run of
    ``chapter`` may write: not empty, not a file, never inside a book's ``analyses/``.

    Raises
    ------
    RerunError
        Naming the folder and why it cannot be used.
    """
    if str(outdir).strip() == "":
        raise RerunError("output folder must not be empty (use -o . for the current folder)")
    folder = _expanded("output folder", outdir).absolute()
    _check_outside(folder, chapter.path.parent)
    return folder


def checked_parameters(chapter: Chapter, values: Mapping[str, object]) -> dict[str, object]:
    """The reader's ``values`` typed like the defaults and checked against the chapter's ranges
    (:mod:`perfcost.book.inputs`), with the defaults, before anything runs.

    Returns only the names in ``values``, normalised (numbers typed, paths absolute), plus
    ``book_root`` where the chapter has that parameter and ``values`` leaves it empty: the book
    the chapter was found in, so that figures it cites from other chapters (chapter 2 reads
    chapter 4's measured gain) come from that book, wherever the re-run executes.

    Raises
    ------
    RerunError
        For an unknown name or a value of the wrong type (:func:`resolve_parameters`).
    perfcost.validation.ParameterError
        For a value outside its range, naming the parameter and the range.
    """
    parameters = chapter_parameters(chapter)
    resolved = resolve_parameters(parameters, values)
    if BOOK_ROOT in parameters and not resolved.get(BOOK_ROOT):
        resolved[BOOK_ROOT] = str(chapter.path.parent.parent)  # the book the chapter is from
    if chapter.name not in CHAPTER_INPUTS:
        return resolved
    merged = {name: p.default for name, p in parameters.items()} | resolved
    checked = check_values(chapter.name, merged)
    return {name: checked[name] for name in resolved}


def _literal_path(path: Path) -> str:
    """``path`` as papermill must receive it: it formats paths with the parameters
    (``str.format``), so braces are doubled to stay literal."""
    return str(path).replace("{", "{{").replace("}", "}}")


def _write_atomically(path: Path, text: str) -> None:
    """Write a new file beside ``path`` (never through a link planted there), then rename."""
    handle, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(handle, "w") as file:
        file.write(text)
    os.replace(partial, path)


def rerun(
    chapter: Chapter,
    values: Mapping[str, object],
    outdir: Path,
    *,
    progress_bar: bool = True,
    cell_timeout_s: float | None = None,
) -> Rerun:
    """Execute ``chapter`` with ``values`` into ``outdir`` and write ``CHAPTER.results.json``.

    Every value is checked first (:func:`checked_parameters`), and the output folder is checked
    as the final path it will be (outside ``analyses/``), so bad input fails before a kernel
    starts and writes nothing. A previous run's notebook and results in ``outdir`` are removed
    before this one starts, and the results are written only after every cell ran, so a results
    file always belongs to the notebook beside it. A failing cell raises papermill's
    PapermillExecutionError after the partly executed notebook is saved in ``outdir``; a cell
    running longer than ``cell_timeout_s`` (default: no limit) is stopped and fails the same way.
    """
    parameters = checked_parameters(chapter, values)
    outdir = output_folder(chapter, outdir)
    notebook_path = outdir / f"{chapter.name}.ipynb"
    results_path = outdir / f"{chapter.name}.results.json"
    try:
        outdir.mkdir(parents=True, exist_ok=True)
        for stale in (results_path, notebook_path):
            stale.unlink(missing_ok=True)
    except OSError as error:
        raise RerunError(f"output folder {outdir}: {error.strerror}") from None
    papermill.execute_notebook(
        _literal_path(chapter.path), _literal_path(notebook_path), parameters=parameters,
        progress_bar=progress_bar, cwd=str(outdir), execution_timeout=cell_timeout_s,
    )
    results = glued_results(nbformat.read(notebook_path, as_version=4))
    _write_atomically(results_path, json.dumps(results, indent=2, sort_keys=True) + "\n")
    return Rerun(notebook_path, results_path, results)
