"""The tensor math of the losses, unchecked: what the models compute on every batch (Keras 3).

Training (traced by ``tf.function``) and evaluation call these on data checked once; the
public, checked versions that a reader calls by hand, with their documentation, are in
:mod:`vaelib.keras.losses`. Under Keras's ``mixed_bfloat16`` policy
(``fit(..., precision="bfloat16")``) the networks hand them bfloat16 tensors: they compute in
float32 all the same, since a sum of 784 bfloat16 terms (8 bits of mantissa) would be off by
whole nats.
"""

from __future__ import annotations

import math
from typing import Any

from vaelib.keras._backend import keras

ops = keras.ops

LOG_2PI = math.log(2.0 * math.pi)
_HALF_PRECISION = ("bfloat16", "float16")


def _f32(*tensors: Any) -> tuple[Any, ...]:
    """The tensors, half-precision ones cast to float32 (others, float64 included, as they are)."""
    return tuple(ops.cast(t, "float32") if keras.backend.standardize_dtype(t.dtype) in _HALF_PRECISION else t
                 for t in tensors)


def _sum_per_example(t: Any) -> Any:
    return ops.sum(ops.reshape(t, (ops.shape(t)[0], -1)), axis=1)


def gaussian_kl_per_dim(mu: Any, logvar: Any) -> Any:
    """``0.5 * (mu^2 + exp(logvar) - 1 - logvar)`` elementwise."""
    mu, logvar = _f32(mu, logvar)
    return 0.5 * (ops.square(mu) + ops.exp(logvar) - 1.0 - logvar)


def gaussian_kl(mu: Any, logvar: Any) -> Any:
    """The per-dimension KL summed over the last axis."""
    return ops.sum(gaussian_kl_per_dim(mu, logvar), axis=-1)


def free_bits_kl(kl_per_dim: Any, free_bits: float) -> Any:
    """``sum_d max(free_bits, mean_batch KL_d)``."""
    return ops.sum(ops.maximum(ops.mean(kl_per_dim, axis=0), free_bits))


def bernoulli_log_likelihood(x: Any, logits: Any) -> Any:
    """``x * logits - softplus(logits)``, summed over all but the batch axis."""
    (logits,) = _f32(logits)
    return _sum_per_example(x * logits - ops.softplus(logits))


def gaussian_log_likelihood(x: Any, mean: Any, log_sigma: Any) -> Any:
    """Gaussian log-likelihood with one shared sigma, summed over all but the batch axis."""
    (mean,) = _f32(mean)
    z = (x - mean) * ops.exp(-log_sigma)
    return _sum_per_example(-0.5 * ops.square(z) - log_sigma - 0.5 * LOG_2PI)


def log_normal_pdf(z: Any, mu: Any, logvar: Any) -> Any:
    """Diagonal-Gaussian log-density, summed over the last axis."""
    z, mu, logvar = _f32(z, mu, logvar)
    return -0.5 * ops.sum(LOG_2PI + logvar + ops.square(z - mu) * ops.exp(-logvar), axis=-1)


def reparameterize(mu: Any, logvar: Any, eps: Any) -> Any:
    """``mu + exp(logvar / 2) * eps``."""
    mu, logvar, eps = _f32(mu, logvar, eps)
    return mu + ops.exp(0.5 * logvar) * eps
