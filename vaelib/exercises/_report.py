"""The machinery shared by every exercise checker: run, compare, report in one line."""

from __future__ import annotations

import warnings
from typing import Any, Callable

import numpy as np

from vaelib._arrays import to_numpy as _to_numpy  # tensors of either framework to NumPy

__all__ = ["CheckFailed", "run_check", "call_learner", "call_quietly", "expect_close", "as_float_array", "as_number",
           "to_numbers", "describe_value", "compare", "fmt", "GlobalRandomState", "check_seeded"]


class CheckFailed(Exception):
    """Raised inside a checker to stop at the first wrong case; its message is the verdict."""


def call_learner(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call the learner's function, turning any exception into a readable verdict."""
    try:
        return fn(*args, **kwargs)
    except Exception as err:  # the learner's code may raise anything; report it, never crash
        raise CheckFailed(f"your function raised {type(err).__name__}: {err}{_exception_hint(err)}") from None


def _exception_hint(err: Exception) -> str:
    """A hint for the exceptions a typical slip raises, or ''."""
    text = str(err)
    if isinstance(err, TypeError) and ("only length-1" in text or "only 0-dimensional" in text
                                       or "only size-1" in text or "must be real number" in text):
        return " (math.exp and math.log take one number: use np.exp and np.log on arrays)"
    if isinstance(err, ZeroDivisionError):
        return " (a division by zero: which argument can be 0 here?)"
    return ""


def describe_value(value: Any) -> str:
    """Name an odd return value in a verdict: its type and, for a container, what it holds."""
    if value is None:
        return "None (is `return` missing?)"
    if isinstance(value, (str, bytes)):
        return f"{type(value).__name__} {value[:30]!r}" + ("..." if len(value) > 30 else "")
    if isinstance(value, dict):
        return f"a dict with keys {list(value)[:5]}"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {len(value)} items"
    return type(value).__name__


def to_numbers(got: Any, expected: str, *, dtype: Any = np.float64) -> np.ndarray:
    """The learner's value (NumPy, torch or TensorFlow, list) as an array, or CheckFailed saying what it is.

    ``expected`` completes "your function returned X, expected ...". Strings, dicts and
    functions are refused even where NumPy could convert them.
    """
    if got is None or isinstance(got, (str, bytes, dict)) or callable(got):
        raise CheckFailed(f"your function returned {describe_value(got)}, expected {expected}")
    try:
        arr = np.asarray(_to_numpy(got))
        if arr.dtype == object or arr.dtype.kind in "USV":
            raise ValueError("not numbers")
        if arr.dtype.kind == "c":
            raise CheckFailed(f"your function returned complex numbers, expected {expected} "
                              "(a square root or log of a negative number?)")
        return arr.astype(dtype) if dtype is not None else arr
    except CheckFailed:
        raise
    except Exception:  # ragged lists, tensors that refuse conversion, objects: report, never crash
        raise CheckFailed(f"your function returned {describe_value(got)} that is not an array of numbers, "
                          f"expected {expected}") from None


def as_number(got: Any, what: str) -> float:
    """The learner's value as one float (a size-1 array or tensor counts), or CheckFailed saying what it is."""
    arr = to_numbers(got, f"one number {what}")
    if arr.size != 1:
        raise CheckFailed(f"your function returned an array of shape {arr.shape} {what}: expected one number")
    return float(arr.reshape(()))


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
    got_arr = to_numbers(got, f"numbers {what}")
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
    except Exception as err:  # a result odd enough to trip the checker itself: still a verdict, not a traceback
        print(f"✗ {name}: your result could not be checked ({type(err).__name__}: {err}); "
              "return the numbers the exercise asks for")
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


class GlobalRandomState:
    """Watch NumPy's global generator around a learner's call, and put it back afterwards.

    ``with GlobalRandomState() as watch: ...`` then ``watch.touched`` says whether the code
    inside drew from (or reseeded) ``np.random``; the learner's session keeps its own state.
    """

    def __enter__(self) -> "GlobalRandomState":
        self._saved = np.random.get_state()
        self.touched = False
        return self

    def __exit__(self, *exc: Any) -> None:
        after = np.random.get_state()
        self.touched = not (after[2] == self._saved[2] and np.array_equal(after[1], self._saved[1]))
        np.random.set_state(self._saved)


def check_seeded(draw: Callable[[int], np.ndarray], seeds: tuple[int, int], *, touched: bool, same: str,
                 own: str, ignored: str, advice: str) -> None:
    """Raise CheckFailed unless ``draw`` is reproducible, uses its seed, and leaves ``np.random`` alone.

    ``draw(seed)`` runs the learner's function with a seed (or a generator made from it);
    ``touched`` says whether earlier calls used NumPy's global generator. The messages:
    ``same`` for two equal seeds giving different results, ``own`` why (when ``np.random`` was
    not touched), ``ignored`` for two different seeds giving the same result, ``advice`` what to do.
    """
    with GlobalRandomState() as watch:
        first, again, other = draw(seeds[0]), draw(seeds[0]), draw(seeds[1])
    if not np.array_equal(first, again):
        how = "you drew from NumPy's global generator (np.random.*)" if watch.touched else own
        raise CheckFailed(f"{same}: {how}; {advice}")
    if touched or watch.touched:
        raise CheckFailed("your function used NumPy's global generator (np.random.seed or np.random.*), which changes "
                          f"every other random number of the session: {advice}")
    if np.array_equal(first, other):
        raise CheckFailed(f"{ignored}; {advice}")


def as_float_array(got: Any, quantity: str) -> np.ndarray:
    """The learner's result as float64, or CheckFailed naming what it returned instead."""
    return to_numbers(got, f"an array with one {quantity} per example")


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
        raise CheckFailed(f"your {quantity} is {arr[idx]} {describe(idx)}: expected {_num(ref[idx])} ({nonfinite_hint})")
    for hint, wrong in mistakes.items():
        if wrong.shape == ref.shape and np.allclose(arr, wrong, rtol=_RTOL, atol=_ATOL):
            idx = worst_case(arr, ref)
            raise CheckFailed(f"your {quantity} is {_num(arr[idx])} {describe(idx)}: expected {_num(ref[idx])} ({hint})")
    idx = worst_case(arr, ref)
    raise CheckFailed(f"your {quantity} is {_num(arr[idx])} {describe(idx)}: expected {_num(ref[idx])}{where_wrong(arr, ref)}")


def where_wrong(arr: np.ndarray, ref: np.ndarray) -> str:
    """' (n of m entries differ)' for an array answer, so a learner sees whether the slip is local or global."""
    if ref.size <= 1:
        return ""
    bad = int(np.sum(~np.isclose(arr, ref, rtol=_RTOL, atol=_ATOL)))
    return f" ({bad} of {ref.size} entries differ)"


def _num(value: float) -> str:
    """A number for a verdict: 4 decimals, or 4 significant digits when it is huge."""
    return f"{value:.4f}" if abs(value) < 1e6 else f"{value:.4g}"


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
