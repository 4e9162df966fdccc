"""A scenario file: a team's numbers written once, checked in full before any chapter runs.

A scenario is a YAML mapping ``NAME.yaml`` of the keys in
:data:`perfcost.book.scenario_keys.SCENARIO_KEYS` (``request_rate_rps: 800``), plus two optional
sections: ``chapters``, the chapters to run (default: every one), and ``overrides``, a mapping
``chapter -> {parameter: value}`` for any chapter parameter, which wins over what the keys set.
:func:`load_scenario` turns it into each chapter's parameter values and refuses, in one line
that names the key as the file writes it (and the chapter parameter it feeds):

* a key that is not a scenario key, with the nearest valid name;
* a value of the wrong type, or out of the range of a chapter parameter it feeds, or breaking one
  of a chapter's rules (:mod:`perfcost.book.inputs`, through
  :func:`perfcost.book.chapters.checked_parameters`, so a scenario is held to exactly what
  ``perfcost rerun`` accepts);
* a key that feeds no chapter the scenario runs, and an override naming an unknown chapter, a
  chapter not run, or a parameter the chapter does not have;
* a file whose stem is not a safe folder name (it names the output folder).

Relative paths in the file (``price_catalog_path``, ``trace_path``, ``model_path``) are relative
to the file's folder. Nothing is written and nothing runs here.
"""

from __future__ import annotations

import difflib
import numbers
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from perfcost.book.chapters import (
    Chapter,
    Parameter,
    RerunError,
    anchor_paths,
    chapter_parameters,
    checked_parameters,
    find_book_root,
    find_chapters,
    resolve_parameters,
)
from perfcost.book.scenario_keys import CHAPTERS_KEY, OVERRIDES_KEY, SCENARIO_KEYS, Feed
from perfcost.files import InputFileError, load_yaml
from perfcost.validation import ParameterError

__all__ = ["Scenario", "ScenarioError", "load_scenario"]

SUFFIXES = (".yaml", ".yml")
SAFE_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}")  # a folder name on every system
RESERVED = (CHAPTERS_KEY, OVERRIDES_KEY)


class ScenarioError(RerunError):
    """A scenario that cannot run; the one-line message names the key as the file writes it."""


@dataclass(frozen=True)
class Scenario:
    """A checked scenario: each chapter it runs, with the parameter values it runs with.

    ``values`` holds, per chapter, only the parameters the scenario sets (typed, paths made
    absolute; ``book_root`` filled in as :func:`~perfcost.book.chapters.checked_parameters`
    does); ``sources`` says, per chapter and parameter, what set it: a key, a formula of keys,
    or ``overrides``.
    """

    name: str  # the file's stem: the output folder's name
    path: Path  # the scenario file, absolute
    chapters: tuple[str, ...]  # the chapters to run, in name order (as `perfcost list`)
    values: Mapping[str, Mapping[str, object]]
    sources: Mapping[str, Mapping[str, str]]


def load_scenario(path: str | Path, *, root: Path | None = None) -> Scenario:
    """Read and check the scenario file at ``path`` against the book at ``root``.

    Parameters
    ----------
    path : str or Path
        A YAML file ``NAME.yaml`` (or ``.yml``); NAME of letters, digits, ``-``, ``_``, ``.``.
    root : Path, optional
        The book's folder; default found from the working directory.

    Raises
    ------
    ScenarioError
        For anything that would stop a chapter, before anything runs (see the module docstring).
    """
    path = Path(path).absolute()
    name = _scenario_name(path)
    root = find_book_root() if root is None else Path(root)
    document = _read(path)
    chapters = find_chapters(root)
    run = _chapters_run(document.get(CHAPTERS_KEY), chapters)
    keys = {key: value for key, value in document.items() if key not in RESERVED}
    parameters = {chapter: chapter_parameters(chapters[chapter]) for chapter in run}
    _check_keys(keys, chapters)
    _check_used(keys, run)
    overrides = _overrides(document.get(OVERRIDES_KEY), run, chapters, parameters)
    values, sources = _assign(keys, overrides, run, parameters)
    checked = {chapter: _checked(chapters[chapter], values[chapter], sources[chapter],
                                 path.parent) for chapter in run}
    return Scenario(name, path, run, checked, sources)


# --- The file ---------------------------------------------------------------------------------


def _scenario_name(path: Path) -> str:
    if path.suffix.lower() not in SUFFIXES:
        raise ScenarioError(f"scenario file {path.name!r} must be NAME.yaml (or .yml)")
    if not SAFE_NAME.fullmatch(path.stem):
        raise ScenarioError(f"scenario file {path.name!r}: NAME in NAME.yaml names the output "
                            "folder, so it must be 1 to 100 letters, digits, '-', '_' or '.', "
                            "not starting with '.'")
    return path.stem


