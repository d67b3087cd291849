"""Auto-checks for chapter 6, beyond the vanilla VAE (framework-free).

Each checker gives the learner's function NumPy arrays, compares the answer with a NumPy
reference on fixed cases, prints one line (``✓ ...``, or ``✗ ...`` with the numbers and, for
the usual slips, a hint naming the slip) and returns True or False. A wrong answer never
raises. Answers computed with PyTorch or TensorFlow are accepted too.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable, Sequence

import numpy as np

from vaelib.exercises._report import CheckFailed, _to_numpy, call_learner, expect_close, run_check, to_numbers

__all__ = ["check_beta_objective", "check_iwae_weights", "check_active_units", "check_one_hot"]

# A typical mistake: (what a wrong formula returns on the case, the hint that names it).
Mistake = tuple[Any, str]


def _call(fn: Callable[..., Any], *args: Any) -> Any:
    """Call the learner with NumPy's overflow warnings silenced: the verdict reports NaN/inf itself."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        return call_learner(fn, *args)


def _matches(got: Any, wrong: Any) -> bool:
    try:
        arr = to_numbers(got, "numbers")
    except CheckFailed:
        return False
    wrong = np.asarray(wrong, dtype=np.float64)
    return arr.shape == wrong.shape and bool(np.allclose(arr, wrong, rtol=1e-5, atol=1e-8, equal_nan=False))


def _expect(got: Any, expected: Any, what: str, mistakes: Sequence[Mistake], *, rtol: float = 1e-5) -> None:
    """:func:`expect_close`, plus the hint of the first known mistake the answer reproduces."""
    try:
        expect_close(got, expected, what, rtol=rtol, atol=1e-8)
    except CheckFailed as failure:
        for wrong, hint in mistakes:
            if _matches(got, wrong):
                raise CheckFailed(f"{failure}. Hint: {hint}") from None
        raise


# ----------------------------------------------------------------------------------------
# The beta-VAE loss
# ----------------------------------------------------------------------------------------

def check_beta_objective(fn: Callable[[np.ndarray, np.ndarray, float], Any]) -> bool:
    """Check ``fn(log_likelihood, kl, beta) -> loss``, the batch-mean beta-VAE loss to minimise.

    The reference is ``mean(-log_likelihood + beta * kl)``: distortion plus beta times rate,
    averaged over the batch.

    Parameters
    ----------
    fn : callable
        Receives two float64 arrays of shape (B,) (per-example log p(x|z) and KL, in nats)
        and a float beta; returns a number.

    Returns
    -------
    bool
        True when all cases match to relative 1e-5; a one-line verdict is printed.
    """
    def body() -> str:
        rng = np.random.default_rng(6)
        for beta in (0.5, 4.0, 1.0):
            log_lik = -rng.uniform(150.0, 400.0, 5)
            kl = rng.uniform(5.0, 40.0, 5)
            what = f"for beta={beta}, log_likelihood={np.round(log_lik[:2], 1)}..., kl={np.round(kl[:2], 1)}..."
            got = _call(fn, log_lik.copy(), kl.copy(), beta)
            mistakes: list[Mistake] = [
                (np.mean(-(beta * log_lik) + kl), "beta weighs the KL (the rate), not the log-likelihood"),
                (np.mean(log_lik - beta * kl), "that is the beta-ELBO itself; the loss to minimise is its negative"),
                (np.mean(-log_lik - beta * kl), "the KL is a cost: it enters the loss as +beta * kl"),
                (np.sum(-log_lik + beta * kl), "average over the batch instead of summing"),
                (np.mean(-log_lik + kl / beta), "multiply the KL by beta; do not divide"),
                (np.mean(-log_lik + kl), "beta is missing: the KL term is beta * kl"),
                (-log_lik + beta * kl, "return one number, the mean over the batch"),
            ]
            _expect(got, np.mean(-log_lik + beta * kl), what, mistakes)
        return "3 batches with beta = 0.5, 4, 1"

    return run_check("beta_objective", body)


# ----------------------------------------------------------------------------------------
# Normalized importance weights of the IWAE gradient
# ----------------------------------------------------------------------------------------

def _softmax0(log_w: np.ndarray) -> np.ndarray:
    shifted = np.exp(log_w - log_w.max(axis=0, keepdims=True))
    return shifted / shifted.sum(axis=0, keepdims=True)


