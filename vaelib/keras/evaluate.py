"""Evaluation: the importance-weighted bound on log p(x), test ELBO, posterior statistics (Keras)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from vaelib._checks import check_image_vae, check_optional_seed, check_positive_int
from vaelib._docs import shared_doc
from vaelib._iwae import samples_per_decode
from vaelib.keras._backend import keras
from vaelib.keras.kernels import log_normal_pdf, reparameterize
from vaelib.keras.models import VAE
from vaelib.keras.utils import as_tensor, float_tensor, to_numpy, validate_images

ops = keras.ops

__all__ = ["iwae_bound", "evaluate", "encode_dataset"]


def _log_weights(model: VAE, x: Any, mu: Any, logvar: Any, eps: Any) -> Any:
    """log p(x, z_k) - log q(z_k | x) for noise eps (c, B, D), given q's mu and logvar: shape (c, B)."""
    z = reparameterize(mu, logvar, eps)  # (c, B, D)
    log_prior = log_normal_pdf(z, ops.zeros_like(z), ops.zeros_like(z))
    # Decoded in pieces of about DECODED_AT_ONCE samples, whose activations stay in the CPU's caches.
    per_decode = samples_per_decode(x.shape[0])
    pieces = [model._log_likelihood_of_samples(x, z[t : t + per_decode]) for t in range(0, z.shape[0], per_decode)]
    return ops.concatenate(pieces, axis=0) + log_prior - log_normal_pdf(z, mu, logvar)


def iwae_bound(
    model: VAE,
    x: Any,
    k: int = 1000,
    *,
    chunk_size: int = 100,
    batch_size: int = 100,
    eps: Any = None,
    seed: int | None = None,
) -> Any:
    """The importance-weighted bound ``log (1/k) sum_k p(x, z_k) / q(z_k | x)`` per example.

    With k = 1 it is the ELBO; it tightens towards log p(x) as k grows (Burda et al., 2016),
    so with k = 1000 it is the course's estimate of log p(x), in nats.

    Parameters
    ----------
    model : VAE
        A trained model.
    x : array_like, shape (N, 28, 28)
        Images in [0, 1].
    k : int
        Number of importance samples per example.
    chunk_size : int
        Samples drawn at once per example (the seeded draws depend on it, not the estimate's
        expectation). They are decoded about 500 at a time whatever the chunk, so memory
        does not grow with k: k = 1000 fits in memory.
    batch_size : int
        Examples processed together (each batch is encoded once).
    eps : array_like, shape (k, N, latent_dim), optional
        The noise of the samples; drawn when omitted (the backends agree given the same eps).
    seed : int, optional
        Seed of the drawn noise, for a repeatable estimate; the model's own noise stream is
        left alone.

    Returns
    -------
    tensor, shape (N,)
        The bound for each example.
    """
    check_image_vae(model)
    k = check_positive_int("k", k)
    chunk_size = check_positive_int("chunk_size", chunk_size)
    batch_size = check_positive_int("batch_size", batch_size)
    validate_images("x", x, unit_range=model.likelihood == "bernoulli")
    x = as_tensor(x)
    n, d = x.shape[0], model.latent_dim
    if eps is not None:
        eps = float_tensor("eps", eps, shape=(k, n, d), dtype="float32")
    seed = check_optional_seed(seed)
    noise_source = keras.random.SeedGenerator(seed) if seed is not None else model.noise
    out = []
    for start in range(0, n, batch_size):
        xb = x[start : start + batch_size]
        mu, logvar = model.encoder(xb)
        chunks = []
        for s in range(0, k, chunk_size):
            c = min(chunk_size, k - s)
            if eps is not None:
                noise = eps[s : s + c, start : start + batch_size]
            else:
                noise = keras.random.normal((c, xb.shape[0], d), seed=noise_source)
            chunks.append(_log_weights(model, xb, mu, logvar, noise))
        out.append(ops.logsumexp(ops.concatenate(chunks, axis=0), axis=0) - math.log(k))
    return ops.concatenate(out, axis=0)


def encode_dataset(model: VAE, x: Any, *, batch_size: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """Posterior means and log-variances of a whole data set, as NumPy arrays (N, D)."""
    check_image_vae(model)
    validate_images("x", x, unit_range=model.likelihood == "bernoulli")
    batch_size = check_positive_int("batch_size", batch_size)
    mus, logvars = [], []
    for start in range(0, len(x), batch_size):
        mu, logvar = model.encoder(as_tensor(x[start : start + batch_size]))
        mus.append(to_numpy(mu))
        logvars.append(to_numpy(logvar))
    return np.concatenate(mus), np.concatenate(logvars)


@shared_doc("keras")
def evaluate(model: VAE, x: Any, *, k: int | None = None, batch_size: int = 500, seed: int | None = 0) -> dict[str, float]:
    check_image_vae(model)
    validate_images("x", x, unit_range=model.likelihood == "bernoulli")
    k = None if k is None else check_positive_int("k", k)
    batch_size = check_positive_int("batch_size", batch_size)
    seed = check_optional_seed(seed)
    noise = keras.random.SeedGenerator(seed) if seed is not None else model.noise
    sums = np.zeros(3)
    for start in range(0, len(x), batch_size):
        xb = as_tensor(x[start : start + batch_size])
        mu, _ = model.encoder(xb)
        terms = model.elbo_terms(xb, 1.0, keras.random.normal(ops.shape(mu), seed=noise))
        sums += [float(ops.sum(t)) for t in terms]
    result = dict(zip(("elbo", "log_likelihood", "kl"), (sums / len(x)).tolist()))
    if k is not None:
        result["log_px"] = float(ops.mean(iwae_bound(model, x, k, seed=None if seed is None else seed + 1)))
    return result
