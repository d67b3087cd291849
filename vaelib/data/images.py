"""Image data sets: IDX parsing, Fashion-MNIST and MNIST, binarization, splitting."""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from vaelib.config import is_smoke
from vaelib.data._carve import CarveOut
from vaelib.data._errors import DataNotFoundError
from vaelib.data._fetch import LocatedFile, locate
from vaelib.data._registry import get_dataset, split_files

__all__ = [
    "ImageData",
    "load_images",
    "load_fashion_mnist",
    "load_mnist",
    "binarize",
    "train_val_split",
    "parse_idx",
    "read_idx",
    "FASHION_MNIST_CLASSES",
    "MNIST_CLASSES",
]

FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
MNIST_CLASSES = tuple(str(d) for d in range(10))

# API name -> (registry folder name, class names)
_IMAGE_SETS = {
    "fashion_mnist": ("fashion-mnist", FASHION_MNIST_CLASSES),
    "mnist": ("mnist", MNIST_CLASSES),
}
# Smoke-mode carve-out of a missing training split: the first 80% of the test split
# (8,000 of MNIST's 10,000 test images), the test split keeps the other 20%.
SMOKE_TRAIN_FRACTION = 0.8

# IDX type codes (third magic byte) -> big-endian numpy dtype
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_SIDE = 28


@dataclass(frozen=True)
class ImageData:
    """An image split held in memory.

    Attributes
    ----------
    images : numpy.ndarray
        float32, shape (N, 28, 28), values in [0, 1].
    labels : numpy.ndarray
        int64, shape (N,), class indices into ``class_names``.
    class_names : tuple of str
        Human-readable class names.
    name : str
        ``"fashion_mnist"`` or ``"mnist"``.
    split : str
        ``"train"``, ``"test"`` or ``"val"`` (after :func:`train_val_split`).
    source : str
        Where the data came from: files, how they were verified, any smoke-mode carve-out.
    """

    images: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]
    name: str
    split: str
    source: str

    def __len__(self) -> int:
        return len(self.labels)


