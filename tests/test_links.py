"""Links of the built book, its Colab/Binder launch buttons, the Colab bootstrap cell, and
the API reference's coverage of ``vaelib``'s public names.

Every internal ``href``/``src`` of every built HTML page must resolve to a file of the build
and, where it has a fragment, to an element with that id (or name). External links are not
fetched (these machines reach no website): they are collected into
``external-links.txt`` beside the browser test's screenshots, and counted in the terminal
summary.
"""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import importlib.util
import inspect
import re
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest
import yaml
from packaging.requirements import Requirement

import book_sources
import sync_notebooks
from browser_support import artifacts_dir, register_summary

ROOT = Path(__file__).resolve().parents[1]
TOC_PAGES = book_sources.pages(ROOT)
NOTEBOOKS = [p for p in TOC_PAGES if p.is_notebook and p.path.exists()]
_REPO = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["repository"]
REPO_URL = str(_REPO["url"]).rstrip("/")
BRANCH = str(_REPO.get("branch", "main"))
SLUG = REPO_URL.removeprefix("https://github.com/")
# Attributes that make the browser fetch or navigate to a URL.
_URL_ATTRS = {("a", "href"), ("link", "href"), ("img", "src"), ("script", "src"), ("source", "src"), ("iframe", "src")}
_NOT_LINKS = ("mailto:", "javascript:", "data:", "tel:")
# Sphinx's rendering of an object's signature: module prefix, then the name.
_SIGNATURE_RE = re.compile(
    r'<span class="sig-prename descclassname"><span class="pre">([^<]+)</span></span>'
    r'<span class="sig-name descname"><span class="pre">([^<]+)</span>'
)


