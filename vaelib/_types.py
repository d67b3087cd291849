"""Small result types shared by both backends (framework-free)."""

from __future__ import annotations

from typing import Any, NamedTuple

__all__ = ["ELBOTerms", "History", "nan_loss_error", "ARCHITECTURES", "LIKELIHOODS"]

ARCHITECTURES = ("mlp", "conv")
LIKELIHOODS = ("bernoulli", "gaussian")


class ELBOTerms(NamedTuple):
    """Per-example ELBO and its two terms, in nats: ``elbo = log_likelihood - beta * kl``."""

    elbo: Any
    log_likelihood: Any
    kl: Any

    @classmethod
    def weighted(cls, log_likelihood: Any, kl: Any, beta: Any = 1.0) -> "ELBOTerms":
        """The terms with ``elbo = log_likelihood - beta * kl`` (tensors of either framework)."""
        return cls(log_likelihood - beta * kl, log_likelihood, kl)


class History(dict):
    """Per-epoch training record: ``{"loss": [...], "kl": [...], "val_loss": [...], ...}``.

    A plain dict of lists (so it pickles, prints and plots like one) with two more facts:

    ``steps`` : int
        The number of optimizer steps taken.
    ``per_step`` : dict of str to list of float
        Every training term after each optimizer step: the same keys as the epoch record
        without its ``val_`` entries, one value per step (``len(per_step["loss"]) == steps``),
        each the mean over that step's batch. An epoch's value is the batch-size-weighted mean
        of its steps' values. It shows what an epoch mean hides, e.g. a KL that rises and
        collapses within the first epoch.
    """

    steps: int = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.per_step: dict[str, list[float]] = {}

    def append(self, metrics: dict[str, float], prefix: str = "") -> None:
        """Add one epoch's metrics, optionally under a prefix such as ``"val_"``."""
        for name, value in metrics.items():
            self.setdefault(prefix + name, []).append(float(value))

    def append_step(self, metrics: dict[str, float]) -> None:
        """Add one optimizer step's training terms (batch means) to ``per_step``."""
        for name, value in metrics.items():
            self.per_step.setdefault(name, []).append(float(value))


def nan_loss_error(step: int, epoch: int, loss: float = float("nan")) -> FloatingPointError:
    """The error both training loops raise when the loss stops being a finite number.

    They raise it before that step's update, so the model keeps the weights of the last
    step whose loss was finite.
    """
    what = "NaN" if loss != loss else "infinite"  # NaN is the one value unequal to itself
    return FloatingPointError(
        f"loss became {what} at step {step} (epoch {epoch}): training stopped, the model keeps the "
        "weights of the step before; try a smaller learning_rate or check the data for NaN"
    )