def parse_idx(buf: bytes, what: str = "IDX data") -> np.ndarray:
    """Parse the bytes of an (uncompressed) IDX file.

    Parameters
    ----------
    buf : bytes
        The whole file: magic number, dimensions, then the data.
    what : str
        Names the data in error messages (e.g. the file name).

    Returns
    -------
    numpy.ndarray
        A read-only array with the header's shape and type (a view of ``buf``).

    Raises
    ------
    ValueError
        Bad magic number, or a data size that does not match the header.
    """
    if len(buf) < 4 or buf[0] != 0 or buf[1] != 0 or buf[2] not in _IDX_DTYPES:
        magic = buf[:4].hex() if len(buf) >= 4 else f"{len(buf)} bytes only"
        raise ValueError(f"{what}: not an IDX file (magic number {magic}, expected 0000 + type code + ndim)")
    dtype, ndim = np.dtype(_IDX_DTYPES[buf[2]]), buf[3]
    header = 4 + 4 * ndim
    if len(buf) < header:
        raise ValueError(f"{what}: IDX header announces {ndim} dimensions but the file ends after {len(buf)} bytes")
    dims = struct.unpack(f">{ndim}I", buf[4:header])
    count = int(np.prod(dims, dtype=np.int64))
    if len(buf) - header != count * dtype.itemsize:
        raise ValueError(
            f"{what}: IDX header says shape {dims} ({count * dtype.itemsize} data bytes) "
            f"but the file holds {len(buf) - header} data bytes"
        )
    return np.frombuffer(buf, dtype=dtype, count=count, offset=header).reshape(dims)


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file, gzip-compressed if its name ends in ``.gz``.

    Parameters
    ----------
    path : path-like
        The file.

    Returns
    -------
    numpy.ndarray
        See :func:`parse_idx`.
    """
    path = Path(path)
    raw = path.read_bytes()
    if path.name.endswith(".gz"):
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as err:
            raise ValueError(f"{path}: not a valid gzip file ({err})") from None
    return parse_idx(raw, what=str(path))


def _read_official(name: str, split: str, data_dir: str | os.PathLike[str] | None, download: bool) -> ImageData:
    """Load one official split, verified; no carve-out."""
    folder, classes = _IMAGE_SETS[name]
    image_file, label_file = (locate(f, data_dir, download) for f in split_files(folder, split))
    raw_images, raw_labels = read_idx(image_file.path), read_idx(label_file.path)
    if raw_images.ndim != 3 or raw_images.shape[1:] != (_SIDE, _SIDE):
        raise ValueError(f"{image_file.path}: expected images of shape (N, 28, 28), got {raw_images.shape}")
    if raw_labels.shape != raw_images.shape[:1]:
        raise ValueError(
            f"{label_file.path}: {raw_labels.shape} labels for {raw_images.shape[0]} images in {image_file.path}"
        )
    if raw_labels.size and raw_labels.max() >= len(classes):
        raise ValueError(f"{label_file.path}: label {int(raw_labels.max())} outside 0..{len(classes) - 1}")
    # One vectorised pass: uint8 -> float32 in [0, 1] (exact for 0 and 255).
    images = raw_images.astype(np.float32)
    images /= np.float32(255.0)
    return ImageData(
        images, raw_labels.astype(np.int64), classes, name, split, f"{_describe(image_file)}; {_describe(label_file)}"
    )


def _describe(located: LocatedFile) -> str:
    return f"{located.path} ({located.origin}, verified by {located.check})"


def load_images(
    name: str = "fashion_mnist",
    split: str = "train",
    data_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
) -> ImageData:
    """Load a split of an image data set, verified, as float32 images in [0, 1].

    Files are searched in ``data_dir``, ``$VAELIB_DATA``, the user cache and
    ``/usr/share/datasets`` (in this order), then downloaded into the cache.

    Parameters
    ----------
    name : {"fashion_mnist", "mnist"}
        The data set.
    split : {"train", "test"}
        The split.
    data_dir : path-like, optional
        A directory searched first (``<data_dir>/<name>/<file>`` or ``<data_dir>/<file>``,
        with ``<name>`` the folder name ``fashion-mnist`` or ``mnist``).
    download : bool
        Download missing files from the official URL (or its mirror).

    Returns
    -------
    ImageData

    Raises
    ------
    ValueError
        Unknown ``name`` or ``split``, or a malformed file.
    DataNotFoundError
        The split's files are not available (outside smoke mode, or in smoke mode when
        no carve-out applies).
    DataIntegrityError
        A user-provided copy fails verification.

    Notes
    -----
    Smoke mode only (``VAELIB_SMOKE=1``): when the training files cannot be had, the
    first 80% of the test split serves as ``"train"`` and the rest as ``"test"``, for
    either requested split (so they never overlap), with a
    :class:`~vaelib.data.SmokeCarveOutWarning` saying so.
    """
    if name not in _IMAGE_SETS:
        raise ValueError(f"name: unknown image data set {name!r}, expected one of {sorted(_IMAGE_SETS)}")
    folder = _IMAGE_SETS[name][0]
    train_files = split_files(folder, "train")
    split_files(folder, split)  # validates split before any file access
    if is_smoke() and not _available(train_files, data_dir, download):
        # A test split requested in this state is carved too, else it would contain the
        # images the carved training split is made of.
        whole = _read_official(name, "test", data_dir, download)
        carve = CarveOut(
            get_dataset(folder).title, "train", tuple(f.filename for f in train_files),
            "test", len(whole), SMOKE_TRAIN_FRACTION, "images",
        )  # fmt: skip
        carve.announce()
        part = carve.part(split)
        return replace(
            whole,
            images=whole.images[part].copy(),
            labels=whole.labels[part].copy(),
            split=split,
            source=f"{carve.note(split)}; from {whole.source}",
        )
    return _read_official(name, split, data_dir, download)


def _available(files: tuple, data_dir: str | os.PathLike[str] | None, download: bool) -> bool:
    """Whether all ``files`` can be located (possibly by downloading them)."""
    try:
        for f in files:
            locate(f, data_dir, download)
    except DataNotFoundError:
        return False
    return True


def load_fashion_mnist(
    split: str = "train", data_dir: str | os.PathLike[str] | None = None, download: bool = True
) -> ImageData:
    return load_images("fashion_mnist", split, data_dir=data_dir, download=download)


def load_mnist(split: str = "train", data_dir: str | os.PathLike[str] | None = None, download: bool = True) -> ImageData:
    return load_images("mnist", split, data_dir=data_dir, download=download)


# The two loaders differ only in the data set, and so do their docstrings.
_LOADER_DOC = """Load {title} ({what}; 60,000 train / 10,000 test images).

    Parameters
    ----------
    split : {{"train", "test"}}
        The split.
    data_dir : path-like, optional
        A directory searched first; see :func:`load_images`.
    download : bool
        Download missing files from the official URL (or its mirror).

    Returns
    -------
    ImageData
        Same as ``load_images("{name}", split, data_dir, download)``.
    """
load_fashion_mnist.__doc__ = _LOADER_DOC.format(title="Fashion-MNIST", what="10 clothing classes", name="fashion_mnist")
load_mnist.__doc__ = _LOADER_DOC.format(title="MNIST", what="handwritten digits", name="mnist")


def binarize(images: np.ndarray, seed: int | None = None) -> np.ndarray:
    """Draw binary images: each pixel is 1 with probability equal to its intensity.

    A single static draw; dynamic binarization (a fresh draw per batch) is ``fit``'s job.

    Parameters
    ----------
    images : numpy.ndarray
        Values in [0, 1], any shape.
    seed : int, optional
        Seed of the draw; None draws fresh randomness.

    Returns
    -------
    numpy.ndarray
        float32 array of 0s and 1s with the shape of ``images``.
    """
    if isinstance(images, ImageData):
        raise TypeError("images: expected an array, got ImageData (pass data.images)")
    arr = np.asarray(images)
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"images: expected a numeric array, got dtype {arr.dtype}")
    arr = arr.astype(np.float32, copy=False)
    if arr.size and (np.isnan(arr).any() or arr.min() < 0 or arr.max() > 1):
        raise ValueError(
            f"images: expected values in [0, 1], got min {np.nanmin(arr):g}, max {np.nanmax(arr):g}"
            + (" and NaN" if np.isnan(arr).any() else "")
        )
    rng = np.random.default_rng(seed)
    return (rng.random(arr.shape, dtype=np.float32) < arr).astype(np.float32)


def train_val_split(data: ImageData, val_size: int | float, seed: int = 0) -> tuple[ImageData, ImageData]:
    """Split off a random validation set, the same one for the same seed.

    Parameters
    ----------
    data : ImageData
        Usually a training split.
    val_size : int or float
        Number of validation examples, or a fraction of ``len(data)`` in (0, 1).
    seed : int
        Seed of the permutation.

    Returns
    -------
    (train, val) : tuple of ImageData
        Disjoint parts, each keeping the original order; ``val.split == "val"``.
    """
    if not isinstance(data, ImageData):
        raise TypeError(f"data: expected ImageData, got {type(data).__name__}")
    n = len(data)
    if isinstance(val_size, (bool, np.bool_)) or not isinstance(val_size, (int, float, np.integer, np.floating)):
        raise TypeError(f"val_size: expected an int count or a float fraction, got {type(val_size).__name__}")
    if isinstance(val_size, (float, np.floating)):
        if not 0.0 < val_size < 1.0:
            raise ValueError(f"val_size: expected a fraction in (0, 1), got {val_size}")
        count = round(val_size * n)
    else:
        count = int(val_size)
    if not 0 < count < n:
        raise ValueError(f"val_size: expected between 1 and {n - 1} examples of {n}, got {count}")
    perm = np.random.default_rng(seed).permutation(n)
    val_idx, train_idx = np.sort(perm[:count]), np.sort(perm[count:])
    note = f"; train_val_split(val_size={val_size!r}, seed={seed})"

    def subset(idx: np.ndarray, split: str, role: str) -> ImageData:
        return replace(
            data, images=data.images[idx], labels=data.labels[idx], split=split,
            source=f"{data.source}{note}: {role} {len(idx):,} of {n:,}",
        )  # fmt: skip

    return subset(train_idx, data.split, "train part"), subset(val_idx, "val", "validation part")
