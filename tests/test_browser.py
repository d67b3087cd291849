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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np
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
# (the quick-mode carve-out notes among them) are allowed; exceptions are not.
_ERROR_IN_STDERR = re.compile(
    r"Traceback \(most recent call last\)|^\s*(?:[A-Za-z_][\w.]*\.)?[A-Z]\w*(?:Error|Exception)\b(?::|$)",
    re.MULTILINE,
)

# JavaScript errors that come from the toolchain, not the book: Jupyter Book 1.0.4 with
# sphinx-thebe 0.3 writes the `const THEBE_JS_URL = ...` script into every page twice; the
# second copy throws, the first already did the job (thebe is off in this book anyway).
KNOWN_TOOLCHAIN_JS_ERRORS = ("Identifier 'THEBE_JS_URL' has already been declared",)

try:  # imported here so that a missing install is a failure of these tests, not of collection
    from playwright.sync_api import Browser, BrowserContext, Locator, Page, Route, sync_playwright
except ImportError as exc:  # pragma: no cover - reported by the fixture below
    _PLAYWRIGHT_IMPORT_ERROR: ImportError | None = exc
else:
    _PLAYWRIGHT_IMPORT_ERROR = None


@dataclass
class Site:
    """The served book and the browser pointed at it."""

    url: str  # base URL, ends with "/"
    context: "BrowserContext"
    html_dir: Path
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
        result = Site(url, context, built_book, shots)

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


def _open(site: Site, url: str, before_load: Callable[["Page", list[str]], None] | None = None) -> tuple["Page", list[str]]:
    """Open ``url`` in a new tab; returns the page and a live list of problems it reports.

    ``before_load(page, problems)``, if given, runs before the page is requested (to listen to
    more of its events).
    """
    page = site.context.new_page()
    problems: list[str] = []
    if before_load is not None:
        before_load(page, problems)
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


# --------------------------------------------------------------------------- interactive figures
# Chapters 4 and 6 hold the widgets of book/_static/vae-widgets/ (Keras twins included, as
# sync_notebooks copies the markdown). A page that lacks one of its widgets fails: nothing
# here is skipped because a container is missing.
WIDGET_PAGES = {
    "book/04_image_vaes_torch": ("latent-explorer", "interpolation"),
    "book/04_image_vaes_keras": ("latent-explorer", "interpolation"),
    "book/06_beyond_torch": ("rate-distortion",),
    "book/06_beyond_keras": ("rate-distortion",),
}
PAGES_WITHOUT_WIDGETS = [d for d in ("book/index", "book/02_elbo") if d in DOCNAMES]
WIDGET_STATIC = "_static/vae-widgets/"
WIDGET_PAGE_LIMIT_BYTES = 2_000_000
FIXED_Z = ((0.0, 0.0), (-1.2, 0.9), (1.5, -1.4))  # inside the pad's range (about +-1.83)
DECODER_TOLERANCE = 1e-3
# The console errors the toolchain logs on every page: pydata-sphinx-theme finds no stored
# light/dark choice in a fresh browser profile and says so before using the default.
KNOWN_TOOLCHAIN_CONSOLE_ERRORS = ("Got invalid theme mode",)
# Resolves after the next frame has been drawn (the widgets render on animation frames).
NEXT_FRAME_JS = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"
# The red channel of a canvas (the images are gray), row-major.
CANVAS_PIXELS_JS = ("(canvas) => Array.from(canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height)"
                    ".data.filter((_, i) => i % 4 === 0))")


@dataclass
class WidgetPage:
    """A page opened for the widget tests: the tab, its problems and what it fetched."""

    page: "Page"
    problems: list[str]
    requested: list[str]

    def widget(self, kind: str) -> "Locator":
        """The one widget of ``kind`` on the page (fails if there is none or several)."""
        found = self.page.locator(f'[data-vae-widget="{kind}"]')
        assert found.count() == 1, f"expected one {kind!r} widget on {self.page.url}, found {found.count()}"
        return found

    def pixels(self, canvas: "Locator") -> np.ndarray:
        """The gray levels a canvas shows, shape (height, width)."""
        values = canvas.evaluate(CANVAS_PIXELS_JS)
        return np.array(values, dtype=np.float64).reshape(canvas.evaluate("c => c.height"), -1)


