"""Every training entry point (fit, fit_conditional, fit_text) behaves the same in both backends.

For each model a ``fit*`` trains, in each backend: a loss that turns NaN stops training with
an error naming the step and the epoch; the history has the documented keys, one value per
epoch and one per optimizer step; the same seed gives the same history, another seed
another one. The ``vl`` fixture (conftest.py) runs each case in vaelib.torch and vaelib.keras.
"""

from __future__ import annotations

import math

import numpy as np
import pytest


N_TRAIN, N_VAL, BATCH = 48, 16, 8  # 6 optimizer steps per epoch
EPOCHS = 2
IMAGE_KEYS = {"loss", "log_likelihood", "kl"}
TEXT_KEYS = {"loss", "nll", "kl"}


def _images(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, 28, 28)).astype(np.float32)


def _sentences(n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [np.append(rng.integers(4, 30, rng.integers(2, 7)), 2).astype(np.int64) for _ in range(n)]


# Each case: (model builder, trainer call, the history's training keys, whether beta weighs a KL).
def _image_case(build):
    x = _images(N_TRAIN + N_VAL)

    def train(vl, model, epochs=EPOCHS, **kw):
        return vl.fit(model, x[:N_TRAIN], x[N_TRAIN:], epochs=epochs, batch_size=BATCH, verbose=False, **kw)

    return build, train


def _conditional_train(vl, model, epochs=EPOCHS, **kw):
    x, y = _images(N_TRAIN + N_VAL), np.arange(N_TRAIN + N_VAL) % 10
    return vl.fit_conditional(model, x[:N_TRAIN], y[:N_TRAIN], x[N_TRAIN:], y[N_TRAIN:], epochs=epochs,
                              batch_size=BATCH, verbose=False, **kw)


def _text_train(vl, model, epochs=EPOCHS, **kw):
    seqs = _sentences(N_TRAIN + N_VAL)
    return vl.fit_text(model, seqs[:N_TRAIN], seqs[N_TRAIN:], epochs=epochs, batch_size=BATCH, verbose=False, **kw)


CASES = {
    "fit-VAE": (*_image_case(lambda vl: vl.VAE("mlp", latent_dim=2, hidden_dim=8)), IMAGE_KEYS, True),
    "fit-IWAE": (*_image_case(lambda vl: vl.IWAE(latent_dim=2, hidden_dim=8, k=3)), IMAGE_KEYS, True),
    "fit-Autoencoder": (*_image_case(lambda vl: vl.Autoencoder(latent_dim=2, hidden_dim=8)),
                        {"loss", "reconstruction"}, False),
    "fit_conditional-ConditionalVAE": (lambda vl: vl.ConditionalVAE(num_classes=10, latent_dim=2, hidden_dim=8),
                                       _conditional_train, IMAGE_KEYS, True),
    "fit_text-SentenceVAE": (lambda vl: vl.SentenceVAE(30, 8, 8, 2), _text_train, TEXT_KEYS, True),
    "fit_text-RNNLanguageModel": (lambda vl: vl.RNNLanguageModel(30, 8, 8), _text_train, TEXT_KEYS, False),
}
KL_CASES = [name for name, case in CASES.items() if case[3]]


def _run(vl, name: str, seed: int = 0, **kw):
    build, train, _, _ = CASES[name]
    vl.seed_everything(seed)
    return train(vl, build(vl), seed=seed, **kw)


# An infinite KL weight makes "reconstruction + beta * KL" infinite; the IWAE's loss weighs the
# KL inside a log-sum-exp, where inf - inf gives NaN, so it is poisoned with NaN only.
NON_FINITE = [(name, bad, word) for name in KL_CASES for bad, word in ((float("nan"), "NaN"), (float("inf"), "infinite"))
              if not (name == "fit-IWAE" and word == "infinite")]


@pytest.mark.parametrize("name, bad, word", NON_FINITE, ids=[f"{n}-{w}" for n, _, w in NON_FINITE])
def test_a_non_finite_loss_stops_training_and_names_the_step(vl, name, bad, word):
    # The KL weight turns bad from the eighth step (index 7) on: step 8 is the second of epoch 2.
    poisoned = lambda step: bad if step >= 7 else 1.0  # noqa: E731
    with pytest.raises(FloatingPointError, match=rf"^loss became {word} at step 8 \(epoch 2\): training stopped"):
        _run(vl, name, beta=poisoned)


@pytest.mark.parametrize("name", KL_CASES)
def test_a_stopped_run_keeps_the_weights_of_the_last_finite_step(vl, name):
    # Poisoned from the first step of epoch 2 (index 6): the model must hold exactly the weights
    # of the same seeded run stopped after epoch 1, not the update the NaN loss would make.
    build, train, _, _ = CASES[name]
    vl.seed_everything(0)
    model = build(vl)
    start = vl.export_weights(model)
    with pytest.raises(FloatingPointError, match=r"^loss became NaN at step 7 \(epoch 2\)"):
        train(vl, model, seed=5, beta=lambda step: float("nan") if step >= 6 else 1.0)
    stopped = vl.export_weights(model)
    vl.import_weights(model, start)
    train(vl, model, epochs=1, seed=5, beta=lambda step: 1.0)
    one_epoch = vl.export_weights(model)
    assert all(np.isfinite(w).all() for w in stopped.values())
    for key in one_epoch:
        np.testing.assert_array_equal(stopped[key], one_epoch[key], err_msg=key)


@pytest.mark.parametrize("name", list(CASES))
def test_history_keys_epochs_and_steps(vl, name):
    history = _run(vl, name)
    keys = CASES[name][2]
    assert set(history) == keys | {f"val_{k}" for k in keys}
    assert all(len(values) == EPOCHS for values in history.values())
    assert history.steps == EPOCHS * math.ceil(N_TRAIN / BATCH)
    assert set(history.per_step) == keys and all(len(v) == history.steps for v in history.per_step.values())
    assert all(math.isfinite(v) for values in history.values() for v in values)
    # Each epoch's training value is the batch-size-weighted mean of its steps' (equal batches here).
    steps = history.steps // EPOCHS
    np.testing.assert_allclose(history["loss"], [np.mean(history.per_step["loss"][e * steps:(e + 1) * steps])
                                                 for e in range(EPOCHS)], rtol=1e-5)


@pytest.mark.parametrize("name", list(CASES))
def test_the_same_seed_gives_the_same_history(vl, name):
    first, second, other = _run(vl, name, seed=3), _run(vl, name, seed=3), _run(vl, name, seed=4)
    assert first == second and first.per_step == second.per_step
    assert other["loss"] != first["loss"]


@pytest.mark.parametrize("name", list(CASES))
def test_fit_seed_alone_repeats_a_run_from_the_same_weights(vl, name):
    # Keras models draw from their own SeedGenerators, which the global seed does not reach:
    # fit(seed=) restarts them too, so whatever the model drew before does not count.
    build, train, _, _ = CASES[name]
    vl.seed_everything(0)
    model = build(vl)
    weights = vl.export_weights(model)
    first = train(vl, model, seed=3)
    train(vl, model, seed=11)  # every noise stream moves on, and the global generators too
    np.random.rand(5)
    vl.import_weights(model, weights)
    second = train(vl, model, seed=3)
    assert first == second and first.per_step == second.per_step
