"""vaelib.data images: IDX parsing, the real Fashion-MNIST and MNIST files, smoke-mode
carve-out, binarize and train_val_split.

Real data: Fashion-MNIST from Debian's package in /usr/share/datasets, MNIST's test
split from $VAELIB_DATA (../shared/data). The network is cut off in every test.
"""

from __future__ import annotations

import gzip
import hashlib
import time
import warnings

import numpy as np
import pytest
from support import SHARED

from vaelib.data import (
    DataNotFoundError,
    ImageData,
    SmokeCarveOutWarning,
    binarize,
    load_fashion_mnist,
    load_images,
    load_mnist,
    train_val_split,
)
from vaelib.data import _registry
from vaelib.data.images import parse_idx, read_idx

MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
pytestmark = pytest.mark.usefixtures("real_data_offline")


# --- IDX parsing -------------------------------------------------------------------------


def idx(arr: np.ndarray, type_code: int = 0x08) -> bytes:
    return bytes([0, 0, type_code, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape) + arr.tobytes()


def test_parse_idx_reads_shape_and_big_endian_types():
    arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    np.testing.assert_array_equal(parse_idx(idx(arr)), arr)
    ints = np.array([1, -2, 70000], dtype=">i4")
    np.testing.assert_array_equal(parse_idx(idx(ints, 0x0C)), [1, -2, 70000])


@pytest.mark.parametrize(
    "buf, message",
    [
        (b"\x00\x00", "labels.idx: not an IDX file (magic number 2 bytes only, expected 0000 + type code + ndim)"),
        (b"\x1f\x8b\x08\x00" + bytes(20),
         "labels.idx: not an IDX file (magic number 1f8b0800, expected 0000 + type code + ndim)"),
        (b"\x00\x00\x07\x01" + bytes(8), "labels.idx: not an IDX file (magic number 00000701, expected 0000 + type code + ndim)"),
        (b"\x00\x00\x08\x03\x00\x00\x00\x02", "labels.idx: IDX header announces 3 dimensions but the file ends after 8 bytes"),
        (idx(np.zeros((2, 3), np.uint8))[:-1],
         "labels.idx: IDX header says shape (2, 3) (6 data bytes) but the file holds 5 data bytes"),
        (idx(np.zeros((2, 3), np.uint8)) + b"\x00",
         "labels.idx: IDX header says shape (2, 3) (6 data bytes) but the file holds 7 data bytes"),
    ],
    ids=["too-short", "gzip-not-decompressed", "bad-type-code", "header-cut", "data-truncated", "data-too-long"],
)
def test_parse_idx_rejects_malformed_files(buf, message):
    with pytest.raises(ValueError) as err:
        parse_idx(buf, what="labels.idx")
    assert str(err.value) == message


def test_read_idx_names_a_broken_gzip(tmp_path):
    path = tmp_path / "x-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(idx(np.arange(10, dtype=np.uint8)))[:-6])
    with pytest.raises(ValueError, match=f"^{path}: not a valid gzip file"):
        read_idx(path)


def test_wrong_image_size_is_refused(tmp_path, monkeypatch):
    # A well-formed IDX file of 27x27 images under MNIST's name, with matching checksums.
    files = []
    for name, arr in (("i.gz", np.zeros((3, 27, 27), np.uint8)), ("l.gz", np.zeros(3, np.uint8))):
        body = gzip.compress(idx(arr))
        (tmp_path / name).write_bytes(body)
        md5 = hashlib.md5(body).hexdigest()
        files.append(_registry.RemoteFile("mnist", name, md5, None, "http://x/" + name, "http://y/" + name))
    monkeypatch.setitem(_registry.DATASETS, "mnist", _registry.Dataset("mnist", "MNIST", {"train": (), "test": tuple(files)}))
    with pytest.raises(ValueError, match=r"i\.gz: expected images of shape \(N, 28, 28\), got \(3, 27, 27\)$"):
        load_mnist("test", data_dir=tmp_path)


# --- names and splits ----------------------------------------------------------------------


def test_unknown_name_and_split_list_the_choices():
    with pytest.raises(ValueError) as err:
        load_images("cifar10", "train")
    assert str(err.value) == "name: unknown image data set 'cifar10', expected one of ['fashion_mnist', 'mnist']"
    with pytest.raises(ValueError) as err:
        load_fashion_mnist("validation")
    assert str(err.value) == "split: unknown Fashion-MNIST split 'validation', expected one of ['train', 'test']"


# --- the real files --------------------------------------------------------------------


def test_fashion_mnist_train_facts(fashion_train):
    d = fashion_train
    assert d.images.shape == (60000, 28, 28) and d.images.dtype == np.float32
    assert d.labels.shape == (60000,) and d.labels.dtype == np.int64
    assert d.images.min() == 0.0 and d.images.max() == 1.0
    assert np.bincount(d.labels).tolist() == [6000] * 10
    assert d.labels[:5].tolist() == [9, 0, 0, 3, 0]  # the first image is an ankle boot
    assert d.class_names[9] == "Ankle boot" and d.class_names[0] == "T-shirt/top" and len(d.class_names) == 10
    assert (d.name, d.split) == ("fashion_mnist", "train")
    # The Debian copy is recompressed: accepted by the SHA-256 of its content, not md5.
    assert "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz (system data dir, verified by SHA-256" in d.source
    # Pixel values are exact multiples of 1/255 (no rounding drift from the conversion).
    np.testing.assert_array_equal(np.round(d.images[:100] * 255) / 255, d.images[:100])


def test_fashion_mnist_test_facts():
    d = load_fashion_mnist("test")
    assert d.images.shape == (10000, 28, 28)
    assert np.bincount(d.labels).tolist() == [1000] * 10


def test_fashion_mnist_loads_fast_once_verified(fashion_train):
    # CPU time of this process, not wall time: the 2-core machine is shared, and other
    # jobs' load says nothing about our code (about 0.35 s here: gunzip + one conversion).
    timings = []
    for _ in range(2):
        start = time.process_time()
        load_fashion_mnist("train")
        timings.append(time.process_time() - start)
    assert min(timings) < 1.0, timings


def test_mnist_test_split_facts():
    d = load_mnist("test")
    assert d.images.shape == (10000, 28, 28)
    assert np.bincount(d.labels).tolist() == MNIST_TEST_COUNTS
    assert d.labels[:3].tolist() == [7, 2, 1]
    assert d.class_names == ("0", "1", "2", "3", "4", "5", "6", "7", "8", "9")
    assert f"{SHARED}/mnist/t10k-images-idx3-ubyte.gz (VAELIB_DATA, verified by md5)" in d.source


def test_full_mode_missing_train_split_is_an_error():
    with pytest.raises(DataNotFoundError) as err:
        load_mnist("train")
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith("vaelib.data: train-images-idx3-ubyte.gz not found (searched ")
    assert "http://yann.lecun.com/exdb/mnist/train-images-idx3-ubyte.gz: URLError" in msg
    assert "https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz: URLError" in msg
    assert f"put it in {SHARED}/mnist/ (VAELIB_DATA)" in msg


# --- smoke mode -------------------------------------------------------------------------------

CARVE_MESSAGE = (
    "vaelib.data: MNIST train split (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz) "
    "is not available offline; training on the first 8,000 of the 10,000 test images, testing on the other 2,000"
)


@pytest.mark.parametrize("order", [("train", "test"), ("test", "train")])
def test_smoke_mode_carves_mnist_train_from_test_without_overlap(monkeypatch, order):
    full_test = load_mnist("test")
    monkeypatch.setenv("VAELIB_SMOKE", "1")
    got = {}
    for split in order:
        with pytest.warns(SmokeCarveOutWarning) as record:
            got[split] = load_mnist(split)
        assert [str(w.message) for w in record] == [CARVE_MESSAGE]
    train, test = got["train"], got["test"]
    assert (len(train), len(test)) == (8000, 2000)
    np.testing.assert_array_equal(train.images, full_test.images[:8000])
    np.testing.assert_array_equal(test.labels, full_test.labels[8000:])
    assert train.source.startswith("carve-out: MNIST train = test images [0:8,000] of 10,000")
    assert test.source.startswith("carve-out: MNIST test = test images [8,000:10,000] of 10,000")
    assert (train.split, test.split) == ("train", "test")


def test_smoke_mode_uses_complete_fashion_mnist_as_is(monkeypatch):
    monkeypatch.setenv("VAELIB_SMOKE", "1")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d = load_fashion_mnist("test")
    assert len(d) == 10000 and "carve" not in d.source


def test_smoke_mode_without_any_split_still_errors(monkeypatch, tmp_path):
    monkeypatch.setenv("VAELIB_SMOKE", "1")
    monkeypatch.setenv("VAELIB_DATA", str(tmp_path / "empty"))
    with pytest.raises(DataNotFoundError, match="t10k-images-idx3-ubyte.gz not found"):
        load_mnist("train")


# --- binarize ---------------------------------------------------------------------------------


def test_binarize_draws_bernoulli_pixels():
    probs = np.full((200, 28, 28), 0.3, dtype=np.float32)
    probs[:, :, :14] = 0.9
    b = binarize(probs, seed=1)
    assert b.dtype == np.float32 and b.shape == probs.shape
    assert set(np.unique(b).tolist()) == {0.0, 1.0}
    # 78,400 draws per half: the standard error of each mean is ~0.0016.
    assert abs(b[:, :, :14].mean() - 0.9) < 0.006 and abs(b[:, :, 14:].mean() - 0.3) < 0.006
    np.testing.assert_array_equal(b, binarize(probs, seed=1))
    assert not np.array_equal(b, binarize(probs, seed=2))
    assert binarize(np.array([0.0, 1.0])).tolist() == [0.0, 1.0]  # the ends are deterministic


@pytest.mark.parametrize(
    "bad, exc, message",
    [
        (np.array([0.5, 255.0]), ValueError, "images: expected values in [0, 1], got min 0.5, max 255"),
        (np.array([-0.1, 0.5]), ValueError, "images: expected values in [0, 1], got min -0.1, max 0.5"),
        (np.array([0.5, np.nan]), ValueError, "images: expected values in [0, 1], got min 0.5, max 0.5 and NaN"),
        (np.array(["a"]), TypeError, "images: expected a numeric array, got dtype <U1"),
    ],
    ids=["0-255-scale", "negative", "nan", "strings"],
)
def test_binarize_rejects_bad_images(bad, exc, message):
    with pytest.raises(exc) as err:
        binarize(bad)
    assert str(err.value) == message


def test_binarize_rejects_imagedata(fashion_train):
    with pytest.raises(TypeError, match=r"^images: expected an array, got ImageData \(pass data.images\)$"):
        binarize(fashion_train)


# --- train_val_split ----------------------------------------------------------------------------


def small(n: int = 50) -> ImageData:
    images = np.arange(n, dtype=np.float32)[:, None, None] * np.ones((1, 28, 28), np.float32) / n
    return ImageData(images, np.arange(n, dtype=np.int64) % 10, tuple("0123456789"), "mnist", "train", "synthetic")


def test_train_val_split_is_a_deterministic_partition():
    data = small()
    train, val = train_val_split(data, 10, seed=3)
    assert (len(train), len(val), train.split, val.split) == (40, 10, "train", "val")
    ids = np.concatenate([train.images[:, 0, 0], val.images[:, 0, 0]]) * 50
    assert sorted(np.round(ids).astype(int).tolist()) == list(range(50))  # disjoint, complete
    assert np.all(np.diff(val.images[:, 0, 0]) > 0)  # original order kept
    again, val_again = train_val_split(data, 10, seed=3)
    np.testing.assert_array_equal(val.labels, val_again.labels)
    assert not np.array_equal(val.images, train_val_split(data, 10, seed=4)[1].images)
    assert len(train_val_split(data, 0.2)[1]) == 10
    assert val.source == "synthetic; train_val_split(val_size=10, seed=3): validation part 10 of 50"


def test_train_val_split_on_real_data(fashion_train):
    train, val = train_val_split(fashion_train, 5000)
    assert (len(train), len(val)) == (55000, 5000)
    counts = np.bincount(val.labels, minlength=10)
    assert counts.sum() == 5000 and counts.min() > 400 and counts.max() < 600  # a random draw, ~500 each


@pytest.mark.parametrize(
    "val_size, exc, message",
    [
        (0, ValueError, "val_size: expected between 1 and 49 examples of 50, got 0"),
        (50, ValueError, "val_size: expected between 1 and 49 examples of 50, got 50"),
        (1.5, ValueError, "val_size: expected a fraction in (0, 1), got 1.5"),
        (-0.1, ValueError, "val_size: expected a fraction in (0, 1), got -0.1"),
        (True, TypeError, "val_size: expected an int count or a float fraction, got bool"),
        ("10", TypeError, "val_size: expected an int count or a float fraction, got str"),
    ],
)
def test_train_val_split_rejects_bad_val_size(val_size, exc, message):
    with pytest.raises(exc) as err:
        train_val_split(small(), val_size)
    assert str(err.value) == message


def test_train_val_split_needs_imagedata():
    with pytest.raises(TypeError, match="^data: expected ImageData, got ndarray$"):
        train_val_split(np.zeros((10, 28, 28)), 2)