@contextmanager
def _widget_page(site: Site, docname: str) -> Iterator[WidgetPage]:
    """Open a page, wait for its widgets to be built, and fail on any console error."""
    requested: list[str] = []

    def listen(page: "Page", problems: list[str]) -> None:
        page.on("console", lambda msg: problems.append(f"console error: {msg.text}") if msg.type == "error"
                and not msg.text.startswith(KNOWN_TOOLCHAIN_CONSOLE_ERRORS) else None)
        page.on("request", lambda r: requested.append(r.url))

    page, problems = _open(site, site.page_url(docname), listen)
    try:
        page.evaluate("async () => await window.vaeWidgets.ready")
        yield WidgetPage(page, problems, requested)
    finally:
        page.close()


def _tiles(strip: np.ndarray, n: int) -> np.ndarray:
    """The n 28 x 28 images of a strip drawn with 1-pixel gaps."""
    return np.stack([strip[:, k * 29 : k * 29 + 28] for k in range(n)])


@pytest.fixture(scope="module")
def vl() -> object:
    from vaelib import torch as backend

    return backend


@pytest.fixture(scope="module")
def model_2d(vl: object) -> object:
    return vl.load_reference("vae_2d")  # type: ignore[attr-defined]


@pytest.mark.parametrize("docname", sorted(WIDGET_PAGES))
def test_widgets_render(site: Site, docname: str) -> None:
    """Each widget of the page is built from its data, within the page budget, without errors."""
    assert docname in DOCNAMES, f"{docname} is not in the table of contents"
    with _widget_page(site, docname) as wp:
        states = {}
        for kind in WIDGET_PAGES[docname]:
            widget = wp.widget(kind)
            states[kind] = widget.get_attribute("data-vae-state")
            widget.scroll_into_view_if_needed()
            widget.screenshot(path=str(site.shots / f"widget-{docname.replace('/', '__')}-{kind}.png"))
        files = {unquote(urlsplit(u).path)[1:] for u in wp.requested if u.startswith(site.url + WIDGET_STATIC)}
        size = sum((site.html_dir / f).stat().st_size for f in files)
        problems = list(wp.problems)
    site.summary.append(f"{docname}: widgets {states}; {len(files)} widget file(s), {size:,} bytes")
    assert states == {kind: "ready" for kind in WIDGET_PAGES[docname]}, states
    assert any(f.startswith(WIDGET_STATIC + "data/") for f in files), f"no widget data was loaded: {sorted(files)}"
    assert size < WIDGET_PAGE_LIMIT_BYTES, f"the widgets add {size:,} bytes to the page"
    assert not problems, problems


@pytest.mark.parametrize("docname", PAGES_WITHOUT_WIDGETS)
def test_pages_without_widgets_stay_quiet(site: Site, docname: str) -> None:
    """The scripts run on every page; where there is no widget they load nothing and log nothing."""
    with _widget_page(site, docname) as wp:
        count = wp.page.evaluate("async () => await window.vaeWidgets.ready")
        data_files = [u for u in wp.requested if WIDGET_STATIC + "data/" in u]
        problems = list(wp.problems)
    assert count == 0 and not data_files, (count, data_files)
    assert not problems, problems


