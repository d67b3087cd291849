"""What ``fit`` feeds the model, read back through a probe model whose loss is its batch's mean.

Every training image is one constant grey level, ``i / 16`` for example ``i`` (exact in
float32), and the probe's loss is the batch mean, so ``history.per_step["loss"]`` spells out
which examples each step saw. The expected orders and means are computed here by hand, in
each backend separately (not by comparing the two backends).
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest

N = 12
IMAGES = np.repeat((np.arange(N, dtype=np.float32) / 16)[:, None, None], 28 * 28, axis=1).reshape(N, 28, 28)


def _probe(backend: str, slope: float = 0.0):
    """A vaelib Autoencoder whose loss is the mean of its batch (its weights get zero gradients).

    Its other logged term, ``"reconstruction"``, carries the KL weight ``fit`` passed, so the
    per-step record shows the schedule too. With a ``slope``, the loss also has ``slope``
    times the sum of the first weight: a constant gradient, so each Adam step is known.
    """
    vl = importlib.import_module(f"vaelib.{backend}")
    model = vl.Autoencoder(latent_dim=2, linear=True)
    if backend == "torch":
        weight = next(model.parameters())

        def loss_terms(x, beta, training=False):
            return {"loss": x.mean() + slope * weight.sum(), "reconstruction": x.new_tensor(float(beta))}
    else:
        from vaelib.keras._backend import keras

        ops = keras.ops

        def loss_terms(x, beta, training=False):
            weight = model.trainable_weights[0]
            return {"loss": ops.mean(x) + slope * ops.sum(weight), "reconstruction": ops.cast(beta, "float32") + 0.0}

    model.loss_terms = loss_terms  # the instance's own: fit still sees a vaelib model
    return model


@pytest.fixture(params=["torch", "keras"])
def backend(request):
    return request.param


def _fit(backend: str, verbose: bool = False, **kwargs):
    vl = importlib.import_module(f"vaelib.{backend}")
    return vl.fit(_probe(backend), IMAGES, verbose=verbose, **kwargs)


def _order(per_step_loss: list[float]) -> list[int]:
    """Example indices of batches of one: the loss of example i is i / 16 exactly."""
    values = np.asarray(per_step_loss) * 16
    np.testing.assert_array_equal(values, np.round(values))
    return [int(v) for v in np.round(values)]


def _epoch_orders(backend: str, epochs: int, seed: int) -> list[list[int]]:
    history = _fit(backend, epochs=epochs, batch_size=1, seed=seed)
    assert history.steps == epochs * N
    return [_order(history.per_step["loss"][e * N : (e + 1) * N]) for e in range(epochs)]


def test_every_epoch_sees_every_example_once_shuffled(backend):
    for order in _epoch_orders(backend, 2, seed=0):
        assert sorted(order) == list(range(N))  # a permutation: nothing dropped or repeated
        assert order != list(range(N))  # shuffled, not the stored order (12! orders: no accident)


def test_each_epoch_draws_a_new_order(backend):
    # (Keras's own shuffle of arrays repeats one permutation per epoch under a global seed:
    # vaelib.keras.fit draws each epoch's order from NumPy's seeded generator instead.)
    orders = _epoch_orders(backend, 3, seed=0)
    assert orders[0] != orders[1] and orders[1] != orders[2]


def test_a_seed_repeats_the_order_and_another_seed_changes_it(backend):
    first = _fit(backend, epochs=2, batch_size=1, seed=5).per_step["loss"]
    again = _fit(backend, epochs=2, batch_size=1, seed=5).per_step["loss"]
    other = _fit(backend, epochs=2, batch_size=1, seed=6).per_step["loss"]
    assert _order(first) == _order(again)
    assert _order(first) != _order(other)


def test_epoch_values_are_means_weighted_by_batch_size(backend):
    # Batches of 5, 5 and 2: the epoch value is the data mean only if each batch mean counts
    # with its batch's size (the plain mean of the three batch means is not, for this order).
    history = _fit(backend, epochs=2, batch_size=5, seed=1)
    steps = history.per_step["loss"]
    assert history.steps == 6 and len(steps) == 6
    data_mean = IMAGES.mean(dtype=np.float64)  # 11 / 32
    np.testing.assert_allclose(history["loss"], [data_mean, data_mean], rtol=1e-6)
    sizes = np.array([5, 5, 2])
    for epoch in range(2):
        batch_means = np.asarray(steps[3 * epoch : 3 * epoch + 3])
        np.testing.assert_allclose(np.sum(batch_means * sizes) / N, data_mean, rtol=1e-6)
        # Each batch mean is the mean of some distinct examples' levels (multiples of 1/16).
        assert np.all(np.abs(batch_means * sizes * 16 - np.round(batch_means * sizes * 16)) < 1e-4)
    assert not np.isclose(np.mean(steps[:3]), data_mean, rtol=1e-6)


def test_the_beta_schedule_is_read_at_each_steps_index(backend):
    from vaelib.schedules import linear

    # linear(0 -> 1 over 4 steps): steps 0..5 get 0, 1/4, 2/4, 3/4, 1, 1 (three steps an epoch).
    history = _fit(backend, epochs=2, batch_size=4, seed=0, beta=linear(4))
    np.testing.assert_allclose(history.per_step["reconstruction"], [0.0, 0.25, 0.5, 0.75, 1.0, 1.0], atol=1e-7)
    # The epoch value of beta is the mean over the epoch's steps (batches of equal size here).
    np.testing.assert_allclose(history["reconstruction"], [0.75 / 3, 2.75 / 3], atol=1e-6)


def test_validation_values_are_the_means_over_the_validation_set(backend):
    val = IMAGES[:5]  # levels 0 .. 4 / 16: mean 2 / 16
    history = _fit(backend, epochs=2, batch_size=6, seed=0, x_val=val)
    np.testing.assert_allclose(history["val_loss"], [2 / 16, 2 / 16], rtol=1e-6)


def test_dynamic_binarization_feeds_fresh_zero_one_draws_of_the_grey_levels(backend):
    history = _fit(backend, epochs=4, batch_size=1, seed=0, binarize=True)
    ones = np.asarray(history.per_step["loss"]) * 28 * 28  # ones among a step's 784 pixels
    np.testing.assert_allclose(ones, np.round(ones), atol=1e-3)  # every pixel is 0 or 1
    levels = IMAGES[:, 0, 0].astype(np.float64)
    mean, sd = levels.mean(), np.sqrt((levels * (1 - levels)).sum()) / (N * 28)  # over 4 epochs of N draws
    assert abs(np.mean(ones) / 784 - mean) < 4 * sd / 2
    assert len(set(np.round(ones).astype(int))) > N  # fresh draws: more distinct counts than levels


def test_each_adam_step_moves_a_weight_with_a_constant_gradient_by_the_learning_rate(backend):
    # Adam's bias-corrected moments of a constant gradient g are g and g**2: every step is
    # -lr * g / (|g| + 1e-8), i.e. -lr up to 2e-8 relative, whatever the step's index; the
    # weights without a gradient stay where they are.
    vl = importlib.import_module(f"vaelib.{backend}")
    model = _probe(backend, slope=0.5)
    start = vl.export_weights(model)
    for learning_rate in (0.01, 0.02):  # each fit starts a new Adam
        before = vl.export_weights(model)
        history = vl.fit(model, IMAGES, epochs=1, batch_size=4, learning_rate=learning_rate, seed=0, verbose=False)
        assert history.steps == 3
        after = vl.export_weights(model)
        moved = [key for key in after if not np.array_equal(after[key], before[key])]
        assert len(moved) == 1, moved
        np.testing.assert_allclose(after[moved[0]] - before[moved[0]], -3 * learning_rate, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(after[moved[0]] - start[moved[0]], -0.09, rtol=1e-4, atol=2e-6)


def test_verbose_pytorch_training_prints_each_epochs_means(capsys):
    _fit("torch", verbose=True, epochs=2, batch_size=12, seed=0)
    err = capsys.readouterr().err
    assert "0/1 [" in err  # tqdm's bar, one step an epoch
    lines = [line for line in err.splitlines() if line.startswith("epoch ") and "|" not in line]
    # one batch of all 12 examples: loss 11/32 = 0.34375, beta 1
    assert lines == ["epoch 1/2: loss=0.34, reconstruction=1.00", "epoch 2/2: loss=0.34, reconstruction=1.00"]
    _fit("torch", verbose=False, epochs=1, batch_size=12, seed=0)
    assert capsys.readouterr().err == ""


def test_a_learning_rate_schedule_sets_each_adam_step(backend):
    # With a constant gradient each Adam step is -lr (see above), so the weight's whole move is
    # minus the sum of the schedule's values at the steps taken: 0.01 * (1 + 2 + ... + 32) for
    # steps 0-5. Reading the schedule one step late, or keeping the first rate, would move it
    # by another sum.
    vl = importlib.import_module(f"vaelib.{backend}")
    model = _probe(backend, slope=0.5)
    before = vl.export_weights(model)
    seen = []

    def doubling(step):
        seen.append(step)
        return 0.01 * 2.0**step

    history = vl.fit(model, IMAGES, epochs=2, batch_size=4, learning_rate=doubling, seed=0, verbose=False)
    assert history.steps == 6 and sorted(set(seen)) == list(range(6))
    after = vl.export_weights(model)
    moved = [key for key in after if not np.array_equal(after[key], before[key])]
    assert len(moved) == 1, moved
    np.testing.assert_allclose(after[moved[0]] - before[moved[0]], -0.63, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("value", [float("nan"), -1e-3, float("inf"), "0.001", None, True])
def test_a_learning_rate_schedule_giving_no_rate_stops_training_in_one_line(backend, value):
    vl = importlib.import_module(f"vaelib.{backend}")
    with pytest.raises(ValueError) as err:
        vl.fit(_probe(backend), IMAGES, epochs=1, batch_size=4, learning_rate=lambda step: value, verbose=False)
    assert str(err.value) == f"learning_rate: expected the schedule to give a non-negative number, got {value!r} at step 0"
