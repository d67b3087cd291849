"""Sentence VAE and RNN language model for chapter 5 (Keras 3, ``keras.ops`` and ``keras.random``).

The twin of :mod:`vaelib.torch.text`: the same classes, functions, arguments and layer names
(the keys of the canonical weight layout), so weights carry across and give the same numbers.
Token batches are integer arrays (B, T) holding ``w1 .. wn <eos>`` then ``<pad>`` (id 0); the
decoder reads ``<bos> w1 .. wn`` and predicts ``w1 .. wn <eos>``. Per-sentence numbers are
in nats, summed over the sentence's tokens, with padding masked out.
"""

from __future__ import annotations

import functools
from typing import Any, Sequence

import numpy as np

from vaelib._checks import check_flag, check_int, check_optional_seed, check_positive_int, check_positive_number, check_seed
from vaelib._docs import shared_doc
from vaelib._fit import prepare_text_fit
from vaelib._text_eval import EVALUATE_TEXT_DOC, evaluate_sentences
from vaelib._text import (BOS, EOS, PAD, UNK, check_dropout_args, check_sentence, check_text_model, check_token_ids,
                          check_tokens, decode_loop, text_model_args, text_model_config)
from vaelib._types import ELBOTerms, History
from vaelib.data import batches_by_length
from vaelib.keras._backend import keras, tf
from vaelib.keras.kernels import free_bits_kl, gaussian_kl, gaussian_kl_per_dim, log_normal_pdf, reparameterize
from vaelib.keras.train import TrainableModel, run_fit
from vaelib.keras.utils import float_tensor, is_symbolic, tensor_values, seed_fit_run, to_numpy

ops = keras.ops
layers = keras.layers

__all__ = [
    "SentenceVAE",
    "RNNLanguageModel",
    "word_dropout",
    "greedy_decode",
    "sample_decode",
    "sample_prior",
    "homotopy",
    "evaluate_text",
    "fit_text",
]


# -- word dropout -------------------------------------------------------------------------
def word_dropout(
    tokens: Any,
    rate: float,
    *,
    unk_id: int = UNK,
    special_ids: Sequence[int] = (PAD, BOS, EOS),
    seed: Any = None,
) -> Any:
    """Replace each word by ``<unk>`` with probability ``rate`` (Bowman et al., 2016).

    Applied to the decoder's input, it weakens the decoder's view of the previous words, so
    it has to rely on z. Special tokens (``<pad>``, ``<bos>``, ``<eos>``) are never touched.

    Parameters
    ----------
    tokens : tensor or array_like of int, any shape
        Token ids.
    rate : float in [0, 1]
        Probability of replacing a word (0: unchanged, 1: every word becomes ``<unk>``).
    unk_id : int
        The id written in place of a dropped word.
    special_ids : sequence of int
        Ids that are never replaced.
    seed : int or keras.random.SeedGenerator, optional
        Random source (an int gives a reproducible draw).

    Returns
    -------
    tensor of int
        Same shape and dtype as ``tokens``.
    """
    rate, unk_id, special_ids = check_dropout_args(rate, unk_id, special_ids)
    if is_symbolic(tokens):  # traced: no values to check yet, only the dtype
        if not tf.as_dtype(tokens.dtype).is_integer:
            raise TypeError(f"tokens: expected integer token ids, got dtype {tokens.dtype}")
    else:
        values = tensor_values("tokens", tokens, "an array of token ids")
        check_token_ids("tokens", values)
        tokens = tokens if tf.is_tensor(tokens) else ops.convert_to_tensor(values.astype(np.int64))
    if seed is not None and not isinstance(seed, keras.random.SeedGenerator):
        seed = check_seed(seed)
    return _drop_words(tokens, rate, unk_id, special_ids, seed)


def _drop_words(tokens: Any, rate: float, unk_id: int, special_ids: Sequence[int], seed: Any) -> Any:
    """Word dropout itself, unchecked (the traced training step calls it on every batch)."""
    if rate == 0.0:
        return tokens
    special = ops.zeros_like(tokens, dtype="bool")
    for sid in special_ids:
        special = ops.logical_or(special, ops.equal(tokens, sid))
    drop = keras.random.uniform(ops.shape(tokens), seed=seed) < rate
    return ops.where(ops.logical_and(drop, ops.logical_not(special)), ops.full_like(tokens, unk_id), tokens)


