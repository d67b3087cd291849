"""The units contract (book/index.md, "Notation"), in both backends.

Every loss, ELBO, log-likelihood and KL that ``vaelib`` returns is per example, summed over
pixels (or tokens) and latent dimensions, in nats; a batch or data-set figure is the mean of
those per-example sums. Each test sets a tiny model's weights from NumPy and recomputes the
numbers in NumPy (float64) from those weights: a mean over pixels or tokens, a log base 2, a
KL averaged over latent dimensions or a padding token counted would each miss by a factor.

Perplexity (text) is exp(nats per token), so log2 of it is the bits per token, the text analogue
of bits per dimension = nats / (D ln 2); ``vaelib`` reports no bits per dimension for images
(the conversion is chapter 0's exercise, checked by tests/test_exercises_ch0.py).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from vaelib import reference
from vaelib.data import pad_batch

D = 28 * 28  # pixels
LATENT, HIDDEN, N = 3, 8, 6
LOG_2PI = math.log(2 * math.pi)


def _np(t) -> np.ndarray:
    return np.asarray(t.detach().cpu().numpy() if hasattr(t, "detach") else t, dtype=np.float64)


def _tensor(vl, a):
    """What a model's unvalidated ``loss_terms`` takes: a tensor of this backend."""
    if vl.BACKEND == "torch":
        import torch

        return torch.as_tensor(a)
    import keras

    return keras.ops.convert_to_tensor(a)


def _relu(a: np.ndarray) -> np.ndarray:
    return np.maximum(a, 0.0)


def _known_weights(vl, model, seed: int = 0, scale: float = 0.3, **fixed) -> dict[str, np.ndarray]:
    """Give every weight a NumPy-drawn value (``fixed`` overrides some); return them in float64."""
    rng = np.random.default_rng(seed)
    weights = {name: rng.normal(0.0, scale, value.shape) for name, value in vl.export_weights(model).items()}
    weights.update({name: np.broadcast_to(value, weights[name].shape).copy() for name, value in fixed.items()})
    vl.import_weights(model, {name: value.astype(np.float32) for name, value in weights.items()})
    return weights


# -- NumPy versions of the image model --------------------------------------------------------
def _encode(w, x, y_hot=None):
    inputs = x.reshape(len(x), -1) if y_hot is None else np.concatenate([x.reshape(len(x), -1), y_hot], 1)
    h = _relu(inputs @ w["encoder.hidden.kernel"] + w["encoder.hidden.bias"])
    return h @ w["encoder.mu.kernel"] + w["encoder.mu.bias"], h @ w["encoder.logvar.kernel"] + w["encoder.logvar.bias"]


def _decode(w, z, y_hot=None):
    z = z if y_hot is None else np.concatenate([z, y_hot], -1)
    h = _relu(z @ w["decoder.hidden.kernel"] + w["decoder.hidden.bias"])
    return h @ w["decoder.out.kernel"] + w["decoder.out.bias"]  # (..., 784)


def _log_lik(x, out, log_sigma=None):
    """log p(x | z) summed over the 784 pixels: Bernoulli on logits, or Gaussian with one sigma."""
    x = x.reshape(*x.shape[:1], D)
    if log_sigma is None:
        return np.sum(x * out - np.logaddexp(0.0, out), axis=-1)
    return np.sum(-0.5 * ((x - out) / np.exp(log_sigma)) ** 2 - log_sigma - 0.5 * LOG_2PI, axis=-1)


def _kl(mu, logvar):
    return 0.5 * np.sum(mu**2 + np.exp(logvar) - 1.0 - logvar, axis=-1)


def _log_normal(z, mu, logvar):
    return -0.5 * np.sum(LOG_2PI + logvar + (z - mu) ** 2 / np.exp(logvar), axis=-1)


def _images(seed: int = 1, binary: bool = True) -> np.ndarray:
    x = np.random.default_rng(seed).random((N, 28, 28))
    return (x < 0.4).astype(np.float32) if binary else x.astype(np.float32)


def _sure_posterior(vl, likelihood: str = "bernoulli"):
    """A VAE whose posterior is a point, up to sigma = e^-15: z = mu(x) whatever the noise, so
    functions that draw their own noise (fit, evaluate, loss_terms) give NumPy's numbers."""
    model = vl.VAE("mlp", latent_dim=LATENT, hidden_dim=HIDDEN, likelihood=likelihood)
    w = _known_weights(vl, model, **{"encoder.logvar.kernel": 0.0, "encoder.logvar.bias": -30.0})
    return model, w


