"""Figures for the course (framework-free: NumPy in, matplotlib Figure out).

Every function takes plain arrays (convert tensors with ``.numpy()`` first), draws on a new
figure (or on the ``ax`` given), and returns the :class:`matplotlib.figure.Figure`, so the
notebooks can show it and :func:`save_figure` can write it to disk.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from vaelib._arrays import to_numpy
from vaelib._files import atomic_path

__all__ = [
    "image_grid",
    "compare_rows",
    "latent_scatter",
    "latent_manifold",
    "interpolation_strip",
    "training_curves",
    "save_figure",
]


# --------------------------------------------------------------------------- validation


def _as_images(images: Any, name: str) -> np.ndarray:
    """Return ``images`` as a float array of shape (N, H, W), or raise a one-line error."""
    try:
        arr = np.asarray(images, dtype=np.float32)
    except (TypeError, ValueError):
        raise TypeError(f"{name}: expected an array of images, got {type(images).__name__}") from None
    if arr.ndim == 2:  # a single image
        arr = arr[None]
    if arr.ndim == 4 and arr.shape[-1] == 1:  # tolerate a trailing channel axis
        arr = arr[..., 0]
    if arr.ndim != 3:
        raise ValueError(f"{name}: expected shape (N, H, W), got {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name}: expected at least one image, got none")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: contains NaN or inf")
    return arr


def _new_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
        return fig, ax
    return ax.figure, ax  # type: ignore[return-value]


# --------------------------------------------------------------------------- image figures


def image_grid(
    images: Any,
    nrow: int | None = None,
    titles: Sequence[str] | None = None,
    ax: Axes | None = None,
    *,
    title: str | None = None,
    cmap: str = "gray",
    vmin: float = 0.0,
    vmax: float = 1.0,
    scale: float = 1.0,
) -> Figure:
    """Show images as a grid.

    Parameters
    ----------
    images : array_like, shape (N, H, W)
        Images with values in ``[vmin, vmax]``.
    nrow : int, optional
        Images per row; default ``ceil(sqrt(N))``.
    titles : sequence of str, optional
        One small title per image (then each image gets its own axes; ``ax`` must be None).
    ax : matplotlib Axes, optional
        Draw the tiled grid on this axes instead of a new figure (not with ``titles``).
    title : str, optional
        A title for the whole grid.
    cmap, vmin, vmax : optional
        Colour map and range passed to ``imshow``.
    scale : float
        Inches per image.

    Returns
    -------
    matplotlib.figure.Figure
    """
    imgs = _as_images(images, "images")
    n, h, w = imgs.shape
    if nrow is None:
        nrow = int(np.ceil(np.sqrt(n)))
    if not isinstance(nrow, (int, np.integer)) or nrow < 1:
        raise ValueError(f"nrow: expected a positive integer, got {nrow!r}")
    ncols = int(min(nrow, n))
    nrows = int(np.ceil(n / ncols))
    if titles is not None:
        if len(titles) != n:
            raise ValueError(f"titles: expected {n} titles (one per image), got {len(titles)}")
        if ax is not None:
            raise ValueError("ax: cannot draw per-image titles on a single axes; pass ax=None")
        fig, axes = plt.subplots(nrows, ncols, figsize=(scale * ncols, scale * nrows * 1.2), squeeze=False)
        for i, a in enumerate(axes.flat):
            a.axis("off")
            if i < n:
                a.imshow(imgs[i], cmap=cmap, vmin=vmin, vmax=vmax)
                a.set_title(str(titles[i]), fontsize=8)
        if title:
            fig.suptitle(title)
        fig.tight_layout()
        return fig
    # Tile into one canvas with 1-pixel gaps: one imshow is much faster than N axes.
    canvas = np.full((nrows * (h + 1) - 1, ncols * (w + 1) - 1), vmax, dtype=np.float32)
    for i in range(n):
        r, c = divmod(i, ncols)
        canvas[r * (h + 1) : r * (h + 1) + h, c * (w + 1) : c * (w + 1) + w] = imgs[i]
    fig, ax = _new_axes(ax, (scale * ncols, scale * nrows))
    ax.imshow(canvas, cmap=cmap, vmin=vmin, vmax=vmax)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)
    return fig


def compare_rows(
    rows: Sequence[Any],
    row_labels: Sequence[str] | None = None,
    *,
    title: str | None = None,
    scale: float = 1.0,
    cmap: str = "gray",
) -> Figure:
    """Show several image arrays as aligned rows, e.g. inputs above their reconstructions.

    Parameters
    ----------
    rows : list of array_like, each of shape (N, H, W)
        All rows must hold the same number of images of the same size.
    row_labels : sequence of str, optional
        One label per row, written to the left of it.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per row.
    """
    if isinstance(rows, np.ndarray) or not isinstance(rows, Sequence) or len(rows) == 0:
        raise TypeError("rows: expected a non-empty list of image arrays")
    arrays = [_as_images(r, f"rows[{i}]") for i, r in enumerate(rows)]
    if any(a.shape != arrays[0].shape for a in arrays):
        shapes = [a.shape for a in arrays]
        raise ValueError(f"rows: every row must have the same shape, got {shapes}")
    if row_labels is not None and len(row_labels) != len(arrays):
        raise ValueError(f"row_labels: expected {len(arrays)} labels (one per row), got {len(row_labels)}")
    n = arrays[0].shape[0]
    fig, axes = plt.subplots(len(arrays), 1, figsize=(scale * n + 1.0, scale * len(arrays)), squeeze=False)
    for i, (arr, ax) in enumerate(zip(arrays, axes[:, 0])):
        image_grid(arr, nrow=n, ax=ax, cmap=cmap)
        if row_labels is not None:
            ax.set_ylabel(str(row_labels[i]), rotation=0, ha="right", va="center")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def interpolation_strip(
    images: Any,
    *,
    labels: Sequence[str] | None = None,
    title: str | None = None,
    scale: float = 1.0,
) -> Figure:
    """Show a sequence of images (an interpolation or traversal) in one row.

    Parameters
    ----------
    images : array_like, shape (N, H, W) or (R, N, H, W)
        One strip, or R strips drawn one under the other.
    labels : sequence of str, optional
        One label per strip.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    arr = np.asarray(images, dtype=np.float32)
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4:
        raise ValueError(f"images: expected shape (N, H, W) or (R, N, H, W), got {arr.shape}")
    strips = [arr[i] for i in range(arr.shape[0])]
    return compare_rows(strips, labels, title=title, scale=scale)


