"""posterior_gaps: the approximation and amortization gaps (Cremer et al., 2018), in both backends.

The main check is a model whose answer is known in closed form: a linear-Gaussian decoder
p(x | z) = N(A z + c, sigma^2 I) with orthogonal columns of A, whose exact posterior is a
diagonal Gaussian (so the approximation gap is zero) and whose log p(x) is a Gaussian density.
"""

import numpy as np
import pytest

from vaelib import keras as vk
from vaelib import torch as vt

BACKENDS = [pytest.param(vt, id="torch"), pytest.param(vk, id="keras")]
D, LATENT, HIDDEN = 784, 3, 8
SIGMA = 0.7


def _linear_gaussian(vl):
    """A VAE whose decoder is exactly z -> A z + c and whose encoder is a perturbed exact posterior.

    relu(u) - relu(-u) = u, so pairs of hidden units pass a linear map through the ReLU layers.
    Returns the model and the closed-form quantities: A, c, and the exact posterior's
    affine map mu = M (x - c) and its log-variances.
    """
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.standard_normal((D, LATENT)))
    A = q * np.array([2.0, 1.2, 0.6])  # orthogonal columns: A^T A is diagonal
    c = rng.normal(0.0, 0.3, D)
    post_var = 1.0 / (1.0 + np.sum(A**2, axis=0) / SIGMA**2)
    M = (post_var[:, None] * A.T) / SIGMA**2  # exact posterior mean: M (x - c)
    eye, spare = np.eye(LATENT), HIDDEN - 2 * LATENT  # the spare hidden units stay at zero
    model = vl.VAE("mlp", latent_dim=LATENT, hidden_dim=HIDDEN, likelihood="gaussian")
    w = {name: np.zeros_like(value) for name, value in vl.export_weights(model).items()}
    w["log_sigma"] = np.array(np.log(SIGMA), dtype=np.float32)
    w["decoder.hidden.kernel"] = np.concatenate([eye, -eye, np.zeros((LATENT, spare))], axis=1)
    w["decoder.out.kernel"] = np.concatenate([A.T, -A.T, np.zeros((spare, D))])
    w["decoder.out.bias"] = c
    w["encoder.hidden.kernel"] = np.concatenate([M.T, -M.T, np.zeros((D, spare))], axis=1)
    # The encoder is off on purpose: means 1.15 times too far out and shifted, variances e^0.6 times too wide.
    w["encoder.mu.kernel"] = 1.15 * np.concatenate([eye, -eye, np.zeros((spare, LATENT))])
    w["encoder.mu.bias"] = -1.15 * M @ c + 0.2 * np.sqrt(post_var)
    w["encoder.logvar.bias"] = np.log(post_var) + 0.6
    vl.import_weights(model, {name: np.asarray(value, dtype=np.float32) for name, value in w.items()})
    return model, A, c, M, post_var


def _exact(A, c, M, post_var, x):
    """log p(x), the exact posterior (mean, variance) and the encoder's KL from it, per example."""
    r = x.reshape(len(x), -1).astype(np.float64) - c
    cov = SIGMA**2 * np.eye(D) + A @ A.T
    _, logdet = np.linalg.slogdet(cov)
    log_px = -0.5 * (D * np.log(2 * np.pi) + logdet + np.sum(r * np.linalg.solve(cov, r.T).T, axis=1))
    mean = r @ M.T
    return log_px, mean


def _kl_diag(m1, v1, m2, v2):
    return 0.5 * np.sum(np.log(v2 / v1) + (v1 + (m1 - m2) ** 2) / v2 - 1.0, axis=1)


def _data(A, c, n=6, seed=1):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, LATENT))
    return (z @ A.T + c + SIGMA * rng.standard_normal((n, D))).reshape(n, 28, 28).astype(np.float32)


@pytest.mark.parametrize("vl", BACKENDS)
def test_on_a_linear_gaussian_model_the_gaps_match_their_closed_forms(vl):
    model, A, c, M, post_var = _linear_gaussian(vl)
    x = _data(A, c)
    gaps = vl.posterior_gaps(model, x, steps=300, k=1000, seed=0)
    log_px, post_mean = _exact(A, c, M, post_var, x)
    enc_mu, enc_logvar = (vl.to_numpy(t).astype(np.float64) for t in model.encode(x))
    kl_encoder = _kl_diag(enc_mu, np.exp(enc_logvar), post_mean, post_var)  # = log p(x) - ELBO(encoder)
    assert np.all(kl_encoder > 0.3)  # the encoder is measurably off: there is an amortization gap to find
    # The IWAE bound with K = 1000 from a nearby proposal is log p(x) to a few hundredths of a nat.
    np.testing.assert_allclose(gaps["log_px"], log_px, atol=0.03)
    np.testing.assert_allclose(gaps["elbo_encoder"], log_px - kl_encoder, atol=0.15)
    # The true posterior is in the family: the optimizer finds it, and the approximation gap vanishes.
    np.testing.assert_allclose(gaps["mu"], post_mean, atol=0.03)
    np.testing.assert_allclose(np.exp(gaps["logvar"]), np.broadcast_to(post_var, post_mean.shape), rtol=0.1)
    np.testing.assert_allclose(gaps["elbo_optimized"], log_px, atol=0.1)
    assert np.all(np.abs(gaps["approximation_gap"]) < 0.1), gaps["approximation_gap"]
    np.testing.assert_allclose(gaps["amortization_gap"], kl_encoder, atol=0.15)
    # By construction the two gaps add up to what the encoder's ELBO misses of the log p(x) estimate.
    np.testing.assert_allclose(gaps["approximation_gap"] + gaps["amortization_gap"],
                               gaps["log_px"] - gaps["elbo_encoder"], rtol=0, atol=1e-9)
    assert gaps["trace"].shape == (300,)
    # The trace is each step's Monte Carlo ELBO: at the end it hovers around the optimized ELBO.
    assert abs(gaps["trace"][-50:].mean() - gaps["elbo_optimized"].mean()) < 0.2


