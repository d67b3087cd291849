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

from vaelib.data.ptb import BOS, EOS, PAD, UNK
from vaelib.exercises._report import (CheckFailed, GlobalRandomState, as_number, call_learner, call_quietly,
                                     check_seeded, compare, expect_close, run_check, to_numbers)

__all__ = ["check_masked_nll", "check_kl_annealing", "check_word_dropout", "PAD", "BOS", "EOS", "UNK"]


def _as_array(got: Any, what: str) -> np.ndarray:
    return to_numbers(got, what, dtype=None)


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
            raise CheckFailed(f"your result has shape {got.shape}: expected {ref.shape}, "
                              "one NLL per sentence (sum, not batch mean)")
        got = to_numbers(got, "one NLL per sentence")
        best = log_probs.max(-1)
        mistakes = {
            "you also counted the padding positions: multiply by the mask targets != pad_id": -picked.sum(1),
            "you averaged over the real tokens: the sentence NLL is their sum": ref / mask.sum(1),
            "you averaged over the padded length T: sum over real tokens instead": ref / targets.shape[1],
            "the sign is flipped: NLL = -log p, a positive number": -ref,
            "your mask is inverted: keep the positions where targets != pad_id, drop the padding":
                -(picked * ~mask).sum(1),
            "you left out <eos>: predicting the end of the sentence is part of its likelihood":
                -(picked * (mask & (targets != EOS))).sum(1),
            "you used the most likely word at each position: pick the log-probability of the target word":
                -(best * mask).sum(1),
            "you exponentiated: log_probs are already log-probabilities, sum them as they are":
                -(np.exp(picked) * mask).sum(1),
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
        steps = np.array([0, 1, 250, 999, 1000, 1500, 10_000], dtype=np.float64)
        got = np.array([as_number(call_quietly(fn, int(step), warmup), f"at step {int(step)}") for step in steps])
        ramp = steps / warmup
        mistakes = {
            "it should stay at 1 after the warm-up (clip it with min(..., 1.0))": ramp,
            "integer division? use step / warmup_steps, not step // warmup_steps": np.minimum(steps // warmup, 1.0),
            "the ramp runs the wrong way: it starts at 0 and ends at 1": np.maximum(1.0 - ramp, 0.0),
            "you clipped with max where min is needed: min(step / warmup_steps, 1.0)": np.maximum(ramp, 1.0),
            "off by one: beta is step / warmup_steps, 0 at step 0": np.minimum((steps + 1) / warmup, 1.0),
            "beta is a weight between 0 and 1, not a percentage": np.minimum(100.0 * ramp, 100.0),
            "after the warm-up beta stays at 1, it does not fall back to 0": np.where(steps < warmup, ramp, 0.0),
        }
        compare(got, np.minimum(ramp, 1.0), quantity="beta",
                describe=lambda idx: f"at step {int(steps[idx])} with warmup_steps={warmup}",
                mistakes=mistakes, shape_hint="one number per step",
                nonfinite_hint="step is 0 at the start: divide step by warmup_steps, not the other way round")
        return "0 -> 1 over the warm-up, then 1"

    def logistic_body() -> str:
        midpoint, steepness = 2500, 0.0025
        steps = np.array([2500, 0, 1000, 4000, 100_000], dtype=np.float64)
        got = np.array([as_number(call_quietly(fn, int(step), midpoint, steepness),
                                  f"at step {int(step)} (midpoint {midpoint}, steepness {steepness})") for step in steps])

        def logistic(a: np.ndarray) -> np.ndarray:
            with np.errstate(over="ignore"):  # exp(-a) may overflow to inf: then 1 / (1 + inf) = 0, as it should
                return 1.0 / (1.0 + np.exp(-a))

        centred = steepness * (steps - midpoint)
        mistakes = {
            "a logistic curve is 0.5 at the midpoint: you left out the midpoint, use step - midpoint, "
            "so 0.5 there": logistic(steepness * steps),
            "your beta falls as training goes on: the exponent is -steepness * (step - midpoint)": logistic(-centred),
            "the logistic is 1 / (1 + exp(...)): the 1 + is missing": np.exp(centred),
            "you returned 1 + exp(...): take its reciprocal, 1 / (1 + exp(-steepness * (step - midpoint)))":
                1.0 + np.exp(-centred),
            "that is step + midpoint: the curve is centred on the midpoint, step - midpoint":
                logistic(steepness * (steps + midpoint)),
            "you doubled the steepness (a tanh written as 0.5 * (1 + tanh(steepness * (step - midpoint))) "
            "needs steepness / 2)": logistic(2.0 * centred),
            "you divided by the steepness: it multiplies step - midpoint": logistic((steps - midpoint) / steepness),
        }
        compare(got, logistic(centred), quantity="beta",
                describe=lambda idx: f"at step {int(steps[idx])} (midpoint {midpoint}, steepness {steepness})",
                mistakes=mistakes, shape_hint="one number per step",
                nonfinite_hint="math.exp overflows above ~709: 1 / (1 + exp(-a)) is finite for any a with np.exp")
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


def _dropped(fn: Callable[..., Any], tokens: np.ndarray, rate: float, rng: np.random.Generator, what: str) -> np.ndarray:
    """Call ``fn(tokens, rate, rng)`` and check what any word dropout must satisfy, whatever its randomness."""
    given = tokens.copy()
    got = _as_array(call_learner(fn, given, rate, rng), "an array of token ids")
    if got.shape != tokens.shape:
        raise CheckFailed(f"your result has shape {got.shape} {what}: expected {tokens.shape}, the input's shape")
    if not np.array_equal(given, tokens):
        raise CheckFailed("your function changed its input array in place: work on a copy (np.where returns one)")
    if got.dtype.kind not in "iub" and not np.array_equal(got, np.round(got)):
        raise CheckFailed(f"your result holds non-integer values {what}: expected token ids")
    if np.all(np.isin(got, (0, 1))) and (tokens > UNK).any():
        raise CheckFailed(f"you returned the mask itself {what} (only 0s and 1s): return the token ids, "
                          "with the dropped words replaced by <unk>")
    special = np.isin(tokens, (PAD, BOS, EOS))
    changed = got != tokens
    if (changed & special).any():
        which = {PAD: "<pad>", BOS: "<bos>", EOS: "<eos>"}[int(tokens[changed & special][0])]
        raise CheckFailed(f"{what} you replaced a {which}: special tokens must never be dropped")
    if (changed & (got != UNK)).any():
        raise CheckFailed(f"{what} a word became {int(got[changed & (got != UNK)][0])}: dropped words become <unk> (id {UNK})")
    return got


def check_word_dropout(fn: Callable[[np.ndarray, float, np.random.Generator], Any]) -> bool:
    """Check ``fn(tokens, rate, rng) -> tokens``: words become ``<unk>`` with probability ``rate``.

    ``<pad>``, ``<bos>`` and ``<eos>`` must never change; ``rate=0`` leaves everything as it
    is, ``rate=1`` replaces every word; the input array must not be modified in place. Each
    word is dropped on its own (no mask shared by the sentences, no whole sentences), the
    draws come from ``rng`` (the same generator state gives the same result, another one
    another result) and NumPy's global generator is left alone.
    """

    def body() -> str:
        tokens = _dropout_case()
        words = ~np.isin(tokens, (PAD, BOS, EOS))
        touched = False
        for rate in (0.0, 1.0, 0.3):
            with GlobalRandomState() as watch:
                got = _dropped(fn, tokens, rate, np.random.default_rng(0), f"at rate {rate}")
            touched |= watch.touched
            dropped = (got != tokens) & words
            frac = float(dropped[words].mean())
            if rate == 0.0 and frac > 0:
                flipped = " (did you drop words with probability 1 - rate?)" if frac == 1.0 else ""
                raise CheckFailed(f"at rate 0 you replaced {frac:.1%} of the words: rate 0 must leave them all{flipped}")
            if rate == 1.0 and frac < 1.0:
                raise CheckFailed(f"at rate 1 only {frac:.1%} of the words became <unk>: all of them should "
                                  "(drop where rng.random(...) < rate)")
            if rate == 0.3:
                _check_word_independence(dropped, words)
                tol = 5.0 * math.sqrt(rate * (1.0 - rate) / words.sum())  # five standard deviations
                if abs(frac - rate) > tol:
                    kept = " (did you keep words with probability rate?)" if abs(frac - (1 - rate)) < tol else ""
                    raise CheckFailed(f"at rate 0.3 you replaced {frac:.1%} of the words{kept}: expected about 30% "
                                      f"(within ±{tol:.1%} for {int(words.sum())} words)")
        check_seeded(lambda seed: _dropped(fn, tokens, 0.3, np.random.default_rng(seed), "at rate 0.3"), (5, 6),
                     touched=touched, same="two generators in the same state gave different results",
                     own="you drew from a generator of your own",
                     ignored="two generators with different seeds dropped the same words: your function ignores its rng",
                     advice="draw from the rng passed in, rng.random(tokens.shape)")
        return "specials kept, rate respected, words independent, rng used"

    return run_check("word_dropout", body)


def _check_word_independence(dropped: np.ndarray, words: np.ndarray) -> None:
    """No mask shared by the sentences, no sentence dropped as a whole."""
    per_sentence = dropped.sum(1) / np.maximum(words.sum(1), 1)
    if np.all((per_sentence == 0.0) | (per_sentence == 1.0)):
        raise CheckFailed("at rate 0.3 you dropped whole sentences: draw one random number per token, "
                          "rng.random(tokens.shape)")
    # Two words at the same position of two sentences are dropped together with probability
    # rate**2 when independent, with probability rate when they share one random number.
    both_words = words[1:] & words[:-1]
    frac = float(dropped[words].mean())
    together = float((dropped[1:] & dropped[:-1])[both_words].mean())
    if together > frac**2 + 0.05:  # over ~1,600 pairs the standard deviation is below 0.008
        raise CheckFailed(f"at rate 0.3 every sentence gets the same mask ({together:.2f} of same-position word pairs "
                          f"are dropped together, independent words give {frac**2:.2f}): draw rng.random(tokens.shape), "
                          "not one row for all sentences")