def test_latent_explorer_draws_what_the_python_decoder_gives(site: Site, model_2d: object) -> None:
    """Pointer moves decode z in the page; image and probabilities match ``decode_means``."""
    decode = lambda z: model_2d.decode_means(np.asarray([z], dtype=np.float32)).ravel()  # noqa: E731
    with _widget_page(site, "book/04_image_vaes_torch") as wp:
        explorer = wp.widget("latent-explorer")
        explorer.scroll_into_view_if_needed()
        image = explorer.locator("canvas.vae-image")
        lo, hi = explorer.evaluate("el => el.vaeWidget.extent()")
        shown, drawn, pixels, direct = [], [], [], []
        for z in FIXED_Z:
            point = explorer.evaluate("(el, z) => el.vaeWidget.clientPoint(z)", list(z))
            wp.page.mouse.move(point["x"], point["y"])
            wp.page.evaluate(NEXT_FRAME_JS)
            shown.append(explorer.evaluate("el => el.vaeWidget.z()"))
            drawn.append(np.array(explorer.evaluate("el => el.vaeWidget.probabilities()")))
            pixels.append(wp.pixels(image).ravel())
            direct.append(np.array(wp.page.evaluate("z => window.vaeWidgets.decode(z)", list(z))))
        pad = explorer.locator("canvas.vae-pad")
        pad.focus()
        wp.page.keyboard.press("Home")
        wp.page.evaluate(NEXT_FRAME_JS)
        at_origin = explorer.evaluate("el => el.vaeWidget.z()")
        wp.page.keyboard.press("ArrowRight")
        wp.page.evaluate(NEXT_FRAME_JS)
        after_key = explorer.evaluate("el => el.vaeWidget.z()")
        problems = list(wp.problems)

    step = (hi - lo) / 340  # one CSS pixel of the pad, at most
    for z, got in zip(FIXED_Z, shown):
        assert np.abs(np.subtract(got, z)).max() <= 2 * step, f"the pointer at {z} chose z = {got}"
    errors = [float(np.abs(p - decode(z)).max()) for z, p in zip(shown, drawn)]
    direct_errors = [float(np.abs(p - decode(z)).max()) for z, p in zip(FIXED_Z, direct)]
    pixel_errors = [float(np.abs(px - np.round(decode(z) * 255)).max()) for z, px in zip(shown, pixels)]
    site.summary.append(f"latent explorer vs decode_means at {FIXED_Z}: max |dp| {errors} (pointer), "
                        f"{direct_errors} (vaeWidgets.decode); canvas gray levels off by {pixel_errors}")
    assert max(errors + direct_errors) <= DECODER_TOLERANCE, (errors, direct_errors)
    assert max(pixel_errors) <= 1, f"the canvas does not show the decoded probabilities: {pixel_errors}"
    assert np.abs(pixels[0] - pixels[1]).max() > 20, "moving to another z did not change the image"
    assert at_origin == [0, 0] and after_key[0] > 0 and after_key[1] == 0, (at_origin, after_key)
    assert not problems, problems


def test_interpolation_ends_are_the_reconstructions(site: Site, vl: object, model_2d: object) -> None:
    """Picking two thumbnails and sliding t to 0 and 1 gives decode_means at their posterior means."""
    from vaelib import data

    with _widget_page(site, "book/04_image_vaes_torch") as wp:
        slider_widget = wp.widget("interpolation")
        slider_widget.scroll_into_view_if_needed()
        thumbs = slider_widget.locator("button.vae-thumb")
        assert thumbs.count() >= 4, f"{thumbs.count()} thumbnails"
        thumbs.nth(2).click()
        thumbs.nth(3).click()
        chosen = slider_widget.evaluate("el => el.vaeWidget.selection()")
        slider = slider_widget.locator("input[type=range]")
        ends = {}
        for key, t in (("End", 1.0), ("Home", 0.0)):
            slider.focus()
            wp.page.keyboard.press(key)
            assert slider_widget.evaluate("el => el.vaeWidget.t()") == t
            ends[t] = np.array(slider_widget.evaluate("el => el.vaeWidget.probabilities()"))
        slider_widget.evaluate("el => el.vaeWidget.setT(0.5)")
        middle = np.array(slider_widget.evaluate("el => el.vaeWidget.probabilities()"))
        problems = list(wp.problems)

    test = data.load_fashion_mnist("test")
    x = data.binarize(test.images, seed=2)
    mu, _ = vl.encode_dataset(model_2d, x[chosen])  # type: ignore[attr-defined]
    expected = model_2d.decode_means(mu).reshape(2, -1)
    halfway = model_2d.decode_means(mu.mean(axis=0, keepdims=True)).ravel()
    errors = [float(np.abs(ends[0.0] - expected[0]).max()), float(np.abs(ends[1.0] - expected[1]).max())]
    mid_error = float(np.abs(middle - halfway).max())
    site.summary.append(f"interpolation {chosen}: end points vs decode_means(mu) max |dp| {errors}; t = 0.5: {mid_error:.2e}")
    assert chosen[0] != chosen[1]
    assert max(errors + [mid_error]) <= DECODER_TOLERANCE, (errors, mid_error)
    # Otherwise the comparison could not tell the two ends apart.
    assert np.abs(expected[0] - expected[1]).max() > 10 * DECODER_TOLERANCE, "the two images reconstruct alike"
    assert not problems, problems


