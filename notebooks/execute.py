"""Re-execute the investigation notebooks in place, so the committed outputs match the code.

    .venv/bin/python notebooks/execute.py              # every notebook in this folder
    .venv/bin/python notebooks/execute.py attack-gallery.ipynb

Each notebook runs with this folder as its working directory (the notebooks use relative paths)
on the `python3` kernel. Per-cell timing metadata is not recorded and cell ids are made stable, so
re-running on an unchanged tree changes the files only where an output really changed. A cell
error stops with the notebook's name and the failing cell's traceback; nothing is written then.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

HERE = Path(__file__).resolve().parent
TIMEOUT_S = 180


def execute(path: Path) -> nbformat.NotebookNode:
    """Run one notebook (cwd = this folder) and return it with fresh outputs."""
    nb: nbformat.NotebookNode = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]  # nbformat is untyped
    for i, cell in enumerate(nb.cells):
        # nbformat gives new cells random ids; stable ids keep diffs to real changes.
        cell["id"] = f"cell-{i:02d}"
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=TIMEOUT_S,
        record_timing=False,
        resources={"metadata": {"path": str(HERE)}},
    )
    client.execute()
    return nb


def main(argv: list[str] | None = None) -> int:
    """Execute the named notebooks (default: all) and write them back."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="notebook file names in notebooks/")
    args = parser.parse_args(argv)
    paths = [HERE / n for n in args.notebooks] or sorted(HERE.glob("*.ipynb"))
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        print(f"no such notebook in {HERE}: {', '.join(missing)}", file=sys.stderr)
        return 2
    # sigstore-python writes a TUF cache under ~/.cache even when it only verifies offline;
    # keep re-execution from touching the user's home (the kernel inherits this environment).
    with tempfile.TemporaryDirectory(prefix="forensics-nb-xdg-") as xdg:
        os.environ.setdefault("XDG_CACHE_HOME", str(Path(xdg) / "cache"))
        os.environ.setdefault("XDG_DATA_HOME", str(Path(xdg) / "data"))
        for path in paths:
            try:
                nb = execute(path)
            except CellExecutionError as exc:
                print(f"{path.name}: a cell failed\n{exc}", file=sys.stderr)
                return 1
            nbformat.write(nb, path)  # type: ignore[no-untyped-call]  # nbformat is untyped
            print(f"executed {path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
