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


@pytest.mark.parametrize("kind", ["SentenceVAE", "RNNLanguageModel"])
def test_text_models_round_trip_exactly(vl, tmp_path, kind):
    model = getattr(vl, kind)(vocab_size=40, embed_dim=6, hidden_dim=8, word_dropout=0.25,
                              **({"latent_dim": 3} if kind == "SentenceVAE" else {}))
    loaded = vl.load_checkpoint(vl.save_checkpoint(model, tmp_path / f"text{_suffix(vl)}"), kind=getattr(vl, kind))
    assert type(loaded) is type(model) and loaded.config == model.config
    assert loaded.word_dropout_rate == 0.25 and loaded.latent_dim == model.latent_dim
    for name, value in vl.export_weights(model).items():
        np.testing.assert_array_equal(vl.export_weights(loaded)[name], value, err_msg=name)
    tokens = np.array([[5, 9, 2, 0], [7, 2, 0, 0]])
    eps = np.zeros((2, model.latent_dim), np.float32)
    np.testing.assert_array_equal(vl.to_numpy(model.elbo(tokens, eps=eps).elbo), vl.to_numpy(loaded.elbo(tokens, eps=eps).elbo))


def _other_backend_checkpoint(vl, path):
    import importlib

    other = importlib.import_module("vaelib.keras" if vl.BACKEND == "torch" else "vaelib.torch")
    target = path.with_suffix(".keras" if vl.BACKEND == "torch" else ".pt")
    return other.save_checkpoint(other.VAE("mlp", latent_dim=2, hidden_dim=8), target)


def _zip_without_a_model(path):
    import zipfile

    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", "not a model")
    return path


def _foreign_model(vl, path):
    if vl.BACKEND == "torch":
        import torch

        torch.save({"weights": torch.zeros(3)}, path)  # a plain torch.save, not ours
        return path
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.save(path)
    return path


# Each case: how to make the bad file, and the one-line message it must get.
BAD_FILES = {
    "garbage bytes": (lambda vl, p: p.write_bytes(b"\x00\x01 not a checkpoint \xff" * 10) and p,
                      r"is not a vaelib\.{backend} checkpoint"),
    "empty file": (lambda vl, p: p.write_bytes(b"") or p, r"is not a vaelib\.{backend} checkpoint"),
    "a text file": (lambda vl, p: p.write_text("model = VAE()\n") and p, r"is not a vaelib\.{backend} checkpoint"),
    "a zip without a model": (lambda vl, p: _zip_without_a_model(p), r"is not a vaelib\.{backend} checkpoint"),
    "the other backend's checkpoint": (_other_backend_checkpoint,
                                       r"is a vaelib\.{other} checkpoint .*load it with vaelib\.{other}\.load_checkpoint, "
                                       r"or carry the weights across with export_weights and import_weights$"),
    "another library's model": (_foreign_model, r"(is not a vaelib\.{backend} checkpoint|holds a 'Sequential'|"
                                                r"holds a Sequential, not a vaelib\.keras model)"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_file_that_is_not_our_checkpoint_gets_one_line(vl, tmp_path, case):
    make, pattern = BAD_FILES[case]
    path = make(vl, tmp_path / f"bad{_suffix(vl)}")
    other = "keras" if vl.BACKEND == "torch" else "torch"
    with pytest.raises(ValueError, match=r"^path: .*" + pattern.format(backend=vl.BACKEND, other=other)) as err:
        vl.load_checkpoint(path)
    assert "\n" not in str(err.value)


def test_a_checkpoint_of_another_kind_is_refused(vl, tmp_path):
    path = vl.save_checkpoint(vl.VAE("mlp", latent_dim=2, hidden_dim=8), tmp_path / f"vae{_suffix(vl)}")
    with pytest.raises(ValueError, match=r"^kind: .* holds a VAE, expected a SentenceVAE$"):
        vl.load_checkpoint(path, kind=vl.SentenceVAE)
    assert type(vl.load_checkpoint(path, kind=vl.VAE)).__name__ == "VAE"
