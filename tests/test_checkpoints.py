"""Checkpoints round-trip exactly in each framework's own format and are written atomically."""


import numpy as np
import pytest


def _suffix(vl):
    return ".pt" if vl.BACKEND == "torch" else ".keras"


@pytest.mark.parametrize("arch,lik", [("mlp", "bernoulli"), ("conv", "gaussian")])
def test_round_trip_is_exact(vl, tmp_path, arch, lik):
    model = vl.VAE(arch, latent_dim=3, hidden_dim=16, likelihood=lik)
    path = vl.save_checkpoint(model, tmp_path / f"model{_suffix(vl)}")
    loaded = vl.load_checkpoint(path)
    assert type(loaded) is type(model) and loaded.config == model.config
    for name, value in vl.export_weights(model).items():
        np.testing.assert_array_equal(vl.export_weights(loaded)[name], value, err_msg=name)
    x = np.random.default_rng(0).random((2, 28, 28)).astype(np.float32)
    eps = np.zeros((2, 3), np.float32)
    np.testing.assert_array_equal(vl.to_numpy(model.elbo(x, eps=eps).elbo), vl.to_numpy(loaded.elbo(x, eps=eps).elbo))


def test_a_failed_save_leaves_no_file_behind(vl, tmp_path, monkeypatch):
    model = vl.VAE("mlp", latent_dim=2, hidden_dim=8)
    target = tmp_path / f"model{_suffix(vl)}"
    vl.save_checkpoint(model, target)
    before = target.read_bytes()
    if vl.BACKEND == "torch":
        import torch
        monkeypatch.setattr(torch, "save", lambda *a, **k: (_ for _ in ()).throw(OSError("disk full")))
    else:
        monkeypatch.setattr(type(model), "save", lambda *a, **k: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError, match="disk full"):
        vl.save_checkpoint(model, target)
    assert target.read_bytes() == before  # the old checkpoint survives intact
    assert [p.name for p in tmp_path.iterdir()] == [target.name]  # and no temporary file is left


def test_missing_checkpoint_is_named(vl, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"path: no checkpoint at .*nothing"):
        vl.load_checkpoint(tmp_path / f"nothing{_suffix(vl)}")


def test_keras_checkpoints_need_the_keras_suffix(tmp_path):
    from vaelib import keras as vk

    with pytest.raises(ValueError, match=r"path: Keras checkpoints must end in '.keras'"):
        vk.save_checkpoint(vk.VAE("mlp", latent_dim=2, hidden_dim=8), tmp_path / "model.h5")


def test_a_fitted_model_round_trips(vl, tmp_path):
    # fit leaves an optimizer on the model (vaelib.keras keeps it for the next fit): the
    # checkpoint still holds the weights and loads into a model that fits again.
    x = np.random.default_rng(1).random((200, 28, 28)).astype(np.float32)
    model = vl.VAE("mlp", latent_dim=3, hidden_dim=16)
    vl.fit(model, x, epochs=1, batch_size=100, verbose=False)
    loaded = vl.load_checkpoint(vl.save_checkpoint(model, tmp_path / f"fitted{_suffix(vl)}"))
    for name, value in vl.export_weights(model).items():
        np.testing.assert_array_equal(vl.export_weights(loaded)[name], value, err_msg=name)
    assert vl.fit(loaded, x, epochs=1, batch_size=100, verbose=False).steps == 2
