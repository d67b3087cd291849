"""The machinery shared by every exercise checker: run, compare, report in one line."""

from __future__ import annotations

import warnings
from typing import Any, Callable

import numpy as np

__all__ = ["CheckFailed", "run_check", "call_learner", "call_quietly", "expect_close", "as_float_array", "compare", "fmt"]


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


# -- helpers the chapter checkers share --------------------------------------------------
_RTOL, _ATOL = 1e-4, 1e-6  # the checkers' default tolerances


def call_quietly(fn: Callable[..., Any], *args: Any) -> Any:
    """Call the learner's function with NumPy's overflow/NaN warnings silenced: the verdict reports them."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        return call_learner(fn, *args)


def as_float_array(got: Any, quantity: str) -> np.ndarray:
    if got is None:
        raise CheckFailed(f"your function returned None, expected an array with one {quantity} per example (is `return` missing?)")
    try:
        return np.asarray(_to_numpy(got), dtype=np.float64)
    except (TypeError, ValueError):
        raise CheckFailed(f"your function returned {type(got).__name__}, expected an array with one {quantity} per example") from None


def compare(got: Any, ref: np.ndarray, *, quantity: str, describe: Callable[[tuple], str],
             shape_hint: str, mistakes: dict[str, np.ndarray], nonfinite_hint: str) -> None:
    """Raise CheckFailed with a one-line diagnosis unless ``got`` matches ``ref``.

    ``describe(idx)`` names the case behind element ``idx`` of ``ref`` (e.g. its inputs);
    ``mistakes`` maps a hint to what a typical wrong formula returns on the same inputs.
    """
    arr = as_float_array(got, quantity)
    if arr.shape != ref.shape:
        raise CheckFailed(f"your result has shape {arr.shape}: expected shape {ref.shape}, {shape_hint}")
    if np.allclose(arr, ref, rtol=_RTOL, atol=_ATOL):
        return
    bad = ~np.isfinite(arr)
    if bad.any():
        idx = tuple(np.argwhere(bad)[0])
        raise CheckFailed(f"your {quantity} is {arr[idx]} {describe(idx)}: expected {ref[idx]:.4f} ({nonfinite_hint})")
    for hint, wrong in mistakes.items():
        if wrong.shape == ref.shape and np.allclose(arr, wrong, rtol=_RTOL, atol=_ATOL):
            idx = worst_case(arr, ref)
            raise CheckFailed(f"your {quantity} is {arr[idx]:.4f} {describe(idx)}: expected {ref[idx]:.4f} ({hint})")
    idx = worst_case(arr, ref)
    raise CheckFailed(f"your {quantity} is {arr[idx]:.4f} {describe(idx)}: expected {ref[idx]:.4f}")


def worst_case(arr: np.ndarray, ref: np.ndarray) -> tuple:
    return np.unravel_index(np.argmax(np.abs(arr - ref)), ref.shape) if ref.ndim else ()


def fmt(values: np.ndarray) -> str:
    values = np.asarray(values)
    if values.size == 1:
        return f"{values.item():g}"
    return np.array2string(values, precision=3, separator=", ", threshold=8)


# ---------------------------------------------------------------------------------------
# exercise: the closed-form Gaussian KL
# ---------------------------------------------------------------------------------------
