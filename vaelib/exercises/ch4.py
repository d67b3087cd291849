"""Auto-checks for chapter 4, image VAEs (framework-free).

Three checkers, one per auto-checked exercise of the chapter:

* :func:`check_elbo` - the per-example ELBO of a Bernoulli-pixel VAE from the decoder's
  logits and the encoder's ``(mu, logvar)``;
* :func:`check_iwae_bound` - the importance-weighted bound from the three log-densities of
  k posterior samples;
* :func:`check_interpolation` - a straight path between two latent codes.

Like every checker of the course, each prints one line (``✓ ...`` or ``✗ ...`` saying what
is wrong, with numbers and a hint for the usual slips), returns True or False, and never
raises on a wrong answer. Results may be NumPy arrays or tensors of either framework.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from vaelib.exercises._report import CheckFailed, run_check

# The comparison machinery (shape, finiteness, known mistakes, numbers) is chapter 2's.
from vaelib.exercises._report import as_float_array as _as_float_array
from vaelib.exercises._report import call_quietly as _call_quietly
from vaelib.exercises._report import compare as _compare
from vaelib.exercises._report import fmt as _fmt

__all__ = ["check_elbo", "check_iwae_bound", "check_interpolation"]

_RTOL, _ATOL = 1e-4, 1e-6


# ---------------------------------------------------------------------------------------
# references (float64, stable)
# ---------------------------------------------------------------------------------------
def _bernoulli_log_lik(x: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """sum over pixels of x log σ(l) + (1 - x) log(1 - σ(l)) = x l - softplus(l)."""
    per_pixel = x * logits - np.logaddexp(0.0, logits)
    return per_pixel.reshape(len(x), -1).sum(axis=1)


def _kl(mu: np.ndarray, logvar: np.ndarray) -> np.ndarray:
    return 0.5 * np.sum(mu**2 + np.exp(logvar) - 1.0 - logvar, axis=-1)


def _log_mean_exp(a: np.ndarray, axis: int = 0) -> np.ndarray:
    peak = np.max(a, axis=axis, keepdims=True)
    return np.squeeze(peak, axis) + np.log(np.mean(np.exp(a - peak), axis=axis))


# ---------------------------------------------------------------------------------------
# exercise: the ELBO of a Bernoulli-pixel VAE
# ---------------------------------------------------------------------------------------
def _elbo_cases() -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(40)
    cases = []
    for b, d, scale in [(3, 5, 2.0), (4, 20, 3.0)]:
        x = (rng.random((b, 28, 28)) < 0.3).astype(np.float64)
        logits = scale * rng.normal(size=(b, 28, 28))
        cases.append((x, logits, rng.normal(size=(b, d)), rng.uniform(-3.0, 0.5, size=(b, d))))
    # A confident decoder: logits of ±40, where sigmoid rounds to exactly 0 or 1 in float64.
    x = (rng.random((2, 28, 28)) < 0.5).astype(np.float64)
    logits = np.where(rng.random((2, 28, 28)) < 0.9, 40.0 * (2 * x - 1), -40.0 * (2 * x - 1))
    cases.append((x, logits, rng.normal(size=(2, 3)), rng.uniform(-2.0, 0.0, size=(2, 3))))
    return cases


def check_elbo(fn: Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], Any]) -> bool:
    """Check ``fn(x, logits, mu, logvar)`` = the per-example ELBO in nats.

    ``x`` (B, 28, 28) holds binary pixels, ``logits`` (B, 28, 28) the decoder's output for
    one posterior sample z, ``mu`` and ``logvar`` (B, D) the encoder's Gaussian. The
    answer, shape (B,), is ``log p(x | z) - KL(q(z | x) || N(0, I))``: Bernoulli
    log-likelihood summed over the pixels, minus the closed-form KL summed over the latent
    dimensions. One case has logits of ±40, where ``log(sigmoid(l))`` is not finite.

    Returns
    -------
    bool
        Whether every case matched; a one-line verdict is printed either way.
    """

    def body() -> str:
        for x, logits, mu, logvar in _elbo_cases():
            log_lik, kl = _bernoulli_log_lik(x, logits), _kl(mu, logvar)
            ref = log_lik - kl
            got = _call_quietly(fn, x.copy(), logits.copy(), mu.copy(), logvar.copy())

            def describe(idx: tuple, b=len(x), d=mu.shape[1]) -> str:
                return f"for example {idx[0]} of a batch of {b} (latent dim {d})"

            mistakes = {
                "you averaged the log-likelihood over the 784 pixels: sum it, every pixel is a random variable":
                    log_lik / 784.0 - kl,
                "the KL term is missing: the ELBO is log p(x|z) minus KL(q(z|x) || p(z))": log_lik,
                "the KL is added: the ELBO subtracts it": log_lik + kl,
                "that is the loss, minus the ELBO: return the ELBO itself": -ref,
                "you averaged the KL over the latent dimensions: sum it": log_lik - kl / mu.shape[1],
                "the binary cross-entropy is the NEGATIVE log-likelihood: flip its sign": -log_lik - kl,
                "the KL is twice too large: the closed form has a factor 1/2 in front of the sum": log_lik - 2.0 * kl,
                "you averaged the log-likelihood over the batch: one ELBO per example, each with its own "
                "log-likelihood": log_lik.mean() - kl,
            }
            _compare(got, ref, quantity="ELBO", describe=describe, mistakes=mistakes,
                     shape_hint="one ELBO per example: sum over pixels and latent dimensions, not over the batch",
                     nonfinite_hint="log(sigmoid(l)) is -inf once sigmoid rounds to 0 or 1: compute the "
                                    "log-likelihood from the logits, x*l - log(1 + exp(l)), with a stable softplus")
        return "3 batches, including logits of ±40"

    return run_check("elbo", body)


# ---------------------------------------------------------------------------------------
# exercise: the importance-weighted bound from the log-densities of k samples
# ---------------------------------------------------------------------------------------
def _iwae_cases() -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(41)
    cases = [(np.array([[-2.0], [-1.0]]), np.array([[-1.0], [-1.5]]), np.array([[-0.5], [-0.8]]))]
    # Log-likelihoods of images are hundreds of nats: exp() of them underflows to 0.
    for k, b, center in [(50, 4, -5.0), (200, 3, -800.0)]:
        cases.append((rng.normal(center, 5.0, size=(k, b)), rng.normal(-20.0, 2.0, size=(k, b)),
                      rng.normal(-15.0, 2.0, size=(k, b))))
    return cases


def check_iwae_bound(fn: Callable[[np.ndarray, np.ndarray, np.ndarray], Any]) -> bool:
    """Check ``fn(log_lik, log_prior, log_q)`` = the importance-weighted bound per example.

    Each argument has shape (k, B): for k samples z_1..z_k ~ q(z | x) of each of B
    examples, ``log p(x | z_i)``, ``log p(z_i)`` and ``log q(z_i | x)``. The bound is
    ``log (1/k) sum_i exp(log_lik + log_prior - log_q)``, shape (B,). One case has
    log-likelihoods near -800, where ``exp`` underflows to 0.
    """

    def body() -> str:
        for log_lik, log_prior, log_q in _iwae_cases():
            log_w = log_lik + log_prior - log_q
            k = log_w.shape[0]
            ref = _log_mean_exp(log_w, axis=0)
            got = _call_quietly(fn, log_lik.copy(), log_prior.copy(), log_q.copy())

            def describe(idx: tuple, k=k) -> str:
                return f"for example {idx[0]} with k={k} samples"

            mistakes = {
                "that is the average of the log-weights, the ELBO estimate: the bound takes the log of the "
                "average weight": np.mean(log_w, axis=0),
                f"that is log sum_i w_i: the bound averages the k={k} weights, subtract log k": ref + np.log(k),
                "log q(z|x) must be subtracted: the weight is p(x, z) / q(z | x)":
                    _log_mean_exp(log_lik + log_prior + log_q, axis=0),
                "the prior log p(z) is missing from the weight p(x|z) p(z) / q(z|x)":
                    _log_mean_exp(log_lik - log_q, axis=0),
                "that is the largest log-weight alone: every sample contributes": np.max(log_w, axis=0),
                "you subtracted the largest log-weight but did not add it back after the log":
                    ref - np.max(log_w, axis=0),
                "that is the sum of the log-weights: the bound is the log of the average weight":
                    np.sum(log_w, axis=0),
            }
            _compare(got, ref, quantity="bound", describe=describe, mistakes=mistakes,
                     shape_hint="the k samples are on axis 0: reduce over axis 0 only, one bound per example",
                     nonfinite_hint="exp(-800) underflows to 0 in float64: subtract the largest log-weight "
                                    "before exponentiating and add it back after (log-sum-exp)")
        return "3 cases, including log-weights near -800"

    return run_check("iwae_bound", body)


# ---------------------------------------------------------------------------------------
# exercise: a straight path between two latent codes
# ---------------------------------------------------------------------------------------
def _interpolation_cases() -> list[tuple[np.ndarray, np.ndarray, int]]:
    rng = np.random.default_rng(42)
    return [
        (np.array([0.0, 0.0]), np.array([1.0, -2.0]), 5),
        (rng.normal(size=20), rng.normal(size=20), 8),
        (rng.normal(size=3), rng.normal(size=3), 2),
    ]


def _slerp(z0: np.ndarray, z1: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Spherical interpolation, what a learner who read about it may return instead."""
    cos = np.dot(z0, z1) / max(np.linalg.norm(z0) * np.linalg.norm(z1), 1e-12)
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    if omega < 1e-8:
        return z0 + t * (z1 - z0)
    return (np.sin((1 - t) * omega) * z0 + np.sin(t * omega) * z1) / np.sin(omega)


