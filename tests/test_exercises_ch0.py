"""The preface's checkers accept correct answers and name the typical mistakes."""

import math

import numpy as np

from vaelib.exercises import ch0


def test_bits_per_dim(capsys):
    assert ch0.check_bits_per_dim(lambda nll, d: nll / (d * math.log(2)))
    assert "✓ bits_per_dim: correct" in capsys.readouterr().out
    assert not ch0.check_bits_per_dim(lambda nll, d: nll * math.log(2) / d)
    assert "divide by ln 2" in capsys.readouterr().out
    assert not ch0.check_bits_per_dim(lambda nll, d: nll / math.log(2))
    assert "divide by num_dims too" in capsys.readouterr().out
    assert not ch0.check_bits_per_dim(lambda nll, d: -nll / (d * math.log(2)))
    assert "the sign is flipped" in capsys.readouterr().out


def test_sigma_from_logvar(capsys):
    assert ch0.check_sigma_from_logvar(lambda lv: np.exp(0.5 * lv))
    assert not ch0.check_sigma_from_logvar(np.exp)
    assert "exp(logvar) is the variance" in capsys.readouterr().out
    assert not ch0.check_sigma_from_logvar(lambda lv: 0.5 * lv)
    assert "expected" in capsys.readouterr().out


def test_a_raising_stub_is_reported(capsys):
    def stub(*args):
        raise NotImplementedError("your code here")

    assert not ch0.check_bits_per_dim(stub)
    assert "your function raised NotImplementedError: your code here" in capsys.readouterr().out
