"""What every ``fit*`` does before its first step, written once for both backends (framework-free).

Each preamble checks the budget and the data once, in the order the one-line errors promise,
and seeds last. The backend passes its own ``validate_images``, ``to_numpy`` and
``seed_everything``, so nothing here imports a framework.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from vaelib._checks import (check_choice, check_fit_args, check_flag, check_nonnegative_number, check_probability,
                            check_trainable_image_model, check_vaelib_model)
from vaelib._labels import check_labelled_data
from vaelib._text import check_sequences, check_text_model

__all__ = ["PRECISIONS", "prepare_image_fit", "prepare_conditional_fit", "prepare_text_fit"]

#: ``fit``'s ``precision``: float32 throughout, or bfloat16 products on float32 weights.
PRECISIONS = ("float32", "bfloat16")


def _seed(seed: int | None, seed_everything: Callable[[int], None]) -> None:
    if seed is not None:
        seed_everything(seed)


def prepare_image_fit(model: Any, x_train: Any, x_val: Any, *, epochs: int, batch_size: int, learning_rate: float,
                      beta: Any, binarize: bool, seed: int | None, verbose: bool, compile: bool, precision: str,
                      validate_images: Callable[..., None], seed_everything: Callable[[int], None]) -> None:
    """``fit``'s checks (images in [0, 1] unless a Gaussian model trains on grey levels), then the seed."""
    check_trainable_image_model(model)
    check_fit_args(epochs, batch_size, learning_rate, beta=beta, binarize=binarize, seed=seed, verbose=verbose)
    check_flag("compile", compile)
    check_choice("precision", precision, PRECISIONS)
    unit_range = getattr(model, "likelihood", "bernoulli") == "bernoulli" or binarize
    validate_images("x_train", x_train, unit_range=unit_range)
    if x_val is not None:
        validate_images("x_val", x_val, unit_range=unit_range)
    _seed(seed, seed_everything)


def prepare_conditional_fit(model: Any, x_train: Any, y_train: Any, x_val: Any, y_val: Any, *, epochs: int,
                            batch_size: int, learning_rate: float, beta: Any, binarize: bool, seed: int | None,
                            verbose: bool,
                            validate_images: Callable[..., None], to_numpy: Callable[[Any], np.ndarray],
                            seed_everything: Callable[[int], None]) -> tuple[np.ndarray, np.ndarray | None]:
    """``fit_conditional``'s checks, then the seed; returns the int64 training and validation labels."""
    check_vaelib_model(model, "a ConditionalVAE")
    check_fit_args(epochs, batch_size, learning_rate, beta=beta, binarize=binarize, seed=seed, verbose=verbose)
    labels = check_labelled_data(model, x_train, y_train, x_val, y_val, binarize=binarize,
                                 validate_images=validate_images, to_numpy=to_numpy)
    _seed(seed, seed_everything)
    return labels


def prepare_text_fit(model: Any, train_seqs: Any, valid_seqs: Any, *, epochs: int, batch_size: int,
                     learning_rate: float, beta: Any, free_bits: float, word_dropout: float | None, seed: int | None,
                     verbose: bool,
                     seed_everything: Callable[[int], None]) -> tuple[list[np.ndarray], list[np.ndarray] | None, float]:
    """``fit_text``'s checks, then the seed; returns the sentences and the word-dropout rate to train with."""
    check_text_model(model)
    check_fit_args(epochs, batch_size, learning_rate, beta=beta, seed=seed, verbose=verbose)
    train = check_sequences("train_seqs", train_seqs, model.vocab_size, model.pad_id)
    valid = None if valid_seqs is None else check_sequences("valid_seqs", valid_seqs, model.vocab_size, model.pad_id)
    check_nonnegative_number("free_bits", free_bits)
    rate = model.word_dropout_rate if word_dropout is None else check_probability("word_dropout", word_dropout)
    _seed(seed, seed_everything)
    return train, valid, rate
