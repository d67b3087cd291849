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


class History(dict):
    """Per-epoch training record: ``{"loss": [...], "kl": [...], "val_loss": [...], ...}``.

    A plain dict of lists (so it pickles, prints and plots like one) with one more fact,
    ``steps``: the number of optimizer steps taken.
    """

    steps: int = 0

    def append(self, metrics: dict[str, float], prefix: str = "") -> None:
        """Add one epoch's metrics, optionally under a prefix such as ``"val_"``."""
        for name, value in metrics.items():
            self.setdefault(prefix + name, []).append(float(value))


def nan_loss_error(step: int, epoch: int) -> FloatingPointError:
    """The error both training loops raise when the loss stops being a number."""
    return FloatingPointError(
        f"loss became NaN at step {step} (epoch {epoch}): training stopped; "
        "try a smaller learning_rate or check the data for NaN"
    )
