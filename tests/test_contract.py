"""The input contract of every public entry point of both backends, as one generated catalogue.

Every public function, class and method of ``vaelib.torch`` and ``vaelib.keras`` is enumerated
(the enumeration of ``test_api_conformance``), and every one of their parameters is given a
*kind* (a positive integer, a probability, a batch of images, a latent code, ...). Each kind
lists the wrong values a user really passes: text where a number goes, NumPy-free lists,
zero and negative sizes, NaN and inf in every tensor, the wrong shape or dtype, empty input,
a model of another kind. For each (entry point, parameter, wrong value) the call is made with
valid values everywhere else, and it must fail with one line that starts with the argument's
name, ``"<name>: ..."`` (a framework's own error never reaches the user as the only message).
The accepting side is tested too: the valid call with NumPy scalars in place of Python numbers
must run.

A new public function, class, method or parameter fails ``test_every_parameter_has_a_kind``
until its contract is written here, so the catalogue grows with the API.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

from test_api_conformance import KERAS, SHARED, TORCH, _methods
from vaelib import keras as vk
from vaelib._loss_args import RULES
from vaelib import torch as vt

BACKENDS = {"torch": (vt, TORCH), "keras": (vk, KERAS)}
NAN, INF = float("nan"), float("inf")
B, D, VOCAB = 3, 2, 12  # images per batch, latent dimensions, vocabulary of the tiny text models

# Names whose parameters are not checked, and why.
NOT_CHECKED = {
    "ELBOTerms": "a named tuple of results, built by the models",
    "History": "a dict of results, built by the fit functions",
    "to_numpy": "a conversion: it takes whatever np.asarray takes",
}
# Methods that are each model's tensor-level internals, unvalidated on purpose: fit checks the
# whole data set once and then calls them on every batch (their docstrings say so).
INTERNAL_METHODS = {"loss_terms", "elbo_terms", "log_likelihood", "pixel_means", "reconstruction_loss",
                    "sentence_nll", "step", "one_hot", "append", "append_step"}


# -- the world: valid objects for one backend -------------------------------------------------
class World:
    """Small models and valid data of one backend, made once per test module."""

    def __init__(self, name: str, vl: Any, tmp: Path) -> None:
        self.name, self.vl, self.tmp = name, vl, tmp
        vl.seed_everything(0)
        rng = np.random.default_rng(0)
        self.x = rng.random((B, 28, 28)).astype(np.float32)
        self.y = np.array([0, 1, 2])
        self.z = rng.standard_normal((B, D)).astype(np.float32)
        self.vae = vl.VAE(latent_dim=D, hidden_dim=8)
        self.iwae = vl.IWAE(latent_dim=D, hidden_dim=8, k=2)
        self.cvae = vl.ConditionalVAE(num_classes=3, latent_dim=D, hidden_dim=8)
        self.ae = vl.Autoencoder(latent_dim=D, hidden_dim=8)
        self.svae = vl.SentenceVAE(vocab_size=VOCAB, embed_dim=4, hidden_dim=6, latent_dim=D)
        self.lm = vl.RNNLanguageModel(vocab_size=VOCAB, embed_dim=4, hidden_dim=6)
        self.seqs = [np.array([5, 6, 2]), np.array([7, 2]), np.array([8, 9, 10, 2])]
        self.tokens = np.array([[5, 6, 2, 0], [7, 2, 0, 0], [8, 9, 10, 2]])
        for model, data in ((self.vae, self.x), (self.iwae, self.x), (self.ae, self.x)):
            model.encode(data)  # builds Keras models; a no-op in PyTorch
        self.cvae.encode(self.x, self.y)
        self.svae.elbo(self.tokens)
        self.lm.elbo(self.tokens)
        self.suffix = {"torch": ".pt", "keras": ".keras"}[name]
        self.checkpoint = vl.save_checkpoint(self.vae, tmp / f"vae{self.suffix}")
        self.garbage = tmp / f"garbage{self.suffix}"
        self.garbage.write_bytes(b"\x00 not a checkpoint \xff")

    def model_of(self, target: str) -> Any:
        """The instance whose method ``target`` ("VAE.encode") is called."""
        return {"VAE": self.vae, "IWAE": self.iwae, "ConditionalVAE": self.cvae, "Autoencoder": self.ae,
                "SentenceVAE": self.svae, "RNNLanguageModel": self.lm}[target.split(".")[0]]


def _train(w: World) -> dict[str, Any]:
    return {"epochs": 1, "batch_size": 2, "verbose": False, "seed": 0}


# Valid arguments of each entry point (those not given keep their defaults).
VALID: dict[str, Callable[[World], dict[str, Any]]] = {
    "Autoencoder": lambda w: {"latent_dim": D, "hidden_dim": 8},
    "ConditionalVAE": lambda w: {"num_classes": 3, "latent_dim": D, "hidden_dim": 8},
    "ConvDecoder": lambda w: {"latent_dim": D, "hidden_dim": 8},
    "ConvEncoder": lambda w: {"latent_dim": D, "hidden_dim": 8},
    "MLPDecoder": lambda w: {"latent_dim": D, "hidden_dim": 8},
    "MLPEncoder": lambda w: {"latent_dim": D, "hidden_dim": 8},
    "IWAE": lambda w: {"latent_dim": D, "hidden_dim": 8, "k": 2},
    "VAE": lambda w: {"latent_dim": D, "hidden_dim": 8},
    "RNNLanguageModel": lambda w: {"vocab_size": VOCAB, "embed_dim": 4, "hidden_dim": 6},
    "SentenceVAE": lambda w: {"vocab_size": VOCAB, "embed_dim": 4, "hidden_dim": 6, "latent_dim": D},
    "bernoulli_log_likelihood": lambda w: {"x": w.x, "logits": np.zeros_like(w.x)},
    "corrupt": lambda w: {"x": w.x, "noise_std": 0.1, "seed": 0},
    "count_parameters": lambda w: {"model": w.vae},
    "default_device": lambda w: {},
    "encode_dataset": lambda w: {"model": w.vae, "x": w.x, "batch_size": 2},
    "evaluate": lambda w: {"model": w.vae, "x": w.x, "k": 2, "batch_size": 2, "seed": 0},
    "evaluate_text": lambda w: {"model": w.svae, "sequences": w.seqs, "batch_size": 2, "k": 2, "seed": 0,
                                "chunk_size": 2},
    "export_weights": lambda w: {"model": w.vae},
    "fit": lambda w: {"model": w.vae, "x_train": w.x, "x_val": w.x, "learning_rate": 1e-3, "beta": 1.0,
                      **_train(w)},
    "fit_conditional": lambda w: {"model": w.cvae, "x_train": w.x, "y_train": w.y, "x_val": w.x, "y_val": w.y,
                                  "learning_rate": 1e-3, "beta": 1.0, **_train(w)},
    "fit_text": lambda w: {"model": w.svae, "train_seqs": w.seqs, "valid_seqs": w.seqs, "learning_rate": 1e-3,
                           "beta": 1.0, "free_bits": 0.0, "word_dropout": 0.1, **_train(w)},
    "free_bits_kl": lambda w: {"kl_per_dim": np.ones((B, D), np.float32), "free_bits": 0.5},
    "gaussian_kl": lambda w: {"mu": w.z, "logvar": np.zeros_like(w.z)},
    "gaussian_kl_per_dim": lambda w: {"mu": w.z, "logvar": np.zeros_like(w.z)},
    "gaussian_log_likelihood": lambda w: {"x": w.x, "mean": np.zeros_like(w.x), "log_sigma": np.float32(0.0)},
    "greedy_decode": lambda w: {"model": w.svae, "z": w.z, "max_length": 4, "allow_unk": True},
    "homotopy": lambda w: {"model": w.svae, "tokens_a": w.seqs[0], "tokens_b": w.seqs[1], "steps": 3,
                           "max_length": 4, "allow_unk": True},
    "import_weights": lambda w: {"model": w.vae, "weights": w.vl.export_weights(w.vae)},
    "iwae_bound": lambda w: {"model": w.vae, "x": w.x, "k": 2, "chunk_size": 2, "batch_size": 2,
                             "eps": np.zeros((2, B, D), np.float32), "seed": None},
    "load_checkpoint": lambda w: {"path": w.checkpoint, "kind": w.vl.VAE},
    "load_reference": lambda w: {"name": "vae_2d", "directory": None},
    "log_normal_pdf": lambda w: {"z": w.z, "mu": np.zeros_like(w.z), "logvar": np.zeros_like(w.z)},
    "posterior_gaps": lambda w: {"model": w.vae, "x": w.x[:1], "steps": 2, "learning_rate": 0.02, "samples": 2,
                                 "k": 2, "seed": 0},
    "reparameterize": lambda w: {"mu": w.z, "logvar": np.zeros_like(w.z), "eps": np.ones_like(w.z)},
    "sample_decode": lambda w: {"model": w.svae, "z": w.z, "max_length": 4, "temperature": 1.0, "seed": 0,
                                "allow_unk": True},
    "sample_prior": lambda w: {"model": w.svae, "n": 2, "max_length": 4, "temperature": 1.0, "seed": 0,
                               "greedy": False, "allow_unk": True},
    "save_checkpoint": lambda w: {"model": w.vae, "path": w.tmp / f"saved{w.suffix}"},
    "seed_everything": lambda w: {"seed": 0},
    "word_dropout": lambda w: {"tokens": w.tokens, "rate": 0.5, "unk_id": 3, "special_ids": (0, 1, 2), "seed": 0},
    # Methods: the instance is the World's model of that class.
    "Autoencoder.encode": lambda w: {"x": w.x},
    "Autoencoder.decode": lambda w: {"z": w.z},
    "Autoencoder.decode_means": lambda w: {"z": w.z},
    "Autoencoder.reconstruct": lambda w: {"x": w.x},
    "Autoencoder.reconstruction_error": lambda w: {"x": w.x, "batch_size": 2},
    "ConditionalVAE.encode": lambda w: {"x": w.x, "y": w.y},
    "ConditionalVAE.decode": lambda w: {"z": w.z, "y": w.y},
    "ConditionalVAE.decode_means": lambda w: {"z": w.z, "y": w.y},
    "ConditionalVAE.elbo": lambda w: {"x": w.x, "y": w.y, "beta": 1.0, "eps": np.zeros_like(w.z)},
    "ConditionalVAE.reconstruct": lambda w: {"x": w.x, "y": w.y},
    "ConditionalVAE.sample": lambda w: {"labels": w.y, "seed": 0},
    "IWAE.encode": lambda w: {"x": w.x},
    "IWAE.decode": lambda w: {"z": w.z},
    "IWAE.decode_means": lambda w: {"z": w.z},
    "IWAE.elbo": lambda w: {"x": w.x, "beta": 1.0, "eps": np.zeros_like(w.z)},
    "IWAE.objective": lambda w: {"x": w.x, "beta": 1.0, "eps": np.zeros((2, B, D), np.float32)},
    "IWAE.reconstruct": lambda w: {"x": w.x},
    "IWAE.sample": lambda w: {"n": 2, "seed": 0},
    "VAE.encode": lambda w: {"x": w.x},
    "VAE.decode": lambda w: {"z": w.z},
    "VAE.decode_means": lambda w: {"z": w.z},
    "VAE.elbo": lambda w: {"x": w.x, "beta": 1.0, "eps": np.zeros_like(w.z)},
    "VAE.reconstruct": lambda w: {"x": w.x},
    "VAE.sample": lambda w: {"n": 2, "seed": 0},
    "SentenceVAE.encode": lambda w: {"tokens": w.tokens},
    "SentenceVAE.elbo": lambda w: {"tokens": w.tokens, "eps": np.zeros((B, D), np.float32)},
    "SentenceVAE.log_weights": lambda w: {"tokens": w.tokens, "eps": np.zeros((2, B, D), np.float32)},
    "RNNLanguageModel.elbo": lambda w: {"tokens": w.tokens, "eps": None},
}


# -- kinds of argument and the wrong values each must refuse ----------------------------------
Value = Callable[[World], Any]


def _const(v: Any) -> Value:
    return lambda w: v


def _like(fn: Callable[[np.ndarray], Any], key: str) -> Callable[[World, dict[str, Any]], Any]:
    """A wrong value made from the call's own valid value of the argument."""
    return lambda w, valid: fn(np.asarray(valid[key], dtype=np.float32))


