"""Reading a reader's files safely: size-limited UTF-8 text, and YAML that cannot explode.

Every file a user hands to perfcost (a ``-f`` parameter file, a price catalog, a trace) is read
through this module, so each fails the same way: one line naming the file, the line where that
helps, and what is wrong, raised as :class:`InputFileError` before any work starts.

YAML is read with PyYAML's safe loader and four changes:

* numbers such as ``1e3`` are numbers, as in YAML 1.2 (YAML 1.1 reads them as text);
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

__all__ = ["InputFileError", "load_yaml", "parse_yaml", "read_text"]

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


_Loader.add_implicit_resolver(  # YAML 1.2 floats without a dot: 1e3, -2.5E-4 is already one
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


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
    loader = _Loader(text)
    try:
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
        raise InputFileError(f"{source}: not valid YAML: {error}") from None
    except (ValueError, TypeError, OverflowError) as error:
        raise InputFileError(f"{source}: a value cannot be read: {error}") from None
    except RecursionError:
        raise InputFileError(f"{source}: nested too deeply to read") from None
    finally:
        loader.dispose()