def _read(path: Path) -> dict[str, object]:
    try:
        document = load_yaml(path, what="scenario file")
    except InputFileError as error:
        raise ScenarioError(f"cannot read scenario file {error}") from None
    if document is None or document == {}:
        raise ScenarioError(f"scenario file {path.name} holds no keys")
    if not isinstance(document, dict):
        raise ScenarioError(f"scenario file {path.name} must hold a mapping of keys to values; "
                            f"got {type(document).__name__}")
    for key in document:
        if not isinstance(key, str):
            raise ScenarioError(f"scenario file {path.name}: key {key!r} must be text")
    return document


def _nearest(word: str, choices) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices``, or nothing."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _chapters_run(listed: object, chapters: Mapping[str, Chapter]) -> tuple[str, ...]:
    if listed is None:
        return tuple(chapters)
    valid = f"a non-empty list of distinct chapters from {', '.join(chapters)}"
    if not isinstance(listed, list) or not listed or len(set(map(repr, listed))) < len(listed):
        raise ScenarioError(f"{CHAPTERS_KEY} must be {valid}; got {listed!r}")
    for name in listed:
        if not isinstance(name, str) or name not in chapters:
            raise ScenarioError(f"{CHAPTERS_KEY}: unknown chapter {name!r}"
                                f"{_nearest(str(name), chapters)}; must be {valid}")
    return tuple(name for name in chapters if name in listed)


# --- Keys -------------------------------------------------------------------------------------


def _renamed(word: str, chapters: Mapping[str, Chapter]) -> str:
    """Advice for a key that is a chapter parameter's name rather than a scenario key."""
    for key, spec in SCENARIO_KEYS.items():
        for feed in spec.feeds:
            if feed.parameter == word and feed.derive is None:
                return f" (did you mean {key!r}? it feeds {feed.chapter}.{word})"
    owners = [c for c, chapter in chapters.items() if word in chapter_parameters(chapter)]
    if owners:
        return (f" ({word} is a parameter of {', '.join(owners)}: set it under "
                f"{OVERRIDES_KEY}: {{{owners[0]}: {{{word}: ...}}}})")
    return ""


def _check_keys(keys: Mapping[str, object], chapters: Mapping[str, Chapter]) -> None:
    for key in keys:
        if key not in SCENARIO_KEYS:
            advice = _renamed(key, chapters) or _nearest(key, [*SCENARIO_KEYS, *RESERVED])
            listing = "" if advice else f"; keys: {', '.join([*SCENARIO_KEYS, *RESERVED])}"
            raise ScenarioError(f"unknown key {key!r}{advice}{listing}")


def _check_used(keys: Mapping[str, object], run: tuple[str, ...]) -> None:
    for key in keys:
        fed = [feed.chapter for feed in SCENARIO_KEYS[key].feeds]
        if not set(fed) & set(run):
            raise ScenarioError(
                f"{key} is used by no chapter in this scenario: it feeds "
                f"{', '.join(dict.fromkeys(fed))}, and {CHAPTERS_KEY} runs only "
                f"{', '.join(run)}; remove it or run a chapter it feeds")


def _label(chapter: str, parameter: str, source: str) -> str:
    """How a value is named in an error: as the file writes it, and the parameter it feeds."""
    if source == OVERRIDES_KEY:
        return f"{OVERRIDES_KEY}.{chapter}.{parameter}"
    return f"{source} (feeds {chapter}.{parameter})"


def _typed(chapter: str, parameter: Parameter, value: object, source: str) -> object:
    """``value`` typed like the parameter's default, or ScenarioError naming its source."""
    try:
        return resolve_parameters({parameter.name: parameter}, {parameter.name: value})[
            parameter.name]
    except RerunError as error:
        message = str(error).replace(f"parameter {parameter.name!r}", "", 1).strip()
        raise ScenarioError(f"{_label(chapter, parameter.name, source)} {message}") from None


# --- Overrides --------------------------------------------------------------------------------


def _overrides(section: object, run: tuple[str, ...], chapters: Mapping[str, Chapter],
               parameters: Mapping[str, Mapping[str, Parameter]]) -> dict[str, dict]:
    if section is None:
        return {}
    if not isinstance(section, dict) or not section:
        raise ScenarioError(f"{OVERRIDES_KEY} must be a mapping of chapter names to "
                            f"{{parameter: value}} mappings; got {section!r}")
    typed = {}
    for chapter, values in section.items():
        where = f"{OVERRIDES_KEY}.{chapter}"
        if chapter not in chapters:
            raise ScenarioError(f"{OVERRIDES_KEY}: unknown chapter {chapter!r}"
                                f"{_nearest(str(chapter), chapters)}; chapters: "
                                f"{', '.join(chapters)}")
        if chapter not in run:
            raise ScenarioError(f"{where} is used by no chapter in this scenario: "
                                f"{CHAPTERS_KEY} runs only {', '.join(run)}")
        if not isinstance(values, dict) or not values:
            raise ScenarioError(f"{where} must be a mapping of parameters to values; "
                                f"got {values!r}")
        typed[chapter] = {name: _override(chapter, name, value, parameters[chapter])
                          for name, value in values.items()}
    return typed


