"""Auto-checks for the preface's exercises (chapter 0): units and parameterizations.

The preface is a page, not a notebook: run these from any Python session, e.g.
``from vaelib.exercises import ch0; ch0.check_bits_per_dim(my_fn)``.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from vaelib.exercises._report import as_number, call_quietly, compare, fmt, run_check

__all__ = ["check_bits_per_dim", "check_sigma_from_logvar"]

_NLL_CASES = [(240.0, 784), (85.3, 784), (3.2, 1), (1000.0, 3072)]
_LOGVAR_CASES = [-2.0, 0.0, 1.5, -7.0]
_LN2 = math.log(2)


def check_bits_per_dim(fn: Callable[[float, int], Any]) -> bool:
    """Check ``fn(nll_nats, num_dims)``: a negative log-likelihood in nats, as bits per dimension.

    The reference is ``nll_nats / (num_dims * ln 2)``.
    """

    def body() -> None:
        nll = np.array([c[0] for c in _NLL_CASES])
        dims = np.array([c[1] for c in _NLL_CASES], dtype=np.float64)
        got = np.array([as_number(call_quietly(fn, n, d), f"for nll={n} nats, num_dims={d}") for n, d in _NLL_CASES])
        mistakes = {
            "you multiplied by ln 2: a nat is 1/ln 2 bits, so divide by ln 2": nll * _LN2 / dims,
            "that is bits per image: divide by num_dims too": nll / _LN2,
            "the sign is flipped: an NLL in nats gives a positive number of bits": -nll / (dims * _LN2),
            "that is nats per dimension: divide by ln 2 as well to get bits": nll / dims,
            "you divided by log10(2): the conversion uses the natural log, math.log(2)": nll / (dims * math.log10(2)),
            "you multiplied by num_dims: 'per dimension' divides by it": nll * dims / _LN2,
            "you took log2 of the NLL: it is already a log, only rescale it by 1/ln 2": np.log2(nll) / dims,
            "you divided num_dims by the NLL: turn the fraction round": dims / (nll * _LN2),
        }

        def describe(idx: tuple) -> str:
            return f"for nll={nll[idx]} nats, num_dims={int(dims[idx])}"

        compare(got, nll / (dims * _LN2), quantity="result", describe=describe, mistakes=mistakes,
                shape_hint="one number per call",
                nonfinite_hint="a division by zero? divide by num_dims * ln 2, and num_dims is at least 1")

    return run_check("bits_per_dim", body)


def check_sigma_from_logvar(fn: Callable[[np.ndarray], Any]) -> bool:
    """Check ``fn(logvar)``: the standard deviation ``exp(logvar / 2)``, elementwise."""

    def body() -> None:
        logvar = np.asarray(_LOGVAR_CASES)
        got = call_quietly(fn, logvar.copy())
        mistakes = {
            "exp(logvar) is the variance; sigma is its square root": np.exp(logvar),
            "that is 1/sigma: the exponent is +logvar/2": np.exp(-0.5 * logvar),
            "that is log sigma: exponentiate it, sigma = exp(logvar/2)": 0.5 * logvar,
            "that is sigma^4: halve logvar, do not double it": np.exp(2.0 * logvar),
            "you halved the variance: halve logvar inside the exponential, exp(logvar/2)": 0.5 * np.exp(logvar),
            "logvar is a log: sigma = exp(logvar/2), not a square root of logvar": np.sqrt(np.abs(logvar)),
            "that is logvar itself: sigma = exp(logvar/2)": logvar,
        }
        compare(got, np.exp(0.5 * logvar), quantity="sigma", describe=lambda idx: f"for logvar={fmt(logvar[idx])}",
                mistakes=mistakes, shape_hint="one sigma per entry of logvar (elementwise)",
                nonfinite_hint="logvar is a log and can be negative: sigma = exp(logvar/2), no square root "
                               "or log of logvar is needed")

    return run_check("sigma_from_logvar", body)
