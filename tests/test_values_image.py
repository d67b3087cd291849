"""Image models and their weights against NumPy, in each backend separately.

A NumPy MLP VAE written here reads only the canonical weights (``export_weights``' layout):
the ELBO of each backend must equal it for the weights it exports and for NumPy weights it
imports. The canonical layout itself is checked against each PyTorch layer's own parameters,
and the refusals of ``import_weights`` are checked word for word.
"""

from __future__ import annotations

import importlib
import re

import numpy as np
import pytest

LOG_2PI = np.log(2 * np.pi)
X = np.random.default_rng(0).random((5, 28, 28)).astype(np.float32)


@pytest.fixture(scope="module", params=["torch", "keras"])
def vl(request):
    return importlib.import_module(f"vaelib.{request.param}")


def _np(x):
    return np.asarray(x.detach().cpu().numpy() if hasattr(x, "detach") else x, dtype=np.float64)


def dense(x, w, name):
    return x @ np.float64(w[f"{name}.kernel"]) + np.float64(w[f"{name}.bias"])


def mlp_vae_elbo(x, eps, w, likelihood):
    """(elbo, log_likelihood, kl) of the MLP VAE: ReLU hidden layers, one sample mu + sigma * eps."""
    h = np.maximum(dense(x.reshape(len(x), -1).astype(np.float64), w, "encoder.hidden"), 0)
    mu, logvar = dense(h, w, "encoder.mu"), dense(h, w, "encoder.logvar")
    z = mu + np.exp(0.5 * logvar) * eps
    out = dense(np.maximum(dense(z, w, "decoder.hidden"), 0), w, "decoder.out")
    flat = x.reshape(len(x), -1)
    if likelihood == "bernoulli":  # log sigmoid(l) = -log(1 + e^-l), written to stay finite
        log_likelihood = (flat * -np.logaddexp(0, -out) + (1 - flat) * -np.logaddexp(0, out)).sum(1)
    else:
        log_sigma = float(w["log_sigma"])
        log_likelihood = (-0.5 * ((flat - out) / np.exp(log_sigma)) ** 2 - log_sigma - 0.5 * LOG_2PI).sum(1)
    kl = 0.5 * (mu**2 + np.exp(logvar) - 1 - logvar).sum(1)
    return log_likelihood - kl, log_likelihood, kl


