"""The approximation and amortization gaps of a VAE's encoder (PyTorch); the method is in :mod:`vaelib._gaps`."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from vaelib._gaps import check_gap_args, measure_gaps
from vaelib._docs import shared_doc
from vaelib.torch.evaluate import encode_dataset, iwae_bound
from vaelib.torch.kernels import gaussian_kl, reparameterize
from vaelib.torch.models import VAE
from vaelib.torch.utils import as_tensor, to_numpy, validate_images

__all__ = ["posterior_gaps"]


def _gaussian_elbo(model: VAE, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """ELBO of q = N(mu, exp(logvar)) for each example: the mean over eps (S, N, d) of log p(x|z), minus the KL."""
    log_lik = model._log_likelihood_of_samples(x, reparameterize(mu, logvar, eps))
    return log_lik.mean(0) - gaussian_kl(mu, logvar)


@shared_doc("torch")
def posterior_gaps(
    model: VAE,
    x: Any,
    *,
    steps: int = 300,
    learning_rate: float = 0.02,
    samples: int = 4,
    k: int = 1000,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    steps, learning_rate, samples, k, seed = check_gap_args(model, steps, learning_rate, samples, k, seed)
    validate_images("x", x, unit_range=model.likelihood == "bernoulli")
    was_training = model.training
    model.eval()
    x_t = as_tensor(x, model.device)

    def elbo_and_grad(mu: np.ndarray, logvar: np.ndarray, eps: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        mu_t = as_tensor(mu, model.device).requires_grad_(True)
        logvar_t = as_tensor(logvar, model.device).requires_grad_(True)
        value = _gaussian_elbo(model, x_t, mu_t, logvar_t, as_tensor(eps, model.device))
        # Each example's ELBO depends on its own (mu, logvar): the gradient of the sum is per example.
        g_mu, g_logvar = torch.autograd.grad(value.sum(), (mu_t, logvar_t))
        return to_numpy(value.detach()), to_numpy(g_mu), to_numpy(g_logvar)

    @torch.no_grad()
    def elbo(mu: np.ndarray, logvar: np.ndarray, eps: np.ndarray) -> np.ndarray:
        return to_numpy(_gaussian_elbo(model, x_t, *(as_tensor(a, model.device) for a in (mu, logvar, eps))))

    result = measure_gaps(len(x_t), model.latent_dim, steps=steps, learning_rate=learning_rate, samples=samples, k=k,
                          seed=seed, log_px=lambda eps: to_numpy(iwae_bound(model, x_t, k, eps=eps)),
                          encode=lambda: encode_dataset(model, x_t), elbo=elbo, elbo_and_grad=elbo_and_grad)
    model.train(was_training)
    return result
