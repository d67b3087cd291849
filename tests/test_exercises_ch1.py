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


def test_add_noise_correct(capsys):
    ok, out = verdict(ch1.check_add_noise, mask, capsys)
    assert ok and out.startswith("✓ add_noise"), out


def in_place(x, p, seed=None):
    x[np.random.default_rng(seed).uniform(size=x.shape) < p] = 0.0
    return x


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        (lambda x, p, seed: x + p * np.random.default_rng(seed).normal(size=x.shape), "outside [0, 1]"),
        (lambda x, p, seed: np.clip(x + p * np.random.default_rng(seed).normal(size=x.shape), 0, 1),
         "neither kept nor set to 0"),
        (lambda x, p, seed: mask(x, 1 - p, seed), "probability 1 - p"),
        (in_place, "changed its input x in place"),
        (lambda x, p, seed: mask(x, p), "same seed gave different masks"),
        (lambda x, p, seed: mask(x, p, seed)[0], "expected (64, 28, 28)"),
        (stub, "raised NotImplementedError"),
    ],
)
def test_add_noise_wrong(wrong, message, capsys):
    ok, out = verdict(ch1.check_add_noise, wrong, capsys)
    assert not ok and out.startswith("✗ add_noise") and message in out, out
