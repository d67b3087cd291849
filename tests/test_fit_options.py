"""``fit(..., compile=True)`` and ``fit(..., precision="bfloat16")`` in both backends.

What each option promises: bfloat16 training runs the networks in bfloat16 and the loss in
float32, follows the float32 run closely from the same seed, and leaves a model that
evaluates in float32; a compiled run follows the eager one, to float32 rounding in PyTorch (the
same noise) and closely with XLA (which draws its own noise from the same seeds), and still
stops before a non-finite update. How much
either pays is measured by ``benchmarks/compiled.py``, not here.
"""

from __future__ import annotations

import numpy as np
import pytest

N, BATCH = 96, 32  # 3 steps per epoch


def _binary_images(n: int, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).random((n, 28, 28)) < 0.3).astype(np.float32)


def _train(vl, epochs: int = 2, **options):
    vl.seed_everything(0)
    model = vl.VAE("mlp", latent_dim=4, hidden_dim=32)
    history = vl.fit(model, _binary_images(N), epochs=epochs, batch_size=BATCH, seed=1, verbose=False, **options)
    return model, history


def _per_step_losses(history) -> np.ndarray:
    return np.array(history.per_step["loss"])


@pytest.fixture(scope="module")
def float32_runs():
    """The plain runs' per-step losses, once per backend."""
    from vaelib import keras as vk, torch as vt

    return {name: _per_step_losses(_train(vl)[1]) for name, vl in (("torch", vt), ("keras", vk))}


def _backend(vl) -> str:
    return vl.__name__.rsplit(".", 1)[1]


def test_bfloat16_training_follows_the_float32_run(vl, float32_runs):
    plain = float32_runs[_backend(vl)]
    _, history = _train(vl, precision="bfloat16")
    mixed = _per_step_losses(history)
    # bfloat16 products (8-bit mantissa) move each loss by a little, and the runs drift apart
    # only slowly over 6 steps: within 0.5 nats of ~540, and not equal (bfloat16 was used).
    np.testing.assert_allclose(mixed, plain, atol=0.5)
    assert np.abs(mixed - plain).max() > 1e-4


def test_a_model_trained_in_bfloat16_evaluates_in_float32(vl):
    model, _ = _train(vl, precision="bfloat16")
    x = _binary_images(8, seed=3)
    eps = np.random.default_rng(4).standard_normal((8, 4)).astype(np.float32)
    fresh = vl.VAE("mlp", latent_dim=4, hidden_dim=32)
    vl.import_weights(fresh, vl.export_weights(model))
    # The same weights in a model that never saw bfloat16: the same float32 numbers.
    np.testing.assert_array_equal(vl.to_numpy(model.elbo(x, eps=eps).elbo), vl.to_numpy(fresh.elbo(x, eps=eps).elbo))


def test_compiled_training_follows_the_eager_run(vl, float32_runs):
    plain = float32_runs[_backend(vl)]
    _, history = _train(vl, compile=True)
    compiled = _per_step_losses(history)
    if _backend(vl) == "torch":
        # The same noise (PyTorch's generator) and weights; compiled kernels only sum in another order.
        np.testing.assert_allclose(compiled, plain, rtol=1e-4)
    else:
        # XLA draws its own numbers from the same seeds (its stateless normal is not TensorFlow's
        # kernel), so the runs differ by the noise: close, not equal, and repeatable.
        np.testing.assert_allclose(compiled, plain, atol=1.5)
        np.testing.assert_array_equal(_per_step_losses(_train(vl, compile=True)[1]), compiled)


def test_a_compiled_run_stops_before_a_non_finite_update(vl):
    vl.seed_everything(0)
    model = vl.VAE("mlp", latent_dim=4, hidden_dim=32)
    start = vl.export_weights(model)
    with pytest.raises(FloatingPointError, match=r"^loss became NaN at step 2 \(epoch 1\)"):
        vl.fit(model, _binary_images(N), epochs=1, batch_size=BATCH, seed=1, verbose=False, compile=True,
               beta=lambda step: float("nan") if step >= 1 else 1.0)
    after = vl.export_weights(model)
    # One finite step was applied, the NaN one was not: the weights moved, and are finite.
    assert all(np.isfinite(w).all() for w in after.values())
    assert any(not np.array_equal(after[name], start[name]) for name in start)


