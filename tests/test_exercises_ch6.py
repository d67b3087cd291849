"""The chapter 6 checkers accept right answers and name the typical wrong ones."""

from __future__ import annotations

import numpy as np
import pytest

from vaelib.exercises import ch6


def _verdict(capsys: pytest.CaptureFixture[str], check, fn) -> tuple[bool, str]:
    ok = check(fn)
    out = capsys.readouterr().out.strip()
    assert "\n" not in out, "a verdict is one line"
    return ok, out


def _stub(*args):
    raise NotImplementedError("your code here")


CHECKERS = [ch6.check_beta_objective, ch6.check_iwae_weights, ch6.check_active_units, ch6.check_one_hot]


@pytest.mark.parametrize("check", CHECKERS, ids=lambda c: c.__name__)
def test_raising_stub_is_reported_not_raised(capsys, check):
    ok, out = _verdict(capsys, check, _stub)
    assert not ok and out.endswith("your function raised NotImplementedError: your code here")
    assert out.startswith("✗ ")


# ---------------------------------------------------------------- beta objective

def test_beta_objective_accepts_right_answers(capsys):
    ok, out = _verdict(capsys, ch6.check_beta_objective, lambda ll, kl, b: np.mean(-ll + b * kl))
    assert ok and out.startswith("✓ beta_objective: correct")
    ok, _ = _verdict(capsys, ch6.check_beta_objective, lambda ll, kl, b: -(ll - b * kl).mean())
    assert ok


BETA_WRONG = {
    "beta on likelihood": (lambda ll, kl, b: np.mean(-b * ll + kl), "beta weighs the KL (the rate)"),
    "no minus": (lambda ll, kl, b: np.mean(ll - b * kl), "the loss to minimise is its negative"),
    "kl sign": (lambda ll, kl, b: np.mean(-ll - b * kl), "enters the loss as +beta * kl"),
    "sum": (lambda ll, kl, b: np.sum(-ll + b * kl), "average over the batch instead of summing"),
    "divide": (lambda ll, kl, b: np.mean(-ll + kl / b), "do not divide"),
    "per example": (lambda ll, kl, b: -ll + b * kl, "return one number"),
    "no beta": (lambda ll, kl, b: np.mean(-ll + kl), "beta is missing"),
    "unknown": (lambda ll, kl, b: np.mean(-ll + b * kl) + 1.0, "your result is "),
}


@pytest.mark.parametrize("name", sorted(BETA_WRONG))
def test_beta_objective_names_the_mistake(capsys, name):
    fn, hint = BETA_WRONG[name]
    ok, out = _verdict(capsys, ch6.check_beta_objective, fn)
    assert not ok and out.startswith("✗ beta_objective: ") and hint in out
    assert "for beta=0.5" in out  # the first case is named


def test_beta_objective_gives_the_numbers(capsys):
    rng = np.random.default_rng(6)  # the checker's first case
    ll, kl = -rng.uniform(150.0, 400.0, 5), rng.uniform(5.0, 40.0, 5)
    _, out = _verdict(capsys, ch6.check_beta_objective, BETA_WRONG["beta on likelihood"][0])
    assert f"your result is {np.mean(-0.5 * ll + kl):.4f}" in out and f"expected {np.mean(-ll + 0.5 * kl):.4f}" in out


# ---------------------------------------------------------------- IWAE weights

