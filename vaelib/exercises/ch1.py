"""Auto-checks for chapter 1, autoencoders (framework-free).

Each checker runs the learner's function on fixed cases, compares with a NumPy reference,
prints one line (``✓ ...`` or ``✗ ...`` saying what is wrong, with a hint for the usual
slips) and returns True or False. None of them raises on a wrong answer. The learner may
compute with NumPy, PyTorch or TensorFlow: results are converted to NumPy first.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from vaelib.exercises._report import CheckFailed, GlobalRandomState, check_seeded, run_check
# The learner-calling helpers are shared with chapter 2 (warnings silenced, tensors to NumPy).
from vaelib.exercises._report import as_float_array as _as_array, call_quietly as _call

__all__ = ["check_pca_projection", "check_reconstruction_loss", "check_add_noise"]

_RTOL, _ATOL = 1e-4, 1e-6


def _match(arr: np.ndarray, ref: np.ndarray, *, rtol: float = _RTOL, atol: float = _ATOL) -> bool:
    return arr.shape == ref.shape and bool(np.allclose(arr, ref, rtol=rtol, atol=atol))


def _diagnose(arr: np.ndarray, ref: np.ndarray, what: str, mistakes: dict[str, np.ndarray], **tol: float) -> None:
    """Raise CheckFailed naming the first typical mistake ``arr`` matches, else the worst entry."""
    for hint, wrong in mistakes.items():
        if _match(arr, wrong, **tol):
            raise CheckFailed(f"{what} ({hint})")
    idx = np.unravel_index(np.argmax(np.abs(arr - ref)), ref.shape) if ref.ndim else ()
    raise CheckFailed(f"{what}: at index {tuple(int(i) for i in idx)} you give {arr[idx]:.4f}, expected {ref[idx]:.4f}")


# ---------------------------------------------------------------------------------------
# exercise: project data on its top-k principal subspace
# ---------------------------------------------------------------------------------------
def _principal_axes(x: np.ndarray, centre: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(mean, V) with the rows of V the principal directions, by decreasing variance."""
    mean = x.mean(axis=0) if centre else np.zeros(x.shape[1])
    _, _, vt = np.linalg.svd(x - mean, full_matrices=False)
    return mean, vt


def _project(x: np.ndarray, rows: np.ndarray, mean: np.ndarray, add_back: bool = True) -> np.ndarray:
    proj = (x - mean) @ rows.T @ rows
    return proj + mean if add_back else proj


def _pca_data() -> np.ndarray:
    """60 points in 8-D with well-separated variances and a mean far from the origin."""
    rng = np.random.default_rng(11)
    scales = np.array([5.0, 3.0, 2.0, 1.2, 0.6, 0.3, 0.15, 0.05])
    basis, _ = np.linalg.qr(rng.normal(size=(8, 8)))
    return (rng.normal(size=(60, 8)) * scales) @ basis.T + rng.uniform(2.0, 4.0, size=8)


def check_pca_projection(fn: Callable[[np.ndarray, int], Any]) -> bool:
    """Check ``fn(x, k)``: the projection of each row of ``x`` on the top-k principal subspace.

    ``x`` is a float64 array (N, D). The expected result, shape (N, D), is
    ``mean + (x - mean) V_k V_kᵀ`` with ``mean`` the average row and ``V_k`` (D, k) the
    k directions of largest variance of the centred data. This is what a linear
    autoencoder with k hidden units reconstructs at its optimum.

    Returns
    -------
    bool
        Whether every case matched; a one-line verdict is printed either way.
    """

    def body() -> str:
        x = _pca_data()
        n, d = x.shape
        mean, vt = _principal_axes(x)
        _, vt_raw = _principal_axes(x, centre=False)
        for k in (1, 3, 5):
            ref = _project(x, vt[:k], mean)
            arr = _as_array(_call(fn, x.copy(), k), "projected points")
            what = f"for k={k} on {n} points in {d}-D"
            if arr.shape != ref.shape:
                raise CheckFailed(f"your result has shape {arr.shape} {what}: expected {ref.shape}, "
                                  "the projected points in the original coordinates (not their k coordinates)")
            if not np.all(np.isfinite(arr)):
                raise CheckFailed(f"your result contains NaN or inf {what}")
            if _match(arr, ref):
                continue
            mistakes = {
                "you did not centre the data: subtract the mean row before the SVD and add it back after":
                    _project(x, vt_raw[:k], np.zeros(d)),
                "the mean is missing from the result: add it back after projecting the centred data":
                    _project(x, vt[:k], mean, add_back=False),
                "you used the k directions of SMALLEST variance (np.linalg.eigh sorts eigenvalues in "
                "increasing order)": _project(x, vt[d - k:], mean),
            }
            for other in (k - 1, k + 1):
                if 0 <= other <= d:
                    mistakes[f"you kept {other} directions instead of k={k} (off by one?)"] = \
                        _project(x, vt[:other], mean)
            mistakes["you projected on the columns of the SVD's Vh instead of its rows (transpose it)"] = \
                _project(x, vt.T[:k], mean)
            mistakes["you added the mean back but did not subtract it before projecting: project x - mean"] = \
                x @ vt[:k].T @ vt[:k] + mean
            _diagnose(arr, ref, f"your projection is wrong {what}", mistakes, rtol=1e-6, atol=1e-6)
        return "k = 1, 3 and 5 on data with a non-zero mean"

    return run_check("pca_projection", body)


