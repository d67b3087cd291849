"""Execution modes and run budgets (framework-free).

The course runs in one of two modes:

* **full** (default): the budgets that give good results;
* **smoke** (``VAELIB_SMOKE=1``, set by CI): tiny budgets so that every notebook
  executes in about a minute on two CPU cores.
"""

from __future__ import annotations

import os
from types import SimpleNamespace
from typing import Any

__all__ = ["is_smoke", "mode", "budget", "data_root"]

_TRUE = {"1", "true", "yes", "on"}


def is_smoke() -> bool:
    """Return True when ``VAELIB_SMOKE`` asks for smoke mode."""
    return os.environ.get("VAELIB_SMOKE", "").strip().lower() in _TRUE


def mode() -> str:
    """Return the execution mode, ``"smoke"`` or ``"full"``."""
    return "smoke" if is_smoke() else "full"


def budget(*, full: dict[str, Any], smoke: dict[str, Any], verbose: bool = True) -> SimpleNamespace:
    """Pick the run budget for the current mode and say which one was picked.

    Parameters
    ----------
    full, smoke : dict
        Budgets (epochs, sizes, ...) for each mode. Both must have the same keys, so
        that a notebook never depends on a value that only one mode defines.
    verbose : bool
        Print one line naming the mode and the budget.

    Returns
    -------
    types.SimpleNamespace
        The chosen budget, with attribute access (``B.epochs``).
    """
    if set(full) != set(smoke):
        diff = sorted(set(full) ^ set(smoke))
        raise ValueError(f"budget: full and smoke must have the same keys, they differ in {diff}")
    chosen = smoke if is_smoke() else full
    if verbose:
        items = ", ".join(f"{k}={v}" for k, v in chosen.items())
        why = "VAELIB_SMOKE=1" if is_smoke() else "set VAELIB_SMOKE=1 for a quick run"
        print(f"Mode: {mode()} ({why}). Budget: {items}")
    return SimpleNamespace(**chosen)


def data_root() -> str | None:
    """Return the directory named by ``VAELIB_DATA``, or None when it is unset."""
    root = os.environ.get("VAELIB_DATA", "").strip()
    return os.path.expanduser(root) if root else None
