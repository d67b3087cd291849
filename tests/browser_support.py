"""What the browser test needs besides the test itself: a local web server, Debian's
Chromium, a local copy of MathJax 3, and the JavaScript that inspects a page.

The built book loads MathJax from a CDN, which is what a published book should do. The
machines the tests run on reach no CDN, so the browser test answers the CDN's MathJax
requests itself, from a copy of the npm package ``mathjax@3`` (the very files the CDN
mirrors from npm) that ``.ci/run`` installs. Debian's ``libjs-mathjax`` is MathJax 2.7: it
ignores the ``window.MathJax`` version-3 configuration that Sphinx 7 writes and renders to
different elements, so a test run with it would not test what readers see.
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
# Flags Debian's Chromium needs on a closed network: no sandbox (root in a container), no
# GPU, and none of the background calls home that otherwise stall start-up.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Where Sphinx 7 loads MathJax 3 from; the test fulfils these requests from MATHJAX_DIR.
MATHJAX_CDN_PREFIX = "https://cdn.jsdelivr.net/npm/mathjax@3/"
# .ci/run installs mathjax@3 with `npm install --prefix <this cache>`; MATHJAX_DIR overrides.
DEFAULT_MATHJAX_PREFIX = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "vae-course" / "mathjax"


def mathjax_dir() -> Path:
    """The root of a local ``mathjax@3`` npm package (holds ``es5/tex-mml-chtml.js``).

    Raises
    ------
    FileNotFoundError
        Naming the directories looked in and the command that installs the package.
    """
    env = os.environ.get("MATHJAX_DIR")
    candidates = [Path(env)] if env else [DEFAULT_MATHJAX_PREFIX / "node_modules" / "mathjax"]
    for root in candidates:
        if (root / "es5" / "tex-mml-chtml.js").is_file():
            return root
    raise FileNotFoundError(
        f"no MathJax 3 in {[str(c) for c in candidates]}: run "
        f"`npm install --prefix {DEFAULT_MATHJAX_PREFIX} mathjax@3` (as .ci/run does) "
        "or point MATHJAX_DIR at an unpacked mathjax@3 package"
    )


def artifacts_dir(repo_root: Path) -> Path:
    """Directory for screenshots and reports: ``$BROWSER_ARTIFACTS`` or ``_build/browser-screenshots``."""
    env = os.environ.get("BROWSER_ARTIFACTS")
    path = Path(env) if env else repo_root / "_build" / "browser-screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Static file handler that keeps the request log out of the test output."""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (stdlib name)
        pass


@contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Serve ``directory`` over http on 127.0.0.1 (ephemeral port) in a daemon thread.

    Yields
    ------
    str
        The base URL, ending in ``/``.
    """
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="book-http", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


# Evaluated in each page once it has loaded and MathJax has finished. Returns plain data;
# the Python side decides what is an error. Output cells are myst-nb's `div.cell_output`,
# whose children carry `output stream`/`output stderr`/`output traceback` classes.
INSPECT_PAGE_JS = r"""
async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  const imgs = Array.from(document.querySelectorAll('img'));
  await Promise.all(imgs.map(img => img.complete ? null :
      new Promise(done => { img.addEventListener('load', done); img.addEventListener('error', done); })));
  const cells = Array.from(document.querySelectorAll('div.cell')).map(cell => {
    const input = cell.querySelector('.cell_input pre');
    const outputs = Array.from(cell.querySelectorAll('.cell_output .output'));
    return {
      first_line: input ? input.innerText.split('\n')[0].trim() : '',
      stderr: outputs.filter(o => o.classList.contains('stderr')).map(o => o.innerText),
      tracebacks: outputs.filter(o => o.classList.contains('traceback') || o.classList.contains('error'))
                         .map(o => o.innerText.slice(0, 500)),
      texts: outputs.filter(o => !o.classList.contains('stderr')).map(o => o.innerText),
    };
  });
  const math = Array.from(document.querySelectorAll('.math'));
  const sidebar = Array.from(document.querySelectorAll('#bd-docs-nav a.reference.internal, nav.bd-links a.reference.internal'));
  return {
    images: imgs.map(img => ({src: img.currentSrc || img.src, width: img.naturalWidth})),
    cells: cells,
    math_elements: math.length,
    math_untypeset: math.filter(m => !m.querySelector('mjx-container')).map(m => m.textContent.slice(0, 80)),
    mjx_containers: document.querySelectorAll('mjx-container').length,
    mjx_errors: Array.from(document.querySelectorAll('mjx-merror')).map(e => e.textContent.slice(0, 120)),
    mathjax_version: (window.MathJax && MathJax.version) || null,
    sidebar_links: sidebar.map(a => a.href),
    body_text_has_traceback: document.body.innerText.includes('Traceback (most recent call last)'),
  };
}
"""


class _Summary:
    """A pytest plugin that prints collected lines in the terminal summary."""

    def __init__(self, title: str, lines: list[str]) -> None:
        self.title = title
        self.lines = lines

    def pytest_terminal_summary(self, terminalreporter: object) -> None:
        """Print the lines under a section header (runs once, at the end of the session)."""
        terminalreporter.section(self.title)  # type: ignore[attr-defined]
        for line in self.lines:
            terminalreporter.write_line(line)  # type: ignore[attr-defined]


def register_summary(config: object, title: str, lines: list[str]) -> None:
    """Have pytest print ``lines`` (filled in later by the tests) at the end of the run.

    The per-page findings are useful even when every assertion passes, and pytest shows a
    passing test's output only with ``-s``; the terminal summary is always printed.
    """
    manager = config.pluginmanager  # type: ignore[attr-defined]
    name = f"vae-course-summary-{title}"
    if not manager.has_plugin(name):
        manager.register(_Summary(title, lines), name)