# ---------------------------------------------------------------------------------------
# exercise: the per-example binary cross-entropy
# ---------------------------------------------------------------------------------------
_EPS = 1e-7


def _bce(x: np.ndarray, p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1.0 - _EPS)
    return -np.sum(x * np.log(p) + (1.0 - x) * np.log1p(-p), axis=(1, 2))


def _bce_cases() -> list[tuple[str, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(5)
    x = rng.uniform(size=(4, 28, 28))
    p = rng.uniform(0.02, 0.98, size=(4, 28, 28))
    # Confident, correct predictions: p is exactly 0 where x is 0 and exactly 1 where x is 1.
    xb = (rng.uniform(size=(3, 28, 28)) < 0.3).astype(np.float64)
    pb = np.where(rng.uniform(size=xb.shape) < 0.5, xb, rng.uniform(0.1, 0.9, size=xb.shape))
    return [("for grey-level images", x, p), ("when x_hat holds exact 0s and 1s", xb, pb)]


def check_reconstruction_loss(fn: Callable[[np.ndarray, np.ndarray], Any]) -> bool:
    """Check ``fn(x, x_hat)``: the binary cross-entropy of each image, summed over its pixels.

    ``x`` (targets) and ``x_hat`` (predicted pixel probabilities) are float64 arrays
    (B, 28, 28) in [0, 1]; the result has shape (B,) and is
    ``-Σ_pixels [x log x_hat + (1 - x) log(1 - x_hat)]``, in nats. One case has ``x_hat``
    exactly 0 or 1 on some pixels, where an unclipped log gives ``0 * log 0 = NaN``.

    Returns
    -------
    bool
        Whether every case matched; a one-line verdict is printed either way.
    """

    def body() -> str:
        for what, x, p in _bce_cases():
            ref = _bce(x, p)
            arr = _as_array(_call(fn, x.copy(), p.copy()), "losses, one per image")
            if arr.shape != ref.shape:
                hint = ("you reduced over the batch too: sum over the pixels (axes 1 and 2) only"
                        if arr.size == 1 else "one loss per image: sum over the pixels (axes 1 and 2)")
                raise CheckFailed(f"your result has shape {arr.shape} {what}: expected {ref.shape} ({hint})")
            if not np.all(np.isfinite(arr)):
                raise CheckFailed(f"your loss is NaN or inf {what}: 0 * log(0) is NaN in floating point; "
                                  f"clip x_hat to [eps, 1 - eps] (e.g. eps = {_EPS:g}) before taking logs")
            # Clipping with another small eps shifts the exact-0/1 case by ~eps per pixel.
            if _match(arr, ref, rtol=1e-5, atol=1e-3):
                continue
            mistakes = {
                "the sign is flipped: the loss is MINUS the log-likelihood, so it is positive": -ref,
                "you averaged over the pixels: sum them instead, so the loss is in nats per image":
                    ref / (28 * 28),
                "you swapped the arguments: the first is the target x, the second the prediction x_hat":
                    _bce(p, x),
                "the (1 - x) log(1 - x_hat) term is missing":
                    -np.sum(x * np.log(np.clip(p, _EPS, 1.0)), axis=(1, 2)),
                "the x log x_hat term is missing":
                    -np.sum((1.0 - x) * np.log1p(-np.clip(p, 0.0, 1.0 - _EPS)), axis=(1, 2)),
                "that is the squared error: the exercise asks for the binary cross-entropy":
                    np.sum((x - p) ** 2, axis=(1, 2)),
                "you used log base 10: the loss is in nats, use the natural log np.log": ref / np.log(10.0),
            }
            _diagnose(arr, ref, f"your loss is wrong {what}", mistakes, rtol=1e-5, atol=1e-3)
        return "grey-level targets, and predictions of exactly 0 and 1"

    return run_check("reconstruction_loss", body)


# ---------------------------------------------------------------------------------------
# exercise: masking noise for a denoising autoencoder
# ---------------------------------------------------------------------------------------
_MASK_TOL = 0.02  # on a fraction of ~50,000 pixels (or pixel pairs), whose standard deviation is below 0.0023


def _noised(fn: Callable[..., Any], x: np.ndarray, p: float, seed: int, what: str) -> np.ndarray:
    """Call ``fn(x, p, seed)`` and check what any masking noise must satisfy, whatever its randomness."""
    original = x.copy()
    arr = _as_array(_call(fn, x, p, seed), "images")
    if not np.array_equal(x, original):
        raise CheckFailed(f"your function changed its input x in place {what}: work on a copy (np.where returns one)")
    if arr.shape != x.shape:
        raise CheckFailed(f"your result has shape {arr.shape} {what}: expected {x.shape}, the shape of x "
                          "(one mask value per pixel of every image)")
    nonzero = arr != 0.0
    if 0.0 < p < 1.0 and nonzero.any() and not np.allclose(arr[nonzero], x[nonzero], atol=1e-6) \
            and np.allclose(arr[nonzero], x[nonzero] / (1.0 - p), rtol=1e-5):
        raise CheckFailed(f"you divided the kept pixels by 1 - p {what}, as inverted dropout (nn.Dropout) does: "
                          "masking noise leaves them unchanged")
    kept = np.isclose(arr, x, rtol=0, atol=1e-6)
    if not kept.any() and (arr == 1.0).any() and np.all((arr == 0.0) | (arr == 1.0)):
        raise CheckFailed(f"you returned the mask itself {what} (only 0s and 1s): return the images, "
                          "x where the mask keeps a pixel and 0 elsewhere")
    if p > 0.0 and np.all(kept | (arr == 1.0)) and np.any(arr[~kept] == 1.0):
        raise CheckFailed(f"you set the dropped pixels to 1 {what} (salt noise): masking noise sets them to 0")
    if not np.all(np.isfinite(arr)) or arr.min() < 0.0 or arr.max() > 1.0:
        raise CheckFailed(f"your result has values outside [0, 1] {what} (min {np.nanmin(arr):.3f}, "
                          f"max {np.nanmax(arr):.3f}): masking noise sets pixels to 0, it adds nothing")
    if not np.all(kept | (arr == 0.0)):
        raise CheckFailed(f"some pixels are neither kept nor set to 0 {what}: masking noise leaves the "
                          "pixels it does not drop exactly as they were")
    return arr


def _check_independence(dropped: np.ndarray, what: str) -> None:
    """Each pixel of each image is dropped on its own: no mask shared by images, rows, columns."""
    p = float(dropped.mean())  # the rate is checked after, so that a structured mask is named as such
    per_image = dropped.mean(axis=(1, 2))
    if np.all((per_image == 0.0) | (per_image == 1.0)):
        raise CheckFailed(f"you dropped whole images {what}: draw one random number per pixel, "
                          "rng.uniform(size=x.shape)")
    # For independent pixels, a pair of pixels is dropped together with probability p**2; pixels
    # that share one random number (the same pixel of two images, neighbours in a row or column
    # drawn once) are dropped together with probability p.
    pairs = {
        "every image gets the same mask: draw one random number per pixel of every image, "
        "rng.uniform(size=x.shape), not size=(28, 28)": (dropped[1:], dropped[:-1]),
        "you dropped whole rows of pixels: draw one random number per pixel, rng.uniform(size=x.shape)":
            (dropped[:, :, 1:], dropped[:, :, :-1]),
        "you dropped whole columns of pixels: draw one random number per pixel, rng.uniform(size=x.shape)":
            (dropped[:, 1:], dropped[:, :-1]),
    }
    for hint, (a, b) in pairs.items():
        both = float(np.mean(a & b))
        if both > p**2 + _MASK_TOL:
            raise CheckFailed(f"{hint} ({what}: {both:.3f} of these pixel pairs are dropped together, "
                              f"independent pixels give {p**2:.3f})")


def check_add_noise(fn: Callable[[np.ndarray, float, int], Any]) -> bool:
    """Check ``fn(x, p, seed)``: masking noise that sets each pixel to 0 with probability p.

    ``x`` is a float array (B, 28, 28) in [0, 1]. The result must have the same shape, keep
    every pixel either unchanged or 0, zero a fraction close to ``p`` of the pixels, drop each
    pixel of each image independently (no mask shared by the images), stay in [0, 1], leave
    ``x`` itself untouched, give the same result for the same seed and another one for
    another seed, and leave NumPy's global generator (``np.random``) alone.

    Returns
    -------
    bool
        Whether every check passed; a one-line verdict is printed either way.
    """

    def body() -> str:
        rng = np.random.default_rng(7)
        x = rng.uniform(0.05, 1.0, size=(64, 28, 28)).astype(np.float32)  # no pixel is 0 already
        touched = False
        for p in (0.0, 0.25, 0.7, 1.0):
            what = f"for p={p}"
            with GlobalRandomState() as watch:
                arr = _noised(fn, x, p, 3, what)
            touched |= watch.touched
            dropped = arr == 0.0
            if 0.0 < p < 1.0:
                _check_independence(dropped, what)
            frac = float(np.mean(dropped))
            if abs(frac - p) > _MASK_TOL:
                hint = (" (you dropped pixels with probability 1 - p: p is the probability to DROP a pixel)"
                        if abs(frac - (1.0 - p)) <= _MASK_TOL else "")
                raise CheckFailed(f"you set a fraction {frac:.3f} of the pixels to 0 {what}: expected about {p}{hint}")
        check_seeded(lambda seed: _noised(fn, x, 0.5, seed, "for p=0.5"), (9, 10), touched=touched,
                     same="two calls with the same seed gave different masks",
                     own="you drew from a generator that does not get the seed",
                     ignored="seeds 9 and 10 gave the same mask: your function ignores its seed",
                     advice="draw from rng = np.random.default_rng(seed)")
        return "p = 0, 0.25, 0.7 and 1; pixels and images independent; input untouched; reproducible"

    return run_check("add_noise", body)