def _number_cases(*, zero_ok: bool, upper: float | None = None, optional: bool = False) -> dict[str, Value]:
    cases: dict[str, Value] = {"text": _const("0.5"), "list": _const([0.5]), "bool": _const(True),
                               "negative": _const(-0.5), "nan": _const(NAN), "inf": _const(INF)}
    if not zero_ok:
        cases["zero"] = _const(0)
    if upper is not None:
        cases["above_one"] = _const(upper + 0.5)
    if not optional:
        cases["none"] = _const(None)
    return cases


def _int_cases(*, minimum: int = 1, optional: bool = False) -> dict[str, Value]:
    cases: dict[str, Value] = {"text": _const("3"), "fraction": _const(2.5), "bool": _const(True),
                               "list": _const([3]), "negative": _const(-2), "float_nan": _const(NAN)}
    cases["too_small"] = _const(minimum - 1)
    if not optional:
        cases["none"] = _const(None)
    return cases


def _seed_cases(optional: bool) -> dict[str, Value]:
    cases = {"text": _const("a"), "negative": _const(-1), "fraction": _const(2.5), "bool": _const(True),
             "list": _const([1])}
    return cases if optional else {**cases, "none": _const(None)}


def _flag_cases() -> dict[str, Value]:
    return {"text": _const("no"), "two": _const(2), "none": _const(None), "list": _const([True])}


