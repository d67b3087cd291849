"""Behaviour of the image VAE, the IWAE bound and evaluation, in both backends; bad input."""

import numpy as np
import pytest
from support import to_np as _np


def vl_tensor(vl, a):
    if vl.BACKEND == "torch":
        import torch
        return torch.as_tensor(np.float32(a))
    return np.float32(a)


RNG = np.random.default_rng(0)
X = RNG.random((5, 28, 28)).astype(np.float32)


@pytest.mark.parametrize("arch", ["mlp", "conv"])
def test_shapes(vl, arch):
    model = vl.VAE(arch, latent_dim=3, hidden_dim=16)
    mu, logvar = model.encode(X)
    assert _np(mu).shape == _np(logvar).shape == (5, 3)
    assert _np(model.decode(_np(mu))).shape == (5, 28, 28)
    assert model.reconstruct(X).shape == (5, 28, 28)
    samples = model.sample(4, seed=3)
    assert samples.shape == (4, 28, 28) and samples.min() >= 0 and samples.max() <= 1
    np.testing.assert_array_equal(samples, model.sample(4, seed=3))  # seeded draws repeat


def test_elbo_terms_add_up_and_beta_weights_the_kl(vl):
    model = vl.VAE("mlp", latent_dim=4, hidden_dim=16)
    eps = RNG.standard_normal((5, 4)).astype(np.float32)
    terms = model.elbo(X, eps=eps)
    np.testing.assert_allclose(_np(terms.elbo), _np(terms.log_likelihood) - _np(terms.kl), rtol=1e-6)
    weighted = model.elbo(X, beta=3.0, eps=eps)
    np.testing.assert_allclose(_np(weighted.elbo), _np(terms.log_likelihood) - 3.0 * _np(terms.kl), rtol=1e-6)
    np.testing.assert_allclose(_np(terms.kl), _np(vl.gaussian_kl(*model.encode(X))), rtol=1e-6)


def test_iwae_bound_with_one_sample_is_the_single_sample_elbo_and_chunking_does_not_change_it(vl):
    model = vl.VAE("mlp", latent_dim=4, hidden_dim=16)
    eps = RNG.standard_normal((30, 5, 4)).astype(np.float32)
    # k = 1: log p(x|z) + log p(z) - log q(z|x) at z = mu + sigma * eps, the ELBO with a
    # Monte Carlo KL where model.elbo uses the closed form.
    mu, logvar = (_np(t) for t in model.encode(X))
    z = mu + np.exp(0.5 * logvar) * eps[0]
    log_ratio = _np(vl.log_normal_pdf(*(vl_tensor(vl, a) for a in (z, 0 * z, 0 * z))))
    log_ratio = log_ratio - _np(vl.log_normal_pdf(*(vl_tensor(vl, a) for a in (z, mu, logvar))))
    expected = _np(model.elbo(X, eps=eps[0]).log_likelihood) + log_ratio
    np.testing.assert_allclose(_np(vl.iwae_bound(model, X, k=1, eps=eps[:1])), expected, rtol=1e-5)
    np.testing.assert_allclose(
        _np(vl.iwae_bound(model, X, k=30, chunk_size=7, batch_size=2, eps=eps)),
        _np(vl.iwae_bound(model, X, k=30, chunk_size=30, eps=eps)), rtol=1e-5)


def test_iwae_bound_tightens_with_k_and_k_1000_fits_in_memory(vl):
    model = vl.VAE("mlp", latent_dim=4, hidden_dim=16)
    elbo = np.mean([_np(model.elbo(X).elbo).mean() for _ in range(20)])
    bound = _np(vl.iwae_bound(model, X, k=1000)).mean()
    assert bound > elbo  # the gap is E KL(q(z|x) || p(z|x)) > 0 for an untrained encoder


def test_evaluate_reports_nats_and_is_repeatable(vl):
    model = vl.VAE("mlp", latent_dim=4, hidden_dim=16)
    first = vl.evaluate(model, X, k=20)
    assert set(first) == {"elbo", "log_likelihood", "kl", "log_px"}
    assert first["elbo"] == pytest.approx(first["log_likelihood"] - first["kl"], rel=1e-5)
    assert first["log_px"] >= first["elbo"] - 1.0
    assert vl.evaluate(model, X, k=20) == first  # seeded noise
    assert vl.evaluate(model, X, k=20, seed=1) != first
    mu, logvar = vl.encode_dataset(model, X, batch_size=2)
    assert mu.shape == logvar.shape == (5, 4) and isinstance(mu, np.ndarray)


