"""Downloads and the active-unit count at their edges, checked against what the test computes.

A download is watched while it streams (through ``_fetch._open_url``, the module's network
seam): the final name must not exist until the verified file is renamed onto it, and an
interruption at any point must leave neither the final file nor a temporary one.
"""

from __future__ import annotations

import gzip
import hashlib

import numpy as np
import pytest

from vaelib.data import DataNotFoundError, _fetch, _registry
from vaelib.data._registry import Dataset, RemoteFile
from vaelib.metrics import active_unit_variances, active_units

IMAGES = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
BODY = gzip.compress(bytes([0, 0, 8, 3]) + b"".join(int(d).to_bytes(4, "big") for d in IMAGES.shape)
                     + IMAGES.tobytes(), mtime=0)
FNAME = "t10k-images-idx3-ubyte.gz"


class Response:
    """A streamed HTTP response in four pieces; ``watch`` runs before each piece is handed out."""

    def __init__(self, body: bytes, watch) -> None:
        step = -(-len(body) // 4)
        self.pieces = [body[i : i + step] for i in range(0, len(body), step)]
        self.headers = {"Content-Length": str(len(body))}
        self.watch = watch
        self.handed = 0

    def read1(self, _size: int) -> bytes:
        self.watch(self.handed)
        if self.handed == len(self.pieces):
            return b""
        self.handed += 1
        return self.pieces[self.handed - 1]

    def __enter__(self) -> "Response":
        return self

    def __exit__(self, *exc: object) -> None:
        return None


@pytest.fixture
def toy(monkeypatch, tmp_path):
    """Data set "toy" with one file, every location under tmp_path; returns (file, cache folder)."""
    for var in ("VAELIB_DATA", "VAELIB_SMOKE", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("VAELIB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("VAELIB_SYSTEM_DATA", str(tmp_path / "system"))
    f = RemoteFile("toy", FNAME, hashlib.md5(BODY).hexdigest(), None, "http://official.invalid/" + FNAME,
                   "http://mirror.invalid/" + FNAME)
    monkeypatch.setitem(_registry.DATASETS, "toy", Dataset("toy", "Toy", {"test": (f,)}))
    return f, tmp_path / "cache" / "toy"


def _names(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_a_download_streams_into_a_hidden_temporary_file_and_is_renamed_when_verified(toy, monkeypatch):
    f, folder = toy
    seen: list[list[str]] = []

    def watch(handed: int) -> None:
        names = _names(folder)
        seen.append(names)
        assert FNAME not in names, f"the final name exists after {handed} of 4 pieces"
        if handed:  # bytes are on disk: in exactly one hidden temporary file beside the target
            assert len(names) == 1 and names[0].startswith(f".{FNAME}.") and names[0].endswith(".tmp.gz"), names

    monkeypatch.setattr(_fetch, "_open_url", lambda url: Response(BODY, watch))
    got = _fetch.locate(f)
    assert got.path == folder / FNAME and got.path.read_bytes() == BODY
    assert _names(folder) == [FNAME]  # the temporary file became the final one
    assert len(seen) == 5  # watched before each of the four pieces and before the end


@pytest.mark.parametrize("stop_after", [0, 1, 3, 4])
@pytest.mark.parametrize("error", [KeyboardInterrupt, ConnectionResetError])
def test_an_interrupted_download_leaves_neither_the_file_nor_a_temporary_one(toy, monkeypatch, stop_after, error):
    f, folder = toy

    def watch(handed: int) -> None:
        if handed == stop_after:
            raise error("interrupted")

    monkeypatch.setattr(_fetch, "_open_url", lambda url: Response(BODY, watch))
    raised = KeyboardInterrupt if error is KeyboardInterrupt else DataNotFoundError
    with pytest.raises(raised):
        _fetch.locate(f)
    assert _names(folder) == []


def test_a_download_that_fails_verification_is_not_kept(toy, monkeypatch):
    f, folder = toy
    altered = BODY[:-1] + bytes([BODY[-1] ^ 1])
    monkeypatch.setattr(_fetch, "_open_url", lambda url: Response(altered, lambda handed: None))
    with pytest.raises(DataNotFoundError, match="failed verification"):
        _fetch.locate(f)
    assert _names(folder) == []


# -- the active-unit threshold ---------------------------------------------------------------
def test_a_unit_whose_variance_equals_the_threshold_is_not_active():
    # Columns +-a over two examples have mean 0 and variance a**2 exactly (binary fractions):
    # variances 0, 1/16, 1/4 and 1. "Active" means a variance strictly above the threshold.
    mu = np.array([[0.0, 0.25, 0.5, 1.0], [0.0, -0.25, -0.5, -1.0]])
    np.testing.assert_array_equal(active_unit_variances(mu), [0.0, 1 / 16, 1 / 4, 1.0])
    assert active_units(mu, threshold=0.25) == 1  # 1/4 is not above 1/4
    assert active_units(mu, threshold=np.nextafter(0.25, 0)) == 2
    assert active_units(mu, threshold=1 / 16) == 2
    assert active_units(mu) == 3  # default 0.01
    assert active_units(mu, threshold=0.0) == 3  # a constant unit is never active
    assert active_units(mu, threshold=1.0) == 0


def test_active_unit_variances_are_the_population_variances_over_examples():
    rng = np.random.default_rng(4)
    mu = rng.normal(size=(7, 3)) * [0.1, 1.0, 3.0]
    by_hand = ((mu - mu.sum(0) / 7) ** 2).sum(0) / 7  # divide by N, not N - 1
    np.testing.assert_allclose(active_unit_variances(mu), by_hand, rtol=1e-12)
    assert active_units(mu, threshold=float(by_hand[1])) == int((by_hand > by_hand[1]).sum())