def _override(chapter: str, name: object, value: object,
              parameters: Mapping[str, Parameter]) -> object:
    if name not in parameters:
        feeds = SCENARIO_KEYS[name].feeds if name in SCENARIO_KEYS else ()
        fed = [feed.parameter for feed in feeds if feed.chapter == chapter and not feed.derive]
        advice = (f" (did you mean {fed[0]!r}, what the key {name} feeds there?)" if fed
                  else _nearest(str(name), parameters))
        raise ScenarioError(f"{OVERRIDES_KEY}.{chapter}: unknown parameter {name!r}{advice}; "
                            f"`perfcost list {chapter}` shows its parameters")
    return _typed(chapter, parameters[name], value, OVERRIDES_KEY)


# --- Each chapter's values --------------------------------------------------------------------


def _assign(keys: Mapping[str, object], overrides: Mapping[str, dict], run: tuple[str, ...],
            parameters: Mapping[str, Mapping[str, Parameter]]) -> tuple[dict, dict]:
    """Each chapter's values and their sources: the keys' direct feeds, then the overrides,
    then the derived feeds (reading what the chapter runs with) unless overridden."""
    values = {chapter: {} for chapter in run}
    sources = {chapter: {} for chapter in run}
    for key, value in keys.items():
        for feed in SCENARIO_KEYS[key].feeds:
            if feed.chapter in run and feed.derive is None:
                parameter = parameters[feed.chapter][feed.parameter]
                values[feed.chapter][feed.parameter] = _typed(feed.chapter, parameter, value, key)
                sources[feed.chapter][feed.parameter] = key
    for chapter, chosen in overrides.items():
        values[chapter] |= chosen
        sources[chapter] |= dict.fromkeys(chosen, OVERRIDES_KEY)
    for key, value in keys.items():
        for feed in SCENARIO_KEYS[key].feeds:
            if (feed.chapter in run and feed.derive is not None
                    and feed.parameter not in overrides.get(feed.chapter, {})):
                known = _known(key, value, feed, values[feed.chapter], parameters[feed.chapter])
                parameter = parameters[feed.chapter][feed.parameter]
                values[feed.chapter][feed.parameter] = _typed(
                    feed.chapter, parameter, feed.derive(known), feed.formula)
                sources[feed.chapter][feed.parameter] = feed.formula
    return values, sources


def _known(key: str, value: object, feed: Feed, chosen: Mapping[str, object],
           parameters: Mapping[str, Parameter]) -> dict[str, object]:
    """What a derived feed reads: the key's value, and for each key it uses, the value the
    chapter runs with for the parameter that key feeds there (set, else the default)."""
    known = {key: value}
    for used in feed.uses:
        target = next(f.parameter for f in SCENARIO_KEYS[used].feeds
                      if f.chapter == feed.chapter and f.derive is None)
        known[used] = chosen.get(target, parameters[target].default)
    for name, number in known.items():
        if isinstance(number, bool) or not isinstance(number, numbers.Real):
            raise ScenarioError(f"{name} must be a number for {feed.formula} (feeds "
                                f"{feed.chapter}.{feed.parameter}); got {number!r}")
    return known


def _checked(chapter: Chapter, values: Mapping[str, object], sources: Mapping[str, str],
             base: Path) -> dict[str, object]:
    """The chapter's values, paths anchored at ``base`` and checked as ``perfcost rerun``
    checks them; a refusal names the scenario key that set the value."""
    try:
        return checked_parameters(chapter, anchor_paths(chapter, values, base))
    except ParameterError as error:
        raise _refusal(chapter.name, error, sources) from None
    except ScenarioError:
        raise
    except RerunError as error:
        raise ScenarioError(f"chapter {chapter.name}: {error}") from None


def _refusal(chapter: str, error: ParameterError, sources: Mapping[str, str]) -> ScenarioError:
    """``error`` worded with the scenario's names: the key (or formula, or override) that set
    the parameter, and the parameter; for a rule of several parameters, each that was set."""
    message = str(error)
    if error.name in sources and message.startswith(error.name):
        return ScenarioError(_label(chapter, error.name, sources[error.name])
                             + message[len(error.name):])
    named = [name for name in sources
             if re.search(rf"(?<!\w){re.escape(name)}(?!\w)", message)]
    set_by = "; ".join(_label(chapter, name, sources[name]) for name in named)
    return ScenarioError(f"chapter {chapter}: {message}" + (f" (set by {set_by})" if set_by
                                                            else ""))