def check_iwae_weights(fn: Callable[[np.ndarray], Any]) -> bool:
    """Check ``fn(log_w) -> w_tilde``, the normalized importance weights of k samples.

    ``log_w`` has shape (k, B): log p(x_b, z_jb) - log q(z_jb | x_b) for sample j of example b.
    The reference is ``w_tilde[j, b] = w[j, b] / sum_i w[i, b]``, computed from log-weights
    without overflow (log-weights of images are hundreds of nats below zero).

    Parameters
    ----------
    fn : callable
        Receives a float64 array (k, B); returns an array (k, B).

    Returns
    -------
    bool
        True when all cases match; a one-line verdict is printed.
    """
    def body() -> str:
        rng = np.random.default_rng(8)
        cases = [("moderate", rng.normal(-2.0, 1.5, (5, 3))), ("image-sized", rng.normal(-750.0, 4.0, (6, 4)))]
        for label, log_w in cases:
            k, b = log_w.shape
            what = f"for {label} log-weights of shape ({k}, {b}) (k={k} samples, B={b} examples)"
            got = _call(fn, log_w.copy())
            try:
                arr = to_numbers(got, "numbers")
            except CheckFailed:
                arr = None  # expect_close below names the odd value
            if arr is not None and arr.shape == (b, k) and b != k:
                raise CheckFailed(f"your result has shape {arr.shape} {what}: expected {log_w.shape}, "
                                  "one weight per sample and example as in log_w (transpose it?)")
            if arr is not None and arr.shape == log_w.shape and not np.all(np.isfinite(arr)):
                raise CheckFailed(f"your weights contain NaN or inf {what}: exp(log_w) underflows to 0 "
                                  "(or overflows); subtract each example's largest log-weight before exponentiating")
            expected = _softmax0(log_w)
            w = np.exp(log_w)
            mistakes: list[Mistake] = [
                (np.exp(log_w - log_w.max(axis=1, keepdims=True))
                 / np.exp(log_w - log_w.max(axis=1, keepdims=True)).sum(axis=1, keepdims=True),
                 "normalize over the k samples of each example (axis 0), not over the examples"),
                (w, "the weights are not normalized: divide by their sum over the k samples"),
                (w / k, "divide by the sum of the weights over the samples, not by k"),
                (np.log(expected), "return the weights themselves, not their logarithm"),
                (np.exp(log_w - log_w.max(axis=0, keepdims=True)),
                 "after subtracting the maximum, still divide by the sum over the samples"),
                (np.exp(log_w - log_w.max()) / np.exp(log_w - log_w.max()).sum(),
                 "you normalized over the whole array: divide by the sum over the k samples of each example (axis 0)"),
                (_softmax0(-log_w), "the sign is flipped: the weights are exp(+log_w), normalized"),
                (log_w / log_w.sum(axis=0, keepdims=True),
                 "you normalized the log-weights themselves: exponentiate them (after subtracting the maximum) first"),
            ]
            _expect(got, expected, what, mistakes)
        return "2 cases, one with image-sized log-weights near -750 nats"

    return run_check("iwae_weights", body)


# ----------------------------------------------------------------------------------------
# Active units
# ----------------------------------------------------------------------------------------

def _active_unit_cases() -> list[tuple[np.ndarray, np.ndarray]]:
    """Posteriors whose typical wrong counts all differ from the right one."""
    rng = np.random.default_rng(12)
    n = 60
    cases = []
    for mean_vars, logvar_vars in [
        ([2.0, 0.5, 0.05, 0.02, 0.005, 0.001, 0.0, 1.0], [0, 0, 0, 0, 0.5, 0.5, 0, 0]),
        ([0.3, 0.0004, 0.015, 0.002, 3.0, 0.0, 0.00005], [0, 0, 0, 0.2, 0, 0.2, 0]),
    ]:
        d = len(mean_vars)
        noise = rng.standard_normal((n, d))
        noise = (noise - noise.mean(0)) / noise.std(0)  # exactly unit variance per column
        mu = 0.3 + noise * np.sqrt(mean_vars)
        lv_noise = rng.standard_normal((n, d))
        lv_noise = (lv_noise - lv_noise.mean(0)) / lv_noise.std(0)
        logvar = -1.0 + lv_noise * np.sqrt(logvar_vars)
        logvar[:, np.asarray(mean_vars) < 0.01] += 0.9  # collapsed units sit near the prior
        cases.append((mu, logvar))
    return cases


