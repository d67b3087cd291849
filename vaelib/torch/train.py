"""The training loop (PyTorch): in-memory tensors, Adam, a tqdm progress bar."""

from __future__ import annotations

import math
import sys
from typing import Any, Callable, Iterable, Union

import torch
from torch import nn
from tqdm import tqdm  # plain text bar: no ipywidgets needed in notebooks

from vaelib._fit import prepare_image_fit
from vaelib._types import History, nan_loss_error
from vaelib.schedules import Schedule, as_learning_rate_schedule, as_schedule, constant, learning_rate_at
from vaelib.torch.utils import as_tensor, seed_everything, validate_images

__all__ = ["fit", "History"]


def _epoch_means(sums: dict[str, float], count: int) -> dict[str, float]:
    return {name: total / count for name, total in sums.items()}


def _accumulate(sums: dict[str, float], terms: dict[str, Any], weight: int) -> None:
    for name, value in terms.items():
        sums[name] = sums.get(name, 0.0) + float(value) * weight


def _adam(model: nn.Module, learning_rate: float) -> torch.optim.Adam:
    """Adam (epsilon 1e-8, as in vaelib.keras), fused where PyTorch supports it.

    The fused kernel updates every parameter in one pass: on a CPU its step is several times
    faster than the default per-tensor loop, which is a good share of a small model's step.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    try:
        return torch.optim.Adam(params, lr=float(learning_rate), eps=1e-8, fused=True)
    except (RuntimeError, TypeError, ValueError):  # a device or dtype without the fused kernel
        return torch.optim.Adam(params, lr=float(learning_rate), eps=1e-8)


def training_loss_terms(model: nn.Module, *, compile: bool, precision: str) -> Callable[..., dict[str, torch.Tensor]]:
    """``model.loss_terms`` as the training step calls it: in bfloat16 autocast and compiled, as asked.

    Autocast runs the matrix products and convolutions in bfloat16 on float32 weights; the
    loss math (``kernels``) casts its inputs back to float32, so the loss and the logged terms
    keep float32's precision. ``torch.compile`` traces the forward pass (and, through it, the
    backward) once per batch shape (a short last batch adds one); beta, a Python float, is an
    input of the graph, not a constant, so a schedule does not retrace it.
    """
    loss_terms = model.loss_terms
    if precision == "bfloat16":
        device_type = next(model.parameters()).device.type
        plain = loss_terms

        def loss_terms(batch: Any, beta: float) -> dict[str, torch.Tensor]:
            with torch.autocast(device_type, dtype=torch.bfloat16):
                return plain(batch, beta)
    if compile:
        # fallback_random: the noise comes from PyTorch's own generator, as in eager mode, so a
        # seeded compiled run draws the eager run's noise (inductor's fused generator would not).
        loss_terms = torch.compile(loss_terms, options={"fallback_random": True})
    return loss_terms


@torch.no_grad()
def evaluate_loss_terms(model: nn.Module, batches: Iterable[torch.Tensor], beta: float) -> dict[str, float]:
    """Example-weighted means of ``model.loss_terms`` over batches, in eval mode."""
    was_training = model.training
    model.eval()
    sums: dict[str, float] = {}
    count = 0
    for xb in batches:
        _accumulate(sums, model.loss_terms(xb, beta), len(xb))
        count += len(xb)
    model.train(was_training)
    return _epoch_means(sums, count)


def run_epochs(
    model: nn.Module,
    train_batches: Callable[[], Iterable[torch.Tensor]],
    val_batches: Callable[[], Iterable[torch.Tensor]] | None,
    *,
    epochs: int,
    learning_rate: Union[float, Schedule],
    beta: Union[float, Schedule],
    steps_per_epoch: int,
    verbose: bool,
    compile: bool = False,
    precision: str = "float32",
) -> History:
    """Adam over ``epochs`` passes of ``train_batches()``; the loop ``fit`` and ``fit_text`` share.

    Each batch goes to ``model.loss_terms(batch, beta)`` (see :func:`training_loss_terms` for
    ``compile`` and ``precision``); its ``"loss"`` is minimised, every term is recorded after
    each step (``History.per_step``) and averaged per epoch (weighted by batch size) into the
    History. Validation runs the plain float32 ``loss_terms``. A learning-rate schedule sets
    Adam's step size before every step.
    """
    schedule = as_schedule(beta)
    lr_schedule = as_learning_rate_schedule(learning_rate)
    scheduled_lr = not isinstance(lr_schedule, constant)
    loss_terms = training_loss_terms(model, compile=compile, precision=precision)
    optimizer = _adam(model, learning_rate_at(lr_schedule, 0))
    history = History()
    step = 0
    for epoch in range(1, epochs + 1):
        model.train()
        sums: dict[str, float] = {}
        count = 0
        bar = tqdm(train_batches(), total=steps_per_epoch, desc=f"epoch {epoch}/{epochs}",
                   disable=not verbose, file=sys.stderr, leave=False)
        for xb in bar:
            terms = loss_terms(xb, schedule(step))
            values = {name: float(value.detach()) for name, value in terms.items()}
            loss_value = values["loss"]
            if not math.isfinite(loss_value):  # before the update: the weights stay those of the last finite step
                raise nan_loss_error(step + 1, epoch, loss_value)
            if scheduled_lr:
                for group in optimizer.param_groups:
                    group["lr"] = learning_rate_at(lr_schedule, step)
            optimizer.zero_grad(set_to_none=True)
            terms["loss"].backward()
            optimizer.step()
            step += 1
            history.append_step(values)
            _accumulate(sums, values, len(xb))
            count += len(xb)
            if verbose and step % 20 == 0:
                bar.set_postfix(loss=f"{loss_value:.2f}", refresh=False)
        history.append(_epoch_means(sums, count))
        if val_batches is not None:
            history.append(evaluate_loss_terms(model, val_batches(), schedule(step)), prefix="val_")
        if verbose:
            shown = ", ".join(f"{k}={v[-1]:.2f}" for k, v in history.items())
            print(f"epoch {epoch}/{epochs}: {shown}", file=sys.stderr)
    history.steps = step
    return history


def fit(
    model: nn.Module,
    x_train: Any,
    x_val: Any = None,
    *,
    epochs: int = 10,
    batch_size: int = 128,
    learning_rate: Union[float, Schedule] = 1e-3,
    beta: Union[float, Schedule] = 1.0,
    binarize: bool = False,
    seed: int | None = None,
    verbose: bool = True,
    compile: bool = False,
    precision: str = "float32",
) -> History:
    """Train an image model (a VAE or an autoencoder) on in-memory data with Adam.

    Parameters
    ----------
    model : torch.nn.Module
        Anything with ``loss_terms(x, beta) -> dict`` whose ``"loss"`` is minimised.
    x_train : array_like, shape (N, 28, 28)
        Training images in [0, 1]; copied to the model's device once.
    x_val : array_like, optional
        Validation images, evaluated after every epoch (``val_`` entries of the History).
    epochs, batch_size
        The budget.
    learning_rate : float or schedule
        Adam's step size, or a schedule (step -> step size) such as
        :class:`vaelib.schedules.warmup_cosine`.
    beta : float or schedule
        Weight of the KL term, or a schedule (step -> weight) from :mod:`vaelib.schedules`.
    binarize : bool
        Dynamic binarization: each batch is a fresh Bernoulli draw of its pixel intensities.
    seed : int, optional
        Seeds everything first (:func:`seed_everything`) for a reproducible run.
    verbose : bool
        Show a progress bar (stderr) and a line per epoch.
    compile : bool
        Compile the training step's forward and backward pass with ``torch.compile`` (the first
        steps pay the compilation, tens of seconds on a CPU).
    precision : {"float32", "bfloat16"}
        ``"bfloat16"``: mixed precision, the networks' products in bfloat16 autocast on float32
        weights and optimizer, the loss in float32. It pays only where the processor has
        bfloat16 units and the batches are large (``benchmarks/compiled.py`` measures it).

    Returns
    -------
    History
        Per-epoch means of every term of ``loss_terms``, and ``val_`` ones with ``x_val``;
        ``history.per_step`` holds the training terms after every optimizer step and
        ``history.steps`` their number.
    """
    prepare_image_fit(model, x_train, x_val, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                      beta=beta, verbose=verbose, binarize=binarize, seed=seed, compile=compile,
                      precision=precision, validate_images=validate_images, seed_everything=seed_everything)
    device = next(model.parameters()).device
    data = as_tensor(x_train, device)
    n = len(data)
    val = as_tensor(x_val, device) if x_val is not None else None

    def train_batches() -> Iterable[torch.Tensor]:
        order = torch.randperm(n, device=device)
        for start in range(0, n, batch_size):
            xb = data[order[start : start + batch_size]]
            yield torch.bernoulli(xb) if binarize else xb

    def val_batches() -> Iterable[torch.Tensor]:
        assert val is not None
        return (val[s : s + 1000] for s in range(0, len(val), 1000))

    return run_epochs(
        model, train_batches, val_batches if val is not None else None,
        epochs=epochs, learning_rate=learning_rate, beta=beta,
        steps_per_epoch=math.ceil(n / batch_size), verbose=verbose, compile=compile, precision=precision,
    )
