"""Auto-checks for chapter 2, latent-variable models and the ELBO (framework-free).

Each checker runs the learner's function on a few fixed cases, compares with a NumPy
reference in float64, prints one line (``✓ ...`` or ``✗ ...`` saying what is wrong, with
numbers and, for the usual slips, a hint) and returns True or False. None of them raises
on a wrong answer. The learner may compute with NumPy, PyTorch or TensorFlow: results are
converted to NumPy before comparison.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from vaelib.exercises._report import CheckFailed, as_float_array, call_quietly, compare, fmt, run_check

__all__ = ["check_gaussian_kl", "check_importance_estimate", "check_ppca_log_likelihood"]

_RTOL, _ATOL = 1e-4, 1e-6
_LOG_2PI = float(np.log(2.0 * np.pi))


# ---------------------------------------------------------------------------------------
# references
# ---------------------------------------------------------------------------------------
def _gaussian_kl(mu: np.ndarray, logvar: np.ndarray) -> np.ndarray:
    """KL(N(mu, diag exp(logvar)) || N(0, I)) summed over the last axis."""
    return 0.5 * np.sum(mu**2 + np.exp(logvar) - 1.0 - logvar, axis=-1)


def _log_mean_exp(log_w: np.ndarray) -> np.ndarray:
    """log(mean(exp(log_w))) over the last axis, computed stably."""
    m = np.max(log_w, axis=-1, keepdims=True)
    return np.squeeze(m, -1) + np.log(np.mean(np.exp(log_w - m), axis=-1))


def _gaussian_log_density(x: np.ndarray, mu: np.ndarray, cov: np.ndarray, *, half_logdet: float = 0.5,
                          half_quad: float = 0.5, const: bool = True, inverse: bool = True) -> np.ndarray:
    """log N(x; mu, cov) per row; the keyword switches rebuild the usual mistakes."""
    diff = x - mu
    sol = np.linalg.solve(cov, diff.T).T if inverse else diff @ cov
    quad = np.sum(diff * sol, axis=-1)
    logdet = np.linalg.slogdet(cov)[1]
    out = -half_logdet * logdet - half_quad * quad
    return out - 0.5 * x.shape[-1] * _LOG_2PI if const else out


# ---------------------------------------------------------------------------------------
# shared comparison: shape, finiteness, known mistakes, then the numbers
# ---------------------------------------------------------------------------------------
def _kl_cases() -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(2)
    return [
        (np.array([[0.3]]), np.array([[-1.2]])),
        (np.zeros((1, 3)), np.zeros((1, 3))),
        (rng.normal(size=(5, 4)), rng.uniform(-2.0, 1.0, size=(5, 4))),
        (rng.normal(size=(2, 3, 4)), rng.uniform(-2.0, 1.0, size=(2, 3, 4))),
    ]


def check_gaussian_kl(fn: Callable[[np.ndarray, np.ndarray], Any]) -> bool:
    """Check ``fn(mu, logvar)`` = KL(N(mu, diag exp(logvar)) || N(0, I)) per example.

    ``mu`` and ``logvar`` are float64 arrays of shape (..., D); the KL is summed over the
    last axis, so the result has shape (...,).

    Returns
    -------
    bool
        Whether every case matched; a one-line verdict is printed either way.
    """

    def body() -> str:
        for mu, logvar in _kl_cases():
            ref = _gaussian_kl(mu, logvar)
            d = mu.shape[-1]
            got = call_quietly(fn, mu.copy(), logvar.copy())

            def describe(idx: tuple, mu=mu, logvar=logvar) -> str:
                return f"for mu={fmt(mu[idx])}, logvar={fmt(logvar[idx])}"

            mistakes = {
                "twice the expected value: the formula has a factor 1/2 in front of the sum": 2 * ref,
                "you treated logvar as log σ; it is log σ², so σ² = exp(logvar)":
                    0.5 * np.sum(mu**2 + np.exp(2 * logvar) - 1.0 - 2 * logvar, axis=-1),
                "you used σ = exp(logvar/2) where the formula needs the variance σ² = exp(logvar)":
                    0.5 * np.sum(mu**2 + np.exp(0.5 * logvar) - 1.0 - logvar, axis=-1),
                "you averaged over the latent dimensions: sum over them instead": ref / d,
                "the '-1' inside the sum is missing (the KL must be 0 at mu=0, logvar=0)": ref + 0.5 * d,
                "the mu² term is missing": ref - 0.5 * np.sum(mu**2, axis=-1),
                "the logvar term has the wrong sign: the sum is μ² + σ² - 1 - log σ²":
                    0.5 * np.sum(mu**2 + np.exp(logvar) - 1.0 + logvar, axis=-1),
                "that is KL(p || q), the reverse direction: the VAE's term is KL(q(z|x) || p(z))":
                    0.5 * np.sum((1.0 + mu**2) * np.exp(-logvar) - 1.0 + logvar, axis=-1),
            }
            arr = as_float_array(got, "KL")
            named = any(arr.shape == w.shape and np.allclose(arr, w, rtol=_RTOL, atol=_ATOL) for w in mistakes.values())
            if arr.shape == ref.shape and not np.allclose(arr, ref, rtol=_RTOL, atol=_ATOL) and np.any(arr < -1e-9) \
                    and not named:
                idx = tuple(np.argwhere(arr < -1e-9)[0])
                why = ("the sign is flipped" if np.allclose(arr, -ref, rtol=_RTOL, atol=_ATOL)
                       else "a KL divergence is never negative: check the sign of each term")
                raise CheckFailed(f"your KL is negative {describe(idx)}: expected {ref[idx]:.4f} ({why})")
            compare(got, ref, quantity="KL", describe=describe, mistakes=mistakes,
                     shape_hint="one KL per example: sum over the last axis (axis=-1) only",
                     nonfinite_hint="exp(logvar) is the variance; no log of a negative number is needed")
        return "4 cases, including a batch of shape (2, 3, 4)"

    return run_check("gaussian_kl", body)


# ---------------------------------------------------------------------------------------
# exercise: the importance-sampling estimate of log p(x), i.e. a stable log-mean-exp
# ---------------------------------------------------------------------------------------
def _log_weight_cases() -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    return [
        np.array([[0.0, np.log(3.0)]]),
        3.0 * rng.normal(size=(4, 10)),
        np.array([[1000.0, 1001.0, 999.0], [-1000.0, -1001.0, -1002.0]]),
        rng.normal(-50.0, 5.0, size=(2, 3, 50)),
    ]


def check_importance_estimate(fn: Callable[[np.ndarray], Any]) -> bool:
    """Check ``fn(log_w)`` = log((1/K) Σ_k exp(log_w[..., k])), computed without overflow.

    ``log_w`` has shape (..., K): K log importance weights log p(x, z_k) - log q(z_k) per
    example. The result has shape (...,). One case has log-weights near ±1000, where a
    naive ``np.log(np.mean(np.exp(log_w)))`` overflows or underflows.
    """

    def body() -> str:
        for log_w in _log_weight_cases():
            ref = _log_mean_exp(log_w)
            k = log_w.shape[-1]
            got = call_quietly(fn, log_w.copy())

            def describe(idx: tuple, log_w=log_w) -> str:
                return f"for log-weights {fmt(log_w[idx])}"

            mistakes = {
                f"that is log Σ_k w_k: the estimator averages the K={k} weights, subtract log K":
                    ref + np.log(k),
                "that is the mean of the log-weights, an ELBO estimate that Jensen's inequality puts below "
                "the target: take the log of the mean of the weights": np.mean(log_w, axis=-1),
                "that is the largest log-weight alone: the other weights must be added to it":
                    np.max(log_w, axis=-1),
                "you subtracted the largest log-weight but did not add it back after the log":
                    ref - np.max(log_w, axis=-1),
                f"you subtracted K={k} itself: the average divides by K, so subtract log K": ref + np.log(k) - k,
                "you used log base 10: log p(x) is in nats, use the natural log np.log": ref / np.log(10.0),
            }
            compare(got, ref, quantity="estimate", describe=describe, mistakes=mistakes,
                     shape_hint="one estimate per example: reduce over the last axis (the K samples) only",
                     nonfinite_hint="exp overflows above ~709 and underflows below ~-745 in float64: "
                                    "subtract each example's largest log-weight (axis=-1, keepdims=True) before "
                                    "exponentiating, add it back after")
        return "4 cases, including log-weights near ±1000"

    return run_check("importance_estimate", body)


# ---------------------------------------------------------------------------------------
# exercise: the exact log-likelihood of probabilistic PCA
# ---------------------------------------------------------------------------------------
def _ppca_cases() -> list[tuple[np.ndarray, np.ndarray, np.ndarray, float]]:
    rng = np.random.default_rng(4)
    cases = [(np.array([[1.0, -0.5]]), np.array([[1.0], [0.5]]), np.zeros(2), 0.1)]
    for n, d, m, s2 in [(6, 5, 2, 0.3), (4, 8, 3, 1.7)]:
        w = rng.normal(size=(d, m))
        mu = rng.normal(size=d)
        x = (rng.normal(size=(n, m)) @ w.T) + mu + np.sqrt(s2) * rng.normal(size=(n, d))
        cases.append((x, w, mu, s2))
    return cases


def check_ppca_log_likelihood(fn: Callable[[np.ndarray, np.ndarray, np.ndarray, float], Any]) -> bool:
    """Check ``fn(x, W, mu, sigma2)`` = log N(x_n; mu, W Wᵀ + sigma2 I) for each row x_n.

    ``x`` has shape (N, D), ``W`` (D, M), ``mu`` (D,) and ``sigma2`` is the noise
    variance σ² (a float). The result has shape (N,).
    """

    def body() -> str:
        for x, w, mu, s2 in _ppca_cases():
            d, m = w.shape
            cov = w @ w.T + s2 * np.eye(d)
            ref = _gaussian_log_density(x, mu, cov)
            got = call_quietly(fn, x.copy(), w.copy(), mu.copy(), s2)

            def describe(idx: tuple, d=d, m=m, s2=s2) -> str:
                return f"for row {idx[0]} of x (D={d}, M={m}, sigma2={s2})"

            mistakes = {
                "sigma2 is already the variance σ²: do not square it":
                    _gaussian_log_density(x, mu, w @ w.T + s2**2 * np.eye(d)),
                "sigma2 is the variance σ²: add sigma2 * I, not its square root":
                    _gaussian_log_density(x, mu, w @ w.T + np.sqrt(s2) * np.eye(d)),
                "the constant -(D/2) log(2π) is missing": _gaussian_log_density(x, mu, cov, const=False),
                "the log-determinant term is -½ log det C: the ½ is missing":
                    _gaussian_log_density(x, mu, cov, half_logdet=1.0),
                "the quadratic term is -½ (x-μ)ᵀ C⁻¹ (x-μ): the ½ is missing":
                    _gaussian_log_density(x, mu, cov, half_quad=1.0),
                "the quadratic term needs C⁻¹ (x-μ), the precision, not C (x-μ)":
                    _gaussian_log_density(x, mu, cov, inverse=False),
                "you did not subtract mu: the quadratic term is in x - μ":
                    _gaussian_log_density(x, np.zeros_like(mu), cov),
                "the sign is flipped: that is -log p(x); return the log-density itself": -ref,
                "the covariance is W Wᵀ + σ² I: the W Wᵀ part is missing": _gaussian_log_density(x, mu, s2 * np.eye(d)),
            }
            compare(got, ref, quantity="log p(x)", describe=describe, mistakes=mistakes,
                     shape_hint="one log-likelihood per row of x (do not sum over the data)",
                     nonfinite_hint="the marginal covariance is C = W Wᵀ + σ² I; W Wᵀ alone is singular when M < D")
        return "3 cases, D up to 8, M up to 3"

    return run_check("ppca_log_likelihood", body)
