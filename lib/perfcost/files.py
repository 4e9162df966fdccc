"""Reading a reader's files safely: size-limited UTF-8 text, and YAML that cannot explode.

Every file a user hands to perfcost (a ``-f`` parameter file, a price catalog, a trace) is read
through this module, so each fails the same way: one line naming the file, the line where that
helps, and what is wrong, raised as :class:`InputFileError` before any work starts.

YAML is read with PyYAML's safe loader and four changes:

* numbers are decimal, as in YAML 1.2: ``1e3`` is a number (YAML 1.1 reads it as text) and
  ``010``, ``0x10``, ``1_000`` and ``1:30`` are not the numbers YAML 1.1 makes of them;
* a key written twice in one mapping is refused (YAML says keys are unique; PyYAML keeps the
  last silently);
* the document, with every alias expanded, may hold at most ``max_values`` values and nest at
  most ``max_depth`` deep, so an alias bomb ("billion laughs") or a recursive alias is refused
  after reading a few hundred bytes instead of exhausting memory;
* a value that cannot be built (``2026-02-30`` as a date) names its line.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

__all__ = ["DECIMAL_NUMBER", "InputFileError", "decimal_number", "load_yaml", "parse_yaml",
           "read_text"]

MAX_YAML_BYTES = 1_000_000  # a parameter file or price catalog is a few kB
MAX_YAML_VALUES = 100_000  # scalars, lists and mappings, with aliases expanded
MAX_YAML_DEPTH = 32


class InputFileError(ValueError):
    """A file that cannot be used: unreadable, too large, not UTF-8, or not valid YAML."""


def read_text(path: str | Path, *, what: str, max_bytes: int) -> str:
    """Return the file's text, decoded as UTF-8 (a leading byte-order mark is dropped).

    ``what`` says what the file is for (``"parameter file"``) in the error message.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise InputFileError(f"{path}: the {what} is not a regular file")
        if size > max_bytes:
            raise InputFileError(
                f"{path}: the {what} is {size:,} bytes; at most {max_bytes:,} are read")
        data = path.read_bytes()
    except OSError as error:
        raise InputFileError(f"{path}: cannot read the {what}: {error.strerror}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise InputFileError(
            f"{path}: line {line}: the {what} is not UTF-8 text "
            f"(byte 0x{data[error.start]:02x})") from None


class _Loader(yaml.SafeLoader):
    """The safe loader, reading 1e3 as a number and refusing duplicate keys."""

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"the key {key!r} is written twice (first on line "
                        f"{seen[key] + 1})", key_node.start_mark)
                seen[key] = key_node.start_mark.line
            except TypeError:  # an unhashable key; SafeLoader reports it below
                pass
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_timestamp(self, node):
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as error:  # 2026-02-30 matches the pattern but is no date
            raise yaml.constructor.ConstructorError(
                None, None, f"{node.value!r} is not a valid date ({error})",
                node.start_mark) from None


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)


_INT, _FLOAT = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
DECIMAL_NUMBER = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_YAML_FLOAT = re.compile(
    rf"^(?:{DECIMAL_NUMBER.pattern}|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$")

# Numbers as YAML 1.2's core schema writes them: decimal only. YAML 1.1 also reads 010 as 8,
# 0x10, 0b101, 1_000 and 1:30 (90) as numbers, and 1e3 as text.
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_INT, _FLOAT)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(_INT, re.compile(r"^[-+]?[0-9]+$"), list("-+0123456789"))
_Loader.add_implicit_resolver(_FLOAT, _YAML_FLOAT, list("-+0123456789."))
_Loader.add_constructor(_INT, lambda loader, node: int(loader.construct_scalar(node), 10))


def decimal_number(text: str) -> float | None:
    """``text`` as a float when it is a plain decimal number (ASCII digits, optional exponent,
    or nan/inf), else None: ``1_000``, ``0x10`` and other scripts' digits are not numbers."""
    stripped = text.strip()
    if DECIMAL_NUMBER.fullmatch(stripped) or stripped.lower().lstrip("+-") in {"nan", "inf",
                                                                                "infinity"}:
        return float(stripped)
    return None


def _check_size(node, *, source: str, max_values: int, max_depth: int) -> None:
    """Walk the composed document as construction would (aliases expanded) and stop early."""
    count = 0
    stack = [(node, 1, ())]
    while stack:
        node, depth, ancestors = stack.pop()
        count += 1
        if count > max_values:
            raise InputFileError(
                f"{source}: more than {max_values:,} values once aliases are expanded "
                "(an alias bomb?)")
        if depth > max_depth:
            raise InputFileError(
                f"{source}: line {node.start_mark.line + 1}: nested more than {max_depth} deep")
        if id(node) in ancestors:
            raise InputFileError(
                f"{source}: line {node.start_mark.line + 1}: an alias refers to itself")
        if isinstance(node, yaml.SequenceNode):
            children = node.value
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        else:
            continue
        inner = (*ancestors, id(node))
        stack.extend((child, depth + 1, inner) for child in children)


def load_yaml(path: str | Path, *, what: str, max_bytes: int = MAX_YAML_BYTES,
              max_values: int = MAX_YAML_VALUES, max_depth: int = MAX_YAML_DEPTH) -> object:
    """Read one YAML document from ``path`` safely (see the module docstring).

    Returns what the document holds (None for an empty file). Raises InputFileError.
    """
    text = read_text(path, what=what, max_bytes=max_bytes)
    return parse_yaml(text, source=str(path), max_values=max_values, max_depth=max_depth)


def parse_yaml(text: str, *, source: str, max_values: int = MAX_YAML_VALUES,
               max_depth: int = MAX_YAML_DEPTH) -> object:
    """Parse one YAML document from ``text`` safely; ``source`` names it in errors."""
    try:
        loader = _Loader(text)
        node = loader.get_single_node()
        if node is None:
            return None
        _check_size(node, source=source, max_values=max_values, max_depth=max_depth)
        return loader.construct_document(node)
    except InputFileError:
        raise
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}: " if mark else ""
        problem = error.problem or error.context or "not valid YAML"
        raise InputFileError(f"{source}: {where}not valid YAML: {problem}") from None
    except yaml.YAMLError as error:
        raise InputFileError(f"{source}: not valid YAML: {' '.join(str(error).split())}") from None
    except (ValueError, TypeError, OverflowError) as error:
        raise InputFileError(f"{source}: a value cannot be read: {error}") from None
    except RecursionError:
        raise InputFileError(f"{source}: nested too deeply to read") from None
    finally:
        if "loader" in locals():
            loader.dispose()
