"""Beyond the vanilla VAE (Keras 3): a conditional VAE and the importance-weighted autoencoder.

The beta-VAE needs no class of its own: it is :class:`~vaelib.keras.VAE` trained with
``fit(..., beta=...)``. Layer names follow ``vaelib.keras.models``, so ``export_weights`` and
``import_weights`` carry these models to and from their ``vaelib.torch`` twins.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Union

import numpy as np

from vaelib._checks import check_beta, check_positive_int
from vaelib._docs import shared_doc
from vaelib._fit import prepare_conditional_fit
from vaelib._labels import check_labels
from vaelib._types import ELBOTerms, History
from vaelib.keras._backend import keras
from vaelib.keras.kernels import gaussian_kl, reparameterize
from vaelib.keras.models import PIXELS, VAE, ConvEncoder, MLPEncoder, _CONV_CHANNELS, _ImageModel, _NETWORKS
from vaelib.keras.train import run_fit
from vaelib.keras.utils import as_tensor, float_tensor, seed_fit_run, to_numpy, validate_images
from vaelib.schedules import Schedule

ops = keras.ops

__all__ = ["ConditionalVAE", "IWAE", "fit_conditional"]


# ----------------------------------------------------------------------------------------
# Conditional VAE
# ----------------------------------------------------------------------------------------

class _ConditionalMLPEncoder(MLPEncoder):
    """The MLP encoder reading the pixels and the one-hot label side by side."""

    def call(self, x: Any, y: Any) -> tuple[Any, Any]:
        h = self.hidden(ops.concatenate([ops.reshape(x, (-1, PIXELS)), y], axis=1))
        return self.mu(h), self.logvar(h)


class _ConditionalConvEncoder(ConvEncoder):
    """The conv encoder; the one-hot label joins the flattened feature map before the dense layer."""

    def call(self, x: Any, y: Any) -> tuple[Any, Any]:
        h = self.conv2(self.conv1(ops.expand_dims(x, -1)))
        h = ops.concatenate([ops.reshape(h, (-1, 7 * 7 * _CONV_CHANNELS[1])), y], axis=1)
        h = self.hidden(h)
        return self.mu(h), self.logvar(h)


_CONDITIONAL_ENCODERS = {"mlp": _ConditionalMLPEncoder, "conv": _ConditionalConvEncoder}


def _unpack_labelled(data: Any) -> tuple[Any, Any]:
    """``(x, y)`` from what ``Model.fit`` hands a step when its inputs are the pair (x, y)."""
    while isinstance(data, (tuple, list)) and len(data) == 1:
        data = data[0]
    x, y = data
    return x, y


@shared_doc("keras")
@keras.saving.register_keras_serializable(package="vaelib")
class ConditionalVAE(_ImageModel):

    def __init__(
        self,
        num_classes: int = 10,
        architecture: str = "mlp",
        latent_dim: int = 20,
        hidden_dim: int = 400,
        likelihood: str = "bernoulli",
        **kwargs: Any,
    ) -> None:
        num_classes = check_positive_int("num_classes", num_classes)
        super().__init__(architecture, latent_dim, hidden_dim, likelihood, {"num_classes": num_classes}, **kwargs)
        self.num_classes = num_classes
        # Same layer names as the VAE's; the Dense layers that see the label grow at build time.
        self.encoder = _CONDITIONAL_ENCODERS[architecture](latent_dim, hidden_dim, name="encoder")
        self.decoder = _NETWORKS[architecture][1](latent_dim + num_classes, hidden_dim, name="decoder")
        self._add_likelihood_and_noise()
        self(np.zeros((1, 28, 28), dtype="float32"), np.zeros((1,), dtype="int64"))  # build now

    # -- labels ------------------------------------------------------------------------
    def one_hot(self, y: Any, batch: int | None = None, name: str = "y") -> Any:
        """Validated labels (n,) as a float one-hot tensor (n, num_classes)."""
        return self._one_hot(check_labels(name, to_numpy(y), self.num_classes, batch))

    def _one_hot(self, y: Any) -> Any:
        return ops.one_hot(ops.cast(y, "int32"), self.num_classes, dtype="float32")

    # -- the model -------------------------------------------------------------------
    def encode(self, x: Any, y: Any) -> tuple[Any, Any]:
        """Posterior parameters ``(mu, logvar)`` of q(z | x, y), each (B, latent_dim)."""
        validate_images("x", x, unit_range=self.likelihood == "bernoulli")
        return self.encoder(as_tensor(x), self.one_hot(y, len(x)))

    def decode(self, z: Any, y: Any) -> Any:
        """Decoder output for latents z (B, latent_dim) and labels y (B,)."""
        z = self._latent(z)
        return self.decoder(ops.concatenate([z, self.one_hot(y, z.shape[0])], axis=1))

    def _conditional_terms(self, x: Any, y_hot: Any, beta: Any, eps: Any = None) -> ELBOTerms:
        mu, logvar = self.encoder(x, y_hot)
        if eps is None:
            eps = keras.random.normal(ops.shape(mu), seed=self.noise)
        z = reparameterize(mu, logvar, eps)
        log_lik = self.log_likelihood(x, self.decoder(ops.concatenate([z, y_hot], axis=1)))
        kl = gaussian_kl(mu, logvar)
        return ELBOTerms.weighted(log_lik, kl, beta)

    @shared_doc("keras")
    def elbo(self, x: Any, y: Any, beta: float = 1.0, eps: Any = None) -> ELBOTerms:
        validate_images("x", x, unit_range=self.likelihood == "bernoulli")
        y_hot = self.one_hot(y, len(x))
        x = as_tensor(x)
        beta = check_beta(beta, schedule_ok=False)
        return self._conditional_terms(x, y_hot, beta, self._check_eps(eps, x.shape[0]))

    def loss_terms(self, batch: Any, beta: Any, training: bool = False) -> dict[str, Any]:
        """Batch means for training from a pair ``(x, y)`` of image and label tensors.

        Unvalidated on purpose: :func:`fit_conditional` checks the whole data set once.
        """
        x, y = batch
        terms = self._conditional_terms(x, self._one_hot(y), beta)
        return {"loss": -ops.mean(terms.elbo), "log_likelihood": ops.mean(terms.log_likelihood), "kl": ops.mean(terms.kl)}

    def split_batch(self, data: Any) -> tuple[Any, Any]:
        """``(images, labels)``: the shared training step's hook, for labelled batches."""
        return _unpack_labelled(data)

    def call(self, x: Any, y: Any) -> Any:
        """Decoder output at the posterior mean (a deterministic reconstruction); y as int labels."""
        y_hot = self._one_hot(y)
        mu, _ = self.encoder(x, y_hot)
        return self.decoder(ops.concatenate([mu, y_hot], axis=1))

    # -- NumPy conveniences for notebooks -------------------------------------------
    def reconstruct(self, x: Any, y: Any) -> np.ndarray:
        """Pixel means E[x | z = mu(x, y), y] as a NumPy array (B, 28, 28)."""
        validate_images("x", x, unit_range=self.likelihood == "bernoulli")
        labels = check_labels("y", to_numpy(y), self.num_classes, len(x))
        return to_numpy(self.pixel_means(self(as_tensor(x), labels)))

    @shared_doc("keras")
    def sample(self, labels: Any, seed: int | None = None) -> np.ndarray:
        y_hot = self.one_hot(labels, name="labels")
        z = self._prior_draw(y_hot.shape[0], seed)
        return to_numpy(self.pixel_means(self.decoder(ops.concatenate([z, y_hot], axis=1))))

    def decode_means(self, z: Any, y: Any) -> np.ndarray:
        """Pixel means for given latents and labels, as NumPy."""
        return to_numpy(self.pixel_means(self.decode(z, y)))


