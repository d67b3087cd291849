"""The chapters link ``vaelib``'s names to their entries on the API reference page.

A chapter turns the first mention of a ``vaelib`` function or class into a MyST role such as
``{py:func}`vl.fit <vaelib.torch.train.fit>```. Sphinx renders a role whose target has no entry
as plain code, without a warning, so the targets are checked twice: in the sources (no build:
each target imports, and names the module under which the API page documents the object) and
in the built HTML (each chapter page links into the API page and no role was left
unresolved; that every such link names an id the page has is checked with every other
internal link, by ``test_links.test_internal_links_resolve``).
"""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

import book_sources
from test_links import Site, site  # noqa: F401  (site: the parsed build, a fixture)

ROOT = Path(__file__).resolve().parents[1]
API_SOURCE = ROOT / "book" / "appendix_api.md"
PAGES = [p for p in book_sources.pages(ROOT) if p.path.exists()]
# The chapters: the root page (chapter 0, the preface) and every notebook.
CHAPTERS = [PAGES[0], *(p for p in PAGES if p.is_notebook)]

_ROLE_RE = re.compile(r"\{py:(func|class|meth|mod)\}`([^`]+)`")
_AUTOMODULE_RE = re.compile(r"^\.\. automodule:: (\S+)\n((?:[ \t]+:[^\n]*\n)*)", re.MULTILINE)
_KINDS = {"func": inspect.isroutine, "class": inspect.isclass, "meth": inspect.isroutine}


def _ids(pages: list[book_sources.Page]) -> list[str]:
    return [p.docname for p in pages]


def _roles(markdown: str) -> list[tuple[str, str]]:
    """(kind, target) of every py role: ``title <target>`` or ``~target``."""
    found = []
    for kind, content in _ROLE_RE.findall(markdown):
        explicit = re.fullmatch(r"(?s).*<([^<>]+)>\s*", content)
        found.append((kind, (explicit.group(1) if explicit else content).strip().lstrip("~!")))
    return found


def _indexed_modules() -> dict[str, set[str]]:
    """The modules the API page documents as link targets (not ``:no-index:``), with their options."""
    text = API_SOURCE.read_text(encoding="utf-8")
    modules = {m.group(1): set(re.findall(r":([\w-]+):", m.group(2))) for m in _AUTOMODULE_RE.finditer(text)}
    return {name: options for name, options in modules.items() if "no-index" not in options}


def _target_problem(kind: str, target: str, modules: dict[str, set[str]]) -> str | None:
    """Why a role's target has no entry on the API page, or None when it has one."""
    parts = target.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            module = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        break
    else:
        return "does not import"
    modname, path = module.__name__, parts[cut:]
    if modname not in modules:
        return f"{modname} is not an indexed module of the API page"
    if kind == "mod":
        return None if not path else "is not a module"
    if "members" not in modules[modname]:
        return f"the API page does not document the members of {modname}"
    obj = module
    for attr in path:
        if not hasattr(obj, attr):
            return f"{attr!r} is not an attribute of {obj!r}"
        obj = getattr(obj, attr)
    if len(path) != (2 if kind == "meth" else 1) or not _KINDS[kind](obj) or not inspect.getdoc(obj):
        return f"is not a documented {kind} of {modname}"
    # autodoc documents what the module defines, or, when it has __all__, what __all__ lists
    # (so vaelib.data.load_fashion_mnist, defined in vaelib.data.images, is documented there).
    defined_here = f"{obj.__module__}.{obj.__qualname__}" == target
    if not defined_here and path[0] not in getattr(module, "__all__", ()):
        return f"is documented as {obj.__module__}.{obj.__qualname__}, not under {modname}"
    return None


@pytest.mark.parametrize("page", PAGES, ids=_ids(PAGES))
def test_role_targets_are_api_entries(page: book_sources.Page) -> None:
    """Every py role of a page names an object where the API page documents it."""
    modules = _indexed_modules()
    problems = [
        f"{{py:{kind}}}`{target}`: {problem}"
        for kind, target in _roles(page.markdown())
        if (problem := _target_problem(kind, target, modules))
    ]
    assert not problems, f"{page.docname}:\n" + "\n".join(problems)


def _api_fragments(site: Site, path: Path) -> list[str]:  # noqa: F811
    """The #fragments of the links from one HTML page to the API page."""
    api_page = (site.root / "book" / "appendix_api.html").resolve()
    fragments = []
    for url in site.page(path)[1]:
        parts = urlsplit(url)
        if not parts.scheme and parts.path and (path.parent / unquote(parts.path)).resolve() == api_page:
            fragments.append(unquote(parts.fragment))
    return fragments


@pytest.mark.parametrize("page", CHAPTERS, ids=_ids(CHAPTERS))
def test_chapter_links_into_the_api_page(site: Site, page: book_sources.Page) -> None:  # noqa: F811
    """A chapter page links to API entries, and none of its py roles rendered without a link."""
    path = site.root / f"{page.docname}.html"
    assert [f for f in _api_fragments(site, path) if f], f"{page.docname}: no link into appendix_api.html"
    html = path.read_text(encoding="utf-8")
    roles = len(re.findall(r'<code class="xref py\b', html))
    linked = len(re.findall(r'<a [^>]*href="appendix_api\.html#[^"]+"[^>]*><code class="xref py\b', html))
    assert roles == linked, f"{page.docname}: {roles - linked} of {roles} py role(s) did not resolve to an API entry"

