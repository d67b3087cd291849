"""The chapter 5 checkers accept a correct answer and diagnose the usual wrong ones."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vaelib.exercises import ch5


def _verdict(check, fn, capsys, **kw) -> tuple[bool, str]:
    ok = check(fn, **kw)
    out = capsys.readouterr().out.strip()
    assert "\n" not in out, "a checker prints exactly one line"
    return ok, out


def _stub(*args):
    raise NotImplementedError("your code here")


# --- masked NLL --------------------------------------------------------------------------
def _picked(log_probs, targets):
    return np.take_along_axis(log_probs, targets[..., None], axis=-1)[..., 0]


def _nll(log_probs, targets, pad_id):
    return -(_picked(log_probs, targets) * (targets != pad_id)).sum(1)


NLL_WRONG = [
    (lambda lp, t, p: -_picked(lp, t).sum(1), "counted the padding"),
    (lambda lp, t, p: _nll(lp, t, p) / (t != p).sum(1), "averaged over the real tokens"),
    (lambda lp, t, p: _nll(lp, t, p) / t.shape[1], "averaged over the padded length"),
    (lambda lp, t, p: -_nll(lp, t, p), "the sign is flipped"),
    (lambda lp, t, p: _nll(lp, t, p).mean(), "one NLL per sentence"),
    (lambda lp, t, p: -(_picked(lp, t) * (t == p)).sum(1), "your mask is inverted"),
    (lambda lp, t, p: -(_picked(lp, t) * ((t != p) & (t != ch5.EOS))).sum(1), "you left out <eos>"),
    (lambda lp, t, p: -(lp.max(-1) * (t != p)).sum(1), "you used the most likely word"),
    (lambda lp, t, p: -(np.exp(_picked(lp, t)) * (t != p)).sum(1), "you exponentiated"),
    (lambda lp, t, p: _nll(lp, t, p) + 0.5, "for three sentences of 4, 2 and 5 tokens padded to 6"),
    (lambda lp, t, p: None, "your function returned None (is `return` missing?)"),
    (_stub, "your function raised NotImplementedError: your code here"),
]


def test_masked_nll_accepts_the_masked_sum(capsys):
    ok, out = _verdict(ch5.check_masked_nll, _nll, capsys)
    assert ok and out.startswith("✓ masked_nll")


@pytest.mark.parametrize("fn, message", NLL_WRONG)
def test_masked_nll_diagnoses_mistakes(fn, message, capsys):
    ok, out = _verdict(ch5.check_masked_nll, fn, capsys)
    assert not ok and out.startswith("✗ masked_nll") and message in out


# --- KL annealing ------------------------------------------------------------------------
LINEAR_WRONG = [
    (lambda s, w: s / w, "should stay at 1 after the warm-up"),
    (lambda s, w: min(s // w, 1), "integer division"),
    (lambda s, w: max(1 - s / w, 0.0), "the wrong way"),
    (lambda s, w: max(s / w, 1.0), "you clipped with max where min is needed"),
    (lambda s, w: min((s + 1) / w, 1.0), "your beta is 0.2510 at step 250 with warmup_steps=1000: expected 0.2500 (off by one"),
    (lambda s, w: min(100 * s / w, 100), "not a percentage"),
    (lambda s, w: s / w if s < w else 0.0, "it does not fall back to 0"),
    (lambda s, w: w / s, "ZeroDivisionError"),
    (lambda s, w: min(s / w, 1.0) + 0.1, "with warmup_steps=1000: expected 1.0000 (7 of 7 entries differ)"),
    (lambda s, w: np.minimum(np.arange(3) / w, 1),
     "your function returned an array of shape (3,) at step 0: expected one number"),
    (_stub, "NotImplementedError"),
]


def test_linear_annealing_accepts_the_ramp(capsys):
    ok, out = _verdict(ch5.check_kl_annealing, lambda s, w: min(s / w, 1.0), capsys)
    assert ok and out.startswith("✓ kl_annealing (linear)")


@pytest.mark.parametrize("fn, message", LINEAR_WRONG)
def test_linear_annealing_diagnoses_mistakes(fn, message, capsys):
    ok, out = _verdict(ch5.check_kl_annealing, fn, capsys)
    assert not ok and message in out


def _logistic(s, m, k):
    return 1 / (1 + math.exp(-k * (s - m)))


LOGISTIC_WRONG = [
    (lambda s, m, k: 1 / (1 + math.exp(-k * s)), "a logistic curve is 0.5 at the midpoint"),
    (lambda s, m, k: 1 / (1 + math.exp(k * (s - m))), "your beta falls as training goes on"),
    (lambda s, m, k: math.exp(k * (s - m)), "the 1 + is missing"),
    (lambda s, m, k: 1 + math.exp(-k * (s - m)), "take its reciprocal"),
    (lambda s, m, k: 1 / (1 + math.exp(-k * (s + m))), "that is step + midpoint"),
    (lambda s, m, k: 0.5 * (1 + math.tanh(k * (s - m))), "you doubled the steepness"),
    (lambda s, m, k: 1 / (1 + np.exp(-(s - m) / k)), "you divided by the steepness"),
    (lambda s, m, k: _logistic(s, m, k) ** 2,
     "your beta is 0.2500 at step 2500 (midpoint 2500, steepness 0.0025): expected 0.5000"),
    (lambda s, m, k: str(_logistic(s, m, k)), "your function returned str '0.5'"),
]


def test_logistic_annealing_accepts_the_curve(capsys):
    ok, out = _verdict(ch5.check_kl_annealing, _logistic, capsys, kind="logistic")
    assert ok and out == "✓ kl_annealing (logistic): correct (0.5 at the midpoint, 0 before, 1 after)"
    ok, _ = _verdict(ch5.check_kl_annealing, lambda s, m, k: 0.5 * (1 + math.tanh(k * (s - m) / 2)), capsys, kind="logistic")
    assert ok


@pytest.mark.parametrize("fn, message", LOGISTIC_WRONG)
def test_logistic_annealing_diagnoses_mistakes(fn, message, capsys):
    ok, out = _verdict(ch5.check_kl_annealing, fn, capsys, kind="logistic")
    assert not ok and out.startswith("✗ kl_annealing (logistic): ") and message in out, out


def test_kl_annealing_rejects_an_unknown_kind():
    with pytest.raises(ValueError, match="kind"):
        ch5.check_kl_annealing(lambda s, w: 0.0, kind="cosine")


# --- word dropout ------------------------------------------------------------------------
def _dropout(tokens, rate, rng):
    keep = np.isin(tokens, (ch5.PAD, ch5.BOS, ch5.EOS)) | (rng.random(tokens.shape) >= rate)
    return np.where(keep, tokens, ch5.UNK)


def _drops_specials(tokens, rate, rng):
    return np.where(rng.random(tokens.shape) < rate, ch5.UNK, tokens)


def _in_place(tokens, rate, rng):
    tokens[~np.isin(tokens, (0, 1, 2)) & (rng.random(tokens.shape) < rate)] = ch5.UNK
    return tokens


def _keeps_at_rate(tokens, rate, rng):
    return _dropout(tokens, 1 - rate, rng)


def _to_pad(tokens, rate, rng):
    return np.where(_dropout(tokens, rate, rng) == ch5.UNK, ch5.PAD, tokens)


def _global(tokens, rate, rng):
    return _dropout(tokens, rate, np.random)  # np.random.random is NumPy's global generator


def _reseeds_global(tokens, rate, rng):
    np.random.seed(0)
    return _global(tokens, rate, rng)


def _structured(shape_of):
    """Word dropout whose random numbers are drawn once per block of tokens, not per token."""
    def fn(tokens, rate, rng):
        keep = np.isin(tokens, (ch5.PAD, ch5.BOS, ch5.EOS)) | (rng.random(shape_of(tokens)) >= rate)
        return np.where(keep, tokens, ch5.UNK)
    return fn


DROPOUT_WRONG = [
    (_drops_specials, "special tokens must never be dropped"),
    (_in_place, "in place"),
    (_keeps_at_rate, "rate 0 must leave them all (did you drop words with probability 1 - rate?)"),
    (_to_pad, "dropped words become <unk>"),
    (lambda t, r, g: t[:, 1:], "the input's shape"),
    (lambda t, r, g: _dropout(t, r, np.random.default_rng()), "you drew from a generator of your own"),
    (lambda t, r, g: _dropout(t, r, np.random.default_rng(0)), "your function ignores its rng"),
    (_global, "two generators in the same state gave different results: you drew from NumPy's global generator"),
    (_reseeds_global, "your function used NumPy's global generator"),
    (_structured(lambda t: t.shape[1:]), "every sentence gets the same mask"),
    (_structured(lambda t: (len(t), 1)), "you dropped whole sentences"),
    (lambda t, r, g: _dropout(t, r / 2, g), "at rate 1 only"),
    (lambda t, r, g: _dropout(t, min(1.3 * r, 1.0), g), "at rate 0.3 you replaced 39"),
    (lambda t, r, g: (g.random(t.shape) >= r) * 1, "you returned the mask itself"),
    (lambda t, r, g: _dropout(t, r, g) + 0.5, "non-integer values"),
    (_stub, "NotImplementedError"),
]


def test_word_dropout_accepts_a_correct_answer(capsys):
    ok, out = _verdict(ch5.check_word_dropout, _dropout, capsys)
    assert ok and out.startswith("✓ word_dropout")


def test_word_dropout_accepts_other_correct_routes(capsys):
    def with_binomial(tokens, rate, rng):
        drop = rng.binomial(1, rate, size=tokens.shape).astype(bool) & ~np.isin(tokens, (0, 1, 2))
        out = tokens.copy()
        out[drop] = ch5.UNK
        return out.tolist()

    assert _verdict(ch5.check_word_dropout, with_binomial, capsys)[0]


@pytest.mark.parametrize("fn, message", DROPOUT_WRONG)
def test_word_dropout_diagnoses_mistakes(fn, message, capsys):
    ok, out = _verdict(ch5.check_word_dropout, fn, capsys)
    assert not ok and out.startswith("✗ word_dropout: ") and message in out, out


def test_word_dropout_leaves_the_global_generator_as_it_was(capsys):
    np.random.seed(42)
    expected = np.random.random(3)
    np.random.seed(42)
    _verdict(ch5.check_word_dropout, _reseeds_global, capsys)
    assert np.array_equal(np.random.random(3), expected)