@pytest.mark.parametrize("options, message", [
    (dict(precision="float16"), "precision: expected one of 'float32', 'bfloat16', got 'float16'"),
    (dict(precision="BFLOAT16"), "precision: expected one of 'float32', 'bfloat16', got 'BFLOAT16'"),
    (dict(compile="yes"), "compile: expected True or False, got 'yes'"),
    (dict(compile=2), "compile: expected True or False, got 2"),
])
def test_wrong_options_are_refused_before_training(vl, options, message):
    model = vl.VAE("mlp", latent_dim=4, hidden_dim=32)
    start = vl.export_weights(model)
    with pytest.raises((TypeError, ValueError), match=f"^{message}$"):
        vl.fit(model, _binary_images(N), epochs=1, verbose=False, **options)
    assert all(np.array_equal(w, start[k]) for k, w in vl.export_weights(model).items())


# -- what each backend does under bfloat16 ------------------------------------------------
def test_torch_bfloat16_step_runs_the_networks_in_bfloat16_and_the_loss_in_float32():
    import torch

    from vaelib import torch as vt
    from vaelib.torch.train import training_loss_terms

    vt.seed_everything(0)
    model = vt.VAE("conv", latent_dim=4, hidden_dim=32)
    seen = {}
    model.decoder.register_forward_hook(lambda module, inputs, output: seen.update(decoded=output.dtype))
    terms = training_loss_terms(model, compile=False, precision="bfloat16")(torch.as_tensor(_binary_images(4)), 1.0)
    assert seen["decoded"] == torch.bfloat16
    assert {t.dtype for t in terms.values()} == {torch.float32}


def test_keras_bfloat16_policy_holds_inside_the_block_only():
    from vaelib import keras as vk
    from vaelib.keras.train import training_precision

    model = vk.VAE("conv", latent_dim=4, hidden_dim=32)
    x = _binary_images(4)
    with training_precision(model, "bfloat16"):
        assert vk.to_numpy(model.decoder(np.zeros((2, 4), np.float32))).dtype.name == "bfloat16"
        terms = model.loss_terms(x, 1.0, training=True)
        assert {vk.to_numpy(t).dtype.name for t in terms.values()} == {"float32"}
    assert {layer.dtype_policy.name for layer in model._flatten_layers()} == {"float32"}
    assert vk.to_numpy(model.decoder(np.zeros((2, 4), np.float32))).dtype.name == "float32"


@pytest.mark.parametrize("kernel, arguments", [
    ("bernoulli_log_likelihood", ("x", "t")),
    ("gaussian_log_likelihood", ("x", "t", "s")),
    ("gaussian_kl", ("t", "t2")),
    ("log_normal_pdf", ("t", "t2", "t3")),
    ("reparameterize", ("t", "t2", "t3")),
])
def test_kernels_compute_bfloat16_inputs_in_float32(vl, kernel, arguments):
    # Each kernel given bfloat16 tensors returns float32 values equal to the kernel on the same
    # (bfloat16-rounded) values handed over as float32: the cast comes first, then the math.
    import importlib

    kernels = importlib.import_module(f"{vl.__name__}.kernels")
    rng = np.random.default_rng(0)
    values = {"x": (rng.random((3, 28, 28)) < 0.5).astype(np.float32), "s": np.float32(-0.3)}
    for name in ("t", "t2", "t3"):
        values[name] = rng.standard_normal((3, 28, 28) if "x" in arguments else (3, 5)).astype(np.float32)
    if kernel == "bernoulli_log_likelihood":
        values["t"] *= 3  # logits
    bf16, f32 = _tensors(vl, values, arguments)
    got = getattr(kernels, kernel)(*bf16)
    want = getattr(kernels, kernel)(*f32)
    assert vl.to_numpy(got).dtype == np.float32
    np.testing.assert_array_equal(vl.to_numpy(got), vl.to_numpy(want))


def _tensors(vl, values: dict, arguments: tuple) -> tuple[list, list]:
    """The arguments as bfloat16 tensors (images and scalars stay float32) and as float32 tensors of the same values."""
    if _backend(vl) == "torch":
        import torch

        def half(name):
            t = torch.as_tensor(values[name])
            return t if name in ("x", "s") else t.to(torch.bfloat16)

        bf16 = [half(name) for name in arguments]
        return bf16, [t.float() for t in bf16]
    from vaelib.keras._backend import keras

    ops = keras.ops

    def half(name):
        t = ops.convert_to_tensor(values[name])
        return t if name in ("x", "s") else ops.cast(t, "bfloat16")

    bf16 = [half(name) for name in arguments]
    return bf16, [ops.cast(t, "float32") for t in bf16]
