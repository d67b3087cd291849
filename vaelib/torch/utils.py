"""Seeding, devices and conversions for the PyTorch backend."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch
from torch import nn

from vaelib._checks import check_images, check_seed

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
    """Number of trainable parameters (the same count in both backends by design)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def as_tensor(x: Any, device: torch.device, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A tensor on ``device``; NumPy input shares memory when it can."""
    if isinstance(x, torch.Tensor):
        return x.to(device=device, dtype=dtype)
    return torch.as_tensor(np.asarray(x), dtype=dtype, device=device)


def validate_images(name: str, x: Any, *, unit_range: bool = True) -> None:
    """Reject ``x`` unless it is a float batch of 28x28 images (see :mod:`vaelib._checks`)."""
    if isinstance(x, torch.Tensor):
        is_float = x.is_floating_point()
        finite = x.float() if is_float else x
        lo, hi = (float(finite.min()), float(finite.max())) if x.numel() else (0.0, 0.0)
        has_nan = bool(torch.isnan(finite).any()) if is_float else False
    else:
        arr = np.asarray(x)
        is_float = np.issubdtype(arr.dtype, np.floating)
        lo, hi = (float(arr.min()), float(arr.max())) if arr.size else (0.0, 0.0)
        has_nan = bool(np.isnan(arr).any()) if is_float else False
    check_images(name, tuple(x.shape), is_float, lo, hi, has_nan, unit_range=unit_range)
