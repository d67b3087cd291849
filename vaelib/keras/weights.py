"""Carry weights between backends through a framework-neutral NumPy layout (Keras side).

The canonical layout is Keras's own (dense kernels (in, out), convolution kernels
(kh, kw, in, out), GRU gates in (z, r, h) order), so this side only has to name the
weights: each key is the dotted path of layer attributes (``"encoder.hidden.kernel"``),
exactly as ``vaelib.torch`` names its modules.
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping

import numpy as np

from vaelib._checks import check_vaelib_model, check_weights
from vaelib.keras._backend import keras

__all__ = ["export_weights", "import_weights"]


def _named_variables(layer: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """(canonical name, variable) for every trainable variable, found through attributes."""
    children = [(name, value) for name, value in sorted(vars(layer).items())
                if not name.startswith("_") and isinstance(value, keras.layers.Layer)]
    owned = {id(v) for _, child in children for v in child.weights}
    for var in layer.trainable_weights:
        if id(var) not in owned:  # the layer's own variables (Dense kernel, a model's log_sigma, ...)
            yield (f"{path}.{var.name}" if path else var.name), var
    for name, child in children:
        yield from _named_variables(child, f"{path}.{name}" if path else name)


def export_weights(model: keras.Model) -> dict[str, np.ndarray]:
    """The model's trainable weights as ``{name: array}`` in the canonical layout.

    Parameters
    ----------
    model : keras.Model
        A vaelib model.

    Returns
    -------
    dict of str to ndarray
        Keys like ``"encoder.hidden.kernel"``; ``vaelib.torch.import_weights`` reads them.
    """
    check_vaelib_model(model)
    return {name: np.array(var.numpy(), dtype=np.float32) for name, var in _named_variables(model)}


def import_weights(model: keras.Model, weights: Mapping[str, np.ndarray]) -> keras.Model:
    """Load canonical weights (e.g. exported from the PyTorch twin) into ``model``.

    Raises a one-line ``ValueError`` naming the first missing, unexpected or mis-shaped
    weight (a latent-size mismatch shows up as a shape mismatch). Nothing is written unless
    every weight fits.

    Returns
    -------
    keras.Model
        The same model, for chaining.
    """
    check_vaelib_model(model)
    variables = dict(_named_variables(model))
    check_weights(weights, {key: tuple(var.shape) for key, var in variables.items()})
    for key, var in variables.items():
        var.assign(np.asarray(weights[key], dtype=np.float32))
    return model
