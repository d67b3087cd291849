#!/usr/bin/env python
"""Keep the course notebooks in their committed shape.

Usage (from any directory)::

    python book/_tools/sync_notebooks.py           # rewrite what is out of date
    python book/_tools/sync_notebooks.py --check   # list what is out of date; exit 1 if anything is

For every notebook listed in ``_toc.yml`` the tool

1. makes the first code cell the Colab bootstrap cell (tag ``bootstrap``), generated from the
   repository URL and branch in ``_config.yml``: it does nothing where ``vaelib`` is
   importable and pip-installs it from the repository otherwise;
2. strips outputs and execution counts from every code cell whose first line is not
   ``# NBVAL_CHECK_OUTPUT`` (nbval compares the output of those, so it stays committed, with
   the execution count a fresh run gives it, since nbval ignores "unrun" cells), and
   normalises metadata (kernelspec ``python3``, no widget state, no editor timings);
3. writes the Keras twin ``*_keras.ipynb`` of every ``*_torch.ipynb`` whose twin is listed in
   ``_toc.yml``. The twin has the same cells. In cells tagged ``framework`` the framework
   wording is swapped both ways (``from vaelib import torch as vl`` <-> ``... keras as vl``,
   ``PyTorch`` <-> ``Keras``, ``_torch`` <-> ``_keras``), so a cross-link to the other
   version stays a cross-link to the other version. Labels defined in the notebook (exercise
   labels, ``(target)=``, equation and figure names) get a ``-keras`` suffix in the twin, since
   Sphinx needs them unique across the book. Checked cells keep the PyTorch notebook's
   committed output: nbval then asserts that Keras prints the same numbers.

Problems the tool cannot fix (a ``# NBVAL_CHECK_OUTPUT`` marker that is not on the first line,
a checked cell without committed output) are listed too and make the exit status non-zero.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from vaelib._files import atomic_path  # noqa: E402

CHECK_MARKER = "# NBVAL_CHECK_OUTPUT"
BOOTSTRAP_TAG = "bootstrap"
BOOTSTRAP_ID = "colab-bootstrap"
FRAMEWORK_TAG = "framework"
TWIN_LABEL_SUFFIX = "-keras"

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {"name": "python", "pygments_lexer": "ipython3"}
# Editor and runtime state that changes on every save and means nothing to a reader.
DROPPED_NOTEBOOK_METADATA = ("widgets", "colab", "accelerator", "vscode", "toc", "varInspector")
DROPPED_CELL_METADATA = ("execution", "ExecuteTime", "collapsed", "scrolled")

# Both directions in one pattern, longest first, so each match is replaced exactly once.
_SWAPS = {
    "from vaelib import torch as vl": "from vaelib import keras as vl",
    "PyTorch": "Keras",
    "_torch": "_keras",
}
_SWAPS.update({v: k for k, v in list(_SWAPS.items())})
_SWAP_RE = re.compile("|".join(re.escape(k) for k in sorted(_SWAPS, key=len, reverse=True)))

# Ways a MyST notebook defines a cross-reference target.
_LABEL_RES = (
    re.compile(r"^\s*:(?:label|name):\s*(\S+)\s*$", re.MULTILINE),  # directive options
    re.compile(r"^\s*\(([^()\s]+)\)=\s*$", re.MULTILINE),  # (target)=
    re.compile(r"\$\$\s*\(([^()\s]+)\)\s*$", re.MULTILINE),  # $$ ... $$ (eq-label)
)


@dataclass
class BookConfig:
    """What the tool reads from ``_config.yml`` and ``_toc.yml``."""

    root: Path
    repo_url: str
    branch: str
    docnames: list[str] = field(default_factory=list)


@dataclass
class Target:
    """One notebook file and the content it should have."""

    path: Path
    expected: nbformat.NotebookNode
    current: nbformat.NotebookNode | None
    origin: Path | None = None  # the PyTorch notebook a twin is generated from


def load_book(root: Path) -> BookConfig:
    """Read the repository URL, branch and table of contents of the book at ``root``.

    Parameters
    ----------
    root : pathlib.Path
        Directory holding ``_config.yml`` and ``_toc.yml``.

    Returns
    -------
    BookConfig
        Repository URL and branch, and the toc's docnames (paths without suffix) in order.
    """
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8")) or {}
    repo = config.get("repository") or {}
    url = str(repo.get("url", "")).rstrip("/")
    if not url:
        raise ValueError(f"{root / '_config.yml'}: repository.url is not set")
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8")) or {}
    return BookConfig(root, url, str(repo.get("branch", "main")), toc_docnames(toc))


def toc_docnames(toc: dict[str, Any]) -> list[str]:
    """Return every ``file`` (and the ``root``) of a Jupyter Book toc, in reading order.

    Parameters
    ----------
    toc : dict
        The parsed ``_toc.yml``.

    Returns
    -------
    list of str
        Docnames such as ``"book/02_elbo"``.
    """
    names: list[str] = [str(toc["root"])] if "root" in toc else []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "file" in node:
                names.append(str(node["file"]))
            for key in ("parts", "chapters", "sections"):
                walk(node.get(key))
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk({k: v for k, v in toc.items() if k != "root"})
    return [re.sub(r"\.(ipynb|md)$", "", n) for n in names]


def bootstrap_source(repo_url: str, branch: str) -> str:
    """Return the source of the Colab bootstrap cell.

    Parameters
    ----------
    repo_url, branch : str
        Where ``pip`` fetches ``vaelib`` from when it is not installed.

    Returns
    -------
    str
        Pure Python; a no-op wherever ``vaelib`` is importable.
    """
    requirement = f"vaelib @ git+{repo_url}@{branch}"
    return "\n".join(
        [
            "# Colab bootstrap: a fresh Colab runtime lacks vaelib, so install it from the course",
            "# repository. Where vaelib is importable already (a local install, CI) this does nothing.",
            "import importlib.util",
            "import subprocess",
            "import sys",
            "",
            'if importlib.util.find_spec("vaelib") is None:',
            "    subprocess.run(",
            f'        [sys.executable, "-m", "pip", "install", "--quiet", "{requirement}"], check=True',
            "    )",
            "    importlib.invalidate_caches()  # let this session import what pip just installed",
        ]
    )


def first_line(cell: nbformat.NotebookNode) -> str:
    """Return a cell's first source line without surrounding whitespace."""
    lines = cell.get("source", "").splitlines()
    return lines[0].strip() if lines else ""


