"""Sentence VAE and RNN language model for chapter 5 (PyTorch).

A :class:`SentenceVAE` (Bowman et al., 2016) reads a sentence with a GRU, maps its final
hidden state to a diagonal-Gaussian posterior over z, and decodes the sentence with a second
GRU whose initial state is a function of z. :class:`RNNLanguageModel` is the same decoder
without a latent: the baseline a text VAE has to beat.

Token batches are integer arrays (B, T) holding ``w1 .. wn <eos>`` followed by ``<pad>``
(id 0), as :func:`vaelib.data.pad_batch` makes them. The decoder reads ``<bos> w1 .. wn``
(teacher forcing) and predicts ``w1 .. wn <eos>``. Every per-sentence number (NLL, KL,
ELBO) is in nats, summed over the sentence's tokens, with padding masked out.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vaelib._checks import (check_flag, check_int, check_optional_seed, check_positive_int, check_positive_number, check_seed,
                            user_array)
from vaelib._docs import shared_doc
from vaelib._fit import prepare_text_fit
from vaelib._text_eval import EVALUATE_TEXT_DOC, evaluate_sentences
from vaelib._text import (BOS, EOS, PAD, UNK, check_dropout_args, check_sentence, check_text_model, check_token_ids,
                          check_tokens, decode_loop, text_model_args, text_model_config)
from vaelib._types import ELBOTerms, History
from vaelib.data import batches_by_length
from vaelib.torch.kernels import free_bits_kl, gaussian_kl, gaussian_kl_per_dim, log_normal_pdf, reparameterize
from vaelib.torch.train import run_epochs
from vaelib.torch.utils import default_device, float_tensor, seed_everything, to_numpy

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
    seed: int | torch.Generator | None = None,
) -> torch.Tensor:
    """Replace each word by ``<unk>`` with probability ``rate`` (Bowman et al., 2016).

    Applied to the decoder's input, it weakens the decoder's view of the previous words, so
    it has to rely on z. Special tokens (``<pad>``, ``<bos>``, ``<eos>``) are never touched.

    Parameters
    ----------
    tokens : Tensor or array_like of int, any shape
        Token ids.
    rate : float in [0, 1]
        Probability of replacing a word (0: unchanged, 1: every word becomes ``<unk>``).
    unk_id : int
        The id written in place of a dropped word.
    special_ids : sequence of int
        Ids that are never replaced.
    seed : int or torch.Generator, optional
        Random source (an int gives a reproducible draw); the global generator, seeded by
        ``seed_everything``, when omitted.

    Returns
    -------
    Tensor of int64
        Same shape as ``tokens``.
    """
    rate, unk_id, special_ids = check_dropout_args(rate, unk_id, special_ids)
    if isinstance(tokens, torch.Tensor):
        check_token_ids("tokens", tokens.detach().cpu().numpy())
    else:
        values = user_array("tokens", tokens, what="an array of token ids")
        check_token_ids("tokens", values)
        tokens = torch.as_tensor(values, dtype=torch.int64)
    if seed is not None and not isinstance(seed, torch.Generator):
        seed = torch.Generator(device=tokens.device).manual_seed(check_seed(seed))
    return _drop_words(tokens, rate, unk_id, special_ids, seed)


def _drop_words(tokens: torch.Tensor, rate: float, unk_id: int, special_ids: Sequence[int],
                generator: torch.Generator | None) -> torch.Tensor:
    """Word dropout itself, unchecked (the decoder calls it on every training batch)."""
    if rate == 0.0:
        return tokens
    special = torch.zeros_like(tokens, dtype=torch.bool)
    for sid in special_ids:
        special |= tokens == sid
    drop = torch.rand(tokens.shape, generator=generator, device=tokens.device) < rate
    return torch.where(drop & ~special, torch.full_like(tokens, unk_id), tokens)


# -- models -------------------------------------------------------------------------------
class _TextModel(nn.Module):
    """What the VAE and the language model share: embedding, decoder GRU, output layer."""

    latent_dim = 0

    def __init__(self, vocab_size: int, embed_dim: int, hidden_dim: int, word_dropout: float,
                 pad_id: int, bos_id: int, eos_id: int, unk_id: int) -> None:
        super().__init__()
        vocab_size, embed_dim, hidden_dim, self.word_dropout_rate, ids = text_model_args(
            vocab_size, embed_dim, hidden_dim, word_dropout, pad_id=pad_id, bos_id=bos_id, eos_id=eos_id, unk_id=unk_id)
        self.vocab_size, self.embed_dim, self.hidden_dim = vocab_size, embed_dim, hidden_dim
        self.pad_id, self.bos_id, self.eos_id, self.unk_id = ids["pad_id"], ids["bos_id"], ids["eos_id"], ids["unk_id"]
        self.config = text_model_config(self)  # the constructor's arguments: what a checkpoint rebuilds from
        self.free_bits = 0.0  # nats per latent dimension; fit_text sets it
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        nn.init.uniform_(self.embedding.weight, -0.05, 0.05)  # Keras's default, for alike training
        self.decoder_rnn = nn.GRU(embed_dim, hidden_dim, batch_first=True)
        self.output_layer = nn.Linear(hidden_dim, vocab_size)

    @property
    def device(self) -> torch.device:
        """Where the parameters live."""
        return next(self.parameters()).device

    def _tokens(self, tokens: Any, name: str = "tokens") -> torch.Tensor:
        arr = check_tokens(name, tokens, self.vocab_size, self.pad_id)
        return torch.as_tensor(arr, device=self.device)

    def _decoder_inputs(self, tokens: torch.Tensor, rate: float) -> torch.Tensor:
        """``<bos> w1 .. wn`` (teacher forcing), with word dropout at ``rate``."""
        bos = torch.full_like(tokens[:, :1], self.bos_id)
        inputs = torch.cat([bos, tokens[:, :-1]], dim=1)
        inputs = inputs.masked_fill(tokens == self.pad_id, self.pad_id)
        if rate > 0:
            inputs = _drop_words(inputs, rate, self.unk_id, (self.pad_id, self.bos_id, self.eos_id), None)
        return inputs

    def _initial_state(self, z: torch.Tensor | None, batch: int) -> torch.Tensor:
        return torch.zeros(1, batch, self.hidden_dim, device=self.device)

    def sentence_nll(self, tokens: torch.Tensor, z: torch.Tensor | None, rate: float = 0.0) -> torch.Tensor:
        """-log p(sentence | z) per sentence (B,), summed over real tokens (``<eos>`` included)."""
        inputs = self._decoder_inputs(tokens, rate)
        h0 = self._initial_state(z, tokens.shape[0])
        states, _ = self.decoder_rnn(self.embedding(inputs), h0)
        logp = F.log_softmax(self.output_layer(states), dim=-1)
        token_logp = logp.gather(-1, tokens.unsqueeze(-1)).squeeze(-1)
        mask = (tokens != self.pad_id).to(token_logp.dtype)
        return -(token_logp * mask).sum(1)

    def step(self, token_ids: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One decoding step: logits (N, V) of the next word and the new state (N, H)."""
        out, new = self.decoder_rnn(self.embedding(token_ids[:, None]), state[None])
        return self.output_layer(out[:, 0]), new[0]


