"""Auto-checks for chapter 3, the reparameterization trick (framework-free).

Every checker hands the learner's function NumPy float64 arrays, so the learner writes
NumPy (``np.exp``, ``np.mean``); a returned torch or TensorFlow tensor is accepted too.
Each checker compares with the reference on fixed random cases, and when the answer is
wrong it tries the usual mistakes in turn to say which one was made.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from vaelib.exercises._report import CheckFailed, _to_numpy, call_learner, describe_value, expect_close, run_check, to_numbers

__all__ = ["check_reparameterize", "check_score_function_estimator", "check_pathwise_gradient"]

# A known mistake: (what the learner's answer would then be, the hint that names it).
Mistake = tuple[np.ndarray, str]


def _expect(got: Any, expected: np.ndarray, what: str, mistakes: Sequence[Mistake], *,
            rtol: float = 1e-6, atol: float = 1e-8) -> None:
    """Like :func:`expect_close`, but name the first known mistake the answer matches."""
    try:
        expect_close(got, expected, what, rtol=rtol, atol=atol)
    except CheckFailed as failure:
        try:
            got_arr = to_numbers(got, "numbers")
        except CheckFailed:
            raise failure from None
        for wrong, hint in mistakes:
            if got_arr.shape == np.shape(wrong) and np.allclose(got_arr, wrong, rtol=1e-5, atol=1e-7):
                raise CheckFailed(f"{failure}. {hint}") from None
        raise


def _two_numbers(got: Any, what: str) -> tuple[Any, Any]:
    """Split the learner's ``(grad_mu, grad_other)`` result, or say why it cannot."""
    if hasattr(got, "detach") or hasattr(got, "numpy"):  # a tensor of 2 numbers
        got = _to_numpy(got)
    expected = "expected a pair (gradient w.r.t. mu, gradient w.r.t. the scale parameter)"
    if got is None or isinstance(got, (str, bytes, dict)):
        raise CheckFailed(f"your function returned {describe_value(got)} {what}: {expected}")
    try:
        first, second = got
    except Exception:  # not a pair: a number, a longer sequence, an object
        raise CheckFailed(f"your function returned {describe_value(got)} {what}: {expected}") from None
    return first, second


def _same_result(fn: Callable[..., Any], args: tuple, other_args: tuple, what: str, noise: str,
                 pair: bool = False) -> Any:
    """The learner's result on ``args``, after checking that it is repeatable and depends on ``noise``.

    ``other_args`` are ``args`` with the noise argument changed; a result that differs between
    two identical calls draws noise of its own, a result that does not change with the noise
    ignores it. With ``pair``, only a result of two numbers is examined (the pair check names others).
    """
    got = call_learner(fn, *args)
    try:
        first = to_numbers(got, "numbers")
        again = to_numbers(call_learner(fn, *args), "numbers")
        other = to_numbers(call_learner(fn, *other_args), "numbers")
    except CheckFailed:
        return got  # let the comparison name the odd value
    if pair and first.shape != (2,):
        return got
    if first.shape == again.shape and not np.array_equal(first, again):
        raise CheckFailed(f"your function returned different results for the same inputs {what}: "
                          f"use the {noise} passed in instead of drawing fresh noise")
    if first.shape == other.shape and np.array_equal(first, other) and first.size and np.all(np.isfinite(first)):
        raise CheckFailed(f"your result stays the same when {noise} changes {what}: use the {noise} passed in")
    return got


def _fmt(x: np.ndarray | float) -> str:
    """Short text for an input value in a verdict."""
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 0:
        return f"{float(arr):.3g}"
    flat = ", ".join(f"{v:.3g}" for v in arr.ravel()[:3])
    return f"array of shape {arr.shape} starting [{flat}{', ...' if arr.size > 3 else ''}]"


# ----------------------------------------------------------------------------------------
# z = mu + exp(0.5 * logvar) * eps
# ----------------------------------------------------------------------------------------

