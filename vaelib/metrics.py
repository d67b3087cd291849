"""Posterior-collapse diagnostics and unit conversions (framework-free, NumPy).

Both backends produce posterior means and log-variances as NumPy arrays
(``encode_dataset``); these functions turn them into numbers.
"""

from __future__ import annotations

import numpy as np

__all__ = ["active_unit_variances", "active_units", "mutual_information", "log_mean_exp", "bits_per_dim"]

_LOG_2PI = float(np.log(2.0 * np.pi))


def _check_posterior(mu: np.ndarray, logvar: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    mu = np.asarray(mu, dtype=np.float64)
    if mu.ndim != 2 or mu.shape[0] < 2:
        raise ValueError(f"mu: expected shape (examples >= 2, latent_dim), got {mu.shape}")
    if np.isnan(mu).any():
        raise ValueError("mu: contains NaN values")
    if logvar is not None:
        logvar = np.asarray(logvar, dtype=np.float64)
        if logvar.shape != mu.shape:
            raise ValueError(f"logvar: expected the shape of mu {mu.shape}, got {logvar.shape}")
    return mu, logvar


def log_mean_exp(a: np.ndarray, axis: int = 0) -> np.ndarray:
    """``log(mean(exp(a)))`` along ``axis`` without overflow."""
    a = np.asarray(a, dtype=np.float64)
    peak = np.max(a, axis=axis, keepdims=True)
    out = peak + np.log(np.mean(np.exp(a - peak), axis=axis, keepdims=True))
    return np.squeeze(out, axis=axis)


def bits_per_dim(nats: float | np.ndarray, num_dims: int) -> float | np.ndarray:
    """Convert a per-example log-likelihood (or ELBO, or NLL) in nats to bits per dimension.

    The course reports every likelihood per example, summed over the ``num_dims`` pixels
    (or tokens), in nats. Dividing by ``num_dims * ln 2`` gives a number that compares models
    of data of different sizes: ``-bits_per_dim(elbo, 784)`` is the code length per pixel.
    The sign is kept, so a log-likelihood gives a negative number and an NLL a positive one.

    Parameters
    ----------
    nats : float or ndarray
        Values in nats per example, summed over dimensions.
    num_dims : int
        Number of dimensions they are summed over (784 for a 28 x 28 image).

    Returns
    -------
    float or ndarray
        ``nats / (num_dims * ln 2)``, a float for a scalar input.
    """
    if isinstance(num_dims, bool) or not isinstance(num_dims, (int, np.integer)) or num_dims < 1:
        raise ValueError(f"num_dims: expected a positive integer, got {num_dims!r}")
    values = np.asarray(nats, dtype=np.float64) / (int(num_dims) * np.log(2.0))
    return float(values) if values.ndim == 0 else values


def active_unit_variances(mu: np.ndarray) -> np.ndarray:
    """Variance over the data of each latent dimension's posterior mean, ``Var_x E_q[z_d]``.

    Parameters
    ----------
    mu : ndarray, shape (N, D)
        Posterior means of N examples.
    """
    mu, _ = _check_posterior(mu)
    return mu.var(axis=0)


def active_units(mu: np.ndarray, threshold: float = 0.01) -> int:
    """Number of latent dimensions whose posterior mean varies with the input.

    A unit is active when ``Var_x E_q[z_d] > threshold`` (Burda et al., 2016). A collapsed
    unit has the same posterior for every input, so its mean does not vary.

    Parameters
    ----------
    mu : ndarray, shape (N, D)
        Posterior means of N examples.
    threshold : float
        Activity threshold; 0.01 is the usual choice.
    """
    if threshold < 0:
        raise ValueError(f"threshold: expected a non-negative number, got {threshold}")
    return int(np.sum(active_unit_variances(mu) > threshold))


def mutual_information(
    mu: np.ndarray, logvar: np.ndarray, *, seed: int | None = 0, chunk_size: int = 512
) -> float:
    """Estimate the mutual information I(x; z) under q(x, z) = p_data(x) q(z|x), in nats.

    ``I(x; z) = E_x KL(q(z|x) || p(z)) - KL(q(z) || p(z))``, estimated as
    ``E[log q(z|x)] - E[log q(z)]`` with one sample ``z ~ q(z|x)`` per example and the
    aggregate posterior ``q(z)`` approximated by the mixture of the batch's posteriors
    (Hoffman & Johnson, 2016). It is bounded by ``log N`` for a batch of N examples.

    Parameters
    ----------
    mu, logvar : ndarray, shape (N, D)
        Diagonal-Gaussian posteriors of N examples.
    seed : int or None
        Seed of the posterior samples.
    chunk_size : int
        Rows of the N x N density matrix computed at once (bounds memory).
    """
    mu, logvar = _check_posterior(mu, logvar)
    assert logvar is not None
    rng = np.random.default_rng(seed)
    n, d = mu.shape
    std = np.exp(0.5 * logvar)
    z = mu + std * rng.standard_normal(mu.shape)
    # log q(z_i | x_i): the sample's density under its own posterior.
    log_q_own = -0.5 * (d * _LOG_2PI + logvar.sum(1) + (((z - mu) / std) ** 2).sum(1))
    log_q_agg = np.empty(n)
    inv_var = np.exp(-logvar)
    for start in range(0, n, chunk_size):
        zc = z[start : start + chunk_size, None, :]  # (c, 1, D) against all N posteriors
        log_dens = -0.5 * (d * _LOG_2PI + logvar.sum(1)[None, :] + (((zc - mu[None]) ** 2) * inv_var[None]).sum(2))
        log_q_agg[start : start + chunk_size] = log_mean_exp(log_dens, axis=1)
    return float(np.mean(log_q_own) - np.mean(log_q_agg))
