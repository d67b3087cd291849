"""The built book, as a reader's browser shows it.

Serves the HTML of the session's book build (``built_book``) on 127.0.0.1 and opens every
page of the table of contents in Debian's headless Chromium, driven by Playwright (its own
browser downloads are never used: ``executable_path`` is /usr/bin/chromium). MathJax, which
the pages load from a CDN, is answered from a local copy of ``mathjax@3`` (see
browser_support.py); every other request off this machine is blocked and reported.

Per page: no error output, every image loads, math is typeset, the sidebar links every toc
page; then the search page finds "ELBO" and exercise solutions stay folded until clicked.
A screenshot of each page's first screen is saved (``_build/browser-screenshots/`` or
``$BROWSER_ARTIFACTS``); the terminal summary lists each page's findings and where the
screenshots are.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

import book_sources
from browser_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    INSPECT_PAGE_JS,
    MATHJAX_CDN_PREFIX,
    artifacts_dir,
    mathjax_dir,
    register_summary,
    serve,
)

ROOT = Path(__file__).resolve().parents[1]
TOC_PAGES = book_sources.pages(ROOT)
DOCNAMES = [p.docname for p in TOC_PAGES]
CHAPTER_NOTEBOOKS = {p.docname for p in book_sources.chapter_notebooks(ROOT)}
TIMEOUT_MS = 60_000  # generous: two shared cores, and MathJax typesets long pages
# What counts as an error in a stderr block. Progress bars (tqdm, Keras) and warnings
# (the smoke-mode carve-out notes among them) are allowed; exceptions are not.
_ERROR_IN_STDERR = re.compile(
    r"Traceback \(most recent call last\)|^\s*(?:[A-Za-z_][\w.]*\.)?[A-Z]\w*(?:Error|Exception)\b(?::|$)",
    re.MULTILINE,
)

# JavaScript errors that come from the toolchain, not the book: Jupyter Book 1.0.4 with
# sphinx-thebe 0.3 writes the `const THEBE_JS_URL = ...` script into every page twice; the
# second copy throws, the first already did the job (thebe is off in this book anyway).
KNOWN_TOOLCHAIN_JS_ERRORS = ("Identifier 'THEBE_JS_URL' has already been declared",)

try:  # imported here so that a missing install is a failure of these tests, not of collection
    from playwright.sync_api import Browser, BrowserContext, Page, Route, sync_playwright
except ImportError as exc:  # pragma: no cover - reported by the fixture below
    _PLAYWRIGHT_IMPORT_ERROR: ImportError | None = exc
else:
    _PLAYWRIGHT_IMPORT_ERROR = None


@dataclass
class Site:
    """The served book and the browser pointed at it."""

    url: str  # base URL, ends with "/"
    context: "BrowserContext"
    shots: Path
    blocked: set[str] = field(default_factory=set)  # requests off this machine, refused
    mathjax_missing: set[str] = field(default_factory=set)  # CDN files not in the local copy
    summary: list[str] = field(default_factory=list)

    def page_url(self, docname: str) -> str:
        """URL of a toc page."""
        return f"{self.url}{docname}.html"

    def docname_of(self, url: str) -> str | None:
        """The docname an internal URL points at (fragment and query dropped), else None."""
        if not url.startswith(self.url):
            return None
        path = unquote(urlsplit(url).path)[1:]
        return path.removesuffix(".html") if path.endswith(".html") else None


@pytest.fixture(scope="module")
def site(built_book: Path, request: pytest.FixtureRequest) -> Iterator[Site]:
    """Serve the built book and open a Chromium context on it (fails if anything is missing)."""
    if _PLAYWRIGHT_IMPORT_ERROR is not None:
        pytest.fail(f"playwright is not installed ({_PLAYWRIGHT_IMPORT_ERROR}): pip install -r requirements.txt")
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: apt-get install chromium (as .ci/run does)")
    try:
        mathjax = mathjax_dir()
    except FileNotFoundError as exc:
        pytest.fail(str(exc))
    shots = artifacts_dir(ROOT)
    for old in shots.glob("*.png"):  # stale screenshots of renamed pages would mislead
        old.unlink()
    with serve(built_book) as url, sync_playwright() as pw:
        browser: Browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
        context.set_default_timeout(TIMEOUT_MS)
        result = Site(url, context, shots)

        def route(route: Route) -> None:
            request_url = route.request.url
            if request_url.startswith(url):
                route.continue_()
            elif request_url.startswith(MATHJAX_CDN_PREFIX):
                local = mathjax / unquote(urlsplit(request_url).path.split("/mathjax@3/", 1)[1])
                if not local.is_file():
                    result.mathjax_missing.add(request_url)
                    route.fulfill(status=404, body="not in the local MathJax copy")
                    return
                ctype = mimetypes.guess_type(local.name)[0] or "application/octet-stream"
                # Fonts are fetched cross-origin by MathJax's CSS, which needs the CORS header.
                route.fulfill(status=200, body=local.read_bytes(), content_type=ctype,
                              headers={"Access-Control-Allow-Origin": "*"})  # fmt: skip
            else:
                result.blocked.add(request_url)
                route.abort()

        context.route("**/*", route)
        register_summary(request.config, "browser test of the built book", result.summary)
        result.summary.append(f"screenshots of each page's first screen: {shots}")
        try:
            yield result
        finally:
            if result.blocked:
                result.summary.append(f"blocked {len(result.blocked)} request(s) off this machine: {sorted(result.blocked)}")
            context.close()
            browser.close()


def _open(site: Site, url: str) -> tuple["Page", list[str]]:
    """Open ``url`` in a new tab; returns the page and a live list of problems it reports."""
    page = site.context.new_page()
    problems: list[str] = []
    page.on(
        "pageerror",
        lambda err: None if str(err) in KNOWN_TOOLCHAIN_JS_ERRORS else problems.append(f"JavaScript error: {err}"),
    )
    page.on(
        "response",
        lambda r: problems.append(f"HTTP {r.status} for {r.url}") if r.url.startswith(site.url) and r.status >= 400 else None,
    )
    page.on(
        "requestfailed",
        lambda r: problems.append(f"request failed: {r.url} ({r.failure})") if r.url.startswith(site.url) else None,
    )
    response = page.goto(url, wait_until="load")
    assert response is not None and response.ok, f"{url}: HTTP {response.status if response else 'no response'}"
    return page, problems


@pytest.mark.parametrize("docname", DOCNAMES)
def test_page_renders_cleanly(site: Site, docname: str) -> None:
    """No error output, every image loads, math is typeset, the sidebar links every toc page."""
    page, problems = _open(site, site.page_url(docname))
    try:
        found = page.evaluate(INSPECT_PAGE_JS)
        shot = site.shots / f"{docname.replace('/', '__')}.png"
        page.screenshot(path=str(shot))  # the first screen, as a reader lands on the page
    finally:
        page.close()

    failures = list(problems)
    # Errors: tracebacks rendered anywhere, error outputs, or an exception in a stderr stream.
    if found["body_text_has_traceback"]:
        failures.append("the page shows 'Traceback (most recent call last)'")
    stderr_blocks = 0
    for cell in found["cells"]:
        failures += [f"error output in cell {cell['first_line']!r}: {tb[:200]}" for tb in cell["tracebacks"]]
        for text in cell["stderr"]:
            stderr_blocks += 1
            match = _ERROR_IN_STDERR.search(text)
            if match:
                failures.append(f"stderr of cell {cell['first_line']!r} reports an error: {match.group(0)!r}")
        if cell["first_line"] == "# NBVAL_CHECK_OUTPUT" and cell["stderr"]:
            failures.append(f"a checked cell writes to stderr (nbval would compare it): {cell['stderr'][0][:120]!r}")
    # Images: naturalWidth is 0 for an image the browser could not load or decode.
    broken = [img["src"] for img in found["images"] if img["width"] <= 0]
    failures += [f"image does not load: {src}" for src in broken]
    if docname in CHAPTER_NOTEBOOKS and not found["images"]:
        failures.append("a chapter notebook with no figure")
    # Math: every .math element must hold MathJax 3's output, and none may be a TeX error.
    if found["math_elements"]:
        if not str(found["mathjax_version"] or "").startswith("3."):
            failures.append(f"MathJax 3 did not run (version {found['mathjax_version']})")
        failures += [f"math not typeset: {m!r}" for m in found["math_untypeset"][:5]]
        failures += [f"TeX error: {m!r}" for m in found["mjx_errors"][:5]]
    # Sidebar: links to every toc page, so a reader can reach each chapter from any page.
    linked = {site.docname_of(href) for href in found["sidebar_links"]}
    missing = [d for d in DOCNAMES if d not in linked]
    if missing:
        failures.append(f"the sidebar does not link {missing}")

    site.summary.append(
        f"{docname}: {'FAIL' if failures else 'ok'}; {len(found['images'])} image(s) loaded "
        f"{len(found['images']) - len(broken)}; math {found['math_elements']} element(s), "
        f"{found['mjx_containers']} typeset; {len(found['cells'])} code cell(s), "
        f"{stderr_blocks} stderr block(s) (progress/warnings); sidebar {len(linked & set(DOCNAMES))}/"
        f"{len(DOCNAMES)} toc pages; screenshot {shot.name}"
    )
    assert not failures, f"{docname}:\n" + "\n".join(failures)


def test_mathjax_came_from_the_local_copy(site: Site) -> None:
    """Some page has math, and every MathJax file it asked the CDN for was served locally."""
    page, problems = _open(site, site.page_url(DOCNAMES[0]))
    page.close()
    with_math = [p for p in TOC_PAGES if p.path.exists() and re.search(r"\$|\{math\}", p.markdown())]
    assert with_math, "no toc page has math"
    assert not site.mathjax_missing, f"MathJax files missing from the local copy: {sorted(site.mathjax_missing)}"
    assert not problems, problems


def test_search_finds_elbo(site: Site) -> None:
    """Sphinx's client-side search lists pages for "ELBO", and they are book pages."""
    page, problems = _open(site, f"{site.url}search.html?q=ELBO")
    try:
        page.wait_for_selector("ul.search li", state="attached")
        # The summary line appears once the whole index has been searched.
        page.wait_for_selector("#search-results p.search-summary", state="attached")
        hits = page.eval_on_selector_all("ul.search li a", "links => links.map(a => a.href)")
        summary = page.inner_text("#search-results p.search-summary")
    finally:
        page.close()
    pages = sorted({d for d in (site.docname_of(h) for h in hits) if d})
    site.summary.append(f"search 'ELBO': {len(pages)} page(s): {pages}; {summary!r}")
    assert pages, f"no search results for ELBO ({summary!r})"
    assert set(pages) & set(DOCNAMES), f"no toc page among the results {pages}"
    assert not problems, problems


PAGES_WITH_SOLUTIONS = [
    p.docname for p in TOC_PAGES if p.path.exists() and book_sources.count_directives(p.markdown(), "solution")
]


@pytest.mark.parametrize("docname", PAGES_WITH_SOLUTIONS)
def test_solutions_fold_until_clicked(site: Site, docname: str) -> None:
    """Every solution's body is hidden on arrival and shown after a click on its title."""
    page, problems = _open(site, site.page_url(docname))
    try:
        solutions = page.locator("div.solution.dropdown")
        n = solutions.count()
        assert n, f"{docname}: no solution dropdowns"
        for i in range(n):
            solution = solutions.nth(i)
            # sphinx-togglebutton hides whatever follows the title (visibility: hidden).
            body = solution.locator(":scope > .admonition-title ~ *").first
            # The chevron button, not the title's centre: that is the link to the exercise.
            toggle = solution.locator(":scope > .admonition-title button.toggle-button").first
            assert body.count() and not body.is_visible(), f"{docname}: solution {i + 1} is not folded"
            toggle.click()
            body.wait_for(state="visible", timeout=10_000)
    finally:
        page.close()
    site.summary.append(f"{docname}: {n} solution(s) folded, each shown by a click")
    assert not problems, problems
