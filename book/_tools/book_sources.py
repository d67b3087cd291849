"""Read the book's sources the way the tests need them (no Sphinx, no execution).

Used by ``tests/test_notebooks.py`` and ``tests/test_book.py``: which files the table of
contents lists, their markdown and code, the citation keys they use and the entries of
``book/references.bib``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
import yaml
from pybtex.database import parse_file

from sync_notebooks import toc_docnames

_CITE_RE = re.compile(r"\{(?:foot)?cite(?::[a-z]+)?\}`([^`\s][^`\n]*)`")
_DIRECTIVE_RE = r"^[ \t]*(?:`{{3,}}|:{{3,}})[ \t]*\{{{name}\}}"


@dataclass(frozen=True)
class Page:
    """One file of the table of contents."""

    docname: str  # e.g. "book/02_elbo"
    path: Path  # the .ipynb or .md file (may not exist yet)

    @property
    def is_notebook(self) -> bool:
        """Whether the page is a notebook."""
        return self.path.suffix == ".ipynb"

    def markdown(self) -> str:
        """Markdown text: the .md file, or a notebook's markdown cells joined."""
        if not self.is_notebook:
            return self.path.read_text(encoding="utf-8")
        nb = nbformat.read(str(self.path), as_version=4)
        return "\n\n".join(c.source for c in nb.cells if c.cell_type == "markdown")

    def code_cells(self) -> list[str]:
        """Sources of a notebook's code cells, in order (empty for a .md page)."""
        if not self.is_notebook:
            return []
        nb = nbformat.read(str(self.path), as_version=4)
        return [c.source for c in nb.cells if c.cell_type == "code"]


def pages(root: Path) -> list[Page]:
    """Every file listed in ``_toc.yml``, in reading order.

    A page whose file does not exist yet gets the ``.ipynb`` path unless a ``.md`` exists,
    so that a missing file is reported under the name a notebook would have.
    """
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    result = []
    for name in toc_docnames(toc):
        md = root / f"{name}.md"
        result.append(Page(name, md if md.exists() else root / f"{name}.ipynb"))
    return result


def chapter_notebooks(root: Path) -> list[Page]:
    """The notebooks that are chapters: top-level entries of numbered parts and their Keras twins.

    Sections that are not twins (such as ``04_parity``), markdown pages and the pages of
    unnumbered parts (the appendix, with its FAQ notebook) are left out.
    """
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    names: list[str] = []
    for part in toc.get("parts", [{"chapters": toc.get("chapters", []), "numbered": True}]):
        if not part.get("numbered"):
            continue
        for chapter in part.get("chapters", []):
            name = re.sub(r"\.ipynb$", "", str(chapter["file"]))
            names.append(name)
            for section in chapter.get("sections", []):
                sub = re.sub(r"\.ipynb$", "", str(section["file"]))
                if name.endswith("_torch") and sub == name[: -len("_torch")] + "_keras":
                    names.append(sub)
    by_name = {p.docname: p for p in pages(root)}
    return [by_name[n] for n in names if by_name[n].is_notebook and by_name[n].path.exists()]


def count_directives(markdown: str, name: str) -> int:
    """Count MyST directives ``{name}`` opened with backticks or colons."""
    return len(re.findall(_DIRECTIVE_RE.format(name=re.escape(name)), markdown, re.MULTILINE))


def cite_keys(markdown: str) -> list[str]:
    """Citation keys used by ``{cite}`` roles (all variants), in order of appearance."""
    return [k.strip() for group in _CITE_RE.findall(markdown) for k in group.split(",") if k.strip()]


def bib_titles(bibfile: Path) -> dict[str, str]:
    """Map each key of a BibTeX file to its title with braces and TeX commands removed."""
    data = parse_file(str(bibfile), bib_format="bibtex")
    titles = {}
    for key, entry in data.entries.items():
        title = re.sub(r"\\[a-zA-Z]+\s*|[{}\\]", "", entry.fields.get("title", ""))
        titles[key] = re.sub(r"\s+", " ", title).strip()
    return titles
