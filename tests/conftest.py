"""Shared fixtures for the book and notebook tests.

``built_book`` builds the whole Jupyter Book once per test session (executing every
notebook, honouring ``VAELIB_SMOKE``) and returns the HTML directory; any test, such as a
browser test, can request it. Tests that use it run after all other tests, so that the
notebooks nbval executed earlier in the session are handed to the build's execution cache
(book/_tools/nbval_book_cache.py) instead of being executed a second time.

``BOOK_HTML_DIR``, when set, names the HTML directory of an existing build (e.g.
``/tmp/bookcopy/_build/html``): ``built_book`` then returns it without building anything,
so the browser tests can be rerun quickly against a build made beforehand. CI leaves it
unset and tests the session's own build.
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
# The notebook tooling (sync_notebooks, book_sources) is a folder of scripts, not a package.
sys.path.insert(0, str(REPO_ROOT / "book" / "_tools"))

from nbval_book_cache import PLUGIN_NAME, NbvalBookCache  # noqa: E402
from support import go_offline  # noqa: E402


@pytest.fixture(params=["torch", "keras"])
def vl(request: pytest.FixtureRequest):
    """Each backend in turn: ``vaelib.torch``, then ``vaelib.keras``."""
    return importlib.import_module(f"vaelib.{request.param}")


@pytest.fixture
def real_data_offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """:func:`support.go_offline` for one test."""
    go_offline(monkeypatch, tmp_path / "cache")


@pytest.fixture(scope="module")
def fashion_train(tmp_path_factory: pytest.TempPathFactory):
    """Fashion-MNIST's training split, loaded once per module, offline."""
    from vaelib.data import load_fashion_mnist

    with pytest.MonkeyPatch.context() as mp:
        go_offline(mp, tmp_path_factory.mktemp("cache"))
        return load_fashion_mnist("train")


def sphinx_problem(line: str) -> bool:
    """Whether a build-log line is a Sphinx warning or error (not a kernel's log line)."""
    return bool(re.search(r"\b(WARNING|ERROR|CRITICAL):", line))


@dataclass(frozen=True)
class BookBuild:
    """Result of one ``jupyter-book build``."""

    returncode: int
    log: str
    html_dir: Path

    def log_excerpt(self, tail: int = 60) -> str:
        """Warnings and errors of the build followed by the last ``tail`` lines of its log."""
        lines = self.log.splitlines()
        flagged = [line for line in lines if sphinx_problem(line)][:40]
        return "\n".join(["--- warnings and errors ---", *flagged, f"--- last {tail} lines ---", *lines[-tail:]])


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root (holds _config.yml and _toc.yml)."""
    return REPO_ROOT


def pytest_configure(config: pytest.Config) -> None:
    """Register the recorder of nbval's outputs (a plain plugin, so it sees book/ items)."""
    if not config.pluginmanager.has_plugin(PLUGIN_NAME):
        config.pluginmanager.register(NbvalBookCache(), PLUGIN_NAME)


@pytest.fixture(scope="session")
def book_build(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> BookBuild:
    """Build the book once per session with ``-W --keep-going`` into a temporary directory."""
    out = tmp_path_factory.mktemp("book")
    reused = request.config.pluginmanager.get_plugin(PLUGIN_NAME).populate(out / "_build" / ".jupyter_cache")
    exe = shutil.which("jupyter-book") or str(Path(sys.executable).with_name("jupyter-book"))
    cmd = [exe, "build", str(REPO_ROOT), "-W", "--keep-going", "--path-output", str(out)]
    proc = subprocess.run(cmd, cwd=REPO_ROOT, env=os.environ.copy(), capture_output=True, text=True)
    note = f"reused nbval's execution of {len(reused)} notebook(s): {[p.name for p in reused]}"
    log = f"{note}\n$ {' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}"
    (out / "build.log").write_text(log, encoding="utf-8")
    return BookBuild(proc.returncode, log, out / "_build" / "html")


@pytest.fixture(scope="session")
def built_book(request: pytest.FixtureRequest) -> Path:
    """The HTML directory of a successful book build (fails with the build log otherwise).

    With ``BOOK_HTML_DIR`` set, that existing build instead (it must hold an index.html).
    """
    existing = os.environ.get("BOOK_HTML_DIR", "").strip()
    if existing:
        if not (Path(existing) / "index.html").is_file():
            pytest.fail(f"BOOK_HTML_DIR={existing}: no index.html there (unset it to build the book)")
        return Path(existing)
    book_build: BookBuild = request.getfixturevalue("book_build")
    if book_build.returncode != 0 or not (book_build.html_dir / "index.html").exists():
        pytest.fail(f"jupyter-book build failed (exit {book_build.returncode})\n{book_build.log_excerpt()}")
    return book_build.html_dir


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run tests that need the built book last: the build is the slowest step."""
    uses_book = [i for i in items if {"book_build", "built_book"} & set(getattr(i, "fixturenames", ()))]
    if uses_book:
        ids = {id(i) for i in uses_book}
        items[:] = [i for i in items if id(i) not in ids] + uses_book
