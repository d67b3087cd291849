"""Log-likelihoods and KL divergences, per example, in nats (PyTorch)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

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


def gaussian_kl_per_dim(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, 1)) for each latent dimension.

    ``0.5 * (mu^2 + exp(logvar) - 1 - logvar)``, the closed form derived in chapter 2.
    """
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(q || p) between a diagonal Gaussian and the standard normal, summed over the last axis.

    Parameters
    ----------
    mu, logvar : Tensor, shape (..., D)
        Mean and log-variance of q.

    Returns
    -------
    Tensor, shape (...)
        The KL divergence in nats, one per example.
    """
    return gaussian_kl_per_dim(mu, logvar).sum(-1)


def free_bits_kl(kl_per_dim: torch.Tensor, free_bits: float) -> torch.Tensor:
    """The batch's KL with "free bits": each dimension's batch-mean KL is clamped below.

    ``sum_d max(free_bits, mean_batch KL_d)`` (Kingma et al., 2016): a dimension below
    ``free_bits`` nats costs nothing more, so the optimizer has no reason to shut it off.

    Parameters
    ----------
    kl_per_dim : Tensor, shape (B, D)
        Per-example, per-dimension KL.
    free_bits : float
        The floor, in nats per dimension (0 gives the plain batch-mean KL).

    Returns
    -------
    Tensor
        A scalar: the objective's KL term for the batch.
    """
    if free_bits < 0:
        raise ValueError(f"free_bits: expected a non-negative number of nats, got {free_bits}")
    return kl_per_dim.mean(0).clamp(min=free_bits).sum()


def bernoulli_log_likelihood(x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """log p(x | logits) under independent Bernoulli pixels, summed over all but the batch axis.

    Computed from logits, which is exact where ``sigmoid`` would round to 0 or 1.
    """
    return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)


def gaussian_log_likelihood(x: torch.Tensor, mean: torch.Tensor, log_sigma: torch.Tensor) -> torch.Tensor:
    """log N(x | mean, sigma^2) with one shared ``sigma = exp(log_sigma)``, summed per example."""
    z = (x - mean) * torch.exp(-log_sigma)
    per_pixel = -0.5 * z.pow(2) - log_sigma - 0.5 * LOG_2PI
    return per_pixel.flatten(1).sum(1)


def log_normal_pdf(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z | mu, diag(exp(logvar))), summed over the last axis."""
    return -0.5 * (LOG_2PI + logvar + (z - mu).pow(2) * torch.exp(-logvar)).sum(-1)


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """A draw ``z = mu + exp(logvar / 2) * eps`` from N(mu, diag(exp(logvar))): the reparameterization trick.

    The noise ``eps`` is standard normal, so z is a differentiable function of mu and logvar
    (chapter 3). ``eps`` has mu's shape, or leading sample axes, (K, B, d) for (B, d), that
    broadcast against it.
    """
    return mu + torch.exp(0.5 * logvar) * eps
