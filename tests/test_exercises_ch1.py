"""The chapter-1 checkers accept a correct answer and explain the usual wrong ones."""

from __future__ import annotations

import numpy as np
import pytest

from vaelib.exercises import ch1


def verdict(check, fn, capsys) -> tuple[bool, str]:
    ok = check(fn)
    return ok, capsys.readouterr().out.strip()


def stub(*args):
    raise NotImplementedError("your code here")


# ------------------------------------------------------------------ pca projection
def pca_projection(x, k, centre=True, add_back=True, smallest=False, k_shift=0):
    mean = x.mean(0) if centre else np.zeros(x.shape[1])
    _, _, vt = np.linalg.svd(x - mean, full_matrices=False)
    kk = k + k_shift
    rows = vt[-kk:] if smallest else vt[:kk]
    proj = (x - mean) @ rows.T @ rows
    return proj + mean if add_back else proj


def pca_by_eigh(x, k):
    """Another correct route: eigen-decomposition of the covariance, largest first."""
    mean = x.mean(0)
    vals, vecs = np.linalg.eigh(np.cov(x - mean, rowvar=False))
    top = vecs[:, np.argsort(vals)[::-1][:k]]
    return (x - mean) @ top @ top.T + mean


@pytest.mark.parametrize("fn", [pca_projection, pca_by_eigh])
def test_pca_correct(fn, capsys):
    ok, out = verdict(ch1.check_pca_projection, fn, capsys)
    assert ok and out.startswith("✓ pca_projection"), out


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        (lambda x, k: pca_projection(x, k, centre=False), "did not centre the data"),
        (lambda x, k: pca_projection(x, k, add_back=False), "mean is missing"),
        (lambda x, k: pca_projection(x, k, smallest=True), "SMALLEST variance"),
        (lambda x, k: pca_projection(x, k, k_shift=1), "kept 2 directions instead of k=1"),
        (lambda x, k: (x - x.mean(0)) @ np.linalg.svd(x - x.mean(0))[2][:k].T, "expected (60, 8)"),
        (lambda x, k: pca_projection(x, k, k_shift=-1), "kept 0 directions instead of k=1"),
        (lambda x, k: (lambda m, v: (x - m) @ v[:, :k] @ v[:, :k].T + m)(
            x.mean(0), np.linalg.svd(x - x.mean(0), full_matrices=False)[2]), "columns of the SVD's Vh instead of its rows"),
        (lambda x, k: (lambda v: x @ v.T @ v + x.mean(0))(np.linalg.svd(x - x.mean(0), full_matrices=False)[2][:k]),
         "did not subtract it before projecting"),
        (lambda x, k: (lambda vals, vecs: (x - x.mean(0)) @ vecs[:, :k] @ vecs[:, :k].T + x.mean(0))(
            *np.linalg.eigh(np.cov(x, rowvar=False))), "SMALLEST variance (np.linalg.eigh sorts eigenvalues in increasing"),
        (lambda x, k: pca_projection(x, k) + 1e-3, "your projection is wrong for k=1 on 60 points in 8-D: at index"),
        (stub, "raised NotImplementedError: your code here"),
    ],
)
def test_pca_wrong(wrong, message, capsys):
    ok, out = verdict(ch1.check_pca_projection, wrong, capsys)
    assert not ok and out.startswith("✗ pca_projection") and message in out, out


# ------------------------------------------------------------------ reconstruction loss
def bce(x, x_hat):
    x_hat = np.clip(x_hat, 1e-7, 1 - 1e-7)
    return -np.sum(x * np.log(x_hat) + (1 - x) * np.log(1 - x_hat), axis=(1, 2))


def bce_torch(x, x_hat):
    import torch

    return torch.nn.functional.binary_cross_entropy(
        torch.as_tensor(x_hat), torch.as_tensor(x), reduction="none").sum((1, 2))


@pytest.mark.parametrize("fn", [bce, bce_torch])
def test_bce_correct(fn, capsys):
    ok, out = verdict(ch1.check_reconstruction_loss, fn, capsys)
    assert ok and out.startswith("✓ reconstruction_loss"), out


def unclipped(x, x_hat):
    return -np.sum(x * np.log(x_hat) + (1 - x) * np.log(1 - x_hat), axis=(1, 2))


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        (lambda x, p: -bce(x, p), "sign is flipped"),
        (lambda x, p: bce(x, p) / 784, "averaged over the pixels"),
        (lambda x, p: bce(p, x), "swapped the arguments"),
        (lambda x, p: bce(x, p).sum(), "reduced over the batch too"),
        (unclipped, "clip x_hat"),
        (lambda x, p: -np.sum(x * np.log(np.clip(p, 1e-7, 1)), axis=(1, 2)), "(1 - x) log(1 - x_hat) term is missing"),
        (lambda x, p: -np.sum((1 - x) * np.log(np.clip(1 - p, 1e-7, 1)), axis=(1, 2)), "the x log x_hat term is missing"),
        (lambda x, p: np.sum((x - p) ** 2, axis=(1, 2)), "that is the squared error"),
        (lambda x, p: bce(x, p) / np.log(10), "you used log base 10"),
        (lambda x, p: bce(x, p).mean(), "reduced over the batch too"),
        (lambda x, p: -(x * np.log(np.clip(p, 1e-7, 1 - 1e-7)) + (1 - x) * np.log(np.clip(1 - p, 1e-7, 1))),
         "one loss per image: sum over the pixels"),
        (lambda x, p: bce(x, p) * 1.01, "your loss is wrong for grey-level images: at index"),
        (stub, "raised NotImplementedError"),
    ],
)
def test_bce_wrong(wrong, message, capsys):
    ok, out = verdict(ch1.check_reconstruction_loss, wrong, capsys)
    assert not ok and out.startswith("✗ reconstruction_loss") and message in out, out


