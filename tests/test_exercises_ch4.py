"""The chapter 4 checkers accept correct answers and diagnose the usual wrong ones."""

from __future__ import annotations

import numpy as np
import pytest

from vaelib.exercises import ch4
from test_exercises_ch2 import _stub, _verdict  # one verdict helper for every chapter's checkers


def _softplus(a):
    return np.logaddexp(0.0, a)


# --- elbo --------------------------------------------------------------------------------
def _log_lik(x, logits):
    return (x * logits - _softplus(logits)).reshape(len(x), -1).sum(1)


def _kl(mu, logvar):
    return 0.5 * np.sum(mu**2 + np.exp(logvar) - 1.0 - logvar, axis=-1)


def _elbo(x, logits, mu, logvar):
    return _log_lik(x, logits) - _kl(mu, logvar)


def _naive_elbo(x, logits, mu, logvar):
    p = 1.0 / (1.0 + np.exp(-logits))
    log_lik = (x * np.log(p) + (1 - x) * np.log(1 - p)).reshape(len(x), -1).sum(1)
    return log_lik - _kl(mu, logvar)


ELBO_WRONG = [
    (lambda x, l, m, v: (x * l - _softplus(l)).reshape(len(x), -1).mean(1) - _kl(m, v),
     "you averaged the log-likelihood over the 784 pixels"),
    (lambda x, l, m, v: _log_lik(x, l), "the KL term is missing"),
    (lambda x, l, m, v: _log_lik(x, l) + _kl(m, v), "the KL is added: the ELBO subtracts it"),
    (lambda x, l, m, v: -_elbo(x, l, m, v), "that is the loss, minus the ELBO"),
    (lambda x, l, m, v: _log_lik(x, l) - _kl(m, v) / m.shape[1], "you averaged the KL over the latent dimensions"),
    (lambda x, l, m, v: _elbo(x, l, m, v).mean(), "your result has shape (): expected shape (3,), one ELBO per example"),
    (_naive_elbo, "your ELBO is nan for example 0 of a batch of 2 (latent dim 3)"),
    (lambda x, l, m, v: -_log_lik(x, l) - _kl(m, v), "the binary cross-entropy is the NEGATIVE log-likelihood"),
    (lambda x, l, m, v: _log_lik(x, l) - 2 * _kl(m, v), "the KL is twice too large"),
    (lambda x, l, m, v: _log_lik(x, l).mean() - _kl(m, v), "you averaged the log-likelihood over the batch"),
    (lambda x, l, m, v: _elbo(x, l, m, v) + 1.0, "your ELBO is"),
]


def test_elbo_accepts_numpy_and_torch(capsys):
    assert _verdict(ch4.check_elbo, _elbo, capsys) == (True, "✓ elbo: correct (3 batches, including logits of ±40)")
    torch = pytest.importorskip("torch")

    def torch_elbo(x, logits, mu, logvar):
        x, logits, mu, logvar = (torch.as_tensor(a, dtype=torch.float32) for a in (x, logits, mu, logvar))
        log_lik = -torch.nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="none").sum((1, 2))
        return log_lik - 0.5 * (mu**2 + logvar.exp() - 1 - logvar).sum(-1)

    assert _verdict(ch4.check_elbo, torch_elbo, capsys)[0]


def test_elbo_names_the_stable_form_for_saturated_logits(capsys):
    _, out = _verdict(ch4.check_elbo, _naive_elbo, capsys)
    assert "compute the log-likelihood from the logits" in out


# --- iwae_bound --------------------------------------------------------------------------
def _lme0(a):
    return np.logaddexp.reduce(a, axis=0) - np.log(a.shape[0])


def _bound(log_lik, log_prior, log_q):
    return _lme0(log_lik + log_prior - log_q)


IWAE_WRONG = [
    (lambda ll, lp, lq: np.mean(ll + lp - lq, axis=0), "that is the average of the log-weights, the ELBO estimate"),
    (lambda ll, lp, lq: np.logaddexp.reduce(ll + lp - lq, axis=0), "subtract log k"),
    (lambda ll, lp, lq: _lme0(ll + lp + lq), "log q(z|x) must be subtracted"),
    (lambda ll, lp, lq: _lme0(ll - lq), "the prior log p(z) is missing"),
    (lambda ll, lp, lq: np.log(np.mean(np.exp(ll + lp - lq), axis=0)),
     "your bound is -inf for example 0 with k=200 samples"),
    (lambda ll, lp, lq: np.logaddexp.reduce(ll + lp - lq, axis=1) - np.log(ll.shape[1]),
     "the k samples are on axis 0"),
    (lambda ll, lp, lq: np.max(ll + lp - lq, axis=0), "that is the largest log-weight alone"),
    (lambda ll, lp, lq: (lambda w: np.log(np.mean(np.exp(w - w.max(0)), axis=0)))(ll + lp - lq),
     "did not add it back after the log"),
    (lambda ll, lp, lq: np.sum(ll + lp - lq, axis=0), "that is the sum of the log-weights"),
]


