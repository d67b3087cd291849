"""The chapter 3 checkers accept right answers and name the typical wrong ones."""

from __future__ import annotations

import numpy as np
import pytest

from vaelib.exercises import ch3


def _verdict(capsys: pytest.CaptureFixture[str], check, fn) -> tuple[bool, str]:
    ok = check(fn)
    out = capsys.readouterr().out.strip()
    assert "\n" not in out, "a verdict is one line"
    return ok, out


def _stub(*args):
    raise NotImplementedError("your code here")


# ---------------------------------------------------------------- reparameterize

REPARAM_WRONG = {
    "variance": (lambda mu, lv, eps: mu + np.exp(lv) * eps, "exp(logvar) is the variance"),
    "logvar as sigma": (lambda mu, lv, eps: mu + lv * eps, "logvar is log(sigma^2), not sigma"),
    "no exp": (lambda mu, lv, eps: mu + 0.5 * lv * eps, "exponentiate it"),
    "no mu": (lambda mu, lv, eps: np.exp(0.5 * lv) * eps, "the location mu is missing"),
    "fresh noise": (lambda mu, lv, eps: mu + np.exp(0.5 * lv) * np.random.standard_normal(mu.shape),
                    "different results for the same inputs for mu=array of shape (4,)"),
    "seeded own noise": (lambda mu, lv, eps: mu + np.exp(0.5 * lv) * np.random.default_rng(0).standard_normal(mu.shape),
                         "your result stays the same when eps changes"),
    "inverse sigma": (lambda mu, lv, eps: mu + np.exp(-0.5 * lv) * eps, "exp(-0.5*logvar) is 1/sigma"),
    "sqrt of logvar": (lambda mu, lv, eps: mu + np.sqrt(np.abs(lv)) * eps, "not a square root"),
    "minus": (lambda mu, lv, eps: mu - np.exp(0.5 * lv) * eps, "the noise is added"),
    "no eps": (lambda mu, lv, eps: mu + np.exp(0.5 * lv), "your result stays the same when eps changes"),
    "times mu": (lambda mu, lv, eps: mu * np.exp(0.5 * lv) * eps, "mu is added to sigma*eps, not multiplied"),
    "unknown": (lambda mu, lv, eps: mu + np.exp(0.5 * lv) * eps + 0.1, "your result is "),
    "dict": (lambda mu, lv, eps: {"z": mu}, "your function returned a dict with keys ['z']"),
}
NO_NUMBERS = {"fresh noise", "seeded own noise", "no eps", "dict"}  # verdicts that give no got/expected numbers


def test_reparameterize_accepts_numpy_and_torch_style_answers(capsys):
    ok, out = _verdict(capsys, ch3.check_reparameterize, lambda mu, lv, eps: mu + np.exp(0.5 * lv) * eps)
    assert ok and out.startswith("✓ reparameterize: correct")
    ok, _ = _verdict(capsys, ch3.check_reparameterize, lambda mu, lv, eps: mu + np.sqrt(np.exp(lv)) * eps)
    assert ok


@pytest.mark.parametrize("name", sorted(REPARAM_WRONG))
def test_reparameterize_names_the_mistake(capsys, name):
    fn, hint = REPARAM_WRONG[name]
    ok, out = _verdict(capsys, ch3.check_reparameterize, fn)
    assert not ok
    assert out.startswith("✗ reparameterize: ")
    assert hint in out
    if name not in NO_NUMBERS:  # the message gives the numbers: got, for which input, expected
        assert "your result is " in out and "expected " in out and "for mu=array of shape (4,)" in out


def test_reparameterize_gives_number_for_variance_mistake(capsys):
    rng = np.random.default_rng(3)  # the checker's first case, to recompute the expected number
    mu, lv, eps = rng.normal(0.0, 1.5, 4), rng.uniform(-2.5, 1.5, 4), rng.standard_normal(4)
    wrong, right = mu + np.exp(lv) * eps, mu + np.exp(0.5 * lv) * eps
    i = int(np.argmax(np.abs(wrong - right)))
    _, out = _verdict(capsys, ch3.check_reparameterize, REPARAM_WRONG["variance"][0])
    assert f"your result is {wrong[i]:.4f}" in out and f"expected {right[i]:.4f}" in out