def _image_cases(optional: bool) -> dict[str, Value]:
    cases: dict[str, Value] = {
        "text": _const("images"),
        "flat": lambda w: w.x.reshape(B, -1),
        "one_image": lambda w: w.x[0],
        "wrong_size": lambda w: np.zeros((B, 32, 32), np.float32),
        "uint8": lambda w: (w.x * 255).astype(np.uint8),
        "out_of_range": lambda w: w.x * 255.0,
        "nan": lambda w: np.where(np.arange(28) == 3, NAN, w.x).astype(np.float32),
        "inf": lambda w: np.where(np.arange(28) == 3, INF, w.x).astype(np.float32),
        "empty": lambda w: np.zeros((0, 28, 28), np.float32),
        "ragged_list": lambda w: [w.x[0].tolist(), w.x[1, :20].tolist()],
    }
    return cases if optional else {**cases, "none": _const(None)}


def _label_cases(optional: bool) -> dict[str, Value]:
    cases: dict[str, Value] = {
        "text": _const("cats"),
        "fraction": lambda w: w.y + 0.5,
        "too_large": lambda w: np.array([0, 1, 99]),
        "negative": lambda w: np.array([0, -1, 2]),
        "one_too_many": lambda w: np.array([0, 1, 2, 0]),
        "two_d": lambda w: w.y[:, None],
        "nan": lambda w: np.array([0.0, NAN, 1.0]),
    }
    return cases if optional else {**cases, "none": _const(None)}


