"""The arguments the public loss functions accept, written once for both backends (framework-free).

The training code calls each backend's unchecked ``kernels``; what a reader calls by hand,
``vl.gaussian_kl(mu, logvar)`` and its siblings, first passes every tensor argument through
the backend's ``float_tensor`` (real numbers, no NaN or inf) and the shape rules below, so a
mismatch is refused in one line instead of being broadcast into a wrong answer.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

__all__ = ["RULES", "check_compatible", "loss_tensors"]

# Each function's tensor arguments in order, with how its shape must relate to an earlier one:
# "same" (equal), "broadcast" (broadcasts to it), "trailing" (ends with it: leading sample axes).
RULES: dict[str, tuple[tuple[str, str | None, str | None], ...]] = {
    "gaussian_kl_per_dim": (("mu", None, None), ("logvar", "same", "mu")),
    "gaussian_kl": (("mu", None, None), ("logvar", "same", "mu")),
    "free_bits_kl": (("kl_per_dim", None, None),),
    "bernoulli_log_likelihood": (("x", None, None), ("logits", "same", "x")),
    "gaussian_log_likelihood": (("x", None, None), ("mean", "same", "x"), ("log_sigma", "broadcast", "x")),
    "log_normal_pdf": (("z", None, None), ("mu", "broadcast", "z"), ("logvar", "broadcast", "z")),
    "reparameterize": (("mu", None, None), ("logvar", "same", "mu"), ("eps", "trailing", "mu")),
}
_WORDS = {"same": "the shape of", "broadcast": "a shape that broadcasts to the shape of",
          "trailing": "a shape ending with the shape of"}


def check_compatible(name: str, shape: Sequence[int | None], rule: str, other: str,
                     other_shape: Sequence[int | None]) -> None:
    """Reject ``shape`` unless it relates to ``other_shape`` by ``rule`` (None: a size not known yet)."""
    s, t = tuple(shape), tuple(other_shape)

    def fits(a: int | None, b: int | None) -> bool:
        return a is None or b is None or a == b

    if rule == "same":
        ok = len(s) == len(t) and all(map(fits, s, t))
    elif rule == "trailing":
        ok = len(s) >= len(t) and all(map(fits, s[len(s) - len(t):], t))
    else:
        ok = len(s) <= len(t) and all(a == 1 or fits(a, b) for a, b in zip(s[::-1], t[::-1]))
    if not ok:
        raise ValueError(f"{name}: expected {_WORDS[rule]} {other} {t}, got shape {s}")


def loss_tensors(function: str, convert: Callable[[str, Any, Any], Any], given: dict[str, Any]) -> list[Any]:
    """The checked tensor arguments of ``function``, in order.

    ``convert(name, value, first)`` is the backend's conversion (``first`` is the first
    argument's tensor, so the others can follow it to its device; None for the first).
    """
    tensors: dict[str, Any] = {}
    first = None
    for name, rule, other in RULES[function]:
        tensor = convert(name, given[name], first)
        if rule is not None:
            check_compatible(name, tuple(tensor.shape), rule, other, tuple(tensors[other].shape))
        elif len(tensor.shape) == 0:
            raise ValueError(f"{name}: expected a batch (an array with at least one axis), got a scalar")
        tensors[name] = tensor
        first = tensor if first is None else first
    if function == "free_bits_kl" and len(tensors["kl_per_dim"].shape) != 2:
        raise ValueError(f"kl_per_dim: expected shape (batch, latent dimensions), got shape "
                         f"{tuple(tensors['kl_per_dim'].shape)}")
    return list(tensors.values())
