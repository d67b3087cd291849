"""Figures: the right axes, labels and sizes; atomic PNG writes; one-line errors on bad input."""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from vaelib import plotting  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture
def images():
    return np.random.default_rng(0).uniform(size=(10, 28, 28)).astype(np.float32)


def test_image_grid_tiles_into_one_canvas(images):
    fig = plotting.image_grid(images, nrow=5, title="samples")
    (ax,) = fig.axes
    canvas = ax.get_images()[0].get_array()
    assert canvas.shape == (2 * 29 - 1, 5 * 29 - 1)  # 2 rows x 5 columns, 1-pixel gaps
    np.testing.assert_allclose(canvas[29:57, 29:57], images[6])  # row 1, column 1
    assert ax.get_title() == "samples"


def test_image_grid_with_titles_has_one_axes_per_image(images):
    fig = plotting.image_grid(images[:4], nrow=2, titles=list("abcd"))
    assert len(fig.axes) == 4
    assert [a.get_title() for a in fig.axes] == list("abcd")


def test_image_grid_draws_on_given_axes(images):
    fig, ax = plt.subplots()
    assert plotting.image_grid(images[:3], ax=ax) is fig
    assert len(ax.get_images()) == 1


def test_compare_rows_labels_each_row(images):
    fig = plotting.compare_rows([images[:6], 1 - images[:6]], ["input", "reconstruction"], title="t")
    assert len(fig.axes) == 2
    assert [a.get_ylabel() for a in fig.axes] == ["input", "reconstruction"]
    assert fig.axes[0].get_images()[0].get_array().shape == (28, 6 * 29 - 1)


def test_interpolation_strip_one_row_per_strip(images):
    fig = plotting.interpolation_strip(images.reshape(2, 5, 28, 28), labels=["a", "b"])
    assert len(fig.axes) == 2


def test_latent_scatter_2d_and_pca():
    rng = np.random.default_rng(1)
    labels = np.repeat(np.arange(3), 20)
    z2 = rng.normal(size=(60, 2))
    fig = plotting.latent_scatter(z2, labels, ["x", "y", "z"], title="codes")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "$z_1$" and ax.get_title() == "codes"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["x", "y", "z"]
    np.testing.assert_allclose(ax.collections[0].get_offsets(), z2[:20])
    # 5-D codes: projected on their two principal components.
    z5 = rng.normal(size=(60, 5)) * np.array([5.0, 3.0, 0.1, 0.1, 0.1])
    ax5 = plotting.latent_scatter(z5, labels).axes[0]
    assert ax5.get_xlabel() == "PC 1 of z"
    xy = np.concatenate([c.get_offsets() for c in ax5.collections])
    assert np.var(xy[:, 0]) > np.var(xy[:, 1])  # first axis carries the most variance
    assert plotting.latent_scatter(z5, pca=False).axes[0].get_xlabel() == "$z_1$"


def test_latent_manifold_decodes_a_grid():
    seen = {}

    def decode(z):
        seen["z"] = z
        return np.tile(z[:, :1, None], (1, 28, 28)) * 0 + 0.5

    fig = plotting.latent_manifold(decode, n=4, extent=2.0)
    assert seen["z"].shape == (16, 2) and seen["z"].dtype == np.float32
    np.testing.assert_allclose(np.unique(seen["z"][:, 0]), np.linspace(-2, 2, 4), rtol=1e-6)
    ax = fig.axes[0]
    assert ax.get_images()[0].get_array().shape == (4 * 29 - 1, 4 * 29 - 1)
    assert ax.get_xlabel() == "$z_1$" and ax.get_ylabel() == "$z_2$"
    plotting.latent_manifold(decode, n=5, extent="quantiles")
    # Quantiles (i + 0.5) / n of N(0, 1): 0.1 -> -1.2816, 0.5 -> 0.
    np.testing.assert_allclose(np.unique(seen["z"][:, 0])[[0, 2]], [-1.281552, 0.0], atol=1e-5)
    ax = plotting.latent_manifold(decode, n=3, extent=((0, 4), (-1, 1))).axes[0]
    np.testing.assert_allclose(np.unique(seen["z"][:, 0]), [0, 2, 4])
    np.testing.assert_allclose(np.unique(seen["z"][:, 1]), [-1, 0, 1])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.0", "2.0", "4.0"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["1.0", "0.0", "-1.0"]  # larger z2 on top


