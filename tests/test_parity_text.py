"""Text models give the same numbers in both backends: same weights + tokens + noise -> same
ELBO, KL, NLL (relative 1e-5, float32), same parameter counts, same decodings."""

from __future__ import annotations

import numpy as np
import pytest

from vaelib import keras as vk
from vaelib import torch as vt
from vaelib.data import pad_batch

V, E, H, D = 50, 12, 20, 5
RTOL = 1e-5


def _np(x):
    return np.asarray(x.detach().cpu().numpy() if hasattr(x, "detach") else x, dtype=np.float64)


def _tokens(n=6, seed=0):
    rng = np.random.default_rng(seed)
    return [np.append(rng.integers(3, V, rng.integers(1, 11)), 2) for _ in range(n)]


def _pair(name, seed, source="torch"):
    """A torch model and a Keras model holding the same weights, carried from ``source``."""
    vt.seed_everything(seed)
    vk.seed_everything(seed)
    args = (V, E, H, D) if name == "SentenceVAE" else (V, E, H)
    mt, mk = getattr(vt, name)(*args), getattr(vk, name)(*args)
    weights = vt.export_weights(mt) if source == "torch" else vk.export_weights(mk)
    if name == "SentenceVAE":
        # A posterior well away from the prior: a KL near 0 has no float32 digits to compare.
        rng = np.random.default_rng(seed)
        weights["to_mu.kernel"] = rng.normal(0, 0.3, (H, D)).astype(np.float32)
        weights["to_logvar.bias"] = np.full(D, -0.7, dtype=np.float32)
    vt.import_weights(mt, weights)
    vk.import_weights(mk, weights)
    return mt, mk


@pytest.mark.parametrize("name", ["SentenceVAE", "RNNLanguageModel"])
def test_same_parameter_counts_and_weight_names(name):
    mt, mk = _pair(name, 0)
    assert vt.count_parameters(mt) == vk.count_parameters(mk)
    wt, wk = vt.export_weights(mt), vk.export_weights(mk)
    assert sorted(wt) == sorted(wk) and all(wt[k].shape == wk[k].shape for k in wt)
    # the formula, so a silent change of architecture shows up here
    gru = 3 * (E * H + H * H + 2 * H)
    expected = V * E + gru + H * V + V + ((gru + 2 * (H * D + D) + D * H + H) if name == "SentenceVAE" else 0)
    assert vt.count_parameters(mt) == expected


@pytest.mark.parametrize("source", ["torch", "keras"])
def test_sentence_vae_elbo_kl_nll_agree(source):
    mt, mk = _pair("SentenceVAE", 1, source)
    batch = pad_batch(_tokens())
    eps = np.random.default_rng(2).standard_normal((len(batch), D)).astype(np.float32)
    et, ek = mt.elbo(batch, eps=eps), mk.elbo(batch, eps=eps)
    for field in ("elbo", "log_likelihood", "kl"):
        np.testing.assert_allclose(_np(getattr(et, field)), _np(getattr(ek, field)), rtol=RTOL, err_msg=field)
    mu_t, lv_t = mt.encode(batch)
    mu_k, lv_k = mk.encode(batch)
    np.testing.assert_allclose(_np(mu_t), _np(mu_k), rtol=RTOL, atol=1e-6)
    np.testing.assert_allclose(_np(lv_t), _np(lv_k), rtol=RTOL, atol=1e-6)


def test_language_model_likelihood_agrees():
    mt, mk = _pair("RNNLanguageModel", 3, "keras")
    batch = pad_batch(_tokens(seed=4))
    np.testing.assert_allclose(_np(mt.elbo(batch).log_likelihood), _np(mk.elbo(batch).log_likelihood), rtol=RTOL)


@pytest.mark.parametrize("name", ["SentenceVAE", "RNNLanguageModel"])
def test_evaluate_text_agrees(name):
    mt, mk = _pair(name, 5)
    seqs = _tokens(10, seed=6)
    rt = vt.evaluate_text(mt, seqs, batch_size=4, k=8, seed=1)
    rk = vk.evaluate_text(mk, seqs, batch_size=4, k=8, seed=1)
    for key in ("nll", "neg_elbo", "reconstruction", "kl", "perplexity"):
        assert rt[key] == pytest.approx(rk[key], rel=RTOL, abs=1e-6), key
    assert rt["active_units"] == rk["active_units"] and rt["tokens"] == rk["tokens"]


def test_decodings_agree():
    mt, mk = _pair("SentenceVAE", 7)
    z = np.random.default_rng(8).standard_normal((4, D)).astype(np.float32)
    np.testing.assert_array_equal(vt.greedy_decode(mt, z, 12), vk.greedy_decode(mk, z, 12))
    np.testing.assert_array_equal(vt.sample_prior(mt, 4, 12, seed=9), vk.sample_prior(mk, 4, 12, seed=9))
    a, b = _tokens(2, seed=10)
    np.testing.assert_array_equal(vt.homotopy(mt, a, b, 3, 10), vk.homotopy(mk, a, b, 3, 10))
