"""Chapter 6 models compute the same numbers in vaelib.torch and vaelib.keras (same weights, same noise)."""

import numpy as np
import pytest
from support import max_rel as _max_rel

from vaelib import keras as vk
from vaelib import torch as vt

RTOL = 1e-5  # the spec's bar for float32
CONFIGS = [(arch, lik) for arch in ("mlp", "conv") for lik in ("bernoulli", "gaussian")]




def _carry(torch_model, keras_model):
    weights = vt.export_weights(torch_model)
    assert {k: v.shape for k, v in weights.items()} == {k: v.shape for k, v in vk.export_weights(keras_model).items()}
    vk.import_weights(keras_model, weights)
    return torch_model, keras_model


def _data(n=7, latent_dim=6, k=None, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 28, 28)).astype(np.float32)
    shape = (n, latent_dim) if k is None else (k, n, latent_dim)
    return x, rng.integers(0, 10, n), rng.standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("arch,lik", CONFIGS)
def test_conditional_vae_same_counts_elbo_reconstruction_and_decoding(arch, lik):
    vt.seed_everything(0)
    t, k = _carry(vt.ConditionalVAE(10, arch, latent_dim=6, hidden_dim=32, likelihood=lik),
                  vk.ConditionalVAE(10, arch, latent_dim=6, hidden_dim=32, likelihood=lik))
    assert vt.count_parameters(t) == vk.count_parameters(k)
    x, y, eps = _data()
    et, ek = t.elbo(x, y, beta=2.0, eps=eps), k.elbo(x, y, beta=2.0, eps=eps)
    for name in ("elbo", "log_likelihood", "kl"):
        assert _max_rel(getattr(et, name), getattr(ek, name)) <= RTOL, name
    np.testing.assert_allclose(t.reconstruct(x, y), k.reconstruct(x, y), atol=1e-6)
    np.testing.assert_allclose(t.decode_means(eps, y), k.decode_means(eps, y), atol=1e-6)


def test_conditional_vae_default_sizes_have_the_same_parameter_count():
    # 784+10 inputs to the encoder's hidden layer, 20+10 to the decoder's: 10*400 + 10*400 more than the VAE.
    t, k = vt.ConditionalVAE(), vk.ConditionalVAE()
    assert vt.count_parameters(t) == vk.count_parameters(k) == 652824 + 8000


@pytest.mark.parametrize("arch,lik", CONFIGS)
def test_iwae_same_objective_and_training_loss_given_the_same_noise(arch, lik):
    vt.seed_everything(0)
    t, k = _carry(vt.IWAE(arch, latent_dim=6, hidden_dim=32, likelihood=lik, k=4),
                  vk.IWAE(arch, latent_dim=6, hidden_dim=32, likelihood=lik, k=4))
    assert vt.count_parameters(t) == vk.count_parameters(k)
    x, _, eps = _data(k=4)
    assert _max_rel(t.objective(x, eps=eps), k.objective(x, eps=eps)) <= RTOL
    assert _max_rel(t.objective(x, beta=0.5, eps=eps), k.objective(x, beta=0.5, eps=eps)) <= RTOL
    # The training objective agrees with the evaluation bound of the same k and noise, in both.
    assert _max_rel(t.objective(x, eps=eps), vk.iwae_bound(k, x, k=4, eps=eps)) <= RTOL


def test_iwae_with_k1_matches_across_backends_and_equals_the_elbo():
    vt.seed_everything(0)
    t, k = _carry(vt.IWAE(latent_dim=6, hidden_dim=32, k=1), vk.IWAE(latent_dim=6, hidden_dim=32, k=1))
    x, _, eps = _data(k=1)
    assert _max_rel(t.objective(x, eps=eps), k.objective(x, eps=eps)) <= RTOL
    assert _max_rel(k.objective(x, eps=eps), k.elbo(x, eps=eps[0]).elbo) <= RTOL
