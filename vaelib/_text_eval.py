"""The held-out metrics of the text models, computed once for both backends (framework-free).

Each backend's ``evaluate_text`` puts its model in inference mode and calls
:func:`evaluate_sentences` with its own ``to_numpy``; batching, the NumPy noise and the sums
are here, so the two cannot drift.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from vaelib import metrics
from vaelib._checks import check_positive_int, check_seed
from vaelib._text import check_sequences
from vaelib.data import pad_batch

__all__ = ["EVALUATE_TEXT_DOC", "evaluate_sentences"]

EVALUATE_TEXT_DOC = """Held-out metrics of a text model, per sentence, in nats.

    Parameters
    ----------
    model : SentenceVAE or RNNLanguageModel
    sequences : list of int arrays (``w1 .. wn <eos>``) or a padded (N, T) array
    batch_size : int
        Sentences per forward pass.
    k : int
        Importance samples per sentence for the NLL bound (Burda et al., 2016).
    seed : int
        Seed of the NumPy noise: the same in both backends, so the same weights give the
        same numbers.
    chunk_size : int
        At most this many decoder rows (samples x sentences) per pass, to bound memory.

    Returns
    -------
    dict
        ``nll``: importance-weighted estimate of -log p(x) (exact for the language model);
        ``neg_elbo``; ``reconstruction``: -E_q log p(x|z) (one sample); ``kl``;
        ``perplexity``: exp(total nll / total tokens, ``<eos>`` counted);
        ``active_units``; ``sentences``; ``tokens``.
    """


def evaluate_sentences(model: Any, sequences: Any, batch_size: int, k: int, seed: int, chunk_size: int, *,
                       is_vae: bool, to_numpy: Callable[[Any], np.ndarray]) -> dict[str, float]:
    """``evaluate_text``'s checks and loop; ``model`` is in inference mode already."""
    seqs = check_sequences("sequences", sequences, model.vocab_size, model.pad_id)
    batch_size = check_positive_int("batch_size", batch_size)
    k = check_positive_int("k", k)
    chunk_size = check_positive_int("chunk_size", chunk_size)
    rng = np.random.default_rng(check_seed(seed))
    sums = np.zeros(3)  # nll, reconstruction, kl
    mus, n_tokens = [], 0
    for start in range(0, len(seqs), batch_size):
        batch = pad_batch(seqs[start : start + batch_size], pad_id=model.pad_id)
        n_tokens += int((batch != model.pad_id).sum())
        if is_vae:
            b, d = batch.shape[0], model.latent_dim
            terms = model.elbo(batch, eps=rng.standard_normal((b, d)).astype(np.float32))
            mus.append(to_numpy(model.encode(batch)[0]))
            per_chunk = max(1, chunk_size // b)
            logw = [to_numpy(model.log_weights(batch, rng.standard_normal((min(per_chunk, k - c), b, d))))
                    for c in range(0, k, per_chunk)]
            nll = -metrics.log_mean_exp(np.concatenate(logw, 0), axis=0)
        else:
            terms = model.elbo(batch)
            nll = -to_numpy(terms.log_likelihood).astype(np.float64)
        sums += [nll.sum(), -to_numpy(terms.log_likelihood).sum(), to_numpy(terms.kl).sum()]
    n = len(seqs)
    nll, recon, kl = (float(v) / n for v in sums)
    return {
        "nll": nll,
        "neg_elbo": recon + kl,
        "reconstruction": recon,
        "kl": kl,
        "perplexity": math.exp(float(sums[0]) / n_tokens),
        "active_units": metrics.active_units(np.concatenate(mus)) if is_vae and n > 1 else 0,
        "sentences": n,
        "tokens": n_tokens,
    }
