"""The tensor math of the losses, unchecked: what the models compute on every batch (PyTorch).

Training and evaluation call these on data checked once; the public, checked versions that a
reader calls by hand, with their documentation, are in :mod:`vaelib.torch.losses`. Under
bfloat16 autocast (``fit(..., precision="bfloat16")``) the networks hand them bfloat16
tensors: they compute in float32 all the same, since a sum of 784 bfloat16 terms (8 bits of
mantissa) would be off by whole nats.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

LOG_2PI = math.log(2.0 * math.pi)
_HALF_PRECISION = (torch.bfloat16, torch.float16)


def _f32(*tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The tensors, half-precision ones cast to float32 (others, float64 included, as they are)."""
    return tuple(t.float() if t.dtype in _HALF_PRECISION else t for t in tensors)


def gaussian_kl_per_dim(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """``0.5 * (mu^2 + exp(logvar) - 1 - logvar)`` elementwise."""
    mu, logvar = _f32(mu, logvar)
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """The per-dimension KL summed over the last axis."""
    return gaussian_kl_per_dim(mu, logvar).sum(-1)


def free_bits_kl(kl_per_dim: torch.Tensor, free_bits: float) -> torch.Tensor:
    """``sum_d max(free_bits, mean_batch KL_d)``."""
    return kl_per_dim.mean(0).clamp(min=free_bits).sum()


def bernoulli_log_likelihood(x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """Bernoulli log-likelihood from logits, summed over all but the batch axis."""
    (logits,) = _f32(logits)
    return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)


def gaussian_log_likelihood(x: torch.Tensor, mean: torch.Tensor, log_sigma: torch.Tensor) -> torch.Tensor:
    """Gaussian log-likelihood with one shared sigma, summed over all but the batch axis."""
    (mean,) = _f32(mean)
    z = (x - mean) * torch.exp(-log_sigma)
    per_pixel = -0.5 * z.pow(2) - log_sigma - 0.5 * LOG_2PI
    return per_pixel.flatten(1).sum(1)


def log_normal_pdf(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Diagonal-Gaussian log-density, summed over the last axis."""
    z, mu, logvar = _f32(z, mu, logvar)
    return -0.5 * (LOG_2PI + logvar + (z - mu).pow(2) * torch.exp(-logvar)).sum(-1)


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """``mu + exp(logvar / 2) * eps``."""
    mu, logvar, eps = _f32(mu, logvar, eps)
    return mu + torch.exp(0.5 * logvar) * eps