def test_gaussian_likelihood_accepts_values_outside_unit_range(vl):
    model = vl.VAE("mlp", latent_dim=2, hidden_dim=8, likelihood="gaussian")
    x = X * 3 - 1  # grey levels in [-1, 2)
    terms = model.elbo(x, eps=np.zeros((5, 2), np.float32))  # z = mu: the decoded means below
    mean = _np(model.decode(model.encode(x)[0])).reshape(5, -1)
    # sigma starts at 1: log N(x | mean, 1) summed over the 784 pixels, computed here
    by_hand = -0.5 * ((x.reshape(5, -1) - mean) ** 2).sum(1) - 784 * 0.5 * np.log(2 * np.pi)
    np.testing.assert_allclose(_np(terms.log_likelihood), by_hand, rtol=1e-5)
    np.testing.assert_allclose(_np(terms.elbo), by_hand - _np(terms.kl), rtol=1e-5)


# -- bad input: each says, in one line, which argument is wrong and what was expected --------
BAD_IMAGES = [
    (X * 255, ValueError, r"x: expected pixel values in \[0, 1\], got values in \[0.04\d+, 254.\d+\] \(divide by 255.0\?\)"),
    ((X * 255).astype(np.uint8), TypeError, r"x: expected floating-point pixels in \[0, 1\], got an integer dtype"),
    (X.reshape(5, 784), ValueError, r"x: expected a batch of 28x28 images with shape \(batch, 28, 28\), got shape \(5, 784\)"),
    (np.where(np.eye(28, dtype=bool), np.nan, X).astype(np.float32), ValueError, r"x: contains NaN values"),
    (np.zeros((0, 28, 28), np.float32), ValueError, r"x: expected at least one image, got an empty batch"),
]


@pytest.mark.parametrize("bad,error,message", BAD_IMAGES, ids=["0-255", "uint8", "flat", "nan", "empty"])
def test_bad_images_are_refused_with_one_line(vl, bad, error, message):
    model = vl.VAE("mlp", latent_dim=2, hidden_dim=8)
    with pytest.raises(error, match=message) as info:
        model.elbo(bad)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("call,message", [
    (lambda vl, m: vl.iwae_bound(m, X, k=0), r"k: expected an integer >= 1, got 0"),
    (lambda vl, m: vl.iwae_bound(m, X, k=3, eps=np.zeros((3, 5, 9), np.float32)),
     r"eps: expected shape \(3, 5, 2\), got \(3, 5, 9\)"),
    (lambda vl, m: m.elbo(X, eps=np.zeros((5, 3), np.float32)), r"eps: expected shape \(5, 2\), got \(5, 3\)"),
    (lambda vl, m: m.decode(np.zeros((4, 3), np.float32)), r"z: expected shape \(batch, 2\), got \(4, 3\)"),
    (lambda vl, m: m.sample(0), r"n: expected an integer >= 1, got 0"),
    (lambda vl, m: vl.VAE("transformer"), r"architecture: expected one of 'mlp', 'conv', got 'transformer'"),
    (lambda vl, m: vl.VAE("mlp", likelihood="poisson"), r"likelihood: expected one of 'bernoulli', 'gaussian', got 'poisson'"),
    (lambda vl, m: vl.VAE("mlp", latent_dim=0), r"latent_dim: expected an integer >= 1, got 0"),
    (lambda vl, m: vl.seed_everything(-1), r"seed: expected a non-negative integer, got -1"),
], ids=["k<1", "iwae-eps", "elbo-eps", "z-shape", "n<1", "architecture", "likelihood", "latent_dim", "seed"])
def test_bad_arguments_are_refused_with_one_line(vl, call, message):
    model = vl.VAE("mlp", latent_dim=2, hidden_dim=8)
    with pytest.raises((ValueError, TypeError), match=message) as info:
        call(vl, model)
    assert "\n" not in str(info.value)
