"""The ``perfcost`` command: list the chapters and re-run one with new parameters.

    perfcost list
    perfcost rerun CHAPTER [-p NAME VALUE]... [-f params.yaml] [-o OUTDIR]

Also ``python -m perfcost``. Exit status 0 on success, 1 when a chapter's cell fails, 2 for a
request that cannot run (unknown chapter or parameter, a value of the wrong type).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from papermill.exceptions import PapermillExecutionError

from perfcost.chapters import (
    RerunError,
    chapter_parameters,
    find_book_root,
    find_chapters,
    read_parameter_file,
    rerun,
)

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="perfcost", description="Re-run the book's chapters with your own numbers."
    )
    parser.add_argument("--root", type=Path, help="the book's folder (default: found from cwd)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="the chapters and their parameters")
    run = commands.add_parser("rerun", help="execute a chapter with new parameters")
    run.add_argument("chapter", help="a chapter name, as `perfcost list` shows it")
    run.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                     metavar=("NAME", "VALUE"), help="set one parameter (repeatable)")
    run.add_argument("-f", "--parameter-file", type=Path,
                     help="a YAML mapping of parameters; -p values override it")
    run.add_argument("-o", "--outdir", type=Path,
                     help="where to write the notebook and results (default _build/reruns/CHAPTER)")
    run.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser


def _list(root: Path) -> int:
    for chapter in find_chapters(root).values():
        print(f"{chapter.name}  ({chapter.path.relative_to(root)})")
        parameters = chapter_parameters(chapter).values()
        width = max((len(p.name) for p in parameters), default=0)
        for p in parameters:
            print(f"  {p.name:<{width}}  = {p.default!r:<14}  {p.help}")
    return 0


def _rerun(root: Path, args: argparse.Namespace) -> int:
    chapters = find_chapters(root)
    if args.chapter not in chapters:
        raise RerunError(f"unknown chapter {args.chapter!r}; chapters: {', '.join(chapters)}")
    values = read_parameter_file(args.parameter_file) if args.parameter_file else {}
    values.update(dict(args.parameter))
    outdir = args.outdir or root / "_build" / "reruns" / args.chapter
    try:
        done = rerun(chapters[args.chapter], values, outdir, progress_bar=not args.no_progress)
    except PapermillExecutionError as failure:
        print(
            f"perfcost: chapter {args.chapter!r} failed in cell {failure.cell_index}: "
            f"{failure.ename}: {failure.evalue}\n"
            f"(the partly executed notebook is in {outdir})",
            file=sys.stderr,
        )
        return 1
    print(f"notebook: {done.notebook_path}\nresults:  {done.results_path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = _parser().parse_args(argv)
    try:
        root = (args.root or find_book_root()).resolve()
        return _list(root) if args.command == "list" else _rerun(root, args)
    except RerunError as error:
        print(f"perfcost: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