# --------------------------------------------------------------------------- latent space


def _first_two_components(z: np.ndarray) -> tuple[np.ndarray, tuple[str, str]]:
    """Return 2-D coordinates: z itself if 2-D, else its projection on the top 2 PCs."""
    if z.shape[1] == 2:
        return z, ("$z_1$", "$z_2$")
    centred = z - z.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[:2].T, ("PC 1 of z", "PC 2 of z")


def latent_scatter(
    z: Any,
    labels: Any | None = None,
    class_names: Sequence[str] | None = None,
    ax: Axes | None = None,
    *,
    pca: bool | None = None,
    title: str | None = None,
    s: float = 4.0,
    alpha: float = 0.6,
) -> Figure:
    """Scatter latent codes, coloured by class.

    Parameters
    ----------
    z : array_like, shape (N, D), D >= 2
        Latent codes. With D == 2 they are drawn as they are; with D > 2 they are projected
        on their two principal components (or on the first two dimensions if ``pca=False``).
    labels : array_like of int, shape (N,), optional
        Class of each point; colours the points and builds the legend.
    class_names : sequence of str, optional
        Names of the classes, indexed by label.
    ax : matplotlib Axes, optional
        Draw here instead of a new figure.
    pca : bool, optional
        Force (True) or forbid (False) the PCA projection; default: PCA when D > 2.
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    zz = np.asarray(z, dtype=np.float64)
    if zz.ndim != 2 or zz.shape[1] < 2:
        raise ValueError(f"z: expected shape (N, D) with D >= 2, got {zz.shape}")
    if not np.all(np.isfinite(zz)):
        raise ValueError("z: contains NaN or inf")
    if pca is None:
        pca = zz.shape[1] > 2
    if pca:
        xy, axis_names = _first_two_components(zz) if zz.shape[1] > 2 else (zz, ("$z_1$", "$z_2$"))
    else:
        xy, axis_names = zz[:, :2], ("$z_1$", "$z_2$")
    fig, ax = _new_axes(ax, (6.0, 5.0))
    if labels is None:
        ax.scatter(xy[:, 0], xy[:, 1], s=s, alpha=alpha)
    else:
        lab = np.asarray(labels)
        if lab.shape != (zz.shape[0],):
            raise ValueError(f"labels: expected shape ({zz.shape[0]},) to match z, got {lab.shape}")
        classes = np.unique(lab)
        if class_names is not None and (lab.min() < 0 or lab.max() >= len(class_names)):
            raise ValueError(f"class_names: has {len(class_names)} names but labels go up to {lab.max()}")
        cmap = plt.get_cmap("tab10" if len(classes) <= 10 else "tab20")
        for k, c in enumerate(classes):
            name = class_names[int(c)] if class_names is not None else str(c)
            sel = lab == c
            ax.scatter(xy[sel, 0], xy[sel, 1], s=s, alpha=alpha, color=cmap(k % cmap.N), label=name)
        ax.legend(markerscale=3, fontsize=8, loc="best", frameon=True)
    ax.set_xlabel(axis_names[0])
    ax.set_ylabel(axis_names[1])
    if title:
        ax.set_title(title)
    return fig


def latent_manifold(
    decode_fn: Callable[[np.ndarray], Any],
    n: int = 15,
    extent: float | str | tuple[tuple[float, float], tuple[float, float]] = 3.0,
    ax: Axes | None = None,
    *,
    title: str | None = None,
    scale: float = 0.5,
) -> Figure:
    """Decode a regular grid over a 2-D latent space and show the images in place.

    Parameters
    ----------
    decode_fn : callable
        Maps a float32 array of codes, shape (n*n, 2), to images of shape (n*n, H, W).
    n : int
        Grid points per axis.
    extent : float, "quantiles" or ((lo1, hi1), (lo2, hi2))
        A float ``a`` gives the grid ``linspace(-a, a, n)`` on both axes; ``"quantiles"``
        places the points at the quantiles ``(i + 0.5) / n`` of a standard normal (the prior
        of a VAE); a pair of ranges spans each axis separately (e.g. the range of an
        autoencoder's codes).
    ax : matplotlib Axes, optional
        Draw here instead of a new figure.
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not callable(decode_fn):
        raise TypeError(f"decode_fn: expected a callable codes -> images, got {type(decode_fn).__name__}")
    if not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"n: expected an integer >= 2, got {n!r}")
    grid_x, grid_y = _grid_axes(extent, n)
    # Row r shows z2 = grid_y[n-1-r] so that "up" in the figure is larger z2.
    z1, z2 = np.meshgrid(grid_x, grid_y[::-1])
    codes = np.stack([z1.ravel(), z2.ravel()], axis=1).astype(np.float32)
    images = _as_images(np.asarray(to_numpy(decode_fn(codes))), "decode_fn(codes)")
    if images.shape[0] != n * n:
        raise ValueError(f"decode_fn: returned {images.shape[0]} images for {n * n} codes")
    fig = image_grid(images, nrow=n, ax=ax, scale=scale)
    used_ax = ax if ax is not None else fig.axes[0]
    h, w = images.shape[1:]
    centres_x = np.arange(n) * (w + 1) + w / 2
    centres_y = np.arange(n) * (h + 1) + h / 2
    ticks = np.linspace(0, n - 1, min(n, 5)).round().astype(int)
    used_ax.set_xticks(centres_x[ticks], [f"{grid_x[i]:.1f}" for i in ticks])
    used_ax.set_yticks(centres_y[ticks], [f"{grid_y[::-1][i]:.1f}" for i in ticks])
    used_ax.set_xlabel("$z_1$")
    used_ax.set_ylabel("$z_2$")
    if title:
        used_ax.set_title(title)
    return fig


