"""Seeding and conversions for the Keras backend."""

from __future__ import annotations

from typing import Any

import numpy as np

from vaelib._checks import ArgumentTypeError, check_finite, check_image_array, check_seed, check_shape, user_array
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
    """Number of trainable parameters (the same count in both backends by design); any keras.layers.Layer works."""
    if not isinstance(model, keras.layers.Layer):
        raise ArgumentTypeError(f"model: expected a Keras layer or model, got {type(model).__name__}")
    return int(sum(np.prod(v.shape) for v in model.trainable_weights))


def as_tensor(x: Any, dtype: str = "float32") -> Any:
    """A tensor of the given dtype."""
    return keras.ops.convert_to_tensor(x, dtype=dtype)


def is_symbolic(x: Any) -> bool:
    """Whether ``x`` is a graph tensor (inside ``tf.function`` or a functional model): no values to check."""
    return isinstance(x, keras.KerasTensor) or (tf.is_tensor(x) and not hasattr(x, "numpy"))


def tensor_values(name: str, x: Any, what: str) -> np.ndarray:
    """The NumPy values of an eager tensor, a variable or any array-like (refusing text, None, ragged lists)."""
    if isinstance(x, np.ndarray) or not (tf.is_tensor(x) or isinstance(x, keras.Variable)):
        return user_array(name, x, what=what)
    values = keras.ops.convert_to_numpy(x)
    if values.dtype.kind not in "biuf":
        raise ArgumentTypeError(f"{name}: expected {what}, got dtype {values.dtype}")
    return values


def validate_images(name: str, x: Any, *, unit_range: bool = True) -> None:
    """Reject ``x`` unless it is a float batch of 28x28 images (see :mod:`vaelib._checks`)."""
    check_image_array(name, tensor_values(name, x, "a batch of 28x28 images"), unit_range=unit_range)


def float_tensor(name: str, x: Any, *, shape: tuple[int | None, ...] | None = None, nonempty: bool = False,
                 dtype: str | None = None) -> Any:
    """``x`` as a floating-point tensor with finite values (and, if given, the expected shape).

    An eager tensor is returned itself (a ``GradientTape`` keeps watching it) unless a cast
    is needed; a graph tensor has no values yet, so only its static shape is checked.
    Integer input becomes float32.
    """
    if is_symbolic(x):
        static = tuple(x.shape) if x.shape.rank is not None else None
        if shape is not None and static is not None:  # unknown sizes (None) are taken to fit
            check_shape(name, tuple(-1 if s is None else s for s in static), shape)
        return x
    values = tensor_values(name, x, "an array of numbers")
    if shape is not None:
        check_shape(name, values.shape, shape, nonempty=nonempty)
    if values.size and values.dtype.kind == "f" and not np.isfinite(values).all():
        check_finite(name, bool(np.isnan(values).any()), True)
    is_float = values.dtype.kind == "f"
    want = dtype or (str(values.dtype) if is_float else "float32")
    if tf.is_tensor(x) and x.dtype == want:
        return x
    return keras.ops.convert_to_tensor(x if tf.is_tensor(x) else values, dtype=want)
