"""The closed forms of vaelib's losses, checked against torch.distributions and Monte Carlo."""

import numpy as np
import pytest
import torch
from support import to_np as _np
from torch.distributions import Bernoulli, Normal, kl_divergence


def _call(vl, fn, *arrays):
    """Call a backend's loss on float32 arrays converted to that backend's tensors."""
    if vl.BACKEND == "torch":
        return _np(getattr(vl, fn)(*(torch.as_tensor(a) for a in arrays)))
    import keras

    return _np(getattr(vl, fn)(*(keras.ops.convert_to_tensor(a) for a in arrays)))


RNG = np.random.default_rng(0)
MU = RNG.normal(size=(6, 5)).astype(np.float32)
LOGVAR = RNG.normal(size=(6, 5)).astype(np.float32)


def test_gaussian_kl_matches_torch_distributions(vl):
    q = Normal(torch.as_tensor(MU), torch.exp(0.5 * torch.as_tensor(LOGVAR)))
    expected = kl_divergence(q, Normal(0.0, 1.0)).sum(-1).numpy()
    np.testing.assert_allclose(_call(vl, "gaussian_kl", MU, LOGVAR), expected, rtol=1e-5)
    assert _call(vl, "gaussian_kl_per_dim", MU, LOGVAR).shape == (6, 5)


def test_gaussian_kl_matches_monte_carlo(vl):
    mu, logvar = np.float32([[0.3, -1.0]]), np.float32([[-1.2, 0.5]])
    z = mu + np.exp(0.5 * logvar) * np.random.default_rng(1).standard_normal((400_000, 2))
    log_q = -0.5 * (np.log(2 * np.pi) + logvar + (z - mu) ** 2 / np.exp(logvar))
    log_p = -0.5 * (np.log(2 * np.pi) + z**2)
    mc = np.mean((log_q - log_p).sum(1))
    assert _call(vl, "gaussian_kl", mu, logvar)[0] == pytest.approx(mc, abs=0.01)
    # By hand: 0.5 * (0.3^2 + e^-1.2 - 1 + 1.2) = 0.2956.
    assert _call(vl, "gaussian_kl", np.float32([[0.3]]), np.float32([[-1.2]]))[0] == pytest.approx(0.2956, abs=1e-4)


def test_gaussian_kl_is_zero_at_the_prior(vl):
    zeros = np.zeros((3, 4), np.float32)
    np.testing.assert_array_equal(_call(vl, "gaussian_kl", zeros, zeros), np.zeros(3))


def test_bernoulli_log_likelihood_matches_torch_and_is_exact_for_extreme_logits(vl):
    x = (RNG.random((4, 28, 28)) > 0.5).astype(np.float32)
    logits = RNG.normal(scale=3.0, size=(4, 28, 28)).astype(np.float32)
    expected = Bernoulli(logits=torch.as_tensor(logits)).log_prob(torch.as_tensor(x)).flatten(1).sum(1).numpy()
    np.testing.assert_allclose(_call(vl, "bernoulli_log_likelihood", x, logits), expected, rtol=1e-5)
    # A pixel that is 1 with logit 100 costs log(1 + e^-100) ~ 0, not log(0) = -inf.
    x1, l1 = np.ones((1, 2, 2), np.float32), np.full((1, 2, 2), 100.0, np.float32)
    assert _call(vl, "bernoulli_log_likelihood", x1, l1)[0] == pytest.approx(0.0, abs=1e-6)
    assert _call(vl, "bernoulli_log_likelihood", x1, -l1)[0] == pytest.approx(-400.0, rel=1e-6)


def test_gaussian_log_likelihood_matches_torch(vl):
    x = RNG.random((3, 28, 28)).astype(np.float32)
    mean = RNG.random((3, 28, 28)).astype(np.float32)
    log_sigma = np.float32(-1.3)
    expected = Normal(torch.as_tensor(mean), float(np.exp(log_sigma))).log_prob(torch.as_tensor(x)).flatten(1).sum(1)
    np.testing.assert_allclose(_call(vl, "gaussian_log_likelihood", x, mean, log_sigma), expected.numpy(), rtol=1e-5)


def test_log_normal_pdf_matches_torch(vl):
    z = RNG.normal(size=(6, 5)).astype(np.float32)
    expected = Normal(torch.as_tensor(MU), torch.exp(0.5 * torch.as_tensor(LOGVAR))).log_prob(torch.as_tensor(z)).sum(-1)
    np.testing.assert_allclose(_call(vl, "log_normal_pdf", z, MU, LOGVAR), expected.numpy(), rtol=1e-5)


def test_free_bits_clamps_each_dimension_batch_mean(vl):
    kl = np.float32([[0.1, 2.0, 0.0], [0.3, 4.0, 0.0]])  # batch means 0.2, 3.0, 0.0
    assert float(_call(vl, "free_bits_kl", kl, np.float32(0.5))) == pytest.approx(0.5 + 3.0 + 0.5)
    assert float(_call(vl, "free_bits_kl", kl, np.float32(0.0))) == pytest.approx(3.2)
    with pytest.raises(ValueError, match="free_bits: expected a non-negative number"):
        getattr(vl, "free_bits_kl")(kl, -1.0)


# -- the checked public losses keep what the unchecked kernels give ------------------------
def test_the_checked_losses_keep_gradients_and_float64_in_torch():
    from vaelib import torch as vt

    mu = torch.as_tensor(MU.astype(np.float64), dtype=torch.float64).requires_grad_()
    logvar = torch.zeros_like(mu)
    kl = vt.gaussian_kl(mu, logvar)  # 0.5 * sum mu^2 at logvar = 0: its gradient is mu
    assert kl.dtype == torch.float64
    kl.sum().backward()
    np.testing.assert_allclose(mu.grad.numpy(), MU.astype(np.float64), rtol=1e-12)
    np.testing.assert_allclose(kl.detach().numpy(), 0.5 * (MU.astype(np.float64) ** 2).sum(-1), rtol=1e-12)


def test_the_checked_losses_trace_in_keras_graphs_and_check_static_shapes():
    import tensorflow as tf

    from vaelib import keras as vk

    traced = tf.function(lambda mu, logvar: vk.gaussian_kl(mu, logvar))
    np.testing.assert_allclose(traced(tf.constant(MU), tf.constant(LOGVAR)).numpy(),
                               _call(vk, "gaussian_kl", MU, LOGVAR), rtol=1e-6)
    # Traced, the refusal comes at tracing time; TensorFlow puts its "in user code" frames above it.
    with pytest.raises(ValueError, match=r"logvar: expected the shape of mu \(6, 5\), got shape \(6, 4\)$"):
        traced(tf.constant(MU), tf.constant(LOGVAR[:, :4]))
    with tf.GradientTape() as tape:  # an eager tensor goes through itself: the tape keeps watching it
        mu = tf.Variable(MU)
        kl = tf.reduce_sum(vk.gaussian_kl(mu, tf.zeros_like(mu)))
    np.testing.assert_allclose(tape.gradient(kl, mu).numpy(), MU, rtol=1e-6)
