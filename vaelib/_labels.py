"""Class-label validation shared by both backends' conditional models (framework-free)."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

__all__ = ["check_labels", "check_labelled_data"]


def check_labels(name: str, labels: Any, num_classes: int, batch: int | None = None) -> np.ndarray:
    """Return ``labels`` as an int64 array of shape (batch,), or reject it in one line.

    Parameters
    ----------
    name : str
        The argument's name, used first in the message.
    labels : array_like
        Class indices (NumPy here: each backend converts its tensors first).
    num_classes : int
        Valid labels are ``0 .. num_classes - 1``.
    batch : int, optional
        The required number of labels (the batch size of the images they go with).
    """
    arr = np.asarray(labels)
    if arr.ndim != 1:
        expected = f"({batch},)" if batch is not None else "(n,)"
        raise ValueError(f"{name}: expected a 1-D array of class indices with shape {expected}, got shape {arr.shape}")
    if batch is not None and arr.shape[0] != batch:
        raise ValueError(f"{name}: expected {batch} labels (one per image), got {arr.shape[0]}")
    if arr.size == 0:
        raise ValueError(f"{name}: expected at least one label, got none")
    if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
        arr = arr.astype(np.int64)  # 3.0 is an acceptable way to write class 3
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name}: expected integer class indices, got dtype {arr.dtype}")
    lo, hi = int(arr.min()), int(arr.max())
    if lo < 0 or hi >= num_classes:
        raise ValueError(f"{name}: expected class indices in [0, {num_classes - 1}], got values in [{lo}, {hi}]")
    return arr.astype(np.int64)


def check_labelled_data(
    model: Any,
    x_train: Any,
    y_train: Any,
    x_val: Any,
    y_val: Any,
    *,
    binarize: bool,
    validate_images: Callable[..., None],
    to_numpy: Callable[[Any], np.ndarray],
) -> tuple[np.ndarray, np.ndarray | None]:
    """Validate a conditional model's training data once, before any step; return int64 labels.

    ``validate_images`` and ``to_numpy`` are the calling backend's, so this stays framework-free.
    """
    if not hasattr(model, "num_classes"):
        raise TypeError(f"model: expected a ConditionalVAE, got {type(model).__name__} (use fit for other models)")
    unit_range = model.likelihood == "bernoulli" or binarize
    validate_images("x_train", x_train, unit_range=unit_range)
    labels = check_labels("y_train", to_numpy(y_train), model.num_classes, len(x_train))
    if (x_val is None) != (y_val is None):
        raise ValueError("y_val: x_val and y_val go together: pass both (one label per validation image) or neither")
    val_labels = None
    if x_val is not None:
        validate_images("x_val", x_val, unit_range=unit_range)
        val_labels = check_labels("y_val", to_numpy(y_val), model.num_classes, len(x_val))
    return labels, val_labels
