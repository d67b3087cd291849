"""Log-likelihoods and KL divergences, per example, in nats (PyTorch).

Every function takes tensors or array-likes and refuses, in one line naming the argument,
text, NaN or infinite values and shapes that do not fit together; the models train on the
unchecked twins in ``vaelib.torch.kernels``.
"""

from __future__ import annotations

from typing import Any

import torch

from vaelib._checks import check_nonnegative_number
from vaelib._docs import shared_doc
from vaelib._loss_args import loss_tensors
from vaelib.torch import kernels
from vaelib.torch.utils import float_tensor

__all__ = [
    "gaussian_kl_per_dim",
    "gaussian_kl",
    "free_bits_kl",
    "bernoulli_log_likelihood",
    "gaussian_log_likelihood",
    "log_normal_pdf",
    "reparameterize",
]


def _convert(name: str, value: Any, first: torch.Tensor | None) -> torch.Tensor:
    return float_tensor(name, value, None if first is None else first.device)


@shared_doc("torch")
def gaussian_kl_per_dim(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    mu, logvar = loss_tensors("gaussian_kl_per_dim", _convert, {"mu": mu, "logvar": logvar})
    return kernels.gaussian_kl_per_dim(mu, logvar)


@shared_doc("torch")
def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    mu, logvar = loss_tensors("gaussian_kl", _convert, {"mu": mu, "logvar": logvar})
    return kernels.gaussian_kl(mu, logvar)


@shared_doc("torch")
def free_bits_kl(kl_per_dim: torch.Tensor, free_bits: float) -> torch.Tensor:
    kl_per_dim, = loss_tensors("free_bits_kl", _convert, {"kl_per_dim": kl_per_dim})
    return kernels.free_bits_kl(kl_per_dim, check_nonnegative_number("free_bits", free_bits))


@shared_doc("torch")
def bernoulli_log_likelihood(x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    x, logits = loss_tensors("bernoulli_log_likelihood", _convert, {"x": x, "logits": logits})
    return kernels.bernoulli_log_likelihood(x, logits)


@shared_doc("torch")
def gaussian_log_likelihood(x: torch.Tensor, mean: torch.Tensor, log_sigma: torch.Tensor) -> torch.Tensor:
    x, mean, log_sigma = loss_tensors("gaussian_log_likelihood", _convert, {"x": x, "mean": mean, "log_sigma": log_sigma})
    return kernels.gaussian_log_likelihood(x, mean, log_sigma)


@shared_doc("torch")
def log_normal_pdf(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    z, mu, logvar = loss_tensors("log_normal_pdf", _convert, {"z": z, "mu": mu, "logvar": logvar})
    return kernels.log_normal_pdf(z, mu, logvar)


@shared_doc("torch")
def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    mu, logvar, eps = loss_tensors("reparameterize", _convert, {"mu": mu, "logvar": logvar, "eps": eps})
    return kernels.reparameterize(mu, logvar, eps)
