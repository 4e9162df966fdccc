"""The ``perfcost`` command: list the chapters, re-run one with new parameters, sweep one, or
re-run them all with a team's scenario.

    perfcost list [CHAPTER]
    perfcost rerun CHAPTER [-p NAME VALUE]... [-f params.yaml] [-o OUTDIR]
    perfcost sweep CHAPTER -g NAME V1,V2,... [-g ...] [-p NAME VALUE]... [-o DIR]
    perfcost scenario FILE [-o DIR]

Also ``python -m perfcost``. Exit status: 0 success; 2 bad input (unknown chapter or parameter,
a value of the wrong type or out of its range, an unreadable file, an output folder inside
``analyses/``), in which case nothing ran and nothing was written; 1 a chapter cell failed.
Every error is one line on standard error.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from papermill.exceptions import PapermillExecutionError

from perfcost.book.chapters import (
    RerunError,
    anchor_paths,
    chapter_parameters,
    coerce_command_line,
    find_book_root,
    find_chapters,
    is_book,
    read_parameter_file,
    rerun,
)
from perfcost.book.inputs import CHAPTER_INPUTS
from perfcost.book.scenario_cli import add_scenario_parser, run_scenario_command
from perfcost.book.sweep_cli import GRID_PAIR, add_sweep_parser, run_sweep_command
from perfcost.validation import ParameterError

__all__ = ["EXIT_BAD_INPUT", "EXIT_CHAPTER_FAILED", "EXIT_OK", "main"]

EXIT_OK, EXIT_CHAPTER_FAILED, EXIT_BAD_INPUT = 0, 1, 2

_EXIT_CODES = """exit status:
  0  success
  1  a chapter cell failed (the partly executed notebook is kept; no results file)
  2  bad input: nothing ran and nothing was written"""

_PAIR = "--parameter-pair"  # internal: -p NAME VALUE, joined so VALUE may start with '-'


class _Parser(argparse.ArgumentParser):
    """argparse, with errors on one line and exit status 2."""

    def error(self, message: str):
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: {message} (see --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="perfcost", description="Re-run the book's chapters with your own numbers.",
        epilog=_EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--root", help="the book's folder (default: found from cwd)")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    listing = commands.add_parser("list", help="the chapters, their parameters and valid ranges")
    listing.add_argument("chapter", nargs="?", help="one chapter only (default: every one)")
    run = commands.add_parser("rerun", help="execute a chapter with new parameters",
                              epilog=_EXIT_CODES,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("chapter", help="a chapter name, as `perfcost list` shows it")
    run.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                     metavar=("NAME", "VALUE"),
                     help="set one parameter (repeatable); VALUE may be negative")
    run.add_argument(_PAIR, action="append", default=[], help=argparse.SUPPRESS)
    run.add_argument("-f", "--parameter-file",
                     help="a YAML mapping of parameters (relative paths in it are relative to "
                          "the file); -p values override it")
    run.add_argument("-o", "--outdir",
                     help="where to write the notebook and results (default _build/reruns/CHAPTER)")
    run.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    add_sweep_parser(commands)
    add_scenario_parser(commands)
    return parser


_OPTIONS = {"-p", "--parameter", "-f", "--parameter-file", "-o", "--outdir", "--no-progress",
            "--root", "-h", "--help", "-g", "--grid", "--scheduler", "--workers", "--plot"}
_JOINED = {"-p": _PAIR, "--parameter": _PAIR, "-g": GRID_PAIR, "--grid": GRID_PAIR}


def _join_pairs(argv: list[str]) -> list[str]:
    """Rewrite ``-p NAME VALUE`` (and ``-g NAME VALUES``) as one token, so argparse never
    reads ``-1e3`` as an option."""
    joined, index = [], 0
    while index < len(argv):
        token = argv[index]
        if (token in _JOINED and index + 2 < len(argv)
                and argv[index + 2].split("=")[0] not in _OPTIONS):
            joined.append(f"{_JOINED[token]}={argv[index + 1]}={argv[index + 2]}")
            index += 3
        else:
            joined.append(token)
            index += 1
    return joined


def _range(chapter_name: str, name: str) -> str:
    inputs = CHAPTER_INPUTS.get(chapter_name)
    return str(inputs.checks[name]) if inputs and name in inputs.checks else ""


def _list(root: Path, only: str | None = None) -> int:
    chapters = find_chapters(root)
    if only is not None and only not in chapters:
        raise RerunError(f"chapter must be one of {', '.join(chapters)}; got {only!r}")
    for chapter in chapters.values():
        if only is not None and chapter.name != only:
            continue
        print(f"{chapter.name}  ({chapter.path.relative_to(root)})")
        parameters = chapter_parameters(chapter).values()
        width = max((len(p.name) for p in parameters), default=0)
        for p in parameters:
            print(f"  {p.name:<{width}}  = {p.default!r:<14}  {p.help}")
            valid = _range(chapter.name, p.name)
            if valid:
                print(f"  {'':<{width}}    valid: {valid}")
        for rule in getattr(CHAPTER_INPUTS.get(chapter.name), "rules", ()):
            print(f"  and: {' '.join((rule.__doc__ or rule.__name__).split())}")
    return EXIT_OK


def _values(chapter, args: argparse.Namespace) -> dict[str, object]:
    """The reader's values: the ``-f`` file's, then ``-p``'s, relative paths made absolute."""
    values = {}
    if args.parameter_file is not None:
        if not args.parameter_file.strip():
            raise RerunError("-f needs the path of a parameter file; got ''")
        path = Path(args.parameter_file)
        values |= anchor_paths(chapter, read_parameter_file(path), path.parent.absolute())
    if any("=" not in pair for pair in args.parameter_pair):
        raise RerunError("-p takes NAME VALUE")
    pairs = dict([pair.split("=", 1) for pair in args.parameter_pair] + args.parameter)
    return values | anchor_paths(chapter, coerce_command_line(chapter, pairs), Path.cwd())