# -- image models -----------------------------------------------------------------------------
@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_elbo_terms_are_per_image_sums_in_nats(vl, likelihood):
    model = vl.VAE("mlp", latent_dim=LATENT, hidden_dim=HIDDEN, likelihood=likelihood)
    w = _known_weights(vl, model, **({"log_sigma": -1.2} if likelihood == "gaussian" else {}))
    x = _images(binary=likelihood == "bernoulli")
    eps = np.random.default_rng(2).standard_normal((N, LATENT))
    mu, logvar = _encode(w, x)
    log_lik = _log_lik(x, _decode(w, mu + np.exp(0.5 * logvar) * eps), w.get("log_sigma"))
    kl = _kl(mu, logvar)

    terms = model.elbo(x, eps=eps.astype(np.float32))
    for got, expected in [(terms.log_likelihood, log_lik), (terms.kl, kl), (terms.elbo, log_lik - kl)]:
        assert _np(got).shape == (N,)
        np.testing.assert_allclose(_np(got), expected, rtol=2e-5)
    weighted = model.elbo(x, beta=2.5, eps=eps.astype(np.float32))
    np.testing.assert_allclose(_np(weighted.elbo), log_lik - 2.5 * kl, rtol=2e-5)


def test_conditional_elbo_is_a_per_image_sum_in_nats(vl):
    model = vl.ConditionalVAE(10, "mlp", latent_dim=LATENT, hidden_dim=HIDDEN)
    w = _known_weights(vl, model)
    x, y = _images(), np.arange(N) % 10
    y_hot = np.eye(10)[y]
    eps = np.random.default_rng(3).standard_normal((N, LATENT))
    mu, logvar = _encode(w, x, y_hot)
    log_lik = _log_lik(x, _decode(w, mu + np.exp(0.5 * logvar) * eps, y_hot))
    terms = model.elbo(x, y, eps=eps.astype(np.float32))
    np.testing.assert_allclose(_np(terms.log_likelihood), log_lik, rtol=2e-5)
    np.testing.assert_allclose(_np(terms.kl), _kl(mu, logvar), rtol=2e-5)


def test_iwae_bound_is_the_log_mean_of_per_image_importance_weights(vl):
    model = vl.VAE("mlp", latent_dim=LATENT, hidden_dim=HIDDEN)
    w = _known_weights(vl, model)
    x, k = _images(), 7
    eps = np.random.default_rng(4).standard_normal((k, N, LATENT))
    mu, logvar = _encode(w, x)
    z = mu + np.exp(0.5 * logvar) * eps  # (k, N, d)
    log_w = np.stack([_log_lik(x, _decode(w, z[j])) for j in range(k)])
    log_w += _log_normal(z, 0.0, 0.0) - _log_normal(z, mu, logvar)
    expected = np.logaddexp.reduce(log_w, axis=0) - math.log(k)
    bound = vl.iwae_bound(model, x, k=k, chunk_size=3, eps=eps.astype(np.float32))
    assert _np(bound).shape == (N,)
    np.testing.assert_allclose(_np(bound), expected, rtol=2e-5)


def test_loss_terms_are_batch_means_of_the_per_image_objective(vl):
    model, w = _sure_posterior(vl)
    x = _images()
    mu, logvar = _encode(w, x)
    log_lik, kl = _log_lik(x, _decode(w, mu)), _kl(mu, logvar)
    terms = model.loss_terms(_tensor(vl, x), 2.5)
    assert float(_np(terms["loss"])) == pytest.approx(-np.mean(log_lik - 2.5 * kl), rel=1e-5)
    assert float(_np(terms["log_likelihood"])) == pytest.approx(np.mean(log_lik), rel=1e-5)
    assert float(_np(terms["kl"])) == pytest.approx(np.mean(kl), rel=1e-5)


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_evaluate_and_image_evaluation_report_means_of_per_image_nats(vl, likelihood):
    model, w = _sure_posterior(vl, likelihood)
    x = _images(binary=likelihood == "bernoulli")
    mu, logvar = _encode(w, x)
    log_lik = _log_lik(x, _decode(w, mu), w.get("log_sigma"))
    kl = _kl(mu, logvar)
    expected = {"elbo": np.mean(log_lik - kl), "log_likelihood": np.mean(log_lik), "kl": np.mean(kl)}
    ours = vl.evaluate(model, x, batch_size=4)
    theirs = reference.image_evaluation(vl, model, x, n_log_px=0, batch_size=4)
    for name, value in expected.items():
        assert ours[name] == pytest.approx(value, rel=1e-5), name
        assert theirs[name] == pytest.approx(value, rel=1e-5), name


def test_image_evaluation_log_px_is_the_mean_iwae_bound_of_its_noise(vl):
    model = vl.VAE("mlp", latent_dim=LATENT, hidden_dim=HIDDEN)
    w = _known_weights(vl, model)
    x, k = _images(), 5
    eps = reference.evaluation_noise(50_000, (k, N, LATENT)).astype(np.float64)  # seed 0, first batch
    mu, logvar = _encode(w, x)
    z = mu + np.exp(0.5 * logvar) * eps
    log_w = np.stack([_log_lik(x, _decode(w, z[j])) for j in range(k)])
    log_w += _log_normal(z, 0.0, 0.0) - _log_normal(z, mu, logvar)
    result = reference.image_evaluation(vl, model, x, k=k, n_log_px=N, iwae_batch=N)
    assert result["log_px"] == pytest.approx(np.mean(np.logaddexp.reduce(log_w, 0) - math.log(k)), rel=1e-5)