def test_training_curves_train_and_val_lines():
    history = {"loss": [3.0, 2.0, 1.5], "reconstruction": [3.0, 2.0, 1.5], "val_loss": [3.1, 2.2, 1.9]}
    fig = plotting.training_curves(history, keys=["loss", "reconstruction"])
    assert len(fig.axes) == 2
    loss_ax, rec_ax = fig.axes
    assert [line.get_label() for line in loss_ax.get_lines()] == ["train", "validation"]
    assert len(rec_ax.get_lines()) == 1 and loss_ax.get_xlabel() == "epoch"
    np.testing.assert_allclose(loss_ax.get_lines()[1].get_ydata(), [3.1, 2.2, 1.9])
    assert len(plotting.training_curves(history).axes) == 2  # default keys skip val_*


def test_save_figure_writes_png_atomically(tmp_path, images):
    fig = plotting.image_grid(images[:4])
    path = tmp_path / "sub" / "grid.png"
    assert plotting.save_figure(fig, path) == str(path)
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 200
    assert os.listdir(path.parent) == ["grid.png"]  # no temporary file left behind


def test_save_figure_failure_leaves_nothing(tmp_path, images, monkeypatch):
    fig = plotting.image_grid(images[:4])
    path = tmp_path / "grid.png"
    path.write_bytes(b"old")

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(fig, "savefig", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        plotting.save_figure(fig, path)
    assert path.read_bytes() == b"old"  # the old file is intact
    assert os.listdir(tmp_path) == ["grid.png"]


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: plotting.image_grid(np.zeros((2, 3, 28, 28))), ValueError, r"^images: expected shape \(N, H, W\)"),
        (lambda: plotting.image_grid(np.full((2, 28, 28), np.nan)), ValueError, "^images: contains NaN"),
        (lambda: plotting.image_grid(np.zeros((2, 28, 28)), nrow=0), ValueError, "^nrow: expected a positive"),
        (lambda: plotting.image_grid(np.zeros((2, 28, 28)), titles=["a"]), ValueError, "^titles: expected 2"),
        (lambda: plotting.compare_rows([np.zeros((2, 28, 28)), np.zeros((3, 28, 28))]), ValueError,
         "^rows: every row must have the same shape"),
        (lambda: plotting.compare_rows(np.zeros((2, 28, 28))), TypeError, "^rows: expected a non-empty list"),
        (lambda: plotting.compare_rows([np.zeros((2, 28, 28))], ["a", "b"]), ValueError, "^row_labels: expected 1"),
        (lambda: plotting.latent_scatter(np.zeros((5, 1))), ValueError, r"^z: expected shape \(N, D\) with D >= 2"),
        (lambda: plotting.latent_scatter(np.zeros((5, 2)), labels=np.zeros(4)), ValueError, r"^labels: expected shape \(5,\)"),
        (lambda: plotting.latent_scatter(np.zeros((5, 2)), np.arange(5), ["a"]), ValueError, "^class_names: has 1 names"),
        (lambda: plotting.latent_manifold("decoder"), TypeError, "^decode_fn: expected a callable"),
        (lambda: plotting.latent_manifold(lambda z: np.zeros((3, 28, 28)), n=4), ValueError, "^decode_fn: returned 3 images"),
        (lambda: plotting.latent_manifold(lambda z: z, extent=-1.0), ValueError, "^extent: expected a positive"),
        (lambda: plotting.latent_manifold(lambda z: z, extent=((1, 0), (0, 1))), ValueError, "^extent: expected"),
        (lambda: plotting.training_curves([1, 2]), TypeError, "^history: expected a dict"),
        (lambda: plotting.training_curves({"loss": [1.0]}, keys=["kl"]), ValueError, "^keys: 'kl' is not in history"),
        (lambda: plotting.save_figure("fig", "a.png"), TypeError, "^fig: expected a matplotlib Figure"),
        (lambda: plotting.save_figure(plt.figure(), "a.pdf"), ValueError, r"^path: expected a file name ending in \.png"),
    ],
)
def test_bad_input_one_line_errors(call, error, message):
    with pytest.raises(error, match=message) as info:
        call()
    assert "\n" not in str(info.value)