def check_interpolation(fn: Callable[[np.ndarray, np.ndarray, int], Any]) -> bool:
    """Check ``fn(z0, z1, n)`` = n evenly spaced points from z0 to z1, both included.

    ``z0`` and ``z1`` have shape (D,); the answer has shape (n, D): row i is
    ``z0 + t_i (z1 - z0)`` with ``t_i = i / (n - 1)``, so row 0 is z0 and row n-1 is z1.
    """

    def body() -> str:
        for z0, z1, n in _interpolation_cases():
            t = np.linspace(0.0, 1.0, n)[:, None]
            ref = z0 + t * (z1 - z0)
            got = _call_quietly(fn, z0.copy(), z1.copy(), n)
            arr = _as_float_array(got, "latent codes")
            if arr.shape == ref.shape[::-1] and arr.shape != ref.shape:
                raise CheckFailed(f"your result has shape {arr.shape} for n={n}, D={len(z0)}: expected "
                                  f"{ref.shape}, one row per point (transpose it)")

            def describe(idx: tuple, z0=z0, z1=z1, n=n) -> str:
                return f"at point {idx[0]} of {n}, coordinate {idx[1]} (z0={_fmt(z0)}, z1={_fmt(z1)})"

            steps = np.arange(n)[:, None]
            mistakes = {
                "the path runs from z1 to z0: start at z0": ref[::-1],
                "the last point should be z1 itself: use t = i/(n-1) (np.linspace includes the end), not i/n":
                    z0 + steps / n * (z1 - z0),
                "the first point should be z0 itself: start at t = 0": z0 + (steps + 1) / n * (z1 - z0),
                "the point at t is z0 + t (z1 - z0): you added t z1 without subtracting t z0": z0 + t * z1,
                "the start z0 is missing: the point at t is z0 + t (z1 - z0)": t * (z1 - z0),
                "that is spherical interpolation (slerp): this exercise asks for the straight line":
                    _slerp(z0, z1, t),
            }
            _compare(got, ref, quantity="point", describe=describe, mistakes=mistakes,
                     shape_hint=f"n={n} points (rows) of dimension D={len(z0)} (columns)",
                     nonfinite_hint="the formula z0 + t (z1 - z0) needs no division by a norm")
        return "3 cases, D up to 20"

    return run_check("interpolation", body)
