#!/usr/bin/env python
"""Write the data of the book's interactive figures from the reference models.

Usage (from any directory)::

    python book/_tools/export_widgets.py              # into book/_static/vae-widgets/data/
    python book/_tools/export_widgets.py --out DIR    # somewhere else (the tests do)

Chapter 4's latent explorer and interpolation slider run the decoder of the 2-D reference
model (``vae_2d``) in the page; chapter 6's rate-distortion figure shows the beta models'
test rate and distortion (from the manifest) with their prior samples and reconstructions.
Everything comes from ``vl.load_reference`` and the binarized Fashion-MNIST test set, so
rerun this whenever the reference models change, and commit its output. The same models
give the same bytes; each file is written atomically (book/_tools/widget_format.py has the
format).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from vaelib import data, plotting, reference  # noqa: E402
from vaelib._files import atomic_path  # noqa: E402
from widget_format import encode_array, wrap  # noqa: E402

OUT_DIR = ROOT / "book" / "_static" / "vae-widgets" / "data"
LATENT_MODEL = "vae_2d"
LATENT_FILE = "vae_2d"
RATE_DISTORTION_FILE = "rate_distortion"
# Chapter 4 draws latent_manifold(n=15, extent="quantiles"); the pad spans the same range.
GRID_N = 15
N_POINTS = 2_000  # posterior means drawn on the pad: enough to show the classes' layout
POINTS_SEED = 0
# The interpolation's thumbnails: the first test image of each class, chapter 4's pair first.
THUMBNAIL_CLASSES = (0, 7, 1, 3, 8, 9)
RATE_DISTORTION_MODELS = ((0.5, "beta_vae_0p5"), (1.0, "vae_mlp"), (2.0, "beta_vae_2p0"), (4.0, "beta_vae_4p0"),
                          (16.0, "beta_vae_16p0"))
N_PRIOR_SAMPLES = 10
PRIOR_SEED = 0  # the same prior draws z for every beta, so the rows differ by the model alone
RECONSTRUCTED_CLASSES = tuple(range(10))
# The decoder core.js implements: z -> Dense + ReLU -> Dense -> sigmoid.
DECODER_KEYS = ("decoder.hidden.kernel", "decoder.hidden.bias", "decoder.out.kernel", "decoder.out.bias")


@dataclass(frozen=True)
class TestSet:
    """The binarized Fashion-MNIST test images with their labels and class names."""

    x: np.ndarray
    y: np.ndarray
    class_names: tuple[str, ...]

    @classmethod
    def load(cls) -> "TestSet":
        """Load and binarize the test split (seed 2, as the reference evaluation)."""
        test = data.load_fashion_mnist("test")
        images = data.binarize(test.images, seed=reference.TEST_BINARIZE_SEED)
        return cls(images, np.asarray(test.labels), tuple(test.class_names))

    def first_of_each(self, classes: tuple[int, ...]) -> np.ndarray:
        """Index of the first test image of each class, in the order given."""
        return np.array([int(np.flatnonzero(self.y == c)[0]) for c in classes])


def pixels(probabilities: np.ndarray) -> dict[str, Any]:
    """Images in [0, 1] as an 8-bit array object (what the page draws; 1/510 rounding)."""
    return encode_array(np.round(np.clip(probabilities, 0.0, 1.0) * 255.0).astype(np.uint8), "uint8")


def weight_storage(array: np.ndarray) -> str:
    """float16 when the weights are exactly half-precision numbers (as stored), else float32."""
    return "float16" if np.array_equal(array.astype(np.float16).astype(np.float32), array) else "float32"


def model_entry(name: str) -> dict[str, Any]:
    """Which reference model a payload comes from: its name, weight-file hash and description."""
    info = reference.info(name)
    return {"name": name, "sha256": info["sha256"], "description": info["description"]}


def decoder_arrays(vl: Any, model: Any) -> dict[str, Any]:
    """The decoder weights of an MLP Bernoulli VAE, checked to be the layout core.js runs."""
    config = reference.info(model.reference_name)["config"]
    if config.get("architecture") != "mlp" or config.get("likelihood", "bernoulli") != "bernoulli":
        raise ValueError(f"{model.reference_name}: the page runs MLP Bernoulli decoders only, got config {config}")
    weights = vl.export_weights(model)
    latent, hidden = weights["decoder.hidden.kernel"].shape
    expected = {DECODER_KEYS[0]: (latent, hidden), DECODER_KEYS[1]: (hidden,), DECODER_KEYS[2]: (hidden, 784),
                DECODER_KEYS[3]: (784,)}
    for key, shape in expected.items():
        if weights[key].shape != shape:
            raise ValueError(f"{model.reference_name}: {key} has shape {weights[key].shape}, expected {shape}")
    return {key: encode_array(weights[key], weight_storage(weights[key])) for key in DECODER_KEYS}


def latent_payload(vl: Any, test: TestSet) -> dict[str, Any]:
    """Data of chapter 4's explorer and interpolation: decoder, pad range, means, thumbnails."""
    model = vl.load_reference(LATENT_MODEL)
    grid, _ = plotting._grid_axes("quantiles", GRID_N)  # the very range of chapter 4's figure
    points = np.sort(np.random.default_rng(POINTS_SEED).choice(len(test.x), N_POINTS, replace=False))
    thumbs = test.first_of_each(THUMBNAIL_CLASSES)
    return {
        "model": model_entry(LATENT_MODEL),
        "decoder": decoder_arrays(vl, model),
        "extent": [float(grid[0]), float(grid[-1])],
        "grid_n": GRID_N,
        "class_names": list(test.class_names),
        "points": {"index": encode_array(points, "uint16"), "label": encode_array(test.y[points], "uint8"),
                   "mu": encode_array(vl.encode_dataset(model, test.x[points])[0], "float32")},
        "thumbnails": {"index": thumbs.tolist(), "label": test.y[thumbs].tolist(), "image": pixels(test.x[thumbs]),
                       "mu": encode_array(vl.encode_dataset(model, test.x[thumbs])[0], "float32")},
    }


