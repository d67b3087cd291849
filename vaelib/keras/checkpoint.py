"""Checkpoints in Keras's own ``.keras`` format (config and weights in one zip)."""

from __future__ import annotations

import os
from pathlib import Path

from vaelib._files import atomic_path
from vaelib.keras._backend import keras

__all__ = ["save_checkpoint", "load_checkpoint"]


def save_checkpoint(model: keras.Model, path: str | os.PathLike[str]) -> Path:
    """Save a vaelib model (config and weights) to a ``.keras`` file, atomically.

    Parameters
    ----------
    model : keras.Model
        A vaelib model (registered as serializable).
    path : str or path-like
        Target file; must end in ``.keras``, as Keras requires.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    if not str(path).endswith(".keras"):
        raise ValueError(f"path: Keras checkpoints must end in '.keras', got {str(path)!r}")
    with atomic_path(path) as tmp:
        model.save(tmp)
    return Path(path)


def load_checkpoint(path: str | os.PathLike[str]) -> keras.Model:
    """Rebuild the model saved by :func:`save_checkpoint`; the round trip is exact."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"path: no checkpoint at {path}")
    return keras.saving.load_model(path, compile=False)
