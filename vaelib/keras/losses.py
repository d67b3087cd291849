"""Log-likelihoods and KL divergences, per example, in nats (Keras 3, ``keras.ops``)."""

from __future__ import annotations

import math
from typing import Any

from vaelib.keras._backend import keras

ops = keras.ops

__all__ = [
    "gaussian_kl_per_dim",
    "gaussian_kl",
    "free_bits_kl",
    "bernoulli_log_likelihood",
    "gaussian_log_likelihood",
    "log_normal_pdf",
    "reparameterize",
]

LOG_2PI = math.log(2.0 * math.pi)


def _sum_per_example(t: Any) -> Any:
    return ops.sum(ops.reshape(t, (ops.shape(t)[0], -1)), axis=1)


def gaussian_kl_per_dim(mu: Any, logvar: Any) -> Any:
    """KL(N(mu, exp(logvar)) || N(0, 1)) for each latent dimension.

    ``0.5 * (mu^2 + exp(logvar) - 1 - logvar)``, the closed form derived in chapter 2.
    """
    return 0.5 * (ops.square(mu) + ops.exp(logvar) - 1.0 - logvar)


def gaussian_kl(mu: Any, logvar: Any) -> Any:
    """KL(q || p) between a diagonal Gaussian and the standard normal, summed over the last axis.

    Parameters
    ----------
    mu, logvar : tensor, shape (..., D)
        Mean and log-variance of q.

    Returns
    -------
    tensor, shape (...)
        The KL divergence in nats, one per example.
    """
    return ops.sum(gaussian_kl_per_dim(mu, logvar), axis=-1)


def free_bits_kl(kl_per_dim: Any, free_bits: float) -> Any:
    """The batch's KL with "free bits": each dimension's batch-mean KL is clamped below.

    ``sum_d max(free_bits, mean_batch KL_d)`` (Kingma et al., 2016): a dimension below
    ``free_bits`` nats costs nothing more, so the optimizer has no reason to shut it off.

    Parameters
    ----------
    kl_per_dim : tensor, shape (B, D)
        Per-example, per-dimension KL.
    free_bits : float
        The floor, in nats per dimension (0 gives the plain batch-mean KL).

    Returns
    -------
    tensor
        A scalar: the objective's KL term for the batch.
    """
    if free_bits < 0:
        raise ValueError(f"free_bits: expected a non-negative number of nats, got {free_bits}")
    return ops.sum(ops.maximum(ops.mean(kl_per_dim, axis=0), free_bits))


def bernoulli_log_likelihood(x: Any, logits: Any) -> Any:
    """log p(x | logits) under independent Bernoulli pixels, summed over all but the batch axis.

    ``x * logits - softplus(logits)``: exact where ``sigmoid`` would round to 0 or 1.
    """
    return _sum_per_example(x * logits - ops.softplus(logits))


def gaussian_log_likelihood(x: Any, mean: Any, log_sigma: Any) -> Any:
    """log N(x | mean, sigma^2) with one shared ``sigma = exp(log_sigma)``, summed per example."""
    z = (x - mean) * ops.exp(-log_sigma)
    return _sum_per_example(-0.5 * ops.square(z) - log_sigma - 0.5 * LOG_2PI)


def log_normal_pdf(z: Any, mu: Any, logvar: Any) -> Any:
    """log N(z | mu, diag(exp(logvar))), summed over the last axis."""
    return -0.5 * ops.sum(LOG_2PI + logvar + ops.square(z - mu) * ops.exp(-logvar), axis=-1)


def reparameterize(mu: Any, logvar: Any, eps: Any) -> Any:
    """A draw ``z = mu + exp(logvar / 2) * eps`` from N(mu, diag(exp(logvar))): the reparameterization trick.

    The noise ``eps`` is standard normal, so z is a differentiable function of mu and logvar
    (chapter 3). ``eps`` has mu's shape, or leading sample axes, (K, B, d) for (B, d), that
    broadcast against it.
    """
    return mu + ops.exp(0.5 * logvar) * eps
