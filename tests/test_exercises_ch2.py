"""The chapter 2 checkers accept a correct answer and diagnose the usual wrong ones."""

from __future__ import annotations

import numpy as np
import pytest

from vaelib.exercises import ch2


def _verdict(check, fn, capsys) -> tuple[bool, str]:
    ok = check(fn)
    out = capsys.readouterr().out.strip()
    assert "\n" not in out, "a checker prints exactly one line"
    return ok, out


def _stub(*args):
    raise NotImplementedError("your code here")


# --- gaussian_kl -------------------------------------------------------------------------
def _kl(mu, logvar):
    return 0.5 * np.sum(mu**2 + np.exp(logvar) - 1.0 - logvar, axis=-1)


KL_WRONG = [
    (lambda m, lv: -_kl(m, lv), "your KL is negative for mu=0.3, logvar=-1.2: expected 0.2956 (the sign is flipped)"),
    (lambda m, lv: 2 * _kl(m, lv), "your KL is 0.5912 for mu=0.3, logvar=-1.2: expected 0.2956 (twice the expected"),
    (lambda m, lv: 0.5 * np.mean(m**2 + np.exp(lv) - 1.0 - lv, axis=-1), "averaged over the latent dimensions"),
    (lambda m, lv: 0.5 * np.sum(m**2 + np.exp(2 * lv) - 1.0 - 2 * lv, axis=-1), "treated logvar as log σ"),
    (lambda m, lv: 0.5 * np.sum(m**2 + np.exp(lv / 2) - 1.0 - lv, axis=-1), "needs the variance σ² = exp(logvar)"),
    (lambda m, lv: 0.5 * np.sum(m**2 + np.exp(lv) - lv, axis=-1), "the '-1' inside the sum is missing"),
    (lambda m, lv: 0.5 * np.sum(m**2 + np.exp(lv) - 1.0 - lv, axis=1), "expected shape (2, 3), one KL per example"),
    (lambda m, lv: _kl(m, lv).mean(), "your result has shape (): expected shape (1,)"),
    (lambda m, lv: 0.5 * np.sum(m**2 + lv - 1.0 - np.log(lv), axis=-1), "your KL is nan for mu=0.3, logvar=-1.2"),
    (lambda m, lv: 0.5 * np.sum(np.exp(lv) - 1.0 - lv, axis=-1), "the mu² term is missing"),
    (lambda m, lv: 0.5 * np.sum(m**2 + np.exp(lv) - 1.0 + lv, axis=-1), "the logvar term has the wrong sign"),
    (lambda m, lv: 0.5 * np.sum((1 + m**2) / np.exp(lv) - 1.0 + lv, axis=-1), "that is KL(p || q), the reverse direction"),
    (lambda m, lv: _kl(m, lv) + 0.01, "your KL is 0.3056 for mu=0.3, logvar=-1.2: expected 0.2956"),
]


def test_gaussian_kl_accepts_numpy_and_torch(capsys):
    torch = pytest.importorskip("torch")
    assert _verdict(ch2.check_gaussian_kl, _kl, capsys) == (
        True, "✓ gaussian_kl: correct (4 cases, including a batch of shape (2, 3, 4))")

    def torch_kl(mu, logvar):
        mu, logvar = torch.as_tensor(mu, dtype=torch.float32), torch.as_tensor(logvar, dtype=torch.float32)
        return 0.5 * (mu**2 + logvar.exp() - 1 - logvar).sum(-1)

    assert _verdict(ch2.check_gaussian_kl, torch_kl, capsys)[0]


# --- importance_estimate -----------------------------------------------------------------
def logsumexp(log_w, axis):
    return np.logaddexp.reduce(log_w, axis=axis)


def _lme(log_w):
    return logsumexp(log_w, axis=-1) - np.log(log_w.shape[-1])


IS_WRONG = [
    (lambda lw: np.log(np.mean(np.exp(lw), axis=-1)),
     "your estimate is inf for log-weights [1000., 1001.,  999.]: expected 1000.3090 (exp overflows"),
    (lambda lw: logsumexp(lw, axis=-1), "your estimate is 1.3863 for log-weights [0.   , 1.099]: expected 0.6931 "
                                        "(that is log Σ_k w_k: the estimator averages the K=2 weights"),
    (lambda lw: np.mean(lw, axis=-1), "that is the mean of the log-weights, an ELBO estimate"),
    (lambda lw: np.max(lw, axis=-1), "that is the largest log-weight alone"),
    (lambda lw: logsumexp(lw, axis=0) - np.log(lw.shape[0]), "expected shape (1,), one estimate per example"),
]


def _half_stable(lw):
    # shifts only to avoid overflow, so very negative log-weights still underflow to -inf
    m = np.maximum(np.max(lw, axis=-1, keepdims=True), 0.0)
    return np.squeeze(m, -1) + np.log(np.mean(np.exp(lw - m), axis=-1))


def _no_add_back(lw):
    m = np.max(lw, axis=-1, keepdims=True)
    return np.log(np.mean(np.exp(lw - m), axis=-1))


def _global_max(lw):
    m = np.max(lw)  # one maximum for the whole batch: the other examples' weights underflow
    return m + np.log(np.mean(np.exp(lw - m), axis=-1))