@pytest.mark.parametrize("vl", BACKENDS)
def test_on_a_trained_reference_vae_the_optimized_elbo_beats_the_encoder(vl):
    from vaelib import data

    model = vl.load_reference("vae_mlp")
    x = data.binarize(data.load_fashion_mnist("test").images[:8], seed=2)
    gaps = vl.posterior_gaps(model, x, steps=150, k=500, seed=0)
    # Both ELBOs use the same noise, so their difference is nearly free of Monte Carlo noise.
    assert np.all(gaps["amortization_gap"] > -0.05), gaps["amortization_gap"]
    assert gaps["amortization_gap"].mean() > 0.5
    # The IWAE bound (K = 500) lies above the best Gaussian's ELBO: an approximation gap remains.
    assert gaps["approximation_gap"].mean() > 0.0
    assert np.all(gaps["approximation_gap"] > -0.5), gaps["approximation_gap"]
    # The encoder's ELBO agrees with the model's own ELBO averaged over other noise.
    eps = np.random.default_rng(5).standard_normal((200, len(x), 20)).astype(np.float32)
    elbo_mc = np.mean([vl.to_numpy(model.elbo(x, eps=e).elbo) for e in eps], axis=0)
    np.testing.assert_allclose(gaps["elbo_encoder"], elbo_mc, atol=1.0)
    assert abs(gaps["elbo_encoder"].mean() - elbo_mc.mean()) < 0.5


def test_torch_and_keras_agree_from_the_same_weights_and_seed():
    torch_model, A, c, *_ = _linear_gaussian(vt)
    keras_model = vk.VAE("mlp", latent_dim=LATENT, hidden_dim=HIDDEN, likelihood="gaussian")
    vk.import_weights(keras_model, vt.export_weights(torch_model))
    x = _data(A, c, n=4, seed=3)
    g_t = vt.posterior_gaps(torch_model, x, steps=100, samples=2, k=200, seed=7)
    g_k = vk.posterior_gaps(keras_model, x, steps=100, samples=2, k=200, seed=7)
    assert set(g_t) == set(g_k)
    for key in g_t:
        np.testing.assert_allclose(g_t[key], g_k[key], rtol=1e-4, atol=1e-3, err_msg=key)


@pytest.mark.parametrize("vl", BACKENDS)
def test_the_same_seed_repeats_the_result(vl):
    model = vl.VAE("mlp", latent_dim=2, hidden_dim=16)
    x = np.random.default_rng(0).random((3, 28, 28)).astype(np.float32)
    a, b = (vl.posterior_gaps(model, x, steps=5, k=10, seed=3) for _ in range(2))
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    assert not np.array_equal(a["elbo_encoder"], vl.posterior_gaps(model, x, steps=5, k=10, seed=4)["elbo_encoder"])


@pytest.mark.parametrize("vl", BACKENDS)
@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(steps=0), ValueError, r"^steps: expected an integer >= 1, got 0$"),
    (dict(steps=2.5), TypeError, r"^steps: expected an integer >= 1"),
    (dict(learning_rate=0.0), ValueError, r"^learning_rate: expected a positive number, got 0.0$"),
    (dict(learning_rate="fast"), ValueError, r"^learning_rate: expected a positive number, got 'fast'$"),
    (dict(samples=0), ValueError, r"^samples: expected an integer >= 1"),
    (dict(k=-3), ValueError, r"^k: expected an integer >= 1, got -3$"),
    (dict(seed=-1), ValueError, r"^seed: expected a non-negative integer, got -1$"),
    (dict(seed=None), ValueError, r"^seed: expected a non-negative integer, got None$"),
])
def test_bad_arguments_get_one_line_errors(vl, kwargs, exc, match):
    model = vl.VAE("mlp", latent_dim=2, hidden_dim=16)
    x = np.random.default_rng(0).random((2, 28, 28)).astype(np.float32)
    with pytest.raises(exc, match=match) as info:
        vl.posterior_gaps(model, x, **kwargs)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("vl", BACKENDS)
def test_bad_models_and_images_get_one_line_errors(vl):
    x = np.random.default_rng(0).random((2, 28, 28)).astype(np.float32)
    with pytest.raises(TypeError, match=r"^model: expected an unconditional image VAE \(VAE or IWAE\), got ConditionalVAE$"):
        vl.posterior_gaps(vl.ConditionalVAE(10, latent_dim=2, hidden_dim=16), x)
    with pytest.raises(TypeError, match=r"^model: expected an image VAE \(VAE or IWAE\), got str$"):
        vl.posterior_gaps("vae_mlp", x)
    with pytest.raises(ValueError, match=r"^x: expected a batch of 28x28 images"):
        vl.posterior_gaps(vl.VAE("mlp", latent_dim=2, hidden_dim=16), x[:, :27])