def _random_like(weights, seed):
    rng = np.random.default_rng(seed)
    return {k: (rng.normal(0, 0.2, v.shape) if v.ndim else np.float64(rng.normal(-0.5, 0.1))).astype(np.float32)
            for k, v in weights.items()}


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_the_mlp_vae_elbo_is_the_numpy_one_for_exported_and_for_imported_weights(vl, likelihood):
    vl.seed_everything(0)
    model = vl.VAE("mlp", latent_dim=3, hidden_dim=16, likelihood=likelihood)
    eps = np.random.default_rng(1).standard_normal((5, 3)).astype(np.float32)
    for weights in (vl.export_weights(model), _random_like(vl.export_weights(model), seed=2)):
        vl.import_weights(model, weights)
        assert sorted(weights) == sorted(vl.export_weights(model))
        got = model.elbo(X, eps=eps)
        for mine, theirs in zip(mlp_vae_elbo(X, eps, weights, likelihood), got):
            np.testing.assert_allclose(_np(theirs), mine, rtol=1e-4, atol=1e-3)
        half = model.elbo(X, beta=0.5, eps=eps)  # elbo = log-likelihood - beta * KL
        np.testing.assert_allclose(_np(half.elbo), _np(got.log_likelihood) - 0.5 * _np(got.kl), rtol=1e-5, atol=1e-3)
        mu, logvar = model.encode(X)
        h = np.maximum(dense(X.reshape(5, -1).astype(np.float64), weights, "encoder.hidden"), 0)
        np.testing.assert_allclose(_np(mu), dense(h, weights, "encoder.mu"), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(_np(logvar), dense(h, weights, "encoder.logvar"), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("architecture, likelihood", [("mlp", "gaussian"), ("conv", "bernoulli")])
def test_imported_weights_come_back_exactly(vl, architecture, likelihood):
    vl.seed_everything(0)
    model = vl.VAE(architecture, latent_dim=3, hidden_dim=8, likelihood=likelihood)
    before = vl.export_weights(model)
    weights = _random_like(before, seed=3)
    assert vl.import_weights(model, weights) is model
    after = vl.export_weights(model)
    assert sorted(after) == sorted(before)
    for key, value in after.items():
        assert value.dtype == np.float32
        np.testing.assert_array_equal(value, weights[key], err_msg=key)
    # float64 input is stored as float32
    vl.import_weights(model, {k: v.astype(np.float64) for k, v in weights.items()})
    for key, value in vl.export_weights(model).items():
        np.testing.assert_array_equal(value, weights[key], err_msg=key)


def test_the_canonical_layout_of_each_pytorch_layer():
    import torch

    from vaelib import torch as vt

    torch.manual_seed(0)
    model = vt.VAE("conv", latent_dim=3, hidden_dim=8, likelihood="gaussian")
    w = vt.export_weights(model)
    enc, dec = model.encoder, model.decoder
    np.testing.assert_array_equal(w["encoder.hidden.kernel"], _np(enc.hidden.weight).T)  # (in, out)
    np.testing.assert_array_equal(w["encoder.hidden.bias"], _np(enc.hidden.bias))
    conv = _np(enc.conv2.weight)  # torch Conv2d (out, in, kh, kw) -> (kh, kw, in, out)
    assert w["encoder.conv2.kernel"].shape == (4, 4, 32, 64)
    np.testing.assert_array_equal(w["encoder.conv2.kernel"][1, 3, 5, 7], conv[7, 5, 1, 3])
    np.testing.assert_array_equal(w["encoder.conv2.kernel"], np.einsum("oihw->hwio", conv))
    deconv = _np(dec.deconv1.weight)  # torch ConvTranspose2d (in, out, kh, kw) -> (kh, kw, out, in)
    assert deconv.shape == (64, 32, 4, 4) and w["decoder.deconv1.kernel"].shape == (4, 4, 32, 64)
    np.testing.assert_array_equal(w["decoder.deconv1.kernel"], np.einsum("iohw->hwoi", deconv))
    np.testing.assert_array_equal(w["decoder.deconv2.bias"], _np(dec.deconv2.bias))
    assert w["log_sigma"].shape == () and float(w["log_sigma"]) == float(model.log_sigma)


def test_the_canonical_layout_of_each_pytorch_text_layer():
    from vaelib import torch as vt

    model = vt.SentenceVAE(11, 4, 5, 2)
    w = vt.export_weights(model)
    np.testing.assert_array_equal(w["embedding.embeddings"], _np(model.embedding.weight))
    gru, h = model.decoder_rnn, 5
    r, z, n = (slice(i * h, (i + 1) * h) for i in range(3))  # torch's gate blocks
    for canonical, ours in ((slice(0, h), z), (slice(h, 2 * h), r), (slice(2 * h, 3 * h), n)):  # Keras: z, r, h
        np.testing.assert_array_equal(w["decoder_rnn.kernel"][:, canonical], _np(gru.weight_ih_l0)[ours].T)
        np.testing.assert_array_equal(w["decoder_rnn.recurrent_kernel"][:, canonical], _np(gru.weight_hh_l0)[ours].T)
        np.testing.assert_array_equal(w["decoder_rnn.bias"][0, canonical], _np(gru.bias_ih_l0)[ours])
        np.testing.assert_array_equal(w["decoder_rnn.bias"][1, canonical], _np(gru.bias_hh_l0)[ours])


def test_misfit_weights_are_refused_in_one_line_and_nothing_is_written(vl):
    vl.seed_everything(0)
    model = vl.VAE("mlp", latent_dim=3, hidden_dim=8)
    good = vl.export_weights(model)
    changed = {k: v + 1 for k, v in good.items()}

    def refused(weights, message):
        with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
            vl.import_weights(model, weights)
        for key, value in vl.export_weights(model).items():
            np.testing.assert_array_equal(value, good[key], err_msg=key)

    refused({k: v for k, v in changed.items() if not k.startswith("decoder.")},
            "weights: do not match the model's layers: missing ['decoder.hidden.bias', 'decoder.hidden.kernel', "
            "'decoder.out.bias']")
    refused({**changed, "z.extra": np.zeros(1), "a.extra": np.zeros(1)},
            "weights: do not match the model's layers: unexpected ['a.extra', 'z.extra']")
    refused({**{k: v for k, v in changed.items() if k != "encoder.mu.bias"}, "extra": np.zeros(1)},
            "weights: do not match the model's layers: missing ['encoder.mu.bias']; unexpected ['extra']")
    refused({**changed, "encoder.mu.kernel": np.zeros((8, 4)), "encoder.logvar.kernel": np.zeros((8, 5))},
            "weights['encoder.logvar.kernel']: expected shape (8, 3), got (8, 5) "
            "(were the models built with the same latent_dim, hidden_dim and vocabulary?)")