# -- compiled forward passes --------------------------------------------------------------
# Outside fit, Keras runs eagerly, and an eager GRU steps through time in Python: slow. These
# graph-compiled passes (traced once per model and input signature) serve evaluation and decoding.
@tf.function(reduce_retracing=True)
def _graph_encode(model: Any, tokens: Any) -> Any:
    return model._encode(tokens)


@tf.function(reduce_retracing=True)
def _graph_terms(model: Any, tokens: Any, eps: Any) -> Any:
    return model._nll_and_posterior(tokens, eps, 0.0)


@tf.function(reduce_retracing=True)
def _graph_nll(model: Any, tokens: Any, z: Any) -> Any:
    return model.sentence_nll(tokens, z)


@tf.function(reduce_retracing=True)
def _graph_step(model: Any, token_ids: Any, state: Any) -> Any:
    return model.step(token_ids, state)


# -- models -------------------------------------------------------------------------------
class _GRU(layers.GRU):
    """A GRU (reset_after=True, torch's formula) whose weights sit under the layer's own path.

    Keras keeps a GRU's variables in a ``cell`` sub-layer; keeping that cell off the public
    attributes makes the canonical keys ``"decoder_rnn.kernel"``, as vaelib.torch names them.
    """

    @property
    def cell(self) -> Any:
        return self._gru_cell

    @cell.setter
    def cell(self, value: Any) -> None:
        self._gru_cell = value


class _TextModel(TrainableModel):
    """What the VAE and the language model share: embedding, decoder GRU, output layer."""

    metric_names = ("loss", "nll", "kl")
    traced_attributes = ("binarize", "free_bits", "word_dropout_rate")
    latent_dim = 0

    def __init__(self, vocab_size: int, embed_dim: int, hidden_dim: int, word_dropout: float,
                 pad_id: int, bos_id: int, eos_id: int, unk_id: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        vocab_size, embed_dim, hidden_dim, self.word_dropout_rate, ids = text_model_args(
            vocab_size, embed_dim, hidden_dim, word_dropout, pad_id=pad_id, bos_id=bos_id, eos_id=eos_id, unk_id=unk_id)
        self.vocab_size, self.embed_dim, self.hidden_dim = vocab_size, embed_dim, hidden_dim
        self.pad_id, self.bos_id, self.eos_id, self.unk_id = ids["pad_id"], ids["bos_id"], ids["eos_id"], ids["unk_id"]
        self.config = text_model_config(self)  # the constructor's arguments: what a checkpoint rebuilds from
        self.free_bits = 0.0  # nats per latent dimension; fit_text sets it
        self.embedding = layers.Embedding(vocab_size, embed_dim, name="embedding")
        self.decoder_rnn = _GRU(hidden_dim, return_sequences=True, return_state=True, reset_after=True,
                                      name="decoder_rnn")
        self.output_layer = layers.Dense(vocab_size, name="output")
        self.noise = keras.random.SeedGenerator(name="noise")

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), **self.config}

    def _tokens(self, tokens: Any, name: str = "tokens") -> Any:
        return ops.convert_to_tensor(check_tokens(name, tokens, self.vocab_size, self.pad_id).astype(np.int32))

    def _decoder_inputs(self, tokens: Any, rate: float) -> Any:
        """``<bos> w1 .. wn`` (teacher forcing), with word dropout at ``rate``."""
        bos = ops.full_like(tokens[:, :1], self.bos_id)
        inputs = ops.concatenate([bos, tokens[:, :-1]], axis=1)
        inputs = ops.where(ops.equal(tokens, self.pad_id), ops.full_like(inputs, self.pad_id), inputs)
        if rate > 0:
            inputs = _drop_words(inputs, rate, self.unk_id, (self.pad_id, self.bos_id, self.eos_id), self.noise)
        return inputs

    def _initial_state(self, z: Any, batch: Any) -> Any:
        return ops.zeros((batch, self.hidden_dim))

    def sentence_nll(self, tokens: Any, z: Any, rate: float = 0.0) -> Any:
        """-log p(sentence | z) per sentence (B,), summed over real tokens (``<eos>`` included)."""
        inputs = self._decoder_inputs(tokens, rate)
        h0 = self._initial_state(z, ops.shape(tokens)[0])
        states, _ = self.decoder_rnn(self.embedding(inputs), initial_state=h0)
        logp = ops.log_softmax(self.output_layer(states), axis=-1)
        token_logp = ops.squeeze(ops.take_along_axis(logp, ops.expand_dims(tokens, -1), axis=-1), -1)
        mask = ops.cast(ops.not_equal(tokens, self.pad_id), token_logp.dtype)
        return -ops.sum(token_logp * mask, axis=1)

    def step(self, token_ids: Any, state: Any) -> tuple[Any, Any]:
        """One decoding step: logits (N, V) of the next word and the new state (N, H)."""
        out, new = self.decoder_rnn(self.embedding(token_ids[:, None]), initial_state=state)
        return self.output_layer(out[:, 0]), new

    def call(self, tokens: Any) -> Any:
        """Per-sentence NLL at the posterior mean (builds every layer)."""
        raise NotImplementedError


