"""Schedules of the KL weight (beta) and of the learning rate, framework-free.

A schedule is a callable ``schedule(step) -> float`` giving a value at an optimizer step:
the weight of the KL term (``fit(..., beta=...)``) or Adam's step size
(``fit(..., learning_rate=...)``). Both backends' training loops accept a float or a schedule
for either. Annealing the KL weight from 0 to 1 is the trick of Bowman et al. (2016); the
cyclical schedule is Fu et al. (2019); a linear warm-up followed by a cosine decay of the
learning rate is Loshchilov and Hutter's (2017) schedule without restarts.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Callable, Union

from vaelib._checks import (check_beta, check_learning_rate, check_nonnegative_number, check_positive_int,
                            check_positive_number)

__all__ = ["Schedule", "constant", "linear", "logistic", "cyclical", "warmup_cosine", "as_schedule",
           "as_learning_rate_schedule", "learning_rate_at"]

Schedule = Callable[[int], float]


def _check_step(step: int) -> int:
    if step < 0:
        raise ValueError(f"step: expected a non-negative integer, got {step}")
    return step


@dataclass(frozen=True)
class constant:
    """The same weight at every step.

    Parameters
    ----------
    value : float
        The KL weight (beta).
    """

    value: float = 1.0

    def __call__(self, step: int) -> float:
        _check_step(step)
        return float(self.value)


@dataclass(frozen=True)
class linear:
    """Ramp linearly from ``start`` to ``end`` over ``warmup_steps`` steps, then stay at ``end``."""

    warmup_steps: int
    start: float = 0.0
    end: float = 1.0

    def __post_init__(self) -> None:
        if self.warmup_steps < 1:
            raise ValueError(f"warmup_steps: expected an integer >= 1, got {self.warmup_steps}")

    def __call__(self, step: int) -> float:
        frac = min(_check_step(step) / self.warmup_steps, 1.0)
        return float(self.start + (self.end - self.start) * frac)


@dataclass(frozen=True)
class logistic:
    """A sigmoid ramp ``end / (1 + exp(-steepness * (step - midpoint)))`` (Bowman et al., 2016)."""

    midpoint: int
    steepness: float = 0.0025
    end: float = 1.0

    def __post_init__(self) -> None:
        if self.steepness <= 0:
            raise ValueError(f"steepness: expected a positive number, got {self.steepness}")

    def __call__(self, step: int) -> float:
        t = self.steepness * (_check_step(step) - self.midpoint)
        # Written so that exp never overflows for steps far from the midpoint.
        if t >= 0:
            return float(self.end / (1.0 + math.exp(-t)))
        e = math.exp(t)
        return float(self.end * e / (1.0 + e))


@dataclass(frozen=True)
class cyclical:
    """Repeat a linear ramp: each cycle rises from 0 to ``end`` over ``ratio`` of its steps,
    then holds ``end`` (Fu et al., 2019)."""

    cycle_steps: int
    ratio: float = 0.5
    end: float = 1.0

    def __post_init__(self) -> None:
        if self.cycle_steps < 1:
            raise ValueError(f"cycle_steps: expected an integer >= 1, got {self.cycle_steps}")
        if not 0.0 < self.ratio <= 1.0:
            raise ValueError(f"ratio: expected a number in (0, 1], got {self.ratio}")

    def __call__(self, step: int) -> float:
        phase = (_check_step(step) % self.cycle_steps) / self.cycle_steps
        return float(self.end * min(phase / self.ratio, 1.0))


@dataclass(frozen=True)
class warmup_cosine:
    """A learning rate: a linear rise from 0 to ``peak`` over ``warmup_steps``, then half a cosine
    down to ``end`` at ``total_steps``, and ``end`` after.

    Large steps early move fast; small steps at the end let Adam settle into the minimum it has
    found instead of hopping around it, which is worth a nat or more of test ELBO at a fixed budget.
    Set ``total_steps`` to the run's number of steps: ``epochs * ceil(n / batch_size)``.
    """

    total_steps: int
    peak: float = 1e-3
    warmup_steps: int = 0
    end: float = 0.0

    def __post_init__(self) -> None:
        check_positive_int("total_steps", self.total_steps)
        if (isinstance(self.warmup_steps, bool) or not isinstance(self.warmup_steps, int)
                or not 0 <= self.warmup_steps < self.total_steps):
            raise ValueError(f"warmup_steps: expected an integer in [0, total_steps) = [0, {self.total_steps}), "
                             f"got {self.warmup_steps!r}")
        check_positive_number("peak", self.peak)
        check_nonnegative_number("end", self.end)
        if self.end > self.peak:
            raise ValueError(f"end: expected a number <= peak ({self.peak}), got {self.end}")

    def __call__(self, step: int) -> float:
        step = _check_step(step)
        if step < self.warmup_steps:
            return float(self.peak * (step + 1) / (self.warmup_steps + 1))
        progress = min((step - self.warmup_steps) / (self.total_steps - self.warmup_steps), 1.0)
        return float(self.end + (self.peak - self.end) * 0.5 * (1.0 + math.cos(math.pi * progress)))


def as_schedule(beta: Union[float, Schedule]) -> Schedule:
    """Turn a float into a :class:`constant` schedule; pass a schedule through.

    Raises a one-line error for anything else, or for a negative constant.
    """
    beta = check_beta(beta)
    return beta if callable(beta) else constant(beta)


def as_learning_rate_schedule(learning_rate: Union[float, Schedule]) -> Schedule:
    """Turn a positive float into a :class:`constant` schedule; pass a schedule through.

    Raises a one-line error for anything else. A schedule's own values are checked as training
    reads them (:func:`learning_rate_at`).
    """
    learning_rate = check_learning_rate(learning_rate)
    return learning_rate if callable(learning_rate) else constant(learning_rate)


def learning_rate_at(schedule: Schedule, step: int) -> float:
    """The learning rate a schedule gives at ``step``, or a one-line error unless it is a finite number >= 0."""
    value = schedule(step)
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value < 0:
        raise ValueError(f"learning_rate: expected the schedule to give a non-negative number, got {value!r} at step {step}")
    return float(value)
