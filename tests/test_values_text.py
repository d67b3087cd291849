"""The text models' numbers against a NumPy model written here, in each backend separately.

The NumPy side reads only the canonical weights (``export_weights``' layout: GRU gates in the
order z, r, h; input and recurrent biases stacked), so a wrong gate order in ``export_weights``
or ``import_weights`` shows, in each backend on its own (the parity tests carry weights
from one backend to the other, where the same mistake on both sides cancels).
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from vaelib.data import pad_batch

V, E, H, D = 13, 5, 6, 3
PAD, BOS, EOS = 0, 1, 2


@pytest.fixture(scope="module", params=["torch", "keras"])
def vl(request):
    return importlib.import_module(f"vaelib.{request.param}")


def _np(x):
    return np.asarray(x.detach().cpu().numpy() if hasattr(x, "detach") else x, dtype=np.float64)


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def gru(x, h, w, name):
    """Every state (B, T, H) of a GRU (reset gate after the recurrent product) from h (B, H)."""
    kernel, recurrent, bias = (np.float64(w[f"{name}.{k}"]) for k in ("kernel", "recurrent_kernel", "bias"))
    n = recurrent.shape[0]
    states = []
    for t in range(x.shape[1]):
        xs, hs = x[:, t] @ kernel + bias[0], h @ recurrent + bias[1]
        z = _sigmoid(xs[:, :n] + hs[:, :n])
        r = _sigmoid(xs[:, n : 2 * n] + hs[:, n : 2 * n])
        candidate = np.tanh(xs[:, 2 * n :] + r * hs[:, 2 * n :])
        h = z * h + (1 - z) * candidate
        states.append(h)
    return np.stack(states, axis=1)


def dense(x, w, name):
    return x @ np.float64(w[f"{name}.kernel"]) + np.float64(w[f"{name}.bias"])


def sentence_nll(tokens, h0, w):
    """-log p(tokens | h0) per sentence: teacher forcing from <bos>, padding masked."""
    inputs = np.concatenate([np.full((len(tokens), 1), BOS), tokens[:, :-1]], axis=1)
    inputs[tokens == PAD] = PAD
    states = gru(np.float64(w["embedding.embeddings"])[inputs], h0, w, "decoder_rnn")
    logits = dense(states, w, "output_layer")
    peak = logits.max(-1, keepdims=True)
    logp = logits - peak - np.log(np.exp(logits - peak).sum(-1, keepdims=True))
    token_logp = np.take_along_axis(logp, tokens[..., None], axis=-1)[..., 0]
    return -(token_logp * (tokens != PAD)).sum(1)


def encode(tokens, w):
    states = gru(np.float64(w["embedding.embeddings"])[tokens], np.zeros((len(tokens), H)), w, "encoder_rnn")
    last = states[np.arange(len(tokens)), (tokens != PAD).sum(1) - 1]  # after the last real token
    return dense(last, w, "to_mu"), dense(last, w, "to_logvar")


def sentence_vae_elbo(tokens, eps, w):
    """(elbo, log_likelihood, kl) per sentence with one posterior sample mu + sigma * eps."""
    mu, logvar = encode(tokens, w)
    z = mu + np.exp(0.5 * logvar) * eps
    log_likelihood = -sentence_nll(tokens, np.tanh(dense(z, w, "latent_to_hidden")), w)
    kl = 0.5 * (mu**2 + np.exp(logvar) - 1 - logvar).sum(1)
    return log_likelihood - kl, log_likelihood, kl


def _tokens(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return pad_batch([np.append(rng.integers(3, V, n), EOS) for n in (1, 4, 6, 2)])


def _random_canonical(model_weights: dict, seed: int) -> dict:
    """New weights of the same shapes, large enough that every gate matters."""
    rng = np.random.default_rng(seed)
    return {k: rng.normal(0.0, 0.6, v.shape).astype(np.float32) for k, v in model_weights.items()}


def test_exported_sentence_vae_weights_give_the_models_elbo(vl):
    vl.seed_everything(0)
    model = vl.SentenceVAE(V, E, H, D)
    tokens, eps = _tokens(), np.random.default_rng(1).standard_normal((4, D)).astype(np.float32)
    weights = vl.export_weights(model)
    assert weights["decoder_rnn.kernel"].shape == (E, 3 * H) and weights["decoder_rnn.bias"].shape == (2, 3 * H)
    got = model.elbo(tokens, eps=eps)
    for mine, theirs in zip(sentence_vae_elbo(tokens, eps, weights), got):
        np.testing.assert_allclose(_np(theirs), mine, rtol=2e-5, atol=2e-5)
    mu, logvar = model.encode(tokens)
    for mine, theirs in zip(encode(tokens, weights), (mu, logvar)):
        np.testing.assert_allclose(_np(theirs), mine, rtol=2e-5, atol=2e-6)


def test_imported_weights_drive_the_sentence_vae_as_the_numpy_model(vl):
    vl.seed_everything(0)
    model = vl.SentenceVAE(V, E, H, D)
    weights = _random_canonical(vl.export_weights(model), seed=2)
    vl.import_weights(model, weights)
    for key, value in vl.export_weights(model).items():  # the round trip is exact
        np.testing.assert_array_equal(value, weights[key], err_msg=key)
    tokens, eps = _tokens(3), np.random.default_rng(4).standard_normal((4, D)).astype(np.float32)
    elbo, log_likelihood, kl = sentence_vae_elbo(tokens, eps, weights)
    got = model.elbo(tokens, eps=eps)
    np.testing.assert_allclose(_np(got.log_likelihood), log_likelihood, rtol=2e-5)
    np.testing.assert_allclose(_np(got.kl), kl, rtol=2e-5)
    np.testing.assert_allclose(_np(got.elbo), elbo, rtol=2e-5)


def test_the_language_model_is_the_numpy_decoder_from_a_zero_state(vl):
    vl.seed_everything(0)
    model = vl.RNNLanguageModel(V, E, H)
    weights = _random_canonical(vl.export_weights(model), seed=5)
    vl.import_weights(model, weights)
    tokens = _tokens(6)
    got = model.elbo(tokens)
    expected = -sentence_nll(tokens, np.zeros((4, H)), weights)
    np.testing.assert_allclose(_np(got.log_likelihood), expected, rtol=2e-5)
    np.testing.assert_allclose(_np(got.elbo), expected, rtol=2e-5)
    np.testing.assert_array_equal(_np(got.kl), np.zeros(4))


def test_a_swapped_gate_order_changes_the_numbers():
    # The NumPy model is sensitive to the gate order it reads: the tests above can tell.
    rng = np.random.default_rng(7)
    w = {"g.kernel": rng.normal(size=(E, 3 * H)), "g.recurrent_kernel": rng.normal(size=(H, 3 * H)),
         "g.bias": rng.normal(size=(2, 3 * H))}
    swapped = {k: np.concatenate([v[..., H : 2 * H], v[..., :H], v[..., 2 * H :]], axis=-1) for k, v in w.items()}
    x, h0 = rng.normal(size=(2, 3, E)), rng.normal(size=(2, H))
    assert np.abs(gru(x, h0, w, "g") - gru(x, h0, swapped, "g")).max() > 0.05


def test_evaluate_text_counts_active_units_and_averages_the_terms_as_numpy_does(vl):
    vl.seed_everything(0)
    model = vl.SentenceVAE(V, E, H, D)
    weights = _random_canonical(vl.export_weights(model), seed=8)
    weights["to_mu.kernel"][:, 1] = 0.0  # unit 1's mean is its bias for every sentence: inactive
    vl.import_weights(model, weights)
    seqs = [row[row != PAD] for row in np.concatenate([_tokens(9), _tokens(10)])]
    mu, logvar = encode(pad_batch(seqs), weights)
    variances = mu.var(0)
    assert variances[1] == 0 and (variances[[0, 2]] > 0.01).all()
    out = vl.evaluate_text(model, seqs, batch_size=3, k=4)
    assert out["active_units"] == int((variances > 0.01).sum()) == 2
    assert out["sentences"] == 8 and out["tokens"] == sum(len(s) for s in seqs)
    kl = 0.5 * (mu**2 + np.exp(logvar) - 1 - logvar).sum(1)
    assert out["kl"] == pytest.approx(kl.mean(), rel=1e-4)
    assert out["perplexity"] == pytest.approx(np.exp(out["nll"] * 8 / out["tokens"]), rel=1e-9)


# -- decoding and word dropout -------------------------------------------------------------
def _numpy_step(weights, state):
    """A decoder step written here: embedding, one GRU step, output layer (state kept in a list)."""

    def step(tokens):
        x = np.float64(weights["embedding.embeddings"])[tokens][:, None]
        state[0] = gru(x, state[0], weights, "decoder_rnn")[:, 0]
        return dense(state[0], weights, "output_layer")

    return step


def _vae_with_numpy_weights(vl, seed):
    vl.seed_everything(0)
    model = vl.SentenceVAE(V, E, H, D)
    weights = _random_canonical(vl.export_weights(model), seed=seed)
    weights["output_layer.bias"][EOS] -= 1.0  # longer sentences
    vl.import_weights(model, weights)
    return model, weights


def test_greedy_and_sampled_decoding_follow_the_numpy_decoder(vl):
    from vaelib._text import decode_loop

    model, weights = _vae_with_numpy_weights(vl, seed=11)
    z = np.random.default_rng(12).standard_normal((5, D)).astype(np.float32)
    h0 = np.tanh(dense(np.float64(z), weights, "latent_to_hidden"))
    greedy = decode_loop(_numpy_step(weights, [h0]), model, 5, 7)
    np.testing.assert_array_equal(vl.greedy_decode(model, z, max_length=7), greedy)
    no_unk = decode_loop(_numpy_step(weights, [h0]), model, 5, 7, allow_unk=False)
    np.testing.assert_array_equal(vl.greedy_decode(model, z, max_length=7, allow_unk=False), no_unk)
    sampled = decode_loop(_numpy_step(weights, [h0]), model, 5, 7, temperature=0.7, rng=np.random.default_rng(4))
    np.testing.assert_array_equal(vl.sample_decode(model, z, max_length=7, temperature=0.7, seed=4), sampled)
    assert not np.array_equal(sampled, greedy)


def test_prior_samples_decode_seeded_standard_normal_draws(vl):
    from vaelib._text import decode_loop

    model, weights = _vae_with_numpy_weights(vl, seed=13)
    rng = np.random.default_rng(6)
    z = rng.standard_normal((4, D)).astype(np.float32)
    h0 = np.tanh(dense(np.float64(z), weights, "latent_to_hidden"))
    expected = decode_loop(_numpy_step(weights, [h0]), model, 4, 6, temperature=1.5, rng=rng)
    np.testing.assert_array_equal(vl.sample_prior(model, 4, max_length=6, temperature=1.5, seed=6), expected)
    greedy = decode_loop(_numpy_step(weights, [h0]), model, 4, 6)
    np.testing.assert_array_equal(vl.sample_prior(model, 4, max_length=6, seed=6, greedy=True), greedy)
    lm = vl.RNNLanguageModel(V, E, H)
    lm_weights = {k: v for k, v in weights.items() if k in vl.export_weights(lm)}
    vl.import_weights(lm, lm_weights)
    rng = np.random.default_rng(2)
    expected = decode_loop(_numpy_step(lm_weights, [np.zeros((3, H))]), lm, 3, 6, temperature=1.0, rng=rng)
    np.testing.assert_array_equal(vl.sample_prior(lm, 3, max_length=6, seed=2), expected)


def test_word_dropout_replaces_only_ordinary_words_at_the_rate(vl):
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, V, (60, 50))
    special = np.isin(tokens, [PAD, BOS, EOS])
    all_gone = _np(vl.word_dropout(tokens, 1.0, seed=1)).astype(np.int64)
    np.testing.assert_array_equal(all_gone, np.where(special, tokens, 3))
    np.testing.assert_array_equal(_np(vl.word_dropout(tokens, 0.0, seed=1)).astype(np.int64), tokens)
    half = _np(vl.word_dropout(tokens, 0.5, seed=1)).astype(np.int64)
    np.testing.assert_array_equal(half[special], tokens[special])
    changed = (half != tokens) & (tokens != 3)
    ordinary = ~special & (tokens != 3)
    assert abs(changed[ordinary].mean() - 0.5) < 4 * np.sqrt(0.25 / ordinary.sum())
    assert (half[changed] == 3).all()
    np.testing.assert_array_equal(_np(vl.word_dropout(tokens, 0.5, seed=1)).astype(np.int64), half)
    assert not np.array_equal(_np(vl.word_dropout(tokens, 0.5, seed=2)).astype(np.int64), half)
    other_unk = _np(vl.word_dropout(tokens, 1.0, unk_id=7, special_ids=(PAD,), seed=1)).astype(np.int64)
    np.testing.assert_array_equal(other_unk, np.where(tokens == PAD, PAD, 7))


# -- what fit_text feeds the model -----------------------------------------------------------
def _length_probe(vl):
    """A language model whose output layer is zero: each sentence costs its length times log V."""
    vl.seed_everything(0)
    model = vl.RNNLanguageModel(V, E, H)
    weights = vl.export_weights(model)
    weights["output_layer.kernel"][:] = 0.0
    weights["output_layer.bias"][:] = 0.0
    return vl.import_weights(model, weights)


def _lengths_seen(vl, epochs, seed, valid=None):
    sentences = [np.append(np.full(n - 1, 5), EOS) for n in range(1, 9)]  # lengths 1 .. 8
    history = vl.fit_text(_length_probe(vl), sentences, valid, epochs=epochs, batch_size=1, learning_rate=1e-12,
                          seed=seed, verbose=False)
    seen = np.asarray(history.per_step["loss"]) / np.log(V)
    np.testing.assert_allclose(seen, np.round(seen), atol=1e-3)
    return history, [list(np.round(seen[e * 8 : (e + 1) * 8]).astype(int)) for e in range(epochs)]


def test_fit_text_shuffles_the_sentences_in_every_epoch_and_a_seed_repeats_it(vl):
    history, orders = _lengths_seen(vl, 3, seed=0)
    assert history.steps == 24
    for order in orders:
        assert sorted(order) == list(range(1, 9))  # every sentence once
        assert order != sorted(order)  # not in order of length
    assert orders[0] != orders[1] and orders[1] != orders[2]  # a new order every epoch
    assert _lengths_seen(vl, 3, seed=0)[1] == orders
    assert _lengths_seen(vl, 3, seed=1)[1] != orders


def test_fit_text_validation_is_the_mean_cost_per_sentence(vl):
    valid = [np.append(np.full(n - 1, 6), EOS) for n in (2, 3, 7)]
    history, _ = _lengths_seen(vl, 1, seed=0, valid=valid)
    assert history["val_loss"][0] == pytest.approx(np.log(V) * 4, rel=1e-5)  # mean length 4
    assert history["loss"][0] == pytest.approx(np.log(V) * 4.5, rel=1e-5)  # lengths 1 .. 8


def test_pytorch_training_terms_with_free_bits_and_word_dropout():
    # (Keras's loss_terms takes its training flag as an argument; its terms go through fit_text.)
    import torch

    from vaelib import torch as vt

    model, weights = _vae_with_numpy_weights(vt, seed=14)
    tokens = _tokens(15)
    torch.manual_seed(3)
    model.eval()  # no word dropout; the posterior sample is torch's own
    terms = model.loss_terms(torch.as_tensor(tokens), beta=0.5)
    mu, logvar = encode(tokens, weights)
    kl_dims = 0.5 * (mu**2 + np.exp(logvar) - 1 - logvar)
    assert float(terms["kl"]) == pytest.approx(kl_dims.sum(1).mean(), rel=1e-5)
    assert float(terms["loss"]) == pytest.approx(float(terms["nll"]) + 0.5 * kl_dims.sum(1).mean(), rel=1e-5)
    model.free_bits = float(np.sort(kl_dims.mean(0))[1])  # above the smallest dimension's mean KL only
    clamped = np.maximum(kl_dims.mean(0), model.free_bits).sum()
    terms = model.loss_terms(torch.as_tensor(tokens), beta=2.0)
    assert float(terms["loss"]) == pytest.approx(float(terms["nll"]) + 2.0 * clamped, rel=1e-5)
    assert float(terms["kl"]) == pytest.approx(kl_dims.sum(1).mean(), rel=1e-5)  # logged without the floor
    # Word dropout at rate 1 in training mode: every ordinary decoder input is <unk>.
    lm = vt.RNNLanguageModel(V, E, H, word_dropout=1.0)
    vt.import_weights(lm, {k: v for k, v in weights.items() if k in vt.export_weights(lm)})
    lm.train()
    inputs = np.concatenate([np.full((4, 1), BOS), tokens[:, :-1]], axis=1)
    inputs = np.where(np.isin(inputs, [PAD, BOS, EOS]), inputs, 3)
    inputs[tokens == PAD] = PAD
    states = gru(np.float64(weights["embedding.embeddings"])[inputs], np.zeros((4, H)), weights, "decoder_rnn")
    logits = dense(states, weights, "output_layer")
    peak = logits.max(-1, keepdims=True)
    logp = logits - peak - np.log(np.exp(logits - peak).sum(-1, keepdims=True))
    nll = -(np.take_along_axis(logp, tokens[..., None], -1)[..., 0] * (tokens != PAD)).sum(1)
    lm_terms = lm.loss_terms(torch.as_tensor(tokens))
    assert float(lm_terms["loss"]) == pytest.approx(nll.mean(), rel=1e-5)
    assert float(lm_terms["kl"]) == 0.0
    lm.eval()
    clean = sentence_nll(tokens, np.zeros((4, H)), weights).mean()
    assert float(lm.loss_terms(torch.as_tensor(tokens))["nll"]) == pytest.approx(clean, rel=1e-5)
    assert not np.isclose(clean, nll.mean())
