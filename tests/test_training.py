"""fit in both backends: it learns, it is reproducible, it stops on NaN, it refuses bad settings."""

import numpy as np
import pytest

from vaelib.data import load_fashion_mnist
from vaelib.schedules import linear


@pytest.fixture(scope="module")
def images():
    return load_fashion_mnist("test").images[:600]


def _train(vl, images, seed, **kwargs):
    vl.seed_everything(seed)
    model = vl.VAE("mlp", latent_dim=4, hidden_dim=32)
    return vl.fit(model, images[:500], images[500:], epochs=2, batch_size=100, seed=seed, verbose=False, **kwargs)


def test_history_records_every_epoch_and_the_loss_falls(vl, images):
    history = _train(vl, images, 0)
    assert set(history) == {"loss", "log_likelihood", "kl", "val_loss", "val_log_likelihood", "val_kl"}
    assert all(len(values) == 2 for values in history.values())
    assert history.steps == 2 * 5
    assert history["loss"][1] < history["loss"][0]
    # The loss is the negative ELBO: reconstruction term minus KL, per example, in nats.
    assert history["loss"][0] == pytest.approx(-(history["log_likelihood"][0] - history["kl"][0]), rel=1e-4)
    assert 100 < history["val_loss"][-1] < 600  # nats per Fashion-MNIST image, an untrained-to-early range


def test_same_seed_gives_identical_losses(vl, images):
    first, second = _train(vl, images, 7), _train(vl, images, 7)
    assert first == second
    assert _train(vl, images, 8)["loss"] != first["loss"]


def test_dynamic_binarization_and_a_schedule_train(vl, images):
    history = _train(vl, images, 0, binarize=True, beta=linear(warmup_steps=5))
    # Every step minimises log-likelihood - beta * KL with the schedule's beta at that step:
    # 0, 0.2, ..., 0.8, then 1 for the second epoch's five steps.
    steps = history.per_step
    betas = np.minimum(np.arange(10) / 5, 1.0)
    expected = -(np.array(steps["log_likelihood"]) - betas * np.array(steps["kl"]))
    np.testing.assert_allclose(steps["loss"], expected, rtol=1e-4)
    # The first epoch's mean loss is its steps' (equal batches) and differs from the beta = 1 value.
    assert history["loss"][0] == pytest.approx(np.mean(steps["loss"][:5]), rel=1e-5)
    assert history["loss"][0] < -(history["log_likelihood"][0] - history["kl"][0])


def test_nan_loss_stops_training_and_names_the_step(vl, images):
    # A schedule that turns the KL weight into NaN from the fifth step (index 4) on.
    poisoned = lambda step: float("nan") if step >= 4 else 1.0  # noqa: E731
    with pytest.raises(FloatingPointError, match=r"loss became NaN at step 5 \(epoch 1\)"):
        _train(vl, images, 0, beta=poisoned)


@pytest.mark.parametrize("kwargs,error,message", [
    (dict(epochs=0), ValueError, r"epochs: expected an integer >= 1, got 0"),
    (dict(batch_size=2.5), TypeError, r"batch_size: expected an integer >= 1, got 2.5"),
    (dict(learning_rate=-0.1), ValueError, r"learning_rate: expected a positive number or a schedule, got -0.1"),
    (dict(beta=-1.0), ValueError, r"beta: expected a non-negative number or a schedule, got -1.0"),
    (dict(beta="high"), TypeError, r"beta: expected a non-negative number or a schedule, got 'high'"),
])
def test_bad_training_settings_are_refused(vl, images, kwargs, error, message):
    model = vl.VAE("mlp", latent_dim=2, hidden_dim=8)
    with pytest.raises(error, match=message):
        vl.fit(model, images[:10], **kwargs, verbose=False)


def test_unscaled_training_images_are_refused(vl, images):
    model = vl.VAE("mlp", latent_dim=2, hidden_dim=8)
    with pytest.raises(ValueError, match=r"x_train: expected pixel values in \[0, 1\]"):
        vl.fit(model, images[:10] * 255, verbose=False)
    with pytest.raises(ValueError, match=r"x_val: contains NaN values"):
        vl.fit(model, images[:10], np.full((2, 28, 28), np.nan, np.float32), verbose=False)


def _autoencoder(vl, weights=None):
    vl.seed_everything(0)
    model = vl.Autoencoder(latent_dim=4, hidden_dim=32)
    return model if weights is None else vl.import_weights(model, weights)


def test_a_second_fit_starts_from_a_fresh_optimizer(vl, images):
    # fit promises a new Adam on every call (vaelib.keras reuses and resets its optimizer to
    # keep the traced step): a model fitted before must then train exactly like a new model
    # with the same weights, from zero moments and step count, at the new learning rate.
    used = _autoencoder(vl)
    vl.fit(used, images[:500], epochs=1, batch_size=100, learning_rate=1e-2, verbose=False)
    fresh = _autoencoder(vl, vl.export_weights(used))
    again, new = (vl.fit(m, images[:500], epochs=2, batch_size=100, learning_rate=3e-3, seed=4, verbose=False)
                  for m in (used, fresh))
    assert again.steps == new.steps == 10
    np.testing.assert_allclose(again["loss"], new["loss"], rtol=1e-6)


def test_a_changed_binarize_setting_takes_effect_in_the_next_fit(vl):
    # With a learning rate too small to move the weights, a deterministic autoencoder's loss
    # on grey images is the same in every fit without binarization, and differs between fits
    # with it (each draws fresh binary images); a step traced for the previous setting fails both.
    model = _autoencoder(vl)
    grey = np.full((400, 28, 28), 0.5, np.float32)
    losses = [vl.fit(model, grey, epochs=1, batch_size=100, learning_rate=1e-10, binarize=b, verbose=False)["loss"][0]
              for b in (False, True, True, False)]
    assert abs(losses[0] - losses[3]) < 1e-3
    assert abs(losses[1] - losses[2]) > 1e-2
