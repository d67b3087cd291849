"""vaelib.torch and vaelib.keras compute the same numbers given the same weights and noise."""

import numpy as np
import pytest
from support import max_rel as _max_rel

from vaelib import keras as vk
from vaelib import torch as vt

RTOL = 1e-5  # the spec's bar for float32
CONFIGS = [(arch, lik) for arch in ("mlp", "conv") for lik in ("bernoulli", "gaussian")]




def _twins(arch, lik, latent_dim=6, hidden_dim=32):
    vt.seed_everything(0)
    torch_model = vt.VAE(arch, latent_dim=latent_dim, hidden_dim=hidden_dim, likelihood=lik)
    keras_model = vk.VAE(arch, latent_dim=latent_dim, hidden_dim=hidden_dim, likelihood=lik)
    vk.import_weights(keras_model, vt.export_weights(torch_model))
    return torch_model, keras_model


@pytest.mark.parametrize("arch,lik", CONFIGS)
def test_same_parameter_counts_and_weight_names(arch, lik):
    torch_model = vt.VAE(arch, likelihood=lik)
    keras_model = vk.VAE(arch, likelihood=lik)
    assert vt.count_parameters(torch_model) == vk.count_parameters(keras_model)
    shapes_t = {k: v.shape for k, v in vt.export_weights(torch_model).items()}
    shapes_k = {k: v.shape for k, v in vk.export_weights(keras_model).items()}
    assert shapes_t == shapes_k


def test_reference_parameter_count_of_the_784_400_20_mlp():
    # encoder 784*400+400 + 2*(400*20+20), decoder 20*400+400 + 400*784+784
    assert vt.count_parameters(vt.VAE("mlp")) == 314000 + 16040 + 8400 + 314384 == 652824


@pytest.mark.parametrize("arch,lik", CONFIGS)
def test_same_elbo_kl_and_iwae_bound_given_the_same_weights_and_noise(arch, lik):
    torch_model, keras_model = _twins(arch, lik)
    rng = np.random.default_rng(1)
    x = rng.random((7, 28, 28)).astype(np.float32)
    eps = rng.standard_normal((7, 6)).astype(np.float32)
    t, k = torch_model.elbo(x, eps=eps), keras_model.elbo(x, eps=eps)
    assert _max_rel(t.elbo, k.elbo) <= RTOL
    assert _max_rel(t.log_likelihood, k.log_likelihood) <= RTOL
    assert _max_rel(t.kl, k.kl) <= RTOL
    eps_k = rng.standard_normal((50, 7, 6)).astype(np.float32)
    bound_t = vt.iwae_bound(torch_model, x, k=50, chunk_size=16, eps=eps_k)
    bound_k = vk.iwae_bound(keras_model, x, k=50, chunk_size=16, eps=eps_k)
    assert _max_rel(bound_t, bound_k) <= RTOL
    np.testing.assert_allclose(torch_model.reconstruct(x), keras_model.reconstruct(x), atol=1e-6)


@pytest.mark.parametrize("arch", ["mlp", "conv"])
def test_weights_carry_back_from_keras_to_torch(arch):
    keras_model = vk.VAE(arch, latent_dim=4, hidden_dim=16)
    torch_model = vt.import_weights(vt.VAE(arch, latent_dim=4, hidden_dim=16), vk.export_weights(keras_model))
    for name, value in vk.export_weights(keras_model).items():
        np.testing.assert_array_equal(vt.export_weights(torch_model)[name], value, err_msg=name)


def test_latent_size_mismatch_is_named():
    weights = vt.export_weights(vt.VAE("mlp", latent_dim=10))
    message = (r"weights\['decoder.hidden.kernel'\]: expected shape \(20, 400\), got \(10, 400\) "
               r"\(were the models built with the same latent_dim")
    with pytest.raises(ValueError, match=message):
        vk.import_weights(vk.VAE("mlp", latent_dim=20), weights)
    with pytest.raises(ValueError, match=message):
        vt.import_weights(vt.VAE("mlp", latent_dim=20), weights)


def test_architecture_mismatch_names_missing_and_unexpected_weights():
    weights = vt.export_weights(vt.VAE("mlp"))
    with pytest.raises(ValueError, match=r"weights: do not match the model's layers: missing \['decoder.deconv1.bias'"):
        vk.import_weights(vk.VAE("conv"), weights)
    before = vk.export_weights(keras_model := vk.VAE("mlp", likelihood="gaussian"))
    with pytest.raises(ValueError, match=r"missing \['log_sigma'\]"):
        vk.import_weights(keras_model, weights)
    for name, value in vk.export_weights(keras_model).items():  # a refused import writes nothing
        np.testing.assert_array_equal(value, before[name])
