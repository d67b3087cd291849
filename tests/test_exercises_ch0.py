"""The preface's checkers accept correct answers and name the typical mistakes."""

import math

import numpy as np
import pytest

from test_exercises_ch2 import _stub, _verdict  # one verdict helper for every chapter's checkers
from vaelib.exercises import ch0


# --- bits per dimension --------------------------------------------------------------------
@pytest.mark.parametrize("fn", [lambda nll, d: nll / (d * math.log(2)), lambda nll, d: np.float32(nll / d / np.log(2)),
                                lambda nll, d: math.log2(math.exp(nll / d)) if nll / d < 700 else nll / d / math.log(2)])
def test_bits_per_dim_accepts_correct_answers(fn, capsys):
    assert _verdict(ch0.check_bits_per_dim, fn, capsys) == (True, "✓ bits_per_dim: correct")


BITS_MISTAKES = [
    ("times ln 2", lambda n, d: n * math.log(2) / d, "you multiplied by ln 2: a nat is 1/ln 2 bits, so divide by ln 2"),
    ("per image", lambda n, d: n / math.log(2), "that is bits per image: divide by num_dims too"),
    ("sign", lambda n, d: -n / (d * math.log(2)), "the sign is flipped"),
    ("nats per dim", lambda n, d: n / d, "that is nats per dimension"),
    ("log10", lambda n, d: n / (d * math.log10(2)), "you divided by log10(2)"),
    ("times dims", lambda n, d: n * d / math.log(2), "you multiplied by num_dims"),
    ("log2 of nll", lambda n, d: math.log2(n) / d, "you took log2 of the NLL"),
    ("inverted", lambda n, d: d / (n * math.log(2)), "turn the fraction round"),
    ("unknown", lambda n, d: n / (d * math.log(2)) + 0.01,
     "your result is 0.4516 for nll=240.0 nats, num_dims=784: expected 0.4416"),
]


@pytest.mark.parametrize("name, fn, message", BITS_MISTAKES, ids=[m[0] for m in BITS_MISTAKES])
def test_bits_per_dim_names_the_mistake(name, fn, message, capsys):
    ok, out = _verdict(ch0.check_bits_per_dim, fn, capsys)
    assert not ok and out.startswith("✗ bits_per_dim: ") and message in out, out


def test_bits_per_dim_reports_the_numbers(capsys):
    _, out = _verdict(ch0.check_bits_per_dim, BITS_MISTAKES[0][1], capsys)
    # the case where the answer is furthest off is named, with both numbers
    assert f"your result is {3.2 * math.log(2):.4f} for nll=3.2 nats, num_dims=1: expected {3.2 / math.log(2):.4f}" in out


# --- sigma from logvar -----------------------------------------------------------------------
@pytest.mark.parametrize("fn", [lambda lv: np.exp(0.5 * lv), lambda lv: np.sqrt(np.exp(lv)), lambda lv: list(np.exp(lv / 2))])
def test_sigma_from_logvar_accepts_correct_answers(fn, capsys):
    assert _verdict(ch0.check_sigma_from_logvar, fn, capsys) == (True, "✓ sigma_from_logvar: correct")


SIGMA_MISTAKES = [
    ("variance", np.exp, "exp(logvar) is the variance; sigma is its square root"),
    ("inverse", lambda lv: np.exp(-0.5 * lv), "that is 1/sigma"),
    ("no exp", lambda lv: 0.5 * lv, "that is log sigma: exponentiate it"),
    ("doubled", lambda lv: np.exp(2 * lv), "that is sigma^4"),
    ("halved variance", lambda lv: np.exp(lv) / 2, "you halved the variance"),
    ("sqrt of abs", lambda lv: np.sqrt(np.abs(lv)), "not a square root of logvar"),
    ("sqrt", np.sqrt, "your sigma is nan for logvar=-2: expected 0.3679 (logvar is a log and can be negative"),
    ("identity", lambda lv: lv, "that is logvar itself"),
    ("math.exp", lambda lv: math.exp(0.5 * lv), "use np.exp and np.log on arrays"),
    ("one number", lambda lv: float(np.exp(0.5 * lv).sum()), "expected shape (4,), one sigma per entry of logvar"),
    ("unknown", lambda lv: np.exp(0.5 * lv) + np.array([0, 0, 0.1, 0]), "expected 2.1170 (1 of 4 entries differ)"),
]


@pytest.mark.parametrize("name, fn, message", SIGMA_MISTAKES, ids=[m[0] for m in SIGMA_MISTAKES])
def test_sigma_from_logvar_names_the_mistake(name, fn, message, capsys):
    ok, out = _verdict(ch0.check_sigma_from_logvar, fn, capsys)
    assert not ok and out.startswith("✗ sigma_from_logvar: ") and message in out, out


@pytest.mark.parametrize("check", [ch0.check_bits_per_dim, ch0.check_sigma_from_logvar])
def test_a_raising_stub_is_reported(check, capsys):
    ok, out = _verdict(check, _stub, capsys)
    assert not ok and "your function raised NotImplementedError: your code here" in out