def is_checked(cell: nbformat.NotebookNode) -> bool:
    """Whether a code cell keeps its output (nbval compares it)."""
    return cell.get("cell_type") == "code" and first_line(cell) == CHECK_MARKER


def tags(cell: nbformat.NotebookNode) -> list[str]:
    """Return a cell's tags (an empty list when it has none)."""
    return list(cell.get("metadata", {}).get("tags", []))


def cell_title(index: int, cell: nbformat.NotebookNode) -> str:
    """Describe a cell for a message: its index, type, id and first line."""
    head = first_line(cell)
    head = head if len(head) <= 50 else head[:47] + "..."
    return f"cell {index} ({cell.get('cell_type')}, id {cell.get('id', '?')!r}: {head!r})"


def _stable_id(index: int, source: str, taken: set[str]) -> str:
    """A cell id derived from the cell's content, so repeated runs give the same id."""
    digest = hashlib.sha1(f"{index}\0{source}".encode()).hexdigest()
    for start in range(0, len(digest) - 8):
        candidate = digest[start : start + 8]
        if candidate not in taken:
            return candidate
    raise RuntimeError("could not find a unique cell id")  # 32 tries on distinct hashes


def normalise(nb: nbformat.NotebookNode, bootstrap: str) -> nbformat.NotebookNode:
    """Return a copy of ``nb`` in committed shape.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        A notebook as read from disk.
    bootstrap : str
        Source of the Colab bootstrap cell (see :func:`bootstrap_source`).

    Returns
    -------
    nbformat.NotebookNode
        Bootstrap cell first among code cells, outputs and execution counts stripped except
        in checked cells (which are numbered as in a fresh run), metadata normalised,
        nbformat 4.5 with a stable id on every cell.
    """
    nb = copy.deepcopy(nb)
    nb.nbformat, nb.nbformat_minor = 4, max(5, int(nb.get("nbformat_minor", 5)))
    for key in DROPPED_NOTEBOOK_METADATA:
        nb.metadata.pop(key, None)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = dict(LANGUAGE_INFO)

    # Drop stale bootstrap cells, then put the current one where the first code cell was.
    cells = [c for c in nb.cells if BOOTSTRAP_TAG not in tags(c) and c.get("id") != BOOTSTRAP_ID]
    boot = nbformat.v4.new_code_cell(bootstrap, metadata={"tags": [BOOTSTRAP_TAG, "hide-cell"]})
    boot.id = BOOTSTRAP_ID
    at = next((i for i, c in enumerate(cells) if c.cell_type == "code"), len(cells))
    cells.insert(at, boot)

    taken = {c["id"] for c in cells if c.get("id")}
    code_number = 0
    for index, cell in enumerate(cells):
        if not cell.get("id"):
            cell["id"] = _stable_id(index, cell.get("source", ""), taken)
            taken.add(cell["id"])
        for key in DROPPED_CELL_METADATA:
            cell.metadata.pop(key, None)
        if cell.cell_type != "code":
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
            continue
        code_number += 1
        if is_checked(cell):
            # nbval skips the comparison for a cell without an execution count ("unrun"), so a
            # checked cell keeps one: the number a fresh top-to-bottom run gives it.
            cell.execution_count = code_number
            for output in cell.get("outputs", []):
                if "execution_count" in output:
                    output["execution_count"] = code_number
        else:
            cell.execution_count = None
            cell.outputs = []
    nb.cells = cells
    return nb