@shared_doc("keras")
def fit_conditional(
    model: ConditionalVAE,
    x_train: Any,
    y_train: Any,
    x_val: Any = None,
    y_val: Any = None,
    *,
    epochs: int = 10,
    batch_size: int = 128,
    learning_rate: Union[float, Schedule] = 1e-3,
    beta: Union[float, Schedule] = 1.0,
    binarize: bool = False,
    seed: int | None = None,
    verbose: bool = True,
) -> History:
    labels, val_labels = prepare_conditional_fit(
        model, x_train, y_train, x_val, y_val, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
        beta=beta, verbose=verbose, binarize=binarize, seed=seed, validate_images=validate_images, to_numpy=to_numpy,
        seed_everything=functools.partial(seed_fit_run, model))
    model.binarize = binarize
    x_train = np.asarray(to_numpy(x_train), dtype=np.float32)
    validation = None
    if x_val is not None:
        validation = ((np.asarray(to_numpy(x_val), dtype=np.float32), val_labels),)
    return run_fit(
        model, (x_train, labels), validation,
        epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, beta=beta, verbose=verbose,
    )


# ----------------------------------------------------------------------------------------
# Importance-weighted autoencoder
# ----------------------------------------------------------------------------------------

@shared_doc("keras")
@keras.saving.register_keras_serializable(package="vaelib")
class IWAE(VAE):

    traced_attributes = ("binarize", "k")

    def __init__(
        self,
        architecture: str = "mlp",
        latent_dim: int = 20,
        hidden_dim: int = 400,
        likelihood: str = "bernoulli",
        k: int = 5,
        **kwargs: Any,
    ) -> None:
        k = check_positive_int("k", k)
        super().__init__(architecture, latent_dim, hidden_dim, likelihood, **kwargs)
        self.k = k
        self.config = {**self.config, "k": k}

    def _iwae_terms(self, x: Any, beta: Any, eps: Any = None) -> tuple[Any, ELBOTerms]:
        """The k-sample bound (B,) and the ELBO terms of the first sample, for logging."""
        if self.k == 1:  # the ELBO itself, with its closed-form KL: the same bound, less noise
            terms = self.elbo_terms(x, beta, None if eps is None else eps[0])
            return terms.elbo, terms
        mu, logvar = self.encoder(x)
        if eps is None:
            eps = keras.random.normal((self.k, *ops.shape(mu)), seed=self.noise)
        z = reparameterize(mu, logvar, eps)  # (k, B, D)
        k = self.k
        log_lik = self._log_likelihood_of_samples(x, z)
        # log p(z) - log q(z|x); with z - mu = sigma * eps the 2*pi terms cancel.
        log_ratio = 0.5 * ops.sum(logvar + ops.square(eps) - ops.square(z), axis=-1)
        bound = ops.logsumexp(log_lik + beta * log_ratio, axis=0) - math.log(k)
        kl = gaussian_kl(mu, logvar)
        return bound, ELBOTerms.weighted(log_lik[0], kl, beta)

    def objective(self, x: Any, beta: float = 1.0, eps: Any = None) -> Any:
        """The per-example k-sample importance-weighted bound that training maximises, in nats.

        Parameters
        ----------
        x : array_like, shape (B, 28, 28)
            Images.
        beta : float
            Weight of ``log p(z) - log q(z|x)`` inside each log-weight (1: the IWAE bound).
        eps : array_like, shape (k, B, latent_dim), optional
            The noise of the k samples; drawn when omitted.

        Returns
        -------
        tensor, shape (B,)
            Differentiable (use ``iwae_bound`` for large-k evaluation).
        """
        validate_images("x", x, unit_range=self.likelihood == "bernoulli")
        x = as_tensor(x)
        if eps is not None:
            eps = float_tensor("eps", eps, shape=(self.k, x.shape[0], self.latent_dim), dtype="float32")
        return self._iwae_terms(x, check_beta(beta, schedule_ok=False), eps)[0]

    def loss_terms(self, x: Any, beta: Any, training: bool = False) -> dict[str, Any]:
        """``loss`` = minus the batch-mean IWAE bound; ``log_likelihood`` and ``kl`` of one sample, for logging."""
        bound, terms = self._iwae_terms(x, beta)
        return {"loss": -ops.mean(bound), "log_likelihood": ops.mean(terms.log_likelihood), "kl": ops.mean(terms.kl)}
