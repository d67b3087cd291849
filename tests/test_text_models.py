"""Sentence VAE and RNN language model (chapter 5): masking, word dropout, decoding, metrics,
errors and reproducibility, in both backends, on tiny models and synthetic token data."""

from __future__ import annotations

import math

import numpy as np
import torch
import pytest

from vaelib.data import pad_batch

V, E, H, D = 40, 8, 16, 4
PAD, BOS, EOS, UNK = 0, 1, 2, 3


@pytest.fixture(scope="module", params=["torch", "keras"])
def vl(request):
    if request.param == "torch":
        from vaelib import torch as backend
    else:
        from vaelib import keras as backend
    return backend


def _np(x):
    return np.asarray(x.detach().cpu().numpy() if hasattr(x, "detach") else x)


def _sentences(n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [np.append(rng.integers(4, V, rng.integers(2, 9)), EOS).astype(np.int64) for _ in range(n)]


def _set(vl, model, **changes):
    """Overwrite some canonical weights (e.g. the output layer) through import_weights."""
    weights = vl.export_weights(model)
    weights.update({key: np.asarray(value, dtype=np.float32) for key, value in changes.items()})
    vl.import_weights(model, weights)
    return model


# -- masking ------------------------------------------------------------------------------
def test_padding_does_not_change_a_sentences_terms(vl):
    vl.seed_everything(0)
    model = vl.SentenceVAE(V, E, H, D)
    seqs = _sentences(3)
    short = pad_batch(seqs)
    long = np.concatenate([short, np.zeros((3, 7), dtype=np.int64)], axis=1)
    eps = np.random.default_rng(1).standard_normal((3, D)).astype(np.float32)
    a, b = model.elbo(short, eps=eps), model.elbo(long, eps=eps)
    for x, y in zip(a, b):
        np.testing.assert_allclose(_np(x), _np(y), rtol=1e-5)
    alone = model.elbo(pad_batch(seqs[:1]), eps=eps[:1])  # no batch mates, no padding at all
    np.testing.assert_allclose(_np(alone.elbo), _np(a.elbo)[:1], rtol=1e-5)
    mu_short, _ = model.encode(short)
    mu_long, _ = model.encode(long)
    np.testing.assert_allclose(_np(mu_short), _np(mu_long), rtol=1e-5, atol=1e-6)


def test_language_model_likelihood_ignores_padding(vl):
    vl.seed_everything(0)
    lm = vl.RNNLanguageModel(V, E, H)
    seqs = _sentences(4, seed=3)
    a = _np(lm.elbo(pad_batch(seqs)).log_likelihood)
    b = _np(lm.elbo(np.pad(pad_batch(seqs), ((0, 0), (0, 5)))).log_likelihood)
    np.testing.assert_allclose(a, b, rtol=1e-5)
    assert np.all(_np(lm.elbo(pad_batch(seqs)).kl) == 0)


# -- word dropout -------------------------------------------------------------------------
def test_word_dropout_keeps_specials_and_respects_the_rate(vl):
    tokens = np.array([[BOS, 5, 6, 7, EOS, PAD, PAD]] * 400, dtype=np.int64)
    special = np.isin(tokens, (PAD, BOS, EOS))
    assert np.array_equal(_np(vl.word_dropout(tokens, 0.0)), tokens)
    all_unk = _np(vl.word_dropout(tokens, 1.0, seed=0))
    assert np.array_equal(all_unk[special], tokens[special]) and np.all(all_unk[~special] == UNK)
    half = _np(vl.word_dropout(tokens, 0.5, seed=0))
    assert np.array_equal(half[special], tokens[special])
    assert set(np.unique(half[~special])) <= {5, 6, 7, UNK}
    assert abs(np.mean(half[~special] == UNK) - 0.5) < 0.05


# -- decoding -----------------------------------------------------------------------------
def _constant_output(vl, model, favourite: int):
    """Make the decoder's softmax ignore its state and prefer one word."""
    bias = np.zeros(V)
    bias[favourite] = 10.0
    return _set(vl, model, **{"output_layer.kernel": np.zeros((H, V)), "output_layer.bias": bias})


def test_greedy_decode_stops_at_eos_and_at_max_length(vl):
    model = vl.SentenceVAE(V, E, H, D)
    z = np.zeros((3, D), dtype=np.float32)
    out = vl.greedy_decode(_constant_output(vl, model, EOS), z, max_length=6)
    assert out.shape == (3, 6) and np.all(out[:, 0] == EOS) and np.all(out[:, 1:] == PAD)
    out = vl.greedy_decode(_constant_output(vl, model, 9), z, max_length=6)
    assert np.all(out == 9)  # never an <eos>: stops at max_length
    pad_favoured = vl.sample_prior(_constant_output(vl, model, PAD), 2, max_length=4, seed=0)
    for row in pad_favoured:  # <pad> and <bos> are never generated: padding only follows an <eos>
        words = row[: list(row).index(EOS)] if EOS in row else row
        assert not np.isin(words, (PAD, BOS)).any()


def test_decoding_shapes_and_homotopy_endpoints(vl):
    vl.seed_everything(1)
    model = vl.SentenceVAE(V, E, H, D)
    seqs = _sentences(2, seed=4)
    assert vl.sample_prior(model, 5, max_length=7, seed=0).shape == (5, 7)
    assert vl.sample_decode(model, np.zeros((2, D)), max_length=7, temperature=0.5, seed=0).shape == (2, 7)
    np.testing.assert_array_equal(vl.sample_prior(model, 3, seed=4), vl.sample_prior(model, 3, seed=4))
    path = vl.homotopy(model, seqs[0], seqs[1], steps=4, max_length=9)
    assert path.shape == (4, 9)
    mu = _np(model.encode(pad_batch(seqs))[0])
    np.testing.assert_array_equal(path[[0, -1]], vl.greedy_decode(model, mu, max_length=9))
    lm = vl.RNNLanguageModel(V, E, H)
    assert vl.sample_prior(lm, 3, max_length=5, seed=0).shape == (3, 5)


# -- metrics ------------------------------------------------------------------------------
def test_perplexity_of_a_uniform_language_model_is_the_vocabulary_size(vl):
    lm = _set(vl, vl.RNNLanguageModel(V, E, H), **{"output_layer.kernel": np.zeros((H, V)),
                                                     "output_layer.bias": np.zeros(V)})
    seqs = _sentences(5, seed=2)
    tokens = sum(len(s) for s in seqs)  # <eos> counted
    out = vl.evaluate_text(lm, seqs, batch_size=2)
    assert out["tokens"] == tokens and out["sentences"] == 5
    assert out["nll"] == pytest.approx(tokens * math.log(V) / 5, rel=1e-5)
    assert out["perplexity"] == pytest.approx(V, rel=1e-5)
    assert out["kl"] == 0 and out["active_units"] == 0


def test_importance_weighted_nll_is_below_the_negative_elbo(vl):
    vl.seed_everything(3)
    model = vl.SentenceVAE(V, E, H, D)
    rng = np.random.default_rng(0)  # a posterior far from the prior, whose z the decoder uses
    _set(vl, model, **{"to_mu.kernel": rng.normal(0, 0.5, (H, D)), "to_logvar.bias": np.full(D, -1.0),
                       "latent_to_hidden.kernel": rng.normal(0, 1, (D, H))})
    seqs = _sentences(12, seed=5)
    out = vl.evaluate_text(model, seqs, batch_size=6, k=32, chunk_size=96)
    neg_elbo = np.mean([-_np(model.elbo(pad_batch(seqs), eps=rng.standard_normal((12, D))).elbo).mean() for _ in range(20)])
    assert out["kl"] > 0.3
    assert out["nll"] < neg_elbo
    assert out["perplexity"] == pytest.approx(math.exp(out["nll"] * 12 / out["tokens"]), rel=1e-9)
    # Active units: posterior means whose variance over the sentences exceeds 0.01, by hand.
    mu = _np(model.encode(pad_batch(seqs))[0]).astype(np.float64)
    variances = ((mu - mu.mean(0)) ** 2).mean(0)
    assert out["active_units"] == int((variances > 0.01).sum())


# -- training -----------------------------------------------------------------------------
def test_same_seed_gives_identical_epoch_losses(vl):
    from vaelib import schedules

    seqs = _sentences(48, seed=6)

    def run():
        vl.seed_everything(0)
        model = vl.SentenceVAE(V, E, H, D, word_dropout=0.3)
        return vl.fit_text(model, seqs[:40], seqs[40:] if vl.BACKEND == "torch" else None, epochs=2,
                           batch_size=16, seed=7, verbose=False, beta=schedules.linear(4), free_bits=0.1)

    first, second = run(), run()
    # (the Keras run skips validation only to keep this test fast: each fit traces its steps)
    assert set(first) >= {"loss", "nll", "kl"} | ({"val_loss", "val_nll", "val_kl"} if vl.BACKEND == "torch" else set())
    assert first == second and first.steps == second.steps == 6
    assert all(math.isfinite(v) for v in first["loss"])


def _poison_output_bias(vl, model):
    """NaN in the output layer's bias, written past import_weights (which refuses NaN weights)."""
    bias = model.output_layer.bias
    if vl.BACKEND == "torch":
        with torch.no_grad():
            bias.fill_(float("nan"))
    else:
        bias.assign(np.full(bias.shape, np.nan, dtype=np.float32))


def test_nan_loss_stops_with_the_step(vl):
    model = vl.RNNLanguageModel(V, E, H)
    _poison_output_bias(vl, model)
    with pytest.raises(FloatingPointError, match="step 1"):
        vl.fit_text(model, _sentences(8), epochs=1, batch_size=4, verbose=False)


# -- bad input ----------------------------------------------------------------------------
BAD = [
    (lambda vl, m: m.elbo(np.array([[4.0, 5.0, 2.0]])), TypeError, "tokens: expected integer token ids"),
    (lambda vl, m: m.elbo(np.array([[4, V, 2]])), ValueError, f"tokens: token id {V} is outside the vocabulary"),
    (lambda vl, m: m.elbo(np.array([4, 5, 2])), ValueError, "tokens: expected shape (batch, length)"),
    (lambda vl, m: m.elbo(np.zeros((0, 3), dtype=np.int64)), ValueError, "tokens: expected at least one sentence"),
    (lambda vl, m: m.elbo(np.array([[4, 0, 5, 2]])), ValueError, "tokens: sentence 0 has a token after <pad>"),
    (lambda vl, m: m.elbo(np.array([[4, 2]]), eps=np.zeros((1, D + 1))), ValueError, "eps: expected shape (1, 4)"),
    (lambda vl, m: vl.word_dropout(np.array([[4, 5]]), 1.5), ValueError, "rate: expected a number in [0, 1]"),
    (lambda vl, m: vl.greedy_decode(m, np.zeros((2, D + 2))), ValueError, "z: expected shape (batch, 4), got (2, 6)"),
    (lambda vl, m: vl.greedy_decode(m, np.zeros((1, D)), max_length=0), ValueError, "max_length"),
    (lambda vl, m: vl.fit_text(m, [], epochs=1), ValueError, "train_seqs: expected a non-empty list"),
    (lambda vl, m: vl.fit_text(m, [np.array([4, 5.5])], epochs=1), TypeError, "train_seqs: expected integer token ids"),
    (lambda vl, m: vl.evaluate_text(m, [np.array([4, -1, 2])]), ValueError, "sequences: token id -1"),
    (lambda vl, m: vl.homotopy(vl.RNNLanguageModel(V, E, H), [4, 2], [5, 2]), TypeError, "model: homotopy needs a SentenceVAE"),
]


@pytest.mark.parametrize("call, error, message", BAD)
def test_bad_input_gives_one_line_errors(vl, call, error, message):
    model = _tiny(vl)
    with pytest.raises(error) as info:
        call(vl, model)
    text = str(info.value)
    assert message in text and "\n" not in text


_MODELS: dict = {}


def _tiny(vl):
    if vl.BACKEND not in _MODELS:
        _MODELS[vl.BACKEND] = vl.SentenceVAE(V, E, H, D)
    return _MODELS[vl.BACKEND]
