"""Tensors of either framework to NumPy, without importing either framework."""

from __future__ import annotations

from typing import Any

__all__ = ["to_numpy"]


def to_numpy(value: Any) -> Any:
    """A torch tensor (detached, on the CPU) or a TensorFlow tensor as NumPy; anything else as is."""
    if hasattr(value, "detach"):  # torch.Tensor
        value = value.detach().cpu()
    if hasattr(value, "numpy"):
        return value.numpy()
    return value