IS_WRONG += [
    (_no_add_back, "did not add it back after the log"),
    (lambda lw: logsumexp(lw, axis=-1) - lw.shape[-1], "you subtracted K=2 itself"),
    (lambda lw: _lme(lw) / np.log(10), "you used log base 10"),
    (_global_max, "subtract each example's largest log-weight (axis=-1, keepdims=True)"),
]
IS_WRONG.append((_half_stable, "your estimate is -inf for log-weights [-1000., -1001., -1002.]: expected -1000.6910"))


# --- ppca_log_likelihood -----------------------------------------------------------------
def _ppca_parts(x, w, mu, sigma2):
    cov = w @ w.T + sigma2 * np.eye(len(mu))
    diff = x - mu
    return cov, diff, np.linalg.slogdet(cov)[1], np.sum(diff * np.linalg.solve(cov, diff.T).T, axis=-1)


def _ppca(x, w, mu, sigma2):
    _, _, logdet, quad = _ppca_parts(x, w, mu, sigma2)
    return -0.5 * (len(mu) * np.log(2 * np.pi) + logdet + quad)


def _times_cov(x, w, mu, s2):
    cov, diff, logdet, _ = _ppca_parts(x, w, mu, s2)
    return -0.5 * (len(mu) * np.log(2 * np.pi) + logdet + np.sum(diff * (diff @ cov), axis=-1))


PPCA_WRONG = [
    (lambda x, w, mu, s2: _ppca(x, w, mu, s2**2), "expected -5.0033 (sigma2 is already the variance σ²"),
    (lambda x, w, mu, s2: _ppca(x, w, mu, np.sqrt(s2)), "not its square root"),
    (lambda x, w, mu, s2: _ppca(x, w, mu, s2) + 0.5 * len(mu) * np.log(2 * np.pi), "-(D/2) log(2π) is missing"),
    (lambda x, w, mu, s2: _ppca(x, w, mu, s2) - 0.5 * _ppca_parts(x, w, mu, s2)[2], "-½ log det C: the ½ is missing"),
    (lambda x, w, mu, s2: _ppca(x, w, mu, s2) - 0.5 * _ppca_parts(x, w, mu, s2)[3], "the quadratic term is -½"),
    (lambda x, w, mu, s2: _ppca(x, w, mu, s2).sum(), "one log-likelihood per row of x"),
    (lambda x, w, mu, s2: _ppca(x, w, mu, 0.0), "your function raised LinAlgError"),
    (_times_cov, "the precision, not C (x-μ)"),
    (lambda x, w, mu, s2: _ppca(x, w, np.zeros_like(mu), s2), "you did not subtract mu"),
    (lambda x, w, mu, s2: -_ppca(x, w, mu, s2), "the sign is flipped"),
    (lambda x, w, mu, s2: _ppca(x, 0 * w, mu, s2), "the W Wᵀ part is missing"),
]


# --- all checkers: the correct answer passes, each typical mistake gets its diagnosis ---
@pytest.mark.parametrize("check, fn, verdict", [
    (ch2.check_importance_estimate, _lme, "✓ importance_estimate: correct (4 cases, including log-weights near ±1000)"),
    (ch2.check_ppca_log_likelihood, _ppca, "✓ ppca_log_likelihood: correct (3 cases, D up to 8, M up to 3)"),
])
def test_correct_answer_passes(check, fn, verdict, capsys):
    assert _verdict(check, fn, capsys) == (True, verdict)


@pytest.mark.parametrize("check, name, wrong, diagnostic", [
    *[(ch2.check_gaussian_kl, "gaussian_kl", w, d) for w, d in KL_WRONG],
    *[(ch2.check_importance_estimate, "importance_estimate", w, d) for w, d in IS_WRONG],
    *[(ch2.check_ppca_log_likelihood, "ppca_log_likelihood", w, d) for w, d in PPCA_WRONG],
])
def test_typical_mistake_is_diagnosed(check, name, wrong, diagnostic, capsys):
    ok, out = _verdict(check, wrong, capsys)
    assert not ok
    assert out.startswith(f"✗ {name}: ")
    assert diagnostic in out


# --- every checker reports a raising stub and returns False ------------------------------
@pytest.mark.parametrize("check, name", [
    (ch2.check_gaussian_kl, "gaussian_kl"),
    (ch2.check_importance_estimate, "importance_estimate"),
    (ch2.check_ppca_log_likelihood, "ppca_log_likelihood"),
])
def test_stub_is_reported_not_raised(check, name, capsys):
    assert _verdict(check, _stub, capsys) == (
        False, f"✗ {name}: your function raised NotImplementedError: your code here")


@pytest.mark.parametrize("result, diagnostic", [
    ("zero", "your function returned str 'zero', expected an array with one KL per example"),
    (None, "your function returned None (is `return` missing?), expected an array with one KL per example"),
])
def test_non_numeric_result_is_reported(result, diagnostic, capsys):
    ok, out = _verdict(ch2.check_gaussian_kl, lambda m, lv: result, capsys)
    assert not ok and diagnostic in out