# ------------------------------------------------------------------ masking noise
def mask(x, p, seed=None):
    rng = np.random.default_rng(seed)
    return np.where(rng.uniform(size=x.shape) < p, 0.0, x)


@pytest.mark.parametrize("fn", [
    mask,
    lambda x, p, seed=None: x * (np.random.default_rng(seed).random(x.shape) >= p),
    lambda x, p, seed=None: np.where(np.random.default_rng(seed).binomial(1, p, size=x.shape) == 1, 0, x).astype(x.dtype),
])
def test_add_noise_correct(fn, capsys):
    ok, out = verdict(ch1.check_add_noise, fn, capsys)
    assert ok and out.startswith("✓ add_noise"), out


def in_place(x, p, seed=None):
    x[np.random.default_rng(seed).uniform(size=x.shape) < p] = 0.0
    return x


def shared_mask(x, p, seed=None):
    return np.where(np.random.default_rng(seed).uniform(size=x.shape[1:]) < p, 0.0, x)


def global_seeded(x, p, seed=None):
    np.random.seed(seed)
    return np.where(np.random.uniform(size=x.shape) < p, 0.0, x)


def structured(shape_of):
    """Masking noise whose random numbers are drawn once per block of pixels, not per pixel."""
    def fn(x, p, seed=None):
        return np.where(np.random.default_rng(seed).uniform(size=shape_of(x)) < p, 0.0, x)
    return fn


ADD_NOISE_MISTAKES = [
    ("gaussian", lambda x, p, seed: x + p * np.random.default_rng(seed).normal(size=x.shape), "outside [0, 1]"),
    ("clipped gaussian", lambda x, p, seed: np.clip(x + p * np.random.default_rng(seed).normal(size=x.shape), 0, 1),
     "neither kept nor set to 0"),
    ("keeps with p", lambda x, p, seed: mask(x, 1 - p, seed), "probability 1 - p"),
    ("in place", in_place, "changed its input x in place"),
    ("unseeded generator", lambda x, p, seed: mask(x, p), "same seed gave different masks: you drew from a generator "
                                                          "that does not get the seed"),
    ("global generator", lambda x, p, seed: np.where(np.random.uniform(size=x.shape) < p, 0.0, x),
     "same seed gave different masks: you drew from NumPy's global generator"),
    ("reseeds the global generator", global_seeded, "your function used NumPy's global generator (np.random.seed"),
    ("ignores its seed", lambda x, p, seed: mask(x, p, 0), "seeds 9 and 10 gave the same mask: your function ignores its seed"),
    ("one mask for all images", shared_mask, "every image gets the same mask"),
    ("whole images", structured(lambda x: (len(x), 1, 1)), "you dropped whole images"),
    ("whole rows", structured(lambda x: (len(x), x.shape[1], 1)), "you dropped whole rows of pixels"),
    ("whole columns", structured(lambda x: (len(x), 1, x.shape[2])), "you dropped whole columns of pixels"),
    ("inverted dropout", lambda x, p, seed: mask(x, p, seed) / (1 - p) if p < 1 else mask(x, p, seed),
     "you divided the kept pixels by 1 - p"),
    ("salt noise", lambda x, p, seed: np.where(np.random.default_rng(seed).uniform(size=x.shape) < p, 1.0, x),
     "you set the dropped pixels to 1"),
    ("returns the mask", lambda x, p, seed: (np.random.default_rng(seed).uniform(size=x.shape) >= p).astype(float),
     "you returned the mask itself"),
    ("one image", lambda x, p, seed: mask(x, p, seed)[0], "expected (64, 28, 28)"),
    ("half the rate", lambda x, p, seed: mask(x, p / 2, seed), "of the pixels to 0 for p=0.25: expected about 0.25"),
    ("stub", stub, "raised NotImplementedError"),
]


@pytest.mark.parametrize(("name", "wrong", "message"), ADD_NOISE_MISTAKES, ids=[m[0] for m in ADD_NOISE_MISTAKES])
def test_add_noise_wrong(name, wrong, message, capsys):
    ok, out = verdict(ch1.check_add_noise, wrong, capsys)
    assert not ok and out.startswith("✗ add_noise") and message in out, out


def test_add_noise_leaves_the_global_generator_as_it_was(capsys):
    np.random.seed(123)
    expected = np.random.uniform(size=3)
    np.random.seed(123)
    verdict(ch1.check_add_noise, global_seeded, capsys)
    assert np.array_equal(np.random.uniform(size=3), expected)