class _PageParser(HTMLParser):
    """Collects the ids/names a page defines and the URLs it references."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: set[str] = set()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name == "id" or (tag == "a" and name == "name"):
                self.anchors.add(value)
            elif (tag, name) in _URL_ATTRS:
                self.urls.append(value.strip())


@dataclass
class Site:
    """Every HTML page of the build, parsed once."""

    root: Path
    anchors: dict[Path, set[str]] = field(default_factory=dict)
    urls: dict[Path, list[str]] = field(default_factory=dict)

    def page(self, path: Path) -> tuple[set[str], list[str]]:
        """Anchors and URLs of one HTML file (parsed on first use)."""
        if path not in self.anchors:
            parser = _PageParser()
            parser.feed(path.read_text(encoding="utf-8", errors="replace"))
            self.anchors[path], self.urls[path] = parser.anchors, parser.urls
        return self.anchors[path], self.urls[path]


def _is_external(url: str) -> bool:
    parts = urlsplit(url)
    return bool(parts.scheme or parts.netloc)


@pytest.fixture(scope="module")
def site(built_book: Path) -> Site:
    """The parsed build."""
    return Site(built_book.resolve())


def test_internal_links_resolve(site: Site, request: pytest.FixtureRequest) -> None:
    """Every relative href/src names an existing file, and every #fragment an existing id."""
    # _static/ holds the themes' Jinja macro files (*.html templates), not pages.
    html_files = sorted(p for p in site.root.rglob("*.html") if "_static" not in p.relative_to(site.root).parts)
    assert html_files, "the build has no HTML"
    broken: list[str] = []
    external: dict[str, set[str]] = defaultdict(set)
    checked = 0
    for path in html_files:
        _, urls = site.page(path)
        page = path.relative_to(site.root).as_posix()
        for url in urls:
            if not url or url.startswith(_NOT_LINKS):
                continue
            if _is_external(url):
                external[url].add(page)
                continue
            parts = urlsplit(url)
            target = path if not parts.path else (path.parent / unquote(parts.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            checked += 1
            if not target.is_file() or not target.is_relative_to(site.root.resolve()):
                broken.append(f"{page}: {url} -> no file {target}")
                continue
            fragment = unquote(parts.fragment)
            if fragment and target.suffix == ".html" and fragment not in site.page(target)[0]:
                broken.append(f"{page}: {url} -> no id {fragment!r} in {target.relative_to(site.root.resolve())}")
    _report_external(external, request)
    assert checked > 100, f"only {checked} internal links found: is the build complete?"
    assert not broken, f"{len(broken)} broken internal link(s):\n" + "\n".join(broken[:50])
    malformed = [u for u in external if urlsplit(u).scheme not in ("http", "https") or not urlsplit(u).netloc]
    assert not malformed, f"malformed external links: {malformed}"


def _report_external(external: dict[str, set[str]], request: pytest.FixtureRequest) -> None:
    """Write the external links (not fetched: no internet) to a file and the run's summary."""
    out = artifacts_dir(ROOT) / "external-links.txt"
    lines = [f"{url}\t{', '.join(sorted(pages)[:3])}{' ...' if len(pages) > 3 else ''}"
             for url, pages in sorted(external.items())]
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    hosts = sorted({urlsplit(u).netloc for u in external})
    register_summary(
        request.config,
        "external links of the built book (not fetched)",
        [f"{len(external)} distinct external URL(s) on {len(hosts)} host(s), listed in {out}", f"hosts: {', '.join(hosts)}"],
    )


@pytest.mark.parametrize("page", NOTEBOOKS, ids=lambda p: p.docname)
def test_launch_buttons_open_this_notebook(site: Site, page: book_sources.Page) -> None:
    """The Colab and Binder buttons open this very notebook of the configured repository and branch."""
    _, urls = site.page(site.root / f"{page.docname}.html")
    colab = {u for u in urls if "colab.research.google.com" in u}
    binder = {u for u in urls if "mybinder.org" in u}
    expected = f"https://colab.research.google.com/github/{SLUG}/blob/{BRANCH}/{page.docname}.ipynb"
    assert colab == {expected}, f"{page.docname}: Colab links {colab}, expected {expected}"
    assert (ROOT / f"{page.docname}.ipynb").is_file()
    assert len(binder) == 1, binder
    (link,) = binder
    assert link.startswith(f"https://mybinder.org/v2/gh/{SLUG}/{BRANCH}?"), link
    assert unquote(link).endswith(f"{page.docname}.ipynb"), link


def test_markdown_pages_have_no_launch_buttons(site: Site) -> None:
    """A Colab button on a .md page would open a file Colab cannot run."""
    for page in [p for p in TOC_PAGES if not p.is_notebook and p.path.exists()]:
        _, urls = site.page(site.root / f"{page.docname}.html")
        assert not [u for u in urls if "colab.research.google.com" in u], page.docname


def _run_bootstrap(source: str, vaelib_installed: bool) -> list[list[str]]:
    """Execute the bootstrap cell with pip stubbed out; returns the commands it would run."""
    calls: list[list[str]] = []
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, *args: object, **kwargs: object) -> object:
        if name == "vaelib" and not vaelib_installed:
            return None  # as on a fresh Colab runtime
        return real_find_spec(name, *args, **kwargs)

    def run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        assert kwargs.get("check") is True, "a failed pip install must stop the notebook"
        calls.append(list(cmd))
        return subprocess.CompletedProcess(cmd, 0)

    saved = importlib.util.find_spec, subprocess.run
    importlib.util.find_spec, subprocess.run = find_spec, run  # type: ignore[assignment]
    try:
        exec(compile(source, "<bootstrap cell>", "exec"), {"__name__": "__main__"})
    finally:
        importlib.util.find_spec, subprocess.run = saved  # type: ignore[assignment]
    return calls


def test_bootstrap_cell_installs_vaelib_only_where_missing() -> None:
    """On Colab (no vaelib) the cell pip-installs this repository; elsewhere it does nothing."""
    source = sync_notebooks.bootstrap_source(REPO_URL, BRANCH)
    ast.parse(source)  # plain Python, no IPython magics: it runs in any kernel
    assert _run_bootstrap(source, vaelib_installed=True) == []
    (cmd,) = _run_bootstrap(source, vaelib_installed=False)
    assert cmd[:4] == [sys.executable, "-m", "pip", "install"], cmd
    requirement = Requirement(cmd[-1])
    # pip builds the repository root: the distribution installed from it here is vaelib.
    assert requirement.name == importlib.metadata.metadata("vaelib")["Name"] == "vaelib"
    assert requirement.url == f"git+{REPO_URL}@{BRANCH}"
    # Colab brings PyTorch and TensorFlow; the plain install must not ask for other builds.
    core = [Requirement(r) for r in importlib.metadata.requires("vaelib") or []]
    core_names = {r.name for r in core if r.marker is None}
    assert core_names and not core_names & {"torch", "tensorflow", "keras"}, core_names


@pytest.mark.parametrize("page", NOTEBOOKS, ids=lambda p: p.docname)
def test_notebook_starts_with_the_bootstrap_cell(page: book_sources.Page) -> None:
    """What Colab runs first is the cell tested above (sync_notebooks.py writes it)."""
    nb = nbformat.read(str(page.path), as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "code")
    expected = sync_notebooks.bootstrap_source(REPO_URL, BRANCH)
    assert first.source == expected, f"{page.docname}: run python book/_tools/sync_notebooks.py"


def _public_modules() -> list[str]:
    """The modules whose public names the API page must document."""
    import pkgutil

    import vaelib.exercises

    chapters = [f"vaelib.exercises.{m.name}" for m in pkgutil.iter_modules(vaelib.exercises.__path__) if m.name.startswith("ch")]
    return ["vaelib", "vaelib.config", "vaelib.data", "vaelib.plotting", "vaelib.schedules", "vaelib.metrics",
            "vaelib.exercises", *sorted(chapters), "vaelib.torch", "vaelib.keras"]  # fmt: skip


def _public_names(mod: object) -> list[str]:
    """``__all__``, or, for a package that re-exports with ``import *``, its non-module names."""
    names = getattr(mod, "__all__", None)
    if names is None:
        names = [n for n, v in vars(mod).items() if not n.startswith("_") and not inspect.ismodule(v)]
    return [n for n in names if not (n.startswith("__") and n.endswith("__"))]


@pytest.mark.parametrize("module", _public_modules())
def test_api_reference_documents_every_public_name(site: Site, module: str) -> None:
    """Each public class and function of a ``vaelib`` module has an entry on the API page."""
    mod = importlib.import_module(module)
    names = _public_names(mod)
    assert names, f"{module} exports nothing"
    # An entry is a signature <dt> naming module + name; the Keras entries are rendered
    # with :no-index: (the PyTorch ones are the link targets), so ids alone would not do.
    page = (site.root / "book" / "appendix_api.html").read_text(encoding="utf-8")
    documented = {a + b for a, b in _SIGNATURE_RE.findall(page)}
    missing = []
    for name in names:
        obj = getattr(mod, name)
        if not (inspect.isclass(obj) or inspect.isroutine(obj)):
            continue  # constants and type aliases carry no docstring for autodoc to render
        defined_in = getattr(obj, "__module__", None) or module
        # Re-exported names are documented under the submodule that exports them.
        under_module = any(d.startswith(f"{module}.") and d.endswith(f".{name}") for d in documented)
        if not under_module and f"{defined_in}.{name}" not in documented:
            missing.append(f"{name} (from {defined_in})")
    assert not missing, f"{module}: {len(missing)} public name(s) not on the API page: {missing}"