def _chapter(root: Path, name: str):
    chapters = find_chapters(root)
    if name not in chapters:
        raise RerunError(f"unknown chapter {name!r}; chapters: {', '.join(chapters)}")
    return chapters[name]


def _sweep(root: Path, args: argparse.Namespace) -> int:
    chapter = _chapter(root, args.chapter)
    return run_sweep_command(root, chapter, _values(chapter, args), args)


def _rerun(root: Path, args: argparse.Namespace) -> int:
    chapter = _chapter(root, args.chapter)
    default = root / "_build" / "reruns" / args.chapter
    outdir = args.outdir if args.outdir is not None else default
    try:
        done = rerun(chapter, _values(chapter, args), outdir,
                     progress_bar=not args.no_progress)
    except PapermillExecutionError as failure:
        evalue = str(failure.evalue).splitlines()[0] if failure.evalue else ""
        print(f"perfcost: chapter {args.chapter!r} failed in cell {failure.cell_index}: "
              f"{failure.ename}: {evalue} (the partly executed notebook is in {outdir})",
              file=sys.stderr)
        return EXIT_CHAPTER_FAILED
    except (RerunError, ParameterError):
        raise
    except Exception as failure:  # the kernel died (out of memory, say)
        print(f"perfcost: chapter {args.chapter!r} failed: {type(failure).__name__}: "
              f"{str(failure).splitlines()[0] if str(failure) else ''}", file=sys.stderr)
        return EXIT_CHAPTER_FAILED
    print(f"notebook: {done.notebook_path}\nresults:  {done.results_path}")
    return EXIT_OK


def _root(args: argparse.Namespace) -> Path:
    if args.root is None:
        return find_book_root().resolve()
    if not args.root.strip() or not is_book(Path(args.root)):
        raise RerunError(f"--root {args.root!r} is not a book folder (no _toc.yml and "
                         "analyses/)")
    return Path(args.root).resolve()


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    try:
        args = _parser().parse_args(_join_pairs(sys.argv[1:] if argv is None else list(argv)))
    except SystemExit as stop:  # --help, or a command line argparse refused
        return int(stop.code or 0)
    try:
        root = _root(args)
        if args.command == "list":
            return _list(root, args.chapter)
        if args.command == "sweep":
            return _sweep(root, args)
        if args.command == "scenario":
            return run_scenario_command(root, args)
        return _rerun(root, args)
    except (RerunError, ParameterError) as error:
        print(f"perfcost: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("perfcost: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `perfcost list | head`: the reader has seen enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no flush error at exit
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
