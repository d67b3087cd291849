"""The inference gaps of a VAE, framework-free: arguments, noise, the per-example optimizer, the report.

Cremer, Li and Duvenaud (2018) split what the encoder's ELBO misses of log p(x) in two:

    log p(x) - ELBO(q_encoder) = [log p(x) - ELBO(q*)] + [ELBO(q*) - ELBO(q_encoder)]
                                   approximation gap       amortization gap

where q* is the best distribution of the encoder's family (a diagonal Gaussian) for that one
x. Each backend supplies three tensor operations (encode, the ELBO of given Gaussians with its
gradient, the IWAE bound); everything else, the Adam steps on (mu, logvar) included, is written
here once, in NumPy, so both backends take the same steps from the same gradients.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from vaelib._checks import check_image_vae, check_positive_int, check_positive_number, check_seed

__all__ = ["check_gap_args", "measure_gaps"]

_DECODES_PER_PASS = 10_000  # images decoded at once when an ELBO is averaged over many samples

# Adam's constants (Kingma and Ba, 2015): the defaults of both frameworks' optimizers.
_BETA1, _BETA2, _EPSILON = 0.9, 0.999, 1e-8


def check_gap_args(model: object, steps: object, learning_rate: object, samples: object, k: object,
                   seed: object) -> tuple[int, float, int, int, int]:
    """Validate the arguments of ``posterior_gaps``; return them as ``(steps, learning_rate, samples, k, seed)``."""
    check_image_vae(model)
    steps = check_positive_int("steps", steps)
    learning_rate = check_positive_number("learning_rate", learning_rate)
    samples = check_positive_int("samples", samples)
    k = check_positive_int("k", k)
    return steps, learning_rate, samples, k, check_seed(seed)


ElboAndGrad = Callable[[np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]
Elbo = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def measure_gaps(n: int, latent_dim: int, *, steps: int, learning_rate: float, samples: int, k: int, seed: int,
                 log_px: Callable[[np.ndarray], np.ndarray],
                 encode: Callable[[], tuple[np.ndarray, np.ndarray]],
                 elbo: Elbo, elbo_and_grad: ElboAndGrad) -> dict[str, np.ndarray]:
    """The method of ``posterior_gaps``, given the backend's tensor operations on the N images.

    Parameters
    ----------
    n, latent_dim : int
        Number of images and of latent dimensions.
    steps, learning_rate, samples, k, seed
        As for ``posterior_gaps`` (validated).
    log_px : callable
        ``eps (k, N, d) -> (N,)``: the IWAE bound with that noise.
    encode : callable
        ``() -> (mu, logvar)``: the encoder's posteriors, each (N, d).
    elbo, elbo_and_grad : callable
        ``(mu, logvar, eps (S, N, d)) -> elbo (N,)``, averaged over the S samples; the second
        also returns the gradients with respect to mu and logvar.

    Returns
    -------
    dict of ndarray
        The report described by ``posterior_gaps``.
    """
    rng = np.random.default_rng(seed)
    # The bound's noise is also the final ELBOs' noise: common draws make the gap between
    # the two ELBOs nearly free of Monte Carlo noise.
    eval_eps = rng.standard_normal((k, n, latent_dim)).astype(np.float32)
    log_px_values = log_px(eval_eps)
    mu0, logvar0 = encode()
    mu, logvar, trace = _optimize_posteriors(mu0, logvar0, elbo_and_grad, steps=steps, learning_rate=learning_rate,
                                             samples=samples, rng=rng)
    return _report(log_px_values, _mean_elbo(elbo, mu0, logvar0, eval_eps),
                   _mean_elbo(elbo, mu, logvar, eval_eps), mu, logvar, trace)


def _mean_elbo(elbo: Elbo, mu: np.ndarray, logvar: np.ndarray, eps: np.ndarray) -> np.ndarray:
    """The ELBO averaged over all the samples of eps (S, N, d), a chunk of samples at a time."""
    chunk = max(1, _DECODES_PER_PASS // len(mu))
    total = np.zeros(len(mu))
    for s in range(0, len(eps), chunk):
        part = eps[s : s + chunk]
        total += len(part) * np.asarray(elbo(mu, logvar, part), dtype=np.float64)
    return total / len(eps)


def _optimize_posteriors(mu: np.ndarray, logvar: np.ndarray, elbo_and_grad: ElboAndGrad, *, steps: int,
                        learning_rate: float, samples: int, rng: np.random.Generator
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Adam ascent on each example's ``(mu, logvar)`` of the reparameterized ELBO.

    The step size falls linearly from ``learning_rate`` to zero over the steps.

    Parameters
    ----------
    mu, logvar : ndarray, shape (N, d)
        The starting posteriors (the encoder's).
    elbo_and_grad : callable
        ``(mu, logvar, eps) -> (elbo (N,), d elbo / d mu, d elbo / d logvar)``, with eps of
        shape (samples, N, d) and the ELBO averaged over the samples; each example's ELBO
        depends on its own (mu, logvar) only, so one call steps all examples independently.
    steps, learning_rate, samples
        Adam steps, its initial step size and the noise samples per step.
    rng : numpy.random.Generator
        Source of the noise (NumPy, so both backends see the same).

    Returns
    -------
    mu, logvar : ndarray, shape (N, d)
        The optimized posteriors.
    trace : ndarray, shape (steps,)
        The mean over the examples of each step's Monte Carlo ELBO (before the step).
    """
    params = np.concatenate([mu, logvar], axis=1).astype(np.float64)
    d = mu.shape[1]
    m, v = np.zeros_like(params), np.zeros_like(params)
    trace = np.empty(steps)
    for t in range(1, steps + 1):
        eps = rng.standard_normal((samples, *mu.shape)).astype(np.float32)
        p32 = params.astype(np.float32)
        value, g_mu, g_logvar = elbo_and_grad(p32[:, :d], p32[:, d:], eps)
        trace[t - 1] = float(np.mean(value))
        grad = np.concatenate([g_mu, g_logvar], axis=1).astype(np.float64)
        m = _BETA1 * m + (1 - _BETA1) * grad
        v = _BETA2 * v + (1 - _BETA2) * grad**2
        m_hat, v_hat = m / (1 - _BETA1**t), v / (1 - _BETA2**t)
        # Ascent (we maximize the ELBO), with a step size that decays linearly to zero, so the
        # noisy steps settle instead of jittering around the optimum.
        params += learning_rate * (1 - (t - 1) / steps) * m_hat / (np.sqrt(v_hat) + _EPSILON)
    out = params.astype(np.float32)
    return out[:, :d], out[:, d:], trace


def _report(log_px: np.ndarray, elbo_encoder: np.ndarray, elbo_optimized: np.ndarray, mu: np.ndarray,
               logvar: np.ndarray, trace: np.ndarray) -> dict[str, np.ndarray]:
    """The per-example gaps, in nats; the two gaps sum to ``log_px - elbo_encoder`` by construction."""
    log_px, elbo_encoder, elbo_optimized = (np.asarray(a, dtype=np.float64) for a in (log_px, elbo_encoder, elbo_optimized))
    return {
        "log_px": log_px,
        "elbo_encoder": elbo_encoder,
        "elbo_optimized": elbo_optimized,
        "approximation_gap": log_px - elbo_optimized,
        "amortization_gap": elbo_optimized - elbo_encoder,
        "mu": np.asarray(mu),
        "logvar": np.asarray(logvar),
        "trace": np.asarray(trace, dtype=np.float64),
    }
