"""Every exercise checker answers an odd return value or a raising function with a one-line verdict."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from vaelib.exercises import ch0, ch1, ch2, ch3, ch4, ch5, ch6

CHECKERS = {
    "bits_per_dim": ch0.check_bits_per_dim,
    "sigma_from_logvar": ch0.check_sigma_from_logvar,
    "pca_projection": ch1.check_pca_projection,
    "reconstruction_loss": ch1.check_reconstruction_loss,
    "add_noise": ch1.check_add_noise,
    "gaussian_kl": ch2.check_gaussian_kl,
    "importance_estimate": ch2.check_importance_estimate,
    "ppca_log_likelihood": ch2.check_ppca_log_likelihood,
    "reparameterize": ch3.check_reparameterize,
    "score_function_estimator": ch3.check_score_function_estimator,
    "pathwise_gradient": ch3.check_pathwise_gradient,
    "elbo": ch4.check_elbo,
    "iwae_bound": ch4.check_iwae_bound,
    "interpolation": ch4.check_interpolation,
    "masked_nll": ch5.check_masked_nll,
    "kl_annealing (linear)": ch5.check_kl_annealing,
    "kl_annealing (logistic)": functools.partial(ch5.check_kl_annealing, kind="logistic"),
    "word_dropout": ch5.check_word_dropout,
    "beta_objective": ch6.check_beta_objective,
    "iwae_weights": ch6.check_iwae_weights,
    "active_units": ch6.check_active_units,
    "one_hot": ch6.check_one_hot,
}

# (what the learner's function returns, words the verdict must contain)
ODD_RETURNS = {
    "None": (None, "returned None (is `return` missing?)"),
    "string": ("todo", "returned str 'todo'"),
    "dict": ({"mu": 1.0, "sigma": 2.0}, "returned a dict with keys ['mu', 'sigma']"),
    "ragged list": ([[1.0], [1.0, 2.0]], "a list of 2 items"),
    "object": (object(), "returned object"),
    "function": (np.exp, "returned ufunc"),
    "NaN": (float("nan"), "nan"),
    "wrong length": ([0.5, 0.25, 0.125], "expected"),
    "complex": (np.array([1j, 2.0]), "complex"),
}


@pytest.mark.parametrize("odd", sorted(ODD_RETURNS))
@pytest.mark.parametrize("name", sorted(CHECKERS))
def test_an_odd_return_value_gets_a_verdict(name, odd, capsys):
    value, words = ODD_RETURNS[odd]
    ok = CHECKERS[name](lambda *args: value)
    out = capsys.readouterr().out.strip()
    assert ok is False
    assert "\n" not in out and out.startswith(f"✗ {name}: "), out
    assert "could not be checked" not in out, f"the checker itself tripped on {odd}: {out}"
    if odd in ("None", "string", "dict", "object", "function"):  # the verdict names what came back
        assert words in out, out


def _stub(*args):
    raise NotImplementedError("your code here")


@pytest.mark.parametrize("name", sorted(CHECKERS))
def test_a_raising_function_is_reported_not_raised(name, capsys):
    assert CHECKERS[name](_stub) is False
    out = capsys.readouterr().out.strip()
    assert out == f"✗ {name}: your function raised NotImplementedError: your code here"


@pytest.mark.parametrize("name", sorted(CHECKERS))
def test_a_tensor_that_requires_grad_is_converted(name, capsys):
    torch = pytest.importorskip("torch")
    CHECKERS[name](lambda *args: torch.ones(3, requires_grad=True))
    out = capsys.readouterr().out.strip()
    assert out.startswith(f"✗ {name}: ") and "could not be checked" not in out, out
