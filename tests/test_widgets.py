"""The committed data of the book's interactive figures (book/_static/vae-widgets/).

The data files must hold what the reference models give now: the decoder weights
bit for bit, the posterior means, the rate and distortion of each beta and the images to
within 8-bit rounding. A stale export (models retrained, exporter not rerun) fails here;
rerun ``python book/_tools/export_widgets.py`` and commit its output. The exporter must
give the same bytes twice, and everything a widget page loads must stay under 2 MB.
The browser side (the widgets drawing what the decoder gives) is in test_browser.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import export_widgets as ew
from widget_format import decode_array, encode_array, unwrap, wrap
from vaelib import data, plotting, reference

ROOT = Path(__file__).resolve().parents[1]
WIDGET_DIR = ROOT / "book" / "_static" / "vae-widgets"
PAGE_LIMIT_BYTES = 2_000_000
EIGHT_BIT = 1  # images are stored as round(255 p): a fresh decode may round one level apart


@pytest.fixture(scope="module")
def vl() -> Any:
    from vaelib import torch as backend

    return backend


@pytest.fixture(scope="module")
def test_set() -> tuple[np.ndarray, np.ndarray]:
    """Binarized test images and labels, loaded here rather than through the exporter."""
    test = data.load_fashion_mnist("test")
    return data.binarize(test.images, seed=2), np.asarray(test.labels)


def committed(name: str) -> dict[str, Any]:
    """The payload of a committed data file (fails if it is missing or malformed)."""
    path = WIDGET_DIR / "data" / f"{name}.js"
    assert path.is_file(), f"{path} is missing: run python book/_tools/export_widgets.py"
    got, payload = unwrap(path.read_text(encoding="ascii"))
    assert got == name, f"{path} hands over data named {got!r}"
    return payload


def as_pixels(probabilities: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(probabilities, dtype=np.float64) * 255.0)


def test_array_format_round_trips_and_refuses_lossy_casts() -> None:
    values = np.array([[0.5, -2.0], [65504.0, 2.0**-24]], dtype=np.float32)
    back = decode_array(encode_array(values, "float16"))
    assert back.dtype == np.float16 and np.array_equal(back.astype(np.float32), values)
    with pytest.raises(ValueError, match="do not all fit float16"):
        encode_array(np.array([0.1], dtype=np.float32), "float16")
    with pytest.raises(ValueError, match="do not all fit uint8"):
        encode_array(np.array([256]), "uint8")
    assert unwrap(wrap("x", {"b": 1, "a": [1.5]})) == ("x", {"a": [1.5], "b": 1})


def test_everything_a_widget_page_loads_fits_the_limit() -> None:
    # Scripts and styles load on every page; a page loads at most both data files.
    files = sorted(p for p in WIDGET_DIR.rglob("*") if p.is_file())
    names = {p.relative_to(WIDGET_DIR).as_posix() for p in files}
    assert {"core.js", "widgets.css", "data/vae_2d.js", "data/rate_distortion.js"} <= names, names
    total = sum(p.stat().st_size for p in files)
    assert total < PAGE_LIMIT_BYTES, f"widget files take {total:,} bytes, over {PAGE_LIMIT_BYTES:,}"


def test_latent_data_is_the_reference_decoder_and_means(vl: Any, test_set: tuple[np.ndarray, np.ndarray]) -> None:
    payload = committed("vae_2d")
    assert payload["model"]["sha256"] == reference.info("vae_2d")["sha256"], "exported from other weights: re-export"
    model = vl.load_reference("vae_2d")
    weights = vl.export_weights(model)
    assert set(payload["decoder"]) == set(ew.DECODER_KEYS)
    for key, obj in payload["decoder"].items():
        np.testing.assert_array_equal(decode_array(obj).astype(np.float32), weights[key], err_msg=key)
    grid, _ = plotting._grid_axes("quantiles", 15)  # chapter 4's latent_manifold(n=15, extent="quantiles")
    assert payload["extent"] == [grid[0], grid[-1]]

    x, y = test_set
    points = payload["points"]
    index = decode_array(points["index"]).astype(int)
    assert len(index) >= 1_000 and len(np.unique(index)) == len(index)
    np.testing.assert_array_equal(decode_array(points["label"]), y[index])
    np.testing.assert_allclose(decode_array(points["mu"]), vl.encode_dataset(model, x[index])[0], atol=1e-5)
    thumbs = payload["thumbnails"]
    np.testing.assert_array_equal(decode_array(thumbs["image"]), as_pixels(x[thumbs["index"]]))
    np.testing.assert_array_equal(thumbs["label"], y[thumbs["index"]])
    np.testing.assert_allclose(decode_array(thumbs["mu"]), vl.encode_dataset(model, x[thumbs["index"]])[0], atol=1e-5)


def test_rate_distortion_data_is_the_reference_models(vl: Any, test_set: tuple[np.ndarray, np.ndarray]) -> None:
    payload = committed("rate_distortion")
    x, _ = test_set
    shown = payload["inputs"]["index"]
    np.testing.assert_array_equal(decode_array(payload["inputs"]["image"]), as_pixels(x[shown]))
    assert [m["beta"] for m in payload["models"]] == [0.5, 1.0, 2.0, 4.0, 16.0]
    for entry in payload["models"]:
        name = entry["model"]["name"]
        info = reference.info(name)
        assert info["config"].get("latent_dim") and info["training"].get("beta", 1.0) == entry["beta"], name
        assert entry["model"]["sha256"] == info["sha256"], f"{name}: exported from other weights: re-export"
        assert entry["rate"] == info["evaluation"]["kl"]
        assert entry["distortion"] == -info["evaluation"]["log_likelihood"]
        model = vl.load_reference(name)
        z = np.random.default_rng(payload["prior_seed"]).standard_normal((10, model.latent_dim)).astype(np.float32)
        samples = decode_array(entry["samples"]).astype(np.float64)
        assert np.abs(samples - as_pixels(model.decode_means(z))).max() <= EIGHT_BIT, name
        recon = decode_array(entry["reconstructions"]).astype(np.float64)
        expected = as_pixels(model.decode_means(vl.encode_dataset(model, x[shown])[0]))
        assert np.abs(recon - expected).max() <= EIGHT_BIT, name


def test_exporter_is_deterministic(tmp_path: Path) -> None:
    first = ew.write(tmp_path / "a")
    second = ew.write(tmp_path / "b")
    assert [p.name for p in first] == ["vae_2d.js", "rate_distortion.js"]
    for a, b in zip(first, second):
        assert a.read_bytes() == b.read_bytes(), f"{a.name} differs between two exports"
    assert not list((tmp_path / "a").glob(".*")), "a temporary file was left behind"
