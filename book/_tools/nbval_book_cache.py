"""Let the book build reuse the notebook executions nbval has already done.

In one ``python -m pytest`` run, nbval executes every notebook under ``book/`` and then the
book build (``tests/conftest.py``) would execute them all again: twice the CI time for the
same smoke-mode results. This pytest plugin records the outputs nbval collected, cell by
cell, and before the build stores each notebook that ran completely and passed in the
build's jupyter-cache, exactly as ``execute_notebooks: cache`` would have stored it. The
build then renders those outputs and executes only what is not cached (a notebook that
failed under nbval, or that nbval did not run).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import pytest

PLUGIN_NAME = "vae-nbval-book-cache"


@dataclass
class _Run:
    """What nbval reported for one notebook."""

    ok: bool = True
    outputs: dict[int, list[Any]] = field(default_factory=dict)  # code-cell number -> outputs


class NbvalBookCache:
    """Collect nbval's cell outputs; write complete, passing notebooks to a jupyter-cache."""

    def __init__(self) -> None:
        self.runs: dict[Path, _Run] = {}

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        """Record an nbval cell's outputs once its test phase has a result."""
        outcome = yield
        report = outcome.get_result()
        if not (hasattr(item, "cell_num") and hasattr(item, "test_outputs")) or report.when != "call":
            if hasattr(item, "cell_num") and report.failed:  # a setup error, e.g. no kernel
                self.runs.setdefault(Path(str(item.path)), _Run()).ok = False
            return
        run = self.runs.setdefault(Path(str(item.path)), _Run())
        if report.passed and item.test_outputs is not None:
            run.outputs[item.cell_num] = item.test_outputs
        else:
            run.ok = False

    def populate(self, cache_dir: Path) -> list[Path]:
        """Store every notebook nbval ran completely and without failure in ``cache_dir``.

        Parameters
        ----------
        cache_dir : pathlib.Path
            The jupyter-cache directory the build uses (``<output>/_build/.jupyter_cache``).

        Returns
        -------
        list of pathlib.Path
            The notebooks stored.
        """
        from jupyter_cache import get_cache
        from jupyter_cache.base import CacheBundleIn

        cache = get_cache(str(cache_dir))
        stored = []
        for path, run in sorted(self.runs.items()):
            nb = nbformat.read(str(path), as_version=4)
            code = [c for c in nb.cells if c.cell_type == "code"]
            if not run.ok or sorted(run.outputs) != list(range(len(code))):
                continue  # partly run or failed: the build executes it itself
            for number, cell in enumerate(code):
                cell.outputs = [nbformat.from_dict(o) for o in run.outputs[number]]
                cell.execution_count = number + 1
                for output in cell.outputs:
                    if "execution_count" in output:
                        output["execution_count"] = number + 1
            cache.cache_notebook_bundle(CacheBundleIn(nb, str(path)), check_validity=True, overwrite=True)
            stored.append(path)
        return stored
