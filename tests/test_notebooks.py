"""The book's sources are complete and in their committed shape (no execution here).

nbval executes the notebooks (``testpaths`` includes ``book``); ``test_book.py`` builds the
book. These tests only read files, so they fail fast and say which file and cell to fix.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

import book_sources
import sync_notebooks

ROOT = Path(__file__).resolve().parents[1]
PAGES = book_sources.pages(ROOT)
NOTEBOOKS = [p for p in PAGES if p.is_notebook and p.path.exists()]
CHAPTERS = book_sources.chapter_notebooks(ROOT)
BIBFILE = ROOT / "book" / "references.bib"

# A call such as ch2.check_gaussian_kl(my_kl) or check_gaussian_kl(my_kl).
_CHECKER_CALL_RE = re.compile(r"\bcheck_\w+\s*\(")
_EXERCISES_IMPORT_RE = re.compile(
    r"^\s*(from\s+vaelib\.exercises\b|from\s+vaelib\s+import\s+exercises\b|import\s+vaelib\.exercises\b)", re.M)


def _ids(pages: list[book_sources.Page]) -> list[str]:
    return [p.docname for p in pages]


def test_every_toc_file_exists() -> None:
    missing = [p.docname + " (.ipynb or .md)" for p in PAGES if not p.path.exists()]
    assert not missing, "files listed in _toc.yml but missing:\n" + "\n".join(missing)
    assert BIBFILE.exists(), f"{BIBFILE} is missing"


def test_notebooks_are_in_sync() -> None:
    problems = sync_notebooks.check(ROOT)
    assert not problems, "notebooks out of date:\n" + "\n".join(problems)


@pytest.mark.parametrize("page", CHAPTERS, ids=_ids(CHAPTERS))
def test_chapter_has_exercises_with_auto_checks(page: book_sources.Page) -> None:
    markdown = page.markdown()
    n_exercises = book_sources.count_directives(markdown, "exercise")
    assert n_exercises >= 4, f"{page.docname}: {n_exercises} {{exercise}} directives, need at least 4"
    code = page.code_cells()
    assert any(_EXERCISES_IMPORT_RE.search(c) for c in code), f"{page.docname}: no code cell imports vaelib.exercises"
    calls = [m.group(0) for c in code for m in _CHECKER_CALL_RE.finditer(c)]
    assert len(calls) >= 2, f"{page.docname}: {len(calls)} calls to vaelib.exercises checkers, need at least 2"


@pytest.mark.parametrize("page", [p for p in PAGES if p.path.exists()], ids=_ids([p for p in PAGES if p.path.exists()]))
def test_solutions_are_folded(page: book_sources.Page) -> None:
    markdown = page.markdown()
    n_exercises = book_sources.count_directives(markdown, "exercise")
    n_solutions = book_sources.count_directives(markdown, "solution")
    assert n_solutions >= n_exercises, f"{page.docname}: {n_exercises} exercises but {n_solutions} solutions"
    # Each solution directive's options must fold it: ":class: dropdown".
    blocks = re.split(r"\{solution\}", markdown)[1:]
    unfolded = [b.splitlines()[0].strip() for b in blocks
                if not re.search(r"^\s*:class:.*\bdropdown\b", b.split("\n\n")[0], re.M)]
    assert not unfolded, f"{page.docname}: solutions without ':class: dropdown': {unfolded}"


@pytest.mark.parametrize("page", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_second_code_cell_sets_the_budget(page: book_sources.Page) -> None:
    code = page.code_cells()
    assert len(code) >= 2 and "budget(" in code[1], (
        f"{page.docname}: the second code cell (after the Colab bootstrap) must call "
        "vaelib.budget(full=..., quick=...) so the notebook prints its mode and budget"
    )


def test_cited_keys_exist_in_references_bib() -> None:
    known = set(book_sources.bib_titles(BIBFILE))
    unknown = [
        f"{page.docname}: {key}"
        for page in PAGES
        if page.path.exists()
        for key in book_sources.cite_keys(page.markdown())
        if key not in known
    ]
    assert not unknown, "citation keys not in book/references.bib:\n" + "\n".join(unknown)


# --- the sync tool itself, on a tiny synthetic book --------------------------------------------


def _tiny_book(root: Path) -> Path:
    """Write a two-entry book (a PyTorch notebook and its twin) and return the notebook path."""
    (root / "book").mkdir(parents=True)
    (root / "_config.yml").write_text(
        "title: t\nrepository:\n  url: https://example.org/course/repo\n  branch: dev\n", encoding="utf-8"
    )
    (root / "_toc.yml").write_text(
        "format: jb-book\nroot: book/index\nchapters:\n"
        "  - file: book/01_x_torch\n    sections:\n      - file: book/01_x_keras\n",
        encoding="utf-8",
    )
    (root / "book" / "index.md").write_text("# Home\n", encoding="utf-8")
    v4 = nbformat.v4
    nb = v4.new_notebook(metadata={"widgets": {"state": {}}, "kernelspec": {"name": "other", "display_name": "x"}})
    nb.cells = [
        v4.new_markdown_cell("# Chapter in PyTorch\nSee the [Keras version](01_x_keras.ipynb).",
                             metadata={"tags": ["framework"]}),
        v4.new_code_cell("from vaelib import torch as vl\nprint(vl)", metadata={"tags": ["framework"]}),
        v4.new_code_cell("# NBVAL_CHECK_OUTPUT\nprint(2)"),
        v4.new_markdown_cell(
            "```{exercise} E\n:label: ex-a\nx\n```\n```{solution} ex-a\n:class: dropdown\ny\n```\n"
            "See {ref}`ex-a`; ex-ab is another label. PyTorch here stays."
        ),
    ]
    nb.cells[1].outputs = [v4.new_output("stream", name="stdout", text="module\n")]
    nb.cells[1].execution_count = 1
    nb.cells[2].outputs = [v4.new_output("execute_result", data={"text/plain": "2"}, execution_count=2)]
    nb.cells[2].execution_count = 2
    path = root / "book" / "01_x_torch.ipynb"
    nbformat.write(nb, str(path))
    return path


def test_sync_tool_bootstraps_strips_and_twins(tmp_path: Path) -> None:
    torch_path = _tiny_book(tmp_path)
    keras_path = tmp_path / "book" / "01_x_keras.ipynb"
    assert sync_notebooks.main(["--root", str(tmp_path), "--check"]) == 1
    assert not keras_path.exists(), "--check must not write"

    assert sync_notebooks.main(["--root", str(tmp_path)]) == 0
    assert sync_notebooks.check(tmp_path) == []
    torch_nb = nbformat.read(str(torch_path), as_version=4)
    keras_nb = nbformat.read(str(keras_path), as_version=4)

    # (a) the bootstrap is the first code cell, generated from the config's URL and branch.
    boot = [c for c in torch_nb.cells if c.cell_type == "code"][0]
    assert "bootstrap" in boot.metadata["tags"]
    assert "vaelib @ git+https://example.org/course/repo@dev" in boot.source
    assert "sys.executable" in boot.source and 'find_spec("vaelib") is None' in boot.source
    compile(boot.source, "bootstrap", "exec")
    assert [c.cell_type for c in torch_nb.cells] == ["markdown", "code", "code", "code", "markdown"]

    # (c) outputs stripped except in the checked cell; metadata normalised.
    plain, checked = torch_nb.cells[2], torch_nb.cells[3]
    assert plain.outputs == [] and plain.execution_count is None
    assert checked.outputs[0]["data"]["text/plain"] == "2"
    assert checked.execution_count == checked.outputs[0]["execution_count"] == 3  # as in a fresh run
    assert torch_nb.metadata["kernelspec"]["name"] == "python3" and "widgets" not in torch_nb.metadata

    # (b) the twin: framework cells swapped both ways, labels made unique, the rest identical.
    assert keras_nb.cells[0].source == "# Chapter in Keras\nSee the [PyTorch version](01_x_torch.ipynb)."
    assert keras_nb.cells[2].source == "from vaelib import keras as vl\nprint(vl)"
    assert keras_nb.cells[1].source == boot.source
    assert keras_nb.cells[3].outputs == checked.outputs
    assert ":label: ex-a-keras" in keras_nb.cells[4].source
    assert "{solution} ex-a-keras" in keras_nb.cells[4].source and "{ref}`ex-a-keras`" in keras_nb.cells[4].source
    assert "ex-ab is another label. PyTorch here stays." in keras_nb.cells[4].source

    # Running again changes nothing.
    before = keras_path.read_bytes(), torch_path.read_bytes()
    assert sync_notebooks.main(["--root", str(tmp_path)]) == 0
    assert (keras_path.read_bytes(), torch_path.read_bytes()) == before


def test_sync_check_names_the_cell(tmp_path: Path) -> None:
    torch_path = _tiny_book(tmp_path)
    sync_notebooks.main(["--root", str(tmp_path)])
    keras_path = tmp_path / "book" / "01_x_keras.ipynb"

    keras_nb = nbformat.read(str(keras_path), as_version=4)
    keras_nb.cells[2].source += "\nprint('edited by hand')"
    nbformat.write(keras_nb, str(keras_path))
    torch_nb = nbformat.read(str(torch_path), as_version=4)
    torch_nb.cells[2].outputs = [nbformat.v4.new_output("stream", name="stdout", text="noise\n")]
    torch_nb.cells.insert(3, nbformat.v4.new_code_cell("x = 1\n# NBVAL_CHECK_OUTPUT\nx"))
    nbformat.write(torch_nb, str(torch_path))

    problems = "\n".join(sync_notebooks.check(tmp_path))
    assert "book/01_x_keras.ipynb: cell 2 (code" in problems and "differs from the twin generated from" in problems
    assert "book/01_x_torch.ipynb: cell 2 (code" in problems and "has outputs or an execution count" in problems
    assert "on line 2; it must be the first line" in problems


def test_an_appendix_notebook_is_twinned_but_is_no_chapter(tmp_path: Path) -> None:
    """A notebook with no chapter number (the FAQ page) in an unnumbered part gets its twin and
    its bootstrap cell, and is not held to the chapters' rules (exercises, checkers)."""
    _tiny_book(tmp_path)
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: book/index\nparts:\n"
        "  - caption: Chapters\n    numbered: 1\n    chapters:\n"
        "      - file: book/01_x_torch\n        sections:\n          - file: book/01_x_keras\n"
        "  - caption: Appendix\n    chapters:\n"
        "      - file: book/faq_torch\n        sections:\n          - file: book/faq_keras\n",
        encoding="utf-8",
    )
    faq = nbformat.v4.new_notebook()
    faq.cells = [
        nbformat.v4.new_markdown_cell("(faq-a)=\n# FAQ (PyTorch)\nSee {ref}`faq-a`.", metadata={"tags": ["framework"]}),
        nbformat.v4.new_code_cell("from vaelib import torch as vl", metadata={"tags": ["framework"]}),
    ]
    nbformat.write(faq, str(tmp_path / "book" / "faq_torch.ipynb"))

    assert sync_notebooks.main(["--root", str(tmp_path)]) == 0
    twin = nbformat.read(str(tmp_path / "book" / "faq_keras.ipynb"), as_version=4)
    assert "bootstrap" in twin.cells[1].metadata["tags"]
    assert twin.cells[0].source == "(faq-a-keras)=\n# FAQ (Keras)\nSee {ref}`faq-a-keras`."
    assert twin.cells[2].source == "from vaelib import keras as vl"
    assert [p.docname for p in book_sources.chapter_notebooks(tmp_path)] == ["book/01_x_torch", "book/01_x_keras"]
