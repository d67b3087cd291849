"""Log-likelihoods and KL divergences, per example, in nats (Keras 3, ``keras.ops``).

Every function takes tensors or array-likes and refuses, in one line naming the argument,
text, NaN or infinite values and shapes that do not fit together; the models train on the
unchecked twins in ``vaelib.keras.kernels``.
"""

from __future__ import annotations

from typing import Any

from vaelib._checks import check_nonnegative_number
from vaelib._docs import shared_doc
from vaelib._loss_args import loss_tensors
from vaelib.keras import kernels
from vaelib.keras.utils import float_tensor

__all__ = [
    "gaussian_kl_per_dim",
    "gaussian_kl",
    "free_bits_kl",
    "bernoulli_log_likelihood",
    "gaussian_log_likelihood",
    "log_normal_pdf",
    "reparameterize",
]


def _convert(name: str, value: Any, first: Any) -> Any:
    return float_tensor(name, value)


@shared_doc("keras")
def gaussian_kl_per_dim(mu: Any, logvar: Any) -> Any:
    mu, logvar = loss_tensors("gaussian_kl_per_dim", _convert, {"mu": mu, "logvar": logvar})
    return kernels.gaussian_kl_per_dim(mu, logvar)


@shared_doc("keras")
def gaussian_kl(mu: Any, logvar: Any) -> Any:
    mu, logvar = loss_tensors("gaussian_kl", _convert, {"mu": mu, "logvar": logvar})
    return kernels.gaussian_kl(mu, logvar)


@shared_doc("keras")
def free_bits_kl(kl_per_dim: Any, free_bits: float) -> Any:
    kl_per_dim, = loss_tensors("free_bits_kl", _convert, {"kl_per_dim": kl_per_dim})
    return kernels.free_bits_kl(kl_per_dim, check_nonnegative_number("free_bits", free_bits))


@shared_doc("keras")
def bernoulli_log_likelihood(x: Any, logits: Any) -> Any:
    x, logits = loss_tensors("bernoulli_log_likelihood", _convert, {"x": x, "logits": logits})
    return kernels.bernoulli_log_likelihood(x, logits)


@shared_doc("keras")
def gaussian_log_likelihood(x: Any, mean: Any, log_sigma: Any) -> Any:
    x, mean, log_sigma = loss_tensors("gaussian_log_likelihood", _convert, {"x": x, "mean": mean, "log_sigma": log_sigma})
    return kernels.gaussian_log_likelihood(x, mean, log_sigma)


@shared_doc("keras")
def log_normal_pdf(z: Any, mu: Any, logvar: Any) -> Any:
    z, mu, logvar = loss_tensors("log_normal_pdf", _convert, {"z": z, "mu": mu, "logvar": logvar})
    return kernels.log_normal_pdf(z, mu, logvar)


@shared_doc("keras")
def reparameterize(mu: Any, logvar: Any, eps: Any) -> Any:
    mu, logvar, eps = loss_tensors("reparameterize", _convert, {"mu": mu, "logvar": logvar, "eps": eps})
    return kernels.reparameterize(mu, logvar, eps)
