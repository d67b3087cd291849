"""KL-weight (beta) schedules, framework-free.

A schedule is a callable ``schedule(step) -> float`` giving the weight of the KL term at an
optimizer step. Both backends' training loops accept a float or a schedule.
Annealing the KL weight from 0 to 1 is the trick of Bowman et al. (2016); the cyclical
schedule is Fu et al. (2019).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Union

from vaelib._checks import check_beta

__all__ = ["Schedule", "constant", "linear", "logistic", "cyclical", "as_schedule"]

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


def as_schedule(beta: Union[float, Schedule]) -> Schedule:
    """Turn a float into a :class:`constant` schedule; pass a schedule through.

    Raises a one-line error for anything else, or for a negative constant.
    """
    beta = check_beta(beta)
    return beta if callable(beta) else constant(beta)
