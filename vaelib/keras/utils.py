"""Seeding and conversions for the Keras backend."""

from __future__ import annotations

from typing import Any

import numpy as np

from vaelib._checks import check_images, check_seed
from vaelib.keras._backend import keras, tf

__all__ = ["seed_everything", "to_numpy", "count_parameters"]


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy, TensorFlow and Keras in one call.

    Parameters
    ----------
    seed : int
        The seed. The same seed gives the same losses on the CPU.
    """
    keras.utils.set_random_seed(check_seed(seed))  # Python, NumPy, TensorFlow and Keras's global seed


def seed_fit_run(model: keras.Model, seed: int) -> None:
    """``seed_everything(seed)``, then restart every noise stream the model owns from the seed.

    A Keras model draws its noise (reparameterization, dynamic binarization, word dropout)
    from its own ``SeedGenerator`` objects, which the global seed does not reach once they
    exist. Resetting their states makes ``fit(..., seed=s)`` alone repeat a run, whatever the
    model drew before, as in PyTorch, where all noise comes from the seeded global generator.
    """
    seed_everything(seed)
    layers = [model, *model._flatten_layers(include_self=False)]
    generators = list({id(g): g for layer in layers for g in getattr(layer, "_seed_generators", [])}.values())
    for i, generator in enumerate(generators):  # a distinct, seed-determined start for each stream
        start = np.array([(seed * 7919 + i) % (2**31 - 1), 0])
        generator.state.assign(keras.ops.cast(start, generator.state.dtype))


def to_numpy(x: Any) -> np.ndarray:
    """A NumPy copy of a tensor or of any array-like."""
    return keras.ops.convert_to_numpy(x) if not isinstance(x, np.ndarray) else x


def count_parameters(model: keras.Model) -> int:
    """Number of trainable parameters (the same count in both backends by design)."""
    return int(sum(np.prod(v.shape) for v in model.trainable_weights))


def as_tensor(x: Any, dtype: str = "float32") -> Any:
    """A tensor of the given dtype."""
    return keras.ops.convert_to_tensor(x, dtype=dtype)


def validate_images(name: str, x: Any, *, unit_range: bool = True) -> None:
    """Reject ``x`` unless it is a float batch of 28x28 images (see :mod:`vaelib._checks`)."""
    if isinstance(x, np.ndarray):  # NumPy's own reductions: no copy into a tensor
        is_float = np.issubdtype(x.dtype, np.floating)
        lo, hi = (float(x.min()), float(x.max())) if x.size else (0.0, 0.0)
        has_nan = bool(np.isnan(x).any()) if is_float and x.size else False
        check_images(name, x.shape, is_float, lo, hi, has_nan, unit_range=unit_range)
        return
    arr = tf.convert_to_tensor(x)
    is_float = arr.dtype.is_floating
    size = int(np.prod(arr.shape))
    lo = float(keras.ops.min(arr)) if size else 0.0
    hi = float(keras.ops.max(arr)) if size else 0.0
    has_nan = bool(keras.ops.any(keras.ops.isnan(arr))) if is_float and size else False
    check_images(name, tuple(arr.shape), is_float, lo, hi, has_nan, unit_range=unit_range)
