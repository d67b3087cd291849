"""What a checkpoint file is, told from its bytes (framework-free).

Both backends' ``load_checkpoint`` ask this first, so a file of the other backend, or one
that is no checkpoint at all, is refused in one line that says what it is, instead of
surfacing the framework's own unpickling or zip error.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Any

from vaelib._checks import ArgumentTypeError, check_path

__all__ = ["checkpoint_format", "wrong_format_error", "check_kind", "check_save_path", "check_load_args"]

_OTHER_BACKEND = {"torch": "keras", "keras": "torch"}
_SUFFIX = {"torch": ".pt", "keras": ".keras"}


def checkpoint_format(path: str | os.PathLike[str]) -> str | None:
    """``"keras"`` for a ``.keras`` archive, ``"torch"`` for a ``torch.save`` zip, else None.

    A ``.keras`` file is a zip with ``config.json`` and ``model.weights.h5`` at its root;
    ``torch.save`` writes a zip whose entries lie in one folder and include ``data.pkl``.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return None
    if "config.json" in names and "model.weights.h5" in names:
        return "keras"
    if any(name.endswith("/data.pkl") for name in names):
        return "torch"
    return None


def wrong_format_error(path: Any, backend: str, found: str | None, detail: str = "") -> ValueError:
    """The one-line refusal of a file that is not a checkpoint of ``backend``."""
    if found == _OTHER_BACKEND[backend]:
        return ValueError(
            f"path: {path} is a vaelib.{found} checkpoint ({_SUFFIX[found]}); load it with "
            f"vaelib.{found}.load_checkpoint, or carry the weights across with export_weights and import_weights"
        )
    return ValueError(f"path: {path} is not a vaelib.{backend} checkpoint{f' ({detail})' if detail else ''}")


def check_kind(path: Any, model: Any, kind: type | None) -> Any:
    """Return ``model``, or refuse it when ``kind`` is given and the checkpoint holds another kind."""
    if kind is not None and not isinstance(model, kind):
        raise ValueError(f"kind: {path} holds a {type(model).__name__}, expected a {kind.__name__}")
    return model


def check_save_path(path: Any) -> Path:
    """Where ``save_checkpoint`` may write: a file path (its folders are created), not a folder."""
    path = check_path("path", path)
    if path.is_dir():
        raise ValueError(f"path: {path} is a folder; give a file name in it")
    return path


def check_load_args(path: Any, kind: Any) -> Path:
    """``load_checkpoint``'s path (an existing file) and ``kind`` (None or a vaelib model class)."""
    if kind is not None and not (isinstance(kind, type) and kind.__module__.startswith("vaelib.")):
        raise ArgumentTypeError(f"kind: expected a vaelib model class such as VAE, got {kind!r}")
    path = check_path("path", path)
    if path.is_dir():
        raise ValueError(f"path: {path} is a folder, not a checkpoint file")
    if not path.is_file():
        raise FileNotFoundError(f"path: no checkpoint at {path}")
    return path