@shared_doc("keras")
@keras.saving.register_keras_serializable(package="vaelib")
class SentenceVAE(_TextModel):

    def __init__(self, vocab_size: int, embed_dim: int = 128, hidden_dim: int = 256, latent_dim: int = 16,
                 word_dropout: float = 0.0, pad_id: int = PAD, bos_id: int = BOS, eos_id: int = EOS,
                 unk_id: int = UNK, **kwargs: Any) -> None:
        super().__init__(vocab_size, embed_dim, hidden_dim, word_dropout, pad_id, bos_id, eos_id, unk_id, **kwargs)
        self.latent_dim = latent_dim = check_positive_int("latent_dim", latent_dim)
        hidden_dim = self.hidden_dim
        self.config["latent_dim"] = self.latent_dim
        self.encoder_rnn = _GRU(hidden_dim, return_sequences=True, reset_after=True, name="encoder_rnn")
        self.to_mu = layers.Dense(latent_dim, name="to_mu")
        self.to_logvar = layers.Dense(latent_dim, name="to_logvar")
        self.latent_to_hidden = layers.Dense(hidden_dim, name="latent_to_hidden")
        self(np.full((1, 2), eos_id, dtype=np.int32))  # build now: weights exist from the start

    def call(self, tokens: Any) -> Any:
        mu, _ = self._encode(tokens)
        return self.sentence_nll(tokens, mu)

    def _encode(self, tokens: Any) -> tuple[Any, Any]:
        states = self.encoder_rnn(self.embedding(tokens))
        # The state after each sentence's last real token: padding never reaches it.
        last = ops.sum(ops.cast(ops.not_equal(tokens, self.pad_id), "int32"), axis=1) - 1
        h = ops.take_along_axis(states, ops.reshape(last, (-1, 1, 1)), axis=1)[:, 0]
        return self.to_mu(h), self.to_logvar(h)

    def encode(self, tokens: Any) -> tuple[Any, Any]:
        """Posterior parameters ``(mu, logvar)``, each (B, latent_dim)."""
        return _graph_encode(self, self._tokens(tokens))

    def _initial_state(self, z: Any, batch: Any) -> Any:
        return ops.tanh(self.latent_to_hidden(z))

    def _check_z(self, z: Any, batch: int | None = None, name: str = "z") -> Any:
        """Latent codes (batch, latent_dim) as a finite float32 tensor."""
        return float_tensor(name, z, shape=(batch, self.latent_dim), nonempty=True, dtype="float32")

    def _nll_and_posterior(self, tokens: Any, eps: Any, rate: float) -> tuple:
        mu, logvar = self._encode(tokens)
        if eps is None:
            eps = keras.random.normal(ops.shape(mu), seed=self.noise)
        z = reparameterize(mu, logvar, eps)
        return self.sentence_nll(tokens, z, rate), mu, logvar

    def elbo(self, tokens: Any, eps: Any = None) -> ELBOTerms:
        """Per-sentence ELBO and its terms, in nats (one posterior sample).

        Parameters
        ----------
        tokens : array_like of int, shape (B, T)
            ``w1 .. wn <eos>`` then padding.
        eps : array_like, shape (B, latent_dim), optional
            The reparameterization noise; pass the same to both backends for the same numbers.

        Returns
        -------
        ELBOTerms
            ``(elbo, log_likelihood, kl)``, each a tensor (B,); no word dropout.
        """
        tokens = self._tokens(tokens)
        if eps is not None:
            eps = self._check_z(eps, int(tokens.shape[0]), name="eps")
        if eps is None:
            eps = keras.random.normal((int(tokens.shape[0]), self.latent_dim), seed=self.noise)
        nll, mu, logvar = _graph_terms(self, tokens, eps)
        kl = gaussian_kl(mu, logvar)
        return ELBOTerms.weighted(-nll, kl)

    def loss_terms(self, tokens: Any, beta: Any = 1.0, training: bool = False) -> dict[str, Any]:
        """Batch means for training: ``loss = NLL + beta * KL`` (KL with free bits) and logs.

        Word dropout applies when ``training``. Unvalidated: ``fit_text`` checks the data once.
        """
        nll, mu, logvar = self._nll_and_posterior(tokens, None, self.word_dropout_rate if training else 0.0)
        kl_dims = gaussian_kl_per_dim(mu, logvar)
        kl = ops.mean(ops.sum(kl_dims, axis=1))
        kl_term = free_bits_kl(kl_dims, self.free_bits) if self.free_bits > 0 else kl
        return {"loss": ops.mean(nll) + ops.cast(beta, "float32") * kl_term, "nll": ops.mean(nll), "kl": kl}

    def log_weights(self, tokens: Any, eps: Any) -> Any:
        """Importance log-weights ``log p(x|z) + log p(z) - log q(z|x)`` for noise eps (K, B, D)."""
        tokens = self._tokens(tokens)
        eps = float_tensor("eps", eps, shape=(None, int(tokens.shape[0]), self.latent_dim), nonempty=True, dtype="float32")
        mu, logvar = _graph_encode(self, tokens)
        k, b = int(eps.shape[0]), int(tokens.shape[0])
        z = reparameterize(mu, logvar, eps)  # (K, B, D)
        nll = ops.reshape(_graph_nll(self, ops.tile(tokens, (k, 1)), ops.reshape(z, (k * b, -1))), (k, b))
        log_prior = log_normal_pdf(z, ops.zeros_like(z), ops.zeros_like(z))
        log_q = log_normal_pdf(z, mu, logvar)
        return -nll + log_prior - log_q


