"""Padding and length-bucketed batching of integer sequences (e.g. encoded sentences)."""

from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np

from vaelib.data.ptb import PAD

__all__ = ["pad_batch", "batches_by_length"]


def _as_sequences(seqs: Sequence[np.ndarray], what: str = "seqs") -> list[np.ndarray]:
    if isinstance(seqs, np.ndarray) and seqs.dtype != object:
        raise TypeError(f"{what}: expected a list of 1-D int arrays, got one array of shape {seqs.shape}")
    out = []
    for i, s in enumerate(seqs):
        arr = np.asarray(s)
        if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
            raise ValueError(f"{what}[{i}]: expected a 1-D integer sequence, got shape {arr.shape} dtype {arr.dtype}")
        out.append(arr)
    if not out:
        raise ValueError(f"{what}: expected at least one sequence, got none")
    return out


def pad_batch(seqs: Sequence[np.ndarray], pad_id: int = PAD) -> np.ndarray:
    """Stack sequences into one array, right-padded to the longest.

    Parameters
    ----------
    seqs : sequence of 1-D int arrays
        The sequences (e.g. ``TextCorpus.train[:32]``).
    pad_id : int
        The padding id (``Vocabulary.pad_id`` is 0).

    Returns
    -------
    numpy.ndarray
        int64, shape (len(seqs), max length).
    """
    arrays = _as_sequences(seqs)
    out = np.full((len(arrays), max(len(a) for a in arrays)), pad_id, dtype=np.int64)
    for row, arr in zip(out, arrays):
        row[: len(arr)] = arr
    return out


def batches_by_length(
    seqs: Sequence[np.ndarray], batch_size: int, shuffle: bool = True, seed: int | None = None
) -> Iterator[np.ndarray]:
    """Yield padded batches of sequences of similar length, each sequence exactly once.

    Sorting by length before cutting batches keeps padding (wasted RNN steps) small.

    Parameters
    ----------
    seqs : sequence of 1-D int arrays
        The sequences.
    batch_size : int
        Sequences per batch (the last batch of a length order may be smaller).
    shuffle : bool
        Shuffle sequences of equal length and the order of the batches, so that epochs
        differ; False gives batches in order of increasing length.
    seed : int, optional
        Seed of the shuffling (same seed, same batches).

    Returns
    -------
    iterator of numpy.ndarray
        int64 arrays (B, T) padded with 0.
    """
    arrays = _as_sequences(seqs)  # checked now, not at the first next()
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size: expected a positive int, got {batch_size!r}")
    rng = np.random.default_rng(seed)
    lengths = np.array([len(a) for a in arrays])
    order = rng.permutation(len(arrays)) if shuffle else np.arange(len(arrays))
    order = order[np.argsort(lengths[order], kind="stable")]  # by length; ties keep the shuffle
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    if shuffle:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return (pad_batch([arrays[i] for i in idx]) for idx in batches)
