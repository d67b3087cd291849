"""Checkpoints in Keras's own ``.keras`` format (config and weights in one zip)."""

from __future__ import annotations

import os
from pathlib import Path

from vaelib._checkpoints import check_kind, check_load_args, check_save_path, checkpoint_format, wrong_format_error
from vaelib._checks import check_vaelib_model
from vaelib._docs import shared_doc
from vaelib._files import atomic_path
from vaelib.keras._backend import keras
from vaelib.keras.train import TrainableModel

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
    check_vaelib_model(model)
    path = check_save_path(path)
    if not str(path).endswith(".keras"):
        raise ValueError(f"path: Keras checkpoints must end in '.keras', got {str(path)!r}")
    with atomic_path(path) as tmp:
        model.save(tmp)
    return Path(path)


@shared_doc("keras")
def load_checkpoint(path: str | os.PathLike[str], kind: type | None = None) -> keras.Model:
    path = check_load_args(path, kind)
    found = checkpoint_format(path)
    if found != "keras":
        raise wrong_format_error(path, "keras", found, "not a .keras archive")
    try:
        model = keras.saving.load_model(path, compile=False)
    except Exception as err:  # noqa: BLE001 - an archive Keras cannot rebuild is not ours
        first_line = str(err).strip().splitlines()[0][:160] if str(err).strip() else ""
        raise wrong_format_error(path, "keras", found, f"Keras could not load it: {type(err).__name__}: {first_line}") from None
    if not isinstance(model, TrainableModel):
        raise ValueError(f"path: {path} holds a {type(model).__name__}, not a vaelib.keras model")
    return check_kind(path, model, kind)
