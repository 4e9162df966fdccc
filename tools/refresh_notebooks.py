"""Execute chapter notebooks in place so their stored outputs (which nbval compares) are current.

    .venv/bin/python tools/refresh_notebooks.py [analyses/NAME.ipynb ...]

Run it after changing a chapter or the library code a chapter calls, and commit the result.
"""

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def refresh(path: Path) -> None:
    """Execute the notebook at ``path`` with its own folder as cwd and save it in place."""
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    for cell in notebook.cells:
        cell.get("metadata", {}).pop("execution", None)
    nbformat.write(notebook, path)
    print(f"refreshed {path}")


if __name__ == "__main__":
    paths = [Path(p) for p in sys.argv[1:]] or sorted(Path("analyses").glob("*.ipynb"))
    for path in paths:
        refresh(path)