def _tensor_cases(*, optional: bool = False, integer_ok: bool = True) -> dict[str, Any]:
    """Wrong values of a float tensor argument; shape cases are made from its valid value."""
    cases: dict[str, Any] = {
        "text": _const("tensor"),
        "nan": ("like", lambda a: np.where(np.ones_like(a, bool), NAN, a)),
        "inf": ("like", lambda a: np.full_like(a, INF)),
        "wrong_shape": ("like", lambda a: np.zeros(a.shape[:-1] + (a.shape[-1] + 1,), np.float32)
                        if a.ndim else np.zeros((5,), np.float32)),
        "ragged_list": _const([[0.0, 1.0], [0.0]]),
    }
    if not integer_ok:
        cases["empty"] = ("like", lambda a: np.zeros((0,) + a.shape[1:], np.float32))
    return cases if optional else {**cases, "none": _const(None)}


def _token_cases(optional: bool = False) -> dict[str, Value]:
    cases: dict[str, Value] = {
        "text": _const("the cat sat"),
        "float_ids": lambda w: w.tokens.astype(np.float32) + 0.5,
        "outside_vocabulary": lambda w: np.where(w.tokens == 5, VOCAB + 4, w.tokens),
        "negative": lambda w: np.where(w.tokens == 5, -3, w.tokens),
        "one_d": lambda w: w.tokens[0],
        "empty": lambda w: np.zeros((0, 4), np.int64),
        "pad_first": lambda w: np.array([[0, 5, 2, 0]]),
    }
    return cases if optional else {**cases, "none": _const(None)}


