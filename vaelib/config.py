"""Execution modes and run budgets (framework-free).

The course runs in one of two modes:

* **full** (default): each chapter trains its own models at the budgets that give good
  results in at most about ten minutes per notebook on two CPU cores;
* **quick** (``VAELIB_QUICK=1``; CI sets the older name ``VAELIB_SMOKE=1``, which means the
  same): tiny budgets, so that every notebook executes in about a minute.

In both modes the figures and numbers that the chapters discuss come from the course's
reference models (:mod:`vaelib.reference`); the mode only sets how long a chapter trains
the reader's own models.
"""

from __future__ import annotations

import os
from types import SimpleNamespace
from typing import Any

__all__ = ["is_quick", "is_smoke", "mode", "budget"]

_TRUE = {"1", "true", "yes", "on"}
QUICK_VARIABLES = ("VAELIB_QUICK", "VAELIB_SMOKE")


def is_quick() -> bool:
    """Return True when ``VAELIB_QUICK`` (or its older name ``VAELIB_SMOKE``) asks for quick mode."""
    return any(os.environ.get(name, "").strip().lower() in _TRUE for name in QUICK_VARIABLES)


is_smoke = is_quick  # the older name, kept for code written against it


def mode() -> str:
    """Return the execution mode, ``"quick"`` or ``"full"``."""
    return "quick" if is_quick() else "full"


def budget(*, full: dict[str, Any], quick: dict[str, Any], verbose: bool = True) -> SimpleNamespace:
    """Pick the run budget for the current mode and say which one was picked.

    Parameters
    ----------
    full, quick : dict
        Budgets (epochs, sizes, ...) for each mode. Both must have the same keys, so
        that a notebook never depends on a value that only one mode defines.
    verbose : bool
        Print one line naming the mode and the budget.

    Returns
    -------
    types.SimpleNamespace
        The chosen budget, with attribute access (``B.epochs``).
    """
    if set(full) != set(quick):
        diff = sorted(set(full) ^ set(quick))
        raise ValueError(f"budget: full and quick must have the same keys, they differ in {diff}")
    chosen = quick if is_quick() else full
    if verbose:
        items = ", ".join(f"{k}={v}" for k, v in chosen.items())
        why = "short training runs" if is_quick() else "set VAELIB_QUICK=1 for short training runs"
        print(f"Mode: {mode()} ({why}). Budget: {items}")
    return SimpleNamespace(**chosen)