def check_reparameterize(fn: Callable[[np.ndarray, np.ndarray, np.ndarray], Any]) -> bool:
    """Check ``fn(mu, logvar, eps) -> z``, the reparameterized Gaussian sample.

    The reference is ``z = mu + exp(0.5 * logvar) * eps`` elementwise. The cases have shapes
    ``(4,)``, ``(3, 2)`` and ``(5, 3)``.

    Parameters
    ----------
    fn : callable
        The learner's function; receives NumPy float64 arrays of one shape.

    Returns
    -------
    bool
        True when every case matches to relative 1e-6; a one-line verdict is printed.
    """
    def body() -> str:
        rng = np.random.default_rng(3)
        for shape in [(4,), (3, 2), (5, 3)]:
            mu = rng.normal(0.0, 1.5, size=shape)
            logvar = rng.uniform(-2.5, 1.5, size=shape)
            eps = rng.standard_normal(size=shape)
            what = f"for mu={_fmt(mu)}, logvar={_fmt(logvar)}, eps={_fmt(eps)}"
            got = _same_result(fn, (mu.copy(), logvar.copy(), eps.copy()), (mu.copy(), logvar.copy(), eps + 1.0),
                               what, "eps")
            std = np.exp(0.5 * logvar)
            mistakes: list[Mistake] = [
                (mu + np.exp(logvar) * eps,
                 "Hint: exp(logvar) is the variance sigma^2; the scale is sigma = exp(0.5*logvar)"),
                (mu + logvar * eps, "Hint: logvar is log(sigma^2), not sigma; use exp(0.5*logvar)"),
                (mu + 0.5 * logvar * eps, "Hint: 0.5*logvar is log(sigma); exponentiate it"),
                (mu + np.exp(-0.5 * logvar) * eps, "Hint: exp(-0.5*logvar) is 1/sigma; drop the minus sign"),
                (mu + np.sqrt(np.abs(logvar)) * eps, "Hint: logvar is a log; take exp(0.5*logvar), not a square root"),
                (mu - std * eps, "Hint: the noise is added: z = mu + sigma*eps"),
                (std * eps, "Hint: the location mu is missing: z = mu + sigma*eps"),
                (mu + std, "Hint: eps is missing: z = mu + sigma*eps"),
                (mu * std * eps, "Hint: mu is added to sigma*eps, not multiplied"),
            ]
            _expect(got, mu + std * eps, what, mistakes)
        return "3 cases of shapes (4,), (3, 2), (5, 3)"

    return run_check("reparameterize", body)


# ----------------------------------------------------------------------------------------
# Fixed cases of the two gradient checkers
# ----------------------------------------------------------------------------------------

# A fixed case: (a vectorized function, its description, two parameters, standard-normal noise).
Case = tuple[Callable[[np.ndarray], np.ndarray], str, float, float, np.ndarray]


def _cases(seed: int, functions: list[tuple[Callable[[np.ndarray], np.ndarray], str]],
           params: list[tuple[float, float, int]]) -> list[Case]:
    """Pair each function with its parameters and ``n`` fixed standard-normal draws."""
    rng = np.random.default_rng(seed)
    return [(fn, name, p1, p2, rng.standard_normal(n)) for (fn, name), (p1, p2, n) in zip(functions, params)]


_SCORE_CASES = _cases(11, [(lambda z: (z - 2.0) ** 2, "f(z)=(z-2)^2"),
                           (lambda z: np.sin(3.0 * z) + 0.5 * z, "f(z)=sin(3z)+z/2"),
                           (lambda z: np.exp(-z), "f(z)=exp(-z)")],
                      [(0.5, 1.3, 7), (-1.0, 0.6, 12), (0.2, 0.8, 9)])
_PATHWISE_CASES = _cases(5, [(lambda z: 2.0 * (z - 1.0), "f(z)=(z-1)^2, f'(z)=2(z-1)"),
                             (lambda z: np.cos(z), "f(z)=sin(z), f'(z)=cos(z)"),
                             (lambda z: 3.0 * z**2, "f(z)=z^3, f'(z)=3z^2")],
                        [(0.3, -0.7, 6), (-1.2, 0.9, 10), (0.8, -2.0, 8)])