def _sequence_cases(optional: bool) -> dict[str, Value]:
    cases: dict[str, Value] = {
        "text": _const("the cat sat"),
        "empty_list": _const([]),
        "float_ids": lambda w: [s.astype(np.float32) for s in w.seqs],
        "outside_vocabulary": lambda w: [np.array([5, VOCAB + 1, 2])],
        "empty_sentence": lambda w: [np.array([], np.int64)],
        "pad_inside": lambda w: [np.array([5, 0, 2])],
        "number": _const(7),
    }
    return cases if optional else {**cases, "none": _const(None)}


def _sentence_cases() -> dict[str, Value]:
    return {"text": _const("the cat"), "float_ids": _const(np.array([5.5, 2.0])),
            "outside_vocabulary": _const(np.array([5, VOCAB + 1, 2])), "empty": _const(np.array([], np.int64)),
            "two_d": _const(np.array([[5, 2]])), "none": _const(None)}


def _model_cases(*wrong: str) -> dict[str, Value]:
    cases: dict[str, Value] = {"text": _const("vae"), "none": _const(None), "object": _const(object())}
    for attr in wrong:
        cases[f"a_{attr}"] = lambda w, attr=attr: getattr(w, attr)
    return cases


def _token_id_cases() -> dict[str, Value]:
    return {"text": _const("3"), "negative": _const(-1), "fraction": _const(2.5), "bool": _const(True),
            "outside_vocabulary": _const(VOCAB), "none": _const(None), "same_as_pad": _const(0)}


