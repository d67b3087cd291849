"""ConditionalVAE, IWAE and fit_conditional (chapter 6), in both backends."""

import numpy as np
import pytest
from support import to_np as _np

from vaelib import keras as vk
from vaelib import torch as vt

BACKENDS = [pytest.param(vt, id="torch"), pytest.param(vk, id="keras")]


def _images(n=6, seed=0):
    return np.random.default_rng(seed).random((n, 28, 28)).astype(np.float32)


def _one_line_error(exc_type, match, fn, *args, **kwargs):
    with pytest.raises(exc_type, match=match) as info:
        fn(*args, **kwargs)
    assert "\n" not in str(info.value)
    return str(info.value)


# ---------------------------------------------------------------- ConditionalVAE

@pytest.mark.parametrize("vl", BACKENDS)
def test_conditional_vae_shapes(vl):
    model = vl.ConditionalVAE(num_classes=10, latent_dim=5, hidden_dim=16)
    x, y = _images(), np.array([0, 1, 2, 3, 9, 9])
    mu, logvar = model.encode(x, y)
    assert tuple(mu.shape) == tuple(logvar.shape) == (6, 5)
    assert tuple(model.decode(_np(mu), y).shape) == (6, 28, 28)
    terms = model.elbo(x, y)
    assert all(tuple(t.shape) == (6,) for t in terms)
    np.testing.assert_allclose(_np(terms.elbo), _np(terms.log_likelihood) - _np(terms.kl), rtol=1e-5)
    assert model.reconstruct(x, y).shape == (6, 28, 28)


@pytest.mark.parametrize("vl", BACKENDS)
def test_conditional_sample_returns_the_requested_number_per_class(vl):
    model = vl.ConditionalVAE(num_classes=10, latent_dim=5, hidden_dim=16)
    labels = np.repeat(np.arange(10), 3)
    images = model.sample(labels, seed=3)
    assert isinstance(images, np.ndarray) and images.shape == (30, 28, 28)
    assert images.min() >= 0.0 and images.max() <= 1.0
    np.testing.assert_array_equal(images, model.sample(labels, seed=3))  # seeded: reproducible
    assert model.sample([4], seed=0).shape == (1, 28, 28)


@pytest.mark.parametrize("vl", BACKENDS)
def test_the_label_changes_the_decoded_image(vl):
    model = vl.ConditionalVAE(num_classes=3, latent_dim=4, hidden_dim=16)
    z = np.zeros((3, 4), dtype=np.float32)
    means = model.decode_means(z, [0, 1, 2])
    assert np.abs(means[0] - means[1]).max() > 1e-4 and np.abs(means[1] - means[2]).max() > 1e-4


@pytest.mark.parametrize("vl", BACKENDS)
def test_conditional_bad_labels_are_named_in_one_line(vl):
    model = vl.ConditionalVAE(num_classes=10, latent_dim=4, hidden_dim=16)
    x = _images(3)
    msg = _one_line_error(ValueError, r"^y: ", model.elbo, x, [0, 1, 10])
    assert "[0, 9]" in msg and "[0, 10]" in msg
    _one_line_error(ValueError, r"^y: .*got values in \[-1, 1\]", model.elbo, x, [0, 1, -1])
    _one_line_error(ValueError, r"^y: .*shape \(3,\), got shape \(3, 1\)", model.elbo, x, [[0], [1], [2]])
    _one_line_error(ValueError, r"^y: expected 3 labels \(one per image\), got 2", model.elbo, x, [0, 1])
    _one_line_error(TypeError, r"^y: expected integer class indices", model.elbo, x, [0.5, 1, 2])
    _one_line_error(ValueError, r"^labels: .*\[0, 9\]", model.sample, [3, 12])
    _one_line_error(ValueError, r"^num_classes: ", vl.ConditionalVAE, num_classes=0)


@pytest.mark.parametrize("vl", BACKENDS)
def test_fit_conditional_trains_and_checks_its_data(vl):
    model = vl.ConditionalVAE(num_classes=10, latent_dim=4, hidden_dim=32)
    x, y = _images(64), np.arange(64) % 10
    history = vl.fit_conditional(model, x, y, x[:16], y[:16], epochs=3, batch_size=32, seed=0, verbose=False)
    assert {"loss", "log_likelihood", "kl", "val_loss", "val_log_likelihood", "val_kl"} <= set(history)
    assert len(history["loss"]) == 3 and history.steps == 6
    assert history["loss"][-1] < history["loss"][0]
    _one_line_error(ValueError, r"^y_train: expected 64 labels", vl.fit_conditional, model, x, y[:10], epochs=1)
    _one_line_error(ValueError, r"^y_val: ", vl.fit_conditional, model, x, y, x[:4], epochs=1)
    _one_line_error(TypeError, r"^model: expected a ConditionalVAE, got VAE",
                    vl.fit_conditional, vl.VAE(latent_dim=2, hidden_dim=8), x, y)