def defined_labels(nb: nbformat.NotebookNode) -> set[str]:
    """Return the cross-reference targets a notebook defines in markdown or figure metadata."""
    labels: set[str] = set()
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for pattern in _LABEL_RES:
                labels.update(pattern.findall(cell.source))
        name = cell.metadata.get("mystnb", {}).get("figure", {}).get("name")
        if name:
            labels.add(str(name))
    return labels


def make_twin(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Return the Keras twin of a normalised PyTorch notebook.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The PyTorch notebook, already passed through :func:`normalise`.

    Returns
    -------
    nbformat.NotebookNode
        Same cells (and ids); framework wording swapped in cells tagged ``framework``;
        labels the notebook defines suffixed with ``-keras`` everywhere in the twin.
    """
    twin = copy.deepcopy(nb)
    labels = defined_labels(nb)
    label_re = (
        re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, sorted(labels, key=len, reverse=True))) + r")(?![\w-])")
        if labels
        else None
    )
    for cell in twin.cells:
        if FRAMEWORK_TAG in tags(cell):
            cell.source = _SWAP_RE.sub(lambda m: _SWAPS[m.group(0)], cell.source)
        if label_re is not None and cell.cell_type == "markdown":
            cell.source = label_re.sub(lambda m: m.group(1) + TWIN_LABEL_SUFFIX, cell.source)
        figure = cell.metadata.get("mystnb", {}).get("figure", {})
        if figure.get("name") in labels:
            figure["name"] = figure["name"] + TWIN_LABEL_SUFFIX
    return twin


def read_notebook(path: Path) -> nbformat.NotebookNode | None:
    """Read a notebook as nbformat 4, or return None when the file does not exist."""
    if not path.exists():
        return None
    return nbformat.read(str(path), as_version=4)


def as_plain(nb: nbformat.NotebookNode) -> dict[str, Any]:
    """The notebook as the JSON it serialises to, for comparisons that ignore formatting."""
    return json.loads(nbformat.writes(nb))


def write_atomic(path: Path, nb: nbformat.NotebookNode) -> None:
    """Validate ``nb`` and write it to ``path`` so that no reader ever sees a partial file."""
    nbformat.validate(nb)
    text = nbformat.writes(nb)
    text = text if text.endswith("\n") else text + "\n"
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def plan(book: BookConfig) -> tuple[list[Target], list[str]]:
    """Work out what every toc notebook should contain.

    Parameters
    ----------
    book : BookConfig
        From :func:`load_book`.

    Returns
    -------
    targets : list of Target
        One per notebook that exists or is a twin of an existing PyTorch notebook.
    skipped : list of str
        Notes on toc entries with no notebook to work on yet.
    """
    bootstrap = bootstrap_source(book.repo_url, book.branch)
    names = set(book.docnames)
    twins = {n for n in names if n.endswith("_keras") and n[: -len("_keras")] + "_torch" in names}
    targets: list[Target] = []
    skipped: list[str] = []
    for name in book.docnames:
        path = book.root / f"{name}.ipynb"
        if name in twins or (book.root / f"{name}.md").exists():
            continue  # twins are handled with their PyTorch notebook; .md pages need nothing
        current = read_notebook(path)
        if current is None:
            skipped.append(f"{path.relative_to(book.root)}: not written yet, nothing to sync")
            continue
        expected = normalise(current, bootstrap)
        targets.append(Target(path, expected, current))
        twin_name = name[: -len("_torch")] + "_keras" if name.endswith("_torch") else None
        if twin_name in twins:
            twin_path = book.root / f"{twin_name}.ipynb"
            targets.append(Target(twin_path, make_twin(expected), read_notebook(twin_path), origin=path))
    return targets, skipped


def lint(target: Target, root: Path) -> list[str]:
    """Problems in a source notebook that the tool cannot fix by itself."""
    if target.origin is not None or target.current is None:
        return []
    rel = target.path.relative_to(root)
    problems = []
    for index, cell in enumerate(target.expected.cells):
        if cell.cell_type != "code":
            continue
        lines = [line.strip() for line in cell.source.splitlines()]
        if CHECK_MARKER in lines[1:] and not is_checked(cell):
            problems.append(
                f"{rel}: {cell_title(index, cell)} has {CHECK_MARKER!r} on line "
                f"{lines.index(CHECK_MARKER) + 1}; it must be the first line (nbval would check it, "
                "but its output would be stripped)"
            )
        if is_checked(cell) and not cell.get("outputs"):
            problems.append(
                f"{rel}: {cell_title(index, cell)} is checked by nbval but has no committed output; "
                "run it and save the notebook with its output"
            )
    return problems


def differences(target: Target, root: Path) -> list[str]:
    """Say, cell by cell, how a notebook on disk differs from what it should be.

    Parameters
    ----------
    target : Target
        From :func:`plan`.
    root : pathlib.Path
        The book root, to print short paths.

    Returns
    -------
    list of str
        One message per difference; empty when the file is up to date.
    """
    rel = target.path.relative_to(root)
    origin = target.origin.relative_to(root) if target.origin else None
    if target.current is None:
        return [f"{rel}: missing; it is generated from {origin}"]
    current, expected = as_plain(target.current), as_plain(target.expected)
    if current == expected:
        return []
    fix = "run `python book/_tools/sync_notebooks.py`"
    messages: list[str] = []
    if current["metadata"] != expected["metadata"] or current.get("nbformat_minor") != expected.get(
        "nbformat_minor"
    ):
        messages.append(f"{rel}: notebook metadata not normalised (kernelspec python3, no widget state); {fix}")
    have = {
        plain.get("id"): (i, plain, node)
        for i, (plain, node) in enumerate(zip(current["cells"], target.current.cells))
        if plain.get("id")
    }
    for index, (cell, node) in enumerate(zip(expected["cells"], target.expected.cells)):
        title = cell_title(index, node)
        found = have.pop(cell["id"], None)
        if found is None:
            if cell["id"] == BOOTSTRAP_ID:
                messages.append(f"{rel}: the first code cell is not the Colab bootstrap cell; {fix}")
            elif origin:
                messages.append(f"{rel}: {title} is missing; the twin is generated from {origin}; {fix}")
            else:
                messages.append(f"{rel}: {title} has no cell id (nbformat 4.5); {fix}")
            continue
        _, old, _ = found
        if old.get("source") != cell.get("source") or old.get("cell_type") != cell.get("cell_type"):
            if cell["id"] == BOOTSTRAP_ID:
                messages.append(f"{rel}: the Colab bootstrap cell is out of date; {fix}")
            else:
                messages.append(f"{rel}: {title} differs from the twin generated from {origin}; {fix}")
        if old.get("outputs") != cell.get("outputs") or old.get("execution_count") != cell.get("execution_count"):
            if is_checked(node) and origin:
                messages.append(f"{rel}: {title} output differs from the checked output in {origin}; {fix}")
            elif is_checked(node):
                messages.append(
                    f"{rel}: {title} execution count is not {cell['execution_count']}, its number in a "
                    f"fresh run; {fix}"
                )
            else:
                messages.append(
                    f"{rel}: {title} has outputs or an execution count; only cells whose first line is "
                    f"{CHECK_MARKER!r} keep them; {fix}"
                )
        if old.get("metadata") != cell.get("metadata"):
            messages.append(f"{rel}: {title} metadata differs ({fix})")
    for index, _, node in sorted(have.values(), key=lambda item: item[0]):
        what = "stale Colab bootstrap cell" if BOOTSTRAP_TAG in tags(node) else "extra cell"
        where = f" (not in {origin})" if origin else ""
        messages.append(f"{rel}: {cell_title(index, node)} is a {what}{where}; {fix}")
    if not messages:
        messages.append(f"{rel}: cells are out of order or differ in layout; {fix}")
    return messages


def check(root: Path) -> list[str]:
    """Return every problem in the book at ``root`` (empty when all notebooks are in sync)."""
    book = load_book(root)
    targets, _ = plan(book)
    problems: list[str] = []
    for target in targets:
        problems += differences(target, root) + lint(target, root)
    return problems


def sync(root: Path) -> tuple[list[Path], list[str]]:
    """Rewrite every out-of-date notebook of the book at ``root``.

    Returns
    -------
    written : list of pathlib.Path
        The files that were (re)written.
    problems : list of str
        What the tool cannot fix and a human must.
    """
    book = load_book(root)
    targets, _ = plan(book)
    written: list[Path] = []
    problems: list[str] = []
    for target in targets:
        if differences(target, root):
            write_atomic(target.path, target.expected)
            written.append(target.path)
        problems += lint(target, root)
    return written, problems


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="list what is out of date, write nothing")
    parser.add_argument(
        "--root",
        type=Path,
        default=Path(__file__).resolve().parents[2],
        help="book root holding _config.yml and _toc.yml (default: this repository)",
    )
    args = parser.parse_args(argv)
    root = args.root.resolve()
    _, skipped = plan(load_book(root))
    for note in skipped:
        print(f"note: {note}", file=sys.stderr)
    if args.check:
        problems = check(root)
        for problem in problems:
            print(problem)
        print(f"{len(problems)} problem(s)" if problems else "all notebooks in sync", file=sys.stderr)
        return 1 if problems else 0
    written, problems = sync(root)
    for path in written:
        print(f"wrote {path.relative_to(root)}")
    for problem in problems:
        print(f"needs a human: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