KINDS: dict[str, dict[str, Any]] = {
    "positive_int": _int_cases(),
    "optional_positive_int": _int_cases(optional=True),
    "int_at_least_2": _int_cases(minimum=2),
    "positive_number": _number_cases(zero_ok=False),
    "nonnegative_number": _number_cases(zero_ok=True),
    "beta": {**_number_cases(zero_ok=True), "object": _const(object())},
    "learning_rate": {**_number_cases(zero_ok=False), "object": _const(object())},
    "probability": _number_cases(zero_ok=True, upper=1.0),
    "optional_probability": _number_cases(zero_ok=True, upper=1.0, optional=True),
    "seed": _seed_cases(optional=False),
    "optional_seed": _seed_cases(optional=True),
    "flag": _flag_cases(),
    "architecture": {"unknown": _const("cnn"), "upper_case": _const("MLP"), "number": _const(3), "none": _const(None)},
    "likelihood": {"unknown": _const("poisson"), "number": _const(1), "none": _const(None)},
    "ae_loss": {"unknown": _const("l1"), "number": _const(2)},
    "precision": {"unknown": _const("float16"), "upper_case": _const("BFLOAT16"), "number": _const(16),
                  "none": _const(None)},
    "images": _image_cases(optional=False),
    "optional_images": _image_cases(optional=True),
    "labels": _label_cases(optional=False),
    "optional_labels": _label_cases(optional=True),
    "tensor": _tensor_cases(),
    "optional_tensor": _tensor_cases(optional=True),
    "latent": {**_tensor_cases(), "one_d": lambda w: w.z[0], "empty": lambda w: np.zeros((0, D), np.float32)},
    "tokens": _token_cases(),
    "sequences": _sequence_cases(optional=False),
    "optional_sequences": _sequence_cases(optional=True),
    "sentence": _sentence_cases(),
    "token_id": _token_id_cases(),
    "vocab_size": {**_int_cases(), "fewer_than_special_tokens": _const(3)},
    "special_ids": {"text": _const("pad"), "negative": _const((0, -1)), "fraction": _const((0, 1.5)),
                    "none": _const(None), "number": _const(3)},
    "image_model": _model_cases("svae", "cvae"),
    "vae_model": _model_cases("svae", "cvae", "ae"),
    "conditional_model": _model_cases("vae", "svae"),
    "text_model": _model_cases("vae"),
    "sentence_vae": _model_cases("vae", "lm"),
    "any_model": _model_cases(),
    "checkpoint_path": {"missing": lambda w: w.tmp / f"missing{w.suffix}", "directory": lambda w: w.tmp,
                        "garbage": lambda w: w.garbage, "number": _const(3), "none": _const(None)},
    "output_path": {"number": _const(3), "none": _const(None), "directory": lambda w: w.tmp,
                    "missing_folder": lambda w: w.tmp / "no" / "such" / f"m{w.suffix}"},
    "model_class": {"text": _const("VAE"), "number": _const(3), "not_a_model": _const(dict),
                    "other_kind": lambda w: w.vl.ConditionalVAE},
    "reference_name": {"unknown": _const("no_such_model"), "number": _const(3), "none": _const(None)},
    "directory": {"missing": lambda w: w.tmp / "no-such-folder", "number": _const(3)},
    "weights": {"text": _const("weights"), "empty": _const({}), "none": _const(None),
                "missing_layer": lambda w: dict(list(w.vl.export_weights(w.vae).items())[1:]),
                "wrong_shape": lambda w: {k: np.zeros(v.shape + (1,), v.dtype)
                                          for k, v in w.vl.export_weights(w.vae).items()},
                "nan": lambda w: {k: np.full_like(v, NAN) for k, v in w.vl.export_weights(w.vae).items()}},
}