@shared_doc("keras")
@keras.saving.register_keras_serializable(package="vaelib")
class RNNLanguageModel(_TextModel):

    def __init__(self, vocab_size: int, embed_dim: int = 128, hidden_dim: int = 256, word_dropout: float = 0.0,
                 pad_id: int = PAD, bos_id: int = BOS, eos_id: int = EOS, unk_id: int = UNK, **kwargs: Any) -> None:
        super().__init__(vocab_size, embed_dim, hidden_dim, word_dropout, pad_id, bos_id, eos_id, unk_id, **kwargs)
        self(np.full((1, 2), eos_id, dtype=np.int32))

    def call(self, tokens: Any) -> Any:
        return self.sentence_nll(tokens, None)

    def elbo(self, tokens: Any, eps: Any = None) -> ELBOTerms:
        """The exact log-likelihood per sentence, as ``ELBOTerms`` with a zero KL (``eps``: None or (B, 0))."""
        tokens = self._tokens(tokens)
        _no_latent_noise(eps, int(tokens.shape[0]))
        ll = -_graph_nll(self, tokens, None)
        return ELBOTerms(ll, ll, ops.zeros_like(ll))

    def loss_terms(self, tokens: Any, beta: Any = 1.0, training: bool = False) -> dict[str, Any]:
        """Batch means: ``loss = NLL`` (beta is ignored: there is no KL)."""
        nll = ops.mean(self.sentence_nll(tokens, None, self.word_dropout_rate if training else 0.0))
        return {"loss": nll, "nll": nll, "kl": ops.zeros_like(nll)}


