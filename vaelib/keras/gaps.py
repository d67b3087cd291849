"""The approximation and amortization gaps of a VAE's encoder (Keras); the method is in :mod:`vaelib._gaps`."""

from __future__ import annotations

from typing import Any

import numpy as np

from vaelib._gaps import check_gap_args, measure_gaps
from vaelib._docs import shared_doc
from vaelib.keras._backend import keras, tf
from vaelib.keras.evaluate import encode_dataset, iwae_bound
from vaelib.keras.kernels import gaussian_kl, reparameterize
from vaelib.keras.models import VAE
from vaelib.keras.utils import as_tensor, to_numpy, validate_images

ops = keras.ops

__all__ = ["posterior_gaps"]


def _gaussian_elbo(model: VAE, x: Any, mu: Any, logvar: Any, eps: Any) -> Any:
    """ELBO of q = N(mu, exp(logvar)) for each example: the mean over eps (S, N, d) of log p(x|z), minus the KL."""
    log_lik = model._log_likelihood_of_samples(x, reparameterize(mu, logvar, eps))
    return ops.mean(log_lik, axis=0) - gaussian_kl(mu, logvar)


@shared_doc("keras")
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
    x_t = as_tensor(x)

    def elbo_and_grad(mu: np.ndarray, logvar: np.ndarray, eps: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        mu_t, logvar_t = as_tensor(mu), as_tensor(logvar)
        with tf.GradientTape() as tape:
            tape.watch([mu_t, logvar_t])
            value = _gaussian_elbo(model, x_t, mu_t, logvar_t, as_tensor(eps))
            total = ops.sum(value)
        # Each example's ELBO depends on its own (mu, logvar): the gradient of the sum is per example.
        g_mu, g_logvar = tape.gradient(total, [mu_t, logvar_t])
        return to_numpy(value), to_numpy(g_mu), to_numpy(g_logvar)

    def elbo(mu: np.ndarray, logvar: np.ndarray, eps: np.ndarray) -> np.ndarray:
        return to_numpy(_gaussian_elbo(model, x_t, *(as_tensor(a) for a in (mu, logvar, eps))))

    return measure_gaps(len(x_t), model.latent_dim, steps=steps, learning_rate=learning_rate, samples=samples, k=k,
                        seed=seed, log_px=lambda eps: to_numpy(iwae_bound(model, x_t, k, eps=eps)),
                        encode=lambda: encode_dataset(model, x_t), elbo=elbo, elbo_and_grad=elbo_and_grad)