def test_fit_conditional_is_reproducible_with_a_seed():
    x, y = _images(32), np.arange(32) % 10
    losses = []
    for _ in range(2):
        vt.seed_everything(5)
        model = vt.ConditionalVAE(num_classes=10, latent_dim=4, hidden_dim=16)
        losses.append(vt.fit_conditional(model, x, y, epochs=2, batch_size=8, seed=5, verbose=False)["loss"])
    assert losses[0] == losses[1]


# ---------------------------------------------------------------- IWAE

@pytest.mark.parametrize("vl", BACKENDS)
def test_iwae_with_k1_is_the_vae_objective_for_the_same_noise(vl):
    vt.seed_everything(0)
    vae = vl.VAE(latent_dim=5, hidden_dim=16)
    iwae = vl.IWAE(latent_dim=5, hidden_dim=16, k=1)
    vl.import_weights(iwae, vl.export_weights(vae))
    x = _images(8)
    eps = np.random.default_rng(2).standard_normal((1, 8, 5)).astype(np.float32)
    for beta in (1.0, 3.0):
        np.testing.assert_allclose(_np(iwae.objective(x, beta=beta, eps=eps)),
                                   _np(vae.elbo(x, beta=beta, eps=eps[0]).elbo), rtol=1e-6)


def test_iwae_k1_training_loss_equals_the_vae_loss_for_the_same_noise():
    import torch

    vae, iwae = vt.VAE(latent_dim=5, hidden_dim=16), vt.IWAE(latent_dim=5, hidden_dim=16, k=1)
    vt.import_weights(iwae, vt.export_weights(vae))
    x = torch.as_tensor(_images(8))
    torch.manual_seed(7)
    want = vae.loss_terms(x, 1.0)
    torch.manual_seed(7)
    got = iwae.loss_terms(x, 1.0)
    for name in ("loss", "log_likelihood", "kl"):
        assert float(got[name].detach()) == pytest.approx(float(want[name].detach()), rel=1e-6)


@pytest.mark.parametrize("vl", BACKENDS)
def test_iwae_bound_is_at_least_the_average_single_sample_bound(vl):
    vt.seed_everything(0)
    model = vl.IWAE(latent_dim=5, hidden_dim=16, k=10)
    x = _images(8)
    eps = np.random.default_rng(4).standard_normal((10, 8, 5)).astype(np.float32)
    bound = _np(model.objective(x, eps=eps))
    assert bound.shape == (8,)
    # Jensen, sample by sample: log mean_j w_j >= mean_j log w_j (for the same 10 draws).
    singles = np.stack([_np(vl.iwae_bound(model, x, k=1, eps=eps[j : j + 1])) for j in range(10)])
    assert np.all(bound >= singles.mean(0) - 1e-4)
    assert np.all(bound <= singles.max(0) + 1e-4)  # and never above the best single weight


def test_iwae_bound_is_above_the_elbo_on_average_after_a_little_training():
    vt.seed_everything(0)
    data = (_images(128, seed=1) > 0.7).astype(np.float32)
    model = vt.IWAE(latent_dim=4, hidden_dim=32, k=5)
    vt.fit(model, data, epochs=2, batch_size=32, verbose=False)
    elbo = float(vt.evaluate(model, data)["elbo"])
    vt.seed_everything(1)
    bound = float(_np(vt.iwae_bound(model, data, k=20)).mean())
    assert bound > elbo


@pytest.mark.parametrize("vl", BACKENDS)
def test_iwae_trains_with_the_standard_fit(vl):
    model = vl.IWAE(latent_dim=4, hidden_dim=32, k=3)
    x = _images(48)
    history = vl.fit(model, x, x[:8], epochs=2, batch_size=24, seed=0, verbose=False)
    assert {"loss", "log_likelihood", "kl", "val_loss"} <= set(history)
    assert np.all(np.isfinite(history["loss"]))


@pytest.mark.parametrize("vl", BACKENDS)
def test_iwae_bad_input_is_named_in_one_line(vl):
    _one_line_error(ValueError, r"^k: expected an integer >= 1, got 0", vl.IWAE, k=0)
    _one_line_error(TypeError, r"^k: ", vl.IWAE, k=2.5)
    model = vl.IWAE(latent_dim=3, hidden_dim=8, k=2)
    _one_line_error(ValueError, r"^eps: expected shape \(2, 4, 3\), got \(4, 3\)",
                    model.objective, _images(4), eps=np.zeros((4, 3), np.float32))
    _one_line_error(ValueError, r"^x: ", model.objective, _images(4) * 255)


@pytest.mark.parametrize("vl", BACKENDS)
def test_fit_conditional_stops_on_a_nan_loss_and_names_the_step(vl):
    # The same guard as fit's: the Keras conditional VAE once had its own step without it.
    model = vl.ConditionalVAE(num_classes=10, latent_dim=2, hidden_dim=8)
    poisoned = lambda step: float("nan") if step >= 4 else 1.0  # noqa: E731
    x, y = _images(64), np.arange(64) % 10
    with pytest.raises(FloatingPointError, match=r"loss became NaN at step 5 \(epoch 1\)"):
        vl.fit_conditional(model, x, y, epochs=2, batch_size=8, beta=poisoned, seed=0, verbose=False)
