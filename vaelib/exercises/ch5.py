"""Auto-checks for chapter 5, text VAEs (framework-free).

Each checker runs the learner's function on fixed cases, compares it with a NumPy
reference, prints one line (``✓ ...`` or ``✗ ...`` saying what is wrong) and returns True or
False; it never raises on a wrong answer. Token ids follow :class:`vaelib.data.Vocabulary`:
``<pad>`` = 0, ``<bos>`` = 1, ``<eos>`` = 2, ``<unk>`` = 3.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from vaelib.exercises._report import CheckFailed, _to_numpy, call_learner, expect_close, run_check

__all__ = ["check_masked_nll", "check_kl_annealing", "check_word_dropout", "PAD", "BOS", "EOS", "UNK"]

PAD, BOS, EOS, UNK = 0, 1, 2, 3


def _as_array(got: Any, what: str) -> np.ndarray:
    try:
        return np.asarray(_to_numpy(got))
    except (TypeError, ValueError):
        raise CheckFailed(f"your function returned {type(got).__name__}, expected {what}") from None


# -- masked NLL ---------------------------------------------------------------------------
def _nll_case() -> tuple[np.ndarray, np.ndarray]:
    """Three sentences of 4, 2 and 5 tokens padded to 6, over a vocabulary of 7 words."""
    rng = np.random.default_rng(5)
    logits = rng.normal(size=(3, 6, 7))
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    targets = np.zeros((3, 6), dtype=np.int64)
    for row, n in enumerate((4, 2, 5)):
        targets[row, : n - 1] = rng.integers(4, 7, n - 1)
        targets[row, n - 1] = EOS
    return log_probs, targets


def check_masked_nll(fn: Callable[[np.ndarray, np.ndarray, int], Any]) -> bool:
    """Check ``fn(log_probs, targets, pad_id) -> (B,)``: each sentence's NLL, padding ignored.

    ``log_probs`` (B, T, V) are the decoder's log-softmax outputs, ``targets`` (B, T) the
    next-word ids padded with ``pad_id``. The answer is ``-sum_t log p(target_t)`` over the
    sentence's real tokens (``<eos>`` included), one number per sentence, in nats.
    """

    def body() -> str:
        log_probs, targets = _nll_case()
        picked = np.take_along_axis(log_probs, targets[..., None], axis=-1)[..., 0]
        mask = targets != PAD
        ref = -(picked * mask).sum(1)
        got = _as_array(call_learner(fn, log_probs.copy(), targets.copy(), PAD), "one NLL per sentence")
        if got.shape != ref.shape:
            raise CheckFailed(f"your result has shape {got.shape}: expected {ref.shape}, one NLL per sentence (sum, not batch mean)")
        got = got.astype(np.float64)
        mistakes = {
            "you also counted the padding positions: multiply by the mask targets != pad_id": -picked.sum(1),
            "you averaged over the real tokens: the sentence NLL is their sum": ref / mask.sum(1),
            "you averaged over the padded length T: sum over real tokens instead": ref / targets.shape[1],
            "the sign is flipped: NLL = -log p, a positive number": -ref,
        }
        for hint, wrong in mistakes.items():
            if np.allclose(got, wrong, rtol=1e-4) and not np.allclose(wrong, ref, rtol=1e-4):
                raise CheckFailed(f"sentence 1 (2 tokens, 4 pads) gives {got[1]:.4f}, expected {ref[1]:.4f}: {hint}")
        expect_close(got, ref, "for three sentences of 4, 2 and 5 tokens padded to 6")
        return "padding ignored, one sum per sentence"

    return run_check("masked_nll", body)


# -- KL annealing -------------------------------------------------------------------------
def check_kl_annealing(fn: Callable[..., Any], kind: str = "linear") -> bool:
    """Check a KL-weight schedule.

    ``kind="linear"``: ``fn(step, warmup_steps)`` rises from 0 at step 0 to 1 at
    ``warmup_steps`` and stays at 1. ``kind="logistic"``: ``fn(step, midpoint, steepness)``
    is ``1 / (1 + exp(-steepness * (step - midpoint)))`` (Bowman et al., 2016).
    """
    if kind not in ("linear", "logistic"):
        raise ValueError(f"kind: expected 'linear' or 'logistic', got {kind!r}")

    def linear_body() -> str:
        warmup = 1000
        for step in (0, 1, 250, 999, 1000, 1500, 10_000):
            ref = min(step / warmup, 1.0)
            got = float(_as_array(call_learner(fn, step, warmup), "a number"))
            if not math.isfinite(got):
                raise CheckFailed(f"your beta is {got} at step {step}")
            if 0 < step < warmup and got == 0.0:
                raise CheckFailed(f"your beta is 0 at step {step} of {warmup}: integer division? use step / warmup_steps")
            if step > warmup and got > 1.0 + 1e-9:
                raise CheckFailed(f"your beta is {got:.4f} at step {step}: it should stay at 1 after the warm-up (clip it)")
            if step == 0 and abs(got - 1.0) < 1e-9:
                raise CheckFailed("your beta is 1 at step 0: the ramp runs the wrong way, it starts at 0")
            expect_close(got, ref, f"at step {step} with warmup_steps={warmup}", rtol=1e-6)
        return "0 -> 1 over the warm-up, then 1"

    def logistic_body() -> str:
        midpoint, steepness = 2500, 0.0025
        for step in (2500, 0, 1000, 4000, 100_000):
            ref = 1.0 / (1.0 + math.exp(-steepness * (step - midpoint)))
            got = float(_as_array(call_learner(fn, step, midpoint, steepness), "a number"))
            if step == 2500 and abs(got - 0.5) > 1e-6:
                raise CheckFailed(f"your beta is {got:.4f} at the midpoint: a logistic curve is 0.5 there")
            expect_close(got, ref, f"at step {step} (midpoint {midpoint}, steepness {steepness})", rtol=1e-6)
        return "0.5 at the midpoint, 0 before, 1 after"

    return run_check(f"kl_annealing ({kind})", linear_body if kind == "linear" else logistic_body)


# -- word dropout -------------------------------------------------------------------------
def _dropout_case() -> np.ndarray:
    """Decoder inputs ``<bos> w1 .. wn`` with padding: 200 sentences of 3 to 15 words."""
    rng = np.random.default_rng(11)
    tokens = np.full((200, 16), PAD, dtype=np.int64)
    for row in tokens:
        n = int(rng.integers(3, 16))
        row[0] = BOS
        row[1 : n + 1] = rng.integers(4, 50, n)
        row[n] = EOS if rng.random() < 0.5 else row[n]  # some rows carry an <eos>, as shifted targets can
    return tokens


def check_word_dropout(fn: Callable[[np.ndarray, float, np.random.Generator], Any]) -> bool:
    """Check ``fn(tokens, rate, rng) -> tokens``: words become ``<unk>`` with probability ``rate``.

    ``<pad>``, ``<bos>`` and ``<eos>`` must never change; ``rate=0`` leaves everything as it
    is, ``rate=1`` replaces every word; the input array must not be modified in place.
    """

    def body() -> str:
        tokens = _dropout_case()
        special = np.isin(tokens, (PAD, BOS, EOS))
        words = ~special
        for rate in (0.0, 0.3, 1.0):
            given = tokens.copy()
            got = _as_array(call_learner(fn, given, rate, np.random.default_rng(0)), "an array of token ids")
            if got.shape != tokens.shape:
                raise CheckFailed(f"your result has shape {got.shape}: expected {tokens.shape}, the input's shape")
            if not np.array_equal(given, tokens):
                raise CheckFailed("your function changed its input array in place: work on a copy")
            changed = got != tokens
            if (changed & special).any():
                which = {PAD: "<pad>", BOS: "<bos>", EOS: "<eos>"}[int(tokens[changed & special][0])]
                raise CheckFailed(f"at rate {rate} you replaced a {which}: special tokens must never be dropped")
            if (changed & (got != UNK)).any():
                raise CheckFailed(f"at rate {rate} a word became {int(got[changed & (got != UNK)][0])}: dropped words become <unk> (id {UNK})")
            frac = changed[words].mean()
            if rate == 0.0 and frac > 0:
                raise CheckFailed(f"at rate 0 you replaced {frac:.1%} of the words: rate 0 must leave them all")
            if rate == 1.0 and not np.all(got[words] == UNK):
                raise CheckFailed(f"at rate 1 only {frac:.1%} of the words became <unk>: all of them should")
            if rate == 0.3 and abs(frac - 0.3) > 0.05:
                kept = " (did you keep words with probability rate?)" if abs(frac - 0.7) < 0.05 else ""
                raise CheckFailed(f"at rate 0.3 you replaced {frac:.1%} of the words{kept}: expected about 30%")
        return "specials kept, rate respected"

    return run_check("word_dropout", body)