@shared_doc("torch")
class SentenceVAE(_TextModel):

    def __init__(self, vocab_size: int, embed_dim: int = 128, hidden_dim: int = 256, latent_dim: int = 16,
                 word_dropout: float = 0.0, pad_id: int = PAD, bos_id: int = BOS, eos_id: int = EOS,
                 unk_id: int = UNK) -> None:
        super().__init__(vocab_size, embed_dim, hidden_dim, word_dropout, pad_id, bos_id, eos_id, unk_id)
        self.latent_dim = latent_dim = check_positive_int("latent_dim", latent_dim)
        self.config["latent_dim"] = self.latent_dim
        embed_dim, hidden_dim = self.embed_dim, self.hidden_dim
        self.encoder_rnn = nn.GRU(embed_dim, hidden_dim, batch_first=True)
        self.to_mu = nn.Linear(hidden_dim, latent_dim)
        self.to_logvar = nn.Linear(hidden_dim, latent_dim)
        self.latent_to_hidden = nn.Linear(latent_dim, hidden_dim)
        self.to(default_device())

    def _encode(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        states, _ = self.encoder_rnn(self.embedding(tokens))
        # The state after each sentence's last real token: padding never reaches it.
        last = (tokens != self.pad_id).sum(1) - 1
        h = states[torch.arange(tokens.shape[0], device=tokens.device), last]
        return self.to_mu(h), self.to_logvar(h)

    def encode(self, tokens: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior parameters ``(mu, logvar)``, each (B, latent_dim)."""
        return self._encode(self._tokens(tokens))

    def _initial_state(self, z: torch.Tensor | None, batch: int) -> torch.Tensor:
        return torch.tanh(self.latent_to_hidden(z))[None]

    def _check_z(self, z: Any, batch: int | None = None, name: str = "z") -> torch.Tensor:
        """Latent codes (batch, latent_dim) as a finite float32 tensor on the model's device."""
        return float_tensor(name, z, self.device, shape=(batch, self.latent_dim), nonempty=True, dtype=torch.float32)

    def _nll_and_posterior(self, tokens: torch.Tensor, eps: torch.Tensor | None, rate: float) -> tuple:
        mu, logvar = self._encode(tokens)
        if eps is None:
            eps = torch.randn_like(mu)
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
            eps = self._check_z(eps, tokens.shape[0], name="eps")
        nll, mu, logvar = self._nll_and_posterior(tokens, eps, 0.0)
        kl = gaussian_kl(mu, logvar)
        return ELBOTerms.weighted(-nll, kl)

    def loss_terms(self, tokens: torch.Tensor, beta: float = 1.0) -> dict[str, torch.Tensor]:
        """Batch means for training: ``loss = NLL + beta * KL`` (KL with free bits) and logs.

        Word dropout applies in training mode. Unvalidated: ``fit_text`` checks the data once.
        """
        rate = self.word_dropout_rate if self.training else 0.0
        nll, mu, logvar = self._nll_and_posterior(tokens, None, rate)
        kl_dims = gaussian_kl_per_dim(mu, logvar)
        kl_term = free_bits_kl(kl_dims, self.free_bits) if self.free_bits > 0 else kl_dims.sum(1).mean()
        return {"loss": nll.mean() + beta * kl_term, "nll": nll.mean(), "kl": kl_dims.sum(1).mean()}

    @torch.no_grad()
    def log_weights(self, tokens: Any, eps: Any) -> torch.Tensor:
        """Importance log-weights ``log p(x|z) + log p(z) - log q(z|x)`` for noise eps (K, B, D)."""
        tokens = self._tokens(tokens)
        eps = float_tensor("eps", eps, self.device, shape=(None, tokens.shape[0], self.latent_dim), nonempty=True,
                           dtype=torch.float32)
        mu, logvar = self._encode(tokens)
        k, b = eps.shape[0], tokens.shape[0]
        z = reparameterize(mu, logvar, eps)  # (K, B, D)
        nll = self.sentence_nll(tokens.repeat(k, 1), z.reshape(k * b, -1)).reshape(k, b)
        log_prior = log_normal_pdf(z, torch.zeros_like(z), torch.zeros_like(z))
        log_q = log_normal_pdf(z, mu, logvar)
        return -nll + log_prior - log_q


@shared_doc("torch")
class RNNLanguageModel(_TextModel):

    def __init__(self, vocab_size: int, embed_dim: int = 128, hidden_dim: int = 256, word_dropout: float = 0.0,
                 pad_id: int = PAD, bos_id: int = BOS, eos_id: int = EOS, unk_id: int = UNK) -> None:
        super().__init__(vocab_size, embed_dim, hidden_dim, word_dropout, pad_id, bos_id, eos_id, unk_id)
        self.to(default_device())

    def elbo(self, tokens: Any, eps: Any = None) -> ELBOTerms:
        """The exact log-likelihood per sentence, as ``ELBOTerms`` with a zero KL (``eps``: None or (B, 0))."""
        tokens = self._tokens(tokens)
        _no_latent_noise(eps, int(tokens.shape[0]))
        ll = -self.sentence_nll(tokens, None)
        return ELBOTerms(ll, ll, torch.zeros_like(ll))

    def loss_terms(self, tokens: torch.Tensor, beta: float = 1.0) -> dict[str, torch.Tensor]:
        """Batch means: ``loss = NLL`` (beta is ignored: there is no KL)."""
        rate = self.word_dropout_rate if self.training else 0.0
        nll = self.sentence_nll(tokens, None, rate)
        return {"loss": nll.mean(), "nll": nll.mean(), "kl": torch.zeros((), device=nll.device)}


# -- decoding -----------------------------------------------------------------------------
def _check_vae(model: Any, what: str) -> None:
    if not isinstance(model, SentenceVAE):
        raise TypeError(f"model: {what} needs a SentenceVAE, got {type(model).__name__}")


def _no_latent_noise(eps: Any, batch: int) -> None:
    """A language model has no latent code: its noise is None or empty, (batch, 0)."""
    if eps is not None:
        float_tensor("eps", eps, shape=(batch, 0))


@torch.no_grad()
def _decode(model: _TextModel, state: torch.Tensor, max_length: int, temperature: float | None,
            rng: np.random.Generator | None, allow_unk: bool = True) -> np.ndarray:
    """Run the decoder from ``state`` (N, H) through the shared loop; greedy when ``temperature`` is None."""

    def step(tokens: np.ndarray) -> torch.Tensor:
        nonlocal state
        logits, state = model.step(torch.as_tensor(tokens, device=model.device), state)
        return logits

    return decode_loop(step, model, int(state.shape[0]), max_length, temperature=temperature, rng=rng,
                       allow_unk=allow_unk)


@shared_doc("torch")
def greedy_decode(model: SentenceVAE, z: Any, max_length: int = 30, allow_unk: bool = True) -> np.ndarray:
    _check_vae(model, "greedy_decode")
    z = model._check_z(z)
    return _decode(model, model._initial_state(z, 0)[0], max_length, None, None, allow_unk)


def sample_decode(model: SentenceVAE, z: Any, max_length: int = 30, temperature: float = 1.0,
                  seed: int | None = None, allow_unk: bool = True) -> np.ndarray:
    """Decode by sampling each word from the decoder's softmax at ``temperature``.

    Same arguments and result as :func:`greedy_decode`, plus ``temperature`` (> 0) and ``seed``.
    """
    _check_vae(model, "sample_decode")
    temperature = check_positive_number("temperature", temperature)
    z = model._check_z(z)
    rng = np.random.default_rng(check_optional_seed(seed))
    return _decode(model, model._initial_state(z, 0)[0], max_length, temperature, rng, allow_unk)


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
        state = model._initial_state(model._check_z(z), n)[0]
    elif isinstance(model, RNNLanguageModel):
        state = model._initial_state(None, n)[0]
    else:
        raise TypeError(f"model: expected a SentenceVAE or RNNLanguageModel, got {type(model).__name__}")
    return _decode(model, state, max_length, None if greedy else temperature, rng, allow_unk)


@shared_doc("torch")
def homotopy(model: SentenceVAE, tokens_a: Any, tokens_b: Any, steps: int = 5, max_length: int = 30,
             allow_unk: bool = True) -> np.ndarray:
    _check_vae(model, "homotopy")
    steps = check_int("steps", steps, minimum=2)
    ends = [check_sentence(name, tokens, model.vocab_size, model.pad_id)
            for name, tokens in (("tokens_a", tokens_a), ("tokens_b", tokens_b))]
    with torch.no_grad():
        mu_a, _ = model.encode(ends[:1])
        mu_b, _ = model.encode(ends[1:])
        t = torch.linspace(0.0, 1.0, steps, device=model.device)[:, None]
        z = (1 - t) * mu_a + t * mu_b
    return greedy_decode(model, to_numpy(z), max_length, allow_unk)


# -- evaluation ---------------------------------------------------------------------------
def evaluate_text(model: _TextModel, sequences: Any, batch_size: int = 64, k: int = 10, seed: int = 0,
                  chunk_size: int = 128) -> dict[str, float]:
    check_text_model(model)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            return evaluate_sentences(model, sequences, batch_size, k, seed, chunk_size,
                                      is_vae=isinstance(model, SentenceVAE), to_numpy=to_numpy)
    finally:
        model.train(was_training)


evaluate_text.__doc__ = EVALUATE_TEXT_DOC


# -- training -----------------------------------------------------------------------------
def fit_text(model: _TextModel, train_seqs: Any, valid_seqs: Any = None, *, epochs: int = 10,
             batch_size: int = 32, learning_rate: Any = 1e-3, beta: Any = 1.0, free_bits: float = 0.0,
             word_dropout: float | None = None, seed: int | None = None, verbose: bool = True) -> History:
    """Train a text model with Adam on batches of sentences of similar length.

    Parameters
    ----------
    model : SentenceVAE or RNNLanguageModel
    train_seqs, valid_seqs : list of int arrays (``w1 .. wn <eos>``)
    epochs, batch_size
        The budget.
    learning_rate : float or schedule
        Adam's step size (epsilon 1e-8), or a callable ``step -> step size`` from :mod:`vaelib.schedules`.
    beta : float or schedule
        KL weight, or a callable ``step -> beta`` from :mod:`vaelib.schedules` (KL annealing).
    free_bits : float
        Nats per latent dimension that cost nothing (Kingma et al., 2016); 0 turns it off.
    word_dropout : float, optional
        The decoder's word-dropout rate for this run (default: the model's own).
    seed : int, optional
        Seeds everything first (:func:`seed_everything`): the same seed, the same losses.
    verbose : bool
        Show a tqdm progress bar (stderr) and a line per epoch.

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
                                          seed_everything=seed_everything)
    device = model.device

    def train_batches() -> Iterable[torch.Tensor]:
        order_seed = int(np.random.randint(2**31))  # drawn from the seeded global generator
        for batch in batches_by_length(train, batch_size, shuffle=True, seed=order_seed):
            yield torch.as_tensor(batch, device=device)

    def val_batches() -> Iterable[torch.Tensor]:
        assert valid is not None
        return (torch.as_tensor(b, device=device) for b in batches_by_length(valid, 64, shuffle=False))

    saved = (model.free_bits, model.word_dropout_rate)
    model.free_bits, model.word_dropout_rate = float(free_bits), rate
    try:
        return run_epochs(model, train_batches, val_batches if valid is not None else None, epochs=epochs,
                          learning_rate=learning_rate, beta=beta, steps_per_epoch=math.ceil(len(train) / batch_size),
                          verbose=verbose)
    finally:
        model.free_bits, model.word_dropout_rate = saved
        model.eval()