def test_iwae_bound_accepts_numpy_and_torch(capsys):
    assert _verdict(ch4.check_iwae_bound, _bound, capsys) == (
        True, "✓ iwae_bound: correct (3 cases, including log-weights near -800)")
    torch = pytest.importorskip("torch")

    def torch_bound(ll, lp, lq):
        log_w = torch.as_tensor(ll + lp - lq)
        return torch.logsumexp(log_w, 0) - np.log(log_w.shape[0])

    assert _verdict(ch4.check_iwae_bound, torch_bound, capsys)[0]


def test_iwae_bound_overflow_hint(capsys):
    _, out = _verdict(ch4.check_iwae_bound, IWAE_WRONG[4][0], capsys)
    assert "subtract the largest log-weight" in out


# --- interpolation -----------------------------------------------------------------------
def _interp(z0, z1, n):
    t = np.linspace(0, 1, n)[:, None]
    return (1 - t) * z0 + t * z1


INTERP_WRONG = [
    (lambda z0, z1, n: _interp(z0, z1, n).T, "your result has shape (2, 5) for n=5, D=2: expected (5, 2)"),
    (lambda z0, z1, n: _interp(z1, z0, n), "the path runs from z1 to z0"),
    (lambda z0, z1, n: z0 + np.arange(n)[:, None] / n * (z1 - z0), "the last point should be z1 itself"),
    (lambda z0, z1, n: z0 + np.arange(1, n + 1)[:, None] / n * (z1 - z0), "the first point should be z0 itself"),
    (lambda z0, z1, n: _interp(z0, z1, n + 1), "your result has shape (6, 2): expected shape (5, 2)"),
    (lambda z0, z1, n: np.sqrt(np.abs(_interp(z0, z1, n))), "your point is"),
    (lambda z0, z1, n: z0 + np.linspace(0, 1, n)[:, None] * z1, "without subtracting t z0"),
    (lambda z0, z1, n: np.linspace(0, 1, n)[:, None] * (z1 - z0), "the start z0 is missing"),
    (lambda z0, z1, n: ch4._slerp(z0, z1, np.linspace(0, 1, n)[:, None]), "that is spherical interpolation"),
    (lambda z0, z1, n: [list(p) for p in _interp(z0, z1, n)][:-1], "your result has shape (4, 2): expected shape (5, 2)"),
]


def test_interpolation_accepts_a_correct_answer(capsys):
    assert _verdict(ch4.check_interpolation, _interp, capsys) == (True, "✓ interpolation: correct (3 cases, D up to 20)")


# --- every checker ---------------------------------------------------------------------
WRONG = ([(ch4.check_elbo, fn, m) for fn, m in ELBO_WRONG] + [(ch4.check_iwae_bound, fn, m) for fn, m in IWAE_WRONG]
         + [(ch4.check_interpolation, fn, m) for fn, m in INTERP_WRONG])


@pytest.mark.parametrize("check,fn,message", WRONG, ids=[f"{c.__name__}-{m[:30]}" for c, _, m in WRONG])
def test_wrong_answers_are_diagnosed(check, fn, message, capsys):
    ok, out = _verdict(check, fn, capsys)
    assert not ok and out.startswith(f"✗ {check.__name__.removeprefix('check_')}: ")
    assert message in out


@pytest.mark.parametrize("check", [ch4.check_elbo, ch4.check_iwae_bound, ch4.check_interpolation])
def test_a_raising_stub_is_reported_not_raised(check, capsys):
    ok, out = _verdict(check, _stub, capsys)
    assert not ok
    assert "your function raised NotImplementedError: your code here" in out


@pytest.mark.parametrize("check", [ch4.check_elbo, ch4.check_iwae_bound, ch4.check_interpolation])
def test_a_non_numeric_answer_is_reported(check, capsys):
    ok, out = _verdict(check, lambda *a: "not numbers", capsys)
    assert not ok and "your function returned str" in out
