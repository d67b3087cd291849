"""Penn Treebank (Mikolov et al. preprocessing): reading, vocabulary, encoded corpus."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from types import MappingProxyType
from typing import Iterable, Mapping, Sequence

import numpy as np

from vaelib.config import is_smoke
from vaelib.data._carve import CarveOut
from vaelib.data._errors import DataNotFoundError
from vaelib.data._fetch import locate
from vaelib.data._registry import split_files

__all__ = ["Vocabulary", "TextCorpus", "load_ptb", "load_ptb_corpus", "SPECIALS", "PAD", "BOS", "EOS", "UNK"]

#: Special tokens and their fixed ids 0..3. PTB's own "<unk>" token is the same word as
#: ours, so the file's unknown words share the id of out-of-vocabulary words.
SPECIALS = ("<pad>", "<bos>", "<eos>", "<unk>")
#: Their ids, the one definition the text models, the batching and the exercises use.
PAD, BOS, EOS, UNK = range(len(SPECIALS))
# Smoke-mode carve-out of a missing training split: the first 85% of the validation
# sentences (2,864 of 3,370); validation keeps the other 506; test stays official.
SMOKE_TRAIN_FRACTION = 0.85


class Vocabulary:
    """A word <-> id mapping with fixed ids for the special tokens.

    Ids: ``<pad>`` = 0, ``<bos>`` = 1, ``<eos>`` = 2, ``<unk>`` = 3, then the words.

    Parameters
    ----------
    itos : sequence of str
        The tokens in id order; must start with the four special tokens, no repeats.
    """

    def __init__(self, itos: Sequence[str]) -> None:
        itos = tuple(itos)
        if itos[:4] != SPECIALS:
            raise ValueError(f"itos: expected to start with {list(SPECIALS)}, got {list(itos[:4])}")
        if not all(isinstance(t, str) for t in itos):
            raise TypeError("itos: expected str tokens")
        stoi = {t: i for i, t in enumerate(itos)}
        if len(stoi) != len(itos):
            dup = next(t for t, c in Counter(itos).items() if c > 1)
            raise ValueError(f"itos: token {dup!r} appears more than once")
        self._itos = itos
        self._stoi = stoi

    @classmethod
    def from_sentences(cls, sentences: Iterable[Sequence[str]], max_size: int | None = None) -> Vocabulary:
        """Build a vocabulary from tokenized sentences.

        Parameters
        ----------
        sentences : iterable of sequences of str
            Tokenized sentences (e.g. from :func:`load_ptb`).
        max_size : int, optional
            Largest vocabulary size, the four special tokens included; the rarest
            words are left out (and encode as ``<unk>``).

        Returns
        -------
        Vocabulary
            Special tokens, then words by descending frequency, ties in alphabetical
            order (so the same sentences always give the same ids).
        """
        if max_size is not None and (isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 4):
            raise ValueError(f"max_size: expected an int >= 4 (the special tokens) or None, got {max_size!r}")
        counts: Counter[str] = Counter()
        for i, sentence in enumerate(sentences):
            counts.update(_tokens(sentence, f"sentences[{i}]"))
        for special in SPECIALS:
            counts.pop(special, None)
        words = sorted(counts, key=lambda w: (-counts[w], w))
        if max_size is not None:
            words = words[: max_size - len(SPECIALS)]
        return cls(SPECIALS + tuple(words))

    @property
    def itos(self) -> tuple[str, ...]:
        """Tokens in id order."""
        return self._itos

    @property
    def stoi(self) -> Mapping[str, int]:
        """Token -> id, read-only (a view, not a copy: cheap to index in a loop)."""
        return MappingProxyType(self._stoi)

    pad_id, bos_id, eos_id, unk_id = PAD, BOS, EOS, UNK

    def __len__(self) -> int:
        return len(self._itos)

    def __contains__(self, token: object) -> bool:
        return token in self._stoi

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and other._itos == self._itos

    def __hash__(self) -> int:
        return hash(self._itos)

    def __repr__(self) -> str:
        return f"Vocabulary(size={len(self)})"

    def encode(self, tokens: Sequence[str]) -> np.ndarray:
        """Map tokens to ids; unknown tokens map to ``unk_id``. No special tokens are added.

        Parameters
        ----------
        tokens : sequence of str
            One tokenized sentence.

        Returns
        -------
        numpy.ndarray
            int64, shape (len(tokens),).
        """
        get, unk = self._stoi.get, self.unk_id
        return np.fromiter((get(t, unk) for t in _tokens(tokens, "tokens")), dtype=np.int64, count=len(tokens))

    def decode(self, ids: Sequence[int] | np.ndarray) -> list[str]:
        """Map ids back to tokens, stopping at ``<eos>`` and dropping ``<pad>``/``<bos>``.

        Parameters
        ----------
        ids : sequence of int or 1-D integer array
            One sequence of ids.

        Returns
        -------
        list of str
        """
        arr = np.asarray(ids)
        if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
            raise ValueError(f"ids: expected a 1-D sequence of integer ids, got shape {arr.shape} dtype {arr.dtype}")
        bad = (arr < 0) | (arr >= len(self))
        if bad.any():
            raise ValueError(f"ids: id {int(arr[bad][0])} is outside the vocabulary of size {len(self)} (0..{len(self) - 1})")
        out = []
        for i in arr.tolist():
            if i == self.eos_id:
                break
            if i not in (self.pad_id, self.bos_id):
                out.append(self._itos[i])
        return out


def _tokens(sentence: Sequence[str], what: str) -> Sequence[str]:
    # A bare string would be taken character by character: a silent, common mistake.
    if isinstance(sentence, str) or not all(isinstance(t, str) for t in sentence):
        raise TypeError(f"{what}: expected a list of str tokens, got {type(sentence).__name__}")
    return sentence


@dataclass(frozen=True)
class TextCorpus:
    """PTB encoded with a vocabulary built from its training split.

    Attributes
    ----------
    vocab : Vocabulary
        Built from the (possibly carved) training sentences only.
    train, valid, test : list of numpy.ndarray
        Each sentence as int64 ids ``w1 .. wn <eos>`` (no ``<bos>``; models add it).
    source : str
        Files used, any smoke-mode carve-out and any sentences dropped by ``max_length``.
    """

    vocab: Vocabulary
    train: list[np.ndarray]
    valid: list[np.ndarray]
    test: list[np.ndarray]
    source: str


def _read_sentences(path: os.PathLike[str]) -> list[list[str]]:
    with open(path, encoding="utf-8") as text:
        return [line.split() for line in text if line.strip()]


def _load_official(split: str, data_dir: str | os.PathLike[str] | None, download: bool) -> tuple[list[list[str]], str]:
    (f,) = split_files("ptb", split)
    located = locate(f, data_dir, download)
    return _read_sentences(located.path), f"{located.path} ({located.origin}, verified by {located.check})"


def _load_splits(
    wanted: Sequence[str], data_dir: str | os.PathLike[str] | None, download: bool, carve_missing_train: bool | None = None
) -> dict[str, tuple[list[list[str]], str]]:
    """Sentences of each wanted split, with a note on where they came from."""
    allow_carve = is_smoke() if carve_missing_train is None else bool(carve_missing_train)
    for split in wanted:
        split_files("ptb", split)  # validates every split before any file access
    carve = None
    if allow_carve and {"train", "valid"} & set(wanted):
        (train_file,) = split_files("ptb", "train")
        try:
            locate(train_file, data_dir, download)
        except DataNotFoundError:
            # Carve train and valid from valid together, so that they never overlap.
            valid, where = _load_official("valid", data_dir, download)
            carve = CarveOut("PTB", "train", (train_file.filename,), "valid", len(valid), SMOKE_TRAIN_FRACTION, "sentences")
            carve.announce()
    out = {}
    for split in wanted:
        if carve is not None and split in ("train", "valid"):
            out[split] = (valid[carve.part(split)], f"{carve.note(split)}; from {where}")
        else:
            out[split] = _load_official(split, data_dir, download)
    return out


def load_ptb(split: str = "train", data_dir: str | os.PathLike[str] | None = None, download: bool = True) -> list[list[str]]:
    """Load a Penn Treebank split as tokenized sentences.

    Parameters
    ----------
    split : {"train", "valid", "test"}
        The split (42,068 / 3,370 / 3,761 sentences).
    data_dir : path-like, optional
        A directory searched first (``<data_dir>/ptb/<file>`` or ``<data_dir>/<file>``).
    download : bool
        Download missing files from the official URL (or its mirror).

    Returns
    -------
    list of list of str
        One list of tokens per non-empty line; ``<unk>`` and ``N`` kept as in the file.

    Notes
    -----
    Smoke mode only: without the training file, ``"train"`` is the first 85% of the
    validation sentences and ``"valid"`` the rest, with a warning saying so.
    """
    return _load_splits([split], data_dir, download)[split][0]


def load_ptb_corpus(data_dir: str | os.PathLike[str] | None = None, max_length: int | None = None,
                    carve_missing_train: bool | None = None) -> TextCorpus:
    """Load PTB, build the vocabulary from its training split, and encode all splits.

    Parameters
    ----------
    data_dir : path-like, optional
        A directory searched first; see :func:`load_ptb`.
    max_length : int, optional
        Drop sentences of more than ``max_length`` words (the ``<eos>`` not counted),
        in every split; ``TextCorpus.source`` says how many were dropped.
    carve_missing_train : bool, optional
        Whether a missing training file may be replaced by a carve-out of the validation
        split (with a warning, and stated in ``TextCorpus.source``). The default, None,
        allows it in quick mode only; the reference-model script asks for it explicitly
        and records it in the manifest.

    Returns
    -------
    TextCorpus
    """
    if max_length is not None and (isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1):
        raise ValueError(f"max_length: expected a positive int or None, got {max_length!r}")
    if carve_missing_train is not None and not isinstance(carve_missing_train, bool):
        raise ValueError(f"carve_missing_train: expected True, False or None, got {carve_missing_train!r}")
    loaded = _load_splits(("train", "valid", "test"), data_dir, True, carve_missing_train)
    splits = {split: sentences for split, (sentences, _) in loaded.items()}
    notes = [f"{split}: {where}" for split, (_, where) in loaded.items()]
    vocab = Vocabulary.from_sentences(splits["train"])
    encoded = {}
    for split, sentences in splits.items():
        kept = sentences if max_length is None else [s for s in sentences if len(s) <= max_length]
        if max_length is not None:
            notes.append(f"{split}: dropped {len(sentences) - len(kept):,} of {len(sentences):,} sentences "
                         f"longer than {max_length} words")
        eos = np.array([vocab.eos_id], dtype=np.int64)
        encoded[split] = [np.concatenate([vocab.encode(s), eos]) for s in kept]
    return TextCorpus(vocab, encoded["train"], encoded["valid"], encoded["test"], "; ".join(notes))