def test_rate_distortion_points_show_their_models(site: Site, vl: object) -> None:
    """Hovering each beta's point shows its prior samples; the arrow keys move between points."""
    import export_widgets

    with _widget_page(site, "book/06_beyond_torch") as wp:
        widget = wp.widget("rate-distortion")
        widget.scroll_into_view_if_needed()
        points = widget.locator(".vae-rd-point")
        betas = widget.evaluate("el => el.vaeWidget.betas()")
        shown, samples = [], []
        for i in range(points.count()):
            points.nth(i).locator(".vae-rd-dot").hover()
            shown.append(widget.evaluate("el => el.vaeWidget.shown()"))
            samples.append(_tiles(wp.pixels(widget.locator("canvas.vae-strip").first), export_widgets.N_PRIOR_SAMPLES))
        points.nth(0).focus()
        wp.page.keyboard.press("ArrowRight")
        after_key = widget.evaluate("el => el.vaeWidget.shown()")
        problems = list(wp.problems)

    expected_betas = [beta for beta, _ in export_widgets.RATE_DISTORTION_MODELS]
    assert betas == expected_betas and shown == expected_betas, (betas, shown)
    errors = []
    for (beta, name), drawn in zip(export_widgets.RATE_DISTORTION_MODELS, samples):
        model = vl.load_reference(name)  # type: ignore[attr-defined]
        z = np.random.default_rng(export_widgets.PRIOR_SEED).standard_normal(
            (export_widgets.N_PRIOR_SAMPLES, model.latent_dim)).astype(np.float32)
        errors.append(float(np.abs(drawn - np.round(model.decode_means(z) * 255)).max()))
    site.summary.append(f"rate-distortion: betas {shown}; prior samples on screen vs decode_means, gray levels off by {errors}")
    assert max(errors) <= 1, errors
    assert np.abs(samples[0] - samples[-1]).max() > 20, "the smallest and largest beta show the same samples"
    assert after_key == expected_betas[1], after_key
    assert not problems, problems


@pytest.mark.parametrize("docname", sorted(WIDGET_PAGES))
def test_widget_pages_read_without_javascript(site: Site, docname: str) -> None:
    """With JavaScript off each widget is a one-line note, and the page's static figures remain."""
    context = site.context.browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(site.url) else route.abort())
    try:
        page = context.new_page()
        page.goto(site.page_url(docname), wait_until="load")
        notes = {kind: page.locator(f'[data-vae-widget="{kind}"]').inner_text().strip() for kind in WIDGET_PAGES[docname]}
        figures = page.locator("div.cell_output img").count()
        page.locator(f'[data-vae-widget="{WIDGET_PAGES[docname][0]}"]').screenshot(
            path=str(site.shots / f"widget-nojs-{docname.replace('/', '__')}.png"))
    finally:
        context.close()
    assert all("JavaScript" in note and len(note) < 200 for note in notes.values()), notes
    assert figures, "the static figures are gone"
