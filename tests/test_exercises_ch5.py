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
    (lambda s, w: min((s + 1) / w, 1.0), "expected 0.0000"),
    (_stub, "NotImplementedError"),
]


def test_linear_annealing_accepts_the_ramp(capsys):
    ok, out = _verdict(ch5.check_kl_annealing, lambda s, w: min(s / w, 1.0), capsys)
    assert ok and out.startswith("✓ kl_annealing (linear)")


@pytest.mark.parametrize("fn, message", LINEAR_WRONG)
def test_linear_annealing_diagnoses_mistakes(fn, message, capsys):
    ok, out = _verdict(ch5.check_kl_annealing, fn, capsys)
    assert not ok and message in out


def test_logistic_annealing(capsys):
    right = lambda s, m, k: 1 / (1 + math.exp(-k * (s - m)))  # noqa: E731
    assert _verdict(ch5.check_kl_annealing, right, capsys, kind="logistic")[0]
    ok, out = _verdict(ch5.check_kl_annealing, lambda s, m, k: 1 / (1 + math.exp(-k * s)), capsys, kind="logistic")
    assert not ok and "0.5 there" in out
    ok, out = _verdict(ch5.check_kl_annealing, lambda s, m, k: 1 / (1 + math.exp(k * (s - m))), capsys, kind="logistic")
    assert not ok and "expected" in out


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


DROPOUT_WRONG = [
    (_drops_specials, "special tokens must never be dropped"),
    (_in_place, "in place"),
    (_keeps_at_rate, "rate 0 must leave them all"),
    (_to_pad, "dropped words become <unk>"),
    (lambda t, r, g: t[:, 1:], "the input's shape"),
    (_stub, "NotImplementedError"),
]


def test_word_dropout_accepts_a_correct_answer(capsys):
    ok, out = _verdict(ch5.check_word_dropout, _dropout, capsys)
    assert ok and out.startswith("✓ word_dropout")


@pytest.mark.parametrize("fn, message", DROPOUT_WRONG)
def test_word_dropout_diagnoses_mistakes(fn, message, capsys):
    ok, out = _verdict(ch5.check_word_dropout, fn, capsys)
    assert not ok and message in out


def test_word_dropout_flags_a_wrong_rate(capsys):
    half = lambda t, r, g: _dropout(t, r / 2, g)  # noqa: E731
    ok, out = _verdict(ch5.check_word_dropout, half, capsys)
    assert not ok and "expected about 30%" in out