def check_active_units(fn: Callable[[np.ndarray, np.ndarray, float], Any]) -> bool:
    """Check ``fn(mu, logvar, threshold) -> int``, the number of active latent units.

    Unit d is active when the variance over the data of its posterior mean,
    ``Var_x mu_d(x)``, exceeds ``threshold`` (Burda et al., 2016).

    Parameters
    ----------
    fn : callable
        Receives posterior means and log-variances, float64 arrays (N, D), and the threshold.

    Returns
    -------
    bool
        True when every case gives the right count; a one-line verdict is printed.
    """
    def body() -> str:
        threshold = 0.01
        counts, expected, wrong = [], [], {}
        for mu, logvar in _active_unit_cases():
            n, d = mu.shape
            what = f"for {n} examples and {d} latent units (threshold {threshold})"
            arr = to_numbers(_call(fn, mu.copy(), logvar.copy(), threshold), f"a whole number {what}")
            if arr.shape == (d,):
                raise CheckFailed(f"your function returned an array of shape ({d},) {what}: "
                                  "return the number of active units, e.g. int(np.sum(mask))")
            if arr.shape != ():
                raise CheckFailed(f"your function returned an array of shape {arr.shape} {what}: expected one whole number")
            counts.append(float(arr))
            expected.append(int(np.sum(mu.var(axis=0) > threshold)))
            # What the typical slips count on this case; a slip is named only if it explains every case.
            for count, hint in [
                (np.sum(logvar.var(axis=0) > threshold),
                 "measure how the posterior mean mu varies over the data, not the log-variance"),
                (np.sum(mu.var(axis=1) > threshold),
                 "take the variance over the examples (axis 0), one value per latent unit, not across units"),
                (np.sum(mu.std(axis=0) > threshold),
                 "compare the variance of mu with the threshold, not its standard deviation"),
                (np.sum(np.exp(logvar).mean(axis=0) < 1 - threshold),
                 "activity is the spread of mu over the data, not how small the posterior variance is"),
                (d - expected[-1], "that is the number of inactive units: count those whose variance exceeds the threshold"),
                (np.sum(mu.mean(axis=0) ** 2 > threshold), "use the variance of mu over the data, not its squared mean"),
                (int(mu.var() > threshold), "mu.var() without an axis is one variance of all entries: "
                                            "take it per unit, mu.var(axis=0)"),
            ]:
                wrong.setdefault(hint, []).append(int(count))
        for case, (mu, _) in enumerate(_active_unit_cases()):
            if counts[case] != expected[case]:
                hint = next((f". Hint: {h}" for h, c in wrong.items() if c == counts), "")
                what = f"for {mu.shape[0]} examples and {mu.shape[1]} latent units (threshold {threshold})"
                raise CheckFailed(f"your count is {counts[case]:g} {what}: expected {expected[case]}{hint}")
        return "2 cases"

    return run_check("active_units", body)


# ----------------------------------------------------------------------------------------
# One-hot labels for the conditional VAE
# ----------------------------------------------------------------------------------------

def check_one_hot(fn: Callable[[np.ndarray, int], Any]) -> bool:
    """Check ``fn(labels, num_classes) -> one_hot``, the (n, num_classes) indicator matrix.

    Parameters
    ----------
    fn : callable
        Receives an int64 array of labels (n,) and the number of classes.

    Returns
    -------
    bool
        True when all cases match; a one-line verdict is printed.
    """
    def body() -> str:
        for labels, c in [(np.array([3, 0, 7, 7, 1]), 10), (np.array([2, 0, 1, 2]), 4)]:
            what = f"for labels={labels.tolist()}, num_classes={c}"
            got = _call(fn, labels.copy(), c)
            expected = np.eye(c)[labels]
            try:
                shape = np.asarray(_to_numpy(got)).shape
            except Exception:  # expect_close below names the odd value
                shape = None
            if shape == (c, len(labels)) and c != len(labels):
                raise CheckFailed(f"your result has shape {shape} {what}: expected {expected.shape}, "
                                  "one row per label (transpose it)")
            if shape == (len(labels), int(labels.max()) + 1) and int(labels.max()) + 1 != c:
                raise CheckFailed(f"your result has shape {shape} {what}: expected {expected.shape}; "
                                  "use num_classes columns, not labels.max() + 1 (a batch may miss some classes)")
            if shape == (c,):
                raise CheckFailed(f"your result has shape {shape} {what}: expected {expected.shape}; that looks like "
                                  "class counts, return one row per label")
            if shape == (len(labels),):
                raise CheckFailed(f"your result has shape {shape} {what}: expected {expected.shape}; turn each label "
                                  "into a row with a 1 in its column")
            if shape == (len(labels), len(labels)) and len(labels) != c:
                raise CheckFailed(f"your result has shape {shape} {what}: expected {expected.shape}; "
                                  "use num_classes columns, not the number of labels")
            mistakes: list[Mistake] = [
                (np.eye(c)[(labels - 1) % c], "the column of label y is y itself (labels start at 0), not y - 1"),
                (np.eye(c)[(labels + 1) % c], "the column of label y is y itself, not y + 1"),
                (1 - np.eye(c)[labels], "the row of label y is 1 in column y and 0 elsewhere, not the reverse"),
            ]
            _expect(got, expected, what, mistakes)
        return "2 cases"

    return run_check("one_hot", body)
