"""Input validation shared by both backends (framework-free).

Each backend reduces a tensor to a few Python facts (shape, dtype, min, max, NaN); the
messages live here once, so both frameworks reject bad input with the same words.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from vaelib._types import ARCHITECTURES, LIKELIHOODS

__all__ = ["check_images", "check_choice", "check_positive_int", "check_same_shape", "check_fit_args", "check_noise_std",
           "image_model_config", "check_seed", "AE_LOSSES", "autoencoder_config"]

IMAGE_SHAPE = (28, 28)


def check_images(
    name: str,
    shape: Sequence[int],
    is_float: bool,
    lo: float,
    hi: float,
    has_nan: bool,
    *,
    unit_range: bool = True,
) -> None:
    """Reject an image batch that is not float (B, 28, 28) in [0, 1] without NaN.

    Parameters
    ----------
    name : str
        The argument's name, used first in the message.
    shape, is_float, lo, hi, has_nan
        Facts about the batch, computed by the backend.
    unit_range : bool
        Whether values must lie in [0, 1] (Bernoulli likelihood, binary cross-entropy).
    """
    shape = tuple(int(s) for s in shape)
    if len(shape) != 3 or shape[1:] != IMAGE_SHAPE:
        raise ValueError(f"{name}: expected a batch of 28x28 images with shape (batch, 28, 28), got shape {shape}")
    if shape[0] == 0:
        raise ValueError(f"{name}: expected at least one image, got an empty batch")
    if not is_float:
        raise TypeError(f"{name}: expected floating-point pixels in [0, 1], got an integer dtype (divide by 255.0)")
    if has_nan:
        raise ValueError(f"{name}: contains NaN values")
    if unit_range and (lo < 0.0 or hi > 1.0):
        raise ValueError(f"{name}: expected pixel values in [0, 1], got values in [{lo:g}, {hi:g}] (divide by 255.0?)")


def check_choice(name: str, value: object, choices: Sequence[object]) -> None:
    """Reject ``value`` unless it is one of ``choices``."""
    if value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name}: expected one of {options}, got {value!r}")


def check_positive_int(name: str, value: object) -> int:
    """Return ``value`` as an int, or reject it unless it is an integer >= 1."""
    if isinstance(value, bool) or not isinstance(value, int) and not hasattr(value, "__index__"):
        raise TypeError(f"{name}: expected an integer >= 1, got {value!r}")
    value = int(value)  # type: ignore[arg-type]
    if value < 1:
        raise ValueError(f"{name}: expected an integer >= 1, got {value}")
    return value


def check_same_shape(name: str, shape: Sequence[int], expected: Sequence[int]) -> None:
    """Reject a shape that differs from the expected one."""
    if tuple(shape) != tuple(expected):
        raise ValueError(f"{name}: expected shape {tuple(expected)}, got {tuple(shape)}")


def check_fit_args(epochs: object, batch_size: object, learning_rate: object) -> None:
    """Reject training settings that cannot work, before any step is taken."""
    check_positive_int("epochs", epochs)
    check_positive_int("batch_size", batch_size)
    if not isinstance(learning_rate, (int, float)) or isinstance(learning_rate, bool) or not learning_rate > 0:
        raise ValueError(f"learning_rate: expected a positive number, got {learning_rate!r}")


def check_noise_std(noise_std: object) -> float:
    """Return ``noise_std`` as a float, or reject it unless it is a finite number >= 0."""
    if isinstance(noise_std, bool) or not isinstance(noise_std, (int, float, np.number)) or not 0 <= noise_std < np.inf:
        raise ValueError(f"noise_std: expected a finite number >= 0, got {noise_std!r}")
    return float(noise_std)


def image_model_config(architecture: str, latent_dim: int, hidden_dim: int, likelihood: str,
                       leading: dict[str, int] | None = None) -> dict[str, object]:
    """The checked configuration of an image VAE (``leading`` entries, such as ``num_classes``, first)."""
    check_choice("architecture", architecture, ARCHITECTURES)
    check_choice("likelihood", likelihood, LIKELIHOODS)
    return {
        **(leading or {}),
        "architecture": architecture,
        "latent_dim": check_positive_int("latent_dim", latent_dim),
        "hidden_dim": check_positive_int("hidden_dim", hidden_dim),
        "likelihood": likelihood,
    }


def check_seed(seed: object) -> int:
    """Return ``seed`` as an int, or reject it unless it is an integer >= 0."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed: expected a non-negative integer, got {seed!r}")
    return int(seed)


#: An autoencoder's reconstruction loss -> the likelihood it is the negative log of (up to constants).
AE_LOSSES = {"bce": "bernoulli", "mse": "gaussian"}


def autoencoder_config(latent_dim: int, hidden_dim: int, linear: bool, loss: str | None,
                       noise_std: float) -> dict[str, object]:
    """The checked configuration of an autoencoder; ``loss=None`` picks MSE for the linear one, else BCE."""
    loss = ("mse" if linear else "bce") if loss is None else loss
    check_choice("loss", loss, tuple(AE_LOSSES))
    return {
        "latent_dim": check_positive_int("latent_dim", latent_dim),
        "hidden_dim": check_positive_int("hidden_dim", hidden_dim),
        "linear": bool(linear),
        "loss": loss,
        "noise_std": check_noise_std(noise_std),
    }
