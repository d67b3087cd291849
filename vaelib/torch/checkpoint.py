"""Checkpoints in PyTorch's own format: the model's class, its config and its state dict."""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from vaelib._checkpoints import check_kind, check_load_args, check_save_path, checkpoint_format, wrong_format_error
from vaelib._checks import check_vaelib_model
from vaelib._docs import shared_doc
from vaelib._files import atomic_path
from vaelib.torch.utils import default_device

__all__ = ["save_checkpoint", "load_checkpoint"]


def _model_classes() -> dict[str, type[nn.Module]]:
    import vaelib.torch as vl  # the package's public models, whichever modules define them

    return {name: obj for name, obj in vars(vl).items() if isinstance(obj, type) and issubclass(obj, nn.Module)}


def save_checkpoint(model: nn.Module, path: str | os.PathLike[str]) -> Path:
    """Save a vaelib model (class name, constructor config, weights) to ``path`` atomically.

    Parameters
    ----------
    model : torch.nn.Module
        A vaelib model (it has a ``config`` dict of its constructor arguments).
    path : str or path-like
        Target file, conventionally ``*.pt``.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    check_vaelib_model(model)
    path = check_save_path(path)
    config = getattr(model, "config", None)
    if not isinstance(config, dict):
        raise TypeError(f"model: expected a vaelib model with a config dict, got {type(model).__name__}")
    payload = {"class": type(model).__name__, "config": config, "state_dict": model.state_dict()}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return Path(path)


@shared_doc("torch")
def load_checkpoint(path: str | os.PathLike[str], kind: type | None = None) -> nn.Module:
    path = check_load_args(path, kind)
    found = checkpoint_format(path)
    if found == "keras":
        raise wrong_format_error(path, "torch", found)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - whatever torch.load trips on, the file is not ours
        raise wrong_format_error(path, "torch", found, f"torch.load failed: {type(err).__name__}") from None
    if not isinstance(payload, dict) or not {"class", "config", "state_dict"} <= payload.keys():
        raise wrong_format_error(path, "torch", found, "no model class, configuration and weights in it")
    classes = _model_classes()
    if payload["class"] not in classes:
        raise ValueError(f"path: {path} holds a {payload['class']!r}, not a vaelib.torch model")
    model = classes[payload["class"]](**payload["config"])
    model.load_state_dict(payload["state_dict"])
    return check_kind(path, model.to(default_device()), kind)
