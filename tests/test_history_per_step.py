"""History.per_step: every training term after each optimizer step, in both backends.

One value per step; an epoch's value is the batch-size-weighted mean of its steps; the first
step's value is the loss of the untrained model on that batch; and the two backends give the
same per-step curve from the same weights and data."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from vaelib.data import load_fashion_mnist


@pytest.fixture(scope="module")
def images():
    return load_fashion_mnist("test").images[:450]


def _autoencoder(vl, weights=None):
    vl.seed_everything(0)
    model = vl.Autoencoder(latent_dim=4, hidden_dim=32)
    return model if weights is None else vl.import_weights(model, weights)


def test_one_value_per_step_and_the_weighted_mean_is_the_epoch_value(vl, images):
    # 450 images in batches of 100: four full batches and one of 50 per epoch, so an
    # unweighted mean of the steps would differ from the epoch value.
    model = vl.VAE("mlp", latent_dim=4, hidden_dim=32)
    history = vl.fit(model, images, images[:100], epochs=3, batch_size=100, seed=0, verbose=False)
    assert history.steps == 15
    assert set(history.per_step) == {"loss", "log_likelihood", "kl"}  # no val_ entries
    sizes = np.array([100, 100, 100, 100, 50])
    for name, values in history.per_step.items():
        assert len(values) == history.steps
        per_epoch = np.asarray(values).reshape(3, 5)
        weighted = per_epoch @ sizes / sizes.sum()
        np.testing.assert_allclose(weighted, history[name], rtol=2e-6, err_msg=name)
        assert not np.allclose(per_epoch.mean(axis=1), history[name], rtol=1e-6)
    # each step's loss is its negative ELBO: minus the reconstruction term plus the KL
    steps = {name: np.asarray(v) for name, v in history.per_step.items()}
    np.testing.assert_allclose(steps["loss"], steps["kl"] - steps["log_likelihood"], rtol=1e-5)


def test_the_first_step_records_the_untrained_models_loss(vl, images):
    # One batch holds all the data, so the first step sees exactly the batch we evaluate here.
    model = _autoencoder(vl)
    x = images[:200].reshape(200, -1).astype(np.float64)
    p = np.clip(model.reconstruct(images[:200]).reshape(200, -1).astype(np.float64), 1e-7, 1 - 1e-7)
    before = -np.mean(np.sum(x * np.log(p) + (1 - x) * np.log1p(-p), axis=1))  # BCE in nats per image
    history = vl.fit(model, images[:200], epochs=3, batch_size=200, learning_rate=1e-3, verbose=False)
    assert history.per_step["loss"][0] == pytest.approx(before, rel=1e-5)
    assert history.per_step["loss"] == pytest.approx(history["loss"], rel=1e-6)  # one step per epoch
    assert history.per_step["loss"][2] < history.per_step["loss"][0]


def test_text_training_records_every_step():
    rng = np.random.default_rng(0)
    # 48 sentences of one length in batches of 16: three equal batches per epoch
    seqs = [np.append(rng.integers(4, 40, 5), 2).astype(np.int64) for _ in range(48)]
    for name in ("torch", "keras"):
        vl = importlib.import_module(f"vaelib.{name}")
        vl.seed_everything(0)
        model = vl.SentenceVAE(40, 8, 16, 4)
        history = vl.fit_text(model, seqs, epochs=2, batch_size=16, seed=1, verbose=False)
        assert history.steps == 6 and set(history.per_step) == {"loss", "nll", "kl"}, name
        for term, values in history.per_step.items():
            np.testing.assert_allclose(np.reshape(values, (2, 3)).mean(axis=1), history[term], rtol=2e-6,
                                       err_msg=f"{name} {term}")


def test_both_backends_record_the_same_steps():
    # The same autoencoder weights, full-batch steps (so the shuffle cannot matter) and the
    # same Adam: the per-step losses agree up to float32 round-off.
    x = load_fashion_mnist("test").images[:200]
    torch_vl, keras_vl = (importlib.import_module(f"vaelib.{b}") for b in ("torch", "keras"))
    weights = torch_vl.export_weights(_autoencoder(torch_vl))
    curves = [vl.fit(_autoencoder(vl, weights), x, epochs=5, batch_size=200, learning_rate=3e-3,
                     verbose=False).per_step["loss"] for vl in (torch_vl, keras_vl)]
    assert len(curves[0]) == len(curves[1]) == 5
    assert curves[0][-1] < curves[0][0] - 1.0  # the steps moved the weights
    np.testing.assert_allclose(curves[0], curves[1], rtol=1e-5)