# ----------------------------------------------------------------------------------------
# Score-function (REINFORCE) estimator for q = N(mu, sigma^2)
# ----------------------------------------------------------------------------------------

def check_score_function_estimator(
        fn: Callable[[Callable[[np.ndarray], np.ndarray], np.ndarray, float, float], Any]) -> bool:
    """Check ``fn(f, z, mu, sigma) -> (grad_mu, grad_sigma)``, the score-function estimate.

    For samples ``z`` (shape ``(n,)``) from ``N(mu, sigma^2)`` the reference is the sample
    mean of ``f(z) * d/dtheta log N(z; mu, sigma^2)`` for ``theta = mu`` and ``theta = sigma``:
    ``mean(f(z) * (z - mu) / sigma**2)`` and ``mean(f(z) * ((z - mu)**2 - sigma**2) / sigma**3)``.

    Parameters
    ----------
    fn : callable
        The learner's function. ``f`` is a vectorized NumPy function, ``z`` a float64 array,
        ``mu`` and ``sigma`` floats. Returns two numbers (a tuple, list or array of 2).

    Returns
    -------
    bool
        True when all cases match to relative 1e-6; a one-line verdict is printed.
    """
    def body() -> str:
        for f, name, mu, sigma, eps in _SCORE_CASES:
            z = mu + sigma * eps  # samples from N(mu, sigma^2)
            what_mu = f"for the gradient w.r.t. mu with {name}, mu={mu}, sigma={sigma}, n={z.size} samples"
            what_sigma = what_mu.replace("w.r.t. mu", "w.r.t. sigma")
            got = _same_result(fn, (f, z.copy(), mu, sigma), (f, z + 0.5, mu, sigma), what_mu, "z", pair=True)
            g_mu, g_sigma = _two_numbers(got, what_mu)
            fz = f(z)
            s_mu = (z - mu) / sigma**2
            s_sigma = ((z - mu) ** 2 - sigma**2) / sigma**3
            common = [
                (-np.mean(fz * s_mu), -np.mean(fz * s_sigma),
                 "Hint: the sign is flipped; the estimator is +mean(f(z) * score)"),
                (np.mean(s_mu), np.mean(s_sigma),
                 "Hint: f is missing; the score alone averages to 0 for any f: use mean(f(z) * score)"),
                (np.sum(fz * s_mu), np.sum(fz * s_sigma), "Hint: average over the samples instead of summing"),
                (np.mean(fz) * np.mean(s_mu), np.mean(fz) * np.mean(s_sigma),
                 "Hint: average the product f(z)*score per sample, not the product of the two averages"),
            ]
            _expect(g_mu, np.float64(np.mean(fz * s_mu)), what_mu, [
                (np.float64(a), h) for a, _, h in common] + [
                (np.mean(fz * (z - mu) / sigma), "Hint: d/dmu log q(z) = (z - mu)/sigma^2: divide by sigma squared"),
                (np.mean(fz * (z - mu)), "Hint: d/dmu log q(z) = (z - mu)/sigma^2: the 1/sigma^2 is missing"),
            ])
            _expect(g_sigma, np.float64(np.mean(fz * s_sigma)), what_sigma, [
                (np.float64(b), h) for _, b, h in common] + [
                (np.mean(fz * (z - mu) ** 2 / sigma**3),
                 "Hint: d/dsigma log q(z) = (z - mu)^2/sigma^3 - 1/sigma: the -1/sigma from the normalizer is missing"),
                (np.mean(fz * s_mu), "Hint: you returned the mu-gradient twice; the sigma-score is "
                                     "((z - mu)^2 - sigma^2)/sigma^3"),
                (np.mean(fz * ((z - mu) ** 2 - sigma**2) / sigma**2),
                 "Hint: d/dsigma log q(z) = ((z - mu)^2 - sigma^2)/sigma^3: divide by sigma cubed"),
            ])
        return "3 cases with different f, mu, sigma"

    return run_check("score_function_estimator", body)