# Each parameter's kind by name, then the exceptions by (entry point, parameter).
KIND_OF = {
    "latent_dim": "positive_int", "hidden_dim": "positive_int", "num_classes": "positive_int",
    "embed_dim": "positive_int", "epochs": "positive_int", "batch_size": "positive_int", "chunk_size": "positive_int",
    "n": "positive_int", "max_length": "positive_int", "samples": "positive_int", "steps": "positive_int",
    "k": "positive_int", "vocab_size": "vocab_size",
    "learning_rate": "learning_rate", "temperature": "positive_number",
    "noise_std": "nonnegative_number", "free_bits": "nonnegative_number", "beta": "beta",
    "word_dropout": "probability", "rate": "probability",
    "seed": "optional_seed", "linear": "flag", "binarize": "flag", "verbose": "flag", "allow_unk": "flag",
    "greedy": "flag", "compile": "flag", "precision": "precision",
    "architecture": "architecture", "likelihood": "likelihood", "loss": "ae_loss",
    "x": "images", "x_train": "images", "x_val": "optional_images",
    "y": "labels", "y_train": "labels", "y_val": "optional_labels", "labels": "labels",
    "z": "latent", "mu": "tensor", "logvar": "tensor", "logits": "tensor", "mean": "tensor", "log_sigma": "tensor",
    "kl_per_dim": "tensor", "eps": "optional_tensor",
    "tokens": "tokens", "sequences": "sequences", "train_seqs": "sequences", "valid_seqs": "optional_sequences",
    "tokens_a": "sentence", "tokens_b": "sentence",
    "pad_id": "token_id", "bos_id": "token_id", "eos_id": "token_id", "unk_id": "token_id",
    "special_ids": "special_ids", "model": "any_model", "weights": "weights", "kind": "model_class",
    "name": "reference_name", "directory": "directory",
}
KIND_AT = {
    ("fit", "model"): "image_model", ("encode_dataset", "model"): "vae_model", ("evaluate", "model"): "vae_model",
    ("iwae_bound", "model"): "vae_model", ("posterior_gaps", "model"): "vae_model",
    ("fit_conditional", "model"): "conditional_model", ("fit_text", "model"): "text_model",
    ("evaluate_text", "model"): "text_model", ("sample_prior", "model"): "text_model",
    ("greedy_decode", "model"): "sentence_vae", ("sample_decode", "model"): "sentence_vae",
    ("homotopy", "model"): "sentence_vae",
    ("homotopy", "steps"): "int_at_least_2", ("evaluate", "k"): "optional_positive_int",
    ("word_dropout", "unk_id"): "token_id",
    ("greedy_decode", "z"): "latent", ("sample_decode", "z"): "latent",
    ("posterior_gaps", "learning_rate"): "positive_number",
    ("evaluate", "seed"): "optional_seed", ("evaluate_text", "seed"): "seed", ("posterior_gaps", "seed"): "seed",
    ("seed_everything", "seed"): "seed", ("fit_text", "word_dropout"): "optional_probability",
    ("load_checkpoint", "path"): "checkpoint_path", ("save_checkpoint", "path"): "output_path",
    ("SentenceVAE", "word_dropout"): "probability", ("RNNLanguageModel", "word_dropout"): "probability",
    ("bernoulli_log_likelihood", "x"): "tensor", ("gaussian_log_likelihood", "x"): "tensor",
    ("corrupt", "x"): "images",
}
# Cases that do not apply at one place, and why.
NOT_APPLICABLE = {
    ("word_dropout", "unk_id", "outside_vocabulary"): "word_dropout has no vocabulary to compare with",
    ("word_dropout", "unk_id", "same_as_pad"): "word_dropout's special ids are its own argument",
    ("RNNLanguageModel.elbo", "eps", "wrong_shape"): "made from the valid eps, None: no shape to change",
    ("gaussian_log_likelihood", "log_sigma", "wrong_shape"): "log_sigma broadcasts: any shape that broadcasts is fine",
    ("bernoulli_log_likelihood", "x", "out_of_range"): "not an image batch here",
    ("ConditionalVAE.sample", "labels", "one_too_many"): "the labels say how many images to draw: any number is fine",
    ("SentenceVAE", "pad_id", "same_as_pad"): "0 is pad_id's own default",
    ("RNNLanguageModel", "pad_id", "same_as_pad"): "0 is pad_id's own default",
    ("free_bits_kl", "kl_per_dim", "wrong_shape"): "any number of latent dimensions is fine",
    ("save_checkpoint", "path", "missing_folder"): "save_checkpoint creates the folders of its path",
    ("word_dropout", "tokens", "outside_vocabulary"): "word_dropout has no vocabulary to compare with",
    ("word_dropout", "tokens", "one_d"): "word_dropout takes ids of any shape",
    ("word_dropout", "tokens", "empty"): "word_dropout takes ids of any shape",
    ("word_dropout", "tokens", "pad_first"): "word_dropout takes ids of any layout",
}


# A shape that does not fit is found when the next argument is compared with it: that one is named.
PARTNERS = {(function, first, label): {name for name, rule, other in rules if other == first}
            for function, rules in RULES.items() for first in (rules[0][0],)
            for label in ("wrong_shape", "one_d", "empty")}


# -- the enumeration -------------------------------------------------------------------------
def _targets(backend: str) -> dict[str, Callable[..., Any]]:
    """Every public callable of one backend: functions, classes (their constructors), model methods."""
    api = BACKENDS[backend][1]
    found: dict[str, Callable[..., Any]] = {}
    for name in SHARED:
        value = api[name]
        if name in NOT_CHECKED or not callable(value):
            continue
        found[name] = value
        if inspect.isclass(value):
            for method, fn in _methods(value, backend).items():
                if method != "__init__" and callable(fn) and method not in INTERNAL_METHODS \
                        and not isinstance(fn, (classmethod, staticmethod)):
                    found[f"{name}.{method}"] = fn
    return found