def test_reparameterize_reports_stub_and_bad_shape(capsys):
    ok, out = _verdict(capsys, ch3.check_reparameterize, _stub)
    assert not ok and out == "✗ reparameterize: your function raised NotImplementedError: your code here"
    ok, out = _verdict(capsys, ch3.check_reparameterize, lambda mu, lv, eps: np.sum(mu + np.exp(0.5 * lv) * eps))
    assert not ok and "shape ()" in out and "expected shape (4,)" in out


# ---------------------------------------------------------------- score function

def _score_right(f, z, mu, sigma):
    fz = f(z)
    return np.mean(fz * (z - mu) / sigma**2), np.mean(fz * ((z - mu) ** 2 - sigma**2) / sigma**3)


def test_score_function_accepts_right_answer_in_several_containers(capsys):
    ok, out = _verdict(capsys, ch3.check_score_function_estimator, _score_right)
    assert ok and out.startswith("✓ score_function_estimator: correct")
    ok, _ = _verdict(capsys, ch3.check_score_function_estimator, lambda *a: np.array(_score_right(*a)))
    assert ok


@pytest.mark.parametrize("fn, hint", [
    (lambda f, z, mu, s: (np.mean((z - mu) / s**2), np.mean(((z - mu) ** 2 - s**2) / s**3)), "f is missing"),
    (lambda f, z, mu, s: tuple(-g for g in _score_right(f, z, mu, s)), "the sign is flipped"),
    (lambda f, z, mu, s: (np.mean(f(z) * (z - mu) / s), 0.0), "divide by sigma squared"),
    (lambda f, z, mu, s: (_score_right(f, z, mu, s)[0], np.mean(f(z) * (z - mu) ** 2 / s**3)),
     "the -1/sigma from the normalizer is missing"),
    (lambda f, z, mu, s: (np.sum(f(z) * (z - mu) / s**2), 0.0), "average over the samples instead of summing"),
    (lambda f, z, mu, s: (np.mean(f(z)) * np.mean((z - mu) / s**2), 0.0), "not the product of the two averages"),
    (lambda f, z, mu, s: (np.mean(f(z) * (z - mu)), 0.0), "the 1/sigma^2 is missing"),
    (lambda f, z, mu, s: (_score_right(f, z, mu, s)[0],) * 2, "you returned the mu-gradient twice"),
    (lambda f, z, mu, s: (_score_right(f, z, mu, s)[0], np.mean(f(z) * ((z - mu) ** 2 - s**2) / s**2)),
     "divide by sigma cubed"),
])
def test_score_function_names_the_mistake(capsys, fn, hint):
    ok, out = _verdict(capsys, ch3.check_score_function_estimator, fn)
    assert not ok and out.startswith("✗ score_function_estimator: your result is ")
    assert hint in out and "f(z)=(z-2)^2, mu=0.5, sigma=1.3, n=7 samples" in out


@pytest.mark.parametrize("fn, hint", [
    (lambda f, z, mu, s: _score_right(f, mu + s * np.random.standard_normal(z.shape), mu, s),
     "different results for the same inputs"),
    (lambda f, z, mu, s: _score_right(f, mu + s * np.random.default_rng(1).standard_normal(z.shape), mu, s),
     "your result stays the same when z changes"),
    (lambda f, z, mu, s: {"mu": 0.0, "sigma": 0.0}, "returned a dict with keys ['mu', 'sigma']"),
    (lambda f, z, mu, s: (1.0, 2.0, 3.0), "returned a tuple of 3 items"),
])
def test_score_function_names_ignored_samples_and_odd_results(capsys, fn, hint):
    ok, out = _verdict(capsys, ch3.check_score_function_estimator, fn)
    assert not ok and hint in out, out


def test_score_function_reports_stub_and_wrong_return(capsys):
    ok, out = _verdict(capsys, ch3.check_score_function_estimator, _stub)
    assert not ok and out.endswith("your function raised NotImplementedError: your code here")
    ok, out = _verdict(capsys, ch3.check_score_function_estimator, lambda f, z, mu, s: 1.0)
    assert not ok and "expected a pair" in out