# ----------------------------------------------------------------------------------------
# Pathwise gradient w.r.t. (mu, logvar)
# ----------------------------------------------------------------------------------------

def check_pathwise_gradient(
        fn: Callable[[Callable[[np.ndarray], np.ndarray], float, float, np.ndarray], Any]) -> bool:
    """Check ``fn(df, mu, logvar, eps) -> (grad_mu, grad_logvar)``, the pathwise estimate.

    With ``z = mu + exp(0.5*logvar) * eps`` the reference is ``mean(df(z))`` for mu and
    ``mean(df(z) * eps * 0.5 * exp(0.5*logvar))`` for logvar (chain rule through z).

    Parameters
    ----------
    fn : callable
        The learner's function. ``df`` is f', a vectorized NumPy function; ``mu``,
        ``logvar`` floats; ``eps`` a float64 array of shape ``(n,)``. Returns two numbers.

    Returns
    -------
    bool
        True when all cases match to relative 1e-6; a one-line verdict is printed.
    """
    def body() -> str:
        for df, name, mu, logvar, eps in _PATHWISE_CASES:
            what_mu = f"for the gradient w.r.t. mu with {name}, mu={mu}, logvar={logvar}, n={eps.size}"
            what_lv = what_mu.replace("w.r.t. mu", "w.r.t. logvar")
            got = _same_result(fn, (df, mu, logvar, eps.copy()), (df, mu, logvar, eps + 0.5), what_mu, "eps", pair=True)
            g_mu, g_lv = _two_numbers(got, what_mu)
            std = np.exp(0.5 * logvar)
            z = mu + std * eps
            dfz = df(z)
            _expect(g_mu, np.float64(np.mean(dfz)), what_mu, [
                (np.mean(df(eps)), "Hint: evaluate f' at z = mu + sigma*eps, not at eps"),
                (np.mean(df(mu + np.exp(logvar) * eps)),
                 "Hint: z uses the standard deviation exp(0.5*logvar), not the variance exp(logvar)"),
                (np.mean(dfz * eps), "Hint: dz/dmu = 1, so the mu-gradient is mean(f'(z)) without eps"),
                (-np.mean(dfz), "Hint: the sign is flipped"),
                (np.sum(dfz), "Hint: average over the samples instead of summing"),
            ])
            expected = np.mean(dfz * eps * 0.5 * std)
            _expect(g_lv, np.float64(expected), what_lv, [
                (np.mean(dfz), "Hint: dz/dlogvar = 0.5*exp(0.5*logvar)*eps: the eps factor is missing"),
                (np.mean(dfz * eps), "Hint: that is dz/dsigma; chain on through sigma = exp(0.5*logvar): "
                                     "dz/dlogvar = 0.5*sigma*eps"),
                (np.mean(dfz * eps * std), "Hint: d/dlogvar exp(0.5*logvar) = 0.5*exp(0.5*logvar): "
                                           "the factor 0.5 is missing"),
                (np.mean(dfz * eps * 0.5), "Hint: dz/dlogvar = 0.5*sigma*eps: the factor sigma = "
                                           "exp(0.5*logvar) is missing"),
                (np.mean(df(eps) * eps * 0.5 * std), "Hint: evaluate f' at z = mu + sigma*eps, not at eps"),
                (np.mean(df(mu + np.exp(logvar) * eps) * eps * np.exp(logvar)),
                 "Hint: z uses the standard deviation exp(0.5*logvar), not the variance exp(logvar)"),
                (-expected, "Hint: the sign is flipped"),
                (np.sum(dfz * eps * 0.5 * std), "Hint: average over the samples instead of summing"),
            ])
        return "3 cases with different f, mu, logvar"

    return run_check("pathwise_gradient", body)
