"""The kinds of chapter parameter and how each is checked: the vocabulary of
:mod:`perfcost.book.inputs`.

Each kind (:class:`Number`, :class:`WholeNumber`, :class:`Pair`, :class:`Text`,
:class:`Choice`, :class:`Names`, :class:`Shape`, the file paths :class:`CatalogPath`,
:class:`TracePath`, :class:`OnnxPath`, and :class:`BookFolder`) has a ``check(name, value)``
that returns the value normalised or raises ParameterError naming the parameter as the reader
typed it, and a ``__str__`` giving its valid range in words (what ``perfcost list`` prints).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from perfcost.validation import (
    ParameterError,
    describe_range,
    in_range,
    integer_in_range,
    zero_or,
)

__all__ = [
    "BookFolder",
    "CatalogPath",
    "Check",
    "Choice",
    "FilePath",
    "Names",
    "Number",
    "OnnxPath",
    "Pair",
    "Rule",
    "Shape",
    "Text",
    "TracePath",
    "UnusableFileError",
    "WholeNumber",
    "ZeroOr",
]

MAX_SHAPE_DIMENSIONS = 8  # an example's rank: images are 3, video 4 (reader_model's limit too)
# One dimension of an example: at most reader_model.MAX_EXAMPLE_ELEMENTS (16 MB of float32), a
# copy kept here so checking a shape imports no onnx.
MAX_SHAPE_SIZE = 2**22




@dataclass(frozen=True)
class Number:
    """A finite real number in an interval."""

    low: float
    high: float
    low_open: bool = False
    high_open: bool = False

    def check(self, name: str, value: object) -> float:
        """Return ``value`` as a float, or raise ParameterError naming ``name``."""
        return in_range(name, value, self.low, self.high, low_open=self.low_open,
                        high_open=self.high_open)

    def __str__(self) -> str:
        return describe_range(self.low, self.high, low_open=self.low_open,
                              high_open=self.high_open)


@dataclass(frozen=True)
class ZeroOr:
    """0 (a value taken from elsewhere, described by ``zero_means``) or a number ``number``
    accepts: chapter 4's ``request_rate_rps`` is 0 (the cost chapter's) or a request rate."""

    number: Number
    zero_means: str

    def check(self, name: str, value: object) -> float:
        """Return 0.0 or ``value`` as ``number`` checks it; raise ParameterError naming both."""
        return zero_or(name, value, self.number.check, self.zero_means)

    def __str__(self) -> str:
        return f"0 ({self.zero_means}) or {self.number}"


@dataclass(frozen=True)
class WholeNumber:
    """A whole number in [low, high]."""

    low: int
    high: int

    def check(self, name: str, value: object) -> int:
        """Return ``value`` as an int, or raise ParameterError naming ``name``."""
        return integer_in_range(name, value, self.low, self.high)

    def __str__(self) -> str:
        return describe_range(self.low, self.high, integer=True)


@dataclass(frozen=True)
class Pair:
    """Two numbers, each checked by ``item``."""

    item: Number

    def check(self, name: str, value: object) -> list[float]:
        """Return the two values as floats, or raise ParameterError naming ``name``."""
        valid = f"two numbers, each {self.item}"
        if isinstance(value, str | bytes) or not hasattr(value, "__len__") or len(value) != 2:
            raise ParameterError(name, valid, value)
        try:
            return [self.item.check(name, v) for v in value]
        except ParameterError:
            raise ParameterError(name, valid, list(value)) from None

    def __str__(self) -> str:
        return f"two numbers, each {self.item}"


@dataclass(frozen=True)
class Text:
    """A one-line, non-empty text of printable characters, at most ``max_chars`` long."""

    max_chars: int = 64

    def check(self, name: str, value: object) -> str:
        """Return ``value``, or raise ParameterError naming ``name``."""
        if (not isinstance(value, str) or not value.strip() or len(value) > self.max_chars
                or not value.isprintable()):
            raise ParameterError(name, str(self), value)
        return value

    def __str__(self) -> str:
        return f"one line of text, 1 to {self.max_chars} characters"


@dataclass(frozen=True)
class Choice:
    """One of a few names, e.g. a routing policy."""

    options: tuple[str, ...]

    def check(self, name: str, value: object) -> str:
        """Return ``value``, or raise ParameterError naming ``name``."""
        if not isinstance(value, str) or value not in self.options:
            raise ParameterError(name, str(self), value)
        return value

    def __str__(self) -> str:
        return f"one of {', '.join(self.options)}"


@dataclass(frozen=True)
class Names:
    """A non-empty list of distinct names, each one of ``options``."""

    options: tuple[str, ...]
    required: tuple[str, ...] = ()

    def check(self, name: str, value: object) -> list[str]:
        """Return the names as a list, or raise ParameterError naming ``name``."""
        if (not isinstance(value, list | tuple) or not value
                or not all(isinstance(v, str) and v in self.options for v in value)
                or len(set(value)) != len(value) or not set(self.required) <= set(value)):
            raise ParameterError(name, str(self), value)
        return list(value)

    def __str__(self) -> str:
        text = f"a non-empty list of distinct names from {', '.join(self.options)}"
        return text + (f", including {', '.join(self.required)}" if self.required else "")


@dataclass(frozen=True)
class Shape:
    """The shape of one example: a list of 1 to 8 positive whole numbers, each <= 2**22."""

    def check(self, name: str, value: object) -> list[int]:
        """Return the sizes as ints, or raise ParameterError naming ``name``."""
        if (not isinstance(value, list | tuple)
                or not 1 <= len(value) <= MAX_SHAPE_DIMENSIONS):
            raise ParameterError(name, str(self), value)
        try:
            return [integer_in_range(name, size, 1, MAX_SHAPE_SIZE) for size in value]
        except ParameterError:
            raise ParameterError(name, str(self), list(value)) from None

    def __str__(self) -> str:
        return (f"a list of 1 to {MAX_SHAPE_DIMENSIONS} positive whole numbers, e.g. "
                "[1, 28, 28]")


@dataclass(frozen=True)
class FilePath:
    """``""`` (the chapter's own data) or the path of a file that must load.

    A relative path is resolved against ``base`` (the folder the reader ran the command in),
    never against the folder the chapter executes in. Subclasses say what loads the file.
    """

    def load(self, path: Path) -> None:
        """Raise ValueError (or a subclass) when ``path`` cannot be used."""
        raise NotImplementedError

    def check(self, name: str, value: object, base: Path | None = None) -> str:
        """Return ``""`` or the absolute path of a file that loads; raise otherwise."""
        if not isinstance(value, str) or "\n" in value:
            raise ParameterError(name, str(self), value)
        if value == "":
            return value
        path = Path(value).expanduser()
        path = path if path.is_absolute() else (base or Path.cwd()) / path
        try:
            self.load(path)
        except ValueError as error:
            raise UnusableFileError(name, value, error) from None
        return str(path.resolve())


@dataclass(frozen=True)
class CatalogPath(FilePath):
    """``""`` (the packaged price catalog) or the path of a catalog file, which must load."""

    def load(self, path: Path) -> None:
        """Load the catalog (:func:`perfcost.pricing.load_catalog`)."""
        from perfcost.pricing import load_catalog

        load_catalog(path)

    def __str__(self) -> str:
        return '"" (the packaged catalog) or the path of a price catalog YAML file'


@dataclass(frozen=True)
class TracePath(FilePath):
    """``""`` (no real trace) or the path of an arrival-time CSV that loads
    (:func:`perfcost.trace_files.load_trace`) and holds at least two arrivals."""

    def load(self, path: Path) -> None:
        """Load the trace (:func:`perfcost.trace_files.replayable_trace`)."""
        from perfcost.trace_files import replayable_trace

        replayable_trace(path)

    def __str__(self) -> str:
        return '"" (synthetic traces only) or the path of an arrival-time CSV file'


@dataclass(frozen=True)
class OnnxPath(FilePath):
    """``""`` (chapter 4's own MNIST model) or the path of an ONNX model chapter 4 can measure
    (:func:`perfcost.compression.reader_model.model_input`): one float32 input, its batch
    dimension dynamic."""

    def load(self, path: Path) -> None:
        """Load and check the model; ValueError says why it cannot be measured."""
        from perfcost.compression.reader_model import model_input

        model_input(path)

    def __str__(self) -> str:
        return ('"" (the chapter\'s MNIST model) or the path of an ONNX model with one float32 '
                "input and a dynamic batch dimension")


@dataclass(frozen=True)
class BookFolder:
    """``""`` (the book the chapter runs from) or the folder of a book: ``_toc.yml`` and
    ``analyses/``. ``perfcost rerun`` fills it with the book it found the chapter in."""

    def check(self, name: str, value: object) -> str:
        """Return ``""`` or the absolute path of a book folder; raise otherwise."""
        if not isinstance(value, str) or "\n" in value:
            raise ParameterError(name, str(self), value)
        if value == "":
            return value
        path = Path(value).expanduser()
        if not ((path / "_toc.yml").is_file() and (path / "analyses").is_dir()):
            raise ParameterError(name, str(self), value)
        return str(path.resolve())

    def __str__(self) -> str:
        return '"" (the book the chapter runs from) or a folder with _toc.yml and analyses/'


class UnusableFileError(ParameterError):
    """A path parameter whose file cannot be used; says why in the file's own words."""

    def __init__(self, name: str, value: str, problem: Exception):
        super().__init__(name, "a file that can be used", value)
        self.args = (f"{name} {value!r} cannot be used: {problem}",)


Check = Number | ZeroOr | WholeNumber | Pair | Text | Choice | Names | Shape | FilePath | BookFolder
Rule = Callable[[Mapping[str, object]], None]
