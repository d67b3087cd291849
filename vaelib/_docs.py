"""Docstrings of the public API that both backends share, written once (framework-free).

A backend's class or function takes its docstring from here with ``@shared_doc("torch")``
(or ``"keras"``), keyed by its qualified name; ``{backend}`` becomes the backend's name, so
cross-references and examples point at the right twin. Docstrings that differ between the
backends, or that a chapter prints with the code, stay in the source.
"""

from __future__ import annotations

from typing import Callable, TypeVar

__all__ = ["DOCS", "shared_doc"]

_T = TypeVar("_T")

DOCS: dict[str, str] = {
    "ConditionalVAE": """A VAE that models p(x | y): the class label y is an input of encoder and decoder.

The one-hot label is concatenated to the encoder's input features (the pixels for the
MLP, the flattened feature map for the conv net) and to z for the decoder, after Sohn
et al. (2015). The prior stays N(0, I), so ``sample(labels)`` draws images of the
requested classes.

Parameters
----------
num_classes : int
    Number of classes; labels are ``0 .. num_classes - 1``.
architecture, latent_dim, hidden_dim, likelihood
    As for :class:`~vaelib.{backend}.VAE`.

Examples
--------
>>> from vaelib import {backend} as vl
>>> model = vl.ConditionalVAE(num_classes=10, latent_dim=20)
>>> vl.fit_conditional(model, images, labels, epochs=5)
>>> shoes = model.sample([7] * 8)       # eight draws of class 7""",
    "ConditionalVAE.elbo": """Per-example conditional ELBO of log p(x | y) and its terms, in nats.

Parameters
----------
x : array_like, shape (B, 28, 28)
    Images.
y : array_like of int, shape (B,)
    Their class labels.
beta : float
    Weight of the KL term.
eps : array_like, shape (B, latent_dim), optional
    The reparameterization noise; drawn when omitted.

Returns
-------
ELBOTerms
    ``(elbo, log_likelihood, kl)``, each a tensor of shape (B,).""",
    "ConditionalVAE.sample": """One image per requested label, decoded from a prior draw z ~ N(0, I).

Parameters
----------
labels : array_like of int, shape (n,)
    The class of each image, e.g. ``np.repeat(np.arange(10), 8)`` for 8 of each class.
seed : int, optional
    Seed of the prior draws.

Returns
-------
ndarray, shape (n, 28, 28)
    Pixel means.""",
    "IWAE": """The VAE's networks trained on the k-sample importance-weighted bound (Burda et al., 2016).

``log (1/k) sum_j p(x, z_j) / q(z_j | x)`` with ``z_1..z_k ~ q(z | x)``: a lower bound on
log p(x) that tightens as k grows; k = 1 is the ELBO. The model is a :class:`VAE`
(``elbo``, ``sample``, ``iwae_bound`` and ``fit`` work as for any VAE); only the training
objective changes.

Parameters
----------
architecture, latent_dim, hidden_dim, likelihood
    As for :class:`~vaelib.{backend}.VAE`.
k : int
    Importance samples per example in the training objective. Each training example
    costs k decoder evaluations.""",
    "fit_conditional": """Train a :class:`ConditionalVAE` on labelled images: :func:`~vaelib.{backend}.fit` with labels.

``y_train`` holds the class (int, shape (N,)) of each of the N images in ``x_train``;
``x_val`` and ``y_val`` go together (both or neither). Every other argument, and the
returned History (``loss``, ``log_likelihood``, ``kl`` and their ``val_`` twins), is as
for :func:`~vaelib.{backend}.fit`. Labels are checked once, before the first step.""",
    "VAE": """A VAE for 28x28 images: diagonal-Gaussian posterior, standard-normal prior.

Parameters
----------
architecture : {"mlp", "conv"}
    Encoder and decoder networks.
latent_dim : int
    Dimension of z.
hidden_dim : int
    Width of the dense hidden layers.
likelihood : {"bernoulli", "gaussian"}
    Bernoulli pixels (the decoder outputs logits) or Gaussian pixels (the decoder outputs
    means; one learned scalar ``log_sigma``, as in the sigma-VAE of Rybkin et al., 2021).

Examples
--------
>>> from vaelib import {backend} as vl
>>> model = vl.VAE("mlp", latent_dim=20)
>>> terms = model.elbo(images)          # per-example ELBO, log-likelihood and KL, in nats""",
    "VAE.elbo": """Per-example ELBO and its terms, in nats (one-sample estimate of the likelihood term).

Parameters
----------
x : array_like, shape (B, 28, 28)
    Images with values in [0, 1].
beta : float
    Weight of the KL term (1 gives the ELBO; other values the beta-VAE objective).
eps : array_like, shape (B, latent_dim), optional
    The standard-normal noise of the reparameterization; drawn when omitted. Passing
    the same noise to both backends gives the same numbers.

Returns
-------
ELBOTerms
    ``(elbo, log_likelihood, kl)``, each a tensor of shape (B,).""",
    "evaluate": """Mean test ELBO, its terms and (with k) the importance-weighted log p(x) estimate, in nats.

Parameters
----------
model : VAE
    The model to evaluate.
x : array_like, shape (N, 28, 28)
    Test images.
k : int, optional
    Importance samples for ``log_px``; omitted: no log p(x) estimate.
batch_size : int
    Examples per forward pass.
seed : int or None
    Seed of the evaluation noise, so repeated evaluations agree.

Returns
-------
dict
    ``elbo``, ``log_likelihood``, ``kl`` and, with k, ``log_px``: means over the data.""",
    "SentenceVAE": """A sentence VAE: GRU encoder, Gaussian latent, GRU decoder started from z.

Parameters
----------
vocab_size : int
    Number of token ids (``len(vocab)``).
embed_dim, hidden_dim, latent_dim : int
    Word-embedding size (shared by encoder and decoder), GRU state size, size of z.
word_dropout : float in [0, 1]
    Rate at which the decoder's input words become ``<unk>`` during training.
pad_id, bos_id, eos_id, unk_id : int
    Ids of the special tokens (those of :class:`vaelib.data.Vocabulary`).

Examples
--------
>>> from vaelib import {backend} as vl
>>> model = vl.SentenceVAE(vocab_size=len(vocab), latent_dim=16)
>>> terms = model.elbo(batch)        # per-sentence ELBO, log-likelihood and KL, in nats""",
    "RNNLanguageModel": """A GRU language model: the SentenceVAE's decoder without a latent (the baseline).

Parameters
----------
vocab_size, embed_dim, hidden_dim : int
    As in :class:`SentenceVAE`.
word_dropout : float
    Training-time word dropout on the input words (0 by default).
pad_id, bos_id, eos_id, unk_id : int
    Special-token ids.""",
    "greedy_decode": """Decode the most likely word at each step from latents z (N, latent_dim).

``allow_unk=False`` never emits ``<unk>`` (small models otherwise decode mostly ``<unk>``).

Returns
-------
ndarray of int64, shape (N, max_length)
    Ids up to and including ``<eos>``, then ``<pad>`` (``vocab.decode`` reads it).""",
    "homotopy": """Greedy decodings of evenly spaced points between two sentences' posterior means.

Parameters
----------
tokens_a, tokens_b : array_like of int, shape (T,)
    The two sentences (``w1 .. wn <eos>``).
steps : int >= 2
    Number of points, both ends included.

Returns
-------
ndarray of int64, shape (steps, max_length)""",
    "posterior_gaps": """Split each example's ``log p(x) - ELBO`` into the approximation and the amortization gap.

Following Cremer, Li and Duvenaud (2018): for each image, start from the encoder's
q(z|x) = N(mu, exp(logvar)) and run Adam on (mu, logvar) to maximize the reparameterized
ELBO under the model's own decoder and likelihood. The result approximates q*, the best
diagonal Gaussian for that image; then

``log p(x) - ELBO(encoder) = [log p(x) - ELBO(q*)] + [ELBO(q*) - ELBO(encoder)]``.

log p(x) is the importance-weighted bound with K = ``k`` samples from the encoder
(:func:`iwae_bound`): a lower bound, so the approximation gap it gives is, in expectation,
an underestimate. Both ELBOs are averaged over the same ``k`` noise draws, the ones of the
bound, so their difference has little Monte Carlo noise. All noise comes from NumPy: both
backends compute the same numbers from the same weights and seed.

Parameters
----------
model : VAE or IWAE
    A trained image model (not a conditional one); its weights are not changed.
x : array_like, shape (N, 28, 28)
    Images (binarized for a Bernoulli model). All N are optimized together.
steps : int
    Adam steps on each example's (mu, logvar).
learning_rate : float
    Adam's step size.
samples : int
    Noise draws per step for the ELBO's gradient.
k : int
    Importance samples of the log p(x) estimate, and noise draws of the final ELBOs.
seed : int
    Seed of all the noise (NumPy).

Returns
-------
dict of ndarray
    Per example, in nats, shape (N,): ``log_px``, ``elbo_encoder``, ``elbo_optimized``,
    ``approximation_gap`` (``log_px - elbo_optimized``) and ``amortization_gap``
    (``elbo_optimized - elbo_encoder``); ``mu`` and ``logvar``, shape (N, d), the optimized
    Gaussians; and ``trace``, shape (steps,), the mean over the examples of each step's
    Monte Carlo ELBO, to see whether the optimization has settled.

Examples
--------
>>> gaps = vl.posterior_gaps(vl.load_reference("vae_mlp"), x_test[:50])
>>> gaps["amortization_gap"].mean(), gaps["approximation_gap"].mean()""",
    "load_checkpoint": """Rebuild the model saved by :func:`save_checkpoint`; the round trip is exact.

Every weight comes back bit for bit (in PyTorch, on the default device).

Parameters
----------
path : str or path-like
    A file written by :func:`save_checkpoint`.
kind : type, optional
    The model class expected (``vl.SentenceVAE``, say): a checkpoint of another kind is refused.

Raises
------
FileNotFoundError
    No file at ``path``.
ValueError
    The file is no vaelib.{backend} checkpoint (one of the other backend is named as such),
    or it holds another ``kind``.""",
    # -- the checked losses (vaelib.{backend}.losses)
    "gaussian_kl_per_dim": """KL(N(mu, exp(logvar)) || N(0, 1)) for each latent dimension.

``0.5 * (mu^2 + exp(logvar) - 1 - logvar)``, the closed form derived in chapter 2.""",
    "gaussian_kl": """KL(q || p) between a diagonal Gaussian and the standard normal, summed over the last axis.

Parameters
----------
mu, logvar : tensor, shape (..., D)
    Mean and log-variance of q.

Returns
-------
tensor, shape (...)
    The KL divergence in nats, one per example.
""",
    "free_bits_kl": """The batch's KL with "free bits": each dimension's batch-mean KL is clamped below.

``sum_d max(free_bits, mean_batch KL_d)`` (Kingma et al., 2016): a dimension below
``free_bits`` nats costs nothing more, so the optimizer has no reason to shut it off.

Parameters
----------
kl_per_dim : tensor, shape (B, D)
    Per-example, per-dimension KL.
free_bits : float
    The floor, in nats per dimension (0 gives the plain batch-mean KL).

Returns
-------
tensor
    A scalar: the objective's KL term for the batch.
""",
    "bernoulli_log_likelihood": """log p(x | logits) under independent Bernoulli pixels, summed over all but the batch axis.

Computed from the logits, ``x * logits - softplus(logits)``, which is exact where ``sigmoid``
would round to 0 or 1.
""",
    "gaussian_log_likelihood": """log N(x | mean, sigma^2) with one shared ``sigma = exp(log_sigma)``, summed per example.""",
    "log_normal_pdf": """log N(z | mu, diag(exp(logvar))), summed over the last axis.""",
    "reparameterize": """A draw ``z = mu + exp(logvar / 2) * eps`` from N(mu, diag(exp(logvar))): the reparameterization trick.

The noise ``eps`` is standard normal, so z is a differentiable function of mu and logvar
(chapter 3). ``eps`` has mu's shape, or leading sample axes, (K, B, d) for (B, d), that
broadcast against it.
""",
}


def shared_doc(backend: str) -> Callable[[_T], _T]:
    """Decorator: give the object the shared docstring of its qualified name, for ``backend``."""

    def apply(obj: _T) -> _T:
        obj.__doc__ = DOCS[obj.__qualname__].replace("{backend}", backend)  # type: ignore[attr-defined]
        return obj

    return apply