def test_the_training_history_is_in_the_same_units(vl):
    # A learning rate of 1e-9 leaves the weights as they are, to float32 precision.
    model, w = _sure_posterior(vl)
    x = _images()
    mu, logvar = _encode(w, x)
    log_lik, kl = _log_lik(x, _decode(w, mu)), _kl(mu, logvar)
    history = vl.fit(model, x, x, epochs=1, batch_size=N, learning_rate=1e-9, verbose=False)
    for prefix in ("", "val_"):
        assert history[f"{prefix}loss"][0] == pytest.approx(-np.mean(log_lik - kl), rel=1e-5)
        assert history[f"{prefix}log_likelihood"][0] == pytest.approx(np.mean(log_lik), rel=1e-5)
        assert history[f"{prefix}kl"][0] == pytest.approx(np.mean(kl), rel=1e-5)


# -- text models --------------------------------------------------------------------------------
V, E, H = 12, 4, 5
EOS = 2


def _sentences() -> list[np.ndarray]:
    rng = np.random.default_rng(5)
    return [np.append(rng.integers(4, V, n), EOS) for n in (1, 4, 2, 7, 3)]  # w1 .. wn <eos>


def _fixed_output(vl, model, posterior=None):
    """Make every next-token distribution softmax(b), whatever the words before and z.

    With ``posterior = (m, l)`` the encoder outputs mu = m and logvar = l for every sentence.
    Returns the NumPy log-probabilities log softmax(b).
    """
    bias = np.random.default_rng(6).normal(0.0, 1.5, V)
    fixed = {"output_layer.kernel": 0.0, "output_layer.bias": bias}
    if posterior is not None:
        fixed.update({"to_mu.kernel": 0.0, "to_mu.bias": posterior[0], "to_logvar.kernel": 0.0, "to_logvar.bias": posterior[1]})
    _known_weights(vl, model, **fixed)
    b = bias.astype(np.float32).astype(np.float64)
    return b - np.logaddexp.reduce(b)


def test_sentence_terms_and_evaluation_are_per_sentence_sums_in_nats(vl):
    m, l = np.array([0.5, -1.0, 0.2]), np.array([-0.5, 0.3, -1.5])
    model = vl.SentenceVAE(V, E, H, LATENT)
    log_p = _fixed_output(vl, model, (m, l))
    seqs = _sentences()
    log_lik = np.array([log_p[s].sum() for s in seqs])  # every token, <eos> included, no padding
    kl = 0.5 * np.sum(m**2 + np.exp(l) - 1.0 - l)

    eps = np.random.default_rng(7).standard_normal((len(seqs), LATENT)).astype(np.float32)
    terms = model.elbo(pad_batch(seqs), eps=eps)
    np.testing.assert_allclose(_np(terms.log_likelihood), log_lik, rtol=1e-5)
    np.testing.assert_allclose(_np(terms.kl), np.full(len(seqs), kl), rtol=1e-5)
    np.testing.assert_allclose(_np(terms.elbo), log_lik - kl, rtol=1e-5)

    loss = model.loss_terms(_tensor(vl, pad_batch(seqs)), 2.0)
    assert float(_np(loss["loss"])) == pytest.approx(-np.mean(log_lik) + 2.0 * kl, rel=1e-5)

    out = vl.evaluate_text(model, seqs, batch_size=2, k=4)
    assert out["reconstruction"] == pytest.approx(-np.mean(log_lik), rel=1e-5)
    assert out["kl"] == pytest.approx(kl, rel=1e-5)
    assert out["neg_elbo"] == pytest.approx(kl - np.mean(log_lik), rel=1e-5)


def test_text_nll_and_perplexity_are_per_sentence_nats_and_nats_per_token(vl):
    # q(z|x) = p(z) and a decoder that ignores z: every importance weight is p(x), so the
    # k-sample NLL is exact. The language model's NLL is exact by construction.
    seqs = _sentences()
    tokens = sum(len(s) for s in seqs)
    for model in (vl.SentenceVAE(V, E, H, LATENT), vl.RNNLanguageModel(V, E, H)):
        posterior = (np.zeros(LATENT), np.zeros(LATENT)) if isinstance(model, vl.SentenceVAE) else None
        log_p = _fixed_output(vl, model, posterior)
        nats = -np.array([log_p[s].sum() for s in seqs])
        out = vl.evaluate_text(model, seqs, batch_size=2, k=3)
        assert out["tokens"] == tokens and out["sentences"] == len(seqs)
        assert out["nll"] == pytest.approx(nats.mean(), rel=1e-5)
        bits_per_token = nats.sum() / (tokens * math.log(2))
        assert out["perplexity"] == pytest.approx(2.0**bits_per_token, rel=1e-5)
        assert math.log2(out["perplexity"]) == pytest.approx(bits_per_token, rel=1e-5)
