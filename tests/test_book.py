"""The Jupyter Book builds with no warnings, and the HTML has what a reader needs.

The build (``built_book`` in conftest.py) runs once per session and executes every notebook,
honouring ``VAELIB_SMOKE``; these tests run last.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import yaml

import book_sources
from conftest import BookBuild, sphinx_problem

ROOT = Path(__file__).resolve().parents[1]
PAGES = [p for p in book_sources.pages(ROOT) if p.path.exists()]
_MATH_SOURCE_RE = re.compile(r"\$\$|\$[^$\s](?:[^$\n]*?[^$\s])?\$|\{math\}|\\begin\{")


def _text(page: Path) -> str:
    """Visible text of an HTML page, lower-cased, reduced to letters and digits."""
    body = re.sub(r"<script.*?</script>|<style.*?</style>|<[^>]+>", " ", page.read_text(encoding="utf-8"), flags=re.S)
    return re.sub(r"[^a-z0-9]+", " ", html.unescape(body).lower())


def test_build_succeeds_without_warnings(book_build: BookBuild) -> None:
    assert book_build.returncode == 0, f"jupyter-book build failed\n{book_build.log_excerpt()}"
    warnings = [line for line in book_build.log.splitlines() if sphinx_problem(line)]
    assert not warnings, "the build printed warnings:\n" + "\n".join(warnings)


def test_every_toc_page_has_html(built_book: Path) -> None:
    missing = [p.docname for p in book_sources.pages(ROOT) if not (built_book / f"{p.docname}.html").exists()]
    assert not missing, f"no HTML for {missing}"
    assert (built_book / "index.html").exists()


def test_bibliography_lists_cited_papers(built_book: Path) -> None:
    titles = book_sources.bib_titles(ROOT / "book" / "references.bib")
    cited = {key for p in PAGES for key in book_sources.cite_keys(p.markdown())}
    assert cited, "no page cites anything"
    text = _text(built_book / "book" / "bibliography.html")
    absent = [k for k in sorted(cited) if re.sub(r"[^a-z0-9]+", " ", titles[k].lower()).strip() not in text]
    assert not absent, f"cited but not listed on the bibliography page: {absent}"


def test_solutions_render_as_dropdowns(built_book: Path) -> None:
    checked = 0
    for page in PAGES:
        n_solutions = book_sources.count_directives(page.markdown(), "solution")
        if not n_solutions:
            continue
        page_html = (built_book / f"{page.docname}.html").read_text(encoding="utf-8")
        classes = re.findall(r'class="([^"]*\bsolution\b[^"]*)"', page_html)
        folded = [c for c in classes if "dropdown" in c.split()]
        assert len(folded) == n_solutions, f"{page.docname}: {n_solutions} solutions, {len(folded)} dropdowns ({classes})"
        checked += 1
    assert checked, "no page has solutions"


def test_math_is_rendered_by_mathjax(built_book: Path) -> None:
    with_math = [p for p in PAGES if _MATH_SOURCE_RE.search(p.markdown())]
    assert with_math, "no page has math"
    for page in with_math:
        page_html = (built_book / f"{page.docname}.html").read_text(encoding="utf-8")
        assert 'class="math notranslate nohighlight"' in page_html, f"{page.docname}: no math markup"
        assert re.search(r"<script[^>]+mathjax", page_html, re.I), f"{page.docname}: MathJax is not loaded"


def test_notebook_pages_have_launch_buttons(built_book: Path) -> None:
    repo = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["repository"]
    slug = repo["url"].removeprefix("https://github.com/")
    for page in [p for p in PAGES if p.is_notebook]:
        page_html = (built_book / f"{page.docname}.html").read_text(encoding="utf-8")
        colab = f"https://colab.research.google.com/github/{slug}/blob/{repo['branch']}/{page.docname}.ipynb"
        assert colab in page_html, f"{page.docname}: no Colab launch button ({colab})"
        assert "mybinder.org" in page_html, f"{page.docname}: no Binder launch button"
