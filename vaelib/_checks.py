"""Input validation shared by both backends (framework-free).

Each backend reduces a tensor to a few Python facts (shape, dtype, min, max, NaN); the
messages live here once, so both frameworks reject bad input with the same words.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from vaelib._types import ARCHITECTURES, LIKELIHOODS

__all__ = ["ArgumentTypeError", "check_images", "check_choice", "check_int", "check_positive_int", "check_number",
           "check_positive_number", "check_nonnegative_number", "check_probability", "check_flag", "check_seed",
           "check_optional_seed", "check_beta", "user_array", "check_finite", "check_shape", "check_image_array",
           "check_fit_args", "check_noise_std", "network_sizes", "image_model_config", "check_vaelib_model",
           "check_image_vae", "check_trainable_image_model", "check_path", "check_weights", "AE_LOSSES", "autoencoder_config"]


class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong type: a TypeError, and a ValueError as vaelib raised for these before."""


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
    has_inf: bool = False,
) -> None:
    """Reject an image batch that is not float (B, 28, 28) in [0, 1] without NaN.

    Parameters
    ----------
    name : str
        The argument's name, used first in the message.
    shape, is_float, lo, hi, has_nan, has_inf
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
    check_finite(name, has_nan, has_inf)
    if unit_range and (lo < 0.0 or hi > 1.0):
        raise ValueError(f"{name}: expected pixel values in [0, 1], got values in [{lo:g}, {hi:g}] (divide by 255.0?)")


def check_choice(name: str, value: object, choices: Sequence[object]) -> None:
    """Reject ``value`` unless it is one of ``choices``."""
    if value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name}: expected one of {options}, got {value!r}")


def _is_integer(value: object) -> bool:
    return not isinstance(value, (bool, np.bool_)) and isinstance(value, (int, np.integer))


def _is_real(value: object) -> bool:
    return not isinstance(value, (bool, np.bool_)) and isinstance(value, (int, float, np.integer, np.floating))


def _scalar(value: object) -> object:
    """A 0-d array or tensor (``np.array(3)``, ``torch.tensor(0.5)``) as the Python number it holds."""
    if getattr(value, "shape", None) == () and not isinstance(value, np.generic):
        if hasattr(value, "item"):
            return value.item()
        if hasattr(value, "numpy"):  # an eager TensorFlow tensor
            return value.numpy().item()
    return value


def check_int(name: str, value: object, *, minimum: int = 1) -> int:
    """Return ``value`` as an int, or reject it unless it is an integer (Python or NumPy) >= ``minimum``."""
    value = _scalar(value)
    if not _is_integer(value):
        raise ArgumentTypeError(f"{name}: expected an integer >= {minimum}, got {value!r}")
    if value < minimum:  # type: ignore[operator]
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value!r}")
    return int(value)  # type: ignore[arg-type]


def check_positive_int(name: str, value: object) -> int:
    """Return ``value`` as an int, or reject it unless it is an integer >= 1."""
    return check_int(name, value, minimum=1)


def _range_words(low: float, open_low: bool, high: float | None) -> str:
    if high is not None:
        return f"a number in [{low:g}, {high:g}]"
    if low == 0:
        return "a positive number" if open_low else "a non-negative number"
    return f"a finite number {'>' if open_low else '>='} {low:g}"


def check_number(name: str, value: object, *, low: float = 0.0, open_low: bool = False,
                 high: float | None = None, expected: str | None = None) -> float:
    """Return ``value`` as a float, or reject it unless it is a finite real number in the range.

    Python and NumPy numbers are accepted; bools, text, lists and None are not. ``expected``
    replaces the message's words for the range.
    """
    expected = expected or _range_words(low, open_low, high)
    value = _scalar(value)
    if not _is_real(value):
        raise ArgumentTypeError(f"{name}: expected {expected}, got {value!r}")
    number = float(value)  # type: ignore[arg-type]
    if not (np.isfinite(number) and (number > low if open_low else number >= low) and (high is None or number <= high)):
        raise ValueError(f"{name}: expected {expected}, got {value!r}")
    return number


def check_positive_number(name: str, value: object) -> float:
    """A finite number > 0 (a learning rate, a temperature)."""
    return check_number(name, value, open_low=True)


def check_nonnegative_number(name: str, value: object) -> float:
    """A finite number >= 0 (a KL weight, free bits, a noise level)."""
    return check_number(name, value)


def check_probability(name: str, value: object) -> float:
    """A number in [0, 1] (a dropout rate)."""
    return check_number(name, value, high=1.0)


def check_flag(name: str, value: object) -> bool:
    """Return ``value`` as a bool: True/False (Python or NumPy) or 0/1, as Keras users write ``verbose=0``."""
    if isinstance(value, (bool, np.bool_)) or (_is_integer(value) and value in (0, 1)):
        return bool(value)
    raise ArgumentTypeError(f"{name}: expected True or False, got {value!r}")


def check_seed(seed: object, name: str = "seed") -> int:
    """Return ``seed`` as an int, or reject it unless it is an integer >= 0."""
    if not _is_integer(seed):
        raise ArgumentTypeError(f"{name}: expected a non-negative integer, got {seed!r}")
    if seed < 0:  # type: ignore[operator]
        raise ValueError(f"{name}: expected a non-negative integer, got {seed!r}")
    return int(seed)  # type: ignore[arg-type]


def check_optional_seed(seed: object, name: str = "seed") -> int | None:
    """None (fresh randomness), or a seed as :func:`check_seed` accepts it."""
    return None if seed is None else check_seed(seed, name)


def check_beta(beta: object, *, schedule_ok: bool = True) -> Any:
    """A KL weight >= 0 as a float, or (for training) a schedule: a callable ``step -> beta``."""
    if schedule_ok and callable(beta):
        return beta
    return check_number("beta", beta, expected="a non-negative number or a schedule" if schedule_ok else None)


def check_learning_rate(learning_rate: object) -> Any:
    """A learning rate > 0 as a float, or a schedule: a callable ``step -> learning rate``."""
    if callable(learning_rate):
        return learning_rate
    return check_number("learning_rate", learning_rate, open_low=True, expected="a positive number or a schedule")


# -- arrays --------------------------------------------------------------------------------------
def user_array(name: str, value: Any, *, what: str = "an array of numbers") -> np.ndarray:
    """``np.asarray(value)`` for a value that is not a framework tensor, or a one-line refusal.

    Text, None, ragged nested lists and arrays of objects are refused; numbers, nested lists
    and arrays of any real dtype are accepted (the caller checks the dtype it needs).
    """
    if value is None or isinstance(value, (str, bytes)):
        raise ArgumentTypeError(f"{name}: expected {what}, got {value!r}")
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError):
        raise ArgumentTypeError(f"{name}: expected {what}, got a ragged nested sequence "
                                f"(rows of different lengths)") from None
    if arr.dtype.kind not in "biuf":
        raise ArgumentTypeError(f"{name}: expected {what}, got {type(value).__name__} of dtype {arr.dtype}")
    return arr


def check_image_array(name: str, values: np.ndarray, *, unit_range: bool = True) -> None:
    """:func:`check_images` on a NumPy batch, its facts computed here (one pass when all is finite)."""
    is_float, size = np.issubdtype(values.dtype, np.floating), values.size
    lo, hi = (float(values.min()), float(values.max())) if size else (0.0, 0.0)
    finite = bool(np.isfinite(values).all()) if is_float and size else True
    has_nan = not finite and bool(np.isnan(values).any())
    check_images(name, values.shape, is_float, lo, hi, has_nan, unit_range=unit_range, has_inf=not finite and not has_nan)


def check_finite(name: str, has_nan: bool, has_inf: bool) -> None:
    """Reject values that contain NaN or infinities."""
    if has_nan:
        raise ValueError(f"{name}: contains NaN values")
    if has_inf:
        raise ValueError(f"{name}: contains infinite values")


def check_shape(name: str, shape: Sequence[int], expected: Sequence[int | None], *, nonempty: bool = False) -> None:
    """Reject a shape unless it matches ``expected`` (None: any size) and, if asked, is not empty."""
    shape = tuple(int(s) for s in shape)  # -1: a size not known yet (a graph tensor), taken to fit
    fits = len(shape) == len(expected) and all(e is None or s in (e, -1) for s, e in zip(shape, expected))
    if not fits:
        pattern = "(" + ", ".join("batch" if e is None else str(e) for e in expected) + ")"
        raise ValueError(f"{name}: expected shape {pattern}, got {shape}")
    if nonempty and 0 in shape:
        raise ValueError(f"{name}: expected at least one row, got an empty array of shape {shape}")


def check_fit_args(epochs: object, batch_size: object, learning_rate: object, *, beta: object = 1.0,
                   binarize: object = False, seed: object = None, verbose: object = True) -> None:
    """Reject training settings that cannot work, before any step is taken."""
    check_positive_int("epochs", epochs)
    check_positive_int("batch_size", batch_size)
    check_learning_rate(learning_rate)
    check_beta(beta)
    check_flag("binarize", binarize)
    check_optional_seed(seed)
    check_flag("verbose", verbose)


def check_noise_std(noise_std: object) -> float:
    """Return ``noise_std`` as a float, or reject it unless it is a finite number >= 0."""
    return check_nonnegative_number("noise_std", noise_std)


def network_sizes(latent_dim: object, hidden_dim: object) -> tuple[int, int]:
    """The checked sizes of an encoder or decoder network."""
    return check_positive_int("latent_dim", latent_dim), check_positive_int("hidden_dim", hidden_dim)


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


def check_vaelib_model(model: object, what: str = "a vaelib model") -> None:
    """Reject anything that is not a model of a vaelib backend."""
    if not type(model).__module__.startswith("vaelib."):
        raise ArgumentTypeError(f"model: expected {what}, got {type(model).__name__}")


def check_image_vae(model: object) -> None:
    """Reject anything but an unconditional image VAE (``VAE`` or ``IWAE``): what the estimators need."""
    check_vaelib_model(model, "an image VAE (VAE or IWAE)")
    if hasattr(model, "num_classes"):
        raise ArgumentTypeError(f"model: expected an unconditional image VAE (VAE or IWAE), got {type(model).__name__}")
    if not all(hasattr(model, name) for name in ("encoder", "decoder", "log_likelihood", "latent_dim")):
        raise ArgumentTypeError(f"model: expected an image VAE (VAE or IWAE), got {type(model).__name__}")


def check_trainable_image_model(model: object) -> None:
    """What ``fit`` trains: an image model of vaelib that is neither conditional nor a text model."""
    check_vaelib_model(model, "a vaelib image model (VAE, IWAE or Autoencoder)")
    if hasattr(model, "num_classes"):
        raise ArgumentTypeError(f"model: {type(model).__name__} needs labels: train it with fit_conditional")
    if hasattr(model, "vocab_size"):
        raise ArgumentTypeError(f"model: {type(model).__name__} is a text model: train it with fit_text")


def check_weights(weights: object, expected: dict[str, tuple[int, ...]]) -> None:
    """Reject canonical weights that do not fit a model whose weights have the ``expected`` shapes.

    The first missing, unexpected, mis-shaped or non-finite weight is named, in sorted order,
    so both backends report the same one; nothing is written before every weight passes.
    """
    if not hasattr(weights, "keys") or not hasattr(weights, "__getitem__"):
        raise ArgumentTypeError(f"weights: expected a mapping of names to arrays (from export_weights), got {weights!r}")
    missing = sorted(set(expected) - set(weights.keys()))
    unexpected = sorted(set(weights.keys()) - set(expected))
    if missing or unexpected:
        parts = ([f"missing {missing[:3]}"] if missing else []) + ([f"unexpected {unexpected[:3]}"] if unexpected else [])
        raise ValueError(f"weights: do not match the model's layers: {'; '.join(parts)}")
    for key, shape in sorted(expected.items()):
        value = user_array(f"weights[{key!r}]", weights[key])
        if value.shape != tuple(shape):
            raise ValueError(f"weights[{key!r}]: expected shape {tuple(shape)}, got {value.shape} "
                             "(were the models built with the same latent_dim, hidden_dim and vocabulary?)")
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            raise ValueError(f"weights[{key!r}]: contains NaN or infinite values")


def check_path(name: str, path: object) -> Path:
    """A path given as text or ``os.PathLike``, as a :class:`~pathlib.Path`."""
    if not isinstance(path, (str, os.PathLike)):
        raise ArgumentTypeError(f"{name}: expected a file path (str or pathlib.Path), got {path!r}")
    return Path(path)


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
        "linear": check_flag("linear", linear),
        "loss": loss,
        "noise_std": check_noise_std(noise_std),
    }