def _parameters(fn: Callable[..., Any]) -> list[inspect.Parameter]:
    params = list(inspect.signature(fn).parameters.values())
    return [p for p in params if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]


def _kind(target: str, param: str) -> str | None:
    return KIND_AT.get((target, param), KIND_OF.get(param))


def _cases() -> list[Any]:
    cases = []
    for backend in BACKENDS:
        for target, fn in _targets(backend).items():
            for p in _parameters(fn):
                kind = _kind(target, p.name)
                for label in KINDS.get(kind, {}):
                    if (target, p.name, label) not in NOT_APPLICABLE:
                        cases.append(pytest.param(backend, target, p.name, label,
                                                  id=f"{backend}-{target}-{p.name}-{label}"))
    return cases


CASES = _cases()


@pytest.fixture(scope="module")
def worlds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, World]:
    return {name: World(name, mod, tmp_path_factory.mktemp(name)) for name, (mod, _) in BACKENDS.items()}


def _call(w: World, target: str, kwargs: dict[str, Any]) -> Any:
    fn: Any
    if "." in target:
        fn = getattr(w.model_of(target), target.split(".")[1])
    else:
        fn = BACKENDS[w.name][1][target]
    return fn(**kwargs)


def _wrong(w: World, target: str, param: str, label: str, valid: dict[str, Any]) -> Any:
    case = KINDS[_kind(target, param)][label]
    if isinstance(case, tuple):  # made from the valid value of this argument
        return case[1](np.asarray(valid[param], dtype=np.float32))
    return case(w)


# -- the tests -------------------------------------------------------------------------------
def test_every_parameter_has_a_kind():
    missing = [f"{backend}: {target}({p.name})" for backend in BACKENDS for target, fn in _targets(backend).items()
               for p in _parameters(fn) if _kind(target, p.name) not in KINDS]
    assert not missing, f"parameters with no contract in this catalogue: {missing}"
    no_valid_call = sorted({t for b in BACKENDS for t in _targets(b)} - set(VALID))
    assert not no_valid_call, f"entry points with no valid call in VALID: {no_valid_call}"


def test_the_catalogue_is_large_and_covers_both_backends():
    per_backend = {b: sum(1 for c in CASES if c.values[0] == b) for b in BACKENDS}
    assert per_backend["torch"] == per_backend["keras"] > 300, per_backend


@pytest.mark.parametrize("backend,target,param,label", CASES)
def test_a_wrong_argument_gets_one_line_naming_it(worlds, backend, target, param, label):
    w = worlds[backend]
    kwargs = VALID[target](w)
    kwargs[param] = _wrong(w, target, param, label, kwargs)
    with pytest.raises((ValueError, TypeError, OSError)) as caught:
        _call(w, target, kwargs)
    message = str(caught.value)
    named = message.split(":")[0].split("[")[0]  # "weights['encoder.mu.bias']: ..." names weights
    assert named == param or named in PARTNERS.get((target, param, label), ()), \
        f"{type(caught.value).__name__}: {message}"
    assert "\n" not in message.strip(), message


def _numpy_scalars(value: Any) -> Any:
    """The value as NumPy users pass it: np.int64 for ints, np.float32 for floats."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return np.int64(value)
    if isinstance(value, float):
        return np.float32(value)
    return value


@pytest.mark.parametrize("backend,target", [(b, t) for b in BACKENDS for t in sorted(_targets(b))])
def test_numpy_scalars_and_valid_values_are_accepted(worlds, backend, target):
    w = worlds[backend]
    kwargs = {name: _numpy_scalars(value) for name, value in VALID[target](w).items()}
    _call(w, target, kwargs)  # must not raise
