"""Seeding, devices and conversions for the PyTorch backend."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch
from torch import nn

from vaelib._checks import (ArgumentTypeError, check_finite, check_image_array, check_images, check_seed, check_shape,
                            user_array)

__all__ = ["seed_everything", "default_device", "to_numpy", "count_parameters"]


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy and PyTorch (CPU and CUDA) in one call.

    Parameters
    ----------
    seed : int
        The seed. The same seed gives the same losses on the CPU.
    """
    seed = check_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


def default_device() -> torch.device:
    """The GPU when one is present, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def to_numpy(x: Any) -> np.ndarray:
    """A NumPy copy of a tensor (detached, on the CPU) or of any array-like."""
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters (the same count in both backends by design); any nn.Module works."""
    if not isinstance(model, nn.Module):
        raise ArgumentTypeError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def as_tensor(x: Any, device: torch.device, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A tensor on ``device``; NumPy input shares memory when it can."""
    if isinstance(x, torch.Tensor):
        return x.to(device=device, dtype=dtype)
    return torch.as_tensor(np.asarray(x), dtype=dtype, device=device)


def validate_images(name: str, x: Any, *, unit_range: bool = True) -> None:
    """Reject ``x`` unless it is a float batch of 28x28 images (see :mod:`vaelib._checks`)."""
    if isinstance(x, torch.Tensor):  # torch's own reductions: no copy off a GPU
        is_float, size = x.is_floating_point(), x.numel()
        values = x.detach()
        lo, hi = (float(values.min()), float(values.max())) if size else (0.0, 0.0)
        finite = bool(torch.isfinite(values).all()) if is_float and size else True
        has_nan = not finite and bool(torch.isnan(values).any())
        check_images(name, tuple(values.shape), is_float, lo, hi, has_nan, unit_range=unit_range,
                     has_inf=not finite and not has_nan)
    else:
        check_image_array(name, user_array(name, x, what="a batch of 28x28 images"), unit_range=unit_range)


def float_tensor(name: str, x: Any, device: torch.device | None = None, *, shape: tuple[int | None, ...] | None = None,
                 nonempty: bool = False, dtype: torch.dtype | None = None) -> torch.Tensor:
    """``x`` as a floating-point tensor with finite values (and, if given, the expected shape).

    A tensor keeps its autograd graph and, unless ``dtype`` is given, its floating dtype;
    anything else goes through :func:`vaelib._checks.user_array` (one-line refusals of
    text, None and ragged lists). Integer input becomes float32.
    """
    if isinstance(x, torch.Tensor):
        if x.dtype.is_complex or x.dtype == torch.bool:
            raise ArgumentTypeError(f"{name}: expected real numbers, got dtype {x.dtype}")
        tensor = x
    else:
        tensor = torch.as_tensor(user_array(name, x))
    want = dtype or (tensor.dtype if tensor.is_floating_point() else torch.float32)
    tensor = tensor.to(device=device if device is not None else tensor.device, dtype=want)
    if shape is not None:
        check_shape(name, tuple(tensor.shape), shape, nonempty=nonempty)
    values = tensor.detach()
    if values.numel() and not bool(torch.isfinite(values).all()):
        check_finite(name, bool(torch.isnan(values).any()), True)
    return tensor