def _softmax0(lw):
    e = np.exp(lw - lw.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def test_iwae_weights_accept_right_answers(capsys):
    ok, out = _verdict(capsys, ch6.check_iwae_weights, _softmax0)
    assert ok and out.startswith("✓ iwae_weights: correct")

    def via_logsumexp(lw):
        m = lw.max(axis=0)
        return np.exp(lw - (m + np.log(np.exp(lw - m).sum(axis=0))))

    ok, _ = _verdict(capsys, ch6.check_iwae_weights, via_logsumexp)
    assert ok


def _rowwise(lw):
    e = np.exp(lw - lw.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


IWAE_WRONG = {
    "naive exp": (lambda lw: np.exp(lw) / np.exp(lw).sum(axis=0), "subtract each example's largest log-weight"),
    "wrong axis": (_rowwise, "normalize over the k samples of each example (axis 0)"),
    "divide by k": (lambda lw: np.exp(lw) / lw.shape[0], "not by k"),
    "log weights": (lambda lw: np.log(_softmax0(lw)), "not their logarithm"),
    "unnormalized shifted": (lambda lw: np.exp(lw - lw.max(axis=0)), "still divide by the sum"),
    "whole array": (lambda lw: (lambda e: e / e.sum())(np.exp(lw - lw.max())), "you normalized over the whole array"),
    "sign": (lambda lw: _softmax0(-lw), "the sign is flipped"),
    "normalized logs": (lambda lw: lw / lw.sum(axis=0), "you normalized the log-weights themselves"),
    "transposed": (lambda lw: _softmax0(lw).T, "(transpose it?)"),
}


@pytest.mark.parametrize("name", sorted(IWAE_WRONG))
def test_iwae_weights_name_the_mistake(capsys, name):
    fn, hint = IWAE_WRONG[name]
    ok, out = _verdict(capsys, ch6.check_iwae_weights, fn)
    assert not ok and out.startswith("✗ iwae_weights: ") and hint in out


def test_naive_softmax_is_reported_on_the_image_sized_case(capsys):
    _, out = _verdict(capsys, ch6.check_iwae_weights, IWAE_WRONG["naive exp"][0])
    assert "NaN or inf for image-sized log-weights of shape (6, 4)" in out


# ---------------------------------------------------------------- active units

def test_active_units_accepts_right_answers(capsys):
    ok, out = _verdict(capsys, ch6.check_active_units, lambda mu, lv, t: int(np.sum(mu.var(axis=0) > t)))
    assert ok and out.startswith("✓ active_units: correct")
    ok, _ = _verdict(capsys, ch6.check_active_units,
                     lambda mu, lv, t: np.count_nonzero(((mu - mu.mean(0)) ** 2).mean(0) > t))
    assert ok


AU_WRONG = {
    "logvar": (lambda mu, lv, t: int(np.sum(lv.var(axis=0) > t)), "not the log-variance", "your count is 2 "),
    "per example": (lambda mu, lv, t: int(np.sum(mu.var(axis=1) > t)), "over the examples (axis 0)", "your count is 60 "),
    "std": (lambda mu, lv, t: int(np.sum(mu.std(axis=0) > t)), "not its standard deviation", "your count is 7 "),
    "inactive": (lambda mu, lv, t: int(np.sum(mu.var(axis=0) <= t)), "number of inactive units", "your count is 3 "),
    "mask": (lambda mu, lv, t: mu.var(axis=0) > t, "return the number of active units", "array of shape (8,)"),
    "squared mean": (lambda mu, lv, t: int(np.sum(mu.mean(axis=0) ** 2 > t)), "not its squared mean", "your count is 8 "),
    "posterior variance": (lambda mu, lv, t: int(np.sum(np.exp(lv).mean(axis=0) < 1 - t)),
                           "not how small the posterior variance is", "your count is 6 "),
    "no axis": (lambda mu, lv, t: int(mu.var() > t), "mu.var() without an axis", "your count is 1 "),
    "unknown": (lambda mu, lv, t: int(np.sum(mu.var(axis=0) > t)) + 1, "expected 5", "your count is 6 "),
}


@pytest.mark.parametrize("name", sorted(AU_WRONG))
def test_active_units_names_the_mistake(capsys, name):
    fn, hint, number = AU_WRONG[name]
    ok, out = _verdict(capsys, ch6.check_active_units, fn)
    assert not ok and out.startswith("✗ active_units: ") and hint in out and number in out, out
    if name == "unknown":
        assert "Hint" not in out  # a count that no slip explains on every case gets no guess
    if name != "mask":
        assert "expected 5" in out


# ---------------------------------------------------------------- one-hot

def test_one_hot_accepts_right_answers(capsys):
    ok, out = _verdict(capsys, ch6.check_one_hot, lambda y, c: np.eye(c)[y])
    assert ok and out.startswith("✓ one_hot: correct")
    ok, _ = _verdict(capsys, ch6.check_one_hot, lambda y, c: (y[:, None] == np.arange(c)).astype(int))
    assert ok


ONE_HOT_WRONG = {
    "transposed": (lambda y, c: np.eye(c)[y].T, "one row per label (transpose it)"),
    "max plus one": (lambda y, c: np.eye(y.max() + 1)[y], "not labels.max() + 1"),
    "off by one": (lambda y, c: np.eye(c)[y - 1], "not y - 1"),
    "inverted": (lambda y, c: 1 - np.eye(c)[y], "not the reverse"),
    "plus one": (lambda y, c: np.eye(c)[(y + 1) % c], "not y + 1"),
    "class counts": (lambda y, c: np.eye(c)[y].sum(axis=0), "that looks like class counts"),
    "labels unchanged": (lambda y, c: y, "turn each label into a row"),
    "number of labels": (lambda y, c: np.eye(len(y))[y % len(y)], "not the number of labels"),
    "unknown": (lambda y, c: np.eye(c)[y] * 2, "your result is 2.0000"),
}


@pytest.mark.parametrize("name", sorted(ONE_HOT_WRONG))
def test_one_hot_names_the_mistake(capsys, name):
    fn, hint = ONE_HOT_WRONG[name]
    ok, out = _verdict(capsys, ch6.check_one_hot, fn)
    assert not ok and out.startswith("✗ one_hot: ") and hint in out and "labels=[3, 0, 7, 7, 1]" in out
