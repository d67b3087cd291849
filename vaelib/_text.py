"""Token-id validation and the decoding loop shared by both backends' text models (framework-free).

Token batches are small integer arrays, so both backends check them in NumPy, once, with the
same one-line messages; and both decode through one loop that asks the backend only for the
next step's logits.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from vaelib._arrays import to_numpy
from vaelib._checks import (ArgumentTypeError, check_flag, check_int, check_positive_int, check_probability,
                            check_vaelib_model, user_array)
from vaelib.data import pad_batch
from vaelib.data.ptb import BOS, EOS, PAD, UNK

__all__ = ["PAD", "BOS", "EOS", "UNK", "check_tokens", "check_sequences", "check_sentence", "check_text_model",
           "text_model_args", "check_dropout_args", "check_token_ids", "decode_loop", "text_model_config"]


def check_tokens(name: str, tokens: Any, vocab_size: int, pad_id: int = PAD) -> np.ndarray:
    """Return a padded (B, T) int64 batch, or raise a one-line error naming ``name``.

    Accepts a (B, T) integer array/tensor or a list of 1-D id sequences (padded here).
    Padding must only trail: the encoder reads each sentence up to its last token.
    """
    if isinstance(tokens, (list, tuple)):
        tokens = pad_batch(check_sequences(name, tokens, vocab_size, pad_id), pad_id=pad_id)
    arr = user_array(name, to_numpy(tokens) if hasattr(tokens, "shape") else tokens, what="a batch of token ids")
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name}: expected integer token ids, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise ValueError(f"{name}: expected shape (batch, length), got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name}: expected at least one sentence of at least one token, got shape {arr.shape}")
    lo, hi = int(arr.min()), int(arr.max())
    if lo < 0 or hi >= vocab_size:
        bad = lo if lo < 0 else hi
        raise ValueError(f"{name}: token id {bad} is outside the vocabulary [0, {vocab_size})")
    real = arr != pad_id
    if not real[:, 0].all():
        row = int(np.argmin(real[:, 0]))
        raise ValueError(f"{name}: sentence {row} is empty (starts with <pad>)")
    if (real[:, 1:] & ~real[:, :-1]).any():
        row = int(np.argmax((real[:, 1:] & ~real[:, :-1]).any(1)))
        raise ValueError(f"{name}: sentence {row} has a token after <pad>; pad only at the end")
    return arr.astype(np.int64, copy=False)


def check_sequences(name: str, sequences: Any, vocab_size: int, pad_id: int = PAD) -> list[np.ndarray]:
    """Return a list of 1-D int64 sentences, or raise a one-line error naming ``name``.

    Accepts a list of id arrays (``w1 .. wn <eos>``) or a padded (N, T) array.
    """
    if isinstance(sequences, np.ndarray) and sequences.ndim == 2:
        check_tokens(name, sequences, vocab_size, pad_id)
        return [row[row != pad_id].astype(np.int64) for row in sequences]
    if not isinstance(sequences, (list, tuple)) or len(sequences) == 0:
        got = "an empty list" if isinstance(sequences, (list, tuple)) else repr(sequences)[:60]
        raise ArgumentTypeError(f"{name}: expected a non-empty list of token-id arrays, got {got}")
    seqs = [user_array(name, s, what="token-id arrays") for s in sequences]
    for i, s in enumerate(seqs):
        if s.ndim != 1 or s.size == 0:
            raise ValueError(f"{name}: sentence {i} should be a non-empty 1-D id array, got shape {s.shape}")
        if not np.issubdtype(s.dtype, np.integer):
            raise TypeError(f"{name}: expected integer token ids, got dtype {s.dtype} in sentence {i}")
    flat = np.concatenate(seqs)
    lo, hi = int(flat.min()), int(flat.max())
    if lo < 0 or hi >= vocab_size:
        bad = lo if lo < 0 else hi
        raise ValueError(f"{name}: token id {bad} is outside the vocabulary [0, {vocab_size})")
    if (flat == pad_id).any():
        raise ValueError(f"{name}: contains <pad> (id {pad_id}) inside a sentence")
    return [s.astype(np.int64, copy=False) for s in seqs]


def check_text_model(model: Any, what: str = "a text model (SentenceVAE or RNNLanguageModel)") -> None:
    """Reject anything but a vaelib text model."""
    check_vaelib_model(model, what)
    if not hasattr(model, "vocab_size"):
        raise ArgumentTypeError(f"model: expected {what}, got {type(model).__name__}")


def check_sentence(name: str, tokens: Any, vocab_size: int, pad_id: int = PAD) -> np.ndarray:
    """One sentence as a 1-D int64 id array (``w1 .. wn <eos>``), or a one-line refusal naming ``name``."""
    arr = user_array(name, tokens, what="a 1-D array of token ids")
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected one sentence, a 1-D array of token ids, got shape {arr.shape}")
    return check_sequences(name, [arr], vocab_size, pad_id)[0]


_SPECIAL = {"pad_id": PAD, "bos_id": BOS, "eos_id": EOS, "unk_id": UNK}


def text_model_args(vocab_size: Any, embed_dim: Any, hidden_dim: Any, word_dropout: Any,
                    **special_ids: Any) -> tuple[int, int, int, float, dict[str, int]]:
    """The checked constructor arguments of a text model: sizes, word-dropout rate, special-token ids.

    Each id must be an integer in [0, vocab_size) of its own. A vocabulary too small for the
    default ids is the vocabulary's fault; an id changed from its default, the id's.
    """
    vocab_size = check_positive_int("vocab_size", vocab_size)
    embed_dim = check_positive_int("embed_dim", embed_dim)
    hidden_dim = check_positive_int("hidden_dim", hidden_dim)
    rate = check_probability("word_dropout", word_dropout)
    ids = {name: check_int(name, value, minimum=0) for name, value in special_ids.items()}
    for name, value in ids.items():
        if value >= vocab_size and value != _SPECIAL[name]:
            raise ValueError(f"{name}: expected a token id in [0, {vocab_size}) (the vocabulary), got {value}")
    if max(ids.values()) >= vocab_size:
        raise ValueError(f"vocab_size: expected more than {max(ids.values())}: the special tokens "
                         f"({', '.join(f'{n}={v}' for n, v in ids.items())}) need ids in the vocabulary, got {vocab_size}")
    seen: dict[int, str] = {}
    for name, value in ids.items():
        if value in seen:
            raise ValueError(f"{name}: expected an id of its own, got {value}, which is {seen[value]}")
        seen[value] = name
    return vocab_size, embed_dim, hidden_dim, rate, ids


def check_dropout_args(rate: Any, unk_id: Any, special_ids: Any) -> tuple[float, int, tuple[int, ...]]:
    """``word_dropout``'s rate, ``<unk>`` id and protected ids, checked."""
    rate = check_probability("rate", rate)
    unk_id = check_int("unk_id", unk_id, minimum=0)
    if not isinstance(special_ids, (list, tuple, np.ndarray)):
        raise ArgumentTypeError(f"special_ids: expected a sequence of token ids, got {special_ids!r}")
    ids = tuple(check_int("special_ids", i, minimum=0) for i in special_ids)
    return rate, unk_id, ids