# ---------------------------------------------------------------- pathwise

def _pathwise_right(df, mu, logvar, eps):
    std = np.exp(0.5 * logvar)
    dfz = df(mu + std * eps)
    return np.mean(dfz), np.mean(dfz * eps * 0.5 * std)


def test_pathwise_accepts_right_answer(capsys):
    ok, out = _verdict(capsys, ch3.check_pathwise_gradient, _pathwise_right)
    assert ok and out.startswith("✓ pathwise_gradient: correct")


def _pathwise_with(lv_grad):
    """A pathwise answer whose mu part is right and whose logvar part is lv_grad(dfz, eps, std)."""
    def fn(df, mu, logvar, eps):
        std = np.exp(0.5 * logvar)
        dfz = df(mu + std * eps)
        return np.mean(dfz), lv_grad(dfz, eps, std)
    return fn


@pytest.mark.parametrize("fn, hint", [
    (_pathwise_with(lambda dfz, eps, std: np.mean(dfz * eps)), "that is dz/dsigma"),
    (_pathwise_with(lambda dfz, eps, std: np.mean(dfz * eps * std)), "the factor 0.5 is missing"),
    (_pathwise_with(lambda dfz, eps, std: np.mean(dfz)), "the eps factor is missing"),
    (lambda df, mu, lv, eps: (np.mean(df(eps)), 0.0), "evaluate f' at z = mu + sigma*eps, not at eps"),
    (_pathwise_with(lambda dfz, eps, std: np.mean(dfz * eps * 0.5)), "the factor sigma = exp(0.5*logvar) is missing"),
    (_pathwise_with(lambda dfz, eps, std: -np.mean(dfz * eps * 0.5 * std)), "the sign is flipped"),
    (_pathwise_with(lambda dfz, eps, std: np.sum(dfz * eps * 0.5 * std)), "average over the samples instead of summing"),
    (lambda df, mu, lv, eps: (np.mean(df(mu + np.exp(lv) * eps)), 0.0), "not the variance exp(logvar)"),
    (lambda df, mu, lv, eps: (np.mean(df(mu + np.exp(0.5 * lv) * eps) * eps), 0.0), "dz/dmu = 1"),
])
def test_pathwise_names_the_mistake(capsys, fn, hint):
    ok, out = _verdict(capsys, ch3.check_pathwise_gradient, fn)
    assert not ok and out.startswith("✗ pathwise_gradient: your result is ")
    assert hint in out and "mu=0.3, logvar=-0.7, n=6" in out


def test_pathwise_missing_half_is_also_flagged_by_the_ratio(capsys):
    _, out = _verdict(capsys, ch3.check_pathwise_gradient,
                      _pathwise_with(lambda dfz, eps, std: np.mean(dfz * eps * std)))
    assert "twice the expected value" in out and "w.r.t. logvar" in out


def test_pathwise_names_ignored_noise(capsys):
    fixed = np.random.default_rng(2).standard_normal(6)
    ok, out = _verdict(capsys, ch3.check_pathwise_gradient, lambda df, mu, lv, eps: _pathwise_right(df, mu, lv, fixed))
    assert not ok and "your result stays the same when eps changes" in out


def test_pathwise_reports_stub(capsys):
    ok, out = _verdict(capsys, ch3.check_pathwise_gradient, _stub)
    assert not ok and out == "✗ pathwise_gradient: your function raised NotImplementedError: your code here"


def test_checkers_accept_torch_tensors(capsys):
    torch = pytest.importorskip("torch")
    ok, _ = _verdict(capsys, ch3.check_reparameterize,
                     lambda mu, lv, eps: torch.as_tensor(mu) + torch.exp(0.5 * torch.as_tensor(lv)) * torch.as_tensor(eps))
    assert ok
    ok, _ = _verdict(capsys, ch3.check_pathwise_gradient,
                     lambda *a: torch.tensor(_pathwise_right(*a), dtype=torch.float64))
    assert ok
