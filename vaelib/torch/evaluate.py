"""Evaluation: the importance-weighted bound on log p(x), test ELBO, posterior statistics (PyTorch)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from vaelib._checks import check_image_vae, check_optional_seed, check_positive_int
from vaelib._docs import shared_doc
from vaelib._iwae import samples_per_decode
from vaelib.torch.kernels import log_normal_pdf, reparameterize
from vaelib.torch.models import VAE
from vaelib.torch.utils import as_tensor, float_tensor, to_numpy, validate_images

__all__ = ["iwae_bound", "evaluate", "encode_dataset"]


def _log_weights(model: VAE, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor,
                 eps: torch.Tensor) -> torch.Tensor:
    """log p(x, z_k) - log q(z_k | x) for noise eps (c, B, D), given q's mu and logvar: shape (c, B)."""
    z = reparameterize(mu, logvar, eps)  # (c, B, D)
    log_prior = log_normal_pdf(z, torch.zeros_like(z), torch.zeros_like(z))
    # Decoded in pieces of about DECODED_AT_ONCE samples, whose activations stay in the CPU's caches.
    per_decode = samples_per_decode(len(x))
    log_lik = torch.cat([model._log_likelihood_of_samples(x, piece) for piece in z.split(per_decode)])
    return log_lik + log_prior - log_normal_pdf(z, mu, logvar)


def _generator(model: VAE, seed: int | None) -> torch.Generator | None:
    """A private generator for seeded evaluation noise (None: the global RNG)."""
    return torch.Generator(device=model.device).manual_seed(seed) if seed is not None else None


@torch.no_grad()
def iwae_bound(
    model: VAE,
    x: Any,
    k: int = 1000,
    *,
    chunk_size: int = 100,
    batch_size: int = 100,
    eps: Any = None,
    seed: int | None = None,
) -> torch.Tensor:
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
        Seed of the drawn noise, for a repeatable estimate; the global RNG is left alone.

    Returns
    -------
    Tensor, shape (N,)
        The bound for each example.
    """
    check_image_vae(model)
    k = check_positive_int("k", k)
    chunk_size = check_positive_int("chunk_size", chunk_size)
    batch_size = check_positive_int("batch_size", batch_size)
    validate_images("x", x, unit_range=model.likelihood == "bernoulli")
    x = as_tensor(x, model.device)
    n, d = x.shape[0], model.latent_dim
    if eps is not None:
        eps = float_tensor("eps", eps, model.device, shape=(k, n, d), dtype=torch.float32)
    seed = check_optional_seed(seed)
    gen = _generator(model, seed)
    was_training = model.training
    model.eval()
    out = torch.empty(n, device=model.device)
    for start in range(0, n, batch_size):
        xb = x[start : start + batch_size]
        mu, logvar = model.encoder(xb)
        chunks = []
        for s in range(0, k, chunk_size):
            c = min(chunk_size, k - s)
            if eps is not None:
                noise = eps[s : s + c, start : start + batch_size]
            else:
                noise = torch.randn(c, xb.shape[0], d, device=model.device, generator=gen)
            chunks.append(_log_weights(model, xb, mu, logvar, noise))
        out[start : start + batch_size] = torch.logsumexp(torch.cat(chunks), dim=0) - math.log(k)
    model.train(was_training)
    return out


@torch.no_grad()
def encode_dataset(model: VAE, x: Any, *, batch_size: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """Posterior means and log-variances of a whole data set, as NumPy arrays (N, D)."""
    check_image_vae(model)
    validate_images("x", x, unit_range=model.likelihood == "bernoulli")
    batch_size = check_positive_int("batch_size", batch_size)
    mus, logvars = [], []
    for start in range(0, len(x), batch_size):
        mu, logvar = model.encoder(as_tensor(x[start : start + batch_size], model.device))
        mus.append(to_numpy(mu))
        logvars.append(to_numpy(logvar))
    return np.concatenate(mus), np.concatenate(logvars)


@shared_doc("torch")
@torch.no_grad()
def evaluate(model: VAE, x: Any, *, k: int | None = None, batch_size: int = 500, seed: int | None = 0) -> dict[str, float]:
    check_image_vae(model)
    validate_images("x", x, unit_range=model.likelihood == "bernoulli")
    k = None if k is None else check_positive_int("k", k)
    batch_size = check_positive_int("batch_size", batch_size)
    seed = check_optional_seed(seed)
    gen = _generator(model, seed)
    was_training = model.training
    model.eval()
    sums = np.zeros(3)
    for start in range(0, len(x), batch_size):
        xb = as_tensor(x[start : start + batch_size], model.device)
        eps = torch.randn(len(xb), model.latent_dim, device=model.device, generator=gen)
        sums += [float(t.sum()) for t in model.elbo_terms(xb, 1.0, eps)]
    model.train(was_training)
    result = dict(zip(("elbo", "log_likelihood", "kl"), (sums / len(x)).tolist()))
    if k is not None:
        result["log_px"] = float(iwae_bound(model, x, k, seed=None if seed is None else seed + 1).mean())
    return result