def check_token_ids(name: str, values: np.ndarray) -> None:
    """Reject an array that is not made of non-negative integer ids (any shape)."""
    if values.dtype.kind not in "iu":
        raise ArgumentTypeError(f"{name}: expected integer token ids, got dtype {values.dtype}")
    if values.size and values.min() < 0:
        raise ValueError(f"{name}: expected non-negative token ids, got {int(values.min())}")


def text_model_config(model: Any) -> dict[str, Any]:
    """The constructor arguments of a text model, read back from its checked attributes.

    Both backends' checkpoints rebuild a model from this dict (``SentenceVAE`` adds its
    ``latent_dim``), so it holds plain Python numbers only.
    """
    return {"vocab_size": model.vocab_size, "embed_dim": model.embed_dim, "hidden_dim": model.hidden_dim,
            "word_dropout": model.word_dropout_rate, "pad_id": int(model.pad_id), "bos_id": int(model.bos_id),
            "eos_id": int(model.eos_id), "unk_id": int(model.unk_id)}


def decode_loop(
    step: Callable[[np.ndarray], Any],
    model: Any,
    n: int,
    max_length: int,
    *,
    temperature: float | None = None,
    rng: np.random.Generator | None = None,
    allow_unk: bool = True,
) -> np.ndarray:
    """Decode ``n`` sentences word by word with ``model``'s special ids; greedy when ``temperature`` is None.

    ``step(tokens)`` feeds the previous words (an (n,) int64 array) to the backend's decoder,
    keeps its recurrent state, and returns the next word's logits, shape (n, vocab). Words are
    chosen here, in NumPy, so both backends pick the same words from the same weights (and
    sample them from the same ``rng`` draws). ``<pad>``, ``<bos>`` (and ``<unk>`` unless
    ``allow_unk``) are never generated; a sentence that has produced ``<eos>`` is padded from
    then on, and the loop stops when all have.
    """
    max_length = check_positive_int("max_length", max_length)
    allow_unk = check_flag("allow_unk", allow_unk)
    pad_id, eos_id = model.pad_id, model.eos_id
    banned = [pad_id, model.bos_id] + ([] if allow_unk else [model.unk_id])
    out = np.full((n, max_length), pad_id, dtype=np.int64)
    done = np.zeros(n, dtype=bool)
    token = np.full((n,), model.bos_id, dtype=np.int64)
    for t in range(max_length):
        logits = np.array(to_numpy(step(token)), dtype=np.float64)
        logits[:, banned] = -np.inf
        if temperature is None:
            nxt = logits.argmax(-1)
        else:
            scaled = logits / temperature
            cdf = np.cumsum(np.exp(scaled - scaled.max(1, keepdims=True)), axis=1)
            u = rng.random(n)[:, None] * cdf[:, -1:]
            nxt = np.minimum((cdf < u).sum(1), logits.shape[1] - 1)
        nxt = np.where(done, pad_id, nxt)
        out[:, t] = nxt
        done |= nxt == eos_id
        if done.all():
            break
        token = nxt
    return out