# -- decoding -----------------------------------------------------------------------------
def _check_vae(model: Any, what: str) -> None:
    if not isinstance(model, SentenceVAE):
        raise TypeError(f"model: {what} needs a SentenceVAE, got {type(model).__name__}")


def _no_latent_noise(eps: Any, batch: int) -> None:
    """A language model has no latent code: its noise is None or empty, (batch, 0)."""
    if eps is not None:
        float_tensor("eps", eps, shape=(batch, 0))


def _decode(model: _TextModel, state: Any, max_length: int, temperature: float | None,
            rng: np.random.Generator | None, allow_unk: bool = True) -> np.ndarray:
    """Run the decoder from ``state`` (N, H) through the shared loop; greedy when ``temperature`` is None."""

    def step(tokens: np.ndarray) -> Any:
        nonlocal state
        logits, state = _graph_step(model, ops.convert_to_tensor(tokens.astype(np.int32)), state)
        return logits

    return decode_loop(step, model, int(state.shape[0]), max_length, temperature=temperature, rng=rng,
                       allow_unk=allow_unk)


@shared_doc("keras")
def greedy_decode(model: SentenceVAE, z: Any, max_length: int = 30, allow_unk: bool = True) -> np.ndarray:
    _check_vae(model, "greedy_decode")
    z = model._check_z(z)
    return _decode(model, model._initial_state(z, 0), max_length, None, None, allow_unk)


def sample_decode(model: SentenceVAE, z: Any, max_length: int = 30, temperature: float = 1.0,
                  seed: int | None = None, allow_unk: bool = True) -> np.ndarray:
    """Decode by sampling each word from the decoder's softmax at ``temperature``.

    Same arguments and result as :func:`greedy_decode`, plus ``temperature`` (> 0) and ``seed``.
    """
    _check_vae(model, "sample_decode")
    temperature = check_positive_number("temperature", temperature)
    z = model._check_z(z)
    rng = np.random.default_rng(check_optional_seed(seed))
    return _decode(model, model._initial_state(z, 0), max_length, temperature, rng, allow_unk)


def sample_prior(model: _TextModel, n: int, max_length: int = 30, temperature: float = 1.0,
                 seed: int | None = None, greedy: bool = False, allow_unk: bool = True) -> np.ndarray:
    """Generate n sentences: z ~ N(0, I) then decode (a language model samples from its start).

    ``greedy=True`` decodes each prior draw greedily (a language model then repeats one sentence).
    """
    check_text_model(model)
    n = check_positive_int("n", n)
    temperature = check_positive_number("temperature", temperature)
    greedy = check_flag("greedy", greedy)
    rng = np.random.default_rng(check_optional_seed(seed))
    if isinstance(model, SentenceVAE):
        z = rng.standard_normal((n, model.latent_dim)).astype(np.float32)
        state = model._initial_state(model._check_z(z), n)
    elif isinstance(model, RNNLanguageModel):
        state = model._initial_state(None, n)
    else:
        raise TypeError(f"model: expected a SentenceVAE or RNNLanguageModel, got {type(model).__name__}")
    return _decode(model, state, max_length, None if greedy else temperature, rng, allow_unk)


@shared_doc("keras")
def homotopy(model: SentenceVAE, tokens_a: Any, tokens_b: Any, steps: int = 5, max_length: int = 30,
             allow_unk: bool = True) -> np.ndarray:
    _check_vae(model, "homotopy")
    steps = check_int("steps", steps, minimum=2)
    ends = [check_sentence(name, tokens, model.vocab_size, model.pad_id)
            for name, tokens in (("tokens_a", tokens_a), ("tokens_b", tokens_b))]
    mu_a = to_numpy(model.encode(ends[:1])[0])
    mu_b = to_numpy(model.encode(ends[1:])[0])
    t = np.linspace(0.0, 1.0, steps, dtype=np.float32)[:, None]
    return greedy_decode(model, (1 - t) * mu_a + t * mu_b, max_length, allow_unk)