def rate_distortion_payload(vl: Any, test: TestSet) -> dict[str, Any]:
    """Data of chapter 6's figure: per beta, R and D with prior samples and reconstructions."""
    shown = test.first_of_each(RECONSTRUCTED_CLASSES)
    models = []
    for beta, name in RATE_DISTORTION_MODELS:
        model = vl.load_reference(name)
        evaluation = reference.info(name)["evaluation"]
        z = np.random.default_rng(PRIOR_SEED).standard_normal((N_PRIOR_SAMPLES, model.latent_dim)).astype(np.float32)
        mu = vl.encode_dataset(model, test.x[shown])[0]
        models.append({
            "beta": beta, "model": model_entry(name), "n_test": evaluation["n_elbo"],
            "rate": evaluation["kl"], "distortion": -evaluation["log_likelihood"],
            "samples": pixels(model.decode_means(z)), "reconstructions": pixels(model.decode_means(mu)),
        })
    return {"class_names": list(test.class_names), "inputs": {"index": shown.tolist(), "image": pixels(test.x[shown])},
            "prior_seed": PRIOR_SEED, "models": models}


def payloads() -> dict[str, dict[str, Any]]:
    """Every data file's payload, by file name (without ``.js``)."""
    from vaelib import torch as vl

    test = TestSet.load()
    return {LATENT_FILE: latent_payload(vl, test), RATE_DISTORTION_FILE: rate_distortion_payload(vl, test)}


def write(out_dir: Path = OUT_DIR) -> list[Path]:
    """Compute every payload, then write each data file atomically; returns their paths."""
    texts = {name: wrap(name, payload) for name, payload in payloads().items()}  # all computed before any write
    paths = []
    for name, text in texts.items():
        path = Path(out_dir) / f"{name}.js"
        with atomic_path(path) as tmp:
            tmp.write_bytes(text.encode("ascii"))
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    """Command line: write the widget data and print each file's size."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR, help=f"output folder (default: {OUT_DIR})")
    args = parser.parse_args(argv)
    for path in write(args.out):
        print(f"{path}: {path.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
