"""Auto-checks for the preface's exercises (chapter 0): units and parameterizations.

The preface is a page, not a notebook: run these from any Python session, e.g.
``from vaelib.exercises import ch0; ch0.check_bits_per_dim(my_fn)``.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from vaelib.exercises._report import call_learner, expect_close, run_check

__all__ = ["check_bits_per_dim", "check_sigma_from_logvar"]

_NLL_CASES = [(240.0, 784), (85.3, 784), (3.2, 1), (1000.0, 3072)]
_LOGVAR_CASES = [-2.0, 0.0, 1.5, -7.0]


def check_bits_per_dim(fn: Callable[[float, int], Any]) -> bool:
    """Check ``fn(nll_nats, num_dims)``: a negative log-likelihood in nats, as bits per dimension.

    The reference is ``nll_nats / (num_dims * ln 2)``.
    """

    def body() -> None:
        for nll, dims in _NLL_CASES:
            got = call_learner(fn, nll, dims)
            expected = nll / (dims * math.log(2))
            if np.isclose(np.asarray(got, dtype=float), nll * math.log(2) / dims, rtol=1e-6):
                raise_hint = "you multiplied by ln 2: a nat is 1/ln 2 bits, so divide by ln 2"
                expect_close(got, expected, f"for nll={nll} nats, num_dims={dims} ({raise_hint})")
            if np.isclose(np.asarray(got, dtype=float), nll / math.log(2), rtol=1e-6) and dims > 1:
                expect_close(got, expected, f"for nll={nll} nats, num_dims={dims} (bits per image: divide by num_dims too)")
            expect_close(got, expected, f"for nll={nll} nats, num_dims={dims}", rtol=1e-6)

    return run_check("bits_per_dim", body)


def check_sigma_from_logvar(fn: Callable[[np.ndarray], Any]) -> bool:
    """Check ``fn(logvar)``: the standard deviation ``exp(logvar / 2)``, elementwise."""

    def body() -> None:
        logvar = np.asarray(_LOGVAR_CASES)
        got = call_learner(fn, logvar.copy())
        expected = np.exp(0.5 * logvar)
        arr = np.asarray(got, dtype=float) if got is not None else None
        if arr is not None and arr.shape == logvar.shape and np.allclose(arr, np.exp(logvar)):
            expect_close(got, expected, "for logvar=[-2, 0, 1.5, -7] (exp(logvar) is the variance; sigma is its square root)")
        expect_close(got, expected, "for logvar=[-2, 0, 1.5, -7]", rtol=1e-6)

    return run_check("sigma_from_logvar", body)
