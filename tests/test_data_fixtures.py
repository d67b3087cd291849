"""Fixtures shared by the vaelib.data tests (no tests here).

The other ``test_data_*`` modules import these names; pytest then uses them as fixtures.
"""

from __future__ import annotations

import os
import urllib.error
from pathlib import Path

import pytest

from vaelib.data import _fetch, load_fashion_mnist

#: The offline copies of MNIST test and PTB valid/test (../shared/data).
SHARED = os.environ.get("VAELIB_DATA") or "/work/shared/data"


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


@pytest.fixture
def real_data_offline(monkeypatch, tmp_path):
    """:func:`go_offline` for one test."""
    go_offline(monkeypatch, tmp_path / "cache")


@pytest.fixture(scope="module")
def fashion_train(tmp_path_factory):
    """Fashion-MNIST's training split, loaded once per module, offline."""
    with pytest.MonkeyPatch.context() as mp:
        go_offline(mp, tmp_path_factory.mktemp("cache"))
        return load_fashion_mnist("train")
