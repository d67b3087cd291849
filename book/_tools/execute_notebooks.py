#!/usr/bin/env python
"""Execute chapter notebooks in place, so that their checked cells carry fresh outputs.

Usage (from any directory)::

    python book/_tools/execute_notebooks.py book/04_image_vaes_torch.ipynb [...]
    python book/_tools/sync_notebooks.py      # then: strip the other outputs, regenerate the twins

Each notebook runs top to bottom in its own folder (book/), with this interpreter's kernel and
the current environment (set ``VAELIB_QUICK=1`` for short runs: the checked cells print the
reference models' numbers, the same in every mode). A failing cell stops with its traceback
and leaves the notebook file unchanged.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from vaelib._files import atomic_path  # noqa: E402


def execute(path: Path, timeout: int = 900) -> float:
    """Run one notebook in place; return the seconds it took."""
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    with atomic_path(path) as tmp:
        nbformat.write(nb, tmp)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--timeout", type=int, default=900, help="seconds per cell")
    args = parser.parse_args(argv)
    for path in args.notebooks:
        print(f"{path}: executed in {execute(path, args.timeout):.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
