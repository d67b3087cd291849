"""The machinery shared by every exercise checker: run, compare, report in one line."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

__all__ = ["CheckFailed", "run_check", "call_learner", "expect_close"]


class CheckFailed(Exception):
    """Raised inside a checker to stop at the first wrong case; its message is the verdict."""


def call_learner(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call the learner's function, turning any exception into a readable verdict."""
    try:
        return fn(*args, **kwargs)
    except Exception as err:  # the learner's code may raise anything; report it, never crash
        raise CheckFailed(f"your function raised {type(err).__name__}: {err}") from None


def expect_close(got: Any, expected: Any, what: str, *, rtol: float = 1e-4, atol: float = 1e-6) -> None:
    """Compare the learner's value with the reference and explain the first mismatch.

    Parameters
    ----------
    got, expected : array_like
        The learner's result and the reference result.
    what : str
        How to name the case in the message, e.g. ``"for mu=0.3, logvar=-1.2"``.
    rtol, atol : float
        Tolerances, as in :func:`numpy.allclose`.
    """
    try:
        got_arr = np.asarray(_to_numpy(got), dtype=np.float64)
    except (TypeError, ValueError):
        raise CheckFailed(f"your function returned {type(got).__name__}, expected numbers {what}") from None
    exp_arr = np.asarray(expected, dtype=np.float64)
    if got_arr.shape != exp_arr.shape:
        raise CheckFailed(f"your result has shape {got_arr.shape} {what}: expected shape {exp_arr.shape}")
    if not np.all(np.isfinite(got_arr)):
        raise CheckFailed(f"your result contains NaN or inf {what}")
    if not np.allclose(got_arr, exp_arr, rtol=rtol, atol=atol):
        idx = np.unravel_index(np.argmax(np.abs(got_arr - exp_arr)), got_arr.shape) if got_arr.ndim else ()
        g, e = float(got_arr[idx]), float(exp_arr[idx])
        hint = ""
        if e != 0 and np.isclose(g, -e, rtol=rtol, atol=atol):
            hint = " (the sign is flipped)"
        elif e != 0 and np.isclose(g / e, 2.0, rtol=1e-3):
            hint = " (twice the expected value: a missing factor 1/2?)"
        elif e != 0 and np.isclose(g / e, 0.5, rtol=1e-3):
            hint = " (half the expected value)"
        raise CheckFailed(f"your result is {g:.4f} {what}: expected {e:.4f}{hint}")


def _to_numpy(value: Any) -> Any:
    """Turn tensors of either framework into NumPy without importing the frameworks."""
    if hasattr(value, "detach"):  # torch.Tensor
        value = value.detach().cpu()
    if hasattr(value, "numpy"):
        return value.numpy()
    return value


def run_check(name: str, body: Callable[[], str | None]) -> bool:
    """Run a checker body, print its verdict in one line and return whether it passed.

    Parameters
    ----------
    name : str
        What is being checked, shown in the verdict (e.g. ``"gaussian_kl"``).
    body : callable
        Runs the cases; raises :class:`CheckFailed` at the first wrong one, or returns an
        optional note for the success line.
    """
    try:
        note = body()
    except CheckFailed as failure:
        print(f"✗ {name}: {failure}")
        return False
    print(f"✓ {name}: correct" + (f" ({note})" if note else ""))
    return True
