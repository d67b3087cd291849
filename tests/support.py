"""Helpers shared by the test modules (no tests here); fixtures live in conftest.py."""

from __future__ import annotations

import os
import urllib.error
from pathlib import Path

import numpy as np
import pytest

from vaelib.data import _fetch

#: The offline copies of MNIST test and PTB valid/test (../shared/data).
SHARED = os.environ.get("VAELIB_DATA") or "/work/shared/data"


def to_np(t) -> np.ndarray:
    """A NumPy copy of a torch tensor, a Keras/TensorFlow tensor or an array."""
    return t.detach().cpu().numpy() if hasattr(t, "detach") else np.asarray(t)


def max_rel(a, b, floor: float = 1e-12) -> float:
    """Largest relative difference of ``a`` from ``b`` (float64), ``|b|`` floored at ``floor``."""
    a, b = to_np(a).astype(np.float64), to_np(b).astype(np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), floor)))


def _no_network(url: str):
    raise urllib.error.URLError(f"network disabled in tests ({url})")


def go_offline(mp: pytest.MonkeyPatch, cache: Path) -> None:
    """Real data dirs ($VAELIB_DATA and /usr/share/datasets), an empty cache, full mode,
    and no network: every download attempt fails at once."""
    mp.setenv("VAELIB_DATA", SHARED)
    mp.setenv("VAELIB_CACHE", str(cache))
    mp.delenv("VAELIB_SYSTEM_DATA", raising=False)
    mp.delenv("VAELIB_SMOKE", raising=False)
    mp.delenv("VAELIB_QUICK", raising=False)
    mp.setattr(_fetch, "_open_url", _no_network)
