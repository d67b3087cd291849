"""The shipped reference models: complete manifest, verified files, both backends, reproducible numbers.

Also the training script's ``--quick`` run (tiny budgets into a temporary folder), and the
refusals: an unknown name, a corrupt or missing weight file, a folder with no manifest.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from vaelib import data, reference
from vaelib._files import file_sha256

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_tools"))

import train_reference  # noqa: E402

SHIPPED = reference.names(reference.REFERENCE_DIR)
IMAGE_VAES = [n for n in SHIPPED if reference.info(n, reference.REFERENCE_DIR)["class"] in ("VAE", "IWAE")]
MAX_BYTES = 40_000_000


@pytest.fixture(scope="module")
def test_images():
    test = data.load_fashion_mnist("test")
    return {"binary": data.binarize(test.images, seed=reference.TEST_BINARIZE_SEED),
            "gray": test.images, "labels": test.labels}


# -- the manifest -------------------------------------------------------------------------
def test_every_model_of_the_script_is_shipped_at_its_full_budget():
    assert SHIPPED == sorted(s.name for s in train_reference.SPECS)
    for spec in train_reference.SPECS:
        entry = reference.info(spec.name, reference.REFERENCE_DIR)
        assert entry["training"]["budget"] == "full", spec.name
        assert entry["training"]["epochs"] == spec.epochs, spec.name
        assert entry["class"] == spec.cls


def test_manifest_records_what_the_issue_asks_for():
    whole = reference.manifest(reference.REFERENCE_DIR)
    assert {"machine", "versions"} <= set(whole)
    assert {"torch", "numpy", "python", "vaelib"} <= set(whole["versions"])
    for name in SHIPPED:
        entry = whole["models"][name]
        assert {"description", "class", "config", "data", "training", "file", "sha256", "evaluation", "history"} <= set(entry)
        assert entry["data"]["provenance"]
        assert {"epochs", "seed", "date", "device", "seconds"} <= set(entry["training"])
        ev = entry["evaluation"]
        if entry["class"] in ("VAE", "IWAE"):
            assert ev["n_elbo"] == 10_000 and ev["k"] == 1000 and ev["n_log_px"] >= 1000, name
            assert ev["log_px"] >= ev["log_px_elbo"], name  # the bound exceeds the ELBO on the same images
        if "vocabulary" in entry:
            assert entry["data"]["carve_out"] is ("carve-out" in entry["data"]["provenance"])
            assert {"nll", "kl", "perplexity", "active_units"} <= set(ev)


def test_all_weights_together_stay_under_40_mb_and_match_their_hashes():
    total = 0
    for name in SHIPPED:
        entry = reference.info(name, reference.REFERENCE_DIR)
        path = reference.REFERENCE_DIR / entry["file"]
        assert path.stat().st_size == entry["bytes"]
        assert file_sha256(path) == entry["sha256"], name
        total += path.stat().st_size
    assert total < MAX_BYTES, total


def test_the_package_data_declaration_ships_the_files():
    text = (ROOT / "pyproject.toml").read_text()
    assert '"reference_models/manifest.json", "reference_models/*.npz"' in text


# -- loading ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["vae_2d", "vae_conv", "text_vae_tricks", "cvae", "ae_linear", "vae_gaussian"])
def test_load_reference_round_trips_the_stored_weights(vl, name):
    model = vl.load_reference(name)
    assert type(model).__name__ == reference.info(name)["class"]
    assert model.reference_name == name
    stored = reference.weights(name)
    exported = vl.export_weights(model)
    assert sorted(exported) == sorted(stored)
    for key, value in stored.items():
        np.testing.assert_array_equal(exported[key], value, err_msg=key)


@pytest.mark.parametrize("name", ["vae_mlp", "vae_conv", "vae_gaussian", "iwae_k5"])
def test_the_manifests_image_numbers_reproduce_from_the_stored_weights(vl, name, test_images):
    entry = reference.info(name)
    p = entry["evaluation"]["check_params"]
    model = vl.load_reference(name)
    x = test_images["gray" if entry["config"]["likelihood"] == "gaussian" else "binary"][: p["n"]]
    got = reference.image_evaluation(vl, model, x, k=p["k"], n_log_px=p["n_log_px"])
    # Same weights and NumPy noise: float32 rounding is all that may differ (and the backend).
    reference.check_matches(name, got, atol=0.01)


def test_the_conditional_models_numbers_reproduce(vl, test_images):
    p = reference.info("cvae")["evaluation"]["check_params"]
    got = reference.image_evaluation(vl, vl.load_reference("cvae"), test_images["binary"][: p["n"]],
                                     labels=test_images["labels"][: p["n"]], n_log_px=0)
    reference.check_matches("cvae", got, atol=0.01)


@pytest.mark.parametrize("name", ["text_lm", "text_vae_tricks"])
def test_the_manifests_text_numbers_reproduce(vl, name):
    entry = reference.info(name)
    p = entry["evaluation"]["check_params"]
    vocab = reference.vocabulary(name)
    assert len(vocab) == entry["config"]["vocab_size"]
    with warnings.catch_warnings():  # the carve-out is asked for: the reference models were trained on it
        warnings.simplefilter("ignore", data.SmokeCarveOutWarning)
        corpus = data.load_ptb_corpus(max_length=30, carve_missing_train=True)
    test = [vocab.encode(corpus.vocab.decode(s)) for s in corpus.test[: p["sentences"]]]  # the reference's ids
    test = [np.concatenate([t, [vocab.eos_id]]) for t in test]
    got = vl.evaluate_text(vl.load_reference(name), test, k=p["k"], seed=p["seed"])
    reference.check_matches(name, got, atol=0.01)


def test_a_recomputation_that_differs_is_refused():
    stored = reference.info("vae_mlp")["evaluation"]["check"]
    with pytest.raises(reference.ReferenceModelError, match=r"recomputed\['elbo'\] = .* differs from the manifest's"):
        reference.check_matches("vae_mlp", {**stored, "elbo": stored["elbo"] + 0.5}, atol=0.01)


# -- refusals -----------------------------------------------------------------------------
@pytest.fixture
def copied(tmp_path):
    folder = tmp_path / "refs"
    folder.mkdir()
    shutil.copy(reference.REFERENCE_DIR / "manifest.json", folder)
    shutil.copy(reference.REFERENCE_DIR / "vae_2d.npz", folder)
    return folder


def test_an_unknown_name_lists_the_known_ones(vl):
    with pytest.raises(reference.ReferenceModelError, match=r"^name: unknown reference model 'vae_3d'; known: .*vae_2d"):
        vl.load_reference("vae_3d")


@pytest.mark.parametrize("damage", ["flip a byte", "truncate", "append"])
def test_a_corrupt_or_altered_file_is_refused_with_its_name(vl, copied, damage):
    path = copied / "vae_2d.npz"
    raw = bytearray(path.read_bytes())
    if damage == "flip a byte":
        raw[len(raw) // 2] ^= 0xFF
    elif damage == "truncate":
        raw = raw[: len(raw) // 2]
    else:
        raw += b"\0"
    path.write_bytes(bytes(raw))
    with pytest.raises(reference.ReferenceModelError) as err:
        vl.load_reference("vae_2d", directory=copied)
    message = str(err.value)
    assert str(path) in message and "does not match the manifest" in message and "\n" not in message


def test_a_missing_weight_file_and_a_missing_manifest_are_named(vl, copied, tmp_path):
    with pytest.raises(reference.ReferenceModelError, match=r"the weight file of 'vae_mlp' is missing: .*vae_mlp.npz"):
        vl.load_reference("vae_mlp", directory=copied)
    with pytest.raises(reference.ReferenceModelError, match=r"^directory: no reference manifest at .*manifest.json"):
        vl.load_reference("vae_2d", directory=tmp_path / "nowhere")
    (copied / "manifest.json").write_text("{not json")
    with pytest.raises(reference.ReferenceModelError, match=r"is not a readable reference manifest"):
        vl.load_reference("vae_2d", directory=copied)


def test_the_environment_variable_points_at_another_folder(copied, monkeypatch):
    monkeypatch.setenv("VAELIB_REFERENCE_DIR", str(copied))
    assert reference.names() == SHIPPED  # the copied manifest, read through the variable
    (copied / "manifest.json").write_text(json.dumps({"models": {}}))
    assert reference.names() == []


# -- the training script ------------------------------------------------------------------
def test_quick_refuses_to_overwrite_the_committed_models():
    proc = subprocess.run([sys.executable, str(ROOT / "book/_tools/train_reference.py"), "--quick", "--out",
                           str(reference.REFERENCE_DIR)], capture_output=True, text=True)
    assert proc.returncode == 2 and "refusing to write tiny-budget models" in proc.stderr


def test_the_quick_run_trains_every_model_into_a_temporary_folder(tmp_path):
    before = {p.name: p.stat().st_mtime_ns for p in reference.REFERENCE_DIR.iterdir()}
    out = tmp_path / "quick"
    proc = subprocess.run([sys.executable, str(ROOT / "book/_tools/train_reference.py"), "--quick", "--out", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert reference.names(out) == SHIPPED
    from vaelib import torch as vl

    for name in SHIPPED:
        entry = reference.info(name, out)
        assert entry["training"]["budget"] == "quick" and entry["training"]["epochs"] == 1
        model = vl.load_reference(name, directory=out)  # verified against the quick manifest's hash
        assert vl.count_parameters(model) == entry["parameters"] == reference.info(name)["parameters"]
    # The script stores its check values through reference.check_values, and verify recomputes them
    # against the manifest of the folder the model came from (here the quick one, not the shipped one).
    x = data.binarize(data.load_fashion_mnist("test").images[:100], seed=reference.TEST_BINARIZE_SEED)
    reference.verify(vl, vl.load_reference("vae_2d", directory=out), x)
    assert {p.name: p.stat().st_mtime_ns for p in reference.REFERENCE_DIR.iterdir()} == before


def test_the_appendix_shows_the_manifests_table():
    proc = subprocess.run([sys.executable, str(ROOT / "book/_tools/reference_table.py"), "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_the_appendix_names_where_each_model_trained():
    import reference_table

    entries = {name: {"training": {"device": device}} for name, device in
               (("a", "CPU (AMD)"), ("b", "CPU (AMD)"), ("c", "CPU (Intel)"), ("d", "GPU H200"))}
    assert reference_table.machines({"a": entries["a"]}) == "CPU (AMD)"
    assert reference_table.machines(entries) in ("CPU (AMD), except `c` on CPU (Intel); `d` on GPU H200",
                                                 "CPU (AMD), except `d` on GPU H200; `c` on CPU (Intel)")


def test_the_recipes_learning_rate_decays_over_the_run_it_is_given():
    # vae_conv's recipe: the schedule spans exactly the run's steps, and the manifest records it.
    spec = train_reference.SPEC_BY_NAME["vae_conv"]
    assert spec.fit["schedule"] == "warmup_cosine" and spec.fit["precision"] == "bfloat16"
    training = reference.info("vae_conv")["training"]
    assert (training["schedule"], training["learning_rate"], training["batch_size"]) == ("warmup_cosine", 2e-3, 256)
    assert training["steps"] == spec.epochs * math.ceil(55_000 / 256)
    history = reference.info("vae_conv")["history"]
    assert history["val_loss"][-1] < history["val_loss"][len(history["val_loss"]) // 2]  # still improving late in the run