def _grid_axes(extent: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The n grid values along z1 and along z2 that ``extent`` asks for."""
    message = f"extent: expected a positive float, 'quantiles' or ((lo1, hi1), (lo2, hi2)), got {extent!r}"
    if isinstance(extent, str):
        if extent != "quantiles":
            raise ValueError(message)
        grid = _normal_quantiles((np.arange(n) + 0.5) / n)
        return grid, grid
    if np.ndim(extent) == 0:
        if not np.isfinite(extent) or extent <= 0:
            raise ValueError(message)
        grid = np.linspace(-extent, extent, n)
        return grid, grid
    bounds = np.asarray(extent, dtype=np.float64)
    if bounds.shape != (2, 2) or not np.all(np.isfinite(bounds)) or np.any(bounds[:, 1] <= bounds[:, 0]):
        raise ValueError(message)
    return np.linspace(*bounds[0], n), np.linspace(*bounds[1], n)


def _normal_quantiles(p: np.ndarray) -> np.ndarray:
    """Inverse CDF of N(0, 1) without SciPy (Newton on the erf-based CDF)."""
    from math import erf, exp, pi, sqrt

    out = []
    for q in np.asarray(p, dtype=np.float64):
        x = 0.0
        for _ in range(60):
            cdf = 0.5 * (1.0 + erf(x / sqrt(2.0)))
            x -= (cdf - q) / (exp(-0.5 * x * x) / sqrt(2.0 * pi))
        out.append(x)
    return np.array(out)


# --------------------------------------------------------------------------- training


_CURVE_LABELS = {
    "loss": "loss (to minimise)",
    "elbo": "ELBO (nats)",
    "log_likelihood": "reconstruction log-likelihood (nats)",
    "reconstruction": "reconstruction loss",
    "kl": "KL (nats)",
}


def training_curves(
    history: Mapping[str, Sequence[float]],
    keys: Sequence[str] | None = None,
    *,
    title: str | None = None,
) -> Figure:
    """Plot per-epoch training (and validation) curves, one panel per metric.

    Parameters
    ----------
    history : mapping str -> sequence of float
        Per-epoch values, as returned by ``fit``; a key ``"val_<name>"`` is drawn as the
        validation line of panel ``<name>``.
    keys : sequence of str, optional
        Which metrics to draw (without the ``val_`` prefix); default: every training key.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per key, x axis "epoch".
    """
    if not isinstance(history, Mapping):
        raise TypeError(f"history: expected a dict of per-epoch lists, got {type(history).__name__}")
    if keys is None:
        keys = [k for k in history if not k.startswith("val_")]
    if len(keys) == 0:
        raise ValueError("history: has no training metrics to plot")
    for k in keys:
        if k not in history:
            raise ValueError(f"keys: {k!r} is not in history (it has {sorted(history)})")
        if len(history[k]) == 0:
            raise ValueError(f"history: {k!r} is empty")
    fig, axes = plt.subplots(1, len(keys), figsize=(4.0 * len(keys), 3.2), squeeze=False)
    for k, ax in zip(keys, axes[0]):
        train = np.asarray(history[k], dtype=np.float64)
        epochs = np.arange(1, len(train) + 1)
        ax.plot(epochs, train, marker="o", label="train")
        if f"val_{k}" in history and len(history[f"val_{k}"]):
            val = np.asarray(history[f"val_{k}"], dtype=np.float64)
            ax.plot(np.arange(1, len(val) + 1), val, marker="s", label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(_CURVE_LABELS.get(k, k))
        ax.set_title(k)
        ax.legend()
        if len(epochs) <= 20:
            ax.set_xticks(epochs)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- saving


def save_figure(fig: Figure, path: str | os.PathLike[str], *, dpi: int = 100) -> str:
    """Write a figure as PNG atomically: to a temporary file, then renamed into place.

    A reader never sees a half-written file, and a failed save leaves no file behind.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : str or path-like
        Destination; must end in ``.png``. Missing parent directories are created.
    dpi : int
        Resolution.

    Returns
    -------
    str
        The path written.
    """
    if not isinstance(fig, Figure):
        raise TypeError(f"fig: expected a matplotlib Figure, got {type(fig).__name__}")
    path = os.fspath(path)
    if not path.lower().endswith(".png"):
        raise ValueError(f"path: expected a file name ending in .png, got {path!r}")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight")
    return path