# -- evaluation ---------------------------------------------------------------------------
def evaluate_text(model: _TextModel, sequences: Any, batch_size: int = 64, k: int = 10, seed: int = 0,
                  chunk_size: int = 128) -> dict[str, float]:
    check_text_model(model)
    return evaluate_sentences(model, sequences, batch_size, k, seed, chunk_size,
                              is_vae=isinstance(model, SentenceVAE), to_numpy=to_numpy)


evaluate_text.__doc__ = EVALUATE_TEXT_DOC


# -- training -----------------------------------------------------------------------------
def _token_dataset(seqs: list[np.ndarray], batch_size: int, shuffle: bool) -> Any:
    """A tf.data pipeline of padded (B, T) int32 batches of similar length.

    Each pass draws a new batch order from NumPy's global generator (seeded by
    ``seed_everything``), as the PyTorch loop does.
    """

    def batches() -> Any:
        order_seed = int(np.random.randint(2**31)) if shuffle else None
        for batch in batches_by_length(seqs, batch_size, shuffle=shuffle, seed=order_seed):
            yield batch.astype(np.int32)

    count = sum(1 for _ in batches_by_length(seqs, batch_size, shuffle=False))
    spec = tf.TensorSpec(shape=(None, None), dtype=tf.int32)
    dataset = tf.data.Dataset.from_generator(batches, output_signature=spec)
    return dataset.apply(tf.data.experimental.assert_cardinality(count))


def fit_text(model: _TextModel, train_seqs: Any, valid_seqs: Any = None, *, epochs: int = 10,
             batch_size: int = 32, learning_rate: Any = 1e-3, beta: Any = 1.0, free_bits: float = 0.0,
             word_dropout: float | None = None, seed: int | None = None, verbose: bool = True) -> History:
    """Train a text model with ``Model.fit`` (custom ``train_step``) on batches of similar length.

    Parameters
    ----------
    model : SentenceVAE or RNNLanguageModel
    train_seqs, valid_seqs : list of int arrays (``w1 .. wn <eos>``)
    epochs, batch_size
        The budget.
    learning_rate : float or schedule
        Adam's step size (epsilon 1e-8), or a callable ``step -> step size`` from :mod:`vaelib.schedules`.
    beta : float or schedule
        KL weight, or a callable ``step -> beta`` from :mod:`vaelib.schedules` (KL annealing),
        applied by a callback before every step.
    free_bits : float
        Nats per latent dimension that cost nothing (Kingma et al., 2016); 0 turns it off.
    word_dropout : float, optional
        The decoder's word-dropout rate for this run (default: the model's own).
    seed : int, optional
        Seeds everything first (:func:`seed_everything`): the same seed, the same losses.
    verbose : bool
        Show Keras's progress bar.

    Returns
    -------
    History
        Per-epoch means of ``loss``, ``nll``, ``kl`` and, with ``valid_seqs``, ``val_*``
        (validation uses no word dropout); ``history.per_step`` holds ``loss``, ``nll`` and
        ``kl`` after every optimizer step (to watch the KL collapse as it happens). A NaN loss
        raises FloatingPointError naming the step.
    """
    train, valid, rate = prepare_text_fit(model, train_seqs, valid_seqs, epochs=epochs, batch_size=batch_size,
                                          learning_rate=learning_rate, beta=beta, free_bits=free_bits,
                                          word_dropout=word_dropout, seed=seed, verbose=verbose,
                                          seed_everything=functools.partial(seed_fit_run, model))
    saved = (model.free_bits, model.word_dropout_rate)
    # Read when fit traces train_step (run_fit compiles afresh, so every call retraces).
    model.free_bits, model.word_dropout_rate = float(free_bits), rate
    try:
        return run_fit(model, _token_dataset(train, batch_size, True),
                       None if valid is None else _token_dataset(valid, 64, False), epochs=epochs,
                       batch_size=None, learning_rate=learning_rate, beta=beta, verbose=verbose)
    finally:
        model.free_bits, model.word_dropout_rate = saved
